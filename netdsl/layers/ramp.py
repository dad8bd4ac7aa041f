"""ParametricRampLayer[]: a leaky ramp whose slope for negative inputs is learned per
element: x where x >= 0, "Slope" x elsewhere. "Slope" has the input's dimensions ({1} for a
scalar input) and starts at 0 (a plain Ramp) unless given."""

from __future__ import annotations

import numpy as np

from .base import ArraySpec
from .constants import InputShapedArrayLayer
from .registry import register_layer


@register_layer
class ParametricRampLayer(InputShapedArrayLayer):
    name = "ParametricRampLayer"
    summary = 'leaky ramp with a learned "Slope" array for negative inputs'
    array_specs = (ArraySpec("Slope", ("*ArrayDimensions",), init="zeros"),)
    array_name = "Slope"

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
