"""Loss layers: MeanSquaredLossLayer and CrossEntropyLossLayer. "Loss" is a real number per example."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import among
from ..errors import EvaluationError
from .registry import register_layer
from .base import Infer, Layer, Param
from .shapes import PortType, is_length_var


# Probabilities are clipped below at P_MIN before Log (and 1 - p too, for "Binary"), so a
# probability of exactly 0 (or 1) gives the finite loss -Log[P_MIN] = 69.08 instead of
# Infinity. 1e-30 is a normal float32 (least 1.2e-38), far below any probability that
# matters, so the loss is exact for all p >= 1e-30; where the clip acts, the gradient is 0
# (the exact derivative of the clipped function), never 1/0. Wolfram does not document its
# constant (wolfram-semantics.md §12).
P_MIN = 1e-30


def _safe_log(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Log[Max[p, P_MIN]], 1/p where p >= P_MIN else 0)."""
    ok = p >= P_MIN
    q = np.where(ok, p, P_MIN).astype(p.dtype, copy=False)
    inv = np.divide(1.0, q, dtype=p.dtype)
    inv *= ok
    return np.log(q), inv


def _per_example_mean(a: np.ndarray) -> np.ndarray:
    """Mean over everything but the last (batch) axis, accumulated in float64."""
    n = a.shape[-1]
    return a.reshape(-1, n).mean(axis=0, dtype=np.float64).astype(a.dtype)


class LossLayer(Layer):
    """A loss: "Input" and "Target" in, one number per example out."""

    inputs = ("Input", "Target")
    outputs = ("Loss",)
    is_loss = True


@register_layer
class MeanSquaredLossLayer(LossLayer):
    name = "MeanSquaredLossLayer"
    summary = "the mean of (Input - Target)^2"

    def infer(self, s: Infer) -> None:
        s.same("Input", "Target")
        s.refine("Loss", PortType(()), "its definition")

    # ---- numerics: x, t (dims.., N); loss (N,) = mean over dims of (x - t)^2 --------------
    def forward(self, ctx, arrays, x, t):
        diff = np.subtract(x, t, dtype=x.dtype)
        return [_per_example_mean(diff * diff)], (diff if ctx.grad else None)

    def backward(self, ctx, arrays, diff, dloss):
        m = diff.size // diff.shape[-1]
        dx = diff * (dloss * (2.0 / m)).astype(diff.dtype)
        return [dx, -dx], {}


def _target_form(x: Any) -> str:
    if among(x, ("Index", "Probabilities", "Binary")):
        return x
    raise ValueError('expected "Index", "Probabilities" or "Binary"')


@register_layer
class CrossEntropyLossLayer(LossLayer):
    name = "CrossEntropyLossLayer"

    def reads_integers(self, port: str) -> bool:
        return port == "Target"     # "Index" targets: class indices
    summary = ('-Log of the probability of the target: "Index" (class 1..n), '
               '"Probabilities" or "Binary"')
    positional = (Param("TargetForm", _target_form),)
    hidden = ("Classes",)

    def for_target(self, target_shape, input_shape):
        """Targets shaped like the input are probability vectors (one-hot), not indices
        (a "Varying" length of the input matches any length)."""
        if self.values.get("TargetForm") == "Index" and input_shape is not None \
                and len(target_shape) >= 1 and len(target_shape) == len(input_shape) \
                and all(t == d or is_length_var(d) for t, d in zip(target_shape, input_shape)):
            return type(self).build(("Probabilities",), None)
        return self

    def infer(self, s: Infer) -> None:
        s.refine("Loss", PortType(()), "its definition")
        form = s.value("TargetForm")
        if form != "Index":
            s.same("Input", "Target")
            return
        x, t = s.port("Input"), s.port("Target")
        classes = s.port_type("Target").classes     # indices 1..n (an encoder's classes)
        if classes is not None:
            s.set_value("Classes", classes, '"Target" port')
        if x is not None:
            if len(x) == 0:
                s.fail('the "Input" port must be a probability vector (or an array of them)')
            s.set_value("Classes", x[-1], '"Input" port')
            s.refine("Target", PortType(x[:-1], integer=True, classes=s.value("Classes")),
                     '"Input" port')
        elif t is not None:
            s.refine("Input", t + (s.value("Classes"),), '"Target" port')
        s.refine("Target", PortType(s.port("Target"), integer=True), "its definition")

    # ---- numerics: x (dims.., c, N) probabilities, classes on axis -2 -------------------
    # "Index":         t (dims.., N) integers 1..c;   loss = Mean over dims of -Log[p[t]]
    # "Probabilities": t like x;  loss = Mean over dims of -Total[t Log[p]] (over the classes)
    # "Binary":        t like x;  loss = Mean over all of -(t Log[p] + (1 - t) Log[1 - p])
    def forward(self, ctx, arrays, x, t):
        form = self.values["TargetForm"]
        n = x.shape[-1]
        if form == "Index":
            c = x.shape[-2]
            x3 = x.reshape(-1, c, n)
            idx = np.asarray(t, np.int64).reshape(x3.shape[0], 1, n) - 1
            if idx.size and (idx.min() < 0 or idx.max() >= c):
                bad = int(idx.min() if idx.min() < 0 else idx.max()) + 1
                raise EvaluationError(f"the target class index {bad} is not between 1 and {c}.",
                                      symbol=self.name, tag="invindex")
            p = np.take_along_axis(x3, idx, axis=1)[:, 0, :]          # (dims, N)
            logp, inv = _safe_log(p)
            loss = -_per_example_mean(logp)
            cache = (x.shape, idx, inv) if ctx.grad else None
        elif form == "Probabilities":
            logp, inv = _safe_log(x)
            m = x.size // (n * (x.shape[-2] if x.ndim > 1 else 1))   # examples' non-class size
            total = np.einsum("in,in->n", t.reshape(-1, n), logp.reshape(-1, n))
            loss = (total * (-1.0 / m)).astype(x.dtype)
            cache = (t, logp, inv, m) if ctx.grad else None
        else:
            logp, inv = _safe_log(x)
            log1p, inv1 = _safe_log(np.subtract(1, x, dtype=x.dtype))
            loss = -_per_example_mean(t * logp + (1 - t) * log1p)
            cache = (t, logp, inv, log1p, inv1) if ctx.grad else None
        return [loss], cache

    def backward(self, ctx, arrays, cache, dloss):
        form = self.values["TargetForm"]
        if form == "Index":
            xshape, idx, inv = cache
            m = idx.shape[0]
            dx = np.zeros((m, xshape[-2], xshape[-1]), inv.dtype)
            np.put_along_axis(dx, idx, (inv * (dloss * (-1.0 / m)))[:, None, :], axis=1)
            return [dx.reshape(xshape), None], {}
        if form == "Probabilities":
            t, logp, inv, m = cache
            g = (dloss * (-1.0 / m)).astype(logp.dtype)
            return [t * inv * g, logp * g], {}
        t, logp, inv, log1p, inv1 = cache
        m = t.size // t.shape[-1]
        g = (dloss * (-1.0 / m)).astype(logp.dtype)
        return [(t * inv - (1 - t) * inv1) * g, (logp - log1p) * g], {}
