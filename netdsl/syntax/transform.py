"""Grammar rules -> expressions, run inline by the LALR parser (no parse tree).

Brackets, application, Part and atoms come from the LALR rules; each ``expr``
(a flat run of operands and operators) is grouped by ``operators.Climber``.
Spans come from the bracket tokens, which the grammar keeps for this purpose.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from lark import Token, Transformer

import re

from ..errors import ParseError, Span
from ..expr import Expr, List, Symbol, to_atom
from .characters import LETTER_FAMILIES, LETTERS, symbol_text
from .operators import (MAX_NESTING, AmpCall, Climber, Located, OperatorError, Paren,
                        short_run, unwrap)
from .source import position
from .strings import EscapeError, file_name, unescape

S = Symbol


_INT_CHUNK = 3000  # digits converted at once: below Python's int/str digit limit
#: the longest Integer a literal may write (digits, after *^): 2*^100000000 is refused
MAX_INTEGER_DIGITS = 80_000


def decimal_int(digits: str) -> int:
    """``int(digits)`` for any length, without touching Python's global int-str digit
    limit: long texts are split in halves and joined (divide and conquer)."""
    n = len(digits)
    if n <= _INT_CHUNK:
        return int(digits)
    low = n // 2
    return decimal_int(digits[:n - low]) * 10 ** low + decimal_int(digits[n - low:])


class NumberError(ValueError):
    """A number literal netdsl cannot represent; the message says why."""


def _number(text: str) -> Any:
    """A number literal: ``12``, ``1.5``, ``1.5*^-3`` (Real), ``2*^-3`` (exact: 1/500),
    ``16^^FF``."""
    if text.isdigit():
        return int(text) if len(text) <= _INT_CHUNK else _big_int(text)
    mant, _, exp = text.partition("*^")
    mant, mark, _precision = mant.partition("`")
    if "^^" in mant:
        value = _based(mant)
        if mark and isinstance(value, int):
            value = float(value)
        return _scaled(value, int(exp), text) if exp else value
    if "." in mant or mark:
        result = float(mant + ("e" + exp if exp else ""))
        if result in (float("inf"), float("-inf")):
            raise NumberError(f"{text} is too large for a machine Real (at most 1.79*^308)")
        if result == 0 and mant.strip("0.") != "":
            raise NumberError(f"{text} is too small for a machine Real (at least 2.2*^-308)")
        return result
    if exp:
        if len(exp) > 12 or len(mant.lstrip("0")) + abs(int(exp)) > MAX_INTEGER_DIGITS:
            raise NumberError(f"{text} is too large: netdsl's Integers have at most "
                              f"{MAX_INTEGER_DIGITS:,} digits")
        e = int(exp)
        if e < 0:  # exact: 2*^-3 is the Rational 1/500
            return to_atom(Fraction(_big_int(mant), 10 ** -e))
        return _big_int(mant) * 10 ** e
    return _big_int(mant)


def _big_int(digits: str) -> int:
    if len(digits.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise NumberError(f"an Integer of {len(digits):,} digits is too large: netdsl's "
                          f"Integers have at most {MAX_INTEGER_DIGITS:,} digits")
    return decimal_int(digits)


def _based(text: str) -> int | float:
    """``16^^FF`` and ``2^^101.1``: digits in a base from 2 to 36."""
    base_text, _, digits = text.partition("^^")
    base = int(base_text)
    if not 2 <= base <= 36:
        raise NumberError(f"{text}: the base must be from 2 to 36")
    whole, dot, frac = digits.partition(".")
    try:
        value = int(whole or "0", base)
        if not dot:
            return value
        return float(value) + (int(frac, base) / base ** len(frac) if frac else 0.0)
    except ValueError:
        raise NumberError(f"{text}: digits too large for base {base}") from None


def _scaled(value: int | float, e: int, text: str) -> int | float:
    """``16^^FF*^e``: a Real when the digits or the exponent make one (too large: an error,
    as for decimal Reals), else an Integer within netdsl's digit limit."""
    if isinstance(value, float) or e < 0:
        try:
            result = float(value) * 10.0 ** e
        except OverflowError:
            result = float("inf")
        if result in (float("inf"), float("-inf")):
            raise NumberError(f"{text} is too large for a machine Real (at most 1.79*^308)")
        return result
    if len(str(e)) > 12 or e > MAX_INTEGER_DIGITS:
        raise NumberError(f"{text} is too large: netdsl's Integers have at most "
                          f"{MAX_INTEGER_DIGITS:,} digits")
    return value * 10 ** e


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


