"""Every bad input named in the foundation issue fails before any work, naming key and value."""

import re

import pytest

import autophagy
from autophagy.config import apply_overrides, load_config
from autophagy.exceptions import InvalidParameterError

from .conftest import small_config


def bad(match, **changes):
    with pytest.raises(InvalidParameterError, match=match):
        load_config(small_config(**changes))


def test_unknown_keys_are_named_with_the_allowed_ones():
    bad(r"Unknown key 'loop\.n_fixd'.*n_real", **{"loop.n_fixd": 3})
    bad(r"Unknown key 'colour'.*generations", colour="red")
    bad(r"Unknown key 'eval\.n'", **{"eval.n": 3})


def test_wrong_types():
    bad(r"'generations' parameter must be a valid integer.*Got 'ten'", generations="ten")
    bad(r"'data\.dim' parameter must be a valid integer", **{"data.dim": [3]})
    bad(r"'metrics' parameter must be a valid list", metrics="frechet")


@pytest.mark.parametrize("bias", [0, -0.1, 1.01])
def test_bias_outside_unit_interval(bias):
    bad(rf"'generator\.bias' parameter must be .*Got {bias}", **{"generator.bias": bias})


def test_non_positive_sizes():
    bad(r"'loop\.n_real' parameter must be greater than 0\. Got 0", **{"loop.n_real": 0})
    bad(r"'loop\.n_synthetic' parameter must be greater than or equal to 0\. Got -5", **{"loop.n_synthetic": -5})
    bad(r"'generations' parameter must be greater than 0", generations=0)
    bad(r"'eval\.n_samples' parameter must be greater than 0", **{"eval.n_samples": -1})


def test_fully_synthetic_needs_synthetic_samples():
    bad(r"'loop\.n_synthetic' parameter must be greater than 0\. Got 0", **{"loop.kind": "fully_synthetic", "loop.n_synthetic": 0})


def test_unknown_kind_lists_the_registered_ones():
    bad(r"'loop\.kind' parameter must be one of 'accumulate', .*'mixed'.*Got 'fresher'", **{"loop.kind": "fresher"})
    bad(r"'data\.kind' parameter must be one of", **{"data.kind": None})


def test_dimension_mismatch_between_data_and_mean_or_cov():
    bad(r"'data\.mean' parameter must be a list of dim=3 numbers\. Got \[0\.0, 1\.0\]", **{"data.mean": [0, 1]})
    bad(r"'data\.cov' parameter must be a 3x3 matrix", **{"data.cov": [[1, 0], [0, 1]]})


def test_non_positive_definite_covariance():
    cov = [[1, 0, 0], [0, 1, 0], [0, 0, -1]]
    bad(r"'data\.cov' parameter must be positive definite", **{"data.cov": cov})
    bad(r"'data\.cov' parameter must be a symmetric matrix", **{"data.cov": [[1, 0.5, 0], [0, 1, 0], [0, 0, 1]]})


def test_too_few_samples_for_a_full_covariance():
    bad(
        r"at least dim \+ 1 = 11 training samples.*shrinkage.*Got '8 samples at generation 1'",
        **{"data.dim": 10, "loop.n_real": 8},
    )
    config = load_config(small_config(**{"data.dim": 10, "loop.n_real": 8, "generator.shrinkage": True}))
    assert config.generator.shrinkage


def test_gmm_components_must_fit_the_training_set():
    bad(
        r"'generator\.n_components' parameter must be <= the smallest training set \(10\)\. Got 30",
        **{"generator": {"kind": "gmm", "n_components": 30}, "loop.n_real": 10},
    )


def test_metric_names_and_applicability():
    bad(r"'metrics' parameter must be a list of names from .*Got 'inception_score'", metrics=["inception_score"])
    bad(r"free of 'gaussian_w2' unless", metrics=["gaussian_w2"], generator={"kind": "kde"})


def test_overrides_are_typed_and_checked():
    raw = apply_overrides(small_config(), ["generator.bias=0.5", "loop.kind=augment", "eval.n_samples=300"])
    config = load_config(raw)
    assert config.generator.bias == 0.5 and config.loop.kind == "augment" and config.eval.n_samples == 300
    with pytest.raises(InvalidParameterError, match="key=value"):
        apply_overrides(small_config(), ["generator.bias"])
    with pytest.raises(InvalidParameterError, match=r"Unknown key 'generator\.biass'"):
        load_config(small_config(), ["generator.biass=0.5"])


def test_resolved_config_shows_every_default_and_round_trips():
    config = load_config(small_config(**{"loop.kind": "augment"}))
    resolved = config.to_dict()
    assert resolved["loop"]["synthetic_from"] == "last" and resolved["eval"]["nearest_k"] == 5
    again = load_config(resolved)
    assert again == config and again.run_id() == config.run_id()
    assert load_config(small_config(seed=1)).run_id() != config.run_id()


def test_yaml_errors_name_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(InvalidParameterError, match="broken.yaml' is not valid YAML"):
        autophagy.load_config(path)
    with pytest.raises(InvalidParameterError, match="does not exist"):
        autophagy.load_config(tmp_path / "missing.yaml")


def test_overriding_a_resolved_config_resolves_the_engine_again():
    config = load_config(small_config())
    assert config.engine == "exact"
    again = load_config(config, overrides={"loop.kind": "accumulate_subsample"})
    assert again.engine == "sampled"
    kept = load_config(small_config(engine="sampled"))
    assert load_config(kept, overrides={"generator.bias": 0.5}).engine == "sampled"
    with pytest.raises(InvalidParameterError, match=r"'engine' parameter must be 'sampled' here \(data.kind is 'gmm'"):
        load_config(small_config(engine="exact", data={"kind": "gmm", "layout": "grid"}))


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"data": {"kind": "linear", "dim": 5, "noise": -0.1}}, "data.noise"),
        ({"data": {"kind": "linear", "dim": 5, "cov": {"kind": "powerlaw", "exponent": 0.0}}}, "data.cov"),
        ({"data": {"kind": "linear", "dim": 5, "w0": {"kind": "powerlaw", "exponent": -1.0}}}, "data.w0"),
        ({"generator": {"kind": "linear_ridge", "alpha": -1.0}}, "generator.alpha"),
        ({"generator": {"kind": "linear_ridge", "noise": -1.0}}, "generator.noise"),
        ({"generator": {"kind": "gaussian"}}, "generator.kind"),
    ],
)
def test_bad_regression_configs_name_the_key(change, key):
    raw = {
        "data": {"kind": "linear", "dim": 5},
        "generator": {"kind": "linear_ridge"},
        "loop": {"kind": "fully_synthetic", "n_real": 20, "n_synthetic": 20},
        **change,
    }
    with pytest.raises(InvalidParameterError, match=re.escape(key)):
        load_config(raw)
