"""Built-ins that drive evaluation: assignment, functions, control, printing, forms."""

from __future__ import annotations

import time
from typing import Any

from ..contexts import context_symbols
from ..errors import EvaluationError, QuitRequest
from ..printer import short
from ..expr import (Association, Expr, List, Null, Opaque, Symbol, boolean, full_form, head_of,
                    input_form, is_integer, is_list, is_rule, list_items, make_list, output_form,
                    same_q)
from .lists import part_assign
from .registry import HOLD_ALL, HOLD_FIRST, HOLD_REST, NOT_APPLICABLE, builtin, wrong_call

S = Symbol


# ---------------------------------------------------------------- structure
@builtin("List", "{a, b, ...}", "a list; numeric rectangular lists are held as NumPy arrays",
         section="Structure")
def _list(ev, *items):
    return make_list(items)


@builtin("Association", "<|k1 -> v1, ...|>", "an association (ordered key -> value map)",
         section="Structure")
def _association(ev, *rules):
    flat: list[tuple[Any, Any, bool]] = []
    for r in rules:
        if is_rule(r):
            flat.append((r.args[0], r.args[1], r.head is S("RuleDelayed")))
        elif isinstance(r, Association):
            flat.extend(r.rules)
        elif isinstance(r, Expr) and r.head is List and all(is_rule(x) for x in r.args):
            flat.extend((x.args[0], x.args[1], x.head is S("RuleDelayed")) for x in r.args)
        else:
            raise wrong_call("Association", Expr(S("Association"), *rules),
                             f"{short(r)} is not a rule")
    return Association(flat)


@builtin("Rule", "lhs -> rhs", "a rule; options and port shapes are written as rules",
         args=2, section="Structure")
def _rule(ev, lhs, rhs):
    return NOT_APPLICABLE


@builtin("RuleDelayed", "lhs :> rhs", "a rule whose right side is evaluated when used",
         args=2, attributes=(HOLD_REST,), section="Structure")
def _rule_delayed(ev, lhs, rhs):
    return NOT_APPLICABLE


@builtin("Sequence", "Sequence[a, b, ...]", "spliced into the enclosing arguments",
         section="Structure")
def _sequence(ev, *items):
    return NOT_APPLICABLE


@builtin("Hold", "Hold[expr]", "keeps expr unevaluated", attributes=(HOLD_ALL,),
         section="Structure")
def _hold(ev, *items):
    return NOT_APPLICABLE


@builtin("Head", "Head[expr]", "the head of an expression (Integer, Real, List, NetChain, ...)",
         args=1, section="Structure")
def _head(ev, x):
    return head_of(x)


@builtin("SameQ", "a === b", "True if a and b are identical", args=(1, None),
         section="Structure")
def _same(ev, *xs):
    return boolean(all(same_q(xs[0], x) for x in xs[1:]))


@builtin("UnsameQ", "a =!= b", "True if a and b are not identical", args=(1, None),
         section="Structure")
def _unsame(ev, *xs):
    return boolean(not all(same_q(xs[0], x) for x in xs[1:]))


# ---------------------------------------------------------------- assignment
@builtin("Set", ("x = value", "f[args] = value", "{a, b} = {1, 2}"),
         "evaluates value and assigns it to x, or defines f for these arguments; returns value",
         args=2, attributes=(HOLD_FIRST,), section="Evaluation")
def _set(ev, lhs, value):
    if isinstance(lhs, Expr) and lhs.has_head("Part"):
        target = lhs.args[0]
        indices = [ev.evaluate(i) for i in lhs.args[1:]]
        ev.assign(target, part_assign(ev.evaluate(target), indices, value, lhs))
        return value
    if isinstance(lhs, Expr) and lhs.head is List:
        values = list_items(value) if is_list(value) else None
        if values is None or len(values) != len(lhs.args):
            raise EvaluationError(f"{short(lhs)} and {short(value)} are not lists of "
                                  "the same length.", symbol="Set", tag="shape")
        for target, v in zip(lhs.args, values):
            _set(ev, target, v)
        return value
    if association_assign(ev, lhs, value, False):
        return value
    if not special_assign(ev, lhs, value, False):
        ev.assign(definition_lhs(ev, lhs), value)
    return value


