"""Evaluation fuzz tests: generated programs over infinities, huge integers, deep nesting
and long operator chains. Every failure must be a netdsl error, never a Python
exception, a hang or a memory blow-up.

Programs run in a worker process (``fuzz_programs.py``) with an address-space limit and
a per-program alarm; the parent also kills the worker if a program outlives its time
(an alarm cannot interrupt a long C call), and reports the program that was running.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from fuzz_programs import program

HERE = Path(__file__).resolve().parent
MEMORY = 3 * 2 ** 30   # address space of a worker (NumPy and netdsl take about 1 GB of it)
PER_PROGRAM = 5        # seconds


def run_batch(programs: list[str], per_program: int = PER_PROGRAM) -> list[str]:
    """Evaluate ``programs`` in one worker; the problems found, as readable lines."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(HERE.parent), str(HERE), os.environ.get("PYTHONPATH", "")]))
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    proc = subprocess.Popen([sys.executable, str(HERE / "fuzz_programs.py"), str(MEMORY),
                             str(per_program)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    payload = "".join(json.dumps(p) + "\n" for p in programs)
    try:
        out, err = proc.communicate(payload, timeout=30 + per_program * len(programs))
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    problems, finished = [], set()
    last = None
    for line in out.splitlines():
        rec = json.loads(line)
        if rec["status"] == "start":
            last = rec["i"]
            continue
        finished.add(rec["i"])
        if rec["status"] in ("bad", "timeout"):
            problems.append(f"{rec['status']}: {programs[rec['i']][:300]!r} -> {rec['detail']}")
    if len(finished) < len(programs):
        culprit = programs[last][:300] if last is not None else "(before the first program)"
        problems.append(f"worker died or hung (exit {proc.returncode}) on {culprit!r}: "
                        f"{err[-500:]}")
    return problems


@settings(max_examples=12, deadline=None, derandomize=True)
@given(st.integers(min_value=0, max_value=2 ** 32))
def test_generated_programs_raise_only_netdsl_errors(seed):
    rng = random.Random(seed)
    problems = run_batch([program(rng) for _ in range(40)])
    assert problems == []


KNOWN_HARD = [
    "1/0 + Infinity", "ComplexInfinity * 0", "Indeterminate^0", "Range[Infinity]",
    "Table[1, {Infinity}]", "ConstantArray[0, {10^30}]", "Range[2^63, 2^63 + 2]",
    "Total[Range[2^62, 2^62 + 3]]", "{1, 2, 3}^(10^30)", "2^(2^62)", "Partition[Range[5], 10^30]",
    "{" * 70 + "1" + "}" * 70 + " + 1", "f[" * 900 + "1" + "]" * 900,
    " + ".join(["1"] * 5000), "^".join(["2"] * 50), "Take[Range[5], 10^30]",
    "Range[10^30, 10^30 + 3] . Range[4]", "Max[{2^70, 1.5}]", "Sqrt[10^400]",
    "Exp[{1.*^300}]", "Round[{1.*^308, -1.*^308}]", "N[{10^400}]", "Chop[10^400]",
    "<|\"a\" -> 10^30|> * 10^30", "Mean[{10^400, 1.}]", "1.7*^308 * 10", "Log[0]", "Log[0.]",
    "ConstantArray[1, Table[1, {70}]]", "Transpose[Table[0, {40}, {1}]]",
]


def test_known_hard_cases():
    assert run_batch(KNOWN_HARD) == []


@pytest.mark.slow
def test_hundred_thousand_generated_programs():
    """100,000 programs in batches of 2,000 per worker (about 5 minutes on one core)."""
    rng = random.Random(20260101)
    problems: list[str] = []
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    for _ in range(50):
        problems += run_batch([program(rng) for _ in range(2000)])
        assert len(problems) < 20, problems
    assert problems == [], problems
    # the workers' own CPU time: about 200 s on one core (wall time depends on the load)
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - cpu0 < 600
