"""SpatialTransformationLayer[{h, w}]: the spatial transformer of Jaderberg et al. (affine
grid, bilinear sampling), as Wolfram's layer computes it (MXNet's SpatialTransformer
with an affine transform and a bilinear sampler).

Ports: "Input" {c, H, W}, "Parameters" a vector {a, b, tx, d, e, ty} (Wolfram's {zh, sh,
th, sv, zv, tv}: zoom, skew and translation, horizontal then vertical), "Output" {c, h, w}.
Output pixel (i, j) sits at x = -1 + 2 j/(w - 1), y = -1 + 2 i/(h - 1) (corners of the
output at -1 and 1) and reads the input at x' = a x + b y + tx, y' = d x + e y + ty, where
x' = -1 and 1 are the centres of the input's first and last columns (corners aligned);
the four input pixels around (x', y') are mixed bilinearly and pixels outside the input
count as 0. {1, 0, 0, 0, 1, 0} is the identity. Output sizes must be 2 or more: with one
row the grid formula divides by zero."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import is_integer, is_list, list_items
from .base import Infer, Layer, Param, check_batch_size
from .registry import register_layer
from .shapes import is_length_var


def _dimensions(x: Any) -> tuple[int, int]:
    items = list_items(x) if is_list(x) else None
    if items is not None and len(items) == 2 and all(is_integer(i) for i in items):
        if all(i >= 2 for i in items):
            return int(items[0]), int(items[1])
        raise ValueError("each output size must be at least 2 (the sampling grid runs from "
                         "-1 to 1, corner to corner)")
    raise ValueError("expected a list {h, w} of two integers")


def sampling_points(theta: np.ndarray, out_hw: tuple[int, int], in_hw: tuple[int, int]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(px, py, gx, gy): for parameters theta (6, N), the input positions (h, w, N), in
    pixels of the input (0 .. W-1, 0 .. H-1), that the output pixels read, and the output
    grid's normalised coordinates gx (w,), gy (h,). float64 whatever the data's type."""
    h, w = out_hw
    H, W = in_hw
    gx = -1.0 + np.arange(w) * (2.0 / (w - 1))
    gy = -1.0 + np.arange(h) * (2.0 / (h - 1))
    t = np.asarray(theta, np.float64)
    xs = t[0] * gx[None, :, None] + t[1] * gy[:, None, None] + t[2]
    ys = t[3] * gx[None, :, None] + t[4] * gy[:, None, None] + t[5]
    return (xs + 1.0) * ((W - 1) / 2.0), (ys + 1.0) * ((H - 1) / 2.0), gx, gy


