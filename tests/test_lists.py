"""List and association built-ins (netdsl/builtins/lists.py), driven through Session text.

Expected values are written out by hand (or computed with plain Python/NumPy
formulas here), never taken from netdsl's own output.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

from netdsl import EvaluationError, Session
from netdsl.expr import Expr, Symbol
from values import error, exact, py, run, text




# ---------------------------------------------------------------- Range
@pytest.mark.parametrize("src, expected", [
    ("Range[5]", [1, 2, 3, 4, 5]),
    ("Range[0]", []),
    ("Range[-2]", []),
    ("Range[3, 6]", [3, 4, 5, 6]),
    ("Range[1, 10, 3]", [1, 4, 7, 10]),
    ("Range[5, 1, -2]", [5, 3, 1]),
    ("Range[1, 2, -1]", []),
    ("Range[2.5]", [1, 2]),                    # starts at the Integer 1, steps by 1
    ("Range[1, 2, 0.5]", [1.0, 1.5, 2.0]),
    ("Range[1., 3]", [1.0, 2.0, 3.0]),
    ("Range[-1, 1, 0.5]", [-1.0, -0.5, 0.0, 0.5, 1.0]),
    ("Range[10^20, 10^20 + 2]", [10 ** 20, 10 ** 20 + 1, 10 ** 20 + 2]),
])
def test_range(src, expected):
    exact(run(src), expected)


def test_range_reals_include_the_end_despite_rounding():
    # (0.3 - 0)/0.1 is 2.9999999999999996 in floating point; Wolfram still gives 4 elements
    value = py(run("Range[0, 0.3, 0.1]"))
    assert len(value) == 4 and value[-1] == pytest.approx(0.3)


def test_range_is_packed_and_fast():
    t0 = time.process_time()
    value = run("Range[10^6]")
    assert time.process_time() - t0 < 1.0
    assert isinstance(value, np.ndarray) and value.dtype == np.int64
    assert value[-1] == 10 ** 6 and value.sum() == 10 ** 6 * (10 ** 6 + 1) // 2


def test_range_errors():
    assert error("Range[1, 5, 0]", "Range", "range") == \
        "Range specification in Range[1, 5, 0] does not have appropriate bounds."
    error('Range["a"]', "Range", "range")
    error("Range[10^12]", "General", "tnsrmaxsz")
    assert text("Range[n]") == "Range[n]"  # symbolic bounds stay unevaluated


# ---------------------------------------------------------------- Table
@pytest.mark.parametrize("src, expected", [
    ("Table[i^2, {i, 4}]", [1, 4, 9, 16]),
    ("Table[7, 3]", [7, 7, 7]),
    ("Table[7, {2}]", [7, 7]),
    ("Table[i, {i, 3, 5}]", [3, 4, 5]),
    ("Table[i, {i, 10, 1, -4}]", [10, 6, 2]),
    ("Table[i, {i, 0, 1, 0.25}]", [0.0, 0.25, 0.5, 0.75, 1.0]),
    ("Table[2 i, {i, {5, 7}}]", [10, 14]),
    ("Table[10 i + j, {i, 2}, {j, 3}]", [[11, 12, 13], [21, 22, 23]]),
    ("Table[j, {i, 3}, {j, i}]", [[1], [1, 2], [1, 2, 3]]),  # later bounds see earlier values
    ("Table[i, {i, 0}]", []),
])
def test_table(src, expected):
    exact(run(src), expected)


def test_table_symbolic_body_and_values():
    assert text("Table[f[i], {i, {a, b}}]") == "{f[a], f[b]}"
    assert text("Table[x, {3}]") == "{x, x, x}"


def test_table_restores_the_iterator_binding():
    s = Session()
    assert run("i = 7; Table[i, {i, 2}]; i", s) == 7
    assert run("Clear[i]; Table[i, {i, 2}]; i", s) is Symbol("i")
    # ... also when the body fails
    with pytest.raises(EvaluationError):
        run("i = 7; Table[Sqrt[-i], {i, 3}]", s)
    assert run("i", s) == 7


def test_table_guards_huge_iterations():
    t0 = time.process_time()
    msg = error("Table[i, {i, 10^4}, {j, 10^4}]", "Table", "toobig")
    assert "100000000" in msg
    error("Table[0, {i, 10^12}]", "Table", "toobig")
    assert time.process_time() - t0 < 1.0


def test_table_iterator_errors():
    assert error("Table[i, {1, 2}]", "Table", "itform") == \
        "Argument {1, 2} at position 2 does not have the correct form for an iterator."
    assert error("Table[i, {i, n}]", "Table", "iterb") == \
        "Iterator {i, n} does not have appropriate bounds."
    error("Table[i, {i, 1, 2, 0}]", "Table", "iterb")
    error("Table[i, {Plus, 2}]", "Table", "itform")
    error("Table[i]", "Table", "argx")


# ---------------------------------------------------------------- ConstantArray, Dimensions, Length
def test_constant_array():
    exact(run("ConstantArray[0, 3]"), [0, 0, 0])
    exact(run("ConstantArray[1.5, {2, 2}]"), [[1.5, 1.5], [1.5, 1.5]])
    exact(run("ConstantArray[{1, 2}, 2]"), [[1, 2], [1, 2]])
    assert text("ConstantArray[a, {2, 3}]") == "{{a, a, a}, {a, a, a}}"
    exact(run("ConstantArray[0, 0]"), [])
    assert isinstance(run("ConstantArray[0., {100, 100}]"), np.ndarray)
    error("ConstantArray[0., {10^6, 10^6}]", "General", "tnsrmaxsz")
    error("ConstantArray[a, {10^4, 10^4}]", "ConstantArray", "toobig")
    error("ConstantArray[0, -1]", "ConstantArray", "argx")


@pytest.mark.parametrize("src, expected", [
    ("Dimensions[{{1, 2}, {3, 4}, {5, 6}}]", [3, 2]),
    ("Dimensions[{{1, 2}, {3}}]", [2]),
    ("Dimensions[{{a, b}, {c, d}}]", [2, 2]),
    ("Dimensions[{{1, 2.5}, {3, 4}}]", [2, 2]),
    ("Dimensions[f[f[a, b], f[c, d]]]", [2, 2]),
    ("Dimensions[{f[a], f[b]}]", [2]),
    ("Dimensions[5]", []),
    ("Dimensions[{}]", [0]),
    ("Dimensions[ConstantArray[0, {2, 3, 4}]]", [2, 3, 4]),
    ("Length[{1, 2, 3}]", 3),
    ("Length[{{1, 2}, {3, 4}, {5, 6}}]", 3),
    ("Length[f[a, b]]", 2),
    ("Length[5]", 0),
    ('Length["abc"]', 0),
    ("Length[<|a -> 1, b -> 2|>]", 2),
    ("Length[{}]", 0),
])
def test_dimensions_length(src, expected):
    exact(run(src), expected)


# ---------------------------------------------------------------- Part
@pytest.fixture
def s():
    session = Session(stdout=io.StringIO())
    session.evaluate('v = {1, 2, 3, 4, 5}; m = {{1, 2, 3}, {4, 5, 6}}; u = {1, 2.5, "s", x};'
                     'a = <|"k" -> 1, "j" -> {5, 6}, 3 -> "three"|>;')
    return session


@pytest.mark.parametrize("src, expected", [
    ("v[[2]]", 2),
    ("v[[-1]]", 5),
    ("v[[2 ;; 4]]", [2, 3, 4]),
    ("v[[;; 2]]", [1, 2]),
    ("v[[4 ;;]]", [4, 5]),
    ("v[[;; ;; 2]]", [1, 3, 5]),
    ("v[[2 ;; -1 ;; 2]]", [2, 4]),
    ("v[[;; ;; -1]]", [5, 4, 3, 2, 1]),
    ("v[[-1 ;; 1 ;; -2]]", [5, 3, 1]),
    ("v[[3 ;; 2]]", []),
    ("v[[{1, 3, 1}]]", [1, 3, 1]),
    ("v[[{-1, -2}]]", [5, 4]),
    ("m[[2]]", [4, 5, 6]),
    ("m[[2, 3]]", 6),
    ("m[[-1, -1]]", 6),
    ("m[[All, 1]]", [1, 4]),
    ("m[[All, -1]]", [3, 6]),
    ("m[[1, All]]", [1, 2, 3]),
    ("m[[All, 2 ;; 3]]", [[2, 3], [5, 6]]),
    ("m[[{2, 1}, {3, 1}]]", [[6, 4], [3, 1]]),
    ("m[[;; ;; -1, 1]]", [4, 1]),
    ("u[[2]]", 2.5),
    ("u[[3]]", "s"),
    ("u[[{1, 2}]]", [1, 2.5]),
    ('a[["k"]]', 1),
    ('a[["j", 2]]', 6),
    ("a[[2]]", [5, 6]),
    ("a[[-1]]", "three"),
    ("a[[Key[3]]]", "three"),
    ("Part[{1, 2, 3}, 2]", 2),
])
def test_part(s, src, expected):
    exact(run(src, s), expected)


def test_part_symbolic_and_heads(s):
    assert run("v[[0]]", s) is Symbol("List")
    assert text("m[[All, 0]]", s) == "{List, List}"
    assert text("f[a, b, c][[2]]") == "b"
    assert text("f[a, b, c][[0]]") == "f"
    assert text("f[a, b, c][[2 ;;]]") == "f[b, c]"
    assert text("f[a, b, c][[{3, 1}]]") == "f[c, a]"
    assert text("u[[4]]", s) == "x"
    assert text("{{a, b}, {c, d}}[[All, 2]]") == "{b, d}"


def test_part_of_association(s):
    assert text('a[["zz"]]', s) == 'Missing["KeyAbsent", "zz"]'
    assert text("a[[{1}]]", s) == '<|"k" -> 1|>'
    assert text('a[[{"j", "k"}]]', s) == '<|"j" -> {5, 6}, "k" -> 1|>'
    assert text("a[[1 ;; 2]]", s) == '<|"k" -> 1, "j" -> {5, 6}|>'
    assert run("<|x :> 1 + 1|>[[1]]") == 2  # a delayed value is evaluated when read


def test_part_zero_of_atoms_is_their_head():
    assert run("{1, 2}[[1, 0]]") is Symbol("Integer")
    assert run("5[[0]]") is Symbol("Integer")
    assert text("{{1.5}, {2.5}}[[All, 1, 0]]") == "{Real, Real}"


def test_part_errors_on_big_arrays_do_not_unpack_them():
    s = Session()
    run("v = Range[10^6]; m = RandomReal[1, {2000, 500}]", s)
    t0 = time.process_time()
    assert error("v[[10^6 + 1]]", "Part", "partw", s).startswith("Part 1000001 of {1, 2, 3, <<")
    error("v[[1, 1]]", "Part", "partd", s)
    assert error("m[[All, 501]]", "Part", "partw", s).startswith("Part 501 of {")
    error("m[[7, {1, 900}]]", "Part", "partw", s)
    error("m[[1, 1, {1}]]", "Part", "partd", s)
    assert time.process_time() - t0 < 0.5


def test_part_on_packed_arrays_stays_packed():
    s = Session()
    run("r = RandomReal[1, {1000, 50}]", s)
    r = s["r"]
    col = run("r[[All, 3]]", s)
    assert isinstance(col, np.ndarray) and np.array_equal(col, r[:, 2])
    sub = run("r[[2 ;; 100 ;; 7, {1, 5}]]", s)
    assert np.array_equal(sub, r[1:100:7][:, [0, 4]])
    assert run("r[[-1, -1]]", s) == r[-1, -1]


def test_part_errors(s):
    assert error("v[[7]]", "Part", "partw", s) == "Part 7 of {1, 2, 3, 4, 5} does not exist."
    assert error("{1, 2, 3}[[5]]", "Part", "partw") == "Part 5 of {1, 2, 3} does not exist."
    assert error("v[[-6]]", "Part", "partw", s) == "Part -6 of {1, 2, 3, 4, 5} does not exist."
    assert error("m[[2, 5]]", "Part", "partw", s) == "Part 5 of {4, 5, 6} does not exist."
    assert error("m[[All, 4]]", "Part", "partw", s) == "Part 4 of {1, 2, 3} does not exist."
    assert error("v[[{1, 9}]]", "Part", "partw", s) == "Part 9 of {1, 2, 3, 4, 5} does not exist."
    assert error("v[[2 ;; 9]]", "Part", "take", s) == \
        "Cannot take positions 2 through 9 in {1, 2, 3, 4, 5}."
    assert error("v[[1, 1]]", "Part", "partd", s) == \
        "Part specification {1, 2, 3, 4, 5}[[1, 1]] is longer than depth of object."
    assert error("5[[1]]", "Part", "partd") == \
        "Part specification 5[[1]] is longer than depth of object."
    assert error("v[[1.5]]", "Part", "pkspec1", s) == \
        "The expression 1.5 cannot be used as a part specification."
    error("a[[5]]", "Part", "partw", s)
    error('a[[{"k", "zz"}]]', "Part", "partw", s)


# ---------------------------------------------------------------- part assignment
def test_part_assignment():
    s = Session()
    assert run("v = {1, 2, 3}; v[[2]] = 10", s) == 10  # Set gives the right side
    exact(run("v", s), [1, 10, 3])
    exact(run("w = v; v[[1]] = 0; w", s), [1, 10, 3])  # values are immutable: w is unchanged
    exact(run("v[[-1]] = 7; v", s), [0, 10, 7])
    exact(run("v[[2 ;; 3]] = {8, 9}; v", s), [0, 8, 9])
    exact(run("v[[{1, 3}]] = 5; v", s), [5, 8, 5])
    exact(run("v[[2]] = 2.5; v", s), [5, 2.5, 5])  # a Real among Integers: unpacked, as Wolfram
    exact(run("m = {{1, 2, 3}, {4, 5, 6}}; m[[All, 1]] = 0; m", s), [[0, 2, 3], [0, 5, 6]])
    exact(run("m[[All, 1]] = {7, 8}; m", s), [[7, 2, 3], [8, 5, 6]])
    exact(run("m[[1]] = {9, 9, 9}; m", s), [[9, 9, 9], [8, 5, 6]])
    exact(run("m[[2, 2 ;; 3]] = {0, 0}; m", s), [[9, 9, 9], [8, 0, 0]])
    exact(run("m[[All]] = 0; m", s), [0, 0])  # each selected part (a row) becomes 0
    assert text("f = g[a, b]; f[[0]] = h; f", s) == "h[a, b]"
    assert text("s = {a, {b, c}}; s[[2, 1]] = z; s", s) == "{a, {z, c}}"


def test_part_assignment_on_packed_reals():
    s = Session()
    run("SeedRandom[3]; r = RandomReal[1, {4, 3}]; r0 = r", s)
    r0 = s["r0"].copy()
    run("r[[All, 2]] = {0.5, 0.25, 0.125, 1.}", s)
    expected = r0.copy()
    expected[:, 1] = [0.5, 0.25, 0.125, 1.0]
    assert isinstance(s["r"], np.ndarray) and np.array_equal(s["r"], expected)
    assert np.array_equal(s["r0"], r0)  # the old value is untouched
    run("r[[1, 1]] = 2.", s)
    expected[0, 0] = 2.0
    assert np.array_equal(s["r"], expected)


def test_part_assignment_to_association():
    s = Session()
    assert text('a = <|"k" -> 1|>; a[["k"]] = 5; a', s) == '<|"k" -> 5|>'
    assert text('a[["new"]] = 3; a', s) == '<|"k" -> 5, "new" -> 3|>'
    assert text("a[[1]] = 0; a", s) == '<|"k" -> 0, "new" -> 3|>'


def test_part_assignment_errors():
    s = Session()
    assert error("zz[[1]] = 2", "Set", "noval", s) == \
        "Symbol zz in part assignment does not have an immediate value."
    run("v = {1, 2, 3}", s)
    assert error("v[[5]] = 1", "Set", "partw", s) == "Part 5 of {1, 2, 3} does not exist."
    assert error("v[[{1, 2}]] = {7, 8, 9}", "Set", "shape", s) == \
        "Lists {7, 8, 9} and v[[{1, 2}]] are not the same shape."
    error("v[[1, 1]] = 0", "Set", "partd", s)
    exact(run("v", s), [1, 2, 3])  # failed assignments change nothing


# ---------------------------------------------------------------- Take, Drop
@pytest.mark.parametrize("src, expected", [
    ("Take[{1, 2, 3, 4, 5}, 2]", [1, 2]),
    ("Take[{1, 2, 3, 4, 5}, -2]", [4, 5]),
    ("Take[{1, 2, 3, 4, 5}, {2, 4}]", [2, 3, 4]),
    ("Take[{1, 2, 3, 4, 5}, {-3, -2}]", [3, 4]),
    ("Take[{1, 2, 3, 4, 5}, {1, -1, 2}]", [1, 3, 5]),
    ("Take[{1, 2, 3, 4, 5}, {3}]", [3]),
    ("Take[{1, 2, 3}, 0]", []),
    ("Take[{1, 2, 3}, All]", [1, 2, 3]),
    ("Take[{1, 2, 3}, UpTo[5]]", [1, 2, 3]),
    ("Take[{{1, 2, 3}, {4, 5, 6}}, 1, 2]", [[1, 2]]),
    ("Take[{{1, 2, 3}, {4, 5, 6}}, All, -1]", [[3], [6]]),
    ("Drop[{1, 2, 3, 4, 5}, 2]", [3, 4, 5]),
    ("Drop[{1, 2, 3, 4, 5}, -2]", [1, 2, 3]),
    ("Drop[{1, 2, 3, 4, 5}, {2, 4}]", [1, 5]),
    ("Drop[{1, 2, 3, 4, 5}, {2}]", [1, 3, 4, 5]),
    ("Drop[{1, 2, 3, 4, 5}, {1, -1, 2}]", [2, 4]),
    ("Drop[{1, 2, 3}, 0]", [1, 2, 3]),
    ("Drop[{1, 2, 3}, 3]", []),
    ("Drop[{{1, 2, 3}, {4, 5, 6}}, 1, 1]", [[5, 6]]),
    ("Drop[{{1, 2, 3}, {4, 5, 6}}, None, -1]", [[1, 2], [4, 5]]),
])
def test_take_drop(src, expected):
    exact(run(src), expected)


def test_take_drop_symbolic_and_errors():
    assert text("Take[f[a, b, c], 2]") == "f[a, b]"
    assert text("Drop[f[a, b, c], 1]") == "f[b, c]"
    assert error("Take[{1, 2, 3}, 5]", "Take", "take") == \
        "Cannot take positions 1 through 5 in {1, 2, 3}."
    assert error("Take[{1, 2, 3}, -5]", "Take", "take") == \
        "Cannot take positions -5 through -1 in {1, 2, 3}."
    assert error("Drop[{1, 2, 3}, 5]", "Drop", "drop") == \
        "Cannot drop positions 1 through 5 in {1, 2, 3}."
    assert error("Take[5, 1]", "Take", "normal") == \
        "Nonatomic expression expected at position 1 in Take[5, 1]."
    error("Take[{1, 2}, x]", "Take", "argx")


# ---------------------------------------------------------------- First, Last, Rest, Most
def test_first_last_rest_most():
    exact(run("First[{7, 8, 9}]"), 7)
    exact(run("Last[{7, 8, 9}]"), 9)
    exact(run("Rest[{7, 8, 9}]"), [8, 9])
    exact(run("Most[{7, 8, 9}]"), [7, 8])
    exact(run("First[{{1, 2}, {3, 4}}]"), [1, 2])
    exact(run("Last[{{1, 2}, {3, 4}}]"), [3, 4])
    exact(run("Rest[{1}]"), [])
    exact(run("First[{}, 0]"), 0)
    assert text("First[f[a, b]]") == "a"
    assert text("Rest[f[a, b]]") == "f[b]"
    assert text("Last[<|a -> 1, b -> 2|>]") == "2"
    assert text("Most[<|a -> 1, b -> 2|>]") == "<|a -> 1|>"


def test_first_last_rest_most_errors():
    assert error("First[{}]", "First", "nofirst") == "{} has zero length and no first element."
    assert error("Last[{}]", "Last", "nolast") == "{} has zero length and no last element."
    assert error("Rest[{}]", "Rest", "norest") == \
        "Cannot take Rest of expression {} with length zero."
    assert error("Most[{}]", "Most", "nomost") == \
        "Cannot take Most of expression {} with length zero."
    assert error("First[5]", "First", "normal") == \
        "Nonatomic expression expected at position 1 in First[5]."


# ---------------------------------------------------------------- Join, Flatten, Partition
def test_join():
    exact(run("Join[{1, 2}, {3}, {}, {4, 5}]"), [1, 2, 3, 4, 5])
    exact(run("Join[{1, 2}, {3.5}]"), [1, 2, 3.5])
    exact(run("Join[{{1, 2}}, {{3, 4}}]"), [[1, 2], [3, 4]])
    exact(run("Join[]"), [])
    assert text("Join[{a}, {b, c}]") == "{a, b, c}"
    assert text("Join[f[a], f[b]]") == "f[a, b]"
    assert text("Join[<|a -> 1, b -> 2|>, <|a -> 3, c -> 4|>]") == "<|a -> 3, b -> 2, c -> 4|>"
    assert error("Join[{1}, f[2]]", "Join", "heads") == \
        "Heads List and f at positions 1 and 2 are expected to be the same."
    error("Join[{1}, 2]", "Join", "normal")


def test_join_at_level():
    """Join[l1, l2, ..., n] joins the parts at level n - 1 pairwise (images side by side)."""
    exact(run("Join[{{1, 2}, {3, 4}}, {{5}, {6}}, 2]"), [[1, 2, 5], [3, 4, 6]])
    exact(run("Join[{{1}}, {{2}}, {{3}}, 2]"), [[1, 2, 3]])
    exact(run("Join[{1}, {2}, 1]"), [1, 2])
    exact(run("Join[{{{1}}}, {{{2}}}, 3]"), [[[1, 2]]])
    exact(run("Join[{{1.5}}, {{2}}, 2]"), [[1.5, 2]])
    assert text("Join[{{1}, {2}}, {{x}, {y}}, 2]") == "{{1, x}, {2, y}}"
    a = np.arange(12).reshape(2, 3, 2)       # packed arrays: one concatenate
    b = np.arange(100, 108).reshape(2, 2, 2)
    exact(run("Join[ArrayReshape[Range[0, 11], {2, 3, 2}], "
              "ArrayReshape[Range[100, 107], {2, 2, 2}], 2]"),
          np.concatenate([a, b], axis=1).tolist())
    assert error("Join[{{1}, {2}}, {{3}}, 2]", "Join", "incom") == \
        "Objects of unequal length in Join[{{1}, {2}}, {{3}}, 2] cannot be combined."
    error("Join[{1}, {2}, 0]", "Join", "argx")


@pytest.mark.parametrize("src, expected", [
    ("Flatten[{{1, 2}, {3, {4, 5}}}]", [1, 2, 3, 4, 5]),
    ("Flatten[{{1, 2}, {3, {4, 5}}}, 1]", [1, 2, 3, [4, 5]]),
    ("Flatten[{{{1, 2}}, {{3, 4}}}, 1]", [[1, 2], [3, 4]]),
    ("Flatten[{{{1, 2}}, {{3, 4}}}]", [1, 2, 3, 4]),
    ("Flatten[{{{1, 2}}, {{3, 4}}}, 0]", [[[1, 2]], [[3, 4]]]),
    ("Flatten[{1, {2.5, {x}}}]", [1, 2.5, Symbol("x")]),
    ("Flatten[{}]", []),
])
def test_flatten(src, expected):
    exact(run(src), expected)


def test_flatten_other_heads_and_errors():
    assert text("Flatten[f[f[a], b, g[c]]]") == "f[a, b, g[c]]"
    assert error("Flatten[5]", "Flatten", "normal") == \
        "Nonatomic expression expected at position 1 in Flatten[5]."
    error("Flatten[{1}, -1]", "Flatten", "argx")


@pytest.mark.parametrize("src, expected", [
    ("Partition[{1, 2, 3, 4, 5}, 2]", [[1, 2], [3, 4]]),
    ("Partition[{1, 2, 3, 4, 5}, 2, 1]", [[1, 2], [2, 3], [3, 4], [4, 5]]),
    ("Partition[{1, 2, 3, 4, 5}, 3, 2]", [[1, 2, 3], [3, 4, 5]]),
    ("Partition[{1, 2, 3, 4, 5, 6}, 2, 3]", [[1, 2], [4, 5]]),
    ("Partition[{1, 2}, 3]", []),
    ("Partition[{{1, 2}, {3, 4}, {5, 6}}, 2]", [[[1, 2], [3, 4]]]),
    ("Partition[{1, 2.5, 3, 4}, 2]", [[1, 2.5], [3, 4]]),
])
def test_partition(src, expected):
    exact(run(src), expected)


def test_partition_symbolic_and_errors():
    assert text("Partition[{a, b, c, d, e}, 2]") == "{{a, b}, {c, d}}"
    assert error("Partition[{1, 2}, 0]", "Partition", "ilsmp") == \
        "Single or list of positive machine-size integers expected at position 2 of " \
        "Partition[{1, 2}, 0]."
    error("Partition[{1, 2}, 1, -1]", "Partition", "ilsmp")


# ---------------------------------------------------------------- Transpose, Reverse
def test_transpose():
    exact(run("Transpose[{{1, 2, 3}, {4, 5, 6}}]"), [[1, 4], [2, 5], [3, 6]])
    exact(run("Transpose[{{1, 2.5}, {3, 4}}]"), [[1, 3], [2.5, 4]])
    exact(run("Transpose[{1, 2, 3}]"), [1, 2, 3])
    assert text("Transpose[{{a, b}, {c, d}}]") == "{{a, c}, {b, d}}"
    # rank 3: only the first two levels swap
    t = np.arange(24).reshape(2, 3, 4)
    exact(run("Transpose[Partition[Partition[Range[0, 23], 4], 3]]"),
          np.swapaxes(t, 0, 1).tolist())
    # level k goes to level n_k: {2, 3, 4} with {3, 1, 2} has dimensions {3, 4, 2}
    exact(run("Dimensions[Transpose[ConstantArray[0, {2, 3, 4}], {3, 1, 2}]]"), [3, 4, 2])
    exact(run("Transpose[Partition[Partition[Range[0, 23], 4], 3], {3, 1, 2}]"),
          np.transpose(t, (1, 2, 0)).tolist())
    assert error("Transpose[{{1, 2}, {3}}]", "Transpose", "nmtx") == \
        "The first two levels of {{1, 2}, {3}} cannot be transposed."
    error("Transpose[5]", "Transpose", "nmtx")
    error("Transpose[{{1, 2}}, {1, 1}]", "Transpose", "perm")


def test_reverse():
    exact(run("Reverse[{1, 2, 3}]"), [3, 2, 1])
    exact(run("Reverse[{{1, 2}, {3, 4}}]"), [[3, 4], [1, 2]])
    assert text("Reverse[f[a, b, c]]") == "f[c, b, a]"
    assert text("Reverse[<|a -> 1, b -> 2|>]") == "<|b -> 2, a -> 1|>"
    error("Reverse[5]", "Reverse", "normal")


# ---------------------------------------------------------------- Normal, Keys, Values, Lookup
def test_normal():
    exact(run("Normal[{1, 2}]"), [1, 2])
    assert text("Normal[<|a -> 1, b :> 2|>]") == "{a -> 1, b :> 2}"
    assert text("Normal[{<|a -> 1|>}]") == "{{a -> 1}}"
    assert run("Normal[5]") == 5


def test_normal_calls_the_normal_method_of_opaque_values():
    from netdsl.expr import Opaque

    class Thing(Opaque):
        head_name = "Thing"

        def normal(self):
            return Expr(Symbol("List"), 1, 2)

    s = Session()
    s["t"] = Thing()
    exact(run("Normal[t]", s), [1, 2])


def test_keys_values():
    assert text("Keys[<|a -> 1, b -> 2|>]") == "{a, b}"
    exact(run("Values[<|a -> 1, b -> 2|>]"), [1, 2])
    assert text("Keys[{a -> 1, b -> 2}]") == "{a, b}"
    exact(run("Values[{a -> 1, b -> 2}]"), [1, 2])
    exact(run("Values[{<|a -> 1|>, <|b -> 2, c -> 3|>}]"), [[1], [2, 3]])
    exact(run("Values[<|a :> 1 + 1|>]"), [2])
    exact(run("Keys[<||>]"), [])
    assert error("Keys[5]", "Keys", "invrl") == \
        "The argument 5 is not a valid Association or a list of rules."
    error("Values[{1, 2}]", "Values", "invrl")


def test_lookup():
    s = Session(stdout=io.StringIO())
    run('as = <|"x" -> 1, "y" -> 2|>', s)
    exact(run('Lookup[as, "x"]', s), 1)
    assert text('Lookup[as, "z"]', s) == 'Missing["KeyAbsent", "z"]'
    exact(run('Lookup[as, "z", 0]', s), 0)
    assert text('Lookup[as, {"x", "y", "z"}]', s) == '{1, 2, Missing["KeyAbsent", "z"]}'
    exact(run('Lookup[{as, <|"x" -> 5|>}, "x"]', s), [1, 5])
    exact(run('Lookup[{"x" -> 3}, "x"]', s), 3)
    exact(run('Lookup[<|{1, 2} -> 7|>, Key[{1, 2}]]', s), 7)
    # the default is evaluated only when the key is missing
    run('Lookup[as, "x", Print["evaluated"]]', s)
    assert s.stdout.getvalue() == ""
    run('Lookup[as, "q", Print["evaluated"]]', s)
    assert s.stdout.getvalue() == "evaluated\n"
    error("Lookup[5, 1]", "Lookup", "invrl")


def test_association_call_lookup():
    s = Session()
    run('a = <|"key" -> 42, 1 -> "one"|>', s)
    assert run('a["key"]', s) == 42
    assert run("a[1]", s) == "one"
    assert text('a["nope"]', s) == 'Missing["KeyAbsent", "nope"]'


# ---------------------------------------------------------------- Thread, Map, Apply, Select
def test_thread():
    assert text("Thread[f[{a, b}, {c, d}]]") == "{f[a, c], f[b, d]}"
    assert text("Thread[{a, b} -> {c, d}]") == "{a -> c, b -> d}"
    assert text("Thread[f[{a, b}, c]]") == "{f[a, c], f[b, c]}"
    assert text("Thread[{a, b} -> 1]") == "{a -> 1, b -> 1}"
    assert text("Thread[f[a]]") == "f[a]"
    assert text("Thread[{{a, b}, {c, d}}]") == "{{a, c}, {b, d}}"
    assert error("Thread[f[{a, b}, {c}]]", "Thread", "tdlen") == \
        "Objects of unequal length in f[{a, b}, {c}] cannot be combined."


def test_map():
    assert text("f /@ {1, 2}") == "{f[1], f[2]}"
    exact(run("#^2 & /@ {1, 2, 3}"), [1, 4, 9])
    exact(run("Map[Function[x, x + 1], {{1, 2}, {3, 4}}]"), [[2, 3], [4, 5]])
    exact(run("Total /@ {{1, 2}, {3, 4}}"), [3, 7])
    exact(run("Sqrt /@ {4., 9.}"), [2.0, 3.0])
    assert text("Map[f, g[x, y]]") == "g[f[x], f[y]]"
    assert text("Map[f, <|a -> 1, b -> 2|>]") == "<|a -> f[1], b -> f[2]|>"
    assert text("Map[f, {{1, 2}, {3}}, {2}]") == "{{f[1], f[2]}, {f[3]}}"
    assert text("Map[f, {{1, 2}}, 2]") == "{f[{f[1], f[2]}]}"
    assert run("Map[f, 5]") == 5
    exact(run("Map[f, {}]"), [])
    error("Map[f, {1}, x]", "Map", "argx")


def test_map_over_packed_arrays():
    s = Session()
    run("SeedRandom[1]; r = RandomReal[{1, 2}, {300, 4}]", s)
    r = s["r"]
    assert np.allclose(run("Sqrt /@ r", s), np.sqrt(r))
    assert np.allclose(run("Total /@ r", s), r.sum(axis=1))
    assert np.allclose(run("(2 # &) /@ r", s), 2 * r)


def test_apply():
    assert text("f @@ {1, 2}") == "f[1, 2]"
    exact(run("Plus @@ {1, 2, 3}"), 6)
    exact(run("Times @@ {2, 3, 4}"), 24)
    assert text("f @@ g[a, b]") == "f[a, b]"
    assert text("f @@ <|a -> 1, b -> 2|>") == "f[1, 2]"
    assert run("f @@ 5") == 5
    assert text("Apply[f, {{1, 2}, {3, 4}}, {1}]") == "{f[1, 2], f[3, 4]}"
    exact(run("Apply[Plus, {{1, 2}, {3, 4}}, {1}]"), [3, 7])
    assert text("Apply[f, {{1, 2}, {3, 4}}, 1]") == "{f[1, 2], f[3, 4]}"  # n: levels 1 to n
    assert text("Apply[f, {{{1}}}, 2]") == "{f[f[1]]}"
    assert text("Apply[f, {{1}}, {0, 1}]") == "f[f[1]]"
    exact(run("Max @@ {{1, 9}, {3, 4}}"), 9)


def test_select():
    exact(run("Select[{1, 2, 3, 4}, # > 2 &]"), [3, 4])
    exact(run("Select[{1, 2, 3, 4}, # > 1 &, 2]"), [2, 3])
    exact(run("Select[{1, 2, 3}, # > 5 &]"), [])
    exact(run("Select[{{1, 2}, {3, 4}}, First[#] > 1 &]"), [[3, 4]])
    assert text("Select[<|a -> 1, b -> 5|>, # > 2 &]") == "<|b -> 5|>"
    assert text("Select[f[1, 5], # > 2 &]") == "f[5]"
    error("Select[5, f]", "Select", "normal")
