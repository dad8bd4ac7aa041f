"""The executor's rewrite rules (runtime/fusion.py) must not change any number.

Each net is run through its plain plan (one step per layer, itself checked
against independent references in test_layer_forward.py) and its fused plans;
outputs, and for the training plan the gradients, must agree.
"""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.runtime.layout import to_batch_last
from netdsl.runtime.context import Ctx
from netdsl.runtime.gradients import backward
from netdsl.runtime.plan import compile_plan

NETS = [
    # the reference workload's shape: conv -> BN -> Ramp -> 2x2 max pool, twice
    'NetChain[{ConvolutionLayer[4, {3, 3}], BatchNormalizationLayer[], Ramp, PoolingLayer[2, 2], '
    'ConvolutionLayer[6, {3, 3}], BatchNormalizationLayer[], Ramp, PoolingLayer[2, 2], '
    'FlattenLayer[], LinearLayer[5], SoftmaxLayer[]}, "Input" -> {2, 16, 16}]',
    # padding, stride, odd sizes (floor pooling drops a row), Tanh, overlapping pool
    'NetChain[{ConvolutionLayer[3, {3, 3}, "PaddingSize" -> 1, "Stride" -> 2], Tanh, '
    'PoolingLayer[3, 2], FlattenLayer[], LinearLayer[4]}, "Input" -> {2, 13, 11}]',
    # pooling with padding, no activation between convolution and pooling, no biases
    'NetChain[{ConvolutionLayer[3, 2, "Biases" -> None], PoolingLayer[2, 2, "PaddingSize" -> 1], '
    'LogisticSigmoid}, "Input" -> {1, 9, 9}]',
    # channel groups and dilation; Mean pooling is never fused
    'NetChain[{ConvolutionLayer[4, {3, 3}, "ChannelGroups" -> 2, "Dilation" -> 2], '
    'BatchNormalizationLayer[], Ramp, PoolingLayer[2, 2, "Function" -> Mean]}, "Input" -> {2, 12, 12}]',
    # a non-monotone activation (no fusion), BN after a LinearLayer with matrix output
    'NetChain[{ConvolutionLayer[2, 3], ElementwiseLayer["Swish"], PoolingLayer[2, 2], '
    'FlattenLayer[], LinearLayer[{2, 3}], BatchNormalizationLayer[], Ramp}, "Input" -> {1, 10, 10}]',
    # a value used twice (fan-out) must not be fused away
    'NetGraph[{ConvolutionLayer[2, 3], Ramp, PoolingLayer[2, 2], ThreadingLayer[Plus]}, '
    '{1 -> 2 -> 3, 1 -> NetPort[4, "Input2"], 2 -> NetPort[4, "Input1"]}, "Input" -> {1, 8, 8}]',
    # zero padding absorbed into the next convolution's own (uneven, odd sizes, stride 2
    # and dilation 2, "Same"); channel padding, "Fixed" and non-zero values are not
    'NetChain[{PaddingLayer[{{0, 0}, {1, 2}, {0, 1}}], ConvolutionLayer[3, {3, 2}, '
    '"PaddingSize" -> 1], Ramp, PaddingLayer[{{0, 0}, {2, 0}, {1, 1}}], '
    'ConvolutionLayer[2, {3, 3}, "Stride" -> 2, "Dilation" -> 2, "PaddingSize" -> {{0, 1}, {1, 0}}], '
    'PaddingLayer[{{0, 0}, {1, 1}, {1, 1}}], ConvolutionLayer[2, 3, "PaddingSize" -> "Same"]}, '
    '"Input" -> {2, 7, 6}]',
    'NetChain[{PaddingLayer[{{1, 0}, {1, 1}, {1, 1}}], ConvolutionLayer[2, 3], '
    'PaddingLayer[{{0, 0}, {1, 1}, {1, 1}}, "Fixed"], ConvolutionLayer[2, 3], '
    'PaddingLayer[{{0, 0}, {2, 0}, {0, 1}}, 1], ConvolutionLayer[2, 3]}, "Input" -> {1, 5, 5}]',
    'NetChain[{PaddingLayer[{{0, 0}, {1, 1}}], ConvolutionLayer[2, 3], '
    'PaddingLayer[{{0, 0}, {0, 2}}], ConvolutionLayer[2, 2, "Dilation" -> 2]}, "Input" -> {3, 4}]',
    # a channel join read only by a convolution (rule 9): three parts of 16 channels into
    # the shifted path (through a zero padding, rule 6), two into im2col (stride 2)
    JOINS := ('NetGraph[<|"a" -> ConvolutionLayer[5, 3, "PaddingSize" -> 1], '
              '"b" -> ConvolutionLayer[8, 1], "cat" -> CatenateLayer[], '
              '"pad" -> PaddingLayer[{{0, 0}, {1, 1}, {1, 1}}], "c" -> ConvolutionLayer[6, 3], '
              '"cat2" -> CatenateLayer[], "d" -> ConvolutionLayer[3, 3, "Stride" -> 2]|>, '
              '{{"a", "b", NetPort["Input"]} -> "cat" -> "pad" -> "c", {"c", "a"} -> "cat2" -> "d"}, '
              '"Input" -> {3, 16, 16}]'),
    # joins that stay: along a spatial level, and one read twice
    'NetGraph[<|"a" -> ConvolutionLayer[2, 3, "PaddingSize" -> 1], "cat" -> CatenateLayer[2], '
    '"c" -> ConvolutionLayer[2, 3], "cat2" -> CatenateLayer[], "d" -> ConvolutionLayer[2, 3], '
    '"t" -> ThreadingLayer[Plus]|>, {{"a", NetPort["Input"]} -> "cat" -> "c", '
    '{"a", NetPort["Input"]} -> "cat2" -> "d", "cat2" -> NetPort["t", "Input1"], '
    '"cat2" -> NetPort["t", "Input2"]}, "Input" -> {2, 8, 8}]',
]


