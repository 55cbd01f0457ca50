"""The TensorFlow backend's speed: alibi on compiled functions, for Hugging Face models on their embeddings.

This module is the one place the TF backend does anything for speed; with
``accelerate=False`` (an option of :func:`attribkit.explain`) it is not used
and alibi runs the plain way (:func:`attribkit.backends.tf.methods.plain_call`).
The attributions are alibi's either way: alibi still builds the path,
differentiates, integrates and computes its convergence delta; what changes
is the Keras model it is given:

- **Compiled forward.** The pipeline's predictions run ``model(input_ids=,
  attention_mask=)`` as a ``tf.function`` traced once per model.
- **Known outputs.** alibi runs the model forward on exactly the texts and
  the baselines (its convergence delta, its predictions, and twice to read
  the embeddings' output); the pipeline has already computed those outputs,
  so the model given to alibi returns them (:class:`Known`). While alibi
  works, the embeddings' ``call`` notes when it runs (:class:`_NotingCall`),
  which tells a reading pass from a pass over the path.
- **Target in the model.** The model given to alibi returns ``F_target``,
  one column (each row's target comes in as a forward keyword), and alibi
  gets no target array: it then skips its eager selection of each row's
  output on every pass.
- **Forward and backward in one compiled call.** When alibi feeds the
  points of the path to the embeddings' ``call`` (its gradient tape watches
  them), the rest of the model runs in one compiled call that returns the chosen output and its gradient to the
  embeddings' output; the gradient reaches alibi's tape through
  ``tf.custom_gradient``. The call runs in a helper thread, so alibi's tape
  (which watches the model's weights) does not record it.

The measurements behind these choices are in ``docs/backend-tf.md`` (Speed)
and ``benchmarks/``.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, MutableMapping, Optional, Tuple

import numpy as np
import tensorflow as tf

from attribkit.backends.tf.adapter import KerasAdapter, call_replaced, explained_outputs
from attribkit.backends.tf.methods import AlibiCall
from attribkit.pipeline import OutputForm, Task

#: The forward keyword that carries each row's target through alibi's path.
TARGET_KEYWORD = "attribkit_target"

#: The accelerator of each model, built once and dropped with the model.
_ACCELERATORS: MutableMapping[Any, "Accelerator"] = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=None)
def _helper_thread() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="attribkit-untaped")


def _untaped(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a helper thread: gradient tapes belong to their thread, so no tape of the
    caller records it (a recorded compiled call keeps every intermediate for a second, backward call)."""
    return _helper_thread().submit(function, *args).result()


class _NotingCall:
    """A layer's own call that notes, per thread, that it ran.

    alibi replaces the embeddings' ``call`` in two kinds of passes: to read
    their output it runs the call it found when it started (this one); to
    integrate it returns points of the path instead. Only the second needs a
    gradient.
    """

    def __init__(self, layer: Any):
        self.original = type(layer).call.__get__(layer)
        self.local = threading.local()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.local.ran = True
        return self.original(*args, **kwargs)

    def runs_in(self, function: Callable[[], Any]) -> Tuple[Any, bool]:
        """``function()`` and whether this call ran during it."""
        self.local.ran = False
        return function(), self.local.ran


def _replaced(layer: Any) -> bool:
    """Whether someone (alibi) set ``layer.call`` to a function of their own (not its own call, nor a
    :class:`_NotingCall`)."""
    call = vars(layer).get("call")
    return not (call is None or isinstance(call, _NotingCall) or getattr(call, "__func__", None) is type(layer).call)


