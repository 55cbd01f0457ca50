"""Gradient methods written once, for every backend whose adapter gives gradients at its layer.

They have the definitions of Captum's methods of the same names, and use
:meth:`attribkit.ModelAdapter.gradients` (the TensorFlow backend's comes from
``tf.GradientTape``); the torch backend runs Captum's own under these names.
Rows go through the model in passes that fit the memory budget.
"""
from __future__ import annotations

import numpy as np

from attribkit.pipeline import MethodResult, Option, Task


def _layer_values(task: Task) -> np.ndarray:
    """``(B, L, d)`` the layer's output at the input."""
    if task.layer_values is not None:
        return task.layer_values
    return np.asarray(task.adapter.layer_outputs(task.input_ids, task.attention_mask))


def _baseline_values(task: Task) -> np.ndarray:
    """``(B, L, d)`` the layer's output at the baseline."""
    if task.baseline_values is not None:
        return task.baseline_values
    return np.asarray(task.adapter.layer_outputs(task.baseline_ids, task.attention_mask))


def gradients(task: Task, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``(N, L, d)`` gradients of ``F_target`` at ``values``, row ``k`` of which belongs to task row ``rows[k]``."""
    parts = []
    step = max(1, task.max_rows)
    for start in range(0, len(values), step):
        chunk = rows[start:start + step]
        parts.append(np.asarray(task.adapter.gradients(
            values[start:start + step], task.input_ids[chunk], task.attention_mask[chunk], task.targets[chunk],
            task.form), dtype=np.float64))
    return np.concatenate(parts)


def path_sum(task: Task) -> MethodResult:
    """``(x - b) * sum_j w_ij grad F(b + alpha_ij (x - b))`` at the layer for each row ``i`` and the task's
    ``alphas`` and ``step_weights`` (``(B, m)``, ``n_steps="auto"``): one weighted sum of path gradients per
    row, in passes of at most ``max_rows`` points (``x`` the layer's output at the input, ``b`` at the
    baseline). Records the points per row as ``n_steps``."""
    x, b = _layer_values(task), _baseline_values(task)
    pairs = [(j, row) for j in range(task.alphas.shape[1]) for row in range(task.batch)]
    total = np.zeros(x.shape)
    step = max(1, task.max_rows)
    for start in range(0, len(pairs), step):
        steps, rows = (np.array(column) for column in zip(*pairs[start:start + step]))
        alphas = task.alphas[rows, steps].reshape(-1, 1, 1).astype(x.dtype)
        grads = gradients(task, b[rows] + alphas * (x[rows] - b[rows]), rows)
        np.add.at(total, rows, task.step_weights[rows, steps].reshape(-1, 1, 1) * grads)
    return MethodResult((x - b) * total, completeness=True, params={"n_steps": int(task.alphas.shape[1])})


def saliency(task: Task) -> MethodResult:
    """The gradient of ``F_target`` with respect to the layer's output; its absolute value unless ``abs=False``."""
    grads = gradients(task, _layer_values(task), np.arange(task.batch))
    absolute = task.options["abs"]
    return MethodResult(np.abs(grads) if absolute else grads, params={"abs": absolute})


def input_x_gradient(task: Task) -> MethodResult:
    """The layer's output times its gradient; the baseline is not used."""
    values = _layer_values(task)
    return MethodResult(values * gradients(task, values, np.arange(task.batch)))


def gradient_shap(task: Task) -> MethodResult:
    """Expected gradients (Captum's ``GradientShap``): ``n_samples`` points at a uniformly drawn fraction
    of the way from the baseline to the input (plus Gaussian noise of ``stdevs``), each point's gradient
    times the input's difference from the baseline, averaged."""
    n_samples, stdevs = task.options["n_samples"], task.options["stdevs"]
    rng = task.rng()
    values, baseline = _layer_values(task)[0], _baseline_values(task)[0]
    total = np.zeros(values.shape)
    for start in range(0, n_samples, max(1, task.max_rows)):  # points made a pass at a time: bounded memory
        size = min(max(1, task.max_rows), n_samples - start)
        noisy = values[None] + (rng.normal(0.0, stdevs, (size,) + values.shape) if stdevs else 0.0)
        alphas = rng.uniform(0.0, 1.0, size)[:, None, None]
        points = baseline[None] + alphas * (noisy - baseline[None])
        grads = gradients(task, points.astype(values.dtype), np.zeros(size, dtype=np.int64))
        total += ((noisy - baseline[None]) * grads).sum(axis=0)
    return MethodResult((total / n_samples)[None], completeness=True, params={"n_samples": n_samples, "stdevs": stdevs})


#: ``(name, function, description, sampling, options)``; each needs the ``"gradients"`` capability.
METHODS = (
    ("saliency", saliency, "gradient at the layer's output, absolute by default (backends with gradients)", False,
     (Option("abs", True, "take the absolute value of the gradient", "bool"),)),
    ("input_x_gradient", input_x_gradient, "the layer's output times its gradient (backends with gradients)",
     False, ()),
    ("gradient_shap", gradient_shap, "expected gradients from the baseline (backends with gradients)", True,
     (Option("n_samples", 20, "random points per text", "int", minimum=1, maximum=1_000_000),
      Option("stdevs", 0.0, "standard deviation of the noise added to the layer's output", "float", minimum=0))),
)
