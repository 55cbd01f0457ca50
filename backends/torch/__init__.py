"""The PyTorch backend, registered as the ``torch`` attribkit plugin.

Explains ``torch.nn.Module`` text classifiers (Hugging Face or hand-built)
with Captum: a model adapter (:mod:`attribkit.backends.torch.adapter`) and
Captum methods (:mod:`attribkit.backends.torch.methods`); the core pipeline
does the rest. This module imports without torch: torch, Captum and
transformers are imported only when a torch model is explained. See
``docs/backend-torch.md``.
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Optional

from attribkit.backends.torch.methods import BUILTIN_METHODS, PATH_METHODS
from attribkit.hookspecs import hookimpl

BACKEND = "torch"


def _create_backend() -> Any:
    from attribkit.backends.torch.adapter import TorchBackend

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
    for name, function, description, sampling, options in BUILTIN_METHODS:
        register(name, BACKEND, function, description=description, sampling=sampling, options=options,
                 path=name in PATH_METHODS)
