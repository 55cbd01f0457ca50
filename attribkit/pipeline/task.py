"""What a method receives (:class:`Task`) and returns (:class:`MethodResult`), the same for every backend.

A method is a function ``method(task) -> MethodResult``, registered with the
``attribkit_register_methods`` hook for one backend or for every backend
(``"*"``). The pipeline calls it once per group of texts padded together;
everything around it (tokenising, baselines, predictions, targets, F(x) and
F(baseline), completeness, assembly, seeds) is the pipeline's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import numpy as np

from attribkit.pipeline.adapter import ModelAdapter
from attribkit.pipeline.encoding import Encoding
from attribkit.pipeline.options import Option
from attribkit.pipeline.outputs import OutputForm, explained_values

#: The ``backend`` a method registers for to run on every backend (it uses only :meth:`Task.explained`).
ANY_BACKEND = "*"


@dataclass(frozen=True, eq=False)
class Task:
    """``B`` sequences padded to ``L`` tokens, ready to attribute.

    Attributes:
        adapter: the model adapter (a method of a framework backend reaches the
            framework objects through it).
        input_ids: ``(B, L)`` int64 token ids, padded as ``adapter.padding`` says.
        attention_mask: ``(B, L)`` int64, 1 on real tokens.
        positions: per row, ``(n_i,)`` the columns of its tokens, in order.
        special_mask: ``(B, L)`` bool, the tokens the tokenizer added.
        baseline_ids: ``(B, L)`` int64 baseline ids (equal to the input at padded
            columns), or ``None`` for a vector baseline.
        layer_values: ``(B, L, d)`` the layer's output at the input, with a
            vector baseline; else ``None`` (the method computes it if needed).
        baseline_values: ``(B, L, d)`` the vector baseline at the layer (equal
            to ``layer_values`` at padded columns), or ``None``.
        targets: ``(B,)`` int, the explained class of each row.
        labels: the class names.
        form: how F comes from the model's raw outputs (:class:`OutputForm`).
        outputs: ``(B, n_classes)`` F at the input; ``baseline_outputs`` at the baseline.
        encodings: per row, its :class:`~attribkit.pipeline.Encoding` (text, tokens, offsets...).
        n_steps: integration steps (the number of ``alphas`` when they are given).
        rows_per_pass: rows (texts x steps) per forward and backward pass, with a step of every row in
            each pass (the ``internal_batch_size`` of Captum and alibi).
        max_rows: the most rows of this length one forward and backward pass may hold within the memory
            budget; :meth:`explained` runs in passes of this size.
        bucket_lengths: ``(B,)`` per row, the length its bucket may be cut to
            (rows are right-padded; a backend with ``max_buckets > 1`` runs
            each bucket cut to its length).
        seed: the seed of a sampling method (``B`` is then 1), else ``None``.
        options: the method's own options, checked, with their defaults.
        alphas: ``(B, m)`` per row, fractions of the way from the baseline to the input, or ``None``. When
            given (``n_steps="auto"``, to a method registered with ``path=True``) the method evaluates the
            gradient exactly there and returns, for each row ``i``, ``(x - baseline) * sum_j
            step_weights[i, j] * grad F(baseline + alphas[i, j] * (x - baseline))`` at the layer instead of
            its own integral (:func:`attribkit.methods.gradients.path_sum` does it with the adapter's
            gradients). The pipeline repeats a text's row once per point it needs, so rows may repeat.
        step_weights: ``(B, m)`` the weights of ``alphas``.
    """

    adapter: ModelAdapter
    input_ids: np.ndarray
    attention_mask: np.ndarray
    positions: Tuple[np.ndarray, ...]
    special_mask: np.ndarray
    baseline_ids: Optional[np.ndarray]
    layer_values: Optional[np.ndarray]
    baseline_values: Optional[np.ndarray]
    targets: np.ndarray
    labels: Tuple[str, ...]
    form: OutputForm
    outputs: np.ndarray
    baseline_outputs: np.ndarray
    encodings: Tuple[Encoding, ...]
    n_steps: int
    rows_per_pass: int
    max_rows: int
    bucket_lengths: np.ndarray
    seed: Optional[int] = None
    options: Mapping[str, Any] = field(default_factory=dict)
    alphas: Optional[np.ndarray] = None
    step_weights: Optional[np.ndarray] = None

    @property
    def batch(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def lengths(self) -> Tuple[int, ...]:
        return tuple(len(p) for p in self.positions)

    def output_differences(self) -> np.ndarray:
        """``(B,)`` ``F(x) - F(baseline)`` of each row's target."""
        rows = np.arange(self.batch)
        return self.outputs[rows, self.targets] - self.baseline_outputs[rows, self.targets]

    def explained(self, input_ids: np.ndarray, attention_mask: Optional[np.ndarray] = None) -> np.ndarray:
        """F ``(N, n_classes)`` of any rows of ids ``(N, L)``, in passes of :attr:`max_rows` rows: the
        one call a prediction-only method needs."""
        if attention_mask is None:
            attention_mask = np.ones_like(input_ids)
        parts = []
        step = max(1, self.max_rows)
        for start in range(0, len(input_ids), step):
            raw = self.adapter.raw_outputs(input_ids[start:start + step], attention_mask[start:start + step])
            parts.append(explained_values(raw, self.form))
        return np.concatenate(parts) if parts else np.zeros((0, self.outputs.shape[1]))

    def chosen(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``values[k, targets[rows[k]]]``: each F row's value for the target of the task row it perturbs."""
        return values[np.arange(len(rows)), self.targets[rows]]

    def rng(self) -> np.random.Generator:
        """numpy's generator seeded with :attr:`seed` (a fresh one when ``None``)."""
        return np.random.default_rng(self.seed)


@dataclass(frozen=True, eq=False)
class MethodResult:
    """What a method returns for a task of ``B`` rows padded to ``L`` tokens (numpy arrays).

    Attributes:
        attributions: ``(B, L, d)`` attributions of the layer's output, or
            ``None``; token scores are their sum over ``d`` unless ``scores`` is given.
        scores: ``(B, L)`` token scores (methods that score whole tokens), or ``None``.
        convergence_delta: ``(B,)`` the method's own ``sum(attributions) - (F(x) -
            F(baseline))``, or ``None`` (the pipeline computes it for a complete method).
        params: JSON-compatible parameters recorded in ``Method.params``.
        completeness: ``True`` when the scores should sum to ``F(x) - F(baseline)``;
            the pipeline then reports ``output_difference`` and ``completeness_gap``.
        reference: ``(B,)`` F of each row's target at the method's own starting point when it is not
            the baseline (every token deleted, say); completeness is then measured against it.
        warnings: per row, messages for its explanation (or an empty tuple).
    """

    attributions: Optional[np.ndarray] = None
    scores: Optional[np.ndarray] = None
    convergence_delta: Optional[np.ndarray] = None
    params: Dict[str, Any] = field(default_factory=dict)
    completeness: bool = False
    reference: Optional[np.ndarray] = None
    warnings: Tuple[Tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        if self.attributions is None and self.scores is None:
            raise ValueError("MethodResult: give attributions (B, L, d) or scores (B, L)")
        for name in ("attributions", "scores", "convergence_delta", "reference"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, np.asarray(value, dtype=np.float64))

    def token_scores(self) -> np.ndarray:
        """``(B, L)`` token scores."""
        return self.scores if self.scores is not None else self.attributions.sum(axis=-1)


@dataclass(frozen=True)
class MethodSpec:
    """A registered attribution method (see ``attribkit_register_methods``).

    Attributes:
        name: what users pass as ``method=``.
        backend: the backend it runs on, or :data:`ANY_BACKEND`.
        function: ``function(task: Task) -> MethodResult``.
        description: one line for ``attribkit methods``.
        sampling: it draws random samples; the pipeline gives each text a call of
            its own with the seed (``task.seed``) and records the seed.
        options: the options it reads from ``task.options``.
        needs: capabilities a backend must declare for this method to run on it (``"gradients"``),
            for methods registered for every backend.
        plugin: the plugin that registered it.
        path: it integrates gradients along the path from the baseline and evaluates the points it is
            given (``Task.alphas``), so the pipeline can refine it for ``n_steps="auto"``.
        path_copies: float32 copies of every point of its paths (texts x steps x tokens x layer width) it
            keeps until its call ends, with fixed steps (alibi: the points, their gradients and their sums);
            the planner keeps them within the memory budget.
    """

    name: str
    backend: str
    function: Callable[[Task], MethodResult]
    description: str = ""
    sampling: bool = False
    options: Tuple[Option, ...] = ()
    needs: Tuple[str, ...] = ()
    plugin: str = ""
    path: bool = False
    path_copies: float = 0.0
