"""NetMeasurements: measurements of a net on labelled data, in one vectorised pass.

The data is read as NetTrain reads it and the loss is attached as NetTrain attaches it
(so a softmax output with class-index targets is a classifier, a LogisticSigmoid output a
binary classifier, anything else a regression). The training net then runs once over the
data (in chunks, one batched forward each) with the predictions fed to the loss layers
kept; every measurement is a NumPy reduction over those arrays:

- classification (C classes; targets 1..C, probability vectors, or 0/1 for "Binary"):
  the prediction is the most probable class (probability > 0.5 for "Binary"); the
  confusion matrix counts actual (rows) against predicted (columns) class;
  "Accuracy" = trace/N, "ErrorRate" = 1 - Accuracy, "Precision"_c = TP_c/(TP_c + FP_c),
  "Recall"_c = TP_c/(TP_c + FN_c), "F1Score"_c = 2 P R/(P + R) (0 when undefined), each an
  association <|class -> value|> (the "Class" decoder's labels, else 1..C; False/True
  for "Binary") unless
  averaged with <|"Measurement" -> m, "ClassAveraging" -> "Macro" | "Micro"|>;
  "CohenKappa" = (p_o - p_e)/(1 - p_e); "Perplexity" = Exp[mean cross-entropy loss];
- regression (residuals r = prediction - target over every element):
  "MeanSquare" = Mean[r^2], "RootMeanSquare", "MeanDeviation" = Mean[|r|],
  "StandardDeviation" = Sqrt[Mean[r^2]] (Wolfram's "root mean square of the residuals", as
  in PredictorMeasurements, not the sample deviation about the residuals' mean),
  "RSquared" = 1 - Total[r^2]/Total[(t - Mean[t])^2] (the
  mean taken over examples, per element);
- always: "Loss" (mean over examples of the summed losses, as NetTrain's), and
  NetPort["port"]: the mean over the examples of an output of the net.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import EvaluationError
from ...expr import Association, Expr, Symbol, input_form, is_list, list_items, make_list, packed
from ...graph.container import LINKS, Container, PortNode
from ...layers.base import AbstractArray, Net
from ..layout import to_batch_first
from ..context import Ctx
from ..plan import compile_plan, missing_array_error
from .data import check_data, read_data, targets_like
from .examples import Examples
from .losses import training_net

S = Symbol
HEAD = "NetMeasurements"
CHUNK = 8192      # examples per forward pass: bounds memory, keeps passes large

CLASSIFICATION = ("Accuracy", "ErrorRate", "Precision", "Recall", "F1Score",
                  "ConfusionMatrix", "CohenKappa", "Perplexity")
REGRESSION = ("MeanSquare", "RootMeanSquare", "MeanDeviation", "StandardDeviation",
              "RSquared")
MEASUREMENTS = ("Loss",) + CLASSIFICATION + REGRESSION


def error(tag: str, text: str) -> EvaluationError:
    return EvaluationError(text, symbol=HEAD, tag=tag)


@dataclass
class Pass:
    """What one pass over the data leaves: per-example losses, and for the first output
    with a loss its predictions and targets (batch-first), with the loss's target form."""

    losses: np.ndarray
    prediction: np.ndarray | None
    target: np.ndarray | None
    form: str | None               # "Index", "Probabilities", "Binary" or None (regression)
    outputs: dict[str, np.ndarray]
    labels: list[Any] | None = None    # the output's "Class" decoder labels, if any


def class_labels(net: Net) -> list[Any] | None:
    """The labels of the first output with a "Class" decoder: per-class measurements are
    keyed by them, as Wolfram's (<|"cat" -> 0.5, ...|>), else by class number."""
    for p in net.port_names()[1]:
        coder = net.ports[p].coder
        if getattr(coder, "kind", None) == "Class" and getattr(coder, "labels", None):
            return list(coder.labels)
    return None


def measure(net: Net, data: Any, spec: Any, shape_only: bool = False) -> Any:
    """NetMeasurements[net, data, spec]: one value, or a list for a list of specs.
    ``shape_only`` (netdsl check): the data is read and checked, and each value is an
    AbstractArray of its dimensions (classes from the output port)."""
    specs = list_items(spec) if is_list(spec) else [spec]
    for s in specs:
        _check_spec(s, net)
    if shape_only:
        values = [_abstract(net, data, s) for s in specs]
        return make_list(values) if is_list(spec) else values[0]
    run = _run(net, data)
    values = [_one(run, s) for s in specs]
    return make_list(values) if is_list(spec) else values[0]


