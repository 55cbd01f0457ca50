"""The conformance kit: checks that a backend keeps attribkit's contract.

Use it from pytest in a plugin's own test suite::

    import pytest
    from attribkit.testing import CHECKS, Subject

    SUBJECT = Subject(model, tokenizer, backend="mine", method="feature_ablation")

    @pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
    def test_conformance(check):
        check(SUBJECT)

or all at once with :func:`check_backend`. Each check raises
:class:`AssertionError` saying what broke. They go through the public API
(:func:`attribkit.explain`, the registered renderers) and through the
backend's adapter, whose answers they compare with the core's numpy
reference: F, probabilities, ``F(x) - F(baseline)`` and the completeness gap.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

import attribkit
from attribkit.errors import InputError, TargetError
from attribkit.pipeline import PIPELINE_OPTIONS, Baseline, ModelAdapter, output_form, parse_options, truncate
from attribkit.pipeline.outputs import explained_values, probabilities, returns_probabilities_of
from attribkit.pipeline.run import pad
from attribkit.plugins import get_host
from attribkit.results import Explanation

#: Texts of several lengths in plain English; a subject may give its own.
TEXTS = ("a superb film", "the plot was dull and the acting was bad", "not bad at all, a good story")


@dataclass
class Subject:
    """What the checks explain.

    Attributes:
        model, tokenizer: as passed to :func:`attribkit.explain`.
        backend: the backend's registered name (``None``: recognised from the model).
        method: the method to run (``None``: ``integrated_gradients`` when the backend has it, else the
            first method it runs).
        texts: at least two texts of different lengths.
        options: more keyword arguments for :func:`attribkit.explain` (``n_steps``, ``layer``...).
        tolerance: relative tolerance of the numeric comparisons.
    """

    model: Any
    tokenizer: Any
    backend: Optional[str] = None
    method: Optional[str] = None
    texts: Sequence[str] = TEXTS
    options: Mapping[str, Any] = field(default_factory=dict)
    tolerance: float = 1e-5

    def backend_name(self) -> str:
        return self.backend or get_host().backend_name_for(self.model)

    def method_name(self) -> str:
        if self.method:
            return self.method
        names = get_host().method_names(self.backend_name())
        return "integrated_gradients" if "integrated_gradients" in names else names[0]

    def explain(self, texts: Any, **kwargs: Any) -> Any:
        options = {"backend": self.backend_name(), "method": self.method_name(), **self.options, **kwargs}
        if get_host().method(options["backend"], options["method"]).sampling:
            options.setdefault("seed", 0)
        return attribkit.explain(self.model, self.tokenizer, texts, **options)

    def adapter(self) -> ModelAdapter:
        """The backend's adapter for the subject's model, with default options."""
        engine = get_host().backend(self.backend_name())
        layer = self.options.get("layer")
        given = {k: v for k, v in self.options.items() if k in {o.name for o in engine.options}}
        (backend_options,) = parse_options(given, [("backend", engine.options)])
        return engine.adapt(self.model, self.tokenizer, layer=layer, options=backend_options)


def _close(actual: Any, expected: Any, tolerance: float, what: str) -> None:
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1e-12)
    error = float(np.max(np.abs(actual - expected))) / scale if expected.size else 0.0
    assert error <= tolerance, f"{what}: differs by {error:.2e} of the largest value (tolerance {tolerance:g})"


def _rows(subject: Subject, adapter: ModelAdapter) -> Tuple[np.ndarray, np.ndarray, List[Any]]:
    """The subject's texts as the pipeline gives them to the model (truncated to its limit), padded."""
    limit = subject.options.get("max_length") or adapter.length_limit()
    encodings = []
    for text in subject.texts:
        full = adapter.encode(text)
        side = subject.options.get("truncating") or ("pre" if full.unit == "words" else "post")
        encodings.append(truncate(full, limit, side))
    ids, mask, _ = pad(adapter, [e.input_ids for e in encodings])
    return ids, mask, encodings


# -- the checks ------------------------------------------------------------------------------------------------


def check_errors_in_place(subject: Subject) -> None:
    """A bad text or target fails its own slot; the others are explained, in order."""
    texts = [subject.texts[0], "   ", subject.texts[1]]
    results = subject.explain(texts, target=[None, None, 10_000], errors="return")
    assert len(results) == 3, f"{len(results)} results for 3 texts"
    assert isinstance(results[0], Explanation) and results[0].text == texts[0], f"slot 0 holds {results[0]!r}"
    assert isinstance(results[1], InputError), f"an empty text gave {results[1]!r}, not an InputError"
    assert isinstance(results[2], TargetError), f"target 10000 gave {results[2]!r}, not a TargetError"


