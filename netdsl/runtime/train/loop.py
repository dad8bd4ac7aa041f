"""NetTrain's loop: minibatches, forward and backward over the plan, optimiser steps.

Training never changes the net passed in: it returns a new net. BatchNormalization's
moving statistics (any layer's auxiliary arrays) are updated after each batch by the
layer itself (``Layer.moving_updates``), not by the optimiser.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ...expr import Expr, Symbol, make_list, packed
from ...graph.container import Container, with_shared
from ...layers.base import Net
from .. import forked, lanes
from ..context import Ctx
from ..gradients import backward
from ..initialize import initialize, rng_for
from ..optimizers import Optimizer
from ..plan import compile_plan
from ..steps import Plan, Step
from .checkpoint import Checkpointer
from .common import HEAD, error, warn
from .data import check_data, read_data, settled_by_data, targets_like, validation_split
from .examples import Examples, Feed, examples_in
from .generated import Generated, batch_data, generator_of, request
from .losses import training_net
from .measure import check_specs, measure_arrays, measurement_key
from .options import Options, read_options
from .parameters import (Parameters, multipliers_by_position, per_part_settings,
                         read_multipliers, read_update_schedule)
from .progress import Reporter
from .callbacks import Lazy, Periodic, due, read_progress, read_stopping, run_progress
from .results import History

S = Symbol


def net_train(net: Net, data: Any, opts: dict[str, Any], shape_only: bool = False,
              interruptible: bool = False,
              save_checkpoint: Callable[[Net, str], None] | None = None,
              resolve_path: Callable[[str], str] = str) -> tuple[Net, History]:
    """Train ``net`` on ``data``; the trained net and the history of the run.

    ``interruptible``: Ctrl-C (KeyboardInterrupt) stops training and returns the net
    trained so far, as the netdsl command and REPL want; a library caller gets the
    KeyboardInterrupt, as from any Python function. ``save_checkpoint(net, path)`` writes
    the checkpoints TrainingProgressCheckpointing asks for (file names through
    ``resolve_path``)."""
    o = read_options(opts)
    if not isinstance(net, Net):
        raise error("invnet", "First argument to NetTrain should be a fully specified net.")
    generator = generator_of(data)
    source = None
    if generator is not None:   # NetTrain[net, f]: the first batch stands for the data
        if o.callable_of is None:
            raise error("datafmt", "A training data generator needs NetTrain from the "
                                   "language.")
        call = o.callable_of(generator[0])
        data = batch_data(call(request(o.batch_size or 64, 1, 1)))
        if isinstance(o.validation, Expr) and o.validation.head is S("Scaled"):
            raise error("valset", "ValidationSet -> Scaled[f] needs training data, not a "
                                  "generator; give the validation data itself.")
    net = settled_by_data(net, data)     # open input (and output) shapes from the data
    tnet, loss_names = training_net(net, o.loss, targets_like(data, net))
    wrapped = tnet is not net           # the net sits at "net" inside a graph with its losses
    raw = read_data(data, net, tnet)
    arrays = check_data(tnet, raw)
    if generator is not None:
        batch = o.batch_size or 64
        source = Generated(call, lambda d: check_data(tnet, read_data(d, net, tnet)), arrays,
                           generator[1] or batch, batch)
    validation = validation_split(o, net, tnet, arrays)
    if validation is not None and isinstance(validation, tuple):
        arrays, validation = validation
    rng = rng_for(o.seed)
    tnet = initialize(tnet, "missing", rng=np.random.default_rng(rng.integers(2 ** 32)),
                      shape_only=shape_only)
    if shape_only:  # netdsl check: the data fit; arrays become placeholders, nothing runs
        read_multipliers(o.multipliers, tnet)     # (names and values checked as when run)
        n = next(iter(arrays.values())).shape[0]
        batch = min(o.batch_size or 64, n)
        rounds = o.max_rounds or 1
        per_round = math.ceil(n / batch)
        history = History(rounds=rounds, batch_size=batch, batches_per_round=per_round,
                          training_examples=n, examples=n * rounds, abstract=True,
                          validation_examples=0 if not validation else
                          next(iter(validation.values())).shape[0],
                          method=o.settings.method, initial_learning_rate=o.settings.lr,
                          final_learning_rate=o.settings.lr)
        history.training_net = tnet
        return _untrain(net, tnet, wrapped), history
    plan = compile_plan(tnet, HEAD, mode="train")
    params = Parameters(plan, read_multipliers(o.multipliers, tnet))
    per_part_settings(o.settings, tnet, params)
    history = History(multipliers=multipliers_by_position(net, o.multipliers))
    if params.flat.size == 0:
        warn("NetTrain::netnoparams: Net does not contain any trainable parameters: returning "
              "net unchanged.")
        return net, history
    if params.frozen_all:
        warn("NetTrain::netfrozen: All trainable parameters have been frozen: returning net "
              "unchanged.")
        return net, history
    checkpoints = None
    if o.checkpointing:
        if save_checkpoint is None:
            raise error("invchkspec", "TrainingProgressCheckpointing needs a way to write net "
                                      "files; use NetTrain from the language.")

        def snapshot() -> Net:   # the user's net as trained so far
            return _untrain(net, params.write_back(tnet), wrapped)
        n = source.n if source is not None else next(iter(arrays.values())).shape[0]
        checkpoints = Checkpointer(o.checkpointing, save_checkpoint, resolve_path, snapshot,
                                   o.max_rounds, math.ceil(n / min(o.batch_size or 64, n)))
    log = None
    if o.report_file is not None:
        path = resolve_path(o.report_file)
        try:
            log = open(path, "w", encoding="utf-8", newline="")
        except OSError as e:
            raise error("progrep", f"Cannot write the training log {o.report_file}: "
                                   f"{e.strerror or e}.") from None
    try:
        trained = _loop(tnet, plan, params, arrays, validation, loss_names, o, rng, history,
                        interruptible, net, wrapped, checkpoints, source, log)
    finally:
        params.close()
    history.training_net = trained
    if checkpoints is not None:
        history.checkpoint_files = list(dict.fromkeys(checkpoints.files))
    return _untrain(net, trained, wrapped), history


def _untrain(net: Net, trained: Net, wrapped: bool) -> Net:
    """The user's net out of the training net (which adds the loss layers around it)."""
    out = trained
    if wrapped:
        assert isinstance(trained, Container)  # the training net wraps the user's in a graph
        out = trained.net("net")
        out = with_shared(out, trained.shared)
    out.span = net.span
    return out


