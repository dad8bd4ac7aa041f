"""NetInitialize: which arrays are filled, by which method and seed, and when it must refuse.

Expected values are the documented formulas (wolfram-semantics.md §1 decision 1, §7),
computed here: Kaiming sd Sqrt[2/fan_in], Xavier sd Sqrt[2/(fan_in + fan_out)], fan_in the
product of every weight dimension but the first; every "Biases" zero; BatchNormalization
Scaling ones, MovingMean zeros, MovingVariance ones.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError, InitializationError, Symbol

AUTOMATIC = Symbol("Automatic")


@pytest.fixture
def s():
    return netdsl.Session()


def arr(s, text):
    """An array read back with NetExtract, as NumPy (float32, like the net's own)."""
    v = s.evaluate(text)
    assert v is not AUTOMATIC, f"{text} is not initialised"
    a = np.asarray(v)
    assert a.dtype.kind == "f"
    return a.astype(np.float64)


BIG_LINEAR = 'NetChain[{LinearLayer[300, "Input" -> 400]}]'         # Weights {300, 400}
BIG_CONV = 'NetChain[{ConvolutionLayer[64, {3, 3}, "Input" -> {32, 8, 8}]}]'  # {64, 32, 3, 3}


# ---------------------------------------------------------------- which arrays
def test_fills_unset_arrays_and_leaves_nothing_automatic(s):
    s.evaluate('net = NetChain[{ConvolutionLayer[4, {3, 3}], BatchNormalizationLayer[], Ramp, '
               'FlattenLayer[], LinearLayer[5]}, "Input" -> {2, 6, 6}]')
    for part in ['{1, "Weights"}', '{1, "Biases"}', '{2, "Scaling"}', '{5, "Weights"}']:
        assert s.evaluate(f"NetExtract[net, {part}]") is AUTOMATIC
    s.evaluate("init = NetInitialize[net]")
    assert arr(s, 'NetExtract[init, {1, "Weights"}]').shape == (4, 2, 3, 3)
    assert arr(s, 'NetExtract[init, {5, "Weights"}]').shape == (5, 4 * 4 * 4)
    # every "Biases" is zero
    np.testing.assert_array_equal(arr(s, 'NetExtract[init, {1, "Biases"}]'), np.zeros(4))
    np.testing.assert_array_equal(arr(s, 'NetExtract[init, {5, "Biases"}]'), np.zeros(5))
    # BatchNormalization: Scaling ones, Biases zeros, MovingMean zeros, MovingVariance ones
    for name, value in [("Scaling", 1), ("Biases", 0), ("MovingMean", 0), ("MovingVariance", 1)]:
        np.testing.assert_array_equal(arr(s, f'NetExtract[init, {{2, "{name}"}}]'),
                                      np.full(4, value), err_msg=name)
    # the original value is untouched (nets are values)
    assert s.evaluate('NetExtract[net, {1, "Weights"}]') is AUTOMATIC


def test_kept_unless_all(s):
    s.evaluate('bn = BatchNormalizationLayer["Input" -> 3, "Biases" -> {1, 2, 3}, '
               '"MovingVariance" -> {4, 5, 6}]')
    s.evaluate("a = NetInitialize[bn]")
    np.testing.assert_array_equal(arr(s, 'NetExtract[a, "Biases"]'), [1, 2, 3])
    np.testing.assert_array_equal(arr(s, 'NetExtract[a, "MovingVariance"]'), [4, 5, 6])
    np.testing.assert_array_equal(arr(s, 'NetExtract[a, "Scaling"]'), [1, 1, 1])
    # All: every array is drawn again, given ones included
    s.evaluate("b = NetInitialize[a, All]")
    np.testing.assert_array_equal(arr(s, 'NetExtract[b, "Biases"]'), [0, 0, 0])
    np.testing.assert_array_equal(arr(s, 'NetExtract[b, "MovingVariance"]'), [1, 1, 1])


def test_initialised_weights_are_kept_by_a_second_call(s):
    s.evaluate(f"net = NetInitialize[{BIG_LINEAR}, RandomSeeding -> 1]")
    w1 = arr(s, 'NetExtract[net, {1, "Weights"}]')
    w2 = arr(s, 'NetExtract[NetInitialize[net, RandomSeeding -> 2], {1, "Weights"}]')
    np.testing.assert_array_equal(w1, w2)
    w3 = arr(s, 'NetExtract[NetInitialize[net, All, RandomSeeding -> 2], {1, "Weights"}]')
    assert not np.array_equal(w1, w3)


def test_none_removes_every_array(s):
    s.evaluate('net = NetInitialize@NetChain[{LinearLayer[3], '
               'BatchNormalizationLayer["Biases" -> {1, 2, 3}]}, "Input" -> 2]')
    s.evaluate("bare = NetInitialize[net, None]")
    for part in ['{1, "Weights"}', '{1, "Biases"}', '{2, "Biases"}', '{2, "MovingMean"}']:
        assert s.evaluate(f"NetExtract[bare, {part}]") is AUTOMATIC, part
    # the shapes stay known, so it can be initialised again
    assert arr(s, 'NetExtract[NetInitialize[bare], {1, "Weights"}]').shape == (3, 2)


def test_list_of_nets(s):
    out = s.evaluate('NetInitialize[{LinearLayer[2, "Input" -> 3], '
                     'BatchNormalizationLayer["Input" -> 2]}]')
    assert [x.initialized for x in out.args] == [True, True]


def test_shared_array_is_set_once(s):
    s.evaluate('net = NetInitialize@NetChain[{LinearLayer[4, "Weights" -> NetArray["W"]], Ramp, '
               'LinearLayer[4, "Weights" -> NetArray["W"]]}, "Input" -> 4]')
    w1 = arr(s, 'NetExtract[net, {1, "Weights"}]')
    w3 = arr(s, 'NetExtract[net, {3, "Weights"}]')
    shared = arr(s, 'NetExtract[net, NetSharedArray["W"]]')
    np.testing.assert_array_equal(w1, w3)
    np.testing.assert_array_equal(w1, shared)
    # one draw: the same numbers as a single unshared layer of that shape with the same seed
    lone = arr(s, 'NetExtract[NetInitialize@LinearLayer[4, "Input" -> 4], "Weights"]')
    np.testing.assert_array_equal(w1, lone)
    # the shared array is one value: Information counts it once
    assert s.evaluate('Information[net, "ArraysTotalElementCount"]') == 16 + 4 + 4
    again = arr(s, 'NetExtract[NetInitialize[net, All, RandomSeeding -> 5], {3, "Weights"}]')
    np.testing.assert_array_equal(
        again, arr(s, 'NetExtract[NetInitialize[net, All, RandomSeeding -> 5], {1, "Weights"}]'))


# ---------------------------------------------------------------- methods
def fan_in(shape):
    return math.prod(shape[1:])


@pytest.mark.parametrize("net,shape", [(BIG_LINEAR, (300, 400)), (BIG_CONV, (64, 32, 3, 3))])
def test_kaiming_default_std(s, net, shape):
    w = arr(s, f'NetExtract[NetInitialize[{net}], {{1, "Weights"}}]')
    assert w.shape == shape
    sd = math.sqrt(2 / fan_in(shape))            # Kaiming: N(0, Sqrt[2/fan_in])
    assert abs(w.mean()) < 3 * sd / math.sqrt(w.size)
    assert abs(w.std() / sd - 1) < 0.02           # ~1e5 draws: 2% is > 6 standard errors
    # a normal distribution: about 68.3% within one sd
    assert abs(np.mean(np.abs(w) < sd) - 0.6827) < 0.01
    # explicit Method -> "Kaiming" is the default
    same = arr(s, f'NetExtract[NetInitialize[{net}, Method -> "Kaiming"], {{1, "Weights"}}]')
    np.testing.assert_array_equal(w, same)


def test_kaiming_uniform(s):
    w = arr(s, f'NetExtract[NetInitialize[{BIG_CONV}, Method -> {{"Kaiming", '
               f'"Distribution" -> "Uniform"}}], {{1, "Weights"}}]')
    limit = math.sqrt(6 / 288)                    # U(-a, a) with variance 2/fan_in: a^2/3
    assert w.min() >= -limit - 1e-7 and w.max() <= limit + 1e-7
    assert w.max() > 0.99 * limit and w.min() < -0.99 * limit
    assert abs(w.std() / math.sqrt(2 / 288) - 1) < 0.02


def test_xavier(s):
    shape = (300, 400)
    sd = math.sqrt(2 / (shape[0] + fan_in(shape)))
    w = arr(s, f'NetExtract[NetInitialize[{BIG_LINEAR}, Method -> "Xavier"], {{1, "Weights"}}]')
    assert abs(w.std() / sd - 1) < 0.02
    assert abs(np.mean(np.abs(w) < sd) - 0.6827) < 0.01          # normal by default
    u = arr(s, f'NetExtract[NetInitialize[{BIG_LINEAR}, Method -> {{"Xavier", '
               f'"Distribution" -> "Uniform"}}], {{1, "Weights"}}]')
    limit = math.sqrt(3) * sd
    assert u.min() >= -limit - 1e-7 and u.max() <= limit + 1e-7
    assert abs(u.std() / sd - 1) < 0.02


@pytest.mark.parametrize("net,shape", [
    ('NetChain[{LinearLayer[20, "Input" -> 50]}]', (20, 50)),        # wide: rows orthonormal
    ('NetChain[{LinearLayer[50, "Input" -> 20]}]', (50, 20)),        # tall: columns
    ('NetChain[{ConvolutionLayer[8, {3, 3}, "Input" -> {4, 5, 5}]}]', (8, 4, 3, 3)),
])
def test_orthogonal(s, net, shape):
    w = arr(s, f'NetExtract[NetInitialize[{net}, Method -> "Orthogonal"], {{1, "Weights"}}]')
    assert w.shape == shape
    m = w.reshape(shape[0], -1)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, np.eye(min(m.shape)), atol=1e-5)
    assert np.isclose(np.linalg.matrix_rank(m), min(m.shape))


