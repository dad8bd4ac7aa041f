"""Export["net.onnx", net] for nets with sequence layers: one exported model, run in
onnxruntime and in onnx's reference evaluator on several sequence lengths, equals netdsl's
outputs (max abs error <= 1e-5); "Varying" lengths are symbolic ONNX dimensions."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="ONNX export tests need onnx: pip install 'netdsl[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="ONNX export tests need onnxruntime")
from onnx.reference import ReferenceEvaluator  # noqa: E402

from netdsl.formats import onnx_ops  # noqa: E402
from netdsl.formats.onnx_export import to_onnx  # noqa: E402
from tests.test_onnx_export import TOL, build  # noqa: E402

LENGTHS = (1, 2, 5, 9)


def _feeds(net, n: int, batch: int, rng) -> dict:
    feeds = {}
    for p in net.port_names()[0]:
        t = net.ports[p]
        shape = (batch,) + tuple(n if not isinstance(d, int) else d for d in t.shape)
        if t.integer:
            feeds[p] = rng.integers(1, (t.classes or 2) + 1, size=shape).astype(np.int64)
        else:
            feeds[p] = rng.normal(size=shape).astype(np.float32)
    return feeds


def check_lengths(net, lengths=LENGTHS, opset: int = 17, batch: int = 3):
    """One model for every length: onnxruntime and onnx.reference against netdsl."""
    model = to_onnx(net, opset)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = ReferenceEvaluator(model)
    outs = list(net.port_names()[1])
    rng = np.random.default_rng(5)
    for n in lengths:
        feeds = _feeds(net, n, batch, rng)
        x = feeds if len(feeds) > 1 else next(iter(feeds.values()))
        for p, got_ort, got_ref in zip(outs, sess.run(outs, feeds), ref.run(outs, feeds)):
            want = np.asarray(net(x, port=p) if len(outs) > 1 else net(x), np.float32)
            for got in (got_ort, got_ref):
                assert got.shape == want.shape, (n, p)
                err = float(np.max(np.abs(got - want)))
                assert err <= TOL * max(1.0, float(np.max(np.abs(want)))), (n, p, err)
    return model


RECURRENT = ["LongShortTermMemoryLayer[5]", "GatedRecurrentLayer[5]", "BasicRecurrentLayer[5]"]


@pytest.mark.parametrize("layer", RECURRENT)
def test_recurrent_layers_on_varying_lengths(layer):
    check_lengths(build(f'NetChain[{{{layer}}}, "Input" -> {{"Varying", 3}}]'))


@pytest.mark.parametrize("layer", RECURRENT)
def test_recurrent_layers_with_a_fixed_length(layer):
    check_lengths(build(f'NetChain[{{{layer}}}, "Input" -> {{6, 3}}]'), lengths=(6,))


@pytest.mark.parametrize("layer", RECURRENT)
def test_stacked_recurrent_layers_opset_13(layer):
    net = build(f'NetChain[{{{layer}, {layer.replace("5", "4")}}}, "Input" -> {{"Varying", 2}}]')
    check_lengths(net, opset=13)


@pytest.mark.parametrize("layer, lengths", [("SequenceLastLayer[]", LENGTHS),
                                            ("SequenceMostLayer[]", (2, 3, 7)),
                                            ("SequenceRestLayer[]", (2, 3, 7)),
                                            ("SequenceReverseLayer[]", LENGTHS)])
def test_sequence_layers(layer, lengths):
    check_lengths(build(f'NetChain[{{{layer}}}, "Input" -> {{"Varying", 2, 3}}]'), lengths)


@pytest.mark.parametrize("spec", ["1", "-1", "-2", "{1, -1}", "2 ;; -1", "1 ;; -2",
                                  "-3 ;; All", "1 ;; -1 ;; 2", "{-1, 2}"])
def test_parts_of_a_varying_sequence(spec):
    """Found by fuzzing: a position counted from the end of a "Varying" length raised a
    raw VaryingSize; ONNX's Gather and Slice count negative positions from the end."""
    check_lengths(build(f'NetChain[{{PartLayer[{spec}]}}, "Input" -> {{"Varying", 2}}]'),
                  (3, 4, 7))


def test_unit_vector_and_embedding_on_sequences():
    check_lengths(build('NetChain[{UnitVectorLayer[6, "Input" -> "Varying"], '
                        'GatedRecurrentLayer[4]}]'))
    check_lengths(build('NetChain[{EmbeddingLayer[4, 7, "Input" -> "Varying"], '
                        'BasicRecurrentLayer[3], SequenceReverseLayer[]}]'))
    check_lengths(build('UnitVectorLayer[5, "Input" -> {2, 3}]'), lengths=(0,))


