"""Arithmetic, elementary functions, statistics (arith.py) and evaluation control (core.py).

Every expected value is written out by hand or computed here with Python's
math module / NumPy from its definition, never copied from netdsl's output.
"""

from __future__ import annotations

import io
import math
from fractions import Fraction

import pytest

from netdsl import Session
from netdsl.expr import Symbol
from values import close, error, exact, run, text




T, F = Symbol("True"), Symbol("False")


# ---------------------------------------------------------------- Plus, Times, Power
@pytest.mark.parametrize("src, expected", [
    ("1 + 2", 3),
    ("1 + 2.5", 3.5),
    ("1. + 2", 3.0),
    ("3 - 5", -2),
    ("Plus[]", 0),
    ("2 * 3", 6),
    ("2 3", 6),
    ("Times[]", 1),
    ("6/3", 2),             # an exact integer division stays an Integer
    ("-6/3", -2),
    ("7/2", Fraction(7, 2)),  # an exact Rational, as in Wolfram
    ("10/4", Fraction(5, 2)),
    ("4/2.", 2.0),
    ("Divide[9, 3]", 3),
    ("Subtract[5, 8]", -3),
    ("2^10", 1024),
    ("2^-1", Fraction(1, 2)),
    ("2^-2", Fraction(1, 4)),
    ("(-2)^3", -8),
    ("(-2)^-1", Fraction(-1, 2)),
    ("4^0.5", 2.0),
    ("2.5^2", 6.25),
    ("2^100", 2 ** 100),    # exact big integers
    ("-{1, 2}", [-1, -2]),
])
def test_plus_times_power(src, expected):
    exact(run(src), expected)


def test_inexact_results():
    close(run("1/3 + 0."), 1 / 3)
    close(run("2^0.5"), math.sqrt(2))
    close(run("2^(1/2)"), math.sqrt(2))


def test_symbolic_arithmetic_stays_unevaluated():
    assert text("x + 1") == "1 + x"
    assert text("2 x") == "2*x"
    assert text("x^2") == "x^2"
    assert text("x^1") == "x"
    assert text("0 x") == "0"
    assert text("{a, b} + 1") == "{1 + a, 1 + b}"
    assert text("{1, 2} + {a, b}") == "{1 + a, 2 + b}"


def test_listable_broadcasting():
    exact(run("{{1, 2}, {3, 4}} + {10, 20}"), [[11, 12], [23, 24]])  # along the leading axis
    exact(run("{10, 20} + {{1, 2}, {3, 4}}"), [[11, 12], [23, 24]])
    exact(run("{{1, 2}, {3, 4}} * {2, 3}"), [[2, 4], [9, 12]])
    exact(run("{1, 2} + 1"), [2, 3])
    exact(run("{1, 2} * {3, 4}"), [3, 8])
    exact(run("{2, 4}/2"), [1, 2])
    exact(run("{1, 2}/2"), [Fraction(1, 2), 1])
    exact(run("{2, 4}/{1, 2}"), [2, 2])
    exact(run("{1, 2}^2"), [1, 4])
    exact(run("2^{1, 2, 3}"), [2, 4, 8])
    exact(run("{1, 2}^{2, 3}"), [1, 8])
    exact(run("{2, 4}^-1"), [Fraction(1, 2), Fraction(1, 4)])
    exact(run("{1, 2.5} + 1"), [2, 3.5])  # each element keeps its kind


def test_unequal_lengths():
    assert error("{1, 2} + {1, 2, 3}", "Thread", "tdlen") == \
        "Objects of unequal length in Plus[<list of dimensions {2}>, " \
        "<list of dimensions {3}>] cannot be combined."
    error("{{1, 2}, {3, 4}} + {1, 2, 3}", "Thread", "tdlen")
    error("{1, 2} * {1, 2, 3}", "Thread", "tdlen")
    error("{a, b} + {1, 2, 3}", "Thread", "tdlen")


def test_division_by_zero_and_complex_results():
    # x/0 is ComplexInfinity with the message Power::infy, and evaluation goes on
    for src, value, zero in [("1/0", "ComplexInfinity", "0"), ("5/0", "ComplexInfinity", "0"),
                             ("1./0.", "ComplexInfinity", "0."), ("0^-1", "ComplexInfinity", "0"),
                             ("{1, 2}/0", "{ComplexInfinity, ComplexInfinity}", "0"),
                             ("{1., 2.}/{1., 0.}", "{1., ComplexInfinity}", "0."),
                             ("{0, 1}^-1", "{ComplexInfinity, 1}", "0")]:
        s = Session(stdout=io.StringIO())
        assert text(src, s) == value, src
        assert [(m.symbol, m.tag, m.text) for m in s.messages][:1] == \
            [("Power", "infy", f"Infinite expression 1/{zero} encountered.")], src
    assert error("(-8)^(1/3)", "Power", "cmplx").startswith("(-8)^(1/3)")
    error("(-2)^0.5", "Power", "cmplx")
    error("{-1, 4}^0.5", "Power", "cmplx")  # lists follow the numbers' rule


