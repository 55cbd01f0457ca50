""":func:`evaluate`: metrics of explanations, from the model's predictions through the pipeline.

The explanations' texts go through the same pipeline as :func:`attribkit.explain`
(:class:`EvaluationPipeline` is a :class:`~attribkit.pipeline.run.Pipeline`
whose method step computes metrics): each text is encoded by the backend's
adapter and checked against the explanation's tokens, predicted, targeted at
the explained class, and grouped by the planner. A metric receives a
:class:`MetricBatch` per group; ``batch.predict`` puts the perturbed copies of
every text of the group through the model together, in passes that fit the
memory budget (the mechanism the perturbation methods use), so every metric
works on torch, tf and any backend plugin.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from attribkit.errors import AttribkitError, InputError, MethodError, PluginError
from attribkit.evaluation import rationales as rationale_masks
from attribkit.evaluation.result import Evaluation, Item, MetricInfo, Problem, Score, problems_text
from attribkit.backend import MetricSpec
from attribkit.evaluation.spec import RATIONALE, MetricValue
from attribkit.methods.perturbation import Features, evaluate as predict_kept, features
from attribkit.pipeline.adapter import ModelAdapter
from attribkit.pipeline.encoding import check_vocabulary
from attribkit.pipeline.options import Option, parse_options
from attribkit.pipeline.planner import Group
from attribkit.pipeline.run import PIPELINE_OPTIONS, ExplainRequest, Piece, Pipeline
from attribkit.pipeline.run import Item as PipelineItem
from attribkit.pipeline.run import model_lock
from attribkit.pipeline.task import ANY_BACKEND, MethodSpec, Task
from attribkit.results import Explanation

#: ERASER's fractions of the most important tokens (DeYoung et al. 2020).
FRACTIONS = (0.01, 0.05, 0.1, 0.2, 0.5)
ERROR_MODES = ("raise", "return")

#: The options every metric may read from ``batch.settings``.
EVALUATION_OPTIONS: Tuple[Option, ...] = (
    Option("replacement", "delete", "what a removed token becomes: 'delete' (taken out of the text, as ERASER "
           "does), 'pad' or 'mask'", "choice", choices=("delete", "pad", "mask")),
    Option("granularity", "token", "the unit that is ranked and removed: 'token', or 'word' (a word's tokens go "
           "together, its score is theirs summed)", "choice", choices=("token", "word")),
    Option("fractions", FRACTIONS, "fractions of the most important units removed or kept by comprehensiveness "
           "and sufficiency", "any"),
    Option("curve_steps", 20, "most points of a deletion or insertion curve (every unit when there are fewer)",
           "int", minimum=1),
)


class EvaluationError(AttribkitError):
    """Some explanations or metrics failed; the others were evaluated.

    Attributes:
        evaluation: the :class:`Evaluation` with every result computed, and the errors.
    """

    def __init__(self, evaluation: Evaluation):
        self.evaluation = evaluation
        super().__init__(f"{len(evaluation.errors)} problem(s) while evaluating {len(evaluation.items)} "
                         f"explanation(s) (the other results are in .evaluation):\n" + problems_text(evaluation.errors))


@dataclass(frozen=True, eq=False)
class MetricBatch:
    """What a metric receives: ``B`` explanations whose texts the pipeline padded together.

    A text's **units** are its tokens (special tokens excluded) or its words
    (``granularity="word"``). Arrays are per row, over that row's units.

    Attributes:
        task: the pipeline's :class:`~attribkit.Task` (padded ids, targets, the adapter...).
        explanations: ``B`` explanations, one per row.
        units: per row, its units (the columns of each unit's tokens in ``task``).
        scores: per row, ``(n_units,)`` the explanation's score of each unit (its tokens' sum).
        rationales: per row, ``(n_units,)`` bool: the units in the human rationale; or ``None``.
        settings: the evaluation's options and the metric's own.
    """

    task: Task
    explanations: Tuple[Explanation, ...]
    units: Tuple[Features, ...]
    scores: Tuple[np.ndarray, ...]
    rationales: Tuple[Optional[np.ndarray], ...]
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.explanations)

    @property
    def probabilities(self) -> np.ndarray:
        """``(B,)`` the model's probability of each row's explained class on the whole text."""
        rows = np.array([unit.row for unit in self.units], dtype=np.int64)
        return self.task.outputs[rows, self.task.targets[rows]]

    def ranking(self, row: int) -> np.ndarray:
        """Row ``row``'s units, most important first (highest score; ties in text order)."""
        return np.argsort(-self.scores[row], kind="stable")

    def counts(self, row: int, fractions: Sequence[float]) -> List[int]:
        """How many units each fraction is: ``ceil(fraction * n_units)`` (at least one, at most all)."""
        n = len(self.scores[row])
        return [min(n, max(1, int(np.ceil(fraction * n - 1e-9)))) for fraction in fractions]

    def top(self, row: int, count: int) -> np.ndarray:
        """``(n_units,)`` bool: the ``count`` most important units of row ``row``."""
        mask = np.zeros(len(self.scores[row]), dtype=bool)
        mask[self.ranking(row)[:count]] = True
        return mask

    def predict(self, keep: Sequence[np.ndarray]) -> List[np.ndarray]:
        """For each row, ``(S_i,)`` the probability of its explained class on ``S_i`` copies of its text that
        keep only the units ``keep[i]`` ``(S_i, n_units)`` marks True (the others removed as
        ``settings["replacement"]`` says). Every copy of every row goes through the model together."""
        if len(keep) != len(self):
            raise MethodError(f"predict: {len(keep)} keep-masks given for {len(self)} rows; give one per row")
        masks = [np.asarray(k, dtype=bool).reshape(-1, len(self.scores[row])) for row, k in enumerate(keep)]
        return predict_kept(self.task, list(zip(self.units, masks)))

    def subset(self, rows: Sequence[int]) -> "MetricBatch":
        """The batch of ``rows`` only."""
        pick = lambda values: tuple(values[row] for row in rows)  # noqa: E731
        return MetricBatch(self.task, pick(self.explanations), pick(self.units), pick(self.scores),
                           pick(self.rationales), self.settings)


