"""Time the TensorFlow backend against the PyTorch backend on equal weights and equal work.

Two BERT classifiers are built from a config in PyTorch: a tiny one (2 layers,
hidden 32) and a MiniLM-sized one (6 layers, hidden 384, 12 heads,
intermediate 1536). Each is saved and loaded in TensorFlow with
``from_pt=True``, so both frameworks hold the same weights. The same texts
are explained with 50 Integrated Gradients steps (Gauss-Legendre) on the
embeddings, pad baseline, by:

- ``torch``:  ``attribkit.explain(pt_model, tokenizer, texts, backend="torch")``
- ``tf``:     ``attribkit.explain(tf_model, tokenizer, texts, backend="tf")``
- ``alibi``:  alibi's ``IntegratedGradients`` driven as in alibi's transformer
  example (an eager Keras wrapper, ``internal_batch_size=50``): the TF
  backend's starting point
- ``captum``: ``LayerIntegratedGradients`` called directly (the raw library)

Each runs in its own process, so one framework's imports and thread pools do
not slow the other; after one warm-up call the fastest of ``--repeat`` runs
counts, and the whole set is run ``--rounds`` times, interleaved, keeping the
fastest (other work on the machine only ever adds time). Prints the times, the
ratios to ``torch``, and the largest difference between the ``tf`` and ``torch``
scores relative to the largest score. ``--threads N`` gives each framework N
threads within an op and N across ops (TensorFlow runs independent ops side
by side on its inter-op pool, so limiting only the first still uses every core).

With ``--against PYTHON`` (the interpreter of another environment, for
example one with an earlier attribkit installed) the ``torch`` and ``tf``
workers also run with that interpreter, as ``torch@against`` and
``tf@against``, interleaved with the others, and the report adds their ratios
to the raw libraries: the way to compare two versions side by side in one run.

Usage::

    python benchmarks/bench_tf_vs_torch.py [--models tiny,minilm] [--texts 8] [--repeat 5] [--rounds 2] [--threads N]
                                           [--against /path/to/other/.venv/bin/python]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

WORDS = ("the a movie film plot acting story music was is very quite not and but it this i we "
         "good great superb wonderful bad awful terrible boring dull loved hated").split()
LENGTHS = (12, 30, 20, 48, 8, 36, 24, 16, 40, 10, 28, 6, 44, 18, 14, 32)

MODELS = {
    "tiny": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64),
    "minilm": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
}
WORKERS = ("torch", "tf", "alibi", "captum")
N_STEPS = 50
ALIBI_EXAMPLE_BATCH = 50


def build_texts(n):
    """``n`` texts of 6 to 48 words, the same in every process."""
    import numpy as np

    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(WORDS, size=LENGTHS[i % len(LENGTHS)])) for i in range(n)]


def save_models(folder, names):
    """Build each PyTorch model from its config and save it with the tokenizer under ``folder/name``."""
    os.environ.setdefault("USE_TF", "0")
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    vocab = os.path.join(folder, "vocab.txt")
    with open(vocab, "w", encoding="utf-8") as handle:
        handle.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=vocab, model_max_length=512)
    for name in names:
        torch.manual_seed(0)
        config = BertConfig(vocab_size=len(tokenizer), initializer_range=0.1, num_labels=2, **MODELS[name])
        path = os.path.join(folder, name)
        BertForSequenceClassification(config).eval().save_pretrained(path)
        tokenizer.save_pretrained(path)


def best_time(function, repeat):
    """The fastest of ``repeat`` runs, in seconds, after one warm-up run; and the warm-up's result."""
    result = function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times), result


_LIMITED = set()


def limit_threads(framework, threads):
    """Give both of the framework's thread pools (within an op, and independent ops side by side) ``threads``
    threads, once per process; ``None`` keeps its defaults."""
    if not threads or framework.__name__ in _LIMITED:
        return
    if framework.__name__ == "torch":
        framework.set_num_threads(threads)
        framework.set_num_interop_threads(threads)
    else:
        framework.config.threading.set_intra_op_parallelism_threads(threads)
        framework.config.threading.set_inter_op_parallelism_threads(threads)
    _LIMITED.add(framework.__name__)


