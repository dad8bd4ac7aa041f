"""Lanes (runtime/lanes.py): a batch split across threads gives what one lane gives.

Every test forces lanes on small nets (``MIN_WORK`` 0, ``MIN_EXAMPLES`` 1, two threads)
and compares with the same call run in one lane; ``split`` counts the passes that really
were split, so a test cannot pass by never splitting. Without threadpoolctl netdsl runs
one lane: the tests that need a split are skipped there, the rest still compare.
"""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError
from netdsl.runtime import lanes
from netdsl.runtime import forked

HAVE_CONTROL = lanes.ThreadpoolController is not None
needs_split = pytest.mark.skipif(not HAVE_CONTROL, reason="threadpoolctl not installed: one lane")

CONV = """NetInitialize[NetChain[{ConvolutionLayer[4, {3, 3}, "PaddingSize" -> 1],
  BatchNormalizationLayer[], Ramp, PoolingLayer[{2, 2}, {2, 2}], ConvolutionLayer[6, {3, 3}],
  Ramp, PoolingLayer[{2, 2}, {2, 2}], FlattenLayer[], LinearLayer[5], SoftmaxLayer[]},
  "Input" -> {2, 14, 14}], RandomSeeding -> 3]"""

LSTM_CHAIN = """NetChain[{EmbeddingLayer[6, 9], LongShortTermMemoryLayer[7],
  SequenceLastLayer[], LinearLayer[3]}, "Input" -> {"Varying", Restricted["Integer", 9]}]"""
LSTM = f"NetInitialize[{LSTM_CHAIN}, RandomSeeding -> 5]"

GRAPH = """NetInitialize[NetGraph[<|"a" -> LinearLayer[4], "r" -> Ramp, "b" -> LinearLayer[3],
  "t" -> Tanh|>, {NetPort["Input"] -> "a" -> "r" -> "b" -> NetPort["Out1"],
  "r" -> "t" -> NetPort["Out2"]}, "Input" -> 6], RandomSeeding -> 7]"""


@pytest.fixture(params=["threads", "processes"])
def split(monkeypatch, request):
    """Lanes on for any size; a list that grows by one per split pass. Training lanes
    1.. run on threads, or (where they can) in forked worker processes (forked.py)."""
    calls: list[int] = []
    real, real_forked = lanes.run_parts, forked.Forked.run

    def spy(k, job):
        calls.append(k)
        return real(k, job)

    def spy_forked(self, parts, *args):
        calls.append(len(parts))
        return real_forked(self, parts, *args)
    monkeypatch.setattr(lanes, "run_parts", spy)
    monkeypatch.setattr(forked.Forked, "run", spy_forked)
    monkeypatch.setattr(forked, "ENABLED", request.param == "processes")
    monkeypatch.setattr(lanes, "MIN_WORK", 0)
    monkeypatch.setattr(lanes, "MIN_EXAMPLES", 1)
    lanes.set_threads(2)
    yield calls
    lanes.set_threads(None)


def fresh(code: str):
    s = netdsl.Session()
    s.evaluate(f"n = {code}")
    return s["n"]


def one_lane(net, x, **kw):
    """``net(x)`` on a fresh copy of the net (no kept plan), in one lane."""
    lanes.set_threads(1)
    try:
        return net(x, **kw)
    finally:
        lanes.set_threads(2)


@needs_split
@pytest.mark.parametrize("batch", [2, 7, 16])
def test_conv_net_forward_equals_one_lane(split, batch):
    net = fresh(CONV)
    x = np.random.default_rng(0).random((batch, 2, 14, 14), dtype=np.float32)
    expected = one_lane(fresh(CONV), x)
    net(x)                       # first call of this shape: one lane, counting its work
    got = net(x)
    assert split, "the pass was not split"
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(net(x), expected, rtol=1e-5, atol=1e-7)   # kept fast call


@needs_split
def test_language_call_equals_python_call(split):
    s = netdsl.Session()
    s.evaluate(f"n = {CONV}")
    x = np.random.default_rng(1).random((6, 2, 14, 14), dtype=np.float32)
    s["x"] = x
    s.evaluate("n[x]")
    got = np.asarray(s.evaluate("n[x]"), dtype=np.float32)
    assert split
    np.testing.assert_allclose(got, one_lane(fresh(CONV), x), rtol=1e-5, atol=1e-7)


