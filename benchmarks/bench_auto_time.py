"""Wall-clock time of ``n_steps="auto"`` against fixed step counts, in one process, side by side.

The bundled model explains its held-out reviews (``attribkit.explain`` on all of them in one call) with
each setting in turn, after a warm-up call; the settings are interleaved round by round, so load that
changes over the run falls on all of them alike. Prints per setting the median seconds of the rounds,
their range, the mean gradient evaluations per text and the ratio to the first fixed count.

Usage::

    python benchmarks/bench_auto_time.py [--backend torch|tf] [--texts 117] [--rounds 2] [--steps auto,45,50]

For ``--backend tf`` run with ``TF_USE_LEGACY_KERAS=1``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="torch", choices=["torch", "tf"])
    parser.add_argument("--texts", type=int, default=117)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", default="auto,45,50", help="comma-separated: auto and step counts")
    parser.add_argument("--output", default="probability")
    args = parser.parse_args()
    os.environ.setdefault("USE_TF", "1" if args.backend == "tf" else "0")
    import attribkit
    from attribkit.demo import load_demo_model
    from eval_adaptive_steps import heldout_reviews

    model, tokenizer = load_demo_model(args.backend)
    texts = heldout_reviews(args.texts)
    settings = [s if s == "auto" else int(s) for s in args.steps.split(",")]
    attribkit.explain(model, tokenizer, texts[:8], n_steps="auto", output=args.output)  # warm-up
    seconds = {s: [] for s in settings}
    evaluations = {}
    for _ in range(args.rounds):
        for setting in settings:
            start = time.perf_counter()
            explained = attribkit.explain(model, tokenizer, texts, n_steps=setting, output=args.output)
            seconds[setting].append(time.perf_counter() - start)
            evaluations[setting] = sum(e.method.params.get("steps", setting) for e in explained) / len(explained)
    fixed = next((s for s in settings if s != "auto"), None)
    print(f"| backend | texts | output | n_steps | mean evaluations per text | median s ({args.rounds} rounds) "
          f"| range s | median / n_steps={fixed} |")
    print("|---|---|---|---|---|---|---|---|")
    for setting in settings:
        median = statistics.median(seconds[setting])
        ratio = median / statistics.median(seconds[fixed]) if fixed else float("nan")
        print(f"| {args.backend} | {len(texts)} | {args.output} | {setting} | {evaluations[setting]:.1f} | "
              f"{median:.2f} | {min(seconds[setting]):.2f}-{max(seconds[setting]):.2f} | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()
