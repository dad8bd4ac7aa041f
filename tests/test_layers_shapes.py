"""Layer declarations, construction errors and every layer's shape rule (both directions).

Expected sizes are written out here: the convolution/pooling sizes come from Wolfram's
formula Floor[(n + p_before + p_after - (d (k - 1) + 1))/s] + 1, computed by ``out_size``
below, never from netdsl's own code.
"""

from __future__ import annotations

import math

import pytest

import netdsl
from netdsl import EvaluationError, ShapeError
from netdsl.layers import LAYER_TYPES
from netdsl.layers.base import Layer


def ev(text: str):
    return netdsl.evaluate(text)


def layer(text: str) -> Layer:
    value = ev(text)
    assert isinstance(value, Layer), text
    return value


def shape(net, port: str = "Output"):
    return net.ports[port].shape


def out_size(n: int, k: int, s: int = 1, before: int = 0, after: int = 0, d: int = 1) -> int:
    """Wolfram's convolution/pooling output size, written out."""
    return math.floor((n + before + after - (d * (k - 1) + 1)) / s) + 1


# ---------------------------------------------------------------- the catalogue
CATALOGUE = ["BatchNormalizationLayer", "ConvolutionLayer", "PoolingLayer", "LinearLayer",
             "ElementwiseLayer", "SoftmaxLayer", "FlattenLayer", "ReshapeLayer", "DropoutLayer",
             "CatenateLayer", "TotalLayer", "ThreadingLayer", "SummationLayer",
             "MeanSquaredLossLayer", "CrossEntropyLossLayer",
             # issue 10
             "PartLayer", "TransposeLayer", "ReplicateLayer", "PaddingLayer", "ResizeLayer",
             "AggregationLayer", "ConstantTimesLayer", "ConstantPlusLayer",
             "ConstantArrayLayer", "NetArrayLayer", "ParametricRampLayer",
             "DeconvolutionLayer", "NormalizationLayer", "EmbeddingLayer", "DotLayer",
             "DotPlusLayer"]


@pytest.mark.parametrize("name", CATALOGUE)
def test_every_catalogue_layer_is_declared_once_under_its_wolfram_name(name):
    cls = LAYER_TYPES[name]
    assert cls.name == name
    assert [c for c in LAYER_TYPES.values() if c.name == name] == [cls]
    # declared names are unique within a layer
    names = [o.name for o in cls.options] + [p.name for p in cls.positional]
    assert len(names) == len(set(names))


def test_batchnorm_declaration_matches_wolfram():
    cls = LAYER_TYPES["BatchNormalizationLayer"]
    defaults = {o.name: o.default for o in cls.options}
    assert defaults["Epsilon"] == 0.001 and defaults["Momentum"] == 0.9
    assert [a.name for a in cls.array_specs] == ["Scaling", "Biases", "MovingMean",
                                                 "MovingVariance"]
    assert [a.name for a in cls.array_specs if a.aux] == ["MovingMean", "MovingVariance"]
    bn = layer("BatchNormalizationLayer[]")
    assert bn.values["Epsilon"] == 0.001 and bn.values["Momentum"] == 0.9


def test_convolution_and_linear_declarations():
    conv = LAYER_TYPES["ConvolutionLayer"]
    assert {o.name for o in conv.options} >= {"Stride", "PaddingSize", "Dilation",
                                              "ChannelGroups"}
    assert [a.name for a in conv.array_specs] == ["Weights", "Biases"]
    assert [a.name for a in LAYER_TYPES["LinearLayer"].array_specs] == ["Weights", "Biases"]
    pool = LAYER_TYPES["PoolingLayer"]
    assert {o.name for o in pool.options} >= {"PaddingSize", "Function"}


@pytest.mark.parametrize("symbolic, quoted, default", [
    ("ConvolutionLayer[16, {3, 3}, PaddingSize -> 1, Stride -> 2]",
     'ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1, "Stride" -> 2]',
     "ConvolutionLayer[16, {3, 3}]"),
    ("BatchNormalizationLayer[Epsilon -> 0.01, Momentum -> 0.5]",
     'BatchNormalizationLayer["Epsilon" -> 0.01, "Momentum" -> 0.5]',
     "BatchNormalizationLayer[]"),
    ("PoolingLayer[{2, 2}, PaddingSize -> {1, 1}]",
     'PoolingLayer[{2, 2}, "PaddingSize" -> {1, 1}]',
     "PoolingLayer[{2, 2}]"),
])
def test_option_names_as_symbols_or_strings(symbolic, quoted, default):
    a, b = layer(symbolic), layer(quoted)
    assert a == b
    assert a != layer(default)          # the option took effect


