"""The ``html`` renderer: a self-contained report.

One page (or, with ``standalone=False``, one fragment for notebooks) shows
the columns of Captum's visualisation table for every explanation, the text
heat-mapped on a diverging palette with one colour scale for the whole
report, a score line of the top words, and the method, model and quality
figures. From :data:`CORPUS_FROM` explanations on, the page is a corpus
report: a summary (counts, accuracy, the most important words per
predicted class), then one compact row per text (its words; the subword
view is in the table layout). The word/subword and
special-token toggles, sorting and filtering are pure CSS; a corpus page's
text search is one static script, allowed by its hash in the page's
Content-Security-Policy, that reads the texts from the page and never
carries any of them. Single reports have no script at all.

Every string that comes from an explanation is escaped by Jinja2's
autoescaping; this module only prepares plain strings and numbers for the
templates in ``templates/``.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import jinja2
from markupsafe import Markup

from attribkit._version import __version__
from attribkit.errors import InputError
from attribkit.hookspecs import hookimpl
from attribkit.renderers._format import (
    DROPPED_TITLE, Replay, anchor_rule, completeness_gap, explained, readable_twice, shown_words, top_words,
    true_label,
)
from attribkit.renderers._palette import (
    DARK_TEXT,
    SHARED,
    Scale,
    colour,
    hex_colour,
    legend_colours,
    text_colour,
)
from attribkit.results import Explanation

#: The tooltip of the Attribution Score: what the figure is (Captum's table sums the normalised scores).
SCORE_TITLE = "sum of the scores as normalised for the colours ({normalization}); raw sum {raw:+.4g}"
#: The policy of a standalone page without script: no script, no network.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
#: The corpus page's text search, the only script attribkit writes. It is static (no text of an
#: explanation is in it: it reads the rows' words from the page) and allowed by its hash alone.
SEARCH_SCRIPT = (
    'document.querySelectorAll(".ak-report").forEach(function (report) {'
    ' var box = report.querySelector(".ak-search"); if (!box) { return; }'
    ' box.addEventListener("input", function () {'
    ' var wanted = box.value.trim().toLowerCase().replace(/\\s+/g, " ");'
    ' report.querySelectorAll(".ak-row").forEach(function (row) {'
    ' var text = row.querySelector(".ak-words").textContent.toLowerCase().replace(/\\s+/g, " ");'
    ' row.classList.toggle("ak-nomatch", wanted !== "" && text.indexOf(wanted) < 0); }); }); });'
)
SEARCH_SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SEARCH_SCRIPT.encode("utf-8")).digest()).decode()
#: The policy of a corpus page: the same, plus the search script, allowed by its hash.
CORPUS_CONTENT_SECURITY_POLICY = f"{CONTENT_SECURITY_POLICY}; script-src '{SEARCH_SCRIPT_HASH}'"
#: From this many explanations on, ``layout="auto"`` makes a corpus report.
CORPUS_FROM = 10
LAYOUTS = ("auto", "table", "corpus")
#: Words listed per predicted class in a corpus summary.
SUMMARY_WORDS = 8


@dataclass(frozen=True)
class Chip:
    """One coloured word or token: what it shows, its tooltip and its colours."""

    text: str
    title: str
    style: str
    special: bool
    dropped: bool = False


@dataclass(frozen=True)
class Card:
    """Everything the templates show for one explanation, as display strings."""

    true_label: str
    true_label_matches: Optional[bool]
    predicted: str
    target: str
    score: str
    score_title: str
    direction: str
    words: Tuple[Chip, ...]
    tokens: Tuple[Chip, ...]
    top: Tuple[Tuple[str, str, bool], ...]
    identity: Tuple[Tuple[str, str], ...]
    quality: Tuple[Tuple[str, str], ...]
    warnings: Tuple[str, ...]
    label_index: int = 0
    confidence: int = 0


@dataclass(frozen=True)
class Comparison:
    """Explanations laid out as one row per text and one column per value of ``compare_by``."""

    attribute: str
    columns: Tuple[str, ...]
    rows: Tuple[Tuple[str, Tuple[Tuple[Card, ...], ...]], ...]


@dataclass
class Summary:
    """The head of a corpus report, gathered one explanation at a time (:meth:`add`): counts, accuracy,
    the identity (method, model, backend) when every row shares it, and the words that weigh most for
    each predicted class."""

    count: int = 0
    labelled: int = 0
    correct: int = 0
    predicted: Dict[str, int] = field(default_factory=dict)
    identities: set = field(default_factory=set)
    identity: Tuple[Tuple[str, str], ...] = ()
    #: ``(predicted label, output kind)`` -> word -> ``[sum of scores, count]``
    word_scores: Dict[Tuple[str, str], Dict[str, List[float]]] = field(default_factory=dict)

    def add(self, explanation: Explanation) -> None:
        e = explanation
        self.count += 1
        self.predicted[e.prediction.label] = self.predicted.get(e.prediction.label, 0) + 1
        matches = true_label(e)[1]
        if matches is not None:
            self.labelled += 1
            self.correct += matches
        if len(self.identities) < 2:
            self.identities.add(_identity(e))
            self.identity = _identity(e) if len(self.identities) == 1 else ()
        if e.target.index != e.prediction.index or e.method.output == "sum":
            return  # its scores are not about the predicted class
        table = self.word_scores.setdefault((e.prediction.label, e.method.output), {})
        for word in shown_words(e, include_special=False):
            key = _WORD_EDGES.sub("", word.text.lower())
            if key and not word.dropped:
                entry = table.setdefault(key, [0.0, 0])
                entry[0] += word.score
                entry[1] += 1

    @property
    def labels(self) -> List[str]:
        """The predicted labels, most frequent first (the filters' and the label sort's order)."""
        return sorted(self.predicted, key=lambda label: (-self.predicted[label], label))

    def label_index(self, label: str) -> int:
        return self.labels.index(label)

    def picks(self) -> List[Tuple[str, str, bool]]:
        """The sorting and filtering choices, as ``(radio group, choice, checked at first)``: the CSS rules
        and controls of the page are named after them (numbers only: no label goes into CSS)."""
        choices = [("sort", f"sort-{how}", how == "mistakes") for how in ("mistakes", "input", "confidence", "label")]
        if self.labelled:
            choices += [("outcome", f"outcome-{which}", which == "all") for which in ("all", "wrong", "right")]
        choices.append(("label", "label-all", True))
        return choices + [("label", f"label-{i}", False) for i in range(len(self.predicted))]

    def stats(self) -> List[str]:
        """``["300 texts", "accuracy 91.3% (274 of 300 with a true label)", "26 mistakes"]``."""
        lines = [f"{self.count:,} text(s)"]
        if self.labelled:
            lines.append(f"accuracy {self.correct / self.labelled:.1%} ({self.correct:,} of {self.labelled:,} "
                         "with a true label)")
            lines.append(f"{self.labelled - self.correct:,} mistake(s)")
        lines.append("predicted: " + ", ".join(f"{label} {self.predicted[label]:,}" for label in self.labels))
        return lines

    def classes(self) -> List[Tuple[str, List[Tuple[str, str, str, bool]]]]:
        """For each predicted class (and output kind): its heading and its most important words as
        ``(word, mean score, count, positive)``, by the sum of their scores: the words that pushed the
        model towards that class most over the corpus."""
        result = []
        kinds = {kind for _, kind in self.word_scores}
        for (label, kind), table in sorted(self.word_scores.items(), key=lambda item: self.labels.index(item[0][0])):
            ranked = sorted(table.items(), key=lambda item: (-item[1][0], item[0]))[:SUMMARY_WORDS]
            heading = f"predicted {label}" + (f" ({kind})" if len(kinds) > 1 else "")
            result.append((heading, [(word, f"{total / count:+.3g}", f"{count:,}", total > 0)
                                     for word, (total, count) in ranked]))
        return result


_WORD_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("attribkit.renderers", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _chips(units: Sequence[Tuple[str, float, bool]], values: Iterable[float], dropped: Sequence[bool] = ()
           ) -> Tuple[Chip, ...]:
    """Colour ``(text, raw score, special)`` units by their colour intensities ``values`` (one per unit not
    ``dropped``); units marked in ``dropped`` (words without tokens) have no score and no colour."""
    dropped = list(dropped) or [False] * len(units)
    intensities = iter(values)
    chips = []
    for (text, score, special), gone in zip(units, dropped):
        if gone:
            chips.append(Chip(text, DROPPED_TITLE, "", special, dropped=True))
            continue
        background = colour(next(intensities))
        style = f"background:{hex_colour(background)}"  # black text (the chips' colour) unless white reads better
        if text_colour(background) != DARK_TEXT:
            style += f";color:{hex_colour(text_colour(background))}"
        chips.append(Chip(text, f"score {score:+.4g}", style, special))
    return tuple(chips)


def _direction(text: str) -> str:
    """``"rtl"`` when the first strongly directional character of ``text`` is right-to-left, else ``"ltr"``."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def _identity(explanation: Explanation) -> Tuple[Tuple[str, str], ...]:
    """``(name, value)`` pairs of the method, model and backend: what a corpus report shows once when every
    row shares it."""
    e = explanation
    params = " \u00b7 ".join(f"{key}={value}" for key, value in e.method.params.items())
    method = f"{e.method.name} \u00b7 output={e.method.output}" + (f" \u00b7 {params}" if params else "")
    model = e.model.name + (f" ({e.model.architecture})" if e.model.architecture else "")
    return (("Method", method), ("Model", model), ("Backend", f"{e.model.backend} ({e.model.framework})"))


