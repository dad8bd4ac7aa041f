"""Wolfram contexts: namespaces of symbols, ``$Context`` and ``$ContextPath``.

A name is resolved once, when it is read (each top-level statement is read just before
it is evaluated, as Wolfram reads an input or a line of a package): ``Pkg`f`` means that
context; a short name ``f`` is looked up in each context of ``$ContextPath`` in turn, then
in ``$Context``, and is made in ``$Context`` when found nowhere. The evaluator then works
with the resolved symbols, which stay interned Python objects compared by identity, so a
definition lookup costs what it did before contexts existed.

Symbols of ``System``` and ``Global``` keep their short names (``Plus``, ``x``): every
built-in and every name netdsl's Python code compares against is a System` name, so they
are found from any context, and a program that never begins a package reads and prints
exactly as before. Symbols of other contexts are named in full (``A`Private`train``) and
print short when the context path finds them under their short name.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import EvaluationError
from .expr import Expr, Symbol

SYSTEM = "System`"
GLOBAL = "Global`"
DEFAULT_PATH = (SYSTEM, GLOBAL)
# Contexts of Wolfram's own internals (Developer`ToPackedArray): a name in them that netdsl
# knows is the built-in, as netdsl has one table of built-ins.
VENDOR_CONTEXTS = ("Developer`", "Internal`", "NeuralNetworks`", "GeneralUtilities`",
                   "MachineLearning`", "PacletManager`")

# Wolfram System` names common in helper code that netdsl's own tables need not mention
# (option names and values of functions netdsl leaves unevaluated or reads loosely)
EXTRA_SYSTEM_NAMES = """Left Right Top Bottom Center Full Heads PerformanceGoal CharacterEncoding
CompilationTarget RuntimeOptions ImageSize PlotRange PlotRangePadding Axes AxesLabel Frame
FrameLabel Joined PlotStyle PlotLabel PlotLegends PlotMarkers PlotTheme GridLines Epilog
Prolog AspectRatio Filling Mesh ColorFunction Background BaseStyle LabelStyle Alignment
Spacings Dividers ItemSize Red Green Blue Black White Gray LightGray Orange Purple Yellow
Brown Pink Cyan Magenta Thick Thin Dashed Dotted Dashing PointSize Opacity Directive
RGBColor GrayLevel Hue Point Line Arrow Rectangle Disk Circle Text Style Bold Italic
FontSize FontFamily FontWeight Row Column Grid Framed Panel Labeled Placed Legended
Tooltip Dynamic Manipulate Initialization Deinitialization TrackedSymbols UpdateInterval
SynchronousUpdating ContinuousAction Method MaxIterations AccuracyGoal PrecisionGoal
WorkingPrecision StepMonitor EvaluationMonitor Compiled MaxRecursion DataRange
InterpolationOrder Element Reals Integers Booleans Complexes Assumptions GenerateConditions
Modulus ZeroTest Trig Exclusions""".split()

# Tables of System` names the stages above fill (the built-ins, the Wolfram functions netdsl
# knows it lacks): this module sits with the expression model, below them.
SYSTEM_TABLES: list[Iterable[str]] = []
_system_names: frozenset[str] | None = None
_LITERAL = re.compile(r"""["']([A-Z$][A-Za-z0-9$]*)["']""")
# Wolfram's names: a letter or $, then letters, digits or $ (no _, which is Blank); a
# context is one or more such names each followed by a context mark (A`, A`B`)
_NAME = r"(?:[^\W\d_]|\$)(?:[^\W_]|\$)*"
_CONTEXT = re.compile(rf"(?:{_NAME}`)+")
_SYMBOL_NAME = re.compile(rf"`?(?:{_NAME}`)*{_NAME}")


def valid_context(text: str, relative: bool = False) -> bool:
    """Whether a string names a context (``A```, ``A`B```); ``relative`` also allows
    ```` `Private` ```` (Begin's context relative to $Context)."""
    if relative and text.startswith("`"):
        text = text[1:]
    return _CONTEXT.fullmatch(text) is not None


def valid_symbol_name(text: str) -> bool:
    """Whether a string names a symbol (``x``, ``A`x``, ``` `x ```): not ``"A`"``, ``"`"``
    or ``"A``x"``, which Wolfram's Symbol refuses."""
    return _SYMBOL_NAME.fullmatch(text) is not None


def system_names() -> frozenset[str]:
    """The names of System`: the built-ins, the Wolfram functions netdsl knows it lacks,
    and every capitalised name netdsl's Python code reads (options such as
    MaxTrainingRounds, values such as Automatic, heads such as Real in ``_Real``). netdsl
    recognises those by their text, so a package must read them as System` symbols, as
    Wolfram's System` holds them all. Computed once, when a package first needs it."""
    global _system_names
    if _system_names is None:
        names = {"Pi", "E", "Degree", "$Context", "$ContextPath", "$Packages"}
        for table in SYSTEM_TABLES:
            names.update(table)
        names.update(EXTRA_SYSTEM_NAMES)
        root = Path(__file__).resolve().parent
        for path in root.rglob("*.py"):
            try:
                names.update(_LITERAL.findall(path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError):
                pass
        names.discard("$")
        _system_names = frozenset(names)
    return _system_names


def split_name(name: str) -> tuple[str, str]:
    """``"A`B`x"`` -> ``("A`B`", "x")``; a short name has the context ``""``."""
    i = name.rfind("`")
    return (name[:i + 1], name[i + 1:]) if i >= 0 else ("", name)


class Contexts:
    """One evaluator's contexts: ``$Context``, ``$ContextPath``, what Begin and
    BeginPackage saved, and which short names exist in each context (System` is the
    fixed set above; Global` and package contexts grow as names are read)."""

    def __init__(self) -> None:
        self.context = GLOBAL
        self.path: tuple[str, ...] = DEFAULT_PATH
        # (kind, context and path to restore, context begun): Begin's and BeginPackage's
        self.saved: list[tuple[str, str, tuple[str, ...], str]] = []
        self.made: dict[str, set[str]] = {GLOBAL: set()}
        self.packages: list[str] = []    # $Packages, latest first
        self.cache: dict[Symbol, Symbol] = {}
        self.plain = True    # Global` with the default path: short names are themselves

    # ------------------------------------------------------------ state
    def changed(self) -> None:
        self.cache.clear()
        self.plain = self.context == GLOBAL and self.path == DEFAULT_PATH
        global ACTIVE
        ACTIVE = self

    def set_context(self, ctx: str) -> None:
        self.context = ctx
        self.made.setdefault(ctx, set())
        self.changed()

    def set_path(self, path: tuple[str, ...]) -> None:
        self.path = tuple(dict.fromkeys(path))
        self.changed()

    # ------------------------------------------------------------ names
    def canonical(self, ctx: str, short: str) -> Symbol:
        """The symbol ``ctx`short`` (System` and Global` symbols have short names)."""
        if ctx == SYSTEM or ctx == GLOBAL:
            return Symbol(short)
        if ctx in VENDOR_CONTEXTS and short in system_names():
            return Symbol(short)
        return Symbol(ctx + short)

    def exists(self, ctx: str, short: str) -> bool:
        if ctx == SYSTEM:
            return short in system_names()
        made = self.made.get(ctx)
        return made is not None and short in made

    def make(self, ctx: str, short: str) -> Symbol:
        self.made.setdefault(ctx, set()).add(short)
        return self.canonical(ctx, short)

    def lookup(self, short: str, create: bool = True) -> Symbol | None:
        """The symbol a short name means here: the first context of $ContextPath that has
        it, then $Context; made in $Context when nowhere (unless ``create`` is False)."""
        for ctx in self.path:
            if self.exists(ctx, short):
                return self.canonical(ctx, short)
        if self.exists(self.context, short):
            return self.canonical(self.context, short)
        if self.context == GLOBAL and GLOBAL not in self.path and short in system_names():
            return Symbol(short)
        return self.make(self.context, short) if create else None

    def qualified(self, name: str, create: bool = True) -> Symbol:
        """``A`x`` (that context) or ``` `x ``` (relative to $Context)."""
        if name.startswith("`"):
            name = self.context + name[1:]
        ctx, short = split_name(name)
        if not short:
            return Symbol(name)
        if create and ctx not in (SYSTEM, GLOBAL) and ctx not in VENDOR_CONTEXTS:
            self.made.setdefault(ctx, set()).add(short)
        elif create and ctx == GLOBAL:
            self.made[GLOBAL].add(short)
        return self.canonical(ctx, short)

    def resolve(self, sym: Symbol) -> Symbol:
        """The symbol a name read now means (cached until the contexts change)."""
        found = self.cache.get(sym)
        if found is None:
            name = sym.name
            if "`" in name:
                found = self.qualified(name)
            elif self.plain:
                found = sym
            else:
                found = self.lookup(name) or sym   # lookup makes the name: never None
            self.cache[sym] = found
        return found

    def symbol(self, name: str, create: bool = True) -> Symbol | None:
        """The symbol a name in a string means (Symbol["x"], Clear["x"], Context["x"])."""
        if "`" in name:
            return self.qualified(name, create)
        if self.plain:
            return Symbol(name)
        return self.lookup(name, create)

    def read(self, e: Any) -> Any:
        """A freshly parsed expression with its names resolved (the same object when no
        name changes, which is every name of a program that begins no package)."""
        if self.plain and not _has_qualified(e):
            return e
        try:
            return self._read(e)
        except RecursionError:
            raise EvaluationError("The expression is nested too deeply to be read.",
                                  symbol="$RecursionLimit", tag="reclim") from None

    def _read(self, e: Any) -> Any:
        t = type(e)
        if t is Symbol:
            if self.plain and "`" not in e.name:
                return e
            return self.resolve(e)
        if t is not Expr:
            return e
        head = self._read(e.head)
        args = e.args
        new = [self._read(a) for a in args]
        if head is e.head and all(x is y for x, y in zip(new, args)):
            return e
        return Expr(head, *new, span=e.span)

    # ------------------------------------------------------------ contexts of symbols
    def context_of(self, sym: Symbol) -> str:
        ctx, short = split_name(sym.name)
        if ctx:
            return ctx
        if short in self.made[GLOBAL] or short not in system_names():
            return GLOBAL
        return SYSTEM

    def note(self, sym: Symbol) -> None:
        """A symbol given a value or a definition exists in its context from now on."""
        ctx, short = split_name(sym.name)
        self.made.setdefault(ctx or GLOBAL, set()).add(short)

    def names(self, ctx: str) -> Iterator[Symbol]:
        """The symbols made in a context (not System`'s fixed set)."""
        for short in sorted(self.made.get(ctx, ())):
            yield self.canonical(ctx, short)

    def shown(self, sym: Symbol) -> str:
        """How a symbol prints: its short name when reading that name here finds it,
        else its full name (``A`Private`train``, ``Global`x`` inside a package)."""
        name = sym.name
        ctx, short = split_name(name)
        if not ctx and self.plain:
            return name
        if not short:
            return name
        if self.plain and ctx and ctx not in DEFAULT_PATH:
            return name
        found = self.lookup(short, create=False)
        if found is None:   # reading the name would make it in $Context
            found = self.canonical(self.context, short)
        if found is sym:
            return short
        return (self.context_of(sym) + short) if not ctx else name


def _has_qualified(e: Any) -> bool:
    """Whether an expression holds a name with a context mark (``A`x``, ``` `x ```): a
    loop over its parts, the one cost of contexts for a program that begins no package."""
    stack = [e]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        x = pop()
        t = type(x)
        if t is Expr:
            push(x.head)
            extend(x.args)
        elif t is Symbol and "`" in x.name:
            return True
    return False


def all_contexts(c: Contexts) -> list[str]:
    """Contexts[]: those holding symbols, and those of $Context and $ContextPath."""
    made = [ctx for ctx, names in c.made.items() if names or ctx == c.context]
    return sorted(set(made) | {"System`", "Global`"} | set(c.path))


def context_symbols(ev, pattern: str) -> list[Symbol]:
    """The user's symbols a name pattern means: ``"A`*"`` those of context A`, ``"`*"``
    those of $Context, ``"*"`` (no context) those of $Context and $ContextPath, and
    ``"A`*`*"`` A`'s subcontexts too (``*`` matches a context mark only there: it is
    the one pattern character allowed in the context part)."""
    c = ev.contexts
    if pattern.startswith("`"):
        pattern = c.context + pattern[1:]
    ctx_pat, short_pat = pattern.rsplit("`", 1) if "`" in pattern else (None, pattern)
    short_pat = short_pat.replace("@", "*")
    if ctx_pat is None:
        contexts = [ctx for ctx in (*c.path, c.context) if ctx != "System`"]
    else:
        contexts = [ctx for ctx in all_contexts(c)
                    if fnmatch.fnmatchcase(ctx, ctx_pat + "`") and ctx != "System`"]
    wanted = set(contexts)
    out: list[Symbol] = []
    seen: set[Symbol] = set()
    candidates = [s for s in ev.user_symbols() if c.context_of(s) in wanted]
    for ctx in contexts:
        candidates.extend(c.names(ctx))
    for s in candidates:
        if s not in seen and fnmatch.fnmatchcase(s.name.rsplit("`", 1)[-1], short_pat) \
                and c.context_of(s) in wanted:
            seen.add(s)
            out.append(s)
    return out


ACTIVE = Contexts()   # the contexts of the evaluator reading or printing now


def symbol_text(sym: Symbol) -> str:
    """The text of a symbol as it prints now."""
    name = sym.name
    if ACTIVE.plain and "`" not in name:
        return name
    return ACTIVE.shown(sym)
