"""Pattern matching, as Wolfram's MatchQ, Replace and definitions do it.

A pattern is an ordinary expression built from ``Blank``, ``Pattern``,
``Condition`` ... (the parser writes ``x_`` as ``Pattern[x, Blank[]]``). The
matcher is a backtracking generator: ``_match`` yields every binding of
pattern names that makes the pattern match, so sequence patterns (``x__``,
``y___``, ``Repeated``) and orderless heads can try one choice, fail later,
and try the next. Wolfram's order of choices is kept: sequence patterns try
the shortest sequence first, ``x_:d`` tries to take an argument before using
its default.

This module is below the evaluator: conditions (``/;``) and tests (``?``)
need evaluation, so a ``Matcher`` takes them as callbacks.

Left out (README "Patterns and definitions"): ``Longest``/``Shortest``,
``PatternSequence``, ``KeyValuePattern``, ``Default[f]`` for user functions,
string patterns, and Flat matching beyond an orderless head's last pattern
taking several arguments (``a + x_`` against ``a + b + c`` binds ``x`` to
``b + c``).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, Callable, Iterator

import numpy as np

from .expr import Association, Expr, List, Symbol, head_of, is_rule, list_items, same_q

S = Symbol
Sequence = S("Sequence")
INF = 1 << 62

Bindings = dict[Symbol, Any]

# Default[f, i] of the built-ins, for x_. : Plus 0, Times 1, Power's exponent 1
DEFAULTS: dict[str, Callable[[int], Any]] = {
    "Plus": lambda i: 0, "Times": lambda i: 1, "Power": lambda i: 1 if i == 2 else None,
}

PATTERN_HEADS = frozenset({
    "Blank", "BlankSequence", "BlankNullSequence", "Pattern", "Condition", "PatternTest",
    "Alternatives", "Except", "Optional", "Repeated", "RepeatedNull", "OptionsPattern",
    "HoldPattern", "Verbatim",
})

_BLANKS = {"Blank": (1, 1), "BlankSequence": (1, INF), "BlankNullSequence": (0, INF)}


def _name(e: Any) -> str | None:
    """The head's name of a compound with a symbol head, else None."""
    if type(e) is Expr and type(e.head) is Symbol:
        return e.head.name
    return None


def is_pattern(e: Any) -> bool:
    """Whether ``e`` contains a pattern construct (so a definition with it as left side
    is a rule to match, not a value for one exact expression)."""
    if type(e) is not Expr:
        return False
    name = _name(e)
    if name in PATTERN_HEADS:
        return True
    return is_pattern(e.head) or any(is_pattern(a) for a in e.args)


def pattern_names(p: Any, out: list[Symbol] | None = None) -> list[Symbol]:
    """The names a pattern binds, left to right."""
    out = [] if out is None else out
    if type(p) is Expr:
        if _name(p) == "Pattern" and p.args and isinstance(p.args[0], Symbol):
            if p.args[0] not in out:
                out.append(p.args[0])
        if _name(p) != "Verbatim":
            for a in p.args:
                pattern_names(a, out)
    return out


def _options_like(x: Any) -> bool:
    if is_rule(x):
        return True
    if type(x) is Expr and x.head is List:
        return all(_options_like(a) for a in x.args)
    return False


def _items(e: Any) -> tuple[Any, tuple] | None:
    """(head, arguments) of something a pattern can look inside."""
    if type(e) is Expr:
        return e.head, e.args
    if isinstance(e, np.ndarray) and e.ndim:
        return List, tuple(list_items(e))
    return None


