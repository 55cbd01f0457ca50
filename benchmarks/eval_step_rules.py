"""Stopping rules for ``n_steps="auto"`` compared offline, on the paths of real texts.

For each text of a set (``bundled`` or ``minilm``, as in
``eval_adaptive_steps.py``) the pipeline evaluates the path's token
attributions at 257 evenly spaced points (one first pass of 64 panels;
``--points``); everything else is computed from those values, with a cubic
spline between them where a rule needs other points:

- where each path's attributions lie: the centre of its absolute attributions
  (the ``alpha`` at which their mass balances), which ``steps.STRETCH`` relies on;
- a 256-interval Romberg estimate: the reference the rules are measured against;
- each text's own smallest Gauss-Legendre count that brings its gap, and
  every token's score, within the tolerance (an oracle no fixed count can
  reach), and the smallest count that does so for every text;
- attribkit's rule (``attribkit.pipeline.steps.Refinement``) replayed with
  other safety factors, and with an oracle that stops it as soon as its
  estimate is within the tolerance of the reference: what the same panels
  would cost with a perfect error estimate;
- the same perfect stop for two other families of nested points, as the
  cost below which no error estimate can bring them: Clenshaw-Curtis grids
  that double (9, 17, 33 ... points), and Chebyshev points added 4 at a time
  (interpolatory quadrature on the first 9, 13, 17 ... of the nested
  Chebyshev angles in van der Corput order), and Gauss-Kronrod-Patterson
  sequences (``n`` Gauss-Legendre points, then each level's Patterson
  extension: ``n + 1``, ``2n + 2`` ... new points, so 5, 11, 23, 47, 95 from
  ``n = 5``), the best of the bases 1, 4, 5 and 6 on each set.

The last column is the issue's target: 60 % of the smallest fixed count that
brings every gap and every score within the tolerance (the largest of the
texts' own counts).

Usage::

    python benchmarks/eval_step_rules.py --sets bundled,minilm [--outputs probability,logit] [--texts 117]
        [--stretch 0,0.5] [--cache benchmarks/.paths]

``--stretch`` replays attribkit's rule with other values of ``steps.STRETCH``
(the path values are evenly spaced whatever it is); ``--cache`` keeps the
path values, the slow part, for later runs.
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

    original, stretch = steps.Refinement, steps.STRETCH
    steps.Refinement, steps.STRETCH = Dense, 0.0  # evenly spaced in alpha
    try:
        found = []
        for text in texts:  # one text per call: the call's one Refinement is the text's
            explanation = attribkit.explain(model, tokenizer, text, output=output, n_steps="auto")
            path = made[-1]
            found.append((np.stack([path.values[p] for p in sorted(path.values)]), explanation.output_difference))
    finally:
        steps.Refinement, steps.STRETCH = original, stretch
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


def chebyshev_weights(t):
    """Interpolatory quadrature weights on ``[-1, 1]`` (normalised to sum to 1) for nodes ``t``."""
    degrees = np.arange(len(t))
    vandermonde = np.cos(np.outer(degrees, np.arccos(t)))  # T_j(t_i)
    even = degrees % 2 == 0
    moments = np.zeros(len(t))
    moments[even] = 1 / (1 - degrees[even].astype(float) ** 2)  # the mean of T_j over [-1, 1]
    return np.linalg.solve(vandermonde, moments)


def chebyshev_angles(finest=10):
    """Chebyshev angles ``k / 2**finest`` (times pi) in nested order: the 9 of a 9-point grid, then each
    finer grid's new angles in van der Corput order, so that any first ``n`` are spread out."""
    order = [k << (finest - 3) for k in range(9)]
    for level in range(4, finest + 1):
        new = range(1, 1 << level, 2)
        bits = level - 1
        order += sorted((k << (finest - level) for k in new),
                        key=lambda k: int(format((k >> (finest - level)) >> 1, f"0{bits}b")[::-1], 2))
    return np.pi * np.array(order) / (1 << finest)


