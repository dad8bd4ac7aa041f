"""A netdsl net as one torch.nn.Module, and the trained arrays back into the net.

The module replays the net's compiled plan (one step per layer, nested containers
flattened, shared arrays resolved): its learned arrays are parameters and its moving
statistics buffers, named by their NetExtract path ("conv/Weights", "2/1/Biases") or
"shared/<name>" for a NetSharedArray, so a state_dict reads like the net.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import EvaluationError
from ..expr import S
from ..graph.container import replace_leaves
from ..layers.arrays import NO_ARRAY, SharedRef
from ..layers.base import Net
from ..runtime.plan import compile_plan, missing_array_error
from ..runtime.train import training_net
from .layers import TORCH_LAYERS

HEAD = "netdsl.torch"


def _name(key: tuple) -> str:
    path, array = key
    return "shared/" + array if path == "shared" else "/".join(path + (array,))


class NetModule(torch.nn.Module):
    """The net's computation in torch. ``forward(x)`` for one input port, or
    ``forward(**{port: x})``; one output port gives a tensor, several a dict by port.
    A training module (``to_torch(net, loss=True)``) gives NetTrain's batch loss: the
    mean over the batch of the summed loss outputs."""

    def __init__(self, net: Net, prefix: tuple = (), loss_ports: list[str] | None = None):
        super().__init__()
        if not net.initialized:
            raise missing_array_error(net, HEAD)
        plan = compile_plan(net)
        self.prefix = prefix              # the user's net inside a training net: ("net",)
        self.loss_ports = loss_ports
        self.inputs = dict(plan.inputs)
        self.outputs = dict(plan.outputs)
        self.n_slots = plan.n_slots
        self.arrays = torch.nn.ParameterDict()
        self.steps: list[tuple[Any, dict[str, str], list[int], list[int], set[str]]] = []
        self.sync: Any = None
        seen: set[str] = set()
        for step in plan.steps:
            convert = TORCH_LAYERS.get(step.layer.name)
            if convert is None:
                where = "/".join(step.path) or "the net"
                raise EvaluationError(f"{step.layer.name} ({where}) has no PyTorch counterpart; "
                                      f"register one with netdsl.torch.register_torch_layer.",
                                      symbol=HEAD, tag="notorch")
            aux = {a.name for a in step.layer.array_specs if a.aux}
            names = {}
            for array, key in step.keys.items():
                name = _name(key)
                names[array] = name
                if name in seen:
                    continue
                seen.add(name)
                value = torch.tensor(np.asarray(step.arrays[array], np.float32))
                if array in aux:
                    self.register_buffer(_buffer(name), value)
                else:
                    self.arrays[name] = torch.nn.Parameter(value)
            self.steps.append((convert(step.layer), names, step.ins, step.outs, aux))

    def array(self, name: str) -> torch.Tensor:
        """A learned array or moving statistic by its name ("conv/Weights")."""
        if name in self.arrays:
            return self.arrays[name]
        return getattr(self, _buffer(name))

    def forward(self, *args: torch.Tensor, **by_port: torch.Tensor) -> Any:
        if args:
            if len(args) != 1 or len(self.inputs) != 1 or by_port:
                forms = ", ".join(f"{p}=..." for p in self.inputs)
                raise EvaluationError(f"The net has inputs {', '.join(self.inputs)}: give them "
                                      f"by port name, module({forms}).", symbol=HEAD,
                                      tag="inports")
            by_port = {next(iter(self.inputs)): args[0]}
        values: list[Any] = [None] * self.n_slots
        for port, slot in self.inputs.items():
            if port not in by_port:
                raise EvaluationError(f'no value for input port "{port}"', symbol=HEAD,
                                      tag="inports")
            values[slot] = by_port[port]
        batch = next(iter(by_port.values())).shape[0]
        for op, names, ins, outs, _aux in self.steps:
            a = {array: self.array(name) for array, name in names.items()}
            xs = [values[i] for i in ins]
            extra: dict[str, Any] = {}
            if self.sync is not None and getattr(op, "batch_statistics", False):
                extra["sync"] = self.sync
            if getattr(op, "needs_batch", False):
                extra["batch"] = batch
            ys, moving = op(a, xs, self.training, **extra)
            for slot, y in zip(outs, ys):
                values[slot] = y
            with torch.no_grad():
                for array, value in moving.items():
                    self.array(names[array]).copy_(value)
        if self.loss_ports is not None:
            return sum(values[self.outputs[p]].mean() for p in self.loss_ports)
        result = {p: values[s] for p, s in self.outputs.items()}
        return next(iter(result.values())) if len(result) == 1 else result


def _buffer(name: str) -> str:
    return "moving/" + name


def to_torch(net: Net, loss: Any = None, targets: dict[str, np.ndarray] | None = None
             ) -> NetModule:
    """The net as a torch module, in Test mode (``module.train()``: Train mode).

    ``loss=True`` (or a loss layer, or an output port name) gives the training net that
    NetTrain builds, with the loss attached to each output as NetTrain attaches it; its
    inputs are the net's inputs and one target port per output ("Output"); ``targets``
    (example targets by port) decides class indices versus probability vectors, as
    NetTrain's data does."""
    if loss is None or loss is False:
        return NetModule(net).eval()      # Test mode, netdsl's default
    spec = S("Automatic") if loss is True else loss
    like = {p: np.asarray(v) for p, v in (targets or {}).items()}
    tnet, loss_names = training_net(net, spec, like)
    prefix = ("net",) if tnet is not net else ()
    return NetModule(tnet, prefix, loss_names).train()


