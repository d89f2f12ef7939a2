"""The CLI: exit codes, one-line errors, dry runs, listings."""

import json

import pytest
import yaml

import autophagy
from autophagy.cli import main
from autophagy.exceptions import InvalidParameterError

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


def test_run_takes_a_sweep_config_and_runs_each_point(tmp_path, capsys):
    """Issue 17 turned run's refusal of a sweep file into running its points in turn (see
    tests/cli/test_run_sweep_file.py); a sweep section still never reaches a single run."""
    config = small_config()
    config["sweep"] = {"grid": {"generator.bias": [1.0, 0.5]}}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", str(path), "--out", str(tmp_path / "runs")]) == 0
    assert capsys.readouterr().out.count("rows in") == 2
    with pytest.raises(InvalidParameterError, match="only for 'autophagy sweep'"):
        autophagy.run(config, out=None)


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


def _one_line_exit_2(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("generations=abc", "The 'generations' parameter must be a valid integer (a whole number). Got 'abc' instead."),
        ("=3", "An override must look like key=value with a dotted key such as generator.bias. Got the key '' instead."),
        ("foo", "An override must look like key=value. Got 'foo' instead."),
        ("data.dim=[1,", "The override 'data.dim=[1,' is not valid YAML"),
        ("loop..n_real=3", "Got the key 'loop..n_real' instead."),
        ("generations=true", "The 'generations' parameter must be a whole number, not true or false."),
        ("generator.bias=.nan", "The 'generator.bias' parameter must be a finite number (not NaN or infinite)."),
    ],
)
def test_bad_set_values_exit_2_in_one_line(tmp_path, config_file, capsys, override, message):
    out = tmp_path / "runs"
    _one_line_exit_2(capsys, ["run", str(config_file), "--out", str(out), "--set", override], message)
    assert not out.exists()


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_out_pointing_at_a_file_exits_2(tmp_path, config_file, capsys, command):
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    message = "The '--out' parameter must be a directory (or a path where one can be made)."
    _one_line_exit_2(capsys, [command, str(config_file), "--out", str(afile)], message)
    _one_line_exit_2(capsys, [command, str(config_file), "--out", str(afile / "below")], "which is inside")
    assert afile.read_text() == "not a directory"


def test_a_config_too_big_for_the_machine_exits_2_before_anything(tmp_path, capsys):
    path = tmp_path / "big.yaml"
    path.write_text("data: {kind: gaussian, dim: 100000}\ngenerator: {kind: gaussian}\nloop: {kind: fresh, n_real: 200000}\n")
    out = tmp_path / "runs"
    err = _one_line_exit_2(capsys, ["run", str(path), "--out", str(out)], "(data.dim = 100000: covariance matrices of 100000² floats per repeat)")
    assert "lower data.dim or pass --max-memory" in err
    assert not out.exists()


def test_max_memory_refuses_run_and_sweep_and_dry_run_prints_the_estimate(tmp_path, config_file, capsys):
    out = tmp_path / "runs"
    _one_line_exit_2(capsys, ["run", str(config_file), "--out", str(out), "--max-memory", "10K"], "more than the --max-memory of 10 KiB")
    _one_line_exit_2(capsys, ["sweep", str(config_file), "--out", str(out), "--max-memory", "10K"], "more than the --max-memory of 10 KiB")
    _one_line_exit_2(capsys, ["run", str(config_file), "--max-memory", "lots"], "The '--max-memory' parameter must be a memory size such as 8G")
    assert not out.exists()
    assert main(["run", str(config_file), "--dry-run", "--max-memory", "1G"]) == 0
    text = capsys.readouterr().out
    assert yaml.safe_load(text)["generations"] == 4  # the estimate is a YAML comment
    assert text.splitlines()[-1].startswith("# peak memory estimate: about ")
    assert main(["sweep", str(config_file), "--dry-run"]) == 0
    assert "peak memory estimate: about " in capsys.readouterr().out.splitlines()[-1]


def test_a_billion_generations_dry_run_is_quick(config_file, capsys):
    import time

    started = time.perf_counter()
    _one_line_exit_2(capsys, ["run", str(config_file), "--dry-run", "--set", "generations=1000000000"], "(generations = 1000000000: a metrics table")
    assert main(["run", str(config_file), "--dry-run", "--set", "generations=1000000000", "--max-memory", "100P"]) == 0
    assert "TiB" in capsys.readouterr().out.splitlines()[-1]
    assert time.perf_counter() - started < 10.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"name: a\nname: b\n", "gives the key 'name' twice (lines 1 and 2)"),
        (b"name: caf\xe9\n", "is not UTF-8 text"),
        (b"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
         b"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nname: *e\n", "alias bomb"),
    ],
)
def test_hostile_files_exit_2_in_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "hostile.yaml"
    path.write_bytes(text)
    err = _one_line_exit_2(capsys, ["run", str(path)], message)
    assert "hostile.yaml" in err and len(err) < 400
