"""``import netdsl`` and using it leave the process as they found it.

A fresh interpreter records every process-wide setting a library could touch, imports
netdsl, evaluates a net, trains it (and draws its loss plot when matplotlib is there),
and records them again: nothing may differ. The netdsl command and REPL, which own their
process, may tune it (the allocator); the library never does.
"""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r'''
import gc, json, os, signal, sys, threading, warnings
import numpy as np

def state():
    s = {
        "recursionlimit": sys.getrecursionlimit(),
        "int_max_str_digits": sys.get_int_max_str_digits(),
        "gc_enabled": gc.isenabled(),
        "gc_threshold": gc.get_threshold(),
        "signals": {n: repr(signal.getsignal(getattr(signal, n)))
                    for n in ("SIGINT", "SIGTERM", "SIGPIPE", "SIGALRM")},
        "warning_filters": repr(warnings.filters),
        "numpy_errstate": np.geterr(),
        "numpy_printoptions": repr(np.get_printoptions()),
        "numpy_random_state": repr(np.random.get_state()[1][:4].tolist()),
        "threads": threading.active_count(),
        "environ": dict(os.environ),
        "stdout": id(sys.stdout), "stderr": id(sys.stderr),
        "cwd": os.getcwd(),
    }
    try:
        import matplotlib
        s["matplotlib_backend"] = repr(dict.__getitem__(matplotlib.rcParams, "backend"))
        s["pyplot_loaded"] = "matplotlib.pyplot" in sys.modules
    except ImportError:
        pass
    return s

before = state()
import netdsl
from netdsl.runtime import memory
s = netdsl.Session()
s.evaluate('net = NetInitialize@NetChain[{ConvolutionLayer[2, 3], BatchNormalizationLayer[], '
           'Ramp, PoolingLayer[2, 2], FlattenLayer[], LinearLayer[3], SoftmaxLayer[]}, '
           '"Input" -> {1, 6, 6}]')
s.evaluate("y = net[RandomReal[1, {4, 1, 6, 6}]]")
s.evaluate('y2 = net[RandomReal[1, {4, 1, 6, 6}], NetEvaluationMode -> "Train"]')
s.evaluate('r = NetTrain[net, RandomReal[1, {8, 1, 6, 6}] -> RandomInteger[{1, 3}, 8], All, '
           'MaxTrainingRounds -> 2, TrainingProgressReporting -> None]')
try:
    import matplotlib  # noqa: F401
    s.evaluate('r["LossPlot"]')
except ImportError:
    pass
try:
    s.evaluate("1/0")
except netdsl.NetDSLError:
    pass
after = state()
print(json.dumps({"before": before, "after": after, "malloc_tuned": memory._done}))
'''


def test_using_netdsl_changes_no_process_wide_state():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    before, after = result["before"], result["after"]
    changed = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
    assert not changed, changed
    assert result["malloc_tuned"] is False      # only the netdsl command tunes malloc
    # 1/0 prints Wolfram's Power::infy message; no Python warning or traceback leaks
    assert out.stderr.strip() == "<input>:1:1: Power::infy: Infinite expression 1/0 encountered."


def test_the_command_tunes_its_own_process(tmp_path):
    script = tmp_path / "t.wl"
    script.write_text("Print[1 + 1]\n", encoding="utf-8")
    code = ("import sys; from netdsl.cli import main; from netdsl.runtime import memory; "
            f"main([{str(script)!r}]); print(memory._done)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["2", "True"]


def test_only_the_program_freezes_its_start_up_objects(tmp_path):
    """``main()`` as the program moves the imported objects to the permanent generation
    (start-up: exit and full collections skip them); ``main(argv)`` from a caller's
    process must not freeze the caller's objects (they could never be freed)."""
    script = tmp_path / "t.wl"
    script.write_text("Print[1 + 1]\n", encoding="utf-8")
    code = ("import gc, sys; from netdsl.cli import main; "
            f"main([{str(script)!r}]); print(gc.get_freeze_count()); "
            f"sys.argv = ['netdsl', {str(script)!r}]; main(); print(gc.get_freeze_count() > 1000)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["2", "0", "2", "True"]


def test_networkx_is_loaded_only_when_a_net_is_built():
    """Start-up: a command that builds no net does not execute networkx's 0.14 s import."""
    code = ("import sys, netdsl; from importlib.util import _LazyModule; "
            "m = sys.modules.get('networkx'); before = m is None or type(m) is _LazyModule; "
            "netdsl.evaluate('NetChain[{LinearLayer[2]}, \"Input\" -> 3]'); "
            "after = type(sys.modules['networkx']) is _LazyModule; print(before, after)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["True", "False"]
