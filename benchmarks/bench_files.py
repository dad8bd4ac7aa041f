"""Saving and loading a 2M-parameter net: ``python benchmarks/bench_files.py``.

The net is a conv net with BatchNormalization and two large LinearLayers (about 2.0
million learned numbers). It times, median of several runs, in milliseconds:

  save          Export["net.safetensors", net]: the net file (goal: under 200 ms)
  load          Import["net.safetensors"]: build the architecture, check and bind the
                arrays (goal: under 200 ms)
  onnx          Export["net.onnx", net] (when onnx is installed; no goal)
  text save     InputForm text, .wl (with ``--text``: the only way to save a net before
  text load     net files; evaluating the text back takes a minute or more)

and checks that the loaded net equals the saved one. Options: ``--runs N`` (default 7),
``--text``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import netdsl  # noqa: E402
from timing import timed  # noqa: E402

NET = '''NetInitialize@NetChain[{
  ConvolutionLayer[32, {3, 3}, "PaddingSize" -> 1], BatchNormalizationLayer[], Ramp,
  PoolingLayer[2, 2],
  ConvolutionLayer[64, {3, 3}, "PaddingSize" -> 1], BatchNormalizationLayer[], Ramp,
  PoolingLayer[2, 2],
  FlattenLayer[], LinearLayer[560], Ramp, DropoutLayer[], LinearLayer[512], Ramp,
  LinearLayer[10], SoftmaxLayer[]}, "Input" -> {1, 28, 28}]'''


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--text", action="store_true", help="also time the .wl text form")
    args = ap.parse_args(argv)
    s = netdsl.Session()
    net = s.evaluate(NET)
    s["net"] = net
    params = s.evaluate('Information[net, "ArraysTotalElementCount"]')
    print(f"net: {params:,} numbers in its arrays")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "net.safetensors"
        rows = []
        wall, cpu, _ = timed(lambda: netdsl.save(net, path), args.runs)
        rows.append(("save (.safetensors)", wall, cpu, "< 200 ms"))
        wall, cpu, back = timed(lambda: netdsl.load(path), args.runs)
        rows.append(("load (.safetensors)", wall, cpu, "< 200 ms"))
        assert back == net, "the loaded net differs from the saved one"
        print(f"file size: {path.stat().st_size / 2**20:.1f} MiB")
        try:
            import onnx  # noqa: F401
            onnx_path = Path(d) / "net.onnx"
            wall, cpu, _ = timed(lambda: netdsl.save(net, onnx_path), args.runs)
            rows.append(("export (.onnx)", wall, cpu, ""))
        except ImportError:
            print("onnx is not installed: ONNX export not timed")
        if args.text:
            text_path = Path(d) / "net.wl"
            wall, cpu, _ = timed(lambda: netdsl.save(net, text_path), 1)
            rows.append(("save (.wl text)", wall, cpu, ""))
            wall, cpu, _ = timed(lambda: netdsl.load(text_path), 1)
            rows.append(("load (.wl text)", wall, cpu, ""))
    print(f"{'':22}{'wall ms':>10}{'cpu ms':>10}  goal")
    for name, wall, cpu, goal in rows:
        print(f"{name:22}{statistics.median(wall):10.1f}{statistics.median(cpu):10.1f}  {goal}")


if __name__ == "__main__":
    main()
