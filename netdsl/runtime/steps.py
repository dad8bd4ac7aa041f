"""A compiled net: steps over numbered value slots, and how to replay them.

A ``Step`` is one layer (or a fused group of layers) reading and writing slots;
a ``Plan`` is the steps in order plus where the net's inputs and outputs live.
Compiling (plan.py) and the rewrite rules (fusion.py) produce plans; evaluation,
the backward pass and training replay them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .context import Ctx


@dataclass
class Step:
    layer: Any            # a Layer, or a fused step (fusion.py): anything with forward [and backward]
    arrays: dict[str, np.ndarray]
    ins: list[int]
    outs: list[int]
    path: tuple
    keys: dict[str, tuple] = field(default_factory=dict)  # array name -> identity of the array:
    #                          ("shared", name) for a shared array, else (path, name)
    frees: list[int] = field(default_factory=list)   # slots dead after this step


@dataclass
class Plan:
    steps: list[Step]
    inputs: dict[str, int]     # net input port -> slot
    outputs: dict[str, int]    # net output port -> slot
    n_slots: int
    scratch: dict = field(default_factory=dict)   # buffers reused from one pass to the next
    lock: threading.Lock = field(default_factory=threading.Lock)
    # lanes.py: lanes 1.. own scratch buffers (lane 0 uses ``scratch``; all under ``lock``)
    lane_scratch: list = field(default_factory=list)
    lanes: dict = field(default_factory=dict)     # lanes.py: what it found out about this plan
    forked: Any = None        # lanes.py: its evaluations' worker processes (forked.py)

    def context(self, **settings: Any) -> tuple[Ctx, threading.Lock | None]:
        """A Ctx sharing this plan's scratch buffers, unless another thread holds them."""
        if self.lock.acquire(blocking=False):
            return Ctx(scratch=self.scratch, **settings), self.lock
        return Ctx(**settings), None

    def run(self, ctx: Ctx, inputs: dict[str, np.ndarray], keep: bool = False,
            steps: list[Step] | None = None, written: list[int] | None = None
            ) -> tuple[dict[str, np.ndarray], list[Any], list[Any]]:
        """Outputs by port, every slot value (intermediates freed unless ``keep``) and, with
        ``keep``, every step's cache. ``steps``: the same steps bound to other arrays (the
        trainer's parameter buffer). ``written``: gets the size of every value made
        (lanes.py's measure of a pass's work)."""
        values: list[Any] = [None] * self.n_slots
        for port, slot in self.inputs.items():
            values[slot] = inputs[port]
        ctx.batch = _batch_size(inputs)
        caches: list[Any] = []
        with np.errstate(all="ignore"):
            for step in steps or self.steps:
                ys, cache = step.layer.forward(ctx, step.arrays, *[values[i] for i in step.ins])
                for slot, y in zip(step.outs, ys):
                    values[slot] = y
                if written is not None:
                    written.append(sum(y.size for y in ys if isinstance(y, np.ndarray)))
                if keep:
                    caches.append(cache)
                else:
                    for slot in step.frees:
                        values[slot] = None
        return {p: values[s] for p, s in self.outputs.items()}, values, caches

    def first_non_finite(self, ctx: Ctx, inputs: dict[str, np.ndarray]) -> Step | None:
        """Re-run, checking each step, to name where NaN or Inf first appeared."""
        values: list[Any] = [None] * self.n_slots
        for port, slot in self.inputs.items():
            values[slot] = inputs[port]
        ctx.batch = _batch_size(inputs)
        with np.errstate(all="ignore"):
            for step in self.steps:
                ys, _ = step.layer.forward(ctx, step.arrays, *[values[i] for i in step.ins])
                for slot, y in zip(step.outs, ys):
                    values[slot] = y
                    if y.dtype.kind == "f" and not np.isfinite(y).all():
                        return step
        return None


def _batch_size(inputs: dict[str, np.ndarray]) -> int:
    """Examples in a pass: the last (batch) axis of any input."""
    for x in inputs.values():
        shape = x.shape if isinstance(x, np.ndarray) else np.shape(x)
        return int(shape[-1]) if shape else 1
    return 1


def mark_frees(plan: Plan) -> None:
    """Note, on the step that reads a value last, that the value can be dropped."""
    for step in plan.steps:
        step.frees = []
    last_use: dict[int, int] = {}
    for i, step in enumerate(plan.steps):
        for s in step.ins:
            last_use[s] = i
    keep = set(plan.outputs.values()) | set(plan.inputs.values())
    for slot, i in last_use.items():
        if slot not in keep:
            plan.steps[i].frees.append(slot)


