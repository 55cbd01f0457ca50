"""Perturbation methods, written once for every backend: they need only the model's outputs.

Each text's **features** are its tokens (``granularity="token"``) or its
words (``"word"``: a word's subword tokens are removed together, which is
what a reader sees); special tokens are never features. A feature is
**removed** by replacing its tokens with the baseline's (``replacement=
"baseline"``, the pad token by default), the pad token, the mask token, or
by deleting them from the text. Every perturbed copy of every text of a
call goes through the model in one batch (:meth:`attribkit.Task.explained`,
in passes that fit the memory budget). A feature's score is spread evenly
over its tokens, so word scores (``attribkit.words``) are the features' scores.
Sampling methods draw from numpy's generator seeded with ``task.seed``: the
same seed gives the same samples on every backend.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

import numpy as np

from attribkit.errors import InputError, MethodError
from attribkit.pipeline import MethodResult, Option, Task
from attribkit.pipeline.encoding import word_groups

GRANULARITIES = ("token", "word")
#: Most perturbed copies of one text.
MAX_SAMPLES = 1_000_000
REPLACEMENTS = ("baseline", "pad", "mask", "delete")


@dataclass(frozen=True, eq=False)
class Features:
    """The features of one row of a task.

    Attributes:
        row: the task's row.
        columns: per feature, the columns of its tokens.
        replacement: ``(L,)`` the ids removed tokens take, or ``None`` when they are deleted.
    """

    row: int
    columns: Tuple[np.ndarray, ...]
    replacement: Optional[np.ndarray]

    def __len__(self) -> int:
        return len(self.columns)

    def perturbed(self, task: Task, keep: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """``(ids (S, L), attention_mask (S, L))``: the row with the features ``keep[s]`` marks False removed."""
        ids = np.repeat(task.input_ids[self.row][None], len(keep), axis=0)
        mask = np.repeat(task.attention_mask[self.row][None], len(keep), axis=0)
        if self.replacement is not None:
            for feature, columns in enumerate(self.columns):
                removed = ~keep[:, feature]
                ids[np.ix_(removed, columns)] = self.replacement[columns]
            return ids, mask
        adapter, length = task.adapter, ids.shape[1]
        for sample, kept in enumerate(keep):
            gone = np.concatenate([c for c, k in zip(self.columns, kept) if not k] or [np.zeros(0, np.int64)])
            sequence = task.input_ids[self.row][np.setdiff1d(task.positions[self.row], gone)]
            start = length - len(sequence) if adapter.padding == "pre" else 0
            ids[sample] = adapter.pad_id
            mask[sample] = 0
            ids[sample, start:start + len(sequence)] = sequence
            mask[sample, start:start + len(sequence)] = 1
        return ids, mask

    def spread(self, values: np.ndarray, length: int) -> np.ndarray:
        """``(L,)`` token scores: each feature's value spread evenly over its tokens."""
        scores = np.zeros(length)
        for value, columns in zip(values, self.columns):
            scores[columns] = value / len(columns)
        return scores


def features(task: Task, row: int) -> Features:
    """Row ``row``'s features under the task's ``granularity`` and ``replacement`` options; tokens the
    replacement leaves as they are cannot change the output and are not features."""
    granularity, replacement = task.options["granularity"], task.options["replacement"]
    encoding, positions = task.encodings[row], task.positions[row]
    if granularity == "word":
        groups = word_groups(encoding.tokens, encoding.offsets, encoding.special_mask)
    else:
        groups = [[i] for i in range(len(encoding.input_ids))]
    columns = [positions[np.asarray(group)] for group in groups if not encoding.special_mask[group[0]]]
    ids = _replacement_ids(task, row, replacement)
    if ids is not None:
        columns = [c for c in columns if np.any(ids[c] != task.input_ids[row, c])]
    return Features(row, tuple(columns), ids)


