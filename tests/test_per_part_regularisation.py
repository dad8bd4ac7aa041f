"""L2Regularization, GradientClipping and WeightClipping given by part (Wolfram's
"WeightClipping" -> {"Discriminator" -> c}, ...): per-array values in one SGD step,
checked against the update written out here (w - lr (g + l2 w), clipped)."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError

NET = ('net = NetInitialize[NetChain[<|"a" -> LinearLayer[3], "b" -> LinearLayer[1]|>, '
       '"Input" -> 2], RandomSeeding -> 1];')
SGD = '"SGD", "Momentum" -> 0, "LearningRateSchedule" -> None, "LearningRate" -> 0.1'


def step(method_rules: str = "", **options) -> tuple[dict, dict, netdsl.Session]:
    s = netdsl.Session()
    s.evaluate(NET)
    rng = np.random.default_rng(0)
    s["x"] = rng.standard_normal((8, 2)).astype(np.float32)
    s["y"] = rng.standard_normal((8, 1)).astype(np.float32) * 5
    opts = "".join(f", {k} -> {v}" for k, v in options.items())
    s.evaluate(f"t = NetTrain[net, x -> y, BatchSize -> 8, MaxTrainingRounds -> 1, "
               f"Method -> {{{SGD}{method_rules}}}, TrainingProgressReporting -> None{opts}];")

    def arrays(net):
        return {(k, n): np.asarray(s.evaluate(f'NetExtract[{net}, {{"{k}", "{n}"}}]'), float)
                for k in "ab" for n in ("Weights", "Biases")}
    return arrays("net"), arrays("t"), s


def gradients(s) -> dict:
    """The loss gradient of every array at the start (netdsl's NetPortGradient is checked
    against finite differences elsewhere)."""
    r = s.evaluate('net[<|"Input" -> x, NetPortGradient["Output"] -> '
                   '2 (net[x] - y) / Length[x]|>, NetPortGradient[All]]')
    out = {}
    for key, value in r.items():
        parts = tuple(key.args[0].args) if hasattr(key.args[0], "args") else key.args
        out[(parts[0], parts[-1])] = np.asarray(value, float)
    return out


def test_l2_and_weight_clipping_by_part():
    before, after, s = step(', "L2Regularization" -> {"a" -> 0.5}, '
                            '"WeightClipping" -> {{"b", "Weights"} -> 0.05}')
    g = gradients(s)
    for key in before:
        l2 = 0.5 if key[0] == "a" else 0.0
        expected = before[key] - 0.1 * (g[key] + l2 * before[key])
        if key == ("b", "Weights"):
            expected = np.clip(expected, -0.05, 0.05)
        np.testing.assert_allclose(after[key], expected, rtol=1e-4, atol=1e-6, err_msg=str(key))


def test_gradient_clipping_by_part_as_a_top_level_option():
    before, after, s = step(GradientClipping='{"b" -> 0.01}')
    g = gradients(s)
    for key in before:
        gk = np.clip(g[key], -0.01, 0.01) if key[0] == "b" else g[key]
        np.testing.assert_allclose(after[key], before[key] - 0.1 * gk, rtol=1e-4, atol=1e-6)


def test_a_part_naming_nothing_is_an_error():
    with pytest.raises(NetDSLError) as e:
        step(', "WeightClipping" -> {"zz" -> 1}')
    assert '"zz" in WeightClipping does not name a layer' in e.value.text
