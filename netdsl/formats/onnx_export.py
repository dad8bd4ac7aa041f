"""Export["net.onnx", net]: the net in Test mode as an ONNX model.

Inputs and outputs are the net's ports, by name, batch first with a symbolic batch
dimension ``N`` (a "Varying" sequence length is a symbolic ``n``, ``n2``, ...); integer
ports (class indices) are int64. Initializers are the net's arrays, named by their
NetExtract path as in net files (``conv/Weights``, ``shared/w``); a shared array is one
initializer used by every layer naming it. How each layer becomes nodes is the table in
``onnx_ops.py``. Operators: a NetMapOperator is its inner net on the (N*n, element...)
tensor the sequences make when their length is reshaped into the batch axis, reshaped
back; a NetBidirectionalOperator is its forward net on the input and its backward net on
the input reversed along the length (a Slice with step -1; the backward output reversed
back when it is a sequence), then Concat, Add or their mean; a NetFoldOperator is a
Scan over the length whose body is its inner net; a NetNestOperator is its inner net's
nodes repeated n times (unrolled, the same initializers); a NetPairEmbeddingOperator is
its inner net on the (N*2, element...) tensor of both arrays of each pair, then the
distance of the two embeddings (squared Euclidean, or cosine). The model passes ``onnx.checker`` (full
check) and strict shape inference before it is written.

The ``onnx`` package is an optional extra: ``pip install 'netdsl[onnx]'``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..expr import is_integer
from ..graph.container import Container, dataflow, path_label
from ..graph.operators import Operator
from ..layers.arrays import NO_ARRAY, SharedRef
from ..layers.base import AbstractArray, Layer, Net
from ..layers.shapes import LengthVar, VaryingSize, is_length_var
from ..version import __version__
from .netfile import SHARED
from .onnx_ops import EXPORTERS, INT64_MIN, ExportError, slice_axis, unsupported

DEFAULT_OPSET = 17
OPSETS = range(13, 22)          # the operator set versions netdsl writes
BATCH = "N"


def require_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise EvaluationError("Exporting to ONNX needs the onnx package: pip install "
                              "'netdsl[onnx]'.", symbol="Export", tag="noonnx") from None
    return onnx


class Builder:
    """Collects nodes and initializers; names every tensor it makes uniquely."""

    def __init__(self, onnx: Any, root: Net, opset: int):
        self.onnx = onnx
        self.helper = onnx.helper
        self.root = root
        self.opset = opset
        self.nodes: list[Any] = []
        self.initializers: dict[str, Any] = {}
        self.counter = 0
        self.arrays_of: dict[int, tuple[tuple, Layer]] = {}
        self.lengths: dict[int, str] = {}

    def fresh(self, scope: str, op: str) -> str:
        self.counter += 1
        return f"{scope}/{op}_{self.counter}"

    def node(self, op: str, inputs: list[str], scope: str, **attrs: Any) -> str:
        out = self.fresh(scope, op)
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def const(self, value: Any, scope: str, dtype: Any = np.float32) -> str:
        name = self.fresh(scope, "const")
        try:
            arr = np.asarray(value, dtype=dtype)
        except (TypeError, VaryingSize):
            if not any(is_length_var(v) for v in np.ravel(np.asarray(value, dtype=object))):
                raise
            layer, where = self.current
            raise unsupported(layer, where, 'it needs a fixed size where the sequence length '
                                            'is "Varying"; give the length ("Input" -> {n, ...})'
                              ) from None
        self.initializers[name] = self.onnx.numpy_helper.from_array(arr, name)
        return name

    def reshape(self, x: str, shape: tuple, scope: str) -> str:
        return self.node("Reshape", [x, self.const([-1, *shape], scope, np.int64)], scope)

    def reduce(self, op: str, x: str, axes: list[int], scope: str, keepdims: int = 0) -> str:
        """A reduction over ``axes`` (never none); axes are an input from opset 13
        (ReduceSum) or 18 (the others), an attribute before."""
        if op == "ReduceSum" or self.opset >= 18:
            return self.node(op, [x, self.const(axes, scope, np.int64)], scope,
                             keepdims=keepdims)
        return self.node(op, [x], scope, axes=axes, keepdims=keepdims)

    def mean_per_example(self, x: str, rank: int, scope: str) -> str:
        if rank == 0:
            return x
        return self.reduce("ReduceMean", x, list(range(1, rank + 1)), scope)

    # arrays: initializers named by NetExtract path; a shared array once
    def _slot(self, layer: Layer, name: str) -> tuple[str, np.ndarray | None]:
        path = self.current_path
        v = layer.arrays.get(name)
        if isinstance(v, SharedRef):
            return SHARED + v.name, self.root.shared.get(v.name)
        return "/".join([*path, name]), v

    def has_array(self, layer: Layer, name: str) -> bool:
        v = layer.arrays.get(name)
        return v is not None and v is not NO_ARRAY

    def array(self, layer: Layer, name: str) -> str:
        key, value = self._slot(layer, name)
        if key not in self.initializers:
            if not isinstance(value, np.ndarray):
                raise EvaluationError(f'The array "{name}"{path_label(self.root, self.current_path)}'
                                      f" has no value; initialise the net before exporting it "
                                      f"(NetInitialize).", symbol="Export", tag="nninit")
            arr = np.require(value, np.float32, "C")
            self.initializers[key] = self.onnx.numpy_helper.from_array(arr, key)
        return key

    current_path: tuple = ()
    current: tuple[Layer, str]          # the layer being exported and where (for errors)

    def length_name(self, d: LengthVar) -> str:
        """A symbolic ONNX dimension for a "Varying" length: ``n`` for the first, then
        ``n2``, ...; ports sharing a length share its name."""
        if d.id not in self.lengths:
            self.lengths[d.id] = f"n{len(self.lengths) + 1}" if self.lengths else "n"
        return self.lengths[d.id]


def _value_info(b: Builder, name: str, t: Any) -> Any:
    elem = b.onnx.TensorProto.INT64 if t.integer else b.onnx.TensorProto.FLOAT
    dims = [b.length_name(d) if is_length_var(d) else d for d in t.shape]
    return b.helper.make_tensor_value_info(name, elem, [BATCH, *dims])


def _emit(b: Builder, net: Net, path: tuple, inputs: dict[str, str]) -> dict[str, str]:
    if isinstance(net, Layer):
        exporter = EXPORTERS.get(net.name)
        where = path_label(b.root, path) if path else ""
        if exporter is None:
            raise unsupported(net, where, "netdsl has no ONNX mapping for this layer type")
        scope = "/".join(path) or net.name
        b.current_path = path
        b.current = (net, where)
        ins = [_as_read(b, net, p, inputs[p], scope) for p in net.port_names()[0]]
        outs = exporter(b, net, scope, where, ins)
        return dict(zip(net.port_names()[1], outs))
    assert isinstance(net, Container)
    if net.operator is not None:
        return _operator(b, net, path, inputs)
    return dataflow(net, inputs, lambda node, sub, feeds: _emit(b, sub, path + (node,), feeds))


def _as_read(b: Builder, layer: Layer, port: str, name: str, scope: str) -> str:
    """Integers given to a layer that computes with reals are cast to float first, as the
    executor's ToReal step does (Layer.moves_numbers)."""
    t = layer.ports.get(port)
    if t is None or not t.integer or layer.reads_integers(port):
        return name
    return b.node("Cast", [name], scope, to=b.onnx.TensorProto.FLOAT)


