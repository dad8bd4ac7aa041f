"""Lanes 1..k-1 of a training step in forked worker processes, instead of threads.

Why: thread lanes (runtime/lanes.py) each run the whole plan, Python included, under one
GIL. On a 2-vCPU virtual machine a U-Net training step in two thread lanes cost 14.9 ms
of CPU against 11.3 in one thread: each lane runs the plan's Python (~1.5 ms a pass), the
lanes take the GIL from each other, a thread that waits for it sleeps, and a sleeping
vCPU takes ~57 us to wake (1.1 ms of kernel time a step). A process has a GIL of its own:
two processes each running batch 8 took 6.5 ms a step, one alone 6.1. Measured (U-Net,
batch 16, 2 threads, same process, same machine): thread lanes 8.7-9.2 ms a step, team
kernels 9.0-9.6, lane 1 in a forked worker 6.4-6.9.

How: a training run's first split step forks one worker per extra lane (``os.fork``: the
child has the plan, the layers and its lane's Ctx as they were; nothing is pickled). The
worker lives until the run ends (``Forked.close``: NetTrain's ``finally``; else when its
Parameters are collected, or at exit; it dies with its parent, PR_SET_PDEATHSIG). Parent
and worker share, through anonymous shared memory (``shared_copy``):

- the learned arrays (``Parameters.flat``), so the worker reads the optimiser's updates;
- the worker's inputs, which the parent copies in each step (shapes in a header, at most
  the size of the first step's);
- the worker's gradient buffer and loss sum, which the parent adds up after the step.

Steps are posted and awaited as in layers/compiled/meet.py: counters in shared memory
polled in compiled code. A worker polls ~2 ms after a step, then sleeps on a pipe
(with a timeout, so a wake-up lost between the two processes only delays it). An error
in a worker comes back as its message (netdsl's own errors as themselves); a worker
that dies, or takes far longer than lane 0, is a netdsl error, never a hang.

Each lane computes what a thread lane computes, in the same order, so the trained
arrays are bit-identical to thread lanes'. Used only where lanes need not talk: every
step's coupling "none" (no sums across lanes) and no moving statistics; and where fork
is safe and the polling is (Linux, ``meet.usable``); ``NETDSL_FORK=0`` in the
environment turns it off. Otherwise thread lanes, as before.
"""

from __future__ import annotations

import gc
import mmap
import os
import select
import signal
import sys
import time
import warnings
import weakref
from typing import Any, Callable

import numpy as np

from ... import errors
from ...layers.compiled.meet import RELAX, _await_job, post, usable
from .. import lanes
from .common import error

ENABLED = True            # tests switch it; NETDSL_FORK=0 in the environment too
IDLE_SPINS = 1_000_000    # polls (~2 ms) a worker keeps after a step before it sleeps
WAIT_SPINS = 1_000_000    # polls between the parent's checks that a worker still lives
SLEEP = 0.02              # a sleeping worker looks for a step this often (lost wake-ups)
SLOWER = 20.0             # a worker taking SLOWER x lane 0's time + GRACE seconds is stuck
GRACE = 60.0
MESSAGE = 4096            # bytes of an error's text
MAX_RANK = 8

# rows of the control block (one cache line each): steps posted, steps done, the
# worker asleep, the last step failed, examples in the whole batch, stop
JOBS, DONE, SLEEPING, FAILED, EXAMPLES, STOP = range(6)
_ROW = 16


def possible() -> bool:
    """Can training lanes run in forked workers here?"""
    return (ENABLED and os.environ.get("NETDSL_FORK", "").strip() != "0"
            and sys.platform.startswith("linux") and hasattr(os, "fork") and usable())


def shared_copy(a: np.ndarray) -> np.ndarray:
    """``a`` copied into an anonymous shared mapping, which a forked child shares (its
    writes and the parent's are seen by both); ``a`` itself when forking is not used."""
    if not possible() or a.size == 0:
        return a
    out = _shared(a.size, a.dtype).reshape(a.shape)
    out[...] = a
    return out


def _shared(n: int, dtype: Any) -> np.ndarray:
    return np.frombuffer(mmap.mmap(-1, max(1, n * np.dtype(dtype).itemsize)), dtype, count=n)


