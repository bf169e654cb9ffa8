"""Same scenario and seed -> identical outputs; different seeds -> different outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import reformsim
from reformsim.model import ReformModel
from reformsim.streams import Streams

from .conftest import assert_same_summary, small


@pytest.mark.parametrize("name", ["n_street_siloed.toml", "n_street_integrated.toml"])
def test_same_seed_identical_outputs(name: str, tmp_path) -> None:
    sc = small(name)
    a = reformsim.run(sc, seed=11)
    b = reformsim.run(sc, seed=11)
    assert_same_summary(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    pd.testing.assert_frame_equal(a.cases, b.cases)
    a.write(tmp_path / "a")
    b.write(tmp_path / "b")
    assert (tmp_path / "a" / "summary.json").read_bytes() == (tmp_path / "b" / "summary.json").read_bytes()
    for table in ("timeseries.parquet", "cases.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / table),
                                      pd.read_parquet(tmp_path / "b" / table))


def test_different_seeds_differ(small_integrated) -> None:
    a = reformsim.run(small_integrated, seed=1)
    b = reformsim.run(small_integrated, seed=2)
    assert a.summary["violations_true"] != b.summary["violations_true"] or \
        a.summary["cases_recorded"] != b.summary["cases_recorded"]
    assert not a.cases[["enterprise", "detected_at"]].equals(b.cases[["enterprise", "detected_at"]])


def test_seed_sequence_seed_equals_int_seed_via_spawn(small_integrated) -> None:
    """A spawned SeedSequence is a valid run seed and is recorded in the manifest."""
    child = np.random.SeedSequence(123).spawn(3)[2]
    res = reformsim.run(small_integrated, seed=child)
    again = reformsim.run(small_integrated, seed=np.random.SeedSequence(123).spawn(3)[2])
    assert_same_summary(res.summary, again.summary)
    assert res.manifest["seed"] == {"entropy": 123, "spawn_key": [2]}
    json.dumps(res.manifest)  # manifest is plain JSON data


def test_default_seed_comes_from_scenario(small_integrated) -> None:
    m = ReformModel(small_integrated)
    assert m.seed == small_integrated.run.seed


def test_streams_are_keyed_by_name_not_order() -> None:
    a, b = Streams(5), Streams(5)
    first = a["violations"].random(4)
    b["on_site"].random(10)  # touching another stream first changes nothing
    np.testing.assert_array_equal(first, b["violations"].random(4))
    assert not np.array_equal(Streams(5)["violations"].random(4), Streams(5)["on_site"].random(4))
    with pytest.raises(KeyError, match="unknown random stream"):
        Streams(5)["nope"]


def test_no_global_numpy_random_state_used(small_siloed) -> None:
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    reformsim.run(small_siloed, seed=3)
    np.testing.assert_array_equal(before, np.random.get_state()[1])


def test_keyed_uniforms_depend_only_on_key() -> None:
    s1, s2 = Streams(5), Streams(5)
    ent = np.arange(1000)
    a = s1.keyed_uniform("keyed_cases", ent, 3)
    s2["violations"].random(100)  # sequential draws do not matter
    np.testing.assert_array_equal(a, s2.keyed_uniform("keyed_cases", ent, 3))
    assert not np.array_equal(a, s1.keyed_uniform("keyed_cases", ent, 4))
    assert not np.array_equal(a, Streams(6).keyed_uniform("keyed_cases", ent, 3))
    assert not np.array_equal(a, s1.keyed_uniform("keyed_violations", ent, 3))
    big = s1.keyed_uniform("keyed_violations", np.arange(200_000), 7)
    assert 0.0 <= big.min() and big.max() < 1.0
    assert abs(big.mean() - 0.5) < 0.003 and abs(big.var() - 1 / 12) < 0.002
    counts = np.histogram(big, bins=20, range=(0, 1))[0]
    assert counts.min() > 9_500 and counts.max() < 10_500  # expected 10,000 per bin


def test_scalar_keyed_uniform_matches_vectorised() -> None:
    s = Streams(9)
    ent = np.array([0, 1, 17, 123_456_789, 2**40])
    slot = np.array([0, 63, 4096, 2**33 + 5, 7])
    vec = s.keyed_uniform("keyed_cases", ent, slot)
    scal = [s.keyed_uniform_scalar("keyed_cases", int(e), int(k)) for e, k in zip(ent, slot, strict=True)]
    np.testing.assert_array_equal(vec, scal)


def test_sensitivity_analysis_uses_no_global_random_state(tmp_path) -> None:
    from reformsim.sensitivity import read_spec, run_function

    f = tmp_path / "lin.toml"
    f.write_text('[sensitivity]\nmethod = "sobol"\nN = 16\nseed = 0\nkpis = ["y"]\n'
                 '[[factors]]\npath = "a"\nbounds = [0, 1]\n[[factors]]\npath = "b"\nbounds = [0, 1]\n')
    np.random.seed(1)
    before = np.random.get_state()[1].copy()
    r1 = run_function(read_spec(f), lambda X: X[:, 0] + 2 * X[:, 1])
    r2 = run_function(read_spec(f), lambda X: X[:, 0] + 2 * X[:, 1])
    np.testing.assert_array_equal(before, np.random.get_state()[1])
    pd.testing.assert_frame_equal(r1.indices, r2.indices)  # seed 0 is reproducible too
