"""InputForm and OutputForm printing with Wolfram's operator precedence.

The precedence numbers are Wolfram's (``Precedence[Plus]`` is 310, ...), the
same ladder as ``grammar/wolfram.lark``. InputForm must re-parse to the same
expression (a hypothesis test checks it), so operator syntax is used only for
shapes that the parser rebuilds exactly; anything else prints as ``head[args]``:

    Plus[a, Times[-1, b]]     a - b          Plus[a, Times[-1, 2]]   a - 1*2
    Plus[a, Times[-2, b]]     a - 2*b        Times[a, Power[b, -1]]  a/b
    Set[f[x], 1]              Set[f[x], 1]   (only symbols and parts can be assigned)
    Span[a, b, c, d]          Span[a, b, c, d]   (a ;; b ;; c ;; d means something else)

Every rendering step returns ``(text, precedence)`` together, so that nested
operators are formatted once each (deciding parentheses needs the precedence).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import expr as _expr
from .budget import deep_recursion
from .expr import (Association, Expr, List, Opaque, Power, Symbol, Times, format_real_input,
                   format_real_output, is_integer, is_number, is_rule, quote_string, to_atom)

ATOM = 1000
CALL = 670
MINUS = 480  # unary minus, and how tightly a written negative number binds
PREC = {
    "CompoundExpression": 10, "Set": 40, "SetDelayed": 40, "Function": 90,
    "Rule": 120, "RuleDelayed": 120, "Or": 215, "And": 217, "Not": 230,
    "Equal": 290, "Unequal": 290, "Less": 290, "LessEqual": 290, "Greater": 290,
    "GreaterEqual": 290, "SameQ": 290, "UnsameQ": 290, "Span": 305, "Plus": 310,
    "Times": 400, "Dot": 490, "Power": 590, "Map": 620, "Apply": 620, "Part": CALL,
}
# flat n-ary operators whose chains the parser rebuilds as one head[a, b, c]
INFIX = {"Or": " || ", "And": " && ", "Equal": " == ", "Unequal": " != ", "Less": " < ",
         "LessEqual": " <= ", "Greater": " > ", "GreaterEqual": " >= ", "SameQ": " === ",
         "UnsameQ": " =!= ", "Dot": " . "}
RIGHT_BINARY = {"Rule": " -> ", "RuleDelayed": " :> ", "Set": " = ", "SetDelayed": " := ",
                "Map": " /@ ", "Apply": " @@ "}
_NULL = Symbol("Null")


def _negative_number(x: Any) -> bool:
    """A number written with a leading '-' (including -0.)."""
    if isinstance(x, float):
        return x < 0 or (x == 0 and str(x).startswith("-"))
    return is_integer(x) and x < 0


def _assignable(x: Any) -> bool:
    """What the parser accepts left of '=' and ':=': a symbol, or Part of one."""
    return isinstance(x, Symbol) or (
        isinstance(x, Expr) and x.head is _PART and len(x.args) >= 1
        and isinstance(x.args[0], Symbol))


def _reciprocal(x: Any) -> bool:
    """``Power[b, -1]``, which prints as ``/b`` after another factor."""
    return (isinstance(x, Expr) and x.head is Power and len(x.args) == 2
            and is_integer(x.args[1]) and x.args[1] == -1)


_PART = Symbol("Part")


class Printer:
    def __init__(self, real: Callable[[float], str], exact: bool, max_elements: int | None = None):
        self.real = real
        self.exact = exact
        self.max_elements = max_elements

    def format(self, x: Any) -> str:
        return self.render(x)[0]

    # ------------------------------------------------------------------
    def fmt(self, x: Any, min_prec: int) -> str:
        """``x`` as an operand that needs at least ``min_prec``: parenthesised if weaker."""
        text, prec = self.render(x)
        return f"({text})" if prec < min_prec else text

    def prec_of(self, x: Any) -> int:
        return self.render(x)[1]

    def render(self, x: Any) -> tuple[str, int]:
        if isinstance(x, Expr):
            head = x.head
            if isinstance(head, Symbol):
                op = self._operator_form(x)
                if op is not None:
                    return op
                if head is List:
                    return "{" + self._seq(x.args) + "}", ATOM
            return f"{self.fmt(head, CALL)}[{self._seq(x.args)}]", CALL
        if isinstance(x, np.ndarray):
            return self._array(x), ATOM
        if isinstance(x, bool):
            return ("True" if x else "False"), ATOM
        if isinstance(x, int):
            return str(x), (MINUS if x < 0 else ATOM)
        if isinstance(x, float):
            text = self.real(x)
            return text, (MINUS if text.startswith("-") else ATOM)
        if isinstance(x, str):
            return (quote_string(x) if self.exact else x), ATOM
        if isinstance(x, Symbol):
            return x.name, ATOM
        if isinstance(x, Association):
            items = [f"{self.fmt(k, 121)} {':>' if d else '->'} {self.fmt(v, 120)}"
                     for k, v, d in x.rules]
            return "<|" + ", ".join(items) + "|>", ATOM
        if isinstance(x, Opaque):
            return (x.input_form() if self.exact else x.output_form()), ATOM
        return repr(x), ATOM

    def _seq(self, items) -> str:
        return ", ".join(self.fmt(a, 11) for a in items)

    def _array(self, a: np.ndarray) -> str:
        if a.ndim == 0:
            return self.render(to_atom(a.item()))[0]
        n = a.shape[0]
        limit = self.max_elements
        if limit is not None and a.size > limit and n > 4:
            shown = [self._array(a[i]) if a.ndim > 1 else self.format(to_atom(a[i].item()))
                     for i in (0, 1, 2)]
            last = self._array(a[-1]) if a.ndim > 1 else self.format(to_atom(a[-1].item()))
            return "{" + ", ".join(shown) + f", <<{n - 4}>>, {last}" + "}"
        if a.ndim == 1:
            if a.dtype.kind == "f":
                return "{" + ", ".join(self.real(v) for v in a.tolist()) + "}"
            return "{" + ", ".join(self.format(to_atom(v)) for v in a.tolist()) + "}"
        return "{" + ", ".join(self._array(row) for row in a) + "}"

    # ------------------------------------------------------------------
    def _operator_form(self, x: Expr) -> tuple[str, int] | None:
        """Operator syntax for ``x`` and its precedence, or None when only
        ``head[args]`` re-parses exactly."""
        name, args = x.head.name, x.args
        n = len(args)
        if name == "Plus" and n >= 2:
            return self._plus(args), PREC["Plus"]
        if name == "Times" and n >= 2:
            return self._times(args), PREC["Times"]
        if name in INFIX and n >= 2:
            p = PREC[name]
            return INFIX[name].join(self.fmt(a, p + 1) for a in args), p
        if name == "Power" and n == 2:
            base, exponent = args
            lhs = self.fmt(base, PREC["Power"] + 1)
            if _negative_number(exponent):
                # a^-2 is Power[a, -2], but the unary minus takes what follows at its
                # own precedence (a^-2 . b is a^(-2 . b)): so bind like unary minus
                return f"{lhs}^{self.render(exponent)[0]}", MINUS
            return f"{lhs}^{self.fmt(exponent, PREC['Power'])}", PREC["Power"]
        if name in RIGHT_BINARY and n == 2:
            if name in ("Set", "SetDelayed") and not _assignable(args[0]):
                return None
            p = PREC[name]
            lhs_prec = CALL if name in ("Map", "Apply") else p + 1
            return f"{self.fmt(args[0], lhs_prec)}{RIGHT_BINARY[name]}{self.fmt(args[1], p)}", p
        if name == "Span" and n in (2, 3):
            # a ;; b ;; c ;; d would parse as Span[Span[a, b, c], d]
            return " ;; ".join(self.fmt(a, PREC["Span"] + 1) for a in args), PREC["Span"]
        if name == "Not" and n == 1:
            return "!" + self.fmt(args[0], PREC["Not"]), PREC["Not"]
        if name == "Function" and n == 1:
            return self.fmt(args[0], PREC["Function"] + 1) + " &", PREC["Function"]
        if name == "CompoundExpression" and n >= 2:
            parts = [self.fmt(a, 11) for a in args]
            if args[-1] is _NULL:  # a; is CompoundExpression[a, Null]
                return "; ".join(parts[:-1]) + ";", PREC["CompoundExpression"]
            return "; ".join(parts), PREC["CompoundExpression"]
        if name == "Part" and n >= 2:
            return f"{self.fmt(args[0], CALL)}[[{self._seq(args[1:])}]]", CALL
        if name == "Association" and all(is_rule(a) for a in args):
            return "<|" + self._seq(args) + "|>", ATOM
        if name == "Slot" and n == 1 and is_integer(args[0]) and args[0] >= 0:
            return f"#{args[0]}", ATOM
        if name == "Out" and n <= 1:
            if n == 0:
                return "%", ATOM
            if is_integer(args[0]) and args[0] >= 0:
                return f"%{args[0]}", ATOM
        return None

    def _plus(self, args) -> str:
        out = [self.fmt(args[0], PREC["Plus"] + 1)]
        for t in args[1:]:
            diff = self._difference(t)
            out.append(" - " + diff if diff is not None
                       else " + " + self.fmt(t, PREC["Plus"] + 1))
        return "".join(out)

    def _difference(self, t: Any) -> str | None:
        """``x`` when the term ``t`` can be written ``- x``, or None. The parser (as
        Wolfram's CodeParser) negates a subtracted number, puts -1 before a subtracted
        product and wraps anything else: a - 2 is Plus[a, -2], a - 2 b is
        Plus[a, Times[-1, 2, b]], a - (b c) is Plus[a, Times[-1, Times[b, c]]]."""
        if _negative_number(t):
            text = self.render(t)[0]
            return text[1:] if text != "-0." else None
        if not (isinstance(t, Expr) and t.head is Times and len(t.args) >= 2):
            return None
        c, rest = t.args[0], t.args[1:]
        if not (is_integer(c) and c == -1) or _negative_number(rest[0]):
            return None
        if len(rest) == 1:
            if is_number(rest[0]):
                return None  # a - 2 is Plus[a, -2]
            return self.fmt(rest[0], PREC["Times"] + 1)
        if is_integer(rest[0]) and rest[0] == -1:
            return None
        return self._times(rest)

    def _times(self, args) -> str:
        first, rest = args[0], args[1:]
        if is_integer(first) and first == -1 and not is_number(rest[0]):
            # -x*y is Times[-1, x, y]: unary minus flattens into the product it starts
            out = ["-" + self.fmt(rest[0], MINUS + 1)]
            rest = rest[1:]
        else:
            out = [self.fmt(first, PREC["Times"] + 1) if not _negative_number(first)
                   else self.render(first)[0]]
        for a in rest:
            if _reciprocal(a):
                out.append("/" + self.fmt(a.args[0], PREC["Times"] + 1))
            else:
                out.append("*" + self.fmt(a, PREC["Times"] + 1))
        return "".join(out)


@deep_recursion()
def input_form(x: Any) -> str:
    """``InputForm``: operator syntax, exact reals; re-parses to the same expression."""
    return Printer(real=format_real_input, exact=True).format(x)


@deep_recursion()
def output_form(x: Any, max_elements: int | None = 2000) -> str:
    """What ``Out[n]=`` shows: 6-digit reals, long lists elided with ``<<n>>``."""
    return Printer(real=format_real_output, exact=False, max_elements=max_elements).format(x)


_expr.TEXT_FORMS.update(input=input_form, output=output_form)
