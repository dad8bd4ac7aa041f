"""Sign, UnitStep, KroneckerDelta, Boole, Xor, Between, Clip, Rescale (builtins/elementwise.py).

Expected values: Wolfram's documentation examples where said, else the definitions
written out here (Rescale: (x - min)/(max - min); Clip: min below, max above).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from netdsl.expr import Symbol
from values import error, exact, run, text

T, F = Symbol("True"), Symbol("False")


def test_sign_gives_integers():
    exact(run("Sign[-2.5]"), -1)           # an Integer even for a Real, as Wolfram
    exact(run("Sign[{-2, 0, 3}]"), [-1, 0, 1])
    exact(run("Sign[{-0.5, 0., 7.}]"), [-1, 0, 1])
    exact(run("Sign[-1/3]"), -1)
    exact(run("Sign[{1, -2.5}]"), [1, -1])
    assert text("Sign[x]") == "Sign[x]"
    big = run("Sign[RandomReal[{-1, 1}, 10^5]]")
    assert isinstance(big, np.ndarray) and big.dtype == np.int64 and set(big.tolist()) <= {-1, 1}


def test_unit_step():
    exact(run("UnitStep[{-1, 0, 1}]"), [0, 1, 1])    # UnitStep[0] is 1, as Wolfram
    exact(run("UnitStep[-0.5]"), 0)
    exact(run("UnitStep[1, -1]"), 0)                 # the product over the arguments
    exact(run("UnitStep[1, 2, 0]"), 1)
    exact(run("UnitStep[{1, -1}, {2, 2}]"), [1, 0])
    exact(run("UnitStep[]"), 1)


def test_kronecker_delta():
    exact(run("KroneckerDelta[1, 1]"), 1)
    exact(run("KroneckerDelta[1, 2]"), 0)
    exact(run("KroneckerDelta[0]"), 1)
    exact(run("KroneckerDelta[3]"), 0)
    exact(run("KroneckerDelta[1, 1., 1]"), 1)       # numerically equal
    exact(run("KroneckerDelta[{1, 2, 3}, 2]"), [0, 1, 0])
    exact(run("KroneckerDelta[a, a]"), 1)
    assert text("KroneckerDelta[a, b]") == "KroneckerDelta[a, b]"
    # the identity matrix from Table, as in Wolfram's examples
    exact(run("Table[KroneckerDelta[i, j], {i, 3}, {j, 3}]"), np.eye(3, dtype=int).tolist())


def test_boole_and_xor():
    exact(run("Boole[{True, False, True}]"), [1, 0, 1])
    assert text("Boole[{True, x}]") == "{1, Boole[x]}"
    exact(run("Total[Boole[Map[EvenQ, Range[10]]]]"), 5)
    assert run("Xor[True, False]") is T
    assert run("Xor[True, True]") is F
    assert run("Xor[True, True, True]") is T      # an odd number of True
    assert run("Xor[]") is F
    assert text("Xor[x, True]") == "Xor[x, True]"


def test_between():
    assert run("Between[2, {1, 3}]") is T
    assert run("Between[3, {1, 3}]") is T          # the ends are included
    assert run("Between[5, {1, 3}]") is F
    assert run("Between[5, {{0, 1}, {4, 6}}]") is T
    assert run("Between[{1, 3}][2.5]") is T        # the operator form
    assert run("Select[Range[10], Between[{3, 5}]]").tolist() == [3, 4, 5]
    assert text("Between[x, {1, 3}]") == "Between[x, {1, 3}]"
    error("Between[1, 2]", "Between", "argx")


def test_clip():
    exact(run("Clip[{-2, 0.5, 3}]"), [-1, 0.5, 1])         # default range {-1, 1}
    exact(run("Clip[5., {0, 3}]"), 3)                       # the bound as given
    exact(run("Clip[{1, 5, 9}, {2, 6}]"), [2, 5, 6])
    exact(run("Clip[{1., 5., 9.}, {2., 6.}, {-1., 10.}]"), [-1.0, 5.0, 10.0])
    exact(run("Clip[{-5, 0, 5}, {-1, 1}, {-7, 7}]"), [-7, 0, 7])
    assert text("Clip[{-5, 0, 5}, {-1, 1}, {a, b}]") == "{a, 0, b}"
    v = np.random.default_rng(0).normal(size=1000)
    got = run("Clip[x, {-0.5, 0.5}]".replace("x", "{" + ", ".join(repr(float(t)) for t in v) + "}"))
    assert np.array_equal(got, np.clip(v, -0.5, 0.5))
    error("Clip[1, {0}]", "Clip", "argx")


def test_rescale():
    exact(run("Rescale[5, {0, 10}]"), Fraction(1, 2))
    exact(run("Rescale[{1, 2, 3}]"), [0, Fraction(1, 2), 1])    # the list's own Min and Max
    exact(run("Rescale[2.5, {0, 10}, {-1, 1}]"), -0.5)
    exact(run("Rescale[{0, 5, 10}, {0, 10}, {100, 200}]"), [100, 150, 200])
    x = np.linspace(-3.0, 7.0, 11)
    got = run("Rescale[Range[-3., 7.], {-3, 7}]")
    assert np.allclose(got, (x + 3) / 10)
    assert text("Rescale[x, {0, 1}]") == "x"
    error("Rescale[1, {2, 2}]", "Rescale", "argx")
