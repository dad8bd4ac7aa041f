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