def _random_arrays(net_text: str):
    s = netdsl.Session()
    net = s.evaluate(f"NetInitialize[{net_text}, RandomSeeding -> 3]")
    rng = np.random.default_rng(5)
    from netdsl.graph.container import replace_leaves
    new = {}
    for path, layer in net.leaves():
        if layer.name == "BatchNormalizationLayer":
            c = layer.values["Channels"]
            arrays = dict(layer.arrays)
            arrays.update({
                "MovingMean": rng.normal(0, 0.5, c).astype(np.float32),
                "MovingVariance": rng.uniform(0.5, 2, c).astype(np.float32),
                "Scaling": rng.uniform(0.5, 1.5, c).astype(np.float32),
                "Biases": rng.normal(0, 0.5, c).astype(np.float32)})
            new[path] = layer.evolve(arrays=arrays)
    return replace_leaves(net, new)


def _run(plan, x, train=False):
    ctx = Ctx(train=train)
    outs, _, _ = plan.run(ctx, {"Input": to_batch_last(x)})
    return outs


@pytest.mark.parametrize("text", NETS)
def test_test_mode_fusion_keeps_outputs(text):
    net = _random_arrays(text)
    shape = net.ports["Input"].shape
    x = np.random.default_rng(0).normal(size=(7,) + shape).astype(np.float32)
    plain, fused = compile_plan(net), compile_plan(net, mode="test")
    a, b = _run(plain, x), _run(fused, x)
    for port in a:
        np.testing.assert_allclose(b[port], a[port], rtol=2e-5, atol=2e-6)
    # and the public entry point uses the fused plan
    got = net(x)
    got = got if isinstance(got, dict) else {"Output": got}
    for port, value in got.items():
        np.testing.assert_allclose(value, np.moveaxis(a[port], -1, 0), rtol=2e-5, atol=2e-6)


def test_fusion_rules_apply_to_the_reference_shape():
    net = _random_arrays(NETS[0])
    names = [type(s.layer).__name__ for s in compile_plan(net, mode="test").steps]
    assert names == ["ConvPoolThenBias", "ConvPoolThenBias", "LinearLayer", "SoftmaxLayer"]
    # training keeps BatchNormalization and moves each Ramp after its max pooling
    train = [type(s.layer).__name__ for s in compile_plan(net, mode="train").steps]
    assert train == ["ConvolutionLayer", "BatchNormalizationLayer", "PoolingLayer",
                     "ElementwiseLayer"] * 2 + ["FlattenLayer", "LinearLayer", "SoftmaxLayer"]


