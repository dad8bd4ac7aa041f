"""Descriptive statistics and vector functions: Median, Quantile, Covariance, Correlation,
Standardize, MinMax, BinCounts, Norm, Normalize, Outer, Inner.

Wolfram's definitions: for a matrix the statistics go column by column; Median of an
even count is the mean of the two middle elements; Quantile takes the parameters
``{{a, b}, {c, d}}`` (default ``{{0, 0}, {1, 0}}``, the inverse empirical CDF, so the
result is an element of the data): with ``r = a + (n + b) p`` the value is
``s[Floor[r]] + (s[Ceiling[r]] - s[Floor[r]]) (c + d FractionalPart[r])`` on the sorted
data s, indices clamped to 1..n; Covariance and Correlation are unbiased (divide by n - 1).
Exact data give exact results where the result is rational (a square root that is not
exact becomes a Real). Arithmetic goes through netdsl's own Plus/Times/Power on whole
arrays, so packed data stay vectorised and exact integers stay exact.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from .. import budget
from ..errors import EvaluationError
from ..expr import (Expr, Symbol, is_integer, is_list, is_number, list_items, list_length,
                    make_list, packed)
from ..printer import short
from .arith import _values_of, exact_sum
from .numeric import INT64_MAX, exact, int_bound, kind_of, numeric, result, to_float, to_object
from .registry import NOT_APPLICABLE, builtin, wrong_call

S = Symbol
PLUS, TIMES, POWER = S("Plus"), S("Times"), S("Power")


def _add(ev, a, b):
    return ev.call(PLUS, a, b)


def _sub(ev, a, b):
    return ev.call(PLUS, a, ev.call(TIMES, -1, b))


def _mul(ev, a, b):
    return ev.call(TIMES, a, b)


def _div(ev, a, b):
    return ev.call(TIMES, a, ev.call(POWER, b, -1))


def data_array(name: str, x: Any, call: Any) -> np.ndarray | None:
    """The numeric data of a statistic: a vector or a matrix (an association's values),
    as an int64, float64 or exact object array; None when not numeric (stays
    unevaluated); an error when empty."""
    x = _values_of(x)
    v = exact(x)
    if v is None and is_list(x):
        v = numeric(x)   # mixed Integer and Real elements: Reals
    if v is None or not isinstance(v, np.ndarray):
        return None
    if v.ndim not in (1, 2):
        raise wrong_call(name, call, f"{short(x)} is not a vector or a matrix")
    if v.shape[0] == 0:
        raise wrong_call(name, call, "the list is empty")
    return v


# ---------------------------------------------------------------- order statistics
@builtin("Median", "Median[list]", "the middle element (the mean of the two middle ones for an "
         "even count); column by column for a matrix; exact for exact data", args=1,
         section="Statistics")
def _median(ev, x):
    call = Expr(S("Median"), x)
    v = data_array("Median", x, call)
    if v is None:
        return NOT_APPLICABLE
    n = v.shape[0]
    s = order_statistics(v, [n // 2] if n % 2 else [n // 2 - 1, n // 2])
    if n % 2:
        return result(s[n // 2])
    if s.dtype.kind == "f":
        return result((s[n // 2 - 1] + s[n // 2]) / 2)
    return _mul(ev, _add(ev, result(s[n // 2 - 1]), result(s[n // 2])), Fraction(1, 2))


def _quantile_params(spec: Any, call: Any) -> tuple[Any, Any, Any, Any]:
    rows = list_items(spec) if is_list(spec) else []
    if len(rows) == 2 and all(is_list(r) and list_length(r) == 2 for r in rows):
        (a, b), (c, d) = list_items(rows[0]), list_items(rows[1])
        if all(is_number(t) for t in (a, b, c, d)):
            return a, b, c, d
    raise wrong_call("Quantile", call, f"{short(spec)} is not a parameter list {{{{a, b}}, "
                                       f"{{c, d}}}} of numbers")


def _floor_ceil(r: Any) -> tuple[int, int, Any]:
    if isinstance(r, float):
        fl = math.floor(r)
        return fl, math.ceil(r), r - fl
    fl = math.floor(r)
    return fl, math.ceil(r), r - fl


def order_statistics(v: np.ndarray, ranks: list[int]) -> np.ndarray:
    """``v`` along axis 0 with the elements of those 0-based ranks in their sorted places:
    a partial sort (NumPy's introselect) for machine numbers, a full sort for exact ones."""
    if v.dtype == object:
        return np.sort(v, axis=0)
    return np.partition(v, sorted(set(ranks)), axis=0)


def _ranks(n: int, p: Any, params: tuple[Any, Any, Any, Any]) -> tuple[int, int, Any]:
    """The 0-based ranks Floor[r] and Ceiling[r] (clamped) and FractionalPart[r]."""
    a, b, _, _ = params
    fl, ce, frac = _floor_ceil(a + (n + b) * p)
    return min(max(fl, 1), n) - 1, min(max(ce, 1), n) - 1, frac


def quantile_of(ev, s: np.ndarray, p: Any, params: tuple[Any, Any, Any, Any]) -> Any:
    """Quantile by Wolfram's formula (see the module), ``s`` holding the order statistics
    it needs in their sorted places."""
    _, _, c, d = params
    lo_rank, hi_rank, frac = _ranks(s.shape[0], p, params)
    lo, hi = result(s[lo_rank]), result(s[hi_rank])
    weight = c + d * frac
    if weight == 0:
        return lo
    if weight == 1:
        return hi
    return _add(ev, lo, _mul(ev, _sub(ev, hi, lo), weight))


@builtin("Quantile", ("Quantile[list, p]", "Quantile[list, {p1, p2, ...}]",
                      "Quantile[list, p, {{a, b}, {c, d}}]"),
         "the p-th quantile (default parameters {{0, 0}, {1, 0}}: an element of the list); "
         "column by column for a matrix", args=(2, 3), section="Statistics")
def _quantile(ev, x, p, spec=None):
    call = Expr(S("Quantile"), x, p, *([] if spec is None else [spec]))
    params = (0, 0, 1, 0) if spec is None else _quantile_params(spec, call)
    v = data_array("Quantile", x, call)
    if v is None:
        return NOT_APPLICABLE
    ps = list_items(p) if is_list(p) else [p]
    if not ps:      # Quantile[list, {}]: no quantiles
        return make_list([])
    for q in ps:
        if not (is_number(q) and 0 <= q <= 1):
            raise EvaluationError(f"Quantile specification {short(p)} should be a number or a "
                                  f"list of numbers between 0 and 1.", symbol="Quantile",
                                  tag="qntf")
    s = order_statistics(v, [k for q in ps for k in _ranks(v.shape[0], q, params)[:2]])
    values = [quantile_of(ev, s, q, params) for q in ps]
    return make_list(values) if is_list(p) else values[0]


# ---------------------------------------------------------------- covariance
def _as_matrix(v: np.ndarray) -> np.ndarray:
    return v.reshape(v.shape[0], 1) if v.ndim == 1 else v


def covariance(a: np.ndarray, b: np.ndarray) -> Any:
    """The unbiased covariance matrix of the columns of a and b (n x p, n x q): exact for
    exact data (Sum[x y] n - Sum[x] Sum[y], over n (n - 1)), float64 otherwise."""
    n = a.shape[0]
    if "f" in (kind_of(a), kind_of(b)):
        x, y = to_float(a), to_float(b)
        with np.errstate(all="ignore"):
            return packed((x - x.mean(axis=0)).T @ (y - y.mean(axis=0)) / (n - 1))
    if "O" in (kind_of(a), kind_of(b)) or int_bound(a) * int_bound(b) * n * n > INT64_MAX:
        a, b = to_object(a), to_object(b)
    cross = a.T @ b
    sa, sb = exact_sum(a, (0,)), exact_sum(b, (0,))
    if cross.dtype != object and int_bound(cross) * n + int_bound(sa) * int_bound(sb) > INT64_MAX:
        cross, sa, sb = to_object(cross), to_object(sa), to_object(sb)
    numerator = cross * n - np.multiply.outer(sa, sb)
    den = n * (n - 1)
    out = np.empty(numerator.shape, dtype=object)
    for idx, t in np.ndenumerate(numerator):
        out[idx] = Fraction(int(t) if not isinstance(t, Fraction) else t, den)
    return result(out)


def _pair(name: str, x: Any, y: Any, call: Any) -> tuple[np.ndarray, np.ndarray, bool] | None:
    a = data_array(name, x, call)
    b = a if y is None else data_array(name, y, call)
    if a is None or b is None:
        return None
    if a.shape[0] != b.shape[0]:
        raise EvaluationError(f"The arguments in {short(call)} do not have the same number "
                              f"of elements ({a.shape[0]} and {b.shape[0]}).", symbol=name,
                              tag="vctmat")
    if a.shape[0] < 2:
        raise wrong_call(name, call, "at least two elements are needed")
    scalar = (a.ndim == 1 and b.ndim == 1) if y is not None else False
    return a, b, scalar


@builtin("Covariance", ("Covariance[v1, v2]", "Covariance[m]", "Covariance[m1, m2]"),
         "the unbiased covariance (divides by n - 1) of two vectors, or the covariance matrix "
         "of a matrix's columns; exact for exact data", args=(1, 2), section="Statistics")
def _covariance(ev, x, y=None):
    got = _arguments("Covariance", x, y)
    if got is None:
        return NOT_APPLICABLE
    a, b, scalar = got
    cov = covariance(_as_matrix(a), _as_matrix(b))
    return _scalar_of(cov) if scalar else _shape_cov(cov, a, b)


def _arguments(name: str, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """Covariance's and Correlation's data (``_pair``); one argument must be a matrix."""
    call = Expr(S(name), x, *([] if y is None else [y]))
    got = _pair(name, x, y, call)
    if got is not None and y is None and got[0].ndim == 1:
        raise wrong_call(name, call, "one argument must be a matrix")
    return got


def _scalar_of(cov: Any) -> Any:
    return list_items(list_items(cov)[0])[0]


def _shape_cov(cov: Any, a: np.ndarray, b: np.ndarray) -> Any:
    """Covariance[m, v] is a vector, Covariance[v, m] too: drop the vector's axis."""
    if a.ndim == 1:
        return list_items(cov)[0]
    if b.ndim == 1:
        return make_list(list_items(row)[0] for row in list_items(cov))
    return cov


@builtin("Correlation", ("Correlation[v1, v2]", "Correlation[m]", "Correlation[m1, m2]"),
         "Pearson's correlation: Covariance over the product of the standard deviations",
         args=(1, 2), section="Statistics")
def _correlation(ev, x, y=None):
    got = _arguments("Correlation", x, y)
    if got is None:
        return NOT_APPLICABLE
    a, b, scalar = got
    ma, mb = _as_matrix(a), _as_matrix(b)
    cov = covariance(ma, mb)
    sa = _roots(ev, _diagonal(covariance(ma, ma)))
    sb = _roots(ev, _diagonal(covariance(mb, mb)))
    outer = _outer_times(ev, sa, sb)
    corr = _div(ev, cov, outer)
    return _scalar_of(corr) if scalar else _shape_cov(corr, a, b)


def _roots(ev, values: Any) -> Any:
    """Sqrt of each number: exact where the root is rational, else a Real."""
    return make_list(ev.call(S("Sqrt"), t) for t in list_items(values))


def _diagonal(m: Any) -> Any:
    rows = list_items(m)
    return make_list(list_items(r)[i] for i, r in enumerate(rows))


def _outer_times(ev, u: Any, v: Any) -> Any:
    return make_list(_mul(ev, x, v) for x in list_items(u))


@builtin("Standardize", ("Standardize[list]", "Standardize[list, f1, f2]"),
         "(x - Mean) / StandardDeviation (or f1[list] and f2[list]); column by column for a "
         "matrix; exact for exact data when the deviation is rational", args=(1, 3),
         section="Statistics")
def _standardize(ev, x, f1=None, f2=None):
    call = Expr(S("Standardize"), x, *[f for f in (f1, f2) if f is not None])
    v = data_array("Standardize", x, call)
    if v is None:
        return NOT_APPLICABLE
    data = result(v)
    center = ev.call(S("Mean"), data) if f1 is None else ev.call(f1, data)
    if f2 is None:
        if v.shape[0] < 2:
            raise wrong_call("Standardize", call, "at least two elements are needed")
        m = _as_matrix(v)
        variance = _diagonal(covariance(m, m))
        roots = _roots(ev, variance)
        scale = roots if v.ndim == 2 else list_items(roots)[0]
    else:
        scale = ev.call(f2, data)
    if (is_number(scale) and scale == 0) or (is_list(scale) and any(
            is_number(e) and e == 0 for e in list_items(scale))):
        raise wrong_call("Standardize", call, "the scale is 0 (all elements equal)")
    if v.ndim == 2:   # column by column: the columns lead after a transpose
        columns = ev.call(S("Transpose"), data)
        return ev.call(S("Transpose"), _div(ev, _sub(ev, columns, center), scale))
    return _div(ev, _sub(ev, data, center), scale)


@builtin("MinMax", ("MinMax[list]", "MinMax[list, d]", "MinMax[list, {dmin, dmax}]",
                    "MinMax[list, Scaled[s]]"),
         "{Min[list], Max[list]}, widened by d (or by s times the range)", args=(1, 2),
         section="Statistics")
def _min_max(ev, x, d=None):
    call = Expr(S("MinMax"), x, *([] if d is None else [d]))
    if not is_list(x) and not hasattr(x, "keys"):
        return NOT_APPLICABLE
    x = _values_of(x)
    lo, hi = ev.call(S("Min"), x), ev.call(S("Max"), x)
    if d is None:
        return make_list([lo, hi])
    if isinstance(d, Expr) and d.head is S("Scaled") and len(d.args) == 1:
        width = _mul(ev, d.args[0], _sub(ev, hi, lo))
        dlo = dhi = width
    elif is_list(d) and list_length(d) == 2:
        dlo, dhi = list_items(d)
    elif is_number(d):
        dlo = dhi = d
    else:
        raise wrong_call("MinMax", call, f"{short(d)} is not a padding d, {{dmin, dmax}} or "
                                         f"Scaled[s]")
    return make_list([_sub(ev, lo, dlo), _add(ev, hi, dhi)])


# ---------------------------------------------------------------- BinCounts
def _bin_edges(v: np.ndarray, spec: Any, call: Any) -> tuple[Any, Any, int] | np.ndarray:
    """(start, width, count) for equal bins, or the array of explicit edges."""
    if spec is None:
        spec = 1
    if is_number(spec):
        if not spec > 0:
            raise wrong_call("BinCounts", call, f"the bin width {short(spec)} is not positive")
        dx = spec
        lo = math.floor(Fraction(float(v.min())) / Fraction(dx)) * dx if v.size else 0
        hi = math.floor(Fraction(float(v.max())) / Fraction(dx)) * dx + dx if v.size else 0
        count = round((hi - lo) / dx)
        return lo, dx, count
    items = list_items(spec) if is_list(spec) else []
    if len(items) == 1 and is_list(items[0]):
        edges = numeric(items[0])
        if isinstance(edges, np.ndarray) and edges.ndim == 1 and edges.size >= 2 \
                and np.all(np.diff(edges) > 0):
            return to_float(edges)
    if len(items) == 3 and all(is_number(t) for t in items) and items[2] > 0:
        lo, hi, dx = items
        count = max(math.ceil(Fraction(hi - lo) / Fraction(dx)), 0) \
            if not isinstance(hi - lo, float) and not isinstance(dx, float) \
            else max(math.ceil((hi - lo) / dx - 1e-12), 0)
        return lo, dx, count
    raise wrong_call("BinCounts", call, f"{short(spec)} is not a bin width dx, {{xmin, xmax, "
                                        f"dx}} or {{{{b1, b2, ...}}}}")


@builtin("BinCounts", ("BinCounts[data]", "BinCounts[data, dx]",
                       "BinCounts[data, {xmin, xmax, dx}]", "BinCounts[data, {{b1, b2, ...}}]"),
         "how many elements fall in each bin [a, a + dx) (width 1 from Floor[Min], by default; "
         "elements outside the bins are not counted)", args=(1, 2), section="Statistics")
def _bin_counts(ev, x, spec=None):
    call = Expr(S("BinCounts"), x, *([] if spec is None else [spec]))
    v = exact(x)
    if v is None and is_list(x):
        v = numeric(x)
    if not isinstance(v, np.ndarray) or v.ndim != 1:
        if is_list(x) and list_length(x) == 0:
            v = np.zeros(0)
        else:
            return NOT_APPLICABLE
    try:
        bins = _bin_edges(v, spec, call)
    except (OverflowError, ValueError):   # bounds beyond machine numbers
        raise wrong_call("BinCounts", call, "the bins are beyond machine numbers") from None
    if isinstance(bins, np.ndarray):
        budget.check((len(bins),), 8, "a list of bin counts")
        idx = np.searchsorted(bins, to_float(v), side="right") - 1
        keep = (idx >= 0) & (idx < len(bins) - 1)
        return packed(np.bincount(idx[keep], minlength=len(bins) - 1).astype(np.int64))
    lo, dx, count = bins
    budget.check((count,), 8, "a list of bin counts")
    if count == 0:
        return Expr(S("List"))
    if kind_of(v) == "i" and is_integer(lo) and is_integer(dx) and abs(lo) < 2 ** 62 \
            and dx < 2 ** 62:
        idx = np.floor_divide(v - lo, dx)
    else:
        with np.errstate(all="ignore"):
            idx = np.floor((to_float(v) - float(lo)) / float(dx))
    keep = (idx >= 0) & (idx < count)
    return packed(np.bincount(idx[keep].astype(np.int64), minlength=count).astype(np.int64))


# ---------------------------------------------------------------- norms
@builtin("Norm", ("Norm[v]", "Norm[v, p]", "Norm[m]", "Norm[m, p]", "Norm[m, \"Frobenius\"]"),
         "the length Sqrt[Total[Abs[v]^2]] of a vector (the p-norm, Infinity for Max[Abs]); "
         "a matrix's 2-norm (largest singular value), its 1 or Infinity norms, or Frobenius",
         args=(1, 2), section="Statistics")
def _norm(ev, x, p=2):
    call = Expr(S("Norm"), x, *([] if is_integer(p) and p == 2 else [p]))
    if is_number(x):
        return ev.call(S("Abs"), x)
    v = exact(x)
    if v is None and is_list(x):
        v = numeric(x)
    if not isinstance(v, np.ndarray):
        return NOT_APPLICABLE
    frobenius = isinstance(p, str) and p == "Frobenius"
    if not (frobenius or p is S("Infinity") or (is_number(p) and p >= 1)):
        raise wrong_call("Norm", call, f"{short(p)} is not a number >= 1, Infinity or "
                                       f"\"Frobenius\"")
    if v.ndim > 2:
        raise wrong_call("Norm", call, "it is not a vector or a matrix")
    absv = ev.call(S("Abs"), result(v))
    if v.size == 0:
        return 0
    if v.ndim == 1 or frobenius:
        if frobenius and v.ndim == 1:
            raise wrong_call("Norm", call, "\"Frobenius\" is for matrices")
        if p is S("Infinity"):
            return ev.call(S("Max"), absv)
        q = 2 if frobenius else p
        total = ev.call(S("Total"), ev.call(POWER, absv, q), 2 if frobenius else 1)
        return total if q == 1 else ev.call(POWER, total, _reciprocal(q))
    if p == 1:   # the largest column sum
        return ev.call(S("Max"), ev.call(S("Total"), absv))
    if p is S("Infinity"):   # the largest row sum
        return ev.call(S("Max"), ev.call(S("Total"), ev.call(S("Transpose"), absv)))
    if p == 2:
        return float(np.linalg.norm(to_float(v), 2))
    raise wrong_call("Norm", call, "a matrix norm is 1, 2, Infinity or \"Frobenius\"")


def _reciprocal(q: Any) -> Any:
    return 1.0 / q if isinstance(q, float) else Fraction(1, 1) / Fraction(q)


@builtin("Normalize", ("Normalize[v]", "Normalize[v, f]"),
         "v / Norm[v] (f[v] as the norm); a zero vector stays as it is", args=(1, 2),
         section="Statistics")
def _normalize(ev, x, f=None):
    size = ev.call(S("Norm"), x) if f is None else ev.call(f, x)
    if not is_number(size):
        return NOT_APPLICABLE
    if size == 0:
        return x
    out = _div(ev, x, size)
    return out


# ---------------------------------------------------------------- Outer and Inner
def _leaves(x: Any) -> int:
    v = numeric(x) if is_list(x) else None
    if isinstance(v, np.ndarray):
        return int(v.size)
    if is_list(x):
        return sum(_leaves(a) for a in list_items(x))
    return 1


def _outer_general(ev, f: Any, lists: list[Any]) -> Any:
    first, rest = lists[0], lists[1:]
    if is_list(first):
        return make_list(_outer_general(ev, f, [a] + rest) for a in list_items(first))
    return _outer_rest(ev, f, [first], rest)


def _outer_rest(ev, f: Any, done: list[Any], rest: list[Any]) -> Any:
    if not rest:
        return ev.call(f, *done)
    head, tail = rest[0], rest[1:]
    if is_list(head):
        return make_list(_outer_rest(ev, f, done, [a] + tail) for a in list_items(head))
    return _outer_rest(ev, f, done + [head], tail)


def _level_count(x: Any, n: int) -> int:
    """How many parts of ``x`` Outer[..., n] combines: those at level n (or shallower)."""
    if n == 0 or not is_list(x):
        return 1
    return sum(_level_count(a, n - 1) for a in list_items(x)) if list_length(x) else 0


def _outer_levels(ev, f: Any, lists: list[Any], n: int) -> Any:
    """Outer[f, list1, list2, ..., n]: the parts of each list at level n are the elements
    combined (Outer[CosineDistance, rows, rows, 1] pairs whole rows)."""
    def expand(k: int, x: Any, depth: int, done: list[Any]) -> Any:
        if depth < n and is_list(x):
            return make_list(expand(k, a, depth + 1, done) for a in list_items(x))
        return step(k + 1, done + [x])

    def step(k: int, done: list[Any]) -> Any:
        if k == len(lists):
            return ev.call(f, *done)
        return expand(k, lists[k], 0, done)
    return step(0, [])


@builtin("CosineDistance", "CosineDistance[u, v]", "1 - u.v/(Norm[u] Norm[v]), for vectors",
         args=2, section="Statistics")
def _cosine_distance(ev, u, v):
    a, b = numeric(u), numeric(v)
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim == b.ndim == 1):
        return NOT_APPLICABLE
    if a.shape != b.shape:
        raise wrong_call("CosineDistance", Expr(S("CosineDistance"), u, v),
                         "the vectors have different lengths")
    norms = float(np.linalg.norm(a)) * float(np.linalg.norm(b))
    if norms == 0:
        return NOT_APPLICABLE
    return 1.0 - float(np.dot(a, b)) / norms


@builtin("Outer", ("Outer[f, list1, list2, ...]", "Outer[f, list1, list2, ..., n]"),
         "the generalised outer product: f of every combination of the lists' elements (at "
         "their lowest level, or at level n); NumPy for Times and Plus on numeric arrays",
         args=(2, None),
         section="Lists and arrays")
def _outer(ev, f, *lists):
    call = Expr(S("Outer"), f, *lists)
    if len(lists) >= 3 and is_integer(lists[-1]) and all(is_list(a) for a in lists[:-1]):
        if lists[-1] < 1:
            raise wrong_call("Outer", call, f"the level {lists[-1]} is not a positive integer")
        count = math.prod(_level_count(a, lists[-1]) for a in lists[:-1])
        budget.check((count,), 64, "an outer product")
        return _outer_levels(ev, f, list(lists[:-1]), int(lists[-1]))
    if not all(is_list(a) for a in lists):
        raise wrong_call("Outer", call, "the arguments after f must be lists")
    count = math.prod(_leaves(a) for a in lists)
    budget.check((count,), 64, "an outer product")
    if f is TIMES or f is PLUS:
        vals = [exact(a) for a in lists]
        if all(isinstance(v, np.ndarray) for v in vals):
            full = sum((v.shape for v in vals), ())
            acc = vals[0]
            for v in vals[1:]:
                acc = acc.reshape(acc.shape + (1,) * v.ndim)
                a, b = np.broadcast_arrays(acc, v.reshape((1,) * (acc.ndim - v.ndim) + v.shape))
                acc = exact(ev.call(f, packed(np.ascontiguousarray(a)) if a.dtype != object
                                    else result(a),
                                    packed(np.ascontiguousarray(b)) if b.dtype != object
                                    else result(b)))
                if not isinstance(acc, np.ndarray):
                    return _outer_general(ev, f, list(lists))
            assert acc.shape == full
            return result(acc)
    return _outer_general(ev, f, list(lists))


def _incommensurate(a: Any, b: Any) -> EvaluationError:
    return EvaluationError(f"Length {list_length(a)} of dimension 1 in {short(a)} is "
                           f"incommensurate with length {list_length(b)} of dimension 1 in "
                           f"{short(b)}.", symbol="Inner", tag="incom")


def _inner(ev, f: Any, a: Any, b: Any, g: Any) -> Any:
    items = list_items(a)
    if items and all(is_list(r) for r in items):   # contract a's last index
        return make_list(_inner(ev, f, r, b, g) for r in items)
    rows = list_items(b)
    if len(rows) != len(items):
        raise _incommensurate(a, b)
    if rows and all(is_list(r) for r in rows):     # with b's first index
        width = {list_length(r) for r in rows}
        if len(width) != 1:
            raise _incommensurate(a, b)
        columns = zip(*(list_items(r) for r in rows))
        return make_list(_inner(ev, f, a, make_list(c), g) for c in columns)
    return ev.call(g, *(ev.call(f, x, y) for x, y in zip(items, rows)))


@builtin("Inner", ("Inner[f, list1, list2]", "Inner[f, list1, list2, g]"),
         "the generalised inner product: g (Plus) over f of paired elements, contracting the "
         "last index of list1 with the first of list2; Dot for Times and Plus",
         args=(3, 4), section="Lists and arrays")
def _inner_fn(ev, f, a, b, g=PLUS):
    call = Expr(S("Inner"), f, a, b, g)
    if not (is_list(a) and is_list(b)):
        raise wrong_call("Inner", call, "the second and third arguments must be lists")
    if f is TIMES and g is PLUS and isinstance(exact(a), np.ndarray) \
            and isinstance(exact(b), np.ndarray):
        return ev.call(S("Dot"), a, b)
    if list_length(a) and list_length(b) == 0:
        raise _incommensurate(a, b)
    budget.check((_leaves(a), max(_leaves(b), 1)), 8, "an inner product")
    return _inner(ev, f, a, b, g)
