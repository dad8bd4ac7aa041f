"""NetTrain: attach a loss, then minimise it by minibatch gradient descent.

Training never changes the net passed in: it returns a new net. Learned arrays
live in one flat float32 buffer during training (the optimiser updates it with
a few vector operations); BatchNormalization's moving statistics are updated
after each batch, m <- Momentum m + (1 - Momentum) batch, and are not touched
by the optimiser.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..expr import (among, Association, Expr, Opaque, Symbol, input_form, is_integer, is_list, is_number,
                    is_rule, list_items, make_list, packed)
from ..graph.build import build_graph
from ..graph.container import LINKS, Container, PortNode
from ..layers import LAYER_TYPES
from ..layers.base import Layer, Net, SharedRef
from ..layers.losses import LossLayer
from .apply import normalise_inputs, to_batch_last
from .context import Ctx
from .gradients import backward
from .initialize import initialize, leaves, replace_leaves, rng_for, split_method
from .optimizers import METHODS, Optimizer, Settings
from .plan import Plan, Step, compile_plan

S = Symbol
HEAD = "NetTrain"


def error(tag: str, text: str) -> EvaluationError:
    return EvaluationError(text, symbol=HEAD, tag=tag)


# ---------------------------------------------------------------- options
@dataclass
class Options:
    batch_size: int | None = None
    max_rounds: int | None = None
    time_goal: float | None = None
    settings: Settings = field(default_factory=Settings)
    validation: Any = None
    seed: Any = 1234
    multipliers: Any = None
    reporting: str = "Automatic"
    loss: Any = None


OPTION_DEFAULTS = {
    "BatchSize": S("Automatic"), "MaxTrainingRounds": S("Automatic"), "TimeGoal": S("Automatic"),
    "Method": S("Automatic"), "LearningRate": S("Automatic"), "ValidationSet": S("None"),
    "RandomSeeding": 1234, "LearningRateMultipliers": S("Automatic"),
    "TrainingProgressReporting": S("Automatic"), "LossFunction": S("Automatic"),
    "TargetDevice": "CPU", "WorkingPrecision": "Real32", "L2Regularization": S("None"),
    "GradientClipping": S("None"), "WeightClipping": S("None"),
}


def _positive_int(name: str, v: Any) -> int:
    if is_integer(v) and v >= 1:
        return v
    raise error("optpi", f"The value of {name} -> {input_form(v)} should be a positive "
                         f"machine-sized integer.")


def _nonneg(name: str, v: Any) -> float:
    if is_number(v) and v >= 0:
        return float(v)
    raise error("optnn", f"The value of {name} -> {input_form(v)} should be a non-negative number.")


def read_options(opts: dict[str, Any]) -> Options:
    o = Options()
    auto = S("Automatic")
    if opts["BatchSize"] is not auto:
        o.batch_size = _positive_int("BatchSize", opts["BatchSize"])
    if opts["MaxTrainingRounds"] is not auto:
        o.max_rounds = _positive_int("MaxTrainingRounds", opts["MaxTrainingRounds"])
    tg = opts["TimeGoal"]
    if tg is not auto:
        if isinstance(tg, Expr) and tg.head is S("Quantity") and tg.args:
            tg = tg.args[0]
        o.time_goal = _nonneg("TimeGoal", tg)
    o.settings = _method(opts["Method"])
    for key, attr in (("L2Regularization", "l2"), ("GradientClipping", "gradient_clipping"),
                      ("WeightClipping", "weight_clipping")):
        v = opts[key]
        if v is not S("None") and v is not auto:
            setattr(o.settings, attr, _nonneg(key, v))
    lr = opts["LearningRate"]
    if lr is not auto:
        o.settings.learning_rate = _nonneg("LearningRate", lr)
    o.validation = opts["ValidationSet"]
    o.seed = opts["RandomSeeding"]
    o.multipliers = opts["LearningRateMultipliers"]
    rep = opts["TrainingProgressReporting"]
    if rep is S("None") or rep is S("False"):
        o.reporting = "None"
    elif among(rep, ("Print", "ProgressIndicator", "Panel")):
        o.reporting = "Print" if rep == "Print" else "Automatic"
    o.loss = opts["LossFunction"]
    if opts["TargetDevice"] != "CPU":
        raise error("device", 'netdsl trains on the CPU only: TargetDevice -> "CPU".')
    return o


def _method(spec: Any) -> Settings:
    if spec is S("Automatic"):
        return Settings()
    name, subs = split_method(spec)
    if not isinstance(name, str) or name not in METHODS:
        raise error("method", f"{input_form(spec)} is not a training method; use one of "
                              f"{', '.join(METHODS)}.")
    s = Settings(method=name)
    if name == "SGD":
        s.schedule = "Polynomial"
    own = {"ADAM": ("Beta1", "Beta2", "Epsilon"), "SGD": ("Momentum",),
           "RMSProp": ("Beta", "Momentum", "Epsilon"), "SignSGD": ("Momentum",)}[name]
    attrs = {"LearningRate": "learning_rate", "Beta1": "beta1", "Beta2": "beta2",
             "Epsilon": "epsilon", "Momentum": "momentum", "Beta": "beta",
             "L2Regularization": "l2", "GradientClipping": "gradient_clipping",
             "WeightClipping": "weight_clipping"}
    keys = {k: attrs[k] for k in ("LearningRate",) + own
            + ("L2Regularization", "GradientClipping", "WeightClipping")}
    for r in subs:
        if not is_rule(r):
            raise error("method", f"{input_form(r)} is not a method option.")
        key = r.args[0].name if isinstance(r.args[0], Symbol) else r.args[0]
        v = r.args[1]
        if key == "LearningRateSchedule":
            if v is not S("None") and v != "Polynomial":
                raise error("method", f"LearningRateSchedule -> {input_form(v)} is not "
                                      f'supported; use "Polynomial" or None.')
            s.schedule = None if v is S("None") else v
            continue
        if key not in keys or not is_number(v):
            raise error("method", f"{input_form(r)} is not an option of the {name} method; "
                                  f"options: {', '.join(keys)}, \"LearningRateSchedule\".")
        setattr(s, keys[key], float(v))
    return s


# ---------------------------------------------------------------- the training net
def feeding_layer(net: Net, port: str) -> Net:
    """The layer that produces output ``port`` (looking inside nested containers)."""
    if not isinstance(net, Container):
        return net
    node = PortNode("out", port)
    (src, _, data), = net.graph.in_edges(node, data=True)
    (sp, _), = data[LINKS]
    return feeding_layer(net.net(src), sp) if not isinstance(src, PortNode) else net


def loss_for(net: Net, port: str) -> Layer:
    """Wolfram's automatic loss: cross-entropy after Softmax (class indices) or after
    LogisticSigmoid (binary), mean squared error otherwise."""
    layer = feeding_layer(net, port)
    if isinstance(layer, Layer) and layer.name == "SoftmaxLayer":
        return LAYER_TYPES["CrossEntropyLossLayer"].build(("Index",), None)
    if isinstance(layer, Layer) and layer.name == "ElementwiseLayer" and \
            layer.values["Function"].source in (S("LogisticSigmoid"), "Sigmoid"):
        return LAYER_TYPES["CrossEntropyLossLayer"].build(("Binary",), None)
    return LAYER_TYPES["MeanSquaredLossLayer"].build((), None)


def loss_ports(net: Net) -> list[str]:
    """Outputs that already are losses (fed by a loss layer)."""
    outs = net.port_names()[1]
    return [p for p in outs if isinstance(feeding_layer(net, p), LossLayer)]


def training_net(net: Net, loss_spec: Any, targets_like: dict[str, np.ndarray]) -> tuple[Net, list[str]]:
    """The net with losses attached, and the names of its loss outputs."""
    if isinstance(loss_spec, str):
        if loss_spec not in net.port_names()[1]:
            raise error("lossport", f'The net has no output port "{loss_spec}" to use as the '
                                    f"loss.")
        return net, [loss_spec]
    existing = loss_ports(net)
    if existing and loss_spec is S("Automatic"):
        return net, existing
    outs = [p for p in net.port_names()[1] if p not in existing]
    layers: dict[str, Net] = {"net": net}
    edges = []
    for i, port in enumerate(outs, 1):
        if isinstance(loss_spec, LossLayer):
            loss = loss_spec
        elif loss_spec is S("Automatic"):
            loss = loss_for(net, port)
            target = targets_like.get(port)
            if loss.values.get("TargetForm") == "Index" and target is not None \
                    and target.ndim >= 2 and target.shape[1:] == tuple(net.ports[port].shape):
                loss = LAYER_TYPES["CrossEntropyLossLayer"].build(("Probabilities",), None)
        else:
            raise error("lossfun", f"LossFunction -> {input_form(loss_spec)} is not a loss "
                                   f'layer or an output port name.')
        name = f"loss{i}" if len(outs) > 1 else "loss"
        layers[name] = loss
        out_name = f"Loss{i}" if len(outs) > 1 else "Loss"
        edges.append(_rule(_port("net", port), _port(name, "Input")))
        edges.append(_rule(Expr(S("NetPort"), port), _port(name, "Target")))
        edges.append(_rule(_port(name, "Loss"), Expr(S("NetPort"), out_name)))
    for p in existing:
        edges.append(_rule(_port("net", p), Expr(S("NetPort"), p)))
    spec = Association((k, v, False) for k, v in layers.items())
    tnet = build_graph(spec, Expr(S("List"), *edges), {}, HEAD)
    names = [("Loss" if len(outs) == 1 else f"Loss{i}") for i in range(1, len(outs) + 1)]
    return tnet, names + existing


def _port(layer: str, port: str) -> Expr:
    return Expr(S("NetPort"), layer, port)


def _rule(a: Any, b: Any) -> Expr:
    return Expr(S("Rule"), a, b)


# ---------------------------------------------------------------- data
def read_data(data: Any, net: Net, tnet: Net) -> dict[str, np.ndarray]:
    """Training data as batch-first arrays by port of the training net."""
    ins = tnet.port_names()[0]
    net_ins = net.port_names()[0]
    targets = [p for p in ins if p not in net_ins]
    if isinstance(data, Association):
        return _by_port(data.items(), ins)
    if is_rule(data) and is_list(data.args[0]):
        xs, ys = data.args
        return _pairs(xs, ys, ins, net_ins, targets)
    if is_list(data):
        items = list_items(data)
        if not items:
            raise error("emptdata", "The training data is empty.")
        if all(is_rule(i) for i in items):
            xs = make_list(i.args[0] for i in items)
            ys = make_list(i.args[1] for i in items)
            return _pairs(xs, ys, ins, net_ins, targets)
        if all(isinstance(i, Association) for i in items):
            keys = list(items[0].keys())
            for i, item in enumerate(items, 1):
                if set(item.keys()) != set(keys):
                    raise error("datafmt", f"Example {i} of the training data has the ports "
                                           f"{', '.join(map(str, item.keys()))}, but example 1 "
                                           f"has {', '.join(map(str, keys))}.")
            return _by_port(((k, make_list(i.get(k) for i in items)) for k in keys), ins)
    raise error("datafmt", "Training data must be {input -> target, ...}, {inputs} -> "
                           "{targets} or <|\"port\" -> {...}, ...|>.")


def _by_port(items, ins) -> dict[str, np.ndarray]:
    raw = {}
    for k, v in items:
        if k not in ins:
            raise error("dataport", f'The training data names a port "{k}" that the net '
                                    f"does not have; its inputs are {', '.join(ins)}.")
        raw[k] = _array(v, k)
    return raw


def _targets_like(data: Any, net: Net) -> dict[str, np.ndarray]:
    """The target data by output port, before the loss is chosen (its form decides it)."""
    outs = net.port_names()[1]
    try:
        if isinstance(data, Association):
            return {k: _array(v, k) for k, v in data.items() if k in outs}
        if len(outs) == 1:
            if is_rule(data) and is_list(data.args[0]):
                return {outs[0]: _array(data.args[1], outs[0])}
            if is_list(data) and all(is_rule(i) for i in list_items(data)):
                return {outs[0]: _array(make_list(i.args[1] for i in list_items(data)), outs[0])}
    except EvaluationError:
        pass
    return {}


def _pairs(xs, ys, ins, net_ins, targets) -> dict[str, np.ndarray]:
    if len(net_ins) == 1 and len(targets) == 1:
        return {net_ins[0]: _array(xs, net_ins[0]), targets[0]: _array(ys, targets[0])}
    if set(ins) == {"Input", "Target"}:
        return {"Input": _array(xs, "Input"), "Target": _array(ys, "Target")}
    raise error("datafmt", f"The net has inputs {', '.join(ins)}: give the data as an "
                           f"association <|\"port\" -> {{...}}, ...|>.")


def _array(v: Any, port: str) -> np.ndarray:
    from ..expr import to_ndarray  # noqa: PLC0415
    if isinstance(v, np.ndarray):
        return v
    from .apply import AbstractArray  # noqa: PLC0415
    if isinstance(v, AbstractArray):
        return np.broadcast_to(np.zeros((), np.float32), v.shape)
    try:
        return np.asarray(to_ndarray(v))
    except TypeError:
        raise error("datafmt", f'The data for port "{port}" is not a numeric array.') from None


def check_data(tnet: Net, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    ins = tnet.port_names()[0]
    for p in ins:
        if p not in raw:
            raise error("inpmiss", f'The training data has nothing for port "{p}".')
    arrays, batched = normalise_inputs(tnet, raw, HEAD)
    if not batched:
        raise error("datafmt", "The training data must be a list of examples.")
    return arrays


# ---------------------------------------------------------------- parameters
class Parameters:
    """Learned arrays in one flat buffer; auxiliary arrays (moving statistics) beside it."""

    def __init__(self, plan: Plan, multipliers: dict[tuple, float], dtype=np.float32):
        """``dtype`` float64 is for gradient checks; training uses float32."""
        self.multipliers = multipliers   # by array key, moving statistics included
        self.offsets: dict[tuple, tuple[int, tuple]] = {}
        self.aux: dict[tuple, np.ndarray] = {}
        chunks: list[np.ndarray] = []
        scales: list[np.ndarray] = []
        n = 0
        for step in plan.steps:
            aux_names = {a.name for a in step.layer.array_specs if a.aux}
            for name, arr in step.arrays.items():
                key = step.keys[name]
                if name in aux_names:
                    self.aux.setdefault(key, np.array(arr, dtype=dtype))
                    continue
                if key in self.offsets:
                    continue
                self.offsets[key] = (n, arr.shape)
                chunks.append(np.asarray(arr, dtype).ravel())
                scales.append(np.full(arr.size, multipliers.get(key, 1.0), dtype))
                n += arr.size
        self.flat = np.concatenate(chunks) if chunks else np.zeros(0, dtype)
        self.grad = np.zeros_like(self.flat)
        scale = np.concatenate(scales) if scales else np.zeros(0, dtype)
        self.scale = None if np.all(scale == 1) else scale
        self.frozen_all = bool(self.flat.size == 0 or (self.scale is not None
                                                       and not self.scale.any()))
        # every step reads views of the buffer, so optimiser updates are seen at once
        self.steps = []
        for step in plan.steps:
            arrays = {}
            for name in step.arrays:
                key = step.keys[name]
                arrays[name] = self.aux[key] if key in self.aux else self.view(key)
            self.steps.append(Step(step.layer, arrays, step.ins, step.outs, step.path,
                                   step.keys, step.frees))

    def view(self, key: tuple) -> np.ndarray:
        off, shape = self.offsets[key]
        return self.flat[off:off + int(np.prod(shape, dtype=np.int64))].reshape(shape)

    def add_grad(self, key: tuple, g: np.ndarray) -> None:
        off, shape = self.offsets.get(key, (None, None))
        if off is None:
            return
        size = int(np.prod(shape, dtype=np.int64))
        self.grad[off:off + size] += g.reshape(-1)

    def snapshot(self) -> tuple[np.ndarray, dict[tuple, np.ndarray]]:
        return self.flat.copy(), {k: v.copy() for k, v in self.aux.items()}

    def restore(self, snap) -> None:
        flat, aux = snap
        self.flat[...] = flat
        for k, v in aux.items():
            self.aux[k][...] = v

    def write_back(self, net: Net) -> Net:
        """A new net holding the trained values (frozen copies)."""
        def frozen(a):
            a = np.array(a, dtype=np.float32)
            a.flags.writeable = False
            return a
        new_leaves = {}
        shared = dict(net.shared)
        for path, layer in leaves(net):
            arrays = dict(layer.arrays)
            for spec in layer.array_specs:
                v = arrays.get(spec.name)
                if isinstance(v, SharedRef):
                    key = ("shared", v.name)
                    if key in self.offsets:
                        shared[v.name] = frozen(self.view(key))
                    continue
                key = (path, spec.name)
                if key in self.offsets:
                    arrays[spec.name] = frozen(self.view(key))
                elif key in self.aux:
                    arrays[spec.name] = frozen(self.aux[key])
            new_leaves[path] = layer.evolve(arrays=arrays)
        return replace_leaves(net, new_leaves).evolve(shared=shared)


def read_multipliers(spec: Any, tnet: Net) -> dict[tuple, float]:
    """Per-array learning-rate multipliers: the layers' own option, then NetTrain's
    LearningRateMultipliers -> {layer -> m, {layer, "array"} -> m, All -> m} or a number."""
    out: dict[tuple, float] = {}
    all_keys = []
    for path, layer in leaves(tnet):
        for a in layer.array_specs:
            v = layer.arrays.get(a.name)
            key = ("shared", v.name) if isinstance(v, SharedRef) else (path, a.name)
            all_keys.append((path, a.name, key))
            own = layer.values.get("LearningRateMultipliers")
            if is_number(own):
                out[key] = float(own)
    if spec is S("Automatic") or spec is None:
        return out
    rules = [spec] if is_number(spec) else list_items(spec) if is_list(spec) else [spec]
    for r in rules:
        if is_number(r):
            target, m = S("All"), r
        elif is_rule(r) and is_number(r.args[1]):
            target, m = r.args
        else:
            raise error("lrmult", f"{input_form(r)} is not a learning-rate multiplier "
                                  f"specification (layer -> m, {{layer, \"array\"}} -> m or "
                                  f"All -> m).")
        matched = False
        for path, array, key in all_keys:
            inner = path[1:] if path and path[0] == "net" else path
            if _lr_match(target, inner, array, tnet):
                out[key] = float(m)
                matched = True
        if not matched:
            raise error("lrmult", f"{input_form(target)} in LearningRateMultipliers does not "
                                  f"name a layer or array of the net.")
    return out


def _lr_match(target: Any, path: tuple, array: str, tnet: Net) -> bool:
    if target is S("All"):
        return True
    parts = list_items(target) if is_list(target) else [target]
    *layer_parts, last = parts
    if isinstance(last, str) and last == array and layer_parts:
        return _path_prefix(layer_parts, path)
    return _path_prefix(parts, path)


def _path_prefix(parts: list, path: tuple) -> bool:
    if len(parts) > len(path):
        return False
    for p, name in zip(parts, path):
        if is_integer(p):
            if str(p) != name:
                return False
        elif p != name:
            return False
    return True


# ---------------------------------------------------------------- the loop
@dataclass
class History:
    batch_losses: list[float] = field(default_factory=list)
    round_losses: list[float] = field(default_factory=list)
    validation_losses: list[float] = field(default_factory=list)
    examples: int = 0
    seconds: float = 0.0
    reason: str = "MaxTrainingRoundsReached"
    rounds: int = 0
    batch_size: int = 0
    batches_per_round: int = 0
    training_examples: int = 0
    validation_examples: int = 0
    best_round: int | None = None      # with a ValidationSet: the round of the returned net
    abstract: bool = False             # netdsl check: counts are known, losses are not


def net_train(net: Net, data: Any, opts: dict[str, Any], shape_only: bool = False) -> tuple[Net, History]:
    o = read_options(opts)
    if not isinstance(net, Net):
        raise error("invnet", "First argument to NetTrain should be a fully specified net.")
    tnet, loss_names = training_net(net, o.loss, _targets_like(data, net))
    wrapped = tnet is not net           # the net sits at "net" inside a graph with its losses
    raw = read_data(data, net, tnet)
    arrays = check_data(tnet, raw)
    validation = _validation(o, net, tnet, arrays)
    if validation is not None and isinstance(validation, tuple):
        arrays, validation = validation
    rng = rng_for(o.seed)
    tnet = initialize(tnet, "missing", rng=np.random.default_rng(rng.integers(2 ** 32)),
                      shape_only=shape_only)
    if shape_only:  # netdsl check: the data fit; arrays become placeholders, nothing runs
        n = next(iter(arrays.values())).shape[0]
        batch = min(o.batch_size or 64, n)
        rounds = o.max_rounds or 1
        per_round = math.ceil(n / batch)
        history = History(rounds=rounds, batch_size=batch, batches_per_round=per_round,
                          training_examples=n, examples=n * rounds, abstract=True,
                          validation_examples=0 if not validation else
                          next(iter(validation.values())).shape[0])
        return _untrain(net, tnet, wrapped), history
    plan = compile_plan(tnet, HEAD, mode="train")
    params = Parameters(plan, read_multipliers(o.multipliers, tnet))
    history = History()
    if params.flat.size == 0:
        _warn("NetTrain::netnoparams: Net does not contain any trainable parameters: returning "
              "net unchanged.")
        return net, history
    if params.frozen_all:
        _warn("NetTrain::netfrozen: All trainable parameters have been frozen: returning net "
              "unchanged.")
        return net, history
    trained = _loop(tnet, plan, params, arrays, validation, loss_names, o, rng, history)
    return _untrain(net, trained, wrapped), history


def _untrain(net: Net, trained: Net, wrapped: bool) -> Net:
    """The user's net out of the training net (which adds the loss layers around it)."""
    out = trained.net("net") if wrapped else trained
    if out is not trained:
        from ..builtins.nets import with_shared  # noqa: PLC0415
        out = with_shared(out, trained.shared)
    out.span = net.span
    return out


