"""The text pipeline: one ``explain`` call, the same for every backend.

1. **Encode** every text with the adapter (whole), then truncate it, or cut
   it into windows with ``sliding_window=True``; build its baseline ids.
2. **Predict** every sequence and its baseline in padded groups (one
   forward pass over both); the model's raw outputs give the prediction,
   ``F(x)`` and ``F(baseline)``.
3. **Target** each text from its prediction (averaged over its windows).
4. **Attribute**: the planner groups the sequences by length; the method
   runs once per group on a :class:`~attribkit.pipeline.task.Task`.
5. **Assemble** one :class:`~attribkit.results.Explanation` per text:
   scores on the text's tokens, windows merged, the output difference and
   completeness gap of a complete method, warnings.

A failure that concerns one text (its encoding, baseline, target, a
non-finite output) is returned in that text's place; the others go on.
"""
from __future__ import annotations

import dataclasses
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from attribkit.errors import AttribkitError, InputError, MethodError, ModelError, PluginError
from attribkit.pipeline import steps, windows
from attribkit.pipeline.adapter import ModelAdapter
from attribkit.pipeline.baselines import Baseline
from attribkit.pipeline.encoding import SIDES, Encoding, check_vocabulary, truncate
from attribkit.pipeline.options import Option
from attribkit.pipeline.outputs import (
    MODEL_RETURNS, PROBABILITY_LOGIT_NOTE, OutputForm, check_true_label, explained_values, label_names, output_form,
    probabilities, reads_as_probabilities, resolve_target,
)
from attribkit.pipeline.planner import CPU_PASS_BYTES_PER_THREAD, Budget, Group, default_memory_bytes, plan
from attribkit.pipeline.task import MethodResult, MethodSpec, Task
from attribkit.results import Explanation, Method, Prediction, Target

#: Options the pipeline reads, for every backend and method.
PIPELINE_OPTIONS: Tuple[Option, ...] = (
    Option("labels", None, "class names in class order (default: the model's own)", "strings"),
    Option("model_returns", None, "'logits' or 'probabilities' (default: detected from the model's last layer, else "
           "from its outputs: several outputs summing to 1 are probabilities)",
           "choice", choices=MODEL_RETURNS),
    Option("max_length", None, "tokens kept per text (default: the model's and the tokenizer's limit)", "int",
           minimum=1),
    Option("truncating", None, "the end a long text loses: 'post' (default for Hugging Face tokenizers) or 'pre' "
           "(default for word tokenizers)", "choice", choices=SIDES),
    Option("sliding_window", False, "explain every token of a long text in overlapping windows", "bool"),
    Option("stride", None, "text tokens between window starts (default: half a window)", "int", minimum=1),
    Option("return_attributions", False, "keep the per-dimension attributions (Explanation.attributions)", "bool"),
    Option("internal_batch_size", None, "rows per forward pass (default: from the memory budget)", "int",
           minimum=1),
    Option("memory_budget_mb", None, "activations one forward and backward pass may keep, in MB (default: a "
           "quarter of the available memory, at most 256 per CPU thread)", "float", minimum=0.001),
    Option("tolerance", steps.DEFAULT_TOLERANCE, "with n_steps='auto': the completeness gap accepted, as a share "
           "of |F(x) - F(baseline)|", "float", minimum=1e-6, maximum=1.0),
    Option("seed", None, "seed of a sampling method (default: a fresh one, recorded)", "int", minimum=0,
           maximum=2**32 - 1),
)

NO_ATTRIBUTIONS_NOTE = (
    "return_attributions=True, but method {method!r} gives token scores only (no per-dimension attributions); "
    "Explanation.attributions is None. Gradient methods such as integrated_gradients and saliency give them"
)
UNUSED_STEPS_NOTE = (
    "n_steps={n_steps!r}{tolerance} was not used: method {method!r} does not integrate a path (it records no "
    "n_steps); `attribkit methods` lists its own options"
)
FIXED_STEPS_NOTE = (
    "n_steps='auto' ran as {n_steps} fixed steps: method {method!r} is not registered with path=True, so the "
    "pipeline cannot refine its path; the tolerance was not checked"
)
WINDOWS_WARNING = (
    "explained in {count} overlapping windows of up to {size} tokens; each token's score comes from the window "
    "where it is most central, the prediction is the mean over windows, and completeness holds per window, not "
    "for the whole text"
)


