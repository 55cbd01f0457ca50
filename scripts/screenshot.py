"""Render a sample HTML report and take a PNG screenshot of it with headless Chromium.

The explanations are hand-made (WordPiece-style tokens with offsets), so the
script needs neither torch nor tensorflow::

    python scripts/screenshot.py                      # docs/images/report-sample.png
    python scripts/screenshot.py --out /tmp/r.png --html /tmp/r.html --width 1200 --height 900
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Sequence

import numpy as np

import attribkit
from attribkit import Explanation, Method, ModelInfo, Prediction, Target

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--force-device-scale-factor=1",
)


def _offsets(text: str, tokens: Sequence[str]) -> List[List[int]]:
    """Character spans of WordPiece ``tokens`` in ``text`` (``[0, 0]`` for special tokens)."""
    spans, position, lowered = [], 0, text.lower()
    for token in tokens:
        if token.startswith("[") and token.endswith("]"):
            spans.append([0, 0])
            continue
        piece = token[2:] if token.startswith("##") else token
        start = lowered.index(piece, position)
        position = start + len(piece)
        spans.append([start, position])
    return spans


def sample(text: str, tokens: Sequence[str], scores: Sequence[float], probabilities: Sequence[float],
           true_label: int, warnings: Sequence[str] = ()) -> Explanation:
    """A hand-made sentiment explanation of ``text`` for its predicted class."""
    probabilities = np.asarray(probabilities)
    labels = ("negative", "positive")
    target = int(np.argmax(probabilities))
    scores = np.asarray(scores, dtype=float)
    difference = float(scores.sum()) + 0.004
    return Explanation(
        text=text, tokens=tokens, offsets=_offsets(text, tokens), token_ids=np.arange(len(tokens)) + 1000,
        special_mask=[t in ("[CLS]", "[SEP]") for t in tokens], scores=scores,
        target=Target(target, labels[target]), prediction=Prediction(probabilities, labels),
        method=Method("integrated_gradients", "probability", {"n_steps": 50, "baseline": "pad"}),
        model=ModelInfo("torch", "torch", "attribkit-demo-sentiment", "BertForSequenceClassification"),
        true_label=true_label, convergence_delta=-0.0031, completeness_gap=0.004, output_difference=difference,
        warnings=tuple(warnings),
    )


def samples() -> List[Explanation]:
    """Three explanations covering positive, negative and mixed evidence and a warning."""
    return [
        sample("The movie is superb, a truly moving story.",
               ["[CLS]", "the", "movie", "is", "super", "##b", ",", "a", "truly", "moving", "story", ".", "[SEP]"],
               [0.0, 0.01, 0.03, 0.02, 0.21, 0.19, -0.01, 0.0, 0.09, 0.14, 0.02, 0.0, 0.0],
               [0.04, 0.96], true_label=1),
        sample("Dull plot and wooden acting, I wanted my money back.",
               ["[CLS]", "dull", "plot", "and", "wooden", "acting", ",", "i", "wanted", "my", "money", "back", ".",
                "[SEP]"],
               [0.0, 0.33, 0.02, 0.0, 0.24, 0.03, 0.0, 0.01, 0.04, 0.0, 0.05, 0.11, 0.0, 0.0],
               [0.93, 0.07], true_label=0),
        sample("Great cast, but the unbearable pacing ruins it.",
               ["[CLS]", "great", "cast", ",", "but", "the", "un", "##bear", "##able", "pacing", "ruins", "it", ".",
                "[SEP]"],
               [0.0, 0.26, 0.05, 0.0, -0.08, 0.0, -0.09, -0.12, -0.05, -0.02, -0.21, 0.0, 0.0, 0.0],
               [0.38, 0.62], true_label=0,
               warnings=["completeness gap 4.1% of |F(x) - F(baseline)|: consider more n_steps"]),
    ]


def screenshot(html_path: Path, png_path: Path, width: int, height: int) -> None:
    """Load ``html_path`` in headless Chromium and write a ``width`` x ``height`` PNG."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium not found: install it (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png_path}",
             f"--window-size={width},{height}", html_path.resolve().as_uri()],
            check=True, capture_output=True, timeout=120,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/report-sample.png"), help="PNG to write")
    parser.add_argument("--html", type=Path, default=None, help="also keep the HTML report here")
    parser.add_argument("--page", type=Path, default=None,
                        help="screenshot this existing report (e.g. attribkit-demo.html) instead of the sample")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    if args.page is not None:
        screenshot(args.page, args.out, args.width, args.height)
        print(f"wrote {args.out}")
        return
    with tempfile.TemporaryDirectory() as folder:
        html_path = args.html or Path(folder) / "report.html"
        attribkit.render(samples(), "html", path=html_path, title="Sentiment explanations")
        screenshot(html_path, args.out, args.width, args.height)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
