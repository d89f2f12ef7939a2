"""``watermark``: the green-list scheme on the n-gram (and transformer) samplers, the signature
scheme on vectors, the stage's semantics, resume, refusals at load, and the done-when loop."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

import autophagy
from autophagy.exceptions import InvalidParameterError
from autophagy.loops.pool import TrainingPool
from autophagy.loops.stages import SyntheticBatch, apply_stages, stage_rows, wrap_generators
from autophagy.mitigation import greenlist
from autophagy.mitigation.greenlist import GreenList, GreenlistSampler, watermark_probs
from autophagy.mitigation.signature import SignatureDetector, SignatureSampler, direction
from autophagy.mitigation.watermark import WatermarkConfig, WatermarkStage
from autophagy.text.grammar import Grammar
from autophagy.text.ngram_model import NGramLM
from tests.interrupt import metric_values, resumed_metrics


@pytest.fixture(scope="module")
def grammar():
    return Grammar(noise=0.01)  # the defaults of data.kind grammar: V = 2000, order 2, L = 64


@pytest.fixture(scope="module")
def ngram(grammar):
    x = grammar.sample(4000, rng=np.random.default_rng(0))
    return NGramLM(grammar.vocab_size, grammar.seq_len, order=3).fit(x, rng=np.random.default_rng(0))


def text_loop(**changes):
    config = {
        "name": "watermark",
        "seed": 1,
        "generations": 4,
        "repeats": 1,
        "data": {"kind": "grammar", "vocab_size": 200, "seq_len": 24},
        "generator": {"kind": "ngram", "order": 2},
        "loop": {"kind": "mixed", "n_fresh": 200, "n_synthetic": 200},
        "metrics": ["perplexity_real"],
        "eval": {"n_samples": 100},
        "mitigation": [{"kind": "watermark"}],
    }
    config.update(changes)
    return config


# -------------------------------------------------------------------------- green lists


def test_green_lists_have_round_gamma_v_ids_and_depend_on_the_key_and_previous_token(monkeypatch):
    green = GreenList(3, 2000, 0.25)
    prev = np.array([0, 1, 2, 2000])
    mask = green.mask(prev)
    assert mask.shape == (4, 2000) and np.all(mask.sum(axis=1) == 500)
    assert not np.array_equal(mask[0], mask[1])  # another previous token, another list
    assert not np.array_equal(mask, GreenList(4, 2000, 0.25).mask(prev))  # another key
    np.testing.assert_array_equal(mask, GreenList(3, 2000, 0.25).mask(prev))  # the key decides
    # the hashed path (large vocabularies, no dense table) gives the same lists
    monkeypatch.setattr(greenlist, "DENSE_CELLS", 0)
    hashed = GreenList(3, 2000, 0.25)
    np.testing.assert_array_equal(hashed.mask(prev), mask)
    tokens = np.arange(2000)[None, :].repeat(4, axis=0)
    np.testing.assert_array_equal(hashed.is_green(prev[:, None].repeat(2000, axis=1), tokens), mask)


def test_the_z_score_counts_green_tokens_from_the_start_context():
    green = GreenList(0, 50, 0.2)
    x = np.array([[3, 7, 7, 1]])
    prev = np.array([50, 3, 7, 7])
    g = green.is_green(prev, x[0]).sum()
    expected = (g - 0.2 * 4) / np.sqrt(4 * 0.2 * 0.8)
    assert green.z_scores(x.astype(float))[0] == pytest.approx(expected)


def test_the_sampler_draws_from_the_tilted_law(grammar, ngram):
    # a two-token model: 20 000 first tokens against q ∝ p e^{δ green} (Algorithm 2)
    short = NGramLM(grammar.vocab_size, 2, order=3).set_state(ngram.get_state())
    green = GreenList(5, grammar.vocab_size, 0.25)
    sampler = GreenlistSampler(short, green, 2.0)
    x = sampler.sample(20_000, rng=np.random.default_rng(1)).astype(int)
    q = watermark_probs(short.decoding_probs(np.zeros((1, 0))), green.mask(np.array([grammar.vocab_size])), 2.0)[0]
    expected = q[green.mask(np.array([grammar.vocab_size]))[0]].sum()
    observed = green.is_green(np.full(20_000, grammar.vocab_size), x[:, 0]).mean()
    # the green share of the first token: binomial standard error, 4 of them
    assert abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / 20_000)
    assert expected > 0.5  # δ = 2 lifts it well above γ_w = 0.25
    assert sampler.log_prob is short.log_prob or np.array_equal(sampler.log_prob(x[:5].astype(float)), short.log_prob(x[:5].astype(float)))
    with pytest.raises(InvalidParameterError, match="generator.decoding"):
        GreenlistSampler(NGramLM(grammar.vocab_size, 2, order=3, decoding="greedy").set_state(ngram.get_state()), green, 2.0).sample(3, rng=np.random.default_rng(0))


def test_ngram_samples_are_detected_at_a_low_false_positive_rate(grammar, ngram):
    """Done-when: TPR >= 0.95 at FPR <= 0.02 on 64-token samples of an n-gram trained on the
    grammar (Kirchenbauer's δ = 2, γ_w = 0.25, z > 4)."""
    green = GreenList(0, grammar.vocab_size, 0.25)
    marked = GreenlistSampler(ngram, green, 2.0).sample(1000, rng=np.random.default_rng(2))
    real = grammar.sample(2000, rng=np.random.default_rng(3))
    tpr, fpr = np.mean(green.z_scores(marked) > 4.0), np.mean(green.z_scores(real) > 4.0)
    # both claims with 3 binomial standard errors to spare (se at the bound: sqrt(p(1-p)/n))
    assert tpr - 3 * np.sqrt(0.95 * 0.05 / 1000) >= 0.95, tpr
    assert fpr + 3 * np.sqrt(0.02 * 0.98 / 2000) <= 0.02, fpr
    assert np.mean(green.z_scores(ngram.sample(1000, rng=np.random.default_rng(4))) > 4.0) <= 0.02  # unmarked model text


def test_the_null_law_of_z_over_random_keys(grammar):
    """For a random key each token is green with probability γ_w, so E z = 0; its variance is
    that of the green count of a uniformly random γ_w V-subset per previous token (exact per
    sequence: a hypergeometric sum over the previous tokens), slightly above 1 from repeated
    (previous, token) pairs."""
    x = grammar.sample(400, rng=np.random.default_rng(5)).astype(int)
    v, k = grammar.vocab_size, 500
    z = np.array([GreenList(key, v, 0.25).z_scores(row[None, :].astype(float))[0] for key, row in enumerate(x)])
    gamma, n_tok = k / v, x.shape[1]
    variances = []
    for row in x:
        prev = np.r_[v, row[:-1]]
        var = 0.0
        for a in np.unique(prev):
            c = np.bincount(row[prev == a], minlength=v).astype(float)
            var += gamma * (1 - gamma) * v / (v - 1) * ((c**2).sum() - c.sum() ** 2 / v)
        variances.append(var / (n_tok * gamma * (1 - gamma)))
    expected_var = float(np.mean(variances))
    assert 1.0 <= expected_var < 1.5
    # mean: 4 standard errors; variance: 4 standard errors of a sample variance (≈ var·sqrt(2/n))
    assert abs(z.mean()) < 4 * np.sqrt(expected_var / len(z))
    assert abs(z.var(ddof=1) - expected_var) < 4 * expected_var * np.sqrt(2 / len(z))


def test_transformer_samples_are_detected():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from autophagy.text.transformer import TransformerConfig
    from autophagy.text.transformer_model import TransformerLM

    source = Grammar(vocab_size=60, branching=8, seq_len=32, noise=0.0)
    cfg = TransformerConfig(n_layer=1, n_head=2, n_embd=32, batch_size=64, lr=3e-3, steps=150)
    lm = TransformerLM(cfg, source.vocab_size, source.seq_len).fit(source.sample(500, rng=np.random.default_rng(0)), rng=np.random.default_rng(1))
    np.testing.assert_allclose(lm.decoding_probs(np.zeros((2, 0))), lm.next_token_probs(np.zeros((2, 0))), atol=1e-6)
    green = GreenList(0, source.vocab_size, 0.25)
    marked = GreenlistSampler(lm, green, 3.0).sample(200, rng=np.random.default_rng(2))
    real = source.sample(500, rng=np.random.default_rng(3))
    assert marked.shape == (200, 32) and np.all(marked == np.rint(marked))
    assert np.mean(green.z_scores(marked) > 4.0) >= 0.95 and np.mean(green.z_scores(real) > 4.0) <= 0.02


# ---------------------------------------------------------------------------- signature


class _Gaussian:
    """A fitted generator stand-in: N(0, I_d)."""

    def __init__(self, d):
        self.d = d

    def sample(self, n, *, rng, bias=1.0):
        return rng.standard_normal((n, self.d)) * np.sqrt(bias)


def test_signature_detection_on_gaussian_vectors():
    d, s, rng = 6, 5.0, np.random.default_rng(6)
    real = rng.standard_normal((4000, d))
    detector = SignatureDetector(9, real, source=None)
    assert np.linalg.norm(direction(9, d)) == pytest.approx(1.0)
    marked = SignatureSampler(_Gaussian(d), 9, s).sample(20_000, rng=rng)
    held_out = rng.standard_normal((20_000, d))
    tpr, fpr = detector.flagged(marked).mean(), detector.flagged(held_out).mean()
    # S ~ N(0, 1) on real rows, N(s, 1) when marked: FPR = 1 - Φ(τ), TPR = Φ(s - τ); binomial
    # standard errors on 20 000 rows (4 of them), plus the threshold's estimation error from 4000
    # rows (the 99 % quantile's se ≈ sqrt(.01·.99/4000)/φ(2.33) ≈ 0.006 in z, 4 of them)
    tau = detector.threshold
    assert abs(tau - norm.ppf(0.99)) < 4 * 0.006 * 4 + 0.03
    assert abs(fpr - norm.sf(tau)) < 4 * np.sqrt(0.01 * 0.99 / 20_000)
    assert abs(tpr - norm.cdf(s - tau)) < 4 * np.sqrt(0.01 / 20_000) + 1e-3 and tpr > 0.98


def test_signature_marks_image_pixels_only():
    class Images(_Gaussian):
        image_shape = (1, 2, 2)

        def sample(self, n, *, rng, bias=1.0):
            return np.c_[rng.random((n, 4)), rng.integers(10, size=n)]

    x = SignatureSampler(Images(4), 0, 0.3).sample(50, rng=np.random.default_rng(0))
    plain = Images(4).sample(50, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(x[:, -1], plain[:, -1])  # the label column is untouched
    assert x[:, :-1].min() >= 0 and x[:, :-1].max() <= 1 and not np.array_equal(x[:, :-1], plain[:, :-1])


# ------------------------------------------------------------------------- stage semantics


def text_batch(grammar, ngram, stage, n=300, seed=0):
    """A batch of ``n`` marked sequences from ``ngram`` (wrapped by ``stage``), real rows from the grammar."""
    generators = wrap_generators([stage], (ngram,), generation=3)
    x = generators[0].sample(n, rng=np.random.default_rng(seed))
    real = grammar.sample(400, rng=np.random.default_rng(99))
    return SyntheticBatch(TrainingPool.of(x, 2), generators, (2,), grammar, 3, 1.0, real=lambda m: real[:m])


@pytest.mark.parametrize("filter_", [True, False])
def test_the_stage_filters_or_only_measures(grammar, ngram, filter_):
    stage = WatermarkStage(WatermarkConfig(filter=filter_, reference=400))
    batch = text_batch(grammar, ngram, stage)
    out = apply_stages([stage], batch, np.random.default_rng(7))
    rows = stage_rows(out)
    info = out.info
    assert set(info) >= {"watermark_tpr", "watermark_fpr", "watermark_amplification", "watermark_threshold", "frac_synthetic_kept"}
    assert info["watermark_threshold"] == 4.0 and info["watermark_tpr"] > 0.9 and info["watermark_fpr"] <= 0.02
    # G^2 here never saw the mark: its unmarked samples score like real text (256 samples, sd ≈ 1)
    assert abs(info["watermark_amplification"]) < 4 * np.sqrt(1 / 256 + 1 / 400)
    if filter_:
        kept = round((1 - info["watermark_tpr"]) * 300)
        assert len(out.pool) == kept and rows["kept_fraction"] == pytest.approx(kept / 300)
        assert rows["removed_by_watermark"] == pytest.approx(info["watermark_tpr"])
        flagged = stage.green(grammar.vocab_size).z_scores(batch.pool.x) > 4.0
        np.testing.assert_array_equal(out.pool.x, batch.pool.x[~flagged])
    else:
        np.testing.assert_array_equal(out.pool.x, batch.pool.x)
        assert rows["kept_fraction"] == 1.0 and rows["removed_by_watermark"] == 0.0
    again = apply_stages([stage], batch, np.random.default_rng(7))
    np.testing.assert_array_equal(again.pool.x, out.pool.x)
    assert again.info == out.info  # deterministic given the stream


def test_every_draw_of_a_wrapped_generator_is_marked(grammar, ngram):
    stage = WatermarkStage(WatermarkConfig())
    batch = text_batch(grammar, ngram, stage, n=10)
    more = batch.draw_more(200, np.random.default_rng(8))  # what a later stage would add
    assert np.mean(stage.green(grammar.vocab_size).z_scores(more.x) > 4.0) > 0.9
    assert batch.generators[0].wrapped is ngram and batch.generators[0].order == 3  # attributes are the model's


def test_a_loop_records_the_watermark_rows_and_resumes_exactly(tmp_path):
    config = text_loop(store={"checkpoint_every_s": 0})
    whole = resumed_metrics(config, tmp_path, 2)
    assert {"watermark_tpr", "watermark_fpr", "watermark_amplification", "watermark_threshold", "kept_fraction", "removed_by_watermark"} <= set(whole.metric)
    np.testing.assert_array_equal(metric_values(autophagy.run(config, out=None)), whole.sort_values(["seed", "generation", "metric"]).value.to_numpy())


def test_a_signature_loop_on_gaussian_data():
    config = text_loop(
        data={"kind": "gaussian", "dim": 4}, generator={"kind": "gaussian"}, metrics=["cov_trace"],
        loop={"kind": "mixed", "n_fresh": 300, "n_synthetic": 300},
        mitigation=[{"kind": "watermark", "scheme": "signature", "strength": 8.0, "reference": 400}],
    )
    wide = autophagy.run(config, out=None).metrics.pivot_table(index="generation", columns="metric", values="value")
    later = wide.loc[2:]
    assert (later.watermark_tpr > 0.95).all() and (later.watermark_fpr < 0.05).all()
    assert (later.kept_fraction < 0.05).all()


# ------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"data": {"kind": "gaussian", "dim": 2}, "generator": {"kind": "gaussian"}, "metrics": ["cov_trace"]},
         r"^The 'mitigation.0.scheme' parameter must be 'signature' for vector or image data .*Got 'greenlist' instead\.$"),
        ({"mitigation": [{"kind": "watermark", "scheme": "signature"}]},
         r"^The 'mitigation.0.scheme' parameter must be 'greenlist' for text data .*Got 'signature' instead\.$"),
        ({"mitigation": [{"kind": "watermark", "strength": 0.0}]},
         r"^The 'mitigation.0.strength' parameter must be greater than 0\. Got 0\.0 instead\.$"),
        ({"mitigation": [{"kind": "watermark", "green_fraction": 1.0}]},
         r"^The 'mitigation.0.green_fraction' parameter must be less than 1\. Got 1\.0 instead\.$"),
        ({"mitigation": [{"kind": "watermark", "green_fraction": 0}]},
         r"^The 'mitigation.0.green_fraction' parameter must be greater than 0\. Got 0 instead\.$"),
        ({"mitigation": [{"kind": "watermark", "threshold": 2.0}]},
         r"^The 'mitigation.0.threshold' parameter must be null with scheme 'greenlist'.*Got 2\.0 instead\.$"),
    ],
)
def test_bad_watermarks_are_refused_at_load(changes, message):
    with pytest.raises(InvalidParameterError, match=message) as info:
        autophagy.load_config(text_loop(**changes))
    assert "\n" not in str(info.value)


