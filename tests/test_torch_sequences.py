"""to_torch for nets with recurrent and sequence layers: outputs, input gradients and
array gradients equal netdsl's (NetPortGradient) on several sequence lengths, and
NetTrain's steps on a sequence model equal the torch optimiser's."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.expr import list_items
from tests.test_onnx_export import build

torch = pytest.importorskip("torch")
from netdsl.torch import from_torch, optimizer_for, to_torch  # noqa: E402

TOL = 1e-5

NETS = [
    'NetChain[{LongShortTermMemoryLayer[5]}, "Input" -> {"Varying", 3}]',
    'NetChain[{GatedRecurrentLayer[5]}, "Input" -> {"Varying", 3}]',
    'NetChain[{BasicRecurrentLayer[5]}, "Input" -> {"Varying", 3}]',
    'NetChain[{GatedRecurrentLayer[4], SequenceReverseLayer[], LongShortTermMemoryLayer[3], '
    'SequenceLastLayer[]}, "Input" -> {"Varying", 3}]',
    'NetChain[{BasicRecurrentLayer[4], SequenceMostLayer[], SequenceRestLayer[]}, '
    '"Input" -> {"Varying", 3}]',
    'NetChain[{SequenceReverseLayer[], SequenceRestLayer[], SequenceLastLayer[]}, '
    '"Input" -> {"Varying", 2, 3}]',
    'NetChain[{EmbeddingLayer[4, 7, "Input" -> "Varying"], GatedRecurrentLayer[5], '
    'SequenceLastLayer[], LinearLayer[3], SoftmaxLayer[]}]',
    'NetChain[{UnitVectorLayer[6, "Input" -> "Varying"], LongShortTermMemoryLayer[4], '
    'SequenceMostLayer[]}]',
    'NetGraph[{LongShortTermMemoryLayer[4], SequenceReverseLayer[], GatedRecurrentLayer[4], '
    'SequenceReverseLayer[], CatenateLayer[2]}, {NetPort["Input"] -> 1, '
    'NetPort["Input"] -> 2 -> 3 -> 4, {1, 4} -> 5}, "Input" -> {"Varying", 3}]',
]


def _input(net, n: int, rng) -> np.ndarray:
    t = net.ports["Input"]
    shape = (3,) + tuple(n if not isinstance(d, int) else d for d in t.shape)
    if t.integer:
        return rng.integers(1, t.classes + 1, size=shape).astype(np.int64)
    return rng.normal(size=shape).astype(np.float32)


def _close(got, want):
    want = np.asarray(want, np.float32)
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) <= TOL * max(1.0, float(np.max(np.abs(want))))


def _netdsl_gradients(net, x, g) -> dict[str, np.ndarray]:
    """netdsl's gradients of Total[Output * g] by parameter name ("1/Weights") and
    "Input"."""
    return _graph_gradients(net, {"Input": x}, {"Output": g})


@pytest.mark.parametrize("case", range(len(NETS)))
def test_outputs_and_gradients_equal_netdsl(case):
    net = build(NETS[case])
    module = to_torch(net)
    rng = np.random.default_rng(case)
    lengths = (3, 4, 7) if "Most" in NETS[case] or "Rest" in NETS[case] else (1, 4, 7)
    for n in lengths:
        x = _input(net, n, rng)
        for mode in ("Test", "Train"):
            module.train(mode == "Train")
            _close(module(torch.tensor(x)).detach().numpy(), net(x, evaluation_mode=mode))
        module.eval()
        xt = torch.tensor(x, requires_grad=x.dtype.kind == "f")
        y = module(xt)
        g = rng.normal(size=tuple(y.shape)).astype(np.float32)
        module.zero_grad()
        (y * torch.tensor(g)).sum().backward()
        want = _netdsl_gradients(net, x, g)
        assert set(want) - {"Input"} == set(module.arrays.keys())
        for name, w in want.items():
            if name == "Input":
                if xt.requires_grad:
                    _close(xt.grad.numpy(), w)
                continue
            _close(module.array(name).grad.numpy(), w)


def test_arrays_come_back_from_torch():
    """Every array of every gate matters: moved in torch, the net from from_torch gives
    torch's outputs (a gate left out or misplaced would not)."""
    net = build(NETS[3])
    module = to_torch(net)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    back = from_torch(module, net)
    x = _input(net, 5, np.random.default_rng(0))
    _close(module(torch.tensor(x)).detach().numpy(), back(x))
    assert np.max(np.abs(np.asarray(back(x)) - np.asarray(net(x)))) > 1e-3


