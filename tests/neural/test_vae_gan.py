"""The VAE and GAN families on the 8×8 digits: determinism, state, warm start, λ, learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from autophagy.exceptions import DegenerateFitError, InvalidParameterError, NotFittedError
from autophagy.images.gan import GANConfig
from autophagy.images.gan_model import GANGenerator
from autophagy.images.source import ImageSetConfig, build
from autophagy.images.vae import VAEConfig
from autophagy.images.vae_model import VAEGenerator
from autophagy.neural._torch import generator_from

SHAPE, N_CLASSES = (1, 8, 8), 10
FAMILIES = {"vae": (VAEConfig, VAEGenerator), "gan": (GANConfig, GANGenerator)}
TINY = {"device": "cpu", "width": 64, "batch_size": 64, "steps": 40}
TRAINED_STEPS = 300


def make(family, shape=SHAPE, **changes):
    """An unfitted generator of ``family`` with the TINY config updated by ``changes``."""
    config_cls, cls = FAMILIES[family]
    return cls(config_cls(**{**TINY, **changes}), shape, N_CLASSES)


def total_variance_and_se(rows):
    """Total pixel variance mean_i ‖x_i - x̄‖² and its standard error std(‖x_i - x̄‖²)/√n."""
    pixels = rows[:, :-1]
    q = np.square(pixels - pixels.mean(0)).sum(1)
    return q.mean(), q.std(ddof=1) / np.sqrt(len(q))


@pytest.fixture(scope="module")
def digits():
    source = build(ImageSetConfig())
    rng = np.random.default_rng(0)
    return source.sample(800, rng=rng), source.holdout(300, rng=rng)


@pytest.fixture(scope="module")
def trained(digits):
    """family -> an unconditional model fitted for TRAINED_STEPS on the digits (built once)."""
    cache = {}

    def get(family):
        if family not in cache:
            cache[family] = make(family, steps=TRAINED_STEPS).fit(digits[0], rng=np.random.default_rng(1))
        return cache[family]

    return get


@pytest.mark.parametrize("family", FAMILIES)
def test_fit_is_deterministic_given_the_seed(family, digits):
    x = digits[0]
    a = make(family).fit(x, rng=np.random.default_rng(5))
    b = make(family).fit(x, rng=np.random.default_rng(5))
    c = make(family).fit(x, rng=np.random.default_rng(6))
    sa, sb, sc = a.get_state(), b.get_state(), c.get_state()
    assert sa.keys() == sb.keys() == sc.keys()
    for key in sa:
        np.testing.assert_array_equal(sa[key], sb[key], err_msg=key)
    assert any(not np.array_equal(sa[k], sc[k]) for k in sa if k != "label_probs")
    draw = lambda model, seed: model.sample(200, rng=np.random.default_rng(seed))  # noqa: E731
    np.testing.assert_array_equal(draw(a, 9), draw(b, 9))
    assert not np.array_equal(draw(a, 9), draw(c, 9))
    assert not np.array_equal(draw(a, 9), draw(a, 10))


@pytest.mark.parametrize("family", FAMILIES)
def test_state_round_trip_on_a_fresh_instance(family, trained):
    model = trained(family)
    state = model.get_state()
    clone = make(family, steps=TRAINED_STEPS).set_state(state)
    for key, value in clone.get_state().items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)
    for bias in (1.0, 0.5):
        np.testing.assert_array_equal(
            clone.sample(300, rng=np.random.default_rng(3), bias=bias),
            model.sample(300, rng=np.random.default_rng(3), bias=bias),
        )


@pytest.mark.parametrize("family", FAMILIES)
def test_set_state_rejects_weights_of_another_network(family, trained):
    model = trained(family)
    with pytest.raises(InvalidParameterError, match="'state' parameter"):
        make(family, width=32).set_state(model.get_state())


@pytest.mark.parametrize("family", FAMILIES)
def test_warm_start_continues_from_the_loaded_weights(family, trained, digits):
    model = trained(family)
    state = model.get_state()
    warm = make(family, steps=1).set_state(state).fit(digits[0], rng=np.random.default_rng(8))
    moved = max(np.abs(v.astype(float) - state[k]).max() for k, v in warm.get_state().items() if "/" in k)
    # Adam's first step moves each weight by lr·g/(|g| + ε) <= lr (plus float32 rounding of the
    # weights, < 1e-6): a one-step warm fit stays within lr of the loaded weights, a scratch fit
    # would start from unrelated ones
    lr = warm.config.lr
    assert 0.5 * lr < moved <= lr + 1e-6
    # fit is a function of (loaded state, data, rng): refitting repeats it exactly
    again = warm.fit(digits[0], rng=np.random.default_rng(8)).get_state()
    for key, value in warm.get_state().items():
        np.testing.assert_array_equal(value, again[key], err_msg=key)


def test_warm_vae_starts_from_a_lower_loss(digits):
    x = digits[0]
    state = make("vae", steps=200).fit(x, rng=np.random.default_rng(1)).get_state()
    warm = make("vae", steps=10).set_state(state).fit(x, rng=np.random.default_rng(2))
    scratch = make("vae", steps=10).fit(x, rng=np.random.default_rng(2))
    # a scratch VAE starts near 64·log 2 ≈ 44 nats; after 200 steps the loss is ~28
    assert warm.losses_[0] < scratch.losses_[0] - 5.0


@pytest.mark.parametrize("family", FAMILIES)
def test_unconditional_samples_are_images_without_labels(family, trained):
    model = trained(family)
    rows = model.sample(500, rng=np.random.default_rng(4))
    assert rows.shape == (500, 65)
    assert np.all(np.isfinite(rows))
    assert rows[:, :-1].min() >= 0.0 and rows[:, :-1].max() <= 1.0
    np.testing.assert_array_equal(rows[:, -1], -1.0)


@pytest.mark.parametrize("family", FAMILIES)
def test_conditional_labels_follow_the_training_frequencies(family, digits):
    x = digits[0].copy()
    x[:100, -1] = -1  # unlabelled rows: zero condition, left out of the label frequencies
    model = make(family, conditional=True, steps=20).fit(x, rng=np.random.default_rng(1))
    counts = np.bincount(x[100:, -1].astype(int), minlength=N_CLASSES)
    np.testing.assert_allclose(model.label_probs_, counts / counts.sum())
    n = 5000
    rows = model.sample(n, rng=np.random.default_rng(2), bias=0.7)
    assert rows.shape == (n, 65) and np.all(np.isfinite(rows))
    assert rows[:, :-1].min() >= 0.0 and rows[:, :-1].max() <= 1.0
    labels = rows[:, -1]
    np.testing.assert_array_equal(labels, np.rint(labels))
    drawn = np.bincount(labels.astype(int), minlength=N_CLASSES)
    assert len(drawn) == N_CLASSES
    # chi-square goodness of fit of the drawn labels to the training frequencies (9 dof)
    assert stats.chisquare(drawn, n * model.label_probs_).pvalue > 1e-4


def _direct_images(family, model, n, seed, bias=None):
    """Images (n, 64) computed from the networks with the sampler's noise; bias None: no λ at all.

    VAE: sigmoid(decode(z)) at z = λ ε (λ scales the prior's standard deviation).
    GAN: synthesise(w̄ + λ (f(z) - w̄)) (truncation in w-space).
    """
    gen = generator_from(np.random.default_rng(seed), "cpu")
    noise = torch.randn((n, model.config.latent_dim), generator=gen)
    empty = torch.zeros((n, 0))
    with torch.no_grad():
        if family == "vae":
            z = noise if bias is None else bias * noise
            images = torch.sigmoid(model.net_.decode(z, empty))
        else:
            w = model.generator_.mapping(noise)
            if bias is not None:
                w = model.w_avg_ + bias * (w - model.w_avg_)
            images = model.generator_.synthesise(w, empty)
    return images.reshape(n, -1).double().numpy()


@pytest.mark.parametrize("family", FAMILIES)
def test_bias_one_is_exactly_the_plain_sampler(family, trained):
    model = trained(family)
    rows = model.sample(400, rng=np.random.default_rng(11), bias=1.0)
    np.testing.assert_array_equal(rows[:, :-1], _direct_images(family, model, 400, 11))


@pytest.mark.parametrize("family", FAMILIES)
def test_bias_follows_the_documented_mapping(family, trained):
    model = trained(family)
    rows = model.sample(400, rng=np.random.default_rng(11), bias=0.4)
    # float32 rounding only (torch.lerp vs the written-out w̄ + λ (w - w̄))
    np.testing.assert_allclose(rows[:, :-1], _direct_images(family, model, 400, 11, bias=0.4), atol=1e-6)


@pytest.mark.parametrize("family", FAMILIES)
def test_smaller_bias_lowers_the_sample_variance(family, trained):
    model = trained(family)
    n = 2000
    full, se_full = total_variance_and_se(model.sample(n, rng=np.random.default_rng(12), bias=1.0))
    low, se_low = total_variance_and_se(model.sample(n, rng=np.random.default_rng(13), bias=0.3))
    # independent draws: the difference's standard error is the root sum of squares
    assert full - low > 4 * np.hypot(se_full, se_low)


def test_vae_held_out_elbo_improves_with_training(trained, digits):
    model = trained("vae")
    untrained = make("vae", steps=1).fit(digits[0], rng=np.random.default_rng(1))
    held = digits[1]
    gain = model.elbo(held, rng=np.random.default_rng(2)) - untrained.elbo(held, rng=np.random.default_rng(2))
    # paired per-image differences: mean gain beyond 4 standard errors (one z draw per image)
    assert gain.mean() > 4 * gain.std(ddof=1) / np.sqrt(len(gain))
    assert gain.mean() > 5.0  # nats per image; 300 steps gain ~16


def test_gan_mean_image_approaches_the_data(trained, digits):
    model = trained("gan")
    untrained = make("gan", steps=1).fit(digits[0], rng=np.random.default_rng(1))
    target = digits[1][:, :-1].mean(0)
    n = 2000

    def distance_and_se(generator):
        pixels = generator.sample(n, rng=np.random.default_rng(3))[:, :-1]
        # ‖x̄_n - target‖ is off by at most √(trace Cov / n) in standard-error terms
        return np.linalg.norm(pixels.mean(0) - target), np.sqrt(pixels.var(0).sum() / n)

    trained_dist, trained_se = distance_and_se(model)
    untrained_dist, untrained_se = distance_and_se(untrained)
    assert trained_dist + 4 * (trained_se + untrained_se) < 0.5 * untrained_dist


@pytest.mark.parametrize("family", FAMILIES)
def test_misuse_is_reported(family, digits):
    model = make(family)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.sample(3, rng=np.random.default_rng(0))
    with pytest.raises(InvalidParameterError, match="'x' parameter"):
        model.fit(digits[0][:, :-2], rng=np.random.default_rng(0))
    with pytest.raises(InvalidParameterError, match="n_samples >= 1"):
        model.fit(digits[0][:0], rng=np.random.default_rng(0))
    bad = digits[0][:50].copy()
    bad[3, 5] = np.nan
    with pytest.raises(DegenerateFitError):
        model.fit(bad, rng=np.random.default_rng(0))
    model.fit(digits[0][:50], rng=np.random.default_rng(0))
    for bias in (0.0, 1.5):
        with pytest.raises(InvalidParameterError, match="'bias' parameter"):
            model.sample(3, rng=np.random.default_rng(0), bias=bias)
    with pytest.raises(InvalidParameterError, match="generator.architecture"):
        make(family, shape=(1, 6, 6), architecture="conv")


@pytest.mark.parametrize("family", FAMILIES)
def test_diverging_fit_is_degenerate(family, digits):
    with pytest.raises(DegenerateFitError, match="non-finite"):
        make(family, lr=1e12, steps=200).fit(digits[0], rng=np.random.default_rng(0))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)], ids=["8x8", "28x28", "32x32"])
def test_conv_architecture_fits_and_samples(family, shape):
    rng = np.random.default_rng(0)
    size = int(np.prod(shape))
    x = np.column_stack([rng.uniform(size=(16, size)), rng.integers(N_CLASSES, size=16)])
    model = make(family, shape=shape, architecture="conv", conditional=True, width=16, steps=2)
    rows = model.fit(x, rng=np.random.default_rng(1)).sample(5, rng=np.random.default_rng(2), bias=0.5)
    assert rows.shape == (5, size + 1) and np.all(np.isfinite(rows))
    clone = make(family, shape=shape, architecture="conv", conditional=True, width=16).set_state(model.get_state())
    np.testing.assert_array_equal(clone.sample(5, rng=np.random.default_rng(2)), model.sample(5, rng=np.random.default_rng(2)))
