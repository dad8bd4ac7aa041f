"""Expressions -> containers: NetChain[...] and NetGraph[...] with Wolfram's shorthands and wiring."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import EvaluationError, NetDSLError
from ..expr import (
    Association,
    Expr,
    Symbol,
    is_integer,
    is_list,
    is_rule,
    list_items,
)
from ..layers.base import Layer, Net
from ..layers.combine import MultiInputLayer
from ..layers.registry import LAYER_TYPES, from_shorthand
from ..layers.shapes import PortType, port_type_from_spec, same_ports
from .container import LINKS, NET, Container, PortNode
from .inference import gc_paused, infer
from ..printer import short

if TYPE_CHECKING:
    import networkx as nx
else:
    from .networkx_lazy import nx

S = Symbol


def error(head: str, tag: str, text: str) -> EvaluationError:
    return EvaluationError(text, symbol=head, tag=tag)


# ---------------------------------------------------------------- shorthands
_SHORTHANDS: dict[Any, Net] = {}   # Ramp -> ElementwiseLayer[Ramp], built once


def to_net(x: Any, head: str, where: str) -> Net:
    """A layer or net from a container element: {...} is a NetChain; anything else that
    is not a net is offered to the layer types (n is LinearLayer[n], Ramp or any
    elementwise function an ElementwiseLayer)."""
    if isinstance(x, Container):
        return _as_written(x)
    if isinstance(x, Net):
        return x
    if isinstance(x, Expr) and x.head is S("List") or isinstance(x, np.ndarray):
        return _as_written(build_chain(x, {}, "NetChain"))   # inferred again in its parent
    # layers are immutable values and inference works on copies, so one Ramp layer serves
    # every bare Ramp and one LinearLayer[10] every 10 (a long chain builds fast)
    key = x if isinstance(x, Symbol) or is_integer(x) else None
    layer = _SHORTHANDS.get(key) if key is not None else None
    if layer is None:
        layer = from_shorthand(x)
        if layer is not None and key is not None:
            _SHORTHANDS[key] = layer
    if layer is None and isinstance(x, Symbol):
        layer = _threading_shorthand(x)
        if layer is not None:
            _SHORTHANDS[x] = layer
    if layer is not None:
        return layer
    if isinstance(x, Symbol) and x.name in LAYER_TYPES:
        raise error(head, "notnet", f"{where} is the symbol {x.name}; write {x.name}[...] to "
                                    f"make a layer.")
    raise error(head, "notnet", f"{where}, {short(x, 100)}, is not a layer or net. Expected a layer, "
                                f"a net, an integer n (LinearLayer[n]), an elementwise function "
                                f"such as Ramp or Tanh, or a list of layers (a NetChain).")


def _as_written(net: Container) -> Container:
    """A nested container as written (arrays kept), to be inferred again inside its new
    parent: the defaults it took alone (UnitVectorLayer: a single index) must not stop the
    parent from giving it a sequence. Only when that loses nothing: a net made by surgery
    (NetAppend, NetTake) may know shapes that none of its parts declares."""
    if not any(type(layer).default_ports is not Layer.default_ports
               for _, layer in net.leaves()):
        return net          # no defaults taken: nothing to undo
    written = net.reset()
    try:
        again = infer(written, "NetChain")
    except NetDSLError:
        return net
    return written if same_ports(again.ports, net.ports) else net


def _threading_shorthand(f: Symbol) -> Net | None:
    """Plus, Times, Subtract, Divide, ... in a container: ThreadingLayer[f], as Wolfram."""
    threading = LAYER_TYPES.get("ThreadingLayer")
    if threading is None or f.name in LAYER_TYPES:
        return None
    try:
        return threading.build((f,), None)
    except (EvaluationError, ValueError, TypeError, KeyError):
        return None


def _elements(spec: Any, head: str) -> tuple[list[str], list[Net], bool]:
    """Names and nets from {l1, l2, ...} or <|"a" -> l1, ...|>."""
    if isinstance(spec, Association):
        names, nets = [], []
        for k, v in spec.items():
            if not isinstance(k, str):
                raise error(head, "lname", f"Layer names must be strings; {short(k, 100)} is not.")
            names.append(k)
            nets.append(to_net(v, head, f'the layer "{k}"'))
        return names, nets, True
    if is_list(spec):
        items = list_items(spec)
        if items and all(is_rule(i) and isinstance(i.args[0], str) for i in items):
            return _elements(Association((i.args[0], i.args[1], False) for i in items), head)
        nets = [to_net(v, head, f"the element at position {i}") for i, v in enumerate(items, 1)]
        return [str(i) for i in range(1, len(nets) + 1)], nets, False
    raise error(head, "arg1", f"The first argument of {head} must be a list or an association "
                              f"of layers, not {short(spec, 100)}.")


CODER_WORDS = ("Boolean", "Scalar")     # "port" -> "Boolean": the coder of that type


def _port_options(options: dict[str, Any], head: str,
                  outputs: frozenset = frozenset()) -> dict[str, PortType]:
    """The declared port types; "Boolean" or "Scalar" attach that encoder to an input and
    that decoder to an output (``outputs``), as Wolfram's "port" -> "type" does."""
    out = {}
    for name, spec in options.items():
        if isinstance(spec, str) and spec in CODER_WORDS:
            from ..layers.coders import NetDecoder, NetEncoder    # only when asked for
            spec = (NetDecoder if name in outputs else NetEncoder).build((spec,))
        try:
            out[name] = port_type_from_spec(spec)
        except ValueError as e:
            raise error(head, "invspec", f'Specification {short(spec, 100)} is not compatible with '
                                         f'port "{name}": {e}.') from None
    return out


