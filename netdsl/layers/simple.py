"""Shape-simple layers: SoftmaxLayer, FlattenLayer, ReshapeLayer, DropoutLayer, SummationLayer."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import Expr, S, is_integer, is_list, list_items
from .registry import register_layer
from .base import Infer, Layer, Option, Param, real_between
from .shapes import UNKNOWN, PortType, prod
from .text import value_text


@register_layer
class SoftmaxLayer(Layer):
    name = "SoftmaxLayer"
    summary = "Exp[x]/Total[Exp[x]] over the last level (SoftmaxLayer[n]: over level n)"
    positional = (Param("Level", lambda x: _softmax_level(x), optional=True, default=-1),)

    def automatic_loss(self):
        return "CrossEntropyLossLayer", ("Index",)

    def infer(self, s: Infer) -> None:
        s.same("Input", "Output")
        x = s.port("Input")
        if x is not None and len(x) == 0:
            s.fail('the "Input" port must be an array of rank ≥ 1')
        level = s.value("Level")
        if x is not None and not 1 <= abs(level) <= len(x):
            s.fail(f"level {level} is not a level of an input of rank {len(x)}")

    def _axis(self, x) -> int:
        """The example level as an axis of batch-last data (the last level is axis -2)."""
        level = self.values.get("Level", -1)
        return level - 1 if level > 0 else x.ndim - 1 + level

    # ---- numerics: over one example axis (by default the last, axis -2 batch-last) ------
    def forward(self, ctx, arrays, x):
        axis = self._axis(x)
        # stable: the largest is Exp[0]. The ufuncs' reduce directly: x.max()/x.sum() add a
        # Python-level wrapper each, a measurable part of a batch-1 call (issue 14)
        y = np.subtract(x, np.maximum.reduce(x, axis=axis, keepdims=True))
        np.exp(y, out=y)
        y /= np.add.reduce(y, axis=axis, keepdims=True)
        return [y], (y if ctx.grad else None)

    def backward(self, ctx, arrays, y, dy):
        axis = self._axis(y)
        if axis == y.ndim - 2:
            dx = np.subtract(dy, np.einsum("...cn,...cn->...n", dy, y)[..., None, :])
        else:
            dx = dy - (dy * y).sum(axis=axis, keepdims=True)
        dx *= y
        return [dx], {}


def _softmax_level(x: Any) -> int:
    if is_integer(x) and x != 0:
        return int(x)
    raise ValueError("expected a non-zero integer level")


# ---- numerics shared by FlattenLayer and ReshapeLayer: batch-last C-order data reshapes
# for free, so the output (and the gradient) is a view of the input (of dy).
def _reshape_forward(self, ctx, arrays, x):
    return [x.reshape(tuple(self.ports["Output"].shape) + (x.shape[-1],))], \
        (x.shape if ctx.grad else None)


def _reshape_backward(self, ctx, arrays, xshape, dy):
    return [dy.reshape(xshape)], {}


def _flatten_level(x: Any) -> Any:
    if x is S("Infinity"):
        return x
    if is_integer(x) and x != 0:
        return x
    if is_list(x):      # {{s11, s12, ...}, {s21, ...}, ...}: level groups
        groups = [list_items(g) if is_list(g) else None for g in list_items(x)]
        flat = [v for g in groups if g is not None for v in g]
        if groups and all(g for g in groups) and all(is_integer(v) and v >= 1 for v in flat) \
                and len(set(flat)) == len(flat):
            return tuple(tuple(int(v) for v in g) for g in groups if g is not None)
    raise ValueError("expected a non-zero integer, Infinity, or level groups "
                     "{{s11, s12, ...}, {s21, ...}, ...} of distinct positive levels")


def _flatten_display(v: Any) -> Any:
    if isinstance(v, tuple):
        return Expr(S("List"), *[Expr(S("List"), *g) for g in v])
    return v


def _group_order(groups: tuple, r: int) -> list[int]:
    """Input axes in output order: each group's levels, then the levels not named."""
    named = [v - 1 for g in groups for v in g]
    return named + [i for i in range(r) if i not in named]


