"""A net drawn as a graph: layers as labelled boxes, ports, edges, nested containers as
groups, in the manner of Wolfram's net summary graphic.

The drawing is computed here from the networkx graph (a layered layout: each node one rank
below its deepest producer, ranks ordered to reduce crossings) and written as SVG or as
Graphviz DOT text, so no graphviz binary is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any


from ..expr import Opaque
from ..layers.base import Layer, Net
from .container import LINKS, NET, Container, PortNode

if TYPE_CHECKING:
    import networkx as nx
else:
    from .networkx_lazy import nx

# layout constants, in SVG pixels
CHAR_W = 7.0          # average width of a character of the 12px sans-serif font
BOX_H = 40
RANK_GAP = 34
NODE_GAP = 22
MARGIN = 16
GROUP_PAD = 10


def escape(text: str) -> str:
    """&, < and > as XML entities (xml.sax.saxutils.escape; that module imports
    urllib, http and ssl, 0.1 s of every process's start-up)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class Node:
    key: tuple                 # ("layer", path) or ("port", side, name)
    title: str                 # the type, or the port name
    detail: str                # output shape, or "port"
    group: tuple = ()          # path of the nested container holding it ((): top level)
    rank: int = 0
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0


@dataclass
class Drawing:
    """The laid-out diagram: nodes with positions, edges between node keys, groups."""

    nodes: dict[tuple, Node]
    edges: list[tuple[tuple, tuple, str]]     # (from key, to key, port label)
    groups: dict[tuple, str] = field(default_factory=dict)   # path -> "NetChain ..." label
    width: float = 0.0
    height: float = 0.0
    boxes: dict[tuple, tuple[float, float, float, float]] = field(default_factory=dict)


def _dims(net: Net, port: str) -> str:
    t = net.ports.get(port)
    if t is None or t.shape is None:
        return ""
    if t.shape == ():
        return "index" if t.integer else "scalar"
    return "{" + ", ".join("n" if d is None else str(d) for d in t.shape) + "}"


def _title(layer: Layer) -> str:
    return layer.title()


def _flatten(net: Net) -> tuple[nx.DiGraph, dict[tuple, Node], dict[tuple, str]]:
    """The leaf-level graph: top-level ports and every layer, with nested containers'
    ports contracted away (their nodes are remembered as groups)."""
    g = nx.DiGraph()
    nodes: dict[tuple, Node] = {}
    groups: dict[tuple, str] = {}
    inner_ports: list[tuple] = []

    def key_of(path: tuple, node: Any) -> tuple:
        if isinstance(node, PortNode):
            return ("port", path, node.side, node.name)
        return ("layer", path + (node,))

    def walk(c: Container, path: tuple) -> None:
        for node in c.graph.nodes:
            if isinstance(node, PortNode):
                k = key_of(path, node)
                g.add_node(k)
                if path:
                    inner_ports.append(k)
                else:
                    nodes[k] = Node(k, node.name, _dims(c, node.name) or node.side + "put port")
                continue
            sub = c.net(node)
            if isinstance(sub, Container):
                label = f'"{node}"' if c.named else str(node)
                groups[path + (node,)] = f"{label}: {sub.kind}"
                walk(sub, path + (node,))
            else:
                assert isinstance(sub, Layer)
                k = key_of(path, node)
                outs = sub.port_names()[1]
                detail = _dims(sub, outs[0]) if len(outs) == 1 else ", ".join(outs)
                title = f"{node}: {_title(sub)}" if c.named else _title(sub)
                nodes[k] = Node(k, title, detail, group=path)
                g.add_node(k)
        for src, dst, data in c.graph.edges(data=True):
            for sp, dp in data[LINKS]:
                a = _endpoint(c, path, src, sp, "out")
                b = _endpoint(c, path, dst, dp, "in")
                g.add_edge(a, b, label=_port_label(c, src, sp, dst, dp))

    def _endpoint(c: Container, path: tuple, node: Any, port: str, side: str) -> tuple:
        if isinstance(node, PortNode):
            return key_of(path, node)
        sub = c.net(node)
        if isinstance(sub, Container):
            return ("port", path + (node,), "in" if side == "in" else "out", port)
        return key_of(path, node)

    walk(net if isinstance(net, Container) else _single(net), ())
    for k in inner_ports:  # contract: producer -> inner port -> consumer becomes one edge
        if k not in g:
            continue
        for a in list(g.predecessors(k)):
            for b in list(g.successors(k)):
                label = g.edges[a, k].get("label") or g.edges[k, b].get("label", "")
                g.add_edge(a, b, label=label)
        g.remove_node(k)
    return g, nodes, groups


def _port_label(c: Container, src: Any, sp: str, dst: Any, dp: str) -> str:
    """An edge is labelled with the ports it joins only where they are not the usual ones."""
    parts = []
    if not isinstance(src, PortNode) and len(c.net(src).port_names()[1]) > 1:
        parts.append(sp)
    if not isinstance(dst, PortNode) and len(c.net(dst).port_names()[0]) > 1:
        parts.append(dp)
    return " \u2192 ".join(parts)


def _single(layer: Net) -> Container:
    """A lone layer drawn as a chain of one: its ports, then the box."""
    g = nx.DiGraph()
    ins, outs = layer.port_names()
    g.add_node("1", **{NET: layer})
    for p in ins:
        g.add_edge(PortNode("in", p), "1", **{LINKS: [(p, p)]})
    for p in outs:
        g.add_edge("1", PortNode("out", p), **{LINKS: [(p, p)]})
    return Container("NetChain", g, ["1"], False, dict(layer.ports))


def layout(net: Net) -> Drawing:
    """Each container is laid out as a block: its items in ranks (longest path from its
    inputs), ordered within a rank by the mean position of their producers; a nested
    container is one item of its parent, as big as its own block."""
    g, nodes, groups = _flatten(net)
    for n in nodes.values():
        n.width = max(len(n.title), len(n.detail)) * CHAR_W + 20
    boxes: dict[tuple, tuple[float, float, float, float]] = {}   # group path -> x, y, w, h
    top = net if isinstance(net, Container) else _single(net)
    w, h = _block(top, (), nodes, boxes, 0.0, 0.0)
    edges = [(a, b, d.get("label", "")) for a, b, d in g.edges(data=True)
             if a in nodes and b in nodes]
    drawing = Drawing(nodes, edges, groups, w + 2 * MARGIN, h + 2 * MARGIN)
    drawing.boxes = boxes
    for n in nodes.values():
        n.x += MARGIN
        n.y += MARGIN
    for path, (x, y, bw, bh) in boxes.items():
        boxes[path] = (x + MARGIN, y + MARGIN, bw, bh)
    return drawing


def _item_key(path: tuple, node: Any) -> tuple:
    if isinstance(node, PortNode):
        return ("port", path, node.side, node.name)
    return ("layer", path + (node,))


def _block(c: Container, path: tuple, nodes: dict[tuple, Node],
           boxes: dict[tuple, tuple[float, float, float, float]], x0: float, y0: float
           ) -> tuple[float, float]:
    """Place the items of container ``c`` with its top-left corner at (x0, y0); return the
    block's width and height. Nested blocks are placed recursively."""
    items = [n for n in c.graph.nodes if not (path and isinstance(n, PortNode))]
    sub = c.graph.subgraph(items)
    rank: dict[Any, int] = {}
    for n in nx.topological_sort(sub):
        preds = [rank[p] for p in sub.predecessors(n)]
        rank[n] = max(preds) + 1 if preds else 0
    last = max(rank.values(), default=0)
    for n in items:
        if isinstance(n, PortNode) and n.side == "out":
            rank[n] = last     # outputs on the last row, as a summary graphic shows them
    size: dict[Any, tuple[float, float]] = {}
    inner: dict[Any, Container] = {}
    for n in items:
        net = None if isinstance(n, PortNode) else c.net(n)
        if isinstance(net, Container):
            inner[n] = net
            bw, bh = _block(net, path + (n,), nodes, {}, 0.0, 0.0)   # measure; placed below
            size[n] = (bw + 2 * GROUP_PAD, bh + 2 * GROUP_PAD + 14)
        else:
            size[n] = (nodes[_item_key(path, n)].width, BOX_H)
    rows: dict[int, list[Any]] = {}
    for n in nx.topological_sort(sub):
        rows.setdefault(rank[n], []).append(n)
    for n in items:
        if n not in sub:
            rows.setdefault(rank[n], []).append(n)
    centre: dict[Any, float] = {}
    width = 0.0
    for r in sorted(rows):
        row = rows[r]
        if r:
            row.sort(key=lambda n: _mean(centre, c.graph.predecessors(n)))
        x = 0.0
        for n in row:
            centre[n] = x + size[n][0] / 2
            x += size[n][0] + NODE_GAP
        width = max(width, x - NODE_GAP)
    y = 0.0
    for r in sorted(rows):
        row = rows[r]
        row_w = sum(size[n][0] for n in row) + NODE_GAP * (len(row) - 1)
        x = x0 + (width - row_w) / 2
        row_h = max(size[n][1] for n in row)
        for n in row:
            bw, bh = size[n]
            top = y0 + y + (row_h - bh) / 2
            if n in inner:
                boxes[path + (n,)] = (x, top, bw, bh)
                _block(inner[n], path + (n,), nodes, boxes, x + GROUP_PAD, top + GROUP_PAD + 14)
            else:
                node = nodes[_item_key(path, n)]
                node.x, node.y = x, top
            centre[n] = x - x0 + bw / 2
            x += bw + NODE_GAP
        y += row_h + RANK_GAP
    return width, y - RANK_GAP


def _mean(centre: dict[Any, float], preds: Any) -> float:
    xs = [centre[p] for p in preds if p in centre]
    return sum(xs) / len(xs) if xs else 0.0


# ---------------------------------------------------------------- SVG
def to_svg(net: Net) -> str:
    """The diagram as a standalone SVG document."""
    d = layout(net)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{d.width:.0f}" '
           f'height="{d.height:.0f}" viewBox="0 0 {d.width:.0f} {d.height:.0f}" '
           f'font-family="sans-serif" font-size="12">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
           'fill="#555"/></marker></defs>',
           f'<title>{escape(net.short_form())}</title>']
    for path in sorted(d.boxes, key=len):
        x0, y0, bw, bh = d.boxes[path]
        out.append(f'<g class="group"><rect x="{x0:.1f}" y="{y0:.1f}" width="{bw:.1f}" '
                   f'height="{bh:.1f}" rx="6" fill="#f4f6fa" stroke="#9aa5b8" '
                   f'stroke-dasharray="4 3"/><text x="{x0 + 6:.1f}" y="{y0 + 13:.1f}" '
                   f'fill="#56627a" font-size="11">{escape(d.groups[path])}</text></g>')
    arrivals: dict[tuple, list[tuple]] = {}   # edges into a node spread over its top side
    for a, b, _ in d.edges:
        arrivals.setdefault(b, []).append(a)
    for sources in arrivals.values():
        sources.sort(key=lambda a: d.nodes[a].x)
    for a, b, label in d.edges:
        na, nb = d.nodes[a], d.nodes[b]
        x1, y1 = na.x + na.width / 2, na.y + BOX_H
        k = arrivals[b].index(a)
        x2, y2 = nb.x + nb.width * (k + 1) / (len(arrivals[b]) + 1), nb.y
        my = (y1 + y2) / 2
        out.append(f'<path class="edge" d="M {x1:.1f} {y1:.1f} C {x1:.1f} {my:.1f}, '
                   f'{x2:.1f} {my:.1f}, {x2:.1f} {y2 - 1:.1f}" fill="none" stroke="#555" '
                   f'marker-end="url(#arrow)"/>')
        if label:
            out.append(f'<text x="{x2 + 4:.1f}" y="{y2 - 5:.1f}" fill="#555" '
                       f'font-size="10">{escape(label)}</text>')
    for n in d.nodes.values():
        port = n.key[0] == "port"
        fill, stroke = ("#fff7e6", "#d08a00") if port else ("#e8f0fe", "#3a66b0")
        out.append(f'<g class="{"port" if port else "layer"}"><rect x="{n.x:.1f}" '
                   f'y="{n.y:.1f}" width="{n.width:.1f}" height="{BOX_H}" '
                   f'rx="{BOX_H / 2 if port else 4}" fill="{fill}" stroke="{stroke}"/>'
                   f'<text x="{n.x + n.width / 2:.1f}" y="{n.y + 16:.1f}" '
                   f'text-anchor="middle" font-weight="bold">{escape(n.title)}</text>'
                   f'<text x="{n.x + n.width / 2:.1f}" y="{n.y + 32:.1f}" '
                   f'text-anchor="middle" fill="#444">{escape(n.detail)}</text></g>')
    out.append("</svg>")
    return "\n".join(out)


