"""The new layers against PyTorch with the same weights and inputs, forward and backward.
Runs only when torch is installed (the CI installs the CPU wheel)."""

from __future__ import annotations

import numpy as np
import pytest

from layer_harness import build, ctx, make_arrays

torch = pytest.importorskip("torch")
F = torch.nn.functional


def run(layer, arrays, xs, dy_seed=7):
    """netdsl forward and backward in float64 on batch-first inputs: (y, dxs, grads)."""
    xl = [np.ascontiguousarray(np.moveaxis(x, 0, -1)) for x in xs]
    arrays = {k: np.asarray(v, np.float64) for k, v in arrays.items()}
    (y,), cache = layer.forward(ctx(grad=True), arrays, *xl)
    dy = np.random.default_rng(dy_seed).standard_normal(y.shape)
    dxs, grads = layer.backward(ctx(grad=True), arrays, cache, dy)
    first = lambda a: None if a is None else np.moveaxis(a, -1, 0)   # noqa: E731
    return first(y), [first(d) for d in dxs], grads, np.moveaxis(dy, -1, 0)


def t(a, grad=True):
    return torch.tensor(np.asarray(a, np.float64), requires_grad=grad)


def close(a, b, tol=1e-8):
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy() if hasattr(b, "detach") else b,
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("text,stride,pad,groups,xshape", [
    ('DeconvolutionLayer[3, 4, "Stride" -> 2, "PaddingSize" -> 1, "Input" -> {2, 5, 5}]',
     2, 1, 1, (2, 5, 5)),
    ('DeconvolutionLayer[4, {3, 3}, "ChannelGroups" -> 2, "Input" -> {4, 3, 4}]', 1, 0, 2,
     (4, 3, 4)),
    ('DeconvolutionLayer[2, {3}, "Stride" -> 3, "Input" -> {3, 6}]', 3, 0, 1, (3, 6)),
])
def test_deconvolution_matches_conv_transpose(text, stride, pad, groups, xshape):
    layer = build(text)
    arrays = make_arrays(layer, seed=1)
    x = np.random.default_rng(2).standard_normal((3,) + xshape)
    y, (dx,), grads, dy = run(layer, arrays, [x])
    xt, wt, bt = t(x), t(arrays["Weights"]), t(arrays["Biases"])
    conv = F.conv_transpose2d if len(xshape) == 3 else F.conv_transpose1d
    yt = conv(xt, wt, bt, stride=stride, padding=pad, groups=groups)
    close(y, yt)
    yt.backward(torch.tensor(dy))
    close(dx, xt.grad)
    close(grads["Weights"], wt.grad)
    close(grads["Biases"], bt.grad)


@pytest.mark.parametrize("text,kind", [
    ('NormalizationLayer[All, "Input" -> {6}]', "layer"),
    ('NormalizationLayer["Input" -> {3, 4, 5}]', "instance"),
])
def test_normalization_matches_torch(text, kind):
    layer = build(text)
    arrays = make_arrays(layer, seed=1)
    x = np.random.default_rng(2).standard_normal((3,) + layer.ports["Input"].shape)
    y, (dx,), grads, dy = run(layer, arrays, [x])
    xt = t(x)
    if kind == "layer":
        # layer norm over the vector; netdsl's Scaling/Biases are scalars here (no level left)
        yt = F.layer_norm(xt, (6,), eps=0.001) * float(arrays["Scaling"]) + float(
            arrays["Biases"])
    else:
        st, bt = t(arrays["Scaling"]), t(arrays["Biases"])
        yt = F.instance_norm(xt, weight=st, bias=bt, eps=0.001)
    close(y, yt, 1e-7)
    yt.backward(torch.tensor(dy))
    close(dx, xt.grad, 1e-7)


def test_embedding_matches_torch():
    layer = build('EmbeddingLayer[3, 6, "Input" -> 4]')
    w = np.random.default_rng(1).standard_normal((6, 3))
    idx = np.array([[1, 6, 2, 2], [3, 3, 4, 1]])
    y, _, grads, dy = run(layer, {"Weights": w}, [idx])
    wt = t(w)
    yt = F.embedding(torch.tensor(idx - 1), wt)
    close(y, yt)
    yt.backward(torch.tensor(dy))
    close(grads["Weights"], wt.grad)


@pytest.mark.parametrize("text,mode,spec", [
    ('PaddingLayer[{{0, 0}, {2, 1}, {1, 2}}, "Input" -> {2, 4, 5}]', "constant", (1, 2, 2, 1)),
    ('PaddingLayer[{{0, 0}, {2, 1}, {1, 2}}, "Fixed", "Input" -> {2, 4, 5}]', "replicate",
     (1, 2, 2, 1)),
    ('PaddingLayer[{{0, 0}, {2, 1}, {1, 2}}, "Reflected", "Input" -> {2, 4, 5}]', "reflect",
     (1, 2, 2, 1)),
    ('PaddingLayer[{{0, 0}, {2, 1}, {1, 2}}, "Periodic", "Input" -> {2, 4, 5}]', "circular",
     (1, 2, 2, 1)),
])
def test_padding_matches_torch(text, mode, spec):
    layer = build(text)
    x = np.random.default_rng(2).standard_normal((3, 2, 4, 5))
    y, (dx,), _, dy = run(layer, {}, [x])
    xt = t(x)
    yt = F.pad(xt, spec, mode=mode)
    close(y, yt)
    yt.backward(torch.tensor(dy))
    close(dx, xt.grad)


