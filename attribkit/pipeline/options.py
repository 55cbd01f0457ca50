"""Declared options: names, kinds, defaults and one line each; one error format everywhere.

The pipeline, each backend and each method declare the options they read
(:class:`Option`). :func:`parse_options` checks what the user passed against
all three, so an unknown or mistyped option gets the same message on every
backend, naming the valid options.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from attribkit.errors import InputError

KINDS = ("any", "bool", "int", "float", "str", "choice", "callable", "strings")


@dataclass(frozen=True)
class Option:
    """One option a pipeline step, backend or method reads.

    Attributes:
        name: the keyword users pass to :func:`attribkit.explain`.
        default: the value when not given (``None``: decided by the code that reads it).
        description: one line for ``attribkit methods`` and the docs.
        kind: ``"bool"``, ``"int"``, ``"float"``, ``"str"``, ``"choice"``
            (one of ``choices``), ``"callable"``, ``"strings"`` (a list of
            str) or ``"any"``.
        minimum, maximum: bounds for ``int`` and ``float``.
        choices: the allowed values of a ``choice``.
    """

    name: str
    default: Any = None
    description: str = ""
    kind: str = "any"
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    choices: Tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Option {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")

    def check(self, value: Any) -> Any:
        """``value`` if it fits, converted (an int given for a float); else :class:`InputError`."""
        if value is None:
            return None
        kind = self.kind
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "int" and isinstance(value, int) and not isinstance(value, bool) and self._in_bounds(value):
            return value
        if (kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value) and self._in_bounds(value)):
            return float(value)
        if kind == "str" and isinstance(value, str):
            return value
        if kind == "choice" and any(value == choice and type(value) is type(choice) for choice in self.choices):
            return value
        if kind == "callable" and callable(value):
            return value
        if kind == "strings" and isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        if kind == "any":
            return value
        raise InputError(f"{self.name} must be {self.expected()}, got {value!r}")

    def _in_bounds(self, value: float) -> bool:
        return (self.minimum is None or value >= self.minimum) and (self.maximum is None or value <= self.maximum)

    def expected(self) -> str:
        """What a valid value is, in words."""
        if self.kind == "choice":
            return f"one of {list(self.choices)}"
        if self.kind in ("int", "float"):
            noun = "an integer" if self.kind == "int" else "a number"
            if self.minimum is not None and self.maximum is not None:
                return f"{noun} from {self.minimum:g} to {self.maximum:g}"
            if self.minimum is not None:
                return f"{noun} of at least {self.minimum:g}"
            return noun
        return {"bool": "True or False", "str": "a string", "callable": "callable",
                "strings": "a list of strings", "any": "any value"}[self.kind]


#: ``(group name, options)``: who reads the options, in the order they are listed in messages.
OptionGroups = Sequence[Tuple[str, Sequence[Option]]]


def parse_options(given: Mapping[str, Any], groups: OptionGroups) -> Tuple[Dict[str, Any], ...]:
    """Split and check ``given`` among ``groups``; one dict per group, every declared name present
    (its default when not given). An option no group declares raises :class:`InputError` naming
    every valid option, by group."""
    known = {option.name for _, options in groups for option in options}
    unknown = sorted(set(given) - known)
    if unknown:
        valid = "; ".join(f"{name}: {[o.name for o in options] or 'none'}" for name, options in groups)
        raise InputError(f"unknown option(s) {unknown}; valid options are {valid}")
    parsed = []
    for _, options in groups:
        values = {}
        for option in options:
            values[option.name] = option.check(given[option.name]) if option.name in given else option.default
        parsed.append(values)
    return tuple(parsed)


def describe(options: Sequence[Option]) -> str:
    """One line per option: ``name (default): description``."""
    return "\n".join(f"{o.name} ({o.default!r}): {o.description}" for o in options)