def torch_worker(path, texts, repeat, threads):
    """``(seconds, scores)`` of the PyTorch backend."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    import attribkit

    limit_threads(torch, threads)
    model = BertForSequenceClassification.from_pretrained(path).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    seconds, explanations = best_time(
        lambda: attribkit.explain(model, tokenizer, texts, backend="torch", n_steps=N_STEPS), repeat)
    return seconds, [e.scores.tolist() for e in explanations]


def captum_worker(path, texts, repeat, threads):
    """``(seconds, None)`` of Captum's ``LayerIntegratedGradients`` called directly, as in Captum's BERT tutorial."""
    import numpy as np
    import torch
    from captum.attr import LayerIntegratedGradients
    from transformers import AutoTokenizer, BertForSequenceClassification

    limit_threads(torch, threads)
    model = BertForSequenceClassification.from_pretrained(path).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)

    def run():
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        ids, mask = batch["input_ids"], batch["attention_mask"]
        special = torch.tensor(np.isin(ids.numpy(), tokenizer.all_special_ids))
        baselines = torch.where(special, ids, torch.full_like(ids, tokenizer.pad_token_id))

        def forward(input_ids, attention_mask):
            return torch.softmax(model(input_ids=input_ids, attention_mask=attention_mask).logits, dim=-1)

        with torch.no_grad():
            targets = forward(ids, mask).argmax(dim=-1)
        attributions = LayerIntegratedGradients(forward, model.bert.embeddings).attribute(
            ids, baselines=baselines, target=targets, additional_forward_args=(mask,), n_steps=N_STEPS)
        return attributions.sum(dim=-1).detach().numpy()

    seconds, _ = best_time(run, repeat)
    return seconds, None


def tf_worker(path, texts, repeat, threads):
    """``(seconds, scores)`` of the TensorFlow backend."""
    import attribkit
    from attribkit.backends.tf.runtime import import_tensorflow

    tf = import_tensorflow()
    limit_threads(tf, threads)
    from transformers import AutoTokenizer, TFAutoModelForSequenceClassification

    model = TFAutoModelForSequenceClassification.from_pretrained(path, from_pt=True)
    tokenizer = AutoTokenizer.from_pretrained(path)
    seconds, explanations = best_time(
        lambda: attribkit.explain(model, tokenizer, texts, backend="tf", n_steps=N_STEPS), repeat)
    return seconds, [e.scores.tolist() for e in explanations]


def alibi_worker(path, texts, repeat, threads):
    """``(seconds, None)`` of alibi driven as in its transformer example: eager wrapper, ``internal_batch_size=50``."""
    from attribkit.backends.tf.runtime import import_tensorflow

    tf = import_tensorflow()
    limit_threads(tf, threads)
    import numpy as np
    import tf_keras as keras
    from alibi.explainers import IntegratedGradients
    from transformers import AutoTokenizer, TFAutoModelForSequenceClassification

    class AutoModelWrapper(keras.Model):
        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def call(self, input_ids, attention_mask=None, training=False):
            out = self.transformer(input_ids=input_ids, attention_mask=attention_mask, training=training)
            return tf.nn.softmax(out.logits, axis=-1)

    model = TFAutoModelForSequenceClassification.from_pretrained(path, from_pt=True)
    tokenizer = AutoTokenizer.from_pretrained(path)
    wrapper = AutoModelWrapper(model)

    def run():
        batch = tokenizer(texts, padding=True, return_tensors="np")
        ids = batch["input_ids"].astype(np.int32)
        kwargs = {"attention_mask": tf.constant(batch["attention_mask"])}
        special = np.isin(ids, tokenizer.all_special_ids)
        baselines = np.where(special, ids, tokenizer.pad_token_id).astype(np.int32)
        targets = wrapper(ids, **kwargs).numpy().argmax(axis=1)
        explainer = IntegratedGradients(wrapper, layer=lambda m: m.transformer.bert.embeddings, n_steps=N_STEPS,
                                        method="gausslegendre", internal_batch_size=ALIBI_EXAMPLE_BATCH)
        return explainer.explain(ids, forward_kwargs=kwargs, baselines=baselines, target=targets)

    seconds, _ = best_time(run, repeat)
    return seconds, None


def run_worker(args):
    texts = build_texts(args.texts)
    function = {"torch": torch_worker, "tf": tf_worker, "alibi": alibi_worker, "captum": captum_worker}[args.worker]
    results = {}
    for name in args.models.split(","):
        seconds, scores = function(os.path.join(args.folder, name), texts, args.repeat, args.threads)
        results[name] = {"seconds": seconds, "scores": scores}
    print("RESULT " + json.dumps(results))


def contenders(args):
    """``(label, worker, python)`` of every process a round runs."""
    runs = [(worker, worker, sys.executable) for worker in WORKERS]
    if args.against:
        runs[2:2] = [(f"{worker}@against", worker, args.against) for worker in ("torch", "tf")]
    return runs


def spawn(worker, folder, args, python=sys.executable):
    command = [python, os.path.abspath(__file__), "--worker", worker, "--folder", folder,
               "--models", args.models, "--texts", str(args.texts), "--repeat", str(args.repeat)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", USE_TF="0")
    if worker in ("tf", "alibi"):
        del environment["USE_TF"]
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"worker {worker} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def largest_difference(a, b):
    """``max |a - b| / max |b|`` over all texts' scores."""
    import numpy as np

    gap = max(float(np.max(np.abs(np.subtract(x, y)))) for x, y in zip(a, b))
    scale = max(float(np.max(np.abs(y))) for y in b)
    return gap / scale


