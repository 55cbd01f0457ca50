"""The PyTorch backend, registered as the ``torch`` attribkit plugin.

Explains ``torch.nn.Module`` text classifiers (Hugging Face or hand-built)
with Captum. This module imports without torch: it registers names and a
factory, and torch, captum and transformers are imported only when a torch
model is explained. See ``docs/backend-torch.md``.

Plugin authors adding a method for this backend use :class:`MethodResult`,
:func:`takes_options` and (for type hints) ``TorchTask``.
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Optional

from attribkit.backends.torch._methods import BUILTIN_METHODS, MethodResult, takes_options
from attribkit.hookspecs import hookimpl

__all__ = ["MethodResult", "TorchTask", "takes_options"]

BACKEND = "torch"


def _create_backend() -> Any:
    from attribkit.backends.torch._captum import TorchBackend

    return TorchBackend()


@hookimpl
def attribkit_register_backends(register: Callable[..., None]) -> None:
    register(
        BACKEND, _create_backend, framework="torch", requires=("torch", "captum"),
        install_hint='pip install "attribkit[torch]"', licence="Captum: BSD-3-Clause",
        description="PyTorch classifiers (Hugging Face or hand-built) explained with Captum on the embeddings",
    )


@hookimpl
def attribkit_backend_for_model(model: Any) -> Optional[str]:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return BACKEND
    return None


@hookimpl
def attribkit_register_methods(register: Callable[..., None]) -> None:
    for name, function, description, sampling in BUILTIN_METHODS:
        register(name, BACKEND, function, description=description, sampling=sampling)


def __getattr__(name: str) -> Any:
    if name == "TorchTask":  # imports torch, so only on request
        from attribkit.backends.torch._task import TorchTask

        return TorchTask
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
