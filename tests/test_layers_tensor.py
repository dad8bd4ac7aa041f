"""Tensor plumbing and constant layers: PartLayer, TransposeLayer, ReplicateLayer,
PaddingLayer, AggregationLayer, ConstantTimesLayer, ConstantPlusLayer, ConstantArrayLayer.

Forward references are naive: explicit index loops or NumPy written out here; backward is
checked against float64 central differences (layer_harness.check_gradients). Shapes are
checked in both directions; the sizes come from Wolfram's layer tests where they exist.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import netdsl
from netdsl import ShapeError
from layer_harness import build, check_gradients, forward, make_arrays


def data(shape, seed=0, n=2):
    return np.random.default_rng(seed).standard_normal((n,) + tuple(shape))


def batch_last(x):
    return np.ascontiguousarray(np.moveaxis(x, 0, -1))


def grad_check(text, seed=0):
    layer = build(text)
    xs = [batch_last(data(layer.ports[p].shape, seed + i))
          for i, p in enumerate(layer.port_names()[0])]
    check_gradients(layer, make_arrays(layer, seed=5), xs)


def out_shape(text, port="Output"):
    return netdsl.evaluate(text).ports[port].shape


# ---------------------------------------------------------------- PartLayer
def ref_part(x, idx):
    """x (N, ...) indexed per example by a Python index tuple built by the test."""
    return np.stack([np.asarray(x[i][idx]) for i in range(x.shape[0])])


@pytest.mark.parametrize("text,shape,idx", [
    ("PartLayer[2]", (4, 3), (1,)),
    ("PartLayer[-1]", (4, 3), (3,)),
    ("PartLayer[1 ;; 3]", (4, 3), (slice(0, 3),)),
    ("PartLayer[{All, 2 ;; -1}]", (4, 3), (slice(None), slice(1, 3))),
    ("PartLayer[{2, -2}]", (4, 3), (1, 1)),
    ("PartLayer[{1 ;; -1 ;; 2, 3}]", (5, 3), (slice(0, 5, 2), 2)),
])
def test_part_forward_basic(text, shape, idx):
    layer = build(f'{text[:-1]}, "Input" -> {{{", ".join(map(str, shape))}}}]')
    x = data(shape)
    (y,) = forward(layer, {}, x)
    np.testing.assert_allclose(y, ref_part(x, idx), rtol=1e-6)


def test_part_position_list_forward():
    layer = build('PartLayer[{{3, 1, 3}}, "Input" -> {4, 2}]')
    x = data((4, 2))
    (y,) = forward(layer, {}, x)
    expected = np.stack([[x[i, 2], x[i, 0], x[i, 2]] for i in range(2)])
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    layer = build('PartLayer[{All, {2, 1}}, "Input" -> {3, 2, 2}]')
    x = data((3, 2, 2))
    (y,) = forward(layer, {}, x)
    np.testing.assert_allclose(y, x[:, :, [1, 0], :], rtol=1e-6)


@pytest.mark.parametrize("text", [
    'PartLayer[2, "Input" -> {4, 3}]',
    'PartLayer[{All, 2 ;; 3}, "Input" -> {2, 4}]',
    'PartLayer[{{1, 3, 1}}, "Input" -> {3, 2}]',      # a repeated position: gradients add
    'PartLayer[{-1, {2, 1}}, "Input" -> {2, 3, 2}]',
])
def test_part_backward(text):
    grad_check(text)


def test_part_shapes():
    assert out_shape('PartLayer[2, "Input" -> {4, 3}]') == (3,)
    assert out_shape('PartLayer[{All, 1 ;; 3}, "Input" -> {5, 4}]') == (5, 3)
    assert out_shape('PartLayer[{{1, 3}}, "Input" -> {5, 4}]') == (2, 4)
    assert out_shape('PartLayer[2 ;; All, "Input" -> {5}]') == (4,)
    # backward: rank and the passed-through sizes come from the output
    assert out_shape('PartLayer[{All, 1}, "Output" -> {5, 4}]', "Input") == (5, None, 4)
    with pytest.raises(ShapeError, match="cannot reference positions greater than 4"):
        netdsl.evaluate('PartLayer[5, "Input" -> {4}]')
    with pytest.raises(ShapeError, match="cannot exceed the input rank"):
        netdsl.evaluate('PartLayer[{1, 1}, "Input" -> {4}]')


# ---------------------------------------------------------------- TransposeLayer
@pytest.mark.parametrize("text,perm", [
    ("TransposeLayer[]", (1, 0, 2)),                       # 1 <-> 2
    ("TransposeLayer[TwoWayRule[1, 3]]", (2, 1, 0)),
    ("TransposeLayer[{TwoWayRule[1, 2], TwoWayRule[2, 3]}]", (1, 2, 0)),
    ("TransposeLayer[{2, 3, 1}]", (2, 0, 1)),              # level i goes to level p[i]
    ("TransposeLayer[1 -> 3]", (1, 2, 0)),                 # level 1 moved to position 3
    ("TransposeLayer[3 -> 1]", (2, 0, 1)),
])
def test_transpose_forward(text, perm):
    layer = build(f'{text[:-1]}{", " if text[-2] != "[" else ""}"Input" -> {{2, 3, 4}}]')
    x = data((2, 3, 4))
    (y,) = forward(layer, {}, x)
    # naive: output element [j...] = input element at the permuted index
    expected = np.empty((2,) + tuple((2, 3, 4)[p] for p in perm))
    for n in range(2):
        for out_idx in itertools.product(*map(range, expected.shape[1:])):
            in_idx = [0, 0, 0]
            for j, p in enumerate(perm):
                in_idx[p] = out_idx[j]
            expected[(n,) + out_idx] = x[(n,) + tuple(in_idx)]
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_transpose_wolfram_semantics():
    # Transpose[{{{...}}}, {2, 3, 1}] on dims {2, 3, 4} gives dims {4, 2, 3}
    assert out_shape('TransposeLayer[{2, 3, 1}, "Input" -> {2, 3, 4}]') == (4, 2, 3)
    assert out_shape('TransposeLayer[TwoWayRule[1, 3], "Input" -> {2, 3, 4}]') == (4, 3, 2)
    assert out_shape('TransposeLayer["Input" -> {2, 3}]') == (3, 2)
    assert out_shape('TransposeLayer[TwoWayRule[1, -1], "Output" -> {5, 3, 2}]', "Input") \
        == (2, 3, 5)
    with pytest.raises(ShapeError, match="incompatible"):
        netdsl.evaluate('TransposeLayer[TwoWayRule[1, 3], "Input" -> {2, 3}]')


@pytest.mark.parametrize("spec", ["TwoWayRule[1, 3]", "{3, 1, 2}", "2 -> 3"])
def test_transpose_backward(spec):
    grad_check(f'TransposeLayer[{spec}, "Input" -> {{2, 3, 2}}]')


# ---------------------------------------------------------------- ReplicateLayer
def test_replicate_forward_and_shapes():
    layer = build('ReplicateLayer[3, "Input" -> {2}]')
    x = data((2,))
    (y,) = forward(layer, {}, x)
    assert y.shape == (2, 3, 2)
    for k in range(3):
        np.testing.assert_allclose(y[:, k], x, rtol=1e-6)
    layer = build('ReplicateLayer[{2, 3}, -1, "Input" -> {4}]')
    (y,) = forward(layer, {}, data((4,)))
    assert y.shape == (2, 4, 2, 3)
    assert out_shape('ReplicateLayer[5, 2, "Input" -> {3, 4}]') == (3, 5, 4)
    assert out_shape('ReplicateLayer[Automatic, "Output" -> {5, 2}]', "Input") == (2,)
    assert netdsl.evaluate('ReplicateLayer[Automatic, "Output" -> {5, 2}]').values[
        "Specification"] == (5,)
    with pytest.raises(ShapeError, match="level must be"):
        netdsl.evaluate('ReplicateLayer[2, 4, "Input" -> {3}]')


@pytest.mark.parametrize("text", ['ReplicateLayer[3, "Input" -> {2}]',
                                  'ReplicateLayer[{2, 2}, -1, "Input" -> {3}]'])
def test_replicate_backward(text):
    grad_check(text)


# ---------------------------------------------------------------- PaddingLayer
def ref_pad(x, spec, method):
    """Naive: every output position maps to an input position by the method's rule."""
    n_in = x.shape[1:]
    out_shape_ = tuple(n + b + a for n, (b, a) in zip(n_in, spec))
    y = np.empty((x.shape[0],) + out_shape_)

    def source(j, n, b):
        i = j - b
        if 0 <= i < n:
            return i
        if method == "Fixed":
            return min(max(i, 0), n - 1)
        if method == "Periodic":
            return i % n
        if method == "Reflected":          # ... 2 1 | 0 1 2 ... n-1 | n-2 ...
            period = 2 * (n - 1)
            i = i % period
            return i if i < n else period - i
        if method == "Reversed":           # ... 1 0 | 0 1 2 ... n-1 | n-1 n-2 ...
            period = 2 * n
            i = i % period
            return i if i < n else period - 1 - i
        return None

    for idx in itertools.product(*map(range, out_shape_)):
        src = [source(j, n, b) for j, n, (b, _) in zip(idx, n_in, spec)]
        if None in src:
            y[(slice(None),) + idx] = method          # a constant padding value
        else:
            y[(slice(None),) + idx] = x[(slice(None),) + tuple(src)]
    return y


