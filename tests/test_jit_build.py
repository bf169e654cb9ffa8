"""World building (issue 4): the compiled placement count and the vectorised pairs give the same
world as numpy's ``Generator.choice`` and the per-firm loops they replace, JIT on and off."""

from __future__ import annotations

import numpy as np
import pytest

import reformsim
from reformsim.model import ReformModel
from reformsim.population import cdf_counts, choice_counts, distinct_in_runs, fill_pairs, grid_sums

N_STREET = "scenarios/n_street_siloed.toml"


def _small(path: str = N_STREET) -> reformsim.Scenario:
    sc = reformsim.load_scenario(path)
    pop = sc.population.model_copy(update={"n_enterprises": 600, "n_residents": 5000})
    return sc.model_copy(update={"population": pop})


@pytest.mark.parametrize("use_kernel", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_choice_counts_equal_bincount_of_choice(seed: int, use_kernel: bool) -> None:
    meta = np.random.default_rng(seed)
    k = int(meta.integers(1, 400))
    w = meta.lognormal(0.0, 1.5, k)
    w[meta.random(k) < 0.2] = 0.0  # empty categories, also first and last
    if w.sum() == 0:
        w[0] = 1.0
    p = w / w.sum()
    n = int(meta.integers(0, 20_000))
    a, b = np.random.default_rng(seed + 99), np.random.default_rng(seed + 99)
    want = np.bincount(a.choice(k, size=n, p=p), minlength=k)
    got = choice_counts(b, p, n, use_kernel)
    assert got.tolist() == want.tolist()
    assert a.random() == b.random()  # the same draws consumed


def test_choice_counts_invalid_p_raises_as_choice() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        choice_counts(np.random.default_rng(0), np.array([0.5, 0.6]), 10, True)
    with pytest.raises(ValueError, match="non-negative"):
        choice_counts(np.random.default_rng(0), np.array([1.5, -0.5]), 10, False)


def test_cdf_counts_edges() -> None:
    """Uniforms on bucket edges and on cdf values: the search is searchsorted(side="right")."""
    cdf = np.array([0.25, 0.25, 0.5, 0.75, 1.0])
    u = np.array([0.0, 0.25, 0.2499999, 0.5, 0.74, 0.75, 0.9999999999])
    want = np.bincount(cdf.searchsorted(u, side="right"), minlength=5).tolist()
    for buckets in (1, 4, 8, 64):
        counts = np.zeros(5, np.int64)
        cdf_counts.py(cdf, u, counts, buckets)
        assert counts.tolist() == want
        counts2 = np.zeros(5, np.int64)
        cdf_counts.compiled()(cdf, u, counts2, buckets)
        assert counts2.tolist() == want
    # a first category of probability 0 and cdf steps inside one bucket
    cdf = np.array([0.0, 0.1, 0.1000001, 1.0])
    u = np.array([0.0, 0.05, 0.1, 0.10000005, 0.5])
    counts = np.zeros(4, np.int64)
    cdf_counts.compiled()(cdf, u, counts, 4)
    assert counts.tolist() == np.bincount(cdf.searchsorted(u, side="right"), minlength=4).tolist()


def _world(sc: reformsim.Scenario, seed: int) -> dict[str, np.ndarray]:
    m = ReformModel(sc, seed=seed)
    e, r = m.enterprises, m.residents
    out = {f"e.{k}": getattr(e, k) for k in ("grid", "sector", "risk_type", "colour", "pair_ent",
                                              "pair_dom", "pair_start", "gain")}
    out |= {f"r.{k}": getattr(r, k) for k in ("grid", "elderly", "literacy", "propensity")}
    out["catalog.domain"] = m.catalog.domain
    out["area"] = m.territory.area_of_grid
    out["demand"] = m.demand.hours
    out["next"] = np.array([m.streams["setup"].random()])
    return out


@pytest.mark.parametrize("path", [N_STREET, "scenarios/example_district.toml"])
def test_world_equal_jit_on_and_off(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = _small(path) if path == N_STREET else reformsim.load_scenario(path)
    on = _world(sc, 3)
    monkeypatch.setenv("REFORMSIM_JIT", "0")
    off = _world(sc, 3)
    assert on.keys() == off.keys()
    for k in on:
        assert on[k].dtype == off[k].dtype, k
        assert np.array_equal(on[k], off[k]), k


def test_pairs_follow_sector_domains() -> None:
    sc = _small()
    m = ReformModel(sc, seed=2)
    e = m.enterprises
    dom_index = {d.id: i for i, d in enumerate(sc.domains)}
    for i in range(0, e.n, 37):
        want = sorted(dom_index[d] for d in set(sc.sector_specs[int(e.sector[i])].domains))
        assert e.pair_dom[e.pairs_of(i)].tolist() == want
        assert (e.pair_ent[e.pairs_of(i)] == i).all()
    assert e.pair_dom.dtype == np.int64 and e.pair_start.dtype == np.int64
    assert np.all(np.diff(e.grid) >= 0)


def _example_copy(tmp_path, catalog_text: str | None = None):
    """scenarios/example_district.toml with its CSVs copied to ``tmp_path`` (catalogue edited)."""
    import shutil

    from reformsim.scenario_files import load_scenario

    data = tmp_path / "data"
    data.mkdir()
    for name in ("example_catalog.csv", "example_territory.csv"):
        shutil.copy(f"scenarios/data/{name}", data / name)
    if catalog_text is not None:
        (data / "example_catalog.csv").write_text(catalog_text, encoding="utf-8")
    sc = load_scenario("scenarios/example_district.toml")
    cat = sc.catalog.model_copy(update={"file": str(data / "example_catalog.csv")})
    ter = sc.territory.model_copy(update={"file": str(data / "example_territory.csv")})
    return sc.model_copy(update={"catalog": cat, "territory": ter}), data


def test_district_tables_parsed_once_and_copied(tmp_path) -> None:
    from reformsim import district_csv

    sc, data = _example_copy(tmp_path)
    cat1, ter1 = district_csv.read_district(sc)
    cat2, ter2 = district_csv.read_district(sc)
    assert cat1.domain is not cat2.domain and ter1.enterprises is not ter2.enterprises
    cat1.negative[:] = True  # a caller's changes do not reach the next reader
    ter1.residents[:] = 0
    cat3, ter3 = district_csv.read_district(sc)
    assert np.array_equal(cat3.negative, cat2.negative) and not cat3.negative.all()
    assert np.array_equal(ter3.residents, ter2.residents) and ter3.residents.any()
    # an edited file (same path) is parsed again
    lines = (data / "example_catalog.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (data / "example_catalog.csv").write_text("".join(lines[:-1]), encoding="utf-8")
    cat4, _ = district_csv.read_district(sc)
    assert len(cat4.ids) == len(cat2.ids) - 1


def test_district_cache_keeps_lever_checks(tmp_path) -> None:
    from reformsim import district_csv
    from reformsim.errors import ScenarioError

    sc, _ = _example_copy(tmp_path)
    cat, _ = district_csv.read_district(sc)
    eligible = int((~cat.negative).sum())
    lv = sc.levers.model_copy(update={"delegated_matters": eligible + 1,
                                      "delegation_rule": "score"})
    with pytest.raises(ScenarioError, match="delegated_matters"):
        district_csv.read_district(sc.model_copy(update={"levers": lv}))
    with pytest.raises(ScenarioError):  # a bad file is reported each time it is read
        (tmp_path / "bad.csv").write_text("matter_id\n", encoding="utf-8")
        district_csv.read_catalog_csv(tmp_path / "bad.csv", sc)


@pytest.mark.parametrize("compiled", [False, True])
def test_pair_kernels_edges(compiled: bool) -> None:
    """Firms without pairs (an empty sector row) and repeated owners within a firm."""
    fill = fill_pairs.compiled() if compiled else fill_pairs.py
    distinct = distinct_in_runs.compiled() if compiled else distinct_in_runs.py
    table = np.array([[0, 2, 5], [0, 0, 0], [1, 0, 0]], dtype=np.int64)  # sector 1: no domains
    lengths = np.array([3, 0, 1])
    sector = np.array([1, 0, 2, 1, 0], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(lengths[sector])])
    ent, dom = np.empty(start[-1], np.int64), np.empty(start[-1], np.int64)
    fill(sector, start, table, ent, dom)
    assert ent.tolist() == [1, 1, 1, 2, 4, 4, 4]
    assert dom.tolist() == [0, 2, 5, 1, 0, 2, 5]
    owner = np.array([3, 0, 3, 1, 3, 3, 3])
    out = np.full(5, -1, np.int64)
    distinct(start, owner, out)
    assert out.tolist() == [0, 2, 1, 0, 1]


@pytest.mark.parametrize("use_kernel", [False, True])
def test_grid_sums_equal_bincount(use_kernel: bool) -> None:
    rng = np.random.default_rng(4)
    counts = rng.integers(0, 50, 30)
    counts[[0, 7, 29]] = 0  # empty grids, first and last too
    grid = np.repeat(np.arange(30), counts)
    start = np.concatenate([[0], np.cumsum(counts)])
    values = rng.gamma(2.0, 0.5, grid.size)
    got = grid_sums(grid, start, values, use_kernel)
    want = np.bincount(grid, weights=values, minlength=30)
    assert got.tobytes() == want.tobytes()


def test_case_frame_text_columns_as_inferred() -> None:
    """The case table's text and category columns equal pandas' inference from object arrays."""
    import pandas as pd

    from reformsim.caselog import SANCTIONS, SOURCES, STATUS

    sc = _small()
    sc = sc.model_copy(update={"run": sc.run.model_copy(update={"days": 60, "warmup_days": 10})})
    m = ReformModel(sc, seed=5).run()
    units = [u.name for u in m.units]
    df = m.cases.to_frame(units, m.domain_names, 10)
    n = m.cases.n
    assert n > 0
    c = {k: v[:n] for k, v in m.cases.cols.items()}
    names = np.array([*units, ""], dtype=object)
    want = pd.DataFrame({
        "domain": np.array(m.domain_names, dtype=object)[c["domain"]],
        "sanction": np.array([*SANCTIONS, ""], dtype=object)[np.where(c["sanction"] < 0, 6,
                                                                        c["sanction"])],
        "first_owner": names[c["first_unit"]], "owner": names[c["owner_unit"]],
        "source": pd.Categorical.from_codes(c["source"], SOURCES),
        "status": pd.Categorical.from_codes(c["status"], STATUS),
    })
    assert (c["first_unit"] < 0).any() or (c["sanction"] < 0).any()  # the "" code is exercised
    pd.testing.assert_frame_equal(df[list(want.columns)], want, check_exact=True)
