"""A net compiled once into a plan: steps over numbered value slots, in topological order.

Compiling walks the networkx graph (nested containers are flattened into one
list of steps), binds every layer's arrays (shared arrays resolved at the
root), and notes when each intermediate value is last used so it can be
freed. Evaluating replays the steps and does no graph work; the plan is cached
on the net value, which never changes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from ..errors import InitializationError, NumericalError
from ..graph.container import LINKS, Container, PortNode
from ..layers.base import NO_ARRAY, Layer, Net, SharedRef
from .context import Ctx
from .memory import tune_malloc


@dataclass
class Step:
    layer: Layer
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

    def context(self, **settings) -> "Ctx":
        """A Ctx sharing this plan's scratch buffers, unless another thread holds them."""
        if self.lock.acquire(blocking=False):
            return Ctx(scratch=self.scratch, **settings), self.lock
        return Ctx(**settings), None

    def run(self, ctx: Ctx, inputs: dict[str, np.ndarray], keep: bool = False,
            steps: list[Step] | None = None) -> tuple[dict[str, np.ndarray], list[Any], list[Any]]:
        """Outputs by port, every slot value (intermediates freed unless ``keep``) and, with
        ``keep``, every step's cache. ``steps``: the same steps bound to other arrays (the
        trainer's parameter buffer)."""
        values: list[Any] = [None] * self.n_slots
        for port, slot in self.inputs.items():
            values[slot] = inputs[port]
        caches: list[Any] = []
        with np.errstate(all="ignore"):
            for step in steps or self.steps:
                ys, cache = step.layer.forward(ctx, step.arrays, *[values[i] for i in step.ins])
                for slot, y in zip(step.outs, ys):
                    values[slot] = y
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
        with np.errstate(all="ignore"):
            for step in self.steps:
                ys, _ = step.layer.forward(ctx, step.arrays, *[values[i] for i in step.ins])
                for slot, y in zip(step.outs, ys):
                    values[slot] = y
                    if y.dtype.kind == "f" and not np.isfinite(y).all():
                        return step
        return None


# ---------------------------------------------------------------- compiling
def compile_plan(net: Net, head: str | None = None, mode: str = "plain") -> Plan:
    """The plan for ``net``, cached on it (nets are immutable values).

    mode "plain": one step per layer (used to name the layer where NaN appeared);
    "train": with the rewrite rules of fusion.py that keep backward exact (NetTrain,
    Train-mode evaluation); "test": with every rule (Test-mode evaluation).
    """
    plans = net.__dict__.setdefault("_plans", {})
    cached = plans.get(mode)
    if cached is not None:
        return cached
    tune_malloc()
    if mode == "plain":
        plan = _Compiler(net, head or net.head_name).compile()
    else:
        from .fusion import fuse  # noqa: PLC0415
        plan = fuse(compile_plan(net, head), training=mode == "train")
    plans[mode] = plan
    return plan


class _Compiler:
    def __init__(self, net: Net, head: str):
        self.root = net
        self.head = head
        self.steps: list[Step] = []
        self.n = 0

    def slot(self) -> int:
        self.n += 1
        return self.n - 1

    def compile(self) -> Plan:
        ins, outs = self.root.port_names()
        inputs = {p: self.slot() for p in ins}
        outputs = self.emit(self.root, (), dict(inputs))
        plan = Plan(self.steps, inputs, outputs, self.n)
        mark_frees(plan)
        return plan

    def emit(self, net: Net, path: tuple, in_slots: dict[str, int]) -> dict[str, int]:
        if isinstance(net, Layer):
            outs = {p: self.slot() for p in net.port_names()[1]}
            ins = [in_slots[p] for p in net.port_names()[0]]
            keys = {spec.name: (("shared", v.name) if isinstance(v, SharedRef) else (path, spec.name))
                    for spec in net.array_specs
                    for v in [net.arrays.get(spec.name)] if v is not NO_ARRAY}
            self.steps.append(Step(net, self.arrays_of(net, path), ins, list(outs.values()),
                                   path, keys))
            return outs
        assert isinstance(net, Container)
        produced: dict[tuple[Any, str], int] = {}
        for p, s in in_slots.items():
            produced[(PortNode("in", p), p)] = s
        result: dict[str, int] = {}
        for node in nx.topological_sort(net.graph):
            if isinstance(node, PortNode):
                if node.side == "out":
                    (src, _, data), = net.graph.in_edges(node, data=True)
                    (sp, _), = data[LINKS]
                    result[node.name] = produced[(src, sp)]
                continue
            feeds = {}
            for src, _, data in net.graph.in_edges(node, data=True):
                for sp, dp in data[LINKS]:
                    feeds[dp] = produced[(src, sp)]
            outs = self.emit(net.net(node), path + (node,), feeds)
            for p, s in outs.items():
                produced[(node, p)] = s
        return result

    def arrays_of(self, layer: Layer, path: tuple) -> dict[str, np.ndarray]:
        arrays = {}
        for spec in layer.array_specs:
            v = layer.arrays.get(spec.name)
            if isinstance(v, SharedRef):
                v = self.root.shared.get(v.name, layer.shared.get(v.name))
            if v is NO_ARRAY:
                continue
            if v is None:
                raise _nninit(self.root, path, spec.name, self.head)
            arrays[spec.name] = v
        return arrays


def _nninit(root: Net, path: tuple, array: str, head: str) -> InitializationError:
    from .initialize import path_label  # noqa: PLC0415
    return InitializationError(
        f'Cannot evaluate net: unspecified value for array "{array}"{path_label(root, path)}.',
        symbol=head, tag="nninit", hint="Use NetInitialize[net] to give every array a value.")


def missing_array_error(net: Net, head: str) -> InitializationError:
    """nninit for the first array of ``net`` without a value (``net.initialized`` is False)."""
    from .initialize import leaves  # noqa: PLC0415
    for path, layer in leaves(net):
        for spec in layer.array_specs:
            v = layer.arrays.get(spec.name)
            if isinstance(v, SharedRef):
                v = net.shared.get(v.name, layer.shared.get(v.name))
            if v is None:
                return _nninit(net, path, spec.name, head)
    raise AssertionError("the net is initialized")


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


def check_finite(plan: Plan, ctx: Ctx, inputs: dict[str, np.ndarray],
                 outputs: dict[str, np.ndarray], root: Net, head: str) -> None:
    """NaN or Inf in an output: Wolfram's netnan, naming the layer where it first appeared."""
    if all(y.dtype.kind != "f" or np.isfinite(y).all() for y in outputs.values()):
        return
    step = compile_plan(root, head).first_non_finite(ctx, inputs)  # unfused: names layers
    where = ""
    if step is not None and step.path:  # inside a container: say which layer
        from .initialize import path_label  # noqa: PLC0415
        where = (f" NaN or Inf first appeared in {path_label(root, step.path)[4:]} "
                 f"({step.layer.name}).")
    raise NumericalError("A floating-point overflow, underflow, or division by zero occurred "
                         f"while evaluating the net.{where}", symbol=head, tag="netnan")