@needs_split
def test_sequences_of_varying_lengths(split):
    net = fresh(LSTM)
    rng = np.random.default_rng(2)
    seqs = [rng.integers(1, 10, size=n) for n in (5, 5, 3, 5, 3, 3, 8, 5)]
    expected = one_lane(fresh(LSTM), seqs)
    net(seqs)
    got = net(seqs)
    assert split
    np.testing.assert_allclose(np.stack(got), np.stack(expected), rtol=1e-5, atol=1e-6)


@needs_split
def test_graph_with_several_outputs(split):
    net = fresh(GRAPH)
    x = np.random.default_rng(3).normal(size=(9, 6)).astype(np.float32)
    expected = one_lane(fresh(GRAPH), x)
    net(x)
    got = net(x)
    assert split and set(got) == {"Out1", "Out2"}
    for p in got:
        np.testing.assert_allclose(got[p], expected[p], rtol=1e-5, atol=1e-7)


@needs_split
def test_independent_of_split_is_exact_for_a_linear_chain(split):
    """Per-example work cut at example boundaries: the same numbers, not merely close."""
    code = 'NetInitialize[NetChain[{LinearLayer[8], Ramp, LinearLayer[2]}, "Input" -> 5]]'
    net = fresh(code)
    x = np.random.default_rng(4).normal(size=(10, 5)).astype(np.float32)
    expected = one_lane(fresh(code), x)
    net(x)
    got = net(x)
    assert split
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0)


@needs_split
def test_train_mode_batch_statistics_are_the_whole_batchs(split):
    """Train-mode BatchNormalization: the lanes add up their sums (Ctx.across), so each
    part is normalised by the whole batch's mean and variance."""
    net = fresh(CONV)
    x = np.random.default_rng(5).random((8, 2, 14, 14), dtype=np.float32)
    x[:4] += 3.0                     # the two halves' own statistics differ a lot
    expected = one_lane(fresh(CONV), x, evaluation_mode="Train")
    for _ in range(2):
        got = net(x, evaluation_mode="Train")
    assert split
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_a_layer_using_the_batch_otherwise_stays_in_one_lane(split, monkeypatch):
    from netdsl.layers.batchnorm import BatchNormalizationLayer
    monkeypatch.setattr(BatchNormalizationLayer, "example_coupling",
                        lambda self, train: "batch" if train else "none")
    net = fresh(CONV)
    x = np.random.default_rng(5).random((8, 2, 14, 14), dtype=np.float32)
    for _ in range(2):
        net(x, evaluation_mode="Train")
    assert not split


def test_train_mode_dropout_stays_in_one_lane(split):
    """Train-mode Dropout draws per pass: one lane, so a RandomSeeding gives the masks
    one lane gives."""
    s = netdsl.Session()
    s.evaluate('n = NetInitialize[NetChain[{LinearLayer[6], DropoutLayer[0.5]}, "Input" -> 4]]')
    s["x"] = np.random.default_rng(6).random((8, 4), dtype=np.float32)
    run = 'n[x, NetEvaluationMode -> "Train", RandomSeeding -> 11]'
    first = np.asarray(s.evaluate(run))
    again = np.asarray(s.evaluate(run))
    lanes.set_threads(1)
    alone = np.asarray(s.evaluate(run))
    assert not split
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, alone)


def test_small_work_is_not_split(split, monkeypatch):
    monkeypatch.setattr(lanes, "MIN_WORK", 10 ** 12)
    monkeypatch.setattr(lanes, "MIN_SECONDS", 10.0)
    net = fresh(CONV)
    x = np.random.default_rng(7).random((8, 2, 14, 14), dtype=np.float32)
    for _ in range(3):
        net(x)
    assert not split


