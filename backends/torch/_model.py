"""How the torch backend reads a model: its layer, call convention, outputs and limits.

Hugging Face models are recognised by duck typing (a ``config`` and a
``base_model_prefix``); hand-built ``nn.Module`` classifiers work through the
same code when they wrap a Hugging Face encoder or when the user names the
layer and the call convention.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple

import torch
from torch import Tensor, nn

from attribkit.errors import InputError, ModelError

#: ``layer=`` value that selects the word-embedding table only.
WORD_EMBEDDINGS = "word_embeddings"
MODEL_RETURNS = ("logits", "probabilities")

CallFn = Callable[[nn.Module, Tensor, Tensor], Any]


def is_hugging_face(model: nn.Module) -> bool:
    """True for a ``transformers.PreTrainedModel`` (duck-typed, nothing imported)."""
    return hasattr(type(model), "base_model_prefix") and hasattr(model, "config")


def _input_embeddings_owner(model: nn.Module) -> Optional[nn.Module]:
    """The first module (``model`` itself first) with ``get_input_embeddings()`` returning an embedding."""
    for module in model.modules():
        getter = getattr(module, "get_input_embeddings", None)
        if callable(getter):
            try:
                embedding = getter()
            except NotImplementedError:
                continue
            if isinstance(embedding, nn.Embedding):
                return module
    return None


def word_embedding(model: nn.Module) -> Optional[nn.Embedding]:
    """The token-embedding table of ``model`` (``get_input_embeddings()``), if it has one."""
    owner = _input_embeddings_owner(model)
    return None if owner is None else owner.get_input_embeddings()


def encoder_config(model: nn.Module) -> Any:
    """The Hugging Face config of the model, or of the encoder a hand-built model wraps."""
    for module in model.modules():
        config = getattr(module, "config", None)
        if config is not None and hasattr(config, "max_position_embeddings"):
            return config
    return None


def _embeddings_module(model: nn.Module) -> Optional[nn.Module]:
    """The full embeddings block (word + position + type embeddings, LayerNorm) of the encoder."""
    base = getattr(model, "base_model", None)
    if isinstance(getattr(base, "embeddings", None), nn.Module):
        return base.embeddings
    owner = _input_embeddings_owner(model)
    if owner is not None and isinstance(getattr(owner, "embeddings", None), nn.Module):
        return owner.embeddings
    return None


def module_path(model: nn.Module, layer: nn.Module) -> Optional[str]:
    """Dotted path of ``layer`` inside ``model`` (``""`` for the model itself), or ``None``."""
    for name, module in model.named_modules():
        if module is layer:
            return name
    return None


def _embedding_like_paths(model: nn.Module) -> list:
    return [name for name, _ in model.named_modules() if "embed" in name.rsplit(".", 1)[-1].lower()][:8]


def resolve_layer(model: nn.Module, layer: Any) -> Tuple[nn.Module, str]:
    """The layer to attribute to and its dotted path.

    ``None``: the encoder's full embeddings module (``model.base_model.embeddings``
    or ``<encoder>.embeddings`` of a hand-built model); ``"word_embeddings"``:
    ``get_input_embeddings()``; a dotted path; or a module of ``model``.
    """
    if layer is None:
        module = _embeddings_module(model) or word_embedding(model)
        if module is None:
            raise ModelError(
                f"cannot find the embedding layer of {type(model).__name__}; pass layer='dotted.path' "
                f"(candidates: {_embedding_like_paths(model) or 'none found'}) or the module itself"
            )
    elif layer == WORD_EMBEDDINGS:
        module = word_embedding(model)
        if module is None:
            raise ModelError(f"{type(model).__name__} has no get_input_embeddings(); pass layer='dotted.path'")
    elif isinstance(layer, str):
        try:
            module = model.get_submodule(layer)
        except AttributeError:
            raise InputError(
                f"layer {layer!r} is not a module of {type(model).__name__}; "
                f"embedding-like modules: {_embedding_like_paths(model) or 'none found'}"
            ) from None
    elif isinstance(layer, nn.Module):
        module = layer
    else:
        raise InputError(f"layer must be None, a dotted path or an nn.Module, got {type(layer).__name__}")
    path = module_path(model, module)
    if path is None:
        raise InputError(f"layer {type(module).__name__} is not a submodule of {type(model).__name__}")
    return module, path


def max_positions(model: nn.Module) -> Optional[int]:
    """Longest input the model accepts: ``max_position_embeddings`` less RoBERTa's padding offset."""
    config = encoder_config(model)
    limit = getattr(config, "max_position_embeddings", None)
    if not limit:
        return None
    padding_idx = getattr(_embeddings_module(model), "padding_idx", None)
    return limit - (padding_idx + 1) if isinstance(padding_idx, int) else limit


