"""The bundled demo: the three MAD loops × λ ∈ {1, 0.7} on two datasets."""

from __future__ import annotations

from importlib import resources

from .config import ExperimentConfig, load_yaml

DEMO_FILES = ("demo_gaussian.yaml", "demo_gmm.yaml")


def demo_configs(repeats: int = 5) -> list[ExperimentConfig]:
    """The expanded run configs of the demo, ``repeats`` seeds per setting."""
    from .runner.sweep import expand

    configs: list[ExperimentConfig] = []
    for name in DEMO_FILES:
        with resources.as_file(resources.files("autophagy") / "configs" / name) as path:
            raw = load_yaml(path)
        configs += expand(raw, [f"sweep.seeds={repeats}"])
    return configs
