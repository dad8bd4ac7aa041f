"""TransposeLayer: levels of the input exchanged or permuted, as Wolfram's Transpose:
TransposeLayer[] (= 1 <-> 2), TransposeLayer[1 <-> 3], TransposeLayer[{1 <-> 2, 3 <-> 4}],
TransposeLayer[{2, 3, 1}] (level i goes to level perm[i]) and TransposeLayer[a -> b] (level a
moved to position b, the levels between shifted)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import Expr, S, input_form, is_integer, is_list, is_rule, list_items
from .base import Infer, Layer, Param
from .registry import register_layer


def _pair(x: Any) -> tuple | None:
    if isinstance(x, Expr) and x.head in (S("TwoWayRule"), S("Rule")) and len(x.args) == 2 \
            and all(is_integer(a) and a != 0 for a in x.args):
        return ("swap" if x.head is S("TwoWayRule") else "move", int(x.args[0]), int(x.args[1]))
    return None


def _transpose_spec(x: Any) -> tuple:
    one = _pair(x)
    if one is not None:
        return (one,)
    if is_list(x):
        items = list_items(x)
        if items and all(is_integer(i) for i in items):
            if sorted(items) != list(range(1, len(items) + 1)):
                raise ValueError(f"{input_form(x)} is not a permutation of 1..{len(items)}")
            return (("perm", tuple(int(i) for i in items)),)
        pairs = [_pair(i) for i in items]
        if items and all(p is not None for p in pairs):
            return tuple(pairs)  # type: ignore[arg-type]
    raise ValueError("expected a <-> b, a -> b, a list of these, or a permutation {p1, p2, ...}")


def _spec_expr(spec: tuple) -> Any:
    def one(op):
        if op[0] == "perm":
            return Expr(S("List"), *op[1])
        return Expr(S("TwoWayRule" if op[0] == "swap" else "Rule"), op[1], op[2])
    if len(spec) == 1:
        return one(spec[0])
    return Expr(S("List"), *[one(op) for op in spec])


def axis_order(spec: tuple, rank: int) -> list[int]:
    """The input level (0-based) that each output level holds. ValueError if out of range."""
    order = list(range(rank))

    def fix(k: int) -> int:
        if not 1 <= abs(k) <= rank:
            raise ValueError(f"transpose specification {k} is incompatible with an input of "
                             f"rank {rank}")
        return k - 1 if k > 0 else rank + k
    for op in spec:
        if op[0] == "perm":
            p = op[1]
            if len(p) > rank:
                perm = input_form(Expr(S("List"), *p))
                raise ValueError(f"the permutation {perm} is longer than the input rank {rank}")
            head = [order[i] for i in np.argsort(p)]
            order[:len(p)] = head
        elif op[0] == "swap":
            a, b = fix(op[1]), fix(op[2])
            order[a], order[b] = order[b], order[a]
        else:
            a, b = fix(op[1]), fix(op[2])
            moved = order.pop(a)
            order.insert(b, moved)
    return order


@register_layer
class TransposeLayer(Layer):
    name = "TransposeLayer"
    moves_numbers = True
    summary = "exchanges levels of the input: TransposeLayer[1 <-> 3], TransposeLayer[{2, 3, 1}]"
    positional = (Param("Specification", _transpose_spec, optional=True,
                        default=(("swap", 1, 2),), display=_spec_expr),)

    @classmethod
    def build(cls, args: tuple, call: Any) -> Layer:
        # TransposeLayer[1 -> 3] is the specification, not an option named 1
        if args and is_rule(args[0]) and is_integer(args[0].args[0]):
            args = (Expr(S("List"), args[0]),) + tuple(args[1:])
        return super().build(args, call)

    def infer(self, s: Infer) -> None:
        spec = s.value("Specification")
        tx, ty = s.port_type("Input"), s.port_type("Output")
        rank = tx.rank if tx.rank is not None else ty.rank
        if rank is None:
            return
        try:
            order = axis_order(spec, rank)
        except ValueError as e:
            s.fail(str(e))
            return
        x = tx.shape or (None,) * rank
        y = ty.shape or (None,) * rank
        if len(x) != len(y):
            s.fail(f"the input has rank {len(x)} but the output rank {len(y)}")
        s.refine("Output", tuple(x[i] for i in order), '"Input" port')   # (kind: carry_integers)
        back = [None] * rank
        for j, i in enumerate(order):
            back[i] = y[j]
        s.refine("Input", tuple(back), '"Output" port')

    # ---- numerics: one transpose copy each way (the batch axis stays last) ----------------
    def forward(self, ctx, arrays, x):
        order = axis_order(self.values["Specification"], x.ndim - 1) + [x.ndim - 1]
        return [np.ascontiguousarray(x.transpose(order))], (order if ctx.grad else None)

    def backward(self, ctx, arrays, order, dy):
        return [np.ascontiguousarray(dy.transpose(np.argsort(order)))], {}
