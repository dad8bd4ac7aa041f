"""NetTrain's options: Wolfram's names and defaults, read into an ``Options`` value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...expr import (Expr, Symbol, among, input_form, is_integer, is_list, is_number, is_rule,
                     list_items)
from ..initialize import split_method
from ..optimizers import METHODS, Settings
from ..device import check_device, check_precision
from .checkpoint import read_checkpointing
from .common import error

S = Symbol


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
    stopping: Any = None           # TrainingStoppingCriterion, read by callbacks.py
    progress: Any = None           # TrainingProgressFunction
    callable_of: Any = None        # expression -> Python callable (the evaluator's)
    measurements: Any = None       # TrainingProgressMeasurements (on the ValidationSet)
    checkpointing: list = field(default_factory=list)   # checkpoint.Spec values
    update_schedule: Any = None    # TrainingUpdateSchedule, read by parameters.py
    report_file: str | None = None  # TrainingProgressReporting -> File["log.csv"]


def _positive_int(name: str, v: Any) -> int:
    if is_integer(v) and v >= 1:
        return v
    raise error("optpi", f"The value of {name} -> {input_form(v)} should be a positive "
                         f"machine-sized integer.")


def _nonneg(name: str, v: Any) -> float:
    if is_number(v) and v >= 0:
        return float(v)
    raise error("optnn", f"The value of {name} -> {input_form(v)} should be a non-negative number.")


_UNIT_SECONDS = {"Seconds": 1.0, "Minutes": 60.0, "Hours": 3600.0}


def _is_time(v: Any) -> bool:
    return isinstance(v, Expr) and v.head is S("Quantity") and len(v.args) == 2


def _seconds(name: str, v: Any) -> float:
    """A number of seconds, or Quantity[t, "Seconds" | "Minutes" | "Hours"] in seconds."""
    if _is_time(v):
        t, unit = v.args
        if not (isinstance(unit, str) and unit in _UNIT_SECONDS):
            raise error("optnn", f"The value of {name} -> {input_form(v)} should be a time in "
                                 f"\"Seconds\", \"Minutes\" or \"Hours\".")
        return _nonneg(name, t) * _UNIT_SECONDS[unit]
    return _nonneg(name, v)


def read_options(opts: dict[str, Any]) -> Options:
    o = Options()
    auto = S("Automatic")
    if opts["BatchSize"] is not auto:
        o.batch_size = _positive_int("BatchSize", opts["BatchSize"])
    rounds = opts["MaxTrainingRounds"]
    if _is_time(rounds):
        # Wolfram 11's form (its NetTrain reads MaxTrainingRounds -> Quantity[t, "Seconds"
        # | "Minutes" | "Hours"] as a time to train for, rounds Automatic): a TimeGoal
        o.time_goal = _seconds("MaxTrainingRounds", rounds)
    elif rounds is not auto:
        o.max_rounds = _positive_int("MaxTrainingRounds", rounds)
    tg = opts["TimeGoal"]
    if tg is not auto:
        o.time_goal = _seconds("TimeGoal", tg)
    o.settings = _method(opts["Method"], opts.get("$callable"))
    for key, attr in (("L2Regularization", "l2"), ("GradientClipping", "gradient_clipping"),
                      ("WeightClipping", "weight_clipping")):
        v = opts[key]
        if v is not S("None") and v is not auto:
            _set_number_or_parts(o.settings, attr, key, v)
    lr = opts["LearningRate"]
    if lr is not auto:
        o.settings.learning_rate = _nonneg("LearningRate", lr)
    o.validation = opts["ValidationSet"]
    o.seed = opts["RandomSeeding"]
    o.multipliers = opts["LearningRateMultipliers"]
    o.reporting, o.report_file = _reporting(opts["TrainingProgressReporting"])
    if not opts.get("$log", True):   # the session may not write files (netdsl check)
        o.report_file = None
    o.loss = opts["LossFunction"]
    check_device(opts["TargetDevice"], "NetTrain")
    check_precision(opts.get("WorkingPrecision", "Real32"), "NetTrain")
    o.stopping = opts.get("TrainingStoppingCriterion")
    o.progress = opts.get("TrainingProgressFunction")
    o.callable_of = opts.get("$callable")
    m = opts.get("TrainingProgressMeasurements")
    o.measurements = None if m is None or m is S("None") else (
        list_items(m) if is_list(m) else [m])
    o.checkpointing = read_checkpointing(opts.get("TrainingProgressCheckpointing"))
    o.update_schedule = opts.get("TrainingUpdateSchedule")
    return o


_PANELS = ("Panel", "ProgressIndicator", "SimplePanel")
_PRINTS = ("Print", "SimplePrint")


def _reporting(rep: Any) -> tuple[str, str | None]:
    """TrainingProgressReporting: (the terminal mode, a CSV log file or None). Wolfram's
    specs: Automatic, None, "Print", "SimplePrint", "Panel", "ProgressIndicator",
    "SimplePanel" (the bar or lines, as the output allows), File["log.csv"], a list of
    these, each possibly {spec, "Interval" -> ...} (netdsl reports every round)."""
    mode, log = "None", None
    specs = list_items(rep) if is_list(rep) and not (
        list_items(rep) and is_rule(list_items(rep)[-1])) else [rep]
    for spec in specs:
        if is_list(spec) and list_items(spec):      # {spec, "Interval" -> ...}
            spec = list_items(spec)[0]
        if spec is S("None") or spec is S("False"):
            continue
        if spec is S("Automatic") or among(spec, _PANELS):
            mode = "Automatic" if mode == "None" else mode
        elif among(spec, _PRINTS):
            mode = "Print"
        elif isinstance(spec, Expr) and spec.head is S("File") and len(spec.args) == 1 \
                and isinstance(spec.args[0], str):
            log = spec.args[0]
        else:
            raise error("progrep", f"TrainingProgressReporting -> {input_form(rep)} is not "
                                   f'supported; use Automatic, None, "Print", "Panel", '
                                   f'"ProgressIndicator", File["log.csv"] or a list of these.')
    return mode, log


def _method(spec: Any, callable_of: Any = None) -> Settings:
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
            s.schedule = _schedule(v, callable_of)
            continue
        if key in ("L2Regularization", "GradientClipping", "WeightClipping") and (
                is_rule(v) or is_list(v)):
            _set_number_or_parts(s, keys[key], key, v)
            continue
        if key not in keys or not is_number(v):
            raise error("method", f"{input_form(r)} is not an option of the {name} method; "
                                  f"options: {', '.join(keys)}, \"LearningRateSchedule\".")
        setattr(s, keys[key], float(v))
    return s




def _set_number_or_parts(s: Settings, attr: str, name: str, v: Any) -> None:
    """A number, or rules by part (resolved against the net by parameters.py)."""
    if is_rule(v) or is_list(v):
        s.extra[attr] = v
        setattr(s, attr, None)
        return
    setattr(s, attr, _nonneg(name, v))


def _schedule(v: Any, callable_of: Any) -> Any:
    """"LearningRateSchedule": None, "Polynomial", or a function f: the learning rate at
    batch b of T is LearningRate f[b, T] (Wolfram's own code uses ``(1 &)`` for a
    constant rate)."""
    if v is S("None") or isinstance(v, str) and v == "Polynomial":
        return None if v is S("None") else v
    function = isinstance(v, Expr) and v.head is S("Function") or isinstance(v, Symbol)
    if not function or callable_of is None:
        raise error("method", f"LearningRateSchedule -> {input_form(v)} is not supported; use "
                              f'"Polynomial", None or a function f (the rate at batch b of T '
                              f"is LearningRate f[b, T]).")
    call = callable_of(v)

    def multiplier(batch: int, total: int) -> float:
        r = call(batch, total)
        if not (is_number(r) and r >= 0 and r == r and r != float("inf")):
            raise error("badlrs", f"The learning rate schedule {input_form(v)} gave "
                                  f"{input_form(r)} at batch {batch} of {total}; it should "
                                  f"give a non-negative real number (a multiplier of "
                                  f"LearningRate).")
        return float(r)
    return multiplier
