"""Language models in the loop: the grammar + n-gram experiment end to end, resumable."""

from __future__ import annotations

import numpy as np
import pytest

import autophagy
from autophagy.exceptions import InvalidParameterError

from ..interrupt import Stop, metric_values, stop_after


def text_config(**loop):
    return {
        "name": "tiny-text",
        "seed": 5,
        "generations": 3,
        "data": {"kind": "grammar", "vocab_size": 200, "seq_len": 16, "branching": 8},
        "generator": {"kind": "ngram", "order": 2, "bias": 0.9},
        "loop": {"kind": "keep_original", "n_real": 400, "keep": 0.1, **loop},
        "eval": {"n_samples": 200, "snapshot_size": 10},
    }


def test_default_text_metrics_and_determinism():
    a, b = autophagy.run(text_config(), out=None), autophagy.run(text_config(), out=None)
    np.testing.assert_array_equal(metric_values(a), metric_values(b))
    names = set(a.metrics["metric"])
    expected = {"perplexity_real", "sample_perplexity", "kl_to_truth", "true_perplexity", "tail_mass", "repetition_rate",
                "distinct_n_1", "distinct_n_2", "distinct_n_3", "vocab_coverage", "tail_probability"}
    assert expected <= names
    assert "impossible_rate" not in names  # typos make every token possible: a default that could only be 0
    wide = a.wide()
    assert np.isfinite(wide[sorted(expected)].to_numpy()).all()  # typos in the grammar keep KL finite


def test_resume_keeps_the_reference_model_and_saves_perplexities(tmp_path):
    config = text_config(resample=True)
    whole = autophagy.run(config, out=tmp_path / "whole")
    with pytest.raises(Stop):
        autophagy.run(config, out=tmp_path / "cut", progress=stop_after(2))
    resumed = autophagy.run(config, out=tmp_path / "cut")
    np.testing.assert_array_equal(metric_values(resumed), metric_values(whole))  # the generation-1 model came back from the state
    with np.load(resumed.path / "state.npz") as state:
        assert any(key.startswith("s5/gref/") for key in state.files)
    folder = resumed.path / "samples" / "sample_perplexity"
    assert sorted(p.name for p in folder.iterdir()) == ["gen-0001.npy", "gen-0002.npy", "gen-0003.npy"]
    wide = resumed.wide()
    for t in (1, 2, 3):
        values = np.load(folder / f"gen-{t:04d}.npy")
        assert values.shape == (200,)
        assert wide.loc[(5, t), "sample_perplexity"] == pytest.approx(np.median(values), rel=1e-12)


def test_text_and_model_kinds_must_match():
    with pytest.raises(InvalidParameterError, match=r"'generator.kind' parameter must be a language model \('ngram', 'transformer'\)"):
        autophagy.load_config({**text_config(), "generator": {"kind": "gaussian"}})
    with pytest.raises(InvalidParameterError, match=r"'metrics' parameter must be free of 'perplexity_real' unless data.kind is 'grammar' or 'corpus'"):
        autophagy.load_config({"data": {"kind": "gaussian", "dim": 2}, "generator": {"kind": "gaussian"}, "loop": {"kind": "fresh"}, "metrics": ["perplexity_real"]})
    with pytest.raises(InvalidParameterError, match=r"'generator.kind' parameter must be a generator of vectors"):
        autophagy.load_config({"data": {"kind": "gaussian", "dim": 2}, "generator": {"kind": "ngram"}, "loop": {"kind": "fresh"}})


def test_a_grammar_without_typos_adds_impossible_rate_by_default():
    config = text_config()
    config["data"] = {**config["data"], "noise": 0.0}
    assert "impossible_rate" in autophagy.load_config(config).metrics
