"""Run one experiment: generations × repeats, deterministic, resumable.

This is the only place that touches both the loop machinery and the store. Generations are
the outer loop and repeats the inner one, so after each generation one atomic write records
every repeat's rows and state; an interrupted run resumes after its last finished generation
and ends with exactly the rows an uninterrupted run gives (every random stream is keyed by
(seed, generation, role), see :mod:`autophagy._rng`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._rng import stream
from .._threads import limit_threads
from ..config import ExperimentConfig, build_generator, build_source, load_config
from ..exceptions import DegenerateFitError, InvalidParameterError, StatisticalWarning
from ..loops.policy import LoopState, step, with_generator
from ..metrics.evaluate import EvalContext, evaluate
from ..store.rundir import METRIC_COLUMNS, RunDir

Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Result:
    """What :func:`run` returns.

    Attributes:
        metrics: pandas DataFrame with columns run, seed, generation, metric, value.
        config: the resolved config.
        run_id: stable id of the config.
        path: the run directory (None for an in-memory run).
    """

    metrics: Any
    config: ExperimentConfig
    run_id: str
    path: Path | None

    def wide(self) -> Any:
        """Metrics pivoted to one column per metric, indexed by (seed, generation)."""
        return self.metrics.pivot_table(index=["seed", "generation"], columns="metric", values="value")


@dataclass
class _Repeat:
    seed: int
    state: LoopState
    holdout: np.ndarray
    failed: str | None = None


def run_dir_for(config: ExperimentConfig, out: str | Path) -> Path:
    return Path(out) / config.name / config.run_id()


def run(
    config: ExperimentConfig | Mapping[str, Any] | str | Path,
    *,
    out: str | Path | None = "runs",
    run_dir: str | Path | None = None,
    progress: Progress | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
) -> Result:
    """Run (or resume, or just read back) one experiment.

    Args:
        config: an ExperimentConfig, a dict or a YAML path.
        out: root of the run store; the run goes to ``<out>/<name>/<run_id>/``. None keeps
            everything in memory (no files, no resume).
        run_dir: an explicit run directory instead of the one under ``out``.
        progress: called after each generation with {run_id, name, generation, generations}.
        overrides: ``key=value`` strings or a dict of dotted keys applied before validation.

    Returns:
        The :class:`Result`; a run already complete on disk is read back without work.
    """
    config = load_config(config, overrides)
    if config.sweep is not None:
        raise InvalidParameterError(
            "The 'sweep' parameter is only for 'autophagy sweep'. Got a sweep section in a config given to run."
        )
    limit_threads()
    run_id = config.run_id()
    store = None
    if run_dir is not None or out is not None:
        store = RunDir(run_dir if run_dir is not None else run_dir_for(config, out))  # type: ignore[arg-type]
        store.open(config.to_dict(), run_id, version=__version__)
    try:
        frame = _loop(config, run_id, store, progress)
    except BaseException as exc:
        if store is not None:
            status = "failed" if isinstance(exc, Exception) else "interrupted"
            store.update_status(status=status, error=f"{type(exc).__name__}: {exc}")
        raise
    return Result(frame, config, run_id, store.path if store else None)


def _loop(config: ExperimentConfig, run_id: str, store: RunDir | None, progress: Progress | None) -> Any:
    import pandas as pd

    source = build_source(config)
    seeds = [config.seed + r for r in range(config.repeats)]
    frame = store.read_metrics() if store else pd.DataFrame(columns=METRIC_COLUMNS)
    saved = store.load_state() if store else None
    done = int(saved["generation"]) if saved is not None else 0
    frame = frame[frame["generation"] <= done].reset_index(drop=True)
    repeats = [_restore(config, source, seed, saved) for seed in seeds]
    if store is not None and done >= config.generations:
        store.update_status(status="complete", generations_done=done, error=None)
        return frame
    if store is not None:
        store.update_status(status="running", error=None)
        if done == 0 and config.eval.snapshot_size:
            store.save_samples("real", repeats[0].holdout[: config.eval.snapshot_size])
    snapshots = _snapshot_generations(config.generations)
    blocks = [frame] if len(frame) else []
    for t in range(done + 1, config.generations + 1):
        rows: list[tuple[str, int, int, str, float]] = []
        for rep in repeats:
            values, fake = _generation(config, source, rep, t)
            rows += [(run_id, rep.seed, t, name, value) for name, value in values.items()]
            if store is not None and rep is repeats[0] and t in snapshots and fake is not None:
                store.save_samples(f"gen-{t:04d}", fake[: config.eval.snapshot_size])
        blocks.append(pd.DataFrame(rows, columns=METRIC_COLUMNS))
        frame = pd.concat(blocks, ignore_index=True)
        blocks = [frame]
        if store is not None:
            # metrics first, then state: a crash in between recomputes generation t exactly.
            store.write_metrics(frame)
            store.save_state(_state_arrays(config, repeats, t))
            store.update_status(generations_done=t)
        if progress is not None:
            progress({"run_id": run_id, "name": config.name, "generation": t, "generations": config.generations})
    if store is not None:
        store.update_status(status="complete", generations_done=config.generations, error=None)
    return frame.astype({"seed": "int64", "generation": "int64", "value": "float64"})


def _snapshot_generations(generations: int) -> set[int]:
    return {1, (generations + 1) // 2, generations}


def _generation(
    config: ExperimentConfig, source: Any, rep: _Repeat, t: int
) -> tuple[dict[str, float], np.ndarray | None]:
    """One generation of one repeat: compose D^t, fit G^t, evaluate. Mutates ``rep``."""
    bias = config.generator.bias
    names = config.metrics
    if rep.failed is not None:
        return {**{n: math.nan for n in names}, "degenerate": 1.0}, None
    draw = lambda role: stream(rep.seed, t, role)  # noqa: E731
    state, train = step(config.loop, rep.state, source=source, draw=draw, bias=bias)
    generator = build_generator(config, source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            generator.fit(train.x, rng=draw("fit"))
        fake = generator.sample(config.eval.n_samples, rng=draw("eval"), bias=bias)
        if not np.all(np.isfinite(fake)):
            raise DegenerateFitError("the generator produced non-finite samples")
    except DegenerateFitError as exc:
        rep.failed = f"generation {t}: {exc}"
        rep.state = state
        return {**{n: math.nan for n in names}, **train.info, "degenerate": 1.0}, None
    rep.state = with_generator(config.loop, state, generator)
    ctx = EvalContext(rep.holdout, fake, generator, bias, source, config.eval, draw("metric"))
    values = evaluate(names, ctx)
    degenerate = float(not all(math.isfinite(v) for v in values.values()))
    return {**values, **train.info, "degenerate": degenerate}, fake


# -- checkpoints ----------------------------------------------------------------------------
def _state_arrays(config: ExperimentConfig, repeats: list[_Repeat], generation: int) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {"generation": np.asarray(generation)}
    for rep in repeats:
        key = f"s{rep.seed}"
        st = rep.state
        if st.fixed is not None:
            arrays[f"{key}/fixed"] = st.fixed
        if st.pool is not None and st.pool_origin is not None:
            arrays[f"{key}/pool"] = st.pool
            arrays[f"{key}/pool_origin"] = st.pool_origin
        arrays[f"{key}/generator_ids"] = np.asarray(st.generator_ids, dtype=np.int64)
        arrays[f"{key}/failed"] = np.asarray(rep.failed or "")
        for gid, gen in zip(st.generator_ids, st.generators, strict=True):
            for name, value in gen.get_state().items():
                arrays[f"{key}/g{gid}/{name}"] = np.asarray(value)
    return arrays


def _restore(config: ExperimentConfig, source: Any, seed: int, saved: dict[str, np.ndarray] | None) -> _Repeat:
    holdout = source.sample(config.eval.n_samples, rng=stream(seed, 0, "holdout"))
    if saved is None:
        return _Repeat(seed, LoopState(), holdout)
    key = f"s{seed}"
    ids = tuple(int(i) for i in saved[f"{key}/generator_ids"])
    generators = []
    for gid in ids:
        prefix = f"{key}/g{gid}/"
        state = {k[len(prefix) :]: v for k, v in saved.items() if k.startswith(prefix)}
        generators.append(build_generator(config, source).set_state(state))
    state = LoopState(
        generation=int(saved["generation"]),
        fixed=saved.get(f"{key}/fixed"),
        pool=saved.get(f"{key}/pool"),
        pool_origin=saved.get(f"{key}/pool_origin"),
        generators=tuple(generators),
        generator_ids=ids,
    )
    failed = str(saved[f"{key}/failed"]) or None
    return _Repeat(seed, state, holdout, failed)


__all__ = ["Result", "run", "run_dir_for"]
