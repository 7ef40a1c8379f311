"""Synthetic monitoring data for the demonstration (演示数据): 2015 figures for comparison and the 2016 cycle
replayed through the real workflow services, so every page has something true to show.

Everything is derived from a seed. Each city gets a profile — population, and a development level by region
(east ahead of central and west, as in BRIEF §11) — and each data item a trajectory over 2015–2016 calibrated
on the national figures of BRIEF §11 (e.g. the share of ≥20 Mbit/s users rising from about a third in early
2015 to around 80 % in late 2016 for advanced cities). The 2016 history is replayed at its historical moments
(the reporting clock is set back for each action), so submissions are on time, late, returned, waiting for a
province or missing, as they would be on 5 December 2016. A few implausible values are planted for the
analyst's outlier checks.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from infocity.accounts.models import Role, User
from infocity.frameworks.models import Edition, Frequency
from infocity.organisations.models import Cohort, Organisation
from infocity.organisations.services import add_cities_to_cohort, create_cohort
from infocity.reporting import clock
from infocity.reporting import services as reporting
from infocity.reporting.models import ReportingCycle, Submission

from .evaluation import load_evaluation_demo
from .progress import load_progress_demo

DEMO_TODAY = datetime.date(2016, 12, 5)

# Resident population in 10,000s (rounded public magnitudes, used only to scale the synthetic figures).
POPULATION = {
    "310000": 2420, "320100": 827, "320200": 653, "320500": 1065, "330100": 919, "330200": 788, "330400": 461,
    "330500": 297, "340100": 787, "340200": 367, "350100": 757, "350200": 392, "350500": 858, "370100": 723,
    "370200": 920, "370600": 707, "371000": 281, "410100": 972, "410300": 680, "420100": 1077, "420500": 413,
    "430100": 765, "430200": 402, "440100": 1404, "440300": 1191, "440400": 168, "440600": 746, "441900": 826,
    "510100": 1592, "510700": 483, "520100": 470, "610100": 883,
}  # fmt: skip
EAST = {"31", "32", "33", "35", "37", "44"}
CENTRAL = {"34", "41", "42", "43"}


@dataclass
class City:
    org: Organisation
    population: float  # 10,000 people
    level: float  # 1.0 east, 0.85 central, 0.72 west, with a little individual spread
    noise: random.Random

    @property
    def households(self) -> float:
        return self.population * 10_000 / 2.9


def _profile(org: Organisation, rng: random.Random) -> City:
    prefix = org.code[:2]
    base = 1.0 if prefix in EAST else 0.85 if prefix in CENTRAL else 0.72
    noise = random.Random(rng.random())  # noqa: S311 — synthetic data
    return City(org, POPULATION.get(org.code, 500), base * rng.uniform(0.93, 1.05), noise)


def _t(period_end: datetime.date) -> float:
    """Time since January 2015 in months (0 … 23), for trajectories."""
    return (period_end.year - 2015) * 12 + period_end.month - 1


def _share(city: City, start: float, end: float, t: float, cap: float = 1.0) -> float:
    """A share moving from ``start`` to ``end`` over 2015–2016, scaled by the city's level."""
    value = (start + (end - start) * t / 23) * city.level
    return max(0.0, min(cap, value * city.noise.uniform(0.985, 1.015)))


def _n(value: float) -> str:
    return str(round(value))


def _d(value: float, places: int = 2) -> str:
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places)))


