"""MeanAbsoluteLossLayer[]: the mean of Abs[Input - Target], one number per example (the L1
loss). Wolfram's definition: "Input" and "Target" of the same dimensions (any rank, a
"Varying" length allowed), "Loss" a real number. NetTrain attaches it only when asked
(``LossFunction -> MeanAbsoluteLossLayer[]``); its automatic loss stays MeanSquaredLossLayer."""

from __future__ import annotations

import numpy as np

from .base import Infer
from .losses import LossLayer, _per_example_mean
from .registry import register_layer
from .shapes import PortType


@register_layer
class MeanAbsoluteLossLayer(LossLayer):
    name = "MeanAbsoluteLossLayer"
    summary = "the mean of Abs[Input - Target]"

    def infer(self, s: Infer) -> None:
        s.same("Input", "Target")
        s.refine("Loss", PortType(()), "its definition")

    # ---- numerics: x, t (dims.., N); loss (N,) = mean over dims of |x - t| ---------------
    # The derivative is Sign[x - t]/m (0 where x = t, the subgradient torch and MXNet use).
    def forward(self, ctx, arrays, x, t):
        diff = np.subtract(x, t, dtype=x.dtype)
        return [_per_example_mean(np.abs(diff))], (np.sign(diff) if ctx.grad else None)

    def backward(self, ctx, arrays, sign, dloss):
        m = sign.size // sign.shape[-1]
        dx = sign * (dloss * (1.0 / m)).astype(sign.dtype)
        return [dx, -dx], {}
