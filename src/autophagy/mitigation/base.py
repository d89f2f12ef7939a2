"""What the mitigation stages share: their config base, a readable label for a list of stages,
the load-time check of a stage against its source and generator, and the log-densities the
stages score samples by.

A stage config (a subclass of :class:`StageConfig`) is validated at load like every component;
:meth:`StageConfig.check_against` refuses, in one line, what the configured source or generator
cannot serve (e.g. a score by the true log-likelihood on a corpus whose law is unknown), before
any work starts.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from autophagy._validation import Model, check

LogDensity = Callable[[np.ndarray], np.ndarray]

#: A score of synthetic samples: ``score(batch, x, rng) -> (n,)`` for the rows ``x`` (n, d) of
#: ``batch`` (a :class:`~autophagy.loops.stages.SyntheticBatch`); higher is better (more likely,
#: more real-looking, more rewarded). A score factory ``make(stage_config) -> Score`` is found by
#: name in :data:`SCORES`.
Score = Callable[[Any, np.ndarray, np.random.Generator], np.ndarray]

#: The built-in scores of ``threshold`` (and ``importance``'s ratio), by name: the factory's import
#: path ``module:function`` (imported on first use, so a score's dependencies load only when used).
SCORES: dict[str, str] = {
    "true_loglik": "autophagy.mitigation.scores:true_loglik",
    "reference_loglik": "autophagy.mitigation.scores:reference_loglik",
    "self_loglik": "autophagy.mitigation.scores:self_loglik",
    "reward": "autophagy.mitigation.scores:reward",
    "discriminator": "autophagy.mitigation.discriminator:discriminator",
    "classifier_confidence": "autophagy.mitigation.discriminator:classifier_confidence",
}


class StageConfig(Model):
    """Keys every built-in stage has. Subclasses set ``kind`` as a Literal."""

    kind: str

    #: whether the stage needs G^1 (the engine keeps it and hands it over as
    #: :attr:`~autophagy.loops.stages.SyntheticBatch.reference_model`)
    needs_reference_model: ClassVar[bool] = False

    def label(self) -> str:
        """``kind(key=value, ...)`` over the keys set away from their defaults (a readable name
        for the comparison report's ``--by mitigation``)."""
        fields = type(self).model_fields
        changed = [
            f"{name}={_shown(value)}"
            for name, value in self
            if name != "kind" and value != fields[name].default
        ]
        return f"{self.kind}({', '.join(changed)})" if changed else self.kind

    def check_against(self, source: Any, provides: frozenset[str] | None, key: str) -> None:
        """Refuse, with the canonical one-line error naming ``key``, a stage the source or the
        generator (its capabilities ``provides``; None: unknown, a plug-in) cannot serve."""

    def kept_at_most(self, n: int) -> int:
        """The most of ``n`` synthetic samples the stage can hand on (``n``: no fixed cut). The
        load-time training-size checks see the loop through it (:class:`CuratedLoop`)."""
        return n


def check_stages(config: Any, source: Any, provides: frozenset[str] | None) -> None:
    """Run every stage's :meth:`StageConfig.check_against` (plug-in stages without one pass)."""
    for i, stage in enumerate(config.mitigation):
        hook = getattr(stage, "check_against", None)
        if hook is not None:
            hook(source, provides, f"mitigation.{i}")


@dataclass(frozen=True)
class CuratedLoop:
    """A loop config seen through its stages: each generation's synthetic draws cut to what the
    stages can keep at most (a ``threshold`` keeping ½ of 50 trains on 25), so that the load-time
    checks of the smallest training set count what training will really get."""

    loop: Any
    stages: tuple[Any, ...]

    def plan(self, generation: int) -> Any:
        """The loop's plan at ``generation`` with ``n_synthetic`` cut by every stage in turn."""
        plan = self.loop.plan(generation)
        n = plan.n_synthetic
        for stage in self.stages:
            cut = getattr(stage, "kept_at_most", None)  # a plug-in stage's config may not have one
            n = min(n, cut(n)) if cut is not None else n
        return replace(plan, n_synthetic=n)


def curated_loop(loop: Any, stages: Sequence[Any]) -> Any:
    """``loop`` itself without stages, else its :class:`CuratedLoop`."""
    return CuratedLoop(loop, tuple(stages)) if stages else loop


def mitigation_label(stages: Sequence[Mapping[str, Any]] | None) -> str:
    """A readable label for a resolved ``mitigation:`` list (plain data, as in ``config.yaml``):
    ``none``, or each stage's label joined by ``+``.

    >>> mitigation_label([])
    'none'
    >>> mitigation_label([{"kind": "my.module:Keep", "radius": 2}])
    'my.module:Keep(radius=2)'
    """
    if not stages:
        return "none"
    return " + ".join(_stage_label(stage) for stage in stages)


def _stage_label(stage: Mapping[str, Any]) -> str:
    from autophagy.registry import entries

    kind = stage.get("kind")
    entry = entries("stage").get(kind) if isinstance(kind, str) else None
    model = getattr(entry, "config", None)
    if isinstance(model, type) and issubclass(model, StageConfig):
        try:
            return model.model_validate(dict(stage)).label()
        except Exception:  # a config written by another version: fall back to its keys
            pass
    keys = [f"{k}={_shown(v)}" for k, v in stage.items() if k != "kind"]
    return f"{kind}({', '.join(keys)})" if keys else str(kind)


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    return str(value)


# -- densities --------------------------------------------------------------------------------


def model_log_prob(model: Any, x: np.ndarray, bias: float = 1.0) -> np.ndarray:
    """``model.log_prob(x)`` (n,), at sampling bias ``bias`` where the model's log_prob takes one
    (the vector families' do, the language models' do not)."""
    fn = model.log_prob
    try:
        takes_bias = "bias" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        takes_bias = False
    out = fn(x, bias=bias) if takes_bias else fn(x)
    return np.asarray(out, dtype=float).reshape(-1)


def true_log_prob(source: Any) -> LogDensity | None:
    """The exact log-density (n, d) -> (n,) of the real distribution, or None when unknown: the
    known mixture of a Gaussian / GMM source, or a source's own ``log_prob`` (the grammar, the
    linear-regression rows)."""
    truth = source.truth() if hasattr(source, "truth") else None
    if truth is not None:
        return truth.log_prob  # type: ignore[no-any-return]
    own = getattr(source, "log_prob", None)
    return own if callable(own) else None


def check_true_law(source: Any, key: str, value: Any) -> None:
    """Refuse ``value`` at ``key`` (a score or a stage needing the true density) when the
    source's exact law is unknown."""
    check(
        true_log_prob(source) is not None,
        key,
        "one that does not need the true density: the true law is known only for data.kind "
        "'gaussian', 'gmm', 'grammar' and 'linear'",
        value,
    )


def check_capability(provides: frozenset[str] | None, capability: str, key: str, value: Any) -> None:
    """Refuse ``value`` at ``key`` when the generator declares capabilities lacking ``capability``
    (e.g. ``log_prob`` for a score under the model)."""
    if provides is not None:
        check(capability in provides, key, f"one the generator can serve (it needs the generator's {capability}; it provides {sorted(provides)})", value)
