"""Notebook display, for real: a notebook executed by nbclient shows one explanation, a list and
``attribkit.show``; its HTML outputs, put inside the CSS rules of JupyterLab and the classic notebook
that used to break the report, are laid out by headless Chromium and measured there."""
from __future__ import annotations

import json
import re
import subprocess
from typing import Dict, List

import nbformat
import pytest
from nbclient import NotebookClient

from attribkit.renderers.html_report import CORPUS_FROM
from test_html_browser import CHROMIUM, FLAGS, needs_browser

#: Rules of JupyterLab's ``.jp-RenderedHTMLCommon`` and the classic notebook's ``.rendered_html`` that
#: apply to any table, heading or list of an output: right-aligned cells, a fixed table layout, centred
#: tables, a smaller font, striped rows, words broken anywhere.
NOTEBOOK_CSS = """
.jp-RenderedHTMLCommon, .rendered_html { font-size: 14px; line-height: 1.42; word-break: break-all; }
.jp-RenderedHTMLCommon table, .rendered_html table { border-collapse: collapse; border-spacing: 0; border: none;
  color: #000; font-size: 12px; table-layout: fixed; margin-left: auto; margin-right: auto; }
.jp-RenderedHTMLCommon thead, .rendered_html thead { border-bottom: 1px solid #000; vertical-align: bottom; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon tr,
.rendered_html td, .rendered_html th, .rendered_html tr { text-align: right; vertical-align: middle;
  padding: 0.5em 0.5em; line-height: normal; white-space: normal; max-width: none; border: none; }
.jp-RenderedHTMLCommon th, .rendered_html th { font-weight: bold; }
.jp-RenderedHTMLCommon tbody tr:nth-child(odd), .rendered_html tbody tr:nth-child(odd) { background: #f5f5f5; }
.jp-RenderedHTMLCommon * + table, .rendered_html * + table { margin-top: 1em; }
.jp-RenderedHTMLCommon h1, .rendered_html h1 { font-size: 185.7%; margin: 1.08em 0 0 0; font-weight: bold; }
.jp-RenderedHTMLCommon h2, .rendered_html h2 { font-size: 157.1%; margin: 1.27em 0 0 0; }
.jp-RenderedHTMLCommon ul, .rendered_html ul { list-style: disc; margin: 0 2em; padding-left: 0; }
.jp-RenderedHTMLCommon p, .rendered_html p { text-align: left; margin: 0; }
"""

#: Measures, in the browser, every report on the page; the result is written into the page as JSON
#: and read back with ``--dump-dom``.
MEASURE = """
const results = [...document.querySelectorAll(".output")].map(output => {
  const width = output.getBoundingClientRect().width;
  const report = output.querySelector(".ak-report");
  const control = output.querySelector(".control td");
  const grids = [...report.querySelectorAll("table.ak-table, .ak-rows")];
  const cells = [...report.querySelectorAll(".ak-table th, .ak-table td, .ak-rowhead > div, .ak-row > div")];
  const chips = [...report.querySelectorAll(".ak-words .ak-chip")].filter(c => c.getClientRects().length);
  const heights = chips.map(c => c.getBoundingClientRect().height);
  return {
    control_align: getComputedStyle(control).textAlign,
    width_share: Math.min(...grids.map(g => g.getBoundingClientRect().width / width)),
    grids: grids.length,
    aligns: [...new Set(cells.map(c => getComputedStyle(c).textAlign))],
    chips: chips.length,
    split_chips: chips.filter(c => c.getClientRects().length > 1).map(c => c.textContent),
    tallest_chip: Math.max(...heights) / Math.min(...heights),
    corpus: !!report.querySelector(".ak-corpus"),
  };
});
const out = document.createElement("pre");
out.id = "measured";
out.textContent = JSON.stringify(results);
document.body.appendChild(out);
"""

