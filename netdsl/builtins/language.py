"""Packages and messages: ``f::usage = "..."``, Message, Quiet, Check; contexts
(BeginPackage, Begin, End, EndPackage, Needs); Get (``<< file``) of local .wl/.m
files; and the predicates helper functions test with (IntegerQ, StringQ, ...).

Contexts are namespaces (netdsl/contexts.py): BeginPackage, Begin, End and EndPackage
set $Context and $ContextPath as Wolfram's do, and each statement's names are read in
them, so two packages' private ``train`` are two symbols.

Get reads a file relative to the file being read (then the session's folder,
then the working directory), evaluates it statement by statement, and refuses
a file that is already being read (a file including itself, directly or not).
"""

from __future__ import annotations

import os
from typing import Any

import fnmatch

from ..contexts import all_contexts, context_symbols, symbol_text, valid_context, \
    valid_symbol_name
from ..errors import EvaluationError, NetDSLError
from ..expr import Association, Expr, Null, Symbol, boolean, input_form, is_integer, \
    is_list, is_number, list_items
from ..syntax import parse_statements
from .core import SPECIAL_ASSIGN
from .io import require_files
from .registry import HOLD_ALL, HOLD_FIRST, NOT_APPLICABLE, builtin, wrong_call
from .strings import fill_template, _text

S = Symbol
General = S("General")
MAX_GET_DEPTH = 64

# Texts of messages netdsl itself issues with Message (as Wolfram words them).
BUILTIN_MESSAGES = {
    ("General", "argx"): "`1` called with `2` arguments; 1 argument is expected.",
    ("General", "stop"): "Further output of `1` will be suppressed during this calculation.",
}


# ---------------------------------------------------------------- messages
def _message_key(mn: Any) -> tuple[Symbol, str] | None:
    if isinstance(mn, Expr) and mn.has_head("MessageName") and len(mn.args) == 2 \
            and isinstance(mn.args[0], Symbol) and isinstance(mn.args[1], str):
        return mn.args[0], mn.args[1]
    return None


def _assign_message(ev, lhs: Expr, value: Any) -> None:
    key = _message_key(lhs)
    if key is None:
        raise wrong_call("MessageName", lhs, "the form is symbol::tag")
    ev.messages[key] = value


SPECIAL_ASSIGN["MessageName"] = _assign_message


@builtin("MessageName", ("f::tag", "MessageName[f, \"tag\"]"),
         "a message of f: f::usage = \"...\" documents f, f::tag = \"text `1`\" defines a message",
         args=2, attributes=(HOLD_FIRST,), section="Messages and packages")
def _message_name(ev, f, tag):
    text = ev.messages.get((f, tag)) if isinstance(f, Symbol) else None
    return NOT_APPLICABLE if text is None else text


def message_text(ev, f: Symbol, tag: str) -> str | None:
    for key in ((f, tag), (General, tag)):
        text = ev.messages.get(key)
        if isinstance(text, str):
            return text
    return BUILTIN_MESSAGES.get(("General", tag))


@builtin("Message", "Message[f::tag, arg1, ...]",
         "shows the message f::tag with `1`, `2`... filled by the arguments; gives Null",
         args=(1, None), attributes=(HOLD_FIRST,), section="Messages and packages")
def _message(ev, mn, *args):
    key = _message_key(mn)
    if key is None:
        raise wrong_call("Message", Expr(S("Message"), mn, *args), "the first argument is f::tag")
    f, tag = key
    template = message_text(ev, f, tag)
    text = "-- Message text not found --" if template is None else \
        fill_template(template, tuple(input_form(a) for a in args), mn)
    if template is None and args:
        text += " (" + ", ".join(_text(a) for a in args) + ")"
    ev.message(symbol_text(f), tag, text)
    return Null


@builtin("Quiet", ("Quiet[expr]", "Quiet[expr, messages]"),
         "evaluates expr without showing messages", args=(1, 2), attributes=(HOLD_ALL,),
         section="Messages and packages")
def _quiet(ev, body, which=None):
    ev.quiet += 1
    try:
        return ev.evaluate(body)
    finally:
        ev.quiet -= 1


