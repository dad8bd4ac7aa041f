"""DeconvolutionLayer: the transpose of ConvolutionLayer (a "transposed convolution").

Wolfram's layout: "Weights" is {InputChannels, OutputChannels/ChannelGroups, k1, ..., kd}
(input channels first, as the gradient of a convolution whose weights are
{out, in, k...}), "Biases" {OutputChannels}. Each spatial output size is
Stride (n - 1) + k - (before + after padding). "PaddingSize" crops the output.
"""

from __future__ import annotations

from math import prod
from typing import Any

import numpy as np

from ..expr import S, among
from .base import (LEARNING_RATE_MULTIPLIERS, ArraySpec, Infer, Layer, Option, Param, boolean,
                   check_batch_size, int_tuple, positive_int)
from .conv import exported_window_value
from .registry import register_layer
from .spatial import SAME, padding_spec, per_dim, resolve_padding
from .windows import (Geometry, blocked_matmul, col2im, compiled_shifted, crop, im2col, pad,
                      shared, team_parts)


def _kernel(x: Any) -> Any:
    if isinstance(x, int) and not isinstance(x, bool) and x >= 1:
        return x
    return int_tuple()(x)


def _padding(x: Any) -> Any:
    v = padding_spec(x)
    if v == SAME:
        raise ValueError('"Same" is not a padding of DeconvolutionLayer; give sizes')
    return v


def _no_interleaving(x: Any) -> bool:
    if boolean(x):
        raise ValueError("Interleaving -> True (channels last) is not supported by netdsl")
    return False


def _dimensionality(x: Any) -> Any:
    if x is S("Automatic"):
        return None
    if among(x, (1, 2, 3)):
        return x
    raise ValueError("expected 1, 2, 3 or Automatic")


