"""Built-in plugin: sanity checks attached to every explanation as warnings."""
from __future__ import annotations

from typing import List, Optional

from attribkit.hookspecs import hookimpl
from attribkit.results import Explanation

#: Relative completeness gap above which a result is flagged: its scores do not add up to the change in
#: the explained output that they claim to divide among the tokens.
MAX_RELATIVE_GAP = 0.05


def _advice(explanation: Explanation) -> str:
    """What narrows the gap: more steps or samples where the method has them, else another method."""
    params = explanation.method.params
    for name in ("n_steps", "n_samples"):
        if name in params:
            return f"increase {name} (now {params[name]}) for a faithful result"
    return (f"{explanation.method.name} does not add up on this model, so its scores are not a division of "
            "the prediction among the tokens; prefer integrated_gradients")


@hookimpl
def attribkit_explanation_warnings(explanation: Explanation) -> Optional[List[str]]:
    """Every method with a notion of completeness (Integrated Gradients, DeepLIFT, GradientSHAP, Kernel
    SHAP...) is checked the same way: the sum of its scores against F(x) - F(baseline)."""
    relative = explanation.relative_completeness_gap
    if relative is not None and relative > MAX_RELATIVE_GAP:
        return [
            f"completeness gap is {relative:.1%} of F(x) - F(baseline) "
            f"(|sum of scores - difference| = {explanation.completeness_gap:.3g}); {_advice(explanation)}"
        ]
    return None
