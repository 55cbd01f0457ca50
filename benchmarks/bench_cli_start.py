"""Wall time of a one-text ``attribkit explain`` on each framework, and what it prints besides the result.

Runs each command in a fresh process, interleaved over rounds, and prints the median wall time and how
many lines went to standard error. Give several ``attribkit`` executables to compare builds side by side
(e.g. a checkout of an older commit installed in its own environment):

    python benchmarks/bench_cli_start.py                          # this checkout's .venv/bin/attribkit
    python benchmarks/bench_cli_start.py --exe before=/path/to/old/.venv/bin/attribkit --exe after=.venv/bin/attribkit
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT = "Great food"


def run(command, environment):
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    return time.perf_counter() - start, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exe", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--frameworks", default="torch,tf")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    exes = dict(item.split("=", 1) for item in args.exe) or {"this": str(ROOT / ".venv" / "bin" / "attribkit")}
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("TF_CPP", "TRANSFORMERS_", "USE_TF", "USE_TORCH"))}
    times = {}
    stderr_lines = {}
    for _ in range(args.rounds):
        for name, exe in exes.items():
            for framework in args.frameworks.split(","):
                seconds, done = run([exe, "explain", "--framework", framework, TEXT], environment)
                if done.returncode != 0:
                    sys.exit(f"{name} {framework} failed:\n{done.stderr[-2000:]}")
                times.setdefault((name, framework), []).append(seconds)
                stderr_lines[(name, framework)] = len(done.stderr.strip().splitlines())
    load = os.getloadavg()[0]
    print(f"one-text `attribkit explain --framework F {TEXT!r}`, median of {args.rounds} fresh processes "
          f"(load average {load:.1f} at the end)")
    print(f"{'build':<10} {'framework':<10} {'median s':>9} {'stderr lines':>13}")
    for (name, framework), values in times.items():
        print(f"{name:<10} {framework:<10} {statistics.median(values):>9.1f} {stderr_lines[(name, framework)]:>13}")


if __name__ == "__main__":
    main()
