"""Loop policies: how each generation's training set is composed."""

from autophagy.loops.policy import (
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
from autophagy.loops.pool import FIXED, FRESH, HUMAN, TrainingPool
from autophagy.loops.stages import SyntheticBatch, SyntheticStage, apply_stages

__all__ = [
    "FIXED",
    "FRESH",
    "HUMAN",
    "SyntheticBatch",
    "SyntheticStage",
    "TrainingPool",
    "apply_stages",
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
