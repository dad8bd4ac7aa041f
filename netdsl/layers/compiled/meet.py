"""Where the parts of one compiled time loop, each on its own thread, meet at every step.

Why: at two threads a recurrent layer's step is two ~80 us halves (each thread its own
rows of the GEMM and its own hidden units' gates), which need each other's half of the
state before the next step. A Python barrier or an OS wait costs tens of microseconds a
step on a virtual machine (a sleeping vCPU must be woken); spinning on a counter costs
well under one. Each part posts how many steps it has finished (``post``) and waits until
every other part has finished as many (``wait``).

Memory order: the counters are plain int64 loads and stores in a shared array, one cache
line per part. A call to a foreign function (``RELAX``: libc's ``labs``, which the
compiler cannot see into) stands before and after each post and inside each spin, so
the compiler neither keeps a counter in a register nor moves the step's stores past the
post. The hardware must keep stores in order and loads in order (x86-64's total store
order does; ``usable()`` is False elsewhere, and the callers run one thread). A part that
spins long gives its core away (``YIELD``: ``sched_yield``), so two parts on one busy core
still finish; the last row of the counters is an abort flag, set by a part that failed
(or by the caller, for one that never started), which releases the others.
"""

from __future__ import annotations

import ctypes
import os
import platform
import threading
from typing import Any, Callable

import numpy as np
from numba import njit

from .. import placement

SPINS = 20_000          # polls (~2 ns each) before a waiting part starts yielding its core
YIELDS = 1 << 28        # then yields (>= 0.2 us each): a part gone this long never comes


def _libc_functions() -> tuple[Any, Any]:
    try:
        libc = ctypes.CDLL(None)
        relax = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_long)(("labs", libc))
        give_way = ctypes.CFUNCTYPE(ctypes.c_int)(("sched_yield", libc))
    except (OSError, AttributeError, TypeError):    # no C library to open: one thread
        return None, None
    return relax, give_way


RELAX, YIELD = _libc_functions()


def usable() -> bool:
    """Can parts of a loop run on several threads here (x86-64, libc found)?"""
    return RELAX is not None and platform.machine().lower() in ("x86_64", "amd64")


@njit(inline="always", cache=True)
def _pause(spins, relax, give_way):   # pragma: no cover (compiled)
    """One poll of a waiting loop: a cheap call for the first SPINS, then a yield."""
    if spins < SPINS:
        relax(0)
    else:
        give_way()


@njit(nogil=True, cache=True)
def post(flags, part, count, relax):   # pragma: no cover (compiled)
    """Part ``part`` has finished ``count`` steps (its stores before this are visible)."""
    relax(0)
    flags[part, 0] = count
    relax(0)


@njit(nogil=True, cache=True)
def wait(flags, part, count, relax, give_way):   # pragma: no cover (compiled)
    """Until every other part has posted ``count``; False when one gave up (the abort
    row, ``flags[-1, 0]``, set) or never came, and then the abort row is set."""
    k = flags.shape[0] - 1
    for q in range(k):
        if q == part:
            continue
        spins = 0
        while flags[q, 0] < count:
            if flags[k, 0] != 0:
                return False
            spins += 1
            if spins >= SPINS + YIELDS:
                flags[k, 0] = 1
                return False
            _pause(spins, relax, give_way)
    relax(0)
    return True


# ---------------------------------------------------------------- the threads
# The other parts run on threads kept for this, which poll for their next job for a while
# (IDLE_SPINS, ~2 ms) before they sleep, as OpenMP's threads do: a worker woken from sleep
# on a virtual machine takes ~0.1 ms to start, and a vCPU left idle comes back slow for
# its first few milliseconds, which every step's meeting then waits for.
IDLE_SPINS = 1_000_000

MAX_PARTS = 64
_JOBS = np.zeros((MAX_PARTS, 16), np.int64)   # per part, a cache line each: jobs posted
_DONE = np.zeros((MAX_PARTS, 16), np.int64)   # ... and jobs finished
_WORKERS: list[Any] = []
_BUSY = threading.Lock()