# ---------------------------------------------------------------- NetChain
def build_chain(spec: Any, options: dict[str, Any], head: str = "NetChain") -> Container:
    with gc_paused():
        return _build_chain(spec, options, head)


def _build_chain(spec: Any, options: dict[str, Any], head: str) -> Container:
    names, nets, named = _elements(spec, head)
    if not nets:
        raise error(head, "empty", "A NetChain needs at least one layer.")
    g = nx.DiGraph()
    for name, net in zip(names, nets):
        g.add_node(name, **{NET: net})
    for i, (name, net) in enumerate(zip(names, nets)):
        ins, outs = net.port_names()
        label = f'layer "{name}"' if named else f"layer {name}"
        if i > 0 and len(ins) != 1:
            raise error(head, "notsingle", f"{label} ({net.head_name}) has {len(ins)} input ports "
                                           f"({', '.join(ins)}); only the first layer of a chain "
                                           f"may have several. Use NetGraph to wire it.")
        if i < len(nets) - 1 and len(outs) != 1:
            raise error(head, "notsingle", f"{label} ({net.head_name}) has {len(outs)} output "
                                           f"ports; only the last layer of a chain may have "
                                           f"several. Use NetGraph to wire it.")
    first_ins, _ = nets[0].port_names()
    _, last_outs = nets[-1].port_names()
    for p in first_ins:
        g.add_edge(PortNode("in", p), names[0], **{LINKS: [(p, p)]})
    for a, b in zip(names, names[1:]):
        (out,) = g.nodes[a][NET].port_names()[1]
        (inp,) = g.nodes[b][NET].port_names()[0]
        g.add_edge(a, b, **{LINKS: [(out, inp)]})
    for p in last_outs:
        g.add_edge(names[-1], PortNode("out", p), **{LINKS: [(p, p)]})
    ports = {p: PortType() for p in first_ins + last_outs}
    for p, t in _port_options(options, head, frozenset(last_outs)).items():
        if p not in ports:
            raise error(head, "noport", f'The chain has no port named "{p}"; its ports are '
                                        f"{', '.join(ports)}.")
        ports[p] = t
    net = Container("NetChain", g, names, named, ports, _hoist_shared(nets, head))
    return infer(net, head)


# ---------------------------------------------------------------- NetGraph
def build_graph(layer_spec: Any, edges: Any, options: dict[str, Any],
                head: str = "NetGraph") -> Container:
    with gc_paused():
        return _build_graph(layer_spec, edges, options, head)


def _flat_edges(edges: Any) -> list[Any]:
    """The connections, nested lists flattened ({Table[... -> "cat", ...], a -> b}), as
    Wolfram's NetGraph takes them."""
    if not is_list(edges):
        return [edges]
    return [r for e in list_items(edges) for r in _flat_edges(e)]


