"""Arguments that made Python raise before (found by fuzzing this session's new functions
with random atoms: packed arrays where a name was expected, empty positions, huge
counts): each now gives a netdsl message or Wolfram's value."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError


def session():
    s = netdsl.Session()
    s["x"] = np.ones((4, 2), np.float32)
    s["y"] = np.ones((4, 1), np.float32)
    s.evaluate('net = NetChain[<|"a" -> LinearLayer[3], "b" -> LinearLayer[1]|>, "Input" -> 2];')
    return s


@pytest.mark.parametrize("text", [
    "NetFoldOperator[(# + 1) &, {{1, 2}, {3, 4}}]",
    "NetFoldOperator[Plus, {}, {-1, 0, 1}]",
    "Insert[{1, 2}, 3, {}]",
    "Delete[{1, 2}, {{}}]",
    "NetStateObject[NetInitialize@NetChain[{LongShortTermMemoryLayer[2]}, "
    '"Input" -> {"Varying", 2}], {{1, 2}}]',
    "NetTrain[net, x -> y, MaxTrainingRounds -> 1, TrainingUpdateSchedule -> {{}}]",
    'NetTrain[net, x -> y, MaxTrainingRounds -> 1, Method -> {"ADAM", '
    '"LearningRateSchedule" -> {{1, 2}}}]',
    "NetTrain[net, x -> y, MaxTrainingRounds -> 1, LearningRateMultipliers -> {{1, 2} -> 0}]",
])
def test_a_netdsl_error_not_a_python_one(text):
    with pytest.raises(NetDSLError):
        session().evaluate(text)


def test_wolframs_values_at_the_edges():
    s = session()
    assert s.evaluate("Tuples[{}, 10^20]") == s.evaluate("{}")
    assert s.evaluate("Tuples[{}, 0]") == s.evaluate("{{}}")
    assert s.evaluate("MapThread[f, <|a -> 1, b -> 2|>, 0]") == s.evaluate("f[1, 2]")
    assert s.evaluate("Quantile[{1, 2, 3}, {}]") == s.evaluate("{}")
    s.evaluate("Standardize[{{1, 2}, {3, 4}}, 1, # &]")   # symbolic, no Python error


def test_string_match_with_many_stars_is_linear():
    """A regular expression's backtracking made this take minutes (a hang); the glob is
    matched position set by position set."""
    import time
    s = netdsl.Session()
    start = time.process_time()
    assert str(s.evaluate('StringMatchQ[StringJoin[Table["a", 2000]], '
                          'StringJoin[Table["*a", 30]] <> "b"]')) == "False"
    assert str(s.evaluate('StringMatchQ[StringJoin[Table["a", 2000]], '
                          'StringJoin[Table["*a", 30]]]')) == "True"
    assert time.process_time() - start < 5
