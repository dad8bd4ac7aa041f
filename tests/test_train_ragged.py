"""NetTrain, ValidationSet and NetMeasurements on sequences of different lengths.

A batch mixing lengths is run as one pass per length; its loss must be the mean over its
examples and its gradient exactly the gradient of that mean. Checked against the average
of per-example gradients (each example alone through the same machinery) and against
float64 central differences of the mean of per-example losses. Losses on per-step
targets are the mean over each sequence's steps, then over the examples (Wolfram's
MakeVariableLengthLossData: a timewise mean per example); measurements are checked
against per-example evaluation written out here.
"""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError
from netdsl.expr import Symbol, to_ndarray
from netdsl.runtime.context import Ctx
from netdsl.runtime.initialize import initialize
from netdsl.runtime.plan import compile_plan
from netdsl.runtime.train import Parameters, forward_backward, read_multipliers, training_net
from netdsl.runtime.train.data import check_data
from netdsl.runtime.train.examples import Examples

AUTO = Symbol("Automatic")

LAST = ('NetChain[{EmbeddingLayer[3, 5, "Input" -> "Varying"], LongShortTermMemoryLayer[2], '
        'SequenceLastLayer[], LinearLayer[3], SoftmaxLayer[]}]')
PER_STEP = ('NetChain[{EmbeddingLayer[3, 5, "Input" -> "Varying"], GatedRecurrentLayer[3], '
            'SoftmaxLayer[]}]')


def ragged(seqs):
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = np.asarray(s)
    return out


class Ragged:
    """A net made ready for training as NetTrain does, in float64, with ragged data."""

    def __init__(self, text, inputs, targets, seed=0):
        self.net = netdsl.evaluate(text)
        target = ragged(targets) if np.ndim(targets[0]) else np.asarray(targets)
        tnet, self.loss_names = training_net(self.net, AUTO, {"Output": target})
        self.tnet = initialize(tnet)
        self.plan = compile_plan(self.tnet, "NetTrain", mode="train")
        self.params = Parameters(self.plan, read_multipliers(AUTO, self.tnet),
                                 dtype=np.float64)
        self.params.flat[...] = np.random.default_rng(seed).standard_normal(
            self.params.flat.size) * 0.5
        self.arrays = check_data(self.tnet, {"Input": ragged(inputs), "Output": target})
        self.examples = Examples(self.arrays)
        self.loss_slots = [self.plan.outputs[p] for p in self.loss_names]
        self.input_slots = set(self.plan.inputs.values())

    def grad(self, feed):
        loss, _ = forward_backward(self.params, self.plan, Ctx(train=True, grad=True),
                                   feed, self.loss_slots, self.input_slots)
        return loss, self.params.grad.copy()

    def alone(self, i):
        """Example i by itself, batch-last."""
        return {p: np.asarray(a[i])[..., None] for p, a in self.arrays.items()}

    def mean_loss(self):
        """The mean over examples of each example's loss, each run alone (no grouping)."""
        total = 0.0
        for i in range(self.examples.n):
            _, values, _ = self.plan.run(Ctx(train=True), self.alone(i), steps=self.params.steps)
            total += sum(float(np.sum(values[s])) for s in self.loss_slots)
        return total / self.examples.n


SEQS = [[1, 2, 3], [4, 5], [2, 2, 1, 5], [3], [5, 4]]


@pytest.mark.parametrize("text,targets", [
    (LAST, [1, 3, 2, 2, 1]),
    (PER_STEP, [[1, 2, 3], [3, 3], [1, 1, 2, 2], [2], [3, 1]]),
])
def test_mixed_batch_gradient_is_the_mean_of_per_example_gradients(text, targets):
    h = Ragged(text, SEQS, targets)
    parts = h.examples.batch(np.arange(5))
    assert len(parts) == 4                     # lengths 3, 2, 4, 1: one pass each
    loss, g = h.grad(parts)
    alone = [h.grad(h.alone(i)) for i in range(5)]
    assert loss == pytest.approx(np.mean([a[0] for a in alone]), rel=1e-12)
    np.testing.assert_allclose(g, np.mean([a[1] for a in alone], axis=0), rtol=1e-10,
                               atol=1e-14)
    assert loss == pytest.approx(h.mean_loss(), rel=1e-12)


