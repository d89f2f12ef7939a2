"""Issue 17, items 4 and 5: the summary that opens a page, styles fixed by config values, and
comparisons that cannot mislead (split by experiment, common generations, few seeds drawn one
by one, degenerate values counted, bands clipped)."""

import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import autophagy
from autophagy.report import build_comparison, build_report, collect, summarise
from autophagy.report.compare import compare, group_styles
from autophagy.report.html import setting_styles
from autophagy.report.metric_info import clip_bands, key_metrics, valid_range
from autophagy.report.story import number, story_section, story_table, verdict
from autophagy.report.style import PALETTE, value_slots
from autophagy.theory import predict

from .conftest import comparison_config

RECALL = {1: [0.94, 0.95, 0.96], 2: [0.7, 0.6, 0.65], 3: [0.40, 0.41, 0.42]}


def tidy(values_by_generation, setting="s", metric="recall"):
    rows = [
        (setting, metric, g, seed, v)
        for g, values in values_by_generation.items()
        for seed, v in enumerate(values)
    ]
    return pd.DataFrame(rows, columns=["setting", "metric", "generation", "seed", "value"])


def test_summary_table_is_the_mean_and_t_interval_of_the_seeds():
    summary = clip_bands(summarise(tidy(RECALL)))
    (row,) = story_table(summary, ["s"], ["recall"]).itertuples()
    for gen, mean, lo, hi, n in [
        (1, row.first_mean, row.first_lo, row.first_hi, row.first_n),
        (3, row.last_mean, row.last_lo, row.last_hi, row.last_n),
    ]:
        values = np.array(RECALL[gen])
        half = stats.t.ppf(0.975, 2) * values.std(ddof=1) / np.sqrt(3)
        assert n == 3
        np.testing.assert_allclose([mean, lo, hi], [values.mean(), values.mean() - half, min(1.0, values.mean() + half)])
    assert (row.first_generation, row.last_generation) == (1, 3)


def test_verdict_states_the_change_and_the_theory():
    summary = summarise(tidy(RECALL))
    theory = {"recall": {"s": (np.array([1.0, 2.0, 3.0]), np.array([0.95, 0.6, 0.40]))}}
    row = story_table(summary, ["s"], ["recall"], theory).iloc[0]
    assert verdict(row) == "recall fell from 0.95 to 0.41 (−57 %) by generation 3; theory predicts 0.4."
    rising = summarise(tidy({1: [1.0], 5: [1.5]}, metric="frechet"))
    text = story_section(story_table(rising, ["s"], ["frechet"]), ["s"])
    assert "frechet rose from 1 to 1.5 (+50 %) by generation 5." in text
    assert "1: 1 (1 seed)" in text and "Single seed (no interval): s." in text


def test_key_metrics_follow_the_config_and_skip_bookkeeping():
    recorded = ["train_size", "frac_synthetic", "mmd", "cov_trace", "distinct_n_1", "distinct_n_2"]
    assert key_metrics(recorded, ["distinct_n", "mmd"], k=3) == ["distinct_n_1", "distinct_n_2", "mmd"]
    assert "train_size" not in key_metrics(recorded, [], k=10)


def test_a_real_page_opens_with_the_summary_and_the_theory(tmp_path):
    for loop in ("fresh", "fully_synthetic"):
        autophagy.run({**comparison_config(loop, 1.0, 0), "name": "story"}, out=tmp_path)
    (page,) = build_report(tmp_path)
    text = page.read_text(encoding="utf-8")
    assert text.index("<h2>Summary</h2>") < text.index("<h2>Metrics</h2>")
    (experiment,) = collect(tmp_path)
    summary = summarise(experiment.metrics)
    mine = summary.query("metric == 'gaussian_w2' and setting == 'loop.kind=fully_synthetic'")
    first, last = mine.sort_values("generation")["mean"].iloc[[0, -1]]
    verb = "fell" if last < first else "rose"
    assert f"gaussian_w2 {verb} from {number(first)} to {number(last)}" in text  # config's first
    (setting,) = [s for s in experiment.settings if s.label == "loop.kind=fully_synthetic"]
    predicted = predict(setting.runs[0].config, "cov_trace", np.array([1, 2, 3]))
    cell = f"<td>cov_trace</td><td>1: {number(mine_cov(summary, 1))}"
    assert cell in text and f"<td>{number(predicted[-1])}</td>" in text  # the theory column
    assert text.count('class="caption"') == text.count("Plotly.newPlot(")
    assert "A falling trace means the model&#x27;s spread collapses" in text


def mine_cov(summary, generation):
    query = "metric == 'cov_trace' and setting == 'loop.kind=fully_synthetic' and generation == @generation"
    return summary.query(query)["mean"].item()


def test_colours_and_dashes_are_the_same_on_every_page():
    alone = value_slots("loop.kind", ["fully_synthetic"], "colour")
    mixed = value_slots("loop.kind", ["accumulate", "fresh", "fully_synthetic"], "colour")
    assert alone["fully_synthetic"] == mixed["fully_synthetic"]
    assert value_slots("generator.bias", [1.0], "dash") == {1.0: 1}
    assert value_slots("generator.bias", [0.5, 1.0], "dash")[1.0] == 1
    # unknown values hash: the same value keeps its slot; two values of one page never share
    one = value_slots("data.kind", ["zeta"], "colour")
    two = value_slots("data.kind", ["zeta", "alpha", "beta"], "colour")
    assert one["zeta"] == two["zeta"] and len(set(two.values())) == 3


