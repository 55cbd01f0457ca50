"""How texts are split into alibi calls and length buckets, and how many path points go to one pass
(estimates; numpy only).

On a CPU two things decide the time of Integrated Gradients on a
transformer: the padding (texts padded together cost as much as the longest,
and attention grows with the square of the length) and the size of each
forward/backward pass (passes whose activations no longer fit in the caches
run slower per row). Each alibi call has a fixed cost (its forward passes for
the layer's output, its convergence delta and its predictions, its
``tf.data`` pipeline), so texts share calls; inside a call, a model that
supports it (a Hugging Face model's compiled head) runs each pass in up to
``max_buckets`` length buckets, each cut to its longest text, at a small
fixed cost per bucket and pass. The constants were measured with
``benchmarks/bench_tf_vs_torch.py`` on a MiniLM-sized and a tiny BERT.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Mapping, Optional

#: Activations of one forward/backward pass, per CPU thread: with two threads on a
#: MiniLM-sized BERT (50 tokens) passes of 10-20 rows (100-200 MB) ran about 1970
#: tokens/s, passes of 80 rows (800 MB) 950 tokens/s.
CPU_MEMORY_BUDGET_BYTES = 128 * 2**20
#: Fixed cost of one more length bucket in one forward/backward pass, per layer and CPU thread, in
#: operations: about 1.7 ms per layer on a MiniLM-sized BERT, where TensorFlow ran about 6.5e10
#: operations per second and thread (the same figure as a Captum group's overhead).
BUCKET_OVERHEAD_FLOPS = 1e8
#: Most texts in one alibi call (bounds the bucket search, which is quadratic in the texts of a call).
MAX_TEXTS_PER_CALL = 64
#: alibi holds every point of every path of a call in memory (``n_steps x texts x
#: length x hidden`` float32, plus a copy); texts beyond this go to the next call.
PATH_MEMORY_BYTES = 256 * 2**20


@dataclass(frozen=True)
class ModelSize:
    """The sizes that set a model's cost per token.

    Attributes:
        layers: transformer layers (1 for a word model).
        hidden: size of the attributed layer's output per token.
        intermediate: feed-forward size of a layer.
        heads: attention heads (0 without attention).
    """

    layers: int
    hidden: int
    intermediate: int
    heads: int

    def token_flops(self, length: int) -> float:
        """Operations of one token's forward and backward pass, in a sequence of ``length`` tokens.

        Per layer about ``4 * hidden**2 + 2 * hidden * intermediate`` multiply-adds
        in the projections and ``2 * hidden * length`` in attention; a
        multiply-add is two operations and the backward pass costs twice the forward.
        """
        attention = 2 * self.hidden * length if self.heads else 0
        return 6.0 * self.layers * (4 * self.hidden ** 2 + 2 * self.hidden * self.intermediate + attention)

    def activation_bytes(self, length: int) -> int:
        """Activations one sequence of ``length`` tokens keeps for the backward pass (float32)."""
        return 2 * length * self.layers * (34 * self.hidden + 5 * self.heads * length)


def rows_per_pass(size: ModelSize, length: int, threads: int) -> int:
    """Path points (sequences of ``length`` tokens) per forward/backward pass within the memory budget."""
    return max(1, CPU_MEMORY_BUDGET_BYTES * threads // size.activation_bytes(length))


def group_texts(lengths: Mapping[int, int], size: ModelSize, n_steps: int, threads: int,
                batch_size: Optional[int] = None, max_buckets: int = 1) -> List[List[List[int]]]:
    """Split text indices into alibi calls, and each call into length buckets.

    Texts are taken longest first. A call holds ``batch_size`` texts when
    given, else as many as fit :data:`MAX_TEXTS_PER_CALL` and
    :data:`PATH_MEMORY_BYTES` of paths (alibi's fixed cost is paid per call,
    so calls are split only for memory). Inside a call, the consecutive
    buckets (at most ``max_buckets``) of least estimated work: per bucket, a
    fixed cost per pass (:data:`BUCKET_OVERHEAD_FLOPS`) plus the operations
    of every padded token of its texts (by dynamic programming).

    Args:
        lengths: ``{text index: number of tokens}``.

    Returns:
        per call, its buckets of text indices; a bucket is padded to the
        length of its first text, a call to the length of its first bucket.
    """
    order = sorted(lengths, key=lambda i: -lengths[i])
    calls: List[List[int]] = []
    for index in order:
        call = calls[-1] if calls else None
        if call and (len(call) < batch_size if batch_size else
                     len(call) < MAX_TEXTS_PER_CALL
                     and n_steps * (len(call) + 1) * lengths[call[0]] * size.hidden * 4 <= PATH_MEMORY_BYTES):
            call.append(index)
        else:
            calls.append([index])
    return [_buckets([lengths[i] for i in call], call, size, n_steps, threads, max_buckets) for call in calls]


def _buckets(lengths: List[int], call: List[int], size: ModelSize, n_steps: int, threads: int,
             max_buckets: int) -> List[List[int]]:
    """The cheapest split of ``call`` (texts longest first, ``lengths``) into at most ``max_buckets`` buckets."""
    n = len(call)
    passes = -(-n_steps * n // rows_per_pass(size, lengths[0], threads))
    overhead = passes * BUCKET_OVERHEAD_FLOPS * size.layers * threads

    def work(begin: int, end: int) -> float:
        return overhead + n_steps * (end - begin) * lengths[begin] * size.token_flops(lengths[begin])

    # best[k][end]: least cost of call[:end] in k buckets; start[k][end]: where its last bucket starts
    best = [[0.0] + [float("inf")] * n]
    start = [[0] * (n + 1)]
    for k in range(1, max(1, max_buckets) + 1):
        best.append([float("inf")] * (n + 1))
        start.append([0] * (n + 1))
        for end in range(1, n + 1):
            for begin in range(k - 1, end):
                cost = best[k - 1][begin] + work(begin, end)
                if cost < best[k][end]:
                    best[k][end], start[k][end] = cost, begin
    k = min(range(1, len(best)), key=lambda j: best[j][n])
    buckets, end = [], n
    while end:
        buckets.append(call[start[k][end]:end])
        end, k = start[k][end], k - 1
    return buckets[::-1]
