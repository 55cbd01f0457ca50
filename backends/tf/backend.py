"""The TensorFlow backend: explains Keras classifiers with alibi.

Importing this module imports TensorFlow (with ``tf.keras`` routed to
Keras 2, see :mod:`attribkit.backends.tf.runtime`); alibi itself is
imported by the method on first use.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from attribkit.backend import Backend, ExplainRequest, ItemResult
from attribkit.backends.tf.adapter import Batch, ClassifierAdapter, baseline_description, check_baseline
from attribkit.backends.tf.costs import group_texts, rows_per_pass
from attribkit.backends.tf.hf import HFClassifier, is_hf_model
from attribkit.backends.tf.methods import AttributionJob, AttributionResult
from attribkit.backends.tf.runtime import check_model, import_tensorflow, keras_module
from attribkit.backends.tf.wordmodel import KerasWordClassifier
from attribkit.errors import AttribkitError, InputError, MethodError, ModelError
from attribkit.tokenize import explained_value, label_names, probabilities, resolve_target
from attribkit.types import Explanation, Method, Prediction, Target

#: ``load`` options that also apply to the tokenizer.
HUB_OPTIONS = ("cache_dir", "local_files_only", "revision", "token")

_PROBABILITY_LOGIT_NOTE = (
    "the model returns probabilities, so output='logit' explains its raw output (the probability itself)"
)


def make_adapter(tf: Any, model: Any, package: str, tokenizer: Any, layer: Any,
                 options: Dict[str, Any]) -> ClassifierAdapter:
    """The adapter for ``model``; it removes the options it uses from ``options``."""
    keras = keras_module(package)
    if is_hf_model(model):
        return HFClassifier(tf, keras, model, tokenizer, layer, options)
    return KerasWordClassifier(tf, keras, model, tokenizer, layer, options)


class TFBackend(Backend):
    """Explains Hugging Face TF classifiers and Keras word models with alibi's Integrated Gradients."""

    name = "tf"
    framework = "tensorflow"

    def __init__(self) -> None:
        self.tf = import_tensorflow()

    @property
    def threads(self) -> int:
        """TensorFlow's CPU threads per operation."""
        return self.tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count() or 1

    def explain(self, model: Any, tokenizer: Any, texts: Sequence[str], request: ExplainRequest) -> List[ItemResult]:
        package = check_model(model, self.tf)
        check_baseline(request.baseline)
        options = dict(request.options)
        return_attributions = bool(options.pop("return_attributions", False))
        labels = options.pop("labels", None)
        adapter = make_adapter(self.tf, model, package, tokenizer, request.layer, options)
        call = _Call(adapter, request, options, labels, return_attributions, self.threads)

        results: List[Any] = [None] * len(texts)
        encodings: Dict[int, Any] = {}
        for i, text in enumerate(texts):
            try:
                encodings[i] = adapter.encode(text)
            except InputError as exc:
                results[i] = exc
        lengths = {i: len(e.input_ids) for i, e in encodings.items()}
        for buckets in group_texts(lengths, adapter.size, request.n_steps, self.threads, request.batch_size,
                                   adapter.max_buckets):
            group = [i for bucket in buckets for i in bucket]
            limits = [lengths[bucket[0]] for bucket in buckets for _ in bucket]
            with adapter.explaining():
                items = call.explain_group(group, [encodings[i] for i in group], limits)
            for i, item in zip(group, items):
                results[i] = item
        return results

    def load(self, name_or_path: str, **kwargs: Any) -> Tuple[Any, Any]:
        """``TFAutoModelForSequenceClassification`` and ``AutoTokenizer`` from a hub name or a local folder.

        A hub name that is not cached while the hub cannot be reached fails
        at once (:func:`attribkit.hub.check_loadable`); a cached one is read
        without touching the network. ``kwargs`` go to the model's
        ``from_pretrained``; the hub options among them (:data:`HUB_OPTIONS`)
        to the tokenizer's too. A folder (or hub repository) with only
        PyTorch weights is converted (``from_pt=True``).
        """
        from attribkit.hub import check_loadable

        if check_loadable(name_or_path):  # before importing transformers: an unreachable hub fails in seconds
            kwargs.setdefault("local_files_only", True)
        from transformers import AutoTokenizer, TFAutoModelForSequenceClassification

        try:
            model = _load_tf_model(TFAutoModelForSequenceClassification, name_or_path, kwargs)
            hub_options = {k: v for k, v in kwargs.items() if k in HUB_OPTIONS}
            tokenizer = AutoTokenizer.from_pretrained(name_or_path, **hub_options)
        except (OSError, ValueError, TypeError) as exc:
            raise _load_error(name_or_path, exc) from None
        return model, tokenizer


def _has_pytorch_weights(name_or_path: str, error: Exception) -> bool:
    if "from_pt=True" in str(error):
        return True
    if not os.path.isdir(name_or_path):
        return False
    files = set(os.listdir(name_or_path))
    return "tf_model.h5" not in files and bool(files & {"pytorch_model.bin", "model.safetensors"})


