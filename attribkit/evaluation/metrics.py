"""Built-in plugin: the evaluation metrics, registered through ``attribkit_register_metrics`` as a third
party's are (``docs/metrics.md`` gives each one's definition, direction, cost and pitfalls).

Faithfulness (the model's probability of the explained class on texts with
units removed, through ``batch.predict``): ERASER's comprehensiveness and
sufficiency (DeYoung et al. 2020) as areas over the perturbation curve at
the evaluation's ``fractions``; deletion and insertion curves with their
area under the curve; sign agreement; and the completeness gap the
explanation already carries. Plausibility against human rationales (ERASER):
token F1, IOU F1 and AUPRC. Agreement between two methods on one text:
Spearman's and Kendall's rank correlations (scipy).
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, List, Optional

import numpy as np

from attribkit.errors import MethodError
from attribkit.evaluation.rationales import runs
from attribkit.evaluation.run import MetricBatch
from attribkit.evaluation.spec import RATIONALE, MetricValue
from attribkit.hookspecs import hookimpl
from attribkit.pipeline.options import Option

#: Changes of probability smaller than this have no sign (sign agreement).
SIGN_TOLERANCE = 1e-7
#: ERASER's IOU threshold for a predicted span to match a human one.
IOU_THRESHOLD = 0.5


def _library(module: str, metric: str) -> Any:
    """``module`` imported, or a :class:`MethodError` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MethodError(f"metric {metric!r} needs {module.split('.')[0]}: pip install \"attribkit[evaluate]\"") \
            from None


# -- faithfulness: ERASER --------------------------------------------------------------------------------


def _aopc(batch: MetricBatch, keep_top: bool) -> List[MetricValue]:
    """``p(x) - p(x')`` at each fraction and their mean, where ``x'`` keeps every unit but the top ones
    (comprehensiveness) or only the top ones (sufficiency)."""
    fractions = batch.settings["fractions"]
    masks, counts = [], []
    for row in range(len(batch)):
        counts.append(batch.counts(row, fractions))
        tops = np.array([batch.top(row, count) for count in counts[-1]]).reshape(len(fractions), -1)
        masks.append(tops if keep_top else ~tops)
    values = []
    for row, (p, after) in enumerate(zip(batch.probabilities, batch.predict(masks))):
        if not len(batch.scores[row]):
            values.append(MetricValue(None, note="the text has no token to remove"))
            continue
        differences = p - after
        values.append(MetricValue(float(differences.mean()), {
            "fractions": list(fractions), "units": counts[row], "differences": differences.tolist(),
            "probability": float(p)}))
    return values


def comprehensiveness(batch: MetricBatch) -> List[MetricValue]:
    """ERASER's comprehensiveness, as the area over the perturbation curve (AOPC): the mean over the
    fractions ``f`` of ``p(x) - p(x without its top ceil(f n) units)``. Higher is better."""
    return _aopc(batch, keep_top=False)


def sufficiency(batch: MetricBatch) -> List[MetricValue]:
    """ERASER's sufficiency (AOPC): the mean over the fractions of ``p(x) - p(only the top ceil(f n) units of
    x)``. Lower is better."""
    return _aopc(batch, keep_top=True)


# -- faithfulness: curves ------------------------------------------------------------------------------------


def _curve(batch: MetricBatch, deleting: bool) -> List[MetricValue]:
    """The probability as the top ``k`` units are removed (deletion) or are all that is kept (insertion), at
    up to ``curve_steps + 1`` values of ``k`` from 0 to n, and the trapezoid area under it over ``k / n``."""
    steps = batch.settings["curve_steps"]
    masks, counts = [], []
    for row in range(len(batch)):
        n = len(batch.scores[row])
        counts.append(np.unique(np.round(np.linspace(0, n, min(n, steps) + 1)).astype(int)))
        tops = np.array([batch.top(row, count) for count in counts[-1]]).reshape(len(counts[-1]), n)
        masks.append(~tops if deleting else tops)
    values = []
    for row, curve in enumerate(batch.predict(masks)):
        n = len(batch.scores[row])
        if n == 0:
            values.append(MetricValue(None, note="the text has no token to remove"))
            continue
        fractions = counts[row] / n
        values.append(MetricValue(float(np.trapz(curve, fractions)), {
            "fractions": fractions.tolist(), "probabilities": curve.tolist()}))
    return values


