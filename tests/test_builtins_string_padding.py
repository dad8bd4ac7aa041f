"""StringPadLeft, StringPadRight and the literal searches StringCount, StringMatchQ,
StringCases, StringPosition (builtins/stringsearch.py).

Expected values: Wolfram's documentation examples where said, else Python's own string
methods (``str.count``, ``str.find`` in a loop, ``fnmatch``-style rules written out).
"""

from __future__ import annotations

import pytest

from netdsl.expr import Symbol
from values import error, exact, py, run

T, F = Symbol("True"), Symbol("False")


# ---------------------------------------------------------------- padding
@pytest.mark.parametrize("src, expected", [
    ('StringPadLeft["abc", 10]', "       abc"),        # Wolfram's example: total length 10
    ('StringPadRight["abc", 10]', "abc       "),
    ('StringPadLeft["abc", 6, "."]', "...abc"),        # a non-whitespace character
    ('StringPadLeft["abcdef", 3]', "def"),              # truncated on the left
    ('StringPadRight["abcdef", 3]', "abc"),             # truncated on the right
    ('StringPadRight["abc", 10, "xyz"]', "abcxyzxyzx"),  # copies laid outward from s
    ('StringPadLeft["abc", 10, "xyz"]', "zxyzxyzabc"),
    ('StringPadLeft["", 3, "0"]', "000"),
    ('StringPadLeft["abc", 0]', ""),
])
def test_pad_one_string(src, expected):
    assert run(src) == expected


def test_pad_lists():
    # Wolfram's example: a list of strings made the same length
    assert py(run('StringPadRight[{"a", "bbb", "cc"}]')) == ["a  ", "bbb", "cc "]
    assert py(run('StringPadLeft[{"a", "bbb", "cc"}]')) == ["  a", "bbb", " cc"]
    assert py(run('StringPadLeft[{"1", "22", "333"}, 2, "0"]')) == ["01", "22", "33"]
    assert py(run('StringPadRight[{}]')) == []


def test_pad_errors_and_huge_sizes():
    error('StringPadLeft["a", 10^12]', "General", "tnsrmaxsz")      # refused before building
    error('StringPadLeft["a", -1]', "StringPadLeft", "argx")
    error('StringPadLeft["a", 3, ""]', "StringPadLeft", "argx")
    error('StringPadLeft["a"]', "StringPadLeft", "argx")
    error('StringPadLeft[5, 3]', "StringPadLeft", "string")


# ---------------------------------------------------------------- searches
def positions(s: str, sub: str, overlaps: bool) -> list[list[int]]:
    out, i = [], s.find(sub)
    while i >= 0:
        out.append([i + 1, i + len(sub)])
        i = s.find(sub, i + (1 if overlaps else len(sub)))
    return out


@pytest.mark.parametrize("s, sub", [("abababa", "aba"), ("aaaa", "aa"), ("hello world", "o"),
                                    ("abc", "z"), ("mississippi", "issi")])
def test_count_and_position_match_pythons_find(s, sub):
    exact(run(f'StringCount["{s}", "{sub}"]'), s.count(sub))           # without overlaps
    exact(run(f'StringCount["{s}", "{sub}", Overlaps -> True]'), len(positions(s, sub, True)))
    assert py(run(f'StringPosition["{s}", "{sub}"]')) == positions(s, sub, True)  # default
    assert py(run(f'StringPosition["{s}", "{sub}", Overlaps -> False]')) == \
        positions(s, sub, False)
    assert py(run(f'StringCases["{s}", "{sub}"]')) == [sub] * s.count(sub)


def test_search_forms():
    exact(run('StringCount["abc", {"a", "c"}]'), 2)                  # alternatives
    exact(run('StringCount[{"aa", "ba", ""}, "a"]'), [2, 1, 0])      # Listable in s
    exact(run('StringCount["ABCabc", "a", IgnoreCase -> True]'), 2)
    exact(run('StringCount["abc", ""]'), 0)
    assert py(run('StringCases["abcabc", "b" -> X]')) == [Symbol("X")] * 2
    assert py(run('StringCases["abcabc", "c", 1]')) == ["c"]
    assert py(run('StringCases["a1b2", {"1" -> one, "2" -> two}]')) == \
        [Symbol("one"), Symbol("two")]
    assert py(run('StringPosition["abcabc", "bc", 1]')) == [[2, 3]]
    assert py(run('StringPosition[{"ab", "ba"}, "a"]')) == [[[1, 1]], [[2, 2]]]
    assert py(run('StringCases["abc"]["xabcxabc"]')) == ["abc", "abc"]   # the operator form


def test_string_match_q_metacharacters():
    assert run('StringMatchQ["apple", "apple"]') is T
    assert run('StringMatchQ["apple", "app"]') is F       # the whole string must match
    assert run('StringMatchQ["apple", "a*e"]') is T       # * is any characters
    assert run('StringMatchQ["apple", "a@"]') is T        # @ is any but capitals (Wolfram)
    assert run('StringMatchQ["aPple", "a@"]') is F
    assert run('StringMatchQ["a", "a@"]') is F            # @ is one character or more
    assert run('StringMatchQ["a", "a*"]') is T            # * may be none
    assert run('StringMatchQ["a*", Verbatim["a*"]]') is T  # Verbatim: * as it is
    assert run('StringMatchQ["ab", Verbatim["a*"]]') is F
    assert run('StringMatchQ["a*b", "a\\\\*b"]') is T       # \\* is the character *
    assert run('StringMatchQ["axb", "a\\\\*b"]') is F
    assert run('StringMatchQ["APPLE", "a*", IgnoreCase -> True]') is T
    assert py(run('StringMatchQ[{"ab", "cd", "ax"}, "a*"]')) == [T, F, T]
    assert run('StringMatchQ["a*"]["abc"]') is T          # the operator form
    assert py(run('Select[{"net.m", "a.txt", "b.m"}, StringMatchQ["*.m"]]')) == \
        ["net.m", "b.m"]


def test_string_patterns_in_searches():
    # string patterns (stringpatterns.py; more in test_builtins_real_code.py)
    assert py(run('StringCases["abc", x_]')) == ["a", "b", "c"]
    exact(run('StringCount["abc", "a" ~~ "b"]'), 1)
    assert py(run('StringPosition["abc", DigitCharacter]')) == []
    assert run('StringMatchQ["abc", RegularExpression["a.c"]]') is T
    exact(run('StringCases["abc", x_ -> 1]'), [1, 1, 1])
    error('StringCases["abc", x_?EvenQ]', "StringExpression", "invld")  # a test netdsl cannot compile
    error('StringCount[1, "a"]', "StringCount", "string")
    error('StringPosition["abc", "a", -1]', "StringPosition", "argx")


def test_long_strings_search_in_one_pass():
    s = "ab" * 200000
    exact(run(f'StringCount["{s}", "ba"]'), s.count("ba"))
    exact(run(f'Length[StringPosition["{s}", "abab"]]'), len(positions(s, "abab", True)))
