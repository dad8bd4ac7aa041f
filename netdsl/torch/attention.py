"""AttentionLayer and SequenceAttentionLayer as torch functions, batch-first, with netdsl's
semantics (netdsl/layers/attention_core.py): "Dot" or "Bilinear" scores (s = q . (W k)),
"Causal" and "Causal" -> n masks, "LengthSqrt" and "DimensionSqrt" rescaling, "MultiHead"
(the level before the channels counts heads) and, in Train mode, dropout on the attention
weights (torch's random numbers, so not netdsl's draw for draw).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..layers.attention_core import causal_hidden
from .layers import register_torch_layer


def _heads(x: torch.Tensor, heads: bool) -> torch.Tensor:
    """(N, d1.., [H], c) -> (N, H, L, c)."""
    h = x.shape[-2] if heads else 1
    return x.reshape(x.shape[0], -1, h, x.shape[-1]).transpose(1, 2)


def _attend(k, v, q, w, window, rescaling, dropout, training):
    kp = k if w is None else k @ w.T
    scores = q @ kp.transpose(-1, -2)                              # (N, H, M, L)
    m, length = scores.shape[-2:]
    if rescaling == "LengthSqrt":
        if window is not None:
            seen = torch.clamp(torch.arange(1, m + 1, dtype=scores.dtype), max=window)
            scores = scores / seen.sqrt()[:, None]
        else:
            scores = scores / math.sqrt(length)
    elif rescaling == "DimensionSqrt":
        scores = scores / math.sqrt(q.shape[-1])
    if window is not None:
        hidden = torch.from_numpy(causal_hidden(m, length, window))
        scores = scores.masked_fill(hidden, -math.inf)
    att = torch.softmax(scores, dim=-1)
    if training and dropout > 0:
        att = F.dropout(att, dropout, training=True)
    return att @ v                                                 # (N, H, M, v)


@register_torch_layer("AttentionLayer")
def _attention(layer):
    heads = bool(layer.head_levels)
    window, rescaling = layer.window, layer.values["ScoreRescaling"]
    dropout = float(layer.values["Dropout"])

    def op(a, xs, training):
        key, value, query = xs
        out = _attend(_heads(key, heads), _heads(value, heads), _heads(query, heads),
                      a.get("Weights"), window, rescaling, dropout, training)
        shape = query.shape[:-1] + (value.shape[-1],)
        return [out.transpose(1, 2).reshape(shape)], {}
    return op


@register_torch_layer("SequenceAttentionLayer")
def _sequence_attention(layer):
    def op(a, xs, training):
        x, query = xs
        k = _heads(x, False)
        out = _attend(k, k, _heads(query, False), a.get("Weights"), None, None, 0.0, False)
        return [out.transpose(1, 2).reshape(query.shape[:-1] + (x.shape[-1],))], {}
    return op
