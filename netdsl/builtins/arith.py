"""Arithmetic and elementary functions, Listable as in Wolfram, vectorised with NumPy.

netdsl has no exact rationals: an integer division that is exact stays an
Integer (6/3 is 2), otherwise it gives a Real (1/3 is 0.333333). Symbolic
operands leave an expression unevaluated (x + 1 stays x + 1).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..errors import EvaluationError
from ..expr import (Expr, Plus, Power, Symbol, Times, boolean, input_form, is_integer,
                    is_list, list_items, list_length, make_list, same_q)
from .numeric import as_array, broadcast_pair, dims_text, numeric, result
from .registry import HOLD_ALL, NOT_APPLICABLE, builtin, wrong_call

S = Symbol


def thread(ev, head: str, args: tuple) -> Any:
    """Thread a Listable function over list arguments that are not all numeric."""
    lengths = {list_length(a) for a in args if is_list(a)}
    if len(lengths) > 1:
        raise EvaluationError(
            f"Objects of unequal length in {input_form(Expr(S(head), *args))} cannot be combined.",
            symbol="Thread", tag="tdlen")
    n = lengths.pop()
    columns = [list_items(a) if is_list(a) else [a] * n for a in args]
    return make_list(ev.call(S(head), *row) for row in zip(*columns))


def _has_symbolic_list(args) -> bool:
    return any(is_list(a) and numeric(a) is None for a in args)


# ---------------------------------------------------------------- Plus, Times, Power
def _combine(values: list[Any], op: Callable, head: str) -> Any:
    acc = values[0]
    for v in values[1:]:
        if isinstance(acc, np.ndarray) or isinstance(v, np.ndarray):
            a, b = broadcast_pair(as_array(acc), as_array(v), head)
            acc = op(a, b)
        else:
            acc = op(acc, v)
    return acc


@builtin("Plus", "a + b + ...", "sum; lists add element by element", section="Arithmetic")
def _plus(ev, *args):
    if not args:
        return 0
    if _has_symbolic_list(args):
        return thread(ev, "Plus", args)
    nums = [numeric(a) for a in args]
    numbers = [n for n in nums if n is not None]
    rest = [a for a, n in zip(args, nums) if n is None]
    total = _combine(numbers, lambda a, b: a + b, "Plus") if numbers else 0
    if not rest:
        return result(total)
    if isinstance(total, np.ndarray):
        return thread(ev, "Plus", (result(total), *rest))
    parts = ([] if total == 0 and not isinstance(total, float) else [total]) + rest
    return parts[0] if len(parts) == 1 else Expr(Plus, *parts)


def _infinite(zero: Any = 0) -> EvaluationError:
    """Wolfram's message for x/0 (x/0 is x * Power[0, -1], hence "1/0" whatever x is)."""
    return EvaluationError(f"Infinite expression 1/{'0.' if isinstance(zero, float) else '0'} "
                           f"encountered.", symbol="Power", tag="infy")


