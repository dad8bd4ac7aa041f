"""ConvolutionLayer and PoolingLayer: channel-first windows over 1, 2 or 3 spatial dimensions."""

from __future__ import annotations

import itertools
import math
from math import prod
from typing import Any

import numpy as np

from ..expr import Expr, S, among
from .affine import fold_output_affine
from .base import (LEARNING_RATE_MULTIPLIERS, ArraySpec, Infer, Layer, Option, Param, boolean,
                   int_tuple, positive_int)
from .registry import register_layer
from .shapes import shape_words
from .spatial import SAME, explain_empty, output_size, padding_spec, per_dim, resolve_padding
from .functions import ramp_in_place
from .windows import (Geometry, blocked_matmul, col2im, compiled_shifted, conv_input_grad,
                      conv_rows, conv_shifted, crop, geometry, im2col, joined, one_copy_columns, pad,
                      pool_max, pool_max_backward, pool_sum, pool_sum_backward, scratch,
                      shifted_applies, shifted_weight_grad, small_columns, team_parts)


def _no_interleaving(x: Any) -> bool:
    if boolean(x):
        raise ValueError("Interleaving -> True (channels last) is not supported by netdsl; "
                         "inputs are channel-first")
    return False


def _dimensionality(x: Any) -> Any:
    if x is S("Automatic"):
        return None
    if among(x, (1, 2, 3)):
        return x
    raise ValueError("expected 1, 2, 3 or Automatic")


class _Windowed(Layer):
    """What convolution and pooling share: kernel, stride, padding, dilation over spatial dims."""

    window_kind = "window"

    def exported_value(self, name: str) -> Any:
        v = exported_window_value(self, name)
        return super().exported_value(name) if v is None else v

    def spatial_rule(self, s: Infer, channels_out_param: str | None) -> None:
        kernel = s.value("KernelSize")
        d = s.value("Dimensionality")
        if isinstance(kernel, tuple):
            s.set_value("Dimensionality", len(kernel), 'parameter "KernelSize"')
            d = len(kernel)
        x, y = s.port("Input"), s.port("Output")
        if d is None:
            rank = len(x) if x is not None else len(y) if y is not None else None
            if rank is not None:
                if rank < 2:
                    port, words = ("input", _words(x)) if x is not None else \
                        ("output", _words(y))
                    s.fail(f"the {port} must have a channel dimension and 1 to 3 spatial "
                           f"dimensions, but it is {'an' if words[0] in 'aeiou' else 'a'} "
                           f"{words}")
                d = rank - 1
                s.set_value("Dimensionality", d, '"Input" port')
        if d is None:
            return
        if not 1 <= d <= 3:
            s.fail(f"only 1, 2 or 3 spatial dimensions are supported, not {d}")
        if isinstance(kernel, int):  # ConvolutionLayer[n, 3] on a 2-D input: a 3x3 kernel
            kernel = (kernel,) * d
            s.normalize("KernelSize", kernel)
        for name in ("Stride", "Dilation"):   # 2 or {2} as {2, 2}: what NetExtract gives,
            v = s.value(name)                 # so that it builds the same layer again
            if isinstance(v, int) or isinstance(v, tuple) and len(v) == 1 and d > 1:
                s.normalize(name, (v if isinstance(v, int) else v[0],) * d)
        s.refine("Input", (None,) * (d + 1), "the layer's dimensionality")
        s.refine("Output", (None,) * (d + 1), "the layer's dimensionality")
        x = s.port("Input")
        if kernel is None:
            return
        try:
            stride = per_dim(s.value("Stride"), d, "Stride")
            dilation = per_dim(s.value("Dilation"), d, "Dilation")
            pads = resolve_padding(s.value("PaddingSize"), d, x[1:], kernel, stride, dilation)
        except ValueError as e:
            s.fail(str(e))
            return
        out: list[int | None] = []
        for axis, (n, k, st, dl, p) in enumerate(zip(x[1:], kernel, stride, dilation, pads), 1):
            if n is None:
                out.append(None)
                continue
            size = output_size(n, k, st, dl, *p)
            if size < 1:
                s.fail(explain_empty(self.window_kind, axis, n, k, st, dl, p))
            out.append(size)
        s.refine("Output", (None, *out), '"Input" port')
        self._input_from_output(s, kernel, stride, dilation)
        if channels_out_param is None:  # pooling: channels pass through
            s.refine("Output", (x[0],) + (None,) * d, '"Input" port')
            s.refine("Input", (s.port("Output")[0],) + (None,) * d, '"Output" port')

    def _input_from_output(self, s: Infer, kernel: tuple, stride: tuple, dilation: tuple) -> None:
        """Backward: with stride 1 the output size determines the input size,
        n = o - 1 + (dilation (k - 1) + 1) - padding; with a larger stride several input
        sizes give the same output, so nothing is inferred."""
        x, y = s.port("Input"), s.port("Output")
        if y is None:
            return
        padding = s.value("PaddingSize")
        sizes = []
        for axis, (n, o, k, st, dl) in enumerate(zip(x[1:], y[1:], kernel, stride, dilation), 1):
            if n is None and o is not None and st == 1:
                if padding == SAME:
                    n = o
                else:
                    b, a = resolve_padding(padding, len(kernel), (None,) * len(kernel), kernel,
                                           stride, dilation)[axis - 1]
                    span = dl * (k - 1) + 1
                    n = o - 1 + span - b - a
                    if n < 1:
                        s.fail(f"no input gives an output of size {o} along spatial dimension "
                               f"{axis}: the {self.window_kind} window of size {span} with "
                               f"padding {b}+{a} would need an input of size "
                               f"{o} - 1 + {span} - {b + a} = {n}")
            sizes.append(n)
        s.refine("Input", (None, *sizes), '"Output" port')


