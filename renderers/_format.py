"""Display strings shared by the renderers."""
from __future__ import annotations

import itertools
import tempfile
from typing import IO, Iterable, Iterator, List, Optional, Sequence, Tuple

from attribkit.ops import Word, words
from attribkit.results import Explanation

MISSING = "\u2014"
#: Longer runs of words without tokens (a truncated text's end) are shown as one marker.
LONGEST_DROPPED_RUN = 12
DROPPED_TITLE = "no score: the model did not see this word (dropped by the tokenizer, or cut)"


def shown_words(explanation: Explanation, include_special: bool = True) -> List[Word]:
    """The words a report shows: the whole text, words without tokens marked ``dropped`` (a run of more
    than :data:`LONGEST_DROPPED_RUN` of them becomes one ``[... N words not seen ...]`` marker)."""
    result: List[Word] = []
    run: List[Word] = []

    def flush() -> None:
        if len(run) > LONGEST_DROPPED_RUN:
            result.append(Word(f"[\u2026 {len(run):,} words not seen by the model]", run[0].start, run[-1].end,
                               0.0, (), False, dropped=True))
        else:
            result.extend(run)
        run.clear()

    for word in words(explanation, include_special=include_special, include_dropped=True):
        if word.dropped:
            run.append(word)
            continue
        flush()
        result.append(word)
    flush()
    return result


#: Words in an explanation's score line.
TOP_WORDS = 5


def top_words(shown: Sequence[Word], k: int = TOP_WORDS) -> List[Word]:
    """The ``k`` words of ``shown`` (:func:`shown_words`) with the largest ``|score|``, special tokens and
    unscored words left out, largest first: the words and raw scores of the score line every renderer
    prints."""
    return sorted((w for w in shown if not (w.special or w.dropped)), key=lambda w: -abs(w.score))[:k]


class Replay:
    """Explanations that can be read more than once, in bounded memory.

    A renderer that needs every explanation before the first one it shows (a scale shared by the whole
    report, a corpus summary) reads them twice. ``head`` and ``rest`` are read once, and each explanation
    is written to a temporary file (JSON Lines, without the per-dimension attributions, which no report
    shows) as it passes; later reads come back from that file. A list or tuple is simply read again: use
    :func:`readable_twice`.
    """

    def __init__(self, head: Sequence[Explanation], rest: Iterable[Explanation]):
        self._pending: Optional[Iterator[Explanation]] = itertools.chain(head, rest)
        self._spool: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", errors="surrogatepass")

    def __iter__(self) -> Iterator[Explanation]:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            for explanation in pending:
                self._spool.write(explanation.to_json(include_attributions=False) + "\n")
                yield explanation
            return
        self._spool.seek(0)
        for line in self._spool:
            yield Explanation.from_json(line)

    def close(self) -> None:
        self._spool.close()


def readable_twice(head: Sequence[Explanation], rest: Iterable[Explanation], whole: Iterable[Explanation]
                   ) -> Iterable[Explanation]:
    """``whole`` itself when it is a list or tuple, else a :class:`Replay` of ``head`` then ``rest`` (what is
    left of ``whole`` once ``head`` was taken from it)."""
    return whole if isinstance(whole, (list, tuple)) else Replay(head, rest)


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


def explained(explanation: Explanation) -> str:
    """What the scores explain, as the Attribution Label: the target class, or the sum of the outputs
    (``output="sum"``, where the target does not change the scores)."""
    if explanation.method.output == "sum":
        return "sum of the outputs"
    return explanation.target.label


def completeness_gap(explanation: Explanation) -> Optional[str]:
    """``"0.004 (0.57% of |F(x) - F(baseline)|)"``, with ``", 21 steps (auto)"`` inside the brackets for
    ``n_steps="auto"``; ``None`` when the gap is unknown."""
    gap = explanation.completeness_gap
    if gap is None:
        return None
    notes = []
    if explanation.relative_completeness_gap is not None:
        notes.append(f"{explanation.relative_completeness_gap:.2%} of |F(x) \u2212 F(baseline)|")
    params = explanation.method.params
    if params.get("n_steps") == "auto" and params.get("steps"):
        notes.append(f"{params['steps']} steps (auto)")
    return f"{gap:.3g}" + (f" ({', '.join(notes)})" if notes else "")


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
