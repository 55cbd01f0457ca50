"""The PyTorch backend (Captum): equality with raw Captum, completeness, batching, reliability.

Every model is built from a config (no downloads) with ``initializer_range``
0.5, so attributions are large enough for comparisons to mean something;
the completeness tests use a model trained here and the project's demo model.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torch backend needs torch")
pytest.importorskip("captum", reason="the torch backend needs captum")
transformers = pytest.importorskip("transformers", reason="the torch backend tests build Hugging Face models")

from captum.attr import IntegratedGradients, LayerIntegratedGradients  # noqa: E402
from torch import nn  # noqa: E402

import attribkit  # noqa: E402
from attribkit import BatchError, Explanation, InputError, ModelError, TargetError, TokenizerError  # noqa: E402
from attribkit import MethodResult, Option  # noqa: E402
from attribkit.plugins import PluginHost, get_host, reset_host  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO_MODEL = ROOT / "tests" / "data" / "tiny_sentiment"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POSITIVE = ["good", "great", "superb", "excellent", "wonderful", "loved"]
NEGATIVE = ["bad", "awful", "terrible", "boring", "dull", "hated"]
NEUTRAL = ["the", "a", "movie", "film", "plot", "acting", "was", "is", "very", "and", "it", "this", "i", "story"]
WORDS = POSITIVE + NEGATIVE + NEUTRAL + [",", ".", "!"]
TEXT = "the movie was very good but the plot is dull"
ARCHITECTURES = {
    "distilbert": (transformers.DistilBertConfig, transformers.DistilBertForSequenceClassification,
                   dict(dim=32, n_layers=2, n_heads=2, hidden_dim=64)),
    "roberta": (transformers.RobertaConfig, transformers.RobertaForSequenceClassification,
                dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                     pad_token_id=0, max_position_embeddings=66)),
    "albert": (transformers.AlbertConfig, transformers.AlbertForSequenceClassification,
               dict(embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, pad_token_id=0)),
    "electra": (transformers.ElectraConfig, transformers.ElectraForSequenceClassification,
                dict(embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, pad_token_id=0)),
}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread; two threads on a busy 2-core machine are many times slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def texts_of_lengths(lengths, seed=0):
    """Sentences of the given numbers of words, drawn from the vocabulary."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS[:-3], size=n)) for n in lengths]


def relative_error(actual, expected):
    """``max |actual - expected|`` relative to the largest ``|expected|``."""
    expected = np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(np.asarray(actual) - expected)) / np.max(np.abs(expected)))


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory):
    """A word-level BERT WordPiece tokenizer over the test vocabulary (ids 0..4 are special)."""
    vocab = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    vocab.write_text("\n".join(SPECIALS + WORDS) + "\n", encoding="utf-8")
    return transformers.BertTokenizerFast(vocab_file=str(vocab), model_max_length=512)


def build(config_class, model_class, tokenizer, seed=0, **overrides):
    """A randomly initialised classifier in eval mode (``initializer_range`` 0.5)."""
    fields = dict(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=64, max_position_embeddings=64, initializer_range=0.5)
    fields.update(overrides)
    torch.manual_seed(seed)
    return model_class(config_class(**fields)).eval()


@pytest.fixture(scope="session")
def bert(tokenizer):
    return build(transformers.BertConfig, transformers.BertForSequenceClassification, tokenizer,
                 id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1})


class BertClassifier(nn.Module):
    """The Captum BERT tutorial's hand-built classifier: a BERT encoder, a linear layer, a final activation."""

    def __init__(self, bert, n_outputs, final):
        super().__init__()
        self.bert = bert
        self.dropout = nn.Dropout(0.5)
        self.linear = nn.Linear(bert.config.hidden_size, n_outputs)
        self.final = final

    def forward(self, input_id, mask=None):
        _, pooled_output = self.bert(input_ids=input_id, attention_mask=mask, return_dict=False)
        return self.final(self.linear(self.dropout(pooled_output)))


def make_classifier(tokenizer, final):
    """The tutorial's single-output sigmoid classifier (``"sigmoid"``) or its two-output ReLU one (``"relu"``)."""
    torch.manual_seed(1)
    encoder = transformers.BertModel(transformers.BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, initializer_range=0.5))
    if final == "sigmoid":
        return BertClassifier(encoder, 1, nn.Sigmoid()).eval()
    model = BertClassifier(encoder, 2, nn.ReLU())
    with torch.no_grad():
        model.linear.bias.fill_(2.0)  # keep the ReLU active so gradients are not zero
    return model.eval()


@pytest.fixture(scope="session", params=["sigmoid", "relu"])
def classifier(request, tokenizer):
    return make_classifier(tokenizer, request.param)