def association_target(ev, lhs: Any) -> tuple[Symbol, list] | None:
    """``a[k]`` or ``a[k1][k2]`` (keys unevaluated) where the symbol ``a`` holds an
    association: (a, keys); else None."""
    keys = []
    node = lhs
    while type(node) is Expr and len(node.args) == 1:
        keys.append(node.args[0])
        node = node.head
    if type(node) is not Symbol or not keys or not isinstance(ev.values.get(node), Association):
        return None
    return node, keys[::-1]


def association_assign(ev, lhs: Any, value: Any, delayed: bool) -> bool:
    """``a[k] = v`` (``a[k] := v``, ``a[k1][k2] = v``) where ``a`` holds an association:
    the association with that key's value replaced or added, as Wolfram does; done if
    True."""
    found = association_target(ev, lhs)
    if found is None:
        return False
    sym, keys = found
    keys = [ev.evaluate(k) for k in keys]
    keys = [k.args[0] if isinstance(k, Expr) and k.head is S("Key") and len(k.args) == 1
            else k for k in keys]                  # a[Key["k"]] = v is a["k"] = v

    def put(assoc: Association, keys: list) -> Association:
        if len(keys) == 1:
            return assoc.with_rule(keys[0], value, delayed)
        inner = assoc.get(keys[0])
        if not isinstance(inner, Association):
            raise EvaluationError(f"{short(lhs)} cannot be assigned: the value at key "
                                  f"{short(keys[0])} is not an association.", symbol="Set",
                                  tag="partw")
        return assoc.with_rule(keys[0], put(inner, keys[1:]))
    ev.assign(sym, put(ev.values[sym], keys))
    return True


@builtin("SetDelayed", ("x := expr", "f[x_] := expr"),
         "assigns expr unevaluated; x (or f[...] matching the pattern) re-evaluates it each time",
         args=2, attributes=(HOLD_ALL,), section="Evaluation")
def _set_delayed(ev, lhs, value):
    if association_assign(ev, lhs, value, True):
        return Null
    if not special_assign(ev, lhs, value, True):
        ev.assign(definition_lhs(ev, lhs), value, delayed=True)
    return Null


def definition_lhs(ev, lhs: Any) -> Any:
    """A definition's left side with its arguments evaluated, as Wolfram does (so
    ``fib[n] = ...`` inside fib's body defines ``fib[5]``), unless f holds them."""
    if not isinstance(lhs, Expr) or not isinstance(lhs.head, (Symbol, Expr)):
        return lhs
    name = lhs.head.name if isinstance(lhs.head, Symbol) else None
    if name in ("HoldPattern", "Verbatim"):
        return lhs
    if name == "Condition" and lhs.args:
        return Expr(lhs.head, definition_lhs(ev, lhs.args[0]), *lhs.args[1:], span=lhs.span)
    head = definition_lhs(ev, lhs.head) if isinstance(lhs.head, Expr) else lhs.head
    attrs = ev.attributes_of(head) if isinstance(head, Symbol) else frozenset()
    if HOLD_ALL in attrs:
        args = lhs.args
    elif HOLD_FIRST in attrs:
        args = lhs.args[:1] + tuple(ev.evaluate(a) for a in lhs.args[1:])
    elif HOLD_REST in attrs:
        args = (ev.evaluate(lhs.args[0]),) + lhs.args[1:] if lhs.args else ()
    else:
        args = tuple(ev.evaluate(a) for a in lhs.args)
    return Expr(head, *args, span=lhs.span)


# Assignments to these heads set a property of the symbol inside, not a definition.
SPECIAL_ASSIGN: dict[str, Any] = {}


def special_assign(ev, lhs: Any, value: Any, delayed: bool) -> bool:
    """``Options[f] = ...``, ``f::usage = ...``, ``Attributes[f] = ...``: done if True."""
    if isinstance(lhs, Expr) and isinstance(lhs.head, Symbol):
        fn = SPECIAL_ASSIGN.get(lhs.head.name)
        if fn is not None:
            fn(ev, lhs, ev.evaluate(value) if delayed else value)
            return True
    return False


