"""NetMapThreadOperator[net, spec]: Wolfram's reference page (mapped over the first level
of every input by default; at depth n; per-input depths with the others replicated, 0
meaning the input given whole), forward against the inner net applied by hand in loops,
gradients against float64 finite differences (a replicated input's gradient sums over
its copies), NetTrain, text and file round trips, errors, PyTorch and ONNX."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError
from netdsl.layers.shapes import LengthVar
from tests.layer_harness import file_round_trip, onnx_run, plan_input_gradients, round_losses
from tests.test_gradients_net import assert_close


def ev(text: str):
    return netdsl.Session().evaluate(text)


def linear(net, x):
    w = net.arrays["Weights"].astype(np.float64)
    return x @ w.T + net.arrays["Biases"].astype(np.float64)


# ---------------------------------------------------------------- shapes and forms
def test_reference_page_example_threads_corresponding_elements():
    m = ev("NetMapThreadOperator[ThreadingLayer[Plus]]")
    out = m({"Input1": np.float32([1, 2, 3]), "Input2": np.float32([10, 20, 30])})
    np.testing.assert_array_equal(out, [11, 22, 33])


def test_depth_n_adds_n_levels_to_every_port():
    m = ev('NetMapThreadOperator[LinearLayer[2], 2, "Input" -> {3, 4, 5}]')
    assert m.ports["Input"].shape == (3, 4, 5) and m.ports["Output"].shape == (3, 4, 2)
    assert m.net("Net").ports["Input"].shape == (5,)
    seq = ev("NetMapThreadOperator[LinearLayer[2, \"Input\" -> 5]]")
    assert isinstance(seq.ports["Input"].shape[0], LengthVar)     # a "Varying" length
    assert seq.ports["Input"].shape[1:] == (5,) and seq.ports["Output"].shape[1:] == (2,)


@pytest.mark.parametrize("text,tag", [
    ("NetMapThreadOperator[LinearLayer[2], 0]", "invspec"),
    ('NetMapThreadOperator[ThreadingLayer[Plus], <|"Input1" -> 0|>]', "invspec"),
    ('NetMapThreadOperator[ThreadingLayer[Plus], <|"Foo" -> 1|>]', "invports"),
    ('NetMapThreadOperator[ThreadingLayer[Plus], <|"Input1" -> -1|>]', "invspec"),
    ('NetMapThreadOperator[ThreadingLayer[Plus], "Input1" -> {3, 2}, "Input2" -> {4, 2}]',
     "valfail"),
    ('NetMapThreadOperator[LinearLayer[2], 2, "Input" -> 3]', "valfail"),
])
def test_errors(text, tag):
    with pytest.raises(NetDSLError) as e:
        ev(text)
    assert e.value.tag == tag, str(e.value)


# ---------------------------------------------------------------- forward
def test_forward_at_depth_two_is_the_inner_net_on_each_element():
    m = ev('NetInitialize[NetMapThreadOperator[LinearLayer[2], 2, "Input" -> {3, 4, 5}], '
           'RandomSeeding -> 3]')
    x = np.random.default_rng(0).normal(size=(6, 3, 4, 5))
    want = np.zeros((6, 3, 4, 2))
    for b in range(6):
        for i in range(3):
            for j in range(4):
                want[b, i, j] = linear(m.net("Net"), x[b, i, j])
    np.testing.assert_allclose(m(x.astype(np.float32)), want, rtol=1e-5, atol=1e-6)


def test_replicated_inputs_and_several_outputs():
    """"Bias" at depth 0 (whole), "Row" at depth 1 of 2: replicated over level 2."""
    s = netdsl.Session()
    s.evaluate('inner = NetGraph[<|"t" -> ThreadingLayer[#1 * #2 + #3 &], "r" -> Ramp|>, '
               '{{NetPort["X"], NetPort["Row"], NetPort["Bias"]} -> "t" -> NetPort["Y"], '
               '"t" -> "r" -> NetPort["Z"]}, "X" -> 3, "Row" -> 3, "Bias" -> 3]')
    m = s.evaluate('NetMapThreadOperator[inner, <|"X" -> 2, "Row" -> 1|>, "X" -> {2, 4, 3}]')
    assert m.ports["Row"].shape == (2, 3) and m.ports["Bias"].shape == (3,)
    rng = np.random.default_rng(1)
    x, row, bias = rng.normal(size=(5, 2, 4, 3)), rng.normal(size=(5, 2, 3)), \
        rng.normal(size=(5, 3))
    out = m({"X": x.astype(np.float32), "Row": row.astype(np.float32),
             "Bias": bias.astype(np.float32)})
    want = x * row[:, :, None, :] + bias[:, None, None, :]
    np.testing.assert_allclose(out["Y"], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["Z"], np.maximum(want, 0), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- backward
def test_gradients_of_a_replicated_input_sum_over_its_copies():
    s = netdsl.Session()
    m = s.evaluate('NetInitialize[NetMapThreadOperator[NetGraph[<|"l" -> LinearLayer[3], '
                   '"t" -> ThreadingLayer[Times]|>, {NetPort["A"] -> "l", {"l", NetPort["B"]} '
                   '-> "t"}, "A" -> 2, "B" -> 3], <|"A" -> 2, "B" -> 1|>, "A" -> {2, 3, 2}], '
                   'RandomSeeding -> 4]')
    rng = np.random.default_rng(2)
    feed = {"A": rng.standard_normal((2, 3, 2, 4)), "B": rng.standard_normal((2, 3, 4))}
    found = plan_input_gradients(m, feed, {"Output": rng.standard_normal((2, 3, 3, 4))})
    for analytic, numeric in found.values():
        assert_close(analytic, numeric, tol=1e-5)


def test_training_reduces_the_loss():
    s = netdsl.Session()
    rng = np.random.default_rng(0)
    s["xs"] = rng.standard_normal((40, 3, 4)).astype(np.float32)
    s["ys"] = np.tanh(rng.standard_normal((40, 3, 2))).astype(np.float32)
    s.evaluate('net = NetMapThreadOperator[NetChain[{LinearLayer[5], Tanh, LinearLayer[2]}], '
               '"Input" -> {3, 4}]')
    losses = round_losses(s, "xs -> ys", 30)
    assert losses[-1] < 0.7 * losses[0]


# ---------------------------------------------------------------- text, files, exports
def test_input_form_and_net_file_round_trip(tmp_path):
    net = ev('NetInitialize[NetMapThreadOperator[LinearLayer[2], 2, "Input" -> {3, 4, 5}], '
             'RandomSeeding -> 5]')
    text = netdsl.input_form(net)
    assert text.startswith("NetMapThreadOperator[LinearLayer[2, ") and \
        text.endswith(', 2, "Input" -> {3, 4, 5}]')
    assert ev(text) == net
    back = file_round_trip(net, tmp_path)
    x = np.random.default_rng(1).normal(size=(2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(back(x), net(x))


REPLICATED = ('NetInitialize[NetMapThreadOperator[NetGraph[<|"l" -> LinearLayer[3], '
              '"t" -> ThreadingLayer[Plus]|>, {NetPort["A"] -> "l", {"l", NetPort["B"]} -> "t"},'
              ' "A" -> 2, "B" -> 3], <|"A" -> 2, "B" -> 1|>, "A" -> {2, 3, 2}], '
              'RandomSeeding -> 6]')


def test_torch_module_matches():
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    net = ev(REPLICATED)
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(4, 2, 3, 2)).astype(np.float32), \
        rng.normal(size=(4, 2, 3)).astype(np.float32)
    got = to_torch(net)(A=torch.tensor(a), B=torch.tensor(b)).detach().numpy()
    np.testing.assert_allclose(got, net({"A": a, "B": b}), rtol=1e-5, atol=1e-6)


def test_onnx_export_matches():
    net = ev(REPLICATED)
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(4, 2, 3, 2)).astype(np.float32), \
        rng.normal(size=(4, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(onnx_run(net, {"A": a, "B": b}), net({"A": a, "B": b}),
                               rtol=1e-5, atol=1e-5)