def _quality(explanation: Explanation) -> Tuple[Tuple[str, str], ...]:
    """``(name, value)`` pairs of this explanation's own figures: anchor rule, convergence delta, gap."""
    e = explanation
    details = []
    rule = anchor_rule(e)
    if rule is not None:
        details.append(("Anchor", rule))
    if e.convergence_delta is not None:
        details.append(("Convergence delta", f"{e.convergence_delta:.3g}"))
    gap = completeness_gap(e)
    if gap is not None:
        details.append(("Completeness gap", gap))
    return tuple(details)


def _card(explanation: Explanation, scale: Scale, summary: Optional[Summary] = None) -> Card:
    e = explanation
    output = e.method.output
    gold, matches = true_label(e)
    shown = shown_words(e)
    scored = [w.score for w in shown if not w.dropped]
    normalization = scale.how if not scale.shared else f"{SHARED} scale, full colour at " + ", ".join(scale.ranges())
    return Card(
        true_label=gold,
        true_label_matches=matches,
        predicted=f"{e.prediction.label} ({e.prediction.probability:.2f})",
        target=explained(e),
        score=f"{float(scale.normalized(e.scores, output).sum()):.2f}",
        score_title=SCORE_TITLE.format(normalization=normalization, raw=float(e.scores.sum())),
        direction=_direction(e.text),
        words=_chips([(w.text, w.score, w.special) for w in shown], scale.values(scored, output),
                     [w.dropped for w in shown]),
        tokens=_chips(list(zip(e.tokens, e.scores.tolist(), e.special_mask.tolist())), scale.values(e.scores, output)),
        top=tuple((w.text, f"{w.score:+.3g}", w.score >= 0) for w in top_words(shown)),
        identity=_identity(e),
        quality=_quality(e),
        warnings=e.warnings,
        label_index=summary.label_index(e.prediction.label) if summary else 0,
        confidence=round(1000 * e.prediction.probability),
    )


