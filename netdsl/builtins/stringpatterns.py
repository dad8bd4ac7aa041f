"""Wolfram string patterns, compiled to one Python regular expression each.

The string functions (StringReplace, StringSplit, StringCases, StringMatchQ, ...) take
literal strings, ``RegularExpression["regex"]`` (PCRE syntax: Python's ``re`` reads
nearly all of it; the few PCRE-only forms are rewritten or refused with a message) and
string expressions: ``"a" ~~ x__ ~~ "b"``, ``p1 | p2`` or ``{p1, p2}``, ``_``, ``__``,
``___``, named patterns (``x_``, bound to the matched text; a name used twice must match
the same text), ``p..``, ``p...``, ``Repeated[p, {m, n}]``, ``Except[c]``, ``p?LetterQ``,
``Shortest[p]``, ``Longest[p]`` and the classes ``DigitCharacter``, ``LetterCharacter``,
``WhitespaceCharacter``, ``Whitespace``, ``NumberString``, ``StartOfString``, ... .

Compiling to one regular expression keeps matching in one C loop over the string, and
keeps Wolfram's order: alternatives are tried in order at each position, ``__`` and
``p..`` take the longest run (string patterns are greedy in Wolfram), ``Shortest`` the
shortest. Nothing here evaluates user text: ``_?LetterQ`` and the other tests of
characters in TESTS become character classes; other tests (``?f``) and conditions (``/;``)
inside string patterns are refused (StringExpression::invld).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..errors import EvaluationError
from ..expr import (Expr, Opaque, Symbol, input_form, is_integer, is_list, list_items,
                    make_list)
from ..patterns import substitute
from ..printer import short
from .registry import NOT_APPLICABLE, builtin

S = Symbol
StringExpression = S("StringExpression")
RegularExpression = S("RegularExpression")

_ANY = "(?s:.)"   # Wolfram's _ matches any character, a newline too

# single characters and anchors, as Wolfram defines them
CLASSES: dict[str, str] = {
    "DigitCharacter": "[0-9]",
    "LetterCharacter": r"[^\W\d_]",
    "WordCharacter": r"[^\W_]",
    "WhitespaceCharacter": r"\s",
    "HexadecimalCharacter": "[0-9a-fA-F]",
    "PunctuationCharacter": r"""[!"#%&'()*,\-./:;?@\[\\\]_{}¡§«¶·»¿]""",
    "Whitespace": r"\s+",
    "NumberString": r"(?:-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))",
    "StartOfString": r"\A",
    "EndOfString": r"\Z",
    "StartOfLine": "(?m:^)",
    "EndOfLine": "(?m:$)",
    "WordBoundary": r"\b",
}

# zero-width positions: Except[p] of one of them is "anywhere but there"
_ANCHORS = frozenset({"StartOfString", "EndOfString", "StartOfLine", "EndOfLine",
                      "WordBoundary"})

# p?test for tests of characters, as classes (Wolfram applies test to each character);
# upper and lower case: ASCII and Latin-1 letters
TESTS: dict[str, str] = {
    "LetterQ": r"[^\W\d_]",
    "DigitQ": "[0-9]",
    "UpperCaseQ": "[A-Z\u00c0-\u00d6\u00d8-\u00de]",
    "LowerCaseQ": "[a-z\u00df-\u00f6\u00f8-\u00ff]",
}

# POSIX classes inside brackets, which Python's re does not read
_POSIX = {
    "alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z", "lower": "a-z",
    "space": r"\s", "blank": r" \t", "punct": r"!-/:-@\[-`{-~", "xdigit": "0-9A-Fa-f",
    "word": r"\w", "cntrl": r"\x00-\x1f\x7f", "print": r"\x20-\x7e", "graph": r"\x21-\x7e",
}


# ---------------------------------------------------------------- messages
class _LongString(Opaque):
    """A long string in a message: its start, ``<<n>>`` characters left out, its end."""

    def __init__(self, s: str):
        self.s = s

    def input_form(self) -> str:
        return input_form(self.s[:24]) + f"<<{len(self.s) - 32}>>" + input_form(self.s[-8:])


def brief(x: Any, limit: int = 60, depth: int = 4) -> Any:
    """``x`` with long strings abbreviated (near the top: ``short`` prunes the rest), for
    messages: ``short`` bounds a message's length but would cut a call off inside its
    first, long string argument."""
    if isinstance(x, str):
        return _LongString(x) if len(x) > limit else x
    if isinstance(x, Expr) and depth > 0:
        shown = [brief(a, limit, depth - 1) for a in x.args[:9]]
        return Expr(x.head, *shown, *x.args[9:])
    return x


