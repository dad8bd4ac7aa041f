"""NetChain and NetGraph: forms, shorthands, wiring, the networkx graph inside, and errors."""

from __future__ import annotations

import networkx as nx
import pytest

import netdsl
from netdsl import EvaluationError, ShapeError
from netdsl.graph.container import LINKS, NET, Container, PortNode
from netdsl.layers.base import Layer


def ev(text: str):
    return netdsl.evaluate(text)


def kinds(net: Container) -> list[str]:
    return [layer.head_name for _, layer in net.layers()]


def shape(net, port: str = "Output"):
    return net.ports[port].shape


# ---------------------------------------------------------------- NetChain forms
def test_chain_from_a_list():
    net = ev('NetChain[{LinearLayer[10], Ramp, LinearLayer[3], SoftmaxLayer[]}, "Input" -> 5]')
    assert net.kind == "NetChain" and net.order == ["1", "2", "3", "4"] and not net.named
    assert kinds(net) == ["LinearLayer", "ElementwiseLayer", "LinearLayer", "SoftmaxLayer"]
    assert shape(net, "Input") == (5,) and shape(net) == (3,)
    assert net.port_names() == (("Input",), ("Output",))


def test_chain_from_an_association():
    net = ev('NetChain[<|"conv" -> ConvolutionLayer[8, {3, 3}], "bn" -> BatchNormalizationLayer[],'
             ' "relu" -> Ramp|>, "Input" -> {3, 16, 16}]')
    assert net.named and net.order == ["conv", "bn", "relu"]
    assert shape(net) == (8, 16 - 2, 16 - 2)
    assert net.net("bn").values["Channels"] == 8


def test_chain_input_output_options():
    assert shape(ev('NetChain[{Tanh}, "Input" -> "Real"]')) == ()
    assert shape(ev('NetChain[{Tanh}, "Input" -> {2, 3}]')) == (2, 3)
    assert shape(ev('NetChain[{Tanh}, "Output" -> 7]'), "Input") == (7,)
    net = ev('NetChain[{LinearLayer[]}, "Input" -> 4, "Output" -> {2, 5}]')
    assert net.net("1").array_shapes()["Weights"] == (2 * 5, 4)
    with pytest.raises(EvaluationError, match='NetChain::noport: The chain has no port named '
                                              '"Foo"'):
        ev('NetChain[{LinearLayer[3]}, "Foo" -> 3]')
    with pytest.raises(EvaluationError, match="NetChain::invspec"):
        ev('NetChain[{LinearLayer[3]}, "Input" -> {2, 0}]')


def test_chain_shorthands():
    net = ev('NetChain[{5, Ramp, {3, Tanh}, LogisticSigmoid}, "Input" -> 2]')
    assert kinds(net) == ["LinearLayer", "ElementwiseLayer", "NetChain", "ElementwiseLayer"]
    assert net.net("1").values["OutputDimensions"] == (5,)
    inner = net.net("3")
    assert isinstance(inner, Container) and kinds(inner) == ["LinearLayer", "ElementwiseLayer"]
    assert shape(inner, "Input") == (5,) and shape(net) == (3,)
    fns = [layer.values["Function"].source.name for _, layer in net.layers()
           if layer.head_name == "ElementwiseLayer"]
    assert fns == ["Ramp", "LogisticSigmoid"]
    # the shorthand and the layer written out are equal
    assert ev('NetChain[{5, Ramp}, "Input" -> 2]') == \
        ev('NetChain[{LinearLayer[5], ElementwiseLayer[Ramp]}, "Input" -> 2]')


def test_nested_chains():
    net = ev('NetChain[{NetChain[<|"a" -> LinearLayer[4], "b" -> Ramp|>], '
             '{LinearLayer[2], SoftmaxLayer[]}}, "Input" -> 3]')
    assert shape(net.net("1"), "Input") == (3,) and shape(net.net("1")) == (4,)
    assert shape(net.net("2"), "Input") == (4,) and shape(net) == (2,)
    assert [p for p, _ in net.leaves()] == [("1", "a"), ("1", "b"), ("2", "1"), ("2", "2")]


