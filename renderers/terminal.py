"""The ``terminal`` renderer: tokens on coloured backgrounds, or plain numbers.

With colour, each word (or token) is printed on the diverging palette of
the HTML report, on one scale for all the explanations printed (the legend
gives its range), and rich wraps the lines to the terminal width; a score
line gives the top words' raw scores. Without
colour (``NO_COLOR`` set, output not a terminal, or ``color=False``) each
word is followed by its raw score, ``superb(+0.71)``, so logs and pipes
keep the numbers. The word view shows the whole text: a word the model did
not see (a word tokenizer dropped it, or truncation cut it) is dimmed and
struck through, or printed ``zyzzyva(—)``.
"""
from __future__ import annotations

import io
import os
import shutil
import sys
import unicodedata
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

from rich.console import Console
from rich.style import Style
from rich.text import Text

from attribkit.errors import InputError
from attribkit.hookspecs import hookimpl
from attribkit.ops import Word
from attribkit.renderers._format import (
    MISSING, Replay, anchor_rule, completeness_gap, explained, readable_twice, shown_words, top_words, true_label,
)
from attribkit.renderers._palette import SHARED, Scale, colour, hex_colour, legend_colours, text_colour
from attribkit.results import Explanation

VIEWS = ("word", "token")
#: Invisible characters that reorder or hide text on a terminal (bidirectional controls).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _printable(text: str) -> str:
    """``text`` with control characters (escape sequences, bidi overrides) shown as ``\\x1b``-style escapes."""
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS else char
        for char in text
    )


def _use_colour(color: Optional[bool]) -> bool:
    """An explicit ``color`` wins; otherwise colour only on a terminal without ``NO_COLOR``."""
    if color is not None:
        return bool(color)
    return not os.environ.get("NO_COLOR") and sys.stdout.isatty()


def _units(explanation: Explanation, shown: Sequence[Word], view: str, show_special: bool
           ) -> List[Tuple[str, Optional[float]]]:
    """``(text, raw score)`` of each word or token to print; the score is ``None`` for a word of the text
    that has no token (the word view shows the whole text, ``shown``)."""
    if view == "word":
        return [(w.text, None if w.dropped else w.score) for w in shown if show_special or not w.special]
    return [
        (token, float(score))
        for token, score, special in zip(explanation.tokens, explanation.scores, explanation.special_mask)
        if show_special or not special
    ]


def _swatch(value: float) -> Style:
    background = colour(value)
    return Style(color=hex_colour(text_colour(background)), bgcolor=hex_colour(background))


def _heatmap(units: Sequence[Tuple[str, Optional[float]]], scale: Scale, output: str, use_colour: bool) -> Text:
    """The words separated by spaces: coloured, or each followed by its score; words without a score are
    dimmed and struck through, or followed by a dash."""
    line = Text()
    values = iter(scale.values([score for _, score in units if score is not None], output))
    for i, (text, score) in enumerate(units):
        if i:
            line.append(" ")
        if score is None:
            if use_colour:
                line.append(_printable(text), style="dim strike")
            else:
                line.append(f"{_printable(text)}({MISSING})")
            continue
        value = next(values)
        if use_colour:
            line.append(_printable(text), style=_swatch(value))
        else:
            line.append(f"{_printable(text)}({score:+.3g})")
    return line


def _summary(explanation: Explanation) -> Text:
    """Predicted label and probability, target, true label, method and completeness gap."""
    e = explanation
    parts = [
        f"predicted {e.prediction.label} ({e.prediction.probability:.2f})",
        f"target {explained(e)}",
        f"true {true_label(e)[0]}",
        f"{e.method.name} ({e.method.output})",
    ]
    gap = completeness_gap(e)
    if gap is not None:
        parts.append(f"gap {gap}")
    return Text(_printable(" | ".join(parts)), style="bold")


def _top_line(shown: Sequence[Word]) -> Text:
    """``top: superb +0.39  moving +0.14  dull -0.05``: the raw scores of the words that weigh most."""
    pairs = "  ".join(f"{_printable(word.text)} {word.score:+.3g}" for word in top_words(shown))
    return Text(f"top: {pairs}")


def _legend(scale: Scale) -> Text:
    low, high = scale.ends()
    legend = Text(f"against {low} ")
    for rgb in legend_colours():
        legend.append("  ", style=Style(bgcolor=hex_colour(rgb)))
    legend.append(f" {high} supports the target ({scale.description()})")
    return legend


def stream_terminal(
    explanations: Iterable[Explanation],
    *,
    view: str = "word",
    show_special: bool = False,
    normalization: str = SHARED,
    width: Optional[int] = None,
    color: Optional[bool] = None,
) -> Iterator[str]:
    """Render explanations for a terminal, one explanation at a time (with ANSI codes when coloured), in
    bounded memory (the shared scale reads an iterator twice, keeping it in a temporary file).

    Args:
        explanations: printed one after the other, separated by a blank line.
        view: ``"word"`` (subword tokens merged into words) or ``"token"``.
        show_special: also print special tokens (``[CLS]``, ``</s>``...).
        normalization: how scores are scaled for colour: ``"shared"`` (one scale for all the
            explanations that explain the same output kind), or per explanation ``"maxabs"``,
            ``"l2"`` or ``"none"``; the printed numbers are always the raw scores.
        width: wrap width; the terminal's width by default.
        color: ``True``/``False`` forces colour on or off; ``None`` colours only
            when standard output is a terminal and ``NO_COLOR`` is not set.
    """
    if view not in VIEWS:
        raise InputError(f"view: expected one of {VIEWS}, got {view!r}")
    scale = Scale(normalization)
    use_colour = _use_colour(color)
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width or shutil.get_terminal_size().columns,
        force_terminal=use_colour, color_system="auto" if use_colour else None, no_color=not use_colour,
        force_jupyter=False, force_interactive=False, highlight=False, emoji=False, markup=False,
        legacy_windows=False,
    )

    def taken() -> str:
        # rich keeps the space at which it wrapped a line; drop it.
        text = "\n".join(line.rstrip(" ") for line in buffer.getvalue().split("\n"))
        buffer.seek(0)
        buffer.truncate()
        return text

    source: Iterable[Explanation] = explanations
    if scale.shared and use_colour:  # without colour only raw numbers are printed: no scale to find
        iterator = iter(explanations)
        source = readable_twice([], iterator, explanations)
        for explanation in source:
            scale.add(explanation)
    try:
        for i, explanation in enumerate(source):
            if i == 0 and use_colour:
                console.print(_legend(scale))
            if i or use_colour:
                console.print()
            console.print(_summary(explanation))
            rule = anchor_rule(explanation)
            if rule is not None:
                console.print(Text(f"anchor: {_printable(rule)}", style="bold"))
            shown = shown_words(explanation)
            console.print(_top_line(shown))
            console.print(_heatmap(_units(explanation, shown, view, show_special), scale,
                                   explanation.method.output, use_colour))
            for warning in explanation.warnings:
                console.print(Text(f"warning: {_printable(warning)}", style="yellow"))
            yield taken()
    finally:
        if isinstance(source, Replay):
            source.close()


def render_terminal(explanations: Sequence[Explanation], **options: object) -> str:
    """:func:`stream_terminal` as one string."""
    return "".join(stream_terminal(explanations, **options))


@hookimpl
def attribkit_register_renderers(register: Callable[..., None]) -> None:
    """Register the ``terminal`` format."""
    register("terminal", stream_terminal, extension=".txt", streams=True,
             description="coloured words for a terminal; plain 'word(+0.71)' without colour")
