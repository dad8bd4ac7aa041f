"""NetFoldOperator[net, feedback, constants, outputs]: Wolfram's general forms (several
mapped inputs, named feedback pairs, constant inputs, chosen outputs). Values against an
explicit float64 loop written out here, gradients (arrays, mapped inputs, constants,
initial states) against float64 finite differences, shapes, text round trip, state ports
in a NetGraph, and errors."""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdsl
from netdsl.check import check_text
from netdsl.errors import NetDSLError
from tests.layer_harness import plan_input_gradients
from tests.test_gradients_net import Harness, assert_close

# h' = Tanh[W.{x, h, c} + b], y = V.h' + v: mapped x, state h (fed by "hnext"), constant c
INNER = ('NetGraph[<|"cat" -> CatenateLayer[], "lin" -> LinearLayer[2], "act" -> Tanh, '
         '"out" -> LinearLayer[1]|>, {{NetPort["x"], NetPort["h"], NetPort["c"]} -> "cat", '
         '"cat" -> "lin" -> "act", "act" -> NetPort["hnext"], "act" -> "out" -> NetPort["y"]}, '
         '"x" -> 3, "c" -> 2]')
FOLD = f'NetFoldOperator[{INNER}, {{"hnext" -> "h"}}, {{"c"}}, {{"y"}}]'


def ev(text: str):
    return netdsl.Session().evaluate(text)


def loop(inner, xs, c, h0):
    """The fold written out in float64: the sequence of y and the final h."""
    lin = {k: np.asarray(v, np.float64) for k, v in inner.net("lin").arrays.items()}
    out = {k: np.asarray(v, np.float64) for k, v in inner.net("out").arrays.items()}
    h, ys = np.asarray(h0, np.float64), []
    for x in xs:
        h = np.tanh(lin["Weights"] @ np.concatenate([x, h, c]) + lin["Biases"])
        ys.append(out["Weights"] @ h + out["Biases"])
    return np.stack(ys), h


def test_ports_follow_the_feedback_constants_and_outputs():
    f = ev(FOLD)
    assert f.port_names() == (("x", "c"), ("y",))
    assert f.ports["x"].spec().args[1:] == (3,)     # {"Varying", 3}
    assert f.ports["c"].shape == (2,)
    assert f.ports["y"].shape[1:] == (1,)
    assert f.net("Net").ports["h"].shape == (2,)     # from the feedback "hnext" -> "h"
    shown = f.with_optional_ports(("h",), ("h",))
    assert shown.port_names() == (("x", "c", "h"), ("y", "h"))
    # default outputs: every output of the inner net
    both = ev(f'NetFoldOperator[{INNER}, {{"hnext" -> "h"}}, {{"c"}}]')
    assert set(both.port_names()[1]) == {"hnext", "y"}
    # the one-argument form is the {"Output" -> "State"} form
    plain = ('NetGraph[{TotalLayer[]}, {{NetPort["Input"], NetPort["State"]} -> 1}, '
             '"Input" -> 2]')
    assert ev(f'NetFoldOperator[{plain}]') == ev(f'NetFoldOperator[{plain}, '
                                                 '{"Output" -> "State"}]')


def test_values_equal_the_loop_for_ragged_batches():
    s = netdsl.Session()
    f = s.evaluate(f"f = NetInitialize[{FOLD}, RandomSeeding -> 3]")
    rng = np.random.default_rng(0)
    c = np.array([0.4, -0.9], np.float32)
    for n in (1, 4, 6):
        xs = rng.standard_normal((n, 3)).astype(np.float32)
        ys, _ = loop(f.net("Net"), xs, c, [0, 0])
        np.testing.assert_allclose(f({"x": xs, "c": c}), ys, rtol=1e-5, atol=1e-6)
    # a batch of different lengths: each example as alone
    xs = [rng.standard_normal((n, 3)).astype(np.float32) for n in (5, 2, 5)]
    cs = rng.standard_normal((3, 2)).astype(np.float32)
    got = f({"x": xs, "c": cs})
    for x, cc, y in zip(xs, cs, got):
        np.testing.assert_allclose(y, loop(f.net("Net"), x, cc, [0, 0])[0], rtol=1e-5,
                                   atol=1e-6)


def test_initial_and_final_state_through_a_graph():
    s = netdsl.Session()
    g = s.evaluate(f'g = NetInitialize[NetGraph[<|"fold" -> {FOLD}|>, '
                   '{NetPort["h0"] -> NetPort["fold", "h"], '
                   'NetPort[{"fold", "h"}] -> NetPort["hT"]}, "h0" -> 2], RandomSeeding -> 1]')
    rng = np.random.default_rng(2)
    xs = rng.standard_normal((4, 3)).astype(np.float32)
    c, h0 = np.array([1.0, -0.5]), np.array([0.3, 0.2])
    out = g({"x": xs, "c": c, "h0": h0})
    ys, last = loop(g.net("fold").net("Net"), xs, c, h0)
    np.testing.assert_allclose(out["y"], ys, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["hT"], last, rtol=1e-5, atol=1e-6)