@dataclass(frozen=True)
class ExplainRequest:
    """Everything the user asked for, checked by the host, for one call of the pipeline.

    Attributes:
        method: the method to run.
        targets: one target per text: ``None`` (the predicted class), a class index or a label name.
        output: ``"probability"`` or ``"logit"``.
        n_steps: integration steps for path methods, or ``"auto"`` (:mod:`attribkit.pipeline.steps`).
        baseline: what the user passed as ``baseline`` (parsed by :class:`Baseline`).
        true_labels: one gold label (or ``None``) per text.
        batch_size: texts per method call, or ``None`` for automatic.
        options: the pipeline's options (:data:`PIPELINE_OPTIONS`), checked, defaults filled.
        method_options: the method's options, checked, defaults filled.
    """

    method: MethodSpec
    targets: Sequence[Any]
    output: str = "probability"
    n_steps: Union[int, str] = steps.DEFAULT_N_STEPS
    baseline: Any = "pad"
    true_labels: Sequence[Any] = ()
    batch_size: Optional[int] = None
    options: Mapping[str, Any] = field(default_factory=dict)
    method_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Piece:
    """One sequence to attribute: a whole text or one window of a long text."""

    item: int
    encoding: Encoding
    baseline_ids: Optional[np.ndarray] = None  # (n,)
    baseline_values: Optional[np.ndarray] = None  # (n, d), vector baselines
    raw: Optional[np.ndarray] = None  # (n_outputs,)
    raw_baseline: Optional[np.ndarray] = None
    scores: Optional[np.ndarray] = None  # (n,)
    attributions: Optional[np.ndarray] = None  # (n, d)
    delta: Optional[float] = None
    output_difference: Optional[float] = None
    params: Dict[str, Any] = field(default_factory=dict)
    warnings: Tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.encoding.input_ids)


@dataclass(eq=False)
class Item:
    """One text: its encoding (or window plan), its pieces and, once known, its target or error."""

    text: str
    encoding: Optional[Encoding] = None
    plan: Optional[windows.WindowPlan] = None
    pieces: List[Piece] = field(default_factory=list)
    error: Optional[AttribkitError] = None
    target: Optional[Target] = None
    probabilities: Optional[np.ndarray] = None


def rows_of(task: Task, rows: List[int]) -> Task:
    """The task of some of ``task``'s rows (same padded length)."""
    pick = np.asarray(rows)

    def some(value: Optional[np.ndarray]) -> Optional[np.ndarray]:
        return None if value is None else value[pick]

    return dataclasses.replace(
        task, input_ids=task.input_ids[pick], attention_mask=task.attention_mask[pick],
        positions=tuple(task.positions[r] for r in rows), special_mask=task.special_mask[pick],
        baseline_ids=some(task.baseline_ids), layer_values=some(task.layer_values),
        baseline_values=some(task.baseline_values), targets=task.targets[pick], outputs=task.outputs[pick],
        baseline_outputs=task.baseline_outputs[pick], encodings=tuple(task.encodings[r] for r in rows),
        bucket_lengths=task.bucket_lengths[pick])


