"""Experiment configs: YAML or dict -> validated, frozen, fully resolved model.

Top-level keys (the public contract): ``name``, ``seed``, ``generations``, ``repeats``,
``data``, ``generator``, ``loop``, ``metrics``, ``eval``, ``mitigation``, ``store`` (how the
run is written; not part of the run id) and, for ``autophagy sweep``, ``sweep``. ``data``, ``generator`` and ``loop`` are resolved by their ``kind`` through the
registry, so each kind has its own keys and unknown keys are errors. Everything is checked
before any work starts, including what depends on several groups at once (the dimension of
the data against what a generator needs, which metrics apply).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, Field, NonNegativeInt, PositiveInt, SerializeAsAny, model_validator

from autophagy._validation import MAX_INT, Model, apply_overrides, check, load_yaml, short, validate
from autophagy.capabilities import CAPABILITIES, missing
from autophagy.core.generator import GeneratorConfig
from autophagy.core.memory import Estimate, check_memory, estimate, resolve_limit, train_sizes
from autophagy.exceptions import AutophagyError, InvalidParameterError
from autophagy.loops.policy import LoopConfig
from autophagy.loops.web import WebConfig, check_web, resolve_web, web_exact_unavailable
from autophagy.metrics.evaluate import (
    NEEDS_GAUSSIAN_TRUTH,
    NEEDS_LINEAR_TRUTH,
    NEEDS_MIXTURE_TRUTH,
    NEEDS_REGRESSION,
    EvalConfig,
)
from autophagy.mitigation.base import check_stages, curated_loop
from autophagy.modality import check_modality
from autophagy.registry import build_generator, build_source, entries, get, is_import_path

DEFAULT_METRICS = ["frechet", "sliced_wasserstein", "mmd", "precision", "recall", "density", "coverage", "loglik_real", "cov_trace"]


#: The metrics of a web of Gaussian lineages that names none: the moment metrics, which the
#: batched web engine computes in closed form (``vectors.metrics.MOMENT_METRICS``).
WEB_MOMENT_METRICS = ("gaussian_w2", "cov_trace", "mean_sq_error", "cov_logdet")

#: The default metrics of regression data (rows [x, y] labelled by a linear truth).
REGRESSION_METRICS = ["test_error", "test_error_real", "test_error_bias", "test_error_variance", "param_error"]
#: The default metrics of regression data without a known truth (data.kind 'digits'): the
#: held-out mean squared error only (the others need the true linear model).
HELDOUT_REGRESSION_METRICS = ["test_error"]
#: The default metrics of labelled images (data.kind 'images'), in the feature space of the
#: digits classifier (or of eval.feature_network); ``classifier_accuracy`` is added for
#: class-conditional generators.
IMAGE_METRICS = ["fid", "precision", "recall", "density", "coverage", "class_entropy", "class_frequency"]


if TYPE_CHECKING:

    class _DataConfig(BaseModel):
        """For the type checker only: every data config has a ``kind``, the name of the registry
        entry that validated it (:func:`autophagy.registry.build_source` looks it up by that name)."""

        kind: str


class SweepConfig(Model):
    """``sweep: {grid: {key: [values]}, zip: {key: [values]}, seeds: N}``.

    ``grid`` is a Cartesian product over dotted config keys; ``zip`` pairs lists of equal
    length (one combined axis); ``seeds`` runs every point with seeds seed, seed+1, ...
    """

    grid: dict[str, list[Any]] = Field(default_factory=dict)
    zip: dict[str, list[Any]] = Field(default_factory=dict)
    seeds: PositiveInt = 1

    @model_validator(mode="after")
    def _axes(self) -> SweepConfig:
        if both := sorted(set(self.grid) & set(self.zip)):
            raise InvalidParameterError(f"The 'sweep.zip' parameter must vary keys sweep.grid does not. Got {short(both[0])} in both instead.")
        runs = math.prod(len(v) for v in self.grid.values()) * min((len(v) for v in self.zip.values()), default=1) * self.seeds
        check(runs <= 100_000, "sweep", "a grid of at most 100,000 runs (grid × zip × seeds)", f"{runs:,} runs")
        return self


class StoreConfig(Model):
    """How a run is written to its run directory; no effect on its results (not part of the run id)."""

    checkpoint_every_s: float = Field(
        default=1.0,
        ge=0.0,
        le=86400.0,
        description="seconds between checkpoints (rows + state committed; a crash loses at most this much work); "
        "a generation that takes longer is committed on its own; 0 commits every generation",
    )


class ExperimentConfig(Model):
    """One self-consuming loop experiment (see the module docstring for the keys)."""

    name: str = Field(default="experiment", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=255)  # a directory name
    seed: NonNegativeInt = 0
    generations: PositiveInt = 10
    repeats: PositiveInt = 1
    if TYPE_CHECKING:
        data: SerializeAsAny[_DataConfig]
    else:
        data: SerializeAsAny[BaseModel]
    generator: SerializeAsAny[GeneratorConfig]
    loop: SerializeAsAny[LoopConfig]
    metrics: list[str] | None = Field(
        default=None,
        description="metric names; unset: DEFAULT_METRICS, REGRESSION_METRICS for linear regression data, "
        "HELDOUT_REGRESSION_METRICS for regression data without a known truth",
    )
    eval: EvalConfig = Field(default_factory=EvalConfig)
    engine: Literal["exact", "sampled"] | None = Field(
        default=None,
        description="exact: Gaussian and linear-regression loops on sufficient statistics; sampled: draw every sample. "
        "Unset: exact wherever it applies (see exact_unavailable), else sampled.",
    )
    mitigation: list[SerializeAsAny[BaseModel]] = Field(
        default_factory=list,
        description="stages applied in order to each generation's synthetic samples before training "
        "(registry group 'stage'; see autophagy.loops.stages)",
    )
    web: WebConfig | None = Field(default=None, description="many lineages sharing one data pool (autophagy.loops.web); loop is then not used")
    sweep: SweepConfig | None = None
    store: StoreConfig = Field(default_factory=StoreConfig)

    @model_validator(mode="after")
    def _distinct_metrics_and_seeds(self) -> ExperimentConfig:
        twice = [n for i, n in enumerate(self.metrics or []) if n in (self.metrics or [])[:i]]
        if twice:
            raise InvalidParameterError(f"The 'metrics' parameter must name each metric once. Got {short(self.metrics)} instead ({twice[0]!r} twice).")
        sweep = self.sweep.seeds - 1 if self.sweep is not None else 0
        check(
            self.seed + self.repeats + sweep <= MAX_INT, "seed",
            f"an int >= 0 with seed + repeats{' + sweep.seeds' if sweep else ''} <= 2**63 - 1 (repeat r uses seed + r, an int64)",
            self.seed,
        )
        return self

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain data (every default filled in; an empty ``mitigation``, an
        unset ``sweep`` and a default ``store`` are left out, so configs from before they existed
        keep their run ids)."""
        out = self.model_dump(mode="json")
        if out.get("sweep") is None:
            out.pop("sweep", None)
        for empty in ("mitigation", "web"):
            if not out.get(empty):
                out.pop(empty, None)
        if out.get("store") == StoreConfig().model_dump(mode="json"):
            out.pop("store", None)
        return out

    def run_id(self) -> str:
        """Stable id of this resolved config (``sweep`` and ``store`` excluded): 12 hex digits."""
        payload = {k: v for k, v in self.to_dict().items() if k not in ("sweep", "store")}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


