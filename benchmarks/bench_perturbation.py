"""Texts per second of LIME and Kernel SHAP: attribkit's (on torch and on tf) next to Captum's own.

The models, texts and weights of ``bench_tf_vs_torch.py`` (a tiny and a MiniLM-sized BERT, built in
PyTorch and loaded in TensorFlow with the same weights). Every method draws the same number of
perturbed copies per text (``--samples``, 200 by default), one feature per token, the pad token for
removed tokens:

- ``torch`` / ``tf``: ``attribkit.explain(..., method="lime" | "kernel_shap")`` (Kernel SHAP with
  ``exact_limit=0``, so it samples as Captum does), the implementation written once for every backend;
- ``captum``: Captum's ``Lime`` (with its ``SkLearnRidge``) and ``KernelShap`` called directly on
  the token ids, text by text, as Captum's documentation does, with ``perturbations_per_eval=50``.

Each contender runs in its own process; after a warm-up, the fastest of ``--repeat`` runs counts,
and the set runs ``--rounds`` times interleaved. Prints texts per second and the ratios.

Usage::

    python benchmarks/bench_perturbation.py [--models tiny,minilm] [--samples 200] [--repeat 3] [--rounds 2]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_tf_vs_torch as bench  # noqa: E402

WORKERS = ("torch", "tf", "captum")
METHODS = ("lime", "kernel_shap")


def attribkit_worker(framework, path, texts, args):
    import attribkit

    if framework == "tf":
        from attribkit.backends.tf.runtime import import_tensorflow

        import_tensorflow()
        from transformers import TFAutoModelForSequenceClassification as Model

        model = Model.from_pretrained(path, from_pt=True)
    else:
        from transformers import BertForSequenceClassification

        model = BertForSequenceClassification.from_pretrained(path).eval()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    options = {"lime": {}, "kernel_shap": {"exact_limit": 0}}
    return {method: bench.best_time(lambda: attribkit.explain(
        model, tokenizer, texts, backend=framework, method=method, n_samples=args.samples, seed=0,
        **options[method]), args.repeat)[0] for method in METHODS}


def captum_worker(path, texts, args):
    import numpy as np
    import torch
    from captum._utils.models.linear_model import SkLearnRidge
    from captum.attr import KernelShap, Lime
    from transformers import AutoTokenizer, BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(path).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)

    def forward(input_ids):
        return torch.softmax(model(input_ids=input_ids).logits, dim=-1)

    def run(explainer):
        for text in texts:
            ids = tokenizer(text, return_tensors="pt").input_ids
            special = torch.tensor(np.isin(ids.numpy(), tokenizer.all_special_ids))
            baseline = torch.where(special, ids, torch.full_like(ids, tokenizer.pad_token_id))
            with torch.no_grad():
                target = int(forward(ids).argmax())
            explainer.attribute(ids, baselines=baseline, target=target, n_samples=args.samples,
                                feature_mask=torch.arange(ids.shape[1]).unsqueeze(0), perturbations_per_eval=50)

    explainers = {"lime": Lime(forward, interpretable_model=SkLearnRidge(alpha=1.0)), "kernel_shap": KernelShap(forward)}
    return {method: bench.best_time(lambda: run(explainers[method]), args.repeat)[0] for method in METHODS}


def run_worker(args):
    texts = bench.build_texts(args.texts)
    results = {}
    for name in args.models.split(","):
        path = os.path.join(args.folder, name)
        results[name] = (captum_worker(path, texts, args) if args.worker == "captum"
                         else attribkit_worker(args.worker, path, texts, args))
    print("RESULT " + json.dumps(results))


def spawn(worker, folder, args):
    command = [sys.executable, os.path.abspath(__file__), "--worker", worker, "--folder", folder, "--models",
               args.models, "--texts", str(args.texts), "--repeat", str(args.repeat), "--samples", str(args.samples)]
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", USE_TF="0")
    if worker == "tf":
        del environment["USE_TF"]
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"worker {worker} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny,minilm")
    parser.add_argument("--texts", type=int, default=8)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", choices=WORKERS, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return run_worker(args)
    best = {}
    with tempfile.TemporaryDirectory() as folder:
        bench.save_models(folder, args.models.split(","))
        for round_ in range(args.rounds):
            for worker in WORKERS:
                result = spawn(worker, folder, args)
                print(f"round {round_ + 1}, {worker}: {result}", flush=True)
                for model, times in result.items():
                    for method, seconds in times.items():
                        key = (worker, model, method)
                        best[key] = min(best.get(key, float("inf")), seconds)
    print(f"\n{args.texts} texts, {args.samples} samples per text, texts per second (best of {args.repeat} runs x "
          f"{args.rounds} rounds)")
    print(f"{'model':8} {'method':12} " + " ".join(f"{w:>9}" for w in WORKERS) + "   torch/captum  tf/captum")
    for model in args.models.split(","):
        for method in METHODS:
            rate = {w: args.texts / best[(w, model, method)] for w in WORKERS}
            print(f"{model:8} {method:12} " + " ".join(f"{rate[w]:9.2f}" for w in WORKERS)
                  + f"   {rate['torch'] / rate['captum']:12.2f}  {rate['tf'] / rate['captum']:9.2f}")


if __name__ == "__main__":
    main()
