"""ExtractLayer: Wolfram's Extract per example (positions from the "Position" port), against
a naive loop written here, float64 finite differences, PyTorch and onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from layer_harness import build, check_gradients, file_round_trip, forward, onnx_run, \
    to_batch_last
from netdsl.errors import NetDSLError


def naive(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Extract[x_b, pos_b] for each example b, one position at a time (batch first)."""
    out = []
    for xb, pb in zip(x, pos):
        pb = np.asarray(pb)
        if pb.ndim == 0:
            pb = pb[None]
        lead = pb.shape[:-1]
        items = []
        for p in pb.reshape(-1, pb.shape[-1]):
            part = xb
            for k in p:
                part = part[k - 1 if k > 0 else part.shape[0] + k]
            items.append(part)
        out.append(np.asarray(items).reshape(lead + np.shape(items[0])))
    return np.asarray(out)


def positions(rng, n_examples: int, lead: tuple, sizes: tuple) -> np.ndarray:
    """Random valid positions, negative ones included (batch first)."""
    pos = np.empty((n_examples,) + lead + (len(sizes),), np.int64)
    for j, n in enumerate(sizes):
        k = rng.integers(1, n + 1, (n_examples,) + lead)
        pos[..., j] = np.where(rng.random(k.shape) < 0.4, k - n - 1, k)
    return pos


CASES = [  # (input dims, position dims)
    ((5,), ()),
    ((5, 2, 3), ()),
    ((4,), (1,)),
    ((3, 4), (2,)),
    ((2, 3, 4), (3,)),
    ((3,), (6, 1)),
    ((2, 3, 4), (5, 1)),
    ((2, 3, 4), (5, 2)),
    ((2, 3, 4), (5, 3)),
    ((3, 4, 2), (2, 3, 2)),     # the page's {m1, ..., mp, s} with p = 2
]


@pytest.mark.parametrize("xdims,pdims", CASES)
def test_forward_matches_naive_loop(xdims, pdims):
    pos_spec = '"Integer"' if not pdims else "{" + ", ".join(map(str, pdims)) + "}"
    layer = build(f'ExtractLayer["Input" -> {{{", ".join(map(str, xdims))}}}, '
                  f'"Position" -> {pos_spec}]')
    rng = np.random.default_rng(len(xdims) * 10 + len(pdims))
    x = rng.standard_normal((4,) + xdims)
    if pdims:
        pos = positions(rng, 4, pdims[:-1], xdims[:pdims[-1]])
    else:
        pos = positions(rng, 4, (), xdims[:1])[..., 0]
    expected = naive(x, pos)
    assert tuple(layer.ports["Output"].shape) == expected.shape[1:]
    (y,) = forward(layer, {}, x, pos, dtype=np.float64)
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("xdims,pdims", [c for c in CASES if c[1]])
def test_gradient_matches_finite_differences(xdims, pdims):
    layer = build(f'ExtractLayer["Input" -> {{{", ".join(map(str, xdims))}}}, '
                  f'"Position" -> {{{", ".join(map(str, pdims))}}}]')
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3,) + xdims)
    pos = positions(rng, 3, pdims[:-1], xdims[:pdims[-1]])
    check_gradients(layer, {}, [to_batch_last(x), to_batch_last(pos)])


def test_repeated_positions_accumulate():
    layer = build('ExtractLayer["Input" -> {3, 2}, "Position" -> {4, 1}]')
    x = to_batch_last(np.arange(6.0).reshape(1, 3, 2))
    pos = to_batch_last(np.array([[[2], [-2], [2], [1]]]))
    from layer_harness import ctx
    (y,), cache = layer.forward(ctx(grad=True), {}, x, pos)
    dy = np.ones_like(y)
    (dx, dpos), _ = layer.backward(ctx(grad=True), {}, cache, dy)
    assert dpos is None                   # no gradient to integer positions
    np.testing.assert_array_equal(dx[..., 0], [[1, 1], [3, 3], [0, 0]])
    check_gradients(layer, {}, [x, pos])