def values_for(city: City, form_code: str, end: datetime.date) -> dict[str, str]:
    """Plausible values of every item of a form for one city and period."""
    t = _t(end)
    hh = city.households
    pop = city.population
    # Quarterly amounts are the quarter's own, with a mild seasonal pattern (the fourth quarter is strongest).
    quarter_share = {3: 0.23, 6: 0.24, 9: 0.25, 12: 0.28}.get(end.month, 0.25)
    growth = 1 + 0.12 * (end.year - 2015) + 0.01 * end.month / 12
    v: dict[str, str] = {}
    if form_code == "M":
        fbb = hh * 1.02 * (1 + 0.007 * t) * city.level
        mobile = pop * 10_000 * 1.28 * (1 + 0.004 * t)
        v = {
            "FBB_USERS": _n(fbb),
            "FBB_20M_USERS": _n(fbb * _share(city, 0.30, 0.84, t, 0.96)),
            "FTTH_USERS": _n(fbb * _share(city, 0.50, 0.86, t, 0.97)),
            "MOBILE_USERS": _n(mobile),
            "LTE_USERS": _n(mobile * _share(city, 0.22, 0.68, t, 0.9)),
        }
    elif form_code == "Q":
        urban = hh * (0.62 + 0.25 * city.level)
        retail = pop * 6.8 * city.level * growth * quarter_share  # 100 million yuan, this quarter
        v = {
            "URBAN_HH": _n(urban),
            "FIBRE_READY_HH": _n(urban * min(1.0, _share(city, 0.90, 1.04, t))),
            "HOUSEHOLDS": _n(hh),
            "HH_BB_USERS": _n(hh * _share(city, 0.58, 0.80, t, 0.98)),
            "SOFTWARE_REVENUE": _d(pop * 2.1 * city.level**3 * growth * quarter_share),
            "ONLINE_RETAIL": _d(retail * _share(city, 0.16, 0.27, t)),
            "RETAIL_SALES": _d(retail),
            "PARCELS": _d(pop * 48 * city.level**2 * growth * quarter_share),
            "RESIDENT_POPULATION": _d(pop, 1),
        }
    elif form_code == "H":
        buildings = pop * 0.9
        areas = 30 + pop / 20
        villages = 400 + pop * 1.2
        systems = 180 + pop / 4
        catalogues = 600 + pop
        meters = hh
        items = 900 + pop / 3
        visits = pop * 3.1 * growth  # 10,000 visits in the half year
        v = {
            "KEY_BUILDINGS": _n(buildings),
            "LTE_INDOOR_BUILDINGS": _n(buildings * _share(city, 0.55, 0.88, t, 0.99)),
            "PUBLIC_AREAS": _n(areas),
            "WLAN_AREAS": _n(areas * min(1.0, _share(city, 0.78, 1.05, t))),
            "ADMIN_VILLAGES": _n(villages),
            "FIBRE_VILLAGES": _n(villages * min(1.0, _share(city, 0.86, 1.0, t))),
            "GOV_SYSTEMS": _n(systems),
            "CONNECTED_SYSTEMS": _n(systems * _share(city, 0.66, 0.95, t, 1.0)),
            "DATA_CATALOGUES": _n(catalogues),
            "OPEN_CATALOGUES": _n(catalogues * _share(city, 0.18, 0.42, t)),
            "WATER_METERS": _n(meters),
            "SMART_WATER_METERS": _n(meters * _share(city, 0.12, 0.30, t)),
            "POWER_METERS": _n(meters * 1.05),
            "SMART_POWER_METERS": _n(meters * 1.05 * _share(city, 0.70, 0.96, t, 1.0)),
            "GAS_METERS": _n(meters * 0.6),
            "SMART_GAS_METERS": _n(meters * 0.6 * _share(city, 0.08, 0.22, t)),
            "GOV_SERVICE_ITEMS": _n(items),
            "ONLINE_SERVICE_ITEMS": _n(items * _share(city, 0.55, 0.86, t, 1.0)),
            "OUTPATIENT_VISITS": _d(visits),
            "BOOKED_VISITS": _d(visits * _share(city, 0.22, 0.42, t)),
            "MAKER_SPACES": _n((20 + pop / 12) * city.level * (1 + 0.02 * t)),
            "INCUBATED_TEAMS": _n((800 + pop * 3.2) * city.level * (1 + 0.015 * t)),
        }
    elif form_code == "A":
        level = city.level
        firms = 800 + pop * 7
        communities = 200 + pop * 0.9
        transport = 40 + pop / 12
        v = {
            "NEW_SITES": _n(200 + pop * 1.1),
            "SHARED_NEW_SITES": _n((200 + pop * 1.1) * _share(city, 0.55, 0.86, t)),
            "SMART_HW_OUTPUT": _d(pop * 0.28 * level**4 * growth),
            "SURVEY_HH": "3000",
            "SURVEY_SMART_HOME_HH": _n(3000 * _share(city, 0.08, 0.21, t)),
            "INDUSTRIAL_CLOUD_FIRMS": _n(firms * _share(city, 0.10, 0.24, t)),
            "BASIC_SOFTWARE_REVENUE": _d(pop * 0.06 * level**4 * growth),
            "REGISTERED_RESULTS": _n(600 + pop * 1.9),
            "INDUSTRIALISED_RESULTS": _n((600 + pop * 1.9) * _share(city, 0.22, 0.33, t)),
            "SMART_TERMINAL_IC_OUTPUT": _d(pop * 0.9 * level**4 * growth),
            "OPEN_CATALOGUE_PUBLISHED": "是" if city.noise.random() < (0.35 if end.year == 2015 else 0.8) * level
            else "否",
            "KEY_TRANSPORT_FACILITIES": _n(transport),
            "SENSED_TRANSPORT_FACILITIES": _n(transport * _share(city, 0.35, 0.62, t)),
            "COMMUNITIES": _n(communities),
            "SMART_COMMUNITIES": _n(communities * _share(city, 0.12, 0.32, t)),
            "SATISFACTION_SCORE": _d(min(97.0, 72 + 14 * level + 2.5 * (end.year - 2015)), 1),
            "DIGITAL_CULTURE_REVENUE": _d(pop * 0.35 * level**3 * growth),
            "READING_TERMINAL_COMMUNITIES": _n(communities * _share(city, 0.15, 0.40, t)),
            "DIGITAL_RESOURCES_TB": _d((60 + pop * 0.35) * level * growth, 1),
            "INDUSTRIAL_ECOMMERCE": _d(pop * 3.9 * level**3 * growth),
            "ABOVE_SIZE_FIRMS": _n(firms),
            "DIGITAL_RD_FIRMS": _n(firms * _share(city, 0.52, 0.66, t)),
            "MFG_PLATFORMS": _n((5 + pop / 40) * level * (1 + 0.3 * (end.year - 2015))),
            "INFO_CONSUMPTION": _d(pop * 1.55 * level**2 * (1.21 if end.year == 2016 else 1.0)
                                   * city.noise.uniform(0.97, 1.03)),
            "GRADED_SYSTEMS": _n(120 + pop / 6),
            "ASSESSED_SYSTEMS": _n((120 + pop / 6) * _share(city, 0.62, 0.96, t, 1.0)),
        }  # fmt: skip
    return v


