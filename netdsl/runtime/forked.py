"""Lanes 1..k-1 of a pass in forked worker processes, instead of threads.

Why: thread lanes (lanes.py) each run the whole plan, Python included, under one GIL. On
a 2-vCPU virtual machine a U-Net training step in two thread lanes cost 14.9 ms of CPU
against 11.3 in one thread: each lane runs the plan's Python (~1.5 ms a pass), the lanes
take the GIL from each other, a thread that waits for it sleeps, and a sleeping vCPU takes
~57 us to wake (1.1 ms of kernel time a step). A process has a GIL of its own: two
processes each running batch 8 took 6.5 ms a step, one alone 6.1.

How: the first split pass of a plan (a training run's, or an evaluation's) forks one
worker per extra lane (``os.fork``: the child has the plan, the layers and its lane's Ctx
as they were; nothing is pickled). Parent and worker share anonymous shared memory
(``shared_copy``, ``_shared``): the worker's inputs, which the parent copies in each pass
(shapes in a header); its outputs (``Arrays``: a training lane's gradient, an evaluation
lane's output ports), read by the parent after the pass; and whatever the caller shares
itself (NetTrain's learned arrays, so a worker reads each optimiser update at once);
and the partial sums that lanes add up (``Sums``: Train-mode BatchNormalization).
Passes are posted and awaited through counters polled in compiled code, as in
layers/compiled/meet.py. A worker polls ~2 ms after a pass, then sleeps on a pipe, with a
timeout, so a wake-up lost between the two processes only delays it. It ends when told
(``Forked.close``), when its owner is collected, at exit, with its parent
(PR_SET_PDEATHSIG), or (``idle``) after that many seconds without work.

An error in a worker comes back as its message (netdsl's own errors as themselves); a
worker that dies or takes far longer than lane 0 is a netdsl error, never a hang.
Used where fork is safe and the polling is (Linux, ``meet.usable``), unless the
environment says ``NETDSL_FORK=0``.
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

from .. import errors
from ..layers import compiled

ENABLED = True            # tests switch it; NETDSL_FORK=0 in the environment too
IDLE_SPINS = 1_000_000    # polls (~2 ms) a worker keeps after a pass before it sleeps
WAIT_SPINS = 1_000_000    # polls between the parent's checks that a worker still lives
PATIENCE = 0.005          # seconds the parent polls for a worker before it polls asleep
SLEEP = 0.02              # a sleeping worker looks for a pass this often (lost wake-ups)
SLOWER = 20.0             # a worker taking SLOWER x lane 0's time + GRACE seconds is stuck
GRACE = 60.0
MESSAGE = 4096            # bytes of an error's text
MAX_RANK = 8

# rows of the control block (one cache line each): passes posted, passes done, the
# worker asleep, the last pass failed, the pass's argument, stop
JOBS, DONE, SLEEPING, FAILED, ARGUMENT, STOP = range(6)
RELEASED = "lanes"        # the tag of a lane's error when another lane's failure released it
_ROW = 16

Job = Callable[[int, dict, int, "Arrays"], float]
Hold = Callable[[], Any]


def possible() -> bool:
    """Can lanes run in forked workers here? (Asked of passes big enough to split: it
    loads the compiled polls, and so numba.)"""
    if not _may_fork():
        return False
    meet = compiled.load("meet")
    return meet is not None and meet.usable()


def _may_fork() -> bool:
    return (ENABLED and os.environ.get("NETDSL_FORK", "").strip() != "0"
            and sys.platform.startswith("linux") and hasattr(os, "fork"))


def shared_copy(a: np.ndarray) -> np.ndarray:
    """``a`` copied into an anonymous shared mapping, which a forked child shares (its
    writes and the parent's are seen by both); ``a`` itself where there is no fork."""
    if not _may_fork() or a.size == 0:
        return a
    out = _shared(a.size, a.dtype).reshape(a.shape)
    out[...] = a
    return out


def _shared(n: int, dtype: Any) -> np.ndarray:
    return np.frombuffer(mmap.mmap(-1, max(1, n * np.dtype(dtype).itemsize)), dtype, count=n)


Spec = dict[str, tuple[tuple[int, ...], Any]]      # name -> (shape, dtype)


def spec(arrays: dict[str, np.ndarray]) -> Spec:
    return {name: (a.shape, a.dtype) for name, a in arrays.items()}


def shareable(arrays: dict[str, Any]) -> bool:
    """Can these arrays pass through shared memory (numbers, not objects)?"""
    return all(isinstance(a, np.ndarray) and a.dtype.kind in "biufc" and a.ndim <= MAX_RANK
               for a in arrays.values())


def fits(like: Spec, part: dict[str, np.ndarray]) -> bool:
    """Are ``part``'s arrays those of ``like`` but for (at most as many) examples on the
    last axis? (Then so are the outputs: a worker's buffers hold them.)"""
    return tuple(part) == tuple(like) and shareable(part) and all(
        x.dtype == dtype and x.shape[:-1] == shape[:-1] and x.shape[-1] <= shape[-1]
        for x, (shape, dtype) in zip(part.values(), like.values()))


class Arrays:
    """Named arrays in shared memory (a worker's inputs, its outputs): each at most as
    large as the one it was made for, its shape in a header."""

    def __init__(self, like: Spec):
        self.names = tuple(like)
        self.buffers = [_shared(int(np.prod(shape)), dtype) for shape, dtype in like.values()]
        self.shapes = _shared(max(1, len(like)) * (MAX_RANK + 1), np.int64).reshape(
            max(1, len(like)), -1)
        for i, (shape, _) in enumerate(like.values()):
            self._shape(i, shape)

    def whole(self, name: str) -> np.ndarray:
        """The buffer ``name`` in the shape it was made for (to write into in place)."""
        i = self.names.index(name)
        return self.buffers[i].reshape(self._read(i))

    def put(self, name: str, a: np.ndarray) -> None:
        i = self.names.index(name)
        buf = self.buffers[i]
        if a.size > buf.size or a.dtype != buf.dtype or a.ndim > MAX_RANK:
            raise errors.EvaluationError(f"A lane's array {name} {a.shape} does not fit its "
                                         f"worker's buffer.", symbol="$ProcessorCount",
                                         tag="lanefail")
        buf[:a.size].reshape(a.shape)[...] = a
        self._shape(i, a.shape)

    def view(self, name: str) -> np.ndarray:
        """The array last put under ``name`` (a view of shared memory)."""
        i = self.names.index(name)
        shape = self._read(i)
        return self.buffers[i][:int(np.prod(shape))].reshape(shape)

    def _shape(self, i: int, shape: tuple) -> None:
        self.shapes[i, 0] = len(shape)
        self.shapes[i, 1:1 + len(shape)] = shape

    def _read(self, i: int) -> tuple[int, ...]:
        return tuple(int(d) for d in self.shapes[i, 1:1 + self.shapes[i, 0]])


class Forked:
    """Workers for lanes 1..k-1, each running ``job(lane, inputs, argument, outputs)`` (a
    number back) on its part of a pass.

    like          each lane's inputs on the first pass (``spec``; later passes may have
                  fewer examples)
    outputs_like  the largest arrays a lane puts in its output ``Arrays``
    symbol        its errors' (NetTrain, or the evaluation's)
    hold          a context held around each lane's work (BLAS at one thread): here
                  around lane 0, in a worker for its whole life
    idle          seconds a worker waits for work before it ends (None: until closed)
    key           what else a pass must match (``fits``)
    sums          where the lanes add up sums (``Sums``), if they may
    keep          objects kept alive with the workers (those whose ids ``key`` holds)
    """

    def __init__(self, job: Job, like: list[Spec], outputs_like: Spec, symbol: str, hold: Hold,
                 idle: float | None = None, key: Any = None, sums: Sums | None = None,
                 keep: Any = None):
        # (the job is not kept: it may hold the plan that holds these workers, which then
        # would end only at a full garbage collection, not when the plan is dropped)
        self.like, self.symbol, self.hold, self.key = like, symbol, hold, key
        self.sums, self.keep = sums, keep
        self.workers: list[_Worker] = []
        try:
            for i, part in enumerate(like[1:], 1):
                self.workers.append(_Worker(i, job, part, outputs_like, symbol, hold, idle,
                                            sums))
        except BaseException:
            self.close()
            raise
        self._finalizer = weakref.finalize(self, _close_all, list(self.workers))

    def fits(self, parts: list[dict[str, np.ndarray]], key: Any = None) -> bool:
        """Can these workers run these lanes (the same ``key``; inputs no larger than the
        first pass's)?"""
        return key == self.key and len(parts) == len(self.like) and all(
            w.pid is not None for w in self.workers) and all(
            fits(like, p) for like, p in zip(self.like, parts))

    def ended(self) -> bool:
        """Has a worker ended (idle, or killed)? Then these workers are done with."""
        return any(w.ended() for w in self.workers)

    def run(self, parts: list[dict[str, np.ndarray]], argument: int,
            lane0: Callable[[], Any]) -> tuple[Any, list[tuple[float, Arrays]]]:
        """Lanes 1.. in the workers and ``lane0()`` here, at once (BLAS at one thread):
        lane 0's result, and each worker's number and outputs."""
        for w, part in zip(self.workers, parts[1:]):
            w.give(part, argument)
        start = time.perf_counter()
        failures: list[BaseException] = []
        first = None
        with self.hold():
            try:
                first = lane0()
            except BaseException as e:   # noqa: BLE001 - raised once the workers are done
                failures.append(e)
                if self.sums is not None:    # the workers must not wait for lane 0's sums
                    self.sums.abort()
        limit = SLOWER * (time.perf_counter() - start) + GRACE
        rest = []
        for w in self.workers:
            try:
                rest.append((w.result(limit), w.outputs))
            except BaseException as e:   # noqa: BLE001
                failures.append(e)
        if failures:
            if self.sums is not None and self.sums.aborted:   # out of step: not used again
                self.close()
            # the lane that failed, not one released from a sum by it
            raise next((e for e in failures if getattr(e, "tag", None) != RELEASED),
                       failures[0])
        return first, rest

    def close(self) -> None:
        _close_all(self.workers)


def _close_all(workers: list["_Worker"]) -> None:
    for w in workers:
        w.close()


class _Worker:
    """Lane ``lane``'s process, and the memory it shares with the parent."""

    def __init__(self, lane: int, job: Job, like: Spec, outputs_like: Spec, symbol: str,
                 hold: Hold, idle: float | None, sums: Sums | None):
        self.lane, self.symbol, self.hold, self.idle, self.sums = lane, symbol, hold, idle, sums
        self.idled = False
        self.ctrl = _shared(8 * _ROW, np.int64).reshape(8, _ROW)
        self.value = _shared(1, np.float64)
        self.inputs = Arrays(like)
        self.outputs = Arrays(outputs_like)
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
        if pid == 0:                       # the worker: serves passes until told to stop
            self._serve(job)
        self.pid: int | None = pid
        os.close(self.wake_r)

    # ------------------------------------------------------------ the parent's side
    def give(self, part: dict[str, np.ndarray], argument: int) -> None:
        """Post a pass on ``part`` (copied into the worker's input buffers here)."""
        if self.pid is None:
            raise self._gone("was stopped")
        if self.ctrl[DONE, 0] < self.count:      # a pass left after an error: its inputs
            try:                                 # are not overwritten while it reads them
                self.result(GRACE)
            except BaseException:   # noqa: BLE001 - that pass's outcome is not wanted
                if self.pid is None:
                    raise
        for name, x in part.items():
            self.inputs.put(name, x)
        self.ctrl[ARGUMENT, 0] = argument
        self.count += 1
        _post(self.ctrl, JOBS, self.count)
        if self.ctrl[SLEEPING, 0]:
            self._wake()

    def result(self, limit: float) -> float:
        """The worker's number for the pass given, once it is done (its outputs are in
        ``outputs``); its error, raised here; a netdsl error when it died or took more
        than ``limit`` seconds."""
        start = time.perf_counter()
        while not _polled(self.ctrl, DONE, self.count - 1, WAIT_SPINS):
            if self.ended():
                if self.idled:        # it ended idle just as this pass was posted
                    raise EndedIdle(self._gone("ended idle").text, symbol=self.symbol,
                                    tag="lanefail")
                raise self._gone("ended unexpectedly")
            waited = time.perf_counter() - start
            if waited > limit:
                self.kill()
                raise self._gone(f"did not finish its part within {limit:.0f} s")
            if waited > PATIENCE:        # a long wait: no longer holding a core for it
                time.sleep(0.0002)
        if self.ctrl[FAILED, 0]:
            text = bytes(self.message).rstrip(b"\0").decode("utf-8", "replace")
            raise _reported(text, self.symbol)
        return float(self.value[0])

    def ended(self) -> bool:
        """Has the worker ended (then it is reaped and forgotten)?"""
        if self.pid is None:
            return True
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = self.pid, -1
        if pid == 0:
            return False
        self.idled = status == 0 and self.idle is not None     # (os._exit(0) when idle)
        self._forget()
        return True

    def close(self) -> None:
        """Tell the worker to stop; killed if it has not within a second. (Only by the
        process that forked it: not by a child of that process which ends.)"""
        if self.pid is None or os.getpid() != self.parent:
            return
        self.ctrl[STOP, 0] = 1
        _post(self.ctrl, JOBS, self.count + 1)
        self._wake()
        deadline = time.monotonic() + 1.0
        while not self.ended():
            if time.monotonic() > deadline:
                self.kill()
                return
            time.sleep(0.001)

    def kill(self) -> None:
        if self.pid is None or os.getpid() != self.parent:
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

    def _wake(self) -> None:
        try:
            os.write(self.wake_w, b"\0")
        except OSError:
            pass          # a full pipe wakes it anyway; a closed one: it has ended

    def _gone(self, what: str) -> errors.EvaluationError:
        return errors.EvaluationError(
            f"A lane's worker process {what}; set NETDSL_FORK=0 to run lanes on threads "
            f"instead.", symbol=self.symbol, tag="lanefail")

    # ------------------------------------------------------------ the worker's side
    def _serve(self, job: Job) -> None:
        """The worker's life: never returns (``os._exit``)."""
        try:
            # the parent's open files (sockets too) are closed here: a connection the
            # parent closes must close, not live on in its worker
            os.closerange(3, self.wake_r)
            os.closerange(self.wake_r + 1, _max_fd())
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is the parent's
            except ValueError:
                pass
            _die_with(self.parent)
            gc.freeze()            # the parent's objects: never collected (nor copied) here
            with self.hold():
                seen = 0
                while True:
                    seen = self._next(seen)
                    if self.ctrl[STOP, 0]:
                        break
                    self._pass(job)
                    _post(self.ctrl, DONE, seen)
        finally:
            os._exit(0)

    def _next(self, seen: int) -> int:
        """Wait for a pass after ``seen``: polling, then asleep on the pipe; the end of
        the worker after ``idle`` seconds without one, or when its parent has gone."""
        since = time.monotonic()
        while not _polled(self.ctrl, JOBS, seen, IDLE_SPINS):
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
            if self.idle is not None and time.monotonic() - since > self.idle \
                    and self.ctrl[JOBS, 0] <= seen:
                os._exit(0)
        return int(self.ctrl[JOBS, 0])

    def _pass(self, job: Job) -> None:
        try:
            inputs = {name: self.inputs.view(name) for name in self.inputs.names}
            self.value[0] = job(self.lane, inputs, int(self.ctrl[ARGUMENT, 0]), self.outputs)
            self.ctrl[FAILED, 0] = 0
        except BaseException as e:   # noqa: BLE001 - reported to the parent
            if self.sums is not None:       # the other lanes must not wait for its sums
                self.sums.abort()
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


class EndedIdle(errors.EvaluationError):
    """A worker ended for want of work just as a pass was posted to it (a race its idle
    end cannot rule out): the caller runs that pass another way."""


class Sums:
    """Where lanes in separate processes add up partial sums (``Ctx.across``), as thread
    lanes do at a ``lanes.Meeting``: each lane copies its part into its own slot of shared
    memory, posts the call's number, waits until every lane has, and adds all parts in
    lane order, so every lane gets the same total, bit for bit. Each lane has two slots,
    used by turns: a lane may post the next call's part only once every lane has posted
    this one, so after it has read this one's. Every lane makes the same calls in the
    same order (they run the same steps); each process counts its own. A lane that fails
    sets the abort row, which releases the others (with an error); so does a wait of
    ``lanes.MEETING_TIMEOUT``."""

    CAPACITY = 1 << 23        # bytes a part may have (address space: pages come when used)

    def __init__(self, k: int, timeout: float):
        self.k, self.timeout = k, timeout
        self.flags = _shared((k + 1) * _ROW, np.int64).reshape(k + 1, _ROW)   # + abort
        self.slots = _shared(k * 2 * self.CAPACITY, np.uint8).reshape(k, 2, -1)
        self.calls = 0

    def total(self, lane: int, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x)
        if x.nbytes > self.CAPACITY:
            self.abort()
            raise errors.EvaluationError(
                f"A sum across lanes of {x.nbytes} bytes is more than worker processes "
                f"can pass ({self.CAPACITY}); set NETDSL_FORK=0.", symbol="$ProcessorCount",
                tag="lanefail")
        self.calls += 1
        turn = self.calls % 2
        self.slots[lane, turn, :x.nbytes] = x.reshape(-1).view(np.uint8)
        _post(self.flags, lane, self.calls)
        for q in range(self.k):
            if q != lane:
                self._await(q)
        parts = [self.slots[q, turn, :x.nbytes].view(x.dtype).reshape(x.shape)
                 for q in range(self.k)]
        out = np.array(parts[0], copy=True)
        for part in parts[1:]:
            out += part
        return out

    def abort(self) -> None:
        self.flags[self.k, 0] = 1

    @property
    def aborted(self) -> bool:
        return bool(self.flags[self.k, 0])

    def _await(self, q: int) -> None:
        start = time.perf_counter()
        while not _polled(self.flags, q, self.calls - 1, WAIT_SPINS):
            waited = time.perf_counter() - start
            if self.aborted or waited > self.timeout:
                self.abort()
                raise errors.EvaluationError(
                    "The lanes adding up a sum did not all come (another lane failed, or "
                    "took too long).", symbol="$ProcessorCount", tag=RELEASED)
            if waited > PATIENCE:
                time.sleep(0.0002)


class Apart:
    """The ``Ctx.meeting`` of a lane whose partners run in other processes: like thread
    lanes', it tells a step that other lanes run beside it (an LSTM's loop then keeps to
    its thread); it has no sums to add up (passes that need them keep thread lanes)."""

    def total(self, lane: int, x: np.ndarray) -> np.ndarray:
        raise errors.EvaluationError("A step asked for sums across lanes that run in "
                                     "separate processes; set NETDSL_FORK=0.",
                                     symbol="$ProcessorCount", tag="lanefail")


APART = Apart()


class NoWorkers:
    """In place of a Forked whose fork failed (no memory, a process limit): threads."""

    def close(self) -> None:
        pass


NO_WORKERS = NoWorkers()


def start(job: Job, like: list[Spec], outputs_like: Spec, symbol: str, hold: Hold,
          idle: float | None = None, key: Any = None, sums: Sums | None = None,
          keep: Any = None) -> Forked | NoWorkers:
    """``Forked(...)``, or NO_WORKERS when this system cannot fork now."""
    try:
        return Forked(job, like, outputs_like, symbol, hold, idle, key, sums, keep)
    except OSError:
        return NO_WORKERS


def _post(flags: np.ndarray, row: int, count: int) -> None:
    """``count`` into a row of the control block, the stores before it seen first
    (layers/compiled/meet.py, loaded by ``possible``)."""
    meet = compiled.load("meet")
    meet.post(flags, row, count, meet.RELAX)


def _polled(flags: np.ndarray, row: int, seen: int, spins: int) -> bool:
    """Has the row gone past ``seen`` within ``spins`` polls (in compiled code)?"""
    meet = compiled.load("meet")
    return bool(meet._await_job(flags, row, seen, meet.RELAX, spins))


def _max_fd() -> int:
    try:
        return max(int(os.sysconf("SC_OPEN_MAX")), 256)
    except (OSError, ValueError):
        return 65536


def _flush() -> None:
    """Written output out before a fork (not written twice, should a child flush)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass


def _reported(text: str, symbol: str) -> BaseException:
    """A worker's error in the parent: netdsl's own errors as themselves."""
    kind, sym, tag, body = (text.split("|", 3) + ["", "", ""])[:4]
    cls = getattr(errors, kind, None) if kind else None
    if isinstance(cls, type) and issubclass(cls, errors.NetDSLError):
        return cls(body, symbol=sym or None, tag=tag or "error")
    return errors.EvaluationError(f"A lane running in a worker process failed: {body}",
                                  symbol=symbol, tag="lanefail")


def _die_with(parent: int) -> None:
    """This process ends with its parent (Linux: PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:        # it ended before the call above
        os._exit(0)
