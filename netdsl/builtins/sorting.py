"""Sorting, sets and counting: Sort, SortBy, Ordering, Union, Intersection, Complement,
DeleteDuplicates, Tally, Counts, GroupBy, Gather, TakeLargest, MaximalBy, Commonest...

Canonical order (Wolfram's ``Order``, used by Sort, Union, Ordering, KeySort), as
netdsl implements it:

- numbers first, by numerical value; equal values: Real before Rational before Integer
  (``Union[{1, 1.}]`` is ``{1., 1}``);
- then strings, compared letter by letter ignoring case first, lowercase before
  uppercase on a tie (``"a" < "A" < "b" < "B"``), other characters by code point;
- then symbols, by name in the same order as strings (``{a, A, b, B}``);
- then compound expressions: shorter first, then the head, then the elements in turn
  (``{{4}, {1, 2}, {1, 2, 3}}``); lists and other heads alike;
- then associations, then other atoms (nets) by their text.

Not implemented: Wolfram's polynomial ordering of ``Plus``/``Times``/``Power`` terms
(they sort as ordinary expressions). Packed arrays are sorted with NumPy.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from ..errors import EvaluationError
from ..expr import (Association, Expr, List, Opaque, Symbol, boolean, hash_key, is_integer,
                    is_list, is_number, list_items, make_list, packed)
from ..printer import short
from .lists import _parts, _rebuild, elements_of
from .registry import HEAD_APPLIERS, NOT_APPLICABLE, OPERATOR_FORMS, builtin, wrong_call

S = Symbol
TrueS, FalseS = S("True"), S("False")
Infinity = S("Infinity")
Missing = S("Missing")
SECTION = "Sorting, sets and counting"


# ---------------------------------------------------------------- canonical order
def _text_key(s: str) -> tuple:
    return (s.lower(), s.swapcase())


def canonical_key(x: Any) -> tuple:
    """A Python sort key giving Wolfram's canonical order (see the module docstring)."""
    if isinstance(x, bool):
        x = TrueS if x else FalseS
    if is_number(x):
        if isinstance(x, float) and math.isnan(x):
            return (0, math.inf, 0)
        tie = 0 if isinstance(x, float) else 1 if isinstance(x, Fraction) else 2
        return (0, x, tie)
    if isinstance(x, str):
        return (1, _text_key(x))
    if isinstance(x, Symbol):
        return (2, _text_key(x.name))
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            return canonical_key(x.item())
        if x.ndim == 1:
            return (3, x.shape[0], (2, _text_key("List")),
                    tuple(canonical_key(v) for v in x.tolist()))
        return (3, x.shape[0], (2, _text_key("List")), tuple(canonical_key(r) for r in x))
    if isinstance(x, Expr):
        return (3, len(x.args), canonical_key(x.head), tuple(canonical_key(a) for a in x.args))
    if isinstance(x, Association):
        return (4, len(x), tuple((canonical_key(k), canonical_key(v)) for k, v in x.items()))
    return (5, str(x) if isinstance(x, Opaque) else repr(x))


def order(a: Any, b: Any) -> int:
    """Wolfram's ``Order[a, b]``: 1 if a comes first, -1 if after, 0 if the same."""
    ka, kb = canonical_key(a), canonical_key(b)
    return 0 if ka == kb else 1 if ka < kb else -1


@builtin("Order", "Order[a, b]", "1 if a comes before b in canonical order, -1 if after, 0 if "
                                "they are identical", args=2, section=SECTION)
def _order(ev, a, b):
    return order(a, b)


@builtin("OrderedQ", ("OrderedQ[list]", "OrderedQ[list, p]"),
         "True if the elements are in canonical order (or in order under p)", args=(1, 2),
         section=SECTION)
def _ordered_q(ev, x, p=None):
    items = x.values() if isinstance(x, Association) else \
        elements_of(x, "OrderedQ", Expr(S("OrderedQ"), x))[1]
    if p is None:
        keys = [canonical_key(e) for e in items]
        return boolean(all(a <= b for a, b in zip(keys, keys[1:])))
    before = in_order(ev, p)
    return boolean(all(before(a, b) for a, b in zip(items, items[1:])))


