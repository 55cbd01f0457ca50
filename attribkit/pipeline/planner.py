"""How texts are grouped into method calls and passes: one cost model for every backend (numpy only).

On a CPU two things decide the time of a gradient method on a transformer:
the padding (texts padded together cost as much as the longest, and
attention grows with the square of the length) and the size of each forward
and backward pass (passes whose activations no longer fit the caches run
slower per row). So texts are sorted by length and cut into consecutive
**buckets** of least estimated cost, each padded to its longest text; a
method call (a **group**) takes one bucket, or several when the backend can
run length buckets in one call (``max_buckets``). The constants are measured
by ``benchmarks/bench_tf_vs_torch.py`` and ``benchmarks/bench_torch_batch.py``
(see ``docs/architecture.md``); the activation estimate and the default
memory budget by ``benchmarks/bench_activation_memory.py`` and
``benchmarks/bench_ig_speed.py`` (see ``docs/speed.md``).
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple

#: Fixed cost of one forward and backward pass of one bucket, per layer and CPU thread, in operations
#: (about 1.5 ms per layer at about 6.5e10 operations per second and thread).
PASS_OVERHEAD_FLOPS = 1e8
#: Fixed cost of one method call, per CPU thread, in operations.
CALL_OVERHEAD_FLOPS = 1e8
#: Most texts in one method call.
MAX_TEXTS_PER_GROUP = 64
#: Most bytes of path points one group may span (``passes x texts x length x hidden`` float32); a method that
#: keeps them (``Budget.path_copies``) keeps them within the memory budget as well.
PATH_MEMORY_BYTES = 256 * 2**20
#: The share of the machine's available memory the activations of one pass may take by default.
MEMORY_SHARE = 0.25
#: The most a pass may take by default on a CPU, per thread: much larger passes, whose activations outgrow the
#: caches, ran slower per row (docs/speed.md).
CPU_PASS_BYTES_PER_THREAD = 256 * 2**20
#: float32 values a transformer layer keeps per hidden unit and token for the backward pass: the most measured
#: on all-MiniLM-L6-v2 at 40 tokens or more, rounded up, so that the memory budget bounds a pass's measured peak
#: (``benchmarks/bench_activation_memory.py``, docs/speed.md).
VALUES_PER_HIDDEN_UNIT = 19.5
#: float32 values eager attention keeps per head and pair of tokens, per layer, for the backward pass.
VALUES_PER_ATTENTION_PAIR = 2.5
#: Attention implementations that never keep the ``(heads, L, L)`` attention matrices for the backward pass.
FUSED_ATTENTION = ("sdpa", "flash_attention_2", "flash_attention_3", "flex_attention")


def available_memory_bytes() -> int:
    """Memory the machine can give without swapping: ``MemAvailable`` of ``/proc/meminfo`` on Linux,
    else the free physical pages."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30  # unknown: assume a small machine


def default_memory_bytes(available: Optional[int] = None, limit: Optional[float] = None) -> int:
    """The memory one forward and backward pass may keep when the user sets no ``memory_budget_mb``:
    :data:`MEMORY_SHARE` of ``available`` (the machine's available memory by default), at most ``limit``."""
    share = int(MEMORY_SHARE * (available_memory_bytes() if available is None else available))
    return max(2**20, int(min(share, limit)) if limit else share)


