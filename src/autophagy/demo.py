"""The bundled demos: the three MAD loops × λ ∈ {1, 0.7} on two datasets (the default), and one
per neural family on the bundled digits (``fully_synthetic`` / ``fresh`` × two λ, 10 generations)."""

from __future__ import annotations

from importlib import resources

from autophagy.config import ExperimentConfig, load_yaml

DEMO_FILES = ("demo_gaussian.yaml", "demo_gmm.yaml")
#: The neural demos (``autophagy demo --family vae``): PyTorch, minutes per run on a CPU.
FAMILY_FILES = {"vae": "demo_vae.yaml", "ddpm": "demo_ddpm.yaml", "gan": "demo_gan.yaml"}


def demo_configs(repeats: int = 5, family: str | None = None, overrides: list[str] | None = None) -> list[ExperimentConfig]:
    """The expanded run configs of the demo, ``repeats`` seeds per setting.

    ``family``: None for the default Gaussian/GMM demo, else a key of :data:`FAMILY_FILES`;
    ``overrides``: ``key=value`` for every demo file (``generations=2``: a shorter demo).
    """
    from autophagy._validation import check
    from autophagy.runner.sweep import expand

    check(family is None or family in FAMILY_FILES, "family", f"one of {sorted(FAMILY_FILES)}", family)
    configs: list[ExperimentConfig] = []
    for name in DEMO_FILES if family is None else (FAMILY_FILES[family],):
        with resources.as_file(resources.files("autophagy") / "configs" / name) as path:
            raw = load_yaml(path)
        configs += expand(raw, [*(overrides or []), f"sweep.seeds={repeats}"])
    return configs
