"""The torch backend's methods: Captum on the attributed layer.

Each is a function ``method(task) -> MethodResult`` over the core's
:class:`~attribkit.pipeline.Task` (numpy), registered for backend
``"torch"``; :class:`Tensors` puts a task on the model's device. torch and
Captum are imported inside the functions, so the plugin imports without them.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import random
import warnings
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, Optional

import numpy as np

from attribkit.errors import MethodError
from attribkit.methods.gradients import path_sum
from attribkit.pipeline import MethodResult, Option, Task

if TYPE_CHECKING:
    import torch
    from torch import Tensor

#: Captum's integration rules for Integrated Gradients.
INTEGRATIONS = ("gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle")


def numpy(tensor: "Tensor") -> np.ndarray:
    return tensor.detach().double().cpu().numpy()


class Tensors:
    """A task's arrays on the model's device, and the model as Captum needs it.

    Attributes:
        ids, mask: ``(B, L)`` int64; ``baseline_ids`` ``(B, L)`` or ``None`` (a vector baseline).
        forward: ``forward(ids, mask) -> (B, n_classes)`` F.
        layer_forward: ``layer_forward(values, ids, mask) -> (B, n_classes)``, F with the layer's output replaced.
        layer: the attributed module.
        targets: the ``B`` explained classes (columns of F).
    """

    def __init__(self, task: Task):
        adapter = task.adapter
        self.task = task
        self.ids, self.mask = adapter.tensor(task.input_ids), adapter.tensor(task.attention_mask)
        self.baseline_ids = None if task.baseline_ids is None else adapter.tensor(task.baseline_ids)
        self.forward = adapter.explained_module(task.form)
        self.layer_forward = adapter.layer_forward(task.form)
        self.layer = adapter.layer
        self.targets = task.targets.tolist()

    def values(self) -> "Tensor":
        """``(B, L, d)`` the layer's output at the input."""
        task = self.task
        values = task.layer_values if task.layer_values is not None else \
            task.adapter.layer_outputs(task.input_ids, task.attention_mask)
        return task.adapter.tensor(values)

    def baseline_values(self) -> "Tensor":
        """``(B, L, d)`` the layer's output at the baseline."""
        task = self.task
        if task.baseline_values is not None:
            return task.adapter.tensor(task.baseline_values)
        return task.adapter.tensor(task.adapter.layer_outputs(task.baseline_ids, task.attention_mask))

    @property
    def layer_args(self) -> tuple:
        """``additional_forward_args`` of Captum calls on :attr:`layer_forward`."""
        return (self.ids, self.mask)

    def perturbations_per_eval(self) -> int:
        return max(1, self.task.rows_per_pass // self.task.batch)


@contextlib.contextmanager
def _seeded(seed: Optional[int], device: "torch.device") -> Iterator[None]:
    """torch's, numpy's and Python's RNGs seeded inside the block (Captum draws from all three); their
    states restored after it."""
    import torch

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


def seeded(method: Callable[[Task], MethodResult]) -> Callable[[Task], MethodResult]:
    """Run a sampling method with the RNGs seeded from ``task.seed`` (the pipeline calls it once per text)."""
    @functools.wraps(method)
    def run(task: Task) -> MethodResult:
        with _seeded(task.seed, task.adapter.device):
            return method(task)
    return run


def integrated_gradients(task: Task) -> MethodResult:
    """Integrated Gradients from the baseline to the input, at the layer's output.

    Captum's ``IntegratedGradients`` on the layer's output: the computation
    of ``LayerIntegratedGradients`` on the token ids (as the Captum BERT
    tutorial calls it), with the layer's outputs at the input and the
    baseline read from passes stopped at the layer rather than from two
    passes through the whole model.
    """
    from captum.attr import IntegratedGradients

    if task.alphas is not None:  # n_steps="auto": the pipeline's points
        return path_sum(task)
    t = Tensors(task)
    integration = task.options["integration"]
    attributions = IntegratedGradients(t.layer_forward).attribute(
        t.values(), baselines=t.baseline_values(), additional_forward_args=t.layer_args, target=t.targets,
        n_steps=task.n_steps, method=integration, internal_batch_size=task.rows_per_pass)
    return MethodResult(numpy(attributions), completeness=True,
                        params={"n_steps": task.n_steps, "integration": integration})


def saliency(task: Task) -> MethodResult:
    """Gradient of the output with respect to the layer's output (``Saliency``); absolute by default."""
    from captum.attr import Saliency

    t = Tensors(task)
    absolute = task.options["abs"]
    gradients = Saliency(t.layer_forward).attribute(t.values().requires_grad_(), target=t.targets, abs=absolute,
                                                    additional_forward_args=t.layer_args)
    return MethodResult(numpy(gradients), params={"abs": absolute})


def input_x_gradient(task: Task) -> MethodResult:
    """Layer output times its gradient (``LayerGradientXActivation``); the baseline is not used."""
    from captum.attr import LayerGradientXActivation

    t = Tensors(task)
    attributions = LayerGradientXActivation(t.forward, t.layer).attribute(
        t.ids, target=t.targets, additional_forward_args=(t.mask,))
    return MethodResult(numpy(attributions))


def deeplift(task: Task) -> MethodResult:
    """DeepLIFT (rescale rule) from the baseline, at the layer (``LayerDeepLift``); ``convergence_delta``
    is its summation-to-delta error."""
    from captum.attr import DeepLift, LayerDeepLift

    t = Tensors(task)
    with warnings.catch_warnings():  # Captum announces its temporary hooks on every call
        warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
        if t.baseline_ids is not None:
            attributions = LayerDeepLift(t.forward, t.layer).attribute(
                t.ids, baselines=t.baseline_ids, target=t.targets, additional_forward_args=(t.mask,))
        else:
            attributions = DeepLift(t.layer_forward).attribute(
                t.values().requires_grad_(), baselines=t.baseline_values(), target=t.targets,
                additional_forward_args=t.layer_args)
    attributions = numpy(attributions)
    delta = attributions.reshape(task.batch, -1).sum(axis=1) - task.output_differences()
    return MethodResult(attributions, convergence_delta=delta, completeness=True)


@seeded
def gradient_shap(task: Task) -> MethodResult:
    """Expected gradients at random points between baseline and input at the layer (``GradientShap``).

    ``stdevs`` adds Gaussian noise to the layer's output. Captum's
    ``LayerGradientShap`` cannot be used: it adds its noise to the model's
    inputs, which are token ids here.
    """
    from captum.attr import GradientShap

    t = Tensors(task)
    n_samples, stdevs = task.options["n_samples"], task.options["stdevs"]
    attributions = GradientShap(t.layer_forward).attribute(
        t.values(), baselines=t.baseline_values(), n_samples=n_samples, stdevs=stdevs, target=t.targets,
        additional_forward_args=t.layer_args)
    return MethodResult(numpy(attributions), completeness=True, params={"n_samples": n_samples, "stdevs": stdevs})


def occlusion(task: Task) -> MethodResult:
    """Replace a window of ``window`` tokens by the baseline, sliding one token at a time.

    A token's score is the mean output drop of the windows covering it
    (``Occlusion`` on the layer's output, one text at a time so windows never
    reach into padding).
    """
    from captum.attr import Occlusion

    t = Tensors(task)
    window = task.options["window"]
    values, baseline = t.values(), t.baseline_values()
    scores = np.zeros(task.input_ids.shape)
    for row, n in enumerate(task.lengths):
        cut = slice(row, row + 1)
        attributions = Occlusion(t.layer_forward).attribute(
            values[cut, :n], sliding_window_shapes=(min(window, n), values.shape[-1]), strides=(1, values.shape[-1]),
            baselines=baseline[cut, :n], target=t.targets[row], additional_forward_args=(t.ids[cut, :n], t.mask[cut, :n]),
            perturbations_per_eval=t.perturbations_per_eval())
        scores[row, :n] = numpy(attributions[0, :, 0])
    return MethodResult(scores=scores, params={"window": window})


def feature_ablation(task: Task) -> MethodResult:
    """Output drop when one token's layer output is replaced by the baseline's (``LayerFeatureAblation``).

    One ablated token per forward pass of the whole batch: Captum's
    ``LayerFeatureAblation`` does not repeat per-text targets for
    ``perturbations_per_eval > 1``.
    """
    import torch
    from captum.attr import LayerFeatureAblation

    t = Tensors(task)
    baseline = t.baseline_values()
    positions = torch.arange(t.ids.shape[1], device=t.ids.device)
    token_mask = positions.view(1, -1, 1).expand_as(baseline).contiguous()
    attributions = LayerFeatureAblation(t.forward, t.layer).attribute(
        t.ids, layer_baselines=baseline, target=t.targets, additional_forward_args=(t.mask,), layer_mask=token_mask)
    return MethodResult(scores=numpy(attributions[..., 0]))


@seeded
def lime(task: Task) -> MethodResult:
    """LIME over tokens: random subsets of tokens replaced by the baseline, weighted ridge surrogate.

    ``alpha`` is the ridge penalty of the reference LIME implementation; the
    surrogate is solved in closed form.
    """
    from captum.attr import Lime

    from attribkit.backends.torch._linear import WeightedLeastSquares

    n_samples, alpha = task.options["n_samples"], task.options["alpha"]
    t = Tensors(task)
    explainer = Lime(t.layer_forward, interpretable_model=WeightedLeastSquares(alpha))
    return _surrogate(t, explainer, n_samples, {"n_samples": n_samples, "alpha": alpha})


@seeded
def kernel_shap(task: Task) -> MethodResult:
    """Kernel SHAP over tokens (``KernelShap``), weighted least squares solved in closed form."""
    from captum.attr import KernelShap

    from attribkit.backends.torch._linear import WeightedLeastSquares

    n_samples = task.options["n_samples"]
    t = Tensors(task)
    explainer = KernelShap(t.layer_forward)
    explainer.interpretable_model = WeightedLeastSquares(0.0)
    return dataclasses.replace(_surrogate(t, explainer, n_samples, {"n_samples": n_samples}), completeness=True)


def _surrogate(t: Tensors, explainer: Any, n_samples: int, params: Dict[str, Any]) -> MethodResult:
    """Run a LIME-family ``explainer`` on one text with one feature per token; ``(1, n)`` scores.

    Only tokens whose baseline differs from the input are features (the
    others cannot change the output and score 0); they join the first
    feature's group so that Captum's mask covers every position.
    """
    import torch

    values, baseline = t.values(), t.baseline_values()
    active = (values != baseline).any(dim=-1)[0]
    scores = np.zeros(tuple(t.ids.shape))
    if n_samples <= int(active.sum()):
        raise MethodError(f"{explainer.__class__.__name__} with {int(active.sum())} tokens needs at least "
                          f"{int(active.sum()) + 1} samples (n_samples={n_samples}); raise n_samples")
    if int(active.sum()) < 2:  # with one feature, its LIME/SHAP value is F(x) - F(baseline)
        scores[0, active.cpu().numpy()] = t.task.output_differences()[0]
        return MethodResult(scores=scores, params=params)
    groups = (torch.cumsum(active.long(), dim=0) - 1).clamp(min=0)
    feature_mask = groups.view(1, -1, 1).expand_as(values).contiguous()
    attributions = explainer.attribute(
        values, baselines=baseline, target=t.targets, additional_forward_args=t.layer_args,
        feature_mask=feature_mask, n_samples=n_samples,
        perturbations_per_eval=min(n_samples, t.perturbations_per_eval()))
    return MethodResult(scores=numpy(attributions[..., 0] * active), params=params)


def _count(name: str, default: int, description: str) -> Option:
    return Option(name, default, description, "int", minimum=1, maximum=1_000_000)


#: The methods that evaluate the points they are given (``Task.alphas``), refined for ``n_steps="auto"``.
PATH_METHODS = ("integrated_gradients",)

#: ``(name, function, description, sampling, options)`` of every built-in method.
BUILTIN_METHODS = (
    ("integrated_gradients", integrated_gradients,
     "Integrated Gradients on the embeddings (Captum IntegratedGradients at the layer)", False,
     (Option("integration", "gausslegendre", "the integration rule", "choice", choices=INTEGRATIONS),)),
    ("saliency", saliency, "absolute gradient at the embeddings (Captum Saliency)", False,
     (Option("abs", True, "take the absolute value of the gradient", "bool"),)),
    ("input_x_gradient", input_x_gradient, "embeddings times gradient (Captum LayerGradientXActivation)", False, ()),
    ("deeplift", deeplift, "DeepLIFT on the embeddings (Captum LayerDeepLift)", False, ()),
    ("gradient_shap", gradient_shap, "expected gradients from the baseline (Captum GradientShap)", True,
     (_count("n_samples", 20, "random points per text"),
      Option("stdevs", 0.0, "standard deviation of the noise added to the embeddings", "float", minimum=0))),
    ("captum_occlusion", occlusion, "token occlusion with a sliding window at the layer (Captum Occlusion)", False,
     (_count("window", 1, "tokens occluded together"),)),
    ("captum_feature_ablation", feature_ablation,
     "one token at a time replaced by the baseline at the layer (Captum LayerFeatureAblation)", False, ()),
    ("captum_lime", lime, "LIME over tokens at the layer with a ridge surrogate (Captum Lime)", True,
     (_count("n_samples", 200, "perturbed copies of the text"),
      Option("alpha", 1.0, "ridge penalty of the surrogate", "float", minimum=0))),
    ("captum_kernel_shap", kernel_shap, "Kernel SHAP over tokens at the layer (Captum KernelShap)", True,
     (_count("n_samples", 200, "coalitions sampled"),)),
)
