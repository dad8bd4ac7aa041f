"""AppendLayer[]: a sequence with one more element at its end, given on the "Element" port
(Wolfram: Append[in, elem]). Ports: "Input" an array of rank n (a fixed or "Varying"
length), "Element" an array of rank n - 1, "Output" rank n, one longer. Integer sequences
(token indices) stay integer; their gradients are none. PrependLayer (prepend.py) is the
same with the element first."""

from __future__ import annotations

import numpy as np

from .base import Infer, Layer
from .registry import register_layer
from .sequence_core import longer_by_one


@register_layer
class AppendLayer(Layer):
    name = "AppendLayer"
    moves_numbers = True
    summary = 'the sequence with the "Element" appended'
    inputs = ("Input", "Element")
    element_first = False          # where the element goes: PrependLayer puts it first

    def infer(self, s: Infer) -> None:
        longer_by_one(s)

    # ---- numerics: x (n, d.., N), e (d.., N) batch last; the length is axis 0 ----------
    def forward(self, ctx, arrays, x, e):
        parts = [x, np.asarray(e, x.dtype)[None]]
        y = np.concatenate(parts[::-1] if self.element_first else parts, axis=0)
        return [y], (x.dtype.kind == "f" if ctx.grad else None)

    def backward(self, ctx, arrays, real, dy):
        if not real:
            return [None, None], {}
        if self.element_first:
            return [np.ascontiguousarray(dy[1:]), np.ascontiguousarray(dy[0])], {}
        return [np.ascontiguousarray(dy[:-1]), np.ascontiguousarray(dy[-1])], {}
