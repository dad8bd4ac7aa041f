"""NetTrain: a loss layer as third argument and per-port loss specs, TrainingStoppingCriterion
(Wolfram's patience rules), TrainingProgressFunction (keys, intervals, stopping),
TargetDevice -> "GPU" (a warning, CPU run) and the added results properties."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import EvaluationError
from netdsl.expr import Association, Symbol
from netdsl.runtime.train import OPTION_DEFAULTS, net_train

NET = 'net = NetChain[{LinearLayer[3], SoftmaxLayer[]}, "Input" -> 2];'
DATA = "data = {{0., 1.} -> 1, {1., 0.} -> 2, {1., 1.} -> 3, {0., 0.} -> 1};"
SETUP = NET + DATA


def ev(text: str):
    return netdsl.evaluate(SETUP + text)


def items(x):
    return [v for v in (x.args if hasattr(x, "args") else x)]


def test_loss_layer_as_third_argument_is_the_loss_function():
    a = ev('NetTrain[net, data, CrossEntropyLossLayer["Index"], MaxTrainingRounds -> 3]')
    b = ev('NetTrain[net, data, MaxTrainingRounds -> 3, '
           'LossFunction -> CrossEntropyLossLayer["Index"]]')
    assert a == b
    x = np.array([[0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_array_equal(a(x), b(x))


def test_per_port_loss_rule():
    a = ev('NetTrain[net, data, "Output" -> CrossEntropyLossLayer["Index"], '
           'MaxTrainingRounds -> 2]')
    b = ev('NetTrain[net, data, MaxTrainingRounds -> 2, '
           'LossFunction -> {"Output" -> CrossEntropyLossLayer["Index"]}]')
    assert a == b
    with pytest.raises(EvaluationError, match='no output port "zz"'):
        ev('NetTrain[net, data, MaxTrainingRounds -> 2, '
           'LossFunction -> {"zz" -> CrossEntropyLossLayer["Index"]}]')


def test_target_device_gpu_warns_and_trains_on_cpu(capsys):
    a = ev('NetTrain[net, data, MaxTrainingRounds -> 2, TargetDevice -> "GPU"]')
    assert 'TargetDevice -> "GPU" is not available' in capsys.readouterr().err
    assert a == ev("NetTrain[net, data, MaxTrainingRounds -> 2]")
    ev('NetInitialize[net][{1., 2.}, TargetDevice -> "GPU"]')
    assert "nogpu" in capsys.readouterr().err


def test_working_precision_other_than_real32_warns_and_a_wrong_one_is_an_error(capsys):
    a = ev('NetTrain[net, data, MaxTrainingRounds -> 2, WorkingPrecision -> "Real64"]')
    assert 'WorkingPrecision -> "Real64" is not available' in capsys.readouterr().err
    assert a == ev("NetTrain[net, data, MaxTrainingRounds -> 2]")
    ev('NetTrain[net, data, MaxTrainingRounds -> 1, WorkingPrecision -> "Mixed"]')
    assert "noprec" not in capsys.readouterr().err
    ev('NetInitialize[net][{1., 2.}, WorkingPrecision -> "Real16"]')
    assert "noprec" in capsys.readouterr().err
    with pytest.raises(EvaluationError, match="should be one of"):
        ev('NetTrain[net, data, WorkingPrecision -> "Foo"]')
    with pytest.raises(EvaluationError, match="should be"):
        ev('NetTrain[net, data, MaxTrainingRounds -> 2, TargetDevice -> "TPU"]')


def test_results_properties():
    r = 'r = NetTrain[net, data, All, MaxTrainingRounds -> 4, BatchSize -> 2, Method -> "SGD"];'
    assert ev(r + ' r["OptimizationMethod"]') == "SGD"
    assert ev(r + ' r["InitialLearningRate"]') == pytest.approx(0.01)
    # SGD's polynomial decay after all 8 steps: 0.01 Sqrt[1 - 8/9]
    assert ev(r + ' r["FinalLearningRate"]') == pytest.approx(0.01 * np.sqrt(1 - 8 / 9))
    assert ev(r + ' r["TargetDevice"]') == "CPU"
    assert list(np.asarray(ev(r + ' r["RoundPositions"]'))) == [2, 4, 6, 8]
    m = ev(r + ' r["RoundMeasurements"]')
    assert isinstance(m, Association)
    assert dict(m.items())["Loss"] == pytest.approx(ev(r + ' r["RoundLoss"]'))
    assert "FinalLearningRate" in [str(p) for p in items(ev(r + ' r["Properties"]'))]
    assert ev(r + ' r["FinalNet"]') == ev(r + ' r["TrainedNet"]')


def test_final_net_differs_from_best_with_validation():
    r = ('r = NetTrain[net, data, All, MaxTrainingRounds -> 30, LearningRate -> 0.5, '
         'ValidationSet -> {{0., 1.} -> 3, {1., 0.} -> 3}];')
    best = ev(r + ' r["BestValidationRound"]')
    assert ev(r + ' r["TotalRounds"]') == 30
    if best != 30:
        assert ev(r + ' r["FinalNet"]') != ev(r + ' r["TrainedNet"]')


STOP = '{"ReasonTrainingStopped", "TotalRounds"}'


def run_stop(spec: str, extra: str = ""):
    out = ev(f"NetTrain[net, data, {STOP}, MaxTrainingRounds -> 50, "
             f"TrainingStoppingCriterion -> {spec}{extra}]")
    return list(out.args)


def test_stopping_criterion_patience_rules(capsys):
    # AbsoluteChange -> 1: no round can improve by 1, so round 2 is the first miss
    assert run_stop('<|"Criterion" -> "Loss", "AbsoluteChange" -> 1|>') == [
        "StoppingCriterion", 2]
    assert "novalidation" in capsys.readouterr().err
    # Patience n: misses in rounds 2..n+1 are tolerated, the one at round n + 2 stops
    assert run_stop('<|"Criterion" -> "Loss", "AbsoluteChange" -> 1, "Patience" -> 3|>') == [
        "StoppingCriterion", 5]
    # InitialPatience m: nothing is checked before round m
    assert run_stop('<|"Criterion" -> "Loss", "AbsoluteChange" -> 1, '
                    '"InitialPatience" -> 7|>') == ["StoppingCriterion", 7]
    # the loss of this net keeps falling: "Loss" alone never stops it
    assert run_stop('"Loss"') == ["MaxTrainingRoundsReached", 50]


def test_stopping_on_validation_loss():
    # the validation targets contradict the training ones: validation loss rises at once
    out = ev('NetTrain[net, data, {"ReasonTrainingStopped", "TotalRounds", '
             '"ValidationLossList"}, MaxTrainingRounds -> 50, LearningRate -> 0.1, '
             'ValidationSet -> {{0., 1.} -> 3, {1., 0.} -> 3, {1., 1.} -> 1}, '
             'TrainingStoppingCriterion -> "Loss"]')
    reason, rounds, vlosses = out.args
    v = np.asarray(vlosses)
    assert reason == "StoppingCriterion" and len(v) == rounds
    assert all(np.diff(v[:-1]) < 0) and v[-1] >= v[:-1].min()


def test_stopping_criterion_function_and_errors():
    assert run_stop('(#["RoundLoss"] < 100 &)') == ["StoppingCriterion", 1]
    with pytest.raises(EvaluationError, match="not an available criterion"):
        run_stop('"Accuracy2"')
    with pytest.raises(EvaluationError, match="only one of"):
        run_stop('<|"Criterion" -> "Loss", "AbsoluteChange" -> 1, "RelativeChange" -> 0.1|>')


def test_progress_function_stops_training():
    out = ev('NetTrain[net, data, {"ReasonTrainingStopped", "TotalRounds"}, '
             'MaxTrainingRounds -> 50, TrainingProgressFunction -> '
             '(If[#["Round"] == 3, "StopTraining", Null] &)]')
    assert list(out.args) == ["ManualStop", 3]
    out = ev('NetTrain[net, data, "ReasonTrainingStopped", MaxTrainingRounds -> 50, '
             'TrainingProgressFunction -> {(If[#["AbsoluteBatch"] == 5, "AbortTraining", '
             'Null] &), "Interval" -> {1, "Batches"}}]')
    assert out == "Aborted"


def _python_train(progress, rounds=3, batch=2):
    net = netdsl.evaluate(NET + " net")
    data = netdsl.evaluate(DATA + " data")
    opts = dict(OPTION_DEFAULTS)
    opts.update({"MaxTrainingRounds": rounds, "BatchSize": batch,
                 "TrainingProgressFunction": progress, "$callable": lambda f: f,
                 "TrainingProgressReporting": Symbol("None")})
    return net_train(net, data, opts)


def test_progress_function_keys_and_round_interval():
    calls = []
    trained, history = _python_train(lambda a: calls.append(dict(a.items())))
    assert [c["Round"] for c in calls] == [1, 2, 3]
    assert [c["AbsoluteBatch"] for c in calls] == [2, 4, 6]
    last = calls[-1]
    assert last["RoundLoss"] == pytest.approx(history.round_losses[-1])
    assert last["BatchLoss"] == pytest.approx(history.batch_losses[-1])
    assert list(np.asarray(last["RoundLossList"])) == pytest.approx(history.round_losses)
    assert last["TotalRounds"] == 3 and last["BatchesPerRound"] == 2
    assert last["ProgressFraction"] == pytest.approx(1.0)
    assert last["OptimizationMethod"] == "ADAM" and last["TargetDevice"] == "CPU"
    x = np.array([[0.5, 0.25]])
    np.testing.assert_array_equal(last["Net"](x), trained(x))   # the net at that point


def test_progress_function_batch_interval():
    calls = []
    spec = netdsl.evaluate('{f, "Interval" -> Quantity[3, "Batches"]}')
    f = Symbol("f")
    net = netdsl.evaluate(NET + " net")
    data = netdsl.evaluate(DATA + " data")
    opts = dict(OPTION_DEFAULTS)
    opts.update({"MaxTrainingRounds": 4, "BatchSize": 2, "TrainingProgressFunction": spec,
                 "$callable": lambda g: (lambda a: calls.append(dict(a.items())["AbsoluteBatch"]))
                 if g is f else None})
    net_train(net, data, opts)
    assert calls == [3, 6]
    with pytest.raises(EvaluationError, match="Interval"):
        ev('NetTrain[net, data, MaxTrainingRounds -> 2, TrainingProgressFunction -> '
           '{Print, "Interval" -> {0, "Rounds"}}]')


def test_validation_measurements_match_net_measurements_of_the_final_net():
    r = ('r = NetTrain[net, data, All, MaxTrainingRounds -> 6, ValidationSet -> data, '
         'TrainingProgressMeasurements -> {"Accuracy", "ErrorRate", "Recall"}];')
    last = as_dict(ev(r + ' r["ValidationMeasurements"]'))
    final = np.asarray(ev(r + ' NetMeasurements[r["FinalNet"], data, '
                              '{"Loss", "Accuracy", "ErrorRate"}]'), dtype=np.float64)
    assert last["Loss"] == pytest.approx(final[0], rel=1e-5)
    assert last["Accuracy"] == pytest.approx(final[1])
    assert last["ErrorRate"] == pytest.approx(final[2])
    lists = as_dict(ev(r + ' r["ValidationMeasurementsLists"]'))
    assert len(np.asarray(lists["Accuracy"])) == 6


def test_stopping_on_a_validation_measurement():
    out = ev('NetTrain[net, data, {"ReasonTrainingStopped", "TotalRounds"}, '
             'MaxTrainingRounds -> 300, ValidationSet -> data, '
             'TrainingProgressMeasurements -> {"Accuracy"}, '
             'TrainingStoppingCriterion -> <|"Criterion" -> "Accuracy", "Patience" -> 3|>]')
    # the accuracy of 4 examples moves in steps of 1/4 and stalls at once at this rate:
    # round 1 sets the best, misses at rounds 2-4 use the patience, round 5 stops
    assert list(out.args) == ["StoppingCriterion", 5]
    with pytest.raises(EvaluationError, match="not an available criterion"):
        ev('NetTrain[net, data, MaxTrainingRounds -> 3, '
           'TrainingStoppingCriterion -> "Accuracy"]')


def as_dict(a):
    return dict(a.items())


def test_scaled_losses():
    """"port" -> Scaled[w]: the loss at port weighted by w (before any update, the first
    batch's loss is exactly the weighted sum of the unweighted losses)."""
    g = ('g = NetGraph[<|"f" -> LinearLayer[1], "l1" -> MeanSquaredLossLayer[], '
         '"l2" -> MeanSquaredLossLayer[]|>, {NetPort["Input"] -> "f", '
         '"f" -> NetPort["l1", "Input"], "f" -> NetPort["l2", "Input"], '
         'NetPort["T1"] -> NetPort["l1", "Target"], NetPort["T2"] -> NetPort["l2", "Target"], '
         '"l1" -> NetPort["A"], "l2" -> NetPort["B"]}, "Input" -> 1];'
         'g = NetInitialize[g]; d = <|"Input" -> {{1.}, {2.}}, "T1" -> {{1.}, {2.}}, '
         '"T2" -> {{3.}, {4.}}|>;')
    a = np.asarray(netdsl.evaluate(g + ' g[d, "A"]'), dtype=np.float64).mean()
    b = np.asarray(netdsl.evaluate(g + ' g[d, "B"]'), dtype=np.float64).mean()
    first = netdsl.evaluate(g + ' NetTrain[g, d, "BatchLossList", MaxTrainingRounds -> 1, '
                                'LossFunction -> {"A" -> Scaled[2.], "B" -> Scaled[0.5]}]')
    assert np.asarray(first)[0] == pytest.approx(2 * a + 0.5 * b, rel=1e-5)
    only_a = netdsl.evaluate(g + ' NetTrain[g, d, "BatchLossList", MaxTrainingRounds -> 1, '
                                 'LossFunction -> {"A" -> Scaled[3.]}]')
    assert np.asarray(only_a)[0] == pytest.approx(3 * a, rel=1e-5)
    # an output that is not a loss: its automatic loss, weighted
    plain = ev('NetTrain[net, data, "BatchLossList", MaxTrainingRounds -> 1, BatchSize -> 4]')
    scaled = ev('NetTrain[net, data, "BatchLossList", MaxTrainingRounds -> 1, BatchSize -> 4, '
                'LossFunction -> {"Output" -> Scaled[4.]}]')
    assert np.asarray(scaled)[0] == pytest.approx(4 * np.asarray(plain)[0], rel=1e-5)


@pytest.mark.parametrize("option", ["TargetDevice", "WorkingPrecision"])
def test_a_numeric_array_as_device_or_precision_is_a_netdsl_error(option):
    """Found by fuzzing: a packed array compared with a string made NumPy raise."""
    with pytest.raises(EvaluationError):
        ev(f"NetTrain[net, data, MaxTrainingRounds -> 1, {option} -> {{{{1, 2}}}}]")
    with pytest.raises(EvaluationError):
        ev(f"NetInitialize[net][{{1., 2.}}, {option} -> {{1, 2}}]")


def test_progress_function_sees_weights_and_the_last_batch_gradient():
    """"Weights" and "Gradients" by position (and their vectors and RMS): one batch of a
    linear net, so the gradient is the mean squared loss's at the initial weights, written
    out here, and the step taken is along it."""
    w0, b0 = np.array([[0.5, -1.0]]), np.array([0.25])
    x = np.array([[1.0, 2.0], [0.0, 1.0], [2.0, -1.0]])
    t = np.array([1.0, -1.0, 3.0])
    e = x @ w0[0] + b0[0] - t
    dw, db = 2 / 3 * e @ x, 2 / 3 * e.sum()
    got = netdsl.evaluate(
        'net = NetInitialize[LinearLayer[1, "Input" -> 2, "Weights" -> {{0.5, -1.}}, '
        '"Biases" -> {0.25}]]; seen = {};'
        'NetTrain[net, {{1., 2.} -> {1.}, {0., 1.} -> {-1.}, {2., -1.} -> {3.}}, '
        'BatchSize -> 3, MaxTrainingRounds -> 1, Method -> {"SGD", "Momentum" -> 0}, '
        'TrainingProgressReporting -> None, TrainingProgressFunction -> '
        '(AppendTo[seen, #[[{"Weights", "Gradients", "WeightsVector", "GradientsVector", '
        '"WeightsRMS", "GradientsRMS"}]]] &)]; Last[seen]')
    v = {k: val for k, val, _ in got.rules}
    grads = {k: np.asarray(a) for k, a, _ in v["Gradients"].rules}
    weights = {k: np.asarray(a) for k, a, _ in v["Weights"].rules}
    np.testing.assert_allclose(grads["Weights"], [dw], rtol=1e-5)
    np.testing.assert_allclose(grads["Biases"], [db], rtol=1e-5)
    step = np.concatenate([(w0 - weights["Weights"]).ravel(), b0 - weights["Biases"]])
    g = np.concatenate([dw, [db]])
    np.testing.assert_allclose(step / g, np.full(3, step[0] / g[0]), rtol=1e-4)   # along -g
    assert step[0] / g[0] > 0
    np.testing.assert_allclose(np.asarray(v["GradientsVector"]), g, rtol=1e-5)
    np.testing.assert_allclose(v["GradientsRMS"], np.sqrt(np.mean(g ** 2)), rtol=1e-5)
    wv = np.asarray(v["WeightsVector"])
    np.testing.assert_allclose(v["WeightsRMS"], np.sqrt(np.mean(wv ** 2)), rtol=1e-5)


def test_gradients_are_keyed_by_the_user_nets_positions():
    """With NetTrain's loss layer around the net, positions are the user's ({1, "Weights"})."""
    got = ev('seen = {}; NetTrain[net, data, MaxTrainingRounds -> 1, TrainingProgressReporting '
             '-> None, TrainingProgressFunction -> (AppendTo[seen, Keys[#Gradients]] &)]; '
             'Last[seen]')
    assert netdsl.printer.input_form(got) == '{{1, "Weights"}, {1, "Biases"}}'
