"""alibi's transformer example with attribkit: Integrated Gradients on a TF DistilBERT classifier.

alibi's example wraps ``TFAutoModelForSequenceClassification`` in a Keras
``AutoModelWrapper`` that applies the softmax, finds the embeddings layer,
builds a pad baseline that keeps [CLS]/[SEP], tokenises with an attention
mask passed as ``forward_kwargs``, takes the predicted classes as targets,
sums the attributions over the hidden dimension and strips the padding by
hand. Here one call does all of it, with alibi underneath.

To run offline in seconds, the classifier is a tiny DistilBERT built from a
config with a word-level tokenizer, trained for a moment on templated
sentences. alibi 0.9.5+ is under the Business Source License 1.1
(non-production use only).

    python examples/tf_distilbert.py [--html report.html]
"""
import argparse
import os
import tempfile

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # alibi and the Hugging Face TF classes need Keras 2

import numpy as np
import tensorflow as tf
from transformers import BertTokenizerFast, DistilBertConfig, TFDistilBertForSequenceClassification

import attribkit

POSITIVE = ["love", "like", "nice", "wonderful"]
NEGATIVE = ["dislike", "hate", "awful", "boring"]
NEUTRAL = ["i", "you", ",", "but", "also", "kind", "of", "everything", "is", "so", "about", "the", "movie"]
TEXT_SAMPLES = [  # the texts of alibi's example
    "I love you, I like you",
    "I love you, I like you, but I also kind of dislike you",
    "Everything is so nice about you",
]


def build_tokenizer(folder):
    """A lowercase WordPiece tokenizer over the example's words."""
    path = os.path.join(folder, "vocab.txt")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *POSITIVE, *NEGATIVE, *NEUTRAL]) + "\n")
    return BertTokenizerFast(vocab_file=path)


def build_model(tokenizer):
    """A 2-layer DistilBERT (dim 32) with labels NEGATIVE/POSITIVE."""
    tf.keras.utils.set_random_seed(0)
    config = DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                              max_position_embeddings=64, id2label={0: "NEGATIVE", 1: "POSITIVE"},
                              label2id={"NEGATIVE": 0, "POSITIVE": 1})
    return TFDistilBertForSequenceClassification(config)


def synthetic_sentences(rng, n):
    """``n`` sentences of neutral words with a few sentiment words, and soft labels ``(n, 2)``.

    The label follows the balance of sentiment words; sentences without one
    (or balanced) are 50/50, so the pad baseline is neutral, as a baseline should be.
    """
    texts, labels = [], []
    for _ in range(n):
        positive, negative = rng.integers(0, 3, size=2)
        words = [*rng.choice(NEUTRAL, size=rng.integers(2, 8)), *rng.choice(POSITIVE, size=positive),
                 *rng.choice(NEGATIVE, size=negative)]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append([0.5, 0.5] if positive == negative else [float(negative > positive), float(positive > negative)])
    return texts, np.array(labels)


def train(model, tokenizer, n=1024, epochs=3):
    """Teach the classifier that the sentiment words decide the class (a few seconds)."""
    texts, labels = synthetic_sentences(np.random.default_rng(0), n)
    batch = dict(tokenizer(texts, padding=True, return_token_type_ids=False, return_tensors="np"))
    model.compile(optimizer=tf.keras.optimizers.Adam(3e-3),
                  loss=tf.keras.losses.CategoricalCrossentropy(from_logits=True))
    model.fit(batch, labels, batch_size=32, epochs=epochs, verbose=0)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", help="also write an HTML report to this path")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        tokenizer = build_tokenizer(folder)
    model = train(build_model(tokenizer), tokenizer)

    # alibi's example, in one call: n_steps=50, Gauss-Legendre, pad baseline, predicted class.
    explanations = attribkit.explain(model, tokenizer, TEXT_SAMPLES, n_steps=50)
    print(attribkit.render(explanations, "terminal"))
    for explanation in explanations:
        top = ", ".join(f"{t.token} {t.score:+.3f}" for t in attribkit.top_k(explanation, 3))
        print(f"{explanation.prediction.label:>8} ({explanation.prediction.probability:.2f})  top: {top}  "
              f"<- {explanation.text!r}")
    if args.html:
        attribkit.render(explanations, "html", path=args.html)
        print(f"wrote {args.html}")


if __name__ == "__main__":
    main()
