"""A Keras sentiment model with its own word tokenizer, explained with attribkit (alibi underneath).

The usual way with alibi: pad ``tokenizer.texts_to_sequences(texts)`` with
``pad_sequences(maxlen=256, truncating="post")``, give ``model.layers[0]``
(the ``Embedding``) to ``IntegratedGradients``, turn the sigmoid output into
targets by hand (``0 if p < 0.5 else 1``), sum the attributions over the
embedding dimension, then cut the padding and line the words up with
``text.split()`` - which goes wrong as soon as punctuation or an unknown
word is dropped by the tokenizer. attribkit pads the same way, keeps track of
where each word went and finds each word in the text.

To run offline in seconds, the model is a small ``Embedding -> pooling ->
Dense(1, sigmoid)`` network trained for a moment on templated reviews.
alibi 0.9.5+ is under the Business Source License 1.1 (non-production use only).

    python examples/tf_keras_word_model.py [--html report.html]
"""
import argparse
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # alibi needs Keras 2 as tf.keras

import numpy as np
import tf_keras as keras

import attribkit
from attribkit.backends.tf import WordTokenizer

MAXLEN = 256
POSITIVE = ["superb", "great", "wonderful", "nice", "brilliant"]
NEGATIVE = ["weakest", "bland", "garbage", "shopworn", "undone"]
NEUTRAL = ["the", "a", "this", "is", "of", "one", "model", "movie", "remake", "call", "by", "and", "in",
           "entries", "performances", "shocks", "example", "to", "see", "learning", "so", "simple"]
TEXTS = [  # the seed's examples
    "One of the weakest entries in the J-horror remake sweepstakes, One Missed Call is undone by bland "
    "performances and shopworn shocks.",
    "this is a great and wonderful example of NLP",
    "is hard to say something about a model so simple",
]


def synthetic_reviews(rng, n):
    """``n`` reviews of neutral words with one or two sentiment words; label 1 for positive."""
    labels = rng.integers(0, 2, size=n)
    texts = []
    for label in labels:
        words = [*rng.choice(NEUTRAL, size=rng.integers(3, 12)),
                 *rng.choice((NEGATIVE, POSITIVE)[label], size=rng.integers(1, 3))]
        rng.shuffle(words)
        texts.append(" ".join(words))
    return texts, labels


def build_and_train(tokenizer, texts, labels):
    """Embedding(16) -> GlobalAveragePooling1D -> Dense(1, sigmoid), fed pre-padded sequences of 256 words."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((MAXLEN,), dtype="int32"),
        keras.layers.Embedding(len(tokenizer.word_index) + 1, 16),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    padded = keras.preprocessing.sequence.pad_sequences(tokenizer.texts_to_sequences(texts), maxlen=MAXLEN,
                                                        truncating="post")
    model.fit(padded, labels, epochs=8, batch_size=64, verbose=0)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", help="also write an HTML report to this path")
    args = parser.parse_args()

    texts, labels = synthetic_reviews(np.random.default_rng(0), 1024)
    tokenizer = keras.preprocessing.text.Tokenizer(oov_token="<OOV>")
    tokenizer.fit_on_texts(texts)
    model = build_and_train(tokenizer, texts, labels)

    # The seed's IntegratedGradients(model, layer=model.layers[0], n_steps=50, method="gausslegendre")
    # with a zero (padding) baseline and the predicted class as target, in one call:
    explanations = attribkit.explain(model, tokenizer, TEXTS, truncating="post")
    print(attribkit.render(explanations, "terminal"))
    for explanation in explanations:
        top = ", ".join(f"{t.token} {t.score:+.3f}" for t in attribkit.top_k(explanation, 3))
        print(f"{explanation.prediction.label:>8} ({explanation.prediction.probability:.2f})  top: {top}")

    # Any other word tokenizer: a function text -> ids and a mapping id -> word.
    vocabulary = tokenizer.word_index
    plain = WordTokenizer(encode=lambda text: [vocabulary[w] for w in text.lower().split() if w in vocabulary],
                          id_to_word=tokenizer.index_word)
    explanation = attribkit.explain(model, plain, "a brilliant remake")
    print("with a WordTokenizer:", list(zip(explanation.tokens, np.round(explanation.scores, 3))))
    if args.html:
        attribkit.render(explanations, "html", path=args.html)
        print(f"wrote {args.html}")


if __name__ == "__main__":
    main()
