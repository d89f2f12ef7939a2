"""Benchmark: the phase diagram, d = 8, n_r = 500, 16 values of n_s x 8 values of λ, to ±1 %.

Times ``autophagy.theory.phase_diagram`` (the fresh-data loop run to its limit on every cell,
with enough repeats for n_e/n_r to a relative standard error of 1 %) over n_s = 16 log-spaced
integers from 16 to 16000 and λ in {1, 0.99, 0.97, 0.95, 0.9, 0.8, 0.7, 0.5}, on ``--workers``
processes. Prints the wall time (median of ``--reps`` runs, ``time.perf_counter``), the table of
n_e/n_r, the largest relative stderr, the repeats used, the largest admissible n_s per λ on the
grid (n_e/n_r >= 1) and whether the target (under 60 s on a 2-core machine) is met.

    make bench        # or: .venv/bin/python benchmarks/bench_phase_diagram.py [--workers 2] [--reps 1]
"""

from __future__ import annotations

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy loads: one BLAS thread per process

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from autophagy.theory import phase_diagram  # noqa: E402

DIM, N_REAL, PRECISION = 8, 500, 0.01
N_SYNTHETIC = np.unique(np.round(np.geomspace(16, 16000, 16))).astype(int)
BIASES = [1.0, 0.99, 0.97, 0.95, 0.9, 0.8, 0.7, 0.5]
TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args()
    walls = []
    for _ in range(args.reps):
        start = time.perf_counter()
        diagram = phase_diagram(N_REAL, DIM, N_SYNTHETIC, BIASES, precision=PRECISION, workers=args.workers)
        walls.append(time.perf_counter() - start)
    wall = statistics.median(walls)
    cells = diagram.ratio.size
    print(f"phase diagram d={DIM} n_r={N_REAL}, {len(N_SYNTHETIC)} n_s x {len(BIASES)} λ = {cells} cells, "
          f"precision ±{PRECISION:.0%}, {args.workers} workers ({os.cpu_count()} cores)")
    print(f"  wall median {wall:.2f} s   runs: {[round(x, 2) for x in walls]}")
    print("  n_e / n_r (rows λ, columns n_s):")
    print("    λ     " + "".join(f"{n:>7d}" for n in diagram.n_synthetic))
    for bias, row in zip(diagram.biases, diagram.ratio, strict=True):
        print(f"    {bias:<5.2f} " + "".join(f"{v:7.3f}" for v in row))
    relative = diagram.stderr / diagram.ratio
    worst = np.unravel_index(np.argmax(relative), relative.shape)
    print(f"  largest relative stderr: {relative.max():.4f} "
          f"(λ={diagram.biases[worst[0]]:g}, n_s={diagram.n_synthetic[worst[1]]})")
    print(f"  repeats: total {int(diagram.repeats.sum())}, max per cell {int(diagram.repeats.max())}, "
          f"min per cell {int(diagram.repeats.min())}")
    print("  largest admissible n_s on the grid (n_e/n_r >= 1):")
    for bias, row in zip(diagram.biases, diagram.ratio, strict=True):
        ok = diagram.n_synthetic[row >= 1.0]
        print(f"    λ={bias:<5.2f} {int(ok.max()) if ok.size else 'none'}")
    print(f"  target < {TARGET_S:.0f} s: {'met' if wall < TARGET_S else 'NOT met'}")


if __name__ == "__main__":
    main()
