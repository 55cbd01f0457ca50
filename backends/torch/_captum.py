"""The torch backend: explains PyTorch text classifiers with Captum.

One call runs in four stages: tokenise every text (or cut it into windows),
predict every sequence in padded blocks sorted by length (keeping the
layer's outputs), resolve each text's target, then attribute each block's
sequences in padded groups and turn the results into
:class:`~attribkit.types.Explanation` objects. A failure that concerns one
text is returned in that text's place.

The forward passes that do not depend on the integration steps (the
prediction, the layer's outputs at the input and at the baseline) run once
per block, however many groups the block is cut into. Groups are what the
steps multiply: on a CPU, where padding costs as much arithmetic as real
tokens, they are formed to minimise the estimated cost (padding against a
fixed overhead per group), and each pass is kept small enough to run fast
(see ``CPU_GROUP_OVERHEAD_FLOPS`` and ``CPU_MEMORY_BUDGET_MB``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from attribkit.backend import Backend, ExplainRequest, ItemResult, MethodSpec
from attribkit.backends.torch import _windows
from attribkit.backends.torch._methods import MethodResult
from attribkit.backends.torch._model import (
    EmbeddingForward, ExplainedOutput, ModelAdapter, explained_outputs, max_positions, rows_per_pass, token_flops,
    word_embedding,
)
from attribkit.backends.torch._task import TorchTask
from attribkit.errors import AttribkitError, InputError, ModelError
from attribkit.tokenize import (
    Encoding, check_vocabulary, encode, label_names, max_length_of, pad_baseline, probabilities, resolve_target,
)
from attribkit.types import Explanation, Method, ModelInfo, Prediction, Target

#: Options the backend itself reads; anything else must be declared by the method.
BACKEND_OPTIONS = ("forward", "model_returns", "labels", "return_attributions", "internal_batch_size",
                   "memory_budget_mb", "sliding_window", "stride", "seed")
#: Activations per forward and backward pass on a GPU (``memory_budget_mb``'s default there).
DEFAULT_MEMORY_BUDGET_MB = 512
#: ``memory_budget_mb``'s default on a CPU, per torch thread. There memory is plentiful but a larger
#: pass runs slower per row (its activations no longer fit the caches): with one thread on a 4-layer
#: BERT, passes estimated at 50-180 MB ran 20-35% faster per row than passes of 290-710 MB.
CPU_MEMORY_BUDGET_MB = 128
#: Most sequences padded together in one batch when ``batch_size`` is not given.
MAX_TEXTS_PER_BATCH = 64
#: Most bytes of layer outputs kept from the prediction pass for the attribution stage; blocks
#: beyond it run their forward pass again.
KEEP_LAYER_OUTPUTS_MB = 256
#: Largest share of padding tokens in an automatic batch on a GPU.
MAX_PADDING = 0.25
#: On a CPU, the fixed cost of one group (Captum's set-up and the Python overhead of one more pass,
#: about 1.5 ms per layer), as floating-point operations per layer and torch thread at about 60 GFLOP/s
#: per thread; measured with one thread on a 4-layer BERT (benchmarks/bench_torch_batch.py), where
#: groupings made with 0.5-2.5 times this value ran within the noise of each other.
CPU_GROUP_OVERHEAD_FLOPS = 1e8
TRAINING_MODE_WARNING = (
    "the model was in training mode (dropout active); attribkit explained it in eval mode and "
    "restored training mode afterwards"
)


@dataclass(frozen=True)
class Options:
    """The backend's options, validated, and the method's own options."""

    forward: Any = None
    model_returns: Optional[str] = None
    labels: Optional[Sequence[str]] = None
    return_attributions: bool = False
    internal_batch_size: Optional[int] = None
    memory_budget_mb: Optional[float] = None  # None: the device's default
    sliding_window: bool = False
    stride: Optional[int] = None
    seed: Optional[int] = None
    method: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def parse(cls, options: Mapping[str, Any], spec: MethodSpec) -> "Options":
        """Validate ``options``; the method's own are those it declared with ``takes_options``."""
        method_names = tuple(getattr(spec.function, "options", ()))
        unknown = sorted(set(options) - set(BACKEND_OPTIONS) - set(method_names))
        if unknown:
            raise InputError(
                f"unknown option(s) {unknown} for method {spec.name!r}; the torch backend takes "
                f"{list(BACKEND_OPTIONS)} and this method takes {list(method_names) or 'no other options'}"
            )
        _check_int(options, "internal_batch_size", 1)
        _check_int(options, "stride", 1)
        _check_int(options, "seed", 0, 2**32 - 1)
        if options.get("stride") is not None and not options.get("sliding_window"):
            raise InputError("stride applies to sliding windows only; pass sliding_window=True with it")
        budget = options.get("memory_budget_mb")
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0):
            raise InputError(f"memory_budget_mb must be a positive number (or None), got {budget!r}")
        backend = {name: options[name] for name in BACKEND_OPTIONS if name in options}
        backend.update(memory_budget_mb=None if budget is None else float(budget),
                       return_attributions=bool(options.get("return_attributions")),
                       sliding_window=bool(options.get("sliding_window")))
        return cls(**backend, method={name: options[name] for name in method_names if name in options})


