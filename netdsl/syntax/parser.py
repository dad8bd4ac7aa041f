"""Lark set-up and parse-error translation.

One LALR parser with the contextual lexer is built on first use. Every Lark
exception is turned into a ``ParseError`` that says, in words, what was
expected, with line, column and a caret.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..budget import deep_recursion
from ..errors import ParseError, Span
from . import tables
from .newlines import OPENERS, NewlineFilter
from .source import blank_comments, line_text, position
from .transform import ToExpr


def grammar_text() -> str:
    """The grammar: shipped in the wheel as ``netdsl.grammar``, or read from the checkout.
    ``@LETTERS@`` is filled with the named letters of ``characters.py``."""
    try:   # the package's folder (importlib.resources, for zipped installs, costs ~5 ms)
        spec = importlib.util.find_spec("netdsl.grammar")
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        if folders:
            text = (Path(folders[0]) / "wolfram.lark").read_text("utf-8")
        elif spec is None:   # a checkout on sys.path: the grammar is beside the package
            raise ModuleNotFoundError("netdsl.grammar")
        else:
            from importlib import resources
            text = resources.files("netdsl.grammar").joinpath("wolfram.lark").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        here = Path(__file__).resolve().parents[2] / "grammar" / "wolfram.lark"
        text = here.read_text("utf-8")
    return text


_LOCK = threading.Lock()  # the parser, its post-lexer and transformer keep per-parse state


@functools.lru_cache(maxsize=1)
def _parser() -> tuple[Lark, NewlineFilter, ToExpr]:
    # The transformer runs inline, as LALR reduces: no parse tree is built.
    # The tables come precomputed (tables.py) when they match the grammar and Lark.
    postlex, transformer = NewlineFilter(), ToExpr()
    transformer.postlex = postlex
    text = grammar_text()
    lark = tables.load(text, postlex=postlex, transformer=transformer)
    if lark is None:
        lark = build_parser(postlex, transformer)
    return lark, postlex, transformer


def build_parser(postlex: NewlineFilter | None = None, transformer: ToExpr | None = None) -> Lark:
    """The parser built from the grammar (what ``tables.py`` stores precomputed)."""
    return Lark(grammar_text(), parser="lalr", lexer="contextual",
                postlex=postlex or NewlineFilter(), transformer=transformer)


def build_strict_parser() -> Lark:
    """The same grammar with ``strict=True``: fails on any LALR conflict (used by a test)."""
    return Lark(grammar_text(), parser="lalr", lexer="contextual", postlex=NewlineFilter(),
                strict=True)


def prepare(text: str) -> str:
    """Text as the lexer sees it: no UTF-8 byte-order mark, and a ``#!`` first line
    (a ``.wls`` script) blanked out, so that lines and columns stay true."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if text.startswith("#!"):
        end = text.find("\n")
        end = len(text) if end < 0 else end
        text = " " * end + text[end:]
    return text


@deep_recursion()
def parse_statements(text: str, source: str | None = None) -> list[tuple[object, Span | None]]:
    """All top-level expressions in ``text``, each with its span.

    Nesting deeper than ``operators.MAX_NESTING`` (brackets and operators together)
    is a ``ParseError``, found before the parser descends that far."""
    text = prepare(text)
    in_comments: set[int] = set()
    clean = blank_comments(text, source, in_comments)
    lark, postlex, transformer = _parser()
    with _LOCK:
        transformer.reset(source, clean, text)
        postlex.skip = in_comments
        postlex.source, postlex.lines = source, transformer.lines
        try:
            return lark.parse(clean)  # type: ignore[return-value]  # the transformer's list
        except UnexpectedInput as e:
            raise _translate(e, text, clean, source, postlex) from None


# ---------------------------------------------------------------------------
# error messages
_CLOSER_TERMINALS = {"]": "RSQB", "}": "RBRACE", ")": "RPAR", "|>": "RASSOC"}
_OPENER_OF = {"]": "[", "}": "{", ")": "(", "|>": "<|"}
_EXPRESSION_START = {"NUMBER", "SYMBOL", "STRING", "SLOT", "OUT", "LPAR", "LBRACE", "LASSOC",
                     "BLANK", "GET"}
