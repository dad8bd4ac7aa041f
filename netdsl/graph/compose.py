"""Putting nets together: NetAppend, NetPrepend, NetJoin, NetFlatten, NetReplace, and
replacing a layer by one with other ports (NetReplacePart).

Results are built through ``surgery.rebuild`` (so through NetChain/NetGraph's own code):

- ``NetAppend``/``NetPrepend`` add layers (``layer``, ``{layers}``, ``"name" -> layer``) at
  the end/start of a chain, or after the single output / before the single input of a
  graph; ``NetJoin[chain1, chain2, ...]`` is one chain of all their layers.
- ``NetFlatten[net]`` (``NetFlatten[net, n]``: n levels) moves the layers of nested
  containers up; their names join with "/" ("block/conv"). A chain of chains stays a
  chain; anything holding a graph becomes a graph.
"""

from __future__ import annotations

from typing import Any

from ..expr import Association, Expr, Symbol, input_form, is_integer, is_list, is_rule, list_items
from ..layers.base import Net
from ..layers.combine import MultiInputLayer
from ..layers.registry import LAYER_TYPES
from .build import build_chain, to_net
from .container import Container, PortNode, shared_refs
from .operators import Operator
from .surgery import (Link, as_container, delete_layers, error, links_of, rebuild,
                      with_root_shared)

S = Symbol


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
    old_items: list[tuple[str | None, Net]] = [(x, with_root_shared(c, x)) for x in old]
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
        nets2 = {renumber[k]: (nets.get(k) or with_root_shared(c, k)) for k in order}
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
            Expr(S("Rule"), k, with_root_shared(c, k)) if c.named else with_root_shared(c, k)
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
    if not _structural(net):
        return net
    assert isinstance(net, Container)
    return _flatten(net, depth, head)


def _structural(net: Net) -> bool:
    """A NetChain or NetGraph, whose layers can move up; an operator stays one layer."""
    return isinstance(net, Container) and net.operator is None


def _flatten(c: Container, depth: int, head: str) -> Container:
    inner = {n: _flatten(sub, depth - 1, head) if isinstance(sub, Container) and _structural(sub)
             and depth > 1 else sub for n, sub in c.layers()}
    if not any(_structural(v) for v in inner.values()):
        return c.with_nets(inner) if inner else c
    names: list[str] = []
    nets: dict[str, Net] = {}
    links: list[Link] = []
    # where each (node, port) of this container is produced / consumed after flattening
    out_map: dict[tuple[Any, str], tuple[Any, str]] = {}
    in_map: dict[tuple[Any, str], list[tuple[Any, str]]] = {}
    for n in c.order:
        sub = inner[n]
        if not isinstance(sub, Container) or not _structural(sub):
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
        not isinstance(v, Container) or not _structural(v) or v.kind == "NetChain"
        for v in inner.values())
    flat = c.evolve()
    flat.named = True
    return rebuild(flat, names, links, [], head, dict(c.declared_ports), nets=nets,
                   as_chain=is_chain)


def _attach(net: Net, shared: dict[str, Any]) -> Net:
    refs = set(shared_refs(net))
    return net.evolve(shared={k: v for k, v in shared.items() if k in refs}) if refs else net


# ---------------------------------------------------------------- NetReplace
NOTHING = Symbol("Nothing")


def net_replace(net: Net, rules: list[Any], head: str = "NetReplace") -> Net:
    """Every layer (at any depth) matching a rule's left side is replaced by its right side.

    A rule is (left, right): a left side is a layer value (matched by equality) or a layer
    type's symbol (``DropoutLayer``: every DropoutLayer, as Wolfram's ``_DropoutLayer``).
    A rule may also be a function ``layer -> replacement or None`` (the language's
    patterns, ``x_LinearLayer /; cond :> new``, which need the evaluator). As Wolfram's:
    a right side ``Nothing`` drops the layer (as NetDelete does), and a NetChain put in
    a NetChain of numbered layers becomes its layers there. The net itself (the same
    object) when nothing matched."""
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

    fresh: set[int] = set()      # replacements made here (not chains the net had)

    def walk(n: Net) -> Any:
        for rule in rules:
            if callable(rule):
                rhs = rule(n)
                if rhs is None:
                    continue
            else:
                lhs, rhs = rule
                if not matches(n, lhs):
                    continue
            if rhs is NOTHING:
                return NOTHING
            new = to_net(rhs, head, f"the replacement {input_form(rhs)[:60]}")
            fresh.add(id(new))
            return new
        if isinstance(n, Container):
            changed = {k: walk(sub) for k, sub in n.layers()}
            if any(changed[k] is not n.net(k) for k in changed):
                return _replaced(n, changed, fresh, head)
        return n
    out = walk(net)
    if out is NOTHING:
        raise error(head, "empty", f"{head} would remove the whole net.")
    return out


def _replaced(c: Container, changed: dict[str, Any], fresh: set[int], head: str) -> Container:
    gone = {k for k, v in changed.items() if v is NOTHING}
    if len(gone) == len(c.order):
        raise error(head, "empty", f"{head} would remove every layer of the {c.kind}.")
    nets = {k: v for k, v in changed.items() if v is not NOTHING}
    if c.kind == "NetChain" and not c.named and any(
            id(v) in fresh and _plain_chain(v) for v in nets.values()):
        return _spliced(c, [nets[k] for k in c.order if k in nets], fresh, head)
    if any(nets[k] is not c.net(k) for k in nets):
        c = rebuild_with(c, nets, head)
    return delete_layers(c, gone, head) if gone else c


def _plain_chain(net: Net) -> bool:
    return isinstance(net, Container) and net.kind == "NetChain" and not isinstance(net, Operator)


def _spliced(c: Container, layers: list[Net], fresh: set[int], head: str) -> Container:
    """A chain of numbered layers with each NetChain put in by NetReplace opened up into its
    layers (Wolfram: "Replacing a layer with a NetChain will collapse the chain into any
    parent chain")."""
    keys: list[str] = []
    nets: dict[str, Net] = {}
    for i, sub in enumerate(layers):
        if id(sub) in fresh and isinstance(sub, Container) and _plain_chain(sub):
            for j, inner in enumerate(sub.order):
                keys.append(f"{i}/{j}")
                nets[f"{i}/{j}"] = with_root_shared(sub, inner)
        else:
            keys.append(f"{i}/0")
            nets[f"{i}/0"] = sub
    return rebuild(c, keys, [], [], head, dict(c.declared_ports), nets=nets, as_chain=True)


def rebuild_with(c: Container, nets: dict[str, Net], head: str) -> Container:
    """``c`` with some layers replaced by others whose ports may differ; links to ports the
    new layer lacks are an error naming the layer and port."""
    links = links_of(c)
    new = {k: nets.get(k) or with_root_shared(c, k) for k in c.order}
    if isinstance(c, Operator):     # the same operator around the new inner nets
        return c.around(new, head)
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
    if new.optional_inputs or new.optional_outputs:   # a "State" wired: the new one shows it
        shown_in = tuple(p for p in fed if p in new.optional_inputs)
        shown_out = tuple(p for p in used if p in new.optional_outputs)
        if shown_in or shown_out:
            new = new.with_optional_ports(shown_in, shown_out)
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

