"""RandomArrayLayer: draws checked against each distribution's mean and variance (formulas
written here), seeding, the reparametrised gradients against float64 finite differences
with the noise held fixed, PyTorch and onnxruntime statistics, net files."""

from __future__ import annotations

import math

import numpy as np
import pytest

import netdsl
from layer_harness import build, check_gradients, ctx, file_round_trip, onnx_run, \
    to_batch_last
from netdsl.errors import NetDSLError

G = math.gamma
N_DRAWS = 200_000

# (distribution, mean, variance), the formulas of the distributions' definitions
MOMENTS = [
    ("NormalDistribution[]", 0.0, 1.0),
    ("NormalDistribution[2, 3]", 2.0, 9.0),
    ("UniformDistribution[]", 0.5, 1 / 12),
    ("UniformDistribution[{-1, 3}]", 1.0, 16 / 12),
    ("ExponentialDistribution[2]", 0.5, 0.25),
    ("GammaDistribution[2.5, 2]", 5.0, 10.0),
    ("ErlangDistribution[3, 2]", 1.5, 0.75),
    ("ChiSquareDistribution[3]", 3.0, 6.0),
    ("ChiDistribution[3]", math.sqrt(2) * G(2) / G(1.5), 3 - 2 * (G(2) / G(1.5)) ** 2),
    ("MaxwellDistribution[2]", 2 * 2 * math.sqrt(2 / math.pi), 4 * (3 * math.pi - 8) / math.pi),
    ("RayleighDistribution[2]", 2 * math.sqrt(math.pi / 2), (4 - math.pi) / 2 * 4),
    ("HalfNormalDistribution[2]", 0.5, (math.pi - 2) / (2 * 4)),
    ("WeibullDistribution[2, 3]", 3 * G(1.5), 9 * (G(2) - G(1.5) ** 2)),
    ("NakagamiDistribution[2, 3]", G(2.5) / G(2) * math.sqrt(3 / 2),
     3 * (1 - (G(2.5) / G(2)) ** 2 / 2)),
    ("LogGammaDistribution[2, 0.2, 1]", 1 + 0.8 ** -2 - 1,
     0.6 ** -2 - 0.8 ** -4),                              # E[e^{bG}] = (1 - b)^-a
    ("ExpGammaDistribution[2, 3, 1]", 1 + 3 * (1 - 0.5772156649015329),
     9 * (math.pi ** 2 / 6 - 1)),                         # digamma(2), trigamma(2)
    ("InverseGammaDistribution[5, 2]", 2 / 4, 4 / (16 * 3)),
    ("PoissonDistribution[3.5]", 3.5, 3.5),
    ("BernoulliDistribution[0.3]", 0.3, 0.21),
    ("BinomialDistribution[10, 0.3]", 3.0, 2.1),
    ("NegativeBinomialDistribution[3, 0.4]", 3 * 0.6 / 0.4, 3 * 0.6 / 0.16),
    ("DiscreteUniformDistribution[{1, 6}]", 3.5, 35 / 12),
]


def draws(dist: str, n: int = N_DRAWS, seed: int = 1) -> np.ndarray:
    s = netdsl.Session()
    s.evaluate(f'r = RandomArrayLayer[{dist}, "Output" -> {n}]')
    return np.asarray(s.evaluate(f"r[RandomSeeding -> {seed}]"), np.float64)


@pytest.mark.parametrize("dist,mean,var", MOMENTS)
def test_mean_and_variance(dist, mean, var):
    y = draws(dist)
    assert y.shape == (N_DRAWS,)
    se_mean = math.sqrt(var / N_DRAWS)
    assert abs(y.mean() - mean) < 5 * se_mean, (y.mean(), mean)
    # the variance's standard error, from the fourth central moment of the sample
    m4 = np.mean((y - y.mean()) ** 4)
    se_var = math.sqrt(max(m4 - var ** 2, 1e-12) / N_DRAWS)
    assert abs(y.var() - var) < 5 * se_var, (y.var(), var)


def test_normal_draws_are_normal():
    y = draws("NormalDistribution[1, 2]")
    z = (y - 1) / 2
    for q, p in [(-1.0, 0.15865525), (0.0, 0.5), (1.5, 0.93319280)]:
        assert abs(np.mean(z < q) - p) < 5 * math.sqrt(p * (1 - p) / N_DRAWS)


