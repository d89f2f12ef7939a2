"""Figures across a swept numeric config key (one taking >= 3 values over an experiment's
settings): which ones a report draws (:func:`_sweep_figures`), the metric against the key
(:func:`sweep_png`, log-log) and, for the metrics in :data:`LOWER_IS_BETTER`, the best value of
the key per generation (:func:`best_key_png`).

matplotlib is used through :class:`matplotlib.figure.Figure` (no pyplot, so no GUI backend
and no global figure state) and imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autophagy.report.collect import Experiment, format_value, metric_order
from autophagy.report.markup import safe_name
from autophagy.report.samples import _first_middle_last
from autophagy.report.style import _plain, colour

#: Metrics where smaller is better (the "best value of a swept key" figure uses these).
LOWER_IS_BETTER = frozenset(
    {"test_error", "test_error_real", "gaussian_w2", "frechet", "mmd", "sliced_wasserstein", "mean_sq_error", "param_error"}
)


def _sweep_figures(experiment: Experiment, summary: Any, figures: Path) -> list[tuple[str, Path]]:
    """Figures across a swept numeric key (>= 3 values): the metric against the key (log-log,
    first/middle/last generation) and, for lower-is-better metrics, the best key per generation.
    Settings that differ in other keys are drawn as separate groups."""
    import pandas as pd

    out: list[tuple[str, Path]] = []
    if summary.empty:
        return out
    shown = _first_middle_last(summary["generation"])
    metrics = [m for m in metric_order(summary["metric"]) if m in LOWER_IS_BETTER]
    for k_index, key in enumerate(experiment.varying):
        values = [s.values.get(key) for s in experiment.settings]
        if len({v for v in values if v is not None}) < 3 or not all(_is_number(v) for v in values):
            continue
        others = [k for k in experiment.varying if k != key]
        groups = {s.label: ", ".join(f"{k}={format_value(s.values[k])}" for k in others) for s in experiment.settings}
        xs = {s.label: float(s.values[key]) for s in experiment.settings}
        for m_index, metric in enumerate(metrics):
            part = summary[summary["metric"] == metric]
            points = pd.DataFrame(
                {
                    "group": part["setting"].map(groups),
                    "x": part["setting"].map(xs),
                    "generation": part["generation"],
                    "mean": part["mean"],
                    "lo": part["lo"],
                    "hi": part["hi"],
                }
            )
            stem = f"sweep-{k_index + 1:02d}-{m_index + 1:02d}-{safe_name(metric)[:30]}"
            png = sweep_png(points, metric, key, figures / f"{stem}.png", generations=shown)
            out.append((f"{metric} against {key}", png))
            png = best_key_png(points, metric, key, figures / f"{stem}-best.png")
            out.append((f"{key} minimising {metric}, per generation", png))
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def sweep_png(
    points: Any, metric: str, key: str, path: Path, *, generations: Sequence[int]
) -> Path:
    """``metric`` against a swept numeric config key, one line per (group, generation), log-log.

    The scaling-law view (Dohmatob et al. 2024, fig. 3-4): e.g. the test error against the
    downstream training size T = ``eval.n_samples`` at the first and last generations.

    Args:
        points: DataFrame with columns group, x, generation, mean, lo, hi (one metric).
        metric: the metric's name (axis label).
        key: the swept key (axis label).
        path: the PNG to write.
        generations: which generations to draw.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.2), dpi=120)
    ax = fig.add_subplot()
    lines = 0
    for g_index, (group, part) in enumerate(points.groupby("group", sort=False)):
        for k, generation in enumerate(generations):
            row = part[part["generation"] == generation].sort_values("x")
            if row.empty:
                continue
            label = f"generation {generation}" + (f", {group}" if group else "")
            colour_ = colour(g_index * len(generations) + k)
            x, mean = row["x"].to_numpy(float), row["mean"].to_numpy(float)
            ax.plot(x, mean, marker="o", color=colour_, label=_plain(label))
            ax.fill_between(x, row["lo"].to_numpy(float), row["hi"].to_numpy(float), color=colour_, alpha=0.15)
            lines += 1
    positive = points["mean"].to_numpy(float)
    if np.all(points["x"].to_numpy(float) > 0):
        ax.set_xscale("log")
    if positive.size and np.all(positive > 0):
        ax.set_yscale("log")
    ax.set_xlabel(_plain(key))
    ax.set_ylabel(_plain(metric))
    ax.set_title(_plain(f"{metric} against {key}"), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if lines:
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def best_key_png(points: Any, metric: str, key: str, path: Path) -> Path:
    """Per generation, the value of the swept ``key`` with the smallest mean ``metric``.

    The optimal-regularisation view (Dohmatob et al. 2024, §5): with ``key`` =
    ``eval.downstream_ridge`` it draws the best ridge parameter against the number of fake
    generations the data went through.

    Args:
        points: DataFrame with columns group, x, generation, mean (one metric).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 3.8), dpi=120)
    ax = fig.add_subplot()
    for g_index, (group, part) in enumerate(points.groupby("group", sort=False)):
        best = part.loc[part.groupby("generation")["mean"].idxmin()].sort_values("generation")
        ax.plot(best["generation"], best["x"], marker="o", color=colour(g_index), label=_plain(group or "best"))
    if np.all(points["x"].to_numpy(float) > 0):
        ax.set_yscale("log")
    ax.set_xlabel("generation")
    ax.set_ylabel(_plain(f"best {key}"))
    ax.set_title(_plain(f"{key} minimising {metric}, per generation"), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
