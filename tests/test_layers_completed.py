"""Existing layers completed (issue 10): LinearLayer on a scalar, DotPlusLayer, Options[layer],
per-dimension NetExtract of window options, and the validation errors Wolfram gives for a
pooling padding not below the kernel and a flatten level not below the input rank."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl import ShapeError
from layer_harness import build, check_gradients, forward


def ev(text):
    return netdsl.evaluate(text)


def test_linear_on_a_real_input():
    layer = build('LinearLayer[3, "Input" -> "Real"]')
    w, b = np.array([[1.0], [2.0], [-1.0]]), np.array([0.5, 0.0, 1.0])
    (y,) = forward(layer, {"Weights": w, "Biases": b}, np.array([2.0, -1.0]))
    np.testing.assert_allclose(y, [[2.5, 4.0, -1.0], [-0.5, -2.0, 2.0]])


def test_dotplus_is_the_old_name_of_linear():
    layer = ev('DotPlusLayer[3, "Input" -> 2]')
    assert layer.name == "DotPlusLayer" and layer.array_shapes() == {"Weights": (3, 2),
                                                                     "Biases": (3,)}
    assert layer.input_form() == 'DotPlusLayer[3, "Input" -> 2]'
    # an integer in a chain is still a LinearLayer
    assert ev("NetChain[{3}]").net(ev("NetChain[{3}]").order[0]).name == "LinearLayer"


def test_options_of_a_layer():
    opts = ev('Options[LinearLayer[3]]')
    keys = [r.args[0] for r in opts.args]
    assert keys == ["Biases", "Input", "LearningRateMultipliers", "Output", "Weights"]
    assert ev('Options[LinearLayer[3], "Output"]').args[0].args[1] == 3
    conv = ev('Options[ConvolutionLayer[2, 3, "Stride" -> 2, "Input" -> {1, 7, 7}]]')
    values = {r.args[0]: r.args[1] for r in conv.args}
    assert netdsl.input_form(values["Stride"]) == "{2, 2}"
    assert netdsl.input_form(values["Input"]) == "{1, 7, 7}"
    # a symbol without options has none, as in Wolfram (Options in builtins/rules.py)
    assert netdsl.input_form(ev("Options[foo]")) == "{}"


@pytest.mark.parametrize("text,name,expected", [
    ('ConvolutionLayer[2, 3, "Input" -> {1, 5, 5}]', "Stride", "{1, 1}"),
    ('ConvolutionLayer[2, 3, "Input" -> {1, 5, 5}]', "PaddingSize", "{{0, 0}, {0, 0}}"),
    ('ConvolutionLayer[2, 3, "PaddingSize" -> 1, "Input" -> {1, 5, 5}]', "PaddingSize",
     "{{1, 1}, {1, 1}}"),
    ('ConvolutionLayer[2, {3, 2}, "PaddingSize" -> "Same", "Input" -> {1, 5, 6}]', "PaddingSize",
     "{{1, 1}, {0, 1}}"),
    ('ConvolutionLayer[2, 3, "Input" -> {1, 5, 5}]', "KernelSize", "{3, 3}"),
    ('ConvolutionLayer[2, 3, "Input" -> {1, 5, 5}]', "Dilation", "{1, 1}"),
    ('PoolingLayer[2, 2, "Input" -> {1, 4, 4, 4}]', "Stride", "{2, 2, 2}"),
])
def test_per_dimension_extract(text, name, expected):
    assert netdsl.input_form(ev(f'NetExtract[{text}, "{name}"]')) == expected


def test_pooling_padding_must_be_below_the_kernel():
    with pytest.raises(ShapeError, match="padding size 2 must be smaller than the kernel size 2"):
        ev('PoolingLayer[2, "PaddingSize" -> 2, "Input" -> {1, 4, 4}]')
    with pytest.raises(ShapeError, match="smaller than the kernel"):
        ev('PoolingLayer[{3, 2}, "PaddingSize" -> {{0, 0}, {0, 2}}]')
    assert ev('PoolingLayer[2, "PaddingSize" -> 1, "Input" -> {1, 4, 4}]') \
        .ports["Output"].shape == (1, 5, 5)


@pytest.mark.parametrize("level", [2, -2, 3])
def test_flatten_level_must_be_below_the_rank(level):
    with pytest.raises(ShapeError, match=f"level specification of {level} is incompatible with "
                                         f"input tensor, which has rank 2"):
        ev(f'FlattenLayer[{level}, "Input" -> {{2, 3}}]')
    assert ev('FlattenLayer[1, "Input" -> {2, 3}]').ports["Output"].shape == (6,)
    assert ev('FlattenLayer[-1, "Input" -> {2, 3, 4}]').ports["Output"].shape == (2, 12)


# ---------------------------------------------------------------- SoftmaxLayer[level]
def test_softmax_level():
    layer = build('SoftmaxLayer[1, "Input" -> {3, 4}]')
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    (y,) = forward(layer, {}, x)
    e = np.exp(x)
    np.testing.assert_allclose(y, e / e.sum(axis=1, keepdims=True), rtol=1e-5)
    layer2 = build('SoftmaxLayer[-1, "Input" -> {3, 4}]')
    (y2,) = forward(layer2, {}, x)
    np.testing.assert_allclose(y2, e / e.sum(axis=2, keepdims=True), rtol=1e-5)
    assert layer2.input_form() == 'SoftmaxLayer["Input" -> {3, 4}]'
    check_gradients(layer, {}, [np.ascontiguousarray(np.moveaxis(x, 0, -1))])
    with pytest.raises(ShapeError, match="level 3"):
        ev('SoftmaxLayer[3, "Input" -> {3, 4}]')


# ---------------------------------------------------------------- ReshapeLayer
def test_reshape_inherited_and_all():
    assert ev('ReshapeLayer[{Inherited, Automatic}, "Input" -> {3, 4, 5}]') \
        .ports["Output"].shape == (3, 20)
    assert ev('ReshapeLayer[{Inherited, 2, 10}, "Input" -> {3, 4, 5}]').ports["Output"].shape \
        == (3, 2, 10)
    assert ev('ReshapeLayer[{2, All}, "Input" -> {3, 4}]').ports["Output"].shape == (2, 6)
    with pytest.raises(ShapeError, match="can't inherit"):
        ev('ReshapeLayer[{2, 3, Inherited}, "Input" -> {6}]')
    layer = build('ReshapeLayer[{Inherited, Automatic}, "Input" -> {2, 2, 3}]')
    x = np.arange(24.0).reshape(2, 2, 2, 3)
    (y,) = forward(layer, {}, x)
    np.testing.assert_allclose(y, x.reshape(2, 2, 6))


# ---------------------------------------------------------------- DropoutLayer
def test_dropout_binary_mask_port():
    layer = ev('DropoutLayer[0.3, "OutputPorts" -> {"Output", "BinaryMask"}, "Input" -> {50}]')
    assert layer.port_names() == (("Input",), ("Output", "BinaryMask"))
    x = np.random.default_rng(0).uniform(1, 2, (4, 50)).astype(np.float32)
    out = layer(x, "Train")
    mask = out["BinaryMask"]
    assert set(np.unique(mask)) <= {0.0, 1.0} and 0 < mask.mean() < 1
    np.testing.assert_allclose(out["Output"], x * mask / 0.7, rtol=1e-6)
    test = layer(x)
    np.testing.assert_allclose(test["BinaryMask"], 1.0)
    np.testing.assert_allclose(test["Output"], x)


def test_alpha_dropout_keeps_mean_and_variance():
    layer = ev('DropoutLayer[0.2, "Method" -> "AlphaDropout", "Input" -> {8}]')
    x = np.random.default_rng(1).standard_normal((40000, 8)).astype(np.float32)
    y = layer(x, "Train")
    assert abs(float(y.mean())) < 0.02 and abs(float(y.std()) - 1) < 0.02
    # kept elements are a x + b, dropped ones a alpha' + b, with a, b from p (written out)
    p, alpha = 0.2, -1.0507009873554805 * 1.6732632423543772
    a = ((1 - p) * (1 + p * alpha ** 2)) ** -0.5
    b = -a * alpha * p
    kept = np.isclose(y, a * x + b, atol=1e-5)
    dropped = np.isclose(y, a * alpha + b, atol=1e-5)
    assert np.all(kept | dropped) and 0.15 < dropped.mean() < 0.25
    np.testing.assert_allclose(layer(x), x)
    with pytest.raises(netdsl.EvaluationError):
        ev('DropoutLayer["Method" -> "Gaussian"]')


# ---------------------------------------------------------------- CatenateLayer
def test_catenate_levels_and_lower_rank_inputs():
    assert ev('CatenateLayer[2, "Input1" -> {2, 3}, "Input2" -> {2, 5}]').ports[
        "Output"].shape == (2, 8)
    # CatenateShape: the level counts from the lowest-rank input; it is repeated along the
    # leading levels it lacks ({2} next to {5, 3} at level -1 gives {5, 5})
    c = ev('CatenateLayer[-1, "Input1" -> {5, 3}, "Input2" -> 2]')
    assert c.ports["Output"].shape == (5, 5)
    with pytest.raises(ShapeError, match=r"specified level \(2\) cannot exceed rank of "
                                         r"lowest-rank input \(1\)"):
        ev('CatenateLayer[2, "Input1" -> {5, 3}, "Input2" -> 2]')
    layer = build('CatenateLayer[-1, "Input1" -> {3, 2}, "Input2" -> 4]')
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 4))
    (y,) = forward(layer, {}, a, b)
    ref = np.stack([np.stack([np.concatenate([a[n, i], b[n]]) for i in range(3)])
                    for n in range(2)])
    np.testing.assert_allclose(y, ref, rtol=1e-6)
    bl = lambda v: np.ascontiguousarray(np.moveaxis(v, 0, -1))   # noqa: E731
    check_gradients(layer, {}, [bl(a), bl(b)])
    layer = build('CatenateLayer[2, "Input1" -> {2, 3}, "Input2" -> {2, 1}]')
    check_gradients(layer, {}, [bl(rng.standard_normal((2, 2, 3))),
                                bl(rng.standard_normal((2, 2, 1)))])


def test_catenate_named_inputs():
    c = ev('CatenateLayer["Inputs" -> {"a", "b"}, "a" -> 2, "b" -> 3]')
    assert c.port_names()[0] == ("a", "b") and c.ports["Output"].shape == (5,)
    assert ev('CatenateLayer["InputPorts" -> {"p", "q", "r"}]').port_names()[0] == ("p", "q", "r")
    assert ev('CatenateLayer["Inputs" -> 3]').port_names()[0] == ("Input1", "Input2", "Input3")
    g = ev('NetGraph[{CatenateLayer["Inputs" -> {"a", "b"}]}, '
           '{{NetPort["x"], NetPort["y"]} -> 1}, "x" -> 2, "y" -> 3]')
    y = g({"x": np.array([1.0, 2.0]), "y": np.array([3.0, 4.0, 5.0])})
    np.testing.assert_allclose(y, [1, 2, 3, 4, 5])
    g = ev('NetGraph[{CatenateLayer["Inputs" -> {"a", "b"}]}, '
           '{NetPort["x"] -> NetPort[1, "b"], NetPort["y"] -> NetPort[1, "a"]}, '
           '"x" -> 2, "y" -> 3]')
    y = g({"x": np.array([1.0, 2.0]), "y": np.array([3.0, 4.0, 5.0])})
    np.testing.assert_allclose(y, [3, 4, 5, 1, 2])


# ---------------------------------------------------------------- FlattenLayer level groups
def test_flatten_level_groups():
    # Flatten[list, {{s11, s12}, ...}]: output level i joins group i (first named level
    # slowest); levels not named follow in order. A real use: {c, 4, 4, 8, 8} -> {16, c, 8, 8}
    assert ev('FlattenLayer[{{2, 3}}, "Input" -> {5, 4, 4, 8, 8}]').ports["Output"].shape \
        == (16, 5, 8, 8)
    layer = build('FlattenLayer[{{3, 1}}, "Input" -> {2, 3, 4}]')
    x = np.random.default_rng(0).standard_normal((2, 2, 3, 4))
    (y,) = forward(layer, {}, x)
    ref = np.empty((2, 8, 3))
    for n in range(2):
        for i1 in range(2):
            for i2 in range(3):
                for i3 in range(4):
                    ref[n, i3 * 2 + i1, i2] = x[n, i1, i2, i3]
    np.testing.assert_allclose(y, ref, rtol=1e-6)
    check_gradients(layer, {}, [np.ascontiguousarray(np.moveaxis(x, 0, -1))])
    assert layer.input_form() == 'FlattenLayer[{{3, 1}}, "Input" -> {2, 3, 4}]'
    with pytest.raises(ShapeError, match="exceeds the rank"):
        ev('FlattenLayer[{{1, 4}}, "Input" -> {2, 3}]')
    with pytest.raises(netdsl.EvaluationError):
        ev("FlattenLayer[{{1, 1}}]")
