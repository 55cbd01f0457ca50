"""What a corpus of explanations says as a whole: ``attribkit summarize``.

:func:`summarize` reads records once (explanations and error records, any
iterable: :func:`attribkit.serialize.iter_records` of a file streams it) and
keeps, in memory bounded by the vocabulary:

- per explained class, the words with the largest (and smallest) mean
  attribution, with how many times each occurs;
- when gold labels are given, the most confident mistakes;
- the distribution of completeness gaps (absolute and relative).

:func:`to_json`, :func:`to_html` and :func:`print_summary` show a
:class:`Summary`; each part is its own function (:func:`word_table`,
:func:`confident_mistakes`, :func:`gap_distribution`) for reports that show one.
"""
from __future__ import annotations

import heapq
import json
import string
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np

from attribkit.ops import words
from attribkit.results import ErrorRecord, Explanation

__all__ = ["WordStat", "Mistake", "GapDistribution", "Summary", "summarize", "word_key", "word_table",
           "confident_mistakes", "gap_distribution", "to_json", "to_html", "print_summary"]

#: Upper ends of the bins of relative completeness gaps (``gap / |F(x) - F(baseline)|``).
GAP_BINS = (0.001, 0.01, 0.05, 0.1, 0.25, 1.0, float("inf"))


@dataclass(frozen=True)
class WordStat:
    """A word's attributions towards one class over a corpus: ``mean`` of its ``count`` occurrences."""

    word: str
    mean: float
    count: int


@dataclass(frozen=True)
class Mistake:
    """A text whose prediction is not its gold label, with the predicted class's probability."""

    id: Any
    text: str
    true_label: str
    predicted: str
    probability: float


@dataclass(frozen=True)
class GapDistribution:
    """Completeness gaps of the explanations that report one.

    Attributes:
        count: explanations with a gap; ``missing``: those without (methods with no completeness).
        quantiles: ``{"50%": ..., "90%": ..., "99%": ..., "max": ...}`` of the absolute gaps.
        relative_quantiles: the same of ``gap / |F(x) - F(baseline)|``.
        histogram: ``(upper end, count)`` of the relative gaps per bin of :data:`GAP_BINS`.
    """

    count: int = 0
    missing: int = 0
    quantiles: Dict[str, float] = field(default_factory=dict)
    relative_quantiles: Dict[str, float] = field(default_factory=dict)
    histogram: Tuple[Tuple[float, int], ...] = ()


@dataclass(frozen=True)
class Summary:
    """A corpus at a glance (:func:`summarize`).

    Attributes:
        explained, failed: explanations and error records read.
        classes: per explained class (its label), how many explanations.
        top_words: per class, the words with the largest mean attribution (most for the class first).
        bottom_words: per class, the words with the smallest mean attribution (most against it first).
        labelled, correct: explanations with a gold label, and those predicted right.
        mistakes: the most confident mistakes, most confident first.
        gaps: the completeness gaps.
    """

    explained: int
    failed: int
    classes: Dict[str, int]
    top_words: Dict[str, List[WordStat]]
    bottom_words: Dict[str, List[WordStat]]
    labelled: int
    correct: int
    mistakes: List[Mistake]
    gaps: GapDistribution

    @property
    def accuracy(self) -> Optional[float]:
        return self.correct / self.labelled if self.labelled else None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["accuracy"] = self.accuracy
        data["gaps"]["histogram"] = [{"up_to": None if upper == float("inf") else upper, "count": count}
                                     for upper, count in self.gaps.histogram]
        return data


def word_key(text: str) -> str:
    """How words are counted together: lower case, surrounding punctuation removed ("Superb!" -> "superb")."""
    return text.strip().strip(string.punctuation + "“”‘’«»…").lower()


def true_index(explanation: Explanation) -> Optional[int]:
    """The class index of the gold label (an index or a label name), or ``None`` when there is none."""
    label = explanation.true_label
    if isinstance(label, int):
        return label if 0 <= label < len(explanation.prediction.labels) else None
    if isinstance(label, str) and label in explanation.prediction.labels:
        return explanation.prediction.labels.index(label)
    return None


class _Words:
    """Sums and counts of word attributions per class."""

    def __init__(self) -> None:
        self.sums: Dict[str, Dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.counts: Dict[str, Dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, explanation: Explanation) -> None:
        label = explanation.target.label
        for word in words(explanation, include_special=False):
            key = word_key(word.text)
            if key:
                self.sums[label][key] += word.score
                self.counts[label][key] += 1

    def ranked(self, label: str, top: int, min_count: int, largest: bool) -> List[WordStat]:
        stats = [WordStat(key, total / self.counts[label][key], self.counts[label][key])
                 for key, total in self.sums[label].items() if self.counts[label][key] >= min_count]
        stats.sort(key=lambda s: (-s.mean if largest else s.mean, -s.count, s.word))
        return stats[:top]


class _Mistakes:
    """The ``k`` most confident mistakes seen, and how many explanations had a gold label and were right."""

    def __init__(self, k: int) -> None:
        self.k, self.heap, self.labelled, self.correct, self.seen = k, [], 0, 0, 0

    def add(self, explanation: Explanation) -> None:
        self.seen += 1
        index = true_index(explanation)
        if index is None:
            return
        self.labelled += 1
        prediction = explanation.prediction
        if index == prediction.index:
            self.correct += 1
            return
        mistake = Mistake(explanation.metadata.get("id"), explanation.text, prediction.labels[index],
                          prediction.label, prediction.probability)
        entry = (mistake.probability, -self.seen, mistake)  # ties: the earlier text first
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, entry)
        elif self.k:
            heapq.heappushpop(self.heap, entry)

    def result(self) -> List[Mistake]:
        return [entry[2] for entry in sorted(self.heap, reverse=True)]


