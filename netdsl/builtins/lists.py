"""Lists and associations: building, measuring, indexing, reshaping, mapping.

Packed lists (NumPy arrays) are handled with NumPy indexing and reshaping, so
that ``m[[All, 1]]``, ``Transpose[m]`` or ``Flatten[m]`` never loop in Python;
unpacked lists and other expressions (``f[a, b]``) take the general path,
which keeps Wolfram's semantics for any head.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .. import budget
from ..errors import EvaluationError, NetDSLError
from ..expr import (All, Association, Expr, List, Opaque, Rule, RuleDelayed, Symbol,
                    hash_key, head_of, is_integer, is_list, is_number, is_rule,
                    list_items, make_list, output_form, packed, same_q)
from ..layers.base import AbstractArray, Net
from .abstract import shape_of
from .levels import (flatten_levels, flattened_shape, full_dims, level_groups, rearrange,
                     swap_permutation)
from .numeric import check_size, dims_of, numeric
from .registry import (HOLD_ALL, HOLD_REST, NOT_APPLICABLE, REGISTRY, builtin, load_lazy,
                       wrong_call)
from ..printer import prune, short

S = Symbol
Span = S("Span")
Key = S("Key")
Missing = S("Missing")
Infinity = S("Infinity")

# more elements than this, built one expression at a time, is refused (toobig)
MAX_ELEMENTS = 10 ** 7


# ---------------------------------------------------------------- helpers
def _show(x: Any) -> str:
    """A short display of ``x`` for messages, as Wolfram's messages abbreviate."""
    text = output_form(prune(x, arrays=False), max_elements=20)
    return text if len(text) <= 100 else text[:95] + " ...}"




def _atomic(x: Any) -> bool:
    """True for atoms: numbers, strings, symbols, opaque objects (not lists, not associations)."""
    return not isinstance(x, (np.ndarray, Expr, Association))


def _parts(x: Any) -> tuple[Any, list[Any]] | None:
    """Head and elements of a non-atomic expression (a packed list too); None for atoms."""
    if isinstance(x, np.ndarray):
        return List, list_items(x)
    if isinstance(x, Expr):
        return x.head, list(x.args)
    return None


def _items(x: Any) -> list[Any]:
    """The elements of a non-atomic expression (checked non-atomic by the caller)."""
    split = _parts(x)
    assert split is not None
    return split[1]


def _length_at(x: Any) -> int:
    """Length: elements of a list or expression, entries of an association, 0 for atoms."""
    if isinstance(x, np.ndarray):
        return x.shape[0]
    if isinstance(x, Expr):
        return len(x.args)
    if isinstance(x, Association):
        return len(x)
    return 0


def _rebuild(head: Any, items: list[Any]) -> Any:
    """``head[items]``; a List is packed again when its elements allow it."""
    return make_list(items) if head is List else Expr(head, *items)


def _assoc_value(ev, rule: tuple[Any, Any, bool]) -> Any:
    """An association's value; a ``key :> value`` rule is evaluated when read."""
    _, value, delayed = rule
    return ev.evaluate(value) if delayed else value


def _position_of(x: Association, key: Any) -> int:
    """Where ``key`` (known to be present) is among the association's rules."""
    return x._index[hash_key(key)]


def _nonatomic(name: str, call: Any, pos: Any = 1) -> EvaluationError:
    return EvaluationError(f"Nonatomic expression expected at position {pos} in {short(call)}.",
                           symbol=name, tag="normal")


def elements_of(x: Any, name: str, call: Any, pos: Any = 1) -> tuple[Any, list[Any]]:
    """Head and elements of a list (or any non-atomic expression); Wolfram's "normal"
    message for an atom."""
    split = _parts(x)
    if split is None:
        raise _nonatomic(name, call, pos)
    return split


def _empty_list_if_empty(a: np.ndarray) -> Any:
    """``{}`` for an array with no elements along its first axis, as Wolfram shows it."""
    return Expr(List) if a.shape[0] == 0 else packed(a)


def _as_int_list(x: Any) -> list[int] | None:
    """The Python ints of a list of integers, or None."""
    if isinstance(x, np.ndarray):
        return x.tolist() if x.ndim == 1 and x.dtype.kind in "iu" else None
    if isinstance(x, Expr) and x.head is List and all(is_integer(a) for a in x.args):
        return list(x.args)
    return None


def _count_guard(count: int, name: str, call: Any, what: str) -> None:
    """Refuse, before starting, work that would take Python minutes (more than 10^7 steps)."""
    if count > MAX_ELEMENTS:
        raise EvaluationError(f"{short(call)} needs {count} {what}; netdsl allows at most "
                              f"10^7.", symbol=name, tag="toobig")


