"""Tests of the TensorFlow backend (alibi).

Skipped when tensorflow, tf_keras or alibi is missing; the tests comparing
with PyTorch are skipped when torch is missing. Models are built from a
config with ``initializer_range=0.5`` (nothing is downloaded).
"""
from __future__ import annotations

import gc
import importlib.util
import os
import subprocess
import sys
import textwrap
import weakref

import numpy as np
import pytest

for _module in ("tensorflow", "tf_keras", "alibi", "transformers"):
    if importlib.util.find_spec(_module) is None:
        pytest.skip(f"the tf backend needs {_module} (pip install 'attribkit[tf]')", allow_module_level=True)

import attribkit  # noqa: E402
from attribkit import BatchError, Explanation, InputError, ModelError, TargetError  # noqa: E402
from attribkit.backends.tf import WordTokenizer  # noqa: E402
from attribkit.pipeline import locate_words  # noqa: E402

HAS_TORCH = importlib.util.find_spec("torch") is not None
WORDS = ("the a movie film plot acting story music was is very quite not and but it this i we "
         "good great superb wonderful bad awful terrible boring dull loved hated , .").split()
TEXTS = ["the movie was superb and i loved it", "a dull plot , awful acting", "not bad"]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=environment, cwd=REPO, timeout=120)


# -- fixtures ------------------------------------------------------------------

@pytest.fixture(scope="module")
def tf():
    """TensorFlow after the Hugging Face TF classes, which import it before setting TF_USE_LEGACY_KERAS."""
    transformers = pytest.importorskip("transformers")
    if not transformers.is_tf_available():
        pytest.skip("transformers has TensorFlow disabled (USE_TF=0)")
    from transformers import TFBertForSequenceClassification  # noqa: F401

    from attribkit.backends.tf.runtime import import_tensorflow

    return import_tensorflow()


@pytest.fixture(scope="module")
def keras(tf):
    import tf_keras

    return tf_keras


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import BertTokenizerFast

    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n", encoding="utf-8")
    return BertTokenizerFast(vocab_file=str(path), model_max_length=64)


def bert_config(tokenizer, kind: str = "bert"):
    from transformers import BertConfig, DistilBertConfig

    if kind == "distilbert":
        return DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                                initializer_range=0.5, max_position_embeddings=64, num_labels=2)
    return BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=64, initializer_range=0.5, max_position_embeddings=64, num_labels=2)


@pytest.fixture(scope="module")
def tf_bert(tf, tokenizer):
    """A tiny random TF BERT classifier built from a config."""
    from transformers import TFBertForSequenceClassification

    tf.keras.utils.set_random_seed(0)
    model = TFBertForSequenceClassification(bert_config(tokenizer))
    model(model.dummy_inputs)
    return model


