"""Applying nets: the cached plan, input forms, batches, NetEvaluationMode, netnan, and every
layer of the catalogue evaluated through ``net[...]`` against a NumPy formula.

References are written here from the documented definitions (wolfram-semantics.md §3.3, §9,
§12, §13), batch-first, never from the executor's own helpers.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError, NumericalError
from netdsl.runtime import plan as plan_module

RTOL, ATOL = 1e-5, 1e-5


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=rtol, atol=atol)


def f32(x):
    """What the net computes on: the data rounded to float32."""
    return np.asarray(x, np.float32).astype(np.float64)


@pytest.fixture
def s():
    return netdsl.Session()


@pytest.fixture
def compiles(monkeypatch):
    """Counts how many times a net is compiled into a plan (graph work)."""
    calls = []
    original = plan_module._Compiler.compile

    def counting(self):
        calls.append(self.root)
        return original(self)
    monkeypatch.setattr(plan_module._Compiler, "compile", counting)
    return calls


def count_forward(monkeypatch, cls):
    calls = []
    original = cls.forward

    def counting(self, ctx, arrays, *xs):
        calls.append([x.shape for x in xs])
        return original(self, ctx, arrays, *xs)
    monkeypatch.setattr(cls, "forward", counting)
    return calls


# ---------------------------------------------------------------- the plan is cached
def test_evaluating_twice_compiles_once(s, compiles):
    s.evaluate('net = NetInitialize@NetChain[{LinearLayer[4], Tanh, LinearLayer[2]}, '
               '"Input" -> 3]')
    first = s.evaluate("net[{1, 2, 3}]")
    assert len(compiles) == 1
    second = s.evaluate("net[{1, 2, 3}]")
    s.evaluate("net[{{1, 2, 3}, {4, 5, 6}}]")          # a batch reuses the plan too
    assert len(compiles) == 1
    np.testing.assert_array_equal(first, second)
    net = s["net"]
    plan = net._plans["test"]
    net(np.ones(3))                                     # from Python: the same plan object
    assert net._plans["test"] is plan and len(compiles) == 1
    # this net computes the same in Train mode (no BatchNormalization, no Dropout): it
    # reuses its Test plan
    s.evaluate('net[{1, 2, 3}, NetEvaluationMode -> "Train"]')
    assert "train" not in net._plans and len(compiles) == 1
    # a net that trains differently has its own Train plan, compiled once as well
    s.evaluate('bn = NetInitialize@NetChain[{LinearLayer[4], BatchNormalizationLayer[]}, '
               '"Input" -> 3]')
    s.evaluate('bn[{{1, 2, 3}, {3, 2, 1}}, NetEvaluationMode -> "Train"]')
    s.evaluate('bn[{{1, 2, 3}, {3, 2, 1}}, NetEvaluationMode -> "Train"]')
    assert set(s["bn"]._plans) >= {"plain", "train"} and len(compiles) == 2


def test_a_changed_net_gets_its_own_plan(s, compiles):
    s.evaluate('net = NetInitialize@LinearLayer[2, "Input" -> 2]')
    s.evaluate("net[{1, 2}]")
    s.evaluate('net2 = NetReplacePart[net, "Biases" -> {10, 20}]')
    out = s.evaluate("net2[{0, 0}]")
    close(out, [10, 20])
    assert len(compiles) == 2
    assert s["net"]._plans["test"] is not s["net2"]._plans["test"]


# ---------------------------------------------------------------- input forms
@pytest.fixture
def lin(s):
    s["W"] = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]])
    s["b"] = np.array([0.5, -0.5])
    s.evaluate('lin = LinearLayer[2, "Weights" -> W, "Biases" -> b, "Input" -> 3]')
    return lambda x: np.asarray(x, np.float64) @ np.array([[1.0, 2.0, 3.0],
                                                            [0.0, -1.0, 0.5]]).T + [0.5, -0.5]


def test_one_example_and_a_batch(s, lin):
    one = s.evaluate("lin[{1, 2, 3}]")
    assert np.asarray(one).shape == (2,)
    close(one, lin([1, 2, 3]))
    batch = s.evaluate("lin[{{1, 2, 3}, {0, 0, 0}, {-1, 1, 2}}]")
    assert np.asarray(batch).shape == (3, 2)
    close(batch, lin([[1, 2, 3], [0, 0, 0], [-1, 1, 2]]))
    # a batch of one is still a batch
    assert np.asarray(s.evaluate("lin[{{1, 2, 3}}]")).shape == (1, 2)


def test_numpy_in_numpy_out(s, lin):
    net = s["lin"]
    x = np.random.default_rng(0).standard_normal((7, 3))
    y = net(x)
    assert isinstance(y, np.ndarray) and y.shape == (7, 2)
    close(y, lin(f32(x)))
    y1 = net(x[0])
    assert isinstance(y1, np.ndarray) and y1.shape == (2,)
    close(y1, lin(f32(x[0])))


def test_wrong_shapes_are_reported(s, lin):
    with pytest.raises(EvaluationError, match='should be a vector of size 3 or a list of them'):
        s.evaluate("lin[{1, 2}]")
    with pytest.raises(EvaluationError, match="Empty inputs"):
        s["lin"](np.zeros((0, 3)))
    with pytest.raises(EvaluationError, match="not a numeric array"):
        s.evaluate('lin[{1, 2, "a"}]')


def test_association_of_named_inputs_for_a_netgraph(s):
    s["W"] = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, -1.0]])
    s.evaluate('g = NetGraph[<|"sum" -> TotalLayer[], "lin" -> LinearLayer[2, "Weights" -> W, '
               '"Biases" -> None]|>, {{NetPort["a"], NetPort["b"]} -> "sum" -> "lin"}, '
               '"a" -> 3, "b" -> 3]')
    w = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, -1.0]])
    out = s.evaluate('g[<|"a" -> {1, 2, 3}, "b" -> {1, 0, -1}|>]')
    close(out, w @ np.array([2, 2, 2]))
    batch = s.evaluate('g[<|"a" -> {{1, 2, 3}, {0, 0, 0}}, "b" -> {{1, 0, -1}, {1, 1, 1}}|>]')
    close(batch, [w @ [2, 2, 2], w @ [1, 1, 1]])
    a, b = np.random.default_rng(1).standard_normal((2, 5, 3))
    close(s["g"]({"a": a, "b": b}), (f32(a) + f32(b)) @ w.T)
    with pytest.raises(EvaluationError, match='Required input slot "b"'):
        s.evaluate('g[<|"a" -> {1, 2, 3}|>]')
    with pytest.raises(EvaluationError, match='Unknown input "c"'):
        s.evaluate('g[<|"a" -> {1, 2, 3}, "b" -> {1, 2, 3}, "c" -> 1|>]')


def test_batch_is_one_vectorised_pass(s, monkeypatch):
    from netdsl.layers.batchnorm import BatchNormalizationLayer
    from netdsl.layers.simple import SoftmaxLayer
    bn_calls = count_forward(monkeypatch, BatchNormalizationLayer)
    sm_calls = count_forward(monkeypatch, SoftmaxLayer)
    s.evaluate('net = NetInitialize@NetChain[{BatchNormalizationLayer[], Tanh, SoftmaxLayer[]}, '
               '"Input" -> 4]')
    x = np.random.default_rng(2).standard_normal((50, 4))
    y = s["net"](x)
    assert y.shape == (50, 4)
    assert len(sm_calls) == 1 and sm_calls[0] == [(4, 50)]     # batch-last: (4, N)
    assert len(bn_calls) == 1 and bn_calls[0] == [(4, 50)]
    s["net"](x, evaluation_mode="Train")
    assert len(bn_calls) == 2 and len(sm_calls) == 2
    # the same through the language, with a list of 50 examples
    s["x"] = x
    s.evaluate("net[x]")
    assert len(bn_calls) == 3 and len(sm_calls) == 3


def test_just_in_time_shapes_from_the_data(s, compiles):
    """A net whose input shape is open takes it from the data (Wolfram's JITInferNet)."""
    close(s.evaluate("ElementwiseLayer[Ramp][{-1, 2, -3}]"), [0, 2, 0])
    close(s.evaluate("SoftmaxLayer[][{1, 2, 3}]"), np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    close(s.evaluate("CatenateLayer[][{{1, 2}, {3, 4, 5}}]"), [1, 2, 3, 4, 5])
    close(s.evaluate("TotalLayer[][{{1, 2}, {3, 4}}]"), [4, 6])
    # all four arrays given: no NetInitialize needed, any 3-channel input works
    s.evaluate('bn = BatchNormalizationLayer["Scaling" -> {0, 0, 0}, "Biases" -> {1, 2, 3}, '
               '"MovingMean" -> {0, 0, 0}, "MovingVariance" -> {1, 1, 1}]')
    close(s.evaluate("bn[{7, 8, 9}]"), [1, 2, 3])
    close(s.evaluate("bn[{{7, 8, 9}, {0, 0, 0}}]"), [[1, 2, 3], [1, 2, 3]])   # a batch
    close(s.evaluate("bn[ConstantArray[5, {3, 2, 2}]]"),
          np.array([1, 2, 3])[:, None, None] * np.ones((3, 2, 2)))
    n = len(compiles)
    s.evaluate("bn[{4, 5, 6}]")                        # same shape again: cached
    assert len(compiles) == n
    with pytest.raises(EvaluationError, match=r'does not fit the net: .*"Channels" \(3\)'):
        s.evaluate("bn[{1, 2}]")


# ---------------------------------------------------------------- NetEvaluationMode
def bn_reference(x, scaling, biases, mean, var, eps, train):
    """x batch-first (N, C, spatial...): per channel, over the batch and spatial dims."""
    x = np.asarray(x, np.float64)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if train:
        axes = (0,) + tuple(range(2, x.ndim))
        mean = x.mean(axis=axes)
        var = ((x - mean.reshape(shape)) ** 2).mean(axis=axes)      # biased: divide by N
    return (np.reshape(scaling, shape) * (x - np.reshape(mean, shape))
            / np.sqrt(np.reshape(var, shape) + eps) + np.reshape(biases, shape))


@pytest.mark.parametrize("shape", [(4,), (3, 5), (2, 3, 4)])
@pytest.mark.parametrize("mode", ["Test", "Train"])
def test_batchnorm_modes(s, shape, mode):
    rng = np.random.default_rng(3)
    c = shape[0]
    arrays = {"Scaling": rng.uniform(0.5, 2, c), "Biases": rng.standard_normal(c),
              "MovingMean": rng.standard_normal(c), "MovingVariance": rng.uniform(0.5, 2, c)}
    for k, v in arrays.items():
        s[k] = v
    dims = "{" + ", ".join(map(str, shape)) + "}"
    s.evaluate(f'bn = BatchNormalizationLayer["Input" -> {dims}, "Epsilon" -> 0.01, '
               f'"Scaling" -> Scaling, "Biases" -> Biases, "MovingMean" -> MovingMean, '
               f'"MovingVariance" -> MovingVariance]')
    x = rng.standard_normal((6,) + shape) * 3 + 1
    s["x"] = x
    out = s.evaluate(f'bn[x, NetEvaluationMode -> "{mode}"]')
    ref = bn_reference(f32(x), *(f32(arrays[k]) for k in arrays), 0.01, mode == "Train")
    close(out, ref, rtol=1e-4, atol=1e-4)
    close(s["bn"](x, evaluation_mode=mode), ref, rtol=1e-4, atol=1e-4)


def test_default_mode_is_test(s):
    s.evaluate('bn = NetInitialize@BatchNormalizationLayer["Input" -> 2]')
    a = s.evaluate("bn[{{1, 2}, {3, 5}}]")
    np.testing.assert_array_equal(a, s.evaluate('bn[{{1, 2}, {3, 5}}, NetEvaluationMode -> '
                                                '"Test"]'))
    close(a, np.array([[1, 2], [3, 5]]) / math.sqrt(1.001))
    with pytest.raises(EvaluationError, match='"Test" or "Train"'):
        s.evaluate('bn[{1, 2}, NetEvaluationMode -> "Training"]')


def test_train_mode_single_example_gives_the_biases(s):
    s.evaluate('bn = NetInitialize@BatchNormalizationLayer["Input" -> 3, "Biases" -> {1, 2, 3}]')
    close(s.evaluate('bn[{5, -6, 7}, NetEvaluationMode -> "Train"]'), [1, 2, 3])


def test_dropout_train_and_test(s):
    s.evaluate('d = DropoutLayer["Input" -> 10000]')
    x = np.random.default_rng(4).uniform(1, 2, 10000)
    s["x"] = x
    close(s.evaluate("d[x]"), f32(x), atol=0)                       # Test: identity
    y = np.asarray(s.evaluate('d[x, NetEvaluationMode -> "Train"]'), np.float64)
    zero = y == 0
    assert abs(zero.mean() - 0.5) < 0.02                            # roughly half dropped
    close(y[~zero], 2 * f32(x)[~zero], rtol=1e-6)                   # the rest doubled
    a = s.evaluate('d[x, NetEvaluationMode -> "Train", RandomSeeding -> 3]')
    b = s.evaluate('d[x, NetEvaluationMode -> "Train", RandomSeeding -> 3]')
    c = s.evaluate('d[x, NetEvaluationMode -> "Train", RandomSeeding -> "three"]')
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    p3 = s.evaluate('DropoutLayer[0.3, "Input" -> 10000][x, NetEvaluationMode -> "Train"]')
    p3 = np.asarray(p3, np.float64)
    assert abs((p3 == 0).mean() - 0.3) < 0.02
    close(p3[p3 != 0], f32(x)[p3 != 0] / 0.7, rtol=1e-6)


def test_evaluation_never_changes_the_net(s):
    s.evaluate('net = NetInitialize@NetChain[<|"lin" -> LinearLayer[3], '
               '"bn" -> BatchNormalizationLayer[], "drop" -> DropoutLayer[]|>, "Input" -> 2]')
    names = ["MovingMean", "MovingVariance", "Scaling", "Biases"]
    before = {n: np.array(s.evaluate(f'NetExtract[net, {{"bn", "{n}"}}]')) for n in names}
    w = np.array(s.evaluate('NetExtract[net, {"lin", "Weights"}]'))
    s["x"] = np.random.default_rng(5).standard_normal((20, 2)) * 5 + 3
    s.evaluate('net[x, NetEvaluationMode -> "Train"]')
    s["net"](np.ones((4, 2)), evaluation_mode="Train")
    for n in names:
        np.testing.assert_array_equal(s.evaluate(f'NetExtract[net, {{"bn", "{n}"}}]'),
                                      before[n], err_msg=n)
    np.testing.assert_array_equal(s.evaluate('NetExtract[net, {"lin", "Weights"}]'), w)
    np.testing.assert_array_equal(before["MovingMean"], [0, 0, 0])
    np.testing.assert_array_equal(before["MovingVariance"], [1, 1, 1])


def test_python_input_is_not_modified_nor_aliased(s):
    s.evaluate('d = NetChain[{DropoutLayer[], Ramp}, "Input" -> 3]')
    x = np.array([-1.0, 2.0, -3.0], np.float32)
    y = s["d"](x)
    np.testing.assert_array_equal(x, [-1, 2, -3])
    close(y, [0, 2, 0])
    z = s.evaluate('DropoutLayer["Input" -> 3]')(x)
    z[0] = 100                                        # the output is the caller's own array
    np.testing.assert_array_equal(x, [-1, 2, -3])


# ---------------------------------------------------------------- netnan
NETNAN = ("A floating-point overflow, underflow, or division by zero occurred while evaluating "
          "the net.")


def test_negative_moving_variance_is_netnan(s):
    s.evaluate('bn = NetInitialize@BatchNormalizationLayer["Input" -> 3, '
               '"MovingVariance" -> {1, -1, 1}]')
    with pytest.raises(NumericalError) as e:
        s.evaluate("bn[{1, 2, 3}]")
    assert (e.value.symbol, e.value.tag) == ("BatchNormalizationLayer", "netnan")
    assert e.value.text == NETNAN
    with pytest.raises(NumericalError, match="netnan"):
        s["bn"](np.ones(3))


def test_netnan_names_the_layer_in_a_chain(s):
    s.evaluate('net = NetInitialize@NetChain[{LinearLayer[3], '
               'BatchNormalizationLayer["MovingVariance" -> {1, -1, 1}], Ramp}, "Input" -> 2]')
    with pytest.raises(NumericalError) as e:
        s.evaluate("net[{1, 2}]")
    assert e.value.symbol == "NetChain"
    assert e.value.text.startswith(NETNAN)
    assert "layer 2" in e.value.text and "BatchNormalizationLayer" in e.value.text
    # also after a convolution, where Test mode folds a healthy BN into the convolution
    s.evaluate('c = NetInitialize@NetChain[{ConvolutionLayer[2, {3, 3}], '
               'BatchNormalizationLayer["MovingVariance" -> {1, -0.5}]}, "Input" -> {1, 4, 4}]')
    with pytest.raises(NumericalError, match="first appeared in layer 2"):
        s.evaluate("c[ConstantArray[1, {1, 4, 4}]]")


def test_variance_just_above_minus_epsilon_is_finite(s):
    # MovingVariance + Epsilon > 0 is fine: -0.0005 + 0.001 = 0.0005
    s.evaluate('bn = NetInitialize@BatchNormalizationLayer["Input" -> 1, '
               '"MovingVariance" -> {-0.0005}]')
    close(s.evaluate("bn[{1}]"), [1 / math.sqrt(0.0005)], rtol=1e-4)
    s.evaluate('bn2 = NetReplacePart[bn, "MovingVariance" -> {-0.002}]')
    with pytest.raises(NumericalError):
        s.evaluate("bn2[{1}]")


# ---------------------------------------------------------------- every layer through a net
def ref_conv2d(x, w, b):
    """x (N, C, H, W), w (F, C, kh, kw), no padding, stride 1: loops."""
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    y = np.zeros((n, f, h - kh + 1, wd - kw + 1))
    for i, j in itertools.product(range(h - kh + 1), range(wd - kw + 1)):
        y[:, :, i, j] = np.einsum("ncij,fcij->nf", x[:, :, i:i + kh, j:j + kw], w)
    return y + b[None, :, None, None]


def ref_pool2d(x, k, stride, fn):
    n, c, h, w = x.shape
    oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    y = np.zeros((n, c, oh, ow))
    for i, j in itertools.product(range(oh), range(ow)):
        win = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
        y[:, :, i, j] = win.max(axis=(2, 3)) if fn == "Max" else win.mean(axis=(2, 3))
    return y


RNG = np.random.default_rng(6)
W_CONV, B_CONV = RNG.standard_normal((3, 2, 2, 2)), RNG.standard_normal(3)
W_LIN, B_LIN = RNG.standard_normal((4, 6)), RNG.standard_normal(4)
BN = [RNG.uniform(0.5, 2, 3), RNG.standard_normal(3), RNG.standard_normal(3),
      RNG.uniform(0.5, 2, 3)]


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# layer text, {name: data shape (per example) or int class range}, reference(**data)
CATALOGUE = [
    ('BatchNormalizationLayer["Input" -> {3, 4}, "Scaling" -> S1, "Biases" -> S2, '
     '"MovingMean" -> S3, "MovingVariance" -> S4]', {"Input": (3, 4)},
     lambda Input: bn_reference(Input, *map(f32, BN), 0.001, False)),
    ('ConvolutionLayer[3, {2, 2}, "Weights" -> WC, "Biases" -> BC, "Input" -> {2, 5, 4}]',
     {"Input": (2, 5, 4)}, lambda Input: ref_conv2d(Input, f32(W_CONV), f32(B_CONV))),
    ('PoolingLayer[{2, 2}, "Input" -> {2, 5, 4}]', {"Input": (2, 5, 4)},
     lambda Input: ref_pool2d(Input, 2, 1, "Max")),                 # default stride 1
    ('PoolingLayer[{2, 2}, 2, "Function" -> Mean, "Input" -> {2, 5, 4}]', {"Input": (2, 5, 4)},
     lambda Input: ref_pool2d(Input, 2, 2, "Mean")),
    ('LinearLayer[4, "Weights" -> WL, "Biases" -> BL, "Input" -> {2, 3}]', {"Input": (2, 3)},
     lambda Input: Input.reshape(len(Input), -1) @ f32(W_LIN).T + f32(B_LIN)),
    ('ElementwiseLayer[LogisticSigmoid, "Input" -> {2, 3}]', {"Input": (2, 3)},
     lambda Input: 1 / (1 + np.exp(-Input))),
    ('ElementwiseLayer[Max[#, 0.2 #] &, "Input" -> 5]', {"Input": (5,)},
     lambda Input: np.where(Input > 0, Input, 0.2 * Input)),
    ('SoftmaxLayer["Input" -> {2, 5}]', {"Input": (2, 5)}, lambda Input: softmax(Input)),
    ('FlattenLayer["Input" -> {2, 3, 2}]', {"Input": (2, 3, 2)},
     lambda Input: Input.reshape(len(Input), -1)),
    ('ReshapeLayer[{3, 4}, "Input" -> {2, 6}]', {"Input": (2, 6)},
     lambda Input: Input.reshape(len(Input), 3, 4)),
    ('DropoutLayer[0.5, "Input" -> 7]', {"Input": (7,)}, lambda Input: Input),   # Test mode
    ('SummationLayer["Input" -> {2, 3}]', {"Input": (2, 3)},
     lambda Input: Input.reshape(len(Input), -1).sum(axis=1)),
    ('CatenateLayer["Input1" -> {2, 3}, "Input2" -> {1, 3}]',
     {"Input1": (2, 3), "Input2": (1, 3)},
     lambda Input1, Input2: np.concatenate([Input1, Input2], axis=1)),
    ('TotalLayer["Output" -> 4]', {"Input1": (4,), "Input2": (4,)},
     lambda Input1, Input2: Input1 + Input2),
    ('ThreadingLayer[#1 - 2 #2 &, "Output" -> {2, 2}]', {"Input1": (2, 2), "Input2": (2, 2)},
     lambda Input1, Input2: Input1 - 2 * Input2),
    ('MeanSquaredLossLayer["Input" -> 3]', {"Input": (3,), "Target": (3,)},
     lambda Input, Target: ((Input - Target) ** 2).mean(axis=1)),
    ('CrossEntropyLossLayer["Index", "Input" -> 4]', {"Input": "probs4", "Target": 4},
     lambda Input, Target: -np.log(Input[np.arange(len(Input)), Target - 1])),
    ('CrossEntropyLossLayer["Probabilities", "Input" -> 4]',
     {"Input": "probs4", "Target": "probs4"},
     lambda Input, Target: -(Target * np.log(Input)).sum(axis=1)),
    ('CrossEntropyLossLayer["Binary", "Input" -> 3]', {"Input": "unit3", "Target": "unit3"},
     lambda Input, Target: -(Target * np.log(Input)
                             + (1 - Target) * np.log(1 - Input)).mean(axis=1)),
]


def make_data(spec, n, rng):
    if spec == "probs4":
        return rng.dirichlet(np.ones(4), n)
    if spec == "unit3":
        return rng.uniform(0.05, 0.95, (n, 3))
    if isinstance(spec, int):
        return rng.integers(1, spec + 1, n)
    return rng.standard_normal((n,) + spec)


@pytest.mark.parametrize("text,ports,ref", CATALOGUE,
                         ids=[f"{i}-{c[0].split('[')[0]}" for i, c in enumerate(CATALOGUE)])
def test_every_layer_through_a_net(s, text, ports, ref):
    for name, v in {"WC": W_CONV, "BC": B_CONV, "WL": W_LIN, "BL": B_LIN,
                    **{f"S{i + 1}": a for i, a in enumerate(BN)}}.items():
        s[name] = v
    rng = np.random.default_rng(7)
    data = {p: make_data(spec, 3, rng) for p, spec in ports.items()}
    for p, v in data.items():
        s[f"d{p}"] = v
    s.evaluate(f"layer = {text}")
    expected = ref(**{p: (f32(v) if v.dtype.kind == "f" else v) for p, v in data.items()})
    if len(ports) == 1:
        (p,) = ports
        nets = ["layer", "NetChain[{layer}]"]
        arg, first = f"d{p}", f"d{p}[[1]]"
    else:
        nets = ["layer"]
        arg = "<|" + ", ".join(f'"{p}" -> d{p}' for p in ports) + "|>"
        first = "<|" + ", ".join(f'"{p}" -> d{p}[[1]]' for p in ports) + "|>"
    for net in nets:
        close(s.evaluate(f"{net}[{arg}]"), expected)          # a batch of 3
        close(s.evaluate(f"{net}[{first}]"), expected[0])     # one example
    # from Python, NumPy in and out
    py = s["layer"](data[next(iter(ports))] if len(ports) == 1 else data)
    assert isinstance(py, np.ndarray)
    close(py, expected)
