"""Integration steps: the default, and ``n_steps="auto"`` (adaptive, nested quadrature; numpy only).

With ``n_steps="auto"`` the pipeline refines each text's path integral until
its completeness gap ``|sum(scores) - (F(x) - F(baseline))|`` is at most
``tolerance x |F(x) - F(baseline)|``, reusing every gradient already computed:

- **Doubling trapezoid grids.** The first pass evaluates the
  :data:`FIRST_LEVEL` grid (``2**3 + 1 = 9`` points from the baseline to the
  input); each refinement adds the midpoints of the last grid (8, 16, 32...
  new points), so no gradient is ever computed twice.
- **Romberg extrapolation.** The trapezoid sums of successive grids are
  combined by Richardson extrapolation (Simpson's rule at the second level,
  Boole's at the third...), which converges much faster on the smooth paths
  of a network than the trapezoid itself, without new points.
- **Per text.** A text stops at the first grid where both its gap and
  Romberg's error estimate of its token scores (the largest change the
  last extrapolation made to a token's score) are within its tolerance, so
  the scores themselves, not only their sum, are as exact as asked; the
  others go on. The first grid never stops a text (it has no estimate yet). No text goes past :data:`LAST_LEVEL`
  (``2**10 + 1 = 1025`` gradient evaluations); one that stops there unmet
  gets a warning.

The gap is exactly the quadrature error of the integral of ``dF/dalpha``
along the path, so it measures the rule where it matters; the
measurements (evaluations per text, against the smallest fixed count that
reaches the same tolerance, and against a 1,000-step reference) are in
``docs/speed.md``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple, Union

import numpy as np

#: ``n_steps`` value for adaptive steps.
AUTO = "auto"
#: The one default of ``n_steps``: ``attribkit.explain``, the command line and the demo (docs/speed.md).
DEFAULT_N_STEPS: Union[int, str] = 50
#: The default ``tolerance``: the completeness gap accepted, as a share of ``|F(x) - F(baseline)|``.
DEFAULT_TOLERANCE = 0.01
#: The smallest gap ever asked for: float32 gradients cannot do better.
GAP_FLOOR = 1e-6
#: The first grid has ``2**FIRST_LEVEL + 1`` points; the last ``2**LAST_LEVEL + 1``.
FIRST_LEVEL = 3
LAST_LEVEL = 10
#: Steps a method that cannot refine (one that does not declare ``path``) gets for ``n_steps="auto"``.
FIXED_FALLBACK_STEPS = 50
#: Steps the planner assumes for ``n_steps="auto"`` when it groups texts (a typical refinement).
PLANNED_STEPS = 33
CAP_WARNING = ("n_steps='auto' stopped at its cap of {steps} gradient evaluations with a completeness gap of "
               "{gap:.3g} and an error estimate of {change:.3g} for a token's score, above the tolerance of "
               "{limit:.3g}; "
               "the scores are less exact than asked")


def check_n_steps(n_steps: object, maximum: int) -> None:
    """Raise ``ValueError`` with what to pass when ``n_steps`` is neither ``"auto"`` nor an integer in
    ``1..maximum``."""
    if n_steps == AUTO and isinstance(n_steps, str):
        return
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be 'auto' or a positive integer, got {n_steps!r}")
    if n_steps > maximum:
        raise ValueError(f"n_steps={n_steps} is more than {maximum}: the integration error is far below float32 "
                         "precision long before, and the path's memory grows with the steps; use fewer steps or "
                         "n_steps='auto'")


def points(level: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(alphas, weights)`` of the points a level adds: the whole :data:`FIRST_LEVEL` grid with its
    trapezoid weights, then the midpoints of the previous grid, each weighing ``2**-level``.

    The trapezoid sum of level ``k`` is then ``T_k = T_{k-1} / 2 + sum(weights * g(alphas))``, with
    ``T_{k-1} = 0`` at the first level.
    """
    h = 2.0 ** -level
    if level == FIRST_LEVEL:
        alphas = np.linspace(0.0, 1.0, 2 ** level + 1)
        weights = np.full(len(alphas), h)
        weights[[0, -1]] = h / 2
        return alphas, weights
    alphas = (2 * np.arange(2 ** (level - 1)) + 1) * h
    return alphas, np.full(len(alphas), h)


def evaluations(level: int) -> int:
    """Gradient evaluations of a text that stopped at ``level``."""
    return 2 ** level + 1


@dataclass(eq=False)
class Refinement:
    """One text's Romberg table, a row per level (its last row only is kept).

    ``row[j]`` is the ``j``-times extrapolated estimate ``(n, d)`` of the
    attributions (``row[0]`` the trapezoid sum of the last grid).
    """

    limit: float
    row: List[np.ndarray] = field(default_factory=list)
    level: int = FIRST_LEVEL - 1
    gap: Optional[float] = None
    change: float = np.inf

    def add(self, level: int, added: np.ndarray, difference: float) -> bool:
        """Take the level's weighted attributions ``added`` ``(n, d)``; whether the text is done (its gap
        and the largest change the last extrapolation made to a token's score within :attr:`limit`)."""
        trapezoid = added if not self.row else self.row[0] / 2 + added
        row = [trapezoid]
        for j, previous in enumerate(self.row, start=1):
            row.append(row[-1] + (row[-1] - previous) / (4 ** j - 1))
        if len(row) > 1:  # the last extrapolation's change: Romberg's error estimate of the one before
            self.change = float(np.max(np.abs(row[-1].sum(axis=-1) - row[-2].sum(axis=-1))))
        self.row, self.level = row, level
        self.gap = abs(float(self.estimate.sum()) - difference)
        return self.gap <= self.limit and self.change <= self.limit

    @property
    def estimate(self) -> np.ndarray:
        return self.row[-1]

    @property
    def steps(self) -> int:
        return evaluations(self.level)


def limit_for(difference: float, tolerance: float) -> float:
    """The gap a text may keep: ``tolerance x |F(x) - F(baseline)|``, at least :data:`GAP_FLOOR`."""
    return max(tolerance * abs(difference), GAP_FLOOR)