def train_tiny_sentiment_model(tokenizer):
    """Train a 2-layer BERT on templated reviews for about a second.

    Reviews without a sentiment word are trained towards 50/50, so the pad
    baseline is neutral and ``F(x) - F(baseline)`` is large for every review.
    """
    model = build(transformers.BertConfig, transformers.BertForSequenceClassification, tokenizer, seed=3,
                  initializer_range=0.02, id2label={0: "negative", 1: "positive"},
                  label2id={"negative": 0, "positive": 1})
    soft_labels = {0: [1.0, 0.0], 1: [0.0, 1.0], 2: [0.5, 0.5]}  # negative, positive, neutral
    rng = np.random.default_rng(3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(100):
        kinds = rng.integers(0, 3, size=32)
        texts = [" ".join(list(rng.choice(NEUTRAL, size=rng.integers(2, 8)))
                          + ([rng.choice((NEGATIVE, POSITIVE)[kind])] if kind < 2 else [])) for kind in kinds]
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        loss = nn.functional.cross_entropy(model(**batch).logits, torch.tensor([soft_labels[k] for k in kinds]))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return model.eval()


@pytest.fixture(scope="session")
def trained(tokenizer):
    return train_tiny_sentiment_model(tokenizer)


@pytest.fixture(scope="session")
def demo():
    """``(model, tokenizer)`` of the project's demo model."""
    if not (DEMO_MODEL / "config.json").is_file():
        pytest.skip("the tiny model is not in tests/data/tiny_sentiment")
    model = transformers.BertForSequenceClassification.from_pretrained(DEMO_MODEL, local_files_only=True)
    return model.eval(), transformers.AutoTokenizer.from_pretrained(DEMO_MODEL, local_files_only=True)


def pad_baseline_ids(tokenizer, text):
    """The tutorial's ``construct_input_and_baseline``: ids and [CLS] [PAD]... [SEP]."""
    input_ids = tokenizer(text, return_tensors="pt").input_ids
    baseline = input_ids.clone()
    baseline[0, 1:-1] = tokenizer.pad_token_id
    return input_ids, baseline


# -- plugin ------------------------------------------------------------------------


def run_python(code, **env):
    environment = {**os.environ, "USE_TF": "0", **env}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_plugin_loads_without_importing_torch():
    out = run_python(
        "import sys, attribkit\n"
        "from attribkit.errors import ModelError\n"
        "host = attribkit.get_host()\n"
        "import attribkit.backends.torch as plugin\n"
        "assert plugin.attribkit_backend_for_model(object()) is None\n"
        "try:\n    host.backend_name_for(object())\nexcept ModelError:\n    pass\n"
        "print(host.records['torch'].status, sorted(m for b, m in host.methods if b == 'torch'))\n"
        "print([name for name in ('torch', 'captum', 'transformers') if name in sys.modules])\n",
        ATTRIBKIT_PLUGINS="torch,checks",
    )
    status, imported = out.strip().splitlines()
    assert status.startswith("ok") and "integrated_gradients" in status and "kernel_shap" in status
    assert imported == "[]"


def test_plugin_without_torch_installed_is_listed_unavailable():
    out = run_python(
        "import sys\n"
        "for name in ('torch', 'captum', 'transformers'):\n    sys.modules[name] = None\n"
        "import attribkit\n"
        "record = attribkit.get_host().records['torch']\n"
        "print(record.status, '|', record.reason, '|', record.licence)\n",
        ATTRIBKIT_PLUGINS="torch",
    )
    assert out.startswith("unavailable") and 'pip install "attribkit[torch]"' in out and "BSD-3-Clause" in out


def test_torch_models_are_recognised(bert, classifier):
    host = get_host()
    assert host.backend_name_for(bert) == "torch"
    assert host.backend_name_for(classifier) == "torch"


# -- equality with raw Captum ----------------------------------------------------------


@pytest.mark.parametrize("target", [0, 1])
def test_hugging_face_bert_equals_raw_captum(bert, tokenizer, target):
    input_ids, baseline = pad_baseline_ids(tokenizer, TEXT)
    lig = LayerIntegratedGradients(lambda ids: torch.softmax(bert(ids).logits, dim=-1), bert.bert.embeddings)
    expected = lig.attribute(input_ids, baseline, target=target, n_steps=50).sum(-1)[0].detach().numpy()

    explanation = attribkit.explain(bert, tokenizer, TEXT, target=target)

    assert explanation.tokens == tuple(tokenizer.convert_ids_to_tokens(input_ids[0]))
    assert relative_error(explanation.scores, expected) < 1e-5
    assert explanation.method.params["layer"] == "bert.embeddings"
    assert explanation.method.params["integration"] == "gausslegendre"
    assert explanation.model.framework == "torch" and explanation.model.architecture == "BertForSequenceClassification"
    assert explanation.prediction.labels == ("negative", "positive")


def test_a_transformers_pipeline_is_refused_with_the_call_that_works(demo):
    """Hugging Face users often hold a ``pipeline("text-classification")``: the error says to pass its model and
    tokenizer, and that call explains as the model itself does."""
    model, tokenizer = demo
    pipe = transformers.pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu")
    with pytest.raises(ModelError, match=r"TextClassificationPipeline is not a model but holds one.*"
                                         r"attribkit.explain\(pipe.model, pipe.tokenizer, texts\)"):
        attribkit.explain(pipe, pipe.tokenizer, "superb film", n_steps=8)
    advised = attribkit.explain(pipe.model, pipe.tokenizer, "superb film", n_steps=8)
    assert advised == attribkit.explain(model, tokenizer, "superb film", n_steps=8)


def test_hand_built_classifier_equals_raw_captum(classifier, tokenizer):
    input_ids, baseline = pad_baseline_ids(tokenizer, TEXT)
    single_output = isinstance(classifier.final, nn.Sigmoid)
    if single_output:  # the sigmoid output is p of the positive class
        forward, captum_target, target = (lambda ids: classifier(ids)), 0, 1
    else:  # two ReLU outputs, explained as softmax probabilities
        forward, captum_target, target = (lambda ids: torch.softmax(classifier(ids), dim=-1)), 1, 1
    lig = LayerIntegratedGradients(forward, classifier.bert.embeddings)
    expected = lig.attribute(input_ids, baseline, target=captum_target, n_steps=50).sum(-1)[0].detach().numpy()

    explanation = attribkit.explain(classifier, tokenizer, TEXT, target=target, layer="bert.embeddings")
    automatic = attribkit.explain(classifier, tokenizer, TEXT, target=target)

    assert relative_error(explanation.scores, expected) < 1e-5
    np.testing.assert_array_equal(automatic.scores, explanation.scores)
    assert automatic.method.params["layer"] == "bert.embeddings"
    with torch.no_grad():
        raw = classifier(input_ids)[0].numpy()
    if single_output:  # a sigmoid model is not squashed twice
        assert explanation.prediction.labels == ("negative", "positive")
        np.testing.assert_allclose(explanation.prediction.probabilities, [1 - raw[0], raw[0]], rtol=1e-6)
    else:
        np.testing.assert_allclose(explanation.prediction.raw, raw, rtol=1e-6)


def test_the_relu_tutorials_exact_call_is_output_sum(tokenizer):
    """Seeds 001/004 call LayerIntegratedGradients on ``model(inputs)[0]`` with no target and
    ``internal_batch_size=1``: Captum differentiates the sum of both ReLU outputs."""
    model = make_classifier(tokenizer, "relu")
    texts = [TEXT, "a dull plot , awful acting"]

    def model_output(inputs):  # the tutorial's own lines
        return model(inputs)[0]

    lig = LayerIntegratedGradients(model_output, model.bert.embeddings)
    for text, explanation in zip(texts, attribkit.explain(model, tokenizer, texts, output="sum")):
        input_ids, baseline = pad_baseline_ids(tokenizer, text)
        attributions, _ = lig.attribute(inputs=input_ids, baselines=baseline, return_convergence_delta=True,
                                        internal_batch_size=1)
        assert relative_error(explanation.scores, attributions.sum(-1)[0].detach().numpy()) < 1e-5
        with torch.no_grad():
            raw = model(input_ids)[0].numpy()
            raw_baseline = model(baseline)[0].numpy()
        assert explanation.output_difference == pytest.approx(float(raw.sum() - raw_baseline.sum()), rel=1e-5)
        # the prediction is the model's, not the explained sum: its class is the tutorial's argmax
        np.testing.assert_allclose(explanation.prediction.raw, raw, rtol=1e-6)
        assert explanation.prediction.index == int(np.argmax(raw)) == explanation.target.index
        assert explanation.method.output == "sum"
    # whatever the target, the sum is explained
    other = attribkit.explain(model, tokenizer, TEXT, output="sum", target=0)
    np.testing.assert_allclose(other.scores, attribkit.explain(model, tokenizer, TEXT, output="sum").scores)


def test_a_softmax_inside_forward_is_seen_in_the_outputs(tokenizer):
    relu = make_classifier(tokenizer, "relu")

    class Wrapped(nn.Module):  # a softmax in forward, not a layer: only the outputs tell
        def __init__(self):
            super().__init__()
            self.inner = relu

        def forward(self, input_ids, mask=None):
            return torch.softmax(self.inner(input_ids, mask), dim=-1)

    wrapped = Wrapped().eval()
    input_ids, baseline = pad_baseline_ids(tokenizer, TEXT)
    lig = LayerIntegratedGradients(lambda ids: wrapped(ids), relu.bert.embeddings)
    expected = lig.attribute(input_ids, baseline, target=1, n_steps=50).sum(-1)[0].detach().numpy()
    explanation = attribkit.explain(wrapped, tokenizer, TEXT, target=1)
    assert relative_error(explanation.scores, expected) < 1e-5
    with torch.no_grad():
        np.testing.assert_allclose(explanation.prediction.probabilities, wrapped(input_ids)[0].numpy(), rtol=1e-6)
    # the same model read as logits is squashed twice: different scores, and the user can force it
    forced = attribkit.explain(wrapped, tokenizer, TEXT, target=1, model_returns="logits")
    assert relative_error(forced.scores, expected) > 1e-2
    # a ReLU head's outputs do not sum to 1: they are logits, softmaxed for the prediction
    plain = attribkit.explain(relu, tokenizer, TEXT)
    with torch.no_grad():
        np.testing.assert_allclose(plain.prediction.probabilities, torch.softmax(relu(input_ids), -1)[0].numpy(),
                                   rtol=1e-6)


def test_pad_all_special_keeps_unknown_words_as_captum_does_with_such_a_baseline(bert, tokenizer):
    text = "the zyzzyva movie was good"  # an unknown word: [UNK]
    input_ids = tokenizer(text, return_tensors="pt").input_ids
    assert tokenizer.unk_token_id in input_ids[0].tolist()
    keep = torch.isin(input_ids, torch.tensor(tokenizer.all_special_ids))
    baseline = torch.where(keep, input_ids, torch.tensor(tokenizer.pad_token_id))
    lig = LayerIntegratedGradients(lambda ids: torch.softmax(bert(ids).logits, dim=-1), bert.bert.embeddings)
    expected = lig.attribute(input_ids, baseline, target=1, n_steps=50).sum(-1)[0].detach().numpy()
    explanation = attribkit.explain(bert, tokenizer, text, target=1, baseline="pad_all_special")
    assert relative_error(explanation.scores, expected) < 1e-5
    assert explanation.method.params["baseline"] == "pad_all_special"
    assert relative_error(attribkit.explain(bert, tokenizer, text, target=1).scores, expected) > 1e-3


def test_single_output_class_zero_is_one_minus_p(tokenizer):
    model = make_classifier(tokenizer, "sigmoid")
    input_ids, baseline = pad_baseline_ids(tokenizer, TEXT)
    lig = LayerIntegratedGradients(lambda ids: 1 - model(ids), model.bert.embeddings)
    expected = lig.attribute(input_ids, baseline, target=0, n_steps=50).sum(-1)[0].detach().numpy()
    explanation = attribkit.explain(model, tokenizer, TEXT, target="negative")
    assert explanation.target.index == 0
    assert relative_error(explanation.scores, expected) < 1e-5


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_other_architectures_find_the_embeddings_and_complete(architecture, tokenizer):
    config_class, model_class, fields = ARCHITECTURES[architecture]
    # At initializer_range 0.5 these random models are too rough for 50 steps; 0.2 still gives scores ~0.1.
    model = build(config_class, model_class, tokenizer, initializer_range=0.2, **fields)
    input_ids, baseline = pad_baseline_ids(tokenizer, TEXT)
    layer = model.base_model.embeddings
    lig = LayerIntegratedGradients(lambda ids: torch.softmax(model(ids).logits, dim=-1), layer)
    expected = lig.attribute(input_ids, baseline, target=1, n_steps=50).sum(-1)[0].detach().numpy()

    explanation = attribkit.explain(model, tokenizer, TEXT, target=1, output="probability")

    assert explanation.method.params["layer"] == f"{model.base_model_prefix}.embeddings"
    assert relative_error(explanation.scores, expected) < 1e-5
    assert explanation.relative_completeness_gap < 0.01


# -- completeness ---------------------------------------------------------------------


@pytest.mark.parametrize("output", ["probability", "logit"])
def test_completeness_on_a_trained_model(trained, tokenizer, output):
    texts = ["the movie was very good", "the plot is boring and the acting was bad", "i loved this film",
             "a dull story", "it was great"]
    for explanation in attribkit.explain(trained, tokenizer, texts, output=output):
        gap = abs(explanation.scores.sum() - explanation.output_difference)
        assert explanation.completeness_gap == pytest.approx(gap, abs=1e-9)
        assert abs(explanation.output_difference) > 0.3
        assert explanation.relative_completeness_gap < 0.01, explanation.text
        assert not any("completeness" in warning for warning in explanation.warnings)


def test_trained_model_puts_sentiment_words_first(trained, tokenizer):
    explanation = attribkit.explain(trained, tokenizer, "the plot was very good")
    assert explanation.prediction.label == "positive"
    assert attribkit.top_k(explanation, 1, by="positive")[0].token == "good"


@pytest.mark.parametrize("output", ["probability", "logit"])
def test_demo_model_completes_and_reports_its_gap(demo, output):
    model, tokenizer = demo
    texts = ["The movie is superb", "Honestly, the plot was not good at all", "i loved this film"]
    for coarse, fine in zip(attribkit.explain(model, tokenizer, texts, output=output),
                            attribkit.explain(model, tokenizer, texts, output=output, n_steps=500)):
        assert fine.relative_completeness_gap < 0.01, fine.text
        flagged = any("completeness gap" in warning for warning in coarse.warnings)
        assert flagged == (coarse.relative_completeness_gap > 0.05), coarse.text
    superb = attribkit.explain(model, tokenizer, texts[0], output=output, n_steps=500)
    assert attribkit.top_k(superb, 1, by="positive")[0].token == "superb"


def test_output_difference_is_f_of_input_minus_f_of_baseline(bert, tokenizer):
    input_ids, baseline = pad_baseline_ids(tokenizer, TEXT)
    with torch.no_grad():
        at_input, at_baseline = bert(input_ids).logits[0, 1], bert(baseline).logits[0, 1]
    explanation = attribkit.explain(bert, tokenizer, TEXT, target=1, output="logit")
    assert explanation.output_difference == pytest.approx(float(at_input - at_baseline), rel=1e-5)
    assert explanation.convergence_delta == pytest.approx(explanation.scores.sum() - explanation.output_difference,
                                                          abs=1e-5)


# -- batches --------------------------------------------------------------------------


def test_batch_of_sixteen_equals_one_by_one(bert, tokenizer):
    texts = texts_of_lengths([1, 3, 30, 7, 12, 2, 18, 5, 25, 9, 4, 15, 6, 21, 11, 8])
    batched = attribkit.explain(bert, tokenizer, texts)
    chunked = attribkit.explain(bert, tokenizer, texts, batch_size=5, internal_batch_size=40)
    for text, together, small in zip(texts, batched, chunked):
        alone = attribkit.explain(bert, tokenizer, text)
        assert together.tokens == alone.tokens and together.target == alone.target
        np.testing.assert_allclose(together.scores, alone.scores, rtol=0, atol=1e-5)
        np.testing.assert_allclose(small.scores, alone.scores, rtol=0, atol=1e-5)
        np.testing.assert_allclose(together.prediction.probabilities, alone.prediction.probabilities, atol=1e-6)


def test_texts_of_mixed_lengths_come_back_in_input_order(bert, tokenizer):
    texts = texts_of_lengths([20, 2, 20, 3, 19, 2, 20])  # 22, 4, 22, 5, 21, 4, 22 tokens
    batched = attribkit.explain(bert, tokenizer, texts, internal_batch_size=2)  # at most 2 texts per group
    for text, together in zip(texts, batched):
        alone = attribkit.explain(bert, tokenizer, text, internal_batch_size=2)
        assert together.text == text and together.tokens == alone.tokens
        np.testing.assert_allclose(together.scores, alone.scores, rtol=0, atol=1e-5)


def test_internal_batch_size_follows_the_memory_budget(bert, tokenizer):
    from attribkit.pipeline import Budget, ModelSize
    from attribkit.pipeline.planner import rows_per_pass

    roomy = attribkit.explain(bert, tokenizer, TEXT)
    tight = attribkit.explain(bert, tokenizer, TEXT, memory_budget_mb=0.5)
    forced = attribkit.explain(bert, tokenizer, TEXT, internal_batch_size=7)
    assert forced.method.params["internal_batch_size"] == 7 and "internal_batch_size" not in roomy.method.params
    np.testing.assert_allclose(tight.scores, roomy.scores, atol=1e-6)
    np.testing.assert_allclose(forced.scores, roomy.scores, atol=1e-6)
    size = ModelSize.from_config(bert.config)
    n = len(roomy.tokens)
    assert rows_per_pass(size, n, 1, Budget(passes=50, memory_bytes=128 * 2**20)) == 50  # one pass holds all
    assert 1 <= rows_per_pass(size, n, 1, Budget(passes=50, memory_bytes=0.5 * 2**20)) < 50


def test_targets_by_index_and_by_label_name(bert, tokenizer):
    texts = [TEXT, "a dull film"]
    by_index = attribkit.explain(bert, tokenizer, texts, target=[1, 0])
    by_name = attribkit.explain(bert, tokenizer, texts, target=["positive", "NEGATIVE"])
    assert [e.target.label for e in by_index] == ["positive", "negative"]
    for a, b in zip(by_index, by_name):
        assert a.target == b.target
        np.testing.assert_array_equal(a.scores, b.scores)
    predicted = attribkit.explain(bert, tokenizer, TEXT)
    assert predicted.target.index == predicted.prediction.index


def test_a_bad_target_fails_only_its_own_text(bert, tokenizer):
    texts = [TEXT, "a dull film", "the acting was great", "i hated it"]
    results = attribkit.explain(bert, tokenizer, texts, target=[1, 7, "neutral", 0], errors="return")
    assert isinstance(results[0], Explanation) and isinstance(results[3], Explanation)
    assert isinstance(results[1], TargetError) and "out of range" in str(results[1])
    assert isinstance(results[2], TargetError) and "'neutral'" in str(results[2])
    with pytest.raises(BatchError) as caught:
        attribkit.explain(bert, tokenizer, texts, target=[1, 7, "neutral", 0])
    assert [type(r).__name__ for r in caught.value.results] == ["Explanation", "NoneType", "NoneType", "Explanation"]
    np.testing.assert_array_equal(caught.value.results[0].scores, results[0].scores)


# -- methods --------------------------------------------------------------------------


def torch_methods():
    """The methods giving scores on torch (anchors give a rule, tested in test_methods.py)."""
    return [name for name in get_host().method_names("torch") if name != "anchors"]


def test_every_builtin_method_is_registered():
    host = get_host()
    assert set(torch_methods()) >= {"integrated_gradients", "saliency", "input_x_gradient", "deeplift",
                                    "gradient_shap", "occlusion", "feature_ablation", "lime", "kernel_shap",
                                    "captum_occlusion", "captum_feature_ablation", "captum_lime",
                                    "captum_kernel_shap"}
    # the default perturbation names are the ones written for every backend; Captum's keep Captum's names
    assert {host.method("torch", name).backend for name in ("occlusion", "lime", "kernel_shap")} == {"*"}
    assert host.method("torch", "saliency").backend == "torch"


@pytest.mark.parametrize("method", torch_methods())
@pytest.mark.parametrize("baseline", ["pad", "zero"])
def test_every_method_runs_and_returns_finite_scores(method, baseline, bert, tokenizer):
    texts = [TEXT, "good", "the acting was great , i loved it"]
    options = dict(method=method, baseline=baseline, seed=0, n_steps=20)
    if baseline == "zero" and "replacement" in {o.name for o in get_host().method("torch", method).options}:
        with pytest.raises(attribkit.MethodError, match="replacement='baseline' needs a token baseline"):
            attribkit.explain(bert, tokenizer, texts, **options)
        options["replacement"] = "pad"  # perturbation methods replace token ids, not vectors
    results = attribkit.explain(bert, tokenizer, texts, **options)
    for text, explanation in zip(texts, results):
        assert len(explanation.scores) == len(tokenizer(text).input_ids)
        assert np.all(np.isfinite(explanation.scores)) and np.any(explanation.scores != 0)
        assert explanation.method.name == method and explanation.method.params["baseline"] == baseline


@pytest.mark.parametrize("method", [name for name in torch_methods() if get_host().method("torch", name).sampling])
def test_sampling_methods_are_deterministic_with_a_seed(method, bert, tokenizer):
    texts = [TEXT, "the acting was great , i loved it"]
    sampled = {"exact_limit": 0} if method == "kernel_shap" else {}  # short texts get exact Shapley values
    first = attribkit.explain(bert, tokenizer, texts, method=method, seed=7, **sampled)
    again = attribkit.explain(bert, tokenizer, texts, method=method, seed=7, **sampled)
    alone = attribkit.explain(bert, tokenizer, texts[1], method=method, seed=7, **sampled)
    other = attribkit.explain(bert, tokenizer, texts, method=method, seed=8, **sampled)
    np.testing.assert_array_equal(first[0].scores, again[0].scores)
    np.testing.assert_allclose(first[1].scores, alone.scores, atol=1e-6)
    assert not np.allclose(first[0].scores, other[0].scores)
    assert first[0].method.params["seed"] == 7
    assert isinstance(attribkit.explain(bert, tokenizer, TEXT, method=method).method.params["seed"], int)


def test_zero_baseline_equals_integrated_gradients_on_the_embeddings(bert, tokenizer):
    input_ids = tokenizer(TEXT, return_tensors="pt").input_ids
    with torch.no_grad():
        embeddings = bert.bert.embeddings(input_ids)

    def forward(inputs):
        handle = bert.bert.embeddings.register_forward_hook(lambda module, args, output: inputs)
        try:
            return torch.softmax(bert(input_ids.expand(inputs.shape[0], -1)).logits, dim=-1)
        finally:
            handle.remove()

    expected = IntegratedGradients(forward).attribute(embeddings, torch.zeros_like(embeddings), target=1, n_steps=50)
    explanation = attribkit.explain(bert, tokenizer, TEXT, baseline="zero", target=1)
    assert relative_error(explanation.scores, expected.sum(-1)[0].detach().numpy()) < 1e-5
    assert explanation.method.params["baseline"] == "zero" and explanation.completeness_gap is not None


def test_token_and_id_baselines(bert, tokenizer):
    mask_id = tokenizer.mask_token_id
    input_ids = tokenizer(TEXT).input_ids
    ids = [input_ids[0]] + [mask_id] * (len(input_ids) - 2) + [input_ids[-1]]
    by_token = attribkit.explain(bert, tokenizer, TEXT, baseline=mask_id, target=1)
    by_ids = attribkit.explain(bert, tokenizer, TEXT, baseline=ids, target=1)
    np.testing.assert_allclose(by_token.scores, by_ids.scores, atol=1e-7)
    assert by_token.method.params["baseline"] == f"token {mask_id}" and by_ids.method.params["baseline"] == "ids"
    wrong_length = attribkit.explain(bert, tokenizer, [TEXT, "good"], baseline=ids, errors="return")
    assert isinstance(wrong_length[0], Explanation) and isinstance(wrong_length[1], InputError)


def test_integration_rule_and_per_dimension_attributions(bert, tokenizer):
    explanation = attribkit.explain(bert, tokenizer, TEXT, integration="riemann_trapezoid", n_steps=30,
                                    return_attributions=True)
    assert explanation.method.params["integration"] == "riemann_trapezoid"
    assert explanation.attributions.shape == (len(explanation), bert.config.hidden_size)
    np.testing.assert_allclose(explanation.attributions.sum(axis=1), explanation.scores, atol=1e-6)
    assert attribkit.explain(bert, tokenizer, TEXT).attributions is None
    with pytest.raises(InputError, match="integration"):
        attribkit.explain(bert, tokenizer, TEXT, integration="simpson")


def test_asking_a_token_level_method_for_per_dimension_attributions_says_it_has_none(bert, tokenizer):
    """Occlusion scores whole tokens: ``return_attributions=True`` cannot be honoured, and the explanation says
    so (the scores are computed and kept) instead of leaving ``attributions`` silently ``None``."""
    explanation = attribkit.explain(bert, tokenizer, TEXT, method="occlusion", return_attributions=True)
    assert explanation.attributions is None and len(explanation.scores) == len(explanation)
    assert any("gives token scores only" in warning for warning in explanation.warnings), explanation.warnings
    plain = attribkit.explain(bert, tokenizer, TEXT, method="occlusion")
    assert not any("token scores only" in warning for warning in plain.warnings)
    gradients = attribkit.explain(bert, tokenizer, TEXT, method="saliency", return_attributions=True)
    assert gradients.attributions is not None and not any("token scores only" in w for w in gradients.warnings)


def test_unknown_option_is_rejected_with_the_valid_ones(bert, tokenizer):
    with pytest.raises(InputError, match="n_sample") as caught:
        attribkit.explain(bert, tokenizer, TEXT, method="lime", n_sample=10)
    assert "'n_samples'" in str(caught.value) and "'memory_budget_mb'" in str(caught.value)


def test_a_plugin_can_add_a_method_to_the_torch_backend(bert, tokenizer, monkeypatch):
    def gradient_power(task):
        adapter = task.adapter
        values = adapter.tensor(adapter.layer_outputs(task.input_ids, task.attention_mask)).requires_grad_()
        outputs = adapter.layer_forward(task.form)(values, adapter.tensor(task.input_ids),
                                                   adapter.tensor(task.attention_mask))
        chosen = outputs.gather(1, torch.tensor(task.targets).unsqueeze(1)).sum()
        gradients = torch.autograd.grad(chosen, values)[0]
        return MethodResult(scores=gradients.norm(dim=-1).numpy() ** task.options["power"])

    class Plugin:
        @attribkit.hookimpl
        def attribkit_register_methods(self, register):
            register("gradient_norm", "torch", gradient_power, description="gradient norm per token",
                     options=[Option("power", 1, "exponent", "int", minimum=1)])

    host = PluginHost()
    host.load_entry_points()
    host.register(Plugin(), "gradient-norm")
    monkeypatch.setattr("attribkit.plugins._host", host)
    try:
        explanation = attribkit.explain(bert, tokenizer, TEXT, method="gradient_norm", power=2)
    finally:
        reset_host()
    assert explanation.method.name == "gradient_norm" and np.all(explanation.scores > 0)


# -- hand-built models -------------------------------------------------------------------


def test_hand_built_model_options(classifier, tokenizer):
    def call(model, input_ids, attention_mask):
        return model(input_ids, mask=attention_mask)

    reference = attribkit.explain(classifier, tokenizer, TEXT, target=1)
    with_module = attribkit.explain(classifier, tokenizer, TEXT, target=1, layer=classifier.bert.embeddings,
                                    forward=call, labels=["bad", "good"])
    np.testing.assert_array_equal(with_module.scores, reference.scores)
    assert with_module.target.label == "good"
    words = attribkit.explain(classifier, tokenizer, TEXT, target=1, layer="word_embeddings")
    assert words.method.params["layer"] == "bert.embeddings.word_embeddings"
    with pytest.raises(InputError, match="bert.embeddings"):
        attribkit.explain(classifier, tokenizer, TEXT, layer="bert.embedding")


def test_model_returns_can_be_forced_but_not_against_the_outputs(tokenizer):
    sigmoid = make_classifier(tokenizer, "sigmoid")  # detected: returns probabilities
    as_probabilities = attribkit.explain(sigmoid, tokenizer, TEXT, target=1)
    as_logits = attribkit.explain(sigmoid, tokenizer, TEXT, target=1, model_returns="logits")
    assert not np.allclose(as_logits.scores, as_probabilities.scores)
    with torch.no_grad():
        p = float(sigmoid(tokenizer(TEXT, return_tensors="pt").input_ids)[0, 0])
    np.testing.assert_allclose(as_probabilities.prediction.probabilities, [1 - p, p], rtol=1e-6)
    np.testing.assert_allclose(as_logits.prediction.probabilities[1], 1 / (1 + np.exp(-p)), rtol=1e-6)
    assert "the model returns probabilities, so output='logit' explains its raw output" in " ".join(
        attribkit.explain(sigmoid, tokenizer, TEXT, output="logit").warnings)
    relu = make_classifier(tokenizer, "relu")  # outputs above 1: read as probabilities they would be nonsense
    with pytest.raises(ModelError, match="are not probabilities, but they are read as such"):
        attribkit.explain(relu, tokenizer, TEXT, target=1, model_returns="probabilities")


def test_a_model_with_an_unusual_signature_needs_forward(tokenizer, bert):
    class KeywordOnly(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = bert

        def forward(self, *, tokens):
            return self.inner(input_ids=tokens).logits

    with pytest.raises(ModelError, match="forward=lambda model, input_ids, attention_mask"):
        attribkit.explain(KeywordOnly(), tokenizer, TEXT)
    explanation = attribkit.explain(KeywordOnly(), tokenizer, TEXT, forward=lambda m, ids, mask: m(tokens=ids),
                                    layer="inner.bert.embeddings", target=1)
    np.testing.assert_allclose(explanation.scores, attribkit.explain(bert, tokenizer, TEXT, target=1).scores, atol=1e-6)


# -- long inputs ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def short_bert(tokenizer):
    """A BERT that accepts at most 16 tokens."""
    return build(transformers.BertConfig, transformers.BertForSequenceClassification, tokenizer,
                 max_position_embeddings=16)


def test_long_input_is_truncated_with_a_warning(short_bert, tokenizer):
    text = texts_of_lengths([40])[0]
    explanation = attribkit.explain(short_bert, tokenizer, text)
    assert len(explanation) == 16 and explanation.tokens[-1] == "[SEP]"
    assert any("truncated to 16 of 42 tokens" in warning for warning in explanation.warnings)


def test_sliding_window_explains_every_token(short_bert, tokenizer):
    text = texts_of_lengths([40])[0]
    explanation = attribkit.explain(short_bert, tokenizer, text, sliding_window=True, stride=5, target=1)
    full = tokenizer(text).input_ids
    assert explanation.token_ids.tolist() == full and len(explanation.scores) == 42
    assert np.all(explanation.scores[1:-1] != 0)
    assert explanation.method.params["sliding_window_stride"] == 5
    assert any("windows" in warning for warning in explanation.warnings)
    assert not any("truncated" in warning for warning in explanation.warnings)
    # Windows of 14 words start at words 0, 5, 10, 15, 20, 25 and 26; word 17 is most central in words 10-23.
    words = text.split()
    window = attribkit.explain(short_bert, tokenizer, " ".join(words[10:24]), target=1)
    assert explanation.scores[1 + 17] == pytest.approx(window.scores[1 + 17 - 10], abs=1e-6)


# -- reliability ------------------------------------------------------------------------


def test_training_mode_is_restored_and_reported(tokenizer):
    model = build(transformers.BertConfig, transformers.BertForSequenceClassification, tokenizer,
                  hidden_dropout_prob=0.5)
    reference = attribkit.explain(model, tokenizer, TEXT)
    model.train()
    model.classifier.eval()  # a mixed mode must come back exactly as it was
    explanation = attribkit.explain(model, tokenizer, TEXT)
    assert model.training and model.bert.training and not model.classifier.training
    np.testing.assert_array_equal(explanation.scores, reference.scores)
    assert any("training mode" in warning for warning in explanation.warnings)
    assert not any("training mode" in warning for warning in reference.warnings)
    # a module in training mode that nothing random depends on (seed 000's wrapper of an eval BERT) is not reported
    wrapper = make_classifier(tokenizer, "sigmoid")
    wrapper.training = True  # nn.Module() starts in training mode; its dropout and BERT are in eval mode
    assert not any("training mode" in w for w in attribkit.explain(wrapper, tokenizer, TEXT).warnings)


def test_non_finite_outputs_raise_model_error(tokenizer, bert):
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = bert

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits * float("nan")

    with pytest.raises(ModelError, match="non-finite"):
        attribkit.explain(Broken(), tokenizer, TEXT)


def test_tokenizer_problems_raise_tokenizer_error(bert, tokenizer):
    with pytest.raises(TokenizerError, match="is not a tokenizer attribkit can use"):
        attribkit.explain(bert, str.split, TEXT)
    small = build(transformers.BertConfig, transformers.BertForSequenceClassification, tokenizer, vocab_size=10)
    with pytest.raises(TokenizerError, match="embedding has 10 rows"):
        attribkit.explain(small, tokenizer, TEXT)


def test_load_reads_a_local_directory(bert, tokenizer, tmp_path):
    bert.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    model, loaded_tokenizer = get_host().backend("torch").load(str(tmp_path))
    assert not model.training
    loaded = attribkit.explain(model, loaded_tokenizer, TEXT, target=1)
    np.testing.assert_allclose(loaded.scores, attribkit.explain(bert, tokenizer, TEXT, target=1).scores, atol=1e-6)


def test_load_reports_an_unreachable_hub(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(InputError, match="it is not a local directory and the Hugging Face hub cannot be reached"):
        get_host().backend("torch").load("attribkit-tests/no-such-model")


def test_inputs_follow_the_model_device(bert, tokenizer):
    explanation = attribkit.explain(bert, tokenizer, TEXT)
    assert next(bert.parameters()).device.type == "cpu" and len(explanation) == 12
    if torch.cuda.is_available():
        model = build(transformers.BertConfig, transformers.BertForSequenceClassification, tokenizer).cuda()
        on_gpu = attribkit.explain(model, tokenizer, TEXT)
        np.testing.assert_allclose(on_gpu.scores, explanation.scores, atol=1e-4)


# -- rendering ------------------------------------------------------------------------


def test_json_round_trip(bert, tokenizer):
    explanation = attribkit.explain(bert, tokenizer, TEXT, return_attributions=True)
    restored = Explanation.from_json(explanation.to_json())
    np.testing.assert_array_equal(restored.scores, explanation.scores)
    np.testing.assert_array_equal(restored.attributions, explanation.attributions)
    assert restored.tokens == explanation.tokens and dict(restored.method.params) == dict(explanation.method.params)
    if "json" not in get_host().renderers:
        pytest.skip("the json renderer is not registered")
    rendered = json.loads(attribkit.render(explanation, "json"))
    document = rendered[0] if isinstance(rendered, list) else rendered
    assert Explanation.from_dict(document).tokens == explanation.tokens


@pytest.mark.parametrize("format", ["html", "terminal"])
def test_renderers_accept_torch_explanations(bert, tokenizer, format):
    if format not in get_host().renderers:
        pytest.skip(f"the {format} renderer is not registered")
    explanation = attribkit.explain(bert, tokenizer, TEXT, true_label="positive")
    assert "plot" in attribkit.render(explanation, format)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_a_half_precision_model_is_explained_in_float32_and_given_back_unchanged(tokenizer, dtype):
    model = build(transformers.BertConfig, transformers.BertForSequenceClassification, tokenizer)
    half = model.to(getattr(torch, dtype))
    before = {name: tensor.clone() for name, tensor in half.state_dict().items()}
    reference = build(transformers.BertConfig, transformers.BertForSequenceClassification, tokenizer)
    reference.load_state_dict({name: tensor.float() for name, tensor in before.items()})  # the same weights, wide
    explanation = attribkit.explain(half, tokenizer, TEXT, target=1)
    expected = attribkit.explain(reference, tokenizer, TEXT, target=1)
    np.testing.assert_allclose(explanation.scores, expected.scores, rtol=0, atol=1e-6)
    assert any(f"{dtype} weights were explained in float32" in w for w in explanation.warnings)
    after = half.state_dict()
    assert all(after[name].dtype == tensor.dtype and torch.equal(after[name], tensor) for name, tensor in before.items())


def test_a_layer_that_runs_twice_in_one_pass_is_a_model_error(tokenizer, bert):
    """One set of values cannot stand for two different outputs of the attributed layer."""
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = bert

        def forward(self, input_ids, attention_mask):
            self.inner.bert.embeddings(input_ids=input_ids)  # the attributed layer, run once more
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    with pytest.raises(ModelError, match="ran 2 times in one forward pass"):
        attribkit.explain(Twice(), tokenizer, TEXT, layer="inner.bert.embeddings")