def _validation(o: Options, net: Net, tnet: Net, arrays: dict[str, np.ndarray]):
    v = o.validation
    if v is S("None") or v is None:
        return None
    if isinstance(v, Expr) and v.head is S("Scaled") and len(v.args) == 1 and is_number(v.args[0]):
        f = float(v.args[0])
        if not 0 < f < 1:
            raise error("valset", "ValidationSet -> Scaled[f] needs 0 < f < 1.")
        n = next(iter(arrays.values())).shape[0]
        k = max(1, int(round(n * f)))
        if k >= n:
            raise error("valset", "The validation fraction leaves no training data.")
        train = {p: a[:n - k] for p, a in arrays.items()}
        val = {p: a[n - k:] for p, a in arrays.items()}
        return train, val
    return check_data(tnet, read_data(v, net, tnet))


def _loop(tnet, plan, params, arrays, validation, loss_names, o: Options, rng, history: History):
    n = next(iter(arrays.values())).shape[0]
    batch = min(o.batch_size or 64, n)
    history.batch_size = batch
    history.training_examples = n
    data = {p: to_batch_last(a) for p, a in arrays.items()}
    val_data = {p: to_batch_last(a) for p, a in validation.items()} if validation else None
    batches_per_round = math.ceil(n / batch)
    history.batches_per_round = batches_per_round
    if validation:
        history.validation_examples = next(iter(validation.values())).shape[0]
    max_rounds = o.max_rounds
    total_steps = (max_rounds or 10_000) * batches_per_round
    opt = Optimizer(o.settings, params.flat, params.scale, total_steps)
    loss_slots = [plan.outputs[p] for p in loss_names]
    input_slots = set(plan.inputs.values())
    bn_steps = [(i, s) for i, s in enumerate(params.steps)
                if s.layer.name == "BatchNormalizationLayer" and _updates_moving(s, params)]
    ctx = Ctx(train=True, grad=True, rng=np.random.default_rng(rng.integers(2 ** 32)))
    reporter = _Reporter(o.reporting, n)
    best = None
    t0 = time.perf_counter()
    rounds_done = 0
    try:
        while True:
            order = rng.permutation(n)
            round_loss, seen = 0.0, 0
            out_of_time = False
            for b in range(batches_per_round):
                idx = order[b * batch:(b + 1) * batch]
                feed = {p: np.ascontiguousarray(a[..., idx]) if a.ndim > 1 else a[idx]
                        for p, a in data.items()}
                loss = _train_step(params, plan, ctx, feed, loss_slots, input_slots, opt,
                                   bn_steps)
                m = idx.size
                history.batch_losses.append(loss)
                round_loss += loss * m
                seen += m
                history.examples += m
                elapsed = time.perf_counter() - t0
                reporter.batch(rounds_done + 1, max_rounds, loss, history.examples, elapsed,
                               b + 1, batches_per_round)
                if o.time_goal is not None and elapsed >= o.time_goal:
                    history.reason = "TimeGoalReached"
                    out_of_time = True
                    break
            if seen < n:     # stopped within a round: it is not counted
                raise _Stop
            rounds_done += 1
            history.round_losses.append(round_loss / seen)
            if val_data is not None:
                vloss = _evaluate_loss(params, plan, val_data, loss_slots)
                history.validation_losses.append(vloss)
                if best is None or vloss < best[0]:
                    best = (vloss, params.snapshot())
                    history.best_round = rounds_done
            if max_rounds is None and o.time_goal is None:
                # Automatic: about 20 seconds of training, at most 10,000 rounds
                per_round = (time.perf_counter() - t0) / rounds_done
                max_rounds = max(1, min(AUTO_MAX_ROUNDS,
                                        int(AUTO_SECONDS / max(per_round, 1e-9))))
            if out_of_time:
                break
            if max_rounds is not None and rounds_done >= max_rounds:
                history.reason = "MaxTrainingRoundsReached"
                break
    except _Stop:
        pass
    except KeyboardInterrupt:   # Ctrl-C: the net trained so far, not a traceback
        history.reason = "ManualStop"
        if o.reporting != "None":
            _warn(f"\nNetTrain: stopped by the user after {rounds_done} complete round"
                  f"{'' if rounds_done == 1 else 's'}; returning the net trained so far.")
    history.seconds = time.perf_counter() - t0
    history.rounds = rounds_done
    reporter.done(history)
    if best is not None:
        params.restore(best[1])
    return params.write_back(tnet)


