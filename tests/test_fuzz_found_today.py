"""Problems tests/fuzz_today.py found in today's features (the CTC decoder, RandomArrayLayer,
coders' labels, Round[x, a], netdsl check's Map/Apply/Thread and net evaluation), each
now a right value or a netdsl error, the same when run and in netdsl check."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from netdsl import NetDSLError, Session, input_form
from netdsl.layers.base import AbstractArray, Net
from values import error, py, run


def check(src: str):
    """The value in netdsl check's shape-only mode."""
    return Session(shape_only=True, stdout=io.StringIO(), stderr=io.StringIO()).evaluate(src)


def check_error(src: str, symbol: str, tag: str) -> str:
    with pytest.raises(NetDSLError) as info:
        check(src)
    assert (info.value.symbol, info.value.tag) == (symbol, tag), info.value.message
    return info.value.text


def both_error(src: str, symbol: str, tag: str) -> None:
    """The same Symbol::tag when run and in netdsl check."""
    with pytest.raises(NetDSLError) as info:
        run(src)
    assert (info.value.symbol, info.value.tag) == (symbol, tag), info.value.message
    check_error(src, symbol, tag)


def dims(x) -> tuple:
    return x.shape if isinstance(x, AbstractArray) else np.shape(np.asarray(py(x), dtype=object))


# ---------------------------------------------------------------- coders' labels
def test_list_labels_of_a_ctc_decoder_are_labels_not_a_raw_error():
    """{{1}, {2}} as labels: a packed matrix, whose rows did not hash (a raw TypeError)."""
    probs = [[0.1, 0.2, 0.7], [0.1, 0.8, 0.1], [0.7, 0.2, 0.1]]
    got = run('NetDecoder[{"CTCBeamSearch", {{1}, {2}}, "BeamSize" -> 10^9}]'
              "[{{0.1, 0.2, 0.7}, {0.1, 0.8, 0.1}, {0.7, 0.2, 0.1}}]")
    # brute force over the 27 paths: the most probable decoding (classes 1-based)
    acc: dict[tuple, float] = {}
    for path in np.ndindex(3, 3, 3):
        out, prev = [], None
        for k in path:
            if k != 2 and k != prev:
                out.append(k + 1)
            prev = k
        acc[tuple(out)] = acc.get(tuple(out), 0) + math.prod(probs[t][k] for t, k in
                                                               enumerate(path))
    best = max(acc, key=lambda d: acc[d])
    assert input_form(got) == "{" + ", ".join("{%d}" % k for k in best) + "}"


def test_list_labels_of_class_coders():
    assert input_form(run('NetDecoder[{"Class", {{1}, {2}}}][{0.3, 0.7}]')) == "{2}"
    error('NetEncoder[{"Class", {{1}, {1}}}]', "NetEncoder", "invcoder")
    error('NetDecoder[{"CTCBeamSearch", {{1}, {1}}}]', "NetDecoder", "invcoder")


# ---------------------------------------------------------------- net[x] in check
CLASS_NET = ('net = NetInitialize[NetChain[{LinearLayer[2]}, "Input" -> 3, "Output" -> '
             'NetDecoder[{"Class", {"a", "b"}}]], RandomSeeding -> 1]; ')
CTC_NET = ('n = NetChain[{SoftmaxLayer[]}, "Input" -> {"Varying", 3}, "Output" -> '
           'NetDecoder[{"CTCBeamSearch", {"a", "b"}}]]; ')


@pytest.mark.parametrize("expr, want", [
    ("net[RandomReal[1, {4, 3}]]", (4,)),          # four labels (check said {4, 2})
    ("net[{1, 2, 3}]", ()),                        # one label
    ('net[{1, 2, 3}, "Probabilities"]', (2,)),     # <|"a" -> p, "b" -> q|>
    ("net[{1, 2, 3}, None]", (2,)),                # the raw probabilities
])
def test_check_gives_the_dimensions_of_decoded_outputs(expr, want):
    assert tuple(py(run(CLASS_NET + f"Dimensions[{expr}]"))) == want
    assert check(CLASS_NET + expr).shape == want


def test_check_asks_the_decoder_for_its_properties():
    """An unknown property was a raw KeyError in check; a bad count passed unchecked."""
    both_error(CLASS_NET + 'net[{1, 2, 3}, "Foo"]', "NetChain", "noport")
    both_error(CTC_NET + 'n[{{0.2, 0.3, 0.5}}, "Probabilities"]', "NetChain", "noport")
    both_error(CTC_NET + 'n[{{0.2, 0.3, 0.5}}, "TopDecodings" -> 0]', "NetChain", "invprop")
    both_error(CTC_NET + 'n[{{0.2, 0.3, 0.5}}, {"TopDecodings", 2.5}]', "NetChain", "invprop")
    assert len(check(CTC_NET + "n[{{0.2, 0.3, 0.5}}]").shape) == 1   # a length of its own


