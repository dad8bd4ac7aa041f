"""SpatialTransformationLayer: an affine grid sampled bilinearly (corners aligned, zeros
outside), against a naive per-pixel loop written here, exact shifts, float64 finite
differences, PyTorch's affine_grid + grid_sample and onnxruntime."""

from __future__ import annotations

import math

import numpy as np
import pytest

import netdsl
from layer_harness import build, check_gradients, ctx, file_round_trip, forward, onnx_run, \
    plan_input_gradients, to_batch_last
from netdsl.errors import NetDSLError

IDENTITY = np.array([1.0, 0, 0, 0, 1, 0])


def naive(x: np.ndarray, theta: np.ndarray, h: int, w: int) -> np.ndarray:
    """One output pixel at a time (batch first): the grid point, its affine image, the four
    input pixels around it, each read only when inside the input."""
    N, C, H, W = x.shape
    out = np.zeros((N, C, h, w))
    for n in range(N):
        a, b, tx, d, e, ty = theta[n]
        for i in range(h):
            for j in range(w):
                gx, gy = -1 + 2 * j / (w - 1), -1 + 2 * i / (h - 1)
                px = (a * gx + b * gy + tx + 1) * (W - 1) / 2
                py = (d * gx + e * gy + ty + 1) * (H - 1) / 2
                x0, y0 = math.floor(px), math.floor(py)
                for yy, wy in ((y0, 1 - (py - y0)), (y0 + 1, py - y0)):
                    for xx, wx in ((x0, 1 - (px - x0)), (x0 + 1, px - x0)):
                        if 0 <= yy < H and 0 <= xx < W:
                            out[n, :, i, j] += wy * wx * x[n, :, yy, xx]
    return out


def layer_for(c: int, H: int, W: int, h: int, w: int):
    return build(f'SpatialTransformationLayer[{{{h}, {w}}}, "Input" -> {{{c}, {H}, {W}}}]')


def random_case(seed: int, n: int, c: int, H: int, W: int, spread: float = 0.5):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, H, W))
    theta = IDENTITY + spread * rng.standard_normal((n, 6))
    return x, theta


SHAPES = [(1, 3, 3, 2, 2), (2, 4, 5, 3, 4), (3, 6, 4, 5, 7), (1, 1, 5, 2, 3), (2, 5, 1, 3, 2)]


@pytest.mark.parametrize("c,H,W,h,w", SHAPES)
def test_forward_matches_naive_loop(c, H, W, h, w):
    layer = layer_for(c, H, W, h, w)
    for seed, spread in ((0, 0.3), (1, 1.5)):        # 1.5: many samples fall outside
        x, theta = random_case(seed + 10 * c, 4, c, H, W, spread)
        (y,) = forward(layer, {}, x, theta, dtype=np.float64)
        np.testing.assert_allclose(y, naive(x, theta, h, w), rtol=1e-12, atol=1e-12)
        (y32,) = forward(layer, {}, x, theta)
        np.testing.assert_allclose(y32, naive(x, theta, h, w), rtol=1e-4, atol=1e-5)


def test_identity_gives_the_input_back():
    x, _ = random_case(2, 3, 2, 5, 4)
    (y,) = forward(layer_for(2, 5, 4, 5, 4), {}, x, np.tile(IDENTITY, (3, 1)),
                   dtype=np.float64)
    np.testing.assert_allclose(y, x, atol=1e-12)
    # the page's example: 1x3x3 to 1x2x2 with the identity keeps the four corners
    s = netdsl.Session()
    y = s.evaluate('SpatialTransformationLayer[{2, 2}, "Input" -> {1, 3, 3}][<|"Input" -> '
                   '{{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}}, "Parameters" -> {1, 0, 0, 0, 1, 0}|>]')
    np.testing.assert_array_equal(y, [[[1, 3], [7, 9]]])


def test_translation_by_whole_pixels_shifts_and_fills_zeros():
    H, W = 4, 5
    x, _ = random_case(3, 2, 3, H, W)
    # tx = 2/(W - 1) moves the sampling point one column right: output column j reads j + 1
    theta = np.array([[1, 0, 2 / (W - 1), 0, 1, 0], [1, 0, 0, 0, 1, -2 * 2 / (H - 1)]])
    (y,) = forward(layer_for(3, H, W, H, W), {}, x, theta, dtype=np.float64)
    expected = np.zeros_like(x)
    expected[0, :, :, :-1] = x[0, :, :, 1:]
    expected[1, :, 2:, :] = x[1, :, :-2, :]          # ty = -2 rows: row i reads i - 2
    np.testing.assert_allclose(y, expected, atol=1e-12)


