"""What AttentionLayer and SequenceAttentionLayer share: the scoring nets, the shape
helpers and the numerics of attention.

For keys k_j, values v_j (j over the d1 x ... x dn positions of the Key/Value arrays) and a
query vector q, Wolfram's attention computes scores s_j = f(k_j, q) with the scoring net f,
weights w = softmax(s) and the output o = Sum_j w_j v_j, for every query vector of the
Query array. The scoring nets are Wolfram's two named ones:

  "Dot"       s = q . k                          (key and query of one size)
  "Bilinear"  s = q . (W k)                      W {QuerySize, KeySize}, learned

("Bilinear" is Wolfram's NetGraph of LinearLayer["Biases" -> None] on the key, then
DotLayer with the query: its array is that LinearLayer's "Weights".)

The numerics run on (N, H, L, c) arrays: batch, heads (1 unless "MultiHead" -> True),
positions, channels, so that all scores are one batched matmul (Q K^T) and all outputs
another (A V); no loop over examples, heads or queries. Examples of different lengths
never meet here: the executor runs each group of equal lengths on its own, so no padding
or mask is needed for them (Wolfram masks its padded batches to the same effect).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Infer, Net
from .shapes import LengthVar

SCORING_NETS = ("Dot", "Bilinear")


def scoring_net(x: Any) -> str:
    """The "ScoringNet" setting of the layer itself: "Dot" or "Bilinear" (a net makes
    AttentionLayer[net], an operator around it: graph/attention_net.py)."""
    if x in SCORING_NETS:
        return x
    if isinstance(x, Net):   # (reached only when graph/attention_net.py is not loaded)
        raise ValueError("a net as the scoring net needs the graph stage")
    raise ValueError('expected "Dot", "Bilinear" or a net')


def dims_known(shape: tuple | None, rank: int) -> tuple | None:
    """``shape`` when it has that rank; None when unknown."""
    return shape if shape is not None and len(shape) == rank else None


def need_rank(s: Infer, port: str, low: int, exact: bool = False) -> tuple | None:
    """The port's shape, checked to have rank >= low (or == low), as Wolfram's message."""
    shape = s.port(port)
    if shape is None:
        return None
    if len(shape) < low or exact and len(shape) != low:
        spec = "{" + ", ".join("n" if not isinstance(d, int) else str(d) for d in shape) + "}"
        what = f"of rank {low}" if exact else f"of rank \u2265 {low}"
        s.fail(f'Specification {spec} is not compatible with port "{port}", which must be '
               f"an array {what}")
    return shape


def set_dim(s: Infer, port: str, index: int, value: Any, because: str) -> None:
    """Refine one dimension (``index`` from the end when negative) of a port of known rank."""
    shape = s.port(port)
    if shape is None or value is None:
        return
    new = [None] * len(shape)
    new[index] = value
    s.refine(port, tuple(new), because)


def varying_default(s: Infer, port: str, length: Any = None) -> Any:
    """Wolfram's default for a sequence whose length nothing fixed: "Varying" (or the
    given length). Returns the port's first dimension afterwards."""
    shape = s.port(port)
    if shape is None or len(shape) < 2:
        return None
    if shape[0] is None:
        s.refine(port, (length if length is not None else LengthVar(),)
                 + (None,) * (len(shape) - 1), "its definition")
    return s.port(port)[0]


# ---------------------------------------------------------------- layout
def to_heads(x: np.ndarray, heads: bool) -> np.ndarray:
    """Batch-last (d1.., [H], c, N) -> (N, H, L, c) (a lone query vector (c, N): L = 1)."""
    x = np.moveaxis(x, -1, 0)                       # (N, d1.., [H], c)
    n, c = x.shape[0], x.shape[-1]
    h = x.shape[-2] if heads else 1
    return np.ascontiguousarray(x.reshape(n, -1, h, c).transpose(0, 2, 1, 3))


def weights_dims(query: tuple, key: tuple, heads: int) -> tuple:
    """The "AttentionWeights" port's dimensions from the Query and Key ports' (Wolfram's
    order): the query positions ({1} for a lone query vector), the heads (with
    "MultiHead"), then the key positions."""
    qpos = tuple(query[:len(query) - 1 - heads]) or (1,)
    return qpos + tuple(key[len(key) - 1 - heads:len(key) - 1]) + tuple(key[:len(key) - 1 - heads])


def weights_out(att: np.ndarray, shape: tuple) -> np.ndarray:
    """The softmax weights (N, H, M, L) as the batch-last "AttentionWeights" ``shape``."""
    return np.ascontiguousarray(att.transpose(2, 1, 3, 0).reshape(shape))


def weights_in(dw: np.ndarray, att_shape: tuple) -> np.ndarray:
    """The batch-last gradient of "AttentionWeights" back to (N, H, M, L)."""
    n, h, m, length = att_shape
    return np.ascontiguousarray(dw.reshape(m, h, length, n).transpose(3, 1, 0, 2))


def from_heads(y: np.ndarray, shape: tuple) -> np.ndarray:
    """(N, H, L, c) back to batch-last ``shape`` (d1.., [H], c, N)."""
    n = y.shape[0]
    y = y.transpose(0, 2, 1, 3).reshape((n,) + tuple(shape[:-1]))
    return np.ascontiguousarray(np.moveaxis(y, 0, -1))