def test_few_examples_are_not_split(split, monkeypatch):
    monkeypatch.setattr(lanes, "MIN_EXAMPLES", 4)
    net = fresh(CONV)
    x = np.random.default_rng(8).random((7, 2, 14, 14), dtype=np.float32)  # < 2 x 4
    for _ in range(3):
        net(x)
    assert not split


@needs_split
def test_work_is_counted_once_per_shape(split):
    net = fresh(CONV)
    x = np.random.default_rng(9).random((4, 2, 14, 14), dtype=np.float32)
    net(x)
    plan = net.__dict__["_plans"]["test"]
    works = [v for k, v in plan.lanes.items() if k[0] == "work"]
    from netdsl.runtime.context import Ctx
    inputs = {"Input": np.ascontiguousarray(np.moveaxis(x, 0, -1))}
    _, values, _ = plan.run(Ctx(), inputs, keep=True)       # every value the steps made
    made = sum(v.size for i, v in enumerate(values)
               if v is not None and i not in plan.inputs.values())
    assert len(works) == 1 and works[0][0] == made > 0 and works[0][1] > 0
    assert works[0][2] == 1          # enough numbers: the pass after is split


@needs_split
def test_a_long_pass_with_few_numbers_is_split_after_two_timed_passes(split, monkeypatch):
    monkeypatch.setattr(lanes, "MIN_WORK", 10 ** 12)
    monkeypatch.setattr(lanes, "MIN_SECONDS", 0.0)
    net = fresh(CONV)
    x = np.random.default_rng(9).random((4, 2, 14, 14), dtype=np.float32)
    net(x)
    net(x)
    assert not split
    net(x)
    assert split == [2]


def test_bounds_cover_the_batch():
    for n in range(1, 30):
        for k in range(1, 5):
            b = lanes.bounds(n, k)
            assert b[0][0] == 0 and b[-1][1] == n and len(b) == k
            assert all(b[i][1] == b[i + 1][0] for i in range(k - 1))
            assert max(hi - lo for lo, hi in b) - min(hi - lo for lo, hi in b) <= 1


def test_netdsl_threads_env(monkeypatch):
    lanes.set_threads(None)
    monkeypatch.setenv("NETDSL_THREADS", "1")
    assert lanes.threads() == 1 and lanes.lane_count() == 1
    monkeypatch.setenv("NETDSL_THREADS", "3")
    assert lanes.threads() == 3
    monkeypatch.setenv("NETDSL_THREADS", "two")
    with pytest.raises(EvaluationError, match="NETDSL_THREADS"):
        lanes.threads()
    monkeypatch.delenv("NETDSL_THREADS")
    assert lanes.threads() == lanes.available_cores()


def test_set_threads_checks_its_argument():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(EvaluationError, match="positive integer"):
            lanes.set_threads(bad)   # type: ignore[arg-type]
    lanes.set_threads(1)
    assert lanes.lane_count() == 1
    lanes.set_threads(None)


@needs_split
def test_blas_limit_caps_the_lanes_and_is_restored():
    from threadpoolctl import threadpool_info, threadpool_limits
    lanes.set_threads(4)
    try:
        with threadpool_limits(1, user_api="blas"):
            assert lanes.lane_count() == 1
        before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        seen = lanes.run_parts(2, lambda i, _: [i["num_threads"] for i in threadpool_info()
                                                if i["user_api"] == "blas"] if i == 0 else i)
        after = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        assert seen[0] == [1] * len(before) and after == before
    finally:
        lanes.set_threads(None)


def test_a_failing_lane_raises_after_all_lanes_end():
    ended = []

    def job(i, meeting):
        if i == 1:
            raise ValueError("lane 1 failed")
        ended.append(i)
        return i
    with pytest.raises(ValueError, match="lane 1"):
        lanes.run_parts(3, job)
    assert sorted(ended) == [0, 2]


def test_a_failing_lane_releases_the_others_from_a_meeting():
    """Lanes 0 and 2 wait to add up sums; lane 1 fails first: no hang, its error."""
    def job(i, meeting):
        if i == 1:
            raise ValueError("lane 1 failed")
        return meeting.total(i, np.ones(2))
    with pytest.raises(ValueError, match="lane 1"):
        lanes.run_parts(3, job)


