"""ReplicateLayer[n] / ReplicateLayer[{n1, n2, ...}, level]: the input repeated, with the new
dimensions inserted at ``level`` (default 1, in front; negative levels count from the end,
-1 appending them); Automatic sizes are inferred from the output."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import Expr, S, is_integer, is_list, list_items
from .base import Infer, Layer, Param, check_batch_size
from .registry import register_layer


def _sizes(x: Any) -> tuple:
    items = list_items(x) if is_list(x) else [x]
    out: list[int | None] = []
    for i in items:
        if is_integer(i) and i >= 1:
            out.append(int(i))
        elif i is S("Automatic"):
            out.append(None)
        else:
            raise ValueError("expected a positive integer, Automatic, or a list of them")
    return tuple(out)


def _sizes_expr(v: tuple) -> Any:
    items = [S("Automatic") if d is None else d for d in v]
    return items[0] if len(items) == 1 else Expr(S("List"), *items)


def _level(x: Any) -> int:
    if is_integer(x) and x != 0:
        return int(x)
    raise ValueError("expected a non-zero integer")


@register_layer
class ReplicateLayer(Layer):
    name = "ReplicateLayer"
    moves_numbers = True
    summary = "repeats the input n times (new dimensions inserted at a level, default 1)"
    positional = (Param("Specification", _sizes, display=_sizes_expr),
                  Param("Level", _level, optional=True, default=1))

    def _position(self, s: Infer, rank: int) -> int:
        level = s.value("Level")
        if not -(rank + 1) <= level <= rank + 1:
            s.fail(f"level must be a non-zero integer between {-rank - 1} and {rank + 1}")
        return level - 1 if level > 0 else rank + level + 1

    def infer(self, s: Infer) -> None:
        spec = s.value("Specification")
        tx = s.port_type("Input")
        x, y = tx.shape, s.port("Output")
        k = len(spec)
        if x is None and y is not None:
            s.refine("Input", (None,) * (len(y) - k), '"Output" port')
            x = s.port("Input")
        if x is None:
            return
        p = self._position(s, len(x))
        if y is not None:
            if len(y) != len(x) + k:
                s.fail(f"the output has rank {len(y)}, not {len(x) + k}")
            s.set_value("Specification", tuple(y[p:p + k]), '"Output" port')
            s.refine("Input", tuple(y[:p]) + tuple(y[p + k:]), '"Output" port')
            x = s.port("Input")
        spec = s.value("Specification")
        s.refine("Output", tx.with_shape(tuple(x[:p]) + tuple(spec) + tuple(x[p:])),
                 '"Input" port')

    # ---- numerics: a broadcast copy; backward sums over the inserted axes -----------------
    def forward(self, ctx, arrays, x):
        p = self._axis(x.ndim - 1)
        k = len(self.values["Specification"])
        copies = tuple(self.ports["Output"].shape)[p:p + k]
        xe = x.reshape(x.shape[:p] + (1,) * k + x.shape[p:])
        # the input's own sizes, not the port's: a "Varying" length has none
        shape = x.shape[:p] + copies + x.shape[p:]
        check_batch_size(shape, x.dtype.itemsize, f'the "Output" of {self.name}')
        y = np.empty(shape, x.dtype)
        y[...] = xe
        return [y], ((p, k) if ctx.grad else None)

    def _axis(self, rank: int) -> int:
        level = self.values["Level"]
        return level - 1 if level > 0 else rank + level + 1

    def backward(self, ctx, arrays, cache, dy):
        p, k = cache
        return [dy.sum(axis=tuple(range(p, p + k)))], {}
