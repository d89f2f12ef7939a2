"""The web engine for every family (``runner/web_sampled.py``): the rows of a generation, mixed
families, text, stages per lineage group, the same table on every backend, and resume."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import autophagy
from autophagy.cli import main
from autophagy.exceptions import InvalidParameterError
from autophagy.mitigation.threshold import kept_count
from autophagy.runner.loop import run_dir_for
from autophagy.runner.web_backend import lineage_backend
from autophagy.runner.web_sampled import WebSampledEngine
from autophagy.runner.web_workers import LocalWorkers

from ..interrupt import Stop, stop_after

S, H, P, N_TRAIN = 300, 40, 20, 80  # pool size, human arrivals of generation 1, publish, n_train
GROUPS = [
    {"generator": {"kind": "gaussian"}, "count": 2, "n_train": N_TRAIN, "publish": P},
    {"generator": {"kind": "gmm", "n_components": 4}, "count": 2, "n_train": N_TRAIN, "publish": P},
    {"generator": {"kind": "kde"}, "count": 1, "n_train": N_TRAIN, "publish": P},
]
L = sum(g["count"] for g in GROUPS)
MIXED = {
    "name": "web-mixed",
    "seed": 5,
    "generations": 3,
    "repeats": 2,
    "data": {"kind": "gmm", "grid_size": 2, "spacing": 4.0, "std": 0.5},
    "metrics": ["frechet", "recall", "coverage"],
    "eval": {"n_samples": 100, "snapshot_size": 10},
    "store": {"checkpoint_every_s": 0},
    "web": {"lineages": GROUPS, "pool": {"size": S, "human_per_generation": {"kind": "linear", "from": H, "to": 0}}},
}
TEXT = {
    "name": "web-text",
    "seed": 0,
    "generations": 2,
    "data": {"kind": "grammar", "vocab_size": 50, "branching": 5, "seq_len": 12},
    "metrics": ["perplexity_real", "kl_to_truth"],
    "eval": {"n_samples": 50, "snapshot_size": 5},
    "web": {
        "lineages": [
            {"generator": {"kind": "ngram", "order": 2}, "count": 2, "n_train": 100, "publish": 50},
            {"generator": {"kind": "ngram", "order": 3}, "count": 1, "n_train": 100, "publish": 50},
        ],
        "pool": {"size": 400, "human_per_generation": 50},
    },
}
KEY = ["seed", "generation", "lineage", "metric"]


def mixed(change=None):
    config = copy.deepcopy(MIXED)
    if change is not None:
        change(config)
    return config


def canonical(frame):
    """Rows in one order (a web has one row per (seed, generation, lineage, metric))."""
    return frame.sort_values(KEY).reset_index(drop=True)[[*KEY, "value"]]


def value(m, generation, metric, lineage=-1):
    rows = m[(m.generation == generation) & (m.metric == metric) & (m.lineage == lineage)]
    return rows.value.to_numpy()


@pytest.fixture(scope="module")
def mixed_run():
    return autophagy.run(mixed(), out=None)


def test_a_mixed_family_web_writes_its_rows_per_lineage_and_for_the_pool(mixed_run):
    config, m = mixed_run.config, mixed_run.metrics
    assert config.engine == "sampled"
    assert not m.duplicated(KEY).any()
    assert set(m.lineage) == {-1, *range(L)}
    per_lineage = {"frechet", "recall", "coverage", "train_size", "frac_synthetic", "train_depth", "degenerate"}
    for (seed, t, lineage), part in m[m.lineage >= 0].groupby(["seed", "generation", "lineage"]):
        assert set(part.metric) == per_lineage, (seed, t, lineage)
    pool = set(m[m.lineage == -1].metric)
    assert {"pool_human_share", "pool_synthetic_age", "pool_size", "pool_frechet", "pool_recall", "pool_coverage"} <= pool
    assert {"lineage_sd_frechet", "lineage_q10_coverage", "lineage_q90_recall"} <= pool
    assert (m[m.metric == "degenerate"].value == 0).all()
    assert (m[m.metric == "train_size"].value == N_TRAIN).all()
    assert (value(m, 1, "pool_size", -1) == S).all() and (value(m, 3, "pool_size", -1) == S).all()
    # generation 1 draws from the human pool plus human arrivals: no lineage trains on synthetic
    # data, and every item published then has depth 1
    assert (m[(m.generation == 1) & (m.metric == "frac_synthetic")].value == 0).all()
    assert (value(m, 1, "pool_synthetic_age") == 1.0).all()
    # FIFO: the H arrivals and L·P published items push out as many of the S initial human items
    assert np.array_equal(value(m, 1, "pool_human_share"), np.full(2, (S - L * P) / S))
    # generation 2's draw holds human items (depth 0) and generation-1 items (depth 1) only
    g2 = m[(m.generation == 2) & (m.lineage >= 0)].pivot_table(index=["seed", "lineage"], columns="metric", values="value")
    assert (g2["frac_synthetic"] > 0).all()
    np.testing.assert_array_equal(g2["train_depth"], g2["frac_synthetic"])


def test_workers_receive_their_draws_not_the_pool(monkeypatch):
    seen = []
    original = LocalWorkers.map

    def spy(self, tasks, shared):
        seen.extend(tasks)
        return original(self, tasks, shared)

    monkeypatch.setattr(LocalWorkers, "map", spy)
    autophagy.run(mixed(lambda c: c.update(generations=1, repeats=1)), out=None)
    assert [task.lineage for task in seen] == list(range(L))
    for task in seen:
        assert task.x.shape == (N_TRAIN, 2) and task.human.shape == task.depth.shape == (N_TRAIN,)
        assert not any(isinstance(v, np.ndarray) and len(v) > N_TRAIN for v in vars(task).values())


def test_the_same_seed_gives_the_same_table_and_another_seed_another(mixed_run):
    again = autophagy.run(mixed(), out=None).metrics
    pd.testing.assert_frame_equal(canonical(again), canonical(mixed_run.metrics))
    other = autophagy.run(mixed(lambda c: c.update(seed=6)), out=None).metrics
    assert not np.array_equal(canonical(other).value, canonical(mixed_run.metrics).value)


def test_a_text_web_of_ngram_orders_2_and_3_runs():
    m = autophagy.run(copy.deepcopy(TEXT), out=None).metrics
    assert set(m.lineage) == {-1, 0, 1, 2}
    lineage_rows = m[(m.lineage >= 0) & m.metric.isin(["perplexity_real", "kl_to_truth"])]
    assert len(lineage_rows) == 2 * 3 * 2 and np.isfinite(lineage_rows.value).all() and (lineage_rows.value > 0).all()
    pool = m[(m.lineage == -1) & (m.metric == "pool_perplexity")].value
    assert len(pool) == 2 and np.isfinite(pool).all() and (pool > 1).all()


def test_local_process_and_cli_give_identical_tables(mixed_run, tmp_path):
    with lineage_backend("process", workers=2):
        on_process = autophagy.run(mixed(), out=None).metrics
    pd.testing.assert_frame_equal(canonical(on_process), canonical(mixed_run.metrics))
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(mixed()))
    assert main(["run", str(path), "--out", str(tmp_path / "runs"), "--backend", "process", "--workers", "2"]) == 0
    from_cli = pd.read_parquet(run_dir_for(mixed_run.config, tmp_path / "runs") / "metrics.parquet")
    pd.testing.assert_frame_equal(canonical(from_cli), canonical(mixed_run.metrics), check_dtype=False)


def test_ray_gives_the_table_of_local_and_so_does_a_sweep_on_ray(mixed_run, tmp_path):
    pytest.importorskip("ray")
    from autophagy.runner.sweep import run_sweep

    with lineage_backend("ray", workers=2):
        on_ray = autophagy.run(mixed(), out=None).metrics
        # a run that is itself a Ray task sends its lineages to the same cluster as nested tasks
        (summary,) = run_sweep([mixed_run.config], out=tmp_path, backend="ray", workers=2)
    assert summary["status"] == "complete", summary
    pd.testing.assert_frame_equal(canonical(on_ray), canonical(mixed_run.metrics))
    swept = pd.read_parquet(Path(summary["path"]) / "metrics.parquet")
    pd.testing.assert_frame_equal(canonical(swept), canonical(mixed_run.metrics), check_dtype=False)


def test_a_run_interrupted_after_generation_2_resumes_to_the_uninterrupted_table(mixed_run, tmp_path):
    with pytest.raises(Stop):
        autophagy.run(mixed(), out=tmp_path, progress=stop_after(2))
    resumed = autophagy.run(mixed(), out=tmp_path).metrics
    pd.testing.assert_frame_equal(canonical(resumed), canonical(mixed_run.metrics))


def test_a_sigkilled_web_resumes_to_the_uninterrupted_table(tmp_path):
    config = mixed(lambda c: c.update(generations=8, repeats=1))
    config_path = tmp_path / "web.json"
    config_path.write_text(json.dumps(config))
    script = f"import json, autophagy; autophagy.run(json.load(open({str(config_path)!r})), out={str(tmp_path / 'runs')!r})"
    env = {**os.environ, "PYTHONPATH": str(Path(autophagy.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    run_json = run_dir_for(autophagy.load_config(config), tmp_path / "runs") / "run.json"
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        try:
            if json.loads(run_json.read_text()).get("generations_done", 0) >= 2:
                break
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        time.sleep(0.01)
    assert proc.poll() is None, f"the run ended before it could be killed (exit {proc.returncode})"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    status = json.loads(run_json.read_text())
    assert 2 <= status["generations_done"] < 8 and status["status"] == "running", status
    resumed = autophagy.run(config, out=tmp_path / "runs").metrics
    pd.testing.assert_frame_equal(canonical(resumed), canonical(autophagy.run(config, out=None).metrics))


def test_a_groups_stages_curate_only_its_lineages_synthetic_draws():
    def curated(c):
        c["web"]["lineages"][1]["mitigation"] = [{"kind": "threshold", "score": "true_loglik", "keep": 0.5}]

    m = autophagy.run(mixed(curated), out=None).metrics
    stage_rows = m[m.metric == "removed_by_threshold"]
    # only the GMM group (lineages 2, 3), and only from generation 2 (generation 1 draws no synthetic items)
    assert set(stage_rows.lineage) == {2, 3} and set(stage_rows.generation) == {2, 3}
    wide = m[(m.lineage >= 0) & (m.generation >= 2)].pivot_table(index=["seed", "generation", "lineage"], columns="metric", values="value")
    kept, plain = wide.loc[wide.index.get_level_values("lineage").isin([2, 3])], wide.loc[~wide.index.get_level_values("lineage").isin([2, 3])]
    assert (plain["train_size"] == N_TRAIN).all()
    # keep: 0.5 keeps kept_count(n_s, 0.5) of the n_s synthetic items drawn; the human ones pass
    k = np.rint(kept["train_size"] * kept["frac_synthetic"]).astype(int)
    n_s = N_TRAIN - (kept["train_size"].astype(int) - k)
    assert (n_s > 0).all() and (kept["train_size"] < N_TRAIN).all()
    assert all(kk == kept_count(int(n), 0.5) for kk, n in zip(k, n_s, strict=True))
    np.testing.assert_allclose(kept["removed_by_threshold"], (n_s - k) / n_s, rtol=1e-12)
    np.testing.assert_allclose(kept["frac_synthetic_kept"], k / n_s, rtol=1e-12)
    assert (kept["threshold_score_kept"] >= kept["threshold_score_all"]).all()


@pytest.mark.parametrize(
    ("stage", "key"),
    [
        ({"kind": "rejection"}, r"web\.lineages\.1\.mitigation\.0\.kind"),
        ({"kind": "threshold", "score": "self_loglik", "keep": 0.5}, r"web\.lineages\.1\.mitigation\.0\.score"),
        ({"kind": "self_correct", "map": "exact"}, r"web\.lineages\.1\.mitigation\.0\.map"),
        ({"kind": "self_correct"}, r"web\.lineages\.1\.mitigation\.0\.map"),
    ],
    ids=["rejection", "self_loglik", "exact-map", "auto-map-on-vectors"],
)
def test_stages_that_need_the_generators_are_refused_at_load_in_one_line(stage, key):
    def with_stage(c):
        c["web"]["lineages"][1]["mitigation"] = [stage]

    with pytest.raises(InvalidParameterError, match=rf"^The '{key}' parameter must be .* in a web .*Got .* instead\.$") as err:
        autophagy.load_config(mixed(with_stage))
    assert "\n" not in str(err.value)


def test_a_web_refusal_exits_2_from_the_cli(tmp_path, capsys):
    def with_stage(c):
        c["web"]["lineages"][0]["mitigation"] = [{"kind": "rejection"}]

    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(mixed(with_stage)))
    assert main(["run", str(path), "--out", str(tmp_path / "runs")]) == 2
    assert "web.lineages.0.mitigation.0.kind" in capsys.readouterr().err


def test_the_engine_resumes_from_its_state_arrays():
    config = autophagy.load_config(mixed(lambda c: c.update(repeats=1)))
    engine = WebSampledEngine(config, config.run_id(), None)
    engine.advance(1, snapshot=False)
    saved = engine.state_arrays(1)
    assert {"s5/pool_x", "s5/pool_lineage", "s5/pool_depth", "s5/pool_published", "s5/pool_arrival"} <= set(saved)
    assert saved["s5/pool_x"].shape == (S, 2)
    a, _ = engine.advance(2, snapshot=True)
    b, _ = WebSampledEngine(config, config.run_id(), saved).advance(2, snapshot=True)
    np.testing.assert_array_equal(a.value, b.value)
    assert engine.compute_s > 0
