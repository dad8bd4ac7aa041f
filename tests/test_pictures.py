"""Pictures out of netdsl: Information[net, "SummaryGraphic"], Export of a net as .svg/.dot,
of a loss plot as .png, and the NetTrain results object in Jupyter (_repr_html_)."""

import base64
import re
import xml.etree.ElementTree as ET

import pytest

import netdsl
from netdsl.graph.diagram import Diagram
from netdsl.session import Session

NET = 'net = NetChain[{LinearLayer[3], Ramp, LinearLayer[2]}, "Input" -> 4];'
DATA = "{{1, 2, 3, 4} -> {1, 0}, {2, 3, 4, 5} -> {0, 1}, {0, 1, 0, 1} -> {1, 1}}"
SVG_NS = "{http://www.w3.org/2000/svg}"


def session():
    s = Session()
    s.evaluate(NET)
    return s


def test_summary_graphic_is_the_diagram():
    s = session()
    g = s.evaluate('Information[net, "SummaryGraphic"]')
    assert isinstance(g, Diagram)
    root = ET.fromstring(g._repr_svg_())
    labels = [t.text for t in root.iter(SVG_NS + "text")]
    assert sum("LinearLayer" in (t or "") for t in labels) == 2
    assert str(g).startswith("-Graphics-")
    assert s.evaluate('Head[Information[net, "FullSummaryGraphic"]]') == netdsl.expr.Symbol("Graphics")


def test_export_svg_and_dot(tmp_path):
    s = session()
    svg, dot = tmp_path / "net.svg", tmp_path / "net.dot"
    assert s.evaluate(f'Export["{svg}", net]') == str(svg)
    s.evaluate(f'Export["{dot}", Information[net, "SummaryGraphic"]]')
    root = ET.parse(svg).getroot()                       # valid XML
    assert root.tag == SVG_NS + "svg"
    text = dot.read_text()
    assert text.startswith("digraph")
    assert len(re.findall(r"shape=box", text)) == 3        # one box a layer
    assert len(re.findall(r"shape=ellipse", text)) == 2    # the ports Input and Output
    assert len(re.findall(r"->", text)) == 4               # Input, two links, Output
    s.evaluate(f'Export["{tmp_path / "named.svg"}", net, "SVG"]')
    assert (tmp_path / "named.svg").read_text() == svg.read_text()


def test_export_picture_type_errors(tmp_path):
    s = session()
    with pytest.raises(netdsl.EvaluationError, match=r'cannot be exported to the "SVG" format'):
        s.evaluate(f'Export["{tmp_path / "x.svg"}", 3]')
    with pytest.raises(netdsl.EvaluationError, match=r'"PNG" format: give a picture'):
        s.evaluate(f'Export["{tmp_path / "x.png"}", net]')
    assert list(tmp_path.iterdir()) == []


def test_export_loss_plot_png(tmp_path):
    pytest.importorskip("matplotlib")
    s = session()
    s.evaluate(f"r = NetTrain[net, {DATA}, All, MaxTrainingRounds -> 3, "
               f"TrainingProgressReporting -> None]")
    out = tmp_path / "loss.png"
    s.evaluate(f'Export["{out}", r["LossPlot"]]')
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data == s.evaluate('r["LossPlot"]').png


def test_results_show_main_figures_and_loss_plot():
    s = session()
    s.evaluate(f"r = NetTrain[net, {DATA}, All, MaxTrainingRounds -> 3, "
               f"TrainingProgressReporting -> None]")
    r = s.evaluate("r")
    html = r._repr_html_()
    assert "TotalRounds" in html and "<td style='text-align:left'>3</td>" in html
    rl = s.evaluate('r["RoundLoss"]')
    assert f"{rl:.4g}" in html
    assert repr(r).startswith("NetTrainResultsObject")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "netdsl[plot]" in html
    else:
        png = base64.b64decode(re.search(r"base64,([^']+)'", html).group(1))
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
