"""Keras classifiers fed padded word ids, with their own word tokenizer.

The usual shape: ``Embedding -> ... -> Dense(1, sigmoid)`` (or softmax),
trained on ``pad_sequences(tokenizer.texts_to_sequences(texts), maxlen)``.
Texts are padded the same way (``padding``/``truncating`` ``"pre"`` or
``"post"``, zeros), attributions go to the ``Embedding`` output, and the
baseline is all padding (id 0), as in alibi's own Keras text examples.
"""
from __future__ import annotations

import functools
from typing import Any, Mapping, MutableMapping, Optional, Sequence

import numpy as np

from attribkit.backends.tf.adapter import Batch, ClassifierAdapter, forward_in_chunks
from attribkit.backends.tf.costs import ModelSize
from attribkit.backends.tf.layers import find_embedding, model_returns, output_activation, resolve_layer
from attribkit.backends.tf.runtime import is_functional
from attribkit.backends.tf.words import SIDES, WordEncoding, as_word_tokenizer, encode_words, pad_ids
from attribkit.errors import InputError, ModelError
from attribkit.types import ModelInfo


def _side(name: str, value: Any) -> str:
    if value not in SIDES:
        raise InputError(f"{name} must be one of {SIDES}, got {value!r}")
    return value


def _input_length(model: Any) -> Optional[int]:
    """The fixed sequence length of a Functional/Sequential model's input, if it has one."""
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs[0].shape) < 2:
        return None
    length = inputs[0].shape[1]
    return int(length) if length is not None else None


@functools.lru_cache(maxsize=None)
def _probability_wrapper_class(keras: Any) -> type:
    class ProbabilityWrapper(keras.Model):
        """A subclassed logits model followed by sigmoid (one output) or softmax: ``(N, L) -> (N, C)``."""

        def __init__(self, model: Any):
            super().__init__()
            self.classifier = model

        def call(self, inputs: Any, training: bool = False) -> Any:
            import tensorflow as tf

            logits = self.classifier(inputs, training=False)
            return tf.sigmoid(logits) if logits.shape[-1] == 1 else tf.nn.softmax(logits, axis=-1)

    return ProbabilityWrapper


class KerasWordClassifier(ClassifierAdapter):
    """A Keras model over word ids and its word tokenizer (a Keras ``Tokenizer`` or a ``WordTokenizer``).

    Options used: ``padding`` and ``truncating`` (``"pre"``, the
    ``pad_sequences`` default, or ``"post"``), ``maxlen`` (default: the
    model's input length, else the longest text of the batch) and
    ``model_returns`` (default ``"probabilities"`` when the last layer is a
    sigmoid or softmax).
    """

    def __init__(self, tf: Any, keras: Any, model: Any, tokenizer: Any, layer: Any, options: MutableMapping[str, Any]):
        self.tf, self.keras, self.model = tf, keras, model
        self.tokenizer = as_word_tokenizer(tokenizer)
        self.padding = _side("padding", options.pop("padding", "pre"))
        self.truncating = _side("truncating", options.pop("truncating", "pre"))
        self.maxlen = options.pop("maxlen", None) or _input_length(model)
        embedding = find_embedding(model)
        if layer is None and embedding is None:
            raise ModelError(f"{model.name} has no Embedding layer to attribute to; pass layer=... "
                             "(a Keras layer, its name, a dotted path or a callable model -> layer)")
        self.layer, self.layer_name = resolve_layer(model, layer, embedding)
        detected = "probabilities" if output_activation(model) else "logits"
        self.already_probabilities = model_returns(options.pop("model_returns", None), detected) == "probabilities"
        width = int(getattr(self.layer, "output_dim", None) or 256)
        self.size = ModelSize(layers=1, hidden=width, intermediate=width, heads=0)
        self.info = ModelInfo(framework="tensorflow", backend="tf", name=model.name, architecture=type(model).__name__)

    def encode(self, text: str) -> WordEncoding:
        return encode_words(self.tokenizer, text, maxlen=self.maxlen, truncating=self.truncating)

    def batch(self, encodings: Sequence[WordEncoding], baseline: Any, limits: Sequence[int]) -> Batch:
        """Ids padded with zeros on the ``padding`` side; the baseline is padding (0) unless a token id is given."""
        length = self.maxlen or max(len(e.input_ids) for e in encodings)
        ids, positions = pad_ids([e.input_ids for e in encodings], length, self.padding)
        baselines = np.zeros_like(ids)
        if not isinstance(baseline, str):
            for row, columns in enumerate(positions):
                baselines[row, columns] = int(baseline)
        return Batch(ids, baselines, {}, positions)

    def raw_outputs(self, ids: np.ndarray, forward_kwargs: Mapping[str, np.ndarray]) -> np.ndarray:
        return forward_in_chunks(lambda a, b: np.asarray(self.model(ids[a:b], training=False)), len(ids))

    def explained_model(self, output: str) -> Any:
        """The model itself, or the model followed by sigmoid/softmax (probabilities of a logits model)."""
        if output == "logit" or self.already_probabilities:
            return self.model
        if not is_functional(self.model):
            return _probability_wrapper_class(self.keras)(self.model)
        logits = self.model.outputs[0]
        kind = "sigmoid" if len(logits.shape) == 1 or logits.shape[-1] == 1 else "softmax"
        return self.keras.Model(self.model.inputs, self.keras.layers.Activation(kind)(logits))
