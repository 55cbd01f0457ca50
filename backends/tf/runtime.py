"""TensorFlow start-up: Keras 2 for alibi, model recognition, the Keras 3 check.

alibi and the Hugging Face TF classes are written against Keras 2 (the
``tf_keras`` package). TensorFlow 2.16+ routes ``tf.keras`` to Keras 3
unless ``TF_USE_LEGACY_KERAS=1`` is in the environment when ``tf.keras`` is
first used, and that choice cannot be changed afterwards in the process.

Nothing here imports TensorFlow at module level; :func:`keras_package`
only looks at modules that are already imported.
"""
from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Optional

from attribkit.errors import ModelError

LEGACY_KERAS_VARIABLE = "TF_USE_LEGACY_KERAS"

#: Keras packages a model may come from, most specific first.
KERAS_PACKAGES = ("tf_keras", "keras")


def keras_package(model: Any) -> Optional[str]:
    """``"tf_keras"`` or ``"keras"`` when ``model`` is a Model of an imported Keras, else ``None``.

    Never imports anything: a model can only come from a package that is
    already in ``sys.modules``. A Keras 3 model on a non-TensorFlow Keras
    backend (torch, jax) is not claimed.
    """
    for name in KERAS_PACKAGES:
        module = sys.modules.get(name)
        model_class = getattr(module, "Model", None)
        if isinstance(model_class, type) and isinstance(model, model_class):
            if name == "keras" and _keras_backend(module) not in (None, "tensorflow"):
                return None
            return name
    return None


def _keras_backend(module: Any) -> Optional[str]:
    backend = getattr(getattr(module, "backend", None), "backend", None)
    return backend() if callable(backend) else None


def import_tensorflow() -> Any:
    """Import TensorFlow with ``tf.keras`` routed to Keras 2 unless the user decided otherwise.

    ``os.environ.setdefault`` keeps an explicit user setting; it takes
    effect if ``tf.keras`` has not been used yet in this process. TensorFlow
    routes the *statement* ``import tensorflow.keras`` by the environment
    at its own import time, and ``transformers`` imports TensorFlow before
    it sets the variable; so when ``tf.keras`` is Keras 2, the module
    ``tensorflow.keras`` is registered as the same Keras 2 API, before
    alibi (which runs ``import tensorflow.keras``) can bind Keras 3 there.
    """
    os.environ.setdefault(LEGACY_KERAS_VARIABLE, "1")
    import tensorflow as tf

    if legacy_keras_active(tf) and "tensorflow.keras" not in sys.modules:
        sys.modules["tensorflow.keras"] = importlib.import_module("tf_keras.api._v2.keras")
    return tf


def legacy_keras_active(tf: Any) -> bool:
    """Whether ``tf.keras`` is Keras 2 (``tf_keras``) in this process (resolves ``tf.keras``)."""
    try:
        import tf_keras
    except ImportError:
        return False
    return tf.keras.Model is tf_keras.Model


def is_functional(model: Any) -> bool:
    """Functional and Sequential models know their inputs; subclassed models do not."""
    return getattr(model, "inputs", None) is not None


def check_model(model: Any, tf: Any) -> str:
    """Return the model's Keras package, or raise :class:`ModelError` when alibi cannot explain it.

    - A Keras 3 model must be Functional or Sequential (alibi runs a
      subclassed model through ``tf.keras.Input``, which it cannot be fed).
    - A Keras 2 (``tf_keras``) model, Hugging Face TF models included,
      needs ``tf.keras`` to be Keras 2 as well.
    """
    package = keras_package(model)
    if package is None:
        raise ModelError(
            f"{type(model).__module__}.{type(model).__qualname__} is not a Keras model; the 'tf' backend explains "
            "Hugging Face TF* classifiers and Keras models (tf.keras, tf_keras or Keras 3 on TensorFlow)"
        )
    if package == "keras" and _is_keras3(sys.modules["keras"]) and not is_functional(model):
        raise ModelError(
            f"{type(model).__name__} is a subclassed Keras 3 model; alibi can explain Keras 3 models only when "
            "they are Functional or Sequential. Rebuild it with keras.Sequential/keras.Model(inputs, outputs), "
            "or build it with tf_keras (Keras 2). See docs/backend-tf.md"
        )
    if package == "tf_keras" and not legacy_keras_active(tf):
        raise ModelError(
            f"{type(model).__name__} is a Keras 2 (tf_keras) model, but tf.keras is Keras 3 in this process: "
            f"tf.keras was used before {LEGACY_KERAS_VARIABLE}=1 was set (currently "
            f"{LEGACY_KERAS_VARIABLE}={os.environ.get(LEGACY_KERAS_VARIABLE)!r}), and alibi needs tf.keras to be "
            f"Keras 2 for this model. Set {LEGACY_KERAS_VARIABLE}=1 in the environment before importing tensorflow "
            f"(`export {LEGACY_KERAS_VARIABLE}=1`, or os.environ['{LEGACY_KERAS_VARIABLE}'] = '1' at the top of "
            "the script), or explain a Functional/Sequential Keras 3 model. See docs/backend-tf.md"
        )
    return package


def _is_keras3(module: Any) -> bool:
    return str(getattr(module, "__version__", "")).startswith("3.")


def keras_module(package: str) -> Any:
    """The Keras package a model comes from (already imported)."""
    return sys.modules[package]
