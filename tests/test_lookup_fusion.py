"""Rule 5 of runtime/fusion.py: EmbeddingLayer -> LongShortTermMemoryLayer as one step whose
input projection is a gather from a projected table (once per plan in Test mode).

The fused plans must give the unfused plan's numbers (float32 rounding) and, in training,
its gradients; fall back when the table is too large for the batch; leave a shared
embedding output alone; and never reuse a projected table after the net's arrays changed.
"""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.runtime.layout import to_batch_last
from netdsl.runtime.context import Ctx
from netdsl.runtime.gradients import backward
from netdsl.runtime.fusion import FromLookup, LastOnly
from netdsl.runtime.plan import compile_plan

CHAIN = ('NetChain[{{EmbeddingLayer[5, {v}, "Input" -> "Varying"], LongShortTermMemoryLayer[6], '
         'SequenceLastLayer[], LinearLayer[3]}}]')


def _net(v: int = 7, seed: int = 1, session: netdsl.Session | None = None):
    s = session or netdsl.Session()
    return s.evaluate(f"NetInitialize[{CHAIN.format(v=v)}, RandomSeeding -> {seed}]")


def _indices(v: int, shape=(4, 9), seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, v + 1, shape)


def _plain(net, x):
    """The unfused plan (one step per layer), each layer checked on its own elsewhere."""
    plan = compile_plan(net)
    out, _, _ = plan.run(Ctx(), {"Input": to_batch_last(x)})
    return out["Output"].T


def _kinds(net) -> list[str]:
    """The Test-mode plan's step kinds; a rule-8 step as "LastOnly:<the step it wraps>"."""
    return [f"LastOnly:{type(s.layer.layer).__name__}" if isinstance(s.layer, LastOnly)
            else type(s.layer).__name__ for s in compile_plan(net, mode="test").steps]


