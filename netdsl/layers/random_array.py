"""RandomArrayLayer[dist]: no input; an array of independent draws from the univariate
distribution dist, of the "Output" port's dimensions (a number when nothing sets them).
RandomArrayLayer[dfunc]: dfunc a pure function giving a distribution (NormalDistribution[
#Mean, #StandardDeviation] &); its arguments are input ports ("Mean", "StandardDeviation";
"Input" for one numbered slot, "Input1", "Input2", ... for several), of one shape, and each
element of the output is a draw from dfunc of the inputs' elements there.

The draws come from the evaluation's random source (RandomSeeding, as Dropout's masks), in
Test mode as in Train mode: the layer is a source of randomness, not a training device.
Gradients reach the inputs through the draw written as a function of its parameters and of
noise that does not depend on them (the reparametrisation: mu + sigma eps for
NormalDistribution, a + (b - a) u for UniformDistribution; every location and scale
parameter); a shape parameter (GammaDistribution's alpha, ChiSquareDistribution's nu) and the
parameters of discrete distributions get none."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import EvaluationError
from ..expr import Expr, S, Symbol, input_form, is_integer, is_list, is_number, list_items
from .base import Infer, Layer, Param, check_batch_size
from .functions import FunctionError, Program, compile_function
from .registry import register_layer
from .shapes import PortType, is_length_var

Draw = Callable[[np.random.Generator, list, tuple], np.ndarray]
Slope = Callable[[np.ndarray, list], "np.ndarray | None"]


@dataclass(frozen=True)
class Family:
    """A distribution: its parameters' names (a list argument such as {min, max} counts
    each), their defaults when the head is given without arguments, each parameter's
    domain test and words, the draw, and d draw / d parameter from the draw and the
    parameters (None: no gradient)."""

    params: tuple[str, ...]
    domain: tuple[tuple[Callable[[Any], Any], str], ...]
    draw: Draw
    slopes: tuple[Slope, ...]
    defaults: tuple[float, ...] | None = None
    listed: bool = False            # UniformDistribution[{min, max}]: one list argument
    discrete: bool = False
    ordered: bool = False           # the two listed bounds must satisfy min < max (<= if discrete)


def _pos(v):
    return v > 0


def _real(v):
    return np.isfinite(v)


def _prob(v):
    return (v >= 0) & (v <= 1)


def _count(v):
    return (v >= 0) & (v == np.floor(v))


def _pos_count(v):
    return (v >= 1) & (v == np.floor(v))


POSITIVE = (_pos, "positive")
REAL = (_real, "a real number")
PROBABILITY = (_prob, "between 0 and 1")
COUNT = (_count, "a non-negative integer")
POSITIVE_COUNT = (_pos_count, "a positive integer")


def _none(y, p):
    return None


def _gamma(rng, a, shape):
    return rng.standard_gamma(np.broadcast_to(a, shape))


def _log_ratio(y, scale):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log(y / scale)
    return np.where(y > 0, r, 0.0)


FAMILIES: dict[str, Family] = {
    "NormalDistribution": Family(
        ("mean", "standard deviation"), (REAL, POSITIVE),
        lambda rng, p, s: p[0] + p[1] * rng.standard_normal(s),
        (lambda y, p: np.ones_like(y), lambda y, p: (y - p[0]) / p[1]), defaults=(0.0, 1.0)),
    "UniformDistribution": Family(
        ("min", "max"), (REAL, REAL),
        lambda rng, p, s: p[0] + (p[1] - p[0]) * rng.random(s),
        (lambda y, p: (p[1] - y) / (p[1] - p[0]), lambda y, p: (y - p[0]) / (p[1] - p[0])),
        defaults=(0.0, 1.0), listed=True, ordered=True),
    "ExponentialDistribution": Family(
        ("rate",), (POSITIVE,), lambda rng, p, s: rng.standard_exponential(s) / p[0],
        (lambda y, p: -y / p[0],)),
    "GammaDistribution": Family(
        ("shape", "scale"), (POSITIVE, POSITIVE), lambda rng, p, s: _gamma(rng, p[0], s) * p[1],
        (_none, lambda y, p: y / p[1])),
    "ErlangDistribution": Family(
        ("shape", "rate"), (POSITIVE_COUNT, POSITIVE),
        lambda rng, p, s: _gamma(rng, p[0], s) / p[1], (_none, lambda y, p: -y / p[1])),
    "ChiSquareDistribution": Family(
        ("degrees of freedom",), (POSITIVE,), lambda rng, p, s: 2 * _gamma(rng, p[0] / 2, s),
        (_none,)),
    "ChiDistribution": Family(
        ("degrees of freedom",), (POSITIVE,),
        lambda rng, p, s: np.sqrt(2 * _gamma(rng, p[0] / 2, s)), (_none,)),
    "MaxwellDistribution": Family(
        ("scale",), (POSITIVE,), lambda rng, p, s: p[0] * np.sqrt(2 * _gamma(rng, 1.5, s)),
        (lambda y, p: y / p[0],)),
    "RayleighDistribution": Family(
        ("scale",), (POSITIVE,),
        lambda rng, p, s: p[0] * np.sqrt(2 * rng.standard_exponential(s)),
        (lambda y, p: y / p[0],)),
    # Wolfram's HalfNormalDistribution[theta]: |N(0, Sqrt[Pi/2]/theta)|, mean 1/theta
    "HalfNormalDistribution": Family(
        ("theta",), (POSITIVE,),
        lambda rng, p, s: np.abs(rng.standard_normal(s)) * math.sqrt(math.pi / 2) / p[0],
        (lambda y, p: -y / p[0],)),
    "WeibullDistribution": Family(
        ("shape", "scale"), (POSITIVE, POSITIVE),
        lambda rng, p, s: p[1] * rng.standard_exponential(s) ** (1 / p[0]),
        (lambda y, p: -y * _log_ratio(y, p[1]) / p[0], lambda y, p: y / p[1])),
    # NakagamiDistribution[mu, omega]: Sqrt[Gamma(mu, omega/mu)]
    "NakagamiDistribution": Family(
        ("shape", "spread"), (POSITIVE, POSITIVE),
        lambda rng, p, s: np.sqrt(_gamma(rng, p[0], s) * p[1] / p[0]),
        (_none, lambda y, p: y / (2 * p[1]))),
    # log(1 + x - mu) ~ Gamma(alpha, beta)
    "LogGammaDistribution": Family(
        ("alpha", "beta", "location"), (POSITIVE, POSITIVE, REAL),
        lambda rng, p, s: p[2] + np.expm1(p[1] * _gamma(rng, p[0], s)),
        (_none, lambda y, p: (1 + y - p[2]) * np.log1p(y - p[2]) / p[1],
         lambda y, p: np.ones_like(y))),
    # exp((x - mu)/theta) ~ Gamma(kappa, 1)
    "ExpGammaDistribution": Family(
        ("kappa", "theta", "location"), (POSITIVE, POSITIVE, REAL),
        lambda rng, p, s: p[2] + p[1] * np.log(_gamma(rng, p[0], s)),
        (_none, lambda y, p: (y - p[2]) / p[1], lambda y, p: np.ones_like(y))),
    "InverseGammaDistribution": Family(
        ("alpha", "beta"), (POSITIVE, POSITIVE),
        lambda rng, p, s: p[1] / _gamma(rng, p[0], s), (_none, lambda y, p: y / p[1])),
    "PoissonDistribution": Family(
        ("mean",), (POSITIVE,), lambda rng, p, s: rng.poisson(np.broadcast_to(p[0], s)),
        (_none,), discrete=True),
    "BernoulliDistribution": Family(
        ("p",), (PROBABILITY,), lambda rng, p, s: rng.random(s) < p[0], (_none,),
        discrete=True),
    "BinomialDistribution": Family(
        ("n", "p"), (COUNT, PROBABILITY),
        lambda rng, p, s: rng.binomial(np.broadcast_to(p[0], s).astype(np.int64), p[1]),
        (_none, _none), discrete=True),
    "NegativeBinomialDistribution": Family(
        ("n", "p"), (POSITIVE, (lambda v: (v > 0) & (v <= 1), "in (0, 1]")),
        lambda rng, p, s: rng.negative_binomial(np.broadcast_to(p[0], s), p[1]),
        (_none, _none), discrete=True),
    "DiscreteUniformDistribution": Family(
        ("min", "max"), ((lambda v: v == np.floor(v), "an integer"),) * 2,
        lambda rng, p, s: rng.integers(np.broadcast_to(p[0], s).astype(np.int64),
                                       np.broadcast_to(p[1], s).astype(np.int64) + 1),
        (_none, _none), listed=True, discrete=True, ordered=True),
}


@dataclass(frozen=True)
class Spec:
    """A parsed RandomArrayLayer argument: the family, each parameter as a number or a
    compiled function of the input ports, the port names, and the expression written."""

    family: str
    params: tuple = ()               # float | Program per parameter
    ports: tuple[str, ...] = ()
    source: Any = field(default=None, compare=False)
    text: str = ""                   # the source's InputForm: equality and hashing

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Spec) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _known() -> str:
    return ", ".join(FAMILIES)


def _arguments(dist: Any, fam: Family, name: str) -> list:
    args = list(dist.args)
    if fam.listed:
        if not args:
            return [] if fam.defaults is not None else [None]
        if len(args) != 1 or not is_list(args[0]) or len(list_items(args[0])) != 2:
            raise ValueError(f"{name} takes one list {{min, max}}")
        return list(list_items(args[0]))
    return args


def _check_number(fam: Family, i: int, v: float, name: str) -> float:
    test, words = fam.domain[i]
    if not bool(test(np.float64(v))):
        raise ValueError(f"the {fam.params[i]} of {name} must be {words}, not {v}")
    return v


def _distribution(x: Any) -> Spec:
    """RandomArrayLayer's argument: a distribution with numeric parameters, or a pure
    function whose body is one with parameters computed from its slots."""
    body, func = x, None
    if isinstance(x, Symbol) and x.name in FAMILIES:
        # a distribution head as dfunc: applied to the layer's zero inputs it is name[],
        # the family's standard member (NormalDistribution[] = N(0, 1))
        if FAMILIES[x.name].defaults is None:
            raise ValueError(f"{x.name} alone is a family of distributions: give its "
                             f"parameters ({', '.join(FAMILIES[x.name].params)}), as in "
                             f"{x.name}[...], or a pure function of the inputs")
        body = Expr(x)
    if isinstance(x, Expr) and x.head is S("Function"):
        func = x
        body = x.args[-1]
    if not (isinstance(body, Expr) and isinstance(body.head, Symbol)
            and body.head.name in FAMILIES):
        raise ValueError(f"expected one of the univariate distributions {_known()}, or a "
                         f"pure function giving one (NormalDistribution[#Mean, "
                         f"#StandardDeviation] &)")
    name = body.head.name
    fam = FAMILIES[name]
    args = _arguments(body, fam, name)
    if not args:
        if fam.defaults is None:
            raise ValueError(f"{name} needs its parameters ({', '.join(fam.params)})")
        args = list(fam.defaults)
    if len(args) != len(fam.params):
        raise ValueError(f"{name} takes the parameters {', '.join(fam.params)}; got "
                         f"{len(args)}")
    if func is None:
        params = []
        for i, a in enumerate(args):
            if not is_number(a):
                raise ValueError(f"the {fam.params[i]} of {name} must be a number, not "
                                 f"{input_form(a)}; a parameter computed from an input is "
                                 f"written as a pure function (NormalDistribution[#, 1] &)")
            params.append(_check_number(fam, i, float(a), name))
        _check_order(fam, params, name)
        try:      # NumPy's own bounds (PoissonDistribution[10^30]) fail here, not when run
            fam.draw(np.random.default_rng(0), params, (1,))
        except (OverflowError, ValueError):
            raise ValueError(f"the parameters of {name} are beyond what can be drawn from in "
                             f"machine numbers") from None
        return Spec(name, tuple(params), (), x, input_form(x))
    return _function_spec(func, name, fam, args)


def _check_order(fam: Family, p: list, name: str) -> None:
    if fam.ordered and not (p[0] <= p[1] if fam.discrete else p[0] < p[1]):
        raise ValueError(f"the bounds of {name} must satisfy min {'<=' if fam.discrete else '<'}"
                         f" max, not {{{p[0]}, {p[1]}}}")


def _function_spec(func: Expr, name: str, fam: Family, args: list) -> Spec:
    """Each parameter compiled as a function of all the slots, numbered in order: #1, #2, ...
    for numbered slots, the names in order of first appearance for #Name."""
    names: list[str] = []
    numbered: set[int] = set()

    def scan(e: Any) -> None:
        if isinstance(e, Expr):
            if e.head is S("Slot") and len(e.args) == 1:
                if isinstance(e.args[0], str):
                    if e.args[0] not in names:
                        names.append(e.args[0])
                elif is_integer(e.args[0]):
                    numbered.add(int(e.args[0]))
                return
            for a in e.args:
                scan(a)
    for a in args:
        scan(a)
    if names and numbered:
        raise ValueError(f"{input_form(func)} mixes named slots (#Mean) with numbered ones (#1)")
    if len(func.args) == 2:
        raise ValueError("write the function with slots: NormalDistribution[#Mean, #Sd] &")

    def numbered_slots(e: Any) -> Any:     # #Name -> #k, so all parameters share numbering
        if isinstance(e, Expr):
            if e.head is S("Slot") and len(e.args) == 1 and isinstance(e.args[0], str):
                return Expr(S("Slot"), names.index(e.args[0]) + 1)
            return Expr(e.head, *[numbered_slots(a) for a in e.args])
        return e
    n = len(names) if names else (max(numbered) if numbered else 0)
    if n == 0:
        raise ValueError(f"{input_form(func)} uses no slot: write the distribution itself "
                         f"({input_form(func.args[-1])})")
    params: list = []
    for i, a in enumerate(args):
        if is_number(a):
            params.append(_check_number(fam, i, float(a), name))
            continue
        try:
            params.append(compile_function(Expr(S("Function"), numbered_slots(a)), None,
                                           "RandomArrayLayer"))
        except FunctionError as e:
            raise ValueError(f"the {fam.params[i]} of {name}: {e}") from None
    ports = tuple(names) if names else ("Input",) if n == 1 else tuple(
        f"Input{i}" for i in range(1, n + 1))
    return Spec(name, tuple(params), ports, func, input_form(func))


