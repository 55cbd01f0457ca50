"""attribkit.evaluate: exact metric values on a planted model, the published ERASER formulas computed by hand on
a BERT, the same values on torch and tf, third-party metrics, bad input and the JSON schema."""
from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import attribkit
from attribkit.evaluation import Evaluation, EvaluationError
from attribkit.evaluation.metrics import METRICS
from attribkit.plugins import PluginHost, reset_host

ROOT = Path(__file__).resolve().parents[1]
HAS_TORCH = all(importlib.util.find_spec(m) for m in ("torch", "captum", "transformers"))
HAS_TF = all(importlib.util.find_spec(m) for m in ("tensorflow", "tf_keras", "alibi", "transformers"))
FRACTIONS = (0.01, 0.05, 0.1, 0.2, 0.5)

# -- the planted model: its probability depends only on two known words -------------------------------------------

VOCAB = "the movie was good and great fun plot".split()
IDS = {word: i + 1 for i, word in enumerate(VOCAB)}
WEIGHTS = {"good": 2.0, "great": 3.0}
BIAS = -1.0
TEXT = "the movie was good and great fun"
WORDS = TEXT.split()

#: The built-in metrics (an installed plugin may add more to the default list).
BUILT_IN = [entry[0] for entry in METRICS]


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def p_kept(kept) -> float:
    """The planted model's probability of 'positive' for a text of the words at indices ``kept``."""
    return sigmoid(BIAS + sum(WEIGHTS.get(WORDS[i], 0.0) for i in kept))


def count(fraction: float, n: int) -> int:
    return min(n, max(1, math.ceil(fraction * n)))


def aopc_by_hand(ranking, keep_top: bool) -> float:
    """ERASER (DeYoung et al. 2020): mean over the fractions of p(x) - p(x without / with only the top k)."""
    n, full = len(ranking), p_kept(range(len(WORDS)))
    differences = []
    for fraction in FRACTIONS:
        top = set(ranking[:count(fraction, n)])
        kept = top if keep_top else set(range(n)) - top
        differences.append(full - p_kept(kept))
    return float(np.mean(differences))


def optimum(keep_top: bool) -> float:
    """The best value any explanation can reach: at each fraction, the best subset of that size, by brute force."""
    n, full = len(WORDS), p_kept(range(len(WORDS)))
    best = []
    for fraction in FRACTIONS:
        k = count(fraction, n)
        drops = [full - p_kept(subset if keep_top else set(range(n)) - set(subset))
                 for subset in itertools.combinations(range(n), k)]
        best.append(min(drops) if keep_top else max(drops))
    return float(np.mean(best))


@pytest.fixture(scope="module")
def planted():
    if not HAS_TORCH:
        pytest.skip("needs torch")
    import torch
    from torch import nn

    class Planted(nn.Module):
        """logit = BIAS + the sum of the words' weights: 'good' 2, 'great' 3, every other word 0."""

        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(len(VOCAB) + 1, 1)
            with torch.no_grad():
                self.embedding.weight.zero_()
                for word, weight in WEIGHTS.items():
                    self.embedding.weight[IDS[word], 0] = weight

        def get_input_embeddings(self):
            return self.embedding

        def forward(self, ids, mask):
            return (BIAS + (self.embedding(ids)[..., 0] * mask).sum(-1))[:, None]

    tokenizer = attribkit.WordTokenizer(encode=lambda text: [IDS[w] for w in text.split() if w in IDS],
                                        id_to_word={i: w for w, i in IDS.items()})
    model = Planted()
    made = attribkit.explain(model, tokenizer, TEXT, method="occlusion", target=1)
    return model, tokenizer, made


def with_scores(explanation, scores, method="planted"):
    return dataclasses.replace(explanation, scores=np.asarray(scores, dtype=float),
                               method=attribkit.Method(method, "probability", {}))


