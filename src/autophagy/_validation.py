"""Declarative config validation with one canonical message.

Every config group is a frozen pydantic model that forbids unknown keys and non-finite floats.
Errors are turned into :class:`~autophagy.exceptions.InvalidParameterError` with the message
form ``The 'loop.n_real' parameter must be <allowed>. Got <value> instead.``: one line, the
value shortened to at most :data:`MAX_SHOWN` characters (:func:`short`), pydantic's wording
translated into a sentence (:func:`predicate`).

Beyond what pydantic checks, :func:`validate` refuses, anywhere in a config: an int outside
±(2**63 - 1) (sizes and seeds feed int64 arrays and numpy), a NaN or infinite float, and a bool
where a number is expected (pydantic would read ``true`` as 1). Config files are read by
:func:`load_yaml` (UTF-8; errors name the file), YAML text by :func:`load_yaml_text`, which
refuses duplicate keys and alias bombs; :func:`apply_overrides` applies ``key=value`` overrides.
"""

from __future__ import annotations

import builtins
import copy
import itertools
import math
import reprlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from autophagy.exceptions import InvalidParameterError

#: The longest value a message quotes, in characters; a longer one is shortened.
MAX_SHOWN = 120
#: The largest int a config may hold: seeds and sizes end up in int64 arrays.
MAX_INT = 2**63 - 1


class Model(BaseModel):
    """Base of every config model: frozen, unknown keys rejected, NaN and ±inf rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _Short(reprlib.Repr):
    """``repr`` bounded in work and length: a few items per container, a few levels deep, dicts
    in their own order (``reprlib`` sorts them), no int of thousands of digits spelled out."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxdict = 3, 4
        self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = self.maxdeque = 6
        self.maxstring = self.maxother = MAX_SHOWN
        self.maxlong = 40

    def repr_dict(self, x: dict[Any, Any], level: int) -> str:
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        items = [f"{self.repr1(k, level - 1)}: {self.repr1(v, level - 1)}" for k, v in itertools.islice(x.items(), self.maxdict)]
        return "{" + ", ".join(items + (["..."] if len(x) > self.maxdict else [])) + "}"

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 4000:  # str() of such an int raises (Python's digit limit)
            return f"<an integer of about {int(x.bit_length() * math.log10(2)) + 1} digits>"
        return super().repr_int(x, level)


_SHORT = _Short()


def short(value: Any) -> str:
    """``repr(value)`` in at most :data:`MAX_SHOWN` characters (``...`` marks what is left out)."""
    try:
        text = _SHORT.repr(value)
    except Exception:  # a plug-in object whose repr fails
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())  # one line
    if len(text) > MAX_SHOWN:
        half = (MAX_SHOWN - 3) // 2
        text = text[:half] + "..." + text[len(text) - (MAX_SHOWN - 3 - half) :]
    return text


def _dotted(prefix: str, loc: Iterable[Any], model: type[BaseModel] | None = None) -> str:
    """The dotted key of a pydantic ``loc`` under ``model``: its fields are kept, the members of a
    union it names on the way (``list[float]``, ``PowerLawCov``, ``literal['identity']``) dropped."""
    parts = [prefix] if prefix else []
    current = model
    for part in loc:
        if current is not None and isinstance(part, str) and part in current.model_fields:
            parts.append(part)
            annotation = current.model_fields[part].annotation
            current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
            continue
        current = None
        if not _is_union_tag(part):
            parts.append(str(part))
    return ".".join(parts)


def _is_union_tag(part: Any) -> bool:
    """Whether a ``loc`` entry outside a known model names a member of a union rather than a key
    (config keys are lower case)."""
    if not isinstance(part, str):
        return False
    return any(c in part for c in "[('") or part in {"str", "int", "float", "bool", "none"} or (part[:1].isupper() and part.isidentifier())


#: Pydantic's error types whose wording does not read as "must <predicate>", with the predicate.
PREDICATES = {
    "int_parsing": "be a valid integer (a whole number)",
    "int_parsing_size": "be a whole number below 2**63",
    "float_parsing": "be a valid number",
    "finite_number": "be a finite number (not NaN or infinite)",
    "bool_parsing": "be true or false",
    "bool_type": "be true or false",
    "string_type": "be text (a string)",
    "dict_type": "be a mapping of keys to values",
    "model_type": "be a mapping of keys to values",
    "model_attributes_type": "be a mapping of keys to values",
    "string_pattern_mismatch": "be text matching the pattern {pattern!r}",
    "string_too_short": "be text of at least {min_length} character(s)",
    "string_too_long": "be text of at most {max_length} characters",
    "too_short": "hold at least {min_length} item(s)",
    "too_long": "hold at most {max_length} item(s)",
}


