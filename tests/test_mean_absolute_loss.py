"""MeanAbsoluteLossLayer: Wolfram's ports and shape rule (the paclet's Tests sizes), the
mean of |Input - Target| against a naive loop, Sign[x - t]/m against float64 finite
differences and torch's l1_loss, NetTrain with LossFunction -> MeanAbsoluteLossLayer[] (the
automatic loss stays mean squared), check, text and net-file round trips."""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdsl
from netdsl import ShapeError
from netdsl.check import check_text
from netdsl.runtime.train.losses import loss_for
from layer_harness import build, check_gradients, file_round_trip, forward, to_batch_last


def ev(text):
    return netdsl.Session().evaluate(text)


# ---------------------------------------------------------------- shapes (paclet Tests)
@pytest.mark.parametrize("text,shape", [
    ('MeanAbsoluteLossLayer["Input" -> 3]', (3,)),
    ('MeanAbsoluteLossLayer["Input" -> {3, 3}]', (3, 3)),
    ('MeanAbsoluteLossLayer["Target" -> {3, 3}]', (3, 3)),        # the other direction
    ('MeanAbsoluteLossLayer["Input" -> "Real", "Target" -> "Real"]', ()),
])
def test_ports_follow_each_other(text, shape):
    layer = build(text)
    assert layer.ports["Input"].shape == layer.ports["Target"].shape == shape
    assert layer.ports["Loss"].shape == ()
    assert layer.is_loss


def test_varying_lengths_are_allowed():
    layer = build('MeanAbsoluteLossLayer["Input" -> {"Varying", 2}]')
    assert len(layer.ports["Target"].shape) == 2 and layer.ports["Target"].shape[1] == 2


def test_input_and_target_must_agree():
    with pytest.raises(ShapeError, match="MeanAbsoluteLossLayer"):
        ev('MeanAbsoluteLossLayer["Input" -> 3, "Target" -> 4]')


# ---------------------------------------------------------------- numbers
def naive_mae(x, t):
    out = np.zeros(len(x))
    for n in range(len(x)):
        xs, ts = np.ravel(x[n]), np.ravel(t[n])
        out[n] = sum(abs(a - b) for a, b in zip(xs, ts)) / len(xs)
    return out


@pytest.mark.parametrize("dims", [(3,), (2, 3), (2, 2, 2)])
def test_forward_is_the_mean_absolute_difference(dims):
    layer = build(f'MeanAbsoluteLossLayer["Input" -> {{{", ".join(map(str, dims))}}}]')
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(4, *dims)), rng.normal(size=(4, *dims))
    (loss,) = forward(layer, {}, x, t)
    np.testing.assert_allclose(loss, naive_mae(x, t), rtol=1e-6)


def test_scalar_ports():
    layer = build('MeanAbsoluteLossLayer["Input" -> "Real"]')
    (loss,) = forward(layer, {}, np.array([1.5, -2.0]), np.array([0.5, 1.0]))
    np.testing.assert_allclose(loss, [1.0, 3.0])


@pytest.mark.parametrize("dims", [(5,), (2, 3)])
def test_backward_matches_finite_differences(dims):
    layer = build(f'MeanAbsoluteLossLayer["Input" -> {{{", ".join(map(str, dims))}}}]')
    rng = np.random.default_rng(3)
    x, t = rng.normal(size=(3, *dims)), rng.normal(size=(3, *dims))   # no kinks (x = t)
    check_gradients(layer, {}, [to_batch_last(x), to_batch_last(t)])


def test_gradient_is_sign_over_the_count():
    layer = build('MeanAbsoluteLossLayer["Input" -> 4]')
    x = np.array([[1.0, -1.0, 2.0, 0.5]]).T
    t = np.array([[0.0, 0.0, 2.0, 1.0]]).T
    from layer_harness import ctx
    _, cache = layer.forward(ctx(grad=True), {}, x, t)
    (dx, dt), _ = layer.backward(ctx(grad=True), {}, cache, np.array([2.0]))
    np.testing.assert_allclose(dx[:, 0], [0.5, -0.5, 0.0, -0.5])      # 2 Sign[x - t]/4
    np.testing.assert_allclose(dt, -dx)