_BLANKS = {1: Symbol("Blank"), 2: Symbol("BlankSequence"), 3: Symbol("BlankNullSequence")}
_PATTERN, _OPTIONAL, _SLOT = Symbol("Pattern"), Symbol("Optional"), Symbol("Slot")
_SLOT_SEQUENCE, _MESSAGE_NAME, _GET = Symbol("SlotSequence"), Symbol("MessageName"), Symbol("Get")
_PATTERN_TEST = Symbol("PatternTest")
_FAMILY = re.compile(LETTER_FAMILIES + r"\Z")
_NAMED = re.compile(r"\\\[([A-Za-z0-9]+)\]")


def nesting_depth(x, limit: int):
    """(depth, span): the depth of ``x`` if at most ``limit``; else the first place
    found deeper than ``limit`` (with the nearest span) — iteratively, no recursion."""
    stack = [(x, 1, getattr(x, "span", None))]
    best = 0
    while stack:
        node, depth, span = stack.pop()
        if depth > best:
            best = depth
            if depth > limit:
                return depth, span
        if type(node) is Expr:
            span = node.span or span
            d = depth + 1
            head = node.head
            if type(head) is Expr:
                stack.append((head, d, span))
            for arg in node.args:
                if type(arg) is Expr:
                    stack.append((arg, d, span))
    return best, None