class Matcher:
    """Matches patterns against expressions.

    ``test(f, x)`` says whether ``f[x]`` gives True (for ``p ? f``);
    ``condition(c, bindings)`` whether ``c`` with the names replaced gives True
    (for ``p /; c``); ``attributes(head)`` gives a head's attributes, of which
    ``Orderless`` and ``Flat`` change matching (Plus and Times have both).
    """

    def __init__(self, test: Callable[[Any, Any], bool] | None = None,
                 condition: Callable[[Any, Bindings], bool] | None = None,
                 attributes: Callable[[Any], frozenset[str]] | None = None):
        self.test = test or (lambda f, x: False)
        self.condition = condition or (lambda c, b: False)
        self.attributes = attributes or builtin_attributes

    # --------------------------------------------------------------- public
    def match(self, pattern: Any, expr: Any, bindings: Bindings | None = None) -> Bindings | None:
        """The first binding with which ``pattern`` matches ``expr``, or None."""
        for b in self._match(pattern, expr, bindings or {}):
            return b
        return None

    def matches(self, pattern: Any, expr: Any) -> bool:
        return self.match(pattern, expr) is not None

    # -------------------------------------------------------------- single
    def _match(self, p: Any, e: Any, b: Bindings) -> Iterator[Bindings]:
        if type(p) is not Expr:
            if same_q(p, e):
                yield b
            return
        name = _name(p)
        if name is not None and name in PATTERN_HEADS:
            yield from self._special(name, p, e, b)
            return
        parts = _items(e)
        if parts is None:
            if any(_name(a) == "Optional" for a in p.args):
                yield from self._one_identity(p, e, b)
            return
        head, items = parts
        for b1 in self._match(p.head, head, b):
            attrs = self.attributes(head) if type(head) is Symbol else frozenset()
            if "Orderless" in attrs:
                yield from self._orderless(p.args, items, b1, head, "Flat" in attrs)
            else:
                yield from self._sequence(p.args, items, b1, head, 0)
        if not same_q(p.head, head) and any(_name(a) == "Optional" for a in p.args):
            yield from self._one_identity(p, e, b)

    def _special(self, name: str, p: Expr, e: Any, b: Bindings) -> Iterator[Bindings]:
        a = p.args
        if name in _BLANKS:
            if not a or same_q(a[0], head_of(e)):
                yield b
        elif name == "Pattern" and len(a) == 2:
            sym = a[0]
            if sym in b:
                if same_q(b[sym], e):
                    yield from self._match(a[1], e, b)
                return
            for b1 in self._match(a[1], e, b):
                yield {**b1, sym: e}
        elif name == "Condition" and len(a) == 2:
            for b1 in self._match(a[0], e, b):
                if self.condition(a[1], b1):
                    yield b1
        elif name == "PatternTest" and len(a) == 2:
            for b1 in self._match(a[0], e, b):
                if self.test(a[1], e):
                    yield b1
        elif name == "Alternatives":
            for alt in a:
                yield from self._match(alt, e, b)
        elif name == "Except" and a:
            if self.match(a[0], e, b) is None:
                if len(a) == 1:
                    yield b
                else:
                    yield from self._match(a[1], e, b)
        elif name in ("Optional", "HoldPattern") and a:
            yield from self._match(a[0], e, b)
        elif name == "Verbatim" and a:
            if same_q(a[0], e):
                yield b
        elif name in ("Repeated", "RepeatedNull", "OptionsPattern"):
            yield from self._seq_element(p, (e,), b)

    def _one_identity(self, p: Expr, e: Any, b: Bindings) -> Iterator[Bindings]:
        """``x_. + y_`` matches a lone ``z`` (x takes Plus's default 0), as Wolfram's
        OneIdentity heads allow."""
        rest = [a for a in p.args if _name(a) != "Optional"]
        if len(rest) != 1:
            return
        b1 = dict(b)
        for i, a in enumerate(p.args, 1):
            if _name(a) == "Optional":
                if not self._bind_default(a, b1, p.head, i):
                    return
        yield from self._match(rest[0], e, b1)

    # ------------------------------------------------------------ sequences
    def _sequence(self, pats: tuple, items: tuple, b: Bindings, head: Any,
                  index: int) -> Iterator[Bindings]:
        """Match pattern arguments ``pats`` against arguments ``items`` in order."""
        if not pats:
            if not items:
                yield b
            return
        p, rest = pats[0], pats[1:]
        lo, hi = seq_range(p)
        if lo == 1 and hi == 1 and _name(p) not in ("Repeated", "RepeatedNull",
                                                     "OptionsPattern"):
            if items:
                for b1 in self._match(p, items[0], b):
                    yield from self._sequence(rest, items[1:], b1, head, index + 1)
            return
        need = sum(seq_range(q)[0] for q in rest)
        top = min(hi, len(items) - need)
        if _optional(p):   # take an argument if one can be taken, else the default
            for n in range(min(top, 1), -1, -1):
                if n == 0:
                    b1 = dict(b)
                    if self._bind_default(p, b1, head, index + 1):
                        yield from self._sequence(rest, items, b1, head, index + 1)
                else:
                    for b1 in self._match(p, items[0], b):
                        yield from self._sequence(rest, items[1:], b1, head, index + 1)
            return
        for n in range(lo, top + 1):
            for b1 in self._seq_element(p, items[:n], b):
                yield from self._sequence(rest, items[n:], b1, head, index + 1)

    def _seq_element(self, p: Any, seq: tuple, b: Bindings) -> Iterator[Bindings]:
        """Match one pattern argument against a run ``seq`` of arguments."""
        name = _name(p)
        a = p.args if type(p) is Expr else ()
        if name in _BLANKS:
            lo, hi = _BLANKS[name]
            if lo <= len(seq) <= hi and (not a or all(same_q(a[0], head_of(x)) for x in seq)):
                yield b
        elif name == "Pattern" and len(a) == 2:
            sym = a[0]
            value = seq[0] if seq_range(a[1]) == (1, 1) and len(seq) == 1 \
                else Expr(Sequence, *seq)
            if sym in b:
                if same_q(b[sym], value):
                    yield from self._seq_element(a[1], seq, b)
                return
            for b1 in self._seq_element(a[1], seq, b):
                yield {**b1, sym: value}
        elif name == "Condition" and len(a) == 2:
            for b1 in self._seq_element(a[0], seq, b):
                if self.condition(a[1], b1):
                    yield b1
        elif name == "PatternTest" and len(a) == 2:
            for b1 in self._seq_element(a[0], seq, b):
                if all(self.test(a[1], x) for x in seq):
                    yield b1
        elif name == "Alternatives":
            for alt in a:
                yield from self._seq_element(alt, seq, b)
        elif name in ("Repeated", "RepeatedNull") and a:
            lo, hi = seq_range(p)
            if lo <= len(seq) <= hi:
                yield from self._each(a[0], seq, b)
        elif name == "OptionsPattern":
            if all(_options_like(x) for x in seq):
                yield b
        elif name in ("Optional", "HoldPattern") and a:
            yield from self._seq_element(a[0], seq, b)
        elif len(seq) == 1:
            yield from self._match(p, seq[0], b)

    def _each(self, p: Any, seq: tuple, b: Bindings) -> Iterator[Bindings]:
        if not seq:
            yield b
            return
        for b1 in self._match(p, seq[0], b):
            yield from self._each(p, seq[1:], b1)

    def _bind_default(self, p: Expr, b: Bindings, head: Any, index: int) -> bool:
        """Bind the names of an omitted ``x_:d`` / ``x_.`` to their default."""
        if len(p.args) >= 2:
            value = p.args[1]
        else:
            rule = DEFAULTS.get(head.name) if type(head) is Symbol else None
            value = rule(index) if rule else None
            if value is None:
                return False
        for sym in pattern_names(p.args[0]):
            if sym in b and not same_q(b[sym], value):
                return False
            b[sym] = value
        return True

    # ------------------------------------------------------------ orderless
    def _orderless(self, pats: tuple, items: tuple, b: Bindings, head: Any,
                   flat: bool) -> Iterator[Bindings]:
        """Match in any order: each pattern, left to right, takes one of the remaining
        arguments (trying them in order); an optional one may take its default instead."""
        yield from self._orderless_from(list(pats), list(items), b, head, flat,
                                        list(range(1, len(pats) + 1)))

    def _orderless_from(self, pats: list, items: list, b: Bindings, head: Any, flat: bool,
                        positions: list[int]) -> Iterator[Bindings]:
        if not pats:
            if not items:
                yield b
            return
        p, rest = pats[0], pats[1:]
        lo, hi = seq_range(p)
        if _optional(p):
            if items:
                for i, x in enumerate(items):
                    for b1 in self._match(p, x, b):
                        yield from self._orderless_from(rest, items[:i] + items[i + 1:], b1,
                                                        head, flat, positions[1:])
            b1 = dict(b)
            if self._bind_default(p, b1, head, positions[0]):
                yield from self._orderless_from(rest, items, b1, head, flat, positions[1:])
            return
        if lo == 1 and hi == 1:
            for i, x in enumerate(items):
                for b1 in self._match(p, x, b):
                    yield from self._orderless_from(rest, items[:i] + items[i + 1:], b1,
                                                    head, flat, positions[1:])
            if flat and not rest and len(items) > 1:  # Flat: one pattern, several arguments
                yield from self._match(p, Expr(head, *items), b)
            return
        n_items = len(items)
        for n in range(lo, min(hi, n_items) + 1):
            for chosen in combinations(range(n_items), n):
                seq = tuple(items[i] for i in chosen)
                left = [items[i] for i in range(n_items) if i not in chosen]
                for b1 in self._seq_element(p, seq, b):
                    yield from self._orderless_from(rest, left, b1, head, flat, positions[1:])


