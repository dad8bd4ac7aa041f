"""Gradients of the WHOLE training loss of small nets, against central finite differences.

The nets go through the machinery NetTrain uses: ``training_net`` attaches the losses,
``compile_plan(mode="train")`` gives the (fused) training plan, ``Parameters`` holds the
learned arrays in one flat buffer (float64 here), and ``forward_backward`` runs the
forward pass in Train mode and ``gradients.backward``. The training loss is the mean over
the batch of the sum of the net's loss outputs; every element of the flat buffer is
perturbed by +-h and the loss recomputed with a plain Train-mode forward pass.
"""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.expr import Symbol
from netdsl.runtime.context import Ctx
from netdsl.runtime.initialize import initialize
from netdsl.runtime.optimizers import Optimizer, Settings
from netdsl.runtime.plan import Plan, compile_plan
from netdsl.runtime.train import (Parameters, forward_backward, read_multipliers,
                                  training_net)

AUTO = Symbol("Automatic")


def batch_last(x):
    return np.ascontiguousarray(np.moveaxis(np.asarray(x), 0, -1))


class Harness:
    """A net made ready for training exactly as NetTrain does, in float64."""

    def __init__(self, text: str, data: dict, loss=AUTO, multipliers=AUTO, seed=0,
                 scale=0.5):
        self.net = netdsl.evaluate(text)
        targets = {k: v for k, v in data.items() if k in self.net.port_names()[1]}
        tnet, self.loss_names = training_net(self.net, loss, targets)
        self.tnet = initialize(tnet)
        self.plan = compile_plan(self.tnet, "NetTrain", mode="train")
        self.params = Parameters(self.plan, read_multipliers(multipliers, self.tnet),
                                 dtype=np.float64)
        # generic values for every learned array (not the Scaling-ones/Biases-zeros start)
        rng = np.random.default_rng(seed)
        self.params.flat[...] = rng.standard_normal(self.params.flat.size) * scale
        self.feed = {}
        for port in self.plan.inputs:
            x = np.asarray(data[port])
            self.feed[port] = batch_last(x.astype(np.int64 if x.dtype.kind in "iu"
                                                  else np.float64))
        self.loss_slots = [self.plan.outputs[p] for p in self.loss_names]
        self.input_slots = set(self.plan.inputs.values())

    def ctx(self):
        return Ctx(train=True, grad=True, rng=np.random.default_rng(0))

    def loss_and_grad(self):
        loss, _ = forward_backward(self.params, self.plan, self.ctx(), self.feed,
                                   self.loss_slots, self.input_slots)
        return loss, self.params.grad.copy()

    def loss(self) -> float:
        """The training loss by a plain forward pass (no backward), in float64."""
        plan = Plan(self.params.steps, self.plan.inputs, self.plan.outputs,
                    self.plan.n_slots)            # the steps that read the flat buffer
        outs, _, _ = plan.run(Ctx(train=True, rng=np.random.default_rng(0)), self.feed)
        m = next(iter(self.feed.values())).shape[-1]
        return sum(float(np.sum(outs[p])) for p in self.loss_names) / m

    def numeric_grad(self, h=1e-6):
        flat = self.params.flat
        g = np.zeros_like(flat)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + h
            up = self.loss()
            flat[i] = old - h
            down = self.loss()
            flat[i] = old
            g[i] = (up - down) / (2 * h)
        return g

    def key_slice(self, key):
        off, shape = self.params.offsets[key]
        return slice(off, off + int(np.prod(shape)))


def assert_close(analytic, numeric, tol=1e-6):
    scale = max(np.abs(numeric).max(), 1e-3)
    err = np.abs(analytic - numeric).max() / scale
    assert err < tol, f"relative error {err:.3g}\nanalytic {analytic}\nnumeric  {numeric}"


# ---------------------------------------------------------------- a chain
CHAIN = ('NetChain[{ConvolutionLayer[2, {3, 3}, "PaddingSize" -> 1], BatchNormalizationLayer[], '
         'Ramp, PoolingLayer[2, 2], FlattenLayer[], LinearLayer[3], SoftmaxLayer[]}, '
         '"Input" -> {1, 6, 6}]')


def chain_data(n=5, seed=1):
    rng = np.random.default_rng(seed)
    return {"Input": rng.standard_normal((n, 1, 6, 6)),
            "Output": rng.integers(1, 4, n)}


