"""Shape inference over a container's graph: propagate port types to a fixed point.

Each layer's rule refines its own ports and parameters; each edge makes the
two ports it joins equal. A worklist revisits only the layers next to a port
that changed, and every refinement adds knowledge, so the pass ends, in time
linear in the number of layers for a chain. A contradiction raises a
``ShapeError`` naming both ends (layer, type, port and shape), before any
array exists.
"""

from __future__ import annotations

import gc
from collections import deque
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ShapeError
from ..layers.arrays import SharedRef
from ..layers.base import Clash, Infer, Layer, ValidationFail, run_layer_rule
from ..layers.shapes import Mismatch, PortType, VaryingSize, unify
from .container import LINKS, NET, Container, PortNode

if TYPE_CHECKING:
    import networkx as nx
else:
    from .networkx_lazy import nx


def infer(net: Container, head: str | None = None, where: str = "") -> Container:
    """``net`` with every port type and parameter inferred as far as it is determined.

    ``where`` places a nested container in messages (" of layer 3"), so that an error
    deep inside names its whole path: ``"Input" port of layer 2 of layer 3``."""
    own = getattr(net, "own_inference", None)
    if own is not None:    # an operator (graph/operators.py): its own rule around inner nets
        return own(infer, head or net.kind, where)
    with gc_paused():
        return _Pass(net, head or net.kind, where).run()


