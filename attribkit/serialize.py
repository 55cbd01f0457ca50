"""JSON and JSON Lines for explanations, validated against the shipped schema.

No pickle: an explanation is plain JSON that any language can read.
"""
from __future__ import annotations

import io
import json
import os
from typing import Iterable, Iterator, List, Union

from attribkit._schema import SCHEMA_VERSION, schema
from attribkit.errors import InputError, SchemaError
from attribkit.results import Explanation

__all__ = ["SCHEMA_VERSION", "schema", "dumps", "loads", "save", "load", "iter_load",
           "explanation_to_dict", "explanation_from_dict"]

PathLike = Union[str, "os.PathLike[str]"]


def explanation_to_dict(explanation: Explanation, *, include_attributions: bool = True) -> dict:
    """A plain dict following the schema (:meth:`Explanation.to_dict`)."""
    return explanation.to_dict(include_attributions=include_attributions)


def explanation_from_dict(data: object) -> Explanation:
    """Build an :class:`Explanation` from a dict; :class:`SchemaError` says what is wrong."""
    return Explanation.from_dict(data)  # type: ignore[arg-type]


def dumps(explanation: Explanation, *, indent: Union[int, None] = None, include_attributions: bool = True) -> str:
    return explanation.to_json(indent=indent, include_attributions=include_attributions)


def loads(text: Union[str, bytes]) -> Explanation:
    return Explanation.from_json(text)


def save(explanations: Union[Explanation, Iterable[Explanation]], path: PathLike, *,
         include_attributions: bool = True) -> int:
    """Write explanations to ``path`` as JSON Lines (one explanation per line); returns how many.

    Explanations are written as they come, so an iterator that fails half way
    leaves the earlier ones on disk.
    """
    if isinstance(explanations, Explanation):
        explanations = [explanations]
    count = 0
    try:
        with open(path, "w", encoding="utf-8") as handle:
            for explanation in explanations:
                handle.write(dumps(explanation, include_attributions=include_attributions) + "\n")
                handle.flush()
                count += 1
    except OSError as exc:
        raise InputError(f"cannot write {os.fspath(path)!r}: {exc.strerror or exc}; choose a writable path") from None
    return count


def iter_load(path: PathLike) -> Iterator[Explanation]:
    """Read explanations one at a time from a JSON Lines file (or a JSON object/array file).

    Large files are streamed line by line, never loaded whole. Errors say the
    file and line.
    """
    name = os.fspath(path)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {name!r}: {exc.strerror or exc}") from None
    with handle:
        first = handle.read(1024).lstrip()
        handle.seek(0)
        if first.startswith(b"["):
            yield from _load_whole(handle, name)
            return
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SchemaError(f"{name}, line {number}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                if number == 1 and line.strip() == "{":
                    handle.seek(0)
                    yield from _load_whole(handle, name)
                    return
                raise SchemaError(f"{name}, line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            try:
                yield explanation_from_dict(data)
            except SchemaError as exc:
                raise SchemaError(f"{name}, line {number}: {exc}") from None


def _load_whole(handle: io.BufferedReader, name: str) -> Iterator[Explanation]:
    try:
        data = json.loads(handle.read().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{name}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    items = data if isinstance(data, list) else [data]
    for index, item in enumerate(items):
        try:
            yield explanation_from_dict(item)
        except SchemaError as exc:
            raise SchemaError(f"{name}, item {index}: {exc}") from None


def load(path: PathLike) -> List[Explanation]:
    """Read every explanation of a file written by :func:`save` (or a JSON object/array)."""
    return list(iter_load(path))
