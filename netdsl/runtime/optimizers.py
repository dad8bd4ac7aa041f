"""Optimisers over one flat float32 parameter buffer (so an update is a few vector ops).

Defaults are Wolfram's: ADAM (LearningRate 0.001, Beta1 0.9, Beta2 0.999,
Epsilon 1e-5, bias correction folded into the rate), SGD (LearningRate 0.01,
Momentum 0.93, with Wolfram's polynomial decay Sqrt[1 - t/(T + 1)]), RMSProp
(Beta 0.95, Momentum 0.9, Epsilon 1e-6). Common options: "L2Regularization",
"GradientClipping" (elementwise), "WeightClipping", "LearningRateMultipliers"
(a per-element scale: 0 freezes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    l2: float = 0.0
    gradient_clipping: float | None = None
    weight_clipping: float | None = None
    schedule: str | None = None            # "Polynomial" for SGD by default
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
        self.total = max(total_steps, 1)
        self.t = 0
        n = params.size
        self.m = np.zeros(n, np.float32)
        self.v = np.zeros(n, np.float32) if settings.method in ("ADAM", "RMSProp") else None
        self.tmp = np.empty(n, np.float32)

    def step(self, grads: np.ndarray) -> None:
        s, p, g, tmp = self.s, self.params, grads, self.tmp
        self.t += 1
        if s.l2:
            g += np.float32(s.l2) * p
        if s.gradient_clipping is not None:
            np.clip(g, -s.gradient_clipping, s.gradient_clipping, out=g)
        if self.scale is not None:
            g *= self.scale
        lr = s.lr
        if s.method == "ADAM":
            b1, b2 = s.beta1, s.beta2
            eps = 1e-5 if s.epsilon is None else s.epsilon
            self.m *= b1
            self.m += np.float32(1 - b1) * g
            self.v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= np.float32(1 - b2)
            self.v += tmp
            lr_t = lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
            np.sqrt(self.v, out=tmp)
            tmp += np.float32(eps)
            np.divide(self.m, tmp, out=tmp)
            tmp *= np.float32(lr_t)
            p -= tmp
        elif s.method in ("SGD", "SignSGD"):
            mom = 0.93 if s.momentum is None else s.momentum
            if s.schedule == "Polynomial":
                lr *= np.sqrt(1 - min(self.t, self.total) / (self.total + 1))
            step_dir = np.sign(g) if s.method == "SignSGD" else g
            self.m *= np.float32(mom)
            self.m += step_dir
            p -= np.float32(lr) * self.m
        elif s.method == "RMSProp":
            mom = 0.9 if s.momentum is None else s.momentum
            eps = 1e-6 if s.epsilon is None else s.epsilon
            self.v *= np.float32(s.beta)
            np.multiply(g, g, out=tmp)
            self.v += np.float32(1 - s.beta) * tmp
            np.sqrt(self.v, out=tmp)
            tmp += np.float32(eps)
            np.divide(g, tmp, out=tmp)
            self.m *= np.float32(mom)
            self.m += np.float32(lr) * tmp
            p -= self.m
        else:  # pragma: no cover - validated when options are read
            raise ValueError(s.method)
        if s.weight_clipping is not None:
            np.clip(p, -s.weight_clipping, s.weight_clipping, out=p)


METHODS = ("ADAM", "SGD", "RMSProp", "SignSGD")
