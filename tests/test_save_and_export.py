"""examples/save_and_export.wl: train, save, load, export to ONNX; then the ONNX model
run in onnxruntime gives netdsl's outputs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import netdsl

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    pytest.importorskip("onnx", reason="the example exports ONNX: pip install 'netdsl[onnx]'")
    d = tmp_path_factory.mktemp("example")
    shutil.copy(ROOT / "examples" / "save_and_export.wl", d)
    (d / "data").mkdir()
    shutil.copy(ROOT / "examples" / "data" / "digits.npz", d / "data")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["NETDSL_HISTORY"] = str(d / "history")
    out = subprocess.run([sys.executable, "-m", "netdsl", str(d / "save_and_export.wl")],
                         capture_output=True, text=True, cwd=d, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    return d, out.stdout


def test_script_output(ran):
    d, out = ran
    assert "loaded net equals the trained net: True" in out
    assert "same outputs: True" in out
    assert "text form read back equals the net: True" in out
    assert "conv/Weights" in out and "bn/MovingMean" in out
    accuracy = float(out.split("held-out accuracy of the loaded net: ")[1].split()[0])
    assert accuracy > 0.7
    assert len(list((d / "checkpoints").iterdir())) == 5


def test_onnx_model_gives_netdsl_outputs(ran):
    ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime: pip install 'netdsl[onnx]'")
    d, _ = ran
    net = netdsl.load(d / "digits.safetensors")
    x = np.load(d / "data" / "digits.npz")["images"][1497:].astype(np.float32) / 16
    sess = ort.InferenceSession(str(d / "digits.onnx"))
    got = sess.run(None, {"Input": x})[0]
    want = net(x)
    assert got.shape == want.shape == (300, 10)
    assert np.max(np.abs(got - want)) <= 1e-5
    assert np.array_equal(got.argmax(1), want.argmax(1))
