"""The training examples run as scripts: ``netdsl examples/train_digits.wl`` (the
Applications example of BatchNormalizationLayer: the same conv net with and without
batch normalization on the UCI digits) and ``netdsl examples/shared_arrays.wl`` (§3.6
item 14: a BatchNormalizationLayer with shared arrays used twice)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import netdsl
from cli_runner import EXAMPLES, run_netdsl


def run_script(name: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """``netdsl examples/NAME`` from another folder: relative paths in the script resolve
    against the script's own folder."""
    return run_netdsl(str(EXAMPLES / name), cwd=tmp_path, timeout=900)


def number(text: str) -> float:
    return float(text.replace("*^", "e"))


def parse_digits_output(out: str):
    rows = re.findall(r"^(\d+)\s+(\S+)\s+(\S+)$", out, flags=re.M)
    bn = np.array([number(a) for _, a, _ in rows])
    plain = np.array([number(b) for _, _, b in rows])
    assert [int(r) for r, _, _ in rows] == list(range(1, len(rows) + 1))
    acc = re.search(r"held-out accuracy:  with BN (\S+), without BN (\S+)", out)
    first = re.search(r"first round with loss < 0.5:  with BN (\S+), without BN (\S+)", out)
    return bn, plain, (number(acc.group(1)), number(acc.group(2))), first.groups()


def test_train_digits_script(tmp_path):
    r = run_script("train_digits.wl", tmp_path)
    assert r.returncode == 0, r.stderr
    # off a terminal, progress is one plain line per round (no bar redrawn with \r)
    assert "\r" not in r.stderr
    assert all(line.startswith("round ") for line in r.stderr.splitlines())
    assert "training examples: 1497, held-out examples: 300" in r.stdout
    bn, plain, (acc_bn, acc_plain), (first_bn, first_plain) = parse_digits_output(r.stdout)
    assert len(bn) == len(plain) == 20
    # both learn (ten classes: the loss starts near Log[10] = 2.3)
    assert 1.5 < bn[0] < 3 and 1.5 < plain[0] < 3
    assert bn[-1] < 0.1 and plain[-1] < 0.15
    # the net with batch normalization learns faster: lower loss from round 2 on, and
    # well below on the early rounds
    assert np.all(bn[1:] < plain[1:])
    assert np.all(bn[1:5] < 0.8 * plain[1:5])
    assert int(first_bn) < int(first_plain)
    assert acc_bn > 0.9 and acc_plain > 0.85 and acc_bn >= acc_plain


def digits_session(rounds: int, seed: int) -> netdsl.Session:
    """The script itself, with fewer rounds or another seed, in this process."""
    text = (EXAMPLES / "train_digits.wl").read_text(encoding="utf-8")
    assert "rounds = 20;" in text and "RandomSeeding -> 1234" in text
    text = text.replace("rounds = 20;", f"rounds = {rounds};")
    text = text.replace("RandomSeeding -> 1234", f"RandomSeeding -> {seed}")
    s = netdsl.Session(stdout=open(os.devnull, "w"))
    s.base_dir = str(EXAMPLES)
    for _ in s.run(text, "train_digits.wl"):
        pass
    return s


def losses(s: netdsl.Session, name: str) -> np.ndarray:
    return np.asarray(netdsl.expr.to_ndarray(s.evaluate(name)), np.float64)


@pytest.mark.parametrize("seed", [1234, 1, 2])
def test_batchnorm_loss_drops_faster_on_the_first_rounds(seed):
    s = digits_session(rounds=3, seed=seed)
    bn, plain = losses(s, "lossBN"), losses(s, "lossPlain")
    assert len(bn) == len(plain) == 3
    assert bn[1] < 0.8 * plain[1] and bn[2] < 0.7 * plain[2]
    assert bn[2] < bn[1] < bn[0] and plain[2] < plain[1] < plain[0]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batchnorm_advantage_holds_for_other_seeds(seed):
    s = digits_session(rounds=20, seed=seed)
    bn, plain = losses(s, "lossBN"), losses(s, "lossPlain")
    assert np.all(bn[1:] < plain[1:])
    acc = [s.evaluate(f'accuracy[{r}["TrainedNet"], testX, testY]')
           for r in ("resultBN", "resultPlain")]
    assert acc[0] > 0.9 and acc[1] > 0.85


def test_shared_arrays_script(tmp_path):
    r = run_script("shared_arrays.wl", tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert ("same Scaling: True, same Biases: True, same MovingMean: False, "
            "same MovingVariance: False") in out
    rows = {}
    for name in ("Scaling", "Biases", "MovingMean", "MovingVariance"):
        line = re.search(rf"^{name}\s+\{{(.*?)\}}\s+\{{(.*?)\}}$", out, flags=re.M)
        rows[name] = [np.array([number(v) for v in g.split(",")]) for g in line.groups()]
    assert np.array_equal(*rows["Scaling"]) and np.array_equal(*rows["Biases"])
    assert not np.allclose(*rows["MovingMean"]) and not np.allclose(*rows["MovingVariance"])
    # trained: the shared arrays moved from their initial ones and zeros
    assert not np.allclose(rows["Scaling"][0], 1) and not np.allclose(rows["Biases"][0], 0)
    assert 'shared "Scaling"' in out and "NetSharedArray[Scaling] -> {" in out