def default_call(model: nn.Module) -> CallFn:
    """``model(input_ids=, attention_mask=)`` for Hugging Face models, else ``model(ids, mask)``."""
    if is_hugging_face(model):
        return lambda m, input_ids, attention_mask: m(input_ids=input_ids, attention_mask=attention_mask)
    return lambda m, input_ids, attention_mask: m(input_ids, attention_mask)


def detect_model_returns(model: nn.Module, model_returns: Optional[str]) -> str:
    """``"probabilities"`` when the model's last child is ``nn.Sigmoid``/``nn.Softmax``, else ``"logits"``."""
    if model_returns is not None:
        if model_returns not in MODEL_RETURNS:
            raise InputError(f"model_returns must be one of {MODEL_RETURNS}, got {model_returns!r}")
        return model_returns
    children = list(model.children())
    if children and isinstance(children[-1], (nn.Sigmoid, nn.Softmax)):
        return "probabilities"
    return "logits"


def explained_outputs(raw: Tensor, output: str, returns_probabilities: bool) -> Tensor:
    """One explained value per class, the torch twin of :func:`attribkit.tokenize.explained_value`.

    Args:
        raw: ``(B, n_outputs)`` model outputs.
    Returns:
        ``(B, n_classes)``: softmax (or ``[1 - p, p]`` for one output) for
        ``output="probability"``; the raw outputs (``[-z, z]`` for one logit)
        for ``"logit"``; a model that already returns probabilities is not
        squashed again.
    """
    if raw.shape[1] == 1:
        if returns_probabilities:
            return torch.cat([1 - raw, raw], dim=1)
        if output == "probability":
            p = torch.sigmoid(raw)
            return torch.cat([1 - p, p], dim=1)
        return torch.cat([-raw, raw], dim=1)
    if output == "probability" and not returns_probabilities:
        return torch.softmax(raw, dim=1)
    return raw


