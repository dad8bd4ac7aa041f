"""Timing shared by the benchmarks: wall-clock and CPU milliseconds per run."""

from __future__ import annotations

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
