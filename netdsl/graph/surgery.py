"""Taking nets apart and putting them together: NetTake, NetDrop, NetAppend, NetPrepend,
NetJoin, NetFlatten, NetReplace and NetGraph[net].

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
- ``NetAppend``/``NetPrepend`` add layers (``layer``, ``{layers}``, ``"name" -> layer``) at
  the end/start of a chain, or after the single output / before the single input of a
  graph; ``NetJoin[chain1, chain2, ...]`` is one chain of all their layers.
- ``NetFlatten[net]`` (``NetFlatten[net, n]``: n levels) moves the layers of nested
  containers up; their names join with "/" ("block/conv"). A chain of chains stays a
  chain; anything holding a graph becomes a graph.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from ..errors import EvaluationError
from ..expr import (
    Association,
    Expr,
    Symbol,
    input_form,
    is_integer,
    is_list,
    is_rule,
    list_items,
)
from ..layers.base import Net
from ..layers.combine import MultiInputLayer
from ..layers.registry import LAYER_TYPES
from ..layers.shapes import PortType
from .build import build_chain, build_graph, to_net
from .container import LINKS, Container, PortNode, shared_refs

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


def _with_root_shared(net: Container, name: str) -> Net:
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
    layers = {k: nets.get(k) or _with_root_shared(net, k) for k in keep}
    chain = net.kind == "NetChain" if as_chain is None else as_chain
    if chain:
        spec: Any = (Association((k, v, False) for k, v in layers.items()) if net.named
                     else Expr(S("List"), *layers.values()))
        return build_chain(spec, options or {}, head)
    ref = {k: (k if net.named else i) for i, k in enumerate(keep, 1)}

    def end(node: Any, port: str, side: str) -> Any:
        if isinstance(node, PortNode):
            return Expr(S("NetPort"), node.name)
        return Expr(S("NetPort"), ref[node], port)
    edges = [Expr(S("Rule"), end(u, sp, "src"), end(v, dp, "dst")) for u, sp, v, dp in links]
    edges += [Expr(S("Rule"), Expr(S("NetPort"), ref[n], p), S("None")) for n, p in muted]
    spec = (Association((k, v, False) for k, v in layers.items()) if net.named
            else Expr(S("List"), *layers.values()))
    if not keep:
        raise error(head, "empty", "The result would have no layers.")
    return build_graph(spec, Expr(S("List"), *edges), options or {}, head)


def as_container(net: Net) -> Container:
    """A layer as the one-layer chain it is equivalent to."""
    if isinstance(net, Container):
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
def net_drop(net: Net, spec: Any, head: str = "NetDrop") -> Container:
    c = as_container(net)
    if c.kind != "NetChain":
        raise error(head, "notchain", "NetDrop works on a NetChain; use NetTake to take part "
                                      "of a NetGraph.")
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
    return rebuild(c, keep, [], [], head)


# ---------------------------------------------------------------- NetAppend, NetPrepend, NetJoin
def _new_layers(c: Container, spec: Any, head: str) -> list[tuple[str | None, Net]]:
    items = list_items(spec) if is_list(spec) else [spec]
    if isinstance(spec, Association):
        items = [Expr(S("Rule"), k, v) for k, v in spec.items()]
    out: list[tuple[str | None, Net]] = []
    for item in items:
        if is_rule(item):
            name, value = item.args
            if not isinstance(name, str):
                raise error(head, "lname", f"Layer names must be strings; {input_form(name)} "
                                           f"is not.")
            out.append((name, to_net(value, head, f'the layer "{name}"')))
        else:
            out.append((None, to_net(item, head, f"{input_form(item)[:60]}")))
    return out


def _merged(c: Container, old: list[str], new: list[tuple[str | None, Net]],
            at_end: bool, head: str) -> tuple[list[str], dict[str, Net], bool]:
    """Names (in chain order) and nets of the old layers and the new ones."""
    named = c.named or any(n is not None for n, _ in new)
    names: list[str] = []
    nets: dict[str, Net] = {}
    old_items: list[tuple[str | None, Net]] = [(x, _with_root_shared(c, x)) for x in old]
    new_items = list(new)
    seq = old_items + new_items if at_end else new_items + old_items
    for i, (name, value) in enumerate(seq, 1):
        key = name if name is not None and (named or name in old) else str(i)
        if not c.named and name in old:
            key = str(i)
        if key in nets:
            raise error(head, "dupname", f'The layer name "{key}" is used twice.')
        names.append(key)
        nets[key] = value
    return names, nets, named


def net_append(net: Net, spec: Any, head: str = "NetAppend", at_end: bool = True) -> Container:
    c = as_container(net)
    new = _new_layers(c, spec, head)
    if c.kind == "NetChain":
        names, nets, named = _merged(c, list(c.order), new, at_end, head)
        body: Any = (Association((k, nets[k], False) for k in names) if named
                     else Expr(S("List"), *(nets[k] for k in names)))
        return build_chain(body, {}, head)
    # a graph: the new layers form a chain after its single output (before its single input)
    ins, outs = c.port_names()
    side = outs if at_end else ins
    if len(side) != 1:
        raise error(head, "multi", f"{head} needs a NetGraph with a single "
                                   f"{'output' if at_end else 'input'}; this one has "
                                   f"{len(side)} ({', '.join(side)}).")
    names = list(c.order)
    nets = {}
    added = []
    for i, (name, value) in enumerate(new, 1):
        key = name if name is not None else str(len(names) + i)
        if key in c.order or key in nets:
            raise error(head, "dupname", f'The layer name "{key}" is used twice.')
        nets[key] = value
        added.append(key)
    links = links_of(c)
    port = side[0]
    prev: Any
    if at_end:
        (u, sp, _, _), = [lk for lk in links if lk[2] == PortNode("out", port)]
        links = [lk for lk in links if lk[2] != PortNode("out", port)]
        prev, prev_port = u, sp
        for k in added:
            links.append((prev, prev_port, k, nets[k].port_names()[0][0]))
            prev, prev_port = k, nets[k].port_names()[1][0]
        order = names + added
    else:
        feeds = [lk for lk in links if lk[0] == PortNode("in", port)]
        links = [lk for lk in links if lk[0] != PortNode("in", port)]
        prev = PortNode("in", "Input")
        prev_port = "Input"
        for k in added:
            links.append((prev, prev_port, k, nets[k].port_names()[0][0]))
            prev, prev_port = k, nets[k].port_names()[1][0]
        links += [(prev, prev_port, v, dp) for _, _, v, dp in feeds]
        order = added + names
    g2 = c.evolve()
    g2.named = c.named or any(n is not None for n, _ in new)
    if not g2.named:   # unnamed: layers are numbered in order
        renumber = {k: str(i) for i, k in enumerate(order, 1)}
        order2 = [renumber[k] for k in order]
        nets2 = {renumber[k]: (nets.get(k) or _with_root_shared(c, k)) for k in order}
        links = [(renumber.get(u, u) if not isinstance(u, PortNode) else u, sp,
                  renumber.get(v, v) if not isinstance(v, PortNode) else v, dp)
                 for u, sp, v, dp in links]
        return rebuild(g2, order2, links, [], head, nets=nets2, as_chain=False)
    return rebuild(g2, order, links, [], head, nets=nets, as_chain=False)


def net_join(nets: list[Net], head: str = "NetJoin") -> Container:
    chains = [as_container(n) for n in nets]
    if any(c.kind != "NetChain" for c in chains):
        raise error(head, "notchain", "NetJoin joins NetChains (and layers); use NetGraph to "
                                      "connect NetGraphs.")
    first = chains[0]
    for c in chains[1:]:
        first = net_append(first, Expr(S("List"), *(
            Expr(S("Rule"), k, _with_root_shared(c, k)) if c.named else _with_root_shared(c, k)
            for k in c.order)), head)
    return first


# ---------------------------------------------------------------- NetFlatten
def net_flatten(net: Net, level: Any = None, head: str = "NetFlatten") -> Net:
    if level is None or level is S("Infinity"):
        depth = 10 ** 9
    elif is_integer(level) and level >= 1:
        depth = level
    else:
        raise error(head, "flev", f"The level argument {input_form(level)} in position 2 "
                                  f"should be a positive integer or Infinity giving the levels "
                                  f"to flatten through.")
    if not isinstance(net, Container):
        return net
    return _flatten(net, depth, head)


def _flatten(c: Container, depth: int, head: str) -> Container:
    inner = {n: _flatten(sub, depth - 1, head) if isinstance(sub, Container) and depth > 1
             else sub for n, sub in c.layers()}
    if not any(isinstance(v, Container) for v in inner.values()):
        return c.with_nets(inner) if inner else c
    names: list[str] = []
    nets: dict[str, Net] = {}
    links: list[Link] = []
    # where each (node, port) of this container is produced / consumed after flattening
    out_map: dict[tuple[Any, str], tuple[Any, str]] = {}
    in_map: dict[tuple[Any, str], list[tuple[Any, str]]] = {}
    for n in c.order:
        sub = inner[n]
        if not isinstance(sub, Container):
            names.append(n)
            nets[n] = sub
            continue
        prefix = f"{n}/"
        for k in sub.order:
            names.append(prefix + k)
            nets[prefix + k] = sub.net(k)
        for u, sp, v, dp in links_of(sub):
            if isinstance(u, PortNode) and isinstance(v, PortNode):
                raise error(head, "err", "Cannot flatten a net whose inner net passes an input "
                                         "straight to an output.")
            if isinstance(u, PortNode):
                in_map.setdefault((n, u.name), []).append((prefix + v, dp))
            elif isinstance(v, PortNode):
                out_map[(n, v.name)] = (prefix + u, sp)
            else:
                links.append((prefix + u, sp, prefix + v, dp))
    for u, sp, v, dp in links_of(c):
        src = out_map.get((u, sp), (u, sp)) if not isinstance(u, PortNode) else (u, sp)
        dsts = in_map.get((v, dp), [(v, dp)]) if not isinstance(v, PortNode) else [(v, dp)]
        for dv, dport in dsts:
            links.append((src[0], src[1], dv, dport))
    shared = dict(c.shared)
    for sub in inner.values():
        shared.update(sub.shared)
    nets = {k: _attach(v, shared) for k, v in nets.items()}
    is_chain = c.kind == "NetChain" and all(
        not isinstance(v, Container) or v.kind == "NetChain" for v in inner.values())
    flat = c.evolve()
    flat.named = True
    return rebuild(flat, names, links, [], head, dict(c.declared_ports), nets=nets,
                   as_chain=is_chain)


def _attach(net: Net, shared: dict[str, Any]) -> Net:
    refs = set(shared_refs(net))
    return net.evolve(shared={k: v for k, v in shared.items() if k in refs}) if refs else net


# ---------------------------------------------------------------- NetReplace
def net_replace(net: Net, rules: list[tuple[Any, Any]], head: str = "NetReplace") -> Net:
    """Every layer (at any depth) matching a rule's left side is replaced by its right side.

    A left side is a layer value (matched by equality) or a layer type's symbol
    (``DropoutLayer``: every DropoutLayer, standing for Wolfram's pattern ``_DropoutLayer``)."""
    def matches(layer: Net, lhs: Any) -> bool:
        if isinstance(lhs, Expr) and lhs.head is S("Blank") and lhs.args:
            lhs = lhs.args[0]
        if isinstance(lhs, Symbol) and lhs.name in LAYER_TYPES:
            return layer.head_name == lhs.name
        if not isinstance(lhs, Net) and (isinstance(lhs, Symbol) or is_integer(lhs)):
            lhs = to_net(lhs, head, input_form(lhs))    # Ramp: ElementwiseLayer[Ramp]
        if isinstance(lhs, Net):   # as written: shapes inferred in place do not count
            return layer == lhs or layer.reset() == lhs.reset()
        raise error(head, "patt", f"{input_form(lhs)} is not a layer or a layer type; write "
                                  f"layer -> new or LayerType -> new.")

    def walk(n: Net) -> Net:
        for lhs, rhs in rules:
            if matches(n, lhs):
                return to_net(rhs, head, f"the replacement {input_form(rhs)[:60]}")
        if isinstance(n, Container):
            changed = {k: walk(sub) for k, sub in n.layers()}
            if any(changed[k] is not n.net(k) for k in changed):
                return rebuild_with(n, changed, head)
        return n
    return walk(net)


def rebuild_with(c: Container, nets: dict[str, Net], head: str) -> Container:
    """``c`` with some layers replaced by others whose ports may differ; links to ports the
    new layer lacks are an error naming the layer and port."""
    links = links_of(c)
    new = {k: nets.get(k) or _with_root_shared(c, k) for k in c.order}
    for k in c.order:
        if nets.get(k) is None or nets[k] is c.net(k):
            continue
        fitted = fit_ports(c, k, new[k], links, head)
        new[k] = fitted
    return rebuild(c, list(c.order), links, [], head, dict(c.declared_ports), nets=new,
                   as_chain=c.kind == "NetChain")


def fit_ports(c: Container, name: str, new: Net, links: list[Link], head: str) -> Net:
    """``new`` made to take ``name``'s place: a multi-input layer gets as many inputs as
    are wired; a port wired but missing on ``new`` is an error."""
    fed = [dp for _, _, v, dp in links if v == name]
    used = [sp for u, sp, _, _ in links if u == name]
    if isinstance(new, MultiInputLayer):
        numbers = [int(p[5:]) for p in fed if p.startswith("Input") and p[5:].isdigit()]
        if numbers and len(numbers) == len(fed):
            new = new.with_input_count(max(max(numbers), new.input_count))
    ins, outs = new.port_names()
    for p in fed:
        if p not in ins:
            raise error(head, "ports", f'{c.label(name)} is fed on its input "{p}", but the '
                                       f"replacement {new.head_name} has no such input (its "
                                       f"inputs: {', '.join(ins)}). Replace it with a layer "
                                       f"of the same ports, or rewire the graph.")
    for p in used:
        if p not in outs:
            raise error(head, "ports", f'{c.label(name)} is read on its output "{p}", but the '
                                       f"replacement {new.head_name} has no such output (its "
                                       f"outputs: {', '.join(outs)}).")
    return new

