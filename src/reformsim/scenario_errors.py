"""One-line messages for validation errors: field, expected, got (DESIGN.md §2.7).

Used for scenario files and for experiment files (sweeps, sensitivity studies), whose schemas pass
their own root model.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Any

from pydantic import BaseModel, ValidationError


def did_you_mean(word: str, options: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or an empty string."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def format_validation_error(exc: ValidationError, data: Any = None,
                            root: type[BaseModel] | None = None) -> str:
    """Turn pydantic's first error into one line: field, expected, got.

    Parameters
    ----------
    exc
        The validation error.
    data
        The validated mapping, if available: list items with an ``id`` are then named by it
        (``population.sectors[retail].share``) instead of by position.
    root
        The schema that was validated (default :class:`Scenario`); unknown keys are listed
        against it.
    """
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = _format_loc(first["loc"], data)
    kind = first["type"]
    got = first.get("input")
    more = f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    if kind == "extra_forbidden":
        key = str(first["loc"][-1])
        allowed = sorted(allowed_fields(first["loc"][:-1], root))
        expected = f"one of {', '.join(allowed)}" if allowed else "no such key"
        hint = did_you_mean(key, allowed)
        return f"{loc}: expected {expected}, got unknown key {key!r}{hint}{more}"
    if kind in ("value_error", "assertion_error"):
        msg = str(first["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return msg + more if ":" in msg.split(" ")[0] else f"{loc}: {msg}{more}"
    if kind == "missing":
        return f"{loc}: expected a value (required field), got nothing{more}"
    expected = _expected_phrase(first)
    kind_of = f" ({_toml_type(got)})" if kind.endswith("_type") else ""
    return f"{loc}: expected {expected}, got {short(got)}{kind_of}{more}"


_TYPE_PHRASES = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a table",
    "model_type": "a table",
    "list_type": "a list",
}


def _expected_phrase(err: Any) -> str:
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind in _TYPE_PHRASES:
        return _TYPE_PHRASES[kind]
    if kind == "greater_than_equal":
        return f"a number >= {ctx.get('ge')}"
    if kind == "greater_than":
        return f"a number > {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"a number <= {ctx.get('le')}"
    if kind == "less_than":
        return f"a number < {ctx.get('lt')}"
    if kind == "finite_number":
        return "a finite number"
    if kind == "literal_error":
        return f"one of {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return "a lower-case identifier (letters, digits, _)"
    if kind == "too_short":
        return f"at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} item(s)"
    msg = str(err["msg"]).removeprefix("Input should be ")
    return msg[:1].lower() + msg[1:]


def _toml_type(value: Any) -> str:
    """Name the kind of a value in TOML words."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _toml_repr(value: Any) -> str:
    """Write a value the way TOML writes it (true, nan, inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_repr(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_repr(v) for v in value) + "]"
    return repr(value)


def clip(text: str, width: int = 60) -> str:
    """Collapse whitespace and cut ``text`` to ``width`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def short(value: Any) -> str:
    """A value as TOML writes it, clipped for a one-line message."""
    return clip(_toml_repr(value))


def _format_loc(loc: tuple[Any, ...], data: Any = None) -> str:
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{_item_name(node, part)}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
        else:
            out += ("." if out else "") + str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def _item_name(items: Any, index: int) -> str:
    """Name a list item by its ``id`` when valid and unique, else by its position."""
    if not isinstance(items, list) or not 0 <= index < len(items):
        return str(index)
    ids = [it.get("id") if isinstance(it, dict) else None for it in items]
    name = ids[index]
    if isinstance(name, str) and re.fullmatch(r"[a-z][a-z0-9_]*", name) and ids.count(name) == 1:
        return name
    return str(index)


def allowed_fields(loc: tuple[Any, ...], root: type[BaseModel] | None = None) -> list[str]:
    """The keys allowed at ``loc`` (a pydantic error location) of a schema (default: Scenario)."""
    if root is None:
        from reformsim.scenario import Scenario

        root = Scenario
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        inner = [a for a in (ann, *getattr(ann, "__args__", ()))
                 if isinstance(a, type) and issubclass(a, BaseModel)]
        if not inner:
            return []
        model = inner[0]
    return list(getattr(model, "model_fields", {}).keys())
