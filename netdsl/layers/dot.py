"""DotLayer[]: Dot of its two inputs per example (vector.vector, matrix.vector,
matrix.matrix, tensors contracting the last level of the first with the first of the
second); the output has Most[dims1] ++ Rest[dims2]."""

from __future__ import annotations

import numpy as np

from .base import Infer
from .combine import MultiInputLayer
from .registry import register_layer
from .text import value_text


@register_layer
class DotLayer(MultiInputLayer):
    name = "DotLayer"
    summary = "Dot[a, b] of its two inputs (the last level of a with the first of b)"

    def infer(self, s: Infer) -> None:
        if self.input_count != 2:
            s.fail("DotLayer takes exactly two inputs")
        a, b = s.port("Input1"), s.port("Input2")
        if a is not None and len(a) == 0 or b is not None and len(b) == 0:
            s.fail("scalar values cannot be used with Dot")
        if a is not None and b is not None:
            if a[-1] is not None and b[0] is not None and a[-1] != b[0]:
                s.fail(f"cannot take dot product of arrays with shapes {value_text(tuple(a))} and "
                       f"{value_text(tuple(b))}")
            k = a[-1] if a[-1] is not None else b[0]
            s.refine("Input1", tuple(a[:-1]) + (k,), '"Input2" port')
            s.refine("Input2", (k,) + tuple(b[1:]), '"Input1" port')
            s.refine("Output", tuple(a[:-1]) + tuple(b[1:]), "the inputs")

    # ---- numerics: a (A.., K, N), b (K, B.., N) -> (A.., B.., N); one batched matmul with
    # the batch moved first ------------------------------------------------------------------
    def forward(self, ctx, arrays, a, b):
        n = a.shape[-1]
        k = a.shape[-2]
        a3 = a.reshape(-1, k, n).transpose(2, 0, 1)          # (N, A, K)
        b3 = b.reshape(k, -1, n).transpose(2, 0, 1)          # (N, K, B)
        y = np.matmul(a3, b3)                                # (N, A, B)
        out = a.shape[:-2] + b.shape[1:-1] + (n,)
        y = np.ascontiguousarray(y.transpose(1, 2, 0)).reshape(out)
        return [y], ((a3, b3, a.shape, b.shape) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy):
        a3, b3, ashape, bshape = cache
        n = dy.shape[-1]
        d3 = dy.reshape(a3.shape[1], b3.shape[2], n).transpose(2, 0, 1)   # (N, A, B)
        da = np.matmul(d3, b3.transpose(0, 2, 1))                        # (N, A, K)
        db = np.matmul(a3.transpose(0, 2, 1), d3)                        # (N, K, B)
        return [np.ascontiguousarray(da.transpose(1, 2, 0)).reshape(ashape),
                np.ascontiguousarray(db.transpose(1, 2, 0)).reshape(bshape)], {}
