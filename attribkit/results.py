"""Framework-neutral result types (numpy only): a leaf of the core.

An :class:`Explanation` is what every backend returns and every renderer
consumes. It is immutable and validated on construction: a wrong shape, a
NaN or a wrong type raises :class:`ValueError` naming the field. It turns
into a plain dict following the shipped JSON Schema and back
(:meth:`Explanation.to_dict`, :meth:`Explanation.from_dict`); files are
:mod:`attribkit.serialize`'s business. This module imports neither the API
nor serialisation.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np

from attribkit import _schema
from attribkit._schema import SCHEMA_VERSION, parse_json
from attribkit._version import __version__
from attribkit.errors import SchemaError

#: What the explained function returns: the class probability (softmax, or
#: sigmoid for a single-output model) or the model's raw output.
OUTPUT_KINDS = ("probability", "logit", "sum")


def _freeze(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _array(name: str, value: Any, dtype: Any, ndim: int) -> np.ndarray:
    try:
        array = np.array(value, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot be read as a {np.dtype(dtype).name} array ({exc})") from None
    if array.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimension(s), got shape {array.shape}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return _freeze(array)


def _optional_float(name: str, value: Any) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name}: expected a number or None, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}: must be finite, got {value}")
    return value


def _check_str(name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected str, got {type(value).__name__}")


def _json_like(name: str, value: Any) -> Any:
    """Return ``value`` converted to plain JSON types, or raise naming ``name``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            raise ValueError(f"{name}: must be finite, got {value}")
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _json_like(f"{name}.{k}", v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_like(f"{name}[{i}]", v) for i, v in enumerate(value)]
    raise ValueError(f"{name}: {type(value).__name__} is not JSON-serialisable; use str, number, bool, list or dict")


@dataclass(frozen=True, eq=False)
class Target:
    """The class whose output is explained."""

    index: int
    label: str

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not isinstance(self.index, (int, np.integer)):
            raise ValueError(f"target.index: expected int, got {type(self.index).__name__}")
        object.__setattr__(self, "index", int(self.index))
        _check_str("target.label", self.label)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Target) and (self.index, self.label) == (other.index, other.label)

    def __hash__(self) -> int:
        return hash((self.index, self.label))


@dataclass(frozen=True, eq=False)
class Prediction:
    """What the model predicted for the text.

    Attributes:
        probabilities: shape ``(n_classes,)``; softmax of the outputs, or
            ``[1 - p, p]`` for a single-output (sigmoid) model.
        labels: ``n_classes`` label names.
        raw: shape ``(n_outputs,)``, the model's raw output (logits for
            Hugging Face models; ``n_outputs`` is 1 for a single-output model),
            or ``None`` when the backend does not expose it.
    """

    probabilities: np.ndarray
    labels: tuple
    raw: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        probs = _array("prediction.probabilities", self.probabilities, np.float64, 1)
        object.__setattr__(self, "probabilities", probs)
        labels = tuple(self.labels)
        for i, label in enumerate(labels):
            _check_str(f"prediction.labels[{i}]", label)
        if len(labels) != probs.shape[0]:
            raise ValueError(
                f"prediction.labels: {len(labels)} labels for {probs.shape[0]} probabilities"
            )
        if probs.shape[0] == 0:
            raise ValueError("prediction.probabilities: empty")
        if np.any(probs < 0) or np.any(probs > 1) or abs(float(probs.sum()) - 1.0) > 1e-4:
            raise ValueError(f"prediction.probabilities: {probs.tolist()} are not probabilities (each in [0, 1], "
                             "summing to 1)")
        object.__setattr__(self, "labels", labels)
        if self.raw is not None:
            object.__setattr__(self, "raw", _array("prediction.raw", self.raw, np.float64, 1))

    @property
    def index(self) -> int:
        """Index of the predicted class (largest probability)."""
        return int(np.argmax(self.probabilities))

    @property
    def label(self) -> str:
        return self.labels[self.index]

    @property
    def probability(self) -> float:
        """Probability of the predicted class."""
        return float(self.probabilities[self.index])


