"""Image metrics: the lab's classifier (determinism, accuracy, disk cache), fid, class metrics,
feature-space PRDC, and a user TorchScript feature network (a tiny stand-in for Inception)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from autophagy.config import load_config  # noqa: E402
from autophagy.exceptions import InvalidParameterError  # noqa: E402
from autophagy.images import features as fnet  # noqa: E402
from autophagy.images.metrics import features, predictions  # noqa: E402
from autophagy.images.source import ImageSetConfig, build  # noqa: E402
from autophagy.metrics import EvalConfig, evaluate, functional  # noqa: E402
from autophagy.metrics.evaluate import make_context  # noqa: E402

# torch.jit.script / save / load warn that TorchScript is deprecated; the standard FID network is TorchScript.
jit = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def source():
    return build(ImageSetConfig())


@pytest.fixture(scope="module")
def lab(source):
    """The default classifier, trained once for the whole module (kept in the process cache)."""
    return fnet.classifier(source)


@pytest.fixture(scope="module")
def held_out(source):
    """All held-out images (n, 1, 8, 8) and labels (n,)."""
    index = source.test_index
    return source.images[index].reshape(len(index), *source.image_shape), source.labels[index]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh disk cache and an empty in-process cache, both restored afterwards."""
    monkeypatch.setattr(fnet, "_trained", {})
    fnet.set_cache_dir(tmp_path)
    yield tmp_path
    fnet.set_cache_dir(None)


def rows(images, labels):
    """Images (n, C, H, W) and labels (n,) -> rows [pixels, label] (n, C·H·W + 1)."""
    return np.column_stack([images.reshape(len(images), -1).astype(np.float64), np.asarray(labels, dtype=np.float64)])


def context(source, real, fake, **eval_keys):
    return make_context(real, fake, None, 1.0, source, EvalConfig(**eval_keys), np.random.default_rng(0))


# --------------------------------------------------------------------------- the lab's classifier


def test_default_classifier_is_accurate_and_bitwise_deterministic(source, lab, held_out):
    images, labels = held_out
    assert np.mean(lab.predict(images) == labels) >= 0.95

    again = fnet.train_classifier(*source.train_images(), source.n_classes)
    for key, value in lab.net.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key


def test_embeddings_have_the_documented_shapes(lab, held_out):
    images = held_out[0][:7]
    embedded, classes = lab.embed(images), lab.predict(images)
    assert embedded.shape == (7, fnet.FEATURES) and embedded.dtype == np.float64
    assert classes.shape == (7,) and classes.dtype == np.int64


def _counting_trainer(monkeypatch):
    """Replace train_classifier by a 20-step version that counts its calls."""
    calls = []
    real_train = fnet.train_classifier

    def short(images, labels, n_classes, *, steps=fnet.STEPS):
        calls.append(1)
        return real_train(images, labels, n_classes, steps=20)

    monkeypatch.setattr(fnet, "train_classifier", short)
    return calls


def test_the_disk_cache_is_reloaded_instead_of_retraining(source, held_out, cache_dir, monkeypatch):
    calls = _counting_trainer(monkeypatch)
    first = fnet.classifier(source).embed(held_out[0])
    saved = list(cache_dir.glob("classifier-*.pt"))
    assert len(calls) == 1 and len(saved) == 1
    assert saved[0].name == f"classifier-{fnet.fingerprint(*source.train_images())[:16]}.pt"

    monkeypatch.setattr(fnet, "_trained", {})  # a new process: only the file remains
    second = fnet.classifier(source).embed(held_out[0])
    assert len(calls) == 1
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("content", ["garbage", "another network"])
def test_a_corrupt_cache_file_is_retrained_over(source, cache_dir, monkeypatch, content):
    calls = _counting_trainer(monkeypatch)
    path = cache_dir / f"classifier-{fnet.fingerprint(*source.train_images())[:16]}.pt"
    if content == "garbage":
        path.write_bytes(b"not a checkpoint")
    else:
        torch.save(fnet.DigitClassifier((1, 8, 8), 3).state_dict(), path)
    with pytest.warns(UserWarning, match="unreadable classifier cache"):
        fnet.classifier(source)
    assert len(calls) == 1
    assert torch.load(path, weights_only=True).keys() == fnet.DigitClassifier(source.image_shape, source.n_classes).state_dict().keys()


