"""How each layer becomes ONNX nodes: the table ``EXPORTERS`` (layer name -> function).

Data in ONNX is batch-first and channel-first: a port of shape (d1, ..., dk) is a tensor
(N, d1, ..., dk) with a symbolic N. Each exporter receives the builder, the layer, its
path and the names of its input tensors (in port order), and returns the names of its
output tensors (in port order). The semantics are netdsl's, exactly:

- convolution and pooling: explicit pads (``"Same"`` resolved for the known input size,
  the extra element after, as netdsl), floor rounding (``ceil_mode`` 0), pooling's
  default stride 1; Mean pooling divides by the whole window, padding included
  (``count_include_pad`` 1); Total pooling is that mean times the window size;
- BatchNormalization in inference mode (the moving statistics), ONNX ``momentum`` =
  Wolfram's "Momentum" (the same convention: m <- Momentum m + (1 - Momentum) batch);
- LinearLayer: Flatten (for inputs of rank above 1) + Gemm with the weights transposed,
  then a Reshape for outputs of rank other than 1;
- SoftmaxLayer over the last axis (or its level); Dropout is the identity (Test mode);
- ElementwiseLayer and ThreadingLayer: their compiled function trees, node by node;
- the loss layers with their clipping of probabilities at 1*^-30;
- sequences {n, d..} are (N, n, d..) with n possibly symbolic ("Varying"): the recurrent
  layers are ONNX's LSTM/GRU/RNN operators with Wolfram's per-gate arrays stacked by
  Concat nodes (see ``recurrent``), the Sequence layers Gather/Slice on axis 1;
- CatenateLayer joins at its level, lower-rank inputs Expanded over the leading axes.

Other modules (ONNX import, tests) may read ``PRIMITIVE_OPS``/``NAMED`` below to map the
other way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..expr import Symbol
from ..layers.base import Layer
from ..layers.functions import SELU_ALPHA, SELU_SCALE
from ..layers.losses import P_MIN
from ..layers.spatial import per_dim, resolve_padding

S = Symbol

# one-argument primitives of netdsl's function trees that are one ONNX operator
PRIMITIVE_OPS = {"Ramp": "Relu", "Tanh": "Tanh", "LogisticSigmoid": "Sigmoid", "Exp": "Exp",
                 "Log": "Log", "Sqrt": "Sqrt", "Abs": "Abs", "Sin": "Sin", "Cos": "Cos",
                 "Erf": "Erf", "Tan": "Tan", "ArcSin": "Asin", "ArcCos": "Acos",
                 "ArcTan": "Atan", "Sinh": "Sinh", "Cosh": "Cosh", "ArcSinh": "Asinh",
                 "ArcCosh": "Acosh", "ArcTanh": "Atanh", "Floor": "Floor", "Ceiling": "Ceil",
                 "Round": "Round", "Sign": "Sign"}     # (Round: half to even in both)
# the tree's n-ary nodes
NARY_OPS = {"plus": "Add", "times": "Mul", "max": "Max", "min": "Min"}
# its comparisons (Unequal is Not of Equal); ONNX's tensor types Cast takes
COMPARE_OPS = {"Greater": "Greater", "Less": "Less", "GreaterEqual": "GreaterOrEqual",
               "LessEqual": "LessOrEqual", "Equal": "Equal", "Unequal": "Equal"}
FLOAT, BOOL = 1, 9


def _composite(b, name: str, x: str, scope: str) -> str:
    """One-argument primitives that are a few ONNX operators (KeyError: none)."""
    def op(kind: str, *ins: str) -> str:
        return b.node(kind, list(ins), scope)

    def c(v: float) -> str:
        return b.const(v, scope)
    reciprocal = {"Cot": "Tan", "Coth": "Tanh", "Csc": "Sin", "Csch": "Sinh", "Sec": "Cos",
                  "Sech": "Cosh"}
    of_reciprocal = {"ArcCot": "Atan", "ArcCoth": "Atanh", "ArcCsc": "Asin",
                     "ArcCsch": "Asinh", "ArcSec": "Acos", "ArcSech": "Acosh"}
    if name in reciprocal:
        return op("Reciprocal", op(reciprocal[name], x))
    if name in of_reciprocal:
        return op(of_reciprocal[name], op("Reciprocal", x))
    if name == "Log1p":
        return op("Log", op("Add", x, c(1.0)))
    if name == "Erfc":
        return op("Sub", c(1.0), op("Erf", x))
    if name == "Haversine":                        # (1 - Cos[x]) / 2
        return op("Mul", op("Sub", c(1.0), op("Cos", x)), c(0.5))
    if name == "InverseHaversine":                 # 2 ArcSin[Sqrt[x]]
        return op("Mul", op("Asin", op("Sqrt", x)), c(2.0))
    if name == "Gudermannian":                     # 2 ArcTan[Tanh[x/2]]
        return op("Mul", op("Atan", op("Tanh", op("Mul", x, c(0.5)))), c(2.0))
    if name == "InverseGudermannian":              # 2 ArcTanh[Tan[x/2]]
        return op("Mul", op("Atanh", op("Tan", op("Mul", x, c(0.5)))), c(2.0))
    if name == "CubeRoot":                         # Sign[x] Abs[x]^(1/3)
        return op("Mul", op("Sign", x), op("Pow", op("Abs", x), c(1 / 3)))
    if name in ("IntegerPart", "FractionalPart"):  # Sign[x] Floor[Abs[x]]; x minus it
        whole = op("Mul", op("Sign", x), op("Floor", op("Abs", x)))
        return whole if name == "IntegerPart" else op("Sub", x, whole)
    raise KeyError(name)


class ExportError(EvaluationError):
    """A net (or a layer in it) that ONNX cannot express."""


def unsupported(layer: Layer, where: str, why: str) -> ExportError:
    return ExportError(f"{layer.name}{where} cannot be exported to ONNX: {why}.",
                       symbol="Export", tag="onnxnosup")


# ---------------------------------------------------------------- function trees
def _named(b, x: str, name: str, scope: str) -> str:
    """Wolfram's named activation functions (ElementwiseLayer["ELU"], ...)."""
    if name in ("ReLU", "RectifiedLinearUnit"):
        return b.node("Relu", [x], scope)
    if name == "Sigmoid":
        return b.node("Sigmoid", [x], scope)
    if name == "ExponentialLinearUnit":
        return b.node("Elu", [x], scope, alpha=1.0)
    if name == "ScaledExponentialLinearUnit":
        return b.node("Selu", [x], scope, alpha=SELU_ALPHA, gamma=SELU_SCALE)
    if name == "GaussianErrorLinearUnit":       # 0.5 x (1 + Erf[x / Sqrt[2]])
        e = b.node("Erf", [b.node("Mul", [x, b.const(1 / math.sqrt(2), scope)], scope)], scope)
        half = b.node("Mul", [x, b.const(0.5, scope)], scope)
        return b.node("Mul", [half, b.node("Add", [e, b.const(1.0, scope)], scope)], scope)
    if name == "Swish":
        return b.node("Mul", [x, b.node("Sigmoid", [x], scope)], scope)
    if name == "HardSwish":      # x Clip[x + 3, {0, 6}] / 6 = x HardSigmoid(x; 1/6, 1/2)
        return b.node("Mul", [x, b.node("HardSigmoid", [x], scope, alpha=1 / 6, beta=0.5)],
                      scope)
    if name == "Mish":
        return b.node("Mul", [x, b.node("Tanh", [b.node("Softplus", [x], scope)], scope)], scope)
    if name == "SoftSign":
        return b.node("Softsign", [x], scope)
    if name == "SoftPlus":
        return b.node("Softplus", [x], scope)
    if name == "HardTanh":
        return b.node("Clip", [x, b.const(-1.0, scope), b.const(1.0, scope)], scope)
    if name == "HardSigmoid":                    # Clip[(x + 1)/2, {0, 1}]
        return b.node("HardSigmoid", [x], scope, alpha=0.5, beta=0.5)
    raise KeyError(name)


