"""NetSharedArray / NetArray and NetInsertSharedArrays, before and after training
(wolfram-semantics.md §10, §3.6 item 14, decision 5).

A shared array is one array however many layers use it: initialised once, given the sum
of its uses' gradients and updated once per step. BatchNormalization's moving statistics
are never shared: each copy of a layer keeps its own.
"""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.expr import to_ndarray

QUIET = "TrainingProgressReporting -> None"


def num(x):
    return np.asarray(to_ndarray(x), np.float64)


def wl(a) -> str:
    return str(np.asarray(a).tolist()).replace("[", "{").replace("]", "}")


# ---------------------------------------------------------------- before training
def test_one_array_initialised_once():
    s = netdsl.Session()
    s.evaluate('net = NetInitialize[NetChain[{LinearLayer[2, "Weights" -> NetSharedArray["W"]], '
               'Ramp, LinearLayer[2, "Weights" -> NetArray["W"]]}, "Input" -> 2]]')
    w1 = num(s.evaluate('NetExtract[net, {1, "Weights"}]'))
    w3 = num(s.evaluate('NetExtract[net, {3, "Weights"}]'))
    ws = num(s.evaluate('NetExtract[net, NetSharedArray["W"]]'))
    assert np.array_equal(w1, w3) and np.array_equal(w1, ws)
    net = s.evaluate("net")
    assert list(net.shared) == ["W"]
    # counted once: W (4) and two bias vectors (2 + 2)
    assert s.evaluate('Information[net, "ArraysTotalElementCount"]') == 8
    assert s.evaluate('Information[net, "ArraysCount"]') == 3
    # evaluation uses the one array in both places: y = W Ramp[W x]
    x = np.array([0.3, -0.7], np.float32)
    np.testing.assert_allclose(net(x), ws @ np.maximum(ws @ x, 0), rtol=1e-6)


def test_extract_and_replace_reach_the_shared_array():
    s = netdsl.Session()
    s.evaluate('net = NetInitialize[NetChain[{LinearLayer[2, "Weights" -> NetSharedArray["W"], '
               '"Biases" -> None], LinearLayer[2, "Weights" -> NetSharedArray["W"], '
               '"Biases" -> None]}, "Input" -> 2]]')
    s.evaluate('new = NetReplacePart[net, NetSharedArray["W"] -> {{1, 2}, {3, 4}}]')
    for k in (1, 2):
        np.testing.assert_array_equal(num(s.evaluate(f'NetExtract[new, {{{k}, "Weights"}}]')),
                                      [[1, 2], [3, 4]])
    np.testing.assert_array_equal(num(s.evaluate('NetExtract[new, NetSharedArray["W"]]')),
                                  [[1, 2], [3, 4]])
    w = np.array([[1, 2], [3, 4]], float)
    np.testing.assert_allclose(s.evaluate("new")(np.array([1.0, -1.0], np.float32)),
                               w @ w @ [1, -1])
    assert netdsl.input_form(s.evaluate("Keys[NetExtract[new, NetSharedArray[All]]]")) == \
        '{NetSharedArray["W"]}'
    with pytest.raises(netdsl.EvaluationError, match="dimensions"):
        s.evaluate('NetReplacePart[net, NetSharedArray["W"] -> {{1, 2, 3}, {3, 4, 5}}]')
    with pytest.raises(netdsl.EvaluationError, match='no shared array "V"'):
        s.evaluate('NetExtract[net, NetSharedArray["V"]]')


@pytest.mark.parametrize("array", ["MovingMean", "MovingVariance"])
@pytest.mark.parametrize("head", ["NetSharedArray", "NetArray"])
def test_moving_statistics_cannot_be_shared(array, head):
    with pytest.raises(netdsl.EvaluationError, match=f'"{array}" array of '
                       f"BatchNormalizationLayer cannot be shared"):
        netdsl.evaluate(f'BatchNormalizationLayer["{array}" -> {head}["m"]]')


