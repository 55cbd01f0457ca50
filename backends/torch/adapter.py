"""How the torch backend reads a model: its layer, call convention, outputs and limits.

Hugging Face models are recognised by duck typing (a ``config`` and a
``base_model_prefix``); hand-built ``nn.Module`` classifiers work through the
same code when they wrap a Hugging Face encoder, or when the user names the
layer and the call convention (``layer=``, ``forward=``).
"""
from __future__ import annotations

import contextlib
import itertools
import os
from typing import Any, Callable, Iterator, List, Mapping, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from attribkit.backend import Backend
from attribkit.errors import InputError, ModelError
from attribkit.hub import has_safetensors, hub_options, load_pretrained, switched_off
from attribkit.pipeline import (
    ModelAdapter, ModelSize, Option, OutputForm, default_memory_bytes, is_hugging_face_model, position_limit,
)
from attribkit.results import ModelInfo

#: ``layer=`` value that selects the word-embedding table only.
WORD_EMBEDDINGS = "word_embeddings"
#: How much faster a GPU is than one CPU thread, for the planner's fixed costs.
GPU_THREADS = 64
TRAINING_MODE_WARNING = (
    "the model was in training mode (dropout or batch normalisation active); attribkit explained it in eval "
    "mode and restored training mode afterwards"
)


def _random_in_training(module: nn.Module) -> bool:
    """A module whose outputs differ in training mode (dropout with p > 0, batch normalisation), in it."""
    dropout = isinstance(module, nn.modules.dropout._DropoutNd) and module.p > 0
    return module.training and (dropout or isinstance(module, nn.modules.batchnorm._BatchNorm))

HALF_PRECISION_WARNING = (
    "the model's {dtype} weights were explained in float32 (widened for the call, then restored): gradients "
    "and integrals in half precision are too coarse to explain with"
)

CallFn = Callable[[nn.Module, Tensor, Tensor], Any]


# -- reading a model -----------------------------------------------------------------------------------------


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


def embeddings_module(model: nn.Module) -> Optional[nn.Module]:
    """The full embeddings block (word + position + type embeddings, LayerNorm) of the encoder."""
    base = getattr(model, "base_model", None)
    if isinstance(getattr(base, "embeddings", None), nn.Module):
        return base.embeddings
    owner = _input_embeddings_owner(model)
    if owner is not None and isinstance(getattr(owner, "embeddings", None), nn.Module):
        return owner.embeddings
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
        module = embeddings_module(model) or word_embedding(model)
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
    path = next((name for name, candidate in model.named_modules() if candidate is module), None)
    if path is None:
        raise InputError(f"layer {type(module).__name__} is not a submodule of {type(model).__name__}")
    return module, path


def default_call(model: nn.Module) -> CallFn:
    """``model(input_ids=, attention_mask=)`` for Hugging Face models, else ``model(ids, mask)``."""
    if is_hugging_face_model(model):
        return lambda m, input_ids, attention_mask: m(input_ids=input_ids, attention_mask=attention_mask)
    return lambda m, input_ids, attention_mask: m(input_ids, attention_mask)


def explained_outputs(raw: Tensor, form: OutputForm) -> Tensor:
    """F ``(B, n_classes)`` from raw outputs ``(B, n_outputs)``: the torch twin of
    :func:`attribkit.pipeline.explained_values`."""
    if form.activation == "softmax":
        values = torch.softmax(raw, dim=1)
    elif form.activation == "sigmoid":
        values = torch.sigmoid(raw)
    else:
        values = raw
    if form.summed:
        return values.sum(dim=1, keepdim=True).expand(-1, 2 if form.single else values.shape[1])
    if form.single:
        values = torch.cat([1 - values if form.probability else -values, values], dim=1)
    return values


@contextlib.contextmanager
def output_replaced(layer: nn.Module, values: Tensor, name: str = "") -> Iterator[None]:
    """While the block (one forward pass) runs, ``layer`` returns ``values``; a layer that runs twice in
    it is a :class:`ModelError` (one set of values cannot stand for two different outputs)."""
    runs = []

    def replace(module: nn.Module, args: Any, output: Any) -> Tensor:
        runs.append(None)
        if len(runs) > 1:
            raise ModelError(f"layer {name or type(layer).__name__!r} ran {len(runs)} times in one forward pass; "
                             "attribute to a layer that runs exactly once")
        return values

    handle = layer.register_forward_hook(replace)
    try:
        yield
    finally:
        handle.remove()


class _LayerOutputSeen(Exception):
    """Stops a forward pass once the attributed layer has run."""


