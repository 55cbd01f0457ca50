"""Corpus runs on the bundled model: texts per second of the local engine and of Ray with 1 and 2
workers, Ray's fixed start-up cost, and peak memory after 500 and after 2,000 texts, in one run.

Makes a 2,000-text corpus from the bundled data (``scripts/make_bench_corpus.py``). Each measurement
runs in its own Python process (so peak RSS is its own):

- local: ``explain_corpus`` over the 2,000 texts; the peak RSS of the process (``VmHWM``) is read when
  the 500th record is written and at the end, and the rate over all texts after the model is loaded;
- Ray with W workers (W = 1, 2) on a local Ray of 2 CPUs: ``ray.init``, then a run over 16 texts and
  one over the first ``--ray-texts`` texts; the rate is the difference of texts over the difference of
  times, and the fixed cost of a run (actor pool start, model load per worker) what the 16-text run
  took beyond its texts at that rate. (Ray Data hands records back in bursts, so the time between the
  first and the last record is not a rate.)

The local engine runs with one torch thread, as a Ray worker does (Ray gives each worker one CPU), and
again with torch's default threads (2 here) over ``--ray-texts`` texts: on a loaded machine torch's
threads wait for each other, and one thread is much faster.
Every process runs with ``ONEDNN_PRIMITIVE_CACHE_CAPACITY=8``, as ``attribkit explain --input`` sets
it (``attribkit.corpus.ONEDNN_CACHE``); ``--default-cache`` leaves oneDNN's default (1024 kernels), whose
memory grows until every padded length of the corpus was seen.
The machine's load average (``uptime``) is printed next to the figures: on a shared machine other
work slows every figure.

Usage::

    USE_TF=0 python benchmarks/bench_corpus.py [--steps 50] [--texts 2000] [--ray-texts 500]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("USE_TF", "0")  # torch only: keep TensorFlow out of every process
ROOT = Path(__file__).resolve().parents[1]
#: Records after which the peak RSS is read.
RSS_AT = (250, 500, 1000, 1500, 2000)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (``VmHWM``), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def run_corpus(model, tokenizer, load, corpus: str, engine: str, steps: int, workers: int) -> dict:
    """One ``explain_corpus`` run: its texts, seconds, time to the first record and peak RSS at 500/2000."""
    from attribkit.corpus import explain_corpus

    times = []
    rss = {}

    def on_record(record):
        times.append(time.perf_counter())
        if len(times) in RSS_AT:
            rss[len(times)] = peak_rss_mb()

    out = tempfile.mktemp(suffix=".jsonl")
    begin = time.perf_counter()
    summary = explain_corpus(model, tokenizer, corpus, out, engine=engine, workers=workers, load=load, n_steps=steps,
                             progress=False, on_record=on_record)
    end = time.perf_counter()
    os.unlink(out)
    return {"texts": summary.explained + summary.failed, "failed": summary.failed, "seconds": end - begin,
            "first_record_s": times[0] - begin, "peak_rss_mb": rss}


def measure(engine: str, corpus: str, tiny: str, steps: int, workers: int, threads: int) -> dict:
    """One measurement, in this process (called by the child processes).

    local: load the model, then one run over ``corpus``. ray: ``ray.init``, a warm-up run, then a run over
    ``tiny`` and one over ``corpus``, each starting its actor pool (which loads the model): the rate is the
    difference of the two runs' texts over the difference of their times, and the fixed cost of a run
    is what the tiny run took beyond its texts at that rate.
    """
    import functools

    from attribkit.demo import load_demo_model

    load = functools.partial(load_demo_model, "torch")
    start = time.perf_counter()
    if engine == "local":
        import torch

        if threads:
            torch.set_num_threads(threads)
        model, tokenizer = load()
        loaded = time.perf_counter() - start
        run = run_corpus(model, tokenizer, None, corpus, engine, steps, workers)
        return {"engine": engine, "workers": workers, "threads": torch.get_num_threads(), "load_s": loaded, **run,
                "rate": run["texts"] / run["seconds"]}
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    initialised = time.perf_counter() - start
    run_corpus(None, None, load, tiny, engine, steps, workers)  # warm-up: Ray's first run starts its workers
    small = run_corpus(None, None, load, tiny, engine, steps, workers)
    big = run_corpus(None, None, load, corpus, engine, steps, workers)
    ray.shutdown()
    rate = (big["texts"] - small["texts"]) / (big["seconds"] - small["seconds"])
    return {"engine": engine, "workers": workers, "threads": 1, "ray_init_s": initialised, **big, "tiny": small, "rate": rate,
            "run_fixed_s": small["seconds"] - small["texts"] / rate}


def child(arguments: list) -> dict:
    from attribkit.corpus import ONEDNN_CACHE

    environment = dict(os.environ, USE_TF="0", **ONEDNN_CACHE)  # as `attribkit explain --input` runs
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(arguments)], capture_output=True,
                          text=True, env=environment)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_average() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="integration steps (the bundled model's default is 300)")
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--ray-texts", type=int, default=500)
    parser.add_argument("--default-cache", action="store_true", help="leave oneDNN's kernel cache at its default")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(measure(*json.loads(arguments.child))))
        return
    if arguments.default_cache:
        from attribkit.corpus import ONEDNN_CACHE

        ONEDNN_CACHE.clear()
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_bench_corpus import make_corpus

    folder = Path(tempfile.mkdtemp())
    corpus = make_corpus(arguments.texts, folder / f"corpus-{arguments.texts}.jsonl")
    small = make_corpus(arguments.ray_texts, folder / f"corpus-{arguments.ray_texts}.jsonl")
    tiny = make_corpus(16, folder / "corpus-16.jsonl")
    from attribkit.corpus import ONEDNN_CACHE

    print(f"bundled model, integrated gradients, n_steps={arguments.steps}, chunks of 8 texts; {os.cpu_count()} CPUs; "
          f"{ONEDNN_CACHE or 'oneDNN kernel cache at its default'}")
    rows = []
    runs = (("local", corpus, 1, 1), ("local", small, 1, 0), ("ray", small, 1, 1), ("ray", small, 2, 1))
    for engine, path, workers, threads in runs:
        before = load_average()
        row = child([engine, str(path), str(tiny), arguments.steps, workers, threads])
        row["load_before"], row["load_after"] = before, load_average()
        rows.append(row)
        print(json.dumps(row), flush=True)
    local, local_default, ray1, ray2 = rows
    named = (("local, 1 thread", local), (f"local, {local_default['threads']} threads", local_default),
             ("ray, 1 worker", ray1), ("ray, 2 workers", ray2))
    print()
    print(f"{'run':<20}{'texts':>7}{'texts/s':>9}{'s/text':>8}")
    for name, row in named:
        print(f"{name:<20}{row['texts']:>7}{row['rate']:>9.2f}{1 / row['rate']:>8.3f}")
    print(f"ratios: local {local_default['threads']} threads / local 1 thread {local_default['rate'] / local['rate']:.2f}, "
          f"ray 1 worker / local {ray1['rate'] / local['rate']:.2f}, ray 2 workers / ray 1 worker "
          f"{ray2['rate'] / ray1['rate']:.2f}, ray 2 workers / local {ray2['rate'] / local['rate']:.2f}")
    print(f"Ray's fixed start-up cost: ray.init {ray1['ray_init_s']:.1f} s / {ray2['ray_init_s']:.1f} s, then per "
          f"run (actor pool start, model load) {ray1['run_fixed_s']:.1f} s / {ray2['run_fixed_s']:.1f} s "
          f"(1 / 2 workers); the local engine's model load: {local['load_s']:.1f} s")
    rss = local["peak_rss_mb"]
    print("local peak RSS (MB) after " + ", ".join(f"{n} texts: {rss[str(n)]:.0f}" for n in RSS_AT if str(n) in rss))
    if {"500", "2000"} <= set(rss):
        print(f"peak RSS after 2000 / after 500: {rss['2000'] / rss['500'] - 1:+.1%}")
    for name, row in named:
        print(f"load average during {name}: before [{row['load_before']}] after [{row['load_after']}]")


if __name__ == "__main__":
    main()
