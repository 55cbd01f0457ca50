"""Sliding windows over a long document (numpy only), for every backend.

A document longer than the model's limit is cut into windows of its content
tokens, each with the document's own leading and trailing special tokens
([CLS] ... [SEP]). Every content token takes its score from the window in
which it is most central, so it was explained with as much context on both
sides as the windows offer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from attribkit.errors import InputError
from attribkit.pipeline.encoding import Encoding, content_bounds


@dataclass(frozen=True)
class WindowPlan:
    """How one document is cut.

    Attributes:
        n_lead: special tokens before the content ([CLS]).
        n_trail: special tokens after it ([SEP]).
        stride: content tokens between the starts of consecutive windows
            (the last window is aligned with the document's end).
        spans: ``(start, end)`` of each window in content-token indices.
        owner: shape ``(n_content,)``: the window each content token's score comes from.
    """

    n_lead: int
    n_trail: int
    stride: int
    spans: Tuple[Tuple[int, int], ...]
    owner: np.ndarray


def spans(n_content: int, size: int, stride: int) -> List[Tuple[int, int]]:
    """Windows of ``size`` tokens every ``stride`` tokens; the last one ends at the document's end."""
    if n_content <= size:
        return [(0, n_content)]
    starts = list(range(0, n_content - size, stride)) + [n_content - size]
    return [(start, start + size) for start in starts]


def most_central(window_spans: Sequence[Tuple[int, int]], n_content: int) -> np.ndarray:
    """For each content token, the window whose centre is nearest to it (the earlier one on a tie)."""
    positions = np.arange(n_content)[:, None]
    starts = np.array([s for s, _ in window_spans])[None, :]
    ends = np.array([e for _, e in window_spans])[None, :]
    distance = np.abs(positions - (starts + ends - 1) / 2.0)
    distance = np.where((positions >= starts) & (positions < ends), distance, np.inf)
    return np.argmin(distance, axis=1)


def plan(encoding: Encoding, max_length: int, stride: Optional[int]) -> WindowPlan:
    """Cut ``encoding`` (untruncated, special tokens included) into windows of ``max_length`` tokens."""
    content = np.flatnonzero(~encoding.special_mask)
    n_lead, n_trail = content_bounds(encoding)
    size = max_length - n_lead - n_trail
    if size < 1:
        raise InputError(f"max_length {max_length} leaves no room for text between {n_lead + n_trail} special tokens")
    if stride is None:
        stride = max(1, size // 2)
    if isinstance(stride, bool) or not isinstance(stride, int) or not 1 <= stride <= size:
        raise InputError(f"stride must be an integer from 1 to the window's {size} text tokens, got {stride!r}")
    window_spans = spans(len(content), size, stride)
    return WindowPlan(n_lead, n_trail, stride, tuple(window_spans), most_central(window_spans, len(content)))


def window_encodings(encoding: Encoding, window_plan: WindowPlan) -> List[Encoding]:
    """One :class:`Encoding` per window: leading specials + content span + trailing specials."""
    n = len(encoding.input_ids)
    lead = np.arange(window_plan.n_lead)
    trail = np.arange(n - window_plan.n_trail, n)
    windows = []
    for start, end in window_plan.spans:
        index = np.concatenate([lead, window_plan.n_lead + np.arange(start, end), trail])
        window = encoding.select(index)
        windows.append(Encoding(window.text, window.input_ids, window.tokens, window.offsets, window.special_mask,
                                len(index), encoding.unit))
    return windows


def merge(window_plan: WindowPlan, per_window: Sequence[np.ndarray]) -> np.ndarray:
    """Document rows from window rows (``(n_window, ...)`` each): content from its owner window,
    leading specials from the first window, trailing specials from the last."""
    lead = window_plan.n_lead
    rows = [per_window[0][:lead]]
    for token, window in enumerate(window_plan.owner):
        start = window_plan.spans[window][0]
        rows.append(per_window[window][lead + token - start][None])
    rows.append(per_window[-1][len(per_window[-1]) - window_plan.n_trail:])
    return np.concatenate(rows)
