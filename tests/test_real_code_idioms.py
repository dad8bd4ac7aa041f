"""Idioms of public Wolfram net code that netdsl got wrong (found by running such code):
``Nothing`` for optional layers, counting tables in associations, lazy ``:>`` values,
and pure functions for layers that use values defined elsewhere. Expected values are
Wolfram's documented behaviour, written out."""

from __future__ import annotations

import numpy as np
import pytest

from netdsl import EvaluationError

from values import error, py, run, text


# ---------------------------------------------------------------- Nothing
@pytest.mark.parametrize("src, expected", [
    ("{1, Nothing, 2}", "{1, 2}"),
    ("{Nothing}", "{}"),
    ("Table[If[EvenQ[i], i, Nothing], {i, 6}]", "{2, 4, 6}"),
    ("Map[If[# > 2, #, Nothing] &, {1, 2, 3, 4}]", "{3, 4}"),
    ("f[x_] := If[x > 1, x, Nothing]; f /@ {1, 2, 3}", "{2, 3}"),
    ("Hold[{1, Nothing}]", "Hold[{1, Nothing}]"),        # held: not evaluated
    ("g[1, Nothing]", "g[1, Nothing]"),                  # only lists drop it
])
def test_nothing_is_dropped_from_lists(src, expected):
    assert text(src) == expected


def test_an_optional_layer_left_out_with_nothing():
    net = run('bn = False; NetChain[{LinearLayer[3], If[bn, BatchNormalizationLayer[], '
              'Nothing], Ramp}, "Input" -> 2]')
    assert [net.net(n).head_name for n in net.order] == ["LinearLayer", "ElementwiseLayer"]


# ---------------------------------------------------------------- associations in variables
@pytest.mark.parametrize("src, expected", [
    ('a = <||>; a["x"] = 1; a', '<|"x" -> 1|>'),
    ('a = <|"x" -> 1|>; a["x"] = 2; a', '<|"x" -> 2|>'),          # replaced, in its place
    ('a = <|"x" -> 1|>; a["y"] := 1 + 1; {a["y"], Keys[a]}', '{2, {"x", "y"}}'),
    ('a = <|"x" -> 1|>; a["x"] += 5; a', '<|"x" -> 6|>'),
    ('a = <|"x" -> 1|>; a["x"]++; a["x"]', "2"),
    ('c = <|1 -> <|2 -> 3|>|>; c[1][2] = 7; c', "<|1 -> <|2 -> 7|>|>"),
    ('b = <|"y" -> 2, "z" -> 1|>; KeyDropFrom[b, "y"]; b', '<|"z" -> 1|>'),
    ('b = <|"y" -> 2|>; AssociateTo[b, "z" -> 3]; b', '<|"y" -> 2, "z" -> 3|>'),
    ('b = <|"y" -> 2|>; AssociateTo[b, {"y" -> 0, "w" -> 1}]', '<|"y" -> 0, "w" -> 1|>'),
    ('counts = <||>; Do[counts[Mod[i, 3]] = Lookup[counts, Mod[i, 3], 0] + 1, {i, 10}]; '
     'counts', "<|1 -> 4, 2 -> 3, 0 -> 3|>"),
    ('<|"x" :> 1 + 1|>["x"]', "2"),                           # a lazy value, when read
    ("f[1] = 2; f[1]", "2"),                                  # no association: a definition
])
def test_assignment_to_an_association_key(src, expected):
    assert text(src) == expected


def test_association_assignment_errors():
    assert "not an association" in error("c = <|1 -> 2|>; c[5][1] = 2", "Set", "partw")
    assert "association" in error("z = 3; AssociateTo[z, 1 -> 2]", "AssociateTo", "rvalue")
    assert "rule" in error("b = <||>; AssociateTo[b, 5]", "AssociateTo", "invrl")


# ---------------------------------------------------------------- layer functions
@pytest.mark.parametrize("src, x, expected", [
    # a global slope: leaky ReLU
    ("alpha = 0.1; ElementwiseLayer[Ramp[#] - alpha*Ramp[-#] &]", [-1.0, 2.0], [-0.1, 2.0]),
    ("dims = {4, 5}; ElementwiseLayer[#*Apply[Times, dims] &]", [1.0, 0.5], [20.0, 10.0]),
    ("ElementwiseLayer[#*Length[{4, 5}] &]", [1.5], [3.0]),
    ("n = 3; ElementwiseLayer[Function[x, x*n]]", [2.0], [6.0]),
])
def test_layer_functions_use_values_defined_elsewhere(src, x, expected):
    layer = run(src)
    np.testing.assert_allclose(layer(np.array(x, np.float32)), expected, rtol=1e-6)


def test_threading_layer_function_with_a_global():
    layer = run("n = 3; ThreadingLayer[#1 * n + #2 &]")
    out = layer({"Input1": np.array([1.0, 2.0], np.float32),
                 "Input2": np.array([10.0, 20.0], np.float32)})
    np.testing.assert_allclose(out, [13.0, 26.0])
    with pytest.raises(EvaluationError, match="as a dict"):
        layer(np.array([1.0], np.float32), np.array([1.0], np.float32))


def test_an_undefined_symbol_in_a_layer_function_is_still_an_error():
    assert "undefinedq" in error("ElementwiseLayer[#*undefinedq &]", "ElementwiseLayer",
                                 "invopt")
    assert py(run("alpha = 0.5; l = ElementwiseLayer[# alpha &]; alpha = 2; l[{1.}]")) == [0.5]


