"""Scoping and control (issue 9, D): Module, Block, With; loops; Nest, Fold, FixedPoint;
Which, Switch; Return, Break, Continue, Catch/Throw; slots; composition; x++ and x += d."""

from __future__ import annotations

import pytest

from netdsl import Session
from netdsl.errors import NetDSLError
from netdsl.expr import input_form


def run(src: str, s: Session | None = None):
    return (s or Session()).evaluate(src)


def text(src: str, s: Session | None = None) -> str:
    return input_form(run(src, s))


def test_module_locals_are_new_symbols():
    s = Session()
    assert run("x = 7; Module[{x = 1}, x = x + 1; x]", s) == 2
    assert run("x", s) == 7
    assert text("Module[{y}, y]", s).startswith("y$")


def test_module_closure_keeps_its_variable():
    s = Session()
    run("counter = Module[{n = 0}, Function[n = n + 1]]", s)
    run("counter[]; counter[]", s)
    assert run("counter[]", s) == 3


def test_module_initial_values_are_evaluated_outside():
    s = Session()
    assert run("x = 5; Module[{x = x + 1}, x]", s) == 6


def test_block_gives_global_symbols_temporary_values():
    s = Session()
    run("a = 1; show := a", s)
    assert run("Block[{a = 2}, show]", s) == 2
    assert run("show", s) == 1


def test_block_restores_after_an_error():
    s = Session()
    run("a = 1", s)
    with pytest.raises(NetDSLError):
        run("Block[{a = 2}, Part[{1}, 5]]", s)
    assert run("a", s) == 1


def test_with_substitutes_before_evaluation():
    assert text("With[{x = 2}, Hold[x]]") == "Hold[2]"
    assert run("With[{x = 2}, {y = x + 1}, x y]") == 6


def test_do_loop_and_nested_iterators():
    s = Session()
    run("t = 0; Do[t = t + i j, {i, 3}, {j, 2}]", s)
    assert run("t", s) == (1 + 2 + 3) * (1 + 2)
    assert text("Do[1, 3]", s) == "Null"


def test_while_and_for():
    s = Session()
    assert run("n = 1; While[n < 100, n = 2 n]; n", s) == 128
    assert run("t = 0; For[i = 1, i <= 4, i = i + 1, t = t + i]; t", s) == 10


def test_break_and_continue():
    s = Session()
    run("t = {}; Do[If[i == 2, Continue[]]; If[i == 4, Break[]]; t = Append[t, i], {i, 6}]", s)
    assert text("t", s) == "{1, 3}"


def test_return_inside_do_gives_its_value():
    assert run("Do[If[i^2 > 10, Return[i]], {i, 10}]") == 4


def test_nest_fold_fixed_point():
    assert text("Nest[f, x, 3]") == "f[f[f[x]]]"
    assert text("NestList[f, x, 2]") == "{x, f[x], f[f[x]]}"
    assert text("Fold[f, x, {a, b}]") == "f[f[x, a], b]"
    assert text("Fold[f, {a, b, c}]") == "f[f[a, b], c]"
    assert text("FoldList[Plus, 0, {1, 2, 3}]") == "{0, 1, 3, 6}"
    assert run("FixedPoint[Function[u, Floor[u/2]], 100]") == 0
    assert text("FixedPointList[Function[u, Floor[u/2]], 4]") == "{4, 2, 1, 0, 0}"
    assert run("NestWhile[Function[u, u + 3], 1, Function[u, u < 10]]") == 10


def test_which():
    assert run("x = 5; Which[x < 0, \"neg\", x == 0, \"zero\", True, \"pos\"]") == "pos"
    assert text("Which[False, 1]") == "Null"


def test_catch_and_throw():
    assert run("Catch[Do[If[i > 2, Throw[i]], {i, 10}]; \"none\"]") == 3
    assert run("Catch[Throw[1, a]; 2, a]") == 1
    with pytest.raises(NetDSLError, match="Throw::nocatch"):
        run("Throw[1]")


def test_uncaught_return_and_break_at_top_level():
    assert text("Return[3]") == "Return[3]"
    assert text("Break[]") == "Break[]"


def test_named_slots_read_an_association():
    assert run("Function[Slot[\"a\"] + Slot[\"b\"]][<|\"a\" -> 1, \"b\" -> 2|>]") == 3
    assert text("Function[Slot[\"z\"]][<|\"a\" -> 1|>]") == 'Missing["KeyAbsent", "z"]'
    with pytest.raises(NetDSLError, match="Function::slota"):
        run("Function[Slot[\"a\"]][1]")


def test_slot_sequence():
    assert text("Function[f[SlotSequence[1]]][1, 2, 3]") == "f[1, 2, 3]"
    assert text("Function[{SlotSequence[2]}][1, 2, 3]") == "{2, 3}"


def test_composition_and_map_apply():
    assert text("Composition[f, g][x]") == "f[g[x]]"
    assert text("RightComposition[f, g][x]") == "g[f[x]]"
    assert text("MapApply[f, {{1, 2}, {3, 4}}]") == "{f[1, 2], f[3, 4]}"
    assert text("Identity[x]") == "x"


def test_increment_decrement_and_assignment_operators():
    s = Session()
    run("k = 5", s)
    assert run("Increment[k]", s) == 5 and run("k", s) == 6
    assert run("PreIncrement[k]", s) == 7
    assert run("Decrement[k]", s) == 7 and run("k", s) == 6
    assert run("PreDecrement[k]", s) == 5
    assert run("AddTo[k, 10]", s) == 15
    assert run("SubtractFrom[k, 5]", s) == 10
    assert run("TimesBy[k, 3]", s) == 30
    assert run("DivideBy[k, 2]", s) == 15


def test_increment_of_a_part_and_append_to():
    s = Session()
    run("v = {1, 2}; AddTo[Part[v, 2], 5]; AppendTo[v, 9]; PrependTo[v, 0]", s)
    assert text("v", s) == "{0, 1, 7, 9}"


def test_increment_without_a_value_is_an_error():
    with pytest.raises(NetDSLError, match="Increment::rvalue"):
        run("Increment[nothing]")


def test_scan_evaluates_for_side_effects():
    s = Session()
    assert text("t = 0; Scan[Function[u, t = t + u], {1, 2, 3}]", s) == "Null"
    assert run("t", s) == 6


def test_riffle_and_map_indexed():
    assert text('Riffle[{"a", "b", "c"}, "-"]') == '{"a", "-", "b", "-", "c"}'
    assert text("Riffle[{a, b}, {x, y}]") == "{a, x, b, y}"
    assert text("MapIndexed[f, {a, b}]") == "{f[a, {1}], f[b, {2}]}"