@pytest.mark.parametrize("text", NETS[:3] + NETS[4:] + ["RAMPED"])
def test_training_fusion_keeps_gradients(text):
    net = _random_arrays(RAMPED if text == "RAMPED" else text)
    (y0, g0, dx0), (y1, g1, dx1) = (_gradients(net, mode) for mode in ("plain", "train"))
    np.testing.assert_allclose(y1, y0, rtol=1e-5, atol=1e-6)
    assert g0.keys() == g1.keys()
    for key in g0:
        np.testing.assert_allclose(g1[key], g0[key], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dx1, dx0, rtol=1e-4, atol=1e-5)


def test_a_fused_ramp_passes_on_non_finite_gradients_as_the_ramp_does():
    """Rule 10's backward multiplies dY by (output > 0), as the Ramp's own derivative
    does: an infinite dY where the Ramp gave 0 becomes NaN in both plans, not 0."""
    net = _random_arrays(RAMPED)
    (_, g0, dx0), (_, g1, dx1) = (_gradients(net, mode, infinite=True)
                                  for mode in ("plain", "train"))
    assert np.isnan(dx0).any() and np.isnan(g0[(("c",), "Weights")]).any()
    np.testing.assert_array_equal(np.isnan(dx1), np.isnan(dx0))
    for key in g0:
        np.testing.assert_array_equal(np.isnan(g1[key]), np.isnan(g0[key]))


def _gradients(net, mode: str, infinite: bool = False):
    """A training pass's first output, its arrays' gradients and the input's gradient
    for a random seed of that output (with ``infinite``: +Inf in every fifth number)."""
    shape = net.ports["Input"].shape
    x = np.random.default_rng(1).normal(size=(6,) + shape).astype(np.float32)
    plan = compile_plan(net, mode=mode)
    ctx = Ctx(train=True, grad=True, rng=np.random.default_rng(0))
    outs, values, caches = plan.run(ctx, {"Input": to_batch_last(x)}, keep=True)
    slot = plan.outputs[sorted(plan.outputs)[0]]
    seed = np.random.default_rng(2).normal(size=values[slot].shape).astype(np.float32)
    if infinite:
        seed.reshape(-1)[::5] = np.inf
    grads: dict = {}

    def add(key, g):
        grads[key] = grads.get(key, 0) + g

    ctx.keep_input_grads = True
    slot_grads = backward(plan.steps, ctx, values, caches, {slot: seed}, add,
                          set(plan.inputs.values()))
    return outs[sorted(outs)[0]], grads, slot_grads[plan.inputs["Input"]]


@pytest.mark.parametrize("mode", ["test", "train"])
def test_a_channel_join_read_only_by_a_convolution_is_dropped(mode):
    """Rule 9, in Test mode and in training: the convolution reads the join's inputs."""
    kinds = [type(s.layer).__name__ for s in compile_plan(netdsl.evaluate(
        f"NetInitialize[{JOINS}, RandomSeeding -> 1]"), mode=mode).steps]
    assert "CatenateLayer" not in kinds and kinds.count("FromChannelParts") == 2
    kept = [type(s.layer).__name__ for s in compile_plan(netdsl.evaluate(
        f"NetInitialize[{NETS[-1]}, RandomSeeding -> 1]"), mode=mode).steps]
    assert kept.count("CatenateLayer") == 2 and "FromChannelParts" not in kept


def test_zero_padding_is_absorbed_by_the_next_convolution_only():
    """Rule 6, in Test mode and in training: the PaddingLayers with value 0 on spatial
    levels before a convolution disappear, the others stay."""
    for text, kept in ((NETS[-5], []), (NETS[-3], []),
                       (NETS[-4], ["PaddingLayer"] * 3)):
        net = _random_arrays(text)
        for mode in ("test", "train"):
            names = [type(s.layer).__name__ for s in compile_plan(net, mode=mode).steps]
            assert [n for n in names if n == "PaddingLayer"] == kept, (text, mode, names)


