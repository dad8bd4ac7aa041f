"""AppendLayer and PrependLayer: Wolfram's ports ("Input" rank n, "Element" rank n - 1,
"Output" one longer), the shape rule both ways with fixed and "Varying" lengths and
integer sequences, forward as Append/Prepend on each example, gradients against float64
finite differences, ragged sequences, NetTrain, check, text and net-file round trips,
ONNX and torch conversions."""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdsl
from netdsl import ShapeError
from netdsl.check import check_text
from netdsl.layers.shapes import LengthVar
from layer_harness import (build, check_gradients, file_round_trip, forward, onnx_run,
                           round_losses, to_batch_last)

LAYERS = ["AppendLayer", "PrependLayer"]


def ev(text):
    return netdsl.Session().evaluate(text)


def reference(name, x, e):
    """Append/Prepend on each example (batch first), written out."""
    out = []
    for xi, ei in zip(x, e):
        items = list(xi)
        out.append(items + [ei] if name == "AppendLayer" else [ei] + items)
    return np.array(out)


@pytest.mark.parametrize("name", LAYERS)
def test_shapes_both_ways(name):
    layer = build(f'{name}["Input" -> {{3, 2}}]')
    assert layer.ports["Element"].shape == (2,) and layer.ports["Output"].shape == (4, 2)
    layer = build(f'{name}["Input" -> 3]')
    assert layer.ports["Element"].shape == () and layer.ports["Output"].shape == (4,)
    layer = build(f'{name}["Output" -> {{5, 2}}]')
    assert layer.ports["Input"].shape == (4, 2) and layer.ports["Element"].shape == (2,)
    layer = build(f'{name}["Element" -> {{2, 3}}]')
    assert layer.ports["Input"].shape[1:] == (2, 3) and layer.ports["Output"].shape[1:] == (2, 3)
    varying = build(f'{name}["Input" -> {{"Varying", 2}}]')
    n_in, n_out = varying.ports["Input"].shape[0], varying.ports["Output"].shape[0]
    assert isinstance(n_in, LengthVar) and isinstance(n_out, LengthVar) and n_in != n_out
    tokens = build(f'{name}["Input" -> {{"Varying", Restricted["Integer", 5]}}]')
    assert tokens.ports["Element"].integer and tokens.ports["Output"].integer
    assert tokens.ports["Output"].classes == 5


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("text,words", [
    ('"Input" -> "Real"', "must be a sequence"),
    ('"Input" -> {3, 2}, "Element" -> 3', "inconsistent"),
    ('"Output" -> {1}', "at least"),
    ('"Input" -> 3, "Output" -> 3', "inconsistent"),
])
def test_shape_errors(name, text, words):
    with pytest.raises(ShapeError, match=words):
        ev(f"{name}[{text}]")


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("dims", [(4,), (3, 2), (2, 2, 3)])
def test_forward_is_append_or_prepend(name, dims):
    layer = build(f'{name}["Input" -> {{{", ".join(map(str, dims))}}}]')
    rng = np.random.default_rng(0)
    x, e = rng.normal(size=(3, *dims)), rng.normal(size=(3, *dims[1:]))
    (y,) = forward(layer, {}, x, e)
    np.testing.assert_allclose(y, reference(name, x, e), rtol=1e-6)


@pytest.mark.parametrize("name", LAYERS)
def test_integer_sequences_stay_integer(name):
    layer = build(f'{name}["Input" -> {{3, Restricted["Integer", 9]}}]')
    (y,) = forward(layer, {}, np.array([[1, 2, 3], [4, 5, 6]]), np.array([7, 8]),
                   dtype=np.float64)     # (integer inputs stay int64 whatever dtype says)
    assert y.dtype.kind == "i"
    np.testing.assert_array_equal(y, reference(name, [[1, 2, 3], [4, 5, 6]], [7, 8]))


