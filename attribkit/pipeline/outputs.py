"""What is explained: the explained value F, probabilities, labels and targets (numpy only).

F is defined here once. For a model with several outputs, ``output=
"probability"`` explains the softmax probability of the target class and
``output="logit"`` its raw output. A single-output model has two classes:
class 1 explains ``p = sigmoid(z)`` (or ``z`` for the logit), class 0
explains ``1 - p`` (or ``-z``). A model that already returns probabilities
(it ends in a softmax or sigmoid, or its outputs are seen to be
probabilities) is not squashed again. ``output="sum"`` explains the sum of
the raw outputs, whatever the target (what Captum differentiates when a
forward returns several outputs and no target is given). Each framework
computes the same F in its own operations (:class:`OutputForm` says how);
the conformance kit checks them against :func:`explained_values`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from attribkit.errors import InputError, TargetError
from attribkit.results import OUTPUT_KINDS, Target

#: Default class names for a single-output (sigmoid) model.
BINARY_LABELS = ("negative", "positive")
MODEL_RETURNS = ("logits", "probabilities")
PROBABILITY_LOGIT_NOTE = (
    "the model returns probabilities, so output='logit' explains its raw output (the probability itself)"
)


@dataclass(frozen=True)
class OutputForm:
    """How the explained values ``(N, n_classes)`` come from raw outputs ``(N, n_outputs)``.

    Attributes:
        activation: ``"identity"``, ``"sigmoid"`` or ``"softmax"``, applied to the raw outputs.
        single: one raw output, read as two classes: ``[1 - v, v]`` when
            ``probability``, else ``[-v, v]`` (``v`` the activated output).
        probability: the activated outputs are probabilities.
        summed: every class's F is the sum of the raw outputs (``output="sum"``).
    """

    activation: str
    single: bool
    probability: bool
    summed: bool = False


def output_form(n_outputs: int, output: str, returns_probabilities: Optional[bool]) -> OutputForm:
    """The form of F for a model with ``n_outputs`` raw outputs."""
    if output not in OUTPUT_KINDS:
        raise InputError(f"output must be one of {OUTPUT_KINDS}, got {output!r}")
    single = n_outputs == 1
    if output == "sum":
        return OutputForm("identity", single, bool(returns_probabilities), summed=True)
    if output == "logit" or returns_probabilities:
        return OutputForm("identity", single, bool(returns_probabilities))
    return OutputForm("sigmoid" if single else "softmax", single, True)


def explained_values(raw: np.ndarray, form: OutputForm) -> np.ndarray:
    """The reference F: ``(N, n_classes)`` float64 from ``(N, n_outputs)`` raw outputs."""
    raw = np.asarray(raw, dtype=np.float64)
    raw = raw.reshape(raw.shape[0], -1)
    if form.activation == "softmax":
        shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
        values = shifted / shifted.sum(axis=1, keepdims=True)
    elif form.activation == "sigmoid":
        values = 1.0 / (1.0 + np.exp(-raw))
    else:
        values = raw
    if form.summed:
        return np.repeat(values.sum(axis=1, keepdims=True), 2 if form.single else values.shape[1], axis=1)
    if form.single:
        values = np.concatenate([1.0 - values if form.probability else -values, values], axis=1)
    return values


def reads_as_probabilities(rows: np.ndarray) -> bool:
    """Whether raw outputs ``(N, n_outputs)`` of a model of unknown kind are probabilities: several
    outputs, every row in [0, 1] and summing to 1 (a softmax applied inside the model). A single output
    cannot tell, and is read as a logit unless the model is known to end in a sigmoid."""
    rows = np.asarray(rows, dtype=np.float64)
    return bool(rows.ndim == 2 and rows.shape[0] and rows.shape[1] > 1 and np.all(rows >= 0) and np.all(rows <= 1)
                and np.all(np.abs(rows.sum(axis=1) - 1) <= 1e-4))


def returns_probabilities_of(known: Optional[bool], rows: np.ndarray) -> bool:
    """The adapter's (or the user's) answer when it has one, else what the outputs ``rows`` show."""
    return bool(known) if known is not None else reads_as_probabilities(rows)


def probabilities(raw: np.ndarray, returns_probabilities: Optional[bool]) -> np.ndarray:
    """Class probabilities ``(N, n_classes)``: the prediction of each row."""
    raw = np.asarray(raw, dtype=np.float64)
    returns_probabilities = returns_probabilities_of(returns_probabilities, raw.reshape(len(raw), -1))
    return explained_values(raw, output_form(raw.reshape(len(raw), -1).shape[1], "probability",
                                             returns_probabilities))


def label_names(id2label: Optional[dict], n_outputs: int, labels: Optional[Sequence[str]] = None) -> Tuple[str, ...]:
    """Class names: the user's ``labels``, else the model's ``id2label``, else defaults.

    A single-output model has two classes (:data:`BINARY_LABELS` unless given).
    """
    n_classes = 2 if n_outputs == 1 else n_outputs
    if labels is not None:
        labels = tuple(str(label) for label in labels)
        if len(labels) != n_classes:
            raise InputError(f"labels: {len(labels)} names given for a model with {n_classes} classes")
        return labels
    if id2label and len(id2label) == n_classes:
        return tuple(str(id2label[i]) for i in sorted(id2label, key=int))
    return BINARY_LABELS if n_outputs == 1 else tuple(f"LABEL_{i}" for i in range(n_classes))


def resolve_target(target: Any, labels: Sequence[str], predicted: int) -> Target:
    """Turn the user's target (``None``, an index or a label name) into a :class:`Target`."""
    labels = tuple(labels)
    if target is None:
        return Target(predicted, labels[predicted])
    if isinstance(target, str):
        if target in labels:
            return Target(labels.index(target), target)
        lowered = [label.lower() for label in labels]
        if target.lower() in lowered:
            index = lowered.index(target.lower())
            return Target(index, labels[index])
        if re.fullmatch(r"-?[0-9]+", target):
            return resolve_target(int(target), labels, predicted)
        raise TargetError(f"unknown target label {target!r}; this model's labels are {list(labels)}")
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not 0 <= int(target) < len(labels):
            raise TargetError(
                f"target index {int(target)} is out of range: this model has {len(labels)} classes "
                f"(0..{len(labels) - 1}: {list(labels)})"
            )
        return Target(int(target), labels[int(target)])
    raise TargetError(f"target must be None, a class index or a label name, got {type(target).__name__} {target!r}")


def check_true_label(true_label: Any, labels: Sequence[str]) -> None:
    """Raise :class:`InputError` unless ``true_label`` is ``None``, a class index or one of ``labels``
    (case-insensitive): a gold label the model does not have cannot be compared with its prediction."""
    if true_label is None:
        return
    if isinstance(true_label, str):
        if true_label in labels or true_label.lower() in [label.lower() for label in labels]:
            return
    elif isinstance(true_label, (int, np.integer)) and not isinstance(true_label, bool):
        if 0 <= int(true_label) < len(labels):
            return
    raise InputError(f"true label {true_label!r} is not one of this model's classes: give an index from 0 to "
                     f"{len(labels) - 1} or one of {list(labels)}")
