"""PaddingLayer[{{b1, a1}, {b2, a2}, ...}]: every level of the input padded, b_i before and
a_i after. "Padding" (also the second argument) is a number (default 0) or a method as
Wolfram's ArrayPad names them: "Fixed" (the edge value repeated), "Periodic" (wrapped around),
"Reflected" (mirrored without repeating the edge) and "Reversed" (mirrored, edge repeated)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import Expr, S, is_integer, is_list, is_number, list_items
from .base import Infer, Layer, Param, check_batch_size
from .registry import register_layer
from .shapes import is_length_var
from .text import value_text

_METHODS = {"Fixed": "edge", "Periodic": "wrap", "Reflected": "reflect", "Reversed": "symmetric"}


def _spec(x: Any) -> tuple:
    if is_list(x):
        out = []
        for item in list_items(x):
            pair = list_items(item) if is_list(item) else None
            if pair is None or len(pair) != 2 or not all(is_integer(v) and v >= 0 for v in pair):
                break
            out.append((int(pair[0]), int(pair[1])))
        else:
            if out:
                return tuple(out)
    raise ValueError("expected {{before, after}, ...}: one pair of non-negative integers per "
                     "level of the input")


def _spec_expr(v: tuple) -> Any:
    return Expr(S("List"), *[Expr(S("List"), b, a) for b, a in v])


def _padding(x: Any) -> Any:
    if is_number(x):
        return float(x)
    if isinstance(x, str) and x in _METHODS:
        return x
    raise ValueError(f"expected a number or one of {', '.join(_METHODS)}")


@register_layer
class PaddingLayer(Layer):
    name = "PaddingLayer"
    summary = 'pads every level: {{before, after}, ...}; "Padding" -> 0, "Fixed", "Periodic", ...'
    positional = (Param("Specification", _spec, display=_spec_expr),
                  Param("Padding", _padding, optional=True, default=0.0))

    def infer(self, s: Infer) -> None:
        spec = s.value("Specification")
        r = len(spec)
        tx = s.port_type("Input")
        s.refine("Input", (None,) * r, 'parameter "Specification"')
        s.refine("Output", tx.with_shape((None,) * r), 'parameter "Specification"')
        x, y = s.port("Input"), s.port("Output")
        out = tuple(None if n is None else n + b + a for n, (b, a) in zip(x, spec))
        s.refine("Output", out, '"Input" port')
        # a padded "Varying" length is a new one: it says nothing of the input's
        back = tuple(None if m is None or (is_length_var(m) and (b or a)) else m - b - a
                     for m, (b, a) in zip(y, spec))
        if any(isinstance(n, int) and n < 1 for n in back):
            s.fail(f"no input gives an output of dimensions {value_text(tuple(y))} with this "
                   f"padding")
        s.refine("Input", back, '"Output" port')
        x = s.port("Input")
        if s.value("Padding") in ("Reflected", "Reversed"):
            for level, (n, (b, a)) in enumerate(zip(x, spec), 1):
                if not isinstance(n, int):   # size not known yet, or "Varying"
                    continue
                limit = n - 1 if s.value("Padding") == "Reflected" else n
                if max(b, a) > limit:
                    s.fail(f'"{s.value("Padding")}" padding of {max(b, a)} at level {level} '
                           f"needs an input larger than {n} there")

    def zero_padding(self) -> tuple[tuple[int, int], ...] | None:
        padding = self.values["Padding"]
        return self.values["Specification"] if isinstance(padding, float) and padding == 0.0 \
            else None

    # ---- numerics: np.pad over the example axes; backward takes the interior of dy and
    # adds each padded border back onto the input element it copies (loops over borders
    # only, one slice per padded position) -----------------------------------------------
    def forward(self, ctx, arrays, x):
        spec = self.values["Specification"]
        pad = list(spec) + [(0, 0)]
        check_batch_size(tuple(n + b + a for n, (b, a) in zip(x.shape, pad)), x.dtype.itemsize,
                         f'the "Output" of {self.name}')
        method = self.values["Padding"]
        if isinstance(method, float):
            y = np.pad(x, pad, mode="constant", constant_values=method)
        else:
            y = np.pad(x, pad, mode=_METHODS[method])
        return [y], (x.shape if ctx.grad else None)

    def backward(self, ctx, arrays, xshape, dy):
        spec = self.values["Specification"]
        method = self.values["Padding"]
        g = dy
        for axis, (b, a) in enumerate(spec):
            if b == 0 and a == 0:
                continue
            n = xshape[axis]
            gm = np.moveaxis(g, axis, 0)
            dx = np.array(gm[b:b + n], copy=True)
            if not isinstance(method, float):
                src = _source_positions(method, n, b, a)
                for j, i in src:
                    dx[i] += gm[j]
            g = np.moveaxis(dx, 0, axis)
        return [np.ascontiguousarray(g)], {}


def _source_positions(method: str, n: int, b: int, a: int) -> list[tuple[int, int]]:
    """(padded position, input position it copies) for every border position along a level."""
    probe = np.pad(np.arange(n), (b, a), mode=_METHODS[method])  # type: ignore[call-overload]
    return [(j, int(probe[j])) for j in list(range(b)) + list(range(b + n, b + n + a))]
