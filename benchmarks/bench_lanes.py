"""Lanes (a batch split across threads): what two lanes cost and gain, per benchmark net.

    python benchmarks/bench_lanes.py [--repeat 30] [--nets lenet resnet unet lstm]

For each benchmark net (LeNet-BN batch 64, the small ResNet batch 32, the U-Net batch 16,
the char LSTM batch 32) and for the Test-mode forward and a training step: one lane with
BLAS at one thread against two lanes, timed in turn. Each thread's CPU time is read from
/proc (Linux), so the figures hold on a machine shared with other jobs, where wall-clock
at two threads mostly measures the scheduler:

- "1 lane CPU": the whole call on one core;
- "2 lanes CPU": both threads together (the cost of splitting: copies, hand-over, GIL);
- "busiest lane": the thread with the most CPU, what the call takes on two idle cores;
- "wall": measured here, as the machine's load allowed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import netdsl  # noqa: E402
from netdsl.runtime import lanes  # noqa: E402


def thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of each thread of this process."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[tid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def measure(fn, repeat: int) -> tuple[float, float, float]:
    """(wall, all threads' CPU, busiest thread's CPU), milliseconds per call."""
    fn()
    fn()
    before, start = thread_cpu(), time.perf_counter()
    for _ in range(repeat):
        fn()
    wall = time.perf_counter() - start
    after = thread_cpu()
    used = [after[t] - before.get(t, 0.0) for t in after]
    return (1000 * wall / repeat, 1000 * sum(used) / repeat, 1000 * max(used) / repeat)


def nets(names: list[str]):
    from bench_lenet import NetdslTrainer
    rng = np.random.default_rng(1)
    if "lenet" in names:
        import bench_lenet
        net = bench_lenet.build_netdsl()
        x = rng.random((64, 1, 28, 28), dtype=np.float32)
        yield "LeNet-BN", net, x, NetdslTrainer(net, x, rng.integers(1, 11, 64))
    if "resnet" in names:
        import bench_resnet
        net = bench_resnet.build_netdsl(32)
        x = rng.random((32, 3, 32, 32), dtype=np.float32)
        yield "ResNet", net, x, NetdslTrainer(net, x, rng.integers(1, 11, 32))
    if "unet" in names:
        import bench_unet
        net = bench_unet.build_netdsl(32)
        x = rng.random((16, 3, 32, 32), dtype=np.float32)
        yield "U-Net", net, x, bench_unet.Trainer(net, x, rng.random((16, 32, 32),
                                                                     dtype=np.float32))
    if "lstm" in names:
        import bench_lstm
        net = netdsl.evaluate(f"NetInitialize[{bench_lstm.NET}, RandomSeeding -> 0]")
        x = rng.integers(1, bench_lstm.V + 1, (32, 100))
        yield "char LSTM", net, x, NetdslTrainer(net, x, rng.integers(1, bench_lstm.V + 1, 32))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--nets", nargs="+", default=["lenet", "resnet", "unet", "lstm"])
    a = ap.parse_args()
    from threadpoolctl import threadpool_limits
    netdsl.tune_malloc()
    print(f"{'':20} {'1 lane CPU':>10} {'2 lanes CPU':>11} {'busiest lane':>12} "
          f"{'wall 1':>7} {'wall 2':>7}   ms per call")
    for name, net, x, trainer in nets(a.nets):
        for what, fn in (("forward", lambda n=net, x=x: n(x)), ("train step", trainer.step)):
            lanes.set_threads(1)
            with threadpool_limits(1):
                w1, c1, _ = measure(fn, a.repeat)
            lanes.set_threads(2)
            with threadpool_limits(2):
                w2, c2, busiest = measure(fn, a.repeat)
            print(f"{name + ' ' + what:20} {c1:10.2f} {c2:11.2f} {busiest:12.2f} "
                  f"{w1:7.2f} {w2:7.2f}")
    lanes.set_threads(None)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; MIN_WORK "
          f"{lanes.MIN_WORK:,} numbers, MIN_SECONDS {lanes.MIN_SECONDS}")


if __name__ == "__main__":
    main()
