"""Random netdsl programs for the evaluation fuzz tests, and the worker that runs them.

``program(rng)`` builds one program from a ``random.Random``: arithmetic and list
functions over infinities, huge and extreme integers, rationals, reals near the
machine limits, deep nesting and long operator chains. The worker (``python
fuzz_programs.py``) reads programs as JSON lines on stdin and evaluates each in a fresh
Session, under an address-space limit (RLIMIT_AS) and a per-program alarm; it writes
one JSON line per program, before (``start``) and after (``ok``, ``netdsl``, ``bad``,
``timeout``). The parent kills it if a program outlives its time, so a hang or a
memory blow-up fails the test instead of stalling it.
"""

from __future__ import annotations

import json
import random
import sys

ATOMS = ["0", "1", "-1", "2", "3", "0.", "1.", "-2.5", "0.1", "1/3", "-2/7", "x", "a",
         "Infinity", "-Infinity", "ComplexInfinity", "Indeterminate", "Pi", "E", "True",
         "\"s\"", "{}", "Null", "2^62", "2^63", "-2^63", "2^63 - 1", "2^64", "10^30",
         "-10^30", "10^400", "2^1000", "1.*^300", "1.7*^308", "1.*^-300", "5.*^-324",
         "10^-30", "2*^-3", "2^-1074", "Range[3]", "{1, 2.5}", "{1, 2, 3}", "{{1, 2}, {3, 4}}",
         "{1., 2., 3.}", "<|\"a\" -> 1, \"b\" -> 2|>", "{x, 1}", "{2^70, 1}", "{1/2, 1/3}"]

UNARY = ["Sqrt", "Exp", "Log", "Sin", "Cos", "Tanh", "Abs", "Ramp", "LogisticSigmoid", "Erf",
         "Round", "Floor", "Ceiling", "N", "Chop", "Minus", "Total", "Mean", "Length",
         "Dimensions", "Flatten", "Transpose", "Reverse", "First", "Last", "Rest", "Most",
         "Max", "Min", "Variance", "Head", "FullForm", "InputForm", "Normal", "Keys", "Values",
         "Range", "Times", "Plus"]

BINARY = ["Plus", "Times", "Power", "Subtract", "Divide", "Equal", "Unequal", "Less",
          "LessEqual", "Greater", "Max", "Min", "Dot", "Part", "Take", "Drop", "Range",
          "ConstantArray", "Partition", "Join", "Select", "Map", "Apply", "Chop", "Total",
          "SameQ", "Rational", "Table"]

OPS = [" + ", " - ", " * ", " / ", "^", " == ", " != ", " < ", " . ", " -> "]


def expr(rng: random.Random, depth: int) -> str:
    """A random expression, at most ``depth`` levels of calls deep."""
    roll = rng.random()
    if depth <= 0 or roll < 0.25:
        return rng.choice(ATOMS)
    if roll < 0.45:
        return f"{rng.choice(UNARY)}[{expr(rng, depth - 1)}]"
    if roll < 0.65:
        return f"{rng.choice(BINARY)}[{expr(rng, depth - 1)}, {expr(rng, depth - 1)}]"
    if roll < 0.80:
        return f"({expr(rng, depth - 1)}){rng.choice(OPS)}({expr(rng, depth - 1)})"
    if roll < 0.88:
        return "{" + ", ".join(expr(rng, depth - 1) for _ in range(rng.randint(0, 4))) + "}"
    if roll < 0.93:
        return chain(rng)
    return nesting(rng)


def chain(rng: random.Random) -> str:
    """A long operator chain: 1 + 1 + ..., a^a^..., 1 - 2 - ..., x == x == ... (rarely
    thousands long: parsing those dominates the time of a run)"""
    n = rng.choice([3, 10, 30, 100, 300]) if rng.random() > 0.02 else rng.randint(1000, 3000)
    op = rng.choice(OPS[:7])
    return op.join(rng.choice(["1", "2", "x", "1.", "1/2", "2^62"]) for _ in range(n))


def nesting(rng: random.Random) -> str:
    """Deep nesting of calls, lists or parentheses around an atom."""
    n = rng.choice([5, 30, 33, 64, 65, 70, 100]) if rng.random() > 0.02 \
        else rng.randint(200, 900)
    inner = rng.choice(ATOMS)
    kind = rng.randrange(4)
    if kind == 0:
        return "f[" * n + inner + "]" * n
    if kind == 1:
        return "{" * n + inner + "}" * n
    if kind == 2:
        return "(" * n + inner + ")" * n
    head = rng.choice(["Sqrt", "Minus", "Abs", "N", "Total", "Flatten"])
    return f"{head}[" * n + inner + "]" * n


def program(rng: random.Random) -> str:
    """One program: one to three statements, sometimes assigning and reusing a value."""
    parts = [expr(rng, rng.randint(1, 4)) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.2:
        parts.insert(0, f"v = {expr(rng, 2)}")
        parts.append(f"{rng.choice(UNARY)}[v]")
    return "; ".join(parts)


# ---------------------------------------------------------------- the worker
def _worker(memory_bytes: int, seconds: int) -> None:
    import io
    import resource
    import signal
    import warnings

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    warnings.simplefilter("error")  # a Python warning reaching the user is a defect too

    from netdsl import Session, budget
    from netdsl.errors import NetDSLError

    budget.set_limit(memory_bytes // 8)

    class Timeout(BaseException):
        pass

    def alarm(signum, frame):
        raise Timeout

    signal.signal(signal.SIGALRM, alarm)
    out = sys.stdout
    for i, line in enumerate(sys.stdin):
        text = json.loads(line)
        out.write(json.dumps({"i": i, "status": "start"}) + "\n")
        out.flush()
        signal.alarm(seconds)
        try:
            Session(stdout=io.StringIO(), stderr=io.StringIO()).evaluate(text)
            status, detail = "ok", ""
        except NetDSLError as e:
            status, detail = "netdsl", e.message[:200]
        except Timeout:
            status, detail = "timeout", ""
        except BaseException as e:  # anything else is what the fuzz test looks for
            status, detail = "bad", f"{type(e).__name__}: {str(e)[:300]}"
        finally:
            signal.alarm(0)
        out.write(json.dumps({"i": i, "status": status, "detail": detail}) + "\n")
        out.flush()


if __name__ == "__main__":
    _worker(int(sys.argv[1]), int(sys.argv[2]))