@pytest.mark.parametrize("shape, reshape, dropped", [
    ("{2, 3, 4}", "FlattenLayer[]", True),
    ("{2, 3, 4}", "ReshapeLayer[{6, 4}]", True),
    ("{2, 3, 4}", "FlattenLayer[{{2}, {1, 3}}]", False),     # transposes: not a plain reshape
])
def test_plain_reshape_before_linear_is_dropped(shape, reshape, dropped):
    """Rule 7: the reshape step goes, the LinearLayer reads its input; the same outputs as
    the plain plan, at batch 1 and batch 3."""
    s = netdsl.Session()
    s.evaluate(f'n = NetInitialize[NetChain[{{{reshape}, LinearLayer[5]}}, "Input" -> {shape}], '
               f"RandomSeeding -> 4]")
    net = s["n"]
    names = [type(st.layer).__name__ for st in compile_plan(net, mode="test").steps]
    assert names == (["LinearLayer"] if dropped else [names[0], "LinearLayer"])
    dims = tuple(int(v) for v in shape.strip("{}").split(","))
    for batch in (1, 3):
        x = np.random.default_rng(batch).standard_normal(dims + (batch,)).astype(np.float32)
        got, _, _ = compile_plan(net, mode="test").run(Ctx(), {"Input": x})
        want, _, _ = compile_plan(net).run(Ctx(), {"Input": x})
        np.testing.assert_array_equal(got["Output"], want["Output"])
    # training keeps the reshape (the LinearLayer's backward gives dx in its input's shape)
    train = [type(st.layer).__name__ for st in compile_plan(net, mode="train").steps]
    assert len(train) == 2


def test_reshape_read_elsewhere_is_kept():
    s = netdsl.Session()
    s.evaluate('n = NetInitialize[NetGraph[<|"f" -> FlattenLayer[], "a" -> LinearLayer[3], '
               '"b" -> LinearLayer[2]|>, {"f" -> "a" -> NetPort["A"], "f" -> "b" -> '
               'NetPort["B"]}, "Input" -> {2, 3}], RandomSeeding -> 1]')
    names = [type(st.layer).__name__ for st in compile_plan(s["n"], mode="test").steps]
    assert names.count("FlattenLayer") == 1
    s.evaluate('m = NetInitialize[NetGraph[<|"f" -> FlattenLayer[], "a" -> LinearLayer[3]|>, '
               '{"f" -> "a" -> NetPort["A"], "f" -> NetPort["Flat"]}, "Input" -> {2, 3}], '
               'RandomSeeding -> 1]')
    names = [type(st.layer).__name__ for st in compile_plan(s["m"], mode="test").steps]
    assert names.count("FlattenLayer") == 1            # its output is a net output


@pytest.mark.parametrize("jit", ["1", "0"])
def test_conv_shifted_reads_channel_parts_as_their_join(monkeypatch, jit):
    """Rule 9's parts copied into the padded buffer give the joined input's numbers, bit
    for bit, on the compiled and the NumPy shifted GEMMs, kept for training or not."""
    from netdsl.layers import windows
    monkeypatch.setenv("NETDSL_JIT", jit)
    rng = np.random.default_rng(3)
    parts = [rng.normal(size=(c, 9, 10, 5)).astype(np.float32) for c in (3, 8, 5)]
    w = rng.normal(size=(4, 16, 3, 3)).astype(np.float32)
    g = windows.geometry({"KernelSize": (3, 3), "PaddingSize": 1}, (9, 10))
    whole = np.concatenate(parts)
    assert windows.ChannelParts(parts).shape == whole.shape
    np.testing.assert_array_equal(windows.joined(windows.ChannelParts(parts)), whole)
    want = windows.conv_shifted(Ctx(), whole, w, g, keep=True)
    got = windows.conv_shifted(Ctx(), windows.ChannelParts(parts), w, g, keep=True)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        windows.conv_shifted(Ctx(), windows.ChannelParts(parts), w, g), want[0])