class _Stop(Exception):
    pass


AUTO_SECONDS = 20.0        # MaxTrainingRounds -> Automatic: about this long,
AUTO_MAX_ROUNDS = 10_000   # and never more rounds than this


def _updates_moving(step: Step, params: Parameters) -> bool:
    """Moving statistics freeze when Momentum is 1 or the layer's multiplier is 0 (its own
    option, or NetTrain's for the layer). The multiplier read is that of this copy's own
    MovingMean: a Scaling shared with another copy of the layer does not decide it."""
    if step.layer.values.get("Momentum") == 1:
        return False
    return params.multipliers.get(step.keys.get("MovingMean"), 1.0) != 0


def _train_step(params: Parameters, plan: Plan, ctx: Ctx, feed, loss_slots, input_slots,
                opt: Optimizer, bn_steps) -> float:
    loss, caches = forward_backward(params, plan, ctx, feed, loss_slots, input_slots)
    opt.step(params.grad)
    for i, step in bn_steps:  # moving statistics, after the optimiser, once per batch
        for name, value in step.layer.moving_updates(step.arrays, caches[i]).items():
            step.arrays[name][...] = value
    return loss


def forward_backward(params: Parameters, plan: Plan, ctx: Ctx, feed, loss_slots,
                     input_slots) -> tuple[float, list[Any]]:
    """The training loss of one batch (the mean over its examples of the sum of the loss
    outputs) and its gradient, left in ``params.grad``; also every step's cache."""
    _, values, caches = plan.run(ctx, feed, keep=True, steps=params.steps)
    loss, m = _mean_loss(values, loss_slots)
    if not math.isfinite(loss):
        raise error("arrdiv", "The loss became NaN or infinite during training; try a smaller "
                              "LearningRate.")
    seeds = {s: np.full(values[s].shape, 1.0 / m, dtype=values[s].dtype) for s in loss_slots}
    params.grad[...] = 0
    backward(params.steps, ctx, values, caches, seeds, params.add_grad, input_slots)
    return loss, caches


