"""net[x, NetPortGradient[...]]: gradients with respect to inputs and arrays, checked against
central finite differences in float64 (of a NumPy formula of the same net, and of the
executor itself run in float64 with the net's arrays)."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import EvaluationError
from netdsl.expr import Association
from netdsl.runtime.context import Ctx
from netdsl.runtime.plan import compile_plan
from netdsl.runtime.train import Parameters

MLP = ('net = NetInitialize[NetChain[{LinearLayer[4], Tanh, LinearLayer[2]}, "Input" -> 3], '
       'RandomSeeding -> 11];')
X = np.array([[0.5, -1.0, 0.25], [1.5, 0.3, -0.7]])


def ev(text):
    return netdsl.evaluate(MLP + text)


def arr(x):
    return np.asarray(x, dtype=np.float64)


def mlp_arrays():
    return [arr(ev(f'net[[{i}, "{a}"]]')) for i, a in ((1, "Weights"), (1, "Biases"),
                                                        (3, "Weights"), (3, "Biases"))]


def mlp(x, w1, b1, w2, b2, g=None):
    """The net's output summed (or dotted with g), in float64."""
    y = np.tanh(x @ w1.T + b1) @ w2.T + b2
    return float((y if g is None else y * g).sum())


def fd(f, a, h=1e-6):
    """Central differences of f with respect to every element of a (float64)."""
    a = np.array(a, dtype=np.float64)
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + h
        up = f(a)
        a[i] = old - h
        down = f(a)
        a[i] = old
        g[i] = (up - down) / (2 * h)
    return g


def wl(a) -> str:
    return repr(np.asarray(a).tolist()).replace("[", "{").replace("]", "}")


def test_input_gradient_one_example_and_batch():
    w1, b1, w2, b2 = mlp_arrays()
    got = arr(ev(f'net[{wl(X[0])}, NetPortGradient["Input"]]'))
    want = fd(lambda x: mlp(x, w1, b1, w2, b2), X[0])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    got = arr(ev(f'net[{wl(X)}, NetPortGradient["Input"]]'))      # one gradient per example
    want = np.stack([fd(lambda x: mlp(x, w1, b1, w2, b2), row) for row in X])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_array_gradients_are_summed_over_the_batch():
    w1, b1, w2, b2 = mlp_arrays()
    got_w1 = arr(ev(f'net[{wl(X)}, NetPortGradient[{{1, "Weights"}}]]'))
    np.testing.assert_allclose(got_w1, fd(lambda w: mlp(X, w, b1, w2, b2), w1),
                               rtol=1e-4, atol=1e-6)
    got_b2 = arr(ev(f'net[{wl(X)}, NetPortGradient[{{3, "Biases"}}]]'))
    np.testing.assert_allclose(got_b2, fd(lambda b: mlp(X, w1, b1, w2, b), b2), rtol=1e-5)
    assert got_b2 == pytest.approx([2.0, 2.0])      # d(sum)/d(bias): one per example


def test_output_gradient_seed():
    w1, b1, w2, b2 = mlp_arrays()
    g = np.array([0.5, -2.0])
    got = arr(ev(f'net[<|"Input" -> {wl(X[0])}, NetPortGradient["Output"] -> {wl(g)}|>, '
                 f'NetPortGradient["Input"]]'))
    np.testing.assert_allclose(got, fd(lambda x: mlp(x, w1, b1, w2, b2, g), X[0]),
                               rtol=1e-4, atol=1e-6)


def test_list_and_all_give_associations():
    got = ev(f'net[{wl(X[0])}, {{NetPortGradient["Input"], NetPortGradient[{{1, "Biases"}}]}}]')
    assert isinstance(got, Association) and len(got) == 2
    every = ev(f'net[{wl(X[0])}, NetPortGradient[All]]')
    keys = [netdsl.input_form(k) for k in every.keys()]
    assert keys == ['NetPortGradient["Input"]', 'NetPortGradient[{1, "Weights"}]',
                    'NetPortGradient[{1, "Biases"}]', 'NetPortGradient[{3, "Weights"}]',
                    'NetPortGradient[{3, "Biases"}]']


def test_layer_array_by_name():
    text = 'l = NetInitialize[LinearLayer[2, "Input" -> 2]];'
    got = arr(netdsl.evaluate(text + ' l[{1., 2.}, NetPortGradient["Weights"]]'))
    np.testing.assert_allclose(got, [[1, 2], [1, 2]])


def test_conv_batchnorm_net_against_float64_executor():
    text = ('c = NetInitialize[NetChain[{ConvolutionLayer[2, 3, "PaddingSize" -> 1], '
            'BatchNormalizationLayer[], Ramp, PoolingLayer[2, 2], FlattenLayer[], '
            'LinearLayer[3]}, "Input" -> {1, 6, 6}], RandomSeeding -> 4];'
            'c = NetReplacePart[c, {{2, "MovingMean"} -> {0.1, -0.2}, '
            '{2, "MovingVariance"} -> {1.5, 0.7}}];')
    net = netdsl.evaluate(text + " c")
    x = np.random.default_rng(0).standard_normal((1, 6, 6))
    got = arr(netdsl.evaluate(text + f' c[{wl(x)}, NetPortGradient["Input"]]'))
    plan = compile_plan(net)
    params = Parameters(plan, {}, dtype=np.float64)   # the same arrays, in float64

    def f(xx):
        outs, _, _ = plan.run(Ctx(train=False), {"Input": xx[..., None]}, steps=params.steps)
        return float(outs["Output"].sum())
    np.testing.assert_allclose(got, fd(f, x), rtol=2e-3, atol=2e-5)
    wg = arr(netdsl.evaluate(text + f' c[{wl(x)}, NetPortGradient[{{1, "Weights"}}]]'))
    key = (("1",), "Weights")

    def fw(w):
        params.view(key)[...] = w
        return f(x)
    w0 = params.view(key).copy()
    np.testing.assert_allclose(wg, fd(fw, w0), rtol=2e-3, atol=2e-5)


def test_errors():
    with pytest.raises(EvaluationError, match="no input port or learned array"):
        ev(f'net[{wl(X[0])}, NetPortGradient["Nope"]]')
    with pytest.raises(EvaluationError, match="output port"):
        ev(f'net[{wl(X[0])}, NetPortGradient["Output"]]')
    with pytest.raises(netdsl.NetDSLError, match="unspecified value"):
        netdsl.evaluate('NetChain[{LinearLayer[2]}, "Input" -> 2][{1., 2.}, '
                        'NetPortGradient["Input"]]')
    # an output gradient of the wrong shape or number of examples: said, not a traceback
    with pytest.raises(EvaluationError, match=r"dimensions \[3\] for an example; the output "
                                              r"has \[2\]"):
        ev(f'net[<|"Input" -> {wl(X[0])}, NetPortGradient["Output"] -> {{1., 2., 3.}}|>, '
           f'NetPortGradient["Input"]]')
    with pytest.raises(EvaluationError, match="is for 1 example; the input has 2"):
        ev(f'net[<|"Input" -> {wl(X)}, NetPortGradient["Output"] -> {{{{1., 2.}}}}|>, '
           f'NetPortGradient["Input"]]')
