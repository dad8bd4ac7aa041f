"""Lanes: one batch split across threads, BLAS on one thread per lane.

NumPy's ufuncs, copies and OpenBLAS's GEMMs release the GIL, so k Python threads each
running the plan on 1/k of the batch use k cores for the whole pass, where OpenBLAS's own
threads only help inside GEMMs (the copies, pooling and elementwise steps stay on one
core). While lanes run, BLAS is held at one thread (threadpoolctl), so k lanes use k
cores, never k x BLAS threads.

A pass is split only when that cannot change what it computes (``Layer.example_coupling``):
every step treats the examples of the batch independently ("none"), or uses the batch
only through sums ("sums": Train-mode BatchNormalization's statistics), which the lanes
add up where they meet (``Meeting``, ``Ctx.across``). Train-mode Dropout ("random": the
draws depend on how the batch is cut) keeps an evaluation in one lane; training
(``runtime/train/loop.py``) gives each lane its own stream. Where fork is used, lanes 1..
run in forked worker processes instead of threads (``forked.py``): in training (sums
meet in shared memory, ``forked.Sums``), and in evaluations whose lanes need not meet.
Each lane has its own Ctx and scratch buffers (``Plan.lane_scratch``), so
lanes never share a mutable buffer.

How many lanes: ``threads()`` (``set_threads(n)``, else the environment variable
NETDSL_THREADS, else the cores this process may run on, ``os.sched_getaffinity``), never
more than BLAS's own thread limit (a process told ``OPENBLAS_NUM_THREADS=1``, or run
under ``threadpool_limits(1)``, gets one lane), and one without threadpoolctl (BLAS
could not be held at one thread per lane). Small passes run in one lane: a pass is
split when its steps write at least ``MIN_WORK`` numbers or take ``MIN_SECONDS`` (both
found on the first pass of each input shape, which runs in one lane) and every lane gets
at least ``MIN_EXAMPLES`` examples.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

import numpy as np

from ..errors import EvaluationError
from ..layers import compiled, placement
from . import forked
from .context import Ctx
from .layout import to_batch_first
from .steps import Plan

try:
    from threadpoolctl import ThreadpoolController
except ImportError:     # the optional netdsl[speed] extra: without it, one lane
    ThreadpoolController = None

# A pass is split when its steps write at least this many numbers, or when it took at
# least MIN_SECONDS of CPU in one lane (the faster of its first two passes: the first
# also makes buffers); recurrent layers write little but compute much. Splitting costs
# about 0.5-1 ms of CPU per pass (hand-over, copies, the GIL between lanes; LeNet-BN's 1.5 ms
# forward took 2.5 ms of CPU in two lanes, benchmarks/bench_lanes.py), so below ~2 ms
# the second core gains little ...
MIN_WORK = 1_000_000
MIN_SECONDS = 0.002
# ... and every lane gets at least this many examples.
MIN_EXAMPLES = 4
MEETING_TIMEOUT = 600.0   # seconds a lane waits at a meeting for the others

_requested: int | None = None
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()
_blas: list[Any] | None = None


# ---------------------------------------------------------------- the control
def available_cores() -> int:
    """The cores this process may run on (its affinity mask, as PyTorch's default)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):    # not Linux
        return max(1, os.cpu_count() or 1)


def set_threads(n: int | None) -> None:
    """Lanes per pass from now on: ``n`` >= 1, or None for the default (NETDSL_THREADS,
    else the available cores)."""
    global _requested
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise EvaluationError(f"The number of threads should be a positive integer or None, "
                              f"not {n!r}.", symbol="$ProcessorCount", tag="threads")
    _requested = n


def threads() -> int:
    """The number of lanes asked for: ``set_threads``, NETDSL_THREADS, or the cores."""
    if _requested is not None:
        return _requested
    env = os.environ.get("NETDSL_THREADS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise EvaluationError(f"NETDSL_THREADS={env!r} should be a positive integer "
                                  f"(the number of threads netdsl uses).",
                                  symbol="$ProcessorCount", tag="threads")
        return int(env)
    return available_cores()


def lane_count() -> int:
    """Lanes a pass may use now: ``threads()``, at most BLAS's thread limit; 1 without
    threadpoolctl."""
    k = threads()
    if k == 1:
        return 1
    blas = _blas_controllers()
    if not blas:
        return 1
    return max(1, min([k] + [c.num_threads for c in blas]))


def _blas_controllers() -> list[Any]:
    global _blas
    if _blas is None:
        _blas = [] if ThreadpoolController is None else \
            ThreadpoolController().select(user_api="blas").lib_controllers
    return _blas


class _OneBlasThread:
    """BLAS at one thread while lanes run; the previous limits restored after. BLAS's
    limit is process-wide: with split passes running in several threads at once, the
    first to start saves it and the last to end restores it."""

    lock = threading.Lock()
    active = 0
    saved: list[tuple[Any, int]] = []

    def __enter__(self) -> None:
        cls = _OneBlasThread
        with cls.lock:
            if cls.active == 0:
                cls.saved = [(c, c.num_threads) for c in _blas_controllers()]
                for c, _ in cls.saved:
                    c.set_num_threads(1)
            cls.active += 1

    def __exit__(self, *exc: Any) -> None:
        cls = _OneBlasThread
        with cls.lock:
            cls.active -= 1
            if cls.active == 0:
                for c, n in cls.saved:
                    c.set_num_threads(n)


def one_blas_thread() -> _OneBlasThread:
    """BLAS held at one thread within a ``with`` block (as while lanes run)."""
    return _OneBlasThread()


def _workers(k: int) -> ThreadPoolExecutor:
    """A persistent pool of k - 1 threads (lane 0 runs on the caller's thread)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < k - 1:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=k - 1, thread_name_prefix="netdsl-lane")
            _pool_size = k - 1
        return _pool


# ---------------------------------------------------------------- splitting
def coupling(step_layer: Any, train: bool) -> str:
    """A step's ``example_coupling`` ("none", "sums", "random", "batch"); "batch" (never
    split) for a step that does not say."""
    ask = getattr(step_layer, "example_coupling", None)
    return "batch" if ask is None else ask(train)


def strongest(kinds: Any) -> str:
    """The strongest of some couplings: "batch" > "random" > "sums" > "none"."""
    kinds = set(kinds)
    return next((k for k in ("batch", "random", "sums") if k in kinds), "none")


class Meeting:
    """Where the k lanes of one pass add up partial sums (``Ctx.across``): each lane
    posts its part, waits for the others, and adds all parts in lane order, so every
    lane gets the same total (bit for bit). Every lane makes the same calls in the same
    order, as they run the same steps."""

    def __init__(self, k: int):
        self.parts: list[Any] = [None] * k
        # a bound, not a schedule: lanes do the same work, so one that has not come in
        # this long never will (a layer calling ``across`` a different number of times)
        self.barrier = threading.Barrier(k, timeout=MEETING_TIMEOUT)

    def total(self, lane: int, x: np.ndarray) -> np.ndarray:
        self.parts[lane] = np.asarray(x)
        self.barrier.wait()         # every part posted
        out = np.array(self.parts[0], copy=True)
        for p in self.parts[1:]:
            out += p
        self.barrier.wait()         # every lane has read them: the next call may post
        return out


def plan_coupling(plan: Plan, train: bool) -> str:
    """The strongest coupling of any step of ``plan`` (cached on it)."""
    key = ("coupling", train)
    found = plan.lanes.get(key)
    if found is None:
        found = plan.lanes[key] = strongest(coupling(st.layer, train) for st in plan.steps)
    return found


def bounds(n: int, k: int) -> list[tuple[int, int]]:
    """k consecutive parts of n examples, sizes differing by at most one."""
    cuts = [n * i // k for i in range(k + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(k)]


def part(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Examples lo..hi of a batch-last array, C-contiguous."""
    return np.ascontiguousarray(x[..., lo:hi]) if x.ndim > 1 else x[lo:hi]


