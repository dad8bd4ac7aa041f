"""Import["model.onnx"]: an ONNX model as a netdsl net (``pip install 'netdsl[onnx]'``).

The graph's nodes become netdsl layers (Conv -> ConvolutionLayer, Relu -> Ramp, ...) and
its initializers their arrays. Constants combined with data become pure functions
(``# + 0.5 &``); two data inputs with size-1 dimensions against size-n ones are broadcast
by repeating (ReplicateLayer) before a ThreadingLayer. The first dimension of every graph input is the batch;
the rest is the example shape netdsl's ports take. A graph that is a chain becomes a
NetChain (layers named after the ONNX nodes), any other a NetGraph.

What netdsl has no counterpart for is an ``Import::onnxop`` error naming the operator
and the node: an operator with no netdsl layer, or an attribute that changes what it
computes in a way the layer cannot (a softmax over another axis than the last, an
average pool excluding padding, ceil rounding that adds an output row, broadcasting
between inputs of different shapes, an operation on the batch dimension, integer data).

Element names, as Wolfram's: "Net", "UninitializedNet" (arrays removed),
"ArrayAssociation" (initializer name -> array).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import EvaluationError
from ..expr import Association, Expr, Symbol, make_list
from ..layers.base import Net
from ..runtime.initialize import initialize
from ..syntax import parse_statements
from .construct import build

S = Symbol
ELEMENTS = ("Net", "UninitializedNet", "ArrayAssociation")
FLOAT = 1   # onnx.TensorProto.FLOAT
INTEGERS = (6, 7)   # INT32, INT64: class indices


class Unsupported(EvaluationError):
    """The model needs something netdsl has no counterpart for (``Import::onnxop``)."""


def _unsupported(node, why: str) -> Unsupported:
    name = f' "{node.name}"' if node.name else ""
    return Unsupported(f"The ONNX operator {node.op_type} (node{name}) {why}.",
                       symbol="Import", tag="onnxop")


def require_onnx() -> Any:
    if importlib.util.find_spec("onnx") is None:
        raise EvaluationError("Importing ONNX models needs the onnx package; install it with "
                              "pip install 'netdsl[onnx]'.", symbol="Import", tag="noonnx")
    import onnx
    return onnx


def load(path: Path | str | bytes, element: str = "Net", where: str | None = None) -> Any:
    """The model at ``path`` (or serialised model bytes) as ``element``."""
    onnx = require_onnx()
    where = where or ("the model" if isinstance(path, bytes) else str(path))
    if element in ("Automatic", "Data"):
        element = "Net"
    if element not in ELEMENTS:
        raise EvaluationError(f'The Import element "{element}" is not present when importing '
                              f"as ONNX; elements: {', '.join(ELEMENTS)}.", symbol="Import",
                              tag="noelem")
    try:
        model = onnx.load_model_from_string(path) if isinstance(path, bytes) \
            else onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as e:   # protobuf and checker errors: the file is not a valid model
        raise EvaluationError(f"{where} is not a valid ONNX model: {str(e).splitlines()[0][:200]}",
                              symbol="Import", tag="fmterr") from None
    if element == "ArrayAssociation":
        consts = _constants(model.graph, onnx)
        return Association((k, v, False) for k, v in consts.items())
    net = from_model(model)
    return initialize(net, "none") if element == "UninitializedNet" else net


def from_model(model: Any) -> Net:
    """The netdsl net computing what the ONNX ``model`` (a ModelProto) computes."""
    onnx = require_onnx()
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception:   # noqa: BLE001 - shapes are then taken from what the model declares
        pass
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
    return _Importer(model.graph, opset, onnx).net()


def _constants(graph, onnx) -> dict[str, np.ndarray]:
    from onnx import numpy_helper
    out = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    out[node.output[0]] = numpy_helper.to_array(a.t)
                elif a.name in ("value_float", "value_int"):
                    out[node.output[0]] = np.asarray(onnx.helper.get_attribute_value(a))
                elif a.name in ("value_floats", "value_ints"):
                    out[node.output[0]] = np.asarray(list(onnx.helper.get_attribute_value(a)))
    return out


def _num(x: float) -> str:
    """A real in netdsl text: 1.5, 1.*^-5 (Wolfram's exponent form)."""
    text = repr(float(x))
    if "inf" in text or "nan" in text:
        raise ValueError(text)
    if "e" in text:
        mantissa, exp = text.split("e")
        return f"({mantissa}*^{int(exp)})"
    return f"({text})"


def _function(text: str) -> Any:
    ((expr, _),) = parse_statements(text)
    return expr


# ONNX unary operators and the netdsl function of each (attrs -> netdsl text)
UNARY: dict[str, Callable[[dict], str]] = {
    "Relu": lambda a: "Ramp", "Sigmoid": lambda a: "LogisticSigmoid", "Tanh": lambda a: "Tanh",
    "Exp": lambda a: "Exp", "Log": lambda a: "Log", "Sqrt": lambda a: "Sqrt",
    "Abs": lambda a: "Abs", "Sin": lambda a: "Sin", "Cos": lambda a: "Cos",
    "Erf": lambda a: "Erf", "Neg": lambda a: "-# &", "Reciprocal": lambda a: "1/# &",
    "Softplus": lambda a: '"SoftPlus"', "Softsign": lambda a: '"SoftSign"',
    "Mish": lambda a: '"Mish"', "HardSwish": lambda a: '"HardSwish"',
    "Elu": lambda a: f"Max[#, 0] + {_num(a.get('alpha', 1.0))} (Exp[Min[#, 0]] - 1) &",
    "Selu": lambda a: (f"{_num(a.get('gamma', 1.05070102214813232421875))} (Max[#, 0] + "
                       f"{_num(a.get('alpha', 1.67326319217681884765625))} "
                       f"(Exp[Min[#, 0]] - 1)) &"),
    "LeakyRelu": lambda a: (f"Max[#, {_num(a.get('alpha', 0.01))} #] &"
                            if a.get("alpha", 0.01) <= 1 else
                            f"Min[#, {_num(a.get('alpha', 0.01))} #] &"),
    "HardSigmoid": lambda a: (f"Clip[{_num(a.get('alpha', 0.2))} # + "
                              f"{_num(a.get('beta', 0.5))}, {{0, 1}}] &"),
    "Gelu": lambda a: ('"GELU"' if a.get("approximate", b"none") in (b"none", "none") else
                       "0.5 # (1 + Tanh[(0.7978845608028654) (# + (0.044715) #^3)]) &"),
}
BINARY = {"Add": ("Plus", "{a} + {b}"), "Sub": ("Subtract", "{a} - {b}"),
          "Mul": ("Times", "{a} {b}"), "Div": ("Divide", "{a} / {b}"),
          "Pow": ("Power", "({a})^({b})"), "Max": ("Max", "Max[{a}, {b}]"),
          "Min": ("Min", "Min[{a}, {b}]")}


class _Importer:
    def __init__(self, graph, opset: int, onnx):
        self.g = graph
        self.opset = opset
        self.onnx = onnx
        self.consts = _constants(graph, onnx)
        self.shapes: dict[str, tuple] = {}
        self.types: dict[str, int] = {}
        for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
            if not vi.type.HasField("tensor_type"):
                kind = str(vi.type.WhichOneof("value")).replace("_type", "")
                raise Unsupported(f'The ONNX model\'s value "{vi.name}" is '
                                  f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}, not a "
                                  f"tensor; netdsl nets compute on tensors.", symbol="Import",
                                  tag="onnxop")
            t = vi.type.tensor_type
            self.types[vi.name] = t.elem_type
            if t.HasField("shape"):
                self.shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else None
                                             for d in t.shape.dim)
        self.inputs = [i.name for i in graph.input if i.name not in self.consts]
        self.source: dict[str, Any] = {n: ("input", n) for n in self.inputs}
        self.layers: dict[str, Any] = {}          # name -> layer expression
        self.feeds: dict[str, list] = {}          # name -> sources of its inputs
        self.uses: dict[str, int] = {}
        self.unbiased: set[str] = set()           # LinearLayers from MatMul, no biases yet
        self.shape_only: set[str] = set()         # computed from data's shape alone
        self.zeros: set[str] = set()              # ConstantOfShape(shape-only, 0): zero states
        # values in another layout than batch-first, around the recurrent operators:
        # "time" (n, N, ..) of a batch-first source; "Y" (n, 1, N, H) and "YB" (N, n, 1, H)
        # outputs of a recurrent layer; "H" its last state Y_h (1, N, H)
        self.views: dict[str, tuple[str, Any]] = {}
        # integer values computed from an integer input: value -> (input, k), the value
        # being the input + k; classes: input -> the number of classes its reader takes
        self.index: dict[str, tuple[str, int]] = {}
        self.classes: dict[str, int] = {}
        for node in graph.node:
            for i in node.input:
                self.uses[i] = self.uses.get(i, 0) + 1
        for o in graph.output:
            self.uses[o.name] = self.uses.get(o.name, 0) + 1

    # ---------------------------------------------------------------- assembling the net
    def net(self) -> Net:
        for name in self.inputs:
            if self.types.get(name, FLOAT) in INTEGERS and self._index_input(name):
                self.index[name] = (name, 0)
            elif self.types.get(name, FLOAT) != FLOAT:
                raise Unsupported(f'The ONNX model\'s input "{name}" is not float32; netdsl nets '
                                  f"compute in float32.", symbol="Import", tag="onnxop")
            shape = self.shapes.get(name)
            if shape and 0 in shape[1:]:
                raise Unsupported(f'The ONNX model\'s input "{name}" is empty (dimensions '
                                  f"{list(shape)}); netdsl arrays have no size-0 dimensions.",
                                  symbol="Import", tag="onnxop")
            if not shape or None in shape[2:] or len(shape) > 1 and shape[1] is None \
                    and not (self._sequence_input(name) or name in self.index):
                raise Unsupported(f'The ONNX model\'s input "{name}" has dimensions '
                                  f"{list(shape) if shape else 'unknown'}; netdsl needs a batch "
                                  f"dimension followed by known example dimensions (a symbolic "
                                  f"second one only for a sequence read by LSTM, GRU or RNN).",
                                  symbol="Import", tag="onnxop")
        for node in self.g.node:
            if node.op_type == "Constant" or self._shape_or_constant(node):
                continue
            if node.domain not in ("", "ai.onnx"):
                raise _unsupported(node, f"of domain {node.domain!r} has no netdsl layer")
            self.node(node)
        outputs = []
        for o in self.g.output:
            src = self.source.get(o.name)
            if src is not None and src[0] == "input":   # the input itself (Identity)
                name = self.add(o, self.layer("ElementwiseLayer", _function("# &")), [])
                self.feeds[name] = [src]
                src = ("layer", name)
            if src is None and (o.name in self.views or o.name in self.shape_only
                                or o.name in self.zeros):
                what = ("data in a time-major layout (the batch moved from axis 0)"
                        if o.name in self.views else "computed from the inputs' shapes alone")
                raise Unsupported(f'The ONNX model\'s output "{o.name}" is {what}; netdsl '
                                  f"nets output batch-first data.", symbol="Import",
                                  tag="onnxop")
            if src is None:
                raise Unsupported(f'The ONNX model\'s output "{o.name}" is a constant, not '
                                  f"computed from the inputs.", symbol="Import", tag="onnxop")
            outputs.append((o.name, src))
        ports = {n: _port(self.shapes[n][1:], self.classes.get(n, 0) if n in self.index
                          else None) for n in self.inputs}
        chain = self._chain_order(outputs)
        if chain is not None:
            spec = Association((n, build(self.layers[n]), False) for n in chain)
            opts = [Expr(S("Rule"), "Input", ports[self.inputs[0]]),
                    Expr(S("Rule"), "Output", self._out_shape(outputs[0][0]))]
            return build(Expr(S("NetChain"), spec, *opts))
        edges = []
        for name, srcs in self.feeds.items():
            exprs = [self._src_expr(s) for s in srcs]
            target = exprs[0] if len(exprs) == 1 else Expr(S("List"), *exprs)
            edges.append(Expr(S("Rule"), target, name))
        for port, src in outputs:
            edges.append(Expr(S("Rule"), self._src_expr(src), Expr(S("NetPort"), port)))
        spec = Association((n, build(e), False) for n, e in self.layers.items())
        opts = [Expr(S("Rule"), n, ports[n]) for n in self.inputs]
        return build(Expr(S("NetGraph"), spec, Expr(S("List"), *edges), *opts))

    def _out_shape(self, name: str) -> Any:
        shape = self.shapes.get(name)
        return _port(shape[1:]) if shape and None not in shape[2:] else S("Automatic")

    def _sequence_input(self, name: str) -> bool:
        """Whether a rank-3 input goes (through a Transpose to time-major, or directly with
        layout 1) into recurrent operators only: its second dimension may be "Varying"."""
        if len(self.shapes.get(name, ())) != 3:
            return False
        readers = [n for n in self.g.node if name in n.input]
        for n in readers:
            if n.op_type == "Shape":
                continue
            if n.op_type == "Transpose" and list(self.attrs(n).get("perm", [])) == [1, 0, 2]:
                if all(m.op_type in RECURRENT for m in self.g.node if n.output[0] in m.input):
                    continue
            if n.op_type in RECURRENT and n.input[0] == name and self.attrs(n).get("layout", 0):
                continue
            return False
        return bool(readers)

    def _index_input(self, name: str) -> bool:
        """Whether an integer input is read only as class indices: by Cast, Sub or Add of
        a constant (the shift from 1-based), Gather's indices or OneHot."""
        readers = [n for n in self.g.node if name in n.input]
        return bool(readers) and all(
            n.op_type in ("Cast", "Sub", "Add", "OneHot", "Shape")
            or n.op_type == "Gather" and list(n.input[1:2]) == [name] for n in readers)

    def _on_indices(self, node, a) -> None:
        """Class indices: netdsl's take 1..n, so a table lookup must read row index - 1
        (netdsl's own export: Cast, Sub 1, Gather); Gather of such rows is EmbeddingLayer,
        OneHot of them (values 0, 1) UnitVectorLayer."""
        op = node.op_type
        pos = next(i for i, v in enumerate(node.input) if v in self.index)
        src, k = self.index[node.input[pos]]
        if op == "Cast" and a.get("to") in INTEGERS:
            self.index[node.output[0]] = (src, k)
            return
        if op in ("Sub", "Add") and pos == 0:
            c = self.const(node, node.input[1])
            if c is not None and c.size == 1 and float(c.reshape(())).is_integer():
                shift = int(c.reshape(()))
                self.index[node.output[0]] = (src, k - shift if op == "Sub" else k + shift)
                return
        if op == "Gather" and pos == 1 and int(a.get("axis", 0)) == 0:
            w = self.const(node, node.input[0])
            if w is not None and w.ndim == 2:
                self._needs_one_based(node, k, src, int(w.shape[0]))
                layer = self.layer("EmbeddingLayer", int(w.shape[1]), int(w.shape[0]),
                                   Weights=np.ascontiguousarray(w, np.float32))
                return self._from_indices(node, layer, src)
        if op == "OneHot" and pos == 0 and int(a.get("axis", -1)) == -1:
            depth, values = self.const(node, node.input[1]), self.const(node, node.input[2])
            if depth is not None and values is not None and list(np.ravel(values)) == [0, 1]:
                n = int(np.ravel(depth)[0])
                self._needs_one_based(node, k, src, n)
                return self._from_indices(node, self.layer("UnitVectorLayer", n), src)
        raise _unsupported(node, "computes on integer data; netdsl takes class indices only "
                                 "as rows of a table (Gather, EmbeddingLayer) or unit vectors "
                                 "(OneHot, UnitVectorLayer)")

    def _needs_one_based(self, node, k: int, src: str, n: int) -> None:
        if k != -1:
            raise _unsupported(node, f'reads row "{src}"{k:+d}' + (
                " (indices from 0, as PyTorch's nn.Embedding)" if k == 0 else "") +
                '; netdsl\'s class indices run from 1, so the model must read row index - 1')
        self.classes[src] = n

    def _from_indices(self, node, layer: Any, src: str) -> None:
        name = self.add(node, layer, [])
        self.feeds[name] = [("input", src)]
        self.source[node.output[0]] = ("layer", name)

    def _shape_or_constant(self, node) -> bool:
        """Nodes that compute no data: on constants alone (folded with NumPy when netdsl
        knows the operator), on the data's shape alone (Shape, then Gather, Concat, ...),
        and ConstantOfShape of such a shape with value 0 (a recurrent operator's zero
        initial state). True when the node was taken care of here."""
        ins = [v for v in node.input if v]
        if node.op_type == "Shape":
            self.shape_only.update(node.output)
            return True
        if not ins or not all(v in self.consts or v in self.shape_only for v in ins):
            return False
        if all(v in self.consts for v in ins):
            fold = FOLD.get(node.op_type)
            if fold is None:
                return False
            try:
                value = fold([self.consts[v] for v in ins], self.attrs(node))
            except (ValueError, IndexError, TypeError):
                return False
            self.consts[node.output[0]] = np.asarray(value)
            return True
        if node.op_type == "ConstantOfShape":
            value = self.attrs(node).get("value")
            if value is not None and np.any(self.onnx.numpy_helper.to_array(value)):
                raise _unsupported(node, "fills a tensor of the data's shape with a value other "
                                         "than 0; netdsl's recurrent states start at 0")
            self.zeros.add(node.output[0])
            return True
        self.shape_only.update(node.output)
        return True

    def _src_expr(self, src) -> Any:
        return Expr(S("NetPort"), src[1]) if src[0] == "input" else src[1]

    def _chain_order(self, outputs) -> list[str] | None:
        """The layers in order if each feeds only the next (one input, one output)."""
        if len(self.inputs) != 1 or len(outputs) != 1:
            return None
        order = list(self.layers)
        prev: Any = ("input", self.inputs[0])
        for name in order:
            if self.feeds[name] != [prev]:
                return None
            prev = ("layer", name)
        return order if outputs[0][1] == prev else None

    def add(self, node, layer: Any, inputs: list[str], suffix: str = "") -> str:
        base = (node.name or f"{node.op_type}{len(self.layers) + 1}") + suffix
        name, k = base, 1
        while name in self.layers:
            k += 1
            name = f"{base}_{k}"
        self.layers[name] = layer
        self.feeds[name] = [self._source(node, i) for i in inputs]
        return name

    def _source(self, node, value: str):
        if value in self.views:
            raise _unsupported(node, f'reads "{value}", data in a time-major layout (the batch '
                                     f"dimension moved from axis 0), which netdsl takes only as "
                                     f"the input or output of LSTM, GRU or RNN")
        if value in self.zeros or value in self.shape_only:
            raise _unsupported(node, f'reads "{value}", computed from the shape of the data '
                                     f"alone, where netdsl needs data")
        if value in self.consts:
            raise _unsupported(node, f'takes the constant "{value}" where netdsl needs data')
        src = self.source.get(value)
        if src is None:
            raise _unsupported(node, f'reads "{value}", which no supported node computes')
        return src

    def emit(self, node, layer: Any, inputs: list[str]) -> None:
        name = self.add(node, layer, inputs)
        self.source[node.output[0]] = ("layer", name)

    def alias(self, node, value: str) -> None:
        self.source[node.output[0]] = self._source(node, value)

    # ---------------------------------------------------------------- nodes
    def attrs(self, node) -> dict[str, Any]:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def shape(self, node, value: str) -> tuple:
        s = self.shapes.get(value)
        if s is None or None in s[1:]:
            raise _unsupported(node, f'reads "{value}" of unknown dimensions')
        if 0 in s[1:]:
            raise _unsupported(node, f'reads "{value}", which is empty (a dimension of size 0)')
        return s

    def const(self, node, value: str) -> np.ndarray | None:
        return self.consts.get(value) if value else None

    def node(self, node) -> None:
        if any(v in self.index for v in node.input):
            return self._on_indices(node, self.attrs(node))
        op = node.op_type
        handler = getattr(self, "op_" + op, None)
        if handler is None and op in UNARY:
            handler = self.unary
        if handler is None and op in BINARY:
            handler = self.binary
        if handler is None:
            raise _unsupported(node, "has no netdsl counterpart")
        live = [o for o in node.output if o]
        extra = [o for o in live[1:] if self.uses.get(o)]
        if op in RECURRENT and node.output[1:2] == extra[:1]:
            extra = extra[1:]       # Y_h: the last state, SequenceLastLayer of the states
        if extra and op != "Dropout":
            raise _unsupported(node, f'has a second output "{extra[0]}" netdsl does not compute')
        if extra:
            raise _unsupported(node, "has its mask output used; netdsl's DropoutLayer gives "
                                     "no mask")
        for v in list(node.input) + live[:1]:
            if v and v not in self.consts and self.types.get(v, FLOAT) != FLOAT:
                raise _unsupported(node, "computes on data that is not float32 (netdsl nets "
                                         "compute in float32)")
        handler(node, self.attrs(node))

    def layer(self, head: str, *args: Any, **options: Any) -> Expr:
        rules = [Expr(S("Rule"), k, _expr(v)) for k, v in options.items()]
        return Expr(S(head), *[_expr(a) for a in args], *rules)

    def unary(self, node, a) -> None:
        text = UNARY[node.op_type](a)
        self.emit(node, self.layer("ElementwiseLayer", _function(text)), [node.input[0]])

    def op_Identity(self, node, a) -> None:
        self.alias(node, node.input[0])

    def op_Dropout(self, node, a) -> None:
        ratio = a.get("ratio", 0.5)
        if len(node.input) > 1 and node.input[1]:
            r = self.const(node, node.input[1])
            if r is None:
                raise _unsupported(node, "has a ratio that is not a constant")
            ratio = float(r)
        if len(node.input) > 2 and node.input[2]:
            t = self.const(node, node.input[2])
            if t is None or bool(t):
                raise _unsupported(node, "runs in training mode")
        self.emit(node, self.layer("DropoutLayer", float(ratio)), [node.input[0]])

    def op_Clip(self, node, a) -> None:
        lo, hi = a.get("min"), a.get("max")
        for i, which in ((1, "min"), (2, "max")):
            if len(node.input) > i and node.input[i]:
                c = self.const(node, node.input[i])
                if c is None:
                    raise _unsupported(node, f"has a {which} bound that is not a constant")
                if which == "min":
                    lo = float(c)
                else:
                    hi = float(c)
        text = "#"
        if lo is not None:
            text = f"Max[{text}, {_num(lo)}]"
        if hi is not None:
            text = f"Min[{text}, {_num(hi)}]"
        self.emit(node, self.layer("ElementwiseLayer", _function(text + " &")), [node.input[0]])

    def binary(self, node, a) -> None:
        x, y = node.input[0], node.input[1]
        cx, cy = self.const(node, x), self.const(node, y)
        symbol, template = BINARY[node.op_type]
        if cx is not None and cy is not None:
            raise _unsupported(node, "computes only on constants")
        if cx is None and cy is None:
            self._threading(node, S(symbol), [x, y])
            return
        c, data = (cy, x) if cy is not None else (cx, y)
        assert c is not None
        if node.op_type == "Add" and cy is not None and self._fold_bias(node, x, cy):
            return
        if c.size != 1:
            raise _unsupported(node, f"combines data with a constant of dimensions "
                                     f"{list(c.shape)}; netdsl's elementwise layers take scalar "
                                     f"constants")
        k = _num(float(c.reshape(())))
        text = template.format(a="#", b=k) if cy is not None else template.format(a=k, b="#")
        self.emit(node, self.layer("ElementwiseLayer", _function(text + " &")), [data])

    def _fold_bias(self, node, x: str, c: np.ndarray) -> bool:
        """Add of a vector after MatMul: the linear layer's biases."""
        src = self.source.get(x)
        if src is None or src[0] != "layer" or self.uses.get(x) != 1:
            return False
        layer = self.layers[src[1]]
        if src[1] not in self.unbiased:
            return False
        n = int(layer.args[0])
        if c.size not in (1, n) or (c.ndim == 2 and c.shape[0] != 1) or c.ndim > 2:
            return False
        b = np.broadcast_to(c.reshape(-1), (n,)).astype(np.float32)
        new = Expr(S("LinearLayer"), *[r for r in layer.args
                                       if not (isinstance(r, Expr) and r.head is S("Rule")
                                               and r.args[0] == "Biases")],
                   Expr(S("Rule"), "Biases", b))
        self.layers[src[1]] = new
        self.unbiased.discard(src[1])
        self.source[node.output[0]] = src
        return True

    def op_Sum(self, node, a) -> None:
        self._variadic(node, "Plus")

    def op_Mean(self, node, a) -> None:
        n = len(node.input)
        if n == 1:
            return self.alias(node, node.input[0])
        body = " + ".join(f"#{i}" for i in range(1, n + 1))
        self._variadic(node, f"({body}) / {n} &")

    def _variadic(self, node, f: str) -> None:
        ins = list(node.input)
        if len(ins) == 1:
            return self.alias(node, ins[0])
        self._threading(node, S(f) if f.isalpha() else _function(f), ins)

    def _threading(self, node, fn: Any, ins: list[str]) -> None:
        """ThreadingLayer over inputs of one shape; an input with size 1 where another has
        n is first repeated n times along it (ReplicateLayer, then ReshapeLayer)."""
        shapes = [self.shape(node, v) for v in ins]
        r = len(shapes[0])
        if any(len(s) != r for s in shapes):
            raise _unsupported(node, f"broadcasts between inputs of ranks "
                                     f"{sorted({len(s) for s in shapes})}; netdsl's "
                                     f"ThreadingLayer takes inputs of one shape")
        target = []
        for i in range(1, r):
            sizes = {s[i] for s in shapes} - {1}
            if len(sizes) > 1:
                raise _unsupported(node, f"combines inputs of dimensions "
                                         f"{[list(s) for s in shapes]}, which do not broadcast")
            target.append(sizes.pop() if sizes else 1)
        sources = []
        for v, s in zip(ins, shapes):
            src = self._source(node, v)
            expand = [i for i in range(1, r) if s[i] == 1 and target[i - 1] != 1]
            rank = r - 1
            for k, level in enumerate(expand):   # a new dimension just after level + k
                layer = self.layer("ReplicateLayer", target[level - 1], level + k - rank - 1)
                name = self.add(node, layer, [], f"_repeat{level}")
                self.feeds[name] = [src]
                src = ("layer", name)
                rank += 1
            if expand:
                name = self.add(node, self.layer("ReshapeLayer", target), [], "_broadcast")
                self.feeds[name] = [src]
                src = ("layer", name)
            sources.append(src)
        name = self.add(node, self.layer("ThreadingLayer", fn), [])
        self.feeds[name] = sources
        self.source[node.output[0]] = ("layer", name)

    def op_Max(self, node, a) -> None:
        if len(node.input) == 2:
            return self.binary(node, a)
        self._variadic(node, "Max")

    def op_Min(self, node, a) -> None:
        if len(node.input) == 2:
            return self.binary(node, a)
        self._variadic(node, "Min")

    # ---- arrays
    def op_Conv(self, node, a) -> None:
        w = self.const(node, node.input[1])
        if w is None:
            raise _unsupported(node, "has weights that are not a constant")
        b = self.const(node, node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if len(node.input) > 2 and node.input[2] and b is None:
            raise _unsupported(node, "has biases that are not a constant")
        x = self.shape(node, node.input[0])
        d = w.ndim - 2
        if not 1 <= d <= 3:
            raise _unsupported(node, f"has {d} spatial dimensions; netdsl convolves over 1 to 3")
        kernel = tuple(w.shape[2:])
        stride = tuple(a.get("strides", (1,) * d))
        dilation = tuple(a.get("dilations", (1,) * d))
        pads = self._pads(node, a, x[2:], kernel, stride, dilation)
        opts: dict[str, Any] = {"Stride": list(stride), "Dilation": list(dilation),
                                "PaddingSize": [list(p) for p in pads],
                                "ChannelGroups": int(a.get("group", 1)),
                                "Weights": w.astype(np.float32)}
        opts["Biases"] = b.astype(np.float32) if b is not None else S("None")
        self.emit(node, self.layer("ConvolutionLayer", int(w.shape[0]), list(kernel), **opts),
                  [node.input[0]])

    def _pads(self, node, a, sizes, kernel, stride, dilation) -> list[tuple[int, int]]:
        d = len(kernel)
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            out = []
            for n, k, s, dl in zip(sizes, kernel, stride, dilation):
                total = max((math.ceil(n / s) - 1) * s + dl * (k - 1) + 1 - n, 0)
                small, big = total // 2, total - total // 2
                out.append((small, big) if auto == "SAME_UPPER" else (big, small))
            return out
        if auto == "VALID":
            return [(0, 0)] * d
        p = list(a.get("pads", [0] * (2 * d)))
        return [(int(p[i]), int(p[i + d])) for i in range(d)]

    def op_BatchNormalization(self, node, a) -> None:
        if a.get("training_mode", 0) or len([o for o in node.output if o]) > 1:
            raise _unsupported(node, "runs in training mode (it outputs batch statistics)")
        arrays = [self.const(node, v) for v in node.input[1:5]]
        if any(v is None for v in arrays):
            raise _unsupported(node, "has scale, bias, mean or variance that is not a constant")
        if len(self.shape(node, node.input[0])) < 2:
            raise _unsupported(node, "normalises data without a channel dimension")
        scale, bias, mean, var = (np.asarray(v, np.float32) for v in arrays)
        # ONNX's momentum is Wolfram's Momentum: running = running momentum + batch (1 - momentum)
        layer = self.layer("BatchNormalizationLayer", Epsilon=float(a.get("epsilon", 1e-5)),
                           Momentum=float(a.get("momentum", 0.9)), Scaling=scale, Biases=bias,
                           MovingMean=mean, MovingVariance=var)
        self.emit(node, layer, [node.input[0]])

    def op_Gemm(self, node, a) -> None:
        if a.get("transA", 0):
            raise _unsupported(node, "transposes its data input (transA), mixing the batch "
                                     "into the features")
        b = self.const(node, node.input[1])
        if b is None:
            raise _unsupported(node, "has a second matrix that is not a constant")
        c = self.const(node, node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if len(node.input) > 2 and node.input[2] and c is None:
            raise _unsupported(node, "has a bias that is not a constant")
        if len(self.shape(node, node.input[0])) != 2:
            raise _unsupported(node, "takes data that is not a matrix")
        w = float(a.get("alpha", 1.0)) * (b if a.get("transB", 0) else b.T)
        n = w.shape[0]
        opts: dict[str, Any] = {"Weights": w.astype(np.float32)}
        if c is not None:
            if c.ndim == 2 and c.shape[0] != 1 or c.size not in (1, n):
                raise _unsupported(node, f"adds a bias of dimensions {list(c.shape)} that "
                                         f"differs between examples")
            opts["Biases"] = (float(a.get("beta", 1.0))
                              * np.broadcast_to(c.reshape(-1), (n,))).astype(np.float32)
        else:
            opts["Biases"] = S("None")
        self.emit(node, self.layer("LinearLayer", n, **opts), [node.input[0]])

    def op_MatMul(self, node, a) -> None:
        w = self.const(node, node.input[1])
        if w is None or w.ndim != 2:
            raise _unsupported(node, "multiplies by something other than a constant matrix")
        if len(self.shape(node, node.input[0])) != 2:
            raise _unsupported(node, "multiplies data that is not a matrix (a batch of "
                                     "vectors)")
        layer = self.layer("LinearLayer", int(w.shape[1]), Weights=w.T.astype(np.float32),
                           Biases=S("None"))
        self.emit(node, layer, [node.input[0]])
        self.unbiased.add(self.source[node.output[0]][1])   # a following Add gives biases

    # ---- windows
    def _pool(self, node, a, function: str) -> None:
        x = self.shape(node, node.input[0])
        kernel = tuple(a["kernel_shape"])
        d = len(kernel)
        stride = tuple(a.get("strides", (1,) * d))
        if any(v != 1 for v in a.get("dilations", (1,) * d)):
            raise _unsupported(node, "has dilations; netdsl's PoolingLayer has none")
        pads = self._pads(node, a, x[2:], kernel, stride, (1,) * d)
        if a.get("ceil_mode", 0):
            for n, k, s, (b, e) in zip(x[2:], kernel, stride, pads):
                if (n + b + e - k) % s:
                    raise _unsupported(node, "rounds its output size up (ceil_mode); netdsl "
                                             "rounds down, as Wolfram")
        if function == "Mean" and not a.get("count_include_pad", 0) and \
                any(b or e for b, e in pads):
            raise _unsupported(node, "averages over windows excluding the padding; netdsl's "
                                     "Mean pooling counts padding as zeros")
        layer = self.layer("PoolingLayer", list(kernel), list(stride),
                           PaddingSize=[list(p) for p in pads], Function=S(function))
        self.emit(node, layer, [node.input[0]])

    def op_MaxPool(self, node, a) -> None:
        if a.get("storage_order", 0) and len(node.output) > 1:
            raise _unsupported(node, "outputs indices")
        self._pool(node, a, "Max")

    def op_AveragePool(self, node, a) -> None:
        self._pool(node, a, "Mean")

    def _global(self, node, function: str) -> None:
        x = self.shape(node, node.input[0])
        if len(x) < 3:
            raise _unsupported(node, "has no spatial dimensions")
        layer = self.layer("PoolingLayer", list(x[2:]), Function=S(function))
        self.emit(node, layer, [node.input[0]])

    def op_GlobalAveragePool(self, node, a) -> None:
        self._global(node, "Mean")

    def op_GlobalMaxPool(self, node, a) -> None:
        self._global(node, "Max")

    # ---- shapes
    def op_Flatten(self, node, a) -> None:
        x = self.shape(node, node.input[0])
        axis = a.get("axis", 1)
        axis = axis + len(x) if axis < 0 else axis
        if axis != 1:
            raise _unsupported(node, f"flattens at axis {axis}, merging the batch dimension "
                                     f"(netdsl flattens each example: axis 1)")
        if len(x) == 2:
            return self.alias(node, node.input[0])
        if len(x) == 1:     # a number per example becomes a vector of size 1
            return self.emit(node, self.layer("ReshapeLayer", [1]), [node.input[0]])
        self.emit(node, self.layer("FlattenLayer"), [node.input[0]])

    def op_Reshape(self, node, a) -> None:
        x = self.shape(node, node.input[0])
        target = self.const(node, node.input[1])
        if target is None:
            raise _unsupported(node, "has a shape that is not a constant")
        dims = [int(v) for v in target]
        if a.get("allowzero", 0) and 0 in dims:
            raise _unsupported(node, "gives a dimension of size 0")
        dims = [x[i] if v == 0 else v for i, v in enumerate(dims)]
        if None in x:
            x = (1,) + x[1:]      # the batch: any size, checked below to be kept
        try:
            out = np.empty(x, np.bool_).reshape(dims).shape
        except ValueError:
            raise _unsupported(node, f"cannot reshape {list(x)} to {dims}") from None
        if len(out) < 2 or out[0] != x[0] or (dims[0] == -1 and x[0] != 1):
            raise _unsupported(node, f"reshapes {list(x)} to {list(out)}, changing the batch "
                                     f"dimension")
        self.emit(node, self.layer("ReshapeLayer", list(out[1:])), [node.input[0]])

    def op_Softmax(self, node, a) -> None:
        x = self.shape(node, node.input[0])
        r = len(x)
        axis = a.get("axis", -1 if self.opset >= 13 else 1)
        axis = axis + r if axis < 0 else axis
        if axis == r - 1 and r >= 2:
            return self.emit(node, self.layer("SoftmaxLayer"), [node.input[0]])
        if self.opset >= 13 and 1 <= axis < r - 1:   # over one axis: example level ``axis``
            return self.emit(node, self.layer("SoftmaxLayer", axis), [node.input[0]])
        if self.opset < 13 and 1 <= axis < r - 1:
            # opsets 1-12: over all dimensions from axis on, as one flattened vector
            flat = self.add(node, self.layer("FlattenLayer", -(r - axis - 1)), [node.input[0]],
                            "_flatten")
            soft = self.add(node, self.layer("SoftmaxLayer"), [], "_softmax")
            self.feeds[soft] = [("layer", flat)]
            back = self.add(node, self.layer("ReshapeLayer", list(x[1:])), [], "_reshape")
            self.feeds[back] = [("layer", soft)]
            self.source[node.output[0]] = ("layer", back)
            return
        raise _unsupported(node, f"normalises over axis {axis} of a rank-{r} input; netdsl's "
                                 f"SoftmaxLayer normalises over the levels of an example")

    def op_Transpose(self, node, a) -> None:
        x = node.input[0]
        perm = list(a.get("perm", []))
        view = self.views.get(x)
        if view is not None:
            if view[0] != "time" or perm != [1, 0, 2]:
                raise _unsupported(node, f"reorders {view[0]}-layout recurrent data with perm "
                                         f"{perm}; netdsl follows only the swap back to "
                                         f"batch-first ([1, 0, 2])")
            self.source[node.output[0]] = view[1]
            return
        if perm == [1, 0, 2]:       # to time-major, for a recurrent operator
            self.views[node.output[0]] = ("time", self._source(node, x))
            return
        r = len(self.shape(node, x))
        perm = perm or list(range(r - 1, -1, -1))
        if perm[0] != 0:
            raise _unsupported(node, f"moves the batch dimension (perm {perm})")
        # ONNX: output axis i is input axis perm[i]; Wolfram's {n1, n2, ...}: input level k
        # goes to output level n_k
        levels = [0] * (r - 1)
        for out_axis, in_axis in enumerate(perm[1:], 1):
            levels[in_axis - 1] = out_axis
        self.emit(node, self.layer("TransposeLayer", levels), [node.input[0]])

    def _reduce(self, node, a, function: str) -> None:
        x = self.shape(node, node.input[0])
        r = len(x)
        axes = a.get("axes")
        if len(node.input) > 1 and node.input[1]:
            c = self.const(node, node.input[1])
            if c is None:
                raise _unsupported(node, "has axes that are not a constant")
            axes = [int(v) for v in c]
        if not axes:
            if a.get("noop_with_empty_axes", 0):
                return self.alias(node, node.input[0])
            axes = list(range(r))
        axes = sorted({v + r if v < 0 else v for v in axes})
        if 0 in axes:
            raise _unsupported(node, "reduces over the batch dimension")
        name = self.add(node, self.layer("AggregationLayer", S(function), axes),
                        [node.input[0]])
        if a.get("keepdims", 1):
            kept = [1 if i in axes else x[i] for i in range(1, r)]
            back = self.add(node, self.layer("ReshapeLayer", kept), [], "_keepdims")
            self.feeds[back] = [("layer", name)]
            name = back
        self.source[node.output[0]] = ("layer", name)

    def op_ReduceMean(self, node, a) -> None:
        self._reduce(node, a, "Mean")

    def op_ReduceSum(self, node, a) -> None:
        self._reduce(node, a, "Total")

    def op_ReduceMax(self, node, a) -> None:
        self._reduce(node, a, "Max")

    def op_ReduceMin(self, node, a) -> None:
        self._reduce(node, a, "Min")

    def op_PRelu(self, node, a) -> None:
        x = self.shape(node, node.input[0])
        slope = self.const(node, node.input[1])
        if slope is None:
            raise _unsupported(node, "has a slope that is not a constant")
        if self.opset < 7 and slope.ndim == 1 and len(x) > 2 and slope.size == x[1]:
            slope = slope.reshape((-1,) + (1,) * (len(x) - 2))   # opsets 1-6: per channel
        try:
            if slope.ndim == len(x):     # aligned with the batch too: the same for every example
                if slope.shape[0] != 1:
                    raise ValueError
                slope = slope[0]
            full = np.broadcast_to(slope, x[1:] or (1,)).astype(np.float32)
        except ValueError:
            raise _unsupported(node, f"has a slope of dimensions {list(slope.shape)} that "
                                     f"differs between examples") from None
        levels = make_list(list(range(1, full.ndim + 1)))     # a slope for every element
        self.emit(node, self.layer("ParametricRampLayer", levels,
                                   Slope=np.ascontiguousarray(full)), [node.input[0]])

    def op_LayerNormalization(self, node, a) -> None:
        x = self.shape(node, node.input[0])
        r = len(x)
        axis = a.get("axis", -1)
        axis = axis + r if axis < 0 else axis
        if axis == 0:
            raise _unsupported(node, "normalises over the batch dimension")
        if a.get("stash_type", 1) != 1:
            raise _unsupported(node, "computes in another precision than float32")
        dims = tuple(x[axis:])
        opts: dict[str, Any] = {"Epsilon": float(a.get("epsilon", 1e-5))}
        for i, array in ((1, "Scaling"), (2, "Biases")):
            if len(node.input) > i and node.input[i]:
                c = self.const(node, node.input[i])
                if c is None:
                    raise _unsupported(node, f"has {array.lower()} that is not a constant")
                opts[array] = np.ascontiguousarray(np.broadcast_to(c, dims), np.float32)
            else:
                opts[array] = np.full(dims, 1.0 if array == "Scaling" else 0.0, np.float32)
        levels = list(range(axis, r))
        self.emit(node, self.layer("NormalizationLayer", levels, "Same", **opts),
                  [node.input[0]])

    def op_Pad(self, node, a) -> None:
        x = self.shape(node, node.input[0])
        r = len(x)
        pads = a.get("pads")
        value = float(a.get("value", 0.0))
        if len(node.input) > 1 and node.input[1]:
            pads = self.const(node, node.input[1])
            if pads is None:
                raise _unsupported(node, "has pads that are not a constant")
        if len(node.input) > 2 and node.input[2]:
            c = self.const(node, node.input[2])
            if c is None:
                raise _unsupported(node, "has a padding value that is not a constant")
            value = float(c.reshape(-1)[0]) if c.size else 0.0
        axes = list(range(r))
        if len(node.input) > 3 and node.input[3]:
            c = self.const(node, node.input[3])
            if c is None:
                raise _unsupported(node, "has axes that are not a constant")
            axes = [int(v) + r if v < 0 else int(v) for v in c]
        pads = [int(v) for v in pads]
        k = len(axes)
        per_axis = {ax: (pads[i], pads[i + k]) for i, ax in enumerate(axes)}
        if any(b < 0 or e < 0 for b, e in per_axis.values()):
            raise _unsupported(node, "crops (negative pads)")
        if per_axis.get(0, (0, 0)) != (0, 0):
            raise _unsupported(node, "pads the batch dimension")
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        # ("reflect" would be "Reflected", whose PaddingLayer does not build yet in netdsl)
        method: Any = {"constant": value, "edge": "Fixed", "wrap": "Periodic"}.get(mode)
        if method is None:
            raise _unsupported(node, f'pads in mode "{mode}"')
        spec = [list(per_axis.get(ax, (0, 0))) for ax in range(1, r)]
        self.emit(node, self.layer("PaddingLayer", spec, method), [node.input[0]])

    def op_Concat(self, node, a) -> None:
        x = self.shape(node, node.input[0])
        axis = a["axis"] + len(x) if a["axis"] < 0 else a["axis"]
        if axis != 1 or len(x) < 2:
            raise _unsupported(node, f"joins along axis {axis}; netdsl's CatenateLayer joins "
                                     f"along the first dimension of each example (axis 1)")
        if len(node.input) == 1:
            return self.alias(node, node.input[0])
        self.emit(node, self.layer("CatenateLayer"), list(node.input))

    # ---- recurrent operators
    def op_Squeeze(self, node, a) -> None:
        """Only the direction axis of a recurrent operator's Y (1 for layout 0, 2 for
        layout 1)."""
        axes = a.get("axes")
        if len(node.input) > 1 and node.input[1]:
            c = self.const(node, node.input[1])
            axes = None if c is None else [int(v) for v in np.ravel(c)]
        view = self.views.get(node.input[0])
        if view is not None and view[0] == "H" and axes is not None and \
                [v % 3 for v in axes] == [0]:
            return self._last_state(node, view)
        if view is None or axes is None or [v % 4 for v in axes] != [1 if view[0] == "Y" else 2]:
            raise _unsupported(node, "removes dimensions other than a recurrent operator's "
                                     "direction axis")
        if view[0] == "Y":
            self.views[node.output[0]] = ("time", view[1])
        else:
            self.source[node.output[0]] = view[1]

    def op_LSTM(self, node, a) -> None:
        self._recurrent(node, a, "LongShortTermMemoryLayer",
                        ("InputGate", "OutputGate", "ForgetGate", "MemoryGate"))

    def op_GRU(self, node, a) -> None:
        if not a.get("linear_before_reset", 0):
            raise _unsupported(node, "applies its reset gate before the state's linear map "
                                     "(linear_before_reset = 0); Wolfram's GRU applies it after")
        self._recurrent(node, a, "GatedRecurrentLayer", ("InputGate", "ResetGate", "MemoryGate"))

    def op_RNN(self, node, a) -> None:
        self._recurrent(node, a, "BasicRecurrentLayer", ("",))

    def _recurrent(self, node, a, head: str, gates: tuple[str, ...]) -> None:
        """ONNX's gate order is Wolfram's LSTM order (i, o, f, c); its GRU's z is Wolfram's
        InputGate negated (ONNX keeps the old state where z is 1, Wolfram the new one).
        Wolfram has one bias per gate: ONNX's Wb + Rb, and for the GRU's candidate no bias
        inside r*(Wms.s): Rbh must be 0."""
        direction = a.get("direction", b"forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        if direction != "forward":
            raise _unsupported(node, f"runs {direction}; "
                                     f"netdsl's recurrent layers run forward (put a "
                                     f"SequenceReverseLayer before and after for the reverse)")
        defaults = {"RNN": [b"Tanh"], "GRU": [b"Sigmoid", b"Tanh"],
                    "LSTM": [b"Sigmoid", b"Tanh", b"Tanh"]}[node.op_type]
        acts = [x if isinstance(x, bytes) else str(x).encode() for x in a.get("activations", [])]
        if acts and [x.lower() for x in acts] != [x.lower() for x in defaults]:
            raise _unsupported(node, f"uses the activations {[x.decode() for x in acts]}; "
                                     f"Wolfram's layer uses {[x.decode() for x in defaults]}")
        if "clip" in a or a.get("input_forget", 0):
            raise _unsupported(node, "clips its cell or couples the input and forget gates")
        ins = list(node.input) + [""] * 8
        if ins[4]:
            raise _unsupported(node, "takes per-example sequence lengths (sequence_lens); "
                                     "netdsl runs each example on its whole sequence")
        for v, what in ((ins[5], "initial state"), (ins[6], "initial cell state"),
                        (ins[7], "peephole weights")):
            if v and v not in self.zeros and not (v in self.consts and not np.any(
                    self.consts[v])):
                raise _unsupported(node, f"takes a nonzero {what}; netdsl's recurrent layers "
                                         f"start from zero states")
        w, r = self.const(node, ins[1]), self.const(node, ins[2])
        if w is None or r is None or w.ndim != 3 or w.shape[0] != 1:
            raise _unsupported(node, "has weights that are not constants of one direction")
        g = len(gates)
        h = int(a.get("hidden_size", r.shape[-1]))
        b = self.const(node, ins[3]) if ins[3] else np.zeros((1, 2 * g * h), np.float32)
        if b is None:
            raise _unsupported(node, "has biases that are not a constant")
        wb, rb = b.reshape(2, g, h)
        if node.op_type == "GRU":
            if np.any(rb[2]):
                raise _unsupported(node, "has a bias inside its reset gate's product (Rbh, "
                                         "torch's b_hn); Wolfram's GRU has none")
        arrays: dict[str, Any] = {}
        for k, gate in enumerate(gates):
            sign = -1.0 if node.op_type == "GRU" and gate == "InputGate" else 1.0
            rows = slice(k * h, (k + 1) * h)
            arrays[f"{gate}InputWeights"] = sign * w[0, rows]
            arrays[f"{gate}StateWeights"] = sign * r[0, rows]
            arrays[f"{gate}Biases"] = sign * (wb[k] + rb[k])
        layout = a.get("layout", 0)
        x = ins[0]
        if layout:
            src = self._source(node, x)
        elif self.views.get(x, ("",))[0] == "time":
            src = self.views[x][1]
        else:
            raise _unsupported(node, "reads time-major data that is not a Transpose of "
                                     "batch-first data")
        arrays = {k: np.ascontiguousarray(v, np.float32) for k, v in arrays.items()}
        name = self.add(node, self.layer(head, h, **arrays), [])
        self.feeds[name] = [src]
        self.views[node.output[0]] = ("YB" if layout else "Y", ("layer", name))
        if len(node.output) > 1 and node.output[1]:
            self.views[node.output[1]] = ("H", ("layer", name))

    def _last_state(self, node, view) -> None:
        """Y_h without its direction axis: the last of the layer's states."""
        name = self.add(node, self.layer("SequenceLastLayer"), [])
        self.feeds[name] = [view[1]]
        self.source[node.output[0]] = ("layer", name)

    # ---- the sequence axis (axis 1)
    def _rank(self, node, value: str) -> int:
        shape = self.shapes.get(value)
        if shape is None:
            raise _unsupported(node, f'reads "{value}" of unknown rank')
        return len(shape)

    def op_Gather(self, node, a) -> None:
        """Data at one constant position of an example axis: the last element of the
        sequence axis is SequenceLastLayer, any other position a PartLayer."""
        x, idx = node.input[0], self.const(node, node.input[1])
        view = self.views.get(x)
        if view is not None and view[0] == "H" and idx is not None and np.ndim(idx) == 0 \
                and int(a.get("axis", 0)) == 0 and int(idx) in (0, -1):
            return self._last_state(node, view)
        if x in self.consts or idx is None or np.ndim(idx) != 0:
            raise _unsupported(node, "gathers other than one constant position of the data "
                                     "or rows of a constant table at an integer input's "
                                     "class indices (EmbeddingLayer)")
        r = self._rank(node, x)
        axis = int(a.get("axis", 0))
        axis = axis + r if axis < 0 else axis
        if axis == 0:
            raise _unsupported(node, "picks from the batch dimension")
        k = int(idx)
        if axis == 1 and k == -1:
            return self.emit(node, self.layer("SequenceLastLayer"), [x])
        dims = self.shape(node, x)
        k = k + 1 if k >= 0 else k                           # Wolfram's positions count from 1
        if not 1 <= abs(k) <= dims[axis]:
            raise _unsupported(node, f"picks position {int(idx)} of a dimension of size "
                                     f"{dims[axis]}")
        spec = [S("All")] * (axis - 1) + [k]
        self.emit(node, self.layer("PartLayer", spec), [x])

    def op_Slice(self, node, a) -> None:
        """Slices of the sequence axis netdsl has a layer for: 1 ;; (SequenceRestLayer),
        0 ;; -1 (SequenceMostLayer), and all of it backwards (SequenceReverseLayer)."""
        if len(node.input) > 1:
            parts = [self.const(node, v) if v else None for v in (list(node.input) + [""] * 5)[1:5]]
            if parts[0] is None or parts[1] is None or any(
                    v and p is None for v, p in zip(node.input[3:5], parts[2:])):
                raise _unsupported(node, "has starts, ends, axes or steps that are not constants")
            starts, ends = [int(v) for v in parts[0]], [int(v) for v in parts[1]]
            axes = [int(v) for v in parts[2]] if parts[2] is not None else list(range(len(starts)))
            steps = [int(v) for v in parts[3]] if parts[3] is not None else [1] * len(starts)
        else:
            starts, ends = list(a["starts"]), list(a["ends"])
            axes = list(a.get("axes", range(len(starts))))
            steps = [1] * len(starts)
        x = node.input[0]
        r = self._rank(node, x)
        big = 2 ** 62
        if len(axes) == 1 and axes[0] % r == 1:
            got = (starts[0], ends[0], steps[0])
            if got[0] == 1 and got[1] >= big and got[2] == 1:
                return self.emit(node, self.layer("SequenceRestLayer"), [x])
            if got[0] == 0 and got[1] == -1 and got[2] == 1:
                return self.emit(node, self.layer("SequenceMostLayer"), [x])
            if got[0] == -1 and got[1] <= -big and got[2] == -1:
                return self.emit(node, self.layer("SequenceReverseLayer"), [x])
        raise _unsupported(node, f"slices {starts} to {ends} (steps {steps}) on axes {axes}; "
                                 f"netdsl maps only dropping the first or last element of axis "
                                 f"1 or reversing it")


RECURRENT = ("LSTM", "GRU", "RNN")


def _fold_concat(xs, a):
    return np.concatenate(xs, axis=a.get("axis", 0))


def _fold_unsqueeze(xs, a):
    axes = [int(v) for v in np.ravel(xs[1])] if len(xs) > 1 else list(a["axes"])
    out = xs[0]
    for ax in sorted(v % (out.ndim + len(axes)) for v in axes):
        out = np.expand_dims(out, ax)
    return out


# operators on constants alone that the importer computes (netdsl's own exports build a
# recurrent operator's W, R, B from the per-gate arrays with Concat, Neg, Unsqueeze)
FOLD: dict[str, Callable[[list, dict], Any]] = {
    "Concat": _fold_concat, "Neg": lambda xs, a: -xs[0], "Unsqueeze": _fold_unsqueeze,
    "Identity": lambda xs, a: xs[0],
}


def _port(dims: tuple, classes: int | None = None) -> Any:
    """A port's example shape: "Real" for a number per example, else its dimensions; an
    unknown first dimension is a "Varying" length. ``classes``: class indices 1..classes
    (0: integers)."""
    dims = tuple("Varying" if i == 0 and d is None else d for i, d in enumerate(dims))
    if classes is not None:
        element = Expr(S("Restricted"), "Integer", classes) if classes else "Integer"
        return make_list([*dims, element]) if dims else element
    return "Real" if not dims else make_list(list(dims))


def _expr(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v
    if isinstance(v, (list, tuple)):
        return make_list([_expr(x) for x in v])
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v
