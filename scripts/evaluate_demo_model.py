"""The bundled model's figures on the hand-written held-out reviews (``data/reviews/heldout.tsv``).

Prints, for docs/demo-model.md: accuracy in PyTorch and TensorFlow and whether they agree on every
prediction; Integrated Gradients at the default steps, how many texts complete within 1 % (probability
and logit); how often the sentiment word ranks first in the sentences that have one; the size on disk.

    python scripts/evaluate_demo_model.py                 # the bundled model, both frameworks
    python scripts/evaluate_demo_model.py --frameworks torch --shipped /tmp/other-model
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "data" / "reviews" / "heldout.tsv"


def read_heldout(path: Path = HELDOUT):
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line.strip()]
    return [{"label": r[0], "domain": r[1], "word": r[2], "text": r[3]} for r in rows]


def first_word(explanation) -> str:
    """The word that pushes hardest towards the explained class."""
    import attribkit

    words = [w for w in attribkit.words(explanation) if not w.special]
    best = max(words, key=lambda w: w.score)
    return best.text.lower().strip(".,;!?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frameworks", default="torch,tf")
    parser.add_argument("--shipped", type=Path, help="a directory like attribkit/data/demo_model to evaluate")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import attribkit
    from attribkit import demo
    from attribkit.plugins import get_host

    if args.shipped:
        path = Path(tempfile.mkdtemp()) / "model"
        demo._write_checkpoint(args.shipped, path)
        shipped = args.shipped
    else:
        path = demo.demo_model_path()
        shipped = ROOT / "attribkit" / "data" / "demo_model"
    rows = read_heldout()
    texts = [r["text"] for r in rows]
    gold = [r["label"] for r in rows]
    size = sum(f.stat().st_size for f in shipped.iterdir())
    print(f"{len(rows)} held-out reviews, {len({r['domain'] for r in rows})} domains; shipped files "
          f"{size / 1e6:.1f} MB ({shipped})")
    predictions = {}
    for framework in args.frameworks.split(","):
        model, tokenizer = get_host().backend(framework).load(str(path))
        start = time.time()
        results = {output: attribkit.explain(model, tokenizer, texts, output=output, backend=framework)
                   for output in ("probability", "logit")}
        seconds = time.time() - start
        explained = results["probability"]
        predictions[framework] = [e.prediction.label for e in explained]
        right = sum(p == g for p, g in zip(predictions[framework], gold))
        print(f"\n[{framework}] accuracy {right}/{len(rows)} = {right / len(rows):.1%} "
              f"(IG on {2 * len(rows)} explanations in {seconds:.0f} s)")
        for row, predicted, e in zip(rows, predictions[framework], explained):
            if predicted != row["label"]:
                print(f"  wrong: {row['text']!r} -> {predicted} ({e.prediction.probability:.2f})")
        for output, explanations in results.items():
            gaps = [e.completeness_gap / max(abs(e.output_difference), 1e-12) for e in explanations]
            within = sum(g <= 0.01 for g in gaps)
            print(f"  IG {output}, {explanations[0].method.params.get('n_steps')} steps: {within}/{len(gaps)} "
                  f"= {within / len(gaps):.1%} within 1 % (worst {max(gaps):.2%})")
        one_word = [(row, e) for row, e in zip(rows, explained) if row["word"]]
        first = [(row, first_word(e)) for row, e in one_word]
        hits = sum(word == row["word"] for row, word in first)
        print(f"  sentiment word ranks first in {hits}/{len(first)} = {hits / len(first):.1%}")
        for row, word in first:
            if word != row["word"]:
                print(f"    {row['text']!r}: first {word!r}, not {row['word']!r}")
    if len(predictions) == 2:
        a, b = predictions.values()
        print(f"\nframeworks agree on {sum(x == y for x, y in zip(a, b))}/{len(a)} predictions")


if __name__ == "__main__":
    main()