def _mean_loss(values: list[Any], loss_slots: list[int]) -> tuple[float, int]:
    """The mean over the batch of the summed loss outputs, and the batch size."""
    m = values[loss_slots[0]].shape[-1]
    return float(sum(np.asarray(values[s], np.float64).sum() for s in loss_slots) / m), m


def _evaluate_loss(params: Parameters, plan: Plan, data, loss_slots) -> float:
    _, values, _ = plan.run(Ctx(train=False), data, steps=params.steps)
    return _mean_loss(values, loss_slots)[0]


def _warn(text: str) -> None:
    sys.stderr.write(text + "\n")


# ---------------------------------------------------------------- progress
class _Reporter:
    """A one-line progress bar on a terminal: round, loss, examples/s, time left."""

    def __init__(self, mode: str, n: int):
        self.stream = sys.stderr
        self.on = mode == "Print" or (mode == "Automatic" and self.stream.isatty())
        self.mode = mode
        self.last = -math.inf      # the first batch is shown at once

    def batch(self, rnd, max_rounds, loss, examples, elapsed, b, nb) -> None:
        if not self.on or (elapsed - self.last < 0.2 and self.mode != "Print"):
            return
        self.last = elapsed
        rate = examples / elapsed if elapsed > 0 else 0.0
        total = f"/{max_rounds}" if max_rounds else ""
        left = ""
        if max_rounds:
            frac = ((rnd - 1) + b / nb) / max_rounds
            if frac > 0:
                left = f"  {max(0.0, elapsed / frac - elapsed):.0f}s left"
        width = 20
        done = int(width * (((rnd - 1) + b / nb) / max_rounds)) if max_rounds else 0
        bar = "#" * done + "-" * (width - done) if max_rounds else ""
        line = (f"round {rnd}{total} [{bar}] loss {loss:.4g}  {rate:,.0f} examples/s{left}")
        if self.mode == "Print":
            if b == nb:
                self.stream.write(line + "\n")
        else:
            self.stream.write("\r" + line[:120].ljust(100))
        self.stream.flush()

    def done(self, h: History) -> None:
        if self.on and self.mode != "Print":
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()