def train_both(text: str, x: np.ndarray, y: np.ndarray, rounds: int = 3):
    """(NetTrain's net, the net from as many full-batch torch steps), from one start."""
    s = netdsl.Session()
    net = s.evaluate(f"NetInitialize[{text}, RandomSeeding -> 7]")
    s["net"], s["x"], s["y"] = net, x, y
    trained = s.evaluate(f"NetTrain[net, x -> y, BatchSize -> {len(x)}, MaxTrainingRounds -> "
                         f"{rounds}, TrainingProgressReporting -> None]")
    module = to_torch(net, loss=True, targets={"Output": y})
    opt = optimizer_for(module.parameters(), total_steps=rounds)
    for _ in range(rounds):
        opt.zero_grad()
        module(Input=torch.tensor(x), Output=torch.tensor(y)).backward()
        opt.step()
    return trained, from_torch(module, net)


def test_training_steps_on_a_sequence_model_equal_nettrain():
    text = ('NetChain[{EmbeddingLayer[6, 9, "Input" -> "Varying"], GatedRecurrentLayer[7], '
            'LongShortTermMemoryLayer[5], SequenceLastLayer[], LinearLayer[4], SoftmaxLayer[]}]')
    rng = np.random.default_rng(3)
    x = rng.integers(1, 10, size=(8, 6)).astype(np.int64)
    trained, mine = train_both(text, x, rng.integers(1, 5, size=8))
    for (path, a), (_, b) in zip(trained.leaves(), mine.leaves()):
        for name, va in a.arrays.items():
            if hasattr(va, "shape"):
                np.testing.assert_allclose(b.arrays[name], va, atol=1e-5, rtol=1e-5,
                                           err_msg=f"{path} {name}")


def test_replicate_keeps_a_varying_length():
    """(netdsl's executor cannot run ReplicateLayer on a "Varying" length yet: the
    reference is the formula.)"""
    net = build('NetChain[{ReplicateLayer[3]}, "Input" -> {"Varying", 2}]')
    module = to_torch(net)
    for n in (1, 4):
        x = np.random.default_rng(n).normal(size=(2, n, 2)).astype(np.float32)
        np.testing.assert_array_equal(module(torch.tensor(x)).numpy(),
                                      np.repeat(x[:, None], 3, axis=1))


def _graph_gradients(net, feeds: dict, seeds: dict) -> dict[str, np.ndarray]:
    """netdsl's gradients of the sum of Total[output * seed] over the outputs, by
    parameter name and input port."""
    s = netdsl.Session()
    s["net"] = net
    parts = []
    for k, (p, v) in enumerate(list(feeds.items()) + list(seeds.items())):
        s[f"v{k}"] = v
        key = f'"{p}"' if p in feeds else f'NetPortGradient["{p}"]'
        parts.append(f"{key} -> v{k}")
    r = s.evaluate(f"net[<|{', '.join(parts)}|>, NetPortGradient[All]]")
    out = {}
    for key, value in r.items():
        arg = key.args[0]
        name = arg if isinstance(arg, str) else "/".join(str(i) for i in list_items(arg))
        out[name] = np.asarray(value, np.float32)
    return out


