"""net[x, NetPort[{layer, "port"}]]: the values of ports inside a net (Wolfram's way to
read a hidden layer's activations), by evaluating a copy of the net whose graph also
routes those ports to outputs of its own.

Forms, as Wolfram's NetPort page: ``NetPort[{layer, "port"}]`` or ``NetPort[layer,
"port"]`` (layer a position n, -n or a name, at the top level of the container), a list
of them (an association by spec), and ``NetPort[All]`` (every layer's outputs, keyed
``NetPort[{layer, "Output"}]``). A net's own output port is named ``NetPort["port"]`` and
is not handled here.
"""

from __future__ import annotations

from typing import Any

from ..errors import EvaluationError
from ..expr import Expr, Symbol, input_form, is_integer, is_list, list_items
from ..graph.container import Container, PortNode
from ..graph.surgery import _layer, as_container, links_of, muted, rebuild
from ..layers.base import Net

S = Symbol
NETPORT = S("NetPort")


def inner_port_specs(a: Any) -> list[Any] | None:
    """The NetPort specs of ``a`` when it names ports inside the net (one, a list, or
    NetPort[All]); None for anything else."""
    items = list_items(a) if is_list(a) else [a]
    if not items or not all(_is_inner(x) for x in items):
        return None
    return items


def _is_inner(x: Any) -> bool:
    if not (isinstance(x, Expr) and x.head is NETPORT):
        return False
    if len(x.args) == 1:
        return x.args[0] is S("All") or (is_list(x.args[0]) and len(list_items(x.args[0])) == 2)
    return len(x.args) == 2 and x.args[0] is not S("All") and isinstance(x.args[1], str)


def _where(spec: Expr) -> tuple[Any, Any]:
    first = spec.args[0]
    if len(spec.args) == 1:
        layer, port = list_items(first)
        return layer, port
    return first, spec.args[1]


def exposed(net: Net, specs: list[Any], head: str) -> tuple[Container, list[tuple[Any, str]]]:
    """A copy of ``net`` whose graph also gives each named inner port as an output, and
    (the key of each value in the result, that output's name)."""
    c = as_container(net)
    wanted: list[tuple[Any, str, str]] = []     # (key, layer name, port)
    for spec in specs:
        if len(spec.args) == 1 and spec.args[0] is S("All"):
            for i, name in enumerate(c.order, 1):
                ref = name if c.named else i
                for port in c.net(name).port_names()[1]:
                    wanted.append((Expr(NETPORT, Expr(S("List"), ref, port)), name, port))
            continue
        layer, port = _where(spec)
        if not (is_integer(layer) or isinstance(layer, str)):
            raise EvaluationError(f"{input_form(spec)}: {input_form(layer)} is not a layer of "
                                  f"the net (give its position or name).", symbol=head,
                                  tag="inport")
        name = _layer(c, layer, head)
        outs = c.net(name).port_names()[1]
        if port not in outs:
            raise EvaluationError(f"{input_form(spec)}: the layer has no output port "
                                  f"\"{port}\"; its outputs are {', '.join(outs)}.",
                                  symbol=head, tag="inport")
        wanted.append((spec, name, port))
    taken = set(c.port_names()[0]) | set(c.port_names()[1])
    links = list(links_of(c))
    names = []
    for key, layer, port in wanted:
        out = f"{layer}/{port}"
        while out in taken:
            out += "'"
        taken.add(out)
        links.append((layer, port, PortNode("out", out), out))
        names.append((key, out))
    graph = rebuild(c, list(c.order), links, muted(c, list(c.order), links), head,
                    dict(c.declared_ports), as_chain=False)
    return graph, names
