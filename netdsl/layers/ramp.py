"""ParametricRampLayer[]: a leaky ramp whose slope for negative inputs is learned per
element: x where x >= 0, "Slope" x elsewhere. "Slope" has the input's dimensions ({1} for a
scalar input) and starts at 0 (a plain Ramp) unless given."""

from __future__ import annotations

import numpy as np

from .base import ArraySpec, Infer, Layer, Option
from .registry import register_layer


@register_layer
class ParametricRampLayer(Layer):
    name = "ParametricRampLayer"
    summary = 'leaky ramp with a learned "Slope" array for negative inputs'
    hidden = ("Dimensions", "ArrayDimensions")
    options = (Option("LearningRateMultipliers", None, lambda x: x, shown=False),)
    array_specs = (ArraySpec("Slope", ("*ArrayDimensions",), init="zeros"),)

    def infer(self, s: Infer) -> None:
        s.same("Input", "Output")
        x = s.port("Input")
        if x is not None and None not in x:
            s.set_value("Dimensions", tuple(x), '"Input" port')
            s.set_value("ArrayDimensions", tuple(x) if x else (1,), '"Input" port')
        a = s.value("ArrayDimensions")
        if a is not None and None not in a and s.value("Dimensions") is None and a != (1,):
            s.set_value("Dimensions", a, 'array "Slope"')
        d = s.value("Dimensions")
        if d is not None:
            s.refine("Input", tuple(d), 'array "Slope"')

    def forward(self, ctx, arrays, x):
        a = arrays["Slope"].astype(x.dtype, copy=False).reshape(x.shape[:-1] + (1,))
        neg = x < 0
        y = np.where(neg, a * x, x).astype(x.dtype, copy=False)
        return [y], ((x, neg) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy):
        x, neg = cache
        s = arrays["Slope"]
        a = s.astype(dy.dtype, copy=False).reshape(x.shape[:-1] + (1,))
        ds = np.where(neg, dy * x, 0).sum(axis=-1).reshape(s.shape).astype(s.dtype, copy=False)
        return [np.where(neg, a * dy, dy).astype(dy.dtype, copy=False)], {"Slope": ds}
