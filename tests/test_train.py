"""NetTrain: data forms, loss attachment, options and their defaults, properties, results,
progress reporting, Ctrl-C, determinism, immutability, and BatchNormalization's moving
statistics during training (wolfram-semantics.md §3.5, §11).

Expected values come from the documented formulas, computed here by hand from the
initial net's own arrays, never captured from a previous run.
"""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import netdsl
from netdsl.expr import to_ndarray
from netdsl.layers.base import Net
from netdsl.runtime import train as T
from netdsl.runtime.train import loop as L

QUIET = "TrainingProgressReporting -> None"


def session(**defs) -> netdsl.Session:
    s = netdsl.Session()
    for name, text in defs.items():
        s.evaluate(f"{name} = {text}")
    return s


def arrays_of(net: Net) -> dict:
    """Every array of a net (shared ones by name), as float64 NumPy arrays."""
    from netdsl.layers.base import SharedRef
    out = {}
    for path, layer in net.leaves():
        for name, v in layer.arrays.items():
            if isinstance(v, SharedRef):
                out[("shared", v.name)] = np.array(net.shared[v.name], np.float64)
            elif isinstance(v, np.ndarray):
                out[(path, name)] = np.array(v, np.float64)
    return out


def same_arrays(a: Net, b: Net) -> bool:
    x, y = arrays_of(a), arrays_of(b)
    return x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)


def num(x) -> np.ndarray:
    return np.asarray(to_ndarray(x), np.float64)


# ---------------------------------------------------------------- data forms
CLASSIFIER = ('NetInitialize[NetChain[{LinearLayer[4], Tanh, LinearLayer[3], SoftmaxLayer[]}, '
              '"Input" -> 2], RandomSeeding -> 7]')
X = [[0, 0], [1, 0], [0, 1], [1, 1], [0.5, 0.2], [0.3, 0.9]]
Y = [1, 2, 3, 2, 1, 3]


def wl(v) -> str:
    return str(v).replace("[", "{").replace("]", "}")


@pytest.mark.parametrize("form", [
    "{" + ", ".join(f"{wl(x)} -> {y}" for x, y in zip(X, Y)) + "}",
    f"{wl(X)} -> {wl(Y)}",
    f'<|"Input" -> {wl(X)}, "Output" -> {wl(Y)}|>',
    "{" + ", ".join(f'<|"Input" -> {wl(x)}, "Output" -> {y}|>' for x, y in zip(X, Y)) + "}",
])
def test_data_forms_train_the_same_net(form):
    s = session(net=CLASSIFIER)
    ref = s.evaluate(f"NetTrain[net, {wl(X)} -> {wl(Y)}, MaxTrainingRounds -> 3, "
                     f"BatchSize -> 2, {QUIET}]")
    got = s.evaluate(f"NetTrain[net, {form}, MaxTrainingRounds -> 3, BatchSize -> 2, {QUIET}]")
    assert same_arrays(ref, got)
    assert not same_arrays(ref, s.evaluate("net"))


def test_bad_data_is_a_clear_error():
    s = session(net=CLASSIFIER)
    with pytest.raises(netdsl.EvaluationError, match="port .Foo."):
        s.evaluate(f'NetTrain[net, <|"Foo" -> {wl(X)}, "Output" -> {wl(Y)}|>, {QUIET}]')
    with pytest.raises(netdsl.EvaluationError, match="class indices between 1 and 3"):
        s.evaluate(f"NetTrain[net, {{{{0, 0}} -> 4}}, {QUIET}]")
    with pytest.raises(netdsl.EvaluationError, match="nothing for port"):
        s.evaluate(f'NetTrain[net, <|"Input" -> {wl(X)}|>, {QUIET}]')
    with pytest.raises(netdsl.EvaluationError, match='port "Foo" that the net does not have'):
        s.evaluate(f'NetTrain[net, {{<|"Input" -> {{0, 0}}, "Output" -> 1, "Foo" -> 3|>}}, '
                   f'{QUIET}]')
    with pytest.raises(netdsl.EvaluationError, match="Example 2 of the training data"):
        s.evaluate(f'NetTrain[net, {{<|"Input" -> {{0, 0}}, "Output" -> 1|>, '
                   f'<|"Input" -> {{0, 1}}|>}}, {QUIET}]')
    with pytest.raises(netdsl.EvaluationError, match="empty"):
        s.evaluate(f"NetTrain[net, {{}}, {QUIET}]")
    with pytest.raises(netdsl.EvaluationError, match="different numbers of examples"):
        s.evaluate(f"NetTrain[net, {wl(X)} -> {{1, 2}}, {QUIET}]")


# ---------------------------------------------------------------- loss attachment
def first_batch_loss(s, net_name: str, data: str, extra: str = "") -> float:
    """The loss of the first batch: one batch holding all the data, so it is the loss of
    the initial net on all of it."""
    losses = s.evaluate(f'NetTrain[{net_name}, {data}, "BatchLossList", BatchSize -> 100, '
                        f'MaxTrainingRounds -> 1, {QUIET}{extra}]')
    return float(num(losses)[0])


def test_softmax_gets_cross_entropy_with_class_indices():
    s = session(net=CLASSIFIER)
    net = s.evaluate("net")
    p = net(np.array(X, np.float32)).astype(np.float64)
    expected = -np.mean(np.log(p[np.arange(len(Y)), np.array(Y) - 1]))
    assert first_batch_loss(s, "net", f"{wl(X)} -> {wl(Y)}") == pytest.approx(expected, rel=1e-5)


