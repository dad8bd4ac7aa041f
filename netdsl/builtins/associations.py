"""Association functions: KeyDrop, KeyTake, KeySelect, KeySort, KeySortBy, KeyMap,
KeyValueMap, KeyMemberQ, AssociationThread, Merge.

As in Wolfram, the Key* functions also take a list of associations (acting on each) and,
where Wolfram allows it, a list of rules; their operator forms (``KeyDrop[keys][assoc]``)
are registered in OPERATOR_FORMS.
"""

from __future__ import annotations

from typing import Any

from ..errors import EvaluationError
from ..expr import (Association, Expr, List, Rule, RuleDelayed, Symbol, boolean, hash_key,
                    is_list, is_rule, list_items, make_list)
from ..printer import short
from .lists import _assoc_value
from .core import _set
from .registry import HOLD_FIRST, OPERATOR_FORMS, builtin
from .sorting import canonical_key, in_order, merge_sort

S = Symbol
TrueS = S("True")
Key = S("Key")
SECTION = "Associations"


def _rules(x: Any) -> list[tuple[Any, Any, bool]] | None:
    if isinstance(x, Association):
        return list(x.rules)
    if isinstance(x, Expr) and x.head is List and all(is_rule(r) for r in x.args):
        return [(r.args[0], r.args[1], r.head is RuleDelayed) for r in x.args]
    return None


def _invalid(name: str, x: Any) -> EvaluationError:
    return EvaluationError(f"The argument {short(x)} is not a valid Association or a list of "
                           f"rules.", symbol=name, tag="invrl")


def _each(name: str, x: Any, fn, keep_rules: bool = True) -> Any:
    """``fn(rules)`` on an association (an association back), on a list of rules (a list of
    rules back) or on each association of a list of them."""
    if isinstance(x, Association):
        return Association(fn(list(x.rules)))
    if isinstance(x, Expr) and x.head is List and x.args \
            and all(isinstance(a, Association) for a in x.args):
        return make_list(Association(fn(list(a.rules))) for a in x.args)
    rules = _rules(x)
    if rules is None:
        raise _invalid(name, x)
    out = fn(rules)
    if not keep_rules:
        return Association(out)
    return make_list(Expr(RuleDelayed if d else Rule, k, v) for k, v, d in out)


def _key_list(keys: Any) -> list[Any]:
    """A key or a list of keys; ``Key[k]`` stands for k."""
    items = list_items(keys) if is_list(keys) else [keys]
    return [k.args[0] if isinstance(k, Expr) and k.head is Key and len(k.args) == 1 else k
            for k in items]


@builtin("KeyDrop", ("KeyDrop[assoc, {k1, k2, ...}]", "KeyDrop[assoc, key]",
                     "KeyDrop[keys][assoc]"),
         "the association without the given keys", args=2, section=SECTION)
def _key_drop(ev, x, keys):
    drop = Association((k, None, False) for k in _key_list(keys))
    return _each("KeyDrop", x, lambda rules: [r for r in rules if r[0] not in drop])


def _held_association(ev, name: str, target: Any) -> Association:
    value = ev.evaluate(target)
    if not isinstance(value, Association):
        raise EvaluationError(f"{short(target)} is not a variable with an association as its "
                              f"value.", symbol=name, tag="rvalue")
    return value


@builtin("AssociateTo", ("AssociateTo[a, key -> value]", "AssociateTo[a, {rules}]"),
         "adds the rules to the association held by a (replacing a key's value); gives it",
         args=2, attributes=(HOLD_FIRST,), section=SECTION)
def _associate_to(ev, target, rules):
    old = _held_association(ev, "AssociateTo", target)
    if isinstance(rules, Association):
        added = rules.rules
    else:
        items = list(rules.args) if isinstance(rules, Expr) and rules.head is List else [rules]
        if not all(isinstance(r, Expr) and r.head in (Rule, RuleDelayed) and len(r.args) == 2
                   for r in items):
            raise EvaluationError(f"{short(rules)} is not a rule or a list of rules.",
                                  symbol="AssociateTo", tag="invrl")
        added = tuple((r.args[0], r.args[1], r.head is RuleDelayed) for r in items)
    new = Association(old.rules + tuple(added))
    _set(ev, target, new)
    return new


@builtin("KeyDropFrom", ("KeyDropFrom[a, key]", "KeyDropFrom[a, {k1, k2, ...}]"),
         "removes the keys from the association held by a; gives it", args=2,
         attributes=(HOLD_FIRST,), section=SECTION)
def _key_drop_from(ev, target, keys):
    old = _held_association(ev, "KeyDropFrom", target)
    drop = Association((k, None, False) for k in _key_list(keys))
    new = Association(r for r in old.rules if r[0] not in drop)
    _set(ev, target, new)
    return new


@builtin("KeyTake", ("KeyTake[assoc, {k1, k2, ...}]", "KeyTake[assoc, key]",
                     "KeyTake[keys][assoc]"),
         "the association of just the given keys, in the order given (absent keys left out)",
         args=2, section=SECTION)
def _key_take(ev, x, keys):
    wanted = _key_list(keys)

    def take(rules):
        have = Association(rules)
        return [have.rules[have._index[hash_key(k)]] for k in wanted if k in have]
    return _each("KeyTake", x, take)


@builtin("KeySelect", ("KeySelect[assoc, crit]", "KeySelect[crit][assoc]"),
         "the entries whose key k gives crit[k] True", args=2, section=SECTION)