@dataclass(frozen=True)
class ModelSize:
    """The sizes that set a model's cost per token.

    Attributes:
        layers: transformer layers (1 for a word model).
        hidden: size of the attributed layer's output per token.
        intermediate: feed-forward size of a layer.
        heads: attention heads (0 without attention).
        attention_matrices: the attention keeps its ``(heads, L, L)`` matrices for the backward pass
            (eager attention; a fused one, PyTorch's ``sdpa``, recomputes them).
        hidden_values: float32 values the framework keeps for the backward pass per hidden unit, token and
            layer (a backend whose framework keeps more or less than PyTorch sets its own).
        attention_values: float32 values kept per head, pair of tokens and layer with ``attention_matrices``.
    """

    layers: int = 12
    hidden: int = 768
    intermediate: int = 3072
    heads: int = 12
    attention_matrices: bool = True
    hidden_values: float = VALUES_PER_HIDDEN_UNIT
    attention_values: float = VALUES_PER_ATTENTION_PAIR

    @classmethod
    def from_config(cls, config: Any, fused_attention: Optional[bool] = None) -> "ModelSize":
        """Layers, hidden, feed-forward and head sizes of a Hugging Face config (BERT-base when unknown);
        ``fused_attention`` (default: read from the config's attention implementation) says whether the
        attention matrices are kept."""
        hidden = int(getattr(config, "hidden_size", None) or getattr(config, "dim", None) or 768)
        intermediate = getattr(config, "intermediate_size", None) or getattr(config, "hidden_dim", None)
        layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layers", None) or 12
        heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_heads", None) or 12
        if fused_attention is None:
            fused_attention = getattr(config, "_attn_implementation", None) in FUSED_ATTENTION
        return cls(layers=int(layers), hidden=hidden, intermediate=int(intermediate or 4 * hidden), heads=int(heads),
                   attention_matrices=not fused_attention)

    def token_flops(self, length: int) -> float:
        """Operations of one token's forward and backward pass, in a sequence of ``length`` tokens.

        Per layer about ``4 * hidden**2 + 2 * hidden * intermediate`` multiply-adds
        in the projections and ``2 * hidden * length`` in attention; a
        multiply-add is two operations and the backward pass costs twice the forward.
        """
        attention = 2 * self.hidden * length if self.heads else 0
        return 6.0 * self.layers * (4 * self.hidden ** 2 + 2 * self.hidden * self.intermediate + attention)

    def activation_bytes(self, length: int) -> int:
        """Activations one sequence of ``length`` tokens keeps for the backward pass (float32):
        :attr:`hidden_values` per hidden unit, token and layer, and with :attr:`attention_matrices`
        :attr:`attention_values` per head and pair of tokens."""
        attention = self.attention_values * self.heads * length if self.attention_matrices else 0
        return int(4 * length * self.layers * (self.hidden_values * self.hidden + attention))


@dataclass(frozen=True)
class Budget:
    """What the planner may use.

    Attributes:
        passes: forward and backward passes per text (the integration steps; 1 for a prediction).
        memory_bytes: activations one pass may keep.
        threads: CPU threads (or the device's speed in CPU threads), which scale the fixed costs.
        max_buckets: length buckets one method call can run.
        batch_size: texts per group, when the user fixed it.
        rows_per_pass: rows per pass, when the user fixed it (``internal_batch_size``).
        alone: every text in a group of its own (sampling methods).
        whole_passes: every pass of a call holds a step of each of its texts (Captum
            does this; alibi cuts its flat list of path points into passes).
        path_copies: float32 copies of every point of its paths a call keeps until it ends (alibi keeps the
            points, their gradients and their sums; ``n_steps="auto"`` with ``return_attributions`` each
            point's per-dimension values, :data:`attribkit.pipeline.steps.KEPT_COPIES`; 0 when passes keep
            nothing between them, as Captum's).
            They share the memory budget with the passes: at most half of it, the passes get the rest.
    """

    passes: int
    memory_bytes: float
    threads: float = 1.0
    max_buckets: int = 1
    batch_size: Optional[int] = None
    rows_per_pass: Optional[int] = None
    alone: bool = False
    whole_passes: bool = True
    path_copies: float = 0.0


@dataclass(frozen=True)
class Group:
    """One method call.

    Attributes:
        items: indices of the planned sequences, longest first.
        bucket_lengths: per item, the length of its bucket (the group is padded to the first).
        rows_per_pass: rows (texts x steps) per forward and backward pass.
        max_rows: rows of the group's length whose forward and backward pass fit the memory budget (the
            most a method may run at once, perturbed copies of its texts for example).
    """

    items: Tuple[int, ...]
    bucket_lengths: Tuple[int, ...]
    rows_per_pass: int
    max_rows: int = 1

    @property
    def length(self) -> int:
        return self.bucket_lengths[0]


