"""Benchmark: the bundled neural demo configs (VAE, DDPM, GAN on 8×8 digits, 10 generations).

For each family, one run of its bundled demo config (``src/autophagy/configs/demo_<family>.yaml``,
the ``fully_synthetic``, λ = 1 point of its sweep) in memory, with the wall time per generation
split into

- ``train``: ``Generator.fit`` (the optimiser steps of G^t),
- ``sample``: ``Generator.sample`` (the synthetic half of the next training set and the
  ``eval.n_samples`` images the metrics compare),
- ``metrics``: the image metrics (feature extraction, FID, PRDC, class metrics),

measured by wrapping those three calls (``time.perf_counter``); the rest (composing D^t,
bookkeeping) is ``other``. The feature classifier is trained once before timing (its first use
is a one-off cost per data set and cache, printed separately). Target (the issue's): each
family's 10 generations in under 10 minutes on this 2-core CPU.

On a machine with CUDA, ``--device cuda --image-size 28`` runs the same loop on digits upscaled
to 28×28 (bilinear, written to a temporary .npz: nothing is downloaded) with the convolutional
networks (``architecture: conv`` / ``denoiser: unet``) and a larger width, and prints samples/s
and training steps/s with the GPU's name.

    .venv/bin/python benchmarks/bench_neural.py [--family vae ddpm gan] [--generations 10]
    .venv/bin/python benchmarks/bench_neural.py --device cuda --image-size 28 --width 512
"""

from __future__ import annotations

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy/torch load: one thread per process

import argparse  # noqa: E402
import collections  # noqa: E402
import functools  # noqa: E402
import importlib  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from importlib import resources  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import autophagy  # noqa: E402
from autophagy.config import load_yaml  # noqa: E402
from autophagy.registry import build_source  # noqa: E402
from autophagy.runner import sampled as engines  # noqa: E402  (the sampled engine calls evaluate)

FAMILIES = ("vae", "ddpm", "gan")
TARGET_SECONDS = 600.0
CLASSES = {"vae": "VAEGenerator", "ddpm": "DDPMGenerator", "gan": "GANGenerator"}
#: 28×28 settings: the convolutional networks of each family.
LARGE = {"vae": {"architecture": "conv"}, "ddpm": {"denoiser": "unet"}, "gan": {"architecture": "conv"}}


def demo_config(family: str) -> dict:
    """The bundled demo config of ``family`` without its sweep (the fully_synthetic, λ = 1 point)."""
    with resources.as_file(resources.files("autophagy") / "configs" / f"demo_{family}.yaml") as path:
        raw = load_yaml(path)
    raw.pop("sweep", None)
    raw["loop"] = {**raw["loop"], "kind": "fully_synthetic"}
    raw["generator"] = {**raw["generator"], "bias": 1.0}
    return raw


