"""Pattern constructs and the functions that use patterns: MatchQ, /., //., Replace, Cases,
DeleteCases, Count, Position, FreeQ, MemberQ; and a symbol's properties: Options,
OptionValue, Attributes, SetAttributes.

The matching itself is netdsl.patterns; here are the Wolfram-facing functions.
Traversals follow Wolfram: Cases and Position visit subexpressions depth first,
children before their parent; ReplaceAll tries the rules on the whole expression
first and does not look inside a part it replaced.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import EvaluationError, NetDSLError
from ..expr import (Association, Expr, List, Null, Symbol, boolean, input_form, is_list, is_rule,
                    list_items, make_list, same_q)
from ..patterns import rule_parts, substitute
from .core import SPECIAL_ASSIGN, definition_lhs
from .lists import _level_spec, _parts, _rebuild
from .registry import (HOLD_ALL, HOLD_FIRST, HOLD_REST, NOT_APPLICABLE, REGISTRY, builtin,
                       option_name, wrong_call)

S = Symbol
Condition = S("Condition")
Infinity = S("Infinity")


# ---------------------------------------------------------------- pattern heads
def _inert(name: str, usage: str, summary: str, attributes: tuple[str, ...] = ()) -> None:
    @builtin(name, usage, summary, attributes=attributes, section="Patterns")
    def _stay(ev, *args):
        return NOT_APPLICABLE


_inert("Blank", "_ or _h", "any expression (with head h)")
_inert("BlankSequence", "__ or __h", "a sequence of one or more expressions")
_inert("BlankNullSequence", "___ or ___h", "a sequence of zero or more expressions")
_inert("Pattern", "x_ or x:p", "names what p matches x", (HOLD_FIRST,))
_inert("Condition", "p /; cond", "p, when cond is True (names of p replaced)", (HOLD_ALL,))
_inert("PatternTest", "p ? test", "p, when test[expr] is True", (HOLD_REST,))
_inert("Alternatives", "p1 | p2", "either pattern")
_inert("Except", "Except[c] or Except[c, p]", "anything (or p) except what matches c")
_inert("Optional", "x_:default or x_.", "an argument that may be omitted")
_inert("Repeated", "p.. or Repeated[p, {min, max}]", "one or more elements matching p")
_inert("RepeatedNull", "p...", "zero or more elements matching p")
_inert("OptionsPattern", "OptionsPattern[]", "any sequence of option rules")
_inert("HoldPattern", "HoldPattern[p]", "p, not evaluated", (HOLD_ALL,))
_inert("Verbatim", "Verbatim[expr]", "expr literally, pattern constructs included", (HOLD_ALL,))


@builtin("MatchQ", ("MatchQ[expr, p]", "MatchQ[p][expr]"), "True if expr matches the pattern p",
         args=2, section="Patterns")
def _match_q(ev, x, p):
    return boolean(ev.match(p, x) is not None)


# ---------------------------------------------------------------- rules
def rules_of(ev, spec: Any, name: str, call: Any) -> list[tuple[Any, Any, bool]]:
    parts = rule_parts(spec)
    if parts is not None:
        return [parts]
    if is_list(spec) and isinstance(spec, Expr) and all(is_rule(r) for r in spec.args):
        return [rule_parts(r) for r in spec.args]  # type: ignore[misc]
    if isinstance(spec, Association):
        return [(k, v, d) for k, v, d in spec.rules]
    raise wrong_call(name, call, f"{input_form(spec)} is not a rule or a list of rules")


def try_rules(ev, rules: list, x: Any) -> tuple[bool, Any]:
    """(True, replacement) for the first rule whose left side matches ``x``."""
    for lhs, rhs, delayed in rules:
        for b in ev.matcher._match(lhs, x, {}):
            if delayed and type(rhs) is Expr and rhs.head is Condition and len(rhs.args) == 2:
                if not ev._condition(rhs.args[1], b):
                    continue
                return True, substitute(rhs.args[0], b)
            return True, substitute(rhs, b)
    return False, None


def replace_all(ev, x: Any, rules: list) -> tuple[bool, Any]:
    done, new = try_rules(ev, rules, x)
    if done:
        return True, new
    if isinstance(x, Association):
        changed = False
        kept = []
        for k, v, d in x.rules:
            c, v2 = replace_all(ev, v, rules)
            changed |= c
            kept.append((k, v2, d))
        return changed, (Association(kept) if changed else x)
    split = _parts(x)
    if split is None:
        return False, x
    head, items = split
    # A packed array's head List is a part too: {4, 4} /. List -> Times is 16.
    ch, new_head = replace_all(ev, head, rules)
    changed = ch
    out = []
    for item in items:
        c, v = replace_all(ev, item, rules)
        changed |= c
        out.append(v)
    if not changed:
        return False, x
    return True, _rebuild(new_head, out) if new_head is List else Expr(new_head, *out)


@builtin("ReplaceAll", ("expr /. rules", "ReplaceAll[expr, rules]"),
         "replaces each part of expr that a rule's left side matches (the largest parts first)",
         args=2, section="Patterns")
def _replace_all(ev, x, spec):
    call = Expr(S("ReplaceAll"), x, spec)
    if is_list(spec) and isinstance(spec, Expr) and spec.args and all(
            is_list(r) for r in spec.args):
        return make_list([_replace_all(ev, x, r) for r in spec.args])
    changed, new = replace_all(ev, x, rules_of(ev, spec, "ReplaceAll", call))
    return ev.evaluate(new) if changed else x


@builtin("ReplaceRepeated", ("expr //. rules", "ReplaceRepeated[expr, rules]"),
         "applies /. until the expression no longer changes", args=2, options={
             "MaxIterations": 65536}, section="Patterns")
def _replace_repeated(ev, x, spec, opts):
    rules = rules_of(ev, spec, "ReplaceRepeated", Expr(S("ReplaceRepeated"), x, spec))
    limit = opts["MaxIterations"]
    for _ in range(limit if isinstance(limit, int) else 65536):
        changed, new = replace_all(ev, x, rules)
        if not changed:
            return x
        new = ev.evaluate(new)
        if same_q(new, x):
            return x
        x = new
    raise EvaluationError(f"{input_form(spec)} applied {limit} times did not settle.",
                          symbol="ReplaceRepeated", tag="rrlim")


@builtin("Replace", ("Replace[expr, rules]", "Replace[expr, rules, levels]"),
         "applies the rules to the whole expr (or to the parts at the given levels)",
         args=(2, 3), section="Patterns")
def _replace(ev, x, spec, levels=None):
    call = Expr(S("Replace"), x, spec, *([] if levels is None else [levels]))
    rules = rules_of(ev, spec, "Replace", call)
    lo, hi = (0, 0) if levels is None else _levels(levels, "Replace", call)
    return ev.evaluate(_replace_levels(ev, x, rules, lo, hi, 0))


def _replace_levels(ev, x: Any, rules: list, lo: float, hi: float, depth: int) -> Any:
    if depth < hi:
        split = _parts(x)
        if split is not None:
            head, items = split
            new = [_replace_levels(ev, i, rules, lo, hi, depth + 1) for i in items]
            if any(a is not b for a, b in zip(new, items)):
                x = _rebuild(head, new)
    if depth >= lo:
        done, r = try_rules(ev, rules, x)
        if done:
            return r
    return x


def _levels(spec: Any, name: str, call: Any) -> tuple[float, float]:
    if is_list(spec):
        items = list_items(spec) if isinstance(spec, np.ndarray) else list(spec.args)
        ints = [math.inf if i is Infinity else i for i in items]
        if 1 <= len(ints) <= 2 and all(isinstance(i, (int, float)) and i >= 0 for i in ints):
            return ints[0], ints[-1]
    return _level_spec(spec, name, call)


def walk(x: Any, lo: float, hi: float, heads: bool = False, depth: int = 0,
         path: tuple = ()):
    """(position, part) of every part at levels lo..hi, children before their parent."""
    if depth < hi:
        if isinstance(x, Expr) and heads:
            yield from walk(x.head, lo, hi, heads, depth + 1, path + (0,))
        split = _parts(x)
        if split is not None and not (isinstance(x, np.ndarray) and x.ndim == 1 and hi - depth
                                      and lo > depth + 1):
            for i, item in enumerate(split[1], 1):
                yield from walk(item, lo, hi, heads, depth + 1, path + (i,))
    if depth >= lo:
        yield path, x


def _pattern_or_rule(p: Any) -> tuple[Any, Any, bool] | None:
    return rule_parts(p)


@builtin("Cases", ("Cases[list, p]", "Cases[list, p -> rhs]", "Cases[expr, p, levels]"),
         "the elements (at level 1, or the given levels) that match p, optionally transformed",
         args=(2, 3), section="Patterns")
def _cases(ev, x, p, levels=None):
    call = Expr(S("Cases"), x, p, *([] if levels is None else [levels]))
    if _parts(x) is None and not isinstance(x, Association):
        return Expr(List)
    lo, hi = (1, 1) if levels is None else _levels(levels, "Cases", call)
    items = x.values() if isinstance(x, Association) else None
    rule = _pattern_or_rule(p)
    out = []
    parts = ((None, v) for v in items) if items is not None and (lo, hi) == (1, 1) \
        else walk(x, lo, hi)
    for _, part in parts:
        if rule is not None:
            done, r = try_rules(ev, [rule], part)
            if done:
                out.append(ev.evaluate(r))
        elif ev.match(p, part) is not None:
            out.append(part)
    return make_list(out)


@builtin("DeleteCases", ("DeleteCases[list, p]", "DeleteCases[expr, p, levels]"),
         "expr without the elements (at level 1, or the given levels) that match p",
         args=(2, 3), section="Patterns")
def _delete_cases(ev, x, p, levels=None):
    call = Expr(S("DeleteCases"), x, p, *([] if levels is None else [levels]))
    lo, hi = (1, 1) if levels is None else _levels(levels, "DeleteCases", call)
    if isinstance(x, Association):
        return Association((k, v, d) for k, v, d in x.rules if ev.match(p, v) is None)
    return _delete(ev, x, p, lo, hi, 0)


def _delete(ev, x: Any, p: Any, lo: float, hi: float, depth: int) -> Any:
    split = _parts(x)
    if split is None or depth >= hi:
        return x
    head, items = split
    kept = []
    for item in items:
        if depth + 1 >= lo and ev.match(p, item) is not None:
            continue
        kept.append(_delete(ev, item, p, lo, hi, depth + 1))
    return _rebuild(head, kept)


@builtin("Count", ("Count[list, p]", "Count[expr, p, levels]"),
         "how many elements (at level 1, or the given levels) match p", args=(2, 3),
         section="Patterns")
def _count(ev, x, p, levels=None):
    call = Expr(S("Count"), x, p, *([] if levels is None else [levels]))
    lo, hi = (1, 1) if levels is None else _levels(levels, "Count", call)
    if isinstance(x, Association):
        return sum(ev.match(p, v) is not None for v in x.values())
    return sum(ev.match(p, part) is not None for _, part in walk(x, lo, hi))


@builtin("Position", ("Position[expr, p]", "Position[expr, p, levels]"),
         "the positions {i, j, ...} of the parts of expr that match p", args=(2, 3),
         section="Patterns")
def _position(ev, x, p, levels=None):
    call = Expr(S("Position"), x, p, *([] if levels is None else [levels]))
    lo, hi = (0, math.inf) if levels is None else _levels(levels, "Position", call)
    found = [make_list(list(path)) for path, part in walk(x, lo, hi, heads=levels is None)
             if ev.match(p, part) is not None]
    return Expr(List, *found) if found and not all(isinstance(f, np.ndarray) and
                                                   f.shape == found[0].shape for f in found) \
        else make_list(found)


@builtin("FreeQ", ("FreeQ[expr, p]", "FreeQ[p][expr]"),
         "True if no part of expr (heads included) matches p", args=2, section="Patterns")
def _free_q(ev, x, p):
    return boolean(not any(ev.match(p, part) is not None
                           for _, part in walk(x, 0, math.inf, heads=True)))


@builtin("MemberQ", ("MemberQ[list, p]", "MemberQ[p][list]"),
         "True if an element of list matches p", args=2, section="Patterns")
def _member_q(ev, x, p):
    items = x.values() if isinstance(x, Association) else (_parts(x) or (None, []))[1]
    return boolean(any(ev.match(p, i) is not None for i in items))


# ---------------------------------------------------------------- options
def _option_rules(x: Any) -> list[Any]:
    if is_rule(x):
        return [x]
    if is_list(x) and isinstance(x, Expr):
        return [r for a in x.args for r in _option_rules(a)]
    return []


def _assign_options(ev, lhs: Expr, value: Any) -> None:
    if len(lhs.args) != 1 or not isinstance(lhs.args[0], Symbol):
        raise wrong_call("Options", lhs, "Options[f] = {name -> value, ...} needs a symbol f")
    if not (is_list(value) or is_rule(value)):
        raise EvaluationError(f"{input_form(value)} is not a list of option rules.",
                              symbol="Options", tag="opts")
    ev.options[lhs.args[0]] = value if is_list(value) else Expr(List, value)


SPECIAL_ASSIGN["Options"] = _assign_options


def _layer_options(name: str) -> Any:
    """The options of a layer type, as a layer built with no arguments has them (None if
    the type needs arguments or is not a layer)."""
    from ..layers.registry import LAYER_TYPES
    cls = LAYER_TYPES.get(name)
    if cls is None:
        return None
    try:
        return Expr(List, *cls.build((), None).option_rules())
    except NetDSLError:      # a layer that needs arguments (ConvolutionLayer): as declared
        return Expr(List, *cls.declared_option_rules())


@builtin("Options", ("Options[f]", "Options[f, name]", "Options[layer]"),
         "the default options of f (Options[f] = {...} sets them); a layer's options, arrays "
         "and ports as rules", args=(1, 2), section="Patterns")
def _options(ev, f, name=None):
    if isinstance(f, Symbol):
        b = REGISTRY.get(f.name)
        found = ev.options.get(f)
        if found is None and f.name.endswith("Layer"):    # Options[LinearLayer]: a default
            found = _layer_options(f.name)                 # layer's options and ports
        if found is None:
            found = Expr(List, *[Expr(S("Rule"), S(k), v) for k, v in b.options.items()]) \
                if b is not None else Expr(List)
    elif callable(getattr(f, "option_rules", None)):     # a layer: options, arrays, ports
        found = Expr(List, *f.option_rules())
    else:
        found = Expr(List, *_option_rules(f))
    if name is None:
        return found
    return Expr(List, *[r for r in found.args if option_name(r.args[0]) == option_name(name)])


@builtin("FilterRules", ("FilterRules[rules, {name1, ...}]", "FilterRules[rules, Options[f]]",
                         "FilterRules[rules, pattern]"),
         "the rules whose option names are among the names (or the names of the option "
         "rules given), or match the pattern: options passed on to NetTrain, NetChain, ...",
         args=2, section="Patterns")
def _filter_rules(ev, rules, spec):
    found = _option_rules(rules)
    if is_list(spec):
        names = {option_name(r.args[0]) if is_rule(r) else option_name(r)
                 for r in list_items(spec)}
        return Expr(List, *[r for r in found if option_name(r.args[0]) in names])
    return Expr(List, *[r for r in found if ev.match(spec, r.args[0]) is not None])


@builtin("OptionValue", ("OptionValue[name]", "OptionValue[f, name]", "OptionValue[f, opts, name]"),
         "inside f[..., OptionsPattern[]] := ...: the value of option name in this call, "
         "else its default in Options[f]", args=(1, 3), section="Patterns")
def _option_value(ev, *args):
    if len(args) == 1:
        return NOT_APPLICABLE  # outside a definition with OptionsPattern
    f, name = args[0], args[-1]
    given = _option_rules(args[1]) if len(args) == 3 else []
    if is_list(name) and isinstance(name, Expr):
        return Expr(List, *[_option_value(ev, f, Expr(List, *given), n) for n in name.args])
    defaults = _option_rules(_options(ev, f)) if isinstance(f, Symbol) else []
    key = option_name(name)
    for r in given + defaults:
        if option_name(r.args[0]) == key:
            v = r.args[1]
            return ev.evaluate(v) if r.head is S("RuleDelayed") else v
    raise EvaluationError(f"Option name {input_form(name)} not found in defaults for "
                          f"{input_form(f)}.", symbol="OptionValue", tag="optnf")


# ---------------------------------------------------------------- attributes
KNOWN_ATTRIBUTES = frozenset({"HoldAll", "HoldFirst", "HoldRest", "Listable", "Orderless", "Flat",
                              "OneIdentity", "Protected", "Locked", "ReadProtected",
                              "NumericFunction", "HoldAllComplete", "SequenceHold",
                              "Temporary", "Constant", "Stub", "NHoldAll", "NHoldFirst",
                              "NHoldRest"})


def _attribute_names(spec: Any, call: Any, name: str) -> list[str]:
    items = spec.args if isinstance(spec, Expr) and spec.head is List else (spec,)
    out = []
    for a in items:
        if not (isinstance(a, Symbol) and a.name in KNOWN_ATTRIBUTES):
            raise wrong_call(name, call, f"{input_form(a)} is not a known attribute")
        out.append(a.name)
    return out


def _symbol_arg(f: Any, name: str, call: Any) -> Symbol:
    if isinstance(f, str):
        f = S(f)
    if not isinstance(f, Symbol):
        raise wrong_call(name, call, f"{input_form(f)} is not a symbol")
    return f


@builtin("Attributes", "Attributes[f]", "the attributes of f (HoldAll, Listable, ...)", args=1,
         attributes=(HOLD_ALL,), section="Patterns")
def _attributes(ev, f):
    f = _symbol_arg(f, "Attributes", Expr(S("Attributes"), f))
    return Expr(List, *[S(a) for a in sorted(ev.attributes_of(f))])


@builtin("SetAttributes", ("SetAttributes[f, attr]", "SetAttributes[f, {attr1, ...}]"),
         "gives f attributes: HoldAll, HoldFirst, HoldRest, Listable, Orderless, Flat, ...",
         args=2, attributes=(HOLD_FIRST,), section="Patterns")
def _set_attributes(ev, f, spec):
    call = Expr(S("SetAttributes"), f, spec)
    for sym in (f.args if isinstance(f, Expr) and f.head is List else (f,)):
        sym = _symbol_arg(sym, "SetAttributes", call)
        if sym.name in REGISTRY:
            raise EvaluationError(f"Symbol {sym.name} is a built-in; its attributes are fixed.",
                                  symbol="SetAttributes", tag="write")
        ev.attributes[sym] = ev.attributes.get(sym, frozenset()) | frozenset(
            _attribute_names(spec, call, "SetAttributes"))
    return Null


@builtin("ClearAttributes", "ClearAttributes[f, attr]", "removes attributes of f", args=2,
         attributes=(HOLD_FIRST,), section="Patterns")
def _clear_attributes(ev, f, spec):
    call = Expr(S("ClearAttributes"), f, spec)
    sym = _symbol_arg(f, "ClearAttributes", call)
    ev.attributes[sym] = ev.attributes.get(sym, frozenset()) - frozenset(
        _attribute_names(spec, call, "ClearAttributes"))
    return Null


def _assign_attributes(ev, lhs: Expr, value: Any) -> None:
    call = Expr(S("Set"), lhs, value)
    sym = _symbol_arg(lhs.args[0] if lhs.args else None, "Attributes", call)
    ev.attributes[sym] = frozenset(_attribute_names(value, call, "Attributes"))


SPECIAL_ASSIGN["Attributes"] = _assign_attributes


@builtin("Protect", "Protect[f, ...]", "accepted for compatibility; does nothing in netdsl",
         attributes=(HOLD_ALL,), section="Patterns")
def _protect(ev, *syms):
    return Expr(List)


@builtin("Unprotect", "Unprotect[f, ...]", "accepted for compatibility; does nothing in netdsl",
         attributes=(HOLD_ALL,), section="Patterns")
def _unprotect(ev, *syms):
    return Expr(List)


@builtin("DownValues", "DownValues[f]", "the definitions of f, as a list of rules", args=1,
         attributes=(HOLD_ALL,), section="Patterns")
def _down_values(ev, f):
    f = _symbol_arg(f, "DownValues", Expr(S("DownValues"), f))
    defs = ev.definitions.get(f)
    rules = defs.all_rules() if defs is not None else []
    return Expr(List, *[Expr(S("RuleDelayed"), Expr(S("HoldPattern"), lhs), rhs)
                        for lhs, rhs, _ in rules])


# ---------------------------------------------------------------- up-values and unset
def _up_tags(ev, lhs: Any, name: str, call: Any) -> list[Symbol]:
    """The symbols ``lhs ^= v`` attaches to: each argument's symbol or innermost head."""
    if not isinstance(lhs, Expr):
        raise wrong_call(name, call, f"{input_form(lhs)} is not of the form f[...]")
    tags = []
    for a in lhs.args:
        sym = a
        while isinstance(sym, Expr):
            sym = _pattern_symbol(sym) if sym.has_head("Pattern") else sym.head
        if isinstance(sym, Symbol) and sym.name not in REGISTRY and sym not in tags:
            tags.append(sym)
    if not tags:
        raise wrong_call(name, call, "no argument has a symbol to attach the rule to")
    return tags