def test_scaling_reads_an_evenly_spaced_subgrid():
    x, _ = random_case(4, 1, 2, 5, 9)
    # zoom 1/2 in both directions: the output's 3 x 5 grid lands on rows 1..3, columns 2..6
    (y,) = forward(layer_for(2, 5, 9, 3, 5), {}, x, np.array([[0.5, 0, 0, 0, 0.5, 0]]),
                   dtype=np.float64)
    np.testing.assert_allclose(y, x[:, :, 1:4, 2:7], atol=1e-12)
    # zoom 0: every output pixel reads the centre of the input
    (y,) = forward(layer_for(2, 5, 9, 3, 4), {}, x, np.zeros((1, 6)), dtype=np.float64)
    np.testing.assert_allclose(y, np.broadcast_to(x[:, :, 2:3, 4:5], y.shape), atol=1e-12)


def test_far_outside_and_infinite_parameters_give_zeros():
    x, _ = random_case(5, 2, 2, 3, 3)
    theta = np.array([[1, 0, 1e30, 0, 1, 0], [1, 0, 0, 0, 1, -np.inf]])
    (y,) = forward(layer_for(2, 3, 3, 2, 2), {}, x, theta, dtype=np.float64)
    np.testing.assert_array_equal(y, 0.0)


@pytest.mark.parametrize("c,H,W,h,w", SHAPES[:4])
def test_gradients_match_finite_differences(c, H, W, h, w):
    layer = layer_for(c, H, W, h, w)
    for seed, spread in ((0, 0.3), (1, 1.2)):
        x, theta = random_case(seed + 20, 3, c, H, W, spread)
        check_gradients(layer, {}, [to_batch_last(x), to_batch_last(theta)], h=1e-7)


def test_input_gradient_accumulates_on_shared_pixels():
    layer = layer_for(2, 3, 5, 3, 4)
    x, _ = random_case(6, 2, 2, 3, 5)
    theta = np.zeros((2, 6))                          # every output pixel reads (1, 2)
    (y,), cache = layer.forward(ctx(grad=True), {}, to_batch_last(x), to_batch_last(theta))
    dy = np.random.default_rng(0).standard_normal(y.shape)
    (dx, dtheta), arrays = layer.backward(ctx(grad=True), {}, cache, dy)
    assert arrays == {}
    expected = np.zeros_like(dx)
    expected[:, 1, 2] = dy.sum(axis=(1, 2))
    np.testing.assert_allclose(dx, expected, atol=1e-12)
    assert dtheta.shape == (6, 2)


def test_language_forms_batches_and_integers():
    s = netdsl.Session()
    s.evaluate('l = SpatialTransformationLayer[{2, 3}]')
    x = np.arange(24.0).reshape(2, 3, 4)
    lit = "{" + ", ".join("{" + ", ".join("{" + ", ".join(str(int(v)) for v in row) + "}"
                                          for row in ch) + "}" for ch in x) + "}"
    y = np.asarray(s.evaluate(f'l[<|"Input" -> {lit}, "Parameters" -> {{0.5, 0.1, 0.2, '
                              f'-0.1, 0.7, 0.3}}|>]'), float)
    expected = naive(x[None], np.array([[0.5, 0.1, 0.2, -0.1, 0.7, 0.3]]), 2, 3)[0]
    np.testing.assert_allclose(y, expected, rtol=1e-5)
    # a batch: lists of inputs and of parameters
    ys = np.asarray(s.evaluate(f'l[<|"Input" -> {{{lit}, {lit}}}, "Parameters" -> '
                               f'{{{{1, 0, 0, 0, 1, 0}}, {{0.5, 0.1, 0.2, -0.1, 0.7, 0.3}}}}|>]'),
                    float)
    assert ys.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(ys[1], expected, rtol=1e-5)
    # integer data is read as reals
    s.evaluate('li = SpatialTransformationLayer[{2, 2}, "Input" -> {1, 2, 2, '
               'Restricted["Integer", 9]}]')
    yi = np.asarray(s.evaluate('li[<|"Input" -> {{{1, 2}, {3, 4}}}, "Parameters" -> '
                               '{1, 0, 0, 0, 1, 0}|>]'))
    assert yi.dtype.kind == "f"
    np.testing.assert_allclose(yi, [[[1, 2], [3, 4]]])


