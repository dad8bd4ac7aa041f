"""What a third round of public Wolfram net code needed (a GPT and a RoPE/RMSNorm/SwiGLU
"nano" transformer built from FunctionLayers, regression blog and course packages,
transfer learning with frozen layers):

- language: Needs of a context already begun with BeginPackage loads nothing,
  ClearAll["Pkg`*"] clears only the symbols defined in Pkg`, MapIndexed at levels,
  UpperTriangularize/LowerTriangularize, ArrayFlatten, AbsoluteTime, UnixTime;
- nets: SequenceIndicesLayer[n] (its "Maximum" given positionally) and its default
  "Varying" length, a container input feeding several layers, constant arrays inside
  FunctionLayer (frozen), FunctionLayer "Inputs" -> <|port -> shape|>,
  ElementwiseLayer[Minus], targets of a "Scalar" decoder given as a packed list,
  open outputs settled from a list of <|"Input" -> ..., "Output" -> ...|> examples,
  LearningRateMultipliers naming chain layers by position (named layers, layers without
  arrays), MaxTrainingRounds -> Quantity[t, "Seconds"] and TimeGoal units, a fractional
  "Interval", and the message for Export to .wlnet.

Expected values are worked out in the test from Wolfram's documented definitions (NumPy
formulas, rows of extracted arrays), never captured from netdsl.
"""

from __future__ import annotations

import datetime as dt
import io
import time

import numpy as np
import pytest

from netdsl import Session
from values import close, error, exact, py, run, text


def session() -> Session:
    return Session(stdout=io.StringIO())


def arr(x) -> np.ndarray:
    return np.asarray(py(x), dtype=np.float64)


# ---------------------------------------------------------------- packages and contexts
def test_needs_of_a_package_begun_in_the_same_file_loads_nothing():
    s = session()
    run('BeginPackage["Pkg`A`"]; f[x_] := 2 x; EndPackage[];', s)
    # as in Wolfram, BeginPackage puts Pkg`A` on $Packages: no file Pkg/A.wl is looked for
    run('BeginPackage["Pkg`B`", {"Pkg`A`"}]; g[x_] := f[x] + 1; EndPackage[];', s)
    exact(run("g[3]", s), 7)
    assert run('Needs["Pkg`A`"]', s) == run("Null", s)
    error('Needs["Pkg`Missing`"]', "Needs", "nocont", s)


def test_clear_all_of_a_context_clears_only_that_context():
    s = session()
    # one statement a line, as in package files (a line is read in the contexts set by
    # the lines before it, as in Wolfram)
    run('a = 1\nBeginPackage["First`"]\ntrain[x_, y_] := x + y\nEndPackage[]', s)
    # the second package clears "its" symbols first, as package files do
    run('BeginPackage["Second`"]\nClearAll["Second`*"]\nh = 5\nEndPackage[]', s)
    exact(run("{a, train[1, 2], h}", s), [1, 3, 5])
    run('ClearAll["Second`*"]', s)
    assert text("{a, train[1, 2], h}", s) == "{1, 3, h}"
    run('BeginPackage["Third`"]\nk = 2\nClearAll["`*"]\nEndPackage[]', s)   # relative
    assert text("{a, k}", s) == "{1, k}"
    run('ClearAll["Global`*"]', s)
    assert text("{a, train[1, 2]}", s) == "{a, 3}"
    run('z1 = 1; z2 = 2; ClearAll["z*"]', s)          # no context: every matching name
    assert text("{z1, z2}", s) == "{z1, z2}"


@pytest.mark.parametrize("src, expected", [
    ("MapIndexed[f, {a, b}, {1}]", "{f[a, {1}], f[b, {2}]}"),
    ("MapIndexed[f, {{a, b}, {c}}, {2}]", "{{f[a, {1, 1}], f[b, {1, 2}]}, {f[c, {2, 1}]}}"),
    # levels 1 through 2: the deeper parts first, then their (mapped) parents
    ("MapIndexed[f, {{a}, b}, 2]", "{f[{f[a, {1, 1}]}, {1}], f[b, {2}]}"),
    ("MapIndexed[f, {a}, {0, 1}]", "f[{f[a, {1}]}, {}]"),
])
def test_map_indexed_at_levels(src, expected):
    assert text(src) == expected


