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

    def contains(self, other: "Span") -> bool:
        """Whether ``other`` lies within this span (in the same text)."""
        if self.source != other.source and None not in (self.source, other.source):
            return False
        return (self.line, self.column) <= (other.line, other.column) and \
            (other.end_line, other.end_column) <= (self.end_line, self.end_column)

    def in_source(self, source: str | None) -> "Span":
        if self.source is not None or source is None:
            return self
        return Span(self.line, self.column, self.end_line, self.end_column, source)


class NetDSLError(Exception):
    """Base of all netdsl errors.

    ``symbol`` and ``tag`` follow Wolfram's message names (``NetChain::tyinc``);
    ``span`` says where in the text the failing expression was written; ``notes``
    are further places worth showing, each with what is there. ``origin`` names what
    ``span`` points at when it is not the failing expression itself (the layer, written
    lines earlier, that a NetInitialize fails on): ``with_span`` then moves the error to
    the failing expression and keeps the layer's position as a note.
    """

    default_symbol = "General"

    def __init__(self, text: str, *, symbol: str | None = None, tag: str = "error",
                 span: Span | None = None, hint: str | None = None,
                 origin: str | None = None):
        self.text = text
        self.symbol = symbol or self.default_symbol
        self.tag = tag
        self.span = span
        self.hint = hint
        self.origin = origin
        self.notes: list[tuple[Span, str]] = []
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
        """Attach the location of the expression that failed.

        A location already known is more precise and is kept, unless it is that of an
        object (``origin``: a layer) written outside ``span``: that is not where this
        statement failed, so the error moves to ``span`` and that place becomes a note.
        """
        if span is None:
            return self
        if self.span is None:
            self.span = span
        elif self.origin is not None and not span.contains(self.span):
            self.notes.insert(0, (self.span, f"{self.origin} is written here"))
            self.span = span
            self.origin = None   # from now on it points at what failed
        return self

    def with_source(self, source: str | None) -> "NetDSLError":
        if self.span is not None:
            self.span = self.span.in_source(source)
        self.notes = [(s.in_source(source), text) for s, text in self.notes]
        return self

    def note_lines(self) -> list[str]:
        """``file:line:col: note: text`` for each note."""
        return [f"{s.where()}: note: {text}" for s, text in self.notes]

    def render(self) -> str:
        """The message as the CLI prints it: ``file:line:col: Symbol::tag: text``, then
        its notes, one a line."""
        head = f"{self.span.where()}: {self.message}" if self.span else self.message
        return "\n".join([head] + self.note_lines())

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
        head = NetDSLError.render(self)
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