def test_embedding_and_lstm_become_one_step_with_the_same_numbers():
    net = _net()
    assert _kinds(net) == ["LastOnly:FromLookup", "LinearLayer"]   # rules 5 and 8
    x = _indices(7)
    np.testing.assert_allclose(net(x), _plain(net, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net(x), net(x), rtol=0, atol=0)    # the kept table is reused


def test_the_fused_step_equals_a_float64_loop():
    """Independent of the executor: the LSTM formula over looked-up rows, in float64."""
    net = _net()
    x = _indices(7, (2, 6))
    arrays = {p[0]: {k: np.asarray(v, np.float64) for k, v in layer.arrays.items()}
              for p, layer in net.leaves()}
    emb, a, lin = arrays["1"]["Weights"], arrays["2"], arrays["4"]

    def sig(z):
        return 1 / (1 + np.exp(-z))
    for b in range(2):
        s = c = np.zeros(6)
        for i in x[b]:
            g = {k: a[f"{k}InputWeights"] @ emb[i - 1] + a[f"{k}StateWeights"] @ s
                 + a[f"{k}Biases"] for k in ("InputGate", "OutputGate", "ForgetGate", "MemoryGate")}
            c = sig(g["ForgetGate"]) * c + sig(g["InputGate"]) * np.tanh(g["MemoryGate"])
            s = sig(g["OutputGate"]) * np.tanh(c)
        np.testing.assert_allclose(net(x)[b], lin["Weights"] @ s + lin["Biases"],
                                   rtol=1e-5, atol=1e-6)


def test_a_vocabulary_larger_than_the_batch_falls_back_to_lookup_then_projection():
    net = _net(v=200)
    x = _indices(200, (2, 3))          # 6 indices, 200 table rows: the table is not projected
    assert _kinds(net)[0] == "LastOnly:FromLookup"
    np.testing.assert_allclose(net(x), _plain(net, x), rtol=1e-5, atol=1e-6)


def test_arrays_changed_after_the_plan_give_a_new_projected_table():
    s = netdsl.Session()
    s["net"] = _net(session=s)
    x = _indices(7)
    before = s["net"](x)
    rng = np.random.default_rng(9)
    for part in ('{1, "Weights"}', '{2, "InputGateInputWeights"}', '{2, "MemoryGateBiases"}'):
        s["new"] = rng.normal(0, 1, np.shape(s.evaluate(f"NetExtract[net, {part}]")))
        s["net"] = s.evaluate(f"NetReplacePart[net, {part} -> new]")
        after = s["net"](x)
        assert not np.allclose(after, before)
        np.testing.assert_allclose(after, _plain(s["net"], x), rtol=1e-5, atol=1e-6)
        before = after


def test_an_embedding_read_twice_is_not_fused():
    net = netdsl.evaluate(
        'NetInitialize[NetGraph[{EmbeddingLayer[4, 6, "Input" -> "Varying"], '
        'LongShortTermMemoryLayer[3], SequenceLastLayer[], SequenceLastLayer[], CatenateLayer[]}, '
        '{1 -> 2 -> 3, 1 -> 4, {3, 4} -> 5}], RandomSeeding -> 0]')
    assert not any("FromLookup" in k for k in _kinds(net))
    x = _indices(6, (3, 5))
    np.testing.assert_allclose(net(x), _plain(net, x), rtol=1e-5, atol=1e-6)


def _gradients(net, mode: str, x: np.ndarray, seed_of: np.random.Generator):
    plan = compile_plan(net, mode=mode)
    ctx = Ctx(train=True, grad=True)
    outs, values, caches = plan.run(ctx, {"Input": to_batch_last(x)}, keep=True)
    slot = plan.outputs["Output"]
    seed = seed_of.normal(size=values[slot].shape).astype(values[slot].dtype)
    grads: dict = {}

    def add(key, g):
        grads[key] = grads.get(key, 0) + g
    backward(plan.steps, ctx, values, caches, {slot: seed}, add, set(plan.inputs.values()))
    return plan, outs["Output"], grads


@pytest.mark.parametrize("vocabulary", [7, 40])   # 40 > twice the embedding size: fallback
def test_training_through_the_fused_step_keeps_every_gradient(vocabulary):
    net = _net(v=vocabulary)
    x = _indices(vocabulary)
    plain, y0, g0 = _gradients(net, "plain", x, np.random.default_rng(3))
    fused, y1, g1 = _gradients(net, "train", x, np.random.default_rng(3))
    assert any(isinstance(s.layer, FromLookup) for s in fused.steps)
    assert len(fused.steps) == len(plain.steps) - 1
    np.testing.assert_allclose(y1, y0, rtol=1e-5, atol=1e-6)
    assert g0.keys() == g1.keys() and len(g0) == 1 + 12 + 2    # embedding, LSTM, linear
    for key in g0:
        np.testing.assert_allclose(g1[key], g0[key], rtol=1e-4, atol=1e-6, err_msg=str(key))


def test_dropout_in_training_and_a_read_final_state_take_the_two_layers_way():
    """A Train-mode pass with recurrent dropout runs inside the fused step as embedding
    then LSTM; a net reading the LSTM's final state is not fused: same numbers as the
    plain plan either way."""
    net = netdsl.evaluate(
        'NetInitialize[NetChain[{EmbeddingLayer[5, 7, "Input" -> "Varying"], '
        'LongShortTermMemoryLayer[6, "Dropout" -> 0.3], SequenceLastLayer[]}], RandomSeeding -> 1]')
    x = _indices(7)
    results = []
    for mode in ("plain", "train"):
        plan = compile_plan(net, mode=mode)
        ctx = Ctx(train=True, grad=True, rng=np.random.default_rng(0))
        outs, values, caches = plan.run(ctx, {"Input": to_batch_last(x)}, keep=True)
        slot = plan.outputs["Output"]
        grads: dict = {}

        def add(key, g, grads=grads):
            grads[key] = grads.get(key, 0) + g
        backward(plan.steps, ctx, values, caches, {slot: np.ones_like(values[slot])}, add,
                 set(plan.inputs.values()))
        results.append((outs["Output"], grads))
    assert any(isinstance(s.layer, FromLookup) for s in compile_plan(net, mode="train").steps)
    (y0, g0), (y1, g1) = results
    np.testing.assert_allclose(y1, y0, rtol=1e-5, atol=1e-6)
    assert g0.keys() == g1.keys()
    for key in g0:
        np.testing.assert_allclose(g1[key], g0[key], rtol=1e-4, atol=1e-6, err_msg=str(key))

    graph = netdsl.evaluate(
        'NetInitialize[NetGraph[<|"emb" -> EmbeddingLayer[5, 7, "Input" -> "Varying"], '
        '"lstm" -> LongShortTermMemoryLayer[6]|>, {"emb" -> "lstm", '
        'NetPort["lstm", "State"] -> NetPort["final"]}], RandomSeeding -> 1]')
    assert not any("FromLookup" in k for k in _kinds(graph))   # a state port: left alone
    got = compile_plan(graph, mode="test").run(Ctx(), {"Input": to_batch_last(x)})[0]
    want = compile_plan(graph).run(Ctx(), {"Input": to_batch_last(x)})[0]
    assert got.keys() == want.keys() and len(got) == 2
    for port in want:
        np.testing.assert_allclose(got[port], want[port], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- rule 8
DENSE = ('NetInitialize[NetChain[{LongShortTermMemoryLayer[6], SequenceLastLayer[], '
         'LinearLayer[3]}, "Input" -> {"Varying", 4}], RandomSeeding -> 3]')


def test_an_lstm_read_only_by_sequence_last_keeps_two_states_with_the_same_numbers(
        monkeypatch):
    """Rule 8, dense input and after rule 5: the loop runs with a ring of two states
    (seen in the kernel's arguments) and gives the unfused plan's numbers."""
    from netdsl.layers import lstm_kernel
    rings = []
    real = lstm_kernel.forward
    monkeypatch.setattr(lstm_kernel, "forward", lambda *a, **k: rings.append(
        k.get("last", False)) or real(*a, **k))
    dense = netdsl.evaluate(DENSE)
    assert _kinds(dense) == ["LastOnly:LongShortTermMemoryLayer", "LinearLayer"]
    x = np.random.default_rng(4).normal(size=(5, 8, 4)).astype(np.float32)
    np.testing.assert_allclose(dense(x), _plain(dense, x), rtol=1e-5, atol=1e-6)
    net = _net()
    idx = _indices(7)
    np.testing.assert_allclose(net(idx), _plain(net, idx), rtol=1e-5, atol=1e-6)
    assert rings[0] is True and rings.count(True) == 2


def test_a_gradient_through_rule_8_takes_the_whole_sequence():
    """NetPortGradient in Test mode: forward_last declines (a gradient is coming) and
    the fused step runs both layers and backward through both."""
    s = netdsl.Session()
    s["net"] = netdsl.evaluate(DENSE)
    s["x"] = np.random.default_rng(5).normal(size=(8, 4)).tolist()
    got = np.array(s.evaluate('net[<|"Input" -> x|>, NetPortGradient["Input"]]'), float)
    base, eps = np.array(s["x"]), 1e-3

    def total(v: np.ndarray) -> float:
        s["y"] = v.tolist()
        return float(np.sum(s.evaluate("net[y]")))
    want = np.zeros_like(base)
    for i in np.ndindex(base.shape):           # central differences of the summed output
        d = np.zeros_like(base)
        d[i] = eps
        want[i] = (total(base + d) - total(base - d)) / (2 * eps)
    np.testing.assert_allclose(got, want, rtol=2e-2, atol=2e-3)


def test_training_plans_have_no_rule_8_step():
    net = _net()
    assert not any(isinstance(s.layer, LastOnly)
                   for s in compile_plan(net, mode="train").steps)


@pytest.mark.parametrize("path", ["loop", "steps", "numpy"])
def test_kernel_last_state_from_a_ring_equals_the_whole_loops_last(monkeypatch, path):
    from netdsl.layers import lstm_kernel
    from tests.recurrent_reference import force_compiled, gate_arrays
    if path == "numpy":
        monkeypatch.setenv("NETDSL_JIT", "0")
    else:
        pytest.importorskip("numba")
        force_compiled(monkeypatch, lstm_kernel)
        if path == "steps":
            from netdsl.layers.compiled import lstm_fused
            monkeypatch.setattr(lstm_fused, "SGEMM", None)
    rng = np.random.default_rng(6)
    a = gate_arrays(rng, lstm_kernel.GATES, 5, 3, 0.7)
    w = lstm_kernel.stacked_weights(a, np.float32)
    x = rng.normal(size=(7, 3, 4)).astype(np.float32)
    pre = (w.wxb_half @ lstm_kernel.input_rows(x)).reshape(-1, 7, 4)
    whole = lstm_kernel.forward(pre, w.ws_half, keep=False)
    ring = lstm_kernel.forward(pre, w.ws_half, keep=False, last=True)
    assert ring.states.shape[0] == 2 and whole.states.shape[0] == 8
    np.testing.assert_array_equal(ring.last_state, whole.states[7])
    np.testing.assert_array_equal(ring.last_cell, whole.last_cell)
