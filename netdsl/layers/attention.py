"""AttentionLayer[], AttentionLayer[net]: Wolfram's attention over keys, values and queries.

Ports (Wolfram's): "Key" {d1, ..., dn, k}, "Value" {d1, ..., dn, v}, "Query"
{q1, ..., qm, q} (m may be 0: a single query vector) -> "Output" {q1, ..., qm, v}. For
each query vector the output is Sum_j softmax(s)_j v_j over the d1 x ... x dn key/value
positions, with scores s_j = f(k_j, q) from the scoring net (attention_core.py).

Options, with Wolfram's defaults:
  "ScoringNet" (the first argument): "Bilinear" (default; array "Weights" {q, k}) or "Dot";
    a net (ports "Input" {k}, "Query" {q} -> "Output" a real number) makes an operator
    around it instead (graph/attention_net.py).
  "Mask": None, "Causal": query i sees keys 1..i only (one sequence level; the query
    has the keys' length), or "Causal" -> n: a local window, keys i-n+1..i (n keys).
  "ScoreRescaling": None, "LengthSqrt" (scores / Sqrt[number of keys], with "Causal"
    Sqrt[i] for query i, the keys it sees; Sqrt[Min[i, n]] in a window n), "DimensionSqrt"
    (scores / Sqrt[q], as in Transformers).
  "MultiHead": False, or True: the level before the channels counts heads, and each head
    attends on its own (Key {n, h, k}, Value {n, h, v}, Query {m, h, q} -> {m, h, v}).
  "Dropout": 0; in Train mode each attention weight is dropped with this probability and
    the rest scaled by 1/(1 - p).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..expr import Expr, Symbol, is_integer, is_rule
from .arrays import NO_ARRAY
from .attention_core import (attend, attend_backward, from_heads, need_rank, scoring_net,
                             set_dim, tie_dot_sizes, to_heads, varying_default, weights_dims,
                             weights_in, weights_out)
from .base import (LEARNING_RATE_MULTIPLIERS, ArraySpec, Infer, Layer, Net, Option, Param,
                   boolean, real_between)
from .registry import register_layer

NONE = Symbol("None")
# AttentionLayer[net]: a net as the scoring net makes an operator around it, which the
# graph stage builds (graph/attention_net.py registers "build")
NET_SCORING: dict[str, Callable[..., Any]] = {}


def _mask(x: Any) -> Any:
    if x is NONE or x is None:
        return NONE
    if x == "Causal":
        return x
    if is_rule(x) and x.args[0] == "Causal" and is_integer(x.args[1]) and x.args[1] >= 1:
        return Expr(Symbol("Rule"), "Causal", x.args[1])
    raise ValueError('expected None, "Causal" or "Causal" -> n (a window of n keys)')


def _rescaling(x: Any) -> Any:
    if x is NONE or x is None:
        return NONE
    if x in ("LengthSqrt", "DimensionSqrt"):
        return x
    raise ValueError('expected None, "LengthSqrt" or "DimensionSqrt"')


def _dropout(x: Any) -> float:
    return 0.0 if x is NONE else real_between(0, 1)(x)


@register_layer
class AttentionLayer(Layer):
    name = "AttentionLayer"
    summary = "attention: for each query, the values weighted by the softmax of its scores"
    positional = (Param("ScoringNet", scoring_net, optional=True, default="Bilinear"),)
    options = (Option("Mask", NONE, _mask),
               Option("ScoreRescaling", NONE, _rescaling),
               Option("MultiHead", False, boolean),
               Option("Dropout", 0.0, _dropout),
               LEARNING_RATE_MULTIPLIERS)
    hidden = ("KeySize", "ValueSize", "QuerySize")
    key_size = "KeySize"   # the size a scoring net's "Input" has (graph/attention_net.py)
    array_specs = (ArraySpec("Weights", ("QuerySize", "KeySize"), optional=True),)
    # where Wolfram's NetExtract finds them: its "Bilinear" scoring net's LinearLayer
    array_paths = {("ScoringNet", "Linear", "Weights"): "Weights"}
    inputs = ("Key", "Value", "Query")
    # the softmax weights, shown when read: NetPort[{"att", "AttentionWeights"}]
    optional_outputs = ("AttentionWeights",)
    has_train_behavior = True

    @classmethod
    def build(cls, args: tuple, call: Any) -> Layer:
        if args and isinstance(args[0], Net) and "build" in NET_SCORING:
            return NET_SCORING["build"](cls, args, call)
        layer = super().build(args, call)
        given = layer.arrays.get("Weights")
        if layer.values["ScoringNet"] == "Dot":
            if given is not None and given is not NO_ARRAY:
                raise cls.error("invarr", 'The "Dot" scoring net has no array "Weights"; use '
                                          '"Bilinear" for a learned W in s = q . (W k).')
            return layer.evolve(arrays={**layer.arrays, "Weights": NO_ARRAY})
        if given is NO_ARRAY:
            raise cls.error("invarr", 'The array "Weights" of the "Bilinear" scoring net '
                                      "cannot be None.")
        return layer

    def check_options(self) -> None:
        if self.values["Dropout"] >= 1:
            raise self.error("invopt", "The dropout probability must be below 1.")

    def example_coupling(self, train: bool) -> str:
        """Per example; "Dropout" draws from ctx.rng."""
        return "random" if train and self.values["Dropout"] > 0 else "none"

    # ---- shape rule -----------------------------------------------------------------
    @property
    def head_levels(self) -> int:
        return 1 if self.values["MultiHead"] else 0

    @property
    def causal(self) -> bool:
        return self.window is not None

    @property
    def window(self) -> float | None:
        """The causal mask's window: None (no mask), inf ("Causal") or n ("Causal" -> n)."""
        mask = self.values["Mask"]
        return math.inf if mask == "Causal" else mask.args[1] if is_rule(mask) else None

    def infer(self, s: Infer) -> None:
        h = self.head_levels
        exact = self.causal
        for port in ("Key", "Value"):
            need_rank(s, port, 2 + h, exact)
        need_rank(s, "Query", (2 if exact else 1) + h, exact)
        need_rank(s, "Output", (2 if exact else 1) + h, exact)
        # Key and Value: one array of positions, each with its own channels
        for a, b in (("Key", "Value"), ("Value", "Key")):
            other = s.port(b)
            if other is not None:
                s.refine(a, tuple(other[:-1]) + (None,), f'"{b}" port')
        # Output: the query's positions (and heads), with the values' channels
        q, o = s.port("Query"), s.port("Output")
        if q is not None:
            s.refine("Output", tuple(q[:-1]) + (None,), '"Query" port')
        if o is not None:
            s.refine("Query", tuple(o[:-1]) + (None,), '"Output" port')
        for port, size in (("Key", "KeySize"), ("Value", "ValueSize"), ("Query", "QuerySize")):
            shape = s.port(port)
            if shape is not None:
                s.set_value(size, shape[-1], f'"{port}" port')
                set_dim(s, port, -1, s.value(size), f'parameter "{size}"')
        if s.port("Output") is not None:
            s.set_value("ValueSize", s.port("Output")[-1], '"Output" port')
            set_dim(s, "Output", -1, s.value("ValueSize"), '"Value" port')
            set_dim(s, "Value", -1, s.value("ValueSize"), '"Output" port')
        if h:   # the heads: one count for all four ports
            counts = [s.port(p)[-2] for p in ("Key", "Value", "Query", "Output")
                      if s.port(p) is not None and s.port(p)[-2] is not None]
            for p in ("Key", "Value", "Query", "Output"):
                set_dim(s, p, -2, counts[0] if counts else None, "the number of heads")
        if self.causal:   # the query runs along the keys: one length for both
            k, q = s.port("Key"), s.port("Query")
            if k is not None and q is not None:
                s.refine("Query", (k[0],) + (None,) * (len(q) - 1), '"Key" port')
                s.refine("Key", (s.port("Query")[0],) + (None,) * (len(k) - 1), '"Query" port')
        if self.values["ScoringNet"] == "Dot":
            tie_dot_sizes(s, "KeySize", "keys")
        self.infer_weights(s)

    def infer_weights(self, s: Infer) -> None:
        """"AttentionWeights" (when shown): {query positions, [heads], key positions}."""
        q, k = s.port("Query"), s.port("Key")
        if "AttentionWeights" in s.ports and q is not None and k is not None:
            s.refine("AttentionWeights", weights_dims(q, k, self.head_levels),
                     '"Query" and "Key" ports')

    def default_ports(self, s: Infer) -> None:
        """A length nothing fixed is "Varying" (the keys and values share it; with a causal
        mask, the queries too)."""
        n = varying_default(s, "Key")
        if n is not None:
            s.refine("Value", (n,) + (None,) * (len(s.port("Value")) - 1), '"Key" port')
        q = s.port("Query")
        if q is not None and len(q) >= 2 + self.head_levels:
            varying_default(s, "Query", n if self.causal else None)
            s.refine("Output", (s.port("Query")[0],) + (None,) * (len(q) - 1), '"Query" port')
        self.infer_weights(s)

    # ---- numerics: see attention_core ----------------------------------------------------
    def forward(self, ctx, arrays, key, value, query):
        heads = bool(self.head_levels)
        k, v, q = to_heads(key, heads), to_heads(value, heads), to_heads(query, heads)
        out, (att, cache) = attend(ctx, k, v, q, arrays.get("Weights"), self.window,
                                   self.values["ScoreRescaling"], self.values["Dropout"])
        shape = query.shape[:-2] + (value.shape[-2], query.shape[-1])
        outs = [from_heads(out, shape)]
        if len(self.port_names()[1]) > 1:   # "AttentionWeights" read
            dims = weights_dims(query.shape[:-1], key.shape[:-1], self.head_levels)
            outs.append(weights_out(att, dims + (query.shape[-1],)))
        return outs, ((cache, key.shape, value.shape, query.shape) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy, *dweights):
        inner, kshape, vshape, qshape = cache
        heads = bool(self.head_levels)
        datt = weights_in(dweights[0], inner[5].shape) if dweights else None
        dk, dv, dq, dw = attend_backward(inner, to_heads(dy, heads), datt)
        grads = {} if dw is None else {"Weights": dw.astype(arrays["Weights"].dtype)}
        return [from_heads(dk, kshape), from_heads(dv, vshape), from_heads(dq, qshape)], grads