def test_shape_rule_both_directions():
    layer = build('SpatialTransformationLayer[{30, 30}]')
    assert layer.ports["Output"].shape == (None, 30, 30)
    assert layer.ports["Parameters"].shape == (6,)
    assert build('SpatialTransformationLayer[{4, 5}, "Input" -> {3, 8, 9}]'
                 ).ports["Output"].shape == (3, 4, 5)
    back = build('SpatialTransformationLayer[{4, 5}, "Output" -> {7, 4, 5}]')
    assert back.ports["Input"].shape == (7, None, None)
    # a localisation net computes the parameters from the image
    g = netdsl.evaluate('NetGraph[<|"loc" -> LinearLayer[6], "st" -> '
                        'SpatialTransformationLayer[{3, 3}], "f" -> FlattenLayer[]|>, '
                        '{NetPort["Input"] -> "loc" -> NetPort["st", "Parameters"], '
                        'NetPort["Input"] -> NetPort["st", "Input"], "st" -> "f"}, '
                        '"Input" -> {2, 5, 5}]')
    assert g.ports["Output"].shape == (18,)


@pytest.mark.parametrize("text,words", [
    ("SpatialTransformationLayer[{1, 3}]", "at least 2"),
    ("SpatialTransformationLayer[3]", "two integers"),
    ("SpatialTransformationLayer[{2, 2, 2}]", "two integers"),
    ("SpatialTransformationLayer[]", "positional"),
    ('SpatialTransformationLayer[{2, 2}, "Input" -> {3, 4}]', "rank"),
    ('SpatialTransformationLayer[{2, 2}, "Parameters" -> 5]', "inconsistent"),
    ('SpatialTransformationLayer[{2, 2}, "Output" -> {3, 2, 5}]', "inconsistent"),
    ('SpatialTransformationLayer[{2, 2}, "Input" -> {"Varying", 3, 3}]', "Varying"),
    ('SpatialTransformationLayer[{2, 2}, "Foo" -> 1]', "not a known parameter"),
])
def test_bad_specifications(text, words):
    with pytest.raises(NetDSLError, match=words):
        netdsl.evaluate(text)


def test_bad_data_is_an_error():
    s = netdsl.Session()
    s.evaluate('l = SpatialTransformationLayer[{2, 2}, "Input" -> {1, 2, 2}]')
    layer = s.evaluate("l")
    for x, theta in ((np.array([[[np.nan, 1], [2, 3]]]), IDENTITY),
                     (np.ones((1, 2, 2)), np.array([1, 0, np.nan, 0, 1, 0]))):
        with pytest.raises(NetDSLError, match="netnan|floating-point"):
            layer({"Input": x, "Parameters": theta})
    with pytest.raises(NetDSLError):
        s.evaluate('l[<|"Input" -> {{{1, 2}, {3, 4}}}, "Parameters" -> {1, 0, 0}|>]')
    with pytest.raises(NetDSLError):
        s.evaluate('l[<|"Input" -> {{1, 2}, {3, 4}}, "Parameters" -> {1, 0, 0, 0, 1, 0}|>]')


def test_options_summary_and_files(tmp_path):
    layer = build('SpatialTransformationLayer[{3, 4}, "Input" -> {2, 5, 6}]')
    rules = {str(r.args[0]): r.args[1] for r in netdsl.evaluate(
        'Options[SpatialTransformationLayer[{3, 4}, "Input" -> {2, 5, 6}]]').args}
    assert set(rules) == {"Input", "Parameters", "Output"}
    text = layer.output_form()
    assert "Dimensions" in text and "{3, 4}" in text and "vector of size 6" in text
    assert netdsl.evaluate(layer.input_form()) == layer
    assert netdsl.evaluate('NetExtract[SpatialTransformationLayer[{3, 4}], "Dimensions"]') \
        == netdsl.evaluate("{3, 4}")
    file_round_trip(layer, tmp_path)
    g = netdsl.evaluate('NetGraph[<|"loc" -> LinearLayer[6], "st" -> '
                        'SpatialTransformationLayer[{3, 3}]|>, {NetPort["Input"] -> "loc" -> '
                        'NetPort["st", "Parameters"], NetPort["Input"] -> NetPort["st", "Input"]},'
                        ' "Input" -> {1, 4, 4}]')
    file_round_trip(g, tmp_path, "g.safetensors")
    s = netdsl.Session()
    s["g"] = g
    file_round_trip(s.evaluate("NetInitialize[g]"), tmp_path, "gi.safetensors")


