"""Training lanes in forked worker processes (runtime/train/forked.py).

Every test forces lanes on small nets (``MIN_WORK`` 0, ``MIN_EXAMPLES`` 1, two threads).
A forked lane must give exactly what a thread lane gives (the same steps on the same
examples, in the same order), see the optimiser's updates through the shared arrays, and
fail with a netdsl error, never a hang, when its worker fails, dies or is stuck.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError
from netdsl.runtime import lanes
from netdsl.layers import compiled
from netdsl.runtime import forked

pytestmark = pytest.mark.skipif(
    lanes.ThreadpoolController is None or not sys.platform.startswith("linux")
    or compiled.load("meet") is None or not compiled.load("meet").usable(),
    reason="no threadpoolctl (one lane), or no forked lanes here (numba, x86-64 Linux)")

NET = ('NetChain[{ConvolutionLayer[4, {3, 3}, "PaddingSize" -> 1], Ramp, '
       'PoolingLayer[{2, 2}, {2, 2}], DropoutLayer[0.2], FlattenLayer[], LinearLayer[3]}, '
       '"Input" -> {2, 8, 8}]')
RUN = ('NetTrain[n, x -> y, MaxTrainingRounds -> 3, BatchSize -> 12, RandomSeeding -> 5, '
       'TrainingProgressReporting -> None]')


@pytest.fixture
def two_lanes(monkeypatch):
    """Lanes for any size; the workers forked (their Forked objects, in order)."""
    made: list[forked.Forked] = []
    real = forked.Forked.__init__

    def spy(self, *args, **kw):
        real(self, *args, **kw)
        made.append(self)
    monkeypatch.setattr(forked.Forked, "__init__", spy)
    monkeypatch.setattr(lanes, "MIN_WORK", 0)
    monkeypatch.setattr(lanes, "MIN_EXAMPLES", 1)
    monkeypatch.setattr(forked, "ENABLED", True)
    lanes.set_threads(2)
    yield made
    lanes.set_threads(None)


def _session() -> netdsl.Session:
    s = netdsl.Session()
    rng = np.random.default_rng(3)
    s["x"] = rng.random((30, 2, 8, 8), dtype=np.float32)
    s["y"] = rng.random((30, 3), dtype=np.float32)
    s.evaluate(f"n = {NET}")
    return s


def _arrays(net) -> list[np.ndarray]:
    return [v for _, layer in net.leaves() for v in layer.arrays.values()
            if isinstance(v, np.ndarray)]


def _ended(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG)[0] != 0
    except ChildProcessError:          # reaped already
        return True


LSTM = ('NetChain[{LongShortTermMemoryLayer[6], SequenceLastLayer[], DropoutLayer[0.1], '
        'LinearLayer[3]}, "Input" -> {5, 2}]')


@pytest.mark.parametrize("net", [NET, LSTM])
def test_forked_lanes_train_exactly_as_thread_lanes(two_lanes, monkeypatch, net):
    """Three rounds with Dropout and a last batch of 6: bit-identical arrays. The worker
    reads each update of the shared weights (else the second step would differ), draws
    the masks a thread lane draws, and ends with the run."""
    s = _session()
    if net is LSTM:
        s["x"] = np.random.default_rng(8).random((30, 5, 2), dtype=np.float32)
    s.evaluate(f"n = {net}")
    in_workers = s.evaluate(RUN)
    assert len(two_lanes) == 1 and len(two_lanes[0].workers) == 1
    worker = two_lanes[0].workers[0]
    # 3 rounds x 3 batches, but the first of each size (12, 6) runs in one lane, to count
    assert worker.count == 7 and worker.pid is None      # ... and the worker has ended
    monkeypatch.setattr(forked, "ENABLED", False)
    monkeypatch.setattr(lanes, "teams", lambda: False)   # lanes, not trials of one lane
    on_threads = s.evaluate(RUN)
    assert len(two_lanes) == 1
    for a, b in zip(_arrays(in_workers), _arrays(on_threads)):
        np.testing.assert_array_equal(a, b)
    lanes.set_threads(1)
    one = s.evaluate(RUN.replace("DropoutLayer[0.2], ", ""))   # (other masks in one lane)
    assert one is not None


def test_a_forked_gradient_is_the_batch_gradient(two_lanes):
    """forward_backward with lane 1 in a worker: the gradient of the batch's mean loss,
    against float64 central differences (the net in float64)."""
    from test_lanes import Trainer       # the NetTrain set-up of the lane tests
    rng = np.random.default_rng(4)
    x = rng.random((7, 4), dtype=np.float32)
    t = Trainer('NetChain[{LinearLayer[5], Tanh, LinearLayer[3]}, "Input" -> 4]',
                x, rng.random((7, 3), dtype=np.float32), dtype=np.float64)
    t.grad()                                         # counts the pass's work
    loss, g = t.grad()
    assert len(two_lanes) == 1
    flat = t.params.flat
    numeric = np.empty_like(flat)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + 1e-6
        up, _ = t.grad(1)
        flat[i] = keep - 1e-6
        down, _ = t.grad(1)
        flat[i] = keep
        numeric[i] = (up - down) / 2e-6
    np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-7)
    t.params.close()
    t.params.close()                                 # twice: nothing left to do
    assert t.params.forked is None


def _failing_in_worker(monkeypatch, make_error):
    """ConvolutionLayer.forward raising ``make_error()`` in a forked worker only."""
    from netdsl.layers.conv import ConvolutionLayer
    parent = os.getpid()
    real = ConvolutionLayer.forward

    def forward(self, ctx, arrays, x):
        if os.getpid() != parent:
            raise make_error()
        return real(self, ctx, arrays, x)
    monkeypatch.setattr(ConvolutionLayer, "forward", forward)


def test_a_netdsl_error_in_a_worker_is_raised_as_itself(two_lanes, monkeypatch):
    _failing_in_worker(monkeypatch, lambda: EvaluationError("no good", symbol="Conv",
                                                            tag="bad"))
    s = _session()
    with pytest.raises(EvaluationError) as info:
        s.evaluate(RUN)
    assert (info.value.symbol, info.value.tag, info.value.text) == ("Conv", "bad", "no good")
    assert two_lanes[0].workers[0].pid is None       # NetTrain ended its worker


def test_any_other_error_in_a_worker_is_a_netdsl_error(two_lanes, monkeypatch):
    _failing_in_worker(monkeypatch, lambda: ZeroDivisionError("by zero"))
    with pytest.raises(EvaluationError, match="worker process failed: ZeroDivisionError: "
                                              "by zero") as info:
        _session().evaluate(RUN)
    assert info.value.tag == "lanefail"


def test_a_worker_that_dies_is_a_netdsl_error(two_lanes):
    from test_lanes import Trainer
    rng = np.random.default_rng(5)
    t = Trainer('NetChain[{LinearLayer[5], Ramp, LinearLayer[3]}, "Input" -> 4]',
                rng.random((8, 4), dtype=np.float32), rng.random((8, 3), dtype=np.float32))
    t.grad()
    t.grad()
    worker = two_lanes[0].workers[0]
    os.kill(worker.pid, 9)
    with pytest.raises(EvaluationError, match="worker process ended unexpectedly"):
        t.grad()
    loss, _ = t.grad()                       # then threads: no worker is taken for dead
    assert np.isfinite(loss) and len(two_lanes) == 1
    t.params.close()


def test_a_stuck_worker_is_killed_not_waited_for(two_lanes, monkeypatch):
    monkeypatch.setattr(forked, "GRACE", 0.5)
    parent = os.getpid()
    from netdsl.layers.linear import LinearLayer
    real = LinearLayer.forward

    def forward(self, ctx, arrays, x):
        if os.getpid() != parent:
            time.sleep(30)
        return real(self, ctx, arrays, x)
    monkeypatch.setattr(LinearLayer, "forward", forward)
    from test_lanes import Trainer
    rng = np.random.default_rng(6)
    t = Trainer('NetChain[{LinearLayer[5], Ramp, LinearLayer[3]}, "Input" -> 4]',
                rng.random((8, 4), dtype=np.float32), rng.random((8, 3), dtype=np.float32))
    t.grad()
    start = time.monotonic()
    with pytest.raises(EvaluationError, match="did not finish its part within"):
        t.grad()
    assert time.monotonic() - start < 10
    pid = two_lanes[0].workers[0].pid
    assert pid is None


def test_larger_inputs_than_the_first_step_run_on_threads(two_lanes, monkeypatch):
    from test_lanes import Trainer
    rng = np.random.default_rng(7)
    code = 'NetChain[{LinearLayer[5], Ramp, LinearLayer[3]}, "Input" -> 4]'
    t = Trainer(code, rng.random((8, 4), dtype=np.float32), rng.random((8, 3), dtype=np.float32))
    t.grad()
    t.grad()
    assert len(two_lanes) == 1
    big = Trainer(code, rng.random((12, 4), dtype=np.float32),
                  rng.random((12, 3), dtype=np.float32))
    threads: list[int] = []
    real = lanes.run_parts
    monkeypatch.setattr(lanes, "run_parts", lambda k, job: threads.append(k) or real(k, job))
    t.feed = big.feed
    t.grad()                                         # a new shape: counted in one lane
    loss, g = t.grad()
    assert threads == [2] and len(two_lanes) == 1
    np.testing.assert_allclose(loss, big.grad(1)[0], rtol=1e-6)
    t.params.close()


def test_no_fork_now_means_thread_lanes(two_lanes, monkeypatch):
    """A fork that fails (no memory, a process limit) leaves the run on threads."""
    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")
    monkeypatch.setattr(os, "fork", no_fork)
    threads: list[int] = []
    real = lanes.run_parts
    monkeypatch.setattr(lanes, "run_parts", lambda k, job: threads.append(k) or real(k, job))
    monkeypatch.setattr(lanes, "teams", lambda: False)
    trained = _session().evaluate(RUN)
    assert two_lanes == [] and threads == [2] * 7 and trained is not None


BN = ('NetChain[{ConvolutionLayer[4, {3, 3}], BatchNormalizationLayer[], Ramp, '
      'FlattenLayer[], LinearLayer[3]}, "Input" -> {2, 8, 8}]')


def test_batch_statistics_meet_across_worker_processes(two_lanes, monkeypatch):
    """Train-mode BatchNormalization adds its sums across the lanes (forked.Sums): the
    trained arrays and moving statistics are bit-identical to thread lanes'."""
    s = _session()
    s.evaluate(f"n = {BN}")
    in_workers = s.evaluate(RUN)
    # lane 0 (this process) added up sums the same number of times in each of 7 steps
    assert len(two_lanes) == 1 and two_lanes[0].sums.calls % 7 == 0 < two_lanes[0].sums.calls
    monkeypatch.setattr(forked, "ENABLED", False)
    monkeypatch.setattr(lanes, "teams", lambda: False)
    on_threads = s.evaluate(RUN)
    pairs = list(zip(_arrays(in_workers), _arrays(on_threads)))
    assert len(pairs) == 8                  # the moving mean and variance among them
    for a, b in pairs:
        np.testing.assert_array_equal(a, b)


