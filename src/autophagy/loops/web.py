"""The polluted web: many model lineages publishing into one shared data pool (``web:``).

A web experiment replaces the single loop (``loop:`` is not used) by a pool of items that
lineages of models both draw their training data from and publish their samples into, while
human-written data arrive at a rate that may fall over time. Generation t = 1..T:

1. **Human arrivals.** ``pool.human_per_generation`` (a number, or a :class:`Schedule` over the
   generations) new human items are drawn from the data source and join the pool.
2. **Draws.** Every lineage draws ``n_train`` items from the pool as it now stands — uniformly
   without replacement (``draw: uniform``), or with each human item ``human_weight`` times as
   likely as a synthetic one (``draw: {kind: provenance_weighted, human_weight}``: a crawler
   that prefers verified human data) — and passes the synthetic part of its draw through its
   group's ``mitigation`` stages.
3. **Training.** Every lineage fits its generator to what it drew (from scratch: a lineage is a
   chain of models, each trained on the web of its time).
4. **Publishing.** Every lineage samples ``publish`` items from its model (at its λ) into the pool.
5. **Eviction.** A pool larger than ``pool.size`` drops items: the oldest first (``fifo``), at
   random (``uniform``); ``none`` lets it grow.

The pool starts with ``pool.size`` human items (``initial: human``), or with a share
``initial_human_share`` of them and the rest published by the first lineage's generation-0
model, fitted to ``n_train`` human items (``initial: mixed``; they carry lineage 0 and depth 1).

Every item carries its provenance (:class:`WebPool`): the generation it was published
(0: initial or human), the lineage that published it (:data:`~autophagy.loops.pool.HUMAN` = -1
for human data) and its **depth**, the expected number of model generations between it and
human data: 0 for a human item, and 1 + the mean depth of the training set for an item of a
model trained on it. ``pool_synthetic_age`` is the mean depth of the pool's synthetic items.

Lineages are numbered 0..L-1 over the groups in order (``count`` each); metric rows carry that
number in their ``lineage`` column, pool-level rows -1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    Field,
    NonNegativeInt,
    PositiveInt,
    SerializeAsAny,
    field_validator,
)

from autophagy._validation import Model, check, short
from autophagy.exceptions import InvalidParameterError
from autophagy.loops.pool import HUMAN


class Schedule(Model):
    """``{kind: linear | exponential, from, to}``: human items per generation, going from
    ``from`` at generation 1 to ``to`` at the last generation, linearly or geometrically
    (exponential needs both > 0), rounded to the nearest integer."""

    model_config = {**Model.model_config, "validate_by_name": True, "validate_by_alias": True, "serialize_by_alias": True}

    kind: Literal["linear", "exponential"]
    start: float = Field(alias="from", ge=0.0, description="human items at generation 1")
    to: float = Field(ge=0.0, description="human items at the last generation")

    def at(self, generation: int, generations: int) -> int:
        """Human items at ``generation`` of ``generations`` (>= 1).

        >>> Schedule(kind="linear", start=100, to=0).at(1, 5), Schedule(kind="linear", start=100, to=0).at(5, 5)
        (100, 0)
        >>> Schedule(kind="exponential", start=1000, to=10).at(2, 3)
        100
        """
        f = 0.0 if generations <= 1 else (generation - 1) / (generations - 1)
        if self.kind == "linear":
            value = self.start + f * (self.to - self.start)
        else:
            value = self.start * (self.to / self.start) ** f
        return int(math.floor(value + 0.5))


class PoolConfig(Model):
    """``pool: {size, initial, initial_human_share, human_per_generation, eviction}``."""

    size: PositiveInt = Field(description="items the pool holds (eviction keeps it there; with eviction none, its initial size)")
    initial: Literal["human", "mixed"] = Field(default="human", description="human: size human items; mixed: a share initial_human_share of them, the rest from the first lineage's generation-0 model")
    initial_human_share: float = Field(default=0.5, gt=0.0, le=1.0, description="initial: mixed only: the human share of the initial pool")
    human_per_generation: int | Schedule = Field(default=0, description="new human items each generation: a number or {kind: linear | exponential, from, to}")
    eviction: Literal["fifo", "uniform", "none"] = Field(default="fifo", description="what leaves a pool over size: the oldest items, random items, or none")


class DrawConfig(Model):
    """``draw: uniform`` or ``{kind: provenance_weighted, human_weight}``."""

    kind: Literal["uniform", "provenance_weighted"] = "uniform"
    human_weight: float = Field(default=1.0, gt=0.0, description="provenance_weighted: a human item's weight (a synthetic item's is 1)")


class LineageGroup(Model):
    """``{generator: {...}, count, n_train, publish, mitigation}``: ``count`` lineages of one family."""

    generator: SerializeAsAny[BaseModel]
    count: PositiveInt = 1
    n_train: PositiveInt = Field(description="items each lineage draws from the pool and trains on, every generation")
    publish: NonNegativeInt = Field(description="items each lineage publishes into the pool, every generation")
    mitigation: list[SerializeAsAny[BaseModel]] = Field(default_factory=list, description="stages applied to the synthetic part of each draw")


class WebConfig(Model):
    """``web: {lineages, pool, draw}`` (see the module docstring)."""

    lineages: list[LineageGroup] = Field(min_length=1, description="the lineage groups (at least one)")
    pool: PoolConfig
    draw: DrawConfig = Field(default_factory=DrawConfig, description="uniform, provenance_weighted, or {kind: provenance_weighted, human_weight}")

    @field_validator("draw", mode="before")
    @classmethod
    def _draw_by_name(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value

    @property
    def n_lineages(self) -> int:
        return sum(g.count for g in self.lineages)

    def group_of(self) -> np.ndarray:
        """The group index of every lineage, shape (L,) int64 (lineages numbered over the groups in order)."""
        return np.repeat(np.arange(len(self.lineages)), [g.count for g in self.lineages]).astype(np.int64)

    def human_at(self, generation: int, generations: int) -> int:
        """Human items arriving at ``generation``."""
        h = self.pool.human_per_generation
        return h.at(generation, generations) if isinstance(h, Schedule) else int(h)


def resolve_web(raw: Mapping[str, Any], component: Callable[[str, Any, str], Any]) -> dict[str, Any]:
    """``raw`` with every lineage group's ``generator`` and ``mitigation`` resolved through the
    registry (``component(group, body, key)``), and ``generator`` / ``loop`` filled in where
    absent (the first group's generator; a fully synthetic loop of its ``n_train``): the web
    does not use them, but every config has them."""
    web = raw["web"]
    groups = web.get("lineages") if isinstance(web, Mapping) else None
    if not isinstance(groups, list) or not groups:
        raise InvalidParameterError(f"The 'web.lineages' parameter must be a non-empty list of lineage groups {{generator, count, n_train, publish}}. Got {short(groups)} instead.")
    resolved = []
    for i, group in enumerate(groups):
        if not isinstance(group, Mapping) or "generator" not in group:
            raise InvalidParameterError(f"The 'web.lineages.{i}' parameter must be a mapping with a 'generator' key. Got {short(group)} instead.")
        stages = group.get("mitigation") or []
        if not isinstance(stages, list):
            raise InvalidParameterError(f"The 'web.lineages.{i}.mitigation' parameter must be a list of stages {{kind: ...}}. Got {short(stages)} instead.")
        resolved.append({
            **group,
            "generator": component("generator", group["generator"], f"web.lineages.{i}.generator"),
            "mitigation": [component("stage", body, f"web.lineages.{i}.mitigation.{j}") for j, body in enumerate(stages)],
        })
    out = {**raw, "web": {**web, "lineages": resolved}}
    out.setdefault("generator", dict(groups[0]["generator"]))
    n = groups[0].get("n_train")
    out.setdefault("loop", {"kind": "fully_synthetic", **({"n_real": n, "n_synthetic": n} if isinstance(n, int) else {})})
    return out


def check_web(config: Any, load: Callable[[Mapping[str, Any]], Any]) -> None:
    """Every lineage group checked as an experiment of its own (its generator on the data, a loop
    of ``n_train`` samples, the metrics, its stages: ``load`` is :func:`autophagy.config.load_config`),
    and the pool keys checked against each other (:func:`check_pool`)."""
    web: WebConfig = config.web
    base = {k: v for k, v in config.to_dict().items() if k not in ("web", "sweep", "engine")}
    for i, group in enumerate(web.lineages):
        plain = {
            **base,
            "generator": group.generator.model_dump(mode="json"),
            "loop": {"kind": "fully_synthetic", "n_real": group.n_train, "n_synthetic": group.n_train},
            "mitigation": [stage.model_dump(mode="json") for stage in group.mitigation],
        }
        try:
            load(plain)
        except InvalidParameterError as exc:
            text = original = str(exc)
            for key, at in (("generator", "generator"), ("mitigation", "mitigation"), ("loop'", "n_train'")):  # where the web has them
                text = text.replace(f"The '{key}", f"The 'web.lineages.{i}.{at}", 1)
            if text == original:  # a key of the whole experiment (e.g. metrics) this group cannot serve
                text = f"{text.rstrip('.')} (for the lineages of web.lineages.{i})."
            raise InvalidParameterError(text) from None
    check_pool(web, config.generations)
    check_web_stages(web, text=config.data.kind in TEXT_DATA, metrics=config.metrics or ())


#: Data kinds of token sequences (``self_correct`` with ``map: auto`` uses their grammar).
TEXT_DATA = frozenset({"grammar", "corpus"})


def check_web_stages(web: WebConfig, *, text: bool, metrics: Sequence[str]) -> None:
    """Refuse, in one line, what needs the generators that made a lineage's synthetic draw (the
    pool keeps items and their provenance, not models): ``rejection`` (draws more from them),
    ``watermark`` (marks samples as they are made), ``threshold`` by ``self_loglik`` or
    ``reference_loglik`` (their densities), ``self_correct`` by its exact map (``exact``, or
    ``auto`` on vectors: use ``reference``), and the metric ``sample_perplexity`` (a lineage's
    generation-1 model)."""
    check("sample_perplexity" not in metrics, "metrics", "free of 'sample_perplexity' in a web (it needs each lineage's generation-1 model, which a web does not keep)", list(metrics))
    for i, group in enumerate(web.lineages):
        for j, stage in enumerate(group.mitigation):
            key, kind = f"web.lineages.{i}.mitigation.{j}", getattr(stage, "kind", None)
            check(kind not in ("rejection", "watermark"), f"{key}.kind", "a stage that works on the drawn items alone in a web (rejection and watermark need the generators that made them, which the pool does not keep)", kind)
            score = getattr(stage, "score", None) if kind == "threshold" else None
            check(score not in ("self_loglik", "reference_loglik"), f"{key}.score", "one that needs no generator in a web (true_loglik, reward, discriminator...: the pool does not keep the models that made its items)", score)
            exact = kind == "self_correct" and (getattr(stage, "map", None) == "exact" or (getattr(stage, "map", None) == "auto" and not text))
            check(not exact, f"{key}.map", "'reference' in a web (the exact map needs the generators that made the items, which the pool does not keep)", getattr(stage, "map", None))
            check(not getattr(stage, "needs_reference_model", False), f"{key}.kind", "a stage that needs no generation-1 model in a web", kind)


def web_exact_unavailable(web: WebConfig, needs: str) -> str | None:
    """Why the batched engine cannot run this web (every lineage of the exact engine's family
    ``needs``, no stages), or None."""
    kinds = sorted({g.generator.kind for g in web.lineages})  # type: ignore[attr-defined]
    if kinds != [needs]:
        return f"the web's lineages are {kinds}; the batched web engine needs every lineage {needs!r}"
    if any(g.mitigation for g in web.lineages):
        return "a lineage group has mitigation stages, which need the samples themselves"
    return None


def check_pool(web: WebConfig, generations: int) -> None:
    """What the pool keys cannot check alone (one line each, naming the key): every lineage's draw
    fits in the pool, and the human arrivals stay within [0, pool.size]."""
    pool = web.pool
    h = pool.human_per_generation
    if isinstance(h, Schedule):
        if h.kind == "exponential":
            check(h.start > 0 and h.to > 0, "web.pool.human_per_generation.from", "> 0 with to > 0 for an exponential schedule (a geometric path)", h.start if h.start <= 0 else h.to)
        for key, value in (("from", h.start), ("to", h.to)):
            check(value <= pool.size, f"web.pool.human_per_generation.{key}", f"in [0, pool.size = {pool.size}]", value)
    else:
        check(0 <= h <= pool.size, "web.pool.human_per_generation", f"in [0, pool.size = {pool.size}]", h)
    for i, group in enumerate(web.lineages):  # the pool never holds fewer than pool.size items
        check(group.n_train <= pool.size, f"web.lineages.{i}.n_train", f"<= pool.size = {pool.size} (a lineage draws without replacement)", group.n_train)


@dataclass(frozen=True)
class WebPool:
    """The shared pool with every item's provenance.

    Attributes:
        x: the items, shape (N, d).
        published: shape (N,) int64, the generation each item was published (0: human data or
            the initial pool); human items that arrive at generation t carry t.
        lineage: shape (N,) int64, the publishing lineage; :data:`HUMAN` (-1) for human data.
        depth: shape (N,) float64, model generations between the item and human data (0 for human).
        arrival: shape (N,) int64, a running arrival number (FIFO order; unique, increasing).
    """

    x: np.ndarray
    published: np.ndarray
    lineage: np.ndarray
    depth: np.ndarray
    arrival: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    @property
    def human(self) -> np.ndarray:
        """Shape (N,) bool: which items are human."""
        return self.lineage == HUMAN

    def take(self, rows: np.ndarray) -> WebPool:
        return WebPool(self.x[rows], self.published[rows], self.lineage[rows], self.depth[rows], self.arrival[rows])

    def add(self, x: np.ndarray, *, published: int, lineage: int | np.ndarray, depth: float | np.ndarray) -> WebPool:
        """The pool with ``x`` (n, d) appended (their arrival numbers follow the pool's last)."""
        n = len(x)
        start = int(self.arrival.max()) + 1 if len(self) else 0
        return WebPool(
            np.concatenate([self.x, np.asarray(x, dtype=self.x.dtype)]),
            np.concatenate([self.published, np.full(n, published, dtype=np.int64)]),
            np.concatenate([self.lineage, np.broadcast_to(np.asarray(lineage, dtype=np.int64), (n,))]),
            np.concatenate([self.depth, np.broadcast_to(np.asarray(depth, dtype=float), (n,))]),
            np.concatenate([self.arrival, np.arange(start, start + n, dtype=np.int64)]),
        )

    @classmethod
    def of_human(cls, x: np.ndarray) -> WebPool:
        """A pool of human items ``x`` (n, d) (published 0)."""
        n = len(x)
        return cls(np.asarray(x), np.zeros(n, np.int64), np.full(n, HUMAN, np.int64), np.zeros(n), np.arange(n, dtype=np.int64))

    def state(self) -> dict[str, np.ndarray]:
        """The pool as named arrays (for a checkpoint; :meth:`from_state` reads them back)."""
        return {"pool_x": self.x, "pool_published": self.published, "pool_lineage": self.lineage, "pool_depth": self.depth, "pool_arrival": self.arrival}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> WebPool:
        return cls(state["pool_x"], state["pool_published"], state["pool_lineage"], state["pool_depth"], state["pool_arrival"])

    def frame(self) -> Any:
        """The pool as a DataFrame: columns x0..x{d-1}, lineage, published, depth, arrival."""
        import pandas as pd

        columns = {f"x{j}": self.x[:, j] for j in range(self.x.shape[1])} if self.x.ndim == 2 else {"x0": self.x}
        return pd.DataFrame({**columns, "lineage": self.lineage, "published": self.published, "depth": self.depth, "arrival": self.arrival})

    def human_share(self) -> float:
        return float(np.mean(self.human)) if len(self) else math.nan

    def synthetic_age(self) -> float:
        """Mean depth of the synthetic items (nan when there are none)."""
        synthetic = ~self.human
        return float(self.depth[synthetic].mean()) if synthetic.any() else math.nan


def evict(pool: WebPool, size: int, how: str, rng: np.random.Generator) -> WebPool:
    """``pool`` cut back to ``size`` items: the oldest arrivals leave (``fifo``), random items
    leave (``uniform``, stream ``rng``), or nothing leaves (``none``). Order is kept."""
    excess = len(pool) - size
    if excess <= 0 or how == "none":
        return pool
    if how == "fifo":
        keep = np.sort(np.argsort(pool.arrival, kind="stable")[excess:])
    else:
        keep = np.sort(rng.choice(len(pool), size=size, replace=False))
    return pool.take(keep)


def draw_rows(pool: WebPool, n: int, draw: DrawConfig, rng: np.random.Generator) -> np.ndarray:
    """Indices (n,) of one lineage's draw, sorted, without replacement: uniform, or weighted by
    provenance (a human item ``draw.human_weight`` times as likely as a synthetic one, each
    successive pick among the rest; numpy's ``choice`` with ``p``)."""
    if draw.kind == "uniform" or draw.human_weight == 1.0:
        return np.sort(rng.choice(len(pool), size=n, replace=False))
    w = np.where(pool.human, draw.human_weight, 1.0)
    return np.sort(rng.choice(len(pool), size=n, replace=False, p=w / w.sum()))


def pools_state(pools: Mapping[int, WebPool]) -> dict[str, np.ndarray]:
    """Every repeat's pool as the named arrays of a checkpoint: ``s<seed>/pool_x``, ... by seed."""
    return {f"s{seed}/{key}": value for seed, pool in pools.items() for key, value in pool.state().items()}


def pools_from_state(state: Mapping[str, np.ndarray], seeds: Sequence[int]) -> dict[int, WebPool]:
    """The pools of :func:`pools_state` for ``seeds``."""
    return {seed: WebPool.from_state({k[len(f"s{seed}/"):]: v for k, v in state.items() if k.startswith(f"s{seed}/")}) for seed in seeds}
