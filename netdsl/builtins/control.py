"""Scoping and control: Module, Block, With; loops; Nest and Fold; Which, Switch; Return,
Break, Continue, Catch and Throw; composition and in-place arithmetic (x++, x += d).

Loops catch Break and Continue; Do, While and For also give the value of a
Return inside them, as Wolfram does. Module renames its locals to fresh
symbols ``x$1``, ``x$2``... so a function returned from a Module keeps its own
variable; Block gives global symbols temporary values.
"""

from __future__ import annotations

from typing import Any

from ..errors import EvaluationError
from ..expr import Expr, List, Null, Symbol, input_form, is_integer, is_list, list_items, \
    make_list, same_q
from ..patterns import substitute
from .core import _set, association_target
from ..layers.base import AbstractArray
from .lists import _apply_levels, _iterator, _level_spec, _parts, _rebuild
from .registry import HEAD_APPLIERS, HOLD_ALL, HOLD_FIRST, HOLD_REST, NOT_APPLICABLE, REGISTRY, \
    builtin, wrong_call
from .signals import BreakSignal, ContinueSignal, ReturnSignal, ThrowSignal

S = Symbol
SetS = S("Set")
TrueS = S("True")
MAX_ITERATIONS = 10 ** 8


# ---------------------------------------------------------------- scoping
def _local_specs(ev, name: str, spec: Any, call: Any) -> list[tuple[Symbol, Any, bool]]:
    """``{x, y = v}``: (symbol, initial value, has value); values evaluated outside."""
    if not (isinstance(spec, Expr) and spec.head is List):
        raise wrong_call(name, call, f"{input_form(spec)} is not a list of local variables")
    out = []
    for item in spec.args:
        if isinstance(item, Symbol):
            out.append((item, None, False))
        elif isinstance(item, Expr) and item.head in (SetS, S("SetDelayed")) \
                and len(item.args) == 2 and isinstance(item.args[0], Symbol):
            value = ev.evaluate(item.args[1]) if item.head is SetS else item.args[1]
            out.append((item.args[0], value, True))
        else:
            raise wrong_call(name, call, f"{input_form(item)} is not a variable or x = value")
        if out[-1][0].name in REGISTRY:
            raise EvaluationError(f"Local variable {out[-1][0].name} in {name} is a built-in "
                                  "symbol.", symbol=name, tag="lvsym")
    return out


@builtin("Module", "Module[{x, y = v, ...}, body]",
         "evaluates body with x, y as new local symbols", args=2, attributes=(HOLD_ALL,),
         section="Scoping and control")
def _module(ev, spec, body):
    call = Expr(S("Module"), spec, body)
    renames: dict[Symbol, Any] = {}
    for sym, value, has in _local_specs(ev, "Module", spec, call):
        local = ev.new_local(sym)
        renames[sym] = local
        if has:
            ev.values[local] = value
    result = ev.evaluate(substitute(body, renames))
    if not _mentions_any(result, set(renames.values())):
        for local in renames.values():
            ev.values.pop(local, None)
            ev.definitions.pop(local, None)
    return result


def _mentions_any(x: Any, syms: set) -> bool:
    if type(x) is Symbol:
        return x in syms
    if type(x) is Expr:
        return _mentions_any(x.head, syms) or any(_mentions_any(a, syms) for a in x.args)
    return False


@builtin("Block", "Block[{x, y = v, ...}, body]",
         "evaluates body with global x, y given temporary values", args=2,
         attributes=(HOLD_ALL,), section="Scoping and control")
def _block(ev, spec, body):
    specs = _local_specs(ev, "Block", spec, Expr(S("Block"), spec, body))
    # $Context and $ContextPath are the contexts names are read in: a Block of them sets
    # those (Block[{$ContextPath}, Needs["P`"]] loads P` without leaving it on the path)
    contexts = [s for s, _, _ in specs if s.name in ("$Context", "$ContextPath")]
    c = ev.contexts
    before = (c.context, c.path) if contexts else None
    specs = [sp for sp in specs if sp[0] not in contexts or sp[2]]
    saved = [(s, ev.values.pop(s, None), ev.delayed.pop(s, None), ev.definitions.pop(s, None))
             for s, _, _ in specs]
    try:
        for sym, value, has in specs:
            if has and sym in contexts:
                ev.contexts_assigned(sym.name, value)
            elif has:
                ev.values[sym] = value
        return ev.evaluate(body)
    finally:
        if before is not None:
            c.set_context(before[0])
            c.set_path(before[1])
            ev.sync_contexts()
        for sym, value, delayed, defs in saved:
            ev.values.pop(sym, None)
            ev.delayed.pop(sym, None)
            ev.definitions.pop(sym, None)
            if value is not None:
                ev.values[sym] = value
            if delayed is not None:
                ev.delayed[sym] = delayed
            if defs is not None:
                ev.definitions[sym] = defs


