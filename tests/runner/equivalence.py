"""Shared machinery of the exact-vs-sampled engine equivalence tests."""

import numpy as np
from scipy import stats as sps

import autophagy

SAMPLED_REPEATS = 300  # the slow side


def wide(config, engine, seed, repeats):
    """Run ``config`` in memory on ``engine``; metrics one column each, by (seed, generation)."""
    result = autophagy.run({**config, "engine": engine, "seed": seed, "repeats": repeats}, out=None)
    assert result.config.engine == engine
    return result.wide()


def engines(config, global_seed, exact_repeats, exact_changes=None):
    """(sampled, exact) runs of ``config`` on disjoint seed ranges: the sampled repeats use seeds
    base..base+299, the exact run base + 5000 (and, for rows drawn per repeat,
    base+5000..base+5000+R-1): independent sides."""
    base = 10_000 * global_seed
    sampled = wide(config, "sampled", base, SAMPLED_REPEATS)
    exact = wide({**config, **(exact_changes or {})}, "exact", base + 5_000, exact_repeats)
    return sampled, exact


def ks_pvalues(a, b, metrics):
    """Two-sample KS p-value for each (generation, metric): rows of ``a`` against rows of ``b``."""
    pvalues = {}
    for t in sorted(set(a.index.get_level_values("generation"))):
        at, bt = a.xs(t, level="generation"), b.xs(t, level="generation")
        for name in metrics:
            x, y = at[name].to_numpy(), bt[name].to_numpy()
            assert np.all(np.isfinite(x)) and np.all(np.isfinite(y)), f"non-finite {name} at generation {t}"
            pvalues[(t, name)] = sps.ks_2samp(x, y).pvalue
    return pvalues
