"""Elementwise functions for ElementwiseLayer and ThreadingLayer, checked at construction.

A function (``Ramp``, ``"ELU"``, ``Max[#, 0.1 #] &``, ``#1 * #2 &``) is compiled
to a small tree of NumPy primitives. The tree gives the forward values and, by
forward-mode differentiation, exact partial derivatives for the backward pass.

The forms the ElementwiseLayer and ThreadingLayer reference pages list beyond the
primitives (Mod, Surd, Threshold, Chop, Which, Unitize, KroneckerDelta, Positive, ...)
are written with Floor, Sign, Abs, comparisons and If, so their derivatives are those of
the pieces: 0 for steps, as for Round; Mod[x, m]: 1 in x, -Floor[x/m] in m.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np

from ..expr import Expr, Symbol, input_form, is_integer, is_number
from ..printer import short

S = Symbol
SQRT2 = math.sqrt(2.0)


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 refined (max error 1.2e-7): plenty for float32.
    t = 1.0 / (1.0 + 0.5 * np.abs(x))
    y = 1 - t * np.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (
        0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (
            1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
    return np.where(x >= 0, y, -y)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


SELU_SCALE, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772

_ROW = 16384
_ZERO_ROWS: dict[np.dtype, np.ndarray] = {}


def _ramp(x: np.ndarray) -> np.ndarray:
    """Max[x, 0]."""
    x = np.asarray(x)
    if x.dtype.kind != "f" or not x.flags.c_contiguous or x.size < RAMP_ROWS_MIN:
        return np.maximum(x, 0)
    return ramp_into(x, np.empty(x.shape, x.dtype))


def ramp_into(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Max[x, 0] written into ``out`` (x itself for in place), both C-contiguous floats.
    np.maximum against a scalar 0 misses NumPy's SIMD loop (measured 3.5x slower: 65
    against 18 us for 173,056 float32), and so does a short zero row broadcast over many
    rows (rows below 8,192 numbers: 28 us): large data is compared with a cached zero row
    of _ROW numbers, the remainder with a prefix of it. Callers keep the scalar below
    RAMP_ROWS_MIN numbers (e.g. one example), where it costs less than this function's
    reshapes (1.5 against 2.0 us for 2,704; 2.0 against 2.4 for 4,096)."""
    zero = _ZERO_ROWS.get(x.dtype)
    if zero is None:
        zero = _ZERO_ROWS[x.dtype] = np.zeros(_ROW, x.dtype)
        zero.flags.writeable = False
    n = x.size
    flat, res = x.reshape(-1), out.reshape(-1)
    k = n - n % _ROW
    if k:
        np.maximum(flat[:k].reshape(-1, _ROW), zero, out=res[:k].reshape(-1, _ROW))
    if k < n:
        np.maximum(flat[k:], zero[:n - k], out=res[k:])
    return out


RAMP_ROWS_MIN = 8192


def ramp_in_place(x: np.ndarray) -> np.ndarray:
    """x = Max[x, 0] (a float array that dies here; NaN kept): ``ramp_into`` for large
    C-contiguous data, NumPy's scalar form below RAMP_ROWS_MIN numbers."""
    if x.size >= RAMP_ROWS_MIN and x.flags.c_contiguous:
        return ramp_into(x, x)
    return np.maximum(x, x.dtype.type(0), out=x)


_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61503916999185, 12.507343278686905, -0.13857109526572012,
            9.9843695780195716e-6, 1.5056327351493116e-7)


def _lgamma_pos(x: np.ndarray) -> np.ndarray:
    """Log[Gamma[x]] for x >= 0.5 (Lanczos, g = 7: relative error ~1e-15)."""
    z = x - 1.0
    a = np.full(np.shape(x), _LANCZOS[0])
    for i, c in enumerate(_LANCZOS[1:], 1):
        a = a + c / (z + i)
    t = z + 7.5
    return 0.5 * math.log(2 * math.pi) + (z + 0.5) * np.log(t) - t + np.log(a)


def _log_gamma(x: np.ndarray) -> np.ndarray:
    """Log[Abs[Gamma[x]]], by reflection below 1/2 (Wolfram's LogGamma on x > 0)."""
    x = np.asarray(x, np.float64)
    small = x < 0.5
    xr = np.where(small, 1.0 - x, x)
    out = _lgamma_pos(xr)
    refl = np.log(math.pi / np.abs(np.sin(math.pi * x))) - out
    return np.where(small, refl, out)


