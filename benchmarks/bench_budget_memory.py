"""Measure how far a whole ``attribkit.explain`` call stays within ``memory_budget_mb``.

The budget bounds the activations of each forward and backward pass. This
benchmark measures what the process takes for a whole call: in a fresh
process for each setting, the bundled model (``attribkit.demo``, MiniLM-size,
torch) explains the first held-out review once (a warm-up: the model's
buffers, the thread pools, the allocator's first pages), then every
held-out review of ``data/reviews/heldout.tsv`` in one call. It prints the
peak resident memory of that call above the warm process (``VmHWM`` after a
reset), its ratio to the budget, and what the process still holds after
the call, for fixed and ``"auto"`` steps, with and without
``return_attributions``, and with glibc's default allocator settings or
``MALLOC_TRIM_THRESHOLD_=0`` (freed memory returned to the system at once).
``--backend tf`` runs the same on the TensorFlow backend (the same weights,
``attribkit[tf]``), where alibi also keeps every point of a call's paths.

Usage::

    python benchmarks/bench_budget_memory.py                      # budget 64 MB, 2 threads
    python benchmarks/bench_budget_memory.py --budgets 16,64,256 --threads 1 --repeats 3
    python benchmarks/bench_budget_memory.py --backend tf --steps 50 --returns scores --allocators default
    python benchmarks/bench_budget_memory.py --long 128 --steps auto --allocators default   # 64 x 128 tokens

``--long N`` explains 64 texts of ``N`` tokens instead (eight held-out reviews
joined, cut at ``N`` tokens with ``max_length``).

Linux only (``/proc/self/status`` and ``clear_refs``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
#: Texts with ``--long``.
LONG_TEXTS = 64
ALLOCATORS = {"glibc default": {}, "MALLOC_TRIM_THRESHOLD_=0": {"MALLOC_TRIM_THRESHOLD_": "0"}}


def worker(budget, n_steps, attributions, threads, backend, long):
    import attribkit
    from attribkit.demo import load_demo_model

    sys.path.insert(0, HERE)
    from bench_ig_speed import rss_mb, rss_reset
    from eval_adaptive_steps import heldout_reviews

    if backend == "tf":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    else:
        import torch

        torch.set_num_threads(threads)
    model, tokenizer = load_demo_model(backend)
    texts = heldout_reviews(10_000)
    options = dict(n_steps=n_steps, memory_budget_mb=budget, return_attributions=attributions, backend=backend)
    if long:
        texts = [" ".join(texts[(8 * i + k) % len(texts)] for k in range(8)) for i in range(LONG_TEXTS)]
        options["max_length"] = long
    loaded = rss_mb("VmRSS")
    attribkit.explain(model, tokenizer, texts[:1], **options)
    warm = rss_mb("VmRSS")
    if not rss_reset():
        raise SystemExit("this kernel cannot reset the peak resident memory (/proc/self/clear_refs)")
    start = time.perf_counter()
    attribkit.explain(model, tokenizer, texts, **options)
    seconds = time.perf_counter() - start
    print("RESULT " + json.dumps({"texts": len(texts), "loaded": loaded, "warm": warm, "peak": rss_mb("VmHWM"),
                                  "after": rss_mb("VmRSS"), "seconds": seconds}))


def measure(budget, n_steps, attributions, threads, environment, backend, long):
    command = [sys.executable, __file__, "--worker", str(budget), str(n_steps), str(int(attributions)),
               "--threads", str(threads), "--backend", backend, "--long", str(long)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), USE_TF="1" if backend == "tf" else "0",
               TF_CPP_MIN_LOG_LEVEL="3", TF_USE_LEGACY_KERAS="1", **environment)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise SystemExit(f"the worker failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="64", help="memory_budget_mb values, comma-separated")
    parser.add_argument("--steps", default="50,auto", help="n_steps values, comma-separated")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="fresh processes per setting (the table gives "
                        "the median)")
    parser.add_argument("--backend", choices=("torch", "tf"), default="torch")
    parser.add_argument("--returns", default="scores,attributions", help="scores, attributions or both")
    parser.add_argument("--allocators", default="default,trim", help="default (glibc's), trim "
                        "(MALLOC_TRIM_THRESHOLD_=0) or both")
    parser.add_argument("--long", type=int, default=0, help=f"explain {LONG_TEXTS} texts of this many tokens "
                        "instead of the held-out reviews")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        budget, n_steps, attributions = args.worker
        return worker(float(budget), n_steps if n_steps == "auto" else int(n_steps), attributions == "1",
                      args.threads, args.backend, args.long)
    returns = [kind == "attributions" for kind in args.returns.split(",")]
    allocators = [name for name, key in zip(ALLOCATORS, ("default", "trim")) if key in args.allocators.split(",")]

    texts = f"{LONG_TEXTS} texts of {args.long} tokens" if args.long else "held-out reviews"
    print(f"Peak resident memory of one explain call of the bundled model's {texts}, above the warm "
          f"process (MB), {args.backend} backend, {args.threads} thread(s), median of {args.repeats} fresh "
          f"process(es)\n")
    print("| budget MB | n_steps | returns | allocator | texts | loaded / warm MB | peak above warm | "
          "peak / budget | held after the call | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for budget in map(float, args.budgets.split(",")):
        for n_steps in args.steps.split(","):
            for attributions in returns:
                for allocator in allocators:
                    environment = ALLOCATORS[allocator]
                    runs = sorted((measure(budget, n_steps, attributions, args.threads, environment, args.backend,
                                           args.long)
                                   for _ in range(args.repeats)), key=lambda r: r["peak"] - r["warm"])
                    r = runs[len(runs) // 2]
                    above = r["peak"] - r["warm"]
                    print(f"| {budget:g} | {n_steps} | {'attributions' if attributions else 'scores'} | "
                          f"{allocator} | {r['texts']} | {r['loaded']:.0f} / {r['warm']:.0f} | {above:.0f} | "
                          f"{above / budget:.2f} | {r['after'] - r['warm']:.0f} | {r['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
