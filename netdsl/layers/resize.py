"""ResizeLayer[{h, w}]: the spatial levels of a channel-first {c, h, w} (or {c, w}) input
resized. Each size is an integer, Scaled[r] (Ceiling[r n]) or All (kept). "Resampling" is
"Linear" (default; samples at o (n - 1)/(m - 1), corners aligned, as Wolfram's MXNet
spatial-transformer implementation) or "Nearest" (integer Scaled[k] only: each element
repeated k times). Output sizes must exceed 1, as Wolfram requires."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import budget
from ..expr import Expr, S, is_integer, is_list, is_number, list_items
from .base import Infer, Layer, Option, Param, check_batch_size
from .registry import register_layer


def _spec(x: Any) -> tuple:
    items = list_items(x) if is_list(x) else None
    if items and len(items) <= 2:
        out: list[tuple] = []
        for i in items:
            if is_integer(i) and i >= 1:
                out.append(("size", int(i)))
            elif i is S("All"):
                out.append(("all",))
            elif isinstance(i, Expr) and i.head is S("Scaled") and len(i.args) == 1 \
                    and is_number(i.args[0]) and i.args[0] > 0:
                out.append(("scaled", i.args[0]))
            else:
                break
        else:
            return tuple(out)
    raise ValueError("specification should be a list of one or two integers, Scaled[r], or All")


def _spec_expr(v: tuple) -> Any:
    def one(op):
        return op[1] if op[0] == "size" else S("All") if op[0] == "all" else \
            Expr(S("Scaled"), op[1])
    return Expr(S("List"), *[one(op) for op in v])


def _resampling(x: Any) -> str:
    if x in ("Linear", "Nearest"):
        return x
    raise ValueError('expected "Linear" or "Nearest"')


def _size(op: tuple, n: int) -> int:
    if op[0] == "size":
        return op[1]
    if op[0] == "all":
        return n
    return math.ceil(op[1] * n - 1e-9)


def interpolation_matrix(n: int, m: int, method: str) -> np.ndarray:
    """(m, n): row o holds the weights of the input positions read by output position o."""
    mat = np.zeros((m, n))
    if method == "Nearest":
        k = m // n
        mat[np.arange(m), np.arange(m) // k] = 1.0
        return mat
    pos = np.arange(m) * ((n - 1) / (m - 1)) if m > 1 else np.zeros(1)
    lo = np.clip(np.floor(pos).astype(int), 0, n - 1)
    hi = np.minimum(lo + 1, n - 1)
    frac = pos - lo
    np.add.at(mat, (np.arange(m), lo), 1 - frac)
    np.add.at(mat, (np.arange(m), hi), frac)
    return mat


@register_layer
class ResizeLayer(Layer):
    name = "ResizeLayer"
    summary = 'resizes the spatial levels of {c, h, w}: {h2, w2}, Scaled[r] or All; "Linear"'
    positional = (Param("Specification", _spec, display=_spec_expr),)
    options = (Option("Resampling", "Linear", _resampling),)

    def check_options(self) -> None:
        if self.values["Resampling"] == "Nearest" and not all(
                op[0] == "scaled" and float(op[1]).is_integer()
                for op in self.values["Specification"]):
            raise self.error("invopt", 'ResizeLayer specification should be a list of '
                                       'Scaled[n] with integers n when using "Resampling" -> '
                                       '"Nearest".')

    def infer(self, s: Infer) -> None:
        spec = s.value("Specification")
        d = len(spec)
        s.refine("Input", (None,) * (d + 1), 'parameter "Specification"')
        s.refine("Output", (None,) * (d + 1), 'parameter "Specification"')
        x, y = s.port("Input"), s.port("Output")
        s.refine("Output", (x[0],) + (None,) * d, '"Input" port')
        s.refine("Input", (y[0],) + (None,) * d, '"Output" port')
        x = s.port("Input")
        out = []
        for op, n in zip(spec, x[1:]):
            out.append(_size(op, n) if n is not None else (op[1] if op[0] == "size" else None))
        if any(o is not None and o <= 1 for o in out):
            s.fail(f"layer would produce an output of size "
                   f"{'x'.join('n' if o is None else str(o) for o in out)}, which is not "
                   f"supported")
        s.refine("Output", (None, *out), '"Input" port')

    def matrices(self, sizes: tuple) -> list[np.ndarray | None]:
        method = self.values["Resampling"]
        mats: list[np.ndarray | None] = []
        for op, n in zip(self.values["Specification"], sizes):
            m = _size(op, n)
            if m == n and method == "Linear" or op[0] == "all":
                mats.append(None)
                continue
            budget.check((m, n), 8, f"the interpolation matrix of {self.name}")   # dense
            mats.append(interpolation_matrix(n, m, method))
        return mats

    # ---- numerics: separable: one matmul per resized spatial axis, with the (m, n)
    # interpolation matrix; backward multiplies by its transpose ----------------------------
    def forward(self, ctx, arrays, x):
        out = tuple(_size(op, n) for op, n in zip(self.values["Specification"], x.shape[1:-1]))
        check_batch_size((x.shape[0], *out, x.shape[-1]), x.dtype.itemsize,
                         f'the "Output" of {self.name}')
        mats = self.matrices(x.shape[1:-1])
        y = x
        for axis, mat in enumerate(mats, 1):
            if mat is not None:
                y = _apply(mat.astype(x.dtype), y, axis)
        return [np.ascontiguousarray(y)], (mats if ctx.grad else None)

    def backward(self, ctx, arrays, mats, dy):
        g = dy
        for axis, mat in reversed(list(enumerate(mats, 1))):
            if mat is not None:
                g = _apply(mat.T.astype(dy.dtype), g, axis)
        return [np.ascontiguousarray(g)], {}


def _apply(mat: np.ndarray, x: np.ndarray, axis: int) -> np.ndarray:
    """mat (m, n) applied along ``axis`` of x: x viewed as (before, n, after)."""
    before = int(np.prod(x.shape[:axis]))
    after = int(np.prod(x.shape[axis + 1:]))
    y = np.matmul(mat, x.reshape(before, x.shape[axis], after))
    return y.reshape(x.shape[:axis] + (mat.shape[0],) + x.shape[axis + 1:])
