"""CatenateLayer, TotalLayer and ThreadingLayer: the number, names and shapes of their input
ports ("Inputs"/InputPorts -> n, names or shapes), ThreadingLayer's broadcasting
specifications (-n, {spec1, spec2, ...}), lower-rank threading in the torch and ONNX forms,
and a layer applied alone to a list of k arrays. Expected values are sums, products and
catenations written out here, one output position at a time."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError, ShapeError
from netdsl.runtime import apply
from layer_harness import build, check_gradients, forward

S = netdsl.evaluate


def wl(shape):
    """A shape as Wolfram writes it: {3, 2, 2}."""
    return "{" + ", ".join(map(str, shape)) + "}"


def shapes(layer):
    return {p: layer.ports[p].shape for p in layer.port_names()[0] + layer.port_names()[1]}


# ---------------------------------------------------------------- "Inputs" / InputPorts
def test_port_shapes_from_inputs_option():
    cat = build('CatenateLayer["Inputs" -> {2, 3}]')
    assert shapes(cat) == {"Input1": (2,), "Input2": (3,), "Output": (5,)}
    assert shapes(build("CatenateLayer[InputPorts -> {2, 3}]")) == shapes(cat)
    cat2 = build('CatenateLayer[2, "Inputs" -> {{2, 3}, {2, 4}}]')
    assert shapes(cat2) == {"Input1": (2, 3), "Input2": (2, 4), "Output": (2, 7)}
    t = build('ThreadingLayer[Plus, InputPorts -> {2, 2}]')
    assert shapes(t) == {"Input1": (2,), "Input2": (2,), "Output": (2,)}
    total = build('TotalLayer["Inputs" -> {"Real", "Real", "Real"}]')
    assert shapes(total) == {"Input1": (), "Input2": (), "Input3": (), "Output": ()}
    seq = build('CatenateLayer[-1, "Inputs" -> {{"Varying", 2}, {"Varying", 3}}]')
    assert seq.ports["Output"].shape[1] == 5 and seq.ports["Output"].words().startswith("matrix")


def test_inputs_option_prints_back_as_given():
    for text in ('CatenateLayer[2, "Inputs" -> {{2, 3}, {2, 4}}]', 'TotalLayer["Inputs" -> 3]',
                 'TotalLayer["Inputs" -> {"a", "b"}]', 'ThreadingLayer[Times, {Automatic, -1}]'):
        layer = S(text)
        again = S(layer.input_form())
        assert again == layer, (text, layer.input_form())


def test_catenate_declared_shapes_numbers():
    layer = build('CatenateLayer[2, "Inputs" -> {{2, 3}, {2, 4}}]')
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 4))
    (y,) = forward(layer, {}, a, b, dtype=np.float64)
    expected = np.empty((5, 2, 7))
    for n in range(5):
        for i in range(2):
            expected[n, i] = list(a[n, i]) + list(b[n, i])
    np.testing.assert_array_equal(y, expected)


def test_total_takes_inputs_option():
    layer = build('TotalLayer["Inputs" -> 3, "Input1" -> 2]')
    assert layer.port_names()[0] == ("Input1", "Input2", "Input3")
    xs = [np.array([[1.0, 2.0]]), np.array([[10.0, 20.0]]), np.array([[100.0, 200.0]])]
    (y,) = forward(layer, {}, *xs, dtype=np.float64)
    np.testing.assert_array_equal(y, [[111.0, 222.0]])
    named = build('TotalLayer["Inputs" -> {"a", "b"}]')
    assert named.port_names()[0] == ("a", "b")


def test_threading_variadic_function_follows_inputs_option():
    layer = build('ThreadingLayer[Times, "Inputs" -> 3, "Input1" -> 2]')
    xs = [np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]]), np.array([[5.0, 6.0]])]
    (y,) = forward(layer, {}, *xs, dtype=np.float64)
    np.testing.assert_array_equal(y, [[15.0, 48.0]])


def test_graph_of_three_keeps_its_product_after_new_shapes():
    """{a, b, c} -> ThreadingLayer[Times] with shapes known only from the data: the
    function stays the product of three (it fell back to two when shapes were settled)."""
    net = S('NetGraph[{ThreadingLayer[Times]}, {{NetPort["a"], NetPort["b"], NetPort["c"]} -> 1}]')
    y = net({"a": np.array([1.0, 2.0], np.float32), "b": np.array([3.0, 4.0], np.float32),
             "c": np.array([5.0, 6.0], np.float32)})
    np.testing.assert_array_equal(np.asarray(y), [15.0, 48.0])


@pytest.mark.parametrize("text,err,match", [
    ('CatenateLayer["Inputs" -> {"a", "a"}]', EvaluationError, "not distinct"),
    ('CatenateLayer["Inputs" -> {0, 2}]', EvaluationError, "port 1: the size 0"),
    ('CatenateLayer["Inputs" -> {"a", 2}]', EvaluationError, "port 1"),
    ("ThreadingLayer[Plus, InputPorts -> {2, 3}]", ShapeError, "sizes 2 and 3 differ"),
    ('TotalLayer["Inputs" -> {2, 3}]', ShapeError, "inconsistent"),
    ('ThreadingLayer[Subtract, "Inputs" -> 3]', EvaluationError, "takes 2 arguments"),
])
def test_inputs_option_errors(text, err, match):
    with pytest.raises(err, match=match):
        S(text)


# ---------------------------------------------------------------- broadcasting specs
def _naive(a, b, place):
    """f = Times, b's levels at the output levels ``place`` (0-based), one position at a time."""
    out = np.empty(a.shape)
    for n in range(a.shape[0]):
        for idx in np.ndindex(*a.shape[1:]):
            out[(n,) + idx] = a[(n,) + idx] * b[(n,) + tuple(idx[p] for p in place)]
    return out


