"""Median, Quantile, Covariance, Correlation, Standardize, MinMax, BinCounts, Norm,
Normalize, Outer, Inner (builtins/statistics.py).

Expected values come from the definitions written out here (Quantile by Wolfram's
formula, Covariance as the unbiased sum over n - 1 in exact Fractions), Python's
``statistics`` module, NumPy's ``linalg.norm``/``corrcoef``, or Wolfram's documentation
examples where said.
"""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

import numpy as np
import pytest

from values import close, error, exact, py, run, text


def wl(values) -> str:
    """Wolfram text for a list of Python numbers (Fractions as p/q)."""
    def one(v):
        if isinstance(v, Fraction):
            return f"({v.numerator}/{v.denominator})"
        if isinstance(v, list):
            return wl(v)
        return repr(v).replace("e", "*^")   # 1e-05 is 1*^-05 in Wolfram text
    return "{" + ", ".join(one(v) for v in values) + "}"


# ---------------------------------------------------------------- Median
@pytest.mark.parametrize("data", [[1, 2, 3], [1, 2, 3, 4], [5, 1, 4, 2, 3, 9], [7],
                                  [Fraction(1, 2), Fraction(1, 3)], [2 ** 70, 1, 5]])
def test_median_exact_is_pythons_median(data):
    expected = Fraction(statistics.median([Fraction(v) for v in data]))
    exact(run(f"Median[{wl(data)}]"), int(expected) if expected.denominator == 1 else expected)


def test_median_forms():
    exact(run("Median[{1, 2, 3, 4}]"), Fraction(5, 2))      # mean of the middle two, exact
    exact(run("Median[{1., 2., 3., 4.}]"), 2.5)
    exact(run("Median[{{1, 2}, {3, 4}, {5, 7}}]"), [3, 4])  # column by column
    exact(run("Median[<|a -> 1, b -> 5, c -> 3|>]"), 3)     # an association's values
    v = np.random.default_rng(1).normal(size=10001)
    assert run("Median[x]".replace("x", wl(v.tolist()))) == np.median(v)
    error("Median[{}]", "Median", "argx")
    assert text("Median[{a, b}]") == "Median[{a, b}]"


# ---------------------------------------------------------------- Quantile
def quantile_by_definition(data, p, a=0, b=0, c=1, d=0):
    """Wolfram's Quantile: s[Floor[r]] + (s[Ceiling[r]] - s[Floor[r]]) (c + d FractionalPart[r]),
    r = a + (n + b) p, indices clamped to 1..n."""
    s, n = sorted(data), len(data)
    r = a + (n + b) * p
    fl, ce = math.floor(r), math.ceil(r)
    lo, hi = s[min(max(fl, 1), n) - 1], s[min(max(ce, 1), n) - 1]
    return lo + (hi - lo) * (c + d * (r - fl))


@pytest.mark.parametrize("p", [Fraction(0), Fraction(1, 10), Fraction(1, 4), Fraction(1, 3),
                               Fraction(1, 2), Fraction(3, 4), Fraction(9, 10), Fraction(1)])
@pytest.mark.parametrize("params", [(0, 0, 1, 0), (0, 0, 0, 1), (Fraction(1, 2), 0, 0, 1),
                                    (0, 1, 0, 1), (1, -1, 0, 1), (Fraction(1, 2), 0, 0, 0)])
def test_quantile_matches_its_definition(p, params):
    data = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    a, b, c, d = params
    spec = f"{{{{{wl([a])[1:-1]}, {b}}}, {{{c}, {d}}}}}"
    got = run(f"Quantile[{wl(data)}, {p.numerator}/{p.denominator}, {spec}]")
    expected = quantile_by_definition(data, p, a, b, c, d)
    assert Fraction(got) == Fraction(expected)


