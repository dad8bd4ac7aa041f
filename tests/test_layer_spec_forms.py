"""Layer parameters in Wolfram's form: the summary's "Parameters:" line and NetExtract give
a parsed specification as the expression it stands for ({Scaled[2], All}, 2 ;; All, 1 <-> 2),
never netdsl's internal tuples; what NetExtract gives builds the same layer again; messages
quote lists as {1, 1}; and a size that a parameter makes huge is refused with
General::tnsrmaxsz before anything is allocated.

The expected texts below are written out by hand from Wolfram's reference pages (the
parameter as the user writes it), not produced by netdsl.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError, NetDSLError, budget
from netdsl.expr import input_form
from netdsl.layers.base import Layer


@pytest.fixture
def s():
    return netdsl.Session()


def parameters(text: str) -> list[str]:
    """The pieces of the summary's "Parameters:" line, split at top-level commas."""
    line = next(x for x in text.splitlines() if x.strip().startswith("Parameters:"))
    body = line.split("Parameters:", 1)[1].strip()
    pieces, depth, cur = [], 0, ""
    for ch in body:
        depth += ch in "{[(" and 1 or ch in "}])" and -1 or 0
        if ch == "," and depth == 0:
            pieces.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return pieces + [cur.strip()]


# ---------------------------------------------------------------- summaries
SUMMARIES = [
    ("ResizeLayer[{50, 60}]", "Specification {50, 60}"),
    ("ResizeLayer[{Scaled[2], All}]", "Specification {Scaled[2], All}"),
    ("PaddingLayer[{{1, 1}, {2, 2}}]", "Specification {{1, 1}, {2, 2}}"),
    ("PartLayer[2]", "Specification 2"),
    ("PartLayer[-1]", "Specification -1"),
    ("PartLayer[{All, 2 ;; -1}]", "Specification {All, 2 ;; -1}"),
    ("PartLayer[{{1, 3}}]", "Specification {{1, 3}}"),
    ("PartLayer[1 ;; 5 ;; 2]", "Specification 1 ;; 5 ;; 2"),
    ("TransposeLayer[]", "Specification 1 <-> 2"),
    ("TransposeLayer[{3, 1, 2}]", "Specification {3, 1, 2}"),
    ("TransposeLayer[3 -> 1]", "Specification 3 -> 1"),
    ("TransposeLayer[{1 <-> 2, 3 <-> 4}]", "Specification {1 <-> 2, 3 <-> 4}"),
    ("AggregationLayer[Max]", "Levels 2 ;; All"),
    ("AggregationLayer[Mean, {1, 3}]", "Levels {1, 3}"),
    ("AggregationLayer[Total, All]", "Levels All"),
    ("NormalizationLayer[]", "AggregationLevels 2 ;; All"),
    ("NormalizationLayer[All, 2 ;; 3]", "ScalingLevels 2 ;; 3"),
    ("NormalizationLayer[All, 2 ;; 3]", "AggregationLevels All"),
    ("FlattenLayer[{{1, 3}, {2}}]", "Level {{1, 3}, {2}}"),
    ("ReplicateLayer[{2, Automatic}, -1]", "Specification {2, Automatic}"),
    ("ReshapeLayer[{2, Automatic, Inherited}]", "Dimensions {2, Automatic, Inherited}"),
    ("OrderingLayer[]", "Elements All"),
    ("LinearLayer[3]", "OutputDimensions {3}"),
    # a window's sizes per spatial dimension once the kernel fixes there are two
    ("PoolingLayer[{2, 2}]", "Stride {1, 1}"),
    ("PoolingLayer[{2, 2}]", "Dilation {1, 1}"),
    ("PoolingLayer[{2, 2}]", "PaddingSize {{0, 0}, {0, 0}}"),
    ('ConvolutionLayer[3, {2, 2}, "PaddingSize" -> {{1, 1}, {2, 2}}, "Stride" -> 2]',
     "PaddingSize {{1, 1}, {2, 2}}"),
    ('ConvolutionLayer[3, {2, 2}, "PaddingSize" -> {{1, 1}, {2, 2}}, "Stride" -> 2]',
     "Stride {2, 2}"),
    ('PoolingLayer[2, 2, "PaddingSize" -> {{1, 0}}]', "PaddingSize {{1, 0}}"),
    ('DeconvolutionLayer[3, {2, 2}, "Stride" -> 2]', "Stride {2, 2}"),
]


@pytest.mark.parametrize("text, piece", SUMMARIES)
def test_summary_shows_parameters_in_wolfram_form(s, text, piece):
    summary = s.evaluate(text).output_form()
    assert piece in parameters(summary), summary


