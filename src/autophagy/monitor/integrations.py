"""A :class:`~autophagy.Monitor` inside a training framework: callbacks that sample the model at
a chosen cadence and hand the samples to ``monitor.update``.

- :class:`LightningMonitorCallback`: a PyTorch Lightning ``Callback`` (``lightning`` or
  ``pytorch_lightning``); hooks ``on_train_epoch_end``, ``on_validation_epoch_end`` or
  ``on_train_batch_end``.
- :class:`HFMonitorCallback`: a Hugging Face ``transformers`` ``TrainerCallback``; hooks
  ``on_epoch_end``, ``on_evaluate`` or ``on_step_end``.

Both take ``sample_fn(model) -> samples`` (run in eval mode, without gradients; torch tensors
are moved to NumPy) and call ``monitor.update(step, samples, model=...)`` every ``every``
epochs, evaluations or optimizer steps. The monitor's step is the epoch number (1-based) for
epoch cadences and the global optimizer step otherwise, plus ``offset``. Only the main process
(global rank 0) samples and writes. This module imports neither framework: each class is built
on first access, and a missing one raises :class:`~autophagy.exceptions.MissingExtraError`
naming ``pip install 'autophagy[integrations]'``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from autophagy._validation import check
from autophagy.exceptions import MissingExtraError

INSTALL_HINT = "pip install 'autophagy[integrations]'"
#: ``on=`` of each callback -> what counts as one tick of ``every`` and what the step is.
LIGHTNING_HOOKS = ("train_epoch", "validation_epoch", "train_step")
HF_HOOKS = ("epoch", "evaluate", "step")


class _Sampler:
    """What both callbacks share: the cadence, sampling in eval mode and the update."""

    def __init__(
        self, monitor: Any, sample_fn: Callable[[Any], Any], *, on: str, hooks: tuple[str, ...], every: int, offset: int,
        log_prob: Callable[[Any, Any], Any] | None, stop_on_collapse: bool,
    ) -> None:  # fmt: skip
        from autophagy.monitor.monitor import Monitor

        check(isinstance(monitor, Monitor), "monitor", "an autophagy.Monitor", monitor)
        check(callable(sample_fn), "sample_fn", "a function sample_fn(model) -> samples", sample_fn)
        check(on in hooks, "on", f"one of {list(hooks)}", on)
        for key, value, low in (("every", every, 1), ("offset", offset, 0)):
            check(isinstance(value, int) and not isinstance(value, bool) and value >= low, key, f"an int >= {low}", value)
        check(log_prob is None or callable(log_prob), "log_prob", "a function log_prob(model, items) -> (n,) log-likelihoods, or None", log_prob)
        self.monitor, self.sample_fn, self.on, self.every, self.offset = monitor, sample_fn, on, every, offset
        self.log_prob, self.stop_on_collapse = log_prob, stop_on_collapse
        self.ticks = 0
        #: ``(step, {metric: value})`` of each update this callback made.
        self.history: list[tuple[int, dict[str, float]]] = []

    def tick(self, counter: int, model: Any) -> bool:
        """One event of the cadence (``counter``: epoch number or global step); samples and
        updates on every ``every``-th. Returns True when training should stop."""
        self.ticks += 1
        step = counter + self.offset
        if self.ticks % self.every != 0 or (self.history and step <= self.history[-1][0]):
            return False  # off-cadence, or a second validation within the same epoch
        samples = _numpy(_no_grad_eval(model, self.sample_fn))
        scorer = None if self.log_prob is None else _LogProb(self.log_prob, model)
        values = self.monitor.update(step, samples, model=scorer)
        self.history.append((step, values))
        return self.stop_on_collapse and bool(self.monitor.drifting)


class _LogProb:
    """``model=`` for :meth:`Monitor.update`: ``log_prob(items)`` through the user's function."""

    def __init__(self, fn: Callable[[Any, Any], Any], model: Any) -> None:
        self.fn, self.model = fn, model

    def log_prob(self, items: Any) -> np.ndarray:
        return _numpy(_no_grad_eval(self.model, lambda m: self.fn(m, items)))


def _no_grad_eval(model: Any, fn: Callable[[Any], Any]) -> Any:
    """``fn(model)`` with the model in eval mode and no gradients (restored after)."""
    import torch

    training = bool(getattr(model, "training", False))
    if hasattr(model, "eval"):
        model.eval()
    try:
        with torch.no_grad():
            return fn(model)
    finally:
        if training:
            model.train()


def _numpy(items: Any) -> Any:
    """Torch tensors (and tuples of them) to NumPy; anything else unchanged (texts stay lists)."""
    if hasattr(items, "detach") and hasattr(items, "cpu"):
        return items.detach().cpu().float().numpy()
    return items


def _framework(names: tuple[str, ...], what: str) -> Any:
    for name in names:
        try:
            return __import__(name, fromlist=["_"])
        except ImportError:
            continue
    raise MissingExtraError(f"{what} needs {names[0].split('.')[0]}, which is not installed: {INSTALL_HINT}")


