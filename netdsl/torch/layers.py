"""Each netdsl layer as a torch function with the same semantics, batch-first.

``TORCH_LAYERS[layer.name](layer)`` gives ``op(arrays, xs, training)`` returning the
outputs and the moving-statistics updates (as ``Layer.moving_updates``; {} for none).
``register_torch_layer`` adds a layer defined outside netdsl.

Semantics kept from netdsl's NumPy executor:
- BatchNormalization: batch mean and *biased* variance in Train mode; the moving
  statistics move by m <- Momentum m + (1 - Momentum) batch (Wolfram's Momentum 0.9, the
  opposite convention from torch's momentum), frozen when Momentum is 1.
- Convolution and pooling pad explicitly (asymmetric "Same" padding too), so sizes follow
  Floor[(n + padding - (dilation (k - 1) + 1))/stride] + 1; Max pads with -Infinity, Mean
  divides by the whole window (padding counts as zeros), Total is Mean times the window.
- Softmax over the last dimension of an example; LinearLayer flattens its input.
- Cross-entropy clips probabilities below at 1e-30 (gradient 0 where the clip acts).
- Elementwise and threading functions are built from the same compiled function trees.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..errors import EvaluationError
from ..expr import S, input_form
from ..layers.base import Layer
from ..layers.functions import SELU_ALPHA, SELU_SCALE
from ..layers.losses import P_MIN
from ..layers.simple import ALPHA_PRIME
from ..layers.windows import geometry

Op = Callable[[dict, list, bool], tuple[list, dict]]
TORCH_LAYERS: dict[str, Callable[[Layer], Op]] = {}


def register_torch_layer(name: str):
    """Decorator: ``fn(layer) -> op`` converts layers named ``name``."""
    def add(fn):
        TORCH_LAYERS[name] = fn
        return fn
    return add


def _example_shape(layer: Layer, port: str = "Output") -> tuple:
    return tuple(layer.ports[port].shape or ())


@register_torch_layer("ToReal")
def _to_real(layer):
    """The executor's cast of integers read by a layer that computes with reals."""
    def op(a, xs, training):
        return [xs[0].to(torch.get_default_dtype())], {}
    return op


# ---------------------------------------------------------------- arrays
@register_torch_layer("LinearLayer")
@register_torch_layer("DotPlusLayer")
def _linear(layer):
    out = _example_shape(layer)

    def op(a, xs, training):
        x = xs[0]
        y = F.linear(x.reshape(x.shape[0], -1), a["Weights"], a.get("Biases"))
        return [y.reshape((x.shape[0],) + out)], {}
    return op


def _pad(x, pads, value):
    """Explicit (before, after) padding of the spatial axes (axes 2..)."""
    flat = []
    for b, e in reversed(pads):
        flat += [b, e]
    if not any(flat):
        return x
    return F.pad(x, flat, value=value)


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_MAXPOOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVGPOOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


@register_torch_layer("ConvolutionLayer")
def _conv(layer):
    groups = layer.values.get("ChannelGroups") or 1

    def op(a, xs, training):
        x = xs[0]
        g = geometry(layer.values, tuple(x.shape[2:]))
        y = _CONV[len(g.kernel)](_pad(x, g.pads, 0.0), a["Weights"], a.get("Biases"),
                                 stride=g.stride, dilation=g.dilation, groups=groups)
        return [y], {}
    return op


@register_torch_layer("PoolingLayer")
def _pool(layer):
    fn = layer.values["Function"]

    def op(a, xs, training):
        x = xs[0]
        g = geometry(layer.values, tuple(x.shape[2:]))
        d = len(g.kernel)
        if fn is S("Max"):
            return [_MAXPOOL[d](_pad(x, g.pads, -math.inf), g.kernel, g.stride)], {}
        y = _AVGPOOL[d](_pad(x, g.pads, 0.0), g.kernel, g.stride)
        if fn is S("Total"):
            y = y * float(math.prod(g.kernel))
        return [y], {}
    return op


