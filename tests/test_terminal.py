"""Files and terminals: whatever the other end of stdout is, the user sees no traceback.

A reader that goes away (``netdsl f.wl | head -1``), a terminal that is not UTF-8,
Python warnings raised inside NumPy, and ``Quit`` with a bad argument: each gives
netdsl's own output, never Python's. Every case runs the real command.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from netdsl import Session

ROOT = Path(__file__).resolve().parents[1]


def env(**extra: str) -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), e.get("PYTHONPATH")]))
    e.pop("PYTHONWARNINGS", None)
    e.update(extra)
    return e


def netdsl(*args: str, cwd: Path, stdin: str | None = None, **extra: str):
    return subprocess.run([sys.executable, "-m", "netdsl", *args], capture_output=True,
                          cwd=cwd, env=env(**extra), timeout=120,
                          input=None if stdin is None else stdin.encode("utf-8"))


def no_python(stderr: bytes) -> None:
    text = stderr.decode("utf-8", "replace")
    for sign in ("Traceback", "Exception ignored", "Warning:", "internal error"):
        assert sign not in text, text


# ---------------------------------------------------------------- a closed stdout
@pytest.mark.parametrize("args", [["many.wl"], ["check", "many.wl"],
                                  ["-c", "Table[Print[i], {i, 30000}]; Range[10^5]"]])
def test_a_reader_that_goes_away_stops_the_run_quietly(tmp_path, args):
    (tmp_path / "many.wl").write_text("Table[Print[i], {i, 30000}];\nRange[10^5]\n",
                                      encoding="utf-8")
    p = subprocess.Popen([sys.executable, "-m", "netdsl", *args], cwd=tmp_path, env=env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    first = p.stdout.readline()
    p.stdout.close()                                  # `| head -1`
    err = p.stderr.read()
    code = p.wait(timeout=120)
    assert first.strip() in (b"1", b"many.wl:2: output of dimensions {100000}") or first
    no_python(err)
    assert code in (0, 1)


def test_a_closed_pipe_from_the_repl(tmp_path):
    (tmp_path / "input").write_bytes(b"Range[10]\n" * 20000)
    with open(tmp_path / "input", "rb") as stdin:
        p = subprocess.Popen([sys.executable, "-m", "netdsl"], cwd=tmp_path, env=env(),
                             stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read()
    p.wait(timeout=120)
    no_python(err)


# ---------------------------------------------------------------- a terminal that is not UTF-8
TEXT = 'Print["arrow \u2192 \u65e5\u672c"];\n"\u00fcber"\nImport["\u65e5\u672c.csv"]\n'


@pytest.mark.parametrize("extra, encoding", [
    ({"PYTHONIOENCODING": "latin-1"}, "latin-1"),
    ({"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}, "ascii"),
])
def test_output_a_terminal_cannot_encode_is_escaped(tmp_path, extra, encoding):
    (tmp_path / "u.wl").write_text(TEXT, encoding="utf-8")
    r = netdsl("u.wl", cwd=tmp_path, **extra)
    no_python(r.stderr)
    assert r.returncode == 1  # the Import of a missing file, reported as usual
    out = r.stdout.decode(encoding).splitlines()
    assert out[0] == "arrow \\u2192 \\u65e5\\u672c"
    assert out[1] == ("Out[2]= \u00fcber" if encoding == "latin-1" else "Out[2]= \\xfcber")
    err = r.stderr.decode(encoding)
    assert "Import::nffil: File \\u65e5\\u672c.csv not found during Import." in err
    r = netdsl("-c", 'Print["\u2192"]', cwd=tmp_path, **extra)  # the argument, too
    assert r.returncode == 0 and r.stdout.decode(encoding) == "\\u2192\n", r.stderr
    r = netdsl(cwd=tmp_path, stdin=TEXT, **extra)
    no_python(r.stderr)
    assert "\\u2192" in r.stdout.decode(encoding)
    r = netdsl("check", "u.wl", cwd=tmp_path, **extra)
    no_python(r.stderr)
    assert "\\u65e5\\u672c.csv" in r.stderr.decode(encoding)


def test_a_library_session_writes_to_a_narrow_stream():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    Session(stdout=stream).evaluate('Print["\u2192 x"]')
    stream.flush()
    assert raw.getvalue() == b"\\u2192 x\n"


# ---------------------------------------------------------------- Python warnings
OVERFLOW = "x = {1.*^308, 1.} * 10.; x[[2]]"


@pytest.mark.parametrize("extra", [{}, {"PYTHONWARNINGS": "error"}, {"PYTHONWARNINGS": "always"}])
def test_numpy_warnings_become_netdsl_messages(tmp_path, extra):
    r = netdsl("-c", OVERFLOW, cwd=tmp_path, **extra)
    assert r.returncode == 0
    assert r.stdout == b"Out[1]= 10.\n"
    assert r.stderr == b"<input>:1:1: General::ovfl: Overflow occurred in computation.\n"
    (tmp_path / "o.wl").write_text("y = 1;\n" + OVERFLOW + "\n", encoding="utf-8")
    r = netdsl("o.wl", cwd=tmp_path, **extra)
    assert r.stderr == b"o.wl:2:1: General::ovfl: Overflow occurred in computation.\n"


def test_warnings_in_a_library_session_are_scoped_messages():
    err = io.StringIO()
    s = Session(stderr=err)
    filters = list(warnings.filters)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                # the caller's own policy...
        assert s.evaluate(OVERFLOW) == 10.0           # ...does not break evaluation
        s.evaluate("x - x")                           # Infinity - Infinity
    assert warnings.filters == filters                # and nothing global changed
    lines = err.getvalue().splitlines()
    assert lines == ["<input>:1:1: General::ovfl: Overflow occurred in computation.",
                     "<input>:1:1: General::indet: Indeterminate expression encountered; the "
                     "result holds Indeterminate (NaN) values."]
    # outside a session, NumPy warns as usual: netdsl changed no filter
    with pytest.warns(RuntimeWarning):
        np.array([1e308]) * 10.0


# ---------------------------------------------------------------- Quit
def test_quit_with_a_code_and_with_a_bad_argument(tmp_path):
    assert netdsl("-c", "Quit[2]", cwd=tmp_path).returncode == 2
    (tmp_path / "q.wl").write_text("Print[1];\nQuit[3];\nPrint[2]\n", encoding="utf-8")
    r = netdsl("q.wl", cwd=tmp_path)
    assert r.returncode == 3 and r.stdout == b"1\n"
    assert netdsl(cwd=tmp_path, stdin="Quit[4]\n1\n").returncode == 4
    for bad in ('"a"', "-1", "256", "2.5", "x"):
        r = netdsl("-c", f"Quit[{bad}]", cwd=tmp_path)
        assert r.returncode == 1, bad
        assert r.stderr.decode() == f"<input>:1:1: Quit::intnm: Integer between 0 and 255 " \
                                    f"expected at position 1 in Quit[{bad}].\n"