def _pattern_symbol(p: Expr) -> Any:
    inner = p.args[1] if len(p.args) == 2 else None
    if isinstance(inner, Expr) and inner.has_head("Blank") and inner.args:
        return inner.args[0]
    return None


def _lhs_args_evaluated(ev, lhs: Any) -> Any:
    if isinstance(lhs, Expr) and not lhs.has_head("HoldPattern"):
        return Expr(lhs.head, *[ev.evaluate(a) for a in lhs.args], span=lhs.span)
    return lhs


@builtin("UpSet", "lhs ^= rhs", "a rule for lhs kept with the symbols of its arguments: "
         "area[sq] ^= 4 defines area[sq] without touching area", args=2,
         attributes=(HOLD_FIRST,), section="Patterns")
def _up_set(ev, lhs, value):
    lhs = _lhs_args_evaluated(ev, lhs)
    for tag in _up_tags(ev, lhs, "UpSet", Expr(S("UpSet"), lhs, value)):
        ev.define_upvalue(tag, lhs, value, False)
    return value


@builtin("UpSetDelayed", "lhs ^:= rhs", "UpSet with the right side evaluated when used",
         args=2, attributes=(HOLD_ALL,), section="Patterns")
def _up_set_delayed(ev, lhs, value):
    lhs = _lhs_args_evaluated(ev, lhs)
    for tag in _up_tags(ev, lhs, "UpSetDelayed", Expr(S("UpSetDelayed"), lhs, value)):
        ev.define_upvalue(tag, lhs, value, True)
    return Null