@register_layer
class FlattenLayer(Layer):
    name = "FlattenLayer"
    moves_numbers = True
    summary = ("flattens the input to a vector (FlattenLayer[n]: the first n+1 levels; "
               "FlattenLayer[{{1, 2}, ...}]: level groups)")
    positional = (Param("Level", _flatten_level, optional=True, default=S("Infinity"),
                        display=_flatten_display),)

    def infer(self, s: Infer) -> None:
        x = s.port("Input")
        if x is None:
            return
        level = s.value("Level")
        if isinstance(level, tuple):
            # Flatten[list, {{s11, s12}, ...}]: output level i combines the levels of group
            # i; the levels not named follow in order
            bad = [v for g in level for v in g if v > len(x)]
            if bad:
                s.fail(f"level {bad[0]} exceeds the rank of the input ({len(x)})")
            named = {v - 1 for g in level for v in g}
            dims = [x[v - 1] for v in range(1, len(x) + 1)]
            out = [prod(dims[v - 1] for v in g) if all(dims[v - 1] is not None for v in g)
                   else None for g in level]
            out += [d for i, d in enumerate(dims) if i not in named]
            s.refine("Output", tuple(out), '"Input" port')
            return
        level = None if level is S("Infinity") else level
        r = len(x)
        if r == 0:
            s.fail('the "Input" port must be an array of rank ≥ 1')
        if level is not None and abs(level) >= r:
            s.fail(f"level specification of {level} is incompatible with input tensor, which "
                   f"has rank {r}")
        if level is None:
            k = r                       # everything into one vector
        elif level > 0:
            k = min(level + 1, r)       # the first level+1 dimensions
        else:
            k = min(-level + 1, r)      # the last |level|+1 dimensions
        if level is not None and level < 0:
            lead, merged = x[:r - k], x[r - k:]
            out = lead + ((prod(merged) if None not in merged else None),)
        else:
            merged, rest = x[:k], x[k:]
            out = ((prod(merged) if None not in merged else None),) + rest
        s.refine("Output", out, '"Input" port')

    def plain_reshape(self) -> bool:
        return not isinstance(self.values["Level"], tuple)

    # ---- numerics: a reshape (a free view); level groups transpose first ------------------
    def forward(self, ctx, arrays, x):
        level = self.values["Level"]
        if not isinstance(level, tuple):
            return _reshape_forward(self, ctx, arrays, x)
        order = _group_order(level, x.ndim - 1) + [x.ndim - 1]
        moved = np.ascontiguousarray(x.transpose(order))
        y = moved.reshape(tuple(self.ports["Output"].shape) + (x.shape[-1],))
        return [y], ((order, moved.shape) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy):
        if not isinstance(self.values["Level"], tuple):
            return _reshape_backward(self, ctx, arrays, cache, dy)
        order, moved_shape = cache
        return [np.ascontiguousarray(dy.reshape(moved_shape).transpose(np.argsort(order)))], {}


INHERITED = "Inherited"


def _reshape_dims(x: Any) -> tuple:
    if is_list(x):
        items = list_items(x)
        dims: list = []
        for i in items:
            if is_integer(i) and i >= 1:
                dims.append(i)
            elif i is S("Automatic") or i is S("All"):
                dims.append(None)
            elif i is S("Inherited"):
                dims.append(INHERITED)
            else:
                raise ValueError("expected positive integers, Inherited, and at most one "
                                 "Automatic")
        if sum(d is None for d in dims) <= 1:
            return tuple(dims)
    raise ValueError("expected a list of positive integers, Inherited, and at most one "
                     "Automatic")


def _reshape_expr(dims: tuple) -> Any:
    return Expr(S("List"), *[S("Automatic") if d is None else S("Inherited") if d == INHERITED
                             else d for d in dims])