def _top_n(name: Any) -> int | None:
    """{"Accuracy", n}: the n of a top-n accuracy (the correct class among the n most
    probable), else None."""
    items = list_items(name) if is_list(name) else []
    if len(items) == 2 and items[0] == "Accuracy" and isinstance(items[1], int) \
            and not isinstance(items[1], bool) and items[1] >= 1:
        return items[1]
    return None


def _check_spec(spec: Any, net: Net) -> None:
    name = _name(spec)[0]
    if isinstance(name, str) and name in MEASUREMENTS or _top_n(name) is not None:
        return
    if isinstance(name, Expr) and name.head is S("NetPort"):
        return
    raise error("invmeas", f"{input_form(spec)} is not a known measurement; known: "
                           f"{', '.join(MEASUREMENTS)}, NetPort[\"port\"].")


def _name(spec: Any) -> tuple[Any, str | None]:
    """(measurement, class averaging) from "m" or <|"Measurement" -> m, ...|>."""
    if isinstance(spec, Association):
        d = dict(spec.items())
        avg = d.get("ClassAveraging")
        if avg is not None and avg not in ("Macro", "Micro") and avg is not S("None"):
            raise error("invavg", f'"ClassAveraging" -> {input_form(avg)} should be "Macro", '
                                  f'"Micro" or None.')
        return d.get("Measurement"), None if avg is None or avg is S("None") else avg
    return spec, None


def _run(net: Net, data: Any) -> Pass:
    if not net.initialized:
        raise missing_array_error(net, HEAD)
    try:
        tnet, loss_names = training_net(net, S("Automatic"), targets_like(data, net))
        arrays = check_data(tnet, read_data(data, net, tnet))
    except EvaluationError as e:
        e.symbol = HEAD
        raise
    return _pass(net, tnet, loss_names, arrays)


def measure_arrays(net: Net, tnet: Net, loss_names: list[str], arrays: dict[str, np.ndarray],
                   specs: list[Any]) -> dict[str, Any]:
    """For NetTrain's TrainingProgressMeasurements: the measurements of ``net`` (inside
    the training net ``tnet``, whose data by port is ``arrays``), keyed by name."""
    run = _pass(net, tnet, loss_names, arrays)
    return {measurement_key(s): _one(run, s) for s in specs}


def measurement_key(spec: Any) -> str:
    """The key a measurement has in NetTrain's results: its name, or its text."""
    name, _ = _name(spec)
    return name if isinstance(name, str) else input_form(name)


def check_specs(specs: list[Any], net: Net) -> None:
    for s in specs:
        _check_spec(s, net)


def _pass(net: Net, tnet: Net, loss_names: list[str], arrays: dict[str, np.ndarray]) -> Pass:
    plan = compile_plan(tnet, HEAD, mode="plain")   # unfused: loss inputs are predictions
    loss_slots = [plan.outputs[p] for p in loss_names]
    producers = {s: step for step in plan.steps for s in step.outs}
    first = producers[loss_slots[0]]
    form = None
    if len(first.ins) == 2:
        form = first.layer.values.get("TargetForm")
        form = form if isinstance(form, str) else None
    keep = set(loss_slots) | ({first.ins[0], first.ins[1]} if len(first.ins) == 2 else set())
    outs_of_net = _net_output_slots(plan, tnet, net)
    keep |= set(outs_of_net.values())
    data = Examples(arrays)
    parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {s: [] for s in keep}
    ctx = Ctx(train=False)
    for idx, feed in data.chunks(CHUNK):
        values = _forward(plan, ctx, feed, keep)
        for s in keep:
            parts[s].append((idx, to_batch_first(np.asarray(values[s]))))
    got = {s: _gather(p, data.n) for s, p in parts.items()}
    losses = sum(got[s].reshape(data.n, -1).sum(1, dtype=np.float64) for s in loss_slots)
    has_pair = len(first.ins) == 2
    return Pass(np.asarray(losses, dtype=np.float64),
                got[first.ins[0]] if has_pair else None,
                got[first.ins[1]] if has_pair else None, form,
                {p: got[s] for p, s in outs_of_net.items()}, class_labels(net))


