"""attribkit.explain / render through a real third-party backend (the example plugin).

The example's LexiconModel has a known answer: with output="logit" the
attribution of a word is exactly its weight.
"""
import numpy as np
import pytest

import attribkit
from attribkit import BatchError, InputError, MethodError, ModelError, TargetError

example = pytest.importorskip("attribkit_example", reason="run `make test`: it installs plugins/attribkit-example")

MODEL = example.LexiconModel({"superb": 2.0, "dull": -1.5, "fine": 0.5}, bias=-0.2)
TOKENIZER = example.WhitespaceTokenizer()


def test_single_text_gives_one_explanation_with_the_known_answer():
    e = attribkit.explain(MODEL, TOKENIZER, "a superb but dull film", output="logit")
    assert isinstance(e, attribkit.Explanation)
    np.testing.assert_allclose(e.scores, [0, 2.0, 0, -1.5, 0])
    assert e.prediction.label == "positive" and e.target.label == "positive"
    assert e.completeness_gap == pytest.approx(0.0, abs=1e-12)
    assert e.model.backend == "lexicon" and e.method.output == "logit"


def test_probability_output_satisfies_completeness():
    e = attribkit.explain(MODEL, TOKENIZER, "superb and fine", n_steps=200)
    assert e.relative_completeness_gap < 1e-3
    assert top_token(e) == "superb"


def top_token(e):
    return attribkit.top_k(e, 1)[0].token


def test_list_gives_a_list_in_order_and_targets_per_text():
    texts = ["superb", "dull", "fine film"]
    results = attribkit.explain(MODEL, TOKENIZER, texts, target=["positive", 0, None], true_label=[1, 0, 1])
    assert [e.text for e in results] == texts
    assert [e.target.label for e in results] == ["positive", "negative", "positive"]
    assert [e.true_label for e in results] == [1, 0, 1]


def test_target_by_label_is_case_insensitive_and_bad_targets_are_clear():
    assert attribkit.explain(MODEL, TOKENIZER, "superb", target="NEGATIVE").target.index == 0
    with pytest.raises(TargetError, match=r"unknown target label 'neutral'; this model's labels are \['negative', 'positive'\]"):
        attribkit.explain(MODEL, TOKENIZER, "superb", target="neutral")
    with pytest.raises(TargetError, match=r"target index 7 is out of range: this model has 2 classes"):
        attribkit.explain(MODEL, TOKENIZER, "superb", target=7)


def test_a_bad_item_in_a_batch_keeps_the_good_results():
    texts = ["superb film", "   ", "dull film"]
    with pytest.raises(BatchError) as info:
        attribkit.explain(MODEL, TOKENIZER, texts)
    error = info.value
    assert list(error.errors) == [1] and "empty or only whitespace" in str(error.errors[1])
    assert error.results[0].text == "superb film" and error.results[2].text == "dull film"
    assert error.results[1] is None and len(error.explanations) == 2
    assert "item 1" in str(error) and "1 of 3 inputs failed (2 explained" in str(error)
    mixed = attribkit.explain(MODEL, TOKENIZER, texts, errors="return")
    assert isinstance(mixed[1], InputError) and mixed[2].text == "dull film"


