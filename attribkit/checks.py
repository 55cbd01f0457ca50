"""Built-in plugin: sanity checks attached to every explanation as warnings."""
from __future__ import annotations

from typing import List, Optional

from attribkit.hookspecs import hookimpl
from attribkit.results import Explanation

#: Relative completeness gap above which an Integrated Gradients result is flagged.
MAX_RELATIVE_GAP = 0.05


@hookimpl
def attribkit_explanation_warnings(explanation: Explanation) -> Optional[List[str]]:
    relative = explanation.relative_completeness_gap
    if relative is not None and relative > MAX_RELATIVE_GAP:
        return [
            f"completeness gap is {relative:.1%} of F(x) - F(baseline) "
            f"(|sum of scores - difference| = {explanation.completeness_gap:.3g}); "
            f"increase n_steps (now {explanation.method.params.get('n_steps', '?')}) for a faithful result"
        ]
    return None
