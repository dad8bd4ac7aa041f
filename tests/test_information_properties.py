"""Information[net, prop]: Wolfram's NetInformation properties, on a net whose arrays are
counted by hand (LinearLayer 3x2 + 3, BatchNormalization 4 x 3, a shared 2x3 array + 2)."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import EvaluationError
from netdsl.expr import Association

NET = ('net = NetInitialize[NetChain[<|"a" -> LinearLayer[3], "b" -> '
       'BatchNormalizationLayer[], "c" -> LinearLayer[2, "Weights" -> NetSharedArray["w"]]|>, '
       '"Input" -> 2]];')
COUNTS = {'{"a", "Weights"}': 6, '{"a", "Biases"}': 3, '{"b", "Scaling"}': 3,
          '{"b", "Biases"}': 3, '{"b", "MovingMean"}': 3, '{"b", "MovingVariance"}': 3,
          'NetSharedArray["w"]': 6, '{"c", "Biases"}': 2}


def info(prop: str, net: str = "net"):
    return netdsl.evaluate(NET + f' Information[{net}, "{prop}"]')


def keyed(a):
    assert isinstance(a, Association)
    return {netdsl.input_form(k): v for k, v in a.items()}


def test_positions_counts_and_sizes():
    assert [netdsl.input_form(p) for p in info("ArraysPositionList").args] == list(COUNTS)
    assert keyed(info("ArraysElementCounts")) == COUNTS
    assert keyed(info("ArraysByteCounts")) == {k: 4 * v for k, v in COUNTS.items()}
    dims = {k: list(np.asarray(v)) for k, v in keyed(info("ArraysDimensions")).items()}
    assert dims['{"a", "Weights"}'] == [3, 2] and dims['NetSharedArray["w"]'] == [2, 3]
    total = sum(COUNTS.values())
    assert info("ArraysTotalElementCount") == total
    assert info("ArraysTotalByteCount") == 4 * total
    assert netdsl.input_form(info("ArraysTotalSize")) == f'Quantity[{4 * total}, "Bytes"]'
    assert info("ArraysCount") == len(COUNTS) and info("SharedArraysCount") == 1


def test_arrays_are_the_values_net_extract_gives():
    arrays = keyed(info("Arrays"))
    w = netdsl.evaluate(NET + ' NetExtract[net, {"a", "Weights"}]')
    np.testing.assert_array_equal(np.asarray(arrays['{"a", "Weights"}']), np.asarray(w))
    assert len(info("ArraysList").args) == len(COUNTS)
    # uninitialised: Automatic values, dimensions known
    bare = netdsl.evaluate('Information[NetChain[{LinearLayer[3]}, "Input" -> 2], "Arrays"]')
    assert all(netdsl.input_form(v) == "Automatic" for v in bare.values())


def test_ports_layers_and_others():
    assert [str(x) for x in info("InputPortNames").args] == ["Input"]
    assert [str(x) for x in info("OutputPortNames").args] == ["Output"]
    assert len(info("LayersList").args) == 3
    assert info("RecurrentStatesCount") == 0
    text = info("InputForm")
    assert netdsl.evaluate(NET + " net") == netdsl.evaluate(text)
    assert "TopologyHash" in [str(p) for p in info("Properties").args]


def test_topology_hash_ignores_array_values():
    a = info("TopologyHash")
    assert a == info("TopologyHash", "NetInitialize[net, All, RandomSeeding -> 99]")
    assert a != info("TopologyHash", 'NetAppend[net, Ramp]')


def test_graphics_are_not_yet():
    with pytest.raises(EvaluationError, match="not available yet"):
        info("LayersGraph")
    with pytest.raises(EvaluationError, match="notprop|not a known property"):
        info("Nope")


def test_information_without_property_gives_the_main_facts():
    facts = keyed(netdsl.evaluate(NET + " Information[net]"))
    assert list(facts) == ['"LayersCount"', '"ArraysCount"', '"SharedArraysCount"',
                           '"InputPortNames"', '"OutputPortNames"',
                           '"ArraysTotalElementCount"', '"ArraysTotalSize"']
    assert facts['"LayersCount"'] == 3 and facts['"ArraysTotalElementCount"'] == 29


def test_a_property_that_is_not_a_name_is_an_error_and_a_list_of_names_maps():
    """Found by fuzzing: Information[net, {1, 1}] compared an array with "Layers" (a raw
    ValueError)."""
    s = netdsl.Session()
    s.evaluate('net = NetChain[{LinearLayer[2]}, "Input" -> 3]')
    for prop in ("{1, 1}", "x", "1.5"):
        with pytest.raises(EvaluationError, match="not a known property"):
            s.evaluate(f"Information[net, {prop}]")
    assert s.evaluate('Information[net, {"LayersCount", "InputPortNames"}]') == \
        s.evaluate('{1, {"Input"}}')