def _divide(num: Any, den: Any) -> Any:
    if is_integer(num) and is_integer(den):
        if den == 0:
            raise _infinite()
        return num // den if num % den == 0 else num / den
    if isinstance(num, np.ndarray) or isinstance(den, np.ndarray):
        a, b = broadcast_pair(as_array(num), as_array(den), "Times")
        if (b == 0).any():  # as for numbers: an error, not a silent Infinity
            raise _infinite(0.0 if b.dtype.kind == "f" else 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.true_divide(a, b)
        if a.dtype.kind in "iu" and b.dtype.kind in "iu" and np.all(a % b == 0):
            out = a // b
        return out
    if den == 0:
        raise _infinite(den)
    return num / den


@builtin("Times", ("a * b", "a b", "a / b"), "product; juxtaposition multiplies; lists element by element",
         attributes=(HOLD_ALL,), section="Arithmetic")
def _times(ev, *raw):
    # Held so that a/b (Times[a, Power[b, -1]]) can divide exactly when both are integers.
    args, divisors = [], []
    for r in raw:
        if isinstance(r, Expr) and r.head is Power and len(r.args) == 2 \
                and is_integer(r.args[1]) and r.args[1] == -1:
            base = ev.evaluate(r.args[0])
            if numeric(base) is not None:
                divisors.append(numeric(base))
                continue
            args.append(Expr(Power, base, -1))
        else:
            args.append(ev.evaluate(r))
    if _has_symbolic_list(args):
        return thread(ev, "Times", tuple(args) + tuple(Expr(Power, result(d), -1)
                                                      for d in divisors))
    nums = [numeric(a) for a in args]
    numbers = [n for n in nums if n is not None]
    rest = [a for a, n in zip(args, nums) if n is None]
    product = _combine(numbers, lambda a, b: a * b, "Times") if numbers else 1
    for d in divisors:
        product = _divide(product, d)
    if not rest:
        return result(product)
    if isinstance(product, np.ndarray):
        return thread(ev, "Times", (result(product), *rest))
    if product == 0 and not isinstance(product, float):
        return 0
    parts = ([] if product == 1 and not isinstance(product, float) else [product]) + rest
    return parts[0] if len(parts) == 1 else Expr(Times, *parts)


def _power_scalar(a: Any, b: Any) -> Any:
    if is_integer(a) and is_integer(b):
        if b >= 0:
            if abs(a) > 1 and b * math.log2(abs(a)) > 100_000:
                raise EvaluationError(f"Overflow computing {a}^{b}.", symbol="General",
                                      tag="ovfl")
            return a ** b
        if a == 0:
            raise _infinite()
        return _divide(1, a ** -b)
    if a < 0 and not float(b).is_integer():
        raise EvaluationError(f"({input_form(a)})^{input_form(b)} is complex; netdsl computes "
                              f"with real numbers only.", symbol="Power", tag="cmplx")
    if a == 0 and b < 0:
        raise _infinite(a)
    try:
        return float(a) ** b
    except OverflowError:
        raise EvaluationError(f"Overflow computing {a}^{b}.", symbol="General",
                              tag="ovfl") from None


@builtin("Power", "a ^ b", "power; 2^-1 is 0.5", args=2, section="Arithmetic")
def _power(ev, a, b):
    if _has_symbolic_list((a, b)):
        return thread(ev, "Power", (a, b))
    x, y = numeric(a), numeric(b)
    if x is None or y is None:
        if y is not None and y == 1 and not isinstance(y, np.ndarray):
            return a
        return NOT_APPLICABLE
    if not isinstance(x, np.ndarray) and not isinstance(y, np.ndarray):
        return _power_scalar(x, y)
    xa, ya = broadcast_pair(as_array(x), as_array(y), "Power")
    if ((xa == 0) & (ya < 0)).any():
        raise _infinite(0.0 if xa.dtype.kind == "f" else 0)
    if ya.dtype.kind == "f" and ((xa < 0) & (ya != np.floor(ya))).any():
        raise EvaluationError("A negative number to a fractional power is complex; netdsl "
                              "computes with real numbers only.", symbol="Power", tag="cmplx")
    if xa.dtype.kind in "iu" and ya.dtype.kind in "iu" and (ya < 0).any():
        xa = xa.astype(np.float64)
    with np.errstate(all="ignore"):
        return result(np.power(xa, ya))


@builtin("Minus", "-a", "negation", args=1, section="Arithmetic")
def _minus(ev, a):
    return ev.call(Times, -1, a)


@builtin("Subtract", "Subtract[a, b]", "a - b", args=2, section="Arithmetic")
def _subtract(ev, a, b):
    return ev.call(Plus, a, ev.call(Times, -1, b))


@builtin("Divide", "Divide[a, b]", "a / b", args=2, section="Arithmetic")
def _divide_fn(ev, a, b):
    x, y = numeric(a), numeric(b)
    if x is None or y is None:
        return NOT_APPLICABLE
    return result(_divide(x, y))


# ---------------------------------------------------------------- unary functions
def _unary(name: str, usage: str, summary: str, fn: Callable[[np.ndarray], np.ndarray],
           exact: Callable[[Any], Any] | None = None, domain: Callable[[np.ndarray], bool] | None = None,
           domain_text: str = "", keeps_integers: bool = False) -> None:
    @builtin(name, usage, summary, args=1, section="Elementary functions")
    def _f(ev, x, _name=name):
        if _has_symbolic_list((x,)):
            return thread(ev, _name, (x,))
        v = numeric(x)
        if v is None:
            return NOT_APPLICABLE
        if not isinstance(v, np.ndarray):
            if exact is not None:
                e = exact(v)
                if e is not None:
                    return e
            if domain is not None and not domain(np.asarray(v, dtype=float)):
                raise EvaluationError(f"{_name}[{input_form(x)}] is outside the real domain "
                                      f"({domain_text}); netdsl computes with real numbers only.",
                                      symbol=_name, tag="dmval")
            with np.errstate(all="ignore"):
                return float(fn(np.float64(v)))
        if domain is not None and v.size and not domain(v):  # lists follow the numbers' rule
            text = input_form(x) if v.size <= 20 else f"<list of dimensions {dims_text(v.shape)}>"
            raise EvaluationError(f"{_name}[{text}] is outside the real domain ({domain_text}); "
                                  f"netdsl computes with real numbers only.", symbol=_name,
                                  tag="dmval")
        if keeps_integers and v.dtype.kind in "iu":  # Abs[{-1, 2}] is {1, 2}, as in Wolfram
            return result(fn(v))
        with np.errstate(all="ignore"):
            return result(fn(v.astype(np.float64) if v.dtype.kind in "iu" else v))


def _exact_sqrt(v):
    if is_integer(v) and v >= 0:
        r = math.isqrt(v)
        return r if r * r == v else None
    return None


_unary("Sqrt", "Sqrt[x]", "square root (exact for perfect squares)", np.sqrt, _exact_sqrt,
       lambda a: bool(np.all(a >= 0)), "x >= 0")
_unary("Exp", "Exp[x]", "exponential", np.exp, lambda v: 1 if v == 0 and is_integer(v) else None)
_unary("Log", "Log[x]", "natural logarithm", np.log,
       lambda v: 0 if v == 1 and is_integer(v) else None, lambda a: bool(np.all(a > 0)), "x > 0")
_unary("Tanh", "Tanh[x]", "hyperbolic tangent", np.tanh,
       lambda v: 0 if v == 0 and is_integer(v) else None)
_unary("Sin", "Sin[x]", "sine (radians)", np.sin, lambda v: 0 if v == 0 and is_integer(v) else None)
_unary("Cos", "Cos[x]", "cosine (radians)", np.cos, lambda v: 1 if v == 0 and is_integer(v) else None)
_unary("Abs", "Abs[x]", "absolute value", np.abs, lambda v: abs(v) if is_integer(v) else None,
       keeps_integers=True)
_unary("Ramp", "Ramp[x]", "Max[x, 0], the ReLU", lambda a: np.maximum(a, 0),
       lambda v: max(v, 0) if is_integer(v) else None, keeps_integers=True)
_unary("LogisticSigmoid", "LogisticSigmoid[x]", "1/(1 + Exp[-x])",
       lambda a: 0.5 * (1 + np.tanh(0.5 * a)))
_unary("Erf", "Erf[x]", "the error function",
       lambda a: np.vectorize(math.erf, otypes=[float])(a) if np.ndim(a) else math.erf(a))


def _rounding(name: str, usage: str, summary: str, fn: Callable) -> None:
    @builtin(name, usage, summary, args=1, section="Elementary functions")
    def _f(ev, x, _name=name):
        if _has_symbolic_list((x,)):
            return thread(ev, _name, (x,))
        v = numeric(x)
        if v is None:
            return NOT_APPLICABLE
        if isinstance(v, np.ndarray):
            if v.dtype.kind in "iu":
                return x
            if not np.all(np.isfinite(v)):
                raise EvaluationError(f"{_name} of a non-finite number.", symbol=_name,
                                      tag="nonfin")
            return result(fn(v).astype(np.int64))
        if isinstance(v, float) and not math.isfinite(v):
            raise EvaluationError(f"{_name}[{input_form(x)}] of a non-finite number.",
                                  symbol=_name, tag="nonfin")
        return int(fn(v))


_rounding("Round", "Round[x]", "nearest integer (halves to even, as Wolfram)", np.rint)
_rounding("Floor", "Floor[x]", "greatest integer <= x", np.floor)
_rounding("Ceiling", "Ceiling[x]", "least integer >= x", np.ceil)


@builtin("N", "N[expr]", "the numerical (Real) value of expr", args=(1, 2),
         section="Elementary functions")
def _n(ev, x, digits=None):
    v = numeric(x)
    if v is None:
        if is_list(x):
            return make_list(_n(ev, a) for a in list_items(x))
        return x
    if isinstance(v, np.ndarray):
        return result(v.astype(np.float64) if v.dtype != np.float32 else v)
    return float(v)


@builtin("Chop", ("Chop[x]", "Chop[x, delta]"), "replaces reals closer to 0 than delta (1e-10) by 0",
         args=(1, 2), section="Elementary functions")
def _chop(ev, x, delta=1e-10):
    v = numeric(x)
    if v is None:
        if is_list(x):
            return make_list(_chop(ev, a, delta) for a in list_items(x))
        return x
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "iu":
            return x
        return result(np.where(np.abs(v) < delta, 0.0, v).astype(v.dtype))
    if isinstance(v, float) and abs(v) < delta:
        return 0
    return v


def _flat_numbers(args, name, call):
    values = []
    for a in args:
        v = numeric(a)
        if v is None:
            return None
        values.append(np.ravel(v) if isinstance(v, np.ndarray) else np.array([v]))
    return values


def _extreme(name: str, fn: Callable, empty: str) -> None:
    @builtin(name, (f"{name}[x1, x2, ...]", f"{name}[{{x1, x2, ...}}]"),
             f"the {'largest' if name == 'Max' else 'smallest'} number, over all lists given",
             section="Elementary functions")
    def _f(ev, *args, _name=name):
        values = _flat_numbers(args, _name, None)
        if values is None:
            return NOT_APPLICABLE
        flat = np.concatenate(values) if values else np.array([])
        if flat.size == 0:
            return Expr(S("DirectedInfinity"), -1 if _name == "Max" else 1)
        out = fn(flat)
        return result(out)


_extreme("Max", np.max, "-Infinity")
_extreme("Min", np.min, "Infinity")


# ---------------------------------------------------------------- comparisons
def _compare(name: str, usage: str, op: Callable[[Any, Any], bool]) -> None:
    @builtin(name, usage, f"comparison {usage}", args=(1, None), section="Comparison")
    def _f(ev, *args, _name=name):
        if len(args) < 2:
            return S("True")
        vals = [numeric(a) for a in args]
        if all(v is not None and not isinstance(v, np.ndarray) for v in vals):
            return boolean(all(op(a, b) for a, b in zip(vals, vals[1:])))
        if _name in ("Equal", "Unequal"):
            eq = _equal_values(args)
            if eq is None:
                return NOT_APPLICABLE
            return boolean(eq if _name == "Equal" else not eq)
        return NOT_APPLICABLE


def _equal_values(args) -> bool | None:
    """Equal for non-scalars: arrays by value, strings and symbols by identity."""
    first = args[0]
    out = True
    for other in args[1:]:
        a, b = numeric(first), numeric(other)
        if a is not None and b is not None:
            if np.shape(a) != np.shape(b):
                out = False
            elif not np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float)):
                out = False
        elif same_q(first, other):
            continue
        elif isinstance(first, (str, int, float)) and isinstance(other, (str, int, float)):
            out = False
        else:
            return None
    return out