def test_a_ramp_after_a_sum_runs_in_place_and_leaves_the_input_alone():
    """TotalLayer's output is a new array (``fresh_output``), so rule 4 lets a Ramp read
    only by it overwrite it, as after a convolution (a ResNet block's last Ramp)."""
    net = netdsl.evaluate(
        'NetInitialize[NetGraph[<|"a" -> ConvolutionLayer[2, 3, "PaddingSize" -> 1], '
        '"t" -> TotalLayer[], "r" -> Ramp|>, {{"a", NetPort["Input"]} -> "t" -> "r"}, '
        '"Input" -> {2, 6, 6}], RandomSeeding -> 1]')
    plan = compile_plan(net, mode="test")
    assert [type(s.layer).__name__ for s in plan.steps] == [
        "ConvolutionLayer", "TotalLayer", "InPlace"]
    x = np.random.default_rng(4).normal(size=(5, 2, 6, 6)).astype(np.float32)
    kept = x.copy()
    want = _run(compile_plan(net), x)["Output"]
    np.testing.assert_allclose(_run(plan, x)["Output"], want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(net(x), np.moveaxis(want, -1, 0), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(x, kept)


@pytest.mark.parametrize("jit", ["1", "0"])
@pytest.mark.parametrize("filters, kernel", [(16, 3), (4, 3), (16, 5)])
def test_conv_shifted_ramp_is_max_zero_of_its_output_and_keeps_nan(monkeypatch, jit,
                                                                    filters, kernel):
    """Rule 10's kernels: Winograd (16 filters, 3x3), the compiled shifted GEMMs (4
    filters; 5x5) and the NumPy path give Max[y, 0] of the plain output exactly, with the
    bias first and a NaN (here from the input) kept."""
    from netdsl.layers import windows
    monkeypatch.setenv("NETDSL_JIT", jit)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(8, 10, 12, 8)).astype(np.float32)
    x[3, 4, 5, 2] = np.nan
    w = rng.normal(size=(filters, 8, kernel, kernel)).astype(np.float32)
    b = rng.normal(size=filters).astype(np.float32)
    g = windows.geometry({"KernelSize": (kernel, kernel), "PaddingSize": kernel // 2},
                         (10, 12))
    plain = windows.conv_shifted(Ctx(), x, w, g, bias=b)
    ramped = windows.conv_shifted(Ctx(), x, w, g, bias=b, ramp=True)
    assert np.isnan(plain).any() and (plain < 0).any()
    np.testing.assert_array_equal(ramped, np.maximum(plain, 0))


RAMPED = ('NetGraph[<|"a" -> ConvolutionLayer[16, 3, "PaddingSize" -> 1], '
          '"r1" -> Ramp, "b" -> ConvolutionLayer[4, 5, "PaddingSize" -> 2], "r2" -> Ramp, '
          '"c" -> ConvolutionLayer[3, 3, "Stride" -> 2], "r3" -> Ramp|>, '
          '{"a" -> "r1" -> "b" -> "r2" -> "c" -> "r3", "b" -> NetPort["raw"]}, '
          '"Input" -> {8, 12, 12}]')


def test_a_ramp_read_only_after_a_convolution_is_taken_into_it():
    """Rule 10, in Test mode and in training: a Ramp disappears into the convolution
    before it (here a Winograd one and a strided im2col one), with the unfused plan's
    numbers; a convolution whose output is read elsewhere too keeps its Ramp. (Training's
    gradients: test_training_fusion_keeps_gradients.)"""
    net = netdsl.evaluate(f"NetInitialize[{RAMPED}, RandomSeeding -> 2]")

    def ramped(mode):
        return [getattr(s.layer, "output_ramp", False)
                for s in compile_plan(net, mode=mode).steps
                if type(s.layer).__name__ == "ConvolutionLayer"]
    assert ramped("test") == ramped("train") == [True, False, True]
    x = np.random.default_rng(8).normal(size=(9, 8, 12, 12)).astype(np.float32)
    plain, fused = _run(compile_plan(net), x), _run(compile_plan(net, mode="test"), x)
    assert plain.keys() == fused.keys() == {"Output", "raw"}
    for port in plain:
        np.testing.assert_allclose(fused[port], plain[port], rtol=1e-5, atol=1e-6)
