"""Torch optimisers making NetTrain's updates exactly (netdsl/runtime/optimizers.py).

Per step t (from 1), for every element, with g the gradient:
    g <- g + L2 w                       ("L2Regularization")
    g <- Clip[g, {-c, c}]               ("GradientClipping")
    lr_t = lr Sqrt[1 - Min[t, T]/(T + 1)]   with the "Polynomial" schedule (SGD's default)
ADAM (Wolfram: LearningRate 0.001, Beta1 0.9, Beta2 0.999, Epsilon 1e-5):
    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
    w <- w - lr_t Sqrt[1 - b2^t]/(1 - b1^t) m/(Sqrt[v] + eps)
        (bias correction folded into the rate, eps added to the uncorrected Sqrt[v])
SGD (LearningRate 0.01, Momentum 0.93, MXNet's sgd_mom_update):
    u <- mom u - lr_t g;  w <- w + u
A learning-rate multiplier (the param group's "multiplier") scales each array's step;
"WeightClipping" clips the arrays after the step.
T is the total number of steps NetTrain plans: rounds times batches per round.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch

from ..runtime.train import OPTION_DEFAULTS, read_options


class _NetTrainOptimizer(torch.optim.Optimizer):
    def __init__(self, params: Iterable[Any], lr: float, total_steps: int, defaults: dict):
        defaults = dict(lr=lr, multiplier=1.0, **defaults)
        super().__init__(params, defaults)
        self.total = max(int(total_steps), 1)
        self.t = 0

    def _rate(self, group: dict) -> float:
        lr = group["lr"]
        if group["schedule"] == "Polynomial":
            lr *= math.sqrt(1 - min(self.t, self.total) / (self.total + 1))
        elif callable(group["schedule"]):   # f(batch, total) -> multiplier, as NetTrain's
            lr *= group["schedule"](max(self.t, 1), self.total)
        return lr

    @staticmethod
    def _gradient(p: torch.Tensor, group: dict) -> torch.Tensor:
        assert p.grad is not None
        g = p.grad.detach().clone()
        if group["l2"]:
            g += group["l2"] * p.detach()
        if group["gradient_clipping"] is not None:
            g.clamp_(-group["gradient_clipping"], group["gradient_clipping"])
        return g

    @staticmethod
    def _clip_weights(p: torch.Tensor, group: dict) -> None:
        c = group["weight_clipping"]
        if c is not None and group["multiplier"] != 0:
            p.clamp_(-c, c)


class ADAM(_NetTrainOptimizer):
    """NetTrain's Method -> "ADAM"."""

    def __init__(self, params, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-5, l2: float = 0.0, gradient_clipping: float | None = None,
                 weight_clipping: float | None = None, schedule: str | None = None,
                 total_steps: int = 1):
        super().__init__(params, lr, total_steps, dict(
            beta1=beta1, beta2=beta2, epsilon=epsilon, l2=l2, schedule=schedule,
            gradient_clipping=gradient_clipping, weight_clipping=weight_clipping))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        self.t += 1
        for group in self.param_groups:
            b1, b2, eps = group["beta1"], group["beta2"], group["epsilon"]
            lr_t = self._rate(group) * math.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = self._gradient(p, group)
                state = self.state[p]
                if not state:
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                m, v = state["m"], state["v"]
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).add_(g * g, alpha=1 - b2)
                p.sub_(m / (v.sqrt() + eps) * (lr_t * group["multiplier"]))
                self._clip_weights(p, group)
        return loss


class SGD(_NetTrainOptimizer):
    """NetTrain's Method -> "SGD" (with its default "Polynomial" learning-rate schedule)."""

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.93, l2: float = 0.0,
                 gradient_clipping: float | None = None, weight_clipping: float | None = None,
                 schedule: str | None = "Polynomial", total_steps: int = 1):
        super().__init__(params, lr, total_steps, dict(
            momentum=momentum, l2=l2, schedule=schedule, gradient_clipping=gradient_clipping,
            weight_clipping=weight_clipping))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        self.t += 1
        for group in self.param_groups:
            lr = self._rate(group) * group["multiplier"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = self._gradient(p, group)
                state = self.state[p]
                if not state:
                    state["u"] = torch.zeros_like(p)
                u = state["u"]
                u.mul_(group["momentum"]).sub_(g, alpha=lr)
                p.add_(u)
                self._clip_weights(p, group)
        return loss


def optimizer_for(params, total_steps: int = 1, **netrain_options: Any) -> _NetTrainOptimizer:
    """The optimiser NetTrain would use with these options (netdsl values or Python ones):
    ``optimizer_for(module.parameters(), total_steps=rounds * batches, Method="SGD",
    LearningRate=0.1)``."""
    unknown = set(netrain_options) - set(OPTION_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown NetTrain options: {sorted(unknown)}")
    o = read_options({**OPTION_DEFAULTS, **netrain_options})
    s = o.settings
    if s.extra:
        raise ValueError(f"optimizer_for takes numbers for {', '.join(sorted(s.extra))}; for "
                         f"values by part give each torch param group its own")
    common: dict[str, Any] = dict(l2=s.l2, gradient_clipping=s.gradient_clipping,
                  weight_clipping=s.weight_clipping, schedule=s.schedule,
                  total_steps=total_steps)
    if s.method == "ADAM":
        return ADAM(params, lr=s.lr, beta1=s.beta1, beta2=s.beta2,
                    epsilon=1e-5 if s.epsilon is None else s.epsilon, **common)
    if s.method == "SGD":
        return SGD(params, lr=s.lr, momentum=0.93 if s.momentum is None else s.momentum,
                   **common)
    raise ValueError(f"netdsl.torch has no optimiser for Method -> {s.method!r}; use ADAM or SGD")
