"""Framework-neutral helpers every text backend needs (numpy only).

Tokenising with a Hugging Face tokenizer (duck-typed: transformers is not
imported), building the pad baseline, resolving targets and turning a
model's raw output into probabilities. Both built-in backends use these, so
equal weights give equal tokens, predictions and targets in every framework;
third-party backends are welcome to use them too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from attribkit.errors import InputError, TargetError, TokenizerError
from attribkit.types import Target

#: Default class names for a single-output (sigmoid) model.
BINARY_LABELS = ("negative", "positive")

#: Larger values of ``tokenizer.model_max_length`` mean "no limit set".
_NO_LIMIT = 1_000_000


@dataclass(frozen=True, eq=False)
class Encoding:
    """One tokenised text.

    Attributes:
        text: the text.
        input_ids: shape ``(n,)`` int64, special tokens included.
        tokens: ``n`` token strings.
        offsets: shape ``(n, 2)`` character spans (``(0, 0)`` for special tokens).
        special_mask: shape ``(n,)`` bool.
        n_total: number of tokens before truncation (``== n`` when not truncated).
    """

    text: str
    input_ids: np.ndarray
    tokens: Tuple[str, ...]
    offsets: np.ndarray
    special_mask: np.ndarray
    n_total: int

    @property
    def truncated(self) -> bool:
        return self.n_total > len(self.input_ids)

    def truncation_warning(self) -> Optional[str]:
        if not self.truncated:
            return None
        return (
            f"input truncated to {len(self.input_ids)} of {self.n_total} tokens (the model's maximum); "
            "tokens past the limit were not explained"
        )


def check_text(text: Any) -> str:
    """Return ``text`` if it can be explained, else raise :class:`InputError`."""
    if not isinstance(text, str):
        raise InputError(f"text must be a str, got {type(text).__name__}; pass a string or a list of strings")
    if not text.strip():
        raise InputError("text is empty or only whitespace; there is nothing to explain")
    return text


def max_length_of(tokenizer: Any, model_max: Optional[int] = None) -> Optional[int]:
    """The length limit to truncate to: the smaller of the tokenizer's and the model's."""
    limits = [n for n in (getattr(tokenizer, "model_max_length", None), model_max) if n and n < _NO_LIMIT]
    return min(limits) if limits else None


def encode(tokenizer: Any, text: str, *, max_length: Optional[int] = None) -> Encoding:
    """Tokenise ``text`` with a Hugging Face tokenizer, special tokens included.

    Texts longer than ``max_length`` tokens are truncated; the returned
    :class:`Encoding` says so (``truncated``, ``truncation_warning()``).
    Offsets come from fast tokenizers; slow ones give empty spans and the
    word view falls back to subword markers.
    """
    check_text(text)
    if not callable(tokenizer) or not hasattr(tokenizer, "convert_ids_to_tokens"):
        raise TokenizerError(
            f"{type(tokenizer).__name__} is not a Hugging Face tokenizer; pass the tokenizer that goes with "
            "the model (AutoTokenizer.from_pretrained(...))"
        )
    fast = bool(getattr(tokenizer, "is_fast", False))
    full = tokenizer(text, add_special_tokens=True, truncation=False, return_special_tokens_mask=True,
                     return_offsets_mapping=fast, verbose=False)
    n_total = len(full["input_ids"])
    if max_length is not None and n_total > max_length:
        enc = tokenizer(text, add_special_tokens=True, truncation=True, max_length=max_length,
                        return_special_tokens_mask=True, return_offsets_mapping=fast)
    else:
        enc = full
    ids = np.asarray(enc["input_ids"], dtype=np.int64)
    special = np.asarray(enc["special_tokens_mask"], dtype=bool)
    if fast:
        offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
        offsets[special] = 0
    else:
        offsets = np.zeros((len(ids), 2), dtype=np.int64)
    tokens = tuple(tokenizer.convert_ids_to_tokens(ids.tolist()))
    return Encoding(text, ids, tokens, offsets, special, n_total)


def check_vocabulary(tokenizer: Any, vocab_size: Optional[int]) -> None:
    """Raise :class:`TokenizerError` if the tokenizer can emit ids the model's embedding does not have."""
    if vocab_size is None:
        return
    tokenizer_size = len(tokenizer)
    if tokenizer_size > vocab_size:
        raise TokenizerError(
            f"the tokenizer has {tokenizer_size} tokens but the model's embedding has {vocab_size} rows; "
            "this tokenizer does not belong to this model: load both from the same checkpoint"
        )


def pad_baseline(input_ids: np.ndarray, special_mask: np.ndarray, pad_id: int) -> np.ndarray:
    """The pad baseline: every token replaced by ``pad_id`` except special tokens ([CLS], [SEP]...)."""
    if pad_id is None:
        raise TokenizerError("the tokenizer has no pad token; set tokenizer.pad_token or pass baseline='zero'")
    return np.where(special_mask, input_ids, pad_id).astype(np.int64)


def label_names(id2label: Optional[dict], n_outputs: int, labels: Optional[Sequence[str]] = None) -> Tuple[str, ...]:
    """Class names: the user's ``labels``, else ``config.id2label``, else defaults.

    A single-output model has two classes (``BINARY_LABELS`` unless given).
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


def probabilities(raw: np.ndarray, *, already_probabilities: bool = False) -> np.ndarray:
    """Class probabilities from one output row of shape ``(n_outputs,)``.

    Softmax over several outputs, ``[1 - p, p]`` with ``p = sigmoid(z)`` for a
    single output. With ``already_probabilities`` the model's output is taken
    as is (a model ending in softmax or sigmoid).
    """
    raw = np.asarray(raw, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(raw)):
        from attribkit.errors import ModelError

        raise ModelError(f"the model returned non-finite outputs {raw.tolist()}; check its weights and inputs")
    if raw.size == 1:
        p = float(raw[0]) if already_probabilities else float(1.0 / (1.0 + np.exp(-raw[0])))
        return np.array([1.0 - p, p])
    if already_probabilities:
        return raw.copy()
    shifted = np.exp(raw - raw.max())
    return shifted / shifted.sum()


def explained_value(raw: np.ndarray, target: int, output: str, *, already_probabilities: bool = False) -> float:
    """The scalar ``F`` that attributions explain, computed from one output row.

    ``output="probability"``: the target's probability (for a single-output
    model, ``p`` for class 1 and ``1 - p`` for class 0). ``output="logit"``:
    the model's raw output for the target (for a single output, ``z`` for
    class 1 and ``-z`` for class 0; for a model that already outputs
    probabilities, that output). Backends compute the same quantity in their
    framework; this reference is used for the completeness gap.
    """
    raw = np.asarray(raw, dtype=np.float64).reshape(-1)
    if output == "probability":
        return float(probabilities(raw, already_probabilities=already_probabilities)[target])
    if raw.size == 1:
        if already_probabilities:
            return float(raw[0] if target == 1 else 1.0 - raw[0])
        return float(raw[0] if target == 1 else -raw[0])
    return float(raw[target])


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
        if target.lstrip("-").isdigit():
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
