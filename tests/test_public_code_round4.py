"""What a fourth round of public Wolfram net code needed (Sjoerd Smit's cross-validation and
Bayesian-net packages, an LSTM classifier blog post, the "LLM A to Z" fine-tuning packages):

- Partition with an overhang {kL, kR} and padding (a padding of Nothing or {} gives a
  ragged tail: the k-fold index split of CrossValidateModel);
- Developer`ToPackedArray and Developer`PackedArrayQ;
- the NetTrain property "NetTrainInputForm" (the packages read the options back from it);
- NetMeasurements "StandardDeviation" is Wolfram's root mean square of the residuals.

Expected values are worked out in the test (the documented results, NumPy formulas on
extracted weights), never captured from netdsl.
"""

from __future__ import annotations

import io
import math

import numpy as np

from netdsl import Session
from values import error, exact, py, run, text


def session() -> Session:
    return Session(stdout=io.StringIO())


# ---------------------------------------------------------------- Partition overhangs
def test_partition_overhang_with_padding_follows_the_documented_results():
    # the tutorial "Partitioning and Padding Lists": t = {a, b, c, d, e, f, g}
    t = "{a, b, c, d, e, f, g}"
    assert text(f"Partition[{t}, 3, 3, {{1, 1}}, x]") == "{{a, b, c}, {d, e, f}, {g, x, x}}"
    assert text("Partition[{a, b, c, d, e}, 2, 1, {-1, 1}, x]") == \
        "{{x, a}, {a, b}, {b, c}, {c, d}, {d, e}, {e, x}}"
    # without padding the list is cyclic
    assert text(f"Partition[{t}, 3, 1, {{1, 1}}]") == (
        "{{a, b, c}, {b, c, d}, {c, d, e}, {d, e, f}, {e, f, g}, {f, g, a}, {g, a, b}}")
    # {1, -1}: no overhang, the same as plain Partition
    assert text(f"Partition[{t}, 3, 2, {{1, -1}}]") == text(f"Partition[{t}, 3, 2]")
    # {} (and Nothing) pad with nothing: shorter sublists at the ends
    assert text(f"Partition[{t}, 3, 1, {{-1, 1}}, {{}}]") == (
        "{{a}, {a, b}, {a, b, c}, {b, c, d}, {c, d, e}, {d, e, f}, {e, f, g}, {f, g}, {g}}")
    exact(run("Partition[Range[7], 3, 3, {1, 1}, Nothing]"), [[1, 2, 3], [4, 5, 6], [7]])


def test_k_fold_split_of_the_cross_validation_package():
    """kFoldIndices: a ragged Partition transposed by Flatten puts every index in exactly
    one of k folds, fold j holding positions j, j + k, j + 2k, ... of the sample."""
    n, k = 11, 3
    folds = py(run(f"Flatten[Partition[Range[{n}], {k}, {k}, {{1, 1}}, Nothing], {{{{2}}, {{1}}}}]"))
    assert folds == [list(range(j, n + 1, k)) for j in range(1, k + 1)]
    assert sorted(i for f in folds for i in f) == list(range(1, n + 1))


def test_partition_overhang_errors():
    error("Partition[Range[5], 2, 2, {0, 1}]", "Partition", "ovhg")
    error("Partition[Range[5], 2, 2, {1, 3}]", "Partition", "ovhg")
    error("Partition[Range[5], 2, 2, foo]", "Partition", "ovhg")


# ---------------------------------------------------------------- packed arrays
def test_to_packed_array_and_packed_array_q():
    s = session()
    # rules, symbols, rationals and ragged lists stay as they are
    assert text("Developer`ToPackedArray[{1 -> 2, 3 -> 4}]", s) == "{1 -> 2, 3 -> 4}"
    assert text("Developer`ToPackedArray[{1/2, 1}]", s) == "{1/2, 1}"
    exact(run("Developer`ToPackedArray[{1, 2, 3}, Real]", s), [1.0, 2.0, 3.0])
    exact(run("Developer`ToPackedArray[{{1, 2}, {3, 4}}]", s), [[1, 2], [3, 4]])
    assert text("Developer`PackedArrayQ /@ {{1, 2}, {1/2, 1}, {{1, 2}, {3}}, {a}, 3, "
                "{1., 2.}}", s) == "{True, False, False, False, False, True}"
    assert text("{Developer`PackedArrayQ[{1, 2}, Real], Developer`PackedArrayQ[{1, 2}, "
                "Integer], Developer`PackedArrayQ[{1.5}, Real]}", s) == "{False, True, True}"
    error("Developer`ToPackedArray[{1, 2}, Complex]", "ToPackedArray", "argx", s)


