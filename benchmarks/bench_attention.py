"""Causal multi-head self-attention: netdsl's AttentionLayer against PyTorch's
scaled_dot_product_attention, in one run.

    python benchmarks/bench_attention.py [--batch 32] [--length 128] [--heads 4] [--dim 32]

The layer is AttentionLayer["Dot", "Mask" -> "Causal", "ScoreRescaling" -> "DimensionSqrt",
"MultiHead" -> True] on keys = values = queries {length, heads, dim}; PyTorch's call is
F.scaled_dot_product_attention(q, k, v, is_causal=True) on (batch, heads, length, dim).
Both are timed in this process (ratios are what matter on a shared machine):
  forward    the layer's forward pass (Test mode)
  backward   forward with gradients kept, then backward to keys, values and queries
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netdsl  # noqa: E402
from bench_lenet import median_ms  # noqa: E402
from netdsl.runtime.context import Ctx  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    n, length, h, d = args.batch, args.length, args.heads, args.dim
    shape = f"{{{length}, {h}, {d}}}"
    layer = netdsl.evaluate(f'AttentionLayer["Dot", "Mask" -> "Causal", "ScoreRescaling" -> '
                            f'"DimensionSqrt", "MultiHead" -> True, "Key" -> {shape}, '
                            f'"Value" -> {shape}, "Query" -> {shape}]')
    x = np.random.default_rng(0).standard_normal((n, length, h, d)).astype(np.float32)
    xl = np.ascontiguousarray(np.moveaxis(x, 0, -1))           # the executor's batch-last

    def fwd_nd():
        return layer.forward(Ctx(), {}, xl, xl, xl)[0][0]

    def bwd_nd():
        outs, cache = layer.forward(Ctx(grad=True), {}, xl, xl, xl)
        return layer.backward(Ctx(grad=True), {}, cache, np.ones_like(outs[0]))

    f_nd, b_nd = median_ms(fwd_nd, args.repeat), median_ms(bwd_nd, args.repeat)
    print(f"causal self-attention, batch {n}, length {length}, {h} heads of {d}")
    print(f"netdsl   forward {f_nd:8.1f} ms   forward+backward {b_nd:8.1f} ms")
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: no comparison")
        return
    torch.set_num_threads(args.threads)
    sdpa = torch.nn.functional.scaled_dot_product_attention
    xt = torch.from_numpy(x).transpose(1, 2).contiguous()      # (N, H, L, d)
    with torch.no_grad():
        ref = sdpa(xt, xt, xt, is_causal=True).transpose(1, 2).numpy()
    err = float(np.abs(ref - np.moveaxis(fwd_nd(), -1, 0)).max())

    def fwd_t():
        with torch.no_grad():
            sdpa(xt, xt, xt, is_causal=True)

    def bwd_t():
        q, k, v = (xt.clone().requires_grad_(True) for _ in range(3))
        sdpa(q, k, v, is_causal=True).sum().backward()
    f_t, b_t = median_ms(fwd_t, args.repeat), median_ms(bwd_t, args.repeat)
    print(f"PyTorch  forward {f_t:8.1f} ms   forward+backward {b_t:8.1f} ms   "
          f"(max |output difference| {err:.1e})")
    print(f"ratio    forward {f_nd / f_t:8.2f}x   forward+backward {b_nd / b_t:8.2f}x")


if __name__ == "__main__":
    main()
