"""BatchNormalizationLayer: per-channel normalisation with learned scale and shift.

Test mode:  Scaling (x - MovingMean) / Sqrt[MovingVariance + Epsilon] + Biases
Train mode: the batch's own mean and biased variance per channel (over the batch and
every non-channel dimension); NetTrain then moves the moving statistics by
m <- Momentum m + (1 - Momentum) batch.
"""

from __future__ import annotations

import numpy as np

from .registry import register_layer
from .base import (LEARNING_RATE_MULTIPLIERS, ArraySpec, Infer, Layer, Option, boolean,
                   positive_real, real_between)


_BLOCK = 256   # elements per float32 partial sum; the partial sums are added in float64


def channel_sum(a: np.ndarray) -> np.ndarray:
    """Sum of each row of a (C, M) array, in float64.

    Blocks of _BLOCK elements are summed by BLAS in the data's precision (relative error
    ~1e-8 for float32), the block sums in float64: 4x faster than sum(dtype=float64),
    which casts every element, and as accurate as statistics need.
    """
    c, m = a.shape
    nb = m // _BLOCK
    if nb < 2 or a.dtype == np.float64:
        return a.sum(axis=1, dtype=np.float64)
    ones = np.ones(_BLOCK, a.dtype)
    s = np.matmul(a[:, :nb * _BLOCK].reshape(c, nb, _BLOCK), ones).sum(axis=1, dtype=np.float64)
    if nb * _BLOCK < m:
        s += a[:, nb * _BLOCK:].sum(axis=1, dtype=np.float64)
    return s


def channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum over each row of a * b, both (C, M), in float64 (blocked as ``channel_sum``)."""
    c, m = a.shape
    nb = m // _BLOCK
    if nb < 2 or a.dtype == np.float64:
        return np.einsum("ij,ij->i", a, b, dtype=np.float64)
    k = nb * _BLOCK
    s = np.matmul(a[:, :k].reshape(c, nb, 1, _BLOCK),
                  b[:, :k].reshape(c, nb, _BLOCK, 1))[..., 0, 0].sum(axis=1, dtype=np.float64)
    if k < m:
        s += np.einsum("ij,ij->i", a[:, k:], b[:, k:], dtype=np.float64)
    return s


def _no_interleaving(x):
    if boolean(x):
        raise ValueError("Interleaving -> True (channels last) is not supported by netdsl")
    return False


@register_layer
class BatchNormalizationLayer(Layer):
    name = "BatchNormalizationLayer"
    summary = "normalises each channel by learned mean and variance"
    has_train_behavior = True
    fresh_output = True
    options = (
        Option("Epsilon", 0.001, positive_real),
        Option("Momentum", 0.9, real_between(0, 1)),
        Option("Interleaving", False, _no_interleaving, shown=False),
        LEARNING_RATE_MULTIPLIERS,
    )
    hidden = ("Channels",)
    array_specs = (
        ArraySpec("Scaling", ("Channels",), init="ones"),
        ArraySpec("Biases", ("Channels",), init="zeros"),
        ArraySpec("MovingMean", ("Channels",), init="zeros", aux=True),
        ArraySpec("MovingVariance", ("Channels",), init="ones", aux=True),
    )

    def infer(self, s: Infer) -> None:
        s.same("Input", "Output")
        x = s.port("Input")
        if x is None:
            return
        if len(x) == 0 or s.port_type("Input").integer:
            s.fail('the "Input" port must be an array of rank ≥ 1 (channels first)')
        s.set_value("Channels", x[0], '"Input" port')
        c = s.value("Channels")
        s.refine("Input", (c,) + x[1:], 'parameter "Channels"')
        s.same("Input", "Output")

    # ---- numerics: x (C, ..., N) seen as (C, M), M = the batch times all non-channel sizes --
    # Per-channel factors are computed in float64 and applied in the data's precision;
    # statistics are accumulated in float64 (channel_sum / channel_dot).
    def forward(self, ctx, arrays, x):
        c = x.shape[0]
        x2 = x.reshape(c, -1)
        dt = x.dtype
        eps = float(self.values["Epsilon"])
        gamma = np.asarray(arrays["Scaling"], np.float64)
        beta = np.asarray(arrays["Biases"], np.float64)
        if not ctx.train:
            mm = np.asarray(arrays["MovingMean"], np.float64)
            r = 1.0 / np.sqrt(np.asarray(arrays["MovingVariance"], np.float64) + eps)
            scale = gamma * r
            y = np.multiply(x2, scale.astype(dt)[:, None])
            y += (beta - mm * scale).astype(dt)[:, None]
            cache = {"train": False, "x2": x2, "mm": mm, "r": r, "gamma": gamma} \
                if ctx.grad else None
            return [y.reshape(x.shape)], cache
        # the batch's sums: over every lane's examples when the batch is split (lanes)
        total = ctx.across(np.append(channel_sum(x2), x2.shape[1]))
        mean, m = total[:-1] / total[-1], total[-1]
        xc = np.subtract(x2, mean.astype(dt)[:, None])        # centred: an accurate variance
        var = ctx.across(channel_dot(xc, xc)) / m              # biased: divide by M
        invstd = 1.0 / np.sqrt(var + eps)
        stats = {"train": True, "mean": mean, "var": var}
        if not ctx.grad:                                     # y = xc gamma/sd + beta, in place
            xc *= (gamma * invstd).astype(dt)[:, None]
            xc += beta.astype(dt)[:, None]
            return [xc.reshape(x.shape)], stats
        y = np.multiply(xc, (gamma * invstd).astype(dt)[:, None])  # xc kept for backward:
        y += beta.astype(dt)[:, None]                      # x-hat = xc invstd, never stored
        stats.update(xc=xc, invstd=invstd, gamma=gamma, m=m)
        return [y.reshape(x.shape)], stats

    def example_coupling(self, train: bool) -> str:
        """Train mode: the batch statistics, as sums through ``ctx.across``."""
        return "sums" if train else "none"

    def backward(self, ctx, arrays, cache, dy):
        c = dy.shape[0]
        dy2 = dy.reshape(c, -1)
        dt = dy.dtype
        dbeta = channel_sum(dy2)
        need_dx = getattr(ctx, "need_dx", True)
        dx = None
        if not cache["train"]:
            xn = np.subtract(cache["x2"], cache["mm"].astype(dt)[:, None])
            xn *= cache["r"].astype(dt)[:, None]
            dgamma = channel_dot(dy2, xn)
            if need_dx:
                dx = np.multiply(dy2, (cache["gamma"] * cache["r"]).astype(dt)[:, None])
        else:
            xc, invstd, m = cache["xc"], cache["invstd"], cache["m"]
            dgamma = channel_dot(dy2, xc) * invstd             # Total[dy x-hat]
            k = cache["gamma"] * invstd
            if need_dx:     # dx = gamma/sd (dy - mean(dy) - x-hat mean(dy x-hat))
                # over the whole batch (every lane's part); the arrays' gradients below
                # stay this part's own (the lanes' gradients are added up after)
                c = dgamma.size
                both = ctx.across(np.concatenate([dgamma, dbeta]))
                dx = np.multiply(dy2, k.astype(dt)[:, None])
                dx -= np.multiply(xc, (k * both[:c] * invstd / m).astype(dt)[:, None])
                dx -= (k * both[c:] / m).astype(dt)[:, None]
        grads = {"Scaling": dgamma.astype(arrays["Scaling"].dtype),
                 "Biases": dbeta.astype(arrays["Biases"].dtype)}
        return [None if dx is None else dx.reshape(dy.shape)], grads

    def moving_updates(self, arrays, cache):
        """MovingMean/MovingVariance moved toward this batch's mean and biased variance
        (frozen when "Momentum" is 1)."""
        mom = float(self.values["Momentum"])
        if not cache or not cache.get("train") or mom == 1:
            return {}
        out = {}
        for name, batch in (("MovingMean", cache["mean"]), ("MovingVariance", cache["var"])):
            old = np.asarray(arrays[name], np.float64)
            out[name] = (mom * old + (1.0 - mom) * batch).astype(np.float32)
        return out

    def test_affine(self, arrays):
        """Test mode is Scaling (x - MovingMean)/Sqrt[MovingVariance + Epsilon] + Biases."""
        with np.errstate(all="ignore"):
            scale = (np.asarray(arrays["Scaling"], np.float64)
                     / np.sqrt(np.asarray(arrays["MovingVariance"], np.float64)
                               + float(self.values["Epsilon"])))
        if not np.all(np.isfinite(scale)):
            return None   # left to the layer itself, which reports the problem
        shift = np.asarray(arrays["Biases"], np.float64) \
            - np.asarray(arrays["MovingMean"], np.float64) * scale
        return scale, shift
