"""What the language server knows about one document, without any LSP library.

``analyse`` runs the same shape-only evaluation as ``netdsl check`` (netdsl/check.py):
every statement in a shape-only Session, a failed statement reported and the check going
on, statements using a symbol whose assignment failed skipped. It gives diagnostics with
exact ranges and keeps the session and the statements, for hover, completion and
definitions. Positions here are LSP's: 0-based line and character, end exclusive.
"""

from __future__ import annotations

import io
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from ..check import _assigned, _mentions
from ..errors import NetDSLError, QuitRequest, Span
from ..expr import Expr, Symbol
from ..graph.container import Container
from ..help import completions, long_help, names
from ..layers.base import Layer, Net
from ..layers.registry import LAYER_TYPES
from ..session import Session
from ..syntax import parse_statements

ERROR, WARNING, INFORMATION = 1, 2, 3          # LSP DiagnosticSeverity
CONTAINERS = ("NetChain", "NetGraph")
WORD = re.compile(r"[A-Za-z$][A-Za-z0-9$]*")


class Cancelled(Exception):
    """A newer edit arrived: this analysis is no longer wanted."""


@dataclass
class Diagnostic:
    start: tuple[int, int]
    end: tuple[int, int]
    severity: int
    message: str
    code: str = ""


@dataclass
class Record:
    """What one statement did, so that an edit elsewhere can reuse it: the symbols it
    assigned and their values just after it, its diagnostics and warnings."""

    mentions: frozenset[Symbol]
    assigned: list[Symbol]
    values: dict[Symbol, Any]
    found: list[Diagnostic]
    warnings: list[tuple[str, Span | None]]
    failed: bool


@dataclass
class Analysis:
    text: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    statements: list[tuple[Any, Span | None]] = field(default_factory=list)
    session: Session | None = None
    path: str = "untitled.wl"
    records: list[Record] = field(default_factory=list)   # one a statement, for the next edit
    reusable: bool = False