def test_meeting_gives_every_lane_the_same_total():
    got = lanes.run_parts(3, lambda i, meeting: [meeting.total(i, np.full(2, 10.0 ** i)),
                                                 meeting.total(i, np.array([i]))])
    for first, second in got:
        np.testing.assert_array_equal(first, [111.0, 111.0])
        np.testing.assert_array_equal(second, [3])


# ---------------------------------------------------------------- training
class Trainer:
    """A net made ready for training as NetTrain does (``dtype`` float64 for finite
    differences), its gradient by ``forward_backward``."""

    def __init__(self, code: str, x, y, dtype=np.float32, seed=0):
        from netdsl.expr import Symbol
        from netdsl.runtime.initialize import initialize
        from netdsl.runtime.plan import compile_plan
        from netdsl.runtime.train import Parameters, training_net
        from netdsl.runtime.train.data import check_data
        from netdsl.runtime.train.examples import Examples
        net = netdsl.evaluate(code)
        tnet, names = training_net(net, Symbol("Automatic"), {"Output": y})
        self.tnet = initialize(tnet, rng=np.random.default_rng(seed))
        self.plan = compile_plan(self.tnet, "NetTrain", mode="train")
        self.params = Parameters(self.plan, {}, dtype=dtype)
        arrays = check_data(self.tnet, {"Input": x, "Output": y})
        examples = Examples(arrays)
        self.feed = examples.batch(np.arange(examples.n))
        if dtype == np.float64:
            self.feed = [{p: (a.astype(np.float64) if a.dtype.kind == "f" else a)
                          for p, a in f.items()} for f in self.feed]
        self.loss_slots = [self.plan.outputs[p] for p in names]
        self.inputs = set(self.plan.inputs.values())
        from netdsl.runtime.context import Ctx
        self.ctx = Ctx(train=True, grad=True, rng=np.random.default_rng(0))   # the run's

    def grad(self, lanes_n: int = 2):
        from netdsl.runtime.train import forward_backward
        lanes.set_threads(lanes_n)
        try:
            loss, _ = forward_backward(self.params, self.plan, self.ctx, self.feed,
                                       self.loss_slots, self.inputs)
        finally:
            lanes.set_threads(2)
        return loss, self.params.grad.copy()


CONV_NO_BN = """NetChain[{ConvolutionLayer[3, {3, 3}, "PaddingSize" -> 1], Ramp,
  PoolingLayer[{2, 2}, {2, 2}], FlattenLayer[], LinearLayer[4], SoftmaxLayer[]},
  "Input" -> {2, 6, 6}]"""


@needs_split
def test_training_gradient_equals_one_lane(split):
    rng = np.random.default_rng(10)
    x = rng.random((11, 2, 6, 6), dtype=np.float32)
    t = Trainer(CONV_NO_BN, x, rng.integers(1, 5, 11))
    t.grad()                                     # counts the pass's work
    loss2, g2 = t.grad()
    assert split
    loss1, g1 = t.grad(1)
    assert len(split) == 1
    assert abs(loss2 - loss1) < 1e-6 * abs(loss1)
    np.testing.assert_allclose(g2, g1, rtol=1e-4, atol=1e-7)