@pytest.mark.parametrize("text, tag, words", [
    ("NetChain[{}]", "empty", "at least one layer"),
    ("NetChain[{LinearLayer[3], Foo}]", "notnet", "the element at position 2, Foo,"),
    ("NetChain[{LinearLayer[3], LinearLayer}]", "notnet", "write LinearLayer[...]"),
    ('NetChain[<|"a" -> LinearLayer[3], "b" -> 0|>]', "notnet", 'the layer "b"'),
    ("NetChain[{LinearLayer[3], MeanSquaredLossLayer[]}]", "notsingle",
     "layer 2 (MeanSquaredLossLayer) has 2 input ports"),
    ("NetChain[LinearLayer[3]]", "arg1", "must be a list or an association"),
])
def test_chain_errors(text, tag, words):
    with pytest.raises(EvaluationError) as info:
        ev(text)
    assert info.value.message.startswith(f"NetChain::{tag}: ")
    assert words in info.value.text


# ---------------------------------------------------------------- the graph inside
def test_a_chain_is_a_networkx_digraph_of_layers_and_port_links():
    net = ev('NetChain[<|"lin" -> LinearLayer[4], "act" -> Tanh|>, "Input" -> 3]')
    g = net.graph
    assert isinstance(g, nx.DiGraph)
    inp, out = PortNode("in", "Input"), PortNode("out", "Output")
    assert set(g.nodes) == {"lin", "act", inp, out}
    assert isinstance(g.nodes["lin"][NET], Layer) and g.nodes["lin"][NET].head_name == "LinearLayer"
    assert g.nodes["act"][NET].head_name == "ElementwiseLayer"
    assert {(u, v): g.edges[u, v][LINKS] for u, v in g.edges} == {
        (inp, "lin"): [("Input", "Input")],
        ("lin", "act"): [("Output", "Input")],
        ("act", out): [("Output", "Output")],
    }
    assert nx.is_directed_acyclic_graph(g)


def test_a_graph_is_a_networkx_digraph_with_multi_port_links():
    net = ev('NetGraph[{LinearLayer[3], LinearLayer[3], TotalLayer[]}, {{1, 2} -> 3}, '
             '"Input" -> 2]')
    g = net.graph
    assert isinstance(g, nx.DiGraph)
    assert g.edges["1", "3"][LINKS] == [("Output", "Input1")]
    assert g.edges["2", "3"][LINKS] == [("Output", "Input2")]
    inp = PortNode("in", "Input")                     # one graph input feeds both layers
    assert set(g.successors(inp)) == {"1", "2"}
    assert g.edges["3", PortNode("out", "Output")][LINKS] == [("Output", "Output")]
    assert g.nodes["3"][NET].port_names()[0] == ("Input1", "Input2")


def test_a_container_value_never_changes():
    s = netdsl.Session()
    s.evaluate('a = NetChain[{LinearLayer[]}, "Input" -> 3];')
    before = set(s["a"].graph.nodes)
    s.evaluate('b = NetReplacePart[a, "Input" -> 5];')
    assert shape(s["a"], "Input") == (3,) and shape(s["b"], "Input") == (5,)
    assert set(s["a"].graph.nodes) == before and s["a"].graph is not s["b"].graph


# ---------------------------------------------------------------- NetGraph forms
def test_graph_with_numbered_layers_and_fan_in():
    net = ev('NetGraph[{LinearLayer[3], Ramp, TotalLayer[]}, {1 -> 2, {1, 2} -> 3}, '
             '"Input" -> 5]')
    assert shape(net) == (3,)
    assert net.port_names() == (("Input",), ("Output",))
    assert net.graph.edges["1", "3"][LINKS] == [("Output", "Input1")]
    assert net.graph.edges["2", "3"][LINKS] == [("Output", "Input2")]


