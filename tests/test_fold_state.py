"""NetFoldOperator's recurrent state "State" (Wolfram's: the initial state an optional
input, zeros when not given; the final state, the last Output, an optional output):
values against an explicit per-step loop, gradients against float64 finite
differences, NetGraph edges, ragged batches, shapes, `netdsl check`, Information and
NetPort[All, "States"]; and the moving statistics of a BatchNormalization inside a fold
after NetTrain against the per-step formula."""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdsl
from netdsl.check import check_text
from netdsl.errors import NetDSLError, ShapeError
from netdsl.expr import input_form
from netdsl.runtime.context import Ctx
from netdsl.runtime.gradients import backward
from netdsl.runtime.plan import compile_plan
from tests.test_gradients_net import assert_close

FOLD_NET = ('NetGraph[<|"cat" -> CatenateLayer[], "lin" -> LinearLayer[2], "act" -> Tanh|>, '
            '{{NetPort["Input"], NetPort["State"]} -> "cat" -> "lin" -> "act"}]')
FOLD = f'NetInitialize@NetFoldOperator[{FOLD_NET}, "Input" -> {{"Varying", 3}}]'
GRAPH = (f'g = NetInitialize@NetGraph[<|"init" -> LinearLayer[2], '
         f'"fold" -> NetFoldOperator[{FOLD_NET}]|>, '
         '{NetPort["s0"] -> "init" -> NetPort["fold", "State"], '
         'NetPort[{"fold", "State"}] -> NetPort["final"]}, "s0" -> 4, '
         '"Input" -> {"Varying", 3}];')


def loop(inner, x, s0):
    """The fold written out: the state through the inner net step by step (float64)."""
    arrays = {k: np.asarray(v, np.float64) for k, v in inner.net("lin").arrays.items()}
    state, states = np.asarray(s0, np.float64), []
    for e in x:
        state = np.tanh(arrays["Weights"] @ np.concatenate([e, state]) + arrays["Biases"])
        states.append(state)
    return np.stack(states), state


def test_the_state_ports_are_shown_only_when_used():
    f = netdsl.evaluate(FOLD)
    assert f.port_names() == (("Input",), ("Output",))
    shown = f.with_optional_ports(("State",), ("State",))
    assert shown.port_names() == (("Input", "State"), ("Output", "State"))
    assert shown.ports["State"].shape == (2,)
    assert shown.reset().port_names() == shown.port_names()
    assert f.with_optional_ports(("Nope",)) is f


