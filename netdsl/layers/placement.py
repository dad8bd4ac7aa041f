"""Where the threads of one split pass run: each on a CPU of its own, for that pass only.

Why: on the 2-vCPU development machine, after the process has been idle a while (0.5 s),
Linux woke a lane's thread onto the CPU of the thread that woke it, and its load
balancer took 40-60 ms to part them again: the U-Net's 2-lane forward ran its first
10-15 passes at 4-7 ms instead of 2.2, every time. Pinning both threads for the whole
run removed that; pinning only one of them did not. Pinning each thread for the length
of a pass (its mask saved and given back after, four ``sched_setaffinity`` calls, a few
microseconds) removed it too, and leaves nothing pinned between passes. Where CPUs
cannot be read or set (not Linux, one CPU allowed, a container refusing), nothing is
pinned.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any


def _current_cpu() -> Any:
    try:
        fn = ctypes.CDLL(None).sched_getcpu
    except (OSError, AttributeError, TypeError):     # not a C library we can open
        return None
    fn.restype = ctypes.c_int
    return fn


_CURRENT_CPU = _current_cpu()


def cpus(k: int) -> list[int] | None:
    """A CPU for each of k threads of a pass, the calling thread's own first and the
    others different from it where the allowed CPUs allow; None: do not pin."""
    if _CURRENT_CPU is None or not hasattr(os, "sched_getaffinity"):
        return None
    try:
        allowed = os.sched_getaffinity(0)
    except OSError:
        return None
    here = _CURRENT_CPU()
    if len(allowed) < 2 or here not in allowed:
        return None
    others = sorted(allowed - {here})
    return [here] + [others[(i - 1) % len(others)] for i in range(1, k)]


class Pinned:
    """The calling thread on ``cpu`` while the block runs (None: left alone); its own
    mask given back after."""

    def __init__(self, cpu: int | None):
        self.cpu = cpu
        self.saved: set[int] | None = None

    def __enter__(self) -> None:
        if self.cpu is None:
            return
        try:
            self.saved = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {self.cpu})
        except OSError:          # refused (a container, a CPU gone): run where we are
            self.saved = None

    def __exit__(self, *exc: Any) -> None:
        if self.saved is not None:
            try:
                os.sched_setaffinity(0, self.saved)
            except OSError:
                pass
