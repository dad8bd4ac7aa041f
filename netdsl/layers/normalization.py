"""NormalizationLayer[aggregationLevels, scalingLevels]: each example normalised over the
aggregation levels (default 2 ;; All), (x - mean) / Sqrt[variance + Epsilon] with the biased
variance, then times "Scaling" and plus "Biases", arrays spanning the scaling levels (default
"Complement": the levels not aggregated; "Same": the aggregated ones). With levels All this is
layer normalisation; the default on a channel-first image is instance normalisation."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np


from .base import LEARNING_RATE_MULTIPLIERS, ArraySpec, Infer, Layer, Option, Param, positive_real
from .levels import level_expr, level_set, level_spec
from .registry import register_layer


def _scaling_levels(x: Any) -> Any:
    if isinstance(x, str) and x in ("Complement", "Same"):
        return x
    return level_spec(x)


def _scaling_expr(v: Any) -> Any:
    return v if isinstance(v, str) else level_expr(v)


@register_layer
class NormalizationLayer(Layer):
    name = "NormalizationLayer"
    summary = "normalises over levels (default 2 ;; All), then learned Scaling and Biases"
    positional: ClassVar[tuple[Param, ...]] = (Param("AggregationLevels", level_spec, optional=True,
                        default=(("span", 2, None),), display=level_expr),
                  Param("ScalingLevels", _scaling_levels, optional=True, default="Complement",
                        display=_scaling_expr))
    options = (Option("Epsilon", 0.001, positive_real),
               LEARNING_RATE_MULTIPLIERS)
    hidden = ("StatsDimensions",)
    array_specs = (ArraySpec("Scaling", ("*StatsDimensions",), init="ones", optional=True),
                   ArraySpec("Biases", ("*StatsDimensions",), init="zeros", optional=True))

    def levels(self, rank: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(aggregation levels, scaling levels), 1-based; ValueError if out of range."""
        agg = level_set(self.values["AggregationLevels"], rank)
        sc = self.values["ScalingLevels"]
        if sc == "Complement":
            scale = tuple(i for i in range(1, rank + 1) if i not in agg)
        elif sc == "Same":
            scale = agg
        else:
            scale = level_set(sc, rank)
        return agg, scale

    def infer(self, s: Infer) -> None:
        s.same("Input", "Output")
        x = s.port("Input")
        if x is None:
            return
        try:
            _, scale = self.levels(len(x))
        except ValueError as e:
            s.fail(str(e))
            return
        dims = tuple(x[i - 1] for i in scale)
        if None not in dims:
            s.set_value("StatsDimensions", dims, '"Input" port')

    def _shapes(self, x):
        rank = x.ndim - 1
        agg, scale = self.levels(rank)
        axes = tuple(i - 1 for i in agg)
        bshape = tuple(x.shape[i] if i + 1 in scale else 1 for i in range(rank)) + (1,)
        return axes, bshape

    # ---- numerics: per example (the batch axis is never aggregated), in the data's type ---
    def forward(self, ctx, arrays, x):
        axes, bshape = self._shapes(x)
        eps = self.values["Epsilon"]
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        inv = 1.0 / np.sqrt(var + eps)
        xhat = xc * inv
        y = xhat
        sc, b = arrays.get("Scaling"), arrays.get("Biases")
        if sc is not None:
            y = y * sc.astype(x.dtype, copy=False).reshape(bshape)
        if b is not None:
            y = y + b.astype(x.dtype, copy=False).reshape(bshape)
        y = np.ascontiguousarray(y, dtype=x.dtype)
        return [y], ((xhat, inv, axes, bshape) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy):
        xhat, inv, axes, bshape = cache
        sc, b = arrays.get("Scaling"), arrays.get("Biases")
        grads = {}
        reduce_axes = tuple(i for i, d in enumerate(bshape) if d == 1)
        if sc is not None:
            grads["Scaling"] = (dy * xhat).sum(axis=reduce_axes).reshape(sc.shape).astype(
                sc.dtype, copy=False)
        if b is not None:
            grads["Biases"] = dy.sum(axis=reduce_axes).reshape(b.shape).astype(b.dtype,
                                                                             copy=False)
        g = dy if sc is None else dy * sc.astype(dy.dtype, copy=False).reshape(bshape)
        if not axes:
            return [np.ascontiguousarray(g * inv, dtype=dy.dtype)], grads
        dx = inv * (g - g.mean(axis=axes, keepdims=True)
                    - xhat * (g * xhat).mean(axis=axes, keepdims=True))
        return [np.ascontiguousarray(dx, dtype=dy.dtype)], grads


