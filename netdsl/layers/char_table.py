"""The table of a "Characters" NetEncoder: which code each character gets.

Wolfram's table forms (the "Characters" encoder's reference page):

- ``"c1c2..."``: each character gets the next code; ``{spec1, spec2, ...}`` assigns codes
  in sequence from each spec;
- ``"c1c2..." -> n``: all the characters get code n; ``-> Automatic``: all get the next
  code;
- groups: ``Automatic`` (tab, newline, then the printable ASCII characters 32..126: 97
  codes, also what ``NetEncoder["Characters"]`` uses), ``LetterCharacter`` (a..z, A..Z),
  ``DigitCharacter`` (0..9), ``WordCharacter`` (letters and digits),
  ``PunctuationCharacter`` (the visible ASCII punctuation), ``WhitespaceCharacter`` (space,
  tab, newline): one code per character, or one for all with ``-> n`` / ``-> Automatic``;
- ``StartOfString`` / ``EndOfString``: virtual characters put before / after each string;
- ``_``: any character the table does not assign. Without it, a character outside the
  table cannot be encoded (an error, as Wolfram's "contained invalid characters").

With "IgnoreCase" -> True the table and the strings are lower-cased (a character already
assigned keeps its first code). Encoding is vectorised: all strings are joined, read as
code points (UTF-32) and looked up with one sorted search.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

import numpy as np

from ..expr import Expr, Symbol, is_integer, is_list, list_items
from ..printer import short

S = Symbol

GROUPS = {
    "Automatic": "\t\n" + "".join(map(chr, range(32, 127))),
    "LetterCharacter": string.ascii_lowercase + string.ascii_uppercase,
    "DigitCharacter": string.digits,
    "WordCharacter": string.ascii_lowercase + string.ascii_uppercase + string.digits,
    "PunctuationCharacter": string.punctuation,
    "WhitespaceCharacter": " \t\n",
}
VIRTUAL = ("StartOfString", "EndOfString")


class TableError(ValueError):
    """A table spec that is not one of Wolfram's forms; the text says why."""


@dataclass(frozen=True)
class CharTable:
    """Codes 1..count: ``codes[k - 1]`` holds the characters of code k ("" for a code
    only a virtual character or ``_`` has); ``unknown``, ``start``, ``end``: the codes of
    ``_``, StartOfString and EndOfString (0 when the table has none)."""

    codes: tuple[str, ...]
    unknown: int = 0
    start: int = 0
    end: int = 0
    _keys: np.ndarray | None = field(default=None, compare=False, hash=False, repr=False)
    _vals: np.ndarray | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def count(self) -> int:
        return len(self.codes)

    def lookup(self, points: np.ndarray) -> np.ndarray:
        """Codes of the code points ``points`` (0 where the table has no code)."""
        keys, vals = self._keys, self._vals
        if keys is None or vals is None:
            pairs = sorted((ord(c), k) for k, chars in enumerate(self.codes, 1) for c in chars)
            keys = np.array([p for p, _ in pairs], np.uint32)
            vals = np.array([v for _, v in pairs], np.int64)
            object.__setattr__(self, "_keys", keys)
            object.__setattr__(self, "_vals", vals)
        if keys.size == 0:
            return np.full(points.shape, self.unknown, np.int64)
        pos = np.searchsorted(keys, points).clip(0, keys.size - 1)
        return np.where(keys[pos] == points, vals[pos], self.unknown)


def build_table(spec: object, ignore_case: bool) -> CharTable:
    """The CharTable of a table spec (a string, a group, a rule, or a list of them)."""
    builder = _Builder(ignore_case)
    for item in (list_items(spec) if is_list(spec) else [spec]):
        builder.add(item)
    return builder.table()


class _Builder:
    def __init__(self, ignore_case: bool):
        self.ignore_case = ignore_case
        self.codes: list[str] = []
        self.assigned: set[str] = set()
        self.special = {"Blank": 0, "StartOfString": 0, "EndOfString": 0}

    def add(self, item: object) -> None:
        if isinstance(item, Expr) and item.head is S("Rule"):
            chars, target = item.args
            if target is S("Automatic"):
                code = len(self.codes) + 1
            elif is_integer(target) and target >= 1:
                code = int(target)
            else:
                raise TableError(f"{short(item, 60)}: a character group maps to a code n >= 1 "
                                 f"or Automatic")
            self._put(chars, code)
            return
        if is_list(item):     # {Characters[...], EndOfString}: a nested list, entry by entry
            for sub in list_items(item):
                self.add(sub)
            return
        for one in self._units(item):
            self._put_one(one, len(self.codes) + 1)

    def _units(self, item: object) -> list[object]:
        """An item given without a code: its characters one by one; a virtual character
        or ``_`` as its name ("Blank"), never one character long."""
        if isinstance(item, str):
            return list(item)
        if isinstance(item, Symbol) and item.name in GROUPS:
            return list(GROUPS[item.name])
        if isinstance(item, Symbol) and item.name in VIRTUAL:
            return [item.name]
        if isinstance(item, Expr) and item.head is S("Blank") and not item.args:
            return ["Blank"]
        raise TableError(f"{short(item, 60)} is not a character table entry; use strings, "
                         f"character groups such as LetterCharacter, StartOfString, "
                         f"EndOfString, _, or \"chars\" -> n")

    def _put(self, chars: object, code: int) -> None:
        # {StartOfString, EndOfString} -> Automatic: the entries of the list share one code
        for part in (list_items(chars) if is_list(chars) else [chars]):
            for one in self._units(part):
                self._put_one(one, code)

    def _put_one(self, one: object, code: int) -> None:
        assert isinstance(one, str)
        while len(self.codes) < code:
            self.codes.append("")
        if len(one) > 1:        # StartOfString, EndOfString or _
            if not self.special[one]:
                self.special[one] = code
            return
        c = one.lower() if self.ignore_case else one
        if c in self.assigned:
            if code == len(self.codes) and not self.codes[code - 1]:
                self.codes.pop()     # a repeated character takes no new code
            return
        self.assigned.add(c)
        self.codes[code - 1] += c

    def table(self) -> CharTable:
        if not self.codes:
            raise TableError("the character table is empty")
        return CharTable(tuple(self.codes), self.special["Blank"], self.special["StartOfString"],
                         self.special["EndOfString"])


def encode_strings(table: CharTable, texts: list[str], ignore_case: bool
                   ) -> tuple[list[np.ndarray], int]:
    """Each string's codes (with the start/end codes of the table's virtual characters),
    and the position in ``texts`` of the first string holding a character the table
    cannot encode (-1 when none does)."""
    if ignore_case:
        texts = [t.lower() for t in texts]
    lengths = np.fromiter((len(t) for t in texts), np.int64, len(texts))
    points = np.frombuffer("".join(texts).encode("utf-32-le"), np.uint32)
    codes = table.lookup(points)
    bad = np.flatnonzero(codes == 0)
    if bad.size:
        first = int(np.searchsorted(np.cumsum(lengths), bad[0], side="right"))
        return [], first
    parts = np.split(codes, np.cumsum(lengths)[:-1])
    if table.start or table.end:
        head = [table.start] if table.start else []
        tail = [table.end] if table.end else []
        parts = [np.concatenate([head, p, tail]).astype(np.int64) for p in parts]
    return parts, -1


def bad_character(table: CharTable, text: str, ignore_case: bool) -> str:
    """The first character of ``text`` the table has no code for."""
    t = text.lower() if ignore_case else text
    codes = table.lookup(np.frombuffer(t.encode("utf-32-le"), np.uint32))
    return text[int(np.argmax(codes == 0))]
