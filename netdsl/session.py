"""A Session: one symbol table, In/Out history, and the Python face of netdsl."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Iterator, TextIO

from .budget import deep_recursion
from .builtins.signals import BreakSignal, ContinueSignal, ReturnSignal, ThrowSignal
from .errors import EvaluationError, NetDSLError, Span
from .evaluator import Evaluator
from .expr import Expr, Null, Symbol, input_form
from .messages import numeric_messages, write_text
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
                 interactive: bool = False, stderr: TextIO | None = None, files: bool = True):
        self.shape_only = shape_only
        self.files = files
        # what the statement being checked would have done (netdsl check): (text, span)
        self.notes: list[tuple[str, Span | None]] = []
        self.stderr = stderr  # where messages that do not stop evaluation go (default sys.stderr)
        self.messages: list[NetDSLError] = []  # messages that did not stop evaluation
        self._span: Span | None = None          # the statement being evaluated
        self._source: str | None = None
        # warnings about the program (unknown functions): (text, span), in order
        self.warnings: list[tuple[str, Span | None]] = []
        self.show_warnings = True
        self.warning_label = "warning"   # netdsl check --strict reports them as errors
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
        with deep_recursion():
            statements = parse_statements(text, source)
        for expr, span in statements:
            yield self.evaluate_expr(expr, span, source)

    def evaluate_expr(self, expr: Any, span: Span | None = None,
                      source: str | None = None) -> Result:
        n = self.line
        self.line += 1
        self._span, self._source = span, source
        try:
            with deep_recursion(), numeric_messages(self.evaluator.message):
                value = self.evaluator.evaluate(self.evaluator.read(expr))
        except NetDSLError as e:
            raise e.with_span(span).with_source(source) from None
        except MemoryError:
            raise EvaluationError("Not enough memory to evaluate this.", symbol="General",
                                  tag="nomem", span=span).with_source(source) from None
        except ReturnSignal as r:   # Return, Break, Throw that nothing caught
            value = Expr(Symbol("Return"), r.value)
        except BreakSignal:
            value = Expr(Symbol("Break"))
        except ContinueSignal:
            value = Expr(Symbol("Continue"))
        except ThrowSignal as t:
            raise EvaluationError(f"Uncaught Throw[{input_form(t.value)}] returned to top level.",
                                  symbol="Throw", tag="nocatch", span=span).with_source(source) from None
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

    def message(self, err: NetDSLError) -> None:
        """A message that does not stop evaluation: written to stderr with the location of
        the statement, as ``file:line:col: Power::infy: ...``, and kept in ``messages``."""
        err.with_span(self._span).with_source(self._source)
        self.messages.append(err)
        write_text(self.stderr or sys.stderr, err.render() + "\n")

    def warn(self, text: str, span: Span | None = None) -> None:
        """Report a warning as ``FILE:LINE:COL: warning: text`` on stderr."""
        self.warnings.append((text, span))
        if self.show_warnings:
            where = span.where() if span is not None else "<input>"
            write_text(self.stderr or sys.stderr, f"{where}: {self.warning_label}: {text}\n")

    def print(self, text: str) -> None:
        write_text(self.stdout or sys.stdout, text + "\n")

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
    def _symbol(self, name: str) -> Symbol:
        """The symbol a name means in the session's contexts (``fit`` after a package
        that exports it is ``Pkg`fit``)."""
        return self.evaluator.contexts.symbol(name, create=False) or Symbol(name)

    def __getitem__(self, name: str) -> Any:
        sym = self._symbol(name)
        with deep_recursion():
            value = self.evaluator.evaluate(sym)
        if value is sym:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: Any) -> None:
        self.evaluator.assign(self._symbol(name), from_python(value))

    def __contains__(self, name: str) -> bool:
        sym = self._symbol(name)
        return sym in self.evaluator.values or sym in self.evaluator.delayed


def evaluate(text: str) -> Any:
    """Evaluate ``text`` in a fresh Session and return the last value."""
    return Session().evaluate(text)