@builtin("Check", ("Check[expr, failexpr]", "Check[expr, failexpr, messages]"),
         "the value of expr, or of failexpr if evaluating expr issued a message or an error",
         args=(2, 3), attributes=(HOLD_ALL,), section="Messages and packages")
def _check(ev, body, fail, which=None):
    before = ev.message_count
    try:
        value = ev.evaluate(body)
    except NetDSLError as e:
        ev.message(e.symbol, e.tag, e.text)
        return ev.evaluate(fail)
    return ev.evaluate(fail) if ev.message_count != before else value


# ---------------------------------------------------------------- contexts
def _context_arg(x: Any, name: str) -> str:
    if not (isinstance(x, str) and valid_context(x, relative=True)):
        raise EvaluationError(f"{input_form(x)} is not a valid context name (a string ending "
                              "in `).", symbol=name, tag="cxt")
    return x


def _set(ev, context: str | None = None, path: tuple[str, ...] | None = None) -> None:
    c = ev.contexts
    if context is not None:
        c.set_context(context)
    if path is not None:
        c.set_path(path)
    ev.sync_contexts()


@builtin("BeginPackage", ("BeginPackage[\"Ctx`\"]", "BeginPackage[\"Ctx`\", {\"Need`\", ...}]"),
         "starts a package: $Context is Ctx`, $ContextPath {Ctx`, needed contexts, System`}; "
         "loads the packages it needs", args=(1, 2), section="Messages and packages")
def _begin_package(ev, ctx, needs=None):
    ctx = _context_arg(ctx, "BeginPackage")
    c = ev.contexts
    needed = [_context_arg(n, "BeginPackage") for n in list_items(needs)] \
        if needs is not None and is_list(needs) else []
    c.saved.append(("BeginPackage", c.context, c.path, ctx))
    # As Wolfram's $Packages: a later Needs of this context loads nothing (several
    # packages written one after another in a single file need each other this way).
    if ctx not in c.packages:
        c.packages.insert(0, ctx)
    for need in needed:
        _needs(ev, need)
    _set(ev, ctx, (ctx, *needed, "System`"))
    return Null


@builtin("EndPackage", "EndPackage[]",
         "ends the package begun by BeginPackage: restores $Context, and $ContextPath with "
         "the package's context first", args=0, section="Messages and packages")
def _end_package(ev):
    c = ev.contexts
    if not any(kind == "BeginPackage" for kind, *_ in c.saved):
        # no package begun: a Begin still open keeps what End needs to restore
        ev.message("EndPackage", "noctx", "No previous context defined.")
        return Null
    while c.saved[-1][0] != "BeginPackage":   # a Begin left open inside the package
        c.saved.pop()
    _, context, path, package = c.saved.pop()
    # the package's own context goes first, even when a Begin (`Private`) is still open
    _set(ev, context, (package, *(p for p in path if p != package)))
    return Null


@builtin("Begin", "Begin[\"`Private`\"]",
         "starts a context (relative to $Context when it begins with `); gives its name",
         args=1, section="Messages and packages")
def _begin(ev, ctx):
    ctx = _context_arg(ctx, "Begin")
    c = ev.contexts
    full = c.context + ctx[1:] if ctx.startswith("`") else ctx
    c.saved.append(("Begin", c.context, c.path, full))
    _set(ev, full)
    return full


@builtin("End", "End[]", "ends the context begun by Begin; gives its name", args=0,
         section="Messages and packages")
def _end(ev):
    c = ev.contexts
    current = c.context
    if c.saved and c.saved[-1][0] == "Begin":
        _set(ev, c.saved.pop()[1])
    elif not c.saved:
        ev.message("End", "noctx", "No previous context defined.")
    return current


def _context_of(ev, x: Any) -> str:
    if isinstance(x, str):
        sym = ev.contexts.symbol(x, create=False) if valid_symbol_name(x) else None
        if sym is None:
            raise EvaluationError(f"Symbol {x} not found.", symbol="Context", tag="notfound")
        x = sym
    if not isinstance(x, Symbol):
        raise EvaluationError(f"{input_form(x)} is not a symbol or a string.",
                              symbol="Context", tag="ssle")
    return ev.contexts.context_of(x)