def test_map_indexed_setting_a_list_by_index_as_the_course_package_does():
    s = session()
    run("args = {x, Null, 3}; defaults = {1, 2, 4}; MapIndexed[Function[{item, index}, "
        "args[[First@index]] = If[item === Null, defaults[[First@index]], item]], args, {1}];",
        s)
    assert text("args", s) == "{x, 2, 3}"


# ---------------------------------------------------------------- arrays and time
def test_upper_and_lower_triangularize_are_triu_and_tril():
    m = np.arange(1, 13).reshape(3, 4)
    src = "Partition[Range[12], 4]"
    for k in (-1, 0, 1, 2):
        exact(run(f"UpperTriangularize[{src}, {k}]"), np.triu(m, k).tolist())
        exact(run(f"LowerTriangularize[{src}, {k}]"), np.tril(m, k).tolist())
    exact(run(f"UpperTriangularize[{src}]"), np.triu(m).tolist())
    # the causal mask of the GPT package: large negatives strictly above the diagonal
    mask = np.triu(np.full((4, 4), -1e9), 1)
    close(run("UpperTriangularize[ConstantArray[-1.0*10^9, {4, 4}], 1]"), mask)
    assert text("LowerTriangularize[{{a, b}, {c, d}}]") == "{{a, 0}, {c, d}}"
    error("UpperTriangularize[{1, 2}]", "UpperTriangularize", "matrix")
    error("UpperTriangularize[{{1}}, 1.5]", "UpperTriangularize", "intm")


def test_array_flatten_joins_blocks():
    a, b = np.array([[1, 2], [3, 4]]), np.array([[5, 6]])
    expected = np.block([[a, np.zeros((2, 1), int)], [b, np.array([[7]])]])
    exact(run("ArrayFlatten[{{{{1, 2}, {3, 4}}, 0}, {{{5, 6}}, {{7}}}}]"), expected.tolist())
    x, y = np.array([[1.5, 2.0]]), np.array([[3.0, 4.0], [5.0, 6.0]])
    close(run("ArrayFlatten[{{{{1.5, 2.}}}, {{{3., 4.}, {5., 6.}}}}]"), np.vstack([x, y]))
    assert text("ArrayFlatten[{{{{a}}, {{b}}}}]") == "{{a, b}}"
    error("ArrayFlatten[{{{{1, 2}}, {{3}, {4}}}}]", "ArrayFlatten", "consist")


def test_absolute_time_and_unix_time():
    seconds = int((dt.datetime(2000, 1, 1) - dt.datetime(1900, 1, 1)).total_seconds())
    exact(run("AbsoluteTime[{2000, 1, 1, 0, 0, 0}]"), seconds)
    exact(run("AbsoluteTime[{2000, 1, 1}]"), seconds)
    now = dt.datetime.now()
    got = run("AbsoluteTime[]")
    assert isinstance(got, float)
    assert abs(got - (now - dt.datetime(1900, 1, 1)).total_seconds()) < 5
    assert abs(run("UnixTime[]") - time.time()) < 5
    local = dt.datetime(2001, 2, 3, 4, 5, 6).astimezone().timestamp()
    exact(run("UnixTime[{2001, 2, 3, 4, 5, 6}]"), int(local))
    error("AbsoluteTime[x]", "AbsoluteTime", "argx")


# ---------------------------------------------------------------- layers
def test_sequence_indices_layer_takes_its_maximum_positionally():
    exact(run("SequenceIndicesLayer[3][{5, 6, 7, 8, 9}]"), [1, 2, 3, 3, 3])
    exact(run('SequenceIndicesLayer["Maximum" -> 2][{1., 1., 1.}]'), [1, 2, 2])
    assert text("SequenceIndicesLayer[4]") == "SequenceIndicesLayer[4]"
    exact(run('NetExtract[SequenceIndicesLayer[4], "Maximum"]'), 4)
    error("SequenceIndicesLayer[0]", "SequenceIndicesLayer", "invopt")
    error("SequenceIndicesLayer[2, 3]", "SequenceIndicesLayer", "argx")