# --------------------------------------------------------------------------- fid


def test_fid_of_a_set_with_itself_is_zero(source, lab):
    real = source.holdout(300, rng=np.random.default_rng(1))
    assert evaluate(["fid"], context(source, real, real))["fid"] == pytest.approx(0.0, abs=1e-6)


def test_fid_separates_real_images_from_noise_and_is_symmetric(source, lab):
    rng = np.random.default_rng(2)
    real, train = source.holdout(300, rng=rng), source.sample(300, rng=rng)
    noise = rows(rng.random((300, *source.image_shape)), np.full(300, -1))
    real_vs_real = evaluate(["fid"], context(source, real, train))["fid"]
    real_vs_noise = evaluate(["fid"], context(source, real, noise))["fid"]
    assert real_vs_real < 0.2 * real_vs_noise
    assert evaluate(["fid"], context(source, train, real))["fid"] == pytest.approx(real_vs_real, rel=1e-9)


def test_precision_and_recall_of_images_are_computed_in_feature_space(source, lab):
    rng = np.random.default_rng(3)
    ctx = context(source, source.holdout(200, rng=rng), source.sample(200, rng=rng))
    got = evaluate(["precision", "recall", "density", "coverage"], ctx)
    assert got == functional.prdc(*features(ctx), nearest_k=ctx.config.nearest_k)


# --------------------------------------------------------------------------- class metrics


def test_class_metrics_of_balanced_correctly_classified_images(source, lab, held_out):
    images, labels = held_out
    right = lab.predict(images) == labels
    pick = np.concatenate([np.flatnonzero(right & (labels == k))[:20] for k in range(10)])
    ctx = context(source, rows(images, labels), rows(images[pick], labels[pick]))
    got = evaluate(["class_entropy", "class_frequency", "classifier_accuracy"], ctx)
    assert got["class_entropy"] == pytest.approx(math.log(10), rel=1e-12)
    assert [got[f"class_frequency_{k}"] for k in range(10)] == pytest.approx([0.1] * 10)
    assert got["classifier_accuracy"] == 1.0


def test_class_entropy_is_zero_for_one_image_repeated(source, lab, held_out):
    images, labels = held_out
    fake = rows(np.repeat(images[:1], 50, axis=0), np.repeat(labels[:1], 50))
    got = evaluate(["class_entropy", "class_frequency"], context(source, rows(images, labels), fake))
    assert got["class_entropy"] == 0.0
    assert got[f"class_frequency_{labels[0]}"] == 1.0


def test_class_frequency_is_the_histogram_of_the_predictions(source, lab):
    rng = np.random.default_rng(4)
    noise = rows(rng.random((300, *source.image_shape)), np.full(300, -1))
    ctx = context(source, source.holdout(300, rng=rng), noise)
    got = evaluate(["class_frequency", "class_entropy"], ctx)
    shares = np.bincount(predictions(ctx), minlength=10) / 300
    assert [got[f"class_frequency_{k}"] for k in range(10)] == pytest.approx(shares.tolist(), abs=1e-15)
    assert sum(got[f"class_frequency_{k}"] for k in range(10)) == pytest.approx(1.0)
    nonzero = shares[shares > 0]
    assert got["class_entropy"] == pytest.approx(float(-np.sum(nonzero * np.log(nonzero))))


def test_classifier_accuracy_compares_predictions_with_the_conditioning_labels(source, lab, held_out):
    images, labels = held_out
    real = rows(images, labels)
    right = evaluate(["classifier_accuracy"], context(source, real, rows(images, labels)))
    wrong = evaluate(["classifier_accuracy"], context(source, real, rows(images, (labels + 1) % 10)))
    unlabelled = evaluate(["classifier_accuracy"], context(source, real, rows(images, np.full(len(labels), -1))))
    assert right["classifier_accuracy"] >= 0.9
    assert wrong["classifier_accuracy"] <= 0.2
    assert math.isnan(unlabelled["classifier_accuracy"])


# --------------------------------------------------------------------------- a user's TorchScript network


