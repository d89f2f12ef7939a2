"""What a run needs, read off its config alone: training-set sizes over its generations (in
constant time, however many generations) and its peak memory, so that a config the machine
cannot hold is refused when it is loaded, before anything is allocated.

**The estimate** (:func:`estimate`, in bytes) adds up what a run holds at its peak: the real
distribution's arrays, the training sets (an accumulated pool grows with the generations), the
covariance matrices of every repeat (the exact engines keep d² floats per repeat for their
statistics and for each kept generator: with ``loop.synthetic_from: all`` that is generations ×
repeats × d² floats), the fitted models, the held-out and generated evaluation sets, the sample
metrics' distance blocks and the metrics table itself (generations × repeats × rows per
generation). It is meant to be conservative, not exact: within a small factor of the true peak.

**The limit** (:func:`resolve_limit`): the ``max_memory`` argument of
:func:`autophagy.load_config` (a number of bytes or a size such as ``"8G"``), else the one set
by :func:`memory_budget` (the CLI's ``--max-memory``), else the environment variable
``AUTOPHAGY_MAX_MEMORY``, else the memory available now (``MemAvailable`` of
``/proc/meminfo``, or the physical memory where that file does not exist).

**Hooks** a family may define (all optional; sizes in bytes, widths in floats per sample):

* data config ``sample_width() -> int | None``: the width of one sample row; None when only the
  built source knows it (then the estimate waits for the source). Without the hook: ``dim``.
* data config ``source_bytes() -> int``: what the built source holds at its peak.
* generator config ``memory_estimate(width, n_train) -> ModelMemory``
  (:meth:`autophagy.core.generator.GeneratorConfig.memory_estimate`, with a default for every family).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autophagy._validation import short
from autophagy.core.generator import ModelMemory
from autophagy.exceptions import InvalidParameterError
from autophagy.loops.policy import (
    AccumulateConfig,
    AccumulateSubsampleConfig,
    AugmentConfig,
    FreshConfig,
    FullySyntheticConfig,
    KeepOriginalConfig,
    LoopConfig,
    MixedConfig,
    train_size,
)

if TYPE_CHECKING:
    from autophagy.config import ExperimentConfig

#: Bytes of one float64.
FLOAT = 8
#: Environment variable holding the memory limit (a size such as ``8G`` or a number of bytes).
ENV = "AUTOPHAGY_MAX_MEMORY"


# --- training-set sizes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """Training-set sizes of a loop over a whole run (rows).

    Attributes:
        smallest: the smallest training set of any generation.
        smallest_at: the first generation that trains on ``smallest`` rows.
        largest: the largest training set.
        pool: rows an accumulating loop holds at the last generation (0 for other loops).
        fixed: rows of the fixed real set, kept for the whole run.
    """

    smallest: int
    smallest_at: int
    largest: int
    pool: int
    fixed: int


#: Loop kinds whose plan is the same for every generation from the second on.
_STATIONARY = frozenset(
    cls.plan
    for cls in (FullySyntheticConfig, AugmentConfig, FreshConfig, AccumulateConfig, AccumulateSubsampleConfig, KeepOriginalConfig, MixedConfig)
)
#: Generations of a plug-in loop kind whose plans are composed one by one (beyond: extrapolated).
PLANNED = 10_000


def train_sizes(loop: LoopConfig, generations: int) -> Sizes:
    """The training-set sizes of ``generations`` generations of ``loop``, as
    :meth:`~autophagy.loops.policy.LoopConfig.train_sizes` lists them, in constant time for the
    built-in loop kinds (their plan repeats from generation 2 on; an accumulated pool grows by
    the same rows each generation). A plug-in loop kind's plans are composed for its first
    :data:`PLANNED` generations; later ones are taken to repeat the last of those.
    """
    stationary = type(loop).plan in _STATIONARY
    horizon = min(generations, 2 if stationary else PLANNED)
    smallest, smallest_at, largest, pool, fixed, new, size = 0, 1, 0, 0, 0, 0, 0
    for t in range(1, horizon + 1):
        p = loop.plan(t)
        fixed = max(fixed, p.n_fixed)
        new = p.n_fresh + p.n_synthetic + (p.n_fixed if t == 1 else 0)
        size, pool = train_size(p, t, pool)
        if t == 1 or size < smallest:
            smallest, smallest_at = size, t
        largest = max(largest, size)
    if generations > horizon and pool:  # the rest grow the pool as the last plan did
        pool += (generations - horizon) * new
        last = loop.plan(horizon)
        largest = max(largest, min(pool, last.subsample) if last.subsample else pool)
    return Sizes(smallest, smallest_at, largest, pool, fixed)


# --- the estimate -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One part of an estimate: bytes, the config key that drives them, and what they are."""

    bytes: int
    key: str
    what: str


