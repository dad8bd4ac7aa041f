"""``netdsl examples/net_operations.wl`` runs and its printed numbers agree with each other:
early stopping with "Patience" -> 5 stops 6 rounds after the best validation round, and the
accuracy is the confusion matrix's trace over the 180 examples."""

from __future__ import annotations

import re

import numpy as np
from cli_runner import EXAMPLES, run_netdsl


def test_net_operations_example(tmp_path):
    run = run_netdsl(str(EXAMPLES / "net_operations.wl"), cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    stop = re.search(r"stopped: (\w+) after (\d+) rounds; best validation round (\d+)", out)
    assert stop, out
    reason, rounds, best = stop.group(1), int(stop.group(2)), int(stop.group(3))
    if reason == "StoppingCriterion":
        assert rounds - best == 6
    else:
        assert reason == "MaxTrainingRoundsReached" and rounds == 200
    acc = float(re.search(r"accuracy ([\d.]+)", out).group(1))
    rows = re.search(r"confusion matrix \{(.*)\}", out).group(1)
    cm = np.array([[int(v) for v in r.split(",")] for r in re.findall(r"\{([^{}]*)\}", rows)])
    assert cm.shape == (3, 3) and cm.sum() == 180
    assert acc == np.trace(cm) / 180
    assert re.search(r"flattened layers: 6", out)
    assert re.search(r"d p1 / d input at the first point: \{\S+, \S+\}", out)


def test_net_operations_example_checks(tmp_path):
    """``netdsl check``: measurements and gradients give their dimensions, nothing runs."""
    run = run_netdsl("check", str(EXAMPLES / "net_operations.wl"), cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "confusion matrix <array of dimensions {3, 3}, not computed in check>" in run.stdout
    assert "d p1 / d input at the first point: <array of dimensions {2}, not computed in " \
           "check>" in run.stdout
    assert run.stdout.rstrip().endswith("net_operations.wl: ok")
