"""Attribution methods of the TensorFlow backend, and the contract a method follows.

A method is a function ``method(job: AttributionJob) -> AttributionResult``
registered for backend ``"tf"`` with the ``attribkit_register_methods``
hook. The backend does everything around it: tokenising, padding, the
baselines, the prediction and the target of each text, then, from the
per-dimension attributions the method returns, the token scores (summed
over the hidden dimension, padding dropped), ``F(x) - F(baseline)`` and the
completeness gap. A plugin adds a method to this backend like so::

    @attribkit.hookimpl
    def attribkit_register_methods(register):
        register("my_method", "tf", my_method, description="...")

This module imports neither TensorFlow nor alibi at module level.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import sys
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np

from attribkit.backends.tf.layers import call_replaced
from attribkit.errors import InputError, MethodError

INTEGRATION_METHODS = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")

@dataclass(frozen=True, eq=False)
class AttributionJob:
    """One batch of texts, ready to attribute (``N`` texts padded to length ``L``).

    Attributes:
        model: a Keras model called as ``model(inputs, **forward_kwargs)``
            that returns the explained outputs, shape ``(N, C)`` (class
            probabilities or raw outputs, as the user asked) or ``(N, 1)``
            for a single-output model.
        layer: ``model -> layer``; attributions are to this layer's output.
            ``None`` when ``inputs`` already are that output (a baseline
            given as vectors at the layer): attributions are to the inputs.
        inputs: shape ``(N, L)`` int32 token ids, or ``(N, L, d)`` float32
            layer outputs when ``layer`` is ``None``.
        baselines: the same shape and type as ``inputs``.
        forward_kwargs: extra model inputs (``attention_mask``, and
            ``input_ids`` when ``layer`` is ``None``), each of shape
            ``(N, L)``; not attributed.
        targets: shape ``(N,)`` int, the explained class of each text
            (0 or 1 for a single-output model).
        n_steps: integration steps.
        rows_per_pass: path points (rows of ``L`` tokens) per forward and
            backward pass that fit the backend's memory budget for this
            model and length; the default internal batch size.
        options: the user's method options the backend did not use
            (``internal_batch_size``, ``integration``...); a method raises
            :class:`attribkit.InputError` for one it does not know.
    """

    model: Any
    layer: Optional[Callable[[Any], Any]]
    inputs: np.ndarray
    baselines: np.ndarray
    forward_kwargs: Mapping[str, Any]
    targets: np.ndarray
    n_steps: int
    rows_per_pass: int
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class AttributionResult:
    """What a method returns for an :class:`AttributionJob`.

    Attributes:
        attributions: shape ``(N, L, d)``, attribution of each dimension of
            the layer's output (``d`` = hidden size).
        convergence_delta: shape ``(N,)``, the method's own
            ``sum(attributions) - (F(x) - F(baseline))``, or ``None``.
        params: JSON-compatible parameters recorded in ``Method.params``.
    """

    attributions: np.ndarray
    convergence_delta: Optional[np.ndarray] = None
    params: Mapping[str, Any] = field(default_factory=dict)


def _integration_options(job: AttributionJob) -> Dict[str, Any]:
    options = dict(job.options)
    integration = options.pop("integration", "gausslegendre")
    if integration not in INTEGRATION_METHODS:
        raise InputError(f"integration must be one of {INTEGRATION_METHODS}, got {integration!r}")
    internal_batch_size = options.pop("internal_batch_size", None)
    if internal_batch_size is None:
        internal_batch_size = min(job.rows_per_pass, job.n_steps * len(job.inputs))
    elif isinstance(internal_batch_size, bool) or not isinstance(internal_batch_size, int) or internal_batch_size < 1:
        raise InputError(f"internal_batch_size must be a positive integer or None, got {internal_batch_size!r}")
    if options:
        raise InputError(
            f"unknown option(s) {sorted(options)} for integrated_gradients on the 'tf' backend; known: "
            "internal_batch_size, integration, labels, model_returns, max_length, maxlen, padding, truncating, "
            "return_attributions"
        )
    return {"integration": integration, "internal_batch_size": internal_batch_size}


def _alibi_explainers() -> Any:
    """``alibi.explainers``, imported on first use in a helper thread.

    alibi keeps the exception of each missing optional dependency, and with
    it the traceback of the importing thread; imported from the caller's
    thread, those frames (and the model in them) would stay alive for good.
    """
    module = sys.modules.get("alibi.explainers")
    if module is not None:
        return module
    failures: List[BaseException] = []

    def load() -> None:
        try:
            importlib.import_module("alibi.explainers")
        except BaseException as exc:  # re-raised in the caller's thread below
            failures.append(exc)

    thread = threading.Thread(target=load, name="attribkit-import-alibi")
    thread.start()
    thread.join()
    if failures:
        raise failures[0]
    return sys.modules["alibi.explainers"]


#: The forward keyword that carries each row's target into :func:`target_output_model`.
TARGET_KEYWORD = "attribkit_target"

#: Target output models, by explained model and form, dropped with the model.
_TARGET_MODELS: "weakref.WeakKeyDictionary[Any, Dict[bool, Any]]" = weakref.WeakKeyDictionary()
#: Whether a layer's output is one tensor (rather than a tuple), by layer.
_ONE_TENSOR_LAYERS: "weakref.WeakKeyDictionary[Any, bool]" = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=None)
def _target_output_class(keras: Any) -> type:
    class TargetOutput(keras.Model):
        """``model`` followed by the choice of each row's explained output: ``(N, C) -> (N, 1)``.

        The target of each row comes in as the forward keyword
        :data:`TARGET_KEYWORD`, which alibi repeats along the path with the
        other forward keywords. Class ``t`` of a multi-output model gives
        ``out[:, t]``; a single output gives ``out`` for class 1 and
        ``-out`` for class 0 (the gradient of ``1 - p``, as alibi's own
        sign flip, and the same difference between two points). With
        ``two_columns`` the output is ``(N, 2)``, zeros then the chosen
        output, for alibi to pick column 1 (see :func:`integrated_gradients`).

        A model with a ``weighted_output(inputs, weights, **kwargs)`` method
        (the Hugging Face wrappers) computes the chosen output itself,
        ``sum(weights * output)`` per row with :func:`target_weights`, and
        its gradient with it; it returns None where it cannot.
        """

        def __init__(self, model: Any, two_columns: bool):
            super().__init__()
            self.explained = model
            self.two_columns = two_columns
            if getattr(model, "inputs", None):
                self.inputs = model.inputs

        @property
        def output_shape(self) -> Tuple[Optional[int], int]:
            return (None, 2 if self.two_columns else 1)

        def call(self, inputs: Any, training: bool = False, **kwargs: Any) -> Any:
            import tensorflow as tf

            target = tf.cast(tf.reshape(kwargs.pop(TARGET_KEYWORD), [-1]), tf.int32)
            weighted = getattr(self.explained, "weighted_output", None)
            chosen = None
            if weighted is not None:
                chosen = weighted(inputs, target_weights(tf, target, self.explained.output_shape[-1]), **kwargs)
            if chosen is None:
                out = self.explained(inputs, **kwargs)
                out = tf.reshape(out, [tf.shape(out)[0], -1])
                chosen = tf.reduce_sum(out * target_weights(tf, target, out.shape[-1], out.dtype), axis=1)
            chosen = tf.reshape(chosen, [-1, 1])
            return tf.concat([tf.zeros_like(chosen), chosen], axis=1) if self.two_columns else chosen

    return TargetOutput


def target_weights(tf: Any, target: Any, n_outputs: int, dtype: Any = "float32") -> Any:
    """Per row, the weights of the outputs whose sum is the explained output, ``(N, n_outputs)``:
    one-hot for several outputs; for one output ``+1`` for class 1, ``-1`` for class 0."""
    if n_outputs == 1:
        return tf.cast(2 * target - 1, dtype)[:, None]
    return tf.one_hot(target, n_outputs, dtype=dtype)


def target_output_model(model: Any, two_columns: bool = False) -> Any:
    """``model`` with its explained output chosen per row in the model (see ``TargetOutput``)."""
    wrappers = _TARGET_MODELS.setdefault(model, {})
    if two_columns not in wrappers:
        import tensorflow as tf

        wrappers[two_columns] = _target_output_class(tf.keras)(model, two_columns)
    return wrappers[two_columns]


class _LayerOutputSeen(Exception):
    """Ends the forward pass of :func:`_layer_returns_one_tensor` once the layer has run."""


def _layer_returns_one_tensor(job: AttributionJob, layer: Any) -> bool:
    """Whether ``layer`` returns one tensor; found once per layer by running the model on one text,
    up to that layer (the rest of the model, and tracing it, is not needed)."""
    known = _ONE_TENSOR_LAYERS.get(layer)
    if known is None:
        outputs: List[Any] = []
        original = layer.call

        def record(*args: Any, **kwargs: Any) -> Any:
            outputs.append(original(*args, **kwargs))
            raise _LayerOutputSeen

        with call_replaced(layer, record), contextlib.suppress(_LayerOutputSeen):
            job.model(job.inputs[:1], **{k: v[:1] for k, v in job.forward_kwargs.items()})
        known = _ONE_TENSOR_LAYERS[layer] = not (outputs and isinstance(outputs[0], (tuple, list)))
    return known


class _ScalarOutputNotice(logging.Filter):
    """Drops alibi's notice that a scalar-output model is explained without targets, while
    :func:`integrated_gradients` runs in this thread (the targets are chosen in the model)."""

    def __init__(self) -> None:
        super().__init__()
        self.active = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not (getattr(self.active, "on", False) and "scalar output" in record.getMessage())


_SCALAR_OUTPUT_NOTICE = _ScalarOutputNotice()


@contextlib.contextmanager
def _scalar_output_notice_dropped() -> Iterator[None]:
    logger = logging.getLogger("alibi.explainers.integrated_gradients")
    if _SCALAR_OUTPUT_NOTICE not in logger.filters:
        logger.addFilter(_SCALAR_OUTPUT_NOTICE)
    _SCALAR_OUTPUT_NOTICE.active.on = True
    try:
        yield
    finally:
        _SCALAR_OUTPUT_NOTICE.active.on = False


def integrated_gradients(job: AttributionJob) -> AttributionResult:
    """Integrated Gradients to the layer's output, computed by ``alibi.explainers.IntegratedGradients``.

    Options: ``integration`` (``"gausslegendre"`` or ``"riemann_left|right|middle|trapezoid"``)
    and ``internal_batch_size`` (path points per pass; default
    ``job.rows_per_pass``). All texts of the job go to one ``explain`` call.

    alibi is given the model followed by the choice of each row's target
    (:func:`target_output_model`), a scalar output, and no target array:
    the gradients are the same, but alibi then skips its eager ``gather_nd``
    on every pass and its per-row sign flip for single-output models, and its
    convergence delta is right for them too (alibi 0.9.6 computes it with
    the wrong sign for a single-output model given targets). For a layer
    that returns a tuple, alibi 0.9.6 fails with forward keywords and no
    target, so there it gets the two-column form and target 1 for every row.
    """
    params = _integration_options(job)
    layer = None if job.layer is None else job.layer(job.model)
    two_columns = layer is not None and not _layer_returns_one_tensor(job, layer)
    explainer = _alibi_explainers().IntegratedGradients(
        target_output_model(job.model, two_columns), layer=None if layer is None else (lambda model: layer),
        n_steps=job.n_steps, method=params["integration"], internal_batch_size=params["internal_batch_size"])
    forward_kwargs = {**job.forward_kwargs, TARGET_KEYWORD: np.asarray(job.targets, dtype=np.int32)}
    target = np.ones(len(job.inputs), dtype=np.int64) if two_columns else None
    with _scalar_output_notice_dropped():
        explanation = explainer.explain(job.inputs, forward_kwargs=forward_kwargs, baselines=job.baselines,
                                        target=target)
    attributions = np.asarray(explanation.attributions[0])
    if attributions.shape[:2] != job.inputs.shape[:2]:
        raise MethodError(f"alibi returned attributions of shape {attributions.shape} for inputs {job.inputs.shape}; "
                          "attribute to a layer whose output has one row per token")
    return AttributionResult(attributions, np.asarray(explanation.deltas, dtype=np.float64).reshape(-1), params)
