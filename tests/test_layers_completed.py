"""Existing layers completed (issue 10): LinearLayer on a scalar, DotPlusLayer, Options[layer],
per-dimension NetExtract of window options, and the validation errors Wolfram gives for a
pooling padding not below the kernel and a flatten level not below the input rank."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl import ShapeError
from layer_harness import build, forward


def ev(text):
    return netdsl.evaluate(text)


def test_linear_on_a_real_input():
    layer = build('LinearLayer[3, "Input" -> "Real"]')
    w, b = np.array([[1.0], [2.0], [-1.0]]), np.array([0.5, 0.0, 1.0])
    (y,) = forward(layer, {"Weights": w, "Biases": b}, np.array([2.0, -1.0]))
    np.testing.assert_allclose(y, [[2.5, 4.0, -1.0], [-0.5, -2.0, 2.0]])


def test_dotplus_is_the_old_name_of_linear():
    layer = ev('DotPlusLayer[3, "Input" -> 2]')
    assert layer.name == "DotPlusLayer" and layer.array_shapes() == {"Weights": (3, 2),
                                                                     "Biases": (3,)}
    assert layer.input_form() == 'DotPlusLayer[3, "Input" -> 2]'
    # an integer in a chain is still a LinearLayer
    assert ev("NetChain[{3}]").net(ev("NetChain[{3}]").order[0]).name == "LinearLayer"


def test_options_of_a_layer():
    opts = ev('Options[LinearLayer[3]]')
    keys = [r.args[0] for r in opts.args]
    assert keys == ["Biases", "Input", "LearningRateMultipliers", "Output", "Weights"]
    assert ev('Options[LinearLayer[3], "Output"]').args[0].args[1] == 3
    conv = ev('Options[ConvolutionLayer[2, 3, "Stride" -> 2, "Input" -> {1, 7, 7}]]')
    values = {r.args[0]: r.args[1] for r in conv.args}
    assert netdsl.input_form(values["Stride"]) == "{2, 2}"
    assert netdsl.input_form(values["Input"]) == "{1, 7, 7}"
    assert netdsl.input_form(ev("Options[foo]")) == "Options[foo]"


@pytest.mark.parametrize("text,name,expected", [
    ('ConvolutionLayer[2, 3, "Input" -> {1, 5, 5}]', "Stride", "{1, 1}"),
    ('ConvolutionLayer[2, 3, "Input" -> {1, 5, 5}]', "PaddingSize", "{{0, 0}, {0, 0}}"),
    ('ConvolutionLayer[2, 3, "PaddingSize" -> 1, "Input" -> {1, 5, 5}]', "PaddingSize",
     "{{1, 1}, {1, 1}}"),
    ('ConvolutionLayer[2, {3, 2}, "PaddingSize" -> "Same", "Input" -> {1, 5, 6}]', "PaddingSize",
     "{{1, 1}, {0, 1}}"),
    ('ConvolutionLayer[2, 3, "Input" -> {1, 5, 5}]', "KernelSize", "{3, 3}"),
    ('ConvolutionLayer[2, 3, "Input" -> {1, 5, 5}]', "Dilation", "{1, 1}"),
    ('PoolingLayer[2, 2, "Input" -> {1, 4, 4, 4}]', "Stride", "{2, 2, 2}"),
])
def test_per_dimension_extract(text, name, expected):
    assert netdsl.input_form(ev(f'NetExtract[{text}, "{name}"]')) == expected


def test_pooling_padding_must_be_below_the_kernel():
    with pytest.raises(ShapeError, match="padding size 2 must be smaller than the kernel size 2"):
        ev('PoolingLayer[2, "PaddingSize" -> 2, "Input" -> {1, 4, 4}]')
    with pytest.raises(ShapeError, match="smaller than the kernel"):
        ev('PoolingLayer[{3, 2}, "PaddingSize" -> {{0, 0}, {0, 2}}]')
    assert ev('PoolingLayer[2, "PaddingSize" -> 1, "Input" -> {1, 4, 4}]') \
        .ports["Output"].shape == (1, 5, 5)


@pytest.mark.parametrize("level", [2, -2, 3])
def test_flatten_level_must_be_below_the_rank(level):
    with pytest.raises(ShapeError, match=f"level specification of {level} is incompatible with "
                                         f"input tensor, which has rank 2"):
        ev(f'FlattenLayer[{level}, "Input" -> {{2, 3}}]')
    assert ev('FlattenLayer[1, "Input" -> {2, 3}]').ports["Output"].shape == (6,)
    assert ev('FlattenLayer[-1, "Input" -> {2, 3, 4}]').ports["Output"].shape == (2, 12)