_NUMERIC_ORDERS = {"Less": False, "LessEqual": False, "Greater": True, "GreaterEqual": True}


def in_order(ev, p: Any) -> Callable[[Any, Any], bool]:
    """Whether a may stay before b under Wolfram's ordering function ``p``: p[a, b] of
    -1 or False puts b first; 1, True, 0 or anything else keeps a first."""
    def before(a, b):
        r = ev.call(p, a, b)
        return not (r is FalseS or (is_integer(r) and r == -1))
    return before


def merge_sort(items: list[Any], before: Callable[[Any, Any], bool]) -> list[Any]:
    """A stable merge sort asking ``before(earlier, later)`` only, so that an ordering
    function that answers neither way (``Greater[a, b]`` unevaluated) keeps the order."""
    if len(items) <= 1:
        return list(items)
    mid = len(items) // 2
    left, right = merge_sort(items[:mid], before), merge_sort(items[mid:], before)
    out = []
    i = j = 0
    while i < len(left) and j < len(right):
        if before(left[i], right[j]):
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    return out + left[i:] + right[j:]


def _numeric_packed(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.ndim >= 1 and x.dtype.kind in "iuf"


def _argsort_rows(a: np.ndarray) -> np.ndarray:
    """Stable canonical order of a packed array's rows (numbers by value; rows of equal
    length compare element by element)."""
    if a.ndim == 1:
        return np.argsort(a, kind="stable")   # Ordering needs positions; Sort uses np.sort
    flat = a.reshape(a.shape[0], -1)
    if flat.shape[1] == 0:            # rows of no elements ({{}, {}}): all equal
        return np.arange(a.shape[0])
    return np.lexsort(flat.T[::-1])


def sort_items(ev, items: list[Any], p: Any = None) -> list[Any]:
    if p is None or p is S("Order"):
        return sorted(items, key=canonical_key)
    if isinstance(p, Symbol) and p.name in _NUMERIC_ORDERS and all(is_number(i) for i in items):
        return sorted(items, reverse=_NUMERIC_ORDERS[p.name])
    return merge_sort(items, in_order(ev, p))


@builtin("ReverseSort", ("ReverseSort[list]", "ReverseSort[list, p]"),
         "the elements in reverse canonical order (or reversed from Sort[list, p])",
         args=(1, 2), section=SECTION)
def _reverse_sort(ev, x, p=None):
    out = _sort(ev, x, p)
    if isinstance(out, np.ndarray):
        return packed(out[::-1])
    if isinstance(out, Association):
        return Association(out.rules[::-1])
    head, items = elements_of(out, "ReverseSort", Expr(S("ReverseSort"), x))
    return _rebuild(head, items[::-1])


@builtin("Sort", ("Sort[list]", "Sort[list, p]"),
         "the elements in canonical order (numbers, strings, symbols, expressions), or "
         "ordered by p (p[a, b] True or 1: a first)", args=(1, 2), section=SECTION)
def _sort(ev, x, p=None):
    call = Expr(S("Sort"), x, *([] if p is None else [p]))
    if _numeric_packed(x):
        if p is None or p is S("Order"):
            return packed(np.sort(x) if x.ndim == 1 else x[_argsort_rows(x)])
        if x.ndim == 1 and isinstance(p, Symbol) and p.name in _NUMERIC_ORDERS:
            out = np.sort(x)
            return packed(out[::-1] if _NUMERIC_ORDERS[p.name] else out)
    if isinstance(x, Association):
        if p is None:
            rules = sorted(x.rules, key=lambda r: canonical_key(r[1]))
        else:
            before = in_order(ev, p)
            rules = merge_sort(list(x.rules), lambda r, s: before(r[1], s[1]))
        return Association(rules)
    head, items = elements_of(x, "Sort", call)
    return _rebuild(head, sort_items(ev, items, p))


def _by_keys(ev, f: Any, items: list[Any]) -> list[Any]:
    """Canonical keys of f[e] (f a function or a list of functions, compared in turn),
    the element itself breaking ties, as SortBy does."""
    fs = list_items(f) if is_list(f) else [f]
    return [tuple(canonical_key(ev.call(g, e)) for g in fs) + (canonical_key(e),)
            for e in items]


@builtin("SortBy", ("SortBy[list, f]", "SortBy[list, {f1, f2, ...}]", "SortBy[list, f, p]",
                    "SortBy[f][list]"),
         "the elements sorted by the canonical order of f[e] (ties by f2..., then by e)",
         args=(2, 3), section=SECTION)
def _sort_by(ev, x, f, p=None):
    call = Expr(S("SortBy"), x, f, *([] if p is None else [p]))
    if isinstance(x, Association):
        vals = [v for _, v in x.items()]
        keys = _by_keys(ev, f, vals) if p is None else None
        idx = _order_by(ev, vals, keys, f, p)
        return Association([x.rules[i] for i in idx])
    head, items = elements_of(x, "SortBy", call)
    keys = _by_keys(ev, f, items) if p is None else None
    return _rebuild(head, [items[i] for i in _order_by(ev, items, keys, f, p)])


def _order_by(ev, items: list, keys: list | None, f: Any, p: Any) -> list[int]:
    if keys is not None:
        return sorted(range(len(items)), key=keys.__getitem__)
    fx = [ev.call(f, e) for e in items]
    before = in_order(ev, p)
    return merge_sort(list(range(len(items))), lambda i, j: before(fx[i], fx[j]))


@builtin("Ordering", ("Ordering[list]", "Ordering[list, n]", "Ordering[list, -n]",
                      "Ordering[list, n, p]"),
         "the positions that put list in order (the first n, or the last n)", args=(1, 3),
         section=SECTION)
def _ordering(ev, x, n=None, p=None):
    call = Expr(S("Ordering"), x, *[a for a in (n, p) if a is not None])
    if p is None and _numeric_packed(x) and x.ndim == 1 and is_integer(n) \
            and 0 < abs(n) < x.shape[0] // 8:
        return make_list([int(i) + 1 for i in _smallest_first(x, n)])
    if p is None and _numeric_packed(x):
        idx = _argsort_rows(x)
    else:
        items = x.values() if isinstance(x, Association) else elements_of(x, "Ordering", call)[1]
        if p is None:
            keys = [canonical_key(e) for e in items]
            idx = np.array(sorted(range(len(items)), key=keys.__getitem__), dtype=np.int64)
        else:
            before = in_order(ev, p)
            idx = np.array(merge_sort(list(range(len(items))),
                                      lambda i, j: before(items[i], items[j])), dtype=np.int64)
    if isinstance(x, Association):
        keys_ = x.keys()
        picked = _take_count(list(idx), n, "Ordering", call)
        return make_list(Expr(S("Key"), keys_[i]) for i in picked)
    if n is None or n is S("All"):
        return _list_or_empty(idx + 1)
    picked = _take_count(list(idx), n, "Ordering", call)
    return make_list([int(i) + 1 for i in picked])


def _smallest_first(x: np.ndarray, n: int) -> np.ndarray:
    """Positions of the n smallest (n > 0) or the -n largest (n < 0) entries of a vector,
    in Ordering's order (ascending, ties by position), without sorting all of it."""
    k = abs(n)
    part = np.argpartition(x, k - 1)[:k] if n > 0 else np.argpartition(x, -k)[-k:]
    part = part[np.lexsort((part, x[part]))]   # by value, then by position
    return part


def _list_or_empty(a: np.ndarray) -> Any:
    return Expr(List) if a.shape[0] == 0 else packed(a.astype(np.int64))


def _take_count(items: list, n: Any, name: str, call: Any) -> list:
    """The first n (or last -n) of items, as Ordering[list, n] and Take do."""
    if n is None or n is S("All"):
        return items
    if not is_integer(n):
        raise wrong_call(name, call, f"{short(n)} is not an integer")
    if abs(n) > len(items):
        raise EvaluationError(f"Cannot take positions 1 through {n} in {short(call)}.",
                              symbol=name, tag="take")
    return items[:n] if n >= 0 else items[len(items) + n:]


# ---------------------------------------------------------------- sets
def _same_test(ev, opts: dict, test: Any = None) -> Any:
    t = test if test is not None else opts.get("SameTest", S("Automatic"))
    return None if t is S("Automatic") or t is S("SameQ") else t


def _distinct(ev, items: list[Any], test: Any) -> list[Any]:
    """The first of each group of equal elements (SameQ, or the test given), in order."""
    if test is None:
        seen: dict[Any, None] = {}
        out = []
        for e in items:
            k = hash_key(e)
            if k not in seen:
                seen[k] = None
                out.append(e)
        return out
    kept: list[Any] = []
    for e in items:
        if not any(ev.call(test, k, e) is TrueS for k in kept):
            kept.append(e)
    return kept


def _set_lists(xs: tuple, name: str, call: Any) -> tuple[Any, list[list[Any]]]:
    head = None
    out = []
    for k, x in enumerate(xs, 1):
        split = elements_of(x, name, call, k)
        if head is not None and split[0] != head:
            raise EvaluationError(f"Heads {short(head)} and {short(split[0])} at positions 1 and "
                                  f"{k} are expected to be the same.", symbol=name, tag="heads")
        head = split[0]
        out.append(split[1])
    return head, out


def _sorted_distinct(ev, items: list[Any], test: Any) -> list[Any]:
    return _distinct(ev, sort_items(ev, items), test)


@builtin("Union", ("Union[list]", "Union[list1, list2, ...]"),
         "the distinct elements of the lists, in canonical order", args=(1, None),
         options={"SameTest": S("Automatic")}, section=SECTION)
def _union(ev, *xs, opts):
    call = Expr(S("Union"), *xs)
    test = _same_test(ev, opts)
    if test is None and xs and all(_numeric_packed(x) and x.ndim == 1 for x in xs) \
            and len({x.dtype.kind == "f" for x in xs}) == 1:
        return packed(np.unique(np.concatenate(xs)))
    head, lists = _set_lists(xs, "Union", call)
    return _rebuild(head, _sorted_distinct(ev, [e for lst in lists for e in lst], test))


@builtin("Intersection", ("Intersection[list1, list2, ...]",),
         "the distinct elements common to all the lists, in canonical order", args=(1, None),
         options={"SameTest": S("Automatic")}, section=SECTION)
def _intersection(ev, *xs, opts):
    call = Expr(S("Intersection"), *xs)
    test = _same_test(ev, opts)
    head, lists = _set_lists(xs, "Intersection", call)
    if test is None:
        common = set(hash_key(e) for e in lists[0])
        for lst in lists[1:]:
            common &= set(hash_key(e) for e in lst)
        return _rebuild(head, _sorted_distinct(ev, [e for e in lists[0] if hash_key(e) in common],
                                               None))
    kept = [e for e in lists[0]
            if all(any(ev.call(test, e, o) is TrueS for o in lst) for lst in lists[1:])]
    return _rebuild(head, _sorted_distinct(ev, kept, test))


@builtin("Complement", ("Complement[all, list1, list2, ...]",),
         "the distinct elements of all that are in none of the lists, in canonical order",
         args=(1, None), options={"SameTest": S("Automatic")}, section=SECTION)
def _complement(ev, *xs, opts):
    call = Expr(S("Complement"), *xs)
    test = _same_test(ev, opts)
    head, lists = _set_lists(xs, "Complement", call)
    if test is None:
        drop = set(hash_key(e) for lst in lists[1:] for e in lst)
        kept = [e for e in lists[0] if hash_key(e) not in drop]
    else:
        kept = [e for e in lists[0]
                if not any(ev.call(test, e, o) is TrueS for lst in lists[1:] for o in lst)]
    return _rebuild(head, _sorted_distinct(ev, kept, test))


@builtin("DeleteDuplicates", ("DeleteDuplicates[list]", "DeleteDuplicates[list, test]"),
         "the list with later copies of an element removed (order kept)", args=(1, 2),
         section=SECTION)
def _delete_duplicates(ev, x, test=None):
    call = Expr(S("DeleteDuplicates"), x, *([] if test is None else [test]))
    if test is None and _numeric_packed(x) and x.ndim == 1:
        _, first = np.unique(x, return_index=True)
        return packed(x[np.sort(first)])
    if isinstance(x, Association):
        return _assoc_distinct(ev, x, [v for _, v in x.items()], test)
    head, items = elements_of(x, "DeleteDuplicates", call)
    return _rebuild(head, _distinct(ev, items, None if test is S("SameQ") else test))


def _assoc_distinct(ev, x: Association, by: list[Any], test: Any) -> Association:
    tagged = list(zip(by, range(len(by))))
    seen: dict[Any, None] = {}
    kept: list[int] = []
    for value, i in tagged:
        if test is None:
            k = hash_key(value)
            if k in seen:
                continue
            seen[k] = None
        elif any(ev.call(test, by[j], value) is TrueS for j in kept):
            continue
        kept.append(i)
    return Association([x.rules[i] for i in kept])


@builtin("DeleteDuplicatesBy", ("DeleteDuplicatesBy[list, f]", "DeleteDuplicatesBy[f][list]"),
         "the list keeping the first element for each distinct value of f[e]", args=2,
         section=SECTION)
def _delete_duplicates_by(ev, x, f):
    call = Expr(S("DeleteDuplicatesBy"), x, f)
    if isinstance(x, Association):
        return _assoc_distinct(ev, x, [ev.call(f, v) for _, v in x.items()], None)
    head, items = elements_of(x, "DeleteDuplicatesBy", call)
    seen: dict[Any, None] = {}
    out = []
    for e in items:
        k = hash_key(ev.call(f, e))
        if k not in seen:
            seen[k] = None
            out.append(e)
    return _rebuild(head, out)


# ---------------------------------------------------------------- counting and grouping
def _groups(ev, items: list[Any], keys: list[Any], test: Any = None) -> list[tuple[Any, list]]:
    """(key, members) for each distinct key, in order of first appearance."""
    if test is None:
        index: dict[Any, int] = {}
        out: list[tuple[Any, list]] = []
        for e, k in zip(items, keys):
            h = hash_key(k)
            if h not in index:
                index[h] = len(out)
                out.append((k, []))
            out[index[h]][1].append(e)
        return out
    out = []
    for e, k in zip(items, keys):
        for key, members in out:
            if ev.call(test, key, k) is TrueS:
                members.append(e)
                break
        else:
            out.append((k, [e]))
    return out


def _elements(x: Any, name: str, call: Any) -> list[Any]:
    if isinstance(x, Association):
        return x.values()
    return elements_of(x, name, call)[1]


@builtin("Tally", ("Tally[list]", "Tally[list, test]"),
         "{{e1, n1}, {e2, n2}, ...}: each distinct element with how often it occurs",
         args=(1, 2), section=SECTION)
def _tally(ev, x, test=None):
    call = Expr(S("Tally"), x, *([] if test is None else [test]))
    if _numeric_packed(x) and x.ndim == 1 and test is None:
        vals, first, counts = np.unique(x, return_index=True, return_counts=True)
        order_ = np.argsort(first, kind="stable")
        if x.dtype.kind in "iu":
            return _list_or_empty(np.stack([vals[order_], counts[order_]], axis=1)) \
                if len(vals) else Expr(List)
        return make_list(make_list([float(v), int(c)]) for v, c in zip(vals[order_],
                                                                       counts[order_]))
    if not is_list(x):
        raise EvaluationError(f"List expected at position 1 in {short(call)}.",
                              symbol="Tally", tag="list")
    items = list_items(x)
    groups = _groups(ev, items, items, None if test is S("SameQ") else test)
    return make_list(make_list([k, len(m)]) for k, m in groups)


def _counts_assoc(groups: list[tuple[Any, list]]) -> Association:
    return Association((k, len(m), False) for k, m in groups)


@builtin("Counts", "Counts[list]", "<|e1 -> n1, ...|>: how often each distinct element occurs",
         args=1, section=SECTION)
def _counts(ev, x):
    if _numeric_packed(x) and x.ndim == 1:
        vals, first, counts = np.unique(x, return_index=True, return_counts=True)
        order_ = np.argsort(first, kind="stable")
        return Association((v, int(c), False) for v, c in zip(vals[order_].tolist(),
                                                              counts[order_].tolist()))
    items = _elements(x, "Counts", Expr(S("Counts"), x))
    return _counts_assoc(_groups(ev, items, items))


@builtin("CountsBy", ("CountsBy[list, f]", "CountsBy[f][list]"),
         "<|f[e1] -> n1, ...|>: how many elements give each distinct value of f", args=2,
         section=SECTION)
def _counts_by(ev, x, f):
    items = _elements(x, "CountsBy", Expr(S("CountsBy"), x, f))
    return _counts_assoc(_groups(ev, items, [ev.call(f, e) for e in items]))


def _group_by(ev, x: Any, f: Any, reducer: Any, call: Any) -> Any:
    if is_list(f) and not isinstance(f, np.ndarray):
        fs = list_items(f)
        if not fs:
            return x
        grouped = _group_by(ev, x, fs[0], None, call)
        rest = make_list(fs[1:])
        return Association((k, _group_by(ev, v, rest, reducer, call) if fs[1:] else
                            (ev.call(reducer, v) if reducer is not None else v), False)
                           for k, v in grouped.items())
    kf, vf = (f.args[0], f.args[1]) if isinstance(f, Expr) and f.head is S("Rule") \
        and len(f.args) == 2 else (f, None)
    if isinstance(x, Association):
        rules = list(x.rules)
        keys = [ev.call(kf, v) for _, v, _ in rules]
        groups = _groups(ev, rules, keys)
        out = []
        for k, members in groups:
            sub = Association((rk, ev.call(vf, rv) if vf is not None else rv, False)
                              for rk, rv, _ in members)
            out.append((k, ev.call(reducer, sub) if reducer is not None else sub, False))
        return Association(out)
    items = elements_of(x, "GroupBy", call)[1]
    groups = _groups(ev, items, [ev.call(kf, e) for e in items])
    out = []
    for k, members in groups:
        vals = make_list(ev.call(vf, e) if vf is not None else e for e in members)
        out.append((k, ev.call(reducer, vals) if reducer is not None else vals, False))
    return Association(out)


@builtin("GroupBy", ("GroupBy[list, f]", "GroupBy[list, f -> g]", "GroupBy[list, f, reducer]",
                     "GroupBy[list, {f1, f2, ...}]", "GroupBy[f][list]"),
         "<|f[e] -> {elements with that value}, ...|> (values mapped by g, reduced by reducer)",
         args=(2, 3), section=SECTION)
def _group_by_fn(ev, x, f, reducer=None):
    return _group_by(ev, x, f, reducer, Expr(S("GroupBy"), x, f,
                                             *([] if reducer is None else [reducer])))


@builtin("Gather", ("Gather[list]", "Gather[list, test]"),
         "sublists of identical elements (or elements for which test gives True), in order "
         "of first appearance", args=(1, 2), section=SECTION)
def _gather(ev, x, test=None):
    call = Expr(S("Gather"), x, *([] if test is None else [test]))
    head, items = elements_of(x, "Gather", call)
    groups = _groups(ev, items, items, None if test is S("SameQ") else test)
    return _rebuild(head, [_rebuild(head, m) for _, m in groups])


def _gather_by(ev, head: Any, items: list[Any], fs: list[Any]) -> Any:
    groups = _groups(ev, items, [ev.call(fs[0], e) for e in items])
    if len(fs) == 1:
        return _rebuild(head, [_rebuild(head, m) for _, m in groups])
    return _rebuild(head, [_gather_by(ev, head, m, fs[1:]) for _, m in groups])


@builtin("GatherBy", ("GatherBy[list, f]", "GatherBy[list, {f1, f2, ...}]"),
         "sublists of the elements giving the same value of f (nested for f1, f2, ...)",
         args=2, section=SECTION)
def _gather_by_fn(ev, x, f):
    call = Expr(S("GatherBy"), x, f)
    head, items = elements_of(x, "GatherBy", call)
    fs = list_items(f) if is_list(f) else [f]
    if not fs:
        return x
    return _gather_by(ev, head, items, fs)


# ---------------------------------------------------------------- largest, smallest
def _count_arg(n: Any, size: int, name: str, call: Any) -> int:
    if not (is_integer(n) and n >= 0):
        raise wrong_call(name, call, f"{short(n)} is not a non-negative integer")
    if n > size:
        raise EvaluationError(f"Cannot take {n} elements from a list of {size} in "
                              f"{short(call)}.", symbol=name, tag="insuff")
    return n


def _numeric_value(e: Any) -> Any:
    return float(e) if isinstance(e, Fraction) else e


def _extreme(ev, name: str, x: Any, f: Any, n: Any, largest: bool) -> Any:
    """TakeLargest/TakeSmallest(By): the n extreme elements, most extreme first; elements
    whose value is not a number (Missing[...], symbols) are left out, as Wolfram does."""
    call = Expr(S(name), x, *([] if f is None else [f]), n)
    if f is None and _numeric_packed(x) and x.ndim == 1:
        k = _count_arg(n, x.shape[0], name, call)
        if k == 0:
            return Expr(List)
        picked = np.sort(x[np.argpartition(x, -k)[-k:]])[::-1] if largest \
            else np.sort(x[np.argpartition(x, k - 1)[:k]])
        return packed(picked)
    assoc = isinstance(x, Association)
    items = x.values() if assoc else elements_of(x, name, call)[1]
    vals = [e if f is None else ev.call(f, e) for e in items]
    usable = [i for i, v in enumerate(vals) if is_number(v)]
    k = _count_arg(n, len(usable), name, call)
    ranked = sorted(usable, key=lambda i: -_numeric_value(vals[i]) if largest
                    else _numeric_value(vals[i]))[:k]
    if assoc:
        return Association([x.rules[i] for i in ranked])
    return make_list(items[i] for i in ranked)


@builtin("TakeLargest", ("TakeLargest[list, n]", "TakeLargest[n][list]"),
         "the n largest elements, largest first", args=2, section=SECTION)
def _take_largest(ev, x, n):
    return _extreme(ev, "TakeLargest", x, None, n, True)


@builtin("TakeSmallest", ("TakeSmallest[list, n]", "TakeSmallest[n][list]"),
         "the n smallest elements, smallest first", args=2, section=SECTION)
def _take_smallest(ev, x, n):
    return _extreme(ev, "TakeSmallest", x, None, n, False)


@builtin("TakeLargestBy", ("TakeLargestBy[list, f, n]", "TakeLargestBy[f, n][list]"),
         "the n elements with the largest f[e], largest first", args=(2, 3), section=SECTION)
def _take_largest_by(ev, x, f, n=None):
    if n is None:
        return NOT_APPLICABLE   # the operator form TakeLargestBy[f, n] waits for its list
    return _extreme(ev, "TakeLargestBy", x, f, n, True)


@builtin("TakeSmallestBy", ("TakeSmallestBy[list, f, n]", "TakeSmallestBy[f, n][list]"),
         "the n elements with the smallest f[e], smallest first", args=(2, 3), section=SECTION)
def _take_smallest_by(ev, x, f, n=None):
    if n is None:
        return NOT_APPLICABLE
    return _extreme(ev, "TakeSmallestBy", x, f, n, False)


def _maximal(ev, name: str, x: Any, f: Any, n: Any, sign: int) -> Any:
    call = Expr(S(name), x, f, *([] if n is None else [n]))
    assoc = isinstance(x, Association)
    items = x.values() if assoc else elements_of(x, name, call)[1]
    keys = [canonical_key(ev.call(f, e)) for e in items]
    if n is None:
        if not keys:
            return Association() if assoc else Expr(List)
        best = max(keys) if sign > 0 else min(keys)
        picked = [i for i, k in enumerate(keys) if k == best]
    else:
        k = _count_arg(n, len(items), name, call)
        ranked = sorted(range(len(items)), key=keys.__getitem__, reverse=sign > 0)
        if sign > 0:   # stable among equals: the earlier element first
            ranked = sorted(range(len(items)), key=lambda i: _Rev(keys[i]))
        picked = ranked[:k]
    if assoc:
        return Association([x.rules[i] for i in picked])
    return make_list(items[i] for i in picked)


@functools.total_ordering
class _Rev:
    """Reverses a key's order while Python's stable sort keeps equal keys in place."""
    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def __eq__(self, other):
        return self.k == other.k

    def __lt__(self, other):
        return self.k > other.k


@builtin("MaximalBy", ("MaximalBy[list, f]", "MaximalBy[list, f, n]", "MaximalBy[f][list]"),
         "the elements for which f[e] is largest in canonical order (all ties, in order)",
         args=(2, 3), section=SECTION)
def _maximal_by(ev, x, f, n=None):
    return _maximal(ev, "MaximalBy", x, f, n, 1)


@builtin("MinimalBy", ("MinimalBy[list, f]", "MinimalBy[list, f, n]", "MinimalBy[f][list]"),
         "the elements for which f[e] is smallest in canonical order (all ties, in order)",
         args=(2, 3), section=SECTION)
def _minimal_by(ev, x, f, n=None):
    return _maximal(ev, "MinimalBy", x, f, n, -1)


@builtin("Commonest", ("Commonest[list]", "Commonest[list, n]"),
         "the elements that occur most often (the n most common), in order of first "
         "appearance", args=(1, 2), section=SECTION)
def _commonest(ev, x, n=None):
    call = Expr(S("Commonest"), x, *([] if n is None else [n]))
    items = _elements(x, "Commonest", call)
    groups = _groups(ev, items, items)
    if n is None:
        if not groups:
            return Expr(List)
        top = max(len(m) for _, m in groups)
        return make_list(k for k, m in groups if len(m) == top)
    if not (is_integer(n) and n >= 0):
        raise wrong_call("Commonest", call, f"{short(n)} is not a non-negative integer")
    ranked = sorted(range(len(groups)), key=lambda i: -len(groups[i][1]))[:n]
    return make_list(groups[i][0] for i in sorted(ranked))


# ---------------------------------------------------------------- membership
def _members(x: Any, name: str, call: Any, pos: int) -> list[Any]:
    if isinstance(x, Association):
        return x.values()
    split = _parts(x)
    if split is None:
        raise EvaluationError(f"List or association expected at position {pos} in "
                              f"{short(call)}.", symbol=name, tag="list")
    return split[1]


@builtin("SubsetQ", "SubsetQ[list1, list2]", "True if every element of list2 is in list1",
         args=2, section=SECTION)
def _subset_q(ev, a, b):
    call = Expr(S("SubsetQ"), a, b)
    have = {hash_key(e) for e in _members(a, "SubsetQ", call, 1)}
    return boolean(all(hash_key(e) in have for e in _members(b, "SubsetQ", call, 2)))


@builtin("ContainsAll", ("ContainsAll[e1, e2]", "ContainsAll[e2][e1]"),
         "True if e1 contains every element of e2", args=2,
         options={"SameTest": S("Automatic")}, section=SECTION)
def _contains_all(ev, a, b, opts):
    return _contains(ev, "ContainsAll", a, b, opts, all)


@builtin("ContainsAny", ("ContainsAny[e1, e2]", "ContainsAny[e2][e1]"),
         "True if e1 contains any element of e2", args=2,
         options={"SameTest": S("Automatic")}, section=SECTION)
def _contains_any(ev, a, b, opts):
    return _contains(ev, "ContainsAny", a, b, opts, any)


def _contains(ev, name: str, a: Any, b: Any, opts: dict, quantifier: Callable) -> Any:
    call = Expr(S(name), a, b)
    have, want = _members(a, name, call, 1), _members(b, name, call, 2)
    test = _same_test(ev, opts)
    if test is None:
        keys = {hash_key(e) for e in have}
        return boolean(quantifier(hash_key(e) in keys for e in want))
    return boolean(quantifier(any(ev.call(test, h, e) is TrueS for h in have) for e in want))


# ---------------------------------------------------------------- operator forms
OPERATOR_FORMS.update({
    "SortBy": True, "DeleteDuplicatesBy": True, "CountsBy": True, "GroupBy": True,
    "TakeLargest": True, "TakeSmallest": True, "MaximalBy": True, "MinimalBy": True,
    "ContainsAll": True, "ContainsAny": True,
})


def two_argument_operator(name: str, where: int) -> None:
    """``name[a, b][x]`` is ``name`` with x inserted at argument position ``where`` (0-based):
    operator forms of two arguments (``MapAt[f, n][x]``, ``TakeLargestBy[f, n][x]``)."""
    def apply(ev, head: Expr, args: tuple) -> Any:
        if len(head.args) == 2 and len(args) == 1:
            full = list(head.args)
            full.insert(where, args[0])
            return ev.evaluate(Expr(S(name), *full))
        return Expr(head, *args)
    HEAD_APPLIERS[name] = apply


two_argument_operator("TakeLargestBy", 0)
two_argument_operator("TakeSmallestBy", 0)
