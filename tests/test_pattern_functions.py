"""Functions that use patterns: /., //., Replace, Cases, DeleteCases, MatchQ, FreeQ, Count,
Position, MemberQ, Select, and their operator forms (issue 9, C). FullForm patterns."""

from __future__ import annotations

from netdsl import Session
from netdsl.expr import input_form

X = "Pattern[x, Blank[]]"
XI = "Pattern[x, Blank[Integer]]"


def text(src: str, s: Session | None = None) -> str:
    return input_form((s or Session()).evaluate(src))


def test_replace_all_replaces_every_matching_part():
    assert text(f"ReplaceAll[{{1, 2, a, {{3}}}}, Rule[{XI}, x + 10]]") == "{11, 12, a, {13}}"


def test_replace_all_tries_the_whole_expression_first_and_does_not_look_inside():
    assert text("ReplaceAll[f[g[1]], Rule[g[Blank[]], 0]]") == "f[0]"
    assert text("ReplaceAll[{1, 2}, Rule[List[BlankSequence[]], done]]") == "done"


def test_replace_all_first_rule_wins_at_each_part():
    assert text("ReplaceAll[{1, 2}, {Rule[1, a], Rule[Blank[Integer], b]}]") == "{a, b}"


def test_replace_all_result_is_evaluated():
    assert text(f"ReplaceAll[Hold[1], RuleDelayed[Hold[{X}], x + 1]]") == "2"
    assert text(f"ReplaceAll[f[3], Rule[f[{X}], x + 1]]") == "4"


def test_rule_delayed_evaluates_right_side_after_substitution():
    assert text(f"ReplaceAll[{{1, 2}}, RuleDelayed[{XI}, x^2]]") == "{1, 4}"


def test_rule_delayed_with_condition():
    assert text(f"ReplaceAll[{{1, -2, 3}}, RuleDelayed[{XI}, Condition[0, x < 0]]]") == \
        "{1, 0, 3}"


def test_replace_all_with_a_list_of_rule_lists_gives_each_result():
    assert text("ReplaceAll[x, {{Rule[x, 1]}, {Rule[x, 2]}}]") == "{1, 2}"


def test_replace_all_in_association_values():
    assert text("ReplaceAll[<|\"a\" -> 1|>, Rule[1, 2]]") == '<|"a" -> 2|>'


def test_replace_repeated_until_no_change():
    s = Session()
    assert text(f"ReplaceRepeated[f[f[f[a]]], Rule[f[{X}], x]]", s) == "a"
    # /. applies once
    assert text(f"ReplaceAll[f[f[f[a]]], Rule[f[{X}], x]]", s) == "f[f[a]]"


def test_replace_only_at_level_zero_by_default():
    assert text("Replace[{1, 2}, Rule[1, a]]") == "{1, 2}"
    assert text("Replace[1, Rule[1, a]]") == "a"
    assert text("Replace[{1, 2}, Rule[1, a], {1}]") == "{a, 2}"


def test_cases_at_level_one_and_with_a_rule():
    assert text("Cases[{1, a, 2.5, 3, {4}}, Blank[Integer]]") == "{1, 3}"
    assert text(f"Cases[{{1, a, 3}}, Rule[{XI}, x^2]]") == "{1, 9}"
    assert text("Cases[{1, {2, {3}}}, Blank[Integer], Infinity]") == "{1, 2, 3}"


def test_delete_cases():
    assert text("DeleteCases[{1, a, 2, b}, Blank[Integer]]") == "{a, b}"
    assert text("DeleteCases[{1, {1, 2}}, 1, Infinity]") == "{{2}}"


def test_match_q():
    assert text("MatchQ[{1, 2}, List[Repeated[Blank[Integer]]]]") == "True"
    assert text("MatchQ[{1, a}, List[Repeated[Blank[Integer]]]]") == "False"


def test_free_q_looks_at_every_level_and_heads():
    assert text("FreeQ[{1, {2, x}}, x]") == "False"
    assert text("FreeQ[{1, 2}, x]") == "True"
    assert text("FreeQ[f[1], f]") == "False"


def test_count_and_member_q():
    assert text("Count[{1, a, 2, b}, Blank[Symbol]]") == "2"
    assert text("Count[{1, {1}}, 1, Infinity]") == "2"
    assert text("MemberQ[{1, a}, Blank[Symbol]]") == "True"


def test_position_lists_paths_children_first():
    assert text("Position[{1, {1, 2}}, 1]") == "{{1}, {2, 1}}"
    assert text("Position[{a, b, a}, a]") == "{{1}, {3}}"
    assert text("Position[{a}, z]") == "{}"


def test_operator_forms():
    assert text("Map[f][{1, 2}]") == "{f[1], f[2]}"
    assert text("Apply[f][{1, 2}]") == "f[1, 2]"
    assert text("Select[EvenQ][{1, 2, 3, 4}]") == "{2, 4}"
    assert text("Cases[Blank[Integer]][{1, a}]") == "{1}"
    assert text("MatchQ[Blank[Integer]][1]") == "True"
    assert text("ReplaceAll[Rule[a, b]][{a, c}]") == "{b, c}"
    assert text("DeleteCases[1][{1, 2}]") == "{2}"
    assert text("Map[f]") == "Map[f]"


def test_select_with_pattern_test_criterion():
    assert text("Select[{1, -2, 3}, Positive]") == "{1, 3}"


def test_switch_uses_patterns():
    assert text("Switch[\"s\", Blank[Integer], int, Blank[String], str]") == "str"
    assert text("Switch[1.5, Blank[Integer], int]") == "Null"