def perfect_stop(spline, difference, truth, limit, counts, nodes):
    """The first of ``counts`` whose interpolatory quadrature on ``nodes(n)`` has its gap and every score
    within ``limit`` of the reference: what these points cost with a perfect error estimate."""
    for n in counts:
        t = nodes(n)
        estimate = chebyshev_weights(t) @ spline((t + 1) / 2)
        if abs(estimate.sum() - difference) <= limit and np.max(np.abs(estimate - truth)) <= limit:
            return n
    return np.inf


def doubling_cost(spline, difference, truth, limit):
    """Clenshaw-Curtis grids of 9, 17, 33 ... points."""
    return perfect_stop(spline, difference, truth, limit, [2 ** k + 1 for k in range(3, 11)],
                        lambda n: -np.cos(np.pi * np.arange(n) / (n - 1)))


def four_at_a_time_cost(spline, difference, truth, limit, angles=chebyshev_angles()):
    """Chebyshev points added 4 at a time."""
    return perfect_stop(spline, difference, truth, limit, range(9, 258, 4), lambda n: -np.cos(angles[:n]))


def patterson_extension(nodes, quadrature=400):
    """The ``len(nodes) + 1`` points that extend ``nodes`` on ``[-1, 1]``: the roots of the polynomial orthogonal
    to every polynomial of lower degree under the weight ``prod(x - nodes)`` (Kronrod's extension of
    Gauss-Legendre nodes, and Patterson's of each extension)."""
    from numpy.polynomial import chebyshev

    x, w = np.polynomial.legendre.leggauss(quadrature)
    weight = w * np.prod(x[:, None] - np.asarray(nodes)[None, :], axis=1)
    degree = len(nodes) + 1
    basis = chebyshev.chebvander(x, degree)  # T_0 .. T_degree at x
    gram = (basis[:, :degree] * weight[:, None]).T
    coefficients = np.linalg.solve(gram @ basis[:, :degree], -gram @ basis[:, degree])
    roots = chebyshev.chebroots(np.append(coefficients, 1.0))
    return np.sort(roots.real)


def patterson_sequence(base, most=60):
    """Nested node sets: ``base`` Gauss-Legendre points, then Patterson extensions up to ``most`` points or more."""
    nodes = [np.sort(np.polynomial.legendre.leggauss(base)[0])]
    while len(nodes[-1]) < most:
        nodes.append(np.sort(np.concatenate([nodes[-1], patterson_extension(nodes[-1])])))
    return {len(t): t for t in nodes}


PATTERSON_BASES = (1, 4, 5, 6)


def patterson_costs(spline, difference, truth, limit, sequences={b: patterson_sequence(b) for b in PATTERSON_BASES}):
    """The perfect stop on each base's Gauss-Kronrod-Patterson sequence."""
    return [perfect_stop(spline, difference, truth, limit, list(nodes), nodes.__getitem__)
            for nodes in sequences.values()]


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


