"""Regression fake-data chains (Dohmatob, Feng & Kempe 2024): rows ``[x, y]`` from a linear truth
(:mod:`.linear_data`) or from images (:mod:`.digits`), labelled by ridge (:mod:`.ridge`) or kernel
ridge (:mod:`.kernel`) labellers, and tested downstream (:mod:`.metrics`)."""

from autophagy.regression.kernel import KernelRidge
from autophagy.regression.linear_data import LinearSource, LinearTruth
from autophagy.regression.ridge import LinearRidge

__all__ = ["KernelRidge", "LinearRidge", "LinearSource", "LinearTruth"]
