"""JSON and JSON Lines for explanations, validated against the shipped schema.

No pickle: an explanation is plain JSON that any language can read.
"""
from __future__ import annotations

import functools
import io
import json
import os
from importlib import resources
from typing import Any, Iterable, Iterator, List, Mapping, Optional, Union

from attribkit.errors import InputError, SchemaError
from attribkit.types import SCHEMA_VERSION, Explanation, Method, ModelInfo, Prediction, Target

PathLike = Union[str, "os.PathLike[str]"]
SCHEMA_MAJOR = int(SCHEMA_VERSION.split(".")[0])


@functools.lru_cache(maxsize=1)
def schema() -> dict:
    """The JSON Schema of one explanation (``attribkit/schema/explanation-1.json``)."""
    text = resources.files("attribkit").joinpath(f"schema/explanation-{SCHEMA_MAJOR}.json").read_text("utf-8")
    return json.loads(text)


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(schema())


def explanation_to_dict(explanation: Explanation, *, include_attributions: bool = True) -> dict:
    """A plain dict following the schema; every field of ``explanation`` is kept."""
    e = explanation
    prediction = {
        "probabilities": e.prediction.probabilities.tolist(),
        "labels": list(e.prediction.labels),
        "raw": None if e.prediction.raw is None else e.prediction.raw.tolist(),
        "index": e.prediction.index,
        "label": e.prediction.label,
    }
    return {
        "schema_version": e.schema_version,
        "attribkit_version": e.attribkit_version,
        "text": e.text,
        "tokens": list(e.tokens),
        "offsets": e.offsets.tolist(),
        "token_ids": e.token_ids.tolist(),
        "special_mask": e.special_mask.tolist(),
        "scores": e.scores.tolist(),
        "attributions": e.attributions.tolist() if include_attributions and e.attributions is not None else None,
        "target": {"index": e.target.index, "label": e.target.label},
        "prediction": prediction,
        "method": {"name": e.method.name, "output": e.method.output, "params": dict(e.method.params)},
        "model": {"framework": e.model.framework, "backend": e.model.backend, "name": e.model.name,
                  "architecture": e.model.architecture},
        "true_label": e.true_label,
        "convergence_delta": e.convergence_delta,
        "completeness_gap": e.completeness_gap,
        "output_difference": e.output_difference,
        "warnings": list(e.warnings),
    }


def _check_version(data: Mapping[str, Any]) -> None:
    version = data.get("schema_version")
    if not isinstance(version, str) or not version.split(".")[0].isdigit():
        raise SchemaError(f"not an attribkit explanation: schema_version is {version!r}, expected '{SCHEMA_VERSION}'")
    major = int(version.split(".")[0])
    if major > SCHEMA_MAJOR:
        raise SchemaError(
            f"written with explanation schema {version} (attribkit {data.get('attribkit_version', '?')}); "
            f"this attribkit reads schema {SCHEMA_MAJOR}.x: upgrade attribkit to read it"
        )
    if major < SCHEMA_MAJOR:
        raise SchemaError(f"schema {version} is older than this attribkit supports ({SCHEMA_MAJOR}.x)")


def explanation_from_dict(data: Any) -> Explanation:
    """Build an :class:`Explanation` from a dict; :class:`SchemaError` says what is wrong."""
    if not isinstance(data, Mapping):
        raise SchemaError(f"expected a JSON object for an explanation, got {type(data).__name__}")
    _check_version(data)
    error = next(iter(sorted(_validator().iter_errors(data), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise SchemaError(f"invalid explanation at {where}: {error.message}")
    p = data["prediction"]
    try:
        return Explanation(
            text=data["text"],
            tokens=data["tokens"],
            offsets=data["offsets"] if data["offsets"] else [[0, 0]] * 0,
            token_ids=data["token_ids"],
            special_mask=data["special_mask"],
            scores=data["scores"],
            attributions=data.get("attributions"),
            target=Target(**data["target"]),
            prediction=Prediction(p["probabilities"], p["labels"], p.get("raw")),
            method=Method(**data["method"]),
            model=ModelInfo(**data["model"]),
            true_label=data.get("true_label"),
            convergence_delta=data.get("convergence_delta"),
            completeness_gap=data.get("completeness_gap"),
            output_difference=data.get("output_difference"),
            warnings=data.get("warnings", []),
            attribkit_version=data["attribkit_version"],
            schema_version=data["schema_version"],
        )
    except ValueError as exc:
        raise SchemaError(f"invalid explanation: {exc}") from None


def dumps(explanation: Explanation, *, indent: Optional[int] = None, include_attributions: bool = True) -> str:
    return json.dumps(explanation_to_dict(explanation, include_attributions=include_attributions),
                      indent=indent, ensure_ascii=False, allow_nan=False)


def loads(text: Union[str, bytes]) -> Explanation:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SchemaError(f"not valid JSON: {exc}") from None
    return explanation_from_dict(data)


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
