"""NetDecoder[{"CTCBeamSearch", alphabet}]: its parameters ("BeamSize", default 100) and
properties, decodings against a brute-force sum over every path written here (the most
probable labelling, every labelling in order, their negative log-likelihoods), "BeamSize"
-> 1 as greedy best-path decoding, on its own and on a net's output (batches of
different lengths, rule-form properties, None), text and net-file round trips, errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError
from netdsl.expr import Expr, Symbol, list_items
from layer_harness import file_round_trip

ALPHABET = '{"a", "b"}'
LETTERS = ("a", "b", "c")


def ev(text, **values):
    s = netdsl.Session()
    for k, v in values.items():
        s[k] = v
    return s.evaluate(text)


def labelling_probabilities(probs):
    """Every labelling's probability: the sum over paths (classes 0-based, blank last) of
    the product of their probabilities, grouped by the path's labelling (repeats merged,
    blanks removed)."""
    steps, size = probs.shape
    out: dict[tuple, float] = {}
    for path in itertools.product(range(size), repeat=steps):
        label, prev = [], None
        for k in path:
            if k != prev and k != size - 1:
                label.append(k)
            prev = k
        out[tuple(label)] = out.get(tuple(label), 0.0) + math.prod(
            probs[t, k] for t, k in enumerate(path))
    return out


def words(value):
    """A decoding (a list of alphabet elements) as a tuple of strings."""
    return tuple(list_items(value))


def random_probs(rng, shape):
    p = rng.uniform(0.02, 1.0, shape)
    return p / p.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------- declaration
def test_parameters_and_text_form():
    dec = ev(f'NetDecoder[{{"CTCBeamSearch", {ALPHABET}}}]')
    assert dec.kind == "CTCBeamSearch" and dec.labels == ("a", "b") and dec.beam == 100
    assert dec.port_type().shape == (None, 3)
    assert netdsl.input_form(dec) == 'NetDecoder[{"CTCBeamSearch", {"a", "b"}}]'
    small = ev(f'NetDecoder[{{"CTCBeamSearch", {ALPHABET}, "BeamSize" -> 4}}]')
    assert small.beam == 4 and small != dec
    assert ev(netdsl.input_form(small)) == small


@pytest.mark.parametrize("spec,match", [
    ('{"CTCBeamSearch"}', "needs its alphabet"),
    ('{"CTCBeamSearch", {"a", "a"}}', "distinct"),
    ('{"CTCBeamSearch", {"a"}, "BeamSize" -> 0}', "positive integer"),
    ('{"CTCBeamSearch", {"a"}, "BeamSize" -> 2.5}', "positive integer"),
    ('{"CTCBeamSearch", {"a"}, "Beam" -> 2}', "BeamSize"),
])
def test_bad_specifications(spec, match):
    with pytest.raises(EvaluationError, match=match):
        ev(f"NetDecoder[{spec}]")


# ---------------------------------------------------------------- against brute force
@pytest.mark.parametrize("steps,n,seed", [(1, 1, 0), (2, 1, 1), (3, 2, 2), (4, 2, 3),
                                          (4, 3, 4), (5, 2, 5)])
def test_decodings_match_brute_force(steps, n, seed):
    """With a beam wider than the number of labellings nothing is pruned: the decoding is
    the most probable labelling, "Decodings" every labelling by decreasing probability,
    and the negative log-likelihoods -Log of their probabilities."""
    probs = random_probs(np.random.default_rng(seed), (steps, n + 1))
    alphabet = "{" + ", ".join(f'"{c}"' for c in LETTERS[:n]) + "}"
    dec = f'NetDecoder[{{"CTCBeamSearch", {alphabet}, "BeamSize" -> 1000}}]'
    truth = labelling_probabilities(probs)
    ranked = sorted(truth, key=lambda k: -truth[k])
    as_letters = [tuple(LETTERS[k] for k in lab) for lab in ranked]
    assert words(ev(f"{dec}[p]", p=probs)) == as_letters[0]
    got = ev(f'{dec}[p, "Decodings"]', p=probs)
    assert [words(d) for d in list_items(got)] == as_letters
    nll = list_items(ev(f'{dec}[p, "NegativeLogLikelihoods"]', p=probs))
    assert [words(r.args[0]) for r in nll] == as_letters
    np.testing.assert_allclose([r.args[1] for r in nll], [-math.log(truth[k]) for k in ranked],
                               rtol=1e-9)
    top = ev(f'{dec}[p, {{"TopNegativeLogLikelihoods", 2}}]', p=probs)
    assert list_items(top) == nll[:2]
    assert list_items(ev(f'{dec}[p, "TopDecodings" -> 1]', p=probs)) == list_items(got)[:1]


def test_default_beam_on_a_longer_sequence():
    """Beam 100 on T = 7, 2 classes (a few hundred labellings, not all kept): the decoding
    is still the most probable labelling here, and every decoding's likelihood is exact."""
    probs = random_probs(np.random.default_rng(6), (7, 3))
    truth = labelling_probabilities(probs)
    best = max(truth, key=lambda k: truth[k])
    dec = f'NetDecoder[{{"CTCBeamSearch", {ALPHABET}}}]'
    assert words(ev(f"{dec}[p]", p=probs)) == tuple(LETTERS[k] for k in best)
    for rule in list_items(ev(f'{dec}[p, "NegativeLogLikelihoods"]', p=probs)):
        lab = tuple(LETTERS.index(c) for c in words(rule.args[0]))
        assert rule.args[1] == pytest.approx(-math.log(truth[lab]), rel=1e-9)


