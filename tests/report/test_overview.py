"""The report's small multiples: one panel per metric, bookkeeping left out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from autophagy.report.overview import MAX_PANELS, MIN_PANELS, has_values, overview_png


def summary(metrics, settings=("a", "b"), generations=5):
    rows = [(s, m, g, float(g * (i + 1)), 3) for i, s in enumerate(settings) for m in metrics for g in range(1, generations + 1)]
    return pd.DataFrame(rows, columns=["setting", "metric", "generation", "mean", "n"])


def test_a_panel_per_metric_up_to_the_limit(tmp_path):
    import matplotlib.image

    metrics = [f"m{i}" for i in range(MAX_PANELS + 3)]
    png = overview_png(summary(metrics), metrics, tmp_path / "o.png", ["a", "b"])
    assert png == tmp_path / "o.png" and png.stat().st_size > 0
    height, width = matplotlib.image.imread(png).shape[:2]
    assert width == 1000 and height > 4 * 200  # four rows of panels at most (16 metrics, 4 a row)


def test_few_metrics_get_no_overview(tmp_path):
    metrics = [f"m{i}" for i in range(MIN_PANELS - 1)]
    assert overview_png(summary(metrics), metrics, tmp_path / "o.png", ["a"]) is None
    assert not (tmp_path / "o.png").exists()


def test_an_all_nan_metric_has_no_values():
    frame = summary(["x", "y"])
    frame.loc[frame.metric == "y", "mean"] = np.nan
    assert has_values(frame, "x") and not has_values(frame, "y")


def test_the_page_opens_with_the_overview(tmp_path):
    import autophagy
    from autophagy.report import build_report

    config = {
        "name": "overview", "generations": 3, "repeats": 2, "data": {"kind": "gmm"}, "generator": {"kind": "gmm"},
        "loop": {"kind": "fully_synthetic", "n_real": 200, "n_synthetic": 200}, "eval": {"n_samples": 200},
    }
    autophagy.run(config, out=tmp_path)
    (page,) = build_report(tmp_path)
    html = page.read_text(encoding="utf-8")
    assert "<h2>At a glance</h2>" in html and html.index("At a glance") < html.index("<h2>Metrics</h2>")
    assert (page.parent / "figures" / "overview.png").is_file()