def test_identity_method(s):
    w = arr(s, 'NetExtract[NetInitialize[NetChain[{LinearLayer[30, "Input" -> 30]}], '
               'Method -> "Identity"], {1, "Weights"}]')
    noise = w - np.eye(30)
    assert np.abs(noise).max() < 0.06                # identity plus N(0, 0.01) noise
    assert 0.008 < noise.std() < 0.012
    c = arr(s, 'NetExtract[NetInitialize[NetChain[{ConvolutionLayer[3, {3, 3}, '
               '"Input" -> {3, 5, 5}]}], Method -> "Identity"], {1, "Weights"}]')
    centre = np.zeros((3, 3, 3, 3))
    for i in range(3):
        centre[i, i, 1, 1] = 1                        # the convolution that copies its input
    assert np.abs(c - centre).max() < 0.06


@pytest.mark.parametrize("dist,check", [
    ("NormalDistribution[0, 3]", lambda w: abs(w.std() / 3 - 1) < 0.03 and abs(w.mean()) < 0.1),
    ("UniformDistribution[{-1, 1}]",
     lambda w: w.min() >= -1 and w.max() <= 1 and abs(w.std() - 1 / math.sqrt(3)) < 0.01),
    ("2", lambda w: abs(w.std() / 2 - 1) < 0.03),      # a number s means N(0, s)
])
def test_random_method(s, dist, check):
    s.evaluate(f'net = NetInitialize[NetChain[{{LinearLayer[100, "Input" -> 100], '
               f'BatchNormalizationLayer[]}}], Method -> {{"Random", "Weights" -> {dist}}}]')
    w = arr(s, 'NetExtract[net, {1, "Weights"}]')
    assert check(w), (w.mean(), w.std(), w.min(), w.max())
    np.testing.assert_array_equal(arr(s, 'NetExtract[net, {1, "Biases"}]'), np.zeros(100))
    np.testing.assert_array_equal(arr(s, 'NetExtract[net, {2, "Scaling"}]'), np.ones(100))


