"""Reading scenario TOML files: ``extends`` chains, data-file paths, one-line errors.

A scenario file may extend another (relative path); later files override earlier ones table by
table (:func:`deep_merge`). Errors name the file of the chain that holds the fault, the field,
the expected and the got value (DESIGN.md §2.7).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reformsim.errors import ScenarioError
from reformsim.scenario import DATA_FILE_FIELDS, Scenario
from reformsim.scenario_errors import clip, format_validation_error, short


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base`` recursively; tables merge, everything else replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class _FileError(Exception):
    """A problem located in one file of an ``extends`` chain (turned into a ScenarioError)."""

    def __init__(self, detail: str, where: Path) -> None:
        super().__init__(detail)
        self.detail = detail
        self.where = where


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if rel.startswith("..") else rel


_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")
_TOML_HEADER = re.compile(r"^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=(.*)$")
_BARE_WORD = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_\-]*)\s*(#.*)?$")


def _toml_key_at(lines: list[str], lineno: int) -> str | None:
    """Best-effort dotted key set on line ``lineno`` (1-based), from the table headers above."""
    if not 1 <= lineno <= len(lines):
        return None
    table = ""
    for text in lines[: lineno - 1]:
        m = _TOML_HEADER.match(text)
        if m:
            table = ".".join(part.strip().strip("\"'") for part in m.group(1).split("."))
            table += "[]" if text.lstrip().startswith("[[") else ""
    m = _TOML_KEY.match(lines[lineno - 1])
    if not m:
        return None
    key = ".".join(part.strip().strip("\"'") for part in m.group(1).split("."))
    return f"{table}.{key}" if table else key


def _toml_syntax_message(exc: tomllib.TOMLDecodeError, text: str) -> str:
    """One line for a TOML syntax error: the key (or line), what TOML expects, the line given."""
    raw = str(exc)
    lines = text.splitlines()
    m = _TOML_AT.search(raw)
    if m:
        lineno, colno = int(m.group(1)), int(m.group(2))
        reason = raw[: m.start()]
    else:
        lineno, colno = len(lines), 0
        reason = _TOML_END.sub("", raw)
    reason = reason[:1].lower() + reason[1:] if reason else "syntax error"
    line = lines[lineno - 1].strip() if 1 <= lineno <= len(lines) else ""
    key = _toml_key_at(lines, lineno)
    where = f"{key} (line {lineno})" if key else f"line {lineno}, column {colno}"
    if key and reason.startswith("invalid value"):
        value = _TOML_KEY.match(lines[lineno - 1]).group(2)  # type: ignore[union-attr]
        bare = _BARE_WORD.match(value)
        if bare:
            reason = f'strings need quotes: {key.rsplit(".", 1)[-1]} = "{bare.group(1)}"'
    elif reason.startswith("cannot overwrite a value"):
        reason = "each key set only once per table; this key is set a second time"
    got = repr(line) if line else "end of file"
    return f"{where}: expected valid TOML ({reason}), got {clip(got)}"


def _read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file; every failure is a one-line :class:`_FileError`."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise _FileError("expected an existing scenario file, got no such file", path) from None
    except IsADirectoryError:
        raise _FileError("expected a scenario file, got a directory", path) from None
    except OSError as exc:
        raise _FileError(f"expected a readable file, got {exc.strerror or exc}", path) from None
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        lineno = blob.count(b"\n", 0, exc.start) + 1
        lines = blob.decode("utf-8", errors="replace").splitlines()
        key = _toml_key_at(lines, lineno)
        where = f"{key} (line {lineno})" if key else f"line {lineno}"
        bad = blob[exc.start : exc.end + 1]
        raise _FileError(
            f"{where}: expected UTF-8 text, got bytes {bad!r} "
            f"(save the file as UTF-8, not GBK or another encoding)",
            path,
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _FileError(_toml_syntax_message(exc, text), path) from None


def _read_chain(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Read the files of an ``extends`` chain, base first, each with ``extends`` removed."""
    current = path
    chain: list[tuple[Path, dict[str, Any]]] = []
    while True:
        data = _read_toml(current)
        chain.append((current, data))
        parent = data.pop("extends", None)
        if parent is None:
            return chain[::-1]
        if not isinstance(parent, str):
            raise _FileError(
                f"extends: expected a file name (string), got {short(parent)}", current
            )
        target = (current.parent / parent).resolve()
        seen = [p for p, _ in chain]
        if target in seen:
            cycle = " -> ".join(p.name for p in (*seen[seen.index(target) :], target))
            what = "a file other than this one" if target == current else "no cycle"
            raise _FileError(f"extends: expected {what}, got {parent!r} ({cycle})", current)
        if target.is_dir():
            raise _FileError(
                f"extends: expected a scenario file, got {parent!r} (a directory: {target})",
                current,
            )
        if not target.exists():
            siblings = (
                [p.name for p in target.parent.glob("*.toml")] if target.parent.is_dir() else []
            )
            close = difflib.get_close_matches(target.name, siblings, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise _FileError(
                f"extends: expected an existing scenario file, got {parent!r} "
                f"(no such file: {target}{hint})",
                current,
            )
        current = target


def _error(detail: str, where: Path, top: Path, source: str) -> ScenarioError:
    """Build a ScenarioError for the named file, saying which extended file holds the fault."""
    if where != top:
        detail = f"{detail} (in {display_path(where)})"
    return ScenarioError(detail, source=source)


def _merged_chain(path: str | Path) -> tuple[Path, list[tuple[Path, dict[str, Any]]], dict[str, Any]]:
    """Read a file and its ``extends`` ancestors; return (file, chain, merged data)."""
    top = Path(path).resolve()
    try:
        chain = _read_chain(top)
    except _FileError as exc:
        raise _error(exc.detail, exc.where, top, str(path)) from None
    data: dict[str, Any] = {}
    for file, layer in chain:
        data = deep_merge(data, _with_data_paths(layer, file.parent))
    return top, chain, data


def _with_data_paths(layer: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Resolve ``catalog.file`` and ``territory.file`` of one file against its directory."""
    out = dict(layer)
    for table, key in DATA_FILE_FIELDS:
        spec = out.get(table)
        if isinstance(spec, dict) and isinstance(spec.get(key), str) and spec[key]:
            out[table] = {**spec, key: os.path.normpath(folder / spec[key])}
    return out


def resolve_extends(path: str | Path) -> dict[str, Any]:
    """Read a TOML scenario and merge it over the file named by its ``extends`` key.

    ``extends`` is resolved relative to the extending file. Cycles and missing targets are
    reported as :class:`~reformsim.errors.ScenarioError` naming the ``extends`` field.
    """
    return _merged_chain(path)[2]


def load_scenario(path: str | Path) -> Scenario:
    """Load, merge (``extends``) and validate a TOML scenario file.

    ``catalog.file`` and ``territory.file`` are resolved against the directory of the file that
    names them and the CSV files are read and checked (``reformsim.district_csv``).

    Raises
    ------
    ScenarioError
        With one line naming the field, the expected and the got value. When the faulty value
        comes from a file named by ``extends``, the message says which file. A fault in a CSV
        file names that file, the row, the line and the column.
    """
    top, chain, data = _merged_chain(path)
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        detail = format_validation_error(exc, data)
        origin = _origin(detail, chain)
        if origin is not None:
            detail += _merge_note(detail, origin, chain)
        raise _error(detail, origin or top, top, str(path)) from None
    if sc.catalog.file is not None or sc.territory.file is not None:
        from reformsim.district_csv import read_district

        try:
            read_district(sc)
        except ScenarioError as exc:
            if exc.source is None:  # the file itself is missing or unreadable
                raise ScenarioError(exc.detail, source=str(path)) from None
            raise ScenarioError(f"{exc.detail} (read by {path})", source=exc.source) from None
    return sc


def _field_keys(detail: str) -> list[str]:
    """Return the table keys of the field that starts a message (up to any list index)."""
    field = detail.split(": ", 1)[0].split(" ", 1)[0].split("[", 1)[0]
    return [k for k in field.split(".") if k]


def _lookup(layer: dict[str, Any], keys: list[str]) -> tuple[bool, Any]:
    node: Any = layer
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return False, None
        node = node[k]
    return True, node


def _origin(detail: str, chain: list[tuple[Path, dict[str, Any]]]) -> Path | None:
    """Return the last file of the chain that sets the field that starts ``detail``."""
    keys = _field_keys(detail)
    for file, layer in reversed(chain):
        if _lookup(layer, keys)[0]:
            return file
    return None


def _merge_note(detail: str, origin: Path, chain: list[tuple[Path, dict[str, Any]]]) -> str:
    """Say which keys of a faulty table were merged in from an extended file, if any."""
    keys = _field_keys(detail)
    files = [f for f, _ in chain]
    own = _lookup(chain[files.index(origin)][1], keys)[1]
    if not isinstance(own, dict):
        return ""
    merged: dict[str, Path] = {}
    for file, layer in chain[: files.index(origin)]:
        found, node = _lookup(layer, keys)
        if found and isinstance(node, dict):
            merged.update({k: file for k in node if k not in own})
    if not merged:
        return ""
    names = ", ".join(sorted(merged))
    where = ", ".join(sorted({display_path(f) for f in merged.values()}))
    return f" (tables merge over the extended file: {names} came from {where})"


def scenario_from_dict(data: dict[str, Any], source: str | None = None) -> Scenario:
    """Validate a plain mapping into a :class:`Scenario` (no ``extends`` handling)."""
    if "extends" in data:
        raise ScenarioError(
            "extends: expected no extends in a mapping (only load_scenario reads files), "
            f"got {short(data['extends'])}",
            source,
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, data), source=source) from None