# ---------------------------------------------------------------- results
class TrainResults(Opaque):
    """``NetTrain[net, data, All]``: results["TrainedNet"], results["RoundLossList"], ..."""

    head_name = "NetTrainResultsObject"

    def __init__(self, props: dict[str, Any]):
        self.props = props

    def apply(self, ev, args):
        if len(args) != 1 or not isinstance(args[0], str):
            raise error("prop", "Use results[\"property\"] with one property name.")
        return property_value(self.props, args[0])

    def input_form(self) -> str:
        return "NetTrainResultsObject[<>]"

    def output_form(self) -> str:
        p = self.props
        return (f"NetTrainResultsObject  (rounds {p['TotalRounds']}, final round loss "
                f"{p['RoundLoss']}, {p['TotalTrainingTime']:.3g} s)")


PROPERTIES = ("TrainedNet", "RoundLoss", "RoundLossList", "BatchLossList", "ValidationLoss",
              "ValidationLossList", "TotalTrainingTime", "MeanExamplesPerSecond", "TotalRounds",
              "BatchSize", "ReasonTrainingStopped", "LossPlot", "LossEvolutionPlot",
              "TotalBatches", "ExamplesProcessed", "MeanBatchesPerSecond", "BatchesPerRound",
              "TrainingExamples", "ValidationExamples", "BestValidationRound")


