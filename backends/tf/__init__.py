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

from attribkit.backends.tf.methods import BUILTIN_METHODS, PATH_METHODS
from attribkit.backends.tf.runtime import keras_package
from attribkit.errors import MethodError
from attribkit.hookspecs import hookimpl
from attribkit.pipeline import ANY_BACKEND, Option, WordTokenizer

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
        capabilities=("gradients",),
    )


@hookimpl
def attribkit_backend_for_model(model: Any) -> Optional[str]:
    """``"tf"`` for a Keras model of an already-imported Keras (tf_keras, or Keras 3 on TensorFlow)."""
    return "tf" if keras_package(model) is not None else None


@hookimpl
def attribkit_register_methods(register: Callable[..., None]) -> None:
    for name, function, description, sampling, options in BUILTIN_METHODS:
        register(name, "tf", function, description=description, sampling=sampling, options=options,
                 path=name in PATH_METHODS, path_copies=PATH_METHODS.get(name, 0))
    register("anchors", ANY_BACKEND, _anchors, sampling=True, options=ANCHOR_OPTIONS,
             description="an anchor rule by alibi's AnchorText, offline (any backend; alibi: BSL 1.1)")


def _anchors(task: Any) -> Any:
    try:
        from attribkit.backends.tf.runtime import import_tensorflow

        import_tensorflow()  # before alibi imports it: tf.keras must be Keras 2 for alibi
        from attribkit.backends.tf.anchors import anchors
        import spacy  # noqa: F401
    except ImportError as exc:
        raise MethodError(f"anchors needs alibi and spaCy ({exc}): pip install \"attribkit[tf]\" (alibi 0.9.5+ "
                          "is under the Business Source License 1.1)") from None
    return anchors(task)


ANCHOR_OPTIONS = (Option("threshold", 0.95, "the precision an anchor must reach", "float", minimum=0.0, maximum=1.0),)