class Pipeline:
    """The state of one ``explain`` call on one adapter."""

    def __init__(self, adapter: ModelAdapter, request: ExplainRequest):
        self.adapter = adapter
        self.request = request
        self.options = request.options
        self.baseline = Baseline.parse(request.baseline)
        returns = self.options.get("model_returns")
        self.returns_probabilities = adapter.returns_probabilities if returns is None else returns == "probabilities"
        self.limit = self.options.get("max_length") or adapter.length_limit()
        if self.options.get("stride") is not None and not self.options.get("sliding_window"):
            raise InputError("stride applies to sliding windows only; pass sliding_window=True with it")
        budget_mb = self.options.get("memory_budget_mb") or adapter.memory_budget_mb
        self.memory_bytes = budget_mb * 2**20 if budget_mb else default_memory_bytes(
            limit=CPU_PASS_BYTES_PER_THREAD * max(1.0, adapter.threads))
        self.seed = self.sampling_seed()
        self.refined = request.n_steps == steps.AUTO and request.method.path
        self.n_steps = request.n_steps if request.n_steps != steps.AUTO else \
            steps.PLANNED_STEPS if self.refined else steps.FIXED_FALLBACK_STEPS
        self.labels: Tuple[str, ...] = ()
        self.form: Optional[OutputForm] = None

    def sampling_seed(self) -> Optional[int]:
        """The seed of a sampling method: the user's, else a fresh one (recorded in the result)."""
        if not self.request.method.sampling:
            return None
        if self.options.get("seed") is not None:
            return int(self.options["seed"])
        return int(np.random.SeedSequence().entropy % 2**31)

    # -- the stages ------------------------------------------------------------------------------------
    def explain(self, texts: Sequence[str]) -> List[Any]:
        """One :class:`Explanation` or per-text error for each text, in order."""
        self.adapter.check_tokenizer()
        check_vocabulary(self.adapter.tokenizer, self.adapter.vocab_size)
        with self.adapter.session() as notes:
            items = [self.encode(text) for text in texts]
            self.predict(items)
            true_labels = self.request.true_labels or [None] * len(items)
            for index, item in enumerate(items):
                self.choose_target(item, self.request.targets[index], true_labels[index])
            self.attribute(items)
            return [item.error if item.error is not None else self.assembled(index, item, notes)
                    for index, item in enumerate(items)]

    def encode(self, text: str) -> Item:
        """Encode one text: truncated, or cut into windows; with its baseline ids. Errors stay with it."""
        item = Item(text)
        try:
            full = self.adapter.encode(text)
            truncating = self.options.get("truncating") or ("pre" if full.unit == "words" else "post")
            limit = self.limit
            if self.options.get("sliding_window") and limit and len(full) > limit:
                item.encoding = full
                item.plan = windows.plan(full, limit, self.options.get("stride"))
                encodings = windows.window_encodings(full, item.plan)
            else:
                reason = f"max_length={limit}" if self.options.get("max_length") else "the model's maximum"
                item.encoding = truncate(full, limit, truncating, reason)
                encodings = [item.encoding]
            for encoding in encodings:
                piece = Piece(0, encoding)
                if self.baseline.uses_ids:
                    piece.baseline_ids = self.baseline.ids_for(encoding, self.adapter.pad_id, self.adapter.special_ids)
                item.pieces.append(piece)
        except AttribkitError as exc:
            item.error = exc
        except Exception as exc:  # the tokenizer failed on this text only
            item.error = InputError(f"the tokenizer could not read this text: {type(exc).__name__}: {exc}")
        return item

    def live(self, items: List[Item]) -> List[Piece]:
        """The pieces of the texts still in play, each knowing its item."""
        pieces = []
        for index, item in enumerate(items):
            if item.error is None:
                for piece in item.pieces:
                    piece.item = index
                    pieces.append(piece)
        return pieces

    def predict(self, items: List[Item]) -> None:
        """Fill ``raw`` and ``raw_baseline`` of every piece: one forward pass over inputs and baselines."""
        pieces = self.live(items)
        budget = Budget(passes=1, memory_bytes=self.memory_bytes, threads=self.adapter.threads)
        for group in plan([len(p) for p in pieces], self.adapter.size, budget):
            chunk = [pieces[i] for i in group.items]
            ids, mask, positions = self.pad([p.encoding.input_ids for p in chunk])
            if self.baseline.uses_ids:
                baseline_ids = self.pad_like(ids, positions, [p.baseline_ids for p in chunk])
                both = self.adapter.raw_outputs(np.concatenate([ids, baseline_ids]), np.concatenate([mask, mask]))
                raw, raw_baseline = both[:len(chunk)], both[len(chunk):]
            else:
                values = self.baseline_values(chunk, items, ids, mask, positions)
                raw = self.adapter.raw_outputs(ids, mask)
                raw_baseline = self.adapter.raw_outputs(ids, mask, layer_values=values)
            raw, raw_baseline = np.asarray(raw, dtype=np.float64), np.asarray(raw_baseline, dtype=np.float64)
            if raw.ndim != 2 or raw.shape[0] != len(chunk) or raw_baseline.shape != raw.shape:
                raise ModelError(f"the adapter returned raw outputs of shape {raw.shape} for {len(chunk)} texts; "
                                 "expected (texts, n_outputs)")
            for row, piece in enumerate(chunk):
                piece.raw, piece.raw_baseline = raw[row], raw_baseline[row]
                if not (np.all(np.isfinite(piece.raw)) and np.all(np.isfinite(piece.raw_baseline))):
                    which = "text" if not np.all(np.isfinite(piece.raw)) else "baseline"
                    items[piece.item].error = ModelError(
                        f"the model returned non-finite outputs (NaN or inf) for this {which}: "
                        f"{piece.raw.tolist()}; check its weights and inputs")
        done = [p for p in pieces if items[p.item].error is None]
        n_outputs = done[0].raw.shape[0] if done else 1
        if done and self.returns_probabilities is None:  # neither the adapter nor the user says: look
            self.returns_probabilities = reads_as_probabilities(
                np.stack([row for p in done for row in (p.raw, p.raw_baseline)]))
        config_labels = self.adapter.id2label
        self.labels = label_names(config_labels, n_outputs, self.options.get("labels"))
        self.form = output_form(n_outputs, self.request.output, self.returns_probabilities)

    def baseline_values(self, chunk: List[Piece], items: List[Item], ids: np.ndarray, mask: np.ndarray,
                        positions: List[np.ndarray]) -> np.ndarray:
        """``(B, L, d)`` vector baselines at the layer; the input's own vectors at padded columns."""
        layer = np.asarray(self.adapter.layer_outputs(ids, mask))
        values = layer.copy()
        for row, piece in enumerate(chunk):
            try:
                piece.baseline_values = self.baseline.vectors_for(layer[row, positions[row]])
            except AttribkitError as exc:
                items[piece.item].error = exc
                continue
            values[row, positions[row]] = piece.baseline_values
        return values

    def choose_target(self, item: Item, requested: Any, true_label: Any = None) -> None:
        """Resolve the text's target from its (window-averaged) prediction, and check its gold label;
        errors stay with the item."""
        if item.error is not None:
            return
        try:
            rows = np.stack([piece.raw for piece in item.pieces])
            if self.returns_probabilities and (np.any(rows < 0) or np.any(rows > 1) or (
                    rows.shape[1] > 1 and np.any(np.abs(rows.sum(axis=1) - 1) > 1e-3))):
                raise ModelError(f"the model's outputs {rows[0].tolist()} are not probabilities, but they are read "
                                 "as such (model_returns='probabilities', a last layer with a softmax or sigmoid, "
                                 "or outputs of other texts of this call that sum to 1); "
                                 "pass model_returns='logits'")
            item.probabilities = probabilities(rows, self.returns_probabilities).mean(axis=0)
            item.target = resolve_target(requested, self.labels, int(np.argmax(item.probabilities)))
            check_true_label(true_label, self.labels)
        except AttribkitError as exc:
            item.error = exc

    def attribute(self, items: List[Item]) -> None:
        """Run the method on every piece still in play, one call per planned group."""
        pieces = self.live(items)
        method = self.request.method
        options = self.options
        budget = Budget(
            passes=1 if method.sampling else self.n_steps, memory_bytes=self.memory_bytes,
            threads=self.adapter.threads, max_buckets=self.adapter.max_buckets, batch_size=self.request.batch_size,
            rows_per_pass=options.get("internal_batch_size"), alone=method.sampling,
            whole_passes=self.adapter.whole_passes, path_copies=self.path_copies(method))
        failures: List[AttribkitError] = []
        for group in plan([self.padded_length(p) for p in pieces], self.adapter.size, budget):
            chunk = [pieces[i] for i in group.items]
            try:
                self.run_method(chunk, group, items)
            except AttribkitError as exc:
                if len(chunk) == 1:
                    items[chunk[0].item].error = exc
                    failures.append(exc)
                    continue
                for single in plan([self.padded_length(p) for p in chunk], self.adapter.size,
                                   dataclasses.replace(budget, alone=True)):  # which text failed?
                    piece = chunk[single.items[0]]
                    try:
                        self.run_method([piece], single, items)
                    except AttribkitError as error:
                        items[piece.item].error = error
                        failures.append(error)
        if pieces and len(failures) == len(pieces) and len({str(f) for f in failures}) == 1:
            raise failures[0]  # every text failed the same way: the request, not a text, is at fault

    def path_copies(self, method: MethodSpec) -> float:
        """float32 copies of its path points a call keeps (:attr:`Budget.path_copies`): the method's own with
        fixed steps; with auto, room for the per-dimension values ``return_attributions`` keeps."""
        if not self.refined:
            return method.path_copies
        return steps.KEPT_COPIES if self.options.get("return_attributions") else 0.0

    def run_method(self, chunk: List[Piece], group: Group, items: List[Item]) -> None:
        """The method on one group (refined level by level for ``n_steps="auto"``)."""
        task = self.task(chunk, group, [items[p.item].target.index for p in chunk])
        if self.refined:
            return self.refine(chunk, group, task, items)
        self.collect(chunk, task, self.call(task), items)

    def call(self, task: Task) -> MethodResult:
        """The method's checked result on ``task``; an exception that is not attribkit's becomes a
        :class:`PluginError` naming the method's plugin."""
        method = self.request.method
        try:
            result = method.function(task)
        except AttribkitError:
            raise
        except Exception as exc:
            raise PluginError(method.plugin, f"method {method.name!r} failed: {type(exc).__name__}: {exc}") from exc
        return self.checked(result, task)

    def refine(self, chunk: List[Piece], group: Group, task: Task, items: List[Item]) -> None:
        """``n_steps="auto"``: adaptive Simpson quadrature per text (:mod:`attribkit.pipeline.steps`). Each
        round gives the method, as rows of its calls, each text once per point its panels still lack (a
        call holds at most a pass's rows), until each text's gap and error are within its tolerance.

        With ``return_attributions`` the per-dimension values of the points are kept
        (:class:`~attribkit.pipeline.steps.KeptValues`) within what the group's passes leave of the memory
        budget (all of it when ``internal_batch_size`` fixes the passes); a text whose values do not fit is
        evaluated again at its final points."""
        differences = task.output_differences()
        tolerance = self.options.get("tolerance", steps.DEFAULT_TOLERANCE)
        paths = [steps.Refinement(steps.limit_for(d, tolerance)) for d in differences]
        kept = None
        if self.options.get("return_attributions"):
            passes = 0 if self.options.get("internal_batch_size") else \
                group.max_rows * self.adapter.size.activation_bytes(group.length)
            kept = steps.KeptValues.empty(len(paths), max(0.0, self.memory_bytes - passes))
        per_call = max(1, task.max_rows)  # a call holds at most a pass's rows
        while True:
            wanted = [(row, position) for row, path in enumerate(paths) if not path.done
                      for position in path.wanted()]
            if not wanted:
                break
            for start in range(0, len(wanted), per_call):
                self.evaluate(task, paths, wanted[start:start + per_call], kept)
                if kept is not None:
                    kept.fit()
            for row, path in enumerate(paths):
                if not path.done and path.update(float(differences[row])) and kept is not None:
                    kept.finish(row, path.weights())
        scores = np.zeros(task.input_ids.shape)
        for row, path in enumerate(paths):
            scores[row, task.positions[row]] = path.estimate
        attributions = None
        if kept is not None:
            for row in kept.given_up:
                kept.sums[row] = self.evaluate_again(task, row, paths[row].weights())
            attributions = np.zeros(task.input_ids.shape + kept.sums[0].shape[1:])
            for row, total in enumerate(kept.sums):
                attributions[row, task.positions[row]] = total
        self.collect(chunk, task, MethodResult(attributions, scores=scores, completeness=True), items)
        for piece, path in zip(chunk, paths):
            piece.params = dict(piece.params, n_steps=steps.AUTO, steps=path.steps, tolerance=tolerance,
                                gap=path.gap, integration="adaptive-simpson")
            if not path.met:
                piece.warnings += (steps.CAP_WARNING.format(steps=path.steps, gap=path.gap, error=path.error,
                                                            limit=path.limit),)

    def evaluate(self, task: Task, paths: List[steps.Refinement], wanted: List[Tuple[int, int]],
                 kept: Optional[steps.KeptValues]) -> None:
        """One call of the method on ``(row, position)`` pairs: each pair a row of the call (its text at
        that point of its path); each path gets its token scores there, ``kept`` the per-dimension values."""
        points = np.array([[steps.alpha(position)] for _, position in wanted])
        result = self.path_call(rows_of(task, [row for row, _ in wanted]), points, np.ones_like(points))
        scores = result.attributions.sum(axis=-1)
        for k, (row, position) in enumerate(wanted):
            columns = task.positions[row]
            paths[row].add(position, scores[k, columns])
            if kept is not None:
                kept.add(row, position, result.attributions[k, columns])

    def evaluate_again(self, task: Task, row: int, weights: Mapping[int, float]) -> np.ndarray:
        """Row ``row``'s per-dimension estimate, ``sum(weight x value)`` over its final points, from one call."""
        points = np.array([[steps.alpha(position) for position in weights]])
        result = self.path_call(rows_of(task, [row]), points, np.array([list(weights.values())]))
        return result.attributions[0, task.positions[row]]

    def path_call(self, task: Task, alphas: np.ndarray, weights: np.ndarray) -> MethodResult:
        """The method's weighted sum of path values at ``alphas`` (``(B, m)``), per row."""
        result = self.call(dataclasses.replace(task, alphas=alphas, step_weights=weights, n_steps=alphas.shape[1]))
        if result.attributions is None:
            raise MethodError(f"method {self.request.method.name!r} is registered with path=True but returned no "
                              "attributions for the points it was given")
        return result

    # -- batches --------------------------------------------------------------------------------------
    def padded_length(self, piece: Piece) -> int:
        return self.adapter.input_length or len(piece)

    def pad(self, sequences: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray, List[np.ndarray]]:
        return pad(self.adapter, sequences)

    @staticmethod
    def pad_like(ids: np.ndarray, positions: List[np.ndarray], rows: Sequence[np.ndarray]) -> np.ndarray:
        """``rows`` placed at ``positions`` of a copy of ``ids`` (padded columns keep the input's ids)."""
        padded = ids.copy()
        for row, (columns, values) in enumerate(zip(positions, rows)):
            padded[row, columns] = values
        return padded

    def task(self, chunk: List[Piece], group: Group, targets: List[int]) -> Task:
        """The :class:`Task` of one group: its pieces padded together, with baselines and outputs."""
        ids, mask, positions = self.pad([p.encoding.input_ids for p in chunk])
        special = np.zeros_like(mask, dtype=bool)
        for row, piece in enumerate(chunk):
            special[row, positions[row]] = piece.encoding.special_mask
        baseline_ids = layer_values = baseline_values = None
        if self.baseline.uses_ids:
            baseline_ids = self.pad_like(ids, positions, [p.baseline_ids for p in chunk])
        else:
            layer_values = np.asarray(self.adapter.layer_outputs(ids, mask))
            baseline_values = layer_values.copy()
            for row, piece in enumerate(chunk):
                baseline_values[row, positions[row]] = piece.baseline_values
        return Task(
            adapter=self.adapter, input_ids=ids, attention_mask=mask, positions=tuple(positions),
            special_mask=special, baseline_ids=baseline_ids, layer_values=layer_values,
            baseline_values=baseline_values, targets=np.asarray(targets, dtype=np.int64), labels=self.labels,
            form=self.form,
            outputs=explained_values(np.stack([p.raw for p in chunk]), self.form),
            baseline_outputs=explained_values(np.stack([p.raw_baseline for p in chunk]), self.form),
            encodings=tuple(p.encoding for p in chunk), n_steps=self.n_steps,
            rows_per_pass=group.rows_per_pass, max_rows=group.max_rows,
            bucket_lengths=np.asarray(group.bucket_lengths, dtype=np.int64), seed=self.seed,
            options=dict(self.request.method_options),
        )

    # -- results --------------------------------------------------------------------------------------
    def checked(self, result: Any, task: Task) -> MethodResult:
        """``result`` if it is a :class:`MethodResult` of the task's shape, else :class:`MethodError`."""
        name = self.request.method.name
        if not isinstance(result, MethodResult):
            raise MethodError(f"method {name!r} returned {type(result).__name__}, not a MethodResult")
        shape = task.input_ids.shape
        scores = result.token_scores()
        if scores.shape != shape:
            raise MethodError(f"method {name!r} returned scores of shape {scores.shape} for a task of shape "
                              f"{shape}; expected one score per token of each row (padding included)")
        if result.attributions is not None and (result.attributions.ndim != 3
                                                or result.attributions.shape[:2] != shape):
            raise MethodError(f"method {name!r} returned attributions of shape {result.attributions.shape}; "
                              f"expected ({shape[0]}, {shape[1]}, hidden)")
        for field_name in ("convergence_delta", "reference"):
            value = getattr(result, field_name)
            if value is not None and value.shape != (shape[0],):
                raise MethodError(f"method {name!r} returned a {field_name} of shape {value.shape}; "
                                  f"expected ({shape[0]},)")
        if result.warnings and len(result.warnings) != shape[0]:
            raise MethodError(f"method {name!r} returned warnings for {len(result.warnings)} rows; expected "
                              f"{shape[0]} (one tuple per row)")
        return result

    def collect(self, chunk: List[Piece], task: Task, result: MethodResult, items: List[Item]) -> None:
        """Store each piece's scores, attributions, delta and output difference."""
        scores = result.token_scores()
        differences = task.output_differences()
        if result.reference is not None:
            differences = task.outputs[np.arange(task.batch), task.targets] - result.reference
        params = dict(result.params)
        if self.options.get("internal_batch_size"):
            params["internal_batch_size"] = task.rows_per_pass
        keep = self.options.get("return_attributions") and result.attributions is not None
        for row, piece in enumerate(chunk):
            columns = task.positions[row]
            piece.scores = scores[row, columns]
            piece.attributions = result.attributions[row, columns] if keep else None
            piece.params = params
            piece.warnings = tuple(result.warnings[row]) if result.warnings else ()
            if not np.all(np.isfinite(piece.scores)):
                items[piece.item].error = ModelError(
                    f"method {self.request.method.name!r} produced non-finite attributions; check the model's "
                    "outputs for this text (or try output='logit')")
                continue
            if result.convergence_delta is not None:
                piece.delta = float(result.convergence_delta[row])
            if result.completeness:
                piece.output_difference = float(differences[row])
                if piece.delta is None:
                    piece.delta = float(piece.scores.sum()) - piece.output_difference

    def assembled(self, index: int, item: Item, notes: Sequence[str]) -> Any:
        """The text's explanation, or the error that stopped it (a value no explanation can hold)."""
        try:
            return self.assemble(index, item, notes)
        except ValueError as exc:
            return ModelError(f"the explanation of this text could not be made: {exc}")

    def steps_notes(self, params: Mapping[str, Any]) -> List[str]:
        """What became of an ``n_steps`` other than the default, read from what the method recorded: none
        (it does not integrate a path), or a fixed count in place of ``"auto"``."""
        asked, name = self.request.n_steps, self.request.method.name
        if asked == steps.DEFAULT_N_STEPS:
            return []
        if "n_steps" not in params:
            tolerance = " (and its tolerance)" if asked == steps.AUTO else ""
            return [UNUSED_STEPS_NOTE.format(n_steps=asked, tolerance=tolerance, method=name)]
        if asked == steps.AUTO and params["n_steps"] != steps.AUTO:
            return [FIXED_STEPS_NOTE.format(n_steps=params["n_steps"], method=name)]
        return []

    def assemble(self, index: int, item: Item, notes: Sequence[str]) -> Explanation:
        """The :class:`Explanation` of one text, from its pieces."""
        encoding = item.encoding
        warnings: List[str] = []
        first = item.pieces[0]
        params: Dict[str, Any] = {"baseline": self.baseline.describe()}
        if self.adapter.layer_name is not None:
            params["layer"] = self.adapter.layer_name
        params.update(first.params)
        if self.seed is not None:
            params["seed"] = self.seed
        extra: Dict[str, Optional[float]] = {}
        if item.plan is None:
            scores, attributions, raw = first.scores, first.attributions, first.raw
            extra = {"convergence_delta": first.delta, "output_difference": first.output_difference}
            if first.output_difference is not None:
                extra["completeness_gap"] = abs(float(scores.sum()) - first.output_difference)
            if encoding.truncated:
                warnings.append(encoding.truncation_warning())
        else:
            scores = windows.merge(item.plan, [piece.scores for piece in item.pieces])
            attributions = (windows.merge(item.plan, [piece.attributions for piece in item.pieces])
                            if first.attributions is not None else None)
            raw = None
            params.update(sliding_window_tokens=self.limit, sliding_window_stride=item.plan.stride)
            if first.params.get("n_steps") == steps.AUTO:  # the text's evaluations, its worst window's gap
                params.update(steps=sum(piece.params["steps"] for piece in item.pieces),
                              gap=max(piece.params["gap"] for piece in item.pieces))
            warnings.append(WINDOWS_WARNING.format(count=len(item.pieces), size=self.limit))
        for piece in item.pieces:
            warnings.extend(w for w in piece.warnings if w not in warnings)
        if self.request.output == "logit" and self.returns_probabilities:
            warnings.append(PROBABILITY_LOGIT_NOTE)
        if self.options.get("return_attributions") and attributions is None:
            warnings.append(NO_ATTRIBUTIONS_NOTE.format(method=self.request.method.name))
        warnings.extend(self.steps_notes(first.params))
        warnings.extend(notes)
        true_labels = self.request.true_labels
        return Explanation(
            text=item.text, tokens=encoding.tokens, offsets=encoding.offsets, token_ids=encoding.input_ids,
            special_mask=encoding.special_mask, scores=scores, attributions=attributions, target=item.target,
            prediction=Prediction(item.probabilities, self.labels, raw=raw),
            method=Method(self.request.method.name, self.request.output, params), model=self.adapter.info,
            true_label=true_labels[index] if true_labels else None, warnings=tuple(warnings), **extra,
        )


