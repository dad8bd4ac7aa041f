"""The evaluator: symbol values, built-in dispatch, pure functions.

Evaluation follows Wolfram's standard order, simplified: evaluate the head,
then the arguments (unless the built-in holds them), splice ``Sequence``,
then call the built-in. A head with no built-in stays unevaluated, as in
Wolfram. Values are immutable, so nothing here copies arrays.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Callable

import numpy as np

from .builtins.registry import (HOLD_ALL, HOLD_FIRST, HOLD_REST, NOT_APPLICABLE, REGISTRY,
                                applier_for, check_count, split_options, wrong_call)
from .errors import EvaluationError, NetDSLError
from .expr import Association, Expr, Opaque, Symbol, input_form, is_list
from .layers.base import AbstractArray
from .printer import short

S = Symbol
Function = S("Function")
Slot = S("Slot")
Sequence = S("Sequence")

CONSTANTS = {"Pi": math.pi, "E": math.e, "Degree": math.pi / 180}


class Evaluator:
    """Evaluates expressions against one symbol table.

    ``host`` is the Session: it owns In/Out history, printing and the
    shape-only flag that ``netdsl check`` sets.
    """

    max_depth = 1024

    def __init__(self, host: Any = None):
        self.host = host
        self.values: dict[Symbol, Any] = {}
        self.delayed: dict[Symbol, Any] = {}
        self._depth = 0
        self.rng = np.random.default_rng()  # SeedRandom[n] replaces it

    # ------------------------------------------------------------------ entry
    def evaluate(self, e: Any) -> Any:
        if isinstance(e, Symbol):
            return self._symbol_value(e)
        if not isinstance(e, Expr):
            return e
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                raise EvaluationError(
                    f"Recursion depth of {self.max_depth} exceeded during evaluation of "
                    f"{short(e)}.", symbol="$RecursionLimit", tag="reclim")
            return self._evaluate_expr(e)
        except NetDSLError as err:
            raise err.with_span(e.span)
        except RecursionError:
            raise EvaluationError(f"Recursion too deep while evaluating {short(e)}.",
                                  symbol="$RecursionLimit", tag="reclim", span=e.span) from None
        except MemoryError:
            raise EvaluationError(f"Out of memory while evaluating {short(e)}.",
                                  symbol="General", tag="nomem", span=e.span) from None
        finally:
            self._depth -= 1

    def message(self, symbol: str, tag: str, text: str) -> None:
        """Issue a Wolfram message that does not stop evaluation (``Power::infy`` for
        ``1/0``, which then gives ComplexInfinity): the session shows it."""
        err = EvaluationError(text, symbol=symbol, tag=tag)
        show = getattr(self.host, "message", None)
        if show is not None:
            show(err)
        else:
            sys.stderr.write(err.message + "\n")

    def _symbol_value(self, sym: Symbol) -> Any:
        if sym in self.values:
            return self.values[sym]
        if sym in self.delayed:
            return self.evaluate(self.delayed[sym])
        const = CONSTANTS.get(sym.name)
        return sym if const is None else const

    def _evaluate_expr(self, e: Expr) -> Any:
        head = self.evaluate(e.head)
        b = REGISTRY.get(head.name) if isinstance(head, Symbol) else None
        attrs = b.attributes if b else frozenset()
        if HOLD_ALL in attrs:
            args = e.args
        elif HOLD_FIRST in attrs:
            args = e.args[:1] + tuple(self.evaluate(a) for a in e.args[1:])
        elif HOLD_REST in attrs:
            args = (self.evaluate(e.args[0]),) + e.args[1:] if e.args else ()
        else:
            args = tuple(self.evaluate(a) for a in e.args)
        if any(isinstance(a, Expr) and a.head is Sequence for a in args):
            args = _splice(args)
        if b is not None:
            return self.call_builtin(b, args, Expr(head, *args, span=e.span))
        return self.apply(head, args, e)

    def call_builtin(self, b, args: tuple, call: Expr) -> Any:
        args, opts = split_options(b, args, call)
        check_count(b, args, call)
        kwargs: dict[str, Any] = {"opts": opts} if b.options else {}
        if b.wants_call:
            kwargs["call"] = call
        try:
            result = b.fn(self, *args, **kwargs)
        except NetDSLError as e:
            if getattr(self.host, "shape_only", False) and b.section not in NET_SECTIONS \
                    and _holds_abstract(args):
                raise EvaluationError(
                    f"{b.name} needs numbers that netdsl check does not compute "
                    f"({e.text})", symbol=b.name, tag="datadep") from e
            raise
        if result is NOT_APPLICABLE:
            return call
        return result

    def apply(self, head: Any, args: tuple, e: Expr | None = None) -> Any:
        """``head[args]`` for a head that is a value: a function, a net, an association."""
        if isinstance(head, Expr) and head.head is Function:
            return self.evaluate(self.function_body(head, args))
        if isinstance(head, Opaque):
            fn = applier_for(head)
            if fn is not None:
                return fn(self, head, args)
            if hasattr(head, "apply"):
                return head.apply(self, args)
        if isinstance(head, Association):
            return _association_lookup(head, args)
        return Expr(head, *args, span=e.span if e is not None else None)

    def call(self, f: Any, *args: Any) -> Any:
        """Apply an evaluated function value to evaluated arguments (for Map, Apply...)."""
        if isinstance(f, Symbol) and f.name in REGISTRY:
            return self.call_builtin(REGISTRY[f.name], args, Expr(f, *args))
        return self.apply(f, args)

    def callable(self, f: Any) -> Callable[..., Any]:
        return lambda *args: self.call(f, *args)

    # ------------------------------------------------------------ functions
    def function_body(self, f: Expr, args: tuple) -> Any:
        """The body of ``Function[...]`` with its parameters replaced by ``args``."""
        if len(f.args) == 1:
            return _fill_slots(f.args[0], args, f)
        if len(f.args) in (2, 3):
            params = f.args[0]
            names = list(params.args) if is_list(params) and isinstance(params, Expr) else [params]
            if not all(isinstance(p, Symbol) for p in names):
                raise EvaluationError(f"Parameter specification {short(params)} in "
                                      f"{short(f)} should be a symbol or a list of symbols.",
                                      symbol="Function", tag="flpar")
            if len(args) < len(names):
                raise EvaluationError(f"{short(f)} called with {len(args)} argument"
                                      f"{'s' if len(args) != 1 else ''}; {len(names)} expected.",
                                      symbol="Function", tag="fpct")
            return _substitute(f.args[1], dict(zip(names, args)))
        raise wrong_call("Function", f, "Function takes a body, or parameters and a body")

    # ------------------------------------------------------------ assignment
    def assign(self, lhs: Any, value: Any, delayed: bool = False) -> None:
        if not isinstance(lhs, Symbol):
            raise EvaluationError(f"Cannot assign to {short(lhs)}; only symbols take values.",
                                  symbol="Set", tag="setraw")
        if lhs.name in REGISTRY or lhs.name in CONSTANTS:
            raise EvaluationError(f"Symbol {lhs.name} is a built-in and cannot be assigned to.",
                                  symbol="Set", tag="wrsym")
        self.values.pop(lhs, None)
        self.delayed.pop(lhs, None)
        (self.delayed if delayed else self.values)[lhs] = value

    def clear(self, sym: Symbol) -> None:
        self.values.pop(sym, None)
        self.delayed.pop(sym, None)


# ---------------------------------------------------------------- helpers
NET_SECTIONS = ("Layers", "Containers", "Nets")  # their errors about shapes are real ones


def _holds_abstract(args: tuple, depth: int = 2) -> bool:
    """Whether an argument is (or directly holds) an array known only by its dimensions."""
    for a in args:
        if isinstance(a, AbstractArray):
            return True
        if depth and isinstance(a, Expr) and _holds_abstract(a.args, depth - 1):
            return True
    return False




def _splice(args: tuple) -> tuple:
    out: list[Any] = []
    for a in args:
        if isinstance(a, Expr) and a.head is Sequence:
            out.extend(a.args)
        else:
            out.append(a)
    return tuple(out)


def _fill_slots(body: Any, args: tuple, f: Expr) -> Any:
    if isinstance(body, Expr):
        if body.head is Slot and len(body.args) == 1 and isinstance(body.args[0], int):
            n = body.args[0]
            if not 1 <= n <= len(args):
                raise EvaluationError(
                    f"Slot number {n} in {short(f)} cannot be filled from "
                    f"{len(args)} argument{'s' if len(args) != 1 else ''}.",
                    symbol="Function", tag="slotn")
            return args[n - 1]
        if body.head is Function:  # a nested pure function keeps its own slots
            return body
        return Expr(_fill_slots(body.head, args, f),
                    *[_fill_slots(a, args, f) for a in body.args], span=body.span)
    return body


def _substitute(body: Any, names: dict[Symbol, Any]) -> Any:
    if isinstance(body, Symbol):
        return names.get(body, body)
    if isinstance(body, Expr):
        if body.head is Function and len(body.args) >= 2:
            inner = body.args[0]
            shadowed = set(inner.args) if isinstance(inner, Expr) else {inner}
            names = {k: v for k, v in names.items() if k not in shadowed}
            if not names:
                return body
        return Expr(_substitute(body.head, names), *[_substitute(a, names) for a in body.args],
                    span=body.span)
    return body


def _association_lookup(assoc: Association, args: tuple) -> Any:
    if len(args) != 1:
        return Expr(assoc, *args)
    key = args[0]
    if key in assoc:
        return assoc.get(key)
    return Expr(S("Missing"), "KeyAbsent", key)


sys.setrecursionlimit(max(sys.getrecursionlimit(), 12000))