def results(net: Net, h: History) -> dict[str, Any]:
    if h.abstract:
        return _abstract_results(net, h)
    mean_rate = h.examples / h.seconds if h.seconds > 0 else 0.0
    return {
        "TrainedNet": net,
        "RoundLoss": h.round_losses[-1] if h.round_losses else (
            h.batch_losses[-1] if h.batch_losses else S("None")),
        "RoundLossList": packed(np.array(h.round_losses)) if h.round_losses else make_list([]),
        "BatchLossList": packed(np.array(h.batch_losses)) if h.batch_losses else make_list([]),
        "ValidationLoss": h.validation_losses[-1] if h.validation_losses else S("None"),
        "ValidationLossList": packed(np.array(h.validation_losses)) if h.validation_losses
        else make_list([]),
        "TotalTrainingTime": h.seconds,
        "MeanExamplesPerSecond": mean_rate,
        "TotalRounds": h.rounds,
        "BatchSize": h.batch_size,
        "ReasonTrainingStopped": h.reason,
        "TotalBatches": len(h.batch_losses),
        "ExamplesProcessed": h.examples,
        "MeanBatchesPerSecond": len(h.batch_losses) / h.seconds if h.seconds > 0 else 0.0,
        "BatchesPerRound": h.batches_per_round,
        "TrainingExamples": h.training_examples,
        "ValidationExamples": h.validation_examples,
        "BestValidationRound": S("None") if h.best_round is None else h.best_round,
        "$history": h,
    }