def tree_nodes(b, tree: tuple, xs: list[str], scope: str) -> str:
    """ONNX nodes computing netdsl's function tree on the tensors ``xs``; the result's name."""
    kind = tree[0]
    if kind == "var":
        return xs[tree[1]]
    if kind == "const":
        return b.const(tree[1], scope)
    if kind == "prim":
        op = PRIMITIVE_OPS.get(tree[1])
        if op is None:
            return _composite(b, tree[1], tree_nodes(b, tree[2], xs, scope), scope)
        return b.node(op, [tree_nodes(b, tree[2], xs, scope)], scope)
    if kind == "cmp":                # 1.0 where it holds, else 0.0
        a, c = (tree_nodes(b, t, xs, scope) for t in tree[2:])
        truth = b.node(COMPARE_OPS[tree[1]], [a, c], scope)
        if tree[1] == "Unequal":
            truth = b.node("Not", [truth], scope)
        return b.node("Cast", [truth], scope, to=FLOAT)
    if kind == "if":
        c, yes, no = (tree_nodes(b, t, xs, scope) for t in tree[1:])
        return b.node("Where", [b.node("Cast", [c], scope, to=BOOL), yes, no], scope)
    if kind in ("and", "or", "not"):
        truths = [b.node("Cast", [tree_nodes(b, t, xs, scope)], scope, to=BOOL)
                  for t in tree[1:]]
        out = truths[0]
        for t in truths[1:]:
            out = b.node("And" if kind == "and" else "Or", [out, t], scope)
        if kind == "not":
            out = b.node("Not", [out], scope)
        return b.node("Cast", [out], scope, to=FLOAT)
    if kind == "named":
        return _named(b, tree_nodes(b, tree[2], xs, scope), tree[1], scope)
    if kind == "binary":
        raise KeyError(f"{tree[1]}[x, y]")
    if kind == "power":
        return b.node("Pow", [tree_nodes(b, tree[1], xs, scope),
                              tree_nodes(b, tree[2], xs, scope)], scope)
    if kind in NARY_OPS:
        args = [tree_nodes(b, t, xs, scope) for t in tree[1:]]
        if kind in ("max", "min"):
            if len(args) == 1:
                return args[0]
            return b.node(NARY_OPS[kind], args, scope)
        out = args[0]
        for a in args[1:]:           # left to right, as netdsl adds and multiplies
            out = b.node(NARY_OPS[kind], [out, a], scope)
        return out
    raise KeyError(kind)


def _function(b, layer: Layer, scope: str, where: str, xs: list[str]) -> list[str]:
    program = layer.values["Function"]
    try:
        y = tree_nodes(b, program.tree, xs, scope)
    except KeyError as e:
        raise unsupported(layer, where, f"the function {e.args[0]} has no ONNX counterpart") \
            from None
    if y in xs:                      # f = # &: a copy, so the output has its own name
        y = b.node("Identity", [y], scope)
    if not _depends_on_input(program.tree):   # a constant function: broadcast to the input
        y = b.node("Add", [b.node("Mul", [xs[0], b.const(0.0, scope)], scope), y], scope)
    return [y]


def _depends_on_input(tree: tuple) -> bool:
    if tree[0] == "var":
        return True
    return any(isinstance(t, tuple) and _depends_on_input(t) for t in tree[1:])


# ---------------------------------------------------------------- layers
def _window_attrs(layer: Layer, xshape: tuple) -> dict[str, Any]:
    v = layer.values
    d = len(xshape) - 1
    kernel = per_dim(v["KernelSize"], d, "KernelSize")
    stride = per_dim(v.get("Stride", 1), d, "Stride")
    dilation = per_dim(v.get("Dilation", 1) or 1, d, "Dilation")
    pads = resolve_padding(v.get("PaddingSize", 0), d, tuple(xshape[1:]), kernel, stride,
                           dilation)
    return {"kernel_shape": list(kernel), "strides": list(stride),
            "dilations": list(dilation),
            "pads": [p[0] for p in pads] + [p[1] for p in pads]}


def convolution(b, layer, scope, where, xs):
    attrs = _window_attrs(layer, layer.ports["Input"].shape)
    inputs = [xs[0], b.array(layer, "Weights")]
    if b.has_array(layer, "Biases"):
        inputs.append(b.array(layer, "Biases"))
    return [b.node("Conv", inputs, scope, group=layer.values.get("ChannelGroups") or 1,
                   **attrs)]


def pooling(b, layer, scope, where, xs):
    attrs = _window_attrs(layer, layer.ports["Input"].shape)
    del attrs["dilations"]           # always 1 for pooling; not an AveragePool attribute
    fn = layer.values["Function"]
    if fn is S("Max"):
        return [b.node("MaxPool", [xs[0]], scope, ceil_mode=0, **attrs)]
    y = b.node("AveragePool", [xs[0]], scope, ceil_mode=0, count_include_pad=1, **attrs)
    if fn is S("Total"):
        y = b.node("Mul", [y, b.const(float(np.prod(attrs["kernel_shape"])), scope)], scope)
    return [y]