# ---------------------------------------------------------------- construction errors
@pytest.mark.parametrize("text, tag, words", [
    # unknown options: the layer, the option, and what is valid
    ('ConvolutionLayer[16, {3, 3}, "Strides" -> 2]', "optx", ['"Strides"', "Stride"]),
    ("BatchNormalizationLayer[Epsillon -> 0.1]", "optx", ["Epsillon", "Epsilon"]),
    ('LinearLayer[10, "Foo" -> 3]', "optx", ['"Foo"', "LinearLayer"]),
    # wrong option types
    ('ConvolutionLayer[16, {3, 3}, "Stride" -> "a"]', "invopt", ["Stride"]),
    ('BatchNormalizationLayer["Epsilon" -> "x"]', "invopt", ["Epsilon"]),
    ('BatchNormalizationLayer["Momentum" -> 2]', "invopt", ["Momentum"]),
    ('PoolingLayer[{2, 2}, "Function" -> Min]', "invopt", ["Function"]),
    ('CrossEntropyLossLayer["Foo"]', "invopt", ["TargetForm"]),
    ('ConvolutionLayer[4, {3, 3}, "PaddingSize" -> "Valid"]', "invopt", ["PaddingSize"]),
    # negative or zero sizes
    ("LinearLayer[0]", "invopt", ["OutputDimensions", "0"]),
    ("LinearLayer[-3]", "invopt", ["OutputDimensions", "-3"]),
    ("ConvolutionLayer[0, {3, 3}]", "invopt", ["OutputChannels"]),
    ("ConvolutionLayer[4, {3, -1}]", "invopt", ["KernelSize"]),
    ('ConvolutionLayer[4, {3, 3}, "Stride" -> 0]', "invopt", ["Stride"]),
    ('ConvolutionLayer[4, {3, 3}, "Dilation" -> -1]', "invopt", ["Dilation"]),
    ('ConvolutionLayer[4, {3, 3}, "PaddingSize" -> -1]', "invopt", ["PaddingSize"]),
    ('ConvolutionLayer[4, {3, 3}, "ChannelGroups" -> 0]', "invopt", ["ChannelGroups"]),
    ("PoolingLayer[0]", "invopt", ["KernelSize"]),
    ("PoolingLayer[2, 0]", "invopt", ["Stride"]),
    ("ReshapeLayer[{0, 6}]", "invopt", ["Dimensions"]),
    ("DropoutLayer[1.5]", "invopt", ["DropoutProbability"]),
    ('LinearLayer[3, "Input" -> 0]', "invspec", ['"Input"']),
    ('BatchNormalizationLayer["Input" -> {3, -2}]', "invspec", ['"Input"']),
    # arrays that are not arrays
    ('LinearLayer[3, "Weights" -> "abc"]', "invarr", ['"Weights"']),
    ('LinearLayer[3, "Weights" -> {{1, 2}, {3}}]', "invarr", ['"Weights"']),
    ('BatchNormalizationLayer["Scaling" -> None]', "invarr", ['"Scaling"']),
    # positional arguments
    ("LinearLayer[3, 4]", "argx", ["LinearLayer"]),
    ("BatchNormalizationLayer[3]", "argx", ["BatchNormalizationLayer"]),
])
def test_construction_errors_name_the_layer_and_the_option(text, tag, words):
    head = text.split("[", 1)[0]
    with pytest.raises(EvaluationError) as info:
        ev(text)
    e = info.value
    assert (e.symbol, e.tag) == (head, tag)
    assert e.message.startswith(f"{head}::{tag}: ")
    for w in words:
        assert w in e.text, (w, e.text)
    assert e.span is not None and (e.line, e.column) == (1, 1)


