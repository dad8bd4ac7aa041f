"""Operators: a bidirectional LSTM against PyTorch, and a fold against the layer it spells out.

    python benchmarks/bench_operators.py [--batch 32] [--length 50] [--hidden 128] [--repeat 10]

1. EmbeddingLayer[64] -> NetBidirectionalOperator[LongShortTermMemoryLayer[h]] ->
   SequenceLastLayer -> LinearLayer[65] -> SoftmaxLayer, against PyTorch eager with
   nn.LSTM(bidirectional=True) on netdsl's own arrays (output compared): forward in Test
   mode and one training step (cross-entropy, backward through time, Adam).
2. NetFoldOperator over NetGraph[{CatenateLayer[], LinearLayer[h], Tanh}] (a basic
   recurrent cell written as a net) against BasicRecurrentLayer[h], which computes the
   same in one layer: what running the inner net's plan per step costs.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netdsl  # noqa: E402
from bench_lenet import NetdslTrainer, median_ms  # noqa: E402
from bench_lstm import char_model, copy_lstm, torch_steps  # noqa: E402

V, E = 65, 64


def bidirectional_net(h: int) -> str:
    return (f'NetChain[{{EmbeddingLayer[{E}, {V}, "Input" -> "Varying"], '
            f"NetBidirectionalOperator[LongShortTermMemoryLayer[{h}]], SequenceLastLayer[], "
            f"LinearLayer[{V}], SoftmaxLayer[]}}]")


def build_torch(net, h: int):
    import torch
    from torch import nn
    arrays = {path: layer.arrays for path, layer in net.leaves()}
    emb, lin = nn.Embedding(V, E), nn.Linear(2 * h, V)
    lstm = nn.LSTM(E, h, batch_first=True, bidirectional=True)
    copy_lstm(lstm, arrays[("2", "ForwardNet")], "l0")
    copy_lstm(lstm, arrays[("2", "BackwardNet")], "l0_reverse")
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(np.array(arrays[("1",)]["Weights"])))
        lin.weight.copy_(torch.from_numpy(np.array(arrays[("4",)]["Weights"])))
        lin.bias.copy_(torch.from_numpy(np.array(arrays[("4",)]["Biases"])))
    return char_model(emb, lstm, lin)


def bench_bidirectional(args) -> None:
    h = args.hidden
    net = netdsl.evaluate(f"NetInitialize[{bidirectional_net(h)}, RandomSeeding -> 0]")
    rng = np.random.default_rng(0)
    x = rng.integers(1, V + 1, (args.batch, args.length))
    labels = rng.integers(1, V + 1, args.batch)
    fwd_nd = median_ms(lambda: net(x), args.repeat)
    train_nd = median_ms(NetdslTrainer(net, x, labels).step, args.repeat)
    print(f"bidirectional LSTM, batch {args.batch}, length {args.length}, hidden {h}")
    print(f"  netdsl   forward {fwd_nd:8.1f} ms   train step {train_nd:8.1f} ms")
    try:
        import torch
    except ImportError:
        print("  PyTorch is not installed: no comparison")
        return
    torch.set_num_threads(args.threads)
    model = build_torch(net, h)
    xt = torch.from_numpy(x - 1)
    with torch.no_grad():
        err = float(np.abs(torch.softmax(model(xt), -1).numpy() - net(x)).max())

    fwd_torch, train_torch = torch_steps(model, xt, labels)
    fwd_t = median_ms(fwd_torch, args.repeat)
    train_t = median_ms(train_torch, args.repeat)
    print(f"  PyTorch  forward {fwd_t:8.1f} ms   train step {train_t:8.1f} ms   "
          f"(max |output difference| {err:.1e})")
    print(f"  ratio    forward {fwd_nd / fwd_t:8.2f}x   train {train_nd / train_t:8.2f}x")


def bench_fold(args) -> None:
    h, d = args.hidden, 32
    cell = (f'NetGraph[<|"cat" -> CatenateLayer[], "lin" -> LinearLayer[{h}], "act" -> Tanh|>, '
            '{{NetPort["Input"], NetPort["State"]} -> "cat" -> "lin" -> "act"}]')
    fold = netdsl.evaluate(f'NetInitialize[NetFoldOperator[{cell}, "Input" -> {{"Varying", {d}}}]]')
    layer = netdsl.evaluate(f'NetInitialize[BasicRecurrentLayer[{h}, "Input" -> {{"Varying", {d}}}]]')
    x = np.random.default_rng(1).standard_normal((args.batch, args.length, d)).astype(np.float32)
    fold_ms = median_ms(lambda: fold(x), args.repeat)
    layer_ms = median_ms(lambda: layer(x), args.repeat)
    print(f"fold of a recurrent cell, batch {args.batch}, length {args.length}, hidden {h}")
    print(f"  NetFoldOperator {fold_ms:8.1f} ms   BasicRecurrentLayer {layer_ms:8.1f} ms   "
          f"({fold_ms / args.length * 1000:.0f} us per step)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--length", type=int, default=50)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    netdsl.tune_malloc()
    bench_bidirectional(args)
    bench_fold(args)


if __name__ == "__main__":
    main()
