"""NetPairEmbeddingOperator[net, DistanceFunction -> f]: Wolfram's ports (Input a pair
{2, in...}, Output a real number; the paclet's Tests case {ElementwiseLayer[Ramp, "Input"
-> 2]}), the distances as Wolfram's MXNet writer computes them (squared Euclidean; cosine
with norms Sqrt[Total[e^2] + 10^-10]) written out here, gradients against float64 finite
differences, NetTrain attaching ContrastiveLossLayer to True/False targets, a graph with
the loss layer ("emb" -> "loss" feeds its "Input"), text, files, check, PyTorch and
ONNX."""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdsl
from netdsl.check import check_text
from netdsl.errors import NetDSLError
from tests.layer_harness import file_round_trip, onnx_run, plan_input_gradients, round_losses
from tests.test_gradients_net import Harness, assert_close

EMBED = "NetChain[{LinearLayer[3], Tanh}]"


def ev(text: str):
    return netdsl.Session().evaluate(text)


def embed(net, x: np.ndarray) -> np.ndarray:
    """The inner chain LinearLayer -> Tanh by hand, float64, on a batch of vectors."""
    inner = net.net("Net")
    w = inner.net("1").arrays["Weights"].astype(np.float64)
    b = inner.net("1").arrays["Biases"].astype(np.float64)
    return np.tanh(x @ w.T + b)


# ---------------------------------------------------------------- shapes and arguments
def test_paclet_test_case_ports():
    net = ev('NetPairEmbeddingOperator[ElementwiseLayer[Ramp, "Input" -> 2]]')
    assert net.ports["Input"].shape == (2, 2) and net.ports["Output"].shape == ()
    x = np.array([[[1.0, -2.0], [0.5, 3.0]]], np.float32)
    # Ramp embeds {1, 0} and {0.5, 3}: squared distance 0.25 + 9
    np.testing.assert_allclose(net(x), [9.25], rtol=1e-6)


def test_input_option_is_the_shape_of_each_array_and_shapes_flow_both_ways():
    assert ev(f'NetPairEmbeddingOperator[{EMBED}, "Input" -> 4]').ports["Input"].shape == (2, 4)
    image = ev('NetPairEmbeddingOperator[NetChain[{ConvolutionLayer[2, {2, 2}], FlattenLayer[]}],'
               ' "Input" -> {1, 4, 4}]')
    assert image.ports["Input"].shape == (2, 1, 4, 4)
    assert image.net("Net").ports["Output"].shape == (18,)
    # from a layer before it: a {2, 5} matrix is a pair of vectors of size 5
    chain = ev(f'NetChain[{{ReshapeLayer[{{2, 5}}], NetPairEmbeddingOperator[{EMBED}]}}, '
               f'"Input" -> 10]')
    assert chain.net(chain.order[1]).net("Net").ports["Input"].shape == (5,)


@pytest.mark.parametrize("text,tag,words", [
    (f"NetPairEmbeddingOperator[{EMBED}, DistanceFunction -> ManhattanDistance]", "invdist",
     "EuclideanDistance or CosineDistance"),
    (f"NetPairEmbeddingOperator[{EMBED}, 2]", "argx", "takes a net and port rules"),
    ("NetPairEmbeddingOperator[MeanSquaredLossLayer[]]", "invports", 'input port "Input"'),
    (f'NetChain[{{ReshapeLayer[{{3, 4}}], NetPairEmbeddingOperator[{EMBED}]}}, "Input" -> 12]',
     "valfail", "a pair of arrays"),
    (f'NetChain[{{LinearLayer[4], NetPairEmbeddingOperator[{EMBED}]}}, "Input" -> 2]',
     "valfail", "a pair of arrays"),
])
def test_argument_and_shape_errors(text, tag, words):
    with pytest.raises(NetDSLError) as e:
        ev(text)
    assert e.value.tag == tag and words in str(e.value), str(e.value)


