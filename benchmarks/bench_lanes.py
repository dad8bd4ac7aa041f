"""Lanes (a batch split across threads): where splitting starts to pay.

    python benchmarks/bench_lanes.py [--repeat 50]

Times LeNet-BN's and the small ResNet's Test-mode forward at several batch sizes with one
lane and with two (wall-clock medians, interleaved call by call, BLAS at one thread per
lane), and prints the work each pass writes (the numbers ``lanes.MIN_WORK`` is compared
with), so the threshold can be read off: two lanes should win above it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import netdsl  # noqa: E402
from netdsl.runtime import lanes  # noqa: E402


def timed(net, x, k: int) -> float:
    lanes.set_threads(k)
    t = time.perf_counter()
    net(x)
    return (time.perf_counter() - t) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=50)
    a = ap.parse_args()
    import bench_lenet
    import bench_resnet
    from threadpoolctl import threadpool_limits
    netdsl.tune_malloc()
    saved_min = lanes.MIN_WORK
    lanes.MIN_WORK = 0          # split whatever the size, to see where it pays
    rng = np.random.default_rng(0)
    cases = [("LeNet-BN", bench_lenet.build_netdsl(), (1, 28, 28), (8, 16, 32, 64, 128)),
             ("ResNet", bench_resnet.build_netdsl(32), (3, 32, 32), (8, 16, 32))]
    print(f"{'net':10} {'batch':>5} {'work':>11} {'1 lane ms':>10} {'2 lanes ms':>10} "
          f"{'ratio':>6}")
    with threadpool_limits(2):
        for name, net, shape, batches in cases:
            for n in batches:
                x = rng.random((n,) + shape, dtype=np.float32)
                lanes.set_threads(1)
                net(x)
                plan = net.__dict__["_plans"]["test"]
                lanes.set_threads(2)
                net(x)
                work = plan.lanes.get(("work", (("Input", x.shape[1:] + (n,)),)))
                one, two = [], []
                for _ in range(a.repeat):
                    one.append(timed(net, x, 1))
                    two.append(timed(net, x, 2))
                m1, m2 = statistics.median(one), statistics.median(two)
                print(f"{name:10} {n:5} {work or 0:11,} {m1:10.3f} {m2:10.3f} {m2 / m1:6.2f}")
    lanes.MIN_WORK = saved_min
    lanes.set_threads(None)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          f"(MIN_WORK = {lanes.MIN_WORK:,})")


if __name__ == "__main__":
    main()
