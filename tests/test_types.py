"""The Explanation type: validation on construction and the pure functions on it."""
import numpy as np
import pytest

import attribkit
from attribkit import Explanation, Method, ModelInfo, Prediction, Target
from attribkit.ops import normalize, top_k, words


def test_fields_are_read_only_and_typed(make_explanation):
    e = make_explanation()
    assert e.scores.dtype == np.float64 and e.token_ids.dtype == np.int64 and e.special_mask.dtype == bool
    with pytest.raises(ValueError):
        e.scores[0] = 3.0
    with pytest.raises(AttributeError):
        e.text = "other"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("scores", [0.1, 0.2], "scores: expected shape (6,)"),
        ("scores", [0.1, float("nan"), 0, 0, 0, 0], "scores: contains NaN"),
        ("scores", [0.1, float("inf"), 0, 0, 0, 0], "scores: contains NaN or infinite"),
        ("token_ids", [[1, 2, 3, 4, 5, 6]], "token_ids: expected 1 dimension"),
        ("special_mask", [True] * 5, "special_mask: expected shape (6,)"),
        ("offsets", [(0, 0)] * 5, "offsets: expected shape (6, 2)"),
        ("offsets", [(0, 0)] * 5 + [(3, 99)], "offsets: spans must satisfy"),
        ("text", b"bytes", "text: expected str"),
        ("attributions", np.zeros((5, 4)), "attributions: expected 6 rows"),
        ("completeness_gap", float("nan"), "completeness_gap: must be finite"),
        ("true_label", 1.5, "true_label: expected int, str or None"),
        ("target", Target(5, "positive"), "target.index: 5 out of range"),
        ("target", Target(0, "positive"), "target.label: 'positive' is not the label of class 0"),
        ("prediction", "positive", "prediction: expected Prediction"),
    ],
)
def test_invalid_fields_raise_value_error_naming_the_field(make_explanation, field, value, message):
    with pytest.raises(ValueError) as info:
        make_explanation(**{field: value})
    assert message in str(info.value)


def test_prediction_and_method_validation():
    with pytest.raises(ValueError, match="prediction.labels: 3 labels for 2 probabilities"):
        Prediction([0.2, 0.8], ("a", "b", "c"))
    with pytest.raises(ValueError, match="method.output"):
        Method("integrated_gradients", "softmax")
    with pytest.raises(ValueError, match="method.params.layer: object is not JSON-serialisable"):
        Method("ig", "logit", {"layer": object()})
    with pytest.raises(ValueError, match="model.name: expected str"):
        ModelInfo("torch", "torch", None)
    p = Prediction([0.3, 0.7], ("neg", "pos"))
    assert (p.index, p.label, p.probability) == (1, "pos", 0.7)


def test_relative_gap_and_repr(make_explanation):
    e = make_explanation(completeness_gap=0.02, output_difference=-0.4)
    assert e.relative_completeness_gap == pytest.approx(0.05)
    assert "superb" not in repr(e) or "The movie is superb" in repr(e)
    assert "n_tokens=6" in repr(e)


def test_normalize():
    assert np.allclose(normalize([3.0, -4.0], "l2"), [0.6, -0.8])
    assert np.allclose(normalize([1.0, -4.0], "maxabs"), [0.25, -1.0])
    assert np.allclose(normalize([1.0, -4.0], "none"), [1.0, -4.0])
    assert np.allclose(normalize([0.0, 0.0], "l2"), [0.0, 0.0])
    with pytest.raises(ValueError, match="normalization"):
        normalize([1.0], "softmax")


def test_top_k_ranks_and_skips_special_tokens(make_explanation):
    e = make_explanation(scores=[5.0, 0.1, -0.9, 0.3, 0.8, 9.0])
    assert [r.token for r in top_k(e, 2)] == ["movie", "superb"]
    assert [r.token for r in top_k(e, 1, by="positive")] == ["superb"]
    assert [r.token for r in top_k(e, 1, by="negative")] == ["movie"]
    assert [r.token for r in top_k(e, 1, include_special=True)] == ["[SEP]"]


def test_words_from_offsets_sum_subword_scores():
    text = "unbelievably good"
    e = Explanation(
        text=text, tokens=["[CLS]", "un", "##believ", "##ably", "good", "[SEP]"],
        offsets=[(0, 0), (0, 2), (2, 8), (8, 12), (13, 17), (0, 0)], token_ids=[1, 2, 3, 4, 5, 6],
        special_mask=[True, False, False, False, False, True], scores=[0.0, 0.1, 0.2, 0.3, 0.5, 0.0],
        target=Target(1, "pos"), prediction=Prediction([0.2, 0.8], ("neg", "pos")),
        method=Method("ig"), model=ModelInfo("test", "test", "m"),
    )
    result = words(e, include_special=False)
    assert [w.text for w in result] == ["unbelievably", "good"]
    ranked = top_k(e, 2, words=True)  # 0.1 + 0.2 + 0.3 = 0.6 beats "good" (0.5); no "##ably" piece
    assert [(w.text, round(w.score, 6)) for w in ranked] == [("unbelievably", 0.6), ("good", 0.5)]
    assert [w.text for w in top_k(e, 1, words=True, by="negative")] == ["good"]
    assert [r.token for r in top_k(e, 1)] == ["good"]
    assert result[0].score == pytest.approx(0.6) and result[0].token_indices == (1, 2, 3)
    assert sum(w.score for w in words(e)) == pytest.approx(e.scores.sum())


@pytest.mark.parametrize(
    "tokens, expected",
    [
        (["[CLS]", "un", "##believ", "##ably", "good", "[SEP]"], ["unbelievably", "good"]),
        (["<s>", "Ġun", "believ", "ably", "Ġgood", "</s>"], ["unbelievably", "good"]),
        (["[CLS]", "▁un", "believ", "ably", "▁good", "[SEP]"], ["unbelievably", "good"]),
    ],
)
def test_words_from_subword_markers_without_offsets(tokens, expected):
    special = [t in ("[CLS]", "[SEP]", "<s>", "</s>") for t in tokens]
    e = Explanation(
        text="unbelievably good", tokens=tokens, offsets=[(0, 0)] * 6, token_ids=range(6),
        special_mask=special, scores=[0, 1, 1, 1, 2, 0], target=Target(0, "a"),
        prediction=Prediction([0.5, 0.5], ("a", "b")), method=Method("ig"), model=ModelInfo("t", "t", "m"),
    )
    result = words(e, include_special=False)
    assert [w.text for w in result] == expected
    assert [w.score for w in result] == [3.0, 2.0]


def test_public_api_is_reexported():
    for name in ("explain", "render", "save", "load", "hookimpl", "Explanation", "AttribkitError", "top_k", "words"):
        assert hasattr(attribkit, name)