@pytest.mark.parametrize("bspec,ashape,bshape,place", [
    ("-1", (3, 2, 2), (3,), (0,)),              # inserted at the deepest level: as Plus does
    ("-1", (3, 4, 2), (3, 4), (0, 1)),
    ("-2", (3, 4, 2), (3, 2), (0, 2)),          # inserted before b's last level
    ("-3", (3, 4, 2), (4, 2), (1, 2)),          # before its first: NumPy's alignment
    ("{Automatic, -1}", (3, 2), (3,), (0,)),
    ("{Automatic, 2}", (3, 4, 2), (4,), (1,)),
    ("{Automatic, Automatic}", (3, 4), (4,), (1,)),
])
def test_threading_broadcasting_specs(bspec, ashape, bshape, place):
    layer = build(f'ThreadingLayer[Times, {bspec}, "Input1" -> {wl(ashape)}, '
                  f'"Input2" -> {wl(bshape)}]')
    assert layer.ports["Output"].shape == ashape
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2,) + ashape), rng.standard_normal((2,) + bshape)
    (y,) = forward(layer, {}, a, b, dtype=np.float64)
    np.testing.assert_allclose(y, _naive(a, b, place), rtol=1e-14)
    bl = lambda v: np.ascontiguousarray(np.moveaxis(v, 0, -1))   # noqa: E731
    check_gradients(layer, {}, [bl(a), bl(b)])


def test_threading_broadcasting_spec_errors():
    with pytest.raises(ShapeError, match='broadcasting -4 cannot place "Input2"'):
        S('ThreadingLayer[Times, -4, "Input1" -> {2, 3, 4}, "Input2" -> {2, 4}]')
    with pytest.raises(EvaluationError, match="settings for 3 inputs, but the layer has 2"):
        S("ThreadingLayer[Times, {Automatic, -1, 1}]")
    # {.., None, ..}: that input is not replicated, so it must have the output's shape
    with pytest.raises(ShapeError, match='"Input2" port'):
        S('ThreadingLayer[Plus, {Automatic, None}, "Input1" -> {2, 3}, "Input2" -> {1, 3}]')
    ok = S('ThreadingLayer[Plus, {None, Automatic}, "Input1" -> {2, 3}, "Input2" -> {1, 3}]')
    assert ok.ports["Output"].shape == (2, 3)
    with pytest.raises(EvaluationError, match="Automatic, None, a level n or -n"):
        S("ThreadingLayer[Times, 0]")