# ---------------------------------------------------------------- Range
def _range_count(a: Any, b: Any, di: Any) -> int:
    """How many of a, a + di, ... lie between a and b (with a little slack for reals)."""
    if is_integer(a) and is_integer(b) and is_integer(di):
        return max(0, (b - a) // di + 1)
    q = (b - a) / di
    if not math.isfinite(q):
        raise OverflowError
    return max(0, math.floor(q + 1e-10 * max(1.0, abs(q))) + 1)


def _range_values(a: Any, b: Any, di: Any, name: str, call: Any) -> Any:
    """``Range[a, b, di]`` as a packed array (or {} when empty); integers iff a and di are."""
    if not (is_number(a) and is_number(b) and is_number(di)) or di == 0:
        raise EvaluationError(f"Range specification in {short(call)} does not have appropriate "
                              f"bounds.", symbol=name, tag="range")
    try:
        n = _range_count(a, b, di)
    except OverflowError:
        raise EvaluationError(f"Range specification in {short(call)} does not have appropriate "
                              f"bounds.", symbol=name, tag="range") from None
    if n == 0:
        return Expr(List)
    check_size((n,))
    if is_integer(a) and is_integer(di):
        last = a + (n - 1) * di
        if max(abs(a), abs(last)) < 2 ** 63:
            return packed(np.arange(n, dtype=np.int64) * di + a)
        _count_guard(n, name, call, "elements")
        return make_list(range(a, last + (1 if di > 0 else -1), di))
    return packed(float(a) + float(di) * np.arange(n, dtype=np.float64))


@builtin("Range", ("Range[n]", "Range[a, b]", "Range[a, b, di]"),
         "the list {1, ..., n}, or a, a + di, ... up to b (reals allowed)", args=(1, 3),
         section="Lists and arrays")
def _range(ev, *args):
    call = Expr(S("Range"), *args)
    if any(isinstance(a, Symbol) or (isinstance(a, Expr) and not is_list(a)) for a in args):
        return NOT_APPLICABLE  # symbolic bounds stay unevaluated, as in Wolfram
    if len(args) == 1:
        return _range_values(1, args[0], 1, "Range", call)
    return _range_values(args[0], args[1], args[2] if len(args) == 3 else 1, "Range", call)


@builtin("Subdivide", ("Subdivide[n]", "Subdivide[xmax, n]", "Subdivide[xmin, xmax, n]"),
         "the n + 1 equally spaced values xmin + (xmax - xmin) k/n, k = 0..n (exact for "
         "exact bounds; xmin = 0, xmax = 1 by default)", args=(1, 3), section="Lists and arrays")
def _subdivide(ev, *args):
    """Written as Wolfram's own formula and evaluated, so that exact bounds give rationals
    and reals give reals, as Subdivide does."""
    n = args[-1]
    if not (is_integer(n) and n > 0):
        raise EvaluationError(f"Positive machine-sized integer expected at position "
                              f"{len(args)} in {short(Expr(S('Subdivide'), *args))}.",
                              symbol="Subdivide", tag="intpm")
    lo, hi = (0, 1) if len(args) == 1 else (0, args[0]) if len(args) == 2 else args[:2]
    steps = Expr(S("Times"), Expr(S("Range"), 0, n), Expr(S("Power"), n, -1))
    width = Expr(S("Plus"), hi, Expr(S("Times"), -1, lo))
    return ev.evaluate(Expr(S("Plus"), lo, Expr(S("Times"), width, steps)))


# ---------------------------------------------------------------- Table
def _iterator(ev, spec: Any, pos: int, call: Any) -> tuple[Symbol | None, list[Any]]:
    """The variable (None for ``{n}``) and the values of one Table iterator."""
    def bad_form():
        return EvaluationError(f"Argument {short(spec)} at position {pos} does not have the "
                               f"correct form for an iterator.", symbol="Table", tag="itform")

    def bad_bounds():
        return EvaluationError(f"Iterator {short(spec)} does not have appropriate bounds.",
                               symbol="Table", tag="iterb")

    def values(a, b, di):
        if not (is_number(a) and is_number(b) and is_number(di)) or di == 0:
            raise bad_bounds()
        try:
            n = _range_count(a, b, di)
        except OverflowError:
            raise bad_bounds() from None
        _count_guard(n, "Table", call, "evaluations of its body")
        if is_integer(a) and is_integer(di):
            return [a + k * di for k in range(n)]
        return [float(a) + float(di) * k for k in range(n)]

    if not (isinstance(spec, Expr) and spec.head is List):
        n = ev.evaluate(spec)  # Table[body, n]
        if not is_number(n):
            raise bad_form()
        return None, values(1, n, 1)
    parts = spec.args
    if len(parts) == 1:
        n = ev.evaluate(parts[0])
        if not is_number(n):
            raise bad_bounds()
        return None, values(1, n, 1)
    if not 2 <= len(parts) <= 4:
        raise bad_form()
    var = parts[0]
    if not isinstance(var, Symbol):
        raise bad_form()
    if var.name in REGISTRY:
        raise EvaluationError(f"Iterator {short(spec)}: {var.name} is a built-in symbol and "
                              f"cannot be an iterator variable.", symbol="Table", tag="itform")
    bounds = [ev.evaluate(p) for p in parts[1:]]
    if len(bounds) == 1:
        if is_list(bounds[0]):
            items = list_items(bounds[0])
            _count_guard(len(items), "Table", call, "evaluations of its body")
            return var, items
        return var, values(1, bounds[0], 1)
    return var, values(bounds[0], bounds[1], bounds[2] if len(bounds) == 3 else 1)


@builtin("Table", ("Table[expr, n]", "Table[expr, {i, n}]", "Table[expr, {i, a, b}]",
                   "Table[expr, {i, a, b, di}]", "Table[expr, {i, {v1, v2, ...}}]",
                   "Table[expr, iter1, iter2, ...]"),
         "a list of the values of expr as i runs over an iterator; several iterators nest",
         args=(2, None), attributes=(HOLD_ALL,), section="Lists and arrays")
def _table(ev, body, *iterators):
    call = Expr(S("Table"), body, *iterators)
    done = [0]
    first: list[Any] = []   # netdsl check: the body's first value, already evaluated
    if getattr(ev.host, "shape_only", False):
        value = _abstract_table(ev, body, iterators, call, first)
        if value is not None:
            return value

    def level(k: int, planned: int) -> Any:
        var, values = _iterator(ev, iterators[k], k + 2, call)
        planned *= max(len(values), 1)
        _count_guard(planned, "Table", call, "evaluations of its body")
        last = k == len(iterators) - 1
        out: list[Any] = []
        if var is None:
            for _ in values:
                out.append(evaluate_body(planned) if last else level(k + 1, planned))
            return make_list(out)
        had, old = var in ev.values, ev.values.get(var)
        try:
            for v in values:
                ev.values[var] = v
                out.append(evaluate_body(planned) if last else level(k + 1, planned))
        finally:
            if had:
                ev.values[var] = old
            else:
                ev.values.pop(var, None)
        return make_list(out)

    def evaluate_body(planned: int) -> Any:
        done[0] += 1
        _count_guard(done[0], "Table", call, "evaluations of its body")
        value = first.pop() if first and done[0] == 1 else ev.evaluate(body)
        if done[0] == 1:  # the first value tells the size of the whole table, before it grows
            budget.check_bytes(budget.value_bytes(value) * planned,
                               f"a table of {planned} values like {short(value, 40)}")
        return value

    return level(0, 1)


def _corner(ev, spec: Any, which: int) -> tuple[Symbol | None, int, Any] | None:
    """netdsl check: (variable, count, first or last value) of one Table iterator, without
    listing its values; None for a form the ordinary evaluation should judge."""
    parts = spec.args if isinstance(spec, Expr) and spec.head is List else None
    if parts is None or len(parts) == 1:
        n = ev.evaluate(spec if parts is None else parts[0])
        var, a, b, di = None, 1, n, 1
    elif 2 <= len(parts) <= 4 and isinstance(parts[0], Symbol) \
            and parts[0].name not in REGISTRY:
        var, bounds = parts[0], [ev.evaluate(p) for p in parts[1:]]
        if len(bounds) == 1 and is_list(bounds[0]):
            items = list_items(bounds[0])
            return (var, len(items), items[which]) if items else None
        a, b, di = (1, bounds[0], 1) if len(bounds) == 1 else \
            (bounds[0], bounds[1], bounds[2] if len(bounds) == 3 else 1)
    else:
        return None
    if not (is_number(a) and is_number(b) and is_number(di)) or di == 0:
        return None
    try:
        n = _range_count(a, b, di)
    except OverflowError:
        return None
    if n == 0:
        return None
    k = 0 if which == 0 else n - 1
    value = a + k * di if is_integer(a) and is_integer(di) else float(a) + float(di) * k
    return var, n, value


SMALL_TABLE = 1000   # netdsl check computes tables of fewer numbers: they are structure


def _abstract_table(ev, body: Any, iterators: tuple, call: Any, first: list[Any]) -> Any:
    """netdsl check: a Table of data (arrays known by their dimensions, or SMALL_TABLE
    numbers or more) is an AbstractArray of its dimensions. The body is evaluated at the
    first and the last values of the iterators, never in between; when the two disagree
    (a ragged table) or the body is not data, None: the table is evaluated as usual
    (``first`` keeps the value computed here)."""
    corners = []
    for which in (0, -1):
        bound: list[tuple[Symbol, bool, Any]] = []
        counts: list[int] = []
        try:
            for spec in iterators:
                corner = _corner(ev, spec, which)
                if corner is None:
                    return None
                var, n, value = corner
                counts.append(n)
                if var is not None:
                    bound.append((var, var in ev.values, ev.values.get(var)))
                    ev.values[var] = value
            value = ev.evaluate(body)
        finally:
            for var, had, old in reversed(bound):
                if had:
                    ev.values[var] = old
                else:
                    ev.values.pop(var, None)
        shape = shape_of(value)
        if which == 0 and (shape is None or (not isinstance(value, AbstractArray)
                                             and math.prod(counts) < SMALL_TABLE)):
            first.append(value)   # not data, or a few numbers (layer sizes...): evaluated
            return None
        corners.append((counts, shape))
    (counts, shape), last = corners
    if last != (counts, shape) or shape is None:
        return None
    planned = 1
    for n in counts:
        planned *= n
    _count_guard(planned, "Table", call, "evaluations of its body")
    check_size(tuple(counts) + shape)
    return AbstractArray(tuple(counts) + shape, "array")


@builtin("ConstantArray", ("ConstantArray[c, n]", "ConstantArray[c, {n1, n2, ...}]"),
         "an array of the given dimensions whose every element is c", args=2,
         section="Lists and arrays")
def _constant_array(ev, c, spec):
    call = Expr(S("ConstantArray"), c, spec)
    dims = dims_of(spec, "ConstantArray", call)
    if not dims:
        return c
    if dims[0] and getattr(ev.host, "shape_only", False):  # netdsl check: no array made
        shape = shape_of(c)
        if shape is not None:
            check_size(dims + shape)
            return AbstractArray(dims + shape, "array")
    v = numeric(c)
    if v is not None and (is_number(c) or isinstance(c, np.ndarray)):
        a = np.asarray(v)
        check_size(dims + a.shape, a.itemsize)
        if dims[0] == 0:
            return Expr(List)
        return packed(np.broadcast_to(a, dims + a.shape).copy())
    _count_guard(math.prod(dims), "ConstantArray", call, "elements")
    check_size(dims, 8)

    def build(ds):
        return make_list([c] * ds[0]) if len(ds) == 1 else \
            make_list(build(ds[1:]) for _ in range(ds[0]))
    return build(dims)


# ---------------------------------------------------------------- measuring
def _dimensions(x: Any) -> list[int]:
    if isinstance(x, np.ndarray):
        return list(x.shape)
    shape = getattr(x, "shape", None) if isinstance(x, Opaque) else None
    if isinstance(shape, tuple):
        return list(shape)  # netdsl check's AbstractArray: dimensions without numbers
    if isinstance(x, Association):
        return [len(x)]
    if not isinstance(x, Expr):
        return []
    dims = [len(x.args)]
    if not x.args:
        return dims
    children = []
    for a in x.args:
        h = head_of(a) if isinstance(a, (Expr, np.ndarray)) else None
        if h is None or not same_q(h, x.head):
            return dims
        children.append(_dimensions(a))
    common = children[0]
    for c in children[1:]:
        k = 0
        while k < min(len(common), len(c)) and common[k] == c[k]:
            k += 1
        common = common[:k]
    return dims + common


@builtin("Dimensions", "Dimensions[expr]", "the dimensions of a (rectangular) list or array",
         args=1, section="Lists and arrays")
def _dimensions_fn(ev, x):
    return make_list(_dimensions(x))


@builtin("Length", "Length[expr]", "the number of elements (0 for an atom)", args=1,
         section="Lists and arrays")
def _length(ev, x):
    if isinstance(x, Net) and getattr(x, "kind", None) in ("NetChain", "NetGraph") \
            and getattr(x, "operator", True) is None:
        # Wolfram: Length[chain or graph] is its number of layers (nodes)
        return len(x.order)   # type: ignore[attr-defined]
    return _length_at(x)


# ---------------------------------------------------------------- Part
class _Where:
    """Which function is indexing (Part, Set, Take, Drop), for its messages."""

    def __init__(self, name: str, call: Any):
        self.name = name
        self.call = call

    def error(self, tag: str, text: str) -> EvaluationError:
        return EvaluationError(text, symbol=self.name, tag=tag)

    def partw(self, spec: Any, x: Any) -> EvaluationError:
        return self.error("partw", f"Part {short(spec)} of {_show(x)} does not exist.")

    def partd(self) -> EvaluationError:
        return self.error("partd", f"Part specification {_show(self.call)} is longer than depth "
                                   f"of object.")

    def pkspec(self, spec: Any) -> EvaluationError:
        return self.error("pkspec1", f"The expression {short(spec)} cannot be used as a part "
                                     f"specification.")

    def take(self, a: Any, b: Any, x: Any) -> EvaluationError:
        verb = "drop" if self.name == "Drop" else "take"
        return self.error(verb, f"Cannot {verb} positions {short(a)} through {short(b)} "
                                f"in {_show(x)}.")


def _is_span(spec: Any) -> bool:
    return isinstance(spec, Expr) and spec.head is Span and len(spec.args) in (2, 3)


def _span_range(spec: Expr, n: int, x: Any, where: _Where) -> range:
    """0-based positions of ``Span[a, b, s]`` in an expression of length n."""
    a, b = spec.args[0], spec.args[1]
    s = spec.args[2] if len(spec.args) == 3 else 1
    if not (is_integer(a) or a is All) or not (is_integer(b) or b is All) \
            or not is_integer(s) or s == 0:
        raise where.pkspec(spec)
    if a == 0 or (b == 0 and s < 0):  # position 0 is the head, which no span reaches
        raise where.take(a, b, x)
    if s > 0:
        i = 1 if a is All else (a if a > 0 else n + 1 + a)
        j = n if b is All else (b if b >= 0 else n + 1 + b)
        if not (1 <= i <= n + 1 and 0 <= j <= n and j >= i - 1):
            raise where.take(a, b, x)
        return range(i - 1, j, s)
    # a negative step runs backwards; ;; ;; -1 (Span[1, All, -1]) is the whole list reversed
    i = n if a is All or (a == 1 and b is All) else (a if a > 0 else n + 1 + a)
    j = 1 if b is All else (b if b > 0 else n + 1 + b)
    if not (0 <= i <= n and 1 <= j <= n + 1 and i >= j - 1):
        raise where.take(a, b, x)
    return range(i - 1, j - 2, s)


def _index(i: int, n: int, x: Any, where: _Where) -> int:
    k = i - 1 if i > 0 else n + i
    if not 0 <= k < n:
        raise where.partw(i, x)
    return k


def _positions(spec: Any, n: int, x: Any, where: _Where) -> list[int] | range | None:
    """0-based positions selected by All, a Span or a list of indices; None for one index."""
    if spec is All:
        return range(n)
    if _is_span(spec):
        return _span_range(spec, n, x, where)
    ints = _as_int_list(spec)
    if ints is not None:
        if 0 in ints:
            raise where.pkspec(spec)
        return [_index(i, n, x, where) for i in ints]
    return None


def _key_spec(spec: Any) -> tuple[bool, Any]:
    """(True, key) when ``spec`` names an association key: Key[k], or anything not an index."""
    if isinstance(spec, Expr) and spec.head is Key and len(spec.args) == 1:
        return True, spec.args[0]
    if is_integer(spec) or spec is All or _is_span(spec) or is_list(spec):
        return False, None
    return True, spec


class _Fallback(Exception):
    """The NumPy path cannot take this specification; use the general one."""


def _array_part(a: np.ndarray, specs: list[Any], where: _Where) -> Any:
    """Part of a packed array by NumPy indexing (views where possible).

    Errors are raised here too, naming the first offending sub-array as the
    general path would, so that a bad index never unpacks a big array.
    """
    ax = 0
    for k, spec in enumerate(specs):
        if ax >= a.ndim:
            if not (is_integer(spec) and spec == 0):
                raise where.partd()
            if k == len(specs) - 1 and np.ndim(a) == 0:
                return head_of(packed(np.asarray(a)))  # v[[1, 0]] is Integer
            raise _Fallback  # heads of several numbers
        n = a.shape[ax]
        lead = (slice(None),) * ax
        first = a[(0,) * ax] if ax and all(a.shape[:ax]) else a  # what the message shows
        if is_integer(spec) and spec != 0:
            if not -n <= spec <= n:
                if first is a and ax:
                    raise _Fallback  # nothing selected before: no error, as in Wolfram
                raise where.partw(spec, packed(first))
            a = a[lead + (spec - 1 if spec > 0 else spec,)]
        elif spec is All:
            ax += 1
        elif _is_span(spec):
            r = _span_range(spec, n, first, where)
            stop = r.stop if r.stop >= 0 else None
            a = a[lead + (slice(r.start, stop, r.step),)]
            ax += 1
        else:
            ints = _as_int_list(spec)
            if ints is None or 0 in ints:
                raise _Fallback
            bad = [i for i in ints if not -n <= i <= n]
            if bad:
                if first is a and ax:
                    raise _Fallback
                raise where.partw(bad[0], packed(first))
            a = np.take(a, [i - 1 if i > 0 else i for i in ints], axis=ax)
            ax += 1
    if isinstance(a, np.ndarray) and a.ndim and a.shape[0] == 0:
        return Expr(List)
    return packed(a) if isinstance(a, np.ndarray) else packed(np.asarray(a))


def _probe(x: AbstractArray) -> np.ndarray:
    """Zeros of ``x``'s dimensions that take no memory (a broadcast view): the slicing
    code of packed arrays gives the dimensions of a result without any data."""
    return np.broadcast_to(np.zeros((), np.float32), x.shape)


_STAND_INS = (997, 991, 983, 977, 971, 967, 953, 947)   # primes: unlikely real sizes


def _stand_in_positions(spec: Any) -> Any:
    """netdsl check: positions computed from data (an AbstractArray of rank 0 or 1) as
    position 1, as many times: the result's dimensions do not depend on their values."""
    if not isinstance(spec, AbstractArray) or len(spec.shape) > 1:
        return spec
    if not spec.shape:
        return 1
    n = spec.shape[0]
    return make_list([1] * n) if isinstance(n, int) else spec


def _abstract_part(ev, x: AbstractArray, specs: list[Any], where: Any) -> AbstractArray:
    """netdsl check: the dimensions of a Part of ``x``. A "Varying" length (a LengthVar)
    is probed as a stand-in size and given back where that size survives."""
    free = [k for k in _STAND_INS if k not in x.shape]
    stand: dict[int, Any] = {}
    dims = []
    for d in x.shape:
        if not isinstance(d, int):
            if d not in stand.values():
                stand[free[len(stand)]] = d
            d = next(k for k, v in stand.items() if v is d)
        dims.append(d)
    shape = np.shape(part(ev, _probe(AbstractArray(tuple(dims), x.what)), specs, where))
    return AbstractArray(tuple(stand.get(d, d) for d in shape), x.what)


def _abstract(shape: tuple, like: AbstractArray) -> Any:
    """netdsl check: an AbstractArray of ``shape`` ({} when its first dimension is 0)."""
    return Expr(List) if shape and shape[0] == 0 else AbstractArray(shape, like.what)


PART_HOOKS: dict[type, Any] = {}   # value type -> fn(value, specs): net[[2]] (netops.py)


def part(ev, x: Any, specs: list[Any], where: _Where) -> Any:
    """``x[[specs...]]``."""
    if not specs:
        return x
    if isinstance(x, Net):   # net[[...]]: its hook is registered by a module loaded lazily
        load_lazy()
    for cls, hook in PART_HOOKS.items():
        if isinstance(x, cls):
            return hook(x, specs)
    if isinstance(x, np.ndarray):
        try:
            return _array_part(x, specs, where)
        except _Fallback:
            pass
    if any(isinstance(sp, AbstractArray) and len(sp.shape) <= 1 for sp in specs) and \
            isinstance(x, (np.ndarray, AbstractArray)):   # netdsl check: positions from data
        specs = [_stand_in_positions(sp) for sp in specs]
        if isinstance(x, np.ndarray):
            x = AbstractArray(x.shape, "array")
    if isinstance(x, AbstractArray):  # netdsl check: Part of the dimensions alone
        return _abstract_part(ev, x, specs, where)
    spec, rest = specs[0], specs[1:]
    if isinstance(x, Association):
        return _assoc_part(ev, x, spec, rest, where)
    split = _parts(x)
    if split is None:
        if is_integer(spec) and spec == 0 and not rest:
            return head_of(x)  # 5[[0]] is Integer
        raise where.partd()
    head, items = split
    if is_integer(spec):
        if spec == 0:
            return part(ev, head, rest, where)
        return part(ev, items[_index(spec, len(items), x, where)], rest, where)
    positions = _positions(spec, len(items), x, where)
    if positions is None:
        raise where.pkspec(spec)
    return _rebuild(head, [part(ev, items[k], rest, where) for k in positions])


def _assoc_part(ev, x: Association, spec: Any, rest: list[Any], where: _Where) -> Any:
    is_key, key = _key_spec(spec)
    if is_key:
        if key not in x:
            return Expr(Missing, "KeyAbsent", key)
        return part(ev, _assoc_value(ev, x.rules[_position_of(x, key)]), rest, where)
    n = len(x)
    if is_integer(spec):
        if spec == 0:
            return part(ev, S("Association"), rest, where)
        rule = x.rules[_index(spec, n, x, where)]
        return part(ev, _assoc_value(ev, rule), rest, where)
    if is_list(spec) and _as_int_list(spec) is None:  # a list of keys
        chosen = []
        for k in list_items(spec):
            is_key, key = _key_spec(k)
            if not is_key:
                raise where.pkspec(spec)
            if key not in x:
                raise where.partw(k, x)
            chosen.append(x.rules[_position_of(x, key)])
    else:
        positions = _positions(spec, n, x, where)
        if positions is None:
            raise where.pkspec(spec)
        chosen = [x.rules[k] for k in positions]
    return Association((r[0], part(ev, _assoc_value(ev, r), rest, where), False)
                       for r in chosen)


@builtin("Part", ("expr[[i]]", "expr[[i, j, ...]]", "expr[[All, j]]", "expr[[a ;; b ;; s]]",
                  "expr[[{i1, i2, ...}]]", "assoc[[\"key\"]]"),
         "parts of an expression: negative i counts from the end, 0 is the head", args=(1, None),
         section="Lists and arrays")
def _part(ev, x, *specs):
    return part(ev, x, list(specs), _Where("Part", Expr(S("Part"), x, *specs)))


# ---------------------------------------------------------------- part assignment
def part_assign(value: Any, indices: list[Any], new: Any, lhs_expr: Any) -> Any:
    """The value of ``x`` after ``x[[indices]] = new``: a modified copy, never in place.

    Selections of several parts take the elements of a list ``new`` one by one
    (``x[[All, 1]] = {a, b}``) and repeat anything else (``x[[All, 1]] = 0``).
    """
    target = lhs_expr.args[0] if isinstance(lhs_expr, Expr) and lhs_expr.args else None
    if isinstance(target, Symbol) and value is target:
        raise EvaluationError(f"Symbol {target.name} in part assignment does not have an "
                              f"immediate value.", symbol="Set", tag="noval")
    where = _Where("Set", lhs_expr)
    if isinstance(value, np.ndarray):
        fast = _array_assign(value, indices, new, where)
        if fast is not None:
            return fast
    return _assign(value, list(indices), new, where)


def _array_assign(a: np.ndarray, specs: list[Any], new: Any, where: _Where) -> Any:
    """NumPy assignment when it gives exactly Wolfram's result (same number kind, same shape)."""
    if len(specs) > a.ndim:
        return None
    if is_number(new):
        if len(specs) != a.ndim:
            return None  # each selected part (a row...) becomes the number: not an array
        if is_integer(new) and not -2 ** 63 <= new < 2 ** 63:
            return None
        kind = "i" if is_integer(new) else "f"
        rhs_shape: tuple[int, ...] | None = None
    elif isinstance(new, np.ndarray):
        kind, rhs_shape = ("i" if new.dtype.kind in "iu" else "f"), new.shape
    else:
        return None
    if kind != ("i" if a.dtype.kind in "iu" else "f"):
        return None  # Wolfram would unpack (an Integer among Reals): the general path does that
    index, shape = [], []
    for ax, spec in enumerate(specs):
        n = a.shape[ax]
        if is_integer(spec) and spec != 0 and -n <= spec <= n:
            index.append(np.array([spec - 1 if spec > 0 else n + spec]))
            continue
        if spec is All:
            idx = np.arange(n)
        elif _is_span(spec):
            idx = np.arange(n)[slice(*_slice_of(_span_range(spec, n, a, where)))]
        else:
            ints = _as_int_list(spec)
            if ints is None or 0 in ints or any(not -n <= i <= n for i in ints):
                return None
            idx = np.array([i - 1 if i > 0 else n + i for i in ints], dtype=np.int64)
        index.append(idx)
        shape.append(len(idx))
    part_shape = tuple(shape) + a.shape[len(specs):]
    if rhs_shape is not None and rhs_shape != part_shape:
        return None
    out = np.array(a)
    grid = np.ix_(*index)
    if rhs_shape is None:
        out[grid] = new
    else:
        full = tuple(len(i) for i in index) + a.shape[len(specs):]
        out[grid] = np.asarray(new).reshape(full)
    return packed(out)


def _slice_of(r: range) -> tuple[int, int | None, int]:
    return r.start, (r.stop if r.stop >= 0 else None), r.step


def _assign(x: Any, specs: list[Any], new: Any, where: _Where) -> Any:
    if not specs:
        return new
    spec, rest = specs[0], specs[1:]
    if isinstance(x, Association):
        return _assoc_assign(x, spec, rest, new, where)
    split = _parts(x)
    if split is None:
        raise where.partd()
    head, items = split
    if is_integer(spec):
        if spec == 0:
            return _rebuild(_assign(head, rest, new, where), items)
        k = _index(spec, len(items), x, where)
        items[k] = _assign(items[k], rest, new, where)
        return _rebuild(head, items)
    positions = _positions(spec, len(items), x, where)
    if positions is None:
        raise where.pkspec(spec)
    values = _spread(new, len(positions), where)
    for k, v in zip(positions, values):
        items[k] = _assign(items[k], rest, v, where)
    return _rebuild(head, items)


def _spread(new: Any, count: int, where: _Where) -> list[Any]:
    """The values for ``count`` selected parts: a list's elements, else ``new`` repeated."""
    if not is_list(new):
        return [new] * count
    values = list_items(new)
    if len(values) != count:
        raise where.error("shape", f"Lists {_show(new)} and {short(where.call)} are not the "
                                   f"same shape.")
    return values


def _assoc_assign(x: Association, spec: Any, rest: list[Any], new: Any, where: _Where) -> Any:
    rules = list(x.rules)
    is_key, key = _key_spec(spec)
    if is_key:
        if key not in x:  # a new key is added at the end
            if rest:
                raise where.partw(spec, x)
            return Association(rules + [(key, new, False)])
        positions: Any = [_position_of(x, key)]
        values = [new]
    elif is_integer(spec) and spec != 0:
        positions, values = [_index(spec, len(rules), x, where)], [new]
    else:
        positions = _positions(spec, len(rules), x, where)
        if positions is None:
            raise where.pkspec(spec)
        values = _spread(new, len(positions), where)
    for k, v in zip(positions, values):
        k0, old, _ = rules[k]
        rules[k] = (k0, _assign(old, rest, v, where), False)
    return Association(rules)


# ---------------------------------------------------------------- Take, Drop
def _seq_spec(spec: Any, n: int, name: str, call: Any) -> Any:
    """Take/Drop's n, -n, {m}, {m, n}, {m, n, s}, All, None, UpTo[n] as a Span (or All)."""
    if spec is All:
        return All
    if spec is S("None"):
        return Expr(Span, 1, 0)
    if is_integer(spec):
        return Expr(Span, 1, spec) if spec >= 0 else Expr(Span, spec, -1)
    if isinstance(spec, Expr) and spec.has_head("UpTo") and len(spec.args) == 1 \
            and is_integer(spec.args[0]) and spec.args[0] >= 0:
        return Expr(Span, 1, min(spec.args[0], n))
    ints = _as_int_list(spec)
    if ints is not None and 1 <= len(ints) <= 3:
        return Expr(Span, ints[0], ints[0]) if len(ints) == 1 else Expr(Span, *ints)
    raise wrong_call(name, call, f"{short(spec)} is not a sequence specification")


@builtin("Take", ("Take[list, n]", "Take[list, -n]", "Take[list, {m, n}]",
                  "Take[list, spec1, spec2, ...]"),
         "the first n elements, the last n, or elements m through n (at several levels)",
         args=(2, None), section="Lists and arrays")
def _take(ev, x, *specs):
    call = Expr(S("Take"), x, *specs)
    where = _Where("Take", call)
    if _atomic(x) and not isinstance(x, AbstractArray):
        raise _nonatomic("Take", call)
    if not any(isinstance(s, Expr) and s.has_head("UpTo") for s in specs):
        # one Part call with a span per level: a single NumPy slice for packed arrays
        return part(ev, x, [_seq_spec(s, 0, "Take", call) for s in specs], where)

    def go(y, k):  # UpTo[n] depends on each sublist's own length
        if k == len(specs):
            return y
        if _atomic(y):
            raise where.partd()
        sub = part(ev, y, [_seq_spec(specs[k], _length_at(y), "Take", call)], where)
        if isinstance(sub, Association):
            return Association((kk, go(v, k + 1), False) for kk, v in sub.items())
        head, items = _parts(sub)
        return _rebuild(head, [go(i, k + 1) for i in items])
    return go(x, 0)


@builtin("TakeDrop", ("TakeDrop[list, n]", "TakeDrop[list, {m, n}]",
                      "TakeDrop[list, spec1, spec2, ...]"),
         "the pair {Take[list, spec], Drop[list, spec]}", args=(2, None),
         section="Lists and arrays")
def _take_drop(ev, x, *specs):
    return make_list([_take(ev, x, *specs), _drop(ev, x, *specs)])


@builtin("Drop", ("Drop[list, n]", "Drop[list, -n]", "Drop[list, {m, n}]",
                  "Drop[list, spec1, spec2, ...]"),
         "the list without its first n elements, its last n, or elements m through n",
         args=(2, None), section="Lists and arrays")
def _drop(ev, x, *specs):
    call = Expr(S("Drop"), x, *specs)
    where = _Where("Drop", call)

    def kept(spec: Any, n: int, shown: Any) -> list[int]:
        s = _seq_spec(spec, n, "Drop", call)
        gone = set(range(n) if s is All else _span_range(s, n, shown, where))
        return [i for i in range(n) if i not in gone]

    if isinstance(x, AbstractArray) and len(specs) <= len(x.shape):  # netdsl check
        probe = _probe(x)
        dims = list(x.shape)
        for ax, spec in enumerate(specs):
            dims[ax] = len(kept(spec, dims[ax], probe[(0,) * ax] if ax and all(dims[:ax])
                                else probe))
        return _abstract(tuple(dims), x)
    if isinstance(x, np.ndarray) and len(specs) <= x.ndim:  # one np.take per level
        a = x
        for ax, spec in enumerate(specs):
            shown = a[(0,) * ax] if ax and all(a.shape[:ax]) else a
            a = np.take(a, kept(spec, a.shape[ax], shown), axis=ax)
        return _empty_list_if_empty(a)

    def go(y, k):
        if k == len(specs):
            return y
        if _atomic(y):
            raise _nonatomic("Drop", call)
        keep = kept(specs[k], _length_at(y), y)
        if isinstance(y, Association):
            return Association((y.rules[i][0], go(_assoc_value(ev, y.rules[i]), k + 1), False)
                               for i in keep)
        head, items = _parts(y)
        return _rebuild(head, [go(items[i], k + 1) for i in keep])
    return go(x, 0)


# ---------------------------------------------------------------- First, Last, Rest, Most
def _elements(ev, x: Any, name: str, call: Any) -> tuple[Any, list[Any]]:
    if isinstance(x, Association):
        return S("Association"), [_assoc_value(ev, r) for r in x.rules]
    split = _parts(x)
    if split is None:
        raise _nonatomic(name, call)
    return split


@builtin("First", ("First[list]", "First[list, default]"), "the first element", args=(1, 2),
         section="Lists and arrays")
def _first(ev, x, *default):
    if isinstance(x, np.ndarray) and x.shape[0]:
        return packed(x[0])
    _, items = _elements(ev, x, "First", Expr(S("First"), x, *default))
    if items:
        return items[0]
    if default:
        return default[0]
    raise EvaluationError(f"{_show(x)} has zero length and no first element.", symbol="First",
                          tag="nofirst")


@builtin("Last", ("Last[list]", "Last[list, default]"), "the last element", args=(1, 2),
         section="Lists and arrays")
def _last(ev, x, *default):
    if isinstance(x, np.ndarray) and x.shape[0]:
        return packed(x[-1])
    _, items = _elements(ev, x, "Last", Expr(S("Last"), x, *default))
    if items:
        return items[-1]
    if default:
        return default[0]
    raise EvaluationError(f"{_show(x)} has zero length and no last element.", symbol="Last",
                          tag="nolast")


def _rest_most(ev, x: Any, name: str, tag: str, cut: slice) -> Any:
    call = Expr(S(name), x)
    if isinstance(x, np.ndarray):
        if x.shape[0] == 0:
            raise EvaluationError(f"Cannot take {name} of expression {_show(x)} with length zero.",
                                  symbol=name, tag=tag)
        return _empty_list_if_empty(x[cut])
    if isinstance(x, Association):
        if not len(x):
            raise EvaluationError(f"Cannot take {name} of expression {_show(x)} with length zero.",
                                  symbol=name, tag=tag)
        return Association(x.rules[cut])
    split = _parts(x)
    if split is None:
        raise _nonatomic(name, call)
    head, items = split
    if not items:
        raise EvaluationError(f"Cannot take {name} of expression {_show(x)} with length zero.",
                              symbol=name, tag=tag)
    return _rebuild(head, items[cut])


@builtin("Rest", "Rest[list]", "the list without its first element", args=1,
         section="Lists and arrays")
def _rest(ev, x):
    return _rest_most(ev, x, "Rest", "norest", slice(1, None))


@builtin("Most", "Most[list]", "the list without its last element", args=1,
         section="Lists and arrays")
def _most(ev, x):
    return _rest_most(ev, x, "Most", "nomost", slice(None, -1))


# ---------------------------------------------------------------- Join, Flatten, Partition
@builtin("Join", ("Join[list1, list2, ...]", "Join[list1, list2, ..., n]",
                  "Join[assoc1, assoc2, ...]"),
         "concatenates lists (at level n: their parts at level n - 1 pairwise), or merges "
         "associations, later keys winning", section="Lists and arrays")
def _join(ev, *xs):
    call = Expr(S("Join"), *xs)
    if len(xs) >= 2 and is_integer(xs[-1]) and not isinstance(xs[-1], bool):
        return _join_at(xs[:-1], int(xs[-1]), call)
    return _join_lists(xs, call)


def _join_at(xs: tuple, n: int, call: Any) -> Any:
    """Join[l1, l2, ..., n]: the parts at level n - 1 joined pairwise (Join[{{1}, {2}},
    {{3}, {4}}, 2] is {{1, 3}, {2, 4}}); the lists must agree in length above level n."""
    if n < 1:
        raise wrong_call("Join", call, f"the level {n} must be a positive integer")
    if n == 1:
        return _join_lists(xs, call)
    if any(isinstance(x, AbstractArray) for x in xs):  # netdsl check: dimensions only
        shapes = [shape_of(x) or () for x in xs]
        if any(len(s) < n for s in shapes) or len({s[:n - 1] + s[n:] for s in shapes}) != 1:
            raise EvaluationError(f"Join at level {n} needs arrays of equal dimensions "
                                  f"except at that level in {short(call)}.", symbol="Join",
                                  tag="datadep")
        first = next(x for x in xs if isinstance(x, AbstractArray))
        s0 = shapes[0]
        joined: int = sum(s[n - 1] for s in shapes)
        return _abstract(s0[:n - 1] + (joined,) + s0[n:], first)
    for i, x in enumerate(xs, 1):
        if _atomic(x) or isinstance(x, Association):
            raise _nonatomic("Join", call, i)
    arrays = [np.asarray(x) for x in xs if isinstance(x, np.ndarray)]
    if len(arrays) == len(xs) and all(a.ndim >= n for a in arrays) and len(
            {a.shape[:n - 1] + a.shape[n:] for a in arrays}) == 1 \
            and len({a.dtype.kind in "iu" for a in arrays}) == 1:
        return packed(np.concatenate(arrays, axis=n - 1))
    parts = [_items(x) for x in xs]
    if len({len(p) for p in parts}) != 1:
        raise EvaluationError(f"Objects of unequal length in {short(call)} cannot be "
                              f"combined.", symbol="Join", tag="incom")
    head = head_of(xs[0])
    return _rebuild(head, [_join_at(tuple(p[i] for p in parts), n - 1, call)
                           for i in range(len(parts[0]))])


def _join_lists(xs: tuple, call: Any) -> Any:
    if not xs:
        return Expr(List)
    if all(isinstance(x, Association) for x in xs):
        return Association(r for x in xs for r in x.rules)
    if any(isinstance(x, AbstractArray) for x in xs):  # netdsl check: dimensions only
        return _abstract_join(xs, call)
    for i, x in enumerate(xs, 1):
        if _atomic(x) or isinstance(x, Association):
            raise _nonatomic("Join", call, i)
    heads = [head_of(x) for x in xs]
    for i, h in enumerate(heads[1:], 2):
        if not same_q(h, heads[0]):
            raise EvaluationError(f"Heads {short(heads[0])} and {short(h)} at positions 1 and "
                                  f"{i} are expected to be the same.", symbol="Join", tag="heads")
    arrays = [x for x in xs if not (isinstance(x, Expr) and not x.args)]  # {} joins as nothing
    if arrays and all(isinstance(a, np.ndarray) for a in arrays):
        kinds = {a.dtype.kind in "iu" for a in arrays}
        if len(kinds) == 1 and len({a.shape[1:] for a in arrays}) == 1:
            return packed(np.concatenate(arrays))
    items = [i for x in xs for i in _items(x)]
    return _rebuild(heads[0], items)


def _abstract_join(xs: tuple, call: Any) -> Any:
    """netdsl check: Join of arrays known by dimensions (equal after the first)."""
    shapes = [s for s in (shape_of(x) for x in xs) if s]
    if len(shapes) != len(xs) or len({s[1:] for s in shapes}) != 1:
        raise EvaluationError(f"Join needs arrays of equal dimensions after the first in "
                              f"{short(call)}.", symbol="Join", tag="datadep")
    first = next(x for x in xs if isinstance(x, AbstractArray))
    return _abstract((sum(s[0] for s in shapes),) + shapes[0][1:], first)


def _level_count(spec: Any, name: str, call: Any) -> int:
    if is_integer(spec) and spec >= 0:
        return spec
    if spec is Infinity:
        return 10 ** 9
    raise wrong_call(name, call, f"{short(spec)} is not a non-negative level count")


def _flatten(x: Any, depth: int, head: Any) -> list[Any]:
    out: list[Any] = []
    parts = _parts(x)
    for c in parts[1] if parts is not None else []:
        if depth > 0 and isinstance(c, (Expr, np.ndarray)) and same_q(head_of(c), head):
            out.extend(_flatten(c, depth - 1, head))
        else:
            out.append(c)
    return out


@builtin("Flatten", ("Flatten[list]", "Flatten[list, n]", "Flatten[list, {{1, 3}, {2}}]"),
         "flattens nested lists (all levels, or the top n); with lists of levels, level i "
         "of the result combines the levels listed in the ith list", args=(1, 2),
         section="Lists and arrays")
def _flatten_fn(ev, x, *n):
    call = Expr(S("Flatten"), x, *n)
    groups = level_groups(n[0]) if n and is_list(n[0]) else None
    if groups is not None:
        if isinstance(x, AbstractArray):   # netdsl check: the dimensions of the result
            if max(i for g in groups for i in g) > len(x.shape):
                raise wrong_call("Flatten", call, f"{short(n[0])} names levels deeper than "
                                                  f"the array's {len(x.shape)}")
            return _abstract(flattened_shape(x.shape, groups), x)
        if _atomic(x) or isinstance(x, Association):
            raise _nonatomic("Flatten", call)
        return flatten_levels(x, groups, "Flatten", call)
    depth = _level_count(n[0], "Flatten", call) if n else 10 ** 9
    if isinstance(x, AbstractArray):  # netdsl check: the dimensions of the result
        k = min(depth, len(x.shape) - 1)
        return _abstract((math.prod(x.shape[:k + 1]),) + x.shape[k + 1:], x)
    if isinstance(x, np.ndarray):
        k = min(depth, x.ndim - 1)
        return _empty_list_if_empty(x.reshape((math.prod(x.shape[:k + 1]),) + x.shape[k + 1:]))
    if not isinstance(x, Expr):
        raise _nonatomic("Flatten", call)
    return _rebuild(x.head, _flatten(x, depth, x.head))


@builtin("Partition", ("Partition[list, n]", "Partition[list, n, d]",
                       "Partition[list, n, d, {kL, kR}]", "Partition[list, n, d, {kL, kR}, x]"),
         "sublists of length n (offset d, default n); an incomplete tail is dropped. With "
         "{kL, kR} the first element sits at position kL of the first sublist and the last "
         "at or after position kR of the last; the overhang is filled cyclically from the "
         "list, with x, cyclically from a list of x's, or not at all for {}",
         args=(2, 5), section="Lists and arrays")
def _partition(ev, x, n, d=None, overhang=None, padding=None):
    call = Expr(S("Partition"), x, n, *[a for a in (d, overhang, padding) if a is not None])
    d = n if d is None else d
    for k, v in ((2, n), (3, d)):
        if not (is_integer(v) and v > 0):
            raise EvaluationError(f"Single or list of positive machine-size integers expected at "
                                  f"position {k} of {short(call)}.", symbol="Partition",
                                  tag="ilsmp")
    if overhang is not None:
        return _partition_overhang(x, n, d, overhang, padding, call)
    if isinstance(x, AbstractArray) and x.shape:  # netdsl check: dimensions only
        count = 0 if x.shape[0] < n else (x.shape[0] - n) // d + 1
        return _abstract((count, n) + x.shape[1:], x)
    if _atomic(x) or isinstance(x, Association):
        raise _nonatomic("Partition", call)
    length = _length_at(x)
    count = 0 if length < n else (length - n) // d + 1
    if count == 0:
        return _rebuild(head_of(x), [])
    check_size((count, n) + (x.shape[1:] if isinstance(x, np.ndarray) else ()),
               x.itemsize if isinstance(x, np.ndarray) else 8)
    if isinstance(x, np.ndarray):
        windows = np.lib.stride_tricks.sliding_window_view(x, n, axis=0)[::d][:count]
        return packed(np.ascontiguousarray(np.moveaxis(windows, -1, 1)))
    head, items = _parts(x)
    return _rebuild(head, [_rebuild(head, items[i * d:i * d + n]) for i in range(count)])


def _partition_overhang(x, n, d, overhang, padding, call):
    """Partition[list, n, d, {kL, kR}, pad]: sublists start where the first element lands at
    position kL of the first sublist and continue while the last element can still sit at
    position kR or later. A position i outside the list (1-based, relative to its start)
    takes pad's element (i - 1) mod Length[pad] + 1 (so padding lines up as PadLeft and
    PadRight align it), the list's own element cyclically without pad, and nothing for {}
    or Nothing (sublists of different lengths)."""
    ks = list_items(overhang) if is_list(overhang) else None
    if not (ks is not None and len(ks) == 2
            and all(is_integer(k) and k != 0 and -n <= k <= n for k in ks)):
        raise EvaluationError(f"The overhang {short(overhang)} in {short(call)} is not a pair "
                              f"{{kL, kR}} of non-zero positions between -{n} and {n}.",
                              symbol="Partition", tag="ovhg")
    if _atomic(x) or isinstance(x, Association):
        raise _nonatomic("Partition", call)
    head, items = _parts(x)
    length = len(items)
    if length == 0:
        return _rebuild(head, [])
    k_left, k_right = (int(k) if k > 0 else n + int(k) + 1 for k in ks)
    if padding is None:
        pad, cyclic = items, True
    else:
        pad = list_items(padding) if is_list(padding) else [padding]
        cyclic = False
    out, start = [], 1 - (k_left - 1)
    while start <= length - k_right + 1:
        row = []
        for i in range(start, start + n):
            if 1 <= i <= length:
                row.append(items[i - 1])
            elif pad:
                row.append(pad[(i - 1) % len(pad)])
        if not cyclic:
            row = [v for v in row if v is not S("Nothing")]
        out.append(_rebuild(head, row))
        start += d
    return _rebuild(head, out)


# ---------------------------------------------------------------- Transpose, Reverse
@builtin("Transpose", ("Transpose[m]", "Transpose[list, {n1, n2, ...}]",
                       "Transpose[list, m <-> n]"),
         "swaps the first two levels (rows and columns); level k goes to level nk; "
         "m <-> n swaps levels m and n", args=(1, 2), section="Lists and arrays")
def _transpose(ev, x, perm=None):
    call = Expr(S("Transpose"), x, *([] if perm is None else [perm]))
    if perm is not None:
        return _transpose_perm(x, perm, call)
    if isinstance(x, AbstractArray):  # netdsl check: the first two dimensions swap
        s = x.shape
        return x if len(s) < 2 else AbstractArray((s[1], s[0]) + s[2:], x.what)
    if isinstance(x, np.ndarray):
        return x if x.ndim < 2 else packed(np.swapaxes(x, 0, 1))

    def cannot():
        return EvaluationError(f"The first two levels of {_show(x)} cannot be transposed.",
                               symbol="Transpose", tag="nmtx")
    if not (isinstance(x, Expr) and x.head is List):
        raise cannot()
    rows = x.args
    if not any(is_list(r) for r in rows):
        return x  # a vector (or {}) is its own transpose
    if not all(is_list(r) for r in rows):
        raise cannot()
    columns = [list_items(r) for r in rows]
    width = {len(c) for c in columns}
    if len(width) != 1:
        raise cannot()
    return make_list(make_list(c[j] for c in columns) for j in range(width.pop()))


def _transpose_perm(x: Any, perm: Any, call: Any) -> Any:
    p = swap_permutation(perm) or _as_int_list(perm)
    if p is None or sorted(p) != list(range(1, len(p) + 1)):
        raise EvaluationError(f"{short(perm)} in {short(call)} is not a permutation.",
                              symbol="Transpose", tag="perm")
    # packed arrays in one NumPy transpose; other lists (any elements, each keeping its
    # kind) by the positions of their elements
    rank = len(x.shape) if isinstance(x, AbstractArray) else \
        0 if _atomic(x) or isinstance(x, Association) else len(full_dims(x))
    if len(p) > rank:
        raise EvaluationError(f"{short(perm)} in {short(call)} moves level {len(p)}, but "
                              f"{_show(x)} is a full array of depth {rank} only.",
                              symbol="Transpose", tag="perm")
    full = p + list(range(len(p) + 1, rank + 1))
    axes = [full.index(j + 1) for j in range(rank)]  # input level k goes to level full[k]
    if isinstance(x, AbstractArray):
        return AbstractArray(tuple(x.shape[k] for k in axes), x.what)
    return rearrange(x, rank, lambda a: np.transpose(a, axes + list(range(rank, a.ndim))))


@builtin("Reverse", ("Reverse[list]", "Reverse[list, n]", "Reverse[list, {n1, n2, ...}]"),
         "the elements in reverse order (or the elements at level n, or at each level ni)",
         args=(1, 2), section="Lists and arrays")
def _reverse(ev, x, levels=None):
    if levels is not None:
        return _reverse_levels(x, levels, Expr(S("Reverse"), x, levels))
    if isinstance(x, np.ndarray):
        return packed(x[::-1])
    if isinstance(x, Association):
        return Association(x.rules[::-1])
    split = _parts(x)
    if split is None:
        raise _nonatomic("Reverse", Expr(S("Reverse"), x))
    return _rebuild(split[0], split[1][::-1])


def _reverse_levels(x: Any, spec: Any, call: Any) -> Any:
    """Reverse[x, {n1, n2, ...}]: the elements at each level ni reversed (one np.flip for
    a packed array deep enough)."""
    wanted = _as_int_list(spec) if is_list(spec) else [spec] if is_integer(spec) else None
    if not wanted or any(not is_integer(n) or n < 1 for n in wanted):
        raise wrong_call("Reverse", call, f"{short(spec)} is not a level n >= 1 or a list "
                                          f"of them")
    levels = {int(n) for n in wanted}
    if isinstance(x, np.ndarray) and max(levels) <= x.ndim:
        return packed(np.flip(x, axis=tuple(n - 1 for n in levels)))

    def go(y: Any, depth: int) -> Any:
        if depth > max(levels):
            return y
        split = _parts(y)
        if split is None or isinstance(y, Association):
            return y
        head, items = split
        items = [go(i, depth + 1) for i in items]
        return _rebuild(head, items[::-1] if depth in levels else items)
    if _parts(x) is None:
        raise _nonatomic("Reverse", call)
    return go(x, 1)


# ---------------------------------------------------------------- Normal, Keys, Values, Lookup
def normal(x: Any) -> Any:
    """Wolfram's Normal: special objects (associations, nets' arrays) to ordinary expressions."""
    if isinstance(x, Opaque) and hasattr(x, "normal"):
        return x.normal()
    if isinstance(x, Association):
        return make_list(Expr(RuleDelayed if d else Rule, k, normal(v)) for k, v, d in x.rules)
    if isinstance(x, Expr):
        return Expr(normal(x.head), *[normal(a) for a in x.args]) if x.head is not List \
            else make_list(normal(a) for a in x.args)
    return x


@builtin("Normal", "Normal[expr]", "an ordinary expression: an association becomes a list of "
                                   "rules, a net's array a list, a NetChain the list (or "
                                   "association) of its layers; lists are unchanged",
         args=1, section="Lists and arrays")
def _normal(ev, x):
    return normal(x)


def _rules_of(x: Any) -> list[tuple[Any, Any, bool]] | None:
    """An association's rules, or those of a list of rules."""
    if isinstance(x, Association):
        return list(x.rules)
    if isinstance(x, Expr) and x.head is List and all(is_rule(r) for r in x.args):
        return [(r.args[0], r.args[1], r.head is RuleDelayed) for r in x.args]
    return None


def _keys_values(ev, x: Any, name: str, pick: Callable) -> Any:
    if is_rule(x):
        return pick(ev, (x.args[0], x.args[1], x.head is RuleDelayed))
    rules = _rules_of(x)
    if rules is not None:
        return make_list(pick(ev, r) for r in rules)
    if isinstance(x, Expr) and x.head is List:
        return make_list(_keys_values(ev, a, name, pick) for a in x.args)
    raise EvaluationError(f"The argument {short(x)} is not a valid Association or a list of "
                          f"rules.", symbol=name, tag="invrl")


@builtin("Keys", "Keys[assoc]", "the keys of an association (or the left sides of rules)",
         args=1, section="Lists and arrays")
def _keys(ev, x):
    return _keys_values(ev, x, "Keys", lambda ev, r: r[0])


@builtin("Values", "Values[assoc]", "the values of an association (or the right sides of rules)",
         args=1, section="Lists and arrays")
def _values(ev, x):
    return _keys_values(ev, x, "Values", _assoc_value)


@builtin("Lookup", ("Lookup[assoc, key]", "Lookup[assoc, key, default]",
                    "Lookup[assoc, {k1, k2, ...}]"),
         "the value of key, else Missing[\"KeyAbsent\", key] or default (evaluated only if "
         "needed)", args=(2, 3), attributes=(HOLD_REST,), section="Lists and arrays")
def _lookup(ev, x, key_expr, *default):
    key = ev.evaluate(key_expr)
    if isinstance(x, Expr) and x.head is List and x.args and all(
            isinstance(a, Association) or _rules_of(a) is not None for a in x.args):
        return make_list(_lookup_one(ev, a, key, default) for a in x.args)
    if _rules_of(x) is None:
        raise EvaluationError(f"The argument {short(x)} is not a valid Association or a list of "
                              f"rules.", symbol="Lookup", tag="invrl")
    return _lookup_one(ev, x, key, default)


def _lookup_one(ev, x: Any, key: Any, default: tuple) -> Any:
    assoc = x if isinstance(x, Association) else Association(_rules_of(x) or [])
    if is_list(key):
        return make_list(_lookup_key(ev, assoc, k, default) for k in list_items(key))
    return _lookup_key(ev, assoc, key, default)


def _lookup_key(ev, assoc: Association, key: Any, default: tuple) -> Any:
    if isinstance(key, Expr) and key.head is Key and len(key.args) == 1:
        key = key.args[0]
    if key in assoc:
        return _assoc_value(ev, assoc.rules[_position_of(assoc, key)])
    if default:
        return ev.evaluate(default[0])
    return Expr(Missing, "KeyAbsent", key)


# ---------------------------------------------------------------- Thread, Map, Apply, Select
@builtin("Thread", ("Thread[f[{a1, a2}, {b1, b2}]]", "Thread[{a, b} -> {c, d}]"),
         "threads f over lists: {f[a1, b1], f[a2, b2]}; non-lists are repeated", args=1,
         section="Functional")
def _thread(ev, x):
    if not isinstance(x, Expr):
        return x
    rows = {i: r for i, a in enumerate(x.args) if (r := _abstract_rows(a)) is not None}
    lists = [a for a in x.args if is_list(a)]
    if not lists and not rows:
        return x
    lengths = {_length_at(a) for a in lists} | {r[0] for r in rows.values()}
    if len(lengths) > 1:
        raise EvaluationError(f"Objects of unequal length in {short(x)} cannot be combined.",
                              symbol="Thread", tag="tdlen")
    n = lengths.pop()
    # (netdsl check: an array known by its dimensions gives n rows alike)
    columns = [[rows[i][1]] * n if i in rows else list_items(a) if is_list(a) else [a] * n
               for i, a in enumerate(x.args)]
    return make_list(ev.call(x.head, *row) for row in zip(*columns))


def _level_spec(spec: Any, name: str, call: Any) -> tuple[Any, Any]:
    """Levels n (1 through n), {n} (just n), {m, n}, Infinity, as (lowest, highest)."""
    if is_integer(spec) and spec >= 0:
        return 1, spec
    if spec is Infinity:
        return 1, math.inf
    ints = [a if is_integer(a) else (math.inf if a is Infinity else None)
            for a in (list_items(spec) if is_list(spec) else [None])]
    if 1 <= len(ints) <= 2 and all(i is not None and i >= 0 for i in ints):
        return ints[0], ints[-1]
    raise wrong_call(name, call, f"{short(spec)} is not a level specification "
                                 f"(n, {{n}}, {{m, n}} or Infinity)")


# built-ins that act element by element, so f /@ array is f[array], computed in one NumPy call
_ELEMENTWISE = frozenset({"Sqrt", "Exp", "Log", "Tanh", "Sin", "Cos", "Abs", "Ramp",
                          "LogisticSigmoid", "Erf", "Round", "Floor", "Ceiling", "N", "Minus",
                          "Chop"})


ABSTRACT_SPLIT = 100_000   # netdsl check: rows of an abstract array passed one by one


def _abstract_rows(x: Any) -> tuple[int, AbstractArray] | None:
    """netdsl check: (count, one row) of an AbstractArray, whose rows are all alike."""
    if isinstance(x, AbstractArray) and x.shape and isinstance(x.shape[0], int) \
            and x.shape[0] <= ABSTRACT_SPLIT:
        return x.shape[0], AbstractArray(x.shape[1:], x.what)
    return None


def _stack_alike(count: int, row: Any, like: AbstractArray) -> Any:
    """netdsl check: ``count`` copies of one computed row, as dimensions when it is data."""
    if isinstance(row, AbstractArray):
        return _abstract((count,) + row.shape, row)
    if isinstance(row, np.ndarray) or is_number(row):
        return _abstract((count,) + np.shape(row), like)
    if isinstance(row, str):   # text made from data (ToString /@ labels): not known either
        return _abstract((count,), like)
    return make_list([row] * count)


PROBE_ROW = 100_000   # netdsl check: elements of a row of zeros f may be tried on


def _unresolved(value: Any) -> bool:
    """netdsl check: f on an abstract row gave back a call it could not evaluate
    (Total[AbstractArray[{}]], Norm[AbstractArray[{4, 2}]]): its dimensions are unknown."""
    from .abstract import holds_abstract
    return isinstance(value, Expr) and value.head is not List and holds_abstract(value, 1)


def _zeros_row(row: AbstractArray) -> Any:
    """A row of zeros of ``row``'s dimensions (None when too large or not fixed)."""
    if not all(isinstance(d, int) for d in row.shape) or math.prod(row.shape) > PROBE_ROW:
        return None
    return 0.0 if not row.shape else packed(np.zeros(row.shape))


def _on_row(ev, go: Any, row: AbstractArray, count: int = 1) -> Any:
    """netdsl check: ``go(row)`` for an abstract row; when f cannot take an abstract row,
    f on zeros of its dimensions stands in if that gives numeric data (whose dimensions
    are all that is kept). An error on zeros may come from their values: it is reported
    as not checked (datadep), never as the program's mistake."""
    value = go(row)
    if not _unresolved(value):
        return value
    zeros = _zeros_row(row)
    if zeros is None or count * max(1, math.prod(row.shape)) > PROBE_ROW:
        return value
    try:
        tried = go(zeros)
    except NetDSLError as e:
        raise EvaluationError(f"{short(value, 60)} needs numbers that netdsl check does not "
                              f"compute ({e.text})", symbol=e.symbol, tag="datadep") from e
    from .abstract import shape_of
    if shape_of(tried) is None:
        return value
    return AbstractArray(shape_of(tried) or (), row.what)


def _map_levels(ev, f: Any, x: Any, lo: float, hi: float, depth: int) -> Any:
    rows = _abstract_rows(x) if depth < hi else None
    if rows is not None:   # netdsl check: f on one row stands for f on each
        count, row = rows
        x = _stack_alike(count, _on_row(ev, lambda r: _map_levels(ev, f, r, lo, hi, depth + 1),
                                        row), x)
    elif depth < hi:
        if isinstance(x, Association):
            x = Association((k, _map_levels(ev, f, _assoc_value(ev, (k, v, d)), lo, hi,
                                            depth + 1), False) for k, v, d in x.rules)
        else:
            split = _parts(x)
            if split is not None:
                head, items = split
                x = _rebuild(head, [_map_levels(ev, f, i, lo, hi, depth + 1) for i in items])
    return ev.call(f, x) if depth >= lo else x


@builtin("Map", ("f /@ expr", "Map[f, expr]", "Map[f, expr, levels]"),
         "applies f to each element (of a list, an array's rows, an association's values)",
         args=(2, 3), section="Functional")
def _map(ev, f, x, levels=None):
    if levels is None:
        if isinstance(x, np.ndarray) and isinstance(f, Symbol) and f.name in _ELEMENTWISE:
            return ev.call(f, x)
        lo, hi = 1, 1
    else:
        lo, hi = _level_spec(levels, "Map", Expr(S("Map"), f, x, levels))
    return _map_levels(ev, f, x, lo, hi, 0)


def _apply_levels(ev, f: Any, x: Any, lo: float, hi: float, depth: int) -> Any:
    if isinstance(x, Association):
        if depth < hi:
            x = Association((k, _apply_levels(ev, f, _assoc_value(ev, (k, v, d)), lo, hi,
                                              depth + 1), False) for k, v, d in x.rules)
        return ev.call(f, *[_assoc_value(ev, r) for r in x.rules]) if depth >= lo else x
    rows = _abstract_rows(x)
    if rows is not None:   # netdsl check: its rows are alike, f applied to one stands for all
        count, row = rows
        if depth < hi:
            row = _on_row(ev, lambda r: _apply_levels(ev, f, r, lo, hi, depth + 1), row)
        if depth < lo:
            return _stack_alike(count, row, x)
        if isinstance(row, AbstractArray):
            return _on_row(ev, lambda r: ev.call(f, *[r] * count), row, count)
        return ev.call(f, *[row] * count)
    split = _parts(x)
    if split is None:
        return x
    head, items = split
    if depth < hi:
        items = [_apply_levels(ev, f, i, lo, hi, depth + 1) for i in items]
    return ev.call(f, *items) if depth >= lo else _rebuild(head, items)


@builtin("Apply", ("f @@ expr", "Apply[f, expr]", "Apply[f, expr, levels]"),
         "replaces the head of expr by f: f @@ {a, b} is f[a, b]", args=(2, 3),
         section="Functional")
def _apply(ev, f, x, levels=None):
    if levels is None:
        lo, hi = 0, 0
    else:
        lo, hi = _level_spec(levels, "Apply", Expr(S("Apply"), f, x, levels))
    return _apply_levels(ev, f, x, lo, hi, 0)


@builtin("Select", ("Select[list, crit]", "Select[list, crit, n]"),
         "the elements for which crit gives True (the first n of them)", args=(2, 3),
         section="Functional")
def _select(ev, x, crit, n=None):
    call = Expr(S("Select"), x, crit, *([] if n is None else [n]))
    if not (n is None or n is Infinity or (is_integer(n) and n >= 0)):
        raise wrong_call("Select", call, f"{short(n)} is not a non-negative integer")
    limit = math.inf if n is None or n is Infinity else n
    if isinstance(x, Association):
        kept = []
        for r in x.rules:
            if len(kept) >= limit:
                break
            if ev.call(crit, _assoc_value(ev, r)) is S("True"):
                kept.append(r)
        return Association(kept)
    split = _parts(x)
    if split is None:
        raise _nonatomic("Select", call)
    head, items = split
    out = []
    for item in items:
        if len(out) >= limit:
            break
        if ev.call(crit, item) is S("True"):
            out.append(item)
    return _rebuild(head, out)
