"""Time one pass of a compiled Hugging Face TF model's gradient, taken two ways.

- ``outside``: the model's logits come from a ``tf.function`` and a gradient
  tape around the call differentiates it (what alibi's tape does to a
  compiled model);
- ``one call``: forward and backward in one ``tf.function`` with an inner
  tape (what the TF backend's accelerator runs per pass, ``Accelerator.chosen``).

Both compute the gradient of the first logit of each row to the embeddings'
output, on the MiniLM-sized BERT of ``bench_tf_vs_torch.py`` (200 rows of 32
tokens by default), alternately; after a warm-up the fastest of ``--repeat``
runs of each counts. Prints both times, their ratio and the largest
difference between the two gradients.

Usage::

    python benchmarks/bench_tf_gradient_call.py [--model minilm|tiny] [--rows 200] [--length 32] [--repeat 5]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_tf_vs_torch as bench  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm", choices=sorted(bench.MODELS))
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        # saved in another process: saving imports transformers without TensorFlow
        save = f"import bench_tf_vs_torch as b; b.save_models({folder!r}, {[args.model]!r})"
        subprocess.run([sys.executable, "-c", save], cwd=os.path.dirname(os.path.abspath(__file__)), check=True)
        import numpy as np

        from attribkit.backends.tf.runtime import import_tensorflow

        tf = import_tensorflow()
        from transformers import TFAutoModelForSequenceClassification

        model = TFAutoModelForSequenceClassification.from_pretrained(os.path.join(folder, args.model), from_pt=True)
    from attribkit.backends.tf.adapter import call_replaced, hugging_face_embeddings

    embeddings, _ = hugging_face_embeddings(model)
    rng = np.random.default_rng(0)
    ids = tf.constant(rng.integers(5, model.config.vocab_size, size=(args.rows, args.length)), tf.int32)
    mask = tf.ones_like(ids)
    embedded = embeddings(input_ids=ids, training=False)

    def first_logit(ids, mask, embedded):
        with call_replaced(embeddings, lambda *args, **kwargs: embedded):
            return model(input_ids=ids, attention_mask=mask, training=False).logits[:, 0]

    compiled_forward = tf.function(first_logit)

    @tf.function
    def one_call(ids, mask, embedded):
        with tf.GradientTape() as tape:
            tape.watch(embedded)
            out = first_logit(ids, mask, embedded)
        return tape.gradient(out, embedded)

    def outside():
        with tf.GradientTape() as tape:
            tape.watch(embedded)
            out = compiled_forward(ids, mask, embedded)
        return tape.gradient(out, embedded)

    ways = {"outside": outside, "one call": lambda: one_call(ids, mask, embedded)}
    results = {name: way().numpy() for name, way in ways.items()}  # traces
    times = {name: [] for name in ways}
    for _ in range(args.repeat):
        for name, way in ways.items():
            start = time.perf_counter()
            way().numpy()
            times[name].append(time.perf_counter() - start)
    best = {name: min(values) for name, values in times.items()}
    difference = np.abs(results["outside"] - results["one call"]).max() / np.abs(results["outside"]).max()
    print(f"{args.model}, {args.rows} rows x {args.length} tokens, best of {args.repeat}")
    print(f"outside {best['outside']:.3f}s  one call {best['one call']:.3f}s  "
          f"outside/one call {best['outside'] / best['one call']:.2f}  max|diff|/max {difference:.1e}")


if __name__ == "__main__":
    main()
