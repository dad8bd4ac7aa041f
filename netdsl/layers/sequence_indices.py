"""SequenceIndicesLayer[]: the positions 1, 2, ..., n of a sequence of n elements (capped at
"Maximum": Min[max, Range[Length[#]]] &), as integers. Wolfram's layer for position
embeddings: SequenceIndicesLayer["Maximum" -> 512] followed by EmbeddingLayer[d, 512].

"Input" is a sequence of any elements (numbers, arrays; "Varying" or a fixed length);
"Output" is an integer vector of the same length, classes 1..max when max is finite (so an
EmbeddingLayer after it learns its size). Only the input's length matters: no gradient
flows back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import Symbol
from .base import Infer, Layer, Param
from .registry import register_layer
from .sequence_core import sequence_input
from .shapes import LengthVar, PortType

INFINITY = Symbol("Infinity")


def _maximum(x: Any) -> Any:
    if x == INFINITY:
        return INFINITY
    if isinstance(x, int) and not isinstance(x, bool) and x >= 1:
        return x
    raise ValueError("expected a positive integer or Infinity (the largest index to give)")


@register_layer
class SequenceIndicesLayer(Layer):
    name = "SequenceIndicesLayer"
    summary = "the positions 1, 2, ..., n of the input sequence (at most \"Maximum\")"
    # Wolfram's layer takes "Maximum" as its one positional argument too (its declaration
    # has MaxArgCount 1): SequenceIndicesLayer[512] is SequenceIndicesLayer["Maximum" -> 512]
    positional = (Param("Maximum", _maximum, optional=True, default=INFINITY),)

    def infer(self, s: Infer) -> None:
        x = sequence_input(s)
        top = self.values["Maximum"]
        classes = None if top == INFINITY else top
        y = s.port("Output")
        if y is not None and len(y) != 1:
            s.fail('the "Output" port must be a vector (one index per element)')
        if x is not None:   # the output's length is the input's ("Varying": the same one)
            s.refine("Output", PortType((x[0],), True, classes), '"Input" port')
        elif y is None:     # (an input of unknown rank cannot be told its length)
            s.refine("Output", PortType((None,), True, classes), "its definition")

    def default_ports(self, s: Infer) -> None:
        """Nothing else said: a "Varying" length, as Wolfram's (its length is a LengthVar),
        so a position embedding built without an "Input" shape can be initialised."""
        x, y = s.port("Input"), s.port("Output")
        if x is not None and len(x) >= 1 and x[0] is None:
            s.refine("Input", (LengthVar(),) + tuple(x[1:]), "its definition")
            s.refine("Output", (s.port("Input")[0],), '"Input" port')
        elif x is None and y is not None and y[0] is None:
            s.refine("Output", (LengthVar(),), "its definition")

    def forward(self, ctx, arrays, x):
        n, batch = x.shape[0], x.shape[-1]
        top = self.values["Maximum"]
        idx = np.arange(1, n + 1, dtype=np.int64)
        if top != INFINITY:
            np.minimum(idx, top, out=idx)
        return [np.ascontiguousarray(np.broadcast_to(idx[:, None], (n, batch)))], None

    def backward(self, ctx, arrays, cache, dy):
        return [None], {}
