"""How the TensorFlow backend reads a Keras model: its layer, call convention, outputs and limits.

Three kinds of models, one adapter:

- **Hugging Face TF classifiers** (``TFAutoModelForSequenceClassification``),
  called as ``model(input_ids=, attention_mask=).logits``, attributed at
  ``model.<base>.embeddings`` (the module the PyTorch backend uses);
- **Keras models around one** (a ``keras.Model`` whose ``call`` runs a
  Hugging Face model and adds a head, a softmax...), called as
  ``model(input_ids, attention_mask=)`` and attributed at the inner model's
  embeddings; a softmax inside ``call`` is seen in the outputs;
- **Keras models over word ids** (``Embedding -> ... -> Dense``) with their
  own word tokenizer, called as ``model(ids)`` on ids padded like
  ``pad_sequences``, attributed at their first ``Embedding`` layer.

Importing this module imports TensorFlow (with ``tf.keras`` routed to Keras 2,
see :mod:`attribkit.backends.tf.runtime`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import logging
import os
from typing import Any, Callable, Iterator, List, Mapping, Optional, Tuple

import numpy as np

from attribkit.backend import Backend
from attribkit.errors import InputError, ModelError
from attribkit.hub import hub_options, load_pretrained, switched_off
from attribkit.pipeline import ModelAdapter, ModelSize, Option, OutputForm, is_hugging_face_model, position_limit
from attribkit.pipeline.encoding import SIDES
from attribkit.results import ModelInfo
from attribkit.backends.tf.runtime import check_model, import_tensorflow, is_functional, keras_module

tf = import_tensorflow()

CallFn = Callable[[Any, Any, Any], Any]
_PROBABILITY_ACTIVATIONS = ("sigmoid", "softmax")
#: float32 values a Hugging Face TF model's compiled forward and backward pass keeps per hidden unit, token and
#: layer, and per head, pair of tokens and layer: the measured peak of a pass of BERT (all-MiniLM-L6-v2), DistilBERT
#: and RoBERTa at MiniLM's sizes (8-512 tokens, ``benchmarks/bench_activation_memory.py --backend tf
#: --architecture ...``), the most of the three, rounded up (docs/backend-tf.md, Memory).
TF_HIDDEN_VALUES = 27.0
TF_ATTENTION_VALUES = 1.6


# -- layers ------------------------------------------------------------------------------------------------


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
            if int(part) >= len(value):
                raise InputError(f"layer {path!r}: index {part} is out of range ({len(value)} items)")
            value = value[int(part)]
        elif hasattr(value, part):
            value = getattr(value, part)
        else:
            raise InputError(f"layer {path!r}: {type(value).__name__} has no attribute {part!r}")
    return value


def resolve_layer(model: Any, layer: Any, default: Optional[Tuple[Any, str]]) -> Tuple[Any, str]:
    """The layer to attribute to and a name for it: ``None`` (``default``), a Keras layer, a dotted
    attribute path (``"bert.embeddings"``, ``"layers.1"``), a Keras layer name or a callable ``model -> layer``."""
    if layer is None:
        if default is None:
            raise ModelError(f"{getattr(model, 'name', type(model).__name__)} has no Embedding layer to attribute "
                             "to; pass layer=... (a Keras layer, its name, a dotted path or a callable model -> layer)")
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


def find_hugging_face_model(model: Any, depth: int = 4) -> Optional[Tuple[Any, str]]:
    """A Hugging Face model held by a Keras model (an attribute, or an item of a list attribute, searched
    breadth first down to ``depth`` levels), with its dotted path."""
    level: List[Tuple[Any, str]] = [(model, "")]
    seen = {id(model)}
    for _ in range(depth):
        below = []
        for container, prefix in level:
            for name, value in sorted(vars(container).items()):
                if name.startswith("_"):
                    continue
                values = enumerate(value) if isinstance(value, (list, tuple)) else [(None, value)]
                for index, item in values:
                    if id(item) in seen or not isinstance(item, tf.Module):
                        continue
                    seen.add(id(item))
                    path = f"{prefix}{name}" if index is None else f"{prefix}{name}.{index}"
                    if is_hugging_face_model(item):
                        return item, path
                    below.append((item, path + "."))
        level = below
    return None


def wrapper_call(model: Any) -> CallFn:
    """``model(ids, attention_mask=mask)`` when the model's ``call`` takes an attention mask, else ``model(ids)``."""
    try:
        parameters = inspect.signature(model.call).parameters
    except (TypeError, ValueError):
        parameters = {}
    if "attention_mask" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return lambda m, ids, mask: m(ids, attention_mask=mask, training=False)
    return lambda m, ids, mask: m(ids, training=False)


