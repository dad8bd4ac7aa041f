"""String literals: escapes decoded in one pass, in memory linear in the length.

Wolfram's escapes: ``\\n \\t \\r \\b \\f \\" \\\\``, ``\\[Name]`` characters,
``\\:hhhh``, ``\\.hh``, ``\\|hhhhhh``, octal ``\\ooo``, and a backslash before a
newline (the string continues). ``\\<`` and ``\\>`` vanish; the linear box syntax
of usage messages (``\\!\\(x\\^2\\)``) is kept as written, as Wolfram keeps it.
"""

from __future__ import annotations

import re

from .characters import ALL as ALL_CHARACTERS

_ESCAPE = re.compile(r'\\(?:\[([A-Za-z0-9]+)\]|:([0-9A-Fa-f]{4})|\.([0-9A-Fa-f]{2})'
                     r'|\|([0-9A-Fa-f]{6})|([0-7]{3})|(\r?\n)|(.))', re.S)
_SIMPLE = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f",
           "<": "", ">": ""}
# linear box syntax inside strings (\!\(x\^2\)): kept as written, as Wolfram does
_KEPT = set("!()*@^&%_+/`: ")


class EscapeError(ValueError):
    """An unknown escape; ``offset`` is where it starts in the string's body."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


def _unescape_match(m: re.Match) -> str:
    name, hex4, hex2, hex6, octal, newline, other = m.groups()
    if other is not None:
        if other in _SIMPLE:
            return _SIMPLE[other]
        if other in _KEPT:
            return m.group(0)
        raise EscapeError(f"unknown escape '\\{other}' in a string; use \\\", \\\\, "
                          "\\n, \\t or \\r", m.start())
    if name is not None:
        char = ALL_CHARACTERS.get(name)
        if char is None:
            raise EscapeError(f"unknown character name '\\[{name}]' in a string", m.start())
        return char
    if newline is not None:  # a backslash at the end of a line continues the string
        return ""
    code = hex4 or hex2 or hex6
    return chr(int(code, 16) if code else int(octal, 8))


_FLUSH = 4096  # pieces joined at a time: bounds the per-piece overhead of many escapes


def unescape(body: str) -> str:
    """A string literal's body with its escapes decoded: one pass, and memory linear in
    the length with a small constant (pieces are joined every few thousand escapes,
    rather than kept as one small string object per escape as ``re.sub`` does)."""
    if "\\" not in body:
        return body
    chunks: list[str] = []
    pieces: list[str] = []
    pos = 0
    for m in _ESCAPE.finditer(body):
        start = m.start()
        if start > pos:
            pieces.append(body[pos:start])
        pieces.append(_unescape_match(m))
        pos = m.end()
        if len(pieces) >= _FLUSH:
            chunks.append("".join(pieces))
            pieces.clear()
    pieces.append(body[pos:])
    chunks.append("".join(pieces))
    return "".join(chunks)


def file_name(text: str) -> str:
    """The file name after ``<<`` or ``>>``: a quoted string decoded, else as written."""
    text = text.strip()
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return unescape(text[1:-1])
    return text
