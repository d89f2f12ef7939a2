"""Mitigation stages: what a generation's synthetic samples go through before they are trained on
(the ``mitigation:`` list of a config; the seam is :mod:`autophagy.loops.stages`).

Built-ins (registered in group ``stage`` by :mod:`autophagy.builtins`): ``rejection`` (the
perfect verifier), ``threshold`` (curation by a score), ``importance`` (resampling by an
estimated density ratio), ``self_correct`` (moving samples toward the truth) and ``watermark``
(mark at generation time, detect, filter).
"""

from autophagy.mitigation.base import (
    StageConfig,
    check_stages,
    mitigation_label,
    model_log_prob,
    true_log_prob,
)

__all__ = ["StageConfig", "check_stages", "mitigation_label", "model_log_prob", "true_log_prob"]