def _abstract_results(net: Net, h: History) -> dict[str, Any]:
    """Under netdsl check: the sizes of the results, no numbers."""
    from ..layers.base import AbstractArray  # noqa: PLC0415
    scalar = AbstractArray(())
    batches = h.rounds * h.batches_per_round
    validated = h.validation_examples > 0
    return {
        "TrainedNet": net, "RoundLoss": scalar, "RoundLossList": AbstractArray((h.rounds,)),
        "BatchLossList": AbstractArray((batches,)),
        "ValidationLoss": scalar if validated else S("None"),
        "ValidationLossList": AbstractArray((h.rounds,)) if validated else make_list([]),
        "TotalTrainingTime": scalar, "MeanExamplesPerSecond": scalar, "TotalRounds": h.rounds,
        "BatchSize": h.batch_size, "ReasonTrainingStopped": h.reason, "TotalBatches": batches,
        "ExamplesProcessed": h.examples, "MeanBatchesPerSecond": scalar,
        "BatchesPerRound": h.batches_per_round, "TrainingExamples": h.training_examples,
        "ValidationExamples": h.validation_examples,
        "BestValidationRound": scalar if validated else S("None"), "$history": h,
    }


def property_value(props: dict[str, Any], name: str) -> Any:
    if name in ("LossPlot", "LossEvolutionPlot"):
        return loss_plot(props["$history"])
    if name not in props or name.startswith("$"):
        raise error("prop", f'"{name}" is not a NetTrain property; known properties: '
                            f"{', '.join(PROPERTIES)}.")
    return props[name]


