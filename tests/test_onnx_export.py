"""Export["net.onnx", net]: every layer and option, run in onnxruntime and in onnx's
reference evaluator, against netdsl's own outputs (max abs error <= 1e-5); the model
passes onnx.checker (full check) and strict shape inference."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError
from netdsl.graph.edit import replace_arrays
from netdsl.layers.arrays import SharedRef

onnx = pytest.importorskip("onnx", reason="ONNX export tests need onnx: pip install 'netdsl[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="ONNX export tests need onnxruntime")
from onnx.reference import ReferenceEvaluator  # noqa: E402

from netdsl.formats.onnx_export import to_onnx  # noqa: E402

TOL = 1e-5


def build(text: str):
    """The net of ``text``, initialised, with every array random (moving variances
    positive), so that no array's value hides a mistake."""
    net = netdsl.Session().evaluate(f"NetInitialize[{text}]")
    rng = np.random.default_rng(7)
    arrays, shared = {}, {}
    for path, layer in net.leaves():
        for spec in layer.array_specs:
            v = layer.arrays.get(spec.name)
            if isinstance(v, SharedRef):
                shared[v.name] = rng.normal(size=net.shared[v.name].shape).astype(np.float32)
            elif isinstance(v, np.ndarray):
                a = rng.normal(size=v.shape).astype(np.float32)
                if spec.name == "MovingVariance":
                    a = np.abs(a) + 0.5
                arrays[(path, spec.name)] = a
    return replace_arrays(net, arrays, shared)


def data_for(net, batch: int, rng, positive: bool = False, probabilities: bool = False):
    feeds = {}
    for p in net.port_names()[0]:
        t = net.ports[p]
        shape = (batch, *t.shape)
        if t.integer:
            feeds[p] = rng.integers(1, (t.classes or 2) + 1, size=shape).astype(np.int64)
        elif probabilities:
            feeds[p] = rng.uniform(0.01, 0.99, size=shape).astype(np.float32)
        else:
            x = rng.normal(size=shape).astype(np.float32)
            feeds[p] = np.abs(x) + 0.1 if positive else x
    return feeds


def check(net, opset: int = 17, batch: int = 3, reference: bool = True, **data_kw):
    """``reference``: also run onnx.reference (it lacks grouped ConvTranspose)."""
    model = to_onnx(net, opset)
    onnx.checker.check_model(model, full_check=True)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    rng = np.random.default_rng(1)
    feeds = data_for(net, batch, rng, **data_kw)
    outs = net.port_names()[1]
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got_ort = dict(zip(outs, sess.run(outs, feeds)))
    got_ref = dict(zip(outs, ReferenceEvaluator(model).run(outs, feeds))) if reference else {}
    for p in outs:
        value = net(feeds if len(feeds) > 1 else next(iter(feeds.values())), port=p) \
            if len(outs) > 1 else net(feeds if len(feeds) > 1 else next(iter(feeds.values())))
        want = np.asarray(value, np.float32).reshape(batch, *net.ports[p].shape)
        for got in [got_ort[p]] + ([got_ref[p]] if reference else []):
            assert got.shape == want.shape
            assert np.max(np.abs(got - want)) <= TOL * max(1.0, float(np.max(np.abs(want))))
    return model


