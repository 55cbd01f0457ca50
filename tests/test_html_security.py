"""The HTML report never lets markup from an explanation reach the page.

Every string an explanation carries (text, tokens, labels, model name,
warnings, method parameters) and the renderer's own string options are fed
hostile values; the output is parsed with :mod:`html.parser` and must hold
only the elements and attributes the template writes and no event handler.
A single report has no script, under a Content-Security-Policy that forbids
scripts; a corpus report's only script is the static search script, byte for
byte, allowed by its SHA-256 hash and by nothing else.
"""
from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Dict, List, Sequence, Set, Tuple

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attribkit
from attribkit import Explanation, Method, ModelInfo, Prediction, Target
from attribkit.renderers.html_report import CONTENT_SECURITY_POLICY, CORPUS_FROM, SEARCH_SCRIPT

PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "</style><script>alert(1)</script>",
    "</title><svg onload=alert(1)>",
    "<!-- x --><a href=javascript:alert(1)>x</a>",
    "{{ 7*7 }}{% raw %}",
)

#: What the report's own markup is made of; the input must never add to it.
TEMPLATE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "div", "input", "header", "h1", "label", "span", "b",
    "main", "table", "thead", "tbody", "tr", "th", "td", "dl", "dt", "dd", "ul", "li", "footer", "h2",
}
#: A chip's colours, or a corpus row's sort keys (numbers only).
STYLE_ATTRIBUTE = re.compile(r"background:#[0-9a-f]{6}(;color:#[0-9a-f]{6})?|--ak-confidence:\d+;--ak-label:\d+")


@dataclass
class Element:
    """One start tag of a parsed page, with the text inside it and its enclosing elements."""

    tag: str
    attrs: List[Tuple[str, str]]
    ancestors: Tuple["Element", ...]
    text: str = ""

    def get(self, name: str, default: str = "") -> str:
        return dict(self.attrs).get(name) or default

    @property
    def classes(self) -> Set[str]:
        return set(self.get("class").split())

    def inside(self, css_class: str) -> bool:
        return any(css_class in a.classes for a in self.ancestors)


@dataclass
class Page:
    """The elements of an HTML document and whatever was not an element (comments, declarations)."""

    elements: List[Element] = field(default_factory=list)
    others: List[str] = field(default_factory=list)

    def find(self, tag: str, css_class: str = "") -> List[Element]:
        return [e for e in self.elements if e.tag == tag and (not css_class or css_class in e.classes)]

    def chips(self, view: str) -> List[Element]:
        """The coloured spans of the ``"words"`` or ``"tokens"`` view."""
        return [e for e in self.find("span", "ak-chip") if e.inside(f"ak-{view}")]

    def shape(self) -> Set[Tuple[str, str]]:
        """Every ``(tag, attribute name)`` pair, plus ``(tag, "")`` for every tag."""
        return {(e.tag, "") for e in self.elements} | {(e.tag, name) for e in self.elements for name, _ in e.attrs}


class _Parser(HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.open: List[Element] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, str]]) -> None:
        element = Element(tag, [(name, value or "") for name, value in attrs], tuple(self.open))
        self.page.elements.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: List[Tuple[str, str]]) -> None:
        self.page.elements.append(Element(tag, [(n, v or "") for n, v in attrs], tuple(self.open)))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i].tag == tag:
                del self.open[i:]
                return

    def handle_data(self, data: str) -> None:
        for element in self.open:
            element.text += data

    def handle_comment(self, data: str) -> None:
        self.page.others.append(f"comment {data!r}")

    def handle_pi(self, data: str) -> None:
        self.page.others.append(f"processing instruction {data!r}")

    def unknown_decl(self, data: str) -> None:
        self.page.others.append(f"declaration {data!r}")