def test_insert_shared_arrays_skips_moving_statistics():
    s = netdsl.Session()
    bn = s.evaluate("bn = NetInsertSharedArrays[BatchNormalizationLayer[]]")
    assert {k: type(v).__name__ for k, v in bn.arrays.items()} == {
        "Scaling": "SharedRef", "Biases": "SharedRef", "MovingMean": "NoneType",
        "MovingVariance": "NoneType"}
    assert sorted(bn.shared) == ["Biases", "Scaling"]
    pre = s.evaluate('NetInsertSharedArrays[BatchNormalizationLayer[], "bn/"]')
    assert sorted(pre.shared) == ["bn/Biases", "bn/Scaling"]
    chain = s.evaluate("NetInsertSharedArrays[NetChain[{2, Ramp, 3}]]")
    assert sorted(chain.shared) == ["1/Biases", "1/Weights", "3/Biases", "3/Weights"]
    with pytest.raises(netdsl.EvaluationError, match="Prefix 5 should be either None or a "
                                                     "string"):
        s.evaluate("NetInsertSharedArrays[NetChain[{2, Ramp, 3}], 5]")


def test_insert_shared_arrays_name_clash_and_nothing_to_share(capsys):
    s = netdsl.Session()
    same = s.evaluate("NetInsertSharedArrays[ElementwiseLayer[Ramp]]")
    assert same.name == "ElementwiseLayer"
    assert "NetInsertSharedArrays::noarr" in capsys.readouterr().err
    with pytest.raises(netdsl.EvaluationError, match="already exists"):
        s.evaluate('NetInsertSharedArrays[NetChain[{LinearLayer[2, "Biases" -> '
                   'NetSharedArray["1/Weights"]], LinearLayer[2]}, "Input" -> 2]]')


def test_insert_shared_arrays_keeps_values_of_an_initialised_net():
    s = netdsl.Session()
    s.evaluate('net = NetInitialize[NetChain[{LinearLayer[3], BatchNormalizationLayer[]}, '
               '"Input" -> 2]]')
    s.evaluate("sh = NetInsertSharedArrays[net]")
    for part in ('{1, "Weights"}', '{1, "Biases"}', '{2, "Scaling"}', '{2, "MovingMean"}'):
        np.testing.assert_array_equal(num(s.evaluate(f"NetExtract[sh, {part}]")),
                                      num(s.evaluate(f"NetExtract[net, {part}]")))
    np.testing.assert_array_equal(num(s.evaluate('NetExtract[sh, NetSharedArray["1/Weights"]]')),
                                  num(s.evaluate('NetExtract[net, {1, "Weights"}]')))


# ---------------------------------------------------------------- training
def test_training_updates_the_shared_array_once_from_the_summed_gradient():
    """y = W W x (no biases); L = Mean over examples of Mean[(y - t)^2]; one plain SGD step:
    W <- W - lr dL/dW with dL/dW = dY (W x)^T + W^T dY x^T summed over the examples
    (dY = (y - t)/N for the 2 outputs), the two uses' contributions added."""
    s = netdsl.Session()
    s.evaluate('net = NetInitialize[NetChain[{LinearLayer[2, "Weights" -> NetArray["W"], '
               '"Biases" -> None], LinearLayer[2, "Weights" -> NetArray["W"], '
               '"Biases" -> None]}, "Input" -> 2], RandomSeeding -> 3]')
    w = num(s.evaluate('NetExtract[net, NetSharedArray["W"]]'))
    x = np.array([[1.0, 0.5], [-0.3, 0.8], [0.2, -1.0]])
    t = np.array([[0.1, 0.2], [0.0, -0.4], [1.0, 0.3]])
    lr = 0.05
    s.evaluate(f'tr = NetTrain[net, {wl(x)} -> {wl(t)}, MaxTrainingRounds -> 1, BatchSize -> 3, '
               f'Method -> {{"SGD", "Momentum" -> 0, "LearningRateSchedule" -> None}}, '
               f'LearningRate -> {lr}, {QUIET}]')
    h = x @ w.T                       # first use
    y = h @ w.T                       # second use
    dy = 2 * (y - t) / 2 / len(x)     # d/dy of Mean over examples of Mean over outputs
    grad = dy.T @ h + w.T @ (dy.T @ x)  # second use: dy h^T; first use: (W^T dy) x^T
    expected = w - lr * grad
    got = num(s.evaluate('NetExtract[tr, NetSharedArray["W"]]'))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    for k in (1, 2):
        np.testing.assert_array_equal(num(s.evaluate(f'NetExtract[tr, {{{k}, "Weights"}}]')), got)
    # the net given to NetTrain still has the old array
    np.testing.assert_array_equal(num(s.evaluate('NetExtract[net, NetSharedArray["W"]]')), w)


