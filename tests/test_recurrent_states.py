"""The recurrent layers' state ports: "State" (and LSTM's "CellState") as the initial state
in and the final state out, on a layer, in a NetGraph (NetPort[layer, "State"]), in shape
inference and check, with gradients, and in batches of different lengths.

Values are checked against naive per-step loops (tests/recurrent_reference.py), gradients
against float64 central differences.
"""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
import io

from netdsl.check import check_text
from netdsl.errors import NetDSLError, ShapeError
from netdsl.session import Session
from tests.layer_harness import build, check_gradients, forward, make_arrays
from tests.recurrent_reference import gru_ref, lstm_ref, rnn_ref

# name, reference, state ports
LAYERS = [("LongShortTermMemoryLayer", lstm_ref, ("State", "CellState")),
          ("GatedRecurrentLayer", gru_ref, ("State",)),
          ("BasicRecurrentLayer", rnn_ref, ("State",))]


def _layer(name, states, h=3, d=2):
    layer = build(f'{name}[{h}, "Input" -> {{"Varying", {d}}}]')
    return layer.with_optional_ports(states, states)


@pytest.mark.parametrize("name,ref,states", LAYERS)
def test_state_ports_are_shown_only_when_used(name, ref, states):
    layer = build(f'{name}[3, "Input" -> {{"Varying", 2}}]')
    assert layer.port_names() == (("Input",), ("Output",))
    shown = layer.with_optional_ports(states, states)
    assert shown.port_names() == (("Input",) + states, ("Output",) + states)
    assert all(shown.ports[p].shape == (3,) for p in states)
    assert shown.reset().port_names() == shown.port_names()


@pytest.mark.parametrize("name,ref,states", LAYERS)
def test_initial_and_final_states_equal_the_formula(name, ref, states):
    layer = _layer(name, states)
    a = {k: v * 0.5 for k, v in make_arrays(layer, seed=1).items()}
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, 2))
    init = [rng.standard_normal((2, 3)) for _ in states]
    outs = forward(layer, a, x, *init, dtype=np.float64)
    assert len(outs) == 1 + len(states)
    for i in range(2):
        want = ref(a, x[i], *[s[i] for s in init])
        for got, w in zip(outs, want):
            np.testing.assert_allclose(got[i], w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(outs[1][i], outs[0][i, -1], rtol=1e-6)  # State = last step


@pytest.mark.parametrize("name,ref,states", LAYERS)
def test_state_ports_backward(name, ref, states):
    layer = _layer(name, states, h=3, d=2)
    a = {k: v * 0.5 for k, v in make_arrays(layer, seed=3).items()}
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 2, 2))                        # batch-last (n, d, N)
    init = [rng.standard_normal((3, 2)) for _ in states]      # (h, N)
    check_gradients(layer, a, [x, *init], tol=1e-5)


@pytest.mark.parametrize("name,ref,states", LAYERS)
def test_only_the_final_state_read(name, ref, states):
    """An initial state not given is zero; a final state alone (no initial) is exposed."""
    layer = build(f'{name}[3, "Input" -> {{"Varying", 2}}]').with_optional_ports((), ("State",))
    a = make_arrays(layer, seed=5)
    x = np.random.default_rng(6).standard_normal((1, 4, 2))
    y, s = forward(layer, a, x, dtype=np.float64)
    np.testing.assert_allclose(s[0], ref(a, x[0])[1], rtol=1e-5, atol=1e-6)
    check_gradients(layer, {k: v * 0.5 for k, v in a.items()},
                    [np.random.default_rng(7).standard_normal((3, 2, 2))])


GRAPH = ('g = NetInitialize[NetGraph[<|"lin" -> LinearLayer[3], '
         '"lstm" -> LongShortTermMemoryLayer[3]|>, '
         '{NetPort["s0"] -> "lin" -> NetPort["lstm", "State"], '
         'NetPort["lstm", "State"] -> NetPort["final"], '
         'NetPort[{"lstm", "CellState"}] -> NetPort["cell"]}, '
         '"Input" -> {"Varying", 2}, "s0" -> 4]];')


def _graph_session():
    s = Session()
    s.evaluate(GRAPH)
    return s, s.evaluate("g")


