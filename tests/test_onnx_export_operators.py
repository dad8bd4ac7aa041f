"""Export["net.onnx", net] of NetMapOperator (the inner net on the length folded into the
batch axis) and NetBidirectionalOperator (recurrent layers and other inner nets, each
aggregation): one model run in onnxruntime and onnx's reference evaluator on several
sequence lengths equals netdsl's outputs; NetFoldOperator (default and general forms,
states given and read) as a Scan."""

from __future__ import annotations

import pytest

onnx = pytest.importorskip("onnx", reason="ONNX export tests need onnx: pip install 'netdsl[onnx]'")
pytest.importorskip("onnxruntime", reason="ONNX export tests need onnxruntime")

from netdsl.formats.onnx_export import to_onnx  # noqa: E402
from tests.test_onnx_export import build  # noqa: E402
from tests.test_onnx_export_sequences import check_lengths  # noqa: E402

FOLD_NET = ('NetGraph[<|"cat" -> CatenateLayer[], "lin" -> LinearLayer[2], "act" -> Tanh|>, '
            '{{NetPort["Input"], NetPort["State"]} -> "cat" -> "lin" -> "act"}]')


@pytest.mark.parametrize("text", [
    'NetMapOperator[NetChain[{LinearLayer[4], Tanh, LinearLayer[2]}], "Input" -> {"Varying", 3}]',
    'NetMapOperator[LinearLayer[{2, 3}], "Input" -> {"Varying", 5}]',       # matrix elements
    'NetMapOperator[ElementwiseLayer[LogisticSigmoid], "Input" -> {"Varying", 2, 3}]',
    'NetChain[{NetMapOperator[BatchNormalizationLayer[]], LongShortTermMemoryLayer[3]}, '
    '"Input" -> {"Varying", 4}]',
])
def test_map_operator_on_varying_lengths(text):
    check_lengths(build(text))


def test_map_operator_with_a_fixed_length_and_opset_13():
    check_lengths(build('NetMapOperator[NetChain[{LinearLayer[3], Ramp}], "Input" -> {4, 2}]'),
                  lengths=(4,), opset=13)


@pytest.mark.parametrize("inner", [
    "LongShortTermMemoryLayer[4]", "GatedRecurrentLayer[3]", "BasicRecurrentLayer[5]",
    "{LongShortTermMemoryLayer[3], GatedRecurrentLayer[3]}",
])
@pytest.mark.parametrize("agg", ["Catenate", "Total", "Mean"])
def test_bidirectional_recurrent_layers(inner, agg):
    check_lengths(build(f'NetBidirectionalOperator[{inner}, {agg}, "Input" -> {{"Varying", 3}}]'))


def test_bidirectional_with_a_non_sequence_output_and_in_a_chain():
    check_lengths(build('NetChain[{NetBidirectionalOperator[NetChain[{GatedRecurrentLayer[3], '
                        'SequenceLastLayer[]}]], LinearLayer[2]}, "Input" -> {"Varying", 2}]'))
    check_lengths(build('NetChain[{EmbeddingLayer[4, 7], NetBidirectionalOperator['
                        'LongShortTermMemoryLayer[3]], NetMapOperator[LinearLayer[2]]}]'))


def test_operator_arrays_are_named_by_their_paths():
    model = to_onnx(build('NetBidirectionalOperator[BasicRecurrentLayer[2], '
                          '"Input" -> {"Varying", 3}]'))
    names = {i.name for i in model.graph.initializer}
    assert "ForwardNet/InputWeights" in names and "BackwardNet/InputWeights" in names


# the general form: mapped "x", state "h" fed by "hnext", constant "c", output "y"
GENERAL = ('NetFoldOperator[NetGraph[<|"cat" -> CatenateLayer[], "lin" -> LinearLayer[2], '
           '"act" -> Tanh, "out" -> LinearLayer[1]|>, {{NetPort["x"], NetPort["h"], '
           'NetPort["c"]} -> "cat", "cat" -> "lin" -> "act", "act" -> NetPort["hnext"], '
           '"act" -> "out" -> NetPort["y"]}, "x" -> 3, "c" -> 2], {"hnext" -> "h"}, {"c"}, '
           '{"y"}]')


@pytest.mark.parametrize("text, lengths", [
    (f'NetFoldOperator[{FOLD_NET}, "Input" -> {{"Varying", 3}}]', None),
    (f'NetChain[{{NetFoldOperator[{FOLD_NET}], SequenceLastLayer[]}}, "Input" -> {{6, 3}}]', (6,)),
    (f'NetChain[{{NetMapOperator[LinearLayer[3]], NetFoldOperator[{FOLD_NET}]}}, '
     '"Input" -> {"Varying", 4}]', None),
    (GENERAL, None),
])
def test_fold_operator_is_a_scan(text, lengths):
    model = check_lengths(build(text), **({"lengths": lengths} if lengths else {}))
    assert [n.op_type for n in model.graph.node].count("Scan") == 1


def test_fold_states_given_and_read_through_a_graph_opset_13():
    net = build(f'NetGraph[<|"init" -> LinearLayer[2], "fold" -> {GENERAL}|>, '
                '{NetPort["h0"] -> "init" -> NetPort["fold", "h"], '
                'NetPort[{"fold", "h"}] -> NetPort["hT"]}, "h0" -> 4]')
    assert set(net.port_names()[1]) == {"y", "hT"}
    check_lengths(net, opset=13)
