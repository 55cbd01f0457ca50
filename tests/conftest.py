"""Shared test helpers. Nothing here imports tensorflow, nor torch outside the ``cli`` fixture."""
from __future__ import annotations

import importlib.util
import os
import re
from typing import Optional, Sequence

import numpy as np
import pytest

from attribkit import Explanation, Method, ModelInfo, Prediction, Target


def build_explanation(
    text: str = "The movie is superb",
    tokens: Optional[Sequence[str]] = None,
    scores: Optional[Sequence[float]] = None,
    labels: Sequence[str] = ("negative", "positive"),
    probabilities: Sequence[float] = (0.1, 0.9),
    target=1,
    **overrides,
) -> Explanation:
    """A hand-made explanation of a whitespace-tokenised text with [CLS]/[SEP].

    Offsets are computed from the text, so word grouping and the HTML text
    view work as they do for a real tokenizer.
    """
    if tokens is None and not isinstance(text, str):
        tokens = ["[CLS]", "x", "y", "z", "w", "[SEP]"]
    if tokens is None:
        spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        tokens = ["[CLS]"] + [text[s:e] for s, e in spans] + ["[SEP]"]
        offsets = [(0, 0)] + spans + [(0, 0)]
    else:
        offsets = overrides.pop("offsets", [(0, 0)] * len(tokens))
    n = len(tokens)
    if scores is None:
        scores = np.linspace(-0.5, 1.0, n)
    special = [t.startswith("[") and t.endswith("]") for t in tokens]
    fields = dict(
        text=text,
        tokens=tokens,
        offsets=offsets,
        token_ids=np.arange(n) + 100,
        special_mask=special,
        scores=scores,
        target=target if isinstance(target, Target) else Target(target, labels[target]),
        prediction=Prediction(np.asarray(probabilities), tuple(labels), raw=np.log(np.asarray(probabilities))),
        method=Method("integrated_gradients", "probability", {"n_steps": 50, "baseline": "pad"}),
        model=ModelInfo(framework="test", backend="test", name="tiny-test-model", architecture="TestModel"),
        true_label=1,
        convergence_delta=0.001,
        completeness_gap=0.001,
        output_difference=0.4,
    )
    fields.update(overrides)
    return Explanation(**fields)


@pytest.fixture
def make_explanation():
    """``make_explanation(text=..., scores=..., **fields)`` builds a valid Explanation."""
    return build_explanation


@pytest.fixture
def cli():
    """Run the ``attribkit`` command line in-process: ``cli("plugins", "--json")``. The environment variables
    a command sets for its own process (``USE_TF=0`` when it uses torch alone, say) are undone after the
    test, as they end with a real command's process. transformers reads ``USE_TF`` once, when it is first
    imported, so it is imported here first (with torch, not TensorFlow, at this point): a torch command
    run in-process must not leave the later TensorFlow tests without TensorFlow."""
    from click.testing import CliRunner

    from attribkit.cli import main

    if all(importlib.util.find_spec(name) for name in ("transformers", "tensorflow")):
        import transformers  # noqa: F401

    runner = CliRunner(mix_stderr=False)

    def invoke(*args, input=None, env=None):
        return runner.invoke(main, list(args), input=input, env=env, catch_exceptions=False)

    saved = dict(os.environ)
    yield invoke
    os.environ.clear()
    os.environ.update(saved)