def check_targets(subject: Subject) -> None:
    """Targets by index and by label name give the same explanation; no target explains the prediction."""
    predicted = subject.explain(list(subject.texts))
    for explanation in predicted:
        assert explanation.target.index == explanation.prediction.index, (
            f"{explanation.text!r}: no target explained class {explanation.target.index}, "
            f"but the prediction is {explanation.prediction.index}")
    labels = predicted[0].prediction.labels
    for index, label in enumerate(labels[:2]):
        by_index = subject.explain(subject.texts[0], target=index)
        by_name = subject.explain(subject.texts[0], target=label)
        assert by_index.target == by_name.target and by_index.target.label == label, (
            f"target {index} gave {by_index.target}, target {label!r} gave {by_name.target}")
        _close(by_name.scores, by_index.scores, subject.tolerance, f"scores for target {label!r} vs {index}")


def check_explained_output(subject: Subject) -> None:
    """The backend's F (in its framework) and its predictions equal the numpy reference."""
    adapter = subject.adapter()
    ids, mask, _ = _rows(subject, adapter)
    raw = np.asarray(adapter.raw_outputs(ids, mask), dtype=np.float64)
    assert raw.ndim == 2 and raw.shape[0] == len(subject.texts), f"raw outputs of shape {raw.shape}"
    returns = returns_probabilities_of(adapter.returns_probabilities, raw)
    for output in ("probability", "logit", "sum"):
        form = output_form(raw.shape[1], output, returns)
        _close(adapter.explained_outputs(ids, mask, form), explained_values(raw, form), subject.tolerance,
               f"F ({output}) against the numpy reference")
    for explanation, row in zip(subject.explain(list(subject.texts)), raw):
        _close(explanation.prediction.probabilities,
               probabilities(row[None], returns)[0], subject.tolerance,
               f"{explanation.text!r}: prediction")


def check_completeness(subject: Subject) -> None:
    """``output_difference`` is ``F(x) - F(baseline)`` (computed here from the adapter's raw outputs) and
    ``completeness_gap`` is ``|sum(scores) - output_difference|``; a method without completeness reports neither."""
    explanations = subject.explain(list(subject.texts))
    complete = [e.output_difference is not None for e in explanations]
    assert len(set(complete)) == 1, "some explanations of one call report an output difference, others do not"
    if not complete[0]:
        assert all(e.completeness_gap is None for e in explanations), "a completeness gap without an output difference"
        return
    adapter = subject.adapter()
    ids, mask, encodings = _rows(subject, adapter)
    baseline = Baseline.parse(subject.options.get("baseline", "pad"))
    if not baseline.uses_ids:
        return  # vector baselines: F(baseline) needs the layer; the pipeline's own figures are checked below
    baseline_ids, _, _ = pad(adapter, [baseline.ids_for(e, adapter.pad_id, adapter.special_ids) for e in encodings])
    baseline_ids = np.where(mask == 1, baseline_ids, ids)
    raw = np.asarray(adapter.raw_outputs(ids, mask), dtype=np.float64)
    form = output_form(raw.shape[1], subject.options.get("output", "probability"),
                       returns_probabilities_of(adapter.returns_probabilities, raw))
    at_input = explained_values(adapter.raw_outputs(ids, mask), form)
    at_baseline = explained_values(adapter.raw_outputs(baseline_ids, mask), form)
    for row, explanation in enumerate(explanations):
        target = explanation.target.index
        difference = at_input[row, target] - at_baseline[row, target]
        _close(explanation.output_difference, difference, subject.tolerance, f"{explanation.text!r}: F(x) - F(b)")
        gap = abs(float(explanation.scores.sum()) - explanation.output_difference)
        assert abs(explanation.completeness_gap - gap) <= 1e-9 + 1e-6 * abs(gap), (
            f"{explanation.text!r}: completeness_gap {explanation.completeness_gap} is not |sum - difference| = {gap}")
        assert explanation.convergence_delta is not None and np.isfinite(explanation.convergence_delta)


def check_order(subject: Subject) -> None:
    """A list of texts gives the same explanations, in the same order, as the texts one at a time."""
    together = subject.explain(list(subject.texts))
    for text, explanation in zip(subject.texts, together):
        alone = subject.explain(text)
        assert explanation.text == text, f"result for {text!r} holds {explanation.text!r}"
        assert explanation.tokens == alone.tokens and explanation.target == alone.target
        _close(explanation.scores, alone.scores, max(subject.tolerance, 1e-4), f"{text!r}: batched vs alone")


def check_json_round_trip(subject: Subject) -> None:
    """Every explanation survives JSON and back, field for field."""
    for explanation in subject.explain(list(subject.texts)):
        restored = Explanation.from_json(explanation.to_json())
        assert restored.to_dict() == explanation.to_dict(), f"{explanation.text!r} changed through JSON"


def check_renderers(subject: Subject) -> None:
    """Every registered renderer draws the backend's explanations."""
    explanations = subject.explain(list(subject.texts))
    for name in sorted(get_host().renderers):
        text = attribkit.render(explanations, name)
        assert isinstance(text, str) and text, f"renderer {name!r} returned {type(text).__name__}"