def rows_within(size: ModelSize, length: int, budget: Budget) -> int:
    """Rows of ``length`` tokens per pass: the user's ``rows_per_pass``, else as many as the memory allows."""
    if budget.rows_per_pass:
        return budget.rows_per_pass
    return max(1, int(budget.memory_bytes // size.activation_bytes(length)))


def rows_per_pass(size: ModelSize, length: int, n_texts: int, budget: Budget) -> int:
    """Rows per pass for ``n_texts`` texts of ``length`` tokens.

    With ``whole_passes`` every pass holds all texts with ``rows // n_texts``
    steps each, so never fewer than ``n_texts`` rows; when the steps need
    more than one pass they are spread evenly over the passes (50 steps in
    passes of 48 rows would leave a pass of 2). Otherwise at most the rows
    of all the paths.
    """
    rows = rows_within(size, length, budget)
    if not budget.whole_passes:
        return rows if budget.rows_per_pass else min(rows, n_texts * budget.passes)
    if budget.rows_per_pass:
        return max(rows, n_texts)
    if rows >= n_texts * budget.passes:
        return n_texts * budget.passes
    passes = -(-budget.passes // max(1, rows // n_texts))
    return n_texts * -(-budget.passes // passes)


def plan(lengths: Sequence[int], size: ModelSize, budget: Budget) -> List[Group]:
    """Group sequences of ``lengths`` tokens into method calls and length buckets.

    Sequences are taken longest first (input order on ties). The cost of a
    bucket of ``n`` sequences padded to ``L``: a fixed cost per pass
    (:data:`PASS_OVERHEAD_FLOPS` per layer and thread) plus ``passes x n x L``
    tokens of work; with ``whole_passes`` (a step of every text in each pass,
    as Captum does) a bucket holds at most as many sequences as one pass has
    rows. With ``max_buckets == 1`` each bucket is a call of its own and also
    pays :data:`CALL_OVERHEAD_FLOPS`; otherwise up to :data:`MAX_TEXTS_PER_GROUP`
    sequences (within :data:`PATH_MEMORY_BYTES`) share a call, split into at
    most ``max_buckets`` buckets. The cheapest split is found by dynamic programming.
    A call that keeps its paths (``path_copies``) keeps them within half the memory budget, and its passes
    get what they leave.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    if budget.alone:
        return [_group([i], lengths, size, budget) for i in order]
    if budget.batch_size:
        chunks = [order[s:s + budget.batch_size] for s in range(0, len(order), budget.batch_size)]
    else:
        chunks = _chunks(order, lengths, size, budget)
    groups = []
    for chunk in chunks:
        ordered = [lengths[i] for i in chunk]
        cost = _bucket_cost(ordered, size, budget)
        if budget.max_buckets == 1 and not budget.batch_size:
            for begin, end in _split(len(chunk), lambda b, e: cost(b, e) + _call_overhead(budget)):
                groups.append(_group(chunk[begin:end], lengths, size, budget))
        else:
            spans = _split(len(chunk), cost, limit=budget.max_buckets)
            groups.append(_group(chunk, lengths, size, budget, [(b, e) for b, e in spans]))
    return groups


def path_bytes(n_texts: int, length: int, size: ModelSize, budget: Budget) -> float:
    """Bytes of one copy of the path points of ``n_texts`` texts padded to ``length`` (float32)."""
    return 4.0 * budget.passes * n_texts * length * size.hidden


def passes_budget(budget: Budget, kept: float) -> Budget:
    """What the passes of a call may use when it keeps ``kept`` bytes of paths (``path_copies``)."""
    return dataclasses.replace(budget, memory_bytes=max(0.0, budget.memory_bytes - kept)) if kept else budget


def _call_overhead(budget: Budget) -> float:
    return CALL_OVERHEAD_FLOPS * budget.threads


def _chunks(order: List[int], lengths: Sequence[int], size: ModelSize, budget: Budget) -> List[List[int]]:
    """Consecutive runs of ``order`` within the hard limits of one call (texts, path memory; the paths a call
    keeps within half the memory budget)."""
    chunks: List[List[int]] = []
    for index in order:
        chunk = chunks[-1] if chunks else None
        points = path_bytes(len(chunk) + 1, lengths[chunk[0]], size, budget) if chunk else 0.0
        if chunk and len(chunk) < MAX_TEXTS_PER_GROUP and points <= PATH_MEMORY_BYTES and (
                budget.path_copies * points <= budget.memory_bytes / 2):
            chunk.append(index)
        else:
            chunks.append([index])
    return chunks


def _bucket_cost(ordered: List[int], size: ModelSize, budget: Budget) -> Callable[[int, int], float]:
    """``cost(begin, end)`` of the bucket ``ordered[begin:end]`` (lengths, longest first); with
    ``whole_passes`` a bucket has at most a pass's rows; the paths a call of it keeps (``path_copies``) leave
    its passes less memory."""
    flops = {length: size.token_flops(length) for length in set(ordered)}

    def cost(begin: int, end: int) -> float:
        n, length = end - begin, ordered[begin]
        kept = budget.path_copies * path_bytes(n, length, size, budget)
        rows = rows_within(size, length, passes_budget(budget, kept))
        if budget.whole_passes and n > rows:
            return math.inf
        passes = -(-budget.passes * n // rows)
        overhead = passes * PASS_OVERHEAD_FLOPS * size.layers * budget.threads
        return overhead + budget.passes * n * length * flops[length]

    return cost


def _split(n: int, cost: Callable[[int, int], float], limit: Optional[int] = None) -> List[Tuple[int, int]]:
    """The cheapest split of ``range(n)`` into consecutive ``(begin, end)`` spans (at most ``limit``)."""
    if limit is None:  # best[end]: the least cost of range(end)
        best, start = [0.0] + [math.inf] * n, [0] * (n + 1)
        for end in range(1, n + 1):
            for begin in range(end - 1, -1, -1):
                total = best[begin] + cost(begin, end)
                if total < best[end]:
                    best[end], start[end] = total, begin
        spans, end = [], n
        while end:
            spans.append((start[end], end))
            end = start[end]
        return spans[::-1]
    # table[k][end]: the least cost of range(end) in k spans
    table = [[0.0] + [math.inf] * n]
    starts = [[0] * (n + 1)]
    for k in range(1, limit + 1):
        table.append([math.inf] * (n + 1))
        starts.append([0] * (n + 1))
        for end in range(1, n + 1):
            for begin in range(k - 1, end):
                total = table[k - 1][begin] + cost(begin, end)
                if total < table[k][end]:
                    table[k][end], starts[k][end] = total, begin
    k = min(range(1, limit + 1), key=lambda j: table[j][n])
    spans, end = [], n
    while end:
        spans.append((starts[k][end], end))
        end, k = starts[k][end], k - 1
    return spans[::-1]


def _group(items: Sequence[int], lengths: Sequence[int], size: ModelSize, budget: Budget,
           spans: Optional[Sequence[Tuple[int, int]]] = None) -> Group:
    items = list(items)
    spans = spans or [(0, len(items))]
    bucket_lengths = [lengths[items[begin]] for begin, end in spans for _ in range(begin, end)]
    kept = budget.path_copies * sum(path_bytes(1, length, size, budget) for length in bucket_lengths)
    budget = passes_budget(budget, kept)
    rows = rows_per_pass(size, bucket_lengths[0], len(items), budget)
    return Group(tuple(items), tuple(bucket_lengths), rows, rows_within(size, bucket_lengths[0], budget))
