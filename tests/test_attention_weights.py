"""The "AttentionWeights" port of AttentionLayer and SequenceAttentionLayer: shown only
when read, its shape ({query positions, [heads], key positions}, Wolfram's order), its
values against the softmax written here, its gradient when a loss uses it (float64 central
differences), and batches of different lengths against each example alone.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from netdsl.check import check_text
from netdsl.errors import NetDSLError
from netdsl.session import Session
from tests.layer_harness import build, check_gradients, forward, make_arrays, to_batch_last


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def softmax_rows(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def weights_ref(keys, queries, w=None, causal=False, rescaling=None):
    """One example, one head: softmax over keys j of q_i . (W k_j), as (M, L)."""
    keys = keys.reshape(-1, keys.shape[-1])
    qs = queries.reshape(-1, queries.shape[-1])
    kp = keys if w is None else keys @ w.T
    s = qs @ kp.T
    if rescaling == "DimensionSqrt":
        s = s / np.sqrt(qs.shape[-1])
    if causal:
        s = np.where(np.arange(s.shape[1])[None, :] > np.arange(s.shape[0])[:, None], -np.inf, s)
    return softmax_rows(s)


def shown(layer):
    return layer.with_optional_ports((), ("AttentionWeights",))


# ---------------------------------------------------------------- shapes
@pytest.mark.parametrize("args,dims", [
    ('"Key" -> {4, 3}, "Value" -> {4, 2}, "Query" -> {2, 5}', (2, 4)),
    ('"Dot", "Key" -> {4, 3}, "Query" -> {3}', (1, 4)),                  # a lone query: {1, n}
    ('"Dot", "Key" -> {5, 6, 4}, "Value" -> {5, 6, 3}, "Query" -> {2, 3, 4}', (2, 3, 5, 6)),
    ('"Dot", "MultiHead" -> True, "Key" -> {4, 2, 3}, "Value" -> {4, 2, 3}, '
     '"Query" -> {6, 2, 3}', (6, 2, 4)),
    ('"Dot", "Mask" -> "Causal", "Key" -> {5, 3}, "Value" -> {5, 2}, "Query" -> {5, 3}', (5, 5)),
])
def test_weights_shape_is_queries_heads_keys(args, dims):
    layer = build(f"AttentionLayer[{args}]")
    assert "AttentionWeights" not in layer.port_names()[1]      # shown only when read
    assert shown(layer).ports["AttentionWeights"].shape == dims
    assert shown(layer).port_names()[1] == ("Output", "AttentionWeights")


def test_varying_lengths_carry_to_the_weights():
    layer = shown(build('AttentionLayer["Dot", "Key" -> {"Varying", 3}, "Query" -> {"Varying", 3}]'))
    k, q, w = (layer.ports[p].shape for p in ("Key", "Query", "AttentionWeights"))
    assert w[0] is q[0] and w[1] is k[0] and w[0] is not w[1]
    seq = shown(build('SequenceAttentionLayer["Input" -> {"Varying", 2}, "Query" -> {3, 7}]'))
    assert seq.ports["AttentionWeights"].shape[0] == 3
    assert seq.ports["AttentionWeights"].shape[1] is seq.ports["Input"].shape[0]


# ---------------------------------------------------------------- values
@pytest.mark.parametrize("opts,causal,rescaling", [
    ('"Bilinear"', False, None), ('"Dot", "Mask" -> "Causal"', True, None),
    ('"Bilinear", "ScoreRescaling" -> "DimensionSqrt"', False, "DimensionSqrt")])
def test_weights_equal_the_softmax_of_the_scores(opts, causal, rescaling):
    layer = shown(build(f'AttentionLayer[{opts}, "Key" -> {{4, 3}}, "Value" -> {{4, 2}}, '
                        f'"Query" -> {{4, 3}}]'))
    a = make_arrays(layer, seed=1)
    keys, values, queries = rand(3, 4, 3, seed=2), rand(3, 4, 2, seed=3), rand(3, 4, 3, seed=4)
    y, att = forward(layer, a, keys, values, queries, dtype=np.float64)
    for i in range(3):
        want = weights_ref(keys[i], queries[i], a.get("Weights"), causal, rescaling)
        np.testing.assert_allclose(att[i], want, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(y[i], want @ values[i], rtol=1e-6, atol=1e-8)


def test_multihead_weights_each_head_alone():
    layer = shown(build('AttentionLayer["Dot", "MultiHead" -> True, "Key" -> {4, 2, 3}, '
                        '"Value" -> {4, 2, 3}, "Query" -> {5, 2, 3}]'))
    keys, values, queries = rand(2, 4, 2, 3, seed=1), rand(2, 4, 2, 3, seed=2), \
        rand(2, 5, 2, 3, seed=3)
    _, att = forward(layer, {}, keys, values, queries, dtype=np.float64)
    assert att.shape == (2, 5, 2, 4)
    for i in range(2):
        for h in range(2):
            np.testing.assert_allclose(att[i, :, h], weights_ref(keys[i, :, h], queries[i, :, h]),
                                       rtol=1e-6)


def test_weights_of_keys_of_rank_three_and_a_lone_query():
    layer = shown(build('AttentionLayer["Dot", "Key" -> {2, 3, 4}, "Value" -> {2, 3, 2}, '
                        '"Query" -> {4}]'))
    keys, values, q = rand(2, 2, 3, 4, seed=1), rand(2, 2, 3, 2, seed=2), rand(2, 4, seed=3)
    _, att = forward(layer, {}, keys, values, q, dtype=np.float64)
    assert att.shape == (2, 1, 2, 3)
    for i in range(2):
        np.testing.assert_allclose(att[i].reshape(1, 6), weights_ref(keys[i], q[i][None]),
                                   rtol=1e-6)


def test_sequence_attention_weights():
    layer = shown(build('SequenceAttentionLayer["Input" -> {5, 3}, "Query" -> {2, 4}]'))
    a = make_arrays(layer, seed=1)
    x, q = rand(3, 5, 3, seed=2), rand(3, 2, 4, seed=3)
    _, att = forward(layer, a, x, q, dtype=np.float64)
    for i in range(3):
        np.testing.assert_allclose(att[i], weights_ref(x[i], q[i], a["Weights"]), rtol=1e-6)
    check_gradients(layer, a, [to_batch_last(x[:2]), to_batch_last(q[:2])], tol=1e-6)


# ---------------------------------------------------------------- gradients through them
@pytest.mark.parametrize("opts,multi", [('"Bilinear"', False),
                                        ('"Dot", "Mask" -> "Causal", '
                                         '"ScoreRescaling" -> "LengthSqrt"', False),
                                        ('"Bilinear", "MultiHead" -> True', True)])
def test_backward_through_the_weights_equals_finite_differences(opts, multi):
    h = (2,) if multi else ()
    ks, vs, qs = (3,) + h + (3,), (3,) + h + (2,), (3,) + h + (3,)
    layer = shown(build(f'AttentionLayer[{opts}, "Key" -> {{{", ".join(map(str, ks))}}}, '
                        f'"Value" -> {{{", ".join(map(str, vs))}}}, '
                        f'"Query" -> {{{", ".join(map(str, qs))}}}]'))
    xs = [to_batch_last(rand(2, *s, seed=i)) for i, s in enumerate((ks, vs, qs))]
    # the loss weighs both outputs: Output and AttentionWeights
    check_gradients(layer, make_arrays(layer, seed=2), xs, tol=1e-6)


def test_dropout_is_not_in_the_weights_but_their_gradient_is_right():
    layer = shown(build('AttentionLayer["Dot", "Dropout" -> 0.3, "Key" -> {4, 3}, '
                        '"Value" -> {4, 2}, "Query" -> {3, 3}]'))
    xs = (rand(2, 4, 3, seed=1), rand(2, 4, 2, seed=2), rand(2, 3, 3, seed=3))
    _, att = forward(layer, {}, *xs, train=True, seed=4, dtype=np.float64)
    np.testing.assert_allclose(att.sum(-1), 1.0)
    check_gradients(layer, {}, [to_batch_last(x) for x in xs], train=True, seed=5, tol=1e-6)


# ---------------------------------------------------------------- in nets
GRAPH = ('g = NetInitialize[NetGraph[<|"att" -> AttentionLayer["Key" -> {"Varying", 3}, '
         '"Value" -> {"Varying", 2}, "Query" -> {"Varying", 4}]|>, '
         '{NetPort[{"att", "AttentionWeights"}] -> NetPort["w"]}], RandomSeeding -> 1]')


def test_read_from_a_layer_alone_and_from_a_graph():
    s = Session()
    s.evaluate(GRAPH)
    s.evaluate('a = NetExtract[g, "att"]')
    data = ('<|"Key" -> {{1., 2., 3.}, {1., 0., 0.}, {0., 1., 0.}}, "Value" -> {{1., 2.}, '
            '{3., 4.}, {5., 6.}}, "Query" -> {{1., 1., 1., 0.}, {0., 0., 1., 2.}}|>')
    both = s.evaluate(f"g[{data}]")
    w = np.asarray(s.evaluate(f'g[{data}, "w"]'), float)
    assert w.shape == (2, 3)
    np.testing.assert_allclose(np.asarray(s.evaluate(f'a[{data}, "AttentionWeights"]'), float), w)
    np.testing.assert_allclose(
        np.asarray(s.evaluate(f'a[{data}, NetPort["AttentionWeights"]]'), float), w)
    weights = np.asarray(s.evaluate('NetExtract[a, "Weights"]'), float)
    keys = np.array([[1., 2., 3.], [1., 0., 0.], [0., 1., 0.]])
    queries = np.array([[1., 1., 1., 0.], [0., 0., 1., 2.]])
    np.testing.assert_allclose(w, weights_ref(keys, queries, weights), rtol=1e-5)
    assert "w" in str(both) and "Output" in str(both)
    # from Python
    a = s.evaluate("a")
    py = a({"Key": keys, "Value": np.array([[1., 2.], [3., 4.], [5., 6.]]), "Query": queries},
           port="AttentionWeights")
    np.testing.assert_allclose(py, w, rtol=1e-6)
    # not a recurrent state
    assert str(s.evaluate('Information[g, "RecurrentStatesPositionList"]')) == "{}"


def test_ragged_batch_weights_are_each_examples_own():
    net = Session().evaluate(GRAPH)
    rng = np.random.default_rng(0)
    lengths = [(3, 2), (5, 1), (3, 2), (1, 4)]
    examples = [{"Key": rng.standard_normal((n, 3)), "Value": rng.standard_normal((n, 2)),
                 "Query": rng.standard_normal((m, 4))} for n, m in lengths]
    batch = net({p: [e[p] for e in examples] for p in ("Key", "Value", "Query")}, port="w")
    w = [layer for _, layer in net.leaves()][0].array_value("Weights").astype(np.float64)
    for e, got in zip(examples, batch):
        assert got.shape == (e["Query"].shape[0], e["Key"].shape[0])
        np.testing.assert_allclose(got, weights_ref(e["Key"], e["Query"], w), rtol=1e-5,
                                   atol=1e-7)
        np.testing.assert_allclose(got, net(e, port="w"), rtol=1e-6)


LOSS_GRAPH = ('g = NetInitialize[NetGraph[<|"att" -> AttentionLayer["Key" -> {3, 2}, '
              '"Value" -> {3, 2}, "Query" -> {1, 2}], "flat" -> FlattenLayer[], '
              '"loss" -> MeanSquaredLossLayer[]|>, {NetPort[{"att", "AttentionWeights"}] -> '
              '"flat" -> NetPort["loss", "Input"], "loss" -> NetPort["Loss"]}, "Target" -> 3], '
              'RandomSeeding -> 2]')
KEYS = np.array([[1., 0.], [0., 1.], [1., 1.]])


def test_a_loss_on_the_weights_has_their_gradient_and_trains():
    s = Session()
    g = s.evaluate(LOSS_GRAPH)
    example = {"Key": KEYS, "Value": KEYS, "Query": np.array([[1., -1.]]),
               "Target": np.array([1., 0., 0.])}
    w = [layer for _, layer in g.leaves()][0].array_value("Weights").astype(np.float64)

    def loss(query):
        att = weights_ref(KEYS, query, w)[0]
        return float(np.mean((att - example["Target"]) ** 2))

    assert float(g(example, port="Loss")) == pytest.approx(loss(example["Query"]), rel=1e-5)
    s.evaluate('t = NetTrain[g, {<|"Key" -> {{1., 0.}, {0., 1.}, {1., 1.}}, "Value" -> '
               '{{1., 0.}, {0., 1.}, {1., 1.}}, "Query" -> {{1., -1.}}, "Target" -> {1., 0., 0.}|>}, '
               'LossFunction -> "Loss", MaxTrainingRounds -> 300, RandomSeeding -> 1, '
               'LearningRate -> 0.1]')
    trained = s.evaluate("t")
    assert float(trained(example, port="Loss")) < 0.1 * loss(example["Query"])


def test_check_shows_the_weights_shape():
    out, err = io.StringIO(), io.StringIO()
    code = check_text(GRAPH + ";\n", "t.wl", out, err)
    assert code == 0, err.getvalue()
    assert '"w" matrix of dimensions {n, n}' in out.getvalue()


def test_states_of_a_net_do_not_include_the_weights():
    s = Session()
    s.evaluate(GRAPH)
    states = s.evaluate('g[<|"Key" -> {{1., 2., 3.}}, "Value" -> {{1., 2.}}, '
                        '"Query" -> {{1., 1., 1., 0.}}|>, NetPort[All, "States"]]')
    assert str(states) == "<||>"


def test_net_files_round_trip_a_graph_reading_the_weights(tmp_path):
    """The port "w" {n, n2} is written {"Varying", Automatic}: only a first dimension can
    be "Varying" in a spec; the second is inferred again."""
    s = Session()
    s.evaluate(GRAPH)
    same = s.evaluate(f'{{Import[Export["{tmp_path}/a.safetensors", g]] === g, '
                      f'Get[Export["{tmp_path}/a.wl", g]] === g}}')
    assert [str(v) for v in same.args] == ["True", "True"]


def test_onnx_export_of_a_net_reading_the_weights_is_an_onnxnosup_error():
    pytest.importorskip("onnx")
    from netdsl.formats.onnx_export import to_onnx
    g = Session().evaluate(GRAPH)
    with pytest.raises(NetDSLError) as e:
        to_onnx(g)
    assert e.value.tag == "onnxnosup" and '"AttentionWeights" port is read' in e.value.text
