"""Plug-ins: import paths, entry points of an installed package, register() in a notebook; the
minimal generator contract, capabilities refused at load, resume without state, the stage seam."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import autophagy
from autophagy import registry
from autophagy.exceptions import InvalidParameterError
from autophagy.testing import check_generator, generator_report

from .interrupt import Stop, metric_values, stop_after

ROOT = Path(__file__).parents[1]
PLUGIN_PACKAGE = ROOT / "examples" / "plugins" / "autophagy_bgm"

MODULE = '''
import numpy as np
import autophagy
from autophagy.loops import FullySyntheticConfig, Plan


class Minimal:
    """A Gaussian fitted by moments: only fit and sample (no state, no likelihood)."""

    def __init__(self, shrink: float = 1.0):
        self.shrink = shrink

    def fit(self, x, *, rng):
        self.mean_ = x.mean(axis=0)
        self.cov_ = np.atleast_2d(np.cov(x, rowvar=False)) * self.shrink
        return self

    def sample(self, n, *, rng, bias=1.0):
        if not 0.0 < bias <= 1.0:
            raise ValueError("bias must be in (0, 1]")
        if not hasattr(self, "mean_"):
            raise autophagy.NotFittedError("fit first")
        return rng.multivariate_normal(self.mean_, bias * self.cov_, size=n)


class Picky(Minimal):
    """Refuses a shrink outside (0, 1] in its constructor."""

    def __init__(self, shrink: float = 1.0):
        if not 0.0 < shrink <= 1.0:
            raise ValueError(f"shrink must be in (0, 1], got {shrink}")
        self.shrink = shrink


class WithLikelihood(Minimal):
    """Minimal plus log_prob."""

    def log_prob(self, x, *, bias=1.0):
        from scipy.stats import multivariate_normal
        return multivariate_normal(self.mean_, bias * self.cov_).logpdf(x)


class Uniform:
    """A data source of one method: uniform on the unit cube."""

    def __init__(self, dim: int = 2):
        self.dim = dim

    def sample(self, n, *, rng):
        return rng.uniform(size=(n, self.dim))


class KeepInside:
    """A synthetic-sample stage: keep the samples within radius of the origin."""

    def __init__(self, radius: float = 2.0):
        self.radius = radius

    def __call__(self, batch, *, rng):
        keep = np.linalg.norm(batch.pool.x, axis=1) <= self.radius
        return batch.with_pool(batch.pool.take(np.flatnonzero(keep)))


class EveryOther(FullySyntheticConfig):
    """Fully synthetic, but real data again every other generation."""

    def plan(self, generation):
        if generation % 2 == 1:
            return Plan(0, False, self.n_real, 0)
        return Plan(0, False, 0, self.n_synthetic)


def spread(ctx):
    return float(np.mean(np.std(ctx.fake, axis=0)))
'''


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """A module ``my_plugins`` importable here and in subprocesses (PYTHONPATH)."""
    folder = tmp_path / "plugin_src"
    folder.mkdir()
    (folder / "my_plugins.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])))
    yield "my_plugins"
    sys.modules.pop("my_plugins", None)
    for group in registry.GROUPS:  # import-path entries live in this process's registry
        for name in [n for n in registry.entries(group) if n.startswith("my_plugins:")]:
            del registry._REGISTRY[group][name]


def config(**changes):
    base = {
        "name": "plugin",
        "seed": 3,
        "generations": 3,
        "repeats": 2,
        "data": {"kind": "gaussian", "dim": 2},
        "generator": {"kind": "my_plugins:Minimal"},
        "loop": {"kind": "fully_synthetic", "n_real": 60},
        "eval": {"n_samples": 50},
    }
    base.update(changes)
    return base


def test_import_path_generator_runs_with_keys_from_its_signature(plugin_module):
    result = autophagy.run(config(generator={"kind": "my_plugins:Minimal", "shrink": 0.5}), out=None)
    assert result.config.generator.shrink == 0.5
    wide = result.wide()
    assert np.all(np.isfinite(wide["cov_trace"]))
    # shrink 0.5 halves the covariance every generation (up to sampling noise): the trace collapses
    assert wide["cov_trace"].xs(3, level="generation").max() < wide["cov_trace"].xs(1, level="generation").min()
    again = autophagy.run(config(generator={"kind": "my_plugins:Minimal", "shrink": 0.5}), out=None)
    np.testing.assert_array_equal(metric_values(result), metric_values(again))


def test_defaults_hold_only_what_the_generator_serves(plugin_module):
    minimal = autophagy.load_config(config())
    assert "loglik_real" not in minimal.metrics and "frechet" in minimal.metrics
    likely = autophagy.load_config(config(generator={"kind": "my_plugins:WithLikelihood"}))
    assert "loglik_real" in likely.metrics


def test_a_metric_the_generator_cannot_serve_is_refused_at_load(plugin_module, tmp_path, capsys):
    with pytest.raises(InvalidParameterError, match=r"'metrics' parameter must be free of 'loglik_real' unless the generator provides log_prob"):
        autophagy.load_config(config(metrics=["loglik_real"]))
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(config(metrics=["frechet", "loglik_real"])))
    from autophagy.cli import main

    assert main(["run", str(path), "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "loglik_real" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists(), "nothing is written for a refused config"


def test_unknown_keys_and_bad_import_paths_are_refused(plugin_module):
    with pytest.raises(InvalidParameterError, match=r"generator.colour"):
        autophagy.load_config(config(generator={"kind": "my_plugins:Minimal", "colour": "red"}))
    with pytest.raises(InvalidParameterError, match=r"'generator.kind' parameter must be an importable 'package.module:Name'.*no_such_module"):
        autophagy.load_config(config(generator={"kind": "no_such_module:Thing"}))
    with pytest.raises(InvalidParameterError, match=r"has no 'Missing'"):
        autophagy.load_config(config(generator={"kind": "my_plugins:Missing"}))
    with pytest.raises(InvalidParameterError, match=r"'generator' parameter must be keys 'my_plugins:Picky' accepts.*shrink must be in \(0, 1\], got 2.0"):
        autophagy.load_config(config(generator={"kind": "my_plugins:Picky", "shrink": 2.0}))
    with pytest.raises(InvalidParameterError, match=r"must have fit\(x, \*, rng\) and sample"):
        autophagy.load_config(config(generator={"kind": "my_plugins:Uniform"}))


def test_data_loop_metric_and_stage_plug_ins_by_import_path(plugin_module):
    result = autophagy.run(
        config(
            data={"kind": "my_plugins:Uniform", "dim": 3},
            loop={"kind": "my_plugins:EveryOther", "n_real": 40, "n_synthetic": 40},
            metrics=["frechet", "my_plugins:spread"],
            mitigation=[{"kind": "my_plugins:KeepInside", "radius": 1.2}],
            generations=4,
        ),
        out=None,
    )
    wide = result.wide()
    assert wide["my_plugins:spread"].notna().all()
    # the loop plug-in: real data at odd generations, synthetic at even ones
    assert list(wide["frac_synthetic"].xs(3, level="seed")) == [0.0, 1.0, 0.0, 1.0]
    # the stage ran on the synthetic generations only: it dropped the samples outside the ball
    kept = wide["frac_synthetic_kept"].xs(3, level="seed")
    assert kept.loc[2] <= 1.0 and kept.loc[4] <= 1.0 and np.isnan(kept.loc[1])
    sizes = wide["train_size"].xs(3, level="seed")
    assert sizes.loc[2] == round(40 * kept.loc[2])


def test_an_empty_mitigation_is_the_plain_loop(plugin_module):
    plain = autophagy.load_config(config())
    empty = autophagy.load_config(config(mitigation=[]))
    assert plain.run_id() == empty.run_id() and "mitigation" not in plain.to_dict()
    staged = autophagy.load_config(config(mitigation=[{"kind": "my_plugins:KeepInside"}]))
    assert staged.run_id() != plain.run_id()
    gaussian = autophagy.load_config(config(generator={"kind": "gaussian"}, mitigation=[{"kind": "my_plugins:KeepInside"}]))
    assert gaussian.engine == "sampled", "the exact engine has no samples to pass through a stage"
    with pytest.raises(InvalidParameterError, match=r"'mitigation.0.kind' parameter"):
        autophagy.load_config(config(mitigation=[{"kind": "nothing_here"}]))


def test_resume_without_state_refits_to_the_uninterrupted_values(plugin_module, tmp_path):
    cfg = config(generations=5, loop={"kind": "accumulate", "n_real": 40, "n_synthetic": 20})
    whole = autophagy.run(cfg, out=None)
    with pytest.raises(Stop):
        autophagy.run(cfg, out=tmp_path, progress=stop_after(3))
    state = np.load(next(tmp_path.glob("plugin/*/state.npz")))
    assert any(k.endswith("__training_data__") for k in state.files), "no state: the training data are recorded"
    resumed = autophagy.run(cfg, out=tmp_path)
    np.testing.assert_array_equal(metric_values(whole), metric_values(resumed))


def test_register_in_a_notebook_shows_in_list_with_its_origin(plugin_module, capsys):
    import my_plugins

    autophagy.register_generator("notebook_minimal", my_plugins.Minimal, summary="a notebook generator")
    try:
        from autophagy.cli import main

        assert main(["list", "--format", "json"]) == 0
        rows = {(r["group"], r["name"]): r for r in json.loads(capsys.readouterr().out)}
        assert rows[("generator", "notebook_minimal")]["origin"] == f"register() in {__name__}"
        assert rows[("generator", "gaussian")]["origin"] == "built-in"
        result = autophagy.run(config(generator={"kind": "notebook_minimal"}, generations=2), out=None)
        assert len(result.metrics)
    finally:
        autophagy.plugins.unregister("generator", "notebook_minimal")
    assert "notebook_minimal" not in registry.entries("generator")
    assert all(r.name != "notebook_minimal" for r in autophagy.plugins.registrations()), "a sweep would hand it on"
    with pytest.raises(InvalidParameterError, match=r"'group' parameter must be one of"):
        autophagy.register("model", "x", my_plugins.Minimal)


def test_check_generator_says_what_is_missing_in_plain_words(plugin_module):
    import my_plugins

    check_generator(my_plugins.Minimal(), dim=3)  # conforms; only optional parts missing
    report = generator_report(my_plugins.Minimal(), dim=3)
    assert report.ok and any("get_state" in n for n in report.notes) and any("log_prob" in n for n in report.notes)

    class Careless(my_plugins.Minimal):
        def __init__(self, shrink=1.0):
            self.amount = shrink  # not stored under its own name

    class Sloppy(my_plugins.Minimal):
        def fit(self, x, *, rng):
            super().fit(x, rng=rng)  # forgets to return self

        def sample(self, n, *, rng, bias=1.0):
            return np.random.default_rng().normal(size=(n, 2))  # ignores rng, bias and the data's width

    with pytest.raises(AssertionError, match=r"constructor argument\(s\) shrink are not stored"):
        check_generator(Careless(), dim=3)
    with pytest.raises(AssertionError) as caught:
        check_generator(Sloppy(), dim=3)
    message = str(caught.value)
    assert "fit() must return self" in message and "returned shape (400, 2); expected (400, 3)" in message


def _install_plugin_package(target: Path) -> None:
    """``pip install`` the example plug-in package into ``target`` (no network: no deps, no isolation)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "--target", str(target), str(PLUGIN_PACKAGE)],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    _install_plugin_package(target)
    return target