def batch_normalization(b, layer, scope, where, xs):
    x = xs[0]
    rank = len(layer.ports["Input"].shape)
    if rank == 0:
        raise unsupported(layer, where, "its input is a scalar")
    return [b.node("BatchNormalization",
                   [x] + [b.array(layer, n) for n in ("Scaling", "Biases", "MovingMean",
                                                      "MovingVariance")],
                   scope, epsilon=float(layer.values["Epsilon"]),
                   momentum=float(layer.values["Momentum"]))]


def linear(b, layer, scope, where, xs):
    x = xs[0]
    if len(layer.ports["Input"].shape) != 1:
        x = b.node("Flatten", [x], scope, axis=1)
    inputs = [x, b.array(layer, "Weights")]
    if b.has_array(layer, "Biases"):
        inputs.append(b.array(layer, "Biases"))
    y = b.node("Gemm", inputs, scope, transB=1)
    out = layer.ports["Output"].shape
    if len(out) != 1:
        y = b.reshape(y, out, scope)
    return [y]


def softmax(b, layer, scope, where, xs):
    # level n of an example is axis n of the batch-first tensor; negative levels count
    # from the end in both
    return [b.node("Softmax", xs, scope, axis=int(layer.values.get("Level", -1)))]


def reshape_like_output(b, layer, scope, where, xs):
    return [b.reshape(xs[0], layer.ports["Output"].shape, scope)]


def dropout(b, layer, scope, where, xs):
    """Test mode: the input unchanged (either Method); a "BinaryMask" port is all ones."""
    outs = []
    for port in layer.port_names()[1]:
        if port == "BinaryMask":
            shape = b.node("Shape", xs, scope)
            one = b.helper.make_tensor("one", b.onnx.TensorProto.FLOAT, [1], [1.0])
            outs.append(b.node("ConstantOfShape", [shape], scope, value=one))
        else:
            outs.append(b.node("Identity", xs, scope))
    return outs


def catenate(b, layer, scope, where, xs):
    """Concat at the layer's level (an axis of the batch-first tensor); an input of lower
    rank is first Expanded over the leading axes it lacks (read from a highest-rank input's
    Shape, so "Varying" lengths stay symbolic)."""
    ranks = [len(layer.ports[p].shape) for p in layer.port_names()[0]]
    r = max(ranks)
    axis = layer._level_index(None, ranks) + 1
    top = xs[ranks.index(r)]
    parts = []
    for x, k in zip(xs, ranks):
        if k < r:
            x = b.node("Unsqueeze", [x, b.const(list(range(1, 1 + r - k)), scope, np.int64)],
                       scope)
            lead = slice_axis(b, b.node("Shape", [top], scope), 0, 1 + r - k, 0, 1, scope)
            shape = b.node("Concat", [lead, b.const([1] * k, scope, np.int64)], scope, axis=0)
            x = b.node("Expand", [x, shape], scope)
        parts.append(x)
    return [b.node("Concat", parts, scope, axis=axis)]


def total(b, layer, scope, where, xs):
    return [b.node("Sum", xs, scope)]


def summation(b, layer, scope, where, xs):
    rank = len(layer.ports["Input"].shape)
    if rank == 0:
        return [b.node("Identity", xs, scope)]
    return [b.reduce("ReduceSum", xs[0], list(range(1, rank + 1)), scope)]


def mean_squared_loss(b, layer, scope, where, xs):
    d = b.node("Sub", xs, scope)
    sq = b.node("Mul", [d, d], scope)
    return [b.mean_per_example(sq, len(layer.ports["Input"].shape), scope)]


def _unsqueezed_element(b, scope, e):
    return b.node("Unsqueeze", [e, b.const([1], scope, np.int64)], scope)


def append_element(b, layer, scope, where, xs):
    """AppendLayer: the element Unsqueezed at the length axis, Concat after the input."""
    return [b.node("Concat", [xs[0], _unsqueezed_element(b, scope, xs[1])], scope, axis=1)]


def prepend_element(b, layer, scope, where, xs):
    """PrependLayer: as AppendLayer, the element first."""
    return [b.node("Concat", [_unsqueezed_element(b, scope, xs[1]), xs[0]], scope, axis=1)]


def ordering(b, layer, scope, where, xs):
    """TopK of every element, smallest first (ONNX puts equal elements in input order, as
    Ordering), its indices plus 1; the first or last n of them Sliced."""
    x = xs[0]
    k = slice_axis(b, b.node("Shape", [x], scope), 1, 2, 0, 1, scope)      # [l]
    out = b.fresh(scope, "TopK")
    b.nodes.append(b.helper.make_node("TopK", [x, k], [b.fresh(scope, "values"), out],
                                      name=out, axis=1, largest=0, sorted=1))
    n = layer.values["Elements"]
    if n != "All":
        out = slice_axis(b, out, 0 if n > 0 else n, n if n > 0 else INT64_MAX, 1, 1, scope)
    return [b.node("Add", [out, b.const(1, scope, np.int64)], scope)]


def mean_absolute_loss(b, layer, scope, where, xs):
    d = b.node("Abs", [b.node("Sub", xs, scope)], scope)
    return [b.mean_per_example(d, len(layer.ports["Input"].shape), scope)]


def local_response_normalization(b, layer, scope, where, xs):
    """ONNX's LRN is Wolfram's formula: size 2 c + 1, alpha divided by size, cut edges."""
    v = layer.values
    return [b.node("LRN", xs, scope, size=2 * v["ChannelWindowSize"] + 1,
                   alpha=float(v["Alpha"]), beta=float(v["Beta"]), bias=float(v["Bias"]))]


def contrastive_loss(b, layer, scope, where, xs):
    """(1 - t) x + t Relu[margin - x]."""
    x, t = xs
    hinge = b.node("Relu", [b.node("Sub", [b.const(float(layer.values["Margin"]), scope), x],
                                   scope)], scope)
    near = b.node("Mul", [b.node("Sub", [b.const(1.0, scope), t], scope), x], scope)
    return [b.node("Add", [near, b.node("Mul", [t, hinge], scope)], scope)]