_compare("Equal", "a == b", lambda a, b: a == b)
_compare("Unequal", "a != b", lambda a, b: a != b)
_compare("Less", "a < b", lambda a, b: a < b)
_compare("LessEqual", "a <= b", lambda a, b: a <= b)
_compare("Greater", "a > b", lambda a, b: a > b)
_compare("GreaterEqual", "a >= b", lambda a, b: a >= b)

_INEQ = {"Less": lambda a, b: a < b, "LessEqual": lambda a, b: a <= b,
         "Greater": lambda a, b: a > b, "GreaterEqual": lambda a, b: a >= b,
         "Equal": lambda a, b: a == b, "Unequal": lambda a, b: a != b}


@builtin("Inequality", "a < b <= c", "a chain of mixed comparisons", section="Comparison")
def _inequality(ev, *args):
    operands, ops = args[0::2], args[1::2]
    vals = [numeric(a) for a in operands]
    if any(v is None or isinstance(v, np.ndarray) for v in vals):
        return NOT_APPLICABLE
    if not all(isinstance(o, Symbol) and o.name in _INEQ for o in ops):
        raise wrong_call("Inequality", Expr(S("Inequality"), *args), "malformed inequality")
    return boolean(all(_INEQ[o.name](a, b) for o, a, b in zip(ops, vals, vals[1:])))


