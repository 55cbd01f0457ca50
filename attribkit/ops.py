"""Pure functions on :class:`~attribkit.results.Explanation` (numpy only).

Every backend gets these for free: ranking, normalisation and the grouping
of subword tokens into words.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Literal, Sequence

import numpy as np

from attribkit.pipeline.encoding import strip_markers as _strip_markers
from attribkit.pipeline.encoding import word_groups
from attribkit.results import Explanation

Normalization = Literal["none", "l2", "maxabs"]
NORMALIZATIONS = ("none", "l2", "maxabs")


def normalize(scores: Sequence[float], how: Normalization = "l2") -> np.ndarray:
    """Return ``scores`` scaled for display.

    ``"none"`` returns a copy; ``"l2"`` divides by the Euclidean norm (as the
    Captum BERT tutorial does); ``"maxabs"`` divides by the largest absolute
    value so the result lies in ``[-1, 1]``. All-zero scores stay zero.
    """
    array = np.asarray(scores, dtype=np.float64).copy()
    if how == "none":
        return array
    if how == "l2":
        scale = float(np.linalg.norm(array))
    elif how == "maxabs":
        scale = float(np.max(np.abs(array))) if array.size else 0.0
    else:
        raise ValueError(f"normalization: expected one of {NORMALIZATIONS}, got {how!r}")
    return array / scale if scale > 0 else array


@dataclass(frozen=True)
class RankedToken:
    """One entry of :func:`top_k`."""

    index: int
    token: str
    score: float


def top_k(
    explanation: Explanation,
    k: int = 5,
    *,
    by: Literal["abs", "positive", "negative"] = "abs",
    include_special: bool = False,
) -> List[RankedToken]:
    """The ``k`` tokens with the largest attribution.

    ``by="abs"`` ranks by magnitude, ``"positive"`` by score (most supporting
    the target first), ``"negative"`` by the opposite. Special tokens are left
    out unless ``include_special``. Ties keep token order.
    """
    if k < 0:
        raise ValueError(f"k: must be >= 0, got {k}")
    scores = explanation.scores
    key = {"abs": -np.abs(scores), "positive": -scores, "negative": scores}.get(by)
    if key is None:
        raise ValueError(f"by: expected 'abs', 'positive' or 'negative', got {by!r}")
    order = np.argsort(key, kind="stable")
    if not include_special:
        order = [i for i in order if not explanation.special_mask[i]]
    return [RankedToken(int(i), explanation.tokens[i], float(scores[i])) for i in order[:k]]


@dataclass(frozen=True)
class Word:
    """A whitespace-delimited word made of one or more tokens.

    ``score`` is the sum of its tokens' scores, so word scores keep the
    completeness property of the token scores.
    """

    text: str
    start: int
    end: int
    score: float
    token_indices: tuple
    special: bool


def words(explanation: Explanation, *, include_special: bool = True) -> List[Word]:
    """Group subword tokens into words.

    Uses character offsets when the explanation has them (tokens whose spans
    touch belong to one word); otherwise the tokenizer's markers: WordPiece
    ``##`` continues a word, BPE ``Ġ`` and SentencePiece ``▁`` start one.
    """
    non_special = ~explanation.special_mask
    has_offsets = bool(np.any(explanation.offsets[non_special, 1] > explanation.offsets[non_special, 0]))
    groups = word_groups(explanation.tokens, explanation.offsets, explanation.special_mask)
    result = []
    for group in groups:
        special = bool(explanation.special_mask[group[0]])
        if special and not include_special:
            continue
        start = int(explanation.offsets[group[0], 0])
        end = int(explanation.offsets[group[-1], 1])
        if has_offsets and not special and end > start:
            text = explanation.text[start:end]
        else:
            text = "".join(_strip_markers(explanation.tokens[i]) if not special else explanation.tokens[i] for i in group)
        score = float(np.sum(explanation.scores[group]))
        result.append(Word(text, start, end, score, tuple(group), special))
    return result
