"""Character-level LSTM: netdsl's NumPy executor against PyTorch eager nn.LSTM, in one run.

    python benchmarks/bench_lstm.py [--batch 32] [--length 100] [--repeat 10]

The model reads a window of characters (indices 1..65) and predicts the next one:
EmbeddingLayer[64] -> LongShortTermMemoryLayer[256] -> SequenceLastLayer -> LinearLayer[65]
-> SoftmaxLayer, batch 32 of length 100. The same model is built in PyTorch from netdsl's
own arrays, its output compared, and both timed in this process (ratios are what matter
on a shared machine):
  forward   Test mode (goal: netdsl/PyTorch <= 0.8)
  train     one step: cross-entropy, backward through time, Adam (goal: <= 1.0)
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

V, E, H = 65, 64, 256
NET = (f'NetChain[{{EmbeddingLayer[{E}, {V}, "Input" -> "Varying"], '
       f'LongShortTermMemoryLayer[{H}], SequenceLastLayer[], LinearLayer[{V}], SoftmaxLayer[]}}]')
GATES = ("InputGate", "ForgetGate", "MemoryGate", "OutputGate")   # PyTorch's row order


def build_torch(net):
    import torch
    from torch import nn
    arrays = {path[0]: layer.arrays for path, layer in net.leaves()}
    emb, lstm, lin = nn.Embedding(V, E), nn.LSTM(E, H, batch_first=True), nn.Linear(H, V)
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(np.array(arrays["1"]["Weights"])))
        a = arrays["2"]
        lstm.weight_ih_l0.copy_(torch.from_numpy(np.concatenate(
            [a[f"{g}InputWeights"] for g in GATES])))
        lstm.weight_hh_l0.copy_(torch.from_numpy(np.concatenate(
            [a[f"{g}StateWeights"] for g in GATES])))
        lstm.bias_ih_l0.copy_(torch.from_numpy(np.concatenate([a[f"{g}Biases"] for g in GATES])))
        lstm.bias_hh_l0.zero_()
        lin.weight.copy_(torch.from_numpy(np.array(arrays["4"]["Weights"])))
        lin.bias.copy_(torch.from_numpy(np.array(arrays["4"]["Biases"])))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.lstm, self.lin = emb, lstm, lin

        def forward(self, x):
            y, _ = self.lstm(self.emb(x))
            return self.lin(y[:, -1])     # logits; softmax folded into the loss

    return Model()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--length", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    net = netdsl.evaluate(f"NetInitialize[{NET}, RandomSeeding -> 0]")
    rng = np.random.default_rng(0)
    x = rng.integers(1, V + 1, (args.batch, args.length))
    labels = rng.integers(1, V + 1, args.batch)
    fwd_nd = median_ms(lambda: net(x), args.repeat)
    trainer = NetdslTrainer(net, x, labels)
    train_nd = median_ms(trainer.step, args.repeat)
    print(f"char LSTM LM, batch {args.batch}, length {args.length}, embedding {E}, hidden {H}")
    print(f"netdsl   forward {fwd_nd:8.1f} ms   train step {train_nd:8.1f} ms")
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: no comparison")
        return
    torch.set_num_threads(args.threads)
    model = build_torch(net)
    xt = torch.from_numpy(x - 1)
    with torch.no_grad():
        ref = torch.softmax(model(xt), -1).numpy()
    err = float(np.abs(ref - net(x)).max())

    def fwd_torch():
        with torch.no_grad():
            torch.softmax(model(xt), -1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    yt = torch.from_numpy(labels - 1)

    def train_torch():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
    fwd_t = median_ms(fwd_torch, args.repeat)
    train_t = median_ms(train_torch, args.repeat)
    print(f"PyTorch  forward {fwd_t:8.1f} ms   train step {train_t:8.1f} ms   "
          f"(max |output difference| {err:.1e})")
    print(f"ratio    forward {fwd_nd / fwd_t:8.2f}x (goal <= 0.8)   "
          f"train {train_nd / train_t:8.2f}x (goal <= 1.0)")


if __name__ == "__main__":
    main()
