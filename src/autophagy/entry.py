"""What the registry holds for one component (its own module, so that both the registry and the
plug-in adapters can build entries without importing each other)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Origin of the lab's own components.
BUILTIN = "built-in"


@dataclass(frozen=True)
class Entry:
    """One registered component.

    Attributes:
        group: one of :data:`GROUPS`.
        name: the name a config uses (``kind``, or a metric name).
        summary: one line for ``autophagy list``.
        config: the pydantic model of the component's keys (data, generator, loop), or None.
        build: ``build(config)`` for data, loops and stages, ``build(config, source)`` for generators,
            ``build(ctx) -> float | dict`` for metrics.
        origin: ``built-in``, ``entry point NAME (DIST VERSION)``, ``import path`` or
            ``register() in MODULE``.
        needs: capabilities a metric needs from the generator (``log_prob``, ...).
        provides: capabilities a generator provides; None when they are read off the object
            the factory builds (see :func:`autophagy.capabilities.generator_capabilities`).
        target: the class a plug-in component wraps (None for built-ins).
        prepare: for a metric, a check run when a config asking for it is loaded (e.g. that an
            optional model is installed); raises to refuse the config.
    """

    group: str
    name: str
    summary: str
    config: type | None
    build: Callable[..., Any]
    origin: str = BUILTIN
    needs: frozenset[str] = frozenset()
    provides: frozenset[str] | None = None
    target: Any = None
    prepare: Callable[[], None] | None = None
