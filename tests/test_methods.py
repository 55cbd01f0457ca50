"""The methods written once for every backend: exact answers, cross-framework equality, anchors.

Known answers use numpy-only models through the black-box backend of docs/plugins.md; the
cross-framework tests use a PyTorch BERT and its TensorFlow twin with equal weights.
"""
from __future__ import annotations

import importlib.util
import itertools
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import attribkit
from attribkit.plugins import PluginHost, reset_host

ROOT = Path(__file__).resolve().parents[1]
HAS_TORCH = all(importlib.util.find_spec(m) for m in ("torch", "captum", "transformers"))
HAS_TF = all(importlib.util.find_spec(m) for m in ("tensorflow", "tf_keras", "alibi", "transformers"))
WORDS = ("the a movie film plot acting story was is very not and but it this good great superb bad awful "
         "dull boring , .").split()


def doc_backend() -> dict:
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text.split("### A complete black-box backend", 1)[1], re.S).group(1)
    namespace: dict = {"__name__": "blackbox_doc"}
    exec(compile(code, "docs/plugins.md", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def black_box():
    """``make(predict_proba) -> a model`` of the doc's black-box backend, registered for this module."""
    names = doc_backend()
    host = PluginHost()
    host.load_entry_points()
    host.register(names["BlackBoxPlugin"](), "blackbox")
    reset_host(host)
    yield lambda predict, labels=("negative", "positive"): names["TextModel"](predict, list(labels))
    reset_host()


def logistic(weights, interactions=None, bias=0.0):
    """``predict_proba`` of a logistic model over words, with optional pairwise interactions."""
    def predict(texts):
        logits = []
        for text in texts:
            present = set(text.lower().split())
            logit = bias + sum(w for word, w in weights.items() if word in present)
            logit += sum(w for (a, b), w in (interactions or {}).items() if a in present and b in present)
            logits.append(logit)
        p = 1 / (1 + np.exp(-np.array(logits)))
        return np.stack([1 - p, p], axis=1)
    return predict


# -- exact answers ------------------------------------------------------------------------------------------------


def brute_force_shapley(predict, words, target):
    """Shapley values by their definition over every ordering of the words (independent of the library)."""
    n = len(words)

    def value(kept):
        return predict([" ".join(w for i, w in enumerate(words) if i in kept)])[0, target]

    shapley = np.zeros(n)
    for order in itertools.permutations(range(n)):
        kept = set()
        for i in order:
            before = value(kept)
            kept.add(i)
            shapley[i] += value(kept) - before
    return shapley / math.factorial(n)


def test_kernel_shap_is_exact_shapley_and_sampling_converges(black_box):
    predict = logistic({"superb": 2.5, "not": -1.0, "dull": -2.0, "plot": 0.3},
                       interactions={("not", "dull"): 3.5, ("superb", "plot"): -1.2}, bias=0.2)
    model = black_box(predict)
    text = "the plot was not dull but superb"  # 7 words
    exact = attribkit.explain(model, None, text, method="kernel_shap", target=1)
    expected = brute_force_shapley(predict, text.split(), 1)
    assert exact.method.params["exact"] is True
    np.testing.assert_allclose(exact.scores, expected, atol=1e-6)
    assert exact.completeness_gap < 1e-9  # Shapley values sum to F(x) - F(no word)
    errors = {}
    for n_samples in (16, 128, 1024):
        sampled = attribkit.explain(model, None, text, method="kernel_shap", target=1, exact_limit=0,
                                    n_samples=n_samples, seed=0)
        assert sampled.method.params["exact"] is False and sampled.completeness_gap < 1e-9
        errors[n_samples] = float(np.abs(sampled.scores - expected).max() / np.abs(expected).max())
    assert errors[1024] < errors[16] and errors[1024] < 0.05, errors


def test_occlusion_moves_the_probability_by_the_planted_amount(black_box):
    predict = logistic({"superb": 4.0}, bias=-1.0)
    model = black_box(predict)
    text = "a superb film , sadly long"
    explanation = attribkit.explain(model, None, text, method="occlusion", target=1)
    p = 1 / (1 + math.exp(-3.0))
    p_without = 1 / (1 + math.exp(1.0))
    superb = explanation.tokens.index("superb")
    assert explanation.scores[superb] == pytest.approx(p - p_without, abs=1e-12)
    assert np.all(np.delete(explanation.scores, superb) == 0)
    wide = attribkit.explain(model, None, text, method="occlusion", target=1, window=2)
    # "superb" is in the windows (a superb) and (superb film): each drops p - p_without
    assert wide.scores[superb] == pytest.approx(p - p_without, abs=1e-12)
    assert wide.scores[explanation.tokens.index("a")] == pytest.approx((p - p_without) / 1, abs=1e-12)


def test_lime_recovers_a_linear_models_ranking():
    example = pytest.importorskip("attribkit_example")
    weights = {"superb": 3.0, "great": 2.0, "good": 1.0, "dull": -1.5, "awful": -2.5}
    model = example.LexiconModel(weights, bias=0.1)
    text = "good great superb dull awful film"
    explanation = attribkit.explain(model, example.WhitespaceTokenizer(), text, method="lime", output="logit",
                                    target=1, seed=0, n_samples=500)
    order = [explanation.tokens[i] for i in np.argsort(-explanation.scores)]
    assert order == ["superb", "great", "good", "film", "dull", "awful"]  # the weights' order; "film" weighs 0


@pytest.mark.parametrize("replacement", ["pad", "delete"])
def test_replacements(black_box, replacement):
    seen = []

    def predict(texts):
        seen.extend(texts)
        return logistic({"superb": 2.0})(texts)

    model = black_box(predict)
    attribkit.explain(model, None, "a superb film", method="feature_ablation", replacement=replacement, target=1)
    assert "a film" in seen  # removing a word (pad id 0 = no word) or deleting it gives the same text here
    with pytest.raises(attribkit.InputError, match="no mask token"):
        attribkit.explain(model, None, "a superb film", method="feature_ablation", replacement="mask")


def test_the_black_box_gets_every_perturbation_method(black_box):
    model = black_box(logistic({"superb": 2.0, "dull": -2.0}))
    for method in ("occlusion", "feature_ablation", "lime", "kernel_shap"):
        explanation = attribkit.explain(model, None, "a superb but dull film", method=method, seed=1, target=1)
        assert attribkit.top_k(explanation, 1, by="positive")[0].token == "superb", method
        assert attribkit.top_k(explanation, 1, by="negative")[0].token == "dull", method
    with pytest.raises(attribkit.MethodError, match="not supported by backend 'blackbox'"):
        attribkit.explain(model, None, "a superb film", method="saliency")  # no gradients on a black box


@pytest.mark.skipif(not (HAS_TF and importlib.util.find_spec("spacy")), reason="anchors need alibi and spaCy")
def test_anchors_find_the_word_the_prediction_rests_on(black_box):
    model = black_box(logistic({"superb": 6.0}, bias=-3.0))
    explanation = attribkit.explain(model, None, "the plot was long but the acting was superb", method="anchors",
                                    seed=0)
    params = explanation.method.params
    assert params["anchor"] == ["superb"] and params["precision"] >= 0.95 and params["rule_for"] == "positive"
    assert explanation.scores[explanation.tokens.index("superb")] == 1.0 and explanation.scores.sum() == 1.0
    assert "anchor: IF superb THEN positive (precision 1.00" in attribkit.render(explanation, "terminal", color=False)
    assert "IF superb THEN positive" in attribkit.render(explanation, "html")
    other = attribkit.explain(model, None, "the plot was long but the acting was superb", method="anchors",
                              seed=0, target=0)
    assert other.method.params["rule_for"] == "not negative" and "does not predict 'negative'" in other.warnings[0]


# -- the same on every backend -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """A PyTorch BERT and its TensorFlow twin (equal weights) with a WordPiece tokenizer."""
    if not (HAS_TORCH and HAS_TF):
        pytest.skip("needs both torch and tensorflow")
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from attribkit.backends.tf.runtime import import_tensorflow

    import_tensorflow()
    from transformers import TFBertForSequenceClassification

    folder = tmp_path_factory.mktemp("twins")
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "##ly"]) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), model_max_length=64)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, initializer_range=0.5)
    pt_model = BertForSequenceClassification(config).eval()
    pt_model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return pt_model, TFBertForSequenceClassification.from_pretrained(folder, from_pt=True), tokenizer