# Planted for the analyst: a unit slip (万 vs 个), a doubled count and a sudden jump, each explained by the city.
IMPLAUSIBLE = [
    ("440100", "2016-H1", "H", "MAKER_SPACES", 10, "含区县新备案的众创空间，口径较上期扩大。"),
    ("510100", "2016-M09", "M", "LTE_USERS", 1.45, "运营商调整 4G 用户统计口径，含物联网卡。"),
    ("350500", "2016-Q3", "Q", "PARCELS", 1.9, "快递分拨中心落地，业务量大幅增加。"),
]


def _moment(day: datetime.date, hour: int, rng: random.Random) -> datetime.datetime:
    naive = datetime.datetime.combine(day, datetime.time(hour, rng.randrange(60), rng.randrange(60)))
    return timezone.make_aware(naive)


def _after(previous: datetime.datetime, days: int, hour: int, rng: random.Random) -> datetime.datetime:
    """A moment some days after ``previous`` (never past the demo day), and always after it: histories run forward."""
    day = min(timezone.localtime(previous).date() + datetime.timedelta(days=days), DEMO_TODAY)
    candidate = _moment(day, hour, rng)
    return candidate if candidate > previous else previous + datetime.timedelta(minutes=rng.randint(20, 90))


def _users(city: Organisation) -> tuple[User, User]:
    reporter = User.objects.get(organisation=city, role=Role.CITY_REPORTER)
    approver = User.objects.get(organisation=city, role=Role.CITY_APPROVER)
    return reporter, approver


