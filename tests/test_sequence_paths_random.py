"""Random sequence nets: a batch of sequences of different lengths equals its sequences
evaluated one at a time, and NetTrain's gradient of the batch is the mean of theirs.

A batch of several lengths is padded, masked and bucketed inside the executor; one
sequence is not. The recurrent layers run the compiled LSTM steps (numba) or the NumPy
loop, the embedding lookup fused into the LSTM or not: each seed picks one (FUSED_MIN 0
or the default).
"""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.layers import lstm_kernel

RECURRENT = ["LongShortTermMemoryLayer", "GatedRecurrentLayer", "BasicRecurrentLayer"]


def _random_net(rng, last: bool | None = None) -> tuple[str, bool, int]:
    """(NetChain text, integer input?, feature size of real input); ``last``: end with
    SequenceLastLayer and a LinearLayer (None: at random)."""
    integer = bool(rng.random() < 0.5)
    d = int(rng.integers(2, 6))
    layers = [f'EmbeddingLayer[{d}, 7, "Input" -> "Varying"]'] if integer else []
    for _ in range(rng.integers(1, 4)):
        kind = rng.choice(["rnn", "rnn", "bi", "map", "reverse", "tanh"])
        h = int(rng.choice([3, 8]))
        if kind == "rnn":
            layers.append(f"{rng.choice(RECURRENT)}[{h}]")
        elif kind == "bi":
            layers.append(f"NetBidirectionalOperator[{rng.choice(RECURRENT)}[{h}]]")
        elif kind == "map":
            layers.append(f"NetMapOperator[LinearLayer[{h}]]")
        elif kind == "reverse":
            layers.append("SequenceReverseLayer[]")
        else:
            layers.append("Tanh")
    if last or last is None and rng.random() < 0.5:
        layers += ["SequenceLastLayer[]", "LinearLayer[2]"]
    text = ", ".join(layers)
    spec = "" if integer else f', "Input" -> {{"Varying", {d}}}'
    return f"NetChain[{{{text}}}{spec}]", integer, d


def _sequences(rng, integer: bool, d: int, batch: int) -> list:
    lengths = rng.integers(1, 10, batch)
    if integer:
        return [rng.integers(1, 8, n).tolist() for n in lengths]
    return [rng.normal(size=(n, d)).astype(np.float32) for n in lengths]


@pytest.mark.parametrize("seed", range(80))
def test_a_batch_of_sequences_equals_its_sequences_one_at_a_time(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    if seed % 2:
        monkeypatch.setattr(lstm_kernel, "FUSED_MIN", 0)
    code, integer, d = _random_net(rng)
    net = netdsl.evaluate(f"NetInitialize[{code}, RandomSeeding -> {seed}]")
    seqs = _sequences(rng, integer, d, int(rng.choice([3, 12])))
    alone = [np.asarray(net(s)) for s in seqs]
    for _ in range(2):
        together = net(seqs)
        for k, (got, want) in enumerate(zip(together, alone)):
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-5,
                                       err_msg=f"{code} sequence {k}")


@pytest.mark.parametrize("seed", range(40))
def test_training_gradient_of_mixed_lengths_is_the_mean_of_the_sequences(seed, monkeypatch):
    from tests.test_lanes import Trainer
    rng = np.random.default_rng(5_000 + seed)
    if seed % 2:
        monkeypatch.setattr(lstm_kernel, "FUSED_MIN", 0)
    code, integer, d = _random_net(rng, last=True)        # one target vector per sequence
    seqs = _sequences(rng, integer, d, 6)
    data = np.empty(len(seqs), dtype=object)
    for k, s in enumerate(seqs):
        data[k] = np.asarray(s)
    y = rng.normal(size=(len(seqs), 2)).astype(np.float32)
    t = Trainer(code, data, y)
    _, together = t.grad(1)
    alone = []
    for k in range(len(seqs)):
        one = np.empty(1, dtype=object)
        one[0] = data[k]
        alone.append(Trainer(code, one, y[k:k + 1]).grad(1)[1])
    np.testing.assert_allclose(together, np.mean(alone, 0), rtol=1e-3, atol=1e-6,
                               err_msg=code)


@pytest.mark.parametrize("seed", range(40))
def test_input_gradients_of_mixed_lengths_equal_each_sequence_alone(seed, monkeypatch):
    """net[<|"Input" -> seqs, NetPortGradient["Output"] -> g|>, NetPortGradient["Input"]]
    with sequences of different lengths (a raw ValueError before this was tested)."""
    rng = np.random.default_rng(9_000 + seed)
    if seed % 2:
        monkeypatch.setattr(lstm_kernel, "FUSED_MIN", 0)
    code, integer, d = _random_net(rng)
    while integer:
        code, integer, d = _random_net(rng)
    session = netdsl.Session()
    session.evaluate(f"net = NetInitialize[{code}, RandomSeeding -> {seed}]")
    seqs = _sequences(rng, False, d, 5)
    outs = session["net"](seqs)
    gs = [rng.normal(size=np.shape(y)).astype(np.float32) for y in outs]
    ask = 'net[<|"Input" -> x, NetPortGradient["Output"] -> g|>, NetPortGradient["Input"]]'
    alone = []
    for s, g in zip(seqs, gs):
        session["x"], session["g"] = s, g
        alone.append(np.asarray(session.evaluate(ask)))
    session["x"], session["g"] = seqs, gs
    for k, (got, want) in enumerate(zip(session.evaluate(ask), alone)):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{code} sequence {k}")