@register_layer
class SpatialTransformationLayer(Layer):
    name = "SpatialTransformationLayer"
    summary = ('samples "Input" {c, H, W} bilinearly at the affine map of "Parameters" '
               "{zh, sh, th, sv, zv, tv} of an {h, w} grid (zeros outside)")
    positional = (Param("Dimensions", _dimensions),)
    inputs = ("Input", "Parameters")

    def infer(self, s: Infer) -> None:
        h, w = s.value("Dimensions")
        s.refine("Parameters", (6,), "its definition")
        s.refine("Input", (None, None, None), "its definition (a rank-3 array {c, H, W})")
        s.refine("Output", (None, h, w), 'parameter "Dimensions"')
        s.refine("Output", (s.port("Input")[0], h, w), '"Input" port')
        s.refine("Input", (s.port("Output")[0], None, None), '"Output" port')
        if any(is_length_var(d) for d in s.port("Input")):
            s.fail('the "Input" port needs fixed dimensions {c, H, W}, not a "Varying" one')

    # ---- numerics: x (C, H, W, N), theta (6, N) -> (C, h, w, N) ---------------------------
    # The input is padded by one zero pixel on each side, and each corner index clipped into
    # the padding: a corner outside the input then reads 0 with no masks (and an infinite
    # parameter gives 0, not 0 * inf).
    def _corners(self, x: np.ndarray, theta: np.ndarray):
        C, H, W, N = x.shape
        h, w = self.values["Dimensions"]
        px, py, gx, gy = sampling_points(theta, (h, w), (H, W))
        # far outside, every corner is padding: clip first so floor stays a small integer
        # (NaN parameters stay NaN in the weights, so the output shows them)
        px = np.clip(px, -2.0, W + 1.0)
        py = np.clip(py, -2.0, H + 1.0)
        x0 = np.floor(px)
        y0 = np.floor(py)
        fx, fy = px - x0, py - y0
        x0i = np.nan_to_num(x0, nan=-2.0).astype(np.int64)
        y0i = np.nan_to_num(y0, nan=-2.0).astype(np.int64)
        cols = [np.clip(x0i + k, -1, W) + 1 for k in (0, 1)]      # into the padded input
        rows = [np.clip(y0i + k, -1, H) + 1 for k in (0, 1)]
        n = np.arange(N)
        Wp = W + 2
        # flat positions in the padded input viewed as (C, (H+2) (W+2) N): (h, w, N) each
        idx = [(rows[r] * Wp + cols[c]) * N + n for r in (0, 1) for c in (0, 1)]
        wts = [(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx]
        return idx, wts, (fx, fy, gx, gy)

    def forward(self, ctx, arrays, x, theta):
        C, H, W, N = x.shape
        h, w = self.values["Dimensions"]
        check_batch_size((C, h, w, N), x.dtype.itemsize, f'the "Output" of {self.name}')
        idx, wts, geom = self._corners(x, theta)
        xp = np.zeros((C, H + 2, W + 2, N), x.dtype)
        xp[:, 1:-1, 1:-1] = x
        flat = xp.reshape(C, -1)
        vals = [flat[:, i] for i in idx]                      # 4 x (C, h, w, N)
        y = sum(v * wt.astype(x.dtype) for v, wt in zip(vals, wts))
        cache = (x.shape, idx, wts, vals, geom) if ctx.grad else None
        return [np.ascontiguousarray(y, dtype=x.dtype)], cache

    def backward(self, ctx, arrays, cache, dy):
        (C, H, W, N), idx, wts, vals, (fx, fy, gx, gy) = cache
        # Input: each output pixel's gradient spread over its four corners with the
        # bilinear weights (bincount: corners shared by several pixels accumulate)
        size = (H + 2) * (W + 2) * N
        offs = (np.arange(C) * size)[:, None, None, None]
        where = np.concatenate([(offs + i).reshape(-1) for i in idx])
        weight = np.concatenate([(dy * wt).reshape(-1) for wt in wts])
        dxp = np.bincount(where, weights=weight, minlength=C * size)
        dx = dxp.reshape(C, H + 2, W + 2, N)[:, 1:-1, 1:-1].astype(dy.dtype)
        # Parameters: through the sampling position (px, py); the bilinear mix is linear
        # in fx and fy between the corners
        v00, v01, v10, v11 = vals
        dpx = np.sum(dy * ((1 - fy) * (v01 - v00) + fy * (v11 - v10)), axis=0)   # (h, w, N)
        dpy = np.sum(dy * ((1 - fx) * (v10 - v00) + fx * (v11 - v01)), axis=0)
        # outside the clipped range the sample is 0 whatever the position: no gradient
        dxs = dpx * ((W - 1) / 2.0)
        dys = dpy * ((H - 1) / 2.0)
        gxb, gyb = gx[None, :, None], gy[:, None, None]
        dtheta = np.stack([np.sum(dxs * gxb, axis=(0, 1)), np.sum(dxs * gyb, axis=(0, 1)),
                           np.sum(dxs, axis=(0, 1)), np.sum(dys * gxb, axis=(0, 1)),
                           np.sum(dys * gyb, axis=(0, 1)), np.sum(dys, axis=(0, 1))])
        return [np.ascontiguousarray(dx), dtheta.astype(dy.dtype)], {}
