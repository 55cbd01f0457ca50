"""attribkit summarize: word means per class, confident mistakes, gap distribution, outputs."""
import json

import pytest

import attribkit
from attribkit.results import ErrorRecord
from attribkit.summary import confident_mistakes, gap_distribution, summarize, to_html, word_table
from conftest import build_explanation

NEG = (0.8, 0.2)  # probabilities of ("negative", "positive")
POS = (0.1, 0.9)


def example(text, scores, probabilities, true_label=None, gap=None, difference=0.5, id=None):
    target = 0 if probabilities[0] > probabilities[1] else 1
    return build_explanation(text=text, scores=[0.0, *scores, 0.0], probabilities=probabilities, target=target,
                             true_label=true_label, completeness_gap=gap, output_difference=difference,
                             metadata={} if id is None else {"id": id})


@pytest.fixture
def corpus():
    return [
        example("Superb film!", [0.5, 0.1], POS, true_label=1, gap=0.01, id="a"),
        example("superb acting", [0.3, -0.2], POS, true_label=0, gap=0.2, id="b"),  # a mistake, p = 0.9
        example("dull film", [0.4, -0.1], NEG, true_label=1, gap=0.0004, id="c"),  # a mistake, p = 0.8
        example("dull, dull plot", [0.2, 0.6, 0.05], NEG, true_label="negative", gap=None, id="d"),
        ErrorRecord("e", "line 5", "text is empty"),
    ]


def test_word_means_per_class_with_counts(corpus):
    summary = summarize(corpus, min_count=1)
    assert (summary.explained, summary.failed, summary.classes) == (4, 1, {"negative": 2, "positive": 2})
    positive = {w.word: (w.mean, w.count) for w in summary.top_words["positive"]}
    assert positive["superb"] == pytest.approx((0.4, 2))  # (0.5 + 0.3) / 2; "Superb" and "superb" are one word
    assert positive["film"] == pytest.approx((0.1, 1)) and positive["acting"] == pytest.approx((-0.2, 1))
    negative = summary.top_words["negative"]
    assert [(w.word, w.count) for w in negative] == [("dull", 3), ("plot", 1), ("film", 1)]  # "dull," is dull
    assert negative[0].mean == pytest.approx((0.4 + 0.2 + 0.6) / 3)
    assert [w.word for w in summary.bottom_words["positive"]] == ["acting", "film", "superb"]
    assert [w.word for w in word_table(corpus[:4], min_count=2)["positive"]] == ["superb"]


def test_confident_mistakes_and_accuracy(corpus):
    summary = summarize(corpus, mistakes=1)
    assert (summary.labelled, summary.correct, summary.accuracy) == (4, 2, 0.5)
    assert [(m.id, m.true_label, m.predicted, m.probability) for m in summary.mistakes] == \
        [("b", "negative", "positive", pytest.approx(0.9))]
    assert [m.id for m in confident_mistakes(corpus[:4])] == ["b", "c"]


def test_gap_distribution(corpus):
    gaps = gap_distribution(corpus[:4])
    assert (gaps.count, gaps.missing) == (3, 1)
    assert gaps.quantiles["max"] == pytest.approx(0.2) and gaps.quantiles["50%"] == pytest.approx(0.01)
    # relative gaps 0.0008, 0.02, 0.4 (output difference 0.5)
    assert dict(gaps.histogram) == {0.001: 1, 0.01: 0, 0.05: 1, 0.1: 0, 0.25: 0, 1.0: 1, float("inf"): 0}


def test_outputs_escape_corpus_text(cli, tmp_path, corpus):
    corpus[0] = example("<script>x</script> superb", [0.5, 0.1], POS, true_label=0, id="<b>")
    path = tmp_path / "results.jsonl"
    with open(path, "wb") as handle:
        from attribkit.serialize import record_line

        for record in corpus:
            handle.write(record_line(record))
    html = to_html(summarize(attribkit.serialize.iter_records(path), min_count=1))
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html
    result = cli("summarize", str(path), "--format", "json", "--min-count", "1")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["explained"], data["failed"], data["accuracy"]) == (4, 1, 0.25)
    assert data["gaps"]["histogram"][-1] == {"up_to": None, "count": 0}
    out = tmp_path / "summary.html"
    assert cli("summarize", str(path), "--out", str(out)).exit_code == 0 and "<table>" in out.read_text()
    result = cli("summarize", str(path))
    assert result.exit_code == 0 and "most confident mistakes" in result.stdout and "[b]" not in result.stdout