def test_softmax_with_probability_targets():
    s = session(net=CLASSIFIER)
    t = np.eye(3)[np.array(Y) - 1] * 0.8 + 0.2 / 3
    p = s.evaluate("net")(np.array(X, np.float32)).astype(np.float64)
    expected = -np.mean(np.sum(t * np.log(p), axis=1))
    got = first_batch_loss(s, "net", f"{wl(X)} -> {wl(t.tolist())}")
    assert got == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("sigmoid", ["LogisticSigmoid", "ElementwiseLayer[LogisticSigmoid]"])
def test_logistic_sigmoid_gets_binary_cross_entropy(sigmoid):
    s = session(net=f'NetInitialize[NetChain[{{LinearLayer[1], {sigmoid}}}, "Input" -> 2]]')
    t = np.array([[1], [0], [1], [0], [1], [1]], float)
    p = s.evaluate("net")(np.array(X, np.float32)).astype(np.float64)
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert first_batch_loss(s, "net", f"{wl(X)} -> {wl(t.tolist())}") == \
        pytest.approx(expected, rel=1e-5)


def test_real_output_gets_mean_squared_error():
    s = session(net='NetInitialize[NetChain[{LinearLayer[3], Tanh, LinearLayer[2]}, '
                    '"Input" -> 2]]')
    t = np.arange(12).reshape(6, 2) / 10
    y = s.evaluate("net")(np.array(X, np.float32)).astype(np.float64)
    expected = np.mean((y - t) ** 2)
    assert first_batch_loss(s, "net", f"{wl(X)} -> {wl(t.tolist())}") == \
        pytest.approx(expected, rel=1e-5)


def test_loss_function_option():
    s = session(net=CLASSIFIER)
    t = np.eye(3)[np.array(Y) - 1]
    p = s.evaluate("net")(np.array(X, np.float32)).astype(np.float64)
    got = first_batch_loss(s, "net", f"{wl(X)} -> {wl(t.tolist())}",
                           ", LossFunction -> MeanSquaredLossLayer[]")
    assert got == pytest.approx(np.mean((p - t) ** 2), rel=1e-5)
    with pytest.raises(netdsl.EvaluationError, match="LossFunction"):
        s.evaluate(f"NetTrain[net, {wl(X)} -> {wl(Y)}, LossFunction -> 3, {QUIET}]")


LOSS_GRAPH = ('NetInitialize[NetGraph[<|"net" -> LinearLayer[3], "s" -> SoftmaxLayer[], '
              '"loss" -> CrossEntropyLossLayer["Index"]|>, {"net" -> "s" -> NetPort["loss", '
              '"Input"]}, "Input" -> 2]]')


def test_a_net_with_a_loss_output_trains_on_it():
    # the layer named "net" must not be mistaken for the wrapper NetTrain puts around nets
    s = session(g=LOSS_GRAPH)
    g = s.evaluate("g")
    assert g.port_names() == (("Input", "Target"), ("Loss",))
    loss = g({"Input": np.array(X, np.float32), "Target": np.array(Y)})
    data = f'<|"Input" -> {wl(X)}, "Target" -> {wl(Y)}|>'
    assert first_batch_loss(s, "g", data) == pytest.approx(float(np.mean(loss)), rel=1e-5)
    assert first_batch_loss(s, "g", data, ', LossFunction -> "Loss"') == \
        pytest.approx(float(np.mean(loss)), rel=1e-5)
    # the rule form: the net's one input, and its one non-input port (the target)
    assert first_batch_loss(s, "g", f"{wl(X)} -> {wl(Y)}") == \
        pytest.approx(float(np.mean(loss)), rel=1e-5)
    trained = s.evaluate(f"NetTrain[g, {data}, MaxTrainingRounds -> 2, {QUIET}]")
    assert trained.head_name == "NetGraph" and trained.port_names() == g.port_names()
    assert not same_arrays(trained, g)


def test_two_outputs_get_two_losses_summed():
    s = session(net='NetInitialize[NetGraph[{LinearLayer[2], SoftmaxLayer[], LinearLayer[1]}, '
                    '{1 -> 2 -> NetPort["Class"], 1 -> 3 -> NetPort["Value"]}, "Input" -> 2]]')
    net = s.evaluate("net")
    out = net(np.array(X, np.float32))
    p, v = out["Class"].astype(np.float64), out["Value"].astype(np.float64)
    cls = np.array([1, 2, 2, 1, 1, 2])
    val = np.linspace(0, 1, 6)[:, None]
    expected = -np.mean(np.log(p[np.arange(6), cls - 1])) + np.mean((v - val) ** 2)
    data = f'<|"Input" -> {wl(X)}, "Class" -> {wl(cls.tolist())}, "Value" -> {wl(val.tolist())}|>'
    assert first_batch_loss(s, "net", data) == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------- options