def test_a_narrow_beam_gives_exact_likelihoods_of_what_it_finds():
    probs = random_probs(np.random.default_rng(7), (6, 3))
    truth = labelling_probabilities(probs)
    dec = f'NetDecoder[{{"CTCBeamSearch", {ALPHABET}, "BeamSize" -> 2}}]'
    rules = list_items(ev(f'{dec}[p, "NegativeLogLikelihoods"]', p=probs))
    assert 1 <= len(rules) <= 2
    values = [r.args[1] for r in rules]
    assert values == sorted(values)
    for rule in rules:
        lab = tuple(LETTERS.index(c) for c in words(rule.args[0]))
        assert rule.args[1] == pytest.approx(-math.log(truth[lab]), rel=1e-9)


def best_path(probs):
    """Greedy decoding written out: the most probable class per step, then collapse."""
    out, prev = [], None
    for k in np.argmax(probs, axis=1):
        if k != prev and k != probs.shape[1] - 1:
            out.append(LETTERS[k])
        prev = k
    return tuple(out)


def test_beam_size_one_is_greedy_search():
    """Wolfram: "BeamSize" -> 1 is greedy search. Two steps of (a 0.4, blank 0.6): the best
    path is two blanks (the empty decoding, 0.36), while the labelling {a} has 0.64."""
    probs = np.array([[0.4, 0.6], [0.4, 0.6]])
    greedy = 'NetDecoder[{"CTCBeamSearch", {"a"}, "BeamSize" -> 1}]'
    beam = 'NetDecoder[{"CTCBeamSearch", {"a"}}]'
    assert words(ev(f"{greedy}[p]", p=probs)) == ()
    assert words(ev(f"{beam}[p]", p=probs)) == ("a",)
    (rule,) = list_items(ev(f'{greedy}[p, "NegativeLogLikelihoods"]', p=probs))
    assert rule.args[1] == pytest.approx(-math.log(0.36))
    rng = np.random.default_rng(8)
    for _ in range(5):
        p = random_probs(rng, (6, 4))
        got = ev('NetDecoder[{"CTCBeamSearch", {"a", "b", "c"}, "BeamSize" -> 1}][p]', p=p)
        assert words(got) == best_path(p)


def test_a_batch_and_sequences_of_different_lengths():
    rng = np.random.default_rng(9)
    p1, p2, p3 = random_probs(rng, (4, 3)), random_probs(rng, (2, 3)), random_probs(rng, (4, 3))
    dec = f'NetDecoder[{{"CTCBeamSearch", {ALPHABET}}}]'

    def one(p):
        truth = labelling_probabilities(p)
        return tuple(LETTERS[k] for k in max(truth, key=lambda k: truth[k]))
    got = ev(f"{dec}[{{p1, p2, p3}}]", p1=p1, p2=p2, p3=p3)
    assert [words(d) for d in list_items(got)] == [one(p1), one(p2), one(p3)]
    got = ev(f"{dec}[{{p1, p3}}]", p1=p1, p3=p3)                 # one regular array
    assert [words(d) for d in list_items(got)] == [one(p1), one(p3)]


