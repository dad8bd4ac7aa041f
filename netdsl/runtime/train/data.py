"""Training data: the forms NetTrain takes, read into batch-first arrays by port."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import EvaluationError, ShapeError
from ...expr import (Association, Expr, Symbol, input_form, is_list, is_number, is_rule,
                     list_items, make_list, to_ndarray)
from ...layers.base import AbstractArray, Net
from ...layers.shapes import LengthVar, PortType
from ...layers.coders import NetDecoder, NetEncoder
from ..apply import example_array, normalise_inputs, ragged_array, with_port_types
from .common import HEAD, error
from .options import Options

S = Symbol


def read_data(data: Any, net: Net, tnet: Net) -> dict[str, np.ndarray]:
    """Training data as batch-first arrays by port of the training net."""
    ins = tnet.port_names()[0]
    net_ins = net.port_names()[0]
    targets = [p for p in ins if p not in net_ins]
    net = _with_target_encoders(net, tnet, targets)
    if isinstance(data, Association):
        return _by_port(data.items(), ins, net)
    if is_rule(data) and _listy(data.args[0]):
        xs, ys = data.args
        return _pairs(xs, ys, ins, net_ins, targets, net)
    if is_list(data):
        items = list_items(data)
        if not items:
            raise error("emptdata", "The training data is empty.")
        if all(is_rule(i) for i in items):
            xs = make_list(i.args[0] for i in items)
            ys = make_list(i.args[1] for i in items)
            return _pairs(xs, ys, ins, net_ins, targets, net)
        if all(isinstance(i, Association) for i in items):
            keys = list(items[0].keys())
            for i, item in enumerate(items, 1):
                if set(item.keys()) != set(keys):
                    raise error("datafmt", f"Example {i} of the training data has the ports "
                                           f"{', '.join(map(str, item.keys()))}, but example 1 "
                                           f"has {', '.join(map(str, keys))}.")
            return _by_port(((k, make_list(i.get(k) for i in items)) for k in keys), ins, net)
    raise error("datafmt", "Training data must be {input -> target, ...}, {inputs} -> "
                           "{targets} or <|\"port\" -> {...}, ...|>.")


def _with_target_encoders(net: Net, tnet: Net, targets: list[str]) -> Net:
    """``net`` with the encoders the attached losses put on its target ports (a
    ContrastiveLossLayer's "Boolean" Target: True/False targets of a pair embedding's
    distance) where its own output has no coder, so the targets are read through them."""
    coded = {p: tnet.ports[p] for p in targets
             if p in net.ports and net.ports[p].coder is None
             and isinstance(tnet.ports[p].coder, NetEncoder)}
    return net.evolve(ports={**net.ports, **coded}) if coded else net


def _listy(x: Any) -> bool:
    """A list of examples: a list, or (netdsl check) an array known by its dimensions."""
    return is_list(x) or (isinstance(x, AbstractArray) and len(x.shape) >= 1)


def _by_port(items, ins, net: Net) -> dict[str, np.ndarray]:
    raw = {}
    for k, v in items:
        if k not in ins:
            raise error("dataport", f'The training data names a port "{k}" that the net '
                                    f"does not have; its inputs are {', '.join(ins)}.")
        raw[k] = _array(v, k, net)
    return raw


def targets_like(data: Any, net: Net) -> dict[str, np.ndarray]:
    """The target data by output port, before the loss is chosen (its form decides it)."""
    return _side(data, net, 1)


def inputs_like(data: Any, net: Net) -> dict[str, np.ndarray]:
    """The input data by input port of ``net``."""
    return _side(data, net, 0)


def _side(data: Any, net: Net, side: int) -> dict[str, np.ndarray]:
    """The inputs (side 0) or the targets (side 1) by port, as far as the data's form
    says them without the training net; {} when it does not."""
    ports = net.port_names()[side]
    try:
        if isinstance(data, Association):
            return {k: _array(v, k, net) for k, v in data.items() if k in ports}
        rows = list_items(data) if is_list(data) else []
        if rows and all(isinstance(r, Association) for r in rows):   # one <|...|> each
            return {k: _array(make_list(r.get(k) for r in rows), k, net) for k in ports
                    if all(k in r for r in rows)}
        if len(ports) == 1:
            if is_rule(data) and _listy(data.args[0]):
                return {ports[0]: _array(data.args[side], ports[0], net)}
            if is_list(data) and all(is_rule(i) for i in list_items(data)):
                return {ports[0]: _array(make_list(i.args[side] for i in list_items(data)),
                                         ports[0], net)}
    except EvaluationError:
        pass
    return {}


def example_shape(x: np.ndarray) -> tuple | None:
    """One example's shape in a batch-first array; for sequences of different lengths
    (an object array) the shape with a "Varying" first dimension; None if the examples
    differ otherwise or hold no numbers."""
    if x.dtype != object:
        return tuple(x.shape[1:]) if x.ndim else None
    shapes = {np.shape(e) for e in x}
    rests = {sh[1:] for sh in shapes}
    if not shapes or len(rests) != 1 or any(len(sh) == 0 for sh in shapes):
        return None
    return (LengthVar(),) + rests.pop()


def settled_by_data(net: Net, data: Any) -> Net:
    """Wolfram's NetTrain completes what a net leaves open from the training data: an
    open input takes one example's shape (``NetTrain[LinearLayer[], {1 -> 1.9, ...}]``);
    an open output without a decoder takes a real target's shape, a "Boolean" decoder for
    True/False targets, or a "Class" decoder over the labels found (sorted) for targets
    that are labels, each only when the net can have it. The net itself when everything
    is known or nothing fits (the usual errors then say what is wrong)."""
    ins, outs = net.port_names()
    if all(net.ports[p].known for p in ins + outs):
        return net
    found = inputs_like(data, net)
    shapes = {p: net.ports[p].with_shape(sh) for p in ins if not net.ports[p].known
              and p in found for sh in [example_shape(found[p])] if sh is not None}
    settled = _with_types(net, shapes) if shapes else net
    if settled is None:
        return net
    items = _target_items(data, net)
    targets = targets_like(data, net)
    for p in outs:
        t = settled.ports[p]
        if t.known or t.coder is not None or p not in items:
            continue
        kind = _output_type(t, items[p], targets.get(p))
        if kind is not None:
            settled = _with_types(settled, {p: kind}) or settled
    return settled


def _target_items(data: Any, net: Net) -> dict[str, list]:
    """The target expressions of each output (unconverted), as the data gives them."""
    outs = net.port_names()[1]
    if isinstance(data, Association):
        return {k: list_items(v) for k, v in data.items() if k in outs and is_list(v)}
    rows = list_items(data) if is_list(data) else []
    if rows and all(isinstance(r, Association) for r in rows):   # {<|"Output" -> y|>, ...}
        return {k: [r.get(k) for r in rows] for k in outs if all(k in r for r in rows)}
    if len(outs) == 1:
        if is_rule(data) and _listy(data.args[0]) and is_list(data.args[1]):
            return {outs[0]: list_items(data.args[1])}
        if is_list(data) and all(is_rule(i) for i in list_items(data)):
            return {outs[0]: [i.args[1] for i in list_items(data)]}
    return {}


def _output_type(t: PortType, items: list, array: np.ndarray | None) -> PortType | None:
    """What an open output would be, given its targets (None: nothing to go by)."""
    if items and all(x is Symbol("True") or x is Symbol("False") for x in items):
        return PortType((), coder=NetDecoder("Boolean"))
    if items and not any(is_number(x) or is_list(x) or isinstance(x, np.ndarray)
                         for x in items):
        labels = tuple(sorted(set(items), key=_label_order))
        return PortType((len(labels),), coder=NetDecoder("Class", labels))
    shape = example_shape(array) if array is not None and array.dtype.kind in "iufO" else None
    return None if shape is None else t.with_shape(shape)


def _label_order(x: Any) -> tuple:
    """Labels sorted as Wolfram's Union sorts strings and symbols (alphabetically)."""
    text = x if isinstance(x, str) else getattr(x, "name", str(x))
    return (not isinstance(x, str), text.lower(), text)