def hugging_face_embeddings(model: Any) -> Tuple[Any, str]:
    """The main layer's ``embeddings`` of a Hugging Face TF model, and its path."""
    prefix = model.base_model_prefix
    embeddings = getattr(getattr(model, prefix, None), "embeddings", None)
    if embeddings is None:
        raise ModelError(f"cannot find the embeddings of {type(model).__name__} (looked for model.{prefix}.embeddings);"
                         " pass layer=... (a Keras layer, a dotted path or a callable model -> layer)")
    return embeddings, f"{prefix}.embeddings"


def ends_in_probabilities(model: Any) -> Optional[bool]:
    """``True`` when the model's last layer applies a sigmoid or a softmax; ``None`` (not known: the
    pipeline looks at the outputs) otherwise."""
    layers = getattr(model, "layers", None) or []
    if not layers:
        return None
    last = layers[-1]
    if type(last).__name__ == "Softmax":
        return True
    activation = getattr(last, "activation", None)
    return True if getattr(activation, "__name__", None) in _PROBABILITY_ACTIVATIONS else None


def _input_length(model: Any) -> Optional[int]:
    """The fixed sequence length of a Functional/Sequential model's input, if it has one."""
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs[0].shape) < 2 or inputs[0].shape[1] is None:
        return None
    return int(inputs[0].shape[1])


def explained_outputs(raw: Any, form: OutputForm) -> Any:
    """F ``(N, n_classes)`` from raw outputs ``(N, n_outputs)``: the TensorFlow twin of
    :func:`attribkit.pipeline.explained_values`."""
    if len(raw.shape) == 1:
        raw = raw[:, None]
    if form.activation == "softmax":
        values = tf.nn.softmax(raw, axis=-1)
    elif form.activation == "sigmoid":
        values = tf.sigmoid(raw)
    else:
        values = raw
    if form.summed:
        return tf.repeat(tf.reduce_sum(values, axis=1, keepdims=True), 2 if form.single else values.shape[1], axis=1)
    if form.single:
        values = tf.concat([1 - values if form.probability else -values, values], axis=1)
    return values


class _LayerOutputSeen(Exception):
    """Ends a forward pass once the attributed layer has run (:meth:`KerasAdapter.layer_outputs`)."""


# -- the adapter ---------------------------------------------------------------------------------------------


