"""Built-in plugin: the methods written once for every backend.

Perturbation methods (:mod:`attribkit.methods.perturbation`) need only the
model's outputs, so every backend runs them, third-party ones included;
gradient methods (:mod:`attribkit.methods.gradients`) run on every backend
that declares the ``"gradients"`` capability. A backend's own method of
the same name takes precedence (the torch backend keeps Captum's gradient
methods).
"""
from __future__ import annotations

from typing import Callable

from attribkit.hookspecs import hookimpl
from attribkit.methods import gradients, perturbation
from attribkit.pipeline import ANY_BACKEND


@hookimpl
def attribkit_register_methods(register: Callable[..., None]) -> None:
    for name, function, description, sampling, options in perturbation.METHODS:
        register(name, ANY_BACKEND, function, description=description, sampling=sampling, options=options)
    for name, function, description, sampling, options in gradients.METHODS:
        register(name, ANY_BACKEND, function, description=description, sampling=sampling, options=options,
                 needs=("gradients",))
