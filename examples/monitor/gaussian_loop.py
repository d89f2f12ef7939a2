"""Monitor a plain numpy loop: a Gaussian refitted to its own samples (fully synthetic collapse).

Each generation fits N(μ, Σ) to the current n samples and draws n new ones from the fit; the
monitor compares them with a fixed real reference and warns (CollapseWarning, plus a Rich line)
once a metric has left its sampling-noise band for two updates in a row. The rows land in
``runs/monitor-gaussian/<run_id>/``: ``autophagy runs runs`` lists it, ``autophagy report runs``
draws it.

    .venv/bin/python examples/monitor/gaussian_loop.py
"""

from __future__ import annotations

import numpy as np

import autophagy

D, N, GENERATIONS = 8, 100, 20

rng = np.random.default_rng(0)
reference = rng.normal(size=(4000, D))  # the real data you keep aside
with autophagy.Monitor(reference, name="monitor-gaussian", out="runs", seed=0) as monitor:
    x = rng.normal(size=(N, D))  # generation 0: real samples
    start = monitor.last_step + 1  # a rerun resumes the same run: its later steps are appended
    for generation in range(start, start + GENERATIONS):
        mean, cov = x.mean(axis=0), np.cov(x, rowvar=False)  # "train" on the current data
        x = rng.multivariate_normal(mean, cov, size=N)  # ... and replace it with its own samples
        values = monitor.update(generation, x)
        print(f"generation {generation:2d}: frechet {values['frechet']:.3f}  recall {values['recall']:.2f}  cov_trace {values['cov_trace']:.2f}")
    print("drifting:", monitor.drifting, "->", monitor.path)