@register_layer
class RandomArrayLayer(Layer):
    name = "RandomArrayLayer"
    summary = ("draws from a univariate distribution: RandomArrayLayer[NormalDistribution[], "
               '"Output" -> dims], or RandomArrayLayer[NormalDistribution[#Mean, #Sd] &] '
               "with the parameters from its inputs")
    positional = (Param("Distribution", _distribution, display=lambda v: v.source),)
    inputs = ()

    def port_names(self):
        spec = self.values.get("Distribution")
        return (spec.ports if spec is not None else ()), ("Output",)

    def example_coupling(self, train: bool) -> str:
        """Each example's draws come from ctx.rng, in both modes."""
        return "random"

    def infer(self, s: Infer) -> None:
        for p in self.port_names()[0]:
            t = s.port_type(p)
            if t.integer:                  # parameters are read as reals
                s.refine(p, PortType(t.shape), "its definition")
            s.same(p, "Output")
        out = s.port("Output")
        if not self.port_names()[0] and out is not None and any(is_length_var(d) for d in out):
            s.fail('without inputs, the "Output" port needs fixed dimensions: nothing gives a '
                   '"Varying" length its size')

    def default_ports(self, s: Infer) -> None:
        """Nothing sets the dimensions: one number per example (Wolfram: "a random array or
        scalar, depending on the output shape")."""
        ins = self.port_names()[0]
        if s.port("Output") is None and all(s.port(p) is None for p in ins):
            s.refine("Output", (), "its definition")
            for p in ins:
                s.refine(p, (), '"Output" port')

    # ---- numerics ----------------------------------------------------------------------
    def _parameters(self, xs: tuple, shape: tuple) -> list:
        """Each parameter: a number (constant form), or its function of the inputs (of
        ``shape``), checked against the family's domain."""
        spec = self.values["Distribution"]
        fam = FAMILIES[spec.family]
        out = []
        for i, p in enumerate(spec.params):
            if not isinstance(p, Program):
                out.append(p)
                continue
            with np.errstate(all="ignore"):
                v = np.broadcast_to(np.asarray(p(*[x.astype(np.float64) for x in xs]),
                                               np.float64), shape)
            test, words = fam.domain[i]
            bad = ~(np.isfinite(v) & test(v))
            if bad.any():
                k = tuple(np.argwhere(bad)[0])
                raise EvaluationError(
                    f"The {fam.params[i]} of {spec.family} must be {words}, but the inputs "
                    f"give {v[k]} (example {k[-1] + 1}).", symbol=self.name, tag="invparam")
            out.append(v)
        if fam.ordered:
            lo, hi = np.broadcast_arrays(np.asarray(out[0]), np.asarray(out[1]))
            bad = ~(lo <= hi) if fam.discrete else ~(lo < hi)
            if bad.any():
                k = tuple(np.argwhere(bad)[0])
                raise EvaluationError(
                    f"The bounds of {spec.family} must satisfy min < max, but the inputs give "
                    f"{{{lo[k]}, {hi[k]}}}" + (f" (example {k[-1] + 1})." if k else "."),
                    symbol=self.name, tag="invparam")
        return out

    def forward(self, ctx, arrays, *xs):
        spec = self.values["Distribution"]
        fam = FAMILIES[spec.family]
        if xs:
            shape, dtype = xs[0].shape, xs[0].dtype
            dtype = dtype if dtype == np.float64 else np.dtype(np.float32)
        else:
            shape = tuple(self.ports["Output"].shape or ()) + (getattr(ctx, "batch", 1),)
            dtype = np.dtype(np.float32)
        check_batch_size(shape, 8, f'the "Output" of {self.name}')
        p = self._parameters(xs, shape)
        try:
            y = np.asarray(fam.draw(ctx.rng, p, shape), np.float64)
        except (OverflowError, ValueError):   # NumPy's own bounds (Poisson's lam < 2^63)
            raise EvaluationError(f"The parameters of {spec.family} are beyond what can be "
                                  f"drawn from in machine numbers.", symbol=self.name,
                                  tag="parrange") from None
        if y.shape != shape:
            y = np.broadcast_to(y, shape)
        out = np.ascontiguousarray(y, dtype)
        return [out], ((xs, p, y) if ctx.grad and xs else None)

    def backward(self, ctx, arrays, cache, dy):
        spec = self.values["Distribution"]
        fam = FAMILIES[spec.family]
        if cache is None:
            return [None] * len(self.port_names()[0]), {}
        xs, p, y = cache
        dxs: list[Any] = [np.zeros(x.shape, np.float64) for x in xs]
        xs64 = [x.astype(np.float64) for x in xs]
        for param, slope in zip(spec.params, fam.slopes):
            if not isinstance(param, Program):
                continue
            with np.errstate(all="ignore"):
                d = slope(y, p)
            if d is None:
                continue
            g = dy * d
            for i, part in enumerate(param.partials(*xs64)):
                dxs[i] += g * np.broadcast_to(np.asarray(part, np.float64), g.shape)
        return [dx.astype(x.dtype, copy=False) for dx, x in zip(dxs, xs)], {}
