"""How many gradient evaluations ``n_steps="auto"`` needs, against the smallest fixed count that does as well.

Sets of texts (``--sets``):

- ``bundled``: the bundled model (``attribkit.demo.load_demo_model``) on the
  hand-written held-out reviews (``data/reviews/heldout.tsv``), as
  probability and as logit;
- ``minilm``: all-MiniLM-L6-v2 (``attribkit[torch]``) with a 2-class head
  trained here (logistic regression on the pooled output of the first 400
  training reviews, ``data/reviews/train.jsonl``), on the same held-out
  reviews, as probability and as logit;
- ``tiny``: the tiny trained model of the tests (``tests/data/tiny_sentiment``)
  on the held-out sentences of its corpus (``scripts/make_corpus.py``), whose
  paths are steep: a fixed count has to suit its worst text.

For each set and output: every text explained with ``n_steps="auto"``
(tolerance 1 % of ``|F(x) - F(baseline)|``), the mean evaluations per text and
the worst gap reached; the smallest fixed Gauss-Legendre count that brings *every* text under
the same tolerance (found among :data:`FIXED`, then bisected to the count
itself); the mean of each text's own smallest count among :data:`FIXED` (an
oracle no fixed setting can reach); and the largest difference between the auto scores and a
``--reference-steps`` (1,000) reference, relative to ``|F(x) - F(baseline)|``,
with the number of texts where it is above the tolerance.
``--device cuda`` runs the torch models on a GPU.

Usage::

    python benchmarks/eval_adaptive_steps.py [--sets bundled,minilm,tiny] [--texts 16] [--json out.jsonl]
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

import numpy as np

os.environ.setdefault("USE_TF", "0")
ROOT = Path(__file__).resolve().parents[1]
FIXED = (4, 8, 12, 16, 20, 25, 32, 40, 50, 64, 100, 128, 200, 256, 300, 400, 512, 1000)
TOLERANCE = 0.01
REVIEWS = ROOT / "data" / "reviews"


def heldout_reviews(n):
    rows = [line.split("\t") for line in (REVIEWS / "heldout.tsv").read_text().splitlines()[1:] if line.strip()]
    return [row[3] for row in rows][:n]


def training_reviews(n):
    with open(REVIEWS / "train.jsonl", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle][:n]
    return [row["text"] for row in rows], [int(row["label"] == "positive") for row in rows]


def tiny_corpus(split, n):
    folder = tempfile.mkdtemp()
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_corpus.py"), "--out", folder], check=True,
                   capture_output=True)
    with open(os.path.join(folder, f"{split}.jsonl"), encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle][:n]


def minilm_with_trained_head(device):
    import torch
    from sklearn.linear_model import LogisticRegression
    from transformers import AutoTokenizer, BertForSequenceClassification
    from transformers.utils import logging

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_ig_speed import minilm_path

    logging.set_verbosity_error()
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(minilm_path(), num_labels=2).eval().to(device)
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    texts, labels = training_reviews(400)
    with torch.no_grad():
        batch = tokenizer(texts, padding=True, return_tensors="pt").to(device)
        pooled = model.bert(**batch).pooler_output.cpu().numpy()
    head = LogisticRegression(C=10.0, max_iter=2000).fit(pooled, labels)
    with torch.no_grad():  # two logits whose difference is the regression's
        model.classifier.weight.copy_(torch.tensor(np.stack([-head.coef_[0], head.coef_[0]]) / 2))
        model.classifier.bias.copy_(torch.tensor([-head.intercept_[0], head.intercept_[0]]) / 2)
    return model, tokenizer


def evaluate(name, model, tokenizer, texts, output, reference_steps, record):
    import attribkit

    start = time.perf_counter()
    auto = attribkit.explain(model, tokenizer, texts, output=output, n_steps="auto", tolerance=TOLERANCE)
    auto_seconds = time.perf_counter() - start
    differences = np.array([abs(e.output_difference) for e in auto])
    limits = np.maximum(TOLERANCE * differences, 1e-6)
    reference = attribkit.explain(model, tokenizer, texts, output=output, n_steps=reference_steps)
    own = np.full(len(texts), np.inf)

    def every_gap_within(n):
        start = time.perf_counter()
        fixed = attribkit.explain(model, tokenizer, texts, output=output, n_steps=n)
        seconds = time.perf_counter() - start
        ok = np.array([e.completeness_gap for e in fixed]) <= limits
        return ok, seconds

    smallest, smallest_seconds, below = None, None, 0
    for n in FIXED:
        ok, seconds = every_gap_within(n)
        own[ok & np.isinf(own)] = n
        if ok.all():
            smallest, smallest_seconds = n, seconds
            break
        below = n
    while smallest and smallest - below > 1:  # bisect between the list's counts: the smallest count itself
        middle = (below + smallest) // 2
        ok, seconds = every_gap_within(middle)
        if ok.all():
            smallest, smallest_seconds = middle, seconds
        else:
            below = middle
    steps = np.array([e.method.params["steps"] for e in auto])
    deviations = np.array([float(np.max(np.abs(a.scores - r.scores))) / d
                           for a, r, d in zip(auto, reference, differences)])
    worst, over = float(deviations.max()), int((deviations > TOLERANCE).sum())
    gaps = max(e.completeness_gap / d for e, d in zip(auto, differences))
    saving = f"{100 * (1 - steps.mean() / smallest):.0f} %" if smallest else "-"
    print(f"| {name} | {output} | {len(texts)} | {steps.mean():.1f} (max {steps.max()}) | {gaps:.4f} | "
          f"{smallest or '>1000'} | {saving} | {np.mean(own[np.isfinite(own)]):.1f} | {worst:.4f} ({over}) | "
          f"{auto_seconds:.1f} / {smallest_seconds or float('nan'):.1f} |", flush=True)
    if record:
        with open(record, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({
                "set": name, "output": output, "texts": len(texts), "auto_mean": float(steps.mean()),
                "auto_max": int(steps.max()), "auto_steps": steps.tolist(), "worst_gap": gaps, "over": over,
                "deviations": deviations.tolist(), "differences": differences.tolist(),
                "smallest_fixed": smallest, "own_fixed": own.tolist(), "worst_vs_reference": worst,
                "reference_steps": reference_steps, "auto_seconds": auto_seconds,
                "fixed_seconds": smallest_seconds}) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="bundled,minilm,tiny", help="comma-separated: bundled, minilm, tiny")
    parser.add_argument("--texts", type=int, default=1000, help="at most this many texts per set (default: all)")
    parser.add_argument("--outputs", default="probability,logit")
    parser.add_argument("--reference-steps", type=int, default=1000)
    parser.add_argument("--device", default="cpu", help="torch device of the models (cpu, cuda)")
    parser.add_argument("--json", help="append one JSON line per set and output to this file")
    args = parser.parse_args()
    import torch

    if args.device == "cpu":
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", str(torch.get_num_threads()))))
    print("| model | output | texts | auto: mean evaluations per text | auto: worst gap / |dF| | smallest fixed "
          "count with every gap under 1 % | auto saves | mean of per-text smallest fixed | "
          f"max |auto - {args.reference_steps} steps| / |dF| (texts above 1 %) | seconds: auto / smallest fixed |\n"
          "|---|---|---|---|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        if name == "bundled":
            from attribkit.demo import load_demo_model

            model, tokenizer = load_demo_model("torch")
            model, texts = model.to(args.device), heldout_reviews(args.texts)
        elif name == "minilm":
            model, tokenizer = minilm_with_trained_head(args.device)
            texts = heldout_reviews(args.texts)
        elif name == "tiny":
            from transformers import AutoTokenizer, BertForSequenceClassification

            folder = ROOT / "tests" / "data" / "tiny_sentiment"
            model = BertForSequenceClassification.from_pretrained(folder).eval().to(args.device)
            tokenizer, texts = AutoTokenizer.from_pretrained(folder), tiny_corpus("heldout", args.texts)
        else:
            sys.exit(f"unknown set {name!r}: bundled, minilm or tiny")
        for output in args.outputs.split(","):
            evaluate(name, model, tokenizer, texts, output, args.reference_steps, args.json)


if __name__ == "__main__":
    main()