def report(best, args):
    print(f"\n{args.texts} texts, {N_STEPS} steps, best of {args.repeat} runs x {args.rounds} rounds "
          f"(threads: {args.threads or 'default'})")
    labels = [label for label, _, _ in contenders(args)]
    ratios = [("tf/torch", "tf", "torch"), ("torch/captum", "torch", "captum"), ("tf/alibi", "tf", "alibi")]
    if args.against:
        ratios += [("torch@against/captum", "torch@against", "captum"), ("tf@against/alibi", "tf@against", "alibi")]
    print(f"{'model':8} " + " ".join(f"{label:>14}" for label in labels)
          + "".join(f"  {name:>20}" for name, _, _ in ratios) + "  max|tf-torch|/max")
    for name in args.models.split(","):
        times = {label: best[label][name]["seconds"] for label in labels}
        difference = largest_difference(best["tf"][name]["scores"], best["torch"][name]["scores"])
        print(f"{name:8} " + " ".join(f"{times[label]:13.3f}s" for label in labels)
              + "".join(f"  {times[a] / times[b]:20.3f}" for _, a, b in ratios) + f"  {difference:.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny,minilm", help="comma-separated: tiny, minilm")
    parser.add_argument("--texts", type=int, default=8, help="texts per explain call (default 8)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per process; the fastest counts")
    parser.add_argument("--rounds", type=int, default=2, help="times each process is run, interleaved")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads of each framework, within an op and across ops")
    parser.add_argument("--against", help="another environment's Python: also run its torch and tf backends")
    parser.add_argument("--worker", choices=WORKERS, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return run_worker(args)

    with tempfile.TemporaryDirectory() as folder:
        save_models(folder, args.models.split(","))
        best = {}
        for round_ in range(args.rounds):
            for label, worker, python in contenders(args):
                result = spawn(worker, folder, args, python)
                print(f"round {round_ + 1}, {label}: " + ", ".join(
                    f"{name} {value['seconds']:.3f}s" for name, value in result.items()), flush=True)
                for name, value in result.items():
                    kept = best.setdefault(label, {}).get(name)
                    if kept is None or value["seconds"] < kept["seconds"]:
                        best[label][name] = value
    report(best, args)


if __name__ == "__main__":
    main()
