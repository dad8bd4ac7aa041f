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
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

import numpy as np

from ..expr import Association, input_form, make_list, packed, quote_string
from ..layers.arrays import SharedRef
from ..layers.base import Layer, Net
from ..layers.shapes import PortType, same_ports
from ..layers.text import layer_input_form

if TYPE_CHECKING:
    import networkx as nx
else:
    from .networkx_lazy import nx

NET = "net"        # node attribute: the Layer or Container at that node
LINKS = "links"    # edge attribute: list of (src_port, dst_port)


@dataclass(frozen=True)
class PortNode:
    """A container's own input (``side="in"``) or output (``side="out"``) port."""

    side: str
    name: str


class Container(Net):
    """A NetChain or NetGraph value (operators, graph/operators.py, are containers too)."""

    operator: str | None = None   # an operator's kind: run as one step around inner plans
    multipliers: Any = None       # LearningRateMultipliers for the layers inside (a number or rules)

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
        # kept while the graph object and its size are unchanged: a call from Python
        # asks several times, and scanning every node costs more than a small forward
        key = (id(self.graph), len(self.graph))
        cached = self.__dict__.get("_port_names")
        if cached is not None and cached[0] == key:
            return cached[1]
        ins = tuple(n.name for n in self.graph if isinstance(n, PortNode) and n.side == "in")
        outs = tuple(n.name for n in self.graph if isinstance(n, PortNode) and n.side == "out")
        self._port_names = (key, (ins, outs))
        return ins, outs

    def net(self, name: str) -> Net:
        return self.graph.nodes[name][NET]

    def layers(self) -> Iterator[tuple[str, Net]]:
        for name in self.order:
            yield name, self.graph.nodes[name][NET]

    def normal(self) -> Any:
        """Normal[NetChain[...]] (Wolfram): the layers, a list (an association when they
        are named), each with the shared arrays it uses; a NetGraph or an operator stays."""
        if self.kind != "NetChain" or self.operator is not None:
            return self
        parts = [(name, with_shared(net, self.shared)) for name, net in self.layers()]
        if self.named:
            return Association((name, net, False) for name, net in parts)
        return make_list(net for _, net in parts)

    def label(self, name: str) -> str:
        """How messages name a layer: layer 2, or layer "conv"."""
        return f'layer "{name}"' if self.named else f"layer {name}"

    def leaves(self, prefix: tuple = ()) -> Iterator[tuple[tuple, Layer]]:
        """Every layer inside, with its path of names from this container."""
        for name, net in self.layers():
            yield from net.leaves(prefix + (name,))

    def path_label(self, path: tuple) -> str:
        """' of layer 2', ' of layer "conv"', ' of layer 1 of layer 3' (inner first)."""
        labels = []
        current: Net = self
        for name in path:
            assert isinstance(current, Container)
            labels.append(current.label(name))
            current = current.net(name)
        return "".join(f" of {label}" for label in reversed(labels))

    # ---- values -------------------------------------------------------------
    def evolve(self, **changes: Any) -> "Container":
        """A copy with ``graph=``, ``ports=`` or ``shared=`` replaced."""
        unknown = set(changes) - {"graph", "ports", "shared"}
        if unknown:
            raise TypeError(f"Container.evolve: unknown fields {sorted(unknown)}")
        new = Container(self.kind, changes.get("graph", self.graph), self.order, self.named,
                        changes.get("ports", self.ports), changes.get("shared", self.shared))
        new.span = self.span
        new.declared_ports = self.declared_ports
        new.multipliers = self.multipliers
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
        if self.order != other.order or not same_ports(self.ports, other.ports):
            return False
        if self.multipliers != other.multipliers:
            return False
        if set(self.graph.edges) != set(other.graph.edges):
            return False
        if any(self.graph.edges[e][LINKS] != other.graph.edges[e][LINKS] for e in self.graph.edges):
            return False
        if self.shared.keys() != other.shared.keys() or any(
                not _same_array(self.shared[k], other.shared[k]) for k in self.shared):
            return False
        # shared arrays live at the root (compared above); what a child kept of them from
        # its construction is not part of the value
        return all(self.net(n).evolve(shared={}) == other.net(n).evolve(shared={})
                   for n in self.order)

    def __hash__(self) -> int:
        return hash((self.kind, len(self.order)))

    def input_form(self) -> str:
        return container_input_form(self)

    def output_form(self) -> str:
        return container_summary(self)

    def short_form(self) -> str:
        state = "initialized" if self.initialized else "uninitialized"
        return f"{self.kind}[<{len(self.order)} layers, {state}>]"

    def title(self) -> str:
        """How a containing net's summary names this one."""
        return f"{self.kind} ({len(self.order)} layers)"


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