GROUPS = ("data", "generator", "loop")
#: The data kinds an exact engine runs, with the generator kind each needs (see exact_unavailable).
EXACT_PAIRS = {"gaussian": "gaussian", "linear": "linear_ridge"}
#: Generator kinds that label regression inputs instead of generating samples.
LABELLERS = frozenset({"linear_ridge", "kernel_ridge"})


def load_config(
    source: str | Path | Mapping[str, Any] | ExperimentConfig,
    overrides: list[str] | dict[str, Any] | None = None,
    *,
    max_memory: int | float | str | None = None,
) -> ExperimentConfig:
    """Build a validated config from a YAML path, a dict or a config (plus overrides).

    A config whose estimated peak memory (:func:`memory_estimate`) exceeds ``max_memory`` (bytes
    or a size such as ``"8G"``; unset: see :func:`autophagy.core.memory.resolve_limit`) is
    refused before anything is allocated. A config given without overrides is returned as is.
    """
    if isinstance(source, ExperimentConfig):
        if not overrides:
            return source
        automatic = "sampled" if exact_unavailable(source) else "exact"
        engine = source.engine
        source = source.to_dict()  # overridden() below drops a linked key the overrides re-derive
        if engine == automatic:  # the engine the base resolves to is resolved again after overrides
            source.pop("engine", None)
    raw = load_yaml(source) if isinstance(source, (str, Path)) else source
    if not isinstance(raw, Mapping):
        raise InvalidParameterError(f"The 'config' parameter must be a mapping, a YAML path or an ExperimentConfig. Got {short(raw)} instead.")
    raw = overridden(raw, overrides or [])
    if raw.get("web") is not None:
        raw = resolve_web(raw, _component)
    groups: dict[str, Any] = {}
    for group in GROUPS:
        body = raw.get(group)
        if body is None:
            raise InvalidParameterError(f"The '{group}' parameter is required. Got nothing instead.")
        groups[group] = _component(group, body, group)
    stages = raw.get("mitigation") or []
    if not isinstance(stages, list):
        raise InvalidParameterError(f"The 'mitigation' parameter must be a list of stages {{kind: ...}}. Got {short(stages)} instead.")
    resolved_stages = [_component("stage", body, f"mitigation.{i}") for i, body in enumerate(stages)]
    config = validate(ExperimentConfig, {**raw, **groups, "mitigation": resolved_stages})
    limit, named = resolve_limit(max_memory)
    found = memory_estimate(config)  # before anything is built: a source may hold d² floats
    if found is None:  # the width of a sample is known to the source only (files, text): built now
        found = memory_estimate(config, width=build_source(config).dim)
    check_memory(found, config, limit, named)  # type: ignore[arg-type]
    if config.metrics is None and config.web is not None and config.data.kind == "gaussian" and exact_unavailable(config) is None:
        config = config.model_copy(update={"metrics": list(WEB_MOMENT_METRICS)})  # what the batched web engine computes
    if config.metrics is None:
        names = list(default_metrics(build_source(config)))
        if names == IMAGE_METRICS and getattr(config.generator, "conditional", False):
            names.append("classifier_accuracy")
        provides = get("generator", config.generator.kind).provides  # defaults: only what the generator serves
        names = [n for n in names if not missing(get("metric", n).needs, provides)]
        config = config.model_copy(update={"metrics": names})
    if config.web is not None:
        check_web(config, load_config)
    else:
        _cross_check(config)
    reason = exact_unavailable(config)
    if config.engine is None:
        config = config.model_copy(update={"engine": "sampled" if reason else "exact"})
    check(config.engine == "sampled" or reason is None, "engine", f"'sampled' here ({reason})", config.engine)
    return config


