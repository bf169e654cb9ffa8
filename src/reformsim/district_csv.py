"""Bring your own district: the matter catalogue (权责清单) and the territory from CSV files.

A scenario names the files with ``[catalog] file = "..."`` and ``[territory] file = "..."``
(relative to the scenario file). The catalogue CSV has one row per enforcement matter; the
territory CSV has one row per grid (网格) with its area (片区), coordinates, residents and
enterprises by sector. Both formats are documented column by column in ``docs/scenarios.md``
("Bring your own district"). :func:`export_district` writes any scenario's generated world in
the same two formats, so a generated district can be edited and loaded back.

Every fault is a :class:`~reformsim.errors.ScenarioError` on one line naming the CSV file, the
data row (1-based, header excluded) with its line in the file, the column, the expected and the
got value::

    data/x_catalog.csv: row 3 (line 4), column complexity_hours: expected a number > 0, got '-1'
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from reformsim.errors import ScenarioError
from reformsim.scenario import Scenario
from reformsim.scenario_errors import clip
from reformsim.scenario_files import display_path

if TYPE_CHECKING:
    from reformsim.model import ReformModel

CATALOG_REQUIRED = ("matter_id", "domain", "frequency_weight", "complexity_hours", "delegated",
                    "ambiguous", "negative_list")
CATALOG_OPTIONAL = ("name_zh", "severity", "visibility")
TERRITORY_REQUIRED = ("grid_id", "area", "x_km", "y_km", "residents")
TERRITORY_OPTIONAL = ("name_zh", "size_weight")
SECTOR_PREFIX = "enterprises_"


@dataclass(frozen=True)
class CatalogTable:
    """A catalogue CSV, validated: one entry per matter, in file order.

    ``domain`` holds domain indices into ``scenario.domains``; ``severity`` and ``visibility`` are
    None when their (optional) columns are absent.
    """

    ids: tuple[str, ...]
    names: tuple[str, ...]
    domain: np.ndarray
    frequency: np.ndarray
    complexity: np.ndarray
    severity: np.ndarray | None
    visibility: np.ndarray | None
    delegated: np.ndarray
    ambiguous: np.ndarray
    negative: np.ndarray


@dataclass(frozen=True)
class TerritoryTable:
    """A territory CSV, validated: one entry per grid, in file order.

    ``area`` is 0-based (the file's 1-based area minus one); ``enterprises`` has one column per
    sector of ``scenario.sector_specs``; ``size_weight`` is None when its column is absent.
    """

    ids: tuple[str, ...]
    names: tuple[str, ...]
    area: np.ndarray
    xy: np.ndarray
    size_weight: np.ndarray | None
    residents: np.ndarray
    enterprises: np.ndarray

    @property
    def n_grids(self) -> int:
        """Number of grids (rows)."""
        return len(self.ids)


# ---------------------------------------------------------------- cells


class _Bad(Exception):
    """A cell that does not parse: what was expected, and a hint to print after the got value."""

    def __init__(self, expected: str, hint: str = "") -> None:
        super().__init__(expected)
        self.expected = expected
        self.hint = hint


def _number(lo: float | None = None, hi: float | None = None, lo_open: bool = False,
            note: str = "") -> Callable[[str], float]:
    if lo is not None and hi is not None:
        what = f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}]"
    elif lo is not None:
        what = f"a number {'>' if lo_open else '>='} {lo:g}"
    else:
        what = "a number"
    what += note

    def parse(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise _Bad(what) from None
        if not math.isfinite(x) or (lo is not None and (x <= lo if lo_open else x < lo)) or (
                hi is not None and x > hi):
            raise _Bad(what)
        return x

    return parse


def _count(text: str) -> int:
    try:
        x = int(text)
    except ValueError:
        raise _Bad("an integer >= 0") from None
    if x < 0:
        raise _Bad("an integer >= 0")
    return x


def _bool(text: str) -> bool:
    low = text.lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise _Bad("true, false, 1 or 0")


def _text(text: str) -> str:
    if not text:
        raise _Bad("a non-empty text")
    return text


def _any_text(text: str) -> str:
    return text


def _one_of(ids: list[str], field: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if text in ids:
            return ids.index(text)
        raise _Bad(f"one of {field} ({', '.join(ids)})", did_you_mean(text, ids))

    return parse


def _area(n_areas: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            x = int(text)
        except ValueError:
            x = 0
        if not 1 <= x <= n_areas:
            raise _Bad(f"an area number 1..{n_areas} (territory.n_areas)")
        return x - 1

    return parse


# ---------------------------------------------------------------- reading a table


def _fail(path: Path, where: str, expected: str, got: str) -> ScenarioError:
    return ScenarioError(f"{where}: expected {expected}, got {got}", source=display_path(path))


def _got(text: str) -> str:
    return repr(clip(text)) if text else "an empty cell"


def _open_rows(path: Path, field: str) -> list[tuple[int, list[str]]]:
    """Read the CSV records, each with the line it ends on; file faults name the scenario field."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"{field}: expected an existing CSV file, got no such file: "
                            f"{display_path(path)}") from None
    except IsADirectoryError:
        raise ScenarioError(f"{field}: expected a CSV file, got a directory: "
                            f"{display_path(path)}") from None
    except OSError as exc:
        raise ScenarioError(f"{field}: expected a readable CSV file, got {exc.strerror or exc}: "
                            f"{display_path(path)}") from None
    try:
        text = blob.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = blob.count(b"\n", 0, exc.start) + 1
        raise _fail(path, f"line {line}", "UTF-8 text (save the CSV as UTF-8, not GBK)",
                    f"bytes {blob[exc.start:exc.end + 1]!r}") from None
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    records = []
    try:
        for cells in reader:
            if any(c.strip() for c in cells):  # blank lines are skipped
                records.append((reader.line_num, [c.strip() for c in cells]))
    except csv.Error as exc:
        raise _fail(path, f"line {reader.line_num}", "valid CSV", f"{exc}") from None
    return records


