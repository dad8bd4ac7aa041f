"""The netdsl command run as a user runs it (a fresh process, this checkout first on the
path, a throwaway REPL history), for the tests of the examples and the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def netdsl_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["NETDSL_HISTORY"] = str(tmp / "history")
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run_netdsl(*args: str, cwd: Path, timeout: float = 600,
               stdin: str | None = None) -> subprocess.CompletedProcess:
    """``netdsl ARGS`` in the folder ``cwd`` (relative paths in a script still resolve
    against the script's own folder)."""
    return subprocess.run([sys.executable, "-m", "netdsl", *args], input=stdin,
                          capture_output=True, text=True, cwd=cwd, env=netdsl_env(cwd),
                          timeout=timeout)
