"""SequenceAttentionLayer[], SequenceAttentionLayer[net]: Wolfram's older attention layer.

It is AttentionLayer with one "Input" port serving as both keys and values (Wolfram: "It
should no longer be used", but old nets have it). Ports: "Input" {n, d} (a sequence of
vectors), "Query" {m, q} -> "Output" {m, d}: for each query vector, the input vectors
weighted by the softmax of the scores s_j = f(x_j, q). "ScoringNet" (the first argument):
"Bilinear" (default; array "Weights" {q, d}: s = q . (W x)) or "Dot" (s = q . x, d = q),
or a net (ports "Input" {d}, "Query" {q} -> "Output" {}: an operator around it, as
AttentionLayer[net], graph/attention_net.py).
Both lengths are "Varying" unless given, and independent.
"""

from __future__ import annotations

from typing import Any

from .arrays import NO_ARRAY
from .attention_core import (attend, attend_backward, from_heads, scoring_net, tie_dot_sizes,
                             to_heads, weights_dims, weights_in, weights_out)
from .attention import NET_SCORING
from .base import LEARNING_RATE_MULTIPLIERS, ArraySpec, Infer, Layer, Net, Param
from .registry import register_layer
from .shapes import LengthVar


@register_layer
class SequenceAttentionLayer(Layer):
    name = "SequenceAttentionLayer"
    summary = "attention of a sequence of queries over one input sequence (old AttentionLayer)"
    positional = (Param("ScoringNet", scoring_net, optional=True, default="Bilinear"),)
    options = (LEARNING_RATE_MULTIPLIERS,)
    hidden = ("InputSize", "QuerySize")
    key_size = "InputSize"   # the size a scoring net's "Input" has (graph/attention_net.py)
    array_specs = (ArraySpec("Weights", ("QuerySize", "InputSize"), optional=True),)
    inputs = ("Input", "Query")
    # the softmax weights {query length, input length}, shown when read
    optional_outputs = ("AttentionWeights",)
    head_levels = 0     # no "MultiHead" (AttentionLayer's, for code serving both)

    @classmethod
    def build(cls, args: tuple, call: Any) -> Layer:
        if args and isinstance(args[0], Net) and "build" in NET_SCORING:
            return NET_SCORING["build"](cls, args, call)   # a net: graph/attention_net.py
        layer = super().build(args, call)
        given = layer.arrays.get("Weights")
        if layer.values["ScoringNet"] == "Dot":
            if given is not None and given is not NO_ARRAY:
                raise cls.error("invarr", 'The "Dot" scoring net has no array "Weights".')
            return layer.evolve(arrays={**layer.arrays, "Weights": NO_ARRAY})
        if given is NO_ARRAY:
            raise cls.error("invarr", 'The array "Weights" of the "Bilinear" scoring net '
                                      "cannot be None.")
        return layer

    def infer(self, s: Infer) -> None:
        for port in ("Input", "Query", "Output"):
            s.refine(port, (None, None), "a sequence of vectors")
        x, q, o = s.port("Input"), s.port("Query"), s.port("Output")
        s.set_value("InputSize", x[1], '"Input" port')
        s.set_value("InputSize", o[1], '"Output" port')
        s.set_value("QuerySize", q[1], '"Query" port')
        s.refine("Input", (None, s.value("InputSize")), 'parameter "InputSize"')
        s.refine("Output", (s.port("Query")[0], s.value("InputSize")), '"Query" port')
        s.refine("Query", (s.port("Output")[0], s.value("QuerySize")), '"Output" port')
        if self.values["ScoringNet"] == "Dot":
            tie_dot_sizes(s, "InputSize", "inputs")
        if "AttentionWeights" in s.ports:
            s.refine("AttentionWeights", weights_dims(s.port("Query"), s.port("Input"), 0),
                     '"Query" and "Input" ports')

    def default_ports(self, s: Infer) -> None:
        """Lengths nothing fixed are "Varying", each its own (Wolfram's LengthVars)."""
        if s.port("Input")[0] is None:
            s.refine("Input", (LengthVar(), None), "its definition")
        if s.port("Query")[0] is None:
            s.refine("Query", (LengthVar(), None), "its definition")
            s.refine("Output", (s.port("Query")[0], None), '"Query" port')
        if "AttentionWeights" in s.ports:
            s.refine("AttentionWeights", weights_dims(s.port("Query"), s.port("Input"), 0),
                     '"Query" and "Input" ports')

    # ---- numerics: attention_core with the input as keys and values ------------------------
    def forward(self, ctx, arrays, x, query):
        k, q = to_heads(x, False), to_heads(query, False)
        out, (att, cache) = attend(ctx, k, k, q, arrays.get("Weights"), None, None, 0.0)
        outs = [from_heads(out, (query.shape[0], x.shape[1], x.shape[2]))]
        if len(self.port_names()[1]) > 1:   # "AttentionWeights" read
            outs.append(weights_out(att, (query.shape[0], x.shape[0], x.shape[2])))
        return outs, ((cache, x.shape, query.shape) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy, *dweights):
        inner, xshape, qshape = cache
        datt = weights_in(dweights[0], inner[5].shape) if dweights else None
        dk, dv, dq, dw = attend_backward(inner, to_heads(dy, False), datt)
        grads = {} if dw is None else {"Weights": dw.astype(arrays["Weights"].dtype)}
        return [from_heads(dk + dv, xshape), from_heads(dq, qshape)], grads
