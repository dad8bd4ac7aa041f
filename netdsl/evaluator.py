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

from .builtins.registry import (HEAD_APPLIERS, HOLD_ALL, HOLD_FIRST, HOLD_REST, LISTABLE,
                                NOT_APPLICABLE, OPERATOR_FORMS, REGISTRY, SYMBOL_VALUES,
                                applier_for, check_count,
                                split_options, wrong_call)
from .builtins.abstract import abstract_value
from .builtins.signals import ReturnSignal
from . import contexts as _contexts
from .contexts import GLOBAL, VENDOR_CONTEXTS, Contexts, split_name, valid_context
from .definitions import Definitions
from .errors import EvaluationError, NetDSLError
from .expr import (Association, Expr, List, Opaque, Symbol, hash_key, is_integer, is_list,
                   is_rule, list_items, list_length, make_list)
from .layers.base import AbstractArray
from .patterns import Matcher, is_pattern, substitute
from .builtins.unknown import INERT_HEADS, KNOWN_WOLFRAM, unknown_head_warning
from .printer import short

S = Symbol
Function = S("Function")
Slot = S("Slot")
SlotSequence = S("SlotSequence")
Sequence = S("Sequence")
Evaluate = S("Evaluate")
Unevaluated = S("Unevaluated")
Nothing = S("Nothing")
Condition = S("Condition")
_SCOPES = (S("Module"), S("With"), S("Block"))
# what a definition's Module[..., body /; cond] gives when cond is not True (never a user's)
_CONDITION_FAILED = Symbol("ConditionFailed$netdsl")
OptionValue = S("OptionValue")
TrueS = S("True")
NO_ATTRIBUTES: frozenset[str] = frozenset()
# heads that keep a Sequence argument whole (Wolfram's SequenceHold): opts = Sequence[...]
SEQUENCE_HOLD = frozenset({S("Set"), S("SetDelayed")})

CONSTANTS: dict[str, Any] = {"Pi": math.pi, "E": math.e, "Degree": math.pi / 180}
CONSTANTS.update(SYMBOL_VALUES)   # computed when evaluated (Now): callables
# System` holds these names in every context (read when a package first needs them)
_contexts.SYSTEM_TABLES.extend((REGISTRY, CONSTANTS, KNOWN_WOLFRAM, INERT_HEADS))


def _threads(value: Any = None, assign: bool = False) -> Any:
    """$ProcessorCount: the threads a net's pass may split its batch across (Wolfram: the
    cores, used by parallel functions, and settable). Assigning sets it for the process
    (as NETDSL_THREADS or netdsl.set_threads); Clear restores the default."""
    from .runtime import lanes
    if assign:
        if value is not None and not (is_integer(value) and value >= 1):
            raise EvaluationError(f"$ProcessorCount should be a positive integer (the "
                                  f"threads nets may use), not {short(value)}.",
                                  symbol="Set", tag="threads")
        lanes.set_threads(value)
        return None
    return lanes.threads()


# system variables read and set through the runtime (not held in the symbol table)
SYSTEM_VARIABLES: dict[str, Callable[..., Any]] = {"$ProcessorCount": _threads}


