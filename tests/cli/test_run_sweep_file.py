"""``autophagy run`` on a sweep file (every run in turn, or ``--only`` one), ``autophagy.sweep``,
and overrides that fix a swept key."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

import autophagy
from autophagy.cli import main
from autophagy.runner.sweep import expand

SWEEP = {
    "name": "sweep-file",
    "generations": 2,
    "data": {"kind": "gaussian", "dim": 2},
    "generator": {"kind": "gaussian"},
    "loop": {"kind": "fully_synthetic", "n_real": 30, "n_synthetic": 30},
    "metrics": ["cov_trace"],
    "sweep": {"grid": {"loop.kind": ["fully_synthetic", "fresh"], "generator.bias": [1.0, 0.8]}, "seeds": 2},
}


@pytest.fixture
def sweep_file(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(SWEEP), encoding="utf-8")
    return path


def test_run_runs_every_point_of_a_sweep_file_as_sweep_does(sweep_file, tmp_path, capsys):
    assert main(["run", str(sweep_file), "--out", str(tmp_path / "a")]) == 0
    assert capsys.readouterr().out.count("rows in") == 8
    assert main(["sweep", str(sweep_file), "--out", str(tmp_path / "b"), "--backend", "local"]) == 0
    key = ["run", "seed", "generation", "metric"]
    a, b = (autophagy.load_metrics(tmp_path / d).sort_values(key).reset_index(drop=True) for d in ("a", "b"))
    pd.testing.assert_frame_equal(a, b)  # the same run ids, the same rows
    assert a["run"].nunique() == 8


def test_only_picks_one_run_by_index_or_run_id(sweep_file, tmp_path, capsys):
    configs = expand(sweep_file)
    assert main(["run", str(sweep_file), "--dry-run"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 8 and listed[3].split()[:2] == ["3", configs[3].run_id()]
    assert "seed=1  generator.bias=1.0, loop.kind=fully_synthetic" in listed[1]  # seeds innermost
    assert "seed=0  generator.bias=1.0, loop.kind=fresh" in listed[2]  # the file (keys sorted) sweeps bias outermost
    assert main(["run", str(sweep_file), "--out", str(tmp_path), "--only", "3"]) == 0
    assert main(["run", str(sweep_file), "--out", str(tmp_path), "--only", configs[5].run_id()[:6]]) == 0
    assert set(autophagy.catalog(tmp_path)["run_id"]) == {configs[3].run_id(), configs[5].run_id()}
    capsys.readouterr()
    assert main(["run", str(sweep_file), "--out", str(tmp_path), "--only", "8"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: The '--only' parameter must be an index 0..7 or the run id of one of the file's 8 runs (autophagy run FILE --dry-run lists them). Got '8' instead."


def test_an_override_of_a_swept_key_fixes_that_axis():
    configs = expand(SWEEP, ["loop.kind=fresh"])
    assert len(configs) == 4 and {c.loop.kind for c in configs} == {"fresh"}
    assert {c.generator.bias for c in configs} == {1.0, 0.8}
    guided = {**SWEEP, "generator": {"kind": "gaussian"}}
    assert len(expand(guided, ["generator.bias=0.5", "sweep.seeds=1"])) == 2  # bias fixed: loop.kind alone varies


def test_a_linked_key_overrides_its_partner_from_the_file():
    from autophagy.config import overridden

    raw = {"generator": {"kind": "ddpm", "bias": 1.0}}
    assert overridden(raw, ["generator.guidance=3"])["generator"] == {"kind": "ddpm", "guidance": 3}
    assert raw == {"generator": {"kind": "ddpm", "bias": 1.0}}  # the caller's mapping is left alone


def test_autophagy_sweep_is_the_cli_sweep_in_python(tmp_path):
    summaries = autophagy.sweep(SWEEP, ["sweep.seeds=1"], out=tmp_path, backend="local")
    assert [s["status"] for s in summaries] == ["complete"] * 4
    assert [s["run_id"] for s in summaries] == [c.run_id() for c in expand(SWEEP, ["sweep.seeds=1"])]
    again = autophagy.sweep(SWEEP, ["sweep.seeds=1"], out=tmp_path, backend="local")
    assert all(s["skipped"] for s in again)  # rerunning resumes: nothing left to do
