"""Metric-against-generation charts: the mean over repeats and its 95 % band per setting, with
optional theory curves drawn dashed, as a PNG (:func:`metric_png`) and as an interactive Plotly
figure (:func:`metric_plotly`).

matplotlib is used through :class:`matplotlib.figure.Figure` (no pyplot, so no GUI backend
and no global figure state); matplotlib and Plotly are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autophagy.report.style import Styles, _plain, _plotly_text, _rgba, _style

#: A theory curve per setting label: (generations, predicted values), both shape (T,).
TheoryCurves = Mapping[str, tuple[np.ndarray, np.ndarray]]


def _series(summary: Any, setting: str) -> tuple[np.ndarray, ...]:
    """(generation, mean, lo, hi, n_nan) of one setting, sorted by generation."""
    part = summary[summary["setting"] == setting].sort_values("generation")
    return tuple(part[c].to_numpy(dtype=float) for c in ("generation", "mean", "lo", "hi", "n_nan"))


def metric_png(
    summary: Any,
    metric: str,
    path: str | Path,
    settings: Sequence[str],
    theory: TheoryCurves | None = None,
    styles: Styles | None = None,
) -> Path:
    """Mean line and 95 % band per setting against generation, written as a PNG.

    Generations where some repeat gave NaN or ±inf (left out of the mean) are marked with a red
    ``x`` under the axis.

    Args:
        summary: Rows of :func:`~autophagy.report.collect.summarise` for this metric.
        metric: The metric name (y-axis label).
        path: The PNG to write.
        settings: Setting labels in legend order (fixes each setting's colour).
        theory: Predicted curves per setting label, drawn dashed.
        styles: Colour and dash per setting label; default the setting's colour, solid.

    Returns:
        ``path`` as a Path.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    entries = sum(1 for i, s in enumerate(settings) if np.any(summary["setting"] == s)) * (
        1 + (theory is not None and len(theory) > 0)
    )
    rows = (entries + 1) // 2  # the legend sits below the axes, outside the data, 2 columns
    height = 3.6 + 0.2 * rows
    fig = Figure(figsize=(6.4, height), dpi=110)
    fig.subplots_adjust(  # constrained layout: 2x slower
        left=0.13, right=0.97, top=1 - 0.36 / height, bottom=(0.55 + 0.2 * rows) / height
    )
    ax = fig.add_subplot()
    below_axis = blended_transform_factory(ax.transData, ax.transAxes)
    flagged = False
    for i, setting in enumerate(settings):
        gen, mean, lo, hi, n_nan = _series(summary, setting)
        if gen.size == 0:
            continue
        style = _style(styles, setting, i)
        ax.fill_between(gen, lo, hi, color=style.colour, alpha=0.2, linewidth=0)
        ax.plot(
            gen,
            mean,
            color=style.colour,
            linestyle=style.matplotlib_dash,
            marker=style.matplotlib_marker,
            markersize=3,
            label=_plain(setting),
        )
        if np.any(n_nan > 0):
            flagged = True
            ax.plot(
                gen[n_nan > 0],
                np.full(int(np.sum(n_nan > 0)), 0.02),
                "x",
                color="#d62728",
                transform=below_axis,
                clip_on=False,
            )
        if theory and setting in theory:
            t_gen, t_val = theory[setting]
            ax.plot(
                t_gen,
                t_val,
                linestyle="--",
                color=style.colour,
                linewidth=1.2,
                label=_plain(f"theory: {setting}"),
            )
    ax.set_xlabel("generation")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(_plain(metric))
    ax.set_title(
        _plain(metric) + ("  (x: generation with NaN/inf values)" if flagged else ""), fontsize=10
    )
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(
            fontsize=7,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.45 / (height - 0.55 - 0.2 * rows - 0.36) - 0.02),
            ncol=2,
            frameon=False,
        )
    path = Path(path)
    fig.savefig(path)
    return path


def _generation_step(summary: Any) -> int:
    """Whole-generation ticks, about ten of them at most (Plotly would add 1.5, 2.5 ...)."""
    last = float(np.nanmax(summary["generation"])) if len(summary) else 1.0
    return max(1, int(np.ceil(last / 10)))


def metric_plotly(
    summary: Any,
    metric: str,
    settings: Sequence[str],
    theory: TheoryCurves | None = None,
    styles: Styles | None = None,
) -> Any:
    """The interactive version of :func:`metric_png`: a Plotly figure (line + band per setting).

    The band is one filled trace (no legend entry, no hover) and the mean another, both in the
    setting's legend group; the mean's hover shows the band and the number of repeats left out
    as NaN or ±inf.

    Returns:
        A ``plotly.graph_objects.Figure``.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, setting in enumerate(settings):
        gen, mean, lo, hi, n_nan = _series(summary, setting)
        if gen.size == 0:
            continue
        style = _style(styles, setting, i)
        line = {"color": style.colour}
        if style.dash:  # solid is Plotly's default: left out, so undashed figures stay as they were
            line["dash"] = style.plotly_dash
        ok = np.isfinite(lo) & np.isfinite(hi)
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([gen[ok], gen[ok][::-1]]),
                y=np.concatenate([hi[ok], lo[ok][::-1]]),
                fill="toself",
                fillcolor=_rgba(style.colour, 0.2),
                mode="lines",  # Plotly's default for < 20 points adds stray markers
                line={"width": 0},
                hoverinfo="skip",
                legendgroup=setting,
                showlegend=False,
                name=_plotly_text(setting),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=gen,
                y=mean,
                customdata=np.stack([lo, hi, n_nan], axis=-1),
                hovertemplate=(
                    "generation %{x}<br>mean %{y:.4g}<br>95% band [%{customdata[0]:.4g}, "
                    "%{customdata[1]:.4g}]<br>NaN/inf repeats %{customdata[2]}"
                    "<extra>%{fullData.name}</extra>"
                ),
                mode="lines+markers",
                line=line,
                marker={
                    "size": np.where(n_nan > 0, 10, 5),
                    "symbol": np.where(n_nan > 0, "x", style.plotly_marker).tolist(),
                },
                legendgroup=setting,
                name=_plotly_text(setting),
            )
        )
        if theory and setting in theory:
            t_gen, t_val = theory[setting]
            fig.add_trace(
                go.Scatter(
                    x=t_gen,
                    y=t_val,
                    mode="lines",
                    line={"color": style.colour, "dash": "dash"},
                    legendgroup=setting,
                    name=_plotly_text(f"theory: {setting}"),
                )
            )
    entries = sum(1 for trace in fig.data if trace.showlegend is not False)
    fig.update_layout(
        title={"text": _plotly_text(metric)},
        xaxis_title="generation",
        xaxis={"tick0": 0, "dtick": _generation_step(summary)},
        yaxis_title=_plotly_text(metric),
        height=380 + 22 * ((entries + 1) // 2),
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        template="plotly_white",
        # below the plot area, outside the data, two columns' worth of rows
        legend={"font": {"size": 10}, "orientation": "h", "yanchor": "top", "y": -0.16, "x": 0},
    )
    return fig
