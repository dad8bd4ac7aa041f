"""Messages on a terminal wrap at word boundaries to its width, never inside a word."""

import io
import re

import pytest

from netdsl.cli import run_text
from netdsl.errors import wrap_message
from netdsl.repl import Repl, internal_error_line
from netdsl.session import Session

LONG = ("NetChain::valfail: Validation failed for layer 2 (ConvolutionLayer): the input must "
        "have a channel dimension and 1 to 3 spatial dimensions, but it is a vector of size 3")
BAD = 'NetChain[{LinearLayer[3], ConvolutionLayer[2, 3]}, "Input" -> 4]'


class TTY(io.StringIO):
    def isatty(self):
        return True


def words(text):
    return text.split()


@pytest.mark.parametrize("width", [30, 60, 80])
def test_wrap_keeps_every_word_whole(width):
    out = wrap_message(LONG, width)
    assert words(out) == words(LONG)                       # same words, none split
    assert all(len(line) <= width - 1 for line in out.split("\n"))
    assert all(line.startswith("  ") for line in out.split("\n")[1:])


def test_short_lines_and_excerpts_are_untouched():
    assert wrap_message("short", 80) == "short"
    excerpt = "    " + "x" * 100 + "\n    ^"
    assert wrap_message(excerpt, 40) == excerpt
    long_word = "a" * 50
    assert wrap_message(f"see {long_word} here", 30).split("\n") == ["see", f"  {long_word}",
                                                                     "  here"]


def test_repl_wraps_on_a_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "50")
    err = TTY()
    repl = Repl(Session(), out=io.StringIO(), err=err)
    repl.feed_line(BAD + "\n")
    text = err.getvalue().rstrip("\n")
    lines = text.split("\n")
    assert len(lines) > 2 and all(len(line) <= 49 for line in lines)
    assert "Validation failed for layer 2" in " ".join(words(text))


def test_repl_and_cli_do_not_wrap_off_a_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "50")
    err = io.StringIO()
    Repl(Session(), out=io.StringIO(), err=err).feed_line(BAD + "\n")
    assert err.getvalue().count("\n") == 1
    err2 = io.StringIO()
    run_text(BAD, "spec.wl", Session(), out=io.StringIO(), err=err2)
    assert err2.getvalue().count("\n") == 1 and "spatial dimensions" in err2.getvalue()


def test_cli_wraps_on_a_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    err = TTY()
    assert run_text(BAD, "spec.wl", Session(), out=io.StringIO(), err=err) != 0
    lines = err.getvalue().rstrip("\n").split("\n")
    assert all(len(line) <= 39 for line in lines) and len(lines) > 3
    assert re.match(r"spec\.wl:1:\d+:", lines[0])


def test_internal_error_line_is_cut_between_words():
    line = internal_error_line(ValueError("word " * 100))
    assert "word ..." in line and "wor ..." not in line and len(line) < 360