def views(inputs: dict[str, np.ndarray], cuts: list[tuple[int, int]]
          ) -> list[dict[str, np.ndarray]]:
    """Each lane's examples of batch-last inputs, as views (a worker's are copied once,
    into its shared memory)."""
    return [{p: x[..., lo:hi] if x.ndim > 1 else x[lo:hi] for p, x in inputs.items()}
            for lo, hi in cuts]


def join(parts: list[np.ndarray]) -> np.ndarray:
    """Batch-last parts back into one array."""
    return np.concatenate(parts, axis=-1)


def lanes_for(plan: Plan, inputs: dict[str, np.ndarray], splittable: bool) -> int:
    """How many lanes a pass gets: 1 (run as usual), or 0 (not known yet: run it in one
    lane through ``counted``). ``splittable``: no step couples
    the examples (as the caller judges from ``plan_coupling``)."""
    n = _batch(inputs)
    if not splittable or n < 2 * MIN_EXAMPLES:
        return 1
    k = min(lane_count(), n // MIN_EXAMPLES)
    if k < 2:
        return 1
    work = plan.lanes.get(("work", shapes_of(inputs)))
    if work is None:
        return 0
    numbers, seconds, passes = work
    if numbers >= MIN_WORK:
        return k
    if passes < 2:
        return 0
    return k if seconds >= MIN_SECONDS else 1


def _batch(inputs: dict[str, np.ndarray]) -> int:
    for x in inputs.values():
        return int(x.shape[-1]) if x.ndim else 1
    return 1


def shapes_of(inputs: dict[str, np.ndarray]) -> tuple:
    """The key of a pass's input shapes, under which the plan keeps what was measured."""
    return tuple((p, x.shape) for p, x in inputs.items())


def counted(plan: Plan, inputs: dict[str, np.ndarray], run: Callable[[list[int]], Any]) -> Any:
    """``run(written)`` (a one-lane pass, ``Plan.run(..., written=written)``), noting on
    the plan how many numbers it wrote and how long it took, for ``lanes_for``."""
    written: list[int] = []
    start = time.thread_time()      # CPU time: the machine's load does not change it
    found = run(written)
    seconds = time.thread_time() - start
    key = ("work", shapes_of(inputs))
    known = plan.lanes.get(key)
    plan.lanes[key] = (sum(written), seconds if known is None else min(seconds, known[1]),
                       1 if known is None else known[2] + 1)
    return found


def lane_ctx(plan: Plan, lane: int, like: Ctx) -> Ctx:
    """Lane ``lane``'s own Ctx (its own scratch buffers) with the settings of ``like``."""
    while len(plan.lane_scratch) < lane:
        plan.lane_scratch.append({})
    return Ctx(train=like.train, grad=like.grad, seed=like.seed,
               scratch=plan.lane_scratch[lane - 1])


def training_ctxs(ctx: Ctx, k: int) -> list[Ctx]:
    """The Ctx of each of k lanes of a training run: ``ctx`` itself for lane 0, and for
    lane i > 0 one kept on ``ctx``, with its own scratch buffers and random stream
    (seeded once from ``ctx.rng``: Dropout's masks are reproducible for a RandomSeeding
    and a number of lanes)."""
    while len(ctx.lanes) < k - 1:
        ctx.lanes.append(Ctx(train=ctx.train, grad=ctx.grad,
                             rng=np.random.default_rng(ctx.rng.integers(2 ** 63))))
    return [ctx] + ctx.lanes[:k - 1]


def run_parts(k: int, job: Callable[[int, Any], Any]) -> list[Any]:
    """``job(lane, meeting)`` for lanes 0..k-1 at once (lane 0 on this thread), BLAS at
    one thread; the results in lane order. An error in any lane is raised after all have
    ended (a lane waiting at the meeting is released by it)."""
    pool = _workers(k)
    meeting = Meeting(k)
    where = placement.cpus(k)           # each lane on a CPU of its own for this pass

    def guarded(i: int) -> Any:
        try:
            with placement.Pinned(where[i] if where else None):
                return job(i, meeting)
        except BaseException:
            meeting.barrier.abort()     # the other lanes must not wait for this one
            raise
    errors: list[BaseException] = []
    with _OneBlasThread():
        futures: list[Future] = [pool.submit(guarded, i) for i in range(1, k)]
        results: list[Any] = [None] * k
        try:
            results[0] = guarded(0)
        except BaseException as e:   # noqa: BLE001 - re-raised below, after the others end
            errors.append(e)
        for i, f in enumerate(futures, 1):
            try:
                results[i] = f.result()
            except BaseException as e:   # noqa: BLE001
                errors.append(e)
    if errors:      # the lane that failed first, not one released from the meeting by it
        first = next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)),
                     None)
        if first is not None:
            raise first
        raise EvaluationError("The threads evaluating parts of the batch did not meet to add "
                              "up their sums (a layer's example_coupling \"sums\" with a "
                              "different number of ctx.across calls per part?); set "
                              "NETDSL_THREADS=1 to run in one thread.",
                              symbol="$ProcessorCount", tag="lanes") from errors[0]
    return results