def cross_entropy_loss(b, layer, scope, where, xs):
    form = layer.values["TargetForm"]
    x, t = xs
    rank = len(layer.ports["Input"].shape)

    def log_clipped(p: str) -> str:          # Log[Max[p, 1*^-30]], as netdsl's loss
        return b.node("Log", [b.node("Max", [p, b.const(P_MIN, scope)], scope)], scope)

    if form == "Index":
        idx = b.node("Sub", [b.node("Cast", [t], scope, to=7), b.const(1, scope, np.int64)],
                     scope)
        idx = b.node("Unsqueeze", [idx, b.const([-1], scope, np.int64)], scope)
        p = b.node("GatherElements", [x, idx], scope, axis=rank)   # the class axis
        p = b.node("Squeeze", [p, b.const([-1], scope, np.int64)], scope)
        nll = b.node("Neg", [log_clipped(p)], scope)
        return [b.mean_per_example(nll, rank - 1, scope)]
    if form == "Probabilities":
        tl = b.node("Mul", [t, log_clipped(x)], scope)
        s = b.reduce("ReduceSum", tl, [rank], scope)        # over the classes (last axis)
        return [b.node("Neg", [b.mean_per_example(s, rank - 1, scope)], scope)]
    one_minus = b.node("Sub", [b.const(1.0, scope), x], scope)
    t1 = b.node("Sub", [b.const(1.0, scope), t], scope)
    s = b.node("Add", [b.node("Mul", [t, log_clipped(x)], scope),
                       b.node("Mul", [t1, log_clipped(one_minus)], scope)], scope)
    return [b.node("Neg", [b.mean_per_example(s, rank, scope)], scope)]


def ctc_loss(b, layer, scope, where, xs):
    """ONNX has no CTC operator (its alpha recursion would need a Loop): a clear error."""
    raise unsupported(layer, where, "ONNX has no connectionist temporal classification "
                      "operator; export the net without the loss (NetTake up to the layer "
                      "before it), or convert it to PyTorch (netdsl.torch.to_torch)")


def elementwise(b, layer, scope, where, xs):
    return _function(b, layer, scope, where, xs)


def threading(b, layer, scope, where, xs):
    """ThreadingLayer: a lower-rank input is Unsqueezed to the output's rank first (size 1
    at the levels it lacks, as netdsl views it); ONNX's broadcasting does the rest."""
    ranks = [len(layer.ports[p].shape) for p in layer.port_names()[0]]
    xs = list(xs)
    if len(set(ranks)) > 1:
        for i, lv in enumerate(layer.output_levels(ranks)):
            axes = [1 + level for level in range(max(ranks)) if level not in lv]
            if axes:
                xs[i] = b.node("Unsqueeze", [xs[i], b.const(axes, scope, np.int64)], scope)
    return _function(b, layer, scope, where, xs)


def _input_shaped(b, layer, name: str, scope: str) -> str:
    """A learned array of the input's dimensions ({1} for a scalar input): broadcasts over
    the batch axis as it is."""
    return b.array(layer, name)


def constant_times(b, layer, scope, where, xs):
    return [b.node("Mul", [xs[0], _input_shaped(b, layer, "Scaling", scope)], scope)]


def constant_plus(b, layer, scope, where, xs):
    return [b.node("Add", [xs[0], _input_shaped(b, layer, "Biases", scope)], scope)]


def parametric_ramp(b, layer, scope, where, xs):
    """PRelu with the slope viewed at the example's rank (size 1 on the levels it is
    shared over), which ONNX broadcasts from the right against (N, d1, ...)."""
    levels = layer.values["Levels"]
    rank = len(layer.ports["Input"].shape or ())
    view = [layer.array_shapes()["Slope"][levels.index(i + 1)] if i + 1 in levels else 1
            for i in range(rank)] or [1]
    slope = b.node("Reshape", [b.array(layer, "Slope"), b.const(view, scope, np.int64)], scope)
    return [b.node("PRelu", [xs[0], slope], scope)]


def transpose(b, layer, scope, where, xs):
    from ..layers.transpose import axis_order
    order = axis_order(layer.values["Specification"], len(layer.ports["Input"].shape))
    return [b.node("Transpose", xs, scope, perm=[0] + [1 + i for i in order])]


def embedding(b, layer, scope, where, xs):
    """Indices 1..n pick rows of "Weights" {n, size}: Gather of index - 1."""
    idx = b.node("Sub", [b.node("Cast", xs, scope, to=7), b.const(1, scope, np.int64)], scope)
    return [b.node("Gather", [b.array(layer, "Weights"), idx], scope, axis=0)]


def deconvolution(b, layer, scope, where, xs):
    """ConvTranspose: Wolfram's weights {in, out/groups, k..} are ONNX's layout; each output
    size is Stride (n - 1) + k - padding, the padding cropped from the output."""
    v = layer.values
    x = layer.ports["Input"].shape
    d = len(x) - 1
    kernel = per_dim(v["KernelSize"], d, "KernelSize")
    stride = per_dim(v.get("Stride", 1), d, "Stride")
    pads = resolve_padding(v.get("PaddingSize", 0), d, tuple(x[1:]), kernel, stride, (1,) * d)
    inputs = [xs[0], b.array(layer, "Weights")]
    if b.has_array(layer, "Biases"):
        inputs.append(b.array(layer, "Biases"))
    return [b.node("ConvTranspose", inputs, scope, kernel_shape=list(kernel),
                   strides=list(stride), pads=[p[0] for p in pads] + [p[1] for p in pads],
                   group=v.get("ChannelGroups") or 1)]


AGGREGATE_OPS = {"Total": "ReduceSum", "Mean": "ReduceMean", "Max": "ReduceMax",
                 "Min": "ReduceMin"}


def aggregation(b, layer, scope, where, xs):
    from ..layers.levels import level_set
    levels = level_set(layer.values["Levels"], len(layer.ports["Input"].shape))
    op = AGGREGATE_OPS[layer.values["Function"].name]
    return [b.reduce(op, xs[0], list(levels), scope)]   # level n is axis n, batch first


def replicate(b, layer, scope, where, xs):
    """Unit axes inserted at the layer's level, then expanded to the output's dimensions."""
    rank = len(layer.ports["Input"].shape)
    level = layer.values["Level"]
    p = level - 1 if level > 0 else rank + level + 1            # as an example axis
    k = len(layer.values["Specification"])
    x = b.node("Unsqueeze", [xs[0], b.const(list(range(p + 1, p + 1 + k)), scope, np.int64)],
               scope)
    # 1 broadcasts: to the batch, and to a "Varying" length (the input's own)
    out = [1, *(d if isinstance(d, int) else 1 for d in layer.ports["Output"].shape)]
    return [b.node("Expand", [x, b.const(out, scope, np.int64)], scope)]


