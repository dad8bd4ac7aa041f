"""Random chains of the tensor layers (transpose, part, padding, resize, aggregation,
constants, normalisations, elementwise, softmax, convolution, pooling): a batch equals its
examples one at a time, so do the input gradients, and the ONNX export run by
onnxruntime gives the same outputs.

Chains are drawn from POOL on a {c, h, w} input; a draw that netdsl refuses (a shape
error, caught before any array exists, as it should be) is drawn again. A sweep of 2,850
more seeds found nothing but float32 conditioning (see the gradient tolerance).
"""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError

POOL = [
    "TransposeLayer[]", "TransposeLayer[2 <-> 3]", "TransposeLayer[{1 <-> 3}]",
    "PartLayer[{All, 1 ;; 3}]", "PartLayer[{1 ;; 2}]", "PartLayer[{All, All, 2 ;; -1}]",
    "PaddingLayer[{{0, 0}, {1, 2}, {1, 0}}]",
    'PaddingLayer[{{0, 0}, {1, 1}, {1, 1}}, "Padding" -> "Reflected"]',
    'PaddingLayer[{{0, 0}, {0, 2}, {1, 1}}, "Padding" -> "Fixed"]',
    'PaddingLayer[{{1, 0}, {0, 0}, {0, 1}}, "Padding" -> 0.5]',
    "ResizeLayer[{Scaled[2], Scaled[2]}]",
    'ResizeLayer[{Scaled[0.5], Scaled[0.5]}, "Resampling" -> "Nearest"]',
    "AggregationLayer[Max, 1]", "AggregationLayer[Mean, 2]",
    "ConstantTimesLayer[]", "ConstantPlusLayer[]", "ParametricRampLayer[]",
    "ElementwiseLayer[Tanh]", "Ramp", "LogisticSigmoid", "ElementwiseLayer[Sin]",
    "SoftmaxLayer[]", "SoftmaxLayer[1]",
    "NormalizationLayer[]", "InstanceNormalizationLayer[]",
    "LocalResponseNormalizationLayer[]", "BatchNormalizationLayer[]",
    "ConvolutionLayer[4, 2]", 'ConvolutionLayer[3, 3, "PaddingSize" -> 1]',
    "PoolingLayer[2, 1]", 'PoolingLayer[2, 2, "Function" -> Mean]',
]


def _random_net(rng):
    """A valid random chain, initialised, with every array random (so that an array's
    default value, 0 or 1, hides nothing)."""
    for _ in range(200):
        c, h, w = (int(v) for v in rng.integers(2, 7, 3))
        layers = [str(rng.choice(POOL)) for _ in range(rng.integers(2, 6))]
        text = f'NetChain[{{{", ".join(layers)}}}, "Input" -> {{{c}, {h}, {w}}}]'
        try:
            net = netdsl.evaluate(f"NetInitialize[{text}, RandomSeeding -> 1]")
        except NetDSLError:
            continue
        return _randomised(net, rng), text, (c, h, w)
    raise AssertionError("no valid chain drawn")


def _randomised(net, rng):
    from netdsl.graph.edit import replace_arrays
    arrays = {}
    for path, layer in net.leaves():
        for name, v in layer.arrays.items():
            if isinstance(v, np.ndarray):
                a = rng.normal(size=v.shape).astype(np.float32)
                arrays[(path, name)] = np.abs(a) + 0.5 if name == "MovingVariance" else a
    return replace_arrays(net, arrays, {})


@pytest.mark.parametrize("seed", range(150))
def test_a_batch_and_its_gradients_agree_with_one_example_at_a_time(seed):
    rng = np.random.default_rng(seed)
    net, text, shape = _random_net(rng)
    batch = int(rng.choice([2, 9]))
    x = rng.normal(size=(batch, *shape)).astype(np.float32)
    alone = np.stack([np.asarray(net(x[i])) for i in range(batch)])
    scale = max(1.0, float(np.abs(alone).max()))
    np.testing.assert_allclose(np.asarray(net(x)), alone, rtol=1e-4, atol=1e-5 * scale,
                               err_msg=text)

    # the gradient of the outputs' dot product with a random g (the plain sum can be
    # constant, e.g. after a normalisation, leaving only rounding noise to compare)
    session = netdsl.Session()
    session["net"] = net
    g = rng.normal(size=alone.shape).astype(np.float32)
    ask = 'net[<|"Input" -> x, NetPortGradient["Output"] -> g|>, NetPortGradient["Input"]]'
    grads = []
    for i in range(batch):
        session["x"], session["g"] = x[i], g[i]
        grads.append(np.asarray(session.evaluate(ask)))
    session["x"], session["g"] = x, g
    together = np.asarray(session.evaluate(ask))
    # float32 through up to five layers, and a normalisation over 2-9 numbers (or of a
    # constant channel: only epsilon keeps it finite) is ill-conditioned: 1e-4 of the scale
    gscale = max(1.0, float(np.abs(np.stack(grads)).max()))
    np.testing.assert_allclose(together, np.stack(grads), rtol=1e-4, atol=1e-4 * gscale,
                               err_msg=text)


@pytest.mark.parametrize("seed", range(150))
def test_the_onnx_export_gives_the_same_outputs(seed):
    ort = pytest.importorskip("onnxruntime")
    from netdsl.formats.onnx_export import to_onnx
    rng = np.random.default_rng(seed)
    net, text, shape = _random_net(rng)
    x = rng.normal(size=(int(rng.choice([2, 9])), *shape)).astype(np.float32)
    want = np.asarray(net(x))
    model = to_onnx(net, 19)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"Input": x})[0]
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale, err_msg=text)