class TorchAdapter(ModelAdapter):
    """A ``torch.nn.Module`` classifier and its tokenizer (see ``docs/backend-torch.md``).

    Besides the :class:`~attribkit.pipeline.ModelAdapter` attributes:
    ``layer`` (the attributed module), ``call`` (``call(model, input_ids,
    attention_mask)`` runs the model) and ``device``.
    """

    def __init__(self, model: nn.Module, tokenizer: Any, layer: Any = None, forward: Optional[CallFn] = None,
                 backend: str = "torch"):
        if not isinstance(model, nn.Module):
            raise ModelError(f"the torch backend explains torch.nn.Module models, got {type(model).__name__}")
        self.model, self.tokenizer = model, tokenizer
        self.layer, self.layer_name = resolve_layer(model, layer)
        self.call = forward or default_call(model)
        parameter = next(model.parameters(), None)
        self.device = parameter.device if parameter is not None else torch.device("cpu")
        config = encoder_config(model)
        own_config = getattr(model, "config", None)
        self.id2label = getattr(own_config, "id2label", None)
        children = list(model.children())
        if children and isinstance(children[-1], (nn.Sigmoid, nn.Softmax)):
            self.returns_probabilities = True
        elif is_hugging_face_model(model) and forward is None:
            self.returns_probabilities = False  # Hugging Face classifiers return logits
        self.size = ModelSize.from_config(config)
        self.max_length = position_limit(config, getattr(embeddings_module(model), "padding_idx", None)) \
            if config is not None else None
        embedding = word_embedding(model)
        self.vocab_size = embedding.num_embeddings if embedding is not None else None
        on_cpu = self.device.type == "cpu"
        self.threads = torch.get_num_threads() if on_cpu else GPU_THREADS
        if self.device.type == "cuda":  # a share of the device's free memory; on a CPU the pipeline's default
            self.memory_budget_mb = default_memory_bytes(torch.cuda.mem_get_info(self.device)[0]) / 2**20
        self.info = ModelInfo(framework="torch", backend=backend,
                              name=getattr(own_config, "_name_or_path", "") or type(model).__name__,
                              architecture=type(model).__name__)

    # -- the pipeline's side ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self) -> Iterator[List[str]]:
        """Inside the call the model is in eval mode (dropout off) and in float32 (half-precision weights are
        widened, which is exact); every module's mode and every tensor's dtype are restored after it."""
        modes = [(module, module.training) for module in self.model.modules()]
        notes: List[str] = [TRAINING_MODE_WARNING] if any(map(_random_in_training, self.model.modules())) else []
        half = [(tensor, tensor.dtype) for tensor in itertools.chain(self.model.parameters(), self.model.buffers())
                if tensor.dtype in (torch.float16, torch.bfloat16)]
        if half:
            notes.append(HALF_PRECISION_WARNING.format(dtype=str(half[0][1]).replace("torch.", "")))
        self.model.eval()
        try:
            for tensor, _ in half:
                tensor.data = tensor.data.float()
            yield notes
        finally:
            for module, training in modes:
                module.training = training
            for tensor, dtype in half:
                tensor.data = tensor.data.to(dtype)

    def raw_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray,
                    layer_values: Optional[np.ndarray] = None) -> np.ndarray:
        ids, mask = self.tensor(input_ids), self.tensor(attention_mask)
        with torch.no_grad():
            if layer_values is None:
                return self.forward(ids, mask).double().cpu().numpy()
            with output_replaced(self.layer, self.tensor(layer_values), self.layer_name):
                return self.forward(ids, mask).double().cpu().numpy()

    def layer_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """The layer's output, from a forward pass stopped once the layer has run."""
        captured = []

        def stop(module: Any, args: Any, output: Any) -> None:
            captured.append(output)
            raise _LayerOutputSeen

        handle = self.layer.register_forward_hook(stop)
        try:
            with torch.no_grad(), contextlib.suppress(_LayerOutputSeen):
                self.forward(self.tensor(input_ids), self.tensor(attention_mask))
        finally:
            handle.remove()
        output = captured[0] if captured else None
        if not isinstance(output, Tensor) or output.dim() != 3 or tuple(output.shape[:2]) != input_ids.shape:
            shape = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
            raise ModelError(f"layer {self.layer_name!r} returns {shape}; attribkit needs a layer whose output is "
                             "a (batch, tokens, hidden) tensor, such as the embeddings")
        return output.float().cpu().numpy()

    def explained_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray, form: OutputForm) -> np.ndarray:
        with torch.no_grad():
            return self.explained_module(form)(self.tensor(input_ids), self.tensor(attention_mask)).double().cpu().numpy()

    def gradients(self, values: np.ndarray, input_ids: np.ndarray, attention_mask: np.ndarray,
                  targets: np.ndarray, form: OutputForm) -> np.ndarray:
        """``(N, L, d)`` the gradient of each row's ``F_target`` to the layer's output at ``values`` (autograd)."""
        points = self.tensor(values).requires_grad_()
        with torch.enable_grad():
            outputs = self.layer_forward(form)(points, self.tensor(input_ids), self.tensor(attention_mask))
            chosen = outputs.gather(1, self.tensor(np.asarray(targets, dtype=np.int64)).view(-1, 1)).sum()
            (gradient,) = torch.autograd.grad(chosen, points)
        return gradient.double().cpu().numpy()

    # -- for the methods ---------------------------------------------------------------------------------------
    def tensor(self, array: np.ndarray) -> Tensor:
        """``array`` on the model's device (ids int64, values float32)."""
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        if tensor.is_floating_point():
            tensor = tensor.float()
        return tensor.to(self.device)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """The model's raw outputs ``(B, n_outputs)`` (``.logits`` taken when present)."""
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
            raise ModelError(f"the model returned {type(output).__name__}, expected a tensor of shape "
                             "(batch, n_outputs)")
        if output.dim() == 1:
            output = output.unsqueeze(1)
        if output.dim() != 2 or output.shape[0] != input_ids.shape[0] or output.shape[1] == 0:
            raise ModelError(
                f"the model returned shape {tuple(output.shape)} for {input_ids.shape[0]} texts; expected "
                "(batch, n_outputs): pass forward=... that returns one row of class outputs per text"
            )
        return output

    def explained_module(self, form: OutputForm) -> "ExplainedOutput":
        """``module(input_ids, attention_mask) -> (B, n_classes)`` F, for Captum."""
        return ExplainedOutput(self, form)

    def layer_forward(self, form: OutputForm) -> "LayerForward":
        """``module(values, input_ids, attention_mask) -> (B, n_classes)``: F with the layer's output replaced."""
        return LayerForward(ExplainedOutput(self, form))


