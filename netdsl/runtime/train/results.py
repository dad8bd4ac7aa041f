"""What NetTrain returns besides the net: the results object and its properties."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import EvaluationError
from ...expr import Association, Opaque, Symbol, is_list, list_items, make_list, packed
from ...layers.base import AbstractArray, Net
from .common import error
from .plot import loss_plot

S = Symbol


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
    method: str = "ADAM"
    initial_learning_rate: float = 0.0
    final_learning_rate: float = 0.0
    final_net: Any = None              # with a ValidationSet: the net after the last round
    validation_measurements: list[dict[str, Any]] = field(default_factory=list)
    multipliers: Any = None            # every array's learning-rate multiplier, by position
    training_net: Any = None           # the net with its losses attached, as trained
    checkpoint_files: list[str] = field(default_factory=list)



class TrainResults(Opaque):
    """``NetTrain[net, data, All]``: results["TrainedNet"], results["RoundLossList"], ..."""

    head_name = "NetTrainResultsObject"

    def __init__(self, props: dict[str, Any]):
        self.props = props

    def apply(self, ev, args):
        if len(args) == 1 and is_list(args[0]) and all(isinstance(p, str)
                                                       for p in list_items(args[0])):
            return make_list(property_value(self.props, p) for p in list_items(args[0]))
        if len(args) != 1 or not isinstance(args[0], str):
            raise error("prop", "Use results[\"property\"] with a property name, or a list of "
                                "them.")
        return property_value(self.props, args[0])

    def input_form(self) -> str:
        return "NetTrainResultsObject[<>]"

    def output_form(self) -> str:
        p = self.props
        return (f"NetTrainResultsObject  (rounds {p['TotalRounds']}, final round loss "
                f"{p['RoundLoss']}, {p['TotalTrainingTime']:.3g} s)")

    def __repr__(self) -> str:
        return self.output_form()

    def _repr_html_(self) -> str:
        """Jupyter: the main figures as a table, and the loss plot when matplotlib is here."""
        return results_html(self.props)


PROPERTIES = ("TrainedNet", "RoundLoss", "RoundLossList", "BatchLossList", "ValidationLoss",
              "ValidationLossList", "TotalTrainingTime", "MeanExamplesPerSecond", "TotalRounds",
              "BatchSize", "ReasonTrainingStopped", "LossPlot", "LossEvolutionPlot",
              "TotalBatches", "ExamplesProcessed", "MeanBatchesPerSecond", "BatchesPerRound",
              "TrainingExamples", "ValidationExamples", "BestValidationRound",
              "OptimizationMethod", "InitialLearningRate", "FinalLearningRate", "TargetDevice",
              "ArraysLearningRateMultipliers",
              "FinalNet", "RoundMeasurements", "RoundMeasurementsLists",
              "ValidationMeasurements", "ValidationMeasurementsLists", "BatchMeasurements",
              "BatchMeasurementsLists", "RoundPositions", "ValidationPositions", "TrainingNet",
              "CheckpointingFiles", "NetTrainInputForm", "Properties")


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
        **_common(h),
        "$history": h,
        "$final": h.final_net if h.final_net is not None else net,
    }


def _common(h: History) -> dict[str, Any]:
    """Properties that need no numbers from the run (and the measurement associations:
    netdsl measures the loss, under the key "Loss")."""
    def assoc(v: Any) -> Association:
        return Association([("Loss", v, False)])

    def lst(xs: list[float]) -> Any:
        return packed(np.array(xs)) if xs else make_list([])
    return {
        "OptimizationMethod": h.method,
        "InitialLearningRate": h.initial_learning_rate,
        "FinalLearningRate": h.final_learning_rate,
        "TargetDevice": "CPU",
        "ArraysLearningRateMultipliers": h.multipliers if h.multipliers is not None
        else Association([]),
        "RoundMeasurements": assoc(h.round_losses[-1]) if h.round_losses else Association([]),
        "RoundMeasurementsLists": assoc(lst(h.round_losses)),
        "ValidationMeasurements": _validation(h, assoc(h.validation_losses[-1]))
        if h.validation_losses else S("None"),
        "ValidationMeasurementsLists": _validation_lists(h, assoc(lst(h.validation_losses)))
        if h.validation_losses else S("None"),
        "BatchMeasurements": assoc(h.batch_losses[-1]) if h.batch_losses else Association([]),
        "BatchMeasurementsLists": assoc(lst(h.batch_losses)),
        "RoundPositions": make_list([r * h.batches_per_round for r in range(1, h.rounds + 1)]),
        "TrainingNet": h.training_net if h.training_net is not None else S("None"),
        "CheckpointingFiles": make_list(h.checkpoint_files),
        "ValidationPositions": make_list([r * h.batches_per_round for r in
                                          range(1, len(h.validation_losses) + 1)]),
        "Properties": make_list(sorted(PROPERTIES)),
    }


def _validation(h: History, loss: Association) -> Association:
    """<|"Loss" -> ..., measurement -> value, ...|> for the last validation."""
    extra = h.validation_measurements[-1] if h.validation_measurements else {}
    return Association(list(loss.rules) + [(k, v, False) for k, v in extra.items()])


def _validation_lists(h: History, loss: Association) -> Association:
    """Every measurement's values, one per validation."""
    keys = list(h.validation_measurements[0]) if h.validation_measurements else []
    return Association(list(loss.rules) + [
        (k, make_list([m[k] for m in h.validation_measurements]), False) for k in keys])