@dataclass
class ModelAdapter:
    """A classifier seen the way the backend needs it.

    Attributes:
        model: the user's model.
        layer: the attributed module; ``layer_path`` its dotted path.
        call: ``call(model, input_ids, attention_mask)`` runs the model.
        returns_probabilities: the model ends in a sigmoid/softmax.
        device: where the model's parameters live.
    """

    model: nn.Module
    layer: nn.Module
    layer_path: str
    call: CallFn
    returns_probabilities: bool
    device: torch.device

    @classmethod
    def build(cls, model: nn.Module, layer: Any = None, forward: Optional[CallFn] = None,
              model_returns: Optional[str] = None) -> "ModelAdapter":
        if forward is not None and not callable(forward):
            raise InputError(
                f"forward must be callable(model, input_ids, attention_mask), got {type(forward).__name__}")
        module, path = resolve_layer(model, layer)
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        returns = detect_model_returns(model, model_returns)
        return cls(model, module, path, forward or default_call(model), returns == "probabilities", device)

    def raw_outputs(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """The model's raw outputs, shape ``(B, n_outputs)`` (``.logits`` taken when present)."""
        try:
            output = self.call(self.model, input_ids, attention_mask)
        except TypeError as exc:
            raise ModelError(
                f"calling {type(self.model).__name__} failed ({exc}); pass "
                "forward=lambda model, input_ids, attention_mask: ... returning (batch, n_outputs) outputs"
            ) from exc
        output = getattr(output, "logits", output)
        if isinstance(output, (tuple, list)) and output:
            output = output[0]
        if not isinstance(output, Tensor):
            raise ModelError(
                f"the model returned {type(output).__name__}, expected a tensor of shape (batch, n_outputs)")
        if output.dim() == 1:
            output = output.unsqueeze(1)
        if output.dim() != 2 or output.shape[0] != input_ids.shape[0] or output.shape[1] == 0:
            raise ModelError(
                f"the model returned shape {tuple(output.shape)} for {input_ids.shape[0]} texts; "
                "expected (batch, n_outputs): pass forward=... that returns one row of class outputs per text"
            )
        return output

    def layer_output(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor, Tensor]:
        """Run the model once; return ``(raw outputs (B, n_outputs), layer output (B, L, d))``."""
        captured = []
        handle = self.layer.register_forward_hook(lambda module, args, output: captured.append(output))
        try:
            raw = self.raw_outputs(input_ids, attention_mask)
        finally:
            handle.remove()
        if len(captured) != 1:
            raise ModelError(
                f"layer {self.layer_path!r} ran {len(captured)} times in one forward pass; "
                "attribute to a layer that runs exactly once"
            )
        output = captured[0]
        if not isinstance(output, Tensor) or output.dim() != 3 or output.shape[:2] != input_ids.shape:
            shape = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
            raise ModelError(
                f"layer {self.layer_path!r} returns {shape}; attribkit needs a layer whose output is a "
                "(batch, tokens, hidden) tensor, such as the embeddings"
            )
        return raw, output


class ExplainedOutput(nn.Module):
    """``forward(input_ids, attention_mask) -> (B, n_classes)`` explained values (see :func:`explained_outputs`)."""

    def __init__(self, adapter: ModelAdapter, output: str):
        super().__init__()
        self.model = adapter.model  # a child module, so DeepLift finds its non-linearities
        self.adapter = adapter
        self.output = output

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        raw = self.adapter.raw_outputs(input_ids, attention_mask)
        return explained_outputs(raw, self.output, self.adapter.returns_probabilities)


class EmbeddingForward(nn.Module):
    """``forward(embeddings, input_ids, attention_mask) -> (B, n_classes)``.

    Runs the model with the attributed layer's output replaced by
    ``embeddings`` (shape ``(B, L, d)``), which is how Captum's layer methods
    work internally; input-attribution methods (Saliency, Occlusion, LIME,
    Kernel SHAP) treat these embeddings as the model's input.
    """

    def __init__(self, explained: ExplainedOutput):
        super().__init__()
        self.explained = explained

    def forward(self, embeddings: Tensor, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        handle = self.explained.adapter.layer.register_forward_hook(lambda module, args, output: embeddings)
        try:
            return self.explained(input_ids, attention_mask)
        finally:
            handle.remove()


def rows_per_pass(model: nn.Module, seq_len: int, budget_mb: float) -> int:
    """Sequences of ``seq_len`` tokens whose forward and backward pass fit in ``budget_mb``.

    Estimate of the activations a transformer keeps for the backward pass:
    per layer and token, about ``34 * hidden + 5 * heads * seq_len`` bytes in
    half precision, so twice that in float32. Without a Hugging Face config
    the model is assumed to be BERT-base sized (12 layers, 12 heads, 768).
    """
    config = encoder_config(model)
    layers = getattr(config, "num_hidden_layers", None) or 12
    heads = getattr(config, "num_attention_heads", None) or 12
    hidden = getattr(config, "hidden_size", None) or 768
    per_row = 2 * seq_len * layers * (34 * hidden + 5 * heads * seq_len)
    return max(1, int(budget_mb * 2**20 // per_row))


def token_flops(model: nn.Module, seq_len: int) -> float:
    """Floating-point operations of one token's forward and backward pass through one layer.

    A transformer layer does about ``4 * hidden**2 + 2 * hidden *
    intermediate`` multiply-adds per token in its projections and ``2 *
    hidden * seq_len`` in attention; a multiply-add is two operations and
    the backward pass costs twice the forward. Without a Hugging Face config
    the model is assumed to be BERT-base sized (hidden 768, intermediate 3072).
    """
    config = encoder_config(model)
    hidden = getattr(config, "hidden_size", None) or 768
    intermediate = getattr(config, "intermediate_size", None) or 4 * hidden
    return 6.0 * (4 * hidden * hidden + 2 * hidden * intermediate + 2 * hidden * seq_len)
