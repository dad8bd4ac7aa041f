"""AttentionLayer over its options (scoring, mask, rescaling, heads) on batches of
self-attention sequences of different lengths: each sequence's output and input gradient
equal what it gives alone (the batch is padded and masked inside)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import netdsl

GRID = list(itertools.product(
    ['"Dot"', '"Bilinear"'], ["None", '"Causal"', '"Causal" -> 2'],
    ["None", '"LengthSqrt"', '"DimensionSqrt"'], [False, True]))


@pytest.mark.parametrize("scoring,mask,rescaling,heads", GRID)
def test_ragged_self_attention_equals_each_sequence_alone(scoring, mask, rescaling, heads):
    dims = '{"Varying", 2, 3}' if heads else '{"Varying", 4}'
    multi = ', "MultiHead" -> True' if heads else ""
    session = netdsl.Session()
    session.evaluate(
        f'net = NetInitialize[NetGraph[<|"lin" -> NetMapOperator[LinearLayer[{{2, 3}}]], '
        f'"att" -> AttentionLayer[{scoring}, "Mask" -> {mask}, "ScoreRescaling" -> '
        f'{rescaling}{multi}]|>, {{NetPort["Input"] -> "lin", "lin" -> NetPort["att", "Key"], '
        f'"lin" -> NetPort["att", "Value"], "lin" -> NetPort["att", "Query"]}}, '
        f'"Input" -> {{"Varying", 5}}], RandomSeeding -> 4]' if heads else
        f'net = NetInitialize[NetGraph[<|"att" -> AttentionLayer[{scoring}, "Mask" -> {mask}, '
        f'"ScoreRescaling" -> {rescaling}]|>, {{NetPort["Input"] -> NetPort["att", "Key"], '
        f'NetPort["Input"] -> NetPort["att", "Value"], NetPort["Input"] -> '
        f'NetPort["att", "Query"]}}, "Input" -> {dims}], RandomSeeding -> 4]')
    rng = np.random.default_rng(1)
    width = 5 if heads else 4
    seqs = [rng.normal(size=(n, width)).astype(np.float32) for n in (3, 1, 5, 2, 5, 4)]
    net = session["net"]
    together = net(seqs)
    for s, y in zip(seqs, together):
        np.testing.assert_allclose(np.asarray(y), np.asarray(net(s)), rtol=1e-5, atol=1e-6)
    ask = 'net[<|"Input" -> x, NetPortGradient["Output"] -> g|>, NetPortGradient["Input"]]'
    gs = [rng.normal(size=np.asarray(y).shape).astype(np.float32) for y in together]
    alone = []
    for s, g in zip(seqs, gs):
        session["x"], session["g"] = s, g
        alone.append(np.asarray(session.evaluate(ask)))
    session["x"], session["g"] = seqs, gs
    for got, want in zip(session.evaluate(ask), alone):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-5)