def _operator(b: Builder, net: Container, path: tuple, inputs: dict[str, str]
              ) -> dict[str, str]:
    """NetMapOperator and NetBidirectionalOperator as their inner nets' nodes (see the
    module's docstring); a NetFoldOperator or AttentionLayer[net] is an onnxnosup error."""
    assert isinstance(net, Operator)    # the only containers with an ``operator``
    where = path_label(b.root, path) if path else ""
    if getattr(net, "template", None) is not None:   # AttentionLayer[net], ...
        raise ExportError(f"{net.kind}{where} cannot be exported to ONNX: netdsl has no ONNX "
                          f"mapping for a net as the scoring net.", symbol="Export",
                          tag="onnxnosup")
    if net.kind == "NetGANOperator":      # a training device, not a function to run
        raise ExportError(f"NetGANOperator{where} cannot be exported to ONNX: it is a net for "
                          f"training; export its generator, NetExtract[gan, \"Generator\"] "
                          f"(or the discriminator, NetExtract[gan, \"Discriminator\"]).",
                          symbol="Export", tag="onnxnosup")
    scope = "/".join(path) or net.kind
    if net.kind == "NetFoldOperator":
        return _fold(b, net, path, inputs, scope)
    if net.kind == "NetMapThreadOperator":
        return _map_thread(b, net, path, inputs, scope, where)
    x = inputs["Input"]
    if net.kind == "NetNestOperator":      # unrolled: the inner nodes n times, one set of arrays
        assert net.iterations is not None
        for _ in range(net.iterations):
            x = _emit(b, net.net("Net"), path + ("Net",), {"Input": x})["Output"]
        return {"Output": x}
    if net.kind == "NetPairEmbeddingOperator":
        return {"Output": _pair(b, net, path, x, scope, where)}
    if net.kind == "NetMapOperator":
        y, out = _inner_on_merged(b, net, path, x, scope, where)
        lead = slice_axis(b, b.node("Shape", [x], scope), 0, 2, 0, 1, scope)   # (N, n)
        shape = b.node("Concat", [lead, b.const(list(out), scope, np.int64)], scope, axis=0)
        return {"Output": b.node("Reshape", [y, shape], scope)}
    if net.kind == "NetBidirectionalOperator":
        f = _emit(b, net.net("ForwardNet"), path + ("ForwardNet",), {"Input": x})["Output"]
        reverse = slice_axis(b, x, -1, INT64_MIN, 1, -1, scope)
        r = _emit(b, net.net("BackwardNet"), path + ("BackwardNet",),
                  {"Input": reverse})["Output"]
        sequential = net.sequential_output()
        if sequential:
            r = slice_axis(b, r, -1, INT64_MIN, 1, -1, scope)
        if net.aggregation == "Catenate":
            return {"Output": b.node("Concat", [f, r], scope, axis=2 if sequential else 1)}
        y = b.node("Add", [f, r], scope)
        if net.aggregation == "Mean":
            y = b.node("Mul", [y, b.const(0.5, scope)], scope)
        return {"Output": y}
    raise AssertionError(net.kind)