def test_check_takes_abstract_class_indices_for_an_integer_port():
    """Zeros stood in for abstract data: not class indices, so check rejected what runs."""
    src = ('l = CTCLossLayer["Target" -> NetEncoder[{"Characters", "ab"}]]; '
           'x = RandomReal[1, {2, 4, 3}]; '
           'l[<|"Input" -> x, "Target" -> ConstantArray[1, {2, 1}]|>]')
    assert dims(run(src)) == (2,)
    assert check(src).shape == (2,)


# ---------------------------------------------------------------- NetTrain in check
TRAIN = ('net = NetInitialize[NetChain[<|"a" -> LinearLayer[2], "b" -> Ramp, "c" -> '
         'LinearLayer[1]|>, "Input" -> 3], RandomSeeding -> 1]; NetTrain[net, RandomReal[1, '
         '{4, 3}] -> RandomReal[1, {4, 1}], MaxTrainingRounds -> 1, LearningRateMultipliers '
         '-> SPEC]')


@pytest.mark.parametrize("spec", ['{"zz" -> 0}', '{_ -> "x"}', "x", "{99 -> 0}"])
def test_check_reads_learning_rate_multipliers(spec):
    both_error(TRAIN.replace("SPEC", spec), "NetTrain", "lrmult")


def test_check_reads_learning_rate_multipliers_that_are_right():
    assert isinstance(check(TRAIN.replace("SPEC", '{"a" -> None, _ -> 2}')), Net)


def test_a_non_array_example_among_abstract_ones_is_a_netdsl_error():
    """{RandomReal[1, 3], "a"}: a raw TypeError in check."""
    both_error('net = NetInitialize[NetChain[{LinearLayer[2]}, "Input" -> 3], RandomSeeding -> '
               '1]; xs = {RandomReal[1, 3], "a"}; NetTrain[net, xs -> {0, 1}, '
               "MaxTrainingRounds -> 1]", "NetTrain", "datafmt")


def test_thread_splits_abstract_data_so_net_train_takes_rules_of_sequences():
    """Thread[xs -> ys] with ys known by its dimensions gave {x1 -> ys, x2 -> ys}."""
    assert input_form(check("xs = RandomReal[1, {2, 3}]; ys = RandomReal[1, {2, 2}]; "
                            "Thread[xs -> ys]")) == \
        "{AbstractArray[{3}] -> AbstractArray[{2}], AbstractArray[{3}] -> AbstractArray[{2}]}"
    src = ('net = NetInitialize[NetChain[{LongShortTermMemoryLayer[2], SequenceLastLayer[]}, '
           '"Input" -> {"Varying", 3}], RandomSeeding -> 1]; xs = {RandomReal[1, {2, 3}], '
           "RandomReal[1, {3, 3}]}; ys = Table[RandomReal[1, 2], {2}]; "
           "t = NetTrain[net, Thread[xs -> ys], MaxTrainingRounds -> 1]; t[xs[[1]]]")
    assert check(src).shape == (2,)
    assert dims(run(src)) == (2,)


# ---------------------------------------------------------------- RandomArrayLayer
def test_random_array_layer_without_inputs_in_check():
    """No input ports: check's net[] raised a raw StopIteration."""
    src = 'r = RandomArrayLayer[NormalDistribution[0, 1], "Output" -> {2}]; '
    assert check(src + "r[]").shape == (2,)
    assert check(src + "NetGraph[{r, ElementwiseLayer[Tanh]}, {1 -> 2}][]").shape == (2,)
    assert check("RandomArrayLayer[NormalDistribution[]][]").shape == ()


def test_random_array_layer_needs_fixed_output_dimensions_without_inputs():
    """"Output" -> {"Varying"} with nothing to size it: a raw VaryingSize when run."""
    both_error('RandomArrayLayer[UniformDistribution[], "Output" -> {"Varying"}]',
               "RandomArrayLayer", "valfail")
    x = run('RandomArrayLayer[NormalDistribution[#, 1] &, "Output" -> {"Varying"}]'
            "[{1., 2., 3.}]")
    assert dims(x) == (3,)


def test_random_array_layer_parameters_beyond_numpy():
    """PoissonDistribution[10^30]: NumPy's ValueError (lam value too large) leaked."""
    text = error('RandomArrayLayer[PoissonDistribution[10^30], "Output" -> 3]',
                 "RandomArrayLayer", "invopt")
    assert "machine numbers" in text
    check_error('RandomArrayLayer[PoissonDistribution[10^30], "Output" -> 3]',
                "RandomArrayLayer", "invopt")
    error("RandomArrayLayer[PoissonDistribution[#] &][{1.*^30}]", "RandomArrayLayer",
          "parrange")


# ---------------------------------------------------------------- lists
def test_sort_rows_of_no_elements():
    """Sort of a matrix of empty rows: NumPy's lexsort needs keys (a raw TypeError)."""
    assert input_form(run("Sort[RandomReal[1, {3, 0}]]")) == "{{}, {}, {}}"
    assert py(run("Ordering[{{}, {}}]")) == [1, 2]


