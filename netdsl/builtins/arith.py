"""Arithmetic and elementary functions, Listable as in Wolfram, vectorised with NumPy.

Numbers are Wolfram's: Integers exact at any size (Python ints; int64 arrays only
where no result can overflow), Rationals exact (``1/3``, as ``fractions.Fraction``),
Reals machine floats; a Real operand makes the result Real. Symbolic operands leave
an expression unevaluated (x + 1 stays x + 1).
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from .. import budget
from ..errors import EvaluationError
from ..expr import (Association, Expr, Plus, Power, Symbol, Times, boolean, hash_key, input_form,
                    is_integer, is_list, is_number, list_items, list_length, make_list, same_q,
                    to_atom)
from ..printer import short
from .numeric import (INT64_MAX, MAX_INT_BITS, as_array, broadcast_pair, dims_text, exact,
                      int_bound, kind_of, numeric, overflow, result, to_float, to_object)
from .registry import NOT_APPLICABLE, builtin, wrong_call

S = Symbol


def thread(ev, head: str, args: tuple) -> Any:
    """Thread a Listable function over list arguments that are not all numeric, and over
    the values of associations (``<|a -> 1|> + 1`` is ``<|a -> 2|>``)."""
    assocs = [a for a in args if isinstance(a, Association)]
    if assocs:
        keys = [hash_key(k) for k in assocs[0].keys()]
        if any([hash_key(k) for k in a.keys()] != keys for a in assocs[1:]) \
                or any(is_list(a) for a in args):
            raise EvaluationError(
                f"Objects of unequal length in {short(Expr(S(head), *args))} cannot be "
                f"combined.", symbol="Thread", tag="tdlen")
        columns = [a.values() if isinstance(a, Association) else [a] * len(keys) for a in args]
        return Association((k, ev.call(S(head), *row), False)
                           for k, row in zip(assocs[0].keys(), zip(*columns)))
    lengths = {list_length(a) for a in args if is_list(a)}
    if len(lengths) > 1:
        raise EvaluationError(
            f"Objects of unequal length in {short(Expr(S(head), *args))} cannot be combined.",
            symbol="Thread", tag="tdlen")
    n = lengths.pop()
    columns = [list_items(a) if is_list(a) else [a] * n for a in args]
    return make_list(ev.call(S(head), *row) for row in zip(*columns))


def _needs_thread(args) -> bool:
    """A list that arithmetic cannot take whole (symbols, mixed Integer and Real
    elements), or an association: Listable functions go element by element."""
    return any((is_list(a) and exact(a) is None) or isinstance(a, Association) for a in args)


# ---------------------------------------------------------------- Plus, Times, Power
def combine(a: Any, b: Any, head: str) -> Any:
    """``a + b`` or ``a * b`` of numbers or arrays, exact for integers of any size.

    int64 arrays are used only when the result provably fits (the bound of the
    operands' largest magnitudes); otherwise the operation runs on Python ints.
    """
    plus = head == "Plus"
    if not isinstance(a, np.ndarray) and not isinstance(b, np.ndarray):
        if not plus and isinstance(a, int) and isinstance(b, int) \
                and a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise overflow()
        try:
            out = a + b if plus else a * b
        except OverflowError:  # a huge Integer with a Real
            raise overflow() from None
        if isinstance(out, float):
            if math.isinf(out) and not (isinstance(a, float) and math.isinf(a)) \
                    and not (isinstance(b, float) and math.isinf(b)):
                machine_overflow()
            return out
        return to_atom(out) if isinstance(out, Fraction) else out
    ka, kb = kind_of(a), kind_of(b)
    if "f" in (ka, kb):
        a, b = to_float(a), to_float(b)
    elif ka == "i" and kb == "i":
        ba, bb = int_bound(a), int_bound(b)
        if (ba + bb if plus else ba * bb) > INT64_MAX:
            a, b = to_object(a), to_object(b)
    else:
        if not plus:
            fast = _times_fraction(a, b) if isinstance(b, Fraction) else \
                _times_fraction(b, a) if isinstance(a, Fraction) else None
            if fast is not None:
                return fast
        if not plus and int_bound_bits(a) + int_bound_bits(b) > MAX_INT_BITS:
            raise overflow()
        a, b = to_object(a), to_object(b)
    a, b = broadcast_pair(as_array(a), as_array(b), head)
    if a.dtype.kind != "f" and b.dtype.kind != "f":
        return a + b if plus else a * b
    with np.errstate(over="ignore"):  # overflow is reported below; NaN warns by itself
        out = a + b if plus else a * b
    if not np.isfinite(out).all() and np.isfinite(a).all() and np.isfinite(b).all():
        machine_overflow()  # beyond the largest machine Real
    return out


def int_bound_bits(v: Any) -> int:
    if isinstance(v, Fraction):
        return max(v.numerator.bit_length(), v.denominator.bit_length())
    if isinstance(v, np.ndarray) and v.dtype == object:
        return max((int_bound_bits(x) for x in v.flat), default=0)
    return int_bound(v).bit_length() if not isinstance(v, float) else 0


def _times_fraction(a: Any, f: Fraction) -> Any:
    """An int64 array times p/q in int64 when every element is divisible by q (``v/2``)."""
    if not (isinstance(a, np.ndarray) and a.dtype.kind in "iu") or a.size == 0:
        return None
    p, q = f.numerator, f.denominator
    if q > INT64_MAX or abs(p) > INT64_MAX or np.any(a % q):
        return None
    whole = a // q
    if int_bound(whole) * abs(p) > INT64_MAX:
        return None
    return whole * p


COMPLEX_INFINITY = S("ComplexInfinity")
INDETERMINATE = S("Indeterminate")


def _indeterminate(ev, text: str) -> Symbol:
    ev.message("Infinity", "indet", f"Indeterminate expression {text} encountered.")
    return INDETERMINATE


def _special(ev, args: tuple, head: str) -> Any:
    """Plus and Times with Indeterminate or ComplexInfinity among numbers."""
    if any(a is INDETERMINATE for a in args):
        return INDETERMINATE
    infinities = sum(1 for a in args if a is COMPLEX_INFINITY)
    others = [a for a in args if a is not COMPLEX_INFINITY]
    if not all(is_number(a) for a in others):
        return None
    if head == "Plus":
        if infinities > 1:
            return _indeterminate(ev, "ComplexInfinity + ComplexInfinity")
        return COMPLEX_INFINITY
    if any(a == 0 for a in others):
        return _indeterminate(ev, "0 ComplexInfinity")
    return COMPLEX_INFINITY


@builtin("Plus", "a + b + ...", "sum; lists add element by element", section="Arithmetic")
def _plus(ev, *args):
    if not args:
        return 0
    if _needs_thread(args):
        return thread(ev, "Plus", args)
    nums = [exact(a) for a in args]
    if len(nums) == 2 and nums[0] is not None and nums[1] is not None:  # the common case
        return result(combine(nums[0], nums[1], "Plus"))
    if any(type(a) is Expr and a.head is Plus for a in args):   # Flat: 4 + (4 + a) is 8 + a
        args = tuple(b for a in args
                     for b in (a.args if type(a) is Expr and a.head is Plus else (a,)))
        nums = [exact(a) for a in args]
    numbers = [n for n in nums if n is not None]
    rest = [a for a, n in zip(args, nums) if n is None]
    if rest and (COMPLEX_INFINITY in rest or INDETERMINATE in rest):
        special = _special(ev, args, "Plus")
        if special is not None:
            return special
    total = _fold(numbers, "Plus") if numbers else 0
    if not rest:
        return result(total)
    if isinstance(total, np.ndarray):
        return thread(ev, "Plus", (result(total), *rest))
    parts = ([] if total == 0 and not isinstance(total, float) else [result(total)]) + rest
    return parts[0] if len(parts) == 1 else Expr(Plus, *parts)


def _fold(values: list[Any], head: str) -> Any:
    acc = values[0]
    for v in values[1:]:
        acc = combine(acc, v, head)
    return acc


@builtin("Times", ("a * b", "a b", "a / b"), "product; juxtaposition multiplies; lists element by element; "
         "a / b is exact for integers (1/3 is the Rational 1/3)", section="Arithmetic")
def _times(ev, *args):
    if not args:
        return 1
    if _needs_thread(args):
        return thread(ev, "Times", args)
    nums = [exact(a) for a in args]
    if len(nums) == 2 and nums[0] is not None and nums[1] is not None:  # the common case
        return result(combine(nums[0], nums[1], "Times"))
    if any(type(a) is Expr and a.head is Times for a in args):   # Flat: 4 + (4 + a) is 8 + a
        args = tuple(b for a in args
                     for b in (a.args if type(a) is Expr and a.head is Times else (a,)))
        nums = [exact(a) for a in args]
    numbers = [n for n in nums if n is not None]
    rest = [a for a, n in zip(args, nums) if n is None]
    if rest and (COMPLEX_INFINITY in rest or INDETERMINATE in rest):
        special = _special(ev, args, "Times")
        if special is not None:
            return special
    product = _fold(numbers, "Times") if numbers else 1
    if not rest:
        return result(product)
    if isinstance(product, np.ndarray):
        return thread(ev, "Times", (result(product), *rest))
    if product == 0 and not isinstance(product, float):
        return 0
    parts = ([] if product == 1 and not isinstance(product, float) else [result(product)]) + rest
    return parts[0] if len(parts) == 1 else Expr(Times, *parts)


def _infinite(ev, zero: Any = 0) -> Symbol:
    """Wolfram's ``Power::infy`` for x/0 (x/0 is x * Power[0, -1], hence "1/0" whatever x is);
    the value is ComplexInfinity."""
    ev.message("Power", "infy", f"Infinite expression 1/{'0.' if isinstance(zero, float) else '0'}"
                                f" encountered.")
    return COMPLEX_INFINITY


def _exact_root(a: int, q: int) -> int | None:
    """The integer r >= 0 with r^q == a, if there is one."""
    if a in (0, 1):
        return a
    if a < 0 or a.bit_length() >= 1000 or q > 1000:
        return None
    try:
        r = round(a ** (1.0 / q))
    except OverflowError:
        return None
    for c in (r - 1, r, r + 1):
        if c >= 0 and c ** q == a:
            return c
    return None


def _log_abs(x: Any) -> float:
    """log|x| for a number of any size (an exact one may be far beyond a machine Real)."""
    if isinstance(x, Fraction):
        return math.log(abs(x.numerator)) - math.log(x.denominator)
    return math.log(abs(x))


def _float_or_infinity(x: Any) -> float:
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def power_scalar(ev, a: Any, b: Any) -> Any:
    """``a^b`` for two numbers, exact when both are exact (``2^-2`` is ``1/4``)."""
    if a == 0 and b == 0:
        ev.message("Power", "indet", "Indeterminate expression 0^0 encountered.")
        return INDETERMINATE
    if isinstance(b, int) and not isinstance(a, float):
        if a == 0:
            return _infinite(ev) if b < 0 else 0
        if abs(a) == 1:
            return a ** (abs(b) % 2) if a == -1 else 1
        bits = max(abs(Fraction(a).numerator).bit_length(), Fraction(a).denominator.bit_length())
        if abs(b) * (bits - 1) > MAX_INT_BITS:
            raise overflow()
        out = Fraction(a) ** b
        return to_atom(out)
    if isinstance(b, Fraction) and not isinstance(a, float) and a >= 0:
        fa = Fraction(a)
        num, den = _exact_root(fa.numerator, b.denominator), _exact_root(fa.denominator,
                                                                        b.denominator)
        if num is not None and den is not None:
            return power_scalar(ev, to_atom(Fraction(num, den)), b.numerator)
    whole = isinstance(b, int) or (b.denominator == 1 if isinstance(b, Fraction)
                                   else float(b).is_integer())
    if a < 0 and not whole:
        exponent = f"({short(b)})" if isinstance(b, Fraction) else input_form(b)
        raise EvaluationError(f"({short(a)})^{exponent} is complex; netdsl computes "
                              f"with real numbers only.", symbol="Power", tag="cmplx")
    if a == 0 and b < 0:
        return _infinite(ev, a)
    odd = whole and int(b) % 2 == 1
    try:
        base = _float_or_infinity(a)
        if a != 0 and (base == 0.0 or math.isinf(base)):
            raise OverflowError  # an exact base beyond machine Reals: through logarithms
        return base ** float(b)
    except OverflowError:   # the result, or an exact operand beyond a machine Real
        sign = -1.0 if a < 0 and odd else 1.0
        if a == 0:
            return 0.0      # 0^b with b > 0 (b < 0 gave ComplexInfinity above)
        t = _float_or_infinity(b) * _log_abs(a) if a not in (1, -1) else 0.0
        if t > 709.0:
            machine_overflow()
            return sign * math.inf
        return sign * math.exp(t)   # underflows to 0. below about -745


@builtin("Power", "a ^ b", "power; exact for exact numbers (2^-1 is 1/2)", args=2,
         section="Arithmetic")
def _power(ev, a, b):
    if _needs_thread((a, b)):
        return thread(ev, "Power", (a, b))
    x, y = exact(a), exact(b)
    if x is None or y is None:
        if is_list(a) or is_list(b):
            return thread(ev, "Power", (a, b))
        if is_integer(y) and y == 1:
            return a
        if is_integer(x) and x == 1:
            return 1
        return NOT_APPLICABLE
    if not isinstance(x, np.ndarray) and not isinstance(y, np.ndarray):
        return power_scalar(ev, x, y)
    kx, ky = kind_of(x), kind_of(y)
    if "f" in (kx, ky):
        xa, ya = broadcast_pair(as_array(to_float(x)), as_array(to_float(y)), "Power")
        if ((xa == 0) & (ya <= 0)).any():  # 0^0 and 1/0 take their messages element by element
            return thread(ev, "Power", (a, b))
        if ((xa < 0) & (ya != np.floor(ya))).any():
            raise EvaluationError("A negative number to a fractional power is complex; netdsl "
                                  "computes with real numbers only.", symbol="Power",
                                  tag="cmplx")
        with np.errstate(all="ignore"):
            out = np.power(xa, ya)
        if not np.all(np.isfinite(out)) and np.all(np.isfinite(xa)) and np.all(np.isfinite(ya)):
            machine_overflow()
        return result(out)
    if kx == "i" and ky == "i":
        xa, ya = broadcast_pair(as_array(x), as_array(y), "Power")
        if xa.size == 0 or ya.size == 0:
            return result(xa + ya)
        if (ya >= 0).all() and not ((xa == 0) & (ya == 0)).any():
            bits = int(int_bound(xa)).bit_length()
            if bits <= 1 or int(ya.max()) * bits < 63:  # |x|^y < 2^63: int64 is exact
                return result(np.power(xa, ya))
    return thread(ev, "Power", (a, b))  # exact element by element (rationals, big integers)


@builtin("Minus", "-a", "negation", args=1, section="Arithmetic")
def _minus(ev, a):
    return ev.call(Times, -1, a)


@builtin("Subtract", "Subtract[a, b]", "a - b", args=2, section="Arithmetic")
def _subtract(ev, a, b):
    return ev.call(Plus, a, ev.call(Times, -1, b))


@builtin("Divide", "Divide[a, b]", "a / b", args=2, section="Arithmetic")
def _divide_fn(ev, a, b):
    return ev.call(Times, a, ev.call(Power, b, -1))


@builtin("Rational", "Rational[p, q]", "the exact fraction p/q (what 1/3 gives)", args=2,
         section="Arithmetic")
def _rational(ev, p, q):
    if is_integer(p) and is_integer(q):
        return ev.call(Times, p, ev.call(Power, q, -1))
    return NOT_APPLICABLE


def _to_multiple(ev, name: str, x: Any, a: Any) -> Any:
    """Round[x, 0.01], Floor[n, 2]: a * Round[x/a]; Listable in a too (Round[{1.2, 2.7},
    {1, 2}] pairs them)."""
    if is_list(a):
        return thread(ev, name, (x, a))
    if not is_number(a) or a == 0:
        return NOT_APPLICABLE
    inner = Expr(S(name), Expr(S("Times"), x, Expr(S("Power"), a, -1)))
    return ev.evaluate(Expr(S("Times"), a, inner))


# ---------------------------------------------------------------- unary functions
def _unary(name: str, usage: str, summary: str, fn: Callable[[Any], Any],
           exact_value: Callable[[Any], Any] | None = None,
           domain: Callable[[np.ndarray], bool] | None = None,
           domain_text: str = "", keeps_integers: bool = False) -> None:
    @builtin(name, (usage, usage.replace("[x]", "[x, a]")),
             summary + "; with a: to a multiple of a (a times that of x/a)", args=(1, 2),
             section="Elementary functions")
    def _f(ev, x, a=None, _name=name):
        if a is not None:
            return _to_multiple(ev, _name, x, a)
        if _needs_thread((x,)):
            return thread(ev, _name, (x,))
        v = exact(x)
        if v is None:
            return NOT_APPLICABLE
        if not isinstance(v, np.ndarray):
            if exact_value is not None and not isinstance(v, float):
                e = exact_value(v)
                if e is not None:
                    return e
            f = to_float(v)
            if domain is not None and not domain(np.asarray(f)):
                raise EvaluationError(f"{_name}[{short(x)}] is outside the real domain "
                                      f"({domain_text}); netdsl computes with real numbers only.",
                                      symbol=_name, tag="dmval")
            with np.errstate(all="ignore"):
                out = float(fn(np.float64(f)))
            if math.isinf(out) and math.isfinite(f):
                machine_overflow()
            return out
        if keeps_integers and kind_of(v) != "f":  # Abs[{-1, 2}] is {1, 2}, as in Wolfram
            if v.dtype == object or (v.size and int(v.min()) == -INT64_MAX - 1):
                return thread(ev, _name, (x,))  # -2^63 has no int64 absolute value
            return result(fn(v))
        if v.dtype == object:
            return thread(ev, _name, (x,))
        if domain is not None and v.size and not domain(v):  # lists follow the numbers' rule
            raise EvaluationError(f"{_name}[{short(x)}] is outside the real domain "
                                  f"({domain_text}); netdsl computes with real numbers only.",
                                  symbol=_name, tag="dmval")
        with np.errstate(all="ignore"):
            out = fn(v.astype(np.float64) if v.dtype.kind in "iu" else v)
        if not np.all(np.isfinite(out)) and np.all(np.isfinite(v)):
            machine_overflow()
        return result(out)


def _exact_sqrt(v):
    if isinstance(v, (int, Fraction)) and v >= 0:
        f = Fraction(v)
        n, d = math.isqrt(f.numerator), math.isqrt(f.denominator)
        return to_atom(Fraction(n, d)) if n * n == f.numerator and d * d == f.denominator \
            else None
    return None


_unary("Sqrt", "Sqrt[x]", "square root (exact for perfect squares)", np.sqrt, _exact_sqrt,
       lambda a: bool(np.all(a >= 0)), "x >= 0")
_unary("Exp", "Exp[x]", "exponential", np.exp, lambda v: 1 if v == 0 else None)
_unary("Log", "Log[x]", "natural logarithm", np.log,
       lambda v: 0 if v == 1 else None, lambda a: bool(np.all(a > 0)), "x > 0")
_unary("Tanh", "Tanh[x]", "hyperbolic tangent", np.tanh, lambda v: 0 if v == 0 else None)
_unary("Sin", "Sin[x]", "sine (radians)", np.sin, lambda v: 0 if v == 0 else None)
_unary("Cos", "Cos[x]", "cosine (radians)", np.cos, lambda v: 1 if v == 0 else None)
_unary("Abs", "Abs[x]", "absolute value", np.abs, lambda v: abs(v), keeps_integers=True)
_unary("Ramp", "Ramp[x]", "Max[x, 0], the ReLU", lambda a: np.maximum(a, 0),
       lambda v: max(v, 0), keeps_integers=True)
_unary("LogisticSigmoid", "LogisticSigmoid[x]", "1/(1 + Exp[-x])",
       lambda a: 0.5 * (1 + np.tanh(0.5 * a)))
_unary("Erf", "Erf[x]", "the error function",
       lambda a: np.vectorize(math.erf, otypes=[float])(a) if np.ndim(a) else math.erf(a),
       lambda v: 0 if v == 0 else None)


def _round_half_even(v: Any) -> int:
    return round(v)  # Python rounds halves to even, as Wolfram's Round does


def _rounding(name: str, usage: str, summary: str, fn: Callable, exact_fn: Callable) -> None:
    @builtin(name, (usage, usage.replace("[x]", "[x, a]")),
             summary + "; with a: to a multiple of a (a times that of x/a)", args=(1, 2),
             section="Elementary functions")
    def _f(ev, x, a=None, _name=name):
        if a is not None:
            return _to_multiple(ev, _name, x, a)
        if _needs_thread((x,)):
            return thread(ev, _name, (x,))
        v = exact(x)
        if v is None:
            return NOT_APPLICABLE
        if isinstance(v, np.ndarray):
            if v.dtype.kind in "iu":
                return x
            if v.dtype == object:
                return thread(ev, _name, (x,))
            if not np.all(np.isfinite(v)):
                raise EvaluationError(f"{_name} of a non-finite number.", symbol=_name,
                                      tag="nonfin")
            out = fn(v)
            if v.size and float(np.max(np.abs(out))) >= 2.0 ** 62:  # beyond int64: exact ints
                return make_list(int(t) for t in out.ravel()) if out.ndim == 1 \
                    else thread(ev, _name, (x,))
            return result(out.astype(np.int64))
        if isinstance(v, int):
            return v
        if isinstance(v, float) and not math.isfinite(v):
            raise EvaluationError(f"{_name}[{short(x)}] of a non-finite number.",
                                  symbol=_name, tag="nonfin")
        return exact_fn(v)


_rounding("Round", "Round[x]", "nearest integer (halves to even, as Wolfram)", np.rint,
          _round_half_even)
_rounding("Floor", "Floor[x]", "greatest integer <= x", np.floor, math.floor)
_rounding("Ceiling", "Ceiling[x]", "least integer >= x", np.ceil, math.ceil)


def n_value(x: Any) -> Any:
    """``x`` with every exact number in it, at any depth, made a Real."""
    if isinstance(x, bool):
        return x
    if isinstance(x, (int, Fraction)):
        return to_float(x)
    if isinstance(x, np.ndarray):
        return result(x.astype(np.float64)) if x.dtype.kind in "iu" else x
    if isinstance(x, Expr):
        if x.head is Symbol("Hold"):
            return x
        args = [n_value(a) for a in x.args]
        if x.head is Symbol("List"):
            return make_list(args)
        return Expr(n_value(x.head), *args)
    if isinstance(x, Association):
        return Association((n_value(k), n_value(v), d) for k, v, d in x.rules)
    return x


@builtin("N", "N[expr]", "expr with every exact number in it made a Real (1/3 is 0.333333)",
         args=(1, 2), section="Elementary functions")
def _n(ev, x, digits=None):
    if isinstance(x, np.ndarray) or is_number(x):
        return n_value(x)
    out = n_value(x)
    if isinstance(out, Expr) and out.head is not Symbol("List") and not same_q(out, x):
        return ev.evaluate(out)  # N[f[1/3] + 1] combines the numbers it made
    return out


@builtin("Chop", ("Chop[x]", "Chop[x, delta]"), "replaces reals closer to 0 than delta (1e-10) by 0",
         args=(1, 2), section="Elementary functions")
def _chop(ev, x, delta=1e-10):
    if not is_number(delta) or delta < 0:
        raise wrong_call("Chop", Expr(S("Chop"), x, delta),
                         f"{short(delta)} is not a non-negative number")
    try:
        delta = float(delta)
    except OverflowError:
        delta = math.inf
    v = numeric(x) if not isinstance(x, Expr) or exact(x) is not None else None
    if v is None:
        if is_list(x):
            return make_list(_chop(ev, a, delta) for a in list_items(x))
        return x
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "iu" or v.dtype == object:
            return x
        return result(np.where(np.abs(v) < delta, 0.0, v).astype(v.dtype))
    if isinstance(v, float) and abs(v) < delta:
        return 0
    return v


def _extreme(name: str, pick: Callable, np_pick: Callable) -> None:
    @builtin(name, (f"{name}[x1, x2, ...]", f"{name}[{{x1, x2, ...}}]"),
             f"the {'largest' if name == 'Max' else 'smallest'} number, over all lists given",
             section="Elementary functions")
    def _f(ev, *args, _name=name):
        best: list[Any] = []
        for a in args:
            v = exact(a)
            if v is None and is_list(a):  # mixed Integer and Real elements
                items = _flat_items(a)
                if items is None:
                    return NOT_APPLICABLE
                best.extend(items)
                continue
            if v is None:
                return NOT_APPLICABLE
            if isinstance(v, np.ndarray):
                if v.size:
                    best.append(result(np_pick(v)) if v.dtype != object else pick(v.flat))
            else:
                best.append(v)
        if not best:
            return Expr(S("DirectedInfinity"), -1 if _name == "Max" else 1)
        return result(pick(best))


def _flat_items(x: Any) -> list[Any] | None:
    out: list[Any] = []
    for a in list_items(x):
        if is_list(a):
            sub = _flat_items(a)
            if sub is None:
                return None
            out.extend(sub)
        elif is_number(a):
            out.append(a)
        else:
            return None
    return out


_extreme("Max", max, np.max)
_extreme("Min", min, np.min)


# ---------------------------------------------------------------- comparisons
EQUAL_TOLERANCE = 2.0 ** -46


def numbers_equal(a: Any, b: Any) -> bool:
    """Wolfram's Equal for two numbers: exact numbers compare exactly; when either is a
    Real, they are equal if they differ in at most their last seven binary digits, i.e.
    ``|a - b| <= 2^-46 max(|a|, |b|)`` (machine reals have 53 binary digits; 53 - 7 = 46),
    so ``0.1 + 0.2 == 0.3`` is True while ``1.*^-20 == 0`` is False."""
    if not (isinstance(a, float) or isinstance(b, float)):
        return a == b
    try:
        x, y = float(a), float(b)
    except OverflowError:
        return False
    if x == y:
        return True
    return abs(x - y) <= EQUAL_TOLERANCE * max(abs(x), abs(y))


def _arrays_equal(a: Any, b: Any) -> bool:
    if np.shape(a) != np.shape(b):
        return False
    if kind_of(a) != "f" and kind_of(b) != "f":
        return bool(np.all(to_object(a) == to_object(b))) if "O" in (kind_of(a), kind_of(b)) \
            else bool(np.array_equal(a, b))
    x, y = np.asarray(to_float(a), dtype=float), np.asarray(to_float(b), dtype=float)
    with np.errstate(all="ignore"):
        close = (x == y) | (np.abs(x - y) <= EQUAL_TOLERANCE * np.maximum(np.abs(x), np.abs(y)))
    return bool(np.all(close))


def _compare(name: str, usage: str, op: Callable[[Any, Any], bool]) -> None:
    @builtin(name, usage, f"comparison {usage}", args=(1, None), section="Comparison")
    def _f(ev, *args, _name=name):
        if len(args) < 2:
            return S("True")
        vals = [exact(a) if is_number(a) else None for a in args]
        if all(v is not None for v in vals):
            if _name == "Unequal":  # all pairs distinct: sorted, only neighbours can be equal
                ordered = sorted(vals)
                return boolean(not any(numbers_equal(a, b) for a, b in zip(ordered, ordered[1:])))
            try:
                return boolean(all(op(a, b) for a, b in zip(vals, vals[1:])))
            except OverflowError:
                return boolean(all(op(Fraction(a), Fraction(b)) for a, b in zip(vals, vals[1:])))
        if _name in ("Equal", "Unequal"):
            if _name == "Unequal" and len(args) > 2:
                for i in range(len(args)):  # stops at the first pair equal or undecided
                    for j in range(i + 1, len(args)):
                        eq = _equal_values((args[i], args[j]))
                        if eq is None:
                            return NOT_APPLICABLE
                        if eq:
                            return S("False")
                return S("True")
            eq = _equal_values(args)
            if eq is None:
                return NOT_APPLICABLE
            return boolean(eq if _name == "Equal" else not eq)
        return NOT_APPLICABLE


def _equal_values(args) -> bool | None:
    """Equal for non-scalars: arrays by value (Reals with Equal's tolerance), strings and
    symbols by identity."""
    first = args[0]
    out = True
    for other in args[1:]:
        a, b = exact(first), exact(other)
        if (a is None or b is None) and is_list(first) and is_list(other):
            a, b = numeric(first), numeric(other)  # mixed Integer and Real elements
        if a is not None and b is not None:
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if not _arrays_equal(a, b):
                    out = False
            elif not numbers_equal(a, b):
                out = False
        elif same_q(first, other):
            continue
        elif isinstance(first, (str, int, float, Fraction)) \
                and isinstance(other, (str, int, float, Fraction)):
            out = False
        else:
            return None
    return out


def _exact_less(a, b):
    return a < b


_compare("Equal", "a == b", numbers_equal)
_compare("Unequal", "a != b", lambda a, b: not numbers_equal(a, b))
_compare("Less", "a < b", lambda a, b: a < b)
_compare("LessEqual", "a <= b", lambda a, b: a <= b)
_compare("Greater", "a > b", lambda a, b: a > b)
_compare("GreaterEqual", "a >= b", lambda a, b: a >= b)

_INEQ = {"Less": lambda a, b: a < b, "LessEqual": lambda a, b: a <= b,
         "Greater": lambda a, b: a > b, "GreaterEqual": lambda a, b: a >= b,
         "Equal": numbers_equal, "Unequal": lambda a, b: not numbers_equal(a, b)}


@builtin("Inequality", "a < b <= c", "a chain of mixed comparisons", section="Comparison")
def _inequality(ev, *args):
    operands, ops = args[0::2], args[1::2]
    if not all(is_number(a) for a in operands):
        return NOT_APPLICABLE
    if not all(isinstance(o, Symbol) and o.name in _INEQ for o in ops):
        raise wrong_call("Inequality", Expr(S("Inequality"), *args), "malformed inequality")
    return boolean(all(_INEQ[o.name](a, b) for o, a, b in zip(ops, operands, operands[1:])))


# ---------------------------------------------------------------- linear algebra and statistics
@builtin("Dot", ("a . b", "Dot[a, b, ...]"), "matrix and vector products", args=(1, None),
         section="Lists and arrays")
def _dot(ev, *args):
    vals = [exact(a) for a in args]
    vals = [numeric(a) if v is None else v for a, v in zip(args, vals)]  # mixed: Reals
    if any(v is None or not isinstance(v, np.ndarray) for v in vals):
        return NOT_APPLICABLE
    acc = vals[0]
    for v in vals[1:]:
        if acc.ndim == 0 or v.ndim == 0 or acc.shape[-1] != v.shape[0]:
            raise EvaluationError(f"Tensors of dimensions {dims_text(acc.shape)} and "
                                  f"{dims_text(v.shape)} cannot be contracted.", symbol="Dot",
                                  tag="dotsh")
        ka, kb = kind_of(acc), kind_of(v)
        if "f" in (ka, kb):
            acc, v = to_float(acc), to_float(v)
        elif ka == "O" or kb == "O" or \
                int_bound(acc) * int_bound(v) * max(v.shape[0], 1) > INT64_MAX:
            acc, v = to_object(acc), to_object(v)  # exact, however large
        budget.check(acc.shape[:-1] + v.shape[1:], 8, "a product")
        with np.errstate(all="ignore"):
            out = np.tensordot(acc, v, axes=1)
        if out.dtype.kind == "f":
            out = _finite(out, acc) if np.all(np.isfinite(v)) else out
        acc = out
    return result(acc)


def _levels_arg(spec, name, call) -> int:
    if is_integer(spec) and spec >= 1:
        return spec
    if spec is S("Infinity"):
        return 10 ** 6
    raise wrong_call(name, call, f"{short(spec)} is not a positive level count")


def exact_sum(v: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Sum over ``axes``, in int64 only when no partial sum can overflow."""
    if v.dtype.kind in "iu":
        count = math.prod(v.shape[a] for a in axes)
        if int_bound(v) * max(count, 1) > INT64_MAX:
            v = to_object(v)
        return v.sum(axis=axes)
    with np.errstate(all="ignore"):
        return _finite(v.sum(axis=axes), v)


def _values_of(x: Any) -> Any:
    """An association's values as a list, for Total and the statistics (Listable)."""
    return make_list(x.values()) if isinstance(x, Association) else x


@builtin("Total", ("Total[list]", "Total[list, n]", "Total[list, {k}]"),
         "sum of the elements (over n levels, or at level k only)",
         args=(1, 2), section="Lists and arrays")
def _total(ev, x, levels=1):
    x = _values_of(x)
    call = Expr(S("Total"), x, levels)
    if is_list(levels) and list_length(levels) == 1 and is_integer(list_items(levels)[0]) \
            and list_items(levels)[0] >= 1:        # Total[x, {k}]: level k only
        k = list_items(levels)[0]
        if k == 1:
            return _total(ev, x)
        if not is_list(x):
            return NOT_APPLICABLE
        return make_list(_total(ev, e, make_list([k - 1])) for e in list_items(x))
    n = _levels_arg(levels, "Total", call)
    v = exact(x)
    if v is None:
        if not is_list(x):
            return NOT_APPLICABLE
        acc = x          # mixed numbers or symbols: the first level added n times over
        for _ in range(n):
            if not is_list(acc):
                break
            items = list_items(acc)
            acc = ev.call(Plus, *items) if items else 0
        return acc
    if not isinstance(v, np.ndarray):
        return v
    n = min(n, v.ndim)
    if v.shape == (0,):
        return 0  # Total[{}] is the empty sum, the Integer 0
    return result(exact_sum(v, tuple(range(n))) if v.size else np.zeros(v.shape[n:], v.dtype))


def _stat_input(name, x):
    v = exact(_values_of(x))
    if v is None or not isinstance(v, np.ndarray) or v.ndim == 0:
        return None
    if v.shape[0] == 0:
        raise wrong_call(name, Expr(S(name), x), "the list is empty")
    return v


@builtin("Mean", "Mean[list]", "the mean (of each column, for a matrix); exact for exact numbers",
         args=1, section="Lists and arrays")
def _mean(ev, x):
    v = _stat_input("Mean", x)
    if v is None:
        x = _values_of(x)
        if is_list(x) and list_length(x):  # mixed Integer and Real elements
            return ev.call(Times, ev.call(S("Total"), x), Fraction(1, list_length(x)))
        return NOT_APPLICABLE
    if kind_of(v) != "f":
        return result(combine(exact_sum(v, (0,)), Fraction(1, v.shape[0]), "Times"))
    with np.errstate(all="ignore"):
        return result(_finite(v.mean(axis=0), v))


def _float_input(v: np.ndarray) -> np.ndarray:
    return to_float(v) if v.dtype == object else v.astype(np.float64)


@builtin("Variance", "Variance[list]", "unbiased variance (divides by n - 1), as Wolfram", args=1,
         section="Lists and arrays")
def _variance(ev, x):
    v = _stat_input("Variance", x)
    if v is None:
        return NOT_APPLICABLE
    if v.shape[0] < 2:
        raise wrong_call("Variance", Expr(S("Variance"), x), "at least two elements are needed")
    v = _float_input(v)
    with np.errstate(all="ignore"):
        out = v.var(axis=0, ddof=1)
    return result(_finite(out, v))


@builtin("StandardDeviation", "StandardDeviation[list]", "Sqrt of the unbiased variance", args=1,
         section="Lists and arrays")
def _std(ev, x):
    v = _stat_input("StandardDeviation", x)
    if v is None:
        return NOT_APPLICABLE
    if v.shape[0] < 2:
        raise wrong_call("StandardDeviation", Expr(S("StandardDeviation"), x),
                         "at least two elements are needed")
    v = _float_input(v)
    with np.errstate(all="ignore"):
        out = v.std(axis=0, ddof=1)
    return result(_finite(out, v))


def _finite(out: Any, v: np.ndarray) -> Any:
    """``out``, with the General::ovfl message if it overflowed from a finite input ``v``."""
    if v.dtype.kind != "f":
        return out
    if not np.all(np.isfinite(out)) and np.all(np.isfinite(v)):
        machine_overflow()
    return out


def machine_overflow() -> None:
    """A machine Real overflowed: the result holds Infinity and evaluation goes on, with
    Wolfram's General::ovfl message (issued, as NumPy's own warnings are, through the
    session's numeric messages, once per statement)."""
    warnings.warn("overflow encountered in computation", RuntimeWarning, stacklevel=3)