NOTEBOOK_CELLS = [
    '''import numpy as np
import attribkit
from attribkit import Explanation, Method, ModelInfo, Prediction, Target

def made(text, seed, gold):
    """An explanation built by hand, as a backend would return it (no framework needed)."""
    spans = [(m.start(), m.end()) for m in __import__("re").finditer(r"\\S+", text)]
    tokens = ["[CLS]"] + [text[s:e] for s, e in spans] + ["[SEP]"]
    scores = np.random.default_rng(seed).normal(0, 0.2, len(tokens))
    p = 0.55 + 0.4 * (seed % 5) / 5
    probabilities = [p, 1 - p] if seed % 3 else [1 - p, p]
    predicted = int(np.argmax(probabilities))
    return Explanation(
        text=text, tokens=tokens, offsets=[(0, 0)] + spans + [(0, 0)], token_ids=np.arange(len(tokens)),
        special_mask=[True] + [False] * len(spans) + [True], scores=scores,
        target=Target(predicted, ("negative", "positive")[predicted]),
        prediction=Prediction(probabilities, ("negative", "positive")),
        method=Method("integrated_gradients", "probability", {"n_steps": 50}),
        model=ModelInfo("test", "test", "hand-made"), true_label=gold)

texts = ["The waiter is friendly and the food is delicious, an extraordinarily pleasant evening",
         "I would never buy this vacuum cleaner again: loud, clumsy and disappointing"]''',
    "made(texts[0], 1, 1)",
    f"attribkit.Explanations(made(texts[i % 2], i, i % 2) for i in range({CORPUS_FROM + 2}))",
    "attribkit.show([made(texts[1], 4, 0), made(texts[0], 7, 1)], title='Two reviews')",
]


def notebook_outputs(cells: List[str]) -> List[str]:
    """Execute a notebook of ``cells`` with nbclient; the ``text/html`` output of each cell after the first."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    return [cell.outputs[0]["data"]["text/html"] for cell in notebook.cells[1:]]


def notebook_page(outputs: List[str], frame: str, before: str = "", script: str = "") -> str:
    """A page holding ``outputs`` as a notebook does: each in an output ``<div>`` of class ``frame``, 900 px
    wide, under :data:`NOTEBOOK_CSS`; ``before`` goes before each output, ``script`` at the end."""
    blocks = "".join(f'<div class="output {frame}" style="width: 900px">{before}{html}</div>' for html in outputs)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{NOTEBOOK_CSS}</style></head>"
            f"<body>{blocks}{f'<script>{script}</script>' if script else ''}</body></html>")


@pytest.fixture(scope="module")
def outputs() -> List[str]:
    """The ``text/html`` output of each display cell of the executed notebook."""
    return notebook_outputs(NOTEBOOK_CELLS)


def test_a_notebook_displays_one_explanation_a_list_and_show(outputs):
    one, many, shown = outputs
    for html in outputs:
        assert html.lstrip().startswith('<div class="ak-report">') and "<script" not in html
    assert "ak-corpus" in many and f"{CORPUS_FROM + 2} text(s)" in many  # a list is one corpus report
    assert "ak-corpus" not in one and "ak-corpus" not in shown
    assert "<h1>Two reviews</h1>" in shown and shown.count('<td class="ak-importance">') == 2


@needs_browser
@pytest.mark.parametrize("frame", ["jp-RenderedHTMLCommon jp-OutputArea-output", "rendered_html output_subarea"])
def test_notebook_css_leaves_the_report_readable(outputs, frame, tmp_path):
    control = '<table class="control"><tr><td>x</td></tr></table>'
    page = tmp_path / "notebook.html"
    page.write_text(notebook_page(outputs, frame, before=control, script=MEASURE), encoding="utf-8")
    dom = subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1100,900",
                          "--dump-dom", page.resolve().as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    measured: List[Dict] = json.loads(re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S).group(1)
                                      .replace("&quot;", '"').replace("&amp;", "&"))
    assert len(measured) == 3
    for report in measured:
        assert report["control_align"] == "right"  # the notebook rules are in force on the page
        assert report["grids"] >= 1 and report["width_share"] >= 0.9, report
        assert set(report["aligns"]) <= {"left", "start"}, report
        assert report["chips"] >= 10 and report["split_chips"] == [], report
        assert report["tallest_chip"] < 1.3, report  # no chip wraps inside itself either
    assert [report["corpus"] for report in measured] == [False, True, False]