def show(x: Any, limit: int = 160) -> str:
    """``x`` as short InputForm text for a message, long strings abbreviated."""
    return short(brief(x), limit)


def invalid(p: Any, whole: Any, why: str = "") -> EvaluationError:
    text = f"Element {show(p)} is not a valid string or pattern element in {show(whole)}"
    return EvaluationError(text + (f": {why}." if why else "."), symbol="StringExpression",
                           tag="invld")


# ---------------------------------------------------------------- compiled patterns
@dataclass
class StringPattern:
    """A compiled string pattern: the regular expression, the group of each pattern name,
    and, for a rule whose left side is a RegularExpression, the group where it starts
    (``$n`` in the right side is group ``offset + n``)."""
    regex: re.Pattern
    names: dict[Symbol, str] = field(default_factory=dict)
    regex_offset: int | None = None

    def bindings(self, m: re.Match) -> dict[Symbol, Any]:
        return {name: m.group(g) or "" for name, g in self.names.items()}


class _Compiler:
    def __init__(self, whole: Any):
        self.whole = whole
        self.names: dict[Symbol, str] = {}
        self.groups = 0        # capturing groups so far (Python numbers named ones too)
        self.prefix = "g"      # of group names: several rules share one expression

    def rx(self, p: Any, lazy: bool = False) -> str:
        if isinstance(p, str):
            return re.escape(p)
        if isinstance(p, Symbol):
            if p.name in CLASSES:
                return CLASSES[p.name]
            raise invalid(p, self.whole)
        if is_list(p):
            return self.alternatives(list_items(p), lazy)
        if not (isinstance(p, Expr) and isinstance(p.head, Symbol)):
            raise invalid(p, self.whole)
        name, a = p.head.name, p.args
        if name == "StringExpression":
            return "".join(self.rx(x, lazy) for x in a)
        if name == "Alternatives":
            return self.alternatives(list(a), lazy)
        if name == "RegularExpression" and len(a) == 1 and isinstance(a[0], str):
            return "(?:" + self.regular(p, a[0]) + ")"
        quantifier = self.blank(p, lazy)
        if quantifier is not None:
            return _ANY + quantifier
        if name == "Pattern" and len(a) == 2 and isinstance(a[0], Symbol):
            return self.named(a[0], a[1], lazy)
        if name in ("Repeated", "RepeatedNull") and len(a) in (1, 2):
            return self.repeated(p, lazy)
        if name == "Shortest" and len(a) == 1:
            return self.rx(a[0], True)
        if name in ("Longest", "HoldPattern") and len(a) == 1:
            return self.rx(a[0], lazy)
        if name == "Verbatim" and len(a) == 1 and isinstance(a[0], str):
            return re.escape(a[0])
        if name == "Except" and len(a) in (1, 2):
            if len(a) == 1 and isinstance(a[0], Symbol) and a[0].name in _ANCHORS:
                return r"\B" if a[0].name == "WordBoundary" else f"(?!{self.rx(a[0])})"
            # one character that c does not match; Except[c, p]: p where c does not match
            # at its start (Wolfram's asks that c not match the whole of it: approximated)
            then = self.rx(a[1], lazy) if len(a) == 2 else _ANY
            return f"(?:(?!{self.rx(a[0])}){then})"
        if name == "PatternTest" and len(a) == 2 and isinstance(a[1], Symbol) \
                and a[1].name in TESTS:
            inner, label = a[0], None
            if isinstance(inner, Expr) and inner.head is S("Pattern") and len(inner.args) == 2:
                label, inner = inner.args
            q = self.blank(inner, lazy)
            if q is not None:
                text = TESTS[a[1].name] + q
                return text if label is None else self.named(label, text=text)
        if name == "CharacterRange" and len(a) == 2 and all(
                isinstance(c, str) and len(c) == 1 for c in a):
            return f"[{re.escape(a[0])}-{re.escape(a[1])}]"
        if name in ("Condition", "PatternTest"):
            raise invalid(p, self.whole, "conditions in string patterns, and tests other "
                                         f"than {', '.join(TESTS)}, are not supported by "
                                         "netdsl")
        raise invalid(p, self.whole)

    @staticmethod
    def blank(p: Any, lazy: bool = False) -> str | None:
        """The quantifier of _, __ or ___ (for p?test), or None for another pattern."""
        if isinstance(p, Expr) and not p.args and isinstance(p.head, Symbol):
            q = {"Blank": "", "BlankSequence": "+", "BlankNullSequence": "*"}.get(p.head.name)
            if q is not None:
                return q + "?" if q and lazy else q
        return None

    def alternatives(self, items: list[Any], lazy: bool) -> str:
        if not items:
            raise invalid(Expr(S("Alternatives")), self.whole)
        return "(?:" + "|".join(self.rx(x, lazy) for x in items) + ")"

    def named(self, name: Symbol, p: Any = None, lazy: bool = False,
              text: str | None = None) -> str:
        """A named pattern (``text``: its regular expression, made already)."""
        if name in self.names:   # x_ ~~ x_: the same text again
            return f"(?P={self.names[name]})"
        group = f"{self.prefix}{len(self.names)}"
        self.groups += 1   # opened before the groups inside it, so numbered before them
        inner = self.rx(p, lazy) if text is None else text
        self.names[name] = group
        return f"(?P<{group}>{inner})"

    def repeated(self, p: Expr, lazy: bool) -> str:
        inner = "(?:" + self.rx(p.args[0], lazy) + ")"
        lo = 1 if p.head.name == "Repeated" else 0
        if len(p.args) == 1:
            q = "+" if lo else "*"
        else:
            spec = p.args[1]
            ends = list_items(spec) if is_list(spec) else [lo, spec]
            if not (1 <= len(ends) <= 2 and all(is_integer(e) and e >= 0 for e in ends)):
                raise invalid(p, self.whole, f"{show(spec)} is not a repeat count or "
                                             "{min, max}")
            q = f"{{{ends[0]}}}" if len(ends) == 1 else f"{{{ends[0]},{ends[-1]}}}"
        return inner + (q + "?" if lazy else q)

    def regular(self, p: Any, text: str) -> str:
        """A RegularExpression's text as Python reads it, its group numbers shifted past
        the groups before it."""
        prefix = f"{self.prefix}r{self.groups}_"
        try:   # alone first: its own syntax, and how many groups it has
            count = re.compile(pcre_to_python(text, 0, prefix)).groups
        except re.error as e:
            raise invalid(p, self.whole, f"Python's regular expressions cannot read it "
                                         f"({e.msg} at position {e.pos})") from None
        except (OverflowError, RecursionError):
            raise invalid(p, self.whole, "it is too large or too deeply nested") from None
        python = pcre_to_python(text, self.groups, prefix)
        self.groups += count
        return python