_STATEMENT_END = {"$END", "_NL"}


def _closer(stack: list[tuple[str, int, int]]) -> str:
    """What closes the innermost open bracket: Part's '[[' takes ']]', or one more ']'."""
    top = stack[-1]
    if top[0] == "[[":
        return "]]" if len(stack) > 1 and stack[-2] == top else "]"
    return OPENERS[top[0]]


def _token_words(tok: Token) -> str:
    if tok.type == "$END":
        return "end of input"
    if tok.type == "_NL":
        return "end of line"
    value = tok.value if len(tok.value) <= 20 else tok.value[:17] + "..."
    return f"'{value}'"


def _expected_words(expected: set[str], pattern_of) -> str:
    """'an expression', or the punctuation that could come next, in words."""
    if expected & _EXPRESSION_START:
        return "an expression"
    words = sorted({f"'{pattern_of(name)}'" for name in expected
                    if pattern_of(name) and not name.startswith("__")})
    if not words:
        return "something else"
    return ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1]


def _translate(e: UnexpectedInput, text: str, clean: str, source: str | None,
               postlex: NewlineFilter) -> ParseError:
    lark = _parser()[0]
    literal = {t.name: t.pattern.value for t in lark.terminals if t.pattern.type == "str"}

    def error(message: str, line: int, col: int, width: int = 1,
              incomplete: bool = False) -> ParseError:
        return ParseError(message, span=Span(line, col, line, col + width, source),
                          source_line=line_text(text, line), incomplete=incomplete)

    if isinstance(e, UnexpectedCharacters):
        line, col = e.line, e.column
        at = e.pos_in_stream or 0
        char = clean[at] if at < len(clean) else ""
        if char == '"':  # the STRING terminal matches any closed string
            return error(f"string opened at {line}:{col} is never closed with '\"'",
                         line, col, incomplete=True)
        shown = char if char.isprintable() and not char.isspace() else repr(char)[1:-1]
        return error(f"unexpected character '{shown}'", line, col)

    assert isinstance(e, UnexpectedToken)
    tok = e.token
    expected = set(e.expected or ())
    if tok.type == "$END":
        # point just after the last thing written: that is where more is expected
        end = len(clean.rstrip())
        line, col = position(clean, end) if end else (1, 1)
        stack = postlex.stack
        if stack:
            opener, oline, ocol = stack[-1]
            closer = _closer(stack)
            return error(f"incomplete input: expected '{closer}' to close '{opener}' "
                         f"opened at {oline}:{ocol}", line, col, incomplete=True)
        return error(f"incomplete input: expected {_expected_words(expected, literal.get)}",
                     line, col, incomplete=True)

    line, col, width = tok.line, tok.column, max(len(tok), 1)
    found = _token_words(tok)
    stack = postlex.stack_before(tok)
    if stack and not (tok.type == "_COMMA" and expected & _EXPRESSION_START):
        opener, oline, ocol = stack[-1]
        closer = OPENERS[opener]
        if _CLOSER_TERMINALS[closer] in expected:
            closer = _closer(stack)
            return error(f"unexpected {found}: expected '{closer}' to close '{opener}' "
                         f"opened at {oline}:{ocol}", line, col, width)
    elif tok.value in _OPENER_OF:
        return error(f"unexpected {found}: there is no open '{_OPENER_OF[tok.value]}' "
                     "to close", line, col, width)
    if expected and expected <= _STATEMENT_END | set(postlex.always_accept) | {
            n for n in expected if n.startswith("__")}:
        # a complete top-level expression followed by something that cannot continue it
        hint = ("; commas separate elements only inside [...], {...} or <|...|>"
                if tok.type == "_COMMA" else "")
        return error(f"unexpected {found} after a complete expression{hint}",
                     line, col, width)
    return error(f"unexpected {found}: expected {_expected_words(expected, literal.get)}",
                 line, col, width)
