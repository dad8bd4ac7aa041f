"""Net fuzz tests: random NetChains (fuzz_nets.py) built, initialised, evaluated, trained,
differentiated and exported. Every failure must be a netdsl error, never a Python
exception, a warning, a hang or a memory blow-up.

This found raw NumPy errors where integers (encoders, OrderingLayer) reached layers that
compute with reals, where a later layer fixed or emptied a "Varying" length, and in the
ONNX export of parts counted from the end of a "Varying" length."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings, strategies as st

from fuzz_nets import program
from test_fuzz_eval import run_batch


@settings(max_examples=6, deadline=None, derandomize=True)
@given(seed=st.integers(min_value=0, max_value=2 ** 32))
def test_generated_nets_raise_only_netdsl_errors(tmp_path_factory, seed):
    rng = random.Random(seed)
    file = str(tmp_path_factory.mktemp("nets") / "net")
    assert run_batch([program(rng, file) for _ in range(40)], per_program=20) == []


@pytest.mark.slow
def test_ten_thousand_generated_nets(tmp_path):
    """10,000 programs in batches of 250 per worker (a few minutes on one core)."""
    rng = random.Random(20261206)
    problems: list[str] = []
    for _ in range(40):
        problems += run_batch([program(rng, str(tmp_path / "net")) for _ in range(250)],
                              per_program=20)
        assert len(problems) < 20, problems
    assert problems == [], problems