def exported_window_value(layer: Layer, name: str) -> Any:
    """Stride, Dilation, KernelSize and PaddingSize per spatial dimension, as Wolfram's
    NetExtract gives them once the dimensionality is known: {1, 1} and {{0, 0}, {0, 0}}."""
    d = layer.values.get("Dimensionality")
    if d is None or name not in ("Stride", "Dilation", "KernelSize", "PaddingSize"):
        return None
    v = layer.values.get(name)
    if v is None:
        return None
    if name == "PaddingSize":
        x = layer.ports["Input"].shape
        sizes = tuple(x[1:]) if x is not None and len(x) == d + 1 else (None,) * d
        kernel = per_dim(layer.values["KernelSize"], d, "KernelSize")
        pads = resolve_padding(v, d, sizes, kernel, per_dim(layer.values.get("Stride", 1), d,
                               "Stride"), per_dim(layer.values.get("Dilation") or 1, d,
                                                  "Dilation"))
        if any(b is None for b, _ in pads):
            return None
        return Expr(S("List"), *[Expr(S("List"), b, a) for b, a in pads])
    return Expr(S("List"), *per_dim(v, d, name))


def _kernel(x: Any) -> Any:
    """n (its dimensionality comes from the input) or {k1, ...} (fixes the dimensionality)."""
    if isinstance(x, int) and not isinstance(x, bool) and x >= 1:
        return x
    return int_tuple()(x)


def _words(shape):
    return shape_words(shape)


