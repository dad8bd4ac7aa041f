"""SequenceIndicesLayer: the positions Min[max, Range[n]] of a sequence, as integers, for
position embeddings; the reference page's examples, a "Varying" length shared with the
input, an EmbeddingLayer sized by "Maximum", exports and errors."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError
from layer_harness import file_round_trip, onnx_run


def ev(text: str):
    return netdsl.evaluate(text)


def test_reference_page_examples():
    assert ev('SequenceIndicesLayer["Input" -> {"Varying", 3}][{{1, 2, 3}, {4, 5, 6}, '
              '{7, 8, 9}}]').tolist() == [1, 2, 3]
    assert ev('SequenceIndicesLayer["Input" -> {3, 2, 2}][RandomReal[1, {3, 2, 2}]]'
              ).tolist() == [1, 2, 3]
    got = ev('SequenceIndicesLayer["Input" -> "Varying"][{{1., 2., 3.}, {4., 5.}}]')
    assert [list(x) for x in got.args] == [[1, 2, 3], [1, 2]]          # a batch, threaded
    assert ev('SequenceIndicesLayer["Maximum" -> 3, "Input" -> "Varying"][Range[6]]'
              ).tolist() == [1, 2, 3, 3, 3, 3]


@pytest.mark.parametrize("top", [None, 4])
def test_positions_are_min_of_max_and_range(top):
    opt = "" if top is None else f'"Maximum" -> {top}, '
    layer = ev(f'SequenceIndicesLayer[{opt}"Input" -> {{"Varying", 2}}]')
    x = np.random.default_rng(0).standard_normal((5, 7, 2))
    want = np.arange(1, 8) if top is None else np.minimum(np.arange(1, 8), top)
    got = layer(x)
    assert got.dtype.kind == "i"
    np.testing.assert_array_equal(got, np.broadcast_to(want, (5, 7)))


def test_output_shares_the_input_length_and_sizes_an_embedding():
    """A position embedding: "Maximum" -> 10 makes EmbeddingLayer's table 10 rows; positions
    past 10 read row 10. Checked against the extracted arrays."""
    s = netdsl.Session()
    s.evaluate('net = NetInitialize[NetGraph[<|"idx" -> SequenceIndicesLayer["Maximum" -> 10], '
               '"emb" -> EmbeddingLayer[4], "map" -> NetMapOperator[LinearLayer[4]], '
               '"plus" -> ThreadingLayer[Plus]|>, {NetPort["Input"] -> "idx" -> "emb" -> '
               '"plus", NetPort["Input"] -> "map" -> "plus"}, "Input" -> {"Varying", 2}], '
               'RandomSeeding -> 3]')
    table = np.asarray(s.evaluate('NetExtract[net, {"emb", "Weights"}]'))
    w = np.asarray(s.evaluate('NetExtract[net, {"map", "Net", "Weights"}]'))
    b = np.asarray(s.evaluate('NetExtract[net, {"map", "Net", "Biases"}]'))
    assert table.shape == (10, 4)
    x = np.random.default_rng(1).standard_normal((2, 12, 2)).astype(np.float32)
    rows = np.minimum(np.arange(12), 9)
    want = table[rows][None] + x @ w.T + b
    np.testing.assert_allclose(s.evaluate("net")(x), want, rtol=1e-5, atol=1e-6)


def test_errors():
    with pytest.raises(EvaluationError, match="positive integer or Infinity"):
        ev('SequenceIndicesLayer["Maximum" -> 0]')
    with pytest.raises(netdsl.errors.ShapeError, match="must be a sequence") as e:
        ev('SequenceIndicesLayer["Input" -> "Real"]')
    assert e.value.tag == "valfail"


def test_files_onnx_and_torch(tmp_path):
    net = ev('NetChain[{SequenceIndicesLayer["Maximum" -> 3]}, "Input" -> {5, 2}]')
    file_round_trip(net, tmp_path)
    x = np.zeros((4, 5, 2), np.float32)
    want = np.broadcast_to(np.minimum(np.arange(1, 6), 3), (4, 5))
    np.testing.assert_array_equal(onnx_run(net, {"Input": x}), want)
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    np.testing.assert_array_equal(to_torch(net)(Input=torch.tensor(x)).numpy(), want)