def _arrays(net, name):
    layer = net.net(name)
    return {k: np.asarray(v, np.float64) for k, v in layer.arrays.items()}


def test_netgraph_connects_initial_and_final_states():
    s, g = _graph_session()
    assert set(g.port_names()[0]) == {"s0", "Input"}
    assert set(g.port_names()[1]) == {"final", "cell", "Output"}
    assert g.ports["final"].shape == (3,) and g.ports["cell"].shape == (3,)
    x = np.random.default_rng(8).standard_normal((4, 2))
    s0 = np.array([0.5, -1.0, 2.0, 0.1])
    out = g({"Input": x, "s0": s0})
    lin = _arrays(g, "lin")
    init = lin["Weights"] @ s0 + lin["Biases"]
    y, sT, cT = lstm_ref(_arrays(g, "lstm"), x, init)
    np.testing.assert_allclose(out["Output"], y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["final"], sT, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["cell"], cT, rtol=1e-5, atol=1e-6)


def test_ragged_batch_final_state_is_each_examples_last_step():
    s, g = _graph_session()
    rng = np.random.default_rng(9)
    xs = [rng.standard_normal((n, 2)) for n in (3, 1, 5, 3)]
    s0 = rng.standard_normal((4, 4))
    out = g({"Input": xs, "s0": s0})
    for i, x in enumerate(xs):
        alone = g({"Input": x, "s0": s0[i]})
        np.testing.assert_allclose(out["final"][i], alone["final"], rtol=1e-6)
        np.testing.assert_allclose(out["cell"][i], alone["cell"], rtol=1e-6)
        np.testing.assert_allclose(out["final"][i], alone["Output"][-1], rtol=1e-6)


def test_port_gradient_with_respect_to_the_initial_state():
    s, g = _graph_session()
    x = np.random.default_rng(10).standard_normal((3, 2))
    s0 = np.array([0.3, -0.2, 0.5, 1.0])
    s.evaluate(f"x = {netdsl.expr.input_form(netdsl.expr.packed(x))}; "
               f"s0 = {{0.3, -0.2, 0.5, 1.0}};")
    grad = np.asarray(s.evaluate('g[<|"Input" -> x, "s0" -> s0|>, NetPortGradient["s0"]]'),
                      np.float64)
    lstm, lin = _arrays(g, "lstm"), _arrays(g, "lin")

    def total(v):
        y, sT, cT = lstm_ref(lstm, x, lin["Weights"] @ v + lin["Biases"])
        return y.sum() + sT.sum() + cT.sum()
    eps = 1e-6
    numeric = [(total(s0 + eps * e) - total(s0 - eps * e)) / (2 * eps) for e in np.eye(4)]
    np.testing.assert_allclose(grad, numeric, rtol=2e-3, atol=2e-4)


def test_layer_applied_to_an_association_with_a_state():
    s = Session()
    s.evaluate('l = NetInitialize[GatedRecurrentLayer[2, "Input" -> {"Varying", 3}]]; '
               'x = {{1., 2., 3.}, {0., -1., 0.5}};')
    layer = s.evaluate("l")
    a = {k: np.asarray(v, np.float64) for k, v in layer.arrays.items()}
    x = np.array([[1., 2., 3.], [0., -1., 0.5]])
    y = np.asarray(s.evaluate('l[<|"Input" -> x, "State" -> {0.5, -0.5}|>]'), np.float64)
    np.testing.assert_allclose(y, gru_ref(a, x, [0.5, -0.5])[0], rtol=1e-5, atol=1e-6)
    final = np.asarray(s.evaluate('l[x, NetPort["State"]]'), np.float64)
    np.testing.assert_allclose(final, gru_ref(a, x)[1], rtol=1e-5, atol=1e-6)
    assert np.allclose(np.asarray(s.evaluate('l[x, "State"]'), np.float64), final)
    py = layer({"Input": x, "State": np.array([0.5, -0.5])})
    np.testing.assert_allclose(py, y, rtol=1e-6)


