"""Association built-ins (netdsl/builtins/associations.py), driven through Session text.

Expected values are those of Wolfram's documentation examples for each function
(reference.wolfram.com/language/ref/...), plus hand-written edge cases.
"""

from __future__ import annotations

import pytest

from values import error, text


@pytest.mark.parametrize("src, expected", [
    # Wolfram documentation examples
    ("KeyDrop[<|a -> 1, b -> 2, c -> 3|>, {a, b}]", "<|c -> 3|>"),
    ("KeyDrop[<|a -> 1, b -> 2, c -> 3|>, b]", "<|a -> 1, c -> 3|>"),
    ("KeyDrop[{<|a -> 1, b -> 2|>, <|a -> 3, c -> 4|>}, a]", "{<|b -> 2|>, <|c -> 4|>}"),
    ("KeyDrop[{a, b}][<|a -> 1, b -> 2, c -> 3|>]", "<|c -> 3|>"),
    ("KeyDrop[{a -> 1, b -> 2}, a]", "{b -> 2}"),
    ("KeyDrop[<||>, a]", "<||>"),
    ("KeyTake[<|a -> 1, b -> 2, c -> 3|>, {a, c}]", "<|a -> 1, c -> 3|>"),
    ("KeyTake[<|a -> 1, b -> 2, c -> 3|>, {c, x, a}]", "<|c -> 3, a -> 1|>"),
    ("KeyTake[c][<|a -> 1, c -> 3|>]", "<|c -> 3|>"),
    ("KeySelect[<|1 -> a, 2 -> b, 3 -> c, 4 -> d|>, EvenQ]", "<|2 -> b, 4 -> d|>"),
    ("KeySelect[OddQ][<|1 -> a, 2 -> b|>]", "<|1 -> a|>"),
    ("KeySort[<|c -> 1, b -> 2, a -> 4|>]", "<|a -> 4, b -> 2, c -> 1|>"),
    ('KeySort[<|"b" -> 1, 2 -> 2, x -> 3, 1 -> 4|>]', '<|1 -> 4, 2 -> 2, "b" -> 1, x -> 3|>'),
    ("KeySort[<|1 -> a, 3 -> b, 2 -> c|>, Greater]", "<|3 -> b, 2 -> c, 1 -> a|>"),
    ("KeySortBy[<|1 -> a, 3 -> b, 2 -> c|>, Minus]", "<|3 -> b, 2 -> c, 1 -> a|>"),
    ("KeySortBy[Minus][<|1 -> a, 2 -> c|>]", "<|2 -> c, 1 -> a|>"),
    ("KeyMap[f, <|a -> 1, b -> 2|>]", "<|f[a] -> 1, f[b] -> 2|>"),
    ("KeyMap[f][<|a -> 1|>]", "<|f[a] -> 1|>"),
    ("KeyValueMap[f, <|a -> x, b -> y|>]", "{f[a, x], f[b, y]}"),
    ("KeyValueMap[f][<|a -> x|>]", "{f[a, x]}"),
    ("KeyValueMap[f, <||>]", "{}"),
    ("KeyMemberQ[<|a -> 1, b -> 2|>, a]", "True"),
    ("KeyMemberQ[<|a -> 1, b -> 2|>, c]", "False"),
    ("KeyMemberQ[<|1 -> a, 2 -> b|>, _Integer]", "True"),
    ("KeyMemberQ[a][<|a -> 1|>]", "True"),
    ("AssociationThread[{a, b, c}, {x, y, z}]", "<|a -> x, b -> y, c -> z|>"),
    ("AssociationThread[{a, b} -> {1, 2}]", "<|a -> 1, b -> 2|>"),
    ("AssociationThread[{a, a}, {1, 2}]", "<|a -> 2|>"),
    ("AssociationThread[{}, {}]", "<||>"),
    ("Merge[{<|a -> 1, b -> 2|>, <|a -> 3, c -> 4|>}, Total]", "<|a -> 4, b -> 2, c -> 4|>"),
    ("Merge[{<|a -> 1|>, <|a -> 2, b -> 3|>}, f]", "<|a -> f[{1, 2}], b -> f[{3}]|>"),
    ("Merge[Total][{<|a -> 1|>, <|a -> 5|>}]", "<|a -> 6|>"),
    ("Merge[{<|a -> 1|>, b -> 2}, First]", "<|a -> 1, b -> 2|>"),
    ("Merge[{}, f]", "<||>"),
])
def test_associations(src, expected):
    assert text(src) == expected


@pytest.mark.parametrize("src, symbol, tag", [
    ("KeyDrop[5, a]", "KeyDrop", "invrl"),
    ("KeySort[{1, 2}]", "KeySort", "invrl"),
    ("KeyValueMap[f, {1}]", "KeyValueMap", "invrl"),
    ("KeyMemberQ[x, a]", "KeyMemberQ", "invrl"),
    ("AssociationThread[{a, b}, {1}]", "AssociationThread", "idim"),
    ("AssociationThread[a, b]", "AssociationThread", "list"),
    ("AssociationThread[a]", "AssociationThread", "invrl"),
    ("Merge[x, f]", "Merge", "list"),
    ("Merge[{1}, f]", "Merge", "invrl"),
    ("KeyDrop[]", "KeyDrop", "argx"),
])
def test_wrong_arguments(src, symbol, tag):
    error(src, symbol, tag)


def test_operator_form_waits_for_its_association():
    assert text("KeyDrop[<|a -> 1|>]") == "KeyDrop[<|a -> 1|>]"


def test_values_and_delayed_rules():
    # a delayed value is evaluated when read (KeyValueMap, Merge), and kept as it is otherwise
    assert text("x = 1; KeyValueMap[List, <|a :> x + 1|>]") == "{{a, 2}}"
    assert text("KeyTake[<|a :> 1 + 1, b -> 2|>, a]") == "<|a :> 1 + 1|>"
