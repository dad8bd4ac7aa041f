"""``net[data, NetPortGradient[...]]``: gradients of a net's outputs, as Wolfram defines them.

The gradient is that of the sum of every output over all its elements (or, with
``net[<|..., NetPortGradient["out"] -> g|>, ...]``, of the dot product of that output with
``g``), evaluated in Test mode. Forms:

- ``NetPortGradient["Input"]``: with respect to an input port, one gradient per example;
- ``NetPortGradient["Weights"]`` (a layer's array), ``NetPortGradient[{layer, ...,
  "Weights"}]`` (an array inside a container; layers by position or name): summed over
  the examples of a batch, as Wolfram does;
- ``NetPortGradient[All]``: every input and array, as an association;
- a list of these: an association ``<|NetPortGradient[spec] -> gradient, ...|>``.

It is one forward pass with the values the backward pass needs kept, and one backward
pass over the same (unfused) plan the executor runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..expr import Association, Expr, Symbol, input_form, is_integer, is_list, list_items, packed
from ..graph.container import Container
from ..layers.arrays import NO_ARRAY, SharedRef
from ..layers.base import AbstractArray, Net
from .context import Ctx
from .gradients import backward
from .plan import compile_plan, missing_array_error
from .ragged import equal_shape_groups, stacked

S = Symbol


def is_port_gradient(x: Any) -> bool:
    return isinstance(x, Expr) and x.head is S("NetPortGradient")


def wanted(x: Any) -> bool:
    """Whether an argument of net[...] asks for gradients."""
    return is_port_gradient(x) or (is_list(x) and bool(list_items(x))
                                   and all(is_port_gradient(i) for i in list_items(x)))


def port_gradients(net: Net, inputs: dict[str, np.ndarray], batched: bool, spec: Any,
                   out_grads: dict[str, np.ndarray], head: str) -> Any:
    """``inputs``, ``out_grads``: batch-first arrays by port; sequences of different
    lengths come as 1-d object arrays of per-example arrays and are run in groups of equal
    shapes, as the forward pass runs them (``apply.evaluate``)."""
    if not net.initialized:
        raise missing_array_error(net, head)
    specs = list_items(spec) if is_list(spec) else [spec]
    targets = []   # (the NetPortGradient expression, ("input", port) | ("array", key))
    for s in specs:
        targets += _targets(net, s, head)
    plan = compile_plan(net, head)
    outs = net.port_names()[1]
    for p in out_grads:
        if p not in outs:
            raise EvaluationError(f'NetPortGradient["{p}"] is given a value, but "{p}" is not '
                                  f"an output port; the outputs are {', '.join(outs)}.",
                                  symbol=head, tag="noport")
    n = len(next(iter(inputs.values()))) if inputs else 1   # (no inputs: one example)
    for p, g in out_grads.items():
        if len(g) != n:
            raise EvaluationError(f'The gradient given for output "{p}" is for {len(g)} '
                                  f"example{'' if len(g) == 1 else 's'}; the input has {n}.",
                                  symbol=head, tag="gradin")
    input_grads: dict[str, list[Any]] = {p: [None] * n for p in inputs}
    array_grads: dict[tuple, np.ndarray] = {}
    for idx in equal_shape_groups(inputs, n):
        part = {p: stacked(x, idx) for p, x in inputs.items()}
        seeds = {p: stacked(g, idx) for p, g in out_grads.items()}
        grads = _one_pass(plan, net, part, seeds, array_grads, head)
        for p in inputs:
            g = grads[p]
            for j, i in enumerate(idx):
                input_grads[p][i] = g[j]
    results = []
    for expr, (kind, what) in targets:
        if kind == "input":
            per = input_grads[what]
            if len({g.shape for g in per}) == 1:
                whole = np.stack(per)
                value: Any = _out(whole if batched else whole[0])
            else:
                value = Expr(S("List"), *(_out(g) for g in per))
        else:
            ga = array_grads.get(what)
            value = _out(ga if ga is not None else np.zeros(_array_shape(net, what), np.float32))
        results.append((expr, value))
    if len(results) == 1 and not is_list(spec) and spec.args[:1] != (S("All"),):
        return results[0][1]
    return Association((k, v, False) for k, v in results)


def _one_pass(plan: Any, net: Net, inputs: dict[str, np.ndarray],
              out_grads: dict[str, np.ndarray], array_grads: dict[tuple, np.ndarray],
              head: str) -> dict[str, np.ndarray]:
    """One forward pass keeping what backward needs and one backward pass, for examples of
    equal shapes: their input gradients by port (batch-first); the arrays' gradients are
    added into ``array_grads``."""
    ctx = Ctx(train=False, grad=True)
    feed = {p: np.ascontiguousarray(np.moveaxis(x, 0, -1)) for p, x in inputs.items()}
    _, values, caches = plan.run(ctx, feed, keep=True)
    seeds: dict[int, np.ndarray] = {}
    for p in net.port_names()[1]:
        slot = plan.outputs[p]
        y = values[slot]
        if p in out_grads:
            g = np.moveaxis(np.asarray(out_grads[p], dtype=y.dtype), 0, -1)
            if g.shape != y.shape:
                raise EvaluationError(f'The gradient given for output "{p}" has dimensions '
                                      f"{list(g.shape[:-1])} for an example; the output has "
                                      f"{list(y.shape[:-1])}.", symbol=head, tag="gradin")
            seed = np.ascontiguousarray(g)
        elif y.dtype.kind == "f":
            seed = np.ones_like(y)
        else:
            continue
        seeds[slot] = seed if slot not in seeds else seeds[slot] + seed

    def on_array(key: tuple, g: np.ndarray) -> None:
        array_grads[key] = array_grads[key] + g if key in array_grads else np.array(g)
    ctx.keep_input_grads = True
    grads = backward(plan.steps, ctx, values, caches, seeds, on_array,
                     set(plan.inputs.values()))
    out = {}
    for p, x in inputs.items():
        gi = grads[plan.inputs[p]]
        out[p] = np.zeros(x.shape, np.float32) if gi is None else np.moveaxis(gi, -1, 0)
    return out


def _out(a: np.ndarray) -> Any:
    a = np.asarray(a, dtype=np.float32)
    return float(a) if a.ndim == 0 else packed(a)


def _targets(net: Net, spec: Expr, head: str) -> list[tuple[Expr, tuple[str, Any]]]:
    if len(spec.args) != 1:
        raise EvaluationError(f"{input_form(spec)} should have one argument.", symbol=head,
                              tag="badgrad")
    (arg,) = spec.args
    ins = net.port_names()[0]
    if arg is S("All"):
        out = [(Expr(S("NetPortGradient"), p), ("input", p)) for p in ins]
        for path, name, key in _arrays(net):
            out.append((Expr(S("NetPortGradient"), _user_path(net, path, name)),
                        ("array", key)))
        return out
    if isinstance(arg, str) and arg in ins:
        return [(spec, ("input", arg))]
    parts = list_items(arg) if is_list(arg) else [arg]
    *layers, name = parts
    path = _path(net, layers, head, spec)
    for p, n, key in _arrays(net):
        if p == path and n == name:
            return [(spec, ("array", key))]
    if not layers and isinstance(arg, str) and arg in net.port_names()[1]:
        raise EvaluationError(f'NetPortGradient["{arg}"] names an output port: gradients are '
                              f"taken with respect to inputs and arrays.", symbol=head,
                              tag="badgrad")
    raise EvaluationError(f"{input_form(spec)} names no input port or learned array of the "
                          f"net; its inputs are {', '.join(ins)}.", symbol=head,
                          tag="badgrad")


def _arrays(net: Net):
    """(layer path, array name, plan key) for every array, shared arrays once."""
    seen = set()
    for path, layer in net.leaves():
        for spec in layer.array_specs:
            v = layer.arrays.get(spec.name)
            if v is NO_ARRAY:
                continue
            key = ("shared", v.name) if isinstance(v, SharedRef) else (path, spec.name)
            if key in seen:
                continue
            seen.add(key)
            yield path, spec.name, key


def _path(net: Net, layers: list, head: str, spec: Expr) -> tuple:
    out = []
    current = net
    for part in layers:
        if not isinstance(current, Container):
            raise EvaluationError(f"{input_form(spec)}: {input_form(part)} is not a layer of "
                                  f"{current.head_name}.", symbol=head, tag="badgrad")
        n = len(current.order)
        if is_integer(part) and (1 <= part <= n or -n <= part <= -1):
            name = current.order[part - 1 if part > 0 else part]
        elif isinstance(part, str) and part in current.order:
            name = part
        else:
            raise EvaluationError(f"{input_form(spec)}: there is no layer {input_form(part)}.",
                                  symbol=head, tag="badgrad")
        out.append(name)
        current = current.net(name)
    return tuple(out)


def _user_path(net: Net, path: tuple, name: str) -> Any:
    """The {layer, ..., "array"} spec for a path (positions in unnamed containers)."""
    parts: list[Any] = []
    current = net
    for p in path:
        assert isinstance(current, Container)
        parts.append(p if current.named else current.order.index(p) + 1)
        current = current.net(p)
    return name if not parts else Expr(S("List"), *parts, name)


def _array_shape(net: Net, key: tuple) -> tuple:
    if key[0] == "shared":
        return tuple(np.shape(net.shared.get(key[1], ())))
    for path, layer in net.leaves():
        shapes = layer.array_shapes()
        for spec in layer.array_specs:
            if key == (path, spec.name):
                return tuple(shapes.get(spec.name) or ())
    return ()


def abstract_gradients(net: Net, inputs: dict[str, np.ndarray], batched: bool, spec: Any,
                       head: str) -> Any:
    """netdsl check: the gradients' dimensions, nothing computed."""
    specs = list_items(spec) if is_list(spec) else [spec]
    results = []
    for s in specs:
        for expr, (kind, what) in _targets(net, s, head):
            if kind == "input":
                shape = inputs[what].shape if batched else inputs[what].shape[1:]
            else:
                shape = _array_shape(net, what)
            results.append((expr, AbstractArray(tuple(shape))))
    if len(results) == 1 and not is_list(spec) and spec.args[:1] != (S("All"),):
        return results[0][1]
    return Association((k, v, False) for k, v in results)
