"""Source text before lexing: nested comments are blanked out.

Python's ``re`` cannot match nested ``(* (* *) *)``, so a small scanner replaces
each comment with spaces (keeping newlines, so lines and columns stay true).
A comment is whitespace as a whole: the newlines inside one do not end an
expression, so their offsets are reported for the newline filter to skip.
"""

from __future__ import annotations

import re

from ..errors import ParseError, Span

# possessive: no per-escape stack; re.S so that a backslash-newline inside a string
# (a line continuation) stays part of the string
_OUTSIDE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*+"|\(\*', re.S)
_INSIDE = re.compile(r"\(\*|\*\)")


def blank_comments(text: str, source: str | None = None,
                   newlines: set[int] | None = None) -> str:
    """``text`` with every comment replaced by spaces; the offsets of the newlines
    kept inside comments are added to ``newlines`` when it is given."""
    if "(*" not in text:
        return text
    out: list[str] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _OUTSIDE.search(text, pos)
        if m is None:
            break
        if m.group() != "(*":  # a string: copy through
            continue_at = m.end()
            out.append(text[pos:continue_at])
            pos = continue_at
            continue
        out.append(text[pos:m.start()])
        start = m.start()
        depth, scan = 1, m.end()
        while depth:
            c = _INSIDE.search(text, scan)
            if c is None:
                line, col = position(text, start)
                raise ParseError(f"comment opened at {line}:{col} is never closed with '*)'",
                                 span=Span(line, col, line, col + 2, source),
                                 source_line=line_text(text, line), incomplete=True)
            depth += 1 if c.group() == "(*" else -1
            scan = c.end()
        comment = text[start:scan]
        if newlines is not None and "\n" in comment:
            newlines.update(m.start() + start for m in re.finditer("\n", comment))
        out.append(re.sub(r"[^\n]", " ", comment))
        pos = scan
    out.append(text[pos:])
    return "".join(out)


def position(text: str, offset: int) -> tuple[int, int]:
    """(line, column), both from 1, of a character offset."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def line_text(text: str, line: int) -> str:
    lines = text.split("\n")
    return lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""
