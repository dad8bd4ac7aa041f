"""Problems a fuzzer found in today's features, each now a clean result or a netdsl
error (never a hang, a raw Python error or a silent wrong answer)."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.builtins import stringpatterns
from values import error, py, run, text


def test_a_catastrophic_regular_expression_is_stopped(monkeypatch):
    monkeypatch.setattr(stringpatterns, "MATCH_SECONDS", 0.3)
    words = error('StringMatchQ[StringJoin[Table["a", 60]], RegularExpression["(a+)+b"]]',
                  "StringMatchQ", "timeout")
    assert "backtracks" in words
    assert text('StringMatchQ["abc", RegularExpression["a.c"]]') == "True"


@pytest.mark.parametrize("src, symbol, tag", [
    ("NetMapThreadOperator[LinearLayer[2], 10^9]", "NetMapThreadOperator", "invspec"),
    ('NetMapThreadOperator[ThreadingLayer[Plus], <|"Input1" -> 10^6|>]', "NetMapThreadOperator",
     "invspec"),
    ("Flatten[{{1}}, {{10^8}}]", "Flatten", "argx"),
    ("Transpose[{{1, 2}}, 10^20 <-> 1]", "General", "ovfl"),
    ("RandomVariate[PoissonDistribution[10^30]]", "RandomVariate", "parrange"),
    ("RandomVariate[NormalDistribution[0, 10^400], 0]", "RandomVariate", "parrange"),
    ("ElementwiseLayer[10^1000 # &]", "General", "ovfl"),
    ('NetDecoder[{"Class", {"a", "b", "c"}}][{0.1, 0.2, 0.3, 0.4}]', "NetDecoder", "invdata"),
    ('NetDecoder[{"Class", {"a", "b", "c"}}][{0.7, 0.2}]', "NetDecoder", "invdata"),
    ('NetDecoder[{"Class", {"a", "b", "c"}}][{}]', "NetDecoder", "invdata"),
    ('NetDecoder["Scalar"][{0.1, 0.7, 0.2}]', "NetDecoder", "invdata"),
    ('NetDecoder["Boolean"][{{0, 0, 0}}]', "NetDecoder", "invdata"),
    ('NetDecoder[{"Characters", "abc"}][{{.1, .2, .3, .4}}]', "NetDecoder", "invdata"),
    ('NetTrain[NetChain[{LinearLayer[1]}, "Input" -> 2, "Output" -> "Scalar"], {{1, 2} -> True}, '
     'MaxTrainingRounds -> 1]', "NetTrain", "netinvin"),
    ("FunctionLayer[Part[#] &]", "FunctionLayer", "invfun"),
    ("FunctionLayer[ArrayReshape[#] &]", "FunctionLayer", "invfun"),
    ("FunctionLayer[Reverse[#, 2] &]", "FunctionLayer", "invfun"),
    ("FunctionLayer[Total[#, 1, 2] &]", "FunctionLayer", "invfun"),
    ("FunctionLayer[# . 3 &]", "FunctionLayer", "invfun"),
])
def test_clean_errors(src, symbol, tag):
    error(src, symbol, tag)


def test_function_layer_constants_levels_and_attributes():
    np.testing.assert_allclose(run("FunctionLayer[# . {1., 2., 3.} &]")(np.float32([1, 1, 1])),
                               6.0)
    w = run("w = {{1., 0.}, {0., 2.}}; FunctionLayer[w . # &]")
    np.testing.assert_allclose(w(np.float32([3, 4])), [3, 8])
    j = run('FunctionLayer[Join[#, #, 2] &, "Input" -> {2, 2}]')
    np.testing.assert_allclose(j(np.float32([[1, 2], [3, 4]])), [[1, 2, 1, 2], [3, 4, 3, 4]])
    k = run('FunctionLayer[Join[#, {{5., 6.}}] &, "Input" -> {1, 2}]')
    np.testing.assert_allclose(k(np.float32([[1, 2]])), [[1, 2], [5, 6]])
    listable = run("FunctionLayer[Function[x, 2 x, Listable]]")
    np.testing.assert_allclose(listable(np.float32([1, 2])), [2, 4])
    assert py(run("ElementwiseLayer[# && True &][{1., 0.}]")) == [1.0, 0.0]


def test_associations_built_key_by_key_and_key_wrappers():
    a = run("a = <||>; Do[a[i] = i^2, {i, 3000}]; a")
    assert len(a) == 3000 and a.get(77) == 5929
    assert text('b = <|"k" -> 1|>; b[Key["k"]] = 5; b') == '<|"k" -> 5|>'


def test_a_pair_embeddings_output_decoder_survives_a_net_file(tmp_path):
    pytest.importorskip("safetensors")
    s = netdsl.Session()
    s.evaluate('pe = NetInitialize@NetPairEmbeddingOperator[LinearLayer[2], "Input" -> 3, '
               '"Output" -> NetDecoder["Boolean"]]')
    path = tmp_path / "pe.safetensors"
    s.evaluate(f'Export["{path}", pe]')
    back = s.evaluate(f'Import["{path}"]')
    assert back.ports["Output"].coder is not None and back == s.evaluate("pe")
    assert s.evaluate(f'Import["{path}"][{{{{1, 2, 3}}, {{1, 2, 4}}}}]') in (
        netdsl.Symbol("True"), netdsl.Symbol("False"))


@pytest.mark.parametrize("src", ['LinearLayer[][[{1, {1, 2, 3}}]]',
                                 'NetExtract[LinearLayer[3, "Input" -> 2], {{1, 2}, "Weights"}]'])
def test_a_list_inside_a_part_path_is_a_nopart_error(src):
    """A list where a path names a layer or array: it was looked up in a table of array
    aliases as is (a raw "unhashable type" error)."""
    assert "does not name a layer" in error(src, src.split("[")[0] if src.startswith("Net")
                                            else "Part", "nopart")
