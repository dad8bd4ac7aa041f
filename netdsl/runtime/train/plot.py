"""The loss plot of a training run, drawn in memory with matplotlib's object API.

No pyplot, no backend switch, no file: the picture is PNG bytes that Jupyter shows
(``_repr_png_``) and ``Export["loss.png", plot]`` writes. matplotlib is an optional
extra (``pip install 'netdsl[plot]'``).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

from ...expr import Opaque
from .common import error

if TYPE_CHECKING:
    from .results import History


class Picture(Opaque):
    """An image held as PNG bytes."""

    head_name = "Image"

    def __init__(self, png: bytes, description: str = "image"):
        self.png = png
        self.description = description

    def input_form(self) -> str:
        return f"Image[<{self.description}, PNG, {len(self.png):,} bytes>]"

    def output_form(self) -> str:
        return f"-Image- ({self.description})"

    def _repr_png_(self) -> bytes:
        return self.png


def loss_plot(h: History) -> Picture:
    try:
        import matplotlib  # noqa: F401  (its absence is what the message is about)
        from matplotlib.figure import Figure
    except ImportError:
        raise error("noplot", "LossPlot needs matplotlib, which is not installed (pip install "
                              "'netdsl[plot]'); the numbers are in \"RoundLossList\" and "
                              "\"BatchLossList\".") from None
    fig = Figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    if h.batch_losses:
        per_round = max(1, len(h.batch_losses) // max(1, h.rounds))
        x = np.arange(1, len(h.batch_losses) + 1) / per_round
        ax.plot(x, h.batch_losses, lw=0.8, alpha=0.5, label="batch loss")
    if h.round_losses:
        ax.plot(np.arange(1, len(h.round_losses) + 1), h.round_losses, lw=2, label="round loss")
    if h.validation_losses:
        ax.plot(np.arange(1, len(h.validation_losses) + 1), h.validation_losses, lw=2,
                label="validation loss")
    ax.set_xlabel("training rounds")
    ax.set_ylabel("loss")
    if all(v > 0 for v in h.batch_losses + h.round_losses + h.validation_losses):
        ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return Picture(buf.getvalue(), f"loss plot, {h.rounds} rounds")
