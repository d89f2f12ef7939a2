import html
import json
import re
import zlib

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

import autophagy
from autophagy.exceptions import InvalidParameterError
from autophagy.report import build_report, collect, summarise

METRICS = ("frechet", "train_size", "mmd")  # deliberately out of display order
GENERATIONS = 4
NAN_AT = ("generator.bias=0.7", 11, 3, "frechet")  # setting, seed, generation, metric


def config_for(name, bias, seed, repeats=1, dim=2):
    return {
        "name": name,
        "seed": seed,
        "generations": GENERATIONS,
        "repeats": repeats,
        "data": {"kind": "gaussian", "dim": dim},
        "generator": {"kind": "gaussian", "bias": bias},
        "loop": {"kind": "fresh", "n_real": 100, "n_synthetic": 100},
        "metrics": ["frechet", "mmd"],
    }


def write_run(path, config, seeds, *, status="complete", error=None, nan_at=None):
    """A fake run directory following the store contract; returns its metrics table."""
    path.mkdir(parents=True)
    run_id = path.name
    (path / "config.yaml").write_text(yaml.safe_dump(config))
    (path / "run.json").write_text(
        json.dumps(
            {
                "run_id": run_id,
                "name": config["name"],
                "status": status,
                "seed": config["seed"],
                "repeats": config["repeats"],
                "generations": GENERATIONS,
                "generations_done": GENERATIONS,
                "version": "0.1.0",
                "created": "2025-01-01T00:00:00",
                "updated": "2025-01-01T00:00:00",
                "error": error,
            }
        )
    )
    rng = np.random.default_rng(zlib.crc32(run_id.encode()))
    rows = [
        (run_id, s, g, m, float(rng.normal(g, 1.0)))
        for s in seeds
        for g in range(1, GENERATIONS + 1)
        for m in METRICS
    ]
    frame = pd.DataFrame(rows, columns=["run", "seed", "generation", "metric", "value"])
    if nan_at is not None:
        seed, generation, metric = nan_at
        hit = (
            (frame["seed"] == seed)
            & (frame["generation"] == generation)
            & (frame["metric"] == metric)
        )
        frame.loc[hit, "value"] = np.nan
    frame.astype({"seed": "int64", "generation": "int64", "value": "float64"}).to_parquet(
        path / "metrics.parquet", index=False
    )
    dim = config["data"]["dim"]
    samples = path / "samples"
    samples.mkdir()
    np.save(samples / "real.npy", rng.normal(size=(200, dim)))
    for g in (1, (GENERATIONS + 1) // 2, GENERATIONS):
        np.save(samples / f"gen-{g:04d}.npy", rng.normal(scale=1 / g, size=(200, dim)))
    return frame


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """2 settings x 3 seeds: bias 1.0 as a sweep of 3 runs, bias 0.7 as one run with 3 repeats."""
    root = tmp_path_factory.mktemp("runs")
    frames = []
    for seed in (0, 1, 2):
        frames.append(
            write_run(root / "mad" / f"b10-s{seed}", config_for("mad", 1.0, seed, dim=8), [seed])
        )
    frames.append(
        write_run(
            root / "mad" / "b07",
            config_for("mad", 0.7, 10, repeats=3, dim=8),
            [10, 11, 12],
            nan_at=NAN_AT[1:],
        )
    )
    write_run(
        root / "mad" / "b07-failed",
        config_for("mad", 0.7, 20, dim=8),
        [],
        status="failed",
        error="DegenerateFitError: covariance <collapsed> & singular",
    )
    return root, pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def report(store):
    root, _ = store
    pages = build_report(root)
    return pages, pages[0].read_text(encoding="utf-8")


def test_settings_exclude_seed_and_repeats(store):
    root, _ = store
    (experiment,) = collect(root)
    assert experiment.varying == ("generator.bias",)
    assert [s.label for s in experiment.settings] == ["generator.bias=0.7", "generator.bias=1.0"]
    assert [len(s.runs) for s in experiment.settings] == [2, 3]
    assert experiment.common["data.dim"] == 8 and "seed" not in experiment.common


def test_summarise_matches_hand_computation(store):
    root, raw = store
    (experiment,) = collect(root)
    summary = summarise(experiment.metrics)
    assert list(summary.columns) == [
        "setting",
        "metric",
        "generation",
        "mean",
        "lo",
        "hi",
        "n",
        "n_nan",
    ]
    # metrics in display order, bookkeeping last
    assert list(pd.unique(summary["metric"])) == ["frechet", "mmd", "train_size"]

    row = summary.query("setting == 'generator.bias=1.0' and metric == 'mmd' and generation == 2")
    values = raw.query("run.str.startswith('b10') and metric == 'mmd' and generation == 2")["value"]
    half = stats.t.ppf(0.975, 2) * values.std(ddof=1) / np.sqrt(3)
    assert row["n"].item() == 3 and row["n_nan"].item() == 0
    np.testing.assert_allclose(
        row[["mean", "lo", "hi"]].to_numpy()[0],
        [values.mean(), values.mean() - half, values.mean() + half],
    )

    # the NaN repeat is left out of the band (n = 2, t with 1 degree of freedom) and counted
    setting, seed, generation, metric = NAN_AT
    row = summary.query("setting == @setting and metric == @metric and generation == @generation")
    values = raw.query("run == 'b07' and metric == @metric and generation == @generation")[
        "value"
    ].dropna()
    half = stats.t.ppf(0.975, 1) * values.std(ddof=1) / np.sqrt(2)
    assert row["n"].item() == 2 and row["n_nan"].item() == 1
    np.testing.assert_allclose(
        row[["mean", "lo", "hi"]].to_numpy()[0],
        [values.mean(), values.mean() - half, values.mean() + half],
    )


def test_summarise_single_repeat_band_collapses():
    df = pd.DataFrame(
        {"setting": "s", "metric": "mmd", "generation": [1, 2, 2], "value": [0.5, np.nan, np.nan]}
    )
    summary = summarise(df)
    first, second = summary.itertuples()
    assert (first.mean, first.lo, first.hi, first.n, first.n_nan) == (0.5, 0.5, 0.5, 1, 0)
    assert second.n == 0 and second.n_nan == 2 and np.isnan(second.mean)


def test_build_report_writes_a_self_contained_page(store, report):
    root, _ = store
    pages, page = report
    assert pages == [root / "report" / "mad" / "index.html"]
    figures = sorted(p.name for p in (root / "report" / "mad" / "figures").glob("*.png"))
    assert figures == [
        "metric-01-frechet.png",
        "metric-02-mmd.png",
        "metric-03-train_size.png",
        "samples-01.png",
        "samples-02.png",
    ]
    assert all(
        (root / "report" / "mad" / "figures" / f).read_bytes()[:4] == b"\x89PNG" for f in figures
    )
    # offline: no script is fetched, plotly.js is inlined exactly once, snapshots are data URIs
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, flags=re.I)
    assert page.count("plotly.js v") == 1
    assert page.count("Plotly.newPlot(") == 3
    assert page.count('<img src="data:image/png;base64,') == 2
    assert "principal axes of the real sample" in page


