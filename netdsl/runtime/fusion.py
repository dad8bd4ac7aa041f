"""Rewrite rules for Test-mode plans: fewer passes over large activations.

They rely only on algebra that holds for any net, never on recognising one:

1. A BatchNormalizationLayer whose input comes only from a ConvolutionLayer or
   LinearLayer is folded into that layer's weights and biases (in Test mode it
   is a per-channel affine map).
2. Max pooling commutes with adding a per-channel bias and with any
   non-decreasing elementwise function, so convolution -> [activation] -> max
   pooling runs as: convolution without bias, pool, then bias and activation on
   the smaller pooled tensor.
3. A Ramp whose input dies with it runs in place (no new buffer).
4. For the same reason, a non-decreasing activation followed by max pooling runs
   on the pooled tensor: max(f(x)) = f(max(x)), and the backward pass routes
   f'(max) dy to the maximal elements, exactly as the unfused pair would.

Rules 1-3 are for Test mode only (Train-mode BatchNormalization needs every
convolution output and its batch statistics); rule 4 is used in training too.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..expr import Symbol
from ..layers.functions import Program
from ..layers.windows import (Geometry, crop, geometry, im2col, pad, pool_max,
                              pool_max_backward, scratch)
from .plan import Plan, Step

# elementwise functions that never decrease: they commute with max pooling
MONOTONE = {("prim", "Ramp"), ("prim", "Tanh"), ("prim", "LogisticSigmoid"), ("prim", "Exp"),
            ("prim", "Erf"), ("named", "RectifiedLinearUnit"), ("named", "ReLU"),
            ("named", "Sigmoid"), ("named", "ExponentialLinearUnit"),
            ("named", "ScaledExponentialLinearUnit"), ("named", "SoftSign"),
            ("named", "SoftPlus"), ("named", "HardTanh"), ("named", "HardSigmoid")}


def _monotone(program: Program) -> bool:
    t = program.tree
    return len(t) == 3 and t[2] == ("var", 0) and (t[0], t[1]) in MONOTONE


def _is_ramp(program: Program) -> bool:
    t = program.tree
    return t == ("prim", "Ramp", ("var", 0)) or t == ("named", "ReLU", ("var", 0)) or \
        t == ("named", "RectifiedLinearUnit", ("var", 0))


def fuse(plan: Plan, training: bool = False) -> Plan:
    """The plan rewritten; ``training`` keeps to rules whose backward is exact (rule 4)."""
    steps = list(plan.steps)
    protected = set(plan.outputs.values()) | set(plan.inputs.values())
    if training:
        steps = _pool_before_activation(steps, protected)
    else:
        steps = _fold_batchnorm(steps, protected)
        steps = _pool_before_bias(steps, protected)
        steps = _pool_before_activation(steps, protected)
        steps = _ramp_in_place(steps, protected)
    new = Plan(steps, plan.inputs, plan.outputs, plan.n_slots)
    from .plan import mark_frees  # noqa: PLC0415
    mark_frees(new)
    return new


def _consumers(steps: list[Step]) -> dict[int, list[int]]:
    uses: dict[int, list[int]] = {}
    for i, st in enumerate(steps):
        for s in st.ins:
            uses.setdefault(s, []).append(i)
    return uses


def _sole_next(steps, i, uses, protected, name: str) -> int | None:
    """The index of the only step reading step i's only output, if it is a ``name`` layer."""
    st = steps[i]
    if len(st.outs) != 1 or st.outs[0] in protected:
        return None
    readers = uses.get(st.outs[0], [])
    if len(readers) != 1:
        return None
    j = readers[0]
    layer = steps[j].layer
    return j if getattr(layer, "name", None) == name else None