TEXTS = ["the movie was good but the plot dull", "a superbly good movie , not boring", "bad"]
PERTURBATION_CASES = [
    ("occlusion", {}), ("occlusion", dict(window=2, granularity="word")), ("feature_ablation", {}),
    ("feature_ablation", dict(replacement="delete")), ("feature_ablation", dict(replacement="mask")),
    ("lime", {}), ("lime", dict(granularity="word", n_samples=100)), ("kernel_shap", {}),
    ("kernel_shap", dict(exact_limit=0, n_samples=64)),
]


def test_word_level_removes_a_words_subword_tokens_together(twins):
    """ "superbly" is two tokens (superb ##ly): at word level both go at once, and the word's score (the
    sum of its tokens') is the drop computed by hand."""
    import torch

    pt_model, _, tokenizer = twins
    text = "a superbly good movie"
    by_word = attribkit.explain(pt_model, tokenizer, text, method="feature_ablation", granularity="word", target=1)
    ids = tokenizer(text, return_tensors="pt").input_ids
    assert tokenizer.convert_ids_to_tokens(ids[0])[2:4] == ["superb", "##ly"]
    without = ids.clone()
    without[0, 2:4] = tokenizer.pad_token_id
    with torch.no_grad():
        p = torch.softmax(pt_model(ids).logits, -1)[0, 1] - torch.softmax(pt_model(without).logits, -1)[0, 1]
    assert by_word.scores[2:4].sum() == pytest.approx(float(p), abs=1e-6)
    assert by_word.scores[2] == by_word.scores[3]  # spread evenly over the word's tokens
    word = [w for w in attribkit.words(by_word) if w.text == "superbly"][0]
    assert word.score == pytest.approx(float(p), abs=1e-6)


