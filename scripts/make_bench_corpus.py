"""Write a corpus of N texts for corpus-run benchmarks by cycling the bundled corpus files.

Each line is ``{"id": "t00001", "text": ..., "label": ...}``. The lines of
``data/corpus/*.jsonl`` are shuffled together (seeded: deterministic), then
taken in turn, starting over when they run out, so that every part of the
corpus has the same mix of short and long texts (training texts have up to 40
words, held-out ones 17): memory measured after 500 texts and after 2,000
then compares like with like.

Usage::

    python scripts/make_bench_corpus.py 2000 corpus-2000.jsonl
"""
import argparse
import itertools
import json
import random
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "corpus"


def make_corpus(n: int, out: Path) -> Path:
    """Write ``n`` texts of the bundled corpus (cycled) to ``out`` as JSON Lines; returns ``out``."""
    lines = [line for path in sorted(DATA.glob("*.jsonl")) for line in path.read_text("utf-8").splitlines()
             if line.strip()]
    random.Random(0).shuffle(lines)
    with open(out, "w", encoding="utf-8") as handle:
        for number, line in enumerate(itertools.islice(itertools.cycle(lines), n), start=1):
            item = json.loads(line)
            handle.write(json.dumps({"id": f"t{number:05d}", "text": item["text"], "label": item["label"]}) + "\n")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    arguments = parser.parse_args()
    print(make_corpus(arguments.n, arguments.out))