@dataclass(frozen=True, eq=False)
class Method:
    """How the attributions were computed.

    Attributes:
        name: registered method name, e.g. ``"integrated_gradients"``.
        output: ``"probability"``, ``"logit"`` (the model's raw output) or
            ``"sum"`` (the sum of the raw outputs, whatever the target).
        params: JSON-compatible parameters: ``n_steps``, ``integration``,
            ``baseline`` (a description), ``layer``, ``seed``...
    """

    name: str
    output: str = "probability"
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_str("method.name", self.name)
        if self.output not in OUTPUT_KINDS:
            raise ValueError(f"method.output: expected one of {OUTPUT_KINDS}, got {self.output!r}")
        object.__setattr__(self, "params", MappingProxyType(_json_like("method.params", dict(self.params))))


@dataclass(frozen=True, eq=False)
class ModelInfo:
    """Which model and which backend produced the explanation.

    ``name`` is the model's hub name; a model loaded from a local directory is named by the directory's
    last component, so that results carry no local paths.
    """

    framework: str
    backend: str
    name: str
    architecture: Optional[str] = None

    def __post_init__(self) -> None:
        for attr in ("framework", "backend", "name"):
            _check_str(f"model.{attr}", getattr(self, attr))
        if os.path.isabs(self.name) or self.name.startswith(("./", "../", "~")):
            object.__setattr__(self, "name", os.path.basename(os.path.normpath(self.name)) or self.name)
        if self.architecture is not None:
            _check_str("model.architecture", self.architecture)


TrueLabel = Union[int, str, None]