LAYERS = [
    # convolution: stride, padding forms, "Same" at odd and even sizes, dilation, groups
    'NetChain[{ConvolutionLayer[4, {3, 3}]}, "Input" -> {2, 7, 7}]',
    'NetChain[{ConvolutionLayer[4, {3, 2}, "Stride" -> {2, 1}, "PaddingSize" -> 1]}, "Input" -> {2, 8, 7}]',
    'NetChain[{ConvolutionLayer[4, 3, "PaddingSize" -> {{0, 1}, {2, 0}}]}, "Input" -> {2, 6, 6}]',
    'NetChain[{ConvolutionLayer[3, 3, "PaddingSize" -> "Same", "Stride" -> 2]}, "Input" -> {2, 8, 7}]',
    'NetChain[{ConvolutionLayer[3, 4, "PaddingSize" -> "Same"]}, "Input" -> {1, 6, 6}]',
    'NetChain[{ConvolutionLayer[4, 3, "Dilation" -> 2, "Biases" -> None]}, "Input" -> {2, 9, 9}]',
    'NetChain[{ConvolutionLayer[4, 3, "ChannelGroups" -> 2]}, "Input" -> {4, 6, 6}]',
    'NetChain[{ConvolutionLayer[3, {3}, "Stride" -> 2]}, "Input" -> {2, 11}]',
    'NetChain[{ConvolutionLayer[2, {2, 2, 2}, "PaddingSize" -> 1]}, "Input" -> {2, 4, 4, 4}]',
    # pooling: default stride 1, floor rounding, padding, "Same", functions, 1-D and 3-D
    'NetChain[{PoolingLayer[2]}, "Input" -> {2, 5, 5}]',
    'NetChain[{PoolingLayer[2, 2]}, "Input" -> {2, 7, 7}]',
    'NetChain[{PoolingLayer[3, 2, "PaddingSize" -> 1]}, "Input" -> {2, 6, 6}]',
    'NetChain[{PoolingLayer[3, 2, "PaddingSize" -> "Same"]}, "Input" -> {2, 8, 7}]',
    'NetChain[{PoolingLayer[{2, 3}, {1, 2}, "Function" -> Mean, "PaddingSize" -> 1]}, "Input" -> {2, 5, 7}]',
    'NetChain[{PoolingLayer[3, 2, "Function" -> Total, "PaddingSize" -> {1, 0}]}, "Input" -> {2, 7, 7}]',
    'NetChain[{PoolingLayer[{3}, {2}, "Function" -> Mean]}, "Input" -> {2, 9}]',
    'NetChain[{PoolingLayer[{2, 2, 2}, {2, 2, 2}]}, "Input" -> {2, 4, 5, 4}]',
    # batch normalisation on images, matrices and vectors
    'NetChain[{BatchNormalizationLayer["Epsilon" -> 0.01, "Momentum" -> 0.8]}, "Input" -> {3, 4, 4}]',
    'NetChain[{BatchNormalizationLayer[]}, "Input" -> {3, 5}]',
    'NetChain[{BatchNormalizationLayer[]}, "Input" -> 6]',
    # linear: vector, rank-3 input (Flatten + Gemm), matrix and scalar outputs, no biases
    'NetChain[{LinearLayer[5]}, "Input" -> 4]',
    'NetChain[{LinearLayer[5]}, "Input" -> {2, 3, 3}]',
    'NetChain[{LinearLayer[{2, 3}, "Biases" -> None]}, "Input" -> {4, 2}]',
    'NetChain[{LinearLayer[{}]}, "Input" -> 4]',
    # softmax over the last axis
    'NetChain[{SoftmaxLayer[]}, "Input" -> 5]',
    'NetChain[{SoftmaxLayer[]}, "Input" -> {3, 4}]',
    'NetChain[{SoftmaxLayer[1]}, "Input" -> {3, 4}]',
    'NetChain[{SoftmaxLayer[-2]}, "Input" -> {2, 3, 4}]',
    'NetChain[{LinearLayer[3]}, "Input" -> "Real"]',
    'NetChain[{DotPlusLayer[3]}, "Input" -> 2]',
    # shapes
    'NetChain[{FlattenLayer[]}, "Input" -> {2, 3, 4}]',
    'NetChain[{FlattenLayer[1]}, "Input" -> {2, 3, 4}]',
    'NetChain[{FlattenLayer[-1]}, "Input" -> {2, 3, 4}]',
    'NetChain[{ReshapeLayer[{4, Automatic}]}, "Input" -> {2, 3, 4}]',
    'NetChain[{DropoutLayer[0.4]}, "Input" -> {3, 2}]',
    'NetChain[{DropoutLayer[0.2, "Method" -> "AlphaDropout"]}, "Input" -> {3, 2}]',
    'NetGraph[{DropoutLayer["OutputPorts" -> {"Output", "BinaryMask"}]}, {}, "Input" -> {3, 2}]',
    'NetChain[{SummationLayer[]}, "Input" -> {3, 2}]',
    # transposed convolution, aggregation over levels
    'NetChain[{DeconvolutionLayer[3, {3, 3}]}, "Input" -> {2, 4, 4}]',
    'NetChain[{DeconvolutionLayer[4, {3, 2}, "Stride" -> 2, "PaddingSize" -> 1, '
    '"ChannelGroups" -> 2]}, "Input" -> {2, 4, 5}]',
    'NetChain[{DeconvolutionLayer[2, {4}, "Stride" -> 3, "PaddingSize" -> {{1, 0}}, '
    '"Biases" -> None]}, "Input" -> {3, 5}]',
    'NetChain[{AggregationLayer[Max]}, "Input" -> {3, 4, 5}]',
    'NetChain[{AggregationLayer[Mean, 1]}, "Input" -> {3, 4}]',
    'NetChain[{AggregationLayer[Total, {1, 3}]}, "Input" -> {3, 4, 5}]',
    'NetChain[{AggregationLayer[Min, -1]}, "Input" -> {3, 4}]',
    'NetChain[{ReplicateLayer[3]}, "Input" -> {2, 4}]',
    'NetChain[{ReplicateLayer[{2, 3}, 2]}, "Input" -> {2, 4}]',
    'NetChain[{ReplicateLayer[3, -1]}, "Input" -> {2, 4}]',
    'NetGraph[{DotLayer[]}, {{NetPort["a"], NetPort["b"]} -> 1}, "a" -> {3, 4}, "b" -> {4, 2}]',
    'NetGraph[{DotLayer[]}, {{NetPort["a"], NetPort["b"]} -> 1}, "a" -> 4, "b" -> 4]',
    'NetGraph[{DotLayer[]}, {{NetPort["a"], NetPort["b"]} -> 1}, "a" -> {2, 3, 4}, "b" -> 4]',
    'NetChain[{PaddingLayer[{{1, 2}, {0, 1}}]}, "Input" -> {2, 4}]',
    'NetChain[{PaddingLayer[{{1, 2}, {0, 1}}, "Padding" -> -1.5]}, "Input" -> {2, 4}]',
    'NetChain[{PaddingLayer[{{0, 0}, {2, 1}, {1, 1}}, "Padding" -> "Fixed"]}, "Input" -> {2, 4, 3}]',
    # (the layer's own "Input": PaddingLayer with "Reflected" needs its sizes when built)
    'NetChain[{PaddingLayer[{{1, 1}, {2, 1}}, "Padding" -> "Reflected", "Input" -> {3, 4}]}]',
    'NetChain[{NormalizationLayer[]}, "Input" -> {3, 4, 5}]',
    'NetChain[{NormalizationLayer[{1, 2}, "Same"]}, "Input" -> {3, 4}]',
    'NetChain[{NormalizationLayer[-1, "Same", "Epsilon" -> 0.1]}, "Input" -> {3, 4}]',
    'NetChain[{NormalizationLayer[2, "Biases" -> None]}, "Input" -> {3, 4}]',
    'NetChain[{InstanceNormalizationLayer["Epsilon" -> 0.01]}, "Input" -> {3, 4, 5}]',
    'NetChain[{LocalResponseNormalizationLayer[]}, "Input" -> {5, 4, 4}]',
    'NetChain[{LocalResponseNormalizationLayer["ChannelWindowSize" -> 1, "Alpha" -> 0.5, '
    '"Beta" -> 0.75, "Bias" -> 2]}, "Input" -> {4, 3, 3}]',
    # learned arrays of the input's shape, levels exchanged, embeddings
    'NetChain[{ConstantTimesLayer[], ConstantPlusLayer[], ParametricRampLayer[]}, "Input" -> {2, 3}]',
    'NetChain[{ConstantTimesLayer[], ConstantPlusLayer[], ParametricRampLayer[]}, "Input" -> "Real"]',
    'NetChain[{TransposeLayer[]}, "Input" -> {2, 3, 4}]',
    'NetChain[{TransposeLayer[{2, 3, 1}]}, "Input" -> {2, 3, 4}]',
    'NetChain[{TransposeLayer[1 -> 3]}, "Input" -> {2, 3, 4}]',
    'NetChain[{EmbeddingLayer[3, 10]}, "Input" -> "Integer"]',
    # constant arrays (the batch size read from the input), parts, resizing, "Reversed"
    'NetGraph[<|"c" -> ConstantArrayLayer["Output" -> {2, 3}], "t" -> TotalLayer[]|>, '
    '{{"c", NetPort["x"]} -> "t"}, "x" -> {2, 3}]',
    'NetGraph[<|"c" -> NetArrayLayer["Output" -> 4], "cat" -> CatenateLayer[]|>, '
    '{{NetPort["x"], "c"} -> "cat"}, "x" -> 2]',
    'NetChain[{PartLayer[2]}, "Input" -> {3, 4}]',
    'NetChain[{PartLayer[-1]}, "Input" -> {3, 4}]',
    'NetChain[{PartLayer[{All, 2 ;; -1}]}, "Input" -> {3, 4}]',
    'NetChain[{PartLayer[{1 ;; 3 ;; 2, 2, 2 ;; 3}]}, "Input" -> {3, 4, 5}]',
    'NetChain[{PartLayer[{{3, 1, 3}, -2}]}, "Input" -> {3, 4}]',
    'NetChain[{PartLayer[{All, {4, 1}}]}, "Input" -> {3, 4, 2}]',
    'NetChain[{ResizeLayer[{5, 7}]}, "Input" -> {2, 3, 4}]',
    'NetChain[{ResizeLayer[{Scaled[2], All}]}, "Input" -> {2, 3, 4}]',
    'NetChain[{ResizeLayer[{Scaled[0.5]}]}, "Input" -> {2, 9}]',
    'NetChain[{ResizeLayer[{Scaled[2], Scaled[3]}, "Resampling" -> "Nearest"]}, '
    '"Input" -> {2, 3, 4}]',
    'NetChain[{PaddingLayer[{{1, 2}, {3, 0}}, "Padding" -> "Reversed"]}, "Input" -> {3, 4}]',
    'NetChain[{PaddingLayer[{{0, 0}, {2, 3}, {3, 3}}, "Padding" -> "Reversed"]}, '
    '"Input" -> {2, 3, 3}]',
    # several inputs
    'NetGraph[{CatenateLayer[]}, {{NetPort["a"], NetPort["b"]} -> 1}, "a" -> {2, 3}, "b" -> {4, 3}]',
    'NetGraph[{TotalLayer[]}, {{NetPort["a"], NetPort["b"], NetPort["c"]} -> 1}, '
    '"a" -> 3, "b" -> 3, "c" -> 3]',
]


