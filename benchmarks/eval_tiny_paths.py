"""``n_steps="auto"`` replayed on every grid point of the tiny model's paths: how often a score ends off.

The tiny model of the tests (``tests/data/tiny_sentiment``) has steep paths that turn at many places, the
hardest case for an error estimate. For each of its held-out sentences (``--texts``) the pipeline evaluates the
path's token attributions at all ``steps.GRID + 1`` grid positions (at ``steps.alpha``, so the stretch is the
one of ``attribkit.pipeline.steps``), so a rule can be replayed on exact values, with no interpolation; the
reference is Boole's rule on all 256 finest panels. For attribkit's rule at each ``--safety`` factor, and for
the previous rule (a first pass of 9 points, every panel whose error is at least half the worst cut each
round, x5), it prints the mean evaluations per text, the texts with a score more than the tolerance (1 % of
``|F(x) - F(baseline)|``) from the reference, and the worst such distance, for the first 300 sentences (those
of ``eval_adaptive_steps.py --sets tiny --texts 300``) and the rest.

Usage::

    python benchmarks/eval_tiny_paths.py [--texts 1000] [--safety 4,5] [--cache benchmarks/.paths]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("USE_TF", "0")
sys.path.insert(0, str(Path(__file__).parent))
TOLERANCE = 0.01
FIRST = 300


def finest_panels():
    """Every panel of :data:`steps.MIN_WIDTH` grid steps: all ``GRID + 1`` grid positions."""
    from attribkit.pipeline import steps

    return [(k, k + steps.MIN_WIDTH) for k in range(0, steps.GRID, steps.MIN_WIDTH)]


def grid_values(texts, output):
    """``[(values (GRID + 1, n_tokens), F(x) - F(baseline))]``: each text's path at every grid position."""
    import attribkit
    import eval_adaptive_steps as ev
    from attribkit.pipeline import steps
    from transformers import AutoTokenizer, BertForSequenceClassification

    folder = ev.ROOT / "tests" / "data" / "tiny_sentiment"
    model, tokenizer = BertForSequenceClassification.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)
    made = []

    class Finest(steps.Refinement):
        def __init__(self, limit):
            super().__init__(np.inf, panels=finest_panels())
            made.append(self)  # an infinite limit: done after the first pass

    original, steps.Refinement = steps.Refinement, Finest
    try:
        found = []
        for text in texts:  # one text per call: the call's one Refinement is the text's
            explanation = attribkit.explain(model, tokenizer, text, output=output, n_steps="auto")
            path = made[-1]
            found.append((np.stack([path.values[p] for p in range(steps.GRID + 1)]), explanation.output_difference))
    finally:
        steps.Refinement = original
    return found


def replay(values, difference, limit, rule, safety):
    from attribkit.pipeline import steps

    old, steps.SAFETY = steps.SAFETY, safety
    try:
        path = rule(limit)
        while not path.done:
            for position in path.wanted():
                path.add(position, values[position])
            path.update(difference)
    finally:
        steps.SAFETY = old
    return path.steps, path.estimate


def previous_rule():
    """The rule before this one: 9 points first, and every panel whose error is at least half the worst cut."""
    from attribkit.pipeline import steps

    class Previous(steps.Refinement):
        def __init__(self, limit):
            super().__init__(limit, panels=[(0, steps.GRID // 2), (steps.GRID // 2, steps.GRID)])

        def update(self, difference):
            rules = [self._simpson(panel) for panel in self.panels]
            self.estimate = sum(fine for fine, _ in rules)
            errors = [np.abs(steps._scores(error)) for _, error in rules]
            self.error = steps.SAFETY * float(np.max(sum(errors)))
            self.gap = abs(float(self.estimate.sum()) - difference)
            worst = [float(e.max()) if steps._width(p) > steps.MIN_WIDTH else -1.0 for e, p in zip(errors, self.panels)]
            self.done = (self.gap <= self.limit and self.error <= self.limit) or max(worst) < 0
            if not self.done:
                self.panels = [half for panel, w in zip(self.panels, worst)
                               for half in (steps._halves(panel) if w >= max(worst) / 2 else (panel,))]
            return self.done

    return Previous


def main():
    import eval_adaptive_steps as ev
    from attribkit.pipeline import steps

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--outputs", default="probability,logit")
    parser.add_argument("--safety", default="4,5")
    parser.add_argument("--cache", type=Path, default=None, help="a folder where the path values are kept")
    args = parser.parse_args()
    texts = ev.tiny_corpus("heldout", args.texts)
    rules = [(f"attribkit x{s}", steps.Refinement, float(s)) for s in args.safety.split(",")]
    rules.append(("previous x5", previous_rule(), 5.0))
    rest = f"sentences {FIRST + 1}-{len(texts)}" if len(texts) > FIRST else "-"
    print(f"| output | rule | sentences 1-{min(FIRST, len(texts))}: mean evaluations (texts off, worst / tolerance) "
          f"| {rest} |")
    print("|---|---|---|---|")
    for output in args.outputs.split(","):
        found = cached(args.cache, texts, output)
        references = []
        for values, difference in found:
            finest = steps.Refinement(np.inf, panels=finest_panels())
            for position in range(steps.GRID + 1):
                finest.add(position, values[position])
            finest.update(difference)
            references.append(finest.estimate)
        for name, rule, safety in rules:
            cells = []
            for part in (slice(0, FIRST), slice(FIRST, None)):
                used, off, worst = [], 0, 0.0
                for (values, difference), truth in zip(found[part], references[part]):
                    limit = TOLERANCE * abs(difference)
                    count, estimate = replay(values, difference, limit, rule, safety)
                    distance = float(np.max(np.abs(estimate - truth))) / limit
                    used.append(count)
                    off += distance > 1
                    worst = max(worst, distance)
                cells.append(f"{np.mean(used):.1f} ({off}, {worst:.2f})" if used else "-")
            print(f"| {output} | {name} | " + " | ".join(cells) + " |", flush=True)


def cached(cache, texts, output):
    """:func:`grid_values`, kept in ``cache`` (a folder) when given and read from there on later runs."""
    from attribkit.pipeline import steps
    from eval_step_rules import cached as kept

    file = cache / f"tiny-grid-{output}-{len(texts)}-stretch{steps.STRETCH:g}.npz" if cache is not None else None
    return kept(file, lambda: grid_values(texts, output))


if __name__ == "__main__":
    main()
