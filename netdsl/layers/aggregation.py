"""AggregationLayer[f, levels]: Max, Min, Mean, Total or Times of the input over levels (default
2 ;; All, every level but the first: global pooling of a channel-first image)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import S, among
from .base import Infer, Layer, Param
from .levels import level_expr, level_set, level_spec, needs_rank
from .registry import register_layer


def _function(f: Any) -> Any:
    if among(f, (S("Max"), S("Min"), S("Mean"), S("Total"), S("Times"))):
        return f
    raise ValueError("expected Max, Min, Mean, Total or Times")


@register_layer
class AggregationLayer(Layer):
    name = "AggregationLayer"
    summary = "Max, Min, Mean, Total or Times over levels (default 2 ;; All: all but the first)"
    positional = (Param("Function", _function),
                  Param("Levels", level_spec, optional=True, default=(("span", 2, None),),
                        display=level_expr))

    def infer(self, s: Infer) -> None:
        spec = s.value("Levels")
        x, y = s.port("Input"), s.port("Output")
        if x is None and y is not None and not needs_rank(spec):
            # only positive levels: the input's rank is the output's plus their number
            k = len(level_set(spec, 10 ** 6))
            levels = level_set(spec, len(y) + k)
            sizes, it = [], iter(y)
            for i in range(1, len(y) + k + 1):
                sizes.append(None if i in levels else next(it))
            s.refine("Input", tuple(sizes), '"Output" port')
            x = s.port("Input")
        if x is None:
            return
        if len(x) == 0:
            s.fail("rank of input array should be at least 1")
        try:
            levels = level_set(spec, len(x))
        except ValueError as e:
            s.fail(str(e))
            return
        s.refine("Output", tuple(n for i, n in enumerate(x, 1) if i not in levels),
                 '"Input" port')
        if y is not None:   # sizes of kept levels flow back
            y = s.port("Output")
            it = iter(y)
            s.refine("Input", tuple(None if i in levels else next(it)
                                    for i in range(1, len(x) + 1)), '"Output" port')

    # ---- numerics: one NumPy reduction over the (0-based) axes; Max/Min backward shares
    # each result's gradient equally among the elements that attain it -----------------------
    def _axes(self, ndim: int) -> tuple[int, ...]:
        return tuple(i - 1 for i in level_set(self.values["Levels"], ndim - 1))

    def forward(self, ctx, arrays, x):
        axes = self._axes(x.ndim)
        f = self.values["Function"].name
        if f == "Total":
            y = x.sum(axis=axes)
        elif f == "Mean":
            y = x.mean(axis=axes)
        elif f == "Times":
            y = x.prod(axis=axes)
        elif f == "Max":
            y = x.max(axis=axes)
        else:
            y = x.min(axis=axes)
        y = np.ascontiguousarray(y, dtype=x.dtype)
        return [y], ((x, y, axes) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy):
        x, y, axes = cache
        f = self.values["Function"].name
        dye = np.expand_dims(dy, axes)
        if f == "Total":
            return [np.ascontiguousarray(np.broadcast_to(dye, x.shape))], {}
        if f == "Mean":
            count = int(np.prod([x.shape[a] for a in axes]))
            return [np.ascontiguousarray(np.broadcast_to(dye / count, x.shape))], {}
        if f == "Times":
            # d/dx_i of the product: the product of the others (exact where x_i = 0)
            zero = x == 0
            zeros = zero.sum(axis=axes, keepdims=True)
            others = np.where(zero, 1, x).prod(axis=axes, keepdims=True)
            ye = np.expand_dims(y, axes)
            with np.errstate(divide="ignore", invalid="ignore"):
                d = np.where(zero, np.where(zeros == 1, others, 0), ye / np.where(zero, 1, x))
            return [np.ascontiguousarray(dye * d, dtype=dy.dtype)], {}
        hit = x == np.expand_dims(y, axes)
        share = dye / hit.sum(axis=axes, keepdims=True)
        return [np.multiply(hit, share, dtype=dy.dtype)], {}
