"""Distances and manifold estimates between sample sets: pure functions.

Every function takes float arrays of shape (n_samples, n_features) (``x``/``y`` or
``real``/``fake``), validates them once (shape, matching feature counts, finiteness) and
returns plain Python floats. The stateful metric classes wrap these functions; the maths lives
here only.

scikit-learn and POT are imported inside the functions that need them, so importing this
package loads numpy alone.

One module per topic, whose public names are all importable from here:

- :mod:`~autophagy.metrics.functional.frechet`: :func:`gaussian_frechet`, :func:`frechet_distance`;
- :mod:`~autophagy.metrics.functional.wasserstein`: :func:`gaussian_w2`,
  :func:`gaussian_w2_batch`, :func:`sliced_wasserstein`;
- :mod:`~autophagy.metrics.functional.mmd`: :func:`mmd_rbf`, :func:`median_heuristic_bandwidth`;
- :mod:`~autophagy.metrics.functional.manifold`: :func:`prdc`;
- :mod:`~autophagy.metrics.functional.modes`: :func:`modes_covered`.

Memory: the pairwise quantities (MMD kernel sums, PRDC ball tests) are computed in row blocks
into one reused ``(block_size, n)`` buffer, so 10,000 x 10,000 samples never materialise a full
distance matrix. Pairwise squared distances come out of one matrix product on augmented
coordinates (see :func:`~autophagy.metrics.functional._pairwise._augmented_pair`), after
centring both sets on a common point (the distances are translation invariant, and centring
keeps the ``|a|² + |b|² - 2 a·b`` identity accurate for data far from the origin).

References:
    Dowson & Landau (1982), "The Fréchet distance between multivariate normal distributions".
    Heusel et al. (2017), "GANs trained by a two time-scale update rule converge to a local
    Nash equilibrium" (FID).
    Bonneel et al. (2015), "Sliced and Radon Wasserstein barycenters of measures".
    Gretton et al. (2012), "A kernel two-sample test", JMLR 13.
    Kynkäänniemi et al. (2019), "Improved precision and recall metric for assessing generative
    models".
    Naeem et al. (2020), "Reliable fidelity and diversity metrics for generative models".
    Srivastava et al. (2017), "VEEGAN"; Lin et al. (2018), "PacGAN" (mode counting).
"""

from autophagy.metrics.functional.frechet import (
    _trace_sqrt_product,  # noqa: F401  (benchmarks and tests call F._trace_sqrt_product)
    frechet_distance,
    gaussian_frechet,
)
from autophagy.metrics.functional.manifold import prdc
from autophagy.metrics.functional.mmd import median_heuristic_bandwidth, mmd_rbf
from autophagy.metrics.functional.modes import modes_covered
from autophagy.metrics.functional.wasserstein import (
    gaussian_w2,
    gaussian_w2_batch,
    sliced_wasserstein,
)

__all__ = [
    "frechet_distance",
    "gaussian_frechet",
    "gaussian_w2",
    "gaussian_w2_batch",
    "median_heuristic_bandwidth",
    "mmd_rbf",
    "modes_covered",
    "prdc",
    "sliced_wasserstein",
]
