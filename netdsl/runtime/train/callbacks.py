"""TrainingStoppingCriterion and TrainingProgressFunction, as Wolfram defines them.

Stopping (checked once per round, on the validation loss when there is a ValidationSet,
else on the round's training loss with a warning):

- ``"Loss"`` (or Automatic): stop the first time the loss fails to improve;
- ``<|"Criterion" -> "Loss", "Patience" -> n, "InitialPatience" -> m,
  "AbsoluteChange" -> d | "RelativeChange" -> r|>``: an improvement must beat the best
  value so far by d (or by the fraction r); after a round without one the count of
  rounds without improvement grows, and training stops when a round without improvement
  finds it already at n. Nothing is checked before round m;
- a function ``f``: called with <|"RoundLoss", "ValidationLoss", ...|>; True stops.

Reason given: "StoppingCriterion".

Progress functions are called with an association of the run's live properties (Wolfram's
keys: "Round", "Batch", "AbsoluteBatch", "RoundLoss", "BatchLoss", "Net", ...) once per
round by default, or at ``{f, "Interval" -> {n, "Batches"|"Rounds"|"Seconds"}}`` (also
``Quantity[n, unit]``). A function that returns "StopTraining" stops training
("ManualStop"); "AbortTraining" stops it with reason "Aborted".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from ...expr import (Association, Expr, Symbol, input_form, is_integer, is_list, is_number,
                     is_rule, list_items)
from .common import error, warn

S = Symbol


# ---------------------------------------------------------------- stopping
@dataclass
class Stopping:
    criterion: str | Callable[[dict[str, Any]], Any] = "Loss"
    patience: int = 0
    initial_patience: int = 0
    absolute: float | None = None
    relative: float | None = None
    best: float = math.inf
    since: int = 0

    def no_improvement(self, value: float) -> bool:
        """Wolfram's checker: the value does not beat the best so far by the change asked
        (a measurement that should grow, such as "Accuracy", is negated)."""
        if self.criterion in INCREASING:
            value = -value
        if self.relative is not None:
            worse = value >= self.best * (1 - self.relative) if self.best >= 0 \
                else value >= self.best * (1 + self.relative)
        else:
            worse = value >= self.best - (self.absolute or 0.0)
        self.best = min(self.best, value)
        return worse

    def should_stop(self, rnd: int, values: dict[str, Any]) -> bool:
        if callable(self.criterion):
            result = self.criterion(values)
            if result not in (True, False) and result not in (S("True"), S("False")):
                warn("NetTrain::invtscres: The function supplied to TrainingStoppingCriterion "
                     "must return True or False.")
                hit = False
            else:
                hit = result is True or result is S("True")
        elif self.criterion == "Loss":
            v = values.get("ValidationLoss")
            hit = self.no_improvement(values["RoundLoss"] if v is None else v)
        else:
            measured = values.get("ValidationMeasurements") or {}
            value = measured.get(self.criterion)
            if not isinstance(value, (int, float)):
                raise error("nonscalarcrit", f'The TrainingStoppingCriterion "{self.criterion}" '
                                             f"is not a scalar; average it over the classes "
                                             f'("ClassAveraging" -> "Macro").')
            hit = self.no_improvement(float(value))
        if self.patience == 0 and self.initial_patience == 0:
            return hit
        if rnd < self.initial_patience:
            return False
        if not hit:
            self.since = 0
            return False
        if self.since == self.patience:
            return True
        self.since += 1
        return False


INCREASING = ("Accuracy", "Precision", "Recall", "F1Score", "CohenKappa", "RSquared")


def read_stopping(spec: Any, callable_of: Callable | None, validated: bool,
                  measured: tuple[str, ...] = ()) -> Stopping | None:
    """``measured``: the TrainingProgressMeasurements keys (measured on the ValidationSet),
    which may serve as criteria besides "Loss"."""
    if spec is S("None") or spec is None:
        return None
    if spec is S("Automatic"):
        spec = "Loss"
    if isinstance(spec, str) or _is_function(spec):
        spec = Association([("Criterion", spec, False)])
    if not isinstance(spec, Association):
        raise error("invstopusage", f"{input_form(spec)} is not a valid set of arguments for "
                                    f"TrainingStoppingCriterion.")
    s = Stopping()
    for key, value, _ in spec.rules:
        if key == "Criterion":
            if isinstance(value, str):
                if value != "Loss" and not (validated and value in measured):
                    known = ", ".join(f'"{k}"' for k in ("Loss",) + (measured if validated
                                                                     else ()))
                    raise error("invstopmetric", f'"{value}" is not an available criterion for '
                                                 f"TrainingStoppingCriterion; available: "
                                                 f"{known} (measurements need a "
                                                 f"ValidationSet and "
                                                 f"TrainingProgressMeasurements).")
                s.criterion = value
            elif _is_function(value) and callable_of is not None:
                fn = callable_of(value)
                s.criterion = lambda values, fn=fn: fn(_assoc(values))
            else:
                raise error("invstopusage", f"{input_form(value)} is not a valid criterion.")
        elif key in ("Patience", "InitialPatience"):
            n = _rounds(value)
            if n is None:
                raise error("invstopusage", f'"{key}" -> {input_form(value)} should be a '
                                            f"non-negative integer number of rounds.")
            setattr(s, "patience" if key == "Patience" else "initial_patience", n)
        elif key == "AbsoluteChange" and is_number(value) and value >= 0:
            s.absolute = float(value)
        elif key == "RelativeChange" and _percent(value) is not None:
            fraction = float(_percent(value) or 0.0)     # Quantity[5, "Percent"] is 0.05
            if not 0 < fraction < 1:
                raise error("invrelchange", f'The value for "RelativeChange" must be a '
                                            f"fraction between 1 and 0, but was {fraction}.")
            s.relative = fraction
        elif key == "RelativeChange" and is_number(value):
            if not 0 < value < 1:
                raise error("invrelchange", f'The value for "RelativeChange" must be a '
                                            f"fraction between 1 and 0, but was {value}.")
            s.relative = float(value)
        else:
            raise error("invstopusage", f"{input_form(key)} -> {input_form(value)} is not a "
                                        f"valid suboption of TrainingStoppingCriterion.")
    if s.absolute is not None and s.relative is not None:
        raise error("invstopnumopts", 'Please specify only one of "AbsoluteChange" and '
                                      '"RelativeChange" as options for TrainingStoppingCriterion.')
    if not validated and not callable(s.criterion):
        warn("NetTrain::novalidation: No validation set provided, defaulting to training set "
             "for stopping criterion.")
    return s


def _rounds(v: Any) -> int | None:
    if isinstance(v, Expr) and v.head is S("Quantity") and v.args:
        v = v.args[0]
    return v if is_integer(v) and v >= 0 else None


def _is_function(x: Any) -> bool:
    return isinstance(x, Expr) and x.head is S("Function") or isinstance(x, Symbol) \
        and x not in (S("None"), S("Automatic"))


# ---------------------------------------------------------------- progress functions
@dataclass
class Periodic:
    fn: Callable[[Any], Any]
    unit: str = "Rounds"     # "Batches", "Rounds" or "Seconds"
    every: float = 1
    next_time: float = field(default=0.0)


_UNITS = {"Batch": "Batches", "Batches": "Batches", "Round": "Rounds", "Rounds": "Rounds",
          "Second": "Seconds", "Seconds": "Seconds", "Minute": "Minutes", "Minutes": "Minutes",
          "Hour": "Hours", "Hours": "Hours"}


def read_progress(spec: Any, callable_of: Callable | None) -> list[Periodic]:
    if spec is S("None") or spec is None:
        return []
    if callable_of is None:
        raise error("invcfunc", "TrainingProgressFunction needs the language's functions.")
    items = list_items(spec) if is_list(spec) else [spec]
    # {f, "Interval" -> ...} is one function with suboptions; {f, g} two functions
    if is_list(spec) and len(items) >= 2 and all(is_rule(i) for i in items[1:]):
        items = [spec]
    out = []
    for item in items:
        fn, opts = item, []
        if is_list(item):
            fn, *opts = list_items(item)
        p = Periodic(callable_of(fn))
        for r in opts:
            if not (is_rule(r) and r.args[0] == "Interval"):
                raise error("invsubopts", f"{input_form(r)} is not a valid suboption to "
                                          f"TrainingProgressFunction.")
            p.unit, p.every = _interval(r.args[1])
        if p.unit in ("Minutes", "Hours"):
            p.every *= 60 if p.unit == "Minutes" else 3600
            p.unit = "Seconds"
        p.next_time = p.every
        out.append(p)
    return out


def _interval(v: Any) -> tuple[str, float]:
    if isinstance(v, Expr) and v.head is S("Quantity") and len(v.args) == 2:
        v = Expr(S("List"), *v.args)
    if isinstance(v, str) and v in _UNITS:
        return _UNITS[v], 1
    if is_list(v) and len(list_items(v)) == 2:
        n, unit = list_items(v)
        if is_number(n) and n > 0 and isinstance(unit, str) and unit in _UNITS:
            if _UNITS[unit] == "Batches" and not is_integer(n):
                raise error("invtint", 'The "Interval" in batches must be an integer.')
            return _UNITS[unit], float(n)
    if is_number(v) and v > 0:
        return "Rounds", float(v)
    raise error("invtint", 'The value of the "Interval" suboption should be a positive quantity '
                           'with a unit of "Rounds", "Batches", "Seconds", "Minutes", or "Hours".')


def due(p: Periodic, event: str, absolute_batch: int, rnd: int, elapsed: float,
        batches_per_round: int = 1) -> bool:
    """Whether ``p`` runs now; ``event`` is "batch" (after each batch) or "round". A
    fractional number of rounds ("Interval" -> 0.1) is, as Wolfram's NetTrain reads it,
    Ceiling[n batches_per_round] batches."""
    if p.unit == "Rounds" and not float(p.every).is_integer():
        every = max(1, math.ceil(p.every * batches_per_round))
        return event == "batch" and absolute_batch % every == 0
    if p.unit == "Batches":
        return event == "batch" and absolute_batch % int(p.every) == 0
    if p.unit == "Rounds":
        return event == "round" and rnd % int(p.every) == 0
    if event == "batch" and elapsed >= p.next_time:
        p.next_time = elapsed + p.every
        return True
    return False


def run_progress(p: Periodic, values: dict[str, Any]) -> str | None:
    """Call ``p``; "StopTraining"/"AbortTraining" when it asks to stop."""
    result = p.fn(_assoc(values))
    return result if result in ("StopTraining", "AbortTraining") else None


class Lazy:
    """A value computed only when a callback is called (the current net, say)."""

    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn


def _assoc(values: dict[str, Any]) -> Association:
    return Association((k, v.fn() if isinstance(v, Lazy) else v, False)
                       for k, v in values.items())


def _percent(v: Any) -> float | None:
    """Quantity[q, "Percent"] as the fraction q / 100; None for anything else."""
    if isinstance(v, Expr) and v.head is S("Quantity") and len(v.args) == 2 \
            and v.args[1] == "Percent" and is_number(v.args[0]):
        return float(v.args[0]) / 100
    return None