def dot(b, layer, scope, where, xs):
    """Per example: the last level of a with the first of b, as (A, K) . (K, B) matrices."""
    ashape, bshape = (layer.ports[p].shape for p in layer.port_names()[0])
    k = ashape[-1]
    a3 = b.node("Reshape", [xs[0], b.const([0, -1, k], scope, np.int64)], scope)
    b3 = b.node("Reshape", [xs[1], b.const([0, k, -1], scope, np.int64)], scope)
    return [b.reshape(b.node("MatMul", [a3, b3], scope), layer.ports["Output"].shape, scope)]


PAD_MODES = {"Fixed": "edge", "Reflected": "reflect", "Periodic": "wrap"}
INT64_MIN = -2 ** 63


def slice_axis(b, x: str, start: int, end: int, axis: int, step: int, scope: str) -> str:
    ints = [b.const([v], scope, np.int64) for v in (start, end, axis, step)]
    return b.node("Slice", [x, *ints], scope)


def _reversed_padding(b, x: str, spec: list, shape: tuple, scope: str) -> str:
    """"Reversed" (NumPy's "symmetric": mirrored, the edge repeated): per level, the first
    b elements and the last a, each read backwards (Slice with step -1), around the input
    (Concat); level by level as NumPy pads, so corners come from the padded levels."""
    for level, ((before, after), n) in enumerate(zip(spec, shape), 1):
        parts = []
        if before:
            parts.append(slice_axis(b, x, before - 1, INT64_MIN, level, -1, scope))
        parts.append(x)
        if after:
            parts.append(slice_axis(b, x, n - 1, n - after - 1 if after < n else INT64_MIN,
                                level, -1, scope))
        if len(parts) > 1:
            x = b.node("Concat", parts, scope, axis=level)
    return x


def padding(b, layer, scope, where, xs):
    """Pad with explicit pads (none on the batch axis): a number, or "Fixed" (edge),
    "Reflected" (reflect), "Periodic" (wrap, opset 19 on); "Reversed" by slices."""
    rank = len(layer.ports["Input"].shape)
    spec = list(layer.values["Specification"]) + [(0, 0)] * rank
    spec = spec[:rank]
    pads = b.const([0] + [p[0] for p in spec] + [0] + [p[1] for p in spec], scope, np.int64)
    method = layer.values["Padding"]
    if isinstance(method, float):
        return [b.node("Pad", [xs[0], pads, b.const(method, scope)], scope, mode="constant")]
    if method == "Reversed":
        return [_reversed_padding(b, xs[0], spec, layer.ports["Input"].shape, scope)]
    mode = PAD_MODES.get(method)
    if mode is None or mode == "wrap" and b.opset < 19:
        why = "ONNX has no such padding" if mode is None else "it needs OperatorSetVersion 19"
        raise unsupported(layer, where, f'"Padding" -> "{method}": {why}')
    return [b.node("Pad", [xs[0], pads], scope, mode=mode)]


def normalization(b, layer, scope, where, xs):
    """(x - mean) / Sqrt[variance + Epsilon] over the aggregation levels (biased variance),
    then times "Scaling" and plus "Biases" spanning the scaling levels."""
    rank = len(layer.ports["Input"].shape)
    agg, scale = layer.levels(rank)
    axes = list(agg)                                   # level n is axis n, batch first
    x = xs[0]
    xc = b.node("Sub", [x, b.reduce("ReduceMean", x, axes, scope, keepdims=1)], scope)
    var = b.reduce("ReduceMean", b.node("Mul", [xc, xc], scope), axes, scope, keepdims=1)
    std = b.node("Sqrt", [b.node("Add", [var, b.const(float(layer.values["Epsilon"]), scope)],
                                 scope)], scope)
    y = b.node("Mul", [xc, b.node("Reciprocal", [std], scope)], scope)
    shape = [1] + [d if i + 1 in scale else 1 for i, d in enumerate(layer.ports["Input"].shape)]
    for name, op in (("Scaling", "Mul"), ("Biases", "Add")):
        if b.has_array(layer, name):
            a = b.node("Reshape", [b.array(layer, name), b.const(shape, scope, np.int64)], scope)
            y = b.node(op, [y, a], scope)
    return [y]


def constant_array(b, layer, scope, where, xs):
    """The array repeated along the batch axis: Expand to {N, 1, ...}, N read from the
    net's first input (a net without inputs has no batch size in ONNX)."""
    ins = b.root.port_names()[0]
    if not ins:
        raise unsupported(layer, where, "a net without inputs has no batch size in ONNX")
    dims = layer.ports["Output"].shape
    n = slice_axis(b, b.node("Shape", [ins[0]], scope), 0, 1, 0, 1, scope)
    shape = b.node("Concat", [n, b.const([1] * len(dims), scope, np.int64)], scope, axis=0)
    arr = b.node("Unsqueeze", [b.array(layer, "Array"), b.const([0], scope, np.int64)], scope)
    return [b.node("Expand", [arr, shape], scope)]


def part(b, layer, scope, where, xs):
    """Wolfram's Part per level: an integer is a Gather of one position (the level goes),
    a span a Slice, a list of positions a Gather of them; All keeps the level."""
    from ..layers.part import _position, _span_range

    def position(k: int, n: Any) -> int:   # a "Varying" level: ONNX counts k < 0 from the end
        return _position(k, n) if isinstance(n, int) else k - 1 if k > 0 else k
    x, axis = xs[0], 1
    for op, n in zip(layer.values["Specification"], layer.ports["Input"].shape):
        if op[0] == "int":
            x = b.node("Gather", [x, b.const(position(op[1], n), scope, np.int64)], scope,
                       axis=axis)
            continue
        if op[0] == "list":
            idx = [position(k, n) for k in op[1]]
            x = b.node("Gather", [x, b.const(idx, scope, np.int64)], scope, axis=axis)
        elif op[0] == "span" and isinstance(n, int):
            r = _span_range(op, n)
            x = slice_axis(b, x, r.start, r.stop, axis, r.step, scope)
        elif op[0] == "span":
            end = INT64_MAX if op[2] is None or op[2] == -1 else \
                op[2] if op[2] > 0 else op[2] + 1
            x = slice_axis(b, x, position(op[1], n), end, axis, op[3], scope)
        axis += 1
    return [x]


