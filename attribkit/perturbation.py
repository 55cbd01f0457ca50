"""Built-in plugin: methods that need only the model's outputs, written once for every backend.

They are registered for :data:`attribkit.ANY_BACKEND` and work through
:meth:`attribkit.Task.explained` (rows of token ids in, F out, batched), so
any backend gets them, third-party ones included; a backend's own method of
the same name takes precedence.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from attribkit.errors import MethodError
from attribkit.hookspecs import hookimpl
from attribkit.pipeline import ANY_BACKEND, MethodResult, Task


def feature_ablation(task: Task) -> MethodResult:
    """Each token's score: ``F(x) - F(x with that token replaced by its baseline token)``.

    One perturbed copy of the text per token whose baseline differs from it
    (the others score 0), all of them run through the model in passes of
    ``task.rows_per_pass`` rows.
    """
    if task.baseline_ids is None:
        raise MethodError("feature_ablation on this backend replaces tokens by the baseline's tokens; use a token "
                          "baseline ('pad', 'pad_all_special', a token id or ids), not vectors")
    rows, masks, places = [], [], []
    for row, columns in enumerate(task.positions):
        for column in columns:
            if task.baseline_ids[row, column] != task.input_ids[row, column]:
                ablated = task.input_ids[row].copy()
                ablated[column] = task.baseline_ids[row, column]
                rows.append(ablated)
                masks.append(task.attention_mask[row])
                places.append((row, column))
    scores = np.zeros(task.input_ids.shape)
    if rows:
        values = task.explained(np.stack(rows), np.stack(masks))
        for (row, column), value in zip(places, values):
            scores[row, column] = task.outputs[row, task.targets[row]] - value[task.targets[row]]
    return MethodResult(scores=scores)


@hookimpl
def attribkit_register_methods(register: Callable[..., None]) -> None:
    register("feature_ablation", ANY_BACKEND, feature_ablation,
             description="one token at a time replaced by its baseline token (any backend)")
