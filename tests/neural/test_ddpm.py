"""Class-conditional DDPM with classifier-free guidance: contract, λ = 1/(1 + w), samplers, state.

Tiny configs on the CPU (width 64, T = 50, 10 DDIM steps); one model trained on the digits is
shared by the statistical tests.
"""

import numpy as np
import pytest
from scipy import stats

pytest.importorskip("torch")

import torch  # noqa: E402

from autophagy.exceptions import DegenerateFitError, InvalidParameterError, NotFittedError  # noqa: E402
from autophagy.images.ddpm import DDPMConfig, bias_for, guidance_for  # noqa: E402
from autophagy.images.ddpm_model import (  # noqa: E402
    DDPMGenerator,
    Diffusion,
    build_denoiser,
    guided_epsilon,
    noise_schedule,
)
from autophagy.images.source import ImageSetConfig  # noqa: E402
from autophagy.images.source import build as build_images  # noqa: E402

SHAPE, K = (1, 8, 8), 10


def make(**changes):
    config = {"device": "cpu", "steps": 100, "width": 64, "timesteps": 50, "sample_steps": 10, **changes}
    return DDPMGenerator(DDPMConfig(**config), SHAPE, K)


@pytest.fixture(scope="module")
def digits():
    source = build_images(ImageSetConfig())
    return source.sample(1438, rng=np.random.default_rng(0)), source.holdout(359, rng=np.random.default_rng(1))


@pytest.fixture(scope="module")
def trained(digits):
    """400 steps: about the least training after which λ = 0.25 lowers the within-class variance by > 5 % (~8 %)."""
    return make(steps=400).fit(digits[0], rng=np.random.default_rng(0))


def within_class_variance(rows):
    """Mean over classes of the total pixel variance of the rows of that class."""
    return np.mean([rows[rows[:, -1] == k, :-1].var(axis=0).sum() for k in np.unique(rows[:, -1])])


# --- λ = 1/(1 + w) ------------------------------------------------------------------------


def test_bias_guidance_mapping():
    assert guidance_for(1.0) == 0.0
    assert guidance_for(0.25) == 3.0
    for lam in (1.0, 0.8, 0.5, 0.25, 0.01):
        assert bias_for(guidance_for(lam)) == pytest.approx(lam, rel=1e-12)


def test_guided_epsilon_is_the_cfg_combination():
    ec, eu = torch.randn(5, 1, 8, 8), torch.randn(5, 1, 8, 8)
    assert guided_epsilon(ec, eu, 0.0) is ec
    torch.testing.assert_close(guided_epsilon(ec, eu, 3.0), 4 * ec - 3 * eu)


def _conditions_seen(model, n, bias):
    """Class conditions passed to the sampling network, one tensor per forward call."""
    seen = []
    handle = model.ema_.register_forward_pre_hook(lambda module, args: seen.append(args[2].clone()))
    try:
        rows = model.sample(n, rng=np.random.default_rng(4), bias=bias)
    finally:
        handle.remove()
    return rows, seen


def test_unguided_sampling_never_evaluates_the_unconditional_branch(trained):
    rows, seen = _conditions_seen(trained, 30, 1.0)
    assert len(seen) == 10  # one pass per DDIM step
    for c in seen:
        assert not bool((c == K).any())  # ∅ never asked for
        np.testing.assert_array_equal(c.numpy(), rows[:, -1])
    _, guided = _conditions_seen(trained, 30, 0.25)
    assert len(guided) == 10 and all(len(c) == 60 and bool((c[30:] == K).all()) for c in guided)


def test_stronger_guidance_lowers_within_class_variance(trained):
    # paired batches (same rng at both λ), independent across batches: SE of the mean difference
    diffs = []
    for b in range(8):
        plain = trained.sample(200, rng=np.random.default_rng([9, b]), bias=1.0)
        guided = trained.sample(200, rng=np.random.default_rng([9, b]), bias=0.25)
        diffs.append(within_class_variance(plain) - within_class_variance(guided))
    diffs = np.asarray(diffs)
    se = diffs.std(ddof=1) / np.sqrt(len(diffs))
    assert diffs.mean() > 4 * se, (diffs.mean(), se)
    assert diffs.mean() > 0.05 * within_class_variance(plain)


# --- contract -----------------------------------------------------------------------------


