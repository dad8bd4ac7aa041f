"""examples/unet.wl runs as a script and its U-Net (DeconvolutionLayer, CatenateLayer,
PaddingLayer, PartLayer) learns: the loss falls and the held-out pixel error beats
rounding the noisy input."""

from __future__ import annotations

import re
from cli_runner import EXAMPLES, run_netdsl


def test_unet_example_trains(tmp_path):
    r = run_netdsl(str(EXAMPLES / "unet.wl"), cwd=tmp_path)
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