def test_an_explanation_of_the_planted_words_scores_the_analytic_optimum_and_a_random_one_worse(planted):
    model, tokenizer, made = planted
    truth = with_scores(made, [WEIGHTS.get(w, 0.0) for w in WORDS], "truth")
    shuffled = np.random.default_rng(3).permutation(len(WORDS)).astype(float) - 3.0  # every score non-zero
    random = with_scores(made, shuffled, "random")
    result = attribkit.evaluate(model, tokenizer, [truth, random],
                                ["comprehensiveness", "sufficiency", "deletion", "insertion", "sign_agreement"])
    random_ranking = list(np.argsort(-shuffled, kind="stable"))
    truth_ranking = [5, 3, 0, 1, 2, 4, 6]  # great, good, then the others in text order

    assert result.value(0, "comprehensiveness") == pytest.approx(optimum(keep_top=False), abs=1e-6)
    assert result.value(0, "sufficiency") == pytest.approx(optimum(keep_top=True), abs=1e-6)
    assert result.value(0, "comprehensiveness") == pytest.approx(aopc_by_hand(truth_ranking, False), abs=1e-6)
    expected_random = aopc_by_hand(random_ranking, keep_top=False), aopc_by_hand(random_ranking, keep_top=True)
    assert result.value(1, "comprehensiveness") == pytest.approx(expected_random[0], abs=1e-6)
    assert result.value(1, "sufficiency") == pytest.approx(expected_random[1], abs=1e-6)
    assert expected_random[0] < optimum(keep_top=False) - 0.05
    assert expected_random[1] > optimum(keep_top=True) + 0.05

    n = len(WORDS)
    for item, ranking in ((0, truth_ranking), (1, random_ranking)):
        deleted = [p_kept(set(range(n)) - set(ranking[:k])) for k in range(n + 1)]
        inserted = [p_kept(ranking[:k]) for k in range(n + 1)]
        assert result.value(item, "deletion") == pytest.approx(np.trapz(deleted, np.arange(n + 1) / n), abs=1e-6)
        assert result.value(item, "insertion") == pytest.approx(np.trapz(inserted, np.arange(n + 1) / n), abs=1e-6)
    assert result.value(0, "deletion") < result.value(1, "deletion")
    assert result.value(0, "insertion") > result.value(1, "insertion")
    # Sign agreement: the two planted words move the probability the way their scores say; the neutral words
    # move nothing, so a random explanation's non-zero scores on them disagree.
    assert result.value(0, "sign_agreement") == 1.0
    effects = [p_kept(range(n)) - p_kept(set(range(n)) - {i}) for i in range(n)]
    assert result.value(1, "sign_agreement") == pytest.approx(
        np.mean([np.sign(s) == (np.sign(e) if abs(e) > 1e-7 else 0) for s, e in zip(shuffled, effects)]))


def test_pad_replacement_and_word_granularity_are_honoured(planted):
    """The planted model gives the pad id weight 0, so padding a word equals deleting it; at word level on a
    word tokenizer the units are the same words."""
    model, tokenizer, made = planted
    truth = with_scores(made, [WEIGHTS.get(w, 0.0) for w in WORDS])
    for options in (dict(replacement="pad"), dict(granularity="word"), dict(fractions=[0.2, 0.5])):
        result = attribkit.evaluate(model, tokenizer, truth, ["comprehensiveness"], **options)
        fractions = options.get("fractions", FRACTIONS)
        n, full = len(WORDS), p_kept(range(len(WORDS)))
        expected = np.mean([full - p_kept(set(range(n)) - set([5, 3, 0, 1, 2, 4, 6][:count(f, n)])) for f in fractions])
        assert result.value(0, "comprehensiveness") == pytest.approx(expected, abs=1e-6)
        assert result.settings["replacement"] == options.get("replacement", "delete")


# -- the published formulas by hand on a BERT, and torch against tf -------------------------------------------------

BERT_WORDS = ("the a movie film plot acting story was is very not and but it this good great superb bad awful "
              "dull boring , .").split()
TEXTS = ["the movie was good but the plot dull", "a superb film , not boring", "bad acting and a very dull story"]
RATIONALES = [["good"], [[2, 6], [13, 16]], ["dull", "bad"]]  # words, or [start, end) character spans


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """A tiny PyTorch BERT and, when TensorFlow is installed, its TensorFlow twin with equal weights."""
    if not HAS_TORCH:
        pytest.skip("needs torch")
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("twins")
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *BERT_WORDS]) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), model_max_length=64)
    torch.manual_seed(1)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, initializer_range=0.5)
    pt_model = BertForSequenceClassification(config).eval()
    tf_model = None
    if HAS_TF:
        from attribkit.backends.tf.runtime import import_tensorflow

        import_tensorflow()
        from transformers import TFBertForSequenceClassification

        pt_model.save_pretrained(folder)
        tf_model = TFBertForSequenceClassification.from_pretrained(folder, from_pt=True)
    explanations = [e for method in ("integrated_gradients", "occlusion")
                    for e in attribkit.explain(pt_model, tokenizer, TEXTS, method=method, n_steps=20)]
    return pt_model, tf_model, tokenizer, explanations


def probability(pt_model, ids, target):
    import torch

    with torch.no_grad():
        return float(torch.softmax(pt_model(torch.tensor([ids])).logits, -1)[0, target])