def _with_types(net: Net, types: dict[str, PortType]) -> Net | None:
    """``net`` with those ports' types set and inferred again, or None when they do not
    fit it."""
    try:
        return with_port_types(net, types)
    except (ShapeError, EvaluationError):
        return None


def _pairs(xs, ys, ins, net_ins, targets, net: Net) -> dict[str, np.ndarray]:
    if len(net_ins) == 1 and len(targets) == 1:
        return {net_ins[0]: _array(xs, net_ins[0], net),
                targets[0]: _array(ys, targets[0], net)}
    if set(ins) == {"Input", "Target"}:
        return {"Input": _array(xs, "Input", net), "Target": _array(ys, "Target", net)}
    raise error("datafmt", f"The net has inputs {', '.join(ins)}: give the data as an "
                           f"association <|\"port\" -> {{...}}, ...|>.")


def _example(x: Any) -> np.ndarray:
    """One example's numbers; in netdsl check ones stand in (valid class indices too)."""
    return example_array(x, 1.0)


def _abstract_examples(v: Any) -> Any:
    """netdsl check: a list of examples some of which are abstract, as one AbstractArray
    when they agree in dimensions, else as ones of each example's dimensions (ragged)."""
    try:
        arrays = [_example(x) for x in list_items(v)]
    except (TypeError, ValueError):   # an example that is no array ("a"): as when run
        return v
    shapes = {a.shape for a in arrays}
    if len(shapes) == 1:
        return AbstractArray((len(arrays),) + shapes.pop(), "array")
    return ragged_array(arrays, np.asarray)


