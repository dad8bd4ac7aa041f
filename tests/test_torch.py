"""netdsl.torch: a net as a torch module gives netdsl's outputs in Test and Train mode, its
arrays come back with from_torch, and a torch optimiser step equals NetTrain's."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import EvaluationError

torch = pytest.importorskip("torch")
from netdsl.torch import ADAM, SGD, from_torch, optimizer_for, to_torch  # noqa: E402


def build(text: str):
    return netdsl.Session().evaluate(f"NetInitialize[{text}, RandomSeeding -> 7]")


def data(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


NETS = [
    ('NetChain[<|"c" -> ConvolutionLayer[4, 3, "PaddingSize" -> "Same", "Stride" -> 2], '
     '"bn" -> BatchNormalizationLayer[], "r" -> Ramp, "p" -> PoolingLayer[2, 1, '
     '"PaddingSize" -> 1], "f" -> FlattenLayer[], "l" -> LinearLayer[3], "s" -> SoftmaxLayer[]|>, '
     '"Input" -> {2, 9, 9}]', (2, 9, 9)),
    ('NetChain[{ConvolutionLayer[6, {2, 3}, "Dilation" -> {2, 1}, "ChannelGroups" -> 2, '
     '"PaddingSize" -> {{1, 0}, {2, 1}}], PoolingLayer[{3, 2}, {2, 2}, "Function" -> Mean, '
     '"PaddingSize" -> 1], PoolingLayer[2, "Function" -> Total], Tanh, LinearLayer[{2, 3}], '
     'SoftmaxLayer[]}, "Input" -> {2, 8, 7}]', (2, 8, 7)),
    ('NetChain[{ConvolutionLayer[3, 3, "Stride" -> 2], BatchNormalizationLayer["Momentum" -> 0.5, '
     '"Epsilon" -> 0.01], PoolingLayer[2, 2]}, "Input" -> {2, 11}]', (2, 11)),
    ('NetChain[{ConvolutionLayer[2, {2, 2, 2}], PoolingLayer[{2, 2, 2}, "Function" -> Max], '
     'FlattenLayer[], LinearLayer[4], BatchNormalizationLayer[], ElementwiseLayer["SELU"], DropoutLayer[0], '
     'ElementwiseLayer[Clip[2 # - 0.5, {-1, 1}] &], ReshapeLayer[{2, 2}]}, "Input" -> {1, 4, 4, 5}]',
     (1, 4, 4, 5)),
    ('NetGraph[<|"a" -> LinearLayer[5], "b" -> LinearLayer[5], "e" -> ElementwiseLayer["GELU"], '
     '"t" -> ThreadingLayer[#1 * #2 + Exp[-#1^2] &], "s" -> TotalLayer[], '
     '"cat" -> CatenateLayer[], "sum" -> SummationLayer[]|>, {"a" -> "e", {"e", "b"} -> "t", '
     '{"t", "a"} -> "s", {"s", "b"} -> "cat", "cat" -> "sum" -> NetPort["y"], '
     '"s" -> NetPort["z"]}, "Input" -> 3]', (3,)),
    ('NetChain[{SoftmaxLayer[1], SoftmaxLayer[-2], LinearLayer[2]}, "Input" -> {3, 4, 2}]',
     (3, 4, 2)),
]

FUNCTIONS = ["Ramp", "Tanh", "LogisticSigmoid", "Exp", "Abs", "Sin", "Cos", "Erf", '"ELU"',
             '"SELU"', '"GELU"', '"Swish"', '"HardSwish"', '"Mish"', '"SoftSign"', '"SoftPlus"',
             '"HardTanh"', '"HardSigmoid"', "Max[#, 0.1 #] &", "(# + 1)^2 / 3 &",
             "Min[Sqrt[Abs[#]], 1] &", "Log[1 + Exp[#]] &"]


def outputs(module, x):
    y = module(torch.tensor(x))
    if isinstance(y, dict):
        return {k: v.detach().numpy() for k, v in y.items()}
    return y.detach().numpy()


def same(a, b, tol=2e-5):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            same(a[k], b[k], tol)
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, atol=tol, rtol=tol)


@pytest.mark.parametrize("text,shape", NETS)
@pytest.mark.parametrize("mode", ["Test", "Train"])
def test_outputs_equal_netdsl(text, shape, mode):
    net = build(text)
    x = data((6,) + shape)
    m = to_torch(net)
    m.train(mode == "Train")
    same(outputs(m, x), net(x, evaluation_mode=mode))


@pytest.mark.parametrize("f", FUNCTIONS)
def test_elementwise_functions(f):
    net = build(f'NetChain[{{ElementwiseLayer[{f}]}}, "Input" -> {{3, 4}}]')
    x = data((5, 3, 4))
    same(outputs(to_torch(net).eval(), x), net(x))


def test_softmax_is_over_the_last_axis():
    net = build('NetChain[{SoftmaxLayer[]}, "Input" -> {3, 4}]')
    y = outputs(to_torch(net), data((2, 3, 4)))
    np.testing.assert_allclose(y.sum(axis=-1), 1, atol=1e-6)
    assert not np.allclose(y.sum(axis=-2), 1)


def test_batch_norm_moving_statistics_follow_wolfram():
    """m <- Momentum m + (1 - Momentum) batch, with the biased batch variance."""
    net = build('NetChain[{BatchNormalizationLayer["Momentum" -> 0.8]}, "Input" -> {2, 3}]')
    x = data((5, 2, 3))
    m = to_torch(net).train()
    m(torch.tensor(x))
    mean = x.transpose(1, 0, 2).reshape(2, -1).mean(axis=1)
    var = x.transpose(1, 0, 2).reshape(2, -1).var(axis=1)          # biased (ddof 0)
    np.testing.assert_allclose(m.array("1/MovingMean").numpy(), 0.2 * mean, atol=1e-6)
    np.testing.assert_allclose(m.array("1/MovingVariance").numpy(), 0.8 + 0.2 * var, atol=1e-6)


def test_from_torch_round_trip():
    net = build(NETS[0][0])
    m = to_torch(net)
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(1.5)
    m.train()
    m(torch.tensor(data((4, 2, 9, 9))))           # moves the moving statistics
    back = from_torch(m, net)
    x = data((3, 2, 9, 9), 1)
    same(back(x), outputs(m.eval(), x))
    leaves = dict(back.leaves())
    np.testing.assert_array_equal(leaves[("c",)].arrays["Weights"],
                                  m.array("c/Weights").detach().numpy())
    assert not np.array_equal(leaves[("bn",)].arrays["MovingMean"],
                              dict(net.leaves())[("bn",)].arrays["MovingMean"])


def test_shared_arrays_are_one_parameter():
    net = build('NetGraph[{LinearLayer[3, "Weights" -> NetSharedArray["w"]], '
                'LinearLayer[3, "Weights" -> NetSharedArray["w"]]}, {1 -> 2}, "Input" -> 3]')
    m = to_torch(net)
    assert "shared/w" in dict(m.named_parameters(prefix="", recurse=True)).keys() or \
        "arrays.shared/w" in dict(m.named_parameters())
    assert sum(p.numel() for p in m.parameters()) == 9 + 3 + 3
    x = data((4, 3))
    same(outputs(m, x), net(x))
    back = from_torch(m, net)
    same(back(x), net(x))


def test_uninitialized_net_is_an_error():
    net = netdsl.Session().evaluate('NetChain[{LinearLayer[3]}, "Input" -> 2]')
    with pytest.raises(netdsl.NetDSLError, match="unspecified value"):
        to_torch(net)


def test_missing_torch_is_a_netdsl_error(monkeypatch):
    import importlib.util

    from netdsl.torch.require import require_torch
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(EvaluationError, match=r"pip install 'netdsl\[torch\]'"):
        require_torch()


# ---------------------------------------------------------------- training steps
TRAIN_CASES = [
    # net, input shape, targets (a function of rng and n), NetTrain options
    (NETS[0][0], (2, 9, 9), lambda r, n: r.integers(1, 4, n), ""),
    (NETS[0][0], (2, 9, 9), lambda r, n: r.integers(1, 4, n),
     ', Method -> {"SGD", "Momentum" -> 0.8}, LearningRate -> 0.05, L2Regularization -> 0.01, '
     'GradientClipping -> 0.05'),
    ('NetChain[{LinearLayer[4], BatchNormalizationLayer[], Tanh, LinearLayer[1], '
     'LogisticSigmoid}, "Input" -> 3]', (3,), lambda r, n: r.integers(0, 2, (n, 1)).astype(float),
     ', Method -> {"ADAM", "Beta1" -> 0.8, "LearningRateSchedule" -> "Polynomial"}, '
     'WeightClipping -> 0.3'),
    ('NetChain[{LinearLayer[4], Ramp, LinearLayer[2]}, "Input" -> 3]', (3,),
     lambda r, n: r.normal(size=(n, 2)), ', Method -> "SGD"'),
]


@pytest.mark.parametrize("case", range(len(TRAIN_CASES)))
def test_training_steps_equal_nettrain(case):
    text, shape, targets, options = TRAIN_CASES[case]
    rng = np.random.default_rng(case)
    n, rounds = 8, 3
    x = data((n,) + shape, case)
    y = np.asarray(targets(rng, n))
    s = netdsl.Session()
    net = s.evaluate(f"NetInitialize[{text}, RandomSeeding -> 7]")
    s["net"], s["x"], s["y"] = net, x, y
    trained = s.evaluate(f"NetTrain[net, x -> y, BatchSize -> {n}, MaxTrainingRounds -> {rounds}, "
                         f"TrainingProgressReporting -> None{options}]")
    opts = _netdsl_options(s, options)
    module = to_torch(net, loss=True, targets={"Output": y})
    opt = optimizer_for(module.parameters(), total_steps=rounds, **opts)
    module.train()
    target = torch.tensor(y if y.dtype.kind != "f" else y.astype(np.float32))
    for _ in range(rounds):
        opt.zero_grad()
        loss = module(Input=torch.tensor(x), Output=target)
        loss.backward()
        opt.step()
    mine = from_torch(module, net)
    for (path, a), (_, b) in zip(trained.leaves(), mine.leaves()):
        for name in a.arrays:
            va, vb = a.arrays[name], b.arrays[name]
            if hasattr(va, "shape"):
                np.testing.assert_allclose(vb, va, atol=1e-5, rtol=1e-5,
                                           err_msg=f"{path} {name}")


def _netdsl_options(s, options: str) -> dict:
    """The NetTrain options of a case as netdsl values, for optimizer_for."""
    if not options:
        return {}
    assoc = s.evaluate("<|" + options.lstrip(", ") + "|>")
    return {str(k): v for k, v in assoc.items()}


def test_optimisers_by_hand():
    """One ADAM and two SGD steps on w = 1 with gradient 2, against the formulas."""
    w = torch.nn.Parameter(torch.tensor([1.0]))
    opt = ADAM([w], lr=0.1)
    w.grad = torch.tensor([2.0])
    opt.step()
    m, v = 0.1 * 2, 0.001 * 4
    lr_t = 0.1 * np.sqrt(1 - 0.999) / (1 - 0.9)
    assert w.item() == pytest.approx(1 - lr_t * m / (np.sqrt(v) + 1e-5), rel=1e-6)
    w = torch.nn.Parameter(torch.tensor([1.0]))
    opt = SGD([w], lr=0.1, momentum=0.5, total_steps=4)
    for _ in (1, 2):
        w.grad = torch.tensor([2.0])
        opt.step()
    lr1, lr2 = 0.1 * np.sqrt(1 - 1 / 5), 0.1 * np.sqrt(1 - 2 / 5)
    u1 = -lr1 * 2
    u2 = 0.5 * u1 - lr2 * 2
    assert w.item() == pytest.approx(1 + u1 + u2, rel=1e-6)


def test_modes_by_default_and_wrappers():
    net = build(NETS[2][0])
    assert not to_torch(net).training                 # Test mode, as net(x)
    assert to_torch(net, loss=True).training
    m = to_torch(net)

    class Wrapper(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.module = inner
    back = from_torch(Wrapper(m), net)
    x = data((3, 2, 11))
    same(back(x), net(x))
    with pytest.raises(EvaluationError, match="made by to_torch"):
        from_torch(torch.nn.Linear(2, 2), net)


@pytest.mark.parametrize("method", ["Dropout", "AlphaDropout"])
def test_dropout(method):
    """Test mode: the input, and a mask of ones; Train mode: each output is either the
    dropped value or the kept one (x/(1-p), or a x + b for AlphaDropout), and the mask
    says which."""
    from netdsl.layers.simple import ALPHA_PRIME
    p = 0.3
    net = build(f'NetGraph[{{DropoutLayer[{p}, "Method" -> "{method}", '
                f'"OutputPorts" -> {{"Output", "BinaryMask"}}]}}, {{}}, "Input" -> {{50, 40}}]')
    x = data((4, 50, 40))
    m = to_torch(net)
    test = outputs(m, x)
    same(test, net(x))
    np.testing.assert_array_equal(test["BinaryMask"], 1)
    m.train()
    y = outputs(m, x)
    keep = y["BinaryMask"]
    assert set(np.unique(keep)) == {0, 1}
    assert abs(keep.mean() - (1 - p)) < 0.02
    if method == "Dropout":
        expect = np.where(keep == 1, x / (1 - p), 0)
    else:
        a = ((1 - p) + ALPHA_PRIME ** 2 * (1 - p) * p) ** -0.5
        expect = np.where(keep == 1, a * x, a * ALPHA_PRIME) - a * ALPHA_PRIME * p
    np.testing.assert_allclose(y["Output"], expect, rtol=1e-5, atol=1e-6)


NEWER = [
    ('NetChain[{ConstantTimesLayer[], ConstantPlusLayer[], ParametricRampLayer[], TransposeLayer[], '
     'ReplicateLayer[2], AggregationLayer[Max, 3], NormalizationLayer[]}, "Input" -> {3, 4}]',
     lambda r: r.normal(size=(5, 3, 4))),
    ('NetChain[{TransposeLayer[{2, 3, 1}], AggregationLayer[Mean], NormalizationLayer[All, "Same"], '
     'ReplicateLayer[{2, 3}, -1], AggregationLayer[Total, {1, 3}], AggregationLayer[Min, 1]}, '
     '"Input" -> {2, 3, 4}]', lambda r: r.normal(size=(5, 2, 3, 4))),
    ('NetChain[{PaddingLayer[{{1, 2}, {0, 3}}, 0.5], PaddingLayer[{{2, 1}, {1, 0}}, "Fixed"], '
     'PaddingLayer[{{3, 1}, {2, 2}}, "Periodic"]}, "Input" -> {3, 4}]',
     lambda r: r.normal(size=(5, 3, 4))),
    ('NetGraph[{DotLayer[]}, {}, "Input1" -> {2, 3}, "Input2" -> {3, 4}]',
     lambda r: {"Input1": r.normal(size=(5, 2, 3)), "Input2": r.normal(size=(5, 3, 4))}),
    ('NetChain[{EmbeddingLayer[3, 5, "Input" -> 4], FlattenLayer[]}]',
     lambda r: r.integers(1, 6, (5, 4))),
    ('NetGraph[<|"c" -> ConstantArrayLayer["Array" -> {{1., 2.}, {3., 4.}}], "t" -> TotalLayer[]|>, '
     '{{"c", NetPort["x"]} -> "t"}, "x" -> {2, 2}]', lambda r: r.normal(size=(5, 2, 2))),
    ('NetChain[{PartLayer[{2 ;; -1, {3, 1, 3}}], PartLayer[{1 ;; 3 ;; 2, All, -1}]}, '
     '"Input" -> {4, 3, 2}]', lambda r: r.normal(size=(5, 4, 3, 2))),
    ('NetChain[{PartLayer[2]}, "Input" -> {3, 4}]', lambda r: r.normal(size=(5, 3, 4))),
    ('NetChain[{ResizeLayer[{5, 7}], ResizeLayer[{Scaled[0.5], All}], '
     'ResizeLayer[{Scaled[2], Scaled[3]}, "Resampling" -> "Nearest"]}, "Input" -> {2, 3, 4}]',
     lambda r: r.normal(size=(5, 2, 3, 4))),
    ('NetChain[{ResizeLayer[{Scaled[1.5]}]}, "Input" -> {2, 6}]', lambda r: r.normal(size=(5, 2, 6))),
    ('NetChain[{DeconvolutionLayer[3, {3, 2}, "Stride" -> {2, 1}, "PaddingSize" -> {{1, 0}, {0, 1}}, '
     '"ChannelGroups" -> 1]}, "Input" -> {2, 4, 5}]', lambda r: r.normal(size=(5, 2, 4, 5))),
    ('NetChain[{DeconvolutionLayer[4, 3, "Stride" -> 2, "PaddingSize" -> 1, "ChannelGroups" -> 2]}, '
     '"Input" -> {2, 5, 5}]', lambda r: r.normal(size=(5, 2, 5, 5))),
    ('NetChain[{DeconvolutionLayer[2, {4}, "Stride" -> 3, "Biases" -> None]}, "Input" -> {3, 5}]',
     lambda r: r.normal(size=(5, 3, 5))),
    ('NetChain[{PaddingLayer[{{1, 2}, {3, 3}}, "Padding" -> "Reversed"], '
     'PaddingLayer[{{1, 1}, {2, 0}}, "Padding" -> "Reflected"]}, "Input" -> {3, 3}]',
     lambda r: r.normal(size=(5, 3, 3))),
]


@pytest.mark.parametrize("case", range(len(NEWER)))
def test_newer_layers(case):
    """Arrays are moved off their initial ones and zeros first, so each one matters."""
    text, make = NEWER[case]
    net = build(text)
    m = to_torch(net)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    net = from_torch(m, net)
    x = make(np.random.default_rng(case))
    if isinstance(x, dict):
        x = {k: v.astype(np.float32) for k, v in x.items()}
    elif x.dtype.kind == "f":
        x = x.astype(np.float32)
    for mode in ("Test", "Train"):
        m.train(mode == "Train")
        y = m(**{k: torch.tensor(v) for k, v in x.items()}) if isinstance(x, dict) \
            else m(torch.tensor(x))
        same(y.detach().numpy(), net(x, evaluation_mode=mode))


def test_layer_without_torch_counterpart_is_named(monkeypatch):
    from netdsl.torch.layers import TORCH_LAYERS
    monkeypatch.delitem(TORCH_LAYERS, "PartLayer")
    net = build('NetChain[<|"part" -> PartLayer[1]|>, "Input" -> {2, 3}]')
    with pytest.raises(EvaluationError, match=r"PartLayer \(part\) has no PyTorch counterpart"):
        to_torch(net)


@pytest.mark.parametrize("text, x", [
    ('NetChain[{OrderingLayer[All], LinearLayer[2]}, "Input" -> 3]',
     np.float32([[0.3, 0.1, 0.2], [0.1, 0.2, 0.3]])),
    ('NetChain[{ElementwiseLayer[Tanh]}, "Input" -> {4, Restricted["Integer", 3]}]',
     np.array([[1, 2, 3, 1]], np.int64)),
])
def test_integers_read_by_a_real_layer_convert(text, x):
    """The executor's ToReal step has its torch counterpart (a notorch error before)."""
    net = netdsl.evaluate(f"NetInitialize[{text}, RandomSeeding -> 1]")
    got = to_torch(net)(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, net(x), rtol=1e-6, atol=1e-6)
