"""Grammar rules -> expressions, run inline by the LALR parser (no parse tree).

Brackets, application, Part and atoms come from the LALR rules; each ``expr``
(a flat run of operands and operators) is grouped by ``operators.Climber``.
Spans come from the bracket tokens, which the grammar keeps for this purpose.
"""

from __future__ import annotations

from fractions import Fraction

from lark import Token, Transformer

from ..errors import ParseError, Span
from ..expr import Expr, List, Symbol, to_atom
from .operators import AmpCall, Climber, Located, OperatorError, Paren, short_run, unwrap
from .source import position

S = Symbol


# an exact number written with more digits than this is refused (its value would take
# minutes to build and print): about 2^(2^18)
MAX_DIGITS = 80_000


class NumberTooLarge(ValueError):
    pass


def _digits(text: str) -> int:
    """The integer ``text``; Python's 4300-digit limit on ``int(str)`` is lifted here only."""
    if len(text) <= 4000:
        return int(text)
    half = len(text) // 2
    return _digits(text[:half]) * 10 ** (len(text) - half) + _digits(text[half:])


def _number(text: str):
    """A number literal: ``12``, ``1.5``, ``1.5*^-3`` (Real), ``2*^-3`` (exact: 1/500)."""
    if text.isdigit():
        if len(text) > MAX_DIGITS:
            raise NumberTooLarge(f"{len(text)} digits")
        return _digits(text)
    mant, _, exp = text.partition("*^")
    if "." in mant:
        value = float(mant + ("e" + exp if exp else ""))
        if value == float("inf"):
            raise NumberTooLarge("beyond the largest machine Real, about 1.8*^308")
        return value
    if len(mant) > MAX_DIGITS:
        raise NumberTooLarge(f"{len(mant)} digits")
    value = _digits(mant)
    if exp:
        if len(exp) > 12 or len(mant) + abs(int(exp)) > MAX_DIGITS:
            raise NumberTooLarge(f"10^{exp}")
        e = int(exp)
        if e >= 0:
            return value * 10 ** e
        return to_atom(Fraction(value, 10 ** -e))
    return value


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def _start(x) -> tuple[int, int] | None:
    kind = type(x)
    if kind is Located:
        return x.token.line, x.token.column
    if kind is Token or isinstance(x, Token):
        return x.line, x.column
    if kind is Paren:
        return x.open.line, x.open.column
    span = getattr(unwrap(x), "span", None)
    return (span.line, span.column) if span else None


def _end(x) -> tuple[int, int] | None:
    kind = type(x)
    if kind is Located:
        return x.token.end_line, x.token.end_column
    if kind is Token or isinstance(x, Token):
        return x.end_line, x.end_column
    if kind is Paren:
        return x.close.end_line, x.close.end_column
    span = getattr(unwrap(x), "span", None)
    return (span.end_line, span.end_column) if span else None