def _cli(args, env_path, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(env_path), os.environ.get("PYTHONPATH")])), "RAY_AUTH_MODE": "disabled"}
    return subprocess.run([sys.executable, "-m", "autophagy", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_an_installed_package_registers_through_its_entry_point(installed_plugin, tmp_path):
    listing = _cli(["list", "--format", "json"], installed_plugin, tmp_path)
    assert listing.returncode == 0, listing.stderr
    rows = {(r["group"], r["name"]): r for r in json.loads(listing.stdout)}
    assert rows[("generator", "bgm")]["origin"] == "entry point bgm (autophagy-bgm 0.1.0)"


def test_entry_point_and_import_path_plug_ins_run_on_every_backend(installed_plugin, tmp_path):
    """The installed plug-in (by name) and its class (by import path) in one sweep, on the process
    pool (configs sent to spawned workers) and on Ray, and alone through ``autophagy run``."""
    pytest.importorskip("ray")
    spec = {
        "name": "bgm",
        "seed": 0,
        "generations": 2,
        "data": {"kind": "gaussian", "dim": 2},
        "generator": {"kind": "bgm", "n_components": 2, "max_iter": 50},
        "loop": {"kind": "fresh", "n_real": 60, "n_synthetic": 60},
        "metrics": ["frechet", "loglik_real"],
        "eval": {"n_samples": 60},
    }
    single = tmp_path / "single.yaml"
    single.write_text(json.dumps(spec))
    grid = tmp_path / "grid.yaml"
    grid.write_text(json.dumps({**spec, "sweep": {"grid": {"generator.kind": ["bgm", "autophagy_bgm:BayesianGMM"]}}}))

    def values(frame):
        return frame.sort_values(["seed", "generation", "metric"])["value"].to_numpy()

    ran = _cli(["run", str(single), "--out", str(tmp_path / "single")], installed_plugin, tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    reference = values(autophagy.load_metrics(tmp_path / "single"))
    assert len(reference) and np.isfinite(reference).all()
    for backend in ("process", "ray"):
        out = tmp_path / backend
        done = _cli(["sweep", str(grid), "--out", str(out), "--backend", backend], installed_plugin, tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        runs = [values(part) for _, part in autophagy.load_metrics(out).groupby("run")]
        assert len(runs) == 2, "one run per generator.kind"
        for got in runs:  # by name or by import path, on either backend: the values of `autophagy run`
            np.testing.assert_array_equal(got, reference)


def test_a_broken_plug_in_warns_and_the_lab_still_works(tmp_path):
    site = tmp_path / "site"
    dist = site / "broken_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[autophagy.plugins]\nbroken = broken_plugin:register\n")
    code = textwrap.dedent(
        """
        import warnings, autophagy
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            names = list(autophagy.entries("generator"))
        assert "gaussian" in names
        assert any(issubclass(w.category, autophagy.PluginWarning) and "broken" in str(w.message) for w in caught), caught
        print("ok")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_the_bring_your_own_example_runs_with_its_report(installed_plugin, tmp_path):
    """examples/plugins/bring_your_own.yaml as the README runs it (reduced with --set)."""
    example = ROOT / "examples" / "plugins" / "bring_your_own.yaml"
    out = tmp_path / "runs"
    done = _cli(["sweep", str(example), "--out", str(out), "--set", "generations=2", "--set", "sweep.seeds=1"], installed_plugin, ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    catalog = autophagy.catalog(out)
    assert sorted(catalog["loop.kind"]) == ["fresh", "fully_synthetic"] and set(catalog["status"]) == {"complete"}
    assert "final.loglik_real" in catalog, "the plug-in has log_prob: the likelihood metric is a default"
    report = _cli(["report", str(out)], installed_plugin, ROOT)
    assert report.returncode == 0, report.stderr
    assert (out / "report" / "bring-your-own" / "index.html").is_file()


SCRIPT = """
import numpy as np
import autophagy
from autophagy.runner.sweep import run_sweep


class ScriptGaussian:
    def __init__(self, shrink: float = 1.0):
        self.shrink = shrink

    def fit(self, x, *, rng):
        self.mean_, self.cov_ = x.mean(axis=0), np.cov(x, rowvar=False) * self.shrink
        return self

    def sample(self, n, *, rng, bias=1.0):
        if not 0.0 < bias <= 1.0:
            raise ValueError("bias")
        return rng.multivariate_normal(self.mean_, bias * self.cov_, size=n)


if __name__ == "__main__":
    autophagy.register_generator("script_gaussian", ScriptGaussian)
    spec = {
        "name": "script", "generations": 2, "data": {"kind": "gaussian", "dim": 2},
        "generator": {"kind": "script_gaussian", "shrink": 0.9},
        "loop": {"kind": "fully_synthetic", "n_real": 40}, "metrics": ["frechet"], "eval": {"n_samples": 30},
        "sweep": {"seeds": 2},
    }
    import sys
    from autophagy.runner.sweep import expand
    run_sweep(expand(spec), out=sys.argv[1], backend=sys.argv[2])
    print(autophagy.load_metrics(sys.argv[1])["value"].sum())
"""


def test_a_script_registered_generator_reaches_process_workers(tmp_path):
    """register() in a script: the sweep hands the registration to its spawned workers."""
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    totals = []
    for backend in ("local", "process"):
        done = subprocess.run([sys.executable, str(script), str(tmp_path / backend), backend], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        totals.append(float(done.stdout.strip().splitlines()[-1]))
    assert totals[0] == totals[1] and np.isfinite(totals[0])


def test_a_notebook_class_is_refused_for_the_process_pool_only(monkeypatch):
    from autophagy.plugins import Registration, check_importable

    class Fake:
        __module__ = "__main__"

    item = Registration("generator", "nb", Fake, None, None, (), "register() in __main__")
    monkeypatch.delattr(sys.modules["__main__"], "__file__", raising=False)  # as in a Jupyter kernel
    with pytest.raises(InvalidParameterError, match=r"registered in an interactive session; process-pool workers cannot import it"):
        check_importable([item])
    check_importable([Registration("generator", "ok", Path, None, None, (), "register() in x")])  # importable: fine
