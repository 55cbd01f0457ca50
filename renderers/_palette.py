"""The diverging colour scale shared by the HTML and terminal renderers.

Scores are first scaled (:class:`Scale`): by default one scale for the whole
report per output kind (``"shared"``: divided by the largest ``|score|`` of
every explanation that explains the same kind of output, so weak evidence
stays pale), or per explanation on request (``"maxabs"``, ``"l2"``,
``"none"``). Scaled values are mapped to a colour-blind-safe diverging
palette centred on zero: orange for tokens that speak against the target
class, near-white for zero, blue for tokens that support it. Colours are
interpolated here, without matplotlib.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Sequence, Tuple

import numpy as np

from attribkit import ops
from attribkit.errors import InputError
from attribkit.ops import normalize, words
from attribkit.results import Explanation

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


#: The default: one scale for all the explanations of a report that explain the same output kind.
SHARED = "shared"
#: A shared scale at or below this is no scale (scores are shown as they are): words scored this close to
#: zero are zero to any model, and dividing a special token's score by it could overflow.
SMALLEST_SCALE = 1e-300
#: What a renderer's ``normalization`` accepts: the shared scale, or one of the per-explanation
#: normalisations of :func:`attribkit.normalize`.
NORMALIZATIONS = (SHARED,) + ops.NORMALIZATIONS


def check_normalization(how: str) -> str:
    """Return ``how`` if it is a known normalisation, else raise :class:`InputError`."""
    if how not in NORMALIZATIONS:
        raise InputError(f"normalization: expected one of {NORMALIZATIONS}, got {how!r}")
    return how


@dataclass
class Scale:
    """How scores become colour intensities in ``[-1, 1]``.

    With ``how="shared"`` the scale of an output kind (``"probability"``, ``"logit"``, ``"sum"``) is the
    largest ``|score|`` of any word or token of the explanations seen (:meth:`add`) that explain that
    kind, whatever their method; a token with half that score gets half the colour. Special tokens
    (``[CLS]``, hidden by default) do not set the scale; a larger score of theirs shows at full colour. The other values
    scale each explanation on its own (:func:`attribkit.normalize`).
    """

    how: str = SHARED
    largest: Dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_normalization(self.how)

    @property
    def shared(self) -> bool:
        return self.how == SHARED

    def add(self, explanation: Explanation) -> None:
        """Widen the shared scale of ``explanation``'s output kind to its words and tokens."""
        if not self.shared:
            return
        text = ~explanation.special_mask
        units = [abs(w.score) for w in words(explanation, include_special=False)]
        units += np.abs(explanation.scores[text]).tolist()
        kind = explanation.method.output
        self.largest[kind] = max([self.largest.get(kind, 0.0), *units])

    def normalized(self, scores: Sequence[float], output: str) -> np.ndarray:
        """``scores`` of one explanation (shape ``(n,)``) divided by its scale, not clipped."""
        if not self.shared:
            return normalize(scores, self.how)
        largest = self.largest.get(output, 0.0)
        array = np.asarray(scores, dtype=np.float64)
        return array / largest if largest > SMALLEST_SCALE else array.copy()

    def values(self, scores: Sequence[float], output: str) -> np.ndarray:
        """Colour intensities of ``scores`` (shape ``(n,)``): :meth:`normalized`, clipped to ``[-1, 1]``."""
        return np.clip(self.normalized(scores, output), -1.0, 1.0)

    def ranges(self) -> List[str]:
        """The shared scale's full-colour score of each output kind, ``["±0.46 (probability)"]``; empty
        for a per-explanation scale."""
        return [f"\u00b1{value:.2g} ({kind})" for kind, value in sorted(self.largest.items())]

    def ends(self) -> Tuple[str, str]:
        """The legend's two ends: the scale's range when one output kind is shown, else ``-1`` and ``+1``."""
        if self.shared and len(self.largest) == 1:
            [value] = self.largest.values()
            return f"\u2212{value:.2g}", f"+{value:.2g}"
        return "\u22121", "+1"

    def description(self) -> str:
        """One line for the legend: what full colour means."""
        if self.shared:
            ranges = ", ".join(self.ranges()) or "no scores"
            return f"one scale for the whole report: full colour at {ranges}"
        if self.how == "none":
            return "raw scores, full colour at \u00b11 (none)"
        return f"scaled per explanation ({self.how})"


def scale_of(explanations: Iterable[Explanation], how: str) -> Scale:
    """The :class:`Scale` of ``how`` over ``explanations`` (read only for the shared scale)."""
    scale = Scale(how)
    if scale.shared:
        for explanation in explanations:
            scale.add(explanation)
    return scale


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