def test_power_argument_count():
    assert error("Power[2, 3, 2]", "Power", "argx") == \
        "Power[2, 3, 2] cannot be evaluated: 3 arguments given. Expected a ^ b."


# ---------------------------------------------------------------- elementary functions
def test_sqrt():
    exact(run("Sqrt[16]"), 4)                # exact for perfect squares
    close(run("Sqrt[2]"), math.sqrt(2))
    exact(run("Sqrt[4.]"), 2.0)
    exact(run("Sqrt[{4, 9}]"), [2.0, 3.0])
    assert error("Sqrt[-1]", "Sqrt", "dmval").startswith("Sqrt[-1] is outside the real domain")
    assert error("Sqrt[{-1, 4}]", "Sqrt", "dmval").startswith("Sqrt[{-1, 4}] is outside")
    assert text("Sqrt[x]") == "Sqrt[x]"


@pytest.mark.parametrize("src, expected", [
    ("Exp[1.]", math.e),
    ("Exp[{0., 2.}]", [1.0, math.exp(2)]),
    ("Log[E]", 1.0),
    ("Log[{1, 10}]", [0.0, math.log(10)]),
    ("Sin[Pi/2]", 1.0),
    ("Cos[Pi]", -1.0),
    ("Tanh[0.5]", math.tanh(0.5)),
    ("LogisticSigmoid[0]", 0.5),
    ("LogisticSigmoid[{-2., 2.}]", [1 / (1 + math.exp(2)), 1 / (1 + math.exp(-2))]),
    ("Erf[0.5]", math.erf(0.5)),
    ("Erf[{0.1, -1.}]", [math.erf(0.1), math.erf(-1.0)]),
    ("N[Pi]", math.pi),
    ("N[1/3]", 1 / 3),
    ("Degree", math.pi / 180),
])
def test_elementary(src, expected):
    close(run(src), expected)


@pytest.mark.parametrize("src, expected", [
    ("Exp[0]", 1),
    ("Log[1]", 0),
    ("Sin[0]", 0),
    ("Cos[0]", 1),
    ("Tanh[0]", 0),
    ("Abs[-3]", 3),
    ("Abs[-2.5]", 2.5),
    ("Abs[{-1, 2}]", [1, 2]),       # integers stay integers
    ("Abs[{-1.5, 2.}]", [1.5, 2.0]),
    ("Ramp[-3]", 0),
    ("Ramp[{-1, 2}]", [0, 2]),
    ("Ramp[{-1.5, 2.5}]", [0.0, 2.5]),
    ("N[2]", 2.0),
    ("N[{1, 2}]", [1.0, 2.0]),
])
def test_elementary_exact(src, expected):
    exact(run(src), expected)


def test_log_domain():
    error("Log[0]", "Log", "dmval")
    error("Log[-1.]", "Log", "dmval")
    error("Log[{1, 0}]", "Log", "dmval")


# ---------------------------------------------------------------- rounding, N, Chop
@pytest.mark.parametrize("src, expected", [
    ("Round[2.5]", 2),        # halves go to the even neighbour, as in Wolfram
    ("Round[3.5]", 4),
    ("Round[-2.5]", -2),
    ("Round[2.6]", 3),
    ("Round[{0.5, 1.5, 2.5, -0.5}]", [0, 2, 2, 0]),
    ("Round[7]", 7),
    ("Floor[-1.5]", -2),
    ("Floor[2.9]", 2),
    ("Floor[{1.5, -0.5}]", [1, -1]),
    ("Ceiling[1.2]", 2),
    ("Ceiling[-1.2]", -1),
    ("Ceiling[{1.2, 3}]", [2, 3]),
    ("Chop[1.*^-12]", 0),
    ("Chop[0.5]", 0.5),
    ("Chop[1.*^-5, 1.*^-4]", 0),
    ("Chop[3]", 3),
])
def test_rounding_and_chop(src, expected):
    exact(run(src), expected)


def test_rounding_errors_and_symbols():
    assert text("Floor[Infinity]") == "Floor[Infinity]"
    assert text("Round[x]") == "Round[x]"
    assert text("N[{1, x}]") == "{1., x}"