@register_layer
class ConvolutionLayer(_Windowed):
    name = "ConvolutionLayer"
    summary = "n filters of size {kh, kw} over a channel-first {c, h, w} input"
    window_kind = "convolution"
    positional = (Param("OutputChannels", positive_int), Param("KernelSize", _kernel))
    options = (
        Option("Stride", 1, int_tuple()),
        Option("PaddingSize", 0, padding_spec),
        Option("Dilation", 1, int_tuple()),
        Option("ChannelGroups", 1, positive_int),
        Option("Dimensionality", None, _dimensionality),
        Option("Interleaving", False, _no_interleaving, shown=False),
        LEARNING_RATE_MULTIPLIERS,
    )
    hidden = ("InputChannels", "GroupChannels")
    fresh_output = True
    reads_channel_parts = True     # forward takes windows.ChannelParts (fusion rule 9)
    array_specs = (
        ArraySpec("Weights", ("OutputChannels", "GroupChannels", "*KernelSize")),
        ArraySpec("Biases", ("OutputChannels",), init="zeros", optional=True),
    )

    def infer(self, s: Infer) -> None:
        self.spatial_rule(s, "OutputChannels")
        x, y = s.port("Input"), s.port("Output")
        if y is not None:
            s.set_value("OutputChannels", y[0], '"Output" port')
        n = s.value("OutputChannels")
        if y is not None and n is not None:
            s.refine("Output", (n,) + y[1:], 'parameter "OutputChannels"')
        g = s.value("ChannelGroups")
        if x is not None and x[0] is not None:
            s.set_value("InputChannels", x[0], '"Input" port')
        c, cg = s.value("InputChannels"), s.value("GroupChannels")
        if c is not None:
            if c % g:
                s.fail(f"the number of input channels ({c}) must be divisible by "
                       f"\"ChannelGroups\" ({g})")
            s.set_value("GroupChannels", c // g, 'parameter "InputChannels"')
        elif cg is not None:
            s.set_value("InputChannels", cg * g, 'array "Weights"')
        c = s.value("InputChannels")
        if x is not None and c is not None:
            s.refine("Input", (c,) + x[1:], 'parameter "InputChannels"')
        if n is not None and n % g:
            s.fail(f"the number of output channels ({n}) must be divisible by "
                   f"\"ChannelGroups\" ({g})")

    # ---- numerics: data (C, S1..Sd, N), weights (F, C/G, k1..kd) ----------------------
    # Forward is im2col + one GEMM: columns (C, k1..kd, O1..Od, N) built by prod(k) strided
    # slice copies, then W(F, C k) @ cols(C k, O N) is the output (F, O1..Od, N) directly.
    # ChannelGroups G: the same as G independent GEMMs, done by one batched matmul.
    output_ramp = False     # set on the copy ``fused_with_ramp`` makes

    def fused_with_ramp(self):
        """This convolution with Max[., 0] on its output (rule 10): the compiled shifted
        GEMMs and Winograd take it while each output block is in cache (the U-Net's two
        ReLUs after them: ~35 us of a lane's 1.4 ms), the other paths after the bias. In
        training it keeps its output, and backward first zeroes dY where the output is
        not > 0 (the Ramp's derivative, 0 at 0 and at NaN, from the output as from the
        input): the Ramp's own pass forward and its mask and product backward are saved
        (~150 us a Ramp in the U-Net's training step)."""
        ramped = self.evolve()
        ramped.output_ramp = True
        return ramped

    def forward(self, ctx, arrays, x):
        y, cols, g = self.convolve(ctx, arrays, x, arrays.get("Biases"), self.output_ramp)
        return [y], ((cols, g, x.shape, y if self.output_ramp else None)
                     if ctx.grad else None)

    def convolve(self, ctx, arrays, x, bias=None, ramp=False):
        """The convolution plus ``bias`` (none: without it, as the executor's fusion rules
        call it: max-pooling before the bias, runtime/fusion.py), then with ``ramp``
        Max[., 0]: (y, columns, geometry)."""
        y, cols, g, done = self._convolve(ctx, arrays, x, bias, ramp)
        if not done:
            if bias is not None:
                y += bias.reshape((y.shape[0],) + (1,) * (len(g.out) + 1))
            if ramp:
                ramp_in_place(y)
        return y, cols, g

    def _convolve(self, ctx, arrays, x, bias, ramp=False):
        """(y, columns, geometry, whether ``bias`` and ``ramp`` are in y already):
        conv_shifted applies them while each output block is in cache, instead of more
        passes over y. ``x`` may be ChannelParts (``reads_channel_parts``)."""
        g = geometry(self.values, x.shape[1:-1])
        c, n = x.shape[0], x.shape[-1]
        groups = self.values.get("ChannelGroups") or 1
        w = arrays["Weights"].astype(x.dtype, copy=False)
        f = w.shape[0]
        keep = bool(ctx.grad)          # the columns are needed again by backward
        if groups == 1 and shifted_applies(g, c, n, x.dtype):
            if not keep:
                return conv_shifted(ctx, x, w, g, bias=bias, ramp=ramp), None, g, True
            if c >= _SHIFTED_TRAIN_CHANNEL_RATIO * f or compiled_shifted(x.dtype):
                # training: the padded input is kept instead of the columns (backward
                # takes dW from it by shifted GEMMs). Measured (one thread): for
                # 32 -> 16 channels on 32x32, batch 16, this forward + dW is 6.2 ms
                # against im2col's 8.7; 16 -> 16 ties (9.8 ms, batch 32); for 16 -> 32
                # on 16x16 im2col + (cols dY^T) is faster (1.2 against 2.1 ms) unless
                # the GEMMs are the compiled ones (compiled/shifted_gemm.py), which win
                # for every channel ratio (the U-Net's training step 12.1 -> 11.2 ms).
                y, buf = conv_shifted(ctx, x, w, g, keep=True, bias=bias, ramp=ramp)
                return y, _Shifted(buf), g, True
        if not keep and groups == 1:
            y = conv_rows(ctx, x, w, g, bias, ramp)
            if y is not None:
                return y, None, g, True
        x = joined(x)                  # ChannelParts (rule 9): joined for im2col
        cols = None if keep else small_columns(ctx, x, g)
        p = prod(g.out) * n
        if cols is None:
            xp = pad(x, g, 0.0, ctx, reuse=not keep)
            buf = None if keep else scratch(ctx, "cols", (c,) + g.kernel + g.out + (n,),
                                            x.dtype)
            cols = im2col(xp, g, buf)
        if groups == 1:       # the bias and Ramp in the compiled loop too, where it runs
            y = blocked_matmul(w.reshape(f, -1), cols.reshape(-1, p), bias, ramp,
                               team_parts(ctx, f * p))
            return y.reshape((f,) + g.out + (n,)), cols, g, True
        y = np.matmul(w.reshape(groups, f // groups, -1), cols.reshape(groups, -1, p))
        return y.reshape((f,) + g.out + (n,)), cols, g, False

    def backward(self, ctx, arrays, cache, dy):
        cols, g, xshape, ramped = cache
        if ramped is not None:            # Max[., 0] was taken in forward (rule 10)
            # the Ramp's derivative as the unfused Ramp applies it (a NaN in dY stays
            # NaN); np.where here mispredicts a branch per number: 527 against 39 us
            # for 131,072 float32 with a random mask
            dy = dy * (ramped > 0)
        c, n = xshape[0], xshape[-1]
        groups = self.values.get("ChannelGroups") or 1
        w = arrays["Weights"]
        f = w.shape[0]
        p = prod(g.out) * n
        dy3 = dy.reshape(groups, f // groups, p)
        if isinstance(cols, _Shifted):
            dw = shifted_weight_grad(cols.buffer, dy, g, team_parts(ctx, dy.size))
        else:
            # dW = dY cols^T per group. Measured here: (cols dY^T)^T is faster than
            # dY cols^T (up to 1.5x, performance.md item 6); blocking the long inner
            # dimension P gave no gain on this machine's OpenBLAS: one batched GEMM.
            cols3 = cols.reshape(groups, -1, p)
            dw = np.matmul(cols3, dy3.transpose(0, 2, 1)).transpose(0, 2, 1)
        grads = {"Weights": dw.reshape(w.shape).astype(w.dtype, copy=False)}
        if "Biases" in arrays:
            grads["Biases"] = dy.reshape(f, -1).sum(axis=1).astype(arrays["Biases"].dtype,
                                                                  copy=False)
        if not getattr(ctx, "need_dx", True):                # e.g. the net's first layer
            return [None], grads
        if groups == 1:
            dx = conv_input_grad(ctx, dy, w, g)             # a convolution of dY itself
            if dx is not None:
                return [dx], grads
        w3 = w.astype(dy.dtype, copy=False).reshape(groups, f // groups, -1)
        dcols = np.matmul(w3.transpose(0, 2, 1), dy3)       # (G, C/G k, P) = (C, k.., O.., N)
        dxp = col2im(dcols.reshape((c,) + g.kernel + g.out + (n,)), g, dy.dtype)
        return [crop(dxp, g)], grads


    def fold_affine(self, arrays, scale, shift):
        return fold_output_affine(arrays, scale, shift)

    def absorb_padding(self, pads):
        """Zero padding of the spatial levels before a convolution is more of its own
        "PaddingSize" (its padded buffer is filled anyway): the same layer, wider padding."""
        x = self.ports["Input"].shape
        if x is None or None in x or len(pads) != len(x) or pads[0] != (0, 0):
            return None
        d = len(x) - 1
        kernel = per_dim(self.values["KernelSize"], d, "KernelSize")
        own = resolve_padding(self.values.get("PaddingSize", 0), d, tuple(x[1:]), kernel,
                              per_dim(self.values.get("Stride", 1), d, "Stride"),
                              per_dim(self.values.get("Dilation") or 1, d, "Dilation"))
        wider = tuple((b + pb, a + pa) for (b, a), (pb, pa) in zip(own, pads[1:]))
        inner = tuple(n - b - a for n, (b, a) in zip(x, pads))
        ports = dict(self.ports)
        ports["Input"] = ports["Input"].with_shape(inner)
        return self.evolve(values={**self.values, "PaddingSize": wider}, ports=ports)

    def fused_with_max_pool(self, pool, activation):
        return ConvPoolThenBias(self, pool, activation)


class _Shifted:
    """A convolution's backward cache when its forward ran ``conv_shifted``: the padded,
    flattened input buffer (not a column matrix)."""

    __slots__ = ("buffer",)

    def __init__(self, buffer: np.ndarray):
        self.buffer = buffer


class ConvPoolThenBias:
    """Convolution (no bias) -> max pooling -> + bias -> monotone activation: the same
    values as the layers in order, since max pooling commutes with adding a per-channel
    bias and with non-decreasing functions, but the bias and activation run on the
    smaller pooled tensor. A Test-mode executor step (no backward)."""

    name = "ConvolutionLayer"
    array_specs = ()
    fresh_output = True

    def __init__(self, conv: ConvolutionLayer, pool: Layer, activation: Layer | None):
        self.conv = conv
        self.pool = pool
        self.activation = activation
        self._layouts: dict[tuple, Any] = {}
        self._copies: dict[tuple, list] = {}     # input shape -> one_copy_columns per offset
        self._cuts: dict[tuple, Any] = {}
        self._routes: dict[tuple, Any] = {}   # input shape -> the way that applied to it

    def example_coupling(self, train: bool) -> str:
        return "none"     # Test mode only; per example

    def forward(self, ctx, arrays: dict[str, Any], x: np.ndarray):
        route = self._routes.get(x.shape)
        z = None if route is None else route(ctx, arrays, x)
        if route is None:   # first input of this shape: find the first way that applies
            for way in (self._pooled_directly, self._pooled_small):
                z = way(ctx, arrays, x)
                if z is not None:
                    self._routes[x.shape] = way
                    break
        if z is None:
            y, _, _ = self.conv.convolve(ctx, arrays, x)
            g = geometry(self.pool.values, y.shape[1:-1])
            z = pool_max(pad(y, g, -np.inf, ctx, reuse=True), g)
        b = arrays.get("Biases")
        if b is not None:   # as a matrix: 2-d broadcasting costs less than (F, 1, .., 1)
            z2 = z.reshape(z.shape[0], -1)
            np.add(z2, b.astype(z.dtype, copy=False)[:, None], out=z2)
        if self.activation is not None:
            inplace = self.activation.forward_inplace(z)
            if inplace is not None:
                z = inplace
            else:
                (z,), _ = self.activation.forward(ctx, {}, z)
        return [z], None

    def _pooled_directly(self, ctx, arrays, x):
        """For pooling windows that tile the convolution's output (kernel = stride, no
        padding), the output at pooling offset (a, b) is a convolution with stride
        conv stride x pool stride: one GEMM per offset and a running maximum, so the
        full-size convolution output is never written out. None when that does not apply."""
        layout = self._layouts.get(x.shape[1:-1])
        if layout is None:
            layout = self._layouts[x.shape[1:-1]] = self._layout(x.shape[1:-1])
        if layout is False:
            return None
        gc, gp, parts = layout
        if x.shape[0] * math.prod(gp.out) * x.shape[-1] < _DIRECT_POOL_MIN:
            return None   # small: one full convolution costs fewer slice copies
        xp = pad(x, gc, 0.0, ctx, reuse=True)
        w = arrays["Weights"].astype(x.dtype, copy=False)
        w2 = w.reshape(w.shape[0], -1)
        c, n = x.shape[0], x.shape[-1]
        cols = scratch(ctx, "pooled-cols", (c,) + gc.kernel + gp.out + (n,), x.dtype)
        matrix = cols.reshape(w2.shape[1], -1)
        copies = self._copies.get((xp.shape, xp.dtype))
        if copies is None:
            copies = self._copies[(xp.shape, xp.dtype)] = [
                one_copy_columns(xp.shape, xp.dtype, sub, start) for start, sub in parts]
        z = None
        for (start, sub), copy in zip(parts, copies):
            if copy is not None and xp.flags.c_contiguous:
                # the strided view prepared for this shape: 0.4 us against im2col's ~5
                np.copyto(cols, np.ndarray(cols.shape, xp.dtype, xp, *copy))
            else:
                im2col(xp, sub, cols, start)
            y = np.matmul(w2, matrix)
            if z is None:
                z = y
            else:
                np.maximum(z, y, out=z)
        return z.reshape((w.shape[0],) + gp.out + (n,))

    def _pooled_small(self, ctx, arrays, x):
        """A small input (e.g. one example): im2col (windows.small_columns) + one GEMM for
        only the convolution outputs some pooling window reads (an unpadded pooling
        drops the rest: 10x10 of 11x11 in LeNet's second layer), then the pooling.
        None when that does not apply."""
        cut = self._cuts.get(x.shape[1:-1])
        if cut is None:
            cut = self._cuts[x.shape[1:-1]] = self._cut(x.shape[1:-1])
        if cut is False:
            return None
        gc, gp = cut
        cols = small_columns(ctx, x, gc)
        if cols is None:
            return None
        w = arrays["Weights"]
        f = w.shape[0]
        y = np.matmul(w.reshape(f, -1).astype(x.dtype, copy=False), cols)
        return pool_max(y.reshape((f,) + gc.out + (x.shape[-1],)), gp)

    def _cut(self, sizes: tuple):
        """(convolution geometry cut to the outputs the pooling reads, pooling geometry on
        them), or False (channel groups, padded pooling)."""
        conv, pool = self.conv, self.pool
        if (conv.values.get("ChannelGroups") or 1) != 1:
            return False
        gc = geometry(conv.values, sizes)
        gp = geometry(pool.values, gc.out)
        if gp.has_padding:
            return False
        read = tuple((o - 1) * s + (k - 1) * dl + 1
                     for o, s, k, dl in zip(gp.out, gp.stride, gp.kernel, gp.dilation))
        cut = Geometry(gc.sizes, gc.kernel, gc.stride, gc.dilation, gc.pads, read)
        on_cut = geometry(pool.values, read)
        if on_cut.has_padding or on_cut.out != gp.out:    # e.g. "Same" padding resolves anew
            return False
        return cut, on_cut

    def _layout(self, sizes: tuple):
        """Geometries of the per-offset convolutions, computed once per input size."""
        conv, pool = self.conv, self.pool
        if (conv.values.get("ChannelGroups") or 1) != 1:
            return False
        gc = geometry(conv.values, sizes)
        gp = geometry(pool.values, gc.out)
        if gp.has_padding or gp.kernel != gp.stride:
            return False
        stride = tuple(sc * sp for sc, sp in zip(gc.stride, gp.stride))
        parts = []
        for offset in itertools.product(*(range(k) for k in gp.kernel)):
            starts = tuple(o * sc for o, sc in zip(offset, gc.stride))
            shifted = tuple(p - st for p, st in zip(gc.padded, starts))
            sub = Geometry(shifted, gc.kernel, stride, gc.dilation,
                           tuple((0, 0) for _ in gc.kernel), gp.out)
            parts.append((starts, sub))
        return gc, gp, parts


# Training takes the shifted forward (and dW from its buffer) when C >= this times F.
_SHIFTED_TRAIN_CHANNEL_RATIO = 2

# Pooling by per-offset convolutions copies prod(pool kernel) times more column slices
# than one full convolution; below this many numbers per slice (e.g. batch 1) the
# per-slice cost dominates and the plain convolution followed by pooling is faster.
_DIRECT_POOL_MIN = 4096


@register_layer
class PoolingLayer(_Windowed):
    name = "PoolingLayer"
    summary = "Max, Mean or Total over windows of size {kh, kw} (default stride 1)"
    window_kind = "pooling"
    # PoolingLayer[n] has stride 1, as Wolfram
    positional = (Param("KernelSize", _kernel),
                  Param("Stride", int_tuple(), optional=True, default=(1,)))
    options = (
        Option("PaddingSize", 0, padding_spec),
        Option("Function", S("Max"), lambda f: _pool_function(f)),
        Option("Dimensionality", None, _dimensionality),
        Option("Interleaving", False, _no_interleaving, shown=False),
    )
    hidden = ("Channels", "Dilation")

    def check_options(self) -> None:
        self.values["Dilation"] = (1,)

    @property
    def commutes_with_monotone(self) -> bool:
        """max(f(x)) = f(max(x)) for non-decreasing f, and max(x + b) = max(x) + b."""
        return self.values["Function"] is S("Max")

    def infer(self, s: Infer) -> None:
        self.spatial_rule(s, None)
        kernel, d = s.value("KernelSize"), s.value("Dimensionality")
        if isinstance(kernel, tuple) and d is not None and s.value("PaddingSize") != SAME:
            try:
                pads = resolve_padding(s.value("PaddingSize"), d, (None,) * d, kernel,
                                       (1,) * d, (1,) * d)
            except ValueError:
                pads = ()
            for (b, a), k in zip(pads, kernel):
                if max(b, a) >= k:
                    s.fail(f"padding size {max(b, a)} must be smaller than the kernel size {k}")
        x = s.port("Input")
        if x is not None:
            s.set_value("Channels", x[0], '"Input" port')

    # ---- numerics: data (C, S1..Sd, N); no arrays ---------------------------------------
    # Max pads with -Infinity, so padding never wins a window. Mean divides every window by
    # the full kernel size prod(k), padding included (padding counts as zeros), which is
    # MXNet's default ("count_include_pad"), the backend Wolfram compiles to; it also keeps
    # Mean = Total / prod(k) exactly. Max backward gives each window's gradient to its first
    # maximal element (kernel offsets in C order): ties are not split.
    def forward(self, ctx, arrays, x):
        g = geometry(self.values, x.shape[1:-1])
        fn = self.values["Function"]
        keep = bool(ctx.grad)
        if fn is S("Max"):
            xp = pad(x, g, -np.inf, ctx, reuse=not keep)
            y = pool_max(xp, g, team_parts(ctx, x.shape[0] * prod(g.out) * x.shape[-1]))
            return [y], ((xp, y, g, x.shape) if keep else None)
        xp = pad(x, g, 0.0, ctx, reuse=not keep)
        y = pool_sum(xp, g)
        if fn is S("Mean"):
            y *= 1.0 / prod(g.kernel)
        return [y], ((None, None, g, x.shape) if keep else None)

    def backward(self, ctx, arrays, cache, dy):
        if not getattr(ctx, "need_dx", True):
            return [None], {}
        xp, y, g, xshape = cache
        fn = self.values["Function"]
        if fn is S("Max"):
            dxp = pool_max_backward(xp, y, dy, g)
        else:
            if fn is S("Mean"):
                dy = dy * (1.0 / prod(g.kernel))
            dxp = pool_sum_backward(dy, g, xshape[0])
        return [crop(dxp, g)], {}


def _pool_function(f: Any) -> Any:
    if among(f, (S("Max"), S("Mean"), S("Total"))):
        return f
    raise ValueError("expected Max, Mean or Total")
