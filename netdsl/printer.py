"""InputForm and OutputForm printing with Wolfram's operator precedence.

The precedence numbers are Wolfram's (``Precedence[Plus]`` is 310, ...), the
same ladder as ``grammar/wolfram.lark``. InputForm must re-parse to the same
expression (a hypothesis test checks it), so operator syntax is used only for
shapes that the parser rebuilds exactly; anything else prints as ``head[args]``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .expr import Association, Expr, Opaque, Symbol, is_number, quote_string, to_atom

ATOM = 1000
CALL = 670
PREC = {
    "CompoundExpression": 10, "Set": 40, "SetDelayed": 40, "Function": 90,
    "Rule": 120, "RuleDelayed": 120, "Or": 215, "And": 217, "Not": 230,
    "Equal": 290, "Unequal": 290, "Less": 290, "LessEqual": 290, "Greater": 290,
    "GreaterEqual": 290, "SameQ": 290, "UnsameQ": 290, "Span": 305, "Plus": 310,
    "Times": 400, "Minus": 480, "Dot": 490, "Power": 590, "Map": 620, "Apply": 620,
    "Part": CALL,
}
INFIX = {"Or": " || ", "And": " && ", "Equal": " == ", "Unequal": " != ", "Less": " < ",
         "LessEqual": " <= ", "Greater": " > ", "GreaterEqual": " >= ", "SameQ": " === ",
         "UnsameQ": " =!= ", "Dot": " . ", "Span": " ;; "}
RIGHT_BINARY = {"Rule": " -> ", "RuleDelayed": " :> ", "Set": " = ", "SetDelayed": " := ",
                "Map": " /@ ", "Apply": " @@ ", "Power": "^"}


def _negative_number(x: Any) -> bool:
    return is_number(x) and x < 0 or (isinstance(x, float) and str(x).startswith("-"))


class Printer:
    def __init__(self, real: Callable[[float], str], exact: bool, max_elements: int | None = None):
        self.real = real
        self.exact = exact
        self.max_elements = max_elements

    def format(self, x: Any) -> str:
        return self.fmt(x, 0)

    # ------------------------------------------------------------------
    def prec_of(self, x: Any) -> int:
        if isinstance(x, Expr) and isinstance(x.head, Symbol):
            name = x.head.name
            if name in PREC and self._operator_form(x) is not None:
                if name == "Times" and x.args and _negative_number(x.args[0]):
                    return PREC["Times"]
                return PREC[name]
            return CALL
        if _negative_number(x):
            return PREC["Minus"]
        return ATOM

    def fmt(self, x: Any, min_prec: int) -> str:
        text = self._fmt(x)
        if self.prec_of(x) < min_prec:
            return f"({text})"
        return text

    def _fmt(self, x: Any) -> str:
        if isinstance(x, Expr):
            op = self._operator_form(x) if isinstance(x.head, Symbol) else None
            if op is not None:
                return op
            head = x.head
            if isinstance(head, Symbol) and head.name == "List":
                return "{" + self._seq(x.args) + "}"
            return f"{self.fmt(head, CALL)}[{self._seq(x.args)}]"
        if isinstance(x, np.ndarray):
            return self._array(x)
        if isinstance(x, bool):
            return "True" if x else "False"
        if isinstance(x, int):
            return str(x)
        if isinstance(x, float):
            return self.real(x)
        if isinstance(x, str):
            return quote_string(x) if self.exact else x
        if isinstance(x, Symbol):
            return x.name
        if isinstance(x, Association):
            items = [f"{self.fmt(k, 121)} {':>' if d else '->'} {self.fmt(v, 120)}"
                     for k, v, d in x.rules]
            return "<|" + ", ".join(items) + "|>"
        if isinstance(x, Opaque):
            return x.input_form() if self.exact else x.output_form()
        return repr(x)

    def _seq(self, items) -> str:
        return ", ".join(self.fmt(a, 11) for a in items)

    def _array(self, a: np.ndarray) -> str:
        if a.ndim == 0:
            return self._fmt(to_atom(a.item()))
        n = a.shape[0]
        limit = self.max_elements
        if limit is not None and a.size > limit and n > 4:
            shown = [self._array(a[i]) if a.ndim > 1 else self._fmt(to_atom(a[i].item()))
                     for i in (0, 1, 2)]
            last = self._array(a[-1]) if a.ndim > 1 else self._fmt(to_atom(a[-1].item()))
            return "{" + ", ".join(shown) + f", <<{n - 4}>>, {last}" + "}"
        if a.ndim == 1:
            if a.dtype.kind == "f":
                return "{" + ", ".join(self.real(v) for v in a.tolist()) + "}"
            return "{" + ", ".join(str(v) for v in a.tolist()) + "}"
        return "{" + ", ".join(self._array(row) for row in a) + "}"

    # ------------------------------------------------------------------
    def _operator_form(self, x: Expr) -> str | None:
        """Operator syntax for ``x``, or None when only ``head[args]`` re-parses exactly."""
        name, args = x.head.name, x.args
        n = len(args)
        if name == "Plus" and n >= 2:
            return self._plus(args)
        if name == "Times" and n >= 2:
            return self._times(args)
        if name in INFIX and n >= 2:
            p = PREC[name]
            return INFIX[name].join(self.fmt(a, p + 1) for a in args)
        if name in RIGHT_BINARY and n == 2:
            p = PREC[name]
            lhs, rhs = args
            if name == "Power":
                return f"{self.fmt(lhs, p + 1)}^{self.fmt(rhs, PREC['Minus'])}"
            lhs_prec = CALL if name in ("Map", "Apply") else p + 1
            return f"{self.fmt(lhs, lhs_prec)}{RIGHT_BINARY[name]}{self.fmt(rhs, p)}"
        if name == "Not" and n == 1:
            return "!" + self.fmt(args[0], PREC["Not"])
        if name == "Function" and n == 1:
            return self.fmt(args[0], PREC["Function"] + 1) + " &"
        if name == "CompoundExpression" and n >= 2:
            parts = [self.fmt(a, 11) for a in args]
            if args[-1] is Symbol("Null"):
                return "; ".join(parts[:-1]) + ";"
            return "; ".join(parts)
        if name == "Part" and n >= 2:
            return f"{self.fmt(args[0], CALL)}[[{self._seq(args[1:])}]]"
        if name == "Slot" and n == 1 and isinstance(args[0], int) and args[0] >= 1:
            return f"#{args[0]}"
        if name == "Out" and n <= 1:
            if n == 0:
                return "%"
            if isinstance(args[0], int) and args[0] >= 1:
                return f"%{args[0]}"
        return None

    def _plus(self, args) -> str:
        out = [self.fmt(args[0], PREC["Plus"] + 1)]
        for t in args[1:]:
            if is_number(t) and _negative_number(t) and not _is_neg_zero(t):
                out.append(" - " + self._fmt(-t))
            else:
                out.append(" + " + self.fmt(t, PREC["Plus"] + 1))
        return "".join(out)

    def _times(self, args) -> str:
        first, rest = args[0], args[1:]
        if (is_number(first) and first == -1 and not isinstance(first, float)
                and not is_number(rest[0])):
            head = "-" + self.fmt(rest[0], PREC["Minus"] + 1)
            tail = rest[1:]
        else:
            head = self.fmt(first, PREC["Times"] + 1) if not _negative_number(first) \
                else self._fmt(first)
            tail = rest
        return "*".join([head] + [self.fmt(a, PREC["Times"] + 1) for a in tail])


def _is_neg_zero(x: Any) -> bool:
    return isinstance(x, float) and x == 0.0
