"""InputForm and OutputForm printing with Wolfram's operator precedence.

The precedence numbers are Wolfram's (``Precedence[Plus]`` is 310, ...), the
same ladder as ``grammar/wolfram.lark``. InputForm must re-parse to the same
expression (a hypothesis test checks it), so operator syntax is used only for
shapes that the parser rebuilds exactly; anything else prints as ``head[args]``:

    Plus[a, Times[-1, b]]     a - b          Plus[a, Times[-1, 2]]   a + -1*2
    Plus[a, Times[-1, 2, b]]  a - 2*b        Times[a, Power[b, -1]]  a/b
    Set[f[x], 1]              f[x] = 1       x_h, x:p, x_:v, p /; c, p?t, #name, ##2, f::tag ...
    Span[a, b, c, d]          Span[a, b, c, d]   (a ;; b ;; c ;; d means something else)

Every rendering step returns ``(text, precedence)`` together, so that nested
operators are formatted once each (deciding parentheses needs the precedence).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from . import expr as _expr
from .budget import deep_recursion
from .contexts import symbol_text
from .expr import (Association, Expr, List, Opaque, Power, Symbol, Times, format_real_input,
                   format_real_output, int_text, is_integer, is_number, is_rule, quote_string, to_atom)

ATOM = 1000
CALL = 670
MINUS = 480  # unary minus, and how tightly a written negative number binds
PREC = {
    "CompoundExpression": 10, "Put": 30, "PutAppend": 30, "Set": 40, "SetDelayed": 40,
    "UpSet": 40, "UpSetDelayed": 40, "Unset": 40, "TagSet": 40, "TagSetDelayed": 40,
    "TagUnset": 40, "Function": 90, "AddTo": 100, "SubtractFrom": 100, "TimesBy": 100,
    "DivideBy": 100, "ReplaceAll": 110, "ReplaceRepeated": 110, "Rule": 120,
    "RuleDelayed": 120, "TwoWayRule": 125, "Condition": 130, "StringExpression": 135,
    "Optional": 140, "Pattern": 150, "Alternatives": 160, "Repeated": 170,
    "RepeatedNull": 170, "Or": 215, "And": 217, "Not": 230, "Element": 250, "SameQ": 260,
    "UnsameQ": 260, "Equal": 290, "Unequal": 290, "Less": 290, "LessEqual": 290,
    "Greater": 290, "GreaterEqual": 290, "Span": 298, "Plus": 310, "Times": 400,
    "Dot": 490, "Power": 590, "StringJoin": 600, "Factorial": 610, "Map": 620,
    "MapAll": 620, "Apply": 620, "MapApply": 620, "RightComposition": 643,
    "Composition": 644, "PreIncrement": 660, "PreDecrement": 660, "Increment": 665,
    "Decrement": 665, "Part": CALL, "PatternTest": 680, "MessageName": 750,
}
# flat n-ary operators whose chains the parser rebuilds as one head[a, b, c]
INFIX = {"Or": " || ", "And": " && ", "Equal": " == ", "Unequal": " != ", "Less": " < ",
         "LessEqual": " <= ", "Greater": " > ", "GreaterEqual": " >= ", "SameQ": " === ",
         "UnsameQ": " =!= ", "Dot": " . ", "Alternatives": " | ", "StringJoin": " <> ",
         "StringExpression": " ~~ ", "Element": " \\[Element] ",
         "Composition": " @* ", "RightComposition": " /* "}
RIGHT_BINARY = {"Rule": " -> ", "RuleDelayed": " :> ", "Set": " = ", "SetDelayed": " := ",
                "Map": " /@ ", "Apply": " @@ ", "MapAll": " //@ ", "MapApply": " @@@ ",
                "UpSet": " ^= ", "UpSetDelayed": " ^:= ", "TwoWayRule": " <-> ",
                "AddTo": " += ", "SubtractFrom": " -= ", "TimesBy": " *= ", "DivideBy": " /= "}
# left-associative binary operators: a /. b /. c is ReplaceAll[ReplaceAll[a, b], c]
LEFT_BINARY = {"ReplaceAll": " /. ", "ReplaceRepeated": " //. ", "Condition": " /; ",
               "PatternTest": "?"}
POSTFIX = {"Factorial": "!", "Increment": "++", "Decrement": "--", "Repeated": " ..",
           "RepeatedNull": " ...", "Unset": " =."}
PREFIX = {"PreIncrement": "++", "PreDecrement": "--"}
BLANKS = {"Blank": "_", "BlankSequence": "__", "BlankNullSequence": "___"}
_IDENTIFIER = re.compile(r"[A-Za-z$][A-Za-z0-9$]*(`[A-Za-z$][A-Za-z0-9$]*)*\Z")
_NULL = Symbol("Null")
# head name -> fn(expr, format) giving the OutputForm text of a display wrapper (TableForm,
# NumberForm, HoldForm, ...), or None for the plain form; filled by ``netdsl.textforms``
DISPLAY_FORMS: dict[str, Callable[[Any, Callable[[Any], str]], str | None]] = {}


def _negative_number(x: Any) -> bool:
    """A number written with a leading '-' (including -0.)."""
    if isinstance(x, float):
        return x < 0 or (x == 0 and str(x).startswith("-"))
    return is_integer(x) and x < 0


def _plain_symbol(x: Any) -> bool:
    """A symbol whose name can be written directly before ``_`` or ``::``."""
    return isinstance(x, Symbol) and _IDENTIFIER.match(x.name) is not None


def _blank_text(x: Any) -> str | None:
    """``_``, ``__h``, ...: the token for Blank[], BlankSequence[h], ..., or None."""
    if not (isinstance(x, Expr) and isinstance(x.head, Symbol) and x.head.name in BLANKS):
        return None
    if not x.args:
        return BLANKS[x.head.name]
    if len(x.args) == 1 and _plain_symbol(x.args[0]):
        return BLANKS[x.head.name] + symbol_text(x.args[0])
    return None


def _pattern_token(x: Any) -> str | None:
    """``x_h`` for Pattern[x, Blank[h]] and the blanks alone, or None."""
    blank = _blank_text(x)
    if blank is not None:
        return blank
    if isinstance(x, Expr) and x.head is _PATTERN and len(x.args) == 2 \
            and _plain_symbol(x.args[0]):
        blank = _blank_text(x.args[1])
        if blank is not None:
            return symbol_text(x.args[0]) + blank
    return None


def _reciprocal(x: Any) -> bool:
    """``Power[b, -1]``, which prints as ``/b`` after another factor."""
    return (isinstance(x, Expr) and x.head is Power and len(x.args) == 2
            and is_integer(x.args[1]) and x.args[1] == -1)


_PART = Symbol("Part")
_PATTERN = Symbol("Pattern")
_BLANK = Symbol("Blank")


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
                if not self.exact and head.name in DISPLAY_FORMS:
                    shown = DISPLAY_FORMS[head.name](x, self.format)
                    if shown is not None:
                        return shown, ATOM
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
            return int_text(x), (MINUS if x < 0 else ATOM)
        if isinstance(x, Fraction):
            text = f"{int_text(x.numerator)}/{int_text(x.denominator)}"
            return text, (MINUS if x < 0 else PREC["Times"])
        if isinstance(x, float):
            text = self.real(x)
            return text, (MINUS if text.startswith("-") else ATOM)
        if isinstance(x, str):
            return (quote_string(x) if self.exact else x), ATOM
        if isinstance(x, Symbol):
            return symbol_text(x), ATOM
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
            p = PREC[name]
            lhs_prec = CALL if p == 620 else p + 1
            return f"{self.fmt(args[0], lhs_prec)}{RIGHT_BINARY[name]}{self.fmt(args[1], p)}", p
        pattern = self._pattern_form(name, args)
        if pattern is not None:
            return pattern
        if name in LEFT_BINARY and n == 2:
            p = PREC[name]
            right = self.fmt(args[1], p + 1)
            if name == "PatternTest" and isinstance(args[1], Expr) \
                    and args[1].head in (Symbol("MessageName"), Symbol("Get")):
                right = f"({right})"    # the parser's test is an atom: p?f::t would read
            #                             as (p?f)::t, p?<<f not at all
            return f"{self.fmt(args[0], p)}{LEFT_BINARY[name]}{right}", p
        if name in POSTFIX and n == 1:
            p = PREC[name]
            # x = y =. is Set[x, Unset[y]]: an assignment inside =. needs brackets
            return self.fmt(args[0], p + 1 if name == "Unset" else p) + POSTFIX[name], p
        if name in PREFIX and n == 1:
            p = PREC[name]
            return PREFIX[name] + self.fmt(args[0], p), p
        if name in ("TagSet", "TagSetDelayed") and n == 3:
            op = " = " if name == "TagSet" else " := "
            return (f"{self.fmt(args[0], 42)} /: {self.fmt(args[1], 42)}{op}"
                    f"{self.fmt(args[2], 40)}"), 40
        if name == "TagUnset" and n == 2:
            return f"{self.fmt(args[0], 42)} /: {self.fmt(args[1], 42)} =.", 40
        if name in ("Put", "PutAppend") and n == 2 and isinstance(args[1], str):
            op = " >> " if name == "Put" else " >>> "
            return self.fmt(args[0], 31) + op + quote_string(args[1]), 30
        if name == "Get" and n == 1 and isinstance(args[0], str):
            return "<<" + quote_string(args[0]), ATOM
        if name == "MessageName" and n >= 2 and _plain_symbol(args[0]) and all(
                isinstance(t, str) and _IDENTIFIER.match(t) and "`" not in t for t in args[1:]):
            return "::".join([symbol_text(args[0]), *args[1:]]), ATOM
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
        if name == "Slot" and n == 1 and isinstance(args[0], str):
            if _IDENTIFIER.match(args[0]) and "`" not in args[0]:
                return f"#{args[0]}", ATOM
            return "#" + quote_string(args[0]), ATOM
        if name == "SlotSequence" and n == 1 and is_integer(args[0]) and args[0] >= 0:
            return f"##{args[0]}", ATOM
        if name == "Out" and n <= 1:
            if n == 0:
                return "%", ATOM
            if is_integer(args[0]) and args[0] >= 0:
                return f"%{args[0]}", ATOM
        return None

    def _pattern_form(self, name: str, args: tuple) -> tuple[str, int] | None:
        """Blanks, ``x_h``, ``x:p``, ``x_.``, ``x_:v``, ``x:p:v``, or None."""
        n = len(args)
        token = _pattern_token(Expr(Symbol(name), *args)) if name in BLANKS or \
            name == "Pattern" else None
        if token is not None:
            return token, ATOM
        if name == "Pattern" and n == 2 and _plain_symbol(args[0]):
            return f"{symbol_text(args[0])}:{self.fmt(args[1], 151)}", PREC["Pattern"]
        if name == "Optional" and n == 1:
            p = args[0]
            if isinstance(p, Expr) and p.head is _BLANK and not p.args:
                return "_.", ATOM
            if isinstance(p, Expr) and p.head is _PATTERN and len(p.args) == 2 \
                    and _plain_symbol(p.args[0]) and isinstance(p.args[1], Expr) \
                    and p.args[1].head is _BLANK and not p.args[1].args:
                return symbol_text(p.args[0]) + "_.", ATOM
        if name == "Optional" and n == 2:   # a default x:p in parentheses (_:(x:0))
            p, default = args
            token = _pattern_token(p)
            if token is not None:
                return f"{token}:{self.fmt(default, 151)}", PREC["Optional"]
            if isinstance(p, Expr) and p.head is _PATTERN and len(p.args) == 2 \
                    and _plain_symbol(p.args[0]):
                return (f"{symbol_text(p.args[0])}:{self.fmt(p.args[1], 151)}:"
                        f"{self.fmt(default, 151)}"), PREC["Optional"]
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
            operand = self.fmt(rest[0], MINUS + 1)
            # "- --x": written "---x" the lexer would read "--" first (PreDecrement)
            out = [("- " if operand.startswith("-") else "-") + operand]
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


_expr.TEXT_FORMS.update(input=input_form, output=output_form, symbol=symbol_text)


# ---------------------------------------------------------------- bounded printing for messages
class _Skeleton(Opaque):
    """``<<n>>``: n elements left out, as Wolfram's Short shows them."""

    def __init__(self, n: int):
        self.n = n

    def input_form(self) -> str:
        return f"<<{self.n}>>"