def test_samples_are_valid_rows_with_training_label_frequencies(trained, digits):
    x = digits[0]
    freq = np.bincount(x[:, -1].astype(int), minlength=K) / len(x)
    np.testing.assert_allclose(trained.label_probs_, freq)
    n = 3000
    rows = trained.sample(n, rng=np.random.default_rng(2))
    assert rows.shape == (n, 65) and np.all(np.isfinite(rows))
    assert rows[:, :-1].min() >= 0.0 and rows[:, :-1].max() <= 1.0
    counts = np.bincount(rows[:, -1].astype(int), minlength=K)
    chi2 = np.sum((counts - n * freq) ** 2 / (n * freq))
    assert chi2 < stats.chi2.ppf(1 - 1e-4, K - 1)


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_both_samplers_give_valid_images(trained, sampler):
    config = trained.config.model_copy(update={"sampler": sampler})
    model = DDPMGenerator(config, SHAPE, K).set_state(trained.get_state())
    rows = model.sample(50, rng=np.random.default_rng(0), bias=0.5)
    assert rows.shape == (50, 65) and np.all(np.isfinite(rows))
    assert 0.0 <= rows[:, :-1].min() and rows[:, :-1].max() <= 1.0
    assert rows[:, :-1].std() > 0.1  # images, not a constant
    assert model.sample(0, rng=np.random.default_rng(0)).shape == (0, 65)


def test_unconditional_model_samples_unlabelled_rows_and_refuses_guidance(digits):
    model = make(conditional=False, steps=20).fit(digits[0][:200], rng=np.random.default_rng(0))
    rows = model.sample(20, rng=np.random.default_rng(1))
    assert np.all(rows[:, -1] == -1)
    with pytest.raises(InvalidParameterError, match="'bias' parameter must be 1 for an unconditional"):
        model.sample(5, rng=np.random.default_rng(1), bias=0.5)


def test_bad_input_is_refused(digits):
    x = digits[0][:64]
    with pytest.raises(NotFittedError):
        make().sample(3, rng=np.random.default_rng(0))
    with pytest.raises(InvalidParameterError, match=r"shape \(n, 64 \+ 1\)"):
        make().fit(x[:, 1:], rng=np.random.default_rng(0))
    bad = x.copy()
    bad[0, -1] = K
    with pytest.raises(InvalidParameterError, match="labels in -1..9"):
        make().fit(bad, rng=np.random.default_rng(0))
    unlabelled = x.copy()
    unlabelled[:, -1] = -1
    with pytest.raises(InvalidParameterError, match="labelled rows for a conditional DDPM"):
        make().fit(unlabelled, rng=np.random.default_rng(0))
    model = make(steps=2).fit(x, rng=np.random.default_rng(0))
    for bias in (0.0, -1.0, 1.5):
        with pytest.raises(InvalidParameterError, match="'bias' parameter"):
            model.sample(3, rng=np.random.default_rng(0), bias=bias)


def test_diverging_training_is_degenerate(digits):
    with pytest.raises(DegenerateFitError, match="ddpm training loss became non-finite"):
        make(lr=1e30, steps=10).fit(digits[0][:64], rng=np.random.default_rng(0))


# --- learning, determinism, state -------------------------------------------------------


def test_training_lowers_the_held_out_denoising_loss(trained, digits):
    # same rng as `trained`: the same initial weights, trained one step instead of 400
    untrained = make(steps=1).fit(digits[0], rng=np.random.default_rng(0))
    held_out = np.concatenate([digits[1]] * 4)
    before = untrained.denoising_loss(held_out, rng=np.random.default_rng(3))
    after = trained.denoising_loss(held_out, rng=np.random.default_rng(3))
    assert before > 0.9  # ε̂ ≈ 0 from the zero-initialised output layer: E‖ε‖² = 1
    assert after < 0.5 * before


def test_same_seed_same_model_and_samples(digits):
    x = digits[0][:300]
    a = make().fit(x, rng=np.random.default_rng(5))
    b = make().fit(x, rng=np.random.default_rng(5))
    c = make().fit(x, rng=np.random.default_rng(6))
    sa, sb, sc = a.get_state(), b.get_state(), c.get_state()
    for key in sa:
        np.testing.assert_array_equal(sa[key], sb[key])
    assert not np.array_equal(sa["model.stem.weight"], sc["model.stem.weight"])
    np.testing.assert_array_equal(
        a.sample(40, rng=np.random.default_rng(1), bias=0.5), b.sample(40, rng=np.random.default_rng(1), bias=0.5)
    )
    assert not np.array_equal(a.sample(40, rng=np.random.default_rng(1)), a.sample(40, rng=np.random.default_rng(2)))
    # a second fit without set_state starts afresh: fit is idempotent given the rng
    a.fit(x, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.get_state()["ema.stem.weight"], sa["ema.stem.weight"])