def test_an_edge_to_the_layer_feeds_its_input_not_its_state():
    net = netdsl.evaluate('NetGraph[<|"a" -> LinearLayer[3], "r" -> BasicRecurrentLayer[3], '
                          '"e" -> ElementwiseLayer[Tanh]|>, '
                          '{NetPort["s"] -> "a" -> NetPort["r", "State"], "e" -> "r"}, '
                          '"Input" -> {"Varying", 2}, "s" -> 5]')
    r = net.net("r")
    assert r.port_names()[0] == ("Input", "State")
    assert net.ports["Input"].shape[1] == 2


def test_state_of_the_wrong_size_is_a_shape_error():
    with pytest.raises(ShapeError, match="State"):
        netdsl.evaluate('NetGraph[<|"a" -> LinearLayer[4], "r" -> GatedRecurrentLayer[3]|>, '
                        '{"a" -> NetPort["r", "State"]}, "Input" -> 2]')


def test_unknown_port_of_a_recurrent_layer_is_an_error():
    with pytest.raises(NetDSLError, match="no input port"):
        netdsl.evaluate('NetGraph[<|"a" -> LinearLayer[3], "r" -> GatedRecurrentLayer[3]|>, '
                        '{"a" -> NetPort["r", "CellState"]}, "Input" -> 2]')


def test_check_shows_the_state_shapes():
    text = (GRAPH + '\ny = g[<|"Input" -> RandomReal[1, {7, 2}], "s0" -> {1, 2, 3, 4}|>];\n'
            'z = g[<|"Input" -> RandomReal[1, {5, 6, 2}], "s0" -> RandomReal[1, {5, 4}]|>];\n'
            'bad = NetGraph[<|"a" -> LinearLayer[4], "r" -> BasicRecurrentLayer[3]|>, '
            '{"a" -> NetPort["r", "State"]}];\n')
    out, err = io.StringIO(), io.StringIO()
    check_text(text, "states.wl", out, err)
    words = out.getvalue()
    assert "states.wl:4:" in err.getvalue() and '"State" port' in err.getvalue(), err.getvalue()
    assert '"s0" vector of size 4, "Input" matrix of dimensions {n, 2} -> "final" vector of ' \
        'size 3, "cell" vector of size 3, "Output" matrix of dimensions {n, 3}' in words, words


def test_information_lists_the_recurrent_states():
    net = ('NetChain[{EmbeddingLayer[3, 5], LongShortTermMemoryLayer[3], '
           'NetChain[<|"g" -> GatedRecurrentLayer[2]|>]}]')
    assert netdsl.evaluate(f'Information[{net}, "RecurrentStatesCount"]') == 3
    positions = netdsl.evaluate(f'Information[{net}, "RecurrentStatesPositionList"]')
    assert netdsl.expr.input_form(positions) == ('{NetPort[{2, "State"}], NetPort[{2, '
                                                 '"CellState"}], NetPort[{3, "g", "State"}]}')
    assert netdsl.evaluate('Information[LinearLayer[2], "RecurrentStatesCount"]') == 0


def test_embedding_before_an_lstm_with_state_ports_in_training():
    """The fused Embedding -> LSTM step is not used when the LSTM's states are connected:
    Train and Test mode give the formula, and NetTrain runs."""
    s = Session()
    s.evaluate('g = NetInitialize[NetGraph[<|"emb" -> EmbeddingLayer[3, 6], '
               '"lstm" -> LongShortTermMemoryLayer[4]|>, {"emb" -> "lstm", '
               'NetPort["s"] -> NetPort["lstm", "State"], '
               'NetPort["lstm", "State"] -> NetPort["final"]}, '
               '"s" -> 4]];')
    g = s.evaluate("g")
    idx = np.array([1, 5, 2, 6, 6, 3])
    s0 = np.array([0.1, -0.2, 0.3, 0.0])
    emb = np.asarray(g.net("emb").arrays["Weights"], np.float64)
    y, sT, _ = lstm_ref(_arrays(g, "lstm"), emb[idx - 1], s0)
    for mode in ("Test", "Train"):
        out = g({"Input": idx, "s": s0}, evaluation_mode=mode)
        np.testing.assert_allclose(out["Output"], y, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out["final"], sT, rtol=1e-5, atol=1e-6)
    trained = s.evaluate(
        'NetTrain[NetGraph[<|"emb" -> EmbeddingLayer[3, 6], "lstm" -> LongShortTermMemoryLayer[4], '
        '"sum" -> SummationLayer[]|>, {"emb" -> "lstm", NetPort["s"] -> NetPort["lstm", "State"], '
        'NetPort["lstm", "State"] -> "sum", NetPort["lstm", "Output"] -> None}], '
        '{<|"Input" -> {1, 2, 3}, "s" -> {0, 0, 0, 0}, "Output" -> 0.5|>, '
        '<|"Input" -> {4, 5, 6}, "s" -> {1, 0, 0, 0}, "Output" -> 0.1|>}, '
        'MaxTrainingRounds -> 2]')
    assert trained.initialized


