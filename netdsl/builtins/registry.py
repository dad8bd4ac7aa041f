"""The one table of built-in functions: head name -> Python function.

Each entry declares its call forms (for error messages and the README), its
argument count, its options with defaults, and its attributes, so that every
"wrong number of arguments" and "unknown option" message comes from one place
and quotes what was received.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import EvaluationError
from ..expr import Expr, Symbol, is_rule
from ..printer import short

# attributes, as in Wolfram
HOLD_ALL = "HoldAll"
HOLD_FIRST = "HoldFirst"
HOLD_REST = "HoldRest"
LISTABLE = "Listable"


@dataclass
class Builtin:
    name: str
    fn: Callable[..., Any]
    usage: tuple[str, ...]
    summary: str
    min_args: int = 0
    max_args: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    attributes: frozenset[str] = frozenset()
    section: str = "General"
    wants_call: bool = False   # fn also receives call= (the expression, with its source span)

    def forms(self) -> str:
        forms = list(self.usage)
        if len(forms) == 1:
            return forms[0]
        return ", ".join(forms[:-1]) + " or " + forms[-1]


REGISTRY: dict[str, Builtin] = {}


class LazyBuiltin:
    """Stands in the table for a built-in whose module is not imported yet (the net
    built-ins need the layers, graph, runtime and net files: start-up time, issue 14).
    Reading any field imports the module, whose ``@builtin`` replaces this entry."""

    def __init__(self, name: str, module: str) -> None:
        self.name = name
        self.module = module

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.real(), attr)

    def real(self) -> Builtin:
        importlib.import_module(self.module)
        b = REGISTRY.get(self.name)
        if isinstance(b, LazyBuiltin) and b.module != self.module:
            return b.real()   # nets, loaded, defers a layer head to the layer's module
        if not isinstance(b, Builtin):
            raise RuntimeError(f"{self.module} did not register the built-in {self.name}")
        return b


LAZY_MODULES: list[str] = []   # modules whose built-ins are registered as LazyBuiltin


def register_lazy(module: str, names: tuple[str, ...]) -> None:
    """``names`` are built-ins of ``module``, imported when one of them is first used."""
    LAZY_MODULES.append(module)
    for name in names:
        REGISTRY.setdefault(name, LazyBuiltin(name, module))  # type: ignore[arg-type]


def load_lazy() -> None:
    """Import every lazily registered module: for tables that other modules fill on
    import (Import/Export formats, ``value[args]`` appliers, ``net[[...]]``)."""
    for module in LAZY_MODULES:
        importlib.import_module(module)


def _lazy_pending() -> bool:
    return any(m not in sys.modules for m in LAZY_MODULES)

# What ``h[...][args]`` does for a head ``h[...]`` such as ``Composition[f, g]``:
# fn(ev, head_expression, args).
HEAD_APPLIERS: dict[str, Callable[..., Any]] = {}

# Built-ins with an operator form: ``Map[f][x]`` is ``Map[f, x]``, ``Select[crit][list]``
# is ``Select[list, crit]``. The value says whether the expression comes first.
OPERATOR_FORMS: dict[str, bool] = {
    "Map": False, "Apply": False, "MapApply": False, "Select": True, "Cases": True,
    "DeleteCases": True, "MatchQ": True, "FreeQ": True, "Count": True, "Position": True,
    "ReplaceAll": True, "Replace": True, "StringReplace": True, "Lookup": True,
    "SelectFirst": True, "AllTrue": True, "AnyTrue": True, "NoneTrue": True,
    "StringRiffle": True, "Append": True, "Prepend": True, "StringStartsQ": True,
    "StringContainsQ": True, "StringEndsQ": True, "MemberQ": True,
}
NOT_APPLICABLE = object()  # a built-in returns this to stay unevaluated, as Wolfram does

# Symbols whose value is computed each time they are evaluated (``Now``): name -> fn().
SYMBOL_VALUES: dict[str, Callable[[], Any]] = {}

# How a value of a given type applies to arguments (``net[x]``): values from the stages
# below (nets) cannot know the evaluator, so their application is registered here.
APPLIERS: dict[type, Callable[..., Any]] = {}


def applier(cls: type) -> Callable:
    """Register ``fn(ev, value, args)`` as what ``value[args...]`` does for values of ``cls``."""
    def deco(fn: Callable) -> Callable:
        APPLIERS[cls] = fn
        return fn
    return deco


def applier_for(value: Any) -> Callable[..., Any] | None:
    for cls in type(value).__mro__:
        fn = APPLIERS.get(cls)
        if fn is not None:
            return fn
    if _lazy_pending():   # a net's or a coder's applier may not be loaded yet
        load_lazy()
        return applier_for(value)
    return None


def builtin(name: str, usage: str | tuple[str, ...], summary: str, *,
            args: tuple[int, int | None] | int | None = None,
            options: dict[str, Any] | None = None, attributes: tuple[str, ...] = (),
            section: str = "General", wants_call: bool = False) -> Callable:
    """Register ``fn(ev, *args, **options)`` as the built-in ``name``.

    ``args`` is the count (or ``(min, max)``, ``max=None`` for any) after
    options are taken off the end. Options are passed as keyword arguments
    named like the Wolfram option (``BatchSize`` -> ``opts["BatchSize"]``) in a
    single ``opts`` dict when ``options`` is given.
    """
    usage_t = (usage,) if isinstance(usage, str) else tuple(usage)

    def deco(fn: Callable) -> Callable:
        lo, hi = (args, args) if isinstance(args, int) else (args or (0, None))
        REGISTRY[name] = Builtin(name, fn, usage_t, summary, lo, hi, dict(options or {}),
                                 frozenset(attributes), section, wants_call)
        return fn

    return deco


def option_name(key: Any) -> str | None:
    """Options may be written as symbols or strings: ``BatchSize`` or ``"BatchSize"``."""
    if isinstance(key, Symbol):
        return key.name
    if isinstance(key, str):
        return key
    return None


def split_options(b: Builtin, args: tuple, call: Expr) -> tuple[tuple, dict[str, Any]]:
    """Take trailing ``name -> value`` rules that name options of ``b`` off ``args``."""
    if not b.options:
        return args, {}
    end = len(args)
    while end > b.min_args and (_option_rule(b, args[end - 1])
                                or _option_list(b, args[end - 1], end)):
        end -= 1
    if b.max_args is not None and end > b.max_args and is_rule(args[end - 1]):
        bad = args[end - 1].args[0]
        raise EvaluationError(
            f"Unknown option {short(bad)} in {short(call, 160)}. "
            f"Known options: {', '.join(b.options)}.", symbol=b.name, tag="optx")
    opts = dict(b.options)
    for rule in args[end:]:
        for r in (rule.args if isinstance(rule, Expr) and rule.head is Symbol("List") else (rule,)):
            opts[str(option_name(r.args[0]))] = r.args[1]
    return args[:end], opts


def _option_rule(b: Builtin, x: Any) -> bool:
    return is_rule(x) and option_name(x.args[0]) in b.options


def _option_list(b: Builtin, x: Any, end: int) -> bool:
    """A list of option rules given as one argument, as Wolfram's OptionsPattern takes
    (Sequence @ FilterRules[{opts}, Options[NetTrain]] passes one); an empty list only
    where no positional argument can stand."""
    if not (isinstance(x, Expr) and x.head is Symbol("List")):
        return False
    if not x.args:
        return b.max_args is not None and end > b.max_args
    return all(_option_rule(b, r) for r in x.args)


def check_count(b: Builtin, args: tuple, call: Expr) -> None:
    n = len(args)
    if n < b.min_args or (b.max_args is not None and n > b.max_args):
        raise wrong_call(b, call, f"{n} argument{'s' if n != 1 else ''} given")


def wrong_call(b: Builtin | str, call: Any, why: str = "") -> EvaluationError:
    """``F::argx: F[...] cannot be evaluated: <why>. Expected F[x] or F[x, y].``"""
    if isinstance(b, str):
        b = REGISTRY[b]
    text = f"{short(call, 160)} cannot be evaluated"
    if why:
        text += f": {why}"
    return EvaluationError(f"{text}. Expected {b.forms()}.", symbol=b.name, tag="argx")


