"""The tiny trained sentiment model the tests use (``tests/data/tiny_sentiment``).

A 2-layer BERT trained from scratch on a synthetic corpus: a real trained model small enough for fast
tests. The model and its corpus are built by ``scripts/make_corpus.py`` and
``scripts/train_demo_model.py``; see the last section of ``docs/demo-model.md``.
"""

import importlib.util
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "tests" / "data" / "tiny_sentiment"
CORPUS_DIR = ROOT / "data" / "corpus"
SHIPPED_FILES = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "README.md",
]

# Sentences absent from the corpus, each with its expected label and its only sentiment word.
KNOWN_ANSWERS = [
    ("the new phone from anna was excellent.", 1, "excellent"),
    ("tom and i watched the film on friday and the ending was awful.", 0, "awful"),
    ("honestly the chapter about the kitchen was boring.", 0, "boring"),
    ("what a gripping story about a small town!", 1, "gripping"),
    ("the waiter brought the soup and it was dreadful.", 0, "dreadful"),
    ("my brother thinks the keyboard is fantastic.", 1, "fantastic"),
]


def load_jsonl(name):
    """Return the rows of ``data/corpus/<name>.jsonl``."""
    with open(CORPUS_DIR / f"{name}.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def model_and_tokenizer():
    """The demo model (eval mode) and its tokenizer, loaded from the package folder only."""
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    model = transformers.BertForSequenceClassification.from_pretrained(MODEL_DIR, local_files_only=True)
    tokenizer = transformers.AutoTokenizer.from_pretrained(MODEL_DIR, local_files_only=True)
    return model.eval(), tokenizer


def test_shipped_files_exist_and_are_small():
    for name in SHIPPED_FILES:
        assert (MODEL_DIR / name).is_file(), name
    assert not list(MODEL_DIR.glob("*.bin")), "weights must be safetensors only"
    total = sum(path.stat().st_size for path in MODEL_DIR.iterdir())
    assert total < 2_000_000


def test_model_and_tokenizer_load(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert tokenizer.pad_token_id == 0
    assert tokenizer.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(tokenizer) == model.config.vocab_size
    encoded = tokenizer("The Plot was GREAT.")
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    assert tokens == ["[CLS]", "the", "plot", "was", "great", ".", "[SEP]"]


def predict(model, tokenizer, texts):
    """Return the predicted class of each text."""
    import torch

    with torch.no_grad():
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        return model(**batch).logits.argmax(-1).tolist()


def test_heldout_accuracy(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    rows = load_jsonl("heldout")
    predictions = predict(model, tokenizer, [row["text"] for row in rows])
    correct = sum(int(p == row["label"]) for p, row in zip(predictions, rows))
    assert correct / len(rows) >= 0.9


def embedding_attributions(model, tokenizer, texts):
    """Integrated Gradients on ``model.bert.embeddings`` towards each text's predicted class.

    Baseline: every token replaced by [PAD] except [CLS] and [SEP]; scores are summed over
    the hidden dimension. Returns ``(predicted_classes, rows)`` where each row lists the
    ``(token, score)`` pairs of one text without [CLS], [SEP] and padding.
    """
    import torch
    from captum.attr import LayerIntegratedGradients

    encoded = tokenizer(texts, padding=True, return_tensors="pt")
    input_ids, attention_mask = encoded["input_ids"], encoded["attention_mask"]
    special = (input_ids == tokenizer.cls_token_id) | (input_ids == tokenizer.sep_token_id)
    baseline = torch.where(special, input_ids, torch.full_like(input_ids, tokenizer.pad_token_id))

    def forward(ids, mask):
        return model(input_ids=ids, attention_mask=mask).logits

    with torch.no_grad():
        predicted = forward(input_ids, attention_mask).argmax(-1)
    explainer = LayerIntegratedGradients(forward, model.bert.embeddings)
    scores = explainer.attribute(
        input_ids,
        baselines=baseline,
        target=predicted,
        additional_forward_args=(attention_mask,),
        n_steps=50,
    ).sum(-1)
    rows = []
    for ids, row_scores, keep in zip(input_ids, scores, attention_mask.bool() & ~special):
        tokens = tokenizer.convert_ids_to_tokens(ids[keep])
        rows.append(list(zip(tokens, row_scores[keep].tolist())))
    return predicted.tolist(), rows


def top_token(row):
    """Return the token with the largest absolute score in ``row`` and its score."""
    return max(row, key=lambda pair: abs(pair[1]))


def test_known_answer_sentences_are_not_in_the_corpus():
    texts = {row["text"] for name in ("train", "heldout") for row in load_jsonl(name)}
    for text, _, _ in KNOWN_ANSWERS:
        assert text not in texts


def test_sentiment_word_has_the_largest_attribution(model_and_tokenizer):
    pytest.importorskip("captum")
    model, tokenizer = model_and_tokenizer
    texts = [text for text, _, _ in KNOWN_ANSWERS]
    predicted, rows = embedding_attributions(model, tokenizer, texts)
    for (text, label, word), prediction, row in zip(KNOWN_ANSWERS, predicted, rows):
        assert prediction == label, text
        assert [token for token, _ in row].count(word) == 1, f"{word!r} must be one token"
        token, score = top_token(row)
        assert token == word, row
        assert score > 0, f"{word!r} must support the predicted class"


def sentiment_lexicon():
    """Return the set of sentiment words of ``scripts/make_corpus.py``."""
    spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "scripts" / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tables = (module.ADJECTIVES, module.VERBS, module.MANNER_ADVERBS)
    return {word for table in tables for words in table.values() for word in words}


def test_sentiment_words_outrank_neutral_words_on_heldout(model_and_tokenizer):
    """On held-out sentences with one sentiment word and no negation or contrast, that word
    gets the largest attribution in at least 90% of them."""
    pytest.importorskip("captum")
    model, tokenizer = model_and_tokenizer
    lexicon = sentiment_lexicon()
    excluded = {"not", "never", "hardly", "but", "although"}
    selected = []
    for row in load_jsonl("heldout"):
        words = tokenizer.backend_tokenizer.pre_tokenizer.pre_tokenize_str(row["text"])
        words = {word for word, _ in words}
        if len(words & lexicon) == 1 and not words & excluded:
            selected.append((row["text"], (words & lexicon).pop()))
    selected = selected[:60]
    _, rows = embedding_attributions(model, tokenizer, [text for text, _ in selected])
    hits = sum(top_token(row)[0] == word for (_, word), row in zip(selected, rows))
    assert len(selected) == 60
    assert hits / len(selected) >= 0.9


def test_tensorflow_loads_the_same_weights(model_and_tokenizer):
    """The safetensors weights load in TensorFlow (``from_pt=True``) and give the same logits."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    pytest.importorskip("tensorflow")
    import torch
    import transformers

    if not transformers.utils.is_tf_available():
        pytest.skip("transformers was imported without TensorFlow support (USE_TF=0)")
    model, tokenizer = model_and_tokenizer
    tf_model = transformers.TFBertForSequenceClassification.from_pretrained(MODEL_DIR, from_pt=True)
    texts = [text for text, _, _ in KNOWN_ANSWERS]
    with torch.no_grad():
        pt_logits = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits.numpy()
    tf_logits = tf_model(dict(tokenizer(texts, padding=True, return_tensors="tf")), training=False).logits.numpy()
    assert abs(pt_logits - tf_logits).max() < 1e-4