def prune(x: Any, depth: int = 8, width: int = 8, arrays: bool = True) -> Any:
    """A small copy of ``x`` for display: below ``depth`` levels, and beyond ``width``
    elements of any part, parts become ``<<n>>``. It costs O(width^depth) at most,
    whatever the size of ``x``, so messages about huge or deeply nested expressions stay
    fast (and never recurse deeply). ``arrays=False`` keeps packed arrays whole, for
    OutputForm, which elides long arrays itself."""
    if isinstance(x, Expr):
        if depth <= 0:
            return _Skeleton(1)
        args = x.args
        kept = [prune(a, depth - 1, width, arrays) for a in args[:width]]
        if len(args) > width:
            kept.append(_Skeleton(len(args) - width))
        return Expr(prune(x.head, depth - 1, width, arrays), *kept)
    if isinstance(x, np.ndarray):
        if x.ndim == 0 or not arrays or (x.size <= width and x.ndim <= depth):
            return x
        if depth <= 0:
            return _Skeleton(1)
        rows = [prune(to_atom(r.item()) if x.ndim == 1 else r, depth - 1, width)
                for r in x[:width]]
        if x.shape[0] > width:
            rows.append(_Skeleton(x.shape[0] - width))
        return Expr(List, *rows)
    if isinstance(x, Association):
        if depth <= 0:
            return _Skeleton(1)
        rules = [(prune(k, depth - 1, width, arrays), prune(v, depth - 1, width, arrays), d)
                 for k, v, d in x.rules[:width]]
        out = Association(rules)
        return out if len(x) <= width else Expr(List, *[
            Expr(Symbol("RuleDelayed" if d else "Rule"), k, v) for k, v, d in rules],
            _Skeleton(len(x) - width))
    if isinstance(x, str) and len(x) > 200:
        return x[:100] + "..."
    if isinstance(x, int) and not isinstance(x, bool) and x.bit_length() > 400:
        return _Skeleton(1)
    return x


def short(x: Any, limit: int = 120) -> str:
    """``x`` as InputForm text of at most about ``limit`` characters, for messages: the one
    bounded printer every error message uses, fast for expressions of any size or depth."""
    text = input_form(prune(x))
    return text if len(text) <= limit else text[:limit - 5] + " ...]"