def test_a_failing_lane_releases_the_others_from_a_sum(two_lanes, monkeypatch):
    """Lane 1 fails before BatchNormalization's first sum, lane 0 waits there: released
    at once, with the worker's error; then lane 0 fails with the worker waiting."""
    from netdsl.layers.batchnorm import BatchNormalizationLayer
    parent = os.getpid()
    real = BatchNormalizationLayer.forward
    failing = {"where": "worker"}

    def forward(self, ctx, arrays, x):
        here = "worker" if os.getpid() != parent else "parent"
        if ctx.train and x.shape[-1] < 12 and here == failing["where"]:
            raise EvaluationError(f"no good in the {here}", symbol="BN", tag="bad")
        return real(self, ctx, arrays, x)
    monkeypatch.setattr(BatchNormalizationLayer, "forward", forward)
    s = _session()
    s.evaluate(f"n = {BN}")
    start = time.monotonic()
    with pytest.raises(EvaluationError, match="no good in the worker"):
        s.evaluate(RUN)
    failing["where"] = "parent"
    with pytest.raises(EvaluationError, match="no good in the parent"):
        s.evaluate(RUN)
    assert time.monotonic() - start < 30 and len(two_lanes) == 2


def test_the_environment_turns_forking_off(monkeypatch):
    monkeypatch.setattr(forked, "ENABLED", True)
    monkeypatch.setenv("NETDSL_FORK", "0")
    assert not forked.possible()
    a = np.arange(5.0)
    assert forked.shared_copy(a) is a