# ---------------------------------------------------------------- Max, Min, Dot
def test_max_min():
    exact(run("Max[1, 2, {3, 7}]"), 7)
    exact(run("Max[{{1, 5}, {3, 4}}]"), 5)
    exact(run("Min[{4, 2.5}]"), 2.5)
    exact(run("Min[3, -1, 2]"), -1)
    assert text("Max[]") == "DirectedInfinity[-1]"  # -Infinity
    assert text("Min[{}]") == "DirectedInfinity[1]"
    assert text("Max[x, 1]") == "Max[x, 1]"


def test_dot():
    exact(run("{1, 2} . {3, 4}"), 11)
    exact(run("{{1, 2}, {3, 4}} . {1, 1}"), [3, 7])
    exact(run("{1, 1} . {{1, 2}, {3, 4}}"), [4, 6])
    exact(run("{{1, 2}, {3, 4}} . {{5, 6}, {7, 8}}"), [[19, 22], [43, 50]])
    close(run("{0.5, 2} . {2, 0.25}"), 1.5)
    assert error("{1, 2} . {3, 4, 5}", "Dot", "dotsh") == \
        "Tensors of dimensions {2} and {3} cannot be contracted."


# ---------------------------------------------------------------- statistics
def test_total_mean_variance():
    exact(run("Total[{1, 2, 3}]"), 6)
    exact(run("Total[{{1, 2}, {3, 4}}]"), [4, 6])
    exact(run("Total[{{1, 2}, {3, 4}}, 2]"), 10)
    exact(run("Total[{}]"), 0)
    exact(run("Total[{1.5, 2}]"), 3.5)
    assert text("Total[{a, b, 1}]") == "1 + a + b"
    exact(run("Mean[{1, 2, 3, 4}]"), Fraction(5, 2))  # exact, as in Wolfram
    exact(run("Mean[{2, 4}]"), 3)
    exact(run("Mean[{{1, 2}, {3, 4}}]"), [2, 3])
    close(run("Variance[{1, 2, 3, 4}]"), 5 / 3)              # unbiased: divides by n - 1
    close(run("StandardDeviation[{1, 2, 3, 4}]"), math.sqrt(5 / 3))
    close(run("Variance[{{1, 2}, {3, 5}}]"), [2.0, 4.5])    # per column
    data = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    mean = sum(data) / len(data)
    var = sum((x - mean) ** 2 for x in data) / (len(data) - 1)
    close(run("Variance[{2., 4., 4., 4., 5., 5., 7., 9.}]"), var)
    close(run("StandardDeviation[{2., 4., 4., 4., 5., 5., 7., 9.}]"), math.sqrt(var))


def test_statistics_errors():
    assert error("Mean[{}]", "Mean", "argx") == \
        "Mean[{}] cannot be evaluated: the list is empty. Expected Mean[list]."
    error("Variance[{1}]", "Variance", "argx")
    error("StandardDeviation[{1}]", "StandardDeviation", "argx")


# ---------------------------------------------------------------- comparisons and logic
@pytest.mark.parametrize("src, expected", [
    ("1 < 2", T), ("2 < 1", F), ("1 < 2 < 3", T), ("1 < 3 < 2", F),
    ("3 > 2 >= 2", T), ("2 <= 1", F), ("1 == 1.", T), ("1 != 2", T), ("1 != 1", F),
    ("{1, 2} == {1, 2}", T), ("{1, 2} == {1., 2.}", T), ("{1, 2} == {1, 2, 3}", F),
    ('"a" == "a"', T), ('"a" == "b"', F), ("a == a", T),
    ("Inequality[1, Less, 2, LessEqual, 2]", T),
    ("True && False", F), ("True && True", T), ("False || True", T), ("False || False", F),
    ("!True", F), ("!False", T), ("And[]", T), ("Or[]", F),
])
def test_comparisons_and_logic(src, expected):
    assert run(src) is expected


def test_symbolic_comparisons_and_logic():
    assert text("x == y") == "x == y"
    assert text("1 < x") == "1 < x"
    assert text("x && True") == "x"
    assert text("x || False") == "x"
    assert text("!x") == "!x"


def test_and_or_short_circuit():
    s = Session(stdout=io.StringIO())
    assert run('False && Print["no"]', s) is F
    assert run('True || Print["no"]', s) is T
    assert s.stdout.getvalue() == ""


def test_if():
    assert text("If[1 < 2, a, b]") == "a"
    assert text("If[1 > 2, a, b]") == "b"
    assert run("If[False, a]") is Symbol("Null")
    assert text("If[x, a, b]") == "If[x, a, b]"
    s = Session(stdout=io.StringIO())
    run('If[True, 1, Print["not evaluated"]]', s)
    assert s.stdout.getvalue() == ""