def _loop(tnet, plan, params, arrays, validation, loss_names, o: Options, rng, history: History,
          interruptible: bool, user_net: Net | None = None, wrapped: bool = False,
          checkpoints: Checkpointer | None = None, source: Generated | None = None,
          log: Any = None):
    data: Examples | Generated = source if source is not None else Examples(arrays)
    n = data.n
    batch = min(o.batch_size or 64, n)
    history.batch_size = batch
    history.training_examples = n
    val_data = Examples(validation) if validation else None
    batches_per_round = math.ceil(n / batch)
    history.batches_per_round = batches_per_round
    if validation:
        history.validation_examples = next(iter(validation.values())).shape[0]
    max_rounds = o.max_rounds
    total_steps = (max_rounds or 10_000) * batches_per_round
    opt = Optimizer(o.settings, params.flat, params.scale, total_steps)
    schedule = read_update_schedule(o.update_schedule, tnet, params)
    history.method = o.settings.method
    history.initial_learning_rate = o.settings.lr
    loss_slots = [plan.outputs[p] for p in loss_names]
    input_slots = set(plan.inputs.values())
    moving = [(i, s) for i, s in enumerate(params.steps) if _updates_moving(s, params)]
    ctx = Ctx(train=True, grad=True, rng=np.random.default_rng(rng.integers(2 ** 32)))
    reporter = Reporter(o.reporting, n, log=log)
    specs = o.measurements or []
    if specs and validation:
        check_specs(specs, user_net if user_net is not None else tnet)
    stopping = read_stopping(o.stopping, o.callable_of, val_data is not None,
                             tuple(measurement_key(s) for s in specs))
    progress = read_progress(o.progress, o.callable_of)
    best = None
    t0 = time.perf_counter()
    rounds_done = 0
    live = _Live(history, tnet, params, user_net, wrapped, opt, t0, batches_per_round)
    try:
        while True:
            order = data.round_order(rng.permutation(n), batch, rng)
            round_loss, seen = 0.0, 0
            out_of_time = False
            for b in range(batches_per_round):
                idx = order[b * batch:(b + 1) * batch]
                active = (schedule[len(history.batch_losses) % len(schedule)]
                          if schedule else None)
                loss = _train_step(params, plan, ctx, data.batch(idx), loss_slots,
                                   input_slots, opt, moving, active)
                m = idx.size
                history.batch_losses.append(loss)
                round_loss += loss * m
                seen += m
                history.examples += m
                elapsed = time.perf_counter() - t0
                reporter.batch(rounds_done + 1, max_rounds, loss, history.examples, elapsed,
                               b + 1, batches_per_round)
                if progress:
                    live.max_rounds = max_rounds
                    _callbacks(progress, "batch", live, rounds_done + 1, b + 1, elapsed)
                if checkpoints is not None:
                    checkpoints.after_batch(rounds_done + 1, len(history.batch_losses))
                if o.time_goal is not None and elapsed >= o.time_goal:
                    history.reason = "TimeGoalReached"
                    out_of_time = True
                    break
            if seen < n:     # stopped within a round: it is not counted
                raise _Stop
            rounds_done += 1
            history.round_losses.append(round_loss / seen)
            vloss = None
            if val_data is not None:
                vloss = _evaluate_loss(params, plan, val_data, loss_slots)
                history.validation_losses.append(vloss)
                if specs:
                    current = params.write_back(tnet)
                    inner = _untrain(user_net, current, wrapped) if user_net is not None \
                        else current
                    history.validation_measurements.append(
                        measure_arrays(inner, current, loss_names, validation, specs))
                if best is None or vloss < best[0]:
                    best = (vloss, params.snapshot())
                    history.best_round = rounds_done
            reporter.round(rounds_done, max_rounds, round_loss / seen, vloss, history.examples,
                           time.perf_counter() - t0, batches_per_round)
            if checkpoints is not None:
                checkpoints.after_round(rounds_done, len(history.batch_losses),
                                        history.round_losses[-1],
                                        history.validation_losses[-1] if val_data else None)
            if max_rounds is None and o.time_goal is None:
                # Automatic: about 20 seconds of training, at most 10,000 rounds
                per_round = (time.perf_counter() - t0) / rounds_done
                max_rounds = max(1, min(AUTO_MAX_ROUNDS,
                                        int(AUTO_SECONDS / max(per_round, 1e-9))))
            if progress:
                live.max_rounds = max_rounds
                _callbacks(progress, "round", live, rounds_done, batches_per_round,
                           time.perf_counter() - t0)
            if stopping is not None and stopping.should_stop(
                    rounds_done, {"RoundLoss": round_loss / seen, "ValidationLoss": vloss,
                                  "ValidationMeasurements": history.validation_measurements[-1]
                                  if history.validation_measurements else None}):
                history.reason = "StoppingCriterion"
                break
            if out_of_time:
                break
            if max_rounds is not None and rounds_done >= max_rounds:
                history.reason = "MaxTrainingRoundsReached"
                break
    except _Stop:
        pass
    except _UserStop as e:
        history.reason = e.reason
    except KeyboardInterrupt:   # Ctrl-C: the net trained so far, not a traceback
        if not interruptible:
            raise
        history.reason = "ManualStop"
        if o.reporting != "None":
            warn(f"\nNetTrain: stopped by the user after {rounds_done} complete round"
                  f"{'' if rounds_done == 1 else 's'}; returning the net trained so far.")
    history.seconds = time.perf_counter() - t0
    history.rounds = rounds_done
    history.final_learning_rate = live.learning_rate()
    reporter.done(history)
    if best is not None:
        history.final_net = live.net()   # FinalNet; TrainedNet is the best validated one
        params.restore(best[1])
    return params.write_back(tnet)