class _Gaps:
    """The completeness gaps seen (absolute and relative)."""

    def __init__(self) -> None:
        self.gaps: List[float] = []
        self.relative: List[float] = []
        self.missing = 0

    def add(self, explanation: Explanation) -> None:
        if explanation.completeness_gap is None:
            self.missing += 1
            return
        self.gaps.append(explanation.completeness_gap)
        if explanation.relative_completeness_gap is not None:
            self.relative.append(explanation.relative_completeness_gap)

    def result(self) -> GapDistribution:
        bins = np.searchsorted(np.asarray(GAP_BINS), np.asarray(self.relative, dtype=float), side="left")
        histogram = tuple((upper, int(np.sum(bins == i))) for i, upper in enumerate(GAP_BINS))
        return GapDistribution(len(self.gaps), self.missing, _quantiles(self.gaps), _quantiles(self.relative),
                               histogram)


def _quantiles(values: List[float]) -> Dict[str, float]:
    if not values:
        return {}
    array = np.asarray(values)
    return {"50%": float(np.quantile(array, 0.5)), "90%": float(np.quantile(array, 0.9)),
            "99%": float(np.quantile(array, 0.99)), "max": float(array.max())}


def word_table(explanations: Iterable[Explanation], *, top: int = 10, min_count: int = 2,
               largest: bool = True) -> Dict[str, List[WordStat]]:
    """Per explained class, the ``top`` words (occurring at least ``min_count`` times) with the largest
    mean attribution (``largest=False``: the smallest)."""
    table = _Words()
    for explanation in explanations:
        table.add(explanation)
    return {label: table.ranked(label, top, min_count, largest) for label in sorted(table.sums)}


def confident_mistakes(explanations: Iterable[Explanation], k: int = 10) -> List[Mistake]:
    """The ``k`` wrong predictions (gold label given) with the highest predicted probability."""
    mistakes = _Mistakes(k)
    for explanation in explanations:
        mistakes.add(explanation)
    return mistakes.result()


def gap_distribution(explanations: Iterable[Explanation]) -> GapDistribution:
    """Quantiles and a histogram (:data:`GAP_BINS`) of the completeness gaps."""
    gaps = _Gaps()
    for explanation in explanations:
        gaps.add(explanation)
    return gaps.result()


def summarize(records: Iterable[Any], *, top: int = 10, min_count: int = 2, mistakes: int = 10) -> Summary:
    """Summarise explanations and error records in one pass (see the module's description)."""
    table, wrong, gaps = _Words(), _Mistakes(mistakes), _Gaps()
    classes: Dict[str, int] = defaultdict(int)
    failed = 0
    for record in records:
        if isinstance(record, ErrorRecord):
            failed += 1
            continue
        classes[record.target.label] += 1
        for part in (table, wrong, gaps):
            part.add(record)
    labels = sorted(classes)
    return Summary(
        explained=sum(classes.values()), failed=failed, classes={label: classes[label] for label in labels},
        top_words={label: table.ranked(label, top, min_count, True) for label in labels},
        bottom_words={label: table.ranked(label, top, min_count, False) for label in labels},
        labelled=wrong.labelled, correct=wrong.correct, mistakes=wrong.result(), gaps=gaps.result(),
    )


# -- showing a summary -----------------------------------------------------------------------------------


def to_json(summary: Summary, *, indent: Optional[int] = 2) -> str:
    return json.dumps(summary.to_dict(), indent=indent, ensure_ascii=False)


def _bin_name(index: int) -> str:
    lower = 0.0 if index == 0 else GAP_BINS[index - 1]
    upper = GAP_BINS[index]
    return f">= {lower:g}" if upper == float("inf") else f"{lower:g} - {upper:g}"


HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>attribkit corpus summary</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 2em 1.5em 0; display: inline-table; vertical-align: top; }
th, td { border-bottom: 1px solid #ddd; padding: 0.2em 0.7em; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
caption { font-weight: bold; text-align: left; }
</style></head><body>
<h1>Corpus summary</h1>
<p>{{ s.explained }} explained, {{ s.failed }} failed{% if s.labelled %}; accuracy {{ "%.1f"|format(100 * s.accuracy) }} %
({{ s.correct }} of {{ s.labelled }} with a gold label){% endif %}.</p>
<h2>Words by mean attribution, per explained class</h2>
{% for label, count in s.classes.items() %}
<table><caption>{{ label }} ({{ count }} texts): most for</caption>
<tr><th>word</th><th>mean</th><th>count</th></tr>
{% for w in s.top_words[label] %}<tr><td>{{ w.word }}</td><td class="n">{{ "%+.4f"|format(w.mean) }}</td><td class="n">{{ w.count }}</td></tr>
{% endfor %}</table>
<table><caption>{{ label }}: most against</caption>
<tr><th>word</th><th>mean</th><th>count</th></tr>
{% for w in s.bottom_words[label] %}<tr><td>{{ w.word }}</td><td class="n">{{ "%+.4f"|format(w.mean) }}</td><td class="n">{{ w.count }}</td></tr>
{% endfor %}</table>
{% endfor %}
{% if s.mistakes %}
<h2>Most confident mistakes</h2>
<table><tr><th>id</th><th>text</th><th>gold</th><th>predicted</th><th>probability</th></tr>
{% for m in s.mistakes %}<tr><td>{{ m.id }}</td><td>{{ m.text }}</td><td>{{ m.true_label }}</td><td>{{ m.predicted }}</td>
<td class="n">{{ "%.3f"|format(m.probability) }}</td></tr>
{% endfor %}</table>
{% endif %}
<h2>Completeness gaps</h2>
<p>{{ s.gaps.count }} explanations report a gap{% if s.gaps.missing %}, {{ s.gaps.missing }} do not{% endif %}.</p>
{% if s.gaps.count %}
<table><tr><th></th>{% for q in s.gaps.quantiles %}<th>{{ q }}</th>{% endfor %}</tr>
<tr><td>gap</td>{% for v in s.gaps.quantiles.values() %}<td class="n">{{ "%.3g"|format(v) }}</td>{% endfor %}</tr>
<tr><td>relative gap</td>{% for v in s.gaps.relative_quantiles.values() %}<td class="n">{{ "%.3g"|format(v) }}</td>{% endfor %}</tr>
</table>
<table><caption>relative gaps</caption><tr><th>gap / |F(x) - F(baseline)|</th><th>texts</th></tr>
{% for name, count in bins %}<tr><td>{{ name }}</td><td class="n">{{ count }}</td></tr>{% endfor %}
</table>
{% endif %}
</body></html>
"""


def to_html(summary: Summary) -> str:
    """A small standalone HTML page; every text from the corpus is escaped (jinja2 autoescape)."""
    import jinja2

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    bins = [(_bin_name(i), count) for i, (_, count) in enumerate(summary.gaps.histogram)]
    return environment.from_string(HTML).render(s=summary, bins=bins)


def print_summary(summary: Summary, console: Any = None) -> None:
    """Print the summary as rich tables (corpus text is escaped: no markup, no terminal sequences)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from attribkit._text import printable

    def plain(value: Any) -> str:
        return escape(printable(str(value)))

    console = console or Console()
    accuracy = (f"; accuracy {100 * summary.accuracy:.1f} % ({summary.correct} of {summary.labelled} with a gold "
                "label)") if summary.labelled else ""
    console.print(f"{summary.explained} explained, {summary.failed} failed{accuracy}")
    for label, count in summary.classes.items():
        table = Table(title=f"{plain(label)} ({count} texts): words by mean attribution")
        for column in ("most for", "mean", "count", "most against", "mean ", "count "):
            table.add_column(column, justify="left" if column.startswith("most") else "right")
        top, bottom = summary.top_words[label], summary.bottom_words[label]
        for i in range(max(len(top), len(bottom))):
            cells: List[str] = []
            for stats in (top, bottom):
                cells += [plain(stats[i].word), f"{stats[i].mean:+.4f}", str(stats[i].count)] if i < len(stats) \
                    else ["", "", ""]
            table.add_row(*cells)
        console.print(table)
    if summary.mistakes:
        table = Table(title="most confident mistakes")
        for column in ("id", "text", "gold", "predicted", "probability"):
            table.add_column(column, overflow="fold")
        for m in summary.mistakes:
            table.add_row(plain(m.id), plain(m.text), plain(m.true_label), plain(m.predicted), f"{m.probability:.3f}")
        console.print(table)
    gaps = summary.gaps
    console.print(f"completeness gaps: {gaps.count} explanations report one"
                  + (f", {gaps.missing} do not" if gaps.missing else ""))
    if gaps.count:
        table = Table(title="completeness gaps")
        table.add_column("")
        for name in gaps.quantiles:
            table.add_column(name, justify="right")
        table.add_row("gap", *(f"{v:.3g}" for v in gaps.quantiles.values()))
        if gaps.relative_quantiles:
            table.add_row("relative gap", *(f"{v:.3g}" for v in gaps.relative_quantiles.values()))
        console.print(table)
        histogram = Table(title="relative gaps")
        histogram.add_column("gap / |F(x) - F(baseline)|")
        histogram.add_column("texts", justify="right")
        for i, (_, count) in enumerate(gaps.histogram):
            histogram.add_row(_bin_name(i), str(count))
        console.print(histogram)
