"""ImageAugmentationLayer[{h, w}]: random crops (and reflections) of a {c, H, W} array to
{c, h, w}, for training on varied views of the same images.

As Wolfram's layer: in Train mode (NetTrain, NetEvaluationMode -> "Train") each example
gets a window of h x w at offsets drawn uniformly from 0 .. H - h and 0 .. W - w, and is
then reflected top-bottom with the first of "ReflectionProbabilities" {pv, ph} (default
{0, 0}) and left-right with the second; in Test mode the window is the centre one, at
offsets Floor[(H - h)/2] and Floor[(W - w)/2], never reflected. The draws come from the
evaluation's random source (as DropoutLayer's masks), so RandomSeeding repeats them.
The gradient goes back to the input positions each output element was read from."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import is_integer, is_list, is_number, list_items
from .base import Infer, Layer, Option, Param, check_batch_size
from .registry import register_layer
from .shapes import is_length_var


def _dimensions(x: Any) -> tuple[int, int]:
    items = list_items(x) if is_list(x) else None
    if items is not None and len(items) == 2 and all(is_integer(i) and i >= 1 for i in items):
        return int(items[0]), int(items[1])
    raise ValueError("expected a list {h, w} of two positive integers")


def _probabilities(x: Any) -> tuple[Any, Any]:
    """Kept as written ({0, 0} shows as {0, 0}); forward reads them as floats."""
    items = list_items(x) if is_list(x) else None
    if items is not None and len(items) == 2 and all(is_number(i) and 0 <= i <= 1
                                                      for i in items):
        return items[0], items[1]
    raise ValueError("expected a list {pv, ph} of two probabilities between 0 and 1 "
                     "(top-bottom and left-right reflection)")


def center_offsets(in_hw: tuple[int, int], out_hw: tuple[int, int]) -> tuple[int, int]:
    """The Test-mode window's first row and column (0-based): Floor[(H - h)/2], as
    Wolfram's slice."""
    return (in_hw[0] - out_hw[0]) // 2, (in_hw[1] - out_hw[1]) // 2


@register_layer
class ImageAugmentationLayer(Layer):
    name = "ImageAugmentationLayer"
    summary = ("in training, a random {h, w} window of {c, H, W} (reflected with "
               '"ReflectionProbabilities" {pv, ph}); otherwise the centre window')
    positional = (Param("OutputDimensions", _dimensions),)
    options = (Option("ReflectionProbabilities", (0, 0), _probabilities),)
    has_train_behavior = True

    def example_coupling(self, train: bool) -> str:
        """Each example's window and reflections are its own draws from ctx.rng."""
        return "random" if train else "none"

    def infer(self, s: Infer) -> None:
        h, w = s.value("OutputDimensions")
        s.refine("Input", (None, None, None), "its definition (a rank-3 array {c, H, W})")
        s.refine("Output", (None, h, w), 'parameter "OutputDimensions"')
        s.refine("Output", (s.port("Input")[0], h, w), '"Input" port')
        s.refine("Input", (s.port("Output")[0], None, None), '"Output" port')
        _, H, W = s.port("Input")
        if any(is_length_var(d) for d in (H, W)):
            s.fail('the "Input" port needs fixed dimensions {c, H, W}, not a "Varying" one')
        if H is not None and W is not None and (H < h or W < w):
            s.fail(f"output dimensions {{{h}, {w}}} must be smaller than input dimensions "
                   f"{{{H}, {W}}}.")

    # ---- numerics: x (C, H, W, N) -> (C, h, w, N) ---------------------------------------
    # Train mode reads x[:, rows[:, n], cols[:, n], n]: per example, the window's rows and
    # columns (reversed when reflected), one gather for the whole batch.
    def _windows(self, ctx, H: int, W: int, N: int) -> tuple[np.ndarray, np.ndarray]:
        h, w = self.values["OutputDimensions"]
        pv, ph = (float(p) for p in self.values["ReflectionProbabilities"])
        rng = ctx.rng
        top = rng.integers(0, H - h + 1, N)
        left = rng.integers(0, W - w + 1, N)
        # drawn whatever the probabilities, so one seed gives the same windows
        flip = rng.random((2, N)) < np.array([[pv], [ph]])
        i, j = np.arange(h)[:, None], np.arange(w)[:, None]
        rows = top + np.where(flip[0], h - 1 - i, i)                    # (h, N)
        cols = left + np.where(flip[1], w - 1 - j, j)                   # (w, N)
        return rows, cols

    def forward(self, ctx, arrays, x):
        C, H, W, N = x.shape
        h, w = self.values["OutputDimensions"]
        if H < h or W < w:       # (inference checks this; data of another size cannot come)
            raise self.error("valfail", f"output dimensions {{{h}, {w}}} must be smaller "
                                        f"than input dimensions {{{H}, {W}}}.")
        check_batch_size((C, h, w, N), x.dtype.itemsize, f'the "Output" of {self.name}')
        if not ctx.train:
            r, c = center_offsets((H, W), (h, w))
            y = np.ascontiguousarray(x[:, r:r + h, c:c + w])
            return [y], ((r, c), x.shape) if ctx.grad else None
        rows, cols = self._windows(ctx, H, W, N)
        n = np.arange(N)
        y = x[:, rows[:, None, :], cols[None, :, :], n]                 # (C, h, w, N)
        return [np.ascontiguousarray(y)], ((rows, cols), x.shape) if ctx.grad else None

    def backward(self, ctx, arrays, cache, dy):
        where, shape = cache
        dx = np.zeros(shape, dy.dtype)
        h, w = self.values["OutputDimensions"]
        if isinstance(where[0], int):
            r, c = where
            dx[:, r:r + h, c:c + w] = dy
        else:                    # one window per example: no position is read twice
            rows, cols = where
            dx[:, rows[:, None, :], cols[None, :, :], np.arange(shape[-1])] = dy
        return [dx], {}