def extract(b, layer, scope, where, xs):
    """GatherND with batch_dims 1: each example's positions {i1, ..., is} (a single integer
    as {i}) made 0-based (a negative position is left as it is: GatherND counts it from
    the end). Out-of-range positions are not checked in ONNX."""
    pos = b.node("Cast", [xs[1]], scope, to=b.onnx.TensorProto.INT64)
    if not layer.ports["Position"].shape:
        pos = b.node("Unsqueeze", [pos, b.const([1], scope, np.int64)], scope)
    one = b.const(1, scope, np.int64)
    positive = b.node("Greater", [pos, b.const(0, scope, np.int64)], scope)
    pos = b.node("Where", [positive, b.node("Sub", [pos, one], scope), pos], scope)
    return [b.node("GatherND", [xs[0], pos], scope, batch_dims=1)]


def random_array(b, layer, scope, where, xs):
    """NormalDistribution and UniformDistribution: mean + sd RandomNormalLike, min + (max -
    min) RandomUniformLike, of the output's shape (a net input gives the batch size)."""
    spec = layer.values["Distribution"]
    if spec.family not in ("NormalDistribution", "UniformDistribution"):
        raise unsupported(layer, where, f"ONNX draws only from NormalDistribution and "
                                        f"UniformDistribution, not {spec.family}")
    if xs:
        try:
            ps = [b.const(p, scope) if isinstance(p, float) else tree_nodes(b, p.tree, xs, scope)
                  for p in spec.params]
        except KeyError as e:
            raise unsupported(layer, where, f"the function {e.args[0]} has no ONNX "
                                            f"counterpart") from None
        like = b.node("Mul", [xs[0], b.const(0.0, scope)], scope)
    else:
        ins = b.root.port_names()[0]
        if not ins:
            raise unsupported(layer, where, "a net without inputs has no batch size in ONNX")
        n = slice_axis(b, b.node("Shape", [ins[0]], scope), 0, 1, 0, 1, scope)
        dims = b.const(list(layer.ports["Output"].shape or ()), scope, np.int64)
        shape = b.node("Concat", [n, dims], scope, axis=0)
        zero = b.helper.make_tensor("zero", b.onnx.TensorProto.FLOAT, [1], [0.0])
        like = b.node("ConstantOfShape", [shape], scope, value=zero)
        ps = [b.const(p, scope) for p in spec.params]
    if spec.family == "NormalDistribution":
        eps = b.node("RandomNormalLike", [like], scope)
        y = b.node("Add", [ps[0], b.node("Mul", [ps[1], eps], scope)], scope)
    else:
        u = b.node("RandomUniformLike", [like], scope)
        width = b.node("Sub", [ps[1], ps[0]], scope)
        y = b.node("Add", [ps[0], b.node("Mul", [width, u], scope)], scope)
    return [b.node("Add", [like, y], scope)]     # (the output's full shape)


def resize(b, layer, scope, where, xs):
    """Per resized level, a MatMul with netdsl's own interpolation matrix (m, n): the same
    sums as the executor, "Linear" (corners aligned) and "Nearest" alike."""
    x = xs[0]
    shape = layer.ports["Input"].shape
    mats = layer.matrices(tuple(shape[1:]))
    last = len(shape)                           # the last axis, batch first
    for axis, mat in enumerate(mats, 2):
        if mat is None:
            continue
        if axis == last:                        # (..., n) . (n, m)
            x = b.node("MatMul", [x, b.const(mat.T, scope)], scope)
        else:                                   # (m, n) . (..., n, w): the level before last
            x = b.node("MatMul", [b.const(mat, scope), x], scope)
    return [x]


def spatial_transformation(b, layer, scope, where, xs):
    """GridSample (opset 16 on) with corners aligned and zeros outside, on the grid netdsl
    samples: the constant output grid [x, y, 1] (h w, 3) times each example's parameters
    as a (3, 2) matrix."""
    if b.opset < 16:
        raise unsupported(layer, where, f"GridSample needs operator set 16 or later (asked: "
                                        f"{b.opset}); export with OperatorSetVersion -> 17")
    from ..layers.spatial_transformation import sampling_points
    h, w = layer.values["Dimensions"]
    _, _, gx, gy = sampling_points(np.zeros((6, 1)), (h, w), (2, 2))
    base = np.stack([np.tile(gx, h), np.repeat(gy, w), np.ones(h * w)], axis=1)
    theta = b.node("Reshape", [xs[1], b.const([-1, 2, 3], scope, np.int64)], scope)
    theta = b.node("Transpose", [theta], scope, perm=[0, 2, 1])
    grid = b.node("MatMul", [b.const(base, scope), theta], scope)             # (N, h w, 2)
    grid = b.node("Reshape", [grid, b.const([-1, h, w, 2], scope, np.int64)], scope)
    return [b.node("GridSample", [xs[0], grid], scope, align_corners=1,
                   mode="linear" if b.opset >= 20 else "bilinear", padding_mode="zeros")]


def image_augmentation(b, layer, scope, where, xs):
    """Test mode: the centre window, two Slices (as Wolfram's own Test-mode slice)."""
    from ..layers.image_augmentation import center_offsets
    _, H, W = layer.ports["Input"].shape
    h, w = layer.values["OutputDimensions"]
    r, c = center_offsets((H, W), (h, w))
    return [slice_axis(b, slice_axis(b, xs[0], r, r + h, 2, 1, scope), c, c + w, 3, 1, scope)]


# ---------------------------------------------------------------- sequences
# A sequence port {n, d..} is the tensor (N, n, d..): the length n is axis 1 and may be
# symbolic (a "Varying" length), so these exporters never write it into a constant.
INT64_MAX = 2 ** 63 - 1


def sequence_last(b, layer, scope, where, xs):
    return [b.node("Gather", [xs[0], b.const(-1, scope, np.int64)], scope, axis=1)]


def sequence_most(b, layer, scope, where, xs):
    return [slice_axis(b, xs[0], 0, -1, 1, 1, scope)]


def sequence_rest(b, layer, scope, where, xs):
    return [slice_axis(b, xs[0], 1, INT64_MAX, 1, 1, scope)]


def sequence_reverse(b, layer, scope, where, xs):
    return [slice_axis(b, xs[0], -1, INT64_MIN, 1, -1, scope)]


