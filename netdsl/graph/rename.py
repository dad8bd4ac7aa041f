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

from typing import Any

from ..expr import input_form, is_integer, is_list, is_rule, list_items
from ..layers.base import Net
from .compose import _new_layers
from .container import Container, PortNode
from .surgery import (_layer, as_container, chain_of, delete_layers, error, links_of, muted,
                      rebuild, with_root_shared)


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
    return delete_layers(c, {_layer(c, s, head) for s in specs}, head)


def net_rename(net: Net, rules: Any, head: str = "NetRename") -> Container:
    c = as_container(net)
    items = list_items(rules) if is_list(rules) else [rules]
    if not items or not all(is_rule(r) for r in items):
        raise error(head, "arg", f'{input_form(rules)[:80]} is not "old" -> "new" or a list '
                                 f"of such rules.")
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
