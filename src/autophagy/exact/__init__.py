"""The exact engines: loops run on sufficient statistics, batched over repeats.

Gaussian loops: :mod:`.stats` draws the sample mean and scatter of a group from their Normal and
Wishart laws; :mod:`.step` composes each generation's training set from such groups following
the loop's plan and fits the Gaussian. Linear-regression loops: :mod:`.regression` does the same
with the Gram matrix XᵀX and Xᵀy of groups of rows and a batched ridge fit. Same distribution of
results as the sampled engine, without drawing the samples.
"""

from autophagy.exact.stats import Stats, draw, merge, psd_factor, wishart
from autophagy.exact.step import ExactState, FittedGaussians, exact_step, fit

__all__ = ["ExactState", "FittedGaussians", "Stats", "draw", "exact_step", "fit", "merge", "psd_factor", "wishart"]
