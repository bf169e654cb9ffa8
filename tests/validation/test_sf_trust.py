"""Trust fact SF-15 (domain.md §3; mechanism M6; ODD 7.11).

SF-16 (power × trust, Kirchler et al. 2008; Wahl et al. 2010) has no test: trust and power enter
the compliance utility additively, trust moves only a little from its start, and there is no
strategic behaviour to observe (docs/validation.md).
"""

from __future__ import annotations

from .helpers import assert_above, assert_below, paired, tiny

SILOED = "n_street_siloed.toml"


def test_sf15_visits_beyond_tolerance_erode_trust_and_compliance() -> None:
    """SF-15: inspection frequency beyond tolerance erodes trust and voluntary compliance
    (motivational crowding-out; Frey & Jegen 2001; Cambridge Handbook of Compliance ch. 23,
    grade A). The sources call the effect weak and the evidence modest.

    Siloed N Street (2.5 visits per firm a year against a tolerance of 2), 4 replicates, three
    arms: no burden cost (``trust.eta_burden`` 0); the default 0.02; and a stressed 0.3 with a
    tolerance of 1 visit a year. Asserted (paired intervals against the first arm): the default
    lowers enterprise trust; the stressed arm lowers trust and the compliance rate and raises
    true violations. Why the stressed arm: at the default the violation change is about +0.1 %
    (interval spanning 0), too weak to resolve in a 180-day tiny world; that weakness is the
    fact's stated size (M6: keep ``eta_burden`` small). Model figures: trust 0.500 -> 0.498
    (default) and 0.430 (stressed); violations +3 % (stressed), compliance rate -0.08 points.
    """
    arms = [tiny(SILOED, {"name": "no burden cost", "trust": {"eta_burden": 0.0}}),
            tiny(SILOED, {"name": "default"}),
            tiny(SILOED, {"name": "stressed", "trust": {"eta_burden": 0.3},
                          "satisfaction": {"visit_tolerance_per_year": 1.0}})]
    cmp = paired(arms)
    assert_below(cmp, "enterprise_trust", "default")
    assert_below(cmp, "enterprise_trust", "stressed")
    assert_above(cmp, "violations_true", "stressed")
    assert_below(cmp, "compliance_rate", "stressed")