def _check_int(options: Mapping[str, Any], name: str, low: int, high: Optional[int] = None) -> None:
    value = options.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise InputError(f"{name} must be an integer {bounds} (or None), got {value!r}")


BASELINE_KINDS = "'pad', 'zero', a token id, a sequence of ids or an embedding tensor"


@dataclass(frozen=True)
class Baseline:
    """The user's ``baseline``, resolved.

    ``kind`` is ``"pad"``, ``"token"`` (one id for every non-special token),
    ``"ids"`` (a full sequence of ids), ``"zero"`` or ``"vector"`` (embeddings
    of shape ``(d,)`` or ``(n, d)``).
    """

    kind: str
    value: Any = None

    @classmethod
    def parse(cls, baseline: Any) -> "Baseline":
        if isinstance(baseline, bool) or (isinstance(baseline, str) and baseline not in ("pad", "zero")):
            raise InputError(f"baseline must be {BASELINE_KINDS}; got {baseline!r}")
        if isinstance(baseline, str):
            return cls(baseline)
        if isinstance(baseline, (int, np.integer)):
            return cls("token", int(baseline))
        try:
            tensor = torch.as_tensor(baseline).detach()
        except (TypeError, ValueError, RuntimeError):
            raise InputError(f"baseline must be {BASELINE_KINDS}; got a {type(baseline).__name__}") from None
        if tensor.is_floating_point():
            if tensor.dim() not in (1, 2):
                raise InputError(
                    f"an embedding baseline must have shape (d,) or (n_tokens, d), got {tuple(tensor.shape)}")
            return cls("vector", tensor)
        if tensor.dim() != 1:
            raise InputError(f"an id baseline must be one sequence of token ids, got shape {tuple(tensor.shape)}")
        return cls("ids", tensor.long())

    @property
    def uses_ids(self) -> bool:
        return self.kind in ("pad", "token", "ids")

    def describe(self) -> str:
        return {"token": f"token {self.value}", "vector": "embeddings"}.get(self.kind, self.kind)

    def ids_for(self, encoding: Encoding, pad_id: Optional[int]) -> Optional[np.ndarray]:
        """Baseline ids of shape ``(n,)`` for one sequence, or ``None`` for a vector baseline."""
        if self.kind == "pad":
            return pad_baseline(encoding.input_ids, encoding.special_mask, pad_id)
        if self.kind == "token":
            return pad_baseline(encoding.input_ids, encoding.special_mask, self.value)
        if self.kind == "ids":
            ids = self.value.cpu().numpy()
            if ids.shape != encoding.input_ids.shape:
                raise InputError(
                    f"the baseline has {ids.shape[0]} ids but the text has {len(encoding.input_ids)} tokens")
            return ids
        if self.kind == "vector" and self.value.dim() == 2 and self.value.shape[0] != len(encoding.input_ids):
            raise InputError(f"the embedding baseline has {self.value.shape[0]} rows but the text has "
                             f"{len(encoding.input_ids)} tokens")
        return None