def _gamma(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    sign = np.where((x < 0.5) & (np.sin(math.pi * x) < 0), -1.0, 1.0)
    return sign * np.exp(_log_gamma(x))


def _digamma(x: np.ndarray) -> np.ndarray:
    """PolyGamma[0, x]: reflection below 1/2, recurrence up to 6, then the asymptotic series."""
    x = np.asarray(x, np.float64)
    small = x < 0.5
    y = np.where(small, 1.0 - x, x)
    acc = np.zeros(np.shape(y))
    for k in range(6):
        acc = acc - 1.0 / (y + k)
    y = y + 6.0
    inv = 1.0 / (y * y)
    psi = np.log(y) - 0.5 / y - inv * (1 / 12 - inv * (1 / 120 - inv * (1 / 252 - inv * (
        1 / 240 - inv / 132))))
    psi = psi + acc
    return np.where(small, psi - math.pi / np.tan(math.pi * x), psi)


def _zero(x):
    return np.zeros(np.shape(x), np.result_type(x, np.float32))


# ---- InverseErf, InverseErfc: float64 Newton steps on an erf/erfc good to ~1e-13 relative
# (NumPy only: scipy is not a dependency). The starting guess is Giles' single-precision
# erfinv ("Approximating the erfinv function", 2010); tails beyond it start from the
# asymptotic Erfc[y] ~ Exp[-y^2] / (y Sqrt[Pi]).
SQRT_PI = math.sqrt(math.pi)
_SERIES_MAX = 1.5


def _erf_series(y: np.ndarray) -> np.ndarray:
    """Erf[y] = 2/Sqrt[Pi] Exp[-y^2] Sum[2^n y^(2n+1) / (2n+1)!!]: positive terms, so no
    cancellation; 60 terms are exact in float64 for |y| <= 3."""
    y2 = y * y
    term, total = y.copy(), y.copy()
    for n in range(1, 60):
        term = term * (2 * y2 / (2 * n + 1))
        total = total + term
    return (2 / SQRT_PI) * np.exp(-y2) * total


def _erfcx(y: np.ndarray) -> np.ndarray:
    """Exp[y^2] Erfc[y] for y >= 0: the series below 1.5, Laplace's continued fraction
    (80 terms) above, both within 2e-14 relative of math.erfc."""
    out = np.empty_like(y)
    near = y < _SERIES_MAX
    s = y[near]
    out[near] = np.exp(s * s) * (1 - _erf_series(s))
    b = y[~near]
    k = b.copy()
    for j in range(80, 0, -1):
        k = b + (j / 2) / k
    out[~near] = 1 / (SQRT_PI * k)
    return out


_GILES_LO = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
             -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_HI = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
             -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _giles(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """InverseErf[x] to ~1e-7, given w = -Log[(1 - x) (1 + x)] < 25."""
    out = np.empty_like(x)
    lo = w < 5
    for mask, coeffs, t in ((lo, _GILES_LO, w[lo] - 2.5), (~lo, _GILES_HI, np.sqrt(w[~lo]) - 3)):
        p = np.full(t.shape, coeffs[0])
        for c in coeffs[1:]:
            p = c + p * t
        out[mask] = p * x[mask]
    return out


def _inverse_erfc_upper(t: np.ndarray) -> np.ndarray:
    """InverseErfc[t] for 0 < t <= 1 (so y >= 0): Newton on Log[Erfc[y]] = Log[t], whose
    steps stay relative however small t is (down to the smallest float64)."""
    w = -np.log(t * (2 - t))
    y = np.empty_like(t)
    g = w < 25
    y[g] = _giles(1 - t[g], w[g])
    big = -np.log(t[~g])
    y[~g] = np.sqrt(big - 0.5 * np.log(big) - math.log(SQRT_PI))
    for _ in range(3):
        e = _erfcx(y)
        y = np.maximum(y + (np.log(e) - y * y - np.log(t)) * e * (SQRT_PI / 2), 0.0)
    return y


def _inverse_erf(x: np.ndarray) -> np.ndarray:
    """InverseErf[x]: +-Infinity at +-1, NaN beyond. Newton on Erf itself for |x| <= 1/2
    (relative for tiny x), InverseErfc[1 - |x|] above (1 - |x| is exact there)."""
    x = np.asarray(x, np.float64)
    ax = np.abs(x)
    out = np.full(x.shape, np.nan)
    small = ax <= 0.5
    s = ax[small]
    y = _giles(s, -np.log((1 - s) * (1 + s)))
    for _ in range(2):
        y = y - (_erf_series(y) - s) / ((2 / SQRT_PI) * np.exp(-y * y))
    out[small] = y
    mid = (ax > 0.5) & (ax < 1)
    out[mid] = _inverse_erfc_upper(1 - ax[mid])
    out[ax == 1] = np.inf
    return np.sign(x) * out


def _inverse_erfc(x: np.ndarray) -> np.ndarray:
    """InverseErfc[x] = -InverseErfc[2 - x]: +Infinity at 0, -Infinity at 2, NaN outside."""
    x = np.asarray(x, np.float64)
    out = np.full(x.shape, np.nan)
    upper = (x > 0) & (x <= 1)
    out[upper] = _inverse_erfc_upper(x[upper])
    lower = (x > 1) & (x < 2)
    out[lower] = -_inverse_erfc_upper(2 - x[lower])
    out[x == 0] = np.inf
    out[x == 2] = -np.inf
    return out


def _like(f: Callable) -> Callable:
    """A float64 computation given back in the input's float type (float32 stays float32)."""
    def g(x):
        x = np.asarray(x)
        return f(x).astype(np.result_type(x.dtype, np.float32), copy=False)
    return g


def _ones(x):
    return np.ones(np.shape(x), np.result_type(x, np.float32))


# name -> (f, f'); every primitive is vectorised
PRIMITIVES: dict[str, tuple[Callable, Callable]] = {
    "Ramp": (_ramp, lambda x: (x > 0).astype(x.dtype)),
    "Tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "LogisticSigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
    "Exp": (np.exp, np.exp),
    "Log": (np.log, lambda x: 1 / x),
    "Sqrt": (np.sqrt, lambda x: 0.5 / np.sqrt(x)),
    "Abs": (np.abs, np.sign),
    "Sin": (np.sin, np.cos),
    "Cos": (np.cos, lambda x: -np.sin(x)),
    "Erf": (_erf, lambda x: (2 / math.sqrt(math.pi)) * np.exp(-x * x)),
    "Erfc": (lambda x: 1 - _erf(x), lambda x: -(2 / math.sqrt(math.pi)) * np.exp(-x * x)),
    "Tan": (np.tan, lambda x: 1 / np.cos(x) ** 2),
    "ArcSin": (np.arcsin, lambda x: 1 / np.sqrt(1 - x * x)),
    "ArcCos": (np.arccos, lambda x: -1 / np.sqrt(1 - x * x)),
    "ArcTan": (np.arctan, lambda x: 1 / (1 + x * x)),
    "Sinh": (np.sinh, np.cosh),
    "Cosh": (np.cosh, np.sinh),
    "ArcSinh": (np.arcsinh, lambda x: 1 / np.sqrt(x * x + 1)),
    "ArcCosh": (np.arccosh, lambda x: 1 / np.sqrt(x * x - 1)),
    "ArcTanh": (np.arctanh, lambda x: 1 / (1 - x * x)),
    "Gamma": (_gamma, lambda x: _gamma(x) * _digamma(x)),
    "LogGamma": (_log_gamma, _digamma),
    "Round": (np.round, _zero),          # half to even, as Wolfram's Round
    "Floor": (np.floor, _zero),
    "Ceiling": (np.ceil, _zero),
    "Sign": (np.sign, _zero),
    "Log1p": (np.log1p, lambda x: 1 / (1 + x)),
    # reciprocal trigonometric and hyperbolic functions and their inverses (real branches:
    # ArcCot[x] = ArcTan[1/x], ArcCoth[x] = ArcTanh[1/x], ... as Wolfram defines them)
    "Cot": (lambda x: 1 / np.tan(x), lambda x: -1 / np.sin(x) ** 2),
    "Coth": (lambda x: 1 / np.tanh(x), lambda x: -1 / np.sinh(x) ** 2),
    "Csc": (lambda x: 1 / np.sin(x), lambda x: -np.cos(x) / np.sin(x) ** 2),
    "Csch": (lambda x: 1 / np.sinh(x), lambda x: -np.cosh(x) / np.sinh(x) ** 2),
    "Sec": (lambda x: 1 / np.cos(x), lambda x: np.sin(x) / np.cos(x) ** 2),
    "Sech": (lambda x: 1 / np.cosh(x), lambda x: -np.sinh(x) / np.cosh(x) ** 2),
    "ArcCot": (lambda x: np.arctan(1 / x), lambda x: -1 / (1 + x * x)),
    "ArcCoth": (lambda x: np.arctanh(1 / x), lambda x: 1 / (1 - x * x)),
    "ArcCsc": (lambda x: np.arcsin(1 / x), lambda x: -1 / (np.abs(x) * np.sqrt(x * x - 1))),
    "ArcCsch": (lambda x: np.arcsinh(1 / x), lambda x: -1 / (np.abs(x) * np.sqrt(x * x + 1))),
    "ArcSec": (lambda x: np.arccos(1 / x), lambda x: 1 / (np.abs(x) * np.sqrt(x * x - 1))),
    "ArcSech": (lambda x: np.arccosh(1 / x), lambda x: -1 / (np.abs(x) * np.sqrt(1 - x * x))),
    "Haversine": (lambda x: 0.5 * (1 - np.cos(x)), lambda x: 0.5 * np.sin(x)),
    "InverseHaversine": (lambda x: 2 * np.arcsin(np.sqrt(x)), lambda x: 1 / np.sqrt(x * (1 - x))),
    # Gudermannian[x] = 2 ArcTan[Tanh[x/2]]; InverseGudermannian[x] = 2 ArcTanh[Tan[x/2]]
    # (real on (-Pi/2, Pi/2) + 2 k Pi, NaN between, as Wolfram's is complex there)
    "Gudermannian": (lambda x: 2 * np.arctan(np.tanh(0.5 * x)), lambda x: 1 / np.cosh(x)),
    "InverseGudermannian": (lambda x: 2 * np.arctanh(np.tan(0.5 * x)), lambda x: 1 / np.cos(x)),
    "CubeRoot": (np.cbrt, lambda x: 1 / (3 * np.cbrt(x) ** 2)),
    "InverseErf": (_like(_inverse_erf),
                   lambda x: (SQRT_PI / 2) * np.exp(np.asarray(_like(_inverse_erf)(x)) ** 2)),
    "InverseErfc": (_like(_inverse_erfc),
                    lambda x: -(SQRT_PI / 2) * np.exp(np.asarray(_like(_inverse_erfc)(x)) ** 2)),
    # steps: derivative 0 (as Round); FractionalPart[x] = x - IntegerPart[x] has slope 1
    "IntegerPart": (np.trunc, _zero),
    "FractionalPart": (lambda x: x - np.trunc(x), _ones),
}

# ElementwiseLayer["name"] forms, as Wolfram names them
NAMED: dict[str, tuple[Callable, Callable]] = {
    "RectifiedLinearUnit": PRIMITIVES["Ramp"],
    "ReLU": PRIMITIVES["Ramp"],
    "Sigmoid": PRIMITIVES["LogisticSigmoid"],
    "ExponentialLinearUnit": (lambda x: np.where(x >= 0, x, np.expm1(np.minimum(x, 0))),
                              lambda x: np.where(x >= 0, 1, np.exp(np.minimum(x, 0)))),
    "ScaledExponentialLinearUnit": (
        lambda x: SELU_SCALE * np.where(x >= 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
        lambda x: SELU_SCALE * np.where(x >= 0, 1, SELU_ALPHA * np.exp(np.minimum(x, 0)))),
    "GaussianErrorLinearUnit": (
        lambda x: 0.5 * x * (1 + _erf(x / SQRT2)),
        lambda x: 0.5 * (1 + _erf(x / SQRT2)) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)),
    "Swish": (lambda x: x * _sigmoid(x),
              lambda x: _sigmoid(x) + x * _sigmoid(x) * (1 - _sigmoid(x))),
    "HardSwish": (lambda x: x * np.clip(x + 3, 0, 6) / 6,
                  lambda x: np.where(x < -3, 0, np.where(x > 3, 1, (2 * x + 3) / 6))),
    "Mish": (lambda x: x * np.tanh(np.logaddexp(0, x)),
             lambda x: np.tanh(np.logaddexp(0, x)) + x * _sigmoid(x) * (
                 1 - np.tanh(np.logaddexp(0, x)) ** 2)),
    "SoftSign": (lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2),
    "SoftPlus": (lambda x: np.logaddexp(0, x), _sigmoid),
    "HardTanh": (lambda x: np.clip(x, -1, 1), lambda x: ((x > -1) & (x < 1)).astype(x.dtype)),
    "HardSigmoid": (lambda x: np.clip((x + 1) / 2, 0, 1),
                    lambda x: np.where((x > -1) & (x < 1), 0.5, 0.0)),
}
ALIASES = {"ELU": "ExponentialLinearUnit", "SELU": "ScaledExponentialLinearUnit",
           "GELU": "GaussianErrorLinearUnit"}

# functions that never decrease (they commute with max pooling)
MONOTONE = {("prim", "Ramp"), ("prim", "Tanh"), ("prim", "LogisticSigmoid"), ("prim", "Exp"),
            ("prim", "Erf"), ("prim", "ArcTan"), ("prim", "Sinh"), ("prim", "ArcSinh"),
            ("prim", "Round"), ("prim", "Floor"), ("prim", "Ceiling"), ("prim", "Sign"),
            ("named", "RectifiedLinearUnit"), ("named", "ReLU"),
            ("named", "Sigmoid"), ("named", "ExponentialLinearUnit"),
            ("named", "ScaledExponentialLinearUnit"), ("named", "SoftSign"),
            ("named", "SoftPlus"), ("named", "HardTanh"), ("named", "HardSigmoid"),
            ("prim", "Gudermannian"), ("prim", "CubeRoot"), ("prim", "IntegerPart")}
RAMPS = {("prim", "Ramp"), ("named", "ReLU"), ("named", "RectifiedLinearUnit")}


def _arctan2(x, y):
    """Wolfram's ArcTan[x, y]: the angle of the point {x, y} (0 at the origin, as NumPy)."""
    return np.arctan2(y, x)


def _arctan2_partial(which: int) -> Callable:
    def d(x, y):
        r2 = x * x + y * y
        safe = np.where(r2 == 0, 1.0, r2)
        return np.where(r2 == 0, 0.0, (-y if which == 0 else x) / safe)
    return d


# two-argument primitives: name -> (f, df/da, df/db)
BINARY: dict[str, tuple[Callable, Callable, Callable]] = {
    "ArcTan": (_arctan2, _arctan2_partial(0), _arctan2_partial(1)),
}


class FunctionError(ValueError):
    pass


# Tree nodes: ("var", i) | ("const", c) | ("prim", name, node) | ("named", name, node)
#             | ("plus", *nodes) | ("times", *nodes) | ("power", a, b) | ("max"/"min", *nodes)
#             | ("cmp", op, a, b): 1.0 where a op b holds, else 0.0 (derivative 0)
#             | ("if", c, a, b): a where c is nonzero, else b
#             | ("and"/"or", *nodes), ("not", a): logic on 0/1 values
#             | ("binary", name, a, b): a BINARY primitive (ArcTan[x, y])
Node = tuple


class Program:
    """A compiled function of ``arity`` arrays."""

    def __init__(self, tree: Node, arity: int, source: Any, names: tuple[str, ...] = ()):
        self.tree = tree
        self.arity = arity
        self.source = source
        self.names = names        # #a, #b: the arguments are named (a layer's port names)

    def __call__(self, *xs: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return _value(self.tree, xs)

    @property
    def monotone(self) -> bool:
        """One primitive of the argument that never decreases (Ramp, Tanh, "ELU", ...)."""
        t = self.tree
        return len(t) == 3 and t[2] == ("var", 0) and (t[0], t[1]) in MONOTONE

    @property
    def is_ramp(self) -> bool:
        t = self.tree
        return len(t) == 3 and t[2] == ("var", 0) and (t[0], t[1]) in RAMPS

    def partials(self, *xs: np.ndarray) -> list[np.ndarray]:
        """d f / d x_i for each argument, elementwise."""
        with np.errstate(all="ignore"):
            return [_value_and_derivative(self.tree, xs, i)[1] for i in range(self.arity)]

    def __eq__(self, other):
        return isinstance(other, Program) and other.tree == self.tree

    def __hash__(self):
        return hash(self.tree)


def as_data(v, like: np.ndarray) -> np.ndarray:
    """A Program's result as an array of ``like``'s shape and dtype (a constant function
    gives a scalar; Python-float constants never promote float32, by NEP 50)."""
    v = np.asarray(v)
    if v.shape != like.shape:
        v = np.broadcast_to(v, like.shape)
    if v.dtype != like.dtype or not v.flags.c_contiguous:
        v = np.ascontiguousarray(v, dtype=like.dtype)
    return v


def function_argument(arity: int | None, who: str) -> Callable[[Any], Program]:
    """A layer-argument converter: the compiled function, or ValueError saying why not."""
    def convert(f: Any) -> Program:
        try:
            return compile_function(f, arity, who)
        except FunctionError as e:
            raise ValueError(str(e)) from None
    return convert


def compile_function(f: Any, arity: int | None = 1, who: str = "ElementwiseLayer") -> Program:
    """Compile ``f`` (symbol, name string or pure function); ``arity`` None means any."""
    if isinstance(f, str):
        name = ALIASES.get(f, f)
        if name in NAMED:
            return Program(("named", name, ("var", 0)), 1, f)
        if f in PRIMITIVES:
            return Program(("prim", f, ("var", 0)), 1, f)
        raise FunctionError(f'"{f}" is not a known function name; known names: '
                            f"{', '.join(sorted(NAMED) + sorted(ALIASES))}")
    if isinstance(f, Symbol):
        if f.name in PRIMITIVES and (arity == 1 or arity is None and f.name not in _MULTI):
            return Program(("prim", f.name, ("var", 0)), 1, f)
        binary = {"Plus": "plus", "Times": "times", "Max": "max", "Min": "min"}
        if f.name in binary and arity != 1:
            n = arity or 2
            return Program((binary[f.name], *[("var", i) for i in range(n)]), n, f)
        if f.name == "Subtract" and arity in (None, 2):
            return Program(("plus", ("var", 0), ("times", ("const", -1.0), ("var", 1))), 2, f)
        if f.name == "Divide" and arity in (None, 2):
            return Program(("times", ("var", 0), ("power", ("var", 1), ("const", -1.0))), 2, f)
        if f.name == "Power" and arity in (None, 2):
            return Program(("power", ("var", 0), ("var", 1)), 2, f)
        # any other head f that compiles as f[#1, ..., #n]: Mod, Surd, Unitize, Chop, ...
        n = arity if arity is not None else _MULTI.get(f.name, 1)
        slots = [Expr(S("Slot"), i) for i in range(1, n + 1)]
        body = (Expr(f, slots[0], Expr(S("List"), *slots[1:])) if f.name == "Clip" and n == 3
                else Expr(f, *slots))     # ThreadingLayer[Clip]: Clip[#1, {#2, #3}]
        if f.name not in binary and f.name not in ("Subtract", "Divide", "Power"):
            try:
                return Program(_compile(body, None, set(), f), n, f)
            except FunctionError:
                pass
        if f.name in _MULTI and n == 1:
            raise FunctionError(f"{f.name} takes {_MULTI[f.name]} arguments: use "
                                f"ThreadingLayer[{f.name}] or a pure function such as "
                                f"{f.name}[#, 2] &")
        raise FunctionError(f"{f.name} is not an elementwise function{_of(n)} netdsl can "
                            f"compute; use one of {', '.join(PRIMITIVES)}, {_OTHER_SYMBOLS} or "
                            f"a pure function such as Max[#, 0.1 #] &")
    if isinstance(f, Expr) and f.head is S("Function"):
        if len(f.args) == 1:
            body, params = f.args[0], None
        elif len(f.args) == 2:
            params = f.args[0]
            params = list(params.args) if isinstance(params, Expr) else [params]
            body = f.args[1]
        else:
            raise FunctionError(f"{input_form(f)} is not a function of the form body & or "
                                f"Function[x, body]")
        used: set[int] = set()
        names: list[str] = []
        tree = _compile(body, params, used, f, names)
        if names and used - set(range(len(names))):
            raise FunctionError(f"{input_form(f)} mixes named slots (#a) with numbered ones (#1)")
        n = len(params) if params is not None else (max(used) + 1 if used else 1)
        if names:
            n = len(names)
        if arity is not None and n != arity:
            raise FunctionError(f"{input_form(f)} takes {n} argument{'s' if n != 1 else ''}, "
                                f"but {who} needs {arity}")
        return Program(tree, n, f, tuple(names))
    raise FunctionError(f"{input_form(f)} is not a function")


_HEADS = {"Plus": "plus", "Times": "times", "Max": "max", "Min": "min"}

# ThreadingLayer[f] for these symbols (not Plus, Times, ...) takes this many inputs:
# Mod[#1, #2], Surd[#1, #2], ArcTan[#1, #2], Erf[#1, #2] (= Erf[#2] - Erf[#1]),
# Clip[#1, {#2, #3}], KroneckerDelta[#1, #2]
_MULTI = {"Mod": 2, "Surd": 2, "ArcTan": 2, "Erf": 2, "Clip": 3, "KroneckerDelta": 2}
_OTHER_SYMBOLS = ("Clip, Unitize, KroneckerDelta, Chop, Threshold, Positive, Negative, "
                  "NonNegative, NonPositive, PossibleZeroQ (and ThreadingLayer's Mod, Surd, "
                  "ArcTan, Erf, Clip)")

# named constants a function may use (True and False as the 1 and 0 of comparisons)
_CONSTANTS = {"Pi": math.pi, "E": math.e, "Degree": math.pi / 180, "True": 1.0, "False": 0.0,
              "EulerGamma": 0.5772156649015329, "GoldenRatio": (1 + math.sqrt(5)) / 2}

# sign tests as 0/1 values: Positive[x] is x > 0, ...
_SIGN_TESTS = {"Positive": "Greater", "Negative": "Less", "NonNegative": "GreaterEqual",
               "NonPositive": "LessEqual", "PossibleZeroQ": "Equal"}

_THRESHOLDS = ("Hard", "Soft", "PiecewiseGarrote", "Hyperbola")

ALLOWED = ("numbers, +, -, *, /, ^, Max, Min, Clip, If, Which, Piecewise, comparisons, And, Or, "
           "Not, Boole, Positive, Negative, NonNegative, NonPositive, PossibleZeroQ, Unitize, "
           "KroneckerDelta, Mod, Surd, Chop, Threshold, Log[b, x], ArcTan[x, y], Erf[z0, z1], "
           "\"name\"[x] (ElementwiseLayer's named functions)")


def _of(n: int) -> str:
    return "" if n == 1 else f" of {n} arguments"


def _items(x: Any) -> list | None:
    """The elements of a {...} list expression (or packed array), else None."""
    if isinstance(x, np.ndarray):
        return x.tolist() if x.ndim == 1 else None
    if isinstance(x, Expr) and x.head is S("List"):
        return list(x.args)
    return None


def _minus(a: Node) -> Node:
    return ("times", ("const", -1.0), a)


def _over(a: Node, b: Node) -> Node:
    return ("times", a, ("power", b, ("const", -1.0)))


def _mod(x: Node, m: Node, d: Node | None = None) -> Node:
    """Mod[x, m, d] = x - m Floor[(x - d)/m]: slope 1 in x, -Floor[(x - d)/m] in m."""
    inner = x if d is None else ("plus", x, _minus(d))
    return ("plus", x, _minus(("times", m, ("prim", "Floor", _over(inner, m)))))


def _surd(x: Node, n: Node) -> Node:
    """Surd[x, n]: the real n-th root Sign[x] Abs[x]^(1/n); NaN for x < 0 unless n is odd
    (Wolfram: no real root)."""
    root = ("times", ("prim", "Sign", x), ("power", ("prim", "Abs", x), ("power", n, ("const", -1.0))))
    if n[0] == "const":
        if not float(n[1]).is_integer():
            raise FunctionError(f"Surd[x, n] needs an integer n, not {n[1]:g}")
        if int(n[1]) % 2:
            return root
        return ("if", ("cmp", "Less", x, ("const", 0.0)), ("const", math.nan), root)
    even = ("cmp", "Unequal", _mod(n, ("const", 2.0)), ("const", 1.0))
    return ("if", ("and", ("cmp", "Less", x, ("const", 0.0)), even), ("const", math.nan), root)


def _threshold(x: Node, kind: str, delta: Node) -> Node:
    """Threshold[x, {kind, delta}]: 0 where Abs[x] <= delta, else as the kind says."""
    abs_x, sign = ("prim", "Abs", x), ("prim", "Sign", x)
    kept = {"Hard": x,
            "Soft": ("times", sign, ("plus", abs_x, _minus(delta))),
            "PiecewiseGarrote": ("plus", x, _minus(_over(("power", delta, ("const", 2.0)), x))),
            "Hyperbola": ("times", sign, ("power", ("plus", ("power", x, ("const", 2.0)),
                                                    _minus(("power", delta, ("const", 2.0)))),
                                          ("const", 0.5)))}[kind]
    return ("if", ("cmp", "LessEqual", abs_x, delta), ("const", 0.0), kept)


_COMPARE = {"Greater": np.greater, "Less": np.less, "GreaterEqual": np.greater_equal,
            "LessEqual": np.less_equal, "Equal": np.equal, "Unequal": np.not_equal}


def _clip(e: Expr, sub: Callable, whole: Any) -> Node | None:
    """Clip[x] (to {-1, 1}), Clip[x, {lo, hi}], Clip[x, {lo, hi}, {vlo, vhi}]; the bounds
    may depend on the arguments (Clip[#1, {-#2, #2}] &)."""
    if len(e.args) == 1:
        return ("min", ("max", sub(e.args[0]), ("const", -1.0)), ("const", 1.0))
    specs = [_items(a) for a in e.args[1:]]
    if not 2 <= len(e.args) <= 3 or any(v is None or len(v) != 2 for v in specs):
        return None
    x = sub(e.args[0])
    lo, hi = (sub(b) for b in specs[0] or ())
    if len(specs) == 1:
        return ("min", ("max", x, lo), hi)
    vlo, vhi = (sub(b) for b in specs[1] or ())
    return ("if", ("cmp", "Less", x, lo), vlo, ("if", ("cmp", "Greater", x, hi), vhi, x))


def _which(e: Expr, sub: Callable, whole: Any) -> Node | None:
    """Which[test1, value1, ...]: 0 where no test holds (as Piecewise's default)."""
    if not e.args or len(e.args) % 2:
        return None
    tree: Node = ("const", 0.0)
    for i in range(len(e.args) - 2, -1, -2):
        tree = ("if", sub(e.args[i]), sub(e.args[i + 1]), tree)
    return tree


def _threshold_form(e: Expr, sub: Callable, whole: Any) -> Node | None:
    """Threshold[x] (= {"Hard", 10^-10}), Threshold[x, delta], Threshold[x, {kind, delta}]."""
    if not 1 <= len(e.args) <= 2:
        return None
    spec = e.args[1] if len(e.args) == 2 else 1e-10
    items = _items(spec)
    if items is None:
        return _threshold(sub(e.args[0]), "Hard", sub(spec))
    if len(items) == 2 and items[0] in _THRESHOLDS:
        return _threshold(sub(e.args[0]), items[0], sub(items[1]))
    raise FunctionError(f"{input_form(e)} in {input_form(whole)}: netdsl computes Threshold[x], "
                        f"Threshold[x, delta] and Threshold[x, {{kind, delta}}] with kind "
                        f"{', '.join(_THRESHOLDS)}")


def _chop(e: Expr, sub: Callable, whole: Any) -> Node | None:
    """Chop[x, delta]: 0 where Abs[x] < delta (10^-10 by default)."""
    if not 1 <= len(e.args) <= 2:
        return None
    x = sub(e.args[0])
    delta = sub(e.args[1]) if len(e.args) == 2 else ("const", 1e-10)
    return ("if", ("cmp", "Less", ("prim", "Abs", x), delta), ("const", 0.0), x)


_HELD: dict[str, Callable[[Expr, Callable, Any], Node | None]] = {
    "Clip": _clip, "Which": _which, "Threshold": _threshold_form, "Chop": _chop}


def _unitize(args: list[Node]) -> Node | None:
    """Unitize[x]: 0 where x == 0, else 1; Unitize[x, dx]: 0 where Abs[x] < dx."""
    if len(args) == 1:
        return ("cmp", "Unequal", args[0], ("const", 0.0))
    if len(args) == 2:
        return ("cmp", "GreaterEqual", ("prim", "Abs", args[0]), args[1])
    return None


def _kronecker(args: list[Node]) -> Node:
    """KroneckerDelta[x]: 1 where x == 0; KroneckerDelta[a, b, ...]: 1 where all are equal."""
    if len(args) == 1:
        return ("cmp", "Equal", args[0], ("const", 0.0))
    parts = [("cmp", "Equal", a, b) for a, b in zip(args, args[1:])]
    return ("const", 1.0) if not parts else parts[0] if len(parts) == 1 else ("and", *parts)


def _sign_test(op: str) -> Callable[[list[Node]], Node | None]:
    """Positive[x] is x > 0, ...: 1 or 0."""
    def form(args: list[Node]) -> Node | None:
        return ("cmp", op, args[0], ("const", 0.0)) if len(args) == 1 else None
    return form


# forms of compiled arguments; None: not this form (the generic message follows)
_OF_VALUES: dict[str, Callable[[list[Node]], Node | None]] = {
    **{test: _sign_test(op) for test, op in _SIGN_TESTS.items()},
    "Unitize": _unitize,
    "KroneckerDelta": _kronecker,
    "Mod": lambda args: _mod(*args) if len(args) in (2, 3) else None,
    "Surd": lambda args: _surd(*args) if len(args) == 2 else None,
    "ArcTan": lambda args: ("binary", "ArcTan", *args) if len(args) == 2 else None,
    # Erf[z0, z1] = Erf[z1] - Erf[z0]
    "Erf": lambda args: ("plus", ("prim", "Erf", args[1]), _minus(("prim", "Erf", args[0])))
    if len(args) == 2 else None,
}


def _compile(e: Any, params, used: set[int], whole: Any, names: list[str] | None = None) -> Node:
    names = [] if names is None else names
    if is_number(e):
        return ("const", float(e))
    if isinstance(e, Symbol):
        if params is not None and e in params:
            i = params.index(e)
            used.add(i)
            return ("var", i)
        if e.name in _CONSTANTS:
            return ("const", _CONSTANTS[e.name])
        raise FunctionError(f"the symbol {e.name} in {input_form(whole)} has no value; an "
                            f"elementwise function may only use its argument and numbers")
    if isinstance(e, Expr) and isinstance(e.head, Symbol):
        name = e.head.name
        if name == "Slot" and params is None and len(e.args) == 1 and is_integer(e.args[0]):
            used.add(e.args[0] - 1)
            return ("var", e.args[0] - 1)
        if name == "Slot" and params is None and len(e.args) == 1 and isinstance(e.args[0], str):
            if e.args[0] not in names:       # #a, #b: arguments in order of first use
                names.append(e.args[0])
            used.add(names.index(e.args[0]))
            return ("var", names.index(e.args[0]))
        if name == "Piecewise" and 1 <= len(e.args) <= 2:
            cases = e.args[0].tolist() if isinstance(e.args[0], np.ndarray) else (
                list(e.args[0].args) if isinstance(e.args[0], Expr) else [])
            default = _compile(e.args[1], params, used, whole, names) if len(e.args) == 2 \
                else ("const", 0.0)
            pairs = []
            for case in cases:
                items = case if isinstance(case, list) else list(case.args) if isinstance(
                    case, Expr) and case.head is S("List") else []
                if len(items) != 2:
                    raise FunctionError(f"{input_form(e)} in {input_form(whole)}: Piecewise "
                                        f"takes {{{{value, condition}}, ...}}")
                pairs.append(items)
            tree = default
            for value, cond in reversed(pairs):
                tree = ("if", _compile(cond, params, used, whole, names),
                        _compile(value, params, used, whole, names), tree)
            return tree
        if name == "Inequality" and len(e.args) >= 3 and len(e.args) % 2 == 1:
            parts = []
            for i in range(0, len(e.args) - 2, 2):
                op = e.args[i + 1]
                if not (isinstance(op, Symbol) and op.name in _COMPARE):
                    break
                parts.append(("cmp", op.name, _compile(e.args[i], params, used, whole, names),
                              _compile(e.args[i + 2], params, used, whole, names)))
            else:
                return parts[0] if len(parts) == 1 else ("and", *parts)
        if name in _HELD:         # forms whose arguments are not all values: Clip[x, {a, b}]
            held = _HELD[name](e, lambda a: _compile(a, params, used, whole, names), whole)
            if held is not None:
                return held
        args = [_compile(a, params, used, whole, names) for a in e.args]
        if name in _OF_VALUES:
            formed = _OF_VALUES[name](args)
            if formed is not None:
                return formed
        if name in _HEADS and args:
            return (_HEADS[name], *args)
        if name in _COMPARE and len(args) >= 2:
            parts = [("cmp", name, a, b) for a, b in zip(args, args[1:])]
            return parts[0] if len(parts) == 1 else ("and", *parts)
        if name == "If" and len(args) == 3:
            return ("if", *args)
        if name in ("And", "Or") and args:
            return (name.lower(), *args)
        if name == "Not" and len(args) == 1:
            return ("not", args[0])
        if name == "Boole" and len(args) == 1:
            return args[0]
        if name == "Subtract" and len(args) == 2:
            return ("plus", args[0], ("times", ("const", -1.0), args[1]))
        if name == "Minus" and len(args) == 1:        # ElementwiseLayer[Minus]: -#
            return ("times", ("const", -1.0), args[0])
        if name == "Divide" and len(args) == 2:
            return ("times", args[0], ("power", args[1], ("const", -1.0)))
        if name == "Log" and len(args) == 2:          # Log[b, x] = Log[x] / Log[b]
            return ("times", ("prim", "Log", args[1]),
                    ("power", ("prim", "Log", args[0]), ("const", -1.0)))
        if name == "Power" and len(args) == 2:
            return ("power", args[0], args[1])
        if name in PRIMITIVES and len(args) == 1:
            return ("prim", name, args[0])
    if isinstance(e, Expr) and isinstance(e.head, str) and len(e.args) == 1:
        # "ELU"[x], "GELU"[x], "Tanh"[x]: ElementwiseLayer's named functions inside a function
        named = compile_function(e.head, 1).tree
        return (named[0], named[1], _compile(e.args[0], params, used, whole, names))
    raise FunctionError(f"{short(e, 100)} in {short(whole, 160)} is not elementwise arithmetic; "
                        f"allowed are {ALLOWED} and {', '.join(PRIMITIVES)}")


def _truth(v) -> np.ndarray:
    return np.asarray(v) != 0


_LOGIC: dict[str, Callable] = {      # (operands may be arrays and constants: broadcast)
    "and": lambda vs: functools.reduce(np.logical_and, [_truth(v) for v in vs]).astype(
        np.float32),
    "or": lambda vs: functools.reduce(np.logical_or, [_truth(v) for v in vs]).astype(
        np.float32),
    "not": lambda vs: (~_truth(vs[0])).astype(np.float32),
}


def _value(node: Node, xs) -> Any:
    kind = node[0]
    if kind == "var":
        return xs[node[1]]
    if kind == "const":
        return node[1]
    if kind in ("prim", "named"):
        table = PRIMITIVES if kind == "prim" else NAMED
        return table[node[1]][0](np.asarray(_value(node[2], xs)))
    if kind == "cmp":
        return _COMPARE[node[1]](_value(node[2], xs), _value(node[3], xs)).astype(np.float32)
    if kind == "if":
        c = np.asarray(_value(node[1], xs))
        return np.where(c != 0, _value(node[2], xs), _value(node[3], xs))
    if kind == "binary":
        return BINARY[node[1]][0](np.asarray(_value(node[2], xs)), np.asarray(_value(node[3], xs)))
    vals = [_value(c, xs) for c in node[1:]]
    if kind == "plus":
        out = vals[0]
        for v in vals[1:]:
            out = out + v
        return out
    if kind == "times":
        out = vals[0]
        for v in vals[1:]:
            out = out * v
        return out
    if kind == "power":
        return np.power(vals[0], vals[1])
    if kind == "max":
        out = vals[0]
        for v in vals[1:]:
            out = np.maximum(out, v)
        return out
    if kind in _LOGIC:
        return _LOGIC[kind](vals)
    if kind == "min":
        out = vals[0]
        for v in vals[1:]:
            out = np.minimum(out, v)
        return out
    raise AssertionError(kind)


def _value_and_derivative(node: Node, xs, i: int) -> tuple[Any, Any]:
    """Forward mode: (f, d f / d x_i)."""
    kind = node[0]
    if kind == "var":
        return xs[node[1]], (1.0 if node[1] == i else 0.0)
    if kind == "const":
        return node[1], 0.0
    if kind in ("prim", "named"):
        table = PRIMITIVES if kind == "prim" else NAMED
        f, df = table[node[1]]
        u, du = _value_and_derivative(node[2], xs, i)
        u = np.asarray(u)
        return f(u), df(u) * du
    if kind == "cmp":
        return _value(node, xs), 0.0
    if kind == "if":
        c = np.asarray(_value(node[1], xs)) != 0
        (a, da), (b, db) = (_value_and_derivative(n, xs, i) for n in node[2:])
        return np.where(c, a, b), np.where(c, da, db)
    if kind in _LOGIC:
        return _value(node, xs), 0.0
    if kind == "binary":
        f, da_f, db_f = BINARY[node[1]]
        (a, da), (b, db) = (_value_and_derivative(n, xs, i) for n in node[2:])
        a, b = np.asarray(a), np.asarray(b)
        return f(a, b), da_f(a, b) * da + db_f(a, b) * db
    parts = [_value_and_derivative(c, xs, i) for c in node[1:]]
    if kind == "plus":
        return sum(p[0] for p in parts[1:]) + parts[0][0], sum(p[1] for p in parts)
    if kind == "times":
        value, deriv = parts[0]
        for v, d in parts[1:]:
            value, deriv = value * v, deriv * v + value * d
        return value, deriv
    if kind == "power":
        (a, da), (b, db) = parts
        value = np.power(a, b)
        deriv = b * np.power(a, b - 1) * da
        if not (isinstance(db, float) and db == 0.0):
            deriv = deriv + value * np.log(a) * db
        return value, deriv
    if kind in ("max", "min"):
        pick = np.greater_equal if kind == "max" else np.less_equal
        value, deriv = parts[0]
        for v, d in parts[1:]:
            keep = pick(value, v)
            value, deriv = np.where(keep, value, v), np.where(keep, deriv, d)
        return value, deriv
    raise AssertionError(kind)
