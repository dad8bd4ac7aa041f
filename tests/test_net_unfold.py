"""NetUnfold (Wolfram's): the net performing one step of a recurrent net, its states as
ports. Checked by the property that defines it: stepping the unfolded net n times, each
step's state outputs fed back, gives what the original net gives on the whole length-n
sequence; the values also against the gate formulas written out here in float64
(LSTM, GRU, BasicRecurrentLayer, a fold's custom step). Then the reference page's
Details (the SequenceLastLayer dropped, the inverse of NetFoldOperator), shapes,
InputForm and net files, ONNX and PyTorch export of the step, NetTrain, and the
errors for nets with no single step."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError
from tests.layer_harness import file_round_trip, onnx_run

RNG = np.random.default_rng(3)


def sig(a):
    return 1 / (1 + np.exp(-a))


def arrays64(layer):
    return {k: np.asarray(v, np.float64) for k, v in layer.arrays.items()}


def lstm_loop(a, xs, s, c):
    """Wolfram's LSTM gate formulas, one step at a time (float64)."""
    outs = []
    for x in xs:
        def gate(g, x=x, s=s):
            return a[f"{g}InputWeights"] @ x + a[f"{g}StateWeights"] @ s + a[f"{g}Biases"]
        i, f, o = sig(gate("InputGate")), sig(gate("ForgetGate")), sig(gate("OutputGate"))
        m = np.tanh(gate("MemoryGate"))
        c = f * c + i * m
        s = o * np.tanh(c)
        outs.append(s)
    return np.array(outs), s, c


def gru_loop(a, xs, s):
    """Wolfram's GRU: s = (1 - z) s + z h, h = tanh(Wmx.x + bm + r (Wms.s))."""
    outs = []
    for x in xs:
        z = sig(a["InputGateInputWeights"] @ x + a["InputGateStateWeights"] @ s
                + a["InputGateBiases"])
        r = sig(a["ResetGateInputWeights"] @ x + a["ResetGateStateWeights"] @ s
                + a["ResetGateBiases"])
        h = np.tanh(a["MemoryGateInputWeights"] @ x + a["MemoryGateBiases"]
                    + r * (a["MemoryGateStateWeights"] @ s))
        s = (1 - z) * s + z * h
        outs.append(s)
    return np.array(outs), s


def basic_loop(a, xs, s):
    outs = []
    for x in xs:
        s = np.tanh(a["InputWeights"] @ x + a["StateWeights"] @ s + a["Biases"])
        outs.append(s)
    return np.array(outs), s


def step_through(step, xs, states, input_port="Input", output="Output"):
    """Run ``step`` once per element, feeding each step's state outputs ("<name>Out")
    back as the next step's state inputs: the outputs by step and the last states."""
    outs = []
    for x in xs:
        r = step({input_port: x, **states})
        outs.append(np.asarray(r[output]))
        states = {k: np.asarray(r[k + "Out"]) for k in states}
    return np.array(outs), states


def evaluate(text):
    return netdsl.evaluate(text)


