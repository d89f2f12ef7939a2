"""Declarative config validation with one canonical message.

Every config group is a frozen pydantic model that forbids unknown keys. Errors are turned
into :class:`~autophagy.exceptions.InvalidParameterError` with the message form
``The 'loop.n_real' parameter must be <allowed>. Got <value> instead.``
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from autophagy.exceptions import InvalidParameterError


class Model(BaseModel):
    """Base of every config model: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _dotted(prefix: str, loc: Iterable[Any]) -> str:
    parts = [prefix] if prefix else []
    parts += [str(p) for p in loc]
    return ".".join(parts)


def _allowed(msg: str) -> str:
    """Rewrite pydantic's 'Input should be X' into 'must be X'."""
    for lead in ("Input should be ", "Value error, ", "Assertion failed, "):
        if msg.startswith(lead):
            return msg[len(lead) :]
    return msg[:1].lower() + msg[1:]


def format_error(prefix: str, error: Mapping[str, Any], model: type[BaseModel] | None) -> str:
    """One line for one pydantic error entry."""
    key = _dotted(prefix, error.get("loc", ()))
    value = error.get("input")
    raised = (error.get("ctx") or {}).get("error")
    if isinstance(raised, InvalidParameterError):  # a check() inside a model validator
        return str(raised)
    if error.get("type") == "extra_forbidden":
        allowed = sorted(model.model_fields) if model is not None else []
        return (
            f"Unknown key '{key}'. Allowed keys here: {', '.join(allowed)}. "
            f"Got {key.rsplit('.', 1)[-1]}={value!r}."
        )
    if error.get("type") == "missing":
        return f"The '{key}' parameter is required. Got nothing instead."
    return f"The '{key}' parameter must be {_allowed(str(error.get('msg', '')))}. Got {value!r} instead."


def validate(model: type[Model], raw: Any, prefix: str = "") -> Any:
    """Validate ``raw`` against ``model``; raise InvalidParameterError on the first problem."""
    if not isinstance(raw, Mapping):
        raise InvalidParameterError(
            f"The '{prefix or 'config'}' parameter must be a mapping of keys to values. "
            f"Got {raw!r} instead."
        )
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        errors = exc.errors()
        first = format_error(prefix, errors[0], _model_at(model, errors[0].get("loc", ())))
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise InvalidParameterError(first + more) from None


def _model_at(model: type[BaseModel], loc: Iterable[Any]) -> type[BaseModel] | None:
    """The nested model that owns the last element of ``loc`` (for listing allowed keys)."""
    current: type[BaseModel] | None = model
    for part in list(loc)[:-1]:
        if current is None or not isinstance(part, str) or part not in current.model_fields:
            return current
        annotation = current.model_fields[part].annotation
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return current


def check(condition: bool, key: str, allowed: str, value: Any) -> None:
    """Raise the canonical InvalidParameterError unless ``condition`` holds."""
    if not condition:
        raise InvalidParameterError(f"The '{key}' parameter must be {allowed}. Got {value!r} instead.")