def predicate(error: Mapping[str, Any]) -> str:
    """What a value must do, as the end of the sentence "The 'key' parameter must ...", from one
    pydantic error entry: "be greater than 0", "be text matching the pattern '...'"."""
    template = PREDICATES.get(str(error.get("type")))
    if template is not None:
        try:
            return template.format(**(error.get("ctx") or {}))
        except (KeyError, IndexError, ValueError):
            pass
    msg = str(error.get("msg", ""))
    for lead in ("Input should be ", "Value error, ", "Assertion failed, "):
        if msg.startswith(lead):
            return "be " + msg[len(lead) :]
    head, sep, rest = msg.partition(" should ")
    if sep and len(head.split()) <= 2:  # "String should match ..." -> "match ..."
        return rest
    return f"be valid ({msg[:1].lower() + msg[1:]})"


def format_error(prefix: str, error: Mapping[str, Any], model: type[BaseModel] | None, root: type[BaseModel] | None = None) -> str:
    """One line for one pydantic error entry (``model``: the model owning the key, ``root``: the
    model validated)."""
    key = _dotted(prefix, error.get("loc", ()), root)
    value = error.get("input")
    raised = (error.get("ctx") or {}).get("error")
    if isinstance(raised, InvalidParameterError):  # a check() inside a model validator
        return str(raised)
    if error.get("type") == "extra_forbidden":
        allowed = sorted(model.model_fields) if model is not None else []
        return (
            f"Unknown key '{key}'. Allowed keys here: {', '.join(allowed)}. "
            f"Got {key.rsplit('.', 1)[-1]}={short(value)}."
        )
    if error.get("type") == "missing":
        return f"The '{key}' parameter is required. Got nothing instead."
    return f"The '{key}' parameter must {predicate(error)}. Got {short(value)} instead."


def validate(model: type[Model], raw: Any, prefix: str = "") -> Any:
    """Validate ``raw`` against ``model``; raise InvalidParameterError on the first problem.

    Before pydantic sees ``raw``, every int is checked to fit in int64 and every float to be
    finite; after, no bool may have been read as a number.
    """
    if not isinstance(raw, Mapping):
        raise InvalidParameterError(
            f"The '{prefix or 'config'}' parameter must be a mapping of keys to values. Got {short(raw)} instead."
        )
    for key, value in _leaves(raw, prefix):
        _check_scalar(key, value)
    try:
        validated = model.model_validate(dict(raw))
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        key = _dotted(prefix, first.get("loc", ()), model)
        text = format_error(prefix, first, _model_at(model, first.get("loc", ())), model)
        same = [e for e in errors if _dotted(prefix, e.get("loc", ()), model) == key and e.get("type") not in ("extra_forbidden", "missing")]
        if len(same) > 1 and text.startswith(f"The '{key}' parameter must "):  # a union: every member's form
            forms = list(dict.fromkeys(predicate(e) for e in same))
            if all(f.startswith("be ") for f in forms):  # "be 'identity', a mapping ... or a valid list"
                forms = ["be " + ", ".join(f[3:] for f in forms[:-1]), forms[-1][3:]]
            text = f"The '{key}' parameter must {' or '.join(forms)}. Got {short(first.get('input'))} instead."
        rest = len(errors) - max(1, len(same))
        more = f" (and {rest} more problem(s))" if rest > 0 else ""
        raise InvalidParameterError(text + more) from None
    _check_numbers(raw, validated, prefix)
    return validated


def _model_at(model: type[BaseModel], loc: Iterable[Any]) -> type[BaseModel] | None:
    """The nested model that owns the last element of ``loc`` (for listing allowed keys)."""
    current: type[BaseModel] | None = model
    for part in list(loc)[:-1]:
        if current is None or not isinstance(part, str) or part not in current.model_fields:
            return current
        annotation = current.model_fields[part].annotation
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return current


