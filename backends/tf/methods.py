"""The TensorFlow backend's methods: alibi's Integrated Gradients.

A method is a function ``method(task) -> MethodResult`` over the core's
:class:`~attribkit.pipeline.Task`, registered for backend ``"tf"``. The plain
path is alibi's own transformer example: ``IntegratedGradients`` on a Keras
wrapper that returns the explained output, attributing to the embeddings
layer, with the attention mask as ``forward_kwargs``. With the accelerator
(:mod:`attribkit.backends.tf.accelerator`) alibi gets compiled functions
instead of the eager wrapper; the attributions are still alibi's.
Neither TensorFlow nor alibi is imported at module level.
"""
from __future__ import annotations

import contextlib
import importlib
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, List, Mapping, Optional

import numpy as np

from attribkit.errors import MethodError
from attribkit.methods.gradients import path_sum
from attribkit.pipeline import MethodResult, Option, Task

INTEGRATIONS = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")
#: Most memory alibi's copies of a call's path points may take (a single text beyond it is refused).
ALIBI_PATH_LIMIT_BYTES = 4 * 2**30
#: float32 copies of every path point alibi keeps through an ``explain`` call (the points, the gradients of each
#: pass, their concatenation and their weighted sum): measured, docs/backend-tf.md (Memory).
ALIBI_PATH_COPIES = 5


@dataclass(frozen=True, eq=False)
class AlibiCall:
    """The arguments of one ``IntegratedGradients(...).explain(...)`` call.

    Attributes:
        model: the Keras model alibi differentiates.
        layer: ``model -> layer`` (attribute to its output), or ``None`` (attribute to ``inputs``).
        inputs, baselines: ``(N, L)`` ids or ``(N, L, d)`` layer outputs.
        forward_kwargs: extra model inputs, not attributed.
        target: ``(N,)`` the column of the model's output alibi explains.
        context: entered around alibi's constructor and ``explain``.
    """

    model: Any
    layer: Optional[Callable[[Any], Any]]
    inputs: np.ndarray
    baselines: np.ndarray
    forward_kwargs: Mapping[str, Any] = field(default_factory=dict)
    target: Optional[np.ndarray] = None
    context: ContextManager[Any] = field(default_factory=contextlib.nullcontext)


def plain_call(task: Task) -> AlibiCall:
    """alibi's transformer example: the eager wrapper returning F, the layer as a callable, the
    attention mask as ``forward_kwargs``, the targets as alibi's ``target``."""
    import tensorflow as tf

    adapter = task.adapter
    mask = {"attention_mask": tf.constant(task.attention_mask, tf.int32)} if adapter.masked else {}
    if task.baseline_ids is not None:
        layer = adapter.layer
        return AlibiCall(adapter.explained_model(task.form), lambda model: layer, task.input_ids.astype(np.int32),
                         task.baseline_ids.astype(np.int32), mask, task.targets)
    kwargs = {"input_ids": tf.constant(task.input_ids, tf.int32), **mask}
    return AlibiCall(adapter.from_layer_model(task.form), None, task.layer_values, task.baseline_values, kwargs,
                     task.targets)


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


def integrated_gradients(task: Task) -> MethodResult:
    """Integrated Gradients to the layer's output, computed by ``alibi.explainers.IntegratedGradients``:
    one ``explain`` call for the task's texts, ``internal_batch_size`` path points per pass."""
    if task.alphas is not None:  # n_steps="auto": the pipeline's points
        return path_sum(task)
    accelerator = task.adapter.accelerator
    path_bytes = ALIBI_PATH_COPIES * 4 * task.n_steps * task.batch * task.input_ids.shape[1] * \
        task.adapter.size.hidden
    if path_bytes > ALIBI_PATH_LIMIT_BYTES:
        raise MethodError(f"alibi keeps every point of the path and its gradient in memory: {task.n_steps} steps of "
                          f"{task.input_ids.shape[1]} tokens need about {path_bytes / 2**30:.1f} GiB, more than "
                          f"{ALIBI_PATH_LIMIT_BYTES / 2**30:.0f} GiB; use fewer steps or max_length")
    call = accelerator.alibi_call(task) if accelerator is not None else plain_call(task)
    integration = task.options["integration"]
    explainers = _alibi_explainers()
    with call.context:
        explainer = explainers.IntegratedGradients(call.model, layer=call.layer, n_steps=task.n_steps,
                                                   method=integration, internal_batch_size=task.rows_per_pass)
        explanation = explainer.explain(call.inputs, forward_kwargs=call.forward_kwargs, baselines=call.baselines,
                                        target=call.target)
    attributions = np.asarray(explanation.attributions[0])
    if attributions.shape[:2] != task.input_ids.shape:
        raise MethodError(f"alibi returned attributions of shape {attributions.shape} for inputs "
                          f"{task.input_ids.shape}; attribute to a layer whose output has one row per token")
    return MethodResult(attributions, convergence_delta=np.asarray(explanation.deltas).reshape(-1),
                        completeness=True, params={"n_steps": task.n_steps, "integration": integration})


#: The methods that evaluate the points they are given (``Task.alphas``), refined for ``n_steps="auto"``, and
#: the copies of their paths they keep with fixed steps.
PATH_METHODS = {"integrated_gradients": ALIBI_PATH_COPIES}

#: ``(name, function, description, sampling, options)`` of every built-in method.
BUILTIN_METHODS = (
    ("integrated_gradients", integrated_gradients,
     "Integrated Gradients on the embeddings (alibi.explainers.IntegratedGradients)", False,
     (Option("integration", "gausslegendre", "the integration rule (alibi's method=)", "choice",
             choices=INTEGRATIONS),)),
)
