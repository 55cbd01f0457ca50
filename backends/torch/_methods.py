"""The torch backend's attribution methods and the contract they follow.

A method is a function ``method(task: TorchTask) -> MethodResult`` registered
with ``attribkit_register_methods`` for backend ``"torch"``. Captum is
imported inside each function, so this module imports without torch.
See ``docs/backend-torch.md`` ("Writing a method").
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

from attribkit.errors import InputError

if TYPE_CHECKING:
    from torch import Tensor

    from attribkit.backends.torch._task import TorchTask

#: Captum's integration rules for Integrated Gradients.
INTEGRATIONS = ("gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle")


@dataclass(frozen=True, eq=False)
class MethodResult:
    """What a method returns for a task of ``B`` texts padded to ``L`` tokens.

    Attributes:
        attributions: ``(B, L, d)`` attributions of the layer's output, or
            ``None``. Token scores are their sum over ``d`` unless ``scores``
            is given.
        scores: ``(B, L)`` token scores, for methods that attribute whole
            tokens (perturbation methods), or ``None``.
        delta: ``(B,)`` Captum's convergence delta, or ``None``.
        params: JSON-compatible parameters recorded in ``Method.params``.
        completeness: ``True`` when ``scores.sum()`` should equal
            ``F(x) - F(baseline)``; the backend then reports the gap.
    """

    attributions: Optional["Tensor"] = None
    scores: Optional["Tensor"] = None
    delta: Optional["Tensor"] = None
    params: Dict[str, Any] = field(default_factory=dict)
    completeness: bool = False

    def __post_init__(self) -> None:
        if self.attributions is None and self.scores is None:
            raise ValueError("MethodResult: give attributions (B, L, d) or scores (B, L)")

    def token_scores(self) -> "Tensor":
        """``(B, L)`` token scores."""
        return self.scores if self.scores is not None else self.attributions.sum(dim=-1)


def takes_options(*names: str) -> Callable[[Callable[..., MethodResult]], Callable[..., MethodResult]]:
    """Declare the options a method reads from ``task.options``; others are rejected before it runs."""
    def mark(function: Callable[..., MethodResult]) -> Callable[..., MethodResult]:
        function.options = tuple(names)
        return function
    return mark


def _positive_int(options: Any, name: str, default: int) -> int:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return value


def _non_negative(options: Any, name: str, default: float) -> float:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise InputError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _with_delta(attribute: Callable[..., Any], task: "TorchTask", *args: Any, **kwargs: Any) -> Any:
    """``attribute(*args, **kwargs)`` (``task.from_baseline`` or ``task.at_layer``) and Captum's convergence delta.

    Returns ``(attributions, delta (B,))``. When the task knows its outputs at
    the input and at the baseline, the delta is computed from them (the same
    figure as Captum's ``return_convergence_delta=True``, without the two
    forward passes Captum spends on it); otherwise Captum computes it.
    """
    if task.outputs is None or task.baseline_outputs is None:
        return attribute(*args, return_convergence_delta=True, **kwargs)
    attributions = attribute(*args, **kwargs)
    return attributions, task.convergence_delta(attributions)


@takes_options("integration")
def integrated_gradients(task: "TorchTask") -> MethodResult:
    """Integrated Gradients from the baseline to the input, at the layer's output.

    Captum's ``IntegratedGradients`` on the layer's output (``task.at_layer``):
    what ``LayerIntegratedGradients`` computes, without recomputing the
    layer's outputs at the input and the baseline for every batch.
    """
    from captum.attr import IntegratedGradients

    integration = task.options.get("integration", "gausslegendre")
    if integration not in INTEGRATIONS:
        raise InputError(f"integration must be one of {INTEGRATIONS}, got {integration!r}")
    attributions, delta = _with_delta(
        task.at_layer, task, IntegratedGradients, target=task.targets, n_steps=task.n_steps,
        method=integration, internal_batch_size=task.internal_batch_size)
    return MethodResult(attributions, delta=delta, completeness=True,
                        params={"n_steps": task.n_steps, "integration": integration})


@takes_options("abs")
def saliency(task: "TorchTask") -> MethodResult:
    """Gradient of the output with respect to the layer's output (``Saliency``); absolute by default."""
    from captum.attr import Saliency

    absolute = bool(task.options.get("abs", True))
    gradients = Saliency(task.embedding_forward).attribute(
        task.embeddings.clone().requires_grad_(), target=task.targets, abs=absolute,
        additional_forward_args=task.embedding_args)
    return MethodResult(gradients, params={"abs": absolute})