@pytest.mark.parametrize("text,kw", [
    ('ResizeLayer[{7, 9}, "Input" -> {2, 4, 5}]', dict(size=(7, 9), mode="bilinear",
                                                        align_corners=True)),
    ('ResizeLayer[{Scaled[2], Scaled[2]}, "Resampling" -> "Nearest", "Input" -> {2, 3, 4}]',
     dict(scale_factor=2, mode="nearest")),
])
def test_resize_matches_interpolate(text, kw):
    layer = build(text)
    x = np.random.default_rng(2).standard_normal((3,) + layer.ports["Input"].shape)
    y, (dx,), _, dy = run(layer, {}, [x])
    xt = t(x)
    yt = F.interpolate(xt, **kw)
    close(y, yt)
    yt.backward(torch.tensor(dy))
    close(dx, xt.grad)


def test_aggregation_transpose_part_dot_match_torch():
    x = np.random.default_rng(2).standard_normal((3, 2, 4, 5))
    for text, fn in [
        ('AggregationLayer[Mean, "Input" -> {2, 4, 5}]', lambda v: v.mean(dim=(2, 3))),
        ('AggregationLayer[Total, -1, "Input" -> {2, 4, 5}]', lambda v: v.sum(dim=3)),
        ('TransposeLayer[TwoWayRule[1, 3], "Input" -> {2, 4, 5}]', lambda v: v.transpose(1, 3)),
        ('PartLayer[{All, 2 ;; 3, -1}, "Input" -> {2, 4, 5}]', lambda v: v[:, :, 1:3, 4]),
    ]:
        layer = build(text)
        y, (dx,), _, dy = run(layer, {}, [x])
        xt = t(x)
        yt = fn(xt)
        close(y, yt)
        yt.backward(torch.tensor(dy))
        close(dx, xt.grad)
    a = np.random.default_rng(3).standard_normal((3, 2, 4))
    b = np.random.default_rng(4).standard_normal((3, 4, 5))
    layer = build('DotLayer["Input1" -> {2, 4}, "Input2" -> {4, 5}]')
    y, (da, db), _, dy = run(layer, {}, [a, b])
    at, bt = t(a), t(b)
    yt = torch.matmul(at, bt)
    close(y, yt)
    yt.backward(torch.tensor(dy))
    close(da, at.grad)
    close(db, bt.grad)


def test_prelu_softmax_threading_match_torch():
    x = np.random.default_rng(2).standard_normal((4, 5))
    layer = build('ParametricRampLayer["Input" -> 5]')
    slope = np.array([0.1, 0.2, 0.3, -0.1, 0.5])
    y, (dx,), grads, dy = run(layer, {"Slope": slope}, [x])
    xt, st = t(x), t(slope)
    yt = F.prelu(xt, st)
    close(y, yt)
    yt.backward(torch.tensor(dy))
    close(dx, xt.grad)
    close(grads["Slope"], st.grad)

    x3 = np.random.default_rng(3).standard_normal((2, 3, 4))
    layer = build('SoftmaxLayer[1, "Input" -> {3, 4}]')
    y, (dx,), _, dy = run(layer, {}, [x3])
    xt = t(x3)
    yt = torch.softmax(xt, dim=1)
    close(y, yt)
    yt.backward(torch.tensor(dy))
    close(dx, xt.grad)

    a = np.random.default_rng(4).standard_normal((2, 3, 4))
    b = np.random.default_rng(5).standard_normal((2, 1, 4))
    layer = build('ThreadingLayer[#1 * #2 + #1 &, "Input1" -> {3, 4}, "Input2" -> {1, 4}]')
    y, (da, db), _, dy = run(layer, {}, [a, b])
    at, bt = t(a), t(b)
    yt = at * bt + at
    close(y, yt)
    yt.backward(torch.tensor(dy))
    close(da, at.grad)
    close(db, bt.grad)


@pytest.mark.parametrize("f,tf,lo,hi", [
    ("Gamma", torch.special.gamma if hasattr(torch.special, "gamma") else
     lambda v: torch.exp(torch.lgamma(v)), 0.3, 3.0),
    ("LogGamma", torch.lgamma, 0.2, 4.0),
    ("ArcTan", torch.atan, -3.0, 3.0), ("ArcSinh", torch.asinh, -3.0, 3.0),
    ("Sinh", torch.sinh, -2.0, 2.0), ("Cosh", torch.cosh, -2.0, 2.0),
    ("Erfc", torch.erfc, -2.0, 2.0),
])
def test_elementwise_functions_match_torch(f, tf, lo, hi):
    x = np.random.default_rng(6).uniform(lo, hi, (3, 7))
    layer = build(f'ElementwiseLayer[{f}, "Input" -> 7]')
    y, (dx,), _, dy = run(layer, {}, [x])
    xt = t(x)
    yt = tf(xt)
    close(y, yt, 2e-7)
    yt.backward(torch.tensor(dy))
    close(dx, xt.grad, 2e-6)
