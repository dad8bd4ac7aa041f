"""The training net: the user's net with a loss attached to each output, as Wolfram does.

The layer feeding an output says which loss fits it (``Layer.automatic_loss``):
cross-entropy on class indices after a softmax, binary cross-entropy after a
logistic sigmoid; mean squared error otherwise. An output that already is a loss
is used as it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...expr import (Association, Expr, Symbol, input_form, is_list, is_number, is_rule,
                     list_items)
from ...graph.build import build_graph
from ...graph.container import LINKS, Container, PortNode
from ...layers.base import Layer, Net
from ...layers.registry import LAYER_TYPES
from .common import HEAD, error

S = Symbol


def feeding_layer(net: Net, port: str) -> Net:
    """The layer that produces output ``port`` (looking inside nested containers)."""
    if not isinstance(net, Container) or net.operator is not None:
        return net       # an operator produces its output itself
    node = PortNode("out", port)
    (src, _, data), = net.graph.in_edges(node, data=True)
    (sp, _), = data[LINKS]
    return feeding_layer(net.net(src), sp) if not isinstance(src, PortNode) else net


def loss_for(net: Net, port: str) -> Layer:
    """Wolfram's automatic loss for an output: the one its feeding layer asks for, else
    mean squared error."""
    layer = feeding_layer(net, port)
    ask = getattr(layer, "automatic_loss", None)     # layers, and operators (a pair embedding)
    wanted = ask() if ask is not None else None
    name, args = wanted if wanted is not None else ("MeanSquaredLossLayer", ())
    return LAYER_TYPES[name].build(args, None)


def loss_ports(net: Net) -> list[str]:
    """Outputs that already are losses (fed by a loss layer)."""
    outs = net.port_names()[1]
    return [p for p in outs if _is_loss_output(feeding_layer(net, p), p)]


def _is_loss_output(layer: Net, port: str) -> bool:
    """A loss layer's output, or one of the outputs an operator names as its losses
    (``loss_outputs``: NetGANOperator's "LossReal" and "LossFake", not "GeneratedFake")."""
    named = getattr(layer, "loss_outputs", None)
    return port in named if named is not None else getattr(layer, "is_loss", False)


def training_net(net: Net, loss_spec: Any, targets_like: dict[str, np.ndarray]) -> tuple[Net, list[str]]:
    """The net with losses attached, and the names of its loss outputs."""
    if isinstance(loss_spec, str):
        if loss_spec not in net.port_names()[1]:
            raise error("lossport", f'The net has no output port "{loss_spec}" to use as the '
                                    f"loss.")
        return net, [loss_spec]
    chosen = _per_port(net, loss_spec)
    if isinstance(chosen, list):     # {"loss1", "loss2"}: outputs that are losses
        return net, chosen
    existing = loss_ports(net)
    if existing and loss_spec is S("Automatic"):
        return net, existing
    outs = [p for p in net.port_names()[1] if p not in existing]
    if chosen is not None:          # {"port" -> lossLayer, ...}: only those outputs
        outs, existing = [p for p in outs if p in chosen], [p for p in existing if p in chosen]
    layers: dict[str, Net] = {"net": net}
    edges = []
    scaled = {p: w for p, w in (chosen or {}).items() if isinstance(w, float)}
    for i, port in enumerate(outs, 1):
        if chosen is not None and isinstance(chosen.get(port), Layer):
            loss = chosen[port]
        elif isinstance(loss_spec, Layer) and loss_spec.is_loss:
            loss = loss_spec
        elif loss_spec is S("Automatic") or port in scaled:
            loss = loss_for(net, port)
            target = targets_like.get(port)
            if target is not None and target.ndim >= 1 and len(target):
                one = target[0].shape if target.dtype == object else target.shape[1:]
                loss = loss.for_target(one, net.ports[port].shape)
        else:
            raise error("lossfun", f"LossFunction -> {input_form(loss_spec)} is not a loss "
                                   f'layer or an output port name.')
        name = f"loss{i}" if len(outs) > 1 else "loss"
        layers[name] = loss
        out_name = f"Loss{i}" if len(outs) > 1 else "Loss"
        edges.append(_rule(_port("net", port), _port(name, "Input")))
        edges.append(_rule(Expr(S("NetPort"), port), _port(name, "Target")))
        edges.append(_rule(_port(name, "Loss"), _scaled(layers, scaled.get(port), name,
                                                         Expr(S("NetPort"), out_name), edges)))
    for p in existing:
        edges.append(_rule(_port("net", p), _scaled(layers, scaled.get(p), f"scale {p}",
                                                    Expr(S("NetPort"), p), edges)))
    spec = Association((k, v, False) for k, v in layers.items())
    tnet = build_graph(spec, Expr(S("List"), *edges), {}, HEAD)
    names = [("Loss" if len(outs) == 1 else f"Loss{i}") for i in range(1, len(outs) + 1)]
    return tnet, names + existing


def _scaled(layers: dict[str, Net], weight: float | None, name: str, target: Expr,
            edges: list) -> Any:
    """Where a loss goes: straight to ``target``, or (``"port" -> Scaled[w]``) through an
    ElementwiseLayer[w # &] first, so the loss and its gradient are both scaled by w."""
    if weight is None:
        return target
    scale = f"{name} scaled"
    layers[scale] = LAYER_TYPES["ElementwiseLayer"].build(
        (Expr(S("Function"), Expr(S("Times"), weight, Expr(S("Slot"), 1))),), None)
    edges.append(_rule(_port(scale, "Output"), target))
    return _port(scale, "Input")


def _port(layer: str, port: str) -> Expr:
    return Expr(S("NetPort"), layer, port)


def _rule(a: Any, b: Any) -> Expr:
    return Expr(S("Rule"), a, b)




def _per_port(net: Net, spec: Any) -> dict[str, Any] | list[str] | None:
    """LossFunction -> {"port" -> lossLayer, ...} (a dict), {"port1", "port2"} (outputs
    that are already losses: a list), or None for the other forms."""
    items = list_items(spec) if is_list(spec) else [spec] if is_rule(spec) else None
    if not items:
        return None
    outs = net.port_names()[1]
    if all(isinstance(i, str) for i in items):
        for p in items:
            if p not in outs:
                raise error("lossport", f'The net has no output port "{p}" to use as the loss.')
        return list(items)
    chosen: dict[str, Any] = {}
    for r in items:
        if not (is_rule(r) and isinstance(r.args[0], str)):
            raise error("lossfun", f"{input_form(r)} is not a loss specification; use "
                                   f'"port" -> lossLayer.')
        port, loss = r.args
        if port not in outs:
            raise error("lossport", f'The net has no output port "{port}" to attach a loss to; '
                                    f"its outputs are {', '.join(outs)}.")
        if isinstance(loss, Expr) and loss.head is S("Scaled") and len(loss.args) == 1 \
                and is_number(loss.args[0]):   # "port" -> Scaled[w]: that loss, weighted
            chosen[port] = float(loss.args[0])
            continue
        if not (isinstance(loss, Layer) and loss.is_loss):
            raise error("lossfun", f'"{port}" -> {input_form(loss)} is not a loss '
                                   f"specification; give a loss layer or Scaled[w].")
        chosen[port] = loss
    return chosen
