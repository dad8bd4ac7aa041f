"""Probability distributions for RandomVariate, each drawn from the session's generator.

A distribution is a symbolic object, as in Wolfram (``NormalDistribution[0, 1]`` stays as
it is); its parameters are checked when it is sampled, with Wolfram's messages
(``realprm``, ``posprm``, ...). Each sampler draws a whole array in one NumPy call, so
``SeedRandom[n]`` repeats every draw. MultinormalDistribution draws ``mu + L z`` with ``L``
the Cholesky factor of the covariance matrix (which must be symmetric positive definite)
and ``z`` standard normal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import EvaluationError
from ..expr import Expr, Symbol, is_integer, is_list, is_number, list_items
from .numeric import numeric
from .registry import NOT_APPLICABLE, builtin
from .stringpatterns import show

SECTION = "Random numbers"
Shape = tuple[int, ...]


@dataclass
class Sampler:
    """``draw(rng, shape)``: an array of ``shape + event`` draws; ``kind`` "f" (Reals) or
    "i" (Integers); ``event``: the dimensions of one draw (a vector for Multinormal)."""
    draw: Callable[[np.random.Generator, Shape], np.ndarray]
    kind: str = "f"
    event: Shape = ()


# ---------------------------------------------------------------- parameter checks
def _error(dist: Expr, tag: str, text: str) -> EvaluationError:
    return EvaluationError(text, symbol=dist.head.name, tag=tag)   # type: ignore[union-attr]


def _real(dist: Expr, pos: int) -> float:
    v = dist.args[pos - 1]
    if not is_number(v):
        raise _error(dist, "realprm", f"Parameter {show(v)} at position {pos} in {show(dist)} "
                                      f"is expected to be a real number.")
    return float(v)


def _positive(dist: Expr, pos: int) -> float:
    v = _real(dist, pos)
    if not v > 0:
        raise _error(dist, "posprm", f"Parameter {show(dist.args[pos - 1])} at position {pos} "
                                     f"in {show(dist)} is expected to be positive.")
    return v


def _probability(dist: Expr, pos: int) -> float:
    v = _real(dist, pos)
    if not 0 <= v <= 1:
        raise _error(dist, "probprm", f"Parameter {show(dist.args[pos - 1])} at position {pos} "
                                      f"in {show(dist)} is expected to be a probability "
                                      f"between 0 and 1.")
    return v


def _count(dist: Expr, pos: int) -> int:
    v = dist.args[pos - 1]
    if not (is_integer(v) and 0 <= v < 2 ** 63):
        raise _error(dist, "nnintprm", f"Parameter {show(v)} at position {pos} in "
                                       f"{show(dist)} is expected to be a non-negative "
                                       f"integer.")
    return v


def _range(dist: Expr, integers: bool) -> tuple[Any, Any]:
    bounds = dist.args[0] if dist.args else None
    items = list_items(bounds) if is_list(bounds) else []
    ok = is_integer if integers else is_number
    if len(items) != 2 or not all(ok(v) for v in items):
        kind = "integers" if integers else "real numbers"
        raise _error(dist, "realprm" if not integers else "nnintprm",
                     f"The parameter {show(bounds)} in {show(dist)} is expected to be a list "
                     f"{{min, max}} of {kind}.")
    lo, hi = items
    if not lo <= hi if integers else not lo < hi:
        raise _error(dist, "ordrng", f"The range {show(bounds)} in {show(dist)} is expected "
                                     f"to have min {'<=' if integers else '<'} max.")
    return (lo, hi) if integers else (float(lo), float(hi))


# ---------------------------------------------------------------- samplers
def _normal(d: Expr) -> Sampler:
    m, s = (_real(d, 1), _positive(d, 2)) if d.args else (0.0, 1.0)
    return Sampler(lambda rng, size: rng.normal(m, s, size))


def _uniform(d: Expr) -> Sampler:
    lo, hi = _range(d, False) if d.args else (0.0, 1.0)
    return Sampler(lambda rng, size: rng.uniform(lo, hi, size))


def _multinormal(d: Expr) -> Sampler:
    """MultinormalDistribution[mu, sigma] or [sigma] (mean 0)."""
    sigma_pos = len(d.args)
    sigma = numeric(d.args[-1])
    if not (isinstance(sigma, np.ndarray) and sigma.ndim == 2 and sigma.dtype.kind in "iuf"
            and sigma.shape[0] == sigma.shape[1] and sigma.shape[0] > 0):
        raise _error(d, "sqmprm", f"Parameter {show(d.args[-1])} at position {sigma_pos} in "
                                  f"{show(d)} is expected to be a square matrix of real "
                                  f"numbers.")
    n = sigma.shape[0]
    sigma = sigma.astype(np.float64)
    mu = np.zeros(n)
    if len(d.args) == 2:
        m = numeric(d.args[0])
        if not (isinstance(m, np.ndarray) and m.shape == (n,) and m.dtype.kind in "iuf"):
            raise _error(d, "vecprm", f"Parameter {show(d.args[0])} at position 1 in "
                                      f"{show(d)} is expected to be a vector of {n} real "
                                      f"numbers, one for each row of the covariance matrix.")
        mu = m.astype(np.float64)
    scale = max(float(np.abs(sigma).max()), np.finfo(float).tiny)
    if not np.all(np.isfinite(sigma)) or not np.allclose(sigma, sigma.T, rtol=1e-10,
                                                           atol=1e-12 * scale):
        raise _posdef(d, sigma_pos, "symmetric")
    try:
        lower = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        raise _posdef(d, sigma_pos, "positive definite") from None

    def draw(rng: np.random.Generator, size: Shape) -> np.ndarray:
        return mu + rng.standard_normal(size + (n,)) @ lower.T
    return Sampler(draw, "f", (n,))


def _posdef(d: Expr, pos: int, what: str) -> EvaluationError:
    return _error(d, "posdefprm", f"Parameter {show(d.args[pos - 1])} at position {pos} in "
                                  f"{show(d)} is expected to be a symmetric positive definite "
                                  f"matrix; it is not {what}.")


def _student_t(d: Expr) -> Sampler:
    if len(d.args) == 1:
        nu = _positive(d, 1)
        return Sampler(lambda rng, size: rng.standard_t(nu, size))
    m, s, nu = _real(d, 1), _positive(d, 2), _positive(d, 3)
    return Sampler(lambda rng, size: m + s * rng.standard_t(nu, size))


def _exponential(d: Expr) -> Sampler:
    scale = 1 / _positive(d, 1)   # Wolfram's parameter is the rate
    return Sampler(lambda rng, size: rng.exponential(scale, size))


def _gamma(d: Expr) -> Sampler:
    a, b = _positive(d, 1), _positive(d, 2)
    return Sampler(lambda rng, size: rng.gamma(a, b, size))


def _beta(d: Expr) -> Sampler:
    a, b = _positive(d, 1), _positive(d, 2)
    return Sampler(lambda rng, size: rng.beta(a, b, size))


def _log_normal(d: Expr) -> Sampler:
    m, s = _real(d, 1), _positive(d, 2)
    return Sampler(lambda rng, size: rng.lognormal(m, s, size))


def _laplace(d: Expr) -> Sampler:
    m, b = _real(d, 1), _positive(d, 2)
    return Sampler(lambda rng, size: rng.laplace(m, b, size))


def _cauchy(d: Expr) -> Sampler:
    a, b = _real(d, 1), _positive(d, 2)
    return Sampler(lambda rng, size: a + b * rng.standard_cauchy(size))


def _chi_square(d: Expr) -> Sampler:
    nu = _positive(d, 1)
    return Sampler(lambda rng, size: rng.chisquare(nu, size))


def _discrete_uniform(d: Expr) -> Sampler:
    lo, hi = _range(d, True)
    return Sampler(lambda rng, size: rng.integers(lo, hi, size, endpoint=True), "i")


def _bernoulli(d: Expr) -> Sampler:
    p = _probability(d, 1)
    return Sampler(lambda rng, size: (rng.random(size) < p).astype(np.int64), "i")


def _binomial(d: Expr) -> Sampler:
    n, p = _count(d, 1), _probability(d, 2)
    return Sampler(lambda rng, size: rng.binomial(n, p, size), "i")


def _poisson(d: Expr) -> Sampler:
    mu = _positive(d, 1)
    return Sampler(lambda rng, size: rng.poisson(mu, size), "i")


def _geometric(d: Expr) -> Sampler:
    p = _probability(d, 1)
    if p == 0:
        raise _error(d, "probprm", f"Parameter 0 at position 1 in {show(d)} is expected to "
                                   f"be a probability greater than 0 and at most 1.")
    return Sampler(lambda rng, size: rng.geometric(p, size) - 1, "i")   # failures first


# name: (numbers of parameters it takes, call form, summary, sampler)
DISTRIBUTIONS: dict[str, tuple[tuple[int, ...], str | tuple[str, ...], str,
                              Callable[[Expr], Sampler]]] = {
    "NormalDistribution": ((0, 2), ("NormalDistribution[]", "NormalDistribution[m, s]"),
                           "the normal distribution with mean m (0) and standard deviation "
                           "s (1)", _normal),
    "UniformDistribution": ((0, 1), ("UniformDistribution[]",
                                     "UniformDistribution[{min, max}]"),
                            "the uniform distribution on [min, max] ([0, 1])", _uniform),
    "MultinormalDistribution": ((1, 2), ("MultinormalDistribution[mu, sigma]",
                                         "MultinormalDistribution[sigma]"),
                                "the multivariate normal distribution with mean vector mu "
                                "(0) and covariance matrix sigma (symmetric positive "
                                "definite); a draw is a vector", _multinormal),
    "ExponentialDistribution": ((1,), "ExponentialDistribution[lambda]",
                                "the exponential distribution with rate lambda (mean "
                                "1/lambda)", _exponential),
    "GammaDistribution": ((2,), "GammaDistribution[alpha, beta]",
                          "the gamma distribution with shape alpha and scale beta", _gamma),
    "BetaDistribution": ((2,), "BetaDistribution[alpha, beta]",
                         "the beta distribution on [0, 1] with shape parameters alpha and "
                         "beta", _beta),
    "LogNormalDistribution": ((2,), "LogNormalDistribution[m, s]",
                              "the distribution whose logarithm is normal with mean m and "
                              "standard deviation s", _log_normal),
    "LaplaceDistribution": ((2,), "LaplaceDistribution[m, beta]",
                            "the Laplace distribution with mean m and scale beta", _laplace),
    "CauchyDistribution": ((2,), "CauchyDistribution[a, b]",
                           "the Cauchy distribution with location a and scale b", _cauchy),
    "ChiSquareDistribution": ((1,), "ChiSquareDistribution[nu]",
                              "the chi-square distribution with nu degrees of freedom",
                              _chi_square),
    "StudentTDistribution": ((1, 3), ("StudentTDistribution[nu]",
                                      "StudentTDistribution[m, s, nu]"),
                             "Student's t distribution with nu degrees of freedom (location "
                             "m, scale s)", _student_t),
    "BernoulliDistribution": ((1,), "BernoulliDistribution[p]",
                              "1 with probability p, else 0", _bernoulli),
    "BinomialDistribution": ((2,), "BinomialDistribution[n, p]",
                             "the number of successes in n trials of probability p",
                             _binomial),
    "PoissonDistribution": ((1,), "PoissonDistribution[mu]",
                            "the Poisson distribution with mean mu", _poisson),
    "GeometricDistribution": ((1,), "GeometricDistribution[p]",
                              "the number of failures before the first success, in trials "
                              "of probability p", _geometric),
    "DiscreteUniformDistribution": ((1,), "DiscreteUniformDistribution[{min, max}]",
                                    "the integers min to max, equally likely",
                                    _discrete_uniform),
}


def sampler(dist: Any) -> Sampler:
    """The sampler of a distribution, its parameters checked (RandomVariate::udist if
    ``dist`` is not one netdsl knows)."""
    name = dist.head.name if isinstance(dist, Expr) and isinstance(dist.head, Symbol) else None
    entry = DISTRIBUTIONS.get(name or "")
    if entry is None or len(dist.args) not in entry[0]:
        raise EvaluationError(f"The specification {show(dist)} is not a random distribution "
                              f"recognized by the system. netdsl draws from "
                              f"{', '.join(DISTRIBUTIONS)}.", symbol="RandomVariate",
                              tag="udist")

    def out_of_range() -> EvaluationError:
        return EvaluationError(f"The parameters of {show(dist)} are beyond what can be drawn "
                               f"from in machine numbers.", symbol="RandomVariate",
                               tag="parrange")
    try:
        made = entry[3](dist)
    except (OverflowError, ValueError):
        raise out_of_range() from None

    def draw(rng: np.random.Generator, size: Shape) -> np.ndarray:
        try:
            return made.draw(rng, size)
        except (OverflowError, ValueError):      # NumPy's limits (a Poisson mean of 10^30)
            raise out_of_range() from None
    return Sampler(draw, made.kind, made.event)


def _register(name: str, counts: tuple[int, ...], usage: str | tuple[str, ...],
              summary: str) -> None:
    @builtin(name, usage, f"{summary}: a distribution for RandomVariate",
             args=(min(counts), max(counts)), section=SECTION)
    def fn(ev, *args):
        return NOT_APPLICABLE   # a symbolic object, as in Wolfram


for _name, (_counts, _usage, _summary, _) in DISTRIBUTIONS.items():
    _register(_name, _counts, _usage, _summary)
