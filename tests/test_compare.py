"""attribkit compare: the table, the HTML page (escaped, script-free, as Chromium builds it), the JSON, bad input."""
from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

import attribkit
import test_html_security
from attribkit.evaluation import Evaluation
from attribkit.renderers.compare_html import render_compare_html
from test_html_security import PAYLOADS, assert_inert, hostile_explanation, parse_page

ROOT = Path(__file__).resolve().parents[1]
HAS_TORCH = all(importlib.util.find_spec(m) for m in ("torch", "captum", "transformers"))
CHROMIUM = Path("/usr/bin/chromium")
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="needs the torch backend for the bundled model")
FAST = ("--framework", "torch", "--methods", "integrated_gradients,lime,occlusion", "--n-steps", "20",
        "-O", "n_samples=60", "-O", "seed=0")


@pytest.fixture
def texts(tmp_path):
    """Three held-out sentences of the corpus, one with a rationale given as words, one as a character span."""
    lines = [json.loads(line) for line in (ROOT / "data/corpus/heldout.jsonl").read_text().splitlines()[:3]]
    lines[0]["rationale"] = ["boring"]
    lines[1]["rationale"] = [[lines[1]["text"].index("solid"), lines[1]["text"].index("solid") + 5]]
    path = tmp_path / "texts.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path, lines


@needs_torch
def test_compare_prints_the_table_and_writes_the_page_and_the_json(cli, texts, tmp_path):
    path, lines = texts
    page_path, json_path = tmp_path / "compare.html", tmp_path / "compare.json"
    done = cli("compare", "-i", str(path), *FAST, "--out", str(page_path))
    assert done.exit_code == 0, done.stderr
    table = done.stdout
    for name in ("integrated_gradients", "lime", "occlusion", "comprehensiveness", "sufficiency", "deletion",
                 "insertion", "sign_agreement", "completeness_gap", "token_f1", "iou_f1", "auprc", "spearman"):
        assert name in table, name
    assert "\u2605" in table and "wrote the comparison of 9 explanation(s)" in done.stderr

    page = parse_page(page_path.read_text(encoding="utf-8"))
    assert [th.text for th in page.find("th") if th.inside("ak-compare") and "ak-group" not in th.classes] == [
        "method.name: integrated_gradients", "method.name: lime", "method.name: occlusion"]
    assert [th.text for th in page.find("th", "ak-group")] == [line["text"] for line in lines]
    assert len(page.find("div", "ak-card")) == 9 and len(page.find("dl", "ak-card-metrics")) == 9
    row_heads = {th.text.split()[0] for th in page.find("th")
                 if th.inside("ak-metrics") and any(a.tag == "tbody" for a in th.ancestors)}
    assert {"comprehensiveness", "sufficiency", "token_f1", "auprc", "integrated_gradients"} <= row_heads
    assert sum(1 for td in page.find("td", "ak-best")) >= 5  # every metric with two or more means has a best

    done = cli("compare", "-i", str(path), *FAST, "--metrics", "comprehensiveness,spearman", "--out", str(json_path))
    assert done.exit_code == 0, done.stderr
    evaluation = Evaluation.from_json(json_path.read_text(encoding="utf-8"))
    assert [item.method for item in evaluation.items] == ["integrated_gradients"] * 3 + ["lime"] * 3 + ["occlusion"] * 3
    assert [m.name for m in evaluation.metrics] == ["comprehensiveness", "spearman"]
    assert len([s for s in evaluation.scores if s.metric == "spearman"]) == 9  # three pairs per text
    assert evaluation.settings["backend"] == "torch"


@needs_torch
def test_compare_takes_auto_steps_and_refuses_bad_ones_before_loading(cli, texts, tmp_path):
    path, _ = texts
    page_path = tmp_path / "compare.html"
    done = cli("compare", "-i", str(path), "--framework", "torch", "--methods", "integrated_gradients,occlusion",
               "--n-steps", "auto", "--out", str(page_path))
    assert done.exit_code == 0, done.stderr
    assert page_path.read_text(encoding="utf-8").count("steps (auto)") == 3  # one per text explained by IG
    for bad, said in ((["--n-steps", "0"], "n_steps must be 'auto' or a positive integer, got 0"),
                      (["--n-steps", "auto", "-O", "integration=riemann_left"], "chooses the rule of a fixed n_steps")):
        done = cli("compare", "-i", str(path), "--framework", "torch", "-m", str(tmp_path / "no-model"), *bad)
        assert done.exit_code != 0 and said in done.stderr and "no-model" not in done.stderr