def test_parametric_draws_follow_their_inputs():
    """Each element its own distribution: means and sds from the inputs."""
    s = netdsl.Session()
    s.evaluate("r = RandomArrayLayer[NormalDistribution[#Mean, #StandardDeviation] &]")
    n = 50_000
    mean = np.tile([[-2.0, 0.5, 10.0]], (n, 1))
    sd = np.tile([[0.5, 1.0, 3.0]], (n, 1))
    r = s.evaluate("r")
    y = np.asarray(r({"Mean": mean, "StandardDeviation": sd}), float)
    assert y.shape == (n, 3)
    np.testing.assert_array_less(np.abs(y.mean(0) - mean[0]), 5 * sd[0] / math.sqrt(n))
    np.testing.assert_array_less(np.abs(y.std(0) / sd[0] - 1), 5 / math.sqrt(2 * n))


def test_ports_and_shapes():
    layer = build("RandomArrayLayer[NormalDistribution[#Mean, #StandardDeviation] &]")
    assert layer.port_names() == (("Mean", "StandardDeviation"), ("Output",))
    layer = build("RandomArrayLayer[NormalDistribution[#, 1] &]")
    assert layer.port_names() == (("Input",), ("Output",))
    layer = build('RandomArrayLayer[UniformDistribution[{#1, #2}] &, "Input1" -> {2, 3}]')
    assert layer.port_names() == (("Input1", "Input2"), ("Output",))
    assert layer.ports["Output"].shape == (2, 3) == layer.ports["Input2"].shape
    layer = build('RandomArrayLayer[UniformDistribution[], "Output" -> {2, 3}]')
    assert layer.port_names() == ((), ("Output",))
    s = netdsl.Session()
    assert np.shape(s.evaluate('RandomArrayLayer[NormalDistribution[], "Output" -> 3][]')) == (3,)
    assert np.ndim(s.evaluate("RandomArrayLayer[NormalDistribution[]][]")) == 0
    # in a graph, the consumer fixes the size
    g = s.evaluate('NetGraph[{RandomArrayLayer[NormalDistribution[]], LinearLayer[2, '
                   '"Input" -> 4]}, {1 -> 2}]')
    assert [lyr for _, lyr in g.leaves()][0].ports["Output"].shape == (4,)


def test_seeding_and_modes():
    s = netdsl.Session()
    s.evaluate('r = RandomArrayLayer[NormalDistribution[], "Output" -> 5]')
    a = np.asarray(s.evaluate("r[RandomSeeding -> 7]"))
    np.testing.assert_array_equal(a, s.evaluate("r[RandomSeeding -> 7]"))
    assert not np.array_equal(a, s.evaluate("r[RandomSeeding -> 8]"))
    # random in Test mode (the default) as in Train mode, fresh on each evaluation
    assert not np.array_equal(s.evaluate("r[]"), s.evaluate("r[]"))
    t = np.asarray(s.evaluate('r[NetEvaluationMode -> "Train", RandomSeeding -> 7]'))
    assert t.shape == (5,) and np.all(np.isfinite(t))


@pytest.mark.parametrize("text,skip", [
    ("RandomArrayLayer[NormalDistribution[#Mean, #Sd] &]", ()),
    ("RandomArrayLayer[UniformDistribution[{#1, #2}] &]", ()),
    ("RandomArrayLayer[NormalDistribution[#m, Exp[#s]] &]", ()),     # sd = Exp[input]
    ("RandomArrayLayer[ExponentialDistribution[#] &]", ()),
    ("RandomArrayLayer[WeibullDistribution[#1, #2] &]", ()),
    ("RandomArrayLayer[RayleighDistribution[#] &]", ()),
    ("RandomArrayLayer[HalfNormalDistribution[#] &]", ()),
    ("RandomArrayLayer[GammaDistribution[#1, #2] &]", (0,)),          # the shape: none
    ("RandomArrayLayer[ExpGammaDistribution[2, #1, #2] &]", ()),
    ("RandomArrayLayer[LogGammaDistribution[2, #1, #2] &]", ()),
])
def test_reparametrised_gradients(text, skip):
    """Finite differences with the noise held fixed (the same seed for every evaluation)."""
    layer = build(text)
    n_in = len(layer.port_names()[0])
    rng = np.random.default_rng(0)
    lo = rng.uniform(0.5, 1.0, (3, 4))
    xs = [lo, lo + rng.uniform(1.0, 2.0, (3, 4))][:n_in]
    if "LogGamma" in text:
        xs = [xs[0] * 0.3, xs[1]]                 # beta small: a finite mean
    check_gradients(layer, {}, [to_batch_last(x) for x in xs], seed=5, skip_inputs=skip)


