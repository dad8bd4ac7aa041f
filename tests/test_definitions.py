"""Definitions with patterns, their order, memoisation, attributes and options (issue 9, B).

Left sides are written in FullForm (``SetDelayed[f[Pattern[x, Blank[]]], ...]`` is
``f[x_] := ...``) so these tests do not depend on the pattern syntax.
"""

from __future__ import annotations

import pytest

from netdsl import Session
from netdsl.errors import NetDSLError
from netdsl.expr import Expr, Symbol, input_form

S = Symbol
X = "Pattern[x, Blank[]]"
N = "Pattern[n, Blank[]]"


def run(text: str, s: Session | None = None):
    return (s or Session()).evaluate(text)


def text(src: str, s: Session | None = None) -> str:
    return input_form(run(src, s))


def test_delayed_definition_with_a_pattern():
    s = Session()
    run(f"SetDelayed[f[{X}], x + 1]", s)
    assert run("f[2]", s) == 3
    assert run("f[a]", s) == run("a + 1", s)


def test_immediate_definition_evaluates_the_right_side_once():
    s = Session()
    run(f"k = 1; Set[g[{X}], x + k]; k = 100", s)
    assert run("g[1]", s) == 2


def test_literal_definition_beats_a_pattern_whatever_the_order():
    s = Session()
    run(f"SetDelayed[f[{N}], n * 10]; Set[f[0], 1]", s)
    assert list(run("{f[0], f[2]}", s)) == [1, 20]
    s2 = Session()
    run(f"Set[f[0], 1]; SetDelayed[f[{N}], n * 10]", s2)
    assert list(run("{f[0], f[2]}", s2)) == [1, 20]


def test_more_specific_pattern_is_tried_first():
    s = Session()
    run(f"SetDelayed[h[{X}], \"any\"]; SetDelayed[h[Pattern[x, Blank[Integer]]], \"int\"]", s)
    assert run("h[1]", s) == "int"
    assert run("h[1.5]", s) == "any"


def test_conditioned_rule_goes_before_the_plain_one():
    s = Session()
    run(f"SetDelayed[sg[{X}], 0]; SetDelayed[sg[{X}], Condition[1, x > 0]]", s)
    assert run("{sg[5], sg[-5]}", s).tolist() == [1, 0]
    run(f"SetDelayed[sg[{X}], Condition[-1, x < 0]]", s)
    assert run("{sg[5], sg[-5], sg[0]}", s).tolist() == [1, -1, 0]


def test_condition_inside_module_or_with_on_the_right_side():
    """Wolfram: f[x_] := Module[{y = ...}, body /; cond] applies only when cond holds with
    the local values set; else the next definition is tried (a package idiom)."""
    s = Session()
    s.evaluate('g[x_] := Module[{y = x}, Total[{y, 1}] /; y > 0]; g[_] := "other";'
               'h[x_] := With[{m = {{1, 2}, {3, 4}}}, m[[All, -1]] + 1 /; MatrixQ[m]];'
               'k[x_] := With[{a = x}, Module[{b = 2 a}, b /; b > 10]]; k[_] := 0;'
               'c = 0; p[x_] := Block[{t = x}, (c++; t) /; t == 1]; p[_] := c;')
    assert run("g[3]", s) == 4 and run("g[-1]", s) == "other"
    assert run("h[1]", s).tolist() == [3, 5]
    assert run("{k[6], k[5]}", s).tolist() == [12, 0]
    assert run("{p[1], p[2]}", s).tolist() == [1, 1]    # the body runs only when cond holds
    assert text("q[x_] := Module[{y = x}, y /; y > 0]; q[-1]", s) == "q[-1]"


def test_condition_on_the_left_side():
    s = Session()
    run(f"SetDelayed[Condition[pos[{X}], x > 0], \"positive\"]", s)
    assert run("pos[2]", s) == "positive"
    assert text("pos[-2]", s) == "pos[-2]"


def test_same_left_side_replaces_the_old_rule():
    s = Session()
    run(f"SetDelayed[f[{X}], 1]; SetDelayed[f[{X}], 2]", s)
    assert run("f[0]", s) == 2
    assert len(run("DownValues[f]", s).args) == 1