def test_language_forms_and_batches():
    s = netdsl.Session()
    s.evaluate('l = ExtractLayer[]')
    np.testing.assert_array_equal(
        s.evaluate('l[<|"Input" -> {{1, 2, 3}, {4, 5, 6}}, "Position" -> {{2, 1}, {1, 3}, '
                   '{-1, -1}}|>]'), [4, 3, 6])
    np.testing.assert_array_equal(
        s.evaluate('l[<|"Input" -> {{1, 2, 3}, {4, 5, 6}}, "Position" -> {2}|>]'), [4, 5, 6])
    assert s.evaluate('l[<|"Input" -> {10, 20, 30}, "Position" -> -1|>]') == 30
    # a batch: one array of positions per example
    s.evaluate('m = ExtractLayer["Input" -> 3, "Position" -> {2, 1}]')
    np.testing.assert_array_equal(
        s.evaluate('m[<|"Input" -> {{1, 2, 3}, {4, 5, 6}}, "Position" -> {{{1}, {3}}, '
                   '{{-1}, {2}}}|>]'), [[1, 3], [6, 5]])


def test_integers_stay_integers():
    s = netdsl.Session()
    s.evaluate('l = ExtractLayer["Input" -> {3, Restricted["Integer", 10]}, '
               '"Position" -> {2, 1}]')
    assert s.evaluate('l')
    y = s.evaluate('l[<|"Input" -> {4, 7, 9}, "Position" -> {{3}, {1}}|>]')
    assert np.asarray(y).dtype.kind == "i"
    np.testing.assert_array_equal(y, [9, 4])


def test_shape_rule_both_directions():
    layer = build('ExtractLayer["Input" -> {2, 3, 4}, "Position" -> {5, 2}]')
    assert layer.ports["Output"].shape == (5, 4)
    layer = build('ExtractLayer["Input" -> {2, 3, 4}, "Position" -> "Integer"]')
    assert layer.ports["Output"].shape == (3, 4)
    back = build('ExtractLayer["Position" -> {3, 2}, "Output" -> {3, 7}]')
    assert back.ports["Input"].shape == (None, None, 7)
    g = netdsl.evaluate('NetGraph[<|"e" -> ExtractLayer["Position" -> {6, 1}], '
                        '"l" -> LinearLayer[2]|>, {"e" -> "l"}, "Input" -> {4, 3}]')
    assert g.ports["Output"].shape == (2,)


def test_varying_lengths():
    layer = build('ExtractLayer["Input" -> {"Varying", 2}, "Position" -> {"Varying", 1}]')
    assert len(layer.ports["Output"].shape) == 2
    s = netdsl.Session()
    s.evaluate('l = ExtractLayer["Input" -> {"Varying", 2}, "Position" -> {2, 1}]')
    ys = s.evaluate('l[<|"Input" -> {{{1, 2}, {3, 4}, {5, 6}}, {{7, 8}}}, '
                    '"Position" -> {{{-1}, {1}}, {{1}, {-1}}}|>]')
    np.testing.assert_array_equal(np.asarray(ys, float), [[[5, 6], [1, 2]], [[7, 8], [7, 8]]])


@pytest.mark.parametrize("text,words", [
    ('ExtractLayer["Input" -> {2, 3, 4}, "Position" -> {5, 4}]', "must not exceed the rank 3"),
    ('ExtractLayer["Input" -> {2, 2}, "Position" -> {"Varying"}]', "must be fixed"),
    ('ExtractLayer["Input" -> "Real"]', "rank 1 or more"),
    ('ExtractLayer[3]', "positional"),
    ('ExtractLayer["Foo" -> 1]', "not a known parameter"),
])
def test_bad_specifications(text, words):
    with pytest.raises(NetDSLError, match=words):
        netdsl.evaluate(text)


@pytest.mark.parametrize("pos", ["4", "-4", "0"])
def test_out_of_range_positions_are_errors(pos):
    s = netdsl.Session()
    with pytest.raises(NetDSLError) as e:
        s.evaluate(f'ExtractLayer[][<|"Input" -> {{10, 20, 30}}, "Position" -> {pos}|>]')
    assert e.value.tag == "partw" and e.value.symbol == "ExtractLayer"


