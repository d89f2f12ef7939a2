"""The report's view of a web simulation (``web:``): who collapses first.

A web's metric rows carry a ``lineage`` column (0..L-1 for the lineages, -1 for pool-level rows;
see :mod:`autophagy.loops.web`). The ordinary charts show the mean over lineages (and the
pool-level curves: human share, synthetic age, pool quality); this module adds, per setting and
lineage metric, a **fan chart**: at every generation the quantiles of the metric across lineages
and repeats — the median, the 25–75 % and 10–90 % bands, and the extreme lineages as thin lines
— with the theory line (:func:`autophagy.theory.predict` of the lineage metric) dashed on top
and, in a web of several lineage groups, each group's median lineage as a line of its own.
A fan that widens means lineages diverge; its upper edge is the lineage that collapses first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autophagy.report.collect import BOOKKEEPING, Experiment, Setting
from autophagy.report.style import PALETTE, _plain

#: The quantile bands of a fan chart, outermost first: (low, high) levels.
BANDS = ((0.10, 0.90), (0.25, 0.75))

Theory = Callable[[dict[str, Any], str, np.ndarray], "np.ndarray | None"]


def is_web(experiment: Experiment) -> bool:
    """Whether the experiment's rows come from web simulations (some row has a lineage other than 0)."""
    metrics = experiment.metrics
    return "lineage" in metrics and bool((metrics["lineage"] != 0).any())


def lineage_quantiles(rows: Any) -> Any:
    """Per generation, quantiles of ``value`` across lineages and repeats.

    Args:
        rows: metric rows of one setting and one metric (columns generation, value), lineage rows only.

    Returns:
        A DataFrame indexed by generation with columns q10, q25, q50, q75, q90, min, max, n
        (finite values only).
    """
    import pandas as pd

    finite = rows[np.isfinite(rows["value"].to_numpy(dtype=float))]
    grouped = finite.groupby("generation")["value"]
    levels = sorted({q for band in BANDS for q in band} | {0.5})
    table = grouped.quantile(levels).unstack()
    table.columns = [f"q{round(100 * q):02d}" for q in table.columns]
    return pd.concat([table, grouped.min().rename("min"), grouped.max().rename("max"), grouped.size().rename("n")], axis=1)


def lineage_groups(config: dict[str, Any] | None) -> list[tuple[str, range]]:
    """A web config's lineage groups as (label, lineage numbers), in order: the label names the
    group's number and generator (``"group 1: ngram order 3"``)."""
    groups = ((config or {}).get("web") or {}).get("lineages") or []
    out, start = [], 0
    for i, group in enumerate(groups):
        count = int(group.get("count", 1))
        generator = dict(group.get("generator") or {})
        detail = next((f"{k} {generator[k]}" for k in ("order", "n_components", "bandwidth") if k in generator), "")
        stages = " + " + "+".join(str(s.get("kind")) for s in group.get("mitigation") or []) if group.get("mitigation") else ""
        out.append((f"group {i}: {generator.get('kind', '?')}{' ' + detail if detail else ''}{stages}", range(start, start + count)))
        start += count
    return out


def group_medians(rows: Any, groups: Sequence[tuple[str, range]]) -> list[tuple[str, Any]]:
    """Per group (when there are several), the median across its lineages per generation."""
    if len(groups) < 2:
        return []
    finite = rows[np.isfinite(rows["value"].to_numpy(dtype=float))]
    out = []
    for label, members in groups:
        mine = finite[finite["lineage"].isin(list(members))]
        if not mine.empty:
            out.append((label, mine.groupby("generation")["value"].median()))
    return out