def test_against_torch_l1_loss():
    torch = pytest.importorskip("torch")
    layer = build('MeanAbsoluteLossLayer["Input" -> {2, 3}]')
    rng = np.random.default_rng(5)
    x, t = rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 2, 3))
    from layer_harness import ctx
    (loss,), cache = layer.forward(ctx(grad=True), {}, to_batch_last(x), to_batch_last(t))
    dloss = rng.normal(size=4)
    (dx, dt), _ = layer.backward(ctx(grad=True), {}, cache, dloss)
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t, requires_grad=True)
    lt = torch.nn.functional.l1_loss(xt, tt, reduction="none").mean(dim=(1, 2))
    lt.backward(torch.tensor(dloss))
    np.testing.assert_allclose(loss, lt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(np.moveaxis(dx, -1, 0), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(np.moveaxis(dt, -1, 0), tt.grad.numpy(), rtol=1e-12)


def test_torch_conversion_of_a_net_with_the_loss():
    pytest.importorskip("torch")
    import torch
    from netdsl.torch import to_torch
    net = ev('NetInitialize@NetGraph[<|"lin" -> LinearLayer[3], "mae" -> MeanAbsoluteLossLayer[]|>,'
             ' {"lin" -> NetPort["mae", "Input"]}, "Input" -> 2]')
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(5, 2)).astype(np.float32), rng.normal(size=(5, 3)).astype(np.float32)
    m = to_torch(net)
    y = m(Input=torch.tensor(x), Target=torch.tensor(t))
    np.testing.assert_allclose(y.detach().numpy(), net({"Input": x, "Target": t}), rtol=1e-5)


# ---------------------------------------------------------------- training
def test_the_automatic_loss_is_still_mean_squared():
    net = ev('NetChain[{LinearLayer[2]}, "Input" -> 3]')
    assert loss_for(net, "Output").name == "MeanSquaredLossLayer"


def test_nettrain_with_mean_absolute_loss_fits_a_line():
    s = netdsl.Session()
    xs = [i / 8 for i in range(-8, 8)]
    data = "{" + ", ".join(f"{{{x}}} -> {{{2 * x + 1}}}" for x in xs) + "}"
    trained = s.evaluate(f'NetTrain[NetChain[{{LinearLayer[1]}}, "Input" -> 1], {data}, '
                         f'LossFunction -> MeanAbsoluteLossLayer[], MaxTrainingRounds -> 400, '
                         f'BatchSize -> 16, LearningRate -> 0.05, RandomSeeding -> 1, '
                         f'Method -> {{"SGD", "Momentum" -> 0.9, "LearningRateSchedule" -> None}}, '
                         f'TrainingProgressReporting -> None]')
    w = trained.net("1").arrays
    np.testing.assert_allclose(w["Weights"].ravel(), [2.0], atol=0.05)
    np.testing.assert_allclose(w["Biases"], [1.0], atol=0.05)


# ---------------------------------------------------------------- check, text, files, ONNX
def test_netdsl_check_reports_the_loss_shape():
    out, err = io.StringIO(), io.StringIO()
    src = ('loss = NetGraph[{MeanAbsoluteLossLayer[]}, {}, "Input" -> {2, 3}];\n'
           'y = loss[<|"Input" -> RandomReal[1, {4, 2, 3}], "Target" -> RandomReal[1, {4, 2, 3}]|>]\n')
    assert check_text(src, "t.wl", out, err) == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert ('t.wl:1: loss = NetGraph: "Input" matrix of dimensions {2, 3}, "Target" matrix of '
            'dimensions {2, 3} -> "Loss" real number') in lines
    assert "t.wl:2: y = output of dimensions {4}" in lines


def test_text_round_trip():
    layer = ev('MeanAbsoluteLossLayer["Input" -> {2, 3}]')
    text = netdsl.input_form(layer)
    assert text == 'MeanAbsoluteLossLayer["Input" -> {2, 3}, "Target" -> {2, 3}]'
    assert ev(text) == layer


def test_net_file_round_trip(tmp_path):
    net = ev('NetInitialize@NetGraph[<|"lin" -> LinearLayer[3], "mae" -> MeanAbsoluteLossLayer[]|>,'
             ' {"lin" -> NetPort["mae", "Input"]}, "Input" -> 2]')
    back = file_round_trip(net, tmp_path)
    x = {"Input": np.ones((2, 2), np.float32), "Target": np.zeros((2, 3), np.float32)}
    np.testing.assert_array_equal(back(x), net(x))