class Timer:
    """Accumulates seconds per label for wrapped callables, per generation."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = collections.defaultdict(float)
        self.calls: dict[str, int] = collections.defaultdict(int)
        self.items: dict[str, int] = collections.defaultdict(int)

    def wrap(self, label: str, fn, count=None):  # type: ignore[no-untyped-def]
        @functools.wraps(fn)
        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.calls[label] += 1
                if count is not None:
                    self.items[label] += count(*args, **kwargs)

        return timed


def upscaled_digits(size: int, folder: Path) -> str:
    """The bundled digits resized to size×size (bilinear), saved as an .npz; returns its path."""
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]
    large = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    path = folder / f"digits{size}.npz"
    np.savez(path, x=(large[:, 0].numpy() * 255).round().astype(np.uint8), y=bunch.target)
    return str(path)


def bench(family: str, args: argparse.Namespace, data_path: str | None) -> dict[str, float]:
    raw = demo_config(family)
    raw["generations"] = args.generations
    raw["generator"] = {**raw["generator"], "device": args.device}
    if data_path is not None:
        raw["data"] = {"kind": "images", "path": data_path}
        raw["generator"] = {**raw["generator"], **LARGE[family], "width": args.width}
    config = autophagy.load_config(raw)
    source = build_source(config)
    start = time.perf_counter()
    from autophagy.images.features import classifier

    lab = classifier(source)  # the feature classifier's one-off training (cached for the run below)
    classifier_seconds = time.perf_counter() - start
    test = source.test_index
    accuracy = float(np.mean(lab.predict(source.images[test].reshape(len(test), *source.image_shape)) == source.labels[test]))

    module = importlib.import_module(f"autophagy.neural.{family}")
    cls = getattr(module, CLASSES[family])
    timer = Timer()
    originals = (cls.fit, cls.sample, engines.evaluate)
    cls.fit = timer.wrap("train", cls.fit)
    cls.sample = timer.wrap("sample", cls.sample, count=lambda self, n, **_: n)
    engines.evaluate = timer.wrap("metrics", engines.evaluate)
    per_generation: list[float] = []
    last = [time.perf_counter()]

    def progress(info: dict) -> None:
        now = time.perf_counter()
        per_generation.append(now - last[0])
        last[0] = now

    try:
        start = time.perf_counter()
        result = autophagy.run(config, out=None, progress=progress)
        total = time.perf_counter() - start
    finally:
        cls.fit, cls.sample, engines.evaluate = originals
    gen = config.generator
    steps = gen.steps * config.generations  # type: ignore[attr-defined]
    split = {k: timer.seconds[k] for k in ("train", "sample", "metrics")}
    split["other"] = total - sum(split.values())
    wide = result.wide()
    first, final = wide.xs(1, level="generation").iloc[0], wide.xs(config.generations, level="generation").iloc[0]
    device = engines_device(family, config)
    print(f"\n== {family} on {device}: {config.generations} generations, data {source.image_shape}, "
          f"{len(source.train_index)} training images, loop {config.loop.kind} n={config.loop.n_real}")
    print(f"  total {total:7.1f} s  ({total / config.generations:.1f} s per generation, median {statistics.median(per_generation):.1f} s)"
          f"   [target < {TARGET_SECONDS:.0f} s: {'met' if total < TARGET_SECONDS else 'NOT met'}; ratio target/total = {TARGET_SECONDS / total:.2f}]")
    for label, seconds in split.items():
        print(f"  {label:8s} {seconds:7.1f} s  {100 * seconds / total:5.1f} %  ({seconds / config.generations:.2f} s per generation)")
    print(f"  training steps/s {steps / split['train']:8.1f}   samples/s {timer.items['sample'] / split['sample']:9.1f}"
          f"   feature classifier (one-off) {classifier_seconds:.1f} s, held-out accuracy {accuracy:.3f}")
    for name in ("fid", "recall", "precision", "class_entropy"):
        if name in wide:
            print(f"  {name:14s} generation 1 {first[name]:8.3f} -> generation {config.generations} {final[name]:8.3f}")
    return {"total": total, **split}


def engines_device(family: str, config) -> str:  # type: ignore[no-untyped-def]
    from autophagy.neural._torch import require_torch, resolve_device

    device = resolve_device(config.generator.device)
    if device == "cuda":
        return f"cuda ({require_torch().cuda.get_device_name(0)})"
    return f"cpu ({require_torch().get_num_threads()} torch thread)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    parser.add_argument("--image-size", type=int, default=8, help="8: the bundled digits; larger: digits upscaled (conv networks)")
    parser.add_argument("--width", type=int, default=256, help="network width for --image-size > 8")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_path = None if args.image_size == 8 else upscaled_digits(args.image_size, Path(folder))
        totals = {family: bench(family, args, data_path) for family in args.family}
    print("\nsummary (seconds): " + ", ".join(f"{f} {t['total']:.0f}" for f, t in totals.items()))


if __name__ == "__main__":
    main()
