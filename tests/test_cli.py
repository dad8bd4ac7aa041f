"""The ``netdsl`` command, run as a real process (``python -m netdsl``)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netdsl import __version__
from netdsl.cli import main
from cli_runner import netdsl_env, run_netdsl

TIMEOUT = 30


def netdsl(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return run_netdsl(*args, cwd=tmp_path, timeout=TIMEOUT, stdin=stdin)


def write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return name


def test_file_prints_out_lines_print_output_and_suppresses_semicolon(tmp_path):
    f = write(tmp_path, "a.wl", 'x = 2;\nPrint["x is ", x]\nx^10\ny = {1, 2.5};\ny\n'
                                "Echo[3] + 1\n")
    r = netdsl(tmp_path, f)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["x is 2", "Out[3]= 1024", "Out[5]= {1, 2.5}", ">> 3",
                                     "Out[6]= 4"]
    assert r.stderr == ""


def test_syntax_error_reports_position_before_anything_runs(tmp_path):
    f = write(tmp_path, "bad.wl", 'Print["ran"]\nx = 1\n{1, 2,]\n')
    r = netdsl(tmp_path, f)
    assert r.returncode == 1
    assert r.stdout == ""  # the whole file is parsed first: nothing ran
    assert r.stderr.startswith("bad.wl:3:7: Syntax::")
    assert "Traceback" not in r.stderr


def test_evaluation_error_stops_with_position(tmp_path):
    f = write(tmp_path, "err.wl", "x = 2\nSqrt[-1]\nx + 1\n")
    r = netdsl(tmp_path, f)
    assert r.returncode == 1
    assert r.stdout.splitlines() == ["Out[1]= 2"]
    assert r.stderr.startswith("err.wl:2:1: Sqrt::dmval:")
    assert len(r.stderr.splitlines()) == 1
    assert "Traceback" not in r.stderr


def test_path_is_reported_as_given(tmp_path):
    (tmp_path / "sub").mkdir()
    f = write(tmp_path, "sub/e.wl", "\n  Sin[]\n")
    r = netdsl(tmp_path, f)
    assert r.returncode == 1
    assert r.stderr.startswith(f"{f}:2:3: Sin::argx:")


def test_quit_exit_code(tmp_path):
    f = write(tmp_path, "q.wl", "1\nQuit[3]\nPrint[\"not reached\"]\n")
    r = netdsl(tmp_path, f)
    assert r.returncode == 3
    assert r.stdout.splitlines() == ["Out[1]= 1"]


def test_dash_c(tmp_path):
    r = netdsl(tmp_path, "-c", "a = 3; a^2")
    assert (r.returncode, r.stdout, r.stderr) == (0, "Out[1]= 9\n", "")
    r = netdsl(tmp_path, "-c", "{1,")
    assert r.returncode == 1
    assert r.stderr.startswith("<input>:1:4: Syntax::")
    assert "Traceback" not in r.stderr


def test_version_and_missing_file(tmp_path):
    r = netdsl(tmp_path, "--version")
    assert (r.returncode, r.stdout.strip()) == (0, f"netdsl {__version__}")
    r = netdsl(tmp_path, "missing.wl")
    assert r.returncode == 2
    assert "missing.wl" in r.stderr and "no such file" in r.stderr
    assert "Traceback" not in r.stderr


def test_piped_stdin_runs_the_plain_repl(tmp_path):
    r = netdsl(tmp_path, stdin="1+1\n")
    assert (r.returncode, r.stdout, r.stderr) == (0, "Out[1]= 2\n", "")


def test_check_subcommand_dispatches(tmp_path):
    f = write(tmp_path, "ok.wl", "x = 1;\n")
    r = netdsl(tmp_path, "check", f)
    assert r.returncode == 0, r.stderr
    assert f"{f}: ok" in r.stdout
    f = write(tmp_path, "bad.wl", "x = 1;\n{1,]\n")
    r = netdsl(tmp_path, "check", f)
    assert r.returncode == 1
    assert r.stderr.startswith(f"{f}:2:")
    assert "Traceback" not in r.stderr


def test_ctrl_c_during_a_file_run(tmp_path):
    f = write(tmp_path, "slow.wl", 'g = Function[n, If[n > 0, g[n - 1] + g[n - 1], 0]];\n'
                                   'Print["started"]\ng[60]\n')
    proc = subprocess.Popen([sys.executable, "-m", "netdsl", f], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env=netdsl_env(tmp_path))
    try:
        assert proc.stdout.readline() == "started\n"
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert err.strip() == "Interrupted"


# ------------------------------------------------------------ in-process main()
def test_main_internal_error_is_one_line(tmp_path, monkeypatch, capsys):
    import netdsl.session

    def boom(self, *a, **k):
        raise ValueError("boom")

    monkeypatch.setattr(netdsl.session.Session, "evaluate_expr", boom)
    assert main(["-c", "1+1"]) == 2
    err = capsys.readouterr().err
    assert err == "netdsl: internal error: ValueError: boom (please report)\n"
    assert main(["--debug", "-c", "1+1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.endswith("(please report)\n")


def test_main_sets_base_dir_and_handles_directories(tmp_path, monkeypatch, capsys):
    import netdsl.cli

    seen = []
    real = netdsl.cli.run_text

    def spy(text, source, session, *a):
        seen.append(session.base_dir)
        return real(text, source, session, *a)

    monkeypatch.setattr(netdsl.cli, "run_text", spy)
    (tmp_path / "d").mkdir()
    path = tmp_path / "d" / "f.wl"
    path.write_text("1 + 2\n")
    assert main([str(path)]) == 0
    assert capsys.readouterr().out == "Out[1]= 3\n"
    assert seen == [str(tmp_path / "d")]
    assert main([str(tmp_path / "d")]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_main_usage_errors_return_2(capsys):
    assert main(["-c", "1", "file.wl"]) == 2
    assert main(["check"]) == 2
    assert main(["--help"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("text, lines", [
    ('"a\nbc"', ["Out[1]= a", "        bc"]),
])
def test_multiline_output_is_indented(tmp_path, capsys, text, lines):
    assert main(["-c", text]) == 0
    assert capsys.readouterr().out.splitlines() == lines