def parse_page(html: str) -> Page:
    """Parse ``html`` with the standard library's parser."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.page


def hostile_explanation(payload: str, special: Sequence[bool] = ()) -> Explanation:
    """An explanation with ``payload`` in every string field, as its text and as its tokens."""
    tokens = ["[CLS]", payload, payload + "x", "[SEP]"]
    labels = (payload, "other " + payload)
    return Explanation(
        text=payload,
        tokens=tokens,
        offsets=[[0, 0]] * len(tokens),
        token_ids=np.arange(len(tokens)),
        special_mask=list(special) or [True, False, False, True],
        scores=[0.0, 0.6, -0.3, 0.1],
        target=Target(0, labels[0]),
        prediction=Prediction([0.7, 0.3], labels),
        method=Method(payload, "logit", {"n_steps": 20, payload: payload, "baseline": [payload]}),
        model=ModelInfo(framework=payload, backend=payload, name=payload, architecture=payload),
        true_label=payload,
        convergence_delta=0.01,
        completeness_gap=0.02,
        output_difference=1.0,
        warnings=(payload, "second " + payload),
    )


def assert_inert(page: Page, search_script: bool = False) -> None:
    """Nothing executable and nothing but the template's own markup; with ``search_script``, the one
    script is the static search script, byte for byte."""
    scripts = page.find("script")
    assert [script.text for script in scripts] == ([SEARCH_SCRIPT] if search_script else [])
    assert not page.others
    assert {e.tag for e in page.elements} - {"script"} <= TEMPLATE_TAGS
    for element in page.elements:
        for name, value in element.attrs:
            assert not name.startswith("on"), (element.tag, name)
            assert name in {"class", "id", "for", "type", "title", "style", "colspan", "lang", "dir", "charset",
                            "http-equiv", "content", "name", "checked", "placeholder", "aria-label"}, (element.tag, name)
            if name == "style":
                assert STYLE_ATTRIBUTE.fullmatch(value), value


def script_hash(text: str) -> str:
    """The CSP source that allows an inline script of ``text``."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def csp_tags(page: Page) -> List[Element]:
    return [m for m in page.find("meta") if m.get("http-equiv").lower() == "content-security-policy"]


def test_csp_forbids_scripts_and_network():
    assert "script-src" not in CONTENT_SECURITY_POLICY
    assert CONTENT_SECURITY_POLICY.startswith("default-src 'none'")


def test_corpus_csp_allows_only_the_hashed_static_script():
    explanations = [hostile_explanation(PAYLOADS[i % len(PAYLOADS)]) for i in range(CORPUS_FROM)]
    page = parse_page(attribkit.render(explanations, "html", title=PAYLOADS[0]))
    assert_inert(page, search_script=True)
    [script] = page.find("script")
    [csp] = csp_tags(page)
    directives = dict(d.strip().split(" ", 1) for d in csp.get("content").split(";"))
    assert directives["script-src"] == script_hash(script.text)  # that script only: no 'unsafe-inline', no host
    assert directives["default-src"] == "'none'"
    for payload in PAYLOADS:
        assert payload not in script.text
    assert "innerHTML" not in script.text and "eval" not in script.text
    search = [i for i in page.find("input") if i.get("type") == "search"]
    assert len(search) == 1
    assert len(page.find("div", "ak-row")) == CORPUS_FROM
    body = page.find("main")[0].text
    for payload in PAYLOADS:
        assert payload in body


def test_a_corpus_fragment_for_notebooks_has_no_script():
    explanations = [hostile_explanation(PAYLOADS[i % len(PAYLOADS)]) for i in range(CORPUS_FROM)]
    page = parse_page(attribkit.render(explanations, "html", standalone=False))
    assert_inert(page)
    assert not [i for i in page.find("input") if i.get("type") == "search"]


def test_payloads_are_shown_as_text_and_never_as_markup():
    explanations = [hostile_explanation(payload) for payload in PAYLOADS]
    html = attribkit.render(explanations, "html", title=PAYLOADS[4])
    page = parse_page(html)
    assert_inert(page)
    [csp] = csp_tags(page)
    assert csp.get("content") == CONTENT_SECURITY_POLICY
    assert page.find("title")[0].text == PAYLOADS[4]
    token_texts = [chip.text for chip in page.chips("tokens")]
    for payload in PAYLOADS:
        assert payload in token_texts
        assert payload + "x" in token_texts
    body = page.find("main")[0].text
    for payload in PAYLOADS:
        assert body.count(payload) >= 6  # tokens, labels, method, model, warnings


