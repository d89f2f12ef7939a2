"""One self-contained HTML page comparing every run under a directory, grouped by config keys.

Layout written by :func:`build_comparison`::

    <out>/index.html                 opens offline: plotly.js inlined once, no external URL
    <out>/figures/<metric>.png       each chart as a PNG (matplotlib), linked from the page

Runs of any experiment are grouped by their values of the chosen flattened config keys
(``loop.kind``, ``generator.bias``; ``name`` is the experiment name). Every seed of every run
of a group is one repeat: the charts show their mean and a 95 % Student-t band per generation
(:func:`~autophagy.report.collect.summarise`). Config keys that differ inside a group but were
not asked for are pooled, and the page lists them.

Every user-provided string (experiment names, config keys and values, metric names) is
HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autophagy._validation import check
from autophagy.exceptions import InvalidParameterError
from autophagy.report.collect import (
    RunRecord,
    _hashable,
    _sort_key,
    format_value,
    metric_order,
    read_metrics,
    readable_runs,
    summarise,
    varying_keys,
)
from autophagy.report.figures import LineStyle, metric_plotly, metric_png
from autophagy.report.html import (
    _CLASS_FREQUENCY,
    _CSS,
    _charts_section,
    _degenerate_section,
    _e,
    _table,
    _unique,
    safe_name,
)
from autophagy.report.metric_info import clip_bands
from autophagy.report.pooling import common_generations, notes_html, single_lines, split_keys
from autophagy.report.style import value_styles
from autophagy.store.catalog import find_runs
from autophagy.store.rundir import atomic_write_text

#: How a value is shown where a run lacks the key (or holds null).
MISSING = "—"

_CSS_POOLED = ".pooled { border: 2px solid #a06000; background: #fffaf0; padding: 0.5em 1em; }\n"


@dataclass(frozen=True)
class Group:
    """The runs sharing one value per compared key.

    Attributes:
        label: ``"loop.kind=fresh, generator.bias=0.7"`` (:data:`MISSING` for a lacking key).
        values: The value of each compared key, in the order of the keys (None: lacking).
        runs: The run directories of this group (any status), sorted by path.
        keys: The keys ``values`` are of (the compared keys, then any split keys).
    """

    label: str
    values: tuple[Any, ...]
    runs: tuple[RunRecord, ...]
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """Every run under a directory, grouped by config keys, with the metrics summarised.

    Attributes:
        root: The directory read.
        keys: The compared keys, in the order given (repeats dropped).
        groups: One entry per distinct tuple of values of ``keys``, sorted by value.
        tidy: Every metric row (:func:`~autophagy.report.collect.read_metrics`: run, seed,
            generation, metric, value, file) plus ``setting``, the label of the row's group, and
            ``path``, the run directory the row belongs to.
        metrics: The metrics to chart, in :func:`~autophagy.report.collect.metric_order`.
        summary: :func:`~autophagy.report.collect.summarise` of the rows of ``tidy`` holding
            one of ``metrics`` within the generations every run of their group reached: per
            line, metric and generation, the mean over every seed of every run of the group and
            its 95 % Student-t band, clipped to the metric's valid range. A line is a group's
            label, or, for a group of fewer than 3 seeds, one line per seed (``lines``).
        split: The keys runs were split by though not asked for (``name``, ``data.kind``: see
            :mod:`~autophagy.report.pooling`); empty when pooled.
        truncated: {group label: (last generation averaged, last generation of its longest
            run)} for the groups whose runs reached different generations.
        lines: {group label: its line labels}.
    """

    root: Path
    keys: tuple[str, ...]
    groups: tuple[Group, ...]
    tidy: Any
    metrics: tuple[str, ...]
    summary: Any
    split: tuple[str, ...] = ()
    truncated: Any = None
    lines: Any = None


def compare(
    root: str | Path,
    by: Sequence[str],
    metrics: Sequence[str] | None = None,
    pool: bool = False,
) -> Comparison:
    """Read every run under ``root``, group the runs by the config keys ``by`` and summarise.

    Unless ``pool``, runs of different experiments or data kinds are kept apart (the groups
    are also split by ``name`` and ``data.kind`` where these differ). Each line averages only
    the generations every run of its group reached; a group of fewer than 3 seeds is drawn one
    line per seed; degenerate values are counted, not averaged.

    Args:
        root: A run store, an experiment folder or a single run directory.
        by: Flattened config keys (``"loop.kind"``) or ``"name"`` (the experiment name); runs
            are grouped by their tuple of values (None where a run lacks a key).
        metrics: The metrics to chart (None or empty: every metric recorded but the
            ``class_frequency_k`` family).
        pool: Pool runs of different experiments and data kinds into one line per group.

    Raises:
        InvalidParameterError: If ``root`` holds no run with metrics, ``by`` is empty or names
            a key no run has, or ``metrics`` names a metric no run recorded.
        CorruptRunError: If a file of a run directory cannot be read (the message names it).
    """
    root = Path(root)
    runs = readable_runs(find_runs(root))
    table = read_metrics([f for r in runs for f in r.files])
    if table.empty:
        raise InvalidParameterError(f"No run with metrics under {str(root)!r}.")
    keys = checked_keys(by, runs)
    files = set(table["file"])
    split = split_keys([r for r in runs if any(str(f) in files for f in r.files)], keys, pool)
    groups = group_runs(runs, keys + split)
    label_of = {str(f): g.label for g in groups for r in g.runs for f in r.files}
    run_of = {str(f): str(r.path) for r in runs for f in r.files}
    tidy = table.assign(setting=table["file"].map(label_of), path=table["file"].map(run_of))
    charted = checked_metrics(metrics, tidy["metric"])
    kept, truncated = common_generations(tidy[tidy["metric"].isin(charted)])
    kept, lines = single_lines(kept)
    summary = clip_bands(summarise(kept.assign(setting=kept["line"])))
    return Comparison(
        root, tuple(keys), tuple(groups), tidy, tuple(charted), summary, tuple(split), truncated,
        lines,
    )


def build_comparison(
    root: str | Path,
    by: Sequence[str],
    out: str | Path | None = None,
    metrics: Sequence[str] | None = None,
    pool: bool = False,
) -> Path:
    """Write one page comparing every run under ``root``, grouped by the config keys ``by``.

    Args:
        root: A run store, an experiment folder or a single run directory.
        by: Flattened config keys (``"loop.kind"``) or ``"name"`` (the experiment name). The
            first key picks the line colour, the second the dash; further keys only show in
            the legend label.
        out: The report folder (default ``<root>/report/compare-<keys joined by '+'>``, each
            key made file-system-safe by :func:`~autophagy.report.html.safe_name`); the page is
            ``<out>/index.html``, the PNGs ``<out>/figures/<metric>.png``.
        metrics: The metrics to chart (None or empty: every metric recorded but the
            ``class_frequency_k`` family), shown in :func:`~autophagy.report.collect.metric_order`.
        pool: Pool runs of different experiments (``name``) and data kinds (``data.kind``)
            into one line per group; by default they are drawn apart (marker shape).

    Returns:
        The path of the HTML page.

    Raises:
        InvalidParameterError: If ``root`` holds no run with metrics, ``by`` is empty or names
            a key no run has, or ``metrics`` names a metric no run recorded.
        CorruptRunError: If a file of a run directory cannot be read (the message names it).
    """
    comparison = compare(root, by, metrics, pool)
    if out is None:
        slug = "+".join(safe_name(k) for k in comparison.keys)
        out = comparison.root / "report" / f"compare-{slug}"
    return write_comparison(comparison, Path(out))


def config_values(run: RunRecord) -> dict[str, Any]:
    """The keys a run can be grouped by: its flattened config plus ``name`` (experiment)."""
    return {**run.flat, "name": run.name}


def checked_keys(by: Sequence[str], runs: Sequence[RunRecord]) -> list[str]:
    """``by`` with repeated keys dropped, once each key is found in some run.

    Raises:
        InvalidParameterError: If ``by`` is empty or a key is held by no run (lists the keys).
    """
    available = sorted({key for run in runs for key in config_values(run)})
    listed = ", ".join(available)
    check(len(by) > 0, "--by", f"one or more of [{listed}]", list(by))
    for key in by:
        check(key in available, "--by", f"one of [{listed}]", key)
    return list(dict.fromkeys(by))


def checked_metrics(metrics: Sequence[str] | None, recorded: Iterable[str]) -> list[str]:
    """The metrics to chart, in :func:`metric_order`: ``metrics`` or, when None or empty, every
    recorded metric but the ``class_frequency_k`` family (drawn as histograms elsewhere).

    Raises:
        InvalidParameterError: If a metric of ``metrics`` was not recorded (lists those that were).
    """
    order = metric_order(recorded)
    if not metrics:
        return [m for m in order if not _CLASS_FREQUENCY.fullmatch(m)]
    for metric in metrics:
        check(metric in order, "--metric", f"one of [{', '.join(order)}]", metric)
    return [m for m in order if m in set(metrics)]


def shown(value: Any) -> str:
    """A compared value as text: :data:`MISSING` for None, else like a config value.

    >>> shown(None), shown(0.7), shown(True)
    ('—', '0.7', 'true')
    """
    return MISSING if value is None else format_value(value)


def group_runs(runs: Iterable[RunRecord], keys: Sequence[str]) -> list[Group]:
    """Group runs by their values of ``keys``; groups sorted by value (numbers numerically).

    >>> from autophagy.report.collect import RunRecord
    >>> def run(path, **flat):
    ...     return RunRecord(Path(path), path, "x", "complete", None, 3, 3, {}, flat)
    >>> [g.label for g in group_runs([run("a", b=10), run("b", b=9), run("c")], ["b"])]
    ['b=9', 'b=10', 'b=—']
    """
    members: dict[tuple[Any, ...], list[RunRecord]] = {}
    for run in sorted(runs, key=lambda r: str(r.path)):
        config = config_values(run)
        members.setdefault(tuple(_hashable(config.get(k)) for k in keys), []).append(run)
    return [
        Group(
            ", ".join(f"{k}={shown(v)}" for k, v in zip(keys, values, strict=True)),
            values,
            tuple(members[values]),
            tuple(keys),
        )
        for values in sorted(members, key=_value_order)
    ]


def _value_order(values: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    """Sort key of a value tuple: numbers numerically, then text, lacking values last."""
    return tuple((2, "") if v is None else _sort_key((v,))[0] for v in values)


def group_styles(groups: Sequence[Group], n_keys: int | None = None) -> dict[str, LineStyle]:
    """Line style per group label: a colour per value of the first key and, with two or more
    compared keys, a dash per value of the second (:func:`~autophagy.report.style.value_styles`:
    a loop kind or a λ looks the same on every page); split keys (those past ``n_keys``, the
    number of compared keys) pick the marker."""
    if not groups:
        return {}
    keys = groups[0].keys or tuple(f"key{i}" for i in range(len(groups[0].values)))
    n_keys = len(keys) if n_keys is None else n_keys
    items = [(g.label, dict(zip(keys, g.values, strict=True))) for g in groups]
    markers = {v: i for i, v in enumerate(sorted({g.values[n_keys:] for g in groups}, key=_value_order))}
    marker_of = {g.label: markers[g.values[n_keys:]] for g in groups}
    dash_key = keys[1] if n_keys > 1 else None
    return value_styles(items, keys[0], dash_key, marker_of)


def pooled_keys(groups: Sequence[Group], keys: Sequence[str]) -> dict[str, list[str]]:
    """Config keys not in ``keys`` (nor seed/repeats) whose value differs between the runs of
    some group, with every value they take over all runs (as shown, sorted)."""
    pooled: dict[str, None] = {}
    for group in groups:
        varying = varying_keys([config_values(r) for r in group.runs])
        pooled.update(dict.fromkeys(k for k in varying if k not in keys))
    every = [config_values(r) for g in groups for r in g.runs]
    values = {key: {(_hashable(c.get(key)),) for c in every} for key in pooled}
    return {key: [shown(v) for (v,) in sorted(values[key], key=_value_order)] for key in pooled}


def write_comparison(comparison: Comparison, out: Path) -> Path:
    """Write ``out/figures/<metric>.png`` per charted metric and ``out/index.html``.

    Returns:
        The path of the HTML page.
    """
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    by_group = group_styles(comparison.groups, len(comparison.keys))
    lines = comparison.lines or {}
    labels = [line for g in comparison.groups for line in lines.get(g.label, [g.label])]
    styles = {
        line: by_group[g.label] for g in comparison.groups for line in lines.get(g.label, [g.label])
    }
    charts: list[tuple[str, Path, Any]] = []
    used: set[str] = set()
    for metric in comparison.metrics:
        part = comparison.summary[comparison.summary["metric"] == metric]
        png = figures / f"{_unique(safe_name(metric), used)}.png"
        metric_png(part, metric, png, labels, styles=styles)
        charts.append((metric, png, metric_plotly(part, metric, labels, styles=styles)))
    for stale in set(figures.glob("*.png")) - {png for _, png, _ in charts}:
        stale.unlink()  # a metric of an earlier comparison no longer charted
    page = out / "index.html"
    atomic_write_text(page, render_comparison(comparison, charts))
    return page


def render_comparison(comparison: Comparison, charts: Sequence[tuple[str, Path, Any]]) -> str:
    """The HTML text of the comparison page (self-contained; user strings escaped).

    Args:
        comparison: What :func:`compare` read.
        charts: (metric, PNG, Plotly figure) per charted metric.
    """
    from autophagy._version import __version__

    when = datetime.now(UTC).isoformat(timespec="seconds")
    keys, groups = comparison.keys, comparison.groups
    runs = [r for g in groups for r in g.runs]
    names = sorted({r.name for r in runs})
    title = "Runs compared by " + ", ".join(keys)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)} - autophagy report</title>"
        f"<style>{_CSS}{_CSS_POOLED}</style></head><body>"
        f"<h1>{_e(title)}</h1>"
        f'<p class="meta">{len(runs)} run(s) under {_e(str(comparison.root))} in {len(groups)} '
        f"group(s), from {len(names)} experiment(s): {_e(', '.join(names))}; "
        f"autophagy {_e(__version__)}, written {_e(when)}.</p>"
        + _pooled_section(pooled_keys(groups, keys))
        + notes_html(comparison.split, comparison.truncated or {}, comparison.lines or {}, _e)
        + _differing_section(groups, [*keys, *comparison.split])
        + _degenerate_section(comparison.summary)
        + _charts_section(charts, _charts_intro(keys, groups))
        + _groups_section(groups, comparison.tidy)
        + "</body></html>\n"
    )


def _charts_intro(keys: Sequence[str], groups: Sequence[Group]) -> str:
    """What the charts show and how lines are told apart (escaped HTML)."""
    intro = (
        "Mean over every seed of every run of a group, with a 95 % Student-t band clipped to "
        "the metric's valid range (at 0 for non-negative metrics, in [0, 1] for shares), over "
        "the generations every run of the group reached. "
        f"Colour: <code>{_e(keys[0])}</code>"
    )
    if len(keys) > 1:
        intro += f"; dash: <code>{_e(keys[1])}</code>"
    if any(v is None for g in groups for v in g.values):
        intro += f"; {_e(MISSING)}: the runs lack the key (or hold null)"
    return intro + "."


def _pooled_section(pooled: dict[str, list[str]]) -> str:
    """The notice that runs differing in ``pooled`` keys share one mean; empty without any."""
    if not pooled:
        return ""
    rows = [[f"<code>{_e(key)}</code>", _e(", ".join(values))] for key, values in pooled.items()]
    return (
        '<section class="pooled"><h2>Pooled config keys</h2>'
        "<p>Runs of one group differ in these config keys, which were not compared (not given "
        "to <code>--by</code>): their runs were pooled into one mean and band.</p>"
        + _table(["key", "values"], rows)
        + "</section>"
    )


def _differing_section(groups: Sequence[Group], keys: Sequence[str]) -> str:
    """Config keys, neither compared nor pooled, whose value differs between groups (they vary
    with a split key); empty without any."""
    runs = [config_values(r) for g in groups for r in g.runs]
    within = set(pooled_keys(groups, keys))
    differ = [k for k in varying_keys(runs) if k not in keys and k not in within]
    if not differ or len(groups) < 2:
        return ""
    rows = []
    for key in differ:
        values = sorted({(_hashable(c.get(key)),) for c in runs}, key=_value_order)
        rows.append([f"<code>{_e(key)}</code>", _e(", ".join(shown(v) for (v,) in values))])
    return (
        "<section><h2>Other config keys that differ between groups</h2>"
        + _table(["key", "values"], rows)
        + "</section>"
    )


def _groups_section(groups: Sequence[Group], tidy: Any) -> str:
    """One row per group: its label, runs, repeats pooled (seeds of runs), seeds and statuses."""
    seeds = tidy.groupby("setting")["seed"].unique()
    repeats = tidy.groupby("setting")[["path", "seed"]].apply(lambda p: len(p.drop_duplicates()))
    rows = []
    for group in groups:
        mine = sorted(int(s) for s in seeds[group.label]) if group.label in seeds else []
        rows.append(
            [
                _e(group.label),
                _e(str(len(group.runs))),
                _e(str(repeats.get(group.label, 0))),
                _e(", ".join(map(str, mine)) or "none yet"),
                _statuses([r.status for r in group.runs]),
            ]
        )
    header = ["group", "runs", "repeats pooled", "seeds", "statuses"]
    return "<section><h2>Groups</h2>" + _table(header, rows) + "</section>"


def _statuses(statuses: Sequence[str]) -> str:
    """``"2 complete, 1 pending"`` as escaped HTML, each status in its colour."""
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    return ", ".join(
        f'<span class="status {_e(safe_name(s))}">{n} {_e(s)}</span>' for s, n in counts.items()
    )
