"""The CLI: exit codes, one-line errors, dry runs, listings."""

import json

import pytest
import yaml

from autophagy.cli import main

from ..conftest import small_config


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(small_config()))
    return path


def test_run_writes_a_run_and_resumes(tmp_path, config_file, capsys):
    out = tmp_path / "runs"
    assert main(["run", str(config_file), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "rows in" in text and "cov_trace" in text
    assert len(list(out.glob("small/*/metrics.parquet"))) == 1
    assert main(["run", str(config_file), "--out", str(out)]) == 0  # already complete: reads back


def test_dry_run_prints_every_default_and_applies_overrides(config_file, capsys):
    assert main(["run", str(config_file), "--dry-run", "--set", "generator.bias=0.5"]) == 0
    resolved = yaml.safe_load(capsys.readouterr().out)
    assert resolved["generator"]["bias"] == 0.5
    assert resolved["eval"]["nearest_k"] == 5 and resolved["loop"]["synthetic_from"] == "last"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("generator.bias=0", "'generator.bias' parameter must be greater than 0. Got 0"),
        ("loop.kind=nope", "'loop.kind' parameter must be one of"),
        ("loop.typo=1", "Unknown key 'loop.typo'"),
        ("generator.bias", "must look like key=value"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path, config_file, capsys, override, message):
    out = tmp_path / "runs"
    assert main(["run", str(config_file), "--out", str(out), "--set", override]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists(), "nothing is written for a bad config"


def test_missing_file_and_bad_format_exit_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert main(["list", "--format", "xml"]) == 2
    assert "'--format' parameter must be one of table, json" in capsys.readouterr().err


def test_list_names_every_registered_component(capsys):
    assert main(["list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {(r["group"], r["name"]) for r in rows}
    for expected in [("data", "gmm"), ("generator", "kde"), ("loop", "accumulate_subsample"), ("metric", "coverage")]:
        assert expected in names
    assert all(r["summary"] for r in rows)


def test_sweep_runs_a_grid_resumably_and_runs_query_and_catalog(tmp_path, capsys):
    config = small_config(generations=2, repeats=1)
    config["sweep"] = {"grid": {"generator.bias": [1.0, 0.5], "loop.kind": ["fresh", "augment"]}, "seeds": 2}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "runs"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0
    assert "8 of 8 runs complete" in capsys.readouterr().out
    assert len(list(out.glob("small/*/metrics.parquet"))) == 8
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0  # resumes: nothing to do
    capsys.readouterr()
    assert main(["runs", str(out), "--format", "json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert len(listing) == 8 and {r["status"] for r in listing} == {"complete"}
    assert {r["generator.bias"] for r in listing} == {1.0, 0.5} and {r["seed"] for r in listing} == {7, 8}
    assert main(["query", str(out), "SELECT count(DISTINCT run) AS n FROM metrics", "--format", "csv"]) == 0
    assert capsys.readouterr().out.strip().splitlines() == ["n", "8"]
    assert main(["query", str(out), "SELECT nonsense FROM metrics"]) == 2


def test_run_refuses_a_sweep_config(tmp_path, capsys):
    config = small_config()
    config["sweep"] = {"grid": {"generator.bias": [1.0, 0.5]}}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", str(path)]) == 2
    assert "only for 'autophagy sweep'" in capsys.readouterr().err


def test_sweep_on_the_process_pool_matches_in_process(tmp_path):
    from autophagy.runner.sweep import expand, run_sweep

    config = small_config(generations=2, repeats=1)
    config["sweep"] = {"grid": {"generator.bias": [1.0, 0.6]}, "seeds": 1}
    configs = expand(config)
    events = []
    pooled = run_sweep(configs, out=tmp_path / "pool", workers=2, on_event=events.append)
    serial = run_sweep(configs, out=tmp_path / "serial", workers=1)
    assert [s["status"] for s in pooled] == ["complete", "complete"]
    assert [s["run_id"] for s in pooled] == [s["run_id"] for s in serial]
    assert sum(e["kind"] == "generation" for e in events) == 4 and sum(e["kind"] == "run" for e in events) == 2
    import pandas as pd

    for a, b in zip(pooled, serial, strict=True):
        pd.testing.assert_frame_equal(
            pd.read_parquet(f"{a['path']}/metrics.parquet"), pd.read_parquet(f"{b['path']}/metrics.parquet")
        )


@pytest.mark.parametrize(("args", "message"), [
    (["demo", "--repeats", "0"], "'--repeats' parameter must be an int >= 1. Got 0"),
    (["demo", "--workers", "-2"], "'--workers' parameter must be an int >= 1. Got -2"),
])
def test_bad_demo_and_sweep_options_exit_2(tmp_path, capsys, args, message):
    assert main([*args, "--out", str(tmp_path / "runs")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_run_sweep_rejects_zero_workers_instead_of_using_all_cores(tmp_path):
    from autophagy import load_config
    from autophagy.exceptions import InvalidParameterError
    from autophagy.runner.sweep import run_sweep

    with pytest.raises(InvalidParameterError, match=r"'workers' parameter must be an int >= 1 .* Got 0"):
        run_sweep([load_config(small_config())], out=tmp_path / "runs", workers=0)
    assert not (tmp_path / "runs").exists()


def test_usage_errors_exit_2_with_the_option_named(config_file, capsys):
    assert main(["run", str(config_file), "--bogus"]) == 2
    assert "--bogus" in capsys.readouterr().err
    assert main(["admissible", "--n-real", "abc", "--bias", "1", "--dim", "2"]) == 2
    assert "--n-real" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n-real", "3", "--bias", "1", "--dim", "4"], "The 'n_real' parameter must be an int > dim = 4"),
        (["--n-real", "50", "--bias", "1.5", "--dim", "2"], "The 'bias' parameter must be in (0, 1]"),
        (["--n-real", "50", "--bias", "0.9", "--dim", "0"], "The 'dim' parameter must be an int >= 1"),
        (["--n-real", "50", "--bias", "0.9", "--dim", "2", "--seed", "-1"], "The 'seed' parameter must be an int >= 0"),
        (["--n-real", "50", "--bias", "0.9", "--dim", "2", "--precision", "0"], "The 'precision' parameter"),
        (["--n-real", "50", "--bias", "0.9", "--dim", "2", "--n-synthetic", "-5"], "The 'n_synthetic' parameter"),
    ],
)
def test_admissible_bad_input_exits_2_naming_the_key(args, message, capsys):
    assert main(["admissible", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