@pytest.mark.parametrize("text", sorted({t for t, _ in SUMMARIES}))
def test_no_python_internals_in_a_summary(s, text):
    summary = s.evaluate(text).output_form()
    assert "'" not in summary and "None" not in summary, summary
    assert not re.search(r"\(\d", summary), summary          # no tuple such as (1, 1)


# ---------------------------------------------------------------- NetExtract
EXTRACTS = [
    ("ResizeLayer[{50, 60}]", "Specification", "{50, 60}"),
    ("ResizeLayer[{Scaled[2], All}]", "Specification", "{Scaled[2], All}"),
    ("PaddingLayer[{{1, 1}, {2, 2}}]", "Specification", "{{1, 1}, {2, 2}}"),
    ("PartLayer[2]", "Specification", "2"),
    ("PartLayer[{All, 2 ;; -1}]", "Specification", "{All, 2 ;; -1}"),
    ("PartLayer[{{1, 3}}]", "Specification", "{{1, 3}}"),
    ("TransposeLayer[]", "Specification", "1 <-> 2"),
    ("TransposeLayer[1 <-> 3]", "Specification", "1 <-> 3"),
    ("TransposeLayer[{3, 1, 2}]", "Specification", "{3, 1, 2}"),
    ("TransposeLayer[3 -> 1]", "Specification", "3 -> 1"),
    ("AggregationLayer[Max]", "Levels", "2 ;; All"),
    ("AggregationLayer[Mean, {1, 3}]", "Levels", "{1, 3}"),
    ("NormalizationLayer[]", "AggregationLevels", "2 ;; All"),
    ("NormalizationLayer[All]", "AggregationLevels", "All"),
    ("FlattenLayer[{{1, 3}, {2}}]", "Level", "{{1, 3}, {2}}"),
    ("ReplicateLayer[3]", "Specification", "3"),
    ("ReplicateLayer[{2, Automatic}, -1]", "Specification", "{2, Automatic}"),
    ("ReshapeLayer[{2, Automatic, Inherited}]", "Dimensions", "{2, Automatic, Inherited}"),
    ("OrderingLayer[]", "Elements", "All"),
    ("ThreadingLayer[Plus]", "Broadcasting", "Automatic"),
    ("LinearLayer[3]", "OutputDimensions", "{3}"),
    ("PoolingLayer[{2, 2}, 2]", "Stride", "{2, 2}"),
]


@pytest.mark.parametrize("text, name, expected", EXTRACTS)
def test_net_extract_gives_the_wolfram_expression(s, text, name, expected):
    value = s.evaluate(f'NetExtract[{text}, "{name}"]')
    assert input_form(value) == expected
    assert s.evaluate(f'SameQ[NetExtract[{text}, "{name}"], {expected}]') is netdsl.Symbol("True")


# ---------------------------------------------------------------- round trips
ROUND_TRIPS = [
    "ResizeLayer[{50, 60}]", "ResizeLayer[{Scaled[2], All}]", "ResizeLayer[{Scaled[1.5]}]",
    "PaddingLayer[{{1, 1}, {2, 2}}]", 'PaddingLayer[{{1, 0}}, "Fixed"]',
    "PartLayer[2]", "PartLayer[-1]", "PartLayer[{All, 2 ;; -1}]", "PartLayer[{{1, 3}}]",
    "PartLayer[1 ;; 5 ;; 2]", "PartLayer[{All, All ;; 3}]",
    "TransposeLayer[]", "TransposeLayer[{3, 1, 2}]", "TransposeLayer[3 -> 1]",
    "TransposeLayer[1 <-> 3]", "TransposeLayer[{1 <-> 2, 3 <-> 4}]",
    "AggregationLayer[Max]", "AggregationLayer[Mean, {1, 3}]", "AggregationLayer[Total, -1]",
    "AggregationLayer[Min, All]", "AggregationLayer[Max, {1, 2 ;; -1}]",
    "NormalizationLayer[]", 'NormalizationLayer[{1, 2}, "Same"]',
    "NormalizationLayer[All, 2 ;; 3]",
    "FlattenLayer[]", "FlattenLayer[1]", "FlattenLayer[{{1, 3}, {2}}]",
    "ReplicateLayer[3]", "ReplicateLayer[{2, Automatic}, -1]",
    "ReshapeLayer[{2, Automatic, Inherited}]",
    "OrderingLayer[]", "OrderingLayer[-2]",
    "ThreadingLayer[Plus]", "ThreadingLayer[Plus, None]", "ThreadingLayer[Times, 1]",
    "LinearLayer[3]", "LinearLayer[{2, 3}]", "LinearLayer[{}]",
    "SoftmaxLayer[1]", "CatenateLayer[2]", "EmbeddingLayer[4, 10]", "UnitVectorLayer[5]",
    'CrossEntropyLossLayer["Index"]', "ContrastiveLossLayer[0.3]", "DropoutLayer[0.3]",
    "PoolingLayer[{2, 2}, 2]", "PoolingLayer[3, 1]", "ConvolutionLayer[3, {2, 2}]",
    "DeconvolutionLayer[3, 2]", 'AttentionLayer["Dot"]', "ElementwiseLayer[Tanh]",
    "BasicRecurrentLayer[4]",
]


