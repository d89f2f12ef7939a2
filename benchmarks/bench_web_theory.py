"""Study: the batched web engine against the web theory (``autophagy.theory.web_moments``).

For three human shares p of the arrivals (L = 9 Gaussian lineages, n_train = publish = 20,
d = 2, pool 2 (h + L m), FIFO, uniform draws) it runs ``--webs`` independent webs for 40
generations and prints, averaged over generations 21-40, each web's lineage mean of
E‖μ_ℓ − μ‖², E tr λΣ_ℓ and E W2² with its standard error across webs, the theory's value, and
z = (measured − theory) / se. The first two are exact in theory (|z| of a few at most); W2² is
the theory's approximation (the ratio theory / measured says how far off). The FIFO human share
is deterministic: its largest deviation from theory is printed too.

    .venv/bin/python benchmarks/bench_web_theory.py [--webs 200]
"""

from __future__ import annotations

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy loads: one BLAS thread per process

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import autophagy  # noqa: E402
from autophagy.theory import web_moments  # noqa: E402

L, M, N, D, GENERATIONS = 9, 20, 20, 2, 40
#: (p, h, λ, estimator): p = h / (h + L m)
SETTINGS = [(0.1, 20, 1.0, "unbiased"), (0.25, 60, 1.0, "mle"), (0.7, 420, 0.8, "unbiased")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webs", type=int, default=200)
    args = parser.parse_args()
    for p, h, bias, estimator in SETTINGS:
        size = 2 * (h + L * M)
        config = {
            "name": "web-theory", "seed": 3, "generations": GENERATIONS, "repeats": args.webs,
            "data": {"kind": "gaussian", "dim": D}, "metrics": ["gaussian_w2", "cov_trace", "mean_sq_error"],
            "eval": {"n_samples": 100},
            "web": {"lineages": [{"generator": {"kind": "gaussian", "estimator": estimator, "bias": bias}, "count": L, "n_train": N, "publish": M}],
                    "pool": {"size": size, "human_per_generation": h, "eviction": "fifo"}},
        }
        start = time.perf_counter()
        rows = autophagy.run(config, out=None).metrics
        seconds = time.perf_counter() - start
        curve = web_moments(GENERATIONS, h, N, M, size, lineages=L, trace=float(D), bias=bias, estimator=estimator, dim=D)
        print(f"p = {p} ({estimator}, λ = {bias}, pool {size}, {args.webs} webs, {seconds:.0f} s):")
        window = rows[(rows.lineage >= 0) & (rows.generation > 20)]
        for metric, theory in (("mean_sq_error", curve.mean_sq_error), ("cov_trace", bias * curve.cov_trace), ("gaussian_w2", curve.w2)):
            per_web = window[window.metric == metric].groupby("seed").value.mean()
            mean, se, expected = per_web.mean(), per_web.std(ddof=1) / np.sqrt(len(per_web)), theory[20:].mean()
            print(f"  {metric:14s} measured {mean:.4f} ± {se:.4f}  theory {expected:.4f}  z {(mean - expected) / se:+.2f}  theory/measured {expected / mean:.3f}")
        share = rows[(rows.lineage == -1) & (rows.metric == "pool_human_share")].groupby("generation").value.mean().to_numpy()
        print(f"  pool_human_share largest |measured - theory| {np.abs(share - curve.pool_human_share).max():.1e}")


if __name__ == "__main__":
    main()