def test_quantile_defaults_and_forms():
    # the default {{0, 0}, {1, 0}} always gives an element of the data
    exact(run("Quantile[{1, 2, 3, 4}, 1/2]"), 2)
    exact(run("Quantile[Range[8], {1/4, 1/2, 3/4}]"), [2, 4, 6])
    exact(run("Quantile[{1, 2, 3, 4}, 0.3]"), 2)
    exact(run("Quantile[{{1, 10}, {2, 20}, {3, 30}}, 1/2]"), [2, 20])   # per column
    # Median is Quantile[data, 1/2, {{1/2, 0}, {0, 1}}] (Wolfram's documentation)
    for data in ([1, 2, 3, 4], [5, 1, 4, 2, 3], [2, 8, 8, 9, 11, 40]):
        assert run(f"Quantile[{wl(data)}, 1/2, {{{{1/2, 0}}, {{0, 1}}}}]") == \
            run(f"Median[{wl(data)}]")
    error("Quantile[{1, 2}, 2]", "Quantile", "qntf")
    error("Quantile[{1, 2}, 1/2, {1, 2}]", "Quantile", "argx")
    error("Quantile[{}, 1/2]", "Quantile", "argx")


# ---------------------------------------------------------------- Covariance, Correlation
def cov_by_definition(x, y):
    n = len(x)
    mx, my = Fraction(sum(x), n), Fraction(sum(y), n)
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / (n - 1)


def test_covariance_is_unbiased_and_exact():
    x, y = [1, 2, 3, 5], [1, 2, 4, 3]
    exact(run(f"Covariance[{wl(x)}, {wl(y)}]"), cov_by_definition(x, y))
    exact(run("Covariance[{1, 2, 3}, {1, 2, 4}]"), Fraction(3, 2))
    m = [[1, 2], [3, 5], [4, 4]]
    cols = list(zip(*m))
    expected = [[cov_by_definition(cols[i], cols[j]) for j in range(2)] for i in range(2)]
    assert py(run(f"Covariance[{wl(m)}]")) == expected
    # huge integers stay exact
    big = [2 ** 62, 2 ** 62 + 3, 5]
    assert run(f"Covariance[{wl(big)}, {wl(big)}]") == cov_by_definition(big, big)
    # reals: NumPy's unbiased covariance
    v = np.random.default_rng(2).normal(size=(50, 3))
    close(run(f"Covariance[{wl(v.tolist())}]"), np.cov(v, rowvar=False, ddof=1))
    close(run(f"Covariance[{wl(v[:, 0].tolist())}, {wl(v[:, 1].tolist())}]"),
          np.cov(v[:, 0], v[:, 1], ddof=1)[0, 1])


def test_correlation():
    v = np.random.default_rng(3).normal(size=(40, 3))
    close(run(f"Correlation[{wl(v[:, 0].tolist())}, {wl(v[:, 2].tolist())}]"),
          np.corrcoef(v[:, 0], v[:, 2])[0, 1])
    close(run(f"Correlation[{wl(v.tolist())}]"), np.corrcoef(v, rowvar=False))
    exact(run("Correlation[{1, 2, 3}, {2, 4, 6}]"), 1)      # exact when rational
    exact(run("Correlation[{1, 2, 3}, {3, 2, 1}]"), -1)
    assert run("Correlation[{1, 2, 3}, {1, 2, 4}]") == pytest.approx(
        float(cov_by_definition([1, 2, 3], [1, 2, 4])) / math.sqrt(1 * (7 / 3)))


def test_covariance_errors():
    error("Covariance[{1, 2}, {1, 2, 3}]", "Covariance", "vctmat")
    error("Covariance[{1}, {2}]", "Covariance", "argx")
    error("Covariance[{1, 2, 3}]", "Covariance", "argx")   # one argument needs a matrix
    assert text("Covariance[{a, b}, {1, 2}]") == "Covariance[{a, b}, {1, 2}]"


