"""examples/pair_embedding.wl runs as a script: NetPairEmbeddingOperator with a
FunctionLayer learns an embedding of the digits in which same-digit pairs are closer
than different-digit pairs (held out), and netdsl check reads it."""

from __future__ import annotations

import re

from cli_runner import EXAMPLES, run_netdsl

EXAMPLE = EXAMPLES / "pair_embedding.wl"


def test_pair_embedding_example_separates_digits(tmp_path):
    r = run_netdsl(str(EXAMPLE), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    same = float(re.search(r"same digit: (\S+)", r.stdout).group(1))
    different = float(re.search(r"different digits: (\S+)", r.stdout).group(1))
    ordered = float(re.search(r"fraction of cases: (\S+)", r.stdout).group(1))
    assert 0 <= same < different <= 4      # unit-length embeddings: squared distance <= 4
    assert ordered > 0.85
    assert "the embedding net alone: {3, 8}" in r.stdout
    check = run_netdsl("check", str(EXAMPLE), cwd=tmp_path)
    assert check.returncode == 0, check.stderr