def meet(ctx: Ctx, lane: int, meeting: Any) -> Ctx:
    """``ctx`` set up as lane ``lane`` of a split pass (``leave`` undoes it): ``meeting``
    a Meeting, or forked.APART for lanes in separate processes."""
    ctx.meeting, ctx.lane = meeting, lane
    return ctx


def leave(ctx: Ctx) -> None:
    ctx.meeting, ctx.lane = None, 0


# ---------------------------------------------------------------- evaluation
def run(plan: Plan, ctx: Ctx, inputs: dict[str, np.ndarray], owned: bool,
        batch_first: bool = False) -> dict[str, np.ndarray]:
    """``plan.run(ctx, inputs)``'s outputs, the batch split across lanes when that pays
    and changes nothing. ``owned``: the caller holds the plan's lock (its scratch
    buffers, and so the lanes' own, are free); otherwise one lane. ``batch_first``: the
    inputs and outputs are in the caller's layout (layout.py), and a split pass converts
    each lane's part in that lane: one transposing copy per part, made in parallel,
    instead of the whole batch's conversion and then the parts' copies, one thread doing
    all (U-Net, batch 16 in two lanes: ~0.1 ms of a 3 ms pass)."""
    if batch_first:          # batch-last views: the shapes the plan and its records know
        inputs = {p: _batch_last_view(x) for p, x in inputs.items()}
    k = _lanes(plan, ctx, inputs, owned)
    if k >= 2 and not _forkable(plan, ctx):   # (worker processes: faster than shared kernels)
        return split_or_shared(plan, ("lanes", shapes_of(inputs)), k,
                               lambda c: _run_in(plan, ctx, inputs, owned, c, batch_first))
    return _run_in(plan, ctx, inputs, owned, k, batch_first)