# ---------------------------------------------------------------- walking nets
def path_label(net: Net, path: tuple) -> str:
    """Where a layer is, for messages: '' for the net itself, else ' of layer 2 ...'."""
    return net.path_label(path) if isinstance(net, Container) and path else ""


def replace_leaves(net: Net, new: dict[tuple, Layer]) -> Net:
    """``net`` with the layers at the given paths replaced (time linear in the net's size)."""
    if not isinstance(net, Container):
        return new.get((), net)
    by_child: dict[str, dict[tuple, Layer]] = {}
    for path, layer in new.items():
        if path:
            by_child.setdefault(path[0], {})[path[1:]] = layer
    changes = {name: replace_leaves(net.net(name), inner) for name, inner in by_child.items()
               if name in net.graph}
    return net.with_nets(changes) if changes else net


T = TypeVar("T")


def dataflow(net: "Container", inputs: dict[str, T],
             visit: Callable[[Any, Net, dict[str, T]], dict[str, T]]) -> dict[str, T]:
    """Carry values (executor slots, ONNX tensor names, ...) through a container's graph in
    dependency order: ``visit(node, net, values by input port)`` gives each node's values by
    output port. Returns the container's output values by port name."""
    produced: dict[tuple[Any, str], T] = {(PortNode("in", p), p): v for p, v in inputs.items()}
    result: dict[str, T] = {}
    for node in nx.topological_sort(net.graph):
        if isinstance(node, PortNode):
            if node.side == "out":
                (src, _, data), = net.graph.in_edges(node, data=True)
                (sp, _), = data[LINKS]
                result[node.name] = produced[(src, sp)]
            continue
        feeds = {dp: produced[(src, sp)] for src, _, data in net.graph.in_edges(node, data=True)
                 for sp, dp in data[LINKS]}
        for p, v in visit(node, net.net(node), feeds).items():
            produced[(node, p)] = v
    return result


def shared_refs(net: Net) -> list[str]:
    """The names of the shared arrays a net's layers use."""
    return [a.name for _, layer in net.leaves() for a in layer.arrays.values()
            if isinstance(a, SharedRef)]


def with_shared(sub: Net, shared: dict[str, Any]) -> Net:
    """A sub-net taken out of a container takes along the shared arrays it uses."""
    refs = set(shared_refs(sub))
    if not refs:
        return sub
    return sub.evolve(shared={k: v for k, v in shared.items() if k in refs})


# ---------------------------------------------------------------- text
def _output_words(net: Net) -> str:
    outs = net.port_names()[1]
    return "; ".join(net.ports[o].words() if len(outs) == 1 else f"{o}: {net.ports[o].words()}"
                     for o in outs)


def _title(net: Net) -> str:
    assert isinstance(net, (Container, Layer))
    return net.title()


def count_text(net: Net) -> str:
    """A parameter count for summaries: 12,345; "?" while a shape is unknown; "" for none."""
    n = net.parameter_count()
    return "?" if n is None else (f"{n:,}" if n else "")