def _symbols_to_clear(ev, syms: tuple, name: str) -> list[Symbol]:
    out: list[Symbol] = []
    for s in syms:
        if isinstance(s, str):
            if "*" in s or "@" in s:
                # "Pkg`*": the symbols of context Pkg` only; "x*": those found from here
                out.extend(context_symbols(ev, s))
                continue
            s = ev.contexts.symbol(s)
        if not isinstance(s, Symbol):
            raise wrong_call(name, Expr(S(name), *syms), f"{short(s)} is not a symbol")
        out.append(s)
    return out


@builtin("Clear", ("Clear[x, y, ...]", 'Clear["name*"]'),
         "removes the values and definitions of symbols", attributes=(HOLD_ALL,),
         section="Evaluation")
def _clear(ev, *syms):
    for s in _symbols_to_clear(ev, syms, "Clear"):
        ev.clear(s)
    return Null


@builtin("ClearAll", ("ClearAll[x, y, ...]", 'ClearAll["name*"]'),
         "removes values, definitions, attributes, options and messages of symbols",
         attributes=(HOLD_ALL,), section="Evaluation")
def _clear_all(ev, *syms):
    for s in _symbols_to_clear(ev, syms, "ClearAll"):
        ev.clear(s, everything=True)
    return Null


@builtin("CompoundExpression", "a; b; c", "evaluates in turn, gives the last; a trailing ; gives Null",
         attributes=(HOLD_ALL,), section="Evaluation")
def _compound(ev, *parts):
    value = Null
    for p in parts:
        value = ev.evaluate(p)
    return value


@builtin("Function", ("body &", "Function[x, body]", "Function[{x, y}, body]"),
         "a pure function; # and #n are its arguments in the body & form",
         args=(1, 3), attributes=(HOLD_ALL,), section="Evaluation")
def _function(ev, *parts):
    return NOT_APPLICABLE


@builtin("Compile", ("Compile[{x, y}, body]", "Compile[{{x, _Real}, {y, _Integer, 1}}, body]"),
         "a function of x, y as Function[{x, y}, body]: the types, ranks and options "
         "(CompilationTarget, RuntimeOptions) are read and ignored; RuntimeAttributes -> "
         "{Listable} makes it Listable", args=(2, None), attributes=(HOLD_ALL,),
         section="Evaluation")
def _compile(ev, specs, body, *options):
    """Wolfram code compiles helpers for speed; evaluated as a pure function they give the
    same values (machine-integer overflow and type coercions aside)."""
    call = Expr(S("Compile"), specs, body, *options)
    items = list(specs.args) if isinstance(specs, Expr) and specs.head is List else None
    names = []
    for item in items if items is not None else [None]:
        name = item.args[0] if isinstance(item, Expr) and item.head is List and item.args \
            else item
        if not isinstance(name, Symbol):
            raise wrong_call("Compile", call, f"{short(specs)} is not a list of variables x or "
                                              f"{{x, type}} or {{x, type, rank}}")
        names.append(name)
    listable = False
    for o in options:
        if not (isinstance(o, Expr) and o.head in (S("Rule"), S("RuleDelayed"))
                and len(o.args) == 2):
            raise wrong_call("Compile", call, f"{short(o)} is not an option rule")
        if o.args[0] is S("RuntimeAttributes"):
            value = ev.evaluate(o.args[1])
            listable = S("Listable") in (value.args if isinstance(value, Expr) else (value,))
    parts = [Expr(List, *names), body] + ([Expr(List, S("Listable"))] if listable else [])
    return Expr(S("Function"), *parts)


@builtin("Out", ("%", "%%", "%n"), "the last result, the one before, the result of In[n]",
         args=(0, 1), section="Evaluation")
def _out(ev, k=None):
    if k is not None and not is_integer(k):
        raise wrong_call("Out", Expr(S("Out"), k), "the line must be an integer")
    return ev.host.out(k) if ev.host is not None else Expr(S("Out"), k)


@builtin("If", ("If[cond, t]", "If[cond, t, f]"), "t when cond is True, f when it is False",
         args=(2, 3), attributes=(HOLD_REST,), section="Evaluation")