def _replacement_ids(task: Task, row: int, replacement: str) -> Optional[np.ndarray]:
    length = task.input_ids.shape[1]
    if replacement == "delete":
        return None
    if replacement == "baseline":
        if task.baseline_ids is None:
            raise MethodError("replacement='baseline' needs a token baseline ('pad', 'pad_all_special', a token id "
                              "or ids); with vectors use replacement='pad', 'mask' or 'delete'")
        return task.baseline_ids[row]
    if replacement == "mask":
        if task.adapter.mask_id is None:
            raise InputError("replacement='mask': this tokenizer has no mask token; use 'pad' or 'delete'")
        return np.full(length, task.adapter.mask_id, dtype=np.int64)
    return np.full(length, task.adapter.pad_id, dtype=np.int64)


def evaluate(task: Task, batches: List[Tuple[Features, np.ndarray]]) -> List[np.ndarray]:
    """Each batch's ``F_target`` ``(S,)`` for its keep-masks ``(S, n_features)``. The perturbed copies of
    all rows go through the model together, ``task.max_rows`` at a time, made as they are needed: memory
    stays bounded however many samples are asked for."""
    step = max(1, task.max_rows)
    slices = [(k, feats, keep[start:start + step]) for k, (feats, keep) in enumerate(batches)
              for start in range(0, len(keep), step)]
    values: List[List[np.ndarray]] = [[] for _ in batches]
    for group in _packed(slices, step):
        ids, masks = zip(*(feats.perturbed(task, keep) for _, feats, keep in group))
        rows = np.concatenate([np.full(len(keep), feats.row) for _, feats, keep in group])
        chosen = task.chosen(task.explained(np.concatenate(ids), np.concatenate(masks)), rows)
        offset = 0
        for k, _, keep in group:
            values[k].append(chosen[offset:offset + len(keep)])
            offset += len(keep)
    return [np.concatenate(parts) if parts else np.zeros(0) for parts in values]


def _packed(slices: list, step: int) -> Iterator[list]:
    """Consecutive slices whose rows add up to at most ``step``."""
    group, rows = [], 0
    for piece in slices:
        if group and rows + len(piece[2]) > step:
            yield group
            group, rows = [], 0
        group.append(piece)
        rows += len(piece[2])
    if group:
        yield group


def check_samples(method: str, n_samples: int, count: int) -> None:
    """A surrogate of ``count`` features needs more samples than features."""
    if n_samples <= count:
        raise MethodError(f"{method} with {count} features needs at least {count + 1} samples (n_samples="
                          f"{n_samples}); raise n_samples, or use granularity='word' for fewer features")


# -- occlusion and feature ablation -------------------------------------------------------------------------


def occlusion(task: Task) -> MethodResult:
    """Windows of ``window`` consecutive features removed, sliding one feature at a time; a feature's
    score is the mean drop of ``F_target`` over the windows that cover it."""
    window = task.options.get("window", 1)
    every = [features(task, row) for row in range(task.batch)]
    batches = []
    for feats in every:
        count = len(feats)
        starts = range(max(1, count - window + 1)) if count else range(0)
        keep = np.ones((1 + len(starts), count), dtype=bool)  # row 0: nothing removed
        for k, start in enumerate(starts, start=1):
            keep[k, start:start + window] = False
        batches.append((feats, keep))
    scores = np.zeros(task.input_ids.shape)
    for feats, (_, keep), values in zip(every, batches, evaluate(task, batches)):
        if not len(feats):
            continue
        drops = values[0] - values[1:]
        covered = ~keep[1:]
        per_feature = (drops[:, None] * covered).sum(axis=0) / covered.sum(axis=0)
        scores[feats.row] = feats.spread(per_feature, scores.shape[1])
    return MethodResult(scores=scores, params=_params(task, window=window))


def feature_ablation(task: Task) -> MethodResult:
    """Each feature's score: ``F_target(x) - F_target(x without that feature)``: occlusion with windows of one."""
    result = occlusion(task)
    params = dict(result.params)
    params.pop("window", None)
    return MethodResult(scores=result.scores, params=params)


