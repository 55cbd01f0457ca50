"""The result of :func:`attribkit.evaluate`: one row per explanation and metric (numpy only).

An :class:`Evaluation` holds what was evaluated (``items``: one per
explanation), the metrics with their direction (``metrics``), the settings
used, one :class:`Score` per explanation and metric (a pairwise metric: per
pair of explanations of one text) and the errors, each naming its item or
metric. It turns into JSON following the shipped schema
(``attribkit/schema/evaluation-1.json``) and back, and summarises itself
per method (:meth:`Evaluation.summary`).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from attribkit._schema import Document, parse_json
from attribkit._version import __version__
from attribkit.errors import SchemaError
from attribkit.results import _json_like

#: Version of the JSON schema an evaluation serialises to (``major.minor``).
EVALUATION_SCHEMA_VERSION = "1.0"
EVALUATION = Document("evaluation", EVALUATION_SCHEMA_VERSION)


@dataclass(frozen=True)
class Item:
    """One evaluated explanation: its text, method, backend and explained class."""

    text: str
    method: str
    backend: str
    target: str


@dataclass(frozen=True)
class MetricInfo:
    """A metric as recorded in a result: its name, kind, direction, description and cost."""

    name: str
    kind: str
    higher_is_better: bool
    description: str = ""
    cost: str = ""
    pairwise: bool = False


@dataclass(frozen=True)
class Score:
    """One metric's value for one explanation (``item``), or for a pair (``item`` and ``other``).

    Attributes:
        item: index of the explanation in the evaluated list.
        metric: the metric's name.
        value: the number, or ``None`` (``note`` says why).
        details: the figures behind it (a curve, the value at each fraction...).
        note: why there is no value, or what to keep in mind.
        other: for a pairwise metric, the index of the other explanation.
    """

    item: int
    metric: str
    value: Optional[float]
    details: Mapping[str, Any] = field(default_factory=dict)
    note: Optional[str] = None
    other: Optional[int] = None


@dataclass(frozen=True)
class Problem:
    """An error that cost a result: ``item`` (an explanation), ``metric``, or both, and what to do."""

    message: str
    item: Optional[int] = None
    metric: Optional[str] = None

    def __str__(self) -> str:
        where = [f"item {self.item}" if self.item is not None else "", f"metric {self.metric!r}" if self.metric else ""]
        return f"{', '.join(w for w in where if w) or 'evaluation'}: {self.message}"


@dataclass(frozen=True)
class Summary:
    """One method's figures for one metric over the texts: mean, standard deviation and count."""

    method: str
    metric: str
    mean: Optional[float]
    std: Optional[float]
    count: int
    best: bool = False


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Metrics of explanations; see the module docstring.

    Attributes:
        items: one per evaluated explanation, in input order.
        metrics: the metrics computed, in order.
        scores: one per explanation and metric (per pair for pairwise metrics).
        settings: the options used and the model (name, backend).
        errors: what failed, each naming its item or metric; the other results are kept.
    """

    items: Tuple[Item, ...]
    metrics: Tuple[MetricInfo, ...]
    scores: Tuple[Score, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    errors: Tuple[Problem, ...] = ()
    attribkit_version: str = __version__
    schema_version: str = EVALUATION_SCHEMA_VERSION

    def __post_init__(self) -> None:
        for name in ("items", "metrics", "scores", "errors"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "settings", _json_like("settings", dict(self.settings)))
        known = {m.name for m in self.metrics}
        for score in self.scores:
            if not 0 <= score.item < len(self.items) or (score.other is not None
                                                         and not 0 <= score.other < len(self.items)):
                raise ValueError(f"scores: item {score.item} (other {score.other}) is not one of the "
                                 f"{len(self.items)} items")
            if score.metric not in known:
                raise ValueError(f"scores: metric {score.metric!r} is not among the metrics {sorted(known)}")
            if score.value is not None and not math.isfinite(score.value):
                raise ValueError(f"scores: the value of {score.metric!r} for item {score.item} is not finite")

    # -- reading -------------------------------------------------------------------------------------
    def metric(self, name: str) -> MetricInfo:
        return next(m for m in self.metrics if m.name == name)

    def value(self, item: int, metric: str, other: Optional[int] = None) -> Optional[float]:
        """The value of ``metric`` for explanation ``item`` (and ``other``, for a pairwise metric)."""
        for score in self.scores:
            if score.item == item and score.metric == metric and score.other == other:
                return score.value
        raise KeyError(f"no score of metric {metric!r} for item {item}" + (f" and {other}" if other is not None else ""))

    def methods(self) -> List[str]:
        """The methods of the evaluated explanations, in order of first appearance."""
        return list(dict.fromkeys(item.method for item in self.items))

    def summary(self) -> List[Summary]:
        """Per method and (single-explanation) metric: mean and standard deviation over the explanations that
        have a value; ``best`` marks the method with the best mean of each metric (ties: all of them)."""
        rows = []
        for metric in self.metrics:
            if metric.pairwise:
                continue
            found = []
            for method in self.methods():
                values = [s.value for s in self.scores if s.metric == metric.name and s.value is not None
                          and self.items[s.item].method == method]
                mean = float(np.mean(values)) if values else None
                std = float(np.std(values)) if values else None
                found.append(Summary(method, metric.name, mean, std, len(values)))
            means = [row.mean for row in found if row.mean is not None]
            if len(means) > 1:
                best = max(means) if metric.higher_is_better else min(means)
                found = [Summary(r.method, r.metric, r.mean, r.std, r.count, best=r.mean == best) for r in found]
            rows.extend(found)
        return rows

    def agreement(self, metric: str) -> Dict[Tuple[str, str], Tuple[Optional[float], int]]:
        """For a pairwise metric: ``{(method_a, method_b): (mean, count)}`` over the texts, both orders."""
        pairs: Dict[Tuple[str, str], List[float]] = {}
        for score in self.scores:
            if score.metric != metric or score.other is None or score.value is None:
                continue
            a, b = self.items[score.item].method, self.items[score.other].method
            pairs.setdefault((a, b), []).append(score.value)
            if a != b:
                pairs.setdefault((b, a), []).append(score.value)
        return {pair: (float(np.mean(values)), len(values)) for pair, values in pairs.items()}

    # -- plain dicts and JSON ------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A plain JSON-compatible dict following ``attribkit/schema/evaluation-1.json``."""
        return {
            "schema_version": self.schema_version,
            "attribkit_version": self.attribkit_version,
            "settings": dict(self.settings),
            "items": [vars(item) for item in self.items],
            "metrics": [vars(metric) for metric in self.metrics],
            "scores": [{"item": s.item, "metric": s.metric, "value": s.value, "other": s.other, "note": s.note,
                        "details": _json_like(f"scores[{k}].details", dict(s.details))}
                       for k, s in enumerate(self.scores)],
            "errors": [{"item": e.item, "metric": e.metric, "message": e.message} for e in self.errors],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Evaluation":
        """Inverse of :meth:`to_dict`; validates against the schema (:class:`attribkit.SchemaError`)."""
        EVALUATION.validate(data)
        try:
            return cls(
                items=tuple(_known(Item, item) for item in data["items"]),
                metrics=tuple(_known(MetricInfo, metric) for metric in data["metrics"]),
                scores=tuple(_known(Score, score) for score in data["scores"]),
                settings=data["settings"], errors=tuple(_known(Problem, error) for error in data["errors"]),
                attribkit_version=data["attribkit_version"], schema_version=data["schema_version"],
            )
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise SchemaError(f"invalid evaluation: {exc}") from None

    def to_json(self, *, indent: Optional[int] = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "Evaluation":
        """Parse an evaluation; raises :class:`attribkit.SchemaError` with one clear line."""
        return cls.from_dict(parse_json(text, "an evaluation"))

    def __repr__(self) -> str:
        return (f"Evaluation({len(self.items)} explanations, metrics={[m.name for m in self.metrics]}, "
                f"{len(self.scores)} scores, {len(self.errors)} errors)")


def _known(cls: Any, data: Mapping[str, Any]) -> Any:
    """``cls`` from the fields of ``data`` it has (a later 1.x schema may add fields)."""
    return cls(**{name: value for name, value in data.items() if name in cls.__dataclass_fields__})


def problems_text(problems: Sequence[Problem]) -> str:
    return "\n".join(f"  {problem}" for problem in problems)