# ---------------------------------------------------------------- Standardize, MinMax
def test_standardize():
    exact(run("Standardize[{1, 2, 3}]"), [-1, 0, 1])        # exact: the deviation is 1
    v = np.array([1.0, 2.0, 4.0, 8.5])
    close(run(f"Standardize[{wl(v.tolist())}]"), (v - v.mean()) / v.std(ddof=1))
    m = np.array([[1.0, 2.0], [3.0, 5.0], [5.0, 11.0]])
    close(run(f"Standardize[{wl(m.tolist())}]"), (m - m.mean(0)) / m.std(0, ddof=1))
    exact(run("Standardize[{1, 2, 3}, Mean, 1 &]"), [-1, 0, 1])
    error("Standardize[{2, 2, 2}]", "Standardize", "argx")


def test_min_max():
    exact(run("MinMax[{3, 1, 2}]"), [1, 3])
    exact(run("MinMax[{3, 1, 2}, 1]"), [0, 4])
    exact(run("MinMax[{3, 1, 2}, {1, 2}]"), [0, 5])
    exact(run("MinMax[{3, 1, 2}, Scaled[1/2]]"), [0, 4])
    exact(run("MinMax[{{3, 1}, {2, 9}}]"), [1, 9])
    error("MinMax[{1, 2}, x]", "MinMax", "argx")


# ---------------------------------------------------------------- BinCounts
def counts_by_loop(data, lo, dx, n):
    out = [0] * n
    for x in data:
        k = math.floor((x - lo) / dx)
        if 0 <= k < n:
            out[k] += 1
    return out


def test_bin_counts():
    data = [1, 3, 2, 1, 4, 5, 6, 2]
    exact(run(f"BinCounts[{wl(data)}]"), [2, 2, 1, 1, 1, 1])   # Wolfram's example
    exact(run(f"BinCounts[{wl(data)}, 2]"), counts_by_loop(data, 0, 2, 4))
    exact(run(f"BinCounts[{wl(data)}, {{0, 10, 5}}]"), counts_by_loop(data, 0, 5, 2))
    exact(run(f"BinCounts[{wl(data)}, {{2, 4, 1}}]"), [2, 1])  # outside values not counted
    exact(run("BinCounts[{1.5, 2.5, 0.1, 7.}, {{0, 1, 2, 3}}]"), [1, 1, 1])
    v = np.random.default_rng(4).normal(size=2000)
    got = run(f"BinCounts[{wl(v.tolist())}, {{-3, 3, 1/2}}]")
    exact(got, counts_by_loop(v.tolist(), -3, 0.5, 12))
    error("BinCounts[{1, 2}, -1]", "BinCounts", "argx")
    error("BinCounts[{1, 2}, {0, 10^30, 1}]", "General", "tnsrmaxsz")


# ---------------------------------------------------------------- Norm, Normalize
def test_norm():
    exact(run("Norm[{3, 4}]"), 5)
    exact(run("Norm[-3]"), 3)
    exact(run("Norm[{1, 2, 3}, 1]"), 6)
    exact(run("Norm[{1, -5, 3}, Infinity]"), 5)
    exact(run("Norm[{3/5, 4/5}]"), 1)
    v = np.array([1.0, -2.0, 2.5])
    for p in (1, 2, 3, 2.5):
        assert run(f"Norm[{wl(v.tolist())}, {p}]") == pytest.approx(np.linalg.norm(v, p))
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert run("Norm[{{1, 2}, {3, 4}}]") == pytest.approx(np.linalg.norm(m, 2))
    exact(run("Norm[{{1, 2}, {3, 4}}, 1]"), 6)
    exact(run("Norm[{{1, 2}, {3, 4}}, Infinity]"), 7)
    assert run("Norm[{{1, 2}, {3, 4}}, \"Frobenius\"]") == pytest.approx(np.linalg.norm(m))
    error("Norm[{1, 2}, 1/2]", "Norm", "argx")


