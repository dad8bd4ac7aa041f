"""examples/unet.wl runs as a script and its U-Net (DeconvolutionLayer, CatenateLayer,
PaddingLayer, PartLayer) learns: the loss falls and the held-out pixel error beats
rounding the noisy input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_unet_example_trains(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["NETDSL_HISTORY"] = str(tmp_path / "history")
    r = subprocess.run([sys.executable, "-m", "netdsl", str(ROOT / "examples" / "unet.wl")],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "output of the untrained net: {2, 8, 8}" in out
    first = float(re.search(r"first round loss: (\S+)", out).group(1))
    last = float(re.search(r"last round loss: (\S+)", out).group(1))
    net_err = float(re.search(r"held-out pixel error rate: (\S+)", out).group(1))
    noise_err = float(re.search(r"noise alone \(Round of the noisy pixels\): (\S+)",
                                out).group(1))
    assert last < 0.6 * first
    assert net_err < 0.6 * noise_err
