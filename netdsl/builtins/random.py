"""Pseudo-random numbers, all drawn from the session's generator ``ev.rng``.

``SeedRandom[n]`` replaces that generator, so a seeded script gives the same
numbers on every run. Dimensions are checked (tnsrmaxsz) before any draw, and
each call draws its whole array in one vectorised NumPy call.
"""

from __future__ import annotations

import copy
import zlib
from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..printer import short
from ..expr import (Expr, List, Null, Symbol, is_integer, is_list, is_number,
                    list_items, packed)
from ..layers.base import AbstractArray
from .distributions import sampler
from .numeric import check_size, dims_of
from .registry import builtin, wrong_call

S = Symbol


def _dims(spec: Any, name: str, call: Any) -> tuple[int, ...] | None:
    """``None`` for one number, else the dimensions (checked against the size limit)."""
    return None if spec is None else dims_of(spec, name, call)


def _draw(dims: tuple[int, ...] | None, draw, ev=None) -> Any:
    """One number, or a packed float64 array of ``dims``; {} when the first dimension is 0.
    netdsl check draws no array: it gives the dimensions (AbstractArray)."""
    if dims is None:
        return float(draw(None))
    if dims and dims[0] == 0:
        return Expr(List)
    if _shape_only(ev):
        return AbstractArray(dims, "array")
    return packed(np.asarray(draw(dims), dtype=np.float64))


def _shape_only(ev) -> bool:
    return ev is not None and bool(getattr(ev.host, "shape_only", False))


def _real_range(spec: Any, name: str, call: Any) -> tuple[float, float]:
    """RandomReal's range: max (meaning {0, max}) or {min, max}, real numbers."""
    if is_number(spec):
        return 0.0, float(spec)
    if is_list(spec):
        items = list_items(spec)
        if len(items) == 2 and all(is_number(v) for v in items):
            return float(items[0]), float(items[1])
    raise EvaluationError(f"The endpoints specified by {short(spec)} for the endpoints of "
                          f"the uniform distribution range are not real valued.",
                          symbol=name, tag="unifr")


@builtin("RandomReal", ("RandomReal[]", "RandomReal[max]", "RandomReal[{min, max}]",
                        "RandomReal[range, n]", "RandomReal[range, {n1, n2, ...}]"),
         "uniform pseudo-random reals in [0, 1), [0, max) or [min, max); a packed array for "
         "dimensions", args=(0, 2), section="Random numbers")
def _random_real(ev, spec=1.0, dims=None):
    call = Expr(S("RandomReal"), spec, *([] if dims is None else [dims]))
    lo, hi = _real_range(spec, "RandomReal", call)
    shape = _dims(dims, "RandomReal", call)

    def uniform(size):  # what rng.uniform computes, scaled in place: no temporary arrays
        a = ev.rng.random(size)
        if size is None:
            return lo + (hi - lo) * a
        if hi - lo != 1.0:
            a *= hi - lo
        if lo != 0.0:
            a += lo
        return a
    return _draw(shape, uniform, ev)


@builtin("RandomInteger", ("RandomInteger[]", "RandomInteger[max]", "RandomInteger[{min, max}]",
                           "RandomInteger[range, n]", "RandomInteger[range, {n1, n2, ...}]"),
         "pseudo-random integers from 0 (or min) to max inclusive; RandomInteger[] is 0 or 1",
         args=(0, 2), section="Random numbers")
def _random_integer(ev, spec=1, dims=None):
    call = Expr(S("RandomInteger"), spec, *([] if dims is None else [dims]))
    if is_integer(spec):
        lo, hi = 0, spec
    else:
        items = list_items(spec) if is_list(spec) else []
        if len(items) != 2 or not all(is_integer(v) for v in items):
            raise EvaluationError(f"The endpoints specified by {short(spec)} for the "
                                  f"endpoints of the discrete uniform distribution range are not "
                                  f"integers.", symbol="RandomInteger", tag="unifr")
        lo, hi = items
    lo, hi = min(lo, hi), max(lo, hi)
    if lo < -2 ** 63 or hi >= 2 ** 63:
        raise wrong_call("RandomInteger", call, "the range must lie within 64-bit integers")
    shape = _dims(dims, "RandomInteger", call)
    if shape is None:
        return int(ev.rng.integers(lo, hi, endpoint=True))
    if shape and shape[0] == 0:
        return Expr(List)
    if _shape_only(ev):
        return AbstractArray(shape, "array")
    return packed(ev.rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64))


