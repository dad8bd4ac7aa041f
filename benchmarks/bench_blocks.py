"""Two threads without interference: netdsl and PyTorch timed in alternating blocks.

    python benchmarks/bench_blocks.py [--threads 2] [--calls 15] [--blocks 4]

The interleaved benchmarks (``bench_resnet.py`` and friends) alternate the two libraries
call by call. At 2 threads that measures each library's threads disturbing the other:
after a call, PyTorch's OpenMP threads and OpenBLAS's worker keep spinning for a while
and take the core netdsl's second lane needs (and the other way round). Here each
library runs ``--calls`` calls in a block, then the process sleeps 0.5 s (the spinning
stops), makes one untimed call (caches and clock back), then the other library's block;
``--blocks`` rounds. Wall-clock medians over all
its calls, per library: the ResNet, U-Net and char-LSTM forward passes and training
steps of ``bench_resnet.py``, ``bench_unet.py`` and ``bench_lstm.py``, with the same nets
and data.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from timing import blocks  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--calls", type=int, default=15)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--only", choices=("resnet", "unet", "lstm"), nargs="+",
                    default=("resnet", "unet", "lstm"), help="the nets to time")
    a = ap.parse_args()
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    import netdsl
    import bench_lstm
    import bench_unet

    netdsl.tune_malloc()
    netdsl.set_threads(a.threads)
    torch.set_num_threads(a.threads)
    threadpool_limits(a.threads)
    rng = np.random.default_rng(1)
    print(f"{a.threads} thread(s), wall-clock ms, medians of {a.calls * a.blocks} calls in "
          f"alternating blocks")
    if "resnet" in a.only:
        _resnet(a, rng, blocks)
    if "unet" in a.only:
        _report("U-Net (batch 16)", blocks(bench_unet.blocks_case(rng), a.calls, a.blocks))
    if "lstm" in a.only:
        _report("char LSTM (batch 32, length 100)",
                blocks(bench_lstm.blocks_case(rng), a.calls, a.blocks))
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def _resnet(a, rng, blocks_of) -> None:
    import numpy as np
    import torch

    import bench_resnet
    from bench_lenet import NetdslTrainer, torch_train_step
    net = bench_resnet.build_netdsl(32)
    x = rng.random((32, 3, 32, 32), dtype=np.float32)
    labels = rng.integers(1, 11, 32)
    model = bench_resnet.build_torch(bench_resnet.arrays_of(net))
    xt, lt = torch.from_numpy(x), torch.from_numpy(labels - 1)
    model.eval()
    trainer = NetdslTrainer(net, x, labels)
    tmodel = bench_resnet.build_torch(bench_resnet.arrays_of(net)).train()
    topt = torch.optim.Adam(tmodel.parameters(), lr=0.001)

    def torch_fwd():
        with torch.no_grad():
            model(xt)
    r = blocks_of({"netdsl forward": lambda: net(x), "torch forward": torch_fwd,
                   "netdsl train": trainer.step,
                   "torch train": lambda: torch_train_step(tmodel, topt, xt, lt)},
                  a.calls, a.blocks)
    _report("ResNet (batch 32)", r)


def _report(title: str, r: dict) -> None:
    print(f"  {title}:")
    for k, v in r.items():
        print(f"    {k:18} {v:8.2f}")
    print(f"    ratio forward {r['netdsl forward'] / r['torch forward']:.2f}, train step "
          f"{r['netdsl train'] / r['torch train']:.2f}")


if __name__ == "__main__":
    main()