class StandIn(torch.nn.Module):
    """Inception's calling convention at toy size: 3×16×16 inputs, 16 features."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3 * 16 * 16, 16)

    def forward(self, x, return_features: bool = False):
        out = self.linear(x.flatten(1))  # fails unless the input is (n, 3, 16, 16)
        return out if return_features else out.softmax(dim=1)


class PlainStandIn(StandIn):
    def forward(self, x):
        return self.linear(x.flatten(1))


def _scripted(module, path):
    torch.manual_seed(0)
    torch.jit.save(torch.jit.script(module), str(path))
    return str(path)


@jit
@pytest.mark.parametrize("kind", [StandIn, PlainStandIn])
def test_a_torchscript_network_replaces_the_classifier_for_fid(source, lab, held_out, tmp_path, kind):
    path = _scripted(kind(), tmp_path / "net.pt")
    rng = np.random.default_rng(5)
    ctx = context(source, source.holdout(100, rng=rng), source.sample(100, rng=rng), feature_network=path, feature_size=16)
    got = evaluate(["fid", "precision", "class_entropy"], ctx)
    real, _ = features(ctx)
    assert real.shape == (100, 16)
    assert np.isfinite(got["fid"]) and got["fid"] > 0 and np.isfinite(got["precision"])
    assert np.isfinite(got["class_entropy"])  # class metrics still come from the lab's classifier

    # what the network saw: resized bilinearly to 16×16, grey replicated to RGB, pixels in [0, 255]
    net = torch.jit.load(path)
    images = torch.from_numpy(ctx.real.reshape(-1, *source.image_shape).astype(np.float32))
    seen = 255.0 * torch.nn.functional.interpolate(images, size=(16, 16), mode="bilinear", align_corners=False).expand(-1, 3, -1, -1)
    expected = net.linear(seen.flatten(1)).detach().numpy()
    np.testing.assert_allclose(real, expected, rtol=1e-5, atol=1e-4)
    assert fnet.feature_network(source, ctx.config).predict(held_out[0]) is None


@jit
def test_a_missing_or_wrong_feature_network_is_a_parameter_error(source, tmp_path):
    with pytest.raises(InvalidParameterError, match=r"'eval.feature_network'.*no such file"):
        fnet.check_feature_network(str(tmp_path / "missing.pt"))
    state_dict = tmp_path / "weights.pt"
    torch.save(StandIn().state_dict(), state_dict)
    with pytest.raises(InvalidParameterError, match=r"'eval.feature_network'.*not a loadable TorchScript"):
        fnet.feature_network(source, EvalConfig(feature_network=str(state_dict)))


def test_the_config_check_loads_the_feature_network(tmp_path):
    config = {
        "generations": 1,
        "data": {"kind": "images"},
        "generator": {"kind": "vae", "device": "cpu", "steps": 5},
        "loop": {"kind": "fully_synthetic", "n_real": 100, "n_synthetic": 100},
        "metrics": ["fid"],
        "eval": {"n_samples": 200, "feature_network": str(tmp_path / "inception-2015-12-05.pt")},
    }
    with pytest.raises(InvalidParameterError, match=r"'eval.feature_network'"):
        load_config(config)


def test_held_out_real_features_are_embedded_once_per_held_out_set(source, held_out, monkeypatch):
    """Every generation compares with the same held-out images: they go through the network once."""
    calls = []

    class Counting:
        def embed(self, images):
            calls.append(len(images))
            return images.reshape(len(images), -1).astype(np.float64)

    net = Counting()
    monkeypatch.setattr(fnet, "feature_network", lambda source, config: net)
    images, labels = held_out
    real, other = rows(images[:40], labels[:40]), rows(images[40:80], labels[40:80])
    for fake in (rows(images[80:100], labels[80:100]), rows(images[100:130], labels[100:130])):
        found_real, found_fake = features(context(source, real, fake))
        np.testing.assert_array_equal(found_real, real[:, :-1])
        np.testing.assert_array_equal(found_fake, fake[:, :-1])
    assert calls == [40, 20, 30]  # the real set once, each generation's samples once
    features(context(source, other, real))
    assert calls[-2:] == [40, 40]  # another held-out set is embedded anew
