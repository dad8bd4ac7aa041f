"""Coders of nested nets reach the outer ports, as Wolfram's port types carry them: a net
with an encoder put first in a chain (transfer learning keeps a model's encoder) still
reads labels, a net with a decoder put last still decodes, and a loss layer's "Target" in
a graph takes its True/False encoder. Only the outermost ports' coders run, so without
this the inner ones were silently dropped."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError


def ev(text: str):
    return netdsl.Session().evaluate(text)


def test_an_inner_encoder_becomes_the_chains_input_encoder():
    s = netdsl.Session()
    s.evaluate('inner = NetInitialize@NetChain[{EmbeddingLayer[3]}, '
               '"Input" -> NetEncoder[{"Class", {"a", "b"}}]]')
    s.evaluate('outer = NetInitialize@NetChain[{inner, LinearLayer[2]}]')
    outer = s.evaluate("outer")
    assert outer.ports["Input"].coder == s.evaluate("inner").ports["Input"].coder
    w = outer.net("1").net("1").arrays["Weights"].astype(np.float64)     # 2 x 3
    lin = outer.net("2")
    want = w[1] @ lin.arrays["Weights"].T.astype(np.float64) + lin.arrays["Biases"]
    np.testing.assert_allclose(s.evaluate('outer["b"]'), want, rtol=1e-5)
    assert np.shape(s.evaluate('outer[{"a", "b", "b"}]')) == (3, 2)


def test_an_inner_decoder_becomes_the_chains_output_decoder():
    s = netdsl.Session()
    s.evaluate('head = NetChain[{LinearLayer[2], SoftmaxLayer[]}, "Input" -> 3, '
               '"Output" -> NetDecoder[{"Class", {"x", "y"}}]]')
    s.evaluate('net = NetInitialize@NetChain[{LinearLayer[3], head}, "Input" -> 4]')
    assert s.evaluate('net[{1, 2, 3, 4}]') in ("x", "y")
    probs = s.evaluate('net[{1, 2, 3, 4}, "Probabilities"]')
    assert set(probs.keys()) == {"x", "y"}


def test_a_graph_input_feeding_one_encoded_port_takes_its_encoder():
    g = ev('NetGraph[<|"a" -> LinearLayer[{}], "loss" -> ContrastiveLossLayer[]|>, '
           '{"a" -> "loss"}, "Input" -> 2]')
    assert g.port_names()[0] == ("Input", "Target")     # "a" -> "loss" feeds its "Input"
    assert g.ports["Target"].coder is not None and g.ports["Input"].coder is None


def test_an_outer_coder_of_its_own_is_kept():
    s = netdsl.Session()
    s.evaluate('inner = NetChain[{EmbeddingLayer[3]}, "Input" -> NetEncoder[{"Class", {1, 2}}]]')
    outer = s.evaluate('NetChain[{inner}, "Input" -> NetEncoder[{"Class", {"p", "q"}}]]')
    assert outer.ports["Input"].coder.labels == ("p", "q")


def test_one_source_into_a_layer_without_an_input_port_is_still_ambiguous():
    with pytest.raises(NetDSLError) as e:
        ev('NetGraph[<|"a" -> LinearLayer[{3, 4}], "d" -> AttentionLayer[]|>, {"a" -> "d"}, '
           '"Input" -> 2]')
    assert e.value.tag == "ambig" and "Key, Value, Query" in str(e.value)
