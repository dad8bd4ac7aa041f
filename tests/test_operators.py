"""NetMapOperator, NetFoldOperator and NetBidirectionalOperator: shapes, forward against a
per-step loop over the inner net's own evaluation, backward against float64 finite
differences, variable-length batches, training, text and net-file round trips, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdsl
from netdsl.check import check_text
from netdsl.errors import NetDSLError
from netdsl.graph.container import replace_leaves
from netdsl.runtime.context import Ctx
from netdsl.runtime.gradients import backward
from netdsl.runtime.plan import compile_plan
from tests.test_gradients_net import Harness, assert_close

MAP = ('NetInitialize@NetMapOperator[NetChain[{LinearLayer[4], Tanh, LinearLayer[2]}], '
       '"Input" -> {"Varying", 3}]')
FOLD_NET = ('NetGraph[<|"cat" -> CatenateLayer[], "lin" -> LinearLayer[2], "act" -> Tanh|>, '
            '{{NetPort["Input"], NetPort["State"]} -> "cat" -> "lin" -> "act"}]')
FOLD = f'NetInitialize@NetFoldOperator[{FOLD_NET}, "Input" -> {{"Varying", 3}}]'
BI = 'NetInitialize@NetBidirectionalOperator[{}, "Input" -> {{"Varying", 3}}]'


def ev(text: str):
    return netdsl.Session().evaluate(text)


def seqs(lengths, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, d)).astype(np.float32) for n in lengths]


# ---------------------------------------------------------------- shapes and text
def test_shapes_follow_the_inner_net_both_ways():
    m = ev('NetMapOperator[LinearLayer[2, "Input" -> 1]]')
    assert m.ports["Input"].spec().args[1:] == (1,)
    assert m.ports["Input"].spec().args[0] == "Varying"
    # the operator's port fixes the inner net's input
    m = ev('NetMapOperator[LinearLayer[5], "Input" -> {4, 7}]')
    assert m.net("Net").ports["Input"].shape == (7,)
    assert m.ports["Output"].shape == (4, 5)
    f = ev(f'NetFoldOperator[{FOLD_NET}, "Input" -> {{6, 3}}]')
    assert f.ports["Output"].shape == (6, 2)
    assert f.net("Net").ports["State"].shape == (2,)
    # in a chain, the length flows through
    c = ev('NetChain[{NetMapOperator[LinearLayer[4]], LongShortTermMemoryLayer[5], '
           'SequenceLastLayer[]}, "Input" -> {"Varying", 3}]')
    assert c.ports["Output"].shape == (5,)
    b = ev('NetBidirectionalOperator[LongShortTermMemoryLayer[3], "Input" -> {"Varying", 2}]')
    assert b.ports["Output"].shape[1] == 6
    assert ev('NetBidirectionalOperator[LongShortTermMemoryLayer[3], Total, '
              '"Input" -> {5, 2}]').ports["Output"].shape == (5, 3)
    # Wolfram's tests: a non-sequence output is catenated along its first level
    assert ev('NetBidirectionalOperator[SequenceLastLayer[], Catenate, "Input" -> {3, 2}]'
              ).ports["Output"].shape == (4,)
    assert ev('NetBidirectionalOperator[SequenceLastLayer[], "Input" -> {4, 3, 2}]'
              ).ports["Output"].shape == (6, 2)
    assert ev('NetBidirectionalOperator[{BasicRecurrentLayer[1], BasicRecurrentLayer[3]}, '
              'Catenate, "Input" -> {"Varying", 3}]').ports["Output"].shape[1] == 4


@pytest.mark.parametrize("text, tag, words", [
    ('NetBidirectionalOperator[{BasicRecurrentLayer[1], BasicRecurrentLayer[3]}, Total, '
     '"Input" -> {"Varying", 3}]', "tyinc",
     "Type inconsistency in NetBidirectionalOperator: shapes of forward and backward net "
     "are incompatible."),
    ('NetBidirectionalOperator[LinearLayer[2], Max]', "invarg2",
     "Second argument should be one of Catenate, Total, or Mean."),
    ('NetBidirectionalOperator[{LinearLayer[2]}]', "invarg1",
     "First argument should be a valid net or a pair of valid nets."),
    ('NetMapOperator[LinearLayer[2, "Input" -> 3], "Input" -> {"Varying", 4}]', "tyinc",
     '"Input" port of the "Net" net'),
    ('NetMapOperator[LinearLayer[2], "Input" -> "Real"]', "valfail",
     'the "Input" port must be a sequence'),
    ('NetFoldOperator[LinearLayer[2]]', "invports",
     'must have the input port "State" to feed back "Output" -> "State"'),
    ('NetFoldOperator[NetGraph[{TotalLayer[]}, {{NetPort["Input"], NetPort["State"]} -> 1}], '
     '"Input" -> {"Varying", 3}, "Output" -> {"Varying", 4}]', "tyinc", "Dimension"),
    ('NetMapOperator[MeanSquaredLossLayer[]]', "invports", "MeanSquaredLossLayer"),
    ('NetFoldOperator[LinearLayer[2], {"Output" -> "Input"}]', "invports",
     "must have an input to fold over"),
    ('NetFoldOperator[LinearLayer[2], {"Output" -> "Nope"}]', "invports",
     'must have the input port "Nope"'),
    ('NetFoldOperator[LinearLayer[2], {"Output" -> 1}]', "invfb",
     'should be a list of rules "output" -> "input"'),
    ('NetMapOperator[LinearLayer[2], "Foo" -> 3]', "optx", '"Foo" is not a port of NetMapOperator'),
])
def test_shape_and_argument_errors(text, tag, words):
    with pytest.raises(NetDSLError) as e:
        ev(text)
    assert e.value.tag == tag
    assert words in e.value.text


def test_input_form_parses_back_and_extract_reaches_inner_arrays():
    for text in (MAP, FOLD, BI.format('{LongShortTermMemoryLayer[2], BasicRecurrentLayer[2]}, '
                                      'Mean')):
        net = ev(text)
        again = ev(net.input_form())
        # (two "Varying" lengths are never the same object, so compare the text)
        assert again.input_form() == net.input_form() and type(again) is type(net)
        fixed = ev(f'NetReplacePart[{net.input_form()}, "Input" -> {{4, 3}}]')
        assert ev(fixed.input_form()) == fixed
    m = ev(MAP)
    s = netdsl.Session()
    s["m"] = m
    assert s.evaluate('NetExtract[m, "Net"]') == m.net("Net")
    w = s.evaluate('NetExtract[m, {"Net", 1, "Weights"}]')
    assert np.asarray(w).shape == (4, 3)
    assert s.evaluate('Information[m, "ArraysCount"]') == 4
    assert "NetMapOperator[NetChain (3 layers)]" in str(ev(
        f'NetChain[{{{MAP}, SequenceLastLayer[]}}]'))
    assert m.short_form() == "NetMapOperator[<initialized>]"
    assert "NetMapOperator" in m._repr_html_()
    assert "diagram of NetMapOperator" in str(s.evaluate('Information[m, "SummaryGraphic"]'))
    assert "NetMapOperator" in m.output_form() and '"Net"' in m.output_form()


def test_net_file_round_trip(tmp_path):
    pytest.importorskip("safetensors")
    for i, text in enumerate((MAP, FOLD, BI.format("LongShortTermMemoryLayer[2]"))):
        net = ev(text)
        path = tmp_path / f"n{i}.safetensors"
        netdsl.save(net, path)
        back = netdsl.load(path)
        assert back.input_form() == net.input_form()
        x = seqs([4])[0]
        np.testing.assert_array_equal(back(x), net(x))


def test_check_reports_operator_shapes():
    out, err = io.StringIO(), io.StringIO()
    code = check_text(
        'net = NetInitialize@NetBidirectionalOperator[LongShortTermMemoryLayer[4], '
        '"Input" -> {"Varying", 3}];\nnet[RandomReal[1, {5, 3}]]\n'
        'bad = NetMapOperator[LinearLayer[2, "Input" -> 3], "Input" -> {"Varying", 4}]\n',
        "t.wl", out, err)
    assert code == 1
    assert 't.wl:1: net = NetBidirectionalOperator: "Input" matrix of dimensions {n, 3} -> ' \
           '"Output" matrix of dimensions {n, 8}' in out.getvalue()
    assert "t.wl:2: output of dimensions {5, 8}" in out.getvalue()
    assert 't.wl:3:7: error: NetMapOperator::tyinc: Dimension of "Input" port of the "Net" ' \
           "net (vector of size 3)" in err.getvalue()


# ---------------------------------------------------------------- forward
def test_map_equals_the_inner_net_on_each_element_and_lengths_may_differ():
    m = ev(MAP)
    inner = m.net("Net")
    xs = seqs([3, 5, 3, 1])
    ys = m(xs)
    for x, y in zip(xs, ys):
        np.testing.assert_allclose(y, np.stack([inner(e) for e in x]), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(y, m(x), rtol=1e-6, atol=1e-7)   # alone = in the batch


def test_fold_equals_an_explicit_loop_from_a_zero_state():
    f = ev(FOLD)
    inner = f.net("Net")
    xs = seqs([4, 2, 4])
    ys = f(xs)
    for x, y in zip(xs, ys):
        state = np.zeros(2, np.float32)
        expected = []
        for e in x:
            state = inner({"Input": e, "State": state})
            expected.append(state)
        np.testing.assert_allclose(y, np.stack(expected), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(y, f(x), rtol=1e-6, atol=1e-7)   # alone (BLAS rounding)


@pytest.mark.parametrize("agg", ["Catenate", "Total", "Mean"])
def test_bidirectional_runs_the_backward_net_on_the_reversed_sequence(agg):
    b = ev(BI.format(f"{{LongShortTermMemoryLayer[2], LongShortTermMemoryLayer[2]}}, {agg}"))
    fwd, bwd = b.net("ForwardNet"), b.net("BackwardNet")
    xs = seqs([5, 3])
    ys = b(xs)
    for x, y in zip(xs, ys):
        f, r = fwd(x), bwd(x[::-1].copy())[::-1]
        expected = {"Catenate": np.concatenate([f, r], 1), "Total": f + r,
                    "Mean": (f + r) / 2}[agg]
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(y, b(x), rtol=1e-6, atol=1e-7)


def test_bidirectional_with_a_non_sequence_output():
    b = ev('NetInitialize@NetBidirectionalOperator[NetChain[{LongShortTermMemoryLayer[2], '
           'SequenceLastLayer[]}], "Input" -> {"Varying", 3}]')
    x = seqs([4])[0]
    f, r = b.net("ForwardNet")(x), b.net("BackwardNet")(x[::-1].copy())
    np.testing.assert_allclose(b(x), np.concatenate([f, r]), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- backward
NETS = {
    "map": ('NetChain[{NetMapOperator[NetChain[{LinearLayer[3], Tanh, LinearLayer[2]}]], '
            'SequenceLastLayer[]}, "Input" -> {4, 3}]'),
    "fold": f'NetChain[{{NetFoldOperator[{FOLD_NET}], SequenceLastLayer[]}}, "Input" -> {{4, 3}}]',
    "bi-catenate": ('NetChain[{NetBidirectionalOperator[{BasicRecurrentLayer[2], '
                    'GatedRecurrentLayer[3]}], LinearLayer[2]}, "Input" -> {4, 3}, '
                    '"Output" -> 2]'),
    "bi-total": ('NetChain[{NetBidirectionalOperator[LongShortTermMemoryLayer[2], Total], '
                 'SequenceMostLayer[], FlattenLayer[]}, "Input" -> {4, 3}]'),
}


@pytest.mark.parametrize("name", list(NETS))
def test_array_gradients_match_finite_differences(name):
    rng = np.random.default_rng(3)
    hz = Harness(NETS[name], {"Input": rng.standard_normal((3, 4, 3)),
                              "Output": rng.standard_normal((3, 6 if name == "bi-total" else 2))})
    loss, grad = hz.loss_and_grad()
    assert loss == pytest.approx(hz.loss(), rel=1e-10)
    assert_close(grad, hz.numeric_grad())


@pytest.mark.parametrize("text", [
    'NetMapOperator[NetChain[{LinearLayer[3], Tanh}], "Input" -> {4, 3}]',
    f'NetFoldOperator[{FOLD_NET}, "Input" -> {{4, 3}}]',
    'NetBidirectionalOperator[LongShortTermMemoryLayer[2], "Input" -> {4, 3}]',
    'NetBidirectionalOperator[NetChain[{BasicRecurrentLayer[2], SequenceLastLayer[]}], Mean, '
    '"Input" -> {4, 3}]',
])
def test_input_gradient_matches_finite_differences(text):
    net = ev(f"NetInitialize[{text}, RandomSeeding -> 2]")
    plan = compile_plan(net, "t")
    rng = np.random.default_rng(1)
    x = rng.standard_normal(net.ports["Input"].shape + (2,))   # batch-last, float64
    seed = rng.standard_normal(net(np.zeros((2, 4, 3), np.float32)).shape[1:] + (2,))

    def value(xv):
        outs, _, _ = plan.run(Ctx(), {"Input": xv})
        return float(np.sum(outs["Output"] * seed))

    ctx = Ctx(grad=True)
    ctx.keep_input_grads = True
    outs, values, caches = plan.run(ctx, {"Input": x}, keep=True)
    grads = backward(plan.steps, ctx, values, caches, {plan.outputs["Output"]: seed},
                     lambda k, g: None, set(plan.inputs.values()))
    analytic = grads[plan.inputs["Input"]]
    numeric = np.zeros_like(x)
    h = 1e-6
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        numeric[i] = (value(up) - value(down)) / (2 * h)
    assert_close(analytic, numeric, tol=1e-5)


# ---------------------------------------------------------------- training
def test_training_reduces_the_loss():
    s = netdsl.Session()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5, 2)).astype(np.float32)
    y = np.cumsum(x, axis=1)[:, :, :1] * 0.3          # a running sum: needs the fold's state
    s["x"], s["y"] = x, y
    net = s.evaluate(f'net = NetInitialize@NetFoldOperator[{FOLD_NET.replace("LinearLayer[2]", "LinearLayer[1]")}, '
                     '"Input" -> {5, 2}]')

    def mse(n):
        return float(np.mean((n(x) - y) ** 2))
    before = mse(net)
    trained = s.evaluate('NetTrain[net, x -> y, MaxTrainingRounds -> 60, BatchSize -> 16, LearningRate -> 0.03, '
                         'TrainingProgressReporting -> None]')
    assert mse(trained) < 0.1 * before
    b = s.evaluate('NetTrain[NetInitialize@NetChain[{NetBidirectionalOperator['
                   'BasicRecurrentLayer[2]], NetMapOperator[LinearLayer[1]]}, '
                   '"Input" -> {5, 2}], x -> y, MaxTrainingRounds -> 60, BatchSize -> 16, LearningRate -> 0.03, '
                   'TrainingProgressReporting -> None]')
    assert mse(b) < before


# ---------------------------------------------------------------- PyTorch
def test_bidirectional_lstm_equals_torch():
    torch = pytest.importorskip("torch")
    d, h, t, n = 3, 4, 6, 2
    torch.manual_seed(0)
    mod = torch.nn.LSTM(d, h, batch_first=True, bidirectional=True)
    net = ev(f'NetInitialize@NetBidirectionalOperator[LongShortTermMemoryLayer[{h}], '
             f'"Input" -> {{"Varying", {d}}}]')
    new = {}
    for slot, suffix in (("ForwardNet", "l0"), ("BackwardNet", "l0_reverse")):
        p = {k: getattr(mod, f"{k}_{suffix}").detach().numpy()
             for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        arrays = {}
        for k, gate in enumerate(("InputGate", "ForgetGate", "MemoryGate", "OutputGate")):
            sl = slice(k * h, (k + 1) * h)
            arrays[f"{gate}InputWeights"] = p["weight_ih"][sl].astype(np.float32)
            arrays[f"{gate}StateWeights"] = p["weight_hh"][sl].astype(np.float32)
            arrays[f"{gate}Biases"] = (p["bias_ih"][sl] + p["bias_hh"][sl]).astype(np.float32)
        new[(slot,)] = net.net(slot).evolve(arrays=arrays)
    net = replace_leaves(net, new)
    x = np.random.default_rng(0).standard_normal((n, t, d)).astype(np.float32)
    with torch.no_grad():
        expected, _ = mod(torch.from_numpy(x))
    np.testing.assert_allclose(net(x), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_an_operator_is_one_layer_to_net_surgery():
    s = netdsl.Session()
    s["c"] = ev('NetInitialize@NetChain[{NetBidirectionalOperator[LongShortTermMemoryLayer[2]], '
                'SequenceLastLayer[]}, "Input" -> {"Varying", 3}]')
    flat = s.evaluate("NetFlatten[c]")
    assert flat.order == ["1", "2"] and flat.net("1").kind == "NetBidirectionalOperator"
    replaced = s.evaluate("NetReplace[c, _LongShortTermMemoryLayer -> GatedRecurrentLayer[2]]")
    op = replaced.net("1")
    assert op.kind == "NetBidirectionalOperator" and op.aggregation == "Catenate"
    assert [op.net(n).name for n in op.order] == ["GatedRecurrentLayer"] * 2
    assert replaced.ports["Output"].shape == (4,)
    s["m"] = ev(MAP)
    appended = s.evaluate("NetAppend[m, Tanh]")
    assert appended.kind == "NetChain" and appended.net("1").kind == "NetMapOperator"
    x = seqs([4])[0]
    np.testing.assert_allclose(appended(x), np.tanh(s["m"](x)), rtol=1e-6)
    assert s.evaluate("NetGraph[m]").net("1").kind == "NetMapOperator"
    assert s.evaluate('NetReplacePart[m, "Input" -> {5, 3}]').ports["Output"].shape == (5, 2)


def test_training_moves_the_statistics_of_a_mapped_batch_normalization():
    s = netdsl.Session()
    rng = np.random.default_rng(0)
    s["x"] = (rng.standard_normal((32, 4, 2)) + 3).astype(np.float32)
    s["y"] = rng.standard_normal((32, 4, 3)).astype(np.float32)
    trained = s.evaluate('NetTrain[NetInitialize@NetMapOperator[NetChain[{LinearLayer[3], '
                         'BatchNormalizationLayer[]}], "Input" -> {4, 2}], x -> y, '
                         'MaxTrainingRounds -> 3, TrainingProgressReporting -> None]')
    s["t"] = trained
    moving = np.asarray(s.evaluate('NetExtract[t, {"Net", 2, "MovingMean"}]'))
    assert np.abs(moving).max() > 0.1      # moved from its start (zeros) toward the batches'


def test_check_trains_a_net_with_an_operator_at_shape_level():
    out, err = io.StringIO(), io.StringIO()
    code = check_text(
        f'net = NetInitialize@NetChain[{{NetFoldOperator[{FOLD_NET}], SequenceLastLayer[]}}, '
        '"Input" -> {"Varying", 3}];\n'
        't = NetTrain[net, RandomReal[1, {20, 5, 3}] -> RandomReal[1, {20, 2}], '
        'MaxTrainingRounds -> 2];\nt[RandomReal[1, {4, 3}]]\n', "t.wl", out, err)
    assert code == 0, err.getvalue()
    assert "t.wl:3: output of dimensions {2}" in out.getvalue()


def test_learning_rate_multipliers_reach_an_inner_net_by_its_name():
    s = netdsl.Session()
    rng = np.random.default_rng(0)
    s["x"] = rng.standard_normal((32, 4, 2)).astype(np.float32)
    s["y"] = rng.standard_normal((32, 4, 6)).astype(np.float32)
    s.evaluate('b = NetInitialize@NetBidirectionalOperator[BasicRecurrentLayer[3], '
               '"Input" -> {4, 2}]')
    s.evaluate('t = NetTrain[b, x -> y, MaxTrainingRounds -> 3, LearningRateMultipliers -> '
               '{"ForwardNet" -> 0}, TrainingProgressReporting -> None]')

    def weights(net, slot):
        return np.asarray(s.evaluate(f'NetExtract[{net}, {{"{slot}", "InputWeights"}}]'))
    np.testing.assert_array_equal(weights("b", "ForwardNet"), weights("t", "ForwardNet"))
    assert not np.array_equal(weights("b", "BackwardNet"), weights("t", "BackwardNet"))
