"""A degenerate repeat (a metric of -inf, +inf or NaN) is left out of the report's means and
bands and counted, never shown as a -inf or NaN mean (issue 14)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from autophagy.report import summarise
from autophagy.report.markup import _degenerate_section
from autophagy.report.metric_charts import metric_plotly, metric_png

FINITE = [-1.0, -1.5, -2.5]


def frame(bad: float) -> pd.DataFrame:
    """Two generations of 4 repeats of ``log_lik``; repeat 3 gives ``bad`` at generation 2."""
    return pd.DataFrame({
        "setting": "s",
        "metric": "log_lik",
        "generation": [1] * 4 + [2] * 4,
        "seed": [0, 1, 2, 3] * 2,
        "value": [-1.0, -1.2, -1.1, -0.9, *FINITE, bad],
    })


@pytest.mark.parametrize("bad", [-np.inf, np.inf, np.nan])
def test_a_non_finite_repeat_is_left_out_of_the_mean_and_band_and_counted(bad):
    summary = summarise(frame(bad))
    first, second = summary.itertuples()
    assert (first.n, first.n_nan) == (4, 0)
    assert (second.n, second.n_nan) == (3, 1)
    half = stats.t.ppf(0.975, 2) * np.std(FINITE, ddof=1) / np.sqrt(3)  # t band of the 3 finite ones
    np.testing.assert_allclose([second.mean, second.lo, second.hi], [np.mean(FINITE), np.mean(FINITE) - half, np.mean(FINITE) + half])
    assert np.isfinite(summary[["mean", "lo", "hi"]].to_numpy()).all()


def test_only_non_finite_repeats_give_no_mean_rather_than_an_infinite_one():
    df = pd.DataFrame({"setting": "s", "metric": "log_lik", "generation": [1, 1], "value": [-np.inf, np.inf]})
    (row,) = summarise(df).itertuples()
    assert (row.n, row.n_nan) == (0, 2)
    assert np.isnan(row.mean) and np.isnan(row.lo) and np.isnan(row.hi)  # no -inf, no inf - inf


def test_the_page_and_the_charts_say_how_many_repeats_were_left_out(tmp_path):
    summary = summarise(frame(-np.inf))
    section = _degenerate_section(summary)
    assert "Degenerate generations" in section and "&plusmn;inf" in section
    assert "2 (1/4 repeats NaN)" in section and "1 (" not in section
    figure = metric_plotly(summary, "log_lik", ["s"])
    mean = next(trace for trace in figure.data if trace.mode == "lines+markers")
    np.testing.assert_allclose(mean.y, [-1.05, np.mean(FINITE)])
    assert list(mean.customdata[:, 2]) == [0, 1]  # the hover's count of repeats left out
    assert metric_png(summary, "log_lik", tmp_path / "log_lik.png", ["s"]).stat().st_size > 0
