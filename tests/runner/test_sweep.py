"""Sweeps at scale: backends, resumability after SIGKILL, concurrent sweeps, failures, status.

Each reliability property of a sweep is checked on real processes: the sweep command runs as
a subprocess (its own process group, so SIGKILL takes the workers too), and the resulting run
store is compared with that of an uninterrupted sweep, run id by run id and value by value.
"""

from __future__ import annotations

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
from autophagy.exceptions import InvalidParameterError, RunBusyError
from autophagy.runner.sweep import expand, run_sweep
from autophagy.store.lock import RunLock, is_locked

#: Catalog columns that record how a run was computed, not what it computed.
BOOKKEEPING_COLUMNS = ["path", "attempts", "compute_s"]


def sweep_config(generations: int = 4, n: int = 100, seeds: int = 2) -> dict:
    """A grid of 2 loops x 2 biases x ``seeds`` seeds of a small sampled Gaussian loop."""
    return {
        "name": "grid",
        "seed": 3,
        "generations": generations,
        "engine": "sampled",
        "data": {"kind": "gaussian", "dim": 3},
        "generator": {"kind": "gaussian"},
        "loop": {"kind": "fully_synthetic", "n_real": n, "n_synthetic": n},
        "metrics": ["frechet", "cov_trace"],
        "eval": {"n_samples": 200},
        "sweep": {"grid": {"loop.kind": ["fully_synthetic", "fresh"], "generator.bias": [1.0, 0.7]}, "seeds": seeds},
        "store": {"checkpoint_every_s": 0},  # commit every generation: tests kill runs part-way by their progress
    }


def as_interrupted_at(folder: Path, generation: int) -> None:
    """Make a finished run directory look as a run killed after ``generation`` leaves it: its
    commit record (what resuming trusts) and run.json say in progress at that generation."""
    commit = json.loads((folder / "commit.json").read_text())
    (folder / "commit.json").write_text(json.dumps({**commit, "generation": generation, "complete": False}))
    status = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**status, "status": "running", "generations_done": generation}))


def write_spec(folder: Path, config: dict) -> Path:
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def sweep_command(spec: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "autophagy.cli", "sweep", str(spec), "--out", str(out), *extra]


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=BOOKKEEPING_COLUMNS).sort_values("run_id").reset_index(drop=True)


