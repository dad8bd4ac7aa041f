"""TrainingProgressReporting -> File["log.csv"] (a CSV row per round), the other
Wolfram specs, and an unknown spec as an error rather than silently ignored."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

import netdsl
from netdsl.check import check_text
from netdsl.errors import NetDSLError


def session(tmp_path):
    s = netdsl.Session()
    s.base_dir = str(tmp_path)
    rng = np.random.default_rng(0)
    s["x"] = rng.standard_normal((8, 2)).astype(np.float32)
    s["y"] = rng.standard_normal((8, 1)).astype(np.float32)
    s.evaluate('net = NetChain[{LinearLayer[1]}, "Input" -> 2];')
    return s


def test_a_csv_row_per_round_with_the_losses_of_the_results(tmp_path):
    s = session(tmp_path)
    r = s.evaluate('r = NetTrain[net, x -> y, All, MaxTrainingRounds -> 3, BatchSize -> 4, '
                   'ValidationSet -> {{0.5, 0.5} -> {1.}}, '
                   'TrainingProgressReporting -> File["log.csv"]]')
    assert r is not None
    with open(tmp_path / "log.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Round", "Batches", "ExamplesProcessed", "TimeElapsed", "RoundLoss",
                       "ValidationLoss"]
    assert [row[:3] for row in rows[1:]] == [["1", "2", "8"], ["2", "4", "16"], ["3", "6", "24"]]
    losses = np.asarray(s.evaluate('r["RoundLossList"]'), float)
    np.testing.assert_allclose([float(row[4]) for row in rows[1:]], losses, rtol=1e-12)
    vlosses = np.asarray(s.evaluate('r["ValidationLossList"]'), float)
    np.testing.assert_allclose([float(row[5]) for row in rows[1:]], vlosses, rtol=1e-12)


@pytest.mark.parametrize("spec", ['"SimplePrint"', '"SimplePanel"', '"ProgressIndicator"',
                                  '{"Print", "Interval" -> Quantity[2, "Rounds"]}',
                                  '{"Print", File["both.csv"]}'])
def test_wolframs_other_specs_are_accepted(spec, tmp_path, capsys):
    s = session(tmp_path)
    s.evaluate(f"NetTrain[net, x -> y, MaxTrainingRounds -> 2, TrainingProgressReporting -> "
               f"{spec}];")
    if "both.csv" in spec:
        assert (tmp_path / "both.csv").exists() and "round 2/2" in capsys.readouterr().err


def test_an_unknown_spec_is_an_error_and_check_writes_no_log(tmp_path):
    s = session(tmp_path)
    with pytest.raises(NetDSLError) as e:
        s.evaluate('NetTrain[net, x -> y, TrainingProgressReporting -> "Foo"]')
    assert e.value.tag == "progrep"
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "s.wl"
    rc = check_text('net = NetChain[{LinearLayer[1]}, "Input" -> 2];\n'
                    't = NetTrain[net, {{1., 2.} -> {3.}}, MaxTrainingRounds -> 1, '
                    'TrainingProgressReporting -> File["never.csv"]];\n', str(path), out, err)
    assert rc == 0, err.getvalue()
    assert not (tmp_path / "never.csv").exists()
