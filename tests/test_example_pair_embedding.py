"""examples/pair_embedding.wl runs as a script: NetPairEmbeddingOperator with a
FunctionLayer learns an embedding of the digits in which same-digit pairs are closer
than different-digit pairs (held out), and netdsl check reads it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "pair_embedding.wl"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["NETDSL_HISTORY"] = str(cwd / "history")
    return subprocess.run([sys.executable, "-m", "netdsl", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


def test_pair_embedding_example_separates_digits(tmp_path):
    r = run(str(EXAMPLE), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    same = float(re.search(r"same digit: (\S+)", r.stdout).group(1))
    different = float(re.search(r"different digits: (\S+)", r.stdout).group(1))
    ordered = float(re.search(r"fraction of cases: (\S+)", r.stdout).group(1))
    assert 0 <= same < different <= 4      # unit-length embeddings: squared distance <= 4
    assert ordered > 0.85
    assert "the embedding net alone: {3, 8}" in r.stdout
    check = run("check", str(EXAMPLE), cwd=tmp_path)
    assert check.returncode == 0, check.stderr