def _optional(p: Any) -> bool:
    return _name(p) == "Optional" or (_name(p) == "Pattern" and len(p.args) == 2
                                      and _name(p.args[1]) == "Optional")


def seq_range(p: Any) -> tuple[int, int]:
    """How many arguments pattern argument ``p`` can take: (at least, at most)."""
    name = _name(p)
    if name is None:
        return 1, 1
    if name in _BLANKS:
        return _BLANKS[name]
    a = p.args
    if name in ("Pattern",) and len(a) == 2:
        return seq_range(a[1])
    if name in ("Condition", "PatternTest", "HoldPattern") and a:
        return seq_range(a[0])
    if name == "Optional":
        return 0, 1
    if name in ("Repeated", "RepeatedNull"):
        lo = 1 if name == "Repeated" else 0
        if len(a) < 2:
            return lo, INF
        spec = a[1]
        if isinstance(spec, int):
            return lo, spec
        items = list_items(spec) if isinstance(spec, np.ndarray) else (
            list(spec.args) if type(spec) is Expr and spec.head is List else None)
        if items and all(isinstance(i, int) for i in items):
            return (items[0], items[0]) if len(items) == 1 else (items[0], items[1])
        return lo, INF
    if name == "OptionsPattern":
        return 0, INF
    if name == "Alternatives" and a:
        ranges = [seq_range(x) for x in a]
        return min(r[0] for r in ranges), max(r[1] for r in ranges)
    return 1, 1


