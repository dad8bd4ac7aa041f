"""ElementwiseLayer: a function applied to every element (Ramp, Tanh, "ELU", Max[#, 0.1 #] &)."""

from __future__ import annotations


import numpy as np

from .base import Infer, Layer, Param
from .functions import NAMED, PRIMITIVES, as_data, function_argument



class ElementwiseLayer(Layer):
    name = "ElementwiseLayer"
    summary = "applies f to every element: Ramp, Tanh, LogisticSigmoid, \"ELU\", Max[#, 0.1 #] &, ..."
    positional = (Param("Function", function_argument(1, "ElementwiseLayer")),)

    def infer(self, s: Infer) -> None:
        s.same("Input", "Output")

    # ---- numerics: the compiled Program and its exact derivative -------------------------
    def forward(self, ctx, arrays, x):
        return [as_data(self.values["Function"](x), x)], (x if ctx.grad else None)

    def backward(self, ctx, arrays, x, dy):
        if not getattr(ctx, "need_dx", True):
            return [None], {}
        program = self.values["Function"]
        tree = program.tree
        if tree[0] in ("prim", "named") and tree[2] == ("var", 0):
            # f[x] of one primitive (Ramp, Tanh, "ELU", ...): its derivative directly,
            # without the forward-mode pass recomputing f
            table = PRIMITIVES if tree[0] == "prim" else NAMED
            with np.errstate(all="ignore"):
                d = np.asarray(table[tree[1]][1](x))
            if d.shape == dy.shape and d.dtype == dy.dtype and d.base is None \
                    and d is not x and d is not dy:
                d *= dy                          # a fresh array: reuse it for the result
                return [d], {}
        else:
            (d,) = program.partials(x)
        return [as_data(dy * d, dy)], {}