@builtin("With", ("With[{x = v, ...}, body]", "With[{x = v}, {y = x}, body]"),
         "body with x replaced by the value v before it is evaluated", args=(2, None),
         attributes=(HOLD_ALL,), section="Scoping and control")
def _with(ev, *parts):
    call = Expr(S("With"), *parts)
    body = parts[-1]
    names: dict[Symbol, Any] = {}
    for spec in parts[:-1]:
        specs = _local_specs(ev, "With", substitute(spec, names), call)
        for sym, value, has in specs:
            if not has:
                raise wrong_call("With", call, f"{sym.name} has no value")
            names[sym] = value
    return ev.evaluate(substitute(body, names))


# ---------------------------------------------------------------- loops
def _run_body(ev, body: Any) -> tuple[str, Any]:
    """Evaluate a loop body: ("next", value), ("break", None) or ("return", value)."""
    try:
        return "next", ev.evaluate(body)
    except ContinueSignal:
        return "next", Null
    except BreakSignal:
        return "break", None
    except ReturnSignal as r:
        return "return", r.value


@builtin("Do", ("Do[expr, n]", "Do[expr, {i, n}]", "Do[expr, {i, a, b, di}]",
                "Do[expr, {i, {v1, ...}}]", "Do[expr, iter1, iter2, ...]"),
         "evaluates expr for each value of the iterators; gives Null", args=(2, None),
         attributes=(HOLD_ALL,), section="Scoping and control")
def _do(ev, body, *iterators):
    call = Expr(S("Do"), body, *iterators)

    def level(k: int) -> tuple[str, Any]:
        var, values = _iterator(ev, iterators[k], k + 2, call)
        last = k == len(iterators) - 1
        had, old = (var in ev.values, ev.values.get(var)) if var is not None else (False, None)
        try:
            for v in values:
                if var is not None:
                    ev.values[var] = v
                state, value = _run_body(ev, body) if last else level(k + 1)
                if state != "next":
                    return state, value
        finally:
            if var is not None:
                if had:
                    ev.values[var] = old
                else:
                    ev.values.pop(var, None)
        return "next", Null

    state, value = level(0)
    return value if state == "return" else Null


@builtin("While", ("While[test, body]", "While[test]"),
         "evaluates body while test gives True; gives Null", args=(1, 2),
         attributes=(HOLD_ALL,), section="Scoping and control")
def _while(ev, test, body=Null):
    for _ in range(MAX_ITERATIONS):
        if ev.evaluate(test) is not TrueS:
            return Null
        state, value = _run_body(ev, body)
        if state == "break":
            return Null
        if state == "return":
            return value
    raise EvaluationError(f"While ran {MAX_ITERATIONS} times.", symbol="While", tag="itlim")


@builtin("For", "For[start, test, incr, body]",
         "evaluates start, then body and incr while test gives True; gives Null",
         args=(3, 4), attributes=(HOLD_ALL,), section="Scoping and control")
def _for(ev, start, test, incr, body=Null):
    ev.evaluate(start)
    for _ in range(MAX_ITERATIONS):
        if ev.evaluate(test) is not TrueS:
            return Null
        state, value = _run_body(ev, body)
        if state == "break":
            return Null
        if state == "return":
            return value
        ev.evaluate(incr)
    raise EvaluationError(f"For ran {MAX_ITERATIONS} times.", symbol="For", tag="itlim")


def _count_arg(n: Any, name: str, call: Any) -> int:
    if not (is_integer(n) and n >= 0):
        raise wrong_call(name, call, f"{input_form(n)} is not a non-negative integer")
    return n


@builtin("Nest", "Nest[f, x, n]", "f applied n times: f[f[...f[x]]]", args=3,
         section="Functional")
def _nest(ev, f, x, n):
    for _ in range(_count_arg(n, "Nest", Expr(S("Nest"), f, x, n))):
        x = ev.call(f, x)
    return x


@builtin("NestList", "NestList[f, x, n]", "{x, f[x], f[f[x]], ...} with n applications",
         args=3, section="Functional")
