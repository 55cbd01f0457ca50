"""An example attribkit plugin: a lexicon backend, its exact method, a Markdown renderer, a check and a metric.

Everything here goes through attribkit's public API; a built-in plugin can
do nothing this one cannot. The backend is a model adapter (attribkit's
pipeline does the tokens' batches, predictions, targets, completeness and
assembly); every method registered for all backends (``"*"``) runs on it too.
"""
from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

import attribkit
from attribkit.pipeline import Encoding

__version__ = "0.2.0"


@dataclass
class LexiconModel:
    """A bag-of-words binary classifier: ``logit = bias + sum(weights[word])`` over the words present."""

    weights: Mapping[str, float]
    bias: float = 0.0
    name: str = "lexicon"

    def weight(self, word: str) -> float:
        return float(self.weights.get(word.lower(), 0.0))


@dataclass
class WhitespaceTokenizer:
    """Splits on whitespace; keeps character offsets. Id 0 is "no word" (padding)."""

    pattern: str = r"\S+"
    vocabulary: Dict[str, int] = field(default_factory=dict)

    def id_of(self, word: str) -> int:
        return self.vocabulary.setdefault(word.lower(), len(self.vocabulary) + 1)

    def word(self, token_id: int) -> str:
        return next((w for w, i in self.vocabulary.items() if i == token_id), "")


class LexiconAdapter(attribkit.ModelAdapter):
    """What the pipeline needs: words as tokens, and the model's logit for rows of word ids."""

    def __init__(self, model: LexiconModel, tokenizer: WhitespaceTokenizer):
        self.model, self.tokenizer = model, tokenizer
        self.info = attribkit.ModelInfo(framework="numpy", backend="lexicon", name=model.name,
                                        architecture="LexiconModel")

    def check_tokenizer(self) -> None:
        if not isinstance(self.tokenizer, WhitespaceTokenizer):
            raise attribkit.TokenizerError(f"the lexicon backend needs a WhitespaceTokenizer, got "
                                           f"{type(self.tokenizer).__name__}")

    @property
    def pad_id(self) -> int:
        return 0

    def encode(self, text: str) -> Encoding:
        matches = list(re.finditer(self.tokenizer.pattern, text))
        words = tuple(m.group() for m in matches)
        return Encoding(text, np.array([self.tokenizer.id_of(w) for w in words], dtype=np.int64), words,
                        np.array([m.span() for m in matches], dtype=np.int64).reshape(-1, 2),
                        np.zeros(len(words), dtype=bool), len(words), unit="words")

    def word_weights(self, input_ids: np.ndarray) -> np.ndarray:
        """``(N, L)`` the weight of each word (0 for padding and removed words)."""
        lookup = {i: self.model.weight(w) for w, i in self.tokenizer.vocabulary.items()}
        return np.vectorize(lambda i: lookup.get(int(i), 0.0), otypes=[float])(input_ids)

    def raw_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray,
                    layer_values: Optional[np.ndarray] = None) -> np.ndarray:
        logits = self.model.bias + (self.word_weights(input_ids) * attention_mask).sum(axis=1)
        return logits[:, None]


class LexiconBackend(attribkit.Backend):
    name = "lexicon"
    framework = "numpy"

    def adapt(self, model: Any, tokenizer: Any, *, layer: Any = None,
              options: Optional[Mapping[str, Any]] = None) -> LexiconAdapter:
        if layer is not None:
            raise attribkit.InputError("the lexicon backend has no layers; leave layer=None")
        return LexiconAdapter(model, tokenizer)


def integrated_gradients(task: attribkit.Task) -> attribkit.MethodResult:
    """Integrated Gradients from the baseline's words to the text's, exactly.

    The logit is linear in each word's presence, so with ``output="logit"``
    a word's attribution is its weight (times the sign of the class). For
    probabilities the path integral of ``d p / d logit`` is computed with the
    trapezoid rule over ``n_steps`` intervals.
    """
    adapter = task.adapter
    weights = (adapter.word_weights(task.input_ids) - adapter.word_weights(task.baseline_ids)) * task.attention_mask
    signs = np.where(task.targets == 1, 1.0, -1.0)[:, None]
    if not task.form.probability:
        return attribkit.MethodResult(scores=signs * weights, completeness=True, params={"n_steps": task.n_steps})
    start = adapter.raw_outputs(task.baseline_ids, task.attention_mask)[:, 0]
    alphas = np.linspace(0.0, 1.0, task.n_steps + 1)
    logits = start[:, None] + alphas[None, :] * weights.sum(axis=1, keepdims=True)
    p = 1.0 / (1.0 + np.exp(-logits))
    slopes = np.trapz(p * (1.0 - p), alphas, axis=1)[:, None]  # mean d p / d logit along the path
    return attribkit.MethodResult(scores=signs * weights * slopes, completeness=True, params={"n_steps": task.n_steps})


def _markdown(text: str) -> str:
    """``text`` safe in Markdown and HTML: control characters as escapes, markup characters escaped."""
    text = "".join(c if unicodedata.category(c)[0] != "C" else c.encode("unicode_escape").decode("ascii")
                   for c in text)
    return re.sub(r"([\\`*_|\[\]#])", r"\\\1", html.escape(text, quote=True))


def render_markdown(explanations: Sequence[attribkit.Explanation], *, top: int = 5) -> str:
    """A Markdown table per explanation: prediction, target and the top tokens."""
    blocks = []
    for e in explanations:
        rows = "\n".join(f"| {_markdown(r.token)} | {r.score:+.4f} |" for r in attribkit.top_k(e, top))
        blocks.append(
            f"**{_markdown(e.text)}**\n\n"
            f"predicted {_markdown(e.prediction.label)} ({e.prediction.probability:.2f}), "
            f"explained {_markdown(e.target.label)}\n\n"
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
             description="exact IG from the baseline's words (example plugin)")


def top_token_drop(batch: attribkit.MetricBatch) -> List[attribkit.MetricValue]:
    """How much the explained class's probability falls when the explanation's most important unit alone is
    removed: ``p(x) - p(x without its top unit)``, for every backend (``batch.predict`` runs the model)."""
    keep = [~batch.top(row, 1)[None, :] for row in range(len(batch))]
    values = []
    for row, (p, (after,)) in enumerate(zip(batch.probabilities, batch.predict(keep))):
        if not len(batch.scores[row]):
            values.append(attribkit.MetricValue(None, note="no token to remove"))
            continue
        values.append(attribkit.MetricValue(float(p - after), {"removed": int(batch.ranking(row)[0])}))
    return values


@attribkit.hookimpl
def attribkit_register_metrics(register):
    register("top_token_drop", top_token_drop, higher_is_better=True, kind="faithfulness", cost="one pass",
             description="probability drop when the top unit alone is removed (example plugin)")


@attribkit.hookimpl
def attribkit_register_renderers(register):
    register("markdown", render_markdown, extension=".md", description="Markdown table of top tokens (example plugin)")


@attribkit.hookimpl
def attribkit_explanation_warnings(explanation: attribkit.Explanation) -> Optional[List[str]]:
    if len(explanation) and explanation.special_mask[int(np.argmax(np.abs(explanation.scores)))]:
        return ["the largest attribution is on a special token; the baseline may be unsuitable"]
    return None