class Evaluator:
    """Evaluates expressions against one symbol table.

    ``host`` is the Session: it owns In/Out history, printing and the
    shape-only flag that ``netdsl check`` sets.
    """

    max_depth = 1024

    def __init__(self, host: Any = None):
        self.host = host
        self.values: dict[Symbol, Any] = {S("$Context"): GLOBAL,
                                          S("$ContextPath"): Expr(List, "System`", GLOBAL)}
        self.contexts = Contexts()   # $Context, $ContextPath and the symbols of each context
        self.delayed: dict[Symbol, Any] = {}
        self.definitions: dict[Symbol, Definitions] = {}   # f[...] = ..., f[x_] := ...
        self.upvalues: dict[Symbol, Definitions] = {}      # g[f] ^= ..., f /: g[f] := ...
        self.attributes: dict[Symbol, frozenset[str]] = {}  # SetAttributes of user symbols
        self.options: dict[Symbol, Any] = {}                # Options[f] = {...}
        self.messages: dict[tuple[Symbol, str], Any] = {}   # f::tag = "..."
        self.matcher = Matcher(test=self._test, condition=self._condition,
                               attributes=self.attributes_of)
        self.quiet = 0          # Quiet[...] depth: messages are not shown
        self.message_count = 0  # messages issued (Check compares counts)
        self.warned: set[str] = set()  # heads already warned about
        self.nothing_seen = False       # Nothing evaluated: lists built-ins make drop it
        self._module_counter = 0
        self._depth = 0
        self._rng: np.random.Generator | None = None  # SeedRandom[n] replaces it

    @property
    def rng(self) -> np.random.Generator:
        """The session's random generator, made on first use: ``numpy.random`` takes
        ~10 ms to import, which a session that draws nothing need not pay (start-up)."""
        if self._rng is None:
            self._rng = np.random.default_rng()
        return self._rng

    @rng.setter
    def rng(self, value: np.random.Generator) -> None:
        self._rng = value

    # ------------------------------------------------------------------ entry
    def read(self, e: Any) -> Any:
        """A parsed top-level expression with its names resolved in the current contexts
        (done once per statement, before it is evaluated, as Wolfram reads input)."""
        contexts = _contexts.ACTIVE = self.contexts   # what prints follows this evaluator
        if contexts.plain:
            if type(e) is Symbol and "`" not in e.name:
                return e
        return contexts.read(e)

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
            raise err.with_span(e.span) from None
        except RecursionError:
            raise EvaluationError(f"Recursion too deep while evaluating {short(e)}.",
                                  symbol="$RecursionLimit", tag="reclim", span=e.span) from None
        except MemoryError:
            raise EvaluationError(f"Out of memory while evaluating {short(e)}.",
                                  symbol="General", tag="nomem", span=e.span) from None
        finally:
            self._depth -= 1

    def _symbol_value(self, sym: Symbol) -> Any:
        if sym in self.values:
            return self.values[sym]
        if sym in self.delayed:
            return self.evaluate(self.delayed[sym])
        const = CONSTANTS.get(sym.name)
        if const is None and sym.name in SYSTEM_VARIABLES:
            return SYSTEM_VARIABLES[sym.name]()
        if const is None and "`" in sym.name:
            plain = resolve(sym)
            return sym if plain is sym else self._symbol_value(plain)
        if const is None:
            if sym is Nothing:
                self.nothing_seen = True
            return sym
        return const() if callable(const) else const

    def _evaluate_expr(self, e: Expr) -> Any:
        head = self.evaluate(e.head)
        if type(head) is Symbol:
            b = REGISTRY.get(head.name)
            if b is None and "`" in head.name:
                head = resolve(head)
                b = REGISTRY.get(head.name)
            attrs = b.attributes if b else self.attributes.get(head, NO_ATTRIBUTES)
        else:
            b, attrs = None, NO_ATTRIBUTES
        if HOLD_ALL in attrs:
            args = e.args
            if any(type(a) is Expr and a.head is Evaluate for a in args):
                args = tuple(self._forced(a) for a in args)
        elif HOLD_FIRST in attrs:
            args = e.args[:1] + tuple(self.evaluate(a) for a in e.args[1:])
            args = (self._forced(args[0]),) + args[1:] if args else args
        elif HOLD_REST in attrs:
            args = (self.evaluate(e.args[0]),) + tuple(self._forced(a) for a in e.args[1:]) \
                if e.args else ()
        else:
            args = tuple(self.evaluate(a) for a in e.args)
        if any(type(a) is Expr and (a.head is Sequence or a.head is Unevaluated) for a in args) \
                and head not in SEQUENCE_HOLD:
            args = _splice(args, strip=attrs is NO_ATTRIBUTES or not (
                HOLD_ALL in attrs or HOLD_FIRST in attrs or HOLD_REST in attrs))
        if self.nothing_seen and head is List and any(a is Nothing for a in args):
            # {a, Nothing, b} is {a, b} (only scanned once Nothing has been evaluated)
            args = tuple(a for a in args if a is not Nothing)
        if self.upvalues:
            result = self._use_upvalues(head, args, e)
            if result is not NOT_APPLICABLE:
                return result
        if b is not None:
            return self.call_builtin(b, args, Expr(head, *args, span=e.span))
        if type(head) is Symbol:
            return self.apply_symbol(head, args, attrs, e)
        return self.apply(head, args, e)

    def _forced(self, a: Any) -> Any:
        """A held argument, evaluated if it is ``Evaluate[e]`` (Hold[Evaluate[1 + 1]])."""
        if type(a) is Expr and a.head is Evaluate and len(a.args) == 1:
            return self.evaluate(a.args[0])
        return a

    def apply_symbol(self, head: Symbol, args: tuple, attrs: frozenset[str], e: Expr) -> Any:
        """``f[args]`` for a symbol without a built-in: its definitions, if any match."""
        if LISTABLE in attrs and any(is_list(a) for a in args):
            return self._thread(head, args, e)
        defs = self.definitions.get(head)
        if defs is not None:
            call = Expr(head, *args, span=e.span)
            result = self.use_definitions(defs, call, head)
            if result is not NOT_APPLICABLE:
                return result
            return call
        if head not in self.values and head.name not in self.warned:
            self.warned.add(head.name)
            # a typo in a package (Pkg`Private`NetInitalize) is judged by its short name
            text = unknown_head_warning(split_name(head.name)[1] or head.name)
            if text is not None:
                self.warn(text, e.span)
        return Expr(head, *args, span=e.span)

    def _scoped_rule(self, body: Any) -> Any:
        """The value of Module[vars, value /; cond], or _CONDITION_FAILED when cond is not
        True with the locals set (a method of its own: inline, it slowed every call)."""
        try:
            return self.evaluate(_scoped_condition(body))
        except ReturnSignal as r:
            return r.value

    def use_definitions(self, defs: Definitions, call: Expr, owner: Symbol) -> Any:
        """The value of ``call`` by the first of ``defs`` that applies, or NOT_APPLICABLE."""
        if defs.exact:
            found = defs.exact.get(hash_key(call))
            if found is not None:
                return self.evaluate(found[1])
        for rule in defs.rules:
            for b in self.matcher._match(rule.lhs, call, {}):
                rhs = rule.rhs
                if rule.delayed and type(rhs) is Expr and rhs.head is Condition \
                        and len(rhs.args) == 2:
                    if not self._condition(rhs.args[1], b):
                        continue
                    rhs = rhs.args[0]
                body = substitute(rhs, b)
                if rule.options:
                    body = _bind_option_values(body, owner, call,
                                               self._pattern_defaults(rule.lhs))
                if rule.scoped_condition:   # Module[{y = x}, body /; y > 0]: tried in scope
                    body = self._scoped_rule(body)
                    if body is _CONDITION_FAILED:
                        continue
                    return body
                try:
                    return self.evaluate(body)
                except ReturnSignal as r:
                    return r.value
        return NOT_APPLICABLE

    def _use_upvalues(self, head: Any, args: tuple, e: Expr) -> Any:
        """Definitions attached to an argument's symbol (``area[sq] ^= 4``), tried before
        the head's own, as Wolfram tries UpValues before DownValues."""
        call = None
        for a in args:
            sym = a
            while type(sym) is Expr:
                sym = sym.head
            defs = self.upvalues.get(sym) if type(sym) is Symbol else None
            if defs is not None:
                call = call or Expr(head, *args, span=e.span)
                result = self.use_definitions(defs, call, sym)
                if result is not NOT_APPLICABLE:
                    return result
        return NOT_APPLICABLE

    def define_upvalue(self, tag: Symbol, lhs: Any, value: Any, delayed: bool) -> None:
        """``lhs ^= value`` or ``tag /: lhs = value``: a rule kept with ``tag``."""
        defs = self.upvalues.get(tag)
        if defs is None:
            defs = self.upvalues[tag] = Definitions()
        if is_pattern(lhs):
            defs.add_rule(lhs, value, delayed)
        else:
            defs.add_exact(lhs, value)

    def unset(self, lhs: Any) -> bool:
        """``lhs =.``: remove the value or the definition for exactly this left side."""
        if isinstance(lhs, Symbol):
            lhs = resolve(lhs)
            found = lhs in self.values or lhs in self.delayed
            self.values.pop(lhs, None)
            self.delayed.pop(lhs, None)
            return found
        owner = lhs
        while type(owner) is Expr and type(owner.head) is Symbol \
                and owner.head.name in ("Condition", "HoldPattern") and owner.args:
            owner = owner.args[0]
        while type(owner) is Expr:
            owner = owner.head
        defs = self.definitions.get(owner) if type(owner) is Symbol else None
        return defs is not None and defs.remove(lhs)

    def _pattern_defaults(self, lhs: Any) -> list:
        """Option rules named in ``OptionsPattern[{...}]`` or ``OptionsPattern[f]``."""
        out: list = []
        if type(lhs) is not Expr:
            return out
        if lhs.head is S("OptionsPattern"):
            for spec in lhs.args:
                value = self.evaluate(Expr(S("Options"), spec)) if type(spec) is Symbol \
                    else spec
                items = value.args if type(value) is Expr and value.head is List else [value]
                out.extend(r for r in items if is_rule(r))
            return out
        for a in lhs.args:
            out.extend(self._pattern_defaults(a))
        return out

    def _thread(self, head: Symbol, args: tuple, e: Expr) -> Any:
        n = {list_length(a) for a in args if is_list(a)}
        if len(n) != 1:
            raise EvaluationError(f"Objects of unequal length in {short(Expr(head, *args))} "
                                  "cannot be combined.", symbol="Thread", tag="tdlen")
        count = n.pop()
        cols = [list_items(a) if is_list(a) else [a] * count for a in args]
        return make_list([self.evaluate(Expr(head, *row, span=e.span)) for row in zip(*cols)])

    # --------------------------------------------------------- pattern hooks
    def _test(self, f: Any, x: Any) -> bool:
        return self.call(f, x) is TrueS

    def _condition(self, cond: Any, bindings: dict) -> bool:
        return self.evaluate(substitute(cond, bindings)) is TrueS

    def attributes_of(self, head: Any) -> frozenset[str]:
        if type(head) is not Symbol:
            return NO_ATTRIBUTES
        b = REGISTRY.get(head.name)
        return b.attributes if b else self.attributes.get(head, NO_ATTRIBUTES)

    def match(self, pattern: Any, expr: Any) -> dict | None:
        return self.matcher.match(pattern, expr)

    # ------------------------------------------------------- messages
    def warn(self, text: str, span: Any = None) -> None:
        """A warning about the program (unknown function): shown once, never stops it."""
        warn = getattr(self.host, "warn", None)
        if warn is not None:
            warn(text, span)

    def message(self, symbol: str, tag: str, text: str) -> None:
        """Issue a Wolfram message that does not stop evaluation (``f::tag`` from
        ``Message``, ``Power::infy`` for ``1/0``): counted for Check, hidden inside Quiet,
        else shown by the session."""
        self.message_count += 1
        if self.quiet:
            return
        err = EvaluationError(text, symbol=symbol, tag=tag)
        show = getattr(self.host, "message", None)
        if show is not None:
            show(err)
        else:
            sys.stderr.write(err.message + "\n")

    def call_builtin(self, b, args: tuple, call: Expr) -> Any:
        args, opts = split_options(b, args, call)
        if len(args) == 1 and len(args) < b.min_args and b.name in OPERATOR_FORMS:
            return call  # Map[f], Select[crit]: operator forms wait for their argument
        check_count(b, args, call)
        kwargs: dict[str, Any] = {"opts": opts} if b.options else {}
        if b.wants_call:
            kwargs["call"] = call
        shape_only = getattr(self.host, "shape_only", False)
        if shape_only:  # netdsl check: data known by its dimensions stays so (abstract.py)
            value = abstract_value(b.name, args)
            if value is not None:
                return value
        try:
            result = b.fn(self, *args, **kwargs)
        except OverflowError:     # a number too large for a machine size (Transpose[a,
            #                       10^20 <-> 1]): Wolfram's message, not a Python error
            raise EvaluationError(f"Overflow occurred in computation: a number in "
                                  f"{short(call, 80)} is too large.", symbol="General",
                                  tag="ovfl") from None
        except NetDSLError as e:
            if shape_only and b.section not in NET_SECTIONS and _holds_abstract(args):
                raise EvaluationError(
                    f"{b.name} needs numbers that netdsl check does not compute "
                    f"({e.text})", symbol=b.name, tag="datadep") from e
            raise
        if result is NOT_APPLICABLE:
            return call
        if self.nothing_seen and type(result) is Expr and result.head is List \
                and any(a is Nothing for a in result.args):   # Table[..., Nothing, ...]
            return Expr(List, *(a for a in result.args if a is not Nothing))
        if shape_only and isinstance(result, Expr) and type(result.head) is Symbol:
            value = abstract_value(result.head.name, result.args)  # x + 1 left as Plus[...]
            if value is not None:
                return value
        return result

    def apply(self, head: Any, args: tuple, e: Expr | None = None) -> Any:
        """``head[args]`` for a head that is a value: a function, a net, an association."""
        if isinstance(head, Expr) and head.head is Function:
            return self.evaluate(self.function_body(head, args))
        if isinstance(head, Expr):
            inner = head.head
            if type(inner) is Symbol:
                special = HEAD_APPLIERS.get(inner.name)
                if special is not None:
                    return special(self, head, args)
                form = OPERATOR_FORMS.get(inner.name)
                if form is not None and len(head.args) == 1 and len(args) == 1:
                    full = (args[0], head.args[0]) if form else (head.args[0], args[0])
                    return self.evaluate(Expr(inner, *full))
            while type(inner) is Expr:
                inner = inner.head
            defs = self.definitions.get(inner) if type(inner) is Symbol else None
            if defs is not None:  # f[a][b] := ... (SubValues)
                result = self.use_definitions(defs, Expr(head, *args), inner)
                if result is not NOT_APPLICABLE:
                    return result
        if isinstance(head, Opaque):
            fn = applier_for(head)
            if fn is not None:
                return fn(self, head, args)
            if hasattr(head, "apply"):
                return head.apply(self, args)
        if isinstance(head, Association):
            return _association_lookup(self, head, args)
        return Expr(head, *args, span=e.span if e is not None else None)

    def call(self, f: Any, *args: Any) -> Any:
        """Apply an evaluated function value to evaluated arguments (for Map, Apply...)."""
        if isinstance(f, Symbol):
            if f.name in REGISTRY:
                return self.call_builtin(REGISTRY[f.name], args, Expr(f, *args))
            call = Expr(f, *args)
            return self.apply_symbol(f, args, self.attributes.get(f, NO_ATTRIBUTES), call)
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
        """``lhs = value`` / ``lhs := value``: a symbol's value, or a definition."""
        if isinstance(lhs, Symbol):
            self.note_context(lhs)
            lhs = resolve(lhs)
            if lhs.name in CONTEXT_VARIABLES and not delayed:
                self.contexts_assigned(lhs.name, value)
                return
            if lhs.name in REGISTRY or lhs.name in CONSTANTS:
                raise EvaluationError(f"Symbol {lhs.name} is a built-in and cannot be assigned to.",
                                      symbol="Set", tag="wrsym")
            if lhs.name in SYSTEM_VARIABLES and not delayed:
                SYSTEM_VARIABLES[lhs.name](value, assign=True)
                return
            self.values.pop(lhs, None)
            self.delayed.pop(lhs, None)
            (self.delayed if delayed else self.values)[lhs] = value
            return
        if isinstance(lhs, Expr):
            self.define(lhs, value, delayed)
            return
        raise EvaluationError(f"Cannot assign to {short(lhs)}; it is not a symbol or "
                              "an expression f[...].", symbol="Set", tag="setraw")

    def define(self, lhs: Expr, value: Any, delayed: bool) -> None:
        """A definition ``f[args] = value`` (kept under the innermost head symbol ``f``)."""
        inner = lhs
        while type(inner) is Expr and type(inner.head) is Symbol \
                and inner.head.name in ("Condition", "HoldPattern") and inner.args:
            inner = inner.args[0]
        owner = inner.head if type(inner) is Expr else None
        while type(owner) is Expr:
            owner = owner.head
        if type(owner) is not Symbol:
            raise EvaluationError(f"Cannot assign to {short(lhs)}: its head is not a symbol.",
                                  symbol="Set", tag="setraw")
        self.note_context(owner)
        owner = resolve(owner)
        if owner.name in REGISTRY:
            raise EvaluationError(f"Tag {owner.name} in {short(lhs)} is Protected: "
                                  f"{owner.name} is a built-in function.",
                                  symbol="Set", tag="write")
        if inner is lhs and type(lhs.head) is Symbol and lhs.head is not owner:
            lhs = Expr(owner, *lhs.args, span=lhs.span)
        defs = self.definitions.get(owner)
        if defs is None:
            defs = self.definitions[owner] = Definitions()
        if is_pattern(lhs) or inner is not lhs:
            defs.add_rule(lhs, value, delayed)
        else:
            defs.add_exact(lhs, value)

    def note_context(self, written: Symbol) -> None:
        """A symbol given a value or a definition exists in its context from then on (a
        name read while no package was begun is not recorded as it is read)."""
        self.contexts.note(resolve(written))

    def contexts_assigned(self, name: str, value: Any) -> None:
        """``$Context = "ctx`"`` or ``$ContextPath = {...}``: the contexts names are read in."""
        if name == "$Context":
            if not (isinstance(value, str) and valid_context(value)):
                raise EvaluationError(f"{short(value)} is not a valid context name (a string "
                                      "ending in `).", symbol="$Context", tag="cxset")
            self.contexts.set_context(value)
        else:
            items = list_items(value) if is_list(value) else None
            if items is None or not all(isinstance(c, str) and valid_context(c) for c in items):
                raise EvaluationError(f"{short(value)} is not a list of contexts (strings "
                                      "ending in `).", symbol="$ContextPath", tag="cxlist")
            self.contexts.set_path(tuple(items))
        self.sync_contexts()

    def sync_contexts(self) -> None:
        """$Context and $ContextPath as values, after Begin, End and the package functions."""
        c = self.contexts
        self.values[S("$Context")] = c.context
        self.values[S("$ContextPath")] = Expr(List, *c.path)

    def clear(self, sym: Symbol, everything: bool = False) -> None:
        """Clear: values and definitions; ClearAll also attributes, options and messages."""
        sym = resolve(sym)
        if sym.name in SYSTEM_VARIABLES:
            SYSTEM_VARIABLES[sym.name](None, assign=True)
        self.values.pop(sym, None)
        self.delayed.pop(sym, None)
        self.definitions.pop(sym, None)
        self.upvalues.pop(sym, None)
        self.warned.discard(sym.name)
        if everything:
            self.attributes.pop(sym, None)
            self.options.pop(sym, None)
            for key in [k for k in self.messages if k[0] is sym]:
                del self.messages[key]

    def user_symbols(self) -> set[Symbol]:
        return set(self.values) | set(self.delayed) | set(self.definitions) | \
            set(self.attributes) | set(self.options)

    def new_local(self, sym: Symbol) -> Symbol:
        """A fresh symbol for Module's local ``x``: ``x$1``, ``x$2``..."""
        self._module_counter += 1
        return Symbol(f"{sym.name}${self._module_counter}")