def _range(span: Span | None, text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """An LSP range from a netdsl Span (1-based, end exclusive); a whole first line when
    there is no span."""
    if span is None:
        first = text.split("\n", 1)[0]
        return (0, 0), (0, len(first))
    start = (span.line - 1, span.column - 1)
    end = (span.end_line - 1, span.end_column - 1)
    if end <= start:
        end = (start[0], start[1] + 1)
    return start, end


def _diagnostic(e: NetDSLError, text: str, severity: int) -> Diagnostic:
    start, end = _range(e.span, text)
    return Diagnostic(start, end, severity, e.message, f"{e.symbol}::{e.tag}")


def analyse(text: str, path: str = "untitled.wl", cancel: threading.Event | None = None,
            previous: Analysis | None = None) -> Analysis:
    """Diagnostics for ``text`` as ``netdsl check`` finds them; ``cancel`` set by a newer
    edit stops the analysis between statements (raising Cancelled).

    With the ``previous`` analysis of the same document, only what an edit can change is
    redone: the lines around the edit are parsed again (the other statements are kept,
    moved by the lines added or removed), and a kept statement is evaluated again only
    when it mentions a symbol that a statement evaluated again assigns; otherwise its
    values and diagnostics are taken over."""
    result = Analysis(text, path=path)
    if previous is not None and not (previous.reusable and previous.path == path):
        previous = None
    origin: list[tuple[int, int] | None] = []
    try:
        parsed = _parse_incrementally(previous, text, path) if previous is not None else None
        if parsed is None:
            statements = parse_statements(text, path)
            origin = [None] * len(statements)
        else:
            statements, origin = parsed
    except NetDSLError as e:
        result.diagnostics.append(_diagnostic(e, text, ERROR))
        result.session = Session(shape_only=True)
        return result
    result.statements = statements
    session = _new_session(path)
    ev = session.evaluator
    result.session = session
    result.reusable = True
    failed: set[Symbol] = set()
    dirty: set[Symbol] = set()          # symbols assigned by statements evaluated again
    for (expr, span), came in zip(statements, origin):
        if cancel is not None and cancel.is_set():
            raise Cancelled
        old = previous.records[came[0]] if previous is not None and came is not None else None
        if old is not None and not (old.mentions & dirty):
            assert came is not None
            rec = _moved_record(old, came[1])
            for sym in rec.assigned:
                if sym in rec.values:
                    ev.values[sym] = rec.values[sym]
                else:
                    ev.values.pop(sym, None)
            if rec.failed:
                failed.update(rec.assigned)
            result.records.append(rec)
            continue
        assigned = _assigned(expr)
        rec = Record(frozenset(_symbols(expr)), assigned, {}, [], [], False)
        n_messages, n_warnings = len(session.messages), len(session.warnings)
        n_defs = len(ev.definitions) + len(ev.delayed)
        if not _mentions(expr, failed):
            try:
                session.evaluate_expr(expr, span, path)
            except QuitRequest:
                result.reusable = False
                break
            except NetDSLError as e:
                rec.failed = True
                failed.update(assigned)
                e.with_span(span)
                severity = INFORMATION if e.tag == "datadep" else ERROR
                rec.found.append(_diagnostic(e, text, severity))
            except Exception as e:  # noqa: BLE001  (a bug must not take the server down)
                s0, e0 = _range(span, text)
                rec.found.append(Diagnostic(s0, e0, ERROR, f"netdsl internal error: {e}",
                                            "internal"))
            for m in session.messages[n_messages:]:
                rec.found.append(_diagnostic(m, text, WARNING))
        else:
            rec.failed = True
        rec.warnings = session.warnings[n_warnings:]
        rec.values = {sym: ev.values[sym] for sym in assigned if sym in ev.values}
        if len(ev.definitions) + len(ev.delayed) != n_defs or not ev.contexts.plain:
            # f[x_] := ..., or a package's contexts: state a record does not hold
            result.reusable = False
        dirty.update(assigned)
        result.records.append(rec)
    for rec in result.records:
        result.diagnostics.extend(rec.found)
    for rec in result.records:
        for message, span in rec.warnings:        # unknown functions, "did you mean"
            s0, e0 = _range(span, text)
            name = message.split(" ", 1)[0]       # "NetChian is not a known function; ..."
            if text[offset(text, *s0):].startswith(name):
                e0 = (s0[0], s0[1] + len(name))
            result.diagnostics.append(Diagnostic(s0, e0, WARNING, message, "warning"))
    return result


def _symbols(expr: Any) -> set[Symbol]:
    found: set[Symbol] = set()
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, Symbol):
            found.add(e)
        elif isinstance(e, Expr):
            stack.append(e.head)
            stack.extend(e.args)
    return found


def _moved_record(rec: Record, lines: int) -> Record:
    if lines == 0:
        return rec
    found = [Diagnostic((d.start[0] + lines, d.start[1]), (d.end[0] + lines, d.end[1]),
                        d.severity, d.message, d.code) for d in rec.found]
    warnings = [(text, _moved(span, lines)) for text, span in rec.warnings]
    return Record(rec.mentions, rec.assigned, rec.values, found, warnings, rec.failed)


def _new_session(path: str) -> Session:
    session = Session(shape_only=True)
    session.show_warnings = False
    session.stderr = io.StringIO()     # messages become diagnostics, Print goes nowhere
    session.stdout = io.StringIO()
    session.base_dir = os.path.dirname(os.path.abspath(path))
    return session


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for m in re.finditer("\n", text):
        starts.append(m.end())
    return starts