@njit(nogil=True, cache=True)
def _await_job(jobs, part, seen, relax, spins):   # pragma: no cover (compiled)
    """Poll until part ``part`` has a job after ``seen``, at most ``spins`` times."""
    for _ in range(spins):
        if jobs[part, 0] > seen:
            relax(0)
            return True
        relax(0)
    return False


@njit(nogil=True, cache=True)
def _await_done(done, part, count, relax, give_way):   # pragma: no cover (compiled)
    """Until part ``part`` has finished ``count`` jobs (a worker always posts, even
    after an error)."""
    spins = 0
    while done[part, 0] < count:
        spins += 1
        _pause(spins, relax, give_way)
    relax(0)


class _Worker:
    """Part ``part``'s thread: runs each job posted for it, then posts it done."""

    def __init__(self, part: int):
        self.part = part
        self.job: Callable[[int], bool] | None = None
        self.result = True
        self.error: BaseException | None = None
        self.wake = threading.Condition()
        threading.Thread(target=self._loop, args=(_JOBS, _DONE), daemon=True,
                         name=f"netdsl-part-{part}").start()

    def _loop(self, jobs: np.ndarray, done: np.ndarray) -> None:
        seen = 0
        while True:
            if not _await_job(jobs, self.part, seen, RELAX, IDLE_SPINS):
                with self.wake:
                    while jobs[self.part, 0] <= seen:
                        self.wake.wait()
            seen = int(jobs[self.part, 0])
            job = self.job
            try:
                self.result, self.error = bool(job(self.part)) if job else True, None
            except BaseException as e:   # noqa: BLE001 - handed to the caller
                self.result, self.error = False, e
            post(done, self.part, seen, RELAX)

    def give(self, job: Callable[[int], bool]) -> int:
        self.job = job
        with self.wake:
            count = int(_JOBS[self.part, 0]) + 1
            post(_JOBS, self.part, count, RELAX)
            self.wake.notify()
        return count


def threads_for(threads: list, make: Callable[[int], Any], k: int) -> list:
    """The threads of parts 1..k-1, ``make(part)`` for those not made yet (here and in
    team.py)."""
    threads.extend(make(p) for p in range(len(threads) + 1, k))
    return threads[:k - 1]


def forget(threads: list, *flags: np.ndarray) -> threading.Lock:
    """After a fork: the child has none of its parent's threads; their flags zeroed, and
    a new lock for the one loop that may use them."""
    threads.clear()
    for f in flags:
        f[:] = 0
    return threading.Lock()


def _workers(k: int) -> list[_Worker]:
    """Workers for parts 1..k-1 (k <= MAX_PARTS), made on first use."""
    return threads_for(_WORKERS, _Worker, k)


def _forget_workers() -> None:
    global _BUSY
    _BUSY = forget(_WORKERS, _JOBS, _DONE)


os.register_at_fork(after_in_child=_forget_workers)


def run_parts(k: int, job: Callable[[int], bool], abort: Callable[[], None]) -> bool | None:
    """``job(part)`` for parts 0..k-1 at once (part 0 on this thread); True when every
    part finished, False when one gave up (``wait``), None (nothing run) when another
    loop holds the workers. An error in one part aborts the others (``abort``: sets the
    abort row) and is raised after all have ended."""
    if not _BUSY.acquire(blocking=False):
        return None
    where = placement.cpus(k)       # each part on a CPU of its own (placement.py)
    try:
        def guarded(part: int) -> bool:
            try:
                with placement.Pinned(where[part] if where else None):
                    return job(part)
            except BaseException:
                abort()             # the other parts must not wait for this one
                raise
        workers = _workers(k)
        counts = [w.give(guarded) for w in workers]
        errors: list[BaseException] = []
        try:
            first = guarded(0)
        except BaseException as e:   # noqa: BLE001 - raised below, after all have ended
            errors.append(e)
            first = False
        for w, count in zip(workers, counts):
            _await_done(_DONE, w.part, count, RELAX, YIELD)
            if w.error is not None:
                errors.append(w.error)
        if errors:
            raise errors[0]
        return first and all(w.result for w in workers)
    finally:
        _BUSY.release()
