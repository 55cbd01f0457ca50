"""Baselines, parsed once for every backend (numpy only).

The baseline is the input the explanation starts from: ``F(baseline)`` is
what the scores are measured against. Token baselines are model inputs
(ids); vector baselines are given at the attributed layer's output.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from attribkit.errors import InputError, TokenizerError
from attribkit.pipeline.encoding import Encoding

KINDS = ("pad", "pad_all_special", "zero", "token", "ids", "vectors")
DESCRIPTION = ("'pad', 'pad_all_special', 'zero', a token id, a sequence of token ids, "
               "or embedding vectors of shape (d,) or (n_tokens, d)")


def as_array(value: Any) -> Optional[np.ndarray]:
    """``value`` as a numpy array (torch and TensorFlow tensors included, by duck typing), or ``None``."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # a TensorFlow tensor
        value = value.numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return array if array.dtype.kind in "biuf" else None


@dataclass(frozen=True, eq=False)
class Baseline:
    """The user's ``baseline``, resolved.

    ``kind``:

    - ``"pad"``: every token replaced by the pad token except the special tokens
      the tokenizer added ([CLS], [SEP]), as the Captum BERT tutorial does;
    - ``"pad_all_special"``: the same, but every id in ``tokenizer.all_special_ids``
      is kept ([UNK] included), as alibi's transformer example builds it;
    - ``"token"``: ``value`` (an id) in place of every non-special token;
    - ``"ids"``: ``value``, the whole sequence of baseline ids;
    - ``"zero"``: the zero vector at the layer's output;
    - ``"vectors"``: ``value``, vectors at the layer's output, ``(d,)`` or ``(n_tokens, d)``.
    """

    kind: str
    value: Any = None

    @classmethod
    def parse(cls, baseline: Any) -> "Baseline":
        if isinstance(baseline, str):
            if baseline in ("pad", "pad_all_special", "zero"):
                return cls(baseline)
            raise InputError(f"baseline must be {DESCRIPTION}; got {baseline!r}")
        if isinstance(baseline, bool) or baseline is None:
            raise InputError(f"baseline must be {DESCRIPTION}; got {baseline!r}")
        if isinstance(baseline, (int, np.integer)):
            if baseline < 0:
                raise InputError(f"a token id baseline must be >= 0, got {baseline}")
            return cls("token", int(baseline))
        array = as_array(baseline)
        if array is None:
            raise InputError(f"baseline must be {DESCRIPTION}; got a {type(baseline).__name__}")
        if array.dtype.kind == "f":
            if array.ndim not in (1, 2) or not np.all(np.isfinite(array)):
                raise InputError(f"a vector baseline must be finite, of shape (d,) or (n_tokens, d); "
                                 f"got shape {array.shape}")
            return cls("vectors", array.astype(np.float32))
        if array.ndim != 1:
            raise InputError(f"an id baseline must be one sequence of token ids, got shape {array.shape}")
        return cls("ids", array.astype(np.int64))

    @property
    def uses_ids(self) -> bool:
        """Token baselines (model inputs) rather than vectors at the layer."""
        return self.kind in ("pad", "pad_all_special", "token", "ids")

    def describe(self) -> str:
        """How ``Method.params["baseline"]`` records it, the same on every backend."""
        return {"token": f"token {self.value}"}.get(self.kind, self.kind)

    def ids_for(self, encoding: Encoding, pad_id: Optional[int], special_ids: Sequence[int] = ()) -> np.ndarray:
        """Baseline ids of shape ``(n,)`` for one encoding; :class:`InputError` when they do not fit it."""
        ids = encoding.input_ids
        if self.kind == "ids":
            if self.value.shape != ids.shape:
                raise InputError(f"the baseline has {self.value.shape[0]} ids but the text has {len(ids)} tokens")
            return self.value
        if self.kind == "token":
            return np.where(encoding.special_mask, ids, self.value).astype(np.int64)
        if pad_id is None:
            raise TokenizerError("the tokenizer has no pad token; set tokenizer.pad_token or pass baseline='zero'")
        keep = encoding.special_mask
        if self.kind == "pad_all_special":
            keep = keep | np.isin(ids, np.asarray(special_ids, dtype=np.int64))
        return np.where(keep, ids, pad_id).astype(np.int64)

    def vectors_for(self, layer_values: np.ndarray) -> np.ndarray:
        """Baseline vectors of shape ``(n, d)`` for one text whose layer output is ``layer_values`` ``(n, d)``."""
        n, d = layer_values.shape
        if self.kind == "zero":
            return np.zeros_like(layer_values)
        value = self.value
        if value.shape[-1] != d:
            raise InputError(f"the vector baseline has size {value.shape[-1]}; the layer's output has {d}")
        if value.ndim == 2 and value.shape[0] != n:
            raise InputError(f"the vector baseline has {value.shape[0]} rows but the text has {n} tokens")
        return np.broadcast_to(value, (n, d)).astype(layer_values.dtype)
