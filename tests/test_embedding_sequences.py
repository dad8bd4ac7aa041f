"""EmbeddingLayer takes its input's rank from the context, as Wolfram's: before a recurrent
layer, a "Varying" sequence of indices (inferred back through the layer), so the net
initialises and runs without "Input" -> "Varying"."""

from __future__ import annotations

import numpy as np

import netdsl
from netdsl.layers.shapes import LengthVar


def test_a_sequence_of_indices_before_a_recurrent_layer():
    for text in ('NetChain[{EmbeddingLayer[3, 6], LongShortTermMemoryLayer[4]}]',
                 'NetGraph[<|"emb" -> EmbeddingLayer[3, 6], "r" -> GatedRecurrentLayer[4]|>, '
                 '{"emb" -> "r"}]'):
        net = netdsl.evaluate(f"NetInitialize[{text}]")
        t = net.ports["Input"]
        assert t.integer and t.classes == 6 and len(t.shape) == 1
        assert isinstance(t.shape[0], LengthVar)
        assert t.shape[0] is net.ports["Output"].shape[0]     # one length, shared
        y = net(np.array([1, 6, 2]))
        assert y.shape == (3, 4)
        ys = net([np.array([1, 2]), np.array([3, 4, 5, 6])])
        np.testing.assert_allclose(ys[1], net(np.array([3, 4, 5, 6])), rtol=1e-6)


def test_one_index_when_nothing_says_otherwise():
    net = netdsl.evaluate('NetChain[{EmbeddingLayer[3, 6]}]')
    assert net.ports["Input"].shape == () and net.ports["Output"].shape == (3,)