@pytest.mark.parametrize("text,targets", [
    (LAST, [1, 3, 2, 2, 1]),
    (PER_STEP, [[1, 2, 3], [3, 3], [1, 1, 2, 2], [2], [3, 1]]),
])
def test_mixed_batch_gradient_equals_finite_differences(text, targets):
    h = Ragged(text, SEQS, targets, seed=3)
    _, g = h.grad(h.examples.batch(np.array([4, 0, 2, 1, 3])))   # any order
    flat = h.params.flat
    numeric = np.zeros_like(flat)
    eps = 1e-6
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = h.mean_loss()
        flat[i] = old - eps
        down = h.mean_loss()
        flat[i] = old
        numeric[i] = (up - down) / (2 * eps)
    scale = max(np.abs(numeric).max(), 1e-3)
    assert np.abs(g - numeric).max() / scale < 1e-6


def test_examples_cut_batches_by_length_and_keep_positions():
    arrays = {"Input": ragged([[1], [2, 2], [3], [4, 4, 4], [5, 5]]),
              "Output": np.arange(5.0)}
    ex = Examples(arrays)
    groups = ex.groups(np.array([3, 1, 0, 4]))
    seen = {}
    for where, feed in groups:
        for j, w in enumerate(where):
            seen[int(w)] = (feed["Input"][..., j].tolist(), float(feed["Output"][j]))
    assert seen == {0: ([4, 4, 4], 3.0), 1: ([2, 2], 1.0), 2: ([1], 0.0), 3: ([5, 5], 4.0)}


# ---------------------------------------------------------------- through the language
DATA = ('data = Table[With[{s = RandomInteger[{1, 4}, RandomInteger[{1, 6}]]}, '
        's -> If[EvenQ[Last[s]], 1, 2]], 200];')


def test_net_train_learns_from_sequences_of_different_lengths():
    s = netdsl.Session()
    s.evaluate('SeedRandom[3]; ' + DATA)
    s.evaluate('net = NetChain[{EmbeddingLayer[8, 4, "Input" -> "Varying"], '
               'GatedRecurrentLayer[8], SequenceLastLayer[], LinearLayer[2], SoftmaxLayer[]}]; '
               'r = NetTrain[net, data, All, MaxTrainingRounds -> 30, BatchSize -> 16, '
               'ValidationSet -> Scaled[0.2], TrainingProgressReporting -> None, '
               'RandomSeeding -> 2]')
    losses = to_ndarray(s.evaluate('r["RoundLossList"]'))
    assert len(losses) == 30 and losses[-1] < 0.5 * losses[0]
    assert len(to_ndarray(s.evaluate('r["ValidationLossList"]'))) == 30
    assert s.evaluate('r["TrainingExamples"]') == 160
    acc = s.evaluate('NetMeasurements[r["TrainedNet"], data, "Accuracy"]')
    assert acc > 0.9


def test_validation_loss_is_the_mean_of_per_example_losses():
    s = netdsl.Session()
    s.evaluate('net = NetChain[{EmbeddingLayer[3, 5, "Input" -> "Varying"], '
               'LongShortTermMemoryLayer[4], SequenceLastLayer[], LinearLayer[3], '
               'SoftmaxLayer[]}]; val = {{1, 2, 3} -> 1, {4} -> 2, {5, 5} -> 3, {2, 1} -> 1};'
               'r = NetTrain[net, {{1, 2} -> 1, {3, 4, 5} -> 2, {1} -> 3}, All, '
               'MaxTrainingRounds -> 1, ValidationSet -> val, TrainingProgressReporting -> '
               'None]; t = r["TrainedNet"];')
    seqs, labels = [[1, 2, 3], [4], [5, 5], [2, 1]], [1, 2, 3, 1]
    net = s.evaluate('t')
    by_hand = np.mean([-np.log(net(np.array(q))[y - 1]) for q, y in zip(seqs, labels)])
    assert s.evaluate('r["ValidationLoss"]') == pytest.approx(by_hand, rel=1e-5)
    assert s.evaluate('NetMeasurements[t, val, "Loss"]') == pytest.approx(by_hand, rel=1e-5)