def eraser_by_hand(pt_model, explanation):
    """Comprehensiveness and sufficiency by the published formulas: tokens deleted from the text, [CLS] and
    [SEP] kept, the model called directly."""
    ids, special, target = list(explanation.token_ids), explanation.special_mask, explanation.target.index
    content = [i for i in range(len(ids)) if not special[i]]
    ranking = sorted(content, key=lambda i: -explanation.scores[i])
    full = probability(pt_model, ids, target)
    comprehensive, sufficient = [], []
    for fraction in FRACTIONS:
        top = set(ranking[:count(fraction, len(content))])
        comprehensive.append(full - probability(pt_model, [t for i, t in enumerate(ids) if i not in top], target))
        sufficient.append(full - probability(pt_model, [t for i, t in enumerate(ids) if special[i] or i in top],
                                             target))
    return np.mean(comprehensive), np.mean(sufficient)


def plausibility_by_hand(explanation, words_or_spans):
    """ERASER's token F1, IOU F1 (partial_match_score at 0.5) and AUPRC, from the definitions."""
    text, offsets, special = explanation.text, explanation.offsets, explanation.special_mask
    if isinstance(words_or_spans[0], str):
        spans = [(m, m + len(w)) for w in words_or_spans for m in
                 [k for k in range(len(text)) if text.startswith(w, k)
                  and (k == 0 or not text[k - 1].isalnum())
                  and (k + len(w) == len(text) or not text[k + len(w)].isalnum())]]
    else:
        spans = [tuple(s) for s in words_or_spans]
    content = [i for i in range(len(offsets)) if not special[i]]
    human = [any(offsets[i][0] < b and offsets[i][1] > a for a, b in spans) for i in content]
    scores = [explanation.scores[i] for i in content]
    k = sum(human)
    chosen = set(sorted(range(len(content)), key=lambda j: -scores[j])[:k])
    predicted = [j in chosen for j in range(len(content))]
    hits = sum(h and p for h, p in zip(human, predicted))
    token_f1 = 0.0 if hits == 0 else 2 * (hits / k) * (hits / k) / (2 * hits / k)

    def spans_of(mask):
        found, start = [], None
        for j, on in enumerate(list(mask) + [False]):
            if on and start is None:
                start = j
            if not on and start is not None:
                found.append(set(range(start, j)))
                start = None
        return found

    truth, guesses = spans_of(human), spans_of(predicted)
    matched = sum(1 for g in guesses if max(len(g & t) / len(g | t) for t in truth) >= 0.5)
    p, r = matched / len(guesses), matched / len(truth)
    iou_f1 = 0.0 if p + r == 0 else 2 * p * r / (p + r)
    # AUPRC: the curve from (recall 0, precision 1) through precision and recall at each distinct score taken
    # as threshold, highest first, until full recall; the trapezoid area along it.
    points = [(0.0, 1.0)]
    for threshold in sorted(set(scores), reverse=True):
        selected = [s >= threshold for s in scores]
        tp = sum(h and s for h, s in zip(human, selected))
        points.append((tp / k, tp / sum(selected)))
        if tp == k:
            break
    auprc = sum((r2 - r1) * (p1 + p2) / 2 for (r1, p1), (r2, p2) in zip(points, points[1:]))
    return token_f1, iou_f1, auprc


def test_eraser_figures_equal_the_published_formulas_computed_by_hand(twins):
    pt_model, _, tokenizer, explanations = twins
    rationales = RATIONALES * 2
    result = attribkit.evaluate(pt_model, tokenizer, explanations,
                                ["comprehensiveness", "sufficiency", "token_f1", "iou_f1", "auprc"],
                                rationales=rationales)
    assert not result.errors and len(result.scores) == 5 * len(explanations)
    for item, explanation in enumerate(explanations):
        comprehensive, sufficient = eraser_by_hand(pt_model, explanation)
        assert result.value(item, "comprehensiveness") == pytest.approx(comprehensive, abs=1e-6)
        assert result.value(item, "sufficiency") == pytest.approx(sufficient, abs=1e-6)
        token_f1, iou_f1, auprc = plausibility_by_hand(explanation, rationales[item])
        assert result.value(item, "token_f1") == pytest.approx(token_f1)
        assert result.value(item, "iou_f1") == pytest.approx(iou_f1)
        assert result.value(item, "auprc") == pytest.approx(auprc)
    assert len({round(result.value(i, "comprehensiveness"), 6) for i in range(len(explanations))}) > 3


