"""Plug-ins: your own data sources, generators, loop policies and metrics in the loop.

Three ways in, all ending in :mod:`autophagy.registry`:

* **An import path as the kind**: ``generator: {kind: "mypkg.models:MyGenerator", n_components: 5}``
  (likewise ``data.kind``, ``loop.kind`` and a name in ``metrics:``). The object is imported when
  the config is loaded (also in every sweep worker, which receives the config as data).
* **An installed package**, through the entry-point group ``autophagy.plugins``; the entry point
  names a callable run once, which registers components (or a module whose import does)::

      [project.entry-points."autophagy.plugins"]
      mylab = "mylab.autophagy_plugin:register"

* **Code in a notebook or script**: :func:`register` (or ``register_generator``,
  ``register_data``, ``register_metric``, ``register_loop``). Such components live in this
  process, and a sweep started here hands them to its workers (:func:`registrations`); a class
  defined in an interactive notebook cannot be imported by a spawned process-pool worker (use
  the local or Ray backend, or an import path).

What each group expects (the minimal contracts; see ``autophagy.testing.check_generator``):

* a **generator** is a class whose constructor takes keyword hyperparameters (they become the
  config's keys, typed and defaulted from the signature) with ``fit(x, *, rng) -> self`` and
  ``sample(n, *, rng, bias) -> (n, d)``. Optional: ``get_state() -> dict[str, ndarray]`` with
  ``set_state(state) -> self`` (resume restores the fitted model; without them a resumed run
  refits it from the recorded training data, deterministically), and ``log_prob(x, *, bias)``
  (unlocks the likelihood metrics). A constructor parameter named ``source`` receives the data
  source.
* a **data source** is a class with ``sample(n, *, rng) -> (n, d)``; optional ``holdout(n, *,
  rng)`` (a separate held-out pool) and ``truth()`` (a known Gaussian mixture, or None).
* a **loop** is a subclass of :class:`autophagy.loops.LoopConfig` implementing ``plan(t)``.
* a **metric** is a function ``fn(ctx: EvalContext) -> float | dict[str, float]``; declare what
  it needs from the generator with ``needs={"log_prob"}`` (or a ``needs`` attribute on ``fn``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import autophagy.registry as registry
from autophagy.adapters import ADAPTERS, PluginWarning
from autophagy.entry import Entry
from autophagy.exceptions import InvalidParameterError

__all__ = ["PluginWarning", "register", "register_data", "register_generator", "register_loop", "register_metric", "unregister"]


# -- the public register functions ---------------------------------------------------------------
def register(group: str, name: str, obj: Any, *, summary: str | None = None, config: type | None = None, needs: Iterable[str] = ()) -> Entry:
    """Register ``obj`` under ``group`` (``data``, ``generator``, ``loop``, ``metric``) and ``name``.

    Args:
        group: the registry group.
        name: the name a config uses (``kind``, or the metric name).
        obj: a generator class, a data-source class, a ``LoopConfig`` subclass or a metric function.
        summary: one line for ``autophagy list`` (default: the first line of the docstring).
        config: for a generator or data source, a pydantic model of its keys instead of the one
            derived from the constructor's signature.
        needs: for a metric, the generator capabilities it needs (e.g. ``{"log_prob"}``).

    Returns:
        The registry entry.

    Raises:
        InvalidParameterError: an unknown group, or ``obj`` is not what the group expects.
    """
    if group not in ADAPTERS:
        raise InvalidParameterError(f"The 'group' parameter must be one of {sorted(ADAPTERS)}. Got {group!r} instead.")
    registry.entries(group)  # the built-ins first, so a user's name replaces a built-in, not the reverse
    caller = sys._getframe(1).f_globals.get("__name__", "?")
    if caller == __name__:
        caller = sys._getframe(2).f_globals.get("__name__", "?")
    current = registry.current_origin()  # inside an entry point's register(): that entry point
    label = current if current != registry.BUILTIN else f"register() in {caller}"
    entry = registry.add(ADAPTERS[group](name, obj, summary, config, needs, origin=label))
    if label.startswith("register() in"):  # sweeps hand these to their workers (see registrations)
        _REGISTERED[(group, name)] = Registration(group, name, obj, summary, config, tuple(needs), label)
    return entry


@dataclass(frozen=True)
class Registration:
    """One :func:`register` call made in this process, as sweeps replay it in their workers."""

    group: str
    name: str
    obj: Any
    summary: str | None
    config: type | None
    needs: tuple[str, ...]
    origin: str


_REGISTERED: dict[tuple[str, str], Registration] = {}


def registrations() -> tuple[Registration, ...]:
    """The components this process registered with :func:`register` (not the built-ins, entry
    points or import paths, which every worker finds by itself)."""
    return tuple(_REGISTERED.values())


def check_importable(items: Iterable[Registration]) -> None:
    """Refuse registrations a spawned worker process cannot import.

    Raises:
        InvalidParameterError: one of them was defined in an interactive session (a notebook),
            whose ``__main__`` a spawned process cannot re-import.
    """
    main = sys.modules.get("__main__")
    for item in items:
        if getattr(item.obj, "__module__", None) == "__main__" and not getattr(main, "__file__", None):
            raise InvalidParameterError(
                f"The '{item.group}' component {item.name!r} was registered in an interactive session; "
                "process-pool workers cannot import it. Use --backend local or ray, or move it to a module "
                "and give its import path 'package.module:Name' as the kind."
            )


def replay(items: Iterable[Registration]) -> None:
    """Register ``items`` in this process (a sweep worker), with their original origins."""
    for item in items:
        if item.name not in registry.entries(item.group):
            registry.add(ADAPTERS[item.group](item.name, item.obj, item.summary, item.config, item.needs, origin=item.origin))


def unregister(group: str, name: str) -> None:
    """Remove a component registered in this process (e.g. to redefine it in a notebook); a
    built-in comes back only with a new process."""
    registry.entries(group).pop(name, None)
    _REGISTERED.pop((group, name), None)


def register_generator(name: str, cls: type, *, summary: str | None = None, config: type | None = None) -> Entry:
    """Register a generator class under ``generator.kind: name`` (see :func:`register`)."""
    return register("generator", name, cls, summary=summary, config=config)


def register_data(name: str, cls: type, *, summary: str | None = None, config: type | None = None) -> Entry:
    """Register a data-source class under ``data.kind: name`` (see :func:`register`)."""
    return register("data", name, cls, summary=summary, config=config)


def register_loop(name: str, cls: type, *, summary: str | None = None) -> Entry:
    """Register a ``LoopConfig`` subclass under ``loop.kind: name`` (see :func:`register`)."""
    return register("loop", name, cls, summary=summary)


def register_metric(name: str, fn: Callable[..., Any], *, summary: str | None = None, needs: Iterable[str] = ()) -> Entry:
    """Register a metric function under ``name`` (see :func:`register`)."""
    return register("metric", name, fn, summary=summary, needs=needs)
