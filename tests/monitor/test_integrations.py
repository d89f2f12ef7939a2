"""The Lightning and Hugging Face callbacks: rows land at the cadence's steps, a collapsing model
warns (and can stop training), a healthy one stays silent, the module imports without either
framework, and a missing one fails in one line naming the extra."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

import autophagy
from autophagy.exceptions import CollapseWarning, InvalidParameterError

D, N_SAMPLES = 2, 200


def _gaussian_module(base: type, *, shrink: float) -> object:
    """A learnable N(μ, diag σ²) fitted by likelihood to N(0, I) data, started at the truth;
    ``shrink`` > 0 adds ``shrink · Σσ`` to the loss, a deliberate variance collapse."""
    import torch

    class Gaussian(base):  # type: ignore[misc,valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.mu = torch.nn.Parameter(torch.zeros(D))
            self.log_sigma = torch.nn.Parameter(torch.zeros(D))
            self.draws = torch.Generator().manual_seed(0)

        def nll(self, x: torch.Tensor) -> torch.Tensor:
            z = (x - self.mu) / self.log_sigma.exp()
            return (0.5 * z**2 + self.log_sigma).sum(-1).mean() + shrink * self.log_sigma.exp().sum()

        def sample(self, n: int) -> torch.Tensor:
            return self.mu + self.log_sigma.exp() * torch.randn(n, D, generator=self.draws)

    return Gaussian()


def _real(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, D)).astype(np.float32)


def _fit_lightning(callback: object, *, shrink: float, epochs: int) -> object:
    import lightning
    import torch

    model = _gaussian_module(lightning.LightningModule, shrink=shrink)
    model.training_step = lambda batch, batch_idx: model.nll(batch[0])  # type: ignore[attr-defined]
    model.configure_optimizers = lambda: torch.optim.Adam(model.parameters(), lr=0.05)  # type: ignore[attr-defined]
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(_real(512, 1))), batch_size=128)
    trainer = lightning.Trainer(
        max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, num_sanity_val_steps=0, callbacks=[callback],
    )  # fmt: skip
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*(num_workers|GPU available|TPU available|LitLogger).*")
        trainer.fit(model, data)
    return trainer


def _first_warning(caught: list[warnings.WarningMessage]) -> str | None:
    hits = [str(w.message) for w in caught if issubclass(w.category, CollapseWarning)]
    return hits[0] if hits else None


def test_lightning_callback_writes_rows_at_its_cadence(tmp_path):
    from autophagy.monitor import LightningMonitorCallback

    with autophagy.Monitor(_real(1000, 0), name="lit", out=tmp_path, alert=False) as monitor:
        every_other = LightningMonitorCallback(monitor, lambda m: m.sample(N_SAMPLES), every=2)
        _fit_lightning(every_other, shrink=0.0, epochs=5)
    assert [step for step, _ in every_other.history] == [2, 4]
    assert sorted(autophagy.load_metrics(tmp_path)["generation"].unique()) == [2, 4]

    with autophagy.Monitor(_real(1000, 0), name="lit-steps", out=None, alert=False) as monitor:
        steps = LightningMonitorCallback(monitor, lambda m: m.sample(N_SAMPLES), on="train_step", every=3)
        _fit_lightning(steps, shrink=0.0, epochs=2)  # 4 batches per epoch: global steps 1..8
    assert [step for step, _ in steps.history] == [3, 6]


def test_lightning_callback_warns_on_a_collapsing_model_and_stays_silent_on_a_healthy_one():
    # Started at the truth N(0, I): the healthy fit moves μ and log σ by about 1/sqrt(512) per
    # epoch around the truth, well inside the band for 200 samples. The shrinking one loses
    # about 0.15 of log σ per epoch (4 Adam steps of lr 0.05 pushed the same way), and the
    # covariance trace leaves its band (about ±20 % at n = 200) after two epochs.
    from autophagy.monitor import LightningMonitorCallback

    for shrink, expect in ((0.0, False), (5.0, True)):
        monitor = autophagy.Monitor(_real(1000, 0), name="lit", out=None, alert={"log": False})
        callback = LightningMonitorCallback(monitor, lambda m: m.sample(N_SAMPLES), stop_on_collapse=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CollapseWarning)
            trainer = _fit_lightning(callback, shrink=shrink, epochs=8)
        message = _first_warning(caught)
        assert (message is not None) is expect, (shrink, message, callback.history)
        if expect:
            assert monitor.drifting and min(monitor.drifting.values()) <= 4, monitor.drifting
            assert trainer.current_epoch < 8  # stop_on_collapse ended the fit early
        else:
            assert [s for s, _ in callback.history] == list(range(1, 9))


def test_hf_trainer_callback_writes_rows_per_epoch_and_per_steps(tmp_path):
    import torch
    import transformers

    from autophagy.monitor import HFMonitorCallback

    class Gaussian(torch.nn.Module):  # any module whose forward returns a dict with a loss
        def __init__(self, shrink: float) -> None:
            super().__init__()
            self.inner = _gaussian_module(torch.nn.Module, shrink=shrink)

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"loss": self.inner.nll(x)}

    data = [{"x": torch.from_numpy(row)} for row in _real(256, 1)]

    def fit(callback: object, shrink: float, epochs: int, name: str) -> None:
        args = transformers.TrainingArguments(
            output_dir=str(tmp_path / name), num_train_epochs=epochs, per_device_train_batch_size=64, learning_rate=0.05,
            report_to=[], save_strategy="no", logging_strategy="no", use_cpu=True, disable_tqdm=True, seed=0,
            dataloader_num_workers=0, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0,
        )  # fmt: skip
        transformers.Trainer(model=Gaussian(shrink), args=args, train_dataset=data, callbacks=[callback]).train()

    sample = lambda model: model.inner.sample(N_SAMPLES)  # noqa: E731
    with autophagy.Monitor(_real(1000, 0), name="hf", out=tmp_path / "runs", alert={"log": False}) as monitor:
        per_epoch = HFMonitorCallback(monitor, sample)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CollapseWarning)
            fit(per_epoch, 0.0, 3, "a")
    assert [step for step, _ in per_epoch.history] == [1, 2, 3] and _first_warning(caught) is None
    assert sorted(autophagy.load_metrics(tmp_path / "runs")["generation"].unique()) == [1, 2, 3]

    monitor = autophagy.Monitor(_real(1000, 0), name="hf-steps", out=None, alert={"log": False})
    per_steps = HFMonitorCallback(monitor, sample, on="step", every=2, stop_on_collapse=True)
    with pytest.warns(CollapseWarning, match="hf-steps step 6: drift beyond sampling noise"):
        fit(per_steps, 20.0, 6, "b")  # 4 steps per epoch; a strong shrink collapses σ
    steps = [step for step, _ in per_steps.history]
    assert steps == [2, 4, 6]  # out of band from step 4, warned at 6 (patience 2), stopped there


def test_bad_arguments_fail_in_one_line():
    from autophagy.monitor import HFMonitorCallback, LightningMonitorCallback

    monitor = autophagy.Monitor(_real(200, 0), name="bad", out=None, alert=False)
    with pytest.raises(InvalidParameterError, match=r"^The 'on' parameter must be one of \['train_epoch', 'validation_epoch', 'train_step'\]\. Got 'epoch' instead\.$"):
        LightningMonitorCallback(monitor, lambda m: None, on="epoch")
    with pytest.raises(InvalidParameterError, match=r"^The 'every' parameter must be an int >= 1\. Got 0 instead\.$"):
        HFMonitorCallback(monitor, lambda m: None, every=0)
    with pytest.raises(InvalidParameterError, match=r"^The 'monitor' parameter must be an autophagy\.Monitor"):
        HFMonitorCallback(object(), lambda m: None)


def test_the_module_imports_without_the_frameworks_and_names_the_extra_when_missing():
    code = (
        "import sys\n"
        "for name in ('lightning', 'pytorch_lightning', 'transformers'): sys.modules[name] = None\n"
        "import autophagy.monitor.integrations as i\n"
        "from autophagy.exceptions import MissingExtraError\n"
        "for name in ('LightningMonitorCallback', 'HFMonitorCallback'):\n"
        "    try:\n"
        "        getattr(i, name)\n"
        "    except MissingExtraError as exc:\n"
        "        print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == [
        "LightningMonitorCallback needs lightning, which is not installed: pip install 'autophagy[integrations]'",
        "HFMonitorCallback needs transformers, which is not installed: pip install 'autophagy[integrations]'",
    ]
