"""Character-level LSTM: netdsl's NumPy executor against PyTorch eager nn.LSTM, in one run.

    python benchmarks/bench_lstm.py [--batch 32] [--length 100] [--repeat 10] [--threads 1 2]

The model reads a window of characters (indices 1..65) and predicts the next one:
EmbeddingLayer[64] -> LongShortTermMemoryLayer[256] -> SequenceLastLayer -> LinearLayer[65]
-> SoftmaxLayer, batch 32 of length 100. The same model is built in PyTorch from netdsl's
own arrays, its output compared, and both timed in this process at each thread count
(1 thread: interleaved call by call, CPU time; more: alternating blocks, wall-clock, see
timing.compared; ratios are what matter on a shared machine):
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
from timing import compared  # noqa: E402

V, E, H = 65, 64, 256
NET = (f'NetChain[{{EmbeddingLayer[{E}, {V}, "Input" -> "Varying"], '
       f'LongShortTermMemoryLayer[{H}], SequenceLastLayer[], LinearLayer[{V}], SoftmaxLayer[]}}]')
GATES = ("InputGate", "ForgetGate", "MemoryGate", "OutputGate")   # PyTorch's row order


def copy_lstm(lstm, a: dict, suffix: str = "l0") -> None:
    """Wolfram's per-gate arrays into one direction of an nn.LSTM (biases: b_ih only)."""
    import torch
    with torch.no_grad():
        for torch_name, ours in (("weight_ih", "InputWeights"), ("weight_hh", "StateWeights"),
                                 ("bias_ih", "Biases")):
            getattr(lstm, f"{torch_name}_{suffix}").copy_(torch.from_numpy(np.concatenate(
                [a[f"{g}{ours}"] for g in GATES])))
        getattr(lstm, f"bias_hh_{suffix}").zero_()


def char_model(emb, lstm, lin):
    """Embedding -> LSTM -> last step -> linear, as a module (softmax folded into the loss)."""
    from torch import nn

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.lstm, self.lin = emb, lstm, lin

        def forward(self, x):
            y, _ = self.lstm(self.emb(x))
            return self.lin(y[:, -1])

    return Model()


def torch_steps(model, xt, labels):
    """PyTorch's Test-mode forward and one Adam step on the next-character loss."""
    import torch
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    yt = torch.from_numpy(labels - 1)

    def forward():
        with torch.no_grad():
            torch.softmax(model(xt), -1)

    def train():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    return forward, train


def build_torch(net):
    import torch
    from torch import nn
    arrays = {path[0]: layer.arrays for path, layer in net.leaves()}
    emb, lstm, lin = nn.Embedding(V, E), nn.LSTM(E, H, batch_first=True), nn.Linear(H, V)
    copy_lstm(lstm, arrays["2"])
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(np.array(arrays["1"]["Weights"])))
        lin.weight.copy_(torch.from_numpy(np.array(arrays["4"]["Weights"])))
        lin.bias.copy_(torch.from_numpy(np.array(arrays["4"]["Biases"])))
    return char_model(emb, lstm, lin)


def blocks_case(rng, batch: int = 32, length: int = 100) -> dict:
    """The four timed calls of this benchmark, for bench_blocks.py."""
    import torch
    net = netdsl.evaluate(f"NetInitialize[{NET}, RandomSeeding -> 0]")
    x = rng.integers(1, V + 1, (batch, length))
    labels = rng.integers(1, V + 1, batch)
    trainer = NetdslTrainer(net, x, labels)
    fwd, train = torch_steps(build_torch(net), torch.from_numpy(x - 1), labels)
    return {"netdsl forward": lambda: net(x), "torch forward": fwd,
            "netdsl train": trainer.step, "torch train": train}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--length", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                    help="thread counts to time at (1: CPU time; more: wall-clock)")
    args = ap.parse_args()
    net = netdsl.evaluate(f"NetInitialize[{NET}, RandomSeeding -> 0]")
    rng = np.random.default_rng(0)
    x = rng.integers(1, V + 1, (args.batch, args.length))
    labels = rng.integers(1, V + 1, args.batch)
    trainer = NetdslTrainer(net, x, labels)
    from netdsl.layers.lstm_kernel import fused_steps
    steps = fused_steps(np.float32, args.batch * args.length * H)
    print(f"char LSTM LM, batch {args.batch}, length {args.length}, embedding {E}, hidden {H}; "
          f"LSTM steps: {'compiled (numba)' if steps else 'NumPy loop'}")
    try:
        import torch
    except ImportError:
        print(f"netdsl   forward {median_ms(lambda: net(x), args.repeat):8.1f} ms   train step "
              f"{median_ms(trainer.step, args.repeat):8.1f} ms   (PyTorch is not installed: "
              f"no comparison)")
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        sys.exit("bench_lstm.py sets BLAS threads with threadpoolctl: "
                 "pip install -e '.[speed]'")
    model = build_torch(net)
    xt = torch.from_numpy(x - 1)
    with torch.no_grad():
        ref = torch.softmax(model(xt), -1).numpy()
    print(f"max |output difference| vs PyTorch {float(np.abs(ref - net(x)).max()):.1e}")

    fwd_torch, train_torch = torch_steps(model, xt, labels)
    for threads in args.threads:
        torch.set_num_threads(threads)
        netdsl.set_threads(threads)   # lanes: the batch split over this many threads
        with threadpool_limits(threads):
            med, how = compared({"netdsl forward": lambda: net(x), "torch forward": fwd_torch,
                                 "netdsl train": trainer.step, "torch train": train_torch},
                                args.repeat, threads)
        print(f"{threads} thread(s), {how}:")
        print(f"  netdsl   forward {med['netdsl forward']:8.1f}   train step "
              f"{med['netdsl train']:8.1f}")
        print(f"  PyTorch  forward {med['torch forward']:8.1f}   train step "
              f"{med['torch train']:8.1f}")
        print(f"  ratio    forward {med['netdsl forward'] / med['torch forward']:8.2f}x "
              f"(goal <= 0.8)   train {med['netdsl train'] / med['torch train']:8.2f}x "
              f"(goal <= 1.0)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
