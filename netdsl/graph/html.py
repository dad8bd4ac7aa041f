"""How nets and layers show themselves in Jupyter: the summary as an HTML table (type,
output shape and parameter count per layer, the ports, initialized or not), with the
diagram beside it for containers."""

from __future__ import annotations

from html import escape
from typing import Sequence

from ..layers.base import VIEWS, Layer, Net
from .container import Container, count_text
from .diagram import to_svg

_STYLE = ("<style>.netdsl td,.netdsl th{padding:2px 10px;text-align:left;"
          "font-family:monospace}.netdsl th{border-bottom:1px solid #999}"
          ".netdsl .num{text-align:right}</style>")


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        f'<td class="num">{escape(c)}</td>' if i == len(r) - 1 and len(header) == 4
        else f"<td>{escape(c)}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def net_html(net: Net) -> str:
    state = "initialized" if net.initialized else "uninitialized"
    ins, outs = net.port_names()
    if isinstance(net, Container):
        title = f"{net.kind} ({len(net.order)} layers, {state})"
        rows: list[tuple[str, ...]] = [(p, "input port", net.ports[p].words(), "") for p in ins]
        for name, sub in net.layers():
            label = f'"{name}"' if net.named else name
            kind = sub.title() if isinstance(sub, Layer) else sub.short_form()
            out = "; ".join(sub.ports[o].words() for o in sub.port_names()[1])
            rows.append((label, kind, out, count_text(sub)))
        rows += [(p, "output port", net.ports[p].words(), "") for p in outs]
        rows.append(("", "total", "", count_text(net) or "0"))
        table = _table(("layer", "type", "output", "parameters"), rows)
        picture = f'<div style="margin-left:24px">{to_svg(net)}</div>'
    else:
        assert isinstance(net, Layer)
        title = f"{net.name} ({state})"
        shapes = net.array_shapes()
        rows = [(p, "port", net.ports[p].words()) for p in ins + outs]
        rows += [(a, "array", "{" + ", ".join("n" if d is None else str(d) for d in s) + "}"
                  if s is not None else "to be inferred") for a, s in shapes.items()]
        table = _table(("name", "kind", "shape"), rows)
        picture = ""
    return (f'<div class="netdsl">{_STYLE}<b>{escape(title)}</b>'
            f'<div style="display:flex;align-items:flex-start">{table}{picture}</div></div>')


VIEWS["html"] = net_html
