"""The post-lexer that decides which newlines end a top-level expression.

A newline ends an expression only at bracket depth 0 and after a token that
can end one (a symbol, a number, a closing bracket, ``&``, ``;``...). After an
operator, inside any bracket or inside a comment it is whitespace. The bracket stack it keeps
also lets parse errors say "expected ']' to close '[' opened at 3:14".
"""

from __future__ import annotations

from typing import Iterator

from lark import Token

from ..errors import ParseError, Span
from .operators import MAX_NESTING

OPENERS = {"[": "]", "[[": "]", "{": "}", "(": ")", "<|": "|>"}
CLOSERS = {"]", "}", ")", "|>"}
ENDS_EXPRESSION = {"NUMBER", "STRING", "SYMBOL", "BLANK", "SLOT", "OUT", "GET", "MESSAGENAME"}
ENDING_PUNCTUATION = {"]", "}", ")", "|>", "&", ";", ";;"}

# token type -> what it does to the bracket stack and whether a newline may end
# the expression after it. Operators are absent: (no bracket, cannot end).
# _POSTFIX_IF: postfix after an operand (n!, i++: may end), prefix otherwise (!a, ++i).
_OPEN, _CLOSE, _ENDS, _POSTFIX_IF = 1, 2, 3, 4
_ACTION = {"LSQB": _OPEN, "LPART": _OPEN, "LBRACE": _OPEN, "LPAR": _OPEN, "LASSOC": _OPEN,
           "RSQB": _CLOSE, "RBRACE": _CLOSE, "RPAR": _CLOSE, "RASSOC": _CLOSE,
           "AMP": _ENDS, "SEMI": _ENDS, "SPAN": _ENDS, "PUT": _ENDS, "UNSET": _ENDS,
           "REPEATED": _ENDS, "REPEATEDNULL": _ENDS,
           "NOT": _POSTFIX_IF, "INCREMENT": _POSTFIX_IF, "DECREMENT": _POSTFIX_IF}
_ACTION.update(dict.fromkeys(ENDS_EXPRESSION, _ENDS))


class NewlineFilter:
    """Drops the newlines that do not end a top-level expression.

    After a parse error, ``stack_before(token)`` gives the brackets that were
    open just before the failing token (the parser's error reports need it).
    """

    always_accept = ("_NL",)

    def __init__(self) -> None:
        self.stack: list[tuple[str, int, int]] = []  # (opener, line, column)
        self.last: Token | None = None               # the last token passed on
        self.popped: tuple[str, int, int] | None = None  # what the last closer closed
        self.skip: set[int] = set()  # offsets of newlines inside comments: whitespace
        self.deepest = 0  # the most brackets open at once since the last statement
        self.source: str | None = None
        self.lines: list[str] = []

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        # The hot loop of every parse: one dict lookup per token.
        stack: list[tuple[str, int, int]] = []
        self.stack, self.last, self.popped = stack, None, None
        self.deepest = 0
        action_of = _ACTION.get
        skip = self.skip
        prev_can_end = False
        for tok in stream:
            kind = tok.type
            if kind == "_NL":
                if prev_can_end and not stack and tok.start_pos not in skip:
                    prev_can_end = False
                    yield tok
                continue
            self.last = tok
            action = action_of(kind)
            if action is None:        # an operator: a newline after it is whitespace
                prev_can_end = False
            elif action == _ENDS:
                prev_can_end = True
            elif action == _OPEN:
                prev_can_end = False
                entry = (tok.value, tok.line or 1, tok.column or 1)
                stack.append(entry)
                if kind == "LPART":   # Part closes with two ']' tokens
                    stack.append(entry)
                if len(stack) > self.deepest:
                    self.deepest = len(stack)
                    if self.deepest > MAX_NESTING:
                        raise self._too_deep(tok)
            elif action == _POSTFIX_IF:
                pass  # postfix after an operand keeps prev_can_end; prefix leaves it False
            else:
                prev_can_end = True
                self.popped = stack.pop() if stack else None
            yield tok

    def _too_deep(self, tok: Token) -> ParseError:
        row, col = tok.line or 1, tok.column or 1
        line = self.lines[row - 1].rstrip("\r") if 0 < row <= len(self.lines) else ""
        return ParseError(f"brackets nested more than {MAX_NESTING} deep (netdsl's limit); "
                          "split the expression into smaller definitions",
                          span=Span(row, col, row, col + 1, self.source), source_line=line)

    def stack_before(self, tok: Token) -> list[tuple[str, int, int]]:
        """The brackets open before ``tok``; ``tok`` may never have reached this filter
        (the contextual lexer rejects a token before passing it on)."""
        stack = self.stack
        if tok is not self.last:
            return list(stack)
        action = _ACTION.get(tok.type)
        if action == _OPEN:
            return stack[:-2] if tok.type == "LPART" else stack[:-1]
        if action == _CLOSE and self.popped is not None:
            return stack + [self.popped]
        return list(stack)
