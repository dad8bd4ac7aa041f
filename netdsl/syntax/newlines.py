"""The post-lexer that decides which newlines end a top-level expression.

A newline ends an expression only at bracket depth 0 and after a token that
can end one (a symbol, a number, a closing bracket, ``&``, ``;``...). After an
operator or inside any bracket it is whitespace. The bracket stack it keeps
also lets parse errors say "expected ']' to close '[' opened at 3:14".
"""

from __future__ import annotations

from typing import Iterator

from lark import Token

OPENERS = {"[": "]", "[[": "]", "{": "}", "(": ")", "<|": "|>"}
CLOSERS = {"]", "}", ")", "|>"}
ENDS_EXPRESSION = {"NUMBER", "STRING", "SYMBOL", "SLOT", "OUT"}
ENDING_PUNCTUATION = {"]", "}", ")", "|>", "&", ";", ";;"}


class NewlineFilter:
    always_accept = ("_NL",)

    def __init__(self) -> None:
        self.stack: list[tuple[str, int, int]] = []  # (opener, line, column)
        self.before: list[tuple[str, int, int]] = []  # the stack before the last token

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        stack: list[tuple[str, int, int]] = []
        self.stack = self.before = stack
        prev_can_end = False
        for tok in stream:
            if tok.type == "_NL":
                if not stack and prev_can_end:
                    prev_can_end = False
                    yield tok
                continue
            value = tok.value
            if tok.type in ENDS_EXPRESSION:
                prev_can_end = True
                self.before = stack
            else:
                prev_can_end = value in ENDING_PUNCTUATION
                self.before = list(stack)
                if value in OPENERS:
                    stack.append((value, tok.line, tok.column))
                    if value == "[[":  # Part closes with two ']' tokens
                        stack.append((value, tok.line, tok.column))
                elif value in CLOSERS and stack:
                    stack.pop()
            yield tok
