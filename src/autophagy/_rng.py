"""Random streams: every draw flows from the run's seed.

A stream is named by ``(seed, generation, role)`` and derived with
``numpy.random.SeedSequence(seed, spawn_key=(generation, role_id))``. Streams are therefore
independent of one another and of the order in which they are asked for, so a resumed run
draws exactly what an uninterrupted one does. Repeat ``r`` of a run with seed ``s`` uses seed
``s + r``: a run with ``repeats: 3`` gives the same rows as three runs with seeds s, s+1, s+2.
"""

from __future__ import annotations

import numpy as np

#: Fixed ids for the roles a stream can play; never renumber (results depend on them).
ROLES: dict[str, int] = {
    "real_fixed": 0,  # the fixed real set D_r
    "real_fresh": 1,  # fresh real samples of one generation
    "synthetic": 2,  # samples drawn from earlier generators for the training set
    "fit": 3,  # randomness inside Generator.fit (EM initialisation, ...)
    "holdout": 4,  # held-out real samples used by the metrics
    "eval": 5,  # generated samples used by the metrics
    "metric": 6,  # randomness inside metrics (sliced Wasserstein projections)
    "subsample": 7,  # the training subset of accumulate_subsample
    "curate": 8,  # randomness of the synthetic-sample stages (filters, resampling, corrections)
}


def stream(seed: int, generation: int, role: str, *, batch: int | None = None) -> np.random.Generator:
    """Return the generator for one named stream.

    Args:
        seed: the seed of one repeat (non-negative int).
        generation: generation index (0 for draws made before the loop starts).
        role: one of :data:`ROLES`.
        batch: for Monte-Carlo calculators that add repeats in batches: the batch index
            (batches are independent streams of the same seed).
    """
    key: tuple[int, ...] = (int(generation), ROLES[role])
    if batch is not None:
        key = (*key, int(batch))
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))
