"""How a comparison forms its lines so that they cannot mislead.

- **Split, unless asked to pool.** Runs of different experiments (``name``) or data kinds
  (``data.kind``) are kept apart (:func:`split_keys`): pooling a 10-generation Gaussian
  experiment with a 30-generation text one into one "loop.kind=fresh" line compares nothing.
- **Common generations.** A line averages only the generations every one of its repeats
  reached (:func:`common_generations`), so it never jumps where shorter runs drop out.
- **Few seeds, no band.** A group with fewer than :data:`MIN_SEEDS` repeats is drawn one line
  per repeat, without a band (:func:`single_lines`): a t-band over 2 seeds says little.

Degenerate values (NaN, ±inf) are left out of the means and counted by
:func:`~autophagy.report.collect.summarise`; bands are clipped to the metric's valid range by
:func:`~autophagy.report.metric_info.clip_bands`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autophagy.report.collect import RunRecord, _hashable

#: The keys a comparison splits by unless told to pool.
SPLIT_KEYS: tuple[str, ...] = ("name", "data.kind")

#: Below this many repeats a group is drawn one line per repeat, without a band.
MIN_SEEDS = 3


def split_keys(runs: Sequence[RunRecord], by: Sequence[str], pool: bool) -> list[str]:
    """The keys of :data:`SPLIT_KEYS` not in ``by`` whose value differs between ``runs`` (the
    runs with metrics); none when ``pool``."""
    if pool:
        return []
    values = [{**run.flat, "name": run.name} for run in runs]
    return [
        key
        for key in SPLIT_KEYS
        if key not in by and len({_hashable(v.get(key)) for v in values}) > 1
    ]


def common_generations(tidy: Any) -> tuple[Any, dict[str, tuple[int, int]]]:
    """Drop each group's generations that some of its repeats did not reach.

    Args:
        tidy: Metric rows with columns setting (the group), path, seed, generation, ...

    Returns:
        (the kept rows, {group: (last common generation, last generation of its longest
        repeat)} for each group that lost generations).
    """
    if not len(tidy):
        return tidy, {}
    reached = tidy.groupby(["setting", "path", "seed"])["generation"].max()
    per_group = reached.groupby(level="setting").agg(["min", "max"])
    cut = per_group["min"]
    keep = tidy["generation"] <= tidy["setting"].map(cut)
    truncated = {
        str(setting): (int(row["min"]), int(row["max"]))
        for setting, row in per_group.iterrows()
        if row["min"] < row["max"]
    }
    return tidy[keep], truncated


def single_lines(tidy: Any, min_seeds: int = MIN_SEEDS) -> tuple[Any, dict[str, list[str]]]:
    """A ``line`` column: the group label, or, in a group of fewer than ``min_seeds`` repeats,
    one label per repeat (``"<group> · seed 3"``; the run id is added where two runs of the
    group share a seed).

    Returns:
        (``tidy`` with ``line`` added, {group: its line labels} for every group in ``tidy``).
    """
    tidy = tidy.assign(line=tidy["setting"])
    lines: dict[str, list[str]] = {}
    for setting, part in tidy.groupby("setting", sort=False):
        repeats = part[["path", "run", "seed"]].drop_duplicates()
        if len(repeats) >= min_seeds:
            lines[str(setting)] = [str(setting)]
            continue
        clash = repeats["seed"].duplicated(keep=False)
        names = {}
        for (path, run, seed), twin in zip(
            repeats.itertuples(index=False, name=None), clash, strict=True
        ):
            names[(path, seed)] = f"{setting} · seed {seed}" + (f" ({run})" if twin else "")
        mine = tidy["setting"] == setting
        tidy.loc[mine, "line"] = [
            names[(p, s)]
            for p, s in zip(tidy.loc[mine, "path"], tidy.loc[mine, "seed"], strict=True)
        ]
        lines[str(setting)] = sorted(set(names.values()), key=list(names.values()).index)
    return tidy, lines


def notes_html(
    split: Sequence[str],
    truncated: dict[str, tuple[int, int]],
    singles: dict[str, list[str]],
    escape: Any,
) -> str:
    """The page's account of how its lines were formed (escaped HTML); empty when plain."""
    items = []
    if split:
        keys = ", ".join(f"<code>{escape(k)}</code>" for k in split)
        items.append(
            f"Runs that differ in {keys} are drawn as separate lines (marker shape), not pooled: "
            "add <code>--pool</code> (<code>pool=True</code> in Python) to pool them."
        )
    for group, (common, longest) in truncated.items():
        items.append(
            f"{escape(group)}: averaged over generations up to {common}, the ones every pooled "
            f"run reached (its longest run reached {longest})."
        )
    few = [g for g, lines in singles.items() if len(lines) > 1 or lines != [g]]
    if few:
        items.append(
            f"Fewer than {MIN_SEEDS} seeds, so each seed is drawn as its own line without a "
            f"band: {escape(', '.join(few))}."
        )
    if not items:
        return ""
    return (
        '<section class="pooled"><h2>How the lines were formed</h2><ul>'
        + "".join(f"<li>{item}</li>" for item in items)
        + "</ul></section>"
    )
