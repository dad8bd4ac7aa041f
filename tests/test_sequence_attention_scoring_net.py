"""SequenceAttentionLayer[net]: Wolfram's older attention layer with a net as the scoring
net; its one "Input" serves as keys and values. Forward against the formula written out
in tests/test_attention_scoring_net.py (keys = values = the input), gradients of the input
(keys and values at once), the query and the scoring net's arrays against float64 central
differences, ragged batches, files, text, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

from netdsl.errors import NetDSLError
from tests.test_attention_scoring_net import arrays, numeric, reference, session, wl

LAYER = 'SequenceAttentionLayer[sc, "Input" -> {{{n}, 2}}, "Query" -> {{{m}, 3}}]'


def test_ports_and_forward_equal_the_formula():
    s = session(LAYER.format(n=5, m=3))
    a, p = s.evaluate("a"), arrays(s)
    assert a.port_names() == (("Input", "Query"), ("Output",))
    assert a.ports["Output"].shape == (3, 2)
    rng = np.random.default_rng(0)
    x, q = rng.standard_normal((5, 2)), rng.standard_normal((3, 3))
    np.testing.assert_allclose(a({"Input": x, "Query": q}), reference(x, x, q, p), rtol=1e-5,
                               atol=1e-6)


def test_ragged_batch_equals_each_example_alone_and_weights_port():
    s = session(LAYER.format(n='"Varying"', m='"Varying"'))
    a, p = s.evaluate("a"), arrays(s)
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((n, 2)) for n in (3, 5, 3)]
    qs = [rng.standard_normal((m, 3)) for m in (2, 1, 4)]
    for x, q, y in zip(xs, qs, a({"Input": xs, "Query": qs})):
        np.testing.assert_allclose(y, reference(x, x, q, p), rtol=1e-4, atol=1e-5)
    s.evaluate(f'x = {wl(xs[0])}; q = {wl(qs[0])};')
    w = np.asarray(s.evaluate('a[<|"Input" -> x, "Query" -> q|>, NetPort["AttentionWeights"]]'),
                   float)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(w @ xs[0], reference(xs[0], xs[0], qs[0], p), rtol=1e-4,
                               atol=1e-5)


def test_gradients_equal_finite_differences():
    s = session(LAYER.format(n=4, m=3))
    p = arrays(s)
    rng = np.random.default_rng(3)
    x, q = rng.standard_normal((4, 2)), rng.standard_normal((3, 3))
    seed = rng.standard_normal((3, 2))
    assoc = (f'<|"Input" -> {wl(x)}, "Query" -> {wl(q)}, '
             f'NetPortGradient["Output"] -> {wl(seed)}|>')

    def loss():
        return float(np.sum(seed * reference(x, x, q, p)))

    for port, value in (("Input", x), ("Query", q)):
        got = np.asarray(s.evaluate(f'a[{assoc}, NetPortGradient["{port}"]]'), float)
        np.testing.assert_allclose(got, numeric(loss, value), rtol=2e-3, atol=2e-4)
    for i, name, short in ((1, "Weights", "1W"), (2, "Biases", "2B")):
        got = np.asarray(s.evaluate(f'a[{assoc}, NetPortGradient[{{"ScoringNet", {i}, '
                                    f'"{name}"}}]]'), float)
        np.testing.assert_allclose(got, numeric(loss, p[short]), rtol=2e-3, atol=2e-4)


@pytest.mark.parametrize("fmt", ["wl", "safetensors"])
def test_text_and_net_files_round_trip(fmt, tmp_path):
    s = session(LAYER.format(n='"Varying"', m=3))
    s.evaluate('g = NetGraph[<|"att" -> a|>, {}]')
    assert s.evaluate("a").input_form().startswith("SequenceAttentionLayer[NetGraph[")
    load = "Get" if fmt == "wl" else "Import"
    assert str(s.evaluate(f'{load}[Export["{tmp_path}/a.{fmt}", g]] === g')) == "True"
    again = s.evaluate(f'{load}["{tmp_path}/a.{fmt}"]')
    rng = np.random.default_rng(4)
    x = {"Input": rng.standard_normal((4, 2)), "Query": rng.standard_normal((3, 3))}
    np.testing.assert_allclose(again(x), s.evaluate("g")(x), rtol=1e-6)


@pytest.mark.parametrize("text, tag, words", [
    ("SequenceAttentionLayer[LinearLayer[2]]", "invscnet",
     'The scoring net of SequenceAttentionLayer (LinearLayer) must have the input ports'),
    ('SequenceAttentionLayer[sc, "Weights" -> {{1.}}]', "invarr",
     'SequenceAttentionLayer[net] has no array "Weights"'),
    ('Export["x.onnx", NetInitialize@SequenceAttentionLayer[sc, "Input" -> {3, 2}, '
     '"Query" -> {2, 3}]]', "onnxnosup", "SequenceAttentionLayer cannot be exported"),
])
def test_errors(text, tag, words):
    if tag == "onnxnosup":
        pytest.importorskip("onnx")
    s = session(LAYER.format(n=5, m=3))
    with pytest.raises(NetDSLError) as e:
        s.evaluate(text)
    assert e.value.tag == tag, e.value.text
    assert words in e.value.text