class _CompleteConversionNotices(logging.Filter):
    """Drops transformers' notices that a PyTorch checkpoint was converted completely (printed on every
    load of such a model, the bundled one included); its warnings about weights left out still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(("All PyTorch model weights were used", "All the weights of"))


def _load_tf_model(model_class: Any, name_or_path: str, kwargs: Dict[str, Any]) -> Any:
    try:
        return model_class.from_pretrained(name_or_path, **kwargs)
    except (OSError, ValueError, TypeError) as exc:
        if kwargs.get("from_pt") or not _has_pytorch_weights(name_or_path, exc):
            raise
    logger, notices = logging.getLogger("transformers.modeling_tf_pytorch_utils"), _CompleteConversionNotices()
    logger.addFilter(notices)
    try:
        return model_class.from_pretrained(name_or_path, from_pt=True, **kwargs)
    finally:
        logger.removeFilter(notices)


def _load_error(name_or_path: str, exc: Exception) -> InputError:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(f"could not load a TensorFlow sequence classifier from {name_or_path!r}: {message}")


def _check_result(result: Any, job: AttributionJob) -> None:
    if not isinstance(result, AttributionResult):
        raise MethodError(f"the method returned a {type(result).__name__}, not an AttributionResult")
    if result.attributions.ndim != 3 or result.attributions.shape[:2] != job.inputs.shape[:2]:
        raise MethodError(f"the method returned attributions of shape {result.attributions.shape}; "
                          f"expected ({job.inputs.shape[0]}, {job.inputs.shape[1]}, hidden)")
    if not np.all(np.isfinite(result.attributions)):
        raise ModelError("the attributions contain NaN or inf; check the model's weights and outputs")


@dataclass(frozen=True)
class _Call:
    """One ``explain`` call: the model's adapter and what the user asked for.

    Attributes:
        options: the method's options (what the backend and adapter did not use).
        labels: the user's class names, or ``None``.
        threads: TensorFlow's CPU threads, for the size of a pass.
    """

    adapter: ClassifierAdapter
    request: ExplainRequest
    options: Mapping[str, Any]
    labels: Optional[Sequence[str]]
    return_attributions: bool
    threads: int

    def outputs(self, batch: Batch) -> Tuple[np.ndarray, np.ndarray]:
        """The model's raw outputs for the inputs and the baselines, each ``(N, n_outputs)``; finite or ModelError."""
        raw, raw_baseline = self.adapter.outputs(batch)
        for name, values in (("texts", raw), ("baselines", raw_baseline)):
            if not np.all(np.isfinite(values)):
                raise ModelError(f"the model returned non-finite outputs (NaN or inf) for the {name}; "
                                 "check its weights and inputs")
        return raw, raw_baseline

    def explain_group(self, indices: List[int], encodings: List[Any], limits: List[int]) -> List[ItemResult]:
        """Texts ``indices`` padded together: one forward pass for predictions and targets, one method call.

        ``limits``: per text, the length of its bucket (see :func:`~attribkit.backends.tf.costs.group_texts`).
        """
        adapter, request = self.adapter, self.request
        batch = adapter.batch(encodings, request.baseline, limits)
        raw, raw_baseline = self.outputs(batch)
        names = label_names(adapter.id2label, raw.shape[1], self.labels)
        results: List[Any] = [None] * len(encodings)
        predictions, targets, keep = {}, {}, []
        for row, index in enumerate(indices):
            predictions[row] = Prediction(probabilities(raw[row], already_probabilities=adapter.already_probabilities),
                                          names, raw=raw[row])
            try:
                targets[row] = resolve_target(request.targets[index], names, predictions[row].index)
            except AttribkitError as exc:
                results[row] = exc
                continue
            keep.append(row)
        if not keep:
            return results
        explained = batch.rows(keep)
        inputs = adapter.model_inputs(explained, request.output)
        job = AttributionJob(
            model=inputs.model, layer=inputs.layer, inputs=inputs.inputs, baselines=inputs.baselines,
            forward_kwargs=inputs.forward_kwargs, targets=np.array([targets[row].index for row in keep]),
            n_steps=request.n_steps, rows_per_pass=rows_per_pass(adapter.size, batch.inputs.shape[1], self.threads),
            options=self.options,
        )
        result = request.method.function(job)
        _check_result(result, job)
        method = Method(request.method.name, request.output, {
            "n_steps": request.n_steps, "baseline": baseline_description(request.baseline),
            "layer": adapter.layer_name, **result.params,
        })
        for k, row in enumerate(keep):
            difference = (self.explained_value(raw[row], targets[row].index)
                          - self.explained_value(raw_baseline[row], targets[row].index))
            delta = None if result.convergence_delta is None else float(result.convergence_delta[k])
            true_label = request.true_labels[indices[row]] if request.true_labels else None
            results[row] = self.explanation(encodings[row], result.attributions[k][explained.positions[k]],
                                            targets[row], predictions[row], method, difference, delta, true_label)
        return results

    def explained_value(self, raw: np.ndarray, target: int) -> float:
        return explained_value(raw, target, self.request.output,
                               already_probabilities=self.adapter.already_probabilities)

    def explanation(self, encoding: Any, attributions: np.ndarray, target: Target, prediction: Prediction,
                    method: Method, difference: float, delta: Optional[float], true_label: Any) -> Explanation:
        """One text's explanation from its tokens' attributions, shape ``(n, d)``."""
        attributions = np.asarray(attributions, dtype=np.float64)
        scores = attributions.sum(axis=-1)
        warnings = [w for w in (encoding.truncation_warning(),) if w]
        if self.request.output == "logit" and self.adapter.already_probabilities:
            warnings.append(_PROBABILITY_LOGIT_NOTE)
        return Explanation(
            text=encoding.text, tokens=encoding.tokens, offsets=encoding.offsets, token_ids=encoding.input_ids,
            special_mask=encoding.special_mask, scores=scores, target=target, prediction=prediction, method=method,
            model=self.adapter.info, attributions=attributions if self.return_attributions else None,
            true_label=true_label, convergence_delta=delta, completeness_gap=abs(float(scores.sum()) - difference),
            output_difference=difference, warnings=tuple(warnings),
        )
