"""``netdsl check FILE``: every net operation at the level of shapes, no arrays.

The file is evaluated in a shape-only Session: nets are built and inferred,
NetInitialize only checks that every dimension is known, applying a net
checks the data's shape against its input port and gives an AbstractArray of
the output's shape, and NetTrain checks its data against the ports. So a file
with LinearLayer[10^9] checks in milliseconds.

A failed statement is reported and the check goes on; statements that use a
symbol whose assignment failed are skipped, so one mistake is reported once.

Checking has no side effects: no file is written (Export and the like are
reported as ``note: would write FILE``), and data are known by their dimensions
(RandomReal, Table, ConstantArray, Import and arithmetic on them give
AbstractArrays), so a file that would compute for minutes checks at once.
"""

from __future__ import annotations

import os
from typing import Any, TextIO

from .errors import NetDSLError, QuitRequest, Span
from .expr import Expr, Symbol
from .layers.base import Net
from .layers.base import AbstractArray
from .messages import write_text
from .session import Session
from .syntax import parse_statements


def run_check(path: str, stdout: TextIO, stderr: TextIO, strict: bool = False,
              files: bool = True) -> int:
    """Check ``path``: print each net's ports and return 0, or each problem and return 1.
    ``files=False``: Import is refused, as in ``netdsl --no-files``."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        write_text(stderr, f"netdsl: cannot read {path!r}: {reason}\n")
        return 2
    return check_text(text, path, stdout, stderr, strict=strict, files=files)


def check_text(text: str, path: str, stdout: TextIO, stderr: TextIO,
               strict: bool = False, files: bool = True) -> int:
    """``strict``: warnings (an unknown or unsupported function) count as problems."""
    session = Session(shape_only=True, stdout=stdout, stderr=stderr, files=files)
    if strict:
        session.warning_label = "error"
    session.base_dir = os.path.dirname(os.path.abspath(path))  # Import resolves as when run
    try:
        statements = parse_statements(text, path)
    except NetDSLError as e:
        _report(e, path, stderr)
        return 1
    failed: set[Symbol] = set()
    problems = 0
    for expr, span in statements:
        if _mentions(expr, failed):
            failed.update(_assigned(expr))  # what it would assign is unknown too
            continue
        try:
            try:
                result = session.evaluate_expr(expr, span, path)
            finally:
                _notes(session, span, path, stdout)
        except QuitRequest:
            break
        except NetDSLError as e:
            failed.update(_assigned(expr))
            if e.tag == "datadep":  # arithmetic on outputs: not a shape question
                where = e.span.where() if e.span is not None else path
                write_text(stdout, f"{where}: note: not checked: {e.message}\n")
                continue
            problems += 1
            _report(e, path, stderr)
            continue
        line = span.line if span else "?"
        # every net and net output the statement made: the ones it assigned (net = ...;
        # has the value Null), then its value if no name holds that
        shown: list[Any] = []
        for sym in _assigned(expr):
            value = session.evaluator.values.get(sym)
            if value is None:   # a name read in a package's context (Pkg`Private`net)
                found = session.evaluator.contexts.symbol(sym.name, create=False)
                value = session.evaluator.values.get(found) if found is not None else None
            if isinstance(value, (Net, AbstractArray)) and not any(value is v for v in shown):
                shown.append(value)
                write_text(stdout, f"{path}:{line}: {_describe(value, sym.name)}\n")
        value = result.value
        if isinstance(value, (Net, AbstractArray)) and not any(value is v for v in shown):
            write_text(stdout, f"{path}:{line}: {_describe(value, None)}\n")
    if strict:
        problems += len(session.warnings)
    if problems:
        write_text(stderr, f"{path}: {problems} problem{'s' if problems != 1 else ''}\n")
        return 1
    write_text(stdout, f"{path}: ok\n")
    return 0


def _report(e: NetDSLError, path: str, stderr: TextIO) -> None:
    where = e.span.where() if e.span is not None else path
    write_text(stderr, f"{where}: error: {e.message}\n")
    for line in e.note_lines():
        write_text(stderr, line + "\n")


def _notes(session: Session, span: Span | None, path: str, stdout: TextIO) -> None:
    """What the statement would have done (``note: would write out.csv``), then forget it."""
    for text, at in session.notes:
        at = at or span
        where = at.in_source(path).where() if at is not None else path
        write_text(stdout, f"{where}: note: {text}\n")
    session.notes.clear()


def _describe(net: Net | AbstractArray, name: str | None) -> str:
    if isinstance(net, AbstractArray):
        dims = ", ".join(map(str, net.shape))
        what = f"{net.what} of dimensions {{{dims}}}" if net.shape else f"{net.what}, a number"
        return f"{name + ' = ' if name else ''}{what}"
    ins, outs = net.port_names()
    ports = ", ".join(f'"{p}" {net.ports[p].words()}' for p in ins)
    ports += " -> " + ", ".join(f'"{p}" {net.ports[p].words()}' for p in outs)
    label = f"{name} = {net.head_name}" if name else net.head_name
    return f"{label}: {ports}"


def _assigned(expr: Any) -> list[Symbol]:
    """Symbols a statement assigns (x = ..., x := ..., inside a; b)."""
    if isinstance(expr, Expr):
        if expr.has_head("Set") or expr.has_head("SetDelayed"):
            lhs = expr.args[0]
            if isinstance(lhs, Expr) and lhs.has_head("Part"):
                lhs = lhs.args[0]
            # a refused $Context = 1 keeps the old context: later statements still run
            mine = isinstance(lhs, Symbol) and lhs.name not in ("$Context", "$ContextPath")
            return ([lhs] if mine else []) + _assigned(expr.args[1])
        if expr.has_head("CompoundExpression"):
            return [s for a in expr.args for s in _assigned(a)]
    return []


def _mentions(expr: Any, symbols: set[Symbol]) -> bool:
    if not symbols:
        return False
    if isinstance(expr, Symbol):
        return expr in symbols
    if isinstance(expr, Expr):
        return _mentions(expr.head, symbols) or any(_mentions(a, symbols) for a in expr.args)
    return False