@register_torch_layer("BatchNormalizationLayer")
def _batchnorm(layer):
    eps = float(layer.values["Epsilon"])
    mom = float(layer.values["Momentum"])

    def op(a, xs, training, sync=None):
        x = xs[0]
        c = x.shape[1]
        view = (1, c) + (1,) * (x.dim() - 2)
        if not training:
            scale = a["Scaling"] / torch.sqrt(a["MovingVariance"] + eps)
            shift = a["Biases"] - a["MovingMean"] * scale
            return [x * scale.reshape(view) + shift.reshape(view)], {}
        dims = [0] + list(range(2, x.dim()))
        if sync is None:
            mean = x.mean(dim=dims)
            var = ((x - mean.reshape(view)) ** 2).mean(dim=dims)   # biased
        else:   # statistics of the global batch: sums over every process (differentiable)
            m = torch.tensor([x.numel() // c], dtype=x.dtype, device=x.device)
            stats = sync(torch.cat([x.sum(dim=dims), (x * x).sum(dim=dims), m]))
            total = stats[-1]
            mean = stats[:c] / total
            var = stats[c:2 * c] / total - mean * mean
        y = (x - mean.reshape(view)) * (a["Scaling"] / torch.sqrt(var + eps)).reshape(view) \
            + a["Biases"].reshape(view)
        if mom == 1:
            return [y], {}
        with torch.no_grad():
            moving = {"MovingMean": mom * a["MovingMean"] + (1 - mom) * mean.detach(),
                      "MovingVariance": mom * a["MovingVariance"] + (1 - mom) * var.detach()}
        return [y], moving
    op.batch_statistics = True   # type: ignore[attr-defined]
    return op


# ---------------------------------------------------------------- functions
def _hard_sigmoid(x):
    return torch.clamp((x + 1) / 2, 0, 1)


def _gamma(x):
    """Gamma as netdsl computes it: Exp[LogGamma] with the sign of Gamma left of 1/2."""
    sign = torch.where((x < 0.5) & (torch.sin(math.pi * x) < 0), -1.0, 1.0)
    return sign * torch.exp(torch.lgamma(x))


def _inverse_erfc(x):
    # in float64, so that 1 - x keeps small x (float32 would lose x below 6e-8)
    return torch.special.erfinv(1 - x.double()).to(x.dtype)


PRIMITIVES: dict[str, Callable] = {
    "Ramp": torch.relu, "Tanh": torch.tanh, "LogisticSigmoid": torch.sigmoid,
    "Exp": torch.exp, "Log": torch.log, "Sqrt": torch.sqrt, "Abs": torch.abs,
    "Sin": torch.sin, "Cos": torch.cos, "Erf": torch.erf,
    "Erfc": torch.erfc, "Tan": torch.tan, "ArcSin": torch.asin, "ArcCos": torch.acos,
    "ArcTan": torch.atan, "Sinh": torch.sinh, "Cosh": torch.cosh, "ArcSinh": torch.asinh,
    "ArcCosh": torch.acosh, "ArcTanh": torch.atanh, "Gamma": _gamma, "LogGamma": torch.lgamma,
    "Round": torch.round, "Floor": torch.floor, "Ceiling": torch.ceil, "Sign": torch.sign,
    "Log1p": torch.log1p,
    "Cot": lambda x: 1 / torch.tan(x), "Coth": lambda x: 1 / torch.tanh(x),
    "Csc": lambda x: 1 / torch.sin(x), "Csch": lambda x: 1 / torch.sinh(x),
    "Sec": lambda x: 1 / torch.cos(x), "Sech": lambda x: 1 / torch.cosh(x),
    "ArcCot": lambda x: torch.atan(1 / x), "ArcCoth": lambda x: torch.atanh(1 / x),
    "ArcCsc": lambda x: torch.asin(1 / x), "ArcCsch": lambda x: torch.asinh(1 / x),
    "ArcSec": lambda x: torch.acos(1 / x), "ArcSech": lambda x: torch.acosh(1 / x),
    "Haversine": lambda x: 0.5 * (1 - torch.cos(x)),
    "InverseHaversine": lambda x: 2 * torch.asin(torch.sqrt(x)),
    "Gudermannian": lambda x: 2 * torch.atan(torch.tanh(0.5 * x)),
    "InverseGudermannian": lambda x: 2 * torch.atanh(torch.tan(0.5 * x)),
    "CubeRoot": lambda x: torch.sign(x) * torch.abs(x) ** (1 / 3),
    "InverseErf": torch.special.erfinv, "InverseErfc": _inverse_erfc,
    "IntegerPart": torch.trunc, "FractionalPart": torch.frac,
}
BINARY: dict[str, Callable] = {"ArcTan": lambda x, y: torch.atan2(y, x)}
_COMPARE: dict[str, Callable] = {
    "Greater": torch.gt, "Less": torch.lt, "GreaterEqual": torch.ge, "LessEqual": torch.le,
    "Equal": torch.eq, "Unequal": torch.ne}
NAMED: dict[str, Callable] = {
    "RectifiedLinearUnit": torch.relu, "ReLU": torch.relu, "Sigmoid": torch.sigmoid,
    "ExponentialLinearUnit": F.elu,
    "ScaledExponentialLinearUnit": lambda x: SELU_SCALE * F.elu(x, alpha=SELU_ALPHA),
    "GaussianErrorLinearUnit": F.gelu,
    "Swish": F.silu, "HardSwish": F.hardswish, "Mish": F.mish, "SoftSign": F.softsign,
    "SoftPlus": lambda x: torch.logaddexp(torch.zeros_like(x), x),
    "HardTanh": F.hardtanh, "HardSigmoid": _hard_sigmoid,
}


def function_value(node: tuple, xs: list) -> Any:
    """A netdsl function tree (layers/functions.py) evaluated with torch operations."""
    kind = node[0]
    if kind == "var":
        return xs[node[1]]
    if kind == "const":
        return node[1]
    if kind in ("prim", "named"):
        table = PRIMITIVES if kind == "prim" else NAMED
        return table[node[1]](_tensor(function_value(node[2], xs), xs[0]))
    if kind == "cmp":       # 0/1 values, no gradient
        a, b = (_tensor(function_value(c, xs), xs[0]) for c in node[2:])
        return _COMPARE[node[1]](a, b).to(xs[0].dtype)
    if kind == "if":
        c, a, b = (_tensor(function_value(n, xs), xs[0]) for n in node[1:])
        return torch.where(c != 0, a, b)
    if kind in ("and", "or", "not"):
        truths = [_tensor(function_value(n, xs), xs[0]) != 0 for n in node[1:]]
        out = truths[0]
        for t in truths[1:]:
            out = out & t if kind == "and" else out | t
        return (~out if kind == "not" else out).to(xs[0].dtype)
    if kind == "binary":
        a, b = (_tensor(function_value(n, xs), xs[0]) for n in node[2:])
        return BINARY[node[1]](a, b)
    vals = [function_value(c, xs) for c in node[1:]]
    if kind == "power":
        a, b = vals
        return torch.pow(_tensor(a, xs[0]), b)
    out = vals[0]
    for v in vals[1:]:
        if kind == "plus":
            out = out + v
        elif kind == "times":
            out = out * v
        else:
            pick = torch.maximum if kind == "max" else torch.minimum
            out = pick(_tensor(out, xs[0]), _tensor(v, xs[0]))
    return out


def _tensor(v, like):
    return v if isinstance(v, torch.Tensor) else torch.full_like(like, float(v))


def _missing(node: tuple) -> set[str]:
    """The parts of a function tree without a torch counterpart here."""
    kind = node[0]
    if kind in ("var", "const"):
        return set()
    own = {node[1]} if (kind == "prim" and node[1] not in PRIMITIVES
                        or kind == "named" and node[1] not in NAMED
                        or kind == "binary" and node[1] not in BINARY) else set()
    return own.union(*(_missing(c) for c in node[1:] if isinstance(c, tuple)))


def _function_op(layer):
    program = layer.values["Function"]
    missing = _missing(program.tree)
    if missing:
        raise EvaluationError(f"{layer.name}[{input_form(program.source)}] uses "
                              f"{', '.join(sorted(missing))}, which netdsl.torch cannot compute.",
                              symbol="netdsl.torch", tag="notorch")
    levels = getattr(layer, "output_levels", None)    # ThreadingLayer: lower-rank inputs

    def op(a, xs, training):
        xs = list(xs)
        if levels is not None and len({x.dim() for x in xs}) > 1:
            ranks = [x.dim() - 1 for x in xs]
            for i, lv in enumerate(levels(ranks)):
                for level in range(max(ranks)):        # size 1 at the levels it lacks
                    if level not in lv:
                        xs[i] = xs[i].unsqueeze(1 + level)
        y = _tensor(function_value(program.tree, xs), xs[0])
        shape = torch.broadcast_shapes(*(x.shape for x in xs))
        return [y.expand(shape) if y.shape != shape else y], {}
    return op


register_torch_layer("ElementwiseLayer")(_function_op)
register_torch_layer("ThreadingLayer")(_function_op)


# ---------------------------------------------------------------- shapes
@register_torch_layer("SoftmaxLayer")
def _softmax(layer):
    level = int(layer.values.get("Level", -1))    # level n of an example: axis n batch-first
    return lambda a, xs, training: ([torch.softmax(xs[0], dim=level)], {})


def _reshape(layer):
    out = _example_shape(layer)
    return lambda a, xs, training: ([xs[0].reshape((xs[0].shape[0],) + out)], {})


register_torch_layer("FlattenLayer")(_reshape)
register_torch_layer("ReshapeLayer")(_reshape)


@register_torch_layer("DropoutLayer")
def _dropout(layer):
    """Train mode keeps each element with probability 1 - p, scaled by 1/(1 - p)
    ("AlphaDropout": dropped elements become ALPHA_PRIME, then a x + b, as netdsl);
    the "BinaryMask" port gives the kept elements (all ones in Test mode)."""
    p = float(layer.values["DropoutProbability"])
    alpha = layer.values.get("Method") == "AlphaDropout"
    names = layer.port_names()[1]

    def op(a, xs, training):
        x = xs[0]
        if not training or p == 0:
            outs = {"Output": x, "BinaryMask": torch.ones_like(x)}
            return [outs[n] for n in names], {}
        keep = (torch.rand_like(x) >= p).to(x.dtype)
        if alpha:
            q = 1.0 - p
            k = (q + ALPHA_PRIME ** 2 * q * p) ** -0.5
            y = k * (keep * x + (1 - keep) * ALPHA_PRIME) - k * ALPHA_PRIME * p
        else:
            y = x * keep / (1.0 - p)
        outs = {"Output": y, "BinaryMask": keep}
        return [outs[n] for n in names], {}
    return op


@register_torch_layer("CatenateLayer")
def _catenate(layer):
    """Joined at the layer's level; a lower-rank input is repeated over the leading axes
    it lacks (expand: its gradient sums over them), as netdsl's executor."""
    def op(a, xs, training):
        ranks = [x.dim() - 1 for x in xs]
        r = max(ranks)
        top = xs[ranks.index(r)]
        parts = []
        for x, k in zip(xs, ranks):
            if k < r:
                lead = tuple(top.shape[:1 + r - k])
                x = x.reshape((x.shape[0],) + (1,) * (r - k) + tuple(x.shape[1:]))
                x = x.expand(lead + tuple(x.shape[1 + r - k:]))
            parts.append(x)
        return [torch.cat(parts, dim=layer._level_index(None, ranks) + 1)], {}
    return op


@register_torch_layer("TotalLayer")
def _total(layer):
    def op(a, xs, training):
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return [y], {}
    return op


@register_torch_layer("SummationLayer")
def _summation(layer):
    return lambda a, xs, training: ([xs[0].reshape(xs[0].shape[0], -1).sum(dim=1)], {})


# ---------------------------------------------------------------- losses (a number per example)
def _per_example_mean(x):
    return x.reshape(x.shape[0], -1).mean(dim=1)


def _log(p):
    """Log[Max[p, 1e-30]]: finite where p is 0, with gradient 0 where the clip acts."""
    return torch.log(torch.where(p >= P_MIN, p, torch.full_like(p, P_MIN)))


@register_torch_layer("MeanSquaredLossLayer")
def _mse(layer):
    return lambda a, xs, training: ([_per_example_mean((xs[0] - xs[1]) ** 2)], {})


@register_torch_layer("MeanAbsoluteLossLayer")
def _mae(layer):
    return lambda a, xs, training: ([_per_example_mean((xs[0] - xs[1]).abs())], {})


@register_torch_layer("ContrastiveLossLayer")
def _contrastive(layer):
    margin = float(layer.values["Margin"])

    def op(a, xs, training):
        x, t = xs[0], xs[1].to(xs[0].dtype)
        return [(1 - t) * x + t * torch.relu(margin - x)], {}
    return op


@register_torch_layer("CrossEntropyLossLayer")
def _cross_entropy(layer):
    form = layer.values["TargetForm"]

    def op(a, xs, training):
        x, t = xs
        if form == "Index":
            idx = t.to(torch.int64).unsqueeze(-1) - 1
            p = torch.gather(x, -1, idx).squeeze(-1)
            return [-_per_example_mean(_log(p))], {}
        if form == "Probabilities":
            total = (t * _log(x)).reshape(x.shape[0], -1).sum(dim=1)
            m = x[0].numel() // (x.shape[-1] if x.dim() > 1 else 1)
            return [-total / m], {}
        return [-_per_example_mean(t * _log(x) + (1 - t) * _log(1 - x))], {}
    return op


@register_torch_layer("CTCLossLayer")
def _ctc_loss(layer):
    """The alpha recursion in log space, as netdsl's (probabilities clipped at 1e-30, the
    blank last), so autograd gives the exact gradient for any input; torch's own ctc_loss
    has a backward meant only for log_softmax outputs. All examples of a call share the
    input and target lengths, as netdsl's groups do. Unreachable positions hold -1e30
    rather than -Infinity, so no 0/0 reaches the gradient."""
    def op(a, xs, training):
        x, t = xs                                  # (N, T, c+1), (N, L) classes 1..c
        n, steps, classes = x.shape
        ext = torch.full((n, 2 * t.shape[1] + 1), classes - 1, dtype=torch.int64)
        ext[:, 1::2] = t.to(torch.int64) - 1
        lp = torch.gather(_log(x), 2, ext[:, None, :].expand(n, steps, ext.shape[1]))
        skip = torch.zeros(ext.shape, dtype=torch.bool)
        skip[:, 3::2] = ext[:, 3::2] != ext[:, 1:-2:2]
        low = torch.full((n, 2), -1e30, dtype=x.dtype)
        alpha = torch.cat([torch.zeros((n, min(2, ext.shape[1])), dtype=x.dtype),
                           low[:, :1].expand(n, ext.shape[1] - min(2, ext.shape[1]))], 1)
        alpha = alpha + lp[:, 0]
        for step in range(1, steps):
            one = torch.cat([low[:, :1], alpha[:, :-1]], 1)
            two = torch.where(skip, torch.cat([low, alpha[:, :-2]], 1), low[:, :1])
            alpha = torch.logsumexp(torch.stack([alpha, one, two]), 0) + lp[:, step]
        return [-torch.logsumexp(alpha[:, -2:], 1)], {}
    return op


# ---------------------------------------------------------------- newer layers
# Layers whose axes netdsl computes for batch-last data (C, ..., N) reuse those rules on
# the batch-first tensor moved to batch-last (``_last``) and back (``_first``).
def _last(x):
    return x.movedim(0, -1)


def _first(x):
    return x.movedim(-1, 0)


def _example_array(a, x):
    """A learned array of an example's shape ({1} for a number per example)."""
    return a.reshape(tuple(x.shape[1:]))


@register_torch_layer("ConstantTimesLayer")
def _constant_times(layer):
    return lambda a, xs, training: ([xs[0] * _example_array(a["Scaling"], xs[0])], {})


@register_torch_layer("ConstantPlusLayer")
def _constant_plus(layer):
    return lambda a, xs, training: ([xs[0] + _example_array(a["Biases"], xs[0])], {})


@register_torch_layer("ParametricRampLayer")
def _parametric_ramp(layer):
    levels = layer.values["Levels"]

    def op(a, xs, training):
        x = xs[0]
        view = tuple(x.shape[i + 1] if i + 1 in levels else 1 for i in range(x.dim() - 1))
        return [torch.where(x < 0, a["Slope"].reshape((1,) + view) * x, x)], {}
    return op


@register_torch_layer("ConstantArrayLayer")
@register_torch_layer("NetArrayLayer")
def _constant_array(layer):
    def op(a, xs, training, batch=1):
        arr = a["Array"]
        return [arr.unsqueeze(0).expand((batch,) + tuple(arr.shape))], {}
    op.needs_batch = True   # type: ignore[attr-defined]
    return op


@register_torch_layer("EmbeddingLayer")
def _embedding(layer):
    return lambda a, xs, training: ([F.embedding(xs[0].to(torch.int64) - 1, a["Weights"])], {})


@register_torch_layer("TransposeLayer")
def _transpose(layer):
    from ..layers.transpose import axis_order

    def op(a, xs, training):
        x = _last(xs[0])
        order = axis_order(layer.values["Specification"], x.dim() - 1) + [x.dim() - 1]
        return [_first(x.permute(order))], {}
    return op


@register_torch_layer("AggregationLayer")
def _aggregation(layer):
    fn = layer.values["Function"].name

    def op(a, xs, training):
        x = _last(xs[0])
        axes = layer._axes(x.dim())
        if fn == "Total":
            y = x.sum(dim=axes)
        elif fn == "Mean":
            y = x.mean(dim=axes)
        else:
            y = x.amax(dim=axes) if fn == "Max" else x.amin(dim=axes)
        return [_first(y)], {}
    return op


@register_torch_layer("NormalizationLayer")
@register_torch_layer("InstanceNormalizationLayer")   # NormalizationLayer[] by another name
def _normalization(layer):
    eps = float(layer.values["Epsilon"])

    def op(a, xs, training):
        x = _last(xs[0])
        axes, bshape = layer._shapes(x)
        xc = x - x.mean(dim=axes, keepdim=True)
        y = xc / torch.sqrt((xc * xc).mean(dim=axes, keepdim=True) + eps)
        if "Scaling" in a:
            y = y * a["Scaling"].reshape(bshape)
        if "Biases" in a:
            y = y + a["Biases"].reshape(bshape)
        return [_first(y)], {}
    return op


@register_torch_layer("AppendLayer")
def _append(layer):
    def op(a, xs, training):
        x, e = xs
        return [torch.cat([x, e.to(x.dtype).unsqueeze(1)], 1)], {}
    return op


@register_torch_layer("PrependLayer")
def _prepend(layer):
    def op(a, xs, training):
        x, e = xs
        return [torch.cat([e.to(x.dtype).unsqueeze(1), x], 1)], {}
    return op


@register_torch_layer("OrderingLayer")
def _ordering(layer):
    n = layer.values["Elements"]

    def op(a, xs, training):
        order = torch.argsort(xs[0], dim=1, stable=True) + 1
        return [order if n == "All" else order[:, :n] if n > 0 else order[:, n:]], {}
    return op


@register_torch_layer("LocalResponseNormalizationLayer")
def _local_response_normalization(layer):
    v = layer.values
    size = 2 * v["ChannelWindowSize"] + 1     # torch divides alpha by size, as Wolfram

    def op(a, xs, training):
        return [F.local_response_norm(xs[0], size, alpha=v["Alpha"], beta=v["Beta"],
                                      k=v["Bias"])], {}
    return op


@register_torch_layer("ReplicateLayer")
def _replicate(layer):
    out = _example_shape(layer)

    def op(a, xs, training):
        x = _last(xs[0])
        p = layer._axis(x.dim() - 1)
        k = len(layer.values["Specification"])
        xe = x.reshape(tuple(x.shape[:p]) + (1,) * k + tuple(x.shape[p:]))
        size = tuple(d if isinstance(d, int) else -1 for d in out)   # -1: a "Varying" length
        return [_first(xe.expand(size + (x.shape[-1],)))], {}
    return op


@register_torch_layer("DotLayer")
def _dot(layer):
    def op(a, xs, training):
        x, y = xs
        n, k = x.shape[0], x.shape[-1]
        z = torch.bmm(x.reshape(n, -1, k), y.reshape(n, k, -1))
        return [z.reshape((n,) + tuple(x.shape[1:-1]) + tuple(y.shape[2:]))], {}
    return op


@register_torch_layer("PaddingLayer")
def _padding(layer):
    """A number pads with it; a method ("Fixed", "Periodic", "Reflected", "Reversed") picks
    input elements by the index map NumPy's pad makes of 0..n-1, one axis at a time."""
    import numpy as np

    from ..layers.padding import _METHODS
    spec = list(layer.values["Specification"])
    method = layer.values["Padding"]

    def op(a, xs, training):
        x = xs[0]
        if isinstance(method, float):
            flat = []
            for b, e in reversed(spec):
                flat += [b, e]
            return [F.pad(x, flat, value=method)], {}
        for axis, (b, e) in enumerate(spec, 1):
            if b or e:
                idx = np.pad(np.arange(x.shape[axis]), (b, e), mode=_METHODS[method])
                x = x.index_select(axis, torch.as_tensor(idx, device=x.device))
        return [x], {}
    return op


_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@register_torch_layer("DeconvolutionLayer")
def _deconvolution(layer):
    """Transposed convolution without padding, then the padding cropped from the output
    (netdsl's sizes Stride (n - 1) + k - padding, asymmetric padding too); Wolfram's
    weights {in, out/groups, k..} are torch's layout."""
    from ..layers.spatial import per_dim, resolve_padding
    v = layer.values
    groups = v.get("ChannelGroups") or 1

    def op(a, xs, training):
        x = xs[0]
        d = x.dim() - 2
        kernel = per_dim(v["KernelSize"], d, "KernelSize")
        stride = per_dim(v.get("Stride", 1), d, "Stride")
        pads = resolve_padding(v.get("PaddingSize", 0), d, tuple(x.shape[2:]), kernel, stride,
                               (1,) * d)
        y = _CONV_T[d](x, a["Weights"], a.get("Biases"), stride=stride, groups=groups)
        crop = (slice(None), slice(None)) + tuple(
            slice(b, n - e) for (b, e), n in zip(pads, y.shape[2:]))
        return [y[crop]], {}
    return op


@register_torch_layer("PartLayer")
def _part(layer):
    """Wolfram's Part per level: an integer drops the level, a span slices it (positive
    steps), a list of positions is an index_select; the gradient flows back through each."""
    from ..layers.part import _position, _span_range

    def op(a, xs, training):
        x, axis = xs[0], 1
        for op_, n in zip(layer.values["Specification"], x.shape[1:]):
            if op_[0] == "int":
                x = x.select(axis, _position(op_[1], n))
                continue
            if op_[0] == "list":
                idx = torch.as_tensor([_position(k, n) for k in op_[1]], device=x.device)
                x = x.index_select(axis, idx)
            elif op_[0] == "span":
                r = _span_range(op_, n)
                x = x.narrow(axis, r.start, len(range(r.start, r.stop)))[
                    (slice(None),) * axis + (slice(None, None, r.step),)]
            axis += 1
        return [x], {}
    return op


@register_torch_layer("ExtractLayer")
def _extract(layer):
    """The parts of each example at its positions (1-based, negative from the end): one
    advanced index per position level, the batch index first; gradients scatter back."""
    def op(a, xs, training):
        x, pos = xs[0], xs[1].to(torch.int64)
        pos = pos.unsqueeze(-1) if pos.dim() == 1 else pos     # one integer per example
        k = pos.shape[-1]
        n = torch.as_tensor(x.shape[1:1 + k], device=x.device)
        if bool(((pos == 0) | (pos.abs() > n)).any()):
            raise EvaluationError("a position is 0 or beyond the size of its level.",
                                  symbol=layer.name, tag="partw")
        idx = torch.where(pos > 0, pos - 1, pos + n)
        batch = torch.arange(x.shape[0], device=x.device).reshape(
            (-1,) + (1,) * (idx.dim() - 2))
        return [x[(batch,) + tuple(idx[..., j] for j in range(k))]], {}
    return op


@register_torch_layer("RandomArrayLayer")
def _random_array(layer):
    """Normal and uniform draws, reparametrised (mean + sd eps, min + (max - min) u) so
    that autograd reaches parameters computed from the inputs; torch's own generator."""
    spec = layer.values["Distribution"]
    if spec.family not in ("NormalDistribution", "UniformDistribution"):
        raise EvaluationError(f"RandomArrayLayer[{input_form(spec.source)}]: netdsl.torch "
                              f"draws only from NormalDistribution and UniformDistribution.",
                              symbol="netdsl.torch", tag="notorch")
    dims = _example_shape(layer)

    def op(a, xs, training, batch=1):
        like = xs[0] if xs else None
        shape = tuple(like.shape) if like is not None else (batch,) + dims
        dtype = like.dtype if like is not None else torch.get_default_dtype()
        ps = [p if isinstance(p, float) else _tensor(function_value(p.tree, list(xs)), like)
              for p in spec.params]
        if spec.family == "NormalDistribution":
            y = ps[0] + ps[1] * torch.randn(shape, dtype=dtype)
        else:
            y = ps[0] + (ps[1] - ps[0]) * torch.rand(shape, dtype=dtype)
        return [y.expand(shape) if tuple(y.shape) != shape else y], {}
    op.needs_batch = True   # type: ignore[attr-defined]
    return op


@register_torch_layer("ResizeLayer")
def _resize(layer):
    """Per resized level, a product with netdsl's own interpolation matrix (m, n)."""
    def op(a, xs, training):
        x = xs[0]
        mats = layer.matrices(tuple(x.shape[2:]))
        for axis, mat in enumerate(mats, 2):
            if mat is not None:
                m = torch.as_tensor(mat, dtype=x.dtype, device=x.device)
                x = torch.movedim(torch.tensordot(x, m, dims=([axis], [1])), -1, axis)
        return [x], {}
    return op


@register_torch_layer("SpatialTransformationLayer")
def _spatial_transformation(layer):
    """affine_grid + grid_sample with corners aligned and zeros outside: netdsl's grid
    (x = -1 + 2 j/(w - 1)) and sampling exactly."""
    h, w = layer.values["Dimensions"]

    def op(a, xs, training):
        x, theta = xs
        grid = F.affine_grid(theta.reshape(-1, 2, 3).to(x.dtype), [x.shape[0], x.shape[1], h, w],
                             align_corners=True)
        return [F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                              align_corners=True)], {}
    return op


@register_torch_layer("ImageAugmentationLayer")
def _image_augmentation(layer):
    """Test mode: the centre window; training: per example a random window (torch's own
    generator) reflected with "ReflectionProbabilities", by one gather."""
    h, w = layer.values["OutputDimensions"]
    pv, ph = (float(p) for p in layer.values["ReflectionProbabilities"])

    def op(a, xs, training):
        x = xs[0]
        n, _, H, W = x.shape
        if not training:
            r, c = (H - h) // 2, (W - w) // 2
            return [x[:, :, r:r + h, c:c + w]], {}
        top = torch.randint(0, H - h + 1, (n, 1), device=x.device)
        left = torch.randint(0, W - w + 1, (n, 1), device=x.device)
        i = torch.arange(h, device=x.device)
        j = torch.arange(w, device=x.device)
        flip = torch.rand(2, n, 1, device=x.device) < torch.tensor([pv, ph], device=x.device).reshape(2, 1, 1)
        rows = top + torch.where(flip[0], h - 1 - i, i)                     # (n, h)
        cols = left + torch.where(flip[1], w - 1 - j, j)                    # (n, w)
        batch = torch.arange(n, device=x.device)[:, None, None]
        y = x[batch, :, rows[:, :, None], cols[:, None, :]]                 # (n, h, w, c)
        return [y.permute(0, 3, 1, 2)], {}
    return op


# ---------------------------------------------------------------- sequences
# A sequence port {n, d..} is the batch-first tensor (N, n, d..): the length is dim 1.
@register_torch_layer("SequenceLastLayer")
def _sequence_last(layer):
    return lambda a, xs, training: ([xs[0][:, -1]], {})


@register_torch_layer("SequenceMostLayer")
def _sequence_most(layer):
    return lambda a, xs, training: ([xs[0][:, :-1]], {})


@register_torch_layer("SequenceRestLayer")
def _sequence_rest(layer):
    return lambda a, xs, training: ([xs[0][:, 1:]], {})


@register_torch_layer("SequenceReverseLayer")
def _sequence_reverse(layer):
    return lambda a, xs, training: ([xs[0].flip(1)], {})


@register_torch_layer("SequenceIndicesLayer")
def _sequence_indices(layer):
    top = layer.values["Maximum"]

    def op(a, xs, training):
        x = xs[0]
        idx = torch.arange(1, x.shape[1] + 1, device=x.device)
        if isinstance(top, int):
            idx = idx.clamp(max=top)
        return [idx.expand(x.shape[0], x.shape[1])], {}
    return op


@register_torch_layer("UnitVectorLayer")
def _unit_vector(layer):
    n = int(layer.values["OutputDimension"])
    return lambda a, xs, training: (
        [F.one_hot(xs[0].to(torch.int64) - 1, n).to(torch.get_default_dtype())], {})


def _recurrent(run: Callable, gates: tuple[str, ...], negate: tuple[str, ...] = ()):
    """A recurrent layer as torch's own fused kernel (the one nn.LSTM/nn.GRU/nn.RNN call:
    ``torch.lstm``, ``torch.gru``, ``torch.rnn_tanh``, cuDNN on GPUs), with Wolfram's per-gate
    arrays stacked in torch's gate order on each call, so parameters and gradients stay
    Wolfram's arrays. ``gates``: Wolfram's gates in torch's order; ``negate``: gates whose
    arrays enter negated. Torch's state biases (b_hh) are a constant 0: Wolfram has one
    bias per gate (for the GRU, none inside r*(Wms.s)). The "State"/"CellState" ports,
    when shown, are the initial states in and the final ones out. "Dropout" in Train mode:
    "VariationalWeights" alone masks the weight matrices' elements once per pass
    (DropConnect) around the fused kernel; the other methods mask per gate or per step,
    which the kernels cannot, so ``_masked_steps`` runs the steps."""
    from ..layers.recurrent_dropout import probabilities
    states = ("State", "CellState") if run is torch.lstm else ("State",)

    def convert(layer):
        ins, outs = layer.port_names()
        drop = probabilities(layer.values.get("Dropout"))
        per_step = any(p for m, p in drop.items() if m != "VariationalWeights")

        def op(a, xs, training):
            x = xs[0]
            given = dict(zip(ins[1:], xs[1:]))
            if training and per_step:
                finals, y = _masked_steps(layer, a, x, given, drop)
                return [y] + [finals[p] for p in outs[1:]], {}

            def stack(kind, masked=False):
                parts = [-a[g + kind] if g in negate else a[g + kind] for g in gates]
                if masked and training:
                    parts = [w * m for w, m in zip(parts, _masks(parts, drop["VariationalWeights"]))]
                return torch.cat(parts)
            b_ih = stack("Biases")
            zero = x.new_zeros((1, x.shape[0], b_ih.shape[0] // len(gates)))
            hx = [given[p].unsqueeze(0) if p in given else zero for p in states]
            params = [stack("InputWeights", True), stack("StateWeights", True), b_ih,
                      torch.zeros_like(b_ih)]
            # (input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
            #  batch_first)
            y, *finals = run(x, tuple(hx) if run is torch.lstm else hx[0], params, True, 1,
                             0.0, training, False, True)
            by_port = {p: f.squeeze(0) for p, f in zip(states, finals)}
            return [y] + [by_port[p] for p in outs[1:]], {}
        return op
    return convert


def _mask(like, p: float, shape: tuple):
    """Kept with probability 1 - p, scaled by 1/(1 - p) (all 0 when p is 1), as netdsl's
    recurrent dropout; None for p = 0."""
    if p <= 0:
        return None
    keep = (torch.rand(shape, device=like.device) >= p).to(like.dtype)
    return keep * (0.0 if p >= 1 else 1.0 / (1.0 - p))


def _masks(tensors: list, p: float) -> list:
    return [m if m is not None else 1.0 for m in (_mask(t, p, tuple(t.shape)) for t in tensors)]


def _masked_steps(layer, a, x, given, drop) -> tuple[dict, Any]:
    """Wolfram's recurrent formulas step by step with netdsl's Train-mode dropout masks:
    "VariationalWeights" on every weight element (one mask per pass), "VariationalInput"
    and "VariationalState" per gate and example (the same at every step), "StateUpdate"
    new at every step on LSTM's memory value m, GRU's candidate, BasicRecurrentLayer's
    previous state. Gates in Wolfram's stacking order (``layer.gates``)."""
    kind = layer.name
    g = layer.gates
    wx = [a[k + "InputWeights"] for k in g]
    ws = [a[k + "StateWeights"] for k in g]
    wx = [w * m for w, m in zip(wx, _masks(wx, drop["VariationalWeights"]))]
    ws = [w * m for w, m in zip(ws, _masks(ws, drop["VariationalWeights"]))]
    batch, n, d = x.shape
    h = ws[0].shape[0]
    mx = _mask(x, drop["VariationalInput"], (len(g), batch, 1, d))
    ms = _mask(x, drop["VariationalState"], (len(g), batch, h))
    mu = _mask(x, drop["StateUpdate"], (n, batch, h))
    px = [(x if mx is None else x * mx[k]) @ wx[k].T + a[k_ + "Biases"]
          for k, k_ in enumerate(g)]                                     # (N, n, h) per gate
    s = given.get("State", x.new_zeros((batch, h)))
    c = given.get("CellState", x.new_zeros((batch, h)))

    def q(k, state):
        return (state if ms is None else state * ms[k]) @ ws[k].T

    ys = []
    for t in range(n):
        if kind == "LongShortTermMemoryLayer":          # gates Input, Output, Forget, Memory
            i, o, f = (torch.sigmoid(px[k][:, t] + q(k, s)) for k in range(3))
            m = torch.tanh(px[3][:, t] + q(3, s))
            c = f * c + i * (m if mu is None else m * mu[t])
            s = o * torch.tanh(c)
        elif kind == "GatedRecurrentLayer":              # gates Input, Reset, Memory
            z, r = (torch.sigmoid(px[k][:, t] + q(k, s)) for k in range(2))
            m = torch.tanh(px[2][:, t] + r * q(2, s))
            s = s + z * ((m if mu is None else m * mu[t]) - s)
        else:                                            # the previous state is dropped
            prev = s if mu is None else s * mu[t]
            s = torch.tanh(px[0][:, t] + q(0, prev))
        ys.append(s)
    return {"State": s, "CellState": c}, torch.stack(ys, dim=1)


# torch's LSTM rows (i, f, g, o) are Wolfram's InputGate, ForgetGate, MemoryGate, OutputGate;
# its GRU rows (r, z, n) ResetGate, InputGate negated (torch keeps the old state where z is
# 1, Wolfram the new one: sigma(-a) = 1 - sigma(a)), MemoryGate.
register_torch_layer("LongShortTermMemoryLayer")(
    _recurrent(torch.lstm, ("InputGate", "ForgetGate", "MemoryGate", "OutputGate")))
register_torch_layer("GatedRecurrentLayer")(
    _recurrent(torch.gru, ("ResetGate", "InputGate", "MemoryGate"), negate=("InputGate",)))
register_torch_layer("BasicRecurrentLayer")(_recurrent(torch.rnn_tanh, ("",)))