def lanes_and_numeric_gradients(code: str, seed: int, split) -> tuple:
    """(the lanes' gradient, float64 central differences of one lane's loss) at random
    arrays, for a batch of 9 examples of 4 numbers."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(9, 4))
    t = Trainer(code, x, rng.normal(size=(9, 2)), dtype=np.float64)
    t.params.flat[...] = rng.normal(size=t.params.flat.size) * 0.5
    t.grad()
    _, g = t.grad()
    assert split
    flat, h = t.params.flat, 1e-6
    numeric = np.zeros_like(flat)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        up = t.grad(1)[0]
        flat[i] = old - h
        down = t.grad(1)[0]
        flat[i] = old
        numeric[i] = (up - down) / (2 * h)
    return g, numeric


@needs_split
def test_training_gradient_against_finite_differences(split):
    """Lanes' summed gradient is the gradient of the batch's mean loss (float64)."""
    g, numeric = lanes_and_numeric_gradients(
        'NetChain[{LinearLayer[3], Tanh, LinearLayer[2]}, "Input" -> 4]', 11, split)
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)


@needs_split
def test_training_ragged_sequences(split):
    rng = np.random.default_rng(12)
    seqs = np.empty(12, dtype=object)
    for i, n in enumerate([4, 4, 2, 4, 2, 2, 4, 4, 2, 2, 4, 4]):
        seqs[i] = rng.integers(1, 10, size=n)
    t = Trainer(LSTM_CHAIN, seqs, rng.normal(size=(12, 3)).astype(np.float32))
    assert len(t.feed) == 2
    t.grad()
    loss2, g2 = t.grad()
    assert len(split) == 2          # each length's pass split
    loss1, g1 = t.grad(1)
    assert abs(loss2 - loss1) < 1e-5 * abs(loss1)
    np.testing.assert_allclose(g2, g1, rtol=1e-4, atol=1e-6)


@needs_split
def test_training_with_batch_statistics(split):
    """Train-mode BatchNormalization split across lanes: the whole batch's statistics
    forward and the whole batch's sums backward, so the gradient is one lane's."""
    rng = np.random.default_rng(13)
    code = CONV_NO_BN.replace("Ramp,", "BatchNormalizationLayer[], Ramp,")
    x = rng.random((10, 2, 6, 6), dtype=np.float32)
    x[:5] *= 4.0
    t = Trainer(code, x, rng.integers(1, 5, 10))
    t.grad()
    loss2, g2 = t.grad()
    assert split
    loss1, g1 = t.grad(1)
    assert abs(loss2 - loss1) < 1e-6 * abs(loss1)
    np.testing.assert_allclose(g2, g1, rtol=1e-4, atol=1e-6)


@needs_split
def test_batch_statistics_gradient_against_finite_differences(split):
    g, numeric = lanes_and_numeric_gradients(
        'NetChain[{LinearLayer[3], BatchNormalizationLayer[], Tanh, LinearLayer[2]}, '
        '"Input" -> 4]', 15, split)
    np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-7)


def each_array(net_a, net_b, check) -> None:
    """``check(a, b)`` on every learned array of two nets of the same structure."""
    for (_, a), (_, b) in zip(net_a.leaves(), net_b.leaves()):
        for k, v in a.arrays.items():
            if isinstance(v, np.ndarray):
                check(v, b.arrays[k])


@needs_split
def test_net_train_moving_statistics_equal_one_lane(split):
    """The moving mean and variance move once per batch, by the whole batch's statistics."""
    s = netdsl.Session()
    rng = np.random.default_rng(16)
    s["x"] = rng.random((24, 3), dtype=np.float32) * 5
    s["y"] = rng.random((24, 2), dtype=np.float32)
    s.evaluate('n = NetChain[{LinearLayer[4], BatchNormalizationLayer[], Ramp, LinearLayer[2]}, '
               '"Input" -> 3]')
    run = ('NetTrain[n, x -> y, MaxTrainingRounds -> 2, BatchSize -> 12, '
           'RandomSeeding -> 3, TrainingProgressReporting -> None]')
    two = s.evaluate(run)
    assert split
    lanes.set_threads(1)
    one = s.evaluate(run)
    each_array(two, one, lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6))


@needs_split
def test_net_train_with_dropout_is_reproducible(split):
    s = netdsl.Session()
    rng = np.random.default_rng(14)
    s["x"] = rng.random((32, 5), dtype=np.float32)
    s["y"] = rng.random((32, 2), dtype=np.float32)
    s.evaluate('n = NetChain[{LinearLayer[16], Ramp, DropoutLayer[0.3], LinearLayer[2]}, '
               '"Input" -> 5]')
    run = ('NetTrain[n, x -> y, MaxTrainingRounds -> 3, BatchSize -> 16, '
           'RandomSeeding -> 21, TrainingProgressReporting -> None]')
    first = s.evaluate(run)
    assert split
    second = s.evaluate(run)
    each_array(first, second, np.testing.assert_array_equal)