def compile_pattern(p: Any, whole: Any, ignore_case: bool = False) -> StringPattern:
    """``p`` compiled; ``whole`` is the call, for messages."""
    c = _Compiler(whole)
    top_regex = isinstance(p, Expr) and p.head is RegularExpression
    text = c.rx(p)
    return StringPattern(_compile(text, ignore_case, p, whole), dict(c.names),
                         0 if top_regex else None)


def compile_rules(rules: list[tuple[Any, Any, bool]], whole: Any,
                  ignore_case: bool = False) -> tuple[re.Pattern, list[StringPattern]]:
    """One regular expression for several rules, tried in order at each position: the
    group ``r<k>`` says which rule matched."""
    c = _Compiler(whole)
    parts, names, offsets = [], [], []
    for k, (lhs, _, _) in enumerate(rules):
        c.prefix, c.names = f"r{k}_", {}
        c.groups += 1   # the rule's own group, r<k>: $0 of a RegularExpression rule
        offsets.append(c.groups if isinstance(lhs, Expr) and lhs.head is RegularExpression
                       else None)
        parts.append(f"(?P<r{k}>{c.rx(lhs)})")
        names.append(dict(c.names))
    regex = _compile("|".join(parts), ignore_case, None, whole)
    return regex, [StringPattern(regex, n, o) for n, o in zip(names, offsets)]


def _compile(text: str, ignore_case: bool, p: Any, whole: Any) -> re.Pattern:
    try:
        return re.compile(text, re.IGNORECASE if ignore_case else 0)
    except re.error as e:
        raise invalid(whole if p is None else p, whole,
                      f"Python's regular expressions cannot read it ({e.msg})") from None
    except (OverflowError, RecursionError):
        raise invalid(whole if p is None else p, whole,
                      "it is too large or too deeply nested") from None


