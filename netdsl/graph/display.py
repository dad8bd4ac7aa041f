"""How nets print: a readable summary (OutputForm) and re-parseable text (InputForm).

The InputForm of a net is its netdsl text, arrays included, so that text is
also the way to save a net.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import Expr, Symbol, format_real_output, input_form, packed
from ..layers.base import NO_ARRAY, Layer, SharedRef
from ..layers.functions import Program
from ..layers.shapes import PortType
from .container import LINKS, Container, PortNode

S = Symbol


def to_expr(v: Any) -> Any:
    """A stored option or parameter value back to an expression."""
    if isinstance(v, bool):
        return S("True" if v else "False")
    if v is None:
        return S("Automatic")
    if isinstance(v, tuple):
        return Expr(S("List"), *[to_expr(x) for x in v])
    if isinstance(v, Program):
        return v.source
    if isinstance(v, np.ndarray):
        return packed(v)
    return v


def _positional_expr(layer: Layer, name: str, v: Any) -> Any:
    if name in ("OutputDimensions",) and isinstance(v, tuple) and len(v) == 1:
        return v[0]
    if name == "KernelSize" and isinstance(v, tuple) and len(set(v)) == 1 and len(v) > 1:
        return to_expr(v)
    return to_expr(v)


def layer_rules(layer: Layer, with_arrays: bool = True, with_ports: bool = True) -> list[str]:
    parts = []
    positional = []
    for p in layer.positional:
        v = layer.values.get(p.name)
        if v is None:
            break
        positional.append(input_form(_positional_expr(layer, p.name, v)))
    if layer.name == "PoolingLayer" and layer.values.get("Stride") == (1,):
        positional = positional[:1]
    if layer.name == "DropoutLayer" and layer.values.get("DropoutProbability") == 0.5:
        positional = []
    parts.extend(positional)
    for o in layer.options:
        v = layer.values.get(o.name)
        if v != o.default and not (isinstance(v, tuple) and v == (o.default,)):
            parts.append(f'"{o.name}" -> {input_form(to_expr(v))}')
    if with_ports:  # outputs follow from inputs and parameters
        for name in layer.port_names()[0]:
            t = layer.ports[name]
            if t.shape is not None:
                parts.append(f'"{name}" -> {input_form(t.spec())}')
    if with_arrays:
        for spec in layer.array_specs:
            v = layer.arrays.get(spec.name)
            if isinstance(v, SharedRef):
                parts.append(f'"{spec.name}" -> NetSharedArray["{v.name}"]')
            elif v is NO_ARRAY:
                parts.append(f'"{spec.name}" -> None')
            elif isinstance(v, np.ndarray):
                parts.append(f'"{spec.name}" -> {input_form(packed(v.astype(np.float64)))}')
    return parts


def layer_input_form(layer: Layer, with_ports: bool = True) -> str:
    return f"{layer.name}[{', '.join(layer_rules(layer, with_ports=with_ports))}]"


def _value_text(v: Any) -> str:
    if isinstance(v, float):
        return format_real_output(v)
    if isinstance(v, Program):
        return input_form(v.source)
    if isinstance(v, tuple):
        return "{" + ", ".join("n" if x is None else str(x) for x in v) + "}"
    if v is None:
        return "(to be inferred)"
    from ..expr import output_form  # noqa: PLC0415
    return output_form(to_expr(v))


def _array_text(layer: Layer, shapes: dict[str, Any]) -> list[str]:
    out = []
    for spec in layer.array_specs:
        v = layer.arrays.get(spec.name)
        if v is NO_ARRAY:
            out.append(f"{spec.name}: none")
            continue
        shape = shapes.get(spec.name)
        dims = _value_text(tuple(shape)) if shape is not None else "{...}"
        tag = ""
        if isinstance(v, SharedRef):
            tag = f' (shared "{v.name}")'
        out.append(f"{spec.name} {dims}{tag}")
    return out


def layer_summary(layer: Layer) -> str:
    state = "initialized" if layer.initialized else "uninitialized"
    lines = [f"{layer.name}  ({state})"]
    params = []
    for name in [p.name for p in layer.positional] + [o.name for o in layer.options] + list(
            layer.hidden):
        v = layer.values.get(name)
        if name in ("LearningRateMultipliers", "Interleaving") or name.startswith("$"):
            continue
        if v is None and name in ("Dimensionality",):
            continue
        params.append(f"{name} {_value_text(v)}")
    if params:
        lines.append("  Parameters:  " + ", ".join(params))
    arrays = _array_text(layer, layer.array_shapes())
    if arrays:
        lines.append("  Arrays:      " + ", ".join(arrays))
    ins, outs = layer.port_names()
    for p in ins + outs:
        label = f"{p}:"
        lines.append(f"  {label:<12} {layer.ports[p].words()}")
    return "\n".join(lines)


# ---------------------------------------------------------------- containers
def _layer_title(net: Any) -> str:
    if isinstance(net, Container):
        return f"{net.kind} ({len(net.order)} layers)"
    if net.name == "ElementwiseLayer":
        return f"ElementwiseLayer[{input_form(net.values['Function'].source)}]"
    return net.name


def _output_words(net: Any) -> str:
    outs = net.port_names()[1]
    return "; ".join(net.ports[o].words() if len(outs) == 1 else f"{o}: {net.ports[o].words()}"
                     for o in outs)


def container_summary(net: Container) -> str:
    state = "initialized" if net.initialized else "uninitialized"
    lines = [f"{net.kind}  ({state})"]
    ins, outs = net.port_names()
    rows: list[tuple[str, str, str]] = []
    for p in ins:
        rows.append((p, "port", net.ports[p].words()))
    for name, layer in net.layers():
        label = f'"{name}"' if net.named else name
        if net.kind == "NetGraph":
            sources = []
            for src, _, data in net.graph.in_edges(name, data=True):
                for sp, dp in data[LINKS]:
                    s = f"NetPort[\"{sp}\"]" if isinstance(src, PortNode) else (
                        f'"{src}"' if net.named else src)
                    sources.append(s)
            if sources:
                label = f"{label}  <- {', '.join(sources)}"
        rows.append((label, _layer_title(layer), _output_words(layer)))
    for p in outs:
        rows.append((p, "port", net.ports[p].words()))
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    for a, b, c in rows:
        lines.append(f"  {a:<{w1}}  {b:<{w2}}  {c}")
    if net.shared:
        names = ", ".join(f'"{k}"' for k in net.shared)
        lines.append(f"  shared arrays: {names}")
    return "\n".join(lines)


def container_input_form(net: Container) -> str:
    from ..expr import quote_string  # noqa: PLC0415
    items = []
    for name, layer in net.layers():
        # inside a container the ports follow from the container's own
        text = layer_input_form(layer, False) if isinstance(layer, Layer) else layer.input_form()
        items.append(f"{quote_string(name)} -> {text}" if net.named else text)
    body = ("<|" + ", ".join(items) + "|>") if net.named else ("{" + ", ".join(items) + "}")
    parts = [body]
    ins, outs = net.port_names()
    if net.kind == "NetGraph":
        # in a fixed order, so that a net and the net its text builds print the same: what
        # feeds each layer (layers in order, its inputs in port order), then each output
        edges = []
        consumers = list(net.order) + [PortNode("out", p) for p in outs]
        for dst in consumers:
            ports = [dst.name] if isinstance(dst, PortNode) else list(net.net(dst).port_names()[0])
            feeds = [(sp, dp, src) for src, _, data in net.graph.in_edges(dst, data=True)
                     for sp, dp in data[LINKS]]
            feeds.sort(key=lambda f: ports.index(f[1]) if f[1] in ports else len(ports))
            for sp, dp, src in feeds:
                edges.append(f"{_endpoint(net, src, sp, 'src')} -> "
                             f"{_endpoint(net, dst, dp, 'dst')}")
        parts.append("{" + ", ".join(edges) + "}")
    for p in ins + outs:
        t = net.ports.get(p)
        if isinstance(t, PortType) and t.shape is not None:
            parts.append(f'"{p}" -> {input_form(t.spec())}')
    text = f"{net.kind}[{', '.join(parts)}]"
    for name, value in net.shared.items():
        if isinstance(value, np.ndarray):
            text = (f'NetReplacePart[{text}, NetSharedArray["{name}"] -> '
                    f"{input_form(packed(value.astype(np.float64)))}]")
    return text


def _endpoint(net: Container, node: Any, port: str, side: str) -> str:
    if isinstance(node, PortNode):
        return f'NetPort["{node.name}"]'
    ref = f'"{node}"' if net.named else node
    return f'NetPort[{ref}, "{port}"]'
