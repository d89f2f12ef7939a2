"""One web lineage's generation as a picklable task: stages, fit, publish, evaluate.

A :class:`LineageTask` carries only what the lineage drew from the pool (its ``n_train`` rows
with their provenance), the run's resolved config and the seeds; :func:`run_lineages` does the
work in whatever process it lands in (the run's own, a process-pool worker, a Ray worker) and
returns a :class:`LineageResult` per task. Everything random comes from the streams
``(seed, t, role, batch=lineage)`` (:func:`autophagy._rng.stream`), so a result depends only
on its task, never on the process or the order the tasks ran in.

Random streams of lineage i of the repeat with seed s at generation t (batch = i):
``curate`` (its mitigation stages), ``fit``, ``publish`` (the items it adds to the pool),
``eval`` (the samples its metrics compare with the held-out set) and ``metric``. What every
lineage of a repeat shares is drawn from the repeat's streams without a batch: the held-out
real samples (``holdout``, as in an ordinary run) and the verifier's real reference rows of
the stages (``verifier``).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autophagy._rng import stream
from autophagy.config import ExperimentConfig, load_config
from autophagy.exceptions import DegenerateFitError, StatisticalWarning
from autophagy.loops.pool import TrainingPool
from autophagy.loops.stages import SyntheticBatch, apply_stages, stage_rows
from autophagy.metrics.evaluate import evaluate, make_context
from autophagy.plugins import registrations, replay
from autophagy.registry import build_source, data_key, get, provide_source
from autophagy.runner.engine import draw_holdout
from autophagy.runner.sampled import _UNUSED
from autophagy.runner.web_common import build_lineage_generator


@dataclass(frozen=True)
class LineageTask:
    """One lineage's generation.

    Attributes:
        run: the run id (what a worker caches the config, source and held-out rows under).
        config: the resolved config (``ExperimentConfig.to_dict()``).
        seed: the repeat's seed.
        t: the generation.
        lineage: the lineage's number i (0..L-1).
        group: its group's index in ``web.lineages``.
        x: its draw from the pool, shape (n_train, d).
        human: shape (n_train,) bool, which drawn items are human.
        published: shape (n_train,) int64, the generation each drawn item was published.
        depth: shape (n_train,) float64, each drawn item's depth (see :mod:`autophagy.loops.web`).
        keep_samples: return the evaluation samples (the report's snapshot).
    """

    run: str
    config: dict[str, Any]
    seed: int
    t: int
    lineage: int
    group: int
    x: np.ndarray
    human: np.ndarray
    published: np.ndarray
    depth: np.ndarray
    keep_samples: bool = False


@dataclass(frozen=True)
class LineageResult:
    """What a lineage hands back.

    Attributes:
        lineage: the lineage's number.
        seed: the repeat's seed.
        published: the items it publishes, shape (publish, d); (0, d) when its fit failed.
        depth: the depth of every published item, 1 + the mean depth of its training set.
        values: its rows: the metrics, ``train_size``, ``frac_synthetic`` and ``train_depth`` of
            its training set (after its stages), its stages' rows and ``degenerate``.
        compute_s: seconds the task took inside its worker.
        samples: its evaluation samples when the task asked for them, else None.
        artifacts: what its metrics stored for the report (when ``samples`` were asked for).
    """

    lineage: int
    seed: int
    published: np.ndarray
    depth: float
    values: dict[str, float]
    compute_s: float = 0.0
    samples: np.ndarray | None = None
    artifacts: dict[str, np.ndarray] = field(default_factory=dict)


class _Context:
    """What every task of one run needs, built once per process: the config, the source, each
    group's stages, and (per repeat, on first use) the held-out and verifier rows."""

    def __init__(self, config: ExperimentConfig) -> None:
        assert config.web is not None and config.metrics is not None  # a resolved web config
        self.config = config
        self.source = build_source(config)
        self.stages = [[get("stage", s.kind).build(s) for s in group.mitigation] for group in config.web.lineages]  # type: ignore[attr-defined]
        self._holdout: dict[int, np.ndarray] = {}
        self._verifier: dict[tuple[int, int], np.ndarray] = {}

    def holdout(self, seed: int) -> np.ndarray:
        if seed not in self._holdout:
            self._holdout[seed] = draw_holdout(self.source, self.config.eval.n_samples, seed)
        return self._holdout[seed]

    def verifier(self, seed: int, n: int) -> np.ndarray:
        """The stages' ``n`` real reference rows of repeat ``seed``, the same for every lineage
        and generation (stream ``verifier`` of generation 0)."""
        if (seed, n) not in self._verifier:
            draw = getattr(self.source, "holdout", self.source.sample)
            self._verifier[seed, n] = draw(n, rng=stream(seed, 0, "verifier"))
        return self._verifier[seed, n]


@dataclass(frozen=True)
class WorkerInputs:
    """What a worker process needs once per run, not with every task: the built data source (by
    :func:`~autophagy.registry.data_key`), the components registered in the run's process, and
    the image metrics' classifier ``(key, weights, shape, n_classes)`` where the run uses it."""

    data_key: str
    source: Any
    registrations: tuple[Any, ...] = ()
    classifier: tuple[str, dict[str, np.ndarray], tuple[int, int, int], int] | None = None


def install_inputs(inputs: WorkerInputs) -> None:
    """Make ``inputs`` this process's own (as :func:`autophagy.runner.shared.install` does for a sweep)."""
    replay(inputs.registrations)
    provide_source(inputs.data_key, inputs.source)
    if inputs.classifier is not None:
        from autophagy.images.features import install_classifier

        install_classifier(*inputs.classifier)


def worker_inputs(config: ExperimentConfig, source: Any, *, share_classifier: bool = True) -> WorkerInputs:
    """The :class:`WorkerInputs` of a run whose source is ``source`` (with the image metrics'
    classifier, trained or loaded here once, when ``share_classifier`` and the run uses it)."""
    classifier = None
    if share_classifier and config.data.kind == "images" and config.eval.feature_network is None:  # the image metrics' own classifier
        from autophagy.images.features import export_classifier

        key, weights = export_classifier(source)
        classifier = (key, weights, tuple(int(s) for s in source.image_shape), int(source.n_classes))
    return WorkerInputs(data_key(config), source, registrations(), classifier)  # type: ignore[arg-type]


_CONTEXTS: dict[str, _Context] = {}


def _context(task: LineageTask) -> _Context:
    if task.run not in _CONTEXTS:
        if len(_CONTEXTS) >= 4:  # a worker serving many runs keeps the latest few
            _CONTEXTS.pop(next(iter(_CONTEXTS)))
        _CONTEXTS[task.run] = _Context(load_config(task.config))
    return _CONTEXTS[task.run]


def run_lineages(tasks: list[LineageTask]) -> list[LineageResult]:
    """Run ``tasks`` here, in order (a chunk handed to one worker)."""
    return [run_lineage(task) for task in tasks]


def run_lineage(task: LineageTask) -> LineageResult:
    """One lineage's generation: its draw's synthetic part through its group's stages, its
    generator fitted to the result, ``publish`` items sampled into the pool, its metrics."""
    started = time.perf_counter()
    ctx = _context(task)
    config, web = ctx.config, ctx.config.web
    assert web is not None
    group = web.lineages[task.group]
    spec: Any = group.generator  # a registered generator's config (its kind, bias, ...)
    seed, t, i = task.seed, task.t, task.lineage
    bias = spec.bias
    train, depth, info = _training_set(ctx, task, bias)
    names = config.metrics
    assert names is not None
    failed = {**dict.fromkeys(names, math.nan), **info, "degenerate": 1.0}
    generator = build_lineage_generator(group, ctx.source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            fit_rng = _UNUSED if getattr(generator, "deterministic_fit", False) else stream(seed, t, "fit", batch=i)
            generator.fit(train, rng=fit_rng)
        published = np.asarray(generator.sample(group.publish, rng=stream(seed, t, "publish", batch=i), bias=bias))
        fake = np.asarray(generator.sample(config.eval.n_samples, rng=stream(seed, t, "eval", batch=i), bias=bias))
        if not (np.all(np.isfinite(published)) and np.all(np.isfinite(fake))):
            raise DegenerateFitError("the generator produced non-finite samples")
    except DegenerateFitError:
        empty = np.empty((0, *task.x.shape[1:]), dtype=task.x.dtype)
        return LineageResult(i, seed, empty, depth, failed, time.perf_counter() - started)
    metric_rng = lambda: stream(seed, t, "metric", batch=i)  # noqa: E731 (made only if a metric asks)
    eval_ctx = make_context(ctx.holdout(seed), fake, generator, bias, ctx.source, config.eval, metric_rng)
    values = evaluate(names, eval_ctx)
    degenerate = float(not all(math.isfinite(v) for v in values.values()))
    return LineageResult(
        i, seed, published, depth, {**values, **info, "degenerate": degenerate}, time.perf_counter() - started,
        fake if task.keep_samples else None, eval_ctx.artifacts if task.keep_samples else {},
    )


def _training_set(ctx: _Context, task: LineageTask, bias: float) -> tuple[np.ndarray, float, dict[str, float]]:
    """The lineage's training set (its human draw, then the synthetic draw after its stages),
    the depth of what it publishes, and its bookkeeping rows."""
    human, synthetic = task.human, ~task.human
    depth = task.depth
    stages = ctx.stages[task.group]
    info: dict[str, float] = {}
    x_syn, d_syn = task.x[synthetic], depth[synthetic]
    if stages and synthetic.any():
        # the lineage column carries each row's index in the synthetic draw, so that the depth of
        # what the stages keep (filtered, resampled or moved rows) is known after them
        pool = TrainingPool(x_syn, np.maximum(task.published[synthetic], 1), np.arange(len(x_syn), dtype=np.int64))
        batch = SyntheticBatch(
            pool, (), (), ctx.source, task.t, bias, real=lambda n: ctx.verifier(task.seed, n),
        )
        batch = apply_stages(stages, batch, stream(task.seed, task.t, "curate", batch=task.lineage))
        x_syn, d_syn = batch.pool.x, d_syn[batch.pool.lineage]
        info = {**batch.info, **stage_rows(batch)}
    train = np.concatenate([task.x[human], np.asarray(x_syn, dtype=task.x.dtype)])
    d_train = np.concatenate([depth[human], d_syn])
    share = len(x_syn) / len(train) if len(train) else 0.0
    mean_depth = float(d_train.mean()) if len(d_train) else 0.0
    return train, 1.0 + mean_depth, {"train_size": float(len(train)), "frac_synthetic": share, "train_depth": mean_depth, **info}
