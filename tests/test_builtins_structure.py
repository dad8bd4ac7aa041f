"""Restructuring, searching and testing lists (netdsl/builtins/structure.py and
searching.py), driven through Session text.

Unless marked otherwise, each expected value is the one of Wolfram's documentation
example for the function (reference.wolfram.com/language/ref/...); packed-array cases
are checked against NumPy formulas written here; hostile sizes must give the memory
budget's error (General::tnsrmaxsz) or the 10^7-element limit, quickly.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

from netdsl import EvaluationError, Session
from values import error, py, run, text


@pytest.mark.parametrize("src, expected", [
    ("MapThread[f, {{a, b, c}, {x, y, z}}]", "{f[a, x], f[b, y], f[c, z]}"),
    ("MapThread[f, {{{a, b}, {c, d}}, {{u, v}, {s, t}}}, 2]",
     "{{f[a, u], f[b, v]}, {f[c, s], f[d, t]}}"),
    ("MapThread[f][{{a, b}, {x, y}}]", "{f[a, x], f[b, y]}"),
    ("MapThread[f, {<|a -> 1, b -> 2|>, <|a -> 3, b -> 4|>}]", "<|a -> f[1, 3], b -> f[2, 4]|>"),
    ("MapThread[Plus, {{1, 2}, {10, 20}}]", "{11, 22}"),
    ("MapThread[f, {}]", "{}"),
    ("MapAt[f, {a, b, c, d}, 2]", "{a, f[b], c, d}"),
    ("MapAt[f, {a, b, c, d}, {{1}, {4}}]", "{f[a], b, c, f[d]}"),
    ("MapAt[f, {{a, b, c}, {d, e}}, {2, 1}]", "{{a, b, c}, {f[d], e}}"),
    ("MapAt[f, {a, b, c, d}, -1]", "{a, b, c, f[d]}"),
    ("MapAt[f, {{a, b}, {c, d}}, {All, 2}]", "{{a, f[b]}, {c, f[d]}}"),
    ("MapAt[f, <|a -> 1, b -> 2|>, Key[b]]", "<|a -> 1, b -> f[2]|>"),
    ("MapAt[f, 2][{a, b, c}]", "{a, f[b], c}"),
    ("MapAt[f, {a, b}, {{1}, {1}}]", "{f[f[a]], b}"),
    ("MapAt[# + 1 &, {1, 2, 3}, 2]", "{1, 3, 3}"),
    ("Extract[{a, b, c, d}, 3]", "c"),
    ("Extract[{{a, b}, {c, d}}, {2, 1}]", "c"),
    ("Extract[{a, b, c, d}, {{1}, {3}}]", "{a, c}"),
    ("Extract[{{a, b}, {c, d}}, {1}, Hold]", "Hold[{a, b}]"),
    ("Extract[2][{a, b}]", "b"),
    ("Extract[<|a -> 1, b -> 2|>, Key[b]]", "2"),
    ("ReplacePart[{a, b, c, d, e}, 3 -> xxx]", "{a, b, xxx, d, e}"),
    ("ReplacePart[{a, b, c, d, e}, {1 -> u, 3 -> v}]", "{u, b, v, d, e}"),
    ("ReplacePart[{{a, b}, {c, d}}, {2, 1} -> x]", "{{a, b}, {x, d}}"),
    ("ReplacePart[{a, b, c, d, e}, {{1}, {3}} -> x]", "{x, b, x, d, e}"),
    ("ReplacePart[{{1, 1}, {1, 1}}, {i_, i_} -> 0]", "{{0, 1}, {1, 0}}"),
    ("ReplacePart[{a, b, c, d, e}, i_?EvenQ -> x]", "{a, x, c, x, e}"),
    ("ReplacePart[{a, b, c}, 5 -> x]", "{a, b, c}"),
    ("ReplacePart[2 -> x][{a, b, c}]", "{a, x, c}"),
    ("ReplacePart[<|a -> 1, b -> 2|>, Key[a] -> 5]", "<|a -> 5, b -> 2|>"),
    ("Insert[{a, b, c, d}, x, 3]", "{a, b, x, c, d}"),
    ("Insert[{a, b, c, d}, x, -2]", "{a, b, c, x, d}"),
    ("Insert[{a, b, c, d}, x, {{1}, {-1}}]", "{x, a, b, c, d, x}"),
    ("Insert[{{a, b}, {c, d}}, x, {2, 1}]", "{{a, b}, {x, c, d}}"),
    ("Insert[x, 2][{a, b, c}]", "{a, x, b, c}"),
    ("Insert[{}, x, 1]", "{x}"),
    ("Delete[{a, b, c, d}, 3]", "{a, b, d}"),
    ("Delete[{a, b, c, d}, {{1}, {3}}]", "{b, d}"),
    ("Delete[{{a, b}, {c, d}}, {2, 1}]", "{{a, b}, {d}}"),
    ("Delete[{a, b, c, d}, -1]", "{a, b, c}"),
    ("Delete[2][{a, b, c}]", "{a, c}"),
    ("Delete[<|a -> 1, b -> 2|>, Key[a]]", "<|b -> 2|>"),
    ("Delete[{{a, b}, {c, d}}, {{1, 2}, {1, 1}}]", "{{}, {c, d}}"),
])
def test_positions(src, expected):
    assert text(src) == expected


@pytest.mark.parametrize("src, expected", [
    ("Catenate[{{1, 2, 3}, {a, b}, {x, y, z}}]", "{1, 2, 3, a, b, x, y, z}"),
    ("Catenate[{<|a -> 1, b -> 2|>, <|c -> 3|>}]", "{1, 2, 3}"),
    ("Catenate[{}]", "{}"),
    ("ArrayReshape[{a, b, c, d, e, f}, {2, 3}]", "{{a, b, c}, {d, e, f}}"),
    ("ArrayReshape[{a, b, c, d, e}, {2, 3}]", "{{a, b, c}, {d, e, 0}}"),
    ("ArrayReshape[{1, 2, 3}, {2, 2}, x]", "{{1, 2}, {3, x}}"),
    ("ArrayReshape[{{1, 2}, {3, 4}}, {4}]", "{1, 2, 3, 4}"),
    ("Accumulate[{a, b, c, d}]", "{a, a + b, a + b + c, a + b + c + d}"),
    ("Accumulate[{1, 2, 3, 4}]", "{1, 3, 6, 10}"),
    ("Accumulate[{{1, 2}, {3, 4}}]", "{{1, 2}, {4, 6}}"),
    ("Accumulate[{}]", "{}"),
    ("Accumulate[{2^62, 2^62, 2^62}]", "{4611686018427387904, 9223372036854775808, "
                                       "13835058055282163712}"),   # exact beyond 64 bits
    ("Differences[{-2^62, 2^62}]", "{9223372036854775808}"),
    ("Catenate[{{1, 2}, {3.5}}]", "{1, 2, 3.5}"),           # each element keeps its kind
    ("ArrayReshape[{1, 2, 3}, {2, 2}, 0.5]", "{{1, 2}, {3, 0.5}}"),
    ("PadLeft[{1.5, 2.5}, 3]", "{0, 1.5, 2.5}"),
    ("Differences[{1, 4, 9, 16, 25}]", "{3, 5, 7, 9}"),
    ("Differences[{1, 4, 9, 16, 25}, 2]", "{2, 2, 2}"),
    ("Differences[{{1, 2}, {5, 7}}]", "{{4, 5}}"),
    ("Differences[{1}]", "{}"),
    ("Differences[{1, 2}, 0]", "{1, 2}"),
    ("RotateLeft[{a, b, c, d, e}, 2]", "{c, d, e, a, b}"),
    ("RotateRight[{a, b, c, d, e}, 2]", "{d, e, a, b, c}"),
    ("RotateLeft[{a, b, c}]", "{b, c, a}"),
    ("RotateLeft[{{a, b, c}, {d, e, f}}, {1, 2}]", "{{f, d, e}, {c, a, b}}"),
    ("RotateRight[{}, 3]", "{}"),
    ("PadLeft[{a, b, c}, 10]", "{0, 0, 0, 0, 0, 0, 0, a, b, c}"),
    ("PadLeft[{a, b, c}, 10, x]", "{x, x, x, x, x, x, x, a, b, c}"),
    ("PadLeft[{a, b, c}, 10, {x, y, z}]", "{z, x, y, z, x, y, z, a, b, c}"),
    ("PadRight[{a, b, c}, 10, {x, y, z}]", "{a, b, c, x, y, z, x, y, z, x}"),
    ("PadLeft[{{a, b}, {c}}, {3, 5}]", "{{0, 0, 0, 0, 0}, {0, 0, 0, a, b}, {0, 0, 0, 0, c}}"),
    ("PadRight[{{a, b, c}, {d}, {e, f}}]", "{{a, b, c}, {d, 0, 0}, {e, f, 0}}"),
    ("PadLeft[{a, b, c, d}, 2]", "{c, d}"),
    ("PadRight[{a, b, c, d}, 2]", "{a, b}"),
    ("PadRight[{}, 3]", "{0, 0, 0}"),
    ("PadLeft[{a, b}, -4]", "{a, b, 0, 0}"),             # a negative length pads the right
    ("PadRight[{1, 2}, -4]", "{0, 0, 1, 2}"),
    ("PadLeft[{{a}, {b, c}}, {2, -3}]", "{{a, 0, 0}, {b, c, 0}}"),
    ("Pick[{a, b, c, d}, {1, 0, 1, 1}, 1]", "{a, c, d}"),
    ("Pick[{a, b, c, d}, {True, False, False, True}]", "{a, d}"),
    ("Pick[{{a, b}, {c, d}}, {{True, False}, {False, True}}]", "{{a}, {d}}"),
    ("Pick[{1, 2, 3}, {True, False, True}]", "{1, 3}"),
])
def test_rearranging(src, expected):
    assert text(src) == expected


@pytest.mark.parametrize("src, expected", [
    ("Tuples[{0, 1}, 3]", "{{0, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, 1, 1}, {1, 0, 0}, {1, 0, 1}, "
                          "{1, 1, 0}, {1, 1, 1}}"),
    ("Tuples[{{a, b}, {1, 2, 3}}]", "{{a, 1}, {a, 2}, {a, 3}, {b, 1}, {b, 2}, {b, 3}}"),
    ("Tuples[{a, b}, 0]", "{{}}"),
    ("Tuples[{}, 2]", "{}"),
    ("Subsets[{a, b, c}]", "{{}, {a}, {b}, {c}, {a, b}, {a, c}, {b, c}, {a, b, c}}"),
    ("Subsets[{a, b, c, d}, {2}]", "{{a, b}, {a, c}, {a, d}, {b, c}, {b, d}, {c, d}}"),
    ("Subsets[{a, b, c}, 1]", "{{}, {a}, {b}, {c}}"),
    ("Subsets[{a, b, c, d}, {1, 2}, 3]", "{{a}, {b}, {c}}"),
    ("Subsets[{}]", "{{}}"),
    ("Permutations[{a, b, c}]", "{{a, b, c}, {a, c, b}, {b, a, c}, {b, c, a}, {c, a, b}, "
                                "{c, b, a}}"),
    ("Permutations[{a, a, b}]", "{{a, a, b}, {a, b, a}, {b, a, a}}"),
    ("Permutations[{a, b, c}, {2}]", "{{a, b}, {a, c}, {b, a}, {b, c}, {c, a}, {c, b}}"),
    ("Permutations[{}]", "{{}}"),
    ("Array[f, 4]", "{f[1], f[2], f[3], f[4]}"),
    ("Array[f, {2, 3}]", "{{f[1, 1], f[1, 2], f[1, 3]}, {f[2, 1], f[2, 2], f[2, 3]}}"),
    ("Array[f, 3, 0]", "{f[0], f[1], f[2]}"),
    ("Array[f, {2, 2}, {0, 1}]", "{{f[0, 1], f[0, 2]}, {f[1, 1], f[1, 2]}}"),
    ("Array[#^2 &, 4]", "{1, 4, 9, 16}"),
    ("Array[f, 0]", "{}"),
    ("Array[f, {0, 10^20}]", "{}"),
    ("UnitVector[4, 2]", "{0, 1, 0, 0}"),
    ("UnitVector[2]", "{0, 1}"),
    ("IdentityMatrix[3]", "{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}"),
    ("IdentityMatrix[0]", "{}"),
])
def test_generating(src, expected):
    assert text(src) == expected


@pytest.mark.parametrize("src, expected", [
    ("Level[{a, {b, {c}}}, {-1}]", "{a, b, c}"),
    ("Level[{{a, b}, {c}}, 2]", "{a, b, {a, b}, c, {c}}"),
    ("Level[{{a, b}, {c}}, {2}]", "{a, b, c}"),
    ("Level[{{a, b}, c}, -1]", "{a, b, {a, b}, c}"),
    ("Level[{{a, b}, c}, {0, 1}]", "{{a, b}, c, {{a, b}, c}}"),
    ("Level[f[g[x], y], {-1}]", "{x, y}"),
    ("Depth[{{a}, b}]", "3"),
    ("Depth[a]", "1"),
    ("Depth[{a, {b, {c}}}]", "4"),
    ("Depth[{{1, 2}, {3, 4}}]", "3"),
    ("ArrayDepth[{{a, b}, {c, d}}]", "2"),
    ("ArrayDepth[{{a, b}, {c}}]", "1"),
    ("ArrayDepth[x]", "0"),
    ("VectorQ[{a, b, c}]", "True"),
    ("VectorQ[{a, {b}}]", "False"),
    ("VectorQ[{1, 2}, NumberQ]", "True"),
    ("VectorQ[{1, x}, NumberQ]", "False"),
    ("VectorQ[{}]", "True"),
    ("MatrixQ[{{a, b}, {c, d}}]", "True"),
    ("MatrixQ[{{a, b}, {c}}]", "False"),
    ("MatrixQ[{a, b}]", "False"),
    ("MatrixQ[{{1, 2}, {3, 4}}, EvenQ]", "False"),
    ("ArrayQ[{{a, b}, {c, d}}]", "True"),
    ("ArrayQ[{{a, b}, {c}}]", "False"),
    ("ArrayQ[{{1, 2}, {3, 4}}, 2, IntegerQ]", "True"),
    ("ArrayQ[{{1, 2}, {3, 4}}, 3]", "False"),
    ("ArrayQ[x]", "False"),
])
def test_levels_and_array_tests(src, expected):
    assert text(src) == expected


@pytest.mark.parametrize("src, expected", [
    ("SelectFirst[{1, 2, 3, 4}, EvenQ]", "2"),
    ("SelectFirst[{1, 3}, EvenQ]", 'Missing["NotFound"]'),
    ("SelectFirst[{1, 3}, EvenQ, none]", "none"),
    ("SelectFirst[EvenQ][{1, 4}]", "4"),
    ("SelectFirst[<|a -> 1, b -> 2|>, EvenQ]", "2"),
    ("FirstPosition[{a, b, c, d, b}, b]", "{2}"),
    ("FirstPosition[{{a, b}, {b, a}}, b]", "{1, 2}"),
    ("FirstPosition[{a, b}, z]", 'Missing["NotFound"]'),
    ("FirstPosition[{a, b}, z, 0]", "0"),
    ("FirstPosition[b][{a, b}]", "{2}"),
    ("FirstPosition[{a, b}, a, y = 5]; y", "y"),      # default evaluated only if needed
    ("FirstPosition[{a, b}, c, y = 5]; y", "5"),
    ("FirstPosition[{{1, 3}, {3}}, 3, none, {1}]", "none"),
    ("FirstPosition[{x^2, y}, x^_]", "{1}"),
    ("AllTrue[{2, 4, 6}, EvenQ]", "True"),
    ("AllTrue[{2, 3}, EvenQ]", "False"),
    ("AllTrue[{}, EvenQ]", "True"),
    ("AnyTrue[{1, 3, 4}, EvenQ]", "True"),
    ("AnyTrue[{}, EvenQ]", "False"),
    ("NoneTrue[{1, 3, 5}, EvenQ]", "True"),
    ("AllTrue[EvenQ][{2, 4}]", "True"),
    ("AllTrue[{{1, 3}, {5, 7}}, OddQ, 2]", "True"),
    ("AnyTrue[{{1, 3}, {5, 8}}, EvenQ, {2}]", "True"),
    ("LengthWhile[{1, 3, 5, 6, 7}, OddQ]", "3"),
    ("TakeWhile[{1, 3, 5, 6, 7}, OddQ]", "{1, 3, 5}"),
    ("TakeWhile[{}, OddQ]", "{}"),
    ("NestWhileList[#/2 &, 123456, EvenQ]", "{123456, 61728, 30864, 15432, 7716, 3858, 1929}"),
    ("NestWhileList[# + 1 &, 1, # < 4 &]", "{1, 2, 3, 4}"),
    ("NestWhileList[# + 1 &, 1, True &, 1, 3]", "{1, 2, 3, 4}"),
    ("NestWhileList[If[# == 3, 1, # + 1] &, 1, Unequal, All]", "{1, 2, 3, 1}"),
    ("NestWhileList[Floor[#/2] &, 10, Unequal, 2]", "{10, 5, 2, 1, 0, 0}"),
    ("NestWhileList[#/2 &, 1, EvenQ]", "{1}"),
    ("NestWhileList[# + 1 &, 1, # < 5 &, 1, 10^30]", "{1, 2, 3, 4, 5}"),
    ("Through[{f, g, h}[x]]", "{f[x], g[x], h[x]}"),
    ("Through[p[f, g][x, y]]", "p[f[x, y], g[x, y]]"),
    ("Through[p[f, g][x], q]", "p[f, g][x]"),
    ("Reap[Sow[a]; b; Sow[c]; Sow[d]; e]", "{e, {{a, c, d}}}"),
    ("Reap[Sow[1, x]; Sow[2, y]; Sow[3, x]]", "{3, {{1, 3}, {2}}}"),
    ("Reap[Sow[1, x]; Sow[2, y]; 0, x]", "{0, {{1}}}"),
    ("Reap[Sow[1, x]; Sow[2, y]; 0, {x, y, z}]", "{0, {{{1}}, {{2}}, {}}}"),
    ("Reap[Sow[1, x]; Sow[2, x], _, f]", "{2, {f[x, {1, 2}]}}"),
    ("Reap[Sow[1, {x, y}], _, f]", "{1, {f[x, {1}], f[y, {1}]}}"),
    ("Reap[x]", "{x, {}}"),
    ("Reap[Reap[Sow[1, a]; Sow[2, b], a]; 0]", "{0, {{2}}}"),
    ("Sow[5]", "5"),
    ("Reap[Do[If[EvenQ[i], Sow[i]], {i, 6}]]", "{Null, {{2, 4, 6}}}"),
])
def test_searching_and_collecting(src, expected):
    assert text(src) == expected


def test_packed_arrays_take_numpy_paths():
    s = Session(stdout=io.StringIO())
    s.evaluate("SeedRandom[7]; r = RandomReal[1, 10^5]; m = RandomInteger[9, {300, 4}];")
    r, m = np.asarray(py(s.evaluate("r"))), np.asarray(py(s.evaluate("m")))
    assert np.allclose(py(s.evaluate("Accumulate[r]")), np.cumsum(r))
    assert py(s.evaluate("Accumulate[m]")) == np.cumsum(m, axis=0).tolist()
    assert np.allclose(py(s.evaluate("Differences[r, 2]")), np.diff(r, 2))
    assert py(s.evaluate("RotateLeft[m, {2, 1}]")) == np.roll(m, (-2, -1), (0, 1)).tolist()
    assert py(s.evaluate("PadLeft[m, {302, 6}]")) == np.pad(m, ((2, 0), (2, 0))).tolist()
    assert py(s.evaluate("PadRight[m, {2, 2}, 7]")) == m[:2, :2].tolist()
    assert py(s.evaluate("PadLeft[m, {-301, 5}, 7]")) == np.pad(m, ((0, 1), (1, 0)),
                                                                constant_values=7).tolist()
    assert py(s.evaluate("ArrayReshape[m, {4, 300}]")) == m.reshape(4, 300).tolist()
    assert py(s.evaluate("Catenate[{m, m}]")) == np.concatenate([m, m]).tolist()
    assert py(s.evaluate("Delete[m, {{1}, {-1}}]")) == m[1:-1].tolist()
    assert py(s.evaluate("Tuples[{1, 2, 3}, 2]")) == [[i, j] for i in (1, 2, 3) for j in (1, 2, 3)]
    got = s.evaluate("ReplacePart[r, 3 -> 0.5]")
    assert isinstance(got, np.ndarray) and got[2] == 0.5 and np.array_equal(got[3:], r[3:])
    assert s.evaluate("MatrixQ[m, IntegerQ]") is s.evaluate("True")
    assert s.evaluate("ArrayDepth[m]") == 2 and s.evaluate("Depth[m]") == 3
    assert isinstance(s.evaluate("Accumulate[r]"), np.ndarray)


@pytest.mark.parametrize("src", [
    "Tuples[Range[10], 20]",
    "Tuples[Range[3], 10^10]",
    "Subsets[Range[100]]",
    "Permutations[Range[20]]",
    "Array[f, 10^9]",
    "Array[f, {10^5, 10^5}]",
    "PadLeft[{1}, 10^12]",
    "PadRight[{a}, {10^6, 10^6}]",
    "IdentityMatrix[10^6]",
    "UnitVector[10^12, 1]",
    "ArrayReshape[{1}, {10^6, 10^6}]",
    "Subsets[Range[30], {15}]",
    "Permutations[Range[11]]",
    "Tuples[Table[{1, 2}, 30]]",
])
def test_huge_sizes_are_refused_quickly(src):
    start = time.perf_counter()
    with pytest.raises(EvaluationError) as info:
        run(src)
    assert info.value.tag in ("tnsrmaxsz", "toobig"), info.value.message
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("src, symbol, tag", [
    ("MapThread[f, {{a, b}, {c}}]", "MapThread", "mptc"),
    ("MapThread[f, {a, b}]", "MapThread", "mptd"),
    ("MapThread[f, x]", "MapThread", "normal"),
    ("MapAt[f, {a, b}, 5]", "MapAt", "partw"),
    ("MapAt[f, {a, b}, {{1}, x}]", "MapAt", "partw"),
    ("Extract[{a, b}, 3]", "Extract", "partw"),
    ("Insert[{a, b}, x, 5]", "Insert", "partw"),
    ("Delete[{a, b}, 3]", "Delete", "partw"),
    ("Delete[{a, b}, x]", "Delete", "argx"),
    ("ArrayReshape[{1, 2}, {-1}]", "ArrayReshape", "argx"),
    ("Differences[{1, 2}, -1]", "Differences", "argx"),
    ("RotateLeft[{1, 2}, x]", "RotateLeft", "argx"),
    ("PadLeft[{1, 2}, x]", "PadLeft", "argx"),
    ("PadRight[{1, 2}, {2, 3}]", "PadRight", "level"),
    ("PadLeft[x, 3]", "PadLeft", "normal"),
    ("Pick[{a, b}, {True}]", "Pick", "incomp"),
    ("Tuples[{a}, -1]", "Tuples", "argx"),
    ("Tuples[{{a}, b}]", "Tuples", "normal"),
    ("Subsets[{a}, x]", "Subsets", "argx"),
    ("Array[f, x]", "Array", "argx"),
    ("UnitVector[3, 5]", "UnitVector", "upos"),
    ("IdentityMatrix[-1]", "IdentityMatrix", "intnm"),
    ("Level[{a}, x]", "Level", "argx"),
    ("ArrayQ[{1}, x]", "ArrayQ", "argx"),
    ("SelectFirst[x, EvenQ]", "SelectFirst", "normal"),
    ("NestWhileList[f, 1, g, 0]", "NestWhileList", "argx"),
])
def test_wrong_arguments(src, symbol, tag):
    error(src, symbol, tag)


def test_deep_expressions_do_not_overflow():
    s = Session(stdout=io.StringIO())
    s.evaluate("deep = Nest[{#} &, x, 900];")
    assert s.evaluate("Depth[deep]") == 901
    assert s.evaluate("Length[Level[deep, {-1}]]") == 1
    assert s.evaluate("Sort[{deep, deep, {1}}]")[0] == s.evaluate("{1}")


def test_operator_forms_wait_for_their_argument():
    assert text("MapAt[f, 2]") == "MapAt[f, 2]"
    assert text("Insert[x, 2]") == "Insert[x, 2]"
    assert text("Extract[2]") == "Extract[2]"