@pytest.mark.parametrize("text, words", [
    # arrays of the wrong shape: named with their dimensions and what they clash with
    ('LinearLayer[3, "Biases" -> {1, 2}]',
     'Dimension of array "Biases" (vector of size 2) is inconsistent with dimension of '
     'parameter "OutputDimensions" (3).'),
    ('ConvolutionLayer[4, {3, 3}, "Biases" -> {1, 2, 3}]',
     'Dimension of array "Biases" (vector of size 3) is inconsistent with dimension of '
     'parameter "OutputChannels" (4).'),
    ('ConvolutionLayer[4, {3, 3}, "Weights" -> ConstantArray[0., {4, 5, 3, 2}]]',
     'Dimension of array "Weights" (4-tensor of dimensions {4, 5, 3, 2}) is inconsistent '
     'with dimension of parameter "KernelSize" ({3, 3}).'),
    ('ConvolutionLayer[4, {3, 3}, "Weights" -> {1, 2, 3}]',
     'Rank of array "Weights" (vector of size 3)'),
    ('BatchNormalizationLayer["Biases" -> {{1, 2, 3}}]',
     'Rank of array "Biases" (matrix of dimensions {1, 3})'),
    ('BatchNormalizationLayer["Scaling" -> {1, 2}, "Biases" -> {1, 2, 3}]',
     'Dimension of array "Biases" (vector of size 3) is inconsistent with dimension of '
     'parameter "Channels" (2).'),
    ('LinearLayer[3, "Weights" -> ConstantArray[0., {3, 2}], "Input" -> 4]',
     '"InputSize" (2) is inconsistent with value of "Input" port (4).'),
])
def test_arrays_of_the_wrong_shape(text, words):
    head = text.split("[", 1)[0]
    with pytest.raises(ShapeError) as info:
        ev(text)
    assert info.value.message.startswith(f"{head}::tyinc: ")
    assert words in info.value.text


# ---------------------------------------------------------------- BatchNormalizationLayer
def test_batchnorm_input_forms_and_channels():
    bn = layer('BatchNormalizationLayer["Input" -> 3]')
    assert shape(bn, "Input") == (3,) and shape(bn) == (3,) and bn.values["Channels"] == 3
    assert bn.array_shapes() == {"Scaling": (3,), "Biases": (3,), "MovingMean": (3,),
                                 "MovingVariance": (3,)}
    bn = layer('BatchNormalizationLayer["Input" -> {3, 32, 32}]')
    assert shape(bn) == (3, 32, 32) and bn.values["Channels"] == 3


def test_batchnorm_explicit_biases_fix_the_channel_count():
    bn = layer('BatchNormalizationLayer["Biases" -> {1, 2, 3}]')
    assert bn.values["Channels"] == 3
    assert bn.array_shapes()["MovingVariance"] == (3,)
    net = ev('NetChain[{ConvolutionLayer[3, {3, 3}], '
             'BatchNormalizationLayer["Biases" -> {1, 2, 3}]}, "Input" -> {1, 8, 8}]')
    assert shape(net) == (3, 6, 6)
    with pytest.raises(ShapeError, match='parameter "Channels"'):
        ev('NetChain[{ConvolutionLayer[4, {3, 3}], '
           'BatchNormalizationLayer["Biases" -> {1, 2, 3}]}, "Input" -> {1, 8, 8}]')


def test_batchnorm_backward_and_rank_zero():
    bn = layer('BatchNormalizationLayer["Output" -> {4, 2}]')
    assert shape(bn, "Input") == (4, 2) and bn.values["Channels"] == 4
    with pytest.raises(ShapeError, match="valfail"):
        ev('BatchNormalizationLayer["Input" -> "Real"]')


# ---------------------------------------------------------------- ConvolutionLayer
CONV_CASES = [
    # input {c, h, w}, kernel, options text, (stride, pads ((b, a) per dim), dilation) per dim
    ((3, 32, 32), (3, 3), "", [(1, (0, 0), 1), (1, (0, 0), 1)]),
    ((3, 32, 32), (3, 3), '"PaddingSize" -> 1', [(1, (1, 1), 1), (1, (1, 1), 1)]),
    ((3, 32, 32), (3, 3), '"Stride" -> 2, "PaddingSize" -> 1', [(2, (1, 1), 1)] * 2),
    ((3, 28, 28), (5, 5), '"Stride" -> 3', [(3, (0, 0), 1)] * 2),
    ((3, 17, 20), (3, 3), '"Stride" -> {2, 1}, "Dilation" -> {1, 2}, '
                          '"PaddingSize" -> {{1, 0}, {2, 3}}',
     [(2, (1, 0), 1), (1, (2, 3), 2)]),
    ((2, 9, 11), (2, 4), '"PaddingSize" -> {0, 2}, "Dilation" -> 3',
     [(1, (0, 0), 3), (1, (2, 2), 3)]),
    ((1, 7, 7), (7, 7), "", [(1, (0, 0), 1)] * 2),                       # output 1 x 1
    ((4, 10, 10), (1, 1), '"Stride" -> 4', [(4, (0, 0), 1)] * 2),
]