def _abstract_results(net: Net, h: History) -> dict[str, Any]:
    """Under netdsl check: the sizes of the results, no numbers."""
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
        "BestValidationRound": scalar if validated else S("None"),
        **{k: v for k, v in _common(h).items() if "Measurements" not in k},
        "RoundMeasurements": Association([("Loss", scalar, False)]),
        "ValidationMeasurements": Association([("Loss", scalar, False)]) if validated
        else S("None"),
        "$history": h,
    }


# names of Wolfram 11.x, still in its own code (the NetTrain benchmark reads them)
OLD_NAMES = {"MeanInputsPerSecond": "MeanExamplesPerSecond",
             "TotalInputs": "ExamplesProcessed", "InputsProcessed": "ExamplesProcessed"}


def property_value(props: dict[str, Any], name: str) -> Any:
    name = OLD_NAMES.get(name, name)
    if name in ("LossPlot", "LossEvolutionPlot"):
        return loss_plot(props["$history"])
    if name == "FinalNet":   # the net after the last round (TrainedNet: the best one)
        return props.get("$final", props["TrainedNet"])
    if name not in props or name.startswith("$"):
        raise error("prop", f'"{name}" is not a NetTrain property; known properties: '
                            f"{', '.join(PROPERTIES)}.")
    return props[name]




MAIN_FIGURES = ("TotalRounds", "RoundLoss", "ValidationLoss", "TotalTrainingTime",
                "MeanExamplesPerSecond", "BatchSize", "ExamplesProcessed",
                "ReasonTrainingStopped", "OptimizationMethod")


def results_html(props: dict[str, Any]) -> str:
    from html import escape
    rows = []
    for key in MAIN_FIGURES:
        v = props.get(key)
        if v is None or v is S("None"):
            continue
        text = f"{v:.4g}" if isinstance(v, float) else str(v)
        rows.append(f"<tr><th style='text-align:left'>{escape(key)}</th>"
                    f"<td style='text-align:left'>{escape(text)}</td></tr>")
    out = ("<div><b>NetTrainResultsObject</b><table>" + "".join(rows) + "</table>")
    h = props.get("$history")
    if isinstance(h, History) and h.batch_losses:
        try:
            png = loss_plot(h).png
        except EvaluationError:   # no matplotlib: the table alone, and how to get the plot
            out += "<p><i>loss plot: pip install 'netdsl[plot]'</i></p>"
        else:
            import base64
            out += (f"<img alt='loss plot' src='data:image/png;base64,"
                    f"{base64.b64encode(png).decode()}'/>")
    return out + "</div>"
