"""ElementwiseLayer: a function applied to every element (Ramp, Tanh, "ELU", Max[#, 0.1 #] &)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import Expr, Symbol, input_form
from .base import Infer, Layer, Param
from .functions import (NAMED, PRIMITIVES, FunctionError, as_data, compile_function,
                        function_argument, ramp_in_place)
from .registry import register_layer

_ZERO = {np.dtype(np.float32): np.zeros((), np.float32),
         np.dtype(np.float64): np.zeros((), np.float64)}

def _one_argument(f: Symbol) -> bool:
    """Whether the symbol f is a function of one argument netdsl computes (Unitize, Clip)."""
    try:
        compile_function(f, 1)
    except FunctionError:
        return False
    return True


@register_layer
class ElementwiseLayer(Layer):
    name = "ElementwiseLayer"
    summary = "applies f to every element: Ramp, Tanh, LogisticSigmoid, \"ELU\", Max[#, 0.1 #] &, ..."
    positional = (Param("Function", function_argument(1, "ElementwiseLayer")),)

    def infer(self, s: Infer) -> None:
        s.same("Input", "Output")

    @classmethod
    def from_shorthand(cls, x: Any) -> Layer | None:
        """In a container, Ramp, Tanh, Unitize (any symbol that is a function of one
        argument) or a pure function stands for ElementwiseLayer[f]."""
        if isinstance(x, Symbol) and (x.name in PRIMITIVES or _one_argument(x)) or \
                isinstance(x, Expr) and x.head is Symbol("Function"):
            return cls.build((x,), Expr(Symbol(cls.name), x))
        return None

    def title(self) -> str:
        return f"ElementwiseLayer[{input_form(self.values['Function'].source)}]"

    def automatic_loss(self):
        """After LogisticSigmoid, outputs are probabilities of a yes/no target."""
        if self.values["Function"].source in (Symbol("LogisticSigmoid"), "Sigmoid"):
            return "CrossEntropyLossLayer", ("Binary",)
        return None

    @property
    def monotone(self) -> bool:
        return self.values["Function"].monotone

    @property
    def is_ramp(self) -> bool:
        return bool(self.values["Function"].is_ramp)

    def forward_inplace(self, x):
        if self.is_ramp and x.dtype in _ZERO:
            return ramp_in_place(x)
        return None

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