def test_gradients_through_a_graph_with_a_localisation_net():
    s = netdsl.Session()
    net = s.evaluate('NetInitialize@NetGraph[<|"loc" -> LinearLayer[6], "st" -> '
                     'SpatialTransformationLayer[{3, 3}]|>, {NetPort["Input"] -> "loc" -> '
                     'NetPort["st", "Parameters"], NetPort["Input"] -> NetPort["st", "Input"]},'
                     ' "Input" -> {1, 3, 4}]')
    rng = np.random.default_rng(8)
    feed = {"Input": to_batch_last(rng.standard_normal((2, 1, 3, 4)))}
    seeds = {"Output": to_batch_last(rng.standard_normal((2, 1, 3, 3)))}
    for analytic, numeric in plan_input_gradients(net, feed, seeds).values():
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6)


def test_trains_a_translation():
    """A learned parameter vector (a NetArrayLayer) finds the shift that maps inputs to
    targets shifted by one column."""
    s = netdsl.Session()
    s.evaluate('net = NetGraph[<|"p" -> NetArrayLayer["Array" -> {1., 0., 0.3, 0., 1., 0.}], '
               '"st" -> SpatialTransformationLayer[{4, 5}, "Input" -> {1, 4, 5}]|>, '
               '{"p" -> NetPort["st", "Parameters"]}]')
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((32, 1, 4, 5))
    theta = np.array([1, 0, 0.5, 0, 1, 0])            # half a column
    ys = naive(xs, np.tile(theta, (32, 1)), 4, 5)
    s["xs"] = xs
    s["ys"] = ys
    s.evaluate('t = NetTrain[net, <|"Input" -> xs, "Output" -> ys|>, MaxTrainingRounds -> 150, '
               'BatchSize -> 8, TrainingProgressReporting -> None, RandomSeeding -> 1, '
               'LearningRate -> 0.01]')
    learned = np.asarray(s.evaluate('NetExtract[t, {"p", "Array"}]'), float)
    np.testing.assert_allclose(learned, theta, atol=0.05)


def _feed():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 2, 4, 5))
    theta = IDENTITY + 0.6 * rng.standard_normal((3, 6))
    return x, theta


@pytest.mark.parametrize("opset", [16, 17, 20, 21])
def test_onnx_grid_sample_matches_naive(opset):
    net = netdsl.evaluate('NetGraph[{SpatialTransformationLayer[{3, 6}, "Input" -> {2, 4, 5}]},'
                          ' {}]')
    x, theta = _feed()
    y = onnx_run(net, {"Input": x.astype(np.float32), "Parameters": theta.astype(np.float32)},
                 opset)
    np.testing.assert_allclose(y, naive(x, theta, 3, 6), rtol=1e-4, atol=1e-5)


def test_onnx_before_opset_16_is_a_clear_error():
    pytest.importorskip("onnx")
    from netdsl.formats.onnx_export import to_onnx
    net = netdsl.evaluate('NetGraph[{SpatialTransformationLayer[{3, 6}, "Input" -> {2, 4, 5}]},'
                          ' {}]')
    with pytest.raises(NetDSLError, match="operator set 16"):
        to_onnx(net, 15)


def test_torch_affine_grid_and_grid_sample_agree_forward_and_backward():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    x, theta = _feed()
    layer = layer_for(2, 4, 5, 3, 6)
    # PyTorch's own functions, corners aligned, zeros outside
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(theta, requires_grad=True)
    grid = F.affine_grid(tt.reshape(3, 2, 3), [3, 2, 3, 6], align_corners=True)
    yt = F.grid_sample(xt, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    (y,), cache = layer.forward(ctx(grad=True), {}, to_batch_last(x), to_batch_last(theta))
    np.testing.assert_allclose(np.moveaxis(y, -1, 0), yt.detach().numpy(), atol=1e-12)
    dy = np.random.default_rng(2).standard_normal(yt.shape)
    yt.backward(torch.tensor(dy))
    (dx, dtheta), _ = layer.backward(ctx(grad=True), {}, cache, to_batch_last(dy))
    np.testing.assert_allclose(np.moveaxis(dx, -1, 0), xt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(dtheta.T, tt.grad.numpy(), atol=1e-10)
    # and netdsl's PyTorch export
    from netdsl.torch import to_torch
    net = netdsl.evaluate('NetGraph[{SpatialTransformationLayer[{3, 6}, "Input" -> {2, 4, 5}]},'
                          ' {}]')
    ye = to_torch(net)(Input=torch.tensor(x), Parameters=torch.tensor(theta))
    np.testing.assert_allclose(ye.detach().numpy(), naive(x, theta, 3, 6), atol=1e-12)