class KerasAdapter(ModelAdapter):
    """A Keras classifier and its tokenizer (see ``docs/backend-tf.md``).

    Besides the :class:`~attribkit.pipeline.ModelAdapter` attributes: ``layer``
    (the attributed Keras layer), ``call`` (``call(model, input_ids,
    attention_mask) -> raw outputs``), ``masked`` (the model reads an attention
    mask: it is or holds a Hugging Face model), ``keras`` (the model's Keras package)
    and ``accelerator`` (:mod:`attribkit.backends.tf.accelerator`, or ``None``).
    """

    whole_passes = False  # alibi cuts its flat list of path points into passes

    def __init__(self, model: Any, tokenizer: Any, layer: Any = None, forward: Optional[CallFn] = None,
                 padding: str = "pre", accelerate: bool = True, backend: str = "tf"):
        self.keras = keras_module(check_model(model, tf))
        self.model, self.tokenizer = model, tokenizer
        self.hugging_face = is_hugging_face_model(model)
        self.custom_call = forward is not None
        embeddings = None
        inner = (model, "") if self.hugging_face else find_hugging_face_model(model)
        self.masked = inner is not None
        if inner is not None:
            transformer, prefix = inner
            config = transformer.config
            embeddings, path = hugging_face_embeddings(transformer)
            path = f"{prefix}.{path}" if prefix else path
            self.layer, self.layer_name = resolve_layer(model, layer, (embeddings, path))
            if self.hugging_face:
                self.call = forward or (lambda m, ids, mask: m(input_ids=ids, attention_mask=mask, training=False).logits)
                self.returns_probabilities = False if forward is None else None
            else:
                self.call = forward or wrapper_call(model)
            self.id2label = getattr(config, "id2label", None)
            self.size = dataclasses.replace(ModelSize.from_config(config, fused_attention=False),
                                            hidden_values=TF_HIDDEN_VALUES, attention_values=TF_ATTENTION_VALUES)
            self.max_length = position_limit(config, getattr(embeddings, "padding_idx", None))
            self.vocab_size = getattr(config, "vocab_size", None)
            name = getattr(config, "name_or_path", "") or type(transformer).__name__
        else:
            self.layer, self.layer_name = resolve_layer(model, layer, find_embedding(model))
            self.call = forward or (lambda m, ids, mask: m(ids, training=False))
            self.returns_probabilities = ends_in_probabilities(model)
            self.input_length = _input_length(model)
            self.padding = padding
            width = int(getattr(self.layer, "output_dim", None) or 256)
            self.size = ModelSize(layers=1, hidden=width, intermediate=width, heads=0)
            name = model.name
        self.threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count() or 1
        self.info = ModelInfo(framework="tensorflow", backend=backend, name=name, architecture=type(model).__name__)
        self.accelerator = None
        if accelerate and self.hugging_face and forward is None and self.layer is embeddings:
            from attribkit.backends.tf.accelerator import Accelerator

            self.accelerator = Accelerator.of(self)

    def _run(self, input_ids: Any, attention_mask: Any) -> Any:
        """The raw outputs as a tensor ``(N, n_outputs)``."""
        ids = tf.cast(input_ids, tf.int32)
        mask = tf.ones_like(ids) if attention_mask is None else tf.cast(attention_mask, tf.int32)
        raw = self.call(self.model, ids, mask)
        raw = getattr(raw, "logits", raw)
        if isinstance(raw, (tuple, list)):
            raw = raw[0]
        return raw[:, None] if len(raw.shape) == 1 else raw

    def raw_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray,
                    layer_values: Optional[np.ndarray] = None) -> np.ndarray:
        if layer_values is not None:
            values = tf.constant(layer_values, dtype=self.layer.compute_dtype)
            with call_replaced(self.layer, lambda *args, **kwargs: values):
                return self._run(input_ids, attention_mask).numpy().astype(np.float64)
        if self.accelerator is not None:
            return self.accelerator.logits(input_ids, attention_mask)
        return self._run(input_ids, attention_mask).numpy().astype(np.float64)

    def layer_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """The layer's output, from a forward pass stopped once the layer has run."""
        outputs = []
        original = self.layer.call

        def record(*args: Any, **kwargs: Any) -> Any:
            outputs.append(original(*args, **kwargs))
            raise _LayerOutputSeen

        with call_replaced(self.layer, record), contextlib.suppress(_LayerOutputSeen):
            self._run(input_ids, attention_mask)
        output = outputs[0] if outputs else None
        if isinstance(output, (tuple, list)):
            output = output[0]
        if output is None or len(output.shape) != 3 or tuple(output.shape[:2]) != input_ids.shape:
            raise ModelError(f"layer {self.layer_name!r} returns {getattr(output, 'shape', output)}; a vector "
                             "baseline needs a layer whose output is a (batch, tokens, hidden) tensor")
        return np.asarray(output, dtype=np.float32)

    def explained_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray, form: OutputForm) -> np.ndarray:
        return self.explained_model(form)(input_ids, attention_mask=attention_mask).numpy().astype(np.float64)

    def gradients(self, values: np.ndarray, input_ids: np.ndarray, attention_mask: np.ndarray,
                  targets: np.ndarray, form: OutputForm) -> np.ndarray:
        """The gradient of each row's ``F_target`` to the layer's output at ``values`` (``tf.GradientTape``)."""
        if self.accelerator is not None:
            return self.accelerator.gradients(values, input_ids, attention_mask, targets, form)
        values = tf.constant(values, dtype=self.layer.compute_dtype)
        with tf.GradientTape() as tape:
            tape.watch(values)
            outputs = self.from_layer_model(form)(values, input_ids=tf.constant(input_ids, tf.int32),
                                                  attention_mask=tf.constant(attention_mask, tf.int32))
            chosen = tf.gather(outputs, tf.constant(targets, tf.int32), batch_dims=1)
        return tape.gradient(chosen, values).numpy()

    # -- the Keras models alibi is given -----------------------------------------------------------------------
    def explained_model(self, form: OutputForm) -> Any:
        """``model(input_ids, attention_mask=None) -> (N, n_classes)`` F: alibi's ``AutoModelWrapper``; a
        Functional or Sequential model with ``forward`` not given gets a Functional one (alibi explains
        Keras 3 models only in that form)."""
        if self.masked or self.custom_call or not is_functional(self.model):
            return _wrapper_classes(self.keras)[0](self, form)
        inputs = self.model.inputs[0] if len(self.model.inputs) == 1 else self.model.inputs
        return self.keras.Model(inputs, self.keras.layers.Lambda(
            functools.partial(explained_outputs, form=form))(self.model.outputs[0]))

    def from_layer_model(self, form: OutputForm) -> Any:
        """``model(values, input_ids=, attention_mask=) -> (N, n_classes)``: F with the layer's output
        replaced by ``values`` (a vector baseline: alibi attributes to this model's input)."""
        return _wrapper_classes(self.keras)[1](self, form)


