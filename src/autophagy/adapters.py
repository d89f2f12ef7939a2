"""What the lab makes of a user's object, per registry group: a generator or data-source class
becomes an entry whose config keys are read off its constructor; a ``LoopConfig`` subclass, a
loop kind; a function of an :class:`~autophagy.metrics.evaluate.EvalContext`, a metric.

The contracts are stated in :mod:`autophagy.plugins`. Nothing here registers anything: the
registry (import paths) and :mod:`autophagy.plugins` (``register_*``) add what these return.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from autophagy._validation import Model
from autophagy.capabilities import CAPABILITIES, capabilities_of
from autophagy.entry import Entry
from autophagy.exceptions import InvalidParameterError

#: Keys a plug-in generator's constructor cannot take (the lab sets them itself).
RESERVED = frozenset({"self", "kind", "bias"})


class PluginWarning(UserWarning):
    """An installed plug-in could not be loaded (the rest of the lab works without it)."""


def import_object(path: str, key: str) -> Any:
    """The object at ``"package.module:Name"`` (dotted names after the colon are attributes)."""
    module_name, _, attribute = path.partition(":")
    allowed = "an importable 'package.module:Name'"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise InvalidParameterError(
            f"The '{key}' parameter must be {allowed}. Got {path!r} instead ({type(exc).__name__}: {exc})."
        ) from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise InvalidParameterError(f"The '{key}' parameter must be {allowed}. Got {path!r} instead (module {module_name!r} has no {attribute!r}).")
        target = getattr(target, part)
    return target


# -- adapters: what each group makes of a user's object ------------------------------------------
def _summary(obj: Any, summary: str | None) -> str:
    if summary:
        return summary
    doc = inspect.getdoc(obj) or ""
    first = doc.strip().splitlines()[0] if doc.strip() else ""
    where = f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"
    return f"{first} ({where})" if first else where


def _parameters(cls: type) -> list[inspect.Parameter]:
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p for p in signature.parameters.values() if p.kind in kinds and p.name not in RESERVED]


def config_from_signature(cls: type[Any], base: type[Model], name: str) -> type[Model]:
    """A config model whose keys are ``cls``'s constructor parameters (``source`` excepted):
    typed from the annotations (Any where there are none), defaulted from the signature, required
    where the signature has no default; ``kind`` defaults to ``name``."""
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # unresolvable annotations: accept any value
        hints = {}
    fields: dict[str, Any] = {"kind": (str, name)}
    for p in _parameters(cls):
        if p.name == "source":
            continue
        annotation = hints.get(p.name, Any)
        fields[p.name] = (annotation, ... if p.default is inspect.Parameter.empty else p.default)
    from pydantic import create_model

    return create_model(f"{cls.__name__}Config", __base__=base, __module__=__name__, **fields)


def _generator(name: str, cls: Any, summary: str | None = None, config: type | None = None, needs: Iterable[str] = (), *, origin: str) -> Entry:
    from autophagy.core.generator import GeneratorConfig

    for method in ("fit", "sample"):
        if not callable(getattr(cls, method, None)):
            raise InvalidParameterError(
                f"A generator plug-in must have fit(x, *, rng) and sample(n, *, rng, bias). Got {cls!r} instead (no {method!r})."
            )
    model = config or config_from_signature(cls, GeneratorConfig, name)
    takes_source = any(p.name == "source" for p in _parameters(cls))
    keys = [p.name for p in _parameters(cls) if p.name != "source"]

    def build(cfg: Any, source: Any = None) -> Any:
        kwargs = {k: getattr(cfg, k) for k in keys if hasattr(cfg, k)}
        if takes_source:
            kwargs["source"] = source
        return cls(**kwargs)

    entry = Entry("generator", name, _summary(cls, summary), model, build, origin, provides=capabilities_of(cls), target=cls)
    return entry


class PluginSource:
    """A user's data source seen through the lab's source protocol: ``dim`` (from one draw when the
    object has none) and ``truth()`` (None when it has none); everything else is the object's."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._dim: int | None = getattr(inner, "dim", None)

    def sample(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        x = np.asarray(self.inner.sample(n, rng=rng), dtype=float)
        if x.ndim != 2 or x.shape[0] != n:
            raise InvalidParameterError(f"A data plug-in's sample(n, rng=...) must return an array of shape (n, d). Got shape {x.shape} for n = {n}.")
        return x

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.sample(2, rng=np.random.default_rng(0)).shape[1])  # its own stream: no run stream is consumed
        return self._dim

    def truth(self) -> Any:
        truth = getattr(self.inner, "truth", None)
        return truth() if truth is not None else None

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # during unpickling, before __dict__ is filled
            raise AttributeError(name)
        return getattr(self.inner, name)


