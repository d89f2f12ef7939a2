"""Registers the built-in loop kinds (their configs live in :mod:`autophagy.loops.policy`)."""

from __future__ import annotations

from autophagy.loops.policy import (
    AccumulateConfig,
    AccumulateSubsampleConfig,
    AugmentConfig,
    FreshConfig,
    FullySyntheticConfig,
    KeepOriginalConfig,
    LoopConfig,
    MixedConfig,
)
from autophagy.registry import register

_SUMMARIES: dict[type[LoopConfig], str] = {
    FullySyntheticConfig: "G^t trained only on synthetic samples of earlier generations (MAD §3)",
    AugmentConfig: "a fixed real set reused every generation plus synthetic samples (MAD §4)",
    FreshConfig: "n_real new real samples every generation plus synthetic samples (MAD §5)",
    AccumulateConfig: "every generation's data is kept; the pool grows (Gerstgrasser et al. 2024)",
    AccumulateSubsampleConfig: "the pool grows as in accumulate; train on a fixed-size random subset",
    MixedConfig: "n_fixed fixed real + n_fresh fresh real + n_synthetic synthetic per generation",
    KeepOriginalConfig: "G^1 on the original data, then synthetic + a kept share of it, fixed or resampled (Shumailov et al. 2024)",
}
for _config, _summary in _SUMMARIES.items():
    register("loop", _config.model_fields["kind"].default, _summary, _config)(lambda config: config)