def _map_thread(b: Builder, net: Operator, path: tuple, inputs: dict[str, str], scope: str,
                where: str) -> dict[str, str]:
    """NetMapThreadOperator as a map over n levels: each input (Unsqueezed and Expanded over
    the levels below its depth) Reshaped to (N*L1*...*Ln, element...), the inner net's
    nodes on those, each output Reshaped back to (N, L1, ..., Ln, ...)."""
    thread, inner = net.thread, net.net("Net")
    assert thread is not None
    n = thread.n
    shapes = {p: tuple(inner.ports[p].shape or ()) for p in thread.inputs + thread.outputs}
    if any(is_length_var(d) for sh in shapes.values() for d in sh):
        raise ExportError(f"NetMapThreadOperator{where} cannot be exported to ONNX: its inner "
                          f"net works on sequences.", symbol="Export", tag="onnxnosup")
    full = next(p for p in thread.inputs if thread.depth(p) == n)
    lead = slice_axis(b, b.node("Shape", [inputs[full]], scope), 0, n + 1, 0, 1, scope)
    feeds = {}
    for p in thread.inputs:
        x, d = inputs[p], thread.depth(p)
        if d < n:
            x = b.node("Unsqueeze", [x, b.const(list(range(d + 1, n + 1)), scope, np.int64)],
                       scope)
            to = b.node("Concat", [lead, b.const(list(shapes[p]), scope, np.int64)], scope,
                        axis=0)
            x = b.node("Expand", [x, to], scope)
        feeds[p] = b.reshape(x, shapes[p], scope)
    ys = _emit(b, inner, path + ("Net",), feeds)
    out = {}
    for o in thread.outputs:
        to = b.node("Concat", [lead, b.const(list(shapes[o]), scope, np.int64)], scope, axis=0)
        out[o] = b.node("Reshape", [ys[o], to], scope)
    return out


