"""LinearLayer: w.x + b, the input flattened to a vector of size InputSize."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import is_integer, is_list, list_items
from .registry import register_layer
from ..expr import Expr, Symbol
from .affine import fold_output_affine
from .base import LEARNING_RATE_MULTIPLIERS, ArraySpec, Infer, Layer, Param
from .shapes import prod


def _output_dims(x: Any) -> tuple:
    if is_integer(x) and x >= 1:
        return (x,)
    if is_list(x):
        items = list_items(x)
        if all(is_integer(i) and i >= 1 for i in items):
            return tuple(items)
    raise ValueError("expected a positive integer, a list of them, or {} for a scalar")


@register_layer
class LinearLayer(Layer):
    name = "LinearLayer"
    summary = "w.x + b; n outputs (inferred when omitted)"
    # Wolfram keeps "OutputDimensions" as a list ({3}, NetExtract's value); InputForm
    # writes LinearLayer[3]
    positional = (Param("OutputDimensions", _output_dims, optional=True,
                        short_display=lambda v: v[0] if len(v) == 1 else Expr(Symbol("List"), *v)),)
    options = (LEARNING_RATE_MULTIPLIERS,)
    hidden = ("OutputSize", "InputSize")
    reads_examples_flat = True     # forward multiplies x as a (InputSize, N) matrix
    array_specs = (
        ArraySpec("Weights", ("OutputSize", "InputSize")),
        ArraySpec("Biases", ("OutputSize",), init="zeros", optional=True),
    )

    def infer(self, s: Infer) -> None:
        y = s.port("Output")
        if y is not None and all(d is not None for d in y):
            s.set_value("OutputDimensions", y, '"Output" port')
        dims = s.value("OutputDimensions")
        if dims is not None:
            s.refine("Output", dims, 'parameter "OutputDimensions"')
            s.set_value("OutputSize", prod(dims), 'parameter "OutputDimensions"')
        elif s.value("OutputSize") is not None and y is None:
            # only the weights are known: a vector output of that size
            s.set_value("OutputDimensions", (s.value("OutputSize"),), 'array "Weights"')
            s.refine("Output", s.value("OutputDimensions"), 'array "Weights"')
        x = s.port("Input")     # "Input" -> "Real" (rank 0) is one number: InputSize 1
        if x is not None and all(d is not None for d in x):
            s.set_value("InputSize", prod(x), '"Input" port')
        n = s.value("InputSize")
        if x is not None and n is not None and len(x) == 1:
            s.refine("Input", (n,), 'parameter "InputSize"')

    # ---- numerics: x (input dims.., N) is a (InputSize, N) matrix; y = W x + b ----------
    def forward(self, ctx, arrays, x):
        n = x.shape[-1]
        w = arrays["Weights"].astype(x.dtype, copy=False)
        x2 = x.reshape(w.shape[1], n)
        y = np.matmul(w, x2)
        b = arrays.get("Biases")
        if b is not None:
            y += b[:, None]
        y = y.reshape(tuple(self.ports["Output"].shape) + (n,))    # () -> a scalar per example
        return [y], ((x2, x.shape) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy):
        x2, xshape = cache
        w = arrays["Weights"]
        dy2 = dy.reshape(w.shape[0], x2.shape[1])
        grads = {"Weights": np.matmul(dy2, x2.T).astype(w.dtype, copy=False)}
        if "Biases" in arrays:
            grads["Biases"] = dy2.sum(axis=1).astype(arrays["Biases"].dtype, copy=False)
        if not getattr(ctx, "need_dx", True):
            return [None], grads
        dx = np.matmul(w.astype(dy.dtype, copy=False).T, dy2).reshape(xshape)
        return [dx], grads

    fresh_output = True

    @classmethod
    def from_shorthand(cls, x: Any) -> Layer | None:
        """In a container, an integer n is LinearLayer[n]."""
        if is_integer(x) and x >= 1:
            return cls.build((x,), Expr(Symbol(cls.name), x))
        return None

    def fold_affine(self, arrays, scale, shift):
        return fold_output_affine(arrays, scale, shift)

    def default_ports(self, s: Infer) -> None:
        """After inference: a layer with known weights takes a vector if nothing else says."""
        if s.port("Input") is None and s.value("InputSize") is not None:
            s.refine("Input", (s.value("InputSize"),), 'parameter "InputSize"')


@register_layer
class DotPlusLayer(LinearLayer):
    """The name LinearLayer had before Wolfram 11.1; the same layer."""

    name = "DotPlusLayer"
    summary = "the old name of LinearLayer: w.x + b"

    @classmethod
    def from_shorthand(cls, x: Any) -> Layer | None:
        return None
