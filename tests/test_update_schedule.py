"""TrainingUpdateSchedule -> {group1, group2, ...}: which arrays each optimisation step
updates, cycling (Wolfram's NetTrain option, used to alternate a GAN's discriminator and
generator). Held arrays stay bit for bit; ADAM counts each array's own updates for its
bias correction (a first update moves by about LearningRate, as MXNet's per-array count
gives)."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError

NET = ('net = NetInitialize[NetChain[<|"a" -> LinearLayer[3], "t" -> Tanh, '
       '"b" -> LinearLayer[1]|>, "Input" -> 2], RandomSeeding -> 1];')


def trained(schedule: str, rounds: int,
            method: str = '{"SGD", "LearningRateSchedule" -> None}') -> tuple:
    s = netdsl.Session()
    s.evaluate(NET)
    rng = np.random.default_rng(0)
    s["x"] = rng.standard_normal((8, 2)).astype(np.float32)
    s["y"] = rng.standard_normal((8, 1)).astype(np.float32)
    s.evaluate(f"t = NetTrain[net, x -> y, BatchSize -> 8, MaxTrainingRounds -> {rounds}, "
               f"Method -> {method}, TrainingUpdateSchedule -> {schedule}, "
               f"TrainingProgressReporting -> None];")

    def arr(net, layer):
        return np.asarray(s.evaluate(f'NetExtract[{net}, {{"{layer}", "Weights"}}]'), float)
    return ({k: arr("net", k) for k in "ab"}, {k: arr("t", k) for k in "ab"})


def test_groups_alternate_and_held_arrays_stay_exactly():
    before, one = trained('{"a", "b"}', 1)
    assert not np.array_equal(one["a"], before["a"])
    np.testing.assert_array_equal(one["b"], before["b"])
    _, two = trained('{"a", "b"}', 2)
    np.testing.assert_array_equal(two["a"], one["a"])          # held in step 2
    assert not np.array_equal(two["b"], before["b"])
    # a group repeated: "a" twice, then "b"
    _, rep = trained('{"a" -> 2, "b"}', 2)
    np.testing.assert_array_equal(rep["b"], before["b"])
    assert not np.array_equal(rep["a"], one["a"])
    # alternatives and _
    _, both = trained('{"a" | "b"}', 1)
    assert not np.array_equal(both["b"], before["b"])
    _, every = trained("{_}", 1)
    assert not np.array_equal(every["a"], before["a"])


def test_adam_counts_each_arrays_own_updates():
    before, after = trained('{"a", "b"}', 2, '{"ADAM", "LearningRate" -> 0.01}')
    step = np.abs(after["b"] - before["b"])
    # b's first update (at optimisation step 2): lr * g / (|g| + eps / Sqrt[1 - beta2]),
    # about lr for any gradient well above 3e-4; a global step count (2) would give 0.74 lr
    assert np.all(step > 0.0097) and np.all(step < 0.0101), step


def test_a_group_naming_nothing_is_an_error():
    with pytest.raises(NetDSLError) as e:
        trained('{"zz"}', 1)
    assert e.value.tag == "updsched" and '"zz" in TrainingUpdateSchedule' in e.value.text
