"""ElementwiseLayer: a function applied to every element (Ramp, Tanh, "ELU", Max[#, 0.1 #] &)."""

from __future__ import annotations

from typing import Any

from .base import Infer, Layer, Param
from .functions import FunctionError, Program, compile_function


def _function(f: Any) -> Program:
    try:
        return compile_function(f, 1)
    except FunctionError as e:
        raise ValueError(str(e)) from None


class ElementwiseLayer(Layer):
    name = "ElementwiseLayer"
    summary = "applies f to every element: Ramp, Tanh, LogisticSigmoid, \"ELU\", Max[#, 0.1 #] &, ..."
    positional = (Param("Function", _function),)

    def infer(self, s: Infer) -> None:
        s.same("Input", "Output")