@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_extracted_parameters_rebuild_an_equal_layer(s, text):
    layer = s.evaluate(text)
    assert isinstance(layer, Layer)
    head = text.split("[", 1)[0]
    names = [p.name for p in layer.positional if layer.values.get(p.name) is not None]
    args = ", ".join(f'NetExtract[l, "{n}"]' for n in names)
    s.evaluate(f"l = {text};")
    again = s.evaluate(f"{head}[{args}]")
    assert again == layer, (input_form(layer), input_form(again))


def test_input_form_is_unchanged_by_the_extract_forms(s):
    # InputForm keeps its short forms (it already was Wolfram's text)
    for text in ("LinearLayer[3]", "TransposeLayer[]", "AggregationLayer[Max]",
                 "PartLayer[{All, 2 ;; -1}]", "ReplicateLayer[3]", "PoolingLayer[{2, 2}]",
                 "NormalizationLayer[All]"):
        written = input_form(s.evaluate(text))
        assert written.startswith(text[:-1]) or written == text, written
    assert input_form(s.evaluate("LinearLayer[3]")) == "LinearLayer[3]"
    assert input_form(s.evaluate("TransposeLayer[]")) == "TransposeLayer[]"
    assert input_form(s.evaluate("AggregationLayer[Max, 2 ;; All]")) == "AggregationLayer[Max]"
    # a stride of 1 given per dimension is still the default, left out
    assert "Stride" not in input_form(s.evaluate('ConvolutionLayer[3, {2, 2}, "Stride" -> 1]'))
    assert input_form(s.evaluate("PoolingLayer[{2, 2}, {1, 1}]")).startswith(
        "PoolingLayer[{2, 2}, ")
    assert ", {1, 1}" not in input_form(s.evaluate("PoolingLayer[{2, 2}, {1, 1}]"))
    # two swaps of the same levels are not the default single swap
    assert input_form(s.evaluate("TransposeLayer[{1 <-> 2, 1 <-> 2}]")) == \
        "TransposeLayer[{1 <-> 2, 1 <-> 2}]"


# ---------------------------------------------------------------- messages quote lists as {..}
MESSAGES = [
    ("TransposeLayer[{1, 1}]", "{1, 1} is not a permutation of 1..2"),
    ("TransposeLayer[{3, 1, 2}][{{1, 2}}]", "the permutation {3, 1, 2} is longer than"),
    ('DotLayer["Input1" -> {2, 3}, "Input2" -> {4}]',
     "cannot take dot product of arrays with shapes {2, 3} and {4}"),
    ('PaddingLayer[{{2, 2}}, "Output" -> {3}]', "no input gives an output of dimensions {3}"),
    ('NetChain[{ReshapeLayer[{Inherited, Inherited, 2}]}, "Input" -> 4]',
     "can't inherit from dimensions {2} given input rank of 1"),
    ('ThreadingLayer[Plus, "Input1" -> {2, 3}, "Input2" -> {4, 3}]',
     "inputs of dimensions {2, 3}, {4, 3} cannot be threaded together"),
]


@pytest.mark.parametrize("text, words", MESSAGES)
def test_messages_quote_lists_in_wolfram_form(s, text, words):
    with pytest.raises(NetDSLError) as e:
        s.evaluate(text)
    assert words in e.value.text, e.value.text
    assert "[" not in e.value.text.split(":", 1)[-1].replace("Validation failed for", ""), \
        e.value.text