def test_graph_with_named_inputs_and_outputs():
    net = ev('NetGraph[<|"a" -> LinearLayer[3], "b" -> LinearLayer[3], "t" -> TotalLayer[], '
             '"p" -> SoftmaxLayer[]|>, {NetPort["x"] -> "a", NetPort["y"] -> "b", '
             '{"a", "b"} -> "t" -> "p", "p" -> NetPort["probs"], '
             'NetPort["t", "Output"] -> NetPort["sum"]}, "x" -> 2, "y" -> 4]')
    assert net.port_names() == (("x", "y"), ("probs", "sum"))
    assert shape(net, "x") == (2,) and shape(net, "y") == (4,)
    assert shape(net, "probs") == (3,) and shape(net, "sum") == (3,)
    assert net.net("a").array_shapes()["Weights"] == (3, 2)
    assert net.net("b").array_shapes()["Weights"] == (3, 4)


def test_graph_layer_ports_with_netport():
    net = ev('NetGraph[{LinearLayer[3], SoftmaxLayer[], CrossEntropyLossLayer["Index"]}, '
             '{1 -> 2 -> NetPort[3, "Input"], NetPort[2, "Output"] -> NetPort["Probs"]}, '
             '"Input" -> 4]')
    assert net.port_names() == (("Input", "Target"), ("Probs", "Loss"))
    t = net.ports["Target"]
    assert t.integer and t.classes == 3 and shape(net, "Loss") == ()


def test_graph_unconnected_outputs_are_numbered_and_fused_inputs():
    net = ev("NetGraph[{LinearLayer[3], LinearLayer[4]}, {}]")
    assert net.port_names() == (("Input",), ("Output1", "Output2"))
    assert shape(net, "Output1") == (3,) and shape(net, "Output2") == (4,)


def test_graph_accepts_chain_shorthands():
    net = ev('NetGraph[{5, Ramp, {3, Tanh}}, {1 -> 2 -> 3}, "Input" -> 2]')
    assert kinds(net) == ["LinearLayer", "ElementwiseLayer", "NetChain"]
    assert shape(net) == (3,)


def test_graph_multi_input_layer_wired_by_netport():
    a = ev('NetGraph[{LinearLayer[3], TotalLayer[]}, {1 -> NetPort[2, "Input1"], '
           'NetPort["Input"] -> NetPort[2, "Input2"]}, "Input" -> 3]')
    b = ev('NetGraph[{LinearLayer[3], TotalLayer[]}, {{1, NetPort["Input"]} -> 2}, '
           '"Input" -> 3]')
    assert shape(a) == shape(b) == (3,)
    assert a.net("2") == b.net("2")              # the input count is fixed either way