def test_two_mapped_inputs_share_one_length():
    inner = ('NetGraph[{TotalLayer[]}, {{NetPort["a"], NetPort["b"], NetPort["State"]} -> 1}, '
             '"a" -> 2]')
    f = ev(f"NetFoldOperator[{inner}]")
    assert f.port_names() == (("a", "b"), ("Output",))
    a = np.arange(6, dtype=np.float32).reshape(3, 2)
    b = np.ones((3, 2), np.float32)
    np.testing.assert_allclose(f({"a": a, "b": b}), np.cumsum(a + b, axis=0))
    with pytest.raises(NetDSLError) as e:
        ev(f'NetFoldOperator[{inner}, "a" -> {{3, 2}}, "b" -> {{4, 2}}]')
    assert e.value.tag == "valfail"
    assert 'the "a" port is a sequence of length 3 and the "b" port of length 4' in e.value.text


def test_text_round_trip_and_check():
    net = ev(f"NetInitialize[{FOLD}]")
    assert '{"hnext" -> "h"}, {"c"}, {"y"}' in net.input_form()
    assert ev(net.input_form()).input_form() == net.input_form()
    out, err = io.StringIO(), io.StringIO()
    rc = check_text(f'f = NetFoldOperator[{INNER}, {{"hnext" -> "h"}}, {{"c"}}, {{"y"}}, '
                    '"x" -> {5, 3}];\ny = NetInitialize[f][<|"x" -> RandomReal[1, {5, 3}], '
                    '"c" -> {1., 2.}|>];', "f.wl", out, err)
    assert rc == 0, err.getvalue()
    assert "y = output of dimensions {5, 1}" in out.getvalue(), out.getvalue()
    rc = check_text(f'f = NetFoldOperator[{INNER}, {{"hnext" -> "h"}}, {{"c"}}, {{"y"}}, '
                    '"x" -> {5, 3}];\nNetInitialize[f][<|"x" -> RandomReal[1, {5, 4}], '
                    '"c" -> {1., 2.}|>];', "f.wl", out, err)
    assert rc != 0 and "f.wl:2:" in err.getvalue(), err.getvalue()


# ---------------------------------------------------------------- backward
def test_array_gradients_match_finite_differences():
    rng = np.random.default_rng(4)
    hz = Harness(f'NetChain[{{{FOLD}, SequenceLastLayer[]}}, "x" -> {{4, 3}}]',
                 {"x": rng.standard_normal((3, 4, 3)), "c": rng.standard_normal((3, 2)),
                  "Output": rng.standard_normal((3, 1))})
    loss, grad = hz.loss_and_grad()
    assert loss == pytest.approx(hz.loss(), rel=1e-10)
    assert_close(grad, hz.numeric_grad())


def test_input_gradients_of_mapped_constant_and_state_inputs():
    net = ev(f'NetInitialize[{FOLD}, RandomSeeding -> 5]').with_optional_ports(("h",), ("h",))
    rng = np.random.default_rng(6)
    feed = {"x": rng.standard_normal((4, 3, 2)), "c": rng.standard_normal((2, 2)),
            "h": rng.standard_normal((2, 2))}      # batch-last, float64
    seeds = {"y": rng.standard_normal((4, 1, 2)), "h": rng.standard_normal((2, 2))}
    for analytic, numeric in plan_input_gradients(net, feed, seeds).values():
        assert_close(analytic, numeric, tol=1e-5)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("args, tag, words", [
    ('{"hnext" -> "h"}, {"h"}', "invfb", "cannot also be a constant"),
    ('{"hnext" -> "h", "y" -> "h"}', "invfb", "fed back once"),
    ('{"hnext" -> "h"}, {"c"}, {"zz"}', "invports", '"zz" is not one of the output ports'),
    ('{"hnext" -> "h"}, {"q"}', "invports", '"q" is not one of the input ports'),
    ('{"hnext" -> "h"}, 5', "invarg", "should be a list of port names"),
    ('{"hnext" -> "h"}, {"c"}, {}', "invarg", "at least one output"),
    ('{"hnext" -> "h"}, {"c"}, {"y", "y"}', "invarg", "name a port twice"),
    ('{"hnext" -> "h"}, {"c", "c"}', "invarg", "name a port twice"),
    ('{"hnext" -> "h"}, {"c"}, {"y"}, {}', "argx", "NetFoldOperator[net, feedback, constants, outputs]"),
])
def test_argument_errors(args, tag, words):
    with pytest.raises(NetDSLError) as e:
        ev(f"NetFoldOperator[{INNER}, {args}]")
    assert e.value.tag == tag, e.value.text
    assert words in e.value.text