def container_summary(net: Container) -> str:
    """The summary table: ports, then one row per layer (name, type, output shape, number
    of array elements), and the total."""
    state = "initialized" if net.initialized else "uninitialized"
    lines = [f"{net.kind}  ({state})"]
    ins, outs = net.port_names()
    rows: list[tuple[str, str, str, str]] = []
    for p in ins:
        rows.append((p, "port", net.ports[p].words(), ""))
    for name, layer in net.layers():
        label = f'"{name}"' if net.named else name
        if net.kind == "NetGraph":
            sources = []
            for src, _, data in net.graph.in_edges(name, data=True):
                for sp, _dp in data[LINKS]:
                    sources.append(f'NetPort["{sp}"]' if isinstance(src, PortNode) else (
                        f'"{src}"' if net.named else src))
            if sources:
                label = f"{label}  <- {', '.join(sources)}"
        rows.append((label, _title(layer), _output_words(layer), count_text(layer)))
    for p in outs:
        rows.append((p, "port", net.ports[p].words(), ""))
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    w3 = max(len(r[2]) for r in rows)
    for a, b, c, d in rows:
        lines.append(f"  {a:<{w1}}  {b:<{w2}}  {c:<{w3}}  {d}".rstrip())
    if net.shared:
        lines.append("  shared arrays: " + ", ".join(f'"{k}"' for k in net.shared))
    iterations = getattr(net, "iterations", None)     # NetNestOperator's n
    if iterations is not None:
        lines.append(f"  iterations: {iterations}")
    lines.append(f"  parameters: {count_text(net) or 'none'}")
    return "\n".join(lines)


def container_input_form(net: Container) -> str:
    """The container's netdsl text, arrays included: it parses back to an equal net."""
    items = []
    for name, layer in net.layers():
        # inside a container the ports follow from the container's own
        text = layer_input_form(layer, False) if isinstance(layer, Layer) else layer.input_form()
        items.append(f"{quote_string(name)} -> {text}" if net.named else text)
    body = ("<|" + ", ".join(items) + "|>") if net.named else ("{" + ", ".join(items) + "}")
    parts = [body]
    ins, outs = net.port_names()
    if net.kind == "NetGraph":
        # in a fixed order, so that a net and the net its text builds print the same: what
        # feeds each layer (layers in order, its inputs in port order), then each output
        edges = []
        consumers: list[Any] = list(net.order) + [PortNode("out", p) for p in outs]
        for dst in consumers:
            ports = [dst.name] if isinstance(dst, PortNode) else list(net.net(dst).port_names()[0])
            feeds = [(sp, dp, src) for src, _, data in net.graph.in_edges(dst, data=True)
                     for sp, dp in data[LINKS]]
            feeds.sort(key=lambda f: ports.index(f[1]) if f[1] in ports else len(ports))
            for sp, dp, src in feeds:
                edges.append(f"{_endpoint(net, src, sp)} -> {_endpoint(net, dst, dp)}")
        for name in net.order:   # outputs muted with NetPort[layer, "port"] -> None
            read = {sp for _, _, data in net.graph.out_edges(name, data=True)
                    for sp, _ in data[LINKS]}
            for p in net.net(name).port_names()[1]:
                if p not in read:
                    edges.append(f"{_endpoint(net, name, p)} -> None")
        parts.append("{" + ", ".join(edges) + "}")
    for p in ins + outs:
        t = net.ports.get(p)
        if isinstance(t, PortType) and t.shape is not None:
            parts.append(f'"{p}" -> {input_form(t.spec())}')
    if net.multipliers is not None:
        parts.append(f"LearningRateMultipliers -> {input_form(net.multipliers)}")
    text = f"{net.kind}[{', '.join(parts)}]"
    for name, value in net.shared.items():
        if isinstance(value, np.ndarray):
            text = (f'NetReplacePart[{text}, NetSharedArray["{name}"] -> '
                    f"{input_form(packed(value.astype(np.float64)))}]")
    return text


def _endpoint(net: Container, node: Any, port: str) -> str:
    if isinstance(node, PortNode):
        return f'NetPort["{node.name}"]'
    ref = f'"{node}"' if net.named else node
    return f'NetPort[{ref}, "{port}"]'
