"""How many texts go to one alibi call, and how many path points to one pass (estimates; numpy only).

On a CPU two things decide the time of Integrated Gradients on a
transformer: the padding (texts padded together cost as much as the longest,
and attention grows with the square of the length) and the size of each
forward/backward pass (passes whose activations no longer fit in the caches
run slower per row). Against that, each alibi call has a fixed cost (its
forward passes for the layer's output, its convergence delta and its
predictions, and Python). The constants were measured with
``benchmarks/bench_tf_vs_torch.py`` on a MiniLM-sized and a tiny BERT.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Mapping, Optional

#: Activations of one forward/backward pass, per CPU thread: with two threads on a
#: MiniLM-sized BERT (50 tokens) passes of 10-20 rows (100-200 MB) ran about 1970
#: tokens/s, passes of 80 rows (800 MB) 950 tokens/s.
CPU_MEMORY_BUDGET_BYTES = 128 * 2**20
#: Operations per second and thread of TensorFlow's forward and backward passes (about
#: 6.5e10 measured on MiniLM with passes within the budget).
FLOPS_PER_SECOND_PER_THREAD = 6e10
#: Fixed cost of one alibi call with the compiled model (about 50-70 ms measured on a tiny BERT).
CALL_OVERHEAD_SECONDS = 0.05
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
                batch_size: Optional[int] = None) -> List[List[int]]:
    """Split text indices into alibi calls.

    Texts are taken longest first. With ``batch_size``, consecutive groups of
    that many texts; otherwise the consecutive groups of least estimated
    time (fixed cost per call plus the work of every padded token, by
    dynamic programming), each within :data:`PATH_MEMORY_BYTES` of paths.

    Args:
        lengths: ``{text index: number of tokens}``.

    Returns:
        groups of text indices, each padded to the length of its first text.
    """
    order = sorted(lengths, key=lambda i: -lengths[i])
    if batch_size:
        return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    speed = FLOPS_PER_SECOND_PER_THREAD * threads
    best = [0.0] + [float("inf")] * len(order)  # best[end]: time of order[:end] in the best grouping
    start = [0] * (len(order) + 1)
    for end in range(1, len(order) + 1):
        for begin in range(end - 1, -1, -1):
            texts, longest = end - begin, lengths[order[begin]]
            if texts > 1 and n_steps * texts * longest * size.hidden * 4 > PATH_MEMORY_BYTES:
                break
            cost = best[begin] + CALL_OVERHEAD_SECONDS + n_steps * texts * longest * size.token_flops(longest) / speed
            if cost < best[end]:
                best[end], start[end] = cost, begin
    groups = []
    end = len(order)
    while end:
        groups.append(order[start[end]:end])
        end = start[end]
    return groups[::-1]
