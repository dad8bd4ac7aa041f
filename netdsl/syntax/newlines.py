"""The post-lexer that decides which newlines end a top-level expression.

A newline ends an expression only at bracket depth 0 and after a token that
can end one (a symbol, a number, a closing bracket, ``&``, ``;``...). After an
operator, inside any bracket or inside a comment it is whitespace. The bracket stack it keeps
also lets parse errors say "expected ']' to close '[' opened at 3:14".
"""

from __future__ import annotations

from typing import Iterator

from lark import Token

OPENERS = {"[": "]", "[[": "]", "{": "}", "(": ")", "<|": "|>"}
CLOSERS = {"]", "}", ")", "|>"}
ENDS_EXPRESSION = {"NUMBER", "STRING", "SYMBOL", "SLOT", "OUT"}
ENDING_PUNCTUATION = {"]", "}", ")", "|>", "&", ";", ";;"}

# token type -> what it does to the bracket stack and whether a newline may end
# the expression after it. Operators are absent: (no bracket, cannot end).
_OPEN, _CLOSE, _ENDS = 1, 2, 3
_ACTION = {"LSQB": _OPEN, "LPART": _OPEN, "LBRACE": _OPEN, "LPAR": _OPEN, "LASSOC": _OPEN,
           "RSQB": _CLOSE, "RBRACE": _CLOSE, "RPAR": _CLOSE, "RASSOC": _CLOSE,
           "AMP": _ENDS, "SEMI": _ENDS, "SPAN": _ENDS}
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

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        # The hot loop of every parse: one dict lookup per token.
        stack: list[tuple[str, int, int]] = []
        self.stack, self.last, self.popped = stack, None, None
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
                entry = (tok.value, tok.line, tok.column)
                stack.append(entry)
                if kind == "LPART":   # Part closes with two ']' tokens
                    stack.append(entry)
            else:
                prev_can_end = True
                self.popped = stack.pop() if stack else None
            yield tok

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