def test_payloads_in_a_notebook_fragment():
    html = attribkit.Explanation._repr_html_(hostile_explanation(PAYLOADS[1]))
    page = parse_page(html)
    assert_inert(page)
    assert not page.find("html") and not page.find("head")
    assert PAYLOADS[1] in [chip.text for chip in page.chips("tokens")]


def test_payloads_in_the_side_by_side_comparison():
    explanations = [hostile_explanation(payload) for payload in PAYLOADS[:3]]
    page = parse_page(attribkit.render(explanations, "html", compare_by="model.backend"))
    assert_inert(page)
    headings = [th.text for th in page.find("th")]
    for payload in PAYLOADS[:3]:
        assert f"model.backend: {payload}" in headings
        assert payload in headings  # the text heads its row


def test_payload_in_a_numeric_true_label_position_and_special_tokens():
    explanation = hostile_explanation(PAYLOADS[0], special=[True, True, True, True])
    page = parse_page(attribkit.render(explanation, "html"))
    assert_inert(page)
    assert all("ak-special" in chip.classes for chip in page.chips("tokens"))


# -- property: whatever the strings, the page has exactly the template's shape ----------

def _explanation(text: str, tokens: List[str], special: List[bool], labels: Tuple[str, str], name: str,
                 warning: str, scores: List[float]) -> Explanation:
    n = len(tokens)
    return Explanation(
        text=text, tokens=tokens, offsets=[[0, 0]] * n, token_ids=np.arange(n), special_mask=special,
        scores=scores, target=Target(1, labels[1]), prediction=Prediction([0.25, 0.75], labels),
        method=Method("integrated_gradients", "probability", {"n_steps": 8, "baseline": name}),
        model=ModelInfo(framework=name, backend=name, name=name, architecture=name),
        true_label=labels[0], convergence_delta=0.0, completeness_gap=0.1, output_difference=0.5,
        warnings=(warning,),
    )


def _baseline_shapes() -> Dict[str, Set[Tuple[str, str]]]:
    benign = _explanation("plain text", ["[CLS]", "plain", "text"], [True, False, False], ("a", "b"), "m", "w",
                          [0.0, 0.5, -0.5])
    return {layout: parse_page(attribkit.render(benign, "html", title="t", **options)).shape()
            for layout, options in LAYOUTS}


LAYOUTS = (("table", {}), ("compare", {"compare_by": "model.backend"}), ("corpus", {"layout": "corpus"}))
BASELINE = _baseline_shapes()
scores = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def explanations(draw):
    tokens = draw(st.lists(st.text(max_size=12), min_size=1, max_size=6))
    n = len(tokens)
    return _explanation(
        text=draw(st.text(max_size=40)),
        tokens=tokens,
        special=draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        labels=(draw(st.text(max_size=12)), draw(st.text(max_size=12))),
        name=draw(st.text(max_size=12)),
        warning=draw(st.text(max_size=20)),
        scores=draw(st.lists(scores, min_size=n, max_size=n)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(explanation=explanations(), title=st.text(max_size=20))
def test_no_input_reaches_the_markup(explanation, title):
    for layout, options in LAYOUTS:
        html = attribkit.render(explanation, "html", title=title, **options)
        page = parse_page(html)
        assert page.shape() <= BASELINE[layout]  # a text without words has no score line: less, never more
        assert not page.others
        assert_inert(page, search_script=layout == "corpus")
        assert page.find("title")[0].text == title
        if layout != "corpus":  # a corpus row shows the words only
            assert [chip.text for chip in page.chips("tokens")] == list(explanation.tokens)
