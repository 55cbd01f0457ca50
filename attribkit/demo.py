"""``attribkit demo``: the bundled model explained in every installed framework.

Uses only the public API (backends are reached through the plugin host), so
the demo itself imports no framework.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

import attribkit
from attribkit.backend import Backend
from attribkit.errors import InputError
from attribkit.plugins import get_host
from attribkit.results import Explanation

#: Example reviews (none of them is in the training corpus) and their true labels.
EXAMPLES: Tuple[Tuple[str, str], ...] = (
    ("The movie is superb", "positive"),
    ("Honestly, the plot was not good at all", "negative"),
    ("A dull and predictable story", "negative"),
    ("The acting is weak but the soundtrack is wonderful", "positive"),
    ("What a delightful little restaurant", "positive"),
)

#: Methods shown besides Integrated Gradients, for each backend that runs them.
EXTRA_METHODS: Tuple[str, ...] = ("occlusion", "lime")

#: The name the bundled model is shown under.
DEMO_MODEL_NAME = "attribkit-demo-sentiment"

#: Integration steps for the bundled model: the library's default, "auto" (each text refined until its
#: completeness gap is under 1 %; its softmax rises steeply part of the way along the path, so a fixed
#: count is wasteful on some texts and too coarse on others; docs/speed.md).
DEMO_N_STEPS = "auto"

#: Two explanations agree when their scores differ by less than this, relative to the largest |score|.
AGREEMENT_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Agreement:
    """How one text's explanations compare across two frameworks."""

    text: str
    same_tokens: bool
    same_prediction: bool
    relative_difference: float

    @property
    def agrees(self) -> bool:
        return self.same_tokens and self.same_prediction and self.relative_difference <= AGREEMENT_TOLERANCE


def demo_model_path() -> Path:
    """The small sentiment model shipped inside the package (see docs/demo-model.md)."""
    from importlib import resources

    return Path(str(resources.files("attribkit").joinpath("data/demo_model")))


def available_frameworks() -> List[str]:
    """Registered backends that are installed and load models by name, in registration order."""
    host = get_host()
    return [name for name, spec in host.backends.items()
            if not spec.missing() and type(host.backend(name)).load is not Backend.load]


def compare(a: Explanation, b: Explanation) -> Agreement:
    """Compare two explanations of the same text from different frameworks."""
    same_tokens = a.tokens == b.tokens
    scale = max(float(np.max(np.abs(a.scores))), 1e-12)
    difference = float(np.max(np.abs(a.scores - b.scores))) / scale if same_tokens else float("inf")
    return Agreement(a.text, same_tokens, a.prediction.index == b.prediction.index, difference)


def agreement_lines(agreements: Sequence[Agreement], first: str, second: str) -> List[str]:
    """One sentence per text and a verdict, for the terminal and the report."""
    lines = []
    for item in agreements:
        verdict = "agree" if item.agrees else "DISAGREE"
        lines.append(
            f"{verdict}: {item.text!r}: same tokens {item.same_tokens}, same predicted class "
            f"{item.same_prediction}, max score difference {item.relative_difference:.1e} of the largest |score|"
        )
    total = sum(item.agrees for item in agreements)
    lines.insert(0, f"{first} and {second} agree on {total} of {len(agreements)} texts "
                    f"(same tokens, same predicted class, scores within {AGREEMENT_TOLERANCE:g} of the largest |score|)")
    return lines


def load_demo_model(framework: str) -> Tuple[object, object]:
    """``(model, tokenizer)`` of the bundled model in ``framework``, shown as :data:`DEMO_MODEL_NAME`."""
    model, tokenizer = get_host().backend(framework).load(str(demo_model_path()))
    model.config.name_or_path = DEMO_MODEL_NAME  # rather than a path into site-packages
    return model, tokenizer


def explain_with(framework: str, texts: Sequence[str], labels: Sequence[str]) -> List[Explanation]:
    """Integrated Gradients (and the framework's extra methods) on the bundled model."""
    model, tokenizer = load_demo_model(framework)
    results = attribkit.explain(model, tokenizer, list(texts), backend=framework, true_label=list(labels),
                                n_steps=DEMO_N_STEPS)
    for method in (m for m in EXTRA_METHODS if m in get_host().method_names(framework)):
        options = {"seed": 0} if get_host().method(framework, method).sampling else {}
        results += attribkit.explain(model, tokenizer, list(texts), backend=framework, method=method,
                                     true_label=list(labels), **options)
    return results


def run_demo(out: str = "attribkit-demo.html", frameworks: Optional[Sequence[str]] = None) -> List[Explanation]:
    """Explain :data:`EXAMPLES` in each framework, print the terminal view, write the HTML report."""
    frameworks = list(frameworks or available_frameworks())
    unknown = [name for name in frameworks if name not in get_host().backends]
    if unknown:
        raise InputError(f"--framework {unknown[0]!r} is not a registered backend; choose from "
                         f"{sorted(get_host().backends)}")
    if not frameworks:
        raise InputError('no framework backend is installed: pip install "attribkit[torch]" or "attribkit[tf]"')
    texts = [text for text, _ in EXAMPLES]
    labels = [label for _, label in EXAMPLES]
    results: Dict[str, List[Explanation]] = {}
    for framework in frameworks:
        print(f"explaining {len(texts)} texts with the {framework} backend...", file=sys.stderr)
        results[framework] = explain_with(framework, texts, labels)
        integrated = [e for e in results[framework] if e.method.name == "integrated_gradients"]
        print(f"== {framework} backend ({integrated[0].model.architecture}): Integrated Gradients, "
              f"{DEMO_N_STEPS} steps ==\n")
        print(attribkit.render(integrated, "terminal"))

    notes: List[str] = []
    if len(frameworks) >= 2:
        first, second = frameworks[:2]
        pairs = zip(*(
            [e for e in results[name] if e.method.name == "integrated_gradients"] for name in (first, second)
        ))
        notes = agreement_lines([compare(a, b) for a, b in pairs], first, second)
        for line in notes:
            print(line)

    everything = [e for framework in frameworks for e in results[framework]]
    attribkit.render(everything, "html", path=out, title="attribkit demo: the bundled sentiment model",
                     compare_by="model.backend", notes=notes)
    print(f"wrote the HTML report to {out}", file=sys.stderr)
    return everything