def roberta_tokenizer(folder):
    """A byte-level BPE tokenizer trained on ``WORDS`` (RoBERTa's special tokens, pad id 1)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([" ".join(WORDS)] * 10, vocab_size=300, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(folder))
    return RobertaTokenizerFast(vocab_file=str(folder / "vocab.json"), merges_file=str(folder / "merges.txt"),
                                model_max_length=64)


@pytest.fixture(scope="module")
def pt_pair(tf, tokenizer, tmp_path_factory):
    """``kind -> (torch model, tf model, folder, tokenizer)``, equal weights (TF loads with ``from_pt=True``)."""
    if not HAS_TORCH:
        pytest.skip("torch is not installed")
    import torch
    from transformers import AutoModelForSequenceClassification, RobertaConfig, TFAutoModelForSequenceClassification

    pairs = {}
    for kind in ("bert", "distilbert", "roberta"):
        folder = tmp_path_factory.mktemp(kind)
        kind_tokenizer = roberta_tokenizer(folder) if kind == "roberta" else tokenizer
        config = (RobertaConfig(vocab_size=len(kind_tokenizer), hidden_size=32, num_hidden_layers=2,
                                num_attention_heads=4, intermediate_size=64, initializer_range=0.5,
                                max_position_embeddings=66, pad_token_id=1, num_labels=2)
                  if kind == "roberta" else bert_config(tokenizer, kind))
        torch.manual_seed(0)
        pt_model = AutoModelForSequenceClassification.from_config(config).eval()
        pt_model.save_pretrained(folder)
        kind_tokenizer.save_pretrained(folder)
        tf_model = TFAutoModelForSequenceClassification.from_pretrained(folder, from_pt=True)
        pairs[kind] = (pt_model, tf_model, folder, kind_tokenizer)
    return pairs


# -- the plugin module ----------------------------------------------------------

def test_plugin_imports_without_tensorflow_or_alibi():
    done = run_python("""
        import sys
        import attribkit.backends.tf as plugin
        from attribkit.plugins import get_host
        host = get_host()
        assert "tf" in host.backends and ("tf", "integrated_gradients") in host.methods
        assert host.backends["tf"].licence.startswith("alibi 0.9.5+ is under the Business Source License 1.1")
        assert plugin.attribkit_backend_for_model(object()) is None
        plugin.WordTokenizer(encode=lambda text: [1], id_to_word={1: "a"})
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "tf_keras", "keras", "alibi"))
        assert not heavy, heavy
        print("ok")
    """, ATTRIBKIT_PLUGINS="tf")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_keras_models_are_recognised(keras, tf_bert):
    from attribkit.backends.tf import attribkit_backend_for_model

    assert attribkit_backend_for_model(tf_bert) == "tf"
    assert attribkit_backend_for_model(keras.Sequential([keras.layers.Dense(1)])) == "tf"
    assert attribkit_backend_for_model(object()) is None


# -- Hugging Face models ---------------------------------------------------------

def auto_model_wrapper(tf, keras, transformer, head=None):
    """Seed 002's ``AutoModelWrapper``: a Keras model calling a Hugging Face TF classifier and returning
    the softmax of its logits (after ``head``, a Keras layer, when given)."""

    class AutoModelWrapper(keras.Model):
        def __init__(self, transformer, **kwargs):
            super().__init__()
            self.transformer = transformer
            self.head = head

        def call(self, input_ids, attention_mask=None, training=False):
            out = self.transformer(input_ids=input_ids, attention_mask=attention_mask, training=training)
            logits = out.logits if self.head is None else self.head(out.logits)
            return tf.nn.softmax(logits, axis=-1)

    return AutoModelWrapper(transformer)


def raw_alibi_scores(tf, keras, model, tokenizer, texts, baseline_id, internal_batch_size,
                     layer=lambda m: m.transformer.bert.embeddings, wrapper=None):
    """Scores as a user computes them by hand with alibi (alibi's transformer example, seed 002)."""
    from alibi.explainers import IntegratedGradients

    wrapper = wrapper or auto_model_wrapper(tf, keras, model)
    batch = tokenizer(texts, padding=True, return_tensors="np")
    X = batch["input_ids"].astype(np.int32)
    kwargs = {"attention_mask": tf.constant(batch["attention_mask"])}
    predictions = wrapper(X, **kwargs).numpy().argmax(axis=1)
    mask = np.isin(X, tokenizer.all_special_ids)
    baselines = X * mask + baseline_id * (1 - mask)
    ig = IntegratedGradients(wrapper, layer=layer, n_steps=50,
                             method="gausslegendre", internal_batch_size=internal_batch_size)
    explanation = ig.explain(X, forward_kwargs=kwargs, baselines=baselines, target=predictions)
    attrs = explanation.attributions[0].sum(axis=2)
    lengths = batch["attention_mask"].sum(axis=1)
    return [attrs[i, :n] for i, n in enumerate(lengths)], predictions


@pytest.mark.parametrize("accelerate", [True, False], ids=["accelerated", "plain"])
@pytest.mark.parametrize("baseline, buckets", [("pad", "chosen"), (4, "chosen"), ("pad", "one per length")])
def test_scores_equal_raw_alibi(tf, keras, tf_bert, tokenizer, baseline, buckets, accelerate, monkeypatch):
    from attribkit.pipeline import planner

    if buckets == "one per length":  # buckets cost nothing: every length runs cut to itself
        monkeypatch.setattr(planner, "PASS_OVERHEAD_FLOPS", 0.0)
    expected, predictions = raw_alibi_scores(tf, keras, tf_bert, tokenizer, TEXTS,
                                             tokenizer.pad_token_id if baseline == "pad" else baseline, 25)
    explanations = attribkit.explain(tf_bert, tokenizer, TEXTS, baseline=baseline, internal_batch_size=25,
                                     accelerate=accelerate)
    largest = max(np.abs(e).max() for e in expected)
    assert largest > 0.01
    for explanation, scores, predicted in zip(explanations, expected, predictions):
        assert explanation.model.backend == "tf"
        assert explanation.target.index == predicted
        assert np.abs(explanation.scores - scores).max() <= 1e-5 * largest
        assert explanation.completeness_gap == pytest.approx(abs(explanation.convergence_delta), abs=1e-5)
    params = explanations[0].method.params
    assert params["layer"] == "bert.embeddings" and params["integration"] == "gausslegendre"
    assert params["internal_batch_size"] == 25 and params["n_steps"] == 50


def test_pad_all_special_equals_alibi_example_on_unknown_words(tf, keras, tf_bert, tokenizer):
    """alibi's example keeps every id of ``tokenizer.all_special_ids`` in the baseline, [UNK] included."""
    texts = ["the zyzzyva movie was superb", "a qqq plot"]  # unknown words become [UNK]
    assert all(tokenizer.unk_token_id in tokenizer(t).input_ids for t in texts)
    expected, _ = raw_alibi_scores(tf, keras, tf_bert, tokenizer, texts, tokenizer.pad_token_id, 50)
    largest = max(np.abs(e).max() for e in expected)
    for accelerate in (True, False):
        explanations = attribkit.explain(tf_bert, tokenizer, texts, baseline="pad_all_special", accelerate=accelerate)
        for explanation, scores in zip(explanations, expected):
            assert np.abs(explanation.scores - scores).max() <= 1e-5 * largest
            assert explanation.method.params["baseline"] == "pad_all_special"
    plain = attribkit.explain(tf_bert, tokenizer, texts[0])  # "pad" replaces [UNK] like any word
    assert np.abs(plain.scores - expected[0]).max() > 1e-3 * largest


@pytest.fixture(scope="module")
def tf_distilbert(tf, tokenizer):
    """A tiny random TF DistilBERT classifier built from a config (seed 002's kind of model)."""
    from transformers import TFDistilBertForSequenceClassification

    tf.keras.utils.set_random_seed(0)
    model = TFDistilBertForSequenceClassification(bert_config(tokenizer, "distilbert"))
    model(model.dummy_inputs)
    return model


@pytest.mark.parametrize("head", [None, "dense"], ids=["seed 002", "own head"])
def test_seed_002_wrapper_model_is_explained_as_it_is(tf, keras, tf_distilbert, tokenizer, head):
    """Seed 002's ``AutoModelWrapper`` (softmax inside ``call``, DistilBERT inside) equals raw alibi called
    as the seed calls it: the layer is ``auto_model.layers[0].layers[0].embeddings``, the baseline keeps
    every special id."""
    if head == "dense":
        tf.keras.utils.set_random_seed(1)
        head = keras.layers.Dense(3)
        head.build((None, 2))
    wrapper = auto_model_wrapper(tf, keras, tf_distilbert, head)
    expected, predictions = raw_alibi_scores(tf, keras, tf_distilbert, tokenizer, TEXTS, tokenizer.pad_token_id, 5,
                                             layer=wrapper.layers[0].layers[0].embeddings, wrapper=wrapper)
    explanations = attribkit.explain(wrapper, tokenizer, TEXTS, baseline="pad_all_special")
    largest = max(np.abs(e).max() for e in expected)
    assert largest > 0.01
    batch = tokenizer(TEXTS, padding=True, return_tensors="np")
    outputs = wrapper(batch["input_ids"], attention_mask=batch["attention_mask"]).numpy()
    for row, (explanation, scores) in enumerate(zip(explanations, expected)):
        assert np.abs(explanation.scores - scores).max() <= 1e-5 * largest
        # the wrapper's softmax is seen: its outputs are the prediction, not squashed again
        np.testing.assert_allclose(explanation.prediction.probabilities, outputs[row], rtol=1e-5)
        assert explanation.target.index == predictions[row]
    params, model = explanations[0].method.params, explanations[0].model
    assert params["layer"] == "transformer.distilbert.embeddings"
    assert model.architecture == "AutoModelWrapper" and model.framework == "tensorflow"
    assert explanations[0].prediction.labels == tuple(f"LABEL_{i}" for i in range(outputs.shape[1]))
    # the layer named by the user, as a path or a callable, is the same layer
    for layer in ("transformer.distilbert.embeddings", lambda m: m.layers[0].layers[0].embeddings):
        again = attribkit.explain(wrapper, tokenizer, TEXTS[1], baseline="pad_all_special", layer=layer)
        np.testing.assert_allclose(again.scores, explanations[1].scores, rtol=1e-5, atol=1e-6 * largest)


def test_wrapper_model_runs_the_gradient_and_perturbation_methods(tf, keras, tf_distilbert, tokenizer):
    wrapper = auto_model_wrapper(tf, keras, tf_distilbert)
    for method in ("saliency", "occlusion"):
        explanation = attribkit.explain(wrapper, tokenizer, TEXTS[0], method=method)
        assert np.all(np.isfinite(explanation.scores)) and np.abs(explanation.scores).max() > 0
    direct = attribkit.explain(tf_distilbert, tokenizer, TEXTS[0], method="occlusion")
    np.testing.assert_allclose(attribkit.explain(wrapper, tokenizer, TEXTS[0], method="occlusion").scores,
                               direct.scores, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("form", [("softmax", False, True), ("identity", False, False)])
def test_compiled_gradient_equals_autodiff(tf, tf_bert, tokenizer, form):
    """The gradient the accelerator's compiled call hands to a tape (any upstream gradient, rows of three
    lengths padded together) equals TensorFlow's own gradient of the same output through the uncompiled model."""
    from attribkit.backends.tf.accelerator import Accelerator
    from attribkit.backends.tf.adapter import KerasAdapter, call_replaced, explained_outputs
    from attribkit.pipeline import OutputForm

    form = OutputForm(*form)
    adapter = KerasAdapter(tf_bert, tokenizer)
    accelerator = Accelerator.of(adapter)
    batch = tokenizer(TEXTS, padding=True, return_tensors="np")
    ids, mask = tf.constant(batch["input_ids"], tf.int32), tf.constant(batch["attention_mask"], tf.int32)
    embedded = adapter.layer(input_ids=ids, training=False)
    targets = tf.constant([1, 0, 1], tf.int32)
    upstream = tf.constant([0.5, -2.0, 3.0], tf.float32)
    assert len(set(batch["attention_mask"].sum(axis=1))) == 3
    with tf.GradientTape() as tape:
        tape.watch(embedded)
        chosen = accelerator.chosen(ids, mask, embedded, targets, form, 2)
        loss = tf.reduce_sum(chosen * upstream)
    fused = tape.gradient(loss, embedded).numpy()
    with tf.GradientTape() as tape:
        tape.watch(embedded)
        with call_replaced(adapter.layer, lambda *args, **kwargs: embedded):
            raw = tf_bert(input_ids=ids, attention_mask=mask, training=False).logits
        expected_chosen = tf.gather(explained_outputs(raw, form), targets, batch_dims=1)
        loss = tf.reduce_sum(expected_chosen * upstream)
    expected = tape.gradient(loss, embedded).numpy()
    np.testing.assert_allclose(chosen.numpy(), expected_chosen.numpy(), rtol=1e-5, atol=1e-6)
    assert np.abs(expected).max() > 1e-3
    assert np.abs(fused - expected).max() <= 1e-5 * np.abs(expected).max()


@pytest.mark.parametrize("kind, baseline", [("bert", "pad"), ("distilbert", "pad"), ("roberta", "pad"),
                                            ("bert", "zero")])
def test_same_weights_same_explanation(pt_pair, kind, baseline):
    pt_model, tf_model, _, tokenizer = pt_pair[kind]
    from_tf = attribkit.explain(tf_model, tokenizer, TEXTS, backend="tf", baseline=baseline)
    from_pt = attribkit.explain(pt_model, tokenizer, TEXTS, backend="torch", baseline=baseline)
    largest = max(np.abs(e.scores).max() for e in from_pt)
    assert largest > 0.01
    for a, b in zip(from_tf, from_pt):
        assert a.tokens == b.tokens
        assert a.prediction.index == b.prediction.index and a.target == b.target
        np.testing.assert_allclose(a.prediction.probabilities, b.prediction.probabilities, atol=1e-5)
        assert np.abs(a.scores - b.scores).max() <= 1e-4 * largest
        assert a.output_difference == pytest.approx(b.output_difference, abs=1e-5)


@pytest.mark.parametrize("request_", [
    dict(), dict(baseline=4), dict(baseline="zero"), dict(baseline="pad_all_special", output="logit"),
    dict(target="LABEL_0", integration="riemann_trapezoid", n_steps=20), dict(max_length=5),
    dict(model_returns="probabilities", output="logit", errors="return"),
], ids=["default", "token", "zero", "all-special-logit", "target-rule", "truncated", "returns-probabilities"])
def test_same_request_same_params_and_warnings(pt_pair, request_):
    """One pipeline: equal weights and an equal request give equal method parameters, baseline
    descriptions and warnings on both backends (only the framework and backend names differ)."""
    pt_model, tf_model, _, tokenizer = pt_pair["bert"]
    from_tf = attribkit.explain(tf_model, tokenizer, TEXTS, backend="tf", **request_)
    from_pt = attribkit.explain(pt_model, tokenizer, TEXTS, backend="torch", **request_)
    if request_.get("model_returns"):  # logits read as probabilities: the same error on both
        assert all(isinstance(r, ModelError) and "are not probabilities" in str(r) for r in from_tf + from_pt)
        assert [str(r).split("]")[1] for r in from_tf] == [str(r).split("]")[1] for r in from_pt]
        return
    for a, b in zip(from_tf, from_pt):
        assert dict(a.method.params) == dict(b.method.params) and a.method.output == b.method.output
        assert a.warnings == b.warnings and a.target == b.target and a.tokens == b.tokens
        assert (a.completeness_gap is None) == (b.completeness_gap is None)
    assert from_tf[0].model.framework == "tensorflow" and from_pt[0].model.framework == "torch"


def test_sliding_windows_on_tf_equal_torch(pt_pair):
    pt_model, tf_model, _, tokenizer = pt_pair["bert"]
    text = " ".join(["the movie was superb but the plot was dull and"] * 3)
    options = dict(sliding_window=True, max_length=12, stride=4, target=1)
    from_tf = attribkit.explain(tf_model, tokenizer, text, backend="tf", **options)
    from_pt = attribkit.explain(pt_model, tokenizer, text, backend="torch", **options)
    assert from_tf.tokens == from_pt.tokens and len(from_tf.tokens) == len(tokenizer(text).input_ids) > 12
    assert any("overlapping windows" in w for w in from_tf.warnings)
    assert dict(from_tf.method.params) == dict(from_pt.method.params)
    np.testing.assert_allclose(from_tf.prediction.probabilities, from_pt.prediction.probabilities, atol=1e-5)
    assert np.abs(from_tf.scores - from_pt.scores).max() <= 1e-4 * np.abs(from_pt.scores).max()


def test_a_method_written_once_runs_on_tf_and_equals_captum_on_torch(pt_pair):
    """feature_ablation on tf is the pipeline's, on the token ids; on torch Captum's LayerFeatureAblation
    on the embeddings' output: with the pad baseline they compute the same drops."""
    pt_model, tf_model, _, tokenizer = pt_pair["bert"]
    from_tf = attribkit.explain(tf_model, tokenizer, TEXTS, backend="tf", method="feature_ablation")
    from_pt = attribkit.explain(pt_model, tokenizer, TEXTS, backend="torch", method="feature_ablation")
    largest = max(np.abs(e.scores).max() for e in from_pt)
    assert largest > 1e-3
    for a, b in zip(from_tf, from_pt):
        assert np.abs(a.scores - b.scores).max() <= 1e-4 * largest


def test_bad_target_returns_its_error_and_keeps_the_others(tf_bert, tokenizer):
    results = attribkit.explain(tf_bert, tokenizer, TEXTS, target=["LABEL_1", "no-such-label", 0], errors="return")
    assert isinstance(results[0], Explanation) and results[0].target.index == 1
    assert isinstance(results[1], TargetError) and "no-such-label" in str(results[1])
    assert isinstance(results[2], Explanation) and results[2].target.index == 0
    with pytest.raises(BatchError) as caught:
        attribkit.explain(tf_bert, tokenizer, TEXTS, target=[0, 7, 1])
    assert list(caught.value.errors) == [1] and len(caught.value.explanations) == 2


def test_options_truncation_and_attributions(tf_bert, tokenizer):
    long_text = " ".join(["the movie was superb"] * 5)
    explanation = attribkit.explain(tf_bert, tokenizer, long_text, max_length=8, return_attributions=True,
                                    integration="riemann_trapezoid", output="logit")
    assert len(explanation) == 8 and explanation.tokens[-1] == "[SEP]"
    assert any("truncated to 8 of 22 tokens" in w for w in explanation.warnings)
    assert explanation.attributions.shape == (8, 32)
    np.testing.assert_allclose(explanation.attributions.sum(axis=1), explanation.scores)
    assert explanation.method.params["integration"] == "riemann_trapezoid" and explanation.method.output == "logit"
    with pytest.raises(InputError, match="unknown option"):
        attribkit.explain(tf_bert, tokenizer, "a movie", internal_batchsize=4)
    with pytest.raises(InputError, match="integration must be one of"):
        attribkit.explain(tf_bert, tokenizer, "a movie", integration="simpson")


def test_another_layer_runs_eagerly(tf, keras, tf_bert, tokenizer):
    # an encoder layer returns a tuple, which alibi attributes through its own target path
    expected, _ = raw_alibi_scores(tf, keras, tf_bert, tokenizer, TEXTS, tokenizer.pad_token_id, 50,
                                   layer=lambda m: m.transformer.bert.encoder.layer[0])
    explanations = attribkit.explain(tf_bert, tokenizer, TEXTS, layer="bert.encoder.layer.0")
    largest = max(np.abs(e).max() for e in expected)
    for explanation, scores in zip(explanations, expected):
        assert explanation.method.params["layer"] == "bert.encoder.layer.0"
        assert np.abs(explanation.scores - scores).max() <= 1e-5 * largest
        assert explanation.completeness_gap == pytest.approx(abs(explanation.convergence_delta), abs=1e-5)
    with pytest.raises(InputError, match="no attribute 'nope'"):
        attribkit.explain(tf_bert, tokenizer, "a movie", layer="bert.nope")


def test_model_is_released_after_explain(tf, tokenizer):
    from transformers import TFBertForSequenceClassification

    model = TFBertForSequenceClassification(bert_config(tokenizer))
    attribkit.explain(model, tokenizer, "a superb movie", n_steps=4)
    reference = weakref.ref(model)
    del model
    gc.collect()
    assert reference() is None


def test_load_converts_pytorch_weights_and_reports_unreachable_names(pt_pair, tokenizer, monkeypatch):
    import logging

    from attribkit.plugins import get_host

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    messages, collect, transformers_logger = [], Collect(), logging.getLogger("transformers")
    backend = get_host().backend("tf")
    transformers_logger.addHandler(collect)
    try:
        model, loaded_tokenizer = backend.load(str(pt_pair["bert"][2]))
    finally:
        transformers_logger.removeHandler(collect)
    assert not [m for m in messages if m.startswith("All ")]  # a complete conversion prints no notice
    assert loaded_tokenizer.get_vocab() == tokenizer.get_vocab()
    assert type(model).__name__ == "TFBertForSequenceClassification"
    assert attribkit.explain(model, loaded_tokenizer, "a superb movie", n_steps=4).tokens[0] == "[CLS]"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the hub is out of reach, without asking the network
    with pytest.raises(InputError, match="network access or a local path is needed"):
        backend.load("attribkit-tests/no-such-model")


# -- Keras word models ------------------------------------------------------------

@pytest.fixture(scope="module")
def word_tokenizer(keras):
    tokenizer = keras.preprocessing.text.Tokenizer(oov_token="<OOV>")
    tokenizer.fit_on_texts([" ".join(WORDS)])
    return tokenizer


def planted_word_model(keras, tokenizer, planted, maxlen=12, activation="sigmoid"):
    """Embedding(V, 1) -> Flatten -> Dense(1): ``logit = sum_pos w_pos * e(word at pos)``.

    Planted words have ``e = +-4``, other words ``|e| <= 0.05``, padding 0;
    the position weights go from 0.5 to 1.5, so predictions depend on where
    the padding is.
    """
    vocab_size = len(tokenizer.word_index) + 1
    rng = np.random.default_rng(0)
    embedding = rng.uniform(-0.05, 0.05, (vocab_size, 1))
    embedding[0] = 0.0
    for word, value in planted.items():
        embedding[tokenizer.word_index[word]] = value
    model = keras.Sequential([
        keras.Input((maxlen,), dtype="int32"),
        keras.layers.Embedding(vocab_size, 1),
        keras.layers.Flatten(),
        keras.layers.Dense(1, activation=activation),
    ])
    model.layers[0].set_weights([embedding])
    model.layers[2].set_weights([np.linspace(0.5, 1.5, maxlen).reshape(-1, 1), np.zeros(1)])
    return model


def test_word_model_reports_show_the_whole_text(keras):
    """Words the Keras tokenizer drops (out of its vocabulary, filtered punctuation) are shown, unscored,
    in their place, in the HTML and the terminal reports."""
    import html
    import re

    tokenizer = keras.preprocessing.text.Tokenizer()  # no oov_token: unknown words vanish
    tokenizer.fit_on_texts([" ".join(WORDS)])
    model = planted_word_model(keras, tokenizer, {"superb": 4.0, "awful": -4.0})
    text = "Honestly, the zyzzyva movie was superb and qwerty!"
    explanation = attribkit.explain(model, tokenizer, text)
    assert explanation.tokens == ("the", "movie", "was", "superb", "and")
    dropped = ["Honestly,", "zyzzyva", "qwerty!"]

    page = attribkit.render(explanation, "html")
    words_row = page[page.index('class="ak-text ak-words"'):]
    words_row = words_row[:words_row.index("</div>")]
    chips = re.findall(r'<span class="ak-chip( ak-dropped)?"[^>]*>([^<]*)</span>', words_row)
    assert [html.unescape(word) for _, word in chips] == text.split()
    assert [html.unescape(word) for marked, word in chips if marked] == dropped
    assert all("style=" not in chip for chip in re.findall(r'<span class="ak-chip ak-dropped"[^>]*>', words_row))

    plain = attribkit.render(explanation, "terminal", color=False, width=200)
    line = plain.strip().splitlines()[-1]
    assert re.sub(r"\([^()]*\)(?= |$)", "", line).split() == text.split()
    for word in dropped:
        assert f"{word}(\u2014)" in line
    assert re.search(r"superb\(\+[0-9.]+\)", line)


@pytest.mark.parametrize("padding", ["pre", "post"])
def test_known_answer_word_model(keras, word_tokenizer, padding):
    model = planted_word_model(keras, word_tokenizer, {"superb": 4.0, "wonderful": 4.0, "awful": -4.0})
    texts = ["The plot was dull, but the music was SUPERB and wonderful!", "An awful film; the acting was not good.",
             "a movie"]
    explanations = attribkit.explain(model, word_tokenizer, texts, padding=padding)
    padded = keras.preprocessing.sequence.pad_sequences(word_tokenizer.texts_to_sequences(texts), maxlen=12,
                                                        padding=padding)
    expected = model.predict(padded, verbose=0)[:, 0]
    for explanation, p in zip(explanations, expected):
        assert explanation.prediction.probabilities[1] == pytest.approx(p, abs=1e-6)
        assert not explanation.special_mask.any()
        words = [explanation.text[a:b].lower() for a, b in explanation.offsets]
        assert all(w == t for w, t in zip(words, explanation.tokens) if t != "<OOV>")
        assert explanation.completeness_gap < 1e-3
        # alibi's own delta agrees (alibi 0.9.6 gets its sign wrong when given targets for one output)
        assert explanation.convergence_delta == pytest.approx(
            explanation.scores.sum() - explanation.output_difference, abs=1e-5)
    first, second, _ = explanations
    assert first.target.label == "positive" and second.target.label == "negative"
    assert {t.token for t in attribkit.top_k(first, 2)} == {"superb", "wonderful"}
    assert attribkit.top_k(second, 1)[0].token == "awful"
    assert second.tokens[0] == "<OOV>" and second.text[slice(*second.offsets[0])] == "An"
    assert attribkit.top_k(second, 1)[0].score > 0  # it supports the explained (negative) class
    word = attribkit.top_k(first, 1)[0]
    assert first.text[slice(*first.offsets[word.index])] in ("SUPERB", "wonderful")


def test_word_model_targets_outputs_and_truncation(keras, word_tokenizer):
    model = planted_word_model(keras, word_tokenizer, {"superb": 4.0}, maxlen=6, activation=None)
    text = "the music and the acting and the plot was superb"
    positive = attribkit.explain(model, word_tokenizer, text, target=1, truncating="post")
    assert len(positive) == 6 and positive.tokens[0] == "the"
    assert any("the last 4 words were not explained" in w for w in positive.warnings)
    both = attribkit.explain(model, word_tokenizer, [text, text], target=[1, 0])
    np.testing.assert_allclose(both[1].scores, -both[0].scores, atol=1e-7)
    assert both[0].tokens[-1] == "superb" and attribkit.top_k(both[0], 1)[0].token == "superb"
    logit = attribkit.explain(model, word_tokenizer, text, output="logit", target=1)
    z = model.predict(keras.preprocessing.sequence.pad_sequences(word_tokenizer.texts_to_sequences([text]), maxlen=6),
                      verbose=0)[0, 0]
    assert logit.prediction.raw[0] == pytest.approx(z, abs=1e-5)
    assert logit.output_difference == pytest.approx(z, abs=1e-5)  # the zero baseline has logit 0
    assert logit.scores.sum() == pytest.approx(z, abs=1e-3)
    assert both[0].output_difference == pytest.approx(1 / (1 + np.exp(-z)) - 0.5, abs=1e-5)


def test_word_model_errors(keras, word_tokenizer):
    model = planted_word_model(keras, word_tokenizer, {"superb": 4.0})
    results = attribkit.explain(model, word_tokenizer, ["superb", "?!"], errors="return")
    assert isinstance(results[0], Explanation)
    assert isinstance(results[1], InputError) and "no word" in str(results[1])
    kernel, bias = model.layers[2].get_weights()
    model.layers[2].set_weights([np.full_like(kernel, np.nan), bias])
    with pytest.raises(ModelError, match="non-finite"):
        attribkit.explain(model, word_tokenizer, "superb")


def test_word_tokenizer_adapter(keras):
    vocab = {"great": 1, "movie": 2, "awful": 3}
    tokenizer = WordTokenizer(encode=lambda text: [vocab[w] for w in text.lower().split() if w in vocab],
                              id_to_word={i: w for w, i in vocab.items()})
    model = keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Embedding(4, 3),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2)])
    explanation = attribkit.explain(model, tokenizer, "A great movie", labels=["bad", "good"])
    assert explanation.tokens == ("great", "movie")
    assert explanation.offsets.tolist() == [[2, 7], [8, 13]]
    assert explanation.prediction.labels == ("bad", "good")
    assert explanation.method.params["layer"] == "layers.0"


