"""The registry: every pluggable part of the loop, found by name, and the factories that build them.

Groups are ``data``, ``generator``, ``loop``, ``metric`` and ``stage`` (the synthetic-sample
stages of ``mitigation:``, see :mod:`autophagy.loops.stages`). A component is found, in order:

1. by a name registered in this process: the lab's own components (registered by the module
   :data:`BUILTINS`, loaded by name like any plug-in, so the registry imports no component),
   those of installed packages (entry-point group :data:`ENTRY_POINT_GROUP`, see
   :mod:`autophagy.plugins`) and those a notebook registered with :func:`autophagy.register`;
2. by an import path ``"package.module:Name"`` given as the ``kind`` (or metric name), resolved
   and registered on first use.

Each :class:`Entry` records where it came from (``origin``), what it needs (``needs``: a metric's
generator capabilities, see :mod:`autophagy.capabilities`) and what it provides. The factories
:func:`build_source` and :func:`build_generator` turn a validated config into objects.
"""

from __future__ import annotations

import contextlib
import importlib
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from autophagy.entry import BUILTIN, Entry
from autophagy.exceptions import InvalidParameterError

GROUPS = ("data", "generator", "loop", "metric", "stage")
#: The entry-point group through which installed packages register components.
ENTRY_POINT_GROUP = "autophagy.plugins"
#: The module registering the lab's own components (imported by name on first lookup).
BUILTINS = "autophagy.builtins"


_REGISTRY: dict[str, dict[str, Entry]] = {group: {} for group in GROUPS}
_origin: list[str] = [BUILTIN]
_loaded = False


@contextlib.contextmanager
def origin(label: str) -> Iterator[None]:
    """Components registered inside this block are recorded with ``origin`` ``label``."""
    _origin.append(label)
    try:
        yield
    finally:
        _origin.pop()


def current_origin() -> str:
    """The origin components registered now get (the innermost :func:`origin` block)."""
    return _origin[-1]


def add(entry: Entry) -> Entry:
    """Register ``entry`` (replacing one of the same group and name)."""
    if entry.group not in GROUPS:
        raise InvalidParameterError(f"The 'group' parameter must be one of {list(GROUPS)}. Got {entry.group!r} instead.")
    _REGISTRY[entry.group][entry.name] = entry
    return entry


def register(
    group: str,
    name: str,
    summary: str,
    config: type | None = None,
    *,
    needs: frozenset[str] | set[str] = frozenset(),
    provides: frozenset[str] | set[str] | None = None,
    prepare: Callable[[], None] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering ``build`` under ``group``/``name`` (the built-ins' form)."""

    def decorate(build: Callable[..., Any]) -> Callable[..., Any]:
        caps = None if provides is None else frozenset(provides)
        add(Entry(group, name, summary, config, build, _origin[-1], frozenset(needs), caps, prepare=prepare))
        return build

    return decorate


def lazy(path: str) -> Callable[..., Any]:
    """A factory that imports ``"package.module:name"`` on its first call and calls it: a
    family's light config module registers its heavy model (torch, transformers) this way,
    without importing it."""
    target: list[Callable[..., Any]] = []

    def build(*args: Any, **kwargs: Any) -> Any:
        if not target:
            module, name = path.split(":")
            target.append(getattr(importlib.import_module(module), name))
        return target[0](*args, **kwargs)

    build.__qualname__ = build.__name__ = f"lazy({path})"
    return build


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    importlib.import_module(BUILTINS)  # its imports run the built-ins' @register decorators
    load_entry_points()


def load_entry_points() -> None:
    """Run every entry point of the group :data:`ENTRY_POINT_GROUP` once: each names a callable
    that registers components (or a module whose import does). A broken one warns."""
    import warnings
    from importlib.metadata import entry_points

    from autophagy.adapters import PluginWarning

    for point in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(point, "dist", None)
        label = f"entry point {point.name} ({dist.name} {dist.version})" if dist is not None else f"entry point {point.name}"
        with origin(label):
            try:
                loaded = point.load()
                if callable(loaded) and not isinstance(loaded, type):
                    loaded()
            except Exception as exc:  # a broken plug-in must not take the lab down
                warnings.warn(
                    f"autophagy plug-in {point.name!r} ({point.value}) failed to load: {type(exc).__name__}: {exc}", PluginWarning, stacklevel=2
                )


def entries(group: str) -> dict[str, Entry]:
    """All entries of one group, by name."""
    _load_builtins()
    return _REGISTRY[group]


def is_import_path(name: Any) -> bool:
    """Whether ``name`` looks like ``package.module:Name``."""
    return isinstance(name, str) and name.count(":") == 1 and all(name.split(":"))


def get(group: str, name: Any, key: str | None = None) -> Entry:
    """Look up one entry (resolving an import path), or raise the canonical error listing what is allowed."""
    available = entries(group)
    if name in available:
        return available[name]
    if is_import_path(name):
        from autophagy.adapters import ADAPTERS, import_object

        target = import_object(name, key or group)
        return add(ADAPTERS[group](name, target, origin="import path"))
    allowed = ", ".join(repr(n) for n in sorted(available))
    raise InvalidParameterError(
        f"The '{key or group}' parameter must be one of {allowed} or an import path 'package.module:Name'. Got {name!r} instead."
    )


# -- factories ------------------------------------------------------------------------------------
#: Data sources built elsewhere and handed to this process (a sweep's shared inputs, see
#: :mod:`autophagy.runner.shared`), by :func:`data_key`.
_PROVIDED_SOURCES: dict[str, Any] = {}


def data_key(config: Any) -> str:
    """Identity of the data section of a config (an ExperimentConfig or its ``to_dict()``): runs
    with equal keys read the same data source."""
    data = config["data"] if isinstance(config, Mapping) else config.data.model_dump(mode="json")
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def provide_source(key: str, source: Any) -> None:
    """Let :func:`build_source` return ``source`` for configs whose :func:`data_key` is ``key``."""
    _PROVIDED_SOURCES[key] = source


def build_source(config: Any) -> Any:
    """The data source named by ``config.data`` of an ExperimentConfig (one provided to this
    process, if any)."""
    provided = _PROVIDED_SOURCES.get(data_key(config)) if _PROVIDED_SOURCES else None
    if provided is not None:
        return provided
    return get("data", config.data.kind).build(config.data)


def build_generator(config: Any, source: Any) -> Any:
    """A new, unfitted generator named by ``config.generator`` of an ExperimentConfig."""
    return get("generator", config.generator.kind).build(config.generator, source)