# ---------------------------------------------------------------- DOT
def _dot_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(net: Net) -> str:
    """The diagram as Graphviz DOT text (nested containers as clusters)."""
    d = layout(net)
    ids = {k: f"n{i}" for i, k in enumerate(d.nodes)}

    def node_line(n: Node, indent: str) -> str:
        shape = "ellipse" if n.key[0] == "port" else "box"
        return f'{indent}{ids[n.key]} [label={_dot_string(n.title + chr(10) + n.detail)}, shape={shape}];'

    lines = ["digraph net {", "  rankdir=TB;", '  node [fontname="sans-serif"];']
    top = [n for n in d.nodes.values() if not n.group]
    lines += [node_line(n, "  ") for n in top]

    def cluster(path: tuple, depth: int) -> None:
        ind = "  " * depth
        lines.append(f"{ind}subgraph cluster_{len(lines)} {{")
        lines.append(f"{ind}  label={_dot_string(d.groups[path])}; style=dashed;")
        for n in d.nodes.values():
            if n.group == path:
                lines.append(node_line(n, ind + "  "))
        for sub in d.groups:
            if len(sub) == len(path) + 1 and sub[:len(path)] == path:
                cluster(sub, depth + 1)
        lines.append(f"{ind}}}")

    for path in d.groups:
        if len(path) == 1:
            cluster(path, 1)
    for a, b, label in d.edges:
        attr = f" [label={_dot_string(label)}]" if label else ""
        lines.append(f"  {ids[a]} -> {ids[b]}{attr};")
    lines.append("}")
    return "\n".join(lines)


class Diagram(Opaque):
    """What ``Information[net, "SummaryGraphic"]`` gives: shows itself as SVG in Jupyter,
    and exports as .svg or .dot."""

    head_name = "Graphics"

    def __init__(self, net: Net):
        self.net = net

    def input_form(self) -> str:
        return f"Graphics[<diagram of {self.net.short_form()}>]"

    def output_form(self) -> str:
        return f"-Graphics- (diagram of {self.net.short_form()})"

    def svg(self) -> str:
        return to_svg(self.net)

    def dot(self) -> str:
        return to_dot(self.net)

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        return f"Diagram[{self.net.short_form()}]"
