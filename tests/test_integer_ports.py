"""Ports of integer arrays (EmbeddingLayer's input): their spec is written as Wolfram does,
{n, Restricted["Integer", k]} or {n1, n2, "Integer"}, so InputForm text and net files
of such nets build the same net again."""

from __future__ import annotations

import numpy as np
import pytest

from netdsl import Session
from netdsl.layers.shapes import PortType, port_type_from_spec

NET = ('n = NetInitialize[NetChain[{EmbeddingLayer[4, 10, "Input" -> 5], '
       'AggregationLayer[Total, 1]}]];')


@pytest.mark.parametrize("port", [PortType((5,), True, 10), PortType((5, 6), True),
                                  PortType((None,), True, 3), PortType((2,), False),
                                  PortType((), True, 7), PortType((), True)])
def test_spec_reads_back_as_the_same_type(port):
    assert port_type_from_spec(port.spec()) == port


def test_integer_vector_spec_text():
    s = Session()
    s.evaluate(NET)
    text = s.evaluate("ToString[n, InputForm]")
    assert '"Input" -> {5, Restricted["Integer", 10]}' in text


def test_input_form_round_trip():
    s = Session()
    s.evaluate(NET + ' m = ToExpression[ToString[n, InputForm]];')
    assert s.evaluate("m").ports == s.evaluate("n").ports
    np.testing.assert_array_equal(np.asarray(s.evaluate("m[{1, 2, 3, 4, 10}]")),
                                  np.asarray(s.evaluate("n[{1, 2, 3, 4, 10}]")))


def test_safetensors_round_trip(tmp_path):
    s = Session()
    path = (tmp_path / "emb.safetensors").as_posix()
    s.evaluate(NET + f' Export["{path}", n]; m = Import["{path}"];')
    assert s.evaluate("m").ports["Input"] == PortType((5,), True, 10)
    np.testing.assert_array_equal(np.asarray(s.evaluate("m[{1, 2, 3, 4, 10}]")),
                                  np.asarray(s.evaluate("n[{1, 2, 3, 4, 10}]")))


def test_element_type_must_be_a_scalar_type():
    for text in ('{5, "Bad"}', '{5, 0, "Integer"}'):
        with pytest.raises(ValueError):
            port_type_from_spec(Session().evaluate(text))
