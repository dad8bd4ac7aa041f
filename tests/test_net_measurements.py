"""NetMeasurements against formulas written here with naive loops over the examples
(predictions read from the net itself, class by class, example by example)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import netdsl
from netdsl.errors import EvaluationError
from netdsl.expr import Association

rng = np.random.default_rng(7)
XS = rng.standard_normal((40, 3)).round(3)
YS = rng.integers(1, 5, 40)
CLS = ("net = NetInitialize[NetChain[{LinearLayer[4], SoftmaxLayer[]}, \"Input\" -> 3], "
       "RandomSeeding -> 3];")


def wl(a) -> str:
    return netdsl.input_form(netdsl.evaluate(repr(np.asarray(a).tolist()).replace("[", "{")
                                             .replace("]", "}")))


DATA = f"data = {wl(XS)} -> {wl(YS)};"


def ev(text: str):
    return netdsl.evaluate(CLS + DATA + text)


def naive_counts(pred, actual, k):
    cm = [[0] * k for _ in range(k)]
    for p, a in zip(pred, actual):
        cm[a - 1][p - 1] += 1
    return cm


@pytest.fixture(scope="module")
def truth():
    probs = np.asarray(ev("net[data[[1]]]"), dtype=np.float64)
    pred = [int(np.argmax(row)) + 1 for row in probs]
    losses = [-math.log(probs[i][YS[i] - 1]) for i in range(len(YS))]
    return probs, pred, losses


def as_dict(a):
    assert isinstance(a, Association)
    return dict(a.items())


def test_classification_measurements(truth):
    probs, pred, losses = truth
    k = 4
    cm = naive_counts(pred, list(YS), k)
    n = len(YS)
    correct = sum(cm[i][i] for i in range(k))
    got = ev('NetMeasurements[net, data, {"Loss", "Accuracy", "ErrorRate", "ConfusionMatrix", '
             '"Precision", "Recall", "F1Score", "Perplexity", "CohenKappa"}]').args
    assert len(got) == 9
    loss, acc, err, matrix, prec, rec, f1, perp, kappa = got
    assert loss == pytest.approx(sum(losses) / n, rel=1e-5)
    assert acc == pytest.approx(correct / n) and err == pytest.approx(1 - correct / n)
    assert np.asarray(matrix).tolist() == cm
    assert perp == pytest.approx(math.exp(sum(losses) / n), rel=1e-5)
    for c in range(1, k + 1):
        tp = cm[c - 1][c - 1]
        predicted = sum(cm[a][c - 1] for a in range(k))
        actual = sum(cm[c - 1])
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        assert as_dict(prec)[c] == pytest.approx(p)
        assert as_dict(rec)[c] == pytest.approx(r)
        assert as_dict(f1)[c] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)
    po = correct / n
    pe = sum(sum(cm[i]) * sum(cm[a][i] for a in range(k)) for i in range(k)) / n ** 2
    assert kappa == pytest.approx((po - pe) / (1 - pe))


def test_class_averaging(truth):
    _, pred, _ = truth
    macro = ev('NetMeasurements[net, data, <|"Measurement" -> "Recall", '
               '"ClassAveraging" -> "Macro"|>]')
    per = as_dict(ev('NetMeasurements[net, data, "Recall"]'))
    assert macro == pytest.approx(sum(per.values()) / len(per))
    micro = ev('NetMeasurements[net, data, <|"Measurement" -> "F1Score", '
               '"ClassAveraging" -> "Micro"|>]')
    assert micro == pytest.approx(ev('NetMeasurements[net, data, "Accuracy"]'))


def test_netport_measurement_is_the_mean_output(truth):
    probs, _, _ = truth
    got = np.asarray(ev('NetMeasurements[net, data, NetPort["Output"]]'))
    np.testing.assert_allclose(got, probs.mean(0), rtol=1e-5)


def test_binary_classification():
    x = rng.standard_normal((30, 2)).round(3)
    y = (rng.random(30) > 0.5).astype(int)
    text = (f'b = NetInitialize[NetChain[{{LinearLayer[{{}}], LogisticSigmoid}}, '
            f'"Input" -> 2], RandomSeeding -> 5]; d = {wl(x)} -> {wl(y)};')
    p = np.asarray(netdsl.evaluate(text + " b[d[[1]]]"), dtype=np.float64)
    pred = [int(v > 0.5) for v in p]
    acc = sum(int(a == b) for a, b in zip(pred, y)) / len(y)
    got = netdsl.evaluate(text + ' NetMeasurements[b, d, {"Accuracy", "Precision", '
                                 '"ConfusionMatrix"}]').args
    assert got[0] == pytest.approx(acc)
    tp = sum(1 for a, b in zip(pred, y) if a == b == 1)
    fp = sum(1 for a, b in zip(pred, y) if a == 1 and b == 0)
    keys = {str(k): v for k, v in as_dict(got[1]).items()}
    assert keys["True"] == pytest.approx(tp / (tp + fp) if tp + fp else 0.0)
    assert np.asarray(got[2]).sum() == 30


def test_regression_measurements():
    x = rng.standard_normal((25, 2)).round(3)
    t = rng.standard_normal((25, 1)).round(3)
    text = (f'r = NetInitialize[NetChain[{{LinearLayer[1]}}, "Input" -> 2], RandomSeeding -> 2];'
            f" d = {wl(x)} -> {wl(t)};")
    y = np.asarray(netdsl.evaluate(text + " r[d[[1]]]"), dtype=np.float64)
    res = [float(y[i, 0] - t[i, 0]) for i in range(25)]
    mean_t = sum(float(v) for v in t[:, 0]) / 25
    got = netdsl.evaluate(text + ' NetMeasurements[r, d, {"Loss", "MeanSquare", '
                                 '"RootMeanSquare", "MeanDeviation", "RSquared", '
                                 '"StandardDeviation"}]')
    ms = sum(v * v for v in res) / 25
    assert got[0] == pytest.approx(ms, rel=1e-5)        # the attached loss is the MSE
    assert got[1] == pytest.approx(ms, rel=1e-5)
    assert got[2] == pytest.approx(math.sqrt(ms), rel=1e-5)
    assert got[3] == pytest.approx(sum(abs(v) for v in res) / 25, rel=1e-5)
    sst = sum((float(v) - mean_t) ** 2 for v in t[:, 0])
    assert got[4] == pytest.approx(1 - ms * 25 / sst, rel=1e-5)
    # Wolfram: "StandardDeviation" is the root mean square of the residuals
    assert got[5] == pytest.approx(math.sqrt(ms), rel=1e-5)
    with pytest.raises(EvaluationError, match="classification measurement"):
        netdsl.evaluate(text + ' NetMeasurements[r, d, "Accuracy"]')


def test_errors():
    with pytest.raises(EvaluationError, match="not a known measurement"):
        ev('NetMeasurements[net, data, "Nope"]')
    with pytest.raises(EvaluationError, match="regression measurement"):
        ev('NetMeasurements[net, data, "MeanSquare"]')
    with pytest.raises(netdsl.NetDSLError, match='unspecified value for array "Weights" of '
                                                 'layer 1.'):
        netdsl.evaluate(DATA + ' NetMeasurements[NetChain[{LinearLayer[4], SoftmaxLayer[]}, '
                               '"Input" -> 3], data, "Accuracy"]')
    with pytest.raises(EvaluationError) as info:
        ev('NetMeasurements[net, {1, 2}, "Accuracy"]')
    assert info.value.symbol == "NetMeasurements"


def test_per_class_measurements_are_keyed_by_the_decoders_labels():
    """Wolfram keys per-class values by class; counted by hand: "a" is predicted for
    {1, 0} (right) and {1, 0.5} (wrong: it is "b"), "b" once (right), "c" never."""
    text = ('net = NetChain[{LinearLayer[3, "Weights" -> {{1, 0}, {0, 1}, {-1, -1}}, '
            '"Biases" -> {0, 0, 0}], SoftmaxLayer[]}, "Input" -> 2, '
            '"Output" -> NetDecoder[{"Class", {"a", "b", "c"}}]]; '
            'd = {{1, 0} -> "a", {0, 1} -> "b", {1, 0.5} -> "b"};')
    prec = as_dict(netdsl.evaluate(text + ' NetMeasurements[net, d, "Precision"]'))
    assert prec == {"a": 0.5, "b": 1.0, "c": 0.0}
    rec = as_dict(netdsl.evaluate(text + ' NetMeasurements[net, d, "Recall"]'))
    assert rec == {"a": 1.0, "b": 0.5, "c": 0.0}


def test_top_n_accuracy():
    """{"Accuracy", n} (NetMeasurements page): the correct class among the n most probable.
    By hand: the four scores rank a > b > c; the answers are a, b, b, c."""
    text = ('net = NetChain[{LinearLayer[3, "Weights" -> {{1, 0}, {0, 1}, {-1, -1}}, '
            '"Biases" -> {0, 0, 0}], SoftmaxLayer[]}, "Input" -> 2, '
            '"Output" -> NetDecoder[{"Class", {"a", "b", "c"}}]]; '
            'd = {{1, 0} -> "a", {0, 1} -> "b", {1, 0.5} -> "b", {1, 0.2} -> "c"};')
    got = netdsl.evaluate(text + ' NetMeasurements[net, d, {"Accuracy", {"Accuracy", 2}, '
                                 '{"Accuracy", 3}}]')
    assert [float(v) for v in np.asarray(got)] == [0.5, 0.75, 1.0]