def memory_estimate(config: ExperimentConfig, width: int | None = None) -> Estimate | None:
    """The run's estimated peak memory in bytes (see :mod:`autophagy.core.memory`); None when
    the width of a sample is known only to the built source and ``width`` is not given."""
    engine = config.engine or ("sampled" if exact_unavailable(config) else "exact")
    return estimate(config, engine, width)


def _component(group: str, body: Any, key: str) -> Any:
    """The config section ``body`` at ``key`` validated by the model of the registry entry its
    ``kind`` names in ``group``."""
    if not isinstance(body, Mapping):
        raise InvalidParameterError(f"The '{key}' parameter must be a mapping with a 'kind' key. Got {short(body)} instead.")
    kind = body.get("kind")
    check(kind is None or (isinstance(kind, str) and len(kind) <= 200), f"{key}.kind", "a registered name or an import path 'package.module:Name'", kind)
    entry = get(group, kind, key=f"{key}.kind")
    return validate(entry.config, body, prefix=key)  # type: ignore[arg-type]


#: Resolved keys derived from one another: overriding one drops the other so it is derived again.
LINKED_KEYS = {"generator.bias": "generator.guidance", "generator.guidance": "generator.bias"}


def overridden(raw: Mapping[str, Any], overrides: list[str] | dict[str, Any]) -> dict[str, Any]:
    """``raw`` with ``overrides`` applied (:func:`~autophagy._validation.apply_overrides`); one
    of two linked keys (:data:`LINKED_KEYS`) overridden drops the other from ``raw``, so that
    ``--set generator.guidance=3`` on a file that names ``generator.bias`` derives the bias again."""
    base = copy.deepcopy(dict(raw))
    _unlink(base, overrides)
    return apply_overrides(base, overrides)