@contextmanager
def gc_paused():
    """No cyclic garbage collection inside: inference makes many small objects and no
    cycles, and on a 5,000-layer net the collector's passes over every live object cost
    more than the inference itself (benchmarks/bench_inference.py)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Pass:
    def __init__(self, net: Container, head: str, where: str = ""):
        self.net = net
        self.head = head
        self.where = where
        self.g = net.graph
        self.nets: dict[Any, Any] = {n: self.g.nodes[n][NET] for n in net.order}
        self.port_types: dict[PortNode, PortType] = {
            n: net.ports.get(n.name, PortType()) for n in self.g if isinstance(n, PortNode)}
        self.shared: dict[str, Any] = dict(_shared_shapes(net))
        # each node's links, read once from the graph (networkx edge views are slow to
        # build, and inference walks a node's links every time one of its ports changes)
        self.ins: dict[Any, list] = {n: [] for n in self.g}
        self.outs: dict[Any, list] = {n: [] for n in self.g}
        for src, dst, links in self.g.edges(data=LINKS):
            for src_port, dst_port in links:
                self.outs[src].append((dst, src_port, dst_port))
                self.ins[dst].append((src, src_port, dst_port))
        self.users: dict[str, set[str]] = {}
        for name, layer in self.nets.items():
            for ref in _shared_refs(layer):
                self.users.setdefault(ref, set()).add(name)

    # -------------------------------------------------------------------
    def run(self) -> Container:
        order = [n for n in nx.topological_sort(self.g) if not isinstance(n, PortNode)]
        # One forward sweep in topological order: each link is joined when its consumer is
        # reached, so a contradiction is found at the first link (in reading order) where
        # the two ends disagree, and named by both ends. Layers that learn something from
        # a later one (backward inference) are revisited afterwards by the worklist.
        done: set = set()
        again: list = []

        def revisit(nodes) -> None:
            for other in nodes:
                if other in done and other not in again_set:
                    again_set.add(other)
                    again.append(other)

        again_set: set = set()
        for name in order:
            for src, src_port, dst_port in self.ins[name]:
                if self._join(src, src_port, name, dst_port, from_dst=True) \
                        and not isinstance(src, PortNode):
                    revisit((src,))
            changed = self._apply_rule(name)
            done.add(name)
            revisit(self._push(name, changed))
            for dst, src_port, dst_port in self.outs[name]:
                if isinstance(dst, PortNode):  # the container's declared output type
                    a = self._type(name, src_port)
                    self._join(name, src_port, dst, dst_port)
                    if self._type(name, src_port) != a:
                        revisit((name,))
        self._propagate(again)
        # defaults (a LinearLayer with known weights takes a vector), then settle again
        for name in order:
            layer = self.nets[name]
            if isinstance(layer, Layer) and type(layer).default_ports is not Layer.default_ports:
                s = Infer(layer, self.shared)
                self._guard(name, lambda layer=layer, s=s: layer.default_ports(s))
                if s.changed:
                    self._propagate([name], pending={name: s})
        self._lift_coders()
        g = self.g.copy()
        for name, layer in self.nets.items():
            g.nodes[name][NET] = layer
        ports = {n.name: t for n, t in self.port_types.items()}
        return self.net.evolve(graph=g, ports=ports)

    def _lift_coders(self) -> None:
        """A container port with no coder of its own takes the encoder of the inner ports
        it feeds (all the same one) or the decoder of the inner port feeding it, as
        Wolfram's port types carry coders outwards: NetChain[{netWithEncoder, ...}] reads
        the encoder's input (transfer learning keeps a model's encoder), a
        ContrastiveLossLayer's "Target" in a graph takes True/False. Only the outermost
        ports' coders run, so an inner coder not lifted would be ignored."""
        for node, t in self.port_types.items():
            if t.coder is not None:
                continue
            if node.side == "in":
                ends = [self.nets[d].ports[p].coder for d, _, p in self.outs[node]
                        if not isinstance(d, PortNode)]
                wanted = "encode"
            else:
                ends = [self.nets[s].ports[p].coder for s, p, _ in self.ins[node]
                        if not isinstance(s, PortNode)]
                wanted = "decode"
            if ends and ends[0] is not None and hasattr(ends[0], wanted) \
                    and all(c == ends[0] for c in ends):
                self.port_types[node] = replace(t, coder=ends[0])

    def _propagate(self, start: list, pending: dict | None = None) -> None:
        queue = deque(start)
        queued = set(start)

        def enqueue(names) -> None:
            for other in names:
                if other not in queued:
                    queued.add(other)
                    queue.append(other)

        while queue:
            name = queue.popleft()
            queued.discard(name)
            known_shared = set(self.shared)
            changed_ports = self._apply_rule(name, (pending or {}).pop(name, None))
            enqueue(self._push(name, changed_ports))
            for ref in set(self.shared) - known_shared:  # a shared array's shape is now known
                enqueue(self.users.get(ref, ()))

    def _apply_rule(self, name: str, s: Infer | None = None) -> list[str]:
        """Run one node's rule; return the names of its ports whose types changed."""
        before = self.nets[name]
        if isinstance(before, Container):
            after = infer(before, self.head, f" of {self.label(name)}")
        else:
            if s is None:
                s = Infer(before, self.shared)
                self._guard(name, lambda: run_layer_rule(before, s))
            after = before.evolve(values=s.values, ports=s.ports)
        self.nets[name] = after
        return [p for p, t in after.ports.items() if before.ports.get(p) != t]

    def _push(self, name: str, changed: list[str]) -> set:
        """Unify changed ports with the ports at the other end of their edges."""
        touched: set = set()
        if not changed:
            return touched
        changed_set = set(changed)
        before = {p: self._type(name, p) for p in changed_set}
        for dst, src_port, dst_port in self.outs[name]:
            if src_port in changed_set and self._join(name, src_port, dst, dst_port):
                touched.add(dst)
        for src, src_port, dst_port in self.ins[name]:
            if dst_port in changed_set and self._join(src, src_port, name, dst_port,
                                                      from_dst=True):
                touched.add(src)
                if isinstance(src, PortNode):
                    # a container input feeding several layers: what one of them learned
                    # late (backwards, from a later layer) reaches the others too
                    for other, _, other_port in self.outs[src]:
                        if other != name and self._join(src, src_port, other, other_port):
                            touched.add(other)
        # the far end may have known more than this node (a declared "Output" -> {4, 6, 6}
        # of the container): then this node learned something too and runs again
        if any(self._type(name, p) != t for p, t in before.items()):
            touched.add(name)
        return {t for t in touched if not isinstance(t, PortNode)}

    def _type(self, node, port: str) -> PortType:
        if isinstance(node, PortNode):
            return self.port_types[node]
        return self.nets[node].ports[port]

    def _set_type(self, node, port: str, t: PortType) -> None:
        if isinstance(node, PortNode):
            old = self.port_types[node]
            # a port keeps its own NetEncoder/NetDecoder and takes none from its neighbours
            self.port_types[node] = t if t.coder is old.coder else replace(t, coder=old.coder)
        else:
            layer = self.nets[node]
            ports = dict(layer.ports)
            own = ports[port].coder
            ports[port] = t if t.coder is own else replace(t, coder=own)
            self.nets[node] = layer.evolve(ports=ports)

    def _join(self, src, src_port: str, dst, dst_port: str, from_dst: bool = False) -> bool:
        """Make both ends of one link equal; True if the far end learned something."""
        a, b = self._type(src, src_port), self._type(dst, dst_port)
        try:
            merged = unify(a, b)
        except Mismatch as m:
            raise self._edge_error(m.kind, src, src_port, a, dst, dst_port, b) from None
        far, far_port, far_type = (src, src_port, a) if from_dst else (dst, dst_port, b)
        near, near_port, near_type = (dst, dst_port, b) if from_dst else (src, src_port, a)
        if merged != near_type:
            self._set_type(near, near_port, merged)
        if merged != far_type:
            self._set_type(far, far_port, merged)
            return True
        return False

    # ---- messages ---------------------------------------------------------------
    def label(self, name: str) -> str:
        """layer 2, layer "conv", or inside a nested container layer 2 of layer 3."""
        return self.net.label(name) + self.where

    def _describe(self, node, port: str, t: PortType) -> str:
        if isinstance(node, PortNode):
            return f'"{port}" port{self.where} ({t.words()})'
        net = self.nets[node]
        return f'"{port}" port of {self.label(node)} ({net.head_name}, {t.words()})'

    def _edge_error(self, kind: str, src, src_port, a, dst, dst_port, b) -> ShapeError:
        text = (f"{kind} of {self._describe(src, src_port, a)} is inconsistent with "
                f"{kind.lower()} of {self._describe(dst, dst_port, b)}.")
        # where it was written: the consuming layer, else the producing one (a container
        # port, or a shorthand such as Ramp, has no position of its own); else the caller's
        span, origin = None, None
        for node in (dst, src):
            if span is None and not isinstance(node, PortNode):
                span = getattr(self.nets[node], "span", None)
                origin = self.nets[node].head_name
        return ShapeError(text, symbol=self.head, tag="tyinc", span=span, origin=origin)

    def _guard(self, name: str, fn) -> None:
        layer = self.nets[name]
        where = f"{self.label(name)} ({layer.head_name})"
        try:
            fn()
        except Clash as c:
            label = self.label(name)
            raise ShapeError(
                f"{c.kind} of {c.slot_a} of {label} ({layer.head_name}, {c.words_a}) is "
                f"inconsistent with {c.kind.lower()} of {c.slot_b} of {label} ({c.words_b}).",
                symbol=self.head, tag="tyinc", span=layer.span, origin=layer.head_name) from None
        except ValidationFail as v:
            raise ShapeError(f"Validation failed for {where}: {v}", symbol=self.head,
                             tag="valfail", span=layer.span, origin=layer.head_name) from None
        except VaryingSize:
            raise ShapeError(f'Validation failed for {where}: the layer needs fixed sizes, '
                             f'but a length is "Varying"; map it over the sequence or take '
                             f"a fixed-size part (SequenceLastLayer).", symbol=self.head,
                             tag="valfail", span=layer.span, origin=layer.head_name) from None


def _shared_refs(layer: Any) -> list[str]:
    if not isinstance(layer, Layer):
        return []
    return [v.name for v in layer.arrays.values() if isinstance(v, SharedRef)]


def _shared_shapes(net: Container) -> dict[str, Any]:
    return {k: v.shape for k, v in net.shared.items() if isinstance(v, np.ndarray)}
