"""The monitor: collapse is flagged within a few steps, healthy loops stay silent, rows land in
the run store in a run's format, bad input fails in one line, same seed gives the same rows."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import autophagy
from autophagy.exceptions import CollapseWarning, InvalidParameterError, RunBusyError
from autophagy.metrics import functional as F
from autophagy.monitor.reference import ReferenceStats, score


def _gaussian_loop(monitor: autophagy.Monitor, rng: np.random.Generator, n: int, steps: int, *, healthy: bool = False) -> int | None:
    """Fully synthetic Gaussian loop (fit N(μ, Σ) to n samples, draw n from it, repeat), or a
    healthy one (fresh real samples each step); returns the step of the first CollapseWarning."""
    d = monitor.reference_.x.shape[1]
    x = rng.normal(size=(n, d))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CollapseWarning)
        for step in range(1, steps + 1):
            if healthy:
                x = rng.normal(size=(n, d))
            else:
                x = rng.multivariate_normal(x.mean(axis=0), np.cov(x, rowvar=False), size=n)
            monitor.update(step, x)
            if any(issubclass(w.category, CollapseWarning) for w in caught):
                return step
    return None


@pytest.mark.parametrize(("d", "bound"), [(2, 15), (8, 10)])
def test_fully_synthetic_gaussian_loop_is_flagged_within_a_few_steps(d, bound):
    # Measured over seeds 0-9 (n = 100, reference 2,000): first warning at steps 2-6 in 2-d,
    # 2-4 in 8-d. The drift of the refitted Gaussian grows like t·d²/n while the band stays at
    # the n-sample noise level, so it crosses within a few steps; the bounds leave ~2x slack.
    for seed in range(3):
        rng = np.random.default_rng(seed)
        monitor = autophagy.Monitor(rng.normal(size=(2000, d)), name="g", out=None, seed=seed, alert={"log": False})
        step = _gaussian_loop(monitor, rng, 100, 30)
        assert step is not None and step <= bound, (seed, step)


def test_a_healthy_loop_stays_silent():
    # α = 0.01 per update over all metrics and patience 2: a false warning needs two
    # consecutive out-of-band updates, about 1e-4 per update; 2 seeds x 60 updates.
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        monitor = autophagy.Monitor(rng.normal(size=(1000, 4)), name="h", out=None, seed=seed, alert={"log": False})
        assert _gaussian_loop(monitor, rng, 100, 60, healthy=True) is None
        assert monitor.drifting == {}


def test_the_warning_names_the_metric_the_edge_and_the_step():
    rng = np.random.default_rng(0)
    monitor = autophagy.Monitor(rng.normal(size=(1000, 2)), name="w", out=None, alert={"patience": 1, "log": False})
    with pytest.warns(CollapseWarning, match=r"w step 1: drift beyond sampling noise: frechet = .* > .* \(band upper edge.*since step 1"):
        monitor.update(1, rng.normal(size=(100, 2)) + 3.0)
    assert "frechet" in monitor.drifting


def test_rows_land_in_the_store_and_every_reader_reads_them(tmp_path):
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(600, 3))
    with autophagy.Monitor(reference, name="mine", out=tmp_path, alert=False) as monitor:
        for step in (1, 2, 5):
            monitor.update(step, rng.normal(size=(80, 3)))
        path = monitor.path
    assert path == tmp_path / "mine" / monitor.run_id
    rows = autophagy.load_metrics(tmp_path)
    assert list(rows.columns)[:6] == ["run", "seed", "generation", "metric", "value", "lineage"]
    assert sorted(set(rows["generation"])) == [1, 2, 5]
    assert set(rows["metric"]) == {"frechet", "precision", "recall", "coverage", "mmd", "cov_trace"}
    table = autophagy.catalog(tmp_path)
    assert table.loc[0, "status"] == "complete" and table.loc[0, "kind"] == "monitor"
    assert table.loc[0, "final.precision"] == pytest.approx(rows[(rows.generation == 5) & (rows.metric == "precision")]["value"].item())

    from autophagy.cli import main

    assert main(["report", str(tmp_path)]) == 0  # the CLI's report, theory lines and all
    page = tmp_path / "report" / "mine" / "index.html"
    assert page.is_file() and "frechet" in page.read_text()


def test_reopening_resumes_and_refuses_an_old_step(tmp_path):
    rng = np.random.default_rng(2)
    reference = rng.normal(size=(600, 2))
    first = autophagy.Monitor(reference, name="r", out=tmp_path, alert=False, metrics=["frechet"])
    first.update(3, rng.normal(size=(50, 2)))
    with pytest.raises(RunBusyError):
        autophagy.Monitor(reference, name="r", out=tmp_path, alert=False, metrics=["frechet"])
    first.close()
    again = autophagy.Monitor(reference, name="r", out=tmp_path, alert=False, metrics=["frechet"])
    assert again.last_step == 3
    with pytest.raises(InvalidParameterError, match=r"^The 'step' parameter must be an int greater than 3, the last step committed to .*Got 3 instead\.$"):
        again.update(3, rng.normal(size=(50, 2)))
    again.update(4, rng.normal(size=(50, 2)))  # not closed: the committed rows are readable already
    assert sorted(autophagy.load_metrics(tmp_path)["generation"]) == [3, 4]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metrics": ["frechet", "fid"]}, r"The 'metrics' parameter must be a list of names among \[.*\]\. Got 'fid' instead\."),
        ({"modality": "audio"}, r"The 'modality' parameter must be one of \['vectors', 'images', 'text'\]\. Got 'audio' instead\."),
        ({"alert": {"level": 2.0}}, r"The 'alert.level' parameter must be a float in \(0, 1\)\. Got 2.0 instead\."),
        ({"alert": {"wait": 3}}, r"The 'alert' parameter must be a mapping of the keys"),
        ({"name": "a/b"}, r"The 'name' parameter must be a folder name"),
        ({"seed": -1}, r"The 'seed' parameter must be an int >= 0\. Got -1 instead\."),
        ({"max_samples": 10_000}, r"The 'max_samples' parameter must be an int <= 150"),
    ],
)
def test_bad_arguments_fail_at_construction_in_one_line(kwargs, match):
    reference = np.random.default_rng(0).normal(size=(600, 2))
    with pytest.raises(InvalidParameterError, match=match) as info:
        autophagy.Monitor(reference, **{"name": "bad", "out": None, **kwargs})
    assert "\n" not in str(info.value)


def test_bad_samples_fail_in_one_line():
    rng = np.random.default_rng(0)
    monitor = autophagy.Monitor(rng.normal(size=(600, 2)), name="bad", out=None, alert=False)
    with pytest.raises(InvalidParameterError, match=r"^The 'samples' parameter must be 2 features per sample"):
        monitor.update(1, rng.normal(size=(50, 3)))
    with pytest.raises(InvalidParameterError, match=r"^The 'samples' parameter must be finite"):
        monitor.update(1, np.full((50, 2), np.nan))
    with pytest.raises(InvalidParameterError, match=r"^The 'reference' parameter must be at least 14 rows"):
        autophagy.Monitor(rng.normal(size=(20, 2)), name="bad", out=None)


def test_same_inputs_and_seed_give_the_same_rows(tmp_path):
    def rows(out):
        rng = np.random.default_rng(5)
        with autophagy.Monitor(rng.normal(size=(800, 3)), name="det", out=out, seed=3, metrics=["frechet", "recall", "sliced_wasserstein"], alert={"log": False, "bootstrap": 20}) as monitor:
            _gaussian_loop(monitor, rng, 400, 4)  # 400 > max_samples = 200: scored on a seeded subset
        return autophagy.load_metrics(out).sort_values(["generation", "metric"]).reset_index(drop=True)

    first, second = rows(tmp_path / "a"), rows(tmp_path / "b")
    assert first[["generation", "metric", "value"]].equals(second[["generation", "metric", "value"]])


def test_the_cached_metrics_agree_with_the_lab_functions():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 4)), rng.normal(size=(120, 4)) * 1.2
    ref = ReferenceStats(x, nearest_k=5)
    got = score(ref, y, ["frechet", "mmd", "precision", "recall", "density", "coverage"], rng=rng)
    assert got["frechet"] == pytest.approx(F.frechet_distance(x, y), rel=1e-10)
    assert got["mmd"] == pytest.approx(F.mmd_rbf(x, y, bandwidth=ref.bandwidth), rel=1e-9, abs=1e-12)
    assert {k: got[k] for k in ("precision", "recall", "density", "coverage")} == pytest.approx(F.prdc(x, y, nearest_k=5), abs=1e-12)


def test_texts_with_an_embedder_and_a_model_give_sample_and_model_rows():
    rng = np.random.default_rng(0)
    words = np.array(["a", "bb", "ccc", "dddd", "eeeee"])
    reference = [" ".join(rng.choice(words, size=rng.integers(1, 8))) for _ in range(400)]

    def embed(texts):  # a cheap stand-in for the sentence embedder: length and word count
        return np.array([[len(t), len(t.split())] for t in texts], dtype=float) + rng.normal(scale=0.01, size=(len(texts), 2))

    class Unigram:
        def log_prob(self, texts):
            return np.array([-np.log(5.0) * len(t.split()) for t in texts])

    monitor = autophagy.Monitor(reference, name="t", out=None, modality="text", embed=embed, alert=False)
    values = monitor.update(1, reference[:60], model=Unigram())
    assert values["perplexity_real"] == pytest.approx(5.0)
    assert set(values) == {"frechet", "precision", "recall", "coverage", "mmd", "perplexity_real"}
    with pytest.raises(InvalidParameterError, match=r"^The 'samples' parameter must be a sequence of strings"):
        monitor.update(2, np.zeros((60, 2)))


def test_the_gaussian_loop_example_runs_and_flags_its_collapse(tmp_path, monkeypatch):
    import runpy
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    with pytest.warns(CollapseWarning):
        runpy.run_path(str(Path(__file__).parents[2] / "examples" / "monitor" / "gaussian_loop.py"), run_name="__main__")
    assert len(autophagy.load_metrics(tmp_path / "runs")["generation"].unique()) == 20