def test_no_match_stays_unevaluated():
    s = Session()
    run("SetDelayed[f[Pattern[x, Blank[Integer]]], x]", s)
    assert text("f[\"a\"]", s) == 'f["a"]'


def test_memoised_fibonacci():
    s = Session()
    run(f"Set[fib[0], 0]; Set[fib[1], 1]; SetDelayed[fib[{N}], Set[fib[n], fib[n - 1] + "
        "fib[n - 2]]]", s)
    assert run("fib[90]", s) == 2880067194370816120
    assert len(run("DownValues[fib]", s).args) == 92  # 91 values stored + the rule


def test_plain_recursion():
    s = Session()
    run(f"Set[fac[0], 1]; SetDelayed[fac[{N}], n fac[n - 1]]", s)
    assert run("fac[10]", s) == 3628800


def test_sequence_patterns_in_definitions():
    s = Session()
    run("SetDelayed[len[Pattern[x, BlankNullSequence[]]], Length[{x}]]", s)
    assert run("{len[], len[1], len[1, 2, 3]}", s).tolist() == [0, 1, 3]


def test_optional_argument_default():
    s = Session()
    run(f"SetDelayed[f[{X}, Optional[Pattern[y, Blank[]], 10]], x + y]", s)
    assert run("{f[1], f[1, 2]}", s).tolist() == [11, 3]


def test_pattern_test_in_definition():
    s = Session()
    run("SetDelayed[sq[PatternTest[Pattern[x, Blank[]], NumberQ]], x^2]", s)
    assert run("sq[3]", s) == 9
    assert text("sq[a]", s) == "sq[a]"


def test_options_and_option_value():
    s = Session()
    run("Set[Options[lin], {Size -> 3, Act -> Ramp}]", s)
    run(f"SetDelayed[lin[{X}, OptionsPattern[]], {{x, OptionValue[Size], OptionValue[Act]}}]", s)
    assert text("lin[1]", s) == "{1, 3, Ramp}"
    assert text("lin[1, Size -> 7]", s) == "{1, 7, Ramp}"
    assert text("lin[1, {Act -> Tanh}, Size -> 2]", s) == "{1, 2, Tanh}"
    assert text("Options[lin]", s) == "{Size -> 3, Act -> Ramp}"


def test_option_value_of_an_unknown_option_is_an_error():
    s = Session()
    run("Set[Options[g], {a -> 1}]", s)
    run("SetDelayed[g[OptionsPattern[]], OptionValue[b]]", s)
    with pytest.raises(NetDSLError, match="OptionValue::optnf"):
        run("g[]", s)


def test_options_of_a_builtin():
    assert "BatchSize" in text("Options[NetTrain]")


def test_clear_removes_definitions_but_clearall_also_attributes():
    s = Session()
    run(f"SetDelayed[f[{X}], x]; SetAttributes[f, Listable]; Clear[f]", s)
    assert text("f[1]", s) == "f[1]"
    assert text("Attributes[f]", s) == "{Listable}"
    run("ClearAll[f]", s)
    assert text("Attributes[f]", s) == "{}"


def test_clear_by_name_pattern():
    s = Session()
    run("ab1 = 1; ab2 = 2; cd = 3; Clear[\"ab*\"]", s)
    assert text("{ab1, ab2, cd}", s) == "{ab1, ab2, 3}"


def test_listable_user_function_threads_over_lists():
    s = Session()
    run(f"SetAttributes[f, Listable]; SetDelayed[f[{X}], x + 1]", s)
    assert text("f[{1, 2, 3}]", s) == "{2, 3, 4}"
    assert text("f[{a, b}]", s) == "{1 + a, 1 + b}"


def test_hold_all_user_function_gets_unevaluated_arguments():
    s = Session()
    run(f"SetAttributes[h, HoldAll]; SetDelayed[h[{X}], Hold[x]]", s)
    assert text("h[1 + 1]", s) == "Hold[1 + 1]"
    run(f"SetAttributes[hf, HoldFirst]; SetDelayed[hf[{X}, Pattern[y, Blank[]]], Hold[x, y]]", s)
    assert text("hf[1 + 1, 2 + 2]", s) == "Hold[1 + 1, 4]"


