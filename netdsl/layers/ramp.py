"""ParametricRampLayer[levels]: a leaky ramp whose slope for negative inputs is learned:
x where x >= 0, Slope x elsewhere.

As Wolfram's reference page: the slope has one value per position of the given levels
of the input and is shared over the others; the levels default to {1} (a slope per
channel, PReLU's usual form), ``{}`` is one slope for everything (``ParametricRampLayer[{},
"Slope" -> 0.25]``), an integer n is {n}. The slope starts at 0.1 ("By default, the slope
is initialized to 0.1") unless given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import is_integer, is_list, list_items, make_list
from .base import LEARNING_RATE_MULTIPLIERS, ArraySpec, Infer, Layer, Param
from .registry import register_layer
from .shapes import LengthVar


def _levels(x: Any) -> tuple[int, ...]:
    """n, {n1, n2, ...} or {}: the levels that get their own slopes (1 is the first level
    of an example)."""
    items = [x] if is_integer(x) else list_items(x) if is_list(x) else None
    if items is None or not all(is_integer(i) and i >= 1 for i in items):
        raise ValueError("expected a level n >= 1 or a list of them ({} for one slope)")
    if len(set(items)) != len(items):
        raise ValueError("a level is given twice")
    return tuple(sorted(int(i) for i in items))


@register_layer
class ParametricRampLayer(Layer):
    name = "ParametricRampLayer"
    summary = 'leaky ramp with a learned "Slope" (per position of the given levels, {1} by ' \
              'default) for negative inputs'
    positional = (Param("Levels", _levels, optional=True, default=(1,),
                        display=lambda v: make_list(list(v))),)
    hidden = ("SlopeDimensions",)
    options = (LEARNING_RATE_MULTIPLIERS,)
    array_specs = (ArraySpec("Slope", ("*SlopeDimensions",), init=0.1, scalar_ok=True),)

    def infer(self, s: Infer) -> None:
        s.same("Input", "Output")
        x = s.port("Input")
        levels = s.value("Levels")
        if x is None or levels is None:
            return
        if not x and levels == (1,):     # a number per example: one slope
            levels = ()
        if levels and levels[-1] > len(x):
            s.fail(f"the slope's levels {make_list(list(levels))} go beyond the input's rank "
                   f"{len(x)}")
        dims = tuple(x[i - 1] for i in levels)
        if any(isinstance(d, LengthVar) for d in dims):
            s.fail('a slope per position of a "Varying" level cannot be learned; give the '
                   "levels of fixed size (ParametricRampLayer[{2}]), or {} for one slope")
        if None not in dims:
            s.set_value("SlopeDimensions", dims, '"Input" port')

    def _levels(self, x: np.ndarray) -> tuple[int, ...]:
        """The levels with their own slopes, for a batch-last input (a number per example
        has none: the default {1} is one slope there)."""
        return tuple(i for i in self.values["Levels"] if i <= x.ndim - 1)

    def _slope(self, arrays, x: np.ndarray) -> np.ndarray:
        """The slope viewed at the input's rank (batch-last): size 1 where shared."""
        levels = self._levels(x)
        view = tuple(x.shape[i] if i + 1 in levels else 1 for i in range(x.ndim - 1)) + (1,)
        return arrays["Slope"].astype(x.dtype, copy=False).reshape(view)

    def forward(self, ctx, arrays, x):
        neg = x < 0
        y = np.where(neg, self._slope(arrays, x) * x, x).astype(x.dtype, copy=False)
        return [y], ((x, neg) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy):
        x, neg = cache
        s = arrays["Slope"]
        levels = self._levels(x)
        shared = tuple(i for i in range(x.ndim) if i + 1 not in levels)   # batch included
        ds = np.where(neg, dy * x, 0).sum(axis=shared).reshape(s.shape)
        return [np.where(neg, self._slope(arrays, dy) * dy, dy).astype(dy.dtype, copy=False)], \
            {"Slope": ds.astype(s.dtype, copy=False)}
