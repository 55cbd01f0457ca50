"""The built-in renderers: html, terminal and json (no torch or tensorflow needed)."""
from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest

import attribkit
from attribkit import Explanation, InputError, ModelInfo
from attribkit.renderers import _palette as palette
from attribkit.renderers.html_report import CORPUS_FROM
from conftest import build_explanation
from test_html_security import parse_page

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CAPTUM_COLUMNS = ["True Label", "Predicted Label", "Attribution Label", "Attribution Score", "Word Importance"]


def subword_explanation(**overrides) -> Explanation:
    """``the superb film`` tokenised WordPiece-style as ``the super ##b film``."""
    fields = dict(
        text="the superb film",
        tokens=["[CLS]", "the", "super", "##b", "film", "[SEP]"],
        offsets=[(0, 0), (0, 3), (4, 9), (9, 10), (11, 15), (0, 0)],
        scores=[0.05, 0.1, 0.3, 0.2, -0.4, -0.05],
    )
    fields.update(overrides)
    return build_explanation(**fields)


def background(chip) -> str:
    return re.match(r"background:(#[0-9a-f]{6})", chip.get("style")).group(1)


def rgb(hex_colour: str):
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def chip_by_text(page, view, text):
    [chip] = [c for c in page.chips(view) if c.text == text]
    return chip


# -- html -------------------------------------------------------------------------

def test_html_table_has_captum_columns_and_values():
    explanation = build_explanation()
    page = parse_page(attribkit.render(explanation, "html"))
    assert [th.text for th in page.find("th")] == CAPTUM_COLUMNS
    cells = [td.text.strip() for td in page.find("td")][:4]
    scores = explanation.scores
    # one explanation: the shared scale is its largest |score| of a word or token that is not special
    assert cells == ["positive", "positive (0.90)", "positive", f"{scores.sum() / np.abs(scores[1:-1]).max():.2f}"]
    details = " ".join(dd.text for dd in page.find("dd"))
    for expected in ("integrated_gradients", "output=probability", "n_steps=50", "baseline=pad",
                     "tiny-test-model (TestModel)", "test (test)", "0.001", "0.25% of |F(x)"):
        assert expected in details


