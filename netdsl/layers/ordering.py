"""OrderingLayer[], OrderingLayer[n], OrderingLayer[-n]: Ordering of the input vector, the
1-based positions that sort it (ascending, ties in their input order, as Ordering).

Wolfram's definition (reference page): OrderingLayer[] is OrderingLayer[All] (every
position); [n] the positions of the n smallest elements, [-n] of the n largest (the last
n of the ordering, so the largest comes last); n may not be 0. "Input" a vector of length l
or "Varying", "Output" a vector of integer positions (1..l). The output is piecewise
constant in the input: no gradient flows back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..expr import Symbol, is_integer
from .base import Infer, Layer, Param
from .registry import register_layer
from .shapes import PortType


def _elements(x: Any) -> Any:
    if x == Symbol("All"):
        return "All"
    if is_integer(x) and x != 0:
        return int(x)
    raise ValueError("expected All or a non-zero integer n (the first n positions) or -n "
                     "(the last n)")


def _elements_expr(v: Any) -> Any:
    return Symbol("All") if v == "All" else v


@register_layer
class OrderingLayer(Layer):
    name = "OrderingLayer"
    summary = "the positions that sort the input vector (All, the first n, or the last n)"
    positional = (Param("Elements", _elements, optional=True, default="All",
                        display=_elements_expr),)

    def infer(self, s: Infer) -> None:
        x = s.port("Input")
        k = self.values["Elements"]
        if x is not None:
            if len(x) != 1:
                s.fail('the "Input" port must be a vector')
            n = x[0]
            if k != "All" and isinstance(n, int) and abs(k) > n:
                s.fail(f"the input has {n} elements, fewer than the {abs(k)} positions asked "
                       f"for")
            out = n if k == "All" else abs(k)
            s.refine("Output", PortType((out,), True, n if isinstance(n, int) else None),
                     '"Input" port')
        else:
            s.refine("Output", PortType((None if k == "All" else abs(k),), True), "its definition")
        y = s.port("Output")
        if k == "All" and y is not None and len(y) == 1 and y[0] is not None:
            s.refine("Input", (y[0],), '"Output" port')     # every position: one length

    # ---- numerics: x (l, N) batch last -> positions (k, N), int64, 1-based ---------------
    def forward(self, ctx, arrays, x):
        k = self.values["Elements"]
        if k != "All" and abs(k) > x.shape[0]:
            raise EvaluationError(f"the input has {x.shape[0]} elements, fewer than the "
                                  f"{abs(k)} positions asked for.", symbol=self.name,
                                  tag="invinput")
        order = np.argsort(x, axis=0, kind="stable") + 1
        if k != "All":
            order = order[:k] if k > 0 else order[k:]
        return [np.ascontiguousarray(order, dtype=np.int64)], None

    def backward(self, ctx, arrays, cache, dy):
        return [None], {}