@pytest.mark.parametrize("expr", [
    "Map[Total, x, {2}]", "Plus @@@ x", "Norm /@ x", "Max @@@ x", "Apply[Plus, x, {1}]",
    "Reverse[x, 2]", "Reverse[x, {1, 2}]", "Map[Total, y, {2}]", "Plus @@@ z",
])
def test_check_dimensions_of_map_and_apply_are_those_of_the_run(expr):
    """f on an abstract row it cannot compute (Total of a number, Norm of a vector) was left
    as f[AbstractArray[...]]; @@@ (MapApply) returned the array unchanged."""
    data = "x = RandomReal[1, {3, 4}]; y = RandomReal[1, {2, 3, 2}]; z = RandomReal[1, {3, 0, 2}];"
    s = Session(stdout=io.StringIO())
    s.evaluate(data)
    want = np.shape(np.asarray(py(s.evaluate(expr)), dtype=float))
    got = check(data + expr)
    assert isinstance(got, AbstractArray) and got.shape == want


def test_check_keeps_unknown_functions_symbolic_and_unchecked():
    assert input_form(check("x = RandomReal[1, {3, 2}]; f @@@ x")) == \
        "{f[AbstractArray[{}], AbstractArray[{}]], f[AbstractArray[{}], AbstractArray[{}]], " \
        "f[AbstractArray[{}], AbstractArray[{}]]}"
    error("x = RandomReal[1, {3, 2}]; Reverse @@@ x", "Reverse", "argx")
    check_error("x = RandomReal[1, {3, 2}]; Reverse @@@ x", "MapApply", "datadep")


def test_round_to_a_list_of_multiples_threads():
    """Round[x, {a, b}] was left unevaluated (Round is Listable in both arguments)."""
    assert py(run("Round[{1.2, 2.7}, {1, 2}]")) == [1, 2]      # 1 Round[1.2], 2 Round[1.35]
    assert py(run("Floor[7, {2, 3}]")) == [6, 6]
    assert input_form(run("Ceiling[1/3, {1/2, 1/4}]")) == "{1/2, 1/2}"
    both_error("Round[{{1.2, 2.}, {3., 4.}, {5., 6.}}, {1, 2}]", "Thread", "tdlen")


@pytest.mark.parametrize("expr", [
    'NetDecoder[{"CTCBeamSearch", {"a"}}][RandomReal[1, {2, 3, 2}], "NegativeLogLikelihoods"]',
    'NetDecoder[{"Class", {"a", "b"}}][RandomReal[1, {5, 2}]]',
    'NetDecoder[{"Class", {"a", "b"}}][RandomReal[1, 2]]',
    'NetDecoder[{"Class", {"a", "b"}}][RandomReal[1, {5, 2}], "Probabilities"]',
    'NetDecoder[{"Class", {"a", "b"}}][RandomReal[1, 2], "Probabilities"]',
    'NetDecoder["Boolean"][RandomReal[1, 4]]',
])
def test_a_decoder_reads_data_known_by_its_dimensions(expr):
    """decoder[x] in check for x an AbstractArray: "not a numeric array" (invdata)."""
    want = tuple(py(run(f"Dimensions[{expr}]")))
    got = check(expr).shape
    assert len(got) == len(want)
    assert all(g == w for g, w in zip(got, want) if isinstance(g, int))


def test_a_decoder_in_check_checks_sizes_and_properties():
    both_error('NetDecoder[{"CTCBeamSearch", {"a"}}][RandomReal[1, {2, 3, 2}], "Foo"]',
               "NetDecoder", "invprop")
    both_error('NetDecoder[{"CTCBeamSearch", {"a"}}][RandomReal[1, {2, 3, 3}]]',
               "NetDecoder", "invdata")


def test_reverse_of_numbers_is_not_taken_for_an_array_in_check():
    """Map[Reverse, x, 2] reaches numbers: an error when run, not an array in check."""
    error("x = RandomReal[1, {5, 2}]; Map[Reverse, x, 2]", "Reverse", "normal")
    check_error("x = RandomReal[1, {5, 2}]; Map[Reverse, x, 2]", "Map", "datadep")


def test_check_reads_random_seeding_of_an_evaluation():
    both_error('l = ExtractLayer["Input" -> {3}, "Position" -> "Integer"]; '
               'l[<|"Input" -> {1., 2., 3.}, "Position" -> 2|>, RandomSeeding -> x]',
               "ExtractLayer", "seeding")


def test_ctc_decodings_are_a_list_of_lists_in_check():
    src = CTC_NET + 'n[{{0.2, 0.3, 0.5}, {0.6, 0.3, 0.1}}, "Decodings"]'
    assert np.ndim(np.asarray(py(run(src)), dtype=object)) >= 1
    assert len(check(src).shape) == 2
    assert len(check(CTC_NET + 'n[{{0.2, 0.3, 0.5}}, "NegativeLogLikelihoods"]').shape) == 1
