"""UnitVectorLayer[n]: class indices 1..n to one-hot n-vectors (UnitVectorLayer[5][3] is
{0, 0, 1, 0, 0}). Input: one index (the default), a fixed array of them or a "Varying"
sequence ("Input" -> "Varying"); the output adds a last level of size n. No arrays."""

from __future__ import annotations

import numpy as np

from .base import Infer, Layer, Param, check_batch_size, positive_int
from .embedding import EmbeddingLayer
from .registry import register_layer
from .shapes import PortType


@register_layer
class UnitVectorLayer(EmbeddingLayer):
    """Reads its "Input" spec as integers, as EmbeddingLayer does (hence the base class)."""

    name = "UnitVectorLayer"
    summary = "index i (1..n) to the i-th unit vector of size n"
    # (EmbeddingLayer's declarations are inferred as fixed-length tuples)
    positional = (Param("OutputDimension", positive_int, optional=True),)  # type: ignore[assignment]
    options = ()  # type: ignore[assignment]
    array_specs = ()  # type: ignore[assignment]
    # not EmbeddingLayer's lookup table (its "Weights"): a unit vector has no array, so the
    # executor must not fuse it into a following LSTM as a table lookup
    lookup_table = Layer.lookup_table

    def infer(self, s: Infer) -> None:
        t = s.port_type("Input")
        if t.classes is not None:
            s.set_value("OutputDimension", t.classes, '"Input" port')
        y = s.port("Output")
        if y is not None and len(y) == 0:
            s.fail('the "Output" port must be an array of rank 1 or more (a unit vector per '
                   'index), not a single number')
        if y is not None and y[-1] is not None:
            s.set_value("OutputDimension", y[-1], '"Output" port')
        n = s.value("OutputDimension")
        if t.shape is not None or n is not None:
            s.refine("Input", PortType(t.shape, True, n), 'parameter "OutputDimension"')
        x = s.port("Input")
        if x is not None:
            s.refine("Output", tuple(x) + (n,), '"Input" port')
        elif y is not None:
            s.refine("Input", PortType(tuple(y[:-1]), True, n), '"Output" port')

    def default_ports(self, s: Infer) -> None:
        if s.port("Input") is None:
            s.refine("Input", PortType((), True, s.value("OutputDimension")), "its definition")

    # ---- numerics: x int (dims.., N) -> (dims.., n, N) -------------------------------
    def forward(self, ctx, arrays, x):
        n = self.values["OutputDimension"]
        idx = np.asarray(x, np.int64) - 1
        shape = idx.shape[:-1] + (n, idx.shape[-1])
        check_batch_size(shape, 4, f'the "Output" of {self.name}')
        y = np.zeros(shape, np.float32)
        np.put_along_axis(y, idx[..., None, :], 1.0, axis=-2)
        return [y], None

    def backward(self, ctx, arrays, cache, dy):
        return [None], {}
