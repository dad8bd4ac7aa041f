"""Grammar rules -> expressions, run inline by the LALR parser (no parse tree).

Brackets, application, Part and atoms come from the LALR rules; each ``expr``
(a flat run of operands and operators) is grouped by ``operators.Climber``.
Spans come from the bracket tokens, which the grammar keeps for this purpose.
"""

from __future__ import annotations

from lark import Token, Transformer

from ..errors import ParseError, Span
from ..expr import Expr, List, Symbol
from .operators import Climber, Located, OperatorError, Paren, unwrap

S = Symbol


def _number(text: str):
    mant, _, exp = text.partition("*^")
    if "." in mant:
        return float(mant + ("e" + exp if exp else ""))
    value = int(mant)
    if exp:
        e = int(exp)
        # no exact rationals in netdsl: 2*^-3 is the Real 0.002
        return value * 10 ** e if e >= 0 else float(f"{mant}e{exp}")
    return value


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def _start(x) -> tuple[int, int] | None:
    if isinstance(x, Token):
        return x.line, x.column
    if isinstance(x, Located):
        return x.token.line, x.token.column
    x = unwrap(x)
    span = getattr(x, "span", None)
    return (span.line, span.column) if span else None


def _end(x) -> tuple[int, int] | None:
    if isinstance(x, Token):
        return x.end_line, x.end_column
    if isinstance(x, Located):
        return x.token.end_line, x.token.end_column
    x = unwrap(x)
    span = getattr(x, "span", None)
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
        if len(children) == 1 and not isinstance(children[0], Token):
            return children[0]
        try:
            result = Climber(children, self._check_assignable).parse()
        except OperatorError as e:
            raise self._operator_error(e, children) from None
        if isinstance(result, Expr) and result.span is None:
            result.span = self._span(children[0], children[-1])
        return result

    def _operator_error(self, e: OperatorError, items) -> ParseError:
        if e.token is not None:
            tok = e.token
            span = Span(tok.line, tok.column, tok.line, tok.column + len(tok), self.source)
            return self._error(e.message, span)
        # the run ended too early: incomplete if nothing but blanks follows it
        last = items[-1]
        end = _end(last) or (1, 1)
        span = Span(end[0], max(end[1] - 1, 1), end[0], end[1], self.source)
        incomplete = isinstance(last, Token) and not self.text[last.end_pos:].strip()
        text = ("incomplete input: " if incomplete else "") + e.message
        return self._error(text, span, incomplete)

    def _check_assignable(self, lhs):
        # Only symbols (and Part, x[[i]] = v) take values: Wolfram's f[x_] := ...
        # definitions need patterns, which netdsl does not have.
        if isinstance(lhs, Symbol):
            return
        if isinstance(lhs, Expr) and lhs.has_head("Part") and isinstance(lhs.args[0], Symbol):
            return
        raise self._error(
            "only a symbol can be assigned to (x = ... or x := ...); definitions such as "
            "f[x_] := ... are not supported, write f = Function[x, ...] instead",
            getattr(lhs, "span", None))

    # ---- application, Part, brackets -------------------------------------------
    def args(self, children):
        return [unwrap(x) for x in children]

    def call(self, c):
        args = c[2] if len(c) == 4 else []
        return Expr(unwrap(c[0]), *args, span=self._span(c[0], c[-1]) or self._span(c[1], c[-1]))

    def part(self, c):
        return Expr(S("Part"), unwrap(c[0]), *c[2],
                    span=self._span(c[0], c[-1]) or self._span(c[1], c[-1]))

    def paren(self, c):
        return Paren(unwrap(c[1]))

    def list(self, c):
        return Expr(List, *(c[1] if len(c) == 3 else []), span=self._span(c[0], c[-1]))

    def association(self, c):
        return Expr(S("Association"), *(c[1] if len(c) == 3 else []),
                    span=self._span(c[0], c[-1]))

    # ---- atoms -------------------------------------------------------------------
    def number(self, c):
        return Located(_number(c[0].value), c[0])

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
