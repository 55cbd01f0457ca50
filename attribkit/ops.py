"""Pure functions on :class:`~attribkit.results.Explanation` (numpy only).

Every backend gets these for free: ranking, normalisation and the grouping
of subword tokens into words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, List, Literal, Sequence

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
    words: bool = False,
) -> List[Any]:
    """The ``k`` tokens (or, with ``words=True``, whole words) with the largest attribution.

    ``by="abs"`` ranks by magnitude, ``"positive"`` by score (most supporting
    the target first), ``"negative"`` by the opposite. Special tokens are left
    out unless ``include_special``. Ties keep text order. Tokens come as
    :class:`RankedToken`; words as :class:`Word` (``"unbelievable"``, not its
    pieces ``"un"``, ``"##believ"``, ``"##able"``), scored by the sum of their tokens.
    """
    if k < 0:
        raise ValueError(f"k: must be >= 0, got {k}")
    if words:
        units = _word_list(explanation, include_special=include_special)
        scores = np.array([unit.score for unit in units], dtype=float)
    else:
        scores = explanation.scores
    key = {"abs": -np.abs(scores), "positive": -scores, "negative": scores}.get(by)
    if key is None:
        raise ValueError(f"by: expected 'abs', 'positive' or 'negative', got {by!r}")
    order = np.argsort(key, kind="stable")
    if words:
        return [units[i] for i in order[:k]]
    if not include_special:
        order = [i for i in order if not explanation.special_mask[i]]
    return [RankedToken(int(i), explanation.tokens[i], float(scores[i])) for i in order[:k]]


@dataclass(frozen=True)
class Word:
    """A whitespace-delimited word made of one or more tokens.

    ``score`` is the sum of its tokens' scores, so word scores keep the
    completeness property of the token scores. A ``dropped`` word is text
    no token covers (a word tokenizer's out-of-vocabulary word or filtered
    punctuation, or words cut by truncation): it has no tokens and no score.
    """

    text: str
    start: int
    end: int
    score: float
    token_indices: tuple
    special: bool
    dropped: bool = False


def words(explanation: Explanation, *, include_special: bool = True, include_dropped: bool = False) -> List[Word]:
    """Group subword tokens into words.

    Uses character offsets when the explanation has them (tokens whose spans
    touch belong to one word); otherwise the tokenizer's markers: WordPiece
    ``##`` continues a word, BPE ``Ġ`` and SentencePiece ``▁`` start one.
    With ``include_dropped`` (and offsets), the words of the text that no
    token covers come too, in text order, marked ``dropped``: the whole text
    is there to read.
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
    if include_dropped and has_offsets:
        result = _with_dropped_words(explanation.text, result)
    return result


_word_list = words  # top_k's parameter ``words`` hides the function inside it


def _with_dropped_words(text: str, scored: List[Word]) -> List[Word]:
    """``scored`` with a dropped :class:`Word` for each run of non-space characters no token covers, in text
    order (special tokens stay where they are: ``[CLS]`` first, ``[SEP]`` last)."""
    covered = np.zeros(len(text), dtype=bool)
    for word in scored:
        if not word.special:
            covered[word.start:word.end] = True
    uncovered = "".join(" " if is_covered else char for char, is_covered in zip(text, covered))
    dropped = [Word(m.group(), m.start(), m.end(), 0.0, (), False, dropped=True)
               for m in re.finditer(r"\S+", uncovered)]
    content = [i for i, word in enumerate(scored) if not word.special]
    tail = content[-1] + 1 if content else len(scored)  # the special tokens after the text
    result, queue = [], list(reversed(dropped))
    for word in scored[:tail]:
        while queue and not word.special and queue[-1].start < word.start:
            result.append(queue.pop())
        result.append(word)
    return result + queue[::-1] + scored[tail:]
