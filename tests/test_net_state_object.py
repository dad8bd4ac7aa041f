"""NetStateObject: a net that keeps its recurrent states between evaluations (Wolfram's).
Checked by the property that defines it: evaluating x then y from the stored states equals
evaluating the joined sequence x ++ y once (the recurrence simply goes on), and by its
equivalence with tracking the states by hand through NetPort[All, "States"]."""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdsl
from netdsl.check import check_text
from netdsl.errors import NetDSLError

NET = ('net = NetInitialize[NetChain[{GatedRecurrentLayer[3], LongShortTermMemoryLayer[4], '
       'SequenceLastLayer[]}, "Input" -> {"Varying", 2}], RandomSeeding -> 7];')


def session():
    s = netdsl.Session()
    s.evaluate(NET)
    rng = np.random.default_rng(0)
    s["x"] = rng.standard_normal((3, 2)).astype(np.float32)
    s["y"] = rng.standard_normal((5, 2)).astype(np.float32)
    return s


def test_the_states_carry_over_as_in_one_joined_sequence():
    s = session()
    s.evaluate("obj = NetStateObject[net];")
    first = np.asarray(s.evaluate("obj[x]"))
    np.testing.assert_allclose(first, np.asarray(s.evaluate("net[x]")), rtol=1e-6)
    second = np.asarray(s.evaluate("obj[y]"))
    np.testing.assert_allclose(second, np.asarray(s.evaluate("net[Join[x, y]]")), rtol=1e-5,
                               atol=1e-6)
    # the same input again gives another result: the states moved on
    third = np.asarray(s.evaluate("obj[y]"))
    np.testing.assert_allclose(third, np.asarray(s.evaluate("net[Join[x, y, y]]")),
                               rtol=1e-5, atol=1e-6)
    assert not np.allclose(second, third)
    # the stored states are the final states of the joined sequence
    stored = s.evaluate('NetExtract[obj, "States"]')
    final = s.evaluate('net[Join[x, y, y], NetPort[All, "States"]]')
    assert [k for k, _ in stored.items()] == [k for k, _ in final.items()]
    for (_, a), (_, b) in zip(stored.items(), final.items()):
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-5,
                                   atol=1e-6)


def test_a_seed_sets_the_initial_states_and_copies_share_them():
    s = session()
    s.evaluate('seed = <|{2, "State"} -> {1., -1., 0.5, 0.}, {1, "State"} -> {0.2, 0.3, 0.4}|>;')
    got = np.asarray(s.evaluate("NetStateObject[net, seed][x]"))
    expected = np.asarray(s.evaluate('net[<|"Input" -> x, NetPort[All, "States"] -> seed|>]'))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # a state not in the seed starts at zeros
    s.evaluate("a = NetStateObject[net]; b = a;")
    s.evaluate("b[x]")
    cell = s.evaluate('NetExtract[a, "States"][{2, "CellState"}]')
    assert np.abs(np.asarray(cell, float)).max() > 0    # a sees what b did


def test_sampling_one_step_at_a_time_equals_tracking_states_by_hand():
    s = session()
    s.evaluate("obj = NetStateObject[net]; st = Automatic;")
    rng = np.random.default_rng(3)
    for _ in range(4):
        s["e"] = rng.standard_normal((1, 2)).astype(np.float32)
        by_object = np.asarray(s.evaluate("obj[e]"))
        if s.evaluate("st") == s.evaluate("Automatic"):
            s.evaluate('st = net[e, NetPort[All, "States"]]; out = net[e];')
        else:
            s.evaluate('out = net[<|"Input" -> e, NetPort[All, "States"] -> st|>]; '
                       'st = net[<|"Input" -> e, NetPort[All, "States"] -> st|>, '
                       'NetPort[All, "States"]];')
        np.testing.assert_allclose(by_object, np.asarray(s.evaluate("out")), rtol=1e-5,
                                   atol=1e-6)


def test_text_form_and_netdsl_check():
    s = session()
    s.evaluate("obj = NetStateObject[net]; obj[x];")
    s.evaluate(f"again = {s.evaluate('obj').input_form()}")
    np.testing.assert_allclose(np.asarray(s.evaluate("again[y]")),
                               np.asarray(s.evaluate("obj[y]")), rtol=1e-6)
    assert "3 stored states, 2 evaluations" in s.evaluate("obj").output_form()
    assert s.evaluate("Normal[obj]") == s.evaluate("net")
    assert s.evaluate('NetExtract[obj, "Net"]') == s.evaluate("net")
    np.testing.assert_allclose(np.asarray(s.evaluate("NetStateObject[net, Automatic][x]")),
                               np.asarray(s.evaluate("net[x]")), rtol=1e-6)
    out, err = io.StringIO(), io.StringIO()
    rc = check_text(NET + "\nobj = NetStateObject[net];\nz = obj[RandomReal[1, {4, 2}]];\n",
                    "s.wl", out, err)
    assert rc == 0, err.getvalue()
    assert "s.wl:3: z = output of dimensions {4}" in out.getvalue(), out.getvalue()


@pytest.mark.parametrize("text, tag, words", [
    ("NetStateObject[NetInitialize@LinearLayer[2, \"Input\" -> 2]]", "nostate",
     "Cannot create a NetStateObject for a net that has no recurrent state"),
    ("NetStateObject[5]", "arg1", "First argument to NetStateObject should be a valid net."),
    ("NetStateObject[NetChain[{LongShortTermMemoryLayer[3]}]]", "nninit", "unspecified value"),
    ('NetStateObject[net, <|{3, "State"} -> {1, 2, 3}|>]', "inpunk", "is not a recurrent state"),
    ('NetStateObject[net, <|{1, "State"} -> {1, 2}|>]', "badstates", "dimensions [3]"),
    ("NetStateObject[net, 5]", "arg2", "should be Automatic or an association"),
    ("NetStateObject[net][{x, x}]", "stbatch", "one example at a time"),
    ('NetStateObject[net][x, NetPort[All, "States"]]', "badstates", "keeps its own states"),
    ('NetExtract[NetStateObject[net], "Foo"]', "nopart", 'give "States" or "Net"'),
    ('NetStateObject[NetFoldOperator[NetGraph[{TotalLayer[]}, '
     '{{NetPort["Input"], NetPort["State"]} -> 1}]]]', "nostate", "no fixed size"),
])
def test_errors(text, tag, words):
    s = session()
    with pytest.raises(NetDSLError) as e:
        s.evaluate(text)
    assert e.value.tag == tag, e.value.text
    assert words in e.value.text
