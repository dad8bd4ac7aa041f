"""netdsl from Python: Session bindings and calling nets on NumPy arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError
from netdsl.layers.base import Net


@pytest.fixture
def s():
    s = netdsl.Session()
    s.evaluate('bn = NetInitialize@BatchNormalizationLayer["Input" -> 3]')
    return s


def test_session_reads_a_net(s):
    bn = s["bn"]
    assert isinstance(bn, Net) and bn.initialized
    with pytest.raises(KeyError):
        s["undefined"]
    assert "bn" in s and "undefined" not in s


def test_net_call_gives_numpy(s):
    bn = s["bn"]
    y = bn(np.array([1.0, 2.0, 3.0]))
    assert isinstance(y, np.ndarray) and y.shape == (3,) and y.dtype == np.float32
    np.testing.assert_allclose(y, np.array([1, 2, 3]) / math.sqrt(1.001), rtol=1e-6)
    # one more dimension than the port: a batch
    x = np.arange(12.0).reshape(4, 3)
    yb = bn(x)
    assert yb.shape == (4, 3)
    np.testing.assert_allclose(yb, x / math.sqrt(1.001), rtol=1e-6)
    # Python lists and other dtypes are fine
    np.testing.assert_allclose(bn([[1, 2, 3]]), [[1 / math.sqrt(1.001), 2 / math.sqrt(1.001),
                                                  3 / math.sqrt(1.001)]], rtol=1e-6)
    np.testing.assert_allclose(bn(np.array([1, 2, 3], np.int64)), y)
    with pytest.raises(EvaluationError, match="vector of size 3"):
        bn(np.ones((2, 2, 3)))


def test_net_call_train_mode(s):
    bn = s["bn"]
    x = np.array([[1.0, 2.0, 3.0], [3.0, 6.0, 9.0]])
    y = bn(x, evaluation_mode="Train")
    # batch mean {2, 4, 6}, biased variance {1, 4, 9}: (x - mean)/Sqrt[var + 0.001]
    mean, var = x.mean(axis=0), ((x - x.mean(axis=0)) ** 2).mean(axis=0)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 0.001), rtol=1e-5)
    np.testing.assert_allclose(y[0], [-0.9995, -0.999875, -0.999944], atol=1e-6)
    np.testing.assert_allclose(bn(x, evaluation_mode="Test"), x / math.sqrt(1.001), rtol=1e-6)
    with pytest.raises(EvaluationError, match='"Test" or "Train"'):
        bn(x, evaluation_mode="train")


def test_binding_numpy_values(s):
    x = np.array([[0.5, 1.5, -2.0], [1.0, 0.0, 4.0]])
    s["x"] = x
    np.testing.assert_array_equal(s["x"], x)
    np.testing.assert_array_equal(s.evaluate("Dimensions[x]"), [2, 3])
    np.testing.assert_allclose(s.evaluate("bn[x]"), x / math.sqrt(1.001), rtol=1e-6)
    np.testing.assert_allclose(s.evaluate("bn[x[[2]]]"), x[1] / math.sqrt(1.001), rtol=1e-6)
    s["k"] = 3
    assert s.evaluate("k + 1") == 4
    s["v"] = [1, 2.5]
    assert s.evaluate("Total[v]") == 3.5
    s["w"] = np.float32(2.0)
    assert s.evaluate("w * 2") == 4.0


def test_binding_arrays_into_layers(s):
    w = np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]])
    s["W"] = w
    s.evaluate('lin = LinearLayer[3, "Weights" -> W, "Biases" -> None, "Input" -> 2]')
    x = np.random.default_rng(0).standard_normal((5, 2))
    np.testing.assert_allclose(s["lin"](x), x @ w.T, rtol=1e-5, atol=1e-6)
    # and back out: NetExtract gives the same numbers, as a NumPy array
    out = s.evaluate('NetExtract[lin, "Weights"]')
    assert isinstance(np.asarray(out), np.ndarray)
    np.testing.assert_array_equal(out, w.astype(np.float32))


def test_several_inputs_and_outputs(s):
    g = s.evaluate('g = NetGraph[<|"r" -> Ramp, "t" -> Tanh|>, {NetPort["x"] -> "r" -> '
                   'NetPort["a"], NetPort["x"] -> "t" -> NetPort["b"]}, "x" -> 2]')
    x = np.array([-1.0, 1.0])
    out = g(x)
    assert set(out) == {"a", "b"}
    np.testing.assert_allclose(out["a"], [0, 1])
    np.testing.assert_allclose(out["b"], np.tanh(x), rtol=1e-6)
    np.testing.assert_allclose(g(x, port="b"), np.tanh(x), rtol=1e-6)
    loss = s.evaluate('MeanSquaredLossLayer["Input" -> 2]')
    v = loss({"Input": np.array([1.0, 2.0]), "Target": np.array([0.0, 0.0])})
    assert isinstance(v, float) and v == pytest.approx(2.5)
    vb = loss({"Input": np.ones((3, 2)), "Target": np.zeros((3, 2))})
    np.testing.assert_allclose(vb, [1, 1, 1])
    with pytest.raises(EvaluationError, match="pass a dict"):
        loss(np.ones(2))
    with pytest.raises(EvaluationError, match='Required input slot "Target"'):
        loss({"Input": np.ones(2)})


def test_python_errors_are_netdsl_exceptions(s):
    s.evaluate('bad = NetInitialize@BatchNormalizationLayer["Input" -> 2, '
               '"MovingVariance" -> {1, -5}]')
    with pytest.raises(netdsl.NumericalError):
        s["bad"](np.ones(2))
    with pytest.raises(netdsl.InitializationError):
        s.evaluate('LinearLayer[2, "Input" -> 2]')(np.ones(2))
    with pytest.raises(netdsl.InitializationError):
        s.evaluate("NetInitialize[BatchNormalizationLayer[]]")


@pytest.mark.parametrize("data", [None, 10 ** 400, np.array(["a", "b", "c"]),
                                  np.ones(3, complex), [np.inf, 1.0, 1.0], ["a", 1],
                                  np.array([1.5, 2.0])])
def test_data_a_net_cannot_take_is_a_netdsl_error(data):
    """Found by fuzzing the Python call: None or a huge integer raised a raw TypeError,
    strings or complex numbers for an integer port a raw ufunc error, infinity a NumPy
    RuntimeWarning."""
    dense = netdsl.evaluate('NetInitialize@NetChain[{LinearLayer[2]}, "Input" -> 3]')
    indices = netdsl.evaluate('NetInitialize@NetChain[{EmbeddingLayer[3, 5], '
                              'LongShortTermMemoryLayer[2]}, "Input" -> "Varying"]')
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for net in (dense, indices):
            try:
                net(data)
            except netdsl.NetDSLError:
                pass


def test_an_object_array_of_numbers_is_numbers():
    net = netdsl.evaluate('NetInitialize@NetChain[{EmbeddingLayer[3, 5], '
                          'LongShortTermMemoryLayer[2]}, "Input" -> "Varying"]')
    np.testing.assert_array_equal(net(np.array([1, 2, 3], dtype=object)),
                                  net(np.array([1, 2, 3])))
