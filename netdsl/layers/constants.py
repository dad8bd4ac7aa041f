"""Layers holding one learned array of the data's shape: ConstantTimesLayer (x * "Scaling"),
ConstantPlusLayer (x + "Biases") and ConstantArrayLayer / NetArrayLayer (no input: the
array "Array" itself, for every example)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import Expr, S, is_list, is_rule
from .base import LEARNING_RATE_MULTIPLIERS, ArraySpec, Infer, Layer, check_batch_size
from .registry import register_layer


class InputShapedArrayLayer(Layer):
    """A layer with one learned array ``array_name`` of its input's dimensions ({1} for a
    scalar input), applied elementwise: the shape rule of ConstantTimes/ConstantPlus and
    ParametricRamp."""

    hidden = ("Dimensions", "ArrayDimensions")
    options = (LEARNING_RATE_MULTIPLIERS,)
    array_name = ""

    def infer(self, s: Infer) -> None:
        s.same("Input", "Output")
        x = s.port("Input")
        if x is not None and None not in x:
            s.set_value("Dimensions", tuple(x), '"Input" port')
            s.set_value("ArrayDimensions", tuple(x) if x else (1,), '"Input" port')
        a = s.value("ArrayDimensions")
        if a is not None and None not in a and s.value("Dimensions") is None and a != (1,):
            s.set_value("Dimensions", a, f'array "{self.array_name}"')
        d = s.value("Dimensions")
        if d is not None:
            s.refine("Input", tuple(d), f'array "{self.array_name}"')

    def _array(self, arrays, x):
        return arrays[self.array_name].astype(x.dtype, copy=False).reshape(x.shape[:-1] + (1,))


@register_layer
class ConstantTimesLayer(InputShapedArrayLayer):
    name = "ConstantTimesLayer"
    summary = 'multiplies the input elementwise by a learned array "Scaling" of its shape'
    array_specs = (ArraySpec("Scaling", ("*ArrayDimensions",), init="ones"),)
    array_name = "Scaling"

    def forward(self, ctx, arrays, x):
        return [x * self._array(arrays, x)], (x if ctx.grad else None)

    def backward(self, ctx, arrays, x, dy):
        a = arrays["Scaling"]
        grads = {"Scaling": np.einsum("...n,...n->...", dy, x).reshape(a.shape).astype(
            a.dtype, copy=False)}
        return [dy * self._array(arrays, dy)], grads


@register_layer
class ConstantPlusLayer(InputShapedArrayLayer):
    name = "ConstantPlusLayer"
    summary = 'adds a learned array "Biases" of the input\'s shape to the input'
    array_specs = (ArraySpec("Biases", ("*ArrayDimensions",), init="zeros"),)
    array_name = "Biases"

    def forward(self, ctx, arrays, x):
        return [x + self._array(arrays, x)], None

    def backward(self, ctx, arrays, cache, dy):
        a = arrays["Biases"]
        return [dy], {"Biases": dy.sum(axis=-1).reshape(a.shape).astype(a.dtype, copy=False)}


@register_layer
class ConstantArrayLayer(Layer):
    name = "ConstantArrayLayer"
    summary = 'no input; outputs its learned array "Array" (ConstantArrayLayer["Output" -> dims])'
    inputs = ()
    hidden = ("Dimensions",)
    options = (LEARNING_RATE_MULTIPLIERS,)
    array_specs = (ArraySpec("Array", ("*Dimensions",)),)

    @classmethod
    def build(cls, args: tuple, call: Any) -> Layer:
        # ConstantArrayLayer[array] is ConstantArrayLayer["Array" -> array]
        if args and not is_rule(args[0]) and is_list(args[0]):
            args = (Expr(S("Rule"), "Array", args[0]),) + tuple(args[1:])
        return super().build(args, call)

    def infer(self, s: Infer) -> None:
        y = s.port("Output")
        if y is not None and None not in y:
            s.set_value("Dimensions", tuple(y), '"Output" port')
        d = s.value("Dimensions")
        if d is not None:
            s.refine("Output", tuple(d), 'array "Array"')

    # ---- numerics: the array repeated along the batch axis; its gradient sums over it -----
    def forward(self, ctx, arrays):
        a = arrays["Array"]
        n = getattr(ctx, "batch", 1)
        dtype = np.float32 if a.dtype != np.float64 else np.float64
        check_batch_size(a.shape + (n,), np.dtype(dtype).itemsize, f'the "Output" of {self.name}')
        y = np.empty(a.shape + (n,), dtype)
        y[...] = a[..., None]
        return [y], None

    def backward(self, ctx, arrays, cache, dy):
        a = arrays["Array"]
        return [], {"Array": dy.sum(axis=-1).astype(a.dtype, copy=False)}


@register_layer
class NetArrayLayer(ConstantArrayLayer):
    """The newer name of ConstantArrayLayer (Wolfram 13.1)."""

    name = "NetArrayLayer"
