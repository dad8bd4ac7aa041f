"""Loss layers: MeanSquaredLossLayer and CrossEntropyLossLayer. "Loss" is a real number per example."""

from __future__ import annotations

from typing import Any

from .base import Infer, Layer, Param
from .shapes import PortType


class LossLayer(Layer):
    inputs = ("Input", "Target")
    outputs = ("Loss",)
    is_loss = True


class MeanSquaredLossLayer(LossLayer):
    name = "MeanSquaredLossLayer"
    summary = "the mean of (Input - Target)^2"

    def infer(self, s: Infer) -> None:
        s.same("Input", "Target")
        s.refine("Loss", PortType(()), "its definition")


def _target_form(x: Any) -> str:
    if x in ("Index", "Probabilities", "Binary"):
        return x
    raise ValueError('expected "Index", "Probabilities" or "Binary"')


class CrossEntropyLossLayer(LossLayer):
    name = "CrossEntropyLossLayer"
    summary = ('-Log of the probability of the target: "Index" (class 1..n), '
               '"Probabilities" or "Binary"')
    positional = (Param("TargetForm", _target_form),)
    hidden = ("Classes",)

    def infer(self, s: Infer) -> None:
        s.refine("Loss", PortType(()), "its definition")
        form = s.value("TargetForm")
        if form != "Index":
            s.same("Input", "Target")
            return
        x, t = s.port("Input"), s.port("Target")
        if x is not None:
            if len(x) == 0:
                s.fail('the "Input" port must be a probability vector (or an array of them)')
            s.set_value("Classes", x[-1], '"Input" port')
            s.refine("Target", PortType(x[:-1], integer=True, classes=s.value("Classes")),
                     '"Input" port')
        elif t is not None:
            s.refine("Input", t + (s.value("Classes"),), '"Target" port')
        s.refine("Target", PortType(s.port("Target"), integer=True), "its definition")
