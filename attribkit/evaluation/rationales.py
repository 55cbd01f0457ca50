"""Human rationales: the words or character spans a person marked as the reason for the label.

A rationale is given per explanation as a list of words (every whole-word
occurrence in the text counts, case-insensitively) or a list of ``[start,
end)`` character spans. It becomes a token mask: a token is in the rationale
when its characters overlap a marked span; special tokens never are.
"""
from __future__ import annotations

import re
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from attribkit.errors import InputError
from attribkit.results import Explanation


def spans_of(rationale: Any, text: str) -> List[Tuple[int, int]]:
    """The character spans of ``rationale`` (words or ``[start, end]`` pairs) in ``text``; :class:`InputError`
    for a span outside the text, a word the text does not hold, or anything else."""
    if isinstance(rationale, str) or not isinstance(rationale, (list, tuple)):
        raise InputError(f"a rationale must be a list of words or of [start, end] character spans, got "
                         f"{type(rationale).__name__} {rationale!r}")
    spans = []
    for part in rationale:
        if isinstance(part, str):
            found = [m.span() for m in re.finditer(rf"(?<!\w){re.escape(part.strip())}(?!\w)", text, re.IGNORECASE)]
            if not part.strip() or not found:
                raise InputError(f"rationale word {part!r} does not occur in the text {_short(text)!r}; give words "
                                 "of the text or [start, end] character spans")
            spans.extend(found)
        elif (isinstance(part, (list, tuple)) and len(part) == 2
              and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in part)):
            start, end = int(part[0]), int(part[1])
            if not 0 <= start < end <= len(text):
                raise InputError(f"rationale span [{start}, {end}] is outside the text (characters 0 to {len(text)}) "
                                 "or empty; give [start, end) with 0 <= start < end <= the text's length")
            spans.append((start, end))
        else:
            raise InputError(f"rationale entry {part!r} is neither a word nor a [start, end] character span")
    return spans


def token_mask(explanation: Explanation, rationale: Any) -> Optional[np.ndarray]:
    """``(n_tokens,)`` bool: the explanation's tokens inside the rationale (``None`` when none is given)."""
    if rationale is None:
        return None
    spans = spans_of(rationale, explanation.text)
    starts, ends = explanation.offsets[:, 0], explanation.offsets[:, 1]
    mask = np.zeros(len(explanation), dtype=bool)
    for start, end in spans:
        mask |= (starts < end) & (ends > start)
    mask &= ~explanation.special_mask & (ends > starts)
    if not mask.any():
        raise InputError(f"the rationale {rationale!r} covers none of the explanation's tokens (the tokenizer may "
                         "have dropped those words, or the text was cut)")
    return mask


def runs(mask: Sequence[bool]) -> List[Tuple[int, int]]:
    """The maximal runs of ``True`` in ``mask`` as ``[start, end)`` index pairs."""
    mask = np.asarray(mask, dtype=bool)
    edges = np.flatnonzero(np.diff(np.concatenate([[False], mask, [False]]).astype(int)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."
