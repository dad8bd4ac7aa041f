"""``net(x)`` from Python called again with an array of the same shape and dtype (the
kept ``_FastCall`` of runtime/apply.py, issue 14): the same values as a fresh net's
first call, no aliasing of the input, netnan still raised, and no fast path where the
data needs checking or converting."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl import NumericalError

LENET = """NetInitialize[NetChain[{ConvolutionLayer[4, {3, 3}], BatchNormalizationLayer[], Ramp,
  PoolingLayer[{2, 2}, {2, 2}], ConvolutionLayer[6, {3, 3}], Ramp, PoolingLayer[{2, 2}, {2, 2}],
  FlattenLayer[], LinearLayer[5], SoftmaxLayer[]}, "Input" -> {1, 16, 16}],
  RandomSeeding -> 3]"""


def fresh(code: str):
    s = netdsl.Session()
    s.evaluate(f"n = {code}")
    return s["n"]


@pytest.mark.parametrize("shape", [(1, 16, 16), (1, 1, 16, 16), (5, 1, 16, 16)])
def test_repeated_calls_equal_a_fresh_net(shape):
    net = fresh(LENET)
    rng = np.random.default_rng(0)
    first = rng.random(shape, dtype=np.float32)
    net(first)
    assert net.__dict__.get("_fast_call") is not None
    for _ in range(3):
        x = rng.random(shape, dtype=np.float32)
        y = net(x)
        expected = fresh(LENET)(x)           # a first call: the ordinary path
        assert y.shape == expected.shape == (shape[:-3] + (5,))
        np.testing.assert_array_equal(y, expected)


def test_other_dtype_or_shape_takes_the_ordinary_path():
    net = fresh(LENET)
    x = np.random.default_rng(1).random((2, 1, 16, 16))      # float64: converted each time
    net(x)
    assert net.__dict__.get("_fast_call") is None
    y32 = net(x.astype(np.float32))
    np.testing.assert_array_equal(net(x), y32)
    with pytest.raises(netdsl.EvaluationError):
        net(np.zeros((2, 1, 15, 16), np.float32))             # still checked


def test_identity_like_net_does_not_alias_the_input():
    net = fresh('DropoutLayer["Input" -> 3]')
    x = np.array([1.0, 2.0, 3.0], np.float32)
    net(x)
    for _ in range(2):
        y = net(x)
        assert not np.shares_memory(y, x)
        np.testing.assert_array_equal(y, x)


def test_nan_is_still_netnan():
    net = fresh('NetInitialize[LinearLayer[2, "Input" -> 3], RandomSeeding -> 1]')
    net(np.ones(3, np.float32))
    with pytest.raises(NumericalError, match="overflow"):
        net(np.array([1.0, np.nan, 3.0], np.float32))


def test_integer_input_is_checked_every_time():
    net = fresh('NetInitialize[EmbeddingLayer[2, 4, "Input" -> 3], RandomSeeding -> 1]')
    net(np.array([1, 2, 3]))
    assert net.__dict__.get("_fast_call") is None
    with pytest.raises(netdsl.EvaluationError):
        net(np.array([1, 2, 5]))


def test_scalar_output_is_a_float_every_time():
    net = fresh('SummationLayer["Input" -> 3]')
    for v in ([1.0, 2.0, 3.0], [4.0, 5.0, 6.5]):
        y = net(np.array(v, np.float32))
        assert isinstance(y, float) and y == sum(v)
    ys = net(np.array([[1.0, 2.0, 3.0]], np.float32))
    ys = net(np.array([[1.0, 2.0, 4.0]], np.float32))
    assert ys.shape == (1,) and ys[0] == 7.0
