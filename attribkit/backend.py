"""What a backend is, and what the host hands it.

A backend turns ``(model, tokenizer, texts, request)`` into
:class:`~attribkit.types.Explanation` objects. Backends are registered with
the ``attribkit_register_backends`` hook; this module holds the small types
that make up that contract and imports no framework.
"""
from __future__ import annotations

import abc
import importlib.util
from dataclasses import dataclass, field
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, Union

from attribkit.errors import AttribkitError
from attribkit.types import Explanation

TargetSpec = Union[None, int, str]


@dataclass(frozen=True)
class MethodSpec:
    """A registered attribution method (see ``attribkit_register_methods``)."""

    name: str
    backend: str
    function: Callable[..., Any]
    description: str = ""
    sampling: bool = False
    plugin: str = ""


@dataclass(frozen=True)
class RendererSpec:
    """A registered output format (see ``attribkit_register_renderers``)."""

    name: str
    function: Callable[..., str]
    extension: str
    description: str = ""
    plugin: str = ""


@dataclass(frozen=True)
class BackendSpec:
    """A registered backend (see ``attribkit_register_backends``)."""

    name: str
    factory: Callable[[], "Backend"]
    framework: str
    requires: Tuple[str, ...] = ()
    install_hint: str = ""
    licence: Optional[str] = None
    description: str = ""
    plugin: str = ""

    def missing(self) -> List[str]:
        """Required modules that cannot be imported here (without importing them)."""
        return [name for name in self.requires if importlib.util.find_spec(name) is None]


@dataclass(frozen=True)
class ExplainRequest:
    """Everything the user asked for, resolved by the host, for one batch.

    Attributes:
        method: the method to run (registered for this backend).
        targets: one target per text: ``None`` (the predicted class), a
            class index or a label name. The backend resolves names with
            :func:`attribkit.tokenize.resolve_target`.
        output: ``"probability"`` or ``"logit"``.
        n_steps: integration steps for path methods.
        baseline: ``"pad"``, ``"zero"`` or a backend-specific value.
        layer: the layer to attribute to (object, dotted path or ``None``
            for the backend's automatic choice).
        true_labels: one gold label (or ``None``) per text.
        batch_size: texts per forward pass, or ``None`` for automatic.
        options: remaining method/backend keyword options.
    """

    method: MethodSpec
    targets: Sequence[TargetSpec]
    output: str = "probability"
    n_steps: int = 50
    baseline: Any = "pad"
    layer: Any = None
    true_labels: Sequence[Any] = ()
    batch_size: Optional[int] = None
    options: Mapping[str, Any] = field(default_factory=dict)


ItemResult = Union[Explanation, AttribkitError]


class Backend(abc.ABC):
    """Explains models of one framework.

    Subclasses set ``name`` and ``framework`` and implement :meth:`explain`;
    :meth:`load` is needed for the CLI's ``--model``.
    """

    name: str = ""
    framework: str = ""

    @abc.abstractmethod
    def explain(self, model: Any, tokenizer: Any, texts: Sequence[str], request: ExplainRequest) -> List[ItemResult]:
        """Explain every text; return one result per text, in order.

        A failure that concerns one text (too long, bad target...) is
        returned in that text's place as an :class:`AttribkitError` so that
        the other texts' results are kept. A failure of the whole call (the
        model cannot be used) is raised.
        """

    def load(self, name_or_path: str, **kwargs: Any) -> Tuple[Any, Any]:
        """Load ``(model, tokenizer)`` from a Hugging Face name or local path."""
        raise AttribkitError(f"backend {self.name!r} cannot load models by name; pass a model object")
