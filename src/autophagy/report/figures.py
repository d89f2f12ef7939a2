"""Figures of a report: metric-vs-generation charts (PNG and Plotly), sample snapshots (scatter
plots, or image grids for image data), class histograms and, for text, histograms of the
per-sample perplexity under the generation-1 model.

matplotlib is used through :class:`matplotlib.figure.Figure` (no pyplot, so no GUI backend
and no global figure state); matplotlib and Plotly are imported inside the functions.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: One colour per setting (matplotlib's tab10), shared by the PNG and the Plotly charts.
PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

#: Line dashes, solid first, as (Plotly ``line.dash``, matplotlib ``linestyle``) pairs.
DASHES: tuple[tuple[str, Any], ...] = (
    ("solid", "-"),
    ("dash", (0, (5, 3))),
    ("dot", (0, (1, 2))),
    ("dashdot", (0, (5, 2, 1, 2))),
    ("longdash", (0, (10, 3))),
    ("longdashdot", (0, (10, 3, 1, 3))),
)

#: A theory curve per setting label: (generations, predicted values), both shape (T,).
TheoryCurves = Mapping[str, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class LineStyle:
    """How one setting's line and band are drawn.

    Attributes:
        colour: A ``#rrggbb`` colour.
        dash: Index into :data:`DASHES` (wrapping around); 0 is solid.
    """

    colour: str
    dash: int = 0

    @property
    def plotly_dash(self) -> str:
        """The Plotly ``line.dash`` name."""
        return DASHES[self.dash % len(DASHES)][0]

    @property
    def matplotlib_dash(self) -> Any:
        """The matplotlib ``linestyle``."""
        return DASHES[self.dash % len(DASHES)][1]


#: A line style per setting label (settings not in it fall back to :func:`colour`, solid).
Styles = Mapping[str, LineStyle]


def colour(index: int) -> str:
    """The colour of the ``index``-th setting."""
    return PALETTE[index % len(PALETTE)]


def _style(styles: Styles | None, setting: str, index: int) -> LineStyle:
    """The style of the ``index``-th setting: from ``styles``, else the ``index``-th colour."""
    if styles is not None and setting in styles:
        return styles[setting]
    return LineStyle(colour(index))


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _plain(text: str) -> str:
    """Text for matplotlib, shown literally (a ``$`` would otherwise start mathtext)."""
    return text.replace("$", r"\$")


def _wrapped(text: str, width_in: float, fontsize: float) -> str:
    """``text`` broken into lines that fit ``width_in`` inches (existing line breaks kept)."""
    import textwrap

    chars = max(20, int(width_in * 144 / fontsize))  # ~0.5 em per character
    return "\n".join(textwrap.fill(line, chars) or line for line in text.split("\n"))


def _plotly_text(text: str) -> str:
    """Text for Plotly, shown literally (Plotly reads a subset of HTML tags in labels)."""
    return html.escape(text, quote=False)


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

    Generations where some repeat gave NaN are marked with a red ``x`` under the axis.

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

    fig = Figure(figsize=(6.4, 4.0), dpi=110)
    fig.subplots_adjust(
        left=0.13, right=0.97, top=0.91, bottom=0.13
    )  # constrained layout: 2x slower
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
            marker="o",
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
        _plain(metric) + ("  (x: generation with NaN values)" if flagged else ""), fontsize=10
    )
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
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
    setting's legend group; the mean's hover shows the band and the number of NaN repeats.

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
                    "%{customdata[1]:.4g}]<br>NaN repeats %{customdata[2]}"
                    "<extra>%{fullData.name}</extra>"
                ),
                mode="lines+markers",
                line=line,
                marker={
                    "size": np.where(n_nan > 0, 10, 5),
                    "symbol": np.where(n_nan > 0, "x", "circle").tolist(),
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
    fig.update_layout(
        title={"text": _plotly_text(metric)},
        xaxis_title="generation",
        xaxis={"tick0": 0, "dtick": _generation_step(summary)},
        yaxis_title=_plotly_text(metric),
        height=420,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        template="plotly_white",
        legend={"font": {"size": 10}},
    )
    return fig


def project_2d(
    real: np.ndarray | None, samples: Sequence[np.ndarray]
) -> tuple[list[np.ndarray], str]:
    """Bring samples to two coordinates for a scatter plot.

    With ``d <= 2`` the first two coordinates are kept. With ``d > 2`` every sample is
    projected onto the two leading principal axes of ``real`` (of the first sample when
    ``real`` is None), centred at that sample's mean.

    Args:
        real: Reference sample of shape (m, d), or None.
        samples: Further samples, each of shape (m_i, d).

    Returns:
        The projected arrays (``real`` first when given), each of shape (m_i, min(d, 2)), and
        a note for the title saying which projection was used ("" when none).
    """
    arrays = ([real] if real is not None else []) + list(samples)
    arrays = [np.asarray(a, dtype=float).reshape(len(a), -1) for a in arrays]
    d = arrays[0].shape[1]
    if d <= 2:
        return arrays, ""
    basis_of = arrays[0][np.all(np.isfinite(arrays[0]), axis=1)]
    centre = basis_of.mean(axis=0)
    # rows of vt are the principal axes, by decreasing variance
    _, _, vt = np.linalg.svd(basis_of - centre, full_matrices=False)
    axes = vt[:2].T  # (d, 2)
    which = "real" if real is not None else "first generated"
    note = f"d={d}: projected onto the two leading principal axes of the {which} sample"
    return [(a - centre) @ axes for a in arrays], note


def snapshot_png(panels: Sequence[tuple[str, np.ndarray]], title: str, path: str | Path) -> Path:
    """Scatter panels side by side with equal axis limits, in the look of the MAD figures.

    Args:
        panels: (panel title, sample of shape (m, 1) or (m, 2)) pairs; non-finite rows are
            dropped. A one-dimensional sample is drawn as a histogram instead.
        title: The figure title.
        path: The PNG to write.

    Returns:
        ``path`` as a Path.
    """
    from matplotlib.figure import Figure

    finite = [x[np.all(np.isfinite(x), axis=1)] for _, x in panels]
    stacked = np.concatenate(finite) if finite else np.empty((0, 2))
    if len(stacked):
        low, high = stacked.min(axis=0), stacked.max(axis=0)
        pad = 0.05 * np.maximum(high - low, 1e-9)
        low, high = low - pad, high + pad
    else:
        low, high = np.full(2, -1.0), np.full(2, 1.0)
    fig = Figure(figsize=(2.6 * len(panels), 3.2), dpi=110)
    fig.subplots_adjust(left=0.04, right=0.99, top=0.76, bottom=0.08, wspace=0.2)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for i, (ax, (name, _), x) in enumerate(zip(axes, panels, finite, strict=True)):
        dot = "#444444" if i == 0 and name == "real" else "#1f4e9c"
        if x.shape[1] == 1:
            ax.hist(x[:, 0], bins=np.linspace(low[0], high[0], 41), color=dot, alpha=0.6)
            ax.set_xlim(low[0], high[0])
        else:
            ax.scatter(x[:, 0], x[:, 1], s=4, alpha=0.35, color=dot, linewidths=0)
            ax.set_xlim(low[0], high[0])
            ax.set_ylim(low[1], high[1])
            ax.set_box_aspect(1)
        dropped = len(panels[i][1]) - len(x)
        ax.set_title(_plain(name) + (f" ({dropped} non-finite)" if dropped else ""), fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle(_plain(title), fontsize=9)
    path = Path(path)
    fig.savefig(path)
    return path


#: Up to this many classes, image grids give each class its own row.
MAX_CLASS_ROWS = 16


def image_mosaic(
    rows: np.ndarray,
    image_shape: tuple[int, int, int],
    n_rows: int,
    n_cols: int,
    *,
    by_class: bool = False,
) -> np.ndarray:
    """Tile sample rows (flattened images plus a label) into one RGBA picture.

    Images are separated by a transparent pixel; cells without an image stay transparent.

    Args:
        rows: Samples of shape (m, C·H·W + 1): channel-major pixels in [0, 1] (clipped; NaN
            drawn black), then the class label (-1: unlabelled).
        image_shape: (C, H, W) with C in {1, 3}; one channel is drawn grey.
        n_rows, n_cols: The grid size.
        by_class: Row k holds the first ``n_cols`` images labelled k (a class with no image
            leaves its row empty). Otherwise the first ``n_rows · n_cols`` images fill the
            grid row by row, stably sorted by label when every label is >= 0.

    Returns:
        Array of shape (n_rows·(H+1) - 1, n_cols·(W+1) - 1, 4), float64 in [0, 1].
    """
    c, h, w = image_shape
    rows = np.asarray(rows, dtype=float)
    images = np.clip(np.nan_to_num(rows[:, :-1], nan=0.0), 0.0, 1.0).reshape(len(rows), c, h, w)
    labels = rows[:, -1]
    rgb = np.repeat(images, 3, axis=1) if c == 1 else images
    cells = np.full((n_rows, n_cols), -1, dtype=np.int64)  # index into ``rows``, -1: empty
    if by_class:
        for k in range(n_rows):
            picked = np.flatnonzero(labels == k)[:n_cols]
            cells[k, : len(picked)] = picked
    else:
        order = np.argsort(labels, kind="stable") if np.all(labels >= 0) else np.arange(len(rows))
        picked = order[: n_rows * n_cols]
        cells.reshape(-1)[: len(picked)] = picked
    mosaic = np.zeros((n_rows * (h + 1) - 1, n_cols * (w + 1) - 1, 4))
    for (i, j), index in np.ndenumerate(cells):
        if index >= 0:
            top, left = i * (h + 1), j * (w + 1)
            mosaic[top : top + h, left : left + w, :3] = rgb[index].transpose(1, 2, 0)
            mosaic[top : top + h, left : left + w, 3] = 1.0
    return mosaic


def image_grid_png(
    panels: Sequence[tuple[str, np.ndarray]],
    image_shape: tuple[int, int, int],
    title: str,
    path: str | Path,
    *,
    n_cols: int = 8,
) -> Path:
    """Image samples side by side, one grid per panel (the image version of :func:`snapshot_png`).

    When some panel's images all carry a label and there are at most :data:`MAX_CLASS_ROWS`
    classes, every panel gets one row per class (unlabelled panels fill the same number of
    rows in order), so a class the generator stopped drawing shows up as a short row.
    Otherwise each panel is an ``n_cols`` × ``n_cols`` grid.

    Args:
        panels: (panel title, samples of shape (m, C·H·W + 1)) pairs, see :func:`image_mosaic`.
        image_shape: (C, H, W), C in {1, 3}.
        title: The figure title.
        path: The PNG to write.
        n_cols: Images per grid row.

    Returns:
        ``path`` as a Path.
    """
    from matplotlib.figure import Figure

    labelled = [len(x) > 0 and bool(np.all(x[:, -1] >= 0)) for _, x in panels]
    labels = [x[:, -1] for (_, x), ok in zip(panels, labelled, strict=True) if ok]
    n_classes = max((int(np.max(y)) + 1 for y in labels), default=0)
    by_class = 0 < n_classes <= MAX_CLASS_ROWS
    n_rows = n_classes if by_class else n_cols
    mosaics = [
        image_mosaic(x, image_shape, n_rows, n_cols, by_class=by_class and ok)
        for (_, x), ok in zip(panels, labelled, strict=True)
    ]
    height, width = mosaics[0].shape[:2]
    dpi, gap = 110, 0.08
    panel_w = max(2.4, 1.1 * width / dpi)  # at least one screen pixel per image pixel
    panel_h = panel_w * height / width
    # margins in inches (left for class ticks, top for the titles), sized so no slack is left
    left, right, bottom = 0.4, 0.1, 0.1
    fig_w = left + right + panel_w * (len(panels) + gap * (len(panels) - 1))
    title = _wrapped(_plain(title), fig_w, 9)
    top = 0.5 + 0.16 * title.count("\n")
    fig_h = bottom + top + panel_h
    fig = Figure(figsize=(fig_w, fig_h), dpi=dpi)
    fig.subplots_adjust(
        left=left / fig_w, right=1 - right / fig_w, bottom=bottom / fig_h, top=1 - top / fig_h,
        wspace=gap,
    )
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    h = image_shape[1]
    for i, (ax, (name, x), mosaic) in enumerate(zip(axes, panels, mosaics, strict=True)):
        ax.imshow(mosaic, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if by_class and i == 0:
            centres = np.arange(n_rows) * (h + 1) + (h - 1) / 2
            ax.set_yticks(centres, [str(k) for k in range(n_rows)], fontsize=6)
            ax.tick_params(length=0, pad=1)
            ax.set_ylabel("class", fontsize=7)
        bad = int(np.sum(~np.all(np.isfinite(x), axis=1)))
        note = " (unlabelled)" if by_class and not labelled[i] else ""
        note += f" ({bad} non-finite)" if bad else ""
        ax.set_title(_plain(name) + note, fontsize=8)
    fig.suptitle(title, fontsize=9, y=1 - 0.08 / fig_h, va="top")
    path = Path(path)
    fig.savefig(path)
    return path


def class_histogram_png(
    frequencies: Mapping[int, tuple[np.ndarray, np.ndarray, np.ndarray]],
    title: str,
    path: str | Path,
) -> Path:
    """Share of generated images per class at a few generations, as grouped bars.

    A dashed line marks the uniform share 1/K; bars far above it next to bars near zero mean
    the generator has collapsed onto a few classes.

    Args:
        frequencies: Per generation, (mean, lo, hi) over repeats of the share of each class,
            each of shape (K,) (K the same for every generation); the band is drawn as an
            error bar where it is finite.
        title: The figure title.
        path: The PNG to write.

    Returns:
        ``path`` as a Path.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    n_classes = len(next(iter(frequencies.values()))[0])
    generations = sorted(frequencies)
    shades = colormaps["Blues"](np.linspace(0.4, 0.95, len(generations)))  # later: darker
    width = 0.8 / len(generations)
    fig_w = max(6.4, 0.45 * n_classes + 1.5)
    title = _wrapped(_plain(title), fig_w - 0.5, 10)
    top = 0.4 + 0.17 * title.count("\n")  # inches above the axes
    fig_h = 3.2 + top
    fig = Figure(figsize=(fig_w, fig_h), dpi=110)
    fig.subplots_adjust(left=0.7 / fig_w, right=0.98, top=1 - top / fig_h, bottom=0.5 / fig_h)
    ax = fig.add_subplot()
    classes = np.arange(n_classes)
    for i, generation in enumerate(generations):
        mean, lo, hi = (np.asarray(a, dtype=float) for a in frequencies[generation])
        spread = np.vstack([mean - lo, hi - mean])
        ax.bar(
            classes + (i - (len(generations) - 1) / 2) * width,
            mean,
            width,
            color=shades[i],
            yerr=np.where(np.isfinite(spread), spread, 0.0),
            error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "#555555"},
            label=f"generation {generation}",
        )
    uniform = f"uniform 1/{n_classes}"
    ax.axhline(1 / n_classes, color="#444444", linestyle="--", linewidth=1.0, label=uniform)
    ax.set_xticks(classes, [str(k) for k in classes], fontsize=8)
    ax.set_xlabel("class (feature classifier)")
    ax.set_ylabel("share of generated images")
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    path = Path(path)
    fig.savefig(path)
    return path