@pytest.mark.parametrize("x, k, opts, per_dim", CONV_CASES)
def test_convolution_output_size_formula(x, k, opts, per_dim):
    sep = ", " if opts else ""
    text = (f"ConvolutionLayer[5, {{{k[0]}, {k[1]}}}{sep}{opts}, "
            f'"Input" -> {{{x[0]}, {x[1]}, {x[2]}}}]')
    conv = layer(text)
    expected = tuple(out_size(n, kk, s, b, a, d)
                     for n, kk, (s, (b, a), d) in zip(x[1:], k, per_dim))
    assert shape(conv) == (5,) + expected
    assert conv.array_shapes() == {"Weights": (5, x[0]) + k, "Biases": (5,)}


@pytest.mark.parametrize("n, k, s", [(17, 3, 2), (20, 3, 2), (8, 3, 1), (9, 5, 3), (1, 3, 1)])
def test_convolution_same_padding(n, k, s):
    conv = layer(f'ConvolutionLayer[2, {{{k}, {k}}}, "PaddingSize" -> "Same", "Stride" -> {s}, '
                 f'"Input" -> {{3, {n}, {n + 1}}}]')
    assert shape(conv) == (2, math.ceil(n / s), math.ceil((n + 1) / s))   # input/stride, up


def test_convolution_1d_and_3d_and_scalar_kernel():
    assert shape(layer('ConvolutionLayer[4, {3}, "Input" -> {2, 10}]')) == (4, out_size(10, 3))
    c = layer('ConvolutionLayer[4, 3, "Input" -> {2, 10}]')       # [n, k]: 1-D from the input
    assert shape(c) == (4, 8) and c.values["KernelSize"] == (3,)
    c = layer('ConvolutionLayer[4, 3, "Input" -> {2, 10, 12}]')   # [n, k]: k x k in 2-D
    assert shape(c) == (4, 8, 10) and c.array_shapes()["Weights"] == (4, 2, 3, 3)
    c = layer('ConvolutionLayer[4, {3, 3, 2}, "Stride" -> 2, "Input" -> {2, 10, 10, 9}]')
    assert shape(c) == (4, out_size(10, 3, 2), out_size(10, 3, 2), out_size(9, 2, 2))