@pytest.mark.parametrize("method, options", PERTURBATION_CASES,
                         ids=[f"{m}-{'-'.join(f'{k}={v}' for k, v in o.items())}" for m, o in PERTURBATION_CASES])
def test_perturbation_methods_equal_on_torch_and_tf(twins, method, options):
    pt_model, tf_model, tokenizer = twins
    from_pt = attribkit.explain(pt_model, tokenizer, TEXTS, backend="torch", method=method, seed=5, **options)
    from_tf = attribkit.explain(tf_model, tokenizer, TEXTS, backend="tf", method=method, seed=5, **options)
    largest = max(np.abs(e.scores).max() for e in from_pt)
    assert largest > 1e-3
    for a, b in zip(from_pt, from_tf):
        assert a.tokens == b.tokens and dict(a.method.params) == dict(b.method.params)
        assert np.abs(a.scores - b.scores).max() <= 1e-5 * largest


@pytest.mark.parametrize("method", ["saliency", "input_x_gradient"])
def test_gradient_methods_on_tf_equal_captum_on_torch(twins, method):
    pt_model, tf_model, tokenizer = twins
    from_pt = attribkit.explain(pt_model, tokenizer, TEXTS, backend="torch", method=method)
    for accelerate in (True, False):
        from_tf = attribkit.explain(tf_model, tokenizer, TEXTS, backend="tf", method=method, accelerate=accelerate)
        largest = max(np.abs(e.scores).max() for e in from_pt)
        for a, b in zip(from_pt, from_tf):
            assert np.abs(a.scores - b.scores).max() <= 1e-4 * largest


