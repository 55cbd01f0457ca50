"""What the backend needs from a kind of model (Hugging Face, Keras word model)."""
from __future__ import annotations

import abc
import contextlib
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from attribkit.backends.tf.costs import ModelSize
from attribkit.errors import InputError
from attribkit.types import ModelInfo

#: Rows per plain forward pass (predictions, baselines).
FORWARD_BATCH_SIZE = 64


@dataclass(frozen=True, eq=False)
class ModelInputs:
    """What alibi runs, on what (see :class:`attribkit.backends.tf.methods.AttributionJob`).

    Attributes:
        model: the Keras model alibi calls, returning the explained outputs ``(N, C)``.
        layer: ``model -> layer``, or ``None`` when ``inputs`` are the layer's output.
        inputs: ``(N, L)`` ids, or ``(N, L, d)`` layer outputs.
        baselines: the same shape as ``inputs``.
        forward_kwargs: extra model inputs (tensors), not attributed.
    """

    model: Any
    layer: Optional[Callable[[Any], Any]]
    inputs: np.ndarray
    baselines: np.ndarray
    forward_kwargs: Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class Batch:
    """Texts padded to one length ``L`` (``N`` texts).

    Attributes:
        inputs: shape ``(N, L)`` int32 token ids.
        baselines: shape ``(N, L)`` int32 baseline ids, or ``None`` for the
            zero vector at the layer (``baseline="zero"`` on a Hugging Face model).
        forward_kwargs: extra model inputs, each of shape ``(N, L)`` or ``(N,)``.
        positions: per text, shape ``(n_i,)``: the columns holding its tokens.
    """

    inputs: np.ndarray
    baselines: Optional[np.ndarray]
    forward_kwargs: Mapping[str, np.ndarray]
    positions: List[np.ndarray]

    def rows(self, keep: Sequence[int]) -> "Batch":
        """The batch restricted to rows ``keep``."""
        keep = list(keep)
        return Batch(self.inputs[keep], None if self.baselines is None else self.baselines[keep],
                     {k: v[keep] for k, v in self.forward_kwargs.items()}, [self.positions[i] for i in keep])


def baseline_description(baseline: Any) -> str:
    """How ``Method.params['baseline']`` records the user's baseline."""
    if isinstance(baseline, str):
        return baseline
    return f"token id {int(baseline)}"


def check_baseline(baseline: Any) -> None:
    if isinstance(baseline, str) and baseline in ("pad", "zero"):
        return
    if isinstance(baseline, (int, np.integer)) and not isinstance(baseline, bool) and baseline >= 0:
        return
    raise InputError(f"baseline must be 'pad', 'zero' or a token id (int >= 0) on the 'tf' backend, got {baseline!r}")


class ClassifierAdapter(abc.ABC):
    """One kind of Keras classifier and its tokenizer, as the backend sees it.

    Attributes set by subclasses:
        tf: the ``tensorflow`` module.
        info: the :class:`ModelInfo` recorded in explanations.
        id2label: class names from the model's config, or ``None``.
        already_probabilities: the model's raw output is probabilities.
        layer: the layer attributed to; ``layer_name`` describes it.
        size: the model's sizes, for the cost estimates of :mod:`attribkit.backends.tf.costs`.
        max_buckets: most length buckets the explained model runs one pass in
            (1: every row of a pass is padded to the same length).
    """

    tf: Any
    info: ModelInfo
    id2label: Optional[Mapping[int, str]] = None
    already_probabilities: bool = False
    layer: Any = None
    layer_name: str = ""
    size: ModelSize
    max_buckets: int = 1

    @abc.abstractmethod
    def encode(self, text: str) -> Any:
        """Tokenise one text: an object with ``input_ids``, ``tokens``, ``offsets``,
        ``special_mask`` and ``truncation_warning()``. Raises for this text only."""

    @abc.abstractmethod
    def batch(self, encodings: Sequence[Any], baseline: Any, limits: Sequence[int]) -> Batch:
        """Pad encodings into one :class:`Batch` with the requested baseline.

        ``limits``: per encoding, the length of its bucket (at least its own
        length); used by a model with ``max_buckets > 1``.
        """

    @abc.abstractmethod
    def raw_outputs(self, ids: np.ndarray, forward_kwargs: Mapping[str, np.ndarray]) -> np.ndarray:
        """The model's own outputs, shape ``(N, n_outputs)`` float64."""

    @abc.abstractmethod
    def explained_model(self, output: str) -> Any:
        """The Keras model alibi runs: ids (+ forward kwargs) -> the explained outputs ``(N, C)``."""

    def outputs(self, batch: Batch) -> Tuple[np.ndarray, np.ndarray]:
        """The model's own outputs for the inputs and for the baselines, each ``(N, n_outputs)``
        (one forward pass over both)."""
        both = self.raw_outputs(np.concatenate([batch.inputs, batch.baselines]),
                                {k: np.concatenate([v, v]) for k, v in batch.forward_kwargs.items()})
        return both[:len(batch.inputs)], both[len(batch.inputs):]

    def explaining(self) -> ContextManager[None]:
        """The context one group of texts is explained in: the forward passes and the method (the Hugging
        Face adapter runs each row's logits once, and notes when alibi reads the layer's output)."""
        return contextlib.nullcontext()

    def model_inputs(self, batch: Batch, output: str) -> ModelInputs:
        """``batch`` attributed to the layer's output, with token-id baselines.

        The layer goes to alibi as a callable (alibi warns about a nested
        layer object and cannot save it).
        """
        layer = self.layer
        return ModelInputs(self.explained_model(output), lambda model: layer, batch.inputs, batch.baselines,
                           {k: self.tf.constant(v) for k, v in batch.forward_kwargs.items()})


def forward_in_chunks(forward: Callable[[int, int], Any], n_rows: int) -> np.ndarray:
    """Concatenate ``forward(start, stop)`` over chunks of :data:`FORWARD_BATCH_SIZE` rows, as ``(N, C)`` float64."""
    parts: List[np.ndarray] = []
    for start in range(0, n_rows, FORWARD_BATCH_SIZE):
        out = np.asarray(forward(start, min(n_rows, start + FORWARD_BATCH_SIZE)), dtype=np.float64)
        parts.append(out.reshape(out.shape[0], -1))
    return np.concatenate(parts, axis=0)
