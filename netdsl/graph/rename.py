"""NetInsert, NetDelete and NetRename: editing the layers of a container by position or name.

- ``NetInsert[chain, layer, pos]`` (``"name" -> layer``): the layer placed before the
  layer at ``pos`` (a position n or -n, a name; n = length + 1 or -1 is the end).
- ``NetDelete[net, spec]`` (a position, a name, or a list of them): the layers removed.
  In a NetGraph a layer between two others (read from and read by) is bypassed, its
  source wired to its readers, when it has one input and one output of one shape (as
  Wolfram's NetDelete: an interior layer needs the same input and output size, else
  a netdsl error); a layer at the edge of the graph goes with its connections, and the
  rest must still make a graph (an input left unconnected becomes a graph input, as
  NetGraph does).
- ``NetRename[net, "old" -> "new"]`` (or a list of rules): layers renamed; an unnamed
  container's layers are numbered, so renaming one names them all (the others keep
  their numbers as names, as Wolfram does).

Results are built through ``surgery.rebuild`` (NetChain/NetGraph's own code), so shapes
are inferred again and every error is the constructors' own.
"""

from __future__ import annotations

from typing import Any, Callable

from ..expr import Expr, Symbol, input_form, is_integer, is_list, is_rule, list_items, make_list
from ..layers.base import Net
from .compose import _new_layers
from .container import Container, PortNode
from .surgery import (_layer, as_container, chain_of, delete_layers, error, links_of, muted,
                      rebuild, with_root_shared)

S = Symbol


def net_insert(net: Net, spec: Any, pos: Any, head: str = "NetInsert") -> Container:
    c = chain_of(net, head, "connect a NetGraph's layers with NetGraph")
    n = len(c.order)
    if is_integer(pos):
        if not (1 <= pos <= n + 1 or -n - 1 <= pos <= -1):
            raise error(head, "nolayer", f"There is no position {pos}: the chain has {n} "
                                         f"layer{'' if n == 1 else 's'} (positions 1 to "
                                         f"{n + 1}, or -1 to {-n - 1}).")
        at = pos - 1 if pos > 0 else n + 1 + pos
    elif isinstance(pos, str):
        at = c.order.index(_layer(c, pos, head))
    else:
        raise error(head, "nolayer", f"{input_form(pos)} is not a position of the chain; give "
                                     f"1 to {n + 1}, -1 to {-n - 1} or a layer's name.")
    new = _new_layers(c, spec, head)
    if len(new) != 1:
        raise error(head, "arg", 'NetInsert inserts one layer (or "name" -> layer).')
    name, layer = new[0]
    key = name if name is not None else str(n + 1)
    if key in c.order:
        raise error(head, "dupname", f'The layer name "{key}" is used twice.')
    keys = list(c.order)
    keys.insert(at, key)
    nets = {k: with_root_shared(c, k) for k in c.order}
    nets[key] = layer
    out = c.evolve()
    out.named = c.named or name is not None
    return rebuild(out, keys, [], [], head, nets=nets, as_chain=True)


def net_delete(net: Net, spec: Any, head: str = "NetDelete") -> Container:
    c = as_container(net)
    specs = list_items(spec) if is_list(spec) else [spec]
    ports = [x.args[0] for x in specs if _is_port(x)]
    if ports:          # NetDelete[graph, NetPort["out"]]: an output of the graph removed
        c = _output_deleted(c, ports, head)
    layers = {_layer(c, s, head) for s in specs if not _is_port(s)}
    return delete_layers(c, layers, head) if layers else c


def _output_deleted(c: Container, names: list[str], head: str) -> Container:
    """The container without those output ports: what fed them is left unread (muted)."""
    outs = c.port_names()[1]
    for name in names:
        if name not in outs:
            raise error(head, "noport", f'The net has no output port "{name}"; its outputs '
                                        f"are {', '.join(outs)}.")
    if len(set(names)) == len(outs):
        raise error(head, "empty", f"{head} would remove every output of the net.")
    gone = {PortNode("out", n) for n in names}
    links = [lk for lk in links_of(c) if lk[2] not in gone]
    declared = {p: t for p, t in c.declared_ports.items() if p not in names}
    return rebuild(c, list(c.order), links, muted(c, list(c.order), links), head, declared,
                   as_chain=False)


