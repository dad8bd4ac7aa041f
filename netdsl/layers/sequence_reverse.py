"""SequenceReverseLayer[]: a sequence in reverse order (same length, same shape)."""

from __future__ import annotations

import numpy as np

from .base import Infer, Layer
from .registry import register_layer
from .sequence_core import sequence_input


@register_layer
class SequenceReverseLayer(Layer):
    name = "SequenceReverseLayer"
    moves_numbers = True
    summary = "a sequence in reverse order"

    def infer(self, s: Infer) -> None:
        sequence_input(s)
        s.same("Input", "Output")

    def forward(self, ctx, arrays, x):
        return [np.ascontiguousarray(x[::-1])], None

    def backward(self, ctx, arrays, cache, dy):
        return [np.ascontiguousarray(dy[::-1])], {}
