"""A 2,000-text corpus run of the command line, killed with SIGKILL half way and resumed, against an
uninterrupted run: every id exactly once, and how far the two outputs differ.

Runs ``attribkit explain --input corpus.jsonl --out ...`` on the bundled model three times: once
uninterrupted, once killed (SIGKILL) when half the records are written, and once more with
``--resume``. Prints the time of each, the number of records at the kill, whether the resumed file is
byte for byte the uninterrupted one, and the largest score difference.

Usage::

    python benchmarks/corpus_kill_resume.py [--texts 2000] [--steps 300] [--threads 1]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def command(corpus: Path, out: Path, steps: int, *extra: str) -> list:
    return [sys.executable, "-m", "attribkit.cli", "explain", "--framework", "torch", "--input", str(corpus),
            "--out", str(out), "--n-steps", str(steps), *extra]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=300, help="integration steps (300: the bundled model's default)")
    parser.add_argument("--threads", default="1", help="OMP_NUM_THREADS of the runs")
    arguments = parser.parse_args()
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_bench_corpus import make_corpus

    folder = Path(tempfile.mkdtemp())
    corpus = make_corpus(arguments.texts, folder / "corpus.jsonl")
    environment = dict(os.environ, USE_TF="0", OMP_NUM_THREADS=arguments.threads)
    whole, part = folder / "whole.jsonl", folder / "part.jsonl"

    start = time.perf_counter()
    subprocess.run(command(corpus, whole, arguments.steps), env=environment, check=True, capture_output=True)
    uninterrupted = time.perf_counter() - start

    start = time.perf_counter()
    process = subprocess.Popen(command(corpus, part, arguments.steps), env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while process.poll() is None and (not part.exists() or part.read_bytes().count(b"\n") < arguments.texts // 2):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_after = time.perf_counter() - start
    at_kill = part.read_bytes().count(b"\n")
    torn = not part.read_bytes().endswith(b"\n")

    start = time.perf_counter()
    done = subprocess.run(command(corpus, part, arguments.steps, "--resume"), env=environment, capture_output=True,
                          text=True)
    resumed = time.perf_counter() - start

    a = [json.loads(line) for line in whole.read_text("utf-8").splitlines()]
    b = [json.loads(line) for line in part.read_text("utf-8").splitlines()]
    ids = [record["metadata"]["id"] for record in b]
    largest = max(float(np.max(np.abs(np.subtract(x["scores"], y["scores"])))) for x, y in zip(a, b))
    print(f"{arguments.texts} texts, n_steps={arguments.steps}, OMP_NUM_THREADS={arguments.threads}")
    print(f"uninterrupted run: {uninterrupted:.1f} s")
    print(f"killed (SIGKILL) after {killed_after:.1f} s with {at_kill} records written (torn last line: {torn})")
    print(f"resumed run: {resumed:.1f} s, exit status {done.returncode}: {done.stderr.strip().splitlines()[-1]}")
    print(f"ids: {len(ids)} records, {len(set(ids))} distinct, every input id: "
          f"{sorted(ids) == sorted(r['metadata']['id'] for r in a)}, same order: "
          f"{ids == [r['metadata']['id'] for r in a]}")
    print(f"resumed file byte for byte the uninterrupted one: {whole.read_bytes() == part.read_bytes()}; "
          f"largest score difference {largest:.3g}")
    print(f"load average: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
