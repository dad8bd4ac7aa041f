"""Changing part of a net (NetReplacePart): arrays, ports, whole layers, shared arrays.

Every change is made to a copy, then shapes are inferred again from what was
written (``reset``), so a new input shape flows through the whole net and a
replaced array of the wrong shape is caught exactly as at construction.
"""

from __future__ import annotations

from dataclasses import replace

from typing import Any

import numpy as np

from ..errors import EvaluationError, ShapeError
from ..expr import Expr, Symbol, input_form, is_integer, is_list, list_items, to_ndarray
from ..layers.arrays import NO_ARRAY, SharedRef
from ..layers.base import Layer, Net
from ..layers.shapes import port_type_from_spec
from .container import Container, replace_leaves
from .inference import infer
from .compose import rebuild_with
from ..printer import short

S = Symbol


def error(tag: str, text: str) -> EvaluationError:
    return EvaluationError(text, symbol="NetReplacePart", tag=tag)


def reinfer(net: Net) -> Net:
    """Infer again from the written specification, keeping arrays and shared arrays."""
    if isinstance(net, Container):
        return infer(net.reset(), "NetReplacePart")
    assert isinstance(net, Layer)  # a Net is a Container or a Layer
    try:
        return net.reset().inferred()
    except ShapeError as e:  # issued under the head of the function called, as for containers
        e.symbol = "NetReplacePart"
        raise