def _tag_set(ev, name: str, tag: Any, lhs: Any, value: Any, delayed: bool) -> None:
    call = Expr(S(name), tag, lhs, value)
    if not isinstance(tag, Symbol):
        raise wrong_call(name, call, f"{input_form(tag)} is not a symbol")
    lhs = _lhs_args_evaluated(ev, lhs)
    head = lhs.head if isinstance(lhs, Expr) else None
    while isinstance(head, Expr):
        head = head.head
    if head is tag:
        ev.assign(lhs, value, delayed)
    else:
        ev.define_upvalue(tag, lhs, value, delayed)


@builtin("TagSet", "f /: lhs = rhs", "a rule for lhs kept with the symbol f", args=3,
         attributes=(HOLD_ALL,), section="Patterns")
def _tag_set_fn(ev, tag, lhs, value):
    value = ev.evaluate(value)
    _tag_set(ev, "TagSet", tag, lhs, value, False)
    return value


@builtin("TagSetDelayed", "f /: lhs := rhs", "TagSet with the right side evaluated when used",
         args=3, attributes=(HOLD_ALL,), section="Patterns")
def _tag_set_delayed_fn(ev, tag, lhs, value):
    _tag_set(ev, "TagSetDelayed", tag, lhs, value, True)
    return Null


@builtin("Unset", "lhs =.", "removes the value of a symbol or the definition for lhs", args=1,
         attributes=(HOLD_FIRST,), section="Patterns")
def _unset(ev, lhs):
    if not ev.unset(definition_lhs(ev, lhs)):
        ev.message("Unset", "norep", f"Assignment on {input_form(lhs)} for "
                                     f"{input_form(lhs)} not found.")
        return S("$Failed")
    return Null