def statuses(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*/*/run.json"))]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted sweep (in this process) that the others must reproduce."""
    out = tmp_path_factory.mktemp("reference")
    summaries = run_sweep(expand(sweep_config(generations=30, n=1000, seeds=3)), out=out, backend="local")
    assert {s["status"] for s in summaries} == {"complete"} and len(summaries) == 12
    return autophagy.catalog(out), autophagy.load_metrics(out)


def test_a_sigkilled_sweep_rerun_gives_the_uninterrupted_catalog(tmp_path, reference):
    spec, out = write_spec(tmp_path, sweep_config(generations=30, n=1000, seeds=3)), tmp_path / "runs"
    command = sweep_command(spec, out, "--workers", "2")
    victim = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while sum(s["status"] == "complete" for s in statuses(out)) < 3 and victim.poll() is None:
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.01)
    os.killpg(victim.pid, signal.SIGKILL)  # the sweep and its workers, mid-way
    victim.wait()
    left = statuses(out)
    assert len(left) == 12 and 3 <= sum(s["status"] == "complete" for s in left) < 12, [s["status"] for s in left]

    assert main(["status", str(out), "--format", "json"]) == 0  # from disk alone, nobody holds a lock now
    catalog = autophagy.catalog(out)
    assert not catalog["status"].isin(["running"]).any()
    assert set(catalog["status"]) <= {"complete", "pending", "interrupted"}

    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    catalog, metrics = autophagy.catalog(out), autophagy.load_metrics(out)
    want_catalog, want_metrics = reference
    assert catalog["run_id"].is_unique and len(catalog) == 12
    pd.testing.assert_frame_equal(comparable(catalog), comparable(want_catalog))
    assert not metrics.duplicated(["run", "seed", "generation", "metric"]).any()
    pd.testing.assert_frame_equal(metrics, want_metrics)
    # killed runs resumed where they stopped: every run was started at most twice
    assert all(1 <= s["attempts"] <= 2 for s in statuses(out))


def test_two_sweeps_into_one_store_compute_each_run_once(tmp_path, reference):
    spec, out = write_spec(tmp_path, sweep_config(generations=30, n=1000, seeds=3)), tmp_path / "runs"
    command = sweep_command(spec, out, "--workers", "2")
    first, second = (subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2))
    for sweep in (first, second):
        stdout, stderr = sweep.communicate(timeout=300)
        assert sweep.returncode == 0, stderr
        assert "12 of 12 runs complete" in stdout
    assert [s["attempts"] for s in statuses(out)] == [1] * 12  # nobody computed a run twice
    want_catalog, want_metrics = reference
    pd.testing.assert_frame_equal(comparable(autophagy.catalog(out)), comparable(want_catalog))
    pd.testing.assert_frame_equal(autophagy.load_metrics(out), want_metrics)


@pytest.mark.parametrize("backend", ["local", "process"])
def test_a_failing_run_is_marked_failed_and_the_others_finish(tmp_path, backend):
    configs = expand(sweep_config(seeds=1))
    broken = configs[1]
    run_sweep([broken], out=tmp_path, backend="local")
    folder = next(tmp_path.glob(f"grid/{broken.run_id()}"))
    (folder / "state.npz").write_bytes(b"not a zip archive")  # a damaged disk, say
    as_interrupted_at(folder, 2)
    events = []
    summaries = run_sweep(configs, out=tmp_path, backend=backend, workers=2, retries=2, on_event=events.append)
    by_id = {s["run_id"]: s for s in summaries}
    failed = by_id[broken.run_id()]
    assert failed["status"] == "failed" and failed["attempts"] == 3
    assert failed["error"].startswith("CorruptRunError: cannot read") and "state.npz" in failed["error"]
    assert sum(e["kind"] == "retry" for e in events) == 2
    assert [s["status"] for s in summaries if s is not failed] == ["complete"] * 3
    recorded = json.loads((folder / "run.json").read_text())
    assert recorded["status"] == "failed" and recorded["error"] == failed["error"]
    table = autophagy.catalog(tmp_path)
    assert table.set_index("run_id").loc[broken.run_id(), "status"] == "failed"


def test_the_cli_reports_failures_with_exit_code_1_and_status_shows_them(tmp_path, capsys):
    spec = write_spec(tmp_path, sweep_config(seeds=1))
    configs = expand(spec)
    run_sweep(configs[:1], out=tmp_path / "runs", backend="local")
    folder = next((tmp_path / "runs").glob(f"grid/{configs[0].run_id()}"))
    (folder / "state.npz").write_bytes(b"junk")
    as_interrupted_at(folder, 4)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "runs"), "--retries", "0", "--workers", "1"]) == 1
    captured = capsys.readouterr()
    assert "3 of 4 runs complete" in captured.out and f"FAILED {configs[0].run_id()} after 1 attempt(s)" in captured.err
    assert main(["status", str(tmp_path / "runs")]) == 0
    shown = capsys.readouterr().out
    assert f"FAILED {configs[0].run_id()}" in shown and "1 of 4 runs not complete" in shown


BACKENDS = ["local", "process", "ray"]


def test_every_backend_gives_identical_metrics(tmp_path):
    pytest.importorskip("ray", reason="the 'ray' extra is not installed (pip install 'autophagy[ray]')")
    configs = expand(sweep_config(seeds=2))
    results = {}
    for backend in BACKENDS:
        summaries = run_sweep(configs, out=tmp_path / backend, backend=backend, workers=2)
        assert [s["status"] for s in summaries] == ["complete"] * 8, summaries
        results[backend] = autophagy.load_metrics(tmp_path / backend)
    assert len(results["local"]) == 8 * 4 * 7  # runs x generations x rows per generation
    for backend in BACKENDS[1:]:
        pd.testing.assert_frame_equal(results[backend], results["local"])
    again = run_sweep(configs, out=tmp_path / "ray", backend="ray", workers=2)
    assert all(s["skipped"] for s in again)  # a rerun finds every run finished, on any backend


def test_the_sweep_writes_every_run_as_pending_before_computing(tmp_path):
    configs = expand(sweep_config(seeds=1))
    from autophagy.runner.sweep import plan

    runs = plan(configs, tmp_path)
    assert [r.complete for r in runs] == [False] * 4
    assert [s["status"] for s in statuses(tmp_path)] == ["pending"] * 4
    assert set(autophagy.catalog(tmp_path)["status"]) == {"pending"}
    result = autophagy.run(configs[0], out=tmp_path)
    assert plan(configs, tmp_path)[0].complete  # planning again keeps finished runs
    assert json.loads((result.path / "run.json").read_text())["status"] == "complete"


def test_a_run_held_by_another_process_is_busy_and_status_says_running(tmp_path):
    config = autophagy.load_config({k: v for k, v in sweep_config().items() if k != "sweep"})
    from autophagy.runner.loop import run_dir_for

    folder = run_dir_for(config, tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom autophagy.store.lock import RunLock\n"
         "with RunLock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)", str(folder)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert is_locked(folder)
        with pytest.raises(RunBusyError, match="another process is computing the run"):
            autophagy.run(config, out=tmp_path)
        (folder / "config.yaml").write_text(yaml.safe_dump(config.to_dict()))
        (folder / "run.json").write_text(json.dumps({"run_id": config.run_id(), "name": "grid", "status": "running"}))
        assert autophagy.catalog(tmp_path)["status"].tolist() == ["running"]
    finally:
        holder.kill()
        holder.wait()
    assert not is_locked(folder)  # the kernel released the dead holder's lock
    assert autophagy.catalog(tmp_path)["status"].tolist() == ["interrupted"]
    with RunLock(folder):
        assert is_locked(folder)


def test_catalog_where_filters_on_config_keys_and_final_metrics(tmp_path, capsys):
    configs = expand(sweep_config(seeds=2))
    run_sweep(configs, out=tmp_path, backend="local")
    table = autophagy.catalog(tmp_path)
    assert len(table) == 8 and table["run_id"].is_unique
    metrics = autophagy.load_metrics(tmp_path)
    last = metrics[metrics["generation"] == 4].groupby(["run", "metric"])["value"].mean().unstack()
    np.testing.assert_allclose(table.set_index("run_id").loc[last.index, "final.frechet"], last["frechet"], rtol=1e-12)
    fresh = autophagy.catalog(tmp_path, where="loop.kind = 'fresh' AND generator.bias < 1")
    assert len(fresh) == 2 and set(fresh["loop.kind"]) == {"fresh"} and set(fresh["generator.bias"]) == {0.7}
    cutoff = float(table["final.frechet"].median())
    high = autophagy.catalog(tmp_path, where=[f"final.frechet > {cutoff}", "seed = 4"])
    assert set(high["run_id"]) == set(table[(table["final.frechet"] > cutoff) & (table["seed"] == 4)]["run_id"])
    with pytest.raises(InvalidParameterError, match=r"'--where' parameter must be SQL over the columns \[.*'loop.kind'.*text in single quotes"):
        autophagy.catalog(tmp_path, where="loop.kind = fresh")
    assert main(["runs", str(tmp_path), "--where", "loop.kind = 'fresh'", "--format", "csv"]) == 0
    listed = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert len(listed) == 4 and "final.cov_trace" in listed.columns and "generator.bias" in listed.columns
    assert main(["runs", str(tmp_path), "--where", "nonsense ="]) == 2


@pytest.mark.parametrize(("args", "message"), [
    (["--backend", "spark"], "'--backend' parameter must be one of local, process, ray. Got 'spark'"),
    (["--retries", "-1"], "'--retries' parameter must be an int >= 0. Got -1"),
    (["--address", "ray://head:10001"], "'--address' parameter must be given only with --backend ray"),
])
def test_bad_sweep_options_exit_2_before_any_work(tmp_path, capsys, args, message):
    spec = write_spec(tmp_path, sweep_config(seeds=1))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "runs"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_worker_killed_mid_run_fails_its_task_which_is_retried_to_the_same_result(tmp_path, reference):
    """A worker process dying (OOM killer, lost node) breaks the pool: the run is retried on a new
    pool, resumes after its last finished generation and ends with the uninterrupted values."""
    import threading

    configs = expand(sweep_config(generations=30, n=1000, seeds=3))
    victims: list[int] = []

    def kill_one_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for status in statuses(tmp_path):
                if status["status"] == "running" and status.get("generations_done", 0) >= 3 and status.get("pid") != os.getpid():
                    os.kill(status["pid"], signal.SIGKILL)
                    victims.append(status["pid"])
                    return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    events = []
    summaries = run_sweep(configs, out=tmp_path, backend="process", workers=2, retries=2, on_event=events.append)
    killer.join()
    assert victims, "no worker was caught mid-run"
    assert [s["status"] for s in summaries] == ["complete"] * 12
    retried = [e for e in events if e["kind"] == "retry"]
    assert retried and all(e["error"].startswith("worker process died") for e in retried)
    assert len(retried) <= 4  # the pool held at most two tasks per worker when it broke
    want_catalog, want_metrics = reference
    pd.testing.assert_frame_equal(comparable(autophagy.catalog(tmp_path)), comparable(want_catalog))
    pd.testing.assert_frame_equal(autophagy.load_metrics(tmp_path), want_metrics)


@pytest.fixture
def ray_head(tmp_path):
    """A Ray cluster head started apart from the test process (``ray start --head``)."""
    pytest.importorskip("ray", reason="the 'ray' extra is not installed (pip install 'autophagy[ray]')")
    ray_cli = Path(sys.executable).with_name("ray")
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    port = "6391"
    started = subprocess.run(
        [str(ray_cli), "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert started.returncode == 0, started.stderr
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(ray_cli), "stop", "--force"], env=env, capture_output=True, timeout=120)


def test_a_sweep_joins_a_ray_cluster_at_an_address(tmp_path, ray_head, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    configs = expand(sweep_config(seeds=1))
    spec = write_spec(tmp_path, sweep_config(seeds=1))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "cluster"), "--backend", "ray", "--address", ray_head]) == 0
    run_sweep(configs, out=tmp_path / "local", backend="local")
    pd.testing.assert_frame_equal(autophagy.load_metrics(tmp_path / "cluster"), autophagy.load_metrics(tmp_path / "local"))
    import ray

    assert not ray.is_initialized()  # the driver disconnected; the cluster stays up for others