def _key_select(ev, x, crit):
    return _each("KeySelect", x,
                 lambda rules: [r for r in rules if ev.call(crit, r[0]) is TrueS])


@builtin("KeySort", ("KeySort[assoc]", "KeySort[assoc, p]"),
         "the association with its keys in canonical order (or ordered by p)", args=(1, 2),
         section=SECTION)
def _key_sort(ev, x, p=None):
    def sort(rules):
        if p is None:
            return sorted(rules, key=lambda r: canonical_key(r[0]))
        before = in_order(ev, p)
        return merge_sort(rules, lambda a, b: before(a[0], b[0]))
    return _each("KeySort", x, sort)


@builtin("KeySortBy", ("KeySortBy[assoc, f]", "KeySortBy[f][assoc]"),
         "the association with its keys ordered by the canonical order of f[key]", args=2,
         section=SECTION)
def _key_sort_by(ev, x, f):
    def sort(rules):
        keys = [(canonical_key(ev.call(f, r[0])), canonical_key(r[0])) for r in rules]
        return [rules[i] for i in sorted(range(len(rules)), key=keys.__getitem__)]
    return _each("KeySortBy", x, sort)


@builtin("KeyMap", ("KeyMap[f, assoc]", "KeyMap[f][assoc]"),
         "the association with each key k replaced by f[k]", args=2, section=SECTION)
def _key_map(ev, f, x):
    return _each("KeyMap", x, lambda rules: [(ev.call(f, k), v, d) for k, v, d in rules])


@builtin("KeyValueMap", ("KeyValueMap[f, assoc]", "KeyValueMap[f][assoc]"),
         "the list {f[k1, v1], f[k2, v2], ...}", args=2, section=SECTION)
def _key_value_map(ev, f, x):
    rules = _rules(x) if isinstance(x, Association) else None
    if rules is None:
        raise _invalid("KeyValueMap", x)
    return make_list(ev.call(f, r[0], _assoc_value(ev, r)) for r in rules)


@builtin("KeyMemberQ", ("KeyMemberQ[assoc, key]", "KeyMemberQ[assoc, pattern]",
                        "KeyMemberQ[key][assoc]"),
         "True if a key of the association is key (or matches the pattern)", args=2,
         section=SECTION)
def _key_member_q(ev, x, key):
    rules = _rules(x)
    if rules is None:
        raise _invalid("KeyMemberQ", x)
    if isinstance(key, Expr) and key.head is Key and len(key.args) == 1:
        key = key.args[0]
    assoc = Association(rules)
    if key in assoc:
        return boolean(True)
    return boolean(any(ev.match(key, k) is not None for k, _, _ in rules))


@builtin("AssociationThread", ("AssociationThread[{k1, k2, ...}, {v1, v2, ...}]",
                               "AssociationThread[{k1, k2, ...} -> {v1, v2, ...}]"),
         "the association <|k1 -> v1, k2 -> v2, ...|>", args=(1, 2), section=SECTION)
def _association_thread(ev, keys, values=None):
    call = Expr(S("AssociationThread"), keys, *([] if values is None else [values]))
    if values is None:
        if not is_rule(keys):
            raise EvaluationError(f"{short(call)} needs {{k1, k2, ...}} -> {{v1, v2, ...}}.",
                                  symbol="AssociationThread", tag="invrl")
        keys, values = keys.args
        if is_list(keys) and not is_list(values):   # as Thread[{a, b} -> x]: x for each key
            values = make_list([values] * len(list_items(keys)))
    if not (is_list(keys) and is_list(values)):
        raise EvaluationError(f"The arguments of {short(call)} should be lists of keys and "
                              f"values.", symbol="AssociationThread", tag="list")
    ks, vs = list_items(keys), list_items(values)
    if len(ks) != len(vs):
        raise EvaluationError(f"The arguments {short(keys)} and {short(values)} of "
                              f"{short(call)} should have the same length.",
                              symbol="AssociationThread", tag="idim")
    return Association((k, v, False) for k, v in zip(ks, vs))


@builtin("Merge", ("Merge[{assoc1, assoc2, ...}, f]", "Merge[f][{assoc1, ...}]"),
         "one association: each key's values, from all the associations in turn, combined "
         "by f", args=2, section=SECTION)
def _merge(ev, xs, f):
    call = Expr(S("Merge"), xs, f)
    if isinstance(xs, Association):
        xs = Expr(List, xs)
    if not is_list(xs):
        raise EvaluationError(f"{short(xs)} in {short(call)} is not a list of associations.",
                              symbol="Merge", tag="list")
    groups: dict[Any, int] = {}
    keys: list[Any] = []
    values: list[list[Any]] = []
    for a in list_items(xs):
        rules = _rules(a) if not is_rule(a) else [(a.args[0], a.args[1], a.head is RuleDelayed)]
        if rules is None:
            raise _invalid("Merge", a)
        for r in rules:
            h = hash_key(r[0])
            if h not in groups:
                groups[h] = len(keys)
                keys.append(r[0])
                values.append([])
            values[groups[h]].append(_assoc_value(ev, r))
    return Association((k, ev.call(f, make_list(v)), False) for k, v in zip(keys, values))


OPERATOR_FORMS.update({
    "KeyDrop": True, "KeyTake": True, "KeySelect": True, "KeySortBy": True, "KeyMap": False,
    "KeyValueMap": False, "KeyMemberQ": True, "Merge": True,
})
