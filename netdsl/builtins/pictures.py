"""Pictures in Export: a net's diagram as SVG or Graphviz DOT text, a loss plot as PNG.

``Export["net.svg", net]`` and ``Export["net.dot", net]`` draw the net (or take a diagram
from ``Information[net, "SummaryGraphic"]``); ``Export["loss.png", plot]`` writes the PNG
bytes of ``results["LossPlot"]``. Registered in ``io.WRITERS`` like the net files.
"""

from __future__ import annotations

from typing import Any

from ..errors import EvaluationError
from ..expr import input_form
from ..graph.diagram import Diagram
from ..layers.base import Net
from ..runtime.train.plot import Picture
from .io import FORMATS, NAMED_FORMATS, WRITERS


def _short(data: Any) -> str:
    return data.short_form() if isinstance(data, Net) else input_form(data)[:80]


def _diagram(data: Any, fmt: str) -> Diagram:
    if isinstance(data, Diagram):
        return data
    if isinstance(data, Net):
        return Diagram(data)
    raise EvaluationError(f"{_short(data)} cannot be exported to the \"{fmt}\" format: "
                          f"give a net or its Information[net, \"SummaryGraphic\"].",
                          symbol="Export", tag="type")


def _write(path, name: str, data: bytes | str) -> None:
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError:
        raise EvaluationError(f"Cannot open {name}.", symbol="Export", tag="noopen") from None


def _write_svg(ev, path, name: str, data: Any, opts: dict) -> None:
    _write(path, name, _diagram(data, "SVG").svg())


def _write_dot(ev, path, name: str, data: Any, opts: dict) -> None:
    _write(path, name, _diagram(data, "DOT").dot())


def _write_png(ev, path, name: str, data: Any, opts: dict) -> None:
    if not isinstance(data, Picture):
        raise EvaluationError(f"{_short(data)} cannot be exported to the \"PNG\" "
                              f"format: give a picture such as results[\"LossPlot\"] (for a "
                              f"net's diagram use .svg).", symbol="Export", tag="type")
    _write(path, name, data.png)


for _ext, _fmt, _fn in ((".svg", "SVG", _write_svg), (".dot", "DOT", _write_dot),
                        (".png", "PNG", _write_png)):
    FORMATS[_ext] = _fmt
    NAMED_FORMATS[_fmt] = _fmt
    WRITERS[_fmt] = _fn