def _parse_incrementally(previous: Analysis, text: str,
                         path: str) -> tuple[list, list[tuple[int, int] | None]] | None:
    """The new statements, from the old ones and a parse of the edited lines only, with
    where each came from ((old index, lines moved) or None for a new one); None when that
    cannot be done safely (then everything is parsed again)."""
    old_text = previous.text
    old: list[tuple[Any, Span]] = [(e, sp) for e, sp in previous.statements if sp is not None]
    if not old or len(old) != len(previous.statements) or len(previous.records) != len(old):
        return None
    n = min(len(old_text), len(text))
    p = 0
    while p < n and old_text[p] == text[p]:
        p += 1
    if p == len(old_text) == len(text):
        return list(old), [(i, 0) for i in range(len(old))]
    q = 0
    while q < n - p and old_text[-1 - q] == text[-1 - q]:
        q += 1
    old_starts, new_starts = _line_starts(old_text), _line_starts(text)
    first_line = old_text.count("\n", 0, p)            # 0-based line of the first change
    last_line = old_text.count("\n", 0, len(old_text) - q)   # ... and of the last, in old
    n_head = sum(1 for _, s in old if s.end_line - 1 < first_line)
    tail_from = next((i for i, (_, s) in enumerate(old) if s.line - 1 > last_line), len(old))
    head, tail = old[:n_head], old[tail_from:]
    cut = head[-1][1].end_line if head else 0                 # first line parsed again
    resume = tail[0][1].line - 1 if tail else len(old_starts)  # first old line kept after
    delta = len(new_starts) - len(old_starts)
    stop = new_starts[resume + delta] if tail else len(text)
    middle = text[old_starts[cut] if cut < len(old_starts) else len(old_text):stop]
    try:
        parsed = parse_statements(middle, path)
    except NetDSLError:
        return None          # let the full parse find the error with its exact place
    moved = [(_shifted(e, cut), _moved(s, cut)) for e, s in parsed]
    if delta:
        tail = [(_shifted(e, delta), _moved(s, delta)) for e, s in tail]
    origin: list[tuple[int, int] | None] = [(i, 0) for i in range(n_head)]
    origin += [None] * len(moved)
    origin += [(tail_from + i, delta) for i in range(len(tail))]
    return head + moved + tail, origin


def _moved(span: Any, lines: int) -> Any:
    if span is None or lines == 0:
        return span
    return Span(span.line + lines, span.column, span.end_line + lines, span.end_column,
                span.source)


def _shifted(expr: Any, lines: int) -> Any:
    """A copy of ``expr`` whose spans are ``lines`` lower (the old statements stay as they
    were: the previous analysis may be needed again if this one is cancelled)."""
    if lines == 0 or not isinstance(expr, Expr):
        return expr
    return Expr(_shifted(expr.head, lines), *(_shifted(a, lines) for a in expr.args),
                span=_moved(expr.span, lines))


# ---------------------------------------------------------------- positions and words
def offset(text: str, line: int, character: int) -> int:
    lines = text.split("\n")
    line = min(line, len(lines) - 1)
    return sum(len(x) + 1 for x in lines[:line]) + min(character, len(lines[line]))


def word_at(text: str, line: int, character: int) -> tuple[str, int, int] | None:
    """The name under the cursor: (word, start character, end character) on ``line``."""
    lines = text.split("\n")
    if line >= len(lines):
        return None
    for m in WORD.finditer(lines[line]):
        if m.start() <= character <= m.end():
            return m.group(0), m.start(), m.end()
    return None


def _contains(span: Span | None, line: int, character: int) -> bool:
    if span is None:
        return False
    pos = (line + 1, character + 1)
    return (span.line, span.column) <= pos < (span.end_line, span.end_column)


def _chain_to(expr: Any, line: int, character: int) -> list[Any]:
    """The expressions from ``expr`` down to the innermost one holding the position."""
    path = []
    while isinstance(expr, Expr) and _contains(expr.span, line, character):
        path.append(expr)
        inner = next((a for a in expr.args if isinstance(a, Expr)
                      and _contains(a.span, line, character)), None)
        if inner is None:
            break
        expr = inner
    return path


# ---------------------------------------------------------------- hover
def hover(a: Analysis, line: int, character: int) -> str | None:
    """Markdown for the name under the cursor: a layer inside a NetChain or NetGraph
    gets its inferred ports and arrays; any built-in its help text."""
    found = word_at(a.text, line, character)
    if found is None:
        return None
    word = found[0]
    shapes = _layer_shapes(a, word, line, character) if word in LAYER_TYPES else None
    help_text = long_help(word) if word in names() else None
    parts = []
    if shapes:
        parts.append(shapes)
    if help_text:
        parts.append("```\n" + help_text + "\n```")
    return "\n\n".join(parts) if parts else None