def test_options_as_strings_work_like_symbols():
    s = session(net=CLASSIFIER)
    a = s.evaluate(f"NetTrain[net, {wl(X)} -> {wl(Y)}, All, BatchSize -> 4, "
                   f"MaxTrainingRounds -> 3, Method -> \"SGD\", LearningRate -> 0.1, {QUIET}]")
    b = s.evaluate(f'NetTrain[net, {wl(X)} -> {wl(Y)}, All, "BatchSize" -> 4, '
                   f'"MaxTrainingRounds" -> 3, "Method" -> "SGD", "LearningRate" -> 0.1, '
                   f'"TrainingProgressReporting" -> None]')
    assert a.props["BatchSize"] == b.props["BatchSize"] == 4
    assert a.props["TotalRounds"] == b.props["TotalRounds"] == 3
    assert a.props["TotalBatches"] == b.props["TotalBatches"] == 6      # 4 + 2 per round
    assert same_arrays(a.props["TrainedNet"], b.props["TrainedNet"])
    assert s.evaluate(f'NetTrain[net, {wl(X)} -> {wl(Y)}, "BatchSize", "BatchSize" -> 8, '
                      f'MaxTrainingRounds -> 1, {QUIET}]') == 6   # at most the data size
    assert s.evaluate(f'NetTrain[net, {wl(X)} -> {wl(Y)}, BatchSize, "BatchSize" -> 3, '
                      f'MaxTrainingRounds -> 1, {QUIET}]') == 3


def test_unknown_option_or_property_is_reported_before_training(monkeypatch):
    s = session(net=CLASSIFIER)
    monkeypatch.setattr(L, "_loop", lambda *a: pytest.fail("trained anyway"))
    with pytest.raises(netdsl.EvaluationError, match="Unknown option Foo"):
        s.evaluate(f"NetTrain[net, {wl(X)} -> {wl(Y)}, Foo -> 3]")
    with pytest.raises(netdsl.EvaluationError, match='"Foo" is not a NetTrain property'):
        s.evaluate(f'NetTrain[net, {wl(X)} -> {wl(Y)}, "Foo"]')
    with pytest.raises(netdsl.EvaluationError, match="BatchSize -> 0"):
        s.evaluate(f"NetTrain[net, {wl(X)} -> {wl(Y)}, BatchSize -> 0]")


def test_defaults():
    o = T.read_options(dict(T.OPTION_DEFAULTS))
    assert o.batch_size is None and o.max_rounds is None and o.time_goal is None
    st = o.settings
    assert (st.method, st.lr, st.beta1, st.beta2) == ("ADAM", 0.001, 0.9, 0.999)
    assert st.epsilon in (None, 1e-5) and st.l2 == 0 and st.gradient_clipping is None
    sgd = T.read_options({**T.OPTION_DEFAULTS, "Method": "SGD"}).settings
    assert sgd.lr == 0.01 and sgd.momentum in (None, 0.93)
    o = T.read_options({**T.OPTION_DEFAULTS, "L2Regularization": 0.01,
                        "GradientClipping": 2, "LearningRate": 0.5})
    assert (o.settings.l2, o.settings.gradient_clipping, o.settings.lr) == (0.01, 2.0, 0.5)


def test_batch_size_automatic_is_64_or_the_data_size():
    s = session(net='NetChain[{LinearLayer[2]}, "Input" -> 1]')
    r = s.evaluate(f'NetTrain[net, Table[{{i}} -> {{i, -i}}, {{i, 100}}], All, '
                   f'MaxTrainingRounds -> 2, {QUIET}]')
    assert r.props["BatchSize"] == 64 and r.props["TotalBatches"] == 4
    assert r.props["BatchesPerRound"] == 2 and r.props["ExamplesProcessed"] == 200
    r = s.evaluate(f'NetTrain[net, Table[{{i}} -> {{i, -i}}, {{i, 10}}], All, '
                   f'MaxTrainingRounds -> 2, {QUIET}]')
    assert r.props["BatchSize"] == 10 and r.props["TotalBatches"] == 2


class FakeClock:
    """time.perf_counter for the training loop: each batch takes ``dt`` seconds."""

    def __init__(self, monkeypatch, dt: float):
        self.now = 0.0
        self.dt = dt
        self.batches = 0
        real = L._train_step

        def step(*a, **k):
            self.now += self.dt
            self.batches += 1
            return real(*a, **k)
        monkeypatch.setattr(L, "_train_step", step)
        monkeypatch.setattr(L, "time", self)

    def perf_counter(self):
        return self.now


TINY = ('NetChain[{LinearLayer[1]}, "Input" -> 1]', "{{1.} -> {2.}, {2.} -> {3.}}")


def test_max_training_rounds_automatic_is_about_20_seconds(monkeypatch):
    clock = FakeClock(monkeypatch, 0.5)           # one batch per round: 0.5 s a round
    s = session(net=TINY[0])
    r = s.evaluate(f"NetTrain[net, {TINY[1]}, All, {QUIET}]")
    assert r.props["TotalRounds"] == 40 and clock.batches == 40
    assert r.props["TotalTrainingTime"] == pytest.approx(20.0)
    assert r.props["ReasonTrainingStopped"] == "MaxTrainingRoundsReached"


def test_max_training_rounds_automatic_is_at_most_10000(monkeypatch):
    clock = FakeClock(monkeypatch, 1e-6)      # 20 s would be 20 million rounds
    s = session(net=TINY[0])
    assert s.evaluate(f'NetTrain[net, {TINY[1]}, "TotalRounds", {QUIET}]') == 10_000
    assert clock.batches == 10_000


def test_time_goal(monkeypatch):
    FakeClock(monkeypatch, 1.0)
    s = session(net=TINY[0])
    r = s.evaluate(f"NetTrain[net, {TINY[1]}, All, TimeGoal -> 3, BatchSize -> 1, {QUIET}]")
    assert r.props["TotalBatches"] == 3 and r.props["TotalRounds"] == 1
    assert r.props["ReasonTrainingStopped"] == "TimeGoalReached"
    r = s.evaluate(f"NetTrain[net, {TINY[1]}, All, TimeGoal -> 30, MaxTrainingRounds -> 4, "
                   f"{QUIET}]")
    assert r.props["TotalRounds"] == 4             # the shorter of the two wins
    r = s.evaluate(f"NetTrain[net, {TINY[1]}, All, TimeGoal -> 3, MaxTrainingRounds -> 40, "
                   f"{QUIET}]")
    assert r.props["TotalRounds"] == 3


