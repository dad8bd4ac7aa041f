"""Ports of integer arrays (EmbeddingLayer's input): their spec is written as Wolfram does,
{n, Restricted["Integer", k]} or {n1, n2, "Integer"}, so InputForm text and net files
of such nets build the same net again."""

from __future__ import annotations

import numpy as np
import pytest

from netdsl import NetDSLError, Session
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


# ---------------------------------------------------------------- integers through layers
# Found by fuzzing: integers (encoders, OrderingLayer) reaching a layer that computes with
# reals came out typed as integers and raised raw NumPy casting errors in Train mode,
# gradients and training; a sequence layer between an encoder and an EmbeddingLayer lost
# the integer type, so Wolfram's character language model did not build.
CHAR_LM = ('NetGraph[<|"most" -> SequenceMostLayer[], "rest" -> SequenceRestLayer[], '
           '"emb" -> EmbeddingLayer[4], "rnn" -> GatedRecurrentLayer[6], '
           '"cls" -> NetMapOperator[LinearLayer[3]], "sm" -> SoftmaxLayer[], '
           '"loss" -> CrossEntropyLossLayer["Index"]|>, '
           '{NetPort["Input"] -> "most" -> "emb" -> "rnn" -> "cls" -> "sm" -> '
           'NetPort["loss", "Input"], NetPort["Input"] -> "rest" -> NetPort["loss", "Target"]}, '
           '"Input" -> NetEncoder[{"Characters", "abc"}]]')


def test_the_character_language_model_builds_and_trains():
    s = Session()
    net = s.evaluate(f"net = {CHAR_LM}")
    for name in ("most", "rest"):
        t = net.net(name).ports["Output"]
        assert t.integer and t.classes == 3
    s.evaluate('data = {"abcabcabca", "bcabcab", "cabcabcabc"}; '
               'r = NetTrain[net, <|"Input" -> data|>, All, MaxTrainingRounds -> 60, '
               'LearningRate -> 0.05, RandomSeeding -> 1]')
    losses = np.asarray(s.evaluate('r["RoundLossList"]'), float)
    assert losses[-1] < 0.5 * losses[0]     # the cycle a -> b -> c is learnable


@pytest.mark.parametrize("layer, reference", [
    ("ElementwiseLayer[Tanh]", np.tanh),
    ("SoftmaxLayer[]", lambda x: np.exp(x) / np.exp(x).sum()),
    ('DropoutLayer[0.5]', lambda x: x),
    ("ElementwiseLayer[#^2 - 1 &]", lambda x: x ** 2 - 1),
])
def test_a_layer_computing_with_reals_takes_integers_as_reals(layer, reference):
    s = Session()
    net = s.evaluate(f'net = NetInitialize@NetChain[{{{layer}}}, '
                     f'"Input" -> NetEncoder[{{"Characters", "abc", "TargetLength" -> 4}}]]')
    assert not net.ports["Output"].integer            # reals out
    codes = np.array([1.0, 2.0, 3.0, 1.0])              # "abca"
    np.testing.assert_allclose(np.asarray(s.evaluate('net["abca"]')), reference(codes),
                               rtol=1e-6)
    s.evaluate('net["abca", NetEvaluationMode -> "Train"]')       # raised a casting error
    s.evaluate('net[{"abca", "cccc"}, NetPortGradient["Input"]]')


def test_ordering_positions_feed_a_linear_layer_in_training():
    s = Session()
    s.evaluate('net = NetInitialize[NetChain[{OrderingLayer[All], LinearLayer[1]}, '
               '"Input" -> 3], RandomSeeding -> 3]; x = {{0.3, 0.1, 0.2}, {0.1, 0.2, 0.3}}')
    w = np.asarray(s.evaluate('NetExtract[net, {2, "Weights"}]'))
    b = np.asarray(s.evaluate('NetExtract[net, {2, "Biases"}]'))
    order = np.array([[2, 3, 1], [1, 2, 3]], float)    # Ordering of each row, 1-based
    want = order @ w.T + b
    np.testing.assert_allclose(np.asarray(s.evaluate('net[x, NetEvaluationMode -> "Train"]')),
                               want, rtol=1e-6)
    s.evaluate('NetTrain[net, <|"Input" -> x, "Output" -> {{1.}, {2.}}|>, '
               'MaxTrainingRounds -> 2]')


@pytest.mark.parametrize("spec, shape", [("4", (4,)), ("{2, 3}", (2, 3)),
                                         ('"Varying"', None), ('{"Varying"}', None)])
def test_a_shape_only_port_spec_takes_the_kind_of_the_layer_it_feeds(spec, shape):
    """Wolfram's "Input" -> "Varying" before an EmbeddingLayer means indices: a spec of
    sizes alone says nothing of reals or integers (it was a tyinc error)."""
    s = Session()
    net = s.evaluate(f'NetInitialize[NetChain[{{EmbeddingLayer[3, 5]}}, "Input" -> {spec}], '
                     f"RandomSeeding -> 1]")
    t = net.ports["Input"]
    assert t.integer and t.classes == 5
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, size=(2,) + (shape or (4,)))
    w = np.asarray(next(iter(net.leaves()))[1].arrays["Weights"])
    np.testing.assert_allclose(net(x), w[x - 1], rtol=1e-6)   # row k of the table for k
    if shape is not None:
        assert t.shape == shape
    else:                                                     # any length
        np.testing.assert_allclose(net(x[0, :2]), w[x[0, :2] - 1], rtol=1e-6)


def test_a_real_port_spec_still_refuses_integers():
    s = Session()
    with pytest.raises(NetDSLError, match="tyinc"):
        s.evaluate('NetChain[{EmbeddingLayer[3, 5]}, "Input" -> "Real"]')
    assert not s.evaluate('NetChain[{LinearLayer[3]}, "Input" -> 4]').ports["Input"].integer
