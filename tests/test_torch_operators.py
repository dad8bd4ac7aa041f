"""to_torch for operators: NetMapOperator, NetFoldOperator (default and general forms,
states given and read), NetBidirectionalOperator and a net as the scoring net of
AttentionLayer / SequenceAttentionLayer. Outputs (Test and Train mode), input gradients
and every array's gradient equal netdsl's (NetPortGradient); parameters keep their
NetExtract paths; a training step with an inner BatchNormalization moves its statistics as
NetTrain does."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_onnx_export import build
from tests.test_onnx_export_operators import FOLD_NET, GENERAL
from tests.test_torch_sequences import _close, _graph_gradients, train_both

torch = pytest.importorskip("torch")
from netdsl.torch import from_torch, to_torch  # noqa: E402

SCORING = ('NetGraph[{LinearLayer[4], LinearLayer[4], DotLayer[]}, '
           '{NetPort["Input"] -> 1, NetPort["Query"] -> 2, {1, 2} -> 3}]')
NETS = [
    'NetMapOperator[NetChain[{LinearLayer[4], Tanh, LinearLayer[2]}], "Input" -> {5, 3}]',
    'NetChain[{NetBidirectionalOperator[{LongShortTermMemoryLayer[3], GatedRecurrentLayer[3]}],'
    ' SequenceLastLayer[]}, "Input" -> {5, 3}]',
    'NetBidirectionalOperator[NetChain[{BasicRecurrentLayer[3], SequenceLastLayer[]}], Mean, '
    '"Input" -> {5, 3}]',
    f'NetChain[{{NetFoldOperator[{FOLD_NET}], SequenceLastLayer[]}}, "Input" -> {{5, 3}}]',
    GENERAL[:-1] + ', "x" -> {4, 3}]',
    f'NetGraph[<|"init" -> LinearLayer[2], "fold" -> {GENERAL}|>, '
    '{NetPort["h0"] -> "init" -> NetPort["fold", "h"], NetPort[{"fold", "h"}] -> '
    'NetPort["hT"]}, "h0" -> 4, "x" -> {4, 3}]',
    f'AttentionLayer[{SCORING}, "Mask" -> "Causal", "ScoreRescaling" -> "DimensionSqrt", '
    '"Key" -> {4, 2}, "Value" -> {4, 3}, "Query" -> {4, 3}]',
    f'AttentionLayer[{SCORING}, "MultiHead" -> True, "Key" -> {{3, 2, 2}}, '
    '"Value" -> {3, 2, 3}, "Query" -> {2, 2, 3}]',
    f'SequenceAttentionLayer[{SCORING}, "Input" -> {{4, 3}}, "Query" -> {{2, 3}}]',
]


def _feeds(net, rng) -> dict:
    return {p: rng.normal(size=(2,) + tuple(net.ports[p].shape)).astype(np.float32)
            for p in net.port_names()[0]}


@pytest.mark.parametrize("case", range(len(NETS)))
def test_outputs_and_gradients_equal_netdsl(case):
    net = build(NETS[case])
    module = to_torch(net)
    rng = np.random.default_rng(case)
    feeds = _feeds(net, rng)
    outs = net.port_names()[1]
    tensors = {p: torch.tensor(v, requires_grad=True) for p, v in feeds.items()}
    for mode in ("Test", "Train"):
        module.train(mode == "Train")
        got = module(**tensors)
        got = got if isinstance(got, dict) else {outs[0]: got}
        for p in outs:
            _close(got[p].detach().numpy(), net(feeds, port=p, evaluation_mode=mode)
                   if len(feeds) > 1 or len(outs) > 1 else net(feeds[net.port_names()[0][0]],
                                                               evaluation_mode=mode))
    module.eval()
    got = module(**tensors)
    got = got if isinstance(got, dict) else {outs[0]: got}
    seeds = {p: rng.normal(size=tuple(got[p].shape)).astype(np.float32) for p in outs}
    module.zero_grad()
    sum((got[p] * torch.tensor(seeds[p])).sum() for p in outs).backward()
    want = _graph_gradients(net, feeds, seeds)
    assert set(want) - set(feeds) == set(module.arrays.keys())
    for name, w in want.items():
        _close((tensors[name].grad if name in feeds else module.array(name).grad).numpy(), w)


def test_parameters_keep_their_paths_and_come_back():
    net = build(NETS[1])
    module = to_torch(net)
    assert "1/ForwardNet/InputGateInputWeights" in module.arrays
    assert "1/BackwardNet/ResetGateInputWeights" in module.arrays
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    back = from_torch(module, net)
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    _close(module(torch.tensor(x)).detach().numpy(), back(x))


def test_training_steps_with_an_inner_batch_normalization_equal_nettrain():
    text = ('NetChain[{NetMapOperator[NetChain[{LinearLayer[4], BatchNormalizationLayer[], '
            'Tanh}]], NetFoldOperator[NetGraph[<|"cat" -> CatenateLayer[], "lin" -> '
            'LinearLayer[3], "bn" -> BatchNormalizationLayer[], "act" -> Tanh|>, '
            '{{NetPort["Input"], NetPort["State"]} -> "cat" -> "lin" -> "bn" -> "act"}]], '
            'SequenceLastLayer[], LinearLayer[2]}, "Input" -> {4, 3}]')
    rng = np.random.default_rng(3)
    trained, mine = train_both(text, rng.normal(size=(8, 4, 3)).astype(np.float32),
                               rng.normal(size=(8, 2)).astype(np.float32))
    moved = 0
    for (path, a), (_, b) in zip(trained.leaves(), mine.leaves()):
        for name, va in a.arrays.items():
            if hasattr(va, "shape"):
                np.testing.assert_allclose(b.arrays[name], va, atol=2e-5, rtol=2e-5,
                                           err_msg=f"{path} {name}")
                moved += name.startswith("Moving")
    assert moved == 4      # both inner batch-norms' moving statistics, compared