class _ScalarOutputNotice(logging.Filter):
    """Drops alibi's notice that a model with one output is explained without targets, in the threads
    that are inside :func:`_scalar_output_notice_off` (the targets are chosen in the model)."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not (getattr(self.local, "off", False) and "scalar output" in record.getMessage())


_SCALAR_OUTPUT_NOTICE = _ScalarOutputNotice()


class _UntunedDatasets:
    """``tf.data.Dataset.from_tensor_slices`` with autotuning off, in the threads inside :meth:`active`.

    alibi batches its path points through a ``tf.data`` dataset and makes an
    iterator it drops at once; deleting an autotuned iterator sometimes
    blocks for seconds with one inter-op thread (docs/backend-tf.md). Other
    threads keep TensorFlow's own function.
    """

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.users = 0
        self.original: Any = None  # the class's own attribute (a staticmethod)

    def from_tensor_slices(self, *args: Any, **kwargs: Any) -> Any:
        dataset = self.original.__func__(*args, **kwargs)
        if not getattr(self.local, "on", False):
            return dataset
        options = tf.data.Options()
        options.autotune.enabled = False
        return dataset.with_options(options)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        dataset_class = tf.data.Dataset
        with self.lock:
            if self.users == 0:
                self.original = vars(dataset_class)["from_tensor_slices"]
                dataset_class.from_tensor_slices = staticmethod(self.from_tensor_slices)
            self.users += 1
        self.local.on = True
        try:
            yield
        finally:
            self.local.on = False
            with self.lock:
                self.users -= 1
                if self.users == 0:
                    dataset_class.from_tensor_slices = self.original


_UNTUNED_DATASETS = _UntunedDatasets()


@contextlib.contextmanager
def _alibi_quiet() -> Iterator[None]:
    """While alibi works for attribkit: no notice about a model with one output (:func:`_scalar_output_notice_off`)
    and datasets without autotuning (:class:`_UntunedDatasets`)."""
    with _scalar_output_notice_off(), _UNTUNED_DATASETS.active():
        yield


@contextlib.contextmanager
def _scalar_output_notice_off() -> Iterator[None]:
    logger = logging.getLogger("alibi.explainers.integrated_gradients")
    if _SCALAR_OUTPUT_NOTICE not in logger.filters:
        logger.addFilter(_SCALAR_OUTPUT_NOTICE)
    _SCALAR_OUTPUT_NOTICE.local.off = True
    try:
        yield
    finally:
        _SCALAR_OUTPUT_NOTICE.local.off = False


@dataclass(frozen=True, eq=False)
class Known:
    """What the pipeline already computed for one alibi call: each row's ``F_target`` at the inputs and
    at the baselines. alibi runs the model on exactly these rows for its convergence delta, its
    predictions and its reading of the layer's output; those passes need no model."""

    inputs: np.ndarray
    baselines: np.ndarray
    at_inputs: np.ndarray
    at_baselines: np.ndarray

    def chosen(self, rows: Any) -> Optional[np.ndarray]:
        """``F_target`` of ``rows`` when they are the inputs or the baselines, else ``None``."""
        rows = np.asarray(rows)
        for known, values in ((self.inputs, self.at_inputs), (self.baselines, self.at_baselines)):
            if rows.shape == known.shape and np.array_equal(rows, known):
                return values
        return None