def test_a_shared_copy_is_seen_by_a_forked_child(monkeypatch):
    monkeypatch.delenv("NETDSL_FORK", raising=False)
    monkeypatch.setattr(forked, "ENABLED", True)
    a = forked.shared_copy(np.zeros(3))
    pid = os.fork()
    if pid == 0:                                      # the child writes, the parent reads
        a[1] = 7.0
        os._exit(0)
    os.waitpid(pid, 0)
    assert a.tolist() == [0.0, 7.0, 0.0]
    assert _ended(pid)


# ---------------------------------------------------------------- evaluation
CONV = ('NetInitialize[NetGraph[<|"a" -> ConvolutionLayer[6, {3, 3}, "PaddingSize" -> 1], '
        '"r" -> Ramp, "p" -> PoolingLayer[2, 2], "f" -> FlattenLayer[], "l" -> LinearLayer[4], '
        '"t" -> Tanh|>, {"a" -> "r" -> "p" -> "f" -> "l" -> NetPort["Out"], '
        '"r" -> "t" -> NetPort["Map"]}, "Input" -> {2, 8, 8}], RandomSeeding -> 4]')


def _alone(net, x):
    lanes.set_threads(1)
    try:
        return net(x)
    finally:
        lanes.set_threads(2)


def test_an_evaluation_in_worker_processes_equals_one_lane(two_lanes):
    """The first split call runs lane 0 alone and forks; later calls run both lanes at
    once; two outputs, in the caller's layout, as one lane gives them."""
    net = netdsl.evaluate(CONV)
    x = np.random.default_rng(9).random((10, 2, 8, 8), dtype=np.float32)
    want = _alone(net, x)
    for _ in range(4):
        got = net(x)
        assert got.keys() == want.keys() == {"Out", "Map"}
        for port in want:
            np.testing.assert_allclose(got[port], want[port], rtol=1e-6, atol=1e-7)
    assert len(two_lanes) == 1
    worker = two_lanes[0].workers[0]
    assert worker.count == 4                 # (the first: lane 0 alone, then lane 1 there)
    fewer = x[:6]                            # fewer examples: the same worker
    net(fewer)                               # (a new shape: counted in one lane first)
    np.testing.assert_allclose(net(fewer)["Out"], _alone(net, fewer)["Out"], rtol=1e-6,
                               atol=1e-7)
    assert worker.count == 5 and len(two_lanes) == 1
    more = np.concatenate([x, x])            # more: threads
    for _ in range(2):
        np.testing.assert_allclose(net(more)["Out"], np.concatenate([want["Out"]] * 2),
                                   rtol=1e-6, atol=1e-7)
    assert worker.count == 5
    pid = worker.pid
    del net, worker
    two_lanes.clear()
    import gc
    gc.collect()                             # the plan gone: its worker ends with it
    assert _ended(pid)


