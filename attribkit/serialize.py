"""JSON and JSON Lines for explanations, validated against the shipped schema.

No pickle: an explanation is plain JSON that any language can read.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Iterable, Iterator, List, Union

from attribkit._files import atomic_output
from attribkit._schema import SCHEMA_VERSION, schema
from attribkit.errors import InputError, SchemaError
from attribkit.results import ErrorRecord, Explanation, Record

__all__ = ["SCHEMA_VERSION", "schema", "dumps", "loads", "save", "load", "iter_load", "iter_records",
           "record_line", "explanation_to_dict", "explanation_from_dict"]

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


def record_line(record: Record, include_attributions: bool = True) -> bytes:
    """One JSON line (an explanation or an error record), UTF-8; text that is not valid Unicode (lone
    surrogates) is written with JSON escapes."""
    data = record.to_dict() if isinstance(record, ErrorRecord) else \
        record.to_dict(include_attributions=include_attributions)
    try:
        return (json.dumps(data, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(data, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")


def save(explanations: Union[Explanation, Iterable[Explanation]], path: PathLike, *,
         include_attributions: bool = True) -> int:
    """Write explanations to ``path`` as JSON Lines (one explanation per line); returns how many.

    The file is replaced whole, atomically: a failure while writing leaves the
    previous file as it was. If ``explanations`` (an iterator) fails half way,
    the explanations it gave before are written, then its error is raised:
    nothing already computed is lost, and no line is ever cut.
    """
    if isinstance(explanations, Explanation):
        explanations = [explanations]
    count = 0
    failure = None
    with atomic_output(path) as handle:
        iterator = iter(explanations)
        while True:
            try:
                explanation = next(iterator)
            except StopIteration:
                break
            except Exception as exc:  # the source failed: keep what it gave
                failure = exc
                break
            handle.write(record_line(explanation, include_attributions))
            count += 1
    if failure is not None:
        raise failure
    return count


def _parse(text: Union[str, bytes], where: str) -> object:
    """JSON of ``text``; every failure (malformed, too deeply nested) as one :class:`SchemaError` line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise SchemaError(f"{where}: nested too deeply to be an explanation") from None


def iter_load(path: PathLike) -> Iterator[Explanation]:
    """Read explanations one at a time from a JSON Lines file (or a JSON object/array file).

    Large files are streamed line by line, never loaded whole. Errors say the
    file and line. The error records of a corpus run's output
    (:class:`~attribkit.results.ErrorRecord`) are passed over; :func:`iter_records`
    gives them too.
    """
    return (record for record in iter_records(path) if isinstance(record, Explanation))


def iter_records(path: PathLike) -> Iterator[Record]:
    """The records of a corpus run's output, in order: explanations and error records. ``"-"`` reads standard
    input, as the command line's ``attribkit render -`` does."""
    name = os.fspath(path)
    if name == "-":
        name, opened = "standard input", contextlib.nullcontext(sys.stdin.buffer)
    else:
        try:
            opened = open(path, "rb")
        except OSError as exc:
            raise InputError(f"cannot read {name!r}: {exc.strerror or exc}") from None
    with opened as handle:
        first = None
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SchemaError(f"{name}, line {number}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
            if first is None:
                first = number
                if line.lstrip().startswith("[") or line.strip() == "{":  # one JSON document, not JSON Lines
                    yield from _load_whole(raw + handle.read(), name)
                    return
            data = _parse(line, f"{name}, line {number}")
            try:
                yield ErrorRecord.from_dict(data) if ErrorRecord.is_one(data) else explanation_from_dict(data)
            except SchemaError as exc:
                raise SchemaError(f"{name}, line {number}: {exc}") from None


def _load_whole(content: bytes, name: str) -> Iterator[Explanation]:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{name}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    data = _parse(text, name)
    items = data if isinstance(data, list) else [data]
    for index, item in enumerate(items):
        try:
            yield explanation_from_dict(item)
        except SchemaError as exc:
            raise SchemaError(f"{name}, item {index}: {exc}") from None


def load(path: PathLike) -> List[Explanation]:
    """Read every explanation of a file written by :func:`save` (or a JSON object/array)."""
    return list(iter_load(path))
