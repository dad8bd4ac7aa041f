"""NetDecoder "Scalar", "Characters" and "Tokens" (Wolfram's decoder pages: a 1-vector as
a number; a sequence of probability vectors as a string, the most probable character or
token at each position, tokens lower-cased unless "IgnoreCase" -> False), and the port
shorthands "Output" -> "Boolean" | "Scalar" (a decoder) and "Input" -> "Scalar" (an
encoder). Expected strings are read off the probabilities by hand."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError
from values import py, run, text

P = "{{0.1, 0.8, 0.1}, {0.9, 0.05, 0.05}}"      # positions: 2nd, then 1st most probable


@pytest.mark.parametrize("src, expected", [
    ('NetDecoder["Scalar"][{3.5}]', "3.5"),
    ('NetDecoder["Scalar"][{{3.5}, {-1.}}]', "{3.5, -1.}"),
    (f'NetDecoder[{{"Characters", "abc"}}][{P}]', '"ba"'),
    ('NetDecoder[{"Characters", "abc"}][{0.1, 0.8, 0.1}]', '"b"'),     # one position
    (f'NetDecoder[{{"Characters", "abc"}}][{{{P}, {{{{0, 0, 1.}}}}}}]', '{"ba", "c"}'),
    (f'NetDecoder[{{"Tokens", {{"Cat", "dog", "x"}}}}][{P}]', '"dog cat"'),
    (f'NetDecoder[{{"Tokens", {{"Cat", "dog", "x"}}, "IgnoreCase" -> False}}][{P}]',
     '"dog Cat"'),
    ('NetDecoder[{"Characters", "abc"}]', 'NetDecoder[{"Characters", "abc"}]'),
    ('NetDecoder[{"Tokens", {"a", "b"}}]', 'NetDecoder[{"Tokens", {"a", "b"}}]'),
])
def test_decoding(src, expected):
    assert text(src) == expected


def test_errors():
    with pytest.raises(NetDSLError, match="takes no parameters"):
        run('NetDecoder[{"Scalar", 3}]')
    with pytest.raises(NetDSLError, match="needs its tokens"):
        run('NetDecoder["Tokens"]')
    with pytest.raises(NetDSLError, match="numeric array"):
        run('NetDecoder["Class"][{{1, 2}, {3}}]')


def test_scalar_output_shorthand_gives_the_number():
    s = netdsl.Session()
    s.evaluate('m = NetInitialize[NetChain[{LinearLayer[1]}, "Input" -> 2, "Output" -> '
               '"Scalar"], RandomSeeding -> 2]')
    raw = py(s.evaluate("m[{1, 2}, None]"))
    assert s.evaluate("m[{1, 2}]") == pytest.approx(raw[0], rel=1e-6)


def test_boolean_output_and_scalar_input_shorthands():
    s = netdsl.Session()
    s.evaluate('n = NetInitialize[NetChain[{LinearLayer[{}], LogisticSigmoid}, "Input" -> 2, '
               '"Output" -> "Boolean"], RandomSeeding -> 3]')
    p = s.evaluate("n[{1, 2}, None]")
    assert s.evaluate("n[{1, 2}]") is netdsl.Symbol("True" if p > 0.5 else "False")
    g = s.evaluate('NetGraph[{LinearLayer[{}], LogisticSigmoid}, {1 -> 2}, "Input" -> 2, '
                   '"Output" -> "Boolean"]')
    assert g.ports["Output"].coder.kind == "Boolean"
    layer = s.evaluate('LinearLayer[3, "Input" -> "Scalar"]')
    assert layer.ports["Input"].coder.kind == "Scalar"


def test_training_on_strings_through_a_characters_decoder():
    s = netdsl.Session()
    rng = np.random.default_rng(0)
    s["xs"] = rng.random((20, 2)).astype(np.float32)
    s.evaluate('ys = Table["cab", 20]; net = NetChain[{LinearLayer[{3, 3}], SoftmaxLayer[]}, '
               '"Input" -> 2, "Output" -> NetDecoder[{"Characters", "abc"}]]')
    s.evaluate("t = NetTrain[net, xs -> ys, MaxTrainingRounds -> 200, LearningRate -> 0.05, "
               "TrainingProgressReporting -> None]")
    assert s.evaluate("t[xs[[1]]]") == "cab"


def test_coder_parameters_extracted_and_replaced():
    """Wolfram's NetReplacePart/NetExtract on coders: NetExtract[coder, "param"],
    NetReplacePart[coder, "param" -> value], NetReplacePart[net, {"port", "param"} ->
    value], and "port" -> None removing a coder (the shape stays)."""
    assert text('NetExtract[NetEncoder[{"Class", {"a", "b"}}], "Labels"]') == '{"a", "b"}'
    assert run('NetExtract[NetDecoder[{"Class", {"a", "b"}, "InputDepth" -> 2}], '
               '"InputDepth"]') == 2
    enc = run('NetReplacePart[NetEncoder[{"Class", {"a", "b"}}], "Labels" -> {"x", "y", "z"}]')
    assert enc.labels == ("x", "y", "z")
    s = netdsl.Session()
    s.evaluate('n = NetChain[{LinearLayer[2], SoftmaxLayer[]}, "Input" -> NetEncoder[{"Class", '
               '{"a", "b", "c"}, "UnitVector"}], "Output" -> NetDecoder[{"Class", {"x", "y"}}]]')
    plain = s.evaluate('NetReplacePart[n, "Input" -> None]')
    assert plain.ports["Input"].coder is None and plain.ports["Input"].shape == (3,)
    relabelled = s.evaluate('NetReplacePart[n, {"Output", "Labels"} -> {"p", "q"}]')
    assert relabelled.ports["Output"].coder.labels == ("p", "q")
    with pytest.raises(NetDSLError, match="inconsistent"):
        s.evaluate('NetReplacePart[n, {"Output", "Labels"} -> {"p", "q", "r"}]')
    with pytest.raises(NetDSLError, match="not a parameter"):
        run('NetExtract[NetEncoder["Boolean"], "Labels"]')