def sequence_indices(b, layer, scope, where, xs):
    """Range(1, n + 1) for the input's length n (its axis 1), capped at "Maximum", Expanded
    to (N, n)."""
    shape = b.node("Shape", [xs[0]], scope)
    n = b.node("Gather", [shape, b.const(1, scope, np.int64)], scope, axis=0)
    limit = b.node("Add", [n, b.const(1, scope, np.int64)], scope)
    idx = b.node("Range", [b.const(1, scope, np.int64), limit, b.const(1, scope, np.int64)],
                 scope)
    top = layer.values["Maximum"]
    if isinstance(top, int):
        idx = b.node("Min", [idx, b.const(top, scope, np.int64)], scope)
    batch_and_length = slice_axis(b, shape, 0, 2, 0, 1, scope)
    return [b.node("Expand", [idx, batch_and_length], scope)]


def unit_vector(b, layer, scope, where, xs):
    """OneHot of index - 1 (netdsl's indices start at 1) over a new last axis."""
    idx = b.node("Sub", [b.node("Cast", xs, scope, to=7), b.const(1, scope, np.int64)], scope)
    n = int(layer.values["OutputDimension"])
    return [b.node("OneHot", [idx, b.const(n, scope, np.int64),
                              b.const([0.0, 1.0], scope)], scope, axis=-1)]


def _stacked(b, layer, scope: str, names: list[str], negate: set[str]) -> str:
    """Wolfram's per-gate arrays stacked along the first axis, with a leading direction
    axis of 1 (ONNX's W, R and the first half of B); arrays in ``negate`` negated."""
    parts = []
    for name in names:
        a = b.array(layer, name)
        parts.append(b.node("Neg", [a], scope) if name in negate else a)
    x = b.node("Concat", parts, scope, axis=0) if len(parts) > 1 else parts[0]
    return b.node("Unsqueeze", [x, b.const([0], scope, np.int64)], scope)


def recurrent(op: str, gates: tuple[str, ...], negate: tuple[str, ...] = (),
              **attrs: Any) -> Callable[..., list[str]]:
    """ONNX's LSTM/GRU/RNN operator: ``gates`` are Wolfram's gates in ONNX's order; the
    state biases (ONNX's second half of B) are zero, Wolfram has one bias per gate. The
    batch-first input is made time-major for the operator and its Y (n, 1, N, H) back.
    The "State"/"CellState" ports, when shown, are initial_h/initial_c in (1, N, H) and
    Y_h/Y_c out; "Dropout" acts only in Train mode, so the Test-mode export ignores it."""
    states = ("State", "CellState") if op == "LSTM" else ("State",)

    def export(b, layer, scope, where, xs):
        h = int(layer.values["OutputSize"])
        neg = {f"{g}{kind}" for g in negate for kind in ("InputWeights", "StateWeights",
                                                        "Biases")}
        w = _stacked(b, layer, scope, [f"{g}InputWeights" for g in gates], neg)
        r = _stacked(b, layer, scope, [f"{g}StateWeights" for g in gates], neg)
        bias = _stacked(b, layer, scope, [f"{g}Biases" for g in gates], neg)
        bias = b.node("Concat", [bias, b.const(np.zeros((1, len(gates) * h)), scope)], scope,
                      axis=1)
        ins, outs = layer.port_names()
        given = dict(zip(ins[1:], xs[1:]))
        initial = [b.node("Unsqueeze", [given[p], b.const([0], scope, np.int64)], scope)
                   if p in given else "" for p in states]
        inputs = [b.node("Transpose", xs[:1], scope, perm=[1, 0, 2]), w, r, bias, "", *initial]
        while inputs[-1] == "":
            inputs.pop()
        names = [b.fresh(scope, op)] + [b.fresh(scope, f"{op}_{p}") if p in outs else ""
                                        for p in states]
        while names[-1] == "":
            names.pop()
        b.nodes.append(b.helper.make_node(op, inputs, names, name=names[0], hidden_size=h,
                                          **attrs))
        y = b.node("Squeeze", [names[0], b.const([1], scope, np.int64)], scope)
        finals = {p: b.node("Squeeze", [n, b.const([0], scope, np.int64)], scope)
                  for p, n in zip(states, names[1:]) if n}
        return [b.node("Transpose", [y], scope, perm=[1, 0, 2])] + [finals[p] for p in outs[1:]]
    return export


# Wolfram's LSTM gates InputGate, OutputGate, ForgetGate, MemoryGate are ONNX's i, o, f, c.
# Wolfram's GRU keeps the new value where its update gate ("InputGate") is 1, ONNX the old
# state (H = (1 - z) h + z H): ONNX's z is InputGate negated (sigma(-a) = 1 - sigma(a)); the
# reset gate scales Wms.s with no bias inside, which is linear_before_reset = 1 with Rb = 0.
lstm = recurrent("LSTM", ("InputGate", "OutputGate", "ForgetGate", "MemoryGate"))
gru = recurrent("GRU", ("InputGate", "ResetGate", "MemoryGate"), negate=("InputGate",),
                linear_before_reset=1)
basic_recurrent = recurrent("RNN", ("",), activations=["Tanh"])


# ---------------------------------------------------------------- attention
def _heads(b, x: str, heads: bool, channels: int, scope: str) -> str:
    """(N, d1.., [H], c) -> (N, H, L, c): the positions flattened (any length)."""
    if heads:      # the heads' count is the level before the channels: read from the shape
        h = slice_axis(b, b.node("Shape", [x], scope), -2, -1, 0, 1, scope)
        shape = b.node("Concat", [b.const([0, -1], scope, np.int64), h,
                                  b.const([channels], scope, np.int64)], scope, axis=0)
    else:
        shape = b.const([0, -1, 1, channels], scope, np.int64)
    y = b.node("Reshape", [x, shape], scope)
    return b.node("Transpose", [y], scope, perm=[0, 2, 1, 3])


def _positions(b, scores: str, axis: int, scope: str) -> str:
    """0, 1, ... along ``axis`` of the scores (as int64), for masks and rescaling."""
    n = slice_axis(b, b.node("Shape", [scores], scope), axis, axis + 1, 0, 1, scope)
    n = b.node("Squeeze", [n, b.const([0], scope, np.int64)], scope)
    return b.node("Range", [b.const(0, scope, np.int64), n, b.const(1, scope, np.int64)], scope)


