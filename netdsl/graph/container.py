"""NetChain and NetGraph: containers whose structure is a ``networkx.DiGraph``.

Nodes are layer names (strings, "1", "2", ... for a list of layers), each
carrying its net under ``NET``, plus one node per container port,
``PortNode("in", "Input")``. An edge u -> v carries ``LINKS``: the
(out-port of u, in-port of v) pairs it stands for. The graph is the single
source of truth that inference, initialisation, the executor and the
trainer walk; a container value never changes after construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import networkx as nx
import numpy as np

from ..layers.base import Layer, Net, SharedRef
from ..layers.shapes import PortType

NET = "net"        # node attribute: the Layer or Container at that node
LINKS = "links"    # edge attribute: list of (src_port, dst_port)


@dataclass(frozen=True)
class PortNode:
    """A container's own input (``side="in"``) or output (``side="out"``) port."""

    side: str
    name: str


class Container(Net):
    """A NetChain or NetGraph value."""

    def __init__(self, kind: str, graph: nx.DiGraph, order: list[str], named: bool,
                 ports: dict[str, PortType], shared: dict[str, Any] | None = None):
        self.kind = kind          # "NetChain" or "NetGraph"
        self.head_name = kind
        self.graph = graph
        self.order = order        # layer names in the order written
        self.named = named        # written as an association (names shown quoted)
        self.ports = ports        # container port name -> PortType
        self.shared = shared or {}
        self.span = None
        self.declared_ports = dict(ports)   # as written, before inference: see reset()

    # ---- structure --------------------------------------------------------
    def port_names(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        ins = tuple(n.name for n in self.graph if isinstance(n, PortNode) and n.side == "in")
        outs = tuple(n.name for n in self.graph if isinstance(n, PortNode) and n.side == "out")
        return ins, outs

    def net(self, name: str) -> Net:
        return self.graph.nodes[name][NET]

    def layers(self) -> Iterator[tuple[str, Net]]:
        for name in self.order:
            yield name, self.graph.nodes[name][NET]

    def label(self, name: str) -> str:
        """How messages name a layer: layer 2, or layer "conv"."""
        return f'layer "{name}"' if self.named else f"layer {name}"

    def leaves(self, prefix: tuple = ()) -> Iterator[tuple[tuple, Layer]]:
        """Every layer inside, with its path of names from this container."""
        for name, net in self.layers():
            if isinstance(net, Container):
                yield from net.leaves(prefix + (name,))
            else:
                yield prefix + (name,), net

    # ---- values -------------------------------------------------------------
    def evolve(self, *, graph: nx.DiGraph | None = None, ports: dict | None = None,
               shared: dict | None = None) -> "Container":
        new = Container(self.kind, graph if graph is not None else self.graph, self.order,
                        self.named, ports if ports is not None else self.ports,
                        shared if shared is not None else self.shared)
        new.span = self.span
        new.declared_ports = self.declared_ports
        return new

    def reset(self) -> "Container":
        """Back to what was written: every layer reset, the container's own ports as given."""
        new = self.with_nets({name: net.reset() for name, net in self.layers()})
        new = new.evolve(ports=dict(self.declared_ports))
        return new

    def with_nets(self, nets: dict[str, Net]) -> "Container":
        """A copy with some nodes' nets replaced (the graph object is copied, not mutated)."""
        g = self.graph.copy()
        for name, net in nets.items():
            g.nodes[name][NET] = net
        return self.evolve(graph=g)

    @property
    def initialized(self) -> bool:
        return all(_leaf_initialized(layer, self.shared) for _, layer in self.leaves())

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Container) or other.kind != self.kind:
            return False
        if self.order != other.order or self.ports != other.ports:
            return False
        if set(self.graph.edges) != set(other.graph.edges):
            return False
        if any(self.graph.edges[e][LINKS] != other.graph.edges[e][LINKS] for e in self.graph.edges):
            return False
        if self.shared.keys() != other.shared.keys() or any(
                not _same_array(self.shared[k], other.shared[k]) for k in self.shared):
            return False
        return all(self.net(n) == other.net(n) for n in self.order)

    def __hash__(self) -> int:
        return hash((self.kind, len(self.order)))

    def input_form(self) -> str:
        from .display import container_input_form  # noqa: PLC0415
        return container_input_form(self)

    def output_form(self) -> str:
        from .display import container_summary  # noqa: PLC0415
        return container_summary(self)

    def short_form(self) -> str:
        state = "initialized" if self.initialized else "uninitialized"
        return f"{self.kind}[<{len(self.order)} layers, {state}>]"


def _leaf_initialized(layer: Layer, shared: dict[str, Any]) -> bool:
    for spec in layer.array_specs:
        v = layer.arrays.get(spec.name)
        if isinstance(v, SharedRef):
            v = shared.get(v.name, layer.shared.get(v.name))
        if v is None:
            return False
    return True


def _same_array(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and bool(np.array_equal(a, b))
    return a is b or a == b