def _read_table(
    path: Path,
    field: str,
    columns: dict[str, Callable[[str], Any]],
    required: tuple[str, ...],
    unknown_expected: Callable[[str], str | None] = lambda name: None,
) -> tuple[list[str], list[tuple[int, int, dict[str, Any]]]]:
    """Parse a CSV with a header row: (header, [(row, line, {column: value})]).

    ``columns`` maps every allowed column to its cell parser; ``required`` must all be present.
    ``unknown_expected`` may say what an unknown column should be better than the column list.
    """
    records = _open_rows(path, field)
    first = required[0]
    if not records:
        raise _fail(path, f"line 1, column {first}",
                    f"a header row ({', '.join(required)}, ...)", "an empty file")
    head_line, header = records[0]
    where = f"header (line {head_line}), column"
    for name in header:
        if name not in columns:
            expected = unknown_expected(name) or f"one of {', '.join(columns)}"
            raise _fail(path, f"{where} {name or '(blank)'}", expected,
                        f"unknown column {name!r}{did_you_mean(name, list(columns))}")
        if header.count(name) > 1:
            raise _fail(path, f"{where} {name}", "each column once", f"{name!r} twice")
    for name in required:
        if name not in header:
            raise _fail(path, f"{where} {name}", f"a column named {name!r}",
                        f"no such column (header: {clip(','.join(header))})")
    if len(records) == 1:
        raise _fail(path, f"line {head_line + 1}, column {first}", "at least one data row",
                    "none")
    rows = []
    for row, (line, cells) in enumerate(records[1:], start=1):
        at = f"row {row} (line {line}), column"
        if len(cells) > len(header):
            raise _fail(path, f"{at} {len(header) + 1}", f"{len(header)} cells (one per header "
                        "column)", f"{len(cells)} cells")
        values = {}
        for i, name in enumerate(header):
            cell = cells[i] if i < len(cells) else ""
            try:
                values[name] = columns[name](cell)
            except _Bad as exc:
                raise _fail(path, f"{at} {name}", exc.expected, _got(cell) + exc.hint) from None
        rows.append((row, line, values))
    return header, rows


def _unique(path: Path, rows: list[tuple[int, int, dict[str, Any]]], column: str) -> None:
    first: dict[str, int] = {}
    for row, line, values in rows:
        key = values[column]
        if key in first:
            raise _fail(path, f"row {row} (line {line}), column {column}",
                        f"unique ids (first used at row {first[key]})", repr(key))
        first[key] = row


# ---------------------------------------------------------------- the two formats


#: Parsed tables by (parser, absolute path, SHA-256 of the file's bytes, the scenario fields the
#: parser reads). Every run builds its world again (a sensitivity study builds thousands from the
#: same files, and loading a scenario reads them once to validate): each file is parsed once.
_PARSED: dict[tuple[Any, ...], Any] = {}
_PARSED_MAX = 32


