"""Seed 002: alibi's IntegratedGradients on TF DistilBERT through the seed's own ``AutoModelWrapper``.

The seed wraps each ``TFAutoModelForSequenceClassification`` in a Keras
``AutoModelWrapper`` whose ``call`` returns ``tf.nn.softmax(out.logits)``,
picks ``auto_model.layers[0].layers[0].embeddings``, tokenises with an
attention mask passed as ``forward_kwargs``, builds a baseline that keeps
every special id (``np.isin(X, tokenizer.all_special_ids)``) and sums the
attributions over the hidden dimension. It does so for two models: the SST-2
classifier and a DistilBERT fine-tuned on IMDB.

attribkit explains the wrapper as it is: it finds the Hugging Face model
inside, attributes at its embeddings, passes the attention mask, sees the
softmax in the outputs (they sum to 1, so they are not squashed again)
and reports the wrapper's own probabilities. ``baseline="pad_all_special"``
is the seed's baseline; attribkit's default, ``"pad"``, keeps only [CLS]
and [SEP] and also replaces [UNK].

    python examples/seed_002_alibi_distilbert.py
"""
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # alibi and the Hugging Face TF classes need Keras 2
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from typing import Optional, Union  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402  (the seed: from tensorflow import keras, Keras 2)
from alibi.explainers import IntegratedGradients  # noqa: E402

import attribkit  # noqa: E402
from _offline import report, tf_distilbert, word_piece_tokenizer  # noqa: E402

SST2_TEXTS = [  # the seed's texts
    "I love you, I like you",
    "I love you, I like you, but I also kind of dislike you",
    "Everything is so nice about you",
]
IMDB_TEXTS = [
    "best movie i've ever seen nothing bad to say about it",  # the seed's own review
    "a boring film , bland and awful",
]


# -- the seed's lines ----------------------------------------------------------------------------------------
class AutoModelWrapper(keras.Model):
    def __init__(self, transformer: keras.Model, **kwargs):
        super().__init__()
        self.transformer = transformer

    def call(self,
             input_ids: Union[np.ndarray, tf.Tensor],
             attention_mask: Optional[Union[np.ndarray, tf.Tensor]] = None,
             training: bool = False):
        out = self.transformer(input_ids=input_ids, attention_mask=attention_mask, training=training)
        return tf.nn.softmax(out.logits, axis=-1)

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def process_input(sentence, tokenizer, max_len):
    tokens = tokenizer(sentence, add_special_tokens=True, padding="max_length", max_length=max_len,
                       truncation=True, return_tensors="np")
    return tokens["input_ids"], {"attention_mask": tokens["attention_mask"]}


def seed_scores(auto_model, tokenizer, text_samples):
    layer = auto_model.layers[0].layers[0].embeddings
    ig = IntegratedGradients(auto_model, layer=layer, n_steps=50, method="gausslegendre", internal_batch_size=5)
    X_test, kwargs = process_input(sentence=text_samples, tokenizer=tokenizer, max_len=64)  # the seed: 256
    predictions = auto_model(X_test, **kwargs).numpy().argmax(axis=1)
    mask = np.isin(X_test, tokenizer.all_special_ids)
    baselines = X_test * mask + tokenizer.pad_token_id * (1 - mask)
    explanation = ig.explain(X_test, forward_kwargs=kwargs, baselines=baselines, target=predictions)
    attrs = explanation.attributions[0].sum(axis=2)
    lengths = kwargs["attention_mask"].sum(axis=1)  # the seed's display() cuts at the first [PAD]
    return [attrs[i, :n] for i, n in enumerate(lengths)], auto_model(X_test, **kwargs).numpy()


# -- attribkit ---------------------------------------------------------------------------------------------
def main():
    tokenizer = word_piece_tokenizer()
    sst2 = tf_distilbert(tokenizer)  # the seed: TFAutoModelForSequenceClassification.from_pretrained(model_name)
    tf.keras.utils.set_random_seed(1)
    imdb = tf_distilbert(tokenizer)  # the seed's fine-tuned IMDB model (here: other random weights)
    same = True
    for name, transformer, texts in (("SST-2", sst2, SST2_TEXTS), ("IMDB", imdb, IMDB_TEXTS)):
        auto_model = AutoModelWrapper(transformer)
        explanations = attribkit.explain(auto_model, tokenizer, texts, baseline="pad_all_special")
        expected, probabilities = seed_scores(auto_model, tokenizer, texts)
        print(attribkit.render(explanations, "terminal", color=False, width=120))
        same &= report(f"seed 002, {name} model (alibi IntegratedGradients, AutoModelWrapper)",
                       [e.scores for e in explanations], expected)
        same &= report(f"seed 002, {name} model: prediction against the wrapper's softmax",
                       [e.prediction.probabilities for e in explanations], list(probabilities))
        direct = attribkit.explain(transformer, tokenizer, texts, baseline="pad_all_special")
        same &= report(f"seed 002, {name} model explained without the wrapper", [e.scores for e in direct], expected)
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
