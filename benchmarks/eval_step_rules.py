"""Stopping rules for ``n_steps="auto"`` compared offline, on the paths of real texts.

For each text of a set (``bundled`` or ``minilm``, as in
``eval_adaptive_steps.py``) the pipeline evaluates the path's token
attributions at 257 evenly spaced points (one first pass of 64 panels;
``--points``); everything else is computed from those values, with a cubic
spline between them where a rule needs other points:

- a 256-interval Romberg estimate: the reference the rules are measured against;
- each text's own smallest Gauss-Legendre count that brings its gap, and
  every token's score, within the tolerance (an oracle no fixed count can
  reach), and the smallest count that does so for every text;
- attribkit's rule (``attribkit.pipeline.steps.Refinement``) replayed with
  other safety factors, and with an oracle that stops it as soon as its
  estimate is within the tolerance of the reference: what the same panels
  would cost with a perfect error estimate.

Usage::

    python benchmarks/eval_step_rules.py --sets bundled,minilm [--outputs probability,logit] [--texts 117]
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


def path_values(model, tokenizer, texts, output, points):
    """``[(values (points, n_tokens), F(x) - F(baseline))]`` per text, from one pass of the pipeline."""
    import attribkit
    from attribkit.pipeline import steps

    made = []

    class Dense(steps.Refinement):
        def __init__(self, limit):
            width = steps.GRID * 4 // (points - 1)
            super().__init__(np.inf, panels=[(k * width, (k + 1) * width) for k in range((points - 1) // 4)])
            made.append(self)  # an infinite limit: done after the first pass

    original = steps.Refinement
    steps.Refinement = Dense
    try:
        found = []
        for text in texts:  # one text per call: the call's one Refinement is the text's
            explanation = attribkit.explain(model, tokenizer, text, output=output, n_steps="auto")
            path = made[-1]
            found.append((np.stack([path.values[p] for p in sorted(path.values)]), explanation.output_difference))
    finally:
        steps.Refinement = original
    return found


def romberg(values):
    """The Romberg estimate from ``2**k + 1`` evenly spaced values."""
    row = []
    n = len(values) - 1
    k = 0
    while (1 << k) <= n:
        f = values[::n >> k]
        trapezoid = (f.sum(axis=0) - (f[0] + f[-1]) / 2) / (1 << k)
        new = [trapezoid]
        for j, previous in enumerate(row, start=1):
            new.append(new[-1] + (new[-1] - previous) / (4 ** j - 1))
        row, k = new, k + 1
    return row[-1]


def gauss_legendre(spline, n):
    x, w = np.polynomial.legendre.leggauss(n)
    return (spline((x + 1) / 2) * (w / 2)[:, None]).sum(axis=0)


def own_count(spline, difference, truth, limit, counts=range(2, 201)):
    """A text's smallest Gauss-Legendre count with its gap within ``limit``, and with every score within it."""
    gap = scores = None
    for n in counts:
        estimate = gauss_legendre(spline, n)
        gap = gap or (n if abs(estimate.sum() - difference) <= limit else None)
        scores = scores or (n if np.max(np.abs(estimate - truth)) <= limit else None)
        if gap and scores:
            break
    return gap or np.inf, scores or np.inf


def replay(spline, difference, limit, safety, truth=None):
    """attribkit's rule on this path; with ``truth``, stopped as soon as its estimate is within ``limit``."""
    from attribkit.pipeline import steps

    old = steps.SAFETY
    steps.SAFETY = safety
    try:
        path = steps.Refinement(limit)
        while not path.done:
            for position in path.wanted():
                path.add(position, spline(steps.alpha(position)))
            path.update(difference)
            if truth is not None and abs(path.estimate.sum() - difference) <= limit \
                    and np.max(np.abs(path.estimate - truth)) <= limit:
                break
    finally:
        steps.SAFETY = old
    return path.steps, float(np.max(np.abs(path.estimate - truth))) if truth is not None else path.estimate


def main():
    from scipy.interpolate import CubicSpline

    import eval_adaptive_steps as ev

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="bundled,minilm")
    parser.add_argument("--outputs", default="probability,logit")
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--points", type=int, default=257, help="evenly spaced points per path (4k + 1, 2**j + 1)")
    parser.add_argument("--safety", default="1,3,4,5,6")
    args = parser.parse_args()
    safeties = [float(s) for s in args.safety.split(",")]
    print("| set | output | texts | own GL count, gap: mean (max) | own GL count, every score: mean (max) | "
          + " | ".join(f"rule x{s:g}: mean (texts off)" for s in safeties) + " | rule, perfect stop: mean |")
    print("|---|---|---|---|---|" + "---|" * len(safeties) + "---|")
    for name in args.sets.split(","):
        if name == "bundled":
            from attribkit.demo import load_demo_model

            model, tokenizer = load_demo_model("torch")
        else:
            model, tokenizer = ev.minilm_with_trained_head("cpu")
        texts = ev.heldout_reviews(args.texts)
        for output in args.outputs.split(","):
            rows = []
            for values, difference in path_values(model, tokenizer, texts, output, args.points):
                limit = TOLERANCE * abs(difference)
                spline = CubicSpline(np.linspace(0, 1, len(values)), values, axis=0)
                truth = romberg(values)
                gap_n, score_n = own_count(spline, difference, truth, limit)
                replays = []
                for safety in safeties:
                    steps_used, estimate = replay(spline, difference, limit, safety)
                    replays.append((steps_used, float(np.max(np.abs(estimate - truth))) > limit))
                perfect, _ = replay(spline, difference, limit, 1e9, truth)
                rows.append((gap_n, score_n, replays, perfect))
            gap_n = np.array([r[0] for r in rows])
            score_n = np.array([r[1] for r in rows])
            cells = []
            for k in range(len(safeties)):
                used = np.array([r[2][k][0] for r in rows])
                off = sum(r[2][k][1] for r in rows)
                cells.append(f"{used.mean():.1f} ({off})")
            perfect = np.mean([r[3] for r in rows])
            print(f"| {name} | {output} | {len(rows)} | {gap_n.mean():.1f} ({gap_n.max():g}) | "
                  f"{score_n.mean():.1f} ({score_n.max():g}) | " + " | ".join(cells) + f" | {perfect:.1f} |",
                  flush=True)


if __name__ == "__main__":
    main()