def _attribute(explanation: Explanation, path: str) -> str:
    """The value of a dotted attribute path such as ``"model.backend"``, as text."""
    value: object = explanation
    for part in path.split("."):
        if part.startswith("_") or not hasattr(value, part):
            raise InputError(
                f"compare_by: an explanation has no attribute {path!r}; "
                "use a dotted path such as 'model.backend' or 'method.name'"
            )
        value = getattr(value, part)
    return str(value)


def _comparison(explanations: Sequence[Explanation], cards: Sequence[Card], attribute: str) -> Comparison:
    """Group cards by text (rows) and by ``attribute`` (columns), in order of first appearance."""
    table: Dict[str, Dict[str, List[Card]]] = {}
    columns: Dict[str, None] = {}
    for explanation, card in zip(explanations, cards):
        column = _attribute(explanation, attribute)
        columns[column] = None
        table.setdefault(explanation.text, {}).setdefault(column, []).append(card)
    rows = tuple(
        (text, tuple(tuple(cells.get(column, ())) for column in columns)) for text, cells in table.items()
    )
    return Comparison(attribute, tuple(columns), rows)


def _content_id(title: str, explanations: Sequence[Explanation]) -> str:
    """A short id derived from the content (the title and the first explanations), so that a page is the
    same for the same input. (Notebook fragments get a random id instead, so that two fragments of one
    explanation keep separate switches.)"""
    digest = hashlib.sha256(title.encode("utf-8"))
    for explanation in explanations:
        digest.update(explanation.text.encode("utf-8", "surrogatepass"))
        digest.update(explanation.scores.tobytes())
    return digest.hexdigest()[:8]