def check_unknown_option(subject: Subject) -> None:
    """An unknown option is refused before anything runs, naming the valid ones."""
    try:
        subject.explain(subject.texts[0], no_such_option=1)
    except InputError as exc:
        assert "no_such_option" in str(exc) and "valid options" in str(exc), str(exc)
        assert PIPELINE_OPTIONS[0].name in str(exc), str(exc)
        return
    raise AssertionError("an unknown option was accepted")


def check_seed(subject: Subject) -> None:
    """A sampling method records its seed and gives the same scores for the same seed."""
    if not get_host().method(subject.backend_name(), subject.method_name()).sampling:
        return
    first, again = (subject.explain(subject.texts[0], seed=11) for _ in range(2))
    assert first.method.params.get("seed") == 11, f"seed recorded as {first.method.params.get('seed')!r}"
    _close(again.scores, first.scores, 0.0, "the same seed twice")


def check_path_points(subject: Subject) -> None:
    """A path method (registered with ``path=True``) evaluates the points it is given, row by row:
    ``n_steps="auto"`` brings every text's gap within its tolerance, and its scores equal the method's own
    integral with 200 steps to within 1 % of ``|F(x) - F(baseline)|``; with ``return_attributions`` under a
    budget too small to keep each point's values, each text is evaluated again at all its points in one row,
    weighted by ``task.step_weights``, and its attributions sum to the same scores."""
    if not get_host().method(subject.backend_name(), subject.method_name()).path:
        return
    tolerance = 1e-3
    auto = subject.explain(list(subject.texts), n_steps="auto", tolerance=tolerance)
    fixed = subject.explain(list(subject.texts), n_steps=200)
    for refined, reference in zip(auto, fixed):
        difference = abs(refined.output_difference)
        assert refined.method.params.get("steps"), f"{refined.text!r}: n_steps='auto' recorded no steps"
        assert refined.completeness_gap <= tolerance * difference + 1e-6, (
            f"{refined.text!r}: n_steps='auto' left a gap of {refined.completeness_gap:.3g} for |F(x) - F(b)| = "
            f"{difference:.3g}; does the method evaluate task.alphas[i, j] for row i?")
        worst = float(np.max(np.abs(refined.scores - reference.scores)))
        assert worst <= 1e-2 * difference + 1e-6, (
            f"{refined.text!r}: n_steps='auto' scores differ from 200 fixed steps by {worst:.3g} (|F(x) - F(b)| = "
            f"{difference:.3g})")
    weighted = subject.explain(list(subject.texts), n_steps="auto", tolerance=tolerance, return_attributions=True,
                               memory_budget_mb=0.001)
    for refined, again in zip(auto, weighted):
        worst = float(np.max(np.abs(again.attributions.sum(axis=-1) - refined.scores)))
        assert worst <= 1e-4 * abs(refined.output_difference) + 1e-6, (
            f"{refined.text!r}: evaluated again at all its points in one row, the attributions sum to scores "
            f"{worst:.3g} away from n_steps='auto' ones; does the method weight point j of row i by "
            "task.step_weights[i, j]?")


def check_steps_recorded(subject: Subject) -> None:
    """A method whose scores change with ``n_steps`` records the count it used as ``params["n_steps"]``: the
    pipeline reads it to tell a user whose ``n_steps`` a method did not use."""
    text = subject.texts[0]
    few, more = (subject.explain(text, n_steps=count) for count in (4, 16))
    if np.allclose(few.scores, more.scores, rtol=subject.tolerance, atol=1e-9):
        return  # the method does not read n_steps
    for explanation, count in ((few, 4), (more, 16)):
        recorded = explanation.method.params.get("n_steps")
        assert recorded == count, (
            f"the scores change with n_steps, but n_steps={count} is recorded as {recorded!r}; return "
            "MethodResult(params={'n_steps': task.n_steps, ...})")


#: Every check, in the order :func:`check_backend` runs them.
CHECKS: Tuple[Callable[[Subject], None], ...] = (
    check_errors_in_place, check_targets, check_explained_output, check_completeness, check_order,
    check_json_round_trip, check_renderers, check_unknown_option, check_seed, check_path_points,
    check_steps_recorded,
)


def run_checks(subject: Subject) -> Dict[str, Optional[str]]:
    """``{check name: None (passed) or the failure}``."""
    outcome: Dict[str, Optional[str]] = {}
    for check in CHECKS:
        try:
            check(subject)
            outcome[check.__name__] = None
        except AssertionError as exc:
            outcome[check.__name__] = str(exc) or "failed"
    return outcome


def check_backend(model: Any, tokenizer: Any, **subject: Any) -> None:
    """Run every check on ``model``; raise :class:`AssertionError` listing the failures."""
    failures = {name: why for name, why in run_checks(Subject(model, tokenizer, **subject)).items() if why}
    if failures:
        raise AssertionError("; ".join(f"{name}: {why}" for name, why in failures.items()))
