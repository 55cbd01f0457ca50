"""Integration steps: the default, and ``n_steps="auto"`` (adaptive Simpson quadrature; numpy only).

With ``n_steps="auto"`` the pipeline refines each text's path integral until
its completeness gap ``|sum(scores) - (F(x) - F(baseline))|`` and the
estimated error of every token's score are at most
``tolerance x |F(x) - F(baseline)|``, reusing every gradient already computed:

- **Panels.** The path from the baseline (``alpha = 0``) to the input
  (``alpha = 1``) is cut into panels. A panel holds five points, equally
  spaced in ``t`` (below): Simpson's rule on its two halves (``S2``) and on the whole panel
  (``S1``, three of the five points) give the standard error estimate of
  ``S2``, ``(S2 - S1) / 15``, and Boole's rule ``S2 + (S2 - S1) / 15``
  (Richardson's extrapolation of the two), the panel's integral.
- **Local refinement.** The first pass evaluates four panels (17 points).
  A text that is not done has its worst panel cut in two (the one with the
  largest token error), and one more for every :data:`CUT_SHARE` panels it
  has, so that a text needing many points gets them in a few rounds; each
  cut panel adds 4 points, the quarter points of its halves. Points lie on
  a grid of :data:`GRID` steps, so no gradient is ever computed twice, and
  the points go where the path's gradient changes.
- **A stretched path.** The panels are cut in ``t``, and the path is walked
  at ``alpha = t + STRETCH sin(2 pi t) / (2 pi)`` (:func:`alpha`): points are
  three times as dense in the middle of the path as at its ends, where the
  gradient changes most on every model measured (docs/speed.md), and each
  value is weighted by ``d alpha / d t`` (:func:`density`), so the integral
  over ``t`` is the integral over ``alpha``. ``STRETCH = 0`` walks it evenly.
- **Per text.** A text stops when its gap is within its tolerance and
  :data:`SAFETY` times the sum of its panels' error estimates is within it
  for every token, so that the scores themselves, not only their sum, are
  as exact as asked (an estimate: on steep paths a turn between a panel's
  points can hide from it, docs/speed.md). No panel is cut below
  :data:`MIN_WIDTH` grid steps (at most ``GRID + 1 = 1025`` gradient
  evaluations); a text that stops there unmet gets a warning.

The gap is exactly the quadrature error of the integral of ``dF/dalpha``
along the path, so it checks the rule where it matters; the measurements
(evaluations per text, against the smallest fixed count that reaches the
same tolerance, and against a converged reference) are in
``docs/speed.md``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

#: ``n_steps`` value for adaptive steps.
AUTO = "auto"
#: The one default of ``n_steps``: ``attribkit.explain``, the command line and the demo (docs/speed.md).
DEFAULT_N_STEPS: Union[int, str] = 50
#: The default ``tolerance``: the completeness gap accepted, as a share of ``|F(x) - F(baseline)|``.
DEFAULT_TOLERANCE = 0.01
#: The smallest gap ever asked for: float32 gradients cannot do better.
GAP_FLOOR = 1e-6
#: Points are ``alpha(k)`` for integers ``k`` from 0 to ``GRID``; the narrowest panel spans ``MIN_WIDTH`` grid steps.
GRID = 2 ** 10
MIN_WIDTH = 4
#: How much denser the points are in the middle of the path than at its ends: ``(1 + STRETCH) / (1 - STRETCH)``
#: (:func:`alpha`). Of the values measured, 0.4 and 0.5 took the fewest evaluations with every score within the
#: tolerance, and 0.5 kept more of them within it at smaller safety factors (docs/speed.md).
STRETCH = 0.5
#: The first pass: this many panels of equal width (``4 x FIRST_PANELS + 1`` points). Fewer let error estimates
#: from too few points stop a text early (docs/speed.md).
FIRST_PANELS = 4
#: A round cuts a text's worst panel and one more for every ``CUT_SHARE`` panels it has: one at a time while a
#: text has few, which spends the fewest points, and about 40 rounds at most for a text that reaches the cap.
CUT_SHARE = 8
#: A text is done when this many times its estimated error is within the tolerance: the smallest margin
#: that kept every score of the measured sets within the tolerance of a converged reference (docs/speed.md).
SAFETY = 4.0
#: Steps a method that cannot refine (one that does not declare ``path``) gets for ``n_steps="auto"``.
FIXED_FALLBACK_STEPS = 50
#: Steps the planner assumes for ``n_steps="auto"`` when it groups texts (a typical refinement, docs/speed.md).
PLANNED_STEPS = 25
#: With ``return_attributions=True``, the per-dimension values the planner leaves room for, in float32 copies of
#: :data:`PLANNED_STEPS` points per text: twice a typical refinement (:class:`KeptValues`).
KEPT_COPIES = 2.0
CAP_WARNING = ("n_steps='auto' stopped after {steps} gradient evaluations, at its finest panels, with a "
               "completeness gap of {gap:.3g} and an error estimate of {error:.3g} for a token's score, above "
               "the tolerance of {limit:.3g}; the scores are less exact than asked")


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


def check_rule(n_steps: object, options: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` with what to pass when a path method is given ``n_steps="auto"`` together with
    ``integration=``, the rule of a fixed count, or a fixed count together with ``tolerance=``, which only
    ``"auto"`` reads."""
    if n_steps == AUTO and "integration" in options:
        raise ValueError(f"integration={options['integration']!r} chooses the rule of a fixed n_steps; "
                         "n_steps='auto' integrates by adaptive Simpson quadrature (docs/speed.md). Pass a number "
                         "of steps with integration=, or leave integration out")
    if n_steps != AUTO and "tolerance" in options:
        raise ValueError(f"tolerance={options['tolerance']!r} is the completeness gap n_steps='auto' refines to; "
                         f"with a fixed n_steps={n_steps!r} it would be ignored. Pass n_steps='auto' (--n-steps auto) "
                         "with it, or leave tolerance out")


