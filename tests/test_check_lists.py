"""netdsl check: the structural list functions real code applies to data (Flatten, Join,
Partition, Transpose, Take, Drop, Part spans, RandomSample) give the dimensions of their
results from the dimensions of AbstractArrays, the same dimensions as when run."""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdsl
from netdsl import Session
from netdsl.check import check_text
from netdsl.layers.base import AbstractArray

DATA = "x = RandomReal[1, {6, 4, 3}];"
CASES = [
    "Flatten[x]", "Flatten[x, 1]", "Flatten[x, 0]", "Flatten[x, 2]",
    "Join[x, x]", "Join[x, RandomReal[1, {2, 4, 3}]]",
    "Partition[x, 2]", "Partition[x, 4, 1]", "Partition[x, 7]",
    "Transpose[x]", "Transpose[x, {3, 1, 2}]",
    "Take[x, 2]", "Take[x, -3]", "Take[x, {2, 5}]", "Take[x, 2, {1, 3}]",
    "Drop[x, 2]", "Drop[x, -1, {2}]", "Drop[x, {1, 6, 2}]",
    "x[[2 ;; 5]]", "x[[All, 1 ;; 3, 2]]", "x[[;; ;; 2]]",
    "RandomSample[x]", "RandomSample[x, 4]", "RandomSample[x, 10]",
    "Flatten[Table[c + RandomReal[{-1.2, 1.2}, 2], {60}, {c, {{0., 1.}, {1., 0.}}}], 1]",
    # Map and Apply over data: f on one row stands for f on each (they were left as x)
    "Map[Total, x]", "Total /@ x", "Map[Flatten, x]", "Map[#[[1]] &, x]",
    "Map[Max, x, {2}]", "Plus @@ x", "Apply[Plus, x, {1}]", "Join[Sequence @@ x, 2]",
    "Join[x, x, 2]", "Join[x, x[[All, ;; 2]], 2]", "Join[x, x, 3]",
]


@pytest.mark.parametrize("expr", CASES)
def test_dimensions_in_check_are_those_of_the_run(expr):
    run = Session()
    run.evaluate(DATA)
    expected = np.shape(np.asarray(run.evaluate(expr)))
    check = Session(shape_only=True)
    check.evaluate(DATA)
    value = check.evaluate(expr)
    if expected[0] == 0:
        assert str(value) == "{}"
        return
    assert isinstance(value, AbstractArray), value
    assert value.shape == expected


def test_random_sample_runs():
    s = Session()
    s.evaluate("SeedRandom[1]")
    got = s.evaluate("RandomSample[Range[10]]")
    assert sorted(np.asarray(got).tolist()) == list(range(1, 11))
    assert len(s.evaluate("RandomSample[{a, b, c}, 2]").args) == 2
    assert np.asarray(s.evaluate("RandomSample[Range[5], 9]")).shape == (5,)


def test_statements_after_a_skipped_one_are_skipped_not_errors():
    """A statement that uses a name whose statement failed is skipped; what it would
    assign is unknown as well, so later uses of that are skipped too (no cascade)."""
    text = ("net = NetChain[{LinearLayer[3], SoftmaxLayer[]}, \"Input\" -> 2];\n"
            "xs = RandomReal[1, {5, 4}];\n"
            "results = NetTrain[net, xs -> {1, 2, 3, 1, 2}, All];\n"
            "trained = results[\"TrainedNet\"];\n"
            "NetTake[trained, 1]\n")
    out, err = io.StringIO(), io.StringIO()
    assert check_text(text, "t.wl", out, err) == 1
    assert "1 problem\n" in err.getvalue() and "NetTake" not in err.getvalue()


def test_check_mode_net_train_all_gives_results_with_the_net():
    out, err = io.StringIO(), io.StringIO()
    text = ("net = NetChain[{LinearLayer[3], SoftmaxLayer[]}, \"Input\" -> 2];\n"
            "xs = Flatten[Table[RandomReal[1, 2], {4}, {3}], 1];\n"
            "results = NetTrain[net, xs -> RandomInteger[{1, 3}, 12], All];\n"
            "t = NetTake[results[\"TrainedNet\"], 1]\n")
    assert check_text(text, "t.wl", out, err) == 0, err.getvalue()
    assert "t = NetChain" in out.getvalue()


@pytest.mark.parametrize("text, why", [("RandomSample[5]", "5 is not a list"),
                                       ("RandomSample[{1, 2}, -1]", "not a non-negative")])
def test_random_sample_errors_name_the_argument(text, why):
    with pytest.raises(netdsl.EvaluationError, match=why):
        Session().evaluate(text)


def test_part_of_a_varying_length_keeps_the_length():
    """A net's output over sequences has a "Varying" length; a Part of it keeps that
    length symbolic (it was an internal error)."""
    check = Session(shape_only=True)
    check.evaluate('net = NetInitialize[NetChain[{NetMapOperator[LinearLayer[3]]}, '
                   '"Input" -> {"Varying", 2}]]; r = net[{{{1, 2}}, {{1, 2}, {3, 4}}}];')
    first, length, three = check.evaluate("r[[;; 1]]").shape
    assert (first, three) == (1, 3) and not isinstance(length, int)
    assert check.evaluate("r[[All, All, 2]]").shape[0] == 2
    assert check.evaluate("r[[1, 1]]").shape == (3,)


def test_check_trains_on_sequences_built_from_data():
    """Examples made from data (abstract in check), of different lengths and with text
    labels from ToString, pass NetTrain's data checks in netdsl check."""
    text = (
        'images = RandomReal[1, {20, 8, 8}];\n'
        'labels = ToString /@ RandomInteger[{0, 2}, 20];\n'
        'strip[ids_] := Transpose[Join[Sequence @@ images[[ids]], 2]];\n'
        'train = Table[With[{ids = RandomInteger[{1, 20}, RandomInteger[{1, 3}]]}, '
        'strip[ids] -> labels[[ids]]], 30];\n'
        'net = NetChain[{GatedRecurrentLayer[4], NetMapOperator[LinearLayer[4]], SoftmaxLayer[]}, '
        '"Input" -> {"Varying", 8}, "Output" -> NetDecoder[{"CTCBeamSearch", {"0", "1", "2"}}]];\n'
        'trained = NetTrain[net, train, LossFunction -> CTCLossLayer[], MaxTrainingRounds -> 1];\n'
        'out = trained[Keys[train]];\n')
    out, err = io.StringIO(), io.StringIO()
    assert check_text(text, "t.wl", out, err) == 0, err.getvalue()
    assert "trained = NetChain" in out.getvalue()
