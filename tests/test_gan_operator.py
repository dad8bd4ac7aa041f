"""NetGANOperator[{generator, discriminator}, loss]: Wolfram's ports ("Sample", "Latent"
in; "LossReal", "LossFake", "GeneratedFake" out), shapes inferred both ways, the losses
of its reference page written out here ("JensenShannon": -Log[d[x]], -Log[1 - d[g[z]]];
"Wasserstein": -d[x], d[g[z]]; Automatic from the discriminator's last layer), array
gradients against float64 finite differences with the generator's reversed (it
maximises LossFake), NetTrain with TrainingUpdateSchedule learning a normal distribution,
text, net files, check, PyTorch and ONNX."""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdsl
from netdsl.check import check_text
from netdsl.errors import NetDSLError
from tests.layer_harness import file_round_trip, plan_input_gradients
from tests.test_gradients_net import Harness, assert_close

GEN = 'NetChain[{LinearLayer[3], Tanh, LinearLayer[2]}, "Input" -> 2]'
DISC_P = "NetChain[{LinearLayer[4], Tanh, LinearLayer[{}], LogisticSigmoid}]"
DISC_W = "NetChain[{LinearLayer[4], Tanh, LinearLayer[{}]}]"


def ev(text: str):
    return netdsl.Session().evaluate(text)


def _linear(layer) -> tuple[np.ndarray, np.ndarray]:
    return (layer.arrays["Weights"].astype(np.float64),
            layer.arrays["Biases"].astype(np.float64))


def by_hand(gan, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """d[x], d[g[z]] and g[z] by hand in float64 for GEN and DISC_P / DISC_W (batch-first):
    the discriminator's value before any LogisticSigmoid is returned raw."""
    g, d = gan.net("Generator"), gan.net("Discriminator")
    w1, b1 = _linear(g.net("1"))
    w2, b2 = _linear(g.net("3"))
    fake = np.tanh(z @ w1.T + b1) @ w2.T + b2
    v1, c1 = _linear(d.net("1"))
    v2, c2 = _linear(d.net("3"))

    def score(a):
        return (np.tanh(a @ v1.T + c1) @ v2.T + c2)[:, 0]
    return score(x), score(fake), fake


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


# ---------------------------------------------------------------- ports and shapes
def test_ports_and_shapes_flow_both_ways():
    gan = ev(f"NetGANOperator[{{{GEN}, {DISC_P}}}]")
    assert gan.port_names() == (("Sample", "Latent"), ("LossReal", "LossFake", "GeneratedFake"))
    words = {p: t.words() for p, t in gan.ports.items()}
    assert words == {"Sample": "vector of size 2", "Latent": "vector of size 2",
                     "LossReal": "real number", "LossFake": "real number",
                     "GeneratedFake": "vector of size 2"}
    # the discriminator's input size reaches the generator's open output, and "Latent"
    # its open input
    back = ev('NetGANOperator[{LinearLayer[], LinearLayer[{}, "Input" -> 4]}, "Latent" -> 3]')
    assert back.net("Generator").ports["Output"].shape == (4,)
    assert back.net("Generator").ports["Input"].shape == (3,)
    assert back.ports["Sample"].shape == (4,)
    # "Sample" sets the discriminator's input and the generator's output
    fwd = ev('NetGANOperator[{LinearLayer[], LinearLayer[{}]}, "Sample" -> {2, 3}, '
             '"Latent" -> 5]')
    assert fwd.net("Discriminator").ports["Input"].shape == (2, 3)
    assert fwd.net("Generator").ports["Output"].shape == (2, 3)


@pytest.mark.parametrize("text, tag, words", [
    ("NetGANOperator[LinearLayer[2]]", "invarg1", "a list of two nets"),
    ("NetGANOperator[{LinearLayer[2]}]", "invarg1", "a list of two nets"),
    ('NetGANOperator[{LinearLayer[2], "x"}]', "invarg1", "should be a net"),
    ("NetGANOperator[{LinearLayer[2], CatenateLayer[]}]", "invports",
     'inputs "Input1", "Input2"'),
    ("NetGANOperator[{LinearLayer[2], LinearLayer[3]}]", "valfail",
     "must be a single real number, not a vector of size 3"),
    ('NetGANOperator[{LinearLayer[2, "Input" -> 1], LinearLayer[{}, "Input" -> 3]}]',
     "valfail", "the discriminator's input (vector of size 3) must have the shape of the "
                "samples (vector of size 2)"),
    ('NetGANOperator[{LinearLayer[2], LinearLayer[{}]}, "Sample" -> 4]', "valfail",
     "the generator's output (vector of size 2)"),
    ('NetGANOperator[{LinearLayer[2], LinearLayer[{}]}, "Foo"]', "invloss",
     '"JensenShannon" or "Wasserstein"'),
    ('NetGANOperator[{LinearLayer[2], LinearLayer[{}]}, "Bar" -> 3]', "optx",
     '"Bar" is not a port'),
    ('NetGANOperator[{LinearLayer[2], LinearLayer[{}]}, "Wasserstein", "x"]', "argx",
     "a loss and port rules"),
])
def test_argument_and_shape_errors(text, tag, words):
    with pytest.raises(NetDSLError) as e:
        ev(text)
    assert e.value.tag == tag and words in str(e.value), str(e.value)


def test_automatic_loss_follows_the_discriminator_output_layer():
    assert ev(f"NetGANOperator[{{{GEN}, {DISC_P}}}]").loss_type() == "JensenShannon"
    assert ev(f"NetGANOperator[{{{GEN}, {DISC_W}}}]").loss_type() == "Wasserstein"
    # nested: the sigmoid at the end of an inner chain still counts
    nested = ev(f'NetGANOperator[{{{GEN}, NetChain[{{LinearLayer[4], '
                f'NetChain[{{LinearLayer[{{}}], LogisticSigmoid}}]}}]}}]')
    assert nested.loss_type() == "JensenShannon"
    assert ev(f'NetGANOperator[{{{GEN}, {DISC_P}}}, "Wasserstein"]').loss_type() == "Wasserstein"


# ---------------------------------------------------------------- forward: the losses
def _data(seed=0, n=6):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 2)).astype(np.float32),
            rng.normal(size=(n, 2)).astype(np.float32))