def phase_png(diagram: Any, path: Path, *, mark_bias: float | None = None) -> Path:
    """The admissibility phase diagram (MAD figures 11-12): n_e/n_r over n_s × λ.

    Colour is n_e/n_r on a diverging scale centred at 1 (blue: admissible, synthetic data acts
    like extra real data; red: it displaces real data); the black contour n_e/n_r = 1 bounds
    the admissible region, and each cell prints its value. n_s = 0 is left out (log axis).

    Args:
        diagram: a :class:`autophagy.theory.PhaseDiagram`.
        path: the PNG to write.
        mark_bias: a λ row to outline (the one asked about), if any.

    Returns:
        ``path``.
    """
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure

    keep = np.asarray(diagram.n_synthetic) > 0
    n_s = np.asarray(diagram.n_synthetic, dtype=float)[keep]
    ratio = np.asarray(diagram.ratio)[:, keep]
    biases = np.asarray(diagram.biases, dtype=float)
    log_x = np.log(n_s)
    gaps = np.diff(log_x) if len(log_x) > 1 else np.array([1.0])
    x_edges = np.exp(np.concatenate([[log_x[0] - gaps[0] / 2], log_x[:-1] + gaps / 2, [log_x[-1] + gaps[-1] / 2]]))
    y_edges = np.arange(len(biases) + 1) - 0.5
    fig = Figure(figsize=(7.5, 4.2), dpi=120)
    ax = fig.add_subplot()
    top = max(2.0, float(np.nanmax(ratio)))
    mesh = ax.pcolormesh(x_edges, y_edges, ratio, cmap="RdBu", norm=TwoSlopeNorm(vmin=0.0, vcenter=1.0, vmax=top))
    if ratio.shape[0] > 1 and ratio.shape[1] > 1 and np.nanmin(ratio) < 1.0 < np.nanmax(ratio):
        ax.contour(n_s, np.arange(len(biases)), ratio, levels=[1.0], colors="black", linewidths=1.5)
    for i in range(ratio.shape[0]):
        for j in range(ratio.shape[1]):
            ax.text(n_s[j], i, f"{ratio[i, j]:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if abs(ratio[i, j] - 1.0) > 0.6 else "black")
    if mark_bias is not None and np.any(np.isclose(biases, mark_bias)):
        row = int(np.argmin(np.abs(biases - mark_bias)))
        ax.axhline(row - 0.5, color="black", linewidth=0.8, linestyle="--")
        ax.axhline(row + 0.5, color="black", linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    ax.set_yticks(np.arange(len(biases)), [f"{b:g}" for b in biases])
    ax.set_xlabel("synthetic samples per generation n_s")
    ax.set_ylabel("sampling bias λ")
    ax.set_title(f"n_e / n_r of the fresh-data loop's limit (n_r = {diagram.n_real}, d = {diagram.dim})", fontsize=10)
    fig.colorbar(mesh, ax=ax, label="n_e / n_r   (≥ 1: admissible)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


#: Metrics where smaller is better (the "best value of a swept key" figure uses these).
LOWER_IS_BETTER = frozenset(
    {"test_error", "test_error_real", "gaussian_w2", "frechet", "mmd", "sliced_wasserstein", "mean_sq_error", "param_error"}
)


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


#: Up to this many generations, :func:`perplexity_histogram_png` draws every one.
MAX_HISTOGRAMS = 10

#: Beyond :data:`MAX_HISTOGRAMS`, about this many generations are drawn, evenly spaced.
N_HISTOGRAMS = 8


def shown_generations(generations: Sequence[int]) -> list[int]:
    """The generations a perplexity-histogram figure draws: all of them when there are at most
    :data:`MAX_HISTOGRAMS`, else :data:`N_HISTOGRAMS` evenly spaced ones, first and last included.

    >>> shown_generations([3, 1, 2])
    [1, 2, 3]
    >>> shown_generations(range(1, 21))
    [1, 4, 6, 9, 12, 15, 17, 20]
    """
    gens = sorted({int(g) for g in generations})
    if len(gens) <= MAX_HISTOGRAMS:
        return gens
    picked = np.rint(np.linspace(0, len(gens) - 1, N_HISTOGRAMS)).astype(np.int64)
    return [gens[i] for i in sorted(set(picked.tolist()))]


def perplexity_histogram_png(
    per_generation: Mapping[int, np.ndarray], title: str, path: str | Path, *, bins: int = 40
) -> Path:
    """Per-sample perplexities of each generation's text under the generation-1 model, as
    overlaid step histograms on a log-perplexity axis (Shumailov et al. 2024, fig. 1b-c).

    Generations go from light to dark; all share one set of bins, equal-width in
    log-perplexity. Each histogram shows the share of that generation's samples per bin, so
    generations with different sample counts compare directly; a triangle on the top edge marks
    each generation's median. A collapsing loop moves the mass toward low perplexity (the model
    keeps what it found likely) while a thin tail of high-perplexity samples appears.
    Generations beyond :data:`MAX_HISTOGRAMS` are thinned by :func:`shown_generations`.

    Args:
        per_generation: Per generation, perplexities of shape (n,) (n may differ between
            generations); non-finite and non-positive values are left out and counted in the
            legend.
        title: The figure title.
        path: The PNG to write.
        bins: The number of shared bins.

    Returns:
        ``path`` as a Path.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter
    from matplotlib.transforms import blended_transform_factory

    generations = shown_generations(list(per_generation))
    values = {g: np.asarray(per_generation[g], dtype=float).reshape(-1) for g in generations}
    kept = {g: x[np.isfinite(x) & (x > 0)] for g, x in values.items()}
    logs = np.concatenate([np.log10(x) for x in kept.values()] + [np.empty(0)])
    low, high = (float(logs.min()), float(logs.max())) if logs.size else (0.0, 1.0)
    if high - low < 1e-6:  # one value everywhere: a narrow window around it
        low, high = low - 0.05, high + 0.05
    edges = 10 ** np.linspace(low, high, bins + 1)
    shades = colormaps["viridis_r"](np.linspace(0.1, 0.95, len(generations)))  # later: darker

    fig_w = 6.8
    title = _wrapped(_plain(title), fig_w - 0.5, 10)
    top = 0.4 + 0.17 * title.count("\n")  # inches above the axes
    fig_h = 3.6 + top
    fig = Figure(figsize=(fig_w, fig_h), dpi=110)
    fig.subplots_adjust(left=0.75 / fig_w, right=0.98, top=1 - top / fig_h, bottom=0.55 / fig_h)
    ax = fig.add_subplot()
    top_edge = blended_transform_factory(ax.transData, ax.transAxes)
    for i, generation in enumerate(generations):
        x = kept[generation]
        label = f"generation {generation}"
        if x.size:
            label += f" (median {np.median(x):.3g})"
        dropped = values[generation].size - x.size
        if dropped:
            label += f", {dropped} non-finite"
        if x.size == 0:
            ax.plot([], [], color=shades[i], label=label)
            continue
        ax.hist(x, bins=edges, weights=np.full(x.size, 1 / x.size), histtype="step",
                linewidth=1.4, color=shades[i], label=label)
        ax.plot(
            float(np.median(x)), 1.0, "v", color=shades[i], markersize=6,
            markeredgecolor="#333333", markeredgewidth=0.4, transform=top_edge, clip_on=False,
        )
    ax.set_xscale("log")
    ax.set_xlim(edges[0], edges[-1])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 10, 100, not 10^1, 10^2
    ax.set_xlabel("perplexity under the generation-1 model (log scale)")
    ax.set_ylabel("share of samples")
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=10, pad=9)  # clear of the median triangles
    ax.grid(alpha=0.3)
    if generations:
        ax.legend(fontsize=7, loc="best")
    path = Path(path)
    fig.savefig(path)
    return path
