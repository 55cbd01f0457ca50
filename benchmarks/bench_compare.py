"""Wall time of ``attribkit compare`` on the bundled model: the command end to end per framework, then (in
this process) where the time goes: each method's explanations, and the evaluation with its forward passes.

    python benchmarks/bench_compare.py                      # the first 50 held-out sentences, torch and tf
    python benchmarks/bench_compare.py --limit 10 --frameworks torch

The machine's load average is printed beside the figures: on a shared machine it changes them.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METHODS = "integrated_gradients,lime,occlusion"


def command(framework: str, limit: int, source: Path, out: Path) -> float:
    """Seconds ``attribkit compare`` takes, start to exit (imports and model loading included)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "attribkit.cli", "compare", "--input", str(source), "--limit", str(limit),
                    "--methods", METHODS, "--framework", framework, "--out", str(out)],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def phases(framework: str, limit: int, source: Path) -> None:
    """Seconds per method's explanations and for the evaluation, with the model already loaded."""
    import attribkit
    from attribkit.demo import load_demo_model

    model, tokenizer = load_demo_model(framework)
    texts = [json.loads(line)["text"] for line in source.read_text().splitlines()[:limit]]
    explanations = []
    for method in METHODS.split(","):
        start = time.perf_counter()
        explanations += attribkit.explain(model, tokenizer, texts, method=method)
        print(f"  {framework:5s} explain {method:22s} {time.perf_counter() - start:7.2f} s")
    start = time.perf_counter()
    evaluation = attribkit.evaluate(model, tokenizer, explanations, errors="return")
    seconds = time.perf_counter() - start
    print(f"  {framework:5s} evaluate ({len(evaluation.metrics)} metrics, {len(explanations)} explanations) "
          f"{seconds:7.2f} s = {seconds / len(explanations) * 1000:.0f} ms per explanation")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--frameworks", default="torch,tf")
    parser.add_argument("--input", type=Path, default=ROOT / "data/corpus/heldout.jsonl")
    args = parser.parse_args()
    frameworks = args.frameworks.split(",")
    print(f"attribkit compare, {args.limit} texts x {METHODS}; load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        for framework in frameworks:
            seconds = command(framework, args.limit, args.input, Path(folder) / "compare.html")
            print(f"  {framework:5s} command end to end {seconds:7.2f} s   (load average {os.getloadavg()[0]:.2f})")
    for framework in frameworks:
        phases(framework, args.limit, args.input)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
