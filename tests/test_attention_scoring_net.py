"""AttentionLayer[net]: a net as the scoring net (ports "Input" a key vector, "Query" a
query vector, "Output" a real number). Forward against the formula written here (the
scoring net's two LinearLayers and DotLayer by hand), gradients of inputs and of the
scoring net's arrays against float64 central differences of that formula, its arrays by
NetExtract path {"ScoringNet", ...}, NetInitialize, NetTrain, net files and batches of
different lengths.
"""

from __future__ import annotations

import numpy as np
import pytest

from netdsl.errors import NetDSLError
from netdsl.session import Session

SCORING = ('sc = NetGraph[{LinearLayer[4], LinearLayer[4], DotLayer[]}, '
           '{NetPort["Input"] -> 1, NetPort["Query"] -> 2, {1, 2} -> 3}];')


def session(layer_text: str) -> Session:
    s = Session()
    s.evaluate(SCORING)
    s.evaluate(f"a = NetInitialize[{layer_text}, RandomSeeding -> 1]")
    return s


def arrays(s: Session) -> dict[str, np.ndarray]:
    return {f"{i}{n[0]}": np.asarray(s.evaluate(f'NetExtract[a, {{"ScoringNet", {i}, "{n}"}}]'),
                                     float)
            for i in (1, 2) for n in ("Weights", "Biases")}


def reference(keys, values, queries, p, causal=False, rescaling=None):
    """One example: s_ij = (W1 k_j + b1) . (W2 q_i + b2), softmax over j, weighted values."""
    kp = keys @ p["1W"].T + p["1B"]
    qp = queries @ p["2W"].T + p["2B"]
    s = qp @ kp.T
    if rescaling == "LengthSqrt":
        s = s / (np.sqrt(np.arange(1, s.shape[0] + 1))[:, None] if causal
                 else np.sqrt(s.shape[1]))
    if causal:
        s = np.where(np.arange(s.shape[1])[None, :] > np.arange(s.shape[0])[:, None], -np.inf, s)
    w = np.exp(s - s.max(1, keepdims=True))
    w /= w.sum(1, keepdims=True)
    return w @ values


def wl(x: np.ndarray) -> str:
    if x.ndim == 0:
        return repr(float(x))
    return "{" + ", ".join(wl(e) for e in x) + "}"


def data(rng, n=5, m=3):
    return {"Key": rng.standard_normal((n, 2)), "Value": rng.standard_normal((n, 3)),
            "Query": rng.standard_normal((m, 3))}


# ---------------------------------------------------------------- shapes, text, arrays
def test_ports_arrays_and_paths():
    s = session('AttentionLayer[sc, "Key" -> {5, 2}, "Value" -> {5, 3}, "Query" -> {2, 3}]')
    a = s.evaluate("a")
    assert a.ports["Output"].shape == (2, 3)
    inner = a.net("ScoringNet")
    assert inner.ports["Input"].shape == (2,) and inner.ports["Query"].shape == (3,)
    assert inner.ports["Output"].shape == ()
    assert np.asarray(s.evaluate('NetExtract[a, {"ScoringNet", 1, "Weights"}]')).shape == (4, 2)
    assert str(s.evaluate('Information[a, "ArraysCount"]')) == "4"


def test_varying_lengths_and_multihead_shapes():
    s = session('AttentionLayer[sc, "Key" -> {"Varying", 2}, "Query" -> {"Varying", 3}]')
    a = s.evaluate("a")
    k, q, o = (a.ports[p].shape for p in ("Key", "Query", "Output"))
    assert o[0] is q[0] and k[0] is not q[0]
    m = session('AttentionLayer[sc, "MultiHead" -> True, "Key" -> {5, 2, 2}, '
                '"Value" -> {5, 2, 3}, "Query" -> {4, 2, 3}]').evaluate("a")
    assert m.ports["Output"].shape == (4, 2, 3)


def test_scoring_net_with_wrong_ports_is_an_error():
    s = Session()
    with pytest.raises(NetDSLError, match='must have the input ports "Input"'):
        s.evaluate('AttentionLayer[LinearLayer[1]]')
    with pytest.raises(NetDSLError, match="inconsistent|Validation"):
        s.evaluate(SCORING + 'AttentionLayer[sc, "Key" -> {5, 2}, "Query" -> {2, 3}, '
                             '"Value" -> {4, 3}]')


