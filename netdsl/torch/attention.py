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

from ..layers.attention_core import causal_hidden, weights_dims
from .layers import register_torch_layer


def _heads(x: torch.Tensor, heads: bool) -> torch.Tensor:
    """(N, d1.., [H], c) -> (N, H, L, c)."""
    h = x.shape[-2] if heads else 1
    return x.reshape(x.shape[0], -1, h, x.shape[-1]).transpose(1, 2)


def _attend(k, v, q, w, window, rescaling, dropout, training):
    kp = k if w is None else k @ w.T
    scores = q @ kp.transpose(-1, -2)                              # (N, H, M, L)
    return _attend_scores(scores, v, q.shape[-1], window, rescaling, dropout, training)


def _attend_scores(scores, v, query_size, window, rescaling, dropout, training):
    """Rescaling, mask, softmax and (Train mode) dropout of the scores; the weighted
    values and the weights."""
    m, length = scores.shape[-2:]
    if rescaling == "LengthSqrt":
        if window is not None:
            seen = torch.clamp(torch.arange(1, m + 1, dtype=scores.dtype), max=window)
            scores = scores / seen.sqrt()[:, None]
        else:
            scores = scores / math.sqrt(length)
    elif rescaling == "DimensionSqrt":
        scores = scores / math.sqrt(query_size)
    if window is not None:
        hidden = torch.from_numpy(causal_hidden(m, length, window))
        scores = scores.masked_fill(hidden, -math.inf)
    att = torch.softmax(scores, dim=-1)
    used = F.dropout(att, dropout, training=True) if training and dropout > 0 else att
    return used @ v, att                                           # (N, H, M, v), (N, H, M, L)


def _weights(layer, att: torch.Tensor, query_dims: tuple, key_dims: tuple) -> list:
    """[the "AttentionWeights" output, batch-first] when the layer shows it, else []."""
    if len(layer.port_names()[1]) == 1:
        return []
    dims = weights_dims(query_dims, key_dims, layer.head_levels)
    return [att.permute(0, 2, 1, 3).reshape((att.shape[0],) + tuple(dims))]


@register_torch_layer("AttentionLayer")
def _attention(layer):
    heads = bool(layer.head_levels)
    window, rescaling = layer.window, layer.values["ScoreRescaling"]
    dropout = float(layer.values["Dropout"])

    def op(a, xs, training):
        key, value, query = xs
        out, att = _attend(_heads(key, heads), _heads(value, heads), _heads(query, heads),
                           a.get("Weights"), window, rescaling, dropout, training)
        shape = query.shape[:-1] + (value.shape[-1],)
        return [out.transpose(1, 2).reshape(shape)] + _weights(
            layer, att, tuple(query.shape[1:]), tuple(key.shape[1:])), {}
    return op


@register_torch_layer("SequenceAttentionLayer")
def _sequence_attention(layer):
    def op(a, xs, training):
        x, query = xs
        k = _heads(x, False)
        out, att = _attend(k, k, _heads(query, False), a.get("Weights"), None, None, 0.0, False)
        return [out.transpose(1, 2).reshape(query.shape[:-1] + (x.shape[-1],))] + _weights(
            layer, att, tuple(query.shape[1:]), tuple(x.shape[1:])), {}
    return op