# -------------------------------------------------------------------------------- done-when


def test_filtering_keeps_the_mixed_loop_at_its_real_only_perplexity():
    """Done-when: grammar, trigram, mixed loop (1000 fresh real + 1000 synthetic sequences of 64),
    10 generations. With filter: true the held-out perplexity at generation 10 is within 10 % of
    the real-only loop's; without the filter the loop trains on marked text and drifts (the model
    learns the mark: its unmarked samples score z ≫ 0)."""
    def run(n_synthetic, mitigation):
        config = text_loop(
            seed=0, generations=10, data={"kind": "grammar"}, generator={"kind": "ngram", "order": 3},
            loop={"kind": "mixed", "n_fresh": 1000, "n_synthetic": n_synthetic}, metrics=["perplexity_real", "kl_to_truth"],
            eval={"n_samples": 500}, mitigation=mitigation,
        )
        return autophagy.run(config, out=None).metrics.pivot_table(index="generation", columns="metric", values="value")

    real_only = run(0, [])
    kept = run(1000, [{"kind": "watermark"}])
    drifting = run(1000, [{"kind": "watermark", "filter": False}])
    base = real_only.perplexity_real[10]
    assert abs(kept.perplexity_real[10] / base - 1) < 0.10
    assert drifting.perplexity_real[10] > 1.05 * base and drifting.kl_to_truth[10] > 1.5 * real_only.kl_to_truth[10]
    # amplification: ≈ 0 when the filter catches the marked text (256 samples: se ≈ 0.07), large without
    assert kept.watermark_amplification.loc[2:].abs().max() < 0.5
    assert drifting.watermark_amplification[10] > 3.0
    assert (kept.watermark_tpr.loc[2:] >= 0.95).all() and (kept.watermark_fpr.loc[2:] <= 0.02).all()