def test_unknown_method_is_an_error(s):
    with pytest.raises(EvaluationError, match="not an initialization method"):
        s.evaluate(f'NetInitialize[{BIG_LINEAR}, Method -> "Magic"]')
    with pytest.raises(EvaluationError, match="All, Automatic or None"):
        s.evaluate(f"NetInitialize[{BIG_LINEAR}, 7]")


# ---------------------------------------------------------------- seeding
def weights(s, opts=""):
    return arr(s, f'NetExtract[NetInitialize[{BIG_LINEAR}{opts}], {{1, "Weights"}}]')


def test_seeding_default_is_deterministic_1234(s):
    a, b = weights(s), weights(s)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, weights(s, ", RandomSeeding -> 1234"))
    # a fresh session gives the same numbers too
    np.testing.assert_array_equal(a, weights(netdsl.Session()))


def test_seeding_automatic_gives_fresh_numbers(s):
    a = weights(s, ", RandomSeeding -> Automatic")
    b = weights(s, ", RandomSeeding -> Automatic")
    assert not np.array_equal(a, b)
    assert abs(a.std() / b.std() - 1) < 0.02     # same distribution, different draw


@pytest.mark.parametrize("seed", ["7", '"a string"'])
def test_seeding_integer_or_string(s, seed):
    a = weights(s, f", RandomSeeding -> {seed}")
    np.testing.assert_array_equal(a, weights(s, f", RandomSeeding -> {seed}"))
    assert not np.array_equal(a, weights(s))
    assert not np.array_equal(a, weights(s, ", RandomSeeding -> 8"))