def deletion(batch: MetricBatch) -> List[MetricValue]:
    """Area under the deletion curve: the explained class's probability as the most important units are
    removed, one step at a time. Lower is better (the probability falls fast)."""
    return _curve(batch, deleting=True)


def insertion(batch: MetricBatch) -> List[MetricValue]:
    """Area under the insertion curve: the probability as the most important units are put back into an
    empty text. Higher is better."""
    return _curve(batch, deleting=False)


def sign_agreement(batch: MetricBatch) -> List[MetricValue]:
    """The share of units with a non-zero score whose score has the sign of the probability change when that
    unit alone is removed (``p(x) - p(x without it)``; changes under 1e-7 have no sign). Higher is better."""
    masks = [~np.eye(len(scores), dtype=bool) for scores in batch.scores]
    values = []
    for row, (p, without) in enumerate(zip(batch.probabilities, batch.predict(masks))):
        scores = batch.scores[row]
        effects = p - without
        signs = np.where(np.abs(effects) < SIGN_TOLERANCE, 0.0, np.sign(effects))
        scored = scores != 0
        if not scored.any():
            values.append(MetricValue(None, note="every score is zero"))
            continue
        agree = np.sign(scores[scored]) == signs[scored]
        values.append(MetricValue(float(agree.mean()), {"effects": effects.tolist(), "units": int(scored.sum())}))
    return values


def completeness_gap(batch: MetricBatch) -> List[MetricValue]:
    """The explanation's own ``|sum of scores - (F(x) - F(baseline))|`` (no forward pass); relative to
    ``|F(x) - F(baseline)|`` in the details. Lower is better. ``None`` for methods that are not complete."""
    values = []
    for explanation in batch.explanations:
        if explanation.completeness_gap is None:
            values.append(MetricValue(None, note=f"{explanation.method.name} does not claim completeness"))
            continue
        values.append(MetricValue(explanation.completeness_gap, {
            "relative": explanation.relative_completeness_gap, "output_difference": explanation.output_difference,
            "output": explanation.method.output}))
    return values


# -- plausibility: ERASER ------------------------------------------------------------------------------------


def _hard(batch: MetricBatch, row: int) -> np.ndarray:
    """The explanation's hard rationale: its top ``k`` units, ``k`` the human rationale's size unless the
    ``rationale_top_k`` option says otherwise."""
    k = batch.settings.get("rationale_top_k") or int(batch.rationales[row].sum())
    return batch.top(row, min(k, len(batch.scores[row])))


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def token_f1(batch: MetricBatch) -> List[MetricValue]:
    """ERASER's token F1 between the explanation's top-k units and the human rationale's. Higher is better."""
    values = []
    for row in range(len(batch)):
        human, predicted = batch.rationales[row], _hard(batch, row)
        hits = int((human & predicted).sum())
        precision, recall = hits / max(1, predicted.sum()), hits / max(1, human.sum())
        values.append(MetricValue(_f1(precision, recall), {"precision": precision, "recall": recall,
                                                           "k": int(predicted.sum())}))
    return values


def iou_f1(batch: MetricBatch) -> List[MetricValue]:
    """ERASER's IOU F1: a predicted span (a run of the top-k units) matches when its intersection over union
    with some human span is at least 0.5; F1 of matched predicted spans against human spans. Higher is better."""
    values = []
    for row in range(len(batch)):
        human, predicted = runs(batch.rationales[row]), runs(_hard(batch, row))
        matched = sum(1 for span in predicted if max(_iou(span, truth) for truth in human) >= IOU_THRESHOLD)
        precision, recall = matched / max(1, len(predicted)), matched / max(1, len(human))
        values.append(MetricValue(_f1(precision, recall), {"precision": precision, "recall": recall,
                                                           "predicted_spans": len(predicted),
                                                           "human_spans": len(human)}))
    return values


