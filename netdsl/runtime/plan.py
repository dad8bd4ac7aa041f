"""A net compiled once into a plan: steps over numbered value slots, in topological order.

Compiling walks the networkx graph (nested containers are flattened into one
list of steps), binds every layer's arrays (shared arrays resolved at the
root), and notes when each intermediate value is last used so it can be
freed. Evaluating replays the steps and does no graph work; the plan is cached
on the net value, which never changes.
"""

from __future__ import annotations


import numpy as np

from ..errors import InitializationError, NumericalError
from ..graph.container import Container, dataflow, path_label
from ..layers.arrays import NO_ARRAY, SharedRef
from ..layers.base import Layer, Net
from .context import Ctx
from .layout import to_batch_last
from .fusion import fuse
from .operator_steps import OperatorStep
from .steps import Plan, Step, mark_frees


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
    if mode == "plain":
        plan = _Compiler(net, head or net.head_name).compile()
    else:
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
            ins = [self.as_read(net, p, in_slots[p], path) for p in net.port_names()[0]]
            keys = {spec.name: (("shared", v.name) if isinstance(v, SharedRef) else (path, spec.name))
                    for spec in net.array_specs
                    for v in [net.arrays.get(spec.name)] if v is not NO_ARRAY}
            self.steps.append(Step(net, self.arrays_of(net, path), ins, list(outs.values()),
                                   path, keys))
            return outs
        assert isinstance(net, Container)
        if net.operator is not None:
            return self.emit_operator(net, path, in_slots)
        return dataflow(net, in_slots,
                        lambda node, sub, feeds: self.emit(sub, path + (node,), feeds))

    def as_read(self, layer: Layer, port: str, slot: int, path: tuple) -> int:
        """The slot ``layer`` reads ``port`` from: integers given to a layer that computes
        with reals go through a ToReal step first (Layer.moves_numbers)."""
        t = layer.ports.get(port)
        if t is None or not t.integer or layer.reads_integers(port):
            return slot
        real = self.slot()
        self.steps.append(Step(ToReal(), {}, [slot], [real], path))
        return real

    def emit_operator(self, net: Container, path: tuple, in_slots: dict[str, int]
                      ) -> dict[str, int]:
        """One step running the inner nets' own plans (runtime/operator_steps.py)."""
        plans = []
        for name in net.order:
            inner = _Compiler(self.root, self.head)
            inner_net = net.net(name)
            inputs = {p: inner.slot() for p in inner_net.port_names()[0]}
            outputs = inner.emit(inner_net, path + (name,), dict(inputs))
            plan = Plan(inner.steps, inputs, outputs, inner.n)
            mark_frees(plan)
            plans.append(plan)
        if net.operator == "NetGANOperator":      # runtime/gan_step.py
            from .gan_step import GANStep
            runner: OperatorStep = GANStep(net, plans)
        else:
            runner = OperatorStep(net, plans)
        outs = {p: self.slot() for p in net.port_names()[1]}
        ins = [in_slots[p] for p in net.port_names()[0]]   # Input, a fold's shown "State"
        self.steps.append(Step(runner, runner.arrays, ins, list(outs.values()), path,
                               runner.keys))
        return outs

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


class ToReal:
    """Integer data (class indices, OrderingLayer's positions) as float32, for a layer that
    computes with reals; no gradient flows back to integers."""

    name = "ToReal"
    array_specs = ()

    def example_coupling(self, train: bool) -> str:
        return "none"

    def forward(self, ctx, arrays, x):
        return [x.astype(np.float32)], None

    def backward(self, ctx, arrays, cache, dy):
        return [None], {}

    def moving_updates(self, arrays, cache) -> dict:
        return {}


def _nninit(root: Net, path: tuple, array: str, head: str) -> InitializationError:
    return InitializationError(
        f'Cannot evaluate net: unspecified value for array "{array}"{path_label(root, path)}.',
        symbol=head, tag="nninit", hint="Use NetInitialize[net] to give every array a value.")


def missing_array_error(net: Net, head: str) -> InitializationError:
    """nninit for the first array of ``net`` without a value (``net.initialized`` is False)."""
    for path, layer in net.leaves():
        for spec in layer.array_specs:
            v = layer.arrays.get(spec.name)
            if isinstance(v, SharedRef):
                v = net.shared.get(v.name, layer.shared.get(v.name))
            if v is None:
                return _nninit(net, path, spec.name, head)
    raise AssertionError("the net is initialized")


def check_finite(plan: Plan, ctx: Ctx, inputs: dict[str, np.ndarray],
                 outputs: dict[str, np.ndarray], root: Net, head: str) -> None:
    """NaN or Inf in an output: Wolfram's netnan, naming the layer where it first appeared
    (``inputs``: batch-first, as the caller gave them)."""
    if all(y.dtype.kind != "f" or np.isfinite(y).all() for y in outputs.values()):
        return
    step = compile_plan(root, head).first_non_finite(    # unfused: names the layers
        ctx, {p: to_batch_last(x) for p, x in inputs.items()})
    where = ""
    if step is not None and step.path:  # inside a container: say which layer
        where = (f" NaN or Inf first appeared in {path_label(root, step.path)[4:]} "
                 f"({step.layer.name}).")
    raise NumericalError("A floating-point overflow, underflow, or division by zero occurred "
                         f"while evaluating the net.{where}", symbol=head, tag="netnan")