@pytest.mark.parametrize("call,match", [
    ("d[{{0.5, 0.5}}]", "dimensions"),
    ('d[{{0.2, 0.3, 0.5}}, "Probabilities"]', "not a property"),
    ('d[{{0.2, 0.3, 0.5}}, {"TopDecodings", 0}]', "positive count"),
])
def test_bad_data_and_properties(call, match):
    with pytest.raises(EvaluationError, match=match):
        ev(f'd = NetDecoder[{{"CTCBeamSearch", {ALPHABET}}}]; {call}')


# ---------------------------------------------------------------- on a net's output
NET = ('NetInitialize[NetChain[{NetMapOperator[LinearLayer[3]], SoftmaxLayer[]}, '
       '"Input" -> {"Varying", 2}, "Output" -> NetDecoder[{"CTCBeamSearch", {"a", "b"}}]], '
       'RandomSeeding -> 1]')


def test_on_a_net_output():
    s = netdsl.Session()
    net = s.evaluate(f"net = {NET}")
    rng = np.random.default_rng(10)
    x1, x2 = rng.normal(size=(4, 2)), rng.normal(size=(3, 2))
    s["x1"], s["x2"] = x1, x2
    probs1 = np.asarray(net(x1[None].astype(np.float32))[0], np.float64)
    probs2 = np.asarray(net(x2[None].astype(np.float32))[0], np.float64)
    np.testing.assert_allclose(np.asarray(s.evaluate("net[x1, None]")), probs1, rtol=1e-6)

    def best(p):
        truth = labelling_probabilities(p)
        return tuple(LETTERS[k] for k in max(truth, key=lambda k: truth[k]))
    assert words(s.evaluate("net[x1]")) == best(probs1)
    got = s.evaluate("net[{x1, x2}]")                       # two lengths in one call
    assert [words(d) for d in list_items(got)] == [best(probs1), best(probs2)]
    top = s.evaluate('net[x1, "TopDecodings" -> 2]')
    assert list_items(top) == list_items(s.evaluate('net[x1, "Decodings"]'))[:2]
    rules = s.evaluate('net[{x1, x2}, {"TopNegativeLogLikelihoods", 1}]')
    assert all(isinstance(r, Expr) and r.head == Symbol("List") for r in list_items(rules))


def test_net_file_and_text_round_trips(tmp_path):
    net = ev(NET)
    back = file_round_trip(net, tmp_path)
    assert back.ports["Output"].coder == net.ports["Output"].coder
    x = np.ones((3, 2), np.float32)
    np.testing.assert_array_equal(back(x[None]), net(x[None]))
    again = ev(netdsl.input_form(net))
    assert again.ports["Output"].coder == net.ports["Output"].coder


def test_nettrain_with_a_ctc_loss_and_label_targets():
    """LossFunction -> CTCLossLayer[] on an output carrying the decoder: targets given as
    lists of its labels (of different lengths); the trained net reads the sequences back."""
    from test_ctc_loss import make_toy_data
    s = netdsl.Session()
    xs, ts = make_toy_data(np.random.default_rng(11), 48)
    s["xs"], s["labs"] = xs, [[LETTERS[k - 1] for k in t] for t in ts]
    s.evaluate('net = NetChain[{GatedRecurrentLayer[6], NetMapOperator[LinearLayer[4]], '
               'SoftmaxLayer[]}, "Input" -> {"Varying", 3}, "Output" -> NetDecoder[{'
               '"CTCBeamSearch", {"a", "b", "c"}}]]')
    s.evaluate('r = NetTrain[net, <|"Input" -> xs, "Output" -> labs|>, All, LossFunction -> '
               'CTCLossLayer[], MaxTrainingRounds -> 15, BatchSize -> 8, RandomSeeding -> 1, '
               'TrainingProgressReporting -> None, LearningRate -> 0.02]')
    losses = np.asarray(s.evaluate('r["RoundLossList"]'), float)
    assert losses[-1] < 0.1 * losses[0]
    got = [words(d) for d in list_items(s.evaluate('r["TrainedNet"][xs[[;; 8]]]'))]
    want = [tuple(LETTERS[k - 1] for k in t) for t in ts[:8]]
    assert sum(g == w for g, w in zip(got, want)) >= 7
