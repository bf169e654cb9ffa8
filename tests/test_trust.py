"""Enterprise trust (M6): inertness at weight 0, crowding-out, inconsistent rulings, bounds."""

from __future__ import annotations

import math

import numpy as np

import reformsim
from reformsim.model import ReformModel

from .conftest import small

SEEDS = (1, 2, 3)


def _runs(sc):
    return [reformsim.run(sc, seed=s) for s in SEEDS]


def _mean(runs, key: str) -> float:
    return float(np.mean([r.summary[key] for r in runs]))


def test_trust_is_inert_when_its_weight_is_zero() -> None:
    """With weight 0 the trust updates change nothing but trust itself (exact)."""
    a = small("n_street_siloed.toml", {"trust": {"weight": 0.0}})
    b = small("n_street_siloed.toml", {"trust": {"weight": 0.0, "eta_burden": 0.5,
                                                  "eta_arbitrary": 0.5, "eta_help": 0.0}})
    ra, rb = reformsim.run(a, seed=4), reformsim.run(b, seed=4)
    assert ra.summary["enterprise_trust"] != rb.summary["enterprise_trust"]
    for k, v in ra.summary.items():
        if k != "enterprise_trust":
            w = rb.summary[k]
            assert v == w or (math.isnan(v) and math.isnan(w)), k


def test_burden_erodes_trust_and_voluntary_compliance() -> None:
    """SF-15 (crowding-out): when visits beyond tolerance cost more trust, trust falls and true
    violations rise (siloed design: many visits; paired seeds)."""
    extra = {"satisfaction": {"visit_tolerance_per_year": 1.0}}
    mild = _runs(small("n_street_siloed.toml", extra | {"trust": {"eta_burden": 0.0}}))
    harsh = _runs(small("n_street_siloed.toml", extra | {"trust": {"eta_burden": 0.1}}))
    for a, b in zip(mild, harsh, strict=True):
        assert b.summary["enterprise_trust"] < a.summary["enterprise_trust"]
        assert b.summary["violations_true"] >= a.summary["violations_true"]
    assert _mean(harsh, "violations_true") > _mean(mild, "violations_true")


def test_inconsistent_rulings_only_between_departments() -> None:
    """Conflicting orders need two departments visiting: siloed > 0, integrated (one team) = 0."""
    assert _mean(_runs(small("n_street_siloed.toml")), "inconsistent_rulings") > 0
    assert _mean(_runs(small("n_street_integrated.toml")), "inconsistent_rulings") == 0
    none = small("n_street_siloed.toml", {"trust": {"conflict_probability": 0.0}})
    assert _mean(_runs(none), "inconsistent_rulings") == 0


def test_trust_stays_in_the_unit_interval() -> None:
    sc = small("n_street_siloed.toml", {"trust": {"eta_burden": 1.0, "eta_arbitrary": 1.0,
                                                   "eta_help": 1.0}})
    m = ReformModel(sc, seed=3).run()
    assert ((m.enterprises.trust >= 0) & (m.enterprises.trust <= 1)).all()


def test_advisory_encounters_build_trust() -> None:
    """Leniency turns first minor offences into advice, which builds more trust than a sanction."""
    off = _runs(small("n_street_integrated.toml", {"levers": {"first_violation_leniency": False}}))
    on = _runs(small("n_street_integrated.toml", {"levers": {"first_violation_leniency": True}}))
    assert _mean(on, "enterprise_trust") > _mean(off, "enterprise_trust")
