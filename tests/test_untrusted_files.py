"""File access off, for files nobody has read: ``Session(files=False)``, ``netdsl --no-files``.

Every built-in that touches files asks one gate, ``Session.require_files``; with file
access off, Import and Export fail with ``nofiles`` and nothing is read or written.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from netdsl import EvaluationError, Session

ROOT = Path(__file__).resolve().parents[1]


def netdsl(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "netdsl", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=60, input=stdin)


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "d.csv").write_text("1,2\n3,4\n", encoding="utf-8")
    np.save(tmp_path / "a.npy", np.ones(3))
    return tmp_path


def refused(session: Session, text: str, fn: str) -> str:
    with pytest.raises(EvaluationError) as info:
        session.evaluate(text)
    assert (info.value.symbol, info.value.tag) == (fn, "nofiles"), info.value.message
    return info.value.text


@pytest.mark.parametrize("text, fn", [
    ('Import["d.csv"]', "Import"),
    ('Import["a.npy"]', "Import"),
    ('Import["d.csv", "CSV"]', "Import"),
    ('Import["whatever.xyz"]', "Import"),        # refused before the format is even looked at
    ('Export["out.csv", {1, 2}]', "Export"),
    ('Export["out.npy", {1., 2.}]', "Export"),
    ('Export["out", {1}, "CSV"]', "Export"),
    ('Get["d.csv"]', "Get"),
    ('NetTrain[NetChain[{LinearLayer[1]}, "Input" -> 1], {{1.} -> {1.}}, '
     'TrainingProgressCheckpointing -> {"File", "c.safetensors"}]', "NetTrain"),
])
def test_a_session_without_files_refuses_every_file_access(folder, text, fn):
    s = Session(files=False, stdout=io.StringIO())
    s.base_dir = str(folder)
    before = sorted(p.name for p in folder.iterdir())
    msg = refused(s, text, fn)
    assert "File access is turned off" in msg and fn in msg
    assert sorted(p.name for p in folder.iterdir()) == before


def test_the_gate_is_one_session_method(folder):
    s = Session(files=False)
    with pytest.raises(EvaluationError) as info:
        s.require_files("Get")
    assert info.value.message.startswith("Get::nofiles: File access is turned off")
    Session().require_files("Get")          # files on: nothing happens
    s = Session(stdout=io.StringIO())
    s.base_dir = str(folder)
    assert s.evaluate('Dimensions[Import["d.csv"]]').tolist() == [2, 2]


def test_everything_else_still_runs_without_files():
    s = Session(files=False, stdout=io.StringIO())
    assert s.evaluate('net = NetInitialize@NetChain[{LinearLayer[2]}, "Input" -> 3]; '
                      "Dimensions[net[{{1, 2, 3}}]]").tolist() == [1, 2]


def test_command_line_no_files(folder):
    (folder / "s.wl").write_text('x = Import["d.csv"];\nExport["out.csv", x]\n',
                                 encoding="utf-8")
    r = netdsl("s.wl", cwd=folder)
    assert r.returncode == 0 and (folder / "out.csv").exists(), r.stderr
    (folder / "out.csv").unlink()
    r = netdsl("--no-files", "s.wl", cwd=folder)
    assert r.returncode == 1
    assert r.stderr.startswith("s.wl:1:5: Import::nofiles: File access is turned off")
    (folder / "t.wl").write_text('Export["out.csv", {1, 2}]\n', encoding="utf-8")
    r = netdsl("--no-files", "t.wl", cwd=folder)
    assert r.returncode == 1 and "Export::nofiles" in r.stderr
    r = netdsl("--no-files", "-c", 'Export["out.csv", {1}]', cwd=folder)
    assert r.returncode == 1 and "Export::nofiles" in r.stderr
    r = netdsl("--no-files", cwd=folder, stdin='Export["out.csv", {1}]\n1 + 1\n')
    assert "Export::nofiles" in r.stderr and "Out[2]= 2" in r.stdout
    r = netdsl("check", "--no-files", "s.wl", cwd=folder)
    assert r.returncode == 1 and "error: Import::nofiles" in r.stderr
    assert not (folder / "out.csv").exists()