class _UserStop(Exception):
    """A TrainingProgressFunction returned "StopTraining" or "AbortTraining"."""

    def __init__(self, reason: str):
        self.reason = reason


class _Live:
    """What a TrainingProgressFunction sees: Wolfram's live training properties."""

    def __init__(self, history: History, tnet, params, user_net, wrapped, opt, t0,
                 batches_per_round):
        self.h, self.tnet, self.params = history, tnet, params
        self.user_net, self.wrapped, self.opt, self.t0 = user_net, wrapped, opt, t0
        self.batches_per_round = batches_per_round
        self.max_rounds: int | None = None

    def learning_rate(self) -> float:
        return self.opt.rate()

    def net(self) -> Net:
        trained = self.params.write_back(self.tnet)
        return _untrain(self.user_net, trained, self.wrapped) if self.user_net is not None \
            else trained

    def values(self, rnd: int, b: int, elapsed: float, event: str) -> dict[str, Any]:
        h = self.h
        total_batches = (self.max_rounds or 0) * self.batches_per_round
        absolute = len(h.batch_losses)
        rate = absolute / elapsed if elapsed > 0 else 0.0
        frac = absolute / total_batches if total_batches else 0.0

        def lst(xs):
            return packed(np.array(xs, dtype=np.float64)) if xs else make_list([])
        return {
            "Net": Lazy(self.net), "Event": event,
            "Round": rnd, "Batch": b, "AbsoluteBatch": absolute,
            "TotalRounds": self.max_rounds if self.max_rounds else S("Automatic"),
            "TotalBatches": total_batches if total_batches else S("Automatic"),
            "BatchSize": h.batch_size, "BatchesPerRound": self.batches_per_round,
            "BatchLoss": h.batch_losses[-1] if h.batch_losses else S("None"),
            "RoundLoss": h.round_losses[-1] if h.round_losses else S("None"),
            "ValidationLoss": h.validation_losses[-1] if h.validation_losses else S("None"),
            "BatchLossList": Lazy(lambda: lst(h.batch_losses)),
            "RoundLossList": Lazy(lambda: lst(h.round_losses)),
            "ValidationLossList": Lazy(lambda: lst(h.validation_losses)),
            "ProgressFraction": frac, "ExamplesProcessed": h.examples,
            "TrainingExamples": h.training_examples,
            "ValidationExamples": h.validation_examples,
            "TimeElapsed": elapsed,
            "TimeRemaining": elapsed / frac - elapsed if frac > 0 else S("Indeterminate"),
            "MeanBatchesPerSecond": rate,
            "MeanExamplesPerSecond": h.examples / elapsed if elapsed > 0 else 0.0,
            "LearningRate": self.learning_rate(),
            "InitialLearningRate": h.initial_learning_rate,
            "OptimizationMethod": h.method, "TargetDevice": "CPU",
            "BestValidationRound": S("None") if h.best_round is None else h.best_round,
            **self.arrays(),
        }

    def arrays(self) -> dict[str, Any]:
        """Wolfram's "Weights" and "Gradients" (by position), their vectors and RMS: the
        current weights and the gradient of the last batch (the mean loss's)."""
        p = self.params
        user = self.user_net if self.user_net is not None else self.tnet
        prefix = ("net",) if self.user_net is not None and self.wrapped else ()

        def rms(v):
            return float(np.sqrt(np.mean(np.square(v, dtype=np.float64)))) if v.size else 0.0
        return {
            "Weights": Lazy(lambda: p.by_position(user, p.flat, prefix)),
            "Gradients": Lazy(lambda: p.by_position(user, p.grad, prefix)),
            "WeightsVector": Lazy(lambda: p.flat.copy()),
            "GradientsVector": Lazy(lambda: p.grad.copy()),
            "WeightsRMS": Lazy(lambda: rms(p.flat)), "GradientsRMS": Lazy(lambda: rms(p.grad)),
        }