def _array(v: Any, port: str, net: Net | None = None) -> np.ndarray:
    """The examples for one port; labels, booleans or strings go through the port's
    NetEncoder (an input) or NetDecoder (a target named after the output), as Wolfram's
    NetTrain takes class labels as targets for an output with a "Class" decoder."""
    t = net.ports.get(port) if net is not None else None
    coder = t.coder if t is not None else None
    if is_list(v) and any(isinstance(x, AbstractArray) for x in list_items(v)):
        v = _abstract_examples(v)    # netdsl check: examples known by their dimensions
    if isinstance(coder, NetEncoder) and not isinstance(v, (np.ndarray, AbstractArray)):
        if not is_list(v):
            raise error("datafmt", f'The data for port "{port}" must be a list of examples.')
        return coder.encode_batch(list_items(v), port, HEAD)
    if isinstance(coder, NetEncoder) and isinstance(v, np.ndarray) and v.dtype.kind in "iuf" \
            and coder.numeric_labels():
        return coder.encode_numbers(v, port, HEAD)   # a packed list of numeric labels
    if isinstance(coder, NetDecoder) and not isinstance(v, AbstractArray):
        return coder.target_indices(v, port, HEAD)
    if isinstance(v, np.ndarray):
        return v
    if isinstance(v, AbstractArray):  # netdsl check: ones stand in (valid class indices too)
        return np.broadcast_to(np.ones((), np.float32), v.shape)
    try:
        return np.asarray(to_ndarray(v))
    except TypeError:
        ragged = ragged_array(v, _example)   # sequences of different lengths
        if ragged is not None:
            return ragged
        items = list_items(v) if is_list(v) else []
        if items and net is not None and port in net.port_names()[1] and not any(
                is_number(x) or is_list(x) for x in items):
            distinct = list(dict.fromkeys(items))
            labels = ", ".join(input_form(x) for x in distinct[:4]) + \
                (", ..." if len(distinct) > 4 else "")
            raise error("datafmt", f'The targets for port "{port}" are labels ({labels}), '
                                   f"not numbers: give the output a decoder, "
                                   f'"{port}" -> NetDecoder[{{"Class", {{labels}}}}], to '
                                   f"train on labels.") from None
        raise error("datafmt", f'The data for port "{port}" is not a numeric array.') from None


def check_data(tnet: Net, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    ins = tnet.port_names()[0]
    for p in ins:
        if p not in raw:
            raise error("inpmiss", f'The training data has nothing for port "{p}".')
    arrays, batched = normalise_inputs(tnet, raw, HEAD)
    if not batched:
        raise error("datafmt", "The training data must be a list of examples.")
    return arrays


def validation_split(o: Options, net: Net, tnet: Net, arrays: dict[str, np.ndarray]):
    v = o.validation
    if v is S("None") or v is None:
        return None
    if isinstance(v, Expr) and v.head is S("Scaled") and len(v.args) == 1 and is_number(v.args[0]):
        f = float(v.args[0])
        if not 0 < f < 1:
            raise error("valset", "ValidationSet -> Scaled[f] needs 0 < f < 1.")
        n = next(iter(arrays.values())).shape[0]
        k = max(1, int(round(n * f)))
        if k >= n:
            raise error("valset", "The validation fraction leaves no training data.")
        train = {p: a[:n - k] for p, a in arrays.items()}
        val = {p: a[n - k:] for p, a in arrays.items()}
        return train, val
    return check_data(tnet, read_data(v, net, tnet))


