"""alibi's ``AnchorText`` as the ``anchors`` method, for every backend.

An anchor is a rule: "while these words are in the text, the model
predicts the target", with its precision (how often that holds when the
other words are replaced) and coverage. It runs offline: spaCy's blank
English pipeline splits the words, and removed words become ``UNK``
(``sampling_strategy="unknown"``). The model is asked through the
pipeline's adapter, so any backend can be explained. The explanation's
scores are 1 on the anchor's tokens and 0 elsewhere; ``Method.params``
records the ``anchor`` words, ``precision``, ``coverage`` and ``threshold``.
alibi 0.9.5+ is under the Business Source License 1.1 (non-production use).
"""
from __future__ import annotations

import numpy as np

from attribkit.backends.tf.methods import _alibi_explainers
from attribkit.pipeline import MethodResult, Task
from attribkit.pipeline.encoding import truncate
from attribkit.pipeline.outputs import explained_values
from attribkit.pipeline.run import pad


def predicted_classes(task: Task, texts: list) -> np.ndarray:
    """The class the model predicts for each text (tokenised, truncated and padded as the pipeline does)."""
    adapter = task.adapter
    encodings = [truncate(adapter.encode(text), adapter.length_limit()) for text in texts]
    classes = []
    step = max(1, task.max_rows)
    for start in range(0, len(encodings), step):
        ids, mask, _ = pad(adapter, [e.input_ids for e in encodings[start:start + step]])
        classes.append(explained_values(adapter.raw_outputs(ids, mask), task.form).argmax(axis=1))
    return np.concatenate(classes)


def anchors(task: Task) -> MethodResult:
    """The anchor of the task's one text (a sampling method: one text per call, seeded)."""
    import spacy

    encoding, target, label = task.encodings[0], int(task.targets[0]), task.labels[int(task.targets[0])]
    nlp = spacy.blank("en")
    state = np.random.get_state()  # alibi seeds numpy's global generator
    try:
        explainer = _alibi_explainers().AnchorText(
            predictor=lambda texts: (predicted_classes(task, list(texts)) == target).astype(np.int64),
            sampling_strategy="unknown", nlp=nlp, seed=task.seed)
        explanation = explainer.explain(encoding.text, threshold=task.options["threshold"])
    finally:
        np.random.set_state(state)
    words = nlp(encoding.text)
    spans = [(words[i].idx, words[i].idx + len(words[i])) for i in explanation.data["raw"]["feature"]]
    scores = np.zeros(task.input_ids.shape)
    for column, (start, end) in zip(task.positions[0], encoding.offsets):
        if end > start and any(start < b and a < end for a, b in spans):
            scores[0, column] = 1.0
    holds = bool(predicted_classes(task, [encoding.text])[0] == target)
    warnings = () if holds else (f"the model does not predict {label!r} for this text, so the anchor is a rule "
                                 f"for predictions other than {label!r}",)
    return MethodResult(scores=scores, warnings=(warnings,), params={
        "anchor": [str(word) for word in explanation.anchor], "precision": float(explanation.precision),
        "coverage": float(explanation.coverage), "threshold": task.options["threshold"],
        "rule_for": label if holds else f"not {label}"})

