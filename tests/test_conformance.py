"""The conformance kit (attribkit.testing) on every kind of backend: torch, tf (plain and accelerated), the
example plugin and the black-box backend of docs/plugins.md, executed from the doc itself."""
from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

import attribkit
from attribkit.plugins import PluginHost, reset_host
from attribkit.testing import CHECKS, Subject, check_backend, run_checks

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("the a movie film plot acting story was is very not and but it this good great superb bad awful "
         "dull boring , .").split()
HAS_TORCH = all(importlib.util.find_spec(m) for m in ("torch", "captum", "transformers"))
HAS_TF = all(importlib.util.find_spec(m) for m in ("tensorflow", "tf_keras", "alibi", "transformers"))
CHECK_IDS = [check.__name__ for check in CHECKS]


def doc_backend() -> dict:
    """Run the black-box backend's code block of docs/plugins.md; its names."""
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text.split("### A complete black-box backend", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {"__name__": "blackbox_doc"}
    exec(compile(code, "docs/plugins.md", "exec"), namespace)
    return namespace


def word_score_model(texts):
    """A black box: positive words push towards class 1, negative ones towards class 0."""
    logits = np.array([sum({"good": 2.0, "great": 1.5, "superb": 2.5, "bad": -2.0, "dull": -1.5, "not": -0.5}
                           .get(w.lower(), 0.0) for w in t.split()) for t in texts])
    p = 1 / (1 + np.exp(-logits))
    return np.stack([1 - p, p], axis=1)


@pytest.fixture(scope="module")
def blackbox():
    names = doc_backend()
    host = PluginHost()
    host.load_entry_points()
    host.register(names["BlackBoxPlugin"](), "blackbox")
    reset_host(host)
    yield names["TextModel"](word_score_model, ["negative", "positive"])
    reset_host()


@pytest.mark.parametrize("method", ["feature_ablation", "occlusion", "lime", "kernel_shap"])
@pytest.mark.parametrize("check", CHECKS, ids=CHECK_IDS)
def test_black_box_backend_from_the_docs(blackbox, check, method):
    check(Subject(blackbox, None, method=method))


def test_black_box_backend_gets_the_methods_of_every_backend(blackbox):
    explanation = attribkit.explain(blackbox, None, "a superb film , not dull", method="feature_ablation")
    assert explanation.model.backend == "blackbox" and explanation.tokens[1] == "superb"
    # removing a word changes the black box's logit by exactly that word's weight
    p = word_score_model(["a superb film , not dull"])[0, 1]
    without_superb = word_score_model(["a film , not dull"])[0, 1]
    assert explanation.scores[1] == pytest.approx(p - without_superb, abs=1e-12)
    assert attribkit.top_k(explanation, 1)[0].token == "superb"


example = pytest.importorskip("attribkit_example") if importlib.util.find_spec("attribkit_example") else None


@pytest.mark.skipif(example is None, reason="run `make test`: it installs plugins/attribkit-example")
@pytest.mark.parametrize("check", CHECKS, ids=CHECK_IDS)
def test_example_plugin(check):
    model = example.LexiconModel({"superb": 2.0, "dull": -1.5, "good": 1.0, "bad": -1.0}, bias=-0.2)
    check(Subject(model, example.WhitespaceTokenizer(), options={"n_steps": 200}))


def test_a_broken_backend_fails_the_kit(blackbox):
    """The kit can fail: a backend that mixes up its rows' predictions is caught."""
    names = doc_backend()

    class Swapped(names["BlackBoxAdapter"]):
        def raw_outputs(self, input_ids, attention_mask, layer_values=None):
            return super().raw_outputs(input_ids, attention_mask)[::-1]

    class SwappedBackend(names["BlackBoxBackend"]):
        name = "swapped"

        def adapt(self, model, tokenizer, *, layer=None, options=None):
            return Swapped(model)

    class Plugin:
        @attribkit.hookimpl
        def attribkit_register_backends(self, register):
            register("swapped", SwappedBackend, framework="python")

    attribkit.get_host().register(Plugin(), "swapped")
    subject = dict(backend="swapped", method="feature_ablation")
    outcome = run_checks(Subject(blackbox, None, **subject))
    assert outcome["check_explained_output"] is not None and outcome["check_json_round_trip"] is None, outcome
    with pytest.raises(AssertionError, match="check_explained_output"):
        check_backend(blackbox, None, **subject)


# -- torch ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def word_tokenizer(tmp_path_factory):
    from transformers import BertTokenizerFast

    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n", encoding="utf-8")
    return BertTokenizerFast(vocab_file=str(path), model_max_length=64)


@pytest.fixture(scope="module")
def torch_bert(word_tokenizer):
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(word_tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, initializer_range=0.5,
                        id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1})
    return BertForSequenceClassification(config).eval()


