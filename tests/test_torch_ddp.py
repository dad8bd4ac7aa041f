"""examples/ddp_train.py under torchrun with 2 CPU processes (gloo, loopback): every rank
ends with the same arrays, and they are NetTrain's on the global batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import netdsl

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ADAM", "SGD"])
def test_ddp_two_processes_equal_nettrain(tmp_path, method):
    import ddp_train
    rounds = 4
    x, y = ddp_train.synthetic_data(32)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(ROOT / "examples" / "ddp_train.py"), "--data", str(tmp_path / "data.npz"),
         "--rounds", str(rounds), "--batch-size", "32", "--method", method,
         "--learning-rate", "0.01", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [dict(np.load(tmp_path / "out" / f"rank{r}.npz")) for r in (0, 1)]
    for k in ranks[0]:
        np.testing.assert_array_equal(ranks[0][k], ranks[1][k], err_msg=k)

    s = netdsl.Session()
    s["net"] = s.evaluate(f"NetInitialize[{ddp_train.NET}, RandomSeeding -> 1234]")
    s["x"], s["y"] = x, y
    trained = s.evaluate(f'NetTrain[net, x -> y, BatchSize -> 32, MaxTrainingRounds -> {rounds}, '
                         f'Method -> "{method}", LearningRate -> 0.01, '
                         f'TrainingProgressReporting -> None]')
    checked = 0
    for path, layer in trained.leaves():
        for name, value in layer.arrays.items():
            if not hasattr(value, "shape"):
                continue
            key = "/".join(("net",) + path + (name,))
            mine = ranks[0].get("arrays." + key, ranks[0].get("moving/" + key))
            np.testing.assert_allclose(mine, value, atol=1e-5, rtol=1e-5, err_msg=key)
            checked += 1
    assert checked == 8       # conv W, b; BN scaling, biases, moving mean, variance; linear W, b
    back = s.evaluate((tmp_path / "out" / "trained.wl").read_text())   # rank 0's net as text
    np.testing.assert_allclose(back(x[:4]), trained(x[:4]), atol=1e-4)
