"""Time the torch backend on 16 texts: one call per text versus one call for all.

Builds a small BERT classifier from a config (4 layers, hidden size 128) and a
word-level tokenizer, so it runs offline. Two cases: 16 texts of 2 to 60 words
("mixed") and 16 texts of 20 words ("equal"). For each torch thread count and
case it times one ``explain`` call per text and one call for all 16,
interleaved (the order alternates every round) and repeated, and prints the
fastest time of each, the ratio of the fastest times, the median of the
per-round ratios, and the largest difference between the two sets of scores.

On a shared machine absolute times are noise; the per-round ratio of two
runs made back to back is the figure to read.

Usage::

    USE_TF=0 python benchmarks/bench_torch_batch.py [--threads 1,2] [--steps 50] [--repeat 7]
"""
import argparse
import os
import statistics
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
EQUAL_LENGTH = 20


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


def build_texts(lengths=LENGTHS, seed=0):
    """One text of ``n`` random words for each ``n`` in ``lengths``."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=n)) for n in lengths]


def timed(function):
    """``(seconds, result)`` of one call."""
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="comma-separated torch CPU thread counts (default 1,2)")
    parser.add_argument("--steps", type=int, default=50, help="integration steps (default 50)")
    parser.add_argument("--repeat", type=int, default=7, help="rounds; each round times every variant once (default 7)")
    args = parser.parse_args()
    thread_counts = [int(n) for n in args.threads.split(",")]

    with tempfile.TemporaryDirectory() as folder:
        tokenizer = build_tokenizer(folder)
    model = build_model(len(tokenizer))
    cases = {"mixed": build_texts(), "equal": build_texts([EQUAL_LENGTH] * 16, seed=1)}

    def one_by_one(texts):
        return [attribkit.explain(model, tokenizer, text, n_steps=args.steps) for text in texts]

    def batched(texts):
        return attribkit.explain(model, tokenizer, texts, n_steps=args.steps)

    for threads in thread_counts:  # imports Captum, warms up every thread pool
        torch.set_num_threads(threads)
        batched(cases["mixed"][:2])
    times = {(t, case, variant): [] for t in thread_counts for case in cases for variant in ("one", "batch")}
    results = {}
    for round_ in range(args.repeat):
        for threads in thread_counts:
            torch.set_num_threads(threads)
            for case, texts in cases.items():
                order = (("one", one_by_one), ("batch", batched))
                for variant, function in order if round_ % 2 == 0 else order[::-1]:
                    seconds, results[case, variant] = timed(lambda: function(texts))
                    times[threads, case, variant].append(seconds)

    print(f"model: BERT 4 layers, hidden 128; integrated_gradients, {args.steps} steps; "
          f"{args.repeat} interleaved rounds; times are the fastest round")
    for case, texts in cases.items():
        singles, together = results[case, "one"], results[case, "batch"]
        difference = max(float(np.max(np.abs(a.scores - b.scores))) for a, b in zip(singles, together))
        largest = max(float(np.max(np.abs(a.scores))) for a in singles)
        sizes = sorted({e.method.params["internal_batch_size"] for e in together})
        print(f"{case}: {len(texts)} texts, {sum(len(e) for e in singles)} tokens "
              f"({min(len(e) for e in singles)}-{max(len(e) for e in singles)} per text); batched "
              f"internal_batch_size {sizes[0]}-{sizes[-1]}; max |difference| of scores {difference:.2e} "
              f"(largest |score| {largest:.3f})")
    print(f"{'threads':>7}  {'case':<5}  {'one by one':>10}  {'batched':>8}  {'ratio':>6}  {'median ratio':>12}")
    for threads in thread_counts:
        for case in cases:
            one, batch = times[threads, case, "one"], times[threads, case, "batch"]
            median = statistics.median(a / b for a, b in zip(one, batch))
            print(f"{threads:>7}  {case:<5}  {min(one):>9.3f}s  {min(batch):>7.3f}s  {min(one) / min(batch):>5.2f}x  "
                  f"{median:>11.2f}x")


if __name__ == "__main__":
    main()