# ---------------------------------------------------------------- single layers
def test_lstm_step_equals_the_sequence_and_the_gate_formulas():
    lstm = evaluate('NetInitialize[LongShortTermMemoryLayer[4, "Input" -> {"Varying", 3}], '
                    'RandomSeeding -> 5]')
    s = netdsl.Session()
    s["lstm"] = lstm
    step = s.evaluate("NetUnfold[lstm]")
    assert step.port_names() == (("Input", "State", "CellState"),
                                 ("Output", "StateOut", "CellStateOut"))
    xs = RNG.standard_normal((6, 3)).astype(np.float32)
    s0, c0 = RNG.standard_normal(4), RNG.standard_normal(4)
    outs, last = step_through(step, xs, {"State": s0, "CellState": c0})
    full = lstm({"Input": xs, "State": s0, "CellState": c0})
    np.testing.assert_allclose(outs, full, rtol=1e-5, atol=1e-6)
    ys, sT, cT = lstm_loop(arrays64(lstm), xs.astype(np.float64), s0, c0)
    np.testing.assert_allclose(outs, ys, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(last["State"], sT, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(last["CellState"], cT, rtol=1e-5, atol=1e-6)
    # the final states the original net gives are the last step's state outputs
    np.testing.assert_allclose(lstm(xs, port="CellState"),
                               lstm_loop(arrays64(lstm), xs.astype(np.float64),
                                         np.zeros(4), np.zeros(4))[2], rtol=1e-5, atol=1e-6)


def test_gru_step_equals_the_formula_loop():
    s = netdsl.Session()
    gru = s.evaluate('gru = NetInitialize[GatedRecurrentLayer[5, "Input" -> {"Varying", 2}], '
                     'RandomSeeding -> 9]')
    step = s.evaluate("NetUnfold[gru]")
    assert step.port_names() == (("Input", "State"), ("Output", "StateOut"))
    xs = RNG.standard_normal((7, 2)).astype(np.float32)
    outs, last = step_through(step, xs, {"State": np.zeros(5)})
    ys, sT = gru_loop(arrays64(gru), xs.astype(np.float64), np.zeros(5))
    np.testing.assert_allclose(outs, ys, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(last["State"], sT, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs, gru(xs), rtol=1e-5, atol=1e-6)


def test_basic_recurrent_step_equals_the_formula_loop():
    s = netdsl.Session()
    rnn = s.evaluate('rnn = NetInitialize[BasicRecurrentLayer[3, "Input" -> {"Varying", 4}], '
                     'RandomSeeding -> 2]')
    step = s.evaluate("NetUnfold[rnn]")
    xs = RNG.standard_normal((5, 4)).astype(np.float32)
    s0 = RNG.standard_normal(3)
    outs, last = step_through(step, xs, {"State": s0})
    ys, sT = basic_loop(arrays64(rnn), xs.astype(np.float64), s0)
    np.testing.assert_allclose(outs, ys, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(last["State"], sT, rtol=1e-5, atol=1e-6)


def test_a_batch_of_steps_is_each_example_alone():
    s = netdsl.Session()
    s.evaluate('step = NetUnfold[NetInitialize[LongShortTermMemoryLayer[3, '
               '"Input" -> {"Varying", 2}]]]')
    step = s["step"]
    x = RNG.standard_normal((4, 2)).astype(np.float32)
    st = RNG.standard_normal((4, 3)).astype(np.float32)
    ct = RNG.standard_normal((4, 3)).astype(np.float32)
    batch = step({"Input": x, "State": st, "CellState": ct})
    for k in range(4):
        one = step({"Input": x[k], "State": st[k], "CellState": ct[k]})
        for port in ("Output", "StateOut", "CellStateOut"):
            np.testing.assert_allclose(batch[port][k], one[port], rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------- NetFoldOperator
FOLD_NET = ('NetGraph[<|"cat" -> CatenateLayer[], "lin" -> LinearLayer[2], "act" -> Tanh|>, '
            '{{NetPort["Input"], NetPort["State"]} -> "cat" -> "lin" -> "act"}]')


def fold_loop(inner, xs, s):
    a = arrays64(inner.net("lin"))
    outs = []
    for x in xs:
        s = np.tanh(a["Weights"] @ np.concatenate([x, s]) + a["Biases"])
        outs.append(s)
    return np.array(outs), s


def test_a_fold_unfolds_to_its_step_net_the_inverse_of_net_fold_operator():
    s = netdsl.Session()
    fold = s.evaluate(f'fold = NetInitialize@NetFoldOperator[{FOLD_NET}, '
                      '"Input" -> {"Varying", 3}]')
    step = s.evaluate("NetUnfold[fold]")
    assert step == s.evaluate('NetExtract[fold, "Net"]')
    assert step.port_names() == (("Input", "State"), ("Output",))
    xs = RNG.standard_normal((5, 3)).astype(np.float32)
    outs, state = [], np.zeros(2)
    for x in xs:                   # its "Output" is the next "State"
        state = np.asarray(step({"Input": x, "State": state}))
        outs.append(state)
    np.testing.assert_allclose(outs, fold(xs), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs, fold_loop(step, xs.astype(np.float64), np.zeros(2))[0],
                               rtol=1e-5, atol=1e-6)


def test_the_general_fold_form_in_a_chain_gives_each_state_a_port():
    inner = ('NetGraph[<|"cat" -> CatenateLayer[], "lin" -> LinearLayer[2], "act" -> Tanh, '
             '"y" -> LinearLayer[1]|>, {{NetPort["x"], NetPort["h"]} -> "cat" -> "lin" -> '
             '"act" -> NetPort["hnext"], "act" -> "y" -> NetPort["y"]}]')
    s = netdsl.Session()
    net = s.evaluate(f'net = NetInitialize@NetGraph[<|"f" -> NetFoldOperator[{inner}, '
                     '{"hnext" -> "h"}, {}, {"y"}], "r" -> Ramp|>, {"f" -> "r"}, '
                     '"x" -> {"Varying", 3}]')
    step = s.evaluate("NetUnfold[net]")
    assert step.port_names() == (("x", "f/h"), ("Output", "f/hOut"))
    xs = RNG.standard_normal((4, 3)).astype(np.float32)
    outs, last = step_through(step, xs, {"f/h": np.zeros(2)}, input_port="x")
    np.testing.assert_allclose(outs, net(xs), rtol=1e-5, atol=1e-6)
    # the last state is the fold's final state, read in a graph around the same fold
    s["xs"] = xs
    final = s.evaluate('net[xs, NetPort[All, "States"]][{"f", "h"}]')
    np.testing.assert_allclose(last["f/h"], np.asarray(final), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- containers
LM = ('lm = NetInitialize[NetChain[{EmbeddingLayer[4, 10], LongShortTermMemoryLayer[6], '
      'GatedRecurrentLayer[5], SequenceLastLayer[], LinearLayer[10], SoftmaxLayer[]}], '
      'RandomSeeding -> 4];')


def test_a_chain_drops_its_sequence_last_layer_and_steps_to_the_same_prediction():
    s = netdsl.Session()
    s.evaluate(LM)
    lm = s["lm"]
    step = s.evaluate("NetUnfold[lm]")
    assert step.port_names() == (("Input", "2/State", "2/CellState", "3/State"),
                                 ("Output", "2/StateOut", "2/CellStateOut", "3/StateOut"))
    assert "SequenceLastLayer" not in [n.head_name for _, n in step.layers()]
    seq = [3, 1, 4, 1, 5, 9]
    states = {"2/State": np.zeros(6), "2/CellState": np.zeros(6), "3/State": np.zeros(5)}
    outs, last = step_through(step, seq, states)
    for n in range(1, len(seq) + 1):   # each step's output is the net on the prefix
        np.testing.assert_allclose(outs[n - 1], lm(seq[:n]), rtol=1e-5, atol=1e-6)
    # the states are the original net's final states (NetPort[All, "States"])
    s["seq"] = seq
    s.evaluate('finals = lm[seq, NetPort[All, "States"]];')
    np.testing.assert_allclose(last["2/CellState"],
                               np.asarray(s.evaluate('finals[{2, "CellState"}]')), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(last["3/State"], np.asarray(s.evaluate('finals[{3, "State"}]')),
                               rtol=1e-5, atol=1e-6)


def test_per_step_outputs_with_a_map_and_elementwise_layers():
    s = netdsl.Session()
    net = s.evaluate('net = NetInitialize[NetChain[<|"rnn" -> BasicRecurrentLayer[4], '
                     '"map" -> NetMapOperator[LinearLayer[3]], "act" -> Tanh, '
                     '"sm" -> SoftmaxLayer[]|>, "Input" -> {"Varying", 2}], RandomSeeding -> 8]')
    step = s.evaluate("NetUnfold[net]")
    assert step.port_names() == (("Input", "rnn/State"), ("Output", "rnn/StateOut"))
    xs = RNG.standard_normal((5, 2)).astype(np.float32)
    outs, _ = step_through(step, xs, {"rnn/State": np.zeros(4)})
    np.testing.assert_allclose(outs, net(xs), rtol=1e-5, atol=1e-6)
    # independently: the recurrence, the linear map, tanh, softmax written out
    states, _ = basic_loop(arrays64(net.net("rnn")), xs.astype(np.float64), np.zeros(4))
    lin = arrays64(net.net("map").net("Net"))
    z = np.tanh(states @ lin["Weights"].T + lin["Biases"])
    want = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    np.testing.assert_allclose(outs, want, rtol=1e-5, atol=1e-6)


def test_a_fixed_length_chain_and_a_nested_graph():
    s = netdsl.Session()
    net = s.evaluate('net = NetInitialize[NetGraph[<|"enc" -> NetChain[{GatedRecurrentLayer[3], '
                     'ElementwiseLayer[Ramp]}], "last" -> SequenceLastLayer[]|>, '
                     '{"enc" -> "last"}, "Input" -> {4, 2}], RandomSeeding -> 1]')
    step = s.evaluate("NetUnfold[net]")
    assert step.port_names() == (("Input", "enc/1/State"), ("Output", "enc/1/StateOut"))
    assert step.ports["Input"].shape == (2,)
    xs = RNG.standard_normal((4, 2)).astype(np.float32)
    outs, _ = step_through(step, xs, {"enc/1/State": np.zeros(3)})
    np.testing.assert_allclose(outs[-1], net(xs), rtol=1e-5, atol=1e-6)


def test_state_outputs_read_in_the_original_graph_come_from_the_step():
    s = netdsl.Session()
    net = s.evaluate('net = NetInitialize[NetGraph[<|"lstm" -> LongShortTermMemoryLayer[3]|>, '
                     '{NetPort[{"lstm", "CellState"}] -> NetPort["cell"]}, '
                     '"Input" -> {"Varying", 2}]]')
    step = s.evaluate("NetUnfold[net]")
    assert set(step.port_names()[1]) == {"Output", "cell", "lstm/StateOut",
                                         "lstm/CellStateOut"}
    x = RNG.standard_normal(2).astype(np.float32)
    r = step({"Input": x, "lstm/State": np.zeros(3), "lstm/CellState": np.zeros(3)})
    np.testing.assert_allclose(r["cell"], r["lstm/CellStateOut"])
    np.testing.assert_allclose(r["cell"], net(x[None])["cell"], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- forms, files, export
def test_input_form_evaluates_back_to_an_equal_net_and_net_files_round_trip(tmp_path):
    s = netdsl.Session()
    s.evaluate(LM)
    step = s.evaluate("step = NetUnfold[lm]")
    text = s.evaluate('ToString[InputForm[step]]')
    assert netdsl.evaluate(text) == step
    file_round_trip(step, tmp_path)
    assert "2/CellState" in str(s.evaluate('Information[step, "InputPortNames"]'))


def test_shapes_are_inferred_for_an_uninitialised_net():
    step = evaluate('NetUnfold[NetChain[{LongShortTermMemoryLayer[7], '
                    'NetMapOperator[LinearLayer[2]]}, "Input" -> {"Varying", 3}]]')
    assert not step.initialized
    assert step.ports["Input"].shape == (3,)
    assert step.ports["1/CellState"].shape == (7,)
    assert step.ports["Output"].shape == (2,)


def lm_feeds():
    seq_state = {"2/State": RNG.standard_normal((2, 6)).astype(np.float32),
                 "2/CellState": RNG.standard_normal((2, 6)).astype(np.float32),
                 "3/State": RNG.standard_normal((2, 5)).astype(np.float32)}
    return {"Input": np.array([3, 7], np.int64), **seq_state}


def test_onnx_export_of_the_step_matches_netdsl():
    s = netdsl.Session()
    s.evaluate(LM)
    step = s.evaluate("NetUnfold[lm]")
    feeds = lm_feeds()
    got = onnx_run(step, feeds)
    want = step(feeds)["Output"]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_pytorch_module_of_the_step_matches_netdsl():
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    s = netdsl.Session()
    s.evaluate(LM)
    step = s.evaluate("NetUnfold[lm]")
    feeds = lm_feeds()
    module = to_torch(step)
    out = module(**{k: torch.as_tensor(v) for k, v in feeds.items()})
    want = step(feeds)
    got = out if isinstance(out, dict) else {"Output": out}
    for port in got:
        np.testing.assert_allclose(got[port].detach().numpy(), want[port], rtol=1e-5,
                                   atol=1e-6)


def test_net_train_trains_the_step():
    s = netdsl.Session()
    s.evaluate('step = NetUnfold[NetInitialize@GatedRecurrentLayer[2, "Input" -> {"Varying", 2}]]')
    s.evaluate('data = Table[<|"Input" -> {i, -i}/10., "State" -> {0.1, -0.2}, '
               '"Output" -> {Tanh[i/10.], 0.}, "StateOut" -> {Tanh[i/10.], 0.}|>, {i, 16}];')
    s.evaluate('r = NetTrain[step, data, All, MaxTrainingRounds -> 30, BatchSize -> 8, '
               'RandomSeeding -> 1, TrainingProgressReporting -> None]')
    losses = np.asarray(s.evaluate('r["RoundLossList"]'), float)
    assert losses[-1] < losses[0]


# ---------------------------------------------------------------- what cannot unfold
@pytest.mark.parametrize("text, tag", [
    ("NetUnfold[3]", "arg1"),
    ("NetUnfold[LinearLayer[3]]", "nofold"),
    ('NetUnfold[NetBidirectionalOperator[LongShortTermMemoryLayer[3], '
     '"Input" -> {"Varying", 2}]]', "unidir"),
    ('NetUnfold[NetChain[{LongShortTermMemoryLayer[3], SequenceReverseLayer[]}, '
     '"Input" -> {"Varying", 2}]]', "unfold"),
    ('NetUnfold[NetChain[{LongShortTermMemoryLayer[3], LinearLayer[2]}, "Input" -> {5, 2}]]',
     "unfold"),
    ('NetUnfold[NetChain[{SequenceMostLayer[], GatedRecurrentLayer[3]}, '
     '"Input" -> {"Varying", 2}]]', "unfold"),
    ('NetUnfold[NetChain[{GatedRecurrentLayer[3], SoftmaxLayer[1]}, '
     '"Input" -> {"Varying", 2}]]', "unfold"),
    ('NetUnfold[NetGraph[<|"init" -> LinearLayer[3], "lstm" -> LongShortTermMemoryLayer[3]|>, '
     '{NetPort["s0"] -> "init" -> NetPort["lstm", "State"]}, "Input" -> {"Varying", 2}, '
     '"s0" -> 4]]', "unfold"),
    ('NetUnfold[AttentionLayer["Mask" -> "Causal"]]', "notyet"),
])
def test_nets_without_a_single_step_are_netdsl_errors(text, tag):
    with pytest.raises(NetDSLError) as e:
        netdsl.evaluate(text)
    assert f"NetUnfold::{tag}" in str(e.value)


def test_greedy_generation_by_steps_equals_net_state_object_generation():
    """The page's application: generating one element at a time from the step net (its
    states fed back by hand) gives what NetStateObject gives on the original net."""
    s = netdsl.Session()
    s.evaluate(LM)
    s.evaluate("step = NetUnfold[lm]; obj = NetStateObject[lm];")
    step = s["step"]
    states = {"2/State": np.zeros(6), "2/CellState": np.zeros(6), "3/State": np.zeros(5)}
    token, by_step, by_object = 2, [], []
    for _ in range(8):
        r = step({"Input": token, **states})
        states = {k: np.asarray(r[k + "Out"]) for k in states}
        token = int(np.argmax(r["Output"])) + 1
        by_step.append(token)
    token = 2
    for _ in range(8):
        s["t"] = [token]
        token = int(np.argmax(np.asarray(s.evaluate("obj[t]")))) + 1
        by_object.append(token)
    assert by_step == by_object