class _Count:
    """How many cards the page has, known once the last one is rendered (the footer comes after them)."""

    def __init__(self) -> None:
        self.value = 0

    def __str__(self) -> str:
        return str(self.value)


def stream_html(
    explanations: Iterable[Explanation],
    *,
    title: str = "attribkit report",
    standalone: bool = True,
    normalization: str = SHARED,
    layout: str = "auto",
    compare_by: Optional[str] = None,
    notes: Sequence[str] = (),
) -> Iterator[str]:
    """The HTML page (or fragment, with ``standalone=False``) piece by piece, in bounded memory: with a
    per-explanation normalisation a table is made one card at a time; a shared scale or a corpus report
    reads the explanations twice (an iterator is kept in a temporary file for the second reading).
    ``compare_by`` needs them all at once.

    Args:
        explanations: the explanations, one table row (or card) each.
        title: the page heading.
        standalone: ``True`` for a complete page with a Content-Security-Policy;
            ``False`` for a ``<div>`` with its own scoped ``<style>`` (notebooks).
        normalization: how scores are scaled for the colours: ``"shared"`` (one scale for every
            explanation of the report that explains the same output kind, printed in the legend),
            or per explanation: ``"maxabs"``, ``"l2"`` or ``"none"``.
        layout: ``"table"`` (a row of Captum's columns per explanation), ``"corpus"`` (a summary, then
            a compact row per text, with sorting and filtering) or ``"auto"``: a corpus report from
            :data:`CORPUS_FROM` explanations on.
        compare_by: a dotted attribute path (``"model.backend"``); explanations
            of the same text are then laid out side by side, one column per
            value of that attribute.
        notes: plain-text lines shown under the heading (escaped like
            every other string), e.g. whether two frameworks agree.
    """
    scale = Scale(normalization)
    if layout not in LAYOUTS:
        raise InputError(f"layout: expected one of {LAYOUTS}, got {layout!r}")
    iterator = iter(explanations)
    head = list(itertools.islice(iterator, CORPUS_FROM))
    corpus = not compare_by and (layout == "corpus" or (layout == "auto" and len(head) >= CORPUS_FROM))
    count = _Count()
    summary = Summary() if corpus else None
    comparison = None
    source: Iterable[Explanation] = ()
    cards: Iterable[Card]
    if compare_by:
        everything = head + list(iterator)
        for explanation in everything:
            scale.add(explanation)
        cards = [_card(e, scale) for e in everything]
        comparison = _comparison(everything, list(cards), compare_by)
        count.value = len(everything)
    elif corpus or scale.shared:
        source = readable_twice(head, iterator, explanations)
        for explanation in source:
            scale.add(explanation)
            if summary is not None:
                summary.add(explanation)
            count.value += 1
        cards = (_card(e, scale, summary) for e in source)
    else:
        def made() -> Iterator[Card]:
            for explanation in itertools.chain(head, iterator):
                count.value += 1
                yield _card(explanation, scale)
        cards = made()

    search = corpus and standalone
    template = _environment().get_template("report.html.j2")
    try:
        yield from template.generate(
            title=title,
            standalone=standalone,
            uid="ak-" + (_content_id(title, head[:1]) if standalone else secrets.token_hex(4)),
            csp=CORPUS_CONTENT_SECURITY_POLICY if search else CONTENT_SECURITY_POLICY,
            search_script=Markup(SEARCH_SCRIPT) if search else "",  # a constant: no explanation's text
            scale=scale,
            legend=", ".join(hex_colour(c) for c in legend_colours()),
            cards=cards,
            has_cards=bool(head),
            count=count,
            comparison=comparison,
            summary=summary,
            notes=[str(note) for note in notes],
            version=__version__,
        )
    finally:
        if isinstance(source, Replay):
            source.close()


def render_html(explanations: Sequence[Explanation], **options: object) -> str:
    """The HTML page (see :func:`stream_html` for the options) as one string."""
    return "".join(stream_html(explanations, **options))


@hookimpl
def attribkit_register_renderers(register: Callable[..., None]) -> None:
    """Register the ``html`` format."""
    register("html", stream_html, extension=".html", streams=True,
             description="self-contained HTML report: shared colour scale, score lines, corpus summary")