def test_shared_convolution_weights_and_nested_chains_train_as_one():
    s = netdsl.Session()
    s.evaluate('block = NetInsertSharedArrays[NetChain[{ConvolutionLayer[2, {3, 3}, '
               '"PaddingSize" -> 1], Tanh}], "blk/"]')
    s.evaluate('net = NetChain[{ConvolutionLayer[2, {1, 1}], block, block, FlattenLayer[], '
               'LinearLayer[3], SoftmaxLayer[]}, "Input" -> {1, 4, 4}]')
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 1, 4, 4))
    y = rng.integers(1, 4, 8)
    s.evaluate(f"tr = NetTrain[net, {wl(x)} -> {wl(y)}, MaxTrainingRounds -> 3, {QUIET}]")
    tr = s.evaluate("tr")
    assert sorted(tr.shared) == ["blk/1/Biases", "blk/1/Weights"]
    a = num(s.evaluate('NetExtract[tr, {2, 1, "Weights"}]'))
    b = num(s.evaluate('NetExtract[tr, {3, 1, "Weights"}]'))
    c = num(s.evaluate('NetExtract[tr, NetSharedArray["blk/1/Weights"]]'))
    assert np.array_equal(a, b) and np.array_equal(a, c)
    # it was trained: the same call with LearningRate -> 0 gives the initial value drawn
    s.evaluate(f"init = NetTrain[net, {wl(x)} -> {wl(y)}, MaxTrainingRounds -> 1, "
               f"LearningRate -> 0, {QUIET}]")
    a0 = num(s.evaluate('NetExtract[init, NetSharedArray["blk/1/Weights"]]'))
    assert np.array_equal(a0, num(s.evaluate('NetExtract[init, {3, 1, "Weights"}]')))
    assert not np.allclose(a, a0)
    # the extracted block carries its shared arrays along
    s.evaluate("blk = NetExtract[tr, 2]")
    np.testing.assert_array_equal(num(s.evaluate('NetExtract[blk, {1, "Weights"}]')), a)


def bn_example(s: netdsl.Session, rounds: int = 1):
    """§3.6 item 14: a BatchNormalizationLayer with shared arrays, used twice."""
    s.evaluate("bn = NetInsertSharedArrays[BatchNormalizationLayer[]]")
    s.evaluate('net = NetInitialize[NetChain[{LinearLayer[3], bn, Ramp, LinearLayer[3], bn}, '
               '"Input" -> 2], RandomSeeding -> 5]')
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (8, 2))
    t = rng.uniform(-1, 1, (8, 3))
    s.evaluate(f"trained = NetTrain[net, {wl(x)} -> {wl(t)}, MaxTrainingRounds -> {rounds}, "
               f"BatchSize -> 8, {QUIET}]")
    return x, t


