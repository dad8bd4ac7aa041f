"""What the language server knows about one document, without any LSP library.

``analyse`` runs the same shape-only evaluation as ``netdsl check`` (netdsl/check.py):
every statement in a shape-only Session, a failed statement reported and the check going
on, statements using a symbol whose assignment failed skipped. It gives diagnostics with
exact ranges and keeps the session and the statements, for hover, completion and
definitions. Positions here are LSP's: 0-based line and character, end exclusive.
"""

from __future__ import annotations

import copy
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
class Analysis:
    text: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    statements: list[tuple[Any, Span | None]] = field(default_factory=list)
    session: Session | None = None
    path: str = "untitled.wl"
    # for the next edit: the session's state before each statement, each statement's
    # diagnostics and the symbols whose assignment had failed before it
    snapshots: list[Any] = field(default_factory=list)
    found: list[list[Diagnostic]] = field(default_factory=list)
    failed_before: list[set] = field(default_factory=list)
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
    redone: the statements around the edited lines are parsed again (the others are kept,
    moved by the lines added or removed), and evaluation restarts from the session's saved
    state before the first statement that differs."""
    result = Analysis(text, path=path)
    if previous is not None and not (previous.reusable and previous.path == path):
        previous = None
    try:
        statements = _parse_incrementally(previous, text, path) if previous is not None \
            else None
        if statements is None:
            statements = parse_statements(text, path)
            previous = None
    except NetDSLError as e:
        result.diagnostics.append(_diagnostic(e, text, ERROR))
        result.session = Session(shape_only=True)
        return result
    result.statements = statements
    start = 0
    if previous is not None:
        old = previous.statements
        while start < min(len(old), len(statements), len(previous.snapshots)) \
                and old[start][0] is statements[start][0] and old[start][1] == statements[start][1]:
            start += 1
        if start == len(statements) == len(old):
            start = len(old)
    if previous is not None and start > 0 and start <= len(previous.snapshots) - 1:
        session = previous.session
        assert session is not None
        _restore(session, previous.snapshots[start])
        result.snapshots = previous.snapshots[:start + 1]
        result.found = previous.found[:start]
        result.failed_before = previous.failed_before[:start + 1]
        failed = set(previous.failed_before[start])
    else:
        start = 0
        session = _new_session(path)
        result.snapshots = [_snapshot(session)]
        result.failed_before = [set()]
        failed = set()
    result.session = session
    result.reusable = True
    for expr, span in statements[start:]:
        if cancel is not None and cancel.is_set():
            raise Cancelled
        found: list[Diagnostic] = []
        if not _mentions(expr, failed):
            seen = len(session.messages)
            try:
                session.evaluate_expr(expr, span, path)
            except QuitRequest:
                result.reusable = False
                break
            except NetDSLError as e:
                failed.update(_assigned(expr))
                e.with_span(span)
                severity = INFORMATION if e.tag == "datadep" else ERROR
                found.append(_diagnostic(e, text, severity))
            except Exception as e:  # noqa: BLE001  (a bug must not take the server down)
                s0, e0 = _range(span, text)
                found.append(Diagnostic(s0, e0, ERROR, f"netdsl internal error: {e}",
                                        "internal"))
            for m in session.messages[seen:]:
                found.append(_diagnostic(m, text, WARNING))
        result.found.append(found)
        result.failed_before.append(set(failed))
        if session.evaluator.definitions:       # f[x_] := ...: state too rich to save
            result.reusable = False
        result.snapshots.append(_snapshot(session) if result.reusable else None)
    result.diagnostics = [d for found in result.found for d in found]
    for message, span in session.warnings:        # unknown functions, "did you mean"
        s0, e0 = _range(span, text)
        name = message.split(" ", 1)[0]       # "NetChian is not a known function; ..."
        if text[offset(text, *s0):].startswith(name):
            e0 = (s0[0], s0[1] + len(name))
        result.diagnostics.append(Diagnostic(s0, e0, WARNING, message, "warning"))
    return result


def _new_session(path: str) -> Session:
    session = Session(shape_only=True)
    session.show_warnings = False
    session.stderr = io.StringIO()     # messages become diagnostics, Print goes nowhere
    session.stdout = io.StringIO()
    session.base_dir = os.path.dirname(os.path.abspath(path))
    return session


def _snapshot(session: Session) -> Any:
    """What evaluation changes in a session without definitions: values are never mutated
    (nets are immutable), so copies of the tables are enough."""
    ev = session.evaluator
    return (dict(ev.values), dict(ev.delayed), dict(ev.attributes), dict(ev.options),
            dict(ev.messages), set(ev.warned), copy.deepcopy(ev.rng), ev.message_count,
            ev._module_counter, session.line, dict(session.outputs), len(session.messages),
            len(session.warnings))


def _restore(session: Session, snap: Any) -> None:
    ev = session.evaluator
    (values, delayed, attributes, options, messages, warned, rng, ev.message_count,
     ev._module_counter, session.line, outputs, n_messages, n_warnings) = snap
    ev.values, ev.delayed, ev.attributes = dict(values), dict(delayed), dict(attributes)
    ev.options, ev.messages, ev.warned = dict(options), dict(messages), set(warned)
    ev.rng = copy.deepcopy(rng)
    session.outputs = dict(outputs)
    del session.messages[n_messages:]
    del session.warnings[n_warnings:]


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for m in re.finditer("\n", text):
        starts.append(m.end())
    return starts


def _parse_incrementally(previous: Analysis, text: str, path: str) -> list | None:
    """The new statements from the old ones and a parse of the edited lines only, or None
    when that cannot be done safely (then everything is parsed again)."""
    old_text = previous.text
    old: list[tuple[Any, Span]] = [(e, sp) for e, sp in previous.statements if sp is not None]
    if not old or len(old) != len(previous.statements):
        return None
    n = min(len(old_text), len(text))
    p = 0
    while p < n and old_text[p] == text[p]:
        p += 1
    if p == len(old_text) == len(text):
        return list(old)
    q = 0
    while q < n - p and old_text[-1 - q] == text[-1 - q]:
        q += 1
    old_starts, new_starts = _line_starts(old_text), _line_starts(text)
    first_line = old_text.count("\n", 0, p)            # 0-based line of the first change
    last_line = old_text.count("\n", 0, len(old_text) - q)   # ... and of the last, in old
    head = [(e, s) for e, s in old if s.end_line - 1 < first_line]
    tail = [(e, s) for e, s in old if s.line - 1 > last_line]
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
    return head + moved + tail


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
