"""CTCLossLayer: Wolfram's ports and shape forms (independent "Varying" lengths for the
input and the target, the class count from the input's size, a target encoder), the loss
against a brute-force sum over every path written here, repeated labels and targets that
cannot be aligned, gradients against float64 finite differences and torch's ctc_loss, a
recurrent NetGraph on a batch of mixed lengths, NetTrain, text and net-file round trips,
PyTorch conversion and ONNX's clear refusal."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError, ShapeError
from netdsl.layers import LAYER_TYPES
from netdsl.layers.shapes import is_length_var
from layer_harness import build, check_gradients, ctx, file_round_trip, forward, round_losses, \
    to_batch_last

GRAPH = ('NetGraph[<|"rnn" -> GatedRecurrentLayer[6], "lin" -> NetMapOperator[LinearLayer[4]], '
         '"sm" -> SoftmaxLayer[], "ctc" -> CTCLossLayer[]|>, {NetPort["Input"] -> "rnn" -> '
         '"lin" -> "sm" -> NetPort["ctc", "Input"], NetPort["Target"] -> NetPort["ctc", '
         '"Target"]}, "Input" -> {"Varying", 3}]')


def ev(text):
    return netdsl.Session().evaluate(text)


# ---------------------------------------------------------------- the reference
def collapse(path, blank):
    """A path's labelling: repeated classes merged, then blanks removed (Graves' B)."""
    out = []
    prev = None
    for k in path:
        if k != prev and k != blank:
            out.append(k)
        prev = k
    return tuple(out)


def brute_force(probs, target):
    """-Log of the sum, over every path of classes (0-based, blank last) whose labelling is
    the target (1-based), of the product of its probabilities."""
    steps, size = probs.shape
    want = tuple(int(k) - 1 for k in target)
    total = 0.0
    for path in itertools.product(range(size), repeat=steps):
        if collapse(path, size - 1) == want:
            total += math.prod(probs[t, k] for t, k in enumerate(path))
    return -math.log(total) if total > 0 else math.inf


def random_probs(rng, shape):
    p = rng.uniform(0.05, 1.0, shape)
    return p / p.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------- ports and shapes
def test_declaration_and_default_ports():
    cls = LAYER_TYPES["CTCLossLayer"]
    assert cls.positional == () and cls.options == ()
    layer = build("CTCLossLayer[]")
    assert layer.is_loss and layer.port_names() == (("Input", "Target"), ("Loss",))
    x, t = layer.ports["Input"], layer.ports["Target"]
    assert len(x.shape) == 2 and is_length_var(x.shape[0]) and x.shape[1] is None
    assert t.integer and len(t.shape) == 1 and is_length_var(t.shape[0])
    assert t.shape[0] is not x.shape[0]          # two lengths of their own
    assert layer.ports["Loss"].shape == ()


def test_no_longer_reported_as_unsupported():
    from netdsl.builtins.unknown import unknown_head_warning
    assert unknown_head_warning("CTCLossLayer") is None


@pytest.mark.parametrize("text,input_shape,target_shape,classes", [
    ('CTCLossLayer["Input" -> {"Varying", 4}]', ("n", 4), ("n",), 3),
    ('CTCLossLayer["Input" -> {6, 3}]', (6, 3), ("n",), 2),
    ('CTCLossLayer["Input" -> {6, Automatic}, "Target" -> {4}]', (6, None), (4,), None),
    ('CTCLossLayer["Input" -> {"Varying", Automatic}, "Target" -> {"Varying"}]',
     ("n", None), ("n",), None),
    ('CTCLossLayer["Input" -> {"Varying", 3}, "Target" -> {"Varying"}]', ("n", 3), ("n",), 2),
    ('CTCLossLayer["Target" -> NetEncoder[{"Characters", "abc"}]]', ("n", 4), ("n",), 3),
    ('CTCLossLayer["Input" -> {5, 3}, "Target" -> {5}]', (5, 3), (5,), 2),
])
def test_shape_forms(text, input_shape, target_shape, classes):
    layer = build(text)

    def words(shape):
        return tuple("n" if is_length_var(d) else d for d in shape)
    assert words(layer.ports["Input"].shape) == input_shape
    assert words(layer.ports["Target"].shape) == target_shape
    assert layer.ports["Target"].integer and layer.ports["Target"].classes == classes
    assert layer.values["Classes"] == classes


@pytest.mark.parametrize("text,error,match", [
    ('CTCLossLayer["Input" -> {3, 3}, "Target" -> {4}]', ShapeError, "cannot be longer"),
    ('CTCLossLayer["Input" -> 3]', ShapeError, "matrix"),
    ('CTCLossLayer["Input" -> {"Varying", 1}]', ShapeError, "size c\\+1"),
    ('CTCLossLayer["Target" -> {2, 2}]', ShapeError, "Target"),
    ('CTCLossLayer["Input" -> {"Varying", 4}, "Target" -> NetEncoder[{"Characters", "ab"}]]',
     ShapeError, "CTCLossLayer"),
    ("CTCLossLayer[2]", EvaluationError, "positional"),
    ('CTCLossLayer["Blank" -> 1]', EvaluationError, "not a known parameter"),
])
def test_bad_specifications(text, error, match):
    with pytest.raises(error, match=match):
        ev(text)


# ---------------------------------------------------------------- values
@pytest.mark.parametrize("steps,classes,target", [
    (1, 1, [1]), (2, 1, [1]), (3, 2, [1, 2]), (4, 2, [2, 1]), (3, 2, [1, 1]),
    (4, 3, [1, 1]), (5, 2, [1, 2, 1]), (4, 3, [3]), (5, 3, [2, 2, 3]), (5, 2, [1, 1, 1]),
])
def test_forward_matches_brute_force(steps, classes, target):
    layer = build(f'CTCLossLayer["Input" -> {{"Varying", {classes + 1}}}]')
    rng = np.random.default_rng(steps * 10 + classes)
    probs = random_probs(rng, (3, steps, classes + 1))
    targets = np.array([target] * 3)
    (loss,) = forward(layer, {}, probs, targets, dtype=np.float64)
    want = [brute_force(p, target) for p in probs]
    np.testing.assert_allclose(loss, want, rtol=1e-10)
    (loss32,) = forward(layer, {}, probs, targets)          # float32 data, float32 out
    np.testing.assert_allclose(loss32, want, rtol=1e-5)


def test_examples_with_different_targets_in_one_call():
    layer = build('CTCLossLayer["Input" -> {"Varying", 4}]')
    rng = np.random.default_rng(5)
    probs = random_probs(rng, (6, 5, 4))
    targets = np.array([[1, 2], [2, 2], [3, 1], [1, 1], [3, 3], [2, 3]])
    (loss,) = forward(layer, {}, probs, targets, dtype=np.float64)
    np.testing.assert_allclose(loss, [brute_force(p, t) for p, t in zip(probs, targets)],
                               rtol=1e-10)


def test_applied_to_data_through_the_language():
    s = netdsl.Session()
    rng = np.random.default_rng(6)
    probs = random_probs(rng, (4, 3))
    s["p"] = probs
    got = s.evaluate('CTCLossLayer[][<|"Input" -> p, "Target" -> {2, 1}|>]')
    assert got == pytest.approx(brute_force(probs, [2, 1]), rel=1e-5)
    # a batch of inputs and targets of different lengths: one pass per group of equal shapes
    probs2 = random_probs(rng, (6, 3))
    s["p2"] = probs2
    want = [brute_force(probs, [2, 1]), brute_force(probs2, [1, 1, 2]), brute_force(probs, [1])]
    for layer in ('CTCLossLayer["Input" -> {"Varying", 3}]', "CTCLossLayer[]"):
        got = s.evaluate(f'{layer}[<|"Input" -> {{p, p2, p}}, "Target" -> {{{{2, 1}}, '
                         f'{{1, 1, 2}}, {{1}}}}|>]')
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_target_through_a_characters_encoder():
    s = netdsl.Session()
    rng = np.random.default_rng(7)
    probs = random_probs(rng, (5, 4))
    s["p"] = probs
    got = s.evaluate('CTCLossLayer["Target" -> NetEncoder[{"Characters", "abc"}]][<|"Input" -> '
                     'p, "Target" -> "cab"|>]')
    assert got == pytest.approx(brute_force(probs, [3, 1, 2]), rel=1e-5)


def test_zero_probabilities_give_finite_values():
    """A path through a probability of exactly 0 counts for nothing; the loss stays finite
    (probabilities clipped at 1e-30, as CrossEntropyLossLayer's) and so does its gradient."""
    layer = build('CTCLossLayer["Input" -> {"Varying", 3}]')
    probs = np.array([[[0.5, 0.0, 0.5], [0.0, 0.7, 0.3], [0.2, 0.3, 0.5]]])
    (loss,) = forward(layer, {}, probs, np.array([[1, 2]]), dtype=np.float64)
    assert loss[0] == pytest.approx(brute_force(probs[0], [1, 2]), rel=1e-9)
    x, t = to_batch_last(probs), to_batch_last(np.array([[1, 2]]))
    (_,), cache = layer.forward(ctx(grad=True), {}, x, t)
    (dx, dt), _ = layer.backward(ctx(grad=True), {}, cache, np.ones(1))
    assert np.all(np.isfinite(dx)) and dt is None
    assert dx[0, 1, 0] == 0 and dx[1, 0, 0] == 0              # where the clip acts


# ---------------------------------------------------------------- targets that cannot align
def test_repeated_classes_need_a_blank_between_them():
    layer = build('CTCLossLayer["Input" -> {"Varying", 3}]')
    rng = np.random.default_rng(8)
    probs = random_probs(rng, (1, 2, 3))
    with pytest.raises(EvaluationError, match="needs at least 3 input steps.*has 2") as e:
        forward(layer, {}, probs, np.array([[1, 1]]))
    assert e.value.tag == "netseqlen"
    (loss,) = forward(layer, {}, probs, np.array([[1, 2]]), dtype=np.float64)   # no repeat
    assert loss[0] == pytest.approx(brute_force(probs[0], [1, 2]), rel=1e-10)


def test_target_longer_than_the_input_is_an_error():
    s = netdsl.Session()
    s["p"] = random_probs(np.random.default_rng(9), (2, 3))
    with pytest.raises(EvaluationError, match="CTCLossLayer.*needs at least 3 input steps"):
        s.evaluate('CTCLossLayer[][<|"Input" -> p, "Target" -> {1, 2, 1}|>]')


@pytest.mark.parametrize("target", ["{1, 3}", "{0, 1}"])
def test_class_index_out_of_range(target):
    s = netdsl.Session()
    s["p"] = random_probs(np.random.default_rng(10), (4, 3))
    with pytest.raises(netdsl.NetDSLError):
        s.evaluate(f'CTCLossLayer["Input" -> {{"Varying", 3}}][<|"Input" -> p, "Target" -> '
                   f'{target}|>]')
    layer = build('CTCLossLayer["Input" -> {"Varying", 3}]')
    with pytest.raises(EvaluationError, match="not between 1 and 2") as e:
        forward(layer, {}, random_probs(np.random.default_rng(1), (1, 4, 3)),
                np.array([[1, 3]]))
    assert e.value.tag == "invindex"


def test_negative_or_nan_input():
    layer = build('CTCLossLayer["Input" -> {"Varying", 3}]')
    probs = random_probs(np.random.default_rng(11), (1, 3, 3))
    probs[0, 1, 0] = -0.1
    with pytest.raises(EvaluationError, match="negative") as e:
        forward(layer, {}, probs, np.array([[1]]))
    assert e.value.tag == "invprob"
    s = netdsl.Session()
    with pytest.raises(netdsl.NetDSLError):
        s.evaluate('CTCLossLayer["Input" -> {"Varying", 2}][<|"Input" -> {{0.5, 0.5}, '
                   '{Indeterminate, 0.5}}, "Target" -> {1}|>]')


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("steps,classes,target", [
    (1, 1, [1]), (4, 2, [1, 2]), (5, 3, [2, 2]), (6, 3, [1, 3, 1]), (5, 2, [1, 1, 1]),
])
def test_gradients_match_finite_differences(steps, classes, target):
    layer = build(f'CTCLossLayer["Input" -> {{"Varying", {classes + 1}}}]')
    rng = np.random.default_rng(steps + classes)
    x = to_batch_last(random_probs(rng, (3, steps, classes + 1)))
    t = to_batch_last(np.array([target] * 3))
    check_gradients(layer, {}, [x, t])             # the integer target is not differentiated
    (_,), cache = layer.forward(ctx(grad=True), {}, x, t)
    (dx, dt), darrays = layer.backward(ctx(grad=True), {}, cache, np.ones(3))
    assert dt is None and darrays == {}
    assert dx.shape == x.shape


def test_gradient_is_the_alignment_posterior():
    """With probabilities y, -y dL/dy summed over the classes is 1 at every step: the
    posterior over the alignment positions at that step sums to one (Graves, eq. 14)."""
    layer = build('CTCLossLayer["Input" -> {"Varying", 4}]')
    rng = np.random.default_rng(12)
    x = to_batch_last(random_probs(rng, (2, 6, 4)))
    t = to_batch_last(np.array([[1, 3, 3], [2, 1, 2]]))
    (_,), cache = layer.forward(ctx(grad=True), {}, x, t)
    (dx, _), _ = layer.backward(ctx(grad=True), {}, cache, np.ones(2))
    np.testing.assert_allclose(-(x * dx).sum(axis=1), 1.0, rtol=1e-10)


def test_against_torch_ctc_loss():
    """torch's ctc_loss takes log-probabilities (the blank 0-based c here) and its gradient
    is meant for log_softmax outputs: compare the values, and the gradients with respect to
    the logits of a softmax (netdsl's probability gradient chained through it)."""
    torch = pytest.importorskip("torch")
    layer = build('CTCLossLayer["Input" -> {"Varying", 5}]')
    rng = np.random.default_rng(13)
    z = rng.normal(size=(4, 7, 5))
    probs = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    targets = np.array([[1, 2, 2], [4, 4, 4], [3, 1, 2], [2, 4, 1]])
    x, t = to_batch_last(probs), to_batch_last(targets)
    (loss,), cache = layer.forward(ctx(grad=True), {}, x, t)
    dloss = rng.normal(size=4)
    (dx, _), _ = layer.backward(ctx(grad=True), {}, cache, dloss)
    dp = np.moveaxis(dx, -1, 0)
    dz = probs * (dp - (probs * dp).sum(axis=-1, keepdims=True))     # through the softmax

    zt = torch.tensor(z, requires_grad=True)
    logp = torch.log_softmax(zt, dim=-1).transpose(0, 1)             # (T, N, C)
    lt = torch.nn.functional.ctc_loss(logp, torch.tensor(targets - 1), torch.full((4,), 7),
                                      torch.full((4,), 3), blank=4, reduction="none")
    lt.backward(torch.tensor(dloss))
    np.testing.assert_allclose(loss, lt.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(dz, zt.grad.numpy(), rtol=1e-8, atol=1e-12)


# ---------------------------------------------------------------- in nets
def test_recurrent_graph_on_mixed_lengths():
    """Inputs and targets of different lengths in one batch: each example's loss is the
    loss of the graph's probabilities for it, by brute force."""
    s = netdsl.Session()
    net = s.evaluate(f"net = NetInitialize[{GRAPH}, RandomSeeding -> 2]")
    assert net.ports["Target"].shape[0] is not net.ports["Input"].shape[0]
    rng = np.random.default_rng(14)
    shapes = [(4, 2), (5, 3), (4, 2), (3, 1)]
    xs = [rng.normal(size=(steps, 3)).astype(np.float32) for steps, _ in shapes]
    ts = [rng.integers(1, 4, n) for _, n in shapes]
    xo, to = np.empty(4, object), np.empty(4, object)
    for i in range(4):
        xo[i], to[i] = xs[i], ts[i]
    got = net({"Input": xo, "Target": to})
    probe = s.evaluate('NetTake[net, "sm"]')              # the probabilities alone
    want = [brute_force(np.asarray(probe(x[None])[0], np.float64), t) for x, t in zip(xs, ts)]
    np.testing.assert_allclose(got, want, rtol=2e-5)


def test_graph_input_gradient_against_finite_differences():
    """NetTrain's path: the plan's backward through the loss, the softmax and the map, to
    the graph's real input, against central differences (the integer target held)."""
    from netdsl.runtime.context import Ctx
    from netdsl.runtime.gradients import backward
    from netdsl.runtime.plan import compile_plan
    net = ev('NetInitialize[NetGraph[<|"lin" -> NetMapOperator[LinearLayer[3]], "sm" -> '
             'SoftmaxLayer[], "ctc" -> CTCLossLayer[]|>, {NetPort["Input"] -> "lin" -> "sm" '
             '-> NetPort["ctc", "Input"], NetPort["Target"] -> NetPort["ctc", "Target"]}, '
             '"Input" -> {"Varying", 2}], RandomSeeding -> 4]')
    plan = compile_plan(net, "t")
    rng = np.random.default_rng(15)
    x = to_batch_last(rng.normal(size=(2, 5, 2)))
    t = to_batch_last(np.array([[1, 2, 1], [2, 2, 1]]))
    seed = rng.normal(size=2)

    def value(xv):
        outs, _, _ = plan.run(Ctx(), {"Input": xv, "Target": t})
        return float(np.sum(outs["Loss"] * seed))

    c = Ctx(grad=True)
    c.keep_input_grads = True
    _, values, caches = plan.run(c, {"Input": x, "Target": t}, keep=True)
    grads = backward(plan.steps, c, values, caches, {plan.outputs["Loss"]: seed},
                     lambda k, g: None, set(plan.inputs.values()))
    numeric = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        numeric[i] = (value(up) - value(down)) / 2e-6
    np.testing.assert_allclose(grads[plan.inputs["Input"]], numeric, rtol=1e-5, atol=1e-8)


def make_toy_data(rng, n):
    """Sequences of one-hot vectors, each class held for two steps; the target is the
    sequence of classes (no two equal neighbours)."""
    xs, ts = [], []
    for _ in range(n):
        lab = [int(rng.integers(1, 4))]
        while len(lab) < rng.integers(2, 4):
            k = int(rng.integers(1, 4))
            if k != lab[-1]:
                lab.append(k)
        xs.append(np.eye(3, dtype=np.float32)[np.repeat(np.array(lab) - 1, 2)])
        ts.append(lab)
    return xs, ts


def test_nettrain_learns_a_toy_transcription():
    s = netdsl.Session()
    xs, ts = make_toy_data(np.random.default_rng(16), 48)
    s["xs"], s["ts"] = xs, ts
    s.evaluate(f"net = {GRAPH}")
    losses = round_losses(s, '<|"Input" -> xs, "Target" -> ts|>', 15, "LearningRate -> 0.02")
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.25 * losses[0]


# ---------------------------------------------------------------- text, files, export
@pytest.mark.parametrize("text", [
    "CTCLossLayer[]",
    'CTCLossLayer["Input" -> {"Varying", 3}]',
    'CTCLossLayer["Input" -> {6, 3}, "Target" -> {4}]',
    'CTCLossLayer["Target" -> NetEncoder[{"Characters", "abc"}]]',
])
def test_input_form_round_trip(text):
    layer = ev(text)
    back = ev(netdsl.input_form(layer))
    assert back == layer


def test_net_file_round_trip(tmp_path):
    net = ev(f"NetInitialize[{GRAPH}, RandomSeeding -> 5]")
    back = file_round_trip(net, tmp_path)
    feed = {"Input": np.ones((2, 4, 3), np.float32), "Target": np.array([[1, 2], [3, 3]])}
    np.testing.assert_array_equal(back(feed), net(feed))


def test_onnx_export_is_a_clear_error(tmp_path):
    pytest.importorskip("onnx")
    from netdsl.formats.onnx_export import to_onnx
    net = ev(f"NetInitialize[{GRAPH}, RandomSeeding -> 5]")
    with pytest.raises(netdsl.NetDSLError, match="CTCLossLayer.*ONNX has no connectionist"):
        to_onnx(net, 17)


def test_torch_conversion_of_a_graph():
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    net = ev(f"NetInitialize[{GRAPH}, RandomSeeding -> 6]")
    rng = np.random.default_rng(17)
    x = rng.normal(size=(3, 5, 3)).astype(np.float32)
    t = np.array([[1, 2], [3, 3], [2, 1]])
    module = to_torch(net)
    y = module(Input=torch.tensor(x), Target=torch.tensor(t))
    np.testing.assert_allclose(y.detach().numpy(), net({"Input": x, "Target": t}), rtol=1e-5)
    y.sum().backward()                               # differentiable in torch too
    assert all(p.grad is not None for p in module.parameters())


def test_torch_conversion_of_the_layer_gradient():
    """The converted layer's autograd gradient is the probability gradient (torch's own
    ctc_loss backward assumes log_softmax inputs; the conversion does not use it)."""
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    layer = build('CTCLossLayer["Input" -> {"Varying", 4}]')
    rng = np.random.default_rng(18)
    probs = random_probs(rng, (3, 6, 4))
    targets = np.array([[1, 1, 2], [3, 2, 1], [2, 2, 2]])
    xt = torch.tensor(probs, dtype=torch.float32, requires_grad=True)
    y = to_torch(layer)(Input=xt, Target=torch.tensor(targets))
    y.backward(torch.ones(3))
    x, t = to_batch_last(probs), to_batch_last(targets)
    (loss,), cache = layer.forward(ctx(grad=True), {}, x, t)
    (dx, _), _ = layer.backward(ctx(grad=True), {}, cache, np.ones(3))
    np.testing.assert_allclose(y.detach().numpy(), loss, rtol=1e-5)
    np.testing.assert_allclose(xt.grad.numpy(), np.moveaxis(dx, -1, 0), rtol=1e-4, atol=1e-5)
