"""Neural families in configs: the extra, the device, the pairing with image data, bad keys."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from autophagy.config import load_config
from autophagy.exceptions import InvalidParameterError


def image_config(generator=None, **top):
    return {
        "name": "img",
        "generations": 2,
        "data": {"kind": "images"},
        "generator": {"kind": "vae", "device": "cpu", "steps": 5, **(generator or {})},
        "loop": {"kind": "fully_synthetic", "n_real": 100, "n_synthetic": 100},
        "eval": {"n_samples": 200},
        **top,
    }


# A finder that refuses torch, as on a machine without the extra (sys.modules['torch'] = None
# would confuse libraries that look torch up in sys.modules).
BLOCK_TORCH = textwrap.dedent(
    """
    import sys
    class _NoTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ModuleNotFoundError(f"No module named {name!r}")
    sys.meta_path.insert(0, _NoTorch())
    """
)


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK_TORCH + textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_core_imports_and_runs_without_torch():
    done = _python(
        """
        import autophagy
        result = autophagy.run({"data": {"kind": "gaussian", "dim": 2}, "generator": {"kind": "gaussian"},
                                "loop": {"kind": "fresh"}, "generations": 2, "metrics": ["cov_trace"]}, out=None)
        assert "torch" not in sys.modules
        print(len(result.metrics))
        """
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0


@pytest.mark.parametrize("kind", ["vae", "ddpm", "gan"])
def test_a_neural_kind_without_torch_names_the_install_command(kind):
    done = _python(
        f"""
        import autophagy
        from autophagy.exceptions import MissingExtraError
        try:
            autophagy.load_config({image_config({"kind": kind})!r})
        except MissingExtraError as exc:
            print(exc)
        """
    )
    assert done.returncode == 0, done.stderr
    message = done.stdout.strip()
    assert len(message.splitlines()) == 1
    assert "PyTorch" in message and "pip install 'autophagy[neural]'" in message


def test_cli_without_torch_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "vae.yaml"
    import yaml

    path.write_text(yaml.safe_dump(image_config()))
    done = _python(f"from autophagy.cli import main; sys.exit(main(['run', {str(path)!r}, '--out', {str(tmp_path)!r}]))")
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install" in lines[0], done.stderr


def test_cuda_without_cuda_is_a_config_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the error path needs a CPU-only machine")
    with pytest.raises(InvalidParameterError, match=r"'generator.device' parameter must be 'cpu' or 'auto' here: .* sees no CUDA device. Got 'cuda'"):
        load_config(image_config({"device": "cuda"}))


def test_auto_device_resolves_here():
    import torch

    from autophagy.neural._torch import resolve_device

    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"generator": {"kind": "gaussian"}}, r"'generator.kind' parameter must be an image generator"),
        ({"data": {"kind": "gaussian", "dim": 64}}, r"'generator.kind' parameter must be a generator of vectors"),
        ({"generator": {"kind": "ddpm", "guidance": -1.0}}, r"'generator.guidance' parameter must be a number >= 0"),
        ({"generator": {"kind": "ddpm", "guidance": 1.0, "bias": 0.9}}, r"'generator.bias' parameter must be 1/\(1 \+ guidance\) = 0.5"),
        ({"generator": {"kind": "gan", "bias": 0.0}}, r"'generator.bias' parameter must be greater than 0"),
        ({"generator": {"kind": "vae", "bias": 1.2}}, r"'generator.bias' parameter must be less than or equal to 1"),
        ({"generator": {"kind": "vae", "device": "tpu"}}, r"'generator.device' parameter must be 'auto', 'cpu' or 'cuda'"),
        ({"generator": {"kind": "vae", "init": "pretrained"}}, r"'generator.init' parameter must be 'scratch' or 'warm_start'"),
        ({"metrics": ["fid", "classifier_accuracy"]}, r"'metrics' parameter must be free of 'classifier_accuracy' unless generator.conditional"),
        ({"eval": {"n_samples": 1000}}, r"'eval.n_samples' parameter must be <= the 359 held-out images"),
    ],
)
def test_bad_neural_configs_fail_before_any_work(changes, match):
    config = image_config()
    for key, value in changes.items():
        config[key] = {**value, "device": "cpu"} if key == "generator" and value.get("kind") in ("vae", "ddpm", "gan") and "device" not in value else value
    with pytest.raises(InvalidParameterError, match=match):
        load_config(config)


def test_image_metrics_need_image_data():
    config = {"data": {"kind": "gaussian", "dim": 2}, "generator": {"kind": "gaussian"}, "loop": {"kind": "fresh"}, "metrics": ["fid"]}
    with pytest.raises(InvalidParameterError, match=r"free of 'fid' unless data.kind is 'images'"):
        load_config(config)


def test_guidance_and_bias_resolve_to_each_other_and_overrides_rederive():
    from_w = load_config(image_config({"kind": "ddpm", "guidance": 3.0}))
    assert from_w.generator.bias == 0.25 and from_w.generator.guidance == 3.0
    from_bias = load_config(image_config({"kind": "ddpm", "bias": 0.5}))
    assert from_bias.generator.guidance == pytest.approx(1.0)
    assert load_config(from_w, {"generator.bias": 0.5}).generator.guidance == pytest.approx(1.0)
    assert load_config(from_bias, {"generator.guidance": 4.0}).generator.bias == pytest.approx(0.2)


def test_default_image_metrics_add_classifier_accuracy_for_conditional_generators():
    plain = load_config(image_config())
    conditional = load_config(image_config({"kind": "ddpm"}))
    assert plain.metrics == ["fid", "precision", "recall", "density", "coverage", "class_entropy", "class_frequency"]
    assert conditional.metrics == [*plain.metrics, "classifier_accuracy"]


def test_family_demos_expand_to_two_loops_by_two_biases():
    from autophagy.demo import FAMILY_FILES, demo_configs

    for family in FAMILY_FILES:
        configs = demo_configs(1, family)
        assert len(configs) == 4 and {c.generator.kind for c in configs} == {family}
        assert {(c.loop.kind, c.generations) for c in configs} == {("fully_synthetic", 10), ("fresh", 10)}
    with pytest.raises(InvalidParameterError, match=r"'family' parameter must be one of \['ddpm', 'gan', 'vae'\]"):
        demo_configs(1, "flow")