def _nest_list(ev, f, x, n):
    out = [x]
    for _ in range(_count_arg(n, "NestList", Expr(S("NestList"), f, x, n))):
        x = ev.call(f, x)
        out.append(x)
    return make_list(out)


@builtin("NestWhile", "NestWhile[f, x, test]", "applies f while test[x] gives True",
         args=3, section="Functional")
def _nest_while(ev, f, x, test):
    for _ in range(MAX_ITERATIONS):
        if ev.call(test, x) is not TrueS:
            return x
        x = ev.call(f, x)
    raise EvaluationError("NestWhile did not stop.", symbol="NestWhile", tag="itlim")


def _fold_args(ev, name: str, args: tuple) -> tuple[Any, Any, list]:
    call = Expr(S(name), *args)
    f, rest = args[0], args[1:]
    if len(rest) == 1:
        if not is_list(rest[0]):
            raise wrong_call(name, call, f"{input_form(rest[0])} is not a list")
        items = list_items(rest[0])
        if not items:
            raise wrong_call(name, call, "the list is empty")
        return f, items[0], items[1:]
    split = _parts(rest[1])
    if split is None:
        raise wrong_call(name, call, f"{input_form(rest[1])} is not a list")
    return f, rest[0], split[1]


@builtin("Fold", ("Fold[f, x, list]", "Fold[f, list]"),
         "f[f[f[x, a], b], c] for list {a, b, c}", args=(2, 3), section="Functional")
def _fold(ev, *args):
    f, x, items = _fold_args(ev, "Fold", args)
    for item in items:
        x = ev.call(f, x, item)
    return x


@builtin("FoldList", ("FoldList[f, x, list]", "FoldList[f, list]"),
         "{x, f[x, a], f[f[x, a], b], ...}", args=(2, 3), section="Functional")
def _fold_list(ev, *args):
    f, x, items = _fold_args(ev, "FoldList", args)
    out = [x]
    for item in items:
        x = ev.call(f, x, item)
        out.append(x)
    return make_list(out)


@builtin("FixedPoint", ("FixedPoint[f, x]", "FixedPoint[f, x, max]"),
         "applies f until the result no longer changes (at most max times)", args=(2, 3),
         section="Functional")
def _fixed_point(ev, f, x, limit=None):
    n = MAX_ITERATIONS if limit is None else _count_arg(limit, "FixedPoint",
                                                        Expr(S("FixedPoint"), f, x, limit))
    for _ in range(n):
        new = ev.call(f, x)
        if same_q(new, x):
            return x
        x = new
    return x


@builtin("FixedPointList", ("FixedPointList[f, x]", "FixedPointList[f, x, max]"),
         "{x, f[x], ...} until the result no longer changes", args=(2, 3), section="Functional")
def _fixed_point_list(ev, f, x, limit=None):
    n = MAX_ITERATIONS if limit is None else _count_arg(limit, "FixedPointList",
                                                        Expr(S("FixedPointList"), f, x, limit))
    out = [x]
    for _ in range(n):
        new = ev.call(f, x)
        out.append(new)
        if same_q(new, x):
            break
        x = new
    return make_list(out)


# ---------------------------------------------------------------- conditionals
@builtin("Which", "Which[test1, value1, test2, value2, ...]",
         "the value of the first test that gives True (Null if none)", attributes=(HOLD_ALL,),
         section="Scoping and control")
def _which(ev, *parts):
    if len(parts) % 2:
        raise wrong_call("Which", Expr(S("Which"), *parts), "tests and values come in pairs")
    for i in range(0, len(parts), 2):
        test = ev.evaluate(parts[i])
        if test is TrueS:
            return ev.evaluate(parts[i + 1])
        if test is not S("False"):
            return Expr(S("Which"), test, *parts[i + 1:])
    return Null


@builtin("Switch", "Switch[expr, form1, value1, form2, value2, ...]",
         "the value after the first form (a pattern) that expr matches (Null if none)",
         args=(3, None), attributes=(HOLD_REST,), section="Scoping and control")
def _switch(ev, x, *parts):
    if len(parts) % 2:
        raise wrong_call("Switch", Expr(S("Switch"), x, *parts),
                         "forms and values come in pairs")
    for i in range(0, len(parts), 2):
        if ev.match(parts[i], x) is not None:
            return ev.evaluate(parts[i + 1])
    return Null


# ---------------------------------------------------------------- non-local exits
@builtin("Return", ("Return[]", "Return[expr]"),
         "leaves the enclosing definition or loop, giving expr", args=(0, 2),
         section="Scoping and control")