def input_x_gradient(task: "TorchTask") -> MethodResult:
    """Layer output times its gradient (``LayerGradientXActivation``); the baseline is not used."""
    from captum.attr import LayerGradientXActivation

    attributions = LayerGradientXActivation(task.forward, task.layer).attribute(
        task.input_ids, target=task.targets, additional_forward_args=(task.attention_mask,))
    return MethodResult(attributions)


def deeplift(task: "TorchTask") -> MethodResult:
    """DeepLIFT (rescale rule) from the baseline, at the layer (``LayerDeepLift``)."""
    from captum.attr import DeepLift, LayerDeepLift

    with warnings.catch_warnings():  # Captum announces its temporary hooks on every call
        warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
        attributions, delta = _with_delta(task.from_baseline, task, LayerDeepLift, DeepLift, target=task.targets)
    return MethodResult(attributions, delta=delta)


@takes_options("n_samples", "stdevs")
def gradient_shap(task: "TorchTask") -> MethodResult:
    """Expected gradients at random points between baseline and input embeddings (``GradientShap``).

    ``stdevs`` (default 0) adds Gaussian noise to the embeddings. Captum's
    ``LayerGradientShap`` cannot be used: it adds its noise to the model's
    inputs, which are token ids here. Called once per text with the seeded RNG.
    """
    from captum.attr import GradientShap

    n_samples = _positive_int(task.options, "n_samples", 20)
    stdevs = _non_negative(task.options, "stdevs", 0.0)
    attributions = GradientShap(task.embedding_forward).attribute(
        task.embeddings, baselines=task.baseline_embeddings, n_samples=n_samples, stdevs=stdevs,
        target=task.targets, additional_forward_args=task.embedding_args)
    return MethodResult(attributions, params={"n_samples": n_samples, "stdevs": stdevs})


@takes_options("window")
def occlusion(task: "TorchTask") -> MethodResult:
    """Replace a window of ``window`` tokens (default 1) by the baseline, sliding one token at a time.

    A token's score is the mean output drop of the windows covering it
    (``Occlusion`` on the layer's output, one text at a time so windows never
    reach into padding).
    """
    from captum.attr import Occlusion

    window = _positive_int(task.options, "window", 1)

    def occlude(one: "TorchTask") -> MethodResult:
        hidden = one.embeddings.shape[-1]
        attributions = Occlusion(one.embedding_forward).attribute(
            one.embeddings, sliding_window_shapes=(min(window, one.lengths[0]), hidden), strides=(1, hidden),
            baselines=one.baseline_embeddings, target=one.targets, additional_forward_args=one.embedding_args,
            perturbations_per_eval=one.perturbations_per_eval)
        return MethodResult(scores=attributions[..., 0], params={"window": window})

    return task.each_text(occlude)


def feature_ablation(task: "TorchTask") -> MethodResult:
    """Output drop when one token's layer output is replaced by the baseline's (``LayerFeatureAblation``).

    One ablated token per forward pass of the whole batch: Captum's
    ``LayerFeatureAblation`` does not repeat per-text targets for
    ``perturbations_per_eval > 1``.
    """
    from captum.attr import LayerFeatureAblation

    attributions = LayerFeatureAblation(task.forward, task.layer).attribute(
        task.input_ids, layer_baselines=task.baseline_embeddings, target=task.targets,
        additional_forward_args=(task.attention_mask,), layer_mask=task.token_mask())
    return MethodResult(scores=attributions[..., 0])


