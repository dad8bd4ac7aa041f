"""NetInitialize and NetTrain's write-back on long chains: time per layer must not grow.

    python benchmarks/bench_initialize.py [--sizes 1000 5000 20000] [--repeat 3]

Builds ``NetChain[Table[LinearLayer[4], {n}], "Input" -> 4]`` and times, in CPU
milliseconds (steadier than wall-clock on a shared machine), the median of:

  initialize   NetInitialize (the goal: linear, a 20,000-layer chain under 1 s)
  plan         compiling the training plan and its flat parameter buffer
  write-back   NetTrain's write-back of trained values into a new net

and prints microseconds per layer; equal figures across sizes mean linear time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from netdsl.runtime.initialize import initialize  # noqa: E402
from netdsl.runtime.plan import compile_plan  # noqa: E402
from netdsl.runtime.train.parameters import Parameters  # noqa: E402
from netdsl.session import Session  # noqa: E402


def cpu_ms(fn, repeat: int) -> tuple[float, float, object]:
    """Median CPU and wall milliseconds over ``repeat`` runs, and the last result."""
    cpu, wall, result = [], [], None
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        result = fn()
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    return statistics.median(cpu), statistics.median(wall), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print(f"{'layers':>7} {'what':>11} {'CPU ms':>9} {'wall ms':>9} {'us/layer':>9}")
    for n in a.sizes:
        s = Session()
        net = s.evaluate(f'NetChain[Table[LinearLayer[4], {{{n}}}], "Input" -> 4]')
        c, w, init = cpu_ms(lambda net=net: initialize(net), a.repeat)
        print(f"{n:>7} {'initialize':>11} {c:9.1f} {w:9.1f} {1000 * c / n:9.1f}")
        c, w, params = cpu_ms(lambda init=init: Parameters(compile_plan(init, mode="train"), {}),
                                 a.repeat)
        print(f"{n:>7} {'plan':>11} {c:9.1f} {w:9.1f} {1000 * c / n:9.1f}")
        c, w, _ = cpu_ms(lambda p=params, i=init: p.write_back(i), a.repeat)
        print(f"{n:>7} {'write-back':>11} {c:9.1f} {w:9.1f} {1000 * c / n:9.1f}")


if __name__ == "__main__":
    main()