# -- LIME ---------------------------------------------------------------------------------------------------------


def lime(task: Task) -> MethodResult:
    """LIME for text (Ribeiro et al., 2016), as LIME's ``LimeTextExplainer`` does it.

    ``n_samples`` binary masks over the features: the first keeps all; each
    other removes a uniformly drawn number (1 to all) of uniformly drawn
    features. Each sample is weighted by ``sqrt(exp(-d**2 / kernel_width**2))``
    with ``d`` 100 times its cosine distance to the text, and a weighted ridge
    regression (scikit-learn's ``Ridge``, ``alpha``) of ``F_target`` on the
    masks gives each feature's score.
    """
    from sklearn.linear_model import Ridge

    n_samples, alpha, width = task.options["n_samples"], task.options["alpha"], task.options["kernel_width"]
    rng = task.rng()
    feats = features(task, 0)
    scores = np.zeros(task.input_ids.shape)
    count = len(feats)
    if count == 0:
        return MethodResult(scores=scores, params=_params(task, n_samples=n_samples, alpha=alpha))
    check_samples("lime", n_samples, count)
    keep = np.ones((n_samples, count), dtype=bool)
    for sample in range(1, n_samples):
        removed = rng.choice(count, size=rng.integers(1, count + 1), replace=False)
        keep[sample, removed] = False
    (values,) = evaluate(task, [(feats, keep)])
    kept = keep.sum(axis=1)
    cosine = np.where(kept > 0, kept / np.sqrt(np.maximum(kept, 1) * count), 0.0)
    distances = (1.0 - cosine) * 100.0
    weights = np.sqrt(np.exp(-(distances ** 2) / width ** 2))
    surrogate = Ridge(alpha=alpha, fit_intercept=True).fit(keep.astype(float), values, sample_weight=weights)
    scores[0] = feats.spread(surrogate.coef_, scores.shape[1])
    return MethodResult(scores=scores, params=_params(task, n_samples=n_samples, alpha=alpha,
                                                      kernel_width=width))


# -- Kernel SHAP ----------------------------------------------------------------------------------------------


def kernel_shap(task: Task) -> MethodResult:
    """Shapley values of the features, exact or estimated by Kernel SHAP (Lundberg and Lee, 2017).

    With at most ``exact_limit`` features every coalition is evaluated
    (``2**n`` perturbed copies) and the Shapley values are exact. Otherwise
    ``n_samples`` coalitions are drawn from the Shapley kernel (a size ``s``
    with probability proportional to ``(n - 1) / (s (n - s))``, then ``s``
    features uniformly, each with its complement), and the least-squares fit
    that sums to ``F(x) - F(nothing kept)`` gives the estimate. Complete: the
    scores sum to ``F(x) - F(every feature removed)``.
    """
    n_samples, limit = task.options["n_samples"], task.options["exact_limit"]
    feats = features(task, 0)
    count = len(feats)
    scores = np.zeros(task.input_ids.shape)
    exact = count <= max(limit, 1)  # one feature: its value is the whole difference
    if count == 0:
        keep = np.ones((1, 0), dtype=bool)
    elif exact:
        keep = np.array(list(itertools.product((False, True), repeat=count)))[:, ::-1]
    else:
        check_samples("kernel_shap", n_samples, count)
        keep = _kernel_samples(task.rng(), count, n_samples)
    (values,) = evaluate(task, [(feats, np.concatenate([np.zeros((1, count), bool), np.ones((1, count), bool),
                                                        keep]))])
    empty, full, values = values[0], values[1], values[2:]
    if count == 0:
        shapley = np.zeros(0)
    elif exact:
        shapley = _exact_shapley(values, count)
    else:
        shapley = _constrained_fit(keep, values - empty, full - empty)
    scores[0] = feats.spread(shapley, scores.shape[1])
    params = _params(task, exact=exact, n_samples=None if exact else n_samples)
    return MethodResult(scores=scores, completeness=True, reference=np.array([empty]), params=params)


