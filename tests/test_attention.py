"""AttentionLayer and SequenceAttentionLayer: shapes as Wolfram's layer definitions give them
(the output sizes of the paclet's "Tests:" blocks), forward against the formula written here
as naive loops over queries and keys, backward against float64 central differences, Train
mode dropout, and batches of different lengths against each example alone.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError
from netdsl.layers.shapes import LengthVar
from tests.layer_harness import build, check_gradients, forward, make_arrays, to_batch_last


def softmax(s):
    e = np.exp(s - s.max())
    return e / e.sum()


def attention_ref(keys, values, queries, weights=None, causal=False, rescaling=None,
                  window=None):
    """One example, one head: keys {L.., k}, values {L.., v}, queries {M.., q} (or {q});
    ``window``: "Causal" -> window (query i sees keys i - window < j <= i)."""
    causal = causal or window is not None
    kshape, qshape = keys.shape, queries.shape
    keys = keys.reshape(-1, kshape[-1])
    values = values.reshape(-1, values.shape[-1])
    qs = queries.reshape(-1, qshape[-1])
    out = []
    for i, q in enumerate(qs):
        s = []
        for j, k in enumerate(keys):
            score = q @ (k if weights is None else weights @ k)
            seen = min(i + 1, window or len(keys)) if causal else len(keys)
            if rescaling == "LengthSqrt":
                score /= np.sqrt(seen)
            elif rescaling == "DimensionSqrt":
                score /= np.sqrt(len(q))
            hidden = causal and (j > i or window is not None and j <= i - window)
            s.append(-np.inf if hidden else score)
        w = softmax(np.array(s))
        out.append(sum(w[j] * values[j] for j in range(len(values))))
    return np.array(out).reshape(qshape[:-1] + (values.shape[-1],))


def multihead_ref(keys, values, queries, **kw):
    """Each head (the level before the channels) attends on its own."""
    h = keys.shape[-2]
    outs = [attention_ref(keys[..., i, :], values[..., i, :], queries[..., i, :], **kw)
            for i in range(h)]
    return np.stack(outs, axis=-2)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------- shapes (Wolfram's Tests:)
# {layer text, expected Output shape}: sizes from the paclet's AttentionLayer tests
SHAPES = [
    ('"Dot", "Value" -> {3, 5}, "Query" -> {2, 3}', (2, 5)),
    ('"Bilinear", "Key" -> {2, 5}, "Value" -> {2, 3}, "Query" -> {3, 4}', (3, 3)),
    ('"Dot", "Query" -> {2, 3, 4}, "Key" -> {5, 6, 4}, "Value" -> {5, 6, 3}', (2, 3, 3)),
    ('"Dot", "Mask" -> "Causal", "ScoreRescaling" -> "LengthSqrt", "Value" -> {6, 5}, '
     '"Query" -> {6, 5}', (6, 5)),
    ('"Bilinear", "Mask" -> "Causal", "Key" -> {Automatic, 4}, "Value" -> {5, 5}, '
     '"Query" -> {5, 3}', (5, 5)),
    ('"Dot", "ScoreRescaling" -> "LengthSqrt", "Value" -> {5, 5}, "Query" -> {2, 3}', (2, 5)),
]


@pytest.mark.parametrize("args,out", SHAPES)
def test_output_shapes_as_wolfram(args, out):
    layer = build(f"AttentionLayer[{args}]")
    assert layer.ports["Output"].shape == out


def test_default_is_bilinear_with_weights_query_by_key():
    layer = build('AttentionLayer["Key" -> {2, 5}, "Value" -> {2, 3}, "Query" -> {3, 4}]')
    assert layer.values["ScoringNet"] == "Bilinear"
    assert layer.array_shapes()["Weights"] == (4, 5)
    dot = build('AttentionLayer["Dot", "Key" -> {2, 4}, "Value" -> {2, 3}, "Query" -> {3, 4}]')
    assert [spec.name for spec, _, _ in dot.array_slots()] == []


def test_varying_lengths_keys_share_queries_do_not():
    layer = build('AttentionLayer["Dot", "Value" -> {"Varying", 5}, "Query" -> {"Varying", 3}]')
    k, v, q, o = (layer.ports[p].shape for p in ("Key", "Value", "Query", "Output"))
    assert isinstance(k[0], LengthVar) and k == (v[0], 3) and v[1] == 5
    assert q[0] is o[0] and q[0] is not k[0] and o[1] == 5


def test_causal_mask_ties_the_query_length_to_the_keys():
    layer = build('AttentionLayer["Dot", "Mask" -> "Causal", "Value" -> {"Varying", 5}, '
                  '"Query" -> {"Varying", 5}]')
    assert layer.ports["Query"].shape[0] is layer.ports["Key"].shape[0]


def test_multihead_shapes():
    layer = build('AttentionLayer["Dot", "MultiHead" -> True, "Key" -> {"Varying", 2, 4}, '
                  '"Value" -> {"Varying", 2, 3}, "Query" -> {7, 2, 4}]')
    assert layer.ports["Output"].shape == (7, 2, 3)


@pytest.mark.parametrize("args,message", [
    ('"Dot", "Key" -> {3, 4}, "Value" -> {3, 3}, "Query" -> {4, 3}',
     "cannot take dot product of arrays with shapes 4 and 3"),
    ('"Dot", "Value" -> {5}, "Query" -> {5, 4}',
     'Specification {5} is not compatible with port "Value", which must be an array of '
     "rank \u2265 2"),
    ('"Mask" -> "Causal", "Value" -> {6, 4}, "Query" -> {5, 3}', "inconsistent"),
    ('"Dot", "Mask" -> "Causal", "Key" -> {5, 4, 2}, "Query" -> {5, 4, 2}', "rank 2"),
    ('"Dot", "Mask" -> "gnark"', 'expected None, "Causal" or "Causal" -> n'),
    ('"Dot", "Mask" -> ("Causal" -> 0)', 'expected None, "Causal" or "Causal" -> n'),
    ('"Dot", "Input" -> {"Varying", 2}', "not a known parameter"),
    ('"Dot", "Key" -> {2, 4}, "Value" -> {3, 3}, "Query" -> {4}', "inconsistent"),
    ('"Dot", "MultiHead" -> True, "Key" -> {5, 2, 4}, "Value" -> {5, 3, 4}', "inconsistent"),
    ('"Dot", "Weights" -> {{1., 2.}, {3., 4.}}', 'no array "Weights"'),
    ('"Bilinear", "Weights" -> None', "cannot be None"),
    ('"Dot", "Dropout" -> 1', "below 1"),
    ('NetChain[{LinearLayer[2]}]', "not supported yet"),
])
def test_bad_attention_layers_say_what_is_wrong(args, message):
    with pytest.raises(NetDSLError, match="AttentionLayer") as e:
        netdsl.evaluate(f"AttentionLayer[{args}]")
    assert message in str(e.value)


def test_summary_and_input_form_round_trip():
    for mask in ('"Causal"', '"Causal" -> 2'):
        text = (f'AttentionLayer["Dot", "Mask" -> {mask}, "ScoreRescaling" -> "DimensionSqrt", '
                '"Key" -> {4, 3}, "Value" -> {4, 2}, "Query" -> {4, 3}]')
        layer = build(text)
        again = build(layer.input_form())
        assert again == layer and mask in layer.input_form()
        assert "Causal" in layer.output_form()


# ---------------------------------------------------------------- forward = the formula
CASES = [  # (options, key shape, value shape, query shape) per example
    ('"Dot"', (5, 3), (5, 4), (2, 3)),
    ('"Bilinear"', (5, 3), (5, 4), (2, 6)),
    ('"Dot"', (5, 3), (5, 4), (3,)),
    ('"Bilinear", "ScoreRescaling" -> "LengthSqrt"', (2, 3, 3), (2, 3, 4), (2, 2, 6)),
    ('"Dot", "ScoreRescaling" -> "DimensionSqrt"', (4, 3), (4, 2), (6, 3)),
    ('"Dot", "Mask" -> "Causal"', (4, 3), (4, 2), (4, 3)),
    ('"Bilinear", "Mask" -> "Causal", "ScoreRescaling" -> "LengthSqrt"', (5, 3), (5, 2), (5, 4)),
    ('"Dot", "Mask" -> ("Causal" -> 2)', (5, 3), (5, 2), (5, 3)),
    ('"Bilinear", "Mask" -> ("Causal" -> 3), "ScoreRescaling" -> "LengthSqrt"', (6, 3), (6, 2),
     (6, 4)),
]


def _layer(opts, ks, vs, qs, multi=False):
    def spec(s):
        return "{" + ", ".join(map(str, s)) + "}"
    mh = ', "MultiHead" -> True' if multi else ""
    return build(f'AttentionLayer[{opts}{mh}, "Key" -> {spec(ks)}, "Value" -> {spec(vs)}, '
                 f'"Query" -> {spec(qs)}]')


def _kw(opts):
    found = re.search(r'"Causal" -> (\d+)', opts)
    window = int(found.group(1)) if found else None
    return {"causal": "Causal" in opts, "window": window,
            "rescaling": "LengthSqrt" if "LengthSqrt" in opts else
            "DimensionSqrt" if "DimensionSqrt" in opts else None}


@pytest.mark.parametrize("opts,ks,vs,qs", CASES)
def test_forward_equals_the_formula(opts, ks, vs, qs):
    layer = _layer(opts, ks, vs, qs)
    a = make_arrays(layer, seed=1)
    keys, values, queries = rand(3, *ks, seed=2), rand(3, *vs, seed=3), rand(3, *qs, seed=4)
    y, = forward(layer, a, keys, values, queries, dtype=np.float64)
    for i in range(3):
        want = attention_ref(keys[i], values[i], queries[i], a.get("Weights"), **_kw(opts))
        np.testing.assert_allclose(y[i], want, rtol=1e-6, atol=1e-7)   # arrays float32


@pytest.mark.parametrize("opts", ['"Dot"', '"Bilinear", "Mask" -> "Causal", '
                                  '"ScoreRescaling" -> "DimensionSqrt"'])
def test_multihead_forward_each_head_alone(opts):
    layer = _layer(opts, (4, 2, 3), (4, 2, 5), (4, 2, 3), multi=True)
    a = make_arrays(layer, seed=1)
    keys, values, queries = rand(2, 4, 2, 3, seed=5), rand(2, 4, 2, 5, seed=6), \
        rand(2, 4, 2, 3, seed=7)
    y, = forward(layer, a, keys, values, queries, dtype=np.float64)
    for i in range(2):
        want = multihead_ref(keys[i], values[i], queries[i], weights=a.get("Weights"),
                             **_kw(opts))
        np.testing.assert_allclose(y[i], want, rtol=1e-6, atol=1e-7)   # arrays float32


def test_float32_in_float32_out():
    layer = _layer('"Bilinear"', (5, 3), (5, 4), (2, 6))
    y, = forward(layer, make_arrays(layer), rand(2, 5, 3), rand(2, 5, 4), rand(2, 2, 6))
    assert y.dtype == np.float32 and y.shape == (2, 2, 4)


# ---------------------------------------------------------------- backward = differences
@pytest.mark.parametrize("opts,ks,vs,qs", CASES)
def test_backward_equals_finite_differences(opts, ks, vs, qs):
    layer = _layer(opts, ks, vs, qs)
    a = make_arrays(layer, seed=1)
    xs = [to_batch_last(rand(2, *s, seed=i)) for i, s in enumerate((ks, vs, qs))]
    check_gradients(layer, a, xs, tol=1e-6)


def test_multihead_backward():
    layer = _layer('"Bilinear", "Mask" -> "Causal"', (3, 2, 3), (3, 2, 2), (3, 2, 4),
                   multi=True)
    xs = [to_batch_last(rand(2, *s, seed=i))
          for i, s in enumerate(((3, 2, 3), (3, 2, 2), (3, 2, 4)))]
    check_gradients(layer, make_arrays(layer, seed=2), xs, tol=1e-6)


def test_dropout_backward_in_train_mode():
    layer = _layer('"Dot", "Dropout" -> 0.3', (4, 3), (4, 2), (3, 3))
    xs = [to_batch_last(rand(2, *s, seed=i)) for i, s in enumerate(((4, 3), (4, 2), (3, 3)))]
    check_gradients(layer, {}, xs, train=True, seed=5, tol=1e-6)


# ---------------------------------------------------------------- Train and Test mode
def test_dropout_only_in_train_mode():
    layer = _layer('"Dot", "Dropout" -> 0.5', (6, 3), (6, 2), (4, 3))
    xs = (rand(8, 6, 3, seed=1), rand(8, 6, 2, seed=2), rand(8, 4, 3, seed=3))
    test, = forward(layer, {}, *xs, dtype=np.float64)
    plain, = forward(_layer('"Dot"', (6, 3), (6, 2), (4, 3)), {}, *xs, dtype=np.float64)
    np.testing.assert_allclose(test, plain)
    train, = forward(layer, {}, *xs, train=True, seed=1, dtype=np.float64)
    assert not np.allclose(train, test)
    # each output is a sum of values with weights att/(1 - p) or 0: recover which by
    # checking against the formula with the same keep mask
    again, = forward(layer, {}, *xs, train=True, seed=1, dtype=np.float64)
    np.testing.assert_array_equal(train, again)     # one seed, one mask


def test_train_mode_without_dropout_equals_test_mode():
    layer = _layer('"Bilinear"', (4, 3), (4, 2), (2, 5))
    a = make_arrays(layer)
    xs = (rand(2, 4, 3), rand(2, 4, 2), rand(2, 2, 5))
    np.testing.assert_array_equal(forward(layer, a, *xs, train=True)[0],
                                  forward(layer, a, *xs)[0])


# ---------------------------------------------------------------- ragged batches, nets
def test_ragged_batch_equals_each_example_alone():
    layer = netdsl.evaluate('NetInitialize[AttentionLayer["Bilinear", "ScoreRescaling" -> '
                            '"LengthSqrt", "Key" -> {"Varying", 3}, "Value" -> {"Varying", 2}, '
                            '"Query" -> {"Varying", 4}], RandomSeeding -> 3]')
    rng = np.random.default_rng(0)
    lengths = [(3, 2), (5, 1), (3, 2), (1, 4), (5, 3)]
    examples = [{"Key": rng.standard_normal((n, 3)), "Value": rng.standard_normal((n, 2)),
                 "Query": rng.standard_normal((m, 4))} for n, m in lengths]
    batch = layer({p: [e[p] for e in examples] for p in ("Key", "Value", "Query")})
    for e, y in zip(examples, batch):
        alone = layer(e)
        assert alone.shape == (e["Query"].shape[0], 2)
        np.testing.assert_allclose(y, alone, rtol=1e-6, atol=1e-7)
        want = attention_ref(e["Key"], e["Value"], e["Query"],
                             layer.array_value("Weights").astype(np.float64),
                             rescaling="LengthSqrt")
        np.testing.assert_allclose(alone, want, rtol=1e-4, atol=1e-5)


def test_causal_self_attention_in_a_graph_on_ragged_batches():
    net = netdsl.evaluate(
        'NetInitialize[NetGraph[<|"emb" -> EmbeddingLayer[4, 9, "Input" -> "Varying"], '
        '"att" -> AttentionLayer["Dot", "Mask" -> "Causal"], "last" -> SequenceLastLayer[]|>, '
        '{"emb" -> NetPort["att", "Key"], "emb" -> NetPort["att", "Value"], '
        '"emb" -> NetPort["att", "Query"], "att" -> "last"}], RandomSeeding -> 2]')
    seqs = [np.array([1, 2, 3]), np.array([4, 5]), np.array([6, 7, 8, 9]), np.array([1, 1])]
    batch = net(seqs)
    for s, y in zip(seqs, batch):
        np.testing.assert_allclose(y, net(s), rtol=1e-6, atol=1e-7)
    # causal: the output at step 1 depends on token 1 only
    first = netdsl.evaluate('NetInitialize[NetGraph[<|"emb" -> EmbeddingLayer[4, 9, "Input" '
                            '-> "Varying"], "att" -> AttentionLayer["Dot", "Mask" -> '
                            '"Causal"]|>, {"emb" -> NetPort["att", "Key"], "emb" -> '
                            'NetPort["att", "Value"], "emb" -> NetPort["att", "Query"]}], '
                            'RandomSeeding -> 2]')
    a, b = first(np.array([3, 1, 2])), first(np.array([3, 8, 8, 5]))
    np.testing.assert_allclose(a[0], b[0], rtol=1e-6)


def test_trains_in_a_net():
    out = netdsl.evaluate(
        'net = NetGraph[<|"att" -> AttentionLayer["Key" -> {3, 2}, "Value" -> {3, 2}, '
        '"Query" -> {2}]|>, {}]; '
        'data = Table[<|"Key" -> {{1., 0.}, {0., 1.}, {1., 1.}}, "Value" -> {{1., 0.}, '
        '{0., 1.}, {0., 0.}}, "Query" -> {1., 0.}, "Output" -> {1., 0.}|>, 4]; '
        't = NetTrain[net, data, MaxTrainingRounds -> 300, RandomSeeding -> 1, '
        'LearningRate -> 0.05]; '
        't[<|"Key" -> {{1., 0.}, {0., 1.}, {1., 1.}}, "Value" -> {{1., 0.}, {0., 1.}, '
        '{0., 0.}}, "Query" -> {1., 0.}|>]')
    np.testing.assert_allclose(np.asarray(out, float), [1.0, 0.0], atol=0.15)


# ---------------------------------------------------------------- SequenceAttentionLayer
def test_sequence_attention_shapes_as_wolfram():
    cases = {'"Dot", "Input" -> {2, 5}, "Query" -> {3, 5}': (3, 5),
             '"Bilinear", "Input" -> {7, 4}, "Query" -> {3, 5}': (3, 4)}
    for args, out in cases.items():
        assert build(f"SequenceAttentionLayer[{args}]").ports["Output"].shape == out
    layer = build('SequenceAttentionLayer["Input" -> {"Varying", 2}, "Query" -> {"Varying", 7}]')
    assert layer.array_shapes()["Weights"] == (7, 2)
    x, q, o = (layer.ports[p].shape for p in ("Input", "Query", "Output"))
    assert q[0] is o[0] and x[0] is not q[0] and o[1] == 2
    alone = build("SequenceAttentionLayer[]")
    assert alone.values["ScoringNet"] == "Bilinear"


@pytest.mark.parametrize("scoring", ["Dot", "Bilinear"])
def test_sequence_attention_is_attention_with_input_as_keys_and_values(scoring):
    q = 3 if scoring == "Dot" else 5
    layer = build(f'SequenceAttentionLayer["{scoring}", "Input" -> {{4, 3}}, '
                  f'"Query" -> {{2, {q}}}]')
    a = make_arrays(layer, seed=1)
    x, queries = rand(3, 4, 3, seed=2), rand(3, 2, q, seed=3)
    y, = forward(layer, a, x, queries, dtype=np.float64)
    for i in range(3):
        np.testing.assert_allclose(y[i], attention_ref(x[i], x[i], queries[i], a.get("Weights")),
                                   rtol=1e-6)
    check_gradients(layer, a, [to_batch_last(x[:2]), to_batch_last(queries[:2])], tol=1e-6)


def test_sequence_attention_errors():
    with pytest.raises(NetDSLError, match="cannot take dot product"):
        netdsl.evaluate('SequenceAttentionLayer["Dot", "Input" -> {2, 5}, "Query" -> {3, 4}]')
    with pytest.raises(NetDSLError, match="not a known parameter"):
        netdsl.evaluate('SequenceAttentionLayer["Key" -> {2, 5}]')


def test_all_option_combinations_build():
    for opts in itertools.product(['"Dot"', '"Bilinear"'], ["None", '"Causal"', '"Causal" -> 2'],
                                  ["None", '"LengthSqrt"', '"DimensionSqrt"'],
                                  ["False", "True"]):
        scoring, mask, rescale, mh = opts
        heads = ", 2" if mh == "True" else ""
        layer = build(f'AttentionLayer[{scoring}, "Mask" -> {mask}, "ScoreRescaling" -> '
                      f'{rescale}, "MultiHead" -> {mh}, "Key" -> {{4{heads}, 3}}, '
                      f'"Value" -> {{4{heads}, 2}}, "Query" -> {{4{heads}, 3}}]')
        assert layer.ports["Output"].shape == (4,) + ((2,) if heads else ()) + (2,)


def test_multihead_single_query_per_head():
    layer = _layer('"Bilinear"', (5, 2, 3), (5, 2, 4), (2, 6), multi=True)
    assert layer.ports["Output"].shape == (2, 4)
    a = make_arrays(layer, seed=3)
    keys, values, queries = rand(2, 5, 2, 3, seed=1), rand(2, 5, 2, 4, seed=2), \
        rand(2, 2, 6, seed=3)
    y, = forward(layer, a, keys, values, queries, dtype=np.float64)
    for i in range(2):
        want = multihead_ref(keys[i], values[i], queries[i][None], weights=a["Weights"])[0]
        np.testing.assert_allclose(y[i], want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("text", [
    'AttentionLayer["Mask" -> ("Causal" -> 2), "MultiHead" -> True, "Dropout" -> 0.1, '
    '"ScoreRescaling" -> "LengthSqrt", "Key" -> {4, 2, 3}, "Value" -> {4, 2, 4}, '
    '"Query" -> {4, 2, 5}]',
    'SequenceAttentionLayer["Input" -> {5, 3}, "Query" -> {4, 2}]'])
def test_net_files_round_trip(text, tmp_path):
    same = netdsl.evaluate(
        f'net = NetInitialize@NetGraph[<|"att" -> {text}|>, {{}}]; '
        f'{{Import[Export["{tmp_path}/a.safetensors", net]] === net, '
        f'Get[Export["{tmp_path}/a.wl", net]] === net}}')
    assert [str(v) for v in same.args] == ["True", "True"]