def test_learning_rate_option_scales_the_first_step():
    s = session(net='NetChain[{LinearLayer[1, "Weights" -> {{0.}}, "Biases" -> {0.}]}, '
                    '"Input" -> 1]')
    for lr in (0.01, 0.2):
        # ADAM's first step is lr Sign[g] (up to eps): g < 0 for both arrays here
        s.evaluate(f"t = NetTrain[net, {{{{1.}} -> {{1.}}}}, MaxTrainingRounds -> 1, "
                   f"LearningRate -> {lr}, {QUIET}]")
        w = num(s.evaluate('Normal[NetExtract[t, {1, "Weights"}]]'))
        b = num(s.evaluate('Normal[NetExtract[t, {1, "Biases"}]]'))
        np.testing.assert_allclose([w[0, 0], b[0]], [lr, lr], rtol=1e-3)


def test_learning_rate_multipliers(monkeypatch):
    s = session(net='NetInitialize[NetChain[<|"a" -> LinearLayer[3], "t" -> Tanh, '
                    '"b" -> LinearLayer[2]|>, "Input" -> 2]]')
    data = "Table[{i, i^2} -> {Sin[i], Cos[i]}, {i, 0, 1, 0.1}]"
    net = s.evaluate("net")
    t = s.evaluate(f'NetTrain[net, {data}, MaxTrainingRounds -> 3, {QUIET}, '
                   f'LearningRateMultipliers -> {{"a" -> 0}}]')
    assert np.array_equal(t.net("a").arrays["Weights"], net.net("a").arrays["Weights"])
    assert not np.array_equal(t.net("b").arrays["Weights"], net.net("b").arrays["Weights"])
    t = s.evaluate(f'NetTrain[net, {data}, MaxTrainingRounds -> 3, {QUIET}, '
                   f'LearningRateMultipliers -> {{{{"b", "Biases"}} -> 0}}]')
    assert np.array_equal(t.net("b").arrays["Biases"], net.net("b").arrays["Biases"])
    assert not np.array_equal(t.net("b").arrays["Weights"], net.net("b").arrays["Weights"])
    # a multiplier scales the learning rate: ADAM's first step is about lr * multiplier
    t = s.evaluate(f'NetTrain[net, {data}, MaxTrainingRounds -> 1, BatchSize -> 100, {QUIET}, '
                   f'LearningRate -> 0.01, LearningRateMultipliers -> {{"a" -> 0.25}}]')
    step_a = np.abs(t.net("a").arrays["Biases"] - net.net("a").arrays["Biases"])
    step_b = np.abs(t.net("b").arrays["Biases"] - net.net("b").arrays["Biases"])
    np.testing.assert_allclose(step_b, 0.01, rtol=0.02)
    np.testing.assert_allclose(step_a, 0.0025, rtol=0.02)
    with pytest.raises(netdsl.EvaluationError, match="does not name a layer"):
        s.evaluate(f'NetTrain[net, {data}, LearningRateMultipliers -> {{"zz" -> 0}}, {QUIET}]')


def test_everything_frozen_returns_the_net_with_a_message(capsys):
    s = session(net='NetInitialize[NetChain[{LinearLayer[1]}, "Input" -> 1]]')
    t = s.evaluate(f"NetTrain[net, {TINY[1]}, LearningRateMultipliers -> 0, {QUIET}]")
    assert t is s.evaluate("net")
    assert "NetTrain::netfrozen" in capsys.readouterr().err


# ---------------------------------------------------------------- validation
def test_validation_set_returns_the_net_with_the_lowest_validation_loss(monkeypatch):
    s = session(net=CLASSIFIER)
    data = f"{wl(X)} -> {wl(Y)}"
    losses = iter([3.0, 1.0, 2.0, 5.0])
    monkeypatch.setattr(L, "_evaluate_loss", lambda *a: next(losses))
    r = s.evaluate(f"NetTrain[net, {data}, All, MaxTrainingRounds -> 4, BatchSize -> 3, "
                   f"ValidationSet -> {data}, {QUIET}]")
    monkeypatch.undo()
    assert list(num(r.props["ValidationLossList"])) == [3.0, 1.0, 2.0, 5.0]
    assert r.props["ValidationLoss"] == 5.0      # the most recent measurement
    assert r.props["BestValidationRound"] == 2
    after2 = s.evaluate(f"NetTrain[net, {data}, MaxTrainingRounds -> 2, BatchSize -> 3, "
                        f"{QUIET}]")
    after4 = s.evaluate(f"NetTrain[net, {data}, MaxTrainingRounds -> 4, BatchSize -> 3, "
                        f"{QUIET}]")
    assert same_arrays(r.props["TrainedNet"], after2)
    assert not same_arrays(r.props["TrainedNet"], after4)