@dataclass
class Piece:
    """One sequence to attribute: a whole text or one window of a long text."""

    item: int
    encoding: Encoding
    raw: Optional[np.ndarray] = None  # (n_outputs,) model output
    scores: Optional[np.ndarray] = None  # (n,)
    attributions: Optional[np.ndarray] = None  # (n, d)
    delta: Optional[float] = None
    output_difference: Optional[float] = None
    completeness_gap: Optional[float] = None
    params: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class Block:
    """Pieces predicted in one padded forward pass (``B`` rows, ``L`` tokens).

    ``raw`` ``(B, n_outputs)`` and ``embeddings`` ``(B, L, d)`` are the model's
    outputs and the layer's outputs, or ``None`` when not kept
    (``KEEP_LAYER_OUTPUTS_MB``).
    """

    pieces: List[Piece]
    raw: Optional[Tensor] = None
    embeddings: Optional[Tensor] = None


@dataclass
class Inputs:
    """One block's padded tensors for attribution: inputs, baselines, layer outputs, explained outputs."""

    ids: Tensor  # (B, L)
    mask: Tensor  # (B, L)
    baseline_ids: Optional[Tensor]  # (B, L), None for a vector baseline
    embeddings: Tensor  # (B, L, d)
    baseline_embeddings: Tensor  # (B, L, d)
    outputs: Tensor  # (B, n_classes)
    baseline_outputs: Tensor  # (B, n_classes)