# ---------------------------------------------------------------- PCRE -> Python
def pcre_to_python(text: str, offset: int = 0, prefix: str = "") -> str:
    """PCRE syntax that Python's ``re`` reads differently, rewritten: ``(?<name>``,
    ``\\k<name>``, ``\\z``, ``\\Z``, ``\\h``, ``\\R``, ``\\Q...\\E``, POSIX classes in
    brackets, inline flags ``(?i)`` (scoped to the rest of their group, as PCRE does);
    backreferences ``\\n`` shifted by ``offset`` groups; group names prefixed (several
    patterns share one regular expression)."""
    out: list[str] = []
    pending = [0]   # per open group: scoped-flag groups to close with it
    i, n, in_class = 0, len(text), False
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            i = _escape(text, i, in_class, offset, prefix, out)
            continue
        if in_class:
            if c == "[" and text.startswith("[:", i):
                end = text.find(":]", i + 2)
                name = text[i + 2:end] if end > 0 else ""
                if name in _POSIX:
                    out.append(_POSIX[name])
                    i = end + 2
                    continue
            if c == "]" and not _class_start(text, i):
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
        elif c == ")":
            out.append(")" * (pending.pop() if len(pending) > 1 else 0))
        elif c == "(":
            flags = _INLINE_FLAGS.match(text, i)
            if flags:   # (?i) -> (?i: ... ) up to the end of the enclosing group
                out.append(f"(?{flags.group(1)}:")
                pending[-1] += 1
                i = flags.end()
                continue
            ref = _NAMED_REF.match(text, i)
            if ref:
                out.append(f"(?P={prefix}{ref.group(1)})")
                i = ref.end()
                continue
            pending.append(0)
            named = _NAMED_GROUP.match(text, i)
            if named:
                out.append(f"(?P<{prefix}{named.group(1)}>")
                i = named.end()
                continue
        out.append(c)
        i += 1
    out.append(")" * pending[0])
    return "".join(out)


_INLINE_FLAGS = re.compile(r"\(\?([imsx]+(?:-[imsx]+)?|-[imsx]+)\)")
_NAMED_GROUP = re.compile(r"\(\?P?<(?![=!])(\w+)>")
_NAMED_REF = re.compile(r"\(\?P=(\w+)\)")


def _escape(text: str, i: int, in_class: bool, offset: int, prefix: str,
            out: list[str]) -> int:
    """One backslash escape at ``i`` rewritten into ``out``; the index after it."""
    n, d = len(text), text[i + 1]
    if d == "Q":
        end = text.find("\\E", i + 2)
        end = n if end < 0 else end
        out.append(re.escape(text[i + 2:end]))
        return end + 2
    if not in_class and d.isdigit() and d != "0":
        j = i + 1
        while j < n and text[j].isdigit():
            j += 1
        out.append(f"(?:\\{int(text[i + 1:j]) + offset})")
        return j
    if d == "k" and i + 2 < n and text[i + 2] in "<{'":
        close = {"<": ">", "{": "}", "'": "'"}[text[i + 2]]
        end = text.find(close, i + 3)
        if end > 0:
            out.append(f"(?P={prefix}{text[i + 3:end]})")
            return end + 1
    rewrite = {"h": r" \t"}.get(d) if in_class else {
        "z": r"\Z", "Z": r"(?=\n?\Z)", "h": r"[ \t]", "R": r"(?:\r\n|\n|\r)"}.get(d)
    out.append(rewrite if rewrite is not None else text[i:i + 2])
    return i + 2


def _class_start(text: str, i: int) -> bool:
    """Whether the ``]`` at ``i`` is the first character of its class (``[]a]``,
    ``[^]a]``), so a literal."""
    return text[i - 1] == "[" or (text[i - 1] == "^" and i >= 2 and text[i - 2] == "[")


# ---------------------------------------------------------------- using matches
def is_plain(p: Any) -> bool:
    """A literal string, or a list of them."""
    return isinstance(p, str) or (is_list(p) and bool(list_items(p)) and
                                  all(isinstance(t, str) for t in list_items(p)))


def searcher(p: Any, whole: Any, ignore_case: bool = False) -> StringPattern | None:
    """The compiled pattern for a search; None when it matches nowhere (an empty literal
    string, or a list of them, as Wolfram's literal searches find no empty matches)."""
    if is_plain(p):
        items = [t for t in (list_items(p) if is_list(p) else [p]) if t]
        if not items:
            return None
        p = items[0] if len(items) == 1 else Expr(S("Alternatives"), *items)
    return compile_pattern(p, whole, ignore_case)


