"""Display wrappers (NumberForm, ScientificForm, TableForm, MatrixForm, Grid, HoldForm, in
builtins/forms.py and textforms.py) and evaluation control (ReleaseHold, Evaluate,
Unevaluated, Assert).

Expected texts are written out by hand; number texts from Python's formatting of the
same digits. Wolfram's documentation examples where said.
"""

from __future__ import annotations

import io

from netdsl import Session
from netdsl.expr import Symbol, input_form, output_form
from values import error, exact, run, text


def shown(src: str, s: Session | None = None) -> str:
    return output_form(run(src, s))


# ---------------------------------------------------------------- number forms
def test_number_form_digits():
    assert shown("NumberForm[3.14159265, 3]") == "3.14"
    assert shown("NumberForm[N[Pi], 10]") == "3.141592654"
    assert shown("NumberForm[{3.14159, 2.71828}, 3]") == "{3.14, 2.72}"
    assert shown("NumberForm[2., {5, 2}]") == "2.00"             # f digits after the point
    assert shown("NumberForm[12.3456, {6, 1}]") == "12.3"
    assert shown("NumberForm[12345, 2]") == "12345"              # Integers print in full
    assert shown("NumberForm[1/3, 2]") == "1/3"
    # it evaluates to itself, the number inside untouched
    assert input_form(run("NumberForm[3.14159, 3]")) == "NumberForm[3.14159, 3]"
    assert run("NumberForm[3.14159, 3][[1]]") == 3.14159
    assert run('ToString[NumberForm[2.71828, 2]]') == "2.7"
    error("NumberForm[1., 0]", "NumberForm", "argx")


def test_scientific_form():
    assert shown("ScientificForm[12345.]") == "1.2345*10^4"
    assert shown("ScientificForm[0.5]") == "5.*10^-1"
    assert shown("ScientificForm[0.000123456, 3]") == "1.23*10^-4"
    assert shown("ScientificForm[1.5]") == "1.5"
    assert shown("ScientificForm[{12345., 7}]") == "{1.2345*10^4, 7}"
    error("ScientificForm[1., -2]", "ScientificForm", "argx")


# ---------------------------------------------------------------- tables
def test_table_form_lines_up_columns():
    assert shown("TableForm[{{1, 2}, {300, 4}}]") == "1     2\n\n300   4"
    assert shown("TableForm[{1, 22, 3}]") == "1\n22\n3"            # a vector: a column
    assert shown("MatrixForm[{{1, 22}, {333, 4}}]") == "1     22\n\n333   4"
    assert shown("Grid[{{a, bb}, {ccc, d}}]") == " a  bb\nccc d"
    assert shown("TableForm[{{1.5, x}, {2, \"s\"}}]") == "1.5   x\n\n2     s"
    assert input_form(run("TableForm[{{1, 2}}]")) == "TableForm[{{1, 2}}]"
    assert run("ToString[TableForm[{{1, 2}, {3, 4}}]]") == "1   2\n\n3   4"
    assert shown("TableForm[x]") == "TableForm[x]"                 # nothing to lay out


def test_tables_print_at_the_repl():
    from netdsl.repl import format_out
    lines = format_out(1, run("TableForm[{{1, 2}, {3, 4}}]")).splitlines()
    assert [line.rstrip() for line in lines] == ["Out[1]= 1   2", "", "        3   4"]


# ---------------------------------------------------------------- holding
def test_hold_form_prints_its_contents():
    assert input_form(run("HoldForm[1 + 1]")) == "HoldForm[1 + 1]"
    assert shown("HoldForm[1 + 1]") == "1 + 1"
    assert run("ToString[HoldForm[2 + 3]]") == "2 + 3"


def test_release_hold():
    exact(run("ReleaseHold[Hold[1 + 2]]"), 3)
    assert text("ReleaseHold[f[Hold[1 + 2]]]") == "f[3]"        # Wolfram's example
    assert text("ReleaseHold[Hold[Hold[1 + 2]]]") == "Hold[1 + 2]"  # one layer only
    exact(run("ReleaseHold[HoldForm[2 3]]"), 6)
    exact(run("ReleaseHold[5]"), 5)
    assert text("ReleaseHold[Hold[1, 2]]") == "Sequence[1, 2]"


def test_evaluate_and_unevaluated():
    assert text("Hold[Evaluate[1 + 1]]") == "Hold[2]"
    assert text("Hold[Evaluate[1 + 1], 1 + 1]") == "Hold[2, 1 + 1]"
    exact(run("Evaluate[1 + 1]"), 2)
    exact(run("Length[Unevaluated[1 + 1]]"), 2)                  # Plus[1, 1] has 2 parts
    exact(run("Length[1 + 1]"), 0)
    assert text("Hold[Unevaluated[1 + 1]]") == "Hold[Unevaluated[1 + 1]]"
    assert text("Unevaluated[1 + 1]") == "Unevaluated[1 + 1]"
    s = Session(stdout=io.StringIO())
    run("SetAttributes[f, HoldAll]; f[x_] := Hold[x]", s)
    assert text("f[Evaluate[2 + 2]]", s) == "Hold[4]"


def test_assert_is_off_by_default():
    assert run("Assert[1 > 2]") is Symbol("Null")
    s = Session(stdout=io.StringIO())
    run("n = 0; Assert[n++; False]", s)
    exact(run("n", s), 0)                       # the test is not even evaluated


def test_assert_with_an_assert_function():
    s = Session(stdout=io.StringIO())
    run("failed = {}; $AssertFunction = (AppendTo[failed, #] &)", s)
    assert run("Assert[1 < 2]", s) is Symbol("Null")
    assert text("failed", s) == "{}"
    run("Assert[1 > 2]", s)
    assert text("failed", s) == "{HoldComplete[Assert[1 > 2]]}"
    assert (s.messages[-1].symbol, s.messages[-1].tag) == ("Assert", "asrtf")


def test_huge_digit_counts_print_what_a_real_holds():
    assert shown("NumberForm[2.5, 10^20]") == "2.5"
    assert shown("ScientificForm[2.5, 10^30]") == "2.5"
    assert shown("NumberForm[0.5, {3, 10^6}]").startswith("0.5000")
