"""The report's lineage fan charts: quantiles across lineages, the theory line, the page section."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from autophagy.report.collect import Experiment, Setting
from autophagy.report.markup import render_page
from autophagy.report.reading import RunRecord
from autophagy.report.web import fan_png, is_web, lineage_figures, lineage_quantiles


def web_rows(lineages=50, generations=4, seed=0):
    """Lineage rows whose spread grows with the generation (value ~ N(t, t²)), plus pool rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(1, generations + 1):
        for i in range(lineages):
            rows.append(("r", seed, t, "gaussian_w2", t + t * rng.standard_normal(), i))
        rows.append(("r", seed, t, "pool_human_share", 1.0 / t, -1))
        rows.append(("r", seed, t, "train_size", 100.0, 0))
    frame = pd.DataFrame(rows, columns=["run", "seed", "generation", "metric", "value", "lineage"])
    return frame.assign(setting="web", path="runs/web/r")


def experiment(frame):
    run = RunRecord(Path("runs/web/r"), "r", "web", "complete", None, 4, 4, {"name": "web"}, {"name": "web"})
    return Experiment("web", {}, (), (Setting("web", {}, (run,)),), frame)


def test_quantiles_are_taken_across_lineages_per_generation():
    q = lineage_quantiles(web_rows()[lambda d: d.metric == "gaussian_w2"])
    assert list(q.index) == [1, 2, 3, 4] and (q["n"] == 50).all()
    assert (q["min"] <= q["q10"]).all() and (q["q10"] <= q["q50"]).all() and (q["q90"] <= q["max"]).all()
    width = (q["q90"] - q["q10"]).to_numpy()
    assert width[-1] > width[0]  # the fan widens: sd t, 4x wider at t = 4 (50 draws each)


def test_fans_are_drawn_for_lineage_metrics_only_with_the_theory_line(tmp_path):
    calls = []

    def theory(config, metric, generations):
        calls.append(metric)
        return generations.astype(float) if metric == "gaussian_w2" else None

    exp = experiment(web_rows())
    assert is_web(exp)
    figures = lineage_figures(exp, tmp_path, theory, lambda s: s)
    assert [title for title, _ in figures] == ["web: gaussian_w2 across lineages"]  # not the pool row, not bookkeeping
    assert figures[0][1].is_file() and figures[0][1].stat().st_size > 1000 and calls == ["gaussian_w2"]
    page = render_page(exp, pd.DataFrame(columns=["setting", "metric", "generation", "n_nan"]), [], [], lineages=figures)
    assert "<h2>Lineages</h2>" in page and "collapses first" in page


def test_an_ordinary_experiment_has_no_fans(tmp_path):
    frame = web_rows().assign(lineage=0)
    assert not is_web(experiment(frame)) and lineage_figures(experiment(frame), tmp_path, None, lambda s: s) == []


def test_a_web_sweep_is_labelled_by_its_lineage_groups_keys(tmp_path):
    import autophagy
    from autophagy.report.collect import group_experiments
    from autophagy.report.reading import read_run

    config = {
        "name": "web-label", "generations": 1, "data": {"kind": "gaussian", "dim": 2}, "eval": {"n_samples": 50},
        "web": {"lineages": [{"generator": {"kind": "gaussian"}, "count": 3, "n_train": 20, "publish": 5}], "pool": {"size": 200}},
    }
    for bias in (1.0, 0.9):
        autophagy.run(autophagy.load_config(config, [f"web.lineages.0.generator.bias={bias}"]), out=tmp_path)
    runs = [read_run(p) for p in sorted((tmp_path / "web-label").iterdir())]
    assert all("web.lineages" not in r.flat and "generator.bias" not in r.flat for r in runs)
    (exp,) = group_experiments(runs)
    assert exp.varying == ("web.lineages.0.generator.bias",)
    assert [s.label for s in exp.settings] == ["web.lineages.0.generator.bias=0.9", "web.lineages.0.generator.bias=1.0"]


def test_a_web_of_several_groups_gets_a_median_line_per_group(tmp_path):
    from autophagy.report.web import group_medians, lineage_groups

    config = {"web": {"lineages": [
        {"generator": {"kind": "ngram", "order": 2}, "count": 20},
        {"generator": {"kind": "gmm", "n_components": 4}, "count": 30, "mitigation": [{"kind": "threshold"}]},
    ]}}
    groups = lineage_groups(config)
    assert groups == [("group 0: ngram order 2", range(0, 20)), ("group 1: gmm n_components 4 + threshold", range(20, 50))]
    rows = web_rows()[lambda d: d.metric == "gaussian_w2"]
    rows = rows.assign(value=rows["value"] + 100.0 * (rows["lineage"] >= 20))  # the second group sits 100 higher
    (first, low), (second, high) = group_medians(rows, groups)
    assert first.startswith("group 0") and second.startswith("group 1")
    # a median of n draws of N(t, t²) has sd ≈ 1.2533 t / √n: 4 sd of the difference at t = 4
    np.testing.assert_allclose(high - low, 100.0, atol=4 * 1.2533 * 4 * np.sqrt(1 / 20 + 1 / 30))
    assert group_medians(rows, groups[:1]) == []  # one group: the fan's own median says it all
    png = tmp_path / "fan.png"
    fan_png(lineage_quantiles(rows), "gaussian_w2", "t", png, None, group_medians(rows, groups))
    assert png.stat().st_size > 0