@pytest.mark.parametrize("text", LAYERS)
def test_layer(text):
    grouped_deconvolution = "Deconvolution" in text and "ChannelGroups" in text
    # onnx.reference's LRN loops over the batch axis instead of the channels (onnx 1.23)
    lrn = "LocalResponseNormalization" in text
    check(build(text), reference=not (grouped_deconvolution or lrn))


FUNCTIONS = ["Ramp", "Tanh", "LogisticSigmoid", "Exp", "Abs", "Sin", "Cos", "Erf",
             '"ReLU"', '"Sigmoid"', '"ELU"', '"SELU"', '"GELU"', '"Swish"', '"HardSwish"',
             '"Mish"', '"SoftSign"', '"SoftPlus"', '"HardTanh"', '"HardSigmoid"',
             "Max[#, 0.1 #] &", "Clip[#, {-0.5, 0.7}] &", "#^3 - 2 # + 1 &", "Min[#, 0] &",
             "Function[x, Tanh[x] * LogisticSigmoid[x] / 2]", "# &", "1.5 &", "Exp[-#^2] &"]


@pytest.mark.parametrize("f", FUNCTIONS)
def test_elementwise(f):
    check(build(f'NetChain[{{ElementwiseLayer[{f}]}}, "Input" -> {{3, 4}}]'))


