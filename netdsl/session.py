"""A Session: one symbol table, In/Out history, and the Python face of netdsl."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Iterator, TextIO

from .budget import deep_recursion
from .errors import NetDSLError, Span
from .evaluator import Evaluator
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
    but no array is ever allocated.
    """

    base_dir: str | None = None  # folder that relative file names (Import) resolve against

    def __init__(self, *, shape_only: bool = False, stdout: TextIO | None = None,
                 interactive: bool = False):
        self.shape_only = shape_only
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
        try:
            with deep_recursion():
                value = self.evaluator.evaluate(expr)
        except NetDSLError as e:
            raise e.with_span(span).with_source(source) from None
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
        stream = self.stdout or sys.stdout
        stream.write(text + "\n")
        stream.flush()

    # ---------------------------------------------------------------- Python
    def __getitem__(self, name: str) -> Any:
        sym = Symbol(name)
        with deep_recursion():
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