# ---------------------------------------------------------------- torch and ONNX
GRAPHS = [
    ("ThreadingLayer[Times, 1]", (3, 2, 2), (3,)),
    ("ThreadingLayer[Times, -2]", (3, 4, 2), (3, 2)),
    ("ThreadingLayer[#1 - #2^2 &]", (3, 4), (4,)),
    ("ThreadingLayer[Mod]", (3, 4), (1, 4)),
    ("ThreadingLayer[Which[#1 > #2, #1, True, -#2] &, -1]", (3, 4), (3,)),
    ("ThreadingLayer[Clip[#1, {-#2, #2}] &]", (2, 3), (3,)),
]


def _graph(f, ashape, bshape):
    net = netdsl.Session().evaluate(
        f'NetInitialize[NetGraph[{{{f}}}, {{{{NetPort["a"], NetPort["b"]}} -> 1}}, '
        f'"a" -> {wl(ashape)}, "b" -> {wl(bshape)}]]')
    rng = np.random.default_rng(3)
    a = rng.uniform(0.5, 2.0, (4,) + ashape).astype(np.float32)
    b = rng.uniform(0.5, 2.0, (4,) + bshape).astype(np.float32)
    return net, a, b


@pytest.mark.parametrize("f,ashape,bshape", GRAPHS)
def test_lower_rank_threading_in_torch(f, ashape, bshape):
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    net, a, b = _graph(f, ashape, bshape)
    y = to_torch(net)(a=torch.tensor(a), b=torch.tensor(b)).detach().numpy()
    np.testing.assert_allclose(y, np.asarray(net({"a": a, "b": b})), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("f,ashape,bshape", GRAPHS)
def test_lower_rank_threading_in_onnx(f, ashape, bshape):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from netdsl.formats.onnx_export import to_onnx
    net, a, b = _graph(f, ashape, bshape)
    model = to_onnx(net, 17)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"a": a, "b": b})
    np.testing.assert_allclose(y, np.asarray(net({"a": a, "b": b})), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- a layer applied to a list
needs_apply = pytest.mark.skipif(
    not hasattr(apply, "_for_positional"),
    reason="needs runtime/apply.py to ask MultiInputLayer.for_inputs (proposed patch)")


def test_for_inputs_widens_only_unfixed_layers():
    assert S("TotalLayer[]").for_inputs(3).port_names()[0] == ("Input1", "Input2", "Input3")
    assert S("ThreadingLayer[Max]").for_inputs(3).values["Function"].arity == 3
    for text in ('TotalLayer["Inputs" -> 2]', "ThreadingLayer[Subtract]",
                 "ThreadingLayer[#1 + #2 &]"):
        assert S(text).for_inputs(3).input_count == 2, text


@needs_apply
@pytest.mark.parametrize("text,expected", [
    ("ThreadingLayer[Plus][{1, 2}]", 3.0),
    ('TotalLayer["Output" -> "Real"][{1, 2}]', 3.0),
    ("CatenateLayer[][{{1, 2}, {3, 4}, {5}}]", [1.0, 2.0, 3.0, 4.0, 5.0]),
    ("TotalLayer[][{{1, 2}, {3, 4}, {5, 6}}]", [1.0 + 3 + 5, 2.0 + 4 + 6]),
    ("ThreadingLayer[Times][{{1, 2}, {3, 4}, {5, 6}}]", [1.0 * 3 * 5, 2.0 * 4 * 6]),
    ("ThreadingLayer[Mod][{{7, -7}, {3, 3}}]", [1.0, 2.0]),
    ('CatenateLayer["Inputs" -> {2, 3}][{{1, 2}, {3, 4, 5}}]', [1.0, 2.0, 3.0, 4.0, 5.0]),
])
def test_layer_applied_to_a_list_of_arrays(text, expected):
    np.testing.assert_array_equal(np.asarray(S(text)), expected)


@needs_apply
def test_fixed_port_count_is_kept_for_lists():
    with pytest.raises(EvaluationError, match="The net has 2 inputs"):
        S('TotalLayer["Inputs" -> 2][{{1, 2}, {3, 4}, {5, 6}}]')
    with pytest.raises(EvaluationError, match="The net has 2 inputs"):
        S("ThreadingLayer[Subtract][{{1, 2}, {3, 4}, {5, 6}}]")
