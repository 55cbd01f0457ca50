"""Seed 003: alibi's IntegratedGradients on Keras word models with their own tokenizer, and attribkit.

The seed loads two Keras models (an ``Embedding`` over word ids, a sigmoid
or a softmax output) and a ``keras.preprocessing.text.Tokenizer``, pads
with ``pad_sequences(..., maxlen=256, truncating='post')``, explains at
``model.layers[1]`` (here: the ``Embedding``, ``model.layers[0]``) with the
default baseline (every id 0: padding) and the predicted class as target,
then sums over the embedding dimension and aligns words by hand.

attribkit takes the Keras tokenizer as it is, pads as ``pad_sequences``
does (``padding="pre"``) to the model's input length, and shows every word
of the text: words the tokenizer dropped are marked, not lost. The seed
truncates long texts at the end (``truncating='post'``); pass
``truncating="post"`` to do the same (attribkit's default for word
tokenizers is ``pad_sequences``' own, ``"pre"``). For the sigmoid model,
alibi's target 0 explains ``1 - p`` and target 1 explains ``p``, as
attribkit's classes 0 and 1 do.

    python examples/seed_003_keras_word_models.py [--html report.html]
"""
import argparse
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # alibi needs Keras 2 as tf.keras
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import tf_keras as keras  # noqa: E402  (the seed: from tensorflow import keras, Keras 2)
from alibi.explainers import IntegratedGradients  # noqa: E402

import attribkit  # noqa: E402
from _offline import report  # noqa: E402

MAXLEN = 256
POSITIVE = ["nice", "great", "wonderful", "superb", "learning"]
NEGATIVE = ["weakest", "bland", "garbage", "shopworn", "hard"]
NEUTRAL = ["the", "a", "this", "is", "of", "one", "model", "remake", "call", "by", "and", "in", "to", "see",
           "so", "simple", "say", "something", "about", "example", "performances", "shocks", "my", "money"]
STRINGS = [  # the seed's texts; words outside the tokenizer's vocabulary are dropped by it
    "is hard to say something about a model so simple",
    "this model is garbage, i wont my money back",
    "is nice to see philosophers doing machine learning",
    "this is a great and wonderful example of NLP",
    "One of the weakest entries in the J-horror remake sweepstakes, One Missed Call is undone by bland "
    "performances and shopworn shocks.",
]


def train_word_model(tokenizer, output):
    """The seed's kind of model: Embedding(50) -> pooling -> Dense(1, sigmoid) or Dense(2, softmax),
    fitted for a moment on reviews made of the words above (the seed loads its trained .h5 files)."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=512)
    texts = [" ".join(rng.permutation([*rng.choice(NEUTRAL, size=rng.integers(3, 10)),
                                       *rng.choice((NEGATIVE, POSITIVE)[label], size=rng.integers(1, 3))]))
             for label in labels]
    keras.utils.set_random_seed(0)
    head = keras.layers.Dense(1, activation="sigmoid") if output == "sigmoid" else keras.layers.Dense(
        2, activation="softmax")
    model = keras.Sequential([keras.Input((MAXLEN,), dtype="int32"),
                              keras.layers.Embedding(len(tokenizer.word_index) + 1, 50),
                              keras.layers.GlobalAveragePooling1D(), head])
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss="binary_crossentropy" if output == "sigmoid" else "sparse_categorical_crossentropy")
    padded = keras.preprocessing.sequence.pad_sequences(tokenizer.texts_to_sequences(texts), maxlen=MAXLEN)
    model.fit(padded, labels, epochs=12, batch_size=64, verbose=0)
    return model


# -- the seed's lines ----------------------------------------------------------------------------------------
def seed_scores(model, tokenizer, x_test_sample, output):
    layer = model.layers[0]  # the seed: model.layers[1], its Embedding
    ig = IntegratedGradients(model, target_fn=None, layer=layer, n_steps=50, method="gausslegendre",
                             internal_batch_size=256)
    sequences = keras.preprocessing.sequence.pad_sequences(tokenizer.texts_to_sequences(x_test_sample),
                                                           maxlen=256, truncating='post')
    preds = model.predict(sequences, verbose=0)
    if output == "sigmoid":
        target_function = [0 if preds[i][0] < 0.5 else 1 for i in range(len(preds))]
    else:
        target_function = preds.argmax(axis=1)
    explanation = ig.explain(sequences, baselines=None, target=target_function, attribute_to_layer_inputs=False)
    attrs = explanation.attributions[0].sum(axis=2)
    lengths = [len(s) for s in tokenizer.texts_to_sequences(x_test_sample)]
    return [attrs[i, MAXLEN - n:] for i, n in enumerate(lengths)]  # pre-padded: the words are at the end


# -- attribkit ---------------------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", help="also write the report to this path")
    args = parser.parse_args()

    tokenizer = keras.preprocessing.text.Tokenizer()
    tokenizer.fit_on_texts([" ".join(POSITIVE + NEGATIVE + NEUTRAL)])
    same, shown = True, []
    for output in ("sigmoid", "softmax"):
        model = train_word_model(tokenizer, output)
        explanations = attribkit.explain(model, tokenizer, STRINGS, truncating="post")
        same &= report(f"seed 003, {output} model (alibi IntegratedGradients, Keras tokenizer)",
                       [e.scores for e in explanations], seed_scores(model, tokenizer, STRINGS, output))
        shown.extend(explanations)
    print(attribkit.render(shown[:len(STRINGS)], "terminal", color=False, width=120))
    if args.html:
        attribkit.render(shown, "html", path=args.html)
        print(f"wrote {args.html}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