class Picture(Opaque):
    """A PNG file written by LossPlot."""

    head_name = "Image"

    def __init__(self, path: str):
        self.path = path

    def input_form(self) -> str:
        return f'Import["{self.path}"]'

    def output_form(self) -> str:
        return f"-Image- (PNG written to {self.path})"


def loss_plot(h: History) -> Any:
    try:
        import matplotlib  # noqa: PLC0415
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        raise error("noplot", "LossPlot needs matplotlib, which is not installed "
                              "(pip install matplotlib); the numbers are in \"RoundLossList\" "
                              "and \"BatchLossList\".") from None
    import tempfile  # noqa: PLC0415
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if h.batch_losses:
        per_round = max(1, len(h.batch_losses) // max(1, h.rounds))
        x = np.arange(1, len(h.batch_losses) + 1) / per_round
        ax.plot(x, h.batch_losses, lw=0.8, alpha=0.5, label="batch loss")
    if h.round_losses:
        ax.plot(np.arange(1, len(h.round_losses) + 1), h.round_losses, lw=2, label="round loss")
    if h.validation_losses:
        ax.plot(np.arange(1, len(h.validation_losses) + 1), h.validation_losses, lw=2,
                label="validation loss")
    ax.set_xlabel("training rounds")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    path = tempfile.NamedTemporaryFile(prefix="netdsl-loss-", suffix=".png", delete=False).name
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Picture(path)
