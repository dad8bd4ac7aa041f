"""NetNestOperator[net, n]: Wolfram's ports and shape rule (the paclet's Tests case
{ElementwiseLayer[#*2&], 4, "Input" -> 2}), argument errors, forward against the inner net
applied n times by hand, array and input gradients against float64 finite differences
(the arrays shared by the n applications), NetTrain, check, text and net-file round trips,
PyTorch and ONNX (unrolled) against netdsl."""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdsl
from netdsl.check import check_text
from netdsl.errors import NetDSLError
from netdsl.runtime.context import Ctx
from netdsl.runtime.gradients import backward
from netdsl.runtime.plan import compile_plan
from tests.layer_harness import file_round_trip, onnx_run, round_losses
from tests.test_gradients_net import Harness, assert_close

STEP = 'NetChain[{LinearLayer[3], Tanh}]'


def ev(text: str):
    return netdsl.Session().evaluate(text)


# ---------------------------------------------------------------- shapes and arguments
def test_paclet_test_case_and_values():
    net = ev('NetInitialize@NetNestOperator[ElementwiseLayer[#*2&], 4, "Input" -> 2]')
    assert net.ports["Input"].shape == net.ports["Output"].shape == (2,)
    np.testing.assert_allclose(net(np.array([[1.0, 3.0]], np.float32)), [[16.0, 48.0]])


def test_shapes_follow_the_inner_net_both_ways():
    assert ev(f"NetNestOperator[{STEP}, 2]").ports["Input"].shape == (3,)    # from the net
    op = ev('NetNestOperator[ElementwiseLayer[Tanh], 3, "Output" -> {2, 5}]')
    assert op.ports["Input"].shape == (2, 5)
    assert op.net("Net").ports["Input"].shape == (2, 5)
    chain = ev('NetChain[{NetNestOperator[ElementwiseLayer[Ramp], 2], LinearLayer[4]}, '
               '"Input" -> {3, 2}]')
    assert chain.net(chain.order[0]).ports["Output"].shape == (3, 2)


@pytest.mark.parametrize("text,tag,words", [
    ("NetNestOperator[LinearLayer[3]]", "argrx", "2 arguments are expected"),
    ("NetNestOperator[LinearLayer[3], 0]", "invarg2", "should be a positive integer"),
    ("NetNestOperator[LinearLayer[3], 2.5]", "invarg2", "should be a positive integer"),
    ('NetNestOperator[LinearLayer[3, "Input" -> 2], 2]', "tyinc", "each output is the next input"),
    ('NetNestOperator[LinearLayer[3], 2, "Input" -> 4]', "tyinc", "inconsistent"),
    ("NetNestOperator[MeanSquaredLossLayer[], 2]", "invports", 'the input port "Input"'),
    ('NetNestOperator[LinearLayer[3], 2, "Foo" -> 3]', "optx", "not a port"),
])
def test_argument_and_shape_errors(text, tag, words):
    with pytest.raises(NetDSLError) as e:
        ev(text)
    assert e.value.tag == tag and words in str(e.value), str(e.value)


# ---------------------------------------------------------------- forward
def test_forward_is_the_inner_net_applied_n_times():
    net = ev(f"NetInitialize[NetNestOperator[{STEP}, 3, \"Input\" -> 3], RandomSeeding -> 4]")
    w = net.net("Net").net("1").arrays["Weights"].astype(np.float64)
    b = net.net("Net").net("1").arrays["Biases"].astype(np.float64)
    x = np.random.default_rng(0).normal(size=(5, 3))
    want = x.copy()
    for _ in range(3):
        want = np.tanh(want @ w.T + b)
    for mode in ("Test", "Train"):
        np.testing.assert_allclose(net(x.astype(np.float32), evaluation_mode=mode), want,
                                   rtol=1e-5, atol=1e-6)


def test_one_set_of_arrays_for_every_application():
    net = ev(f"NetInitialize@NetNestOperator[{STEP}, 5, \"Input\" -> 3]")
    leaves = [p for p, layer in net.leaves() if layer.array_specs]
    assert leaves == [("Net", "1")]
    assert netdsl.input_form(ev('NetExtract[NetInitialize@NetNestOperator[LinearLayer[2], 3, '
                                '"Input" -> 2], {"Net", "Weights"}]')).startswith("{{")


# ---------------------------------------------------------------- backward
def test_array_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    hz = Harness(f'NetChain[{{NetNestOperator[{STEP}, 3], LinearLayer[2]}}, "Input" -> 3]',
                 {"Input": rng.standard_normal((4, 3)), "Output": rng.standard_normal((4, 2))})
    loss, grad = hz.loss_and_grad()
    assert loss == pytest.approx(hz.loss(), rel=1e-10)
    assert_close(grad, hz.numeric_grad())


