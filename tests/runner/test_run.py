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

import autophagy
from autophagy.exceptions import CorruptRunError, RunConflictError
from autophagy.runner.loop import run_dir_for

from ..conftest import small_config


def test_result_table_contract(tmp_path):
    result = autophagy.run(small_config(), out=tmp_path)
    m = result.metrics
    # issue 16 added the lineage column (0 in an ordinary single-lineage run)
    assert list(m.columns) == ["run", "seed", "generation", "metric", "value", "lineage"]
    assert m["lineage"].dtype == "int64" and (m["lineage"] == 0).all()
    assert set(m["seed"]) == {7, 8}, "repeat r runs with seed + r"
    assert set(m["generation"]) == {1, 2, 3, 4}
    assert {"cov_trace", "loglik_real", "train_size", "frac_synthetic", "degenerate"} <= set(m["metric"])
    assert result.path == tmp_path / "small" / result.run_id
    on_disk = pd.read_parquet(result.path / "metrics.parquet")
    pd.testing.assert_frame_equal(on_disk, m, check_dtype=False)
    status = json.loads((result.path / "run.json").read_text())
    assert status["status"] == "complete" and status["generations_done"] == 4


@pytest.mark.parametrize("engine", ["sampled", "exact"])
def test_same_seed_same_table_and_other_seed_other_table(engine):
    a = autophagy.run(small_config(engine=engine), out=None).metrics
    b = autophagy.run(small_config(engine=engine), out=None).metrics
    pd.testing.assert_frame_equal(a, b)
    other = autophagy.run(small_config(seed=99, engine=engine), out=None).metrics
    assert not np.allclose(other["value"].to_numpy(), a["value"].to_numpy())


def test_sampled_repeat_equals_the_single_seed_run():
    a = autophagy.run(small_config(engine="sampled"), out=None).metrics
    single = autophagy.run(small_config(seed=8, repeats=1, engine="sampled"), out=None).metrics
    mine = a[a["seed"] == 8].drop(columns="run").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, single.drop(columns="run").reset_index(drop=True))


def test_rerun_of_complete_run_reads_back(tmp_path):
    first = autophagy.run(small_config(), out=tmp_path)
    mtime = (first.path / "metrics.parquet").stat().st_mtime_ns
    second = autophagy.run(small_config(), out=tmp_path)
    pd.testing.assert_frame_equal(first.metrics, second.metrics, check_dtype=False)
    assert (first.path / "metrics.parquet").stat().st_mtime_ns == mtime


def test_directory_of_a_different_config_is_refused(tmp_path):
    first = autophagy.run(small_config(), out=tmp_path)
    with pytest.raises(RunConflictError, match="different config"):
        autophagy.run(small_config(**{"generator.bias": 0.5}), run_dir=first.path)
    # the finished run is untouched
    pd.testing.assert_frame_equal(pd.read_parquet(first.path / "metrics.parquet"), first.metrics, check_dtype=False)


def test_corrupted_metrics_file_names_the_file(tmp_path):
    config = small_config(generations=6)
    result = autophagy.run(config, out=tmp_path)
    (result.path / "metrics.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(CorruptRunError, match=r"cannot read .*metrics\.parquet"):
        autophagy.run(config, out=tmp_path)


RESUME_CONFIG = {
    "name": "resume",
    "seed": 3,
    "generations": 40,
    "repeats": 2,
    "data": {"kind": "gmm", "layout": "grid", "grid_size": 4, "std": 0.2},
    "generator": {"kind": "gmm", "bias": 0.9},
    "loop": {"kind": "accumulate", "n_real": 200, "n_synthetic": 100, "synthetic_from": "all"},
    "metrics": ["cov_trace", "loglik_real", "modes_covered"],
    "eval": {"n_samples": 300},
    "store": {"checkpoint_every_s": 0},  # commit every generation: the test kills after the third
}


EXACT_RESUME_CONFIG = {
    "name": "resume-exact",
    "seed": 5,
    "generations": 120,
    "repeats": 3,
    "data": {"kind": "gaussian", "dim": 4},
    "generator": {"kind": "gaussian", "bias": 0.9},
    "loop": {"kind": "mixed", "n_fixed": 30, "n_fresh": 10, "n_synthetic": 50, "synthetic_from": "all"},
    "metrics": ["gaussian_w2", "loglik_real", "precision"],
    "eval": {"n_samples": 300},
    "engine": "exact",
    "store": {"checkpoint_every_s": 0},
}


@pytest.mark.parametrize("config", [RESUME_CONFIG, EXACT_RESUME_CONFIG], ids=["sampled-gmm", "exact-gaussian"])
def test_resume_after_sigkill_gives_the_identical_table(tmp_path, config):
    config_path = tmp_path / "resume.json"
    config_path.write_text(json.dumps(config))
    script = (
        "import json, sys, autophagy; "
        f"autophagy.run(json.load(open({str(config_path)!r})), out={str(tmp_path / 'runs')!r})"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(autophagy.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    run_json = run_dir_for(autophagy.load_config(config), tmp_path / "runs") / "run.json"
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and proc.poll() is None:
        if run_json.exists():
            try:
                done = json.loads(run_json.read_text()).get("generations_done", 0)
            except json.JSONDecodeError:
                done = 0
            if done >= 3:
                break
        time.sleep(0.02)
    assert proc.poll() is None, f"the run ended before it could be killed (exit {proc.returncode})"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    status = json.loads(run_json.read_text())
    assert 3 <= status["generations_done"] < config["generations"] and status["status"] == "running", status
    resumed = autophagy.run(config, out=tmp_path / "runs")
    uninterrupted = autophagy.run(config, out=None)
    pd.testing.assert_frame_equal(resumed.metrics, uninterrupted.metrics, check_dtype=False)


def test_degenerate_generation_is_recorded_not_hidden():
    # λ tiny: the covariance collapses geometrically until it underflows; rows must say so.
    config = small_config(**{"generator.bias": 1e-30, "loop.kind": "fully_synthetic", "generations": 12, "repeats": 1})
    config["loop"].pop("n_synthetic")
    m = autophagy.run(config, out=None).metrics
    wide = m.pivot_table(index="generation", columns="metric", values="value", dropna=False)
    assert wide["degenerate"].iloc[-1] == 1.0
    assert wide["degenerate"].iloc[0] == 0.0


def test_gaussian_fully_synthetic_trace_follows_the_mle_recursion():
    # E[tr λΣ_t] = tr Σ · (λ (n-1)/n)^t for the MLE (each fit shrinks by (n-1)/n, each draw by λ).
    n, d, lam, generations, repeats = 20, 2, 0.9, 5, 300
    config = {
        "seed": 11,
        "generations": generations,
        "repeats": repeats,
        "data": {"kind": "gaussian", "dim": d},
        "generator": {"kind": "gaussian", "bias": lam, "estimator": "mle"},
        "loop": {"kind": "fully_synthetic", "n_real": n, "n_synthetic": n},
        "metrics": ["cov_trace"],
        "eval": {"n_samples": 10, "snapshot_size": 0},
    }
    m = autophagy.run(config, out=None).metrics
    traces = m[m["metric"] == "cov_trace"].pivot(index="seed", columns="generation", values="value")
    t = np.arange(1, generations + 1)
    theory = d * (lam * (n - 1) / n) ** t
    se = traces.std(ddof=1).to_numpy() / np.sqrt(repeats)
    # 4 standard errors of the Monte-Carlo mean: fails by chance with probability ~6e-5 per point
    assert np.all(np.abs(traces.mean().to_numpy() - theory) < 4 * se), (traces.mean().to_numpy(), theory, se)
