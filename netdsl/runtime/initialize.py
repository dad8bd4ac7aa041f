"""NetInitialize: fill a net's arrays, after checking every dimension is known.

Defaults follow Wolfram's current documentation: Method -> "Kaiming" (normal,
standard deviation Sqrt[2/fan_in]), RandomSeeding -> 1234; every "Biases" is
zero, "Scaling" one, "MovingMean" zero, "MovingVariance" one. Arrays already
set are kept unless All is given; a shared array is drawn once.
"""

from __future__ import annotations

import gc
import math
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import budget
from ..errors import EvaluationError, InitializationError
from ..expr import among, Expr, Symbol, input_form, is_integer, is_number, is_rule, list_items
from ..graph.container import path_label, replace_leaves
from ..layers.arrays import NO_ARRAY, SharedRef
from ..layers.base import AbstractArray, ArraySpec, Layer, Net

S = Symbol


# ---------------------------------------------------------------- completeness
def require_specified(net: Net, action: str = "initialize", head: str = "NetInitialize") -> None:
    """Raise nfspec/nninit (Wolfram's wording) for the first thing that is not known:
    parameters, then arrays, then input ports, then output ports."""
    hint = ('Give the shape of the input, e.g. "Input" -> 3 for vectors or '
            '"Input" -> {3, 32, 32} for images, on the net or its first layer.')
    items = list(net.leaves())
    for path, layer in items:
        for name in _sizing_parameters(type(layer)):
            v = layer.values.get(name)
            if v is None or (isinstance(v, tuple) and None in v):
                where = path_label(net, path)
                raise InitializationError(f'Cannot {action} net: parameter "{name}"{where} is '
                                          f"not fully specified.", symbol=head, tag="nfspec",
                                          hint=hint, span=layer.span, origin=layer.head_name)
    for path, layer in items:
        shapes = layer.array_shapes()
        for spec in layer.array_specs:
            shape = shapes.get(spec.name)
            if layer.arrays.get(spec.name) is NO_ARRAY:
                continue
            if shape is None or None in shape:
                raise InitializationError(
                    f'Cannot {action} net: unspecified or partially specified shape for array '
                    f'"{spec.name}"{path_label(net, path)}.', symbol=head, tag="nninit",
                    hint=hint, span=layer.span, origin=layer.head_name)
    if isinstance(net, Layer) and action == "initialize":
        return      # a layer alone needs only its arrays' shapes: EmbeddingLayer[3, 10]
        #             initialises, as in Wolfram; its ports settle on the data it gets
    for side in (0, 1):
        for path, layer in items:
            for port in layer.port_names()[side]:
                if not layer.ports[port].known:
                    raise InitializationError(
                        f'Cannot {action} net: "{port}" port{path_label(net, path)} is not '
                        f"fully specified.", symbol=head, tag="nfspec", hint=hint,
                        span=layer.span, origin=layer.head_name)


_SIZING: dict[type[Layer], tuple[str, ...]] = {}


def _sizing_parameters(cls: type[Layer]) -> tuple[str, ...]:
    """The parameters that size a layer type's arrays (they must be known to initialise),
    in declaration order; computed once per layer type."""
    names = _SIZING.get(cls)
    if names is None:
        dims = {d.lstrip("*") for spec in cls.array_specs for d in spec.dims
                if isinstance(d, str)}
        names = tuple(n for n in [p.name for p in cls.positional] + list(cls.hidden)
                      if not n.startswith("$") and n in dims)
        _SIZING[cls] = names
    return names


# ---------------------------------------------------------------- methods
@dataclass
class Method:
    name: str = "Kaiming"
    distribution: str = "Normal"
    per_array: dict[str, Any] | None = None   # "Random": array name -> distribution expr


_METHODS = ("Kaiming", "Xavier", "Orthogonal", "Identity", "Random")


def split_method(spec: Any) -> tuple[Any, list]:
    """ "name" or {"name", suboption -> value, ...} (NetInitialize's and NetTrain's Method)."""
    if isinstance(spec, Expr) and spec.head is S("List") and spec.args:
        return spec.args[0], list(spec.args[1:])
    return spec, []