def from_torch(module: NetModule, net: Net) -> Net:
    """``net`` with the module's arrays (learned arrays and moving statistics), as frozen
    float32 arrays. The module must have been made from this net (or its training net);
    a wrapper holding it as ``.module`` (DistributedDataParallel) is unwrapped."""
    while not isinstance(module, NetModule) and isinstance(getattr(module, "module", None),
                                                            torch.nn.Module):
        module = module.module
    if not isinstance(module, NetModule):
        raise EvaluationError("from_torch needs a module made by to_torch.", symbol=HEAD,
                              tag="fromtorch")
    def take(name: str, shape: tuple) -> np.ndarray:
        try:
            t = module.array(name)
        except AttributeError:
            raise EvaluationError(f'the module has no array "{name}": was it made from this '
                                  f"net?", symbol=HEAD, tag="fromtorch") from None
        a = t.detach().cpu().numpy().astype(np.float32, copy=True)
        if a.shape != shape:
            raise EvaluationError(f'the module\'s array "{name}" has dimensions '
                                  f"{list(a.shape)}, the net's {list(shape)}", symbol=HEAD,
                                  tag="fromtorch")
        a.flags.writeable = False
        return a

    new = {}
    shared = dict(net.shared)
    for path, layer in net.leaves():
        arrays = dict(layer.arrays)
        for spec in layer.array_specs:
            v = arrays.get(spec.name)
            if v is None or v is NO_ARRAY:
                continue
            if isinstance(v, SharedRef):
                old = np.asarray(shared.get(v.name))
                shared[v.name] = take("shared/" + v.name, old.shape)
                continue
            if not hasattr(v, "shape"):
                continue
            arrays[spec.name] = take("/".join(module.prefix + path + (spec.name,)), v.shape)
        new[path] = layer.evolve(arrays=arrays)
    return replace_leaves(net, new).evolve(shared=shared)


def sync_batch_norm(module: NetModule, group: Any = None) -> NetModule:
    """BatchNormalization in Train mode uses the statistics of the global batch: per-channel
    sums over every process of ``group`` (torch.distributed), as torch's SyncBatchNorm does,
    with netdsl's biased variance and Wolfram's momentum. The sums' gradient is summed over
    the processes too, so DDP's averaged gradient is that of the global batch's loss."""
    module.sync = lambda x: _AllReduceSum.apply(x, group)
    return module


class _AllReduceSum(torch.autograd.Function):
    """Sum over every process; the backward pass sums the incoming gradients the same way."""

    @staticmethod
    def forward(ctx, x, group):
        import torch.distributed as dist
        ctx.group = group
        y = x.clone()
        dist.all_reduce(y, group=group)
        return y

    @staticmethod
    def backward(ctx, g):
        import torch.distributed as dist
        g = g.clone()
        dist.all_reduce(g, group=ctx.group)
        return g, None