# ---------------------------------------------------------------- numerics
def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched matmul on C-contiguous copies: NumPy's stacked matmul only reaches BLAS for
    contiguous matrices (a transposed view ran 100x slower, measured)."""
    return np.matmul(np.ascontiguousarray(a), np.ascontiguousarray(b))


def project(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x (..., c) times the matrix w (c, c') as one 2-D GEMM."""
    return (x.reshape(-1, x.shape[-1]) @ w).reshape(x.shape[:-1] + (w.shape[1],))


def attend(ctx, keys, values, queries, weights, causal: float | None, rescaling: Any,
           dropout: float, scores: np.ndarray | None = None) -> tuple[np.ndarray, Any]:
    """Attention on (N, H, L, k), (N, H, L, v), (N, H, M, q): the output (N, H, M, v) and
    what ``attend_backward`` needs. ``causal``: None (no mask) or the window w: query i
    sees keys i - w < j <= i (w = inf: "Causal", all keys up to i). ``scores`` (N, H, M,
    L): given by a scoring net (then ``score_grads`` gives their gradient)."""
    kp = None
    if scores is None:
        kp = keys if weights is None else project(keys, weights.T.astype(keys.dtype, copy=False))
        scores = bmm(queries, kp.swapaxes(-1, -2))                 # (N, H, M, L)
    else:
        scores = scores.copy()
    scale = score_scale(rescaling, causal, queries.shape[2], keys.shape[2],
                        queries.shape[3], scores.dtype)
    if scale is not None:
        scores *= scale
    if causal is not None:
        hidden = causal_hidden(scores.shape[-2], scores.shape[-1], causal)
        scores += np.where(hidden, -np.inf, 0).astype(scores.dtype)
    scores -= scores.max(axis=-1, keepdims=True)
    att = np.exp(scores, out=scores)
    att /= att.sum(axis=-1, keepdims=True)
    kept = None
    if ctx.train and dropout > 0:
        keep = ctx.rng.random(att.shape, dtype=np.float32) >= np.float32(dropout)
        kept = np.multiply(keep, 1.0 / (1.0 - dropout), dtype=att.dtype)
    used = att if kept is None else att * kept
    out = bmm(used, values)                                        # (N, H, M, v)
    cache = (keys, values, queries, weights, kp, att, kept, used, scale) if ctx.grad else None
    return out, (att, cache)


def causal_hidden(m: int, length: int, window: float) -> np.ndarray:
    """(M, L) True where query i may not see key j: j > i, or j <= i - window."""
    i, j = np.arange(m)[:, None], np.arange(length)[None, :]
    return (j > i) | (j <= i - window)


def score_scale(rescaling: Any, causal: float | None, m: int, length: int, qsize: int,
                dtype: Any) -> Any:
    """The factor on the scores: "LengthSqrt" divides by Sqrt[number of keys] (with a
    causal mask, the keys query i sees: Sqrt[i], or Sqrt[Min[i, w]] in a window w);
    "DimensionSqrt" by Sqrt[query size]."""
    if rescaling == "LengthSqrt":
        if causal is not None:
            seen = np.minimum(np.arange(1, m + 1), causal).astype(dtype)
            return (1.0 / np.sqrt(seen))[:, None]
        return dtype.type(1.0 / math.sqrt(length))
    if rescaling == "DimensionSqrt":
        return dtype.type(1.0 / math.sqrt(qsize))
    return None


def score_grads(cache: Any, dout: np.ndarray,
                dweights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The gradients of the values (N, H, L, v) and of the scores (N, H, M, L), as the
    scoring net gave them (before rescaling and mask)."""
    _, values, _, _, _, att, kept, used, scale = cache
    dvalues = bmm(used.swapaxes(-1, -2), dout)                     # (N, H, L, v)
    datt = bmm(dout, values.swapaxes(-1, -2))                      # (N, H, M, L)
    if kept is not None:
        datt *= kept
    if dweights is not None:
        datt += dweights
    dscores = att * (datt - (datt * att).sum(axis=-1, keepdims=True))
    if scale is not None:
        dscores *= scale
    return dvalues, dscores


def attend_backward(cache: Any, dout: np.ndarray,
                    dweights: np.ndarray | None = None) -> tuple[Any, ...]:
    """Gradients of keys, values, queries (and the Bilinear weights, or None).
    ``dweights`` (N, H, M, L): the gradient reaching the softmax weights themselves (from
    the "AttentionWeights" port, before dropout), when that port is used."""
    keys, values, queries, weights, kp, att, kept, used, scale = cache
    dvalues, dscores = score_grads(cache, dout, dweights)
    dqueries = bmm(dscores, kp)                                    # (N, H, M, q)
    dkp = bmm(dscores.swapaxes(-1, -2), queries)                   # (N, H, L, q)
    if weights is None:
        return dkp, dvalues, dqueries, None
    w = weights.astype(keys.dtype, copy=False)
    dkeys = project(dkp, w)
    dweights = dkp.reshape(-1, dkp.shape[-1]).T @ keys.reshape(-1, keys.shape[-1])
    return dkeys, dvalues, dqueries, dweights


def tie_dot_sizes(s: Infer, key: str, what: str) -> None:
    """The "Dot" scoring net multiplies keys by queries: parameter ``key`` ("KeySize",
    "InputSize") and "QuerySize" are one size."""
    ks, qs = s.value(key), s.value("QuerySize")
    if ks is not None and qs is not None and ks != qs:
        s.fail(f"cannot take dot product of arrays with shapes {ks} and {qs} (the "
               f'"Dot" scoring net needs {what} and queries of one size)')
    s.set_value("QuerySize", ks, f'parameter "{key}"')
    s.set_value(key, qs, 'parameter "QuerySize"')
