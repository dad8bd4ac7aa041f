"""The examples of Wolfram's BatchNormalizationLayer page (wolfram-semantics.md §3.6, items 1-13),
each checked against numbers computed here from the documented formulas (§3.3), the
Mathematica StackExchange numbers [SE] (§3.3) and the worked example (§3.5); and the example
files run through the command line.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import netdsl
from netdsl import InitializationError, NumericalError, Symbol

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
AUTOMATIC = Symbol("Automatic")
EPS = 0.001                                          # the default "Epsilon"


def f32(x):
    return np.asarray(x, np.float32).astype(np.float64)


def bn_test_formula(x, scaling, biases, mean, var, eps=EPS, axis=-1):
    """Scaling (x - MovingMean)/Sqrt[MovingVariance + Epsilon] + Biases, channel on ``axis``."""
    x = np.asarray(x, np.float64)
    shape = [1] * x.ndim
    shape[axis] = -1
    r = lambda a: np.reshape(np.asarray(a, np.float64), shape)  # noqa: E731
    return r(scaling) * (x - r(mean)) / np.sqrt(r(var) + eps) + r(biases)


def bn_train_formula(x, scaling, biases, eps=EPS):
    """x (N, C): batch mean and biased (divide by N) variance per channel."""
    x = np.asarray(x, np.float64)
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    return np.asarray(scaling) * (x - mu) / np.sqrt(var + eps) + np.asarray(biases)


@pytest.fixture
def s():
    return netdsl.Session()


# ---------------------------------------------------------------- 1, 2: Basic Examples
def test_1_create(s):
    bn = s.evaluate("bn = BatchNormalizationLayer[]")
    assert not bn.initialized
    for name in ["Scaling", "Biases", "MovingMean", "MovingVariance"]:
        assert s.evaluate(f'NetExtract[bn, "{name}"]') is AUTOMATIC
    assert s.evaluate('NetExtract[bn, "Epsilon"]') == 0.001
    assert s.evaluate('NetExtract[bn, "Momentum"]') == 0.9
    assert "BatchNormalizationLayer" in netdsl.output_form(bn)


def test_2_initialised_vector_layer(s):
    bn = s.evaluate('bn = NetInitialize@BatchNormalizationLayer["Input" -> 3]')
    assert bn.initialized
    assert s.evaluate('NetExtract[bn, "Input"]') == 3 == s.evaluate('NetExtract[bn, "Output"]')
    out = s.evaluate("bn[{1, 2, 3}]")
    np.testing.assert_allclose(out, np.array([1, 2, 3]) / math.sqrt(1 + EPS), rtol=1e-6)
    np.testing.assert_allclose(out, [0.9995, 1.999, 2.9985], atol=5e-6)   # §3.6 item 2


# ---------------------------------------------------------------- 3-5: Scope › Ports
def test_3_rank3_layer(s):
    s.evaluate('bn = NetInitialize@BatchNormalizationLayer["Input" -> {3, 4, 4}]')
    np.testing.assert_array_equal(s.evaluate('NetExtract[bn, "Output"]'), [3, 4, 4])
    assert np.asarray(s.evaluate('NetExtract[bn, "Scaling"]')).shape == (3,)
    # with arrays that differ per channel, channel k is the first dimension
    s.evaluate('bn = NetReplacePart[bn, {"MovingMean" -> {1, 2, 3}, '
               '"MovingVariance" -> {1, 4, 9}, "Biases" -> {0, 10, 20}}]')
    x = np.random.default_rng(0).standard_normal((3, 4, 4))
    s["x"] = x
    out = np.asarray(s.evaluate("bn[x]"))
    assert out.shape == (3, 4, 4)
    np.testing.assert_allclose(out, bn_test_formula(f32(x), [1, 1, 1], [0, 10, 20], [1, 2, 3],
                                              [1, 4, 9], axis=0), rtol=1e-5, atol=1e-5)


def test_4_batch_of_vectors(s):
    s.evaluate('bn = NetInitialize@BatchNormalizationLayer["Input" -> 3]')
    out = s.evaluate("bn[{{1, 2, 3}, {3, 6, 9}, {-1, 0, 0.5}}]")
    ref = np.array([[1, 2, 3], [3, 6, 9], [-1, 0, 0.5]]) / math.sqrt(1.001)
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    # in test mode each output depends only on its own input
    for i, row in enumerate(["{1, 2, 3}", "{3, 6, 9}", "{-1, 0, 0.5}"]):
        np.testing.assert_array_equal(out[i], s.evaluate(f"bn[{row}]"))


SE_X = [[0.90044, 0.177369, 0.356773], [0.784026, 0.446095, 0.664769]]
SE_TRAIN = [[0.878696, -0.973404, -0.979561], [-0.878696, 0.973404, 0.979561]]
SE_TEST = [[0.89999, 0.177281, 0.356595], [0.783635, 0.445872, 0.664437]]


def test_5_train_mode_stackexchange_numbers(s):
    s.evaluate('bn = NetInitialize@BatchNormalizationLayer["Input" -> 3]')
    s["x"] = np.array(SE_X)
    train = s.evaluate('bn[x, NetEvaluationMode -> "Train"]')
    test = s.evaluate('bn[x, NetEvaluationMode -> "Test"]')
    # [SE]'s printout was of a random x shown to 6 digits: agree to a few units of 1e-6
    np.testing.assert_allclose(train, SE_TRAIN, atol=3e-6)
    np.testing.assert_allclose(test, SE_TEST, atol=3e-6)
    # and the formulas exactly (on the float32 data)
    np.testing.assert_allclose(train, bn_train_formula(f32(SE_X), [1] * 3, [0] * 3), rtol=1e-5)
    np.testing.assert_allclose(test, f32(SE_X) / math.sqrt(1.001), rtol=1e-6)
    # channel 1 by hand (§3.3): mu = 0.842233, biased var = 0.0033880
    mu = (0.90044 + 0.784026) / 2
    var = ((0.90044 - mu) ** 2 + (0.784026 - mu) ** 2) / 2
    assert mu == pytest.approx(0.842233, abs=1e-6) and var == pytest.approx(0.0033880, abs=1e-7)
    assert train[0][0] == pytest.approx((0.90044 - mu) / math.sqrt(var + EPS), abs=2e-6)
    unbiased = (0.90044 - mu) / math.sqrt(2 * var + EPS)     # Bessel's correction: not it
    assert unbiased == pytest.approx(0.66008, abs=1e-5) and abs(train[0][0] - unbiased) > 0.2
    # the moving statistics and the other arrays are unchanged (§3.3)
    for name, value in [("MovingMean", 0), ("MovingVariance", 1), ("Biases", 0),
                        ("Scaling", 1)]:
        np.testing.assert_array_equal(s.evaluate(f'Normal[NetExtract[bn, "{name}"]]'),
                                      [value] * 3)


def test_5_worked_example_and_batch_of_one(s):
    s.evaluate('bn = NetInitialize@BatchNormalizationLayer["Input" -> 3]')
    out = s.evaluate('bn[{{1, 2, 3}, {3, 6, 9}}, NetEvaluationMode -> "Train"]')
    # §3.5: batch mean {2, 4, 6}, biased variance {1, 4, 9}
    expected = np.array([[-1, -2, -3], [1, 2, 3]]) / np.sqrt(np.array([1, 4, 9]) + EPS)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(out, [[-0.9995, -0.999875, -0.999944],
                                     [0.9995, 0.999875, 0.999944]], atol=1e-6)
    # a batch of one in train mode: x - mu = 0, the output is Biases (zeros)
    np.testing.assert_array_equal(s.evaluate('bn[{0.3, 0.6, 0.1}, NetEvaluationMode -> '
                                             '"Train"]'), [0, 0, 0])


# ---------------------------------------------------------------- 6, 7: Parameters
def test_6_biases(s):
    s.evaluate('bn = BatchNormalizationLayer["Biases" -> {1, 2, 3}]')
    np.testing.assert_array_equal(s.evaluate('Normal[NetExtract[bn, "Biases"]]'), [1., 2., 3.])
    assert s.evaluate('NetExtract[bn, "Scaling"]') is AUTOMATIC
    np.testing.assert_array_equal(
        s.evaluate('Normal[NetExtract[NetInitialize@BatchNormalizationLayer["Input" -> 3], '
                   '"Biases"]]'), [0., 0., 0.])
    # NetInitialize keeps the given Biases and fills the rest
    s.evaluate('init = NetInitialize@NetReplacePart[bn, "Input" -> 3]')
    np.testing.assert_array_equal(s.evaluate('NetExtract[init, "Biases"]'), [1, 2, 3])
    np.testing.assert_array_equal(s.evaluate('NetExtract[init, "Scaling"]'), [1, 1, 1])


def test_7_scaling_zero_returns_biases(s):
    s.evaluate('bn = NetInitialize@BatchNormalizationLayer["Scaling" -> {0, 0, 0}, '
               '"Biases" -> {1, 2, 3}, "Input" -> 3]')
    rng = np.random.default_rng(1)
    for x in rng.standard_normal((5, 3)) * 100:
        s["x"] = x
        np.testing.assert_array_equal(s.evaluate("bn[x]"), [1, 2, 3])
    np.testing.assert_array_equal(s.evaluate("bn[{{4, -5, 6}, {100, 200, 300}}]"),
                                  [[1, 2, 3], [1, 2, 3]])
    np.testing.assert_array_equal(
        s.evaluate('Normal[NetExtract[NetInitialize@BatchNormalizationLayer["Input" -> 3], '
                   '"Scaling"]]'), [1., 1., 1.])


# ---------------------------------------------------------------- 8, 9: Options
def test_8_epsilon(s):
    assert s.evaluate('NetExtract[BatchNormalizationLayer["Epsilon" -> 0.01], "Epsilon"]') \
        == 0.01
    # and it is used: x/Sqrt[1 + 0.01]
    out = s.evaluate('NetInitialize[BatchNormalizationLayer["Epsilon" -> 0.01, '
                     '"Input" -> 2]][{1, 2}]')
    np.testing.assert_allclose(out, np.array([1, 2]) / math.sqrt(1.01), rtol=1e-6)


def test_9_momentum(s):
    assert s.evaluate('NetExtract[BatchNormalizationLayer["Momentum" -> 0.5], "Momentum"]') \
        == 0.5
    assert s.evaluate('NetExtract[BatchNormalizationLayer[], "Momentum"]') == 0.9


# ---------------------------------------------------------------- 10: Applications
def conv_same_3x3(x, w, b):
    """x (C, H, W), w (F, C, 3, 3), padding 1, stride 1."""
    c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    y = np.zeros((w.shape[0], h, wd))
    for i in range(3):
        for j in range(3):
            y += np.einsum("fc,chw->fhw", w[:, :, i, j], xp[:, i:i + h, j:j + wd])
    return y + b[:, None, None]


def test_10_convolution_batchnorm_ramp(s):
    s.evaluate('net = NetInitialize@NetChain[{ConvolutionLayer[4, {3, 3}, "PaddingSize" -> 1], '
               'BatchNormalizationLayer[], Ramp, PoolingLayer[{2, 2}, 2], FlattenLayer[], '
               'LinearLayer[5], SoftmaxLayer[]}, "Input" -> {3, 6, 6}]')
    # the channel count was inferred from the convolution
    assert s.evaluate('NetExtract[net, {2, "Input"}]') is not None
    np.testing.assert_array_equal(s.evaluate('NetExtract[net, {2, "Output"}]'), [4, 6, 6])
    # give BN non-trivial statistics, then recompute the whole net in NumPy
    s.evaluate('net = NetReplacePart[net, {{2, "MovingMean"} -> {0.1, -0.2, 0.3, 0}, '
               '{2, "MovingVariance"} -> {0.5, 2, 1, 3}, {2, "Scaling"} -> {1, 2, 0.5, 1}, '
               '{2, "Biases"} -> {0, 0.1, -0.1, 0.2}}]')
    get = lambda p: np.asarray(s.evaluate(f"NetExtract[net, {p}]"), np.float64)  # noqa: E731
    w1, b1 = get('{1, "Weights"}'), get('{1, "Biases"}')
    bn = [get(f'{{2, "{n}"}}') for n in ("Scaling", "Biases", "MovingMean", "MovingVariance")]
    w6, b6 = get('{6, "Weights"}'), get('{6, "Biases"}')
    images = np.random.default_rng(2).uniform(0, 1, (5, 3, 6, 6))
    s["images"] = images
    out = np.asarray(s.evaluate("net[images]"))
    assert out.shape == (5, 5)
    for n in range(5):
        y = conv_same_3x3(f32(images[n]), w1, b1)
        y = bn_test_formula(y, *bn, axis=0)
        y = np.maximum(y, 0)
        y = y.reshape(4, 3, 2, 3, 2).max(axis=(2, 4))           # 2x2 max pooling, stride 2
        z = w6 @ y.reshape(-1) + b6
        p = np.exp(z - z.max())
        np.testing.assert_allclose(out[n], p / p.sum(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)
    # training behaviour: every channel leaves BN with mean 0, mean square var/(var + eps)
    s.evaluate("convbn = NetChain[{NetExtract[net, 1], "
               "NetReplacePart[NetExtract[net, 2], {\"Scaling\" -> {1, 1, 1, 1}, "
               "\"Biases\" -> {0, 0, 0, 0}}]}]")
    t = np.asarray(s.evaluate('convbn[images, NetEvaluationMode -> "Train"]'), np.float64)
    raw = np.stack([conv_same_3x3(f32(im), w1, b1) for im in images])
    var = raw.transpose(1, 0, 2, 3).reshape(4, -1).var(axis=1)
    np.testing.assert_allclose(t.transpose(1, 0, 2, 3).reshape(4, -1).mean(axis=1), 0,
                               atol=1e-5)
    np.testing.assert_allclose((t ** 2).transpose(1, 0, 2, 3).reshape(4, -1).mean(axis=1),
                               var / (var + EPS), rtol=1e-4)


# ---------------------------------------------------------------- 11: Properties & Relations
def test_11_one_channel_by_hand(s):
    s.evaluate('bn = BatchNormalizationLayer["Input" -> {1, 5}, "Scaling" -> {2}, '
               '"Biases" -> {0.5}, "MovingMean" -> {1}, "MovingVariance" -> {4}]')
    x = np.array([[1, 2, 3, 4, 5]], np.float64)
    out = s.evaluate("bn[{{1, 2, 3, 4, 5}}]")
    np.testing.assert_allclose(out, 2 * (x - 1) / math.sqrt(4 + EPS) + 0.5, rtol=1e-6)
    # the language's own manual computation agrees
    manual = s.evaluate("Function[{x, s, b, m, v, e}, s (x - m)/Sqrt[v + e] + b]"
                        "[{{1, 2, 3, 4, 5}}, 2, 0.5, 1, 4, 0.001]")
    np.testing.assert_allclose(out, manual, rtol=1e-6)


# ---------------------------------------------------------------- 12, 13: Possible Issues
def test_12_negative_moving_variance(s):
    s.evaluate('bn = NetInitialize@BatchNormalizationLayer["Input" -> 3, '
               '"MovingVariance" -> {1, -1, 1}]')
    with pytest.raises(NumericalError) as e:
        s.evaluate("bn[{1, 2, 3}]")
    assert e.value.message == ("BatchNormalizationLayer::netnan: A floating-point overflow, "
                               "underflow, or division by zero occurred while evaluating the "
                               "net.")
    # a variance above -Epsilon is still finite: 2/Sqrt[-0.0005 + 0.001]
    out = s.evaluate('NetReplacePart[bn, "MovingVariance" -> {1, -0.0005, 1}][{1, 2, 3}]')
    np.testing.assert_allclose(out, [1 / math.sqrt(1.001), 2 / math.sqrt(0.0005),
                                     3 / math.sqrt(1.001)], rtol=1e-4)


def test_13_not_initialisable_until_dimensions_known(s):
    with pytest.raises(InitializationError) as e:
        s.evaluate("NetInitialize[BatchNormalizationLayer[]]")
    assert e.value.message.startswith('NetInitialize::nfspec: Cannot initialize net: parameter '
                                      '"Channels" is not fully specified.')
    assert s.evaluate('NetInitialize@NetReplacePart[BatchNormalizationLayer[], '
                      '"Input" -> {3, 8, 8}]').initialized


# ---------------------------------------------------------------- the example files
def run(name: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run([sys.executable, "-m", "netdsl", f"examples/{name}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=env)


def test_batchnorm_wl_runs_to_the_end():
    r = run("batchnorm.wl")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    # items 2, 4, 5, 6, 7, 11 (independently known numbers)
    for expected in ["{0.9995, 1.999, 2.9985}",
                     "{{0.9995, 1.999, 2.9985}, {2.9985, 5.997, 8.9955}, {-0.9995, 0., 0.49975}}",
                     "{{0.878697, -0.973404, -0.979561}, {-0.878697, 0.973404, 0.979561}}",
                     "{{0., 0., 0.}, {1., 1., 1.}}",
                     "{1., 2., 3.}", "{{1., 2., 3.}, {1., 2., 3.}}", "{1., 1., 1.}",
                     "0.01", "0.5", "{8, 10}", "True", "{1., -1., 1.}"]:
        assert any(line.split("= ", 1)[-1] == expected for line in lines), expected
    assert sum("BatchNormalizationLayer  (initialized)" in line for line in lines) >= 4
    # every printed result is in a comment of the file (the comments were captured from a run)
    text = (EXAMPLES / "batchnorm.wl").read_text(encoding="utf-8")
    flat = " ".join(text.split())
    for line in lines:
        if line.startswith("Out[") and "{" in line and len(line) < 90:
            assert line.split("= ", 1)[1] in flat, line


def test_batchnorm_wl_has_the_page_headings():
    text = (EXAMPLES / "batchnorm.wl").read_text(encoding="utf-8")
    for heading in ["Basic Examples (2)", "Create a BatchNormalizationLayer:",
                    "Apply the layer to an input vector:", "Scope (4)", "Ports (2)",
                    "takes a rank-3 array and returns a", "Apply the layer to a batch of input "
                    "vectors:", "Use NetEvaluationMode to use the training behavior",
                    "Parameters (2)", '"Biases" (1)', '"Scaling" (1)', "Options (2)",
                    '"Epsilon" (1)', '"Momentum" (1)', "Applications (1)",
                    "Properties & Relations (1)", "Compute the same result manually:",
                    "Possible Issues (3)"]:
        assert heading in text, heading


def test_numerical_error_example_stops_with_netnan():
    r = run("batchnorm_numerical_error.wl")
    assert r.returncode == 1
    assert "BatchNormalizationLayer  (initialized)" in r.stdout
    assert "not reached" not in r.stdout
    assert r.stderr.strip() == (
        "examples/batchnorm_numerical_error.wl:17:1: BatchNormalizationLayer::netnan: A "
        "floating-point overflow, underflow, or division by zero occurred while evaluating the "
        "net.")


def test_uninitializable_example_stops_with_nfspec():
    r = run("batchnorm_uninitializable.wl")
    assert r.returncode == 1
    assert "not reached" not in r.stdout
    assert ('NetInitialize::nfspec: Cannot initialize net: parameter "Channels" is not fully '
            'specified.') in r.stderr
    # reported at the NetInitialize statement, with a note at the layer that lacks a size
    error, note = r.stderr.strip().splitlines()
    assert error.startswith("examples/batchnorm_uninitializable.wl:17:1: ")
    assert note == ("examples/batchnorm_uninitializable.wl:9:6: note: "
                    "BatchNormalizationLayer is written here")