@pytest.mark.parametrize("method", [0, 1.5, "Fixed", "Periodic", "Reflected", "Reversed"])
def test_padding_forward(method):
    m = f'"{method}"' if isinstance(method, str) else method
    layer = build(f'PaddingLayer[{{{{1, 2}}, {{2, 0}}}}, "Padding" -> {m}, "Input" -> {{3, 4}}]')
    x = data((3, 4))
    (y,) = forward(layer, {}, x)
    np.testing.assert_allclose(y, ref_pad(x, ((1, 2), (2, 0)), method), rtol=1e-6)


@pytest.mark.parametrize("method", ["0", '"Fixed"', '"Periodic"', '"Reflected"', '"Reversed"'])
def test_padding_backward(method):
    grad_check(f'PaddingLayer[{{{{0, 0}}, {{2, 1}}, {{1, 2}}}}, {method}, "Input" -> {{2, 3, 4}}]')


def test_padding_shapes():
    assert out_shape('PaddingLayer[{{1, 1}, {2, 3}}, "Input" -> {3, 4}]') == (5, 9)
    assert out_shape('PaddingLayer[{{1, 1}, {2, 3}}, "Output" -> {5, 9}]', "Input") == (3, 4)
    with pytest.raises(ShapeError):
        netdsl.evaluate('PaddingLayer[{{1, 1}, {2, 3}}, "Input" -> {3}]')
    with pytest.raises(ShapeError, match="Reflected"):
        netdsl.evaluate('PaddingLayer[{{3, 0}}, "Padding" -> "Reflected", "Input" -> {3}]')
    with pytest.raises(netdsl.EvaluationError):
        netdsl.evaluate('PaddingLayer[{{1, 1}}, "Padding" -> "Mirror"]')


