"""Which explanation to trust: faithfulness, plausibility and agreement metrics on any backend.

:func:`evaluate` measures explanations against the model's own predictions
on perturbed texts (through the pipeline and the backend's adapter, batched)
and, where given, against human rationales; metrics are plugins
(``attribkit_register_metrics``). The result is an :class:`Evaluation`.
"""
from attribkit.backend import METRIC_KINDS, MetricSpec
from attribkit.evaluation.result import (
    EVALUATION_SCHEMA_VERSION, Evaluation, Item, MetricInfo, Problem, Score, Summary,
)
from attribkit.evaluation.run import EVALUATION_OPTIONS, EvaluationError, MetricBatch, evaluate
from attribkit.evaluation.spec import MetricValue

__all__ = [
    "EVALUATION_OPTIONS", "EVALUATION_SCHEMA_VERSION", "Evaluation", "EvaluationError", "Item", "METRIC_KINDS",
    "MetricBatch", "MetricInfo", "MetricSpec", "MetricValue", "Problem", "Score", "Summary", "evaluate",
]
