"""The screenshots of docs/renderers.md, taken in headless Chromium: one command reruns them all.

    python scripts/screenshots.py            # writes docs/images/report-single.png, report-corpus.png,
                                             # report-notebook.png
    python scripts/screenshots.py --keep /tmp/shots   # also keeps the HTML pages there

The single and corpus reports explain the bundled model (``attribkit.demo.load_demo_model("torch")``,
whatever model it is at the time) on the held-out reviews of ``data/reviews/heldout.tsv``, cycled to 300
for the corpus report. The notebook view is the output of a notebook executed with nbclient (the notebook
of ``tests/test_notebook.py``), shown under the notebook CSS rules that test lays out. Needs the ``torch``
and ``dev`` extras and Chromium (``apt-get install chromium``).
"""
from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import attribkit
from attribkit.demo import load_demo_model

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))
from test_notebook import NOTEBOOK_CELLS, notebook_outputs, notebook_page  # noqa: E402

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--force-device-scale-factor=1",
)
CORPUS_TEXTS = 300


def screenshot(page: Path, png: Path, width: int, height: int) -> None:
    """Load ``page`` in headless Chromium and write a ``width`` x ``height`` PNG."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium not found: install it (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
                        f"--window-size={width},{height}", page.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
    print(f"wrote {png}")


def heldout(n: int):
    """The bundled model's hand-written held-out reviews with their labels, cycled to ``n``."""
    from evaluate_demo_model import read_heldout

    return list(itertools.islice(itertools.cycle(read_heldout()), n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images", help="folder of the PNGs")
    parser.add_argument("--keep", type=Path, default=None, help="also keep the HTML pages in this folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        pages = args.keep or Path(scratch)
        pages.mkdir(parents=True, exist_ok=True)
        model, tokenizer = load_demo_model("torch")
        items = heldout(CORPUS_TEXTS)
        started = time.perf_counter()
        explanations = attribkit.explain(model, tokenizer, [item["text"] for item in items],
                                         true_label=[item["label"] for item in items])
        print(f"explained {len(explanations)} texts in {time.perf_counter() - started:.1f} s")

        single = pages / "single.html"
        attribkit.render(explanations[:1], "html", path=single, title="One explanation")
        screenshot(single, args.out / "report-single.png", 1200, 520)

        corpus = pages / "corpus.html"
        attribkit.render(explanations, "html", path=corpus, title=f"{CORPUS_TEXTS} held-out reviews")
        print(f"{corpus.name}: {corpus.stat().st_size / 1e6:.2f} MB for {CORPUS_TEXTS} texts")
        screenshot(corpus, args.out / "report-corpus.png", 1200, 1100)

        notebook = pages / "notebook.html"
        notebook.write_text(notebook_page(notebook_outputs(NOTEBOOK_CELLS), "jp-RenderedHTMLCommon"),
                            encoding="utf-8")
        screenshot(notebook, args.out / "report-notebook.png", 960, 1300)


if __name__ == "__main__":
    main()
