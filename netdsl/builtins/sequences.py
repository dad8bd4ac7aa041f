"""Runs and sequences in lists: Split, SplitBy, SequenceCases, SequencePosition,
SequenceReplace.

Split compares neighbours (SameQ, or ``test[e_i, e_i+1]``); on a packed array it finds
the breaks with one NumPy comparison. The Sequence functions look for runs of adjacent
elements that match a list pattern (``{a, _}``, ``{x_, x_}``, ``{b..}``): at each start,
from left to right, the longest run that matches is taken (Wolfram's documented
``SequenceCases[{a, b, b, a, b, b, b}, {p : b ..} :> Length[{p}]]`` is ``{2, 3}``), and
rules are tried in order. A pattern of fixed length is tried once per start; a pattern
that takes runs of any length is tried for each length, so the work is checked against
the 10^7-step limit first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..expr import (Expr, List, Symbol, is_integer, is_list, is_rule, list_items, make_list,
                    packed, same_q)
from ..patterns import INF, rule_parts, seq_range
from ..printer import short
from .lists import _count_guard, _rebuild, elements_of
from .registry import OPERATOR_FORMS, builtin, wrong_call
from .rules import try_rules

S = Symbol
TrueS = S("True")
SECTION = "Lists and arrays"


# ---------------------------------------------------------------- Split, SplitBy
def _runs(n: int, same) -> list[tuple[int, int]]:
    """(start, end) of the runs of 0..n-1 where ``same(i)`` says element i joins i - 1."""
    out, start = [], 0
    for i in range(1, n):
        if not same(i):
            out.append((start, i))
            start = i
    if n:
        out.append((start, n))
    return out


def _packed_breaks(a: np.ndarray) -> list[int]:
    """Where a packed array's elements (rows) change, in one comparison."""
    if a.shape[0] < 2:
        return []
    eq = a[1:] == a[:-1]
    if a.dtype.kind == "f":
        eq |= np.isnan(a[1:]) & np.isnan(a[:-1])
    eq = eq.reshape(eq.shape[0], -1).all(axis=1)
    return (np.flatnonzero(~eq) + 1).tolist()


@builtin("Split", ("Split[list]", "Split[list, test]"),
         "runs of identical adjacent elements (or of neighbours e1, e2 for which "
         "test[e1, e2] gives True)", args=(1, 2), section=SECTION)
def _split(ev, x, test=None):
    call = Expr(S("Split"), x, *([] if test is None else [test]))
    if test is None and isinstance(x, np.ndarray) and x.ndim:
        pieces = np.split(x, _packed_breaks(x))
        return Expr(List, *(packed(p) for p in pieces)) if x.shape[0] else Expr(List)
    head, items = elements_of(x, "Split", call)
    if test is None or test is S("SameQ"):
        runs = _runs(len(items), lambda i: same_q(items[i - 1], items[i]))
    else:
        runs = _runs(len(items), lambda i: ev.call(test, items[i - 1], items[i]) is TrueS)
    return _rebuild(head, [_rebuild(head, items[a:b]) for a, b in runs])


def _split_by(ev, head: Any, items: list[Any], fs: list[Any]) -> Any:
    keys = [ev.call(fs[0], e) for e in items]
    runs = _runs(len(items), lambda i: same_q(keys[i - 1], keys[i]))
    if len(fs) == 1:
        return _rebuild(head, [_rebuild(head, items[a:b]) for a, b in runs])
    return _rebuild(head, [_split_by(ev, head, items[a:b], fs[1:]) for a, b in runs])


@builtin("SplitBy", ("SplitBy[list, f]", "SplitBy[list, {f1, f2, ...}]"),
         "runs of adjacent elements giving the same value of f (nested for f1, f2, ...)",
         args=2, section=SECTION)
def _split_by_fn(ev, x, f):
    call = Expr(S("SplitBy"), x, f)
    head, items = elements_of(x, "SplitBy", call)
    fs = list_items(f) if is_list(f) else [f]
    return _split_by(ev, head, items, fs) if fs else x


# ---------------------------------------------------------------- sequence patterns
def _lengths(p: Any) -> tuple[int, int]:
    """How many elements a list pattern can match: (at least, at most)."""
    if isinstance(p, Expr) and p.head is List:
        lo = hi = 0
        for a in p.args:
            a_lo, a_hi = seq_range(a)
            lo, hi = lo + a_lo, min(INF, hi + a_hi)
        return lo, hi
    if isinstance(p, Expr) and isinstance(p.head, Symbol) and p.args and \
            p.head.name in ("Condition", "PatternTest", "HoldPattern"):
        return _lengths(p.args[0])
    if isinstance(p, Expr) and p.head is S("Pattern") and len(p.args) == 2:
        return _lengths(p.args[1])
    if is_list(p):   # a packed list of numbers: its elements, literally
        n = len(list_items(p))
        return n, n
    return 0, INF


def _rules(spec: Any) -> list[Any]:
    """Rules (lhs, rhs, delayed) of a rule or a list of rules; [] for anything else."""
    parts = rule_parts(spec)
    if parts is not None:
        return [parts]
    if isinstance(spec, Expr) and spec.head is List and spec.args and \
            all(is_rule(r) for r in spec.args):
        return [rule_parts(r) for r in spec.args]
    return []