def numeric_array(value: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(to_ndarray(value))
    except TypeError:
        raise error("invarr", f"The value given for {what} is not a numeric array: "
                              f"{short(value, 80)}.") from None
    if arr.dtype.kind not in "iuf":
        raise error("invarr", f"The value given for {what} is not numeric.")
    if not np.isfinite(arr).all():
        raise error("invarr", f"The value given for {what} contains NaN or infinite values.")
    arr = np.array(arr, dtype=np.float32, order="C")  # a copy; keeps rank 0 (not ascontiguousarray)
    arr.flags.writeable = False
    return arr


def replace_part(net: Net, lhs: Any, value: Any) -> Net:
    if isinstance(lhs, Expr) and lhs.head in (S("NetSharedArray"), S("NetArray")):
        return _replace_shared(net, lhs, value)
    path = list_items(lhs) if is_list(lhs) else [lhs]
    if not path:
        raise error("invspec", "The position {} names no layer or array; give a layer's "
                               "position or name, or {layer, \"array\"}.")
    return reinfer(_replace_at(net, path, value, net))


def _replace_at(net: Net, path: list, value: Any, root: Net) -> Net:
    head, rest = path[0], path[1:]
    if isinstance(net, Container):
        name = _layer_name(net, head)
        if name is not None:
            if not rest:
                new = value
                if not isinstance(new, Net):
                    raise error("notnet", f"{short(value, 80)} is not a layer or net, so it cannot "
                                          f"replace {net.label(name)}.")
                new = new.evolve(shared={})
                if new.port_names() == net.net(name).port_names():
                    return net.with_nets({name: new})
                # other ports: rewired (and checked) as the container is built again
                rebuilt = rebuild_with(net, {name: new}, "NetReplacePart")
                rebuilt.span = net.span
                return rebuilt
            return net.with_nets({name: _replace_at(net.net(name), rest, value, root)})
    ports = net.port_names()[0] + net.port_names()[1]
    if rest and isinstance(head, str) and head in ports and len(rest) == 1 \
            and net.ports[head].coder is not None:    # {"Output", "Labels"} -> {...}
        from ..layers.coders import with_coder_parameter
        coder = with_coder_parameter(net.ports[head].coder, rest[0], value)
        return with_declared_port(net, head, coder.port_type())
    if rest:
        raise error("nopart", f"{input_form(head)} does not name a layer of {net.head_name}.")
    if not isinstance(head, str):
        raise error("nopart", f"{input_form(head)} is not a part of {net.head_name}.")
    if isinstance(net, Layer) and head in net.arrays:
        return _replace_array(net, head, value, root)
    if head in ports and value is S("None"):    # the port's coder removed, its shape kept
        return with_declared_port(net, head, replace(net.ports[head], coder=None))
    if head in ports:
        try:
            t = port_type_from_spec(value)
        except ValueError as e:
            raise error("invspec", f'Specification {short(value, 80)} is not compatible with port '
                                   f'"{head}": {e}.') from None
        return with_declared_port(net, head, t)
    raise error("nopart", f'"{head}" is not an array, port or layer of {net.head_name}.')


def _replace_array(layer: Layer, name: str, value: Any, root: Net) -> Layer:
    spec = next(a for a in layer.array_specs if a.name == name)
    if value is S("None"):
        if not spec.optional:
            raise error("invarr", f'The array "{name}" of {layer.name} cannot be None.')
        arr: Any = NO_ARRAY
    elif value is S("Automatic"):     # as in a layer's own options: not yet initialised
        arr = None
    elif isinstance(value, Expr) and value.head in (S("NetSharedArray"), S("NetArray")):
        arr = SharedRef(value.args[0])
    else:
        arr = numeric_array(value, f'array "{name}"')
        expected = layer.array_shapes().get(name)
        if expected is not None and None not in expected and tuple(expected) != arr.shape:
            raise error("arrdim", f'The array "{name}" of {layer.name} has dimensions '
                                  f"{_dims(expected)}, but the value given has dimensions "
                                  f"{_dims(arr.shape)}.")
    current = layer.arrays.get(name)
    if isinstance(current, SharedRef) and isinstance(arr, np.ndarray):
        raise error("shared", f'The array "{name}" is the shared array "{current.name}"; replace '
                              f'it with NetReplacePart[net, NetSharedArray["{current.name}"] -> '
                              f"value].")
    arrays = dict(layer.arrays)
    arrays[name] = arr
    return layer.evolve(arrays=arrays)


def with_declared_port(net: Net, port: str, t) -> Net:
    if isinstance(net, Container):
        new = net.evolve()
        new.declared_ports = {**net.declared_ports, port: t}
        return new
    assert isinstance(net, Layer)  # a Net is a Container or a Layer
    values, ports = net.declared
    return net.evolve(declared=(values, {**ports, port: t}))


def _replace_shared(net: Net, lhs: Expr, value: Any) -> Net:
    name = lhs.args[0] if lhs.args else None
    if name not in net.shared:
        known = ", ".join(f'"{k}"' for k in net.shared) or "none"
        raise error("nopart", f'The net has no shared array "{name}"; its shared arrays: {known}.')
    arr = numeric_array(value, f'the shared array "{name}"')
    current = net.shared[name]
    if isinstance(current, np.ndarray) and current.shape != arr.shape:
        raise error("arrdim", f'The shared array "{name}" has dimensions {_dims(current.shape)}, '
                              f"but the value given has dimensions {_dims(arr.shape)}.")
    return reinfer(net.evolve(shared={**net.shared, name: arr}))


def _layer_name(net: Container, spec: Any) -> str | None:
    if is_integer(spec):
        n = len(net.order)
        if 1 <= spec <= n or -n <= spec <= -1:
            return net.order[spec - 1 if spec > 0 else spec]
        raise error("nopart", f"There is no layer {spec}: the net has {n} layers.")
    if isinstance(spec, str) and spec in net.order:
        return spec
    return None


def _dims(shape) -> str:
    return "{" + ", ".join(str(d) for d in shape) + "}"






def replace_arrays(net: Net, arrays: dict[tuple[tuple, str], Any],
                   shared: dict[str, Any]) -> Net:
    """Many arrays at once (a net file's): ``arrays`` maps (layer path, array name) to a
    value, ``shared`` a shared array's name to one. Each is checked as NetReplacePart
    checks it; shapes are inferred once at the end, not once per array."""
    by_leaf: dict[tuple, list[tuple[str, Any]]] = {}
    for (path, name), value in arrays.items():
        by_leaf.setdefault(path, []).append((name, value))
    leaves = dict(net.leaves())
    new: dict[tuple, Layer] = {}
    for path, items in by_leaf.items():
        layer = leaves[path]
        for name, value in items:
            layer = _replace_array(layer, name, value, net)
        new[path] = layer
    out = replace_leaves(net, new) if new else net
    if shared:
        values = dict(out.shared)
        for name, value in shared.items():
            if name not in values:
                raise error("nopart", f'The net has no shared array "{name}".')
            arr = numeric_array(value, f'the shared array "{name}"')
            current = values[name]
            if isinstance(current, np.ndarray) and current.shape != arr.shape:
                raise error("arrdim", f'The shared array "{name}" has dimensions '
                                      f"{_dims(current.shape)}, but the value given has "
                                      f"dimensions {_dims(arr.shape)}.")
            values[name] = arr
        out = out.evolve(shared=values)
    return reinfer(out)