@pytest.mark.parametrize("method", ['"Reflected"', '"Reversed"'])
def test_mirrored_padding_without_a_known_input_size(method):
    """Built without an input size, the mirror's limit is checked once the size is known."""
    layer = netdsl.evaluate(f'PaddingLayer[{{{{1, 1}}, {{2, 2}}}}, "Padding" -> {method}]')
    assert layer.ports["Input"].shape == (None, None)
    chain = netdsl.evaluate(f'NetChain[{{PaddingLayer[{{{{1, 1}}, {{2, 2}}}}, "Padding" -> '
                            f'{method}]}}, "Input" -> {{3, 4}}]')
    assert chain.ports["Output"].shape == (5, 8)
    with pytest.raises(ShapeError, match=method.strip('"')):
        netdsl.evaluate(f'NetChain[{{PaddingLayer[{{{{3, 3}}}}, "Padding" -> {method}]}}, '
                        f'"Input" -> {{2}}]')


# ---------------------------------------------------------------- AggregationLayer
@pytest.mark.parametrize("f,levels,axes", [
    ("Max", None, (2, 3)), ("Mean", None, (2, 3)), ("Total", "1", (1,)), ("Min", "-1", (3,)),
    ("Total", "{1, 3}", (1, 3)), ("Mean", "All", (1, 2, 3)), ("Max", "2 ;; 3", (2, 3)),
    ("Times", "-1", (3,)),
])
def test_aggregation_forward(f, levels, axes):
    lv = "" if levels is None else f", {levels}"
    layer = build(f'AggregationLayer[{f}{lv}, "Input" -> {{3, 4, 5}}]')
    x = data((3, 4, 5))
    (y,) = forward(layer, {}, x)
    ref = {"Max": np.max, "Min": np.min, "Mean": np.mean, "Total": np.sum,
           "Times": np.prod}[f](x, axis=axes)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("f", ["Max", "Min", "Mean", "Total", "Times"])