def _inner_on_merged(b: Builder, net: Operator, path: tuple, x: str, scope: str,
                     where: str) -> tuple[str, tuple]:
    """A map's or pair embedding's inner net on its input with the first level folded into
    the batch, (N*n, element...): its output and the inner output's shape."""
    inner = net.net("Net")
    element, out = (tuple(inner.ports[p].shape or ()) for p in ("Input", "Output"))
    if any(is_length_var(d) for d in element + out):
        raise ExportError(f"{net.kind}{where} cannot be exported to ONNX: its inner net works "
                          f"on sequences.", symbol="Export", tag="onnxnosup")
    y = _emit(b, inner, path + ("Net",), {"Input": b.reshape(x, element, scope)})["Output"]
    return y, out


def _pair(b: Builder, net: Operator, path: tuple, x: str, scope: str, where: str) -> str:
    """The distance of the embeddings of a pair's two arrays (graph/operators.py gives
    Wolfram's formulas), from one inner pass over the (N*2, element...) batch."""
    y, out = _inner_on_merged(b, net, path, x, scope, where)
    size = int(np.prod(out, dtype=np.int64))
    e = b.node("Reshape", [y, b.const([-1, 2, size], scope, np.int64)], scope)
    e1, e2 = (b.reshape(slice_axis(b, e, i, i + 1, 1, 1, scope), (size,), scope)
              for i in (0, 1))

    def total(a: str) -> str:
        return b.reduce("ReduceSum", a, [1], scope)
    if net.aggregation == "EuclideanDistance":
        d = b.node("Sub", [e1, e2], scope)
        return total(b.node("Mul", [d, d], scope))
    n1, n2 = (b.node("Sqrt", [b.node("Add", [total(b.node("Mul", [a, a], scope)),
                                             b.const(1e-10, scope)], scope)], scope)
              for a in (e1, e2))
    c = b.node("Div", [total(b.node("Mul", [e1, e2], scope)), b.node("Mul", [n1, n2], scope)],
               scope)
    return b.node("Sub", [b.const(1.0, scope), c], scope)


def _fold(b: Builder, net: Operator, path: tuple, inputs: dict[str, str], scope: str
          ) -> dict[str, str]:
    """NetFoldOperator as ONNX's Scan over the length (moved to axis 0 and back): the body
    is the inner net on one element of each mapped input, the states and the constants
    (read from the outer scope); it gives the fed-back outputs (the next states) and the
    outputs whose sequences the fold gives. States not given start at zeros of (N, ...)."""
    fold, inner = net.fold, net.net("Net")
    assert fold is not None
    batch = slice_axis(b, b.node("Shape", [inputs[fold.mapped[0]]], scope), 0, 1, 0, 1, scope)
    initial = []
    for i in fold.states:
        if i in inputs:
            initial.append(inputs[i])
            continue
        dims = b.const(list(inner.ports[i].shape or ()), scope, np.int64)
        shape = b.node("Concat", [batch, dims], scope, axis=0)
        initial.append(b.node("ConstantOfShape", [shape], scope,
                              value=b.onnx.numpy_helper.from_array(np.zeros(1, np.float32))))
    outer_nodes, b.nodes = b.nodes, []
    feeds = {**{c: inputs[c] for c in fold.constants},
             **{p: b.fresh(scope, f"body_{p}") for p in fold.states + fold.mapped}}
    results = _emit(b, inner, path + ("Net",), feeds)
    body_outs = [b.node("Identity", [results[o]], scope) for o, _ in fold.feedback]
    body_outs += [b.node("Identity", [results[o]], scope) for o in fold.outputs]
    body = b.helper.make_graph(
        b.nodes, f"{scope}/body",
        [_value_info(b, feeds[p], inner.ports[p]) for p in fold.states + fold.mapped],
        [_value_info(b, name, inner.ports[o]) for name, o in
         zip(body_outs, [o for o, _ in fold.feedback] + list(fold.outputs))])
    b.nodes = outer_nodes

    def length_first(x: str, port: str) -> str:   # (N, n, ...) <-> (n, N, ...)
        rank = 2 + len(inner.ports[port].shape or ())
        return b.node("Transpose", [x], scope, perm=[1, 0, *range(2, rank)])

    outs = [b.fresh(scope, "Scan") for _ in body_outs]
    b.nodes.append(b.helper.make_node(
        "Scan", initial + [length_first(inputs[m], m) for m in fold.mapped], outs,
        name=outs[0], body=body, num_scan_inputs=len(fold.mapped)))
    finals = dict(zip(fold.states, outs))
    return {**{i: finals[i] for i in net.port_names()[1] if i in finals},
            **{o: length_first(y, o) for o, y in zip(fold.outputs, outs[len(fold.feedback):])}}


