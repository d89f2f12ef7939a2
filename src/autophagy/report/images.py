"""Image runs in a report: sample rows are flattened images plus a class label, drawn as image
grids (:func:`image_grid_png`, one row per class when labelled), and the class-frequency metrics
(``class_frequency_k``) gathered per class (:func:`class_frequencies`) and drawn as grouped
bars (:func:`class_histogram_png`).

matplotlib is used through :class:`matplotlib.figure.Figure` (no pyplot, so no GUI backend
and no global figure state) and imported inside the functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autophagy.report.samples import _first_middle_last
from autophagy.report.style import _plain, _wrapped

#: The class-frequency family (``class_frequency_k``; plain ``class_frequency`` is the NaN a failed
#: evaluation leaves): drawn as class histograms, not one chart per class.
_CLASS_FREQUENCY = re.compile(r"class_frequency(?:_\d+)?")


def class_frequencies(
    summary: Any, setting: str
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(mean, lo, hi) over repeats of ``class_frequency_k``, k = 0..K-1, at the first, middle and
    last generation of ``setting`` that recorded the family; ``{}`` when it recorded none.

    Each array has shape (K,); a class missing at a generation is NaN.
    """
    part = summary[summary["setting"] == setting]
    found = part["metric"].str.fullmatch(r"class_frequency_\d+")
    if not found.any():
        return {}
    classes = part.loc[found, "metric"].str.slice(len("class_frequency_")).astype(int)
    part = part[found].assign(k=classes)
    n_classes = int(part["k"].max()) + 1
    out = {}
    for generation in _first_middle_last(part["generation"]):
        rows = part[part["generation"] == generation].set_index("k").reindex(range(n_classes))
        out[generation] = tuple(rows[c].to_numpy(dtype=float) for c in ("mean", "lo", "hi"))
    return out


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
