"""Taking nets apart: NetTake, NetDrop and NetGraph[net], and ``rebuild``, which builds a
new container from some of a container's layers and links.

Every operation reads the container's graph, decides which layers and links to keep,
and builds a new container through the same code as NetChain/NetGraph (``build_chain``,
``build_graph``), so the result is checked and inferred exactly as a written net.
Arrays (and the shared arrays the kept layers use) come along.

Wolfram's semantics:
- ``NetTake[net, end]`` keeps the layers needed to compute ``end``;
  ``NetTake[net, {start, end}]`` those between ``start`` and ``end``. ``start``/``end`` is
  a layer (``n``, ``-n`` or ``"name"``), ``NetPort[layer, "port"]``, ``NetPort["port"]``
  (a port of the whole net), ``All``, or a list of these (their union). An input of a kept
  layer fed by a layer that is not kept becomes an input of the result, named after the
  layer's port. The result of a chain is a chain (renumbered unless named).
- ``NetDrop[chain, n]`` drops the first n layers, ``-n`` the last n, ``{m, n}`` layers m..n.

Adding layers and flattening are in compose.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


from ..errors import EvaluationError
from ..expr import (
    Association,
    Expr,
    Symbol,
    input_form,
    is_integer,
    is_list,
    list_items,
)
from ..layers.base import Net
from ..layers.shapes import PortType
from .build import build_chain, build_graph
from .container import LINKS, Container, PortNode, shared_refs

if TYPE_CHECKING:
    import networkx as nx
else:
    from .networkx_lazy import nx

S = Symbol
Link = tuple[Any, str, Any, str]     # (source node, its port, target node, its port)


def error(head: str, tag: str, text: str) -> EvaluationError:
    return EvaluationError(text, symbol=head, tag=tag)


# ---------------------------------------------------------------- reading a container
def links_of(net: Container) -> list[Link]:
    return [(u, sp, v, dp) for u, v, links in net.graph.edges(data=LINKS) for sp, dp in links]


def _layer(net: Container, spec: Any, head: str) -> str:
    """The name of the layer ``spec`` (n, -n or "name") names."""
    n = len(net.order)
    if is_integer(spec):
        if 1 <= spec <= n or -n <= spec <= -1:
            return net.order[spec - 1 if spec > 0 else spec]
        raise error(head, "nolayer", f"There is no layer {spec}: the net has {n} layers.")
    if isinstance(spec, str) and spec in net.order:
        return spec
    names = ", ".join(f'"{x}"' if net.named else x for x in net.order)
    raise error(head, "nolayer", f"{input_form(spec)} does not name a layer of the "
                                 f"{net.kind}; its layers are {names}.")


def with_root_shared(net: Container, name: str) -> Net:
    """A layer taken out with the shared arrays it uses, so a rebuilt container hoists them."""
    sub = net.net(name)
    refs = set(shared_refs(sub))
    return sub.evolve(shared={k: v for k, v in net.shared.items() if k in refs}) if refs else sub


def rebuild(net: Container, keep: list[str], links: list[Link], muted: list[tuple[str, str]],
            head: str, options: dict[str, Any] | None = None,
            nets: dict[str, Net] | None = None, as_chain: bool | None = None) -> Container:
    """A new container of the layers ``keep`` (in this order) wired by ``links``; outputs
    in ``muted`` are left unconnected. Unnamed layers are renumbered 1, 2, ..."""
    nets = nets or {}
    options = {p: (t.spec() if isinstance(t, PortType) else t)
               for p, t in (options or {}).items()
               if not (isinstance(t, PortType) and t == PortType())}
    layers = {k: nets.get(k) or with_root_shared(net, k) for k in keep}
    chain = net.kind == "NetChain" if as_chain is None else as_chain
    if chain:
        spec: Any = (Association((k, v, False) for k, v in layers.items()) if net.named
                     else Expr(S("List"), *layers.values()))
        return build_chain(spec, options or {}, head)
    ref = {k: (k if net.named else i) for i, k in enumerate(keep, 1)}

    def end(node: Any, port: str) -> Any:
        if isinstance(node, PortNode):
            return Expr(S("NetPort"), node.name)
        return Expr(S("NetPort"), ref[node], port)
    edges = [Expr(S("Rule"), end(u, sp), end(v, dp)) for u, sp, v, dp in links]
    edges += [Expr(S("Rule"), Expr(S("NetPort"), ref[n], p), S("None")) for n, p in muted]
    spec = (Association((k, v, False) for k, v in layers.items()) if net.named
            else Expr(S("List"), *layers.values()))
    if not keep:
        raise error(head, "empty", "The result would have no layers.")
    return build_graph(spec, Expr(S("List"), *edges), options or {}, head)


def as_container(net: Net) -> Container:
    """A layer (or an operator) as the one-layer chain it is equivalent to."""
    if isinstance(net, Container) and net.operator is None:
        return net
    return build_chain(Expr(S("List"), net), {}, "NetChain")


# ---------------------------------------------------------------- NetGraph[net]
def graph_of(net: Net, head: str = "NetGraph") -> Container:
    """NetGraph[chain] or NetGraph[layer]: the equivalent minimal graph."""
    c = as_container(net)
    if c.kind == "NetGraph":
        return c
    return rebuild(c, list(c.order), links_of(c), [], head, dict(c.declared_ports),
                   as_chain=False)


# ---------------------------------------------------------------- NetTake
def net_take(net: Net, spec: Any, head: str = "NetTake",
             options: dict[str, Any] | None = None) -> Container:
    c = as_container(net)
    if is_list(spec) and len(list_items(spec)) == 2:
        start, stop = list_items(spec)
    else:
        start, stop = S("All"), spec
    ends = _ends(c, stop, head)
    starts, cut = _starts(c, start, head)
    g = nx.DiGraph()
    g.add_edges_from((u, v) for u, v in c.graph.edges)
    needed: set = set()
    for node, _, _ in ends:
        needed |= {node} | nx.ancestors(g, node)
    needed = {n for n in needed if not isinstance(n, PortNode)}
    if starts is not None:
        reach: set = set()
        for node in starts:
            reach |= {node} | nx.descendants(g, node)
        needed &= reach
    keep = [n for n in c.order if n in needed]
    if not keep:
        raise error(head, "empty", f"Nothing lies between {input_form(start)} and "
                                   f"{input_form(stop)}: the result would have no layers.")
    links: list[Link] = []
    for u, sp, v, dp in links_of(c):
        if v not in needed:
            continue
        if (v, dp) in cut or (u not in needed and not isinstance(u, PortNode)):
            continue      # becomes an input of the result, named after the port
        links.append((u, sp, v, dp))
    wanted = {(n, p) for n, p, _ in ends}
    for node, port, out in ends:
        if out is not None:
            links.append((node, port, PortNode("out", out), out))
    muted = [(n, p) for n in keep for p in c.net(n).port_names()[1] if (n, p) not in wanted]
    return rebuild(c, keep, links, muted, head, options)


def _ends(c: Container, spec: Any, head: str) -> list[tuple[Any, str, str | None]]:
    """(layer, output port, name of the result's output or None for automatic)."""
    if spec is S("All"):
        out: list[tuple[Any, str, str | None]] = []
        for p in c.port_names()[1]:
            (u, _, data), = c.graph.in_edges(PortNode("out", p), data=True)
            (sp, _), = data[LINKS]
            if not isinstance(u, PortNode):
                out.append((u, sp, p))
        return out
    if is_list(spec):
        return [e for s in list_items(spec) for e in _ends(c, s, head)]
    if isinstance(spec, Expr) and spec.head is S("NetPort"):
        args = list(spec.args)
        if len(args) == 1 and is_list(args[0]):
            args = list_items(args[0])
        if len(args) == 1 and isinstance(args[0], str):
            if args[0] not in c.port_names()[1]:
                raise error(head, "noport", f'The net has no output port "{args[0]}"; its '
                                            f"outputs are {', '.join(c.port_names()[1])}.")
            return [e for e in _ends(c, S("All"), head) if e[2] == args[0]]
        if len(args) == 2 and isinstance(args[1], str):
            name = _layer(c, args[0], head)
            outs = c.net(name).port_names()[1]
            if args[1] not in outs:
                raise error(head, "noport", f'{c.label(name)} has no output port "{args[1]}"; '
                                            f"its outputs are {', '.join(outs)}.")
            return [(name, args[1], None)]
        raise error(head, "badport", f"{input_form(spec)} is not a valid NetPort.")
    name = _layer(c, spec, head)
    return [(name, p, None) for p in c.net(name).port_names()[1]]


def _starts(c: Container, spec: Any, head: str) -> tuple[list | None, set]:
    """The nodes the result starts from (None: from the net's inputs) and the layer inputs
    that are cut (they become inputs of the result)."""
    if spec is S("All"):
        return None, set()
    if is_list(spec):
        nodes: list[Any] = []
        cut: set = set()
        for s in list_items(spec):
            n, k = _starts(c, s, head)
            nodes += n if n is not None else [PortNode("in", p) for p in c.port_names()[0]]
            cut |= k
        return nodes, cut
    if isinstance(spec, Expr) and spec.head is S("NetPort"):
        args = list(spec.args)
        if len(args) == 1 and is_list(args[0]):
            args = list_items(args[0])
        if len(args) == 1 and isinstance(args[0], str):
            if args[0] not in c.port_names()[0]:
                raise error(head, "noport", f'The net has no input port "{args[0]}"; its '
                                            f"inputs are {', '.join(c.port_names()[0])}.")
            return [PortNode("in", args[0])], set()
        if len(args) == 2 and isinstance(args[1], str):
            name = _layer(c, args[0], head)
            ins = c.net(name).port_names()[0]
            if args[1] not in ins:
                raise error(head, "noport", f'{c.label(name)} has no input port "{args[1]}"; '
                                            f"its inputs are {', '.join(ins)}.")
            return [name], {(name, args[1])}
        raise error(head, "badport", f"{input_form(spec)} is not a valid NetPort.")
    name = _layer(c, spec, head)
    return [name], {(name, p) for p in c.net(name).port_names()[0]}


# ---------------------------------------------------------------- NetDrop
def chain_of(net: Net, head: str, otherwise: str) -> Container:
    """``net`` as a NetChain (a layer is a chain of one), or a notchain error saying
    ``otherwise`` (what to do with a NetGraph)."""
    c = as_container(net)
    if c.kind != "NetChain":
        raise error(head, "notchain", f"{head} works on a NetChain; {otherwise}.")
    return c


def net_drop(net: Net, spec: Any, head: str = "NetDrop",
             options: dict[str, Any] | None = None) -> Container:
    c = chain_of(net, head, "use NetTake to take part of a NetGraph")
    n = len(c.order)
    if is_integer(spec):
        k = min(abs(spec), n)
        drop = set(c.order[:k] if spec >= 0 else c.order[n - k:])
    elif is_list(spec) and len(list_items(spec)) == 2:
        a, b = (c.order.index(_layer(c, x, head)) for x in list_items(spec))
        drop = set(c.order[a:b + 1])
    else:
        drop = {_layer(c, spec, head)}
    keep = [x for x in c.order if x not in drop]
    if not keep:
        raise error(head, "empty", "NetDrop would remove every layer of the chain.")
    return rebuild(c, keep, [], [], head, options)


def muted(c: Container, keep: list[str], links: list[Link] | None = None
          ) -> list[tuple[str, str]]:
    """The outputs of ``keep`` that nothing reads in ``c`` (or in ``links``, the wiring
    about to be built): left unconnected in the result."""
    read = {(u, sp) for u, sp, _, _ in (links_of(c) if links is None else links)}
    return [(k, p) for k in keep for p in c.net(k).port_names()[1] if (k, p) not in read]


def delete_layers(c: Container, gone: set[str], head: str) -> Container:
    """``c`` without the layers ``gone`` (NetDelete, NetReplace[..., x -> Nothing]): a
    chain closes up; in a graph an interior layer of one shape in and out is bypassed
    (``_bypassed``) and one at the edge goes with its connections."""
    keep = [k for k in c.order if k not in gone]
    if not keep:
        raise error(head, "empty", f"{head} would remove every layer.")
    if c.kind == "NetChain":
        return rebuild(c, keep, [], [], head)
    links = links_of(c)
    for g in (k for k in c.order if k in gone):
        links = _bypassed(c, g, links, head)
    # a graph output fed by a deleted layer goes with it; an output that only deleted
    # layers read becomes a graph output (as NetGraph makes any unread output one)
    links = [lk for lk in links if lk[0] not in gone and lk[2] not in gone]
    return rebuild(c, keep, links, muted(c, keep), head)


def _bypassed(c: Container, g: str, links: list, head: str) -> list:
    """``links`` with the layer ``g`` bypassed when it sits between a source and readers
    (its source then feeds them); unchanged for a layer at the graph's edge."""
    ins = [lk for lk in links if lk[2] == g]
    outs = [lk for lk in links if lk[0] == g]
    if not ins or not outs:
        return links
    layer = c.net(g)
    in_ports, out_ports = layer.port_names()
    a = layer.ports[in_ports[0]].shape if len(in_ports) == 1 else None
    b = layer.ports[out_ports[0]].shape if len(out_ports) == 1 else None
    edge = all(isinstance(lk[0], PortNode) for lk in ins) or \
        all(isinstance(lk[2], PortNode) for lk in outs)
    if len(ins) != 1 or len(out_ports) != 1 or a is None or a != b:
        if edge:
            return links       # at the graph's input or output: it goes with its links
        label = f'"{g}"' if c.named else f"layer {g}"
        raise error(head, "delint", f"{label} ({layer.head_name}) lies between other layers: it "
                                    f"can be deleted only if it has one input and one output "
                                    f"of the same shape, so that its readers can take its "
                                    f"input instead.")
    (src, sp, _, _), = ins
    return [lk for lk in links if g not in (lk[0], lk[2])] + \
        [(src, sp, v, dp) for _, _, v, dp in outs]
