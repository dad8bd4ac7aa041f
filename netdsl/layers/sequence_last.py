"""SequenceLastLayer[]: the last element of a sequence (its length is dropped)."""

from __future__ import annotations

import numpy as np

from .base import Infer, Layer
from .registry import register_layer
from .sequence_core import sequence_input


@register_layer
class SequenceLastLayer(Layer):
    name = "SequenceLastLayer"
    moves_numbers = True
    keeps_last = True
    summary = "the last element of a sequence"

    def infer(self, s: Infer) -> None:
        x = sequence_input(s)
        if x is not None:
            s.refine("Output", tuple(x[1:]), '"Input" port')
        y = s.port("Output")
        if y is not None:
            s.refine("Input", (None,) + tuple(y), '"Output" port')

    def forward(self, ctx, arrays, x):
        return [np.ascontiguousarray(x[-1])], (x.shape if ctx.grad else None)

    def backward(self, ctx, arrays, shape, dy):
        dx = np.zeros(shape, dy.dtype)
        dx[-1] = dy
        return [dx], {}