def test_basic_recurrent_layer_has_no_activation_argument():
    with pytest.raises(NetDSLError, match="always Tanh") as e:
        netdsl.evaluate("BasicRecurrentLayer[3, Ramp]")
    assert e.value.tag == "argx"


def test_state_ports_in_summaries_and_diagrams():
    s, g = _graph_session()
    text = str(g)
    assert "State: vector of size 3" in text and "CellState: vector of size 3" in text
    assert s.evaluate('Information[g, "SummaryGraphic"]') is not None
    layer = build('LongShortTermMemoryLayer[3, "Input" -> {"Varying", 2}]')
    shown = layer.with_optional_ports(("State",), ("State",))
    assert '"State" ->' not in shown.input_form()     # a port the container's edges show


def test_check_on_a_layer_given_a_state():
    text = ('l = NetInitialize[GatedRecurrentLayer[2, "Input" -> {"Varying", 3}]];\n'
            'y = l[<|"Input" -> RandomReal[1, {4, 3}], "State" -> {1, 2}|>];\n'
            'z = l[RandomReal[1, {5, 4, 3}], NetPort["State"]];\n'
            'w = l[<|"Input" -> RandomReal[1, {4, 3}], "State" -> {1, 2, 3}|>];\n')
    out, err = io.StringIO(), io.StringIO()
    check_text(text, "a.wl", out, err)
    assert "y = output of dimensions {4, 2}" in out.getvalue()
    assert "z = output of dimensions {5, 2}" in out.getvalue()
    assert 'a.wl:4:5: error: GatedRecurrentLayer::netinvin: Input to port "State" should be a ' \
           'vector of size 2' in err.getvalue()


def test_replacing_a_recurrent_layer_keeps_its_state_wiring():
    s, g = _graph_session()
    new = s.evaluate('NetReplace[g, _LongShortTermMemoryLayer -> '
                     'LongShortTermMemoryLayer[3, "Dropout" -> 0.1]]')
    assert new.net("lstm").port_names() == (("Input", "State"),
                                            ("Output", "State", "CellState"))
    assert set(new.port_names()[1]) == {"final", "cell", "Output"}
    with pytest.raises(NetDSLError, match='read on its output "CellState"'):   # a GRU has none
        s.evaluate('NetReplace[g, _LongShortTermMemoryLayer -> GatedRecurrentLayer[3]]')
    with pytest.raises(NetDSLError, match='fed on its input "State"'):
        s.evaluate('NetReplacePart[g, "lstm" -> LinearLayer[3]]')


# ---------------------------------------------------------------- NetPort[All, "States"]
CHAIN = ('net = NetInitialize[NetChain[{LongShortTermMemoryLayer[2], GatedRecurrentLayer[3]}, '
         '"Input" -> {"Varying", 2}]]; x = {{1., 2.}, {3., 4.}, {0., 1.}};')


def _chain_refs(net, x, s1=None, c1=None, s2=None):
    lstm = {k: np.asarray(v, np.float64) for k, v in net.net("1").arrays.items()}
    gru = {k: np.asarray(v, np.float64) for k, v in net.net("2").arrays.items()}
    y1, sT, cT = lstm_ref(lstm, x, s1, c1)
    y2, s2T = gru_ref(gru, y1, s2)
    return y2, {(1, "State"): sT, (1, "CellState"): cT, (2, "State"): s2T}


def _states(assoc):
    return {tuple(k.args): np.asarray(v, np.float64) for k, v in assoc.items()}


