"""Integer functions: Mod, Quotient, IntegerDigits, FromDigits, IntegerString.

Wolfram's conventions: ``Mod[m, n]`` is ``m - n Floor[m/n]`` (its sign is n's, for
Integers, Rationals and Reals alike), ``Quotient[m, n]`` is ``Floor[m/n]`` and always an
Integer (``Quotient[7.5, 2]`` is 3); with an offset d, ``Mod[m, n, d]`` lies in
``d <= x < d + n`` and ``Quotient[m, n, d]`` is ``Floor[(m - d)/n]``. Both are Listable:
packed arrays go through NumPy in one call; exact numbers beyond int64 and rationals go
element by element, exactly. Digits are of the absolute value, as in Wolfram.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from .. import budget
from ..errors import EvaluationError
from ..expr import Expr, Symbol, is_integer, is_list, is_number, list_items, make_list
from ..printer import short
from .arith import COMPLEX_INFINITY, INDETERMINATE, thread
from .numeric import (MAX_INT_BITS, as_array, broadcast_pair, exact, kind_of, overflow,
                      result, to_float)
from .registry import LISTABLE, NOT_APPLICABLE, builtin, wrong_call

S = Symbol


def listable(ev, name: str, args: tuple, scalar: Callable[..., Any],
             array: Callable[..., Any] | None) -> Any:
    """A numeric Listable function: ``scalar`` on numbers, ``array`` on NumPy arrays of one
    kind (int64 or float64; it may return None to go element by element), threading
    element by element over anything else (mixed lists, exact numbers beyond int64)."""
    vals = [exact(a) for a in args]
    if all(v is not None and not isinstance(v, np.ndarray) for v in vals):
        return scalar(*vals)
    if any(v is None for v in vals):
        if any(is_list(a) or hasattr(a, "keys") for a in args):
            return thread(ev, name, args)
        return NOT_APPLICABLE
    kinds = {kind_of(v) for v in vals}
    if array is not None and "O" not in kinds:
        arrays = [as_array(v) for v in vals]
        if "f" in kinds:
            arrays = [to_float(a) for a in arrays]
        full = arrays[0]
        for other in arrays[1:]:
            full, _ = broadcast_pair(full, other, name)
        shaped = [broadcast_pair(a, full, name)[0] if a.ndim < full.ndim else a
                  for a in arrays]
        out = array(*shaped)
        if out is not None:
            return result(out)
    return thread(ev, name, args)


def _floor_div(m: Any, n: Any) -> Any:
    """Floor[m/n] of two numbers, exact for exact ones (an Integer either way)."""
    if isinstance(m, float) or isinstance(n, float):
        q = math.floor(to_float(m) / to_float(n)) if math.isfinite(to_float(m) / to_float(n)) \
            else None
        if q is None:
            raise EvaluationError(f"Floor of a non-finite number in Quotient[{short(m)}, "
                                  f"{short(n)}].", symbol="Quotient", tag="nonfin")
        return q
    return math.floor(Fraction(m) / Fraction(n))


def _mod_scalar(ev, m: Any, n: Any, d: Any = 0) -> Any:
    if n == 0:
        ev.message("Mod", "indet", f"Indeterminate expression Mod[{short(m)}, {short(n)}] "
                                   f"encountered.")
        return INDETERMINATE
    if isinstance(m, float) or isinstance(n, float) or isinstance(d, float):
        x, y, z = to_float(m), to_float(n), to_float(d)
        if z == 0.0:
            return x % y   # Python's float remainder has the divisor's sign, as Wolfram's
        return x - y * math.floor((x - z) / y) if math.isfinite((x - z) / y) else math.nan
    out = Fraction(m) - Fraction(n) * math.floor((Fraction(m) - Fraction(d)) / Fraction(n))
    return int(out) if out.denominator == 1 else out


def _mod_array(m: np.ndarray, n: np.ndarray, d: np.ndarray | None = None) -> Any:
    if np.any(n == 0):
        return None   # the message and Indeterminate, element by element
    if m.dtype.kind == "f":
        with np.errstate(all="ignore"):
            if d is None:
                return np.mod(m, n)
            return m - n * np.floor((m - d) / n)
    if d is None:
        return np.mod(m, n)
    if max(int(np.abs(m).max(initial=0)), int(np.abs(d).max(initial=0))) >= 2 ** 62:
        return None   # m - d could overflow int64: exactly, element by element
    return m - n * np.floor_divide(m - d, n)


@builtin("Mod", ("Mod[m, n]", "Mod[m, n, d]"),
         "the remainder of m on division by n, of n's sign (m - n Floor[m/n]); with the offset "
         "d, in d <= x < d + n; Listable", args=(2, 3), attributes=(LISTABLE,),
         section="Integers")
def _mod(ev, m, n, d=None):
    args = (m, n) if d is None else (m, n, d)
    return listable(ev, "Mod", args, lambda *v: _mod_scalar(ev, *v), _mod_array)


def _quotient_scalar(ev, m: Any, n: Any, d: Any = 0) -> Any:
    if n == 0:
        ev.message("Quotient", "infy", f"Infinite expression Quotient[{short(m)}, {short(n)}] "
                                       f"encountered.")
        return COMPLEX_INFINITY
    if isinstance(d, float):
        m = to_float(m) - d
    elif d != 0:
        m = m - d
    return _floor_div(m, n)


def _quotient_array(m: np.ndarray, n: np.ndarray, d: np.ndarray | None = None) -> Any:
    if np.any(n == 0):
        return None
    if m.dtype.kind == "f":
        with np.errstate(all="ignore"):
            q = np.floor((m if d is None else m - d) / n)
        if not np.all(np.isfinite(q)) or (q.size and np.abs(q).max() >= 2.0 ** 62):
            return None
        return q.astype(np.int64)
    if np.any(n == -1) and m.size and int(m.min()) == -2 ** 63:
        return None   # -2^63 / -1 overflows int64
    if d is None:
        return np.floor_divide(m, n)
    if max(int(np.abs(m).max(initial=0)), int(np.abs(d).max(initial=0))) >= 2 ** 62:
        return None
    return np.floor_divide(m - d, n)


@builtin("Quotient", ("Quotient[m, n]", "Quotient[m, n, d]"),
         "the Integer Floor[m/n] (Floor[(m - d)/n] with an offset), also for Reals; Listable",
         args=(2, 3), attributes=(LISTABLE,), section="Integers")
def _quotient(ev, m, n, d=None):
    args = (m, n) if d is None else (m, n, d)
    return listable(ev, "Quotient", args, lambda *v: _quotient_scalar(ev, *v), _quotient_array)


# ---------------------------------------------------------------- digits
DIGIT_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base(b: Any, name: str, call: Any) -> int:
    if not (is_integer(b) and b >= 2):
        raise EvaluationError(f"Base {short(b)} in {short(call)} is not an integer greater "
                              f"than 1.", symbol=name, tag="ibase")
    return b


def _length(n: Any, name: str, call: Any) -> int | None:
    if n is None:
        return None
    if not (is_integer(n) and n >= 0):
        raise wrong_call(name, call, f"the length {short(n)} is not a non-negative integer")
    budget.check((n,), 8, "a list of digits")
    return n


def digits_of(n: int, base: int) -> list[int]:
    """The digits of |n| in ``base``, most significant first ({0} for 0)."""
    n = abs(n)
    if n == 0:
        return [0]
    if base == 10:
        return [int(c) for c in str(n)]
    if base & (base - 1) == 0:   # a power of two: from the binary digits, fast
        bits = base.bit_length() - 1
        width = -(-n.bit_length() // bits)
        return [(n >> (bits * i)) & (base - 1) for i in range(width - 1, -1, -1)]
    out = []
    while n:
        n, r = divmod(n, base)
        out.append(r)
    return out[::-1]


def _fit(digits: list[int], length: int | None) -> list[int]:
    """Padded with zeros on the left, or truncated to the last ``length`` digits."""
    if length is None:
        return digits
    if len(digits) >= length:
        return digits[len(digits) - length:]
    return [0] * (length - len(digits)) + digits


@builtin("IntegerDigits", ("IntegerDigits[n]", "IntegerDigits[n, b]", "IntegerDigits[n, b, len]"),
         "the digits of |n| in base b (10), padded with 0s on the left or truncated to len; "
         "Listable in n", args=(1, 3), attributes=(LISTABLE,), section="Integers")
def _integer_digits(ev, n, b=10, length=None):
    call = Expr(S("IntegerDigits"), n, b, *([] if length is None else [length]))
    if is_list(n):
        return make_list(_integer_digits(ev, x, b, length) for x in list_items(n))
    if not is_integer(n):
        return NOT_APPLICABLE
    base, size = _base(b, "IntegerDigits", call), _length(length, "IntegerDigits", call)
    return make_list(_fit(digits_of(n, base), size))


@builtin("IntegerString", ("IntegerString[n]", "IntegerString[n, b]",
                           "IntegerString[n, b, len]"),
         "the digits of |n| in base b (10; letters a-z past 9) as a string, padded with 0s or "
         "truncated to len; Listable in n", args=(1, 3), attributes=(LISTABLE,),
         section="Integers")
def _integer_string(ev, n, b=10, length=None):
    call = Expr(S("IntegerString"), n, b, *([] if length is None else [length]))
    if is_list(n):
        return make_list(_integer_string(ev, x, b, length) for x in list_items(n))
    if not is_integer(n):
        return NOT_APPLICABLE
    base, size = _base(b, "IntegerString", call), _length(length, "IntegerString", call)
    if base > 36:
        raise EvaluationError(f"Base {base} in {short(call)} is greater than 36: no letters "
                              f"for its digits.", symbol="IntegerString", tag="basf")
    if base == 10 and size is None:
        return str(abs(n))
    return "".join(DIGIT_CHARS[d] for d in _fit(digits_of(n, base), size))


@builtin("FromDigits", ("FromDigits[{d1, d2, ...}]", "FromDigits[{d1, ...}, b]",
                        "FromDigits[\"string\"]", "FromDigits[\"string\", b]"),
         "the number whose digits in base b (10) are given, most significant first (digits "
         "may exceed b); a string's letters count 10, 11, ...", args=(1, 2),
         section="Integers")
def _from_digits(ev, digits, b=10):
    call = Expr(S("FromDigits"), digits, b)
    if isinstance(digits, str):
        _base(b, "FromDigits", call)
        values = []
        for c in digits.lower():
            k = DIGIT_CHARS.find(c)
            if k < 0:
                raise wrong_call("FromDigits", call, f"{c!r} is not a digit")
            values.append(k)
        items: list[Any] = values
    elif is_list(digits):
        items = list_items(digits)
    else:
        return NOT_APPLICABLE
    if not is_number(b):
        return NOT_APPLICABLE
    if not all(is_number(d) for d in items):
        return NOT_APPLICABLE
    bits = abs(Fraction(b)).numerator.bit_length()
    if len(items) * max(bits, 1) > MAX_INT_BITS:
        raise overflow()
    if all(is_integer(d) for d in items) and is_integer(b):
        if b == 10 and all(0 <= d <= 9 for d in items) and items:
            return int("".join(map(str, items)))
        acc = 0
        for d in items:
            acc = acc * b + d
        return acc
    acc_expr: Any = 0
    for d in items:   # Rationals and Reals: Horner's rule with netdsl's arithmetic
        acc_expr = ev.call(S("Plus"), ev.call(S("Times"), acc_expr, b), d)
    return acc_expr
