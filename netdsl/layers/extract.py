"""ExtractLayer[]: Wolfram's Extract per example. The "Position" port holds integer part
specifications: an array of dimensions {m1, ..., mp, s} picks, for each of its m1 x ... x mp
positions, the part {i1, ..., is} of the "Input" (dimensions {n1, ..., nd}, s <= d), so the
output has dimensions {m1, ..., mp, n(s+1), ..., nd}. A single integer ("Position" ->
"Integer") is the position {i}. Positions count from 1; negative ones from the end."""

from __future__ import annotations

import math

import numpy as np

from ..errors import EvaluationError
from .base import Infer, Layer, check_batch_size
from .registry import register_layer
from .shapes import PortType, is_length_var


def _spec_shape(p: tuple) -> tuple[tuple, int | None]:
    """(the leading dimensions {m1..mp}, s) of a "Position" port of shape ``p``; a single
    integer is one position of length 1."""
    if len(p) == 0:
        return (), 1
    return tuple(p[:-1]), p[-1]


def zero_based(pos: np.ndarray, sizes: tuple[int, ...], who: str) -> np.ndarray:
    """1-based (negative: from the end) positions ``pos`` (..., s, N) into levels of
    ``sizes`` as 0-based ones; 0 or beyond a size is Wolfram's partw error (Extract)."""
    n = np.asarray(sizes, np.int64).reshape((1,) * (pos.ndim - 2) + (-1, 1))
    bad = (pos == 0) | (np.abs(pos) > n)
    if bad.any():
        where = np.argwhere(bad)[0]
        k = int(pos[tuple(where)])
        level = int(where[-2]) + 1
        raise EvaluationError(f"Part {k} of level {level} of the input (of size "
                              f"{int(n.reshape(-1)[level - 1])}) does not exist (example "
                              f"{int(where[-1]) + 1}); positions run from 1 to the size, or "
                              f"from -1 back to minus the size.", symbol=who, tag="partw")
    return np.where(pos > 0, pos - 1, pos + n)


@register_layer
class ExtractLayer(Layer):
    name = "ExtractLayer"
    summary = ('the parts of "Input" at the positions {i1, ..., is} in "Position" (Extract '
               "per example); negative positions count from the end")
    inputs = ("Input", "Position")
    moves_numbers = True     # integers extracted stay integers (Wolfram: the input's type)

    def infer(self, s: Infer) -> None:
        pt = s.port_type("Position")
        if not pt.integer:
            s.refine("Position", PortType(pt.shape, True, pt.classes), "its definition")
        p = s.port("Position")
        x = s.port("Input")
        y = s.port("Output")
        if x is not None and len(x) == 0:
            s.fail('the "Input" port must be an array of rank 1 or more, not a number')
        if p is None:
            return
        lead, k = _spec_shape(tuple(p))
        if k is not None and is_length_var(k):
            s.fail('the final dimension of the "Position" port (the length of each position) '
                   "must be fixed")
        if k is not None and k < 1:
            s.fail('the final dimension of the "Position" port must be at least 1')
        if x is not None and k is not None:
            if k > len(x):
                s.fail(f'the final dimension {k} of the "Position" port must not exceed the '
                       f'rank {len(x)} of the "Input" port')
            t = s.port_type("Input")
            s.refine("Output", PortType(lead + tuple(x[k:]), t.integer, t.classes),
                     '"Input" and "Position" ports')
        elif y is not None and k is not None and x is None:
            if len(y) < len(lead):
                s.fail(f'the "Output" port has rank {len(y)}, below the {len(lead)} leading '
                       f'dimensions of the "Position" port')
            s.refine("Input", (None,) * k + tuple(y[len(lead):]), '"Output" and "Position" ports')
            s.refine("Output", tuple(lead) + tuple(y[len(lead):]), '"Position" port')

    # ---- numerics: x (n1..nd, N), positions (m.., s, N) int64 ------------------------------
    # The s levels picked are one flat index f (M, N) into x viewed as (L, R, N); the output
    # is x[f, r, n]. Backward adds dy back at those places (bincount: repeats accumulate).
    def _flat(self, x: np.ndarray, pos: np.ndarray):
        pos = np.asarray(pos, np.int64)
        if pos.ndim == 1:                       # one integer per example
            pos = pos[None, :]
        k = pos.shape[-2]
        lead = pos.shape[:-2]
        sizes = x.shape[:k]
        idx = zero_based(pos.reshape((-1, k, pos.shape[-1])), sizes, self.name)  # (M, s, N)
        flat = np.zeros(idx[:, 0].shape, np.int64)
        for level, n in enumerate(sizes):       # (a loop over the s levels, not the data)
            flat = flat * n + idx[:, level]
        rest = x.shape[k:-1]
        return flat, lead, rest, math.prod(sizes), math.prod(rest)

    def forward(self, ctx, arrays, x, pos):
        flat, lead, rest, size, r = self._flat(x, pos)
        n = x.shape[-1]
        check_batch_size(lead + rest + (n,), x.dtype.itemsize, f'the "Output" of {self.name}')
        x3 = x.reshape(size, r, n)
        y = x3[flat[:, None, :], np.arange(r)[None, :, None], np.arange(n)[None, None, :]]
        cache = (flat, x.shape, size, r) if ctx.grad else None
        return [np.ascontiguousarray(y.reshape(lead + rest + (n,)))], cache

    def backward(self, ctx, arrays, cache, dy):
        flat, xshape, size, r = cache
        n = xshape[-1]
        m = flat.shape[0]
        where = ((flat[:, None, :] * r + np.arange(r)[None, :, None]) * n
                 + np.arange(n)[None, None, :])
        dx = np.bincount(where.reshape(-1), weights=dy.reshape(m, r, n).reshape(-1),
                         minlength=size * r * n)
        return [dx.astype(dy.dtype, copy=False).reshape(xshape), None], {}
