"""Timing shared by the benchmarks: wall-clock and CPU milliseconds per run."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def timed(fn: Callable[[], object], runs: int) -> tuple[list[float], list[float], object]:
    """Wall-clock and CPU milliseconds of each run after one warm-up call (CPU time is
    steadier on a busy machine), and the warm-up's result."""
    result = fn()
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu, result


def interleaved(calls: dict, repeat: int, cpu: bool) -> dict[str, float]:
    """Median milliseconds of each call, the calls alternating: CPU time (steadier on a
    shared machine) for one thread, wall-clock for more (idle worker threads that spin
    count as CPU time)."""
    clock = time.process_time if cpu else time.perf_counter
    times: dict[str, list[float]] = {k: [] for k in calls}
    for fn in calls.values():
        fn()
        fn()
    for _ in range(repeat):
        for name, fn in calls.items():
            t = clock()
            fn()
            times[name].append((clock() - t) * 1000)
    return {k: statistics.median(v) for k, v in times.items()}


def blocks(fns: dict, calls: int, rounds: int) -> dict:
    """Median wall-clock ms of each function, timed in alternating blocks: before each
    block a 0.5 s pause (the other library's threads stop spinning) and one untimed call
    (caches and clock back), then ``calls`` timed calls; ``rounds`` rounds."""
    times: dict = {k: [] for k in fns}
    for f in fns.values():
        for _ in range(3):
            f()
    for _ in range(rounds):
        for name, f in fns.items():
            time.sleep(0.5)
            f()
            for _ in range(calls):
                t = time.perf_counter()
                f()
                times[name].append(time.perf_counter() - t)
    return {k: 1000 * statistics.median(v) for k, v in times.items()}


def compared(calls: dict, repeat: int, threads: int) -> tuple[dict[str, float], str]:
    """Median milliseconds of each call, and how they were taken. One thread: the calls
    interleaved one by one, in CPU time. More: alternating blocks (``blocks``, 4 rounds of
    ``repeat`` calls), wall-clock: call by call, each library's idle threads (PyTorch's
    OpenMP threads spin for several ms after a call) take the core the other one's second
    thread needs, and the figures measure that (netdsl's 2-thread LSTM forward: 17 ms
    interleaved, 10 in blocks)."""
    if threads == 1:
        return interleaved(calls, repeat, cpu=True), f"CPU ms (median of {repeat}, interleaved)"
    return (blocks(calls, repeat, 4),
            f"wall-clock ms (median of {4 * repeat} calls in alternating blocks after 0.5 s "
            f"pauses)")