# ---------------------------------------------------------------- not fully specified
def test_nfspec_names_the_layer_with_wolframs_wording(s):
    with pytest.raises(InitializationError) as e:
        s.evaluate("NetInitialize[NetChain[{Ramp, BatchNormalizationLayer[]}]]")
    err = e.value
    assert (err.symbol, err.tag) == ("NetInitialize", "nfspec")
    assert err.text == ('Cannot initialize net: parameter "Channels" of layer 2 is not fully '
                        'specified.')
    assert err.message.startswith('NetInitialize::nfspec: Cannot initialize net: parameter '
                                  '"Channels" of layer 2 is not fully specified.')
    assert err.hint and '"Input" ->' in err.hint       # says how to fix it


def test_nfspec_standalone_and_named_layers(s):
    with pytest.raises(InitializationError, match='parameter "Channels" is not fully specified'):
        s.evaluate("NetInitialize[BatchNormalizationLayer[]]")
    with pytest.raises(InitializationError,
                       match='parameter "Channels" of layer "bn" is not fully specified'):
        s.evaluate('NetInitialize[NetGraph[<|"a" -> Ramp, "bn" -> BatchNormalizationLayer[]|>, '
                   '{"a" -> "bn"}]]')
    # once the input is known, it initialises
    assert s.evaluate('NetInitialize[NetChain[{Ramp, BatchNormalizationLayer[]}, '
                      '"Input" -> {3, 4}]]').initialized


def test_evaluating_missing_arrays_is_nninit(s):
    with pytest.raises(InitializationError) as e:
        s.evaluate('LinearLayer[3, "Input" -> 2][{1, 2}]')
    assert (e.value.symbol, e.value.tag) == ("LinearLayer", "nninit")
    assert e.value.text == 'Cannot evaluate net: unspecified value for array "Weights".'
    with pytest.raises(InitializationError, match='array "Scaling" of layer 2'):
        s.evaluate('NetChain[{Ramp, BatchNormalizationLayer["Biases" -> {0, 0}]}, '
                   '"Input" -> 2][{1, 2}]')


def test_extract_of_unset_array_is_automatic(s):
    assert s.evaluate('NetExtract[ConvolutionLayer[2, {3, 3}], "Weights"]') is AUTOMATIC
    assert s.evaluate('NetExtract[BatchNormalizationLayer[], "MovingVariance"]') is AUTOMATIC
    assert s.evaluate('NetExtract[NetChain[{LinearLayer[2]}], {1, "Biases"}]') is AUTOMATIC


def test_array_shapes_cache_follows_the_layers_values(s):
    """array_shapes() is cached per layer value; a layer evolved with other values
    (a new size) must report the new shapes, not the cached ones."""
    layer = s.evaluate('LinearLayer[3, "Input" -> 2]')
    assert layer.array_shapes()["Weights"] == (3, 2)
    assert layer.array_shapes() is layer.array_shapes()   # computed once
    other = layer.evolve(values={**layer.values, "OutputSize": 5})
    assert other.array_shapes()["Weights"] == (5, 2)
    assert layer.array_shapes()["Weights"] == (3, 2)


def test_long_chain_initializes_every_layer(s):
    """A 3,000-layer chain (the linear-time path): every layer gets its own Kaiming draw."""
    s.evaluate('net = NetInitialize[NetChain[Table[LinearLayer[4], {3000}], "Input" -> 4]]')
    w1, w3000 = arr(s, 'NetExtract[net, {1, "Weights"}]'), arr(s, 'NetExtract[net, {3000, "Weights"}]')
    assert w1.shape == w3000.shape == (4, 4)
    assert not np.array_equal(w1, w3000)
    assert arr(s, 'NetExtract[net, {3000, "Biases"}]').tolist() == [0, 0, 0, 0]
