"""ImageAugmentationLayer: the centre crop in Test mode, random windows (and reflections)
in Train mode, checked against crops written here, by searching every window of the
input, by the statistics of many draws, float64 finite differences, PyTorch and
onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from layer_harness import build, check_gradients, ctx, file_round_trip, forward, onnx_run, \
    round_losses, to_batch_last
from netdsl.errors import NetDSLError


def center_crop(x: np.ndarray, h: int, w: int) -> np.ndarray:
    """Batch first: rows Floor[(H - h)/2] + 1 .. + h (1-based), the same for columns."""
    H, W = x.shape[-2:]
    r, c = (H - h) // 2, (W - w) // 2
    return x[..., r:r + h, c:c + w]


def find_window(x: np.ndarray, y: np.ndarray) -> list[tuple[int, int, bool, bool]]:
    """Every (top, left, flipped top-bottom, flipped left-right) whose window of x (one
    example, {c, H, W}) equals y, by trying them all."""
    _, H, W = x.shape
    _, h, w = y.shape
    found = []
    for top in range(H - h + 1):
        for left in range(W - w + 1):
            win = x[:, top:top + h, left:left + w]
            for fv in (False, True):
                for fh in (False, True):
                    v = win[:, ::-1] if fv else win
                    v = v[:, :, ::-1] if fh else v
                    if np.array_equal(v, y):
                        found.append((top, left, fv, fh))
    return found


def layer_for(c, H, W, h, w, probs=(0, 0)):
    return build(f'ImageAugmentationLayer[{{{h}, {w}}}, "Input" -> {{{c}, {H}, {W}}}, '
                 f'"ReflectionProbabilities" -> {{{probs[0]}, {probs[1]}}}]')


SHAPES = [(1, 4, 5, 2, 3), (3, 7, 6, 4, 4), (2, 5, 5, 5, 5), (1, 6, 9, 1, 2), (2, 3, 8, 3, 5)]


@pytest.mark.parametrize("c,H,W,h,w", SHAPES)
def test_test_mode_is_the_centre_crop(c, H, W, h, w):
    x = np.random.default_rng(c * H).standard_normal((4, c, H, W))
    for probs in ((0, 0), (1, 1), (0.5, 0.3)):       # never reflected in Test mode
        (y,) = forward(layer_for(c, H, W, h, w, probs), {}, x, dtype=np.float64)
        np.testing.assert_array_equal(y, center_crop(x, h, w))


def test_page_example_sizes_and_language_forms():
    s = netdsl.Session()
    s.evaluate('l = ImageAugmentationLayer[{80, 80}, "Input" -> {3, 128, 128}]')
    assert s.evaluate("l").ports["Output"].shape == (3, 80, 80)
    assert s.evaluate("ImageAugmentationLayer[{80, 80}]").ports["Output"].shape \
        == (None, 80, 80)
    x = np.arange(20.0).reshape(1, 4, 5)
    s["x"] = x
    s.evaluate('m = ImageAugmentationLayer[{2, 3}, "ReflectionProbabilities" -> {0.5, 0.5}]')
    np.testing.assert_array_equal(s.evaluate("m[x]"), center_crop(x, 2, 3))
    np.testing.assert_array_equal(s.evaluate('m[x, NetEvaluationMode -> "Test"]'),
                                  center_crop(x, 2, 3))
    ys = np.asarray(s.evaluate("m[{x, x + 1}]"))
    np.testing.assert_array_equal(ys, [center_crop(x, 2, 3), center_crop(x + 1, 2, 3)])
    y = np.asarray(s.evaluate('m[x, NetEvaluationMode -> "Train"]'))
    assert find_window(x, y)
    # integer data is read as reals
    yi = np.asarray(s.evaluate('ImageAugmentationLayer[{1, 1}][{{{1, 2, 3}, {4, 5, 6}}}]'))
    assert yi.dtype.kind == "f" and yi.tolist() == [[[2.0]]]


@pytest.mark.parametrize("probs", [(0, 0), (1, 0), (0, 1), (1, 1), (0.5, 0.5)])
def test_train_mode_outputs_are_windows_of_the_input(probs):
    c, H, W, h, w = 2, 5, 6, 3, 2
    rng = np.random.default_rng(0)
    x = rng.permutation(32 * c * H * W).astype(np.float64).reshape(32, c, H, W)  # distinct
    (y,) = forward(layer_for(c, H, W, h, w, probs), {}, x, train=True, seed=3,
                   dtype=np.float64)
    for xb, yb in zip(x, y):
        found = find_window(xb, yb)
        assert len(found) == 1, found
        _, _, fv, fh = found[0]
        if probs[0] in (0, 1):
            assert fv == bool(probs[0])
        if probs[1] in (0, 1):
            assert fh == bool(probs[1])


def test_offsets_and_reflections_follow_their_distributions():
    c, H, W, h, w = 1, 6, 7, 3, 5          # 4 x 3 offsets
    pv, ph = 0.3, 0.8
    n = 6000
    x = np.broadcast_to(np.arange(H * W, dtype=np.float64).reshape(1, 1, H, W),
                        (n, c, H, W))
    (y,) = forward(layer_for(c, H, W, h, w, (pv, ph)), {}, x, train=True, seed=5,
                   dtype=np.float64)
    # each output's window, read from its extreme values (the input counts 0, 1, ...)
    lo = y.reshape(n, -1).min(axis=1).astype(int)
    top, left = lo // W, lo % W
    fv = y[:, 0, 0, 0] > y[:, 0, -1, 0]        # the first row holds the larger numbers
    fh = y[:, 0, 0, 0] > y[:, 0, 0, -1]
    counts = np.zeros((H - h + 1, W - w + 1))
    np.add.at(counts, (top, left), 1)
    expected = n / counts.size
    # every offset equally likely: chi-square with 11 degrees of freedom, far below the
    # 0.1 % critical value (31.3)
    assert ((counts - expected) ** 2 / expected).sum() < 31.3
    for freq, p in ((fv.mean(), pv), (fh.mean(), ph)):
        assert abs(freq - p) < 4 * np.sqrt(p * (1 - p) / n)
    # drawn independently of each other
    assert abs((fv & fh).mean() - pv * ph) < 4 * np.sqrt(pv * ph / n)


def test_seeding_repeats_the_draws():
    s = netdsl.Session()
    s.evaluate('l = ImageAugmentationLayer[{2, 2}, "Input" -> {1, 5, 5}, '
               '"ReflectionProbabilities" -> {0.5, 0.5}]')
    s["x"] = np.random.default_rng(0).standard_normal((8, 1, 5, 5))
    a = np.asarray(s.evaluate('l[x, NetEvaluationMode -> "Train", RandomSeeding -> 7]'))
    np.testing.assert_array_equal(a, s.evaluate('l[x, NetEvaluationMode -> "Train", '
                                                'RandomSeeding -> 7]'))
    assert not np.array_equal(a, s.evaluate('l[x, NetEvaluationMode -> "Train", '
                                            'RandomSeeding -> 8]'))


@pytest.mark.parametrize("train", [False, True])
def test_gradients_match_finite_differences(train):
    layer = layer_for(2, 5, 4, 3, 2, (0.5, 0.5))
    x = np.random.default_rng(1).standard_normal((6, 2, 5, 4))
    check_gradients(layer, {}, [to_batch_last(x)], train=train, seed=4)


def test_gradient_goes_to_the_window_read():
    layer = layer_for(1, 4, 4, 2, 2, (1, 1))
    x = np.arange(32.0).reshape(2, 1, 4, 4)
    (y,), cache = layer.forward(ctx(train=True, grad=True, seed=2), {}, to_batch_last(x))
    dy = np.random.default_rng(0).standard_normal(y.shape)
    (dx,), arrays = layer.backward(ctx(train=True, grad=True), {}, cache, dy)
    assert arrays == {}
    dx, dy, y = np.moveaxis(dx, -1, 0), np.moveaxis(dy, -1, 0), np.moveaxis(y, -1, 0)
    for b in range(2):
        # every output element read x at the position holding its value: dy lands there
        expected = np.zeros((1, 4, 4))
        for value, g in zip(y[b].reshape(-1), dy[b].reshape(-1)):
            pos = np.argwhere(x[b] == value)[0]
            expected[tuple(pos)] += g
        np.testing.assert_array_equal(dx[b], expected)


def test_shape_rule_both_directions():
    assert build('ImageAugmentationLayer[{2, 3}, "Input" -> {4, 5, 6}]'
                 ).ports["Output"].shape == (4, 2, 3)
    assert build('ImageAugmentationLayer[{2, 3}, "Output" -> {4, 2, 3}]'
                 ).ports["Input"].shape == (4, None, None)
    g = netdsl.evaluate('NetChain[{ImageAugmentationLayer[{3, 3}], ConvolutionLayer[2, 2], '
                        'FlattenLayer[], LinearLayer[4]}, "Input" -> {3, 6, 6}]')
    assert [lyr for _, lyr in g.leaves()][1].ports["Input"].shape == (3, 3, 3)
    # the channels come back from a layer after it
    g = netdsl.evaluate('NetChain[{ImageAugmentationLayer[{3, 3}], BatchNormalizationLayer['
                        '"Input" -> {2, 3, 3}]}]')
    assert [lyr for _, lyr in g.leaves()][0].ports["Input"].shape == (2, None, None)


@pytest.mark.parametrize("text,words", [
    ('ImageAugmentationLayer[{5, 3}, "Input" -> {1, 4, 5}]', "must be smaller than input"),
    ('ImageAugmentationLayer[{2, 6}, "Input" -> {1, 4, 5}]', "must be smaller than input"),
    ('ImageAugmentationLayer[{2, 3}, "ReflectionProbabilities" -> {1.5, 0}]', "between 0 and 1"),
    ('ImageAugmentationLayer[{2, 3}, "ReflectionProbabilities" -> 0.5]', "two probabilities"),
    ('ImageAugmentationLayer[{2, 3}, "ReflectionProbabilities" -> {0.5}]', "two probabilities"),
    ("ImageAugmentationLayer[3]", "two positive integers"),
    ("ImageAugmentationLayer[{0, 3}]", "two positive integers"),
    ("ImageAugmentationLayer[]", "positional"),
    ('ImageAugmentationLayer[{2, 2}, "Input" -> {3, 4}]', "rank"),
    ('ImageAugmentationLayer[{2, 2}, "Input" -> {3, "Varying", 4}]', "Varying"),
    ('ImageAugmentationLayer[{2, 2}, "Output" -> {3, 2, 5}]', "inconsistent"),
    ('ImageAugmentationLayer[{2, 2}, "Input" -> NetEncoder["Image"]]', "not supported"),
])
def test_bad_specifications(text, words):
    with pytest.raises(NetDSLError, match=words):
        netdsl.evaluate(text)


def test_bad_data_is_an_error():
    s = netdsl.Session()
    s.evaluate('l = ImageAugmentationLayer[{2, 2}, "Input" -> {1, 3, 3}]')
    with pytest.raises(NetDSLError):
        s.evaluate("l[{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}]")
    with pytest.raises(NetDSLError):
        s.evaluate("l[{{{1, 2}, {3, 4}}}]")


def test_options_summary_and_files(tmp_path):
    layer = build('ImageAugmentationLayer[{2, 3}, "Input" -> {1, 4, 5}, '
                  '"ReflectionProbabilities" -> {0.5, 0}]')
    rules = {str(r.args[0]): r.args[1] for r in netdsl.evaluate(
        'Options[ImageAugmentationLayer[{2, 3}]]').args}
    assert set(rules) == {"Input", "Output", "ReflectionProbabilities"}
    assert rules["ReflectionProbabilities"] == netdsl.evaluate("{0, 0}")
    text = layer.output_form()
    assert "OutputDimensions" in text and "{0.5, 0}" in text
    assert netdsl.evaluate(layer.input_form()) == layer
    file_round_trip(layer, tmp_path)
    g = netdsl.evaluate('NetInitialize@NetChain[{ImageAugmentationLayer[{3, 3}, '
                        '"ReflectionProbabilities" -> {0, 0.5}], FlattenLayer[], '
                        'LinearLayer[2]}, "Input" -> {1, 4, 4}]')
    file_round_trip(g, tmp_path, "g.safetensors")


def test_trains_in_a_chain_and_evaluates_the_centre_afterwards():
    s = netdsl.Session()
    s.evaluate('net = NetChain[{ImageAugmentationLayer[{4, 4}, "ReflectionProbabilities" -> '
               '{0.5, 0.5}], FlattenLayer[], LinearLayer[1]}, "Input" -> {1, 6, 6}]')
    rng = np.random.default_rng(0)
    # images whose every window and reflection looks alike (a level plus a little noise):
    # the target, twice the level, is learnable from any of them
    level = rng.standard_normal(64)
    x = level[:, None, None, None] + 0.01 * rng.standard_normal((64, 1, 6, 6))
    s["xs"] = x
    s["ys"] = 2 * level[:, None]
    losses = round_losses(s, "xs -> ys", 30)
    assert losses[-1] < 0.05 * losses[0]
    s.evaluate('t = NetTrain[net, xs -> ys, MaxTrainingRounds -> 1, BatchSize -> 8, '
               'RandomSeeding -> 1, TrainingProgressReporting -> None]')
    w = np.asarray(s.evaluate('NetExtract[t, {3, "Weights"}]'), float).reshape(4, 4)
    b = float(np.asarray(s.evaluate('NetExtract[t, {3, "Biases"}]')).reshape(-1)[0])
    y = np.asarray(s.evaluate("t[xs[[1 ;; 3]]]"), float)[:, 0]
    np.testing.assert_allclose(y, (center_crop(x[:3], 4, 4)[:, 0] * w).sum(axis=(1, 2)) + b,
                               rtol=1e-4, atol=1e-5)


def test_onnx_is_the_centre_crop():
    x = np.random.default_rng(3).standard_normal((3, 2, 7, 6)).astype(np.float32)
    for h, w in ((3, 4), (7, 1), (4, 6)):
        net = netdsl.evaluate(f'NetChain[{{ImageAugmentationLayer[{{{h}, {w}}}, '
                              f'"ReflectionProbabilities" -> {{0.5, 0.5}}]}}, '
                              f'"Input" -> {{2, 7, 6}}]')
        np.testing.assert_array_equal(onnx_run(net, {"Input": x}), center_crop(x, h, w))


def test_torch_centre_crop_and_random_windows():
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    net = netdsl.evaluate('NetChain[{ImageAugmentationLayer[{3, 2}, "ReflectionProbabilities"'
                          ' -> {0.25, 1}]}, "Input" -> {2, 5, 4}]')
    x = np.random.default_rng(4).permutation(400 * 40).astype(np.float64).reshape(400, 2, 5, 4)
    m = to_torch(net)
    m.eval()
    np.testing.assert_array_equal(m(torch.tensor(x)).numpy(), center_crop(x, 3, 2))
    m.train()
    torch.manual_seed(0)
    xt = torch.tensor(x, requires_grad=True)
    y = m(xt)
    flips = []
    for xb, yb in zip(x, y.detach().numpy()):
        (found,) = find_window(xb, yb)
        flips.append(found[2:])
    fv, fh = np.asarray(flips).T
    assert fh.all() and abs(fv.mean() - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 400)
    # the gradient lands on the elements read, one each
    y.sum().backward()
    grad = xt.grad.numpy()
    assert set(np.unique(grad)) == {0.0, 1.0} and grad.sum() == y.numel()
