"""Text runs in a report (``data.kind`` in :data:`TEXT_KINDS`): sample rows are token ids,
decoded into clipped example texts (:func:`decode_row`, :func:`clip_text`, :class:`TextExamples`),
and the per-sample perplexities under the generation-1 model that a run saves, drawn as
overlaid histograms (:func:`perplexity_histogram_png`).

matplotlib is used through :class:`matplotlib.figure.Figure` (no pyplot, so no GUI backend
and no global figure state) and imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autophagy.report.collect import RunRecord, Setting
from autophagy.report.samples import _load
from autophagy.report.style import _plain, _wrapped

#: ``data.kind`` of the text sources (:mod:`autophagy.data.text`): sample rows are token ids.
TEXT_KINDS = frozenset({"grammar", "corpus"})

#: Example texts shown per snapshot, and the characters kept of each.
N_TEXTS = 5
TEXT_CHARS = 200

#: Per-sample perplexities under the generation-1 model, one file per generation (first repeat).
PERPLEXITY_ARTIFACT = "sample_perplexity"


def is_text_run(run: RunRecord) -> bool:
    """Whether ``run`` has text data (``data.kind`` in :data:`TEXT_KINDS`): its sample rows are
    token ids."""
    data = run.config.get("data")
    return isinstance(data, dict) and data.get("kind") in TEXT_KINDS


def decode_row(row: np.ndarray, source: Any) -> str | None:
    """One sample of token ids (L,) as text, or None when ``source`` is None or cannot decode it
    (non-integer ids, ids outside its vocabulary, a failing ``decode``)."""
    if source is None or not np.all(np.isfinite(row)):
        return None
    ids = np.rint(row).astype(np.int64)
    vocab = getattr(source, "vocab_size", None)
    if not np.array_equal(ids, row) or ids.min(initial=0) < 0 or (
        isinstance(vocab, int) and ids.max(initial=0) >= vocab
    ):
        return None
    try:
        return str(source.decode(ids))
    except Exception:  # a source at odds with the saved ids: show them instead
        return None


def ids_text(row: np.ndarray) -> str:
    """Token ids joined by spaces (the fallback when a sample cannot be decoded).

    >>> ids_text(np.array([3.0, 0.0, 12.0, np.nan]))
    '3 0 12 nan'
    """
    return " ".join(str(int(v)) if np.isfinite(v) and v == int(v) else f"{v:g}" for v in row)


def clip_text(text: str, limit: int = TEXT_CHARS) -> str:
    """``text`` on one line (line breaks as ``⏎``), cut at ``limit`` characters with ``…``.

    >>> clip_text("one\\ntwo", 80)
    'one⏎two'
    >>> clip_text("abcdef", 3)
    'abc…'
    """
    text = text.replace("\r\n", "\n").replace("\n", "⏎")
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True)
class TextExamples:
    """Example texts of one setting, not escaped yet.

    Attributes:
        label: The setting's label.
        title: The run (and seed) the texts come from: ``"run <id>, seed <seed>"``.
        note: Why token ids are shown instead of text, or None when every sample decoded.
        panels: (panel name, clipped texts) pairs: real, then the picked generations.
    """

    label: str
    title: str
    note: str | None
    panels: tuple[tuple[str, tuple[str, ...]], ...]


def _sample_perplexities(setting: Setting) -> tuple[RunRecord, dict[int, np.ndarray]] | None:
    """Per-sample perplexities (n,) of the generations :func:`shown_generations` picks, from the
    first run of ``setting`` that saved some; None when none did."""
    for run in setting.runs:
        folder = run.path / "samples" / PERPLEXITY_ARTIFACT
        gens = [int(p.stem[4:]) for p in folder.glob("gen-*.npy") if p.stem[4:].isdigit()]
        if gens:
            picked = shown_generations(gens)
            return run, {g: _load(folder / f"gen-{g:04d}.npy").reshape(-1) for g in picked}
    return None


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
        # matplotlib's stub leaves out array bins, which hist documents and takes
        ax.hist(x, bins=edges, weights=np.full(x.size, 1 / x.size), histtype="step",  # type: ignore[arg-type]
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
