"""The definitions of one symbol: ``f[0] = 1``, ``f[n_] := ...``, tried in Wolfram's order.

Wolfram keeps a symbol's rules for ``f[...]`` (its DownValues) in two parts:
left sides without patterns (``f[0] = 1``, memoised values ``fib[10] = 55``) in a
hash table, tried first; then rules with patterns, most specific first and in
the order given among equally specific ones. A new rule whose left side is
identical to an old one replaces it.

Specificity here is a ranking of each argument (a literal beats ``_h``, which
beats a conditioned ``_``, which beats ``_``, then ``__``, then ``___``) and a
whole-rule condition (``f[x_] /; x > 0 := ...``) ranks before the same rule without
one. Wolfram's own ordering is heuristic too; rules it cannot compare keep
their order, as here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .expr import Expr, Symbol, hash_key, same_q

_RANKS = {"Blank": 1.0, "BlankSequence": 3.0, "BlankNullSequence": 4.0, "Repeated": 3.0,
          "RepeatedNull": 4.0, "OptionsPattern": 4.0, "Optional": 2.5}


def _rank(p: Any) -> float:
    """How general one argument pattern is (0 = a literal)."""
    if type(p) is not Expr or type(p.head) is not Symbol:
        return 0.0 if type(p) is not Expr else 0.5
    name = p.head.name
    a = p.args
    if name == "Blank":
        return 1.0 if a else 2.0
    if name in ("BlankSequence", "BlankNullSequence"):
        return _RANKS[name] - (0.5 if a else 0.0)
    if name == "Pattern" and len(a) == 2:
        return _rank(a[1])
    if name in ("Condition", "PatternTest") and a:
        return max(_rank(a[0]) - 0.5, 0.5)
    if name == "HoldPattern" and a:
        return _rank(a[0])
    if name == "Alternatives":
        return max((_rank(x) for x in a), default=0.0)
    if name == "Except":
        return 1.5
    if name in _RANKS:
        return _RANKS[name]
    return 0.5  # a compound with patterns inside: f[{a_, b_}] is more specific than f[x_]


def specificity(lhs: Any, conditioned: bool) -> tuple:
    inner = lhs
    while type(inner) is Expr and type(inner.head) is Symbol \
            and inner.head.name in ("Condition", "HoldPattern") and inner.args:
        conditioned = conditioned or inner.head.name == "Condition"
        inner = inner.args[0]
    ranks = tuple(_rank(a) for a in inner.args) if type(inner) is Expr else ()
    return ranks, 0 if conditioned else 1


@dataclass
class Rule:
    lhs: Any
    rhs: Any
    delayed: bool
    key: tuple
    options: bool = False   # the left side has OptionsPattern: OptionValue needs rewriting
    # the right side is Module/With/Block[..., body /; cond]: tried in its scope (found once
    # here, so the definitions without one pay nothing per call)
    scoped_condition: bool = False


def _has_options_pattern(e: Any) -> bool:
    if type(e) is not Expr:
        return False
    if e.head is Symbol("OptionsPattern"):
        return True
    return _has_options_pattern(e.head) or any(_has_options_pattern(a) for a in e.args)


_SCOPES = ("Module", "With", "Block")


def _has_scoped_condition(rhs: Any) -> bool:
    """Whether ``rhs`` is Module[vars, body /; cond] (With, Block, nested)."""
    while type(rhs) is Expr and type(rhs.head) is Symbol and rhs.head.name in _SCOPES \
            and len(rhs.args) == 2:
        rhs = rhs.args[1]
        if type(rhs) is Expr and rhs.head is Symbol("Condition") and len(rhs.args) == 2:
            return True
    return False


def _condition_of(rule: Rule) -> Any:
    rhs = rule.rhs
    if rule.delayed and type(rhs) is Expr and rhs.head is Symbol("Condition") and rhs.args:
        return rhs.args[-1]
    return None


@dataclass
class Definitions:
    exact: dict[Any, tuple[Any, Any]] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)

    def add_exact(self, lhs: Any, rhs: Any) -> None:
        self.exact[hash_key(lhs)] = (lhs, rhs)

    def add_rule(self, lhs: Any, rhs: Any, delayed: bool) -> None:
        conditioned = delayed and type(rhs) is Expr and rhs.head is Symbol("Condition")
        rule = Rule(lhs, rhs, delayed, specificity(lhs, conditioned), _has_options_pattern(lhs),
                    delayed and _has_scoped_condition(rhs))
        for i, old in enumerate(self.rules):
            # f[x_] := a /; x > 0 and f[x_] := b are two rules, as in Wolfram
            if same_q(old.lhs, lhs) and same_q(_condition_of(old), _condition_of(rule)):
                self.rules[i] = rule
                return
        at = len(self.rules)
        while at > 0 and self.rules[at - 1].key > rule.key:
            at -= 1
        self.rules.insert(at, rule)

    def remove(self, lhs: Any) -> bool:
        """Remove the rule for exactly ``lhs`` (``f[1] =.``); whether there was one."""
        if self.exact.pop(hash_key(lhs), None) is not None:
            return True
        for i, rule in enumerate(self.rules):
            if same_q(rule.lhs, lhs):
                del self.rules[i]
                return True
        return False

    def all_rules(self) -> list[tuple[Any, Any, bool]]:
        """Every rule, in the order tried: (lhs, rhs, delayed)."""
        return [(lhs, rhs, False) for lhs, rhs in self.exact.values()] + \
            [(r.lhs, r.rhs, r.delayed) for r in self.rules]