def spans(pat: StringPattern | None, s: str, overlaps: bool = False) -> Iterator[re.Match]:
    """The matches left to right: without overlapping, or one at each start position."""
    if pat is None:
        return
    if not overlaps:
        yield from pat.regex.finditer(s)
        return
    pos = 0
    while pos <= len(s):
        m = pat.regex.search(s, pos)
        if m is None:
            return
        yield m
        pos = m.start() + 1


def groups_in(rhs: Any, m: re.Match, offset: int) -> Any:
    """A RegularExpression rule's right side with ``$n`` in its strings replaced by the
    nth group of the match (``$0`` the whole match)."""
    def fill(t: str) -> str:
        def one(g: re.Match) -> str:
            k = offset + int(g.group(1))
            return (m.group(k) or "") if k <= m.re.groups else ""
        return re.sub(r"\$(\d+)", one, t)

    def walk(x: Any) -> Any:
        if isinstance(x, str):
            return fill(x)
        if isinstance(x, Expr):
            return Expr(walk(x.head), *(walk(a) for a in x.args))
        return x
    return walk(rhs)


def rule_value(ev, pat: StringPattern, rhs: Any, m: re.Match) -> Any:
    """The value of a rule's right side for one match: pattern names replaced by the
    text they matched, ``$n`` by groups, then evaluated."""
    if pat.regex_offset is not None:
        rhs = groups_in(rhs, m, pat.regex_offset)
    b = pat.bindings(m)
    return ev.evaluate(substitute(rhs, b) if b else rhs)


MATCH_SECONDS = 10.0   # a pattern search longer than this is stopped (see _time_limited)


def each_string(name: str, x: Any, call: Any, fn: Callable[[str], Any]) -> Any:
    """``fn`` on a string, or on each string of a list (the string functions thread),
    stopped with a clear error after MATCH_SECONDS."""
    def one(x: Any) -> Any:
        if is_list(x):
            return make_list(one(s) for s in list_items(x))
        if not isinstance(x, str):
            raise EvaluationError(f"String or list of strings expected at position 1 in "
                                  f"{show(call)}.", symbol=name, tag="string")
        return fn(x)
    return _time_limited(name, lambda: one(x))


class _Timeout(Exception):
    pass


def _time_limited(name: str, work: Callable[[], Any]) -> Any:
    """``work()``, interrupted after MATCH_SECONDS: a regular expression such as (a+)+b
    backtracks for ever on a long string, and Python's re has no time limit, but it
    checks signals while matching, so a timer signal stops it. Only the main thread can
    take signals; elsewhere (a language server's worker) the work runs unguarded."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread() or \
            not hasattr(signal, "setitimer") or signal.getitimer(signal.ITIMER_REAL)[0]:
        return work()

    def stop(signum, frame):
        raise _Timeout
    before = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, MATCH_SECONDS)
    try:
        return work()
    except _Timeout:
        raise EvaluationError(f"The string pattern took longer than {MATCH_SECONDS:g} s to "
                              f"match and was stopped: it probably backtracks "
                              f"catastrophically (nested repeats such as (a+)+ or (\"a\" | "
                              f"\"aa\")..); make the repeats unambiguous.", symbol=name,
                              tag="timeout") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)


# ---------------------------------------------------------------- the heads
@builtin("RegularExpression", "RegularExpression[\"regex\"]",
         "a string pattern in regular-expression (PCRE) syntax, for StringSplit, "
         "StringReplace, StringCases, StringMatchQ, ...; $n in a rule's right side is the "
         "nth group", args=1, section="Strings")
def _regular_expression(ev, text):
    return NOT_APPLICABLE   # a pattern, as in Wolfram


@builtin("StringExpression", ("s1 ~~ s2 ~~ ...", "StringExpression[s1, s2, ...]"),
         "a string pattern: the pieces one after another; strings next to each other are "
         "joined (\"a\" ~~ \"b\" is \"ab\")", section="Strings")
def _string_expression(ev, *xs):
    items: list[Any] = []
    for x in xs:
        for y in (x.args if isinstance(x, Expr) and x.head is StringExpression else (x,)):
            if isinstance(y, str) and items and isinstance(items[-1], str):
                items[-1] += y
            else:
                items.append(y)
    if len(items) == 1 and isinstance(items[0], str):
        return items[0]
    if not items:
        return ""
    if len(items) == len(xs) and all(a is b for a, b in zip(items, xs)):
        return NOT_APPLICABLE
    return Expr(StringExpression, *items)