def test_state_round_trip_reproduces_samples(trained):
    clone = DDPMGenerator(trained.config, SHAPE, K).set_state(trained.get_state())
    for sampler_bias in (1.0, 0.25):
        np.testing.assert_array_equal(
            clone.sample(60, rng=np.random.default_rng(8), bias=sampler_bias),
            trained.sample(60, rng=np.random.default_rng(8), bias=sampler_bias),
        )


def test_warm_start_continues_from_the_given_weights(trained, digits):
    x, held_out = digits[0], np.concatenate([digits[1]] * 4)
    short = trained.config.model_copy(update={"steps": 20})
    warm = DDPMGenerator(short, SHAPE, K).set_state(trained.get_state()).fit(x, rng=np.random.default_rng(1))
    cold = DDPMGenerator(short, SHAPE, K).fit(x, rng=np.random.default_rng(1))
    assert warm.ema_updates_ == trained.ema_updates_ + 20
    models = {"trained": trained, "warm": warm, "cold": cold}
    loss = {name: m.denoising_loss(held_out, rng=np.random.default_rng(3)) for name, m in models.items()}
    assert loss["warm"] < 1.1 * loss["trained"] and loss["warm"] < 0.6 * loss["cold"], loss
    # and it did train: the weights moved
    assert not np.array_equal(warm.get_state()["model.stem.weight"], trained.get_state()["model.stem.weight"])


# --- schedules, samplers against closed forms, U-Net --------------------------------------


def test_noise_schedules():
    linear = noise_schedule("linear", 1000)
    assert float(linear[0]) == pytest.approx(1e-4) and float(linear[-1]) == pytest.approx(0.02)
    np.testing.assert_allclose(noise_schedule("linear", 50).numpy(), np.linspace(20e-4, 0.4, 50))  # rescaled by 1000/T
    alpha_bar = torch.cumprod(1 - noise_schedule("cosine", 200), 0)
    assert float(alpha_bar[0]) > 0.999 and float(alpha_bar[-1]) < 1e-4
    assert bool((alpha_bar[1:] < alpha_bar[:-1]).all())


@pytest.mark.parametrize("sampler", ["ddim", "ancestral"])
def test_samplers_with_the_exact_epsilon_recover_a_gaussian(sampler):
    """Data N(μ, s²): the optimal ε(x_t, t) = √(1-ᾱ)(x_t - √ᾱ μ)/(ᾱ s² + 1 - ᾱ) is known."""
    mu, s, n, T = 0.1, 0.2, 20_000, 200
    diffusion = Diffusion(noise_schedule("cosine", T), "cpu")

    def eps(x, t):
        ab = diffusion.alpha_bar[t]
        return (1 - ab).sqrt() * (x - ab.sqrt() * mu) / (ab * s**2 + 1 - ab)

    gen = torch.Generator().manual_seed(0)
    x = torch.randn((n, 1, 1, 1), generator=gen)
    if sampler == "ddim":
        steps = torch.linspace(T - 1, 0, 100).round().long().tolist()
        for t, t_prev in zip(steps, [*steps[1:], -1], strict=True):
            x = diffusion.ddim_step(x, t, t_prev, eps(x, t))
    else:
        for t in range(T - 1, -1, -1):
            x = diffusion.ancestral_step(x, t, eps(x, t), gen)
    # sampling error 4 s/√n on the mean; both samplers shrink the spread by a few % at T = 200
    # (discretisation; the ancestral one's σ_t² = β̃_t ignores Var(x_0 | x_t))
    assert abs(float(x.mean()) - mu) < 4 * s / np.sqrt(n) + 0.002
    assert 0.93 * s < float(x.std()) < 1.01 * s


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_unet_keeps_the_image_shape(shape):
    net = build_denoiser(DDPMConfig(denoiser="unet", width=32), shape, K)
    x = torch.randn(2, *shape)
    assert net(x, torch.tensor([0, 49]), torch.tensor([3, K])).shape == x.shape


def test_unet_denoiser_trains_and_samples_on_digits(digits):
    model = make(denoiser="unet", width=32, steps=5, batch_size=32).fit(digits[0][:64], rng=np.random.default_rng(0))
    rows = model.sample(6, rng=np.random.default_rng(1), bias=0.5)
    assert rows.shape == (6, 65) and np.all(np.isfinite(rows))
    with pytest.raises(InvalidParameterError, match="'generator.denoiser' parameter must be 'mlp'"):
        DDPMGenerator(DDPMConfig(device="cpu", denoiser="unet"), (1, 10, 10), K).fit(
            np.zeros((4, 101)), rng=np.random.default_rng(0)
        )
