"""Start-up of whole netdsl processes, against the floor of Python + NumPy.

    python benchmarks/bench_startup.py [--repeat 10]

Runs each command ``--repeat`` times as a fresh process (after one warm-up run, with
bytecode caching allowed even if PYTHONDONTWRITEBYTECODE is set, as for an installed
package) and prints the median wall-clock and CPU (user + system) seconds. CPU time is
the steadier figure on a shared machine. Goal: ``netdsl check small.wl`` and
``netdsl -c 1`` under 0.2 s. The import-only lines show what each dependency costs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

SMALL = 'net = NetChain[{LinearLayer[3], Ramp, LinearLayer[2]}, "Input" -> 4];\n'


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    a = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, "small.wl")
        with open(small, "w", encoding="utf-8") as f:
            f.write(SMALL)
        cases = [
            ("python (nothing)", [py, "-c", "pass"]),
            ("python + import numpy", [py, "-c", "import numpy"]),
            ("  + import lark", [py, "-c", "import numpy, lark"]),
            ("  + import networkx", [py, "-c", "import numpy, networkx"]),
            ("import netdsl", [py, "-c", "import netdsl"]),
            ("netdsl -c 1", [py, "-m", "netdsl", "-c", "1"]),
            ("netdsl check small.wl", [py, "-m", "netdsl", "check", small]),
        ]
        print(f"{'command':28} {'wall s':>8} {'CPU s':>8}   (median of {a.repeat})")
        for name, cmd in cases:
            run(cmd, env)   # warm-up: writes bytecode caches
            walls, cpus = zip(*(run(cmd, env) for _ in range(a.repeat)))
            print(f"{name:28} {statistics.median(walls):8.3f} {statistics.median(cpus):8.3f}")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