# ---------------------------------------------------------------- forward
@pytest.mark.parametrize("opts,causal,rescaling", [
    ("", False, None), ('"ScoreRescaling" -> "LengthSqrt"', False, "LengthSqrt"),
    ('"Mask" -> "Causal", "ScoreRescaling" -> "LengthSqrt"', True, "LengthSqrt")])
def test_forward_equals_the_formula(opts, causal, rescaling):
    sep = ", " if opts else ""
    s = session(f'AttentionLayer[sc{sep}{opts}, "Key" -> {{"Varying", 2}}, '
                f'"Value" -> {{"Varying", 3}}, "Query" -> {{"Varying", 3}}]')
    a, p = s.evaluate("a"), arrays(s)
    rng = np.random.default_rng(0)
    for n in (4, 1, 6):
        x = data(rng, n, n if causal else 3)
        np.testing.assert_allclose(a(x), reference(x["Key"], x["Value"], x["Query"], p, causal,
                                                   rescaling), rtol=1e-4, atol=1e-5)


def test_multihead_each_head_alone():
    s = session('AttentionLayer[sc, "MultiHead" -> True, "Key" -> {5, 2, 2}, '
                '"Value" -> {5, 2, 3}, "Query" -> {4, 2, 3}]')
    a, p = s.evaluate("a"), arrays(s)
    rng = np.random.default_rng(1)
    k, v, q = rng.standard_normal((5, 2, 2)), rng.standard_normal((5, 2, 3)), \
        rng.standard_normal((4, 2, 3))
    y = a({"Key": k, "Value": v, "Query": q})
    for h in range(2):
        np.testing.assert_allclose(y[:, h], reference(k[:, h], v[:, h], q[:, h], p),
                                   rtol=1e-4, atol=1e-5)


def test_ragged_batch_equals_each_example_alone():
    s = session('AttentionLayer[sc, "Key" -> {"Varying", 2}, "Value" -> {"Varying", 3}, '
                '"Query" -> {"Varying", 3}]')
    a, p = s.evaluate("a"), arrays(s)
    rng = np.random.default_rng(2)
    examples = [data(rng, n, m) for n, m in ((3, 2), (5, 1), (3, 2), (1, 4))]
    batch = a({port: [e[port] for e in examples] for port in ("Key", "Value", "Query")})
    for e, y in zip(examples, batch):
        np.testing.assert_allclose(y, reference(e["Key"], e["Value"], e["Query"], p),
                                   rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- gradients
def numeric(f, x, h=1e-6):
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        up = f()
        flat[i] = old - h
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * h)
    return g


def test_gradients_equal_finite_differences():
    s = session('AttentionLayer[sc, "Mask" -> "Causal", "Key" -> {4, 2}, "Value" -> {4, 3}, '
                '"Query" -> {4, 3}]')
    p = arrays(s)
    rng = np.random.default_rng(3)
    x = data(rng, 4, 4)
    seed = rng.standard_normal((4, 3))
    assoc = (f'<|"Key" -> {wl(x["Key"])}, "Value" -> {wl(x["Value"])}, '
             f'"Query" -> {wl(x["Query"])}, NetPortGradient["Output"] -> {wl(seed)}|>')

    def loss():
        return float(np.sum(seed * reference(x["Key"], x["Value"], x["Query"], p, True)))

    for port in ("Key", "Value", "Query"):
        got = np.asarray(s.evaluate(f'a[{assoc}, NetPortGradient["{port}"]]'), float)
        np.testing.assert_allclose(got, numeric(loss, x[port]), rtol=2e-3, atol=2e-4)
    for i, name, short in ((1, "Weights", "1W"), (2, "Biases", "2B"), (2, "Weights", "2W")):
        got = np.asarray(s.evaluate(f'a[{assoc}, NetPortGradient[{{"ScoringNet", {i}, '
                                    f'"{name}"}}]]'), float)
        np.testing.assert_allclose(got, numeric(loss, p[short]), rtol=2e-3, atol=2e-4)


