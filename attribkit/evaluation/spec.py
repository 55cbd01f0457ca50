"""What a metric is: its registration record and the value it returns (a leaf module, numpy only)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Tuple

from attribkit.pipeline.options import Option

#: What a metric measures: the model's behaviour, agreement with people, or agreement between methods.
METRIC_KINDS = ("faithfulness", "plausibility", "agreement")
#: ``needs`` of a metric computed only for explanations that come with a human rationale.
RATIONALE = "rationale"


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric (see ``attribkit_register_metrics``).

    Attributes:
        name: what users pass in ``metrics=``.
        function: ``function(batch) -> list`` (one entry per row), or ``function(scores_a, scores_b) -> float``
            when ``pairwise``.
        higher_is_better: the direction of a better explanation.
        kind: one of :data:`METRIC_KINDS`.
        description: one line.
        cost: its cost in forward passes, in words.
        needs: ``("rationale",)``: computed only where a human rationale is given.
        options: the options it reads from ``batch.settings``.
        pairwise: compares two explanations of one text.
        plugin: the plugin that registered it.
    """

    name: str
    function: Callable[..., Any]
    higher_is_better: bool
    kind: str = "faithfulness"
    description: str = ""
    cost: str = ""
    needs: Tuple[str, ...] = ()
    options: Tuple[Option, ...] = ()
    pairwise: bool = False
    plugin: str = ""


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
