"""Monitor a plain PyTorch loop: a tiny generative model of scikit-learn's 8x8 digits retrained
each generation on its own samples (fully synthetic), or on fresh real digits (``--fresh``).

The model is an autoencoder with a Gaussian latent: an MLP autoencoder (64 -> 128 -> 8 -> 128
-> 64) trained on the current data, a full-covariance Gaussian fitted to its codes, and samples
decoded from that Gaussian plus the per-pixel residual noise. Half the digits are kept aside as
the monitor's reference; the loop only ever sees the other half (or its own samples). The
monitor compares the samples in the reference's top-4 principal components (the ``embed``),
where this model fits real digits within sampling noise, so what it flags is the loop's drift,
not the model's fixed gap.

    .venv/bin/python examples/monitor/plain_loop.py                 # fully synthetic: warns at generation ~3
    .venv/bin/python examples/monitor/plain_loop.py --fresh         # fresh real digits: silent
    .venv/bin/python examples/monitor/plain_loop.py --generations 3

Rows land in ``runs/monitor-digits[-fresh]/<run_id>/`` (``autophagy runs runs``).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

import autophagy

N, EPOCHS, LATENT, HIDDEN, COMPONENTS = 200, 60, 8, 128, 4
#: Moment metrics (the model's own gap to real digits leaves recall at the band's lower edge);
#: three updates in a row out of a band at level 0.001 before a warning.
METRICS, ALERT = ["frechet", "recall", "mmd"], {"level": 0.001, "patience": 3}


class Autoencoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encode = nn.Sequential(nn.Linear(64, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, LATENT))
        self.decode = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 64), nn.Sigmoid())


def train(x: np.ndarray, seed: int) -> tuple[Autoencoder, np.ndarray, np.ndarray, np.ndarray]:
    """Fit the autoencoder to x (n, 64) and a Gaussian to its codes; returns (model, code mean
    (8,), code covariance (8, 8), residual standard deviation (64,))."""
    torch.manual_seed(seed)
    model, xt = Autoencoder(), torch.from_numpy(x)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    order = torch.Generator().manual_seed(seed)
    for _ in range(EPOCHS):
        for batch in torch.randperm(len(xt), generator=order).split(100):
            optimizer.zero_grad()
            loss = ((model.decode(model.encode(xt[batch])) - xt[batch]) ** 2).mean()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        codes = model.encode(xt).double().numpy()  # (n, 8)
        residual = (model.decode(model.encode(xt)) - xt).numpy()  # (n, 64)
    return model, codes.mean(axis=0), np.cov(codes, rowvar=False), residual.std(axis=0)


def sample(fit: tuple[Autoencoder, np.ndarray, np.ndarray, np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    model, mean, cov, noise = fit
    z = rng.multivariate_normal(mean, cov, size=n).astype(np.float32)  # (n, 8)
    with torch.no_grad():
        x = model.decode(torch.from_numpy(z)).numpy()  # (n, 64)
    return np.clip(x + noise * rng.standard_normal(x.shape), 0.0, 1.0).astype(np.float32)


def main(generations: int = 12, fresh: bool = False, seed: int = 0) -> autophagy.Monitor:
    torch.set_num_threads(1)
    digits = (load_digits().data / 16.0).astype(np.float32)  # (1797, 64) in [0, 1]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(digits))
    reference, train_pool = digits[order[:900]], digits[order[900:]]  # kept aside / the loop's data
    centre = reference.mean(axis=0)
    axes = np.linalg.svd(reference - centre, full_matrices=False)[2][:COMPONENTS]  # (4, 64)

    def embed(x: np.ndarray) -> np.ndarray:  # (n, 64) -> (n, 4)
        return (np.asarray(x) - centre) @ axes.T

    name = "monitor-digits-fresh" if fresh else "monitor-digits"
    with autophagy.Monitor(reference, name=name, out="runs", seed=seed, embed=embed, metrics=METRICS, alert=ALERT) as monitor:
        x = train_pool[rng.choice(len(train_pool), N, replace=False)]  # generation 0: real digits
        start = monitor.last_step + 1  # a rerun resumes the same run: its later steps are appended
        for generation in range(start, start + generations):
            x_new = sample(train(x, seed * 1000 + generation), N, rng)
            values = monitor.update(generation, x_new)
            print(f"generation {generation:2d}: frechet {values['frechet']:.3f}  recall {values['recall']:.2f}  mmd {values['mmd']:.4f}")
            x = train_pool[rng.choice(len(train_pool), N, replace=False)] if fresh else x_new
        print("drifting:", monitor.drifting, "->", monitor.path)
    return monitor


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generations", type=int, default=12)
    parser.add_argument("--fresh", action="store_true", help="train each generation on fresh real digits")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.generations, args.fresh, args.seed)