def test_per_step_targets_loss_and_measurements_average_each_sequence_first():
    s = netdsl.Session()
    s.evaluate('t = NetInitialize[' + PER_STEP + ', RandomSeeding -> 4]; '
               'data = {{1, 2, 3} -> {1, 2, 3}, {4, 5} -> {3, 3}, {2} -> {2}, '
               '{5, 1, 1, 2} -> {1, 1, 2, 3}};')
    seqs = [[1, 2, 3], [4, 5], [2], [5, 1, 1, 2]]
    targets = [[1, 2, 3], [3, 3], [2], [1, 1, 2, 3]]
    net = s.evaluate('t')
    probs = [net(np.array(q)) for q in seqs]
    losses = [np.mean([-np.log(p[k, y - 1]) for k, y in enumerate(t)])
              for p, t in zip(probs, targets)]
    correct = [np.mean([np.argmax(p[k]) == y - 1 for k, y in enumerate(t)])
               for p, t in zip(probs, targets)]
    cm = np.zeros((3, 3), int)
    for p, t in zip(probs, targets):
        for k, y in enumerate(t):
            cm[y - 1, np.argmax(p[k])] += 1
    got = s.evaluate('NetMeasurements[t, data, {"Loss", "Accuracy", "ConfusionMatrix"}]')
    assert got.args[0] == pytest.approx(np.mean(losses), rel=1e-5)
    assert got.args[1] == pytest.approx(np.mean(correct), rel=1e-12)
    np.testing.assert_array_equal(to_ndarray(got.args[2]), cm)
    r = s.evaluate('NetTrain[t, data, All, MaxTrainingRounds -> 3, TrainingProgressReporting '
                   '-> None, BatchSize -> 4]')
    assert len(to_ndarray(r.props["BatchLossList"])) == 3


def test_regression_measurements_on_sequences_of_different_lengths():
    s = netdsl.Session()
    s.evaluate('t = NetInitialize[NetChain[{LongShortTermMemoryLayer[1]}, "Input" -> '
               '{"Varying", 1}], RandomSeeding -> 1]; '
               'data = {{{1.}, {2.}} -> {{0.5}, {0.1}}, {{3.}} -> {{0.2}}};')
    net = s.evaluate('t')
    ys = [net(np.array([[1.], [2.]])), net(np.array([[3.]]))]
    r = np.concatenate([ys[0].ravel() - [0.5, 0.1], ys[1].ravel() - [0.2]])
    got = to_ndarray(s.evaluate('NetMeasurements[t, data, {"MeanSquare", "Loss"}]'))
    assert got[0] == pytest.approx(np.mean(r ** 2), rel=1e-5)
    per_example = [np.mean(r[:2] ** 2), r[2] ** 2]
    assert got[1] == pytest.approx(np.mean(per_example), rel=1e-5)


def test_mismatched_sequence_lengths_are_a_netdsl_error():
    with pytest.raises(NetDSLError, match=r'NetTrain::netseqlen.*example 2 .*lengths 2 and 3'):
        netdsl.evaluate('NetTrain[' + PER_STEP + ', {{1, 2} -> {1, 2}, {3, 4} -> {1, 2, 3}}, '
                        'MaxTrainingRounds -> 1, TrainingProgressReporting -> None]')


def test_net_port_mean_of_ragged_outputs_is_an_error():
    s = netdsl.Session()
    s.evaluate('t = NetInitialize[' + PER_STEP + ']')
    with pytest.raises(NetDSLError, match="different lengths"):
        s.evaluate('NetMeasurements[t, {{1, 2} -> {1, 2}, {3} -> {1}}, NetPort["Output"]]')


SEQ_NET = 'NetInitialize[NetChain[{LongShortTermMemoryLayer[2], %s}, "Input" -> {"Varying", 1}], ' \
          'RandomSeeding -> 2]'
