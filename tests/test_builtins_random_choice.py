"""RandomChoice (uniform and weighted, any shape) and BlockRandom (builtins/random.py).

Weights are checked statistically with a fixed seed and a loose bound (five standard
errors of a proportion); shapes and errors exactly.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from netdsl import EvaluationError, Session
from netdsl.expr import Expr, Symbol
from values import error, py, run


def session() -> Session:
    return Session(stdout=io.StringIO())


def test_choice_comes_from_the_list_with_the_right_shape():
    s = session()
    run("SeedRandom[7]", s)
    assert run("RandomChoice[{a, b, c}]", s) in (Symbol("a"), Symbol("b"), Symbol("c"))
    five = run("RandomChoice[{1, 2, 3}, 5]", s)
    assert isinstance(five, np.ndarray) and five.shape == (5,) and set(five.tolist()) <= {1, 2, 3}
    grid = run("RandomChoice[{a, b}, {2, 3}]", s)
    assert [len(row) for row in py(grid)] == [3, 3]
    rows = run("RandomChoice[{{1, 2}, {3, 4}}, 4]", s)        # elements may be lists
    assert rows.shape == (4, 2) and all(r in ([1, 2], [3, 4]) for r in rows.tolist())
    assert py(run("RandomChoice[{1, 2}, 0]", s)) == []
    assert py(run("RandomChoice[{1, 2}, {2, 0}]", s)) == [[], []]
    assert run("RandomChoice[{1.5, 2.5}]", s) in (1.5, 2.5)


def test_uniform_choice_is_uniform():
    s = session()
    run("SeedRandom[11]", s)
    draws = run("RandomChoice[{0, 1, 2, 3}, 40000]", s)
    counts = np.bincount(draws, minlength=4) / 40000
    assert np.all(np.abs(counts - 0.25) < 5 * math.sqrt(0.25 * 0.75 / 40000))


@pytest.mark.parametrize("weights", [(1, 3), (0.2, 0.3, 0.5), (5, 0, 1)])
def test_weighted_choice_follows_the_weights(weights):
    s = session()
    run("SeedRandom[2024]", s)
    n = 60000
    items = ", ".join(str(i) for i in range(len(weights)))
    draws = run(f"RandomChoice[{{{', '.join(map(str, weights))}}} -> {{{items}}}, {n}]", s)
    p = np.asarray(weights, dtype=float) / sum(weights)
    freq = np.bincount(draws, minlength=len(weights)) / n
    bound = 5 * np.sqrt(p * (1 - p) / n) + 1e-12
    assert np.all(np.abs(freq - p) <= bound), (freq, p)
    if 0 in weights:
        assert freq[weights.index(0)] == 0      # a zero weight is never drawn


def test_seeded_choices_repeat():
    a, b = session(), session()
    assert py(run("SeedRandom[5]; RandomChoice[Range[100], 10]", a)) == \
        py(run("SeedRandom[5]; RandomChoice[Range[100], 10]", b))


def test_choice_errors():
    error("RandomChoice[{}]", "RandomChoice", "lrwl")
    error("RandomChoice[5]", "RandomChoice", "lrwl")
    error("RandomChoice[{0, 0} -> {x, y}]", "RandomChoice", "wghtv")
    error("RandomChoice[{-1, 2} -> {x, y}]", "RandomChoice", "wghtv")
    error("RandomChoice[{1, 2} -> {x, y, z}]", "RandomChoice", "wghtv")
    error("RandomChoice[{a, 2} -> {x, y}]", "RandomChoice", "wghtv")
    error("RandomChoice[{1, 2}, -1]", "RandomChoice", "argx")
    error("RandomChoice[{1, 2}, {10^9, 10^9}]", "General", "tnsrmaxsz")   # never allocated
    error("RandomChoice[Range[1000], {10^5, 10^5}]", "General", "tnsrmaxsz")


# ---------------------------------------------------------------- BlockRandom
def test_block_random_restores_the_generator():
    s = session()
    run("SeedRandom[3]", s)
    inside, after = py(run("{BlockRandom[RandomReal[{0, 1}, 3]], RandomReal[{0, 1}, 3]}", s))
    assert inside == after          # the draws after BlockRandom are the ones it made
    t = session()
    run("SeedRandom[3]", t)
    assert py(run("RandomReal[{0, 1}, 3]", t)) == after


def test_block_random_seeding():
    s = session()
    first = py(run("BlockRandom[RandomInteger[100, 5], RandomSeeding -> 42]", s))
    again = py(run("BlockRandom[RandomInteger[100, 5], RandomSeeding -> 42]", s))
    assert first == again
    run("SeedRandom[1]", s)
    x = run("BlockRandom[RandomReal[], RandomSeeding -> \"text\"]; RandomReal[]", s)
    t = session()
    assert run("SeedRandom[1]; RandomReal[]", t) == x
    error("BlockRandom[1, RandomSeeding -> x]", "BlockRandom", "argx")


def test_block_random_restores_after_an_error():
    s = session()
    run("SeedRandom[9]", s)
    with pytest.raises(EvaluationError):
        run("BlockRandom[RandomReal[]; RandomChoice[{}]]", s)
    t = session()
    assert run("RandomReal[]", s) == run("SeedRandom[9]; RandomReal[]", t)
    assert isinstance(run("Hold[BlockRandom[RandomReal[]]]", s), Expr)


def test_netdsl_check_knows_the_shape_of_choices():
    from netdsl.check import check_text
    out, err = io.StringIO(), io.StringIO()
    check_text("x = RandomReal[1, {10, 3}];\nc = RandomChoice[x, {4, 2}];\n", "c.wl", out, err)
    assert "c = array of dimensions {4, 2, 3}" in out.getvalue(), (out.getvalue(), err.getvalue())