@pytest.mark.parametrize("case", range(4))
def test_state_ports_outputs_and_gradients_equal_netdsl(case):
    from tests.test_onnx_export_sequences import STATE_GRAPHS
    net = build(STATE_GRAPHS[case])
    module = to_torch(net)
    rng = np.random.default_rng(case)
    ins, outs = net.port_names()
    for n in (1, 5):
        feeds = {p: rng.normal(size=(3,) + tuple(n if not isinstance(d, int) else d
                                                 for d in net.ports[p].shape)
                               ).astype(np.float32) for p in ins}
        xt = {p: torch.tensor(v, requires_grad=True) for p, v in feeds.items()}
        got = module(**xt)
        got = got if isinstance(got, dict) else {outs[0]: got}
        seeds = {}
        total = 0
        for p in outs:
            _close(got[p].detach().numpy(), net(feeds, port=p))
            seeds[p] = rng.normal(size=tuple(got[p].shape)).astype(np.float32)
            total = total + (got[p] * torch.tensor(seeds[p])).sum()
        module.zero_grad()
        total.backward()
        want = _graph_gradients(net, feeds, seeds)
        for name, w in want.items():
            g = xt[name].grad if name in xt else module.array(name).grad
            _close(g.numpy(), w)


DROPOUTS = ["1", '{"VariationalInput" -> 1}', '{"VariationalState" -> 1}',
            '{"StateUpdate" -> 1}', '{"VariationalInput" -> 1, "StateUpdate" -> 1}',
            '{"VariationalWeights" -> 0.3, "VariationalState" -> 0.2, "StateUpdate" -> 0.4}']


@pytest.mark.parametrize("layer", ["LongShortTermMemoryLayer", "GatedRecurrentLayer",
                                   "BasicRecurrentLayer"])
@pytest.mark.parametrize("spec", DROPOUTS)
def test_recurrent_dropout(layer, spec):
    """Test mode: no dropout. Train mode with probabilities 1: every element of that kind
    dropped, no draw decides, so netdsl's Train mode gives the same numbers (the input's
    part, the state's part, the update, or all weights gone); otherwise each pass draws
    new masks, and gradients flow through the masked steps."""
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype(np.float32)
    net = build(f'NetGraph[<|"r" -> {layer}[4, "Dropout" -> {spec}]|>, '
                f'{{NetPort["s0"] -> NetPort["r", "State"], NetPort["r", "State"] -> '
                f'NetPort["final"]}}, "Input" -> {{"Varying", 3}}, "s0" -> 4]')
    feeds = {"Input": x, "s0": np.random.default_rng(1).normal(size=(2, 4)).astype(np.float32)}
    module = to_torch(net)
    tensors = {k: torch.tensor(v) for k, v in feeds.items()}
    for p in ("Output", "final"):
        _close(module(**tensors)[p].detach().numpy(), net(feeds, port=p))
    module.train()
    y1 = module(**tensors)
    if "0." not in spec:
        for p in ("Output", "final"):
            _close(y1[p].detach().numpy(), net(feeds, port=p, evaluation_mode="Train"))
    else:
        y2 = module(**tensors)
        assert np.max(np.abs((y1["Output"] - y2["Output"]).detach().numpy())) > 1e-4
        y1["Output"].sum().backward()
        assert all(p.grad is not None for p in module.parameters())


@pytest.mark.parametrize("layer", ["LongShortTermMemoryLayer", "GatedRecurrentLayer",
                                   "BasicRecurrentLayer"])
def test_the_step_loop_without_masks_is_the_fused_kernel(layer):
    """The per-step loop that Train-mode dropout runs computes netdsl's formula: with no
    mask drawn it gives the outputs and final states of netdsl (and torch's kernel)."""
    from netdsl.layers.recurrent_dropout import METHODS
    from netdsl.torch.layers import _masked_steps
    net = build(f'NetChain[{{{layer}[4]}}, "Input" -> {{"Varying", 3}}]')
    module = to_torch(net)
    _, rnn = next(iter(net.leaves()))
    x = np.random.default_rng(2).normal(size=(2, 5, 3)).astype(np.float32)
    a = {k.split("/")[-1]: v for k, v in module.arrays.items()}
    finals, y = _masked_steps(rnn, a, torch.tensor(x), {}, dict.fromkeys(METHODS, 0.0))
    _close(y.detach().numpy(), net(x))
    _close(finals["State"].detach().numpy(), np.asarray(net(x))[:, -1])