@builtin("Context", ("Context[]", "Context[symbol]", "Context[\"name\"]"),
         "the current context ($Context), or the context of a symbol", args=(0, 1),
         attributes=(HOLD_FIRST,), section="Messages and packages")
def _context(ev, x=None):
    if x is None:
        return ev.contexts.context
    if isinstance(x, Expr):
        x = ev.evaluate(x)
    return _context_of(ev, x)


@builtin("Contexts", ("Contexts[]", "Contexts[\"pattern\"]"),
         "the contexts that hold symbols (matching the string pattern)", args=(0, 1),
         section="Messages and packages")
def _contexts_fn(ev, pattern="*"):
    if not isinstance(pattern, str):
        raise wrong_call("Contexts", Expr(S("Contexts"), pattern), "the pattern is a string")
    return Expr(S("List"), *[c for c in all_contexts(ev.contexts)
                             if fnmatch.fnmatchcase(c, pattern.replace("@", "*"))])


@builtin("Names", "Names[\"pattern\"]",
         "the names of the symbols a string pattern matches: \"A`*\" those of context "
         "A`, \"x*\" those in $Context and $ContextPath (System` is not listed)", args=1,
         section="Messages and packages")
def _names(ev, pattern):
    if not isinstance(pattern, str):
        raise wrong_call("Names", Expr(S("Names"), pattern), "the pattern is a string")
    # as Wolfram's: each name as it prints here (short where the context path finds it)
    return Expr(S("List"), *sorted(ev.contexts.shown(s) for s in context_symbols(ev, pattern)))


# ---------------------------------------------------------------- files
def _search_dirs(ev) -> list[str]:
    loading = getattr(ev, "loading", [])
    dirs = [os.path.dirname(loading[-1])] if loading else []
    base = getattr(ev.host, "base_dir", None)
    if base:
        dirs.append(base)
    dirs.append(os.getcwd())
    return dirs


def _find(ev, name: str) -> str | None:
    if os.path.isabs(name):
        return name if os.path.isfile(name) else None
    for d in _search_dirs(ev):
        path = os.path.join(d, name)
        if os.path.isfile(path):
            return os.path.abspath(path)
    return None


def read_package(ev, path: str) -> str:
    """The text of a package file: the one place Get reads files (behind the session's
    file-access switch, which netdsl's --no-files mode turns off)."""
    require_files(ev, "Get")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise EvaluationError(f"Cannot read {path!r}: {e}", symbol="Get", tag="noopen") from None


def get_file(ev, name: str) -> Any:
    path = _find(ev, name)
    if path is None:
        raise EvaluationError(f"Cannot open {name!r}: no such file next to the file being read "
                              "or in the working directory.", symbol="Get", tag="noopen")
    loading = ev.__dict__.setdefault("loading", [])
    if path in loading:
        chain = " -> ".join(os.path.basename(p) for p in loading + [path])
        raise EvaluationError(f"{os.path.basename(path)} includes itself ({chain}).",
                              symbol="Get", tag="recursive")
    if len(loading) >= MAX_GET_DEPTH:
        raise EvaluationError(f"Files included more than {MAX_GET_DEPTH} deep.",
                              symbol="Get", tag="depth")
    text = read_package(ev, path)
    if text.startswith("#!"):
        text = "(*" + text[2:text.find("\n") if "\n" in text else len(text)] + "*)" + \
            (text[text.find("\n"):] if "\n" in text else "")
    statements = parse_statements(text, path)
    loading.append(path)

    ev.__dict__.setdefault("loaded", set()).add(path)
    value: Any = Null
    try:
        for expr, span in statements:
            try:
                value = ev.evaluate(ev.read(expr))
            except EvaluationError as e:
                raise e.with_span(span) from None
    finally:
        loading.pop()
    return value


@builtin("Get", ("<< file", "Get[\"file.wl\"]"),
         "reads and evaluates a .wl/.m file (relative to the file that reads it)", args=(1, 2),
         section="Messages and packages")