def test_the_character_model_of_the_readme():
    net = build('NetChain[{EmbeddingLayer[16, 95, "Input" -> "Varying"], '
                'LongShortTermMemoryLayer[12], SequenceLastLayer[], LinearLayer[95], '
                'SoftmaxLayer[]}]')
    check_lengths(net)


def test_a_graph_of_sequence_layers():
    net = build('NetGraph[{LongShortTermMemoryLayer[4], SequenceReverseLayer[], '
                'GatedRecurrentLayer[4], SequenceReverseLayer[], CatenateLayer[2], '
                'SequenceMostLayer[], SequenceRestLayer[]}, '
                '{NetPort["Input"] -> 1, NetPort["Input"] -> 2 -> 3 -> 4, {1, 4} -> 5 -> 6 -> 7}, '
                '"Input" -> {"Varying", 3}]')
    check_lengths(net, lengths=(3, 6))


def _dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_varying_lengths_are_symbolic_dimensions():
    net = build('NetChain[{LongShortTermMemoryLayer[4], SequenceRestLayer[]}, '
                '"Input" -> {"Varying", 3}]')
    model = to_onnx(net)
    assert _dims(model.graph.input[0]) == ["N", "n", 3]
    assert _dims(model.graph.output[0]) == ["N", "n2", 4]       # a new, shorter length
    net = build('NetChain[{GatedRecurrentLayer[4]}, "Input" -> {"Varying", 3}]')
    model = to_onnx(net)
    assert _dims(model.graph.output[0]) == ["N", "n", 4]        # the same length
    assert [n.op_type for n in model.graph.node].count("GRU") == 1
    gru = next(n for n in model.graph.node if n.op_type == "GRU")
    assert {a.name: a.i for a in gru.attribute}["linear_before_reset"] == 1


def test_the_gru_mapping_is_the_only_one_that_fits():
    """Wolfram's GRU is ONNX's with linear_before_reset = 1 and the update gate negated;
    any other choice gives other numbers (so the test above can fail)."""
    net = build('NetChain[{GatedRecurrentLayer[5]}, "Input" -> {"Varying", 3}]')
    x = np.random.default_rng(0).normal(size=(3, 6, 3)).astype(np.float32)
    want = np.asarray(net(x))
    saved = onnx_ops.EXPORTERS["GatedRecurrentLayer"]
    try:
        for before_reset, negate in ((0, ("InputGate",)), (1, ()), (0, ())):
            onnx_ops.EXPORTERS["GatedRecurrentLayer"] = onnx_ops.recurrent(
                "GRU", ("InputGate", "ResetGate", "MemoryGate"), negate=negate,
                linear_before_reset=before_reset)
            sess = ort.InferenceSession(to_onnx(net).SerializeToString(),
                                        providers=["CPUExecutionProvider"])
            assert np.max(np.abs(sess.run(None, {"Input": x})[0] - want)) > 0.01
    finally:
        onnx_ops.EXPORTERS["GatedRecurrentLayer"] = saved


@pytest.mark.parametrize("text", [
    'NetGraph[{CatenateLayer[2]}, {{NetPort["a"], NetPort["b"]} -> 1}, "a" -> {4, 2}, '
    '"b" -> {4, 3}]',
    'NetGraph[{CatenateLayer[]}, {{NetPort["a"], NetPort["b"]} -> 1}, "a" -> {4, 2}, '
    '"b" -> {3, 2}]',
    'NetGraph[{CatenateLayer[-1]}, {{NetPort["a"], NetPort["b"]} -> 1}, "a" -> {4, 2}, '
    '"b" -> 3]'])
def test_catenate_at_its_level_and_with_lower_rank_inputs(text):
    """CatenateLayer[n] joins at level n (not always the first), and a lower-rank input is
    repeated along the leading levels it lacks (a vector joined to every step)."""
    check_lengths(build(text), lengths=(0,))


