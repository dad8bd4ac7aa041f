"""NetReplace with Wolfram's pattern forms: _DropoutLayer -> new, x_LinearLayer :> new
(the matched layer bound to x), conditions (lhs /; cond and :> new /; cond),
alternatives; plain layers and layer-type symbols as before."""

from __future__ import annotations

import pytest

from netdsl import Session

NET = ('n = NetChain[<|"a" -> LinearLayer[4], "d" -> DropoutLayer[0.3], "b" -> LinearLayer[2], '
       '"e" -> Ramp|>, "Input" -> 3];')


@pytest.fixture
def s():
    session = Session()
    session.evaluate(NET)
    return session


def kinds(s, text):
    """The layer type of each layer of the net ``text`` gives (containers by their kind)."""
    net = s.evaluate(text)
    return [layer.head_name for _, layer in net.layers()]


def test_blank_with_a_layer_type(s):
    assert kinds(s, "NetReplace[n, _DropoutLayer -> Tanh]") == [
        "LinearLayer", "ElementwiseLayer", "LinearLayer", "ElementwiseLayer"]


def test_named_pattern_binds_the_layer(s):
    net = s.evaluate("NetReplace[n, x_LinearLayer :> NetChain[{x, Tanh}]]")
    a = net.net("a")
    assert a.head_name == "NetChain"
    assert a.net(a.order[0]) == s.evaluate('n[["a"]]')
    assert net.ports["Output"].shape == (2,)


def test_condition_on_the_left(s):
    got = kinds(s, 'NetReplace[n, x_LinearLayer /; Information[x, "ArraysTotalElementCount"] '
                   '== 10 :> NetChain[{x}]]')
    assert got == ["LinearLayer", "DropoutLayer", "NetChain", "ElementwiseLayer"]


def test_condition_on_the_right(s):
    got = kinds(s, 'NetReplace[n, x_LinearLayer :> NetChain[{x}] /; '
                   'Information[x, "ArraysTotalElementCount"] == 16]')
    assert got == ["NetChain", "DropoutLayer", "LinearLayer", "ElementwiseLayer"]


def test_alternatives_and_a_list_of_rules(s):
    got = kinds(s, "NetReplace[n, {_DropoutLayer | _ElementwiseLayer -> SoftmaxLayer[], "
                   "_LinearLayer -> LinearLayer[]}]")
    assert got == ["LinearLayer", "SoftmaxLayer", "LinearLayer", "SoftmaxLayer"]


def test_no_match_leaves_the_net(s):
    assert s.evaluate("NetReplace[n, _ConvolutionLayer -> Tanh]") == s.evaluate("n")


def test_layer_type_symbol_and_layer_value_still_work(s):
    assert kinds(s, "NetReplace[n, DropoutLayer -> Tanh]")[1] == "ElementwiseLayer"
    net = s.evaluate("NetReplace[n, Ramp -> Tanh]")
    assert "Tanh" in net.net("e").input_form() and "Ramp" not in net.input_form()