@functools.cache
def _lightning_class() -> type:
    callbacks = _framework(("lightning.pytorch.callbacks", "pytorch_lightning.callbacks"), "LightningMonitorCallback")

    class LightningMonitorCallback(callbacks.Callback):  # type: ignore[misc,name-defined]
        """Sample a LightningModule every ``every`` epochs (or steps) and update a monitor.

        Args:
            monitor: the :class:`~autophagy.Monitor` to update (its lifetime is yours: close
                it, or use ``with``, after ``trainer.fit``).
            sample_fn: ``sample_fn(pl_module) -> samples`` in the monitor's modality (arrays,
                tensors or texts); called in eval mode under ``torch.no_grad()``.
            on: ``train_epoch`` (``on_train_epoch_end``, step = epoch number),
                ``validation_epoch`` (``on_validation_epoch_end``, sanity checks skipped, once
                per epoch) or ``train_step`` (``on_train_batch_end``, step = global step).
            every: update on every ``every``-th event, an int >= 1.
            offset: added to the step (e.g. ``monitor.last_step`` to append to a resumed
                monitor from a fresh training), an int >= 0.
            log_prob: optional ``log_prob(pl_module, items) -> (n,)`` log-likelihoods of the
                monitor's reference items, for ``loglik_real`` / ``perplexity_real``.
            stop_on_collapse: set ``trainer.should_stop`` once a metric is drifting.

        Attributes:
            history: ``(step, {metric: value})`` of each update made.

        Raises:
            InvalidParameterError: a bad argument (one line).
        """

        def __init__(
            self, monitor: Any, sample_fn: Callable[[Any], Any], *, on: str = "train_epoch", every: int = 1, offset: int = 0,
            log_prob: Callable[[Any, Any], Any] | None = None, stop_on_collapse: bool = False,
        ) -> None:  # fmt: skip
            super().__init__()
            self.sampler = _Sampler(
                monitor, sample_fn, on=on, hooks=LIGHTNING_HOOKS, every=every, offset=offset, log_prob=log_prob, stop_on_collapse=stop_on_collapse
            )  # fmt: skip

        @property
        def history(self) -> list[tuple[int, dict[str, float]]]:
            return self.sampler.history

        def _tick(self, trainer: Any, pl_module: Any, counter: int) -> None:
            if trainer.is_global_zero and self.sampler.tick(counter, pl_module):
                trainer.should_stop = True

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if self.sampler.on == "train_epoch":
                self._tick(trainer, pl_module, trainer.current_epoch + 1)

        def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if self.sampler.on == "validation_epoch" and not trainer.sanity_checking:
                self._tick(trainer, pl_module, trainer.current_epoch + 1)

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            if self.sampler.on == "train_step":
                self._tick(trainer, pl_module, trainer.global_step)

    LightningMonitorCallback.__qualname__ = LightningMonitorCallback.__name__
    return LightningMonitorCallback


@functools.cache
def _hf_class() -> type:
    transformers = _framework(("transformers",), "HFMonitorCallback")

    class HFMonitorCallback(transformers.TrainerCallback):  # type: ignore[misc,name-defined]
        """Sample a ``transformers.Trainer``'s model every ``every`` epochs, evaluations or steps
        and update a monitor.

        Args:
            monitor: the :class:`~autophagy.Monitor` to update (close it after training).
            sample_fn: ``sample_fn(model) -> samples`` in the monitor's modality (arrays,
                tensors or texts, e.g. decoded ``model.generate`` outputs); called in eval mode
                under ``torch.no_grad()``.
            on: ``epoch`` (``on_epoch_end``, step = epoch number), ``evaluate``
                (``on_evaluate``, step = global step) or ``step`` (``on_step_end``, step =
                global step).
            every: update on every ``every``-th event, an int >= 1 (``on="step", every=50``:
                every 50 optimizer steps).
            offset: added to the step, an int >= 0.
            log_prob: optional ``log_prob(model, items) -> (n,)`` log-likelihoods of the
                monitor's reference items, for ``loglik_real`` / ``perplexity_real``.
            stop_on_collapse: set ``control.should_training_stop`` once a metric is drifting.

        Attributes:
            history: ``(step, {metric: value})`` of each update made.

        Raises:
            InvalidParameterError: a bad argument (one line).
        """

        def __init__(
            self, monitor: Any, sample_fn: Callable[[Any], Any], *, on: str = "epoch", every: int = 1, offset: int = 0,
            log_prob: Callable[[Any, Any], Any] | None = None, stop_on_collapse: bool = False,
        ) -> None:  # fmt: skip
            self.sampler = _Sampler(
                monitor, sample_fn, on=on, hooks=HF_HOOKS, every=every, offset=offset, log_prob=log_prob, stop_on_collapse=stop_on_collapse
            )  # fmt: skip

        @property
        def history(self) -> list[tuple[int, dict[str, float]]]:
            return self.sampler.history

        def _tick(self, state: Any, control: Any, counter: int, model: Any) -> Any:
            check(model is not None, "model", "passed by the Trainer to its callbacks", model)
            if state.is_world_process_zero and self.sampler.tick(counter, model):
                control.should_training_stop = True
            return control

        def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if self.sampler.on == "epoch":
                return self._tick(state, control, int(round(state.epoch or 0)), kwargs.get("model"))
            return None

        def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if self.sampler.on == "evaluate":
                return self._tick(state, control, state.global_step, kwargs.get("model"))
            return None

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if self.sampler.on == "step":
                return self._tick(state, control, state.global_step, kwargs.get("model"))
            return None

    HFMonitorCallback.__qualname__ = HFMonitorCallback.__name__
    return HFMonitorCallback


def __getattr__(name: str) -> Any:
    if name == "LightningMonitorCallback":
        return _lightning_class()
    if name == "HFMonitorCallback":
        return _hf_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# LightningMonitorCallback and HFMonitorCallback come from __getattr__ (built on first access).
__all__ = ["HF_HOOKS", "INSTALL_HINT", "LIGHTNING_HOOKS"]