# ---------------------------------------------------------------- assignment
def test_set_setdelayed_clear():
    s = Session()
    assert run("x = 5", s) == 5
    assert run("x^2", s) == 25
    assert run("y := x + 1", s) is Symbol("Null")
    assert run("y", s) == 6
    assert run("x = 10; y", s) == 11  # := re-evaluates each time
    assert run("z = x + 1; x = 0; z", s) == 11  # = evaluated once
    assert run("Clear[x]; x", s) is Symbol("x")
    assert text("y", s) == "1 + x"
    assert run("a = b = 3; a + b", s) == 6
    assert error("Plus = 1", "Set", "wrsym", s) == \
        "Symbol Plus is a built-in and cannot be assigned to."
    error("Clear[3]", "Clear", "argx", s)


# ---------------------------------------------------------------- functions
def test_pure_functions():
    s = Session()
    assert run("f = #^2 &; f[3]", s) == 9
    assert run("(#1 + 10 #2 &)[1, 2]", s) == 21
    assert run("Function[x, x^2][4]", s) == 16
    assert run("Function[{x, y}, x - y][10, 4]", s) == 6
    assert run("Function[x, Function[y, x + y]][1][2]", s) == 3
    assert run("Function[x, Function[x, x]][1][2]", s) == 2  # the inner x shadows the outer
    assert run("x = 100; Function[x, x + 1][1]", s) == 2
    assert run("g = Function[{a, b}, a b]; g[3, 4]", s) == 12
    exact(run("#^2 & /@ {1, 2, 3}", s), [1, 4, 9])
    exact(run("Map[Function[v, 2 v], {1, 2}]", s), [2, 4])
    exact(run("Apply[Function[{p, q}, p - q], {5, 3}]", s), 2)
    exact(run("Plus @@ {1, 2, 3}", s), 6)


def test_function_errors():
    assert error("(#3 &)[1]", "Function", "slotn") == \
        "Slot number 3 in #3 & cannot be filled from 1 argument."
    assert error("Function[{a, b}, a b][2]", "Function", "fpct") == \
        "Function[{a, b}, a*b] called with 1 argument; 2 expected."
    error("Function[{1}, 2][3]", "Function", "flpar")


# ---------------------------------------------------------------- output, timing, structure
def test_print_and_echo():
    s = Session(stdout=io.StringIO())
    assert run('Print["a", 1, " ", 2.5]', s) is Symbol("Null")
    assert run("Echo[5]", s) == 5
    assert run('Echo[{1, 2}, "v:"]', s).tolist() == [1, 2]
    assert run("Print[x + 1]", s) is Symbol("Null")
    assert s.stdout.getvalue() == "a1 2.5\n>> 5\n>> v: {1, 2}\n1 + x\n"


def test_timing():
    for fn in ("Timing", "AbsoluteTiming"):
        value = run(f"{fn}[Total[Range[1000]]]")
        seconds, result = value.args
        assert isinstance(seconds, float) and seconds >= 0
        assert result == 500500
    assert run("x = 0; AbsoluteTiming[x = 3]; x") == 3


@pytest.mark.parametrize("src, expected", [
    ("Head[1]", "Integer"), ("Head[1.]", "Real"), ('Head["s"]', "String"),
    ("Head[{1}]", "List"), ("Head[Range[3]]", "List"), ("Head[f[x]]", "f"),
    ("Head[x]", "Symbol"), ("Head[<||>]", "Association"), ("Head[a -> b]", "Rule"),
    ("Head[1 + x]", "Plus"),
])
def test_head(src, expected):
    assert run(src) is Symbol(expected)


@pytest.mark.parametrize("src, expected", [
    ("1 === 1", T), ("1 === 1.", F), ("{1, 2} === {1, 2}", T),
    ("Range[3] === {1, 2, 3}", T), ("{1, 2} === {1., 2.}", F), ('"a" === "a"', T),
    ("f[x] === f[x]", T), ("f[x] === f[y]", F), ("x =!= y", T), ("1 =!= 1", F),
])
def test_same_q(src, expected):
    assert run(src) is expected


def test_association_lookup_by_call():
    s = Session()
    run('a = <|"key" -> 1, "other" -> {2, 3}|>', s)
    assert run('a["key"]', s) == 1
    exact(run('a["other"]', s), [2, 3])
    assert text('a["missing"]', s) == 'Missing["KeyAbsent", "missing"]'
