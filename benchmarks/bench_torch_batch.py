"""Time the torch backend on 16 texts: one call per text versus one call for all.

Builds a small BERT classifier from a config (4 layers, hidden size 128) and a
word-level tokenizer, so it runs offline. Prints both times, their ratio and
the largest difference between the two sets of scores.

Usage::

    USE_TF=0 python benchmarks/bench_torch_batch.py [--threads N] [--steps 50] [--repeat 3]
"""
import argparse
import os
import tempfile
import time

os.environ.setdefault("USE_TF", "0")  # keep TensorFlow out of this torch-only script

import numpy as np
import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

import attribkit

WORDS = ("the a movie film plot acting story music was is very quite not and but it this i we "
         "good great superb wonderful bad awful terrible boring dull loved hated").split()
LENGTHS = (3, 40, 8, 25, 12, 60, 5, 18, 33, 9, 50, 14, 2, 28, 7, 21)


def build_tokenizer(folder):
    """A BERT WordPiece tokenizer whose vocabulary is the special tokens and ``WORDS``."""
    path = os.path.join(folder, "vocab.txt")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    return BertTokenizerFast(vocab_file=path, model_max_length=512)


def build_model(vocab_size):
    """A random 4-layer BERT classifier (hidden 128) in eval mode, smooth enough for 50 steps."""
    torch.manual_seed(0)
    config = BertConfig(vocab_size=vocab_size, hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                        intermediate_size=512, max_position_embeddings=128, initializer_range=0.2)
    return BertForSequenceClassification(config).eval()


def build_texts():
    """16 texts of 2 to 60 words."""
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(WORDS, size=n)) for n in LENGTHS]


def best_time(function, repeat):
    """The fastest of ``repeat`` runs, in seconds, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--steps", type=int, default=50, help="integration steps (default 50)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each variant; the fastest counts")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as folder:
        tokenizer = build_tokenizer(folder)
    model = build_model(len(tokenizer))
    texts = build_texts()
    attribkit.explain(model, tokenizer, texts[0], n_steps=args.steps)  # imports Captum, warms up

    one_by_one, singles = best_time(
        lambda: [attribkit.explain(model, tokenizer, text, n_steps=args.steps) for text in texts], args.repeat)
    batched, together = best_time(lambda: attribkit.explain(model, tokenizer, texts, n_steps=args.steps), args.repeat)
    difference = max(float(np.max(np.abs(a.scores - b.scores))) for a, b in zip(singles, together))
    largest = max(float(np.max(np.abs(a.scores))) for a in singles)

    tokens = sum(len(e) for e in singles)
    print(f"model: BERT 4 layers, hidden 128; {len(texts)} texts, {tokens} tokens "
          f"({min(len(e) for e in singles)}-{max(len(e) for e in singles)} per text); "
          f"integrated_gradients, {args.steps} steps; torch threads: {torch.get_num_threads()}")
    print(f"one by one: {one_by_one:.3f} s")
    sizes = sorted({e.method.params["internal_batch_size"] for e in together})
    print(f"batched:    {batched:.3f} s (internal_batch_size {sizes[0]}-{sizes[-1]} rows by length)")
    print(f"ratio:      {one_by_one / batched:.2f}x")
    print(f"max |difference| of scores: {difference:.2e} (largest |score| {largest:.3f})")


if __name__ == "__main__":
    main()