# ---------------------------------------------------------------- rule 1
def _fold_batchnorm(steps: list[Step], protected: set[int]) -> list[Step]:
    uses = _consumers(steps)
    drop: set[int] = set()
    out = list(steps)
    for i, st in enumerate(steps):
        if st.layer.name not in ("ConvolutionLayer", "LinearLayer"):
            continue
        j = _sole_next(steps, i, uses, protected, "BatchNormalizationLayer")
        if j is None:
            continue
        bn = steps[j]
        a = bn.arrays
        eps = bn.layer.values["Epsilon"]
        with np.errstate(all="ignore"):
            scale = (a["Scaling"].astype(np.float64)
                     / np.sqrt(a["MovingVariance"].astype(np.float64) + eps))
        if not np.all(np.isfinite(scale)):
            continue  # leave it to BatchNormalization to report the problem
        w = st.arrays["Weights"].astype(np.float64)
        c = scale.size
        if w.shape[0] % c:
            continue
        b = st.arrays.get("Biases")
        b = np.zeros(w.shape[0]) if b is None else b.astype(np.float64)
        w2 = (w.reshape(c, -1) * scale[:, None]).reshape(w.shape)
        b2 = ((b.reshape(c, -1) - a["MovingMean"].astype(np.float64)[:, None]) * scale[:, None]
              + a["Biases"].astype(np.float64)[:, None]).reshape(b.shape)
        arrays = {"Weights": w2.astype(np.float32), "Biases": b2.astype(np.float32)}
        out[i] = Step(st.layer, arrays, st.ins, bn.outs, st.path, st.keys)
        drop.add(j)
    return [s for k, s in enumerate(out) if k not in drop]


# ---------------------------------------------------------------- rule 2
class ConvPoolThenBias:
    """Convolution (no bias) -> max pooling -> + bias -> monotone activation."""

    name = "ConvolutionLayer"
    array_specs = ()

    def __init__(self, conv, pool, activation: Program | None):
        self.conv = conv
        self.pool = pool
        self.activation = activation
        self._layouts: dict[tuple, Any] = {}

    def forward(self, ctx, arrays: dict[str, Any], x: np.ndarray):
        z = self._pooled_directly(ctx, arrays, x)
        if z is None:
            y, _, _ = self.conv.convolve(ctx, arrays, x)
            g = geometry(self.pool.values, y.shape[1:-1])
            z = pool_max(pad(y, g, -np.inf, ctx, reuse=True), g)
        b = arrays.get("Biases")
        if b is not None:
            z += b.astype(z.dtype, copy=False).reshape((z.shape[0],) + (1,) * (z.ndim - 1))
        if self.activation is not None:
            if _is_ramp(self.activation):
                np.maximum(z, np.zeros((), z.dtype), out=z)
            else:
                z = np.asarray(self.activation(z), dtype=z.dtype)
        return [z], None


    def _pooled_directly(self, ctx, arrays, x):
        """For pooling windows that tile the convolution's output (kernel = stride, no
        padding), the output at pooling offset (a, b) is a convolution with stride
        conv stride x pool stride: one GEMM per offset and a running maximum, so the
        full-size convolution output is never written out. None when that does not apply."""
        layout = self._layouts.get(x.shape[1:-1])
        if layout is None:
            layout = self._layouts[x.shape[1:-1]] = self._layout(x.shape[1:-1])
        if layout is False:
            return None
        gc, gp, parts = layout
        xp = pad(x, gc, 0.0, ctx, reuse=True)
        w = arrays["Weights"].astype(x.dtype, copy=False)
        w2 = w.reshape(w.shape[0], -1)
        c, n = x.shape[0], x.shape[-1]
        cols = scratch(ctx, "pooled-cols", (c,) + gc.kernel + gp.out + (n,), x.dtype)
        z = None
        for shift, sub in parts:
            y = np.matmul(w2, im2col(xp[shift], sub, cols).reshape(w2.shape[1], -1))
            if z is None:
                z = y
            else:
                np.maximum(z, y, out=z)
        return z.reshape((w.shape[0],) + gp.out + (n,))

    def _layout(self, sizes: tuple):
        """Geometries of the per-offset convolutions, computed once per input size."""
        conv, pool = self.conv, self.pool
        if (conv.values.get("ChannelGroups") or 1) != 1:
            return False
        gc = geometry(conv.values, sizes)
        gp = geometry(pool.values, gc.out)
        if gp.has_padding or gp.kernel != gp.stride:
            return False
        stride = tuple(sc * sp for sc, sp in zip(gc.stride, gp.stride))
        parts = []
        for offset in itertools.product(*(range(k) for k in gp.kernel)):
            starts = tuple(o * sc for o, sc in zip(offset, gc.stride))
            shift = (slice(None),) + tuple(slice(st, None) for st in starts) + (slice(None),)
            shifted = tuple(p - st for p, st in zip(gc.padded, starts))
            sub = Geometry(shifted, gc.kernel, stride, gc.dilation,
                           tuple((0, 0) for _ in gc.kernel), gp.out)
            parts.append((shift, sub))
        return gc, gp, parts


