"""The TensorFlow backend as an attribkit plugin: Keras classifiers explained with alibi.

Explains Hugging Face TF classifiers (``TFAutoModelForSequenceClassification``)
and Keras models over word ids with their own tokenizer (a Keras
``Tokenizer`` or a :class:`WordTokenizer`). This module imports neither
TensorFlow nor alibi: the backend is created, and TensorFlow imported, on
first use. See ``docs/backend-tf.md``.

alibi 0.9.5 and later are under the Business Source License 1.1
(non-production use only); see :data:`LICENCE`.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from attribkit.backends.tf.runtime import keras_package
from attribkit.backends.tf.words import WordTokenizer
from attribkit.hookspecs import hookimpl

LICENCE = (
    "alibi 0.9.5+ is under the Business Source License 1.1: non-production use only (see docs/backend-tf.md)"
)

__all__ = ["WordTokenizer", "LICENCE"]


def _create_backend() -> Any:
    from attribkit.backends.tf.backend import TFBackend

    return TFBackend()


@hookimpl
def attribkit_register_backends(register: Callable[..., None]) -> None:
    register(
        "tf",
        _create_backend,
        framework="tensorflow",
        requires=("tensorflow", "tf_keras", "alibi"),
        install_hint='pip install "attribkit[tf]"',
        licence=LICENCE,
        description="Keras / Hugging Face TF classifiers, Integrated Gradients by alibi",
    )


@hookimpl
def attribkit_backend_for_model(model: Any) -> Optional[str]:
    """``"tf"`` for a Keras model of an already-imported Keras (tf_keras, or Keras 3 on TensorFlow)."""
    return "tf" if keras_package(model) is not None else None


@hookimpl
def attribkit_register_methods(register: Callable[..., None]) -> None:
    """Methods take an :class:`~attribkit.backends.tf.methods.AttributionJob` and return an
    :class:`~attribkit.backends.tf.methods.AttributionResult` (see that module)."""
    from attribkit.backends.tf.methods import integrated_gradients

    register("integrated_gradients", "tf", integrated_gradients,
             description="Integrated Gradients to the embeddings (alibi.explainers.IntegratedGradients)")