def test_position_embedding_graph_without_an_input_shape_initialises():
    """The GPT package's chainEmbedder: token and position embeddings summed, built with
    no "Input" shape. Wolfram's SequenceIndicesLayer input is a sequence of "Varying"
    length, so the graph initialises; the input feeds two layers."""
    s = session()
    run('g = NetInitialize@NetGraph[<|"tokenEmbed" -> EmbeddingLayer[3, 10], '
        '"posIdx" -> SequenceIndicesLayer[8], "posEmbed" -> EmbeddingLayer[3, 8], '
        '"sum" -> ThreadingLayer[Plus]|>, {NetPort["Input"] -> "tokenEmbed", '
        'NetPort["Input"] -> "posIdx", "posIdx" -> "posEmbed", '
        '{"tokenEmbed", "posEmbed"} -> "sum"}];', s)
    tok = arr(run('NetExtract[g, {"tokenEmbed", "Weights"}]', s))
    pos = arr(run('NetExtract[g, {"posEmbed", "Weights"}]', s))
    ids = [3, 1, 10, 10, 2]
    got = arr(run("g[{3, 1, 10, 10, 2}]", s))
    expected = tok[np.array(ids) - 1] + pos[np.arange(len(ids))]
    assert np.allclose(got, expected, atol=1e-6)
    # any length up to the table's 8 rows, and beyond it the last row ("Maximum" 8)
    got = arr(run("g[Range[10]]", s))
    expected = tok[np.arange(10)] + pos[np.minimum(np.arange(10), 7)]
    assert np.allclose(got, expected, atol=1e-6)


def test_elementwise_minus():
    close(run("ElementwiseLayer[Minus][{1., -2.5}]"), [-1.0, 2.5])
    assert text("ElementwiseLayer[Minus]") == "ElementwiseLayer[Minus]"


# ---------------------------------------------------------------- FunctionLayer
GPT_HEAD = '''
causalMask[n_Integer] := UpperTriangularize[ConstantArray[-1.0*10^9, {n, n}], 1];
head[dModel_, dHead_, n_] := With[{mask = causalMask[n], scale = Sqrt[N[dHead]]},
  NetInitialize @ NetGraph[<|
    "q" -> NetMapOperator[LinearLayer[dHead, "Biases" -> None]],
    "k" -> NetMapOperator[LinearLayer[dHead, "Biases" -> None]],
    "v" -> NetMapOperator[LinearLayer[dHead, "Biases" -> None]],
    "scores" -> FunctionLayer[(#Q . Transpose[#K] / scale + mask) &,
      "Inputs" -> <|"Q" -> {n, dHead}, "K" -> {n, dHead}|>, "Output" -> {n, n}],
    "weights" -> SoftmaxLayer[],
    "output" -> FunctionLayer[(#W . #V) &,
      "Inputs" -> <|"W" -> {n, n}, "V" -> {n, dHead}|>, "Output" -> {n, dHead}]|>,
   {NetPort["Input"] -> "q", NetPort["Input"] -> "k", NetPort["Input"] -> "v",
    "q" -> NetPort["scores", "Q"], "k" -> NetPort["scores", "K"], "scores" -> "weights",
    "weights" -> NetPort["output", "W"], "v" -> NetPort["output", "V"]},
   "Input" -> {n, dModel}]];
h = head[4, 3, 5];
'''


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_causal_attention_head_of_function_layers_matches_the_formula():
    s = session()
    run(GPT_HEAD, s)
    wq, wk, wv = (arr(run(f'NetExtract[h, {{"{n}", "Net", "Weights"}}]', s))
                  for n in "qkv")
    x = np.random.default_rng(3).uniform(-1, 1, (5, 4))
    got = arr(run(f"h[{{{', '.join('{' + ', '.join(repr(float(v)) for v in r) + '}' for r in x)}}}]", s))
    q, k, v = x @ wq.T, x @ wk.T, x @ wv.T
    mask = np.triu(np.full((5, 5), -1e9), 1)
    expected = _softmax(q @ k.T / np.sqrt(3) + mask) @ v
    assert np.allclose(got, expected, atol=1e-5)
    assert np.allclose(got[0], v[0], atol=1e-6)     # the first position sees only itself


