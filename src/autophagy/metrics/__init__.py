"""Metrics: the machinery (:mod:`.evaluate`), the sample metrics every vector modality shares
(:mod:`.samples`) and their maths (:mod:`.functional`). Family metrics live with their family."""

from autophagy.metrics.evaluate import EvalConfig, EvalContext, evaluate

__all__ = ["EvalConfig", "EvalContext", "evaluate"]
