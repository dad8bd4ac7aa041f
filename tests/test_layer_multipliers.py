"""LearningRateMultipliers given to a layer (a number, or rules "array" -> r) or to an
operator (NetMapOperator, NetFoldOperator, NetBidirectionalOperator, AttentionLayer[net]),
as Wolfram's training parameter: a layer's own spec wins over its operators', NetTrain's
option over both. The update of one plain SGD step scales exactly by the multiplier."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError

SCORING = ('NetGraph[{LinearLayer[4], LinearLayer[4], DotLayer[]}, '
           '{NetPort["Input"] -> 1, NetPort["Query"] -> 2, {1, 2} -> 3}]')


def arrays(s, net: str) -> dict:
    r = s.evaluate(f'Information[{net}, "Arrays"]')
    return {tuple(k.args) if hasattr(k, "args") else k: np.asarray(v, float)
            for k, v in r.items()}


def deltas(s) -> dict:
    before, after = arrays(s, "net"), arrays(s, "t")
    return {k: after[k] - before[k] for k in before}


def run(net_text, **options):
    """The change of every array in one full-batch SGD step without momentum."""
    rng = np.random.default_rng(0)
    s = netdsl.Session()
    s["x"] = rng.standard_normal((16, 3, 2)).astype(np.float32)
    s["y"] = rng.standard_normal((16, 3, 2)).astype(np.float32)
    s.evaluate(f"net = NetInitialize[{net_text}, RandomSeeding -> 1]")
    opts = "".join(f", {k} -> {v}" for k, v in options.items())
    s.evaluate('t = NetTrain[net, x -> y, MaxTrainingRounds -> 1, BatchSize -> 16, '
               'Method -> {"SGD", "Momentum" -> 0}, TrainingProgressReporting -> None'
               f'{opts}]')
    return deltas(s)


def key_with(ds: dict, *parts) -> tuple:
    found = [k for k in ds if k[:-1] == parts[:-1] and k[-1] == parts[-1]]
    assert len(found) == 1, (parts, list(ds))
    return found[0]


def test_a_layer_rule_freezes_one_array_and_a_number_scales_the_step():
    plain = run('NetChain[{NetMapOperator[LinearLayer[2]]}, "Input" -> {3, 2}]')
    rule = run('NetChain[{NetMapOperator[LinearLayer[2, LearningRateMultipliers -> '
               '{"Weights" -> 0}]]}, "Input" -> {3, 2}]')
    half = run('NetChain[{NetMapOperator[LinearLayer[2, LearningRateMultipliers -> 0.5]]}, '
               '"Input" -> {3, 2}]')
    w, b = key_with(plain, 1, "Net", "Weights"), key_with(plain, 1, "Net", "Biases")
    assert np.abs(plain[w]).max() > 1e-4 and np.abs(plain[b]).max() > 1e-4
    np.testing.assert_array_equal(rule[w], 0)
    np.testing.assert_allclose(rule[b], plain[b], rtol=1e-5, atol=1e-7)
    for k in (w, b):
        np.testing.assert_allclose(half[k], 0.5 * plain[k], rtol=1e-4, atol=1e-7)


def test_an_operator_spec_reaches_its_inner_layers_unless_they_have_their_own():
    text = ('NetChain[{NetMapOperator[NetChain[{LinearLayer[3, LearningRateMultipliers -> 1], '
            'LinearLayer[2]}], LearningRateMultipliers -> 0], LinearLayer[{3, 2}]}, '
            '"Input" -> {3, 2}]')
    ds = run(text)
    own = key_with(ds, 1, "Net", 1, "Weights")
    inherited = key_with(ds, 1, "Net", 2, "Weights")
    outside = key_with(ds, 2, "Weights")
    assert np.abs(ds[own]).max() > 1e-5
    np.testing.assert_array_equal(ds[inherited], 0)
    assert np.abs(ds[outside]).max() > 1e-5
    # NetTrain's option has the last word
    ds = run(text, LearningRateMultipliers='{{1, "Net", 2} -> 1}')
    assert np.abs(ds[inherited]).max() > 1e-5


@pytest.mark.parametrize("operator", [
    'NetBidirectionalOperator[BasicRecurrentLayer[1], LearningRateMultipliers -> 0]',
    'NetFoldOperator[NetGraph[<|"cat" -> CatenateLayer[], "lin" -> LinearLayer[2]|>, '
    '{{NetPort["Input"], NetPort["State"]} -> "cat" -> "lin"}], LearningRateMultipliers -> 0]',
])
def test_fold_and_bidirectional_operators(operator):
    ds = run(f'NetChain[{{{operator}}}, "Input" -> {{3, 2}}]')
    assert ds and all(np.abs(d).max() == 0 for d in ds.values())


def test_attention_with_a_scoring_net():
    rng = np.random.default_rng(1)
    s = netdsl.Session()
    s["k"] = rng.standard_normal((16, 3, 2)).astype(np.float32)
    s["q"] = rng.standard_normal((16, 2, 3)).astype(np.float32)
    s["y"] = rng.standard_normal((16, 2, 2)).astype(np.float32)
    s.evaluate(f'net = NetInitialize[NetGraph[<|"att" -> AttentionLayer[{SCORING}, '
               'LearningRateMultipliers -> {"Biases" -> 0}], "lin" -> LinearLayer[{2, 2}]|>, '
               '{NetPort["Key"] -> NetPort["att", "Key"], NetPort["Key"] -> NetPort["att", '
               '"Value"], NetPort["Query"] -> NetPort["att", "Query"], "att" -> "lin"}, '
               '"Key" -> {3, 2}, "Query" -> {2, 3}], RandomSeeding -> 1]')
    s.evaluate('t = NetTrain[net, <|"Key" -> k, "Query" -> q, "Output" -> y|>, '
               'MaxTrainingRounds -> 1, BatchSize -> 16, TrainingProgressReporting -> None]')
    ds = deltas(s)
    biases = [k for k in ds if "ScoringNet" in k and "Biases" in k]
    weights = [k for k in ds if "ScoringNet" in k and "Weights" in k]
    assert len(biases) == 2 and len(weights) == 2
    assert all(np.abs(ds[k]).max() == 0 for k in biases)
    assert all(np.abs(ds[k]).max() > 0 for k in weights)
    assert "LearningRateMultipliers" in s.evaluate("net").input_form()


def test_text_and_files_keep_the_spec_and_bad_specs_are_errors(tmp_path):
    s = netdsl.Session()
    m = s.evaluate('m = NetInitialize@NetMapOperator[LinearLayer[2], "Input" -> {3, 2}, '
                   'LearningRateMultipliers -> 0.25]')
    assert "LearningRateMultipliers -> 0.25" in m.input_form()
    assert s.evaluate(m.input_form()).multipliers == 0.25
    again = s.evaluate(f'Import[Export["{tmp_path}/m.safetensors", m]]')
    assert again.multipliers == 0.25
    for text, tag in (('NetMapOperator[LinearLayer[2], LearningRateMultipliers -> x]', "lrmult"),
                      ('LinearLayer[2, LearningRateMultipliers -> {"Weights" -> x}]', "invopt")):
        with pytest.raises(NetDSLError) as e:
            s.evaluate(text)
        assert e.value.tag == tag and "expected a number r" in e.value.text


def test_netTrain_rules_first_match_wins_with_patterns_spans_and_none():
    """Wolfram: "the rate used is given by the first matching rule"; None freezes;
    {part -> 1, _ -> None} freezes all but part; m ;; n names layers m through n."""
    text = ('NetChain[<|"a" -> LinearLayer[3], "t" -> Tanh, "target" -> LinearLayer[{3, 2}]|>, '
            '"Input" -> {3, 2}]')
    ds = run(text, LearningRateMultipliers='{"target" -> 1, _ -> None}')
    assert all(np.abs(d).max() == 0 for k, d in ds.items() if k[0] == "a")
    assert all(np.abs(d).max() > 0 for k, d in ds.items() if k[0] == "target")
    ds = run(text, LearningRateMultipliers='{_ -> None, "target" -> 1}')
    assert all(np.abs(d).max() == 0 for d in ds.values()) or not ds
    chain = ('NetChain[{LinearLayer[3], Tanh, LinearLayer[3], LinearLayer[{3, 2}]}, '
             '"Input" -> {3, 2}]')
    ds = run(chain, LearningRateMultipliers='{2 ;; 3 -> 0}')
    assert all(np.abs(d).max() == 0 for k, d in ds.items() if k[0] == 3)
    assert all(np.abs(d).max() > 0 for k, d in ds.items() if k[0] in (1, 4))


def test_netchain_and_netgraph_options_and_the_multipliers_properties():
    """NetChain/NetGraph[..., LearningRateMultipliers -> ...] (Wolfram: an option of net
    layers, NetChain, NetGraph and NetTrain), Information[net,
    "ArraysLearningRateMultipliers"] and NetTrain's results property of that name."""
    text = ('NetChain[{NetChain[{LinearLayer[3, LearningRateMultipliers -> 0.5], LinearLayer[3]},'
            ' LearningRateMultipliers -> {2 -> None}], LinearLayer[{3, 2}]}, "Input" -> {3, 2},'
            ' LearningRateMultipliers -> 2]')
    s = netdsl.Session()
    info = s.evaluate(f'Information[{text}, "ArraysLearningRateMultipliers"]')
    got = {tuple(k.args): v for k, v in info.items()}
    assert got == {(1, 1, "Weights"): 0.5, (1, 1, "Biases"): 0.5, (1, 2, "Weights"): 0,
                   (1, 2, "Biases"): 0, (2, "Weights"): 2, (2, "Biases"): 2}
    ds = run(text)
    plain = run(text.replace(', LearningRateMultipliers -> 2]', ']'))
    np.testing.assert_array_equal(ds[(1, 2, "Weights")], 0)
    np.testing.assert_allclose(ds[(2, "Weights")], 2 * plain[(2, "Weights")], rtol=1e-4,
                               atol=1e-7)
    assert "LearningRateMultipliers -> 2" in s.evaluate(text).input_form()
    assert s.evaluate(s.evaluate(text).input_form()).multipliers == 2
    s["x"] = np.ones((4, 3, 2), np.float32)
    s["y"] = np.ones((4, 3, 2), np.float32)
    r = s.evaluate(f'NetTrain[{text}, x -> y, "ArraysLearningRateMultipliers", '
                   'LearningRateMultipliers -> {2 -> 0}, MaxTrainingRounds -> 1, '
                   'TrainingProgressReporting -> None]')
    got = {tuple(k.args): v for k, v in r.items()}
    assert got[(2, "Weights")] == 0 and got[(1, 1, "Weights")] == 0.5
    with pytest.raises(NetDSLError) as e:
        s.evaluate('NetGraph[{LinearLayer[2]}, {}, LearningRateMultipliers -> x]')
    assert e.value.tag == "lrmult"
