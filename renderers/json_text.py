"""The ``json`` renderer: explanations as the JSON of :mod:`attribkit.serialize`.

One explanation becomes one JSON object, several become a JSON array; both
read back with :func:`attribkit.load` and :meth:`attribkit.Explanation.from_dict`.
"""
from __future__ import annotations

import itertools
import json
import textwrap
from typing import Callable, Iterable, Iterator, Sequence

from attribkit.hookspecs import hookimpl
from attribkit.results import Explanation


def stream_json(explanations: Iterable[Explanation], *, include_attributions: bool = True) -> Iterator[str]:
    """An indented JSON object for one explanation, a JSON array for any other number, piece by piece
    (one explanation at a time: bounded memory for a file of any size).

    ``include_attributions=False`` writes ``null`` for the per-dimension
    attributions, which are usually most of the size.
    """
    def document(explanation: Explanation) -> str:
        return json.dumps(explanation.to_dict(include_attributions=include_attributions), indent=2,
                          ensure_ascii=False, allow_nan=False)

    iterator = iter(explanations)
    head = list(itertools.islice(iterator, 2))
    if len(head) == 1:
        yield document(head[0])
        return
    if not head:
        yield "[]"
        return
    yield "["
    for index, explanation in enumerate(itertools.chain(head, iterator)):
        yield ("," if index else "") + "\n" + textwrap.indent(document(explanation), "  ")
    yield "\n]"


def render_json(explanations: Sequence[Explanation], *, include_attributions: bool = True) -> str:
    """:func:`stream_json` as one string."""
    return "".join(stream_json(explanations, include_attributions=include_attributions))


@hookimpl
def attribkit_register_renderers(register: Callable[..., None]) -> None:
    """Register the ``json`` format."""
    register("json", stream_json, extension=".json", streams=True,
             description="indented JSON: one object, or an array")