# ---------------------------------------------------------------- RandomVariate
@builtin("RandomVariate", ("RandomVariate[dist]", "RandomVariate[dist, n]",
                           "RandomVariate[dist, {n1, n2, ...}]"),
         "pseudo-random draws from a distribution (NormalDistribution[...], "
         "MultinormalDistribution[...], PoissonDistribution[...], ...: distributions.py); "
         "a draw of a multivariate distribution is a vector", args=(1, 2),
         section="Random numbers")
def _random_variate(ev, dist, dims=None):
    call = Expr(S("RandomVariate"), dist, *([] if dims is None else [dims]))
    s = sampler(dist)
    shape = _dims(dims, "RandomVariate", call)
    if shape is not None and shape[:1] == (0,):
        return Expr(List)
    full = (shape or ()) + s.event
    if full and _shape_only(ev):
        return AbstractArray(full, "array")
    check_size(full)
    values = np.asarray(s.draw(ev.rng, shape or ()))
    if not full:
        return int(values) if s.kind == "i" else float(values)
    return packed(values.astype(np.int64 if s.kind == "i" else np.float64, copy=False))


@builtin("RandomSample", ("RandomSample[list]", "RandomSample[list, n]"),
         "the elements of list in a pseudo-random order (n of them, drawn without replacement)",
         args=(1, 2), section="Random numbers")
def _random_sample(ev, x, n=None):
    """One permutation drawn by NumPy; a packed array is indexed once (no loop)."""
    call = Expr(S("RandomSample"), x, *([] if n is None else [n]))
    if n is not None and not (is_integer(n) and n >= 0):
        raise wrong_call("RandomSample", call, f"{short(n)} is not a non-negative integer")
    if isinstance(x, AbstractArray) and x.shape:   # netdsl check: dimensions only
        count = x.shape[0] if n is None else min(n, x.shape[0])
        return Expr(List) if count == 0 else AbstractArray((count,) + x.shape[1:], x.what)
    if isinstance(x, np.ndarray) and x.ndim:
        length = x.shape[0]
    elif isinstance(x, Expr) and x.head is List:
        length = len(x.args)
    else:
        raise wrong_call("RandomSample", call, f"{short(x)} is not a list")
    count = length if n is None else min(n, length)
    order = ev.rng.permutation(length)[:count]
    if count == 0:
        return Expr(List)
    if isinstance(x, np.ndarray):
        return packed(x[order])
    return Expr(List, *(x.args[i] for i in order))


# ---------------------------------------------------------------- seeding
def seed_value(seed: Any) -> int:
    """A non-negative NumPy seed: integers as they are (negatives wrapped), strings by CRC-32."""
    if isinstance(seed, str):
        return zlib.crc32(seed.encode("utf-8"))
    return seed % 2 ** 128


@builtin("SeedRandom", ("SeedRandom[n]", "SeedRandom[\"string\"]", "SeedRandom[]"),
         "reseeds the pseudo-random generator (SeedRandom[] with fresh entropy)", args=(0, 1),
         section="Random numbers")
def _seed_random(ev, *seed):
    if not seed:
        ev.rng = np.random.default_rng()
        return Null
    if not (is_integer(seed[0]) or isinstance(seed[0], str)):
        raise wrong_call("SeedRandom", Expr(S("SeedRandom"), *seed),
                         f"{short(seed[0])} is not an integer or a string")
    ev.rng = np.random.default_rng(seed_value(seed[0]))
    return Null


