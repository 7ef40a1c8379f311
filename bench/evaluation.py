"""Evaluation benchmark: the annual evaluation engine with Monte Carlo rank intervals on a seeded cohort.

    .venv/bin/python bench/evaluation.py                          # 300 cities × 40 indicators, 10,000 samples
    .venv/bin/python bench/evaluation.py --cities 3000 --samples 2000
    .venv/bin/python bench/evaluation.py --aggregations arithmetic --repeats 10

What it does:

1. Generates a seeded cohort (no database, no Django): N cities × K indicators of plausible values, about a fifth
   of the indicators "lower is better", a third with a target, the indicators spread over 7 areas (A–G, as the 2016
   edition) and a small share of missing values (which exercise the re-scaled-weights path).
2. For each aggregation (weighted arithmetic, weighted geometric, TOPSIS), times ``infocity.evaluation.engine.evaluate``
   — entropy weights, the 2016 default normalisation, area and overall scores, ranks, the explanation, the
   fingerprint and the Monte Carlo rank intervals over ``--samples`` perturbed weight vectors — ``--repeats`` times
   after one untimed warm-up, and reports the best and median wall time and samples per second (at the median).
3. Peak memory: the peak of the memory traced by ``tracemalloc`` during one more, untimed run (numpy reports its
   buffers to tracemalloc), and the process's peak resident set size at the end.
4. Checks that two runs give bit-identical scores, ranks and intervals (exit status 1 otherwise).

The goal of issue 8 is ≤ 2 s for 300 × 40 with 10,000 samples (weighted arithmetic, and TOPSIS separately).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infocity.evaluation import engine  # noqa: E402 — after the path set-up, as a script

GOAL_S = 2.0
AREAS = "ABCDEFG"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="infocity evaluation benchmark (engine and Monte Carlo rank intervals on a seeded cohort).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--cities", type=int, default=300)
    parser.add_argument("--indicators", type=int, default=40)
    parser.add_argument("--samples", type=int, default=10_000, help="Monte Carlo samples")
    parser.add_argument("--missing", type=float, default=0.02, help="share of missing values")
    parser.add_argument(
        "--aggregations",
        nargs="+",
        choices=list(engine.AGGREGATIONS),
        default=["arithmetic", "geometric", "topsis"],
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per aggregation")
    parser.add_argument("--seed", type=int, default=2016)
    args = parser.parse_args(argv)
    if args.cities < 2 or args.indicators < 1 or args.samples < 1 or args.repeats < 1:
        parser.error("--cities ≥ 2, --indicators ≥ 1, --samples ≥ 1 and --repeats ≥ 1")
    return args


def cohort(args: argparse.Namespace) -> tuple[engine.Matrix, engine.Scheme]:
    """The seeded cohort and its scheme (the aggregation is set per run)."""
    rng = np.random.default_rng(args.seed)
    m, n = args.cities, args.indicators
    level = rng.uniform(20, 100, size=n)  # each indicator's typical value
    city = rng.normal(1.0, 0.15, size=(m, 1))  # cities are better or worse across the board
    values = np.clip(level * city * rng.normal(1.0, 0.2, size=(m, n)), 0.1, None)
    values[rng.random((m, n)) < args.missing] = np.nan
    direction = tuple(int(d) for d in np.where(rng.random(n) < 0.2, -1, 1))
    targets = tuple(float(round(t, 1)) if rng.random() < 1 / 3 else None for t in level * 1.1)
    codes = tuple(f"{AREAS[j % len(AREAS)]}{j // len(AREAS) + 1:02d}" for j in range(n))
    matrix = engine.Matrix(cities=tuple(f"城市{i + 1:04d}" for i in range(m)), indicators=codes, values=values)
    scheme = engine.Scheme(
        indicators=codes,
        direction=direction,
        targets=targets,
        areas=tuple(code[0] for code in codes),
        weighting="entropy",
        mc_samples=args.samples,
        mc_seed=args.seed,
    )
    return matrix, scheme


def identical(a: engine.Evaluation, b: engine.Evaluation) -> bool:
    arrays = [(a.scores, b.scores), (a.ranks, b.ranks), (a.weights, b.weights)]
    if a.uncertainty is not None and b.uncertainty is not None:
        arrays += [(a.uncertainty.median, b.uncertainty.median), (a.uncertainty.p5, b.uncertainty.p5)]
        arrays += [(a.uncertainty.p95, b.uncertainty.p95)]
    return a.fingerprint == b.fingerprint and all(x.tobytes() == y.tobytes() for x, y in arrays)


def measure(matrix: engine.Matrix, scheme: engine.Scheme, repeats: int) -> dict[str, float | bool]:
    first = engine.evaluate(matrix, scheme)  # warm-up (imports, caches), and the reference for reproducibility
    times = []
    last = first
    for _ in range(repeats):
        start = time.perf_counter()
        last = engine.evaluate(matrix, scheme)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    engine.evaluate(matrix, scheme)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    base = time.perf_counter()
    engine.evaluate(matrix, dataclasses.replace(scheme, mc_samples=0))
    return {
        "best_s": min(times),
        "median_s": statistics.median(times),
        "base_s": time.perf_counter() - base,
        "peak_mib": peak / 2**20,
        "reproducible": identical(first, last),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    matrix, scheme = cohort(args)
    missing = float(np.isnan(matrix.values).mean())
    print(
        f"infocity evaluation benchmark — {platform.python_implementation()} {platform.python_version()}, "
        f"numpy {np.__version__}, {platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(
        f"{args.cities:,} cities × {args.indicators} indicators ({len(set(scheme.areas))} areas, "
        f"{missing:.1%} missing), entropy weights, {args.samples:,} Monte Carlo samples "
        f"(±{scheme.mc_spread:.0%} weights), seed {args.seed}, {args.repeats} timed runs each"
    )
    print(
        f"{'aggregation':<12} {'best s':>7} {'median s':>9} {'samples/s':>10} {'no MC s':>8} {'peak MiB':>9} "
        f"{'reproducible':>13}  goal ≤ {GOAL_S:.0f} s"
    )
    failed = False
    for aggregation in args.aggregations:
        figures = measure(matrix, dataclasses.replace(scheme, aggregation=aggregation), args.repeats)
        median_s = float(figures["median_s"])
        print(
            f"{aggregation:<12} {figures['best_s']:>7.3f} {median_s:>9.3f} {args.samples / median_s:>10,.0f} "
            f"{figures['base_s']:>8.3f} {figures['peak_mib']:>9.1f} {'yes' if figures['reproducible'] else 'NO':>13}"
            f"  {'met' if median_s <= GOAL_S else 'MISSED'}"
        )
        failed |= not figures["reproducible"]
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    print(f"process peak RSS: {rss:.0f} MiB (Python, numpy and the cohort included)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