def test_keras3_models(tf, word_tokenizer):
    keras3 = pytest.importorskip("keras")
    if not keras3.__version__.startswith("3."):
        pytest.skip("Keras 3 is not installed")
    model = planted_word_model(keras3, word_tokenizer, {"superb": 4.0})
    explanation = attribkit.explain(model, word_tokenizer, "a superb film")
    assert attribkit.top_k(explanation, 1)[0].token == "superb"

    class Subclassed(keras3.Model):
        def __init__(self):
            super().__init__()
            self.embedding = keras3.layers.Embedding(40, 2)
            self.dense = keras3.layers.Dense(1, activation="sigmoid")

        def call(self, ids):
            return self.dense(keras3.ops.mean(self.embedding(ids), axis=1))

    subclassed = Subclassed()
    subclassed(np.zeros((1, 4), "int32"))
    with pytest.raises(ModelError, match="Functional or Sequential"):
        attribkit.explain(subclassed, word_tokenizer, "a superb film")


def test_keras3_as_tf_keras_gives_a_clear_error():
    done = run_python("""
        import tensorflow as tf
        tf.keras.Model  # tf.keras is now Keras 3 for this process
        import tf_keras
        import attribkit
        from attribkit.backends.tf import WordTokenizer
        model = tf_keras.Sequential([tf_keras.Input((4,), dtype="int32"), tf_keras.layers.Embedding(5, 2),
                                     tf_keras.layers.Flatten(), tf_keras.layers.Dense(1)])
        tokenizer = WordTokenizer(encode=lambda text: [1, 2], id_to_word={1: "a", 2: "b"})
        try:
            attribkit.explain(model, tokenizer, "a b")
        except attribkit.ModelError as exc:
            print(exc)
    """, TF_USE_LEGACY_KERAS="", ATTRIBKIT_PLUGINS="tf")
    assert done.returncode == 0, done.stderr
    assert "tf.keras is Keras 3 in this process" in done.stdout
    assert "Set TF_USE_LEGACY_KERAS=1 in the environment before importing tensorflow" in done.stdout


