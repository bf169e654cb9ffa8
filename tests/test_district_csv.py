"""Bring your own district: catalogue and territory CSVs load, round-trip and reject bad files.

The bad-file corpus is ``tests/bad_csv/``: each ``<case>.toml`` extends ``good/base.toml`` (a
tiny valid CSV district) and swaps in one bad ``<case>.csv``, described in the TOML's first line.
``EXPECTED.toml`` gives the location the one-line error must name right after the CSV's path
(``row 2 (line 3), column domain``) and other text it must contain.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import reformsim
from reformsim import cli
from reformsim.district_csv import export_district, read_district
from reformsim.model import ReformModel
from reformsim.population import fit_to_counts
from reformsim.scenario_files import display_path, scenario_from_dict

from .conftest import ROOT, SCENARIOS, small

CORPUS = ROOT / "tests" / "bad_csv"
BASE = CORPUS / "good" / "base.toml"
MANIFEST: dict[str, dict] = tomllib.loads((CORPUS / "EXPECTED.toml").read_text(encoding="utf-8"))
CASES = sorted(p.stem for p in CORPUS.glob("*.toml") if p.name != "EXPECTED.toml")
PREFIX = "reformsim: error: "
ROW_AND_COLUMN = re.compile(r"^row \d+ \(line \d+\), column \w+$")


def check_message(message: str, case: str) -> None:
    """'<csv>: <where>: expected ..., got ... (read by <toml>)' plus the manifest's text."""
    exp = MANIFEST[case]
    csv_path = display_path(CORPUS / f"{case}.csv")
    assert "\n" not in message.strip() and "Traceback" not in message, message
    assert message.startswith(f"{csv_path}: {exp['where']}: expected "), (message, exp["where"])
    assert re.search(r": expected .+, got ", message), message
    assert f"(read by {display_path(CORPUS / f'{case}.toml')})" in message or \
        f"(read by {CORPUS / f'{case}.toml'})" in message, message
    for text in exp.get("contains", []):
        assert text in message, (message, text)


# ---------------------------------------------------------------- the corpus


def test_corpus_covers_the_manifest_and_names_rows_and_columns() -> None:
    assert set(MANIFEST) == set(CASES)
    located = [c for c in CASES if ROW_AND_COLUMN.match(MANIFEST[c]["where"])]
    assert len(located) >= 10, located
    for case in CASES:
        first = (CORPUS / f"{case}.toml").read_text(encoding="utf-8").split("\n", 1)[0]
        assert re.match(r"# \S.{10,}", first), (case, first)
        assert (CORPUS / f"{case}.csv").exists(), case


def test_the_good_base_is_valid_and_runs() -> None:
    sc = reformsim.load_scenario(BASE)
    cat, terr = read_district(sc)
    assert cat is not None and terr is not None
    model = ReformModel(sc, seed=1).run()
    assert model.catalog.n_matters == 5 and model.territory.n_grids == 4
    assert model.enterprises.n == int(terr.enterprises.sum()) == 54
    assert model.residents.n == 950
    assert list(model.territory.area_of_grid) == [0, 0, 1, 1]
    assert model.catalog.ids[0] == "M001" and model.territory.names[2] == "西溪第1网格"