#: The method spec the evaluation pipeline runs under (its method step computes metrics instead).
EVALUATION_STEP = MethodSpec("evaluation", ANY_BACKEND, lambda task: None, plugin="attribkit")


class EvaluationPipeline(Pipeline):
    """The explain pipeline with metrics in place of the method: encoding, prediction, targets and the
    planner's groups are the pipeline's own."""

    def __init__(self, adapter: ModelAdapter, request: ExplainRequest, explanations: Sequence[Explanation],
                 rationales: Sequence[Optional[np.ndarray]], metrics: Sequence[MetricSpec],
                 settings: Mapping[str, Mapping[str, Any]]):
        super().__init__(adapter, request)
        self.explanations, self.rationales, self.metrics, self.settings = explanations, rationales, metrics, settings
        self.results: Dict[int, Dict[str, Union[MetricValue, AttribkitError]]] = {}

    def scored(self) -> List[Optional[AttribkitError]]:
        """Run every metric on every explanation (results in :attr:`results`); each item's error, or ``None``."""
        self.adapter.check_tokenizer()
        check_vocabulary(self.adapter.tokenizer, self.adapter.vocab_size)
        with self.adapter.session():
            items = [self.encode(explanation.text) for explanation in self.explanations]
            for item, explanation in zip(items, self.explanations):
                self.match(item, explanation)
            self.predict(items)
            for item, explanation in zip(items, self.explanations):
                if item.error is None and len(explanation.prediction.labels) != len(self.labels):
                    item.error = InputError(f"the explanation is of a model with {len(explanation.prediction.labels)} "
                                            f"classes; this model has {len(self.labels)}")
                self.choose_target(item, explanation.target.index)
            self.attribute(items)
        return [item.error for item in items]

    def match(self, item: PipelineItem, explanation: Explanation) -> None:
        """The explanation's tokens must be the ones this model's tokenizer gives the text."""
        if item.error is not None:
            return
        ids = item.encoding.input_ids
        if len(ids) == len(explanation.token_ids) and np.array_equal(ids, explanation.token_ids):
            return
        if item.encoding.truncated and len(explanation) > len(ids):
            item.error = InputError(
                f"the explanation has {len(explanation)} tokens but this model takes {len(ids)}: it was explained in "
                "sliding windows or with a longer max_length; evaluate texts that fit the model")
            return
        where = next((k for k in range(min(len(ids), len(explanation))) if ids[k] != explanation.token_ids[k]),
                     min(len(ids), len(explanation)))
        here = f"{item.encoding.tokens[where]!r} (id {ids[where]})" if where < len(ids) else "the end"
        there = (f"{explanation.tokens[where]!r} (id {explanation.token_ids[where]})"
                 if where < len(explanation) else "the end")
        item.error = InputError(
            f"the explanation's tokens do not match this model's tokenizer: token {where} is {here} here and "
            f"{there} in the explanation ({len(ids)} tokens here, {len(explanation)} there); evaluate an "
            "explanation with the model and tokenizer that made it")

    def run_method(self, chunk: List[Piece], group: Group, items: List[PipelineItem]) -> None:
        """Every metric on one planned group of texts; a metric's failure costs only that metric."""
        task = self.task(chunk, group, [items[p.item].target.index for p in chunk])
        batch = self.batch(task, [p.item for p in chunk])
        for spec in self.metrics:
            rows = [row for row, piece in enumerate(chunk)
                    if RATIONALE not in spec.needs or batch.rationales[row] is not None]
            if not rows:
                continue
            part = batch.subset(rows)
            part = MetricBatch(part.task, part.explanations, part.units, part.scores, part.rationales,
                               self.settings[spec.name])
            try:
                values = call_metric(spec, part)
            except AttribkitError as exc:
                values = [exc] * len(rows)
            for row, value in zip(rows, values):
                self.results.setdefault(chunk[row].item, {})[spec.name] = value

    def batch(self, task: Task, indices: Sequence[int]) -> MetricBatch:
        """The task's rows as a :class:`MetricBatch`: units, their scores and rationales."""
        units, scores, masks = [], [], []
        for row, index in enumerate(indices):
            unit = features(task, row)
            first = task.positions[row][0]
            explanation, rationale = self.explanations[index], self.rationales[index]
            units.append(unit)
            scores.append(np.array([explanation.scores[columns - first].sum() for columns in unit.columns]))
            masks.append(None if rationale is None else
                         np.array([bool(rationale[columns - first].any()) for columns in unit.columns]))
        return MetricBatch(task, tuple(self.explanations[i] for i in indices), tuple(units), tuple(scores),
                           tuple(masks))


