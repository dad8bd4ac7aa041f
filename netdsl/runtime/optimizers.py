"""Optimisers over one flat float32 parameter buffer (so an update is a few vector ops).

Defaults are Wolfram's: ADAM (LearningRate 0.001, Beta1 0.9, Beta2 0.999,
Epsilon 1e-5, bias correction folded into the rate), SGD (LearningRate 0.01,
Momentum 0.93, with Wolfram's polynomial decay Sqrt[1 - t/(T + 1)]; the momentum
buffer holds rate-scaled steps, v <- Momentum v - lr_t g, w <- w + v), RMSProp
(Beta 0.95, Momentum 0.9, Epsilon 1e-6). Common options: "L2Regularization",
"GradientClipping" (elementwise), "WeightClipping", "LearningRateSchedule"
("Polynomial", for any method), "LearningRateMultipliers" (a per-element factor on
the learning rate, as MXNet's lr_mult: 0 freezes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Settings:
    method: str = "ADAM"
    learning_rate: float | None = None
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float | None = None
    momentum: float | None = None
    beta: float = 0.95
    l2: Any = 0.0
    gradient_clipping: Any = None   # a number, or per element of the flat buffer
    weight_clipping: Any = None
    schedule: Any = None    # "Polynomial" (SGD's default), or f(batch, total) -> multiplier
    extra: dict = field(default_factory=dict)

    @property
    def lr(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return {"ADAM": 0.001, "SGD": 0.01, "RMSProp": 0.001, "SignSGD": 0.01}[self.method]


class Optimizer:
    """Updates ``params`` in place from ``grads``; ``scale`` holds per-element multipliers."""

    def __init__(self, settings: Settings, params: np.ndarray, scale: np.ndarray | None,
                 total_steps: int):
        self.s = settings
        self.params = params
        self.scale = scale
        self.frozen = None if scale is None else scale == 0
        self.total = max(total_steps, 1)
        self.t = 0
        n, dt = params.size, params.dtype
        self.m = np.zeros(n, dt)
        self.v = np.zeros(n, dt) if settings.method in ("ADAM", "RMSProp") else None
        self.tmp = np.empty(n, dt)
        self.counts: np.ndarray | None = None   # per-element updates (an update schedule)

    def rate(self) -> float:
        """The learning rate of step ``t``: the schedule's multiplier of LearningRate."""
        s, lr = self.s, self.s.lr
        if s.schedule == "Polynomial":   # any method: Sqrt[1 - Min[t, T]/(T + 1)]
            lr *= np.sqrt(1 - min(self.t, self.total) / (self.total + 1))
        elif callable(s.schedule):       # "LearningRateSchedule" -> f: f[batch, total]
            lr *= s.schedule(max(self.t, 1), self.total)
        return float(lr)

    def step(self, grads: np.ndarray, active: np.ndarray | None = None) -> None:
        """One update. The multipliers scale the learning rate of each element (as
        Wolfram's LearningRateMultipliers do), not the gradient: with ADAM a scaled
        gradient would leave the step almost unchanged. ``active`` (TrainingUpdateSchedule):
        only those elements change, their optimiser state too; ADAM then counts each
        element's own updates for its bias correction, as MXNet counts per array."""
        p, g, tmp = self.params, grads, self.tmp
        f = p.dtype.type
        self.t += 1
        if active is not None:
            held = ~active
            saved = [(a, a[held].copy()) for a in (p, self.m, self.v) if a is not None]
            if self.counts is None:
                self.counts = np.zeros(p.size, p.dtype)
            self.counts += active
        self._update(g, tmp, f)
        if active is not None:
            for a, old in saved:
                a[held] = old

    def _update(self, g: np.ndarray, tmp: np.ndarray, f: Any) -> None:
        s, p = self.s, self.params
        if s.l2 is not None and np.any(s.l2):   # a number, or per element (rules by part)
            g += (s.l2 if isinstance(s.l2, np.ndarray) else f(s.l2)) * p
        if s.gradient_clipping is not None:
            np.clip(g, -s.gradient_clipping, s.gradient_clipping, out=g)
        lr = self.rate()
        if s.method == "ADAM":
            b1, b2 = s.beta1, s.beta2
            eps = 1e-5 if s.epsilon is None else s.epsilon
            self.m *= f(b1)
            self.m += f(1 - b1) * g
            self.v *= f(b2)
            np.multiply(g, g, out=tmp)
            tmp *= f(1 - b2)
            self.v += tmp
            np.sqrt(self.v, out=tmp)
            tmp += f(eps)
            np.divide(self.m, tmp, out=tmp)
            if self.counts is None:
                tmp *= f(lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t))
            else:   # each element's own update count
                c = np.maximum(self.counts, 1)
                tmp *= (lr * np.sqrt(1 - b2 ** c) / (1 - b1 ** c)).astype(p.dtype)
            if self.scale is not None:
                tmp *= self.scale
            p -= tmp
        elif s.method in ("SGD", "SignSGD"):
            mom = 0.93 if s.momentum is None else s.momentum
            # MXNet's sgd_mom_update (Wolfram's backend): v <- mom v - lr_t g; w <- w + v,
            # so a step already taken keeps the rate it was taken with
            np.multiply(np.sign(g) if s.method == "SignSGD" else g, f(lr), out=tmp)
            if self.scale is not None:
                tmp *= self.scale
            self.m *= f(mom)
            self.m -= tmp
            p += self.m
        elif s.method == "RMSProp":
            mom = 0.9 if s.momentum is None else s.momentum
            eps = 1e-6 if s.epsilon is None else s.epsilon
            self.v *= f(s.beta)
            np.multiply(g, g, out=tmp)
            self.v += f(1 - s.beta) * tmp
            np.sqrt(self.v, out=tmp)
            tmp += f(eps)
            np.divide(g, tmp, out=tmp)
            tmp *= f(lr)
            if self.scale is not None:
                tmp *= self.scale
            self.m *= f(mom)
            self.m += tmp
            p -= self.m
        else:  # pragma: no cover - validated when options are read
            raise ValueError(s.method)
        if s.weight_clipping is not None:   # frozen arrays stay as they are
            c = s.weight_clipping
            if self.frozen is None:
                np.clip(p, -c, c, out=p)
            else:
                np.copyto(p, np.clip(p, -c, c), where=~self.frozen)


METHODS = ("ADAM", "SGD", "RMSProp", "SignSGD")