class Forked:
    """The workers of one training run: lanes 1..k-1, each running ``job(lane, inputs,
    m, grad)`` (its loss sum; its gradient added into ``grad``) on its part of a step."""

    def __init__(self, key: Any, job: Callable[[int, dict, int, np.ndarray], float],
                 parts: list[dict[str, np.ndarray]], grad: np.ndarray):
        self.key, self.job = key, job      # (job keeps what the key names alive)
        self.workers: list[_Worker] = []
        try:
            for i, part in enumerate(parts[1:], 1):
                self.workers.append(_Worker(i, job, part, grad))
        except BaseException:
            self.close()
            raise
        self._finalizer = weakref.finalize(self, _close_all, list(self.workers))

    def fits(self, key: Any, parts: list[dict[str, np.ndarray]]) -> bool:
        """Can these workers run these lanes (same run; inputs no larger than the first)?"""
        return key == self.key and len(parts) == len(self.workers) + 1 and all(
            w.fits(p) for w, p in zip(self.workers, parts[1:]))

    def run(self, parts: list[dict[str, np.ndarray]], m: int,
            lane0: Callable[[], tuple[float, Any]], grad: np.ndarray) -> tuple[list[float], Any]:
        """Lanes 1.. in the workers and ``lane0()`` here, at once (BLAS at one thread):
        every lane's loss sum and lane 0's cache; the workers' gradients added to ``grad``."""
        for w, part in zip(self.workers, parts[1:]):
            w.give(part, m)
        start = time.perf_counter()
        failure: BaseException | None = None
        with lanes.one_blas_thread():
            try:
                loss0, cache = lane0()
            except BaseException as e:   # noqa: BLE001 - raised once the workers are done
                failure, loss0, cache = e, 0.0, None
        limit = SLOWER * (time.perf_counter() - start) + GRACE
        losses = [loss0]
        for w in self.workers:
            try:
                losses.append(w.result(limit))
            except BaseException as e:   # noqa: BLE001
                failure = failure or e
        if failure is not None:
            raise failure
        for w in self.workers:
            grad += w.grad
        return losses, cache

    def close(self) -> None:
        _close_all(self.workers)


def _close_all(workers: list["_Worker"]) -> None:
    for w in workers:
        w.close()


class _Worker:
    """Lane ``lane``'s process, and the memory it shares with the parent."""

    def __init__(self, lane: int, job: Callable[[int, dict, int, np.ndarray], float],
                 like: dict[str, np.ndarray], grad: np.ndarray):
        self.lane = lane
        self.ctrl = _shared(8 * _ROW, np.int64).reshape(8, _ROW)
        self.grad = _shared(grad.size, grad.dtype).reshape(grad.shape)
        self.loss = _shared(1, np.float64)
        self.names = tuple(like)
        self.inputs = [_shared(x.size, x.dtype) for x in like.values()]
        self.shapes = _shared(len(like) * (MAX_RANK + 1), np.int64).reshape(len(like), -1)
        self.message = _shared(MESSAGE, np.uint8)
        self.count = 0
        self.parent = os.getpid()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)
        _flush()
        try:
            with warnings.catch_warnings():   # (3.12+: "fork() may lead to deadlocks" when
                warnings.simplefilter("ignore", DeprecationWarning)   # threads exist)
                pid = os.fork()
        except OSError:
            os.close(self.wake_r)
            os.close(self.wake_w)
            raise
        if pid == 0:                       # the worker: serves steps until told to stop
            self._serve(job)
        self.pid: int | None = pid
        os.close(self.wake_r)

    # ------------------------------------------------------------ the parent's side
    def fits(self, part: dict[str, np.ndarray]) -> bool:
        return tuple(part) == self.names and all(
            x.dtype == buf.dtype and x.size <= buf.size and x.ndim <= MAX_RANK
            for x, buf in zip(part.values(), self.inputs))

    def give(self, part: dict[str, np.ndarray], m: int) -> None:
        """Post a step on ``part`` (the worker copies nothing: it is written here)."""
        if self.pid is None:
            raise _gone("was stopped")
        for i, x in enumerate(part.values()):
            self.inputs[i][:x.size].reshape(x.shape)[...] = x
            self.shapes[i, 0] = x.ndim
            self.shapes[i, 1:1 + x.ndim] = x.shape
        self.ctrl[EXAMPLES, 0] = m
        self.count += 1
        post(self.ctrl, JOBS, self.count, RELAX)
        if self.ctrl[SLEEPING, 0]:
            self._wake()

    def result(self, limit: float) -> float:
        """The worker's loss sum for the step given, once it is done (its gradient is in
        ``grad``); its error, raised here; a netdsl error when it died or took more than
        ``limit`` seconds."""
        start = time.perf_counter()
        while not _await_job(self.ctrl, DONE, self.count - 1, RELAX, WAIT_SPINS):
            if self._ended():
                self._forget()
                raise _gone("ended unexpectedly")
            if time.perf_counter() - start > limit:
                self.kill()
                raise _gone(f"did not finish its part within {limit:.0f} s")
            os.sched_yield()
        if self.ctrl[FAILED, 0]:
            raise _reported(bytes(self.message).rstrip(b"\0").decode("utf-8", "replace"))
        return float(self.loss[0])

    def close(self) -> None:
        """Tell the worker to stop; killed if it has not within a second."""
        if self.pid is None:
            return
        self.ctrl[STOP, 0] = 1
        post(self.ctrl, JOBS, self.count + 1, RELAX)
        self._wake()
        deadline = time.monotonic() + 1.0
        while not self._ended():
            if time.monotonic() > deadline:
                self.kill()
                return
            time.sleep(0.001)
        self._forget()

    def kill(self) -> None:
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        self._forget()

    def _forget(self) -> None:
        self.pid = None
        try:
            os.close(self.wake_w)
        except OSError:
            pass

    def _ended(self) -> bool:
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)   # type: ignore[arg-type]
        except ChildProcessError:
            return True
        return pid != 0

    def _wake(self) -> None:
        try:
            os.write(self.wake_w, b"\0")
        except (BlockingIOError, OSError):
            pass          # a full pipe wakes it anyway; a closed one: it has ended

    # ------------------------------------------------------------ the worker's side
    def _serve(self, job: Callable[[int, dict, int, np.ndarray], float]) -> None:
        """The worker's life: never returns (``os._exit``)."""
        try:
            os.close(self.wake_w)
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is the parent's
            except ValueError:
                pass
            _die_with(self.parent)
            gc.freeze()            # the parent's objects: never collected (nor copied) here
            with lanes.one_blas_thread():
                seen = 0
                while True:
                    seen = self._next(seen)
                    if self.ctrl[STOP, 0]:
                        break
                    self._step(job)
                    post(self.ctrl, DONE, seen, RELAX)
        finally:
            os._exit(0)

    def _next(self, seen: int) -> int:
        """Wait for a step after ``seen``: polling, then asleep on the pipe."""
        while not _await_job(self.ctrl, JOBS, seen, RELAX, IDLE_SPINS):
            self.ctrl[SLEEPING, 0] = 1
            if self.ctrl[JOBS, 0] <= seen:
                select.select([self.wake_r], [], [], SLEEP)
                try:
                    os.read(self.wake_r, 64)
                except BlockingIOError:
                    pass
            self.ctrl[SLEEPING, 0] = 0
            if os.getppid() != self.parent:
                os._exit(0)
        return int(self.ctrl[JOBS, 0])

    def _step(self, job: Callable[[int, dict, int, np.ndarray], float]) -> None:
        try:
            inputs = {}
            for i, name in enumerate(self.names):
                shape = tuple(int(d) for d in self.shapes[i, 1:1 + self.shapes[i, 0]])
                inputs[name] = self.inputs[i][:int(np.prod(shape))].reshape(shape)
            self.grad[...] = 0
            self.loss[0] = job(self.lane, inputs, int(self.ctrl[EXAMPLES, 0]), self.grad)
            self.ctrl[FAILED, 0] = 0
        except BaseException as e:   # noqa: BLE001 - reported to the parent
            self._report(e)
            self.ctrl[FAILED, 0] = 1

    def _report(self, e: BaseException) -> None:
        """The error as text: ``Class|symbol|tag|text`` for netdsl's own, else its type
        and message."""
        if isinstance(e, errors.NetDSLError):
            text = f"{type(e).__name__}|{e.symbol}|{e.tag}|{e.text}"
        else:
            text = f"|||{type(e).__name__}: {e}"
        data = text.encode("utf-8")[:MESSAGE]
        self.message[...] = 0
        self.message[:len(data)] = np.frombuffer(data, np.uint8)