def test_page_reports_statuses_and_degenerate_generations(report):
    _, page = report
    assert "Degenerate generations" in page
    assert "3 (1/3 repeats NaN)" in page
    assert 'class="status failed"' in page and page.count('class="status complete"') == 4
    assert "DegenerateFitError: covariance &lt;collapsed&gt; &amp; singular" in page
    assert "<collapsed>" not in page


def test_user_strings_are_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    config = config_for(evil, 1.0, 0)
    config["data"]["kind"] = '"><img src=x onerror=alert(2)>'
    write_run(tmp_path / "x" / "r1", config, [0], status="failed", error=evil)
    (page_path,) = build_report(tmp_path, tmp_path / "out")
    page = page_path.read_text(encoding="utf-8")
    assert page_path.parent.parent == tmp_path / "out" and "<" not in page_path.parent.name
    assert evil not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_corrupt_parquet_names_the_file(tmp_path):
    """A run whose metrics cannot be read is shown as corrupt, naming the file, and skipped:
    it never blocks the report of the others (issue 14)."""
    write_run(tmp_path / "e" / "good", config_for("e", 1.0, 0), [0])
    write_run(tmp_path / "e" / "bad", config_for("e", 1.0, 1), [1])
    bad = tmp_path / "e" / "bad" / "metrics.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    (page,) = build_report(tmp_path)
    assert f"cannot read {bad}" in html.unescape(page.read_text(encoding="utf-8"))
    (experiment,) = collect(tmp_path)
    status = {r.path.name: (r.status, r.error) for s in experiment.settings for r in s.runs}
    assert status["bad"][0] == "corrupt" and status["bad"][1].startswith(f"cannot read {bad}")
    assert status["good"][0] != "corrupt" and set(experiment.metrics["seed"]) == {0}
    pd.DataFrame({"run": ["bad"], "seed": [1], "generation": [1]}).to_parquet(
        bad
    )  # no metric/value
    (experiment,) = collect(tmp_path)
    status = {r.path.name: (r.status, r.error) for s in experiment.settings for r in s.runs}
    assert status["bad"] == ("corrupt", f"cannot read {bad}: missing columns ['metric', 'value']")
    (tmp_path / "e" / "bad" / "run.json").write_text("{ not json")
    experiments = {e.name: e for e in collect(tmp_path)}
    (unreadable,) = experiments["unreadable-runs"].settings[0].runs
    assert unreadable.status == "corrupt" and "run.json" in unreadable.error
    assert set(experiments["e"].metrics["seed"]) == {0}


