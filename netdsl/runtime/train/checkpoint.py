"""TrainingProgressCheckpointing: the net written to a file during training.

    {"File", path}              the most recent net, overwritten each time
    {"Directory", dir}          a new file each time, named as Wolfram names them:
                                date_run_round_batch_loss[_validationloss].safetensors
    ..., "Interval" -> Quantity[n, "Rounds" | "Batches" | "Seconds" | "Minutes" | "Hours"]
                                how often (default: after every round)
    {spec1, spec2, ...}         several at once

The files are netdsl net files. Writing them is the business of the formats stage
above this one: NetTrain's built-in passes the function that saves a net.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from collections.abc import Callable
from typing import Any

from ...expr import Expr, Symbol, input_form, is_list, is_number, is_rule, list_items
from .common import error

S = Symbol
UNITS: dict[str, str | float] = {
    "Rounds": "rounds", "Round": "rounds", "Batches": "batches", "Batch": "batches",
    "Seconds": 1.0, "Second": 1.0, "Minutes": 60.0, "Minute": 60.0, "Hours": 3600.0,
    "Hour": 3600.0}
EXTENSION = ".safetensors"
_runs = 0   # numbers the training runs of a session, as Wolfram's $TrainingCounter


@dataclass
class Spec:
    kind: str               # "File" or "Directory"
    path: str
    unit: str = "rounds"    # "rounds", "batches" or "seconds"
    every: float = 1


def read_checkpointing(value: Any) -> list[Spec]:
    """The option's value as specs (none for None); errors say what is expected."""
    if value is S("None") or value is None:
        return []
    items = list_items(value) if is_list(value) else None
    if items and all(is_list(i) for i in items):
        return [s for i in items for s in read_checkpointing(i)]
    if not items or len(items) < 2 or items[0] not in ("File", "Directory") \
            or not isinstance(items[1], str):
        raise error("invchkspec", f"The value of the TrainingProgressCheckpointing option "
                                  f"should be a spec of the form {{\"File\"|\"Directory\", "
                                  f"\"path\"}}, not {input_form(value)[:80]}.")
    spec = Spec(items[0], items[1])
    for r in items[2:]:
        key = r.args[0] if is_rule(r) else None
        key = key.name if isinstance(key, Symbol) else key
        if key == "Interval":
            spec.unit, spec.every = _interval(r.args[1])
        elif key == "Format":
            if not (isinstance(r.args[1], str) and r.args[1].lower() == "safetensors"):
                raise error("invchkext", f"\"{r.args[1]}\" is not a valid format for "
                                         f"checkpointing; netdsl writes \"safetensors\".")
        else:
            raise error("invchkspec", f"{input_form(r)[:60]} is not a TrainingProgress"
                                      f"Checkpointing option; options: \"Interval\", \"Format\".")
    return [spec]


def _interval(v: Any) -> tuple[str, float]:
    if isinstance(v, Expr) and v.head is S("Quantity") and len(v.args) == 2 \
            and is_number(v.args[0]) and v.args[0] > 0 and v.args[1] in UNITS:
        unit = UNITS[v.args[1]]
        if isinstance(unit, float):
            return "seconds", float(v.args[0]) * unit
        if v.args[0] != int(v.args[0]):
            raise error("invchkint", f"{input_form(v)}: a number of {unit} must be a whole "
                                     f"number.")
        return str(unit), int(v.args[0])
    raise error("invchkint", f"The \"Interval\" of TrainingProgressCheckpointing should be "
                             f"Quantity[n, \"Rounds\" | \"Batches\" | \"Seconds\" | \"Minutes\" | "
                             f"\"Hours\"], not {input_form(v)[:60]}.")


class Checkpointer:
    """Decides when a checkpoint is due and writes it with ``save(net, path)``."""

    def __init__(self, specs: list[Spec], save: Callable[[Any, str], None],
                 resolve: Callable[[str], str], snapshot: Callable[[], Any],
                 max_rounds: int | None, batches_per_round: int):
        global _runs
        _runs += 1
        self.save = save
        self.snapshot = snapshot      # the net as trained so far
        self.specs = []
        stamp = datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
        self.round_digits = _digits(max_rounds)
        self.batch_digits = _digits(None if max_rounds is None
                                    else max_rounds * batches_per_round)
        for spec in specs:
            path = resolve(spec.path)
            if spec.kind == "File":
                parent = Path(path).parent
                if not parent.is_dir():
                    raise error("invchkfile", "The value of the \"File\" parameter to "
                                              "TrainingProgressCheckpointing should specify a "
                                              "file in a directory that already exists.")
            else:
                p = Path(path)
                if not p.is_dir():
                    if not p.parent.is_dir():
                        raise error("invchkdir", "The value of the \"Directory\" parameter to "
                                                 "TrainingProgressCheckpointing should be a "
                                                 "directory that already exists.")
                    p.mkdir()
            self.specs.append((spec, path, f"{stamp}_{_runs}_"))
        self.last = {id(s): (0, 0, time.perf_counter()) for s, _, _ in self.specs}
        self.files: list[str] = []

    def after_batch(self, round_: int, batch: int) -> None:
        self._maybe(False, round_, batch, None, None)

    def after_round(self, round_: int, batch: int, loss: float | None,
                    vloss: float | None) -> None:
        self._maybe(True, round_, batch, loss, vloss)

    def _maybe(self, round_end: bool, round_: int, batch: int, loss, vloss) -> None:
        net = None
        for spec, path, prefix in self.specs:
            r0, b0, t0 = self.last[id(spec)]
            now = time.perf_counter()
            due = (spec.unit == "rounds" and round_end and round_ - r0 >= spec.every
                   or spec.unit == "batches" and batch - b0 >= spec.every
                   or spec.unit == "seconds" and now - t0 >= spec.every)
            if not due:
                continue
            self.last[id(spec)] = (round_, batch, now)
            net = net if net is not None else self.snapshot()
            if spec.kind == "Directory":
                name = (f"{prefix}{round_:0{self.round_digits}d}_{batch:0{self.batch_digits}d}"
                        f"_{_loss(loss)}" + (f"_{_loss(vloss)}" if vloss is not None else "")
                        + EXTENSION)
                target = os.path.join(path, name)
            else:
                target = path
            self.save(net, target)
            self.files.append(target)


def _digits(n: int | None) -> int:
    """Wolfram's base10Digits: 7 for an unknown count."""
    return 7 if n is None else int(math.floor(1 + math.log10(max(n, 1))))


def _loss(x: float | None) -> str:
    return "none" if x is None or not math.isfinite(x) else f"{x:.2e}"