@dataclass(frozen=True)
class Estimate:
    """A run's estimated peak memory, as a sum of :class:`Term` (bytes)."""

    terms: tuple[Term, ...]

    @property
    def total(self) -> int:
        return sum(t.bytes for t in self.terms)

    @property
    def main(self) -> Term:
        """The largest term: what to lower first."""
        return max(self.terms, key=lambda t: t.bytes)


#: Metrics that compare every held-out sample with every generated one, in row blocks.
PAIRWISE = frozenset({"mmd", "precision", "recall", "density", "coverage"})
#: Metrics that form covariance matrices of the samples (d² floats, and a matrix square root).
COVARIANCE = frozenset({"frechet", "gaussian_w2", "cov_trace", "cov_logdet"})
#: Bytes one row of the metrics table takes in memory (run, seed, generation, metric, value:
#: about 40), with the copies made when a generation is appended and written.
ROW_BYTES = 100
#: Rows per repeat and generation besides the metrics: provenance, stage info, ``degenerate``.
EXTRA_ROWS = 8
#: d² matrices per repeat the exact engines hold at their peak (fixed and pool statistics with
#: their factors, this generation's draws and their merge, the fit's factor).
EXACT_MATRICES = 12


def sample_width(config: ExperimentConfig) -> int | None:
    """Floats per sample row, from the data config (its ``sample_width()`` hook, else ``dim``);
    None when only the built source knows it."""
    hook = getattr(config.data, "sample_width", None)
    if callable(hook):
        return hook()  # type: ignore[no-any-return]
    dim = getattr(config.data, "dim", None)
    return int(dim) if isinstance(dim, int) else None


def estimate(config: ExperimentConfig, engine: str, width: int | None = None) -> Estimate | None:
    """The run's peak memory from its config (see the module docstring), in bytes.

    Args:
        config: a validated config (``metrics`` may still be unset: then the default metrics'
            work is assumed).
        engine: ``exact`` or ``sampled``, the engine the run will use.
        width: floats per sample row; None: from the data config (:func:`sample_width`).

    Returns:
        The estimate, or None when the width is known only to the built source.
    """
    w = width if width is not None else sample_width(config)
    if w is None:
        return None
    reps, gens, loop = config.repeats, config.generations, config.loop
    sizes = train_sizes(loop, gens)
    n_eval = config.eval.n_samples
    metrics = set(config.metrics) if config.metrics is not None else None
    kept = gens if loop.synthetic_from == "all" else 1  # generators kept per repeat
    loop_key = _loop_key(loop)
    terms: list[Term] = []

    def per_repeat(one: int, size: int, key: str, what: str) -> None:
        """``one`` bytes per repeat; named by ``repeats`` where the repeats outnumber ``size``."""
        terms.append(Term(reps * one, "repeats" if reps > size else key, f"{what} per repeat"))

    source_hook = getattr(config.data, "source_bytes", None)
    if callable(source_hook):
        terms.append(Term(int(source_hook()), "data.dim" if hasattr(config.data, "dim") else "data", "the real distribution's arrays"))
    model_hook = getattr(config.generator, "memory_estimate", None)
    model = model_hook(w, sizes.largest) if callable(model_hook) else ModelMemory(FLOAT * sizes.largest * w, 2 * FLOAT * sizes.largest * w)
    if engine == "exact":  # statistics instead of samples: d² floats per repeat, for the groups and per kept generator
        square = FLOAT * w * w
        per_repeat(EXACT_MATRICES * square, w, "data.dim", f"covariance matrices of {w}² floats")
        if kept > 1:
            per_repeat(kept * 3 * square, kept, "loop.synthetic_from", f"{kept:,} kept generators of 3 × {w}² floats")
    else:
        if sizes.pool:  # a pool, its origins and its grown copy
            per_repeat(FLOAT * (sizes.fixed * w + 2 * sizes.pool * (w + 1)), sizes.pool, "generations" if gens > 1 else loop_key,
                       f"an accumulated pool of {sizes.pool:,} samples × {w} floats")
        elif sizes.fixed:
            per_repeat(FLOAT * sizes.fixed * w, sizes.fixed, loop_key, f"the fixed real set of {sizes.fixed:,} samples × {w} floats")
        terms.append(Term(3 * FLOAT * sizes.largest * w, loop_key, f"training sets of {sizes.largest:,} samples × {w} floats"))
        key = model.key or loop_key
        if kept > 1:
            per_repeat(kept * model.kept, kept, "loop.synthetic_from", f"{kept:,} kept generators, each {model.what},")
        else:
            per_repeat(model.kept, w if key == "data.dim" else sizes.largest, key, model.what)
        terms.append(Term(model.work, key, f"fitting {model.what}"))
    if model.runtime:
        terms.append(Term(model.runtime, "generator.kind", "the neural network library"))
    per_repeat(FLOAT * n_eval * w, n_eval, "eval.n_samples", f"held-out samples ({n_eval:,} × {w} floats)")
    # the generated samples and the metrics' copies of both sets (centred, standardised, scored)
    terms.append(Term(6 * FLOAT * n_eval * w, "eval.n_samples", f"generated samples and the metrics' copies ({n_eval:,} × {w} floats)"))
    if metrics is None or metrics & PAIRWISE:
        blocks = FLOAT * (3 * 512 * n_eval + 2 * n_eval * min(n_eval, 2048) + 2_000_000)  # kernel, ball and k-NN blocks
        terms.append(Term(blocks, "eval.n_samples", f"the sample metrics' distance blocks over {n_eval:,} samples"))
    if metrics is None or metrics & COVARIANCE:
        terms.append(Term(6 * FLOAT * w * w, "data.dim", f"the metrics' covariance matrices of {w}² floats"))
    rows = (len(metrics) if metrics is not None else 10) + EXTRA_ROWS
    if config.web is not None:
        terms.extend(_web_terms(config, engine, w, model))
        rows = config.web.n_lineages * rows + 4 * rows  # every lineage's rows; the pool's and the spread rows
    terms.append(Term(gens * reps * rows * ROW_BYTES, "generations" if gens >= reps else "repeats",
                      f"a metrics table of {gens:,} generations × {reps:,} repeats × {rows:,} rows"))
    return Estimate(tuple(terms))