def test_experiment_pages_and_comparisons_share_the_loop_colours(comparison_store, tmp_path):
    (experiment,) = collect(comparison_store)
    page_styles = setting_styles(experiment)
    comparison = compare(comparison_store, ["loop.kind", "generator.bias"])
    compare_styles = group_styles(comparison.groups)
    for setting in experiment.settings:
        label = f"loop.kind={setting.values['loop.kind']}, generator.bias={setting.values['generator.bias']}"
        assert compare_styles[label] == page_styles[setting.label]
    synthetic = [s for s in experiment.settings if s.values["loop.kind"] == "fully_synthetic"]
    assert {page_styles[s.label].colour for s in synthetic} == {PALETTE[3]}


def write_two_experiments(root, generations=(3, 5)):
    for name, gens in zip(("short", "long"), generations, strict=True):
        for seed in (0, 10):
            config = {**comparison_config("fresh", 1.0, seed), "name": name, "generations": gens}
            autophagy.run(config, out=root)


def test_different_experiments_are_not_pooled_by_default(tmp_path):
    write_two_experiments(tmp_path)
    split = compare(tmp_path, ["loop.kind"])
    assert [g.label for g in split.groups] == ["loop.kind=fresh, name=long", "loop.kind=fresh, name=short"]
    assert split.split == ("name",) and not split.truncated
    assert split.summary.groupby("setting")["generation"].max().to_dict() == {
        "loop.kind=fresh, name=long": 5,
        "loop.kind=fresh, name=short": 3,
    }
    text = build_comparison(tmp_path, ["loop.kind"], out=tmp_path / "cmp").read_text(encoding="utf-8")
    assert "drawn as separate lines" in text and "pool=True" in text


def test_pooled_runs_of_different_lengths_keep_only_the_common_generations(tmp_path):
    write_two_experiments(tmp_path)
    pooled = compare(tmp_path, ["loop.kind"], pool=True)
    assert [g.label for g in pooled.groups] == ["loop.kind=fresh"] and pooled.split == ()
    assert pooled.truncated == {"loop.kind=fresh": (3, 5)}
    assert pooled.summary["generation"].max() == 3
    assert (pooled.summary["n"] == 8).all()  # 4 runs x 2 repeats at every generation kept
    page = build_comparison(tmp_path, ["loop.kind"], out=tmp_path / "cmp", pool=True)
    assert "generations up to 3, the ones every pooled run reached (its longest run reached 5)" in page.read_text(encoding="utf-8")


def test_degenerate_values_are_counted_not_averaged(comparison_store, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(comparison_store, root)
    path = sorted(root.rglob("metrics.parquet"))[0]
    frame = pd.read_parquet(path)
    hit = (frame["metric"] == "frechet") & (frame["generation"] == 2) & (frame["seed"] == frame["seed"].min())
    frame.loc[hit, "value"] = -np.inf
    frame.to_parquet(path, index=False)
    comparison = compare(root, ["loop.kind", "generator.bias"])
    bad = comparison.summary.query("metric == 'frechet' and generation == 2 and n_nan > 0")
    assert len(bad) == 1 and bad["n"].item() == 3 and np.isfinite(bad["mean"].item())
    raw = comparison.tidy.query("metric == 'frechet' and generation == 2 and setting == @bad.setting.item()")["value"]
    np.testing.assert_allclose(bad["mean"].item(), raw[np.isfinite(raw)].mean())
    text = build_comparison(root, ["loop.kind", "generator.bias"], out=tmp_path / "cmp").read_text(encoding="utf-8")
    assert "Degenerate generations" in text and "2 (1/4 repeats NaN)" in text


def test_bands_are_clipped_to_the_valid_range():
    rows = pd.DataFrame(
        {
            "setting": "s",
            "metric": ["recall", "cov_trace", "mmd"],
            "generation": 1,
            "mean": [0.98, 0.01, 0.0],
            "lo": [0.9, -0.2, -0.1],
            "hi": [1.06, 0.2, 0.1],
            "n": 3,
            "n_nan": 0,
        }
    )
    clipped = clip_bands(rows)
    assert clipped["lo"].tolist() == [0.9, 0.0, -0.1]
    assert clipped["hi"].tolist() == [1.0, 0.2, 0.1]
    assert valid_range("distinct_n_2") == (0.0, 1.0) and valid_range("loglik_real")[0] == -np.inf


@pytest.mark.parametrize("seeds", [1, 2])
def test_fewer_than_three_seeds_are_drawn_one_line_each_without_a_band(tmp_path, seeds):
    config = {**comparison_config("fresh", 1.0, 0), "repeats": seeds}
    autophagy.run(config, out=tmp_path)
    comparison = compare(tmp_path, ["loop.kind"])
    lines = [f"loop.kind=fresh · seed {s}" for s in range(seeds)]
    assert comparison.lines == {"loop.kind=fresh": lines}
    assert sorted(set(comparison.summary["setting"])) == lines
    assert (comparison.summary["lo"] == comparison.summary["mean"]).all()
    text = build_comparison(tmp_path, ["loop.kind"], out=tmp_path / "cmp").read_text(encoding="utf-8")
    assert "each seed is drawn as its own line without a band" in text
