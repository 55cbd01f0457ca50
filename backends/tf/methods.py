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

import importlib
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional

import numpy as np

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


def integrated_gradients(job: AttributionJob) -> AttributionResult:
    """Integrated Gradients to the layer's output, computed by ``alibi.explainers.IntegratedGradients``.

    Options: ``integration`` (``"gausslegendre"`` or ``"riemann_left|right|middle|trapezoid"``)
    and ``internal_batch_size`` (path points per pass; default
    ``job.rows_per_pass``). All texts of the job go to one ``explain`` call.
    """
    params = _integration_options(job)
    explainer = _alibi_explainers().IntegratedGradients(job.model, layer=job.layer, n_steps=job.n_steps,
                                    method=params["integration"], internal_batch_size=params["internal_batch_size"])
    explanation = explainer.explain(job.inputs, forward_kwargs=dict(job.forward_kwargs) or None,
                                    baselines=job.baselines, target=job.targets)
    attributions = np.asarray(explanation.attributions[0])
    if attributions.shape[:2] != job.inputs.shape[:2]:
        raise MethodError(f"alibi returned attributions of shape {attributions.shape} for inputs {job.inputs.shape}; "
                          "attribute to a layer whose output has one row per token")
    return AttributionResult(attributions, np.asarray(explanation.deltas, dtype=np.float64).reshape(-1), params)
