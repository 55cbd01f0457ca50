"""The shipped JSON Schemas (an explanation's, an evaluation's) and validation against them (a leaf module)."""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Mapping

from attribkit.errors import SchemaError

#: Version of the JSON schema an explanation serialises to (``major.minor``).
#: A reader refuses a file whose major version is newer. 1.1 added the output
#: kind ``"sum"``; 1.2 added ``metadata`` (a corpus item's id and extra fields).
SCHEMA_VERSION = "1.2"
SCHEMA_MAJOR = int(SCHEMA_VERSION.split(".")[0])


@dataclass(frozen=True)
class Document:
    """One kind of JSON document attribkit writes: ``attribkit/schema/{kind}-{major}.json``.

    Attributes:
        kind: ``"explanation"`` or ``"evaluation"``: the schema file's name and the word in messages.
        version: the ``major.minor`` version written; a reader refuses a newer major version.
    """

    kind: str
    version: str

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def schema(self) -> dict:
        return _load(self.kind, self.major)

    def check_version(self, data: Mapping[str, Any]) -> None:
        """Raise :class:`SchemaError` unless ``data`` was written with a schema this attribkit reads."""
        version = data.get("schema_version")
        if not isinstance(version, str) or not re.fullmatch(r"[0-9]+\.[0-9]+", version):
            raise SchemaError(f"not an attribkit {self.kind}: schema_version is {version!r}, expected "
                              f"'{self.version}'")
        major = int(version.split(".")[0])
        if major > self.major:
            raise SchemaError(
                f"written with {self.kind} schema {version} (attribkit {data.get('attribkit_version', '?')}); "
                f"this attribkit reads schema {self.major}.x: upgrade attribkit to read it"
            )
        if major < self.major:
            raise SchemaError(f"schema {version} is older than this attribkit supports ({self.major}.x)")

    def validate(self, data: Any) -> None:
        """Raise :class:`SchemaError` naming the first field of ``data`` that breaks the schema."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"expected a JSON object for an {self.kind}, got {type(data).__name__}")
        self.check_version(data)
        error = next(iter(sorted(_validator(self.kind, self.major).iter_errors(data), key=lambda e: list(e.path))),
                     None)
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            raise SchemaError(f"invalid {self.kind} at {where}: {error.message}")


@functools.lru_cache(maxsize=None)
def parse_json(text: Any, what: str) -> Any:
    """``json.loads(text)``, with :class:`SchemaError` naming ``what`` (``"an explanation"``) when it fails."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SchemaError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise SchemaError(f"not {what}: nested too deeply") from None


def _load(kind: str, major: int) -> dict:
    text = resources.files("attribkit").joinpath(f"schema/{kind}-{major}.json").read_text("utf-8")
    return json.loads(text)


@functools.lru_cache(maxsize=None)
def _validator(kind: str, major: int) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(_load(kind, major))


EXPLANATION = Document("explanation", SCHEMA_VERSION)


def schema() -> dict:
    """The JSON Schema of one explanation (``attribkit/schema/explanation-1.json``)."""
    return EXPLANATION.schema()


def check_version(data: Mapping[str, Any]) -> None:
    """Raise :class:`SchemaError` unless ``data`` was written with an explanation schema this attribkit reads."""
    EXPLANATION.check_version(data)


def validate(data: Any) -> None:
    """Raise :class:`SchemaError` naming the first field of an explanation ``data`` that breaks the schema."""
    EXPLANATION.validate(data)