def test_words_scored_next_to_zero_do_not_overflow_the_shared_scale():
    """Words scored at a subnormal size, special tokens at 1: no overflow, a finite Attribution Score."""
    import warnings

    explanation = build_explanation(text="a b", scores=[1.0, 5e-324, -1e-310, -1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        page = parse_page(attribkit.render(explanation, "html"))
        attribkit.render(explanation, "terminal")
    assert np.isfinite(float([td.text.strip() for td in page.find("td")][3]))


@pytest.mark.parametrize("normalization", ["l2", "none"])
def test_attribution_score_follows_the_normalisation_shown(normalization):
    explanation = build_explanation(scores=[0.0, 3.0, -1.0, 2.0, 0.5, 0.0])
    page = parse_page(attribkit.render(explanation, "html", normalization=normalization))
    score = [td.text.strip() for td in page.find("td")][3]
    scores = explanation.scores
    # Captum's table (seeds 000/001/004): attributions / torch.norm(attributions), then .sum()
    expected = scores.sum() / np.linalg.norm(scores) if normalization == "l2" else scores.sum()
    assert score == f"{expected:.2f}" and float(score) != pytest.approx(scores.sum() / np.abs(scores).max(), abs=0.01)


def test_html_shows_warnings_and_a_wrong_prediction():
    explanation = build_explanation(true_label="negative", warnings=("input was truncated to 512 tokens",))
    page = parse_page(attribkit.render(explanation, "html"))
    assert [li.text for li in page.find("li")] == ["input was truncated to 512 tokens"]
    assert page.find("span", "ak-miss")
    assert not parse_page(attribkit.render(build_explanation(), "html")).find("span", "ak-miss")


def test_html_without_true_label_or_quality_figures():
    explanation = build_explanation(true_label=None, convergence_delta=None, completeness_gap=None)
    page = parse_page(attribkit.render(explanation, "html"))
    assert page.find("td")[0].text.strip() == "\u2014"
    names = [dt.text for dt in page.find("dt")]
    assert "Convergence delta" not in names and "Completeness gap" not in names


def test_html_colours_have_the_sign_of_the_score():
    explanation = build_explanation(text="good bad meh", scores=[0.0, 0.8, -0.4, 0.0, 0.0])
    page = parse_page(attribkit.render(explanation, "html"))
    good, bad, meh = (rgb(background(chip_by_text(page, "words", w))) for w in ("good", "bad", "meh"))
    assert good[2] > good[0]  # blue
    assert bad[0] > bad[2]  # orange
    assert meh == palette.NEUTRAL
    assert background(chip_by_text(page, "words", "good")) == palette.hex_colour(palette.STOPS[-1][1])
    assert chip_by_text(page, "words", "bad").get("title") == "score -0.4"


@pytest.mark.parametrize("normalization, expected", [("maxabs", 1.0), ("l2", 0.8 / np.hypot(0.8, 0.4)), ("none", 0.8)])
def test_html_normalization_sets_the_intensity(normalization, expected):
    explanation = build_explanation(text="good bad", scores=[0.0, 0.8, -0.4, 0.0])
    page = parse_page(attribkit.render(explanation, "html", normalization=normalization))
    assert background(chip_by_text(page, "words", "good")) == palette.hex_colour(palette.colour(expected))
    assert f"({normalization})" in page.find("span", "ak-legend-note")[0].text


def test_html_rejects_an_unknown_normalization_and_option():
    with pytest.raises(InputError, match="normalization"):
        attribkit.render(build_explanation(), "html", normalization="softmax")
    with pytest.raises(InputError, match="colour"):
        attribkit.render(build_explanation(), "html", colour="red")


def test_palette_is_readable_and_centred_on_zero():
    assert palette.colour(0.0) == palette.NEUTRAL
    assert palette.colour(5.0) == palette.colour(1.0) and palette.colour(-5.0) == palette.colour(-1.0)
    for value in np.linspace(-1, 1, 81):
        shade = palette.colour(value)
        assert palette._contrast(palette.text_colour(shade), shade) >= 4.5, value
    assert palette.text_colour(palette.colour(1.0)) == palette.LIGHT_TEXT
    assert palette.text_colour(palette.NEUTRAL) == palette.DARK_TEXT


def test_html_has_word_and_subword_views():
    page = parse_page(attribkit.render(subword_explanation(), "html"))
    assert [c.text for c in page.chips("words")] == ["[CLS]", "the", "superb", "film", "[SEP]"]
    assert [c.text for c in page.chips("tokens")] == ["[CLS]", "the", "super", "##b", "film", "[SEP]"]
    assert chip_by_text(page, "words", "superb").get("title") == "score +0.5"


def test_html_toggles_work_without_javascript():
    html = attribkit.render(subword_explanation(), "html")
    page = parse_page(html)
    assert not page.find("script")
    special = [c.text for c in page.chips("tokens") if "ak-special" in c.classes]
    assert special == ["[CLS]", "[SEP]"]
    inputs = {i.get("id"): i for i in page.find("input")}
    labels = {label.get("for") for label in page.find("label")}
    assert set(inputs) == labels and len(labels) == 2
    assert all(i.get("type") == "checkbox" for i in inputs.values())
    css = page.find("style")[0].text
    assert ".ak-report .ak-special { display: none;" in css
    assert ".ak-report .ak-tokens { display: none; }" in css
    assert ".ak-opt-special:checked ~ .ak-body .ak-special { display: inline-block; }" in css
    assert ".ak-opt-subword:checked ~ .ak-body .ak-words { display: none; }" in css
    assert ".ak-opt-subword:checked ~ .ak-body .ak-tokens { display: block; }" in css


def test_html_right_to_left_text_and_isolated_tokens():
    hebrew = parse_page(attribkit.render(build_explanation(text="הסרט מצוין"), "html"))
    assert {div.get("dir") for div in hebrew.find("div", "ak-text")} == {"rtl"}
    english = parse_page(attribkit.render(build_explanation(text="1984 was great"), "html"))
    assert {div.get("dir") for div in english.find("div", "ak-text")} == {"ltr"}
    assert "unicode-bidi: isolate" in english.find("style")[0].text  # an override stays inside its token


def test_html_many_explanations_on_one_page():
    explanations = [build_explanation(text=f"text number {i}") for i in range(7)]
    page = parse_page(attribkit.render(explanations, "html", title="Seven"))
    assert len(page.find("html")) == 1 and len(page.find("style")) == 1
    assert len(page.find("td", "ak-importance")) == 7
    assert page.find("title")[0].text == "Seven" and page.find("h1")[0].text == "Seven"
    assert "7 explanation(s)" in page.find("footer")[0].text


def test_html_empty_page():
    page = parse_page(attribkit.render([], "html"))
    assert "No explanations" in page.find("p", "ak-empty")[0].text


def test_html_fragment_for_notebooks_has_scoped_style():
    explanation = build_explanation()
    html = explanation._repr_html_()
    assert html.lstrip().startswith('<div class="ak-report">')
    page = parse_page(html)
    assert not page.find("html") and not page.find("meta")
    css = re.sub(r"/\*.*?\*/", "", page.find("style")[0].text, flags=re.S)
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{", css) for s in block.split(",")]
    assert selectors and all(s.startswith(".ak-report") for s in selectors), selectors
    first, second = (parse_page(explanation._repr_html_()).find("input")[0].get("id") for _ in range(2))
    assert first != second  # two fragments in one notebook keep separate toggles


def test_html_compare_by_lays_frameworks_side_by_side():
    def framework(explanation, backend):
        return dataclasses.replace(explanation, model=ModelInfo(backend, backend, "m"))

    one, two = build_explanation(text="first text"), build_explanation(text="second text")
    explanations = [framework(one, "torch"), framework(one, "tf"), framework(two, "tf")]
    page = parse_page(attribkit.render(explanations, "html", compare_by="model.backend"))
    assert page.find("table", "ak-compare")
    headings = [th.text for th in page.find("th")]
    assert headings == ["model.backend: torch", "model.backend: tf", "first text", "second text"]
    rows = [[td for td in page.find("td") if td.ancestors[-1] is tr] for tr in page.find("tr")]
    cells = [row for row in rows if row]
    assert [len(row) for row in cells] == [2, 2]
    assert "\u2014" in cells[1][0].text  # no torch explanation of the second text
    assert [c.text for c in page.chips("words") if not c.inside("ak-special")][:2] == ["[CLS]", "first"]
    assert len(page.find("div", "ak-card")) == 3


def test_html_compare_by_needs_an_attribute_path():
    with pytest.raises(InputError, match="compare_by"):
        attribkit.render(build_explanation(), "html", compare_by="model.colour")
    with pytest.raises(InputError, match="compare_by"):
        attribkit.render(build_explanation(), "html", compare_by="__class__")


# -- terminal ---------------------------------------------------------------------

def plain_pairs(explanation):
    return [f"{w.text}({w.score:+.3g})" for w in attribkit.words(explanation, include_special=False)]


def test_terminal_plain_under_no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    explanation = build_explanation()
    out = attribkit.render(explanation, "terminal", width=200)
    assert "\x1b" not in out
    assert "superb(+0.7)" in out and "The(-0.2)" in out
    for pair in plain_pairs(explanation):
        assert pair in out
    assert "[CLS]" not in out
    summary = out.splitlines()[0]
    for part in ("predicted positive (0.90)", "target positive", "true positive", "integrated_gradients",
                 "gap 0.001"):
        assert part in summary


def test_terminal_plain_when_not_a_terminal(monkeypatch, capsys):
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = attribkit.render(build_explanation(), "terminal", width=120)
    assert "\x1b" not in out and "superb(+0.7)" in out


def test_terminal_color_false_and_true(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.setenv("TERM", "xterm-256color")
    explanation = build_explanation()
    assert "\x1b" not in attribkit.render(explanation, "terminal", color=False)
    out = attribkit.render(explanation, "terminal", color=True, width=120)
    blue = ";".join(str(c) for c in palette.STOPS[-1][1])
    assert f"48;2;{blue}m" + "superb" in out
    orange = ";".join(map(str, palette.colour(-0.2 / 0.7)))
    assert f"48;2;{orange}mThe" in out
    assert "superb(" not in out
    assert "predicted positive" in ANSI.sub("", out)


def test_terminal_wraps_to_the_width():
    explanation = build_explanation(text=" ".join(f"word{i}" for i in range(40)))
    for color in (False, True):
        out = attribkit.render(explanation, "terminal", width=30, color=color)
        lines = ANSI.sub("", out).splitlines()
        assert len(lines) > 10
        assert max(len(line) for line in lines) <= 30
        assert all(f"word{i}" in ANSI.sub("", out) for i in range(40))


def test_terminal_token_view_and_special_tokens():
    out = attribkit.render(subword_explanation(), "terminal", view="token", show_special=True, color=False)
    assert "super(+0.3) ##b(+0.2) film(-0.4)" in out and "[CLS](+0.05)" in out
    words_out = attribkit.render(subword_explanation(), "terminal", color=False)
    assert "superb(+0.5)" in words_out and "[CLS]" not in words_out
    with pytest.raises(InputError, match="view"):
        attribkit.render(subword_explanation(), "terminal", view="sentence")


def test_terminal_prints_warnings_and_escapes_control_characters():
    explanation = build_explanation(text="clear \x1b[2J screen", warnings=("bidi \u202e override",))
    for color in (False, True):
        out = attribkit.render(explanation, "terminal", color=color, width=200)
        assert "\x1b[2J" not in out and "\u202e" not in out
        assert "\\x1b[2J" in out
        assert "warning: bidi \\u202e override" in ANSI.sub("", out)


def test_terminal_separates_many_explanations():
    out = attribkit.render([build_explanation(text=f"text {i}") for i in range(3)], "terminal", color=False)
    assert out.count("predicted positive") == 3
    assert "\n\n" in out


# -- json -------------------------------------------------------------------------

def test_json_one_explanation_is_an_object_that_round_trips():
    explanation = build_explanation(attributions=np.ones((6, 3)))
    out = attribkit.render(explanation, "json")
    data = json.loads(out)
    assert isinstance(data, dict) and out.startswith('{\n  "')
    assert Explanation.from_dict(data).to_dict() == explanation.to_dict()


def test_json_many_is_an_array_that_round_trips(tmp_path):
    explanations = [build_explanation(text=f"text {i}", true_label="positive") for i in range(3)]
    path = tmp_path / "out.json"
    data = json.loads(attribkit.render(explanations, "json", path=path))
    assert isinstance(data, list) and len(data) == 3
    assert [Explanation.from_dict(d).to_dict() for d in data] == [e.to_dict() for e in explanations]
    assert [e.text for e in attribkit.load(path)] == ["text 0", "text 1", "text 2"]


def test_json_include_attributions():
    explanation = build_explanation(attributions=np.ones((6, 2)))
    assert json.loads(attribkit.render(explanation, "json"))["attributions"] == [[1.0, 1.0]] * 6
    assert json.loads(attribkit.render(explanation, "json", include_attributions=False))["attributions"] is None


def test_renderers_are_registered_plugins():
    host = attribkit.get_host()
    assert {name: host.renderers[name].extension for name in ("html", "terminal", "json")} == {
        "html": ".html", "terminal": ".txt", "json": ".json"}
    assert {host.renderers[name].plugin for name in ("html", "terminal", "json")} == {"html", "terminal", "json"}


def test_html_notes_are_shown_escaped_and_output_is_deterministic(make_explanation):
    e = make_explanation()
    page = attribkit.render([e], "html", notes=["torch and tf agree <b>on 5 of 5</b>"])
    assert "torch and tf agree &lt;b&gt;on 5 of 5&lt;/b&gt;" in page
    assert attribkit.render([e], "html") == attribkit.render([e], "html")


def test_words_without_tokens_keep_their_place_and_a_cut_end_is_one_marker():
    from attribkit.ops import words
    from attribkit.renderers._format import shown_words

    text = "good " * 3 + " ".join(f"w{i}" for i in range(40))
    spans = [(0, 4), (5, 9), (10, 14)]  # truncated: only the first three words became tokens
    explanation = build_explanation(text=text, tokens=["[CLS]", "good", "good", "good", "[SEP]"],
                                    offsets=[(0, 0), *spans, (0, 0)], scores=[0.0, 1.0, 2.0, 3.0, 0.0])
    every = words(explanation, include_dropped=True)
    assert [w.text for w in every] == ["[CLS]", "good", "good", "good"] + [f"w{i}" for i in range(40)] + ["[SEP]"]
    assert [w.dropped for w in every].count(True) == 40 and every[-1].special
    assert sum(w.score for w in every) == pytest.approx(6.0)  # dropped words add nothing
    shown = shown_words(explanation)
    assert [w.text for w in shown] == ["[CLS]", "good", "good", "good", "[\u2026 40 words not seen by the model]",
                                      "[SEP]"]
    assert words(explanation) == [w for w in every if not w.dropped]  # the default is unchanged


# -- one colour scale per report, score lines, corpus report -----------------------

def weak_and_strong(output_weak="probability"):
    strong = build_explanation(text="superb dull film", scores=[0.0, 0.46, -0.2, 0.1, 0.0])
    weak = dataclasses.replace(
        build_explanation(text="plain okay film", scores=[0.0, 0.0033, -0.001, 0.002, 0.0]),
        method=attribkit.Method("occlusion", output_weak, {}))
    return strong, weak


def test_one_scale_for_the_report_keeps_weak_evidence_pale():
    strong, weak = weak_and_strong()
    page = parse_page(attribkit.render([strong, weak], "html"))
    assert background(chip_by_text(page, "words", "superb")) == palette.hex_colour(palette.colour(1.0))
    assert background(chip_by_text(page, "words", "plain")) == palette.hex_colour(palette.colour(0.0033 / 0.46))
    assert background(chip_by_text(page, "words", "dull")) == palette.hex_colour(palette.colour(-0.2 / 0.46))
    ends = [span.text for span in page.find("span", "ak-legend-end")]
    assert ends == ["\u22120.46", "+0.46"]
    assert "\u00b10.46 (probability)" in page.find("span", "ak-legend-note")[0].text
    scores = [td.text.strip() for td in page.find("td", "ak-num")]
    assert scores == [f"{0.36 / 0.46:.2f}", f"{0.0043 / 0.46:.2f}"]  # the Attribution Score follows the scale


def test_per_explanation_scale_on_request():
    strong, weak = weak_and_strong()
    page = parse_page(attribkit.render([strong, weak], "html", normalization="maxabs"))
    assert background(chip_by_text(page, "words", "plain")) == palette.hex_colour(palette.colour(1.0))
    assert [span.text for span in page.find("span", "ak-legend-end")] == ["\u22121", "+1"]


def test_each_output_kind_has_its_own_scale():
    strong, weak = weak_and_strong(output_weak="logit")
    page = parse_page(attribkit.render([strong, weak], "html"))
    assert background(chip_by_text(page, "words", "plain")) == palette.hex_colour(palette.colour(1.0))
    note = page.find("span", "ak-legend-note")[0].text
    assert "\u00b10.0033 (logit), \u00b10.46 (probability)" in note


def test_the_score_line_gives_the_top_words_with_their_signed_scores():
    explanation = subword_explanation()  # the(+0.1) superb(+0.5) film(-0.4)
    page = parse_page(attribkit.render(explanation, "html"))
    [line] = page.find("div", "ak-top")
    assert " ".join(line.text.split()) == "top words superb +0.5 film -0.4 the +0.1"
    assert [b.text for b in page.find("b", "ak-neg")] == ["-0.4"]
    out = attribkit.render(explanation, "terminal", color=False)
    assert "top: superb +0.5  film -0.4  the +0.1" in out


def test_terminal_legend_gives_the_shared_range(monkeypatch):
    monkeypatch.setenv("COLORTERM", "truecolor")
    strong, weak = weak_and_strong()
    out = ANSI.sub("", attribkit.render([strong, weak], "terminal", color=True, width=200))
    assert out.splitlines()[0].startswith("against \u22120.46 ") and "\u00b10.46 (probability)" in out


def test_a_shared_scale_renders_an_iterator_as_it_renders_a_list(tmp_path):
    strong, weak = weak_and_strong()
    explanations = [strong, weak] * 6
    for fmt, options in (("html", {}), ("terminal", {"color": True, "width": 120})):
        path = tmp_path / f"out.{fmt}"
        assert attribkit.render_file(iter(explanations), fmt, path, **options) == 12
        assert path.read_text(encoding="utf-8") == attribkit.render(explanations, fmt, **options)


def corpus(n=12, labelled=True):
    """``n`` explanations: every third one wrong (gold negative, predicted positive)."""
    result = []
    for i in range(n):
        gold = ("negative" if i % 3 == 0 else "positive") if labelled else None
        result.append(build_explanation(
            text=f"Superb film number {i}", scores=[0.0, 0.6, 0.1, -0.2, 0.05 * i, 0.0], true_label=gold))
    return result


def test_corpus_report_summarises_and_puts_one_compact_row_per_text():
    explanations = corpus()
    page = parse_page(attribkit.render(explanations, "html"))
    stats = [li.text for li in page.find("li") if li.inside("ak-stats")]
    assert stats == ["12 text(s)", "accuracy 66.7% (8 of 12 with a true label)", "4 mistake(s)", "predicted: positive 12"]
    rows = page.find("div", "ak-row")
    assert len(rows) == 12
    assert [("ak-wrong" in row.classes) for row in rows] == [i % 3 == 0 for i in range(12)]
    # the method/model block once, in the summary; none in the rows
    methods = [dt for dt in page.find("dt") if dt.text == "Method"]
    assert len(methods) == 1 and methods[0].inside("ak-corpus")
    # the most important words of the predicted class: sum of scores over the corpus, mean and count
    words = [[td.text for td in page.find("td") if td.ancestors[-1] is tr] for tr in page.find("tr")]
    # texts "Superb film number i", scores +0.6, +0.1, -0.2, +0.05 i: ranked by their sum over the corpus
    expected = [["superb", "+0.6", "12"], ["film", "+0.1", "12"]] + [[str(i), f"{0.05 * i:+.3g}", "1"]
                                                                     for i in (11, 10, 9, 8, 7, 6)]
    assert [row for row in words if row] == expected
    assert not page.find("div", "ak-tokens") and not page.find("label", "ak-switch-subword")


def test_corpus_rows_show_the_method_block_when_rows_differ():
    explanations = corpus()
    explanations[5] = dataclasses.replace(explanations[5], model=ModelInfo("test", "test", "another-model"))
    page = parse_page(attribkit.render(explanations, "html"))
    assert len([dt for dt in page.find("dt") if dt.text == "Method"]) == 12
    assert not [dt for dt in page.find("dt") if dt.text == "Method" and dt.inside("ak-corpus")]


def test_corpus_sorting_and_filters_are_css_over_numbers():
    labels_given = parse_page(attribkit.render(corpus(), "html"))
    radios = {i.get("id").split("-", 2)[-1] for i in labels_given.find("input") if i.get("type") == "radio"}
    assert radios == {"sort-mistakes", "sort-input", "sort-confidence", "sort-label", "outcome-all",
                      "outcome-wrong", "outcome-right", "label-all", "label-0"}
    css = labels_given.find("style")[0].text
    assert ".ak-sort-confidence:checked ~ .ak-body .ak-row { order: var(--ak-confidence); }" in css
    assert ".ak-label-0:checked ~ .ak-body .ak-row:not(.ak-pred-0) { display: none; }" in css
    assert {row.get("style") for row in labels_given.find("div", "ak-row")} == {"--ak-confidence:900;--ak-label:0"}
    unlabelled = parse_page(attribkit.render(corpus(labelled=False), "html"))
    assert not [i for i in unlabelled.find("input") if "outcome" in i.get("id")]
    assert [li.text for li in unlabelled.find("li") if li.inside("ak-stats")] == ["12 text(s)",
                                                                                  "predicted: positive 12"]
    small = parse_page(attribkit.render(corpus(CORPUS_FROM - 1), "html"))
    assert not small.find("div", "ak-corpus") and small.find("table", "ak-table")
    assert parse_page(attribkit.render(corpus(2), "html", layout="corpus")).find("div", "ak-corpus")
    with pytest.raises(InputError, match="layout"):
        attribkit.render(corpus(2), "html", layout="grid")


def test_a_corpus_report_of_300_texts_is_at_most_1_mb():
    words = ("the waiter was friendly and the food was delicious but the dessert was disappointing and "
             "overpriced for what it was").split()
    rng = np.random.default_rng(0)
    explanations = []
    for i in range(300):
        text = " ".join(words[i % 5: i % 5 + 12 + i % 7])  # 12 to 18 words
        n = len(text.split()) + 2
        explanations.append(build_explanation(text=text, scores=rng.normal(0, 0.1, n), true_label=i % 2))
    html = attribkit.render(explanations, "html")
    assert len(parse_page(html).find("div", "ak-row")) == 300
    assert len(html.encode("utf-8")) <= 1_000_000, len(html.encode("utf-8"))
