"""Sequences: "Varying" port shapes, the recurrent and Sequence* layers, ragged batches.

Forward values are checked against the formulas of Wolfram's layer definitions written out
here as naive per-step loops; backward through time against float64 central differences;
a batch of sequences of different lengths against evaluating each example alone.
"""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError
from netdsl.expr import to_ndarray
from netdsl.layers.shapes import LengthVar
from tests.layer_harness import build, check_gradients, forward, make_arrays


def sig(a):
    return 1 / (1 + np.exp(-a))


# ---------------------------------------------------------------- references (one example)
def lstm_ref(a, x):
    h = a["InputGateBiases"].shape[0]
    s, c, out = np.zeros(h), np.zeros(h), []
    for xt in x:
        g = {k: a[f"{k}InputWeights"] @ xt + a[f"{k}StateWeights"] @ s + a[f"{k}Biases"]
             for k in ("InputGate", "OutputGate", "ForgetGate", "MemoryGate")}
        c = sig(g["ForgetGate"]) * c + sig(g["InputGate"]) * np.tanh(g["MemoryGate"])
        s = sig(g["OutputGate"]) * np.tanh(c)
        out.append(s)
    return np.array(out)


def gru_ref(a, x):
    h = a["InputGateBiases"].shape[0]
    s, out = np.zeros(h), []
    for xt in x:
        z = sig(a["InputGateInputWeights"] @ xt + a["InputGateStateWeights"] @ s
                + a["InputGateBiases"])
        r = sig(a["ResetGateInputWeights"] @ xt + a["ResetGateStateWeights"] @ s
                + a["ResetGateBiases"])
        m = np.tanh(a["MemoryGateInputWeights"] @ xt + a["MemoryGateBiases"]
                    + r * (a["MemoryGateStateWeights"] @ s))
        s = (1 - z) * s + z * m
        out.append(s)
    return np.array(out)


def rnn_ref(a, x):
    s, out = np.zeros(a["Biases"].shape[0]), []
    for xt in x:
        s = np.tanh(a["InputWeights"] @ xt + a["StateWeights"] @ s + a["Biases"])
        out.append(s)
    return np.array(out)


RECURRENT = [("LongShortTermMemoryLayer", lstm_ref, 12),
             ("GatedRecurrentLayer", gru_ref, 9),
             ("BasicRecurrentLayer", rnn_ref, 3)]


@pytest.mark.parametrize("name,ref,count", RECURRENT)
def test_recurrent_arrays_have_wolfram_names(name, ref, count):
    layer = build(f'{name}[4, "Input" -> {{"Varying", 3}}]')
    shapes = layer.array_shapes()
    assert len(shapes) == count
    for k, v in shapes.items():
        assert v == ((4, 3) if k.endswith("InputWeights") else (4, 4)
                     if k.endswith("StateWeights") else (4,)), k