@dataclass
class Item:
    """One text: its encoding (or window plan), its pieces and, once known, its target or error."""

    text: str
    encoding: Optional[Encoding] = None
    plan: Optional[_windows.WindowPlan] = None
    pieces: List[Piece] = dataclasses.field(default_factory=list)
    error: Optional[AttribkitError] = None
    target: Optional[Target] = None
    probabilities: Optional[np.ndarray] = None


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[bool]:
    """Put ``model`` in eval mode inside the block; restore every module's mode after it.

    Yields whether any module was in training mode.
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield any(training for _, training in modes)
    finally:
        for module, training in modes:
            module.training = training


class TorchBackend(Backend):
    """Explains ``torch.nn.Module`` text classifiers with Captum (see ``docs/backend-torch.md``)."""

    name = "torch"
    framework = "torch"

    def explain(self, model: Any, tokenizer: Any, texts: Sequence[str], request: ExplainRequest) -> List[ItemResult]:
        if not isinstance(model, nn.Module):
            raise ModelError(f"the torch backend explains torch.nn.Module models, got {type(model).__name__}")
        options = Options.parse(request.options, request.method)
        adapter = ModelAdapter.build(model, request.layer, options.forward, options.model_returns)
        with eval_mode(model) as was_training:
            results = Run(adapter, tokenizer, request, options).explain(texts)
        if was_training:
            results = [dataclasses.replace(r, warnings=r.warnings + (TRAINING_MODE_WARNING,))
                       if isinstance(r, Explanation) else r for r in results]
        return results

    def load(self, name_or_path: str, **kwargs: Any) -> Tuple[Any, Any]:
        """``AutoModelForSequenceClassification`` and ``AutoTokenizer`` from a local path or the hub.

        A hub name that is not cached while the hub cannot be reached fails at
        once (:func:`attribkit.hub.check_loadable`); a cached one is read
        without touching the network.
        """
        from attribkit.hub import check_loadable

        if check_loadable(name_or_path):  # before importing transformers: an unreachable hub fails in seconds
            kwargs.setdefault("local_files_only", True)
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if os.path.isdir(name_or_path) and any(name.endswith(".safetensors") for name in os.listdir(name_or_path)):
            kwargs.setdefault("use_safetensors", True)
        try:
            model = AutoModelForSequenceClassification.from_pretrained(name_or_path, **kwargs)
            tokenizer = AutoTokenizer.from_pretrained(
                name_or_path, local_files_only=kwargs.get("local_files_only", False))
        except OSError as exc:
            raise InputError(f"could not load {name_or_path!r}: {exc}") from exc
        return model.eval(), tokenizer


class Run:
    """The state of one ``explain`` call."""

    def __init__(self, adapter: ModelAdapter, tokenizer: Any, request: ExplainRequest, options: Options):
        self.adapter = adapter
        self.tokenizer = tokenizer
        self.request = request
        self.options = options
        self.baseline = Baseline.parse(request.baseline)
        self.explained = ExplainedOutput(adapter, request.output)
        self.embedding_forward = EmbeddingForward(self.explained)
        self.max_length = max_length_of(tokenizer, max_positions(adapter.model))
        self.seed = self.sampling_seed()
        self.labels: Tuple[str, ...] = ()
        self.on_cpu = adapter.device.type == "cpu"
        self.budget_mb = options.memory_budget_mb or (
            CPU_MEMORY_BUDGET_MB * torch.get_num_threads() if self.on_cpu else DEFAULT_MEMORY_BUDGET_MB)
        self.flops: Dict[int, float] = {}
        self.blocks: List[Block] = []

    # -- the four stages -------------------------------------------------------
    def explain(self, texts: Sequence[str]) -> List[ItemResult]:
        """One :class:`Explanation` or per-text error for each text, in order."""
        items = [self.tokenise(index, text) for index, text in enumerate(texts)]
        embedding = word_embedding(self.adapter.model)
        check_vocabulary(self.tokenizer, embedding.num_embeddings if embedding is not None else None)
        self.predict(items)
        for index, item in enumerate(items):
            self.choose_target(item, self.request.targets[index])
        self.attribute(items)
        return [item.error if item.error is not None else self.explanation(index, item)
                for index, item in enumerate(items)]

    def tokenise(self, index: int, text: str) -> Item:
        """Encode text ``index`` (truncated, or cut into windows with ``sliding_window``)."""
        item = Item(text)
        full = encode(self.tokenizer, text) if self.options.sliding_window and self.max_length else None
        if full is not None and len(full.input_ids) > self.max_length:
            item.encoding = full
            item.plan = _windows.plan(full, self.max_length, self.options.stride)
            item.pieces = [Piece(index, window) for window in _windows.window_encodings(full, item.plan)]
        else:
            item.encoding = full or encode(self.tokenizer, text, max_length=self.max_length)
            item.pieces = [Piece(index, item.encoding)]
        try:
            for piece in item.pieces:
                self.baseline.ids_for(piece.encoding, self.tokenizer.pad_token_id)
        except InputError as exc:
            item.error = exc
        return item

    def predict(self, items: List[Item]) -> None:
        """Fill ``piece.raw`` for every piece, in padded blocks; keep the layer's outputs for attribution."""
        pieces = [piece for item in items if item.error is None for piece in item.pieces]
        kept = 0.0
        for chunk in self.batches(pieces, passes=1):
            ids, mask = self.pad([piece.encoding.input_ids for piece in chunk])
            with torch.no_grad():
                raw, embeddings = self.adapter.layer_output(ids, mask)
            for piece, row in zip(chunk, raw.double().cpu().numpy()):
                piece.raw = row
            kept += embeddings.numel() * embeddings.element_size() / 2**20
            keep = kept <= KEEP_LAYER_OUTPUTS_MB
            self.blocks.append(Block(chunk, raw if keep else None, embeddings.detach() if keep else None))
        n_outputs = next((piece.raw.shape[0] for piece in pieces), 1)
        config = getattr(self.adapter.model, "config", None)
        self.labels = label_names(getattr(config, "id2label", None), n_outputs, self.options.labels)

    def choose_target(self, item: Item, requested: Any) -> None:
        """Resolve the text's target from its (window-averaged) prediction; errors stay with the item."""
        if item.error is not None:
            return
        already = self.adapter.returns_probabilities
        try:
            item.probabilities = np.mean([probabilities(piece.raw, already_probabilities=already)
                                          for piece in item.pieces], axis=0)
            item.target = resolve_target(requested, self.labels, int(np.argmax(item.probabilities)))
        except AttribkitError as exc:
            item.error = exc

    def attribute(self, items: List[Item]) -> None:
        """Run the method on every piece of every text still in play, block by block, in padded groups."""
        # A sampling method runs on each text alone (cut to its length); others on the padded group.
        passes = 1 if self.request.method.sampling else self.request.n_steps
        for block in self.blocks:
            pieces = [piece for piece in block.pieces if items[piece.item].error is None]
            if not pieces:
                continue
            inputs = self.block_inputs(block)
            rows = {id(piece): row for row, piece in enumerate(block.pieces)}
            for chunk in self.batches(pieces, passes):
                targets = [items[piece.item].target.index for piece in chunk]
                task = self.task(chunk, [rows[id(piece)] for piece in chunk], inputs, targets)
                result = self.run_method(task)
                self.collect(chunk, task, result, items)

    # -- batches and tasks -------------------------------------------------------
    def batches(self, pieces: List[Piece], passes: int) -> Iterator[List[Piece]]:
        """Pieces sorted by length (longest first; input order on ties), in groups padded together.

        ``passes``: how many times the method runs each row (the integration
        steps; 1 for the prediction blocks). With ``batch_size`` given, groups
        have that many pieces. Otherwise a
        group holds at most as many pieces as one pass has rows (and at most
        ``MAX_TEXTS_PER_BATCH``), and:

        - on a CPU, the grouping minimises the estimated cost: per group, a
          fixed overhead (``CPU_GROUP_OVERHEAD_FLOPS`` per torch thread) plus
          ``passes`` times the operations of every padded row. Padding
          costs as much as real tokens there, so texts are grouped only with
          texts of (nearly) their own length;
        - on other devices, a piece joins the group while padding stays under
          ``MAX_PADDING`` of the group's tokens.
        """
        ordered = sorted(pieces, key=lambda piece: -len(piece.encoding.input_ids))
        if self.request.batch_size:
            size = self.request.batch_size
            yield from (ordered[start:start + size] for start in range(0, len(ordered), size))
        elif self.on_cpu:
            yield from self.cheapest_groups(ordered, passes)
        else:
            yield from self.padded_groups(ordered)

    def cheapest_groups(self, ordered: List[Piece], passes: int) -> Iterator[List[Piece]]:
        """Consecutive groups of ``ordered`` (longest first) of least estimated cost (dynamic programming)."""
        lengths = [len(piece.encoding.input_ids) for piece in ordered]
        overhead = CPU_GROUP_OVERHEAD_FLOPS * torch.get_num_threads()
        best = [0.0] + [float("inf")] * len(ordered)  # best[end]: cost of grouping ordered[:end]
        start = [0] * (len(ordered) + 1)
        for end in range(1, len(ordered) + 1):
            for begin in range(end - 1, -1, -1):
                size, longest = end - begin, lengths[begin]
                if size > min(MAX_TEXTS_PER_BATCH, self.rows(longest)):
                    break
                cost = best[begin] + overhead + passes * size * longest * self.token_flops(longest)
                if cost < best[end]:
                    best[end], start[end] = cost, begin
        groups = []
        end = len(ordered)
        while end:
            groups.append(ordered[start[end]:end])
            end = start[end]
        yield from reversed(groups)

    def padded_groups(self, ordered: List[Piece]) -> Iterator[List[Piece]]:
        """Groups of ``ordered`` (longest first) with padding under ``MAX_PADDING`` of their tokens."""
        group: List[Piece] = []
        tokens = 0
        for piece in ordered:
            length = len(piece.encoding.input_ids)
            if group and not self.fits(group, tokens + length):
                yield group
                group, tokens = [], 0
            group.append(piece)
            tokens += length
        if group:
            yield group

    def fits(self, group: List[Piece], tokens: int) -> bool:
        """Whether one more piece, making ``tokens`` real tokens, may join ``group``."""
        longest = len(group[0].encoding.input_ids)
        size = len(group) + 1
        return size <= min(MAX_TEXTS_PER_BATCH, self.rows(longest)) and size * longest <= (1 + MAX_PADDING) * tokens

    def token_flops(self, length: int) -> float:
        """Operations of one token's forward and backward pass through one layer, in a sequence of ``length``."""
        if length not in self.flops:
            self.flops[length] = token_flops(self.adapter.model, length)
        return self.flops[length]

    def rows(self, length: int) -> int:
        """Rows (sequences of ``length`` tokens) per forward and backward pass."""
        return self.options.internal_batch_size or rows_per_pass(self.adapter.model, length, self.budget_mb)

    def internal_batch_size(self, length: int, size: int) -> int:
        """Rows per pass for ``size`` sequences of ``length`` tokens (never fewer than ``size``).

        The user's ``internal_batch_size``, else the budget's. Captum puts all
        ``size`` sequences in every pass, with ``rows // size`` integration
        steps each; when the steps need more than one pass they are spread
        evenly over the passes (50 steps in passes of 48 rows would leave a
        pass of 2).
        """
        rows = self.rows(length)
        n_steps = self.request.n_steps
        if self.options.internal_batch_size or rows >= size * n_steps:
            return max(rows, size)
        passes = -(-n_steps // max(1, rows // size))
        return size * -(-n_steps // passes)

    def pad(self, sequences: Sequence[np.ndarray]) -> Tuple[Tensor, Tensor]:
        """``(ids (B, L), attention_mask (B, L))`` on the model's device, padded on the right.

        Padding uses the pad token (0 without one); the mask hides it either way.
        """
        length = max(len(sequence) for sequence in sequences)
        ids = np.full((len(sequences), length), self.tokenizer.pad_token_id or 0, dtype=np.int64)
        mask = np.zeros((len(sequences), length), dtype=np.int64)
        for row, sequence in enumerate(sequences):
            ids[row, :len(sequence)] = sequence
            mask[row, :len(sequence)] = 1
        device = self.adapter.device
        return torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)

    def block_inputs(self, block: Block) -> Inputs:
        """The padded inputs, baselines, layer outputs and explained outputs of a block (two forward passes at most)."""
        ids, mask = self.pad([piece.encoding.input_ids for piece in block.pieces])
        pad_id = self.tokenizer.pad_token_id
        with torch.no_grad():
            if block.embeddings is None:
                raw, embeddings = self.adapter.layer_output(ids, mask)
            else:
                raw, embeddings = block.raw, block.embeddings
            if self.baseline.uses_ids:
                baseline_ids, _ = self.pad([self.baseline.ids_for(piece.encoding, pad_id) for piece in block.pieces])
                baseline_raw, baseline_embeddings = self.adapter.layer_output(baseline_ids, mask)
                baseline_outputs = self.explained_outputs(baseline_raw)
            else:
                baseline_ids = None
                baseline_embeddings = self.vector_baseline(embeddings, mask)
                baseline_outputs = self.embedding_forward(baseline_embeddings, ids, mask)
        return Inputs(ids, mask, baseline_ids, embeddings.detach(), baseline_embeddings.detach(),
                      self.explained_outputs(raw).detach(), baseline_outputs.detach())

    def task(self, chunk: List[Piece], rows: List[int], inputs: Inputs, targets: List[int]) -> TorchTask:
        """The :class:`TorchTask` of a group: rows ``rows`` of its block's inputs, cut to the group's longest."""
        lengths = [len(piece.encoding.input_ids) for piece in chunk]
        index = torch.tensor(rows, device=inputs.ids.device)
        columns = max(lengths)

        def cut(tensor: Optional[Tensor]) -> Optional[Tensor]:
            return None if tensor is None else tensor[index, :columns]

        return TorchTask(
            forward=self.explained, embedding_forward=self.embedding_forward, layer=self.adapter.layer,
            input_ids=cut(inputs.ids), attention_mask=cut(inputs.mask), lengths=lengths,
            baseline_ids=cut(inputs.baseline_ids), embeddings=cut(inputs.embeddings),
            baseline_embeddings=cut(inputs.baseline_embeddings), targets=targets,
            n_steps=self.request.n_steps, internal_batch_size=self.internal_batch_size(columns, len(chunk)),
            seed=self.seed, options=dict(self.options.method), outputs=inputs.outputs[index],
            baseline_outputs=inputs.baseline_outputs[index],
        )

    def explained_outputs(self, raw: Tensor) -> Tensor:
        """``(B, n_classes)`` explained values (what ``forward`` returns) from the model's raw outputs."""
        return explained_outputs(raw, self.request.output, self.adapter.returns_probabilities)

    def vector_baseline(self, embeddings: Tensor, mask: Tensor) -> Tensor:
        """``(B, L, d)`` baseline embeddings: zeros or the user's vectors; the input's own at padding.

        An ``(n, d)`` baseline was checked against every text's length, so ``L == n`` here.
        """
        if self.baseline.kind == "zero":
            baseline = torch.zeros_like(embeddings)
        else:
            value = self.baseline.value.to(device=embeddings.device, dtype=embeddings.dtype)
            if value.shape[-1] != embeddings.shape[-1]:
                raise InputError(f"the embedding baseline has size {value.shape[-1]}; "
                                 f"the layer's output has {embeddings.shape[-1]}")
            baseline = value.expand_as(embeddings)
        return torch.where(mask.bool().unsqueeze(-1), baseline, embeddings)

    def sampling_seed(self) -> Optional[int]:
        """The seed of a sampling method: the user's, else a fresh one (recorded in the result)."""
        if not self.request.method.sampling:
            return None
        if self.options.seed is not None:
            return self.options.seed
        return int(np.random.SeedSequence().entropy % 2**31)

    def run_method(self, task: TorchTask) -> MethodResult:
        """Call the method; a sampling method is called once per text with the RNG seeded."""
        function = self.request.method.function
        result = task.each_text(function) if self.request.method.sampling else function(task)
        if not isinstance(result, MethodResult):
            raise ModelError(
                f"method {self.request.method.name!r} returned {type(result).__name__}, not a MethodResult")
        return result

    def collect(self, chunk: List[Piece], task: TorchTask, result: MethodResult, items: List[Item]) -> None:
        """Store each piece's scores, delta and completeness figures."""
        scores = result.token_scores().detach().double().cpu().numpy()
        attributions = result.attributions if self.options.return_attributions else None
        if attributions is not None:
            attributions = attributions.detach().double().cpu().numpy()
        delta = result.delta.detach().double().cpu().numpy().reshape(-1) if result.delta is not None else None
        differences = task.output_differences().double().cpu().numpy() if result.completeness else None
        params = {"internal_batch_size": task.internal_batch_size, **result.params}
        for row, piece in enumerate(chunk):
            n = task.lengths[row]
            piece.scores = scores[row, :n]
            piece.attributions = attributions[row, :n] if attributions is not None else None
            piece.delta = float(delta[row]) if delta is not None else None
            piece.params = params
            if not np.all(np.isfinite(piece.scores)) or (piece.delta is not None and not np.isfinite(piece.delta)):
                items[piece.item].error = ModelError(
                    f"method {self.request.method.name!r} produced non-finite attributions; "
                    "check the model's outputs for this text (or try output='logit')")
            elif differences is not None:
                piece.output_difference = float(differences[row])
                piece.completeness_gap = abs(float(piece.scores.sum()) - piece.output_difference)

    # -- results -------------------------------------------------------------
    def explanation(self, index: int, item: Item) -> Explanation:
        """Assemble the :class:`Explanation` of one text from its pieces."""
        encoding = item.encoding
        warnings: List[str] = []
        params: Dict[str, Any] = {"baseline": self.baseline.describe(), "layer": self.adapter.layer_path,
                                  **item.pieces[0].params}
        if self.request.method.sampling:
            params["seed"] = self.seed
        if item.plan is None:
            piece = item.pieces[0]
            scores, attributions, raw = piece.scores, piece.attributions, piece.raw
            extra = {"convergence_delta": piece.delta, "completeness_gap": piece.completeness_gap,
                     "output_difference": piece.output_difference}
            if encoding.truncated:
                warnings.append(encoding.truncation_warning())
        else:
            scores = _windows.merge(item.plan, [piece.scores for piece in item.pieces])
            attributions = (_windows.merge(item.plan, [piece.attributions for piece in item.pieces])
                            if self.options.return_attributions else None)
            raw, extra = None, {}
            params.update(sliding_window_tokens=self.max_length, sliding_window_stride=item.plan.stride)
            warnings.append(
                f"explained in {len(item.pieces)} overlapping windows of up to {self.max_length} tokens; each "
                "token's score comes from the window where it is most central, the prediction is the mean over "
                "windows, and completeness holds per window, not for the whole text")
        model = self.adapter.model
        config = getattr(model, "config", None)
        return Explanation(
            text=item.text, tokens=encoding.tokens, offsets=encoding.offsets, token_ids=encoding.input_ids,
            special_mask=encoding.special_mask, scores=scores, attributions=attributions, target=item.target,
            prediction=Prediction(item.probabilities, self.labels, raw=raw),
            method=Method(self.request.method.name, self.request.output, params),
            model=ModelInfo(framework="torch", backend="torch",
                            name=getattr(config, "_name_or_path", "") or type(model).__name__,
                            architecture=type(model).__name__),
            true_label=self.request.true_labels[index] if self.request.true_labels else None,
            warnings=tuple(warnings), **extra,
        )
