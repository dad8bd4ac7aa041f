"""The pattern matcher on its own (netdsl.patterns), one test per rule of Wolfram's semantics.

Patterns are written in FullForm so these tests do not depend on the pattern syntax.
Conditions and tests use tiny Python callbacks standing in for evaluation.
"""

from __future__ import annotations

import numpy as np

from netdsl.expr import Expr, Symbol
from netdsl.patterns import Matcher, is_pattern, pattern_names, seq_range, substitute
from netdsl.syntax import parse_statements

S = Symbol


def P(text: str):
    return parse_statements(text, None)[0][0]


def _test(f, x):  # p ? f with f one of IntegerQ / Positive
    if f is S("IntegerQ"):
        return isinstance(x, int)
    if f is S("Positive"):
        return isinstance(x, (int, float)) and x > 0
    return False


def _cond(c, b):  # p /; c with c = Greater[name, number]
    c = substitute(c, b)
    return c.head is S("Greater") and c.args[0] > c.args[1]


M = Matcher(test=_test, condition=_cond)


def match(p, e):
    b = M.match(P(p), P(e))
    return None if b is None else {k.name: v for k, v in b.items()}


def test_blank_matches_anything():
    assert match("Blank[]", "f[1, 2]") == {}
    assert match("Blank[]", "3") == {}


def test_named_blank_binds():
    assert match("Pattern[x, Blank[]]", "f[a]") == {"x": P("f[a]")}


def test_blank_with_head():
    assert match("Blank[Integer]", "3") == {}
    assert match("Blank[Integer]", "3.") is None
    assert match("Blank[f]", "f[1]") == {}
    assert match("Blank[f]", "g[1]") is None
    assert match("Blank[String]", '"s"') == {}


def test_blank_list_head_matches_packed_arrays():
    assert M.match(P("Blank[List]"), np.array([1, 2])) == {}
    b = M.match(P("List[Pattern[a, Blank[]], Pattern[b, Blank[]]]"), np.array([1, 2]))
    assert b == {S("a"): 1, S("b"): 2}


def test_literal_parts_must_be_same():
    assert match("f[1, Pattern[x, Blank[]]]", "f[1, 2]") == {"x": 2}
    assert match("f[1, Pattern[x, Blank[]]]", "f[2, 2]") is None
    assert match("f[1]", "f[1.]") is None


def test_repeated_name_must_match_same_value():
    assert match("f[Pattern[x, Blank[]], Pattern[x, Blank[]]]", "f[1, 1]") == {"x": 1}
    assert match("f[Pattern[x, Blank[]], Pattern[x, Blank[]]]", "f[1, 2]") is None


def test_blank_sequence_takes_one_or_more_shortest_first():
    assert match("f[Pattern[x, BlankSequence[]]]", "f[]") is None
    assert match("f[Pattern[x, BlankSequence[]]]", "f[1, 2]") == {"x": P("Sequence[1, 2]")}
    assert match("f[Pattern[x, BlankSequence[]], Pattern[y, BlankSequence[]]]",
                 "f[a, b, c]") == {"x": P("Sequence[a]"), "y": P("Sequence[b, c]")}


def test_blank_null_sequence_takes_zero_or_more():
    assert match("f[Pattern[x, BlankNullSequence[]]]", "f[]") == {"x": P("Sequence[]")}
    assert match("f[a, Pattern[x, BlankNullSequence[]]]", "f[a, b]") == {"x": P("Sequence[b]")}


def test_sequence_with_head_checks_every_element():
    assert match("f[BlankSequence[Integer]]", "f[1, 2]") == {}
    assert match("f[BlankSequence[Integer]]", "f[1, 2.]") is None


def test_sequence_backtracks_to_let_later_patterns_match():
    assert match("f[Pattern[x, BlankSequence[]], 3]", "f[1, 2, 3]") == {"x": P("Sequence[1, 2]")}


def test_optional_with_default():
    p = "f[Pattern[x, Blank[]], Optional[Pattern[y, Blank[]], 5]]"
    assert match(p, "f[1]") == {"x": 1, "y": 5}
    assert match(p, "f[1, 2]") == {"x": 1, "y": 2}


