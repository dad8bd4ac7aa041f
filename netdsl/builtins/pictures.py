"""Pictures in Export: a net's diagram as SVG or Graphviz DOT text, a loss plot as PNG.

``Export["net.svg", net]`` and ``Export["net.dot", net]`` draw the net (or take a diagram
from ``Information[net, "SummaryGraphic"]``); ``Export["loss.png", plot]`` writes the PNG
bytes of ``results["LossPlot"]``. Registered with ``io.register_format`` like the net files
(Export's file gate, path resolution and error for an unwritable file apply).

Importing this module also registers how a net shows itself in Jupyter (``graph.html``,
the same diagram): ``Net._repr_html_`` loads the lazily imported built-ins when it is
missing.
"""

from __future__ import annotations

from typing import Any

from ..errors import EvaluationError
from ..graph import html as _html  # noqa: F401  (fills layers.base.VIEWS)
from ..graph.diagram import Diagram
from ..layers.base import Net
from ..printer import short
from ..runtime.train.plot import Picture
from .io import FileFormat, register_format


def _diagram(data: Any, fmt: str) -> Diagram:
    if isinstance(data, Diagram):
        return data
    if isinstance(data, Net):
        return Diagram(data)
    raise EvaluationError(f"{short(data)} cannot be exported to the \"{fmt}\" format: "
                          f"give a net or its Information[net, \"SummaryGraphic\"].",
                          symbol="Export", tag="type")


def _write_svg(ev, path, data: Any, name: str, opts: dict) -> None:
    path.write_text(_diagram(data, "SVG").svg(), encoding="utf-8")


def _write_dot(ev, path, data: Any, name: str, opts: dict) -> None:
    path.write_text(_diagram(data, "DOT").dot(), encoding="utf-8")


def _write_png(ev, path, data: Any, name: str, opts: dict) -> None:
    if not isinstance(data, Picture):
        raise EvaluationError(f"{short(data)} cannot be exported to the \"PNG\" "
                              f"format: give a picture such as results[\"LossPlot\"] (for a "
                              f"net's diagram use .svg).", symbol="Export", tag="type")
    path.write_bytes(data.png)


register_format(FileFormat("SVG", (".svg",), write=_write_svg))
register_format(FileFormat("DOT", (".dot",), write=_write_dot))
register_format(FileFormat("PNG", (".png",), write=_write_png))
