"""How often occlusion ranks a sentence's sentiment word first, at token level and at word level.

Takes the held-out sentences of ``data/corpus/heldout.jsonl`` that contain exactly one adjective of
the corpus's sentiment lexicon and no negator, explains each with the bundled model (``occlusion``,
``granularity="token"`` and ``"word"``, the explained class being the predicted one) and counts the
sentences whose highest-scoring unit (token, or word with ``attribkit.words``) is the sentiment word.
Prints both rates and the number of sentences.

Usage::

    USE_TF=0 python benchmarks/eval_occlusion_granularity.py [--limit 200] [--framework torch]
"""
import argparse
import importlib.util
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def lexicon():
    """The corpus's sentiment adjectives and negators (from scripts/make_corpus.py)."""
    spec = importlib.util.spec_from_file_location("make_corpus", os.path.join(ROOT, "scripts", "make_corpus.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    adjectives = {word for words in module.ADJECTIVES.values() for word in words}
    return adjectives, {word for phrase in module.NEGATORS for word in phrase.split()}


def sentences(limit):
    adjectives, negators = lexicon()
    chosen = []
    with open(os.path.join(ROOT, "data", "corpus", "heldout.jsonl"), encoding="utf-8") as handle:
        for line in handle:
            text = json.loads(line)["text"]
            words = [w.strip(".,;:!?") for w in text.split()]
            found = [w for w in words if w in adjectives]
            if len(found) == 1 and not negators & set(words):
                chosen.append((text, found[0]))
            if len(chosen) == limit:
                break
    return chosen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--framework", default="torch")
    args = parser.parse_args()
    import attribkit
    from attribkit.demo import load_demo_model

    model, tokenizer = load_demo_model(args.framework)
    items = sentences(args.limit)
    texts = [text for text, _ in items]
    hits = {}
    for granularity in ("token", "word"):
        explanations = attribkit.explain(model, tokenizer, texts, method="occlusion", granularity=granularity,
                                         backend=args.framework)
        count = 0
        for explanation, (_, word) in zip(explanations, items):
            units = attribkit.words(explanation, include_special=False)
            if granularity == "token":  # the word holding the highest-scoring token
                top = attribkit.top_k(explanation, 1, by="positive")[0].index
                best = next(unit for unit in units if top in unit.token_indices)
            else:
                best = max(units, key=lambda unit: unit.score)
            count += best.text.strip(".,;:!?") == word
        hits[granularity] = count
    n = len(items)
    print(f"{n} held-out sentences with one sentiment word, bundled model ({args.framework}), occlusion:")
    for granularity, count in hits.items():
        print(f"  {granularity:5} level: sentiment word first in {count} ({count / n:.1%})")


if __name__ == "__main__":
    sys.exit(main())
