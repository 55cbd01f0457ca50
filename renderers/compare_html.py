"""The page of ``attribkit compare``: each text's explanations side by side, then the metrics table.

The cards, the comparison layout, the switches, the legend and the styles are
the HTML report's (:mod:`attribkit.renderers.html_report` and its templates);
this module adds each explanation's metric values under its card and the
methods x metrics table of an :class:`attribkit.Evaluation`. Autoescaped,
no script, the report's Content-Security-Policy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from attribkit._version import __version__
from attribkit.evaluation import Evaluation
from attribkit.renderers._format import MISSING
from attribkit.renderers._palette import Scale, hex_colour, legend_colours
from attribkit.renderers.html_report import CONTENT_SECURITY_POLICY, _card, _comparison, _content_id, _environment
from attribkit.results import Explanation

#: The arrow after a metric's name: which way is better.
ARROWS = {True: "\u2191", False: "\u2193"}


@dataclass(frozen=True)
class Cell:
    """One method's figure for one metric: ``mean ± std (n)``, and whether it is the best mean."""

    text: str
    best: bool


@dataclass(frozen=True)
class MetricsTable:
    """A row per metric (its name, direction arrow, description and cost) with a cell per method; and the
    rank agreement between methods (methods x methods per pairwise metric)."""

    methods: Tuple[str, ...]
    rows: Tuple[Tuple[str, str, str, Tuple[Cell, ...]], ...]
    agreement: Tuple[Tuple[str, Tuple[Tuple[str, Tuple[str, ...]], ...]], ...]


def figure(value: Optional[float]) -> str:
    return MISSING if value is None else f"{value:.3f}"


def metrics_table(evaluation: Evaluation) -> MetricsTable:
    """The figures of :meth:`Evaluation.summary` and :meth:`Evaluation.agreement` as display strings."""
    methods = tuple(evaluation.methods())
    summary = {(row.method, row.metric): row for row in evaluation.summary()}
    rows = []
    for metric in (m for m in evaluation.metrics if not m.pairwise):
        cells = []
        for method in methods:
            row = summary[method, metric.name]
            text = MISSING if row.mean is None else f"{row.mean:.3f} \u00b1 {row.std:.3f} ({row.count})"
            cells.append(Cell(text, row.best))
        description = f"{metric.description} (forward passes: {metric.cost or 'none'})"
        rows.append((metric.name, ARROWS[metric.higher_is_better], description, tuple(cells)))
    agreement = []
    for metric in (m for m in evaluation.metrics if m.pairwise):
        pairs = evaluation.agreement(metric.name)
        matrix = tuple((a, tuple("1" if a == b else figure(pairs.get((a, b), (None, 0))[0]) for b in methods))
                       for a in methods)
        agreement.append((metric.name, matrix))
    return MetricsTable(methods, tuple(rows), tuple(agreement))


def per_explanation(evaluation: Evaluation) -> Dict[int, List[Tuple[str, str]]]:
    """Each explanation's own ``(metric, value)`` pairs, for the line under its card."""
    lines: Dict[int, List[Tuple[str, str]]] = {}
    for score in evaluation.scores:
        if score.other is None:
            lines.setdefault(score.item, []).append((score.metric, figure(score.value)))
    return lines


def render_compare_html(explanations: Sequence[Explanation], evaluation: Evaluation, *,
                        title: str = "attribkit compare", normalization: str = "shared",
                        notes: Sequence[str] = ()) -> str:
    """The page: the explanations of each text side by side (a column per method) with each one's metric
    values, then the methods x metrics table (mean ± standard deviation (count), the best mean marked) and
    the methods' rank agreement. ``explanations`` are the evaluated ones, in the evaluation's order."""
    scale = Scale(normalization)
    explanations = list(explanations)
    if len(explanations) != len(evaluation.items):
        raise ValueError(f"{len(explanations)} explanations for an evaluation of {len(evaluation.items)}")
    for explanation in explanations:  # one scale across the methods: weak evidence stays pale
        scale.add(explanation)
    cards = [_card(e, scale) for e in explanations]
    lines = per_explanation(evaluation)
    card_metrics = {card: lines.get(index, []) for index, card in enumerate(cards)}
    return _environment().get_template("compare.html.j2").render(
        title=title, uid="ak-" + _content_id(title, explanations[:1]), csp=CONTENT_SECURITY_POLICY,
        scale=scale, summary=None, legend=", ".join(hex_colour(c) for c in legend_colours()),
        comparison=_comparison(explanations, cards, "method.name"), card_metrics=card_metrics,
        table=metrics_table(evaluation), settings=sorted(evaluation.settings.items()),
        errors=[str(problem) for problem in evaluation.errors], notes=[str(note) for note in notes],
        count=len(explanations), version=__version__,
    )
