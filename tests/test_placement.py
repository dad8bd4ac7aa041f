"""Each thread of a split pass on a CPU of its own, for that pass only
(netdsl/layers/placement.py): the CPUs chosen, the mask given back, a refused pin, and
lanes running pinned and ending unpinned."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import netdsl
from netdsl.layers import placement
from netdsl.runtime import lanes

needs_two_cpus = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2
    or placement.cpus(2) is None, reason="needs two CPUs and sched_getcpu")


@needs_two_cpus
def test_cpus_gives_this_threads_cpu_first_and_others_after():
    where = placement.cpus(3)
    allowed = os.sched_getaffinity(0)
    assert len(where) == 3 and set(where) <= allowed
    assert where[1] != where[0] and where[2] != where[0]


@needs_two_cpus
def test_pinned_holds_a_thread_on_its_cpu_and_gives_its_mask_back():
    before = os.sched_getaffinity(0)
    cpu = sorted(before)[-1]
    with placement.Pinned(cpu):
        assert os.sched_getaffinity(0) == {cpu}
    assert os.sched_getaffinity(0) == before
    with placement.Pinned(None):
        assert os.sched_getaffinity(0) == before


def test_a_refused_pin_runs_where_it_is(monkeypatch):
    def refuse(pid, cpus):
        raise OSError("not here")
    monkeypatch.setattr(os, "sched_setaffinity", refuse)
    with placement.Pinned(0):
        pass                      # no error: the pass runs unpinned


@needs_two_cpus
def test_split_lanes_run_on_cpus_of_their_own_and_end_unpinned(monkeypatch):
    seen: dict[int, set] = {}
    before = os.sched_getaffinity(0)

    def job(lane, meeting):
        seen[lane] = os.sched_getaffinity(0)
        return threading.get_ident()
    idents = lanes.run_parts(2, job)
    assert len(set(idents)) == 2
    assert all(len(m) == 1 for m in seen.values()) and seen[0] != seen[1]
    assert os.sched_getaffinity(0) == before
    net = netdsl.evaluate('NetInitialize[NetChain[{LinearLayer[3]}, "Input" -> 2], '
                          'RandomSeeding -> 0]')
    assert net(np.ones((2, 2))).shape == (2, 3)