def replay(spline, difference, limit, safety, truth=None, stretch=None):
    """attribkit's rule on this path (with ``stretch`` for ``steps.STRETCH``, if given); with ``truth``,
    stopped as soon as its estimate is within ``limit``."""
    from attribkit.pipeline import steps

    old = steps.SAFETY, steps.STRETCH
    steps.SAFETY = safety
    steps.STRETCH = steps.STRETCH if stretch is None else stretch
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
        steps.SAFETY, steps.STRETCH = old
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
    parser.add_argument("--stretch", default=None,
                        help="comma-separated values of steps.STRETCH for attribkit's rule (default: its own)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="a folder where the path values are kept (.npz per set and output) and read again")
    args = parser.parse_args()
    from attribkit.pipeline import steps

    safeties = [float(s) for s in args.safety.split(",")]
    stretches = [float(s) for s in args.stretch.split(",")] if args.stretch else [steps.STRETCH]
    print("| set | output | texts | centre of the path's absolute attributions: mean (10-90 %) "
          "| own GL count, gap: mean (max) | own GL count, every score: mean (max) | stretch | "
          + " | ".join(f"rule x{s:g}: mean (texts off)" for s in safeties)
          + " | perfect stop, mean: attribkit's panels | Clenshaw-Curtis, doubling | Chebyshev, 4 at a time"
          + " | Gauss-Kronrod-Patterson, best base (base: mean) | 40 % target |")
    print("|---|---|---|---|---|---|---|" + "---|" * len(safeties) + "---|---|---|---|---|")
    for name in args.sets.split(","):
        if name == "bundled":
            from attribkit.demo import load_demo_model

            model, tokenizer = load_demo_model("torch")
        else:
            model, tokenizer = ev.minilm_with_trained_head("cpu")
        texts = ev.heldout_reviews(args.texts)
        for output in args.outputs.split(","):
            rows = []
            for values, difference in cached_path_values(args.cache, name, model, tokenizer, texts, output,
                                                         args.points):
                limit = TOLERANCE * abs(difference)
                spline = CubicSpline(np.linspace(0, 1, len(values)), values, axis=0)
                truth = romberg(values)
                gap_n, score_n = own_count(spline, difference, truth, limit)
                replays = {}
                for stretch in stretches:
                    replays[stretch] = []
                    for safety in safeties:
                        steps_used, estimate = replay(spline, difference, limit, safety, stretch=stretch)
                        replays[stretch].append((steps_used, float(np.max(np.abs(estimate - truth))) > limit))
                    replays[stretch].append(replay(spline, difference, limit, 1e9, truth, stretch=stretch)[0])
                others = (doubling_cost(spline, difference, truth, limit),
                          four_at_a_time_cost(spline, difference, truth, limit))
                mass = np.abs(values).sum(axis=1)
                centre = float(mass @ np.linspace(0, 1, len(values)) / mass.sum())
                rows.append((gap_n, score_n, replays, others, patterson_costs(spline, difference, truth, limit),
                             centre))
            gap_n = np.array([r[0] for r in rows])
            score_n = np.array([r[1] for r in rows])
            others = np.mean([r[3] for r in rows], axis=0)
            patterson = dict(zip(PATTERSON_BASES, np.mean([r[4] for r in rows], axis=0)))
            best = min(patterson, key=patterson.get)
            target = 0.6 * max(gap_n.max(), score_n.max())
            centres = np.array([r[5] for r in rows])
            centre = f"{centres.mean():.2f} ({np.percentile(centres, 10):.2f}-{np.percentile(centres, 90):.2f})"
            for stretch in stretches:
                cells = []
                for k in range(len(safeties)):
                    used = np.array([r[2][stretch][k][0] for r in rows])
                    off = sum(r[2][stretch][k][1] for r in rows)
                    cells.append(f"{used.mean():.1f} ({off})")
                perfect = np.mean([r[2][stretch][-1] for r in rows])
                print(f"| {name} | {output} | {len(rows)} | {centre} | {gap_n.mean():.1f} ({gap_n.max():g}) | "
                      f"{score_n.mean():.1f} ({score_n.max():g}) | {stretch:g} | " + " | ".join(cells)
                      + f" | {perfect:.1f} | " + " | ".join(f"{cost:.1f}" for cost in others)
                      + f" | {patterson[best]:.1f} ({', '.join(f'{b}: {c:.1f}' for b, c in patterson.items())})"
                      + f" | {target:.1f} |", flush=True)


def cached_path_values(cache, name, model, tokenizer, texts, output, points):
    """:func:`path_values`, kept in ``cache`` (a folder) when given and read from there on later runs."""
    file = cache / f"{name}-{output}-{len(texts)}-{points}.npz" if cache is not None else None
    return cached(file, lambda: path_values(model, tokenizer, texts, output, points))


def cached(file, compute):
    """``compute()``, a list of ``(values, F(x) - F(baseline))``, kept in ``file`` (``.npz``) when given and
    read from there on later runs."""
    if file is None:
        return compute()
    if not file.is_file():
        found = compute()
        file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(file, differences=np.array([d for _, d in found]), **{f"v{i}": v for i, (v, _) in enumerate(found)})
    stored = np.load(file)
    return [(stored[f"v{i}"], float(d)) for i, d in enumerate(stored["differences"])]


if __name__ == "__main__":
    main()
