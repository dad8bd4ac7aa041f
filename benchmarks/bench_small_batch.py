"""Per-call overhead: LeNet-BN forward at batch 1, netdsl against PyTorch eager.

    python benchmarks/bench_small_batch.py [--batch 1] [--repeat 2000] [--threads 1]

The two are timed interleaved in one process (one netdsl call, one PyTorch call,
repeated), in CPU time, so machine load affects both alike; the figure is the
ratio of the medians (goal: <= 0.6). Without PyTorch only netdsl is timed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_lenet as b  # noqa: E402
import numpy as np  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(a.threads))
    net = b.build_netdsl()
    x = np.random.default_rng(1).random((a.batch, 1, 28, 28), dtype=np.float32)
    calls = [("netdsl", lambda: net(x))]
    try:
        import torch
        torch.set_num_threads(a.threads)
        model = b.build_torch(b.arrays_of(net)).eval()
        xt = torch.from_numpy(x)

        def torch_forward():
            with torch.no_grad():
                return model(xt)
        err = float(np.abs(torch_forward().numpy() - np.asarray(net(x))).max())
        calls.append(("pytorch", torch_forward))
    except ImportError:
        err = None
    times: dict[str, list[float]] = {name: [] for name, _ in calls}
    for _ in range(20):
        for _, fn in calls:
            fn()
    for _ in range(a.repeat):
        for name, fn in calls:
            t = time.process_time()
            fn()
            times[name].append((time.process_time() - t) * 1e6)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"LeNet-BN forward, batch {a.batch}, {a.threads} thread(s), CPU µs per call (median)")
    for k, v in med.items():
        print(f"  {k:8} {v:9.1f}")
    if "pytorch" in med:
        print(f"  ratio netdsl/pytorch {med['netdsl'] / med['pytorch']:.2f} (goal <= 0.6); "
              f"max |difference| {err:.2e}")


if __name__ == "__main__":
    main()
