"""The REPL: the input loop driven directly, and once through a real pseudo-terminal."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netdsl.repl import Repl, format_out, is_incomplete, run_plain
from netdsl.session import Session

ROOT = Path(__file__).resolve().parents[1]


def make_repl() -> tuple[Repl, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Repl(out=out, err=err), out, err


# ---------------------------------------------------------------- the loop itself
def test_prompts_follow_the_session_counter():
    repl, out, _ = make_repl()
    assert repl.prompt() == "In[1]:= "
    assert repl.current_prompt() == "In[1]:= "
    repl.feed_line("x = 1;")
    assert out.getvalue() == ""  # ';' gives Null: nothing shown
    assert repl.prompt() == "In[2]:= "
    assert repl.feed_line("x + 1") is False
    assert out.getvalue() == "Out[2]= 2\n"


def test_multi_line_input_waits_for_completion():
    repl, out, err = make_repl()
    assert repl.feed_line("{1,") is True
    assert repl.pending
    assert repl.current_prompt() == repl.continuation_prompt()
    assert len(repl.continuation_prompt()) == len(repl.prompt())
    assert repl.feed_line("") is True
    assert repl.feed_line("  2}") is False
    assert not repl.pending
    assert out.getvalue() == "Out[1]= {1, 2}\n"
    assert repl.feed_line("(* a comment") is True
    assert repl.feed_line("still *) 1 +") is True
    assert repl.feed_line("2") is False
    assert out.getvalue().endswith("Out[2]= 3\n")
    assert err.getvalue() == ""


def test_errors_are_reported_and_the_loop_goes_on():
    repl, out, err = make_repl()
    repl.feed_line("Sqrt[-1]")
    assert err.getvalue().startswith("<input>:1:1: Sqrt::dmval:")
    repl.feed_line("{1, 2,]")
    assert "Syntax::sntx" in err.getvalue()
    assert not repl.pending
    repl.feed_line("1 + 1")
    assert out.getvalue() == "Out[2]= 2\n"
    assert repl.errors == 2
    assert "Traceback" not in err.getvalue()


def test_print_output_comes_in_order():
    repl, out, _ = make_repl()
    repl.feed_line('Print["hi"]; 5')
    repl.feed_line('Echo[7]')
    assert out.getvalue() == "hi\nOut[1]= 5\n>> 7\nOut[2]= 7\n"


def test_cancel_drops_incomplete_input():
    repl, out, _ = make_repl()
    assert repl.feed_line("{1,") is True
    repl.cancel()
    assert repl.feed_line("3") is False
    assert out.getvalue() == "Out[1]= 3\n"


def test_quit_stops_the_loop():
    repl, out, _ = make_repl()
    repl.feed_line("1")
    repl.feed_line("Quit[]")
    assert repl.done and repl.quit_code == 0
    repl.feed_line("2")
    assert out.getvalue() == "Out[1]= 1\n"
    repl, out, _ = make_repl()
    assert run_plain(repl, io.StringIO("1\nQuit[5]\n2\n")) == 5
    assert out.getvalue() == "Out[1]= 1\n"


def test_interrupt_and_internal_errors_do_not_end_the_session(monkeypatch):
    repl, out, err = make_repl()
    real = Session.evaluate_expr
    raised = iter([KeyboardInterrupt(), RuntimeError("bug\nhere")])

    def flaky(self, *args, **kwargs):
        exc = next(raised, None)
        if exc is not None:
            raise exc
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Session, "evaluate_expr", flaky)
    repl.feed_line("1")
    repl.feed_line("2")
    repl.feed_line("3")
    assert err.getvalue().splitlines() == [
        "Interrupted", "netdsl: internal error: RuntimeError: bug here (please report)"]
    assert out.getvalue() == "Out[1]= 3\n"  # the stub raised before taking a number


def test_plain_loop_exit_status_and_unfinished_input():
    repl, out, err = make_repl()
    assert run_plain(repl, io.StringIO("1+1\n{1,\n2}\n")) == 0
    assert out.getvalue() == "Out[1]= 2\nOut[2]= {1, 2}\n"
    repl, out, err = make_repl()
    assert run_plain(repl, io.StringIO("Sqrt[-1]\n2\n{1,\n")) == 1
    assert out.getvalue() == "Out[2]= 2\n"
    assert "Sqrt::dmval" in err.getvalue() and "incomplete input" in err.getvalue()


def test_helpers():
    assert is_incomplete("{1,") and is_incomplete('"abc') and is_incomplete("f[")
    assert not is_incomplete("{1, 2}") and not is_incomplete("{1,]") and not is_incomplete("")
    assert format_out(12, 5) == "Out[12]= 5"
    assert format_out(1, "a\nb") == "Out[1]= a\n        b"


# ---------------------------------------------------------------- a real terminal
ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]"
                  rb"|\x1b[=>78]|\r")


class Terminal:
    """A child process on a pseudo-terminal (stdlib only), with expect-style reads."""

    def __init__(self, args: list[str], env: dict[str, str]):
        import fcntl
        import struct
        import termios

        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))

        def controlling_tty() -> None:  # runs in the child, after setsid
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, preexec_fn=controlling_tty)
        os.close(slave)
        self.master = master
        self.raw = b""
        self.pos = 0  # expect() searches the cleaned text after the last match

    def text(self) -> str:
        return ANSI.sub(b"", self.raw).decode("utf-8", "replace")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.raw += chunk
        return bool(chunk)

    def expect(self, needle: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while True:
            i = self.text().find(needle, self.pos)
            if i >= 0:
                self.pos = i + len(needle)
                return
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(min(left, 0.5)) and self.proc.poll() is not None):
                raise AssertionError(f"did not see {needle!r}; terminal shows:\n{self.text()}")

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait(self, timeout: float = 15) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        code = self.proc.wait(timeout=0.1)
        while self._read(0.1):  # drain what the child wrote before it exited
            pass
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        os.close(self.master)


@pytest.fixture
def terminal_env(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["NETDSL_HISTORY"] = str(tmp_path / "history")
    env["TERM"] = "xterm"
    env["PROMPT_TOOLKIT_NO_CPR"] = "1"  # no cursor-position queries to answer
    env.pop("PYTHONSTARTUP", None)
    return env


@pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="needs a pty")
def test_repl_on_a_pseudo_terminal(terminal_env, tmp_path):
    term = Terminal([sys.executable, "-m", "netdsl"], terminal_env)
    try:
        term.expect("In[1]:=")
        term.send("1+1\r")
        term.expect("Out[1]= 2")
        term.expect("In[2]:=")
        term.send("{1,\r")
        term.expect("...")           # the continuation prompt
        term.send("2}\r")
        term.expect("Out[2]= {1, 2}")
        term.expect("In[3]:=")
        term.send("{3,\r")
        term.send("\x03")             # Ctrl-C drops the unfinished input
        term.expect("In[3]:=")
        term.send('g = Function[n, If[n > 0, g[n - 1] + g[n - 1], 0]]; Print["go"]; g[60]\r')
        term.expect("go")
        time.sleep(0.2)
        term.send("\x03")             # Ctrl-C interrupts the evaluation
        term.expect("Interrupted")
        term.expect("In[4]:=")
        term.send("7\r")
        term.expect("Out[4]= 7")
        term.expect("In[5]:=")
        term.send("\x04")             # Ctrl-D exits
        assert term.wait() == 0
    finally:
        term.close()
    history = (tmp_path / "history").read_text()
    assert "+1+1" in history and "+{1,\n+2}" in history

    # history survives: up-arrow recalls the last input of the previous run
    term = Terminal([sys.executable, "-m", "netdsl"], terminal_env)
    try:
        term.expect("In[1]:=")
        term.send("\x1b[A")
        time.sleep(0.2)
        term.send("\r")
        term.expect("Out[1]= 7")
        term.expect("In[2]:=")
        term.send("Quit[4]\r")
        assert term.wait() == 4
    finally:
        term.close()
