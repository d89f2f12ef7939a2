"""Loop policies: how each generation's training set is composed."""

from autophagy.loops.policy import (
    FIXED,
    FRESH,
    AccumulateConfig,
    AccumulateSubsampleConfig,
    AugmentConfig,
    FreshConfig,
    FullySyntheticConfig,
    KeepOriginalConfig,
    LoopConfig,
    LoopState,
    MixedConfig,
    Plan,
    TrainingSet,
    step,
    with_generator,
)

__all__ = [
    "FIXED",
    "FRESH",
    "AccumulateConfig",
    "AccumulateSubsampleConfig",
    "AugmentConfig",
    "FreshConfig",
    "FullySyntheticConfig",
    "KeepOriginalConfig",
    "LoopConfig",
    "LoopState",
    "MixedConfig",
    "Plan",
    "TrainingSet",
    "step",
    "with_generator",
]
