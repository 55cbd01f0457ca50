"""The shipped JSON Schema of an explanation, and validation against it (a leaf module)."""
from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any, Mapping

from attribkit.errors import SchemaError

#: Version of the JSON schema an explanation serialises to (``major.minor``).
#: A reader refuses a file whose major version is newer. 1.1 added the output
#: kind ``"sum"``; 1.2 added ``metadata`` (a corpus item's id and extra fields).
SCHEMA_VERSION = "1.2"
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


def check_version(data: Mapping[str, Any]) -> None:
    """Raise :class:`SchemaError` unless ``data`` was written with a schema this attribkit reads."""
    version = data.get("schema_version")
    if not isinstance(version, str) or not re.fullmatch(r"[0-9]+\.[0-9]+", version):
        raise SchemaError(f"not an attribkit explanation: schema_version is {version!r}, expected '{SCHEMA_VERSION}'")
    major = int(version.split(".")[0])
    if major > SCHEMA_MAJOR:
        raise SchemaError(
            f"written with explanation schema {version} (attribkit {data.get('attribkit_version', '?')}); "
            f"this attribkit reads schema {SCHEMA_MAJOR}.x: upgrade attribkit to read it"
        )
    if major < SCHEMA_MAJOR:
        raise SchemaError(f"schema {version} is older than this attribkit supports ({SCHEMA_MAJOR}.x)")


def validate(data: Any) -> None:
    """Raise :class:`SchemaError` naming the first field of ``data`` that breaks the schema."""
    if not isinstance(data, Mapping):
        raise SchemaError(f"expected a JSON object for an explanation, got {type(data).__name__}")
    check_version(data)
    error = next(iter(sorted(_validator().iter_errors(data), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise SchemaError(f"invalid explanation at {where}: {error.message}")