@pytest.mark.parametrize("text, tag, words", [
    # cycles
    ("NetGraph[{LinearLayer[4], Ramp}, {1 -> 2, 2 -> 1}]", "cyc",
     "The graph contains a cycle: 1 -> 2 -> 1."),
    ("NetGraph[{LinearLayer[4]}, {1 -> 1}]", "cyc", "cycle: 1 -> 1."),
    ('NetGraph[<|"a" -> Ramp, "b" -> Tanh|>, {"a" -> "b" -> "a"}]', "cyc",
     'cycle: "a" -> "b" -> "a"'),
    # unknown layers
    ("NetGraph[{LinearLayer[3]}, {5 -> 1}]", "nolayer", "There is no layer 5"),
    ('NetGraph[<|"a" -> LinearLayer[3]|>, {"b" -> "a"}]', "nolayer",
     'There is no layer named "b"; the layers are a.'),
    ("NetGraph[{LinearLayer[3]}, {1 -> 2 -> 3}]", "nolayer", "There is no layer 2"),
    # ports that do not exist, dangling or doubly fed
    ('NetGraph[{LinearLayer[3]}, {NetPort[1, "Foo"] -> NetPort["out"]}]', "noport",
     'layer 1 has no output port "Foo"'),
    ('NetGraph[{LinearLayer[3]}, {NetPort["x"] -> NetPort[1, "Foo"]}]', "noport",
     'layer 1 has no input port "Foo"; its inputs are Input.'),
    ('NetGraph[{LinearLayer[3]}, {1 -> NetPort["out"]}, "Foo" -> 3]', "noport",
     'The graph has no port named "Foo"'),
    ('NetGraph[{LinearLayer[3]}, {NetPort["x"] -> 1, NetPort["y"] -> 1}]', "dupin",
     'The input "Input" of layer 1 is connected twice.'),
    ('NetGraph[{LinearLayer[3], LinearLayer[3]}, {1 -> NetPort["a"], 2 -> NetPort["a"]}]',
     "dupin", 'The output "a" of the graph is connected twice.'),
    ('NetGraph[{LinearLayer[3]}, {NetPort["Input"] -> 1, 1 -> NetPort["Input"]}]', "dupport",
     'an input and an output both named "Input"'),
    # ambiguous ports
    # (1 -> 3, 2 -> 3 into a TotalLayer is Wolfram's separate-edge form: test_net_surgery.py)
    # (one edge into a loss layer feeds its "Input": test_one_edge_into_a_loss_layer)
    ('NetGraph[{LinearLayer[{3, 4}], AttentionLayer[]}, {1 -> 2}, "Input" -> 2]', "ambig",
     'layer 2 (AttentionLayer) has 3 input ports (Key, Value, Query); say which one with '
     'NetPort[2, "Key"].'),
    # not connections
    ('NetGraph[{LinearLayer[3]}, "oops"]', "badedge", "is not a connection"),
    ("NetGraph[{LinearLayer[3]}, {{1, 1} -> NetPort[\"o\"]}]", "badedge",
     'Several sources cannot feed the graph output "o"'),
])
def test_graph_errors(text, tag, words):
    with pytest.raises(EvaluationError) as info:
        ev(text)
    assert info.value.message.startswith(f"NetGraph::{tag}: ")
    assert words in info.value.text


def test_one_edge_into_a_loss_layer_feeds_its_input():
    """Wolfram's "out" -> "crossentropy" in real code: the Target becomes a graph input."""
    g = ev("NetGraph[{LinearLayer[3], MeanSquaredLossLayer[]}, {1 -> 2}]")
    assert g.port_names() == (("Input", "Target"), ("Loss",))
    assert g.ports["Target"].shape == (3,)


def test_graph_shape_clash_names_both_ends():
    with pytest.raises(ShapeError) as info:
        ev('NetGraph[{LinearLayer[3], LinearLayer[4], TotalLayer[]}, {{1, 2} -> 3}, '
           '"Input" -> 2]')
    assert info.value.message == (
        'NetGraph::tyinc: Dimension of "Input1" port of layer 3 (TotalLayer, vector of size 3) '
        'is inconsistent with dimension of "Input2" port of layer 3 (vector of size 4).')


def test_normal_of_a_chain_is_its_layers():
    """Wolfram: Normal[NetChain[...]] returns the list (or association) of its layers."""
    s = netdsl.Session()
    layers = s.evaluate('Normal[NetChain[{LinearLayer[3], Ramp}, "Input" -> 2]]')
    assert [type(x).__name__ for x in layers.args] == ["LinearLayer", "ElementwiseLayer"]
    assert layers.args[0].ports["Input"].shape == (2,)
    named = s.evaluate('Normal[NetChain[<|"a" -> LinearLayer[3], "b" -> Ramp|>]]')
    assert list(named.keys()) == ["a", "b"]
    assert s.evaluate('n = NetInitialize@NetChain[{LinearLayer[3], Ramp}, "Input" -> 2]; '
                      "NetChain[Normal[n]][{1, 2}] == n[{1, 2}]") is netdsl.Symbol("True")
    graph = s.evaluate("NetGraph[{LinearLayer[3], Ramp}, {1 -> 2}]")
    assert s.evaluate("Normal[NetGraph[{LinearLayer[3], Ramp}, {1 -> 2}]]") == graph