def test_convolution_channel_groups():
    c = layer('ConvolutionLayer[4, {3, 3}, "ChannelGroups" -> 2, "Input" -> {6, 10, 10}]')
    assert c.array_shapes()["Weights"] == (4, 6 // 2, 3, 3)        # {n, c/g, kh, kw}
    with pytest.raises(ShapeError, match=r"input channels \(6\) must be divisible by "
                                         r'"ChannelGroups" \(4\)'):
        ev('ConvolutionLayer[4, {3, 3}, "ChannelGroups" -> 4, "Input" -> {6, 10, 10}]')
    with pytest.raises(ShapeError, match=r"output channels \(6\) must be divisible"):
        ev('ConvolutionLayer[6, {3, 3}, "ChannelGroups" -> 4, "Input" -> {8, 10, 10}]')


def test_convolution_weights_fix_sizes():
    c = layer('ConvolutionLayer[4, 3, "Weights" -> ConstantArray[0., {4, 5, 3, 3}]]')
    assert c.values["KernelSize"] == (3, 3) and c.values["InputChannels"] == 5
    assert shape(c, "Input") == (5, None, None) and shape(c) == (4, None, None)
    with pytest.raises(ShapeError, match='"InputChannels" \\(3\\)'):
        ev('ConvolutionLayer[4, {3, 3}, "Weights" -> ConstantArray[0., {4, 2, 3, 3}], '
           '"Input" -> {3, 8, 8}]')


@pytest.mark.parametrize("text, words", [
    ('ConvolutionLayer[2, {5}, "Input" -> {1, 3}]', "Floor[(3 + 0 - 5)/1] + 1 = -1"),
    ('ConvolutionLayer[2, {3, 3}, "Input" -> {1, 2, 5}]', "Floor[(2 + 0 - 3)/1] + 1 = 0"),
    ('ConvolutionLayer[2, {3, 3}, "Dilation" -> 4, "Input" -> {3, 8, 8}]',
     "window of size 9 (kernel 3, dilation 4)"),
    ('PoolingLayer[{3, 3}, "Input" -> {1, 2, 5}]', "Floor[(2 + 0 - 3)/1] + 1 = 0"),
    ('PoolingLayer[{4, 4}, 2, "Input" -> {1, 6, 2}]', "Floor[(2 + 0 - 4)/2] + 1 = 0"),
])
def test_empty_outputs_say_so_with_the_numbers(text, words):
    head = text.split("[", 1)[0]
    with pytest.raises(ShapeError) as info:
        ev(text)
    assert info.value.message.startswith(f"{head}::valfail: Validation failed for {head}: "
                                         "output dimensions cannot be smaller than 1")
    assert words in info.value.text


def test_convolution_rank_and_setting_mismatches():
    with pytest.raises(ShapeError, match=r'Rank of "Input" port \(matrix of dimensions'):
        ev('ConvolutionLayer[4, {3, 3}, "Input" -> {3, 8}]')
    with pytest.raises(ShapeError, match="Stride has 3 entries but the input has 2 spatial"):
        ev('ConvolutionLayer[4, {3, 3}, "Stride" -> {1, 1, 1}, "Input" -> {3, 8, 8}]')


@pytest.mark.parametrize("k, pad, dil, o", [(3, 0, 1, 8), (3, 1, 1, 8), (5, 0, 2, 4),
                                            (2, 0, 1, 1)])
def test_convolution_backward_input_from_output_at_stride_1(k, pad, dil, o):
    c = layer(f'ConvolutionLayer[4, {{{k}, {k}}}, "PaddingSize" -> {pad}, "Dilation" -> {dil}, '
              f'"Output" -> {{4, {o}, {o}}}]')
    n = o - 1 + dil * (k - 1) + 1 - 2 * pad           # the formula solved for n at stride 1
    assert shape(c, "Input") == (None, n, n)
    assert out_size(n, k, 1, pad, pad, dil) == o


def test_convolution_backward_not_determined_at_larger_stride():
    c = layer('ConvolutionLayer[4, {3, 3}, "Stride" -> 2, "Output" -> {4, 8, 8}]')
    assert shape(c, "Input") == (None, None, None)       # 17 and 18 both give 8
    assert out_size(17, 3, 2) == out_size(18, 3, 2) == 8
    with pytest.raises(ShapeError, match="no input gives an output of size 2"):
        ev('ConvolutionLayer[4, {1, 1}, "PaddingSize" -> 3, "Output" -> {4, 2, 2}]')


# ---------------------------------------------------------------- PoolingLayer
@pytest.mark.parametrize("form, k, s", [
    ("PoolingLayer[{2, 2}]", 2, 1),                   # default stride 1
    ("PoolingLayer[3]", 3, 1),
    ("PoolingLayer[2, 2]", 2, 2),                     # [k, s]
    ("PoolingLayer[{3, 3}, {2, 2}]", 3, 2),           # [{kh, kw}, {sh, sw}]
    ("PoolingLayer[{3, 3}, 3]", 3, 3),
])
def test_pooling_second_argument_is_the_stride(form, k, s):
    p = layer(form[:-1] + ', "Input" -> {3, 9, 10}]')
    assert shape(p) == (3, out_size(9, k, s), out_size(10, k, s))


def test_pooling_padding_function_and_rank():
    p = layer('PoolingLayer[{3, 3}, 2, "PaddingSize" -> 1, "Input" -> {3, 8, 8}]')
    assert shape(p) == (3, out_size(8, 3, 2, 1, 1), out_size(8, 3, 2, 1, 1))
    p = layer('PoolingLayer[3, "PaddingSize" -> "Same", "Input" -> {3, 8, 9}]')
    assert shape(p) == (3, 8, 9)
    p = layer('PoolingLayer[{2, 2}, "PaddingSize" -> {{0, 1}, {1, 1}}, "Input" -> {2, 5, 5}]')
    assert shape(p) == (2, out_size(5, 2, 1, 0, 1), out_size(5, 2, 1, 1, 1))
    p = layer('PoolingLayer[{2}, "Input" -> {3, 8}]')
    assert shape(p) == (3, out_size(8, 2))
    for fn in ("Max", "Mean", "Total"):
        assert layer(f'PoolingLayer[2, "Function" -> {fn}]').values["Function"].name == fn


def test_pooling_backward_channels_and_sizes():
    p = layer('PoolingLayer[{2, 2}, "Output" -> {3, 4, 4}]')
    assert shape(p, "Input") == (3, 4 - 1 + 2, 4 - 1 + 2)
    p = layer('PoolingLayer[{2, 2}, 2, "Output" -> {3, 4, 4}]')
    assert shape(p, "Input") == (3, None, None)           # channels pass through, sizes open


# ---------------------------------------------------------------- LinearLayer
def test_linear_forms():
    lin = layer('LinearLayer[5, "Input" -> 3]')
    assert shape(lin) == (5,) and lin.array_shapes() == {"Weights": (5, 3), "Biases": (5,)}
    lin = layer('LinearLayer[{2, 3}, "Input" -> {4, 5}]')
    assert shape(lin) == (2, 3) and lin.array_shapes()["Weights"] == (2 * 3, 4 * 5)
    lin = layer('LinearLayer[{}, "Input" -> 4]')
    assert shape(lin) == () and lin.array_shapes()["Weights"] == (1, 4)
    lin = layer('LinearLayer["Input" -> 4, "Output" -> 7]')       # [] with the output given
    assert lin.values["OutputDimensions"] == (7,) and lin.array_shapes()["Weights"] == (7, 4)
    lin = layer("LinearLayer[]")
    assert shape(lin) is None and lin.array_shapes()["Weights"] == (None, None)


def test_linear_weights_fix_sizes():
    lin = layer('LinearLayer["Weights" -> ConstantArray[0., {5, 3}]]')
    assert shape(lin) == (5,) and lin.values["InputSize"] == 3
    net = ev('NetChain[{LinearLayer["Weights" -> ConstantArray[0., {5, 3}]]}]')
    assert shape(net, "Input") == (3,)                       # a vector when nothing else says
    with pytest.raises(ShapeError, match='"OutputDimensions" \\(\\{5\\}\\) is inconsistent '
                                         'with value of "Output" port \\(\\{6\\}\\)'):
        ev('LinearLayer[5, "Output" -> 6]')
    # a scalar input is one number (Wolfram: "Input" -> "Real"): weights {5, 1}
    lin = ev('LinearLayer[5, "Input" -> "Real"]')
    assert shape(lin) == (5,) and lin.array_shapes()["Weights"] == (5, 1)


# ---------------------------------------------------------------- ElementwiseLayer
@pytest.mark.parametrize("f", ["Ramp", "Tanh", "LogisticSigmoid", "Exp", "Log", "Sqrt", "Abs",
                               "Sin", "Cos", "#^2 &", "Max[#, 0.1 #] &", "Min[#, 1] + 2 # &"])
def test_elementwise_functions(f):
    e = layer(f'ElementwiseLayer[{f}, "Input" -> {{2, 3}}]')
    assert shape(e) == (2, 3)
    e = layer(f'ElementwiseLayer[{f}, "Output" -> 4]')           # backward: same shape
    assert shape(e, "Input") == (4,)


def test_elementwise_values():
    assert ev("ElementwiseLayer[#^2 &][{1, 2, 3}]").tolist() == [1.0, 4.0, 9.0]
    got = ev("ElementwiseLayer[Max[#, 0.1 #] &][{-10, 5}]").tolist()
    assert got == pytest.approx([-1.0, 5.0])
    assert ev("ElementwiseLayer[Ramp][{-1, 2}]").tolist() == [0.0, 2.0]


@pytest.mark.parametrize("f", ["Total", "Sort", "Total[#] &", "#[[1]] &", "Foo", "Dot",
                               "Length[#] &", "3"])
def test_non_elementwise_functions_rejected_at_construction(f):
    with pytest.raises(EvaluationError) as info:
        ev(f"ElementwiseLayer[{f}]")
    assert info.value.message.startswith("ElementwiseLayer::invopt: The value of Function")


# ---------------------------------------------------------------- the simple layers
def test_softmax_flatten_reshape_dropout_summation():
    assert shape(layer('SoftmaxLayer["Input" -> {3, 4}]')) == (3, 4)
    assert shape(layer('SoftmaxLayer["Output" -> 5]'), "Input") == (5,)
    with pytest.raises(ShapeError, match="valfail"):
        ev('SoftmaxLayer["Input" -> "Real"]')
    assert shape(layer('FlattenLayer["Input" -> {3, 4, 5}]')) == (3 * 4 * 5,)
    assert shape(layer('FlattenLayer[1, "Input" -> {3, 4, 5}]')) == (3 * 4, 5)
    assert shape(layer('FlattenLayer[-1, "Input" -> {3, 4, 5}]')) == (3, 4 * 5)
    assert shape(layer('ReshapeLayer[{2, 6}, "Input" -> {3, 4}]')) == (2, 6)
    assert shape(layer('ReshapeLayer[{2, Automatic}, "Input" -> {3, 4}]')) == (2, 12 // 2)
    with pytest.raises(ShapeError, match="the input has 12 elements, but dimensions "
                                         r"\{5, 2\} hold 10"):
        ev('ReshapeLayer[{5, 2}, "Input" -> {3, 4}]')
    with pytest.raises(ShapeError, match=r"cannot reshape 12 elements to \{5, Automatic\}"):
        ev('ReshapeLayer[{5, Automatic}, "Input" -> {3, 4}]')
    d = layer('DropoutLayer[0.3, "Input" -> {3, 4}]')
    assert shape(d) == (3, 4) and d.values["DropoutProbability"] == 0.3
    assert layer("DropoutLayer[]").values["DropoutProbability"] == 0.5
    assert shape(layer('DropoutLayer["Output" -> 4]'), "Input") == (4,)
    assert shape(layer('SummationLayer["Input" -> {3, 4}]')) == ()


def test_catenate_total_threading():
    c = layer('CatenateLayer["Input1" -> {2, 3}, "Input2" -> {4, 3}]')
    assert shape(c) == (2 + 4, 3)
    c = layer('CatenateLayer["Input1" -> {2, 3}, "Output" -> {7, 3}]')
    assert shape(c, "Input2") == (7 - 2, 3)                  # backward: the rest
    with pytest.raises(ShapeError, match="cannot catenate when off-level dimensions 3 and 5 do "
                                         "not match"):                    # Wolfram's words
        ev('CatenateLayer["Input1" -> {2, 3}, "Input2" -> {4, 5}]')
    t = layer('TotalLayer["Input1" -> {2, 3}]')
    assert shape(t, "Input2") == (2, 3) and shape(t) == (2, 3)
    t = layer('TotalLayer["Output" -> 5]')
    assert shape(t, "Input1") == shape(t, "Input2") == (5,)
    with pytest.raises(ShapeError) as info:
        ev('TotalLayer["Input1" -> {2, 3}, "Input2" -> {2, 4}]')
    assert info.value.text == ('Dimension of "Input1" port (matrix of dimensions {2, 3}) is '
                               'inconsistent with dimension of "Input2" port (matrix of '
                               'dimensions {2, 4}).')
    th = layer('ThreadingLayer[Plus, "Input1" -> 3]')
    assert shape(th, "Input2") == (3,) and shape(th) == (3,)
    th = layer("ThreadingLayer[#1 * #2 + #3 &]")
    assert th.port_names()[0] == ("Input1", "Input2", "Input3")
    with pytest.raises(EvaluationError, match="ThreadingLayer::invopt"):
        ev("ThreadingLayer[Sort]")


def test_loss_layers():
    m = layer('MeanSquaredLossLayer["Input" -> {3, 2}]')
    assert shape(m, "Target") == (3, 2) and shape(m, "Loss") == ()
    assert shape(layer('MeanSquaredLossLayer["Target" -> 4]'), "Input") == (4,)
    with pytest.raises(ShapeError, match='"Input" port \\(vector of size 3\\) is inconsistent '
                                         'with dimension of "Target" port'):
        ev('MeanSquaredLossLayer["Input" -> 3, "Target" -> 4]')
    ce = layer('CrossEntropyLossLayer["Index", "Input" -> 10]')
    t = ce.ports["Target"]
    assert t.integer and t.shape == () and t.classes == 10 and shape(ce, "Loss") == ()
    ce = layer('CrossEntropyLossLayer["Index", "Input" -> {4, 10}]')
    assert shape(ce, "Target") == (4,) and ce.ports["Target"].integer
    ce = layer('CrossEntropyLossLayer["Probabilities", "Input" -> 5]')
    assert shape(ce, "Target") == (5,) and not ce.ports["Target"].integer
