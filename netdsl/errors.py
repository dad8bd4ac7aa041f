"""netdsl's exceptions.

Every error a user can cause is one of these, carrying a Wolfram-style message
(``Symbol::tag: text``) and, when it came from text, where: ``file:line:column``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A region of source text; lines and columns count from 1."""

    line: int
    column: int
    end_line: int
    end_column: int
    source: str | None = None  # file name, or None for strings and the REPL

    def where(self) -> str:
        return f"{self.source or '<input>'}:{self.line}:{self.column}"


class NetDSLError(Exception):
    """Base of all netdsl errors.

    ``symbol`` and ``tag`` follow Wolfram's message names (``NetChain::tyinc``);
    ``span`` says where in the text the failing expression was written.
    """

    default_symbol = "General"

    def __init__(self, text: str, *, symbol: str | None = None, tag: str = "error",
                 span: Span | None = None, hint: str | None = None):
        self.text = text
        self.symbol = symbol or self.default_symbol
        self.tag = tag
        self.span = span
        self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """``Symbol::tag: text`` (plus the hint), without the location."""
        msg = f"{self.symbol}::{self.tag}: {self.text}"
        return f"{msg} {self.hint}" if self.hint else msg

    @property
    def line(self) -> int | None:
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        return self.span.column if self.span else None

    def with_span(self, span: Span | None) -> "NetDSLError":
        """Attach a location unless a more precise one is already known."""
        if self.span is None and span is not None:
            self.span = span
        return self

    def with_source(self, source: str | None) -> "NetDSLError":
        if self.span is not None and self.span.source is None and source is not None:
            self.span = Span(self.span.line, self.span.column, self.span.end_line,
                             self.span.end_column, source)
        return self

    def render(self) -> str:
        """The message as the CLI prints it: ``file:line:col: Symbol::tag: text``."""
        return f"{self.span.where()}: {self.message}" if self.span else self.message

    def __str__(self) -> str:
        return self.render()


class ParseError(NetDSLError):
    """Text that is not valid netdsl syntax.

    ``incomplete`` is true when more input could still make it valid (an open
    bracket at the end of the text): the REPL then asks for another line.
    """

    default_symbol = "Syntax"

    def __init__(self, text: str, *, span: Span | None = None, source_line: str = "",
                 incomplete: bool = False, tag: str = "sntx"):
        self.source_line = source_line
        self.incomplete = incomplete
        super().__init__(text, tag=tag, span=span)

    def render(self) -> str:
        head = super().render()
        if not self.source_line or self.span is None:
            return head
        caret = " " * (self.span.column - 1) + "^"
        line = self.source_line.expandtabs(1)
        return f"{head}\n    {line}\n    {caret}"


class EvaluationError(NetDSLError):
    """A function called with arguments it cannot take, or a failed evaluation."""


class ShapeError(NetDSLError):
    """Shape inference found a contradiction, before any array exists."""

    default_symbol = "NetChain"


class InitializationError(NetDSLError):
    """A net cannot be initialised or evaluated because something is unspecified."""

    default_symbol = "NetInitialize"


class NumericalError(NetDSLError):
    """NaN or infinity appeared while evaluating a net."""


class QuitRequest(Exception):
    """Raised by ``Quit[]``; the CLI and REPL exit quietly."""

    def __init__(self, code: int = 0):
        self.code = code
        super().__init__(code)


def wrap_message(text: str, width: int) -> str:
    """``text`` with each line longer than ``width`` broken at spaces (never inside a word;
    a word longer than the line stays whole); continuation lines are indented two spaces.
    Indented lines (source excerpts and their ``^`` markers) are left as they are."""
    import textwrap

    out = []
    limit = max(20, width - 1)
    for line in text.split("\n"):
        if len(line) <= limit or line[:1].isspace():
            out.append(line)
            continue
        out.append(textwrap.fill(line, limit, subsequent_indent="  ", break_long_words=False,
                                 break_on_hyphens=False))
    return "\n".join(out)