@pytest.mark.parametrize("name", LAYERS)
def test_gradients_match_finite_differences(name):
    layer = build(f'{name}["Input" -> {{3, 2}}]')
    rng = np.random.default_rng(1)
    x, e = rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 2))
    check_gradients(layer, {}, [to_batch_last(x), to_batch_last(e)])


@pytest.mark.parametrize("name", LAYERS)
def test_ragged_sequences_in_a_net(name):
    s = netdsl.Session()
    net = s.evaluate(f'NetGraph[{{{name}[]}}, {{}}, "Input" -> {{"Varying", 2}}]')
    xs = [np.ones((3, 2), np.float32), np.zeros((1, 2), np.float32)]
    es = np.array([[5, 6], [7, 8]], np.float32)
    ys = net({"Input": xs, "Element": es})
    assert [np.shape(y) for y in ys] == [(4, 2), (2, 2)]
    np.testing.assert_array_equal(ys[1], reference(name, [xs[1]], [es[1]])[0])


def test_nettrain_learns_the_appended_element():
    """The element comes from a LinearLayer on a vector; the mean of the appended sequence
    is trained towards targets, so the layer's gradient reaches the LinearLayer."""
    s = netdsl.Session()
    rng = np.random.default_rng(2)
    s["xs"] = rng.normal(size=(32, 3, 2)).astype(np.float32)
    s["vs"] = rng.normal(size=(32, 2)).astype(np.float32)
    s["ts"] = rng.normal(size=(32, 4, 2)).astype(np.float32)
    s.evaluate('net = NetGraph[<|"lin" -> LinearLayer[2], "app" -> AppendLayer[]|>, '
               '{NetPort["v"] -> "lin" -> NetPort["app", "Element"]}, "Input" -> {3, 2}, '
               '"v" -> 2]')
    losses = round_losses(s, '<|"Input" -> xs, "v" -> vs, "Output" -> ts|>', 30)
    assert losses[-1] < losses[0]


def test_check_text_files_onnx_and_torch(tmp_path):
    graph = ('NetGraph[<|"a" -> AppendLayer[], "p" -> PrependLayer[]|>, {NetPort["e"] -> '
             'NetPort["a", "Element"], NetPort["e"] -> NetPort["p", "Element"], '
             '"a" -> NetPort["p", "Input"]}, '
             '"Input" -> {3, 2}]')
    out, err = io.StringIO(), io.StringIO()
    src = f'g = {graph};\ny = g[<|"Input" -> RandomReal[1, {{4, 3, 2}}], "e" -> RandomReal[1, {{4, 2}}]|>]\n'
    assert check_text(src, "t.wl", out, err) == 0, err.getvalue()
    assert "t.wl:2: y = output of dimensions {4, 5, 2}" in out.getvalue().splitlines()

    net = ev(graph)
    assert ev(netdsl.input_form(net)) == net
    for name in LAYERS:
        layer = ev(f'{name}["Input" -> {{"Varying", 2}}]')
        assert netdsl.input_form(layer) == f'{name}["Input" -> {{"Varying", 2}}, "Element" -> 2]'
        assert ev(netdsl.input_form(layer)).ports["Element"].shape == (2,)

    rng = np.random.default_rng(3)
    feed = {"Input": rng.normal(size=(4, 3, 2)).astype(np.float32),
            "e": rng.normal(size=(4, 2)).astype(np.float32)}
    want = net(feed)
    np.testing.assert_array_equal(want[:, 0], feed["e"])
    np.testing.assert_array_equal(want[:, -1], feed["e"])
    np.testing.assert_array_equal(want[:, 1:4], feed["Input"])

    file_round_trip(net, tmp_path)

    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    got = to_torch(net)(Input=torch.tensor(feed["Input"]), e=torch.tensor(feed["e"]))
    np.testing.assert_array_equal(got.numpy(), want)

    np.testing.assert_array_equal(onnx_run(net, feed), want)