def builtin_attributes(head: Any) -> frozenset[str]:
    return _ORDERLESS if head in (S("Plus"), S("Times")) else frozenset()


_ORDERLESS = frozenset({"Orderless", "Flat", "OneIdentity"})


# ------------------------------------------------------------------ substitution
def substitute(e: Any, b: Bindings) -> Any:
    """``e`` with every bound name replaced by its value; a value ``Sequence[...]``
    is spliced into the arguments it lands in."""
    if not b:
        return e
    t = type(e)
    if t is Symbol:
        return b.get(e, e)
    if t is not Expr:
        if t is Association:
            return Association((substitute(k, b), substitute(v, b), d) for k, v, d in e.rules)
        return e
    args: list[Any] = []
    changed = False
    for a in e.args:
        new = substitute(a, b)
        if new is not a:
            changed = True
        if type(new) is Expr and new.head is Sequence and (type(a) is Symbol):
            args.extend(new.args)
        else:
            args.append(new)
    head = substitute(e.head, b)
    if not changed and head is e.head:
        return e
    return Expr(head, *args, span=e.span)


# ------------------------------------------------------------------ levels and rules
def rule_parts(rule: Any) -> tuple[Any, Any, bool] | None:
    """(lhs, rhs, delayed) of a Rule or RuleDelayed."""
    if is_rule(rule):
        return rule.args[0], rule.args[1], rule.head is S("RuleDelayed")
    return None
