"""Mod, Quotient, IntegerDigits, IntegerString, FromDigits (builtins/integers.py).

Expected values: the examples of Wolfram's documentation pages (said so), or Python's own
integer arithmetic (``//``, ``%``, ``int(s, b)``, ``format``) written out in the test.
"""

from __future__ import annotations

import io
import math
from fractions import Fraction

import numpy as np
import pytest

from netdsl import Session
from netdsl.expr import Symbol
from values import error, exact, py, run, text


# ---------------------------------------------------------------- Mod
@pytest.mark.parametrize("src, expected", [
    ("Mod[5, 3]", 2),                 # Wolfram's basic example
    ("Mod[5, 3, 1]", 2),              # "offset to start with 1"
    ("Mod[-5, 3]", 1),                # the sign of the modulus
    ("Mod[5, -3]", -1),
    ("Mod[-5, -3]", -2),
    ("Mod[6, 3, 1]", 3),              # in 1 <= x < 4
    ("Mod[10, 3, -1]", 1),
    ("Mod[2^100, 7]", pow(2, 100, 7)),
    ("Mod[7/2, 2]", Fraction(3, 2)),  # Rationals stay exact
    ("Mod[-7/2, 2]", Fraction(1, 2)),
])
def test_mod_exact(src, expected):
    exact(run(src), expected)


@pytest.mark.parametrize("m, n", [(5.5, 2), (-5.5, 2), (5.5, -2), (7.25, 0.5), (-0.1, 1)])
def test_mod_reals_follow_m_minus_n_floor(m, n):
    got = run(f"Mod[{m}, {n}]")
    assert isinstance(got, float)
    assert got == pytest.approx(m - n * math.floor(m / n), abs=1e-12)