def _leaves(raw: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every scalar inside ``raw`` (mappings and lists walked, no recursion)."""
    stack: list[tuple[str, Any]] = [(prefix, raw)]
    while stack:
        key, value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend(reversed([(_join(key, k), v) for k, v in value.items()]))  # in document order
        elif isinstance(value, (list, tuple)):
            stack.extend(reversed([(_join(key, i), v) for i, v in enumerate(value)]))
        else:
            yield key, value


def _check_scalar(key: str, value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise InvalidParameterError(f"The '{key}' parameter must be a whole number below 2**63 (about 9.2e18). Got {short(value)} instead.")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidParameterError(f"The '{key}' parameter must be a finite number (not NaN or infinite). Got {value!r} instead.")


def _check_numbers(raw: Any, validated: Any, key: str) -> None:
    """Walk ``raw`` and what pydantic made of it side by side: a bool read as a number, or a text
    read as a non-finite float (``'nan'``), is refused."""
    stack: list[tuple[str, Any, Any]] = [(key, raw, validated)]
    while stack:
        key, given, made = stack.pop()
        if isinstance(given, bool) and isinstance(made, (int, float)) and not isinstance(made, bool):
            kind = "a whole number" if isinstance(made, int) else "a number"
            raise InvalidParameterError(f"The '{key}' parameter must be {kind}, not true or false. Got {given!r} instead.")
        if isinstance(made, float) and not math.isfinite(made):
            raise InvalidParameterError(f"The '{key}' parameter must be a finite number (not NaN or infinite). Got {short(given)} instead.")
        if isinstance(given, Mapping) and isinstance(made, BaseModel):
            fields = type(made).model_fields
            stack.extend((_join(key, k), v, getattr(made, k)) for k, v in given.items() if isinstance(k, str) and k in fields)
        elif isinstance(given, Mapping) and isinstance(made, Mapping):
            stack.extend((_join(key, k), v, made[k]) for k, v in given.items() if k in made)
        elif isinstance(given, (list, tuple)) and isinstance(made, (list, tuple)) and len(given) == len(made):
            stack.extend((_join(key, i), g, m) for i, (g, m) in enumerate(zip(given, made, strict=True)))


def _join(key: str, part: Any) -> str:
    return f"{key}.{part}" if key else str(part)


def check(condition: bool, key: str, allowed: str, value: Any) -> None:
    """Raise the canonical InvalidParameterError unless ``condition`` holds."""
    if not condition:
        raise InvalidParameterError(f"The '{key}' parameter must be {allowed}. Got {short(value)} instead.")


# --- YAML --------------------------------------------------------------------------------------

#: How many nodes aliases may add to a YAML document (a "billion laughs" adds billions).
ALIAS_BUDGET = 100_000
#: How deep a YAML document may nest (a config nests a few levels).
MAX_DEPTH = 64


class YAMLRefused(yaml.YAMLError):
    """A YAML document that parses but is refused (a duplicate key, an alias bomb); the message
    is a sentence that :func:`load_yaml_text` puts after the document's name."""


_Base: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser where installed


class SafeLoader(_Base):  # type: ignore[misc, valid-type]
    """``yaml.SafeLoader`` (libyaml's where installed) that refuses a key given twice in one
    mapping, documents whose aliases expand to more than :data:`ALIAS_BUDGET` extra nodes or
    refer to themselves, and nesting deeper than :data:`MAX_DEPTH`."""

    def construct_document(self, node: yaml.Node) -> Any:
        _check_expansion(node)
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            lines: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *base' keys may be overridden
                    continue
                key, line = self.construct_object(key_node, deep=deep), key_node.start_mark.line + 1
                try:
                    first = lines.get(key)
                except TypeError:  # an unhashable key: the base class refuses it
                    continue
                if first is not None:
                    where = f"line {line}" if first == line else f"lines {first} and {line}"
                    raise YAMLRefused(f"gives the key {short(key)} twice ({where}); keep one")
                lines[key] = line
        return super().construct_mapping(node, deep=deep)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Count the nodes the document expands to (an alias counts its whole anchor again), without
    recursion; refuse cycles, deep nesting and an alias expansion over the budget."""
    size: dict[int, int] = {}
    open_: set[int] = set()
    distinct = 0
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack[-1]
        if depth > MAX_DEPTH:
            raise YAMLRefused(f"nests more than {MAX_DEPTH} levels deep")
        ident = id(node)
        if ident in size:
            stack.pop()
        elif ident not in open_:
            open_.add(ident)
            distinct += 1
            for child in _children(node):
                if id(child) in open_:
                    raise YAMLRefused("holds an alias to a node that contains it (a recursive structure)")
                if id(child) not in size:
                    stack.append((child, depth + 1))
        else:
            stack.pop()
            open_.discard(ident)
            size[ident] = 1 + sum(size[id(c)] for c in _children(node))
            if size[ident] - distinct > ALIAS_BUDGET:
                raise YAMLRefused(
                    f"expands its aliases (*name) to more than {ALIAS_BUDGET:,} extra values (an alias bomb); write the values out instead"
                )


def load_yaml_text(text: str, name: str) -> Any:
    """Parse YAML ``text`` with :class:`SafeLoader`; errors are one line starting with ``name``
    (e.g. "Config file 'x.yaml'").

    Raises:
        InvalidParameterError: the text is not YAML, or is refused by :class:`SafeLoader`.
    """
    try:
        return yaml.load(text, Loader=SafeLoader)  # noqa: S506 (a safe loader)
    except YAMLRefused as exc:
        raise InvalidParameterError(f"{name} {exc}.") from None
    except yaml.YAMLError as exc:
        raise InvalidParameterError(f"{name} is not valid YAML: {_yaml_problem(exc)}.") from None
    except RecursionError:
        raise InvalidParameterError(f"{name} nests too deeply to be read.") from None
    except ValueError as exc:  # e.g. an int of more digits than Python converts
        raise InvalidParameterError(f"{name} is not valid YAML: {builtins.str(exc)[:200]}") from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's error as one clause: the problem and where (line, column counted from 1)."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem is None:
        return " ".join(str(exc).split())[:200]
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    context = getattr(exc, "context", None)
    return f"{context + ', ' if context else ''}{problem}{where}"


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping from a UTF-8 file; every error is one line naming the file (see
    :func:`load_yaml_text` for what is refused)."""
    path = Path(path)
    named = f"Config file {short(str(path))}"
    if not path.is_file():
        raise InvalidParameterError(f"{named} does not exist.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidParameterError(
            f"{named} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); save it as UTF-8."
        ) from None
    except OSError as exc:
        raise InvalidParameterError(f"{named} cannot be read ({type(exc).__name__}: {exc.strerror or exc}).") from None
    raw = load_yaml_text(text, named)
    if not isinstance(raw, dict):
        raise InvalidParameterError(f"{named} must hold a mapping of keys to values.")
    return raw


def apply_overrides(raw: Mapping[str, Any], overrides: list[str] | dict[str, Any]) -> dict[str, Any]:
    """Apply ``key=value`` overrides (dotted keys; values parsed as YAML, see :func:`split_override`)."""
    out = copy.deepcopy(dict(raw))
    items = overrides.items() if isinstance(overrides, dict) else (split_override(o) for o in overrides)
    for key, value in items:
        parts = key.split(".") if isinstance(key, str) else [""]
        if not all(p.strip() for p in parts):
            raise InvalidParameterError(f"An override must look like key=value with a dotted key such as generator.bias. Got the key {short(key)} instead.")
        node: Any = out
        for i, part in enumerate(parts):
            slot = _slot(node, part, key, parts[i - 1] if i else "")
            if i == len(parts) - 1:
                node[slot] = value
            else:
                if isinstance(node, dict) and node.get(slot) is None:
                    node[slot] = {}
                node = node[slot]
    return out


def _slot(node: Any, part: str, key: str, parent: str) -> Any:
    """Where ``part`` of an override's ``key`` goes in ``node``: a key of a mapping, or the index
    of a list item (``web.lineages.0.count``)."""
    if isinstance(node, dict):
        return part
    if isinstance(node, list):
        if part.isdigit() and int(part) < len(node):
            return int(part)
        raise InvalidParameterError(f"Cannot set '{key}': '{parent}' is a list of {len(node)} items, so '{part}' must be an index 0..{len(node) - 1}.")
    raise InvalidParameterError(f"Cannot set '{key}': '{parent}' is not a group of keys.")


def split_override(text: str) -> tuple[str, Any]:
    """``"key=value"`` as (key, value parsed as YAML; None for an empty value)."""
    if "=" not in text:
        raise InvalidParameterError(f"An override must look like key=value. Got {short(text)} instead.")
    key, value = text.split("=", 1)
    return key.strip(), load_yaml_text(value, f"The override {short(text)}") if value.strip() else None
