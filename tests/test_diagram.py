"""Diagrams of nets (SVG and DOT) and how nets show themselves in Python and Jupyter."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import netdsl
from netdsl.graph.diagram import Diagram, to_dot, to_svg

SVG = "{http://www.w3.org/2000/svg}"

LENET = ('NetChain[{ConvolutionLayer[16, {3, 3}], BatchNormalizationLayer[], Ramp, '
         'PoolingLayer[2, 2], FlattenLayer[], LinearLayer[10], SoftmaxLayer[]}, '
         '"Input" -> {1, 28, 28}]')
GRAPH = ('NetGraph[<|"a" -> LinearLayer[4], "b" -> NetChain[{LinearLayer[4], Tanh}], '
         '"cat" -> CatenateLayer[], "t" -> TotalLayer[]|>, {NetPort["Input"] -> "a", '
         'NetPort["Input"] -> "b", {"a", "b"} -> "cat", {"a", "b"} -> "t", '
         '"cat" -> NetPort["Out1"], "t" -> NetPort["Out2"]}, "Input" -> 3]')


def parts(svg: str) -> dict[str, list]:
    root = ET.fromstring(svg)   # valid XML, or this raises
    groups = root.findall(f"{SVG}g")
    return {
        "layers": [g for g in groups if g.get("class") == "layer"],
        "ports": [g for g in groups if g.get("class") == "port"],
        "groups": [g for g in groups if g.get("class") == "group"],
        "edges": root.findall(f"{SVG}path[@class='edge']"),
    }


def texts(g) -> list[str]:
    return [t.text for t in g.iter(f"{SVG}text")]


def test_chain_diagram_has_a_box_per_layer_and_an_edge_per_connection():
    p = parts(to_svg(netdsl.evaluate(LENET)))
    assert len(p["layers"]) == 7 and len(p["ports"]) == 2
    assert len(p["edges"]) == 8          # Input -> 1 -> ... -> 7 -> Output
    titles = [texts(g) for g in p["layers"]]
    assert titles[0] == ["ConvolutionLayer", "{16, 26, 26}"]
    assert ["FlattenLayer", "{2704}"] in titles
    assert ["Input", "{1, 28, 28}"] in [texts(g) for g in p["ports"]]


def test_graph_diagram_draws_nested_containers_as_groups():
    p = parts(to_svg(netdsl.evaluate(GRAPH)))
    # a, the chain's two layers, cat, t; Input, Out1, Out2
    assert len(p["layers"]) == 5 and len(p["ports"]) == 3
    # Input->a, Input->b/1, b/1->b/2, a->cat, b->cat, a->t, b->t, cat->Out1, t->Out2
    assert len(p["edges"]) == 9
    assert [texts(g) for g in p["groups"]] == [['"b": NetChain']]
    labels = [t[0] for t in map(texts, p["layers"])]
    assert {"a: LinearLayer", "cat: CatenateLayer", "t: TotalLayer"} <= set(labels)


def test_group_box_contains_its_layers_and_no_other():
    svg = to_svg(netdsl.evaluate(GRAPH))
    p = parts(svg)
    (group,) = p["groups"]
    box = group.find(f"{SVG}rect")
    x0, y0 = float(box.get("x")), float(box.get("y"))
    x1, y1 = x0 + float(box.get("width")), y0 + float(box.get("height"))
    for g in p["layers"] + p["ports"]:
        r = g.find(f"{SVG}rect")
        cx = float(r.get("x")) + float(r.get("width")) / 2
        cy = float(r.get("y")) + float(r.get("height")) / 2
        inside = x0 < cx < x1 and y0 < cy < y1
        in_chain = texts(g)[0] in ("LinearLayer", "ElementwiseLayer[Tanh]")
        assert inside == in_chain, texts(g)


def test_boxes_do_not_overlap():
    for text in (LENET, GRAPH):
        p = parts(to_svg(netdsl.evaluate(text)))
        rects = []
        for g in p["layers"] + p["ports"]:
            r = g.find(f"{SVG}rect")
            rects.append(tuple(float(r.get(k)) for k in ("x", "y", "width", "height")))
        for i, (ax, ay, aw, ah) in enumerate(rects):
            for bx, by, bw, bh in rects[i + 1:]:
                assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay


def test_dot_text_has_nodes_edges_and_clusters():
    dot = to_dot(netdsl.evaluate(GRAPH))
    assert dot.startswith("digraph net {") and dot.rstrip().endswith("}")
    assert len(re.findall(r"^\s*n\d+ \[label=", dot, re.M)) == 8
    assert len(re.findall(r"^\s*n\d+ -> n\d+", dot, re.M)) == 9
    assert 'label="\\"b\\": NetChain"' in dot
    assert dot.count("{") == dot.count("}")


def test_a_lone_layer_draws_with_its_ports():
    p = parts(to_svg(netdsl.evaluate('LinearLayer[3, "Input" -> 2]')))
    assert len(p["layers"]) == 1 and len(p["ports"]) == 2 and len(p["edges"]) == 2


def test_diagram_object_shows_as_svg():
    d = Diagram(netdsl.evaluate(LENET))
    assert d._repr_svg_().startswith("<svg")
    assert "NetChain" in repr(d)


# ---------------------------------------------------------------- Python and Jupyter
def test_nets_repr_and_str():
    net = netdsl.evaluate('NetChain[{LinearLayer[3], Ramp}, "Input" -> 2]')
    assert repr(net) == "NetChain[<2 layers, uninitialized>]"
    assert str(net).splitlines()[0].split() == ["NetChain", "(uninitialized)"]
    layer = netdsl.evaluate("LinearLayer[3]")
    assert repr(layer) == "LinearLayer[<uninitialized>]"


@pytest.mark.parametrize("text", [LENET, GRAPH])
def test_html_has_the_table_with_parameter_counts_and_the_diagram(text):
    net = netdsl.evaluate(f"NetInitialize[{text}]")
    html = net._repr_html_()
    assert "(7 layers, initialized)" in html or "(4 layers, initialized)" in html
    assert "<table>" in html and "<svg" in html
    total = net.parameter_count()
    assert f"<td class=\"num\">{total:,}</td>" in html


def test_parameter_count_is_the_arrays_sizes():
    net = netdsl.evaluate(LENET)
    # conv 16*1*3*3 + 16; BN 4 arrays of 16; linear 10*2704 + 10
    assert net.parameter_count() == 16 * 9 + 16 + 4 * 16 + 10 * 2704 + 10
    assert netdsl.evaluate("LinearLayer[3]").parameter_count() is None


def test_layer_html_lists_ports_and_arrays():
    html = netdsl.evaluate('LinearLayer[3, "Input" -> 2]')._repr_html_()
    assert "LinearLayer (uninitialized)" in html
    assert "<td>Weights</td><td>array</td><td>{3, 2}</td>" in html
