"""Help and completion from the one built-in table (``builtins.registry.REGISTRY``).

Used by the REPL (``?Name``, ``??Name``, ``?Name*``, Tab completion) and by the language
server (hover text, completion items), so both say the same thing:

- ``?Name``: the call forms and the one-line description;
- ``??Name``: that, and the options with their defaults (a layer's parameters, options
  and ports);
- ``?Na*``: the names matching the pattern (``*`` any letters, ``?`` none here: Wolfram's
  ``?`` is only the prefix).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Iterable

from .builtins.registry import REGISTRY
from .contexts import symbol_text
from .expr import Symbol, input_form
from .layers.registry import LAYER_TYPES

NAME = re.compile(r"[A-Za-z$][A-Za-z0-9$]*")
_PREFIX = re.compile(r"[A-Za-z$][A-Za-z0-9$]*\Z")


def names() -> list[str]:
    """Every built-in and layer name, sorted."""
    return sorted(set(REGISTRY) | set(LAYER_TYPES))


def option_defaults(name: str) -> list[tuple[str, str]]:
    """(option, default as text) for a built-in or a layer; for a layer also its positional
    parameters (default shown when it has one) and its ports."""
    out: list[tuple[str, str]] = []
    cls = LAYER_TYPES.get(name)
    if cls is not None:
        for p in cls.positional:
            default = getattr(p, "default", None)
            out.append((p.name, "Automatic" if default is None else input_form(default)))
        for o in cls.options:
            if o.shown:
                out.append((o.name, "Automatic" if o.default is None else input_form(o.default)))
        for port in tuple(cls.inputs) + tuple(cls.outputs):   # ports are strings
            out.append((f'"{port}"', "Automatic"))
        return out
    b = REGISTRY.get(name)
    if b is not None:
        out = [(k, input_form(v)) for k, v in b.options.items()]
    return out


def short_help(name: str) -> str | None:
    """``?Name``: the call forms, one a line, then the one-line description."""
    b = REGISTRY.get(name)
    if b is None:
        return None
    lines = list(b.usage)
    if b.summary:
        lines.append(f"  {b.summary}")
    return "\n".join(lines)


def long_help(name: str) -> str | None:
    """``??Name``: the short help and the options with their defaults."""
    text = short_help(name)
    if text is None:
        return None
    opts = option_defaults(name)
    if opts:
        label = "Parameters, options and ports" if name in LAYER_TYPES else "Options"
        width = max(len(k) for k, _ in opts)
        text += f"\n{label}:\n" + "\n".join(f"  {k.ljust(width)} -> {v}" for k, v in opts)
    return text


def matching(pattern: str) -> list[str]:
    """Built-in and layer names matching a ``*`` pattern (case-sensitive, as Wolfram's)."""
    return [n for n in names() if fnmatch.fnmatchcase(n, pattern.replace("?", "[?]"))]


def answer(query: str) -> str:
    """What the REPL prints for a line starting with ``?``."""
    q = query.strip()
    detailed = q.startswith("??")
    name = q.lstrip("?").strip()
    if not name:
        return "Write ?Name for a built-in's call forms, ??Name for its options too, " \
               "?Na* for the names that match."
    if "*" in name:
        found = matching(name)
        return "\n".join(found) if found else f"No built-in or layer matches {name}."
    text = long_help(name) if detailed else short_help(name)
    if text is not None:
        return text
    close = [n for n in names() if n.lower() == name.lower()] or matching(name + "*")[:5]
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"{name} is not a built-in or layer of netdsl.{hint}"


# ---------------------------------------------------------------- completion
def open_call(text: str) -> str | None:
    """The head of the innermost ``Head[`` left open before the end of ``text``."""
    depth = 0
    i = len(text) - 1
    while i >= 0:
        c = text[i]
        if c == '"':                      # skip a string backwards
            i -= 1
            while i >= 0 and text[i] != '"':
                i -= 1
        elif c in ")]}":
            depth += 1
        elif c in "([{":
            if depth == 0:
                if c != "[":            # inside (...) or {...}: no call's options
                    return None
                m = _PREFIX.search(text[:i])
                return m.group(0) if m else None
            depth -= 1
        i -= 1
    return None


def completions(before: str, symbols: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(completion, description) for the word that ends ``before``: built-ins, layers, the
    session's ``symbols``, and after a ``Head[`` the head's options (as ``Name -> ``)."""
    m = _PREFIX.search(before)
    prefix = m.group(0) if m else ""
    if m and m.start() > 0 and before[m.start() - 1] == '"':
        return []                           # inside a string
    out: list[tuple[str, str]] = []
    head = open_call(before[:len(before) - len(prefix)])
    if head is not None:
        for opt, default in option_defaults(head):
            if opt.strip('"').startswith(prefix) and not (prefix and opt.startswith('"')):
                out.append((f"{opt} -> ", f"option of {head}, default {default}"))
    if prefix:
        for n in names():
            if n.startswith(prefix):
                b = REGISTRY.get(n)
                out.append((n, b.summary if b is not None else "layer"))
        seen = {c for c, _ in out}
        for s in sorted(set(symbols)):
            if s.startswith(prefix) and s not in seen:
                out.append((s, "symbol of this session"))
    return out


def session_symbols(session: Any) -> list[str]:
    """The names the session has given values or definitions to."""
    ev = session.evaluator
    found = []
    for sym in list(ev.values) + list(ev.definitions) + list(getattr(ev, "delayed", ())):
        if isinstance(sym, Symbol) and not sym.name.startswith("$"):
            found.append(symbol_text(sym))   # a package's names as they are typed here
    return sorted(set(found))