def test_replicate_keeps_a_varying_length():
    """ReplicateLayer on a sequence: Expand's target has 1 (the input's own size) where
    the length is "Varying". (netdsl's executor cannot run this net yet, so the reference
    is the formula: every copy is the input.)"""
    net = build('NetChain[{ReplicateLayer[3]}, "Input" -> {"Varying", 2}]')
    sess = ort.InferenceSession(to_onnx(net).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    for n in (1, 4):
        x = np.random.default_rng(n).normal(size=(2, n, 2)).astype(np.float32)
        np.testing.assert_array_equal(sess.run(None, {"Input": x})[0],
                                      np.repeat(x[:, None], 3, axis=1))


def test_a_fixed_size_where_the_length_varies_is_a_clean_error(monkeypatch):
    from netdsl.errors import NetDSLError
    monkeypatch.setitem(onnx_ops.EXPORTERS, "SequenceReverseLayer",
                        onnx_ops.reshape_like_output)
    net = build('NetChain[<|"rev" -> SequenceReverseLayer[]|>, "Input" -> {"Varying", 2}]')
    with pytest.raises(NetDSLError, match=r'SequenceReverseLayer .*rev.* cannot be exported to '
                                          r'ONNX: it needs a fixed size where the sequence '
                                          r'length is "Varying"'):
        to_onnx(net)


STATE_GRAPHS = [
    # the initial state from a port through a LinearLayer, the final states out
    ('NetGraph[<|"lin" -> LinearLayer[3], "r" -> LongShortTermMemoryLayer[3]|>, '
     '{NetPort["s0"] -> "lin" -> NetPort["r", "State"], NetPort["c0"] -> NetPort["r", '
     '"CellState"], NetPort["r", "State"] -> NetPort["final"], NetPort[{"r", "CellState"}] -> '
     'NetPort["cell"]}, "Input" -> {"Varying", 2}, "s0" -> 4, "c0" -> 3]'),
    ('NetGraph[<|"r" -> LongShortTermMemoryLayer[3]|>, {NetPort[{"r", "CellState"}] -> '
     'NetPort["cell"]}, "Input" -> {"Varying", 2}]'),
    ('NetGraph[<|"r" -> GatedRecurrentLayer[3], "t" -> Tanh|>, {NetPort["s0"] -> '
     'NetPort["r", "State"], NetPort["r", "State"] -> "t" -> NetPort["final"]}, '
     '"Input" -> {"Varying", 2}, "s0" -> 3]'),
    ('NetGraph[<|"a" -> LinearLayer[3], "r" -> BasicRecurrentLayer[3]|>, '
     '{NetPort["s"] -> "a" -> NetPort["r", "State"], NetPort["r", "State"] -> '
     'NetPort["final"]}, "Input" -> {"Varying", 2}, "s" -> 2]'),
]


@pytest.mark.parametrize("text", STATE_GRAPHS)
def test_state_ports_are_initial_and_final_states(text):
    """"State"/"CellState" in: ONNX's initial_h/initial_c; out: Y_h/Y_c."""
    net = build(text)
    model = check_lengths(net, lengths=(1, 3, 6))
    op = next(n for n in model.graph.node if n.op_type in ("LSTM", "GRU", "RNN"))
    assert len([v for v in op.input[5:] if v]) == len(net.port_names()[0]) - 1
    assert len([v for v in op.output[1:] if v]) >= 1


@pytest.mark.parametrize("layer", RECURRENT)
def test_dropout_is_test_mode_in_onnx(layer):
    """Dropout acts only in Train mode: the export is the Test-mode net."""
    text = layer.replace("]", ', "Dropout" -> 0.3]')
    check_lengths(build(f'NetChain[{{{text}}}, "Input" -> {{"Varying", 3}}]'), lengths=(2, 5))


ATTENTION = [
    'AttentionLayer["Dot", "Key" -> {"Varying", 3}, "Value" -> {"Varying", 2}, '
    '"Query" -> {"Varying", 3}]',
    'AttentionLayer["Key" -> {"Varying", 3}, "Value" -> {"Varying", 2}, "Query" -> {4, 6}, '
    '"ScoreRescaling" -> "LengthSqrt"]',
    'AttentionLayer["Bilinear", "Mask" -> ("Causal" -> 2), "ScoreRescaling" -> "LengthSqrt", '
    '"MultiHead" -> True, "Key" -> {"Varying", 2, 3}, "Value" -> {"Varying", 2, 2}, '
    '"Query" -> {"Varying", 2, 4}]',
    'AttentionLayer["Dot", "Mask" -> "Causal", "ScoreRescaling" -> "LengthSqrt", '
    '"Key" -> {"Varying", 3}, "Value" -> {"Varying", 2}, "Query" -> {"Varying", 3}]',
    'AttentionLayer["Dot", "Mask" -> "Causal", "ScoreRescaling" -> "DimensionSqrt", '
    '"MultiHead" -> True, "Dropout" -> 0.3, "Key" -> {"Varying", 3, 4}, '
    '"Value" -> {"Varying", 3, 2}, "Query" -> {"Varying", 3, 4}]',
    'AttentionLayer["Dot", "ScoreRescaling" -> "DimensionSqrt", "Key" -> {2, 3, 3}, '
    '"Value" -> {2, 3, 2}, "Query" -> {3}]',
    'SequenceAttentionLayer["Input" -> {"Varying", 3}, "Query" -> {"Varying", 2}]',
    'SequenceAttentionLayer["Dot", "Input" -> {"Varying", 3}, "Query" -> {4, 3}]',
]


@pytest.mark.parametrize("text", ATTENTION)
def test_attention_layers(text):
    """Scores, rescaling, causal masks (windows too) and heads with MatMul, Softmax, Where
    and Range on the lengths, so one model serves every length; Test mode (no dropout)."""
    net = build(text)
    check_lengths(net, lengths=(1, 4, 7) if "Varying" in text else (0,))
