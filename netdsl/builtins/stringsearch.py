"""Padding and searching strings: StringPadLeft, StringPadRight, StringCount, StringMatchQ,
StringCases, StringPosition.

The searches take string patterns (literal strings, lists of them as alternatives, tried
in order at each position as Wolfram does, ``~~``, ``DigitCharacter``,
``RegularExpression``...: stringpatterns.py), compiled to one Python regular expression
(one C loop over the string). StringMatchQ follows Wolfram's rule for a plain string:
``*`` stands for zero or more characters and ``@`` for one or more characters but capital
letters (``Verbatim["a*"]`` is taken as it is); a plain string is matched by a glob
matcher whose time is linear in the string (no backtracking).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .. import budget
from ..expr import Expr, Symbol, boolean, is_integer, is_list, is_rule, list_items, make_list
from ..printer import short
from .registry import OPERATOR_FORMS, builtin, wrong_call
from .stringpatterns import (StringPattern, compile_pattern, compile_rules, each_string,
                             rule_value, searcher, spans)
from .strings import _string

S = Symbol
TRUE = S("True")


# ---------------------------------------------------------------- padding
def _pad(s: str, n: int, pad: str, left: bool) -> str:
    """``s`` made n characters long: copies of ``pad`` laid outward from s (the copy next to
    s whole, the farthest one cut), or s truncated at the far end."""
    if len(s) >= n:
        return s[len(s) - n:] if left else s[:n]
    need = n - len(s)
    copies = pad * (need // len(pad) + 1)
    return copies[len(copies) - need:] + s if left else s + copies[:need]


def _padding(name: str, x: Any, n: Any, pad: Any) -> Any:
    call = Expr(S(name), x, *([] if n is None else [n]), *([] if pad is None else [pad]))
    if pad is None:
        pad = " "
    if not isinstance(pad, str) or not pad:
        raise wrong_call(name, call, f"the padding {short(pad)} is not a non-empty string")
    if is_list(x):
        items = [_string(s, name, call) for s in list_items(x)]
        if n is None:
            n = max((len(s) for s in items), default=0)
    else:
        if n is None:
            raise wrong_call(name, call, "a single string needs a length")
        items = [_string(x, name, call)]
    if not (is_integer(n) and n >= 0):
        raise wrong_call(name, call, f"the length {short(n)} is not a non-negative integer")
    budget.check_string(n * len(items), "padded strings")
    out = [_pad(s, n, pad, name == "StringPadLeft") for s in items]
    return make_list(out) if is_list(x) else out[0]


@builtin("StringPadLeft", ("StringPadLeft[s, n]", "StringPadLeft[s, n, \"pad\"]",
                           "StringPadLeft[{s1, s2, ...}]", "StringPadLeft[{s1, ...}, n]"),
         "s made n characters long: padded with spaces (or copies of pad) on the left, or its "
         "first characters dropped; a list of strings alone is padded to its longest",
         args=(1, 3), section="Strings")
def _string_pad_left(ev, x, n=None, pad=None):
    return _padding("StringPadLeft", x, n, pad)


@builtin("StringPadRight", ("StringPadRight[s, n]", "StringPadRight[s, n, \"pad\"]",
                            "StringPadRight[{s1, s2, ...}]", "StringPadRight[{s1, ...}, n]"),
         "s made n characters long: padded with spaces (or copies of pad) on the right, or its "
         "last characters dropped; a list of strings alone is padded to its longest",
         args=(1, 3), section="Strings")
def _string_pad_right(ev, x, n=None, pad=None):
    return _padding("StringPadRight", x, n, pad)


# ---------------------------------------------------------------- searches
def _pattern(name: str, p: Any, call: Any, ignore_case: Any) -> StringPattern | None:
    return searcher(p, call, ignore_case is TRUE)


def _matches(pat: StringPattern | None, s: str, overlaps: Any) -> list[re.Match]:
    return list(spans(pat, s, overlaps is TRUE))


def _limit(n: Any, name: str, call: Any) -> int | None:
    if n is None:
        return None
    if not (is_integer(n) and n >= 0):
        raise wrong_call(name, call, f"{short(n)} is not a non-negative integer")
    return n


@builtin("StringCount", ("StringCount[s, p]", "StringCount[s, {p1, p2, ...}]"),
         "how many times a string pattern matches in s (without overlaps unless "
         "Overlaps -> True); Listable in s", args=2,
         options={"Overlaps": S("False"), "IgnoreCase": S("False")}, section="Strings")
def _string_count(ev, x, p, opts):
    call = Expr(S("StringCount"), x, p)
    pat = _pattern("StringCount", p, call, opts["IgnoreCase"])
    return each_string("StringCount", x, call,
                       lambda s: len(_matches(pat, s, opts["Overlaps"])))


def _glob(p: str) -> list[str]:
    """Wolfram's metacharacters in a plain string pattern, as tokens: "*" zero or more
    characters, "@" one or more but capital letters, any other one character itself
    (\\* and \\@ are the characters; a token of two characters, "\\*", is the literal)."""
    out, i = [], 0
    while i < len(p):
        if p[i] == "\\" and i + 1 < len(p) and p[i + 1] in "*@":
            out.append("\\" + p[i + 1])
            i += 2
            continue
        out.append(p[i])
        i += 1
    return out


def _glob_match(tokens: list[str], s: str, fold: bool) -> bool:
    """Whether the whole of ``s`` matches the glob ``tokens``: the set of positions a prefix
    of the pattern can reach, token by token, so time is len(s) x len(tokens) (a regular
    expression's backtracking is exponential in the number of stars)."""
    n = len(s)
    reach = np.zeros(n + 1, bool)
    reach[0] = True
    upper = np.fromiter((c.isupper() for c in s), bool, n) if "@" in tokens \
        else np.zeros(n, bool)
    for t in tokens:
        if t == "*":
            first = int(np.argmax(reach)) if reach.any() else n + 1
            reach[first:] = True
        elif t == "@":    # one or more characters that are not capitals
            step = np.zeros(n + 1, bool)
            run = False
            for j in range(1, n + 1):   # j: a position after a non-capital character
                run = (run or reach[j - 1]) and not upper[j - 1]
                step[j] = run
            reach = step
        else:
            c = t[-1].lower() if fold else t[-1]
            same = (x.lower() == c for x in s) if fold else (x == c for x in s)
            step = np.zeros(n + 1, bool)
            step[1:] = reach[:-1] & np.fromiter(same, bool, n)
            reach = step
        if not reach.any():
            return False
    return bool(reach[n])


def _verbatim(p: Any) -> bool:
    return isinstance(p, Expr) and p.head is S("Verbatim") and len(p.args) == 1 \
        and isinstance(p.args[0], str)


@builtin("StringMatchQ", ("StringMatchQ[s, \"pattern\"]", "StringMatchQ[s, p]",
                          "StringMatchQ[p][s]"),
         "True if the whole of s matches the string pattern p; in a plain string * stands "
         "for zero or more characters and @ for one or more but capitals "
         "(Verbatim[\"p\"]: p as it is); Listable in s", args=2,
         options={"IgnoreCase": S("False")}, section="Strings")
def _string_match_q(ev, x, p, opts):
    call = Expr(S("StringMatchQ"), x, p)
    fold = opts["IgnoreCase"] is TRUE
    alternatives = list_items(p) if is_list(p) else [p]
    if alternatives and all(isinstance(t, str) or _verbatim(t) for t in alternatives):
        globs = [["\\" + c for c in t.args[0]] if _verbatim(t) else _glob(t)
                 for t in alternatives]
        return each_string("StringMatchQ", x, call, lambda s: boolean(
            any(_glob_match(g, s, fold) for g in globs)))
    rx = compile_pattern(p, call, fold).regex
    return each_string("StringMatchQ", x, call,
                       lambda s: boolean(rx.fullmatch(s) is not None))


@builtin("StringCases", ("StringCases[s, p]", "StringCases[s, p -> rhs]",
                         "StringCases[s, {p1 -> rhs1, ...}]", "StringCases[s, p, n]"),
         "the substrings of s that match the string pattern p (rhs for each, with a rule, "
         "its pattern names set to what they matched), the first n of them; Listable in s",
         args=(2, 3), options={"Overlaps": S("False"), "IgnoreCase": S("False")},
         section="Strings")
def _string_cases(ev, x, p, n=None, opts=None):
    assert opts is not None
    call = Expr(S("StringCases"), x, p, *([] if n is None else [n]))
    count = _limit(n, "StringCases", call)
    fold = opts["IgnoreCase"] is TRUE
    items = list_items(p) if is_list(p) else [p]
    if not any(is_rule(r) for r in items):
        pat = _pattern("StringCases", p, call, opts["IgnoreCase"])
        return each_string("StringCases", x, call, lambda s: make_list(
            m.group(0) for m in _matches(pat, s, opts["Overlaps"])[:count]))
    rules = [(r.args[0], r.args[1], r.head is S("RuleDelayed")) if is_rule(r) else
             (r, None, False) for r in items]
    regex, pats = compile_rules(rules, call, fold)
    search = StringPattern(regex)

    def cases(s: str) -> Any:
        out = []
        for m in _matches(search, s, opts["Overlaps"])[:count]:
            k = next(k for k in range(len(rules)) if m.group(f"r{k}") is not None)
            rhs = rules[k][1]
            out.append(m.group(0) if rhs is None else rule_value(ev, pats[k], rhs, m))
        return make_list(out)
    return each_string("StringCases", x, call, cases)


@builtin("StringPosition", ("StringPosition[s, p]", "StringPosition[s, p, n]"),
         "the {start, end} character positions of each match of the string pattern p "
         "(overlapping ones too unless Overlaps -> False), the first n of them; Listable in s",
         args=(2, 3), options={"Overlaps": TRUE, "IgnoreCase": S("False")},
         section="Strings")
def _string_position(ev, x, p, n=None, opts=None):
    assert opts is not None
    call = Expr(S("StringPosition"), x, p, *([] if n is None else [n]))
    pat = _pattern("StringPosition", p, call, opts["IgnoreCase"])
    count = _limit(n, "StringPosition", call)

    def positions(s: str) -> Any:
        found = _matches(pat, s, opts["Overlaps"])[:count]
        return make_list(make_list([m.start() + 1, m.end()]) for m in found) if found \
            else Expr(S("List"))
    return each_string("StringPosition", x, call, positions)


OPERATOR_FORMS["StringMatchQ"] = True   # StringMatchQ[p][s] is StringMatchQ[s, p]
OPERATOR_FORMS["StringCases"] = True