def test_all_states_out_and_in():
    s = Session()
    s.evaluate(CHAIN)
    net = s.evaluate("net")
    x = np.array([[1., 2.], [3., 4.], [0., 1.]])
    y, finals = _chain_refs(net, x)
    got = _states(s.evaluate('net[x, NetPort[All, "States"]]'))
    assert got.keys() == finals.keys()
    for k in finals:
        np.testing.assert_allclose(got[k], finals[k], rtol=1e-5, atol=1e-6)
    out = np.asarray(s.evaluate('net[<|"Input" -> x, NetPort[All, "States"] -> '
                                '<|{1, "State"} -> {1, 1}, NetPort[{2, "State"}] -> {0, 0, 1}|>|>]'),
                     np.float64)
    want, _ = _chain_refs(net, x, [1, 1], None, [0, 0, 1])
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    # carrying the states on: two halves equal the whole
    s.evaluate('st = net[x[[;; 2]], NetPort[All, "States"]];')
    rest = np.asarray(s.evaluate('net[<|"Input" -> x[[3 ;;]], NetPort[All, "States"] -> st|>]'))
    np.testing.assert_allclose(rest[-1], y[-1], rtol=1e-5, atol=1e-6)


def test_all_states_of_a_ragged_batch_and_bad_keys():
    s = Session()
    s.evaluate(CHAIN)
    net = s.evaluate("net")
    x = np.array([[1., 2.], [3., 4.], [0., 1.]])
    got = _states(s.evaluate('net[{x, Most[x]}, NetPort[All, "States"]]'))
    for i, xi in enumerate((x, x[:-1])):
        for k, v in _chain_refs(net, xi)[1].items():
            np.testing.assert_allclose(got[k][i], v, rtol=1e-5, atol=1e-6)
    with pytest.raises(NetDSLError, match=r'\{3, "State"\} is not a recurrent state'):
        s.evaluate('net[<|"Input" -> x, NetPort[All, "States"] -> <|{3, "State"} -> {1, 1}|>|>]')


def test_all_states_leave_a_connected_initial_state_alone():
    s, g = _graph_session()
    s.evaluate('x = {{1., 2.}, {0., 1.}};')
    with pytest.raises(NetDSLError, match="is not a recurrent state of the net that can be set"):
        s.evaluate('g[<|"Input" -> x, "s0" -> {1, 2, 3, 4}, '
                   'NetPort[All, "States"] -> <|{"lstm", "State"} -> {1, 1, 1}|>|>]')
    got = s.evaluate('g[<|"Input" -> x, "s0" -> {1, 2, 3, 4}, NetPort[All, "States"] -> '
                     '<|{"lstm", "CellState"} -> {1, 1, 1}|>|>, NetPort[All, "States"]]')
    lin, lstm = _arrays(g, "lin"), _arrays(g, "lstm")
    _, sT, cT = lstm_ref(lstm, np.array([[1., 2.], [0., 1.]]),
                         lin["Weights"] @ [1, 2, 3, 4] + lin["Biases"], [1, 1, 1])
    got = {tuple(k.args): np.asarray(v, np.float64) for k, v in got.items()}
    np.testing.assert_allclose(got[("lstm", "State")], sT, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[("lstm", "CellState")], cT, rtol=1e-5, atol=1e-6)


def test_all_states_of_a_layer_alone_and_in_check():
    s = Session()
    s.evaluate('l = NetInitialize[BasicRecurrentLayer[2, "Input" -> {"Varying", 2}]]; '
               'x = {{1., 2.}, {0., 1.}};')
    got = s.evaluate('l[<|"Input" -> x, NetPort[All, "States"] -> <|"State" -> {1, 1}|>|>, '
                     'NetPort[All, "States"]]')
    want = s.evaluate('l[<|"Input" -> x, "State" -> {1, 1}|>, "State"]')
    np.testing.assert_allclose(np.asarray(dict(got.items())["State"]), np.asarray(want), rtol=1e-6)
    out, err = io.StringIO(), io.StringIO()
    check_text(CHAIN + '\ny = net[RandomReal[1, {4, 5, 2}], NetPort[All, "States"]];\n',
               "s.wl", out, err)
    assert not err.getvalue(), err.getvalue()