def test_validation_set_scaled_holds_out_the_last_examples():
    s = session(net='NetInitialize[NetChain[{LinearLayer[3], Tanh, LinearLayer[1]}, '
                    '"Input" -> 1]]')
    xs = np.linspace(-1, 1, 20)
    ys = np.sin(3 * xs)
    data = f"{wl(xs[:, None].tolist())} -> {wl(ys[:, None].tolist())}"
    r = s.evaluate(f"NetTrain[net, {data}, All, ValidationSet -> Scaled[0.25], "
                   f"MaxTrainingRounds -> 6, LearningRate -> 0.05, {QUIET}]")
    assert r.props["TrainingExamples"] == 15 and r.props["ValidationExamples"] == 5
    vl = num(r.props["ValidationLossList"])
    assert len(vl) == 6 == r.props["TotalRounds"]
    best = int(np.argmin(vl)) + 1
    assert r.props["BestValidationRound"] == best
    trained = r.props["TrainedNet"]
    pred = trained(xs[15:, None].astype(np.float32))[:, 0].astype(np.float64)
    assert np.mean((pred - ys[15:]) ** 2) == pytest.approx(vl.min(), rel=1e-5)
    # the training data is the rest: each round sees 15 examples
    assert r.props["ExamplesProcessed"] == 6 * 15
    with pytest.raises(netdsl.EvaluationError, match="Scaled"):
        s.evaluate(f"NetTrain[net, {data}, ValidationSet -> Scaled[1.5], {QUIET}]")


# ---------------------------------------------------------------- properties
PROPS = ["TrainedNet", "RoundLoss", "RoundLossList", "BatchLossList", "ValidationLoss",
         "ValidationLossList", "TotalTrainingTime", "MeanExamplesPerSecond", "TotalRounds",
         "BatchSize", "ReasonTrainingStopped", "TotalBatches", "ExamplesProcessed"]


def test_properties_and_results_object():
    s = session(net=CLASSIFIER)
    data = f"{wl(X)} -> {wl(Y)}"
    opts = f"MaxTrainingRounds -> 5, BatchSize -> 4, ValidationSet -> {data}, {QUIET}"
    s.evaluate(f"r = NetTrain[net, {data}, All, {opts}]")
    r = s.evaluate("r")
    assert netdsl.input_form(r) == "NetTrainResultsObject[<>]"
    assert "rounds 5" in netdsl.output_form(r)
    v = {p: s.evaluate(f'r["{p}"]') for p in PROPS}
    assert isinstance(v["TrainedNet"], Net)
    rounds, batches = num(v["RoundLossList"]), num(v["BatchLossList"])
    assert len(rounds) == 5 and len(batches) == 10
    # a round's loss is the mean of its batches' losses, weighted by batch size (4 + 2)
    np.testing.assert_allclose(rounds, (batches[0::2] * 4 + batches[1::2] * 2) / 6, rtol=1e-12)
    assert v["RoundLoss"] == pytest.approx(rounds[-1])
    assert len(num(v["ValidationLossList"])) == 5
    assert v["ValidationLoss"] == pytest.approx(num(v["ValidationLossList"])[-1])
    assert v["TotalRounds"] == 5 and v["BatchSize"] == 4 and v["TotalBatches"] == 10
    assert v["ExamplesProcessed"] == 30
    assert v["ReasonTrainingStopped"] == "MaxTrainingRoundsReached"
    assert v["TotalTrainingTime"] > 0
    assert v["MeanExamplesPerSecond"] == pytest.approx(30 / v["TotalTrainingTime"])
    assert s.evaluate('r["BatchSize"]') == 4
    # the same values from NetTrain[net, data, "prop"] (same seed: same training)
    assert num(s.evaluate(f'NetTrain[net, {data}, "RoundLossList", {opts}]')).tolist() == \
        rounds.tolist()
    got = s.evaluate(f'NetTrain[net, {data}, {{"TotalRounds", "BatchSize"}}, {opts}]')
    assert netdsl.input_form(got) == "{5, 4}"
    with pytest.raises(netdsl.EvaluationError, match="not a NetTrain property"):
        s.evaluate('r["Nope"]')


def test_loss_plot_without_matplotlib(monkeypatch):
    s = session(net=TINY[0])
    monkeypatch.setitem(sys.modules, "matplotlib", None)     # import matplotlib fails
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    for name in ("LossPlot", "LossEvolutionPlot"):
        with pytest.raises(netdsl.EvaluationError, match="needs matplotlib.*RoundLossList"):
            s.evaluate(f'NetTrain[net, {TINY[1]}, "{name}", MaxTrainingRounds -> 3, {QUIET}]')