# ---------------------------------------------------------------- linear algebra and statistics
@builtin("Dot", ("a . b", "Dot[a, b, ...]"), "matrix and vector products", args=(1, None),
         section="Lists and arrays")
def _dot(ev, *args):
    vals = [numeric(a) for a in args]
    if any(v is None or not isinstance(v, np.ndarray) for v in vals):
        return NOT_APPLICABLE
    acc = vals[0]
    for v in vals[1:]:
        if acc.ndim == 0 or v.ndim == 0 or acc.shape[-1] != v.shape[0]:
            raise EvaluationError(f"Tensors of dimensions {dims_text(acc.shape)} and "
                                  f"{dims_text(v.shape)} cannot be contracted.", symbol="Dot",
                                  tag="dotsh")
        acc = np.tensordot(acc, v, axes=1)
    return result(acc)


def _levels_arg(spec, name, call) -> int:
    if is_integer(spec) and spec >= 1:
        return spec
    if spec is S("Infinity"):
        return 10 ** 6
    raise wrong_call(name, call, f"{input_form(spec)} is not a positive level count")


@builtin("Total", ("Total[list]", "Total[list, n]"), "sum of the elements (over n levels)",
         args=(1, 2), section="Lists and arrays")
def _total(ev, x, levels=1):
    v = numeric(x)
    if v is None:
        if is_list(x):
            return ev.call(Plus, *list_items(x))
        return NOT_APPLICABLE
    if not isinstance(v, np.ndarray):
        return v
    n = min(_levels_arg(levels, "Total", Expr(S("Total"), x, levels)), v.ndim)
    if v.shape == (0,):
        return 0  # Total[{}] is the empty sum, the Integer 0
    return result(v.sum(axis=tuple(range(n))) if v.size else np.zeros(v.shape[n:], v.dtype))