def test_attributes_of_a_builtin_and_set_attributes_refused_for_it():
    assert "HoldAll" in text("Attributes[Module]")
    with pytest.raises(NetDSLError, match="SetAttributes::write"):
        run("SetAttributes[Plus, Listable]")


def test_defining_a_builtin_is_refused():
    with pytest.raises(NetDSLError, match="Set::write"):
        run(f"SetDelayed[Length[{X}], 0]")


def test_list_assignment():
    s = Session()
    run("Set[{a, b}, {1, 2}]", s)
    assert run("a + b", s) == 3
    with pytest.raises(NetDSLError, match="Set::shape"):
        run("Set[{a, b}, {1, 2, 3}]", s)


def test_return_leaves_the_definition():
    s = Session()
    run(f"SetDelayed[f[{X}], CompoundExpression[If[x > 0, Return[\"pos\"]], \"other\"]]", s)
    assert run("f[1]", s) == "pos"
    assert run("f[-1]", s) == "other"


def test_subvalues():
    s = Session()
    run(f"SetDelayed[adder[Pattern[k, Blank[]]][{X}], x + k]", s)
    assert run("adder[2][3]", s) == 5


def test_function_values_still_apply():
    s = Session()
    run("sq = Function[u, u^2]", s)
    assert run("sq[4]", s) == 16


def test_message_usage_is_kept_and_read_back():
    s = Session()
    run("Set[MessageName[f, \"usage\"], \"f[x] doubles x.\"]", s)
    assert run("MessageName[f, \"usage\"]", s) == "f[x] doubles x."


def test_definition_lhs_arguments_are_evaluated():
    s = Session()
    run("i = 3; Set[t[i], \"three\"]", s)
    assert run("t[3]", s) == "three"


def test_orderless_user_attribute_in_matching():
    s = Session()
    run("SetAttributes[o, Orderless]; SetDelayed[o[1, Pattern[x, Blank[]]], x]", s)
    assert text("o[q, 1]", s) == "q"


def test_names_in_contexts_are_separate_symbols():
    """Contexts are namespaces: Foo`x is not Global`x (tests/test_contexts.py has more)."""
    s = Session()
    ev = s.evaluator
    ev.evaluate(Expr(S("Set"), S("Foo`x"), 5))
    assert text("x", s) == "x"
    assert ev.evaluate(S("Foo`x")) == 5 and run("Foo`x", s) == 5
    run(f"SetDelayed[g[{X}], 2 x]", s)
    assert ev.evaluate(Expr(S("Global`g"), 4)) == 8
    assert text("Foo`g[4]", s) == "Foo`g[4]"


def test_upset_attaches_the_rule_to_the_argument():
    s = Session()
    assert run("area[sq] ^= 4; area[sq]", s) == 4
    assert text("area[tri]", s) == "area[tri]"
    assert run("perimeter[square[a_]] ^:= 4 a; perimeter[square[3]]", s) == 12
    assert text("DownValues[perimeter]", s) == "{}"


def test_tag_set():
    s = Session()
    assert run("f /: g[f, x_] := x + 1; g[f, 2]", s) == 3
    assert run("f /: f[1] = 7; f[1]", s) == 7  # tag is the head: an ordinary definition


def test_unset_removes_one_value_or_definition():
    s = Session()
    assert text("x = 1; x =.; x", s) == "x"
    run("h[1] = 2; h[n_] := 0", s)
    assert text("h[1] =.; {h[1], h[5]}", s) == "{0, 0}"
    assert text("h[n_] =.; h[5]", s) == "h[5]"
    assert text("Quiet[nothing =.]", s) == "$Failed"


def test_options_pattern_with_its_own_defaults():
    s = Session()
    run('k[OptionsPattern[{"A" -> 0}]] := OptionValue["A"]', s)
    assert text('{k[], k["A" -> 3]}', s) == "{0, 3}"
    run('Options[base] = {"B" -> 5}; j[OptionsPattern[base]] := OptionValue["B"]', s)
    assert text('{j[], j["B" -> 1]}', s) == "{5, 1}"
    run('Options[m] = {"A" -> 1}; m[x_, opts : OptionsPattern[]] := '
        '{x, OptionValue[m, {opts}, "A"]}', s)
    assert text('{m[0], m[0, "A" -> 7]}', s) == "{{0, 1}, {0, 7}}"