def test_function_layer_constant_arrays_broadcast_and_stay_frozen():
    close(run("FunctionLayer[# + {1, 2, 3} &][{{1., 1., 1.}, {2., 2., 2.}}]"),
          np.array([[1.0, 1, 1], [2, 2, 2]]) + [1, 2, 3])
    close(run("FunctionLayer[{1, 2} + 3 # &][{1., 1.}]"), [4.0, 5.0])
    close(run("FunctionLayer[{{1, 0}, {0, 2}} . # &][{1., 1.}]"), [1.0, 2.0])
    s = session()
    run('net = NetInitialize@NetChain[{LinearLayer[2], FunctionLayer[# + {10., -10.} &]}, '
        '"Input" -> 1]; data = {{1.} -> {11., -9.}, {2.} -> {12., -8.}};'
        'trained = NetTrain[net, data, MaxTrainingRounds -> 5, LearningRate -> 0.1, '
        'TrainingProgressReporting -> None];', s)
    # the constant is the function's, not a learned array: training leaves it as written
    close(run('NetExtract[trained, {2, 1, "Array"}]', s), [10.0, -10.0])
    assert not np.allclose(arr(run('NetExtract[trained, {1, "Weights"}]', s)),
                           arr(run('NetExtract[net, {1, "Weights"}]', s)))


def test_function_layer_inputs_association_names_the_ports():
    s = session()
    run('f = FunctionLayer[#a - 2 #b &, "Inputs" -> <|"a" -> 2, "b" -> 2|>];', s)
    assert text("Information[f, \"InputPortNames\"]", s) == '{"a", "b"}'
    close(run('f[<|"a" -> {1., 2.}, "b" -> {3., 5.}|>]', s), [1 - 6.0, 2 - 10.0])


def test_function_layer_message_quotes_a_big_constant_briefly():
    message = error("FunctionLayer[Foo[#] + ConstantArray[1., {60, 60}] &]",
                    "FunctionLayer", "invfun")
    assert len(message) < 1500, len(message)
    assert "Foo" in message


# ---------------------------------------------------------------- NetTrain
def test_scalar_decoder_targets_given_as_numbers():
    """"Output" -> "Scalar" is NetDecoder["Scalar"] on a LinearLayer[1]: targets are plain
    numbers (the course package trains on Rule @@@ {{x, y}, ...})."""
    s = session()
    run('net = NetInitialize@NetChain[{LinearLayer[3], Tanh, LinearLayer[1]}, '
        '"Input" -> "Scalar", "Output" -> "Scalar"];', s)
    w1, b1 = arr(run('NetExtract[net, {1, "Weights"}]', s)), arr(run('NetExtract[net, {1, "Biases"}]', s))
    w2, b2 = arr(run('NetExtract[net, {3, "Weights"}]', s)), arr(run('NetExtract[net, {3, "Biases"}]', s))
    xs, ys = np.array([1.0, 2.0, -0.5]), np.array([2.0, 3.0, 0.25])
    pred = (np.tanh(xs[:, None] * w1[:, 0] + b1) @ w2.T + b2)[:, 0]
    loss = run('NetTrain[net, {1. -> 2., 2. -> 3., -0.5 -> 0.25}, "RoundLoss", '
               'Method -> {"SGD", "LearningRate" -> 0}, MaxTrainingRounds -> 1, '
               'BatchSize -> 3, TrainingProgressReporting -> None]', s)
    assert np.isclose(loss, np.mean((pred - ys) ** 2), rtol=1e-5)


def test_open_output_settled_from_a_list_of_associations():
    s = session()
    run('net = NetChain[{LinearLayer[4], LinearLayer[]}, "Input" -> 2];', s)
    run('t = NetTrain[net, {<|"Input" -> {1, 2}, "Output" -> {1., 0.5, 2.}|>, '
        '<|"Input" -> {2, 3}, "Output" -> {2., 1., 0.}|>}, MaxTrainingRounds -> 1, '
        'TrainingProgressReporting -> None];', s)
    exact(run('Dimensions[NetExtract[t, {2, "Weights"}]]', s), [3, 4])