@dataclass
class Accelerator:
    """A Hugging Face TF model's compiled functions (traced once per model, free batch and length).

    Attributes:
        forward: ``(ids (N, L) int32, mask (N, L) int32) -> logits (N, C)``.
        n_outputs: the model's number of outputs ``C``.
        scorers: ``form -> scorer``; ``scorer(ids, mask, embedded (N, L, d), weights (N, C)) ->
            (scores (N,), gradient (N, L, d))``: each row's ``sum(weights * F)`` with the embeddings'
            output replaced by ``embedded``, and its gradient to ``embedded``.
        noting_call: the embeddings' :class:`_NotingCall` while alibi works.
    """

    embeddings: Any
    forward: Callable[..., Any]
    logits_function: Callable[..., Any]
    n_outputs: int
    scorers: Dict[OutputForm, Callable[..., Any]] = field(default_factory=dict)
    noting_call: Optional["_NotingCall"] = None

    @classmethod
    def of(cls, adapter: KerasAdapter) -> "Accelerator":
        """The accelerator of ``adapter.model`` (made on first use)."""
        accelerator = _ACCELERATORS.get(adapter.model)
        if accelerator is None:
            model_ref = weakref.ref(adapter.model)

            def logits(input_ids: Any, attention_mask: Any) -> Any:
                return model_ref()(input_ids=input_ids, attention_mask=attention_mask, training=False).logits

            ids = tf.TensorSpec([None, None], tf.int32)
            accelerator = _ACCELERATORS[adapter.model] = cls(
                adapter.layer, tf.function(logits, input_signature=[ids, ids]), logits,
                int(adapter.model.config.num_labels))
        return accelerator

    # -- plain forward passes ------------------------------------------------------------------------------
    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """The model's logits ``(N, C)`` float64, from the compiled forward pass."""
        return self.forward(tf.constant(input_ids, tf.int32), tf.constant(attention_mask, tf.int32)).numpy() \
            .astype(np.float64)

    # -- what alibi is given ---------------------------------------------------------------------------------
    def alibi_call(self, task: Task) -> AlibiCall:
        """The arguments of alibi's ``explain`` for ``task``: the compiled model choosing each row's target
        (its one output) and the embeddings' call noting when it runs while alibi works."""
        kwargs = {"attention_mask": tf.constant(task.attention_mask, tf.int32),
                  TARGET_KEYWORD: tf.constant(task.targets, tf.int32)}
        rows = np.arange(task.batch)
        chosen = (task.outputs[rows, task.targets], task.baseline_outputs[rows, task.targets])
        tokens, values = _model_classes()
        if task.baseline_ids is not None:
            inputs, baselines = task.input_ids.astype(np.int32), task.baseline_ids.astype(np.int32)
            model = tokens(self, task.form, task.outputs.shape[1], Known(inputs, baselines, *chosen))
            layer = self.embeddings
            return AlibiCall(model, lambda model: layer, inputs, baselines, kwargs, None, self.noting())
        kwargs["input_ids"] = tf.constant(task.input_ids, tf.int32)
        model = values(self, task.form, task.outputs.shape[1], None)
        return AlibiCall(model, None, task.layer_values, task.baseline_values, kwargs, None, _alibi_quiet())

    @contextlib.contextmanager
    def noting(self) -> Iterator[None]:
        """While alibi works (from its constructor, which keeps the layer's ``call``, to the end of
        ``explain``), the embeddings' call is a :class:`_NotingCall` of their own."""
        self.noting_call = _NotingCall(self.embeddings)
        try:
            with call_replaced(self.embeddings, self.noting_call), _alibi_quiet():
                yield
        finally:
            self.noting_call = None

    def embedded(self, input_ids: Any) -> Tuple[Any, bool]:
        """The embeddings' output for ``input_ids`` while alibi has replaced their call, and whether their
        own call ran (alibi reading the output) rather than alibi feeding points of the path."""
        run = functools.partial(self.embeddings, input_ids=input_ids, training=False)
        if self.noting_call is None:
            return run(), False
        return self.noting_call.runs_in(run)

    def gradients(self, values: np.ndarray, input_ids: np.ndarray, attention_mask: np.ndarray, targets: np.ndarray,
                  form: OutputForm) -> np.ndarray:
        """``(N, L, d)`` the gradient of each row's ``F_target`` to the embeddings' output at ``values``, from
        the compiled forward and backward pass (for the gradient methods of :mod:`attribkit.methods`)."""
        values = tf.constant(values, dtype=tf.float32)
        n_classes = 2 if form.single else self.n_outputs
        weights = tf.one_hot(tf.constant(targets, tf.int32), n_classes, dtype=values.dtype)
        _, gradient = self.scorer(form, values.dtype)(tf.constant(input_ids, tf.int32),
                                                      tf.constant(attention_mask, tf.int32), values, weights)
        return gradient.numpy()

    # -- the compiled forward and backward pass ---------------------------------------------------------------
    def chosen(self, input_ids: Any, attention_mask: Any, embedded: Any, target: Any, form: OutputForm,
               n_classes: int) -> Any:
        """Each row's ``F_target`` ``(N,)`` with the embeddings' output replaced by ``embedded``,
        differentiable to ``embedded`` (the gradient comes from the same compiled call)."""
        weights = tf.one_hot(tf.cast(tf.reshape(target, [-1]), tf.int32), n_classes, dtype=embedded.dtype)
        values, gradient = _untaped(self.scorer(form, embedded.dtype), tf.cast(input_ids, tf.int32),
                                    tf.cast(attention_mask, tf.int32), embedded, weights)

        @tf.custom_gradient
        def scored(embedded: Any) -> Any:
            def backward(upstream: Any) -> Any:
                return tf.reshape(upstream, [-1, 1, 1]) * gradient
            return tf.identity(values), backward

        return scored(embedded)

    def scorer(self, form: OutputForm, dtype: Any) -> Callable[..., Any]:
        """The compiled forward and backward pass (traced once per form, for any batch and length)."""
        if form not in self.scorers:
            ids = tf.TensorSpec([None, None], tf.int32)
            signature = [ids, ids, tf.TensorSpec([None, None, None], dtype), tf.TensorSpec([None, None], dtype)]
            self.scorers[form] = tf.function(functools.partial(self._score, form), input_signature=signature)
        return self.scorers[form]

    def _score(self, form: OutputForm, input_ids: Any, attention_mask: Any, embedded: Any,
               weights: Any) -> Tuple[Any, Any]:
        with tf.GradientTape() as tape:
            tape.watch(embedded)
            with call_replaced(self.embeddings, functools.partial(_constant, embedded)):
                logits = self.logits_function(input_ids, attention_mask)
            values = tf.reduce_sum(explained_outputs(logits, form) * weights, axis=1)
        return values, tape.gradient(values, embedded)


