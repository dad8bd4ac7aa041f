"""Seeing a net: summaries, Information, NetExtract, and InputForm that parses back."""

from __future__ import annotations

import re

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError
from netdsl.expr import Association, Expr
from netdsl.graph.container import Container
from netdsl.layers.base import Layer


@pytest.fixture
def s():
    return netdsl.Session()


def rows(text: str) -> list[list[str]]:
    """The summary's table rows, split at runs of two or more spaces."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()[1:]]


# ---------------------------------------------------------------- summaries
def test_chain_summary_has_a_row_per_layer_and_the_ports(s):
    net = s.evaluate('NetChain[{LinearLayer[10], Ramp, LinearLayer[3], SoftmaxLayer[]}, '
                     '"Input" -> 5]')
    text = netdsl.output_form(net)
    assert text.splitlines()[0].split() == ["NetChain", "(uninitialized)"]
    # parameter counts: weights + biases, 5*10 + 10 and 10*3 + 3
    assert rows(text) == [
        ["Input", "port", "vector of size 5"],
        ["1", "LinearLayer", "vector of size 10", str(5 * 10 + 10)],
        ["2", "ElementwiseLayer[Ramp]", "vector of size 10"],
        ["3", "LinearLayer", "vector of size 3", str(10 * 3 + 3)],
        ["4", "SoftmaxLayer", "vector of size 3"],
        ["Output", "port", "vector of size 3"],
        ["parameters: " + str(60 + 33)],
    ]
    init = s.evaluate('NetInitialize[NetChain[{LinearLayer[10], Ramp}, "Input" -> 5]]')
    assert netdsl.output_form(init).splitlines()[0].split() == ["NetChain", "(initialized)"]


def test_named_chain_summary_shows_names_and_partial_shapes(s):
    net = s.evaluate('NetChain[<|"conv" -> ConvolutionLayer[8, {3, 3}], '
                     '"bn" -> BatchNormalizationLayer[], "pool" -> PoolingLayer[2, 2]|>]')
    assert rows(netdsl.output_form(net)) == [
        ["Input", "port", "3-tensor"],
        # the convolution's weights {8, n, 3, 3} are not known yet; BN has 4 arrays of 8
        ['"conv"', "ConvolutionLayer", "3-tensor of dimensions {8, n, n}", "?"],
        ['"bn"', "BatchNormalizationLayer", "3-tensor of dimensions {8, n, n}", str(4 * 8)],
        ['"pool"', "PoolingLayer", "3-tensor of dimensions {8, n, n}"],
        ["Output", "port", "3-tensor of dimensions {8, n, n}"],
        ["parameters: ?"],
    ]


def test_graph_summary_shows_where_each_layer_reads_from(s):
    net = s.evaluate('NetGraph[<|"a" -> LinearLayer[3], "b" -> LinearLayer[3], '
                     '"t" -> TotalLayer[]|>, {NetPort["x"] -> "a", NetPort["y"] -> "b", '
                     '{"a", "b"} -> "t"}, "x" -> 2, "y" -> 4]')
    assert rows(netdsl.output_form(net)) == [
        ["x", "port", "vector of size 2"],
        ["y", "port", "vector of size 4"],
        ['"a"', '<- NetPort["x"]', "LinearLayer", "vector of size 3", str(2 * 3 + 3)],
        ['"b"', '<- NetPort["y"]', "LinearLayer", "vector of size 3", str(4 * 3 + 3)],
        ['"t"', '<- "a", "b"', "TotalLayer", "vector of size 3"],
        ["Output", "port", "vector of size 3"],
        ["parameters: " + str(9 + 15)],
    ]


def test_layer_summary(s):
    text = netdsl.output_form(s.evaluate('BatchNormalizationLayer["Input" -> {3, 4, 4}]'))
    assert text.splitlines() == [
        "BatchNormalizationLayer  (uninitialized)",
        "  Parameters:  Epsilon 0.001, Momentum 0.9, Channels 3",
        "  Arrays:      Scaling {3}, Biases {3}, MovingMean {3}, MovingVariance {3}",
        "  Input:       3-tensor of dimensions {3, 4, 4}",
        "  Output:      3-tensor of dimensions {3, 4, 4}",
    ]
    text = netdsl.output_form(s.evaluate('NetInitialize[LinearLayer[3, "Input" -> 2]]'))
    assert text.splitlines()[0] == "LinearLayer  (initialized)"
    assert "  Arrays:      Weights {3, 2}, Biases {3}" in text.splitlines()


def test_nets_print_their_summary_from_the_command_line(tmp_path):
    import subprocess
    import sys
    f = tmp_path / "show.wl"
    f.write_text('NetChain[{LinearLayer[4], Tanh}, "Input" -> 2]\n', encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "netdsl", str(f)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Out[1]= NetChain  (uninitialized)")
    assert "ElementwiseLayer[Tanh]" in r.stdout and "vector of size 4" in r.stdout


# ---------------------------------------------------------------- Information
NET = ('net = NetChain[<|"conv" -> ConvolutionLayer[8, {3, 3}], '
       '"bn" -> BatchNormalizationLayer["Epsilon" -> 0.01], "relu" -> Ramp, '
       '"fc" -> LinearLayer[10]|>, "Input" -> {3, 8, 8}];')


def test_information(s):
    s.evaluate(NET)
    layers = s.evaluate('Information[net, "Layers"]')
    assert isinstance(layers, Association)
    assert [netdsl.input_form(k) for k in layers.keys()] == ['{"conv"}', '{"bn"}', '{"relu"}',
                                                            '{"fc"}']
    assert all(isinstance(v, Layer) for v in layers.values())
    assert netdsl.input_form(s.evaluate('Information[net, "InputPorts"]')) == \
        '<|"Input" -> {3, 8, 8}|>'
    assert netdsl.input_form(s.evaluate('Information[net, "OutputPorts"]')) == \
        '<|"Output" -> 10|>'
    assert s.evaluate('Information[net, "ArraysCount"]') == 2 + 4 + 2
    conv = 8 * 3 * 3 * 3 + 8                  # Weights {8, 3, 3, 3}, Biases {8}
    bn = 4 * 8                                # four arrays of the 8 channels
    fc = 10 * (8 * 6 * 6) + 10                # the 8 x 6 x 6 output flattened
    assert s.evaluate('Information[net, "ArraysTotalElementCount"]') == conv + bn + fc
    assert netdsl.input_form(s.evaluate('Information[net, "LayerTypeCounts"]')) == (
        '<|"ConvolutionLayer" -> 1, "BatchNormalizationLayer" -> 1, "ElementwiseLayer" -> 1, '
        '"LinearLayer" -> 1|>')
    with pytest.raises(EvaluationError, match='Information::notprop: "Foo" is not a known '
                                              'property'):
        s.evaluate('Information[net, "Foo"]')


def test_information_on_nested_and_graph_nets(s):
    layers = s.evaluate('Information[NetChain[{LinearLayer[3], {LinearLayer[4], Ramp}}], '
                        '"Layers"]')
    assert [netdsl.input_form(k) for k in layers.keys()] == ["{1}", "{2, 1}", "{2, 2}"]
    s.evaluate('g = NetGraph[{LinearLayer[3], LinearLayer[4], CatenateLayer[]}, {{1, 2} -> 3}, '
               '"Input" -> 2];')
    assert netdsl.input_form(s.evaluate('Information[g, "OutputPorts"]')) == '<|"Output" -> 7|>'
    assert s.evaluate('Information[g, "ArraysTotalElementCount"]') == (3 * 2 + 3) + (4 * 2 + 4)
    counts = s.evaluate('Information[g, "LayerTypeCounts"]')
    assert netdsl.input_form(counts) == '<|"LinearLayer" -> 2, "CatenateLayer" -> 1|>'
    # each key is a NetExtract path
    for key, value in s.evaluate('Information[NetChain[{LinearLayer[3], {LinearLayer[4], '
                                 'Ramp}}], "Layers"]').items():
        s["k"] = key
        assert s.evaluate("NetExtract[NetChain[{LinearLayer[3], {LinearLayer[4], Ramp}}], "
                          "k]").head_name == value.head_name


# ---------------------------------------------------------------- NetExtract
def test_net_extract(s):
    s.evaluate(NET)
    bn = s.evaluate('NetExtract[net, "bn"]')
    assert isinstance(bn, Layer) and bn.name == "BatchNormalizationLayer"
    assert s.evaluate("NetExtract[net, 2]") == bn
    assert s.evaluate('NetExtract[net, {2, "Epsilon"}]') == 0.01
    assert s.evaluate('NetExtract[net, {"bn", "Momentum"}]') == 0.9
    assert s.evaluate('NetExtract[BatchNormalizationLayer[], "Momentum"]') == 0.9
    assert s.evaluate('NetExtract[BatchNormalizationLayer["Epsilon" -> 0.5], "Epsilon"]') == 0.5
    assert s.evaluate("NetExtract[net, -1]").name == "LinearLayer"
    assert s.evaluate('NetExtract[net, {"conv", "OutputChannels"}]') == 8
    assert netdsl.input_form(s.evaluate('NetExtract[net, {"conv", "KernelSize"}]')) == "{3, 3}"
    assert s.evaluate('NetExtract[net, {"bn", "Channels"}]') == 8
    assert s.evaluate('NetExtract[net, {"conv", "Weights"}]') is netdsl.Symbol("Automatic")
    assert netdsl.input_form(s.evaluate('NetExtract[net, "Input"]')) == "{3, 8, 8}"
    assert netdsl.input_form(s.evaluate('NetExtract[net, {{1, "OutputChannels"}, '
                                        '{2, "Epsilon"}}]')) == "{8, 0.01}"
    inner = s.evaluate('NetExtract[NetChain[{LinearLayer[3], {LinearLayer[4], Ramp}}], {2, 1}]')
    assert inner.name == "LinearLayer" and inner.ports["Input"].shape == (3,)
    init = s.evaluate('NetInitialize[LinearLayer[2, "Input" -> 3, "Biases" -> {1, 2}]]')
    s["init"] = init
    assert np.asarray(s.evaluate('Normal[NetExtract[init, "Biases"]]')).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("spec, words", [
    ("7", "There is no layer 7: the net has 4 layers."),
    ('"zz"', '"zz" is not a layer, array, parameter, option or port of NetChain'),
    ('{"bn", "Foo"}', '"Foo" is not a layer, array, parameter, option or port of '
                      'BatchNormalizationLayer'),
])
def test_net_extract_errors(s, spec, words):
    s.evaluate(NET)
    with pytest.raises(EvaluationError) as info:
        s.evaluate(f"NetExtract[net, {spec}]")
    assert info.value.message.startswith("NetExtract::nopart: ")
    assert words in info.value.text


# ---------------------------------------------------------------- InputForm round trips
ROUND_TRIP = [
    'NetChain[{LinearLayer[10], Ramp, LinearLayer[3], SoftmaxLayer[]}, "Input" -> 5]',
    'NetChain[<|"conv" -> ConvolutionLayer[8, {3, 3}, "PaddingSize" -> {{1, 0}, {2, 3}}], '
    '"bn" -> BatchNormalizationLayer["Epsilon" -> 0.01, "Momentum" -> 0.5], "relu" -> Ramp, '
    '"pool" -> PoolingLayer[{2, 2}, {2, 1}, "Function" -> Mean], "flat" -> FlattenLayer[], '
    '"fc" -> LinearLayer[10]|>, "Input" -> {3, 16, 16}]',
    "NetChain[{ConvolutionLayer[8, {3, 3}], BatchNormalizationLayer[], Ramp}]",      # partial
    'NetChain[{5, Tanh, {3, LogisticSigmoid}, NetChain[<|"x" -> DropoutLayer[0.3]|>]}, '
    '"Input" -> 2]',
    'NetChain[{ConvolutionLayer[4, 3, "Stride" -> 2, "PaddingSize" -> "Same", '
    '"ChannelGroups" -> 2, "Dilation" -> {1, 2}], PoolingLayer[3, "PaddingSize" -> 1]}, '
    '"Input" -> {6, 9, 9}]',
    'NetChain[{ElementwiseLayer[Max[#, 0.1 #] &], ReshapeLayer[{2, Automatic}], '
    'FlattenLayer[-1], LinearLayer[{}]}, "Input" -> {3, 4}]',
    'NetGraph[<|"a" -> LinearLayer[3], "b" -> LinearLayer[3], "t" -> TotalLayer[]|>, '
    '{NetPort["x"] -> "a", NetPort["y"] -> "b", {"a", "b"} -> "t", "t" -> NetPort["sum"]}, '
    '"x" -> 2, "y" -> 4]',
    'NetGraph[{LinearLayer[3], Ramp, CatenateLayer[], ThreadingLayer[#1 * #2 &]}, '
    '{1 -> 2, {1, 2} -> 3, {1, 2} -> 4, 4 -> NetPort["Product"]}, "Input" -> 5]',
    'NetGraph[{LinearLayer[3], SoftmaxLayer[], CrossEntropyLossLayer["Index"]}, '
    '{1 -> 2 -> NetPort[3, "Input"], 2 -> NetPort["Probs"]}, "Input" -> 4]',
    'NetGraph[{MeanSquaredLossLayer[], SummationLayer[]}, {NetPort[1, "Loss"] -> 2}, '
    '"Input" -> {2, 3}]',
    'NetInitialize[NetChain[{LinearLayer[2], BatchNormalizationLayer[]}, "Input" -> 3]]',
    'NetInitialize[NetGraph[<|"c" -> ConvolutionLayer[2, {2, 2}, "Biases" -> None]|>, '
    '{NetPort["Image"] -> "c"}, "Image" -> {1, 3, 3}]]',
    'NetChain[{LinearLayer[4, "Weights" -> NetSharedArray["w"]], '
    'LinearLayer[4, "Weights" -> NetSharedArray["w"]]}, "Input" -> 4]',
    'BatchNormalizationLayer["Biases" -> {1, 2, 3}]',
    'ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1, "Input" -> {3, 32, 32}]',
    'PoolingLayer[{2, 2}, {2, 2}, "Function" -> Total]',
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_input_form_parses_back_to_an_equal_net(text):
    net = netdsl.evaluate(text)
    again = netdsl.evaluate(netdsl.input_form(net))
    assert type(again) is type(net)
    assert again == net
    if isinstance(net, Container):
        assert again.port_names() == net.port_names()
        assert set(again.graph.edges) == set(net.graph.edges)
    assert netdsl.input_form(again) == netdsl.input_form(net)      # and prints the same


def test_input_form_keeps_array_values():
    net = netdsl.evaluate('NetChain[{LinearLayer[2, "Weights" -> {{1, 2}, {3, 4}}, '
                          '"Biases" -> {0.5, -1}]}]')
    again = netdsl.evaluate(netdsl.input_form(net))
    w = again.net("1").arrays["Weights"]
    assert w.tolist() == [[1, 2], [3, 4]] and again.net("1").arrays["Biases"].tolist() == [0.5, -1]


def test_input_form_of_a_layer_is_its_wolfram_call():
    assert netdsl.input_form(netdsl.evaluate("BatchNormalizationLayer[]")) == \
        "BatchNormalizationLayer[]"
    assert netdsl.input_form(netdsl.evaluate('LinearLayer[3, "Input" -> 2]')) == \
        'LinearLayer[3, "Input" -> 2]'
    assert isinstance(netdsl.parse(netdsl.input_form(netdsl.evaluate("DropoutLayer[]"))), Expr)
