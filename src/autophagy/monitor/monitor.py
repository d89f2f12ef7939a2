"""``Monitor``: is my own training loop collapsing? Metrics against a fixed real reference, each
update written to the run store as a run's rows are, and a :class:`CollapseWarning` when the
metrics drift out of the band that sampling noise alone explains.

The maths lives in :mod:`.reference` (the metrics, with the reference's statistics cached) and
:mod:`.band` (the bootstrap noise band); the run directory in :mod:`.record`; features in
:mod:`.embed`. This module wires them and checks the arguments.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import autophagy.monitor.band as bands
from autophagy._rng import stream
from autophagy._validation import check, short
from autophagy.exceptions import CollapseWarning
from autophagy.monitor.embed import MODALITIES, Embed, check_items, features, make_embedder
from autophagy.monitor.reference import CACHED, EVALUATED, ReferenceStats, score

#: Metrics of a model (``update(..., model=)``) rather than of its samples; recorded, never alerted.
MODEL_METRICS = {"loglik_real": "vectors images text", "perplexity_real": "text"}
#: What each modality records by default (model metrics only when a model is given).
DEFAULTS = {
    "vectors": ("frechet", "precision", "recall", "coverage", "mmd", "cov_trace", "loglik_real"),
    "images": ("frechet", "precision", "recall", "coverage", "mmd", "cov_trace", "loglik_real"),
    "text": ("frechet", "precision", "recall", "coverage", "mmd", "perplexity_real"),
}
#: Reference rows the model metrics score (the first ones of the comparison set).
MODEL_ROWS = 1000
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Alert:
    """When a monitor warns.

    Attributes:
        level: α, the chance that one update of samples from the real distribution leaves the
            band of some metric (Bonferroni over the metrics watched), in (0, 1).
        patience: consecutive out-of-band updates of a metric before it warns (>= 1); with
            independent updates the chance of a false warning per update is then about
            α^patience per metric.
        bootstrap: B, the replicates that estimate the band (once per sample size), >= 10.
        log: also print a Rich line on stderr with each warning.
    """

    level: float = 0.01
    patience: int = 2
    bootstrap: int = 100
    log: bool = True


def _alert(alert: Any) -> Alert | None:
    """``alert=`` as an :class:`Alert` (None: off): True/None (defaults), False, a mapping or an Alert."""
    if alert is False:
        return None
    if alert is True or alert is None:
        return Alert()
    if isinstance(alert, Mapping):
        unknown = sorted(set(alert) - set(Alert.__dataclass_fields__))
        check(not unknown, "alert", f"a mapping of the keys {sorted(Alert.__dataclass_fields__)}", f"the keys {unknown}")
        alert = Alert(**alert)
    check(isinstance(alert, Alert), "alert", "True, False, an Alert or a mapping of its fields", alert)
    check(isinstance(alert.level, float) and 0.0 < alert.level < 1.0, "alert.level", "a float in (0, 1)", alert.level)
    for key, low in (("patience", 1), ("bootstrap", 10)):
        value = getattr(alert, key)
        check(isinstance(value, int) and not isinstance(value, bool) and value >= low, f"alert.{key}", f"an int >= {low}", value)
    return alert


def _int(value: Any, key: str, low: int) -> int:
    check(bool(isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low), key, f"an int >= {low}", value)
    return int(value)


class Monitor:
    """Watch a training loop's samples against a fixed real reference set.

    Each :meth:`update` scores the samples (at most ``max_samples``, drawn without replacement)
    against the reference, commits the rows to ``<out>/<name>/<run_id>/`` in a run's format
    (``generation`` = the step; ``autophagy report``, ``autophagy runs``, ``autophagy.catalog``
    read it), and warns (:class:`~autophagy.exceptions.CollapseWarning`) when a metric stays
    out of its noise band for ``alert.patience`` updates in a row (see :mod:`.band`).

    The reference is split once (stream ``(seed, 0, 'holdout')``) into a comparison set, which
    every metric compares with, and a calibration set (``calibration`` of it) whose subsets
    estimate the noise band. Every draw flows from ``seed``: the same inputs give the same rows.

    Args:
        reference: the real data: vectors (N, d); images (N, C, H, W) or (N, H, W) in [0, 1],
            as ``(images, labels)`` for the lab's feature classifier; texts, N strings.
        name: the experiment name (letters, digits, ``.``, ``_``, ``-``).
        metrics: names from :data:`DEFAULTS`'s and ``sliced_wasserstein``; None: the
            modality's defaults.
        out: the run store's root; None keeps nothing (no files, no resume).
        modality: ``vectors``, ``images`` or ``text``.
        embed: ``embed(items) -> (n, F)`` features, instead of the modality's default.
        alert: True (the :class:`Alert` defaults), False (no warnings), an :class:`Alert` or a
            mapping of its fields.
        seed: root of every random draw, an int >= 0.
        nearest_k: k of the k-NN metrics (precision, recall, density, coverage).
        calibration: share of the reference held out for the noise band, in (0, 1).
        max_samples: samples scored per update at most; None: half the calibration set (the
            most the band's subsets can be drawn without replacement and stay nearly independent).

    Raises:
        InvalidParameterError: a bad argument (one line: the key, what is allowed, the value).
        MissingExtraError: ``text`` without ``embed`` and without ``pip install 'autophagy[text]'``.
        RunBusyError: another monitor holds the same run directory.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> monitor = Monitor(rng.normal(size=(400, 2)), name="demo", out=None, alert=False)
        >>> sorted(monitor.update(1, rng.normal(size=(100, 2))))[:3]
        ['cov_trace', 'coverage', 'frechet']
    """

    def __init__(
        self, reference: Any, *, name: str, metrics: Sequence[str] | None = None, out: str | Path | None = "runs",
        modality: str = "vectors", embed: Embed | None = None, alert: Alert | Mapping[str, Any] | bool = True,
        seed: int = 0, nearest_k: int = 5, calibration: float = 0.5, max_samples: int | None = None,
    ) -> None:  # fmt: skip
        check(isinstance(name, str) and _NAME.fullmatch(name) is not None, "name", "a folder name: letters, digits, '.', '_', '-'", name)
        check(modality in MODALITIES, "modality", f"one of {list(MODALITIES)}", modality)
        allowed = [m for m in (*DEFAULTS[modality], *sorted(CACHED - set(DEFAULTS[modality])), *sorted(EVALUATED))]
        names = list(DEFAULTS[modality] if metrics is None else metrics) if not isinstance(metrics, str) else [metrics]
        check(len(names) > 0, "metrics", "a non-empty list of metric names", metrics)
        for metric in names:
            check(metric in allowed, "metrics", f"a list of names among {allowed}", metric)
        check(len(set(names)) == len(names), "metrics", "a list without repeats", metrics)
        check(embed is None or callable(embed), "embed", "a function of the items returning features (n, F), or None", embed)
        check(isinstance(calibration, float) and 0.0 < calibration < 1.0, "calibration", "a float in (0, 1)", calibration)
        self.name, self.modality, self.metrics, self.out = name, modality, tuple(names), out
        self.seed, self.nearest_k = _int(seed, "seed", 0), _int(nearest_k, "nearest_k", 1)
        self.alert = _alert(alert)
        self.sample_metrics = tuple(m for m in names if m not in MODEL_METRICS)
        check_items(reference[0] if modality == "images" and isinstance(reference, tuple) else reference, modality, "reference")
        items, self._embed = make_embedder(reference, modality, embed)
        x = features(items, self._embed, "reference")
        n_total, least = len(x), 2 * (self.nearest_k + 2)
        n_cal = int(round(calibration * n_total))
        check(min(n_cal, n_total - n_cal) >= least, "reference", f"at least {least} rows in each of its comparison and calibration parts (calibration={calibration})", f"{n_total} rows")
        order = stream(self.seed, 0, "holdout").permutation(n_total)
        compare, calibrate = order[: n_total - n_cal], order[n_total - n_cal :]
        self.reference_ = ReferenceStats(x[compare], nearest_k=self.nearest_k)
        self.pool_ = x[calibrate]
        cap = len(self.pool_) // 2
        self.max_samples = cap if max_samples is None else _int(max_samples, "max_samples", self.nearest_k + 2)
        check(self.max_samples <= cap, "max_samples", f"an int <= {cap} (half the calibration set)", max_samples)
        self._model_items = _take(items, compare[:MODEL_ROWS])
        self.bands_: dict[int, bands.Band] = {}
        self._streak = np.zeros(len(self.sample_metrics), dtype=np.int64)
        self._since = np.zeros(len(self.sample_metrics), dtype=np.int64)
        self.last_step = 0
        self.config = {
            "name": name, "kind": "monitor", "repeats": 1, "modality": modality, "metrics": list(names), "seed": self.seed,
            "reference": {"size": n_total, "dim": int(x.shape[1]), "sha256": hashlib.sha256(x.tobytes()).hexdigest()[:16]},
            "calibration": calibration, "nearest_k": self.nearest_k, "max_samples": self.max_samples,
        }  # fmt: skip
        self.run_id = hashlib.sha256(json.dumps(self.config, sort_keys=True).encode()).hexdigest()[:12]
        self._record = None
        if out is not None:
            from autophagy.monitor.record import Record

            self._record = Record(out, name, self.config, self.run_id, self.seed)
            self.last_step = self._record.last
            state = self._record.state
            if state is not None and state.get("streak", np.zeros(0)).shape == self._streak.shape:
                self._streak, self._since = state["streak"].astype(np.int64), state["since"].astype(np.int64)

    @property
    def path(self) -> Path | None:
        """The run directory (None when ``out`` is None)."""
        return None if self._record is None else self._record.path

    @property
    def drifting(self) -> dict[str, int]:
        """The metrics out of band for at least ``alert.patience`` updates now, with the step
        their drift began."""
        if self.alert is None:
            return {}
        hit = self._streak >= self.alert.patience
        return {m: int(s) for m, s, h in zip(self.sample_metrics, self._since, hit, strict=True) if h}

    def update(self, step: int, samples: Any, *, model: Any = None) -> dict[str, float]:
        """Score one step's samples, commit the rows, warn on drift.

        Args:
            step: the step (epoch, generation), an int greater than the last one committed.
            samples: this step's samples, in the reference's modality (images without labels).
            model: optional; ``model.log_prob(items) -> (n,)`` log-likelihoods in nats gives
                ``loglik_real`` (mean over up to 1,000 reference items) and, for texts,
                ``perplexity_real`` = exp(-Σ log p / Σ words).

        Returns:
            ``{metric: value}`` of this step.

        Warns:
            CollapseWarning: a metric has been outside its noise band for ``alert.patience``
                updates (the message names it, its value, the band's edge and the step its
                drift began).
        """
        started = time.perf_counter()
        step = _int(step, "step", 1)
        where = f" to {self.path}" if self.path is not None else ""
        check(step > self.last_step, "step", f"an int greater than {self.last_step}, the last step committed{where}", step)
        n = check_items(samples, self.modality, "samples")
        check(n >= self.nearest_k + 2, "samples", f"at least {self.nearest_k + 2} samples (nearest_k + 2)", f"{n} samples")
        y = features(samples, self._embed, "samples")
        d = self.reference_.x.shape[1]
        check(y.shape[1] == d, "samples", f"{d} features per sample, as the reference has", f"{y.shape[1]}")
        if len(y) > self.max_samples:
            y = y[stream(self.seed, step, "eval").choice(len(y), size=self.max_samples, replace=False)]
        values = score(self.reference_, y, self.sample_metrics, rng=stream(self.seed, step, "metric"))
        if model is not None:
            values.update(self._model_metrics(model))
        if self.alert is not None:
            self._watch(step, values, len(y))
        if self._record is not None:
            self._record.append(step, values, self._state(), time.perf_counter() - started)
        self.last_step = step
        return values

    def band(self, n: int) -> bands.Band:
        """The noise band of the sample metrics for ``n`` samples scored (computed once per n)."""
        if n not in self.bands_:
            alert = self.alert or Alert()
            rng = stream(self.seed, 0, "subsample", batch=n)
            values = bands.replicates(
                lambda sub, r: list(score(self.reference_, sub, self.sample_metrics, rng=r).values()), self.pool_, n, alert.bootstrap, rng
            )
            self.bands_[n] = bands.band(self.sample_metrics, values, n=n, pool_size=len(self.pool_), level=alert.level)
        return self.bands_[n]

    def _watch(self, step: int, values: dict[str, float], n: int) -> None:
        assert self.alert is not None
        b = self.band(n)
        current = [values[m] for m in self.sample_metrics]
        was = self._streak.copy()
        self._streak, self._since = bands.advance(self._streak, self._since, bands.outside(b, current), step)
        fresh = [j for j in range(len(current)) if self._streak[j] == self.alert.patience and was[j] == self.alert.patience - 1]
        if not fresh:
            return
        parts = [f"{bands.edge_text(b, j, current[j])}, out of band since step {self._since[j]}" for j in fresh]
        message = (
            f"{self.name} step {step}: drift beyond sampling noise: " + "; ".join(parts)
            + f" (n={n}, level={self.alert.level}, B={b.replicates}, patience={self.alert.patience})"
        )  # fmt: skip
        warnings.warn(message, CollapseWarning, stacklevel=3)
        if self.alert.log:
            from rich.console import Console
            from rich.markup import escape

            Console(stderr=True).print(f"[bold red]collapse?[/] {escape(message)}")

    def _state(self) -> dict[str, np.ndarray]:
        return {"streak": self._streak, "since": self._since}

    def _model_metrics(self, model: Any) -> dict[str, float]:
        log_prob: Any = getattr(model, "log_prob", None)
        check(callable(log_prob), "model", "an object with log_prob(items) -> (n,) log-likelihoods", model)
        wanted = [m for m in self.metrics if m in MODEL_METRICS]
        if not wanted:
            return {}
        logp = np.asarray(log_prob(self._model_items), dtype=np.float64).reshape(-1)
        check(len(logp) == len(self._model_items), "model", f"log_prob returning shape ({len(self._model_items)},)", f"shape {logp.shape}")
        out = {}
        if "loglik_real" in wanted:
            out["loglik_real"] = float(logp.mean())
        if "perplexity_real" in wanted:
            words = sum(max(len(t.split()), 1) for t in self._model_items)
            out["perplexity_real"] = float(np.exp(-logp.sum() / words))
        return out

    def close(self) -> None:
        """Compact the rows into ``metrics.parquet``, mark the run complete and release it."""
        if self._record is not None:
            self._record.close(self._state())
            self._record = None

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if self._record is not None:
            if exc is None or not isinstance(exc, Exception):
                self.close()
            else:
                self._record.close(self._state(), error=exc)
                self._record = None

    def __repr__(self) -> str:
        return f"Monitor(name={self.name!r}, modality={self.modality!r}, metrics={list(self.metrics)}, last_step={self.last_step}, path={short(str(self.path))})"


def _take(items: Any, index: np.ndarray) -> Any:
    """Rows ``index`` of an array, or of a sequence of texts."""
    if isinstance(items, np.ndarray):
        return items[index]
    return [items[int(i)] for i in index]


__all__ = ["DEFAULTS", "MODEL_METRICS", "Alert", "Monitor"]