def _unlink(resolved: dict[str, Any], overrides: list[str] | dict[str, Any]) -> None:
    keys = overrides.keys() if isinstance(overrides, dict) else [o.split("=", 1)[0].strip() for o in overrides]
    for key in keys:
        partner = LINKED_KEYS.get(key)
        if partner is not None:
            group, name = partner.split(".")
            if isinstance(resolved.get(group), dict):
                resolved[group].pop(name, None)


def default_metrics(source: Any) -> list[str]:
    """The metrics of an experiment that names none: they depend on what the source exposes."""
    if hasattr(source, "regression"):  # a known linear truth
        return REGRESSION_METRICS
    if hasattr(source, "sample_inputs"):  # regression rows, truth unknown (images)
        return HELDOUT_REGRESSION_METRICS
    if hasattr(source, "image_shape"):  # labelled images
        return IMAGE_METRICS
    declared = getattr(source, "default_metrics", None)
    if declared is not None:  # e.g. token sequences: the text metrics, plus the truth's for a grammar
        return list(declared())
    return DEFAULT_METRICS


def exact_unavailable(config: ExperimentConfig) -> str | None:
    """Why no exact engine can run this config, or None when one can.

    Two exact engines run on sufficient statistics: the Gaussian one (data.kind 'gaussian',
    generator.kind 'gaussian' fitted by mle/unbiased on whole groups of samples; Ledoit-Wolf
    shrinkage, used below dim + 1 samples, is sampled only) and the linear-regression one
    (data.kind 'linear', generator.kind 'linear_ridge': Gram matrices and Xᵀy, any α >= 0,
    minimum-norm least squares below dim rows). Neither runs ``accumulate_subsample`` or ``keep_original`` (a random
    subset of a pool is not a function of the pool's statistics).
    """
    needs = EXACT_PAIRS.get(config.data.kind)
    if needs is None:
        return f"data.kind is {config.data.kind!r}; the exact engines need one of {sorted(EXACT_PAIRS)}"
    if config.generator.kind != needs:
        return f"generator.kind is {config.generator.kind!r}; the exact engine for data.kind {config.data.kind!r} needs {needs!r}"
    if config.web is not None:
        return web_exact_unavailable(config.web, needs) or _web_batched_unavailable(config)
    if config.mitigation:
        return "the synthetic samples pass through mitigation stages, which need the samples themselves"
    if config.loop.kind in ("accumulate_subsample", "keep_original"):
        return f"a subset of a pool or of the original data (loop.kind {config.loop.kind!r}) has no exact law"
    if config.data.kind == "gaussian":
        dim = config.data.dim  # type: ignore[attr-defined]
        if train_sizes(config.loop, config.generations).smallest < dim + 1:
            return "generator.shrinkage is used below dim + 1 training samples"
    return None


def _web_batched_unavailable(config: ExperimentConfig) -> str | None:
    """Why the batched web engine cannot run a web whose lineages are all of the exact family:
    Gaussian lineages get only the moment metrics (:data:`WEB_MOMENT_METRICS`) and fit a full
    covariance (n_train >= dim + 1, no Ledoit-Wolf shrinkage); linear lineages get only the
    regression metrics (:data:`REGRESSION_METRICS`)."""
    assert config.web is not None
    batched = WEB_MOMENT_METRICS if config.data.kind == "gaussian" else REGRESSION_METRICS
    other = [n for n in config.metrics or () if n not in batched]
    if other:
        return f"metric {other[0]!r} needs samples; the batched web engine computes only {list(batched)}"
    if config.data.kind == "gaussian" and min(g.n_train for g in config.web.lineages) < config.data.dim + 1:  # type: ignore[attr-defined]
        return "generator.shrinkage is used below dim + 1 training samples"
    return None


