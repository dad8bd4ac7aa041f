"""Whatever text a user types, netdsl answers with a value or a netdsl error, never a
Python exception: random programs from a vocabulary of net and list building blocks."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdsl import NetDSLError, Session

ATOMS = ["1", "2", "3", "0", "-1", "2.5", "x", "net", '"Input"', '"Output"', "{1, 2, 3}",
         "{{1, 2}, {3, 4}}", "{}", "Ramp", "Tanh", "All", "None", "Automatic", "#", "%"]
HEADS = ["LinearLayer", "ConvolutionLayer", "PoolingLayer", "BatchNormalizationLayer",
         "ElementwiseLayer", "SoftmaxLayer", "FlattenLayer", "ReshapeLayer", "DropoutLayer",
         "CatenateLayer", "TotalLayer", "ThreadingLayer", "MeanSquaredLossLayer",
         "CrossEntropyLossLayer", "NetChain", "NetGraph", "NetInitialize", "NetExtract",
         "NetReplacePart", "NetTrain", "Information", "NetPort", "NetSharedArray",
         "NetInsertSharedArrays", "Range", "Table", "Part", "Take", "Drop", "Flatten",
         "Partition", "Transpose", "Total", "Mean", "Variance", "Max", "Dot", "Map", "Apply",
         "Thread", "Lookup", "Dimensions", "RandomReal", "ConstantArray", "Normal", "Keys",
         "Function", "Join", "Reverse", "N", "Sqrt", "Log", "Exp", "Round", "Head"]
OPTIONS = ['"Input" -> {1, 4, 4}', '"Input" -> 3', '"Output" -> 2', "BatchSize -> 2",
           "MaxTrainingRounds -> 1", "TrainingProgressReporting -> None",
           '"PaddingSize" -> 1', '"Stride" -> 2', '"Epsilon" -> 0.1', "Method -> \"SGD\"",
           'NetEvaluationMode -> "Train"', '"Biases" -> {1, 2, 3}']


def expressions():
    leaf = st.sampled_from(ATOMS)

    def extend(children):
        call = st.tuples(st.sampled_from(HEADS), st.lists(children | st.sampled_from(OPTIONS),
                                                           max_size=3))
        return (call.map(lambda t: f"{t[0]}[{', '.join(t[1])}]")
                | st.lists(children, max_size=3).map(lambda xs: "{" + ", ".join(xs) + "}")
                | st.tuples(children, st.sampled_from(["+", "*", "->", "/@", "@", "//", ";"]),
                            children).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
                | st.tuples(children, children).map(lambda t: f"{t[0]}[[{t[1]}]]"))
    return st.recursive(leaf, extend, max_leaves=12)


def program():
    setup = ('x = RandomReal[1, {2, 3}]; '
             'net = NetInitialize@NetChain[{LinearLayer[2], Ramp}, "Input" -> 3];')
    return expressions().map(lambda e: setup + "\n" + e)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program())
def test_random_programs_raise_only_netdsl_errors(text):
    session = Session(stdout=io.StringIO())
    with np.errstate(all="ignore"):
        try:
            session.evaluate(text)
        except NetDSLError as e:
            assert e.message  # a message for the user, never empty