def test_normal_gradient_is_the_noise():
    """d y / d mean = 1 and d y / d sd = (y - mean)/sd = eps, by hand."""
    layer = build("RandomArrayLayer[NormalDistribution[#1, #2] &]")
    mean = to_batch_last(np.array([[1.0, -2.0]]))
    sd = to_batch_last(np.array([[2.0, 0.5]]))
    (y,), cache = layer.forward(ctx(grad=True, seed=3), {}, mean, sd)
    (dm, ds), _ = layer.backward(ctx(grad=True, seed=3), {}, cache, np.ones_like(y))
    np.testing.assert_array_equal(dm, 1.0)
    eps = np.random.default_rng(3).standard_normal(y.shape)
    np.testing.assert_allclose(ds, eps)
    np.testing.assert_allclose(y, mean + sd * eps)


def test_gradient_in_a_graph():
    """The mean from a LinearLayer: d Total[draws]/d input is the sum of its weights' rows,
    whatever the noise (NetPortGradient draws afresh: it takes no RandomSeeding)."""
    s = netdsl.Session()
    s.evaluate('g = NetInitialize[NetGraph[<|"m" -> LinearLayer[3], "z" -> RandomArrayLayer['
               'NormalDistribution[#Mean, #Sd] &]|>, {NetPort["Input"] -> "m" -> '
               'NetPort["z", "Mean"]}, "Input" -> 2], RandomSeeding -> 1]')
    wm = np.asarray(s.evaluate('NetExtract[g, {"m", "Weights"}]'), float)
    x = '<|"Input" -> {0.3, -0.7}, "Sd" -> {1, 2, 3}|>'
    np.testing.assert_array_equal(s.evaluate(f"g[{x}, RandomSeeding -> 4]"),
                                  s.evaluate(f"g[{x}, RandomSeeding -> 4]"))
    grad = np.asarray(s.evaluate(f'g[{x}, NetPortGradient["Input"]]'), float)
    np.testing.assert_allclose(grad, wm.sum(0), rtol=1e-5)
    dsd = np.asarray(s.evaluate(f'g[{x}, NetPortGradient["Sd"]]'), float)
    assert dsd.shape == (3,) and np.all(np.isfinite(dsd))


@pytest.mark.parametrize("text,words", [
    ("RandomArrayLayer[NormalDistribution[0, -1]]", "must be positive"),
    ("RandomArrayLayer[UniformDistribution[{2, 1}]]", "min < max"),
    ("RandomArrayLayer[BernoulliDistribution[1.5]]", "between 0 and 1"),
    ("RandomArrayLayer[CauchyDistribution[0, 1]]", "univariate distributions"),
    ("RandomArrayLayer[3]", "univariate distributions"),
    ("RandomArrayLayer[NormalDistribution[x, 1]]", "must be a number"),
    ("RandomArrayLayer[NormalDistribution[#a, #1] &]", "mixes named"),
    ("RandomArrayLayer[GammaDistribution[2]]", "argx|takes the parameters"),
])
def test_bad_distributions(text, words):
    with pytest.raises(NetDSLError, match=words):
        netdsl.evaluate(text)


def test_bad_parameters_at_run_time():
    s = netdsl.Session()
    s.evaluate("r = RandomArrayLayer[NormalDistribution[#Mean, #Sd] &]")
    with pytest.raises(NetDSLError) as e:
        s.evaluate('r[<|"Mean" -> {1, 2}, "Sd" -> {1, -1}|>]')
    assert e.value.tag == "invparam"
    with pytest.raises(NetDSLError):
        s.evaluate('r[<|"Mean" -> {1, 2}, "Sd" -> {1, Indeterminate}|>]')