def to_onnx(net: Net, opset: int = DEFAULT_OPSET) -> Any:
    """The ONNX ModelProto of ``net`` (Test mode), checked."""
    onnx = require_onnx()
    if not (is_integer(opset) and opset in OPSETS):
        raise EvaluationError(f"OperatorSetVersion -> {opset} is not supported; netdsl writes "
                              f"operator sets {OPSETS.start} to {OPSETS.stop - 1} (default "
                              f"{DEFAULT_OPSET}).", symbol="Export", tag="opset")
    if not isinstance(net, Net):
        raise EvaluationError("Only a net can be exported to ONNX.", symbol="Export", tag="type")
    if any(isinstance(v, AbstractArray) for _, layer in net.leaves()
           for v in layer.arrays.values()) or any(
            isinstance(v, AbstractArray) for v in net.shared.values()):
        raise EvaluationError("The net has no numbers to export (its arrays are placeholders).",
                              symbol="Export", tag="abstract")
    ins, outs = net.port_names()
    for p in ins + outs:
        t = net.ports[p]
        if not t.known:
            raise EvaluationError(f'The shape of port "{p}" is not known ({t.words()}); give it '
                                  f"before exporting to ONNX.", symbol="Export", tag="nfspec")
    b = Builder(onnx, net, int(opset))
    results = _emit(b, net, (), {p: p for p in ins})
    for p in outs:                      # outputs by port name (an input may pass through)
        b.nodes.append(b.helper.make_node("Identity", [results[p]], [p], name=f"output/{p}"))
    graph = b.helper.make_graph(
        b.nodes, "netdsl", [_value_info(b, p, net.ports[p]) for p in ins],
        [_value_info(b, p, net.ports[p]) for p in outs], list(b.initializers.values()))
    model = b.helper.make_model(graph, producer_name="netdsl", producer_version=__version__,
                                opset_imports=[b.helper.make_opsetid("", int(opset))])
    model.ir_version = min(model.ir_version, _ir_version(onnx, int(opset)))
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:    # onnx raises its own checker/inference errors
        raise ExportError(f"The ONNX model failed onnx.checker: {e}", symbol="Export",
                          tag="onnxcheck") from None
    return model


def _ir_version(onnx: Any, opset: int) -> int:
    """The IR version of the first onnx release with ``opset``: the oldest runtimes that
    know the opset read the file."""
    return min(ir for _release, ir, ops, *_ in onnx.helper.VERSION_TABLE if ops >= opset)


def export_onnx(net: Net, path: str | os.PathLike, opset: int = DEFAULT_OPSET,
                where: str | None = None) -> None:
    """Write ``net`` to ``path`` as an ONNX model."""
    model = to_onnx(net, opset)
    try:
        with open(path, "wb") as fh:
            fh.write(model.SerializeToString())
    except OSError as e:
        raise EvaluationError(f"Cannot write {where or path}: {e.strerror or e}.",
                              symbol="Export", tag="noopen") from None