def _layer_shapes(a: Analysis, word: str, line: int, character: int) -> str | None:
    if a.session is None:
        return None
    heads = [Symbol(c) for c in CONTAINERS]
    for expr, span in a.statements:
        if not _contains(span, line, character):
            continue
        chain = _chain_to(expr, line, character)
        # the layer's own expression: the innermost with this head
        k = max((i for i, e in enumerate(chain) if e.has_head(word)), default=None)
        if k is None:
            return None
        outer = next((i for i, e in enumerate(chain[:k]) if e.head in heads), None)
        if outer is None:
            return None
        try:
            net = a.session.evaluate_expr(chain[outer], chain[outer].span, None).value
        except Exception:  # noqa: BLE001  (the net does not build: no shapes to show)
            return None
        layer = _follow(net, chain[outer:k + 1])
        if isinstance(layer, Net):
            return describe_layer(layer)
    return None


def _follow(net: Any, chain: list[Any]) -> Any:
    """Go from a container down the written path (a NetChain's list position, a NetGraph's
    association entry) to the net that the last expression of ``chain`` built."""
    i = 0
    while i < len(chain) - 1:
        members = chain[i].args[0] if chain[i].args else None
        if not isinstance(net, Container) or chain[i + 1] is not members or i + 2 >= len(chain):
            return None                   # the cursor is in the edges or options, not a member
        pos = next((j for j, e in enumerate(members.args) if e is chain[i + 2]), None)
        layers = list(net.layers())
        if pos is None or pos >= len(layers):
            return None
        net = layers[pos][1]
        i += 2
        if chain[i].has_head("Rule"):      # <|"name" -> layer, ...|>
            if i + 1 >= len(chain) or chain[i + 1] is not chain[i].args[1]:
                return None
            i += 1
    return net


def describe_layer(layer: Net) -> str:
    """The inferred ports and arrays of a layer, as the hover shows them."""
    ins, outs = layer.port_names()
    lines = [f"**{getattr(type(layer), 'name', layer.head_name)}**"]
    for p in ins:
        lines.append(f"- input \"{p}\": {layer.ports[p].words()}")
    for p in outs:
        lines.append(f"- output \"{p}\": {layer.ports[p].words()}")
    if isinstance(layer, Layer):
        for name, dims in layer.array_shapes().items():
            text = "{" + ", ".join("?" if d is None else str(d) for d in dims) + "}" \
                if dims is not None else "not known yet"
            lines.append(f"- array \"{name}\": {text}")
    return "\n".join(lines)


# ---------------------------------------------------------------- completion, definition
def complete(a: Analysis, line: int, character: int) -> list[tuple[str, str]]:
    before = a.text[:offset(a.text, line, character)]
    return completions(before, assigned_symbols(a))


def assigned_symbols(a: Analysis) -> list[str]:
    return sorted({s.name for expr, _ in a.statements for s in _assigned(expr)})


def definition(a: Analysis, line: int, character: int) -> tuple[tuple[int, int],
                                                                 tuple[int, int]] | None:
    """Where the symbol under the cursor is first assigned in the file (its name's range)."""
    found = word_at(a.text, line, character)
    if found is None:
        return None
    sym = Symbol(found[0])
    lines = a.text.split("\n")
    pattern = re.compile(r"(?<![A-Za-z0-9$])" + re.escape(sym.name) + r"(?![A-Za-z0-9$])")
    for expr, span in a.statements:
        if span is not None and sym in _assigned(expr):
            for ln in range(span.line - 1, span.end_line):
                m = pattern.search(lines[ln], span.column - 1 if ln == span.line - 1 else 0)
                if m:
                    return (ln, m.start()), (ln, m.end())
    return None