def parse_method(spec: Any) -> Method:
    """Method -> "Kaiming" | {"Xavier", "Distribution" -> "Uniform"} | {"Random", "Weights" -> dist}."""
    if spec is S("Automatic"):
        return Method()
    name, subs = split_method(spec)
    if not isinstance(name, str) or name not in _METHODS:
        raise EvaluationError(f"{input_form(spec)} is not an initialization method; use one of "
                              f"{', '.join(_METHODS)}.", symbol="NetInitialize", tag="method")
    m = Method(name)
    for r in subs:
        if not is_rule(r):
            raise EvaluationError(f"{input_form(r)} is not a method option (a rule).",
                                  symbol="NetInitialize", tag="method")
        key = r.args[0].name if isinstance(r.args[0], Symbol) else r.args[0]
        value = r.args[1]
        if key == "Distribution" and among(value, ("Normal", "Uniform")):
            m.distribution = value
        elif name in ("Random", "Identity") and key in ("Weights", "Biases", "Scaling",
                                                         "Distribution"):
            m.per_array = dict(m.per_array or {})
            m.per_array[key] = value
        else:
            raise EvaluationError(f"{input_form(r)} is not an option of the {name} method.",
                                  symbol="NetInitialize", tag="method")
    return m


def rng_for(seed: Any) -> np.random.Generator:
    """RandomSeeding: an integer or string seed, or Automatic (fresh randomness)."""
    if seed is S("Automatic") or seed is S("Inherited"):
        return np.random.default_rng()
    if is_integer(seed):
        return np.random.default_rng(abs(seed))
    if isinstance(seed, str):
        return np.random.default_rng(zlib.crc32(seed.encode()))
    raise EvaluationError(f"Value of option RandomSeeding -> {input_form(seed)} is not "
                          f"Automatic, an integer, or a string.", symbol="NetInitialize",
                          tag="seeding")


# Arrays are drawn directly in float32: a float64 draw converted afterwards would take
# three times the net's size at the peak.
def _normal(rng: np.random.Generator, mean: float, std: float, shape: tuple) -> np.ndarray:
    a = rng.standard_normal(shape, dtype=np.float32)
    if std != 1:
        a *= np.float32(std)
    if mean:
        a += np.float32(mean)
    return a


def _uniform(rng: np.random.Generator, lo: float, hi: float, shape: tuple) -> np.ndarray:
    a = rng.random(shape, dtype=np.float32)
    a *= np.float32(hi - lo)
    a += np.float32(lo)
    return a