def load_monitoring_demo(edition: Edition, full: Cohort, pilot: Cohort, seed: int) -> dict[str, Any]:
    rng = random.Random(seed * 7919)  # noqa: S311 — synthetic data, not secrets
    cities = {c.code: _profile(c, rng) for c in full.cities.order_by("division_id")}
    analyst = User.objects.get(username="analyst")

    # 2015: accepted figures for comparison, as taken over from the spreadsheets of that year.
    history = create_cohort(
        actor=None,
        name="2015 对比数据",
        year=2015,
        description="2015 年全部示范城市的监测数据（演示数据），仅作 2016 年的对比基数。",
    )
    add_cities_to_cohort(
        actor=None, cohort=history, cities=[c.org for c in cities.values()], joined_on=datetime.date(2015, 1, 1)
    )
    cycle_2015 = reporting.create_cycle(
        actor=None, name="2015 年度监测（对比数据）", year=2015, edition=edition, cohorts=[history],
        forms=edition.forms.exclude(frequency=Frequency.PROGRESS),
        description="2015 年监测数据，供 2016 年对比（演示数据）。",
    )  # fmt: skip
    for submission in Submission.objects.filter(period__cycle=cycle_2015).select_related("period", "form", "city"):
        city = cities[submission.city.code]
        with clock.at(_moment(submission.period.due_on, 10, rng)):
            reporting.import_accepted(
                actor=analyst,
                submission=submission,
                values=values_for(city, submission.form.code, submission.period.ends_on),
                note="2015 年对比数据，自原报送表格导入（演示数据）。",
            )

    cycle_2016 = reporting.create_cycle(
        actor=User.objects.get(username="ministry"),
        name="2016 年度监测",
        year=2016,
        edition=edition,
        cohorts=[pilot, full],
        forms=edition.forms.all(),
        description=(
            "2016 年信息消费示范城市监测：7 月底试运行（首批 12 个城市），年底前扩大到全部示范城市（演示数据）。"
        ),
    )
    states = _replay_2016(cycle_2016, cities, rng)
    reports = load_progress_demo(cycle_2016, seed)
    review = load_evaluation_demo(cycle_2016, seed)
    return {
        "cycles": [cycle_2015.name, cycle_2016.name],
        "states_2016": states,
        "progress_reports": reports,
        "evaluation": review,
    }


def _plan(submission: Submission, rng: random.Random) -> str:
    """Where this 2016 submission should stand on the demo day."""
    period = submission.period
    if period.opens_on > DEMO_TODAY:
        return "upcoming"
    if period.due_on >= DEMO_TODAY:  # open now: some started, some already sent
        return rng.choices(["none", "draft", "submitted", "province_approved"], [3, 3, 2, 1])[0]
    if period.expires_on >= DEMO_TODAY:  # past due, not yet closed (e.g. annual data due 30 November)
        # The annual report is what the December evaluation reads: by 5 December most cities' are accepted, a few
        # are still with their province or the agency, or not sent.
        weights = [1, 1, 1, 1, 24] if period.frequency == Frequency.ANNUAL else [2, 2, 3, 2, 3]
        return rng.choices(["none", "draft", "submitted", "province_approved", "accepted"], weights)[0]
    return rng.choices(
        ["accepted", "province_approved", "submitted", "returned", "none", "late_accepted"], [62, 8, 6, 6, 5, 13]
    )[0]


