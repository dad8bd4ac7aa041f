"""Shape-simple layers: SoftmaxLayer, FlattenLayer, ReshapeLayer, DropoutLayer, SummationLayer."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import S, is_integer, is_list, list_items
from .registry import register_layer
from .base import Infer, Layer, Param, real_between
from .shapes import PortType, prod


@register_layer
class SoftmaxLayer(Layer):
    name = "SoftmaxLayer"
    summary = "Exp[x]/Total[Exp[x]] over the last dimension"

    def automatic_loss(self):
        return "CrossEntropyLossLayer", ("Index",)

    def infer(self, s: Infer) -> None:
        s.same("Input", "Output")
        x = s.port("Input")
        if x is not None and len(x) == 0:
            s.fail('the "Input" port must be an array of rank ≥ 1')

    # ---- numerics: over the last example axis, which is axis -2 in batch-last data ------
    def forward(self, ctx, arrays, x):
        y = np.subtract(x, x.max(axis=-2, keepdims=True))     # stable: the largest is Exp[0]
        np.exp(y, out=y)
        y /= y.sum(axis=-2, keepdims=True)
        return [y], (y if ctx.grad else None)

    def backward(self, ctx, arrays, y, dy):
        dx = np.subtract(dy, np.einsum("...cn,...cn->...n", dy, y)[..., None, :])
        dx *= y
        return [dx], {}


# ---- numerics shared by FlattenLayer and ReshapeLayer: batch-last C-order data reshapes
# for free, so the output (and the gradient) is a view of the input (of dy).
def _reshape_forward(self, ctx, arrays, x):
    return [x.reshape(tuple(self.ports["Output"].shape) + (x.shape[-1],))], \
        (x.shape if ctx.grad else None)


def _reshape_backward(self, ctx, arrays, xshape, dy):
    return [dy.reshape(xshape)], {}


def _flatten_level(x: Any) -> Any:
    if x is S("Infinity"):
        return x
    if is_integer(x) and x != 0:
        return x
    raise ValueError("expected a non-zero integer or Infinity")


@register_layer
class FlattenLayer(Layer):
    name = "FlattenLayer"
    summary = "flattens the input to a vector (FlattenLayer[n]: the first n+1 levels)"
    positional = (Param("Level", _flatten_level, optional=True, default=S("Infinity")),)

    def infer(self, s: Infer) -> None:
        x = s.port("Input")
        if x is None:
            return
        level = s.value("Level")
        level = None if level is S("Infinity") else level
        r = len(x)
        if r == 0:
            s.fail('the "Input" port must be an array of rank ≥ 1')
        if level is not None and abs(level) >= r:
            s.fail(f"level specification of {level} is incompatible with input tensor, which "
                   f"has rank {r}")
        if level is None:
            k = r                       # everything into one vector
        elif level > 0:
            k = min(level + 1, r)       # the first level+1 dimensions
        else:
            k = min(-level + 1, r)      # the last |level|+1 dimensions
        if level is not None and level < 0:
            lead, merged = x[:r - k], x[r - k:]
            out = lead + ((prod(merged) if None not in merged else None),)
        else:
            merged, rest = x[:k], x[k:]
            out = ((prod(merged) if None not in merged else None),) + rest
        s.refine("Output", out, '"Input" port')

    forward, backward = _reshape_forward, _reshape_backward


def _reshape_dims(x: Any) -> tuple:
    if is_list(x):
        items = list_items(x)
        dims = []
        for i in items:
            if is_integer(i) and i >= 1:
                dims.append(i)
            elif i is S("Automatic"):
                dims.append(None)
            else:
                raise ValueError("expected positive integers, with at most one Automatic")
        if sum(d is None for d in dims) <= 1:
            return tuple(dims)
    raise ValueError("expected a list of positive integers, with at most one Automatic")


@register_layer
class ReshapeLayer(Layer):
    name = "ReshapeLayer"
    summary = "reshapes to {d1, d2, ...} (one may be Automatic); the element count is kept"
    positional = (Param("Dimensions", _reshape_dims),)

    def infer(self, s: Infer) -> None:
        dims = s.value("Dimensions")
        x = s.port("Input")
        if x is not None and None not in x:
            total = prod(x)
            known = prod(d for d in dims if d is not None)
            if None in dims:
                if total % known:
                    s.fail(f"cannot reshape {total} elements to {_dims(dims)}")
                dims = tuple(total // known if d is None else d for d in dims)
            elif known != total:
                s.fail(f"the input has {total} elements, but dimensions {_dims(dims)} "
                       f"hold {known}")
        s.refine("Output", tuple(dims), 'parameter "Dimensions"')

    forward, backward = _reshape_forward, _reshape_backward


def _dims(dims) -> str:
    return "{" + ", ".join("Automatic" if d is None else str(d) for d in dims) + "}"


@register_layer
class DropoutLayer(Layer):
    name = "DropoutLayer"
    summary = "in training, zeroes elements with probability p (0.5) and scales the rest by 1/(1-p)"
    positional = (Param("DropoutProbability", real_between(0, 1), optional=True, default=0.5),)
    has_train_behavior = True

    def check_options(self) -> None:
        if self.values["DropoutProbability"] >= 1:
            raise self.error("invopt", "The dropout probability must be below 1.")

    # ---- numerics: Train keeps each element with probability 1-p, scaled by 1/(1-p) -------
    def forward(self, ctx, arrays, x):
        p = float(self.values["DropoutProbability"])
        if not ctx.train or p == 0:
            return [x], None
        # float32 uniforms whatever the data type, so one seed gives one mask
        mask = ctx.rng.random(x.shape, dtype=np.float32) >= np.float32(p)
        scaled = np.multiply(mask, 1.0 / (1.0 - p), dtype=x.dtype)
        return [x * scaled], (scaled if ctx.grad else None)

    def backward(self, ctx, arrays, scaled, dy):
        return [dy if scaled is None else dy * scaled], {}


@register_layer
class SummationLayer(Layer):
    name = "SummationLayer"
    summary = "the sum of all elements of the input"

    def infer(self, s: Infer) -> None:
        s.refine("Output", PortType(()), "its definition")

    # ---- numerics: one number per example; accumulated in float64 -----------------------
    def forward(self, ctx, arrays, x):
        n = x.shape[-1]
        y = x.reshape(-1, n).sum(axis=0, dtype=np.float64).astype(x.dtype)
        return [y], (x.shape if ctx.grad else None)

    def backward(self, ctx, arrays, xshape, dy):
        dx = np.empty(xshape, dy.dtype)
        dx[...] = dy
        return [dx], {}


