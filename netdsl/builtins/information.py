"""The rest of Information[net, "prop"]: Wolfram's NetInformation properties.

Array positions are NetExtract paths: {2, "Weights"} in an unnamed container, {"conv",
"Weights"} in a named one, "Weights" for a layer on its own, NetSharedArray["w"] for a
shared array (counted once). Sizes count float32 elements (4 bytes each).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..expr import Association, Expr, Symbol, make_list, packed
from ..graph.container import Container
from ..graph.diagram import Diagram
from ..layers.arrays import SharedRef
from ..layers.base import Layer, Net
from ..runtime.initialize import initialize

S = Symbol

NOT_YET = ("LayersGraph", "MXNetNodeGraph",
           "MXNetNodeGraphPlot")
PROPERTIES = ("Arrays", "ArraysByteCounts", "ArraysCount", "ArraysDimensions",
              "ArraysLearningRateMultipliers",
              "ArraysElementCounts", "ArraysList", "ArraysPositionList", "ArraysSizes",
              "ArraysTotalByteCount", "ArraysTotalElementCount", "ArraysTotalSize",
              "FullSummaryGraphic", "InputForm", "InputPortNames", "InputPorts", "Layers",
              "LayersCount", "LayersGraph", "LayersList", "LayerTypeCounts", "MXNetNodeGraph",
              "MXNetNodeGraphPlot", "OutputPortNames", "OutputPorts", "Properties",
              "RecurrentStatesCount", "RecurrentStatesPositionList", "SharedArraysCount",
              "SummaryGraphic", "TopologyHash")


def _arrays(net: Net) -> list[tuple[Any, Any, tuple | None]]:
    """(position, value or None, dimensions or None) for every array, shared ones once."""
    out = []
    seen: set[str] = set()
    for path, layer in _leaves_with_positions(net):
        for spec, v, dims in layer.array_slots(seen):
            if isinstance(v, SharedRef):
                value = net.shared.get(v.name, layer.shared.get(v.name))
                pos: Any = Expr(S("NetSharedArray"), v.name)
            else:
                value = v
                pos = make_list(list(path) + [spec.name]) if path else spec.name
            if isinstance(value, np.ndarray):
                dims = value.shape
            out.append((pos, value if isinstance(value, np.ndarray) else None,
                        tuple(dims) if dims is not None and None not in dims else None))
    return out


def _recurrent_states(net: Net) -> list[Any]:
    """NetPort[{..., "State"}] for every state port of the recurrent layers (a layer's
    optional inputs: "State", "CellState"), connected or not."""
    return [Expr(S("NetPort"), make_list(list(path) + [p]) if path else p)
            for path, layer in _leaves_with_positions(net, stop_at_folds=True)
            for p in layer.optional_inputs]


def _leaves_with_positions(net: Net, prefix: tuple = (), stop_at_folds: bool = False):
    """Every layer with its position; with ``stop_at_folds`` a NetFoldOperator (whose
    state "State" is the net's, its inner nets' not) in place of its inner layers."""
    if isinstance(net, Layer) or stop_at_folds and net.optional_inputs:
        yield prefix, net
        return
    assert isinstance(net, Container)
    for i, (name, sub) in enumerate(net.layers(), 1):
        yield from _leaves_with_positions(sub, prefix + (name if net.named else i,),
                                          stop_at_folds)


def _count(dims: tuple | None) -> Any:
    return int(np.prod(dims, dtype=np.int64)) if dims is not None else S("Indeterminate")


def _size(n: Any) -> Any:
    """Wolfram's byte quantity: Bytes below 1000, then Kilobytes, Megabytes, Gigabytes."""
    if not isinstance(n, int):
        return S("Indeterminate")
    b = 4 * n
    for limit, unit in ((1000, "Bytes"), (1000 ** 2, "Kilobytes"), (1000 ** 3, "Megabytes")):
        if b < limit:
            scale = limit // 1000 if limit > 1000 else 1
            return Expr(S("Quantity"), b if unit == "Bytes" else b / scale, unit)
    return Expr(S("Quantity"), b / 1000 ** 3, "Gigabytes")


def _by_position(net: Net, fn) -> Association:
    return Association((pos, fn(value, dims), False) for pos, value, dims in _arrays(net))


def more_information(net: Net, prop: Any) -> Any:
    """The value of a property, or None when ``prop`` is not one."""
    if prop in NOT_YET:
        raise EvaluationError(f'Information[net, "{prop}"] is not available yet in netdsl '
                              f"(it draws a graphic); see the net's summary (print the net) "
                              f'and Information[net, "Layers"].', symbol="Information",
                              tag="notyet")
    if prop in ("SummaryGraphic", "FullSummaryGraphic"):
        return Diagram(net)
    if prop == "Arrays":
        return _by_position(net, lambda v, d: packed(v) if v is not None else S("Automatic"))
    if prop == "ArraysList":
        return make_list(packed(v) if v is not None else S("Automatic")
                         for _, v, _ in _arrays(net))
    if prop == "ArraysLearningRateMultipliers":
        from ..runtime.train.parameters import multipliers_by_position   # on use: start-up
        return multipliers_by_position(net, S("Automatic"))
    if prop == "ArraysPositionList":
        return make_list(pos for pos, _, _ in _arrays(net))
    if prop == "ArraysDimensions":
        return _by_position(net, lambda v, d: make_list(d) if d is not None
                            else S("Indeterminate"))
    if prop == "ArraysElementCounts":
        return _by_position(net, lambda v, d: _count(d))
    if prop == "ArraysByteCounts":
        return _by_position(net, lambda v, d: 4 * c if isinstance(c := _count(d), int) else c)
    if prop == "ArraysSizes":
        return _by_position(net, lambda v, d: _size(_count(d)))
    if prop in ("ArraysTotalByteCount", "ArraysTotalSize"):
        counts = [_count(d) for _, _, d in _arrays(net)]
        total = sum(counts) if all(isinstance(c, int) for c in counts) else S("Indeterminate")
        if prop == "ArraysTotalSize":
            return _size(total)
        return 4 * total if isinstance(total, int) else total
    if prop == "SharedArraysCount":
        return len(net.shared)
    if prop == "LayersList":
        return make_list(layer for _, layer in _leaves_with_positions(net))
    if prop == "InputPortNames":
        return make_list(net.port_names()[0])
    if prop == "OutputPortNames":
        return make_list(net.port_names()[1])
    if prop == "RecurrentStatesCount":
        return len(_recurrent_states(net))
    if prop == "RecurrentStatesPositionList":
        return make_list(_recurrent_states(net))
    if prop == "InputForm":
        return net.input_form()
    if prop == "TopologyHash":   # the structure without the arrays' values
        bare = initialize(net, "none")
        digest = hashlib.sha256(bare.input_form().encode()).digest()
        return np.base_repr(int.from_bytes(digest[:12], "big"), 36).lower()
    if prop == "Properties":
        return make_list(PROPERTIES)
    return None
