"""NetTrain's progress report on a terminal."""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .results import History


class Reporter:
    """A one-line progress bar on a terminal: round, loss, examples/s, time left."""

    def __init__(self, mode: str, n: int):
        self.stream = sys.stderr
        self.on = mode == "Print" or (mode == "Automatic" and self.stream.isatty())
        self.mode = mode
        self.last = -math.inf      # the first batch is shown at once

    def batch(self, rnd, max_rounds, loss, examples, elapsed, b, nb) -> None:
        if not self.on or (elapsed - self.last < 0.2 and self.mode != "Print"):
            return
        self.last = elapsed
        rate = examples / elapsed if elapsed > 0 else 0.0
        total = f"/{max_rounds}" if max_rounds else ""
        left = ""
        if max_rounds:
            frac = ((rnd - 1) + b / nb) / max_rounds
            if frac > 0:
                left = f"  {max(0.0, elapsed / frac - elapsed):.0f}s left"
        width = 20
        done = int(width * (((rnd - 1) + b / nb) / max_rounds)) if max_rounds else 0
        bar = "#" * done + "-" * (width - done) if max_rounds else ""
        line = (f"round {rnd}{total} [{bar}] loss {loss:.4g}  {rate:,.0f} examples/s{left}")
        if self.mode == "Print":
            if b == nb:
                self.stream.write(line + "\n")
        else:
            self.stream.write("\r" + line[:120].ljust(100))
        self.stream.flush()

    def done(self, h: History) -> None:
        if self.on and self.mode != "Print":
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()