def test_aggregation_backward(f):
    grad_check(f'AggregationLayer[{f}, "Input" -> {{2, 3, 2}}]')
    grad_check(f'AggregationLayer[{f}, {{1, -1}}, "Input" -> {{2, 3, 2}}]')


def test_aggregation_max_ties_share_the_gradient():
    layer = build('AggregationLayer[Max, 1, "Input" -> {3}]')
    x = batch_last(np.array([[1.0, 2.0, 2.0]]))
    from layer_harness import ctx
    (y,), cache = layer.forward(ctx(grad=True), {}, x)
    (dx,), _ = layer.backward(ctx(grad=True), {}, cache, np.ones((1,)))
    np.testing.assert_allclose(dx[:, 0], [0, 0.5, 0.5])


def test_aggregation_shapes():
    assert out_shape('AggregationLayer[Max, "Input" -> {16, 7, 7}]') == (16,)
    assert out_shape('AggregationLayer[Mean, -1, "Input" -> {3, 4}]') == (3,)
    assert out_shape('AggregationLayer[Total, 1, "Output" -> {4, 5}]', "Input") == (None, 4, 5)
    with pytest.raises(ShapeError, match="exceeds rank"):
        netdsl.evaluate('AggregationLayer[Max, 3, "Input" -> {3, 4}]')
    with pytest.raises(netdsl.EvaluationError):
        netdsl.evaluate("AggregationLayer[Median]")


# ---------------------------------------------------------------- constant layers
def test_constant_times_and_plus():
    layer = build('ConstantTimesLayer["Input" -> {2, 3}]')
    assert layer.array_shapes() == {"Scaling": (2, 3)}
    arrays = make_arrays(layer, seed=3)
    x = data((2, 3))
    (y,) = forward(layer, arrays, x)
    np.testing.assert_allclose(y, x * arrays["Scaling"][None], rtol=1e-5)
    layer = build('ConstantPlusLayer["Input" -> "Real"]')
    assert layer.array_shapes() == {"Biases": (1,)}
    arrays = make_arrays(layer, seed=3)
    x = data(())
    (y,) = forward(layer, arrays, x)
    np.testing.assert_allclose(y, x + arrays["Biases"][0], rtol=1e-5)
    # the array gives the shape
    assert out_shape('ConstantTimesLayer["Scaling" -> {1, 2, 3}]', "Input") == (3,)


@pytest.mark.parametrize("text", ['ConstantTimesLayer["Input" -> {2, 3}]',
                                  'ConstantPlusLayer["Input" -> {3}]',
                                  'ConstantTimesLayer["Input" -> "Real"]'])
def test_constant_backward(text):
    grad_check(text)