def call_metric(spec: MetricSpec, batch: MetricBatch) -> List[MetricValue]:
    """``spec``'s values for the rows of ``batch``, checked; a failure that is not attribkit's names the plugin."""
    try:
        values = list(spec.function(batch))
    except AttribkitError:
        raise
    except Exception as exc:
        raise PluginError(spec.plugin, f"metric {spec.name!r} failed: {type(exc).__name__}: {exc}") from exc
    if len(values) != len(batch):
        raise PluginError(spec.plugin, f"metric {spec.name!r} returned {len(values)} values for {len(batch)} "
                                       "explanations; return one per row of the batch")
    return [as_value(spec, value) for value in values]


def as_value(spec: MetricSpec, value: Any) -> MetricValue:
    if isinstance(value, MetricValue):
        return value
    if value is None:
        return MetricValue(None, note="no value for this explanation")
    try:
        return MetricValue(float(value))
    except (TypeError, ValueError):
        raise PluginError(spec.plugin, f"metric {spec.name!r} returned {type(value).__name__}; return a number, "
                                       "a MetricValue or None") from None


def evaluate(
    model: Any,
    tokenizer: Any,
    explanations: Union[Explanation, Sequence[Explanation]],
    metrics: Optional[Sequence[str]] = None,
    *,
    rationales: Optional[Sequence[Any]] = None,
    backend: Optional[str] = None,
    layer: Any = None,
    batch_size: Optional[int] = None,
    errors: str = "raise",
    **options: Any,
) -> Evaluation:
    """Measure how faithful (and, given human rationales, how plausible) explanations are.

    Args:
        model, tokenizer: the model the explanations explain, and its tokenizer (any backend).
        explanations: an :class:`Explanation` or a list (several methods on the same texts, say).
        metrics: metric names (``attribkit metrics`` lists them); ``None``: every registered metric
            (those that need rationales only where rationales are given).
        rationales: per explanation, ``None``, a list of words, or a list of ``[start, end]`` character spans.
        backend: force a backend by name; else it is chosen from the model.
        layer: the backend's layer option, as for :func:`attribkit.explain` (not needed by the metrics).
        batch_size: texts per group (``None``: the planner chooses).
        errors: ``"raise"``: raise :class:`EvaluationError` (carrying the evaluation with every result
            computed) when an explanation or metric failed; ``"return"``: return the evaluation, its
            ``errors`` naming each failure.
        **options: the evaluation's options (``replacement``, ``granularity``, ``fractions``,
            ``curve_steps``), the metrics' and the pipeline's (``max_length``, ``memory_budget_mb``...).

    Returns:
        An :class:`Evaluation`: one score per explanation and metric.
    """
    from attribkit.plugins import get_host

    if errors not in ERROR_MODES:
        raise InputError(f"errors must be one of {ERROR_MODES}, got {errors!r}")
    explanations = [explanations] if isinstance(explanations, Explanation) else list(explanations)
    if not explanations:
        raise InputError("no explanations given; pass an Explanation or a non-empty list of them")
    if rationales is not None and (isinstance(rationales, (str, bytes)) or len(rationales) != len(explanations)):
        raise InputError(f"rationales: give one per explanation ({len(explanations)}), None where there is none")
    host = get_host()
    problems: List[Problem] = []
    specs: List[MetricSpec] = []
    given_rationales = rationales is not None and any(r is not None for r in rationales)
    for name in (metrics if metrics is not None else list(host.metrics)):
        try:
            spec = host.metric(name)
        except AttribkitError as exc:
            problems.append(Problem(str(exc), metric=name))
            continue
        if RATIONALE in spec.needs and not given_rationales:
            if metrics is not None:
                problems.append(Problem("needs human rationales: pass rationales= (or a \"rationale\" field in the "
                                        "input of attribkit compare)", metric=name))
            continue
        specs.append(spec)
    backend_name = backend or host.backend_name_for(model)
    engine = host.backend(backend_name)
    groups = [("attribkit", PIPELINE_OPTIONS), (f"backend {backend_name!r}", engine.options),
              ("evaluation", EVALUATION_OPTIONS)] + [(f"metric {spec.name!r}", spec.options) for spec in specs]
    parsed = parse_options(options, groups)
    pipeline_options, backend_options, common = parsed[0], parsed[1], parsed[2]
    common["fractions"] = checked_fractions(common["fractions"])
    settings = {spec.name: {**common, **own} for spec, own in zip(specs, parsed[3:])}

    masks: List[Optional[np.ndarray]] = [None] * len(explanations)
    good: List[int] = []
    for index, explanation in enumerate(explanations):
        try:
            if not isinstance(explanation, Explanation):
                raise InputError(f"a {type(explanation).__name__}, not an Explanation")
            masks[index] = rationale_masks.token_mask(explanation, None if rationales is None else rationales[index])
            good.append(index)
        except InputError as exc:
            problems.append(Problem(str(exc), item=index))

    model_specs = [spec for spec in specs if not spec.pairwise]
    results: Dict[int, Dict[str, Any]] = {}
    model_name = getattr(model, "name_or_path", None) or type(model).__name__
    if good and model_specs:
        request = ExplainRequest(
            method=EVALUATION_STEP, targets=[explanations[i].target.index for i in good], output="probability",
            n_steps=1, baseline="pad", batch_size=batch_size, options=pipeline_options,
            method_options={"granularity": common["granularity"], "replacement": common["replacement"]})
        try:
            adapter = engine.adapt(model, tokenizer, layer=layer, options=backend_options)
            model_name = adapter.info.name
            with model_lock(adapter.model):
                pipeline = EvaluationPipeline(adapter, request, [explanations[i] for i in good],
                                              [masks[i] for i in good], model_specs, settings)
                item_errors = pipeline.scored()
        except AttribkitError:
            raise
        except Exception as exc:
            raise PluginError(host.backends[backend_name].plugin,
                              f"backend {backend_name!r} failed: {type(exc).__name__}: {exc}") from exc
        for position, (index, error) in enumerate(zip(good, item_errors)):
            if error is not None:
                problems.append(Problem(str(error), item=index))
                good[position] = -1
            else:
                results[index] = pipeline.results.get(position, {})
        good = [index for index in good if index >= 0]

    scores: List[Score] = []
    for index in sorted(results):
        for spec in model_specs:
            value = results[index].get(spec.name)
            if isinstance(value, AttribkitError):
                problems.append(Problem(str(value), item=index, metric=spec.name))
            elif value is not None:
                scores.append(Score(index, spec.name, value.value, dict(value.details), value.note))
    for spec in specs:
        if spec.pairwise:
            scores.extend(pairwise_scores(spec, explanations, good, problems))

    return finished(Evaluation(
        items=tuple(Item(e.text, e.method.name, e.model.backend, e.target.label) if isinstance(e, Explanation)
                    else Item("", "", "", "") for e in explanations),
        metrics=tuple(MetricInfo(s.name, s.kind, s.higher_is_better, s.description, s.cost, s.pairwise)
                      for s in specs),
        scores=tuple(scores),
        settings={"backend": backend_name, "model": model_name,
                  "output": "probability", **{k: list(v) if isinstance(v, tuple) else v for k, v in common.items()}},
        errors=tuple(problems),
    ), errors)


