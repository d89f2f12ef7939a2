"""Sample snapshots of a run: the samples it saved under ``samples/`` (real data, then the
first, middle and last generation), read back from the first run of a setting that has some,
and vector samples drawn as scatter plots (:func:`snapshot_png`, after :func:`project_2d` for
d > 2).

matplotlib is used through :class:`matplotlib.figure.Figure` (no pyplot, so no GUI backend
and no global figure state) and imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autophagy.exceptions import CorruptRunError
from autophagy.report.collect import RunRecord, Setting
from autophagy.report.style import _plain


def _first_middle_last(generations: Any) -> list[int]:
    """The first, middle and last of some generations, sorted, without repeats."""
    gens = sorted(int(g) for g in set(generations))
    return sorted({gens[0], gens[(len(gens) - 1) // 2], gens[-1]})  # the runner snapshots (G + 1) // 2


def _load(path: Path) -> np.ndarray:
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise CorruptRunError(f"cannot read {path}: {exc}".splitlines()[0]) from None
    return x.reshape(x.shape[0] if x.ndim else 1, -1) if x.ndim != 2 else x


def _run_title(label: str, run: RunRecord) -> str:
    return f"{label}: {_run_caption(run)}"


def _run_caption(run: RunRecord) -> str:
    seed = run.flat.get("seed")
    return f"run {run.run_id}" + ("" if seed is None else f", seed {seed}")


def _snapshot_samples(
    setting: Setting,
) -> tuple[RunRecord, np.ndarray | None, list[int], list[np.ndarray]] | None:
    """Real, first, middle and last generation samples of the first run that saved some.

    Returns:
        (run, real sample or None, generations picked, their samples), or None.
    """
    for run in setting.runs:
        folder = run.path / "samples"
        gens = sorted(int(p.stem[4:]) for p in folder.glob("gen-*.npy") if p.stem[4:].isdigit())
        if not gens:
            continue
        middle = min(gens, key=lambda g: (abs(g - (gens[0] + gens[-1]) / 2), g))
        picked = sorted({gens[0], middle, gens[-1]})
        real_path = folder / "real.npy"
        real = _load(real_path) if real_path.exists() else None
        generated = [_load(folder / f"gen-{g:04d}.npy") for g in picked]
        if any(x.shape[1] != generated[0].shape[1] for x in generated) or (
            real is not None and real.shape[1] != generated[0].shape[1]
        ):
            raise CorruptRunError(f"cannot read {folder}: samples of different dimensions")
        return run, real, picked, generated
    return None


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