# ---------------------------------------------------------------- RandomChoice, BlockRandom
def _choice_input(spec: Any, call: Any) -> tuple[Any, np.ndarray | None]:
    """The items and the probabilities (None: uniform) of ``list`` or ``weights -> list``."""
    weights = None
    items = spec
    if isinstance(spec, Expr) and spec.head is S("Rule") and len(spec.args) == 2:
        weights, items = spec.args
    if not (isinstance(items, np.ndarray) and items.ndim) and \
            not (isinstance(items, Expr) and items.head is List):
        raise EvaluationError(f"The items for choice {short(items)} should be a list or a rule "
                              f"weights -> choices.", symbol="RandomChoice", tag="lrwl")
    length = items.shape[0] if isinstance(items, np.ndarray) else len(items.args)
    if length == 0:
        raise EvaluationError(f"The items for choice {short(items)} should be a non-empty "
                              f"list or a rule weights -> choices.", symbol="RandomChoice",
                              tag="lrwl")
    if weights is None:
        return items, None
    w = weights if isinstance(weights, np.ndarray) else None
    if w is None and is_list(weights) and all(is_number(v) for v in list_items(weights)):
        w = np.array([float(v) for v in list_items(weights)])
    if w is None or w.ndim != 1 or w.shape[0] != length or w.dtype.kind not in "iuf":
        raise EvaluationError(f"The weights {short(weights)} should be a list of {length} "
                              f"non-negative numbers, one for each choice.",
                              symbol="RandomChoice", tag="wghtv")
    w = w.astype(np.float64)
    total = float(w.sum())
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not total > 0:
        raise EvaluationError(f"The weights {short(weights)} should be non-negative numbers, "
                              f"not all zero.", symbol="RandomChoice", tag="wghtv")
    return items, w / total


def _pick(items: Any, idx: np.ndarray) -> Any:
    """The chosen items for an index array of any shape: packed data indexed at once."""
    if isinstance(items, np.ndarray):
        return packed(items[idx])
    if idx.ndim == 1:
        return Expr(List, *(items.args[i] for i in idx.tolist()))
    return Expr(List, *(_pick(items, row) for row in idx))


@builtin("RandomChoice", ("RandomChoice[list]", "RandomChoice[list, n]",
                          "RandomChoice[list, {n1, n2, ...}]", "RandomChoice[{w1, ...} -> list]",
                          "RandomChoice[{w1, ...} -> list, n]"),
         "pseudo-random elements of list, drawn with replacement (with the weights wi when "
         "given); n of them, or an array of dimensions {n1, n2, ...}", args=(1, 2),
         section="Random numbers")
def _random_choice(ev, spec, dims=None):
    call = Expr(S("RandomChoice"), spec, *([] if dims is None else [dims]))
    if isinstance(spec, AbstractArray) and spec.shape and dims is not None:  # netdsl check
        shape = _dims(dims, "RandomChoice", call) or ()
        return Expr(List) if shape[:1] == (0,) else AbstractArray(shape + spec.shape[1:], spec.what)
    items, p = _choice_input(spec, call)
    length = items.shape[0] if isinstance(items, np.ndarray) else len(items.args)
    shape = _dims(dims, "RandomChoice", call)
    if shape is not None and isinstance(items, np.ndarray):
        check_size(shape + items.shape[1:], items.itemsize)
    count = 1 if shape is None else int(np.prod(shape, dtype=object))
    if shape is not None and count == 0:
        return Expr(List) if shape[0] == 0 else _pick(items, np.zeros(shape, dtype=np.int64))
    idx = ev.rng.choice(length, size=shape, p=p) if p is not None \
        else ev.rng.integers(0, length, size=shape)
    if shape is None:
        return packed(np.asarray(items[int(idx)])) if isinstance(items, np.ndarray) \
            else items.args[int(idx)]
    return _pick(items, np.asarray(idx, dtype=np.int64))


@builtin("BlockRandom", ("BlockRandom[expr]", "BlockRandom[expr, RandomSeeding -> s]"),
         "evaluates expr, then puts the pseudo-random generator back as it was: draws inside "
         "do not change the draws after; RandomSeeding -> n seeds it inside (Inherited: goes "
         "on from the current state)", args=1, attributes=("HoldAll",),
         options={"RandomSeeding": S("Inherited")}, section="Random numbers")
def _block_random(ev, expr, opts):
    seeding = ev.evaluate(opts["RandomSeeding"])
    saved = copy.deepcopy(ev.rng)
    try:
        if seeding is S("Automatic"):
            ev.rng = np.random.default_rng()
        elif is_integer(seeding) or isinstance(seeding, str):
            ev.rng = np.random.default_rng(seed_value(seeding))
        elif seeding is not S("Inherited"):
            raise wrong_call("BlockRandom", Expr(S("BlockRandom"), expr),
                             f"RandomSeeding -> {short(seeding)} is not an integer, a string, "
                             f"Automatic or Inherited")
        return ev.evaluate(expr)
    finally:
        ev.rng = saved