class ExplainedOutput(nn.Module):
    """``forward(input_ids, attention_mask) -> (B, n_classes)`` explained values (see :func:`explained_outputs`)."""

    def __init__(self, adapter: TorchAdapter, form: OutputForm):
        super().__init__()
        self.model = adapter.model  # a child module, so DeepLift finds its non-linearities
        self.adapter = adapter
        self.form = form

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return explained_outputs(self.adapter.forward(input_ids, attention_mask), self.form)


class LayerForward(nn.Module):
    """``forward(values, input_ids, attention_mask) -> (B, n_classes)``: the model with the attributed
    layer's output replaced by ``values`` ``(B, L, d)``, which is how Captum's layer methods work inside;
    input-attribution methods (Saliency, Occlusion, LIME, Kernel SHAP) treat the values as the input."""

    def __init__(self, explained: ExplainedOutput):
        super().__init__()
        self.explained = explained

    def forward(self, values: Tensor, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        adapter = self.explained.adapter
        with output_replaced(adapter.layer, values, adapter.layer_name):
            return self.explained(input_ids, attention_mask)


class TorchBackend(Backend):
    """Explains ``torch.nn.Module`` text classifiers with Captum (see ``docs/backend-torch.md``)."""

    name = "torch"
    framework = "torch"
    options = (Option("forward", None, "forward(model, input_ids, attention_mask) -> (batch, n_outputs) outputs "
                      "(default: model(input_ids=, attention_mask=) for Hugging Face models, else model(ids, mask))",
                      "callable"),)

    def adapt(self, model: Any, tokenizer: Any, *, layer: Any = None,
              options: Optional[Mapping[str, Any]] = None) -> TorchAdapter:
        return TorchAdapter(model, tokenizer, layer, (options or {}).get("forward"), self.name)

    def load(self, name_or_path: str, **kwargs: Any) -> Tuple[Any, Any]:
        """``AutoModelForSequenceClassification`` and ``AutoTokenizer`` from a local path or the hub."""
        def load(path: str, options: dict) -> Tuple[Any, Any]:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
            from transformers.utils import is_torch_available

            if not is_torch_available():
                raise switched_off("PyTorch", ("USE_TF", "USE_TORCH"),
                                   "the TensorFlow backend (backend='tf', --framework tf)")
            tokenizer = AutoTokenizer.from_pretrained(path, **hub_options(options))
            if has_safetensors(path):
                options.setdefault("use_safetensors", True)
            return AutoModelForSequenceClassification.from_pretrained(path, **options).eval(), tokenizer

        return load_pretrained(load, name_or_path, kwargs)

    def configure_exclusive(self) -> None:
        """A command that uses torch alone keeps transformers from importing TensorFlow (``USE_TF=0``,
        unless set): transformers imports it when installed, about 7 s."""
        import sys

        if "transformers" not in sys.modules:
            os.environ.setdefault("USE_TF", "0")
