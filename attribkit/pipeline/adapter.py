"""The model adapter: what a backend tells the pipeline about one model and its tokenizer.

A backend is a model adapter plus its methods. The pipeline
(:mod:`attribkit.pipeline.run`) does everything else, the same way for every
backend: tokenising, baselines, batches, predictions, targets, the explained
output, completeness and assembly. The adapter speaks numpy at this
boundary; its framework objects (a ``torch.nn.Module``, a Keras model) are
for its own methods.
"""
from __future__ import annotations

import contextlib
from typing import Any, ContextManager, List, Mapping, Optional, Tuple

import numpy as np

from attribkit.errors import MethodError
from attribkit.pipeline.encoding import (
    Encoding, check_tokenizer, encode_full, is_hugging_face_tokenizer, pad_id_of, special_ids_of, tokenizer_limit,
)
from attribkit.pipeline.outputs import OutputForm, explained_values
from attribkit.pipeline.planner import ModelSize
from attribkit.results import ModelInfo


def is_hugging_face_model(model: Any) -> bool:
    """A ``transformers`` model of any framework: a ``config`` and a ``base_model_prefix`` (duck typing)."""
    return getattr(model, "config", None) is not None and isinstance(getattr(model, "base_model_prefix", None), str)


def position_limit(config: Any, padding_idx: Optional[int] = None) -> Optional[int]:
    """The longest input a Hugging Face config's position embeddings allow; RoBERTa-style models reserve
    ``padding_idx + 1`` of them."""
    limit = getattr(config, "max_position_embeddings", None)
    if not limit:
        return None
    return int(limit) - (padding_idx + 1) if isinstance(padding_idx, int) else int(limit)


class ModelAdapter:
    """One model and its tokenizer, as the pipeline sees them (created per :func:`attribkit.explain` call).

    Subclasses implement :meth:`raw_outputs`, and for gradient methods and
    vector baselines :meth:`layer_outputs` and ``raw_outputs(...,
    layer_values=...)``. They set the attributes below in ``__init__``.

    Attributes:
        model, tokenizer: what the user passed.
        info: the :class:`~attribkit.ModelInfo` recorded in explanations.
        id2label: class names the model carries (``config.id2label``), or ``None``.
        returns_probabilities: the model's raw output already is probabilities
            (it ends in a softmax or sigmoid); ``None`` when the structure
            does not tell (a softmax inside ``forward``/``call``): the pipeline
            then reads outputs that sum to 1 as probabilities. The user's
            ``model_returns`` option overrides both.
        max_length: the longest input the model takes (position embeddings), or ``None``.
        input_length: a fixed input length every row is padded to (a Keras
            word model's input shape), or ``None``.
        vocab_size: rows of the model's token embedding, to check the tokenizer against.
        size: the model's sizes, for the planner's cost model.
        layer_name: the attributed layer, as recorded in ``Method.params["layer"]``;
            ``None`` when the adapter has no layer (prediction-only methods).
        threads: CPU threads the framework uses (scales the planner's fixed costs).
        memory_budget_mb: activations one forward and backward pass may keep by default, or ``None``: a
            share of the machine's available memory (:func:`~attribkit.pipeline.planner.default_memory_bytes`).
        max_buckets: length buckets one method call can run (1: a call pads all its rows to one length).
        whole_passes: the backend's gradient methods put a step of every text in each pass (Captum).
        padding: ``"post"`` (right, with the attention mask) or ``"pre"`` (left, as ``pad_sequences``).
    """

    model: Any = None
    tokenizer: Any = None
    info: ModelInfo
    id2label: Optional[Mapping[int, str]] = None
    returns_probabilities: Optional[bool] = None
    max_length: Optional[int] = None
    input_length: Optional[int] = None
    vocab_size: Optional[int] = None
    size: ModelSize = ModelSize()
    layer_name: Optional[str] = None
    threads: float = 1.0
    memory_budget_mb: Optional[float] = None
    max_buckets: int = 1
    whole_passes: bool = True
    padding: str = "post"

    # -- text ------------------------------------------------------------------------------------------
    def check_tokenizer(self) -> None:
        """Raise :class:`attribkit.TokenizerError` when :meth:`encode` cannot use the tokenizer (checked
        once per call; an adapter with its own :meth:`encode` overrides both)."""
        check_tokenizer(self.tokenizer)

    def encode(self, text: str) -> Encoding:
        """The whole text as tokens (nothing cut; the pipeline truncates or cuts windows)."""
        return encode_full(self.tokenizer, text)

    @property
    def pad_id(self) -> int:
        return pad_id_of(self.tokenizer)

    @property
    def special_ids(self) -> Tuple[int, ...]:
        return special_ids_of(self.tokenizer)

    @property
    def mask_id(self) -> Optional[int]:
        """The tokenizer's mask token ([MASK], ``<mask>``), or ``None``."""
        mask = getattr(self.tokenizer, "mask_token_id", None)
        return int(mask) if mask is not None else None

    def length_limit(self) -> Optional[int]:
        """The smaller of the tokenizer's and the model's limits."""
        limits = [n for n in (tokenizer_limit(self.tokenizer) if is_hugging_face_tokenizer(self.tokenizer) else None,
                              self.max_length, self.input_length) if n]
        return min(limits) if limits else None

    # -- the model ---------------------------------------------------------------------------------------
    def session(self) -> ContextManager[List[str]]:
        """The span of one explain call; yields a list the adapter may add warnings to (for every explanation)."""
        return contextlib.nullcontext([])

    def raw_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray,
                    layer_values: Optional[np.ndarray] = None) -> np.ndarray:
        """The model's own outputs, ``(N, n_outputs)`` float64, for ids ``(N, L)`` padded as :attr:`padding`
        says (``attention_mask`` is 1 on real tokens). With ``layer_values`` ``(N, L, d)`` the attributed
        layer's output is replaced by them."""
        raise NotImplementedError

    def layer_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """The attributed layer's output, ``(N, L, d)``."""
        raise MethodError(f"the {self.info.backend!r} backend has no layer to attribute to; "
                          "use a token baseline ('pad', 'pad_all_special', a token id or ids)")

    def gradients(self, values: np.ndarray, input_ids: np.ndarray, attention_mask: np.ndarray,
                  targets: np.ndarray, form: OutputForm) -> np.ndarray:
        """``(N, L, d)``: the gradient of each row's ``F_target`` with respect to the layer's output, with
        that output replaced by ``values`` ``(N, L, d)``. Backends that implement it declare the
        ``"gradients"`` capability when they register; the gradient methods written for every backend
        use it."""
        raise MethodError(f"the {self.info.backend!r} backend gives no gradients")

    def explained_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray,
                          form: OutputForm) -> np.ndarray:
        """F ``(N, n_classes)`` as this backend's methods compute it in their framework. The default is
        the numpy reference; the conformance kit checks that an override gives the same values."""
        return explained_values(self.raw_outputs(input_ids, attention_mask), form)
