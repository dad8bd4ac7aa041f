"""How display wrappers print in OutputForm (``Out[n]=``, ToString, Print): NumberForm,
ScientificForm, TableForm, MatrixForm, Grid and HoldForm show their contents laid out,
not their heads. InputForm keeps the wrapper (it must re-parse to the same expression).

Plain text, as Wolfram's terminal shows these forms: a table's rows on lines of their
own, separated by a blank line, its columns three spaces apart; a Grid's columns one
space apart, centred; ``ScientificForm[12345.]`` is ``1.2345*10^4``. The wrappers only
change how approximate Reals print: Integers and Rationals print in full.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from .expr import Expr, format_real_output, is_integer, is_list, list_items
from .printer import DISPLAY_FORMS, Printer

def _digits_spec(spec: Any) -> tuple[int | None, int | None]:
    """NumberForm's ``n`` (significant digits) or ``{n, f}`` (f digits after the point)."""
    if is_integer(spec) and spec > 0:
        return spec, None
    items = list_items(spec) if is_list(spec) else []
    if len(items) == 2 and all(is_integer(t) and t >= 0 for t in items):
        return items[0], items[1]
    return None, None


MAX_DIGITS = 17     # a machine Real has no more significant digits than this
MAX_DECIMALS = 330  # enough for the smallest machine Reals


def number_text(x: float, digits: int | None, decimals: int | None) -> str:
    """A Real with ``digits`` significant digits, or ``decimals`` digits after the point."""
    digits = None if digits is None else min(digits, MAX_DIGITS)
    decimals = None if decimals is None else min(decimals, MAX_DECIMALS)
    if not math.isfinite(x):
        return format_real_output(x)
    if decimals is not None:
        return f"{x:.{decimals}f}" + ("." if decimals == 0 else "")
    return format_real_output(x, digits or 6)


def scientific_text(x: float, digits: int | None) -> str:
    """``m*10^e`` with one digit before the point in m (``1.2345*10^4``, ``5.*10^-1``)."""
    digits = None if digits is None else min(digits, MAX_DIGITS)
    if not math.isfinite(x):
        return format_real_output(x)
    if x == 0:
        return "0."
    mant, exp = f"{x:.{(digits or 6) - 1}e}".split("e")
    mant = mant.rstrip("0") if "." in mant else mant + "."
    e = int(exp)
    return mant if e == 0 else f"{mant}*10^{e}"


def _number_form(x: Expr, fmt: Callable[[Any], str]) -> str | None:
    if not x.args:
        return None
    digits, decimals = _digits_spec(x.args[1]) if len(x.args) > 1 else (None, None)
    if x.head.name == "ScientificForm":
        real = lambda v: scientific_text(v, digits)   # noqa: E731
    else:
        real = lambda v: number_text(v, digits, decimals)   # noqa: E731
    return Printer(real=real, exact=False, max_elements=2000).format(x.args[0])


def _rows(x: Any) -> list[list[Any]] | None:
    """The rows of a table: a vector's elements one per row, a matrix's rows."""
    if not is_list(x):
        return None
    items = list_items(x)
    return [list_items(item) if is_list(item) else [item] for item in items]


def layout(rows: list[list[str]], gap: int, centre: bool, blank_lines: bool) -> str:
    """Rows of cells (a cell may span lines) as aligned text."""
    width = max((len(r) for r in rows), default=0)
    cells = [[c.split("\n") for c in r] + [[""]] * (width - len(r)) for r in rows]
    col_w = [max((max(len(t) for t in row[j]) for row in cells), default=0) for j in range(width)]
    lines: list[str] = []
    for i, row in enumerate(cells):
        if i and blank_lines:
            lines.append("")
        height = max((len(c) for c in row), default=1)
        for k in range(height):
            parts = []
            for j, c in enumerate(row):
                t = c[k] if k < len(c) else ""
                parts.append(t.center(col_w[j]) if centre else t.ljust(col_w[j]))
            lines.append((" " * gap).join(parts).rstrip())
    return "\n".join(lines)


def _table(x: Expr, fmt: Callable[[Any], str]) -> str | None:
    rows = _rows(x.args[0]) if x.args else None
    if rows is None:
        return None
    centre = x.head.name == "Grid"
    gap = 1 if centre else 3
    matrix = any(len(r) > 1 for r in rows)   # a vector prints as a plain column
    return layout([[fmt(c) for c in r] for r in rows], gap, centre, matrix and not centre)


def _hold_form(x: Expr, fmt: Callable[[Any], str]) -> str | None:
    return fmt(x.args[0]) if len(x.args) == 1 else None


DISPLAY_FORMS.update({"NumberForm": _number_form, "ScientificForm": _number_form,
                      "TableForm": _table, "MatrixForm": _table, "Grid": _table,
                      "HoldForm": _hold_form})
