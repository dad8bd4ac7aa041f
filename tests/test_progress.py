"""NetTrain's progress report: a terminal bar that fits the width and redraws one line, a
line a round off a terminal, a tqdm bar in a notebook."""

import io
import re
import sys

import pytest

from netdsl.runtime.train import progress
from netdsl.runtime.train.progress import Reporter, fit_line
from netdsl.session import Session

NET = 'NetChain[{LinearLayer[2]}, "Input" -> 2]'
DATA = "{{1, 2} -> {1, 0}, {2, 3} -> {0, 1}, {0, 1} -> {1, 1}, {1, 1} -> {0, 0}}"
VALID = "{{1, 0} -> {1, 0}, {0, 2} -> {0, 1}}"


class TTY(io.StringIO):
    def isatty(self):
        return True


class Clock:
    """time.perf_counter advancing 0.3 s a call: every batch is drawn."""

    def __init__(self, monkeypatch):
        import time
        self.t = 0.0
        monkeypatch.setattr(time, "perf_counter", self)

    def __call__(self):
        self.t += 0.3
        return self.t


def train(extra=""):
    s = Session()
    s.evaluate(f"net = {NET}")
    return s.evaluate(f"NetTrain[net, {DATA}, MaxTrainingRounds -> 3, BatchSize -> 1, "
                      f"ValidationSet -> {VALID}{extra}]")


def redraws(text):
    """The successive contents of the one line: what each \\r starts."""
    return [part for part in text.split("\r") if part.strip()]


@pytest.mark.parametrize("columns", [40, 80, 132])
def test_terminal_bar_fits_the_width_and_redraws_one_line(monkeypatch, columns):
    Clock(monkeypatch)
    monkeypatch.setenv("COLUMNS", str(columns))
    err = TTY()
    monkeypatch.setattr(sys, "stderr", err)
    train()
    text = err.getvalue()
    assert "\n" not in text                        # never a new line: the same line redrawn
    lines = redraws(text)
    assert len(lines) == 12                        # 3 rounds of 4 batches
    assert all(len(line) <= columns - 1 for line in text.split("\r"))
    assert text.endswith("\r") and text.split("\r")[-2].strip() == ""   # cleared at the end
    assert lines[0].startswith("round 1/3") and lines[-1].startswith("round 3/3")
    # no field is cut mid-word: every line is whole fields from the start
    for line in lines:
        assert not re.search(r"\d\.$|examp$|left\w", line.rstrip())
    if columns >= 80:
        last = lines[-1]
        assert "batch 4/4" in last and "loss " in last and "validation loss " in last
        assert "examples/s" in last and "left" in last
        assert ("[" in last) == (columns > 100)    # the bar only where there is room


def test_narrow_terminal_drops_fields_from_the_right():
    fields = ["round 2/5", "batch 3/10", "loss 0.25", "validation loss 0.3", "99 examples/s",
              "4s left"]
    line = fit_line(fields, 0.5, 30)
    assert line == "round 2/5  batch 3/10"       # whole fields, no bar without room
    wide = fit_line(fields, 0.5, 200)
    assert re.search(r"round 2/5  batch 3/10 \[#+-+\] loss 0.25", wide)
    bar = re.search(r"\[(#+)(-+)\]", wide)
    assert len(bar.group(1)) == len(bar.group(2))  # half done
    assert len(fit_line(fields, 0.5, 2)) <= 1


def test_one_line_per_round_with_validation_loss_off_a_terminal(monkeypatch):
    err = io.StringIO()                            # not a terminal
    monkeypatch.setattr(sys, "stderr", err)
    train()
    lines = err.getvalue().splitlines()
    assert [ln.split()[:2] for ln in lines] == [["round", f"{i}/3"] for i in (1, 2, 3)]
    assert all("round loss" in ln and "validation loss" in ln for ln in lines)
    assert "\r" not in err.getvalue()


def test_reporter_mode_by_stream(monkeypatch):
    assert Reporter("Automatic", 4, TTY()).kind == "bar"
    assert Reporter("Automatic", 4, io.StringIO()).kind == "lines"
    assert Reporter("Print", 4, TTY()).kind == "lines"
    assert Reporter("None", 4, TTY()).kind == "none"


def test_notebook_uses_tqdm(monkeypatch):
    """In a Jupyter kernel: a tqdm.auto bar, one update a batch, the losses as postfix."""
    made = []

    class FakeTqdm:
        def __init__(self, total=None, **kw):
            self.total, self.n, self.post, self.closed = total, 0, "", False
            made.append(self)

        def set_description(self, text, refresh=True):
            self.desc = text

        def set_postfix_str(self, text, refresh=True):
            self.post = text

        def update(self, k):
            self.n += k

        def close(self):
            self.closed = True

    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setattr(progress, "_tqdm", lambda: FakeTqdm)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    train()
    (bar,) = made
    assert bar.total == 12 and bar.n == 12 and bar.closed
    assert bar.desc == "round 3/3" and "validation loss" in bar.post
    assert err.getvalue() == ""


def test_notebook_without_tqdm_prints_lines(monkeypatch):
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setitem(sys.modules, "tqdm.notebook", None)
    monkeypatch.setitem(sys.modules, "tqdm.std", None)
    assert Reporter("Automatic", 4, io.StringIO()).kind == "lines"
