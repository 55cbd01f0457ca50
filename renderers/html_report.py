"""The ``html`` renderer: a self-contained, script-free report.

One page (or, with ``standalone=False``, one fragment for notebooks) shows
the columns of Captum's visualisation table for every explanation, the text
heat-mapped on a diverging palette, and the method, model and quality
figures. The word/subword and special-token toggles are pure CSS, so the
page carries a Content-Security-Policy that forbids every script.

Every string that comes from an explanation is escaped by Jinja2's
autoescaping; this module only prepares plain strings and numbers for the
templates in ``templates/``.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import jinja2

from attribkit._version import __version__
from attribkit.errors import InputError
from attribkit.hookspecs import hookimpl
from attribkit.ops import normalize
from attribkit.renderers._format import (
    DROPPED_TITLE, anchor_rule, completeness_gap, explained, shown_words, true_label,
)
from attribkit.renderers._palette import (
    check_normalization,
    colour,
    display_values,
    hex_colour,
    legend_colours,
    text_colour,
)
from attribkit.results import Explanation

#: The tooltip of the Attribution Score: what the figure is (Captum's table sums the normalised scores).
SCORE_TITLE = "sum of the scores as normalised for the colours ({normalization}); raw sum {raw:+.4g}"
#: The policy written into every standalone page: no script, no network.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


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
    details: Tuple[Tuple[str, str], ...]
    warnings: Tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    """Explanations laid out as one row per text and one column per value of ``compare_by``."""

    attribute: str
    columns: Tuple[str, ...]
    rows: Tuple[Tuple[str, Tuple[Tuple[Card, ...], ...]], ...]


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("attribkit.renderers", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _chips(units: Sequence[Tuple[str, float, bool]], normalization: str, dropped: Sequence[bool] = ()) -> Tuple[Chip, ...]:
    """Colour ``(text, raw score, special)`` units by their normalised score; units marked in ``dropped``
    (words without tokens) have no score and no colour."""
    dropped = list(dropped) or [False] * len(units)
    scored = [unit for unit, gone in zip(units, dropped) if not gone]
    values = iter(display_values([score for _, score, _ in scored], normalization))
    chips = []
    for (text, score, special), gone in zip(units, dropped):
        if gone:
            chips.append(Chip(text, DROPPED_TITLE, "", special, dropped=True))
            continue
        background = colour(next(values))
        style = f"background:{hex_colour(background)};color:{hex_colour(text_colour(background))}"
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


def _details(explanation: Explanation) -> Tuple[Tuple[str, str], ...]:
    """``(name, value)`` pairs for the method, model and quality line."""
    e = explanation
    params = " \u00b7 ".join(f"{key}={value}" for key, value in e.method.params.items())
    method = f"{e.method.name} \u00b7 output={e.method.output}" + (f" \u00b7 {params}" if params else "")
    model = e.model.name + (f" ({e.model.architecture})" if e.model.architecture else "")
    details = [("Method", method), ("Model", model), ("Backend", f"{e.model.backend} ({e.model.framework})")]
    rule = anchor_rule(e)
    if rule is not None:
        details.insert(0, ("Anchor", rule))
    if e.convergence_delta is not None:
        details.append(("Convergence delta", f"{e.convergence_delta:.3g}"))
    gap = completeness_gap(e)
    if gap is not None:
        details.append(("Completeness gap", gap))
    return tuple(details)


def _card(explanation: Explanation, normalization: str) -> Card:
    e = explanation
    gold, matches = true_label(e)
    shown = shown_words(e)
    word_units = [(w.text, w.score, w.special) for w in shown]
    token_units = list(zip(e.tokens, e.scores.tolist(), e.special_mask.tolist()))
    return Card(
        true_label=gold,
        true_label_matches=matches,
        predicted=f"{e.prediction.label} ({e.prediction.probability:.2f})",
        target=explained(e),
        score=f"{float(normalize(e.scores, normalization).sum()):.2f}",
        score_title=SCORE_TITLE.format(normalization=normalization, raw=float(e.scores.sum())),
        direction=_direction(e.text),
        words=_chips(word_units, normalization, [w.dropped for w in shown]),
        tokens=_chips(token_units, normalization),
        details=_details(e),
        warnings=e.warnings,
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
    normalization: str = "maxabs",
    compare_by: Optional[str] = None,
    notes: Sequence[str] = (),
) -> Iterator[str]:
    """The HTML page (or fragment, with ``standalone=False``) piece by piece: one card is made at a time,
    so a file of any size renders in bounded memory (``compare_by`` needs them all at once).

    Args:
        explanations: the explanations, one table row (or card) each.
        title: the page heading.
        standalone: ``True`` for a complete page with a Content-Security-Policy;
            ``False`` for a ``<div>`` with its own scoped ``<style>`` (notebooks).
        normalization: how scores are scaled per explanation before colouring:
            ``"maxabs"``, ``"l2"`` or ``"none"``.
        compare_by: a dotted attribute path (``"model.backend"``); explanations
            of the same text are then laid out side by side, one column per
            value of that attribute.
        notes: plain-text lines shown under the heading (escaped like
            every other string), e.g. whether two frameworks agree.
    """
    check_normalization(normalization)
    iterator = iter(explanations)
    if compare_by:
        explanations = list(iterator)
        first: List[Explanation] = explanations[:1]
        cards: Iterable[Card] = [_card(e, normalization) for e in explanations]
        comparison = _comparison(explanations, list(cards), compare_by)
    else:
        first = list(itertools.islice(iterator, 1))
        comparison = None
    count = _Count()

    def made() -> Iterator[Card]:
        for explanation in itertools.chain(first, iterator):
            count.value += 1
            yield _card(explanation, normalization)

    template = _environment().get_template("report.html.j2")
    yield from template.generate(
        title=title,
        standalone=standalone,
        uid="ak-" + (_content_id(title, first) if standalone else secrets.token_hex(4)),
        csp=CONTENT_SECURITY_POLICY,
        normalization=normalization,
        legend=", ".join(hex_colour(c) for c in legend_colours()),
        cards=cards if compare_by else made(),
        has_cards=bool(first),
        count=len(cards) if compare_by else count,
        comparison=comparison,
        notes=[str(note) for note in notes],
        version=__version__,
    )


def render_html(explanations: Sequence[Explanation], **options: object) -> str:
    """The HTML page (see :func:`stream_html` for the options) as one string."""
    return "".join(stream_html(explanations, **options))


@hookimpl
def attribkit_register_renderers(register: Callable[..., None]) -> None:
    """Register the ``html`` format."""
    register("html", stream_html, extension=".html", streams=True,
             description="self-contained HTML report with a heat-mapped text, no JavaScript")
