"""A Session: one symbol table, In/Out history, and the Python face of netdsl."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Iterator, TextIO

from .errors import EvaluationError, NetDSLError, Span
from .evaluator import Evaluator
from .messages import numeric_messages, write_text
from .expr import Expr, Null, Symbol
from .convert import from_python
from .syntax import parse_statements


@dataclass
class Result:
    """One evaluated top-level expression: its In/Out number, value, and whether to show it."""

    line: int
    value: Any
    span: Span | None

    @property
    def shown(self) -> bool:
        return self.value is not Null


class Session:
    """Keeps state between evaluations, like one Wolfram kernel session.

    >>> s = Session()
    >>> s.evaluate("x = 2; x^10")
    1024

    ``shape_only`` is the mode of ``netdsl check``: nets are built and checked
    but no array is ever allocated, and no file is written.

    ``files=False`` turns file access off, for text you have not read (untrusted
    files): Import, Export and every other built-in that reads or writes a file
    asks ``require_files`` first and fails with a message.
    """

    base_dir: str | None = None  # folder that relative file names (Import) resolve against

    def __init__(self, *, shape_only: bool = False, stdout: TextIO | None = None,
                 stderr: TextIO | None = None, interactive: bool = False, files: bool = True):
        self.shape_only = shape_only
        self.files = files
        self.stderr = stderr        # where messages (warnings) go; None: sys.stderr
        # what the statement being checked would have done (netdsl check): (text, span)
        self.notes: list[tuple[str, Span | None]] = []
        # a person at the command line or REPL: Ctrl-C during NetTrain stops training and
        # keeps the net trained so far (a library caller gets KeyboardInterrupt)
        self.interactive = interactive
        self.stdout = stdout
        self.evaluator = Evaluator(self)
        self.line = 1              # the n of the next In[n]
        self.outputs: dict[int, Any] = {}

    # ---------------------------------------------------------------- text
    def evaluate(self, text: str, source: str | None = None) -> Any:
        """Evaluate every top-level expression in ``text``; return the last value."""
        value: Any = Null
        for result in self.run(text, source):
            value = result.value
        return value

    def run(self, text: str, source: str | None = None) -> Iterator[Result]:
        """Parse all of ``text`` first (so syntax errors stop before any evaluation),
        then evaluate its expressions one by one, yielding each result."""
        statements = parse_statements(text, source)
        for expr, span in statements:
            yield self.evaluate_expr(expr, span, source)

    def evaluate_expr(self, expr: Any, span: Span | None = None,
                      source: str | None = None) -> Result:
        n = self.line
        self.line += 1
        try:
            with numeric_messages(self.message, span, source):
                value = self.evaluator.evaluate(expr)
        except NetDSLError as e:
            raise e.with_span(span).with_source(source)
        except MemoryError:
            raise EvaluationError("Not enough memory to evaluate this.", symbol="General",
                                  tag="nomem", span=span).with_source(source) from None
        if value is not Null:
            self.outputs[n] = value
        return Result(n, value, span)

    # ---------------------------------------------------------------- Out
    def out(self, k: int | None = None) -> Any:
        """``%`` (k None), ``%%`` (k = -2), ``%n`` (k = n)."""
        if k is None:
            k = -1
        if k < 0:
            lines = sorted(self.outputs)
            if len(lines) < -k:
                return Expr(Symbol("Out"), k)
            return self.outputs[lines[k]]
        return self.outputs.get(k, Expr(Symbol("Out"), k))

    def print(self, text: str) -> None:
        write_text(self.stdout or sys.stdout, text + "\n")

    def message(self, text: str) -> None:
        """A message that does not stop evaluation (``Power::infy: ...``), as Wolfram prints."""
        write_text(self.stderr or sys.stderr, text + "\n")

    # ---------------------------------------------------------------- side effects
    def require_files(self, fn: str) -> None:
        """The file gate: every built-in that reads or writes files calls this first."""
        if not self.files:
            raise EvaluationError(f"File access is turned off in this session (netdsl "
                                  f"--no-files, Session(files=False)), so {fn} cannot read or "
                                  f"write files.", symbol=fn, tag="nofiles")

    def note(self, text: str, span: Span | None = None) -> None:
        """Record what a statement would have done (netdsl check prints these as notes)."""
        self.notes.append((text, span))

    # ---------------------------------------------------------------- Python
    def __getitem__(self, name: str) -> Any:
        sym = Symbol(name)
        value = self.evaluator.evaluate(sym)
        if value is sym:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: Any) -> None:
        self.evaluator.assign(Symbol(name), from_python(value))

    def __contains__(self, name: str) -> bool:
        sym = Symbol(name)
        return sym in self.evaluator.values or sym in self.evaluator.delayed


def evaluate(text: str) -> Any:
    """Evaluate ``text`` in a fresh Session and return the last value."""
    return Session().evaluate(text)