def _find(ev, items: list[Any], specs: list[Any], overlaps: Any, limit: int | None,
          name: str, call: Any) -> list[tuple[int, int, Any]]:
    """(start, end, value) of the runs that match, left to right: the value is the run for
    a pattern, the rule's right side (evaluated) for a rule."""
    n = len(items)
    ranges = [_lengths(s[0] if isinstance(s, tuple) else s) for s in specs]
    widest = max(min(hi, n) - max(lo, 1) + 1 for lo, hi in ranges)
    _count_guard(n * max(widest, 1) * len(specs), name, call, "pattern tests")
    every = overlaps is S("All")   # every run that matches, not the longest only
    found: list[tuple[int, int, Any]] = []
    i = 0
    while i < n and (limit is None or len(found) < limit):
        hits = []
        for spec, (lo, hi) in zip(specs, ranges):
            for j in range(min(n, i + hi), i + max(lo, 1) - 1, -1):   # longest first
                value = _try(ev, spec, Expr(List, *items[i:j]))
                if value is not None:
                    hits.append((i, j, value[0]))
                    if not every:
                        break
            if hits and not every:
                break
        found += hits[:None if limit is None else limit - len(found)]
        i = hits[0][1] if hits and overlaps is S("False") else i + 1
    return found


def _try(ev, spec: Any, run: Expr) -> tuple[Any] | None:
    if isinstance(spec, tuple):
        done, value = try_rules(ev, [spec], run)
        return (ev.evaluate(value),) if done else None
    return (run,) if ev.match(spec, run) is not None else None


def _count(n: Any, name: str, call: Any) -> int | None:
    if n is None or n is S("Infinity"):
        return None
    if not (is_integer(n) and n >= 0):
        raise wrong_call(name, call, f"{short(n)} is not a non-negative integer")
    return n


def _overlaps(value: Any, name: str) -> Any:
    if value not in (S("True"), S("False"), S("All")):
        raise EvaluationError(f"Value of option Overlaps -> {short(value)} should be True, "
                              f"False or All.", symbol=name, tag="opttf")
    return value


@builtin("SequenceCases", ("SequenceCases[list, {p1, p2, ...}]",
                           "SequenceCases[list, patt -> rhs]", "SequenceCases[list, patt, n]"),
         "the runs of adjacent elements that match the list pattern (or rhs for each, with a "
         "rule), left to right, not overlapping unless Overlaps -> True; the first n",
         args=(2, 3), options={"Overlaps": S("False")}, section=SECTION)
def _sequence_cases(ev, x, p, n=None, opts=None):
    assert opts is not None
    call = Expr(S("SequenceCases"), x, p, *([] if n is None else [n]))
    head, items = elements_of(x, "SequenceCases", call)
    rule = rule_parts(p)   # a pattern, or one rule (a list of rules is a list pattern)
    specs: list[Any] = [p] if rule is None else [rule]
    found = _find(ev, items, specs, _overlaps(opts["Overlaps"], "SequenceCases"),
                  _count(n, "SequenceCases", call), "SequenceCases", call)
    if isinstance(specs[0], tuple):   # rules: their values
        return _rebuild(head, [v for _, _, v in found])
    return _rebuild(head, [_rebuild(head, items[a:b]) for a, b, _ in found])


@builtin("SequencePosition", ("SequencePosition[list, {p1, p2, ...}]",
                              "SequencePosition[list, patt, n]"),
         "the {start, end} positions of the runs of adjacent elements that match the list "
         "pattern (overlapping ones too unless Overlaps -> False); the first n",
         args=(2, 3), options={"Overlaps": TrueS}, section=SECTION)
def _sequence_position(ev, x, p, n=None, opts=None):
    assert opts is not None
    call = Expr(S("SequencePosition"), x, p, *([] if n is None else [n]))
    _, items = elements_of(x, "SequencePosition", call)
    found = _find(ev, items, [p], _overlaps(opts["Overlaps"], "SequencePosition"),
                  _count(n, "SequencePosition", call), "SequencePosition", call)
    return make_list([make_list([a + 1, b]) for a, b, _ in found])


@builtin("SequenceReplace", ("SequenceReplace[list, {p1, p2, ...} -> new]",
                             "SequenceReplace[list, {r1, r2, ...}]",
                             "SequenceReplace[list, rules, n]"),
         "list with each run of adjacent elements that matches a rule's list pattern "
         "replaced by the rule's right side, left to right; the first n runs",
         args=(2, 3), section=SECTION)
def _sequence_replace(ev, x, rules, n=None):
    call = Expr(S("SequenceReplace"), x, rules, *([] if n is None else [n]))
    head, items = elements_of(x, "SequenceReplace", call)
    specs = _rules(rules)
    if not specs:
        raise wrong_call("SequenceReplace", call, f"{short(rules)} is not a rule or a list "
                                                  "of rules")
    out: list[Any] = []
    last = 0
    for a, b, value in _find(ev, items, specs, S("False"), _count(n, "SequenceReplace", call),
                             "SequenceReplace", call):
        out += items[last:a] + [value]
        last = b
    return _rebuild(head, out + items[last:])


for _name in ("SequenceCases", "SequencePosition", "SequenceReplace"):
    OPERATOR_FORMS[_name] = True   # SequenceCases[p][list] is SequenceCases[list, p]
