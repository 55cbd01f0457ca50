"""The batch a torch method function receives (:class:`TorchTask`)."""
from __future__ import annotations

import contextlib
import dataclasses
import random
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attribkit.backends.torch._methods import MethodResult


@dataclass
class TorchTask:
    """``B`` texts padded (on the right) to ``L`` tokens, ready for Captum.

    Attributes:
        forward: ``nn.Module``; ``forward(input_ids, attention_mask)`` returns
            the explained values, shape ``(B, n_classes)``: probabilities or
            logits as the user asked, one column per class, so Captum's
            ``target`` is a class index.
        embedding_forward: ``nn.Module``; ``embedding_forward(embeddings,
            input_ids, attention_mask)`` is ``forward`` with the layer's output
            replaced by ``embeddings`` (``(B, L, d)``).
        layer: the attributed module (for Captum's ``Layer*`` classes).
        input_ids: ``(B, L)`` int64 token ids, padding on the right.
        attention_mask: ``(B, L)`` int64, 1 for real tokens.
        lengths: the ``B`` unpadded lengths.
        baseline_ids: ``(B, L)`` int64 baseline token ids, or ``None`` when the
            baseline is given as vectors (``baseline="zero"`` or a tensor).
        embeddings: ``(B, L, d)`` the layer's output for the input (detached).
        baseline_embeddings: ``(B, L, d)`` the layer's output for the baseline;
            equal to ``embeddings`` at padded positions.
        targets: ``B`` class indices (columns of ``forward``'s output).
        outputs: ``(B, n_classes)`` ``forward``'s values at the input (detached),
            or ``None``.
        baseline_outputs: ``(B, n_classes)`` the same at the baseline, or ``None``.
        n_steps: integration steps requested by the user.
        internal_batch_size: rows (texts x steps or perturbations) per forward pass.
        seed: the seed of a sampling method, else ``None``.
        options: the method's own options (those it declared with ``takes_options``).
    """

    forward: nn.Module
    embedding_forward: nn.Module
    layer: nn.Module
    input_ids: Tensor
    attention_mask: Tensor
    lengths: List[int]
    baseline_ids: Optional[Tensor]
    embeddings: Tensor
    baseline_embeddings: Tensor
    targets: List[int]
    n_steps: int
    internal_batch_size: int
    seed: Optional[int] = None
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    outputs: Optional[Tensor] = None
    baseline_outputs: Optional[Tensor] = None

    @property
    def batch(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def embedding_args(self) -> tuple:
        """``additional_forward_args`` for Captum calls on ``embedding_forward``."""
        return (self.input_ids, self.attention_mask)

    @property
    def perturbations_per_eval(self) -> int:
        """Perturbed copies of the batch per forward pass, within the memory budget."""
        return max(1, self.internal_batch_size // self.batch)

    def output_differences(self) -> Tensor:
        """``(B,)`` ``F(x) - F(baseline)`` of each text's target, from ``outputs`` and ``baseline_outputs``."""
        rows = torch.arange(self.batch, device=self.outputs.device)
        targets = torch.tensor(self.targets, device=self.outputs.device)
        return self.outputs[rows, targets] - self.baseline_outputs[rows, targets]

    def convergence_delta(self, attributions: Tensor) -> Tensor:
        """``(B,)`` Captum's convergence delta of ``(B, L, d)`` attributions: their sum minus ``F(x) - F(baseline)``.

        The same figure as Captum's ``return_convergence_delta=True``, without
        the two forward passes Captum spends on it: the outputs are known.
        """
        total = attributions.detach().reshape(self.batch, -1).sum(dim=1)
        return total - self.output_differences().to(total.dtype)

    def token_mask(self) -> Tensor:
        """``(B, L, d)`` int64 feature groups: every hidden unit of token ``i`` is feature ``i``."""
        positions = torch.arange(self.input_ids.shape[1], device=self.input_ids.device)
        return positions.view(1, -1, 1).expand_as(self.embeddings).contiguous()

    def from_baseline(self, layer_method: Callable[..., Any], embedding_method: Callable[..., Any],
                      **kwargs: Any) -> Any:
        """Run a Captum method that needs a baseline, on the layer.

        With token-id baselines: ``layer_method(forward, layer).attribute(input_ids,
        baselines=baseline_ids, ...)``, Captum's layer attribution exactly as
        the Captum BERT tutorial calls it. With vector baselines: ``embedding_method(
        embedding_forward).attribute(embeddings, baselines=baseline_embeddings,
        ...)``, the same computation with the baseline given at the layer.
        Returns what ``attribute`` returns; attributions have shape ``(B, L, d)``.
        """
        if self.baseline_ids is not None:
            return layer_method(self.forward, self.layer).attribute(
                self.input_ids, baselines=self.baseline_ids,
                additional_forward_args=(self.attention_mask,), **kwargs)
        return self.at_layer(embedding_method, **kwargs)

    def at_layer(self, embedding_method: Callable[..., Any], **kwargs: Any) -> Any:
        """Run a Captum input-attribution method on the layer's output, from the baseline's.

        ``embedding_method(embedding_forward).attribute(embeddings,
        baselines=baseline_embeddings, ...)``. With ``IntegratedGradients`` this
        is the computation of Captum's ``LayerIntegratedGradients`` on ``layer``
        (which also replaces the layer's output by the interpolated one),
        without the two forward passes it spends on the layer's outputs at the
        input and the baseline: the task already holds them, whatever the
        baseline's kind. Returns what ``attribute`` returns.
        """
        return embedding_method(self.embedding_forward).attribute(
            self.embeddings.clone().requires_grad_(), baselines=self.baseline_embeddings,
            additional_forward_args=self.embedding_args, **kwargs)

    def text(self, index: int) -> "TorchTask":
        """The task of text ``index`` alone (``B = 1``), cut to its own length."""
        n = self.lengths[index]
        rows = slice(index, index + 1)

        def cut(tensor: Optional[Tensor]) -> Optional[Tensor]:
            return None if tensor is None else tensor[rows, :n]

        return dataclasses.replace(
            self, input_ids=cut(self.input_ids), attention_mask=cut(self.attention_mask), lengths=[n],
            baseline_ids=cut(self.baseline_ids), embeddings=cut(self.embeddings),
            baseline_embeddings=cut(self.baseline_embeddings), targets=[self.targets[index]],
            outputs=None if self.outputs is None else self.outputs[rows],
            baseline_outputs=None if self.baseline_outputs is None else self.baseline_outputs[rows],
        )

    def each_text(self, function: Callable[["TorchTask"], MethodResult]) -> MethodResult:
        """Call ``function`` on each text alone and stack the results to ``(B, L, ...)``.

        Each call starts from torch's RNG seeded with ``seed`` (when set), so a
        text's result does not depend on the other texts of the batch. The
        global RNG state is restored afterwards.
        """
        results = []
        for index in range(self.batch):
            with seeded(self.seed, self.input_ids.device):
                results.append(function(self.text(index)))
        return stack_results(results, self.input_ids.shape[1])


@contextlib.contextmanager
def seeded(seed: Optional[int], device: torch.device) -> Iterator[None]:
    """Seed torch's, numpy's and Python's RNGs inside the block; restore their states after it.

    Captum draws from all three (GradientShap uses numpy's global RNG).
    """
    if seed is None:
        yield
        return
    numpy_state, python_state = np.random.get_state(), random.getstate()
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(numpy_state)
            random.setstate(python_state)


def _pad(tensor: Optional[Tensor], length: int) -> Optional[Tensor]:
    """Zero-pad dimension 1 of ``tensor`` (``(1, n, ...)``) to ``length``."""
    if tensor is None:
        return None
    missing = length - tensor.shape[1]
    padding = [0, 0] * (tensor.dim() - 2) + [0, missing]
    return F.pad(tensor, padding)


def stack_results(results: List[MethodResult], length: int) -> MethodResult:
    """Stack single-text results (each ``(1, n_i, ...)``) into one ``(B, length, ...)`` result."""
    def stack(name: str) -> Optional[Tensor]:
        parts = [getattr(result, name) for result in results]
        if any(part is None for part in parts):
            return None
        if name == "delta":
            return torch.cat([part.reshape(-1) for part in parts])
        return torch.cat([_pad(part.detach(), length) for part in parts])

    params: Dict[str, Any] = dict(results[0].params)
    return MethodResult(attributions=stack("attributions"), scores=stack("scores"), delta=stack("delta"),
                        params=params, completeness=results[0].completeness)