class ToExpr(Transformer):
    """Rule callbacks. ``reset`` points it at the text being parsed (for errors).

    It also keeps what bounds the nesting of the statement being built (the longest
    operator run, the chained calls); with the bracket depth the newline filter
    keeps, ``statement`` knows when an exact depth check is needed.
    """

    source: str | None = None
    text: str = ""
    lines: list[str] = []
    postlex: Any = None  # the NewlineFilter, for the bracket depth

    def reset(self, source: str | None, clean: str, original: str) -> None:
        self.source = source
        self.text = clean                   # comments blanked: what was parsed
        self.lines = original.split("\n")   # for the source line under a caret
        self.longest_run = 0
        self.chained = 0
        self.chain_depth: dict[int, int] = {}  # id of a call whose head is a call -> depth

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
        return self.lines[span.line - 1].rstrip("\r") if 0 < span.line <= len(self.lines) else ""

    def _error(self, text: str, span: Span | None, incomplete: bool = False) -> ParseError:
        return ParseError(text, span=span, source_line=self._line(span), incomplete=incomplete)

    def _token_error(self, text: str, tok: Token, offset: int = 0) -> ParseError:
        """An error at ``offset`` characters into ``tok``."""
        value = tok.value
        newlines = value.count("\n", 0, offset)
        line = (tok.line or 1) + newlines
        if newlines:
            column = offset - value.rfind("\n", 0, offset)
        else:
            column = (tok.column or 1) + offset
        return self._error(text, Span(line, column, line, column + 1, self.source))

    # ---- top level ------------------------------------------------------------
    def start(self, children):
        return children

    def statement(self, children):
        item = children[0]
        value = unwrap(item)
        span = self._span(item, item)
        postlex = self.postlex
        brackets = postlex.deepest if postlex is not None else 0
        bound = (brackets + 1) * (self.longest_run + 1) + self.chained + 4
        if bound > MAX_NESTING and type(value) is Expr:
            depth, where = nesting_depth(value, MAX_NESTING)
            if depth > MAX_NESTING:
                where = where or span
                raise self._error(f"expression nested more than {MAX_NESTING} deep (netdsl's "
                                  "limit); split it into smaller definitions",
                                  Span(where.line, where.column, where.line, where.column + 1,
                                       self.source) if where else None)
        self.longest_run = self.chained = 0
        self.chain_depth.clear()
        if postlex is not None:
            postlex.deepest = 0
        return value, span

    def expr(self, children):
        # a run: operands and operator tokens (a lone operand never comes here)
        if len(children) > self.longest_run:
            self.longest_run = len(children)
        result = short_run(children)
        if result is None:
            depth = len(self.postlex.stack) if self.postlex is not None else 0
            try:
                result = Climber(children, depth).parse()
            except OperatorError as e:
                raise self._operator_error(e, children) from None
        if type(result) is Expr and result.span is None:
            result.span = self._span(children[0], children[-1])
        return result

    def _operator_error(self, e: OperatorError, items) -> ParseError:
        if e.token is not None:
            tok = e.token
            row, col = tok.line or 1, tok.column or 1
            return self._error(e.message, Span(row, col, row, col + len(tok), self.source))
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

    # ---- application, Part, brackets -------------------------------------------
    def function_call(self, c):
        """``body &[a][b]``: the ``&`` token, carrying the argument lists that follow it."""
        first, close = c[0], c[-1]
        args = c[2] if len(c) == 4 else []
        if isinstance(first, AmpCall):
            tok = first
            if len(tok.calls) >= MAX_NESTING:
                raise self._too_deep(close)
            tok.calls.append(args)
        else:
            tok = AmpCall.new_borrow_pos("AMP", "&", first)
            tok.calls = [args]
        self.chained += 1
        tok.end_line, tok.end_column = close.end_line, close.end_column
        tok.end_pos = close.end_pos
        return tok

    def args(self, children):
        return [x.expr if type(x) is Located else unwrap(x) for x in children]

    def _chain(self, inner: Expr, outer: Expr, tok: Token) -> None:
        """``f[a][b]...``, ``x[[1]][[2]]...``: calls on calls nest without brackets
        nesting, so their depth is counted here and refused past the limit."""
        self.chained += 1
        depth = self.chain_depth.get(id(inner), 1) + 1
        if depth > 1:
            if depth > MAX_NESTING:
                raise self._too_deep(tok)
            self.chain_depth[id(outer)] = depth

    def _too_deep(self, tok: Token) -> ParseError:
        return self._token_error(f"expression nested more than {MAX_NESTING} deep (netdsl's "
                                 "limit); split it into smaller definitions", tok)

    def call(self, c):
        head = unwrap(c[0])
        args = c[2] if len(c) == 4 else []
        result = Expr(head, *args, span=self._span(c[0], c[-1]) or self._span(c[1], c[-1]))
        if type(head) is Expr:
            self._chain(head, result, c[1])
        return result

    def part(self, c):
        first = unwrap(c[0])
        result = Expr(S("Part"), first, *c[2],
                      span=self._span(c[0], c[-1]) or self._span(c[1], c[-1]))
        if type(first) is Expr:
            self._chain(first, result, c[1])
        return result

    def message_name(self, c):
        """``f::tag``: MessageName[f, "tag"]; ``f::a::b`` is MessageName[f, "a", "b"]."""
        left, tok = c
        text = tok.value[2:].strip()
        tag = self._string_value(text, tok, 2 + tok.value[2:].index(text[0])) \
            if text.startswith('"') else text
        span = self._span(left, tok)
        if type(left) is Expr and left.head is _MESSAGE_NAME:  # not parenthesised
            if len(left.args) >= 3:
                raise self._token_error("a message name has at most three parts: "
                                        "symbol::tag::language", tok)
            return Expr(_MESSAGE_NAME, *left.args, tag, span=span)
        return Expr(_MESSAGE_NAME, unwrap(left), tag, span=span)

    def pattern_test(self, c):
        """``p ? test``: PatternTest[p, test]; the test is an atom, so ``p?test[x]`` is
        ``(p?test)[x]`` (the call applies to the whole), as Wolfram reads it."""
        left, tok, test = c
        inner = unwrap(left)
        result = Expr(_PATTERN_TEST, inner, unwrap(test), span=self._span(left, test))
        if type(inner) is Expr:
            self._chain(inner, result, tok)     # a?b?c?...: deep without brackets
        return result

    def paren(self, c):
        inner = c[1]
        if type(inner) is Paren and type(inner.expr) is Located:
            inner = inner.expr  # ((2)): still a written number, for -((2))
        elif type(inner) is not Located:
            inner = unwrap(inner)
        return Paren(inner, c[0], c[2])

    def list(self, c):
        return Expr(List, *(c[1] if len(c) == 3 else []), span=self._span(c[0], c[-1]))

    def association(self, c):
        return Expr(S("Association"), *(c[1] if len(c) == 3 else []),
                    span=self._span(c[0], c[-1]))

    # ---- atoms -------------------------------------------------------------------
    def number(self, c):
        tok = c[0]
        try:
            return Located(_number(tok.value), tok)
        except NumberError as e:
            raise self._token_error(str(e), tok) from None

    def string(self, c):
        tok = c[0]
        return Located(self._string_value(tok.value, tok, 0), tok)

    def _string_value(self, quoted: str, tok: Token, offset: int) -> str:
        """The value of the string literal ``quoted``, written at ``offset`` in ``tok``."""
        try:
            return unescape(quoted[1:-1])
        except EscapeError as e:
            raise self._token_error(str(e), tok, offset + 1 + e.offset) from None

    def symbol(self, c):
        tok = c[0]
        text = tok.value
        if text.isalnum() and text.isascii():  # the common case: letters and digits
            return Located(S(text), tok)
        if "_" in text:
            return Located(self._pattern(text, tok), tok)
        if "\\[" in text or not text.isascii():
            return Located(S(self._symbol_name(text, tok)), tok)
        return Located(S(text), tok)

    def _symbol_name(self, text: str, tok: Token) -> str:
        if text in ("\u221e", "\\[Infinity]"):
            return "Infinity"
        for m in _NAMED.finditer(text):
            name = m.group(1)
            if name not in LETTERS and not _FAMILY.match(name):
                raise self._token_error(f"'\\[{name}]' is not a letter that can be part of a "
                                        "symbol name", tok, m.start())
        return symbol_text(text)

    def blank(self, c):
        tok = c[0]
        return Located(self._pattern(tok.value, tok), tok)

    def _pattern(self, text: str, tok: Token):
        """``x_h``, ``_``, ``x__``, ``x___h``, ``x_.``: Pattern, Blank, BlankSequence,
        BlankNullSequence, Optional."""
        i = text.index("_")
        name, rest = text[:i], text[i:]
        if rest == "_.":
            blank = Expr(_BLANKS[1])
        else:
            n = len(rest) - len(rest.lstrip("_"))
            head = rest[n:]
            blank = Expr(_BLANKS[n], S(head)) if head else Expr(_BLANKS[n])
        span = self._span(tok, tok)
        if name:
            blank = Expr(_PATTERN, S(self._symbol_name(name, tok)
                                     if "\\[" in name or not name.isascii() else name), blank)
        if rest == "_.":
            blank = Expr(_OPTIONAL, blank)
        blank.span = span
        return blank

    def slot(self, c):
        tok = c[0]
        text = tok.value
        span = self._span(tok, tok)
        if text.startswith("##"):
            return Expr(_SLOT_SEQUENCE, int(text[2:]) if len(text) > 2 else 1, span=span)
        rest = text[1:]
        if not rest:
            return Expr(_SLOT, 1, span=span)
        if rest.isdigit():
            return Expr(_SLOT, int(rest), span=span)
        if rest.startswith('"'):
            return Expr(_SLOT, self._string_value(rest, tok, 1), span=span)
        return Expr(_SLOT, rest, span=span)

    def get(self, c):
        """``<< file``: Get["file"]; the file name is taken as written (or quoted)."""
        tok = c[0]
        try:
            name = file_name(tok.value[2:])
        except EscapeError as e:
            raise self._token_error(str(e), tok) from None
        return Located(Expr(_GET, name, span=self._span(tok, tok)), tok)

    def out(self, c):
        text = c[0].value[1:]
        span = self._span(c[0], c[0])
        if not text:
            return Expr(S("Out"), span=span)
        if text.isdigit():
            return Expr(S("Out"), int(text), span=span)
        return Expr(S("Out"), -(len(text) + 1), span=span)