def _constant(value: Any, *args: Any, **kwargs: Any) -> Any:
    return value


@functools.lru_cache(maxsize=None)
def _model_classes() -> Tuple[type, type]:
    """The two Keras models alibi is given (on tf_keras, which Hugging Face TF models use)."""
    import tf_keras as keras

    class Accelerated(keras.Model):
        """``(inputs, attention_mask=, attribkit_target=) -> F_target (N, 1)``.

        ``inputs`` and ``output_shape`` are declared up front: alibi traces a
        model without them on a symbolic ``tf.keras.Input`` at every ``explain``
        call only to learn its output shape.
        """

        def __init__(self, accelerator: Accelerator, form: OutputForm, n_classes: int, known: Optional[Known],
                     sample_shape: tuple, dtype: str):
            super().__init__()
            self.accelerator, self.form, self.n_classes, self.known = accelerator, form, n_classes, known
            self.inputs = [keras.Input(shape=sample_shape, dtype=dtype)]

        @property
        def output_shape(self) -> Tuple[Optional[int], int]:
            return (None, 1)

        def one_column(self, chosen: Any) -> Any:
            return tf.reshape(tf.cast(chosen, tf.float32), [-1, 1])

        def forward(self, rows: Any, input_ids: Any, attention_mask: Any, target: Any) -> Any:
            """``F_target`` of rows alibi only runs forward: known, or from the compiled forward pass."""
            known = None if self.known is None else self.known.chosen(rows)
            if known is not None:
                return self.one_column(known)
            values = explained_outputs(self.accelerator.forward(input_ids, attention_mask), self.form)
            weights = tf.one_hot(tf.cast(target, tf.int32), self.n_classes, dtype=values.dtype)
            return self.one_column(tf.reduce_sum(values * weights, axis=1))

    class FromTokens(Accelerated):
        def __init__(self, accelerator: Accelerator, form: OutputForm, n_classes: int, known: Known):
            super().__init__(accelerator, form, n_classes, known, (None,), "int32")

        def call(self, input_ids: Any, attention_mask: Any = None, attribkit_target: Any = None,
                 training: bool = False) -> Any:
            accelerator = self.accelerator
            ids, mask = tf.cast(input_ids, tf.int32), tf.cast(attention_mask, tf.int32)
            if not _replaced(accelerator.embeddings):  # a plain forward pass
                return self.forward(input_ids, ids, mask, attribkit_target)
            embedded, read = accelerator.embedded(ids)
            if read:  # alibi reads the embeddings' output; it does not use the model's
                return self.forward(input_ids, ids, mask, attribkit_target)
            return self.one_column(accelerator.chosen(ids, mask, embedded, attribkit_target, self.form,
                                                       self.n_classes))

    class FromValues(Accelerated):
        def __init__(self, accelerator: Accelerator, form: OutputForm, n_classes: int, known: Optional[Known]):
            super().__init__(accelerator, form, n_classes, known, (None, None), "float32")

        def call(self, values: Any, input_ids: Any = None, attention_mask: Any = None, attribkit_target: Any = None,
                 training: bool = False) -> Any:
            return self.one_column(self.accelerator.chosen(input_ids, attention_mask, tf.convert_to_tensor(values),
                                                            attribkit_target, self.form, self.n_classes))

    return FromTokens, FromValues
