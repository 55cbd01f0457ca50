"""The TensorFlow backend, registered as the ``tf`` attribkit plugin: Keras classifiers explained with alibi.

Explains Hugging Face TF classifiers (``TFAutoModelForSequenceClassification``)
and Keras models over word ids with their own tokenizer (a Keras
``Tokenizer`` or an :class:`attribkit.WordTokenizer`): a model adapter
(:mod:`attribkit.backends.tf.adapter`) and alibi's Integrated Gradients
(:mod:`attribkit.backends.tf.methods`); the core pipeline does the rest.
This module imports neither TensorFlow nor alibi: the backend is created,
and TensorFlow imported, on first use. See ``docs/backend-tf.md``.

alibi 0.9.5 and later are under the Business Source License 1.1
(non-production use only); see :data:`LICENCE`.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from attribkit.backends.tf.methods import BUILTIN_METHODS
from attribkit.backends.tf.runtime import keras_package
from attribkit.hookspecs import hookimpl
from attribkit.pipeline import WordTokenizer

LICENCE = (
    "alibi 0.9.5+ is under the Business Source License 1.1: non-production use only (see docs/backend-tf.md)"
)

__all__ = ["WordTokenizer", "LICENCE"]


def _create_backend() -> Any:
    from attribkit.backends.tf.adapter import TFBackend

    return TFBackend()


@hookimpl
def attribkit_register_backends(register: Callable[..., None]) -> None:
    register(
        "tf", _create_backend, framework="tensorflow", requires=("tensorflow", "tf_keras", "alibi"),
        install_hint='pip install "attribkit[tf]"', licence=LICENCE,
        description="Keras / Hugging Face TF classifiers, Integrated Gradients by alibi",
    )


@hookimpl
def attribkit_backend_for_model(model: Any) -> Optional[str]:
    """``"tf"`` for a Keras model of an already-imported Keras (tf_keras, or Keras 3 on TensorFlow)."""
    return "tf" if keras_package(model) is not None else None


@hookimpl
def attribkit_register_methods(register: Callable[..., None]) -> None:
    for name, function, description, sampling, options in BUILTIN_METHODS:
        register(name, "tf", function, description=description, sampling=sampling, options=options)
