"""Metrics: distances and manifold estimates between real and generated samples."""

from . import evaluate as _evaluate  # registers the built-in metrics
from . import images as _images  # registers the image metrics (torch loads on first use)
from . import text as _text  # registers the text metrics (numpy only)
from . import text_embedding as _text_embedding  # registers the sentence-embedding text metrics (extra 'text', loaded on first use)
from .evaluate import EvalConfig, EvalContext, evaluate

__all__ = ["EvalConfig", "EvalContext", "evaluate"]