def test_learning_rate_multipliers_by_position_in_a_chain_of_named_layers():
    s = session()
    run('c = NetInitialize@NetChain[<|"x" -> LinearLayer[3], "r" -> Ramp, '
        '"y" -> LinearLayer[1]|>, "Input" -> 2]; d = {{1, 2} -> {1}, {2, 1} -> {3}};', s)

    def same(t, name):
        return bool(run(f'NetExtract[{t}, {{"{name}", "Weights"}}] == '
                        f'NetExtract[c, {{"{name}", "Weights"}}]', s) is run("True", s))
    for spec, frozen in (("{1 -> 0}", "x"), ("{-1 -> 0}", "y"), ('{"x" -> 0}', "x")):
        run(f"t = NetTrain[c, d, LearningRateMultipliers -> {spec}, MaxTrainingRounds -> 3, "
            f"TrainingProgressReporting -> None];", s)
        other = "y" if frozen == "x" else "x"
        assert same("t", frozen) and not same("t", other), spec
    # a rule for a layer without arrays (the Ramp) reaches nothing, and is accepted
    run("NetTrain[c, d, LearningRateMultipliers -> {2 -> 0}, MaxTrainingRounds -> 1, "
        "TrainingProgressReporting -> None]", s)
    error("NetTrain[c, d, LearningRateMultipliers -> {4 -> 0}, MaxTrainingRounds -> 1]",
          "NetTrain", "lrmult", s)


def test_transfer_learning_after_net_join_freezes_the_joined_layers():
    """The plastics file: NetTake of a trained chain, NetJoin with a named chain, then
    integer LearningRateMultipliers over the joined (renamed "1", "2", ...) layers."""
    s = session()
    run('base = NetInitialize@NetChain[{LinearLayer[4], Ramp, LinearLayer[4], Ramp, '
        'LinearLayer[1]}, "Input" -> 2];'
        'new = NetInitialize@NetJoin[NetTake[base, {1, -2}], '
        'NetChain@<|"3" -> LinearLayer[5], "4" -> LinearLayer[1]|>];'
        't = NetTrain[new, {{1, 2} -> {1}, {2, 1} -> {3}}, LearningRateMultipliers -> '
        '{1 -> 0, 2 -> 0, 3 -> 0, 4 -> 0, 5 -> 1, 6 -> 1}, MaxTrainingRounds -> 3, '
        'TrainingProgressReporting -> None];', s)
    for i, frozen in ((1, True), (3, True), (5, False), (6, False)):
        eq = run(f'NetExtract[t, {{{i}, "Weights"}}] == NetExtract[new, {{{i}, "Weights"}}]', s)
        assert (eq is run("True", s)) == frozen, i


def test_max_training_rounds_as_a_time_and_time_goal_units():
    s = session()
    run('net = NetChain[{LinearLayer[1]}, "Input" -> 1]; d = {{1.} -> {2.}, {2.} -> {4.}};',
        s)
    r = 'r = NetTrain[net, d, All, {opt}, TrainingProgressReporting -> None];'
    run(r.format(opt='MaxTrainingRounds -> Quantity[0.3, "Seconds"]'), s)
    assert run('r["ReasonTrainingStopped"]', s) == "TimeGoalReached"
    assert run('r["TotalTrainingTime"]', s) >= 0.3
    run(r.format(opt='TimeGoal -> Quantity[0.005, "Minutes"]'), s)   # 0.3 s, not 0.005 s
    assert run('r["TotalTrainingTime"]', s) >= 0.3
    error('NetTrain[net, d, MaxTrainingRounds -> Quantity[1, "Meters"]]', "NetTrain",
          "optnn", s)
    error("NetTrain[net, d, MaxTrainingRounds -> 0]", "NetTrain", "optpi", s)


def test_a_fractional_interval_is_a_number_of_batches():
    """Wolfram's NetTrain reads a fractional number of rounds as Ceiling[n batchesPerRound]
    batches: 8 examples in batches of 2 are 4 batches a round, so "Interval" -> 0.5 runs
    the function every 2 batches (4 times in 2 rounds); 0.1 every batch."""
    s = session()
    run('net = NetChain[{LinearLayer[1]}, "Input" -> 1]; d = Table[{x} -> {2 x}, {x, 8.}];',
        s)
    for interval, calls in (("0.5", 4), ("0.1", 8), ('Quantity[0.5, "Rounds"]', 4)):
        run(f'n = 0; NetTrain[net, d, MaxTrainingRounds -> 2, BatchSize -> 2, '
            f'TrainingProgressFunction -> {{(n++) &, "Interval" -> {interval}}}, '
            f'TrainingProgressReporting -> None];', s)
        exact(run("n", s), calls)


def test_export_to_wlnet_says_what_to_use_instead():
    message = error('Export["net.wlnet", LinearLayer[2]]', "Export", "fmtnosup")
    assert ".safetensors" in message and "Wolfram binary" in message