@pytest.mark.parametrize("f", ["Log", "Sqrt", "#^0.5 &", "Log[#] + Sqrt[#] &"])
def test_elementwise_positive_domain(f):
    check(build(f'NetChain[{{ElementwiseLayer[{f}]}}, "Input" -> 5]'), positive=True)


@pytest.mark.parametrize("f,n", [("Plus", 2), ("Times", 3), ("Subtract", 2), ("Max", 3),
                                 ("Min", 2), ("#1 * #2 + #3 &", 3), ("#1 / (1 + #2^2) &", 2)])
def test_threading(f, n):
    ports = ", ".join(f'NetPort["x{i}"]' for i in range(n))
    shapes = ", ".join(f'"x{i}" -> {{2, 3}}' for i in range(n))
    check(build(f"NetGraph[{{ThreadingLayer[{f}]}}, {{{{{ports}}} -> 1}}, {shapes}]"))


LOSSES = [
    'NetGraph[{MeanSquaredLossLayer[]}, {}, "Input" -> {3, 2}]',
    'NetGraph[{MeanSquaredLossLayer[]}, {}, "Input" -> "Real"]',
    'NetGraph[{MeanAbsoluteLossLayer[]}, {}, "Input" -> {3, 2}]',
    'NetGraph[{CrossEntropyLossLayer["Index"]}, {}, "Input" -> 5]',
    'NetGraph[{CrossEntropyLossLayer["Index"]}, {}, "Input" -> {3, 5}]',
    'NetGraph[{CrossEntropyLossLayer["Probabilities"]}, {}, "Input" -> 4]',
    'NetGraph[{CrossEntropyLossLayer["Probabilities"]}, {}, "Input" -> {2, 4}]',
    'NetGraph[{CrossEntropyLossLayer["Binary"]}, {}, "Input" -> {3}]',
    'NetGraph[{CrossEntropyLossLayer["Binary"]}, {}, "Input" -> "Real"]',
]


