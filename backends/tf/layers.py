"""Finding layers and output activations in Keras models (no TensorFlow import)."""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Optional, Tuple

from attribkit.errors import InputError

MODEL_RETURNS = ("logits", "probabilities")
_PROBABILITY_ACTIVATIONS = ("sigmoid", "softmax")


@contextlib.contextmanager
def call_replaced(layer: Any, call: Callable[..., Any]) -> Iterator[None]:
    """While the block runs, ``layer.call`` is ``call`` (set on the instance, as alibi does); then
    whatever the instance had, or the class's ``call`` again."""
    saved = layer.__dict__.get("call")
    layer.call = call
    try:
        yield
    finally:
        if saved is None:
            del layer.call
        else:
            layer.call = saved


def _is_layer(value: Any) -> bool:
    return callable(getattr(value, "call", None)) and hasattr(value, "name")


def _follow_path(model: Any, path: str) -> Any:
    value = model
    for part in path.split("."):
        if part.isdigit() and isinstance(value, (list, tuple)):
            index = int(part)
            if index >= len(value):
                raise InputError(f"layer {path!r}: index {index} is out of range ({len(value)} items)")
            value = value[index]
        elif hasattr(value, part):
            value = getattr(value, part)
        else:
            raise InputError(f"layer {path!r}: {type(value).__name__} has no attribute {part!r}")
    return value


def resolve_layer(model: Any, layer: Any, default: Tuple[Any, str]) -> Tuple[Any, str]:
    """The layer to attribute to and a name for it.

    ``layer`` is ``None`` (``default``), a Keras layer, a dotted attribute
    path (``"bert.embeddings"``, ``"layers.1"``), a Keras layer name
    (``model.get_layer(name)``) or a callable ``model -> layer``.
    """
    if layer is None:
        return default
    if isinstance(layer, str):
        try:
            found = _follow_path(model, layer)
        except InputError:
            get_layer = getattr(model, "get_layer", None)
            try:
                found = get_layer(layer) if "." not in layer and get_layer else None
            except ValueError:
                found = None
            if found is None:
                raise
        name = layer
    elif _is_layer(layer):
        found, name = layer, layer.name
    elif callable(layer):
        found = layer(model)
        name = getattr(found, "name", repr(found))
    else:
        raise InputError(f"layer must be None, a Keras layer, a dotted path or a callable, got {type(layer).__name__}")
    if not _is_layer(found):
        raise InputError(f"layer {name!r} is a {type(found).__name__}, not a Keras layer")
    return found, name


def find_embedding(model: Any) -> Optional[Tuple[Any, str]]:
    """The first ``Embedding`` layer of a Keras model (nested models searched), with its path."""
    def search(container: Any, prefix: str) -> Optional[Tuple[Any, str]]:
        for index, layer in enumerate(getattr(container, "layers", ()) or ()):
            path = f"{prefix}layers.{index}"
            if type(layer).__name__ == "Embedding":
                return layer, path
            found = search(layer, path + ".")
            if found is not None:
                return found
        return None

    return search(model, "")


def _activation_name(layer: Any) -> Optional[str]:
    if type(layer).__name__ == "Softmax":
        return "softmax"
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) if callable(activation) else None


def output_activation(model: Any) -> Optional[str]:
    """``"sigmoid"`` or ``"softmax"`` when the model's last layer applies it, else ``None``."""
    layers = getattr(model, "layers", None) or []
    if not layers:
        return None
    name = _activation_name(layers[-1])
    return name if name in _PROBABILITY_ACTIVATIONS else None


def model_returns(value: Any, detected: str) -> str:
    """The user's ``model_returns`` option, or ``detected`` when not given."""
    if value is None:
        return detected
    if value not in MODEL_RETURNS:
        raise InputError(f"model_returns must be one of {MODEL_RETURNS}, got {value!r}")
    return value