def _flush() -> None:
    """Written output out before a fork (not written twice, should a child flush)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass


class Apart:
    """The ``Ctx.meeting`` of a lane whose partners run in other processes: like thread
    lanes', it tells a step that other lanes run beside it (an LSTM's loop then keeps to
    its thread); it has no sums to add up (such passes keep thread lanes)."""

    def total(self, lane: int, x: np.ndarray) -> np.ndarray:
        raise error("lanefail", "A step asked for sums across training lanes that run in "
                                "separate processes; set NETDSL_FORK=0.")


APART = Apart()


class NoWorkers:
    """``Parameters.forked`` when forking failed (no memory, a process limit): threads."""

    def fits(self, key: Any, parts: list[dict[str, np.ndarray]]) -> bool:
        return False

    def close(self) -> None:
        pass


NO_WORKERS = NoWorkers()


def _reported(text: str) -> BaseException:
    """A worker's error in the parent: netdsl's own errors as themselves."""
    kind, symbol, tag, body = (text.split("|", 3) + ["", "", ""])[:4]
    cls = getattr(errors, kind, None) if kind else None
    if isinstance(cls, type) and issubclass(cls, errors.NetDSLError):
        return cls(body, symbol=symbol or None, tag=tag or "error")
    return error("lanefail", f"A training lane running in a worker process failed: {body}")


def _gone(what: str) -> BaseException:
    return error("lanefail", f"A training lane's worker process {what}; set NETDSL_FORK=0 "
                             f"to run lanes on threads instead.")


def _die_with(parent: int) -> None:
    """This process ends with its parent (Linux: PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:        # it ended before the call above
        os._exit(0)