@register_layer
class DeconvolutionLayer(Layer):
    name = "DeconvolutionLayer"
    summary = "transposed convolution: n output channels, kernel {kh, kw}; upsamples by Stride"
    positional = (Param("OutputChannels", positive_int), Param("KernelSize", _kernel))
    options = (
        Option("Stride", 1, int_tuple()),
        Option("PaddingSize", 0, _padding),
        Option("ChannelGroups", 1, positive_int),
        Option("Dimensionality", None, _dimensionality),
        Option("Interleaving", False, _no_interleaving, shown=False),
        LEARNING_RATE_MULTIPLIERS,
    )
    hidden = ("InputChannels", "WeightsOutputChannels")
    fresh_output = True
    array_specs = (
        ArraySpec("Weights", ("InputChannels", "WeightsOutputChannels", "*KernelSize")),
        ArraySpec("Biases", ("OutputChannels",), init="zeros", optional=True),
    )

    def exported_value(self, name: str) -> Any:
        """"Stride" and "PaddingSize" per spatial dimension once the dimensionality is known,
        as a convolution's ({2, 2} for "Stride" -> 2)."""
        v = exported_window_value(self, name)
        return super().exported_value(name) if v is None else v

    def infer(self, s: Infer) -> None:
        kernel = s.value("KernelSize")
        d = s.value("Dimensionality")
        if isinstance(kernel, tuple):
            s.set_value("Dimensionality", len(kernel), 'parameter "KernelSize"')
            d = len(kernel)
        x, y = s.port("Input"), s.port("Output")
        if d is None:
            rank = len(x) if x is not None else len(y) if y is not None else None
            if rank is not None:
                if not 2 <= rank <= 4:
                    s.fail("the input must have a channel dimension and 1 to 3 spatial "
                           "dimensions")
                d = rank - 1
                s.set_value("Dimensionality", d, '"Input" port')
        g = s.value("ChannelGroups")
        n = s.value("OutputChannels")
        if n % g:
            s.fail(f'the number of output channels ({n}) must be divisible by "ChannelGroups" '
                   f"({g})")
        s.set_value("WeightsOutputChannels", n // g, 'parameter "OutputChannels"')
        if x is not None and x[0] is not None:
            s.set_value("InputChannels", x[0], '"Input" port')
        c = s.value("InputChannels")
        if c is not None and c % g:
            s.fail(f'the number of input channels ({c}) must be divisible by "ChannelGroups" '
                   f"({g})")
        if d is None:
            return
        if isinstance(kernel, int):
            kernel = (kernel,) * d
            s.normalize("KernelSize", kernel)
        s.refine("Input", (c,) + (None,) * d, 'parameter "InputChannels"')
        s.refine("Output", (n,) + (None,) * d, 'parameter "OutputChannels"')
        try:
            stride = per_dim(s.value("Stride"), d, "Stride")
            pads = resolve_padding(s.value("PaddingSize"), d, (None,) * d, kernel, stride,
                                   (1,) * d)
        except ValueError as e:
            s.fail(str(e))
            return
        x, y = s.port("Input"), s.port("Output")
        out, back = [], []
        for axis, (ni, no, k, st, (b, a)) in enumerate(zip(x[1:], y[1:], kernel, stride, pads), 1):
            size = None if ni is None else st * (ni - 1) + k - b - a
            if size is not None and size < 1:
                s.fail(f"output dimensions cannot be smaller than 1: along spatial dimension "
                       f"{axis}, {st} ({ni} - 1) + {k} - {b + a} = {size}")
            out.append(size)
            # backward: n = (o - k + b + a) / stride + 1 when it divides
            if no is not None and (no - k + b + a) % st == 0 and (no - k + b + a) // st + 1 >= 1:
                back.append((no - k + b + a) // st + 1)
            else:
                back.append(None)
        s.refine("Output", (None, *out), '"Input" port')
        s.refine("Input", (None, *back), '"Output" port')

    def geometry(self, in_sizes: tuple) -> Geometry:
        """The convolution this layer is the transpose of: its input is our output."""
        d = len(in_sizes)
        kernel = per_dim(self.values["KernelSize"], d, "KernelSize")
        stride = per_dim(self.values["Stride"], d, "Stride")
        pads = resolve_padding(self.values["PaddingSize"], d, (None,) * d, kernel, stride,
                               (1,) * d)
        out = tuple(st * (n - 1) + k - b - a for n, k, st, (b, a) in
                    zip(in_sizes, kernel, stride, pads))
        return Geometry(out, tuple(kernel), tuple(stride), (1,) * d, tuple(pads),
                        tuple(in_sizes))

    # ---- numerics: data (C, S.., N), weights (C, F/G, k..). Forward is one GEMM
    # W^T x giving columns (F, k.., S.., N), then col2im (one slice add per kernel offset)
    # into the padded output, cropped: exactly the backward pass of a convolution. ---------
    def forward(self, ctx, arrays, x):
        g = self.geometry(x.shape[1:-1])
        c, n = x.shape[0], x.shape[-1]
        groups = self.values["ChannelGroups"]
        w = arrays["Weights"].astype(x.dtype, copy=False)
        fg = w.shape[1]
        check_batch_size((fg * groups,) + g.padded + (n,), x.dtype.itemsize,
                         f'the uncropped "Output" of {self.name}')
        b = arrays.get("Biases")
        fast = self._untiled(ctx, x, w, b, g, groups)
        if fast is not None:
            return [fast], ((x, g) if ctx.grad else None)
        p = prod(g.out) * n
        w3 = w.reshape(groups, c // groups, -1)                     # (G, C/G, F/G k)
        x3 = x.reshape(groups, c // groups, p)
        cols = _per_group(lambda a, b: blocked_matmul(a.T, b), w3, x3)   # (G, F/G k, S N)
        f = fg * groups
        cols = cols.reshape((f,) + g.kernel + g.out + (n,))
        bias = None if b is None else b.astype(x.dtype, copy=False).reshape(
            (f,) + (1,) * (cols.ndim - 1))
        if g.kernel == g.stride and not g.has_padding:
            y = _untile(cols, bias)
        else:
            y = crop(col2im(cols, g, x.dtype), g)
            if bias is not None:
                y += bias.reshape((f,) + (1,) * (y.ndim - 1))
        return [y], ((x, g) if ctx.grad else None)

    @staticmethod
    def _untiled(ctx, x, w, b, g, groups):
        """The 2-D stride = kernel case (a U-Net's up-sampling) from one compiled loop
        (shifted_gemm.untiled: a GEMM per input row, its tiles written out with the bias
        while in cache), or None: 32 -> 16 channels, 16x16 -> 32x32, batch 8, 1 thread:
        196 -> 116 us. Equal to the NumPy path to float32 rounding (a GEMM of one row's
        columns may order a sum's last products differently)."""
        if (groups != 1 or len(g.kernel) != 2 or g.kernel != g.stride or g.has_padding
                or x.dtype != np.float32):
            return None
        fast = compiled_shifted(x.dtype)
        if fast is None:
            return None
        c, n = x.shape[0], x.shape[-1]
        f = w.shape[1]
        k = prod(g.kernel)
        wt = np.ascontiguousarray(w.reshape(c, f * k).T)
        bias = np.zeros(0, x.dtype) if b is None else np.ascontiguousarray(b, x.dtype)
        y = np.empty((f, g.out[0] * g.kernel[0], g.out[1] * g.kernel[1], n), x.dtype)
        shared(fast.untiled, (fast.SGEMM, wt, np.ascontiguousarray(x), bias, y), g.out[0],
               team_parts(ctx, y.size))
        return y

    def backward(self, ctx, arrays, cache, dy):
        x, g = cache
        c, n = x.shape[0], x.shape[-1]
        groups = self.values["ChannelGroups"]
        w = arrays["Weights"]
        f = dy.shape[0]
        p = prod(g.out) * n
        dcols = im2col(pad(dy, g, 0.0), g)                          # (F, k.., S.., N)
        d3 = dcols.reshape(groups, -1, p)                           # (G, F/G k, S N)
        x3 = x.reshape(groups, c // groups, p)
        dw = _per_group(lambda a, b: a @ b.T, x3, d3)               # (G, C/G, F/G k)
        grads = {"Weights": dw.reshape(w.shape).astype(w.dtype, copy=False)}
        if "Biases" in arrays:
            grads["Biases"] = dy.reshape(f, -1).sum(axis=1).astype(arrays["Biases"].dtype,
                                                                  copy=False)
        if not getattr(ctx, "need_dx", True):
            return [None], grads
        w3 = w.astype(dy.dtype, copy=False).reshape(groups, c // groups, -1)
        dx = _per_group(lambda a, b: a @ b, w3, d3).reshape(x.shape)
        return [dx], grads


def _untile(cols: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """Output (F, S1 k1, .., Sd kd, N) from columns (F, k.., S.., N) when the stride
    equals the kernel (no padding): the windows tile the output without overlapping, so
    it is one transposing copy (plus the bias in the same pass), not col2im's zero fill
    and prod(k) slice additions."""
    d = (cols.ndim - 2) // 2
    f, n = cols.shape[0], cols.shape[-1]
    kernel, sizes = cols.shape[1:1 + d], cols.shape[1 + d:1 + 2 * d]
    order = (0,) + tuple(a for i in range(d) for a in (1 + d + i, 1 + i)) + (2 * d + 1,)
    y = np.empty((f,) + tuple(v for s, k in zip(sizes, kernel) for v in (s, k)) + (n,),
                 cols.dtype)
    src = cols.transpose(order)
    if bias is None:
        np.copyto(y, src)
    else:
        np.add(src, bias, out=y)
    return y.reshape((f,) + tuple(s * k for s, k in zip(sizes, kernel)) + (n,))


def _per_group(product, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One 2-D GEMM per channel group, stacked. (A batched np.matmul with a transposed
    operand measured up to 10x slower than the 2-D products here; groups are few.)"""
    if a.shape[0] == 1:
        return product(a[0], b[0])[None]
    return np.stack([product(ai, bi) for ai, bi in zip(a, b)])
