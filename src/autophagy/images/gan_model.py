"""A (conditional) GAN of images with a mapping network and the truncation trick.

The generator draws z ~ N(0, I), maps it to w = f(z) (StyleGAN's mapping MLP, Karras et al.
2019) and synthesises the image g(w, c) = sigmoid(·), pixels in [0, 1]. The discriminator
D(x, c) = ψ(φ(x)) + ⟨e_c, φ(x)⟩ is a projection discriminator (Miyato & Koyama 2018); e_c is
the embedding of class c, zero for an unlabelled row and absent when unconditional. Both play
the non-saturating game (Goodfellow et al. 2014) in its softplus form,

    L_D = E[softplus(-D(x))] + E[softplus(D(g(f(z))))] + (γ/2) E[‖∇_x D(x)‖²],
    L_G = E[softplus(-D(g(f(z))))],

with the R1 penalty (Mescheder et al. 2018) on real images. The mean w̄ of f(z) is tracked
during training as w̄ ← β w̄ + (1 - β) mean_batch(w) (StyleGAN), and sampling truncates
w' = w̄ + λ (w - w̄) (λ = 1: the plain sampler, computed without the lerp).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self, cast

import numpy as np

from autophagy.core.generator import check_bias, check_fitted
from autophagy.exceptions import InvalidParameterError
from autophagy.neural._torch import autocast, generator_from, require_torch, resolve_device
from autophagy.neural.base import (
    check_conv_shape,
    check_finite_loss,
    condition,
    join_rows,
    label_probabilities,
    load_module_arrays,
    minibatches,
    module_arrays,
    sample_labels,
    seeded_global,
    split_rows,
)

if TYPE_CHECKING:
    from autophagy.images.gan import GANConfig

torch = require_torch()
nn = torch.nn
F = torch.nn.functional
#: The base class of the networks below (typed Any: torch is imported when this module loads).
_Module: Any = nn.Module

#: γ of the R1 penalty. Measured on the 8×8 digits (3000 steps): with γ = 0 or 0.1 the
#: discriminator wins (L_D -> 0.3) and the samples collapse to a few shapes; γ = 1 to 5 gives
#: diverse, recognisable digits.
R1_GAMMA = 1.0


def discriminator_loss(d: Any, real: Any, fake: Any, cond: Any) -> Any:
    """L_D of one batch: images ``real``, ``fake`` (n, C, H, W), condition (n, K) -> scalar.

    softplus(-D(x)) + softplus(D(x̃)) + (γ/2) ‖∇_x D(x)‖², batch means; the gradient penalty
    (R1) is taken at the real images only.
    """
    real = real.detach().requires_grad_(True)
    d_real = d(real, cond)
    (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
    r1 = grad.float().square().flatten(1).sum(1).mean()
    return F.softplus(-d_real).mean() + F.softplus(d(fake, cond)).mean() + 0.5 * R1_GAMMA * r1


def _act() -> Any:
    return nn.LeakyReLU(0.2)


class _Generator(_Module):
    """Mapping network z -> w, then synthesis (w, condition) -> image in [0, 1]."""

    def __init__(self, shape: tuple[int, int, int], latent: int, mapping_layers: int, width: int, n_cond: int, architecture: str) -> None:
        super().__init__()
        c, h, w = shape
        layers: list[Any] = []
        for _ in range(mapping_layers):
            layers += [nn.Linear(latent, latent), _act()]
        self.mapping = nn.Sequential(*layers)  # empty: w = z
        if architecture == "mlp":
            self.synthesis = nn.Sequential(
                nn.Linear(latent + n_cond, width), _act(),
                nn.Linear(width, width), _act(),
                nn.Linear(width, c * h * w),
                nn.Unflatten(1, shape),
            )  # fmt: skip
        else:
            ch = max(width // 2, 8)
            low = (ch, h // 4, w // 4)
            self.synthesis = nn.Sequential(
                nn.Linear(latent + n_cond, int(np.prod(low))), _act(),
                nn.Unflatten(1, low),
                nn.ConvTranspose2d(ch, ch // 2, 4, stride=2, padding=1), _act(),  # (ch/2, H/2, W/2)
                nn.ConvTranspose2d(ch // 2, c, 4, stride=2, padding=1),  # (C, H, W) logits
            )  # fmt: skip

    def synthesise(self, w: Any, cond: Any) -> Any:
        """Styles (n, latent), condition (n, K) -> images (n, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.synthesis(torch.cat([w, cond], dim=1)).float())