def _attend(b, layer, scope, k, v, q, qsize, window, rescaling) -> str:
    """softmax(rescaled q . (W k), masked) . v on (N, H, L, c) tensors, as netdsl's
    attention_core: "LengthSqrt" divides by Sqrt[keys seen], "DimensionSqrt" by
    Sqrt[query size]; "Causal" (-> n) hides keys j > i (and j <= i - n)."""
    if b.has_array(layer, "Weights"):
        k = b.node("MatMul", [k, b.node("Transpose", [b.array(layer, "Weights")], scope,
                                        perm=[1, 0])], scope)
    scores = b.node("MatMul", [q, b.node("Transpose", [k], scope, perm=[0, 1, 3, 2])], scope)
    if rescaling == "DimensionSqrt":
        scores = b.node("Div", [scores, b.const(math.sqrt(qsize), scope)], scope)
    elif rescaling == "LengthSqrt":
        if window is None:
            length = slice_axis(b, b.node("Shape", [scores], scope), -1, INT64_MAX, 0, 1, scope)
            n = b.node("Cast", [length], scope, to=1)
        else:            # query i (from 1) sees Min[i, window] keys
            i = b.node("Cast", [_positions(b, scores, 2, scope)], scope, to=1)
            i = b.node("Add", [i, b.const(1.0, scope)], scope)
            if not math.isinf(window):
                i = b.node("Min", [i, b.const(float(window), scope)], scope)
            n = b.node("Unsqueeze", [i, b.const([-1], scope, np.int64)], scope)
        scores = b.node("Div", [scores, b.node("Sqrt", [n], scope)], scope)
    if window is not None:
        i = b.node("Unsqueeze", [_positions(b, scores, 2, scope), b.const([-1], scope, np.int64)],
                   scope)
        j = _positions(b, scores, 3, scope)
        hidden = b.node("Greater", [j, i], scope)
        if not math.isinf(window):
            low = b.node("Sub", [i, b.const(int(window), scope, np.int64)], scope)
            hidden = b.node("Or", [hidden, b.node("Not", [b.node("Greater", [j, low], scope)],
                                                  scope)], scope)
        scores = b.node("Where", [hidden, b.const(-np.inf, scope), scores], scope)
    att = b.node("Softmax", [scores], scope, axis=-1)
    return b.node("MatMul", [att, v], scope)


def _unheads(b, out: str, query: str, channels: int, scope: str) -> str:
    """(N, H, M, v) -> the query's dimensions with v channels."""
    y = b.node("Transpose", [out], scope, perm=[0, 2, 1, 3])
    lead = slice_axis(b, b.node("Shape", [query], scope), 0, -1, 0, 1, scope)
    shape = b.node("Concat", [lead, b.const([channels], scope, np.int64)], scope, axis=0)
    return b.node("Reshape", [y, shape], scope)


def _no_weights_port(layer, where) -> None:
    if len(layer.port_names()[1]) > 1:
        raise unsupported(layer, where, 'its "AttentionWeights" port is read (not exported yet)')


def attention(b, layer, scope, where, xs):
    """Test mode (no dropout): the attention weights' softmax over the keys of each query."""
    _no_weights_port(layer, where)
    key, value, query = xs
    heads = bool(layer.head_levels)
    ks, vs, qs = (layer.ports[p].shape[-1] for p in ("Key", "Value", "Query"))
    out = _attend(b, layer, scope, _heads(b, key, heads, ks, scope),
                  _heads(b, value, heads, vs, scope), _heads(b, query, heads, qs, scope), qs,
                  layer.window, layer.values["ScoreRescaling"])
    return [_unheads(b, out, query, vs, scope)]


def sequence_attention(b, layer, scope, where, xs):
    _no_weights_port(layer, where)
    x, query = xs
    d, qs = layer.ports["Input"].shape[-1], layer.ports["Query"].shape[-1]
    k = _heads(b, x, False, d, scope)
    out = _attend(b, layer, scope, k, k, _heads(b, query, False, qs, scope), qs, None, None)
    return [_unheads(b, out, query, d, scope)]


EXPORTERS: dict[str, Callable[..., list[str]]] = {
    "ConstantArrayLayer": constant_array,
    "NetArrayLayer": constant_array,
    "PartLayer": part,
    "ExtractLayer": extract,
    "RandomArrayLayer": random_array,
    "ResizeLayer": resize,
    "SpatialTransformationLayer": spatial_transformation,
    "ImageAugmentationLayer": image_augmentation,
    "ConvolutionLayer": convolution,
    "PoolingLayer": pooling,
    "DeconvolutionLayer": deconvolution,
    "AggregationLayer": aggregation,
    "ReplicateLayer": replicate,
    "DotLayer": dot,
    "PaddingLayer": padding,
    "NormalizationLayer": normalization,
    "InstanceNormalizationLayer": normalization,
    "LocalResponseNormalizationLayer": local_response_normalization,
    "BatchNormalizationLayer": batch_normalization,
    "LinearLayer": linear,
    "DotPlusLayer": linear,          # LinearLayer's old name
    "SoftmaxLayer": softmax,
    "FlattenLayer": reshape_like_output,
    "ReshapeLayer": reshape_like_output,
    "DropoutLayer": dropout,
    "CatenateLayer": catenate,
    "TotalLayer": total,
    "ThreadingLayer": threading,
    "ElementwiseLayer": elementwise,
    "SummationLayer": summation,
    "ConstantTimesLayer": constant_times,
    "ConstantPlusLayer": constant_plus,
    "ParametricRampLayer": parametric_ramp,
    "TransposeLayer": transpose,
    "EmbeddingLayer": embedding,
    "UnitVectorLayer": unit_vector,
    "SequenceLastLayer": sequence_last,
    "SequenceMostLayer": sequence_most,
    "SequenceRestLayer": sequence_rest,
    "SequenceReverseLayer": sequence_reverse,
    "SequenceIndicesLayer": sequence_indices,
    "AppendLayer": append_element,
    "OrderingLayer": ordering,
    "PrependLayer": prepend_element,
    "AttentionLayer": attention,
    "SequenceAttentionLayer": sequence_attention,
    "LongShortTermMemoryLayer": lstm,
    "GatedRecurrentLayer": gru,
    "BasicRecurrentLayer": basic_recurrent,
    "MeanSquaredLossLayer": mean_squared_loss,
    "MeanAbsoluteLossLayer": mean_absolute_loss,
    "ContrastiveLossLayer": contrastive_loss,
    "CrossEntropyLossLayer": cross_entropy_loss,
    "CTCLossLayer": ctc_loss,
}