@dataclass(frozen=True, eq=False, repr=False)
class Explanation:
    """Token attributions of one text for one target class.

    Arrays have one row per token, special tokens included (``n`` tokens):

    Attributes:
        text: the input text.
        tokens: ``n`` display strings, as the tokenizer writes them.
        offsets: shape ``(n, 2)``, int; character span ``[start, end)`` of each
            token in ``text``; ``start == end`` for tokens with no span
            (special tokens).
        token_ids: shape ``(n,)``, int; vocabulary ids.
        special_mask: shape ``(n,)``, bool; ``True`` for special tokens.
        scores: shape ``(n,)``, float; raw attribution of each token (summed
            over the hidden dimension), so that ``scores.sum()`` approximates
            ``F(x) - F(baseline)`` for Integrated Gradients.
        target: the explained class.
        prediction: the model's prediction.
        method: method name, output kind and parameters.
        model: framework, backend and model identity.
        attributions: shape ``(n, d)`` per-dimension attributions, or ``None``.
        true_label: the gold label if the user gave one.
        convergence_delta: the method's own convergence delta, if any.
        completeness_gap: ``|scores.sum() - (F(x) - F(baseline))|``, if known.
        output_difference: ``F(x) - F(baseline)`` of the explained output, if known.
        warnings: messages about this result (truncation, a large gap...).
        metadata: JSON values carried with the result, e.g. a corpus item's ``id``
            and the input's extra fields (``{"id": 7, "source": "forum"}``).

    Two explanations are equal (``==``) when their content is: every field,
    arrays compared by value; the attribkit and schema versions that wrote
    them are left out, so an explanation saved and loaded back is equal to
    the original. Equal explanations hash alike.
    """

    text: str
    tokens: tuple
    offsets: np.ndarray
    token_ids: np.ndarray
    special_mask: np.ndarray
    scores: np.ndarray
    target: Target
    prediction: Prediction
    method: Method
    model: ModelInfo
    attributions: Optional[np.ndarray] = None
    true_label: TrueLabel = None
    convergence_delta: Optional[float] = None
    completeness_gap: Optional[float] = None
    output_difference: Optional[float] = None
    warnings: tuple = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    attribkit_version: str = __version__
    schema_version: str = SCHEMA_VERSION

    def __post_init__(self) -> None:
        _check_str("text", self.text)
        tokens = tuple(self.tokens)
        for i, token in enumerate(tokens):
            _check_str(f"tokens[{i}]", token)
        object.__setattr__(self, "tokens", tokens)
        n = len(tokens)

        offsets = _array("offsets", self.offsets, np.int64, 2) if n else _freeze(np.zeros((0, 2), np.int64))
        if offsets.shape != (n, 2):
            raise ValueError(f"offsets: expected shape ({n}, 2) for {n} tokens, got {offsets.shape}")
        if n and (offsets.min() < 0 or offsets.max() > len(self.text) or np.any(offsets[:, 0] > offsets[:, 1])):
            raise ValueError(f"offsets: spans must satisfy 0 <= start <= end <= len(text) = {len(self.text)}")
        object.__setattr__(self, "offsets", offsets)

        for name, dtype in (("token_ids", np.int64), ("special_mask", bool), ("scores", np.float64)):
            array = _array(name, getattr(self, name), dtype, 1)
            if array.shape != (n,):
                raise ValueError(f"{name}: expected shape ({n},) for {n} tokens, got {array.shape}")
            object.__setattr__(self, name, array)

        if self.attributions is not None:
            attributions = _array("attributions", self.attributions, np.float64, 2)
            if attributions.shape[0] != n:
                raise ValueError(f"attributions: expected {n} rows, got shape {attributions.shape}")
            object.__setattr__(self, "attributions", attributions)

        for name, cls in (("target", Target), ("prediction", Prediction), ("method", Method), ("model", ModelInfo)):
            if not isinstance(getattr(self, name), cls):
                raise ValueError(f"{name}: expected {cls.__name__}, got {type(getattr(self, name)).__name__}")
        n_classes = len(self.prediction.labels)
        if not 0 <= self.target.index < n_classes:
            raise ValueError(f"target.index: {self.target.index} out of range for {n_classes} classes")
        if self.target.label != self.prediction.labels[self.target.index]:
            raise ValueError(
                f"target.label: {self.target.label!r} is not the label of class {self.target.index} "
                f"({self.prediction.labels[self.target.index]!r})"
            )

        if self.true_label is not None and (
            isinstance(self.true_label, bool) or not isinstance(self.true_label, (int, np.integer, str))
        ):
            raise ValueError(f"true_label: expected int, str or None, got {type(self.true_label).__name__}")
        if isinstance(self.true_label, np.integer):
            object.__setattr__(self, "true_label", int(self.true_label))

        for name in ("convergence_delta", "completeness_gap", "output_difference"):
            object.__setattr__(self, name, _optional_float(name, getattr(self, name)))

        warnings = tuple(self.warnings)
        for i, warning in enumerate(warnings):
            _check_str(f"warnings[{i}]", warning)
        object.__setattr__(self, "warnings", warnings)
        if not isinstance(self.metadata, Mapping):
            raise ValueError(f"metadata: expected a mapping of JSON values, got {type(self.metadata).__name__}")
        object.__setattr__(self, "metadata", MappingProxyType(_json_like("metadata", dict(self.metadata))))
        _check_str("attribkit_version", self.attribkit_version)
        _check_str("schema_version", self.schema_version)

    # -- convenience -----------------------------------------------------
    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def relative_completeness_gap(self) -> Optional[float]:
        """``completeness_gap / |F(x) - F(baseline)|``, or ``None`` when unknown."""
        if self.completeness_gap is None or not self.output_difference:
            return None
        return self.completeness_gap / abs(self.output_difference)

    def _content(self) -> dict:
        """Every field as plain values, without the versions of the writer: what ``==`` compares."""
        content = self.to_dict()
        del content["schema_version"], content["attribkit_version"]
        return content

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Explanation):
            return NotImplemented
        return self is other or self._content() == other._content()

    def __hash__(self) -> int:
        # Fields that ``==`` compares exactly, so that equal explanations hash alike.
        return hash((self.text, self.tokens, self.target, self.method.name, self.model.name))

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 40 else self.text[:37] + "..."
        return (
            f"Explanation(text={text!r}, n_tokens={len(self)}, method={self.method.name!r}, "
            f"target={self.target.label!r}, predicted={self.prediction.label!r} "
            f"({self.prediction.probability:.2f}), backend={self.model.backend!r})"
        )

    # -- plain dicts and JSON ---------------------------------------------------
    def to_dict(self, *, include_attributions: bool = True) -> dict:
        """Plain JSON-compatible dict following the shipped JSON schema; every field is kept."""
        prediction = {
            "probabilities": self.prediction.probabilities.tolist(),
            "labels": list(self.prediction.labels),
            "raw": None if self.prediction.raw is None else self.prediction.raw.tolist(),
            "index": self.prediction.index,
            "label": self.prediction.label,
        }
        attributions = self.attributions.tolist() if include_attributions and self.attributions is not None else None
        return {
            "schema_version": self.schema_version,
            "attribkit_version": self.attribkit_version,
            "text": self.text,
            "tokens": list(self.tokens),
            "offsets": self.offsets.tolist(),
            "token_ids": self.token_ids.tolist(),
            "special_mask": self.special_mask.tolist(),
            "scores": self.scores.tolist(),
            "attributions": attributions,
            "target": {"index": self.target.index, "label": self.target.label},
            "prediction": prediction,
            "method": {"name": self.method.name, "output": self.method.output, "params": dict(self.method.params)},
            "model": {"framework": self.model.framework, "backend": self.model.backend, "name": self.model.name,
                      "architecture": self.model.architecture},
            "true_label": self.true_label,
            "convergence_delta": self.convergence_delta,
            "completeness_gap": self.completeness_gap,
            "output_difference": self.output_difference,
            "warnings": list(self.warnings),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Explanation":
        """Inverse of :meth:`to_dict`; validates against the schema (:class:`attribkit.SchemaError`)."""
        _schema.validate(data)
        p = data["prediction"]
        try:
            return cls(
                text=data["text"], tokens=data["tokens"], offsets=data["offsets"], token_ids=data["token_ids"],
                special_mask=data["special_mask"], scores=data["scores"], attributions=data.get("attributions"),
                target=Target(**data["target"]), prediction=Prediction(p["probabilities"], p["labels"], p.get("raw")),
                method=Method(**data["method"]), model=ModelInfo(**data["model"]),
                true_label=data.get("true_label"), convergence_delta=data.get("convergence_delta"),
                completeness_gap=data.get("completeness_gap"), output_difference=data.get("output_difference"),
                warnings=data.get("warnings", []), metadata=data.get("metadata") or {},
                attribkit_version=data["attribkit_version"],
                schema_version=data["schema_version"],
            )
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise SchemaError(f"invalid explanation: {exc}") from None

    def to_json(self, *, indent: Optional[int] = None, include_attributions: bool = True) -> str:
        return json.dumps(self.to_dict(include_attributions=include_attributions), indent=indent,
                          ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "Explanation":
        """Parse one explanation; raises :class:`attribkit.SchemaError` with one clear line."""
        return cls.from_dict(parse_json(text, "an explanation"))

    def _repr_html_(self) -> Optional[str]:
        """Notebook display: the HTML renderer's view of this explanation (see :func:`show_html_with`)."""
        return None if _notebook_html is None else _notebook_html(self)


#: What notebooks show for an explanation; installed by :mod:`attribkit.api` (the renderers are plugins).
_notebook_html: Optional[Callable[[Explanation], str]] = None


def show_html_with(function: Optional[Callable[[Explanation], str]]) -> None:
    """Set the function that turns an explanation into HTML for notebooks (``None``: plain repr)."""
    global _notebook_html
    _notebook_html = function


Explanations = Sequence[Explanation]


@dataclass(frozen=True)
class ErrorRecord:
    """A corpus item that could not be explained: its id, where it was in the input, and why.

    Written to a corpus run's output in place of the item's explanation, as
    ``{"id": 7, "where": "line 7", "error": "..."}``; readers tell it from an
    explanation by its ``error`` field.
    """

    id: Any
    where: str
    error: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", _json_like("id", self.id))
        _check_str("where", self.where)
        _check_str("error", self.error)

    def to_dict(self) -> dict:
        return {"id": self.id, "where": self.where, "error": self.error}

    @staticmethod
    def is_one(data: Any) -> bool:
        """Whether a parsed JSON value is an error record (not an explanation)."""
        return isinstance(data, Mapping) and "error" in data and "schema_version" not in data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ErrorRecord":
        try:
            return cls(data.get("id"), data.get("where", ""), data["error"])
        except (KeyError, ValueError) as exc:
            raise SchemaError(f"invalid error record: {exc}") from None


#: One line of a corpus run's output.
Record = Union[Explanation, ErrorRecord]
