"""The ``json`` renderer: explanations as the JSON of :mod:`attribkit.serialize`.

One explanation becomes one JSON object, several become a JSON array; both
read back with :func:`attribkit.load` and :meth:`attribkit.Explanation.from_dict`.
"""
from __future__ import annotations

import json
from typing import Callable, Sequence

from attribkit.hookspecs import hookimpl
from attribkit.serialize import explanation_to_dict
from attribkit.results import Explanation


def render_json(explanations: Sequence[Explanation], *, include_attributions: bool = True) -> str:
    """An indented JSON object for one explanation, a JSON array for any other number.

    ``include_attributions=False`` writes ``null`` for the per-dimension
    attributions, which are usually most of the size.
    """
    items = [explanation_to_dict(e, include_attributions=include_attributions) for e in explanations]
    document = items[0] if len(items) == 1 else items
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)


@hookimpl
def attribkit_register_renderers(register: Callable[..., None]) -> None:
    """Register the ``json`` format."""
    register("json", render_json, extension=".json", description="indented JSON: one object, or an array")