def _pool_before_bias(steps: list[Step], protected: set[int]) -> list[Step]:
    uses = _consumers(steps)
    out: list[Step | None] = list(steps)
    for i, st in enumerate(steps):
        if st.layer.name != "ConvolutionLayer" or out[i] is None:
            continue
        act, j = None, _sole_next(steps, i, uses, protected, "ElementwiseLayer")
        if j is not None:
            program = steps[j].layer.values["Function"]
            if not _monotone(program):
                continue
            act = program
        k = _sole_next(steps, j if j is not None else i, uses, protected, "PoolingLayer")
        if k is None or steps[k].layer.values["Function"] is not Symbol("Max"):
            continue
        fused = ConvPoolThenBias(st.layer, steps[k].layer, act)
        out[i] = Step(fused, st.arrays, st.ins, steps[k].outs, st.path, st.keys)
        if j is not None:
            out[j] = None
        out[k] = None
    return [s for s in out if s is not None]


# ---------------------------------------------------------------- rule 3
class RampInPlace:
    name = "ElementwiseLayer"
    array_specs = ()

    def forward(self, ctx, arrays, x):
        np.maximum(x, np.zeros((), x.dtype), out=x)
        return [x], None


def _ramp_in_place(steps: list[Step], protected: set[int]) -> list[Step]:
    uses = _consumers(steps)
    producers = {s: i for i, st in enumerate(steps) for s in st.outs}
    out = list(steps)
    for i, st in enumerate(steps):
        if getattr(st.layer, "name", None) != "ElementwiseLayer":
            continue
        if not _is_ramp(st.layer.values["Function"]):
            continue
        (src,) = st.ins
        if src in protected or len(uses.get(src, [])) != 1 or src not in producers:
            continue
        producer = steps[producers[src]].layer
        if getattr(producer, "name", None) not in ("ConvolutionLayer", "LinearLayer",
                                                   "BatchNormalizationLayer"):
            continue  # only fresh buffers: Flatten/Reshape outputs may be views of others
        out[i] = Step(RampInPlace(), {}, st.ins, st.outs, st.path, st.keys)
    return out


# ---------------------------------------------------------------- rule 4
class PoolThenActivation:
    """Max pooling, then a non-decreasing activation on the (smaller) pooled tensor."""

    name = "PoolingLayer"
    array_specs = ()

    def __init__(self, pool, activation: Program):
        self.pool = pool
        self.activation = activation

    def forward(self, ctx, arrays, x):
        g = geometry(self.pool.values, x.shape[1:-1])
        keep = bool(ctx.grad)
        xp = pad(x, g, -np.inf, ctx, reuse=not keep)
        z = pool_max(xp, g)
        if _is_ramp(self.activation):
            a = np.maximum(z, np.zeros((), z.dtype), out=None if keep else z)
        else:
            a = np.asarray(self.activation(z), dtype=z.dtype)
        return [a], ((xp, z, g, x.shape) if keep else None)

    def backward(self, ctx, arrays, cache, da):
        if not getattr(ctx, "need_dx", True):
            return [None], {}
        xp, z, g, xshape = cache
        (dz,) = self.activation.partials(z)
        dz = np.multiply(da, np.asarray(dz, dtype=da.dtype))
        return [crop(pool_max_backward(xp, z, dz, g), g)], {}


def _pool_before_activation(steps: list[Step], protected: set[int]) -> list[Step]:
    uses = _consumers(steps)
    out: list[Step | None] = list(steps)
    for i, st in enumerate(steps):
        if out[i] is None or getattr(st.layer, "name", None) != "ElementwiseLayer" \
                or not hasattr(st.layer, "values"):
            continue
        program = st.layer.values["Function"]
        if not _monotone(program):
            continue
        k = _sole_next(steps, i, uses, protected, "PoolingLayer")
        if k is None or not hasattr(steps[k].layer, "values") \
                or steps[k].layer.values["Function"] is not Symbol("Max"):
            continue
        fused = PoolThenActivation(steps[k].layer, program)
        out[i] = Step(fused, {}, st.ins, steps[k].outs, steps[k].path, {})
        out[k] = None
    return [s for s in out if s is not None]