def _stat_input(name, x):
    v = numeric(x)
    if v is None or not isinstance(v, np.ndarray) or v.ndim == 0:
        return None
    if v.shape[0] == 0:
        raise wrong_call(name, Expr(S(name), x), "the list is empty")
    return v


@builtin("Mean", "Mean[list]", "the mean (of each column, for a matrix)", args=1,
         section="Lists and arrays")
def _mean(ev, x):
    v = _stat_input("Mean", x)
    if v is None:
        return NOT_APPLICABLE
    if v.dtype.kind in "iu":
        total = v.sum(axis=0)
        return result(_divide(total if np.ndim(total) else int(total), v.shape[0]))
    return result(v.mean(axis=0))


@builtin("Variance", "Variance[list]", "unbiased variance (divides by n - 1), as Wolfram", args=1,
         section="Lists and arrays")
def _variance(ev, x):
    v = _stat_input("Variance", x)
    if v is None:
        return NOT_APPLICABLE
    if v.shape[0] < 2:
        raise wrong_call("Variance", Expr(S("Variance"), x), "at least two elements are needed")
    return result(v.astype(np.float64).var(axis=0, ddof=1))


@builtin("StandardDeviation", "StandardDeviation[list]", "Sqrt of the unbiased variance", args=1,
         section="Lists and arrays")
def _std(ev, x):
    v = _stat_input("StandardDeviation", x)
    if v is None:
        return NOT_APPLICABLE
    if v.shape[0] < 2:
        raise wrong_call("StandardDeviation", Expr(S("StandardDeviation"), x),
                         "at least two elements are needed")
    return result(v.astype(np.float64).std(axis=0, ddof=1))

