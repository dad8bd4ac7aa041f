"""The wheel carries the grammar, so a non-editable ``pip install .`` works."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_grammar_and_packages(tmp_path):
    # with build isolation: pip fetches the build backend as a fresh install would
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True, timeout=600)
    (wheel,) = tmp_path.glob("netdsl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "netdsl/grammar/wolfram.lark" in names
    for pkg in ("syntax", "builtins", "layers", "graph", "runtime", "runtime/train", "formats"):
        assert f"netdsl/{pkg}/__init__.py" in names