def pad(adapter: ModelAdapter, sequences: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray, List[np.ndarray]]:
    """``(ids (B, L), attention_mask (B, L), positions)``: id sequences padded with the adapter's pad id on
    its side (``adapter.padding``), to its fixed input length when it has one; ``positions[i]`` are the
    columns of sequence ``i``."""
    length = adapter.input_length or max(len(s) for s in sequences)
    ids = np.full((len(sequences), length), adapter.pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), length), dtype=np.int64)
    positions = []
    for row, sequence in enumerate(sequences):
        start = length - len(sequence) if adapter.padding == "pre" else 0
        columns = np.arange(start, start + len(sequence))
        ids[row, columns] = sequence
        mask[row, columns] = 1
        positions.append(columns)
    return ids, mask, positions


_LOCKS: "weakref.WeakKeyDictionary[Any, threading.RLock]" = weakref.WeakKeyDictionary()
_LOCKS_BY_ID: Dict[int, threading.RLock] = {}
_LOCKS_LOCK = threading.Lock()


def model_lock(model: Any) -> threading.RLock:
    """The lock of ``model``: explanations of one model run one at a time, whatever the thread.

    Backends change a model while they explain it (torch: eval mode and forward hooks on a layer;
    TensorFlow: a layer's ``call``), so two explanations of one model at once would see each other's
    changes. Different models still run side by side.
    """
    with _LOCKS_LOCK:
        try:
            return _LOCKS.setdefault(model, threading.RLock())
        except TypeError:  # not weakly referable or not hashable: kept for the process
            return _LOCKS_BY_ID.setdefault(id(model), threading.RLock())


def run(adapter: ModelAdapter, request: ExplainRequest, texts: Sequence[str]) -> List[Any]:
    """Explain ``texts`` with ``adapter`` as ``request`` says: one :class:`Explanation` or error per text.
    Calls on one model are serialised (:func:`model_lock`)."""
    with model_lock(adapter.model):
        return Pipeline(adapter, request).explain(texts)
