"""PartLayer: a part of the input array, as Wolfram's Part: PartLayer[2], PartLayer[-1],
PartLayer[1 ;; 3], PartLayer[{All, 2 ;; -1}], PartLayer[{{1, 3}}] (positions 1 and 3)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import Expr, S, is_integer, is_list, list_items
from .base import Infer, Layer, Param
from .registry import register_layer
from .shapes import LengthVar, PortType, is_length_var

# one op per leading input level: ("int", k) drops the level; ("span", a, b, step) with a, b
# 1-based and possibly negative (b None: to the end); ("all",); ("list", (k1, k2, ...))


def _one(x: Any, top: bool) -> tuple:
    if is_integer(x) and x != 0:
        return ("int", int(x))
    if x is S("All"):
        return ("all",)
    if isinstance(x, Expr) and x.head is S("Span") and len(x.args) in (2, 3):
        a, b = x.args[0], x.args[1]
        step = x.args[2] if len(x.args) == 3 else 1
        ok = lambda v: (is_integer(v) and v != 0) or v is S("All")   # noqa: E731
        if ok(a) and ok(b) and is_integer(step) and step >= 1:
            return ("span", 1 if a is S("All") else int(a), None if b is S("All") else int(b),
                    int(step))
    if not top and is_list(x):
        ks = list_items(x)
        if ks and all(is_integer(k) and k != 0 for k in ks):
            return ("list", tuple(int(k) for k in ks))
    raise ValueError("expected an integer, a span m ;; n, All, a list of positions {{i, j, ...}}, "
                     "or a list of these, one per level")


def _part_spec(x: Any) -> tuple:
    if is_list(x):
        items = list_items(x)
        if not items:
            raise ValueError("expected at least one part specification")
        return tuple(_one(i, False) for i in items)
    return (_one(x, True),)


def _spec_expr(spec: tuple) -> Any:
    def one(op):
        if op[0] == "int":
            return op[1]
        if op[0] == "all":
            return S("All")
        if op[0] == "list":
            return Expr(S("List"), *op[1])
        b = S("All") if op[2] is None else op[2]
        return Expr(S("Span"), op[1], b) if op[3] == 1 else Expr(S("Span"), op[1], b, op[3])
    if len(spec) == 1 and spec[0][0] != "list":
        return one(spec[0])
    return Expr(S("List"), *[one(op) for op in spec])


def _position(k: int, n: int) -> int:
    """0-based position of part k (negative: from the end) of a level of size n."""
    if abs(k) > n:
        raise ValueError(f"the specification {k} cannot reference positions greater than {n}")
    return k - 1 if k > 0 else n + k


def _span_range(op: tuple, n: int) -> range:
    a = _position(op[1], n)
    b = n - 1 if op[2] is None else _position(op[2], n)
    if a > b:
        raise ValueError(f"negative range {a + 1};;{b + 1} not supported")
    return range(a, b + 1, op[3])


@register_layer
class PartLayer(Layer):
    name = "PartLayer"
    moves_numbers = True
    summary = "a part of the input: PartLayer[2], PartLayer[{All, 1 ;; 3}], PartLayer[{{1, 3}}]"
    positional = (Param("Specification", _part_spec, display=_spec_expr),)

    def infer(self, s: Infer) -> None:
        spec = s.value("Specification")
        t = s.port_type("Input")
        x = t.shape
        dropped = sum(op[0] == "int" for op in spec)
        y = s.port("Output")
        if x is None and y is not None:
            # backward: the rank, and the sizes of levels passed through unchanged
            rank = len(y) + dropped
            if rank < len(spec):
                s.fail("the number of part specifications cannot exceed the input rank")
            sizes: list = []
            j = 0
            for op in spec:
                if op[0] == "int":
                    sizes.append(None)
                    continue
                sizes.append(y[j] if op[0] == "all" else None)
                j += 1
            sizes.extend(y[j:])
            s.refine("Input", PortType(tuple(sizes), t.integer, t.classes), '"Output" port')
            x = s.port("Input")
        if x is None:
            return
        if len(x) == 0:
            s.fail("cannot take a part of a scalar")
        if len(spec) > len(x):
            s.fail("the number of part specifications cannot exceed the input rank")
        out: list = []
        try:
            for op, n in zip(spec, x):
                if is_length_var(n):   # positions are checked against each sequence's length
                    out.extend([] if op[0] == "int" else [n] if op[0] == "all" else
                               [len(op[1])] if op[0] == "list" else [LengthVar()])
                    continue
                if op[0] == "int":
                    if n is not None:
                        _position(op[1], n)
                elif op[0] == "all":
                    out.append(n)
                elif op[0] == "list":
                    if n is not None:
                        for k in op[1]:
                            _position(k, n)
                    out.append(len(op[1]))
                else:
                    out.append(None if n is None else len(_span_range(op, n)))
        except ValueError as e:
            s.fail(str(e))
        out.extend(x[len(spec):])
        t = s.port_type("Input")
        s.refine("Output", PortType(tuple(out), t.integer, t.classes), '"Input" port')

    # ---- numerics: integers and spans are one basic index (a view); position lists are
    # np.take along their (output) axis; backward scatters dy back into zeros ---------------
    def _plan(self, xshape: tuple):
        basic: list = []
        takes: list = []          # (output axis, 0-based positions)
        axis = 0
        for op, n in zip(self.values["Specification"], xshape):
            if op[0] == "int":
                basic.append(_position(op[1], n))
                continue
            if op[0] == "all":
                basic.append(slice(None))
            elif op[0] == "list":
                basic.append(slice(None))
                takes.append((axis, np.array([_position(k, n) for k in op[1]])))
            else:
                r = _span_range(op, n)
                basic.append(slice(r.start, r.stop, r.step))
            axis += 1
        return tuple(basic), takes

    def forward(self, ctx, arrays, x):
        try:
            basic, takes = self._plan(x.shape[:-1])
        except ValueError as e:   # a position beyond a "Varying" sequence's length
            raise self.error("partw", f"{e} (a sequence of this batch is too short).") from None
        y = x[basic]
        for axis, idx in takes:
            y = np.take(y, idx, axis=axis)
        return [np.ascontiguousarray(y)], ((x.shape, x.dtype) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy):
        xshape, xdtype = cache
        if xdtype.kind in "iu":
            return [None], {}
        basic, takes = self._plan(xshape[:-1])
        sub_shape = [len(range(*b.indices(n))) for b, n in zip(basic, xshape)
                     if isinstance(b, slice)] + list(xshape[len(basic):])   # x[basic]'s shape
        g = dy
        for axis, idx in reversed(takes):
            shape = list(g.shape)
            shape[axis] = sub_shape[axis]
            z = np.zeros(shape, dy.dtype)
            zm, gm = np.moveaxis(z, axis, 0), np.moveaxis(g, axis, 0)
            if len(np.unique(idx)) == len(idx):
                zm[idx] = gm
            else:
                np.add.at(zm, idx, gm)
            g = z
        dx = np.zeros(xshape, dy.dtype)
        dx[basic] = g
        return [dx], {}