def _kernel_samples(rng: np.random.Generator, count: int, n_samples: int) -> np.ndarray:
    """``n_samples`` coalitions (keep-masks) from the Shapley kernel, drawn in complementary pairs."""
    sizes = np.arange(1, count)
    probabilities = (count - 1) / (sizes * (count - sizes))
    probabilities /= probabilities.sum()
    half = -(-n_samples // 2)
    keep = np.zeros((2 * half, count), dtype=bool)
    for pair, size in enumerate(rng.choice(sizes, size=half, p=probabilities)):
        keep[2 * pair, rng.choice(count, size=size, replace=False)] = True
        keep[2 * pair + 1] = ~keep[2 * pair]
    return keep[:max(n_samples, 2)]


def _exact_shapley(values: np.ndarray, count: int) -> np.ndarray:
    """Shapley values from ``values[m]``, the output with the features of bitmask ``m`` kept."""
    masks = np.arange(2 ** count)
    sizes = np.array([bin(m).count("1") for m in masks])
    weights = np.array([math.factorial(s) * math.factorial(count - s - 1) / math.factorial(count)
                        if s < count else 0.0 for s in sizes])
    shapley = np.zeros(count)
    for feature in range(count):
        bit = 1 << feature
        without = masks[(masks & bit) == 0]
        shapley[feature] = np.sum(weights[without] * (values[without | bit] - values[without]))
    return shapley


def _constrained_fit(keep: np.ndarray, gains: np.ndarray, total: float) -> np.ndarray:
    """Least squares ``gains ~ keep @ phi`` with ``sum(phi) == total`` (the last feature eliminated)."""
    from sklearn.linear_model import LinearRegression

    z = keep.astype(float)
    target = gains - z[:, -1] * total
    design = z[:, :-1] - z[:, -1:]
    if design.shape[1] == 0:
        return np.array([total])
    head = LinearRegression(fit_intercept=False).fit(design, target).coef_
    return np.append(head, total - head.sum())


def _params(task: Task, **extra: object) -> dict:
    params = {"granularity": task.options["granularity"], "replacement": task.options["replacement"]}
    params.update({k: v for k, v in extra.items() if v is not None})
    return params


def _count(name: str, default: int, description: str, minimum: int = 1) -> Option:
    return Option(name, default, description, "int", minimum=minimum)


#: The options every perturbation method reads.
COMMON = (
    Option("granularity", "token", "'token': every token is a feature; 'word': a word's tokens go together",
           "choice", choices=GRANULARITIES),
    Option("replacement", "baseline", "what a removed feature's tokens become: the baseline's tokens (pad by "
           "default), 'pad', 'mask' or 'delete' (taken out of the text)", "choice", choices=REPLACEMENTS),
)

#: ``(name, function, description, sampling, options)``.
METHODS = (
    ("occlusion", occlusion, "windows of features removed, sliding one at a time (any backend)", False,
     (_count("window", 1, "features removed together"), *COMMON)),
    ("feature_ablation", feature_ablation, "one feature at a time removed (any backend)", False, COMMON),
    ("lime", lime, "LIME: a weighted ridge surrogate on random feature masks (any backend)", True,
     (Option("n_samples", 200, "perturbed copies of the text", "int", minimum=2, maximum=MAX_SAMPLES),
      Option("alpha", 1.0, "ridge penalty of the surrogate", "float", minimum=0),
      Option("kernel_width", 25.0, "width of LIME's exponential kernel on cosine distances x 100", "float",
             minimum=0.001), *COMMON)),
    ("kernel_shap", kernel_shap, "Shapley values, exact up to exact_limit features, else Kernel SHAP (any "
     "backend)", True,
     (Option("n_samples", 200, "coalitions sampled when the Shapley values are not computed exactly", "int",
             minimum=2, maximum=MAX_SAMPLES),
      Option("exact_limit", 12, "most features whose 2**n coalitions are all evaluated", "int", minimum=0,
             maximum=20), *COMMON)),
)