def _callbacks(progress: list[Periodic], event: str, live: _Live, rnd: int, b: int,
               elapsed: float) -> None:
    values = None
    for p in progress:
        if due(p, event, len(live.h.batch_losses), rnd, elapsed, live.h.batches_per_round):
            if values is None:
                values = live.values(rnd, b, elapsed,
                                     "RoundComplete" if event == "round" else "BatchComplete")
            answer = run_progress(p, values)
            if answer == "StopTraining":
                raise _UserStop("ManualStop")
            if answer == "AbortTraining":
                raise _UserStop("Aborted")


class _Stop(Exception):
    pass


AUTO_SECONDS = 20.0        # MaxTrainingRounds -> Automatic: about this long,
AUTO_MAX_ROUNDS = 10_000   # and never more rounds than this


def _updates_moving(step: Step, params: Parameters) -> bool:
    """Whether a step's auxiliary arrays (moving statistics) are updated: it has some, and
    they are not frozen by a learning-rate multiplier of 0 (the layer's own option, or
    NetTrain's for the layer). The multiplier read is that of this copy's own auxiliary
    array: a Scaling shared with another copy of the layer does not decide it. (The layer
    may freeze them itself: BatchNormalization with "Momentum" -> 1.)"""
    aux = [a.name for a in getattr(step.layer, "array_specs", ()) if a.aux]
    if not aux or aux[0] not in step.keys:
        return False
    return params.multipliers.get(step.keys[aux[0]], 1.0) != 0


