"""Sorting, sets and counting (netdsl/builtins/sorting.py), driven through Session text.

Unless marked otherwise, each expected value is the one printed in Wolfram's
documentation example for that function (reference.wolfram.com/language/ref/...);
edge cases (empty lists, packed arrays, wrong arguments) are written out by hand or
computed here with NumPy.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from netdsl import Session
from values import error, exact, py, run, text


@pytest.mark.parametrize("src, expected", [
    # Wolfram documentation examples
    ("Sort[{d, b, c, a}]", "{a, b, c, d}"),
    ("Sort[{4, 1, 3, 2, 2}, Greater]", "{4, 3, 2, 2, 1}"),
    ('Sort[{"cat", "fish", "catfish", "Cat"}]', '{"cat", "Cat", "catfish", "fish"}'),
    ("Sort[{{a, 2}, {c, 1}, {d, 3}}, #1[[2]] < #2[[2]] &]", "{{c, 1}, {a, 2}, {d, 3}}"),
    ("Sort[f[c, a, b]]", "f[a, b, c]"),
    ("Sort[{b, A, a, B}]", "{a, A, b, B}"),
    ("Sort[{{1, 2, 3}, {4}, {1, 2}}]", "{{4}, {1, 2}, {1, 2, 3}}"),
    # canonical order across kinds (numbers, strings, symbols, expressions)
    ('Sort[{x, "a", 1, f[x], 2.5, 1/2}]', '{1/2, 1, 2.5, "a", x, f[x]}'),
    ("Sort[{1, 1.}]", "{1., 1}"),
    ("Sort[<|a -> 2, b -> 1|>]", "<|b -> 1, a -> 2|>"),
    ("Sort[{}]", "{}"),
    ("Sort[{3, 1, 2}, LessEqual]", "{1, 2, 3}"),
    ("Sort[{3, 1, 2}, Order]", "{1, 2, 3}"),
    ("Sort[{a, c, b}, -Order[#1, #2] &]", "{c, b, a}"),
])
def test_sort(src, expected):
    assert text(src) == expected


def test_sort_packed_matches_numpy():
    s = Session(stdout=io.StringIO())
    s.evaluate("SeedRandom[3]; r = RandomReal[{-1, 1}, 10^5]; m = RandomInteger[5, {200, 3}];")
    r = np.asarray(py(s.evaluate("r")))
    assert np.array_equal(py(s.evaluate("Sort[r]")), np.sort(r))
    assert np.array_equal(py(s.evaluate("Sort[r, Greater]")), np.sort(r)[::-1])
    m = np.asarray(py(s.evaluate("m")))
    rows = sorted(map(tuple, m.tolist()))   # rows of equal length: element by element
    assert [tuple(x) for x in py(s.evaluate("Sort[m]"))] == rows
    assert py(s.evaluate("Ordering[r]")) == (np.argsort(r, kind="stable") + 1).tolist()
    assert py(s.evaluate("Ordering[r, 4]")) == (np.argsort(r, kind="stable")[:4] + 1).tolist()
    assert py(s.evaluate("Ordering[r, -3]")) == (np.argsort(r, kind="stable")[-3:] + 1).tolist()
    assert py(s.evaluate("TakeLargest[r, 3]")) == np.sort(r)[::-1][:3].tolist()
    assert py(s.evaluate("TakeSmallest[r, 3]")) == np.sort(r)[:3].tolist()


@pytest.mark.parametrize("src, expected", [
    ("SortBy[{{a, 2}, {c, 1}, {d, 3}}, Last]", "{{c, 1}, {a, 2}, {d, 3}}"),
    ("SortBy[{-3, 1, 2, -1}, Abs]", "{-1, 1, 2, -3}"),        # ties by the elements' order
    ("SortBy[{{2, b}, {1, c}, {2, a}}, {First, Last}]", "{{1, c}, {2, a}, {2, b}}"),
    ("SortBy[Last][{{a, 2}, {c, 1}}]", "{{c, 1}, {a, 2}}"),
    ("SortBy[{1, 2, 3}, Minus, Less]", "{3, 2, 1}"),
    ("SortBy[<|a -> 3, b -> 1|>, Identity]", "<|b -> 1, a -> 3|>"),
    ("Ordering[{c, a, b}]", "{2, 3, 1}"),
    ("Ordering[{2, 3, 4, 1, 5}, 2]", "{4, 1}"),
    ("Ordering[{2, 3, 4, 1, 5}, -2]", "{3, 5}"),
    ("Ordering[{a, b, c}, All, Greater]", "{1, 2, 3}"),
    ("Ordering[{1, 3, 2}, All, Greater]", "{2, 3, 1}"),
    ("Ordering[{}]", "{}"),
    ("Ordering[<|x -> 2, y -> 1|>]", "{Key[y], Key[x]}"),
])
def test_sort_by_and_ordering(src, expected):
    assert text(src) == expected


@pytest.mark.parametrize("src, expected", [
    ("Union[{1, 2, 1, 3, 6, 2, 2}]", "{1, 2, 3, 6}"),
    ("Union[{a, b, a, c}, {d, a, e, b}, {c, a}]", "{a, b, c, d, e}"),
    ("Union[{1, 1., 2}]", "{1., 1, 2}"),
    ("Union[{2., 1., 2.}]", "{1., 2.}"),
    ("Union[{}]", "{}"),
    ("Union[f[b, a, b]]", "f[a, b]"),
    ("Union[{1, 1.5, 2}, SameTest -> (Floor[#1] == Floor[#2] &)]", "{1, 2}"),
    ("Intersection[{1, 1, 2, 3}, {3, 1, 4}, {4, 1, 3, 3}]", "{1, 3}"),
    ("Intersection[{a, b}, {c}]", "{}"),
    ("Complement[{a, b, c, d, e}, {a, c}, {d}]", "{b, e}"),
    ("Complement[{3, 1, 2, 3}, {}]", "{1, 2, 3}"),
    ("DeleteDuplicates[{1, 7, 8, 4, 3, 4, 1, 9, 9, 2, 1}]", "{1, 7, 8, 4, 3, 9, 2}"),
    ("DeleteDuplicates[{a, b, a, c}]", "{a, b, c}"),
    ("DeleteDuplicates[{1, 1., 1}]", "{1, 1.}"),
    ("DeleteDuplicates[{1, 2, 3, 4, 5}, Abs[#1 - #2] < 2 &]", "{1, 3, 5}"),
    ("DeleteDuplicates[<|a -> 1, b -> 1, c -> 2|>]", "<|a -> 1, c -> 2|>"),
    ("DeleteDuplicatesBy[{{a, 1}, {b, 2}, {c, 1}}, Last]", "{{a, 1}, {b, 2}}"),
    ("DeleteDuplicatesBy[Last][{{a, 1}, {c, 1}}]", "{{a, 1}}"),
    ("SubsetQ[{a, b, c, d}, {a, d}]", "True"),
    ("SubsetQ[{a, b}, {a, e}]", "False"),
    ("SubsetQ[{a}, {}]", "True"),
    ("ContainsAll[{b, a, b, c}, {a, b}]", "True"),
    ("ContainsAll[{a}][{a, b}]", "True"),
    ("ContainsAny[{a, b, c}, {d, e, c}]", "True"),
    ("ContainsAny[{a, b}, {}]", "False"),
])
def test_sets(src, expected):
    assert text(src) == expected


def test_union_packed_is_numpy_unique():
    s = Session(stdout=io.StringIO())
    s.evaluate("SeedRandom[5]; a = RandomInteger[50, 10^4]; b = RandomInteger[80, 500];")
    a, b = np.asarray(py(s.evaluate("a"))), np.asarray(py(s.evaluate("b")))
    assert py(s.evaluate("Union[a, b]")) == np.unique(np.concatenate([a, b])).tolist()
    first = sorted(np.unique(a, return_index=True)[1])
    assert py(s.evaluate("DeleteDuplicates[a]")) == a[first].tolist()
    counts = {int(v): int((a == v).sum()) for v in a[first]}
    assert py(s.evaluate("Tally[a]")) == [[int(v), counts[int(v)]] for v in a[first]]
    assoc = s.evaluate("Counts[a]")
    assert [(k, v) for k, v in assoc.items()] == [(int(v), counts[int(v)]) for v in a[first]]


@pytest.mark.parametrize("src, expected", [
    ("Tally[{a, a, b, a, c, b, a}]", "{{a, 4}, {b, 2}, {c, 1}}"),
    ("Tally[{1, 2., 1}]", "{{1, 2}, {2., 1}}"),
    ("Tally[{}]", "{}"),
    ("Tally[{1, 2, 3, 4}, Abs[#1 - #2] == 1 &]", "{{1, 2}, {3, 2}}"),
    ("Counts[{a, b, a, a, b, c, b}]", "<|a -> 3, b -> 3, c -> 1|>"),
    ("Counts[{}]", "<||>"),
    ("CountsBy[{{a, b}, {a, c}, {b, c}}, First]", "<|a -> 2, b -> 1|>"),
    ("CountsBy[OddQ][{1, 2, 3}]", "<|True -> 2, False -> 1|>"),
    ("GroupBy[{{a, b}, {a, c}, {b, c}}, First]", "<|a -> {{a, b}, {a, c}}, b -> {{b, c}}|>"),
    ("GroupBy[{{a, b}, {a, c}, {b, c}}, First -> Last]", "<|a -> {b, c}, b -> {c}|>"),
    ("GroupBy[{{a, b}, {a, c}, {b, c}}, First -> Last, f]", "<|a -> f[{b, c}], b -> f[{c}]|>"),
    ("GroupBy[{1, 2, 3, 4, 5}, OddQ, Total]", "<|True -> 9, False -> 6|>"),
    ("GroupBy[OddQ][{1, 2, 3}]", "<|True -> {1, 3}, False -> {2}|>"),
    ("GroupBy[{1, 2, 3, 4, 5, 6}, {OddQ, # > 3 &}]",
     "<|True -> <|False -> {1, 3}, True -> {5}|>, False -> <|False -> {2}, True -> {4, 6}|>|>"),
    ("GroupBy[<|a -> 1, b -> 2, c -> 3|>, OddQ]", "<|True -> <|a -> 1, c -> 3|>, "
                                                   "False -> <|b -> 2|>|>"),
    ("GroupBy[{}, f]", "<||>"),
    ("Gather[{a, b, a, d, b, a}]", "{{a, a, a}, {b, b}, {d}}"),
    ("Gather[{1, 2, 3, 11, 12}, Abs[#1 - #2] < 2 &]", "{{1, 2}, {3}, {11, 12}}"),
    ("Gather[{}]", "{}"),
    ("GatherBy[{{1, a}, {2, b}, {1, c}}, First]", "{{{1, a}, {1, c}}, {{2, b}}}"),
    ("GatherBy[{1, 2, 3, 4, 5, 6}, {OddQ, # > 3 &}]", "{{{1, 3}, {5}}, {{2}, {4, 6}}}"),
])
def test_counting_and_grouping(src, expected):
    assert text(src) == expected


@pytest.mark.parametrize("src, expected", [
    ("TakeLargest[{1, 3, 5, 4, 2}, 3]", "{5, 4, 3}"),
    ("TakeSmallest[{1, 3, 5, 4, 2}, 2]", "{1, 2}"),
    ("TakeLargest[{1, 3, x, 5}, 2]", "{5, 3}"),                 # non-numbers are left out
    ("TakeLargest[2][{1, 3, 2}]", "{3, 2}"),
    ("TakeLargest[<|a -> 1, b -> 3, c -> 2|>, 2]", "<|b -> 3, c -> 2|>"),
    ("TakeLargest[{1, 2}, 0]", "{}"),
    ("TakeLargestBy[{-1, 5, -7}, Abs, 2]", "{-7, 5}"),
    ("TakeSmallestBy[{-1, 5, -7}, Abs, 2]", "{-1, 5}"),
    ("TakeLargestBy[Abs, 1][{-1, 5, -7}]", "{-7}"),
    ("MaximalBy[{{a, 1}, {b, 3}, {c, 3}}, Last]", "{{b, 3}, {c, 3}}"),
    ("MinimalBy[{{a, 1}, {b, 3}, {c, 1}}, Last]", "{{a, 1}, {c, 1}}"),
    ("MaximalBy[{-2, 1, 2, -1}, Abs, 3]", "{-2, 2, 1}"),
    ("MaximalBy[Abs][{-3, 1}]", "{-3}"),
    ("MaximalBy[{}, f]", "{}"),
    ("Commonest[{b, a, c, 2, a, b, 1, 2}]", "{b, a, 2}"),
    ("Commonest[{a, b, b, c, c, c}, 2]", "{b, c}"),
    ("Commonest[{}]", "{}"),
])
def test_extremes(src, expected):
    assert text(src) == expected


@pytest.mark.parametrize("src, symbol, tag", [
    ("Sort[5]", "Sort", "normal"),
    ("Sort[]", "Sort", "argx"),
    ("Sort[{1}, Less, 3]", "Sort", "argx"),
    ("Ordering[{1, 2}, 5]", "Ordering", "take"),
    ("Ordering[{1, 2}, x]", "Ordering", "argx"),
    ("Union[{a}, f[b]]", "Union", "heads"),
    ("Union[{a}, x]", "Union", "normal"),
    ("Tally[x]", "Tally", "list"),
    ("TakeLargest[{1, 2}, 3]", "TakeLargest", "insuff"),
    ("TakeLargest[{1, 2}, -1]", "TakeLargest", "argx"),
    ("Commonest[{1}, x]", "Commonest", "argx"),
    ("SubsetQ[x, {a}]", "SubsetQ", "list"),
    ("GroupBy[x, f]", "GroupBy", "normal"),
])
def test_wrong_arguments(src, symbol, tag):
    error(src, symbol, tag)


def test_operator_forms_stay_unevaluated_without_argument():
    assert text("SortBy[Last]") == "SortBy[Last]"
    assert text("GroupBy[f]") == "GroupBy[f]"
    exact(run("Map[SortBy[Minus], {{1, 2}, {3, 4}}]"), [[2, 1], [4, 3]])
