"""NetExtract and NetReplacePart: arrays out and in, with shape checks (wolfram-semantics §8)."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError, NetDSLError, ShapeError, Symbol

AUTOMATIC = Symbol("Automatic")


@pytest.fixture
def s():
    s = netdsl.Session()
    s.evaluate('net = NetInitialize@NetChain[<|"lin" -> LinearLayer[3], '
               '"bn" -> BatchNormalizationLayer[]|>, "Input" -> 2]')
    s.evaluate('chain = NetInitialize@NetChain[{LinearLayer[3], BatchNormalizationLayer[], '
               'LinearLayer[4]}, "Input" -> 2]')
    return s


# ---------------------------------------------------------------- NetExtract
def test_arrays_come_out_as_numbers(s):
    bias = s.evaluate('NetExtract[NetInitialize@LinearLayer[3, "Input" -> 2], "Biases"]')
    a = np.asarray(bias)
    assert a.shape == (3,) and a.dtype == np.float32
    np.testing.assert_array_equal(a, np.zeros(3))
    mv = s.evaluate('NetExtract[net, {"bn", "MovingVariance"}]')
    np.testing.assert_array_equal(np.asarray(mv), np.ones(3))
    w = s.evaluate('NetExtract[chain, {3, "Weights"}]')
    assert np.asarray(w).shape == (4, 3)
    # Normal gives a list, Dimensions the shape, arithmetic works
    assert s.evaluate('Normal[NetExtract[net, {"bn", "MovingVariance"}]]') is not None
    np.testing.assert_array_equal(s.evaluate('Normal[NetExtract[net, {"bn", "Scaling"}]]'),
                                  [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(s.evaluate('Dimensions[NetExtract[chain, {3, "Weights"}]]'),
                                  [4, 3])
    np.testing.assert_array_equal(s.evaluate('Dimensions[NetExtract[chain, {1, "Weights"}]]'),
                                  [3, 2])
    assert s.evaluate('Total[NetExtract[net, {"bn", "MovingVariance"}]]') == 3
    assert s.evaluate('Length[Normal[NetExtract[net, {"lin", "Biases"}]]]') == 3


def test_layers_options_ports_and_negative_positions(s):
    bn = s.evaluate("NetExtract[chain, 2]")
    assert type(bn).__name__ == "BatchNormalizationLayer" and bn.initialized
    last = s.evaluate("NetExtract[chain, -1]")
    assert np.asarray(s.evaluate('NetExtract[chain, {-1, "Weights"}]')).shape == (4, 3)
    assert type(last).__name__ == "LinearLayer"
    assert s.evaluate('NetExtract[net, {"bn", "Epsilon"}]') == 0.001
    assert s.evaluate('NetExtract[net, {"bn", "Momentum"}]') == 0.9
    assert s.evaluate('NetExtract[net, "Input"]') == 2
    assert s.evaluate('NetExtract[net, {"bn", "Output"}]') == 3
    pair = s.evaluate('NetExtract[chain, {{1, "Biases"}, {3, "Biases"}}]')
    assert [np.asarray(x).shape for x in pair.args] == [(3,), (4,)]


def test_extract_errors(s):
    with pytest.raises(EvaluationError, match="There is no layer 5"):
        s.evaluate('NetExtract[chain, {5, "Weights"}]')
    with pytest.raises(EvaluationError, match='"Nope" is not a layer, array'):
        s.evaluate('NetExtract[net, {"bn", "Nope"}]')


def test_unset_array_is_automatic(s):
    assert s.evaluate('NetExtract[BatchNormalizationLayer[], "Biases"]') is AUTOMATIC
    assert s.evaluate('NetExtract[NetChain[{LinearLayer[3], BatchNormalizationLayer[]}], '
                      '{2, "MovingMean"}]') is AUTOMATIC
    assert s.evaluate('NetExtract[LinearLayer[2, "Biases" -> None], "Biases"]') is Symbol("None")


def test_arrays_given_at_construction(s):
    np.testing.assert_array_equal(
        s.evaluate('NetExtract[BatchNormalizationLayer["Biases" -> {1, 2, 3}], "Biases"]'),
        [1.0, 2.0, 3.0])
    # Scaling zero: the output is the Biases, whatever the input (0 * (...) + b = b)
    s.evaluate('b = NetInitialize@BatchNormalizationLayer["Biases" -> {1, 2, 3}, '
               '"Scaling" -> {0, 0, 0}, "Input" -> 3]')
    for x in ["{0, 0, 0}", "{10, -20, 30}", "{1*^6, -1*^6, 0.5}"]:
        np.testing.assert_array_equal(s.evaluate(f"b[{x}]"), [1.0, 2.0, 3.0])
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(s["b"](rng.standard_normal((20, 3)) * 100),
                                  np.tile([1.0, 2.0, 3.0], (20, 1)))
    np.testing.assert_array_equal(s.evaluate('b[{{4, 5, 6}, {-1, 0, 1}}, '
                                             'NetEvaluationMode -> "Train"]'),
                                  [[1, 2, 3], [1, 2, 3]])
    # images too: every position of channel k gets Biases[k]
    s.evaluate('img = NetInitialize@BatchNormalizationLayer["Biases" -> {1, 2, 3}, '
               '"Scaling" -> {0, 0, 0}, "Input" -> {3, 2, 2}]')
    out = np.asarray(s["img"](rng.standard_normal((3, 2, 2))))
    expected = np.array([1.0, 2.0, 3.0])[:, None, None] * np.ones((3, 2, 2))
    np.testing.assert_array_equal(out, expected)


# ---------------------------------------------------------------- NetReplacePart
def test_replace_an_array_by_path(s):
    s.evaluate('n2 = NetReplacePart[net, {"bn", "Scaling"} -> {2, 3, 4}]')
    np.testing.assert_array_equal(s.evaluate('NetExtract[n2, {"bn", "Scaling"}]'), [2, 3, 4])
    # the rest is kept, and the original net is unchanged
    np.testing.assert_array_equal(s.evaluate('NetExtract[n2, {"lin", "Weights"}]'),
                                  s.evaluate('NetExtract[net, {"lin", "Weights"}]'))
    np.testing.assert_array_equal(s.evaluate('NetExtract[net, {"bn", "Scaling"}]'), [1, 1, 1])
    # and the new value is used: Test-mode output = Scaling * x / Sqrt[1 + 0.001]
    w = np.asarray(s.evaluate('NetExtract[net, {"lin", "Weights"}]'), np.float64)
    expected = np.array([2, 3, 4]) * (w @ [1, -1]) / np.sqrt(1.001)
    np.testing.assert_allclose(s.evaluate("n2[{1, -1}]"), expected, rtol=1e-5, atol=1e-6)
    # by position, and several rules at once
    s.evaluate('n3 = NetReplacePart[chain, {{2, "Biases"} -> {1, 1, 1}, '
               '{2, "MovingMean"} -> {5, 5, 5}}]')
    np.testing.assert_array_equal(s.evaluate('NetExtract[n3, {2, "Biases"}]'), [1, 1, 1])
    np.testing.assert_array_equal(s.evaluate('NetExtract[n3, {2, "MovingMean"}]'), [5, 5, 5])


def test_replace_an_array_of_a_layer(s):
    s.evaluate('bn = NetInitialize@BatchNormalizationLayer["Input" -> 2]')
    s.evaluate('bn2 = NetReplacePart[bn, "MovingVariance" -> {4, 9}]')
    np.testing.assert_allclose(s.evaluate("bn2[{2, 3}]"),
                               [2 / np.sqrt(4.001), 3 / np.sqrt(9.001)], rtol=1e-6)


@pytest.mark.parametrize("rule", ['{"bn", "Scaling"} -> {1, 2}',
                                  '{"bn", "Scaling"} -> {{1, 2, 3}}',
                                  '{"bn", "Scaling"} -> 1',
                                  '{"lin", "Weights"} -> {1, 2, 3}',
                                  '{"lin", "Weights"} -> {{1, 2, 3}, {1, 2, 3}, {1, 2, 3}}'])
def test_replaced_array_of_the_wrong_shape_is_an_error(s, rule):
    with pytest.raises(NetDSLError) as e:
        s.evaluate(f"NetReplacePart[net, {rule}]")
    assert e.value.symbol == "NetReplacePart"
    assert e.value.tag in ("arrdim", "tyinc")
    assert "Scaling" in e.value.text or "Weights" in e.value.text


def test_wrong_shape_while_dimensions_are_open_is_caught_by_inference(s):
    with pytest.raises(ShapeError) as e:
        s.evaluate('NetReplacePart[NetChain[{LinearLayer[3], BatchNormalizationLayer[]}], '
                   '{1, "Weights"} -> {{1, 2}}]')
    assert (e.value.symbol, e.value.tag) == ("NetReplacePart", "tyinc")
    with pytest.raises(ShapeError, match='Rank of array "Scaling"'):
        s.evaluate('NetReplacePart[BatchNormalizationLayer[], "Scaling" -> 1]')


def test_non_numeric_array_is_an_error(s):
    with pytest.raises(EvaluationError, match="not a numeric array"):
        s.evaluate('NetReplacePart[net, {"bn", "Scaling"} -> {1, "a", 3}]')


def test_replace_the_input_shape(s):
    s.evaluate('u = NetChain[{LinearLayer[3], BatchNormalizationLayer[]}, "Input" -> 2]')
    s.evaluate('u5 = NetReplacePart[u, "Input" -> 5]')
    assert s.evaluate('NetExtract[u5, "Input"]') == 5
    np.testing.assert_array_equal(
        s.evaluate('Dimensions[NetExtract[NetInitialize[u5], {1, "Weights"}]]'), [3, 5])
    # a layer's input: the channel count follows
    s.evaluate('img = NetReplacePart[BatchNormalizationLayer[], "Input" -> {4, 5, 5}]')
    assert s.evaluate('NetExtract[img, "Output"]') is not None
    assert np.asarray(s.evaluate('NetExtract[NetInitialize[img], "Scaling"]')).shape == (4,)
    # weights already set fix the input size: 5 contradicts them
    with pytest.raises(ShapeError) as e:
        s.evaluate('NetReplacePart[net, "Input" -> 5]')
    assert (e.value.symbol, e.value.tag) == ("NetReplacePart", "tyinc")
    with pytest.raises(ShapeError, match=r'"Channels" \(3\).*\(4\)'):
        s.evaluate('NetReplacePart[NetInitialize@BatchNormalizationLayer["Input" -> 3], '
                   '"Input" -> 4]')


def test_replace_shared_array(s):
    s.evaluate('sh = NetInitialize@NetChain[{LinearLayer[2, "Weights" -> NetArray["W"]], '
               'LinearLayer[2, "Weights" -> NetArray["W"]]}, "Input" -> 2]')
    s.evaluate('sh2 = NetReplacePart[sh, NetSharedArray["W"] -> {{1, 2}, {3, 4}}]')
    for i in (1, 2):
        np.testing.assert_array_equal(s.evaluate(f'NetExtract[sh2, {{{i}, "Weights"}}]'),
                                      [[1, 2], [3, 4]])
    with pytest.raises(EvaluationError, match="dimensions"):
        s.evaluate('NetReplacePart[sh, NetSharedArray["W"] -> {{1, 2, 3}}]')


def test_replace_at_an_empty_position_is_an_error(s):
    """Found by fuzzing: NetReplacePart[net, {} -> layer] raised a raw IndexError."""
    with pytest.raises(EvaluationError, match="The position {} names no layer"):
        s.evaluate("NetReplacePart[net, {} -> Ramp]")
