"""A (conditional) variational autoencoder of images (Kingma & Welling 2014; CVAE: Sohn et al. 2015).

The encoder q(z | x, c) = N(μ(x, c), diag σ²(x, c)) and the decoder p(x | z, c) = Bernoulli(
sigmoid(f(z, c))) pixel by pixel are trained on the β-weighted negative evidence lower bound

    L(x) = -E_q[log p(x | z, c)] + β KL(q(z | x, c) || N(0, I)),

with one reparameterised draw z = μ + σ ε per row. Pixels in [0, 1] enter the Bernoulli
likelihood as soft targets (binary cross-entropy), the usual choice for grey images. The
condition c is the one-hot class label when ``conditional`` (zero for an unlabelled row),
else empty. Samples decode z ~ N(0, λ² I) and return the decoder mean sigmoid(f(z, c)).
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
    from autophagy.images.vae import VAEConfig

torch = require_torch()
nn = torch.nn
F = torch.nn.functional
#: The base class of the networks below (typed Any: torch is imported when this module loads).
_Module: Any = nn.Module


class _VAE(_Module):
    """Encoder and decoder; ``mlp``: two hidden layers of ``width``; ``conv``: two stride-2 convs.

    The condition (n, K) joins the flattened image (mlp) or the flattened conv features (conv)
    in the encoder, and z in the decoder.
    """

    def __init__(self, shape: tuple[int, int, int], latent: int, width: int, n_cond: int, architecture: str) -> None:
        super().__init__()
        c, h, w = shape
        self.shape = shape
        if architecture == "mlp":
            self.features = nn.Flatten()
            n_features = c * h * w
            self.encoder = nn.Sequential(
                nn.Linear(n_features + n_cond, width), nn.ReLU(),
                nn.Linear(width, width), nn.ReLU(),
                nn.Linear(width, 2 * latent),
            )  # fmt: skip
            self.decoder = nn.Sequential(
                nn.Linear(latent + n_cond, width), nn.ReLU(),
                nn.Linear(width, width), nn.ReLU(),
                nn.Linear(width, c * h * w),
            )  # fmt: skip
            self.upsample = nn.Unflatten(1, shape)
        else:
            ch = max(width // 2, 8)
            low = (ch, h // 4, w // 4)  # after two stride-2 convs
            n_features = int(np.prod(low))
            self.features = nn.Sequential(
                nn.Conv2d(c, ch // 2, 4, stride=2, padding=1), nn.ReLU(),  # (ch/2, H/2, W/2)
                nn.Conv2d(ch // 2, ch, 4, stride=2, padding=1), nn.ReLU(),  # (ch, H/4, W/4)
                nn.Flatten(),
            )  # fmt: skip
            self.encoder = nn.Sequential(nn.Linear(n_features + n_cond, width), nn.ReLU(), nn.Linear(width, 2 * latent))
            self.decoder = nn.Sequential(
                nn.Linear(latent + n_cond, width), nn.ReLU(),
                nn.Linear(width, n_features), nn.ReLU(),
            )  # fmt: skip
            self.upsample = nn.Sequential(
                nn.Unflatten(1, low),
                nn.ConvTranspose2d(ch, ch // 2, 4, stride=2, padding=1), nn.ReLU(),  # (ch/2, H/2, W/2)
                nn.ConvTranspose2d(ch // 2, c, 4, stride=2, padding=1),  # (C, H, W) logits
            )  # fmt: skip

    def encode(self, x: Any, cond: Any) -> tuple[Any, Any]:
        """Images (n, C, H, W), condition (n, K) -> μ, log σ², each (n, latent)."""
        mu, logvar = self.encoder(torch.cat([self.features(x), cond], dim=1)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: Any, cond: Any) -> Any:
        """Latents (n, latent), condition (n, K) -> pixel logits (n, C, H, W)."""
        return self.upsample(self.decoder(torch.cat([z, cond], dim=1)))

    def loss(self, x: Any, cond: Any, gen: Any, beta: float) -> Any:
        """The β-weighted negative ELBO of each row (n,), one reparameterised draw of z."""
        mu, logvar = self.encode(x, cond)
        eps = torch.randn(mu.shape, generator=gen, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = self.decode(z, cond).float()
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        kl = 0.5 * (mu.float().square() + logvar.float().exp() - 1.0 - logvar.float()).sum(1)
        return recon + beta * kl


class VAEGenerator:
    """A VAE of image rows (n, C·H·W + 1): pixels in [0, 1] and the class label.

    ``fit`` starts from the weights last given to :meth:`set_state` (warm start: the engine
    loads G^{t-1} before fitting G^t) or, without them, from fresh weights drawn from ``rng``;
    either way it is a deterministic function of its inputs on the CPU. Adam starts afresh.

    Attributes:
        net_: the trained encoder/decoder (a torch module on ``device``).
        label_probs_: class frequencies (n_classes,) of the training rows (labels of samples).
        losses_: the minibatch loss L of every training step, shape (steps,).
    """

    def __init__(self, config: VAEConfig, image_shape: tuple[int, int, int], n_classes: int) -> None:
        self.config = config
        self.image_shape = cast(tuple[int, int, int], tuple(image_shape))
        self.n_classes = n_classes
        self.device = resolve_device(config.device)
        check_conv_shape(self.image_shape, config.architecture)

    def _network(self, rng: np.random.Generator) -> Any:
        cfg = self.config
        n_cond = self.n_classes if cfg.conditional else 0
        with seeded_global(rng):
            net = _VAE(self.image_shape, cfg.latent_dim, cfg.width, n_cond, cfg.architecture)
        return net.to(self.device)

    def _condition(self, labels: Any) -> Any:
        return condition(labels, self.n_classes, self.config.conditional)

    def fit(self, x: np.ndarray, *, rng: np.random.Generator) -> Self:
        """Train ``config.steps`` Adam steps on the rows ``x`` (n, C·H·W + 1); returns self."""
        cfg = self.config
        images, labels = split_rows(x, self.image_shape, self.device)
        if len(images) == 0:
            raise InvalidParameterError("Expected n_samples >= 1 to fit a VAE but got 0.")
        warm = getattr(self, "_warm_state", None)
        net = self._network(rng) if warm is None else self._loaded(warm)
        gen = generator_from(rng, self.device)
        cond = self._condition(labels)
        optimiser = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        losses = []
        net.train()
        for step, idx in enumerate(minibatches(len(images), cfg.batch_size, cfg.steps, gen), start=1):
            with autocast(self.device, cfg.mixed_precision):
                loss = net.loss(images[idx], cond[idx], gen, cfg.beta).mean()
            check_finite_loss(loss, "VAE", step, cfg.steps)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses.append(loss.detach())
        self.net_ = net.eval()
        self.label_probs_ = label_probabilities(labels, self.n_classes)
        self.losses_ = torch.stack(losses).float().cpu().numpy()
        return self

    def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
        """n rows (n, C·H·W + 1): decoder means at z = λ ε, ε ~ N(0, I); label -1 unless conditional."""
        check_fitted(self, "net_")
        bias = check_bias(bias)
        cfg = self.config
        gen = generator_from(rng, self.device)
        labels = sample_labels(n, self.label_probs_, cfg.conditional, rng, self.device)
        batches = [torch.empty((0, *self.image_shape), device=self.device)]
        with torch.no_grad():
            for start in range(0, n, cfg.eval_batch):
                lab = labels[start : start + cfg.eval_batch]
                eps = torch.randn((len(lab), cfg.latent_dim), generator=gen, device=self.device)
                with autocast(self.device, cfg.mixed_precision):
                    logits = self.net_.decode(bias * eps, self._condition(lab))
                batches.append(torch.sigmoid(logits.float()))
        return join_rows(torch.cat(batches), labels)

    def elbo(self, x: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
        """The evidence lower bound (β = 1, nats) of each row of ``x`` (n, C·H·W + 1), shape (n,).

        One draw of z per row. Soft pixels make it a bound on the Bernoulli likelihood the
        model is trained on, not on a density of continuous images.
        """
        check_fitted(self, "net_")
        images, labels = split_rows(x, self.image_shape, self.device)
        gen = generator_from(rng, self.device)
        parts = [torch.empty(0, device=self.device)]
        with torch.no_grad():
            for start in range(0, len(images), self.config.eval_batch):
                rows = slice(start, start + self.config.eval_batch)
                with autocast(self.device, self.config.mixed_precision):
                    loss = self.net_.loss(images[rows], self._condition(labels[rows]), gen, beta=1.0)
                parts.append(loss.float())
        return -torch.cat(parts).cpu().numpy().astype(np.float64)

    def get_state(self) -> dict[str, np.ndarray]:
        """The network weights (``net/...``) and ``label_probs``."""
        check_fitted(self, "net_")
        return {**module_arrays(self.net_, "net/"), "label_probs": np.asarray(self.label_probs_)}

    def _loaded(self, state: dict[str, np.ndarray]) -> Any:
        net = self._network(np.random.default_rng(0))  # any weights: all of them are overwritten
        load_module_arrays(net, state, "net/")
        return net

    def set_state(self, state: dict[str, np.ndarray]) -> Self:
        """Load a state written by :meth:`get_state`; a following ``fit`` continues from it."""
        self._warm_state = {k: np.array(v) for k, v in state.items()}
        self.net_ = self._loaded(self._warm_state).eval()
        self.label_probs_ = np.asarray(state["label_probs"], dtype=float)
        return self


def build(config: VAEConfig, source: Any) -> VAEGenerator:
    """The registered factory of ``generator.kind: vae`` (see :mod:`autophagy.images.vae`)."""
    return VAEGenerator(config, source.image_shape, source.n_classes)