def _train_step(params: Parameters, plan: Plan, ctx: Ctx, feed: list[Feed], loss_slots,
                input_slots, opt: Optimizer, moving, active: np.ndarray | None = None) -> float:
    loss, caches = forward_backward(params, plan, ctx, feed, loss_slots, input_slots)
    opt.step(params.grad, active)
    for part in caches:     # one pass per sequence length in a ragged batch
        for i, step in moving:  # moving statistics, after the optimiser, once per pass
            for name, value in step.layer.moving_updates(step.arrays, part[i]).items():
                step.arrays[name][...] = value
    return loss


def forward_backward(params: Parameters, plan: Plan, ctx: Ctx, feed: Feed | list[Feed],
                     loss_slots, input_slots) -> tuple[float, list[list[Any]]]:
    """The training loss of one batch (the mean over its examples of the sum of the loss
    outputs) and its gradient, left in ``params.grad``; also every step's cache, one list
    per pass. ``feed``: the batch, or (sequences of different lengths) one feed per
    length, run one after the other with their gradients summed: each pass seeds its loss
    outputs with 1/m, m the examples of the whole batch."""
    parts = feed if isinstance(feed, list) else [feed]
    m = sum(examples_in(f) for f in parts)
    params.grad[...] = 0
    total = 0.0
    caches = []
    # lanes: each runs forward and backward on its examples into its own gradient buffer,
    # summed after; Dropout draws from each lane's own stream, batch statistics are sums
    # over the lanes (Ctx.across); moving statistics come from lane 0's cache, which holds
    # the whole batch's statistics, so only a layer with moving statistics that are not
    # such sums keeps a pass in one lane
    splittable = lanes.plan_coupling(plan, True) != "batch" and not any(
        lanes.coupling(st.layer, True) != "sums" for st in params.steps
        if any(a.aux for a in getattr(st.layer, "array_specs", ())))
    for part in parts:
        def run(k: int, feed: Feed = part) -> tuple[float, Any]:
            if k > 1:
                totals, cache = _in_lanes(params, plan, ctx, feed, k, m, loss_slots,
                                          input_slots)
                return math.fsum(totals), cache
            return _in_one_lane(params, plan, ctx, feed, k, m, loss_slots, input_slots)
        k = lanes.lanes_for(plan, part, splittable)
        if k < 2 or forked.possible():   # worker processes: faster than shared kernels
            loss, cache = run(k)
        else:
            loss, cache = lanes.split_or_shared(plan, ("train lanes", lanes.shapes_of(part)),
                                                k, run)
        total += loss
        caches.append(cache)
    if not math.isfinite(total):
        raise _diverged()
    return total / m, caches


