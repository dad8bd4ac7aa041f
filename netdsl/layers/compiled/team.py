"""One compiled kernel's work shared with helper threads that run no Python meanwhile.

Why: lanes (runtime/lanes.py) split a pass's batch over threads that each run the whole
plan, Python included. On a 2-vCPU virtual machine that costs: the two threads take the
GIL from each other ~14 times a pass, and a thread that waits for it sleeps, and a
sleeping vCPU takes ~50 us to wake; the futex calls cost ~0.3 ms of system time a pass;
and Python's objects bounce between the cores' caches. U-Net, batch 16 in two lanes:
2.63 ms a pass, while two processes running batch 8 each at the same time took 1.70.
Here one thread runs the plan, and a kernel splits its outer loop (tile rows, column
blocks) with helpers that wait for work by polling memory in compiled code, as
OpenMP's threads do, so no thread waits for the GIL while another holds it:

  main    posts the job and waits (polling) until the helper has entered the kernel,
          which then holds no GIL; runs its own share; waits (polling) until the helper
          has posted its share done;
  helper  polls for a job; takes the GIL only to call the kernel, which posts at its
          start (``started``); after it returns, posts done and polls for the next job
          in one compiled call, so the caller, released by that post, finds the GIL
          free.

Shares are computed exactly as one call computes them (the same items, the same order
within an item): the results are bit-identical to one thread's.

A helper polls for ``IDLE_SPINS`` (~2 ms) after a job, then sleeps on a condition until
the next; a caller waiting for a helper polls, and yields its core after meet.SPINS
polls. Memory order as in
meet.py (x86-64's stores in order; ``RELAX`` keeps the compiler from moving stores past
a post); ``usable()`` is False elsewhere, and kernels then run whole on the caller's
thread.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable

import numpy as np
from numba import njit

from .meet import (RELAX, YIELD, _await_done, _await_job, forget, post, threads_for,
                   usable)

MAX_PARTS = 16
IDLE_SPINS = 1_000_000     # polls (~2 ms) a helper keeps after a job before it sleeps
_JOBS = np.zeros((MAX_PARTS, 16), np.int64)       # per part, a cache line: jobs posted
_STARTED = np.zeros((MAX_PARTS, 16), np.int64)    # ... jobs the kernel has entered
_DONE = np.zeros((MAX_PARTS, 16), np.int64)       # ... jobs finished
_HELPERS: list[Any] = []
_BUSY = threading.Lock()
_USABLE = usable()


@njit(inline="always", cache=True)
def started(flags, part, count, relax):   # pragma: no cover (compiled)
    """A kernel's first statement: part ``part`` (a helper) has entered job ``count``."""
    if part > 0:
        post(flags, part, count, relax)


@njit(nogil=True, cache=True)
def _post_and_await_start(jobs, flags, part, count, relax, give_way):   # pragma: no cover
    """Post job ``count`` for part ``part``, then poll until its kernel has started: in
    one compiled call, so the caller takes the GIL back only once the helper holds none."""
    post(jobs, part, count, relax)
    _await_done(flags, part, count, relax, give_way)


@njit(nogil=True, cache=True)
def _done_then_await_job(done, jobs, part, count, relax, idle):   # pragma: no cover
    """Post job ``count`` done, then poll until a later job is posted (True) or for
    ``idle`` polls (False)."""
    post(done, part, count, relax)
    return _await_job(jobs, part, count, relax, idle)


class _Helper:
    """Part ``part``'s thread: runs each job posted for it."""

    def __init__(self, part: int):
        self.part = part
        self.job: tuple[Callable[..., Any], tuple] | None = None
        self.error: BaseException | None = None
        self.count = 0             # jobs given (the caller's side)
        self.coming = False        # a job is about to be posted: do not go to sleep
        self.sleeping = False
        self.wake = threading.Condition()
        threading.Thread(target=self._loop, daemon=True, name=f"netdsl-team-{part}").start()

    def _loop(self) -> None:
        part, count = self.part, 0
        while True:
            if not _done_then_await_job(_DONE, _JOBS, part, count, RELAX, IDLE_SPINS):
                with self.wake:
                    while not self.coming and _JOBS[part, 0] <= count:
                        self.sleeping = True
                        self.wake.wait()
                    self.sleeping = False
                if _JOBS[part, 0] <= count:      # told one is coming: poll for it
                    continue
            count = int(_JOBS[part, 0])
            kernel, args = self.job           # type: ignore[misc]
            try:
                kernel(*args, _STARTED, part, count, RELAX)
                self.error = None
            except BaseException as e:   # noqa: BLE001 - handed to the caller
                self.error = e
                _STARTED[part, 0] = count     # a caller waiting for the start goes on

    def give(self, kernel: Callable[..., Any], args: tuple) -> int:
        """Post ``kernel(*args, ...)`` and return once the helper is inside it."""
        self.job = (kernel, args)
        self.count += 1
        with self.wake:
            self.coming = True
            if self.sleeping:
                self.wake.notify()
        _post_and_await_start(_JOBS, _STARTED, self.part, self.count, RELAX, YIELD)
        self.coming = False
        return self.count


def _helpers(k: int) -> list[_Helper]:
    """Helpers for parts 1..k-1, made on first use."""
    return threads_for(_HELPERS, _Helper, k)


def _forget_helpers() -> None:
    global _BUSY
    _BUSY = forget(_HELPERS, _JOBS, _STARTED, _DONE)


os.register_at_fork(after_in_child=_forget_helpers)


def run(kernel: Callable[..., Any], args: tuple, items: int, parts: int) -> None:
    """``kernel(*args, lo, hi, flags, part, count, relax)`` over items 0..items - 1, as
    ``parts`` consecutive shares at once (share 0 on this thread), or whole here when
    ``parts`` < 2, when there are fewer items, when this machine cannot (``usable``) or
    when another kernel has the helpers (a lane of a split pass, another thread)."""
    parts = min(parts, items, MAX_PARTS)
    if parts < 2 or not _USABLE or not _BUSY.acquire(blocking=False):
        kernel(*args, 0, items, _STARTED, 0, 0, RELAX)
        return
    try:
        cuts = [items * i // parts for i in range(parts + 1)]
        helpers = _helpers(parts)
        counts = [h.give(kernel, args + (cuts[i], cuts[i + 1]))
                  for i, h in enumerate(helpers, 1)]
        error: BaseException | None = None
        try:
            kernel(*args, cuts[0], cuts[1], _STARTED, 0, 0, RELAX)
        except BaseException as e:   # noqa: BLE001 - raised after the helpers are done
            error = e
        for h, count in zip(helpers, counts):
            _await_done(_DONE, h.part, count, RELAX, YIELD)
            error = error or h.error
        if error is not None:
            raise error
    finally:
        _BUSY.release()
