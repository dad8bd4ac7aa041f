"""The backward pass over a plan: gradients flow from the outputs back through every step.

A value used by several steps gets the sum of their gradients (fan-out), and
an array used by several layers (a shared array) the sum of theirs.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .context import Ctx
from .steps import Step


def backward(steps: list[Step], ctx: Ctx, values: list[Any], caches: list[Any],
             seeds: dict[int, np.ndarray], on_array_grad: Callable[[tuple, np.ndarray], None],
             input_slots: frozenset[int] | set[int] = frozenset()) -> list[Any]:
    """Run every step's backward in reverse; ``on_array_grad(key, grad)`` receives each
    array gradient (several calls for a shared array). Returns the gradients by slot."""
    grads: list[Any] = [None] * len(values)
    owned = [False] * len(values)     # whether grads[slot] is our own buffer (safe to add into)
    for slot, g in seeds.items():
        grads[slot] = g
    with np.errstate(all="ignore"):
        for i in range(len(steps) - 1, -1, -1):
            step = steps[i]
            dys = [grads[s] for s in step.outs]
            if all(d is None for d in dys):
                continue
            dys = [d if d is not None else np.zeros_like(values[s])
                   for d, s in zip(dys, step.outs)]
            ctx.need_dx = ctx.keep_input_grads or any(s not in input_slots for s in step.ins)
            dxs, darrays = step.layer.backward(ctx, step.arrays, caches[i], *dys)
            for name, g in darrays.items():
                on_array_grad(step.keys[name], g)
            for s, dx in zip(step.ins, dxs):
                if dx is None or s in input_slots and not ctx.keep_input_grads:
                    continue
                if grads[s] is None:
                    grads[s] = dx
                elif owned[s]:
                    grads[s] += dx
                else:
                    grads[s] = grads[s] + dx
                    owned[s] = True
            for s in step.outs:  # this step's output gradients are no longer needed
                grads[s] = None
    return grads
