"""EmbeddingLayer[size, n]: class indices 1..n to learned vectors, "Weights" {n, size}.

The input is an index or an array of indices of any rank (read as integers); the output
adds a last level of ``size``. As Wolfram's, the input's rank is not fixed by the layer: it
comes from "Input" (k, {k1, ...}, "Varying", {"Varying", k2, ...}) or from the context (a
"Varying" sequence before a recurrent layer, both ways through the layer); with nothing
said, one index."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import is_rule
from .base import (LEARNING_RATE_MULTIPLIERS, ArraySpec, Infer, Layer, Param, check_batch_size,
                   positive_int)
from .registry import register_layer
from .shapes import PortType, port_type_from_spec


@register_layer
class EmbeddingLayer(Layer):
    name = "EmbeddingLayer"

    def reads_integers(self, port: str) -> bool:
        return port == "Input"      # the indices
    summary = "index i (1..n) to row i of a learned {n, size} matrix"
    positional = (Param("OutputDimension", positive_int, optional=True),
                  Param("InputDimension", positive_int, optional=True))
    options = (LEARNING_RATE_MULTIPLIERS,)
    array_specs = (ArraySpec("Weights", ("InputDimension", "OutputDimension")),)

    @classmethod
    def build(cls, args: tuple, call: Any) -> Layer:
        # "Input" -> k means k indices: an integer port, not a real one
        port = None
        rest = []
        for a in args:
            if is_rule(a) and a.args[0] == "Input":
                port = a.args[1]
            else:
                rest.append(a)
        layer = super().build(tuple(rest), call)
        if port is None:
            return layer
        try:
            t = port_type_from_spec(port)
        except ValueError as e:
            raise cls.error("invspec", f'Specification for port "Input" is not valid: {e}.') \
                from None
        t = PortType(t.shape, True, t.classes, t.coder)      # an encoder stays on the port
        ports = dict(layer.declared[1])
        ports["Input"] = t
        layer = layer.evolve(ports={**layer.ports, "Input": t},
                             declared=(layer.declared[0], ports))
        return layer.inferred()

    def infer(self, s: Infer) -> None:
        t = s.port_type("Input")
        if t.classes is not None:
            s.set_value("InputDimension", t.classes, '"Input" port')
        n = s.value("InputDimension")
        if t.shape is not None or n is not None:
            s.refine("Input", PortType(t.shape, True, n), 'parameter "InputDimension"')
        x, y = s.port("Input"), s.port("Output")
        if y is not None and len(y) == 0:
            s.fail('the "Output" port must be an array of rank 1 or more (a vector per '
                   'index), not a single number')
        if y is not None and y[-1] is not None:
            s.set_value("OutputDimension", y[-1], '"Output" port')
        size = s.value("OutputDimension")
        if y is not None:   # both ways: a "Varying" length known after the layer comes back
            s.refine("Input", PortType(tuple(y[:-1]), True, n), '"Output" port')
            x = s.port("Input")
        if x is not None:
            s.refine("Output", tuple(x) + (size,), '"Input" port')

    def default_ports(self, s: Infer) -> None:
        """Nothing else said: one index in."""
        if s.port("Input") is None:
            s.refine("Input", PortType((), True, s.value("InputDimension")), "its definition")
            s.refine("Output", (s.value("OutputDimension"),), '"Input" port')

    def lookup_table(self, arrays):
        return "Weights", arrays["Weights"]

    # ---- numerics: x int (dims.., N) -> W[x - 1] moved to (dims.., size, N) -----------------
    def forward(self, ctx, arrays, x):
        w = arrays["Weights"]
        idx = np.asarray(x, np.int64) - 1
        check_batch_size(idx.shape[:-1] + (w.shape[1], idx.shape[-1]), 2 * w.dtype.itemsize,
                         f'the "Output" of {self.name}')     # the rows, then their copy
        rows = w[idx]                                          # (dims.., N, size)
        y = np.ascontiguousarray(np.moveaxis(rows, -1, -2))
        return [y], (idx if ctx.grad else None)

    def backward(self, ctx, arrays, idx, dy):
        w = arrays["Weights"]
        g = np.moveaxis(dy, -2, -1).reshape(-1, w.shape[1])   # (cells, size)
        dw = np.zeros(w.shape, np.float64 if w.dtype == np.float64 else dy.dtype)
        np.add.at(dw, idx.reshape(-1), g)
        return [None], {"Weights": dw.astype(w.dtype, copy=False)}