CONTEXT_VARIABLES = frozenset({"$Context", "$ContextPath"})


def resolve(sym: Symbol) -> Symbol:
    """A symbol built in Python with a qualified name that was not read: ``System`Plus``
    and ``Global`x`` are ``Plus`` and ``x`` (their symbols have short names); a name of
    any other context stays itself (names read from text are resolved by ``read``)."""
    name = sym.name
    if "`" not in name:
        return sym
    ctx, short = split_name(name)
    if short and (ctx == "System`" or ctx == GLOBAL or (ctx in VENDOR_CONTEXTS
                                                       and short in REGISTRY)):
        return Symbol(short)
    return sym


def _bind_option_values(body: Any, owner: Symbol, call: Expr, defaults: list) -> Any:
    """``OptionValue[name]`` in a definition's body reads the options of this call, then
    the defaults in ``OptionsPattern[...]``, then ``Options[owner]``: rewrite it as
    ``OptionValue[owner, {given..., defaults...}, name]``."""
    if type(body) is not Expr:
        return body
    if body.head is OptionValue and len(body.args) == 1:
        given = [a for a in call.args if is_rule(a) or (is_list(a) and isinstance(a, Expr)
                                                        and all(is_rule(r) for r in a.args))]
        return Expr(OptionValue, owner, Expr(List, *given, *defaults), body.args[0],
                    span=body.span)
    if body.head is Function:
        return body if not _mentions_option_value(body) else Expr(
            body.head, *[_bind_option_values(a, owner, call, defaults) for a in body.args])
    new = [_bind_option_values(a, owner, call, defaults) for a in body.args]
    if all(x is y for x, y in zip(new, body.args)):
        return body
    return Expr(body.head, *new, span=body.span)