def test_non_integer_positions_are_errors():
    with pytest.raises(NetDSLError):
        netdsl.evaluate('ExtractLayer[][<|"Input" -> {10, 20, 30}, "Position" -> 1.5|>]')


def test_gradient_through_a_graph():
    s = netdsl.Session()
    g = s.evaluate('g = NetInitialize@NetGraph[<|"l" -> LinearLayer[{3, 2}], '
                   '"e" -> ExtractLayer["Position" -> {2, 2}]|>, {"l" -> "e"}, "Input" -> 4]')
    x = np.random.default_rng(0).standard_normal((1, 4))
    w = np.asarray(s.evaluate('NetExtract[g, {"l", "Weights"}]'), float)
    xs = "{" + ", ".join(repr(float(v)) for v in x[0]) + "}"
    grad = np.asarray(s.evaluate(f'g[<|"Input" -> {xs}, "Position" -> '
                                 f'{{{{3, 1}}, {{-1, 1}}}}|>, NetPortGradient["Input"]]'), float)
    # both positions pick element {3, 1} of the LinearLayer's {3, 2} output: row 5 of W
    np.testing.assert_allclose(grad, 2 * w.reshape(6, 4)[4], rtol=1e-5)
    assert g is not None


def test_options_summary_and_files(tmp_path):
    layer = build('ExtractLayer["Input" -> {2, 3}, "Position" -> {4, 1}]')
    rules = {str(r.args[0]): r.args[1] for r in netdsl.evaluate(
        'Options[ExtractLayer["Input" -> {2, 3}, "Position" -> {4, 1}]]').args}
    assert set(rules) == {"Input", "Position", "Output"}
    assert "Position" in layer.output_form() and "{4, 1}" in layer.output_form()
    assert netdsl.evaluate(layer.input_form()) == layer
    file_round_trip(layer, tmp_path)
    g = netdsl.evaluate('NetGraph[{ExtractLayer["Input" -> {2, 3}, "Position" -> {4, 1}]}, {}]')
    file_round_trip(g, tmp_path, "g.safetensors")


def _feed():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 2, 3, 4)).astype(np.float32)
    pos = positions(rng, 3, (5,), (2, 3))
    return x, pos


def test_onnx_matches_numpy():
    net = netdsl.evaluate('NetGraph[{ExtractLayer["Input" -> {2, 3, 4}, "Position" -> {5, 2}]}, '
                          '{}]')
    x, pos = _feed()
    np.testing.assert_allclose(onnx_run(net, {"Input": x, "Position": pos}), naive(x, pos),
                               rtol=1e-6)
    net = netdsl.evaluate('NetGraph[{ExtractLayer["Input" -> {3, 4}, "Position" -> "Integer"]}, '
                          '{}]')
    p = np.array([1, -1, 3])
    np.testing.assert_allclose(onnx_run(net, {"Input": x[:, 0], "Position": p}),
                               naive(x[:, 0], p), rtol=1e-6)


def test_torch_matches_numpy_forward_and_backward():
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    net = netdsl.evaluate('NetGraph[{ExtractLayer["Input" -> {2, 3, 4}, "Position" -> {5, 2}]}, '
                          '{}]')
    x, pos = _feed()
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    y = to_torch(net)(Input=xt, Position=torch.tensor(pos))
    np.testing.assert_allclose(y.detach().numpy(), naive(x.astype(np.float64), pos))
    dy = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(torch.tensor(dy))
    layer = [lyr for _, lyr in net.leaves()][0]
    from layer_harness import ctx
    (_,), cache = layer.forward(ctx(grad=True), {}, to_batch_last(x.astype(np.float64)),
                                to_batch_last(pos))
    (dx, _), _ = layer.backward(ctx(grad=True), {}, cache, to_batch_last(dy))
    np.testing.assert_allclose(xt.grad.numpy(), np.moveaxis(dx, -1, 0), rtol=1e-10)