@pytest.mark.parametrize("name,ref,count", RECURRENT)
def test_recurrent_forward_equals_the_formula(name, ref, count):
    layer = build(f'{name}[4, "Input" -> {{"Varying", 3}}]')
    a = make_arrays(layer, seed=1)
    a = {k: v * 0.5 for k, v in a.items()}
    x = np.random.default_rng(2).standard_normal((2, 5, 3))
    y, = forward(layer, a, x, dtype=np.float64)
    for i in range(2):
        np.testing.assert_allclose(y[i], ref(a, x[i]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,ref,count", RECURRENT)
def test_recurrent_backward_through_time(name, ref, count):
    layer = build(f'{name}[3, "Input" -> {{"Varying", 2}}]')
    a = {k: v * 0.5 for k, v in make_arrays(layer, seed=3).items()}
    x = np.random.default_rng(4).standard_normal((4, 2, 2))     # batch-last (n, d, N)
    check_gradients(layer, a, [x], tol=1e-5)


@pytest.mark.parametrize("name", ["SequenceLastLayer", "SequenceMostLayer",
                                  "SequenceRestLayer", "SequenceReverseLayer"])
def test_sequence_layers_backward(name):
    layer = build(f'{name}["Input" -> {{"Varying", 2}}]')
    x = np.random.default_rng(5).standard_normal((4, 2, 3))
    check_gradients(layer, {}, [x])


def test_sequence_layers_forward():
    x = np.arange(12.0).reshape(1, 4, 3)
    cases = {"SequenceLastLayer": x[0, -1], "SequenceMostLayer": x[0, :-1],
             "SequenceRestLayer": x[0, 1:], "SequenceReverseLayer": x[0, ::-1]}
    for name, want in cases.items():
        y, = forward(build(f'{name}["Input" -> {{"Varying", 3}}]'), {}, x)
        np.testing.assert_array_equal(y[0], want)


# ---------------------------------------------------------------- shapes
def test_varying_port_specs():
    net = netdsl.evaluate('LongShortTermMemoryLayer[4, "Input" -> {"Varying", 3}]')
    n = net.ports["Input"].shape[0]
    assert isinstance(n, LengthVar)
    assert net.ports["Output"].shape == (n, 4)        # the length is shared
    assert net.ports["Input"].words() == "matrix of dimensions {n, 3}"
    assert "Varying" in netdsl.evaluate('ElementwiseLayer[Tanh, "Input" -> "Varying"]'
                                        ).input_form()


def test_length_kept_or_dropped_by_the_layers():
    net = netdsl.evaluate('NetChain[{GatedRecurrentLayer[5], SequenceRestLayer[], '
                          'ElementwiseLayer[Tanh], SequenceLastLayer[]}, '
                          '"Input" -> {"Varying", 2}]')
    x, out = net.ports["Input"].shape, net.ports["Output"].shape
    assert isinstance(x[0], LengthVar) and out == (5,)


def test_rest_gets_a_new_length_reverse_keeps_it():
    rest = netdsl.evaluate('SequenceRestLayer["Input" -> {"Varying", 2}]')
    assert isinstance(rest.ports["Output"].shape[0], LengthVar)
    assert rest.ports["Output"].shape[0] is not rest.ports["Input"].shape[0]
    rev = netdsl.evaluate('SequenceReverseLayer["Input" -> {"Varying", 2}]')
    assert rev.ports["Output"].shape[0] is rev.ports["Input"].shape[0]


def test_fixed_length_unifies_with_varying():
    net = netdsl.evaluate('NetChain[{LongShortTermMemoryLayer[4], SequenceRestLayer[]}, '
                          '"Input" -> {6, 3}]')
    assert net.ports["Output"].shape == (5, 4)


@pytest.mark.parametrize("layers, element, length", [
    ('SequenceRestLayer[], LinearLayer[2, "Input" -> {3, 2}]', "", 4),
    ('SequenceMostLayer[], SequenceRestLayer[], LinearLayer[2, "Input" -> {1, 2}]', "", 3),
    ('AppendLayer[], LinearLayer[2, "Input" -> {3, 2}]', ', "Element" -> 2', 2),
    ('PrependLayer[], LinearLayer[2, "Input" -> {3, 2}]', ', "Element" -> 2', 2),
])
def test_a_later_fixed_length_fixes_the_varying_input(layers, element, length):
    """Found by fuzzing: the later layer fixed the new length of SequenceRest's output
    but the net's input stayed "Varying", so a length-1 sequence reached a
    ConstantPlusLayer of size 3 as an empty one (a raw NumPy reshape error)."""
    net = netdsl.evaluate(f'NetChain[{{{layers}}}, "Input" -> {{"Varying", 2}}{element}]')
    assert net.ports["Input"].shape == (length, 2)


def test_a_varying_input_fixed_downstream_checks_its_length():
    net = netdsl.evaluate('NetInitialize@NetChain[{SequenceRestLayer[], ConstantPlusLayer['
                          '"Biases" -> {2., 1., 3.}]}, "Input" -> "Varying"]')
    with pytest.raises(NetDSLError, match="vector of size 4"):
        net(np.ones(1, np.float32))
    np.testing.assert_array_equal(net(np.float32([9, 1, 2, 3])), [3, 3, 6])


def test_too_short_fixed_sequence_is_an_error():
    with pytest.raises(NetDSLError, match="at least 2 elements"):
        netdsl.evaluate('NetChain[{SequenceMostLayer[]}, "Input" -> {1, 2}]')


def test_varying_only_first_dimension():
    with pytest.raises(NetDSLError, match="Varying"):
        netdsl.evaluate('ElementwiseLayer[Tanh, "Input" -> {3, "Varying"}]')


def test_linear_layer_rejects_a_varying_input():
    with pytest.raises(NetDSLError):
        netdsl.evaluate('NetChain[{LinearLayer[3]}, "Input" -> {"Varying", 2}]')


# ---------------------------------------------------------------- ragged batches
NET = ('NetInitialize[NetChain[{EmbeddingLayer[6, 10, "Input" -> "Varying"], '
       'LongShortTermMemoryLayer[5], GatedRecurrentLayer[4], SequenceLastLayer[]}], '
       'RandomSeeding -> 7]')


def test_ragged_batch_equals_each_example_alone():
    net = netdsl.evaluate(NET)
    seqs = [np.array([1, 2, 3, 4]), np.array([5, 6]), np.array([7, 8, 9, 10, 1]),
            np.array([3, 3])]
    batch = net(seqs)
    for s, y in zip(seqs, batch):
        np.testing.assert_allclose(y, net(s), rtol=1e-6, atol=1e-7)


def test_ragged_sequence_outputs_in_the_language():
    out = netdsl.evaluate('n = NetInitialize[LongShortTermMemoryLayer[2, "Input" -> '
                          '{"Varying", 1}]]; {n[{{{1.}}, {{1.}, {2.}}}], n[{{1.}, {2.}}]}')
    ragged, alone = out.args
    first, second = ragged.args
    assert to_ndarray(first).shape == (1, 2) and to_ndarray(second).shape == (2, 2)
    np.testing.assert_allclose(to_ndarray(second), to_ndarray(alone), rtol=1e-6)


def test_bad_sequence_element_is_a_netdsl_error():
    net = netdsl.evaluate(NET)
    with pytest.raises(NetDSLError, match="should be"):
        net([np.zeros((3, 2)), np.zeros((2, 2))])


def test_train_on_equal_length_sequences():
    out = netdsl.evaluate(
        'net = NetChain[{EmbeddingLayer[4, 5, "Input" -> {"Varying"}], '
        'LongShortTermMemoryLayer[6], SequenceLastLayer[], LinearLayer[2]}]; '
        'data = {{1, 2, 3} -> {1., 0.}, {3, 2, 1} -> {0., 1.}, {2, 2, 2} -> {0.5, 0.5}}; '
        't = NetTrain[net, data, MaxTrainingRounds -> 1000, RandomSeeding -> 1]; '
        't[{1, 2, 3}]')
    vals = [float(v) for v in (out.args if hasattr(out, "args") else out)]
    np.testing.assert_allclose(vals, [1.0, 0.0], atol=0.1)


# ---------------------------------------------------------------- netdsl check
def test_check_carries_the_length_symbolically():
    import io

    from netdsl.check import check_text
    text = ('net = NetInitialize[NetChain[{EmbeddingLayer[8, 20, "Input" -> "Varying"], '
            'LongShortTermMemoryLayer[6], SequenceReverseLayer[]}]];\n'
            'y = net[{1, 2, 3}];\n'
            'z = NetChain[{LongShortTermMemoryLayer[4], FlattenLayer[]}, '
            '"Input" -> {"Varying", 2}];\n')
    out, err = io.StringIO(), io.StringIO()
    check_text(text, "seq.wl", out, err)
    assert "array of integers of dimensions {n}" in out.getvalue()
    assert "y = output of dimensions {3, 6}" in out.getvalue()
    assert 'seq.wl:3:' in err.getvalue() and '"Varying"' in err.getvalue()


# ---------------------------------------------------------------- UnitVectorLayer
def test_unit_vector_layer_one_hot():
    out = netdsl.evaluate('{UnitVectorLayer[5][3], UnitVectorLayer[3, "Input" -> "Varying"]'
                          '[{{1, 3}, {2}}]}')
    np.testing.assert_array_equal(to_ndarray(out.args[0]), np.eye(5)[2])
    first, second = out.args[1].args
    np.testing.assert_array_equal(to_ndarray(first), np.eye(3)[[0, 2]])
    np.testing.assert_array_equal(to_ndarray(second), np.eye(3)[[1]])


def test_unit_vector_layer_rejects_an_index_out_of_range():
    with pytest.raises(NetDSLError, match="between 1 and 5"):
        netdsl.evaluate('UnitVectorLayer[5][6]')


def test_unit_vector_layer_feeds_a_recurrent_layer():
    net = netdsl.evaluate('NetChain[{UnitVectorLayer[6, "Input" -> "Varying"], '
                          'LongShortTermMemoryLayer[3]}]')
    n = net.ports["Input"].shape[0]
    assert isinstance(n, LengthVar) and net.ports["Output"].shape == (n, 3)


def test_nets_with_varying_lengths_are_equal_up_to_renaming():
    """Each evaluation makes new length symbols; the same text still gives the same net,
    and a different sharing pattern of lengths does not."""
    from netdsl import evaluate
    text = ('NetChain[{EmbeddingLayer[8, 10, "Input" -> "Varying"], '
            'LongShortTermMemoryLayer[4], SequenceLastLayer[]}]')
    assert evaluate(text) == evaluate(text)
    assert evaluate(f"{text} === {text}") == evaluate("True")
    assert evaluate(text) != evaluate(text.replace("[4]", "[5]"))
    same = evaluate('ThreadingLayer[Plus, "Input1" -> {"Varying", 2}, "Input2" -> {"Varying", 2}]')
    assert same == evaluate('ThreadingLayer[Plus, "Input1" -> {"Varying", 2}, '
                            '"Input2" -> {"Varying", 2}]')


def test_threaded_sequences_share_one_length():
    """ThreadingLayer unifies the "Varying" lengths of its inputs (with each other or a
    fixed size), and inputs that share a length must get sequences of equal lengths."""
    import numpy as np
    from netdsl import evaluate
    from netdsl.errors import EvaluationError
    two = evaluate('ThreadingLayer[Plus, "Input1" -> {"Varying", 2}, "Input2" -> {"Varying", 2}]')
    assert two.ports["Input1"].shape[0] is two.ports["Input2"].shape[0]
    fixed = evaluate('ThreadingLayer[Plus, "Input1" -> {"Varying", 2}, "Input2" -> {5, 2}]')
    assert fixed.ports["Input1"].shape == (5, 2)
    net = evaluate('NetInitialize@NetGraph[{LongShortTermMemoryLayer[3], '
                   'LongShortTermMemoryLayer[3], ThreadingLayer[Plus]}, {NetPort["a"] -> 1, '
                   'NetPort["b"] -> 2, {1, 2} -> 3}, "a" -> {"Varying", 2}, '
                   '"b" -> {"Varying", 2}]')
    r = np.random.default_rng(0)
    a = [r.normal(size=(3, 2)).astype("f4"), r.normal(size=(5, 2)).astype("f4")]
    b = [r.normal(size=(3, 2)).astype("f4"), r.normal(size=(5, 2)).astype("f4")]
    both = net({"a": a, "b": b})
    alone = net({"a": a[1], "b": b[1]})
    np.testing.assert_allclose(both[1], alone, rtol=1e-6, atol=1e-7)
    with pytest.raises(EvaluationError, match="example 1 gives them sequences of lengths 3 and 5"):
        net({"a": a, "b": b[::-1]})


# ---- layers behind a "Varying" length: a value or a netdsl error, never a Python one ----
def _two_sequences(d=3):
    import numpy as np
    return [np.arange(2 * d, dtype="f4").reshape(2, d), np.arange(4 * d, dtype="f4").reshape(4, d)]


@pytest.mark.parametrize("layer, expected", [
    ("PartLayer[{-1}]", lambda x: x[-1]),
    ("PartLayer[{2 ;; -1}]", lambda x: x[1:]),
    ("PaddingLayer[{{1, 1}, {0, 0}}]", lambda x: __import__("numpy").pad(x, ((1, 1), (0, 0)))),
    ("PaddingLayer[{{0, 0}, {1, 2}}]", lambda x: __import__("numpy").pad(x, ((0, 0), (1, 2)))),
    ("ReplicateLayer[2]", lambda x: __import__("numpy").stack([x, x])),
    ("ReplicateLayer[2, 2]", lambda x: __import__("numpy").stack([x, x], axis=1)),
])
def test_layers_on_varying_lengths(layer, expected):
    import numpy as np
    from netdsl import evaluate
    net = evaluate(f'NetChain[{{{layer}}}, "Input" -> {{"Varying", 3}}]')
    xs = _two_sequences()
    out = net(xs)
    for x, y in zip(xs, out):
        np.testing.assert_array_equal(y, expected(x))


@pytest.mark.parametrize("layer", ["NormalizationLayer[]", "ConstantPlusLayer[]"])
def test_arrays_sized_by_a_varying_length_are_a_validation_error(layer):
    from netdsl import evaluate
    from netdsl.errors import ShapeError
    with pytest.raises(ShapeError, match='valfail.*"Varying" length has no fixed size'):
        evaluate(f'NetInitialize@NetChain[{{{layer}}}, "Input" -> {{"Varying", 3}}]')


def test_a_part_beyond_a_sequence_is_a_netdsl_error():
    from netdsl import evaluate
    from netdsl.errors import EvaluationError
    net = evaluate('NetChain[{PartLayer[{3}]}, "Input" -> {"Varying", 3}]')
    with pytest.raises(EvaluationError, match="partw.*greater than 2"):
        net(_two_sequences())


def test_catenating_sequences():
    """Two "Varying" inputs catenated off their length share it; a vector catenated to a
    sequence is replicated along it."""
    import numpy as np
    from netdsl import evaluate
    xs, ys = _two_sequences(), [x + 100 for x in _two_sequences()]
    two = evaluate('NetGraph[{CatenateLayer[2]}, {{NetPort["a"], NetPort["b"]} -> 1}, '
                   '"a" -> {"Varying", 3}, "b" -> {"Varying", 3}]')
    assert two.ports["a"].shape[0] is two.ports["b"].shape[0]
    for x, y, out in zip(xs, ys, two({"a": xs, "b": ys})):
        np.testing.assert_array_equal(out, np.concatenate([x, y], axis=1))
    vec = evaluate('NetGraph[{CatenateLayer[]}, {{NetPort["a"], NetPort["b"]} -> 1}, '
                   '"a" -> {"Varying", 3}, "b" -> {3}]')
    v = np.array([7, 8, 9], "f4")
    for x, out in zip(xs, vec({"a": xs, "b": [v, v]})):
        np.testing.assert_array_equal(out, np.concatenate([x, np.tile(v, (len(x), 1))], axis=1))


@pytest.mark.parametrize("layer", ["SequenceMostLayer", "SequenceRestLayer"])
@pytest.mark.parametrize("call", [
    "net[x]",
    'net[x, NetPortGradient["Input"]]',
    'NetTrain[NetAppend[net, ConstantTimesLayer[]], <|"Input" -> x, "Output" -> {1., 2.}|>, '
    'MaxTrainingRounds -> 1]'])
def test_a_one_element_sequence_before_most_or_rest_is_a_clear_error(layer, call):
    """Found by fuzzing: its empty output reached SequenceLastLayer as a raw IndexError."""
    s = netdsl.Session()
    s.evaluate(f'net = NetChain[{{{layer}[], SequenceLastLayer[]}}, "Input" -> "Varying"]; '
               "x = {{1., 2.}, {3.}}")
    with pytest.raises(NetDSLError, match=f"{layer}::netseqlen.*length 1.*length \\(2\\)"):
        s.evaluate(call)
    assert s.evaluate("net[{1., 2., 5.}]") == (2.0 if layer == "SequenceMostLayer" else 5.0)
