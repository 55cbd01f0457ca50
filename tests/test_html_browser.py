"""The HTML report as a real browser builds it: headless Chromium's DOM holds no script but the corpus
report's static, hashed search script."""
from __future__ import annotations

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

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="headless Chromium (/usr/bin/chromium) is not installed: apt-get install chromium"
)


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
