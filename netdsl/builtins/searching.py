"""Searching and testing lists, and collecting values: SelectFirst, FirstPosition,
AllTrue, AnyTrue, NoneTrue, LengthWhile, TakeWhile, NestWhileList, Through, Sow, Reap.

Sow and Reap keep their collections per evaluator (``_REAP_FRAMES``), innermost
Reap last, so that a Sow with a tag no inner Reap collects goes to an outer one.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

from ..errors import EvaluationError
from ..expr import (Association, Expr, List, Symbol, boolean, is_integer, is_list, list_items,
                    make_list)
from ..printer import short
from .lists import MAX_ELEMENTS, _nonatomic, _parts, _rebuild
from .registry import HOLD_FIRST, HOLD_REST, OPERATOR_FORMS, builtin, wrong_call
from .rules import _levels, walk

S = Symbol
TrueS = S("True")
NoneS = S("None")
Missing = S("Missing")
SECTION = "Functional"


def _values(x: Any, name: str, call: Any) -> tuple[Any, list[Any]]:
    if isinstance(x, Association):
        return None, x.values()
    split = _parts(x)
    if split is None:
        raise _nonatomic(name, call)
    return split


@builtin("SelectFirst", ("SelectFirst[list, crit]", "SelectFirst[list, crit, default]",
                         "SelectFirst[crit][list]"),
         "the first element for which crit gives True, else Missing[\"NotFound\"] or default",
         args=(2, 3), section=SECTION)
def _select_first(ev, x, crit, *default):
    for e in _values(x, "SelectFirst", Expr(S("SelectFirst"), x, crit, *default))[1]:
        if ev.call(crit, e) is TrueS:
            return e
    return default[0] if default else Expr(Missing, "NotFound")


@builtin("FirstPosition", ("FirstPosition[expr, pattern]", "FirstPosition[expr, pattern, "
                                                           "default]",
                           "FirstPosition[expr, pattern, default, levels]",
                           "FirstPosition[pattern][expr]"),
         "the position of the first part matching pattern (as Position orders them), else "
         "Missing[\"NotFound\"] or default (evaluated only then)", args=(2, 4),
         attributes=(HOLD_REST,), section=SECTION)
def _first_position(ev, x, p, default=None, levels=None):
    p = ev.evaluate(p)
    levels = None if levels is None else ev.evaluate(levels)
    call = Expr(S("FirstPosition"), x, p, *[a for a in (default, levels) if a is not None])
    lo, hi = (0, math.inf) if levels is None else _levels(levels, "FirstPosition", call)
    for path, part in walk(x, lo, hi, heads=levels is None):   # Position's order and heads
        if ev.match(p, part) is not None:
            return make_list(list(path))
    return Expr(Missing, "NotFound") if default is None else ev.evaluate(default)


def _truth_levels(ev, name: str, x: Any, test: Any, levels: Any) -> list[Any]:
    call = Expr(S(name), x, test, *([] if levels is None else [levels]))
    if levels is None:
        return _values(x, name, call)[1]
    lo, hi = _levels(levels, name, call)
    if is_integer(levels):   # level n: the elements down to level n (lists above it are
        return [part for path, part in walk(x, lo, hi)   # looked into, not tested)
                if len(path) == hi or _parts(part) is None]
    return [part for _, part in walk(x, lo, hi)]


@builtin("AllTrue", ("AllTrue[list, test]", "AllTrue[expr, test, level]", "AllTrue[test][list]"),
         "True if test gives True for every element", args=(2, 3), section=SECTION)
def _all_true(ev, x, test, levels=None):
    return boolean(all(ev.call(test, e) is TrueS
                       for e in _truth_levels(ev, "AllTrue", x, test, levels)))


@builtin("AnyTrue", ("AnyTrue[list, test]", "AnyTrue[expr, test, level]", "AnyTrue[test][list]"),
         "True if test gives True for some element", args=(2, 3), section=SECTION)
def _any_true(ev, x, test, levels=None):
    return boolean(any(ev.call(test, e) is TrueS
                       for e in _truth_levels(ev, "AnyTrue", x, test, levels)))


@builtin("NoneTrue", ("NoneTrue[list, test]", "NoneTrue[expr, test, level]",
                      "NoneTrue[test][list]"),
         "True if test gives True for no element", args=(2, 3), section=SECTION)
def _none_true(ev, x, test, levels=None):
    return boolean(not any(ev.call(test, e) is TrueS
                           for e in _truth_levels(ev, "NoneTrue", x, test, levels)))


def _while_count(ev, name: str, x: Any, crit: Any) -> tuple[Any, list[Any], int]:
    head, items = _values(x, name, Expr(S(name), x, crit))
    n = 0
    while n < len(items) and ev.call(crit, items[n]) is TrueS:
        n += 1
    return head, items, n


@builtin("LengthWhile", "LengthWhile[list, crit]",
         "how many elements from the start give crit True, until the first that does not",
         args=2, section=SECTION)
def _length_while(ev, x, crit):
    return _while_count(ev, "LengthWhile", x, crit)[2]


@builtin("TakeWhile", "TakeWhile[list, crit]",
         "the elements from the start while crit gives True", args=2, section=SECTION)
def _take_while(ev, x, crit):
    head, items, n = _while_count(ev, "TakeWhile", x, crit)
    if isinstance(x, Association):
        return Association(x.rules[:n])
    return _rebuild(head, items[:n])


@builtin("NestWhileList", ("NestWhileList[f, expr, test]", "NestWhileList[f, expr, test, m]",
                           "NestWhileList[f, expr, test, All]",
                           "NestWhileList[f, expr, test, m, max]"),
         "{expr, f[expr], ...} while test of the last result (of the last m, or all) gives "
         "True, at most max applications", args=(3, 5), section=SECTION)
def _nest_while_list(ev, f, x, test, m=None, most=None):
    call = Expr(S("NestWhileList"), f, x, test, *[a for a in (m, most) if a is not None])
    m = 1 if m is None else m
    if not (m is S("All") or (is_integer(m) and m >= 1)):
        raise wrong_call("NestWhileList", call, f"{short(m)} is not a positive count or All")
    if most is None or most is S("Infinity"):
        limit = MAX_ELEMENTS
    elif is_integer(most) and most >= 0:
        limit = most
    else:
        raise wrong_call("NestWhileList", call, f"{short(most)} is not a maximum count")
    out = [x]
    applied = 0
    while True:
        window = out if m is S("All") else out[-m:]
        if m is not S("All") and len(out) < m:
            pass   # fewer than m results so far: the test waits
        elif ev.call(test, *window) is not TrueS:
            break
        if applied >= limit:
            break
        if applied >= MAX_ELEMENTS:   # a list of 10^7 results is the most netdsl builds
            raise EvaluationError(f"{short(call)} did not stop after {MAX_ELEMENTS} steps.",
                                  symbol="NestWhileList", tag="itlim")
        out.append(ev.call(f, out[-1]))
        applied += 1
    return make_list(out)


@builtin("Through", ("Through[p[f, g][x]]", "Through[expr, h]"),
         "p[f[x], g[x]]: each function applied to the arguments (only for head h if given)",
         args=(1, 2), section=SECTION)
def _through(ev, x, h=None):
    if not (isinstance(x, Expr) and isinstance(x.head, Expr)):
        return x
    inner = x.head
    if h is not None and inner.head != h:
        return x
    parts = list_items(inner) if is_list(inner) else list(inner.args)
    return ev.call(inner.head, *[ev.call(g, *x.args) for g in parts])


OPERATOR_FORMS["FirstPosition"] = True


# ---------------------------------------------------------------- Sow, Reap
_REAP_FRAMES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _frames(ev) -> list:
    """The evaluator's open Reaps: (patterns or None, collected (tag, value) pairs)."""
    return _REAP_FRAMES.setdefault(ev, [])