SEQ_DATA = '{{{1.}, {2.}} -> {{1., 0.}, {0., 1.}}, {{3.}} -> {{0., 1.}}, ' \
           '{{0.5}, {1.}, {-1.}} -> {{0., 1.}, {1., 0.}, {1., 0.}}}'
SEQ_X = [[[1.], [2.]], [[3.]], [[0.5], [1.], [-1.]]]
SEQ_T = [[[1., 0.], [0., 1.]], [[0., 1.]], [[0., 1.], [1., 0.], [1., 0.]]]


@pytest.mark.parametrize("last,per_example", [
    # one-hot targets on a softmax: "Probabilities", -Total[t Log[p]] per step
    ("SoftmaxLayer[]", lambda p, t: np.mean(-(t * np.log(p)).sum(-1))),
    # 0/1 targets on a sigmoid: "Binary", the mean over every element of the sequence
    ("LogisticSigmoid", lambda p, t: np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)))),
])
def test_per_step_probability_and_binary_targets_of_different_lengths(last, per_example):
    s = netdsl.Session()
    s.evaluate('t = ' + SEQ_NET % last)
    net = s.evaluate('t')
    by_hand = np.mean([per_example(net(np.array(x)), np.array(y)) for x, y in zip(SEQ_X, SEQ_T)])
    assert s.evaluate(f'NetMeasurements[t, {SEQ_DATA}, "Loss"]') == pytest.approx(by_hand,
                                                                                 rel=1e-5)
    r = s.evaluate(f'NetTrain[t, {SEQ_DATA}, All, MaxTrainingRounds -> 1, LearningRate -> 0, '
                   f'Method -> "SGD", TrainingProgressReporting -> None]')
    assert float(to_ndarray(r.props["RoundLossList"])[0]) == pytest.approx(by_hand, rel=1e-5)


def test_check_reads_ragged_training_data_and_measurements():
    import io

    from netdsl.check import check_text
    text = ('net = NetChain[{EmbeddingLayer[4, 5, "Input" -> "Varying"], '
            'LongShortTermMemoryLayer[3], SoftmaxLayer[]}];\n'
            'data = {{1, 2, 3} -> {1, 2, 3}, {2, 3} -> {2, 1}};\n'
            't = NetTrain[net, data, MaxTrainingRounds -> 1];\n'
            'NetMeasurements[t, data, "ConfusionMatrix"]\n'
            'NetTrain[net, {{1, 2, 3} -> {1, 2}}];\n')
    out, err = io.StringIO(), io.StringIO()
    check_text(text, "ragged.wl", out, err)
    assert "ragged.wl:4: output of dimensions {3, 3}" in out.getvalue()   # 3 classes
    assert "ragged.wl:5:1" in err.getvalue() and "NetTrain::netseqlen" in err.getvalue()
    assert err.getvalue().count("error") == 1


def test_rounds_put_sequences_of_one_length_together():
    """With many lengths, each batch holds few of them (one pass per length), every
    example is still seen once a round, and regular data keeps the shuffled order."""
    from netdsl.runtime.train.examples import Examples
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 41, 640)                         # 40 lengths
    seqs = np.empty(640, dtype=object)
    for i, n in enumerate(lengths):
        seqs[i] = np.zeros((n, 3), "f4")
    data = Examples({"Input": seqs})
    order = rng.permutation(640)
    new = data.round_order(order, 32, rng)
    assert sorted(new.tolist()) == list(range(640))
    passes = [len(data.groups(new[b:b + 32])) for b in range(0, 640, 32)]
    random_passes = [len(data.groups(order[b:b + 32])) for b in range(0, 640, 32)]
    assert np.mean(random_passes) > 15 and np.mean(passes) < 8
    regular = Examples({"Input": np.zeros((64, 5, 3), "f4")})
    assert regular.round_order(order[:64] % 64, 8, rng) is not None
    same = np.arange(64)[::-1].copy()
    assert (regular.round_order(same, 8, rng) == same).all()
