"""NetTrain's progress report: a notebook bar, a one-line terminal bar, or a line a round.

``TrainingProgressReporting -> Automatic`` picks by where the output goes:

- in a Jupyter kernel, a tqdm bar (a live widget when ipywidgets is there;
  tqdm comes with ``pip install 'netdsl[notebook]'``; without it, a line a round);
- on a terminal, one line redrawn in place with ``\\r``, never wider than the terminal
  (so it never wraps and stacks): round, batch, bar, loss, validation loss,
  examples per second, time left; fields are dropped from the right when narrow;
- anywhere else (a pipe, a log file), one line per round.

``"Print"`` always gives a line per round; ``None`` prints nothing. ``File["log.csv"]``
writes a CSV row per round (round, batches, examples, seconds, round loss, validation
loss), alone or with a terminal mode in a list.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .results import History

REDRAW_SECONDS = 0.2     # the terminal bar is redrawn at most 5 times a second


def terminal_width(stream: TextIO) -> int:
    """The width of the terminal behind ``stream`` (``$COLUMNS`` first, as the shell sets it)."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
        if columns > 0:
            return columns
    except ValueError:
        pass
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return shutil.get_terminal_size().columns


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython is never imported just to ask)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _time(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


def _fraction(rnd: int, max_rounds: int | None, b: int, nb: int) -> float | None:
    return ((rnd - 1) + b / nb) / max_rounds if max_rounds else None


def fit_line(fields: list[str], fraction: float | None, width: int) -> str:
    """The fields joined by two spaces, with a bar after the first two when there is room,
    and trailing fields dropped so that the line is shorter than ``width``."""
    limit = max(1, width - 1)      # the last column stays free: some terminals wrap there
    kept = list(fields)
    while len(kept) > 1 and len("  ".join(kept)) > limit:
        kept.pop()
    line = "  ".join(kept)
    if fraction is not None:
        room = limit - len(line) - 4          # " [" + "] " around the bar
        if room >= 8:
            bar_width = min(room, 30)
            done = int(bar_width * min(1.0, max(0.0, fraction)))
            bar = "[" + "#" * done + "-" * (bar_width - done) + "]"
            head = "  ".join(kept[:2])
            rest = "  ".join(kept[2:])
            line = f"{head} {bar} {rest}".rstrip()
    return line[:limit]


class Reporter:
    """Shows NetTrain's progress; the loop calls ``batch`` after each batch, ``round`` after
    each round (with the validation loss when there is a validation set), then ``done``."""

    def __init__(self, mode: str, n: int, stream: TextIO | None = None,
                 log: TextIO | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.mode = mode
        self.log = log       # TrainingProgressReporting -> File["log.csv"]: a row a round
        if log is not None:
            log.write("Round,Batches,ExamplesProcessed,TimeElapsed,RoundLoss,ValidationLoss\n")
        self.kind = "none"
        if mode == "Print":
            self.kind = "lines"
        elif mode == "Automatic":
            if _isatty(self.stream):
                self.kind = "bar"
            elif in_notebook() and _tqdm() is not None:
                self.kind = "notebook"
            else:
                self.kind = "lines"
        self.last = -math.inf      # the first batch is shown at once
        self.vloss: float | None = None
        self.drawn = False
        self.tqdm: Any = None

    def _fields(self, rnd, max_rounds, b, nb, loss, examples, elapsed) -> list[str]:
        total = f"/{max_rounds}" if max_rounds else ""
        fields = [f"round {rnd}{total}", f"batch {b}/{nb}", f"loss {loss:.4g}"]
        if self.vloss is not None:
            fields.append(f"validation loss {self.vloss:.4g}")
        rate = examples / elapsed if elapsed > 0 else 0.0
        fields.append(f"{rate:,.0f} examples/s")
        frac = _fraction(rnd, max_rounds, b, nb)
        if frac:
            fields.append(f"{_time(max(0.0, elapsed / frac - elapsed))} left")
        return fields

    def batch(self, rnd, max_rounds, loss, examples, elapsed, b, nb) -> None:
        if self.kind == "notebook":
            self._notebook(rnd, max_rounds, loss, b, nb)
            return
        if self.kind != "bar" or elapsed - self.last < REDRAW_SECONDS:
            return
        self.last = elapsed
        width = terminal_width(self.stream)
        line = fit_line(self._fields(rnd, max_rounds, b, nb, loss, examples, elapsed),
                        _fraction(rnd, max_rounds, b, nb), width)
        self.stream.write("\r" + line.ljust(max(1, width - 1)))
        self.stream.flush()
        self.drawn = True

    def round(self, rnd, max_rounds, loss, vloss, examples, elapsed, nb) -> None:
        """After a round: remember the validation loss; in line mode, print the round."""
        self.vloss = vloss
        if self.log is not None:
            self.log.write(f"{rnd},{rnd * nb},{examples},{elapsed:.6g},{loss!r},"
                           f"{'' if vloss is None else repr(vloss)}\n")
            self.log.flush()
        if self.kind == "lines":
            fields = self._fields(rnd, max_rounds, nb, nb, loss, examples, elapsed)
            del fields[1]                      # the batch count says nothing at a round's end
            fields[1] = f"round loss {loss:.4g}"
            self.stream.write("  ".join(fields) + "\n")
            self.stream.flush()
        elif self.kind == "notebook" and self.tqdm is not None and vloss is not None:
            self.tqdm.set_postfix_str(f"loss {loss:.4g}, validation loss {vloss:.4g}")

    def _notebook(self, rnd, max_rounds, loss, b, nb) -> None:
        if self.tqdm is None:
            self.tqdm = _tqdm()(total=max_rounds * nb if max_rounds else None, unit="batch",
                                desc="NetTrain", leave=True)
        bar = self.tqdm
        if max_rounds and bar.total != max_rounds * nb:
            bar.total = max_rounds * nb
        bar.set_description(f"round {rnd}" + (f"/{max_rounds}" if max_rounds else ""),
                            refresh=False)
        post = f"loss {loss:.4g}"
        if self.vloss is not None:
            post += f", validation loss {self.vloss:.4g}"
        bar.set_postfix_str(post, refresh=False)
        bar.update(1)

    def done(self, h: History) -> None:
        if self.log is not None:
            self.log.close()
        if self.kind == "bar" and self.drawn:
            width = terminal_width(self.stream)
            self.stream.write("\r" + " " * max(1, width - 1) + "\r")
            self.stream.flush()
        elif self.kind == "notebook" and self.tqdm is not None:
            self.tqdm.close()


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _tqdm() -> Any:
    """tqdm's notebook widget when ipywidgets is there, else its text bar (what
    ``tqdm.auto`` picks, without its warning); None without tqdm."""
    try:
        import ipywidgets  # noqa: F401
        from tqdm.notebook import tqdm
    except ImportError:
        try:
            from tqdm.std import tqdm
        except ImportError:
            return None
    return tqdm