def test_rank_correlations_are_scipys_on_the_content_tokens(twins):
    from scipy.stats import kendalltau, spearmanr

    pt_model, _, tokenizer, explanations = twins
    result = attribkit.evaluate(pt_model, tokenizer, explanations, ["spearman", "kendall"])
    n = len(TEXTS)
    for text in range(n):
        a, b = explanations[text], explanations[text + n]  # integrated_gradients and occlusion of one text
        content = ~a.special_mask
        assert result.value(text, "spearman", other=text + n) == pytest.approx(
            spearmanr(a.scores[content], b.scores[content])[0])
        assert result.value(text, "kendall", other=text + n) == pytest.approx(
            kendalltau(a.scores[content], b.scores[content])[0])
    agreement = result.agreement("spearman")
    assert agreement["integrated_gradients", "occlusion"][1] == n


@pytest.mark.skipif(not HAS_TF, reason="needs tensorflow for the twin")
def test_every_metric_gives_the_same_value_on_torch_and_tf(twins):
    pt_model, tf_model, tokenizer, explanations = twins
    results = [attribkit.evaluate(model, tokenizer, explanations, BUILT_IN, rationales=RATIONALES * 2, backend=backend)
               for model, backend in ((pt_model, "torch"), (tf_model, "tf"))]
    assert not results[0].errors and not results[1].errors
    assert len(results[0].metrics) == 11 and len(results[0].scores) == len(results[1].scores)
    compared = 0
    for a, b in zip(results[0].scores, results[1].scores):
        assert (a.item, a.metric, a.other) == (b.item, b.metric, b.other)
        if a.value is None:
            assert b.value is None
            continue
        assert b.value == pytest.approx(a.value, rel=1e-5, abs=1e-7), (a.metric, a.item)
        compared += 1
    assert compared == 5 * 6 + 3 + 3 * 6 + 2 * 3  # completeness only for IG; a pair per text and correlation
    assert {s.metric for s in results[0].scores if s.value is not None and abs(s.value) > 1e-3} >= {
        "comprehensiveness", "sufficiency", "deletion", "insertion", "sign_agreement", "token_f1"}


# -- any backend, any metric ----------------------------------------------------------------------------------