def test_loss_plot_with_matplotlib(tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    backend = dict.__getitem__(matplotlib.rcParams, "backend")   # reading it may import pyplot
    pyplot_before = "matplotlib.pyplot" in sys.modules
    monkeypatch.setenv("TMPDIR", str(tmp_path))        # any temporary file would land here
    s = session(net=TINY[0])
    s.evaluate(f"r = NetTrain[net, {TINY[1]}, All, MaxTrainingRounds -> 5, {QUIET}]")
    for name in ("LossPlot", "LossEvolutionPlot"):
        pic = s.evaluate(f'r["{name}"]')
        assert pic.head_name == "Image"
        assert pic.png[:8] == b"\x89PNG\r\n\x1a\n" and pic._repr_png_() is pic.png
    # drawn in memory: no file written, matplotlib's backend untouched, no pyplot
    assert list(tmp_path.iterdir()) == []
    assert dict.__getitem__(matplotlib.rcParams, "backend") == backend
    assert ("matplotlib.pyplot" in sys.modules) == pyplot_before


# ---------------------------------------------------------------- progress reporting
class TTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal(monkeypatch):
    FakeClock(monkeypatch, 0.3)
    err = TTY()
    monkeypatch.setattr(sys, "stderr", err)
    s = session(net=TINY[0])
    s.evaluate(f"NetTrain[net, {TINY[1]}, MaxTrainingRounds -> 4, BatchSize -> 1]")
    text = err.getvalue()
    assert "\r" in text and "round 1/4" in text and "round 4/4" in text
    assert "loss " in text and "examples/s" in text and "s left" in text
    assert text.endswith("\r")                    # the bar is cleared at the end


def test_silent_with_none_even_on_a_terminal(monkeypatch):
    err = TTY()
    monkeypatch.setattr(sys, "stderr", err)
    s = session(net=TINY[0])
    s.evaluate(f"NetTrain[net, {TINY[1]}, MaxTrainingRounds -> 3, {QUIET}]")
    assert err.getvalue() == ""


def test_one_line_per_round_off_a_terminal_by_default(capsys):
    s = session(net=TINY[0])
    s.evaluate(f"NetTrain[net, {TINY[1]}, MaxTrainingRounds -> 3]")
    err = capsys.readouterr().err
    assert "\r" not in err
    assert [ln.split()[:2] for ln in err.splitlines()] == [["round", "1/3"], ["round", "2/3"],
                                                           ["round", "3/3"]]


def test_print_reporting_writes_one_line_per_round(capsys):
    s = session(net=TINY[0])
    s.evaluate(f'NetTrain[net, {TINY[1]}, MaxTrainingRounds -> 3, BatchSize -> 1, '
               f'TrainingProgressReporting -> "Print"]')
    lines = capsys.readouterr().err.strip().splitlines()
    assert [ln.split()[1] for ln in lines] == ["1/3", "2/3", "3/3"]


# ---------------------------------------------------------------- immutability, Ctrl-C, seeds
def test_training_never_changes_the_net_passed_in():
    s = session(net='NetInitialize[NetChain[{LinearLayer[3], BatchNormalizationLayer[], Tanh, '
                    'LinearLayer[2]}, "Input" -> 2]]')
    net = s.evaluate("net")
    before = arrays_of(net)
    trained = s.evaluate(f"NetTrain[net, {wl(X)} -> {wl(np.ones((6, 2)).tolist())}, "
                         f"MaxTrainingRounds -> 3, {QUIET}]")
    assert trained is not net
    after = arrays_of(net)
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert not same_arrays(trained, net)
    assert s.evaluate("net") is net
    # an uninitialised net stays uninitialised; the trained one is initialised
    s.evaluate('raw = NetChain[{LinearLayer[1]}, "Input" -> 1]')
    t = s.evaluate(f"NetTrain[raw, {TINY[1]}, MaxTrainingRounds -> 1, {QUIET}]")
    assert s.evaluate("raw").net("1").arrays["Weights"] is None
    assert isinstance(t.net("1").arrays["Weights"], np.ndarray)


def test_ctrl_c_returns_the_net_trained_so_far(monkeypatch, capsys):
    s = session(net=CLASSIFIER)
    data = f"{wl(X)} -> {wl(Y)}"
    ref = s.evaluate(f"NetTrain[net, {data}, MaxTrainingRounds -> 1, BatchSize -> 3, {QUIET}]")
    real = L._train_step
    calls = []

    def step(*a, **k):
        calls.append(1)
        if len(calls) == 3:                 # the first batch of round 2
            raise KeyboardInterrupt
        return real(*a, **k)
    monkeypatch.setattr(L, "_train_step", step)
    # a library caller gets the KeyboardInterrupt, as from any Python function
    with pytest.raises(KeyboardInterrupt):
        s.evaluate(f"NetTrain[net, {data}, All, MaxTrainingRounds -> 10, BatchSize -> 3]")
    # interactive sessions (the netdsl command, the REPL) stop and keep the net so far
    calls.clear()
    s = netdsl.Session(interactive=True)
    s.evaluate(f"net = {CLASSIFIER}")
    r = s.evaluate(f"NetTrain[net, {data}, All, MaxTrainingRounds -> 10, BatchSize -> 3]")
    assert r.props["ReasonTrainingStopped"] == "ManualStop"
    assert r.props["TotalRounds"] == 1 and r.props["TotalBatches"] == 2
    assert same_arrays(r.props["TrainedNet"], ref)
    assert "stopped by the user" in capsys.readouterr().err
    # from the command-line runner too: no traceback, exit status 0
    from netdsl.cli import main
    calls.clear()
    script = f"t = NetTrain[{CLASSIFIER}, {data}, BatchSize -> 3, MaxTrainingRounds -> 10]; " \
             f'Print[Head[t]]'
    assert main(["-c", script]) == 0
    out = capsys.readouterr()
    assert "NetChain" in out.out and "Traceback" not in out.err


def test_same_random_seeding_gives_identical_nets():
    s = session(net='NetChain[{LinearLayer[5], Tanh, DropoutLayer[0.3], LinearLayer[3], '
                    'SoftmaxLayer[]}, "Input" -> 2]')
    data = f"{wl(X)} -> {wl(Y)}"
    run = f"NetTrain[net, {data}, MaxTrainingRounds -> 4, BatchSize -> 4, {QUIET}, " \
          f"RandomSeeding -> %s]"
    a, b = s.evaluate(run % 42), s.evaluate(run % 42)
    assert same_arrays(a, b)
    assert not same_arrays(a, s.evaluate(run % 43))
    assert same_arrays(s.evaluate(run % '"abc"'), s.evaluate(run % '"abc"'))
    # the default seeding is fixed too (Wolfram's default is Inherited; netdsl's is 1234)
    assert same_arrays(s.evaluate(run.replace(", RandomSeeding -> %s", "")),
                       s.evaluate(run % 1234))
    assert not same_arrays(s.evaluate(run % "Automatic"), s.evaluate(run % "Automatic"))


# ---------------------------------------------------------------- BatchNormalization
BN3 = 'BatchNormalizationLayer["Input" -> 3]'
BATCH = "{{1, 2, 3} -> {0, 0, 0}, {3, 6, 9} -> {0, 0, 0}}"


@pytest.mark.parametrize("method", [
    'Method -> "SGD", LearningRate -> 0',
    'Method -> "ADAM", LearningRate -> 0.1, "L2Regularization" -> 1',
])
def test_worked_example_moving_statistics(method):
    """§3.5: batch mean {2, 4, 6}, biased variance {1, 4, 9}; one update with Momentum 0.9
    from fresh arrays (0, 1): MovingMean {0.2, 0.4, 0.6}, MovingVariance {1., 1.3, 1.8}.
    The layer reads the data directly, so its statistics do not depend on the optimiser."""
    s = session(bn=BN3)
    t = s.evaluate(f"t = NetTrain[bn, {BATCH}, MaxTrainingRounds -> 1, {method}, {QUIET}]")
    np.testing.assert_allclose(num(s.evaluate('Normal[NetExtract[t, "MovingMean"]]')),
                               [0.2, 0.4, 0.6], rtol=1e-6)
    np.testing.assert_allclose(t.arrays["MovingMean"], [0.2, 0.4, 0.6], rtol=1e-6)
    np.testing.assert_allclose(t.arrays["MovingVariance"], [1.0, 1.3, 1.8], rtol=1e-6)


def test_training_outputs_use_batch_statistics():
    # Train mode: y = (x - mean)/Sqrt[var + eps] with the batch's own statistics, so the
    # squared-error loss against 0 is Mean[var/(var + eps)] over the channels; with the
    # moving statistics (0, 1) it would be Mean[x^2]/(1 + eps)
    s = session(bn=BN3)
    loss = num(s.evaluate(f'NetTrain[bn, {BATCH}, "BatchLossList", MaxTrainingRounds -> 1, '
                          f'{QUIET}]'))[0]
    var = np.array([1.0, 4.0, 9.0])
    assert loss == pytest.approx(np.mean(var / (var + 0.001)), rel=1e-6)


def test_moving_statistics_follow_the_momentum_each_batch():
    s = session(bn='BatchNormalizationLayer["Input" -> 3, "Momentum" -> 0.7]')
    t = s.evaluate(f"NetTrain[bn, {BATCH}, MaxTrainingRounds -> 5, {QUIET}]")
    k = 1 - 0.7 ** 5            # five batches of the same data: m = (1 - 0.7^5) batch
    np.testing.assert_allclose(t.arrays["MovingMean"], k * np.array([2, 4, 6]), rtol=1e-5)
    np.testing.assert_allclose(t.arrays["MovingVariance"],
                               0.7 ** 5 + k * np.array([1, 4, 9]), rtol=1e-5)
    # two batches per round, different statistics: the update is per batch, in order
    s = session(bn=BN3)
    data = "{{1, 2, 3} -> {0, 0, 0}, {3, 6, 9} -> {0, 0, 0}, {0, 0, 0} -> {0, 0, 0}, " \
           "{2, 2, 2} -> {0, 0, 0}}"
    r = s.evaluate(f"NetTrain[bn, {data}, All, MaxTrainingRounds -> 1, BatchSize -> 2, "
                   f"Method -> \"SGD\", LearningRate -> 0, {QUIET}]")
    x = np.array([[1, 2, 3], [3, 6, 9], [0, 0, 0], [2, 2, 2]], float)
    # whichever pairs the shuffle made, m = 0.9 (0.1 a) + 0.1 b for the batch means a, b;
    # try the three pairings and require one of them to match
    mm = r.props["TrainedNet"].arrays["MovingMean"]
    pairings = [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]
    cands = []
    for p, q in pairings:
        for first, second in ((p, q), (q, p)):
            a, b = x[list(first)].mean(0), x[list(second)].mean(0)
            cands.append(0.9 * 0.1 * a + 0.1 * b)
    assert any(np.allclose(mm, c, rtol=1e-5) for c in cands)


@pytest.mark.parametrize("how", ['"Momentum" -> 1', "LearningRateMultipliers -> 0"])
def test_moving_statistics_frozen(how):
    s = session(net=f'NetInitialize[NetChain[{{LinearLayer[3], BatchNormalizationLayer[{how}], '
                    f'LinearLayer[2]}}, "Input" -> 2]]')
    t = s.evaluate(f"NetTrain[net, {wl(X)} -> {wl(np.ones((6, 2)).tolist())}, "
                   f"MaxTrainingRounds -> 3, {QUIET}]")
    bn = t.net("2").arrays
    np.testing.assert_array_equal(bn["MovingMean"], 0)
    np.testing.assert_array_equal(bn["MovingVariance"], 1)
    if "Multipliers" in how:
        np.testing.assert_array_equal(bn["Scaling"], 1)
    else:
        assert not np.array_equal(bn["Scaling"], np.ones(3))


def test_moving_statistics_frozen_by_net_train_multiplier():
    s = session(net='NetInitialize[NetChain[<|"l" -> LinearLayer[3], '
                    '"bn" -> BatchNormalizationLayer[], "o" -> LinearLayer[2]|>, "Input" -> 2]]')
    data = f"{wl(X)} -> {wl(np.ones((6, 2)).tolist())}"
    t = s.evaluate(f'NetTrain[net, {data}, MaxTrainingRounds -> 2, {QUIET}, '
                   f'LearningRateMultipliers -> {{"bn" -> 0}}]')
    np.testing.assert_array_equal(t.net("bn").arrays["MovingMean"], 0)
    t = s.evaluate(f"NetTrain[net, {data}, MaxTrainingRounds -> 2, {QUIET}]")
    assert np.abs(t.net("bn").arrays["MovingMean"]).max() > 0


# ---------------------------------------------------------------- shapes from the data
def test_wolframs_first_net_train_example_takes_its_shapes_from_the_data():
    """NetTrain[LinearLayer[], {1 -> 1.9, 2 -> 4.1, 3 -> 6.0, 4 -> 8.1}]: the open
    input and output become real numbers (an nfspec error before), and the fit is the
    least-squares line y = 2.05 x - 0.15 when trained long enough."""
    s = netdsl.Session(stdout=io.StringIO())
    net = s.evaluate('NetTrain[LinearLayer[], {1 -> 1.9, 2 -> 4.1, 3 -> 6.0, 4 -> 8.1}, '
                     'MaxTrainingRounds -> 3000, LearningRate -> 0.05, RandomSeeding -> 1]')
    assert net.ports["Input"].shape == () and net.ports["Output"].shape == ()
    x = np.array([1.0, 2, 3, 4])
    y = np.array([1.9, 4.1, 6.0, 8.1])
    slope, intercept = np.polyfit(x, y, 1)          # the least-squares line, independently
    np.testing.assert_allclose(net(np.float32([5.0])), [slope * 5 + intercept], atol=0.05)


@pytest.mark.parametrize("net, data, input_shape", [
    ("NetChain[{LinearLayer[4], Ramp, LinearLayer[2]}]", "{{1, 2, 3} -> {1, 0}}", (3,)),
    ("NetChain[{ElementwiseLayer[Tanh], LinearLayer[]}]",
     '<|"Input" -> {{{1, 2}, {3, 4}}}, "Output" -> {0.5}|>', (2, 2)),
    ("NetChain[{LongShortTermMemoryLayer[3], SequenceLastLayer[], LinearLayer[1]}]",
     "{{{1, 2}, {3, 4}} -> {1}, {{1, 2}} -> {0}}", None),
])
def test_open_input_shapes_come_from_the_training_data(net, data, input_shape):
    s = netdsl.Session(stdout=io.StringIO())
    trained = s.evaluate(f"NetTrain[{net}, {data}, MaxTrainingRounds -> 2]")
    shape = trained.ports["Input"].shape
    if input_shape is None:         # sequences of lengths 2 and 1: a "Varying" length
        from netdsl.layers.shapes import LengthVar
        assert isinstance(shape[0], LengthVar) and shape[1:] == (2,)
    else:
        assert shape == input_shape


def test_an_output_the_targets_cannot_fit_is_still_a_clear_error():
    s = netdsl.Session(stdout=io.StringIO())
    with pytest.raises(netdsl.NetDSLError, match='port "Output"'):
        s.evaluate('NetTrain[NetChain[{LinearLayer[1]}], {1 -> 1.9, 2 -> 4.1}]')


def test_an_open_output_gets_the_decoder_its_targets_ask_for():
    """Wolfram's NetTrain attaches a decoder when the net leaves the output open: a
    "Boolean" one for True/False targets, a "Class" one over the labels found."""
    s = netdsl.Session(stdout=io.StringIO())
    net = s.evaluate('NetTrain[NetChain[{LinearLayer[], LogisticSigmoid}], '
                     '{1 -> False, 2 -> False, 3 -> True, 4 -> True}, MaxTrainingRounds -> 300, '
                     'LearningRate -> 0.1, RandomSeeding -> 1]')
    assert net.ports["Output"].coder.kind == "Boolean"
    s["net"] = net
    assert s.evaluate("{net[1], net[4]}") == s.evaluate("{False, True}")
    p = float(s.evaluate('net[4, "Probability"]'))
    assert p > 0.5
    entropy = float(s.evaluate('net[4, "Entropy"]'))
    assert entropy == pytest.approx(-(p * np.log(p) + (1 - p) * np.log(1 - p)), rel=1e-5)
    net = s.evaluate('NetTrain[NetChain[{LinearLayer[8], Ramp, LinearLayer[], SoftmaxLayer[]}], '
                     '{{1, 2} -> "y", {2, 1} -> "x", {3, 1} -> "x"}, MaxTrainingRounds -> 2]')
    coder = net.ports["Output"].coder
    assert coder.kind == "Class" and coder.labels == ("x", "y")
    assert net.ports["Output"].shape == (2,)


def test_labels_for_an_output_without_a_decoder_say_what_to_do():
    s = netdsl.Session(stdout=io.StringIO())
    with pytest.raises(netdsl.NetDSLError, match=r'are labels \("a", "b"\), not numbers.*'
                                                 r'NetDecoder\[\{"Class"'):
        s.evaluate('NetTrain[NetChain[{LinearLayer[3], SoftmaxLayer[]}], {1 -> "a", 2 -> "b"}]')