def test_summary_extract_and_files(tmp_path):
    layer = build('RandomArrayLayer[NormalDistribution[2, 3], "Output" -> {2, 2}]')
    assert "NormalDistribution[2, 3]" in layer.output_form()
    assert netdsl.evaluate(layer.input_form()) == layer
    assert str(netdsl.evaluate('NetExtract[RandomArrayLayer[NormalDistribution[2, 3]], '
                               '"Distribution"]')) == "NormalDistribution[2, 3]"
    file_round_trip(layer, tmp_path)
    p = build('RandomArrayLayer[NormalDistribution[#Mean, #Sd] &, "Mean" -> 3]')
    assert netdsl.evaluate(p.input_form()) == p
    file_round_trip(p, tmp_path, "p.safetensors")


def test_onnx_statistics():
    net = netdsl.evaluate('NetGraph[{RandomArrayLayer[NormalDistribution[#Mean, #Sd] &, '
                          '"Mean" -> 2]}, {}]')
    n = 50_000
    mean = np.tile(np.float32([[1.0, -3.0]]), (n, 1))
    sd = np.tile(np.float32([[2.0, 0.5]]), (n, 1))
    y = onnx_run(net, {"Mean": mean, "Sd": sd})
    np.testing.assert_array_less(np.abs(y.mean(0) - mean[0]), 5 * sd[0] / math.sqrt(n))
    np.testing.assert_array_less(np.abs(y.std(0) / sd[0] - 1), 5 / math.sqrt(2 * n))
    g = netdsl.evaluate('NetInitialize@NetGraph[{LinearLayer[3], RandomArrayLayer['
                        'UniformDistribution[{2, 5}], "Output" -> 3], TotalLayer[]}, '
                        '{{1, 2} -> 3}, "Input" -> 2]')
    x = np.zeros((n, 2), np.float32)
    biases = np.asarray([
        lyr for _, lyr in g.leaves()][0].arrays["Biases"])
    u = onnx_run(g, {"Input": x}) - biases        # the LinearLayer's output is its biases
    assert u.min() >= 2 - 1e-5 and u.max() <= 5 + 1e-5
    assert abs(u.mean() - 3.5) < 5 * math.sqrt(9 / 12 / u.size)
    with pytest.raises(NetDSLError, match="ONNX"):
        onnx_run(netdsl.evaluate('NetGraph[{RandomArrayLayer[GammaDistribution[#1, 1] &, '
                                 '"Input" -> 2]}, {}]'), {"Input": x})


def test_torch_statistics_and_gradients():
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    net = netdsl.evaluate('NetGraph[{RandomArrayLayer[NormalDistribution[#Mean, #Sd] &, '
                          '"Mean" -> 2]}, {}]')
    n = 50_000
    mean = torch.tensor(np.tile([[1.0, -3.0]], (n, 1)), requires_grad=True)
    sd = torch.tensor(np.tile([[2.0, 0.5]], (n, 1)), requires_grad=True)
    y = to_torch(net)(Mean=mean, Sd=sd)
    yn = y.detach().numpy()
    assert abs(yn[:, 0].mean() - 1) < 5 * 2 / math.sqrt(n)
    assert abs(yn[:, 1].std() / 0.5 - 1) < 5 / math.sqrt(2 * n)
    y.sum().backward()
    np.testing.assert_allclose(mean.grad.numpy(), 1.0)
    np.testing.assert_allclose(sd.grad.numpy(), (yn - mean.detach().numpy()) / sd.detach().numpy(),
                               rtol=1e-7, atol=1e-9)
    u = to_torch(netdsl.evaluate('NetInitialize@NetGraph[{RandomArrayLayer['
                                 'UniformDistribution[{-1, 1}], "Output" -> 4], '
                                 'LinearLayer[1]}, {1 -> 2}]'))
    assert u is not None
    with pytest.raises(NetDSLError, match="torch"):
        to_torch(netdsl.evaluate('NetGraph[{RandomArrayLayer[PoissonDistribution[#] &, '
                                 '"Input" -> 2]}, {}]'))