def _build_graph(layer_spec: Any, edges: Any, options: dict[str, Any], head: str) -> Container:
    names, nets, named = _elements(layer_spec, head)
    if not nets:
        raise error(head, "empty", "A NetGraph needs at least one layer.")
    nets_by_name = dict(zip(names, nets))
    wiring = _Wiring(names, nets_by_name, named, head)
    for rule in _flat_edges(edges):
        wiring.add(rule)
    return wiring.finish(options, _hoist_shared(nets, head))


class _Wiring:
    def __init__(self, names: list[str], nets: dict[str, Net], named: bool, head: str):
        self.names, self.nets, self.named, self.head = names, nets, named, head
        self.links: list[tuple[Any, str, Any, str]] = []  # (src, src_port, dst, dst_port)
        self.multi: dict[str, int] = {}
        self.muted: set[tuple[str, str]] = set()   # outputs left unconnected: port -> None

    def label(self, name: str) -> str:
        return f'layer "{name}"' if self.named else f"layer {name}"

    # -- endpoints ----------------------------------------------------------
    def layer_name(self, x: Any) -> str:
        if is_integer(x):
            if 1 <= x <= len(self.names):
                return self.names[x - 1]
            if -len(self.names) <= x <= -1:
                return self.names[x]
            raise error(self.head, "nolayer", f"There is no layer {x}: the graph has "
                                              f"{len(self.names)} layers.")
        if isinstance(x, str):
            if x in self.nets:
                return x
            raise error(self.head, "nolayer", f'There is no layer named "{x}"; the layers are '
                                              f"{', '.join(self.names)}.")
        raise error(self.head, "badedge", f"{short(x, 100)} does not name a layer or port.")

    def endpoint(self, x: Any, side: str) -> tuple[Any, str | None]:
        """(node, port or None) for one end of a connection."""
        if isinstance(x, Expr) and x.head is S("NetPort"):
            args = x.args
            if len(args) == 1 and isinstance(args[0], Expr) and args[0].head is S("List"):
                args = args[0].args  # old form NetPort[{n, "port"}]
            if len(args) == 1 and isinstance(args[0], str):
                return PortNode("in" if side == "src" else "out", args[0]), args[0]
            if len(args) == 2 and isinstance(args[1], str):
                return self.layer_name(args[0]), args[1]
            raise error(self.head, "badport", f"{short(x, 100)} is not a valid NetPort.")
        return self.layer_name(x), None

    def add(self, rule: Any) -> None:
        if not is_rule(rule):
            raise error(self.head, "badedge", f"{short(rule, 100)} is not a connection; write "
                                              f"a -> b.")
        lhs, rhs = rule.args
        if is_rule(rhs):  # a -> b -> c
            self.add(Expr(S("Rule"), lhs, rhs.args[0]))
            self.add(rhs)
            return
        if is_list(rhs):  # a -> {b, c}: fan-out
            for target in list_items(rhs):
                self.add(Expr(S("Rule"), lhs, target))
            return
        sources = list_items(lhs) if is_list(lhs) else [lhs]
        if not sources:
            raise error(self.head, "badedge", f"{short(rule, 100)} connects nothing: the "
                                              f"list of sources is empty.")
        if rhs is S("None"):   # NetPort[layer, "port"] -> None mutes an output
            for s in sources:
                node, port = self.src_port(*self.endpoint(s, "src"))
                if isinstance(node, PortNode):
                    raise error(self.head, "badedge", f"The graph input {short(s)} cannot be "
                                                      f"muted; only layer outputs can.")
                self.muted.add((node, port))
            return
        dst, dst_port = self.endpoint(rhs, "dst")
        srcs = [self.endpoint(s, "src") for s in sources]
        if isinstance(dst, PortNode):
            if len(srcs) != 1:
                raise error(self.head, "badedge", f"Several sources cannot feed the graph output "
                                                  f'"{dst.name}".')
            self.links.append((*self.src_port(*srcs[0]), dst, dst.name))
            return
        net = self.nets[dst]
        if dst_port is not None:
            if len(srcs) != 1:
                raise error(self.head, "badedge", f"Several sources cannot feed one port "
                                                  f'"{dst_port}" of {self.label(dst)}.')
            self.links.append((*self.src_port(*srcs[0]), dst, self.check_port(dst, dst_port, 0)))
            return
        # an edge to the layer itself feeds its main input, not an optional "State"
        ins = tuple(p for p in net.port_names()[0] if p not in net.optional_inputs)
        if isinstance(net, MultiInputLayer):
            # {a, b} -> cat, or a -> cat, b -> cat: inputs are numbered in the order given
            start = self.multi.get(dst, 0)
            self.multi[dst] = start + len(srcs)
            for i, s in enumerate(srcs, start + 1):
                self.links.append((*self.src_port(*s), dst, net.input_port(i)))
            return
        if not ins:     # NetArrayLayer: nothing can feed it
            raise error(self.head, "badedge", f"{self.label(dst)} ({net.head_name}) has no "
                                              f"input ports; nothing can be connected to it.")
        if len(srcs) == 1 and len(ins) > 1 and "Input" in ins:
            # one source into a loss layer (Input, Target) feeds its "Input", as Wolfram's
            # a -> loss does; the others become graph inputs
            ins = ("Input",)
        if len(srcs) != len(ins) and not (len(srcs) == 1 and len(ins) == 1):
            if len(srcs) == 1:
                raise error(self.head, "ambig",
                            f"{self.label(dst)} ({net.head_name}) has {len(ins)} input ports "
                            f"({', '.join(ins)}); say which one with "
                            f'NetPort[{self._ref(dst)}, "{ins[0]}"].')
            raise error(self.head, "badedge", f"{len(srcs)} sources were connected to "
                                              f"{self.label(dst)}, which has {len(ins)} inputs.")
        for s, port in zip(srcs, ins):
            self.links.append((*self.src_port(*s), dst, port))

    def _ref(self, name: str) -> str:
        return f'"{name}"' if self.named else name

    def src_port(self, node: Any, port: str | None) -> tuple[Any, str]:
        if isinstance(node, PortNode):
            return node, node.name
        net = self.nets[node]
        if port is not None and port in net.optional_outputs:   # a final "State" read
            self.nets[node] = net = _shown(net, (), (port,))
        outs = net.port_names()[1]
        if port is None:
            outs = tuple(p for p in outs if p not in net.optional_outputs)
            if len(outs) != 1:
                raise error(self.head, "ambig",
                            f"{self.label(node)} ({self.nets[node].head_name}) has several "
                            f"outputs ({', '.join(outs)}); say which one with "
                            f'NetPort[{self._ref(node)}, "{outs[0]}"].')
            return node, outs[0]
        if port not in outs:
            raise error(self.head, "noport", f'{self.label(node)} has no output port "{port}"; '
                                             f"its outputs are {', '.join(outs)}.")
        return node, port

    def check_port(self, node: str, port: str, _: int) -> str:
        if port in self.nets[node].optional_inputs:    # an initial "State" given
            self.nets[node] = _shown(self.nets[node], (port,), ())
        ins = self.nets[node].port_names()[0]
        if port not in ins and not (isinstance(self.nets[node], MultiInputLayer)
                                    and port.startswith("Input") and port[5:].isdigit()
                                    and int(port[5:]) >= 1):
            raise error(self.head, "noport", f'{self.label(node)} has no input port "{port}"; '
                                             f"its inputs are {', '.join(ins)}.")
        return port

    # -- the graph ----------------------------------------------------------------
    def finish(self, options: dict[str, Any], shared: dict[str, Any]) -> Container:
        for name, n in self.multi.items():
            layer = self.nets[name]
            assert isinstance(layer, MultiInputLayer)  # only those are put in self.multi
            self.nets[name] = layer.with_input_count(n)
        numbered: dict[Any, list[int]] = {}   # layer -> the InputN it is fed on
        for _, _, d, p in self.links:
            if isinstance(d, str) and p.startswith("Input") and p[5:].isdigit():
                numbered.setdefault(d, []).append(int(p[5:]))
        for name, net in self.nets.items():  # NetPort[n, "Input2"] on a multi-input layer
            if isinstance(net, MultiInputLayer):
                used = numbered.get(name, [])
                # the count is always fixed in a graph, however the inputs were wired
                # ({a, b} -> n, or NetPort[n, "Input1"], ...), so equal graphs are equal
                count = max([net.input_count] + used)
                if net.values.get("$Inputs") != count:
                    self.nets[name] = net.with_input_count(count)
        g = nx.DiGraph()
        for name in self.names:
            g.add_node(name, **{NET: self.nets[name]})
        fed: dict[tuple[str, str], Any] = {}
        for src, sp, dst, dp in self.links:
            if (dst, dp) in fed:
                if isinstance(dst, PortNode):   # two values for one output of the graph
                    raise error(self.head, "dupin", f'The output "{dp}" of the graph is '
                                                    f"connected twice.")
                raise error(self.head, "dupin", f'The input "{dp}" of {self.label(dst)} is '
                                                f"connected twice.")
            fed[(dst, dp)] = src
            self._link(g, src, sp, dst, dp)
        used_out = {(s, p) for s, p, _, _ in self.links if not isinstance(s, PortNode)}
        for name in self.names:  # unconnected ports become the graph's own ports
            ins, outs = self.nets[name].port_names()
            for p in ins:
                if (name, p) not in fed:
                    self._link(g, PortNode("in", p), p, name, p)
        dangling = [(name, p) for name in self.names for p in self.nets[name].port_names()[1]
                    if (name, p) not in used_out and (name, p) not in self.muted]
        taken = {n.name for n in g if isinstance(n, PortNode) and n.side == "out"}
        counts: dict[str, int] = {}
        for _, p in dangling:
            counts[p] = counts.get(p, 0) + 1
        seen: dict[str, int] = {}
        for name, p in dangling:
            out_name = p
            if counts[p] > 1 or p in taken:
                seen[p] = seen.get(p, 0) + 1
                out_name = f"{p}{seen[p]}"
            self._link(g, name, p, PortNode("out", out_name), out_name)
        in_names = {n.name for n in g if isinstance(n, PortNode) and n.side == "in"}
        both = sorted(n.name for n in g if isinstance(n, PortNode) and n.side == "out"
                      and n.name in in_names)
        if both:
            raise error(self.head, "dupport", f'The graph has an input and an output both named '
                                              f'"{both[0]}"; port names must be unique.')
        try:
            cycle = nx.find_cycle(g)
            path = " -> ".join(self._ref(u) for u, _ in cycle) + f" -> {self._ref(cycle[0][0])}"
            raise error(self.head, "cyc", f"The graph contains a cycle: {path}. Nets must be "
                                          f"acyclic.")
        except nx.NetworkXNoCycle:
            pass
        ports = {n.name: PortType() for n in g if isinstance(n, PortNode)}
        outputs = frozenset(n.name for n in g if isinstance(n, PortNode) and n.side == "out")
        for p, t in _port_options(options, self.head, outputs).items():
            if p not in ports:
                raise error(self.head, "noport", f'The graph has no port named "{p}"; its ports '
                                                 f"are {', '.join(sorted(ports))}.")
            ports[p] = t
        net = Container("NetGraph", g, self.names, self.named, ports, shared)
        return infer(net, self.head)

    @staticmethod
    def _link(g: nx.DiGraph, src, sp: str, dst, dp: str) -> None:
        if g.has_edge(src, dst):
            g.edges[src, dst][LINKS].append((sp, dp))
        else:
            g.add_edge(src, dst, **{LINKS: [(sp, dp)]})


def _shown(net: Net, inputs: tuple[str, ...], outputs: tuple[str, ...]) -> Net:
    """``net`` (a recurrent layer or a NetFoldOperator) with those optional ports shown."""
    return net.with_optional_ports(inputs, outputs)


# ---------------------------------------------------------------- shared arrays
def _hoist_shared(nets: list[Net], head: str) -> dict[str, Any]:
    """Shared arrays live at the root: collect the children's, checking they agree."""
    shared: dict[str, Any] = {}
    for net in nets:
        for name, value in net.shared.items():
            if name in shared and shared[name] is not None and value is not None:
                if not (shared[name].shape == value.shape
                        and np.array_equal(shared[name], value)):
                    raise error(head, "shrconf", f'Two different values were given for the '
                                                 f'shared array "{name}".')
            if shared.get(name) is None:
                shared[name] = value
    return shared