def _mentions_option_value(e: Any) -> bool:
    if type(e) is not Expr:
        return False
    return e.head is OptionValue or any(_mentions_option_value(a) for a in e.args)


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




def _splice(args: tuple, strip: bool = False) -> tuple:
    """Sequence[...] spliced into the arguments; with ``strip`` (a function that evaluates
    its arguments), Unevaluated[e] passed on as e."""
    out: list[Any] = []
    for a in args:
        if isinstance(a, Expr) and a.head is Sequence:
            out.extend(a.args)
        elif strip and isinstance(a, Expr) and a.head is Unevaluated and len(a.args) == 1:
            out.append(a.args[0])
        else:
            out.append(a)
    return tuple(out)


def _fill_slots(body: Any, args: tuple, f: Expr, spliced: list | None = None) -> Any:
    """``body`` with ``#n``, ``#name`` and ``##n`` filled from ``args``. ``spliced`` is set
    once a ``##`` has put a Sequence in, so only such functions pay for splicing it."""
    if type(body) is not Expr:
        return body
    head = body.head
    if head is Slot and len(body.args) == 1:
        n = body.args[0]
        if type(n) is int:
            if n == 0:
                return f
            if not 1 <= n <= len(args):
                raise EvaluationError(
                    f"Slot number {n} in {short(f)} cannot be filled from "
                    f"{len(args)} argument{'s' if len(args) != 1 else ''}.",
                    symbol="Function", tag="slotn")
            return args[n - 1]
        if type(n) is str:
            return _named_slot(n, args, f)
    if head is SlotSequence:
        n = body.args[0] if body.args and type(body.args[0]) is int else 1
        if spliced is not None:
            spliced[0] = True
        return Expr(Sequence, *args[n - 1:])
    if head is Function:  # a nested pure function keeps its own slots
        return body
    if spliced is None:
        spliced = [False]
    filled = [_fill_slots(a, args, f, spliced) for a in body.args]
    if spliced[0]:
        filled = list(_splice(tuple(filled)))
    return Expr(_fill_slots(head, args, f, spliced), *filled, span=body.span)