def test_constant_array_layer_in_a_graph():
    net = netdsl.evaluate('NetGraph[<|"c" -> ConstantArrayLayer[{1, 2, 3}], "t" -> TotalLayer[]|>, '
                          '{{NetPort["Input"], "c"} -> "t"}, "Input" -> 3]')
    y = net(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]], np.float32))
    np.testing.assert_allclose(y, [[2, 3, 4], [1, 2, 3]])
    assert netdsl.evaluate("NetArrayLayer[{{1, 2}}]").ports["Output"].shape == (1, 2)
    layer = build('ConstantArrayLayer["Output" -> {2}]')
    from layer_harness import ctx
    c = ctx(grad=True)
    c.batch = 3
    (y,), cache = layer.forward(c, {"Array": np.array([1.0, 2.0])})
    assert y.shape == (2, 3)
    _, grads = layer.backward(c, {"Array": np.array([1.0, 2.0])}, cache, np.ones((2, 3)))
    np.testing.assert_allclose(grads["Array"], [3, 3])



def test_a_net_without_inputs_evaluates_as_net_of_nothing():
    """Wolfram: NetArrayLayer[...][] returns the constant array. Found by fuzzing: with data
    given (or <||>) it raised a raw IndexError or KeyError."""
    s = netdsl.Session()
    s.evaluate('n = NetArrayLayer["Array" -> {1., 2.}]; '
               'g = NetGraph[<|"a" -> NetArrayLayer["Array" -> {1., 2.}], '
               '"t" -> ElementwiseLayer[Tanh]|>, {"a" -> "t"}]')
    for call in ("n[]", "n[<||>]", 'n["Output"]', 'n[NetEvaluationMode -> "Train"]'):
        np.testing.assert_array_equal(s.evaluate(call), [1, 2])
    np.testing.assert_allclose(s.evaluate("g[]"), np.tanh([1, 2]), rtol=1e-6)
    # d(sum tanh(a))/da = 1 - tanh(a)^2, and a seeded output gradient passes through n
    np.testing.assert_allclose(s.evaluate('g[NetPortGradient[{"a", "Array"}]]'),
                               1 - np.tanh([1, 2]) ** 2, rtol=1e-5)
    np.testing.assert_array_equal(
        s.evaluate('n[<|NetPortGradient["Output"] -> {3., 4.}|>, NetPortGradient["Array"]]'),
        [3, 4])
    for bad in ("n[1]", "n[{1, 2}]", 'g[<|"x" -> 1|>]'):
        with pytest.raises(netdsl.NetDSLError, match="no input ports"):
            s.evaluate(bad)

def test_transpose_two_way_rule_syntax():
    assert out_shape('TransposeLayer[1 <-> 3, "Input" -> {2, 3, 4}]') == (4, 3, 2)
    assert out_shape('TransposeLayer[{1 <-> 2, 2 <-> 3}, "Input" -> {2, 3, 4}]') == (3, 4, 2)
    layer = netdsl.evaluate('TransposeLayer[1 <-> 3, "Input" -> {2, 3, 4}]')
    assert layer.input_form() == 'TransposeLayer[1 <-> 3, "Input" -> {2, 3, 4}]'
    assert netdsl.evaluate(layer.input_form()) == layer


def test_net_array_layer_is_trained():
    s = netdsl.Session()
    learned = s.evaluate(
        'net = NetGraph[<|"c" -> NetArrayLayer["Output" -> 2], "t" -> TotalLayer[]|>, '
        '{{NetPort["Input"], "c"} -> "t"}, "Input" -> 2];'
        'res = NetTrain[net, {{1., 2.} -> {2., 5.}, {0., 0.} -> {1., 3.}}, All, '
        'MaxTrainingRounds -> 300, LearningRate -> 0.05, BatchSize -> 2];'
        'NetExtract[res["TrainedNet"], {"c", "Array"}]')
    np.testing.assert_allclose(learned, [1, 3], atol=1e-3)    # the offset y - x


def test_aggregation_times_gradient_with_zeros():
    from layer_harness import ctx
    layer = build('AggregationLayer[Times, 1, "Input" -> {3}]')
    x = batch_last(np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0]]))
    (y,), cache = layer.forward(ctx(grad=True), {}, x)
    (dx,), _ = layer.backward(ctx(grad=True), {}, cache, np.ones(2))
    np.testing.assert_allclose(dx[:, 0], [0, 6, 0])      # one zero: the others' product
    np.testing.assert_allclose(dx[:, 1], [0, 0, 0])      # two zeros: every derivative is 0
