"""Where one warm TF-backend explanation spends its time, phase by phase.

Builds the benchmark's BERT (``tiny`` or ``minilm``, see
``bench_tf_vs_torch.py``) in PyTorch, loads it in TensorFlow with
``from_pt=True``, explains the benchmark's 8 texts a few times to warm up,
then times ``--calls`` more explanations with timers around alibi's phases
and the backend's own forward pass, and prints the median and the fastest
time of each phase in milliseconds:

- ``path-pass``: alibi's passes over the integration path (forward and backward);
- ``reading-passes``: alibi's two passes that read the embeddings' output;
- ``convergence-delta``, ``alibi-predictions``: alibi's plain forward passes;
- ``path-points``: alibi building the path points and its ``tf.data`` pipeline
  (the rest of its per-input work: the call minus the two kinds of passes above);
- ``backend-predictions``: the backend's forward pass for predictions and targets.

The timers wrap alibi's module-level functions, so the figures depend on
alibi 0.9.6's structure; they are for finding time, not for the ratio to
PyTorch (``bench_tf_vs_torch.py`` measures that).

Usage::

    python benchmarks/profile_tf_phases.py [--model tiny|minilm] [--calls 20]
"""
import argparse
import collections
import contextlib
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_tf_vs_torch import N_STEPS, build_texts, save_models  # noqa: E402


def timed(owner, name, label, spent):
    """Replace ``owner.name`` with a function adding its time to ``spent[label]``."""
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - start

    setattr(owner, name, wrapper)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", choices=("tiny", "minilm"))
    parser.add_argument("--calls", type=int, default=20, help="timed explanations (default 20)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import numpy as np

    import attribkit
    from attribkit.backends.tf import backend as tf_backend
    from attribkit.backends.tf.runtime import import_tensorflow

    import_tensorflow()
    import alibi.explainers.integrated_gradients as ig
    from transformers import AutoTokenizer, TFAutoModelForSequenceClassification

    spent = collections.Counter()
    timed(ig, "_gradients_layer", "path-pass", spent)
    timed(ig, "_forward_input_baseline", "reading-passes", spent)
    timed(ig, "_compute_convergence_delta", "convergence-delta", spent)
    timed(ig.IntegratedGradients, "_build_explanation", "alibi-predictions", spent)
    timed(ig.IntegratedGradients, "_compute_attributions_tensor_input", "path-points", spent)
    timed(ig.IntegratedGradients, "explain", "alibi-explain", spent)
    timed(tf_backend._Call, "outputs", "backend-predictions", spent)

    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(sys.stderr):
        save_models(folder, [args.model])
        path = os.path.join(folder, args.model)
        model = TFAutoModelForSequenceClassification.from_pretrained(path, from_pt=True)
        tokenizer = AutoTokenizer.from_pretrained(path)
    texts = build_texts(8)
    for _ in range(3):
        attribkit.explain(model, tokenizer, texts, backend="tf", n_steps=N_STEPS)
    phases = collections.defaultdict(list)
    for _ in range(args.calls):
        spent.clear()
        start = time.perf_counter()
        attribkit.explain(model, tokenizer, texts, backend="tf", n_steps=N_STEPS)
        spent["total"] = time.perf_counter() - start
        spent["path-points"] -= spent["path-pass"]  # the path pass runs inside it
        spent["other"] = spent["total"] - sum(spent[k] for k in (
            "path-pass", "reading-passes", "convergence-delta", "alibi-predictions", "path-points",
            "backend-predictions"))
        for label, seconds in spent.items():
            phases[label].append(1000 * seconds)

    print(f"{args.model}: {len(texts)} texts, {N_STEPS} steps, {args.calls} warm calls (ms)")
    print(f"{'phase':22} {'median':>8} {'fastest':>8}")
    for label in ("total", "alibi-explain", "path-pass", "reading-passes", "convergence-delta", "alibi-predictions",
                  "path-points", "backend-predictions", "other"):
        print(f"{label:22} {np.median(phases[label]):8.1f} {min(phases[label]):8.1f}")


if __name__ == "__main__":
    main()