@pytest.mark.parametrize("loss", ["Automatic", '"JensenShannon"'])
def test_jensen_shannon_losses(loss):
    gan = ev(f"NetInitialize[NetGANOperator[{{{GEN}, {DISC_P}}}, {loss}], RandomSeeding -> 3]")
    x, z = _data()
    out = gan({"Sample": x, "Latent": z})
    real, fake, made = by_hand(gan, x.astype(np.float64), z.astype(np.float64))
    np.testing.assert_allclose(out["LossReal"], -np.log(sigmoid(real)), rtol=1e-5)
    np.testing.assert_allclose(out["LossFake"], -np.log(1 - sigmoid(fake)), rtol=1e-5)
    np.testing.assert_allclose(out["GeneratedFake"], made, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("disc", [DISC_W, DISC_P])
def test_wasserstein_losses(disc):
    loss = "" if disc == DISC_W else ', "Wasserstein"'    # Automatic without a sigmoid
    gan = ev(f"NetInitialize[NetGANOperator[{{{GEN}, {disc}}}{loss}], RandomSeeding -> 4]")
    x, z = _data(1)
    out = gan({"Sample": x, "Latent": z})
    real, fake, _ = by_hand(gan, x.astype(np.float64), z.astype(np.float64))
    if disc == DISC_P:
        real, fake = sigmoid(real), sigmoid(fake)
    np.testing.assert_allclose(out["LossReal"], -real, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["LossFake"], fake, rtol=1e-5, atol=1e-6)


def test_jensen_shannon_needs_probabilities():
    gan = ev(f'NetInitialize[NetGANOperator[{{{GEN}, {DISC_W}}}, "JensenShannon"], '
             f'RandomSeeding -> 1]')
    x, z = _data()
    with pytest.raises(NetDSLError) as e:
        gan({"Sample": 10 * x, "Latent": z})
    assert e.value.tag == "invprob" and "output probabilities" in str(e.value)


def test_fixed_weights_by_the_reference_formulas():
    """One-number nets with weights written here: g[z] = 2 z + 1, d[x] = sigmoid(x - 1)."""
    gan = ev('NetGANOperator[{LinearLayer[{}, "Input" -> "Real", "Weights" -> {{2.}}, '
             '"Biases" -> {1.}], NetChain[{LinearLayer[{}, "Weights" -> {{1.}}, "Biases" -> '
             '{-1.}], LogisticSigmoid}, "Input" -> "Real"]}]')
    out = gan({"Sample": np.array([0.5, 3.0], np.float32),
               "Latent": np.array([-1.0, 0.25], np.float32)})
    d_real = sigmoid(np.array([0.5, 3.0]) - 1)
    d_fake = sigmoid(2 * np.array([-1.0, 0.25]) + 1 - 1)
    np.testing.assert_allclose(out["LossReal"], -np.log(d_real), rtol=1e-6)
    np.testing.assert_allclose(out["LossFake"], -np.log(1 - d_fake), rtol=1e-6)
    np.testing.assert_allclose(out["GeneratedFake"], [-1.0, 1.5], rtol=1e-6)


# ---------------------------------------------------------------- backward
@pytest.mark.parametrize("disc, loss", [(DISC_P, ""), (DISC_W, ""),
                                        (DISC_P, ', "Wasserstein"')])
def test_array_gradients_match_finite_differences_with_the_generator_reversed(disc, loss):
    """The discriminator descends LossReal + LossFake; the generator gets minus the
    derivative of LossFake (the only loss it changes): it ascends it."""
    rng = np.random.default_rng(5)
    hz = Harness(f"NetGANOperator[{{{GEN}, {disc}}}{loss}]",
                 {"Sample": rng.standard_normal((5, 2)), "Latent": rng.standard_normal((5, 2))})
    assert hz.loss_names == ["LossReal", "LossFake"]   # outputs that are losses; not the fake
    loss_value, grad = hz.loss_and_grad()
    assert loss_value == pytest.approx(hz.loss(), rel=1e-10)
    numeric = hz.numeric_grad()
    sign = np.ones_like(numeric)
    for key in hz.params.offsets:
        if "Generator" in key[0]:
            sign[hz.key_slice(key)] = -1
    assert (sign < 0).sum() == 3 * 2 + 3 + 2 * 3 + 2          # every generator array
    assert_close(grad, sign * numeric)


def test_input_gradients_match_finite_differences():
    """Seeds on LossReal and GeneratedFake: plain derivatives (the reversal is only on
    the path from the discriminator back into the generator); a seed on LossFake gives
    "Latent" minus its derivative."""
    gan = ev(f"NetInitialize[NetGANOperator[{{{GEN}, {DISC_P}}}], RandomSeeding -> 2]")
    rng = np.random.default_rng(1)
    feed = {"Sample": rng.standard_normal((2, 4)), "Latent": rng.standard_normal((2, 4))}
    seeds = {"LossReal": rng.standard_normal(4), "GeneratedFake": rng.standard_normal((2, 4))}
    for analytic, numeric in plan_input_gradients(gan, feed, seeds).values():
        assert_close(analytic, numeric, tol=1e-5)
    fake_seed = {"LossFake": rng.standard_normal(4)}
    analytic, numeric = plan_input_gradients(gan, feed, fake_seed)["Latent"]
    assert_close(analytic, -numeric, tol=1e-5)


# ---------------------------------------------------------------- training
TRAIN = '''
gen = NetChain[{LinearLayer[1]}, "Input" -> 1];
disc = NetChain[{LinearLayer[16], Tanh, LinearLayer[16], Tanh, LinearLayer[{}],
  LogisticSigmoid}, "Input" -> 1];
f = Function[<|"Sample" -> RandomVariate[NormalDistribution[3, 0.5], {#BatchSize, 1}],
   "Latent" -> RandomVariate[NormalDistribution[], {#BatchSize, 1}]|>];
res = NetTrain[NetGANOperator[{gen, disc}], {f, "RoundLength" -> 6400}, All,
  BatchSize -> 64, MaxTrainingRounds -> 20, RandomSeeding -> 1,
  TrainingUpdateSchedule -> {"Discriminator", "Generator"},
  TrainingProgressReporting -> None, Method -> {"ADAM", "LearningRate" -> 0.005,
  "Beta1" -> 0.5}];
g = NetExtract[res["TrainedNet"], "Generator"];
'''


def test_nettrain_learns_a_normal_distribution():
    """g[z] = a z + b on z ~ N(0, 1) is N(b, a^2): training should give b near 3 and |a|
    near 0.5. Tolerance 0.1: the discriminator sees batches of 64, whose means scatter by
    0.5/8 = 0.06, so the equilibrium is reached only to about that; an untrained or
    collapsed generator is off by 0.4 or more (|a| starts far from 0.5 and b at 0)."""
    s = netdsl.Session()
    s.evaluate(TRAIN)
    a = float(np.ravel(s.evaluate('NetExtract[g, {1, "Weights"}]'))[0])
    b = float(np.ravel(s.evaluate('NetExtract[g, {1, "Biases"}]'))[0])
    assert abs(b - 3) < 0.1 and abs(abs(a) - 0.5) < 0.1, (a, b)
    samples = np.ravel(s.evaluate("g")(np.random.default_rng(0).normal(size=(20000, 1))
                                       .astype(np.float32)))
    assert abs(samples.mean() - 3) < 0.1 and abs(samples.std() - 0.5) < 0.1
    # the losses at the equilibrium: d = 1/2 everywhere, LossReal + LossFake = 2 Log[2]
    last = np.asarray(s.evaluate('res["RoundLossList"]'), float)[-1]
    assert abs(last - 2 * np.log(2)) < 0.1
    assert s.evaluate('res["TotalRounds"]') == 20


def test_update_schedule_alternates_discriminator_and_generator():
    """With TrainingUpdateSchedule -> {"Discriminator", "Generator"} and one batch per
    round, round 1 moves only the discriminator and round 2 only the generator."""
    s = netdsl.Session()
    s.evaluate(f'''gan = NetInitialize[NetGANOperator[{{{GEN}, {DISC_P}}}], RandomSeeding -> 1];
        data = <|"Sample" -> RandomReal[1, {{8, 2}}], "Latent" -> RandomReal[1, {{8, 2}}]|>;
        t[n_] := NetTrain[gan, data, BatchSize -> 8, MaxTrainingRounds -> n,
            TrainingUpdateSchedule -> {{"Discriminator", "Generator"}},
            TrainingProgressReporting -> None];''')

    def arrays(name: str) -> dict:
        return {path + (a,): np.array(v) for path, leaf in s.evaluate(name).leaves()
                for a, v in leaf.arrays.items() if isinstance(v, np.ndarray)}
    s.evaluate("one = t[1]; two = t[2];")
    start, one, two = arrays("gan"), arrays("one"), arrays("two")
    for key in start:
        moved1 = not np.array_equal(start[key], one[key])
        moved2 = not np.array_equal(one[key], two[key])
        if key[0] == "Discriminator":
            assert moved1 and not moved2, key
        else:
            assert not moved1 and moved2, key


def test_nettrain_reads_sample_and_latent_data_and_reports_the_summed_loss():
    s = netdsl.Session()
    s.evaluate(f'''gan = NetInitialize[NetGANOperator[{{{GEN}, {DISC_P}}}], RandomSeeding -> 1];
        data = <|"Sample" -> RandomReal[1, {{16, 2}}], "Latent" -> RandomReal[1, {{16, 2}}]|>;
        r = NetTrain[gan, data, All, BatchSize -> 16, MaxTrainingRounds -> 1,
            LearningRate -> 0, TrainingProgressReporting -> None];
        out = gan[data];''')
    first = s.evaluate('r["RoundLossList"]')[0]
    total = np.asarray(s.evaluate('out["LossReal"] + out["LossFake"]'), float)
    assert first == pytest.approx(total.mean(), rel=1e-5)


# ---------------------------------------------------------------- text, files, check
def test_input_form_parses_back_and_net_file_round_trip(tmp_path):
    gan = ev(f'NetInitialize[NetGANOperator[{{{GEN}, {DISC_P}}}, "Wasserstein", "Latent" -> 2],'
             f' RandomSeeding -> 5]')
    text = netdsl.input_form(gan)
    assert text.startswith("NetGANOperator[{NetChain[{LinearLayer[3, ")
    assert text.endswith('"Wasserstein", "Latent" -> 2]')
    assert ev(text) == gan
    summary = netdsl.output_form(gan)
    assert "Generator" in summary and "GeneratedFake" in summary
    back = file_round_trip(gan, tmp_path)
    assert back.loss_type() == "Wasserstein"
    x, z = _data(2)
    for port, value in gan({"Sample": x, "Latent": z}).items():
        np.testing.assert_array_equal(back({"Sample": x, "Latent": z})[port], value)


def test_net_extract_and_generator_alone():
    s = netdsl.Session()
    s.evaluate(f'gan = NetInitialize[NetGANOperator[{{{GEN}, {DISC_P}}}], RandomSeeding -> 3]')
    g = s.evaluate('NetExtract[gan, "Generator"]')
    x, z = _data()
    np.testing.assert_array_equal(g(z), s.evaluate("gan")({"Sample": x, "Latent": z})
                                  ["GeneratedFake"])
    assert s.evaluate('NetExtract[gan, {"Discriminator", 1, "Weights"}]').shape == (4, 2)


def test_check_reports_the_operator_and_its_errors():
    out, err = io.StringIO(), io.StringIO()
    src = (f'gan = NetGANOperator[{{{GEN}, {DISC_P}}}];\n'
           'bad = NetGANOperator[{LinearLayer[2], LinearLayer[3]}]\n')
    assert check_text(src, "t.wl", out, err) == 1
    assert "t.wl:1: gan = NetGANOperator" in out.getvalue(), out.getvalue()
    assert "t.wl:2" in err.getvalue() and "single real number" in err.getvalue()


# ---------------------------------------------------------------- PyTorch and ONNX
@pytest.mark.parametrize("disc", [DISC_P, DISC_W])
def test_torch_module_matches_and_reverses_the_generator_gradient(disc):
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    gan = ev(f"NetInitialize[NetGANOperator[{{{GEN}, {disc}}}], RandomSeeding -> 6]")
    x, z = _data(3)
    module = to_torch(gan)
    got = module(Sample=torch.tensor(x), Latent=torch.tensor(z))
    want = gan({"Sample": x, "Latent": z})
    for port in want:
        np.testing.assert_allclose(got[port].detach().numpy(), want[port], rtol=1e-5,
                                   atol=1e-6)
    # the torch gradient of the mean of LossReal + LossFake reaches the generator reversed
    (got["LossReal"] + got["LossFake"]).mean().backward()
    for key, param in module.arrays.items():
        assert param.grad is not None, key
    g_weights = module.arrays["Generator/1/Weights"].grad.numpy()
    # finite differences of LossFake alone, in float64, for the first generator array
    w = gan.net("Generator").net("1").arrays["Weights"].astype(np.float64)
    eps = 1e-6

    def lf(w1):
        g = gan.net("Generator")
        _, b1 = _linear(g.net("1"))
        w2, b2 = _linear(g.net("3"))
        fake = np.tanh(z.astype(np.float64) @ w1.T + b1) @ w2.T + b2
        d = gan.net("Discriminator")
        v1, c1 = _linear(d.net("1"))
        v2, c2 = _linear(d.net("3"))
        s = (np.tanh(fake @ v1.T + c1) @ v2.T + c2)[:, 0]
        return np.mean(-np.log(1 - sigmoid(s)) if disc == DISC_P else s)
    numeric = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        up, down = w.copy(), w.copy()
        up[i] += eps
        down[i] -= eps
        numeric[i] = (lf(up) - lf(down)) / (2 * eps)
    np.testing.assert_allclose(g_weights, -numeric, rtol=1e-3, atol=1e-5)


def test_onnx_export_names_what_to_export(tmp_path):
    pytest.importorskip("onnx")     # without the extra, Export says to install it first
    s = netdsl.Session()
    s.evaluate(f'gan = NetInitialize[NetGANOperator[{{{GEN}, {DISC_P}}}], RandomSeeding -> 3]')
    path = str(tmp_path / "gan.onnx")
    with pytest.raises(NetDSLError) as e:
        s.evaluate(f'Export["{path}", gan]')
    assert e.value.tag == "onnxnosup" and 'NetExtract[gan, "Generator"]' in str(e.value)
    pytest.importorskip("onnx")
    s.evaluate(f'Export["{path}", NetExtract[gan, "Generator"]]')
    assert (tmp_path / "gan.onnx").exists()