def _web_terms(config: ExperimentConfig, engine: str, w: int, model: ModelMemory) -> list[Term]:
    """A web's own peak (``web:``): the pool of one repeat at its largest (``pool.size`` plus a
    generation's arrivals; with eviction ``none`` every generation's) with its provenance
    columns, and every lineage's draw and model, held at once (the batched
    engine: d² floats of statistics per lineage; the sampled one: each lineage's fitted model,
    kept until the generation's barrier)."""
    web, gens = config.web, config.generations
    assert web is not None
    lineages = web.n_lineages
    arrivals = max(web.human_at(t, gens) for t in (1, gens)) + sum(g.count * g.publish for g in web.lineages)
    largest = web.pool.size + (gens if web.pool.eviction == "none" else 1) * arrivals
    n_train = max(g.n_train for g in web.lineages)
    pool_key = "web.pool.size" if web.pool.size >= arrivals else "web.lineages"  # what makes the pool large
    terms = [  # the pool, grown by the arrivals, cut back and its state for resume; the draws gathered, centred, scaled
        Term(4 * FLOAT * largest * (w + 4), pool_key, f"a pool of up to {largest:,} items × {w} floats with its provenance, grown and cut"),
        Term(3 * FLOAT * lineages * n_train * w, "web.lineages", f"{lineages:,} lineages' draws of {n_train:,} items × {w} floats"),
    ]
    if engine == "exact":
        terms.append(Term(EXACT_MATRICES * FLOAT * lineages * w * w, "web.lineages", f"{lineages:,} lineages' statistics of {w}² floats"))
    else:
        terms.append(Term(lineages * model.kept, "web.lineages", f"{lineages:,} lineages' models, each {model.what}"))
    return terms


def _loop_key(loop: LoopConfig) -> str:
    """The loop size key with the largest value (what sets the training-set sizes)."""
    sizes = {k: getattr(loop, k) for k in ("n_real", "n_synthetic", "n_fresh", "n_fixed", "train_size") if isinstance(getattr(loop, k, None), int)}
    return f"loop.{max(sizes, key=lambda k: sizes[k])}" if sizes else "loop"


# --- the limit --------------------------------------------------------------------------------