# ---------------------------------------------------------------- sizes from parameters
HUGE = [
    ("ReplicateLayer[10^10][{1}]", 'the "Output" of ReplicateLayer (1 example of dimensions '
                                   "{10000000000, 1})"),
    ("PaddingLayer[{{10^10, 0}}][{1}]", 'the "Output" of PaddingLayer (1 example of '
                                        "dimensions {10000000001})"),
    ("UnitVectorLayer[10^10][3]", 'the "Output" of UnitVectorLayer (1 example of dimensions '
                                  "{10000000000})"),
    ("ResizeLayer[{10^6, 10^6}][{{{1, 2}, {3, 4}}}]",
     'the "Output" of ResizeLayer (1 example of dimensions {1, 1000000, 1000000})'),
    # a dense interpolation matrix of 10^5 x 10^5 for a small output
    ("ResizeLayer[{10^5 + 1, 2}][{Table[{1, 2}, 10^5]}]",
     "the interpolation matrix of ResizeLayer of dimensions {100001, 100000}"),
    ('NetInitialize[DeconvolutionLayer[1, 2, "Stride" -> 10^5, "Input" -> {1, 10, 10}]]'
     "[RandomReal[1, {1, 10, 10}]]",
     'the uncropped "Output" of DeconvolutionLayer (1 example of dimensions '
     "{1, 900002, 900002})"),
    ('NetInitialize[ConvolutionLayer[1, 1, "PaddingSize" -> 10^5, "Input" -> {1, 2, 2}]]'
     "[RandomReal[1, {1, 2, 2}]]",
     "the padded input of a convolution or pooling (1 example of dimensions "
     "{1, 200002, 200002})"),
    ('NetInitialize[EmbeddingLayer[10^10, 2, "Input" -> 3]][{1, 2, 1}]', "the arrays of"),
    ('NetInitialize[ConstantArrayLayer["Output" -> {10^6, 10^6}]]', "the arrays of"),
]


@pytest.mark.parametrize("text, what", HUGE)
def test_sizes_beyond_the_budget_are_refused_before_allocating(s, monkeypatch, text, what):
    def no_huge(real):
        def alloc(shape, *args, **kw):
            n = int(np.prod(shape, dtype=np.float64)) if not np.isscalar(shape) else shape
            assert n < 10 ** 9, f"tried to allocate {shape}"
            return real(shape, *args, **kw)
        return alloc
    for name in ("empty", "zeros", "full"):
        monkeypatch.setattr(np, name, no_huge(getattr(np, name)))
    with pytest.raises(EvaluationError) as e:
        s.evaluate(text)
    assert (e.value.symbol, e.value.tag) == ("General", "tnsrmaxsz"), e.value.message
    assert e.value.text.startswith(f"Cannot create {what}"), e.value.text


@pytest.fixture
def budget_of_a_megabyte():
    budget.set_limit(2 ** 20)
    yield
    budget.set_limit(None)


@pytest.mark.parametrize("big, small, dims", [
    ("ReplicateLayer[10^6][{1}]", "ReplicateLayer[1000][{1}]", [1000, 1]),
    ("PaddingLayer[{{10^6, 0}}][{1}]", "PaddingLayer[{{1000, 0}}][{1}]", [1001]),
    ("UnitVectorLayer[10^6][2]", "UnitVectorLayer[1000][2]", [1000]),
    ("ResizeLayer[{1000, 1000}][{{{1, 2}, {3, 4}}}]", "ResizeLayer[{10, 10}][{{{1, 2}, {3, 4}}}]",
     [1, 10, 10]),
])
def test_the_budget_decides_not_the_machine(s, budget_of_a_megabyte, big, small, dims):
    # 4 bytes a number: 10^6 numbers are over a 1 MB budget, 1,000 are under it
    with pytest.raises(EvaluationError) as e:
        s.evaluate(big)
    assert e.value.tag == "tnsrmaxsz"
    assert s.evaluate(f"Dimensions[{small}]").tolist() == dims


def test_a_batch_counts_too(s, budget_of_a_megabyte):
    # 1,000 numbers an example is within the budget; 1,000 examples of them are not
    s.evaluate('r = ReplicateLayer[1000, "Input" -> 1];')
    assert s.evaluate("Dimensions[r[{1}]]").tolist() == [1000, 1]
    with pytest.raises(EvaluationError) as e:
        s.evaluate("r[Table[{1}, 1000]]")
    assert e.value.tag == "tnsrmaxsz"
    assert "(1000 examples of dimensions {1000, 1})" in e.value.text


def test_check_mode_builds_huge_nets_without_refusing_them():
    # netdsl check allocates nothing, so it reports shapes whatever the budget
    s = netdsl.Session(shape_only=True)
    out = s.evaluate("ReplicateLayer[10^10][{1}]")
    assert tuple(out.shape) == (10 ** 10, 1)