class _Discriminator(_Module):
    """Features φ(x), the unconditional score ψ and the class embedding of the projection."""

    def __init__(self, shape: tuple[int, int, int], width: int, n_cond: int, architecture: str) -> None:
        super().__init__()
        c, h, w = shape
        if architecture == "mlp":
            self.features = nn.Sequential(
                nn.Flatten(),
                nn.Linear(c * h * w, width), _act(),
                nn.Linear(width, width), _act(),
            )  # fmt: skip
        else:
            ch = max(width // 2, 8)
            self.features = nn.Sequential(
                nn.Conv2d(c, ch // 2, 4, stride=2, padding=1), _act(),  # (ch/2, H/2, W/2)
                nn.Conv2d(ch // 2, ch, 4, stride=2, padding=1), _act(),  # (ch, H/4, W/4)
                nn.Flatten(),
                nn.Linear(ch * (h // 4) * (w // 4), width), _act(),
            )  # fmt: skip
        self.score = nn.Linear(width, 1)
        # one-hot c picks its row e_c; a zero condition (unlabelled) adds nothing
        self.embed = nn.Linear(n_cond, width, bias=False) if n_cond else None

    def forward(self, x: Any, cond: Any) -> Any:
        """Images (n, C, H, W), condition (n, K) -> logits (n,) of "real"."""
        phi = self.features(x)
        out = self.score(phi).squeeze(1)
        if self.embed is not None:
            out = out + (self.embed(cond) * phi).sum(1)
        return out.float()


class GANGenerator:
    """A GAN of image rows (n, C·H·W + 1): pixels in [0, 1] and the class label.

    ``fit`` starts from the weights (both networks and w̄) last given to :meth:`set_state`
    (warm start) or, without them, from fresh weights drawn from ``rng``; deterministic on the
    CPU. The Adam states start afresh.

    Attributes:
        generator_: mapping and synthesis networks (torch module on ``device``).
        discriminator_: the discriminator (kept for warm starts).
        w_avg_: the moving average w̄ of the mapped latents, shape (latent_dim,).
        label_probs_: class frequencies (n_classes,) of the training rows (labels of samples).
        losses_: (L_D, L_G) of every training step, shape (steps, 2).
    """

    def __init__(self, config: GANConfig, image_shape: tuple[int, int, int], n_classes: int) -> None:
        self.config = config
        self.image_shape = cast(tuple[int, int, int], tuple(image_shape))
        self.n_classes = n_classes
        self.device = resolve_device(config.device)
        check_conv_shape(self.image_shape, config.architecture)

    def _networks(self, rng: np.random.Generator) -> tuple[Any, Any]:
        cfg = self.config
        n_cond = self.n_classes if cfg.conditional else 0
        with seeded_global(rng):
            g = _Generator(self.image_shape, cfg.latent_dim, cfg.mapping_layers, cfg.width, n_cond, cfg.architecture)
            d = _Discriminator(self.image_shape, cfg.width, n_cond, cfg.architecture)
        return g.to(self.device), d.to(self.device)

    def _condition(self, labels: Any) -> Any:
        return condition(labels, self.n_classes, self.config.conditional)

    def fit(self, x: np.ndarray, *, rng: np.random.Generator) -> Self:
        """Train ``config.steps`` alternating D/G Adam steps on the rows ``x`` (n, C·H·W + 1)."""
        cfg = self.config
        images, labels = split_rows(x, self.image_shape, self.device)
        if len(images) == 0:
            raise InvalidParameterError("Expected n_samples >= 1 to fit a GAN but got 0.")
        warm = getattr(self, "_warm_state", None)
        if warm is None:
            g, d = self._networks(rng)
            w_avg = None
        else:
            g, d, w_avg = self._loaded(warm)
        gen = generator_from(rng, self.device)
        cond = self._condition(labels)
        opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
        losses = []
        for step, idx in enumerate(minibatches(len(images), cfg.batch_size, cfg.steps, gen), start=1):
            c = cond[idx]  # the fakes of a batch take its labels: the training label frequencies
            z = torch.randn((len(idx), cfg.latent_dim), generator=gen, device=self.device)
            with autocast(self.device, cfg.mixed_precision):
                with torch.no_grad():
                    fake = g.synthesise(g.mapping(z), c)
                loss_d = discriminator_loss(d, images[idx], fake, c)
            check_finite_loss(loss_d, "GAN discriminator", step, cfg.steps)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()

            z = torch.randn((len(idx), cfg.latent_dim), generator=gen, device=self.device)
            with autocast(self.device, cfg.mixed_precision):
                w = g.mapping(z)
                loss_g = F.softplus(-d(g.synthesise(w, c), c)).mean()
            check_finite_loss(loss_g, "GAN generator", step, cfg.steps)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()

            w_mean = w.detach().float().mean(0)
            # a scratch fit starts w̄ at its first batch mean (not StyleGAN's 0): short fits stay unbiased
            w_avg = w_mean if w_avg is None else torch.lerp(w_mean, w_avg, cfg.w_avg_beta)
            losses.append(torch.stack([loss_d.detach(), loss_g.detach()]))
        assert w_avg is not None  # set by the first of config.steps >= 1 steps
        self.generator_, self.discriminator_ = g.eval(), d.eval()
        self.w_avg_ = w_avg
        self.label_probs_ = label_probabilities(labels, self.n_classes)
        self.losses_ = torch.stack(losses).float().cpu().numpy()
        return self

    def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
        """n rows (n, C·H·W + 1) from w' = w̄ + λ (f(z) - w̄), z ~ N(0, I); label -1 unless conditional."""
        check_fitted(self, "generator_")
        bias = check_bias(bias)
        cfg, g = self.config, self.generator_
        gen = generator_from(rng, self.device)
        labels = sample_labels(n, self.label_probs_, cfg.conditional, rng, self.device)
        batches = [torch.empty((0, *self.image_shape), device=self.device)]
        with torch.no_grad():
            for start in range(0, n, cfg.eval_batch):
                lab = labels[start : start + cfg.eval_batch]
                z = torch.randn((len(lab), cfg.latent_dim), generator=gen, device=self.device)
                with autocast(self.device, cfg.mixed_precision):
                    w = g.mapping(z)
                    if bias != 1.0:  # λ = 1 is exactly the untruncated sampler
                        w = torch.lerp(self.w_avg_.to(w.dtype), w, bias)
                    batches.append(g.synthesise(w, self._condition(lab)))
        return join_rows(torch.cat(batches), labels)

    def get_state(self) -> dict[str, np.ndarray]:
        """Weights (``generator/...``, ``discriminator/...``), ``w_avg`` and ``label_probs``."""
        check_fitted(self, "generator_")
        return {
            **module_arrays(self.generator_, "generator/"),
            **module_arrays(self.discriminator_, "discriminator/"),
            "w_avg": self.w_avg_.cpu().numpy().copy(),
            "label_probs": np.asarray(self.label_probs_),
        }

    def _loaded(self, state: dict[str, np.ndarray]) -> tuple[Any, Any, Any]:
        g, d = self._networks(np.random.default_rng(0))  # any weights: all of them are overwritten
        load_module_arrays(g, state, "generator/")
        load_module_arrays(d, state, "discriminator/")
        w_avg = torch.as_tensor(np.asarray(state["w_avg"], dtype=np.float32), device=self.device)
        if w_avg.shape != (self.config.latent_dim,):
            raise InvalidParameterError(
                f"The 'state' parameter must hold w_avg of shape ({self.config.latent_dim},). Got {tuple(w_avg.shape)} instead."
            )
        return g, d, w_avg

    def set_state(self, state: dict[str, np.ndarray]) -> Self:
        """Load a state written by :meth:`get_state`; a following ``fit`` continues from it."""
        self._warm_state = {k: np.array(v) for k, v in state.items()}
        g, d, self.w_avg_ = self._loaded(self._warm_state)
        self.generator_, self.discriminator_ = g.eval(), d.eval()
        self.label_probs_ = np.asarray(state["label_probs"], dtype=float)
        return self


def build(config: GANConfig, source: Any) -> GANGenerator:
    """The registered factory of ``generator.kind: gan`` (see :mod:`autophagy.images.gan`)."""
    return GANGenerator(config, source.image_shape, source.n_classes)