def _data(name: str, cls: Any, summary: str | None = None, config: type | None = None, needs: Iterable[str] = (), *, origin: str) -> Entry:
    if not callable(getattr(cls, "sample", None)):
        raise InvalidParameterError(f"A data plug-in must have sample(n, *, rng). Got {cls!r} instead (no 'sample').")
    from pydantic import BaseModel

    model = config or config_from_signature(cls, Model, name)
    keys = [p.name for p in _parameters(cls)]

    def build(cfg: BaseModel) -> PluginSource:
        return PluginSource(cls(**{k: getattr(cfg, k) for k in keys if hasattr(cfg, k)}))

    return (Entry("data", name, _summary(cls, summary), model, build, origin, target=cls))


def _loop(name: str, cls: Any, summary: str | None = None, config: type | None = None, needs: Iterable[str] = (), *, origin: str) -> Entry:
    from pydantic import create_model

    from autophagy.loops.policy import LoopConfig

    if not (isinstance(cls, type) and issubclass(cls, LoopConfig)):
        raise InvalidParameterError(f"A loop plug-in must be a subclass of autophagy.loops.LoopConfig with plan(t). Got {cls!r} instead.")
    model = create_model(cls.__name__, __base__=cls, __module__=cls.__module__, kind=(str, name))
    return (Entry("loop", name, _summary(cls, summary), model, lambda cfg: cfg, origin, target=cls))


def _metric(name: str, fn: Any, summary: str | None = None, config: type | None = None, needs: Iterable[str] = (), *, origin: str) -> Entry:
    if not callable(fn):
        raise InvalidParameterError(f"A metric plug-in must be a function of an EvalContext. Got {fn!r} instead.")
    wanted = frozenset(needs) | frozenset(getattr(fn, "needs", ()))
    unknown = wanted - set(CAPABILITIES)
    if unknown:
        raise InvalidParameterError(f"The 'needs' parameter must be a set of {sorted(CAPABILITIES)}. Got {sorted(unknown)} instead.")
    return (Entry("metric", name, _summary(fn, summary), None, fn, origin, needs=wanted, target=fn))


def _stage(name: str, cls: Any, summary: str | None = None, config: type | None = None, needs: Iterable[str] = (), *, origin: str) -> Entry:
    if not callable(cls):
        raise InvalidParameterError(f"A stage plug-in must be a class whose instances are called as stage(batch, *, rng). Got {cls!r} instead.")
    model = config or config_from_signature(cls, Model, name)
    keys = [p.name for p in _parameters(cls)]

    def build(cfg: Any) -> Any:
        return cls(**{k: getattr(cfg, k) for k in keys if hasattr(cfg, k)})

    return Entry("stage", name, _summary(cls, summary), model, build, origin, target=cls)


#: What each group makes of a user's object: ``ADAPTERS[group](name, obj, summary, config, needs, origin=...)``.
ADAPTERS: dict[str, Callable[..., Entry]] = {
    "data": _data,
    "generator": _generator,
    "loop": _loop,
    "metric": _metric,
    "stage": _stage,
}
