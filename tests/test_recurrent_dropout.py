"""The "Dropout" option of the recurrent layers (Wolfram's RecurrentDropoutMethodT): its
values and messages, Train mode against the formula with the same masks, backward exact
for the masks drawn, Test mode unchanged, and statistical sanity of the masks.

Train mode draws the masks from the pass's generator in a fixed order
(``draw_masks``); the tests draw them again from a generator with the same seed and put
them into the naive per-step references of tests/recurrent_reference.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError
from netdsl.layers.recurrent_dropout import METHODS, draw_masks, probabilities
from netdsl.session import Session
from tests.layer_harness import build, check_gradients, forward, make_arrays
from tests.recurrent_reference import gru_ref, lstm_ref, rnn_ref

LAYERS = [("LongShortTermMemoryLayer", lstm_ref, 4), ("GatedRecurrentLayer", gru_ref, 3),
          ("BasicRecurrentLayer", rnn_ref, 1)]
SPECS = ['0.3', '{"VariationalWeights" -> 0.4}', '{"VariationalInput" -> 0.5}',
         '{"VariationalState" -> 0.5}', '{"StateUpdate" -> 0.4}',
         '<|"VariationalInput" -> 0.3, "VariationalState" -> 0.2, "StateUpdate" -> 0.25, '
         '"VariationalWeights" -> 0.1|>']
T, N, D, H = 5, 3, 2, 3


def _layer(name, spec):
    return build(f'{name}[{H}, "Input" -> {{"Varying", {D}}}, "Dropout" -> {spec}]')


def _masks(layer, gates, seed, dtype=np.float64):
    return draw_masks(np.random.default_rng(seed), layer.values["Dropout"], gates, T, N, D, H,
                      dtype)


# ---------------------------------------------------------------- values and messages
def test_values_as_wolfram():
    assert build("LongShortTermMemoryLayer[3]").values["Dropout"] is None
    layer = build('GatedRecurrentLayer[3, "Dropout" -> 1/4]')
    assert layer.values["Dropout"] == 0.25
    assert probabilities(0.25) == {"VariationalWeights": 0.25, "VariationalInput": 0.0,
                                   "VariationalState": 0.0, "StateUpdate": 0.0}
    rules = build('BasicRecurrentLayer[3, "Dropout" -> <|"VariationalInput" -> 0.2, '
                  '"StateUpdate" -> 0|>]').values["Dropout"]
    assert probabilities(rules)["VariationalInput"] == 0.2
    assert build('BasicRecurrentLayer[3, "Dropout" -> None]').values["Dropout"] is None


def test_netextract_and_options_give_none_by_default():
    assert netdsl.evaluate('NetExtract[LongShortTermMemoryLayer[3], "Dropout"]') \
        is netdsl.expr.Symbol("None")
    rules = netdsl.evaluate('Options[BasicRecurrentLayer[3, "Dropout" -> 0.5]]')
    assert '"Dropout" -> 0.5' in [netdsl.expr.input_form(r) for r in rules]


def test_the_option_prints_and_parses_back():
    text = ('LongShortTermMemoryLayer[3, "Dropout" -> {"VariationalInput" -> 0.2, '
            '"StateUpdate" -> 0.1}]')
    layer = build(text)
    again = build(layer.input_form())
    assert again == layer
    assert '"Dropout" -> {"VariationalInput" -> 0.2, "StateUpdate" -> 0.1}' in layer.input_form()


@pytest.mark.parametrize("spec,tag", [("1.5", "invdrppval"), ("-0.1", "invdrppval"),
                                      ('{"VariationalInput" -> 2}', "invdrppval"),
                                      ('{"Foo" -> 0.1}', "invdrpspc"), ('"x"', "invdrpspc"),
                                      ('{0.1, 0.2}', "invdrpspc"),
                                      ('{"UpdateVector" -> 0.1}', "invdrpspc")])
def test_bad_values_give_wolframs_messages(spec, tag):
    with pytest.raises(NetDSLError) as e:
        netdsl.evaluate(f'GatedRecurrentLayer[3, "Dropout" -> {spec}]')
    assert e.value.tag == tag
    text = str(e.value)
    if tag == "invdrppval":
        assert "Dropout probabilities should be numeric values between 0 and 1." in text
    else:
        assert ('where the allowed methods are "VariationalWeights", "VariationalInput", '
                '"VariationalState" and "StateUpdate".') in text


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("name,ref,gates", LAYERS)
def test_train_mode_equals_the_formula_with_the_same_masks(name, ref, gates, spec):
    layer = _layer(name, spec)
    a = {k: v * 0.5 for k, v in make_arrays(layer, seed=1).items()}
    x = np.random.default_rng(2).standard_normal((N, T, D))
    y, = forward(layer, a, x, train=True, seed=7, dtype=np.float64)
    masks = _masks(layer, gates, 7)
    for i in range(N):
        np.testing.assert_allclose(y[i], ref(a, x[i], masks=masks, i=i)[0], rtol=1e-6,
                                   atol=1e-7)
    assert not np.allclose(y, forward(layer, a, x, dtype=np.float64)[0])   # dropout acted


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("name,ref,gates", LAYERS)
def test_backward_is_exact_for_the_masks_drawn(name, ref, gates, spec):
    layer = _layer(name, spec)
    a = {k: v * 0.5 for k, v in make_arrays(layer, seed=3).items()}
    x = np.random.default_rng(4).standard_normal((T, D, N))          # batch-last
    check_gradients(layer, a, [x], train=True, seed=11, tol=1e-5)


@pytest.mark.parametrize("name,ref,gates", LAYERS)
def test_states_and_dropout_together(name, ref, gates):
    spec = SPECS[-1]
    states = ("State", "CellState") if gates == 4 else ("State",)
    layer = _layer(name, spec).with_optional_ports(states, states)
    a = {k: v * 0.5 for k, v in make_arrays(layer, seed=5).items()}
    rng = np.random.default_rng(6)
    x = rng.standard_normal((N, T, D))
    init = [rng.standard_normal((N, H)) for _ in states]
    outs = forward(layer, a, x, *init, train=True, seed=3, dtype=np.float64)
    masks = _masks(layer, gates, 3)
    for i in range(N):
        want = ref(a, x[i], *[s[i] for s in init], masks=masks, i=i)
        for got, w in zip(outs, want):
            np.testing.assert_allclose(got[i], w, rtol=1e-6, atol=1e-7)
    xb = rng.standard_normal((T, D, N))
    check_gradients(layer, a, [xb, *[s.T.copy() for s in init]], train=True, seed=3)


@pytest.mark.parametrize("name,ref,gates", LAYERS)
def test_test_mode_is_unchanged(name, ref, gates):
    plain = build(f'{name}[{H}, "Input" -> {{"Varying", {D}}}]')
    layer = _layer(name, SPECS[-1])
    assert layer.has_train_behavior and not plain.has_train_behavior
    a = make_arrays(plain, seed=8)
    x = np.random.default_rng(9).standard_normal((N, T, D))
    np.testing.assert_array_equal(forward(layer, a, x)[0], forward(plain, a, x)[0])


def test_evaluation_modes_in_the_language():
    s = Session()
    s.evaluate('l = NetInitialize[LongShortTermMemoryLayer[4, "Input" -> {"Varying", 3}, '
               '"Dropout" -> {"VariationalInput" -> 0.5}]]; '
               'p = NetInitialize[LongShortTermMemoryLayer[4, "Input" -> {"Varying", 3}]]; '
               'x = RandomReal[1, {6, 3}];')
    test = np.asarray(s.evaluate("l[x]"))
    np.testing.assert_array_equal(test, np.asarray(s.evaluate("p[x]")))
    one = np.asarray(s.evaluate('l[x, NetEvaluationMode -> "Train", RandomSeeding -> 5]'))
    two = np.asarray(s.evaluate('l[x, NetEvaluationMode -> "Train", RandomSeeding -> 5]'))
    np.testing.assert_array_equal(one, two)
    assert not np.allclose(one, test)


def test_nettrain_runs_with_dropout():
    s = Session()
    s.evaluate('net = NetChain[{LongShortTermMemoryLayer[6, "Dropout" -> 0.2], '
               'SequenceLastLayer[], LinearLayer[1]}, "Input" -> {"Varying", 2}]; '
               'data = Table[RandomReal[1, {4, 2}] -> {1.}, 16];')
    trained = s.evaluate("NetTrain[net, data, MaxTrainingRounds -> 3, BatchSize -> 8]")
    assert trained.initialized


# ---------------------------------------------------------------- statistics
@pytest.mark.parametrize("method", METHODS)
def test_masks_drop_with_the_probability_and_keep_the_mean(method):
    p = 0.3
    value = netdsl.evaluate(f'GatedRecurrentLayer[3, "Dropout" -> {{"{method}" -> {p}}}]'
                            ).values["Dropout"]
    m = draw_masks(np.random.default_rng(0), value, 3, 50, 40, 30, 30, np.float64)
    drawn = [a for a in (m.wx, m.ws, m.x, m.s, m.update) if a is not None]
    assert drawn
    for a in drawn:
        assert abs((a == 0).mean() - p) < 0.02
        assert abs(a.mean() - 1) < 0.04
        assert set(np.unique(a)) <= {0.0, 1 / (1 - p)}


def test_variational_masks_differ_by_gate_and_example():
    value = netdsl.evaluate('LongShortTermMemoryLayer[3, "Dropout" -> '
                            '{"VariationalInput" -> 0.5, "VariationalState" -> 0.5}]'
                            ).values["Dropout"]
    m = draw_masks(np.random.default_rng(1), value, 4, 6, 8, 10, 10, np.float64)
    assert m.x.shape == (4, 8, 10) and m.s.shape == (4, 8, 10) and m.update is None
    assert not np.array_equal(m.x[0], m.x[1]) and not np.array_equal(m.x[:, 0], m.x[:, 1])


def test_input_dropout_keeps_the_expected_output():
    """The first step's pre-activation (arctanh of the output; the state starts at zero)
    is linear in the input, so its mean over many dropout draws is Test mode's: the kept
    inputs are scaled by 1/(1-p)."""
    layer = build('BasicRecurrentLayer[2, "Input" -> {"Varying", 3}, '
                  '"Dropout" -> {"VariationalInput" -> 0.4}]')
    a = {k: v * 0.05 for k, v in make_arrays(layer, seed=2).items()}
    x = np.tile(np.array([[[1.0, -2.0, 0.5]]]), (20000, 1, 1))
    train, = forward(layer, a, x, train=True, seed=4, dtype=np.float64)
    test, = forward(layer, a, x[:1], dtype=np.float64)
    pre = np.arctanh(train[:, 0])
    np.testing.assert_allclose(pre.mean(0), np.arctanh(test[0, 0]), atol=4 * pre.std(0).max()
                               / np.sqrt(len(pre)))
    assert pre.std(0).min() > 1e-3
