"""How many gradient evaluations ``n_steps="auto"`` needs, against the smallest fixed count that does as well.

Sets of texts (``--sets``):

- ``demo``: the bundled model (``attribkit.demo.load_demo_model``) on the
  first ``--texts`` held-out sentences of its corpus (``scripts/make_corpus.py``,
  regenerated into a temporary folder), as probability and as logit;
- ``minilm``: all-MiniLM-L6-v2 (``attribkit[torch]``) with a 2-class head
  trained here (logistic regression on the pooled output of the corpus'
  first 400 training sentences), on the same held-out sentences, as probability.

For each set and output: every text explained with ``n_steps="auto"``
(tolerance 1 % of ``|F(x) - F(baseline)|``), the mean evaluations per text and
the worst gap reached; the smallest fixed Gauss-Legendre count (of
:data:`FIXED`) that brings *every* text under the same tolerance; the mean
of each text's own smallest fixed count (an oracle no fixed setting can
reach); and the largest difference between the auto scores and a 1,000-step
reference, relative to ``|F(x) - F(baseline)|``.

Usage::

    python benchmarks/eval_adaptive_steps.py [--sets demo,minilm] [--texts 16]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("USE_TF", "0")
ROOT = Path(__file__).resolve().parents[1]
FIXED = (8, 16, 25, 32, 50, 64, 100, 128, 200, 256, 300, 400, 512, 1000)
TOLERANCE = 0.01


def corpus(split, n):
    folder = tempfile.mkdtemp()
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_corpus.py"), "--out", folder], check=True,
                   capture_output=True)
    with open(os.path.join(folder, f"{split}.jsonl"), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle][:n]


def minilm_with_trained_head():
    import torch
    from sklearn.linear_model import LogisticRegression
    from transformers import AutoTokenizer, BertForSequenceClassification
    from transformers.utils import logging

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_ig_speed import minilm_path

    logging.set_verbosity_error()
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(minilm_path(), num_labels=2).eval()
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    train = corpus("train", 400)
    with torch.no_grad():
        batch = tokenizer([row["text"] for row in train], padding=True, return_tensors="pt")
        pooled = model.bert(**batch).pooler_output.numpy()
    labels = [row["label"] if isinstance(row["label"], int) else int(row["label"] == "positive") for row in train]
    head = LogisticRegression(C=10.0, max_iter=2000).fit(pooled, labels)
    with torch.no_grad():  # two logits whose difference is the regression's
        model.classifier.weight.copy_(torch.tensor(np.stack([-head.coef_[0], head.coef_[0]]) / 2))
        model.classifier.bias.copy_(torch.tensor([-head.intercept_[0], head.intercept_[0]]) / 2)
    return model, tokenizer


def evaluate(name, model, tokenizer, texts, output):
    import attribkit

    auto = attribkit.explain(model, tokenizer, texts, output=output, n_steps="auto", tolerance=TOLERANCE)
    differences = np.array([abs(e.output_difference) for e in auto])
    limits = np.maximum(TOLERANCE * differences, 1e-6)
    reference = attribkit.explain(model, tokenizer, texts, output=output, n_steps=1000)
    own = np.full(len(texts), np.inf)
    smallest = None
    for n in FIXED:
        fixed = attribkit.explain(model, tokenizer, texts, output=output, n_steps=n)
        ok = np.array([e.completeness_gap for e in fixed]) <= limits
        own[ok & np.isinf(own)] = n
        if ok.all():
            smallest = n
            break
    steps = np.array([e.method.params["steps"] for e in auto])
    worst = max(float(np.max(np.abs(a.scores - r.scores))) / d for a, r, d in zip(auto, reference, differences))
    gaps = max(e.completeness_gap / d for e, d in zip(auto, differences))
    saving = f"{100 * (1 - steps.mean() / smallest):.0f} %" if smallest else "-"
    print(f"| {name} | {output} | {len(texts)} | {steps.mean():.1f} (max {steps.max()}) | {gaps:.4f} | "
          f"{smallest or '>1000'} | {saving} | {np.mean(own[np.isfinite(own)]):.1f} | {worst:.4f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="demo,minilm")
    parser.add_argument("--texts", type=int, default=16)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    texts = [row["text"] for row in corpus("heldout", args.texts)]
    print("| model | output | texts | auto: mean evaluations per text | auto: worst gap / |dF| | smallest fixed "
          "count with every gap under 1 % | auto saves | mean of per-text smallest fixed | "
          "max |auto - 1,000 steps| / |dF| |\n|---|---|---|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        if name == "demo":
            from attribkit.demo import load_demo_model

            model, tokenizer = load_demo_model("torch")
            for output in ("probability", "logit"):
                evaluate("bundled", model, tokenizer, texts, output)
        else:
            model, tokenizer = minilm_with_trained_head()
            evaluate("MiniLM + trained head", model, tokenizer, texts, "probability")


if __name__ == "__main__":
    main()