class ToExpr(Transformer):
    """Rule callbacks. ``reset`` points it at the text being parsed (for errors)."""

    source: str | None = None
    text: str = ""
    lines: list[str] = []

    def reset(self, source: str | None, clean: str, original: str) -> None:
        self.source = source
        self.text = clean                   # comments blanked: what was parsed
        self.lines = original.split("\n")   # for the source line under a caret

    # ---- helpers ------------------------------------------------------------
    def _span(self, first, last) -> Span | None:
        a, b = _start(first), _end(last)
        if a is None:
            return None
        b = b or a
        return Span(a[0], a[1], b[0], b[1], self.source)

    def _line(self, span: Span | None) -> str:
        if span is None:
            return ""
        return self.lines[span.line - 1] if 0 < span.line <= len(self.lines) else ""

    def _error(self, text: str, span: Span | None, incomplete: bool = False) -> ParseError:
        return ParseError(text, span=span, source_line=self._line(span), incomplete=incomplete)

    # ---- top level ------------------------------------------------------------
    def start(self, children):
        return children

    def statement(self, children):
        item = children[0]
        return unwrap(item), self._span(item, item)

    def expr(self, children):
        # a run: operands and operator tokens (a lone operand never comes here)
        result = short_run(children)
        if result is None:
            try:
                result = Climber(children, self._check_assignable).parse()
            except OperatorError as e:
                raise self._operator_error(e, children) from None
        if type(result) is Expr and result.span is None:
            result.span = self._span(children[0], children[-1])
        return result

    def _operator_error(self, e: OperatorError, items) -> ParseError:
        if e.token is not None:
            tok = e.token
            span = Span(tok.line, tok.column, tok.line, tok.column + len(tok), self.source)
            return self._error(e.message, span)
        # The run ended too early. Nothing but blanks after it: incomplete input,
        # pointed at just after the last character; otherwise say what came instead.
        last = items[-1]
        end_pos = last.end_pos if isinstance(last, Token) else None
        rest = self.text[end_pos:] if end_pos is not None else ""
        if end_pos is not None and not rest.strip():
            line, col = position(self.text, len(self.text.rstrip()))
            return self._error("incomplete input: " + e.message,
                               Span(line, col, line, col + 1, self.source), incomplete=True)
        if end_pos is not None:
            at = end_pos + len(rest) - len(rest.lstrip())
            line, col = position(self.text, at)
            nxt = self.text[at:at + 2] if self.text[at:at + 2] == "|>" else self.text[at]
            return self._error(f"unexpected '{nxt}': {e.message}",
                               Span(line, col, line, col + len(nxt), self.source))
        end = _end(last) or (1, 1)
        return self._error(e.message, Span(end[0], end[1], end[0], end[1] + 1, self.source))

    def _check_assignable(self, lhs, first, tok: Token) -> None:
        # Only symbols (and Part, x[[i]] = v) take values: Wolfram's f[x_] := ...
        # definitions need patterns, which netdsl does not have.
        value = unwrap(lhs)
        if isinstance(value, Symbol):
            return
        if isinstance(value, Expr) and value.has_head("Part") \
                and isinstance(value.args[0], Symbol):
            return
        start = _start(first) or (tok.line, tok.column)
        span = Span(start[0], start[1], tok.line, tok.column, self.source)
        raise self._error(
            f"cannot assign to {self._written(first, tok)}: only symbols (x = ...) and parts "
            "(x[[i]] = ...) take values; definitions with patterns such as f[x_] := ... are "
            "not supported: write f = Function[x, ...] instead", span)

    def _written(self, lhs, tok: Token) -> str:
        """The text of the left-hand side of an assignment, shortened."""
        start = _start(lhs)
        if start is None:
            return "this"
        lines = self.text.split("\n")
        if start[0] == tok.line:
            written = lines[start[0] - 1][start[1] - 1:tok.column - 1].strip()
        else:
            written = lines[start[0] - 1][start[1] - 1:].strip() + " ..."
        return f"'{written}'" if len(written) <= 30 else f"'{written[:27]}...'"

    # ---- application, Part, brackets -------------------------------------------
    def function_call(self, c):
        """``body &[a][b]``: the ``&`` token, carrying the argument lists that follow it."""
        tok = AmpCall.new_borrow_pos("AMP", "&", c[0])
        calls, current = [], None
        for item in c[1:]:
            if isinstance(item, Token):
                if item.type == "LSQB":
                    current = []
                else:  # RSQB
                    calls.append(current)
                    end = item
            else:
                current = item
        tok.calls = calls
        tok.end_line, tok.end_column, tok.end_pos = end.end_line, end.end_column, end.end_pos
        return tok

    def args(self, children):
        return [x.expr if type(x) is Located else unwrap(x) for x in children]

    def call(self, c):
        args = c[2] if len(c) == 4 else []
        return Expr(unwrap(c[0]), *args, span=self._span(c[0], c[-1]) or self._span(c[1], c[-1]))

    def part(self, c):
        return Expr(S("Part"), unwrap(c[0]), *c[2],
                    span=self._span(c[0], c[-1]) or self._span(c[1], c[-1]))

    def paren(self, c):
        return Paren(unwrap(c[1]), c[0], c[2])

    def list(self, c):
        return Expr(List, *(c[1] if len(c) == 3 else []), span=self._span(c[0], c[-1]))

    def association(self, c):
        return Expr(S("Association"), *(c[1] if len(c) == 3 else []),
                    span=self._span(c[0], c[-1]))

    # ---- atoms -------------------------------------------------------------------
    def number(self, c):
        try:
            return Located(_number(c[0].value), c[0])
        except NumberTooLarge as e:
            raise self._error(f"The number {c[0].value[:20]}... ({e}) is too large: netdsl "
                              f"takes exact numbers of up to {MAX_DIGITS} digits and Reals up "
                              f"to about 1.8*^308.",
                              self._span(c[0], c[0])) from None

    def string(self, c):
        return Located(self._string(c[0]), c[0])

    def _string(self, tok):
        body = tok.value[1:-1]
        if "\\" not in body:
            return body
        out, i = [], 0
        while i < len(body):
            ch = body[i]
            if ch == "\\":
                nxt = body[i + 1]
                if nxt not in _ESCAPES:
                    span = Span(tok.line, tok.column, tok.line, tok.column + 1, self.source)
                    raise self._error(f"unknown escape '\\{nxt}' in a string; use \\\", \\\\, "
                                      "\\n, \\t or \\r", span)
                out.append(_ESCAPES[nxt])
                i += 2
            else:
                out.append(ch)
                i += 1
        return "".join(out)

    def symbol(self, c):
        return Located(S(c[0].value), c[0])

    def slot(self, c):
        digits = c[0].value[1:]
        return Expr(S("Slot"), int(digits) if digits else 1, span=self._span(c[0], c[0]))

    def out(self, c):
        text = c[0].value[1:]
        span = self._span(c[0], c[0])
        if not text:
            return Expr(S("Out"), span=span)
        if text.isdigit():
            return Expr(S("Out"), int(text), span=span)
        return Expr(S("Out"), -(len(text) + 1), span=span)