def test_input_gradient_matches_finite_differences():
    net = ev(f"NetInitialize[NetNestOperator[{STEP}, 4, \"Input\" -> 3], RandomSeeding -> 2]")
    plan = compile_plan(net, "t")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2))                  # batch-last, float64
    seed = rng.standard_normal((3, 2))

    def value(xv):
        outs, _, _ = plan.run(Ctx(), {"Input": xv})
        return float(np.sum(outs["Output"] * seed))

    ctx = Ctx(grad=True)
    ctx.keep_input_grads = True
    _, values, caches = plan.run(ctx, {"Input": x}, keep=True)
    grads = backward(plan.steps, ctx, values, caches, {plan.outputs["Output"]: seed},
                     lambda k, g: None, set(plan.inputs.values()))
    numeric = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        numeric[i] = (value(up) - value(down)) / 2e-6
    assert_close(grads[plan.inputs["Input"]], numeric, tol=1e-5)


def test_training_reduces_the_loss_and_moves_shared_statistics():
    s = netdsl.Session()
    rng = np.random.default_rng(0)
    s["xs"] = rng.standard_normal((32, 3)).astype(np.float32)
    s["ys"] = np.tanh(rng.standard_normal((32, 3))).astype(np.float32)
    s.evaluate('net = NetInitialize[NetNestOperator[NetChain[{LinearLayer[3], '
               'BatchNormalizationLayer[], Tanh}], 2, "Input" -> 3], RandomSeeding -> 1]')
    losses = round_losses(s, "xs -> ys", 40)
    assert losses[-1] < losses[0]
    trained = s.evaluate('r["TrainedNet"]')
    assert not np.allclose(trained.net("Net").net("2").arrays["MovingMean"], 0)


# ---------------------------------------------------------------- text, files, check
def test_input_form_parses_back_and_net_file_round_trip(tmp_path):
    net = ev(f"NetInitialize[NetNestOperator[{STEP}, 3, \"Input\" -> 3], RandomSeeding -> 5]")
    text = netdsl.input_form(net)
    assert text.startswith("NetNestOperator[NetChain[{LinearLayer[3, ") and \
        text.endswith('ElementwiseLayer[Tanh]}, "Input" -> 3, "Output" -> 3], 3, "Input" -> 3]')
    summary = netdsl.output_form(net)
    assert "iterations: 3" in summary and "parameters: 12" in summary
    chain = ev(f'NetChain[{{NetNestOperator[{STEP}, 2]}}, "Input" -> 3]')
    assert "NetNestOperator[NetChain (2 layers), 2]" in netdsl.output_form(chain)
    assert ev(text) == net
    back = file_round_trip(net, tmp_path)
    x = np.random.default_rng(1).normal(size=(2, 3)).astype(np.float32)
    np.testing.assert_array_equal(back(x), net(x))


def test_check_reports_the_operator_shape():
    out, err = io.StringIO(), io.StringIO()
    src = (f'op = NetInitialize@NetNestOperator[{STEP}, 3, "Input" -> 3];\n'
           "y = op[RandomReal[1, {7, 3}]]\n"
           'bad = NetNestOperator[LinearLayer[3, "Input" -> 2], 2]\n')
    assert check_text(src, "t.wl", out, err) == 1
    lines = out.getvalue().splitlines()
    assert ('t.wl:1: op = NetNestOperator: "Input" vector of size 3 -> "Output" vector of '
            'size 3') in lines, lines
    assert "t.wl:2: y = output of dimensions {7, 3}" in lines
    assert "NetNestOperator::tyinc" in err.getvalue()


# ---------------------------------------------------------------- PyTorch and ONNX
def test_torch_module_matches():
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    net = ev('NetInitialize[NetNestOperator[NetChain[{LinearLayer[3], BatchNormalizationLayer[],'
             ' Tanh}], 3, "Input" -> 3], RandomSeeding -> 6]')
    x = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)
    m = to_torch(net)
    np.testing.assert_allclose(m(torch.tensor(x)).detach().numpy(), net(x), rtol=1e-5,
                               atol=1e-6)
    assert len(list(m.parameters())) == 4     # one set: Weights, Biases, Scaling, Biases


def test_onnx_export_unrolls_the_net():
    pytest.importorskip("onnx")
    from netdsl.formats.onnx_export import to_onnx
    net = ev(f"NetInitialize[NetNestOperator[{STEP}, 3, \"Input\" -> 3], RandomSeeding -> 7]")
    model = to_onnx(net, 17)
    assert sorted(i.name for i in model.graph.initializer) == ["Net/1/Biases", "Net/1/Weights"]
    assert sum(n.op_type == "Tanh" for n in model.graph.node) == 3
    x = np.random.default_rng(3).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(onnx_run(net, {"Input": x}), net(x), atol=1e-5)