def _return(ev, value=Null, *_):
    raise ReturnSignal(value)


@builtin("Break", "Break[]", "leaves the enclosing Do, While, For", args=0,
         section="Scoping and control")
def _break(ev):
    raise BreakSignal()


@builtin("Continue", "Continue[]", "goes on to the next step of the enclosing loop", args=0,
         section="Scoping and control")
def _continue(ev):
    raise ContinueSignal()


@builtin("Throw", ("Throw[value]", "Throw[value, tag]"),
         "leaves to the enclosing Catch, which gives value", args=(1, 2),
         section="Scoping and control")
def _throw(ev, value, tag=None):
    raise ThrowSignal(value, tag)


@builtin("Catch", ("Catch[expr]", "Catch[expr, form]"),
         "the value of expr, or of the first Throw inside it (whose tag matches form)",
         args=(1, 2), attributes=(HOLD_FIRST,), section="Scoping and control")
def _catch(ev, body, form=None):
    try:
        return ev.evaluate(body)
    except ThrowSignal as t:
        if form is None:
            if t.tag is None:
                return t.value
            raise
        if t.tag is not None and ev.match(form, t.tag) is not None:
            return t.value
        raise


# ---------------------------------------------------------------- functions
@builtin("Identity", "Identity[x]", "x", args=1, section="Functional")
def _identity(ev, x):
    return x


@builtin("Composition", ("f @* g", "Composition[f, g, ...]"),
         "the function x |-> f[g[x]]", section="Functional")
def _composition(ev, *fs):
    return NOT_APPLICABLE


@builtin("RightComposition", ("f /* g", "RightComposition[f, g, ...]"),
         "the function x |-> g[f[x]]", section="Functional")
def _right_composition(ev, *fs):
    return NOT_APPLICABLE


def _apply_composition(ev, head: Expr, args: tuple) -> Any:
    fs = list(head.args)
    if head.head is S("RightComposition"):
        fs.reverse()
    if not fs:
        return args[0] if len(args) == 1 else Expr(S("Sequence"), *args)
    value = ev.call(fs[-1], *args)
    for f in reversed(fs[:-1]):
        value = ev.call(f, value)
    return value


HEAD_APPLIERS["Composition"] = _apply_composition
HEAD_APPLIERS["RightComposition"] = _apply_composition


@builtin("MapApply", ("f @@@ expr", "MapApply[f, expr]"),
         "f applied to the arguments of each element: f @@@ {{a, b}} is {f[a, b]}", args=2,
         section="Functional")
def _map_apply(ev, f, x):
    if isinstance(x, AbstractArray):     # netdsl check: Apply at level 1, on one row
        return _apply_levels(ev, f, x, 1, 1, 0)
    split = _parts(x)
    if split is None:
        return x
    head, items = split
    out = []
    for item in items:
        inner = _parts(item)
        out.append(ev.call(f, *inner[1]) if inner is not None else item)
    return _rebuild(head, out)


@builtin("Scan", "Scan[f, list]", "evaluates f[x] for each element; gives Null", args=2,
         section="Functional")
def _scan(ev, f, x):
    split = _parts(x)
    for item in (split[1] if split else []):
        try:
            ev.call(f, item)
        except ReturnSignal as r:
            return r.value
    return Null


# ---------------------------------------------------------------- in place
def _update(ev, name: str, target: Any, op: str, delta: Any, give_old: bool) -> Any:
    call = Expr(S(name), target, *([] if delta is None else [delta]))
    if not (isinstance(target, Symbol) or (isinstance(target, Expr) and target.has_head("Part"))
            or association_target(ev, target) is not None):      # counts[key] += 1
        raise wrong_call(name, call, f"{input_form(target)} is not a variable")
    old = ev.evaluate(target)
    if old is target:
        raise EvaluationError(f"{input_form(target)} in {input_form(call)} does not have a "
                              "value.", symbol=name, tag="rvalue")
    new = ev.evaluate(Expr(S(op), old, 1 if delta is None else delta))
    _set(ev, target, new)
    return old if give_old else new


def _in_place(name: str, usage: str, summary: str, op: str, takes: bool, old: bool,
              negate: bool = False) -> None:
    @builtin(name, usage, summary, args=2 if takes else 1, attributes=(HOLD_FIRST,),
             section="Scoping and control")
    def fn(ev, target, delta=None):
        if negate:
            delta = Expr(S("Times"), -1, delta) if delta is not None else -1
        return _update(ev, name, target, op, delta, old)