def _parsed(parse: Callable[[Path, Scenario], Any], path: str | Path, sc: Scenario,
            scenario_key: tuple[Any, ...]) -> Any:
    """``parse(path, sc)``, memoised on the file's content and ``scenario_key``; a fresh copy.

    The caller gets its own arrays (the cached table is never handed out). A file that cannot be
    read, or does not parse, is left to ``parse`` (which raises), every time.
    """
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError:
        return parse(path, sc)
    key = (parse.__name__, os.path.abspath(path), hashlib.sha256(blob).digest(), scenario_key)
    table = _PARSED.get(key)
    if table is None:
        table = parse(path, sc)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = table
    return replace(table, **{f.name: getattr(table, f.name).copy() for f in fields(table)
                             if isinstance(getattr(table, f.name), np.ndarray)})


def read_catalog_csv(path: str | Path, sc: Scenario) -> CatalogTable:
    """Read and validate a catalogue CSV (权责清单) against a scenario's domains."""
    key = tuple((d.id, d.violation_weight > 0) for d in sc.domains)
    table = _parsed(_parse_catalog, path, sc, key)
    _check_delegation(Path(path), sc, table)
    return table


def _parse_catalog(path: Path, sc: Scenario) -> CatalogTable:
    """:func:`read_catalog_csv` before the levers' check (reads the domains' ids and weights)."""
    domain_ids = [d.id for d in sc.domains]
    columns: dict[str, Callable[[str], Any]] = {
        "matter_id": _text, "domain": _one_of(domain_ids, "domains[].id"),
        "name_zh": _any_text, "frequency_weight": _number(0.0, lo_open=True),
        "complexity_hours": _number(0.0, lo_open=True),
        "severity": _number(0.0, 1.0), "visibility": _number(0.0, 1.0),
        "delegated": _bool, "ambiguous": _bool, "negative_list": _bool,
    }
    header, rows = _read_table(path, "catalog.file", columns, CATALOG_REQUIRED)
    _unique(path, rows, "matter_id")
    for row, line, v in rows:
        if v["delegated"] and v["negative_list"]:
            raise _fail(path, f"row {row} (line {line}), column delegated",
                        "false for a matter on the negative list (negative_list = true)",
                        "true")
    domain = np.array([v["domain"] for _, _, v in rows], dtype=np.int64)
    for d, spec in enumerate(sc.domains):
        if spec.violation_weight > 0 and not (domain == d).any():
            raise _fail(path, "column domain", "at least one matter for every domain with "
                        "violation_weight > 0", f"none for {spec.id!r}")

    def col(name: str, dtype: Any) -> np.ndarray | None:
        if name not in header:
            return None
        return np.array([v[name] for _, _, v in rows], dtype=dtype)

    table = CatalogTable(
        ids=tuple(v["matter_id"] for _, _, v in rows),
        names=tuple(v.get("name_zh", "") for _, _, v in rows), domain=domain,
        frequency=col("frequency_weight", float), complexity=col("complexity_hours", float),
        severity=col("severity", float), visibility=col("visibility", float),
        delegated=col("delegated", bool), ambiguous=col("ambiguous", bool),
        negative=col("negative_list", bool),
    )
    return table


def _check_delegation(path: Path, sc: Scenario, table: CatalogTable) -> None:
    lv = sc.levers
    eligible = int((~table.negative).sum())
    if lv.delegation_rule != "from_catalog" and lv.delegated_matters > eligible:
        raise ScenarioError(
            f"levers.delegated_matters: expected at most {eligible} (matters of {display_path(path)} "
            f"not on the negative list), got {lv.delegated_matters}"
        )


def read_territory_csv(path: str | Path, sc: Scenario) -> TerritoryTable:
    """Read and validate a territory CSV (grids, areas, residents, enterprises by sector)."""
    terr = sc.territory
    key = (terr.n_areas, terr.width_km, terr.height_km, tuple(s.id for s in sc.sector_specs))
    return _parsed(_parse_territory, path, sc, key)