# ---------------------------------------------------------------- arithmetic and options
@pytest.mark.parametrize("src, expected", [
    ("Total[{{{2.2, 3.4, 4}}}, Infinity]", "9.6"),          # SummationLayer page's example
    ("Total[{{1, 2.5}, {3, 4}}, 2]", "10.5"),                # mixed: not a packed array
    ("Total[{{1, a}, {3, 4}}, 2]", "8 + a"),
    ("Total[{{1, 2}, {3, 4}}, {2}]", "{3, 7}"),              # level 2 only
    ("Total[{{1, a}, {3, 4}}, {2}]", "{1 + a, 7}"),
    ("4 + (4 + a)", "8 + a"),                                # Plus and Times are Flat
    ("2*(3*a)", "6*a"),
    ("opts = Sequence[a -> 1, b -> 2]; f[opts]", "f[a -> 1, b -> 2]"),   # Set holds a Sequence
    ('FilterRules[{"a" -> 1, "Input" -> 2}, Except["Input" | "Output"]]', '{"a" -> 1}'),
    ("FilterRules[{a -> 1, b :> 2}, {b}]", "{b :> 2}"),
    ("FilterRules[{MaxTrainingRounds -> 3, foo -> 2}, Options[NetTrain]]",
     "{MaxTrainingRounds -> 3}"),
])
def test_language_forms(src, expected):
    assert text(src) == expected


def test_nested_lists_of_connections_and_old_property_names():
    g = run('NetGraph[{Ramp, Tanh, TotalLayer[]}, {{1 -> 3, {2 -> 3}}, NetPort["Input"] -> 2}, '
            '"Input" -> 3]')
    assert len(g.order) == 3
    rate = run('NetTrain[LinearLayer[1, "Input" -> 1], {{1.} -> {2.}, {2.} -> {4.}}, '
               '"MeanInputsPerSecond", MaxTrainingRounds -> 2, TrainingProgressReporting -> '
               'None]')
    assert rate > 0


def test_documented_training_forms(capsys):
    """Dataset as data, "RelativeChange" as a percentage, NetMeasurements' BatchSize
    option and NetInformation (Wolfram's pages)."""
    s = 'net = NetChain[{LinearLayer[2], SoftmaxLayer[]}, "Input" -> 2, "Output" -> ' \
        'NetDecoder[{"Class", {"a", "b"}}]]; d = Dataset[{<|"Input" -> {1., 0.}, "Output" -> ' \
        '"a"|>, <|"Input" -> {0., 1.}, "Output" -> "b"|>}]; t = NetTrain[net, d, ' \
        'MaxTrainingRounds -> 50, TrainingProgressReporting -> None, ' \
        'TrainingStoppingCriterion -> <|"Criterion" -> "Loss", "RelativeChange" -> ' \
        'Quantity[5, "Percent"]|>];'
    assert run(s + ' NetMeasurements[t, d, "Accuracy", BatchSize -> 2]') == 1.0
    assert run(s + ' NetInformation[t, "LayersCount"]') == 2
    assert "novalidation" in capsys.readouterr().err
    assert "fraction" in error('NetTrain[LinearLayer[1, "Input" -> 1], {{1.} -> {1.}}, '
                               'TrainingStoppingCriterion -> <|"Criterion" -> "Loss", '
                               '"RelativeChange" -> Quantity[150, "Percent"]|>]',
                               "NetTrain", "invrelchange")


def test_check_takes_layer_arrays_made_by_constant_array():
    """netdsl check knows ConstantArray[0, 2] only by its dimensions; as a layer's array
    it stands for its numbers (YOLOv3 code sets every "Biases" so)."""
    import io
    from netdsl.check import check_text
    out, err = io.StringIO(), io.StringIO()
    src = ('net = NetChain[{ConvolutionLayer[2, {1, 1}, "Biases" -> ConstantArray[0, 2]]}, '
           '"Input" -> {1, 3, 3}]\n')
    assert check_text(src, "t.wl", out, err) == 0, err.getvalue()
    assert '{2, 3, 3}' in out.getvalue()


def test_more_real_code_forms():
    """AssociationThread[keys -> value] threads the value (as Thread); ReverseSort; an
    unknown size threaded with a known one takes it (a log-sum-exp graph whose
    ReplicateLayer[Automatic] feeds a ThreadingLayer[Subtract])."""
    assert text("AssociationThread[{0, 5} -> True]") == "<|0 -> True, 5 -> True|>"
    assert text("ReverseSort[{8, 9, 22, 3}]") == "{22, 9, 8, 3}"
    net = run('NetInitialize@NetGraph[<|"max" -> AggregationLayer[Max, {1}], '
              '"rep" -> ReplicateLayer[Automatic, 1], "sub" -> ThreadingLayer[Subtract], '
              '"exp" -> ElementwiseLayer[Exp], "sum" -> AggregationLayer[Total, {1}], '
              '"out" -> ThreadingLayer[Log[#1] + #2 &]|>, {NetPort["Input"] -> "max" -> "rep", '
              '{NetPort["Input"], "rep"} -> "sub" -> "exp" -> "sum", {"sum", "max"} -> "out"}, '
              '"Input" -> {10}]')
    x = np.linspace(-1, 2, 10)
    assert net(x.astype(np.float32)) == pytest.approx(np.log(np.exp(x).sum()), rel=1e-5)