def _in_one_lane(params: Parameters, plan: Plan, ctx: Ctx, part: Feed, k: int, m: int,
                 loss_slots, input_slots) -> tuple[float, Any]:
    """One pass in one lane (``k`` 0: its first, counting its work for lanes.lanes_for),
    its compiled kernels sharing their work with helper threads where they can
    (windows.team_parts): its loss sum and cache, the gradient added to ``params.grad``."""
    ctx.threads = lanes.lane_count()

    def one(written: list[int] | None = None) -> tuple[Any, list[Any], Any]:
        return plan.run(ctx, part, keep=True, steps=params.steps, written=written)
    with lanes.teamed(ctx, examples_in(part)):
        _, values, cache = lanes.counted(plan, part, one) if k == 0 else one()
        total = _loss_sum(values, loss_slots)
        if not math.isfinite(total):
            raise _diverged()
        backward(params.steps, ctx, values, cache, _seeds(values, loss_slots, m),
                 params.add_grad, input_slots)
    return total, cache


def _in_lanes(params: Parameters, plan: Plan, ctx: Ctx, part: Feed, k: int, m: int,
              loss_slots, input_slots) -> tuple[list[float], Any]:
    """One pass split across k lanes: each lane's loss sum, and lane 0's cache (for the
    moving statistics, which it holds for the whole batch); the gradients of all lanes
    summed into ``params.grad`` (each lane seeds its losses with 1/m, m the whole batch's
    examples, so the sum is the gradient of the batch's mean loss). Lanes 1.. run in
    forked worker processes where they can (forked.py), else on threads."""
    ctxs = lanes.training_ctxs(ctx, k)
    cuts = lanes.bounds(examples_in(part), k)
    forked_lanes = _in_processes(params, plan, ctxs, part, cuts, m, loss_slots, input_slots)
    if forked_lanes is not None:
        return forked_lanes
    bufs = [params.grad] + params.lane_grads(k)

    def lane(i: int, meeting: lanes.Meeting) -> tuple[float, Any]:
        lo, hi = cuts[i]
        sub = {p: lanes.part(x, lo, hi) for p, x in part.items()}
        own = lanes.meet(ctxs[i], i, meeting)
        try:
            # every lane runs backward whatever its loss (the others may wait for it at
            # a meeting); a non-finite loss is reported after the pass
            return _lane_pass(params, plan, own, sub, m, loss_slots, input_slots, bufs[i])
        finally:
            lanes.leave(own)
    done = lanes.run_parts(k, lane)
    for buf in bufs[1:]:
        params.grad += buf
    return [loss for loss, _ in done], done[0][1]