def test_theory_hook_draws_a_dashed_curve(tmp_path):
    run = tmp_path / "e" / "r1"
    write_run(run, config_for("e", 0.7, 0), [0, 1])

    def theory(config, metric, generations):
        if metric != "mmd":
            return None
        return config["generator"]["bias"] ** generations

    (page_path,) = build_report(run, theory=theory)  # the root may itself be a run directory
    page = page_path.read_text(encoding="utf-8")
    assert page_path == run / "report" / "e" / "index.html"
    assert page.count('"name":"theory: e"') == 1 and '"dash":"dash"' in page
    with pytest.raises(InvalidParameterError, match="'theory' parameter"):
        build_report(run, theory=lambda config, metric, generations: np.zeros(2))


def test_missing_root_is_a_user_error(tmp_path):
    with pytest.raises(InvalidParameterError, match="does not exist"):
        build_report(tmp_path / "nowhere")
    with pytest.raises(InvalidParameterError, match="No run directory"):
        build_report(tmp_path)


def test_sweep_over_a_numeric_key_draws_the_key_figures(tmp_path):
    base = {
        "name": "ridge-sweep",
        "generations": 3,
        "repeats": 2,
        "data": {"kind": "linear", "dim": 5, "noise": 0.3},
        "generator": {"kind": "linear_ridge"},
        "loop": {"kind": "fully_synthetic", "n_real": 20, "n_synthetic": 20},
        "metrics": ["test_error"],
        "eval": {"n_samples": 20, "snapshot_size": 0},
    }
    for alpha in (0.01, 0.1, 1.0):
        autophagy.run({**base, "eval": {**base["eval"], "downstream_ridge": alpha}}, out=tmp_path)
    page = build_report(tmp_path)[0]
    html = page.read_text()
    assert "Across the swept values" in html and "eval.downstream_ridge minimising test_error" in html
    names = sorted(p.name for p in (page.parent / "figures").glob("sweep-*.png"))
    assert names == ["sweep-01-01-test_error-best.png", "sweep-01-01-test_error.png"]