def _replay_2016(cycle: ReportingCycle, cities: dict[str, City], rng: random.Random) -> dict[str, int]:
    analyst = User.objects.get(username="analyst")
    states: dict[str, int] = {}
    planted = {(code, period, form): (item, factor, note) for code, period, form, item, factor, note in IMPLAUSIBLE}
    submissions = (
        Submission.objects.filter(period__cycle=cycle)
        .exclude(form__frequency=Frequency.PROGRESS)  # progress reports are written in demo.progress
        .select_related("period", "form", "city", "city__parent")
    )
    for submission in submissions.order_by("period__opens_on", "city__division_id", "form__order"):
        plan = _plan(submission, rng)
        if (submission.city.code, submission.period.code, submission.form.code) in planted:
            plan = "accepted"  # the planted values reach the accepted figures the analyst examines
        states[plan] = states.get(plan, 0) + 1
        if plan in {"upcoming", "none"}:
            continue
        city = cities[submission.city.code]
        reporter, approver = _users(submission.city)
        province = User.objects.get(organisation=submission.city.parent, role=Role.PROVINCE_REVIEWER)
        period = submission.period
        values = values_for(city, submission.form.code, period.ends_on)
        explanations: dict[str, str] = {}
        key = (city.org.code, period.code, submission.form.code)
        if key in planted:
            item, factor, note = planted[key]
            scaled = float(values[item]) * factor
            values[item] = _d(scaled) if "." in values[item] else _n(scaled)
            explanations[item] = note
        if plan == "late_accepted":
            sent_day = period.due_on + datetime.timedelta(days=rng.randint(3, 12))
        else:
            sent_day = period.due_on - datetime.timedelta(days=rng.randint(0, 7))
        sent_day = max(period.opens_on, min(sent_day, DEMO_TODAY))
        save_day = max(period.opens_on, sent_day - datetime.timedelta(days=1))
        with clock.at(_moment(save_day, 9, rng)):
            result = reporting.save_draft(
                actor=reporter, submission=submission, raw=values, explanations=explanations, base_version=0
            )
        # Explain every warning the way a city would (e.g. a seasonal jump), so the city can approve.
        reason = "与上期相比变化较大，经核实无误：季节性因素及统计范围调整。"
        needed = {m.code: reason for m in result.check.warnings} if result.check else {}
        if needed:
            with clock.at(_moment(save_day, 11, rng)):
                reporting.save_draft(
                    actor=reporter, submission=submission, raw={}, explanations=needed | explanations,
                    base_version=Submission.objects.get(pk=submission.pk).version,
                )  # fmt: skip
        if plan == "draft":
            continue
        submission.refresh_from_db()
        sent_at = _moment(sent_day, 15, rng)
        with clock.at(sent_at):
            reporting.approve_city(actor=approver, submission=submission, expected_version=submission.version)
            submission.refresh_from_db()
            reporting.submit(actor=approver, submission=submission, expected_version=submission.version)
        if plan == "submitted":
            continue
        submission.refresh_from_db()
        reviewed_at = _after(sent_at, rng.randint(1, 4), 10, rng)
        if plan == "returned":
            item = next(iter(values))
            with clock.at(reviewed_at):
                reporting.return_submission(
                    actor=province,
                    submission=submission,
                    reason="部分数据与运营商报表不一致，请核实后重新报送。",
                    item_comments={item: "请与运营商月报核对。"},
                    expected_version=submission.version,
                )
            continue
        with clock.at(reviewed_at):
            reporting.approve_province(actor=province, submission=submission, expected_version=submission.version)
        if plan == "province_approved":
            continue
        submission.refresh_from_db()
        with clock.at(_after(reviewed_at, rng.randint(1, 5), 14, rng)):
            reporting.accept(actor=analyst, submission=submission, expected_version=submission.version)
    return states
