"""An example attribkit plugin: a lexicon backend, a Markdown renderer and a check.

Everything here goes through attribkit's public hooks; a built-in plugin can
do nothing this one cannot.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

import attribkit
from attribkit.backend import Backend, ExplainRequest
from attribkit.tokenize import explained_value, label_names, probabilities, resolve_target
from attribkit.types import Explanation, Method, ModelInfo, Prediction

__version__ = "0.1.0"


@dataclass
class LexiconModel:
    """A bag-of-words binary classifier: ``logit = bias + sum(weights[word])``."""

    weights: Mapping[str, float]
    bias: float = 0.0
    name: str = "lexicon"

    def logit(self, words: Sequence[str], presence: np.ndarray) -> float:
        """``presence``: shape ``(n_words,)``, 1 keeps a word, 0 removes it (the baseline)."""
        return self.bias + float(sum(p * self.weights.get(w.lower(), 0.0) for w, p in zip(words, presence)))


@dataclass
class WhitespaceTokenizer:
    """Splits on whitespace; keeps character offsets."""

    pattern: str = r"\S+"
    vocabulary: Dict[str, int] = field(default_factory=dict)

    def __call__(self, text: str) -> List[re.Match]:
        return list(re.finditer(self.pattern, text))

    def id_of(self, word: str) -> int:
        return self.vocabulary.setdefault(word.lower(), len(self.vocabulary) + 1)


def integrated_gradients(model: LexiconModel, words: Sequence[str], target: int, output: str, n_steps: int) -> np.ndarray:
    """Integrated Gradients from the empty text (all words absent) to the text.

    For ``output="logit"`` the model is linear, so the attribution of a word
    is exactly its weight. For probabilities the path integral is computed
    with the trapezoid rule over ``n_steps`` intervals.
    """
    weights = np.array([model.weights.get(w.lower(), 0.0) for w in words])
    sign = 1.0 if target == 1 else -1.0
    if output == "logit":
        return sign * weights
    alphas = np.linspace(0.0, 1.0, n_steps + 1)
    logits = model.bias + alphas * weights.sum()
    p = 1.0 / (1.0 + np.exp(-logits))
    slope = sign * p * (1.0 - p)  # d prob(target) / d logit along the path
    return weights * np.trapz(slope, alphas)


class LexiconBackend(Backend):
    name = "lexicon"
    framework = "numpy"

    def explain(self, model: Any, tokenizer: Any, texts: Sequence[str], request: ExplainRequest) -> List[Any]:
        results: List[Any] = []
        for text, target, true_label in zip(texts, request.targets, request.true_labels or [None] * len(texts)):
            try:
                results.append(self._one(model, tokenizer, text, target, true_label, request))
            except attribkit.AttribkitError as exc:
                results.append(exc)
        return results

    def _one(self, model: LexiconModel, tokenizer: WhitespaceTokenizer, text: str, target: Any,
             true_label: Any, request: ExplainRequest) -> Explanation:
        matches = tokenizer(text)
        words = [m.group() for m in matches]
        full = model.logit(words, np.ones(len(words)))
        labels = label_names(None, 1, request.options.get("labels"))
        probs = probabilities(np.array([full]))
        resolved = resolve_target(target, labels, int(np.argmax(probs)))
        scores = request.method.function(model, words, resolved.index, request.output, request.n_steps)
        f_x = explained_value(np.array([full]), resolved.index, request.output)
        f_base = explained_value(np.array([model.bias]), resolved.index, request.output)
        return Explanation(
            text=text,
            tokens=words,
            offsets=[(m.start(), m.end()) for m in matches],
            token_ids=[tokenizer.id_of(w) for w in words],
            special_mask=[False] * len(words),
            scores=scores,
            target=resolved,
            prediction=Prediction(probs, labels, raw=np.array([full])),
            method=Method(request.method.name, request.output, {"n_steps": request.n_steps, "baseline": "empty text"}),
            model=ModelInfo(framework="numpy", backend=self.name, name=model.name, architecture="LexiconModel"),
            true_label=true_label,
            completeness_gap=abs(float(np.sum(scores)) - (f_x - f_base)),
            output_difference=f_x - f_base,
        )


def render_markdown(explanations: Sequence[Explanation], *, top: int = 5) -> str:
    """A Markdown table per explanation: prediction, target and the top tokens."""
    def escape(text: str) -> str:
        return re.sub(r"([\\`*_|<>\[\]])", r"\\\1", text)

    blocks = []
    for e in explanations:
        rows = "\n".join(f"| {escape(r.token)} | {r.score:+.4f} |" for r in attribkit.top_k(e, top))
        blocks.append(
            f"**{escape(e.text)}**\n\n"
            f"predicted {e.prediction.label} ({e.prediction.probability:.2f}), explained {e.target.label}\n\n"
            f"| token | score |\n|---|---|\n{rows}\n"
        )
    return "\n".join(blocks)


@attribkit.hookimpl
def attribkit_register_backends(register):
    register("lexicon", LexiconBackend, framework="numpy", description="bag-of-words LexiconModel (example plugin)")


@attribkit.hookimpl
def attribkit_backend_for_model(model):
    return "lexicon" if isinstance(model, LexiconModel) else None


@attribkit.hookimpl
def attribkit_register_methods(register):
    register("integrated_gradients", "lexicon", integrated_gradients,
             description="exact IG from the empty text (example plugin)")


@attribkit.hookimpl
def attribkit_register_renderers(register):
    register("markdown", render_markdown, extension=".md", description="Markdown table of top tokens (example plugin)")


@attribkit.hookimpl
def attribkit_explanation_warnings(explanation: Explanation) -> Optional[List[str]]:
    if len(explanation) and explanation.special_mask[int(np.argmax(np.abs(explanation.scores)))]:
        return ["the largest attribution is on a special token; the baseline may be unsuitable"]
    return None