def _cross_check(config: ExperimentConfig) -> None:
    """Checks that involve several groups."""
    assert config.metrics is not None  # load_config fills in unset metrics before the checks
    config.generator.check_runtime()  # the extra and the device first: nothing else matters without them
    source = build_source(config)
    d = source.dim
    known = entries("metric")
    for name in config.metrics:
        if is_import_path(name):
            get("metric", name, key="metrics")  # a plug-in metric: imported and registered now
        check(name in known, "metrics", f"a list of names from {sorted(known)} or import paths 'package.module:function'", name)
    truth = source.truth()
    gen = config.generator
    labeller = gen.kind in LABELLERS
    regression = hasattr(source, "sample_inputs")
    check(
        labeller == regression,
        "generator.kind",
        f"one of {sorted(LABELLERS)} for regression data (data.kind {config.data.kind!r})" if regression
        else f"a generator of samples, not a labeller, for data.kind {config.data.kind!r}",
        gen.kind,
    )
    for name in config.metrics:
        if name in NEEDS_REGRESSION:
            check(regression, "metrics", f"free of {name!r} unless the data are regression rows (data.kind 'linear', 'digits')", name)
        if name in NEEDS_LINEAR_TRUTH:
            check(
                hasattr(source, "regression") and gen.kind == "linear_ridge",
                "metrics",
                f"free of {name!r} unless data.kind is 'linear' and generator.kind is 'linear_ridge'",
                name,
            )
    check_modality(config, source)
    for name in config.metrics:
        if name in NEEDS_GAUSSIAN_TRUTH:
            check(
                truth is not None and len(truth.weights) == 1 and config.generator.kind == "gaussian",
                "metrics",
                f"free of {name!r} unless data.kind is 'gaussian' and generator.kind is 'gaussian'",
                name,
            )
        if name in NEEDS_MIXTURE_TRUTH:
            check(truth is not None, "metrics", f"free of {name!r} unless the true distribution is known", name)
    sizes = train_sizes(curated_loop(config.loop, config.mitigation), config.generations)  # what the stages can leave
    smallest = sizes.smallest
    if gen.kind == "gaussian" and not getattr(gen, "shrinkage", False):
        check(
            smallest >= d + 1,
            "loop",
            f"a mix with at least dim + 1 = {d + 1} training samples per generation for a "
            "full-covariance Gaussian (or set generator.shrinkage: true)",
            f"{smallest} samples at generation {sizes.smallest_at}" + (" after mitigation" if config.mitigation else ""),
        )
    if gen.kind == "gmm":
        k = build_generator(config, source).n_components
        check(smallest >= k, "generator.n_components", f"<= the smallest training set ({smallest})", k)
    check(smallest >= 2, "loop", "a mix with at least 2 training samples per generation", smallest)
    check(max(sizes.largest, sizes.pool) <= MAX_INT, "loop", "a mix whose pool stays below 2**63 samples", f"{max(sizes.largest, sizes.pool):,} samples")
    _check_capabilities(config, source)
    check_stages(config, source, get("generator", gen.kind).provides)
    check(config.eval.n_samples > config.eval.nearest_k, "eval.n_samples", f"> eval.nearest_k ({config.eval.nearest_k})", config.eval.n_samples)


def _check_capabilities(config: ExperimentConfig, source: Any) -> None:
    """Every metric's needs are provided by the generator (see :mod:`autophagy.capabilities`), and
    ``init: warm_start`` has a generator state to start from."""
    assert config.metrics is not None  # load_config fills in unset metrics before the checks
    gen = config.generator
    entry = get("generator", gen.kind)
    if entry.target is not None:  # a plug-in: its constructor's own checks run now, not mid-run
        try:
            entry.build(gen, source)
        except AutophagyError:
            raise
        except Exception as exc:
            keys = {k: v for k, v in gen.model_dump().items() if k not in ("kind", "bias")}
            raise InvalidParameterError(
                f"The 'generator' parameter must be keys {gen.kind!r} accepts. Got {short(keys)} instead "
                f"({type(exc).__name__}: {str(exc)[:200]})."
            ) from None
    provides = entry.provides
    for name in config.metrics:
        lacking = missing(get("metric", name).needs, provides)
        check(
            not lacking,
            "metrics",
            f"free of {name!r} unless the generator provides {' and '.join(lacking)} "
            f"(generator.kind {gen.kind!r} has no {' or '.join(CAPABILITIES[c][0] for c in lacking)})",
            name,
        )
    if getattr(gen, "init", None) == "warm_start":
        check(not missing(frozenset({"state"}), provides), "generator.init", "'scratch' for a generator without get_state/set_state", "warm_start")


def dump_yaml(config: ExperimentConfig) -> str:
    """The resolved config as YAML, every default shown (what ``--dry-run`` prints), an empty
    ``mitigation`` included (``to_dict`` leaves it out of the run id)."""
    out = config.to_dict()
    out.setdefault("mitigation", [])
    return yaml.safe_dump(out, sort_keys=False)
