"""ContrastiveLossLayer[margin]: the loss of a distance that should be small (Target False)
or at least ``margin`` (Target True), as NetPairEmbeddingOperator's training uses it.

Wolfram's definition (reference page and NeuralNetworks paclet): "Input" a real number (a
distance), "Target" True (maximise the distance) or False (minimise it), carried by a
"Boolean" NetEncoder (1 or 0), "Loss" a real number; the positional parameter "Margin"
defaults to 0.5. The loss mixes the two cases by the target t:
    loss = (1 - t) x + t Max[margin - x, 0]
so False gives the distance itself and True a loss only below the margin. Its gradient is
(1 - t) - t [x < margin] for the input and Max[margin - x, 0] - x for the target.
"""

from __future__ import annotations

import numpy as np

from .base import Infer, Param, real_number
from .coders import NetEncoder
from .losses import LossLayer
from .registry import register_layer
from .shapes import PortType


@register_layer
class ContrastiveLossLayer(LossLayer):
    name = "ContrastiveLossLayer"
    summary = "(1 - t) x + t Max[margin - x, 0]: distance x, Target t True (far) or False (near)"
    positional = (Param("Margin", real_number, optional=True, default=0.5),)

    def __init__(self, values, ports, arrays, shared=None):
        target = ports.get("Target")
        if target is not None and target.coder is None and target.shape in (None, ()):
            ports = {**ports, "Target": PortType((), coder=NetEncoder("Boolean"))}
        super().__init__(values, ports, arrays, shared)

    def infer(self, s: Infer) -> None:
        for p in ("Input", "Target", "Loss"):
            s.refine(p, PortType(()), "its definition")

    # ---- numerics: x, t (N,) batch last (the ports are real numbers) -------------------
    def forward(self, ctx, arrays, x, t):
        t = np.asarray(t, x.dtype)
        hinge = np.maximum(x.dtype.type(self.values["Margin"]) - x, 0)
        loss = np.ascontiguousarray((1 - t) * x + t * hinge, dtype=x.dtype)
        return [loss], ((x, t, hinge) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dloss):
        x, t, hinge = cache
        dx = dloss * ((1 - t) - t * (hinge > 0))
        dt = dloss * (hinge - x)
        return [dx.astype(x.dtype, copy=False), dt.astype(x.dtype, copy=False)], {}