def _iou(a: tuple, b: tuple) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def auprc(batch: MetricBatch) -> List[MetricValue]:
    """ERASER's AUPRC: the area under the precision-recall curve of the scores against the human rationale
    (scikit-learn's ``precision_recall_curve`` and ``auc``). Higher is better."""
    metrics = _library("sklearn.metrics", "auprc")
    values = []
    for row in range(len(batch)):
        human = batch.rationales[row]
        if human.all():
            values.append(MetricValue(None, note="the rationale covers every unit"))
            continue
        precision, recall, _ = metrics.precision_recall_curve(human, batch.scores[row])
        values.append(MetricValue(float(metrics.auc(recall, precision))))
    return values


# -- agreement between methods -------------------------------------------------------------------------------


def _correlation(function: Callable) -> Callable[[np.ndarray, np.ndarray], MetricValue]:
    def correlate(a: np.ndarray, b: np.ndarray) -> MetricValue:
        if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
            return MetricValue(None, note="a rank correlation needs two scores that are not all equal")
        statistic, p_value = function(a, b)
        return MetricValue(float(statistic), {"p_value": float(p_value), "units": len(a)})
    return correlate


def spearman(a: np.ndarray, b: np.ndarray) -> MetricValue:
    """Spearman's rank correlation of two methods' token scores on one text (scipy)."""
    stats = _library("scipy.stats", "spearman")
    return _correlation(lambda x, y: tuple(stats.spearmanr(x, y)))(a, b)


def kendall(a: np.ndarray, b: np.ndarray) -> MetricValue:
    """Kendall's tau-b of two methods' token scores on one text (scipy)."""
    stats = _library("scipy.stats", "kendall")
    return _correlation(lambda x, y: tuple(stats.kendalltau(x, y)))(a, b)


#: The option of the metrics that turn scores into a hard rationale.
TOP_K = Option("rationale_top_k", None, "units in the explanation's hard rationale (default: as many as the human "
               "rationale has)", "int", minimum=1)


#: ``(name, function, higher_is_better, kind, cost, extra)``.
METRICS = (
    ("comprehensiveness", comprehensiveness, True, "faithfulness", "one pass per fraction", {}),
    ("sufficiency", sufficiency, False, "faithfulness", "one pass per fraction", {}),
    ("deletion", deletion, False, "faithfulness", "up to curve_steps + 1 passes", {}),
    ("insertion", insertion, True, "faithfulness", "up to curve_steps + 1 passes", {}),
    ("sign_agreement", sign_agreement, True, "faithfulness", "one pass per unit", {}),
    ("completeness_gap", completeness_gap, False, "faithfulness", "none (read from the explanation)", {}),
    ("token_f1", token_f1, True, "plausibility", "none", {"needs": (RATIONALE,), "options": (TOP_K,)}),
    ("iou_f1", iou_f1, True, "plausibility", "none", {"needs": (RATIONALE,), "options": (TOP_K,)}),
    ("auprc", auprc, True, "plausibility", "none", {"needs": (RATIONALE,)}),
    ("spearman", spearman, True, "agreement", "none", {"pairwise": True}),
    ("kendall", kendall, True, "agreement", "none", {"pairwise": True}),
)


def _first_line(function: Callable) -> str:
    doc: Optional[str] = function.__doc__
    return " ".join((doc or "").split(". ")[0].split()) if doc else ""


@hookimpl
def attribkit_register_metrics(register: Callable[..., None]) -> None:
    for name, function, higher, kind, cost, extra in METRICS:
        register(name, function, higher_is_better=higher, kind=kind, cost=cost, description=_first_line(function),
                 **extra)