def _draw(dist: Any, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    if is_number(dist):
        return _normal(rng, 0.0, float(dist), shape)
    if isinstance(dist, Expr) and dist.head is S("NormalDistribution"):
        m, s = (list(dist.args) + [0, 1])[:2] if dist.args else (0, 1)
        return _normal(rng, float(m), float(s), shape)
    if isinstance(dist, Expr) and dist.head is S("UniformDistribution"):
        lo, hi = (list_items(dist.args[0]) if dist.args else [0, 1])
        return _uniform(rng, float(lo), float(hi), shape)
    raise EvaluationError(f"{input_form(dist)} is not a distribution netdsl can sample "
                          f"(a number, NormalDistribution[m, s] or UniformDistribution[{{a, b}}]).",
                          symbol="NetInitialize", tag="dist")


def initial_array(spec: ArraySpec, shape: tuple, method: Method,
                  rng: np.random.Generator) -> np.ndarray:
    """One array's initial values, float32."""
    per = method.per_array or {}
    if method.name == "Random" and spec.name in per:
        return _draw(per[spec.name], shape, rng)
    if spec.init == "zeros":
        return np.zeros(shape, np.float32)
    if spec.init == "ones":
        return np.ones(shape, np.float32)
    if not isinstance(spec.init, str):          # a number (ParametricRampLayer's 0.1)
        return np.full(shape, spec.init, np.float32)
    if not shape:                               # one number: drawn as a vector of one
        return initial_array(spec, (1,), method, rng).reshape(())
    fan_out = shape[0]
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
    if method.name == "Random":
        return _draw(per.get("Weights", 1.0), shape, rng)
    if method.name == "Orthogonal":
        rows, cols = fan_out, fan_in
        a = rng.standard_normal((max(rows, cols), min(rows, cols)), dtype=np.float32)
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        q = q if rows >= cols else q.T
        return q[:rows, :cols].reshape(shape)
    if method.name == "Identity":
        ident = _draw(per.get("Distribution", 0.01), shape, rng) if per else _normal(
            rng, 0.0, 0.01, shape)
        centre = tuple(k // 2 for k in shape[2:])
        for i in range(min(fan_out, shape[1] if len(shape) > 1 else fan_out)):
            ident[(i, i) + centre] += 1.0
        return ident
    var = 2.0 / fan_in if method.name == "Kaiming" else 2.0 / (fan_in + fan_out)
    if method.distribution == "Uniform":
        limit = math.sqrt(3.0 * var)
        return _uniform(rng, -limit, limit, shape)
    return _normal(rng, 0.0, math.sqrt(var), shape)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.require(a, np.float32, "C")  # no copy when it is one; keeps rank 0 ({} stays {})
    a.flags.writeable = False
    return a


# ---------------------------------------------------------------- NetInitialize
@contextmanager
def few_collections() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while one new layer object per layer is
    made (no cycles are created): its passes scan every live object, so on a
    20,000-layer net they took about half of NetInitialize's time and grew with it."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def initialize(net: Net, which: str = "missing", method: Method | None = None,
               rng: np.random.Generator | None = None, shape_only: bool = False) -> Net:
    """which: "missing" (default), "all" (re-initialise everything) or "none" (remove arrays).

    In shape-only mode (``netdsl check``) it checks that everything is specified
    and fills arrays with AbstractArray placeholders: no array is allocated.
    """
    if which == "none":
        return _deinitialize(net)
    with few_collections():
        return _initialize(net, which, method, rng, shape_only)


def _initialize(net: Net, which: str, method: Method | None,
                rng: np.random.Generator | None, shape_only: bool) -> Net:
    require_specified(net)
    if not shape_only:
        _check_budget(net, which)
    method = method or Method()
    rng = rng or np.random.default_rng(1234)
    shared = dict(net.shared)
    drawn: set[str] = set()   # shared arrays set in this call: each is drawn once

    def make(spec: ArraySpec, shape: tuple) -> Any:
        if shape_only:
            return AbstractArray(shape)
        return _frozen(initial_array(spec, shape, method, rng))

    new: dict[tuple, Layer] = {}
    for path, layer in net.leaves():
        shapes = _known_shapes(layer)
        arrays = dict(layer.arrays)
        for spec in layer.array_specs:
            v = arrays.get(spec.name)
            if v is NO_ARRAY:
                continue
            if isinstance(v, SharedRef):
                if v.name not in drawn and (shared.get(v.name) is None or which == "all"):
                    shared[v.name] = make(spec, shapes[spec.name])
                    drawn.add(v.name)
                continue
            if v is None or which == "all":
                arrays[spec.name] = make(spec, shapes[spec.name])
        new[path] = layer.evolve(arrays=arrays)
    return replace_leaves(net, new).evolve(shared=shared)


def _known_shapes(layer: Layer) -> dict[str, tuple]:
    """Array shapes of a layer whose arrays were checked to be fully specified."""
    return {k: v for k, v in layer.array_shapes().items() if v is not None}


def _check_budget(net: Net, which: str) -> None:
    """Refuse before drawing anything if the arrays to be made exceed the memory budget."""
    total = 0
    for _, layer in net.leaves():
        shapes = _known_shapes(layer)
        for spec in layer.array_specs:
            v = layer.arrays.get(spec.name)
            if v is NO_ARRAY or (v is not None and which != "all"):
                continue
            total += 4 * math.prod(shapes[spec.name])
    budget.check_bytes(total, f"the arrays of the net ({total // 4:,} numbers)")


def _deinitialize(net: Net) -> Net:
    new = {}
    for path, layer in net.leaves():
        arrays = {k: (v if v is NO_ARRAY or isinstance(v, SharedRef) else None)
                  for k, v in layer.arrays.items()}
        new[path] = layer.evolve(arrays=arrays)
    return replace_leaves(net, new).evolve(shared={k: None for k in net.shared})