def _get(ev, name, *opts):
    if not isinstance(name, str):
        raise wrong_call("Get", Expr(S("Get"), name), f"{input_form(name)} is not a file name")
    return get_file(ev, name)


SYSTEM_CONTEXTS = ("System`", "Global`", "NeuralNetworks`", "GeneralUtilities`",
                   "Developer`", "Internal`", "MachineLearning`", "PacletManager`")


def _needs(ev, ctx: Any) -> Any:
    ctx = _context_arg(ctx, "Needs")
    if ctx in SYSTEM_CONTEXTS:
        return Null
    c = ev.contexts
    if ctx in c.packages:   # loaded (or being loaded): its context is put on the path
        if ctx not in c.path:
            _set(ev, path=(ctx, *c.path))
        return Null
    base = ctx.rstrip("`").replace("`", os.sep)
    for candidate in (base + ".wl", base + ".m", os.path.join(base, "init.m"),
                      os.path.join(base, "Kernel", "init.m")):
        path = _find(ev, candidate)
        if path is not None:
            if path not in ev.__dict__.setdefault("loaded", set()):
                get_file(ev, path)
            return Null
    raise EvaluationError(f"Cannot find a file for context {ctx} ({base}.wl or {base}.m).",
                          symbol="Needs", tag="nocont")


@builtin("Needs", ("Needs[\"Ctx`\"]", "Needs[\"Ctx`\", \"file\"]"),
         "loads the package for a context (Ctx.wl or Ctx.m), once", args=(1, 2),
         section="Messages and packages")
def _needs_fn(ev, ctx, file=None):
    if isinstance(file, str):
        path = _find(ev, file)
        if path is not None and path in ev.__dict__.setdefault("loaded", set()):
            return Null
        get_file(ev, file)
        return Null
    return _needs(ev, ctx)


# ---------------------------------------------------------------- predicates
def _predicate(name: str, summary: str, test) -> None:
    @builtin(name, f"{name}[x]", summary, args=1, section="Predicates")
    def fn(ev, x):
        return boolean(test(x))


_predicate("IntegerQ", "True for an Integer", is_integer)
_predicate("StringQ", "True for a String", lambda x: isinstance(x, str))
_predicate("ListQ", "True for a List", is_list)
_predicate("AssociationQ", "True for an Association", lambda x: isinstance(x, Association))
_predicate("NumberQ", "True for an Integer or Real", is_number)
_predicate("NumericQ", "True for a number or a numeric constant", lambda x: is_number(x) or (
    isinstance(x, Symbol) and x.name in ("Pi", "E", "Degree")))
_predicate("TrueQ", "True only for True", lambda x: x is S("True"))
_predicate("EvenQ", "True for an even Integer", lambda x: is_integer(x) and x % 2 == 0)
_predicate("OddQ", "True for an odd Integer", lambda x: is_integer(x) and x % 2 == 1)
_predicate("MissingQ", "True for Missing[...]",
           lambda x: isinstance(x, Expr) and x.has_head("Missing"))
_predicate("AtomQ", "True for an atom (not an expression with parts)",
           lambda x: not isinstance(x, Expr) and not is_list(x))
_predicate("SymbolQ", "True for a symbol", lambda x: isinstance(x, Symbol))


def _sign_test(name: str, summary: str, test) -> None:
    @builtin(name, f"{name}[x]", summary, args=1, section="Predicates")
    def fn(ev, x):
        return boolean(test(x)) if is_number(x) else NOT_APPLICABLE


_sign_test("Positive", "True if x > 0", lambda x: x > 0)
_sign_test("Negative", "True if x < 0", lambda x: x < 0)
_sign_test("NonNegative", "True if x >= 0", lambda x: x >= 0)
_sign_test("NonPositive", "True if x <= 0", lambda x: x <= 0)


@builtin("KeyExistsQ", "KeyExistsQ[assoc, key]", "True if the association has the key", args=2,
         section="Predicates")
def _key_exists(ev, a, key):
    return boolean(isinstance(a, Association) and key in a)

