"""Shared inputs of a sweep (built once, handed to workers once) and GPU requests to Ray."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import autophagy
from autophagy.registry import build_source, data_key
from autophagy.runner.executors import wants_gpu
from autophagy.runner.shared import SharedInputs, gather, install


def gaussian(dim: int, seed: int = 0) -> autophagy.ExperimentConfig:
    return autophagy.load_config({
        "seed": seed,
        "generations": 2,
        "data": {"kind": "gaussian", "dim": dim},
        "generator": {"kind": "gaussian"},
        "loop": {"kind": "fresh", "n_real": 50, "n_synthetic": 50},
        "metrics": ["cov_trace"],
    })


def test_gather_builds_each_data_source_once_and_install_provides_it(tmp_path, monkeypatch):
    monkeypatch.setattr(autophagy.registry, "_PROVIDED_SOURCES", {})
    configs = [gaussian(2, seed) for seed in range(3)] + [gaussian(3)]
    shared = gather(configs, tmp_path)
    assert len(shared.sources) == 2 and not shared.classifiers
    received = pickle.loads(pickle.dumps(shared))  # what a worker process gets
    install(received)
    assert build_source(configs[1]) is received.sources[data_key(configs[1])]
    assert build_source(configs[3]) is received.sources[data_key(configs[3])]
    one = shared.for_config(configs[0].to_dict())  # a Ray task's part: its own data set only
    assert list(one.sources) == [data_key(configs[0])] == [data_key(configs[0].to_dict())]
    assert SharedInputs().for_config(configs[0]).sources == {}


def test_an_installed_classifier_is_used_without_training(monkeypatch):
    torch = pytest.importorskip("torch")
    from autophagy.images import features

    config = autophagy.load_config({
        "data": {"kind": "images"},
        "generator": {"kind": "vae"},
        "loop": {"kind": "fresh", "n_real": 100, "n_synthetic": 100},
        "eval": {"n_samples": 100},
    })
    source = build_source(config)
    images, labels = source.train_images()
    key = features.fingerprint(images, labels)
    torch.manual_seed(0)
    net = features.DigitClassifier(tuple(source.image_shape), int(source.n_classes))
    weights = {name: tensor.detach().numpy().copy() for name, tensor in net.state_dict().items()}
    monkeypatch.setattr(features, "_trained", {})
    monkeypatch.setattr(features, "train_classifier", lambda *a, **k: pytest.fail("trained although installed"))
    from autophagy.runner.shared import Classifier

    install(SharedInputs({}, (Classifier(key, weights, tuple(source.image_shape), int(source.n_classes)),)))
    installed = features.classifier(source).net.state_dict()
    for name, array in weights.items():
        np.testing.assert_array_equal(installed[name].numpy(), array)


@pytest.mark.parametrize(("device", "cluster_gpus", "wanted"), [
    ("cuda", False, True), ("cuda", True, True), ("auto", True, True), ("auto", False, False), ("cpu", True, False), (None, True, False),
])
def test_runs_request_a_gpu_from_ray_when_their_config_asks_for_cuda(device, cluster_gpus, wanted):
    assert wants_gpu(device, cluster_gpus) is wanted