def test_gradient_shap_on_tf_converges_to_integrated_gradients(twins):
    """Without noise, GradientSHAP averages gradients at uniformly drawn points of the path: a Monte Carlo
    estimate of Integrated Gradients, whose error falls as samples grow."""
    _, tf_model, tokenizer = twins
    ig = attribkit.explain(tf_model, tokenizer, TEXTS[0], backend="tf", n_steps=300, target=0)
    errors = []
    for n_samples in (100, 1600):
        shap = attribkit.explain(tf_model, tokenizer, TEXTS[0], backend="tf", method="gradient_shap", seed=0,
                                 n_samples=n_samples, target=0)
        assert shap.method.params["n_samples"] == n_samples
        errors.append(np.abs(shap.scores - ig.scores).max() / np.abs(ig.scores).max())
    assert errors[1] < errors[0] / 2 and errors[1] < 0.15, errors


# -- the bundled model from the command line ---------------------------------------------------------------------


@pytest.mark.skipif(not HAS_TF, reason="needs the tf backend")
def test_lime_on_the_bundled_model_with_tensorflow_from_the_command_line():
    done = subprocess.run([sys.executable, "-m", "attribkit.cli", "explain", "--framework", "tf", "--method", "lime",
                           "-O", "seed=0", "-O", "n_samples=100", "The movie is superb"],
                          capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "lime" in done.stdout and "superb(" in done.stdout


def test_too_few_samples_for_the_features_is_refused_with_the_minimum(black_box):
    model = black_box(logistic({"superb": 2.0}))
    text = "the plot was not dull but superb"  # 7 words
    for method in ("kernel_shap", "lime"):
        with pytest.raises(attribkit.MethodError, match=f"{method} with 7 features needs at least 8 samples"):
            attribkit.explain(model, None, text, method=method, n_samples=3, exact_limit=0, seed=0) \
                if method == "kernel_shap" else attribkit.explain(model, None, text, method=method, n_samples=3)
    results = attribkit.explain(model, None, [text, "superb"], method="lime", n_samples=3, errors="return")
    assert isinstance(results[0], attribkit.MethodError) and results[1].scores.sum() != 0  # one word: enough


@pytest.mark.parametrize("method, options", [("deeplift", {}), ("gradient_shap", dict(n_samples=8, seed=0)),
                                             ("kernel_shap", dict(n_samples=64, seed=0)),
                                             ("integrated_gradients", dict(n_steps=4))])
def test_every_method_with_a_completeness_notion_says_how_complete_it_is(twins, method, options):
    """The gap is |sum of scores - (F(x) - F(baseline))| computed here from the model's own outputs; a gap
    over 5 % of the difference is a warning that names what to change."""
    import torch

    pt_model, _, tokenizer = twins
    explained = attribkit.explain(pt_model, tokenizer, TEXTS, backend="torch", method=method, target=1, **options)
    for e in explained:
        ids = torch.tensor(e.token_ids)[None]
        baseline = torch.where(torch.tensor(e.special_mask), ids, torch.full_like(ids, tokenizer.pad_token_id))
        with torch.no_grad():
            difference = float(torch.softmax(pt_model(ids).logits, -1)[0, 1]
                               - torch.softmax(pt_model(baseline).logits, -1)[0, 1])
        assert e.output_difference == pytest.approx(difference, abs=1e-5)
        assert e.completeness_gap == pytest.approx(abs(float(e.scores.sum()) - difference), abs=1e-5)
        flagged = [w for w in e.warnings if w.startswith("completeness gap")]
        assert bool(flagged) == (e.completeness_gap > 0.05 * abs(difference))
        if flagged:
            advice = {"deeplift": "prefer integrated_gradients", "gradient_shap": "increase n_samples",
                      "kernel_shap": "increase n_samples", "integrated_gradients": "increase n_steps"}[method]
            assert advice in flagged[0]
    if method == "deeplift":  # attention and layer norm break DeepLIFT's rescale rule on this BERT
        assert any(e.warnings for e in explained)
