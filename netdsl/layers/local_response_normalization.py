"""LocalResponseNormalizationLayer[]: AlexNet's normalisation across neighbouring channels.

Wolfram's definition (reference page and NeuralNetworks paclet): output T/D with
D_ijk = (Alpha/(2c + 1) Sum[T_xjk^2, {x, Max[1, i - c], Min[N, i + c]}] + Bias)^Beta, where
c is "ChannelWindowSize" and N the number of channels: a window of 2c + 1 channels centred
on each channel, cut at the edges (the sum is still divided by 2c + 1). Options and
defaults: "ChannelWindowSize" -> 2 (a positive integer), "Alpha" -> 1.0, "Beta" -> 0.5,
"Bias" -> 1.0 (real numbers). "Input" and "Output" are rank-3 arrays {channels, height,
width}; 2 c + 1 above the channel count fails Wolfram's validation. No arrays.
This is ONNX's LRN and torch's local_response_norm with size 2 c + 1.
"""

from __future__ import annotations

import numpy as np

from .base import Infer, Layer, Option, positive_int, real_number
from .registry import register_layer


def window_sum(a: np.ndarray, c: int) -> np.ndarray:
    """Sum of ``a`` over the channels i - c .. i + c (axis 0), cut at the edges: one
    shifted add per offset (the window is small), exact in the data's type."""
    out = a.copy()
    for k in range(1, min(c, a.shape[0] - 1) + 1):
        out[k:] += a[:-k]
        out[:-k] += a[k:]
    return out


@register_layer
class LocalResponseNormalizationLayer(Layer):
    name = "LocalResponseNormalizationLayer"
    summary = "divides by (Bias + Alpha/(2c+1) Sum of squares over 2c+1 channels)^Beta"
    options = (Option("ChannelWindowSize", 2, positive_int),
               Option("Alpha", 1.0, real_number),
               Option("Beta", 0.5, real_number),
               Option("Bias", 1.0, real_number))
    hidden = ("Channels",)

    def infer(self, s: Infer) -> None:
        s.same("Input", "Output")
        x = s.port("Input")
        if x is None:
            return
        if len(x) != 3:
            s.fail('the "Input" port must be a rank-3 array {channels, height, width}')
        s.set_value("Channels", x[0], '"Input" port')
        c = s.value("ChannelWindowSize")
        if isinstance(x[0], int) and 2 * c + 1 > x[0]:
            s.fail("2 * channel window size + 1 cannot be larger than the number of channels "
                   "in the input.")

    # ---- numerics: x (C, H, W, N) batch last; the window runs along axis 0 -----------
    def _denominator(self, x: np.ndarray) -> np.ndarray:
        c = self.values["ChannelWindowSize"]
        scale = self.values["Alpha"] / (2 * c + 1)
        return (window_sum(x * x, c) * x.dtype.type(scale) + x.dtype.type(self.values["Bias"]))

    def forward(self, ctx, arrays, x):
        d = self._denominator(x)
        p = np.power(d, x.dtype.type(-self.values["Beta"]))      # D^-Beta
        y = np.ascontiguousarray(x * p, dtype=x.dtype)
        return [y], ((x, d, p) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy):
        # y_i = x_i D_i^-b, D_i = Bias + a Sum_{j in W(i)} x_j^2 (a = Alpha/(2c+1)):
        # dx_j = dy_j D_j^-b - 2 a b x_j Sum_{i in W(j)} dy_i x_i D_i^(-b-1)  (W symmetric)
        x, d, p = cache
        c = self.values["ChannelWindowSize"]
        a = self.values["Alpha"] / (2 * c + 1)
        q = window_sum(dy * x * p / d, c)
        dx = dy * p - x * q * dy.dtype.type(2 * a * self.values["Beta"])
        return [np.ascontiguousarray(dx, dtype=dy.dtype)], {}