def _split_twice(seed: int):
    """CONV on 8 examples: the net, the examples, its one-lane "Out"; then two split
    calls (the first forks its worker)."""
    net = netdsl.evaluate(CONV)
    x = np.random.default_rng(seed).random((8, 2, 8, 8), dtype=np.float32)
    want = _alone(net, x)["Out"]
    net(x)
    net(x)
    return net, x, want


def test_an_idle_evaluation_worker_ends_and_comes_back(two_lanes, monkeypatch):
    monkeypatch.setattr(lanes, "FORK_IDLE", 0.05)
    net, x, want = _split_twice(10)
    first = two_lanes[0].workers[0].pid
    deadline = time.monotonic() + 10
    while not _ended(first) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _ended(first)
    np.testing.assert_allclose(net(x)["Out"], want, rtol=1e-6, atol=1e-7)
    assert len(two_lanes) == 2 and two_lanes[1].workers[0].pid not in (None, first)


def test_an_error_in_an_evaluation_worker_is_raised_as_itself(two_lanes, monkeypatch):
    net = netdsl.evaluate(CONV)
    x = np.random.default_rng(11).random((8, 2, 8, 8), dtype=np.float32)
    net(x)                                   # counts its work
    _failing_in_worker(monkeypatch, lambda: EvaluationError("nope", symbol="Conv",
                                                            tag="bad"))
    for _ in range(2):                       # forks (lane 0 alone, then lane 1 there)
        with pytest.raises(EvaluationError, match="nope") as info:
            net(x)
        assert (info.value.symbol, info.value.tag) == ("Conv", "bad")
    assert len(two_lanes) == 1