def _if(ev, cond, t, f=Null):
    if cond is S("True"):
        return ev.evaluate(t)
    if cond is S("False"):
        return ev.evaluate(f)
    return NOT_APPLICABLE


@builtin("And", "a && b", "logical and, evaluated left to right", attributes=(HOLD_ALL,),
         section="Evaluation")
def _and(ev, *xs):
    rest = []
    for x in xs:
        v = ev.evaluate(x)
        if v is S("False"):
            return v
        if v is not S("True"):
            rest.append(v)
    return S("True") if not rest else (rest[0] if len(rest) == 1 else Expr(S("And"), *rest))


@builtin("Or", "a || b", "logical or, evaluated left to right", attributes=(HOLD_ALL,),
         section="Evaluation")
def _or(ev, *xs):
    rest = []
    for x in xs:
        v = ev.evaluate(x)
        if v is S("True"):
            return v
        if v is not S("False"):
            rest.append(v)
    return S("False") if not rest else (rest[0] if len(rest) == 1 else Expr(S("Or"), *rest))


@builtin("Not", "!a", "logical negation", args=1, section="Evaluation")
def _not(ev, x):
    if x is S("True"):
        return S("False")
    if x is S("False"):
        return S("True")
    return NOT_APPLICABLE


@builtin("Quit", ("Quit[]", "Quit[code]"), "ends the session (the REPL or the file run)",
         args=(0, 1), section="Evaluation")
def _quit(ev, code=0):
    if not (is_integer(code) and 0 <= code <= 255):  # what an exit status can be
        raise EvaluationError(f"Integer between 0 and 255 expected at position 1 in "
                              f"Quit[{input_form(code)}].", symbol="Quit", tag="intnm")
    raise QuitRequest(code)


# ---------------------------------------------------------------- output
class Form(Opaque):
    """``FullForm[x]`` and ``InputForm[x]``: display wrappers, as in Wolfram."""

    def __init__(self, head_name: str, expr: Any, text: str):
        self.head_name = head_name
        self.expr = expr
        self.text = text

    def input_form(self) -> str:
        return f"{self.head_name}[{input_form(self.expr)}]"

    def output_form(self) -> str:
        return self.text


@builtin("FullForm", "FullForm[expr]", "shows expr with every operator as head[args]", args=1,
         section="Output")
def _full_form(ev, x):
    return Form("FullForm", x, full_form(x))


@builtin("InputForm", "InputForm[expr]", "shows expr as text that parses back to it", args=1,
         section="Output")
def _input_form(ev, x):
    return Form("InputForm", x, input_form(x))


def _print_text(x: Any) -> str:
    return x if isinstance(x, str) else output_form(x)


@builtin("Print", "Print[a, b, ...]", "prints its arguments side by side; gives Null",
         section="Output")
def _print(ev, *xs):
    ev.host.print("".join(_print_text(x) for x in xs))
    return Null


@builtin("Echo", ("Echo[x]", "Echo[x, label]"), "prints >> x and gives x", args=(1, 2),
         section="Output")
def _echo(ev, x, label=None):
    prefix = ">> " + (_print_text(label) + " " if label is not None else "")
    ev.host.print(prefix + _print_text(x))
    return x


@builtin("Timing", "Timing[expr]", "{CPU seconds, result}", args=1, attributes=(HOLD_ALL,),
         section="Output")
def _timing(ev, x):
    t0 = time.process_time()
    value = ev.evaluate(x)
    return Expr(List, time.process_time() - t0, value)


@builtin("AbsoluteTiming", "AbsoluteTiming[expr]", "{wall-clock seconds, result}", args=1,
         attributes=(HOLD_ALL,), section="Output")
def _absolute_timing(ev, x):
    t0 = time.perf_counter()
    value = ev.evaluate(x)
    return Expr(List, time.perf_counter() - t0, value)


def require(cond: bool, name: str, call: Any, why: str) -> None:
    """Raise the standard wrong-call error for ``name`` unless ``cond``."""
    if not cond:
        raise wrong_call(name, call, why)