# ---------------------------------------------------------------- training, files
def test_trains_in_a_graph():
    s = Session()
    s.evaluate(SCORING)
    s.evaluate('net = NetGraph[<|"att" -> AttentionLayer[sc, "Key" -> {3, 2}, "Value" -> {3, 2}, '
               '"Query" -> {2}]|>, {}]')
    s.evaluate('data = Table[<|"Key" -> {{1., 0.}, {0., 1.}, {1., 1.}}, "Value" -> {{1., 0.}, '
               '{0., 1.}, {0., 0.}}, "Query" -> {1., 0.}, "Output" -> {1., 0.}|>, 4]')
    s.evaluate("t = NetTrain[net, data, MaxTrainingRounds -> 300, RandomSeeding -> 1, "
               "LearningRate -> 0.05]")
    out = s.evaluate('t[<|"Key" -> {{1., 0.}, {0., 1.}, {1., 1.}}, "Value" -> {{1., 0.}, '
                     '{0., 1.}, {0., 0.}}, "Query" -> {1., 0.}|>]')
    np.testing.assert_allclose(np.asarray(out, float), [1.0, 0.0], atol=0.15)
    before = np.asarray(s.evaluate('NetExtract[NetInitialize[net, RandomSeeding -> 1], '
                                   '{"att", "ScoringNet", 1, "Weights"}]'), float)
    after = np.asarray(s.evaluate('NetExtract[t, {"att", "ScoringNet", 1, "Weights"}]'), float)
    assert not np.allclose(before, after)


@pytest.mark.parametrize("fmt", ["wl", "safetensors"])
def test_net_files_round_trip(fmt, tmp_path):
    s = session('AttentionLayer[sc, "Mask" -> "Causal", "ScoreRescaling" -> "LengthSqrt", '
                '"Key" -> {"Varying", 2}, "Value" -> {"Varying", 3}, "Query" -> {"Varying", 3}]')
    s.evaluate('g = NetGraph[<|"att" -> a|>, {}]')
    load = "Get" if fmt == "wl" else "Import"
    same = s.evaluate(f'{load}[Export["{tmp_path}/a.{fmt}", g]] === g')
    assert str(same) == "True"
    again = s.evaluate(f'{load}["{tmp_path}/a.{fmt}"]')
    rng = np.random.default_rng(4)
    x = data(rng, 3, 3)
    np.testing.assert_allclose(again(x), s.evaluate("g")(x), rtol=1e-6)


def test_net_replace_part_of_the_scoring_net():
    s = session('AttentionLayer[sc, "Key" -> {5, 3}, "Value" -> {5, 3}, "Query" -> {2, 3}]')
    s.evaluate('b = NetReplacePart[a, "ScoringNet" -> NetGraph[{DotLayer[]}, '
               '{{NetPort["Input"], NetPort["Query"]} -> 1}]]')
    dot = s.evaluate('AttentionLayer["Dot", "Key" -> {5, 3}, "Value" -> {5, 3}, '
                     '"Query" -> {2, 3}]')
    x = data(np.random.default_rng(5), 5, 2)
    x["Key"] = np.random.default_rng(6).standard_normal((5, 3))
    np.testing.assert_allclose(s.evaluate("b")(x), dot(x), rtol=1e-5, atol=1e-6)


# the paclet's custom scoring nets and the output sizes its AttentionLayer "Tests:" give
ADDITIVE = ('NetGraph[{LinearLayer[10, "Biases" -> None], LinearLayer[10, "Biases" -> None], '
            'ThreadingLayer[Tanh[#1 + #2] &], LinearLayer[{}, "Biases" -> None]}, '
            '{NetPort["Input"] -> 1 -> 3, NetPort["Query"] -> 2 -> 3 -> 4}, '
            '"Input" -> 5, "Query" -> 3]')
ADDITIVE2 = ('NetGraph[{CatenateLayer[], LinearLayer[10, "Biases" -> None], Tanh, '
             'LinearLayer[{}, "Biases" -> None]}, {{NetPort["Input"], NetPort["Query"]} -> 1 -> '
             '2 -> 3 -> 4}, "Input" -> 5, "Query" -> 3]')


@pytest.mark.parametrize("net,ports,out", [
    (ADDITIVE, '"Key" -> {Automatic, 5}, "Value" -> {3, 4}, "Query" -> {2, 3}', (2, 4)),
    (ADDITIVE2, '"ScoreRescaling" -> "LengthSqrt", "Key" -> {7, 5}, "Value" -> {7, 4}, '
                '"Query" -> {2, 3}', (2, 4)),
])
def test_output_shapes_as_wolfram(net, ports, out):
    a = Session().evaluate(f"NetInitialize[AttentionLayer[{net}, {ports}]]")
    assert a.ports["Output"].shape == out
    rng = np.random.default_rng(0)
    shapes = {p: a.ports[p].shape for p in ("Key", "Value", "Query")}
    y = a({p: rng.standard_normal(shp) for p, shp in shapes.items()})
    assert y.shape == out and np.isfinite(y).all()


