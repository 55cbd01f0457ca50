"""The diverging colour scale shared by the HTML and terminal renderers.

Scores are first scaled per explanation (:func:`display_values`), then mapped
to a colour-blind-safe diverging palette centred on zero: orange for tokens
that speak against the target class, near-white for zero, blue for tokens
that support it. Colours are interpolated here, without matplotlib.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from attribkit.errors import InputError
from attribkit.ops import NORMALIZATIONS, normalize

RGB = Tuple[int, int, int]

#: ``(position, colour)`` stops from -1 to +1 (ColorBrewer PuOr/RdBu hues).
STOPS: Tuple[Tuple[float, RGB], ...] = (
    (-1.0, (0xB3, 0x58, 0x06)),
    (-0.5, (0xFD, 0xB8, 0x63)),
    (0.0, (0xF7, 0xF7, 0xF7)),
    (0.5, (0x92, 0xC5, 0xDE)),
    (1.0, (0x21, 0x66, 0xAC)),
)
NEUTRAL: RGB = STOPS[2][1]
#: Pure black and white: on any background one of them reaches the WCAG AA
#: contrast ratio of 4.5:1.
DARK_TEXT: RGB = (0x00, 0x00, 0x00)
LIGHT_TEXT: RGB = (0xFF, 0xFF, 0xFF)


def check_normalization(how: str) -> str:
    """Return ``how`` if it is a known normalisation, else raise :class:`InputError`."""
    if how not in NORMALIZATIONS:
        raise InputError(f"normalization: expected one of {NORMALIZATIONS}, got {how!r}")
    return how


def display_values(scores: Sequence[float], how: str) -> np.ndarray:
    """Scores scaled with :func:`attribkit.ops.normalize` and clipped to ``[-1, 1]``.

    Shape ``(n,)`` in, shape ``(n,)`` out. ``"maxabs"`` puts the largest
    ``|score|`` at full intensity; ``"none"`` keeps raw scores (clipped).
    """
    return np.clip(normalize(scores, how), -1.0, 1.0)


def colour(value: float) -> RGB:
    """The palette colour of ``value`` in ``[-1, 1]`` (values outside are clipped)."""
    value = min(1.0, max(-1.0, float(value)))
    for (left, low), (right, high) in zip(STOPS, STOPS[1:]):
        if value <= right:
            t = (value - left) / (right - left)
            return tuple(round(a + (b - a) * t) for a, b in zip(low, high))  # type: ignore[return-value]
    return STOPS[-1][1]


def _luminance(rgb: RGB) -> float:
    """WCAG relative luminance of an sRGB colour."""
    srgb = [c / 255 for c in rgb]
    linear = [s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4 for s in srgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: RGB, b: RGB) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_colour(background: RGB) -> RGB:
    """Dark or light text, whichever contrasts more with ``background``."""
    return max((DARK_TEXT, LIGHT_TEXT), key=lambda text: _contrast(text, background))


def hex_colour(rgb: RGB) -> str:
    """``(r, g, b)`` as ``#rrggbb``."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def legend_colours(steps: int = 11) -> List[RGB]:
    """``steps`` evenly spaced colours from -1 to +1, for a legend."""
    return [colour(v) for v in np.linspace(-1.0, 1.0, steps)]
