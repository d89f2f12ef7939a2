"""Neural generators in the loop: determinism, warm start, checkpoints, resume, refusal."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import autophagy
from autophagy.exceptions import CorruptRunError, RunConflictError
from autophagy.store.checkpoint import WEIGHT_KEY, checkpoint_path, load_checkpoint, save_checkpoint

from ..interrupt import Stop, metric_values, stop_after


def vae_config(**changes):
    config = {
        "name": "tiny-vae",
        "seed": 3,
        "generations": 3,
        "data": {"kind": "images"},
        "generator": {"kind": "vae", "device": "cpu", "steps": 25, "width": 32, "latent_dim": 4, "batch_size": 64},
        "loop": {"kind": "augment", "n_real": 150, "n_synthetic": 150},
        "metrics": ["frechet", "cov_trace"],
        "eval": {"n_samples": 120, "snapshot_size": 16},
    }
    for key, value in changes.items():
        node = config
        *parents, last = key.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return config


def test_same_config_same_metrics_and_rows_per_generation():
    a, b = autophagy.run(vae_config(), out=None), autophagy.run(vae_config(), out=None)
    np.testing.assert_array_equal(metric_values(a), metric_values(b))
    assert sorted(a.metrics["generation"].unique()) == [1, 2, 3]
    assert np.isfinite(a.metrics["value"]).all()
    other = autophagy.run(vae_config(seed=4), out=None)
    assert not np.array_equal(metric_values(a), metric_values(other))


@pytest.mark.parametrize("init", ["scratch", "warm_start"])
def test_interrupted_run_resumes_to_identical_metrics(tmp_path, init):
    config = vae_config(**{"generator.init": init})
    whole = autophagy.run(config, out=tmp_path / "whole")
    with pytest.raises(Stop):
        autophagy.run(config, out=tmp_path / "cut", progress=stop_after(2))
    resumed = autophagy.run(config, out=tmp_path / "cut")
    np.testing.assert_array_equal(metric_values(resumed), metric_values(whole))
    run_dir = resumed.path
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["gen-0001.pt", "gen-0002.pt", "gen-0003.pt"]
    with np.load(run_dir / "state.npz") as state:  # the weights live in the checkpoints only
        assert state.files and not any(WEIGHT_KEY.match(key) for key in state.files)
    weights = load_checkpoint(run_dir, 3, resumed.run_id)
    assert weights and all(key.startswith(f"s{config['seed']}/g3/") for key in weights)


def test_warm_start_continues_from_the_previous_generator():
    scratch = autophagy.run(vae_config(), out=None)
    warm = autophagy.run(vae_config(**{"generator.init": "warm_start"}), out=None)
    first = lambda r: r.metrics[r.metrics["generation"] == 1]["value"].to_numpy()  # noqa: E731
    np.testing.assert_array_equal(first(scratch), first(warm))  # generation 1 has no predecessor
    assert not np.array_equal(metric_values(scratch), metric_values(warm))


def test_a_checkpoint_of_another_config_is_refused(tmp_path):
    config, other = vae_config(), vae_config(seed=11)
    with pytest.raises(Stop):
        autophagy.run(config, out=tmp_path, progress=stop_after(2))
    theirs = autophagy.run(other, out=tmp_path)
    run_dir = tmp_path / config["name"] / autophagy.load_config(config).run_id()
    shutil.copyfile(checkpoint_path(theirs.path, 2), checkpoint_path(run_dir, 2))
    with pytest.raises(RunConflictError, match=r"gen-0002.pt is a checkpoint of run .* not of this config"):
        autophagy.run(config, out=tmp_path)


def test_a_missing_checkpoint_is_a_clear_error(tmp_path):
    config = vae_config()
    with pytest.raises(Stop):
        autophagy.run(config, out=tmp_path, progress=stop_after(1))
    run_dir = tmp_path / config["name"] / autophagy.load_config(config).run_id()
    os.remove(checkpoint_path(run_dir, 1))
    with pytest.raises(CorruptRunError, match="checkpoint of generation 1 is missing"):
        autophagy.run(config, out=tmp_path)


class _Payload:
    """Not a tensor: torch.load(weights_only=True) must refuse to unpickle it."""


def test_checkpoints_load_weights_only(tmp_path):
    import torch

    save_checkpoint(tmp_path, 1, "abc", {"s0/g1/w": np.arange(3.0)})
    np.testing.assert_array_equal(load_checkpoint(tmp_path, 1, "abc")["s0/g1/w"], np.arange(3.0))
    torch.save({"format": "autophagy-checkpoint-1", "run_id": "abc", "generation": 2, "tensors": {}, "x": _Payload()}, checkpoint_path(tmp_path, 2))
    with pytest.raises(CorruptRunError, match="gen-0002.pt"):
        load_checkpoint(tmp_path, 2, "abc")
