"""examples/ctc_digits.wl runs as a script: a bidirectional GRU trained with CTCLossLayer
on strings of 1-4 digits (targets without positions) reads most held-out strings
exactly, and the beam-search decoder lists readings by exact -Log P."""

from __future__ import annotations

import re

from cli_runner import EXAMPLES, run_netdsl

EXAMPLE = EXAMPLES / "ctc_digits.wl"


def test_ctc_example_reads_held_out_digit_strings(tmp_path):
    r = run_netdsl(str(EXAMPLE), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    exact = float(re.search(r"read exactly: (\S+)", r.stdout).group(1))
    assert exact > 0.6            # chance is far below 1%: 1-4 digits, ten classes each
    beam = re.search(r"three best readings of the second: (.*)", r.stdout).group(1)
    nll = [float(v) for v in re.findall(r"-> ([0-9.eE+-]+)", beam)]
    assert len(nll) == 3 and nll == sorted(nll) and nll[0] >= 0
    check = run_netdsl("check", str(EXAMPLE), cwd=tmp_path)
    assert check.returncode == 0, check.stderr