@pytest.mark.parametrize("case", CASES)
def test_cli_validate_names_file_row_and_column(case: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(CORPUS / f"{case}.toml")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(PREFIX)
    check_message(lines[0].removeprefix(PREFIX), case)


def test_cli_run_reports_a_bad_csv_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    case = "catalog_unknown_domain"
    assert cli.main(["run", str(CORPUS / f"{case}.toml"), "--quiet"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    check_message(err.removeprefix(PREFIX).strip(), case)


def test_subprocess_validate_corpus_exits_2_without_traceback() -> None:
    files = [f"tests/bad_csv/{c}.toml" for c in CASES]
    env_path = str(ROOT / "src")
    done = subprocess.run([sys.executable, "-m", "reformsim", "validate", *files], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": env_path},
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == len(CASES)
    for case in CASES:
        mine = [ln for ln in lines if ln.startswith(f"{PREFIX}tests/bad_csv/{case}.csv: ")]
        assert len(mine) == 1, (case, lines)
        assert MANIFEST[case]["where"] in mine[0]


def test_missing_csv_names_the_scenario_field(tmp_path: Path) -> None:
    toml = tmp_path / "x.toml"
    toml.write_text(f'extends = "{BASE.as_posix()}"\n[catalog]\nfile = "nope.csv"\n',
                    encoding="utf-8")
    with pytest.raises(reformsim.ScenarioError) as info:
        reformsim.load_scenario(toml)
    msg = str(info.value)
    assert msg.startswith(f"{toml}: catalog.file: expected an existing CSV file, got no such file")
    assert "nope.csv" in msg and "\n" not in msg


def test_from_catalog_needs_a_catalogue_file() -> None:
    with pytest.raises(reformsim.ScenarioError, match=r"^levers.delegation_rule: expected "):
        scenario_from_dict({"levers": {"delegation_rule": "from_catalog"}})


def test_paths_resolve_against_the_file_that_names_them_and_hash_follows_content(
        tmp_path: Path) -> None:
    good = CORPUS / "good"
    (tmp_path / "t.csv").write_text((good / "territory.csv").read_text(encoding="utf-8")
                                    .replace("300", "301"), encoding="utf-8")
    child = tmp_path / "child.toml"
    child.write_text(f'extends = "{BASE.as_posix()}"\n[territory]\nfile = "t.csv"\n',
                     encoding="utf-8")
    base, sc = reformsim.load_scenario(BASE), reformsim.load_scenario(child)
    assert Path(sc.catalog.file) == good / "catalog.csv"  # set in base.toml, under good/
    assert Path(sc.territory.file) == tmp_path / "t.csv"
    assert sc.content_hash() != base.content_hash()
    (tmp_path / "t.csv").write_bytes((good / "territory.csv").read_bytes())
    assert reformsim.load_scenario(child).content_hash() == base.content_hash()


# ---------------------------------------------------------------- round trip


def _same_world(a: ReformModel, b: ReformModel) -> None:
    for f in ("domain", "weight", "frequency", "complexity", "severity", "visibility",
              "ambiguous", "negative", "delegated", "alt_owner"):
        assert np.array_equal(getattr(a.catalog, f), getattr(b.catalog, f)), f
    for f in ("xy", "weight", "area_of_grid", "area_xy", "district_xy"):
        assert np.array_equal(getattr(a.territory, f), getattr(b.territory, f)), f
    for f in ("grid", "sector", "risk_type", "colour", "gain", "pair_dom"):
        assert np.array_equal(getattr(a.enterprises, f), getattr(b.enterprises, f)), f
    for f in ("grid", "elderly", "propensity"):
        assert np.array_equal(getattr(a.residents, f), getattr(b.residents, f)), f


@pytest.mark.parametrize("rule", ["score", "from_catalog"])
def test_export_then_load_rebuilds_the_same_world_and_outputs(rule: str, tmp_path: Path) -> None:
    sc = small("n_street_integrated.toml", {"run": {"days": 20, "warmup_days": 2},
                                             "population": {"n_enterprises": 300,
                                                            "n_residents": 3000}})
    cat, terr = export_district(sc, tmp_path, seed=7)
    loaded = sc.with_updates({"catalog.file": str(cat), "territory.file": str(terr),
                              "levers.delegation_rule": rule})
    a, b = ReformModel(sc, seed=7), ReformModel(loaded, seed=7)
    _same_world(a, b)
    assert b.catalog.delegated.sum() == 350
    same = [json.dumps(reformsim.run(x, seed=7).summary, sort_keys=True) for x in (sc, loaded)]
    assert same[0] == same[1]  # NaN-safe equality of every KPI


def test_cli_export_of_a_csv_district_reloads_identically(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["export-district", str(BASE), "--out", str(tmp_path), "--seed", "3"]) == 0
    paths = capsys.readouterr().out.split()
    assert [Path(p).name for p in paths] == ["base_catalog.csv", "base_territory.csv"]
    again = tmp_path / "again.toml"
    again.write_text(f'extends = "{BASE.as_posix()}"\n[catalog]\nfile = "base_catalog.csv"\n'
                     '[territory]\nfile = "base_territory.csv"\n', encoding="utf-8")
    first, second = reformsim.load_scenario(BASE), reformsim.load_scenario(again)
    _same_world(ReformModel(first, seed=3), ReformModel(second, seed=3))
    export_district(second, tmp_path / "twice", seed=3, stem="base")
    for name in ("base_catalog.csv", "base_territory.csv"):
        assert (tmp_path / name).read_text(encoding="utf-8") == \
            (tmp_path / "twice" / name).read_text(encoding="utf-8")


def test_fit_to_counts_keeps_drawn_order_and_meets_counts() -> None:
    grid = np.array([0, 0, 0, 1, 1, 2])
    sector = np.array([1, 0, 1, 0, 0, 1])
    same = np.zeros((3, 2), dtype=np.int64)
    np.add.at(same, (grid, sector), 1)
    g, s = fit_to_counts(grid, sector, same)
    assert np.array_equal(g, grid) and np.array_equal(s, sector)
    counts = np.array([[0, 3], [1, 0], [2, 2]])
    g, s = fit_to_counts(grid, sector, counts)
    got = np.zeros_like(counts)
    np.add.at(got, (g, s), 1)
    assert np.array_equal(got, counts)
    assert np.all(np.diff(g) >= 0)  # still sorted by grid
    assert list(zip(g[:3], s[:3], strict=True)) == [(0, 1), (0, 1), (0, 1)]


# ---------------------------------------------------------------- the shipped example


@pytest.mark.parametrize("name", ["example_district.toml", "example_district_integrated.toml"])
def test_example_district_runs_end_to_end(name: str) -> None:
    sc = reformsim.load_scenario(SCENARIOS / name).with_updates(
        {"run.days": 20, "run.warmup_days": 2})
    model = ReformModel(sc, seed=1)
    cat, terr = read_district(sc)
    assert model.territory.n_grids == 40 and model.territory.n_areas == 3
    assert model.catalog.n_matters == 120 and len(set(cat.domain)) == 9
    expected = cat.delegated if sc.levers.delegation_rule == "from_catalog" else 0
    assert np.array_equal(model.catalog.delegated, np.zeros(120, bool) | expected)
    res = reformsim.run(sc, seed=1)
    assert res.summary["violations_true"] > 0