@builtin("Sow", ("Sow[e]", "Sow[e, tag]", "Sow[e, {tag1, tag2, ...}]"),
         "gives e, and hands it to the innermost Reap collecting its tag", args=(1, 2),
         section=SECTION)
def _sow(ev, e, tag=NoneS):
    tags = list_items(tag) if is_list(tag) else [tag]
    for t in tags:
        for patterns, found in reversed(_frames(ev)):
            if patterns is None or any(ev.match(p, t) is not None for p in patterns):
                found.append((t, e))
                break
    return e


def _grouped(found: list) -> list[tuple[Any, list]]:
    from ..expr import hash_key
    index: dict[Any, int] = {}
    out: list[tuple[Any, list]] = []
    for t, e in found:
        k = hash_key(t)
        if k not in index:
            index[k] = len(out)
            out.append((t, []))
        out[index[k]][1].append(e)
    return out


@builtin("Reap", ("Reap[expr]", "Reap[expr, pattern]", "Reap[expr, {p1, p2, ...}]",
                  "Reap[expr, pattern, f]"),
         "{value of expr, lists of what Sow handed over while evaluating it, one per tag "
         "(f[tag, list] if f is given)}", args=(1, 3), attributes=(HOLD_FIRST,),
         section=SECTION)
def _reap(ev, body, pattern=None, f=None):
    several = pattern is not None and is_list(pattern)
    patterns = None if pattern is None else (list_items(pattern) if several else [pattern])
    found: list = []
    frames = _frames(ev)
    frames.append((patterns, found))
    try:
        value = ev.evaluate(body)
    finally:
        frames.pop()
    groups = _grouped(found)

    def wrap(t, items):
        return ev.call(f, t, make_list(items)) if f is not None else make_list(items)
    if not several:
        return Expr(List, value, make_list(wrap(t, items) for t, items in groups))
    out = []
    for p in patterns or []:
        out.append(make_list(wrap(t, items) for t, items in groups if ev.match(p, t) is not None))
    return Expr(List, value, make_list(out))
