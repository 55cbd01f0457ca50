"""The exception hierarchy every part of attribkit raises.

Messages say what was wrong, with the offending value, and what to do about it.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence


class AttribkitError(Exception):
    """Base class of every error attribkit raises on purpose."""


class InputError(AttribkitError, ValueError):
    """A text, a file or an argument the user gave cannot be used."""


class TargetError(InputError):
    """The requested target class does not exist for this model."""


class ModelError(AttribkitError):
    """The model cannot be explained as given (unsupported type, bad output, wrong mode)."""


class TokenizerError(AttribkitError):
    """The tokenizer does not fit the model or cannot produce what attribkit needs."""


class MethodError(AttribkitError):
    """The attribution method is unknown for the backend, or failed."""


class SchemaError(AttribkitError, ValueError):
    """A JSON document is malformed or written by an incompatible schema."""


class PluginError(AttribkitError):
    """A plugin failed to import, to register, or inside a hook; names the plugin."""

    def __init__(self, plugin: str, message: str):
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")


class BackendUnavailable(AttribkitError):
    """A backend exists but its framework is not installed."""


class BatchError(AttribkitError):
    """Some items of a batch failed; the others were explained.

    Attributes:
        results: one entry per input, the ``Explanation`` for good items and
            ``None`` for failed ones. Nothing already computed is lost.
        errors: the exception of each failed item, by input index.
    """

    def __init__(self, results: Sequence[Any], errors: Mapping[int, BaseException]):
        self.results = list(results)
        self.errors = dict(errors)
        lines = [f"  item {i}: {e}" for i, e in sorted(self.errors.items())]
        ok = len(self.results) - len(self.errors)
        super().__init__(
            f"{len(self.errors)} of {len(self.results)} inputs failed "
            f"({ok} explained; their results are in .results):\n" + "\n".join(lines)
        )

    @property
    def explanations(self) -> list:
        """The explanations of the items that succeeded, in input order."""
        return [r for r in self.results if r is not None]
