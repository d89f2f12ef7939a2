"""Registries: every pluggable part of the loop is found by name.

Groups are ``data``, ``generator``, ``loop`` and ``metric``. A data source, generator or loop
registers its config model (a :class:`~autophagy._validation.Model` with a ``kind`` field)
and a ``build(config)`` factory; ``autophagy list`` prints the one-line summaries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .exceptions import InvalidParameterError

GROUPS = ("data", "generator", "loop", "metric")


@dataclass(frozen=True)
class Entry:
    """One registered component."""

    group: str
    name: str
    summary: str
    config: type | None
    build: Callable[..., Any]


_REGISTRY: dict[str, dict[str, Entry]] = {group: {} for group in GROUPS}


def register(
    group: str, name: str, summary: str, config: type | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering ``build`` under ``group``/``name``."""

    def decorate(build: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY[group][name] = Entry(group, name, summary, config, build)
        return build

    return decorate


def _load_builtins() -> None:
    # Importing the modules runs their @register decorators (numpy/scipy only at import time).
    from . import data, generators, loops, metrics  # noqa: F401


def entries(group: str) -> dict[str, Entry]:
    """All entries of one group, by name."""
    _load_builtins()
    return _REGISTRY[group]


def get(group: str, name: Any, key: str | None = None) -> Entry:
    """Look up one entry, or raise the canonical error listing what is allowed."""
    available = entries(group)
    if name not in available:
        allowed = ", ".join(repr(n) for n in sorted(available))
        raise InvalidParameterError(
            f"The '{key or group}' parameter must be one of {allowed}. Got {name!r} instead."
        )
    return available[name]
