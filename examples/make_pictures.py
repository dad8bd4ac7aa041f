"""Draw the README's pictures: a net's diagram (SVG) and a loss plot (PNG).

Run from the repository's root:  python examples/make_pictures.py
Writes docs/images/net.svg and docs/images/loss.png with netdsl's own Export (the loss
plot needs matplotlib: pip install 'netdsl[plot]').
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from netdsl.session import Session

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"

NET = """
net = NetGraph[<|
    "features" -> NetChain[{ConvolutionLayer[8, {3, 3}], BatchNormalizationLayer[], Ramp,
                            PoolingLayer[{2, 2}, 2], FlattenLayer[]}],
    "dense" -> LinearLayer[32], "skip" -> LinearLayer[32],
    "sum" -> TotalLayer[], "act" -> Ramp, "out" -> LinearLayer[3], "prob" -> SoftmaxLayer[]|>,
  {"features" -> {"dense", "skip"}, {"dense", "skip"} -> "sum", "sum" -> "act",
   "act" -> "out", "out" -> "prob"},
  "Input" -> {1, 8, 8}]
"""


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    s = Session()
    s.evaluate(NET)
    s.evaluate(f'Export["{OUT / "net.svg"}", net]')
    # a small classification problem: which third of the picture is brightest
    rng = np.random.default_rng(0)
    x = rng.random((240, 1, 8, 8)) * 0.5
    y = rng.integers(0, 3, 240)
    for i, k in enumerate(y):
        x[i, 0, :, 3 * k:3 * k + 2] += 0.5
    s["x"], s["y"] = x, (y + 1).tolist()
    s.evaluate("r = NetTrain[net, x -> y, All, MaxTrainingRounds -> 15, BatchSize -> 32, "
               "ValidationSet -> Scaled[0.2], TrainingProgressReporting -> None]")
    s.evaluate(f'Export["{OUT / "loss.png"}", r["LossPlot"]]')
    for name in ("net.svg", "loss.png"):
        print(f"{OUT / name}: {(OUT / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
