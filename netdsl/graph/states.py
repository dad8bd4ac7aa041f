"""NetPort[All, "States"]: every recurrent state of a net as extra ports of a copy of it.

Wolfram's ``net[data, NetPort[All, "States"]]`` gives the final states of the net's
recurrent layers and ``net[<|..., NetPort[All, "States"] -> assoc|>]`` sets their initial
ones. Both are keyed by the states' positions, as ``Information[net,
"RecurrentStatesPositionList"]`` lists them: ``{2, "State"}`` in an unnamed container,
``{"lstm", "CellState"}`` in a named one, ``"State"`` for a layer alone. A layer whose
initial state is fed by another layer in a NetGraph keeps that feed (its state cannot be
set from outside), as Wolfram's.

``with_state_ports`` shows the state ports (``Layer.with_optional_ports``) of every
recurrent layer (and NetFoldOperator, whose inner nets are not entered) at any depth
and wires each to a new port of every enclosing container,
so the executor runs the copy like any net.
"""

from __future__ import annotations

from typing import Any

from ..layers.base import Layer, Net
from .container import LINKS, NET, Container, PortNode

PREFIX = "States:"   # the extra ports' names: "States:2/State" (no user port has a colon)


def state_key(path: tuple, port: str) -> Any:
    """The position key: ``(2, "State")`` or ``"State"`` for a layer alone."""
    return path + (port,) if path else port


def with_state_ports(net: Net) -> tuple[Net, dict[Any, str], dict[Any, str]]:
    """(the copy, initial-state input port by key, final-state output port by key); kept
    on ``net`` (a value that never changes), so evaluating it again with its states reuses
    the copy and so the copy's compiled plan (read-only: callers must not change them)."""
    found = net.__dict__.get("_with_states")
    if found is None:
        copy, ins, outs = _expose(net)
        found = net.__dict__["_with_states"] = (
            copy, {state_key(k[:-1], k[-1]): p for k, p in ins.items()},
            {state_key(k[:-1], k[-1]): p for k, p in outs.items()})
    return found


def _expose(net: Net) -> tuple[Net, dict[tuple, str], dict[tuple, str]]:
    if isinstance(net, Layer) or getattr(net, "operator", None) is not None:
        # a state is an optional port both ways (an attention layer's "AttentionWeights"
        # is an optional output only, not a state)
        states = tuple(p for p in net.optional_outputs if p in net.optional_inputs)
        if not states:
            return net, {}, {}
        shown_in = net.port_names()[0]
        free = tuple(p for p in states if p not in shown_in)
        return net.with_optional_ports(free, states), \
            {(p,): p for p in free}, {(p,): p for p in states}
    assert isinstance(net, Container)
    g = net.graph.copy()
    ports = dict(net.ports)
    ins: dict[tuple, str] = {}
    outs: dict[tuple, str] = {}
    for name, sub in net.layers():
        new, sub_ins, sub_outs = _expose(sub)
        if new is sub:
            continue
        g.nodes[name][NET] = new
        position = name if net.named else int(name)
        for key, port in sub_ins.items():
            full = (position,) + key
            outer = PREFIX + "/".join(map(str, full))
            g.add_edge(PortNode("in", outer), name, **{LINKS: [(outer, port)]})
            ports[outer] = new.ports[port]
            ins[full] = outer
        for key, port in sub_outs.items():
            full = (position,) + key
            outer = PREFIX + "/".join(map(str, full))
            g.add_edge(name, PortNode("out", outer), **{LINKS: [(port, outer)]})
            ports[outer] = new.ports[port]
            outs[full] = outer
    if not ins and not outs:
        return net, {}, {}
    return net.evolve(graph=g, ports=ports), ins, outs