# ---------------------------------------------------------------- NetTrainInputForm
TRAIN = ('r = NetTrain[LinearLayer[1, "Input" -> 1, "Output" -> "Scalar"], '
         '{{1.} -> 2., {2.} -> 4.}, All, MaxTrainingRounds -> 2, BatchSize -> 2, '
         'Method -> {"SGD", "LearningRate" -> 0.01}];')


def test_net_train_input_form_gives_the_options_back():
    s = session()
    run(TRAIN, s)
    form = text('r["NetTrainInputForm"]', s)
    assert form.startswith('HoldForm[NetTrain][Placeholder["net"], Placeholder["data"], All')
    # what CrossValidateModel reads: the rules after net and data
    opts = text('Cases[Flatten @ Drop[List @@ r["NetTrainInputForm"], 2], _Rule]', s)
    assert opts == ('{BatchSize -> 2, MaxTrainingRounds -> 2, '
                    'Method -> {"SGD", "LearningRate" -> 0.01}}')


def test_zero_learning_rate_validation_loss_is_the_mean_squared_error():
    """The package's default validation of a net: NetTrain with LearningRate 0 and
    "ValidationLoss" on the fold; the loss is the MSE of the net's own predictions."""
    s = session()
    run(TRAIN, s)
    w = float(py(run('NetExtract[r["TrainedNet"], "Weights"]', s))[0][0])
    b = float(py(run('NetExtract[r["TrainedNet"], "Biases"]', s))[0])
    xs, ys = [0.5, 1.5, 3.0], [1.0, 3.5, 5.0]
    val = "{" + ", ".join(f"{{{x}}} -> {y}" for x, y in zip(xs, ys)) + "}"
    got = run(f'NetTrain[r["TrainedNet"], {val}[[{{1}}]], "ValidationLoss", '
              f'ValidationSet -> {val}, Method -> {{"SGD", "LearningRate" -> 0}}, '
              f'MaxTrainingRounds -> 1, TrainingProgressReporting -> None]', s)
    mse = sum((w * x + b - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
    assert math.isclose(float(got), mse, rel_tol=1e-5)


# ---------------------------------------------------------------- NetMeasurements
def test_standard_deviation_measurement_is_the_root_mean_square_of_the_residuals():
    """Wolfram (PredictorMeasurements, which NetMeasurements extends): "StandardDeviation"
    is the root mean square of the residuals, not their sample deviation about their
    mean. The targets are offset so that the residuals have a clearly non-zero mean."""
    s = session()
    x = np.array([[0.1], [0.4], [0.9], [1.3], [2.0]])
    t = np.array([0.7, 1.9, 2.2, 3.1, 5.6])
    run('n = NetInitialize[LinearLayer[1, "Input" -> 1, "Output" -> "Scalar"], '
        'RandomSeeding -> 3];', s)
    w = float(py(run('NetExtract[n, "Weights"]', s))[0][0])
    b = float(py(run('NetExtract[n, "Biases"]', s))[0])
    data = "{" + ", ".join(f"{{{a[0]}}} -> {c}" for a, c in zip(x, t)) + "}"
    got = py(run(f'NetMeasurements[n, {data}, {{"StandardDeviation", "RootMeanSquare", '
                 f'"MeanSquare", "MeanDeviation"}}]', s))
    r = [w * a[0] + b - c for a, c in zip(x, t)]
    rms = math.sqrt(sum(v * v for v in r) / len(r))
    mean = sum(r) / len(r)
    sample_sd = math.sqrt(sum((v - mean) ** 2 for v in r) / (len(r) - 1))
    assert abs(rms - sample_sd) > 0.05            # the two definitions differ here
    assert math.isclose(got[0], rms, rel_tol=1e-5)
    assert math.isclose(got[1], rms, rel_tol=1e-5)
    assert math.isclose(got[2], rms ** 2, rel_tol=1e-5)
    assert math.isclose(got[3], sum(abs(v) for v in r) / len(r), rel_tol=1e-5)


# ---------------------------------------------------------------- the diffusion blog
def test_subdivide_is_the_equally_spaced_formula():
    assert text("Subdivide[4]") == "{0, 1/4, 1/2, 3/4, 1}"
    assert text("Subdivide[2, 4]") == "{0, 1/2, 1, 3/2, 2}"
    lo, hi, n = 1e-4, 0.2, 5
    got = py(run(f"Subdivide[{lo}, {hi}, {n}]"))
    assert np.allclose(got, [lo + (hi - lo) * k / n for k in range(n + 1)], rtol=1e-12)
    error("Subdivide[1, 0]", "Subdivide", "intpm")


def test_function_layer_indexes_a_constant_list_by_an_integer_port():
    """The blog's forward process a[[#t]]*#x0 + b[[#t]]*#eps with "t" -> "Integer": the
    index is a lookup per example (1-based), here checked against the list itself."""
    s = session()
    a, b = [0.9, 0.7, 0.4], [0.1, 0.5, 0.8]
    la, lb = "{0.9, 0.7, 0.4}", "{0.1, 0.5, 0.8}"
    run(f'f = FunctionLayer[{la}[[#t]]*#x0 + {lb}[[#t]]*#eps &, "t" -> "Integer"];', s)
    ts, xs, es = [1, 3, 2], [2.0, -1.0, 0.5], [0.3, 0.2, -0.4]
    wl = lambda v: "{" + ", ".join(map(str, v)) + "}"   # noqa: E731
    got = py(run(f'f[<|"t" -> {wl(ts)}, "x0" -> {wl(xs)}, "eps" -> {wl(es)}|>]', s))
    want = [a[t - 1] * x + b[t - 1] * e for t, x, e in zip(ts, xs, es)]
    assert np.allclose(got, want, rtol=1e-6)
    error('f[<|"t" -> 4, "x0" -> 1., "eps" -> 1.|>]', "ExtractLayer", "partw", s)


def test_random_array_layer_of_a_distribution_head_is_its_standard_member():
    """RandomArrayLayer[dfunc] applies dfunc to the layer's inputs; with none, a bare
    NormalDistribution is NormalDistribution[] (mean 0, deviation 1)."""
    s = session()
    run('r = RandomArrayLayer[NormalDistribution, "Output" -> {20000}];', s)
    x = np.asarray(py(run("r[]", s)))
    assert x.shape == (20000,)
    assert abs(x.mean()) < 0.05 and abs(x.std() - 1) < 0.05
    u = np.asarray(py(run('RandomArrayLayer[UniformDistribution, "Output" -> {20000}][]', s)))
    assert u.min() >= 0 and u.max() <= 1 and abs(u.mean() - 0.5) < 0.02
    msg = error('RandomArrayLayer[ExponentialDistribution, "Output" -> {3}]',
                "RandomArrayLayer", "invopt", s)
    assert "alone is a family of distributions" in msg


# ---------------------------------------------------------------- the LLM fine-tuning packages
def test_length_of_a_chain_or_graph_is_its_number_of_layers():
    """Wolfram defines Length[NetChain] and Length[NetGraph] as the number of nodes; the
    classification package cuts the vocabulary head with NetTake[net, Length[net] - 1]
    (it was 0, so NetTake[net, -1] silently kept the whole model)."""
    s = session()
    run('c = NetChain[{LinearLayer[2], Ramp, LinearLayer[3]}, "Input" -> 4];', s)
    exact(run('{Length[c], Length[NetGraph[<|"a" -> Ramp, "b" -> Tanh|>, {"a" -> "b"}]], '
              'Length[NetMapOperator[LinearLayer[2]]], Length[LinearLayer[3]]}', s),
          [3, 2, 0, 0])
    assert text('Dimensions[NetInitialize[NetTake[c, Length[c] - 1]][{1., 2., 3., 4.}]]',
                s) == "{2}"


def test_a_number_threaded_with_an_open_input_leaves_its_shape_to_the_data():
    """The diffusion model's forward process: a number looked up per example times "x0"
    of any shape. A number is threaded over anything, so it must not fix "x0" to a number
    (it did: the data {{1.}, {2.}} was then refused)."""
    s = Session()
    s.evaluate('g = FunctionLayer[{1., 2.}[[#t]]*#x0 &, "t" -> "Integer"];')
    x0 = np.array([[1.0], [2.0]])
    for t, a in ((1, 1.0), (2, 2.0)):
        got = s.evaluate(f'g[<|"t" -> {t}, "x0" -> {{{{1.}}, {{2.}}}}|>]')
        np.testing.assert_allclose(np.asarray(py(got), dtype=float), a * x0)