def test_optional_without_default_uses_the_heads_default():
    # x_. in Plus is 0, in Times 1, Power's exponent 1
    assert match("Plus[Pattern[a, Blank[]], Optional[Pattern[b, Blank[]]]]", "z") == \
        {"a": P("z"), "b": 0}
    assert match("Times[Optional[Pattern[a, Blank[]]], Pattern[x, Blank[Symbol]]]", "z") == \
        {"a": 1, "x": P("z")}
    assert match("Power[Pattern[x, Blank[]], Optional[Pattern[n, Blank[]]]]", "z") == \
        {"x": P("z"), "n": 1}
    assert match("Power[Pattern[x, Blank[]], Optional[Pattern[n, Blank[]]]]", "Power[z, 3]") \
        == {"x": P("z"), "n": 3}


def test_condition_on_bindings():
    p = "Condition[Pattern[x, Blank[]], Greater[x, 0]]"
    assert match(p, "3") == {"x": 3}
    assert match(p, "-3") is None


def test_pattern_test():
    assert match("PatternTest[Pattern[x, Blank[]], IntegerQ]", "3") == {"x": 3}
    assert match("PatternTest[Pattern[x, Blank[]], IntegerQ]", "3.") is None
    assert match("f[PatternTest[BlankSequence[], Positive]]", "f[1, 2]") == {}
    assert match("f[PatternTest[BlankSequence[], Positive]]", "f[1, -2]") is None


def test_alternatives():
    p = "Alternatives[Blank[Integer], Blank[String]]"
    assert match(p, "1") == {} and match(p, '"a"') == {}
    assert match(p, "1.") is None


def test_except():
    assert match("Except[0]", "1") == {}
    assert match("Except[0]", "0") is None
    assert match("Except[0, Blank[Integer]]", "1.") is None
    assert match("Except[0, Blank[Integer]]", "2") == {}


def test_repeated():
    assert match("List[Repeated[Blank[Integer]]]", "{1, 2, 3}") == {}
    assert match("List[Repeated[Blank[Integer]]]", "{}") is None
    assert match("List[RepeatedNull[Blank[Integer]]]", "{}") == {}
    assert match("List[Repeated[Blank[], {2}]]", "{1, 2}") == {}
    assert match("List[Repeated[Blank[], {2}]]", "{1, 2, 3}") is None
    assert match("List[Repeated[Blank[], 2]]", "{1}") == {}


def test_repeated_with_a_name_needs_equal_elements():
    assert match("f[Repeated[Pattern[x, Blank[]]]]", "f[a, a]") == {"x": P("a")}
    assert match("f[Repeated[Pattern[x, Blank[]]]]", "f[a, b]") is None


def test_options_pattern_takes_rules():
    p = "f[Pattern[x, Blank[]], OptionsPattern[]]"
    assert match(p, "f[1]") == {"x": 1}
    assert match(p, "f[1, a -> 2, {b -> 3}]") == {"x": 1}
    assert match(p, "f[1, 2]") is None


def test_orderless_plus_and_times_match_in_any_order():
    assert match("Plus[Pattern[x, Blank[Symbol]], Pattern[n, Blank[Integer]]]", "Plus[2, a]") == \
        {"x": P("a"), "n": 2}
    assert match("Times[2, Pattern[x, Blank[]]]", "Times[a, 2]") == {"x": P("a")}


def test_flat_plus_one_pattern_takes_the_rest():
    assert match("Plus[a, Pattern[x, Blank[]]]", "Plus[a, b, c]") == {"x": P("Plus[b, c]")}


def test_heads_are_matched_too():
    assert match("Pattern[h, Blank[]][Pattern[x, Blank[]]]", "g[1]") == {"h": P("g"), "x": 1}


def test_hold_pattern_and_verbatim():
    assert match("HoldPattern[Pattern[x, Blank[]]]", "1") == {"x": 1}
    assert match("Verbatim[Blank[]]", "Blank[]") == {}
    assert match("Verbatim[Blank[]]", "1") is None


def test_sequence_ranges():
    assert seq_range(P("Blank[]")) == (1, 1)
    assert seq_range(P("Pattern[x, BlankNullSequence[]]")) == (0, 1 << 62)
    assert seq_range(P("Repeated[a, {2, 3}]")) == (2, 3)


def test_pattern_detection_and_names():
    assert is_pattern(P("f[Pattern[x, Blank[]]]"))
    assert not is_pattern(P("f[x, 1]"))
    assert pattern_names(P("f[Pattern[x, Blank[]], g[Pattern[y, Blank[]]]]")) == [S("x"), S("y")]


def test_substitute_splices_sequences():
    body = P("g[x, 0]")
    assert substitute(body, {S("x"): Expr(S("Sequence"), 1, 2)}) == P("g[1, 2, 0]")
    assert substitute(body, {}) is body
