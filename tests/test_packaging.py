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
    for init in _package_inits():
        assert init in names


def _package_inits() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "netdsl").rglob("__init__.py"))


def test_pyproject_lists_every_package():
    """The package list in pyproject.toml is explicit (the grammar folder is mapped into
    the package), so a new subpackage must be added there or the wheel silently lacks it."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {init.rsplit("/", 1)[0].replace("/", ".") for init in _package_inits()}
    assert on_disk <= listed, f"add to pyproject.toml packages: {sorted(on_disk - listed)}"