def test_initial_and_final_state_equal_the_loop():
    f = netdsl.evaluate(FOLD)
    rng = np.random.default_rng(0)
    x, s0 = rng.standard_normal((5, 3)), np.array([0.7, -1.2])
    ys, last = loop(f.net("Net"), x, s0)
    np.testing.assert_allclose(f({"Input": x, "State": s0}), ys, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(f(x, port="State"), loop(f.net("Net"), x, [0, 0])[1],
                               rtol=1e-5, atol=1e-6)       # zeros when not given
    s = netdsl.Session()
    s["f"], s["x"], s["s0"] = f, x, s0
    final = s.evaluate('f[<|"Input" -> x, "State" -> s0|>, NetPort["State"]]')
    np.testing.assert_allclose(np.asarray(final, np.float64), last, rtol=1e-5, atol=1e-6)


def test_netgraph_edges_to_and_from_the_fold_state():
    s = netdsl.Session()
    s.evaluate(GRAPH)
    g = s.evaluate("g")
    assert g.port_names() == (("s0", "Input"), ("final", "Output"))
    assert g.ports["final"].shape == (2,)
    x, v = np.random.default_rng(1).standard_normal((4, 3)), np.array([1., -2., 0.5, 3.])
    lin = {k: np.asarray(a, np.float64) for k, a in g.net("init").arrays.items()}
    ys, last = loop(g.net("fold").net("Net"), x, lin["Weights"] @ v + lin["Biases"])
    out = g({"Input": x, "s0": v})
    np.testing.assert_allclose(out["Output"], ys, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["final"], last, rtol=1e-5, atol=1e-6)
    assert netdsl.evaluate(g.input_form()) == g          # the text parses back


def test_ragged_batch_each_example_from_its_own_state():
    f = netdsl.evaluate(FOLD)
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal((n, 3)) for n in (3, 1, 5, 3)]
    s0 = rng.standard_normal((4, 2))
    ys = f({"Input": xs, "State": s0})
    finals = f({"Input": xs, "State": s0}, port="State")
    for i, x in enumerate(xs):
        expected, last = loop(f.net("Net"), x, s0[i])
        np.testing.assert_allclose(ys[i], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(finals[i], last, rtol=1e-5, atol=1e-6)


def test_gradients_of_input_and_initial_state_match_finite_differences():
    f = netdsl.evaluate(f'NetInitialize[NetFoldOperator[{FOLD_NET}, "Input" -> {{4, 3}}], '
                        'RandomSeeding -> 3]').with_optional_ports(("State",), ("State",))
    plan = compile_plan(f, "t")
    rng = np.random.default_rng(4)
    x, s0 = rng.standard_normal((4, 3, 2)), rng.standard_normal((2, 2))   # batch-last
    seed_y, seed_s = rng.standard_normal((4, 2, 2)), rng.standard_normal((2, 2))

    def value(xv, sv):
        outs, _, _ = plan.run(Ctx(), {"Input": xv, "State": sv})
        return float(np.sum(outs["Output"] * seed_y) + np.sum(outs["State"] * seed_s))

    ctx = Ctx(grad=True)
    ctx.keep_input_grads = True
    _, values, caches = plan.run(ctx, {"Input": x, "State": s0}, keep=True)
    grads = backward(plan.steps, ctx, values, caches,
                     {plan.outputs["Output"]: seed_y, plan.outputs["State"]: seed_s},
                     lambda k, g: None, set(plan.inputs.values()))
    h = 1e-6
    for port, base in (("Input", x), ("State", s0)):
        numeric = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            up, down = base.copy(), base.copy()
            up[i] += h
            down[i] -= h
            args = {"Input": x, "State": s0}
            numeric[i] = (value(**{"xv": args["Input"], "sv": args["State"],
                                   ("xv" if port == "Input" else "sv"): up})
                          - value(**{"xv": args["Input"], "sv": args["State"],
                                     ("xv" if port == "Input" else "sv"): down})) / (2 * h)
        assert_close(grads[plan.inputs[port]], numeric, tol=1e-5)


def test_port_gradient_with_respect_to_the_graph_input_feeding_the_state():
    s = netdsl.Session()
    s.evaluate(GRAPH)
    g = s.evaluate("g")
    x, v = np.random.default_rng(5).standard_normal((3, 3)), np.array([0.3, -0.2, 0.5, 1.0])
    s["x"], s["v"] = x, v
    grad = np.asarray(s.evaluate('g[<|"Input" -> x, "s0" -> v|>, NetPortGradient["s0"]]'),
                      np.float64)
    lin = {k: np.asarray(a, np.float64) for k, a in g.net("init").arrays.items()}

    def total(u):
        ys, last = loop(g.net("fold").net("Net"), x, lin["Weights"] @ u + lin["Biases"])
        return ys.sum() + last.sum()
    eps = 1e-6
    numeric = [(total(v + eps * e) - total(v - eps * e)) / (2 * eps) for e in np.eye(4)]
    np.testing.assert_allclose(grad, numeric, rtol=2e-3, atol=2e-4)


def test_shapes_errors_and_check():
    with pytest.raises(ShapeError, match='"State" port') as e:
        netdsl.evaluate(f'NetGraph[<|"a" -> LinearLayer[4], "f" -> NetFoldOperator[{FOLD_NET}]|>, '
                        '{"a" -> NetPort["f", "State"]}, "Input" -> 2]')
    assert e.value.tag == "tyinc"
    f = netdsl.evaluate(FOLD)
    with pytest.raises(NetDSLError, match='"State" should be a vector of size 2'):
        f({"Input": np.zeros((3, 3)), "State": np.zeros(3)})
    text = (GRAPH + '\ny = g[<|"Input" -> RandomReal[1, {7, 3}], "s0" -> {1, 2, 3, 4}|>];\n'
            f'bad = NetGraph[<|"a" -> LinearLayer[4], "f" -> NetFoldOperator[{FOLD_NET}]|>, '
            '{"a" -> NetPort["f", "State"]}, "Input" -> 2];\n')
    out, err = io.StringIO(), io.StringIO()
    check_text(text, "fold.wl", out, err)
    assert ('"s0" vector of size 4, "Input" matrix of dimensions {n, 3} -> "final" vector of '
            'size 2, "Output" matrix of dimensions {n, 2}') in out.getvalue(), out.getvalue()
    assert "fold.wl:3:" in err.getvalue() and "tyinc" in err.getvalue(), err.getvalue()


def test_information_and_all_states():
    s = netdsl.Session()
    s["f"] = netdsl.evaluate(FOLD)
    positions = s.evaluate('Information[NetChain[{f, LongShortTermMemoryLayer[2]}], '
                           '"RecurrentStatesPositionList"]')
    assert input_form(positions) == ('{NetPort[{1, "State"}], NetPort[{2, "State"}], '
                                     'NetPort[{2, "CellState"}]}')
    c = s.evaluate("c = NetChain[{f}]")
    x = np.random.default_rng(6).standard_normal((4, 3))
    s["x"] = x
    s.evaluate('st = c[x, NetPort[All, "States"]];')
    final = np.asarray(s.evaluate('st[{1, "State"}]'), np.float64)
    np.testing.assert_allclose(final, loop(c.net("1").net("Net"), x, [0, 0])[1], rtol=1e-5,
                               atol=1e-6)
    y = s.evaluate('c[<|"Input" -> x, NetPort[All, "States"] -> st|>]')
    start = loop(c.net("1").net("Net"), x, [0, 0])[1]
    np.testing.assert_allclose(y, loop(c.net("1").net("Net"), x, start)[0], rtol=1e-5,
                               atol=1e-6)


def test_netreplace_keeps_the_wired_state():
    s = netdsl.Session()
    s.evaluate(GRAPH)
    r = s.evaluate(f'NetReplacePart[g, "fold" -> NetFoldOperator[{FOLD_NET}]]')
    assert r.port_names() == (("s0", "Input"), ("final", "Output"))


# ---------------------------------------------------------------- BatchNormalization
def test_training_moves_a_folded_batch_normalization_once_per_step():
    """Wolfram runs the fold as a loop over the steps (unrolled, or MXNet's foreach) with
    one MovingMean/MovingVariance: every step's batch statistics move them in turn."""
    s = netdsl.Session()
    rng = np.random.default_rng(7)
    n, batch = 3, 16
    x = (rng.standard_normal((batch, n, 2)) + 2).astype(np.float32)
    s["x"], s["y"] = x, rng.standard_normal((batch, n, 2)).astype(np.float32)
    inner = ('NetGraph[<|"cat" -> CatenateLayer[], "lin" -> LinearLayer[2], '
             '"bn" -> BatchNormalizationLayer[], "act" -> Tanh|>, '
             '{{NetPort["Input"], NetPort["State"]} -> "cat" -> "lin" -> "bn" -> "act"}]')
    net = s.evaluate(f'net = NetInitialize[NetFoldOperator[{inner}, "Input" -> {{{n}, 2}}], '
                     'RandomSeeding -> 1]')
    lin = {k: np.asarray(v, np.float64) for k, v in net.net("Net").net("lin").arrays.items()}
    bn = {k: np.asarray(v, np.float64) for k, v in net.net("Net").net("bn").arrays.items()}
    mean, var = bn["MovingMean"].copy(), bn["MovingVariance"].copy()
    state = np.zeros((batch, 2))
    for t in range(n):      # Train mode: each step normalised by its own batch statistics
        z = np.concatenate([x[:, t].astype(np.float64), state], 1) @ lin["Weights"].T \
            + lin["Biases"]
        mu, sigma2 = z.mean(0), z.var(0)
        state = np.tanh((z - mu) / np.sqrt(sigma2 + 0.001) * bn["Scaling"] + bn["Biases"])
        mean, var = 0.9 * mean + 0.1 * mu, 0.9 * var + 0.1 * sigma2
    s.evaluate(f'trained = NetTrain[net, x -> y, BatchSize -> {batch}, MaxTrainingRounds -> 1, '
               'TrainingProgressReporting -> None]')
    got_mean = np.asarray(s.evaluate('NetExtract[trained, {"Net", "bn", "MovingMean"}]'))
    got_var = np.asarray(s.evaluate('NetExtract[trained, {"Net", "bn", "MovingVariance"}]'))
    np.testing.assert_allclose(got_mean, mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got_var, var, rtol=1e-4, atol=1e-5)


def test_training_through_the_fold_state_on_sequences_of_different_lengths():
    """NetTrain on a graph feeding the fold's initial state and reading its final one, a
    batch mixing lengths: the loss falls."""
    s = netdsl.Session()
    rng = np.random.default_rng(8)
    data = []
    for i in range(24):
        x = rng.standard_normal((2 + i % 3, 3))
        v = rng.standard_normal(4)
        data.append({"Input": x, "s0": v, "Output": np.array([np.tanh(x.sum() + v[0])])})
    s["data"] = data
    s.evaluate(f'net = NetInitialize[NetGraph[<|"init" -> LinearLayer[2], '
               f'"fold" -> NetFoldOperator[{FOLD_NET}], "out" -> LinearLayer[1]|>, '
               '{NetPort["s0"] -> "init" -> NetPort["fold", "State"], '
               'NetPort["fold", "State"] -> "out", NetPort["fold", "Output"] -> None}, '
               '"s0" -> 4, "Input" -> {"Varying", 3}], RandomSeeding -> 2];')
    s.evaluate('r = NetTrain[net, data, All, BatchSize -> 8, MaxTrainingRounds -> 30, '
                   'TrainingProgressReporting -> None, RandomSeeding -> 1];')
    losses = np.asarray(s.evaluate('r["RoundLossList"]'), np.float64)
    assert losses[-1] < 0.8 * losses[0], losses


def test_net_file_round_trip_keeps_the_state_edges(tmp_path):
    pytest.importorskip("safetensors")
    s = netdsl.Session()
    s.evaluate(GRAPH)
    g = s.evaluate("g")
    netdsl.save(g, tmp_path / "g.safetensors")
    back = netdsl.load(tmp_path / "g.safetensors")
    assert back == g and back.port_names() == (("s0", "Input"), ("final", "Output"))
    x = np.random.default_rng(9).standard_normal((3, 3))
    np.testing.assert_array_equal(back({"Input": x, "s0": np.ones(4)})["final"],
                                  g({"Input": x, "s0": np.ones(4)})["final"])