_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([kmgtp]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(value: int | float | str, key: str = "max_memory") -> int:
    """Bytes from a number of bytes or a size such as ``8G``, ``512M``, ``1.5GiB`` (powers of
    1024; ``B``, ``K``, ``M``, ``G``, ``T``, ``P``, case-insensitive, an optional ``B``/``iB``).

    Raises:
        InvalidParameterError: naming ``key``, for anything else or a size below 1 byte.
    """
    allowed = "a memory size such as 8G, 512M or a number of bytes (>= 1)"
    if isinstance(value, bool):
        raise InvalidParameterError(f"The '{key}' parameter must be {allowed}. Got {value!r} instead.")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        found = _SIZE.match(str(value))
        if found is None:
            raise InvalidParameterError(f"The '{key}' parameter must be {allowed}. Got {short(value)} instead.")
        number = float(found.group(1)) * _UNITS[found.group(2).lower()]
    if not (math.isfinite(number) and number >= 1):
        raise InvalidParameterError(f"The '{key}' parameter must be {allowed}. Got {short(value)} instead.")
    return int(number)


def available_memory() -> int | None:
    """Bytes this process may still allocate: ``MemAvailable`` of ``/proc/meminfo`` (capped by a
    cgroup v2 limit when one is set), else the physical memory (``os.sysconf``), else None."""
    found: int | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        found = None
    try:  # a container's own limit, where it is lower than the machine's memory
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
            found = min(found, int(limit) - used) if found is not None else int(limit) - used
    except (OSError, ValueError):
        pass
    if found is None:
        try:
            found = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    return max(found, 0)


_BUDGET: contextvars.ContextVar[tuple[int, str] | None] = contextvars.ContextVar("autophagy_memory_budget", default=None)


@contextlib.contextmanager
def memory_budget(max_memory: int | float | str | None, origin: str = "--max-memory") -> Iterator[None]:
    """Within the block, configs are loaded against ``max_memory`` (bytes or a size such as
    ``8G``; None: no change), e.g. by a sweep's expansion; ``origin`` names it in messages."""
    if max_memory is None:
        yield
        return
    token = _BUDGET.set((parse_size(max_memory, origin), origin))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def resolve_limit(max_memory: int | float | str | None = None) -> tuple[int | None, str]:
    """The memory limit in bytes (None: unknown, nothing is refused) and how to name it.

    Order: ``max_memory``, :func:`memory_budget`, ``$AUTOPHAGY_MAX_MEMORY``, the memory available.
    """
    if max_memory is not None:
        limit = parse_size(max_memory, "max_memory")
        return limit, f"the max_memory of {format_bytes(limit)}"
    budget = _BUDGET.get()
    if budget is not None:
        return budget[0], f"the {budget[1]} of {format_bytes(budget[0])}"
    env = os.environ.get(ENV)
    if env:
        limit = parse_size(env, ENV)
        return limit, f"the {ENV} of {format_bytes(limit)}"
    free = available_memory()
    return free, f"the {format_bytes(free)} available" if free is not None else "the memory available"


def check_memory(found: Estimate, config: ExperimentConfig, limit: int | None, named: str) -> None:
    """Refuse ``config`` when its estimate exceeds ``limit`` bytes (one line naming the key that
    drives the estimate); None: no limit."""
    if limit is None or found.total <= limit:
        return
    main = found.main
    value = _value_at(config, main.key)
    shown = f"{main.key} = {short(value)}: " if value is not None else ""
    raise InvalidParameterError(
        f"The config needs about {format_bytes(found.total)} ({shown}{main.what}), more than {named}; "
        f"lower {main.key} or pass --max-memory (max_memory in Python, or ${ENV})."
    )


def _value_at(config: Any, key: str) -> Any:
    node = config
    for part in key.split("."):
        node = getattr(node, part, None)
        if node is None:
            return None
    return node if isinstance(node, (int, float, str)) else None


def format_bytes(n: float) -> str:
    """``n`` bytes as "12.3 GiB" (powers of 1024, three significant digits)."""
    n = float(min(n, 1e300))
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.0f} bytes" if unit == "bytes" else f"{n:.3g} {unit}" if n < 1e6 else f"{n:.3e} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def describe(found: Estimate) -> str:
    """One line: the total and its largest parts, e.g. for ``--dry-run``."""
    parts: Sequence[Term] = sorted(found.terms, key=lambda t: -t.bytes)[:3]
    return f"peak memory estimate: about {format_bytes(found.total)} (" + "; ".join(f"{format_bytes(t.bytes)} {t.what}" for t in parts) + ")"
