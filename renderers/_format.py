"""Display strings shared by the renderers."""
from __future__ import annotations

from typing import Optional, Tuple

from attribkit.results import Explanation

MISSING = "\u2014"


def true_label(explanation: Explanation) -> Tuple[str, Optional[bool]]:
    """The gold label as shown and whether the prediction matches it (``None`` when unknown).

    An integer gold label that is a valid class index is shown as that class's name.
    """
    gold, prediction = explanation.true_label, explanation.prediction
    if gold is None:
        return MISSING, None
    if isinstance(gold, int) and 0 <= gold < len(prediction.labels):
        return prediction.labels[gold], gold == prediction.index
    return str(gold), str(gold) == prediction.label


def completeness_gap(explanation: Explanation) -> Optional[str]:
    """``"0.004 (0.57% of |F(x) - F(baseline)|)"``, or ``None`` when the gap is unknown."""
    gap = explanation.completeness_gap
    if gap is None:
        return None
    relative = explanation.relative_completeness_gap
    suffix = f" ({relative:.2%} of |F(x) \u2212 F(baseline)|)" if relative is not None else ""
    return f"{gap:.3g}{suffix}"


def anchor_rule(explanation: Explanation) -> Optional[str]:
    """``"IF superb AND plot THEN positive (precision 0.97, coverage 0.41)"`` for an anchor explanation."""
    params = explanation.method.params
    if not isinstance(params.get("anchor"), (list, tuple)):
        return None
    words = " AND ".join(str(word) for word in params["anchor"]) or "(any text)"
    rule = f"IF {words} THEN {params.get('rule_for', explanation.target.label)}"
    figures = [f"{name} {params[name]:.2f}" for name in ("precision", "coverage")
               if isinstance(params.get(name), (int, float))]
    return rule + (f" ({', '.join(figures)})" if figures else "")
