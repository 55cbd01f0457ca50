"""What a backend is, and what the host hands the pipeline.

A backend adapts one framework: it turns ``(model, tokenizer)`` into a
:class:`~attribkit.pipeline.ModelAdapter` and brings methods for it. The
process of explaining (tokenise, baselines, batches, predictions, targets,
the explained output, completeness, assembly) is the core pipeline's
(:mod:`attribkit.pipeline`), written once for every backend. Backends are
registered with the ``attribkit_register_backends`` hook; this module holds
the records the host keeps and imports no framework.
"""
from __future__ import annotations

import abc
import importlib.util
from dataclasses import dataclass
from typing import Any, Callable, List, Mapping, Optional, Tuple, Union

from attribkit.errors import AttribkitError
from attribkit.pipeline.adapter import ModelAdapter
from attribkit.pipeline.options import Option
from attribkit.pipeline.run import ExplainRequest
from attribkit.pipeline.task import ANY_BACKEND, MethodSpec
from attribkit.results import Explanation

__all__ = ["ANY_BACKEND", "Backend", "BackendSpec", "ExplainRequest", "ItemResult", "METRIC_KINDS", "MethodSpec",
           "MetricSpec", "RendererSpec"]


@dataclass(frozen=True)
class RendererSpec:
    """A registered output format (see ``attribkit_register_renderers``).

    ``streams``: ``function`` takes any iterable of explanations and returns an
    iterator of text pieces, so a file of any size is rendered in bounded memory.
    """

    name: str
    function: Callable[..., Any]
    extension: str
    description: str = ""
    plugin: str = ""
    streams: bool = False


@dataclass(frozen=True)
class BackendSpec:
    """A registered backend (see ``attribkit_register_backends``).

    ``capabilities``: what its adapters give beyond raw outputs (``"gradients"``:
    :meth:`~attribkit.ModelAdapter.gradients`), so the methods written for every
    backend that need it run on this one.
    """

    name: str
    factory: Callable[[], "Backend"]
    framework: str
    requires: Tuple[str, ...] = ()
    install_hint: str = ""
    licence: Optional[str] = None
    description: str = ""
    capabilities: Tuple[str, ...] = ()
    plugin: str = ""

    def missing(self) -> List[str]:
        """Required modules that cannot be imported here (without importing them)."""
        return [name for name in self.requires if importlib.util.find_spec(name) is None]


#: What a metric measures: the model's behaviour, agreement with people, or agreement between methods.
METRIC_KINDS = ("faithfulness", "plausibility", "agreement")


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric (see ``attribkit_register_metrics``).

    Attributes:
        name: what users pass in ``metrics=``.
        function: ``function(batch) -> list`` (one entry per row), or ``function(scores_a, scores_b) -> float``
            when ``pairwise``.
        higher_is_better: the direction of a better explanation.
        kind: one of :data:`METRIC_KINDS`.
        description: one line.
        cost: its cost in forward passes, in words.
        needs: ``("rationale",)``: computed only where a human rationale is given.
        options: the options it reads from ``batch.settings``.
        pairwise: compares two explanations of one text.
        plugin: the plugin that registered it.
    """

    name: str
    function: Callable[..., Any]
    higher_is_better: bool
    kind: str = "faithfulness"
    description: str = ""
    cost: str = ""
    needs: Tuple[str, ...] = ()
    options: Tuple[Option, ...] = ()
    pairwise: bool = False
    plugin: str = ""


ItemResult = Union[Explanation, AttribkitError]


class Backend(abc.ABC):
    """Adapts one framework's models for the pipeline.

    Subclasses set ``name``, ``framework`` and ``options`` (what :meth:`adapt`
    reads) and implement :meth:`adapt`; :meth:`load` is needed for the CLI's ``--model``.
    """

    name: str = ""
    framework: str = ""
    options: Tuple[Option, ...] = ()

    @abc.abstractmethod
    def adapt(self, model: Any, tokenizer: Any, *, layer: Any = None,
              options: Optional[Mapping[str, Any]] = None) -> ModelAdapter:
        """The adapter of ``model`` and ``tokenizer``; ``options`` holds this backend's options, checked,
        with their defaults. Raise :class:`attribkit.ModelError` (or another ``AttribkitError``) for a
        model or layer it cannot explain."""

    def load(self, name_or_path: str, **kwargs: Any) -> Tuple[Any, Any]:
        """Load ``(model, tokenizer)`` from a Hugging Face name or local path."""
        raise AttribkitError(f"backend {self.name!r} cannot load models by name; pass a model object")

    def configure_exclusive(self) -> None:
        """Called by the command line when a command uses this backend alone: a backend may set
        process-wide options that would hinder other backends (nothing by default)."""