def test_onnx_export_is_an_onnxnosup_error():
    pytest.importorskip("onnx")
    from netdsl.formats.onnx_export import to_onnx
    s = session('AttentionLayer[sc, "Key" -> {5, 2}, "Value" -> {5, 3}, "Query" -> {2, 3}]')
    with pytest.raises(NetDSLError) as e:
        to_onnx(s.evaluate('NetGraph[<|"att" -> a|>, {}]'))
    assert e.value.tag == "onnxnosup" and "a net as the scoring net" in e.value.text


def test_dropout_only_in_train_mode():
    s = session('AttentionLayer[sc, "Dropout" -> 0.5, "Key" -> {6, 2}, "Value" -> {6, 3}, '
                '"Query" -> {4, 3}]')
    a, p = s.evaluate("a"), arrays(s)
    x = data(np.random.default_rng(7), 6, 4)
    np.testing.assert_allclose(a(x), reference(x["Key"], x["Value"], x["Query"], p),
                               rtol=1e-4, atol=1e-5)
    assert not np.allclose(a(x, evaluation_mode="Train"), a(x))


# ---------------------------------------------------------------- "AttentionWeights"
def weights_reference(keys, queries, p):
    s = (queries @ p["2W"].T + p["2B"]) @ (keys @ p["1W"].T + p["1B"]).T
    w = np.exp(s - s.max(1, keepdims=True))
    return w / w.sum(1, keepdims=True)


def test_attention_weights_port_values_ragged_and_files(tmp_path):
    s = session('AttentionLayer[sc, "Key" -> {"Varying", 2}, "Value" -> {"Varying", 3}, '
                '"Query" -> {"Varying", 3}]')
    g = s.evaluate('g = NetGraph[<|"att" -> a|>, {NetPort[{"att", "AttentionWeights"}] -> '
                   'NetPort["w"]}]')
    p = arrays(s)
    assert g.ports["w"].shape[0] is g.ports["Query"].shape[0]
    rng = np.random.default_rng(8)
    examples = [data(rng, n, m) for n, m in ((3, 2), (5, 1), (3, 2))]
    batch = g({port: [e[port] for e in examples] for port in ("Key", "Value", "Query")},
              port="w")
    for e, w in zip(examples, batch):
        np.testing.assert_allclose(w, weights_reference(e["Key"], e["Query"], p), rtol=1e-4,
                                   atol=1e-6)
    np.testing.assert_allclose(s.evaluate("a")(examples[0], port="AttentionWeights"), batch[0],
                               rtol=1e-6)
    same = s.evaluate(f'{{Get[Export["{tmp_path}/g.wl", g]] === g, '
                      f'Import[Export["{tmp_path}/g.safetensors", g]] === g}}')
    assert [str(v) for v in same.args] == ["True", "True"]


def test_gradients_through_the_attention_weights_equal_finite_differences():
    s = session('AttentionLayer[sc, "Key" -> {4, 2}, "Value" -> {4, 3}, "Query" -> {3, 3}]')
    s.evaluate('g = NetGraph[<|"att" -> a|>, {NetPort[{"att", "AttentionWeights"}] -> '
               'NetPort["w"]}]')
    p = arrays(s)
    rng = np.random.default_rng(9)
    x = data(rng, 4, 3)
    seed_out, seed_w = rng.standard_normal((3, 3)), rng.standard_normal((3, 4))
    assoc = (f'<|"Key" -> {wl(x["Key"])}, "Value" -> {wl(x["Value"])}, '
             f'"Query" -> {wl(x["Query"])}, NetPortGradient["Output"] -> {wl(seed_out)}, '
             f'NetPortGradient["w"] -> {wl(seed_w)}|>')

    def loss():
        w = weights_reference(x["Key"], x["Query"], p)
        return float(np.sum(seed_out * (w @ x["Value"])) + np.sum(seed_w * w))

    for port in ("Key", "Query"):
        got = np.asarray(s.evaluate(f'g[{assoc}, NetPortGradient["{port}"]]'), float)
        np.testing.assert_allclose(got, numeric(loss, x[port]), rtol=2e-3, atol=2e-4)
    got = np.asarray(s.evaluate(f'g[{assoc}, NetPortGradient[{{"att", "ScoringNet", 1, '
                                f'"Weights"}}]]'), float)
    np.testing.assert_allclose(got, numeric(loss, p["1W"]), rtol=2e-3, atol=2e-4)


def test_options_not_taken_with_a_net_are_clear_errors():
    s = Session()
    s.evaluate(SCORING)
    with pytest.raises(NetDSLError, match='no array "Weights"'):
        s.evaluate('AttentionLayer[sc, "Weights" -> {{1., 2.}}]')