def split_or_shared(plan: Plan, key: tuple, k: int, run: Callable[[int], Any]) -> Any:
    """``run(k)`` for a pass worth k >= 2 lanes, or, where compiled kernels can share
    their work instead (``teams()``), the faster of ``run(k)`` and ``run(1)`` (one lane,
    ``teamed``) as measured on this plan under ``key`` (evaluation and training)."""
    if not teams():
        return run(k)
    return measured(plan, key, (k, 1), run, time.perf_counter)


def _run_in(plan: Plan, ctx: Ctx, inputs: dict[str, np.ndarray], owned: bool, k: int,
            batch_first: bool) -> dict[str, np.ndarray]:
    """``run`` in k lanes (k < 2: one lane, as ``_one_lane``)."""
    if k < 2:
        if batch_first:
            inputs = {p: np.ascontiguousarray(x) if x.ndim > 1 else x
                      for p, x in inputs.items()}
        with teamed(ctx, _batch(inputs)):
            outputs = _one_lane(plan, ctx, inputs, k)
        return {p: to_batch_first(y) for p, y in outputs.items()} if batch_first else outputs
    kind = plan_coupling(plan, ctx.train)
    cuts = bounds(_batch(inputs), k)
    results = _in_processes(plan, ctx, inputs, cuts, batch_first) \
        if _forkable(plan, ctx) else None
    if results is None:
        def lane(i: int, meeting: Meeting) -> dict[str, np.ndarray]:
            lo, hi = cuts[i]
            return _lane(plan, ctx if i == 0 else lane_ctx(plan, i, ctx), i, meeting,
                         {p: part(x, lo, hi) for p, x in inputs.items()}, kind == "none",
                         batch_first)
        results = run_parts(k, lane)
    glue = _join_first if batch_first else join
    return {p: glue([r[p] for r in results]) for p in results[0]}


