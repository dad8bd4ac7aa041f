"""Lark set-up and parse-error translation.

One LALR parser with the contextual lexer is built on first use. Every Lark
exception is turned into a ``ParseError`` that says, in words, what was
expected, with line, column and a caret.
"""

from __future__ import annotations

import functools
import threading
from importlib import resources
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..errors import ParseError, Span
from .newlines import OPENERS, NewlineFilter
from .source import blank_comments, line_text, position
from .transform import ToExpr


def grammar_text() -> str:
    """The grammar: shipped in the wheel as ``netdsl.grammar``, or read from the checkout."""
    try:
        return resources.files("netdsl.grammar").joinpath("wolfram.lark").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        here = Path(__file__).resolve().parents[2] / "grammar" / "wolfram.lark"
        return here.read_text("utf-8")


_LOCK = threading.Lock()  # the parser, its post-lexer and transformer keep per-parse state


@functools.lru_cache(maxsize=1)
def _parser() -> tuple[Lark, NewlineFilter, ToExpr]:
    # The transformer runs inline, as LALR reduces: no parse tree is built.
    postlex, transformer = NewlineFilter(), ToExpr()
    lark = Lark(grammar_text(), parser="lalr", lexer="contextual", postlex=postlex,
                transformer=transformer)
    return lark, postlex, transformer


def build_strict_parser() -> Lark:
    """The same grammar with ``strict=True``: fails on any LALR conflict (used by a test)."""
    return Lark(grammar_text(), parser="lalr", lexer="contextual", postlex=NewlineFilter(),
                strict=True)


def parse_statements(text: str, source: str | None = None) -> list[tuple[object, Span | None]]:
    """All top-level expressions in ``text``, each with its span."""
    clean = blank_comments(text, source)
    lark, postlex, transformer = _parser()
    with _LOCK:
        transformer.reset(source, clean, text)
        try:
            return lark.parse(clean)
        except UnexpectedInput as e:
            raise _translate(e, text, source, postlex) from None


# ---------------------------------------------------------------------------
# error messages
_WORDS = {
    "RSQB": "']'", "RBRACE": "'}'", "RPAR": "')'", "COMMA": "','", "SEMI": "';'",
    "LSQB": "'['", "LBRACE": "'{'", "LPAR": "'('", "EQUAL": "'=='", "PLUS": "'+'",
    "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'", "$END": "end of input",
    "_NL": "end of line", "RASSOC": "'|>'", "LASSOC": "'<|'", "LPART": "'[['",
}
_EXPRESSION_START = {"NUMBER", "SYMBOL", "STRING", "SLOT", "OUT", "LPAR", "LBRACE"}
_CLOSER_TERMINALS = {"]": "RSQB", "}": "RBRACE", ")": "RPAR"}


def _token_words(tok: Token) -> str:
    if tok.type == "$END":
        return "end of input"
    if tok.type == "_NL":
        return "end of line"
    value = tok.value if len(tok.value) <= 20 else tok.value[:17] + "..."
    return f"'{value}'"


def _expected_words(expected: set[str], pattern_of) -> str:
    if expected & _EXPRESSION_START:
        return "an expression"
    words = []
    for name in sorted(expected):
        if name in _WORDS:
            words.append(_WORDS[name])
        else:
            pat = pattern_of(name)
            words.append(f"'{pat}'" if pat else name.lower())
    if not words:
        return "something else"
    return ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1]


def _translate(e: UnexpectedInput, text: str, source: str | None,
               postlex: NewlineFilter) -> ParseError:
    lark = _parser()[0]

    def pattern_of(name: str) -> str | None:
        for term in lark.terminals:
            if term.name == name and term.pattern.type == "str":
                return term.pattern.value
        return None

    def span_at(line: int, col: int, width: int = 1) -> Span:
        return Span(line, col, line, col + width, source)

    if isinstance(e, UnexpectedCharacters):
        line, col = e.line, e.column
        char = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        src = line_text(text, line)
        if char == '"':
            return ParseError(f"string opened at {line}:{col} is never closed with '\"'",
                              span=span_at(line, col), source_line=src, incomplete=True)
        if char == "_":
            return ParseError("patterns such as x_ are not supported; "
                              "write a pure function instead, e.g. f = Function[x, x + 1]",
                              span=span_at(line, col), source_line=src)
        return ParseError(f"unexpected character '{char}'", span=span_at(line, col),
                          source_line=src)

    assert isinstance(e, UnexpectedToken)
    tok = e.token
    stack = postlex.before if tok.type != "$END" else postlex.stack
    if tok.type == "$END":
        line, col = position(text, len(text.rstrip()))
        line, col = (line, col) if text.strip() else (1, 1)
    else:
        line, col = tok.line, tok.column
    src = line_text(text, line)
    expected = set(e.expected or ())
    incomplete = tok.type == "$END"
    found = _token_words(tok)

    if stack:
        opener, oline, ocol = stack[-1]
        closer = OPENERS[opener]
        closer_name = _CLOSER_TERMINALS.get(closer)
        if closer_name in expected or closer == "|>":
            what = "expected ']]'" if opener == "[[" else f"expected '{closer}'"
            text_ = f"{what} to close '{opener}' opened at {oline}:{ocol}"
            if tok.type == "$END":
                return ParseError(f"incomplete input: {text_}", span=span_at(line, col),
                                  source_line=src, incomplete=True)
            return ParseError(f"unexpected {found}: {text_}", span=span_at(line, col, len(tok)),
                              source_line=src)
    if tok.value in ("]", "}", ")", "|>") and not stack:
        opener = {"]": "[", "}": "{", ")": "(", "|>": "<|"}[tok.value]
        return ParseError(f"unexpected {found}: there is no open '{opener}' to close",
                          span=span_at(line, col, len(tok)), source_line=src)
    want = _expected_words(expected, pattern_of)
    if incomplete:
        return ParseError(f"incomplete input: expected {want}", span=span_at(line, col),
                          source_line=src, incomplete=True)
    return ParseError(f"unexpected {found}: expected {want}", span=span_at(line, col, len(tok)),
                      source_line=src)
