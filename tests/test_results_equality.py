"""Explanations compare by value, carry metadata (schema 1.2), and files of schema 1.1 still load."""
import dataclasses
import json

import numpy as np
import pytest

import attribkit
from attribkit import Explanation
from conftest import build_explanation


def test_same_content_is_equal_and_hashes_alike():
    a, b = build_explanation(), build_explanation()
    assert a is not b and a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != dataclasses.replace(a, scores=a.scores + np.r_[0, 1e-12, 0, 0, 0, 0])
    assert a != dataclasses.replace(a, metadata={"id": 1})
    assert a != dataclasses.replace(a, true_label=0)
    assert a == dataclasses.replace(a, attribkit_version="0.0.1")  # who wrote it is not content
    assert a != a.to_dict() and (a == "text") is False


def test_saved_and_loaded_back_is_equal(tmp_path):
    explanations = [build_explanation(metadata={"id": "r7", "source": {"site": "forum", "stars": [4, 5]}}),
                    build_explanation(text="a second one", scores=np.array([0.1, -1 / 3, 2e-17, 0.0, 0.7]))]
    path = tmp_path / "saved.jsonl"
    attribkit.save(explanations, path)
    loaded = attribkit.load(path)
    assert loaded == explanations
    assert dict(loaded[0].metadata) == {"id": "r7", "source": {"site": "forum", "stars": [4, 5]}}
    assert loaded[0].schema_version == "1.2"


def test_a_schema_1_1_file_loads_without_metadata():
    data = build_explanation().to_dict()
    del data["metadata"]
    data["schema_version"] = "1.1"
    old = Explanation.from_dict(json.loads(json.dumps(data)))
    assert dict(old.metadata) == {} and old == build_explanation()


def test_metadata_holds_json_values_only():
    with pytest.raises(ValueError, match=r"metadata.when: datetime is not JSON-serialisable"):
        import datetime

        build_explanation(metadata={"when": datetime.datetime(2026, 1, 1)})
    with pytest.raises(ValueError, match="metadata: expected a mapping of JSON values, got list"):
        build_explanation(metadata=[1, 2])
    with pytest.raises(TypeError):
        build_explanation(metadata={"id": 1}).metadata["id"] = 2  # read-only, like the arrays