@functools.lru_cache(maxsize=None)
def _wrapper_classes(keras: Any) -> Tuple[type, type]:
    """The Keras wrappers alibi is given, built on the model's Keras."""

    class Explained(keras.Model):
        def __init__(self, adapter: KerasAdapter, form: OutputForm):
            super().__init__()
            self.adapter, self.form = adapter, form

        def call(self, input_ids: Any, attention_mask: Any = None, training: bool = False) -> Any:
            return explained_outputs(self.adapter._run(input_ids, attention_mask), self.form)

    class FromLayer(keras.Model):
        def __init__(self, adapter: KerasAdapter, form: OutputForm):
            super().__init__()
            self.adapter, self.form = adapter, form

        def call(self, values: Any, input_ids: Any = None, attention_mask: Any = None, training: bool = False) -> Any:
            with call_replaced(self.adapter.layer, lambda *args, **kwargs: values):
                return explained_outputs(self.adapter._run(input_ids, attention_mask), self.form)

    return Explained, FromLayer


# -- the backend -----------------------------------------------------------------------------------------------


class TFBackend(Backend):
    """Explains Keras classifiers (Hugging Face TF models, Keras word models) with alibi."""

    name = "tf"
    framework = "tensorflow"
    options = (
        Option("forward", None, "forward(model, input_ids, attention_mask) -> (batch, n_outputs) raw outputs "
               "(default: model(input_ids=, attention_mask=).logits for Hugging Face models, else model(ids))",
               "callable"),
        Option("padding", "pre", "word models: the side padding goes, as pad_sequences ('pre' or 'post')", "choice",
               choices=SIDES),
        Option("accelerate", True, "run alibi on compiled functions (Hugging Face models on their embeddings); "
               "False runs alibi's plain way", "bool"),
    )

    def adapt(self, model: Any, tokenizer: Any, *, layer: Any = None,
              options: Optional[Mapping[str, Any]] = None) -> KerasAdapter:
        options = dict(options or {})
        return KerasAdapter(model, tokenizer, layer, options.get("forward"), options.get("padding") or "pre",
                            options.get("accelerate", True) is not False, self.name)

    def load(self, name_or_path: str, **kwargs: Any) -> Tuple[Any, Any]:
        """``TFAutoModelForSequenceClassification`` and ``AutoTokenizer`` from a hub name or a local folder;
        a folder (or hub repository) with only PyTorch weights is converted (``from_pt=True``)."""
        return load_pretrained(_load_tf_model, name_or_path, kwargs, "a TensorFlow sequence classifier")


class _CompleteConversionNotices(logging.Filter):
    """Drops transformers' notices that a PyTorch checkpoint was converted completely (printed on every
    load of such a model, the bundled one included); its warnings about weights left out still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(("All PyTorch model weights were used", "All the weights of"))


def _has_pytorch_weights(name_or_path: str, error: Exception) -> bool:
    if "from_pt=True" in str(error):
        return True
    if not os.path.isdir(name_or_path):
        return False
    files = set(os.listdir(name_or_path))
    return "tf_model.h5" not in files and bool(files & {"pytorch_model.bin", "model.safetensors"})


def _load_tf_model(name_or_path: str, kwargs: dict) -> Tuple[Any, Any]:
    from transformers import AutoTokenizer
    from transformers.utils import is_tf_available

    if not is_tf_available():
        raise switched_off("TensorFlow", ("USE_TF", "USE_TORCH"),
                           "the PyTorch backend (backend='torch', --framework torch)")
    return _tf_model(name_or_path, kwargs), AutoTokenizer.from_pretrained(name_or_path, **hub_options(kwargs))


def _tf_model(name_or_path: str, kwargs: dict) -> Any:
    from transformers import TFAutoModelForSequenceClassification

    try:
        return TFAutoModelForSequenceClassification.from_pretrained(name_or_path, **kwargs)
    except (OSError, ValueError, TypeError) as exc:
        if kwargs.get("from_pt") or not _has_pytorch_weights(name_or_path, exc):
            raise
    logger, notices = logging.getLogger("transformers.modeling_tf_pytorch_utils"), _CompleteConversionNotices()
    logger.addFilter(notices)
    try:
        return TFAutoModelForSequenceClassification.from_pretrained(name_or_path, from_pt=True, **kwargs)
    finally:
        logger.removeFilter(notices)