# ---------------------------------------------------------------- forward
@pytest.mark.parametrize("mode", ["Test", "Train"])
def test_euclidean_distance_is_the_squared_distance_of_the_embeddings(mode):
    net = ev(f'NetInitialize[NetPairEmbeddingOperator[{EMBED}, "Input" -> 2], '
             f'RandomSeeding -> 3]')
    pairs = np.random.default_rng(0).normal(size=(6, 2, 2))
    e1, e2 = embed(net, pairs[:, 0]), embed(net, pairs[:, 1])
    want = np.sum((e1 - e2) ** 2, axis=1)
    np.testing.assert_allclose(net(pairs.astype(np.float32), evaluation_mode=mode), want,
                               rtol=1e-5, atol=1e-6)
    # one pair alone, and a pair of identical arrays is at distance 0
    assert net(pairs[0].astype(np.float32)) == pytest.approx(want[0], rel=1e-5)
    assert net(np.ones((2, 2), np.float32)) == 0


def test_cosine_distance():
    net = ev(f'NetInitialize[NetPairEmbeddingOperator[{EMBED}, "Input" -> 2, DistanceFunction '
             f'-> CosineDistance], RandomSeeding -> 3]')
    pairs = np.random.default_rng(1).normal(size=(6, 2, 2))
    e1, e2 = embed(net, pairs[:, 0]), embed(net, pairs[:, 1])
    n1 = np.sqrt(np.sum(e1 ** 2, axis=1) + 1e-10)
    n2 = np.sqrt(np.sum(e2 ** 2, axis=1) + 1e-10)
    want = 1 - np.sum(e1 * e2, axis=1) / (n1 * n2)
    np.testing.assert_allclose(net(pairs.astype(np.float32)), want, rtol=1e-5, atol=1e-6)
    # opposite embeddings are at distance 2 (the Tanh chain is odd: x and -x)
    x = pairs[0, 0].astype(np.float32)
    odd = ev('NetInitialize@NetPairEmbeddingOperator[NetChain[{LinearLayer[3, "Biases" -> '
             'None], Tanh}], "Input" -> 2, DistanceFunction -> CosineDistance]')
    assert odd(np.stack([x, -x])) == pytest.approx(2.0, abs=1e-5)


def test_net_extract_gives_the_embedding_net():
    s = netdsl.Session()
    s.evaluate(f'pe = NetInitialize@NetPairEmbeddingOperator[{EMBED}, "Input" -> 2]')
    inner = s.evaluate('NetExtract[pe, "Net"]')
    assert inner == s.evaluate("pe").net("Net")
    x = np.array([[0.3, -0.2], [1.0, 0.5]], np.float32)
    e = inner(x).astype(np.float64)
    assert s.evaluate("pe")(x[None])[0] == pytest.approx(np.sum((e[0] - e[1]) ** 2), rel=1e-5)


# ---------------------------------------------------------------- backward
@pytest.mark.parametrize("distance", ["EuclideanDistance", "CosineDistance"])
def test_array_gradients_match_finite_differences(distance):
    rng = np.random.default_rng(3)
    hz = Harness(f'NetPairEmbeddingOperator[NetChain[{{LinearLayer[3], Tanh, LinearLayer[2]}}], '
                 f'"Input" -> 3, DistanceFunction -> {distance}]',
                 {"Input": rng.standard_normal((5, 2, 3)),
                  "Output": rng.integers(0, 2, 5).astype(np.float64)})
    assert hz.loss_names == ["Loss"]
    assert type(hz.tnet.net("loss")).__name__ == "ContrastiveLossLayer"
    loss, grad = hz.loss_and_grad()
    assert loss == pytest.approx(hz.loss(), rel=1e-10)
    assert_close(grad, hz.numeric_grad())


@pytest.mark.parametrize("distance", ["EuclideanDistance", "CosineDistance"])
def test_input_gradient_matches_finite_differences(distance):
    net = ev(f'NetInitialize[NetPairEmbeddingOperator[{EMBED}, "Input" -> 2, DistanceFunction '
             f'-> {distance}], RandomSeeding -> 2]')
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 4))                  # batch-last, float64
    analytic, numeric = plan_input_gradients(net, {"Input": x},
                                             {"Output": rng.standard_normal(4)})["Input"]
    assert_close(analytic, numeric, tol=1e-5)


# ---------------------------------------------------------------- training
def _pairs_data(s: netdsl.Session) -> None:
    """Pairs of points in the square, True (far) when their first coordinates differ by
    more than 0.5: an embedding of the first coordinate separates them."""
    rng = np.random.default_rng(0)
    pts = rng.uniform(-1, 1, (600, 2, 2)).astype(np.float32)
    s["pairs"] = pts
    s["far"] = [bool(v) for v in np.abs(pts[:, 0, 0] - pts[:, 1, 0]) > 0.5]