def finished(evaluation: Evaluation, errors: str) -> Evaluation:
    if evaluation.errors and errors == "raise":
        raise EvaluationError(evaluation)
    return evaluation


def checked_fractions(value: Any) -> Tuple[float, ...]:
    """The ``fractions`` option: a non-empty list of numbers in (0, 1]."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if (not isinstance(value, (list, tuple)) or not value
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1 for v in value)):
        raise InputError(f"fractions must be a non-empty list of numbers in (0, 1], such as {list(FRACTIONS)}; "
                         f"got {value!r}")
    return tuple(float(v) for v in value)


def pairwise_scores(spec: MetricSpec, explanations: Sequence[Explanation], good: Sequence[int],
                    problems: List[Problem]) -> List[Score]:
    """``spec`` on every pair of explanations of one text with the same tokens, on their content tokens."""
    by_text: Dict[Tuple[str, bytes], List[int]] = {}
    for index in good:
        e = explanations[index]
        by_text.setdefault((e.text, e.token_ids.tobytes()), []).append(index)
    scores = []
    for indices in by_text.values():
        for a, b in itertools.combinations(indices, 2):
            content = ~explanations[a].special_mask
            try:
                value = call_pair(spec, explanations[a].scores[content], explanations[b].scores[content])
            except AttribkitError as exc:
                problems.append(Problem(str(exc), item=a, metric=spec.name))
                continue
            scores.append(Score(a, spec.name, value.value, dict(value.details), value.note, other=b))
    return scores


def call_pair(spec: MetricSpec, a: np.ndarray, b: np.ndarray) -> MetricValue:
    try:
        value = spec.function(a, b)
    except AttribkitError:
        raise
    except Exception as exc:
        raise PluginError(spec.plugin, f"metric {spec.name!r} failed: {type(exc).__name__}: {exc}") from exc
    return as_value(spec, value)