def _parse_territory(path: Path, sc: Scenario) -> TerritoryTable:
    """:func:`read_territory_csv` uncached (reads the areas, extent and sectors of ``sc``)."""
    terr = sc.territory
    sectors = [s.id for s in sc.sector_specs]
    firm_columns = [SECTOR_PREFIX + s for s in sectors]
    columns: dict[str, Callable[[str], Any]] = {
        "grid_id": _text, "name_zh": _any_text, "area": _area(terr.n_areas),
        "x_km": _number(0.0, terr.width_km, note=" (0 to territory.width_km)"),
        "y_km": _number(0.0, terr.height_km, note=" (0 to territory.height_km)"),
        "size_weight": _number(0.0, lo_open=True), "residents": _count,
        **{c: _count for c in firm_columns},
    }

    def sector_expected(name: str) -> str | None:
        if not name.startswith(SECTOR_PREFIX):
            return None
        return (f"{SECTOR_PREFIX}<sector id> for a sector of population.sectors "
                f"({', '.join(sectors)})")

    header, rows = _read_table(path, "territory.file", columns,
                               (*TERRITORY_REQUIRED, *firm_columns), sector_expected)
    _unique(path, rows, "grid_id")
    area = np.array([v["area"] for _, _, v in rows], dtype=np.int64)
    empty = [a + 1 for a in range(terr.n_areas) if not (area == a).any()]
    if empty:
        raise _fail(path, "column area", f"grids in every area 1..{terr.n_areas} "
                    "(territory.n_areas)", f"none in area {', '.join(map(str, empty))}")
    return TerritoryTable(
        ids=tuple(v["grid_id"] for _, _, v in rows),
        names=tuple(v.get("name_zh", "") for _, _, v in rows), area=area,
        xy=np.array([[v["x_km"], v["y_km"]] for _, _, v in rows], dtype=float),
        size_weight=(np.array([v["size_weight"] for _, _, v in rows], dtype=float)
                     if "size_weight" in header else None),
        residents=np.array([v["residents"] for _, _, v in rows], dtype=np.int64),
        enterprises=np.array([[v[c] for c in firm_columns] for _, _, v in rows],
                             dtype=np.int64).reshape(len(rows), len(sectors)),
    )


def did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def read_district(sc: Scenario) -> tuple[CatalogTable | None, TerritoryTable | None]:
    """Read the scenario's catalogue and territory files (None for each one not set)."""
    catalog = None if sc.catalog.file is None else read_catalog_csv(sc.catalog.file, sc)
    territory = None if sc.territory.file is None else read_territory_csv(sc.territory.file, sc)
    return catalog, territory


# ---------------------------------------------------------------- export


def _fmt(x: Any) -> str:
    """Exact text for a value: ``repr`` of floats reads back to the same float."""
    if isinstance(x, bool | np.bool_):
        return "true" if x else "false"
    if isinstance(x, float | np.floating):
        return repr(float(x))
    return str(x)


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows([_fmt(x) for x in row] for row in rows)


def write_catalog_csv(model: ReformModel, path: str | Path) -> Path:
    """Write a built model's catalogue in the catalogue CSV format (every column)."""
    cat, sc, path = model.catalog, model.config, Path(path)
    header = ["matter_id", "domain", "name_zh", "frequency_weight", "complexity_hours",
              "severity", "visibility", "delegated", "ambiguous", "negative_list"]
    rows = [[cat.ids[i], sc.domains[cat.domain[i]].id, cat.names[i], cat.frequency[i],
             cat.complexity[i], cat.severity[i], cat.visibility[i], cat.delegated[i],
             cat.ambiguous[i], cat.negative[i]] for i in range(cat.n_matters)]
    _write(path, header, rows)
    return path


def write_territory_csv(model: ReformModel, path: str | Path) -> Path:
    """Write a built model's grids in the territory CSV format (every column)."""
    terr, sc, path = model.territory, model.config, Path(path)
    sectors = [s.id for s in sc.sector_specs]
    n = terr.n_grids
    firms = np.zeros((n, len(sectors)), dtype=np.int64)
    np.add.at(firms, (model.enterprises.grid, model.enterprises.sector), 1)
    residents = np.bincount(model.residents.grid, minlength=n)
    header = ["grid_id", "name_zh", "area", "x_km", "y_km", "size_weight", "residents",
              *(SECTOR_PREFIX + s for s in sectors)]
    rows = [[terr.ids[g], terr.names[g], terr.area_of_grid[g] + 1, terr.xy[g, 0], terr.xy[g, 1],
             terr.weight[g], residents[g], *firms[g]] for g in range(n)]
    _write(path, header, rows)
    return path


def export_district(sc: Scenario, out: str | Path, seed: int | None = None,
                    stem: str = "district") -> tuple[Path, Path]:
    """Build a scenario's world and write ``<stem>_catalog.csv`` and ``<stem>_territory.csv``.

    A scenario that names these files (``catalog.file``, ``territory.file``, and otherwise the
    same fields) rebuilds the same world for the same seed, and so gives the same outputs.
    """
    from reformsim.model import ReformModel

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = ReformModel(sc, seed=seed)
    return (write_catalog_csv(model, out / f"{stem}_catalog.csv"),
            write_territory_csv(model, out / f"{stem}_territory.csv"))