def _lane(plan: Plan, ctx: Ctx, lane: int, meeting: Any, inputs: dict[str, np.ndarray],
          independent: bool, batch_first: bool) -> dict[str, np.ndarray]:
    """Lane ``lane``'s outputs for its examples ``inputs``, in the caller's layout."""
    own = meet(ctx, lane, meeting)
    try:
        out = chunked(plan, own, inputs, independent)
    finally:
        leave(own)
    return {p: to_batch_first(y) for p, y in out.items()} if batch_first else out


# An evaluation's worker processes end after this long without work (a serving loop keeps
# them; a plan used once in a while forks anew: the U-Net's first split call 8 ms, not 2)
FORK_IDLE = 10.0


def _forkable(plan: Plan, ctx: Ctx) -> bool:
    """May a split evaluation run lanes 1.. in worker processes (forked.py)? Where
    forking is used and lanes need not talk (every step "none")."""
    return forked.possible() and plan_coupling(plan, ctx.train) == "none"


def _in_processes(plan: Plan, ctx: Ctx, inputs: dict[str, np.ndarray],
                  cuts: list[tuple[int, int]], batch_first: bool
                  ) -> list[dict[str, np.ndarray]] | None:
    """Each lane's outputs, lanes 1.. computed by the plan's worker processes (forked on
    the first split pass: lane 0 runs alone then, its outputs sizing the workers'
    buffers), or None where they cannot run it (inputs larger than that first pass's,
    a mode other than its): then threads."""
    parts, key = views(inputs, cuts), (ctx.train, ctx.grad)
    if isinstance(plan.forked, forked.Forked) and plan.forked.ended():    # idle too long
        plan.forked.close()
        plan.forked = None

    def lane(i: int, own: Ctx) -> dict[str, np.ndarray]:
        lo, hi = cuts[i]
        return _lane(plan, own, i, forked.APART, {p: part(x, lo, hi)
                                                 for p, x in inputs.items()},
                     True, batch_first)
    first = None
    if plan.forked is None:
        if not forked.shareable(inputs):
            return None
        first = lane(0, ctx)
        plan.forked = _fork(plan, ctx, cuts, parts, first, key)
    workers = plan.forked
    if not isinstance(workers, forked.Forked) or not workers.fits(parts, key):
        if first is None:
            return None          # (no fork now: this pass's other lanes here, one by one)
        return [first] + [lane(i, lane_ctx(plan, i, ctx)) for i in range(1, len(cuts))]
    try:
        done, rest = workers.run(parts, int(batch_first),
                                 (lambda: lane(0, ctx)) if first is None else (lambda: first))
    except forked.EndedIdle:        # (rare: it ended idle as this pass came) threads, once
        return None
    return [done] + [{p: out.view(p) for p in out.names} for _, out in rest]


