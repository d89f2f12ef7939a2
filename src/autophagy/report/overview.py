"""Small multiples: every charted metric of an experiment on one figure, a panel each.

A page with many metrics (the default vector metrics are nine, with provenance and stage rows
more) is hard to take in chart by chart; the overview puts each metric's mean line per setting
in a small panel of one grid (same colours and dashes as the full charts, one legend), so the
settings that drift can be spotted across metrics at a glance before reading the charts below.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autophagy.report.style import Styles, _plain, _style

#: Metrics an overview shows at most (the first ones, in the page's chart order).
MAX_PANELS = 16
#: Fewer charted metrics than this get no overview: their charts are few enough to read.
MIN_PANELS = 4
COLUMNS = 4


def overview_png(summary: Any, metrics: Sequence[str], path: Path, settings: Sequence[str], styles: Styles | None = None) -> Path | None:
    """A grid of small panels, one per metric (the first :data:`MAX_PANELS` of ``metrics``):
    each setting's mean against generation.

    Args:
        summary: rows of :func:`~autophagy.report.collect.summarise` (columns setting, metric,
            generation, mean, ...), bands already clipped.
        metrics: the metrics in page order.
        path: the PNG to write.
        settings: setting labels in legend order.
        styles: colour and dash per setting label.

    Returns:
        ``path``, or None (nothing written) below :data:`MIN_PANELS` metrics.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    shown = list(metrics)[:MAX_PANELS]
    if len(shown) < MIN_PANELS:
        return None
    rows = -(-len(shown) // COLUMNS)
    legend_rows = -(-len(settings) // 2)
    height = 2.1 * rows + 0.25 * legend_rows + 0.4
    fig = Figure(figsize=(10.0, height), dpi=100)
    fig.subplots_adjust(left=0.06, right=0.99, top=1 - 0.25 / height, bottom=(0.3 + 0.25 * legend_rows) / height, hspace=0.45, wspace=0.3)
    handles: dict[str, Any] = {}
    for k, metric in enumerate(shown):
        ax = fig.add_subplot(rows, COLUMNS, k + 1)
        part = summary[summary["metric"] == metric]
        for i, setting in enumerate(settings):
            mine = part[part["setting"] == setting].sort_values("generation")
            if mine.empty:
                continue
            style = _style(styles, setting, i)
            (line,) = ax.plot(mine["generation"].to_numpy(dtype=float), mine["mean"].to_numpy(dtype=float), color=style.colour,
                              linestyle=style.matplotlib_dash, linewidth=1.2)
            handles.setdefault(setting, line)
        ax.set_title(_plain(metric), fontsize=8)
        ax.tick_params(labelsize=6)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.grid(alpha=0.3)
    fig.legend(list(handles.values()), [_plain(s) for s in handles], loc="lower center", ncol=2, fontsize=7, frameon=False)
    fig.savefig(path)
    return path


def has_values(summary: Any, metric: str) -> bool:
    """Whether ``metric`` has a finite mean somewhere (an all-NaN metric gets no panel)."""
    values = summary.loc[summary["metric"] == metric, "mean"].to_numpy(dtype=float)
    return bool(np.isfinite(values).any())


__all__ = ["overview_png"]