def test_mod_with_offset_lies_in_d_to_d_plus_n():
    for m in range(-12, 13):
        for n in (3, -3, 5):
            for d in (-2, 0, 1):
                got = run(f"Mod[{m}, {n}, {d}]")
                assert got == m - n * ((m - d) // n)
                lo, hi = sorted((d, d + n))
                assert lo <= got <= hi and got != d + n


def test_mod_is_listable_on_packed_arrays():
    s = Session(stdout=io.StringIO())
    m = np.arange(-50, 50, dtype=np.int64)
    got = run("Mod[Range[-50, 49], 7]", s)
    assert isinstance(got, np.ndarray) and got.dtype == np.int64
    assert got.tolist() == [int(x) % 7 for x in m]
    exact(run("Mod[{5, 6, 7}, {2, 4, 5}]"), [1, 2, 2])
    exact(run("Mod[{1, 2.5}, 2]"), [1, 0.5])                 # mixed: element by element
    exact(run("Mod[{{5, 6}, {7, 8}}, {2, 3}]"), [[1, 0], [1, 2]])  # leading axes, as Listable
    big = run("Mod[{2^70, 3}, 10]")
    exact(big, [2 ** 70 % 10, 3])


def test_mod_and_quotient_by_zero():
    s = Session(stdout=io.StringIO())
    assert run("Mod[5, 0]", s) is Symbol("Indeterminate")
    assert (s.messages[-1].symbol, s.messages[-1].tag) == ("Mod", "indet")
    assert text("Mod[{4, 5}, {2, 0}]") == "{0, Indeterminate}"
    s = Session(stdout=io.StringIO())
    assert run("Quotient[5, 0]", s) is Symbol("ComplexInfinity")
    assert s.messages[-1].text == "Infinite expression Quotient[5, 0] encountered."


def test_mod_symbolic_and_wrong_counts():
    assert text("Mod[x, 3]") == "Mod[x, 3]"
    assert error("Mod[1]", "Mod", "argx").startswith("Mod[1] cannot be evaluated: 1 argument")


# ---------------------------------------------------------------- Quotient
@pytest.mark.parametrize("m, n", [(7, 2), (-7, 2), (7, -2), (-7, -2), (2 ** 80 + 5, 3)])
def test_quotient_is_floor_division(m, n):
    exact(run(f"Quotient[{m}, {n}]"), m // n)


def test_quotient_of_reals_is_an_integer():
    exact(run("Quotient[7.5, 2]"), 3)        # Floor[3.75], an Integer as in Wolfram
    exact(run("Quotient[-7.5, 2]"), -4)
    exact(run("Quotient[{7.5, 9.}, 2.]"), [3, 4])
    exact(run("Quotient[10, 3, 1]"), 3)      # Floor[(10 - 1)/3]
    exact(run("Quotient[Range[-6, 6], 4]"), [k // 4 for k in range(-6, 7)])
    # m == n Quotient[m, n] + Mod[m, n], Wolfram's identity
    for m in range(-9, 10):
        for n in (4, -4):
            assert run(f"{n} Quotient[{m}, {n}] + Mod[{m}, {n}]") == m


# ---------------------------------------------------------------- digits
@pytest.mark.parametrize("src, expected", [
    ("IntegerDigits[58127]", [5, 8, 1, 2, 7]),       # Wolfram's example
    ("IntegerDigits[58127, 16]", [14, 3, 0, 15]),    # Wolfram's example (hexadecimal)
    ("IntegerDigits[58127, 2, 20]", [int(c) for c in format(58127, "020b")]),
    ("IntegerDigits[-58127]", [5, 8, 1, 2, 7]),      # the digits of the absolute value
    ("IntegerDigits[12345, 10, 3]", [3, 4, 5]),      # truncated to the last digits
    ("IntegerDigits[0]", [0]),
    ("IntegerDigits[{6, 7, 8}, 2]", [[1, 1, 0], [1, 1, 1], [1, 0, 0, 0]]),
    ("IntegerDigits[2^70, 8]", [int(c) for c in format(2 ** 70, "o")]),
    ("IntegerDigits[10^30 + 7, 7]", None),
])
def test_integer_digits(src, expected):
    got = py(run(src))
    if expected is None:   # base 7 of a big number: back through Python's int
        assert sum(d * 7 ** i for i, d in enumerate(reversed(got))) == 10 ** 30 + 7
        return
    assert got == expected


@pytest.mark.parametrize("src, expected", [
    ("IntegerString[58127]", "58127"),
    ("IntegerString[58127, 16]", "e30f"),                 # Wolfram's example
    ("IntegerString[58127, 2, 20]", format(58127, "020b")),
    ("IntegerString[-7]", "7"),
    ("IntegerString[35, 36]", "z"),
    ("IntegerString[12345, 10, 3]", "345"),
])
def test_integer_string(src, expected):
    assert run(src) == expected


def test_from_digits_inverts_integer_digits():
    exact(run("FromDigits[{5, 8, 1, 2, 7}]"), 58127)
    exact(run("FromDigits[{1, 0, 1, 1}, 2]"), 0b1011)
    exact(run("FromDigits[\"e30f\", 16]"), 58127)
    exact(run("FromDigits[\"1011\", 2]"), 11)
    exact(run("FromDigits[{5, 12}]"), 62)     # digits may exceed the base: 5*10 + 12
    exact(run("FromDigits[{1, 2}, 1/2]"), Fraction(5, 2))
    for n in (0, 1, 99, 2 ** 65 + 3):
        for b in (2, 3, 10, 16):
            assert run(f"FromDigits[IntegerDigits[{n}, {b}], {b}]") == n


def test_digit_errors_and_limits():
    error("IntegerDigits[10, 1]", "IntegerDigits", "ibase")
    error("IntegerString[10, 37]", "IntegerString", "basf")
    error("IntegerDigits[10, 10, -1]", "IntegerDigits", "argx")
    error("IntegerDigits[1, 10, 10^15]", "General", "tnsrmaxsz")   # refused, not allocated
    error("FromDigits[\"1z!\", 36]", "FromDigits", "argx")
    error("FromDigits[Table[9, 10^5]]", "General", "ovfl")
    assert text("IntegerDigits[x]") == "IntegerDigits[x]"
    assert text("FromDigits[{a, b}]") == "FromDigits[{a, b}]"