@pytest.mark.parametrize("opset", [13, 17, 18])
@pytest.mark.parametrize("text", LOSSES)
def test_losses(text, opset):
    check(build(text), opset, probabilities=True)


def test_cross_entropy_clips_zero_probability():
    net = build('NetGraph[{CrossEntropyLossLayer["Index"]}, {}, "Input" -> 3]')
    model = to_onnx(net)
    x = np.array([[0, 0.5, 0.5], [1, 0, 0]], np.float32)
    t = np.array([1, 1], np.int64)
    got = ort.InferenceSession(model.SerializeToString()).run(None, {"Input": x, "Target": t})[0]
    want = net({"Input": x, "Target": t})
    assert np.allclose(got, want) and np.isclose(got[0], -np.log(np.float32(1e-30)))


EXAMPLES = {
    "lenet_bn": 'NetChain[{ConvolutionLayer[6, 5], BatchNormalizationLayer[], Ramp, PoolingLayer[2, 2], '
                'ConvolutionLayer[16, 5], BatchNormalizationLayer[], Ramp, PoolingLayer[2, 2], '
                'FlattenLayer[], LinearLayer[10], SoftmaxLayer[]}, "Input" -> {1, 28, 28}]',
    "check_ok": 'NetChain[{NetChain[<|"conv1" -> ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1], '
                '"bn1" -> BatchNormalizationLayer[], "relu1" -> Ramp, '
                '"pool1" -> PoolingLayer[{2, 2}, {2, 2}], '
                '"conv2" -> ConvolutionLayer[32, {3, 3}, "Stride" -> 2, "PaddingSize" -> "Same"], '
                '"bn2" -> BatchNormalizationLayer[], "relu2" -> Ramp, '
                '"pool2" -> PoolingLayer[2, 2, "Function" -> Mean]|>], FlattenLayer[], LinearLayer[64], '
                'Ramp, DropoutLayer[0.25], LinearLayer[10], SoftmaxLayer[]}, "Input" -> {3, 32, 32}]',
    "residual": 'NetGraph[<|"a" -> ConvolutionLayer[4, {3, 3}, "PaddingSize" -> 1], '
                '"b" -> BatchNormalizationLayer[], "relu" -> Ramp, "sum" -> TotalLayer[]|>, '
                '{NetPort["Input"] -> "a" -> "b" -> "relu", {"relu", NetPort["Skip"]} -> "sum"}, '
                '"Input" -> {4, 5, 5}]',
    "shared": 'NetChain[{LinearLayer[4, "Weights" -> NetSharedArray["w"]], Tanh, '
              'LinearLayer[4, "Weights" -> NetSharedArray["w"]], BatchNormalizationLayer[], '
              'LinearLayer[2]}, "Input" -> 4]',
    "two_outputs": 'NetGraph[<|"lin" -> LinearLayer[3], "sm" -> SoftmaxLayer[], "sig" -> LogisticSigmoid, '
                   '"cat" -> CatenateLayer[]|>, {"lin" -> "sm" -> NetPort["Probs"], '
                   '{"lin", "sig"} -> "cat" -> NetPort["Both"], "lin" -> "sig"}, "Input" -> {2, 2}]',
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_nets(name):
    check(build(EXAMPLES[name]), batch=4)


@pytest.mark.parametrize("opset", range(13, 22))
def test_every_operator_set_version(opset):
    net = build(EXAMPLES["check_ok"])
    model = check(net, opset, batch=2)
    assert model.opset_import[0].version == opset


def test_periodic_padding_needs_opset_19():
    net = build('NetChain[{PaddingLayer[{{1, 2}, {2, 1}}, "Padding" -> "Periodic"]}, '
                '"Input" -> {3, 4}]')
    check(net, 19)
    with pytest.raises(NetDSLError, match="OperatorSetVersion 19"):
        to_onnx(net, 17)
    # "Reversed" has no ONNX mode but is exported by slices, at every operator set
    check(build('NetChain[{PaddingLayer[{{1, 1}}, "Padding" -> "Reversed"]}, "Input" -> 3]'), 13)


def test_structure_of_the_model():
    net = build(EXAMPLES["shared"])
    model = to_onnx(net)
    names = {i.name for i in model.graph.initializer}
    assert {"shared/w", "1/Biases", "3/Biases", "4/Scaling", "4/MovingMean",
            "5/Weights"} <= names
    assert sum(1 for i in model.graph.initializer if i.name == "shared/w") == 1
    (inp,) = model.graph.input
    assert inp.name == "Input" and inp.type.tensor_type.shape.dim[0].dim_param == "N"
    assert [o.name for o in model.graph.output] == ["Output"]
    conv = to_onnx(build(LAYERS[3]))
    for node in conv.graph.node:
        if node.op_type in ("Conv", "MaxPool", "AveragePool"):
            attrs = {a.name: a for a in node.attribute}
            assert "pads" in attrs and "auto_pad" not in attrs
    bn = next(n for n in model.graph.node if n.op_type == "BatchNormalization")
    momentum = next(a.f for a in bn.attribute if a.name == "momentum")
    assert np.isclose(momentum, 0.9)


def test_batch_sizes(tmp_path):
    net = build(EXAMPLES["lenet_bn"])
    netdsl.save(net, tmp_path / "n.onnx")
    sess = ort.InferenceSession(str(tmp_path / "n.onnx"))
    for batch in (1, 5):
        x = np.random.default_rng(batch).normal(size=(batch, 1, 28, 28)).astype(np.float32)
        assert np.max(np.abs(sess.run(None, {"Input": x})[0] - net(x))) <= TOL


def test_export_from_the_language(tmp_path):
    s = netdsl.Session()
    s.base_dir = str(tmp_path)
    s.evaluate('net = NetInitialize@NetChain[{LinearLayer[3], Ramp}, "Input" -> 2]')
    assert s.evaluate('Export["a.onnx", net]') == "a.onnx"
    assert onnx.load(str(tmp_path / "a.onnx")).opset_import[0].version == 17
    s.evaluate('Export["b.onnx", net, "OperatorSetVersion" -> 13]')
    assert onnx.load(str(tmp_path / "b.onnx")).opset_import[0].version == 13
    with pytest.raises(NetDSLError) as e:
        s.evaluate('Export["c.onnx", net, "OperatorSetVersion" -> 12]')
    assert e.value.tag == "opset" and "13 to 21" in e.value.text
    with pytest.raises(NetDSLError) as e:
        s.evaluate('Export["d.onnx", NetChain[{LinearLayer[3]}, "Input" -> 2]]')
    assert e.value.tag == "nninit"
    with pytest.raises(NetDSLError) as e:
        s.evaluate('Export["e.onnx", {1, 2}]')
    assert e.value.tag == "type"


def test_layer_without_mapping_is_named(monkeypatch):
    from netdsl.formats import onnx_ops
    monkeypatch.delitem(onnx_ops.EXPORTERS, "SoftmaxLayer")
    net = build('NetChain[<|"lin" -> LinearLayer[3], "sm" -> SoftmaxLayer[]|>, "Input" -> 2]')
    with pytest.raises(NetDSLError, match='SoftmaxLayer of layer "sm" cannot be exported to '
                                          'ONNX') as e:
        to_onnx(net)
    assert e.value.tag == "onnxnosup"


def test_missing_onnx_is_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    net = build('NetChain[{LinearLayer[3]}, "Input" -> 2]')
    with pytest.raises(NetDSLError, match=r"pip install 'netdsl\[onnx\]'"):
        to_onnx(net)


@pytest.mark.parametrize("text, x", [
    ('NetChain[{OrderingLayer[All], LinearLayer[2]}, "Input" -> 3]',
     np.float32([[0.3, 0.1, 0.2], [0.1, 0.2, 0.3]])),
    ('NetChain[{ElementwiseLayer[Tanh]}, "Input" -> {4, Restricted["Integer", 3]}]',
     np.array([[1, 2, 3, 1]], np.int64)),
    ('NetChain[{SequenceMostLayer[], EmbeddingLayer[3], LinearLayer[2]}, '
     '"Input" -> {5, Restricted["Integer", 3]}]', np.array([[1, 2, 3, 1, 2]], np.int64)),
])
def test_integers_read_by_a_real_layer_are_cast(text, x):
    """As the executor's ToReal step: a Cast before a layer that computes with reals (the
    model failed onnx.checker with int64 into Gemm or Tanh)."""
    net = build(text)
    model = to_onnx(net, 17)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, net(x), rtol=1e-6, atol=1e-6)