@pytest.mark.skipif(not HAS_TORCH, reason="the torch backend needs torch, captum and transformers")
@pytest.mark.parametrize("method", ["integrated_gradients", "lime"])
@pytest.mark.parametrize("check", CHECKS, ids=CHECK_IDS)
def test_torch_backend(torch_bert, word_tokenizer, check, method):
    check(Subject(torch_bert, word_tokenizer, method=method, options={"n_steps": 20}))


def kit_outcome_of_a_torch_path_method(function, model, tokenizer):
    """``run_checks`` on ``function`` registered by a plugin as a torch path method (20 fixed steps)."""

    class Plugin:
        @attribkit.hookimpl
        def attribkit_register_methods(self, register):
            register(function.__name__, "torch", function, path=True)

    previous, host = attribkit.get_host(), PluginHost()
    host.load_entry_points()
    host.register(Plugin(), function.__name__)
    reset_host(host)
    try:
        return run_checks(Subject(model, tokenizer, method=function.__name__, options={"n_steps": 20}))
    finally:
        reset_host(previous)


@pytest.mark.skipif(not HAS_TORCH, reason="the torch backend needs torch, captum and transformers")
def test_a_path_method_that_takes_one_set_of_points_for_every_row_fails_the_kit(torch_bert, word_tokenizer):
    """The kit can fail: a path method that reads ``task.alphas`` as one set of points for all rows (the
    first row's) is caught by ``check_path_points``, while it passes every other check."""
    import dataclasses

    from attribkit.methods.gradients import path_sum

    def first_rows_points(task):
        if task.alphas is None:  # fixed steps: Gauss-Legendre points for every row
            nodes, weights = np.polynomial.legendre.leggauss(task.n_steps)
            alphas, step_weights = (nodes + 1) / 2, weights / 2
        else:
            alphas, step_weights = task.alphas[0], task.step_weights[0]
        return path_sum(dataclasses.replace(task, alphas=np.tile(alphas, (task.batch, 1)),
                                            step_weights=np.tile(step_weights, (task.batch, 1))))

    outcome = kit_outcome_of_a_torch_path_method(first_rows_points, torch_bert, word_tokenizer)
    assert outcome["check_path_points"] is not None, outcome
    assert all(why is None for name, why in outcome.items() if name != "check_path_points"), outcome


@pytest.mark.skipif(not HAS_TORCH, reason="the torch backend needs torch, captum and transformers")
def test_a_path_method_that_ignores_the_step_weights_fails_the_kit(torch_bert, word_tokenizer):
    """The kit can fail: a path method that sums its points unweighted (right while each row has one point of
    weight 1, as in auto's rounds) is caught when a text is evaluated again at all its points in one row."""
    import dataclasses

    from attribkit.methods.gradients import path_sum

    def unweighted(task):
        if task.alphas is None:  # fixed steps: Gauss-Legendre points for every row
            nodes, weights = np.polynomial.legendre.leggauss(task.n_steps)
            task = dataclasses.replace(task, alphas=np.tile((nodes + 1) / 2, (task.batch, 1)),
                                       step_weights=np.tile(weights / 2, (task.batch, 1)))
            return path_sum(task)
        return path_sum(dataclasses.replace(task, step_weights=np.ones_like(task.step_weights)))

    outcome = kit_outcome_of_a_torch_path_method(unweighted, torch_bert, word_tokenizer)
    assert "task.step_weights[i, j]" in (outcome["check_path_points"] or ""), outcome
    assert all(why is None for name, why in outcome.items() if name != "check_path_points"), outcome


@pytest.mark.skipif(not HAS_TORCH, reason="the torch backend needs torch, captum and transformers")
def test_a_method_that_reads_n_steps_but_does_not_record_it_fails_the_kit(torch_bert, word_tokenizer):
    """The kit can fail: a method whose scores change with ``n_steps`` but that records no ``n_steps`` would
    have every explanation say that the user's count was not used."""
    import dataclasses

    from attribkit.methods.gradients import path_sum

    def unrecorded(task):
        if task.alphas is None:  # fixed steps: Gauss-Legendre points for every row
            nodes, weights = np.polynomial.legendre.leggauss(task.n_steps)
            task = dataclasses.replace(task, alphas=np.tile((nodes + 1) / 2, (task.batch, 1)),
                                       step_weights=np.tile(weights / 2, (task.batch, 1)))
        return dataclasses.replace(path_sum(task), params={})

    outcome = kit_outcome_of_a_torch_path_method(unrecorded, torch_bert, word_tokenizer)
    assert "n_steps=4 is recorded as None" in (outcome["check_steps_recorded"] or ""), outcome
    assert all(why is None for name, why in outcome.items() if name != "check_steps_recorded"), outcome