def fan_png(
    quantiles: Any, metric: str, title: str, path: Path, theory: tuple[np.ndarray, np.ndarray] | None = None,
    medians: Sequence[tuple[str, Any]] = (),
) -> Path:
    """One fan chart (see the module docstring) as a PNG; ``medians``: (label, median per
    generation) of each lineage group, drawn as lines over the fan."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(6.4, 4.9 if medians else 4.0), dpi=110)
    fig.subplots_adjust(left=0.13, right=0.97, top=0.93 if medians else 0.91, bottom=0.29 if medians else 0.13)
    ax = fig.add_subplot()
    gen = quantiles.index.to_numpy(dtype=float)
    colour = PALETTE[0]
    for (lo, hi), alpha in zip(BANDS, (0.15, 0.3), strict=True):
        ax.fill_between(gen, quantiles[f"q{round(100 * lo):02d}"], quantiles[f"q{round(100 * hi):02d}"], color=colour, alpha=alpha, linewidth=0,
                        label=f"{round(100 * lo)}–{round(100 * hi)} % of lineages")
    ax.plot(gen, quantiles["q50"], color=colour, marker="o", markersize=3, label="median lineage")
    ax.plot(gen, quantiles["min"], color=colour, linewidth=0.6, linestyle=":", label="best / worst lineage")
    ax.plot(gen, quantiles["max"], color=colour, linewidth=0.6, linestyle=":")
    for k, (label, median) in enumerate(medians):
        ax.plot(median.index.to_numpy(dtype=float), median.to_numpy(dtype=float), color=PALETTE[(k + 1) % len(PALETTE)],
                linewidth=1.2, label=f"median, {label}")
    if theory is not None:
        ax.plot(theory[0], theory[1], color="#d62728", linestyle="--", linewidth=1.2, label="theory")
    ax.set_xlabel("generation")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(_plain(metric))
    ax.set_title(_plain(title), fontsize=10)
    ax.grid(alpha=0.3)
    if medians:  # below the axes: the group lines cross the whole fan
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    else:
        ax.legend(fontsize=7, loc="best")
    fig.savefig(path)
    return path


def lineage_figures(experiment: Experiment, folder: Path, theory: Theory | None, safe: Callable[[str], str]) -> list[tuple[str, Path]]:
    """Fan charts of every lineage metric of every setting, written to ``folder``.

    Returns:
        (caption, png) per chart, settings in order, metrics in the order they first appear.
    """
    metrics = experiment.metrics
    if not is_web(experiment):
        return []
    out: list[tuple[str, Path]] = []
    lineage_rows = metrics[metrics["lineage"] >= 0]
    names = [m for m in dict.fromkeys(lineage_rows["metric"]) if m not in BOOKKEEPING]
    for i, setting in enumerate(experiment.settings):
        mine = lineage_rows[lineage_rows["setting"] == setting.label]
        for j, metric in enumerate(names):
            rows = mine[mine["metric"] == metric]
            if rows.empty:
                continue
            quantiles = lineage_quantiles(rows)
            if quantiles.empty:
                continue
            title = f"{setting.label}: {metric} across lineages"
            png = folder / f"lineages-{i + 1:02d}-{j + 1:02d}-{safe(metric)[:40]}.png"
            medians = group_medians(rows, lineage_groups(setting.runs[0].config if setting.runs else None))
            out.append((title, fan_png(quantiles, metric, title, png, _theory(theory, setting, metric, quantiles.index.to_numpy()), medians)))
    return out


def _theory(theory: Theory | None, setting: Setting, metric: str, generations: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The predicted curve of a lineage metric for the setting's first run, or None."""
    if theory is None or not setting.runs or setting.runs[0].config is None:
        return None
    gen = np.asarray(generations, dtype=np.int64)
    values = theory(setting.runs[0].config, metric, gen)
    return None if values is None else (gen.astype(float), np.asarray(values, dtype=float))


def lineages_intro(n: int) -> str:
    """The HTML intro of the lineages section."""
    return (
        f"{n} fan chart(s). Every lineage of the web, pooled over repeats: the median lineage, the "
        "25–75 % and 10–90 % bands across lineages and the best and worst lineage (dotted), per "
        "generation; the dashed red line is the theory where it exists "
        "(<code>autophagy.theory.web_fixed_point</code>). A widening fan means the lineages "
        "diverge; its upper edge is the lineage that collapses first."
    )


__all__: Sequence[str] = ["fan_png", "group_medians", "is_web", "lineage_figures", "lineage_groups", "lineage_quantiles"]