# -- pure helpers ----------------------------------------------------------------

def test_locate_words_follows_the_text():
    text = "That's a GREAT movie, a great one: <b>great</b>!"
    spans = locate_words(text, ["a", "great", "movie", "<OOV>", "great", "one", "great"])
    assert [text[a:b] for a, b in spans] == ["a", "GREAT", "movie", "a", "great", "one", "great"]
    assert locate_words("x", ["y"]).tolist() == [[0, 1]]
    assert locate_words("...", ["y"]).tolist() == [[0, 0]]


def test_alibi_paths_beyond_the_memory_limit_are_refused_per_text(tf_bert, tokenizer, monkeypatch):
    from attribkit.backends.tf import methods

    monkeypatch.setattr(methods, "ALIBI_PATH_LIMIT_BYTES",  # 50 steps of 10 tokens
                        methods.ALIBI_PATH_COPIES * 4 * 50 * 10 * 32)
    results = attribkit.explain(tf_bert, tokenizer, ["a movie", " ".join(["the movie was superb"] * 4)],
                                errors="return")
    assert isinstance(results[0], Explanation)
    assert isinstance(results[1], attribkit.MethodError)
    assert "alibi keeps every point of the path and its gradient in memory" in str(results[1])


def test_the_accelerator_leaves_tensorflow_datasets_as_they_were(tf, tf_bert, tokenizer):
    """While alibi works the accelerator makes its datasets without autotuning; afterwards, and in other
    threads, TensorFlow's own ``from_tensor_slices`` is what everybody gets."""
    import threading

    own = vars(tf.data.Dataset)["from_tensor_slices"]
    seen = {}

    def other_thread():
        seen["options"] = tf.data.Dataset.from_tensor_slices([1, 2]).options().autotune.enabled

    from attribkit.backends.tf.accelerator import _UNTUNED_DATASETS

    with _UNTUNED_DATASETS.active():
        assert tf.data.Dataset.from_tensor_slices([1, 2]).options().autotune.enabled is False
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert seen["options"] is not False
    attribkit.explain(tf_bert, tokenizer, TEXTS[:1], accelerate=True)
    assert vars(tf.data.Dataset)["from_tensor_slices"] is own
    assert tf.data.Dataset.from_tensor_slices([1, 2]).options().autotune.enabled is not False
