"""The admissibility phase diagram of :func:`autophagy.theory.phase_diagram` as a PNG
(:func:`phase_png`): n_e/n_r over the synthetic sample size n_s and the sampling bias λ.

matplotlib is used through :class:`matplotlib.figure.Figure` (no pyplot, so no GUI backend
and no global figure state) and imported inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


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