def test_chain_attaches_cross_entropy_and_uses_batch_statistics():
    hz = Harness(CHAIN, chain_data())
    assert hz.loss_names == ["Loss"]
    loss_layer = hz.tnet.net("loss")
    assert loss_layer.name == "CrossEntropyLossLayer"
    assert loss_layer.values["TargetForm"] == "Index"
    # the loss is -Log of the softmax probability of the target class, by hand
    p = hz.params
    x = hz.feed["Input"]
    steps = {s.layer.name: s for s in p.steps if hasattr(s.layer, "values")}
    conv = steps["ConvolutionLayer"].arrays
    bn = steps["BatchNormalizationLayer"].arrays
    lin = steps["LinearLayer"].arrays
    n = x.shape[-1]
    xb = np.moveaxis(x, -1, 0)[:, 0]                                  # (n, 6, 6)
    xp = np.pad(xb, ((0, 0), (1, 1), (1, 1)))
    y = np.zeros((n, 2, 6, 6))
    for c in range(2):
        for i in range(6):
            for j in range(6):
                y[:, c, i, j] = np.sum(xp[:, i:i + 3, j:j + 3] * conv["Weights"][c, 0],
                                       axis=(1, 2)) + conv["Biases"][c]
    mean = y.mean(axis=(0, 2, 3))
    var = y.var(axis=(0, 2, 3))                                       # biased, batch statistics
    y = (y - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 0.001)
    y = y * bn["Scaling"][None, :, None, None] + bn["Biases"][None, :, None, None]
    y = np.maximum(y, 0).reshape(n, 2, 3, 2, 3, 2).max(axis=(3, 5)).reshape(n, -1)
    z = y @ lin["Weights"].T + lin["Biases"]
    prob = np.exp(z - z.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    t = np.moveaxis(hz.feed["Output"], -1, 0) - 1
    expected = -np.mean(np.log(prob[np.arange(n), t]))
    assert hz.loss() == pytest.approx(expected, rel=1e-10)
    assert hz.loss_and_grad()[0] == pytest.approx(expected, rel=1e-10)


def test_chain_gradient_matches_finite_differences():
    hz = Harness(CHAIN, chain_data())
    # the training plan moves Ramp after the max pooling: that backward is checked too
    names = [type(s.layer).__name__ for s in hz.plan.steps]
    assert names.index("ElementwiseLayer") == names.index("PoolingLayer") + 1
    loss, g = hz.loss_and_grad()
    assert loss == pytest.approx(hz.loss(), rel=1e-12)
    assert_close(g, hz.numeric_grad())
    # every learned array got a gradient; moving statistics are not in the buffer
    assert hz.params.flat.size == (2 * 9 + 2) + (2 + 2) + (3 * 18 + 3)
    assert len(hz.params.aux) == 2


def test_chain_gradient_with_mean_squared_loss():
    text = CHAIN.replace(", SoftmaxLayer[]", "")
    rng = np.random.default_rng(3)
    data = {"Input": rng.standard_normal((4, 1, 6, 6)), "Output": rng.standard_normal((4, 3))}
    hz = Harness(text, data)
    assert hz.tnet.net("loss").name == "MeanSquaredLossLayer"
    loss, g = hz.loss_and_grad()
    assert_close(g, hz.numeric_grad())


# ---------------------------------------------------------------- a graph with fan-out
GRAPH = '''NetGraph[<|"a" -> LinearLayer[4], "b" -> LinearLayer[4], "c" -> ElementwiseLayer[Tanh],
  "tot" -> TotalLayer[], "thr" -> ThreadingLayer[Times], "cat" -> CatenateLayer[],
  "out" -> LinearLayer[2]|>,
 {NetPort["Input"] -> "a", NetPort["Input"] -> "b", "a" -> "c", {"a", "c", "b"} -> "tot",
  {"b", "tot"} -> "thr", {"thr", "a"} -> "cat", "cat" -> "out" -> NetPort["Out1"],
  "tot" -> NetPort["Out2"]}, "Input" -> 3]'''


def graph_data(n=4, seed=5):
    rng = np.random.default_rng(seed)
    return {"Input": rng.standard_normal((n, 3)), "Out1": rng.standard_normal((n, 2)),
            "Out2": rng.standard_normal((n, 4))}


def test_graph_with_fan_out_two_losses():
    hz = Harness(GRAPH, graph_data())
    assert hz.loss_names == ["Loss1", "Loss2"]
    # by hand: Out1 = W (thr ++ a) + b, thr = b_ * (a + tanh a + b_), Out2 = a + tanh a + b_
    arrays = {s.path[-1]: s.arrays for s in hz.params.steps if s.arrays}
    x = np.moveaxis(hz.feed["Input"], -1, 0)
    a = x @ arrays["a"]["Weights"].T + arrays["a"]["Biases"]
    b = x @ arrays["b"]["Weights"].T + arrays["b"]["Biases"]
    tot = a + np.tanh(a) + b
    out1 = np.concatenate([b * tot, a], axis=1) @ arrays["out"]["Weights"].T \
        + arrays["out"]["Biases"]
    t1, t2 = (np.moveaxis(hz.feed[p], -1, 0) for p in ("Out1", "Out2"))
    expected = np.mean(np.mean((out1 - t1) ** 2, axis=1) + np.mean((tot - t2) ** 2, axis=1))
    loss, g = hz.loss_and_grad()
    assert loss == pytest.approx(expected, rel=1e-10)
    assert_close(g, hz.numeric_grad())


def test_graph_fan_out_of_the_same_value_into_one_layer():
    text = ('NetGraph[{LinearLayer[3], TotalLayer[], ThreadingLayer[#1 * #2 &], '
            'CatenateLayer[], LinearLayer[2]}, {{1, 1} -> 2, {1, 2} -> 3, {3, 3, 1} -> 4, '
            '4 -> 5}, "Input" -> 2]')
    rng = np.random.default_rng(8)
    hz = Harness(text, {"Input": rng.standard_normal((3, 2)),
                        "Output": rng.standard_normal((3, 2))})
    loss, g = hz.loss_and_grad()
    assert_close(g, hz.numeric_grad())


# ---------------------------------------------------------------- shared arrays
SHARED = ('NetChain[{LinearLayer[3, "Weights" -> NetSharedArray["W"]], Tanh, '
          'LinearLayer[3, "Weights" -> NetSharedArray["W"], "Biases" -> NetArray["b"]], Tanh, '
          'LinearLayer[3, "Biases" -> NetArray["b"]]}, "Input" -> 3]')


def shared_data(n=4, seed=9):
    rng = np.random.default_rng(seed)
    return {"Input": rng.standard_normal((n, 3)), "Output": rng.standard_normal((n, 3))}


def test_shared_array_gradient_is_the_sum_of_its_uses():
    hz = Harness(SHARED, shared_data())
    keys = hz.params.offsets
    assert ("shared", "W") in keys and ("shared", "b") in keys
    # one copy of each shared array: W (9) + b (3) + layer 1 biases (3) + layer 5 weights (9)
    assert hz.params.flat.size == 9 + 3 + 3 + 9
    loss, g = hz.loss_and_grad()
    assert_close(g, hz.numeric_grad())
    # the same net with unshared arrays set to the same values: the shared gradient is
    # the sum of the separate ones
    text = SHARED.replace('"Weights" -> NetSharedArray["W"]', '"Weights" -> Automatic') \
        .replace('"Biases" -> NetArray["b"]', '"Biases" -> Automatic')
    free = Harness(text, shared_data())
    for step in free.params.steps:
        for name, arr in step.arrays.items():
            src = next(s for s in hz.params.steps if s.path == step.path)
            arr[...] = src.arrays[name]
    loss2, g2 = free.loss_and_grad()
    assert loss2 == pytest.approx(loss, rel=1e-12)
    w = hz.key_slice(("shared", "W"))
    b = hz.key_slice(("shared", "b"))
    uses_w = [free.key_slice((("net", "1"), "Weights")), free.key_slice((("net", "3"), "Weights"))]
    uses_b = [free.key_slice((("net", "3"), "Biases")), free.key_slice((("net", "5"), "Biases"))]
    np.testing.assert_allclose(g[w], g2[uses_w[0]] + g2[uses_w[1]], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g[b], g2[uses_b[0]] + g2[uses_b[1]], rtol=1e-12, atol=1e-14)


def test_batchnorm_with_shared_arrays_used_twice():
    text = ('bn = NetInsertSharedArrays[BatchNormalizationLayer[]]; '
            'NetChain[{LinearLayer[3], bn, Tanh, LinearLayer[3], bn, LinearLayer[2]}, '
            '"Input" -> 2]')
    rng = np.random.default_rng(11)
    hz = Harness(text, {"Input": rng.standard_normal((5, 2)),
                        "Output": rng.standard_normal((5, 2))})
    assert ("shared", "Scaling") in hz.params.offsets and ("shared", "Biases") in hz.params.offsets
    assert hz.params.flat.size == (3 * 2 + 3) + 3 + 3 + (3 * 3 + 3) + (2 * 3 + 2)
    assert len(hz.params.aux) == 4          # each copy keeps its own moving statistics
    loss, g = hz.loss_and_grad()
    assert_close(g, hz.numeric_grad())


# ---------------------------------------------------------------- learning-rate multipliers
def one_sgd_step(hz: Harness, lr=0.1):
    """One plain SGD step (no momentum, no schedule) through NetTrain's optimiser."""
    settings = Settings(method="SGD", learning_rate=lr, momentum=0.0)
    opt = Optimizer(settings, hz.params.flat, hz.params.scale, 1)
    before = hz.params.flat.copy()
    _, g = hz.loss_and_grad()
    opt.step(hz.params.grad)
    return before, hz.params.flat.copy(), g


@pytest.mark.parametrize("spec,frozen", [
    ("{1 -> 0}", [(("net", "1"), "Weights"), (("net", "1"), "Biases")]),
    ('{{3, "Biases"} -> 0}', [(("net", "3"), "Biases")]),
    ("{1 -> 0, 3 -> 0, 5 -> 0}", None),
])
def test_multiplier_zero_freezes_a_layer_or_an_array(spec, frozen):
    text = 'NetChain[{LinearLayer[3], Tanh, LinearLayer[3], Tanh, LinearLayer[2]}, "Input" -> 2]'
    rng = np.random.default_rng(2)
    data = {"Input": rng.standard_normal((4, 2)), "Output": rng.standard_normal((4, 2))}
    hz = Harness(text, data, multipliers=netdsl.parse(spec))
    if frozen is None:
        assert hz.params.frozen_all
        return
    before, after, g = one_sgd_step(hz)
    for key in hz.params.offsets:
        sl = hz.key_slice(key)
        if key in frozen:
            np.testing.assert_array_equal(after[sl], before[sl])
        else:
            np.testing.assert_allclose(after[sl], before[sl] - 0.1 * g[sl], rtol=1e-6)
            assert np.abs(g[sl]).max() > 0


def test_multiplier_scales_the_step_and_freezes_a_shared_array():
    data = shared_data()
    hz = Harness(SHARED, data, multipliers=netdsl.parse('{5 -> 0.25}'))
    before, after, g = one_sgd_step(hz)
    for key in hz.params.offsets:
        sl = hz.key_slice(key)
        # layer 5's own weights, and the shared biases it uses, move at a quarter of the rate
        m = 0.25 if key in ((("net", "5"), "Weights"), ("shared", "b")) else 1.0
        np.testing.assert_allclose(after[sl], before[sl] - 0.1 * m * g[sl], rtol=1e-6)
    hz = Harness(SHARED, data, multipliers=netdsl.parse('{{1, "Weights"} -> 0}'))
    before, after, g = one_sgd_step(hz)
    sl = hz.key_slice(("shared", "W"))
    np.testing.assert_array_equal(after[sl], before[sl])     # frozen for every use
    assert np.abs(g[sl]).max() > 0


# ---------------------------------------------------------------- other losses, Dropout
def test_binary_cross_entropy_after_logistic_sigmoid_with_dropout():
    # Train-mode Dropout: the same random mask in every pass (the same seeded rng)
    text = ('NetChain[{LinearLayer[4], Tanh, DropoutLayer[0.4], LinearLayer[2], '
            'LogisticSigmoid}, "Input" -> 3]')
    rng = np.random.default_rng(12)
    hz = Harness(text, {"Input": rng.standard_normal((6, 3)),
                        "Output": rng.uniform(0, 1, (6, 2))})
    loss_layer = hz.tnet.net("loss")
    assert (loss_layer.name, loss_layer.values["TargetForm"]) == ("CrossEntropyLossLayer",
                                                                 "Binary")
    loss, g = hz.loss_and_grad()
    assert_close(g, hz.numeric_grad())


def test_probability_targets_after_softmax():
    text = 'NetChain[{LinearLayer[4], SoftmaxLayer[]}, "Input" -> 3]'
    rng = np.random.default_rng(13)
    t = rng.uniform(0, 1, (5, 4))
    hz = Harness(text, {"Input": rng.standard_normal((5, 3)),
                        "Output": t / t.sum(1, keepdims=True)})
    assert hz.tnet.net("loss").values["TargetForm"] == "Probabilities"
    loss, g = hz.loss_and_grad()
    assert_close(g, hz.numeric_grad())