@pytest.mark.skipif(not HAS_TORCH, reason="the torch backend needs torch, captum and transformers")
def test_a_plugin_method_that_keeps_its_paths_gets_calls_whose_paths_fit_the_budget(torch_bert, word_tokenizer):
    """``path_copies``: a third-party path method that keeps 5 copies of its paths (as alibi does) is given
    calls whose kept paths fit half of ``memory_budget_mb``; registered without it, one call for all texts."""
    from attribkit.methods.gradients import path_sum

    calls = []

    def fixed_points(task):
        calls.append((task.batch, task.input_ids.shape[1], task.n_steps))
        nodes, weights = np.polynomial.legendre.leggauss(task.n_steps)
        return path_sum(dataclasses.replace(task, alphas=np.tile((nodes + 1) / 2, (task.batch, 1)),
                                            step_weights=np.tile(weights / 2, (task.batch, 1))))

    class Plugin:
        @attribkit.hookimpl
        def attribkit_register_methods(self, register):
            register("keeping", "torch", fixed_points, path=True, path_copies=5)
            register("keeping_nothing", "torch", fixed_points, path=True)

    previous, host = attribkit.get_host(), PluginHost()
    host.load_entry_points()
    host.register(Plugin(), "keeping-paths")
    reset_host(host)
    texts = ["the movie was", "a bad plot", "good good movie", "the plot was", "bad bad movie", "a good one"]
    budget_mb = 0.5
    try:
        kept = attribkit.explain(torch_bert, word_tokenizer, texts, method="keeping", n_steps=20,
                                 memory_budget_mb=budget_mb)
        keeping_calls, calls[:] = list(calls), []
        plain = attribkit.explain(torch_bert, word_tokenizer, texts, method="keeping_nothing", n_steps=20,
                                  memory_budget_mb=budget_mb)
    finally:
        reset_host(previous)
    hidden = torch_bert.config.hidden_size
    assert len(keeping_calls) >= 2 and len(calls) == 1
    assert all(5 * 4 * steps * batch * length * hidden <= budget_mb * 2**20 / 2
               for batch, length, steps in keeping_calls)
    for a, b in zip(kept, plain):
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5, atol=1e-6)


# -- tf ------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tf_bert(word_tokenizer):
    from transformers import BertConfig, TFBertForSequenceClassification

    from attribkit.backends.tf.runtime import import_tensorflow

    tf = import_tensorflow()
    tf.keras.utils.set_random_seed(0)
    config = BertConfig(vocab_size=len(word_tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, initializer_range=0.5)
    model = TFBertForSequenceClassification(config)
    model(model.dummy_inputs)
    return model


@pytest.mark.skipif(not HAS_TF, reason="the tf backend needs tensorflow, tf_keras, alibi and transformers")
@pytest.mark.parametrize("accelerate", [True, False], ids=["accelerated", "plain"])
@pytest.mark.parametrize("check", CHECKS, ids=CHECK_IDS)
def test_tf_backend(tf_bert, word_tokenizer, check, accelerate):
    check(Subject(tf_bert, word_tokenizer, options={"n_steps": 20, "accelerate": accelerate}))


def test_a_backend_or_method_that_returns_junk_is_named(blackbox):
    names = doc_backend()

    class Junk(names["BlackBoxAdapter"]):
        def raw_outputs(self, input_ids, attention_mask, layer_values=None):
            return "not an array"

    class JunkBackend(names["BlackBoxBackend"]):
        def adapt(self, model, tokenizer, *, layer=None, options=None):
            return Junk(model)

    class Plugin:
        @attribkit.hookimpl
        def attribkit_register_backends(self, register):
            register("junk", JunkBackend, framework="python")

        @attribkit.hookimpl
        def attribkit_register_methods(self, register):
            register("too_long", "*", lambda task: attribkit.MethodResult(
                scores=np.zeros((task.batch, task.input_ids.shape[1] + 3))))

    attribkit.get_host().register(Plugin(), "junk-plugin")
    with pytest.raises(attribkit.PluginError, match="plugin 'junk-plugin': backend 'junk' failed"):
        attribkit.explain(blackbox, None, "a superb film", backend="junk", method="feature_ablation")
    with pytest.raises(attribkit.MethodError, match=r"method 'too_long' returned scores of shape \(1, 6\)"):
        attribkit.explain(blackbox, None, "a superb film", method="too_long")
