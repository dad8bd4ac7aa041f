"""Padding and searching strings: StringPadLeft, StringPadRight, StringCount, StringMatchQ,
StringCases, StringPosition.

netdsl has no string patterns (``~~``, ``DigitCharacter``, ``RegularExpression``): the
searches take literal strings, or lists of them as alternatives (tried in order at each
position, as Wolfram does), and give a clear error for anything else. StringMatchQ
follows Wolfram's rule for a plain string: ``*`` stands for zero or more characters and
``@`` for one or more characters but capital letters (``Verbatim["a*"]`` is taken as it
is). Searching is done by Python's regular-expression
engine on escaped literals (one C loop over the string).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .. import budget
from ..errors import EvaluationError
from ..expr import Expr, Symbol, boolean, is_integer, is_list, is_rule, list_items, make_list
from ..printer import short
from .registry import OPERATOR_FORMS, builtin, wrong_call
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


# ---------------------------------------------------------------- literal searches
def literal_only(name: str, p: Any) -> EvaluationError:
    return EvaluationError(
        f"{short(p)} is not a literal string or a list of them: netdsl's {name} searches for "
        f"literal strings only (string patterns such as ~~, DigitCharacter and "
        f"RegularExpression are not supported).", symbol=name, tag="strpatt")


def _alternatives(name: str, p: Any) -> list[str]:
    items = list_items(p) if is_list(p) else [p]
    if not items or not all(isinstance(t, str) for t in items):
        raise literal_only(name, p)
    return items


def _regex(name: str, p: Any, ignore_case: Any) -> re.Pattern | None:
    """One regular expression for the literal alternatives, None if all are empty (an empty
    string matches nowhere)."""
    parts = [re.escape(t) for t in _alternatives(name, p) if t]
    if not parts:
        return None
    return re.compile("|".join(parts), re.IGNORECASE if ignore_case is TRUE else 0)


def _matches(rx: re.Pattern | None, s: str, overlaps: Any) -> list[tuple[int, int]]:
    """(start, end) of each match: one per start position with overlaps, else left to
    right without overlapping."""
    if rx is None:
        return []
    if overlaps is TRUE:
        look = re.compile(f"(?=({rx.pattern}))", rx.flags)
        return [(m.start(), m.start() + len(m.group(1))) for m in look.finditer(s)]
    return [m.span() for m in rx.finditer(s)]


def _each_string(name: str, x: Any, call: Any, fn) -> Any:
    if is_list(x):
        return make_list(_each_string(name, s, call, fn) for s in list_items(x))
    return fn(_string(x, name, call))


def _limit(n: Any, name: str, call: Any) -> int | None:
    if n is None:
        return None
    if not (is_integer(n) and n >= 0):
        raise wrong_call(name, call, f"{short(n)} is not a non-negative integer")
    return n


@builtin("StringCount", ("StringCount[s, \"sub\"]", "StringCount[s, {\"sub1\", \"sub2\", ...}]"),
         "how many times the literal substring occurs in s (without overlaps unless "
         "Overlaps -> True); Listable in s", args=2,
         options={"Overlaps": S("False"), "IgnoreCase": S("False")}, section="Strings")
def _string_count(ev, x, p, opts):
    call = Expr(S("StringCount"), x, p)
    rx = _regex("StringCount", p, opts["IgnoreCase"])
    return _each_string("StringCount", x, call,
                        lambda s: len(_matches(rx, s, opts["Overlaps"])))


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


@builtin("StringMatchQ", ("StringMatchQ[s, \"pattern\"]", "StringMatchQ[\"pattern\"][s]"),
         "True if the whole of s matches the literal pattern, where * stands for zero or "
         "more characters and @ for one or more but capitals (Verbatim[\"p\"]: p as it is); "
         "Listable in s", args=2,
         options={"IgnoreCase": S("False")}, section="Strings")
def _string_match_q(ev, x, p, opts):
    call = Expr(S("StringMatchQ"), x, p)
    fold = opts["IgnoreCase"] is TRUE
    alternatives = list_items(p) if is_list(p) else [p]
    globs = [["\\" + c for c in t.args[0]] if _verbatim(t)    # every character literal
             else _glob(t) if isinstance(t, str) else None for t in alternatives]
    if not globs or any(g is None for g in globs):
        raise literal_only("StringMatchQ", p)
    return _each_string("StringMatchQ", x, call, lambda s: boolean(
        any(_glob_match(g, s, fold) for g in globs)))


@builtin("StringCases", ("StringCases[s, \"sub\"]", "StringCases[s, \"sub\" -> rhs]",
                         "StringCases[s, p, n]"),
         "the occurrences of the literal substring in s (rhs for each, with a rule), the first "
         "n of them; Listable in s", args=(2, 3),
         options={"Overlaps": S("False"), "IgnoreCase": S("False")}, section="Strings")
def _string_cases(ev, x, p, n=None, opts=None):
    assert opts is not None
    call = Expr(S("StringCases"), x, p, *([] if n is None else [n]))
    rules = list_items(p) if is_list(p) and all(is_rule(r) for r in list_items(p)) else \
        [p] if is_rule(p) else None
    count = _limit(n, "StringCases", call)
    if rules is None:
        rx = _regex("StringCases", p, opts["IgnoreCase"])
        values: dict[str, Any] = {}
    else:
        lhs = [r.args[0] for r in rules]
        if not all(isinstance(t, str) for t in lhs):
            raise literal_only("StringCases", p)
        rx = _regex("StringCases", make_list(lhs), opts["IgnoreCase"])
        values = {}
        for r in reversed(rules):   # the first rule for a left side wins
            values[r.args[0].lower() if opts["IgnoreCase"] is TRUE else r.args[0]] = r

    def cases(s: str) -> Any:
        spans = _matches(rx, s, opts["Overlaps"])[:count]
        if rules is None:
            return make_list(s[a:b] for a, b in spans)
        out = []
        for a, b in spans:
            text = s[a:b]
            rule = values[text.lower() if opts["IgnoreCase"] is TRUE else text]
            rhs = rule.args[1]
            out.append(ev.evaluate(rhs) if rule.head is S("RuleDelayed") else rhs)
        return make_list(out)
    return _each_string("StringCases", x, call, cases)


@builtin("StringPosition", ("StringPosition[s, \"sub\"]", "StringPosition[s, \"sub\", n]"),
         "the {start, end} character positions of each occurrence of the literal substring "
         "(overlapping ones too unless Overlaps -> False), the first n of them; Listable in s",
         args=(2, 3), options={"Overlaps": TRUE, "IgnoreCase": S("False")},
         section="Strings")
def _string_position(ev, x, p, n=None, opts=None):
    assert opts is not None
    call = Expr(S("StringPosition"), x, p, *([] if n is None else [n]))
    rx = _regex("StringPosition", p, opts["IgnoreCase"])
    count = _limit(n, "StringPosition", call)

    def positions(s: str) -> Any:
        spans = _matches(rx, s, opts["Overlaps"])[:count]
        return make_list(make_list([a + 1, b]) for a, b in spans) if spans else Expr(S("List"))
    return _each_string("StringPosition", x, call, positions)


OPERATOR_FORMS["StringMatchQ"] = True   # StringMatchQ[p][s] is StringMatchQ[s, p]
OPERATOR_FORMS["StringCases"] = True
