"""Pure functions on :class:`~attribkit.results.Explanation` (numpy only).

Every backend gets these for free: ranking, normalisation and the grouping
of subword tokens into words.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Literal, Sequence

import numpy as np

from attribkit.results import Explanation

Normalization = Literal["none", "l2", "maxabs"]
NORMALIZATIONS = ("none", "l2", "maxabs")

#: Prefixes that mark a WordPiece continuation, and prefixes that mark the
#: start of a new word in byte-level BPE (RoBERTa, GPT-2) and SentencePiece.
CONTINUATION_PREFIX = "##"
WORD_START_PREFIXES = ("\u0120", "\u2581")  # "Ġ", "▁"


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


def _strip_markers(token: str) -> str:
    if token.startswith(CONTINUATION_PREFIX):
        return token[len(CONTINUATION_PREFIX):]
    for prefix in WORD_START_PREFIXES:
        if token.startswith(prefix):
            return token[len(prefix):]
    return token


def _word_groups_from_offsets(explanation: Explanation) -> List[List[int]]:
    groups: List[List[int]] = []
    previous_end = None
    for i, (start, end) in enumerate(explanation.offsets):
        if explanation.special_mask[i] or start == end:
            groups.append([i])
            previous_end = None
            continue
        if previous_end is not None and start == previous_end and groups and not explanation.special_mask[groups[-1][0]]:
            groups[-1].append(i)
        else:
            groups.append([i])
        previous_end = end
    return groups


def _word_groups_from_markers(explanation: Explanation) -> List[List[int]]:
    tokens = explanation.tokens
    uses_start_markers = any(t.startswith(WORD_START_PREFIXES) for t in tokens)
    groups: List[List[int]] = []
    for i, token in enumerate(tokens):
        previous_is_word = bool(groups) and not explanation.special_mask[groups[-1][-1]]
        if explanation.special_mask[i] or not previous_is_word:
            groups.append([i])
        elif token.startswith(CONTINUATION_PREFIX):
            groups[-1].append(i)
        elif uses_start_markers and not token.startswith(WORD_START_PREFIXES):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def words(explanation: Explanation, *, include_special: bool = True) -> List[Word]:
    """Group subword tokens into words.

    Uses character offsets when the explanation has them (tokens whose spans
    touch belong to one word); otherwise the tokenizer's markers: WordPiece
    ``##`` continues a word, BPE ``Ġ`` and SentencePiece ``▁`` start one.
    """
    non_special = ~explanation.special_mask
    has_offsets = bool(np.any(explanation.offsets[non_special, 1] > explanation.offsets[non_special, 0]))
    groups = _word_groups_from_offsets(explanation) if has_offsets else _word_groups_from_markers(explanation)
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
