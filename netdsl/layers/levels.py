"""Wolfram level specifications (AggregationLayer, NormalizationLayer): n, -n, m;;n, All, and
lists of them, resolved against an input rank to a sorted set of 1-based levels."""

from __future__ import annotations

from typing import Any

from ..expr import Expr, S, input_form, is_integer, is_list, list_items

# a parsed spec is a tuple of items: ("level", k) | ("span", a, b) with a, b ints or None (All)
# | ("all",) (All itself, kept so that it prints back as All)


def level_spec(x: Any) -> tuple:
    """Parse n, m;;n, All or a list of them (no zero); ValueError saying what is expected."""
    items = list_items(x) if is_list(x) else [x]
    out: list[tuple] = []
    for i in items:
        if is_integer(i) and i != 0:
            out.append(("level", int(i)))
        elif i is S("All"):
            out.append(("all",))
        elif isinstance(i, Expr) and i.head is S("Span") and len(i.args) == 2 and all(
                (is_integer(a) and a != 0) or a is S("All") for a in i.args):
            a, b = (None if v is S("All") else int(v) for v in i.args)
            out.append(("span", 1 if a is None else a, b))
        else:
            raise ValueError("level specification was not a non-zero integer, a span, All, or "
                             "a list of integers or spans")
    return tuple(out)


def level_expr(spec: tuple) -> Any:
    """The spec back as the expression it was written as (NetExtract, summaries, InputForm)."""
    def one(item):
        if item[0] == "level":
            return item[1]
        if item[0] == "all":
            return S("All")
        a, b = item[1], item[2]
        return Expr(S("Span"), a, S("All") if b is None else b)
    parts = [one(i) for i in spec]
    return parts[0] if len(parts) == 1 else Expr(S("List"), *parts)


def needs_rank(spec: tuple) -> bool:
    return any(i[0] == "all" or i[0] == "span" and i[2] is None
               or any(v is not None and v < 0 for v in i[1:]) for i in spec)


def level_set(spec: tuple, rank: int) -> tuple[int, ...]:
    """Sorted 1-based levels; ValueError when a level exceeds the rank or a span is empty."""
    levels: set[int] = set()

    def fix(k: int) -> int:
        k2 = rank + k + 1 if k < 0 else k
        if not 1 <= k2 <= rank:
            raise ValueError(f"level specification {_words(spec)} exceeds rank of input "
                             f"({rank})")
        return k2
    for item in spec:
        if item[0] == "level":
            levels.add(fix(item[1]))
        elif item[0] == "all":
            levels.update(range(1, rank + 1))
        else:
            a = fix(item[1])
            b = rank if item[2] is None else fix(item[2])
            if a > b:
                raise ValueError("level specification contains empty span")
            levels.update(range(a, b + 1))
    return tuple(sorted(levels))


def _words(spec: tuple) -> str:
    return input_form(level_expr(spec))