# ---------------------------------------------------------------- Ctrl-C, as users press it
def _processes_running(name: str) -> list[int]:
    """Processes whose command line names ``name`` (a forked worker has its parent's)."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if name.encode() in f.read():
                    found.append(int(pid))
        except (OSError, ValueError):
            pass
    return found


def test_ctrl_c_stops_a_forked_training_run_and_its_worker(tmp_path):
    """`netdsl file.wl` training in two lanes (lane 1 in a worker): Ctrl-C returns the net
    trained so far, the script goes on, and no worker outlives the run."""
    import signal
    import subprocess
    from cli_runner import netdsl_env
    script = tmp_path / "forked_ctrl_c.wl"
    script.write_text(
        'net = NetChain[{ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1], Ramp, '
        'PoolingLayer[2, 2], FlattenLayer[], LinearLayer[4]}, "Input" -> {8, 16, 16}];\n'
        'x = RandomReal[1, {512, 8, 16, 16}]; y = RandomReal[1, {512, 4}];\n'
        'Print["started"]\n'
        't = NetTrain[net, x -> y, MaxTrainingRounds -> 100000, BatchSize -> 256, '
        'TrainingProgressReporting -> None];\nPrint["done"]\n', encoding="utf-8")
    env = netdsl_env(tmp_path)
    env["NETDSL_THREADS"] = "2"
    env.pop("NETDSL_FORK", None)
    proc = subprocess.Popen([sys.executable, "-m", "netdsl", script.name], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline() == "started\n"
        deadline = time.monotonic() + 60
        while len(_processes_running(script.name)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)                  # until the worker is forked
        assert len(_processes_running(script.name)) == 2
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.strip() == "done" and "Traceback" not in err   # (no report asked for)
    deadline = time.monotonic() + 5
    while _processes_running(script.name) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_running(script.name) == []


def test_a_worker_keeps_none_of_its_parents_open_files(two_lanes, tmp_path):
    """A socket or file the parent closes must not live on in a worker (fork hazard)."""
    import socket
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    net, _, _ = _split_twice(12)
    pid = two_lanes[0].workers[0].pid
    inherited = os.listdir(f"/proc/{pid}/fd")
    assert str(server.fileno()) not in inherited
    assert len(inherited) <= 4                # stdin, stdout, stderr and its wake-up pipe
    server.close()


def test_a_pass_posted_as_its_worker_ends_idle_runs_on_threads(two_lanes, monkeypatch):
    """The race an idle end leaves open (the worker gone just as a pass is posted to it)
    costs that pass a run on threads, not an error."""
    monkeypatch.setattr(lanes, "FORK_IDLE", 0.05)
    net, x, want = _split_twice(13)
    worker = two_lanes[0].workers[0]
    pid = worker.pid
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}/stat") and time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat") as f:         # until it is a zombie, not reaped yet
            if f.read().split()[2] == "Z":
                break
        time.sleep(0.01)
    monkeypatch.setattr(forked.Forked, "ended", lambda self: False)   # (the race)
    threads: list[int] = []
    real = lanes.run_parts
    monkeypatch.setattr(lanes, "run_parts", lambda k, job: threads.append(k) or real(k, job))
    np.testing.assert_allclose(net(x)["Out"], want, rtol=1e-6, atol=1e-7)
    assert threads == [2] and worker.pid is None