# ---------------------------------------------------------------- the language's control
def test_processor_count_in_the_language(monkeypatch):
    monkeypatch.delenv("NETDSL_THREADS", raising=False)
    lanes.set_threads(None)
    s = netdsl.Session()
    try:
        assert s.evaluate("$ProcessorCount") == lanes.available_cores()
        s.evaluate("$ProcessorCount = 1")
        assert s.evaluate("$ProcessorCount") == 1 and lanes.lane_count() == 1
        assert netdsl.Session().evaluate("$ProcessorCount") == 1   # process-wide
        s.evaluate("Clear[$ProcessorCount]")
        assert s.evaluate("$ProcessorCount") == lanes.available_cores()
        for bad in ("0", "1.5", '"two"'):
            with pytest.raises(EvaluationError, match="positive integer"):
                s.evaluate(f"$ProcessorCount = {bad}")
    finally:
        lanes.set_threads(None)


@needs_split
def test_processor_count_one_keeps_one_lane(split):
    s = netdsl.Session()
    s.evaluate(f"n = {CONV}")
    s["x"] = np.random.default_rng(17).random((8, 2, 14, 14), dtype=np.float32)
    s.evaluate("$ProcessorCount = 1")
    for _ in range(3):
        s.evaluate("n[x]")
    assert not split
    s.evaluate("$ProcessorCount = 2")
    s.evaluate("n[x]")               # counts its work
    s.evaluate("n[x]")
    assert split


def test_python_set_threads_is_exported():
    netdsl.set_threads(1)
    assert lanes.threads() == 1
    netdsl.set_threads(None)
    assert lanes.threads() == lanes.available_cores() or "NETDSL_THREADS" in __import__("os").environ


@needs_split
def test_split_passes_in_several_threads_restore_blas_once():
    """Two callers' split passes overlap, the first ending first: BLAS's limit is back
    where it was after both (not left at the one thread the second saw at its start)."""
    import threading
    from threadpoolctl import threadpool_info

    def blas():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    before = blas()
    started, go, first_done = threading.Event(), threading.Event(), threading.Event()

    def first(i, meeting):
        if i == 0:
            started.set()
            go.wait(10)
        return i

    def second(i, meeting):
        if i == 0:
            go.set()
            first_done.wait(10)   # the first pass ends while this one runs
        return i

    def caller():
        lanes.run_parts(2, first)
        first_done.set()
    lanes._workers(3)            # a worker for each caller's lane 1
    t = threading.Thread(target=caller)
    t.start()
    started.wait(10)
    lanes.run_parts(2, second)
    t.join()
    assert first_done.is_set() and blas() == before


def test_lanes_that_never_meet_give_an_error_not_a_hang(monkeypatch):
    monkeypatch.setattr(lanes, "MEETING_TIMEOUT", 0.2)

    def job(i, meeting):
        if i == 0:
            return meeting.total(i, np.ones(2))   # lane 1 never comes
        return i
    with pytest.raises(EvaluationError, match="did not meet"):
        lanes.run_parts(2, job)


@needs_split
def test_recurrent_states_by_netport(split):
    """NetPort[All, "States"] (the final states, and given as initial ones) split too."""
    code = ('NetInitialize[NetChain[{LongShortTermMemoryLayer[5], LongShortTermMemoryLayer[3]},'
            ' "Input" -> {"Varying", 4}], RandomSeeding -> 19]')
    s = netdsl.Session()
    s.evaluate(f"n = {code}")
    s["x"] = np.random.default_rng(19).normal(size=(10, 6, 4)).astype(np.float32)

    def run():
        states = s.evaluate('n[x, NetPort[All, "States"]]')
        s["st"] = states
        again = s.evaluate('n[<|"Input" -> x, NetPort[All, "States"] -> st|>]')
        return [np.asarray(v, np.float32) for _, v in states.items()], np.asarray(again)
    run()
    states2, again2 = run()
    assert split
    lanes.set_threads(1)
    states1, again1 = run()
    assert len(states1) == 4          # State and CellState of each layer
    for a, b in zip(states2, states1):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(again2, again1, rtol=1e-5, atol=1e-6)
