"""What a metric returns for one explanation (:class:`MetricValue`); its registration record is
:class:`attribkit.backend.MetricSpec`, with the host's other records."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

#: ``needs`` of a metric computed only for explanations that come with a human rationale.
RATIONALE = "rationale"


@dataclass(frozen=True)
class MetricValue:
    """A metric's value for one explanation, with the figures behind it.

    Attributes:
        value: the number (``None`` when the metric has no value for this explanation; ``note`` says why).
        details: JSON-compatible figures (a curve, the value at each fraction...).
        note: why there is no value, or what to keep in mind.
    """

    value: Optional[float]
    details: Mapping[str, Any] = field(default_factory=dict)
    note: Optional[str] = None

    def __post_init__(self) -> None:
        if self.value is not None:
            if isinstance(self.value, bool) or not isinstance(self.value, (int, float)) and not hasattr(
                    self.value, "__float__"):
                raise ValueError(f"MetricValue.value: expected a number or None, got {type(self.value).__name__}")
            value = float(self.value)
            object.__setattr__(self, "value", value if math.isfinite(value) else None)
            if not math.isfinite(value) and self.note is None:
                object.__setattr__(self, "note", f"the metric gave {value}")