def test_nettrain_attaches_contrastive_loss_and_learns_the_embedding():
    s = netdsl.Session()
    _pairs_data(s)
    s.evaluate('net = NetPairEmbeddingOperator[NetChain[{LinearLayer[8], Tanh, LinearLayer[1]}],'
               ' "Input" -> 2]')
    losses = round_losses(s, "pairs -> far", 15)
    assert losses[-1] < 0.5 * losses[0]
    trained = s.evaluate('r["TrainedNet"]')
    near = np.array([[[0.0, 0.0], [0.05, 0.9]]], np.float32)      # first coordinates close
    far = np.array([[[0.0, 0.0], [0.9, 0.0]]], np.float32)
    assert trained(far)[0] > 5 * trained(near)[0]


def test_graph_with_the_loss_layer_takes_boolean_targets():
    s = netdsl.Session()
    _pairs_data(s)
    s.evaluate(f'net = NetGraph[<|"emb" -> NetPairEmbeddingOperator[{EMBED}, "Input" -> 2], '
               f'"loss" -> ContrastiveLossLayer[1.]|>, {{"emb" -> "loss"}}]')
    g = s.evaluate("net")
    assert g.port_names() == (("Input", "Target"), ("Loss",))
    assert g.ports["Target"].coder is not None       # True/False, from the loss layer
    losses = round_losses(s, '<|"Input" -> pairs, "Target" -> far|>', 5)
    assert losses[-1] < losses[0]


# ---------------------------------------------------------------- text, files, check
def test_input_form_parses_back_and_net_file_round_trip(tmp_path):
    net = ev(f'NetInitialize[NetPairEmbeddingOperator[{EMBED}, "Input" -> 2, DistanceFunction '
             f'-> CosineDistance], RandomSeeding -> 5]')
    text = netdsl.input_form(net)
    assert text.startswith("NetPairEmbeddingOperator[NetChain[{LinearLayer[3, ")
    assert text.endswith('DistanceFunction -> CosineDistance, "Input" -> 2]')
    assert ev(text) == net
    assert "real number" in netdsl.output_form(net)
    back = file_round_trip(net, tmp_path)
    x = np.random.default_rng(1).normal(size=(3, 2, 2)).astype(np.float32)
    np.testing.assert_array_equal(back(x), net(x))


def test_check_reports_the_operator_shape():
    out, err = io.StringIO(), io.StringIO()
    src = (f'pe = NetPairEmbeddingOperator[{EMBED}, "Input" -> 2];\n'
           'bad = NetChain[{LinearLayer[4], NetPairEmbeddingOperator[LinearLayer[3]]}, '
           '"Input" -> 2]\n')
    assert check_text(src, "t.wl", out, err) == 1
    assert ('t.wl:1: pe = NetPairEmbeddingOperator: "Input" matrix of dimensions {2, 2} -> '
            '"Output" real number') in out.getvalue().splitlines(), out.getvalue()
    assert "t.wl:2" in err.getvalue() and "a pair of arrays" in err.getvalue()


# ---------------------------------------------------------------- PyTorch and ONNX
@pytest.mark.parametrize("distance", ["EuclideanDistance", "CosineDistance"])
def test_torch_module_matches(distance):
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    net = ev(f'NetInitialize[NetPairEmbeddingOperator[NetChain[{{ConvolutionLayer[2, {{2, 2}}], '
             f'Ramp, FlattenLayer[]}}], "Input" -> {{1, 4, 4}}, DistanceFunction -> {distance}],'
             f' RandomSeeding -> 6]')
    x = np.random.default_rng(2).normal(size=(5, 2, 1, 4, 4)).astype(np.float32)
    y = to_torch(net)(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(y, net(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("distance", ["EuclideanDistance", "CosineDistance"])
def test_onnx_export_matches(distance):
    net = ev(f'NetInitialize[NetPairEmbeddingOperator[NetChain[{{ConvolutionLayer[2, {{2, 2}}], '
             f'Ramp}}], "Input" -> {{1, 4, 4}}, DistanceFunction -> {distance}], '
             f'RandomSeeding -> 7]')
    x = np.random.default_rng(3).normal(size=(5, 2, 1, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(onnx_run(net, {"Input": x}), net(x), rtol=1e-5, atol=1e-5)