def _named_slot(key: str, args: tuple, f: Expr) -> Any:
    """``#name``: the value of key "name" in the first argument, an association."""
    first = args[0] if args else None
    if isinstance(first, Association):
        if key in first:
            return first.get(key)
        return Expr(S("Missing"), "KeyAbsent", key)
    raise EvaluationError(f"Slot #{key} in {short(f)} needs an association as the first "
                          f"argument, not {short(first) if args else 'no argument'}.",
                          symbol="Function", tag="slota")


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


def _association_lookup(ev: Evaluator, assoc: Association, args: tuple) -> Any:
    """assoc[key]: its value (a ``key :> value`` rule evaluated when read), else Missing."""
    if len(args) != 1:
        return Expr(assoc, *args)
    key = args[0]
    i = assoc._index.get(hash_key(key))
    if i is None:
        return Expr(S("Missing"), "KeyAbsent", key)
    _, value, delayed = assoc.rules[i]
    return ev.evaluate(value) if delayed else value



def _scoped_condition(rhs: Any) -> Any:
    """A definition's right side ``Module[vars, body /; cond]`` (With, Block, nested) as
    ``Module[vars, If[TrueQ[cond], body, failed]]``: Wolfram tests the condition with the
    local values set, and tries the next definition when it fails; None if ``rhs`` has no
    such condition."""
    if type(rhs) is not Expr or rhs.head not in _SCOPES or len(rhs.args) != 2:
        return None
    inner = rhs.args[1]
    if type(inner) is Expr and inner.head is Condition and len(inner.args) == 2:
        test = Expr(S("If"), Expr(S("TrueQ"), inner.args[1]), inner.args[0],
                    _CONDITION_FAILED)
        return Expr(rhs.head, rhs.args[0], test)
    nested = _scoped_condition(inner)
    return None if nested is None else Expr(rhs.head, rhs.args[0], nested)