def test_per_text_backend_errors_are_kept_per_item():
    with pytest.raises(BatchError) as info:
        attribkit.explain(MODEL, TOKENIZER, ["superb", "dull"], target=["positive", "neutral"])
    assert isinstance(info.value.errors[1], TargetError) and info.value.results[0].target.label == "positive"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(method="magic"), MethodError, r"method 'magic' is not supported by backend 'lexicon'; supported: \['anchors', 'feature_ablation', 'integrated_gradients', 'kernel_shap', 'lime', 'occlusion'\]"),
        (dict(output="softmax"), InputError, r"output must be one of \('probability', 'logit', 'sum'\)"),
        (dict(n_steps=0), InputError, "n_steps must be 'auto' or a positive integer"),
        (dict(n_steps=10**9), InputError, "n_steps=1000000000 is more than 10000"),
        (dict(errors="ignore"), InputError, "errors must be one of"),
        (dict(backend="nope"), attribkit.AttribkitError, r"unknown backend 'nope'; available: "),
        (dict(normalization="l2"), InputError, r"unknown option\(s\) \['normalization'\].*pass them to "
         r"attribkit.render\(explanations, 'html', normalization=...\); attribkit.normalize"),
        (dict(view="token"), InputError, r"attribkit.render\(explanations, 'terminal', view=...\)"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        attribkit.explain(MODEL, TOKENIZER, "superb", **kwargs)


def test_bad_texts():
    with pytest.raises(InputError, match="empty or only whitespace"):
        attribkit.explain(MODEL, TOKENIZER, "")
    with pytest.raises(InputError, match="no texts given"):
        attribkit.explain(MODEL, TOKENIZER, [])
    with pytest.raises(InputError, match="must be a str or a list of str"):
        attribkit.explain(MODEL, TOKENIZER, 42)
    with pytest.raises(InputError, match="target: 1 values given for 2 texts"):
        attribkit.explain(MODEL, TOKENIZER, ["a", "b"], target=[1])


def test_unsupported_model_type_names_the_type_and_the_fix():
    with pytest.raises(ModelError, match=r"no backend recognises a model of type builtins.dict.*torch.nn.Module"):
        attribkit.explain({"not": "a model"}, TOKENIZER, "superb")


def test_plugin_warnings_are_attached():
    class Flagger:
        @attribkit.hookimpl
        def attribkit_explanation_warnings(self, explanation):
            return [f"{len(explanation)} tokens seen"]

    host = attribkit.get_host()
    host.register(Flagger(), "flagger-test")
    try:
        e = attribkit.explain(MODEL, TOKENIZER, "superb film")
        assert "2 tokens seen" in e.warnings
    finally:
        host.pm.unregister(name="flagger-test")
        del host.records["flagger-test"]


def test_third_party_renderer_and_save_load(tmp_path):
    e = attribkit.explain(MODEL, TOKENIZER, "superb <b>film</b> | yes")
    markdown = attribkit.render(e, "markdown", path=tmp_path / "out.md")
    assert (tmp_path / "out.md").read_text() == markdown and "&lt;b&gt;" in markdown and "<b>" not in markdown
    escaped = attribkit.render(attribkit.explain(MODEL, TOKENIZER, "superb \x1b[2J film"), "markdown")
    assert "\x1b" not in escaped and "\\x1b" in escaped
    attribkit.save([e], tmp_path / "e.jsonl")
    assert attribkit.load(tmp_path / "e.jsonl")[0].text == e.text


def test_render_refuses_non_explanations_and_unknown_formats():
    with pytest.raises(InputError, match="item 0 is a str, not an Explanation"):
        attribkit.render(["oops"], "json")
    with pytest.raises(attribkit.AttribkitError, match="unknown format 'pdf'"):
        attribkit.render([], "pdf")


@pytest.mark.parametrize("text, target, true_label, error, message", [
    ("bad \udcff text", None, None, InputError, "lone surrogate (U+DCFF) at character 4"),
    ("\u200b\u200b", None, None, InputError, "has no visible character"),
    ("\x00", None, None, InputError, "has no visible character"),
    ("\u0301", None, None, InputError, "has no visible character"),
    ("superb", None, 2.5, InputError, "true label 2.5 is not one of this model's classes"),
    ("superb", None, "pos", InputError, "true label 'pos' is not one of this model's classes"),
    ("superb", "\u00b2", None, TargetError, "unknown target label '\u00b2'"),
])
def test_one_bad_item_never_costs_the_batch(text, target, true_label, error, message):
    texts = ["superb film", text, "dull film"]
    results = attribkit.explain(MODEL, TOKENIZER, texts, target=[None, target, None],
                                true_label=[1, true_label, "negative"], errors="return")
    assert isinstance(results[0], attribkit.Explanation) and isinstance(results[2], attribkit.Explanation)
    assert isinstance(results[1], error) and message in str(results[1])
    with pytest.raises(BatchError) as caught:
        attribkit.explain(MODEL, TOKENIZER, texts, target=[None, target, None], true_label=[1, true_label, 0])
    assert caught.value.results[0].text == "superb film" and list(caught.value.errors) == [1]
