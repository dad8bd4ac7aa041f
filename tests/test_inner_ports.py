"""net[x, NetPort[{layer, "port"}]]: values inside a net (Wolfram's NetPort page, Scope:
the first layer's output, several layers' outputs, all of them), written out by hand."""

from __future__ import annotations

import io

import pytest

import netdsl
from netdsl.check import check_text
from netdsl.errors import NetDSLError
from values import py, run

CHAIN = ('c = NetChain[{LinearLayer[3, "Weights" -> {{1, 0}, {0, 1}, {1, 1}}, '
         '"Biases" -> {0, 0, 0}], Ramp}, "Input" -> 2];')


@pytest.mark.parametrize("spec", ['NetPort[{1, "Output"}]', 'NetPort[1, "Output"]',
                                  'NetPort[{-2, "Output"}]'])
def test_one_layer_output(spec):
    assert py(run(CHAIN + f" c[{{1, -2}}, {spec}]")) == [1.0, -2.0, -1.0]


def test_a_batch_and_several_ports_and_all():
    assert py(run(CHAIN + ' c[{{1, -2}, {3, 4}}, NetPort[{1, "Output"}]]')) == \
        [[1.0, -2.0, -1.0], [3.0, 4.0, 7.0]]
    both = run(CHAIN + ' c[{1, -2}, {NetPort[{1, "Output"}], NetPort[{2, "Output"}]}]')
    assert [py(v) for v in both.values()] == [[1.0, -2.0, -1.0], [1.0, 0.0, 0.0]]
    every = run(CHAIN + " c[{1, -2}, NetPort[All]]")
    assert [netdsl.input_form(k) for k in every.keys()] == \
        ['NetPort[{1, "Output"}]', 'NetPort[{2, "Output"}]']
    assert py(every.values()[1]) == [1.0, 0.0, 0.0]


def test_graph_layers_by_name_and_train_mode():
    g = run('g = NetGraph[<|"a" -> LinearLayer[2, "Weights" -> {{2, 0}, {0, 2}}, "Biases" -> '
            '{1, 1}], "d" -> DropoutLayer[0.5], "r" -> Ramp|>, {"a" -> "d" -> "r"}, '
            '"Input" -> 2]; g')
    s = netdsl.Session()
    s["g"] = g
    assert py(s.evaluate('g[{1, -3}, NetPort["a", "Output"]]')) == [3.0, -5.0]
    train = py(s.evaluate('g[{1, -3}, NetPort["d", "Output"], NetEvaluationMode -> "Train", '
                          'RandomSeeding -> 3]'))
    assert all(v in (0.0, 6.0, -10.0) for v in train)     # dropped, or scaled by 1/(1 - p)


def test_errors_name_the_layer_or_port():
    with pytest.raises(NetDSLError, match="no layer 5"):
        run(CHAIN + ' c[{1, -2}, NetPort[{5, "Output"}]]')
    with pytest.raises(NetDSLError, match='no output port "Foo"'):
        run(CHAIN + ' c[{1, -2}, NetPort[{1, "Foo"}]]')


def test_check_gives_the_inner_ports_dimensions():
    out, err = io.StringIO(), io.StringIO()
    src = CHAIN + '\ny = c[RandomReal[1, {7, 2}], NetPort[{1, "Output"}]]\n'
    assert check_text(src, "t.wl", out, err) == 0, err.getvalue()
    assert "t.wl:2: y = output of dimensions {7, 3}" in out.getvalue().splitlines()