@takes_options("n_samples", "alpha")
def lime(task: "TorchTask") -> MethodResult:
    """LIME over tokens: random subsets of tokens replaced by the baseline, weighted ridge surrogate.

    ``alpha`` (default 1.0) is the ridge penalty of the reference LIME
    implementation; the surrogate is solved in closed form (no scikit-learn).
    """
    from captum.attr import Lime

    from attribkit.backends.torch._linear import WeightedLeastSquares

    n_samples = _positive_int(task.options, "n_samples", 200)
    alpha = _non_negative(task.options, "alpha", 1.0)
    explainer = Lime(task.embedding_forward, interpretable_model=WeightedLeastSquares(alpha))
    return _surrogate(task, explainer, n_samples, {"n_samples": n_samples, "alpha": alpha})


@takes_options("n_samples")
def kernel_shap(task: "TorchTask") -> MethodResult:
    """Kernel SHAP over tokens (``KernelShap``), weighted least squares solved in closed form."""
    from captum.attr import KernelShap

    from attribkit.backends.torch._linear import WeightedLeastSquares

    n_samples = _positive_int(task.options, "n_samples", 200)
    explainer = KernelShap(task.embedding_forward)
    explainer.interpretable_model = WeightedLeastSquares(0.0)
    return _surrogate(task, explainer, n_samples, {"n_samples": n_samples})


def _surrogate(task: "TorchTask", explainer: Any, n_samples: int, params: Dict[str, Any]) -> MethodResult:
    """Run a LIME-family ``explainer`` on one text with one feature per token; ``(1, n)`` scores.

    Only tokens whose baseline differs from the input are features (the
    others cannot change the output and score 0); they join the first
    feature's group so that Captum's mask covers every position.
    """
    import torch

    active = (task.embeddings != task.baseline_embeddings).any(dim=-1)[0]
    scores = torch.zeros(1, task.lengths[0], device=task.embeddings.device)
    if int(active.sum()) < 2:
        scores[0, active] = _single_feature_score(task)
        return MethodResult(scores=scores, params=params)
    groups = (torch.cumsum(active.long(), dim=0) - 1).clamp(min=0)
    feature_mask = groups.view(1, -1, 1).expand_as(task.embeddings).contiguous()
    attributions = explainer.attribute(
        task.embeddings, baselines=task.baseline_embeddings, target=task.targets,
        additional_forward_args=task.embedding_args, feature_mask=feature_mask, n_samples=n_samples,
        perturbations_per_eval=min(n_samples, task.perturbations_per_eval))
    return MethodResult(scores=attributions[..., 0] * active, params=params)


def _single_feature_score(task: "TorchTask") -> float:
    """With one feature, its LIME/SHAP value is ``F(x) - F(baseline)``."""
    import torch

    with torch.no_grad():
        at_input = task.embedding_forward(task.embeddings, *task.embedding_args)[0, task.targets[0]]
        at_baseline = task.embedding_forward(task.baseline_embeddings, *task.embedding_args)[0, task.targets[0]]
    return float(at_input - at_baseline)


#: ``(name, function, description, sampling)`` of every built-in method.
BUILTIN_METHODS = (
    ("integrated_gradients", integrated_gradients,
     "Integrated Gradients on the embeddings (Captum LayerIntegratedGradients)", False),
    ("saliency", saliency, "absolute gradient at the embeddings (Captum Saliency)", False),
    ("input_x_gradient", input_x_gradient, "embeddings times gradient (Captum LayerGradientXActivation)", False),
    ("deeplift", deeplift, "DeepLIFT on the embeddings (Captum LayerDeepLift)", False),
    ("gradient_shap", gradient_shap, "expected gradients from the baseline (Captum GradientShap)", True),
    ("occlusion", occlusion, "token occlusion with a sliding window (Captum Occlusion)", False),
    ("feature_ablation", feature_ablation,
     "one token at a time replaced by the baseline (Captum LayerFeatureAblation)", False),
    ("lime", lime, "LIME over tokens with a ridge surrogate (Captum Lime)", True),
    ("kernel_shap", kernel_shap, "Kernel SHAP over tokens (Captum KernelShap)", True),
)
