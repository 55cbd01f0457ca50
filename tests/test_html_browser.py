"""The HTML report as a real browser builds it: headless Chromium's DOM holds no script but the corpus
report's static, hashed search script."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import attribkit
from attribkit.renderers.html_report import CORPUS_FROM
from test_html_security import PAYLOADS, assert_inert, hostile_explanation, parse_page, script_hash

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)

#: Skipped only on a machine without Chromium; CI (.ci/run) installs it and sets ATTRIBKIT_REQUIRE_BROWSER=1,
#: so there a missing browser fails instead.
BROWSER_MISSING = not CHROMIUM.exists() and os.environ.get("ATTRIBKIT_REQUIRE_BROWSER") != "1"
needs_browser = pytest.mark.skipif(
    BROWSER_MISSING, reason="headless Chromium (/usr/bin/chromium) is not installed: apt-get install chromium")
pytestmark = needs_browser


def dump_dom(page: Path, profile: Path) -> str:
    """The DOM Chromium builds from ``page``, serialised."""
    result = subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return result.stdout


def test_chromium_dom_of_hostile_report_has_no_script(tmp_path):
    path = tmp_path / "report.html"
    attribkit.render([hostile_explanation(p) for p in PAYLOADS], "html", path=path, title=PAYLOADS[0])
    dom = parse_page(dump_dom(path, tmp_path / "profile"))
    assert_inert(dom)
    assert not dom.find("img") and not dom.find("svg") and not dom.find("a")
    tokens = [chip.text for chip in dom.chips("tokens")]
    for payload in PAYLOADS:
        assert payload in tokens
    assert dom.find("title")[0].text == PAYLOADS[0]
    [csp] = [m for m in dom.find("meta") if m.get("http-equiv").lower() == "content-security-policy"]
    assert "default-src 'none'" in csp.get("content")


def test_chromium_dom_of_hostile_corpus_report_has_only_the_hashed_script(tmp_path):
    path = tmp_path / "corpus.html"
    explanations = [hostile_explanation(PAYLOADS[i % len(PAYLOADS)]) for i in range(CORPUS_FROM + 2)]
    attribkit.render(explanations, "html", path=path, title=PAYLOADS[1])
    dom = parse_page(dump_dom(path, tmp_path / "profile"))
    assert_inert(dom, search_script=True)
    assert not dom.find("img") and not dom.find("svg") and not dom.find("a")
    [script] = dom.find("script")
    [csp] = [m for m in dom.find("meta") if m.get("http-equiv").lower() == "content-security-policy"]
    assert csp.get("content").endswith(f"script-src {script_hash(script.text)}")
    assert len(dom.find("div", "ak-row")) == CORPUS_FROM + 2


#: Run in a copy of a corpus page: the row numbers shown, top to bottom, by default, sorted by
#: confidence, filtered to mistakes, and after typing in the search box.
CORPUS_PROBE = """
const report = document.querySelector(".ak-report");
const shown = () => [...report.querySelectorAll(".ak-row")].filter(row => row.offsetParent !== null)
  .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
  .map(row => Number(row.firstElementChild.textContent));
const pick = name => { report.querySelector(`.ak-${name}`).checked = true; };
const seen = {default: shown()};
pick("sort-confidence"); seen.confidence = shown();
pick("sort-input"); pick("outcome-wrong"); seen.mistakes = shown();
pick("outcome-all");
const box = report.querySelector(".ak-search");
box.value = "  NUMBER   7 "; box.dispatchEvent(new Event("input")); seen.search = shown();
const out = document.createElement("pre"); out.id = "probe"; out.textContent = JSON.stringify(seen);
document.body.appendChild(out);
"""


def test_corpus_sorting_filters_and_search_work_in_chromium(tmp_path):
    import json
    import re

    from conftest import build_explanation

    explanations = [build_explanation(text=f"review number {i}", probabilities=(p, 1 - p), target=0,
                                      true_label="positive" if i % 3 == 0 else "negative")
                    for i, p in enumerate((0.9, 0.6, 0.8, 0.7, 0.95, 0.55, 0.85, 0.75, 0.65, 0.99, 0.52))]
    html = attribkit.render(explanations, "html")
    # the page itself runs only its hashed script; this copy drops the policy to add the probe
    page = tmp_path / "probe.html"
    page.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
                    .replace("</body>", f"<script>{CORPUS_PROBE}</script></body>"), encoding="utf-8")
    dom = dump_dom(page, tmp_path / "profile")
    seen = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S).group(1).replace("&quot;", '"'))
    wrong = [i + 1 for i in range(11) if i % 3 == 0]  # gold positive, predicted negative
    assert seen["default"] == wrong + [i + 1 for i in range(11) if i % 3]  # mistakes first, then input order
    by_confidence = sorted(range(11), key=lambda i: max(explanations[i].prediction.probabilities))
    assert seen["confidence"] == [i + 1 for i in by_confidence]
    assert seen["mistakes"] == wrong
    assert seen["search"] == [8]  # "review number 7" is row 8
