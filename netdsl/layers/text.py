"""How a layer prints: its netdsl text (InputForm, which parses back to an equal layer)
and its readable summary (OutputForm).

Everything here reads what the layer declares (positional parameters with their
defaults, options with theirs, arrays, ports), so a new layer prints correctly
without code of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..expr import Expr, Symbol, format_real_output, input_form, output_form, packed
from .arrays import NO_ARRAY, SharedRef
from .functions import Program

if TYPE_CHECKING:
    from .base import Layer

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


def _same(a: Any, b: Any) -> bool:
    """Equal stored values (a default size 1 or {1} is written (1, 1) once normalised to
    the dimensionality: sizes, all integers, broadcast)."""
    if isinstance(a, tuple) and not isinstance(b, tuple):
        b = (b,)
    elif isinstance(b, tuple) and not isinstance(a, tuple):
        a = (a,)
    if isinstance(a, tuple) and len(a) != len(b) and 1 in (len(a), len(b)) \
            and all(type(x) is int for x in a + b):
        return len(set(a + b)) == 1
    return bool(a == b) if not isinstance(a, np.ndarray) else False


def layer_rules(layer: Layer, with_arrays: bool = True, with_ports: bool = True) -> list[str]:
    """The arguments of the layer's text: positional values, then options that differ from
    their defaults, input port shapes and arrays."""
    positional: list[tuple[Any, Any]] = []
    for p in layer.positional:
        v = layer.values.get(p.name)
        if v is None:
            break
        positional.append((p, v))
    while positional and positional[-1][0].default is not None \
            and _same(positional[-1][1], positional[-1][0].default):
        positional.pop()   # trailing values equal to their defaults go without saying
    parts = [input_form(p.written(v)) for p, v in positional]
    for o in layer.options:
        v = layer.values.get(o.name)
        if not _same(v, o.default):
            parts.append(f'"{o.name}" -> {input_form(to_expr(v))}')
    if with_ports:  # outputs follow from inputs and parameters (unless there are no inputs)
        ins, outs = layer.port_names()
        for name in ins or outs:
            if name in layer.optional_inputs:   # shown by a container's edges or the data
                continue
            t = layer.ports[name]
            if t.shape is not None:
                parts.append(f'"{name}" -> {input_form(t.spec())}')
        for name in outs if ins else ():   # a decoder is never implied by the inputs
            if layer.ports[name].coder is not None:
                parts.append(f'"{name}" -> {input_form(layer.ports[name].coder)}')
    if with_arrays:
        for spec in layer.array_specs:
            a = layer.arrays.get(spec.name)
            if isinstance(a, SharedRef):
                parts.append(f'"{spec.name}" -> NetSharedArray["{a.name}"]')
            elif a is NO_ARRAY:
                parts.append(f'"{spec.name}" -> None')
            elif isinstance(a, np.ndarray):
                parts.append(f'"{spec.name}" -> {input_form(packed(a.astype(np.float64)))}')
    return parts


def layer_input_form(layer: Layer, with_ports: bool = True) -> str:
    return f"{layer.name}[{', '.join(layer_rules(layer, with_ports=with_ports))}]"


def value_text(v: Any) -> str:
    """A parameter value in a summary: 6-digit reals, {n, ...} sizes, n for unknown."""
    if isinstance(v, float):
        return format_real_output(v)
    if isinstance(v, Program):
        return input_form(v.source)
    if isinstance(v, tuple):
        return "{" + ", ".join("n" if x is None else value_text(x) if isinstance(x, tuple)
                               else output_form(x) if isinstance(x, (Expr, str))
                               else str(x) for x in v) + "}"
    if v is None:
        return "(to be inferred)"
    return output_form(to_expr(v))


def parameter_text(layer: Layer, name: str) -> str:
    """A parameter or option in the summary: the expression NetExtract gives when the layer
    says what it is (``exported_value``: a parsed specification, a stride per dimension),
    so both show the Wolfram form; else the stored value."""
    exported = layer.exported_value(name)
    if exported is not None:
        return output_form(exported)
    return value_text(layer.values.get(name))


def layer_summary(layer: Layer) -> str:
    state = "initialized" if layer.initialized else "uninitialized"
    lines = [f"{layer.name}  ({state})"]
    params = []
    for p in layer.positional:
        params.append(f"{p.name} {parameter_text(layer, p.name)}")
    for o in layer.options:
        v = layer.values.get(o.name)
        if o.shown and v is not None:
            params.append(f"{o.name} {parameter_text(layer, o.name)}")
    for h in layer.hidden:
        if not h.startswith("$"):
            params.append(f"{h} {parameter_text(layer, h)}")
    if params:
        lines.append("  Parameters:  " + ", ".join(params))
    shapes = layer.array_shapes()
    arrays = []
    for spec in layer.array_specs:
        a = layer.arrays.get(spec.name)
        if a is NO_ARRAY:
            arrays.append(f"{spec.name}: none")
            continue
        shape = shapes.get(spec.name)
        dims = value_text(tuple(shape)) if shape is not None else "{...}"
        arrays.append(f"{spec.name} {dims}" + (f' (shared "{a.name}")'
                                                if isinstance(a, SharedRef) else ""))
    if arrays:
        lines.append("  Arrays:      " + ", ".join(arrays))
    ins, outs = layer.port_names()
    for port in ins + outs:
        label = f"{port}:"
        lines.append(f"  {label:<12} {layer.ports[port].words()}")
    return "\n".join(lines)
