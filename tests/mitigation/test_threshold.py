"""``threshold``: the kept rows and their bookkeeping, the truncation law of self-likelihood
curation, Bradley–Terry reward curation on a mixture, refusals at load."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import autophagy
from autophagy.core.source import Mixture
from autophagy.exceptions import InvalidParameterError
from autophagy.loops.pool import TrainingPool
from autophagy.loops.stages import SyntheticBatch, apply_stages, stage_rows
from autophagy.mitigation.threshold import ThresholdConfig, ThresholdStage, kept_count
from autophagy.theory.mitigation import threshold_moments
from autophagy.vectors.gaussian import GaussianGenerator
from autophagy.vectors.gaussian_data import GaussianSource
from tests.mitigation.test_rejection import corpus_loop, loop


class MixtureSource:
    def __init__(self, truth):
        self.truth_ = truth

    def truth(self):
        return self.truth_


def batch_of(x, source=None, origin=3):
    gen = GaussianGenerator()
    gen.mean_, gen.cov_ = np.zeros(x.shape[1]), np.eye(x.shape[1])
    source = source or GaussianSource(np.zeros(x.shape[1]), np.eye(x.shape[1]))
    return SyntheticBatch(TrainingPool.of(x, origin), (gen,), (origin,), source, 4, 1.0)


def stage(**keys):
    return ThresholdStage(ThresholdConfig(kind="threshold", **keys))


def test_top_keeps_the_best_share_in_row_order_with_provenance(rng):
    x = rng.standard_normal((51, 2))
    batch = batch_of(x)
    out = apply_stages([stage(score="self_loglik", keep=0.5)], batch, rng)
    m = kept_count(51, 0.5)
    assert len(out.pool) == m == 26 and set(out.pool.origin) == {3}
    radius = np.sum(x * x, axis=1)
    kept = np.sort(np.argsort(radius)[:m])
    np.testing.assert_array_equal(out.pool.x, x[kept])  # the m most likely under N(0, I), in order
    rows = stage_rows(out)
    assert rows["kept_fraction"] == pytest.approx(26 / 51) and rows["removed_by_threshold"] == pytest.approx(25 / 51)
    assert out.info["threshold_score_kept"] > out.info["threshold_score_all"]


def test_min_score_keeps_every_row_at_or_above_it(rng):
    x = rng.standard_normal((200, 1))
    out = stage(score="true_loglik", min_score=-1.5)(batch_of(x), rng=rng)
    log_p = -0.5 * x[:, 0] ** 2 - 0.5 * np.log(2 * np.pi)
    np.testing.assert_array_equal(out.pool.x, x[log_p >= -1.5])


def test_a_user_reward_by_import_path_and_the_builtin_mode_rewards(rng, monkeypatch):
    module = types.ModuleType("my_rewards")
    module.right = lambda x: x[:, 0]
    monkeypatch.setitem(sys.modules, "my_rewards", module)
    x = rng.standard_normal((100, 2))
    out = stage(score="reward", reward="my_rewards:right", keep=0.1)(batch_of(x), rng=rng)
    np.testing.assert_array_equal(out.pool.x, x[np.sort(np.argsort(-x[:, 0])[:10])])
    truth = Mixture(np.array([0.5, 0.5]), np.array([[-3.0, 0.0], [3.0, 0.0]]), np.array([np.eye(2)] * 2))
    y = 3 * x
    out = stage(score="reward", reward="mode_responsibility", mode=1, keep=0.5)(batch_of(y, MixtureSource(truth)), rng=rng)
    np.testing.assert_array_equal(out.pool.x, y[np.sort(np.argsort(-y[:, 0])[:50])])  # equal covariances: P(right | x) rises with x_0
    out = stage(score="reward", reward="mode_distance", mode=1, keep=0.5)(batch_of(y, MixtureSource(truth)), rng=rng)
    near = np.sort(np.argsort(np.sum((y - [3.0, 0.0]) ** 2, axis=1))[:50])
    np.testing.assert_array_equal(out.pool.x, y[near])


def test_the_same_rng_gives_the_same_bradley_terry_choice(rng):
    x = rng.standard_normal((101, 2))
    a = stage(score="self_loglik", choice="bradley_terry")(batch_of(x), rng=np.random.default_rng(5))
    b = stage(score="self_loglik", choice="bradley_terry")(batch_of(x), rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.pool.x, b.pool.x)
    assert len(a.pool) == 50  # one of each pair; the odd row out dropped


def test_bradley_terry_between_separated_modes_keeps_the_preferred_one_of_each_pair(rng):
    """Three well-separated modes of weight ⅓, reward = log responsibility of mode 0: a pair keeps a
    mode-0 row whenever it has one (σ(0 - (-large)) ≈ 1), so the kept share of mode 0 is
    1 - (1 - ⅓)² = 5/9 (Ferbach et al. 2024: curation concentrates mass on the rewarded mode)."""
    means = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]])
    truth = Mixture(np.full(3, 1 / 3), means, np.array([np.eye(2)] * 3))
    x = truth.sample(6000, rng)
    out = stage(score="reward", reward="mode_responsibility", mode=0, choice="bradley_terry")(batch_of(x, MixtureSource(truth)), rng=rng)
    share = np.mean(np.linalg.norm(out.pool.x, axis=1) < 10)
    # binomial standard error over the 3000 kept rows (pairs are independent); 4 of them
    assert abs(share - 5 / 9) < 4 * np.sqrt(5 / 9 * 4 / 9 / 3000), share


def gmm_loop(mitigation, loop_kind):
    return {
        "name": "bt", "seed": 0, "generations": 8, "repeats": 3,
        "data": {"kind": "gmm", "layout": "random", "dim": 2, "n_components": 3, "spread": 8.0, "std": 0.5, "layout_seed": 1},
        "generator": {"kind": "gmm"},
        "loop": {"kind": loop_kind, "n_real": 200, "n_synthetic": 200} if loop_kind != "fresh" else {"kind": "fresh", "n_real": 100, "n_synthetic": 200},
        "metrics": ["modes_covered"], "eval": {"n_samples": 1000, "mode_share": 0.05},
        "mitigation": mitigation,
    }


def test_reward_curation_concentrates_a_fully_synthetic_gmm_loop_and_real_data_keeps_the_other_modes():
    bt = [{"kind": "threshold", "score": "reward", "reward": "mode_responsibility", "mode": 0, "choice": "bradley_terry"}]
    def modes(config):
        m = autophagy.run(config, out=None).metrics
        return m[(m.metric == "modes_covered") & (m.generation == 8)].value.to_numpy()
    # share of the other modes after t rounds of 1 - (1 - w)²: ⅔ → 4/9 → ... → (⅔)^(2^7) ≈ 0 < 5 %
    assert np.all(modes(gmm_loop(bt, "fully_synthetic")) == 1)
    assert np.all(modes(gmm_loop([], "fully_synthetic")) == 3)
    # with 100 fresh real rows beside 100 curated ones each generation the others keep >= ⅓ · ⅓
    assert np.all(modes(gmm_loop(bt, "fresh")) == 3)


def test_self_loglik_curation_shrinks_the_variance_by_the_truncation_factor():
    """Done-when: d = 1, keep ½, unbiased, n = 50: E var at generation 2 = κ_50 = 0.1532 (the
    empirical cut; κ = 0.1427 for the population cut)."""
    repeats = 1000
    config = loop(generations=2, repeats=repeats, data={"kind": "gaussian", "dim": 1}, metrics=["cov_trace"],
                  mitigation=[{"kind": "threshold", "score": "self_loglik", "keep": 0.5}])
    m = autophagy.run(config, out=None).metrics
    values = m[(m.metric == "cov_trace") & (m.generation == 2)].value.to_numpy()
    expected = threshold_moments(2, 50, 50, trace=1.0, dim=1, keep=0.5, estimator="unbiased").cov_trace[1]
    # independent repeats: 4 standard errors of the mean of 1000
    se = values.std(ddof=1) / np.sqrt(repeats)
    assert abs(values.mean() - expected) < 4 * se, (values.mean(), expected, se)
    population = threshold_moments(2, 50, 50, trace=1.0, dim=1, keep=0.5, estimator="unbiased", exact_cut=False).cov_trace[1]
    assert population == pytest.approx(0.1427, abs=1e-4)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"score": "self_loglik", "keep": 0}, r"^The 'mitigation.0.keep' parameter must be greater than 0\. Got 0 instead\.$"),
        ({"score": "self_loglik", "keep": 1.2}, r"^The 'mitigation.0.keep' parameter must be less than or equal to 1\. Got 1\.2 instead\.$"),
        ({"score": "self_loglik"}, r"^The 'mitigation.0.keep' parameter must be set, or min_score set instead"),
        ({"score": "self_loglik", "keep": 0.5, "min_score": 1.0}, r"^The 'mitigation.0.keep' parameter must be set, or min_score set instead"),
        ({"score": "reward", "keep": 0.5}, r"^The 'mitigation.0.reward' parameter must be set for score 'reward'"),
        ({"score": "reward", "keep": 0.5, "reward": "mode_distance"}, r"^The 'mitigation.0.mode' parameter must be set"),
        ({"score": "reward", "keep": 0.5, "reward": "mode_distance", "mode": 3}, r"^The 'mitigation.0.mode' parameter must be in \[0, 0\]"),
        ({"score": "reward", "keep": 0.5, "reward": "no_such_module:f"}, r"^The 'mitigation.0.reward' parameter must be .* that can be imported"),
        ({"score": "self_loglik", "choice": "bradley_terry", "keep": 0.3}, r"^The 'mitigation.0.keep' parameter must be 0\.5 or unset"),
        ({"score": "likelihood", "keep": 0.5}, r"^The 'mitigation.0.score' parameter must be 'true_loglik', 'reference_loglik', 'self_loglik', 'reward', 'discriminator' or 'classifier_confidence'\. Got 'likelihood' instead\.$"),
    ],
)
def test_bad_keys_are_refused_at_load_in_one_line(keys, message):
    with pytest.raises(InvalidParameterError, match=message):
        autophagy.load_config(loop(mitigation=[{"kind": "threshold", **keys}]))


def test_a_score_the_source_cannot_serve_is_refused_at_load(tmp_path):
    with pytest.raises(InvalidParameterError, match=r"^The 'mitigation.0.score' parameter must be one that does not need the true density.*Got 'true_loglik' instead\.$"):
        autophagy.load_config(corpus_loop(tmp_path, [{"kind": "threshold", "score": "true_loglik", "keep": 0.5}]))
    config = loop(data={"kind": "linear", "dim": 3}, generator={"kind": "linear_ridge"}, metrics=["test_error"],
                  mitigation=[{"kind": "threshold", "score": "self_loglik", "keep": 0.5}])
    with pytest.raises(InvalidParameterError, match=r"^The 'mitigation.0.score' parameter must be one the generator can serve"):
        autophagy.load_config(config)
    config["mitigation"] = [{"kind": "threshold", "score": "true_loglik", "keep": 0.5}]  # the linear rows' law is known
    assert autophagy.load_config(config).mitigation[0].score == "true_loglik"


def test_only_reference_loglik_keeps_the_generation_one_model():
    assert ThresholdConfig(score="reference_loglik", keep=0.5).needs_reference_model
    assert not ThresholdConfig(score="self_loglik", keep=0.5).needs_reference_model
    config = loop(generations=4, repeats=2, mitigation=[{"kind": "threshold", "score": "reference_loglik", "keep": 0.5}])
    m = autophagy.run(config, out=None).metrics
    assert set(m[m.metric == "kept_fraction"].value) == {0.5}


def test_the_linear_rows_true_log_density(rng):
    from scipy.stats import multivariate_normal
    from scipy.stats import norm as normal

    from autophagy.regression.linear_data import LinearDataConfig, build

    source = build(LinearDataConfig(dim=3, cov={"kind": "powerlaw", "exponent": 1.0}, noise=0.3))
    rows = source.sample(20, rng=rng)
    truth = source.regression()
    expected = multivariate_normal(np.zeros(3), truth.cov).logpdf(rows[:, :3]) + normal(rows[:, :3] @ truth.w0, 0.3).logpdf(rows[:, 3])
    np.testing.assert_allclose(source.log_prob(rows), expected, rtol=1e-12)
    flat = build(LinearDataConfig(dim=3, noise=0.0))
    on = flat.sample(5, rng=rng)
    off = on + np.array([0.0, 0.0, 0.0, 1.0])
    assert np.all(np.isfinite(flat.log_prob(on))) and np.all(flat.log_prob(off) == -np.inf)


def test_a_cut_that_leaves_too_few_rows_to_fit_is_refused_at_load():
    """keep 0.04 of 50 synthetic rows trains a d = 2 Gaussian on 2 < d + 1 rows from generation 2 on."""
    with pytest.raises(InvalidParameterError, match=r"^The 'loop' parameter must be a mix with at least dim \+ 1 = 3 .*Got '2 samples at generation 2 after mitigation' instead\.$"):
        autophagy.load_config(loop(mitigation=[{"kind": "threshold", "score": "self_loglik", "keep": 0.04}]))
    config = loop(loop={"kind": "fresh", "n_real": 10, "n_synthetic": 50}, mitigation=[{"kind": "threshold", "score": "self_loglik", "keep": 0.04}])
    assert autophagy.load_config(config).mitigation[0].kept_at_most(50) == 2  # real rows make up the rest
    # min_score may keep every row: nothing to refuse before the run
    assert autophagy.load_config(loop(mitigation=[{"kind": "threshold", "score": "self_loglik", "min_score": 0.0}]))