def load_example_plugin():
    """The example plugin's module from this checkout (what `pip install ./plugins/attribkit-example` installs)."""
    path = ROOT / "plugins" / "attribkit-example" / "attribkit_example" / "__init__.py"
    spec = importlib.util.spec_from_file_location("attribkit_example_checkout", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example_host():
    example = load_example_plugin()
    host = PluginHost()
    host.load_builtins()
    host.register(example, "example")
    reset_host(host)
    yield example
    reset_host()


def test_a_third_party_backend_and_metric_work_like_built_ins(example_host):
    """The example plugin's lexicon backend (numpy) runs every built-in metric, and its own metric
    ``top_token_drop`` (registered through the same hook) runs on it: exact values from the logit formula."""
    example = example_host
    weights = {"superb": 2.0, "dull": -1.5, "plot": 0.5}
    model, tokenizer = example.LexiconModel(weights, bias=-0.2), example.WhitespaceTokenizer()
    text = "a superb plot but dull acting"
    explanation = attribkit.explain(model, tokenizer, text, method="occlusion", target=1)
    result = attribkit.evaluate(model, tokenizer, explanation, ["top_token_drop", "comprehensiveness"])
    words = text.split()
    full = sigmoid(-0.2 + sum(weights.get(w, 0) for w in words))
    assert result.value(0, "top_token_drop") == pytest.approx(full - sigmoid(-0.2 - 1.5 + 0.5), abs=1e-9)
    ranking = sorted(range(len(words)), key=lambda i: -explanation.scores[i])
    expected = np.mean([full - sigmoid(-0.2 + sum(weights.get(words[i], 0) for i in range(len(words))
                                                  if i not in ranking[:count(f, len(words))])) for f in FRACTIONS])
    assert result.value(0, "comprehensiveness") == pytest.approx(expected, abs=1e-9)
    assert result.metric("top_token_drop").higher_is_better and result.items[0].backend == "lexicon"


def test_two_plugins_registering_one_metric_name_is_an_error_naming_both():
    class Duplicate:
        @attribkit.hookimpl
        def attribkit_register_metrics(self, register):
            register("comprehensiveness", lambda batch: [], higher_is_better=True)

    host = PluginHost()
    host.load_builtins()
    with pytest.raises(attribkit.PluginError, match="already registered by plugin 'metrics'"):
        host.register(Duplicate(), "duplicate")


def test_a_failing_metric_names_its_plugin_and_costs_only_itself(example_host):
    class Broken:
        @attribkit.hookimpl
        def attribkit_register_metrics(self, register):
            register("broken", lambda batch: 1 / 0, higher_is_better=True)

    attribkit.get_host().register(Broken(), "brokenmetric")
    model, tokenizer = example_host.LexiconModel({"good": 1.0}), example_host.WhitespaceTokenizer()
    explanation = attribkit.explain(model, tokenizer, "a good film", method="occlusion")
    result = attribkit.evaluate(model, tokenizer, explanation, ["broken", "top_token_drop"], errors="return")
    assert [(e.item, e.metric) for e in result.errors] == [(0, "broken")]
    assert "plugin 'brokenmetric'" in result.errors[0].message and "ZeroDivisionError" in result.errors[0].message
    assert result.value(0, "top_token_drop") > 0


# -- bad input -------------------------------------------------------------------------------------------------


def test_bad_items_get_one_clear_error_each_and_the_others_are_kept(planted, twins):
    model, tokenizer, made = planted
    bert_explanation = twins[3][0]  # made with another tokenizer
    good = with_scores(made, [WEIGHTS.get(w, 0.0) for w in WORDS])
    items = [good, bert_explanation, good, good]
    rationales = [["good"], None, [[3, 99]], None]
    with pytest.raises(EvaluationError) as caught:
        attribkit.evaluate(model, tokenizer, items, ["comprehensiveness", "no_such_metric", "token_f1"],
                           rationales=rationales)
    result = caught.value.evaluation
    problems = {(p.item, p.metric): p.message for p in result.errors}
    assert set(problems) == {(None, "no_such_metric"), (1, None), (2, None)}
    assert "unknown metric 'no_such_metric'" in problems[None, "no_such_metric"]
    assert "comprehensiveness" in problems[None, "no_such_metric"]  # the available ones are listed
    assert "do not match this model's tokenizer" in problems[1, None] and "token 0" in problems[1, None]
    assert "rationale span [3, 99] is outside the text" in problems[2, None]
    assert "item 2" in str(caught.value) and "item 1" in str(caught.value)
    kept = {(s.item, s.metric) for s in result.scores}
    assert kept == {(0, "comprehensiveness"), (0, "token_f1"), (3, "comprehensiveness")}
    assert result.value(0, "comprehensiveness") == pytest.approx(optimum(keep_top=False), abs=1e-6)
    assert result.value(0, "token_f1") == 0.0  # 'great' ranks first, the rationale says 'good'


def test_bad_arguments_are_refused_before_any_work(planted):
    model, tokenizer, made = planted
    with pytest.raises(attribkit.InputError, match="fractions must be a non-empty list"):
        attribkit.evaluate(model, tokenizer, made, fractions=[0.2, 2])
    with pytest.raises(attribkit.InputError, match="unknown option"):
        attribkit.evaluate(model, tokenizer, made, fraction=0.2)
    with pytest.raises(attribkit.InputError, match="one per explanation"):
        attribkit.evaluate(model, tokenizer, [made, made], rationales=[["good"]])
    result = attribkit.evaluate(model, tokenizer, made, ["token_f1"], errors="return")
    assert "needs human rationales" in result.errors[0].message and not result.scores


# -- the result as JSON -----------------------------------------------------------------------------------------


def test_the_result_round_trips_through_json_and_the_schema(planted):
    model, tokenizer, made = planted
    result = attribkit.evaluate(model, tokenizer, [made, made], BUILT_IN, rationales=[["great"], None])
    data = json.loads(result.to_json())
    assert data["schema_version"] == "1.0" and data["settings"]["replacement"] == "delete"
    again = Evaluation.from_json(result.to_json())
    assert again.to_dict() == result.to_dict()
    assert [s.metric for s in again.scores if s.item == 1] == [
        "comprehensiveness", "sufficiency", "deletion", "insertion", "sign_agreement", "completeness_gap"]
    assert again.value(0, "token_f1") == 1.0
    assert again.value(0, "spearman", other=1) == pytest.approx(1.0)
    for broken, message in (({**data, "schema_version": "2.0"}, "upgrade attribkit"),
                            ({**data, "scores": [{"item": 0, "metric": "x"}]}, "invalid evaluation at scores/0"),
                            ({**data, "scores": [{"item": 9, "metric": "deletion", "value": 1.0}]}, "not one of")):
        with pytest.raises(attribkit.SchemaError, match=message):
            Evaluation.from_dict(broken)
