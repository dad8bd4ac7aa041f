"""TrainingProgressReporting -> f (Wolfram: "Function[...] display a custom dynamically
updated result", every round unless an "Interval" is given): f's result is printed."""

from __future__ import annotations

import io

import netdsl

TRAIN = ('NetTrain[LinearLayer[1, "Input" -> 1], {{1.} -> {2.}, {2.} -> {4.}}, '
         'MaxTrainingRounds -> 4, ')


def printed(option: str) -> list[str]:
    out = io.StringIO()
    netdsl.Session(stdout=out).evaluate(TRAIN + option + "];")
    return out.getvalue().splitlines()


def test_a_function_is_shown_every_round():
    assert printed("TrainingProgressReporting -> Function[{#Round, #RoundLoss >= 0}]") == \
        ["{1, True}", "{2, True}", "{3, True}", "{4, True}"]


def test_an_interval_and_other_specs_alongside(capsys):
    assert printed('TrainingProgressReporting -> {Function[#Round], "Interval" -> '
                   'Quantity[2, "Rounds"]}') == ["2", "4"]
    lines = printed('TrainingProgressReporting -> {"Print", Function[x, x["Round"] * 10]}, '
                    'TrainingProgressFunction -> Function[Null]')
    assert lines == ["10", "20", "30", "40"]
    assert "round 4/4" in capsys.readouterr().err      # "Print": the progress lines too