def test_batchnorm_used_twice_shares_scaling_and_biases_not_moving_statistics():
    s = netdsl.Session()
    x, _ = bn_example(s, rounds=1)
    s.evaluate("bn1 = NetExtract[trained, 2]; bn2 = NetExtract[trained, 5]")
    for name in ("Scaling", "Biases"):
        a = num(s.evaluate(f'NetExtract[bn1, "{name}"]'))
        b = num(s.evaluate(f'NetExtract[bn2, "{name}"]'))
        shared = num(s.evaluate(f'NetExtract[trained, NetSharedArray["{name}"]]'))
        assert np.array_equal(a, b) and np.array_equal(a, shared)
        # trained: moved away from the initial ones/zeros
        assert not np.array_equal(a, np.full(3, 1.0 if name == "Scaling" else 0.0))
    mm1, mm2 = (num(s.evaluate(f'NetExtract[trained, {{{k}, "MovingMean"}}]')) for k in (2, 5))
    mv1, mv2 = (num(s.evaluate(f'NetExtract[trained, {{{k}, "MovingVariance"}}]'))
                for k in (2, 5))
    assert not np.allclose(mm1, mm2) and not np.allclose(mv1, mv2)
    # each copy's statistics come from its own input in the (single) batch, computed here
    # from the initial arrays: m = 0.9 * 0 + 0.1 * mean, v = 0.9 * 1 + 0.1 * biased var
    get = lambda part: num(s.evaluate(f"NetExtract[net, {part}]"))   # noqa: E731
    w1, b1 = get('{1, "Weights"}'), get('{1, "Biases"}')
    w4, b4 = get('{4, "Weights"}'), get('{4, "Biases"}')
    gamma, beta = get('NetSharedArray["Scaling"]'), get('NetSharedArray["Biases"]')
    u = x @ w1.T + b1
    z = np.maximum((u - u.mean(0)) / np.sqrt(u.var(0) + 0.001) * gamma + beta, 0)
    v = z @ w4.T + b4
    np.testing.assert_allclose(mm1, 0.1 * u.mean(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(mv1, 0.9 + 0.1 * u.var(0), rtol=1e-4)
    np.testing.assert_allclose(mm2, 0.1 * v.mean(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(mv2, 0.9 + 0.1 * v.var(0), rtol=1e-4)
    # the trained net shows it: the layers refer to the shared arrays, and keep their own
    # moving statistics
    text = netdsl.input_form(s.evaluate("trained"))
    assert text.count('"Scaling" -> NetSharedArray["Scaling"]') == 2
    assert text.count('"MovingMean" -> {') == 2
    assert "NetSharedArray[\"MovingMean\"]" not in text


def test_multiplier_zero_on_a_shared_array_freezes_every_use():
    s = netdsl.Session()
    s.evaluate("bn = NetInsertSharedArrays[BatchNormalizationLayer[]]")
    s.evaluate('net = NetInitialize[NetChain[{LinearLayer[3], bn, Ramp, LinearLayer[3], bn}, '
               '"Input" -> 2]]')
    s.evaluate(f"tr = NetTrain[net, Table[{{i, -i}} -> {{i, i, 1}}, {{i, 0, 1, 0.2}}], "
               f"MaxTrainingRounds -> 2, LearningRateMultipliers -> {{2 -> 0}}, {QUIET}]")
    np.testing.assert_array_equal(num(s.evaluate('NetExtract[tr, NetSharedArray["Scaling"]]')),
                                  np.ones(3))
    np.testing.assert_array_equal(num(s.evaluate('NetExtract[tr, {5, "Scaling"}]')), np.ones(3))
    # the moving statistics freeze only in the layer given multiplier 0
    np.testing.assert_array_equal(num(s.evaluate('NetExtract[tr, {2, "MovingMean"}]')), 0)
    assert np.abs(num(s.evaluate('NetExtract[tr, {5, "MovingMean"}]'))).max() > 0


def test_a_single_layer_with_shared_arrays_trains():
    """NetTrain wraps a single layer in a graph with its loss: the shared arrays come back
    with the trained layer. Moving mean after 3 batches of the same data: (1 - 0.9^3) mean."""
    s = netdsl.Session()
    s.evaluate('bn = NetInsertSharedArrays[BatchNormalizationLayer["Input" -> 3]]')
    s.evaluate(f"t = NetTrain[bn, {{{{1, 2, 3}} -> {{1, 1, 1}}, {{3, 6, 9}} -> {{0, 0, 0}}}}, "
               f"MaxTrainingRounds -> 3, LearningRate -> 0.1, {QUIET}]")
    t = s.evaluate("t")
    assert t.name == "BatchNormalizationLayer" and sorted(t.shared) == ["Biases", "Scaling"]
    sc = num(s.evaluate('NetExtract[t, "Scaling"]'))
    assert np.array_equal(sc, num(s.evaluate('NetExtract[t, NetSharedArray["Scaling"]]')))
    assert not np.allclose(sc, 1)
    np.testing.assert_allclose(num(s.evaluate('NetExtract[t, "MovingMean"]')),
                               (1 - 0.9 ** 3) * np.array([2, 4, 6]), rtol=1e-5)