def _gather(parts: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """Per-pass batch-first results back in example order: one array, or (sequences of
    different lengths) a 1-d object array of per-example arrays."""
    if len(parts) == 1 and parts[0][0].size == n:
        return parts[0][1]
    shapes = {a.shape[1:] for _, a in parts}
    if len(shapes) == 1:
        out = np.empty((n,) + shapes.pop(), parts[0][1].dtype)
        for idx, a in parts:
            out[idx] = a
        return out
    obj = np.empty(n, dtype=object)
    for idx, a in parts:
        for j, i in enumerate(idx):
            obj[i] = a[j]
    return obj


def _net_output_slots(plan, tnet: Net, net: Net) -> dict[str, int]:
    """The slots holding the user's net's outputs inside the training net's plan (the
    training net holds it at node "net", each output feeding a loss or a port)."""
    if tnet is net or not isinstance(tnet, Container):
        return {p: plan.outputs[p] for p in net.port_names()[1]}
    by_path = {step.path: step for step in plan.steps}
    out: dict[str, int] = {}
    for u, v, links in tnet.graph.edges(data=LINKS):
        if u != "net":
            continue
        for sp, dp in links:
            if isinstance(v, PortNode):
                out[sp] = plan.outputs[v.name]
            elif (v,) in by_path and dp == "Input":
                out[sp] = by_path[(v,)].ins[0]
    return out


def _forward(plan, ctx: Ctx, feed: dict[str, np.ndarray], keep: set[int]) -> list[Any]:
    values: list[Any] = [None] * plan.n_slots
    for port, slot in plan.inputs.items():
        values[slot] = feed[port]
    with np.errstate(all="ignore"):
        for step in plan.steps:
            ys, _ = step.layer.forward(ctx, step.arrays, *[values[i] for i in step.ins])
            for slot, y in zip(step.outs, ys):
                values[slot] = y
            for slot in step.frees:
                if slot not in keep:
                    values[slot] = None
    return values


def _abstract(net: Net, data: Any, spec: Any) -> Any:
    try:
        tnet, _ = training_net(net, S("Automatic"), targets_like(data, net))
        check_data(tnet, read_data(data, net, tnet))
    except EvaluationError as e:
        e.symbol = HEAD
        raise
    name, averaging = _name(spec)
    outs = net.port_names()[1]
    shape = tuple(net.ports[outs[0]].shape or ()) if outs else ()
    if isinstance(name, Expr) and name.head is S("NetPort"):
        port = name.args[0] if name.args else None
        return AbstractArray(tuple(net.ports[port].shape or ())) if port in net.ports \
            else AbstractArray(())
    classes = shape[-1] if shape and isinstance(shape[-1], int) else 2   # on the last axis
    if name == "ConfusionMatrix":
        return AbstractArray((classes, classes))
    if name in ("Precision", "Recall", "F1Score") and averaging is None:
        labels = class_labels(net)
        keys = labels if labels and len(labels) == classes else range(1, classes + 1)
        return Association((c, AbstractArray(()), False) for c in keys)
    return AbstractArray(())


# ---------------------------------------------------------------- the measurements
def _one(run: Pass, spec: Any) -> Any:
    name, averaging = _name(spec)
    if isinstance(name, Expr) and name.head is S("NetPort"):
        port = name.args[0] if name.args else None
        if port not in run.outputs:
            raise error("noport", f"{input_form(name)} is not an output of the net; its "
                                  f"outputs are {', '.join(run.outputs)}.")
        if run.outputs[port].dtype == object:
            raise error("seqmean", f"{input_form(name)}: the outputs are sequences of "
                                   f"different lengths, which have no mean.")
        mean = run.outputs[port].astype(np.float64).mean(0)
        return float(mean) if mean.ndim == 0 else packed(mean)
    if name == "Loss":
        return float(run.losses.mean())
    if _top_n(name) is not None:
        return _top_accuracy(run, _top_n(name) or 1)
    if run.prediction is None:
        raise error("noloss", f'"{name}" needs a net whose output has a loss attached.')
    if name in CLASSIFICATION:
        if run.form is None:
            raise error("notclass", f'"{name}" is a classification measurement, but this net '
                                    f"is a regression (its loss is a mean squared error).")
        return _classification(run, name, averaging)
    if run.form is not None:
        raise error("notreg", f'"{name}" is a regression measurement, but this net is a '
                              f"classifier.")
    return _regression(run, name)


def _classes(run: Pass) -> tuple[np.ndarray, np.ndarray, list[Any], np.ndarray]:
    """Actual and predicted classes (0-based) of every prediction, the class labels, and
    each prediction's weight in "Accuracy": an example counts 1/N, shared equally by its
    predictions (one per sequence step, or per element for "Binary"), as Wolfram averages
    a sequence's loss and error rate over its steps before the batch."""
    assert run.prediction is not None and run.target is not None
    binary = run.form == "Binary"
    p, counts = _rows(run.prediction, binary)
    t, _ = _rows(run.target, binary or run.form == "Index")
    weights = np.repeat(1.0 / (len(counts) * counts), counts)
    if binary:
        return ((t[:, 0] > 0.5).astype(np.int64), (p[:, 0] > 0.5).astype(np.int64),
                [S("False"), S("True")], weights)
    actual = t.argmax(1) if run.form == "Probabilities" else t[:, 0].astype(np.int64) - 1
    labels = run.labels if run.labels and len(run.labels) == p.shape[1] else \
        list(range(1, p.shape[1] + 1))
    return actual, p.argmax(1), labels, weights


def _top_accuracy(run: Pass, n: int) -> float:
    """The share of predictions whose correct class is among the n most probable (each
    example counting 1/N, as "Accuracy")."""
    if run.prediction is None or run.form not in ("Index", "Probabilities"):
        raise error("notclass", '{"Accuracy", n} needs a classifier with class '
                                "probabilities (a softmax output).")
    actual, _, _, weights = _classes(run)
    p, _ = _rows(run.prediction, False)
    k = min(n, p.shape[1])
    top = np.argpartition(-p, k - 1, axis=1)[:, :k] if k < p.shape[1] else \
        np.broadcast_to(np.arange(p.shape[1]), p.shape)
    hit = (top == actual[:, None]).any(axis=1)
    return float(weights[hit].sum())


def _rows(a: np.ndarray, scalars: bool) -> tuple[np.ndarray, np.ndarray]:
    """Every prediction of every example as a row (the class vectors on the last axis, or
    one element a row with ``scalars``), and how many rows each example gave."""
    if a.dtype != object:   # one shape for all: a single reshape
        width = 1 if scalars or a.ndim == 1 else a.shape[-1]
        rows = np.asarray(a, np.float64).reshape(-1, width)
        return rows, np.full(len(a), rows.shape[0] // len(a))
    width = 1 if scalars else a[0].shape[-1]
    parts = [np.asarray(e, np.float64).reshape(-1, width) for e in a]
    return np.concatenate(parts), np.array([len(q) for q in parts])


def _classification(run: Pass, name: str, averaging: str | None) -> Any:
    actual, pred, labels, weights = _classes(run)
    c = len(labels)
    cm = np.bincount(actual * c + pred, minlength=c * c).reshape(c, c)
    n = cm.sum()
    accuracy = float(weights[actual == pred].sum())
    if name == "ConfusionMatrix":
        return packed(cm.astype(np.int64))
    if name == "Accuracy":
        return accuracy
    if name == "ErrorRate":
        return 1 - accuracy
    if name == "Perplexity":
        return float(np.exp(run.losses.mean()))
    if name == "CohenKappa":
        po = np.trace(cm) / n
        pe = float((cm.sum(0) * cm.sum(1)).sum()) / n ** 2
        return float((po - pe) / (1 - pe)) if pe != 1 else 0.0
    tp = np.diag(cm).astype(np.float64)
    if averaging == "Micro":   # totals over classes first: equals the accuracy here
        tp, fp, fn = tp.sum(), cm.sum(0).sum() - tp.sum(), cm.sum(1).sum() - tp.sum()
        return float(_score(name, np.array([tp]), np.array([fp]), np.array([fn]))[0])
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    per_class = _score(name, tp, fp, fn)
    if averaging == "Macro":
        return float(per_class.mean())
    return Association((label, float(v), False) for label, v in zip(labels, per_class))


def _score(name: str, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        if name == "Precision":
            return precision
        if name == "Recall":
            return recall
        return np.where(precision + recall > 0,
                        2 * precision * recall / (precision + recall), 0.0)


def _regression(run: Pass, name: str) -> float:
    assert run.prediction is not None and run.target is not None
    if run.prediction.dtype == object:   # sequences of different lengths: every element
        y, _ = _rows(run.prediction, True)
        t, _ = _rows(run.target, True)
    else:
        y = run.prediction.astype(np.float64)
        t = run.target.astype(np.float64)
    r = y - t
    if name == "MeanSquare":
        return float(np.mean(r ** 2))
    if name in ("RootMeanSquare", "StandardDeviation"):
        # Wolfram defines "StandardDeviation" as the root mean square of the residuals.
        return float(np.sqrt(np.mean(r ** 2)))
    if name == "MeanDeviation":
        return float(np.mean(np.abs(r)))
    total = float(((t - t.mean(0)) ** 2).sum())
    return float(1 - (r ** 2).sum() / total) if total > 0 else 0.0
