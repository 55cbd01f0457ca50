"""JSON and JSON Lines: every field round-trips; bad files give one clear error."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribkit
from attribkit import Explanation, SchemaError
from conftest import build_explanation


def assert_same(a: Explanation, b: Explanation) -> None:
    for name in ("text", "tokens", "true_label", "convergence_delta", "completeness_gap", "output_difference",
                 "warnings", "attribkit_version", "schema_version"):
        assert getattr(a, name) == getattr(b, name), name
    for name in ("offsets", "token_ids", "special_mask", "scores"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    if a.attributions is None:
        assert b.attributions is None
    else:
        np.testing.assert_array_equal(a.attributions, b.attributions)
    assert a.target == b.target
    np.testing.assert_array_equal(a.prediction.probabilities, b.prediction.probabilities)
    np.testing.assert_array_equal(a.prediction.raw, b.prediction.raw)
    assert a.prediction.labels == b.prediction.labels
    assert (a.method.name, a.method.output, dict(a.method.params)) == (b.method.name, b.method.output, dict(b.method.params))
    assert vars(a.model) == vars(b.model)


def test_round_trip_preserves_every_field():
    e = build_explanation(attributions=np.arange(24, dtype=float).reshape(6, 4) / 7, warnings=("truncated",),
                          method=attribkit.Method("gradient_shap", "logit", {"n_steps": 7, "seed": 3, "layer": "bert.embeddings"}))
    assert_same(e, Explanation.from_json(e.to_json()))
    assert_same(e, Explanation.from_dict(json.loads(e.to_json(indent=2))))


def test_json_is_valid_against_the_shipped_schema():
    import jsonschema

    from attribkit.serialize import schema

    jsonschema.validate(build_explanation().to_dict(), schema())


def test_without_attributions():
    e = build_explanation(attributions=np.ones((6, 3)))
    assert Explanation.from_json(e.to_json(include_attributions=False)).attributions is None


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("scores"), "'scores' is a required property"),
        (lambda d: d.update(scores=["a"] * 6), "invalid explanation at scores/0"),
        (lambda d: d.update(scores=[0.0] * 5), "scores: expected shape (6,)"),
        (lambda d: d.update(schema_version="2.0"), "written with explanation schema 2.0"),
        (lambda d: d.update(schema_version="banana"), "not an attribkit explanation"),
        (lambda d: d["method"].update(output="softmax"), "invalid explanation at method/output"),
    ],
)
def test_malformed_documents_give_one_clear_line(mutate, message):
    data = build_explanation().to_dict()
    mutate(data)
    with pytest.raises(SchemaError) as info:
        Explanation.from_dict(data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_newer_schema_is_refused_with_upgrade_hint():
    data = build_explanation().to_dict() | {"schema_version": "2.1", "attribkit_version": "9.0"}
    with pytest.raises(SchemaError, match=r"schema 2.1 \(attribkit 9.0\).*upgrade attribkit"):
        Explanation.from_dict(data)


def test_newer_minor_version_with_extra_fields_is_read():
    data = build_explanation().to_dict() | {"schema_version": "1.7", "something_new": [1, 2]}
    assert Explanation.from_dict(data).schema_version == "1.7"


def test_not_json():
    with pytest.raises(SchemaError, match="not valid JSON"):
        Explanation.from_json("{oops")


def test_save_and_load_jsonl(tmp_path):
    items = [build_explanation(text=f"text number {i}") for i in range(5)]
    path = tmp_path / "many.jsonl"
    assert attribkit.save(items, path) == 5
    assert len(path.read_text().splitlines()) == 5
    loaded = attribkit.load(path)
    for a, b in zip(items, loaded):
        assert_same(a, b)


def test_load_reads_a_json_array_and_a_pretty_object(tmp_path):
    e = build_explanation()
    (tmp_path / "one.json").write_text(e.to_json(indent=2))
    (tmp_path / "arr.json").write_text(attribkit.render([e, e], "json") if "json" in attribkit.get_host().renderers
                                       else "[" + e.to_json() + "," + e.to_json() + "]")
    assert len(attribkit.load(tmp_path / "one.json")) == 1
    assert len(attribkit.load(tmp_path / "arr.json")) == 2


def test_iter_load_streams_and_reports_the_bad_line(tmp_path):
    path = tmp_path / "broken.jsonl"
    good = build_explanation().to_json()
    path.write_text(good + "\n" + good + "\n{not json\n" + good + "\n")
    stream = attribkit.iter_load(path)
    assert next(stream).text == "The movie is superb"
    assert next(stream).text == "The movie is superb"
    with pytest.raises(SchemaError, match=r"broken.jsonl, line 3: not valid JSON"):
        next(stream)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"text": "caf\xe9"}\n')
    with pytest.raises(SchemaError, match="line 1: not UTF-8"):
        attribkit.load(path)


def test_unwritable_path(tmp_path):
    with pytest.raises(attribkit.InputError, match="cannot write .*choose a writable path"):
        attribkit.save([build_explanation()], tmp_path / "missing-dir" / "x.jsonl")


printable = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(printable.filter(lambda s: s != ""), min_size=1, max_size=8),
    scores=st.data(),
    labels=st.lists(printable, min_size=2, max_size=4, unique=True),
    true_label=st.one_of(st.none(), st.integers(-5, 5), printable),
    params=st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), printable, st.booleans(), st.none()), max_size=4),
)
def test_round_trip_property(words, scores, labels, true_label, params):
    n = len(words) + 2
    values = scores.draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=n, max_size=n))
    probs = np.full(len(labels), 1.0 / len(labels))
    e = build_explanation(
        text=" ".join(words), tokens=["[CLS]", *words, "[SEP]"], scores=values, labels=labels,
        probabilities=probs, target=len(labels) - 1, true_label=true_label,
        method=attribkit.Method("integrated_gradients", "probability", params),
    )
    assert_same(e, Explanation.from_json(e.to_json()))