@needs_torch
def test_bad_metric_and_bad_rationale_are_named_and_the_rest_is_written(cli, texts, tmp_path):
    path, lines = texts
    lines[2]["rationale"] = [[5, 500]]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "compare.json"
    done = cli("compare", "-i", str(path), *FAST, "--metrics", "comprehensiveness,token_f1,nonsense", "--out", str(out))
    assert done.exit_code == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert any("unknown metric 'nonsense'" in line for line in errors)
    for method in ("integrated_gradients", "lime", "occlusion"):
        assert any(line.startswith(f"error: line 3 ({method}): rationale span [5, 500] is outside the text")
                   for line in errors), errors
    assert len(errors) == 4
    evaluation = Evaluation.from_json(out.read_text(encoding="utf-8"))
    assert {s.item for s in evaluation.scores if s.metric == "comprehensiveness"} == {0, 1, 3, 4, 6, 7}
    assert "comprehensiveness" in done.stdout


def test_bad_options_fail_before_any_work(cli, texts, tmp_path):
    path, _ = texts
    done = cli("compare", "-i", str(path), "--out", str(tmp_path / "x.txt"))
    assert done.exit_code == 1 and "give a .html file (the page) or a .json file" in done.stderr
    done = cli("compare", "-i", str(path), "--framework", "torch", "-O", "colour=red")
    assert done.exit_code == 1 and "-O colour: no method of" in done.stderr
    done = cli("compare", "-i", str(path), "--out", str(path.with_suffix(".json")), "--methods", " , ")
    assert done.exit_code == 1 and "--methods: give at least one method" in done.stderr


def test_metrics_command_lists_direction_and_cost(cli):
    rows = {row["metric"]: row for row in json.loads(cli("metrics", "--json").stdout)}
    assert rows["comprehensiveness"]["higher_is_better"] and not rows["sufficiency"]["higher_is_better"]
    assert rows["token_f1"]["needs"] == ["rationale"] and rows["spearman"]["pairwise"]
    assert rows["deletion"]["cost"] == "up to curve_steps + 1 passes" and rows["deletion"]["plugin"] == "metrics"


# -- the page: escaped, script-free --------------------------------------------------------------------------------


def hostile_evaluation(explanations):
    """An evaluation of ``explanations`` whose every string is a payload (as a plugin's metric could make it)."""
    from attribkit.evaluation import Item, MetricInfo, Problem, Score

    payload = PAYLOADS[0]
    return Evaluation(
        items=tuple(Item(e.text, e.method.name, e.model.backend, e.target.label) for e in explanations),
        metrics=(MetricInfo(payload, "faithfulness", True, payload, payload),
                 MetricInfo("agree " + payload, "agreement", True, pairwise=True)),
        scores=tuple(Score(i, payload, 0.5 + i) for i in range(len(explanations)))
        + (Score(0, "agree " + payload, 0.3, other=1),),
        settings={payload: payload}, errors=(Problem(payload, item=0, metric=payload),))


@pytest.fixture
def hostile_page(monkeypatch):
    explanations = [hostile_explanation(p) for p in PAYLOADS[:4]]
    html = render_compare_html(explanations, hostile_evaluation(explanations))
    monkeypatch.setattr(test_html_security, "TEMPLATE_TAGS", test_html_security.TEMPLATE_TAGS | {"h2", "p"})
    return html


def test_payloads_in_the_compare_page_are_text(hostile_page):
    page = parse_page(hostile_page)
    assert_inert(page)
    assert PAYLOADS[0] in [th.text.rsplit(" ", 1)[0] for th in page.find("th") if th.get("title")]
    assert any(PAYLOADS[0] in li.text for li in page.find("li") if li.inside("ak-warnings"))
    [csp] = [m for m in page.find("meta") if m.get("http-equiv").lower() == "content-security-policy"]
    assert "default-src 'none'" in csp.get("content") and "script-src" not in csp.get("content")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium (/usr/bin/chromium) is not installed")
def test_chromium_builds_the_compare_page_without_script(hostile_page, tmp_path):
    from test_html_browser import dump_dom

    path = tmp_path / "compare.html"
    path.write_text(hostile_page, encoding="utf-8")
    dom = parse_page(dump_dom(path, tmp_path / "profile"))
    assert_inert(dom)
    assert len(dom.find("table", "ak-metrics")) == 2 and len(dom.find("div", "ak-card")) == 4
    assert {chip.text for chip in dom.chips("tokens")} >= set(PAYLOADS[:4])


def test_the_page_needs_the_evaluations_explanations():
    explanations = [hostile_explanation(PAYLOADS[0]), hostile_explanation(PAYLOADS[1])]
    with pytest.raises(ValueError, match="3 explanations for an evaluation of 2"):
        render_compare_html((explanations * 2)[:3], hostile_evaluation(explanations))
