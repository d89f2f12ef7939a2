"""The lab's own components. Importing this module registers them: one line per module that
registers something (its ``@register`` decorators run on import).

The registry imports this module by name (:data:`autophagy.registry.BUILTINS`) on its first
lookup, so no component module is imported before a config needs one, and the registry itself
imports no component. A new built-in family adds its modules here; a plug-in never does (see
:mod:`autophagy.plugins`).
"""

from __future__ import annotations

# ruff: noqa: F401, I001  (the order is the order of `autophagy list` and of the report's metrics)
# data sources
import autophagy.vectors.gaussian_data
import autophagy.vectors.gmm_data
import autophagy.vectors.table
import autophagy.regression.linear_data
import autophagy.images.source
import autophagy.regression.digits
import autophagy.text.sources

# generators
import autophagy.vectors.gaussian
import autophagy.vectors.gmm
import autophagy.vectors.kde
import autophagy.regression.ridge
import autophagy.regression.kernel
import autophagy.images.vae
import autophagy.images.ddpm
import autophagy.images.gan
import autophagy.text.ngram
import autophagy.text.transformer

# loop kinds
import autophagy.loops.kinds

# mitigation stages
import autophagy.mitigation.rejection
import autophagy.mitigation.threshold
import autophagy.mitigation.importance
import autophagy.mitigation.correct
import autophagy.mitigation.watermark

# metrics
import autophagy.metrics.samples
import autophagy.vectors.metrics
import autophagy.regression.metrics
import autophagy.images.metrics
import autophagy.text.metrics
import autophagy.text.embedding_metrics