_in_place("Increment", "x++", "adds 1 to x; gives the old value", "Plus", False, True)
_in_place("Decrement", "x--", "subtracts 1 from x; gives the old value", "Plus", False, True,
          negate=True)
_in_place("PreIncrement", "++x", "adds 1 to x; gives the new value", "Plus", False, False)
_in_place("PreDecrement", "--x", "subtracts 1 from x; gives the new value", "Plus", False, False,
          negate=True)
_in_place("AddTo", "x += d", "adds d to x; gives the new value", "Plus", True, False)
_in_place("SubtractFrom", "x -= d", "subtracts d from x; gives the new value", "Subtract", True,
          False)
_in_place("TimesBy", "x *= c", "multiplies x by c; gives the new value", "Times", True, False)
_in_place("DivideBy", "x /= c", "divides x by c; gives the new value", "Divide", True, False)


def _append_to(ev, name: str, target: Any, item: Any, at_end: bool) -> Any:
    call = Expr(S(name), target, item)
    old = ev.evaluate(target)
    split = _parts(old)
    if split is None:
        raise wrong_call(name, call, f"{input_form(target)} is not a list")
    head, items = split
    new = _rebuild(head, items + [item] if at_end else [item] + items)
    _set(ev, target, new)
    return new


@builtin("AppendTo", "AppendTo[x, elem]", "appends elem to the list held by x", args=2,
         attributes=(HOLD_FIRST,), section="Scoping and control")
def _append_to_fn(ev, target, item):
    return _append_to(ev, "AppendTo", target, item, True)


@builtin("PrependTo", "PrependTo[x, elem]", "prepends elem to the list held by x", args=2,
         attributes=(HOLD_FIRST,), section="Scoping and control")
def _prepend_to_fn(ev, target, item):
    return _append_to(ev, "PrependTo", target, item, False)


@builtin("Append", ("Append[list, elem]", "Append[elem][list]"), "list with elem at the end",
         args=2, section="Lists and arrays")
def _append(ev, x, item):
    split = _parts(x)
    if split is None:
        raise wrong_call("Append", Expr(S("Append"), x, item), f"{input_form(x)} is not a list")
    return _rebuild(split[0], split[1] + [item])


@builtin("Prepend", ("Prepend[list, elem]", "Prepend[elem][list]"),
         "list with elem at the start", args=2, section="Lists and arrays")
def _prepend(ev, x, item):
    split = _parts(x)
    if split is None:
        raise wrong_call("Prepend", Expr(S("Prepend"), x, item), f"{input_form(x)} is not a list")
    return _rebuild(split[0], [item] + split[1])



@builtin("Riffle", ("Riffle[list, x]", "Riffle[list, {x1, x2, ...}]"),
         "x inserted between the elements of list (or the xi in turn)", args=2,
         section="Lists and arrays")
def _riffle(ev, x, sep):
    split = _parts(x)
    if split is None:
        raise wrong_call("Riffle", Expr(S("Riffle"), x, sep), f"{input_form(x)} is not a list")
    head, items = split
    seps = list_items(sep) if is_list(sep) else None
    out: list[Any] = []
    for i, item in enumerate(items):
        if i:
            out.append(seps[(i - 1) % len(seps)] if seps else sep)
        out.append(item)
    if seps and len(seps) == len(items):  # Riffle[{a, b}, {x, y}] is {a, x, b, y}
        out.append(seps[-1])
    return _rebuild(head, out)


@builtin("MapIndexed", ("MapIndexed[f, list]", "MapIndexed[f, expr, levels]"),
         "f[element, {i}] for each element (level 1), or f[part, {i, j, ...}] at the "
         "levels given (n, {n}, {m, n})", args=(2, 3), section="Functional")
def _map_indexed(ev, f, x, levels=None):
    if levels is not None:
        lo, hi = _level_spec(levels, "MapIndexed", Expr(S("MapIndexed"), f, x, levels))

        def walk(e: Any, pos: list[int]) -> Any:     # deeper parts first, as Wolfram's
            split = _parts(e) if len(pos) < hi else None
            if split is not None:
                head, items = split
                e = _rebuild(head, [walk(item, pos + [i]) for i, item in enumerate(items, 1)])
            return ev.call(f, e, make_list(pos)) if lo <= len(pos) else e
        return walk(x, [])
    split = _parts(x)
    if split is None:
        return x
    head, items = split
    return _rebuild(head, [ev.call(f, item, make_list([i])) for i, item in enumerate(items, 1)])
