"""The summary that opens an experiment's page: per setting, the key metrics at generation 1 and
at the last generation with their 95 % intervals, the theory's value where there is one, and a
plain verdict line ("cov_trace fell from 2 to 0.81 (−59 %) by generation 20; theory predicts
0.8").

The numbers are those of :func:`~autophagy.report.collect.summarise` (bands clipped by
:func:`~autophagy.report.metric_info.clip_bands`): a mean over the finite repeats and
``mean ± t.ppf(0.975, n - 1) · sd / √n``; a single seed has no interval, and the page says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autophagy.report.markup import _e, _table
from autophagy.report.metric_charts import TheoryCurves

#: Columns of :func:`story_table`.
COLUMNS: tuple[str, ...] = (
    "setting",
    "metric",
    "first_generation",
    "first_mean",
    "first_lo",
    "first_hi",
    "first_n",
    "last_generation",
    "last_mean",
    "last_lo",
    "last_hi",
    "last_n",
    "last_n_nan",
    "theory_first",
    "theory_last",
)


def number(value: float) -> str:
    """A value as the summary writes it: 3 significant digits.

    >>> number(0.95123), number(1234.5), number(float("nan"))
    ('0.951', '1.23e+03', 'n/a')
    """
    return "n/a" if not math.isfinite(value) else f"{value:.3g}"


def story_table(
    summary: Any,
    settings: Sequence[str],
    metrics: Sequence[str],
    theory: Mapping[str, TheoryCurves] | None = None,
) -> Any:
    """One row per (setting, metric): the first and last generation's mean, interval, repeats.

    Args:
        summary: :func:`~autophagy.report.collect.summarise` rows (bands possibly clipped).
        settings: Setting labels, in page order.
        metrics: The key metrics, in order.
        theory: Per metric, the theory curves per setting label (as drawn on the charts).

    Returns:
        DataFrame with :data:`COLUMNS`; settings without a metric are left out.
    """
    import pandas as pd

    rows = []
    for setting in settings:
        for metric in metrics:
            part = summary[(summary["setting"] == setting) & (summary["metric"] == metric)]
            if not len(part):
                continue
            part = part.sort_values("generation")
            first, last = part.iloc[0], part.iloc[-1]
            curve = (theory or {}).get(metric, {}).get(setting)
            rows.append(
                [setting, metric]
                + _point(first)[:5]
                + _point(last)
                + [_theory_at(curve, first["generation"]), _theory_at(curve, last["generation"])]
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _point(row: Any) -> list[Any]:
    """[generation, mean, lo, hi, n, n_nan] of one summary row."""
    return [
        int(row["generation"]),
        float(row["mean"]),
        float(row["lo"]),
        float(row["hi"]),
        int(row["n"]),
        int(row["n_nan"]),
    ]


def _theory_at(curve: tuple[np.ndarray, np.ndarray] | None, generation: int) -> float:
    if curve is None:
        return float("nan")
    gens, values = curve
    hit = np.flatnonzero(gens == generation)
    return float(values[hit[0]]) if hit.size else float("nan")


def verdict(row: Any) -> str:
    """The plain sentence of one :func:`story_table` row.

    >>> import pandas as pd
    >>> row = pd.Series({"metric": "recall", "first_mean": 0.95, "last_mean": 0.41,
    ...     "last_generation": 20, "last_n": 3, "last_n_nan": 0, "theory_last": 0.40})
    >>> verdict(row)
    'recall fell from 0.95 to 0.41 (−57 %) by generation 20; theory predicts 0.4.'
    """
    metric, a, b, gen = row["metric"], row["first_mean"], row["last_mean"], row["last_generation"]
    if row["last_n"] == 0:
        text = f"{metric} was degenerate (NaN/inf) in every repeat at generation {gen}"
    elif not math.isfinite(a):
        text = f"{metric} reached {number(b)} by generation {gen}"
    else:
        change = (b - a) / abs(a) if a != 0 else math.inf * np.sign(b - a)
        if abs(change) < 0.01 or a == b:
            text = f"{metric} held at {number(a)} through generation {gen}"
        else:
            verb = "rose" if b > a else "fell"
            text = f"{metric} {verb} from {number(a)} to {number(b)}"
            if math.isfinite(change):
                text += f" ({'+' if change > 0 else '−'}{abs(change) * 100:.0f} %)"
            text += f" by generation {gen}"
    if row["last_n_nan"] > 0:
        text += f" ({row['last_n_nan']} degenerate repeat(s) left out)"
    if math.isfinite(row["theory_last"]):
        text += f"; theory predicts {number(row['theory_last'])}"
    return text + "."


def _interval(mean: float, lo: float, hi: float, n: int) -> str:
    if n == 0:
        return "degenerate"
    if n == 1:
        return f"{number(mean)} (1 seed)"
    return f"{number(mean)} [{number(lo)}, {number(hi)}]"


def story_section(table: Any, settings: Sequence[str]) -> str:
    """The page's opening section (escaped HTML): a verdict line per setting (its first key
    metric), then the table of every key metric."""
    if not len(table):
        return ""
    lines = []
    for setting in settings:
        mine = table[table["setting"] == setting]
        if len(mine):
            lines.append(f"<li><b>{_e(setting)}</b>: {_e(verdict(mine.iloc[0]))}</li>")
    rows = []
    for row in table.itertuples(index=False):
        rows.append(
            [
                _e(row.setting),
                _e(row.metric),
                f"{row.first_generation}: "
                + _e(_interval(row.first_mean, row.first_lo, row.first_hi, row.first_n)),
                f"{row.last_generation}: "
                + _e(_interval(row.last_mean, row.last_lo, row.last_hi, row.last_n)),
                _e(number(row.theory_last)) if math.isfinite(row.theory_last) else "—",
            ]
        )
    singles = sorted(set(table.loc[table["last_n"] == 1, "setting"]))
    note = (
        f" Single seed (no interval): {_e(', '.join(singles))}." if singles else ""
    )
    header = ["setting", "metric", "first generation", "last generation", "theory (last)"]
    return (
        '<section class="story"><h2>Summary</h2><ul class="verdicts">'
        + "".join(lines)
        + "</ul><p>Key metrics (the config's first few) at the first and the last generation: "
        "mean over seeds [95 % interval, mean &plusmn; t<sub>0.975, n&minus;1</sub>&middot;se, "
        f"clipped to the metric's valid range].{note}</p>"
        + _table(header, rows)
        + "</section>"
    )
