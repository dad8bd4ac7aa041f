"""NetTrain[net, f] and NetTrain[net, {f, "RoundLength" -> n}] (batches made by a function
of <|"BatchSize", "Round", "AbsoluteBatch"|>), and "LearningRateSchedule" -> f (the rate
at batch b of T is LearningRate f[b, T]), as Wolfram's NetTrain."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError

NET = 'net = NetChain[{LinearLayer[3], Tanh, LinearLayer[1]}, "Input" -> 2];'


def session():
    s = netdsl.Session()
    s.evaluate(NET)
    rng = np.random.default_rng(0)
    s["x"] = rng.standard_normal((8, 2)).astype(np.float32)
    s["y"] = rng.standard_normal((8, 1)).astype(np.float32)
    return s


def weights(s, net: str) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(v, float)) for _, v in
                           s.evaluate(f'Information[{net}, "Arrays"]').items()])


def test_the_function_is_called_once_per_batch_with_round_and_batch_numbers():
    s = session()
    s.evaluate('calls = {}; g = Function[AppendTo[calls, {#Round, #AbsoluteBatch, #BatchSize}];'
               ' Table[RandomReal[1, 2] -> RandomReal[1, 1], #BatchSize]];')
    r = s.evaluate('r = NetTrain[net, {g, "RoundLength" -> 20}, All, MaxTrainingRounds -> 2, '
                   'BatchSize -> 8, TrainingProgressReporting -> None]')
    calls = np.asarray(s.evaluate("calls")).tolist()
    assert calls == [[1, 1, 8], [1, 2, 8], [1, 3, 4], [2, 4, 8], [2, 5, 8], [2, 6, 4]]
    assert s.evaluate('r["BatchesPerRound"]') == 3
    assert s.evaluate('r["ExamplesProcessed"]') == 40
    assert r is not None
    # without "RoundLength" a round is one batch
    s.evaluate("calls = {};")
    s.evaluate("NetTrain[net, g, MaxTrainingRounds -> 3, BatchSize -> 5, "
               "TrainingProgressReporting -> None]")
    assert np.asarray(s.evaluate("calls")).tolist() == [[1, 1, 5], [2, 2, 5], [3, 3, 5]]


def test_a_generator_of_the_same_batch_trains_as_the_data_itself():
    s = session()
    s.evaluate('fixed = NetTrain[net, x -> y, BatchSize -> 8, MaxTrainingRounds -> 5, '
               'TrainingProgressReporting -> None, RandomSeeding -> 3];')
    s.evaluate('gen = NetTrain[net, {(x -> y) &, "RoundLength" -> 8}, BatchSize -> 8, '
               'MaxTrainingRounds -> 5, TrainingProgressReporting -> None, '
               'RandomSeeding -> 3];')
    np.testing.assert_allclose(weights(s, "gen"), weights(s, "fixed"), rtol=1e-6, atol=1e-7)
    assert not np.allclose(weights(s, "gen"),
                           weights(s, "NetInitialize[net, RandomSeeding -> 3]"))


def test_a_schedule_function_scales_the_learning_rate():
    s = session()
    def train(schedule: str) -> str:
        return ('NetTrain[inet, x -> y, BatchSize -> 8, MaxTrainingRounds -> 1, '
                'TrainingProgressReporting -> None, RandomSeeding -> 3, Method -> {"SGD", '
                f'"Momentum" -> 0, "LearningRate" -> 0.1, "LearningRateSchedule" -> {schedule}}}]')
    s.evaluate("inet = NetInitialize[net, RandomSeeding -> 3];")
    start = weights(s, "inet")
    full = weights(s, train("None")) - start
    half = weights(s, train("(0.5 &)")) - start
    assert np.abs(full).max() > 1e-4
    np.testing.assert_allclose(half, 0.5 * full, rtol=1e-4, atol=1e-8)
    # the function sees the batch number and the total
    s.evaluate('seen = {}; NetTrain[net, x -> y, BatchSize -> 4, MaxTrainingRounds -> 2, '
               'TrainingProgressReporting -> None, Method -> {"ADAM", "LearningRateSchedule" -> '
               '((AppendTo[seen, {#1, #2}]; 1 - #1/#2) &)}]')
    pairs = np.asarray(s.evaluate("seen")).tolist()
    assert [p for p in pairs if p[0] <= 4][:4] == [[1, 4], [2, 4], [3, 4], [4, 4]]
    r = s.evaluate('NetTrain[net, x -> y, All, BatchSize -> 4, MaxTrainingRounds -> 2, '
                   'TrainingProgressReporting -> None, Method -> {"ADAM", "LearningRate" -> 0.01,'
                   ' "LearningRateSchedule" -> (1 - #1/#2 &)}]')
    s["r"] = r
    assert s.evaluate('r["FinalLearningRate"]') == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("text, tag, words", [
    ('NetTrain[net, {(x -> y) &, "Foo" -> 3}]', "datafmt", "not an option of a training data"),
    ('NetTrain[net, {(x -> y) &, "RoundLength" -> 0}]', "datafmt", "positive integer"),
    ("NetTrain[net, (5 &), MaxTrainingRounds -> 1]", "datafmt",
     "The training data generator gave 5"),
    ('NetTrain[net, (x -> y) &, ValidationSet -> Scaled[0.2]]', "valset", "not a generator"),
    ('NetTrain[net, x -> y, Method -> {"ADAM", "LearningRateSchedule" -> ("a" &)}, '
     'TrainingProgressReporting -> None]', "badlrs", "non-negative real number"),
    ('NetTrain[net, x -> y, Method -> {"ADAM", "LearningRateSchedule" -> 3}]', "method",
     "is not supported"),
])
def test_errors(text, tag, words):
    s = session()
    with pytest.raises(NetDSLError) as e:
        s.evaluate(text)
    assert e.value.tag == tag, e.value.text
    assert words in e.value.text
