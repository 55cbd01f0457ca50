"""Run ``attribkit compare`` on the first held-out sentences and take a PNG screenshot of its page with headless
Chromium (the cards of each text side by side, then the metrics table)::

    python scripts/screenshot_compare.py                 # docs/images/compare-sample.png, 2 texts, torch
    python scripts/screenshot_compare.py --limit 50 --html /tmp/compare.html --height 4000
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshot import screenshot  # noqa: E402  (the sibling script's Chromium call)

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs/images/compare-sample.png", help="PNG to write")
    parser.add_argument("--html", type=Path, default=None, help="also keep the HTML page here")
    parser.add_argument("--input", type=Path, default=ROOT / "data/corpus/heldout.jsonl")
    parser.add_argument("--limit", type=int, default=2, help="texts compared (the first N of --input)")
    parser.add_argument("--methods", default="integrated_gradients,lime,occlusion")
    parser.add_argument("--framework", default="torch")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1640)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        page = args.html or Path(folder) / "compare.html"
        subprocess.run([sys.executable, "-m", "attribkit.cli", "compare", "--input", str(args.input), "--limit",
                        str(args.limit), "--methods", args.methods, "--framework", args.framework, "-O", "seed=0",
                        "--out", str(page)], check=True)
        screenshot(page, args.out, args.width, args.height)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