@register_layer
class ReshapeLayer(Layer):
    name = "ReshapeLayer"
    moves_numbers = True
    summary = ("reshapes to {d1, d2, ...}: one may be Automatic (or All), Inherited copies the "
               "input's size at that level; the element count is kept")
    positional = (Param("Dimensions", _reshape_dims, display=_reshape_expr),)

    def infer(self, s: Infer) -> None:
        dims = s.value("Dimensions")
        x = s.port("Input")
        if INHERITED in dims:
            if x is None:
                return
            bad = [i + 1 for i, d in enumerate(dims) if d == INHERITED and i >= len(x)]
            if bad:
                s.fail(f"can't inherit from dimensions {value_text(tuple(bad))} given input rank of "
                       f"{len(x)}")
            dims = tuple(x[i] if d == INHERITED else d for i, d in enumerate(dims))
            if None in dims and sum(d is None for d in dims) > 1:
                return
        if x is not None and None not in x:
            total = prod(x)
            known = prod(d for d in dims if d is not None)
            if None in dims:
                if total % known:
                    s.fail(f"cannot reshape {total} elements to {_dims(dims)}")
                dims = tuple(total // known if d is None else d for d in dims)
            elif known != total:
                s.fail(f"the input has {total} elements, but dimensions {_dims(dims)} "
                       f"hold {known}")
        s.refine("Output", tuple(dims), 'parameter "Dimensions"')

    forward, backward = _reshape_forward, _reshape_backward

    def plain_reshape(self) -> bool:
        return True


def _dims(dims) -> str:
    return "{" + ", ".join("Automatic" if d is None else str(d) for d in dims) + "}"


# AlphaDropout keeps SELU's fixed point (mean 0, variance 1): a dropped element is set to
# -SELU_SCALE SELU_ALPHA, then the result is moved back by an affine map a x + b.
ALPHA_PRIME = -1.0507009873554805 * 1.6732632423543772


def _dropout_method(x: Any) -> str:
    if x in ("Dropout", "AlphaDropout"):
        return x
    raise ValueError('expected "Dropout" or "AlphaDropout"')


def _output_ports(x: Any) -> tuple:
    items = list_items(x) if is_list(x) else [x]
    if all(i in ("Output", "BinaryMask") for i in items) and items:
        return tuple(items)
    raise ValueError('expected "Output", "BinaryMask" or a list of them')


@register_layer
class DropoutLayer(Layer):
    name = "DropoutLayer"
    summary = "in training, zeroes elements with probability p (0.5) and scales the rest by 1/(1-p)"
    positional = (Param("DropoutProbability", real_between(0, 1), optional=True, default=0.5),)
    options = (Option("Method", "Dropout", _dropout_method),
               Option("OutputPorts", ("Output",), _output_ports))
    has_train_behavior = True

    @classmethod
    def build(cls, args: tuple, call: Any) -> Layer:
        layer = super().build(args, call)
        names = layer.port_names()[1]
        if names == ("Output",):
            return layer
        ports = {n: layer.ports.get(n, UNKNOWN) for n in ("Input",) + names}
        declared = {n: layer.declared[1].get(n, UNKNOWN) for n in ports}
        return layer.evolve(ports=ports, declared=(layer.declared[0], declared)).inferred()

    def port_names(self):
        return ("Input",), tuple(self.values.get("OutputPorts") or ("Output",))

    def check_options(self) -> None:
        if self.values["DropoutProbability"] >= 1:
            raise self.error("invopt", "The dropout probability must be below 1.")

    def example_coupling(self, train: bool) -> str:
        """Each example is masked alone, by draws from ctx.rng."""
        return "random" if train and self.values["DropoutProbability"] > 0 else "none"

    def infer(self, s: Infer) -> None:
        for name in self.port_names()[1]:
            if name in s.ports:          # (while build adds the ports asked for)
                s.same("Input", name)

    # ---- numerics: Train keeps each element with probability 1-p, scaled by 1/(1-p);
    # "AlphaDropout" sets dropped elements to ALPHA_PRIME and applies a x + b --------------
    def forward(self, ctx, arrays, x):
        p = float(self.values["DropoutProbability"])
        names = self.port_names()[1]
        alpha = self.values.get("Method") == "AlphaDropout"
        if not ctx.train or p == 0:
            outs = {"Output": x, "BinaryMask": np.ones(x.shape, x.dtype)}
            return [outs[n] for n in names], None
        # float32 uniforms whatever the data type, so one seed gives one mask
        keep = ctx.rng.random(x.shape, dtype=np.float32) >= np.float32(p)
        if alpha:
            q = 1.0 - p
            a = (q + ALPHA_PRIME ** 2 * q * p) ** -0.5
            b = -a * ALPHA_PRIME * p
            y = (np.where(keep, a * x, a * ALPHA_PRIME) + b).astype(x.dtype, copy=False)
            scaled = np.multiply(keep, a, dtype=x.dtype)
        else:
            scaled = np.multiply(keep, 1.0 / (1.0 - p), dtype=x.dtype)
            y = x * scaled
        outs = {"Output": y, "BinaryMask": keep.astype(x.dtype)}
        return [outs[n] for n in names], (scaled if ctx.grad else None)

    def backward(self, ctx, arrays, scaled, *dys):
        names = self.port_names()[1]
        dy = dys[names.index("Output")] if "Output" in names else np.zeros_like(dys[0])
        return [dy if scaled is None else dy * scaled], {}


@register_layer
class SummationLayer(Layer):
    name = "SummationLayer"
    summary = "the sum of all elements of the input"

    def infer(self, s: Infer) -> None:
        s.refine("Output", PortType(()), "its definition")

    # ---- numerics: one number per example; accumulated in float64 -----------------------
    def forward(self, ctx, arrays, x):
        n = x.shape[-1]
        y = x.reshape(-1, n).sum(axis=0, dtype=np.float64).astype(x.dtype)
        return [y], (x.shape if ctx.grad else None)

    def backward(self, ctx, arrays, xshape, dy):
        dx = np.empty(xshape, dy.dtype)
        dx[...] = dy
        return [dx], {}