def net_rename(net: Net, rules: Any, head: str = "NetRename",
               rename: Callable[[str], Any] | None = None) -> Container:
    """Layers renamed by rules (``rename``: by a function of each name, NetRename[net, f]);
    rules ``NetPort["old"] -> NetPort["new"]`` rename the net's own ports."""
    c = as_container(net)
    if rename is not None:
        rules = make_list(Expr(S("Rule"), k, rename(k)) for k in c.order)
    items = list_items(rules) if is_list(rules) else [rules]
    if not items or not all(is_rule(r) for r in items):
        raise error(head, "arg", f'{input_form(rules)[:80]} is not "old" -> "new" or a list '
                                 f"of such rules.")
    ports = [r for r in items if _is_port(r.args[0])]
    if ports:
        c = _ports_renamed(c, ports, head)
        items = [r for r in items if r not in ports]
        if not items:
            return c
    renames: dict[str, str] = {}
    for r in items:
        old, new = r.args
        key = _layer(c, old, head)
        if not isinstance(new, str) or not new:
            raise error(head, "lname", f"Layer names must be non-empty strings; "
                                       f"{input_form(new)} is not.")
        renames[key] = new
    order = [renames.get(k, k) for k in c.order]
    if len(set(order)) != len(order):
        dup = next(x for x in order if order.count(x) > 1)
        raise error(head, "dupname", f'The layer name "{dup}" is used twice.')
    nets = {renames.get(k, k): with_root_shared(c, k) for k in c.order}

    def moved(node: Any) -> Any:
        return node if isinstance(node, PortNode) else renames.get(node, node)
    links = [(moved(u), sp, moved(v), dp) for u, sp, v, dp in links_of(c)]
    unread = [(renames.get(k, k), p) for k, p in muted(c, list(c.order))]
    out = c.evolve()
    out.named = True
    return rebuild(out, order, [] if c.kind == "NetChain" else links,
                   [] if c.kind == "NetChain" else unread, head, nets=nets)


def _is_port(x: Any) -> bool:
    return isinstance(x, Expr) and x.head is S("NetPort") and len(x.args) == 1 \
        and isinstance(x.args[0], str)


def _ports_renamed(c: Container, rules: list[Expr], head: str) -> Container:
    """NetRename[net, NetPort["old"] -> NetPort["new"]]: a port of the net renamed (a
    chain becomes the equivalent graph, whose ports can have any names)."""
    ins, outs = c.port_names()
    renames: dict[str, str] = {}
    for r in rules:
        old, new = r.args[0].args[0], r.args[1]
        new = new.args[0] if _is_port(new) else new
        if old not in ins + outs:
            raise error(head, "noport", f'The net has no port "{old}"; its ports are '
                                        f"{', '.join(ins + outs)}.")
        if not isinstance(new, str) or not new:
            raise error(head, "lname", f"Port names must be non-empty strings; "
                                       f"{input_form(new)} is not.")
        renames[old] = new
    names = [renames.get(p, p) for p in ins] + [renames.get(p, p) for p in outs]
    if len(set(names)) != len(names):
        raise error(head, "dupname", f"The port names {', '.join(names)} are not distinct.")

    def moved(node: Any) -> Any:
        if isinstance(node, PortNode):
            return PortNode(node.side, renames.get(node.name, node.name))
        return node
    links = [(moved(u), sp, moved(v), renames.get(dp, dp) if isinstance(v, PortNode) else dp)
             for u, sp, v, dp in links_of(c)]
    declared = {renames.get(p, p): t for p, t in c.declared_ports.items()}
    return rebuild(c, list(c.order), links, muted(c, list(c.order)), head, declared,
                   as_chain=False)