def _fork(plan: Plan, ctx: Ctx, cuts: list[tuple[int, int]],
          parts: list[dict[str, np.ndarray]], first: dict[str, np.ndarray], key: Any
          ) -> forked.Forked | forked.NoWorkers:
    """Workers for lanes 1.. of this plan's evaluations, their output buffers sized by
    lane 0's outputs ``first`` for the most examples a lane gets."""
    if not forked.shareable(first):
        return forked.NO_WORKERS
    n0, most = cuts[0][1] - cuts[0][0], max(hi - lo for lo, hi in cuts)
    outputs_like: forked.Spec = {p: ((y.size // n0 * most,), y.dtype) for p, y in first.items()}
    ctxs = {i: lane_ctx(plan, i, ctx) for i in range(1, len(cuts))}

    def job(lane: int, sub: dict[str, np.ndarray], layout: int, outputs: forked.Arrays
            ) -> float:
        for p, y in _lane(plan, ctxs[lane], lane, forked.APART, sub, True,
                          bool(layout)).items():
            outputs.put(p, y)
        return 0.0
    return forked.start(job, [forked.spec(v) for v in parts], outputs_like, "General",
                        one_blas_thread, idle=FORK_IDLE, key=key)


def _lanes(plan: Plan, ctx: Ctx, inputs: dict[str, np.ndarray], owned: bool) -> int:
    """Lanes for this pass (``lanes_for``'s 0: count its work in one lane; -1: one lane,
    nothing to ask), noting on ``ctx`` the threads a step of a pass not split may use."""
    if not owned:
        return -1
    ctx.threads = lane_count()      # a pass not split: a step may use them (an LSTM's loop)
    if _batch(inputs) < 2 * MIN_EXAMPLES:    # (batch 1: nothing more to ask)
        return -1
    kind = plan_coupling(plan, ctx.train)
    return lanes_for(plan, inputs, kind in ("none", "sums"))


def _one_lane(plan: Plan, ctx: Ctx, inputs: dict[str, np.ndarray], k: int
              ) -> dict[str, np.ndarray]:
    if k == -1:
        return plan.run(ctx, inputs)[0]
    if k == 0:      # first pass of this shape: one lane, counting its work
        return counted(plan, inputs, lambda w: plan.run(ctx, inputs, written=w))[0]
    return chunked(plan, ctx, inputs, plan_coupling(plan, ctx.train) == "none")


def _batch_last_view(x: Any) -> Any:
    """A batch-first array seen batch-last, without a copy (not C-contiguous)."""
    x = np.asarray(x)
    return x.transpose(tuple(range(1, x.ndim)) + (0,)) if x.ndim > 1 else x


def _join_first(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts, axis=0)


# ---------------------------------------------------------------- chunks
# A large batch can run faster as a few smaller ones one after the other (ResNet's 16x32x32
# activations at 1 thread: 1.09 ms an example at batch 32, 0.91 at 16; the pass's buffers
# stay in the caches), or not (LeNet, an LSTM: smaller GEMMs). Which is measured, not
# guessed: the first passes of each input shape large enough to split (MIN_WORK or
# MIN_SECONDS, as for lanes) try 1, 2 and 4 chunks, each TRIAL_ROUNDS times in a row,
# timed in CPU time (wall-clock when helper threads may share a kernel, compiled/team.py),
# and the rest use the fastest (by its best time), if it beats one
# chunk by CHUNK_GAIN. Once each was not enough: a pass after one of another chunk size
# pays for new buffers (the plan keeps one per kind and size) and BLAS block timing, the
# whole batch most, and the U-Net at batch 16 took 2 chunks in one process (one chunk
# timed 3.7 ms, two 3.1) and 1 in another; in use one chunk took 2.5 ms, two 3.0.
CHUNKS = (1, 2, 4)
CHUNK_GAIN = 0.9
TRIAL_ROUNDS = 2


def chunked(plan: Plan, ctx: Ctx, inputs: dict[str, np.ndarray], independent: bool
            ) -> dict[str, np.ndarray]:
    """``plan.run(ctx, inputs)``'s outputs, the batch run in chunks when that was found
    faster. ``independent``: no step couples the examples (so any cut gives the same
    results)."""
    n = _batch(inputs)
    if not independent or n < 2 * MIN_EXAMPLES * 2:
        return plan.run(ctx, inputs)[0]
    work = plan.lanes.get(("work", shapes_of(inputs)))
    if work is None:    # its first pass: whole, counting its work
        return counted(plan, inputs, lambda w: plan.run(ctx, inputs, written=w))[0]
    if work[0] < MIN_WORK and work[1] < MIN_SECONDS:    # small: nothing to gain
        return plan.run(ctx, inputs)[0]
    # CPU time, unless helper threads may share the kernels' work (then wall-clock)
    clock = time.perf_counter if ctx.teamed else time.thread_time
    return measured(plan, ("chunks", shapes_of(inputs)),
                    tuple(c for c in CHUNKS if n // c >= MIN_EXAMPLES),
                    lambda c: _in_chunks(plan, ctx, inputs, c), clock, CHUNK_GAIN)


def measured(plan: Plan, key: tuple, choices: tuple, run: Callable[[Any], Any],
             clock: Callable[[], float], gain: float = 1.0) -> Any:
    """``run(choice)`` for the choice found fastest for ``key`` on this plan: its first
    passes try each of ``choices`` TRIAL_ROUNDS times in a row, timed by ``clock``; the
    rest use the fastest by its best time if it beats the first choice's by ``gain``,
    else the first. Every trial is a real pass (its result is returned)."""
    found = plan.lanes.get(key)
    if found is not None and not isinstance(found, dict):
        return run(found)
    times: dict[Any, list[float]] = found or {}
    trial = next((c for c in choices if len(times.get(c, ())) < TRIAL_ROUNDS), None)
    if trial is None:    # every trial timed: keep the fastest
        best = min(choices, key=lambda c: min(times[c]))
        choice = best if min(times[best]) <= gain * min(times[choices[0]]) else choices[0]
        plan.lanes[key] = choice
        return run(choice)
    start = clock()
    out = run(trial)
    times.setdefault(trial, []).append(clock() - start)
    plan.lanes[key] = times
    return out


@contextlib.contextmanager
def teamed(ctx: Ctx, examples: int) -> Any:
    """A pass in one lane whose compiled kernels may share their work with helper threads
    (``ctx.teamed``, read by windows.team_parts), when ``ctx.threads`` > 1 and
    ``teams()``; BLAS at one thread meanwhile, as while lanes run: OpenBLAS's own
    threads, which poll too, would take the helpers' cores (the U-Net's training step
    took 16.6 ms so, 9 in lanes). Not for a pass of fewer ``examples`` than lanes would
    split (a single example: the two BLAS calls would cost more than the kernels gain)."""
    if examples < 2 * MIN_EXAMPLES or ctx.threads < 2 or ctx.meeting is not None \
            or not teams():
        yield
        return
    with _OneBlasThread():
        ctx.teamed = True
        try:
            yield
        finally:
            ctx.teamed = False


def teams() -> bool:
    """Can a pass in one lane share its compiled kernels' work with helper threads
    (layers/compiled/team.py; windows.team_parts)?"""
    if lane_count() < 2:
        return False
    team = compiled.load("team")
    return team is not None and team.usable()


def _in_chunks(plan: Plan, ctx: Ctx, inputs: dict[str, np.ndarray], c: int
               ) -> dict[str, np.ndarray]:
    if c == 1:
        return plan.run(ctx, inputs)[0]
    parts = [plan.run(ctx, {p: part(x, lo, hi) for p, x in inputs.items()})[0]
             for lo, hi in bounds(_batch(inputs), c)]
    return {p: join([r[p] for r in parts]) for p in parts[0]}