def _in_processes(params: Parameters, plan: Plan, ctxs: list[Ctx], part: Feed, cuts, m: int,
                  loss_slots, input_slots) -> tuple[list[float], Any] | None:
    """``_in_lanes`` with lanes 1.. in forked workers (runtime/forked.py), which the
    training run keeps, or None where they cannot run it (no fork here; inputs larger
    than the first split step's). The learned arrays are in shared memory (Parameters),
    so a worker reads each optimiser update; its gradient comes back through its own;
    sums across lanes (Train-mode BatchNormalization) meet in ``forked.Sums``."""
    if not forked.possible() or not forked.shareable(part):
        return None
    views = lanes.views(part, cuts)
    # the run's plan and Ctx (kept alive with the workers, so their ids stay theirs)
    key = (id(plan), id(ctxs[0]), tuple(loss_slots), frozenset(input_slots), len(cuts))

    def lane(i: int, inputs: Feed, m: int, grad: np.ndarray, sums: forked.Sums
             ) -> tuple[float, Any]:
        own = lanes.meet(ctxs[i], i, sums)
        try:
            return _lane_pass(params, plan, own, inputs, m, loss_slots, input_slots, grad)
        finally:
            lanes.leave(own)
    if params.forked is None:
        sums = forked.Sums(len(cuts), lanes.MEETING_TIMEOUT)

        def job(i: int, inputs: Feed, m: int, outputs: forked.Arrays) -> float:
            grad = outputs.whole("grad")
            grad[...] = 0
            return lane(i, inputs, m, grad, sums)[0]
        params.forked = forked.start(job, [forked.spec(v) for v in views],
                                     forked.spec({"grad": params.grad}), HEAD,
                                     lanes.one_blas_thread, key=key, sums=sums,
                                     keep=(plan, ctxs[0]))
    workers = params.forked
    if not isinstance(workers, forked.Forked) or not workers.fits(views, key):
        return None
    shared = workers.sums
    assert shared is not None

    def lane0() -> tuple[float, Any]:
        lo, hi = cuts[0]
        return lane(0, {p: lanes.part(x, lo, hi) for p, x in part.items()}, m, params.grad,
                    shared)
    (loss, cache), rest = workers.run(views, m, lane0)
    for _, outputs in rest:
        params.grad += outputs.whole("grad")
    return [loss] + [v for v, _ in rest], cache


def _lane_pass(params: Parameters, plan: Plan, ctx: Ctx, sub: Feed, m: int, loss_slots,
               input_slots, buf: np.ndarray) -> tuple[float, Any]:
    """One lane's forward and backward on its examples ``sub``: its loss sum and cache,
    its gradient added into ``buf``."""
    _, values, cache = plan.run(ctx, sub, keep=True, steps=params.steps)
    loss = _loss_sum(values, loss_slots)
    backward(params.steps, ctx, values, cache, _seeds(values, loss_slots, m),
             lambda key, g: params.add_grad_into(buf, key, g), input_slots)
    return loss, cache


def _seeds(values: list[Any], loss_slots, m: int) -> dict[int, np.ndarray]:
    """The loss outputs' gradient: 1/m for each example (the loss is a mean over m)."""
    return {s: np.full(values[s].shape, 1.0 / m, dtype=values[s].dtype) for s in loss_slots}


def _diverged() -> Exception:
    return error("arrdiv", "The loss became NaN or infinite during training; try a "
                           "smaller LearningRate.")


def _loss_sum(values: list[Any], loss_slots: list[int]) -> float:
    """The sum over a pass's examples of the summed loss outputs (in float64)."""
    return float(sum(np.asarray(values[s], np.float64).sum() for s in loss_slots))


def _evaluate_loss(params: Parameters, plan: Plan, data: Examples, loss_slots) -> float:
    """The mean loss over ``data``, in Test mode."""
    total = 0.0
    for _, feed in data.chunks(CHUNK):
        _, values, _ = plan.run(Ctx(train=False), feed, steps=params.steps)
        total += _loss_sum(values, loss_slots)
    return total / data.n


CHUNK = 8192     # validation examples per pass: bounds memory, keeps passes large