def test_normalize():
    exact(run("Normalize[{3, 4}]"), [Fraction(3, 5), Fraction(4, 5)])
    exact(run("Normalize[{0, 0}]"), [0, 0])
    close(run("Normalize[{1., 1.}]"), [2 ** -0.5, 2 ** -0.5])
    exact(run("Normalize[{1, 2, 2}, Total]"), [Fraction(1, 5), Fraction(2, 5), Fraction(2, 5)])


# ---------------------------------------------------------------- Outer, Inner
def test_outer():
    exact(run("Outer[Times, {1, 2}, {3, 4}]"), [[3, 4], [6, 8]])
    assert text("Outer[f, {a, b}, {x, y}]") == "{{f[a, x], f[a, y]}, {f[b, x], f[b, y]}}"
    exact(run("Outer[Plus, {{1, 2}, {3, 4}}, {10, 20}]"),
          [[[11, 21], [12, 22]], [[13, 23], [14, 24]]])
    exact(run("Outer[Times, {1, 2}, {1.5}]"), [[1.5], [3.0]])
    exact(run("Outer[Times, {2^62}, {4}]"), [[2 ** 64]])       # exact beyond int64
    a, b = np.arange(300), np.arange(200)
    got = run("Outer[Times, Range[0, 299], Range[0, 199]]")
    assert isinstance(got, np.ndarray) and np.array_equal(got, np.multiply.outer(a, b))
    assert text("Outer[List, {1, 2}, {a}, {x, y}]") == \
        "{{{{1, a, x}, {1, a, y}}}, {{{2, a, x}, {2, a, y}}}}"
    error("Outer[Times, Range[10^5], Range[10^5], Range[10^5]]", "General", "tnsrmaxsz")
    error("Outer[f, 1, {2}]", "Outer", "argx")


def test_inner():
    exact(run("Inner[Times, {1, 2}, {3, 4}, Plus]"), 11)
    assert text("Inner[f, {a, b}, {x, y}, g]") == "g[f[a, x], f[b, y]]"
    assert text("Inner[f, {{1, 2}, {3, 4}}, {x, y}, g]") == \
        "{g[f[1, x], f[2, y]], g[f[3, x], f[4, y]]}"
    assert text("Inner[f, {x, y}, {{1, 2}, {3, 4}}, g]") == \
        "{g[f[x, 1], f[y, 3]], g[f[x, 2], f[y, 4]]}"
    exact(run("Inner[Times, {{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}]"), [[19, 22], [43, 50]])
    exact(run("Inner[Plus, {1, 2}, {3, 4}, Times]"), (1 + 3) * (2 + 4))
    error("Inner[f, {1, 2}, {1, 2, 3}, g]", "Inner", "incom")


def test_hostile_arguments_give_netdsl_errors():
    # found by a fuzz run over the new built-ins: each is a netdsl message, never Python's
    error("Norm[{1, 2}, {1, 2}]", "Norm", "argx")
    exact(run("BinCounts[{1, 2, 3}, 10^30]"), [3])          # one bin [0, 10^30)
    error("BinCounts[{-1, 2}, 1.*^308]", "BinCounts", "argx")
    error("BinCounts[{1, 2, 3}, {{}}]", "BinCounts", "argx")
    assert text("Outer[{1, 2}, {1, 2}]") == "{{1, 2}[1], {1, 2}[2]}"   # a list as f, as Wolfram


def test_quantiles_of_reals_by_partial_sort_match_the_definition():
    m = np.random.default_rng(5).normal(size=(501, 3))
    for p in (0.1, 0.5, 0.77):
        for a, b, c, d in ((0, 0, 1, 0), (0, 0, 0, 1), (0.5, 0, 0, 1)):
            got = run(f"Quantile[{wl(m.tolist())}, {p}, {{{{{a}, {b}}}, {{{c}, {d}}}}}]")
            expected = [quantile_by_definition(list(col), p, a, b, c, d) for col in m.T]
            assert np.allclose(got, expected, rtol=0, atol=1e-12)
