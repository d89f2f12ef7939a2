"""Figures of a report: metric-vs-generation charts (PNG and Plotly), sample snapshots (scatter
plots, or image grids for image data), class histograms and, for text, histograms of the
per-sample perplexity under the generation-1 model; also the sweep figures and the
admissibility phase diagram.

Each kind lives in its own module; this one gathers their public names:

- :mod:`autophagy.report.style`: colours, dashes and :class:`LineStyle`;
- :mod:`autophagy.report.metric_charts`: :func:`metric_png`, :func:`metric_plotly`;
- :mod:`autophagy.report.samples`: :func:`project_2d`, :func:`snapshot_png`;
- :mod:`autophagy.report.images`: :func:`image_mosaic`, :func:`image_grid_png`,
  :func:`class_histogram_png`;
- :mod:`autophagy.report.texts`: :func:`shown_generations`, :func:`perplexity_histogram_png`;
- :mod:`autophagy.report.sweeps`: :func:`sweep_png`, :func:`best_key_png`;
- :mod:`autophagy.report.phase`: :func:`phase_png`.

matplotlib is used through :class:`matplotlib.figure.Figure` (no pyplot, so no GUI backend
and no global figure state); matplotlib and Plotly are imported inside the functions.
"""

from __future__ import annotations

from autophagy.report.images import (
    MAX_CLASS_ROWS,
    class_histogram_png,
    image_grid_png,
    image_mosaic,
)
from autophagy.report.metric_charts import TheoryCurves, metric_plotly, metric_png
from autophagy.report.phase import phase_png
from autophagy.report.samples import project_2d, snapshot_png
from autophagy.report.style import DASHES, PALETTE, LineStyle, Styles, colour
from autophagy.report.sweeps import LOWER_IS_BETTER, best_key_png, sweep_png
from autophagy.report.texts import (
    MAX_HISTOGRAMS,
    N_HISTOGRAMS,
    perplexity_histogram_png,
    shown_generations,
)

__all__ = [
    "DASHES",
    "LOWER_IS_BETTER",
    "MAX_CLASS_ROWS",
    "MAX_HISTOGRAMS",
    "N_HISTOGRAMS",
    "PALETTE",
    "LineStyle",
    "Styles",
    "TheoryCurves",
    "best_key_png",
    "class_histogram_png",
    "colour",
    "image_grid_png",
    "image_mosaic",
    "metric_plotly",
    "metric_png",
    "perplexity_histogram_png",
    "phase_png",
    "project_2d",
    "shown_generations",
    "snapshot_png",
    "sweep_png",
]