Panel = Tuple[int, int]
#: Boole's rule on a panel of width 1, its five points' weights: ``S2 + (S2 - S1) / 15`` written out.
BOOLE = (7 / 90, 32 / 90, 12 / 90, 32 / 90, 7 / 90)


def alpha(position: int) -> float:
    """The fraction of the way from the baseline to the input at grid ``position``: ``t + STRETCH sin(2 pi t) /
    (2 pi)`` for ``t = position / GRID``, 0 at the baseline and 1 at the input."""
    if position in (0, GRID):
        return position / GRID
    t = position / GRID
    return t + STRETCH * math.sin(2 * math.pi * t) / (2 * math.pi)


def density(position: int) -> float:
    """``d alpha / d t`` at grid ``position``: the weight of a value in the integral over ``t``."""
    return 1 + STRETCH * math.cos(2 * math.pi * position / GRID)


@dataclass(eq=False)
class Refinement:
    """One text's adaptive Simpson quadrature along the path.

    The pipeline asks :meth:`wanted` for the grid positions whose values it lacks, gives each with
    :meth:`add` (the path's attributions there, ``(n,)`` token scores or ``(n, d)``), and calls
    :meth:`update`, which estimates the integral and cuts panels until :attr:`done`.
    """

    limit: float
    panels: List[Panel] = field(default_factory=lambda: [
        (k * GRID // FIRST_PANELS, (k + 1) * GRID // FIRST_PANELS) for k in range(FIRST_PANELS)])
    values: Dict[int, np.ndarray] = field(default_factory=dict)
    estimate: Optional[np.ndarray] = None
    gap: Optional[float] = None
    error: float = np.inf
    done: bool = False

    def wanted(self) -> List[int]:
        """Grid positions the current panels need and :meth:`add` has not given."""
        return sorted({p for panel in self.panels for p in _five(panel)} - set(self.values))

    def add(self, position: int, value: np.ndarray) -> None:
        self.values[position] = value

    def update(self, difference: float) -> bool:
        """Estimate the integral from the panels; cut the worst ones unless the text is done (or cannot be
        refined further). ``difference`` is ``F(x) - F(baseline)``; returns :attr:`done`."""
        rules = [self._simpson(panel) for panel in self.panels]
        self.estimate = sum(fine for fine, _ in rules)
        errors = [np.abs(_scores(error)) for _, error in rules]
        self.error = SAFETY * float(np.max(sum(errors)))
        self.gap = abs(float(self.estimate.sum()) - difference)
        worst = [float(e.max()) if _width(panel) > MIN_WIDTH else -1.0 for e, panel in zip(errors, self.panels)]
        self.done = (self.gap <= self.limit and self.error <= self.limit) or max(worst) < 0
        if not self.done:
            ranked = sorted((k for k, w in enumerate(worst) if w >= 0), key=lambda k: -worst[k])
            cut = set(ranked[:max(1, len(self.panels) // CUT_SHARE)])
            self.panels = [half for k, panel in enumerate(self.panels)
                           for half in (_halves(panel) if k in cut else (panel,))]
        return self.done

    def weights(self) -> Dict[int, float]:
        """Each point's weight in :attr:`estimate` (Boole's rule on every panel): the estimate is
        ``sum(weight * value)`` over the points, so values not kept can be evaluated again and summed."""
        weights: Dict[int, float] = {}
        for panel in self.panels:
            h = _width(panel) / GRID
            for position, weight in zip(_five(panel), BOOLE):
                weights[position] = weights.get(position, 0.0) + h * weight * density(position)
        return weights

    @property
    def met(self) -> bool:
        return self.gap is not None and self.gap <= self.limit and self.error <= self.limit

    @property
    def steps(self) -> int:
        """Gradient evaluations so far."""
        return len(self.values)

    def _simpson(self, panel: Panel) -> Tuple[np.ndarray, np.ndarray]:
        """The panel's integral, Boole's rule ``S2 + (S2 - S1) / 15``, and the error estimate of ``S2``,
        ``(S2 - S1) / 15``."""
        f = [self.values[p] * density(p) for p in _five(panel)]
        h = _width(panel) / GRID
        coarse = h / 6 * (f[0] + 4 * f[2] + f[4])
        fine = h / 12 * (f[0] + 4 * f[1] + 2 * f[2] + 4 * f[3] + f[4])
        error = (fine - coarse) / 15
        return fine + error, error


@dataclass(eq=False)
class KeptValues:
    """``return_attributions=True`` with auto: the per-dimension values of a group's texts along their paths.

    A text's values at each point (float32 ``(n, d)``) are kept while it refines, since a panel's weights
    change when it is cut, and summed with its final weights (:meth:`Refinement.weights`) once it is done.
    :meth:`fit` keeps the values held within ``limit`` bytes: the texts holding the most give theirs up, and
    are evaluated again at their final points when they are done (:attr:`given_up`), which doubles their
    gradient evaluations but keeps the memory budget a bound.
    """

    limit: float
    points: List[Optional[Dict[int, np.ndarray]]]
    sums: List[Optional[np.ndarray]]

    @classmethod
    def empty(cls, texts: int, limit: float) -> "KeptValues":
        return cls(limit, [{} for _ in range(texts)], [None] * texts)

    def add(self, row: int, position: int, value: np.ndarray) -> None:
        held = self.points[row]
        if held is not None:
            held[position] = np.asarray(value, dtype=np.float32)

    def finish(self, row: int, weights: Mapping[int, float]) -> None:
        """Row ``row`` is done: its weighted sum replaces its points (nothing, if it gave them up)."""
        held = self.points[row]
        if held is not None:
            total = np.zeros(next(iter(held.values())).shape)
            for position, weight in weights.items():
                total += weight * held[position].astype(np.float64)
            self.sums[row] = total
        self.points[row] = None

    def fit(self) -> None:
        """Give up the values of the texts holding the most until the rest are within :attr:`limit`."""
        held = sorted((sum(v.nbytes for v in points.values()), row)
                      for row, points in enumerate(self.points) if points)
        total = sum(size for size, _ in held)
        while held and total > self.limit:
            size, row = held.pop()
            self.points[row] = None
            total -= size

    @property
    def given_up(self) -> List[int]:
        """Rows done without their sums: they gave up their values."""
        return [row for row, (points, total) in enumerate(zip(self.points, self.sums))
                if points is None and total is None]


def _width(panel: Panel) -> int:
    return panel[1] - panel[0]


def _five(panel: Panel) -> Tuple[int, ...]:
    low, quarter = panel[0], _width(panel) // 4
    return tuple(low + k * quarter for k in range(5))


def _halves(panel: Panel) -> Tuple[Panel, Panel]:
    middle = (panel[0] + panel[1]) // 2
    return (panel[0], middle), (middle, panel[1])


def _scores(value: np.ndarray) -> np.ndarray:
    """Token scores of a path value: itself for ``(n,)``, the sum over the last axis for ``(n, d)``."""
    return value if value.ndim == 1 else value.sum(axis=-1)


def limit_for(difference: float, tolerance: float) -> float:
    """The gap a text may keep: ``tolerance x |F(x) - F(baseline)|``, at least :data:`GAP_FLOOR`."""
    return max(tolerance * abs(difference), GAP_FLOOR)
