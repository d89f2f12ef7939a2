"""The run store's journal: nothing lost silently, crashes at any step resume to identical rows,
readers only ever see whole committed generations, corrupt runs never block the store."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import autophagy
from autophagy.cli import main
from autophagy.exceptions import CorruptRunError, InvalidParameterError, RecoveryWarning
from autophagy.runner.loop import run_dir_for
from autophagy.store import journal as journal_module
from autophagy.store.catalog import runs_table
from autophagy.store.journal import covered_prefix, read_commit
from tests.interrupt import Stop, stop_after


def config(**changes) -> dict:
    """A small sampled Gaussian loop (about 0.1 s), committed every generation unless changed."""
    base = {
        "name": "journal",
        "seed": 11,
        "generations": 12,
        "repeats": 3,
        "engine": "sampled",
        "data": {"kind": "gaussian", "dim": 3},
        "generator": {"kind": "gaussian", "bias": 0.9},
        "loop": {"kind": "accumulate", "n_real": 50, "n_synthetic": 30},
        "metrics": ["cov_trace", "loglik_real", "frechet"],
        "eval": {"n_samples": 100, "snapshot_size": 20},
        "store": {"checkpoint_every_s": 0},
    }
    base.update(changes)
    return base


@pytest.fixture(scope="module")
def whole() -> pd.DataFrame:
    """The uninterrupted run, in memory: what every recovered run must end with."""
    return autophagy.run(config(), out=None).metrics


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    key = ["seed", "generation", "metric"]
    left = a.sort_values(key).reset_index(drop=True)
    right = b.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right, check_dtype=False)


def test_covered_prefix_finds_the_first_generation_with_a_missing_repeat():
    seed = np.array([5, 6, 5, 6, 5, 5, 6])
    generation = np.array([1, 1, 2, 2, 3, 4, 4])
    assert covered_prefix(seed, generation, [5, 6], 4) == 2  # generation 3 lacks seed 6
    assert covered_prefix(seed, generation, [5, 6], 2) == 2
    assert covered_prefix(seed, generation, [5], 4) == 4
    assert covered_prefix(seed[:0], generation[:0], [5, 6], 3) == 0
    uneven = np.array([5, 6, 6])  # seed 6 has two rows at generation 1, seed 5 one
    assert covered_prefix(uneven, np.array([1, 1, 1]), [5, 6], 1) == 0


def test_a_finished_run_whose_metrics_file_was_deleted_is_recomputed_not_reported_complete(tmp_path, whole):
    first = autophagy.run(config(), out=tmp_path)
    (first.path / "metrics.parquet").unlink()
    assert runs_table(tmp_path)["status"].tolist() == ["corrupt"]  # shown, with its reason
    with pytest.warns(RecoveryWarning, match=r"metrics\.parquet is missing; recomputing from generation 0"):
        again = autophagy.run(config(), out=tmp_path)
    same(again.metrics, whole)
    same(autophagy.load_metrics(tmp_path).drop(columns="name"), whole)
    assert json.loads((first.path / "run.json").read_text())["status"] == "complete"


def test_a_killed_run_whose_journal_lost_a_part_recomputes_from_its_last_consistent_checkpoint(tmp_path, whole):
    with pytest.raises(Stop):
        autophagy.run(config(), out=tmp_path, progress=stop_after(7))
    folder = run_dir_for(autophagy.load_config(config()), tmp_path)
    commit = read_commit(folder)
    assert commit is not None and commit.generation == 7 and not commit.complete
    # seven checkpoints merged like a binary counter: 7 = 4 + 2 + 1 generations
    assert [(p.first, p.last) for p in commit.parts] == [(1, 4), (5, 6), (7, 7)]
    assert {Path(p.file).name for p in commit.parts} <= {p.name for p in (folder / "journal").iterdir()}
    (folder / commit.parts[1].file).unlink()  # generations 5 and 6
    with pytest.warns(RecoveryWarning, match="recomputing from generation 0"):
        resumed = autophagy.run(config(), out=tmp_path)
    same(resumed.metrics, whole)


def test_a_part_with_fewer_rows_than_committed_is_recomputed(tmp_path, whole):
    with pytest.raises(Stop):
        autophagy.run(config(), out=tmp_path, progress=stop_after(5))
    folder = run_dir_for(autophagy.load_config(config()), tmp_path)
    part = folder / read_commit(folder).parts[-1].file
    rows = pd.read_parquet(part)
    rows.iloc[: len(rows) // 2].to_parquet(part, index=False)  # a valid file, half the rows
    with pytest.warns(RecoveryWarning, match="rows where the commit record says"):
        resumed = autophagy.run(config(), out=tmp_path)
    same(resumed.metrics, whole)


@pytest.mark.parametrize("name", ["metrics.parquet", "state.npz"])
def test_a_truncated_file_is_refused_in_one_line_naming_it(tmp_path, capsys, name):
    cfg = config()
    if name == "state.npz":  # a run in progress: its state is what resuming reads
        with pytest.raises(Stop):
            autophagy.run(cfg, out=tmp_path, progress=stop_after(4))
    else:
        autophagy.run(cfg, out=tmp_path)
    folder = run_dir_for(autophagy.load_config(cfg), tmp_path)
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptRunError, match=rf"cannot read {folder / name}") as caught:
        autophagy.run(cfg, out=tmp_path)
    assert "\n" not in str(caught.value) and "delete it to recompute" in str(caught.value)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(cfg))
    assert main(["run", str(spec), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and name in err[0] and "Traceback" not in err[0]


def test_one_corrupt_run_is_shown_and_skipped_by_status_runs_query_and_report(tmp_path, capsys):
    good = autophagy.run(config(), out=tmp_path)
    bad = autophagy.run(config(seed=12), out=tmp_path)
    (bad.path / "run.json").write_text('{"status": "compl')  # half-written by hand, say
    table = runs_table(tmp_path).set_index("run_id")
    assert table.loc[good.run_id, "status"] == "complete" and table.loc[bad.path.name, "status"] == "corrupt"
    assert "run.json" in table.loc[bad.path.name, "error"]
    assert main(["status", str(tmp_path)]) == 0
    assert f"CORRUPT {bad.path.name}: cannot read {bad.path / 'run.json'}" in capsys.readouterr().out
    assert main(["runs", str(tmp_path)]) == 0
    capsys.readouterr()
    assert set(autophagy.query(tmp_path, "SELECT DISTINCT run FROM metrics")["run"]) == {good.run_id}
    assert set(autophagy.catalog(tmp_path)["status"]) == {"complete", "corrupt"}
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "report")]) == 0


def test_query_is_read_only(tmp_path):
    autophagy.run(config(), out=tmp_path)
    target = tmp_path / "stolen.csv"
    for sql in (
        f"COPY (SELECT * FROM metrics) TO '{target}'",
        f"SELECT * FROM read_csv('{tmp_path / 'journal' / '*' / 'run.json'}')",
        f"ATTACH '{tmp_path / 'x.db'}'",
        "SET enable_external_access = true",
    ):
        with pytest.raises(InvalidParameterError, match="The query failed"):
            autophagy.query(tmp_path, sql)
    assert not target.exists() and not (tmp_path / "x.db").exists()
    assert len(autophagy.query(tmp_path)) > 0


def test_files_get_the_mode_of_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        from autophagy.store import rundir

        rundir._umask.cache_clear()
        result = autophagy.run(config(), out=tmp_path)
    finally:
        os.umask(old)
        rundir._umask.cache_clear()
    for name in ("metrics.parquet", "state.npz", "run.json", "config.yaml", "commit.json", "samples/real.npy"):
        assert stat.S_IMODE((result.path / name).stat().st_mode) == 0o644, name


def test_legacy_run_directories_without_a_commit_record_are_read_and_resumed(tmp_path, whole):
    """A directory written before the journal: metrics.parquet (rewritten every generation)
    and state.npz, no commit record."""
    with pytest.raises(Stop):
        autophagy.run(config(), out=tmp_path, progress=stop_after(6))
    folder = run_dir_for(autophagy.load_config(config()), tmp_path)
    rows = pd.concat([pd.read_parquet(folder / p.file) for p in read_commit(folder).parts])
    rows.to_parquet(folder / "metrics.parquet", index=False)
    (folder / "commit.json").unlink()
    shutil.rmtree(folder / "journal")
    assert len(autophagy.load_metrics(tmp_path)) == len(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RecoveryWarning)  # nothing is missing: no recomputation
        resumed = autophagy.run(config(), out=tmp_path)
    same(resumed.metrics, whole)
    assert read_commit(folder).complete


class Crash(Exception):
    """A simulated crash at a chosen write."""


@pytest.mark.parametrize("step", range(1, 9))
def test_a_crash_at_any_write_of_a_checkpoint_or_the_compaction_resumes_to_identical_rows(tmp_path, whole, monkeypatch, step):
    """Each write of the journal (part, state, commit record; the compaction's metrics.parquet,
    state, commit record) is made to fail in turn; the run resumes to the uninterrupted rows."""
    calls = {"n": 0}
    real_write_part, real_write_commit = journal_module.write_part, journal_module.write_commit
    real_save_state = journal_module.RunDir.save_state

    def counted(function):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == crash_at:
                raise Crash(f"write {crash_at}")
            return function(*args, **kwargs)

        return wrapper

    total_writes = 3 * 12  # 11 checkpoints and the compaction, three writes each
    crash_at = {1: 1, 2: 2, 3: 3, 4: 16, 5: 17, 6: total_writes - 2, 7: total_writes - 1, 8: total_writes}[step]
    monkeypatch.setattr(journal_module, "write_part", counted(real_write_part))
    monkeypatch.setattr(journal_module, "write_commit", counted(real_write_commit))
    monkeypatch.setattr(journal_module.RunDir, "save_state", counted(real_save_state))
    with pytest.raises(Crash):
        autophagy.run(config(), out=tmp_path)
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecoveryWarning)
        resumed = autophagy.run(config(), out=tmp_path)
    same(resumed.metrics, whole)
    same(autophagy.load_metrics(tmp_path).drop(columns="name"), whole)
    folder = resumed.path
    assert read_commit(folder).complete and not (folder / "journal").exists()


SCRIPT = """
import json, sys, autophagy
autophagy.run(json.loads(sys.argv[1]), out=sys.argv[2])
"""


def _spawn(cfg: dict, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(autophagy.__file__).parents[1])}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, json.dumps(cfg), str(out)], env=env)


def test_sigkill_at_random_moments_resumes_to_identical_tables(tmp_path):
    """Kill a run through the store at random instants after it starts computing (checkpoints
    about every 20 ms, so kills land inside checkpoints and the compaction too), rerun, and
    compare with the uninterrupted table."""
    cfg = config(generations=150, repeats=2, store={"checkpoint_every_s": 0.02})
    reference = autophagy.run(cfg, out=None).metrics
    rng = random.Random(14)
    out = tmp_path / "runs"
    status = run_dir_for(autophagy.load_config(cfg), out) / "run.json"
    kills = 0
    for _ in range(5):
        proc = _spawn(cfg, out)
        deadline = time.monotonic() + 60
        while proc.poll() is None and not status.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecoveryWarning)
        final = autophagy.run(cfg, out=out)
    same(final.metrics, reference)
    same(autophagy.load_metrics(out).drop(columns="name"), reference)
    assert kills >= 2, "the run was not caught alive often enough to test anything"


def test_a_concurrent_reader_only_ever_sees_whole_committed_generations(tmp_path):
    cfg = config(generations=80, repeats=3)
    reference = autophagy.run(cfg, out=None).metrics
    out = tmp_path / "runs"
    proc = _spawn(cfg, out)
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if not list(out.glob("*/*/run.json")):
                time.sleep(0.01)
                continue
            try:
                rows = autophagy.load_metrics(out).drop(columns="name")
            except InvalidParameterError:  # no committed rows yet
                continue
            last = int(rows["generation"].max())
            seen.add(last)
            # whole generations 1..last, every row equal to the uninterrupted run's
            same(rows, reference[reference["generation"] <= last])
    finally:
        proc.wait(timeout=120)
    assert proc.returncode == 0
    assert len(seen) >= 2, f"the reader saw too few states of the run: {sorted(seen)}"


def test_a_sweep_recomputes_a_run_whose_rows_were_lost_instead_of_counting_it_complete(tmp_path, capsys):
    spec = tmp_path / "sweep.json"
    spec.write_text(json.dumps(config(generations=5, sweep={"grid": {"generator.bias": [1.0, 0.8]}, "seeds": 3})))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "runs"), "--backend", "local"]) == 0
    before = autophagy.load_metrics(tmp_path / "runs")
    victim = sorted((tmp_path / "runs" / "journal").iterdir())[2]
    (victim / "metrics.parquet").unlink()
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecoveryWarning)
        assert main(["sweep", str(spec), "--out", str(tmp_path / "runs"), "--backend", "local"]) == 0
    out = capsys.readouterr().out
    assert "6 of 6 runs complete" in out
    pd.testing.assert_frame_equal(autophagy.load_metrics(tmp_path / "runs"), before)
    assert json.loads((victim / "run.json").read_text())["attempts"] == 2  # computed again, not skipped


def test_out_pointing_at_a_file_is_refused_before_any_work(tmp_path):
    afile = tmp_path / "results.txt"
    afile.write_text("mine")
    with pytest.raises(InvalidParameterError, match=r"The 'out' parameter must be a directory .* an existing file"):
        autophagy.run(config(), out=afile)
    with pytest.raises(InvalidParameterError, match=r"The 'run_dir' parameter must be a directory .* an existing file"):
        autophagy.run(config(), run_dir=afile / "run")
    assert afile.read_text() == "mine"


def test_a_metrics_file_written_before_the_lineage_column_reads_with_lineage_zero(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from autophagy.store.journal import metric_schema, read_part

    old = pa.table({"run": ["r"], "seed": [0], "generation": [1], "metric": ["cov_trace"], "value": [1.5]})
    pq.write_table(old, tmp_path / "old.parquet")
    table = read_part(tmp_path / "old.parquet")
    assert table.schema == metric_schema() and table.column("lineage").to_pylist() == [0]


def test_load_metrics_reads_old_and_new_runs_alike(tmp_path):
    """A run whose metrics file predates the lineage column sits beside a new one: both read, lineage 0."""
    import pyarrow.parquet as pq

    import autophagy

    config = {"name": "old", "generations": 2, "data": {"kind": "gaussian", "dim": 2}, "generator": {"kind": "gaussian"},
              "loop": {"kind": "fresh", "n_real": 20, "n_synthetic": 20}, "metrics": ["cov_trace"]}
    old = autophagy.run(config, out=tmp_path)
    table = pq.read_table(old.path / "metrics.parquet")
    pq.write_table(table.drop(["lineage"]), old.path / "metrics.parquet")
    autophagy.run({**config, "name": "new"}, out=tmp_path)
    frame = autophagy.load_metrics(tmp_path)
    assert set(frame["name"]) == {"old", "new"} and frame["lineage"].dtype == "int64" and (frame["lineage"] == 0).all()
