"""KPIs: daily time series and the run summary (DESIGN.md §5; domain.md §4).

KPIs count what happens after the warm-up (the *window*): violations whose onset, cases whose
detection, and visits whose start falls in the window. True violations and recorded cases are
separate series (SF-5). Follow-up checks of an unrectified violation are cases in the log but not
new recorded cases. Units are listed in :data:`KPI_UNITS` and in ``docs/outputs.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from reformsim import jit
from reformsim.caselog import CLOSED, ORPHANED, SOURCES
from reformsim.observe_kernels import observe_day, pairwise_plan
from reformsim.population import BLACK, GREEN, YELLOW

if TYPE_CHECKING:
    from reformsim.model import ReformModel

#: The stable output contract (DESIGN.md §5): name -> unit.
KPI_UNITS: dict[str, str] = {
    "violations_true": "violations begun in the window",
    "cases_recorded": "cases detected in the window (follow-ups excluded)",
    "detection_rate": "share of window violations detected by the end of the run",
    "cases_closed": "recorded cases closed by the end of the run",
    "closure_rate": "cases_closed / cases_recorded",
    "response_time_mean_days": "days from detection to officer on scene (closed cases)",
    "response_time_p90_days": "90th percentile of the response time, days",
    "cycle_time_mean_days": "days from detection to closure (closed cases)",
    "orphan_cases": "recorded cases dropped after max referrals (三不管)",
    "orphan_share": "orphan_cases / cases_recorded",
    "transfers_per_case": "mean transfers (referrals) per recorded case",
    "inspections_total": "on-site inspection visits started in the window",
    "enterprise_visits_per_firm": "inspection visits per firm per year (受检户次)",
    "duplicate_visit_share": "share of visits within 30 days of another body's visit",
    "joint_inspection_share": "share of visits checking domains of >= 2 departments",
    "compliance_rate": "mean daily share of exposure pairs not violating",
    "colour_share_green": "share of firms green at the end",
    "colour_share_yellow": "share of firms yellow at the end",
    "colour_share_black": "share of firms black at the end",
    "officer_utilization": "busy hours / available hours of all enforcement officers",
    "officer_hours_per_case": "officer hours (travel + service) per closed case",
    "penalties_issued": "cases closed in the window with a fine or harsher",
    "waivers_issued": "first-violation waivers (首违不罚) in the window",
    "assisted_services": "online services done with a grid worker's help (帮办代办)",
    "resident_satisfaction": "mean resident satisfaction at the end, 0-1",
    "enterprise_satisfaction": "mean enterprise satisfaction at the end, 0-1",
    # extra KPIs (not in the minimal contract)
    "window_days": "days counted in KPIs (run.days - run.warmup_days)",
    "recorded_per_true": "cases_recorded / violations_true",
    "inspections_cancelled": "planned visits (due in the window) cancelled after waiting 30 days",
    "assisted_services_unserved": "requests for help a grid worker had no time for",
    "backlog_mean": "mean tasks waiting in queues at the end of a day",
    "assistance_requests": "service requests whose self-service failed (asked a grid worker)",
    "grid_patrol_hours_per_day": "grid-worker patrol hours per working day, whole street",
    "cases_detected_by_patrol": "recorded cases found by patrol (grid workers, idle officers)",
    "summons_issued": "recorded cases for which the street summoned departments (吹哨报到)",
    "summons_arrival_mean_hours": "mean working hours from a summons to the department reporting",
    "summons_no_show_share": "share of summons no department answered (case referred instead)",
    "support_requests_per_case": "technical support requests per recorded case (一针穿千线)",
    "handling_error_rate": "share of closed recorded cases with a handling error",
    "generalist_speed_ratio": "squad officers' speed outside their home domain / specialists', at the end",
    "enterprise_trust": "mean enterprise trust in the enforcers at the end, 0-1",
    "inconsistent_rulings": "conflicting orders from two departments (siloed), in the window",
    "matters_delegated_end": "matters in the street team's power at the end (权责清单)",
    "power_review_moves": "matters moved (收回 + 下放) in all power-list reviews of the run",
    "inspections_capped": "planned visits (in the window) not made because of the yearly cap",
}

CONTRACT_KPIS: tuple[str, ...] = tuple(list(KPI_UNITS)[:26])


#: the daily state columns, in the row order of the recorder's table
#: (:data:`reformsim.observe_kernels.T_VIOLATIONS_OPEN` ...)
DAILY_COLUMNS: tuple[str, ...] = (
    "violations_open", "compliance_rate", "colour_share_green", "colour_share_yellow",
    "colour_share_black", "backlog", "assisted_services", "resident_satisfaction",
    "enterprise_satisfaction", "assistance_requests", "grid_patrol_hours",
    "generalist_speed_ratio", "enterprise_trust", "officer_busy_hours", "matters_delegated")


class Recorder:
    """Observes the model once a day (step 9) and computes the summary at the end."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        days = model.config.run.days
        #: one row per daily column, one column per day; ``cols`` maps names to the rows
        self.table = np.full((len(DAILY_COLUMNS), days), np.nan)
        self.cols = dict(zip(DAILY_COLUMNS, self.table, strict=True))
        self._kernel = observe_day.compiled() if jit.enabled() else None
        self._sums: tuple[np.ndarray, np.ndarray] | None = None  # the kernel's sum plans


    def __setstate__(self, state: dict[str, object]) -> None:
        """Unpickle with ``cols`` as views of ``table`` again (the kernel writes ``table``)."""
        self.__dict__.update(state)
        self.cols = dict(zip(DAILY_COLUMNS, self.table, strict=True))
    def observe(self, day: int) -> None:
        """Record today's state."""
        if self._kernel is not None:
            self._observe_compiled(day)
            return
        m = self.model
        ent = m.enterprises
        open_pairs = int(m.violating_in_grid.sum())  # = (ent.violation >= 0).sum(), kept by model
        c = self.cols
        c["violations_open"][day] = open_pairs
        c["compliance_rate"][day] = 1.0 - open_pairs / ent.n_pairs if ent.n_pairs else 1.0
        n_firms = max(ent.n, 1)  # shares as np.bincount(colour, minlength=3) / n_firms, cheaper
        c["colour_share_green"][day] = np.count_nonzero(ent.colour == GREEN) / n_firms
        c["colour_share_yellow"][day] = np.count_nonzero(ent.colour == YELLOW) / n_firms
        c["colour_share_black"][day] = np.count_nonzero(ent.colour == BLACK) / n_firms
        c["backlog"][day] = m.queues.total_backlog()
        c["assisted_services"][day] = m.services.assisted_today
        c["assistance_requests"][day] = m.services.requests_today
        c["grid_patrol_hours"][day] = float(m.patrol_hours.sum())
        c["resident_satisfaction"][day] = m.residents.mean_satisfaction()
        c["enterprise_satisfaction"][day] = _daily_mean(ent.satisfaction)
        c["generalist_speed_ratio"][day] = m.training.speed_ratio()
        c["enterprise_trust"][day] = _daily_mean(ent.trust)
        c["officer_busy_hours"][day] = m.casework.busy_hours
        c["matters_delegated"][day] = np.count_nonzero(m.team_authority)

    def _observe_compiled(self, day: int) -> None:
        """:meth:`observe` in one kernel call (:func:`~reformsim.observe_kernels.observe_day`)."""
        m = self.model
        ent = m.enterprises
        xs = (ent.satisfaction, ent.trust, m.patrol_hours)
        res_mean = m.residents.mean_satisfaction()
        for _ in range(2):
            if self._sums is None:
                self._sums = _sum_plans([x.size for x in xs])
            if self._kernel(xs, *self._sums, ent.colour, m.violating_in_grid, m.team_authority,
                            self.table, day, m.queues.total_backlog(),
                            m.services.assisted_today, m.services.requests_today,
                            m.training.speed_ratio(), m.casework.busy_hours, ent.n_pairs,
                            max(ent.n, 1), res_mean):
                return
            self._sums = None  # an array changed size: plan again

    def timeseries(self) -> pd.DataFrame:
        """One row per simulated day: state columns plus event counts."""
        m = self.model
        days = m.day
        day = np.arange(days)
        v, c = m.violations, m.cases
        recorded = c["source"] != SOURCES.index("follow_up")
        cols: dict[str, np.ndarray] = {
            "day": day,
            "in_window": day >= m.config.run.warmup_days,
            "violation_onsets": _per_day(v["onset_at"], days),
            "cases_detected": _per_day(c["detected_at"][recorded], days),
            "cases_closed": _per_day(c["closed_at"][recorded & (c["status"] == CLOSED)], days),
            "cases_orphaned": _per_day(c["orphaned_at"][c["status"] == ORPHANED], days),
            "inspections": _per_day(m.visits["at"], days),
        }
        cols.update((name, col[:days].copy()) for name, col in self.cols.items())
        busy = np.nan_to_num(cols.pop("officer_busy_hours"))
        cols["officer_busy_hours"] = np.diff(busy, prepend=0.0)  # cumulative -> per day
        cols["matters_delegated"] = cols.pop("matters_delegated").astype(np.int64)
        return pd.DataFrame(cols)

    def summary(self) -> dict[str, float]:
        """The KPI summary of the run (see :data:`KPI_UNITS`)."""
        m = self.model
        warm = m.config.run.warmup_days
        window = max(m.day - warm, 1)
        v, c = m.violations, m.cases
        in_v = v["onset_at"] >= warm
        rec = (c["detected_at"] >= warm) & (c["source"] != SOURCES.index("follow_up"))
        closed = rec & (c["status"] == CLOSED)
        orphan = rec & (c["status"] == ORPHANED)
        n_rec = int(rec.sum())
        response = (c["on_scene_at"] - c["detected_at"])[closed]
        cycle = (c["closed_at"] - c["detected_at"])[closed]
        visits_in = m.visits["at"] >= warm
        done_in = (c["status"] == CLOSED) & (c["closed_at"] >= warm)
        ent = m.enterprises
        colours = np.bincount(ent.colour, minlength=3) / max(ent.n, 1)
        cw = m.casework
        out = {
            "violations_true": int(in_v.sum()),
            "cases_recorded": n_rec,
            "detection_rate": _ratio(int((v["case"][in_v] >= 0).sum()), int(in_v.sum())),
            "cases_closed": int(closed.sum()),
            "closure_rate": _ratio(int(closed.sum()), n_rec),
            "response_time_mean_days": _mean(response),
            "response_time_p90_days": float(np.quantile(response, 0.9)) if response.size else np.nan,
            "cycle_time_mean_days": _mean(cycle),
            "orphan_cases": int(orphan.sum()),
            "orphan_share": _ratio(int(orphan.sum()), n_rec),
            "transfers_per_case": _mean(c["transfers"][rec].astype(float)),
            "inspections_total": int(visits_in.sum()),
            "enterprise_visits_per_firm": int(visits_in.sum()) / max(ent.n, 1) * 365.0 / window,
            "duplicate_visit_share": _mean(m.visits["duplicate"][visits_in].astype(float)),
            "joint_inspection_share": _mean(m.visits["joint"][visits_in].astype(float)),
            "compliance_rate": _mean(self.cols["compliance_rate"][warm : m.day]),
            "colour_share_green": float(colours[GREEN]),
            "colour_share_yellow": float(colours[YELLOW]),
            "colour_share_black": float(colours[BLACK]),
            "officer_utilization": _ratio(cw.busy_hours, cw.available_hours),
            "officer_hours_per_case": _mean((c["travel_hours"] + c["service_hours"])[closed]),
            "penalties_issued": int((done_in & c["penalty"]).sum()),
            "waivers_issued": int((done_in & c["waiver"]).sum()),
            "assisted_services": int(m.services.assisted_total),
            "resident_satisfaction": _mean(m.residents.satisfaction),
            "enterprise_satisfaction": _mean(ent.satisfaction),
            "window_days": int(window),
            "recorded_per_true": _ratio(n_rec, int(in_v.sum())),
            "inspections_cancelled": int(m.inspection_planning.cancelled),
            "assisted_services_unserved": int(m.services.unserved_total),
            "backlog_mean": _mean(self.cols["backlog"][warm : m.day]),
            "assistance_requests": int(m.services.requests_total),
            "grid_patrol_hours_per_day": _ratio(m.services.patrol_hours_total,
                                                m.services.working_days),
            "cases_detected_by_patrol": int((rec & (c["source"] == SOURCES.index("patrol"))).sum()),
            **self._coordination_kpis(rec, closed),
            "generalist_speed_ratio": m.training.speed_ratio(),
            "enterprise_trust": _mean(ent.trust),
            "inconsistent_rulings": int(m.trust.inconsistent_rulings),
            "matters_delegated_end": int(m.team_authority.sum()),
            "power_review_moves": int(m.power_review.moves),
            "inspections_capped": int(m.inspection_planning.capped),
        }
        return {k: (float(x) if isinstance(x, float | np.floating) else int(x)) for k, x in out.items()}


    def _coordination_kpis(self, rec: np.ndarray, closed: np.ndarray) -> dict[str, float]:
        """Summons, support requests and handling errors (M10, M12)."""
        m = self.model
        c = m.cases
        summoned = int((rec & c["summoned"]).sum())
        co = m.coordination
        return {
            "summons_issued": summoned,
            "summons_arrival_mean_hours": _mean(np.array(co.arrival_hours)),
            "summons_no_show_share": _ratio(co.no_shows, summoned),
            "support_requests_per_case": _mean(c["support_requests"][rec].astype(float)),
            "handling_error_rate": _mean(c["error"][closed].astype(float)),
        }


def _per_day(times: np.ndarray, days: int) -> np.ndarray:
    t = times[np.isfinite(times)]
    d = np.floor(t).astype(np.int64)
    d = d[(d >= 0) & (d < days)]
    return np.bincount(d, minlength=days)[:days]


def _sum_plans(sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~reformsim.observe_kernels.observe_day`'s sum plans of arrays of ``sizes``."""
    plans = [pairwise_plan(n) for n in sizes]
    layout = np.zeros((2, len(sizes) + 1), dtype=np.int64)
    layout[0, 1:] = np.cumsum([len(p) for p in plans])
    layout[1, 1:] = np.cumsum(sizes)
    return np.concatenate(plans), layout


def _daily_mean(x: np.ndarray) -> float:
    """``x.mean()`` (NaN when empty) without the method's overhead: the same sum and division."""
    return np.add.reduce(x) / x.size if x.size else np.nan


def _mean(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(x.mean()) if x.size else float("nan")


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")
