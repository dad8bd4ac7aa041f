"""NetTake, NetDrop, NetAppend, NetPrepend, NetJoin, NetFlatten, NetReplace, Part on nets,
NetGraph[net], separate edges into a multi-input layer, muted outputs, Plus/Times
shorthands, and the clean errors of NetGraph[{}, {}] and port-changing NetReplacePart.

Numbers are checked against the layers' own formulas written here in NumPy, with the
arrays read out of the nets."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import EvaluationError

CHAIN = ('c = NetInitialize[NetChain[<|"a" -> LinearLayer[4], "r" -> Ramp, '
         '"b" -> LinearLayer[3], "s" -> SoftmaxLayer[]|>, "Input" -> 2]];')
GRAPH = ('g = NetInitialize[NetGraph[<|"a" -> LinearLayer[3], "b" -> LinearLayer[3], '
         '"cat" -> CatenateLayer[], "o" -> LinearLayer[2]|>, {"a" -> "cat", "b" -> "cat", '
         '"cat" -> "o"}, "Input" -> 2]];')


def ev(text: str):
    return netdsl.evaluate(text)


def arr(x):
    return np.asarray(x, dtype=np.float64)


def weights(prefix: str, layer: str):
    w = arr(ev(f'{prefix} NetExtract[{layer}, "Weights"]'))
    b = arr(ev(f'{prefix} NetExtract[{layer}, "Biases"]'))
    return w, b


def ports(net):
    return net.port_names()


X = np.array([[0.3, -1.2], [1.5, 0.7], [-0.4, 0.2]])


def test_net_take_chain_computes_the_first_layers():
    net = ev(CHAIN + " NetTake[c, 2]")
    w, b = weights(CHAIN, 'c[["a"]]')
    assert net.order == ["a", "r"]
    np.testing.assert_allclose(net(X), np.maximum(X @ w.T + b, 0), rtol=1e-5, atol=1e-6)


def test_net_take_start_end_by_name_and_position():
    net = ev(CHAIN + ' NetTake[c, {"r", "b"}]')
    assert net.order == ["r", "b"] and net.ports["Input"].shape == (4,)
    assert ev(CHAIN + " NetTake[c, {2, -2}]").order == ["r", "b"]
    w, b = weights(CHAIN, 'c[["b"]]')
    h = np.array([[1.0, -2.0, 0.5, 3.0]])
    np.testing.assert_allclose(net(h), np.maximum(h, 0) @ w.T + b, rtol=1e-5)


def test_net_take_unnamed_chain_is_renumbered():
    net = ev("NetTake[NetChain[{LinearLayer[3], Ramp, LinearLayer[2]}, \"Input\" -> 2], {2, 3}]")
    assert net.order == ["1", "2"] and not net.named


def test_net_take_graph_to_a_layer_keeps_its_ancestors():
    net = ev(GRAPH + ' NetTake[g, "cat"]')
    assert net.kind == "NetGraph" and net.order == ["a", "b", "cat"]
    assert ports(net) == (("Input",), ("Output",))
    wa, ba = weights(GRAPH, 'g[["a"]]')
    wb, bb = weights(GRAPH, 'g[["b"]]')
    np.testing.assert_allclose(net(X), np.concatenate([X @ wa.T + ba, X @ wb.T + bb], 1),
                               rtol=1e-5)


def test_net_take_graph_from_a_layer_cuts_its_inputs():
    net = ev(GRAPH + ' NetTake[g, {"cat", "o"}]')
    assert net.order == ["cat", "o"]
    assert ports(net) == (("Input1", "Input2"), ("Output",))
    x1, x2 = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 0.0])
    w, b = weights(GRAPH, 'g[["o"]]')
    got = net({"Input1": x1, "Input2": x2})
    np.testing.assert_allclose(got, np.concatenate([x1, x2]) @ w.T + b, rtol=1e-5)


def test_net_take_netport_ends_and_muting():
    text = ('h = NetGraph[{LinearLayer[3], Ramp, Tanh}, {1 -> 2 -> NetPort["r"], '
            '1 -> 3 -> NetPort["t"]}, "Input" -> 2];')
    net = ev(text + ' NetTake[h, NetPort["t"]]')
    assert net.order == ["1", "2"] and ports(net) == (("Input",), ("t",))
    net = ev(text + ' NetTake[h, NetPort[1, "Output"]]')
    assert net.order == ["1"]
    with pytest.raises(EvaluationError, match='no output port "zz"'):
        ev(text + ' NetTake[h, NetPort["zz"]]')


def test_net_drop():
    assert ev(CHAIN + " NetDrop[c, 1]").order == ["r", "b", "s"]
    assert ev(CHAIN + " NetDrop[c, -1]").order == ["a", "r", "b"]
    assert ev(CHAIN + " NetDrop[c, {2, 2}]").order == ["a", "b", "s"]
    with pytest.raises(netdsl.ShapeError, match="inconsistent"):   # 4 outputs into size 3
        ev(CHAIN + " NetDrop[c, {2, 3}]")
    with pytest.raises(EvaluationError, match="every layer"):
        ev(CHAIN + " NetDrop[c, 4]")
    with pytest.raises(EvaluationError, match="NetChain"):
        ev(GRAPH + " NetDrop[g, 1]")


def test_net_append_prepend_join():
    net = ev(CHAIN + ' NetAppend[c, "t" -> Tanh]')
    assert net.order == ["a", "r", "b", "s", "t"]
    net = ev("NetPrepend[NetChain[{Ramp, 3}], {LinearLayer[5], Tanh}]")
    assert net.order == ["1", "2", "3", "4"] and net.net("1").head_name == "LinearLayer"
    net = ev("NetJoin[NetChain[{LinearLayer[3], Ramp}], NetChain[{LinearLayer[2]}], Tanh]")
    assert net.order == ["1", "2", "3", "4"]
    # appending keeps the arrays: the old layers compute as before
    text = CHAIN + ' d = NetAppend[c, "t" -> Tanh];'
    np.testing.assert_allclose(ev(text + " d")(X), np.tanh(ev(text + " c")(X)), rtol=1e-5)


def test_net_append_to_a_graph_with_one_output():
    net = ev(GRAPH + ' NetAppend[g, "sm" -> SoftmaxLayer[]]')
    assert net.order[-1] == "sm" and ports(net)[1] == ("Output",)
    y = ev(GRAPH + " g")(X)
    e = np.exp(y - y.max(1, keepdims=True))
    np.testing.assert_allclose(net(X), e / e.sum(1, keepdims=True), rtol=1e-5)


def test_net_flatten_joins_names_and_keeps_numbers():
    text = ('n = NetInitialize[NetChain[<|"x" -> NetChain[<|"p" -> LinearLayer[3], '
            '"q" -> Ramp|>], "y" -> LinearLayer[2]|>, "Input" -> 4]];')
    flat = ev(text + " NetFlatten[n]")
    assert flat.kind == "NetChain" and flat.order == ["x/p", "x/q", "y"]
    x = np.arange(8.0).reshape(2, 4) / 7
    np.testing.assert_allclose(flat(x), ev(text + " n")(x), rtol=1e-6)
    inner = ev("NetGraph[{NetChain[{LinearLayer[3], Ramp}], NetChain[{Tanh}]}, {1 -> 2}, "
               "\"Input\" -> 2]")
    from netdsl.graph.compose import net_flatten
    flat = net_flatten(inner)
    assert flat.kind == "NetGraph" and flat.order == ["1/1", "1/2", "2/1"]
    with pytest.raises(EvaluationError, match="level"):
        ev(text + " NetFlatten[n, 0]")


def test_net_replace_by_type_and_by_value():
    net = ev(CHAIN + " NetReplace[c, SoftmaxLayer -> LogisticSigmoid]")
    assert net.net("s").head_name == "ElementwiseLayer"
    net = ev(CHAIN + " NetReplace[c, Ramp -> Tanh]")
    assert "Tanh" in net.net("r").input_form()
    # nested containers are searched too
    net = ev("NetReplace[NetChain[{NetChain[{Ramp, 3}], Ramp}, \"Input\" -> 2], Ramp -> Tanh]")
    assert "Ramp" not in net.input_form()


def test_net_replace_opens_chains_drops_nothing_and_says_when_nothing_matched(capsys):
    """Wolfram's NetReplace page: a NetChain put into a chain collapses into it; a
    replacement Nothing drops the layer; no match gives a message and the net back."""
    c = 'c = NetChain[{LinearLayer[5], Ramp, LinearLayer[2]}, "Input" -> 3];'
    net = ev(c + " NetReplace[c, Ramp -> NetChain[{BatchNormalizationLayer[], Ramp}]]")
    assert [x.head_name for _, x in net.layers()] == \
        ["LinearLayer", "BatchNormalizationLayer", "ElementwiseLayer", "LinearLayer"]
    assert names(net) == ["1", "2", "3", "4"]
    net = ev(c + " NetReplace[c, _ElementwiseLayer -> Nothing]")
    assert [x.head_name for _, x in net.layers()] == ["LinearLayer", "LinearLayer"]
    g = ev('NetReplace[NetGraph[<|"a" -> LinearLayer[3], "r" -> Ramp, "b" -> LinearLayer[2]|>, '
           '{"a" -> "r" -> "b"}, "Input" -> 3], Ramp -> Nothing]')
    assert names(g) == ["a", "b"] and ports(g) == (("Input",), ("Output",))
    s = netdsl.Session()
    assert s.evaluate(c + " NetReplace[c, Tanh -> Ramp] === c") is netdsl.Symbol("True")
    assert "NetReplace::norep" in capsys.readouterr().err


def test_part_is_net_extract():
    text = CHAIN
    assert ev(text + " c[[2]]").head_name == "ElementwiseLayer"
    np.testing.assert_array_equal(arr(ev(text + ' c[[1, "Biases"]]')), np.zeros(4))
    np.testing.assert_array_equal(arr(ev(text + ' c[["b", "Weights"]]')),
                                  arr(ev(text + ' NetExtract[c, {"b", "Weights"}]')))
    with pytest.raises(EvaluationError, match="no layer 9"):
        ev(text + " c[[9]]")


def test_net_graph_of_chain_and_layer():
    net = ev(CHAIN + " NetGraph[c]")
    assert net.kind == "NetGraph" and net.order == ["a", "r", "b", "s"]
    np.testing.assert_allclose(net(X), ev(CHAIN + " c")(X), rtol=1e-6)
    net = ev("NetGraph[Ramp]")
    assert net.kind == "NetGraph" and net.order == ["1"]
    net = ev('NetGraph[LinearLayer[3], "Input" -> 2]')
    assert net.ports["Input"].shape == (2,)


def test_separate_edges_into_a_multi_input_layer_keep_their_order():
    net = ev('NetGraph[<|"a" -> 2, "b" -> 3, "cat" -> CatenateLayer[]|>, '
             '{"b" -> "cat", "a" -> "cat"}, "Input" -> 1]')
    assert net.ports["Output"].shape == (5,)
    links = sorted(net.graph.edges["b", "cat"]["links"] + net.graph.edges["a", "cat"]["links"])
    assert links == [("Output", "Input1"), ("Output", "Input2")]
    assert net.graph.edges["b", "cat"]["links"] == [("Output", "Input1")]


def test_plus_and_times_shorthands():
    text = ('p = NetInitialize[NetGraph[{LinearLayer[3], LinearLayer[3], Plus, Times}, '
            '{{1, 2} -> 3, {1, 3} -> 4}, "Input" -> 2]];')
    net = ev(text + " p")
    w1, b1 = weights(text, "p[[1]]")
    w2, b2 = weights(text, "p[[2]]")
    y1, y2 = X @ w1.T + b1, X @ w2.T + b2
    np.testing.assert_allclose(net(X), y1 * (y1 + y2), rtol=1e-5, atol=1e-6)



@pytest.mark.parametrize("text, words", [
    ('NetGraph[<|"t" -> Times, "r" -> Ramp|>, {"r" -> "t"}, "Input" -> 3]',
     "ThreadingLayer[Times] takes 2 or more inputs, but 1 was connected"),
    ('NetGraph[<|"p" -> ThreadingLayer[Plus]|>, {NetPort["Input"] -> "p"}, "Input" -> 3]',
     "ThreadingLayer[Plus] takes 2 or more inputs"),
    ('NetGraph[<|"a" -> NetArrayLayer["Output" -> 3], "l" -> LinearLayer[2]|>, '
     '{NetPort["Input"] -> "a"}, "Input" -> 3]', '"a" (NetArrayLayer) has no input ports'),
    ('NetGraph[<|"l" -> LinearLayer[3], "t" -> ThreadingLayer[#1 * #2 &]|>, '
     '{"l" -> NetPort["t", "Input"]}, "Input" -> 3]', 'layer "t" has no input port "Input"'),
    ('NetGraph[<|"l" -> LinearLayer[3], "t" -> ThreadingLayer[#1 * #2 &]|>, '
     '{"l" -> NetPort["t", "Input0"]}, "Input" -> 3]', 'no input port "Input0"'),
    ('NetGraph[<|"l" -> LinearLayer[3], "c" -> CatenateLayer[]|>, {"c" -> "l", {} -> "c"}, '
     '"Input2" -> 3]', '{} -> "c" connects nothing'),
    ('NetChain[{LinearLayer[], UnitVectorLayer[], UnitVectorLayer[], SoftmaxLayer[-1]}, '
     '"Input" -> {2, 3}]', '"Output" port must be an array of rank 1 or more'),
    ('EmbeddingLayer[3, "Output" -> "Real"]', '"Output" port must be an array of rank 1'),
])
def test_edges_a_layer_cannot_take_are_errors(text, words):
    """Found by fuzzing: Plus or Times fed one input raised a raw FunctionError, an edge
    into a NetArrayLayer a raw IndexError, NetPort[layer, "Input"] on a multi-input
    layer (ports Input1, Input2, ...) or an empty list of sources a raw KeyError, a scalar
    output asked of UnitVectorLayer or EmbeddingLayer a raw IndexError."""
    with pytest.raises(netdsl.NetDSLError, match=words.replace("[", r"\[").replace("(", r"\(")
                       .replace(")", r"\)").replace("]", r"\]")):
        ev(text)

def test_muted_output_is_not_a_port_and_prints_back():
    text = ('NetGraph[{LinearLayer[3], SoftmaxLayer[]}, {1 -> 2, NetPort[2, "Output"] -> None, '
            '1 -> NetPort["x"]}, "Input" -> 2]')
    net = ev(text)
    assert ports(net) == (("Input",), ("x",))
    again = ev(net.input_form())
    assert again == net


def test_empty_graph_is_a_clean_error():
    with pytest.raises(EvaluationError, match="at least one layer"):
        ev("NetGraph[{}, {}]")


def test_replacing_catenate_by_softmax_is_a_clean_error():
    text = 'g = NetGraph[{LinearLayer[3], LinearLayer[3], CatenateLayer[]}, {{1, 2} -> 3}, "Input" -> 2];'
    with pytest.raises(EvaluationError) as info:
        ev(text + " NetReplacePart[g, 3 -> SoftmaxLayer[]]")
    assert info.value.tag == "ports" and "Input1" in str(info.value)
    # a layer with the same kind of ports works: TotalLayer for CatenateLayer
    net = ev(text + " NetReplacePart[g, 3 -> TotalLayer[]]")
    assert net.ports["Output"].shape == (3,)


def test_wrong_calls():
    with pytest.raises(EvaluationError, match="not a net"):
        ev("NetTake[5, 1]")
    with pytest.raises(EvaluationError, match="does not name a layer"):
        ev(CHAIN + ' NetTake[c, "zz"]')


def test_shared_arrays_come_along():
    text = ('s = NetInitialize[NetChain[{LinearLayer[3, "Weights" -> NetSharedArray["w"]], Ramp, '
            'LinearLayer[3, "Weights" -> NetSharedArray["w"]]}, "Input" -> 3]];')
    taken = ev(text + " NetTake[s, 1]")
    assert list(taken.shared) == ["w"]
    np.testing.assert_array_equal(taken.shared["w"], ev(text + " s").shared["w"])
    flat = ev(text + " NetFlatten[NetChain[{s, Tanh}]]")
    assert list(flat.shared) == ["w"] and flat.order == ["1/1", "1/2", "1/3", "2"]
    x = np.array([[0.1, -0.2, 0.3]])
    np.testing.assert_allclose(flat(x), np.tanh(ev(text + " s")(x)), rtol=1e-6)
    assert ev(text + " NetDrop[s, 2]").shared.keys() == {"w"}


def test_net_take_with_port_shapes():
    net = ev('NetTake[NetChain[{LinearLayer[3], Ramp}], 2, "Input" -> 5]')
    assert net.ports["Input"].shape == (5,) and net.ports["Output"].shape == (3,)
    assert net.net("1").array_shapes()["Weights"] == (3, 5)


# ---------------------------------------------------------------- NetInsert, NetDelete, NetRename
def names(net):
    return [str(k) for k in net.order]


def test_net_insert_places_a_layer_before_a_position_or_name():
    chain = 'NetChain[<|"a" -> LinearLayer[2], "b" -> Ramp|>, "Input" -> 3]'
    assert names(ev(f'NetInsert[{chain}, "t" -> Tanh, "b"]')) == ["a", "t", "b"]
    assert names(ev(f'NetInsert[{chain}, "t" -> Tanh, -1]')) == ["a", "b", "t"]
    assert names(ev(f'NetInsert[{chain}, "t" -> Tanh, 1]')) == ["t", "a", "b"]
    plain = ev('NetInsert[NetChain[{LinearLayer[2], Ramp}, "Input" -> 3], Tanh, 2]')
    assert [type(x).__name__ for _, x in plain.layers()] == \
        ["LinearLayer", "ElementwiseLayer", "ElementwiseLayer"]
    assert str(plain.net(plain.order[1]).values["Function"].source) == "Tanh"
    with pytest.raises(EvaluationError, match="no position 5: the chain has 2 layers"):
        ev(f'NetInsert[{chain}, Tanh, 5]')
    with pytest.raises(EvaluationError, match='"a" is used twice'):
        ev(f'NetInsert[{chain}, "a" -> Tanh, 1]')


def test_net_delete_removes_layers_and_their_connections():
    chain = ev('NetDelete[NetChain[{LinearLayer[2], Ramp, Tanh}, "Input" -> 3], 2]')
    assert [str(x.values["Function"].source) if "Function" in x.values else "Linear"
            for _, x in chain.layers()] == ["Linear", "Tanh"]
    graph = ev('NetDelete[NetGraph[<|"a" -> LinearLayer[2], "b" -> Ramp, "c" -> Tanh, '
               '"p" -> TotalLayer[]|>, {"a" -> "b", "a" -> "c", {"b", "c"} -> "p"}, '
               '"Input" -> 3], "c"]')
    assert names(graph) == ["a", "b", "p"]
    # "c" lay between "a" and "p" with one shape in and out: bypassed, "a" feeds "p"
    assert ports(graph) == (("Input",), ("Output",))
    edge = ev('NetDelete[NetGraph[<|"a" -> LinearLayer[2], "b" -> Ramp, "c" -> LinearLayer[4], '
              '"p" -> CatenateLayer[]|>, {"a" -> "b", NetPort["Input"] -> "c", {"b", "c"} -> '
              '"p"}, "Input" -> 3], "c"]')
    assert ports(edge) == (("Input", "Input2"), ("Output",))   # at the edge: p's free input
    last = ev('NetDelete[NetGraph[{LinearLayer[2], Ramp, Tanh}, {1 -> 2 -> 3}, "Input" -> 3], 3]')
    assert ports(last) == (("Input",), ("Output",)) and len(last.order) == 2
    with pytest.raises(EvaluationError, match="every layer"):
        ev("NetDelete[NetChain[{Ramp}], 1]")


def test_net_delete_bypasses_an_interior_layer_of_one_shape():
    """Wolfram: an interior layer can be deleted when its input and output have one size;
    its readers then take its input (a -> r -> b without r is a -> b)."""
    g = ('NetInitialize[NetGraph[<|"a" -> LinearLayer[3], "r" -> Ramp, "b" -> LinearLayer[2]|>, '
         '{"a" -> "r" -> "b"}, "Input" -> 3], RandomSeeding -> 2]')
    net = ev(g)
    out = ev(f'NetDelete[{g}, "r"]')
    assert names(out) == ["a", "b"] and ports(out) == (("Input",), ("Output",))
    x = np.float32([[1, -2, 3]])
    a, b = net.net("a"), net.net("b")
    want = (x @ a.arrays["Weights"].T + a.arrays["Biases"]) @ b.arrays["Weights"].T \
        + b.arrays["Biases"]
    np.testing.assert_allclose(out(x), want, rtol=1e-5)
    with pytest.raises(EvaluationError, match="one input and one output of the same shape"):
        ev('NetDelete[NetGraph[<|"a" -> LinearLayer[3], "l" -> LinearLayer[4], '
           '"b" -> LinearLayer[2]|>, {"a" -> "l" -> "b"}, "Input" -> 3], "l"]')


def test_net_rename_renames_layers_and_keeps_the_wiring():
    net = ev('NetInitialize[NetGraph[{LinearLayer[2], Ramp}, {1 -> 2}, "Input" -> 3], '
             'RandomSeeding -> 1]')
    renamed = ev(f'NetRename[{net.input_form()}, {{1 -> "lin", 2 -> "r"}}]')
    assert names(renamed) == ["lin", "r"]
    x = np.float32([[1, 2, 3]])
    np.testing.assert_array_equal(renamed(x), net(x))
    assert names(ev('NetRename[NetChain[{LinearLayer[2], Ramp}], 2 -> "relu"]')) == ["1", "relu"]
    with pytest.raises(EvaluationError, match='"b" is used twice'):
        ev('NetRename[NetChain[<|"a" -> LinearLayer[2], "b" -> Ramp|>], "a" -> "b"]')
    with pytest.raises(EvaluationError, match="does not name a layer"):
        ev('NetRename[NetChain[<|"a" -> LinearLayer[2]|>], "z" -> "b"]')


def test_net_rename_by_function_and_ports_and_net_delete_of_an_output():
    """Wolfram's NetRename page: a renaming function, NetPort["old"] -> NetPort["new"];
    NetDelete's: NetDelete[graph, NetPort["name"]] deletes an output port."""
    g = ('NetGraph[<|"a" -> LinearLayer[3], "b" -> Ramp|>, {"a" -> "b", "a" -> NetPort["o2"]}, '
         '"Input" -> 2]')
    assert names(ev(f"NetRename[{g}, ToUpperCase]")) == ["A", "B"]
    assert names(ev(f'NetRename[{g}, "l" <> # &]')) == ["la", "lb"]
    renamed = ev(f'NetRename[{g}, NetPort["Input"] -> NetPort["x"]]')
    assert ports(renamed) == (("x",), ("o2", "Output"))
    chain = ev('NetRename[NetChain[{LinearLayer[3]}, "Input" -> 2], NetPort["Output"] -> '
               'NetPort["y"]]')
    assert ports(chain) == (("Input",), ("y",)) and chain.kind == "NetGraph"
    assert ports(ev(f'NetDelete[{g}, NetPort["o2"]]')) == (("Input",), ("Output",))
    with pytest.raises(EvaluationError, match='no output port "zz"'):
        ev(f'NetDelete[{g}, NetPort["zz"]]')
    with pytest.raises(EvaluationError, match='no port "Foo"'):
        ev(f'NetRename[{g}, NetPort["Foo"] -> NetPort["x"]]')


def test_net_drop_with_port_rules():
    """NetDrop's page: NetDrop[net, spec, "port" -> spec] gives the result's ports."""
    net = ev('NetDrop[NetChain[{LinearLayer[2], SoftmaxLayer[], Ramp}, "Input" -> 3], -1, '
             '"Output" -> NetDecoder[{"Class", {"a", "b"}}]]')
    assert len(net.order) == 2 and net.ports["Output"].coder.labels == ("a", "b")
