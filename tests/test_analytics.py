"""Monitoring analytics: indicator values and aggregates kept incrementally (and equal to a full rebuild), ratios
from summed parts, progress and outlier methods, scoped dashboards and downloads, outlier review, and the monitoring
analysis report as PDF and Excel from a background task."""

from __future__ import annotations

import csv
import datetime
import io
import shutil
import subprocess
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from infocity.accounts.models import Role
from infocity.accounts.services import create_account
from infocity.analytics import methods, reports, services
from infocity.analytics.models import (
    AggregatePart,
    AggregateValue,
    AnalysisReport,
    Attainment,
    Basis,
    IndicatorValue,
    OutlierReview,
)
from infocity.analytics.outliers import find_outliers, review
from infocity.audit.models import Action, AuditEvent
from infocity.frameworks.loading import EDITION_2016, load_edition_file
from infocity.organisations.models import Cohort
from infocity.organisations.services import add_cities_to_cohort, create_cohort
from infocity.reporting import clock
from infocity.reporting import services as reporting
from infocity.reporting.models import Notification, Period, ReportingCycle, Status, Submission

from .conftest import PASSWORD, Cast

# Each city's reporter, approver and provincial reviewer (the cast has them for 杭州; the rest are added below).
PEOPLE = {
    "hangzhou": ("city-hz", "city-hz-approver", "province-zj"),
    "jiaxing": ("city-jx", "city-jx-approver", "province-zj"),
    "guangzhou": ("city-gz", "city-gz-approver", "province-gd"),
}


def monthly(fbb: int, fast: int, ftth: int | None = None, mobile: int = 20000, lte: int = 12000) -> dict[str, str]:
    return {"FBB_USERS": str(fbb), "FBB_20M_USERS": str(fast), "FTTH_USERS": str(ftth if ftth is not None else fast),
            "MOBILE_USERS": str(mobile), "LTE_USERS": str(lte)}  # fmt: skip


def add_people(cast: Cast) -> None:
    """A reporter for 嘉兴 and approvers for 嘉兴 and 广州, so every city of PEOPLE can send its data."""
    for key, org in (("city-jx", "jiaxing"), ("city-jx-approver", "jiaxing"), ("city-gz-approver", "guangzhou")):
        role = Role.CITY_APPROVER if key.endswith("approver") else Role.CITY_REPORTER
        cast.users[key] = create_account(
            actor=None, username=key, full_name=key, organisation=cast.orgs[org], password=PASSWORD, role=role,
            must_change_password=False,
        )  # fmt: skip


@pytest.fixture
def cycle(cast: Cast, settings: Any) -> ReportingCycle:
    return cycle_2016(cast, settings)


def cycle_2016(cast: Cast, settings: Any) -> ReportingCycle:
    """The 2016 cycle on 5 December 2016, with a reporter and approvers for every city of PEOPLE."""
    settings.REPORTING_TODAY = "2016-12-05"
    add_people(cast)
    edition = load_edition_file(EDITION_2016)
    return reporting.create_cycle(
        actor=cast.users["ministry"], name="2016 年度监测", year=2016, edition=edition,
        cohorts=Cohort.objects.all(), forms=edition.forms.all(),
    )  # fmt: skip


def slot(cast: Cast, city: str, period: str, form: str = "M") -> Submission:
    return Submission.objects.get(city=cast.orgs[city], period__code=period, form__code=form)


def fresh(submission: Submission) -> Submission:
    return Submission.objects.get(pk=submission.pk)


def in_time(submission: Submission) -> Any:
    """Act two days before the period's due date (so past periods can still be filled)."""
    day = submission.period.due_on - datetime.timedelta(days=2)
    return clock.at(datetime.datetime.combine(day, datetime.time(10), tzinfo=ZoneInfo("Asia/Shanghai")))


def send(cast: Cast, city: str, period: str, values: dict[str, str], form: str = "M") -> Submission:
    """Fill, approve in the city and send to the province."""
    submission = slot(cast, city, period, form)
    with in_time(submission):
        return _send(cast, city, submission, values)


def _send(cast: Cast, city: str, submission: Submission, values: dict[str, str]) -> Submission:
    reporter, approver, _province = PEOPLE[city]
    result = reporting.save_draft(
        actor=cast.users[reporter], submission=submission, raw=values,
        explanations=dict.fromkeys(values, "测试数据：大幅变化属实。"), base_version=fresh(submission).version,
    )  # fmt: skip
    assert result.check is not None and not result.check.errors, result.check
    approved = reporting.approve_city(
        actor=cast.users[approver], submission=submission, expected_version=fresh(submission).version
    )
    return reporting.submit(actor=cast.users[approver], submission=approved, expected_version=approved.version)


def accept(cast: Cast, city: str, period: str, values: dict[str, str], form: str = "M") -> Submission:
    submission = slot(cast, city, period, form)
    with in_time(submission):
        sent = _send(cast, city, submission, values)
        approved = reporting.approve_province(
            actor=cast.users[PEOPLE[city][2]], submission=sent, expected_version=sent.version
        )
        return reporting.accept(actor=cast.users["analyst"], submission=approved, expected_version=approved.version)


def value(city: Any, period: str, code: str, basis: str = Basis.ACCEPTED) -> IndicatorValue:
    return IndicatorValue.objects.get(city=city, period__code=period, indicator__code=code, basis=basis)


def aggregate(scope: Any, period: str, code: str, basis: str = Basis.ACCEPTED) -> AggregateValue:
    return AggregateValue.objects.get(scope=scope, period__code=period, indicator__code=code, basis=basis)


# --- values and aggregates ------------------------------------------------------------------------


def test_ratios_are_recomputed_from_summed_parts(cast: Cast, cycle: ReportingCycle) -> None:
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200))
    accept(cast, "jiaxing", "2016-M11", monthly(1000, 900))
    hz = value(cast.orgs["hangzhou"], "2016-M11", "A02")
    assert hz.value == Decimal("62") and hz.attainment == Attainment.MET and hz.gap == Decimal("0")
    zhejiang = aggregate(cast.orgs["zhejiang"], "2016-M11", "A02")
    # (6200 + 900) ÷ (10000 + 1000) × 100 = 64.545454…, not the mean of 62 % and 90 % (76 %).
    assert zhejiang.value == Decimal("64.545455")
    assert (zhejiang.met, zhejiang.not_met, zhejiang.cities_included) == (2, 0, 2)
    nation = aggregate(services.national_scope(), "2016-M11", "A02")
    assert nation.value == Decimal("64.545455") and nation.met == 2


@pytest.mark.django_db(transaction=True)
def test_a_recomputation_called_on_its_own_is_one_transaction(cast: Cast, cycle: ReportingCycle) -> None:
    """Outside any transaction (a management command, a benchmark) the scope rows are still locked — on PostgreSQL
    select_for_update outside a transaction is an error — and the whole recomputation commits at once."""
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200))
    assert services.recompute(cast.orgs["hangzhou"], Period.objects.get(code="2016-M11"), force=True) > 0
    assert value(cast.orgs["hangzhou"], "2016-M11", "A02").value == Decimal("62")


def test_accepting_unchanged_data_leaves_the_provisional_basis_alone(cast: Cast, cycle: ReportingCycle) -> None:
    hz = cast.orgs["hangzhou"]

    def stored(period: str, basis: str) -> dict[int, Any]:
        rows = IndicatorValue.objects.filter(city=hz, period__code=period, basis=basis)
        return {row.pk: (row.computed_at, row.value) for row in rows}

    submission = send(cast, "hangzhou", "2016-M11", monthly(10000, 6200))
    # Sent: the month enters the provisional basis with the province's provisional aggregate; nothing is accepted.
    assert value(hz, "2016-M11", "A02", Basis.PROVISIONAL).value == Decimal("62")
    assert aggregate(cast.orgs["zhejiang"], "2016-M11", "A02", Basis.PROVISIONAL).value == Decimal("62")
    assert value(hz, "2016-M11", "A02").value is None
    provisional = stored("2016-M11", Basis.PROVISIONAL)
    assert provisional
    with in_time(submission):
        approved = reporting.approve_province(
            actor=cast.users["province-zj"], submission=submission, expected_version=submission.version
        )
        reporting.accept(actor=cast.users["analyst"], submission=approved, expected_version=approved.version)
    # Accepted as sent: the accepted basis takes the values and their aggregates …
    assert value(hz, "2016-M11", "A02").value == Decimal("62")
    assert aggregate(cast.orgs["zhejiang"], "2016-M11", "A02").value == Decimal("62")
    # … and the provisional basis, which did not change, is not rewritten.
    assert stored("2016-M11", Basis.PROVISIONAL) == provisional
    assert aggregate(cast.orgs["zhejiang"], "2016-M11", "A02", Basis.PROVISIONAL).value == Decimal("62")


def test_data_in_review_is_provisional_until_accepted(cast: Cast, cycle: ReportingCycle) -> None:
    sent = send(cast, "guangzhou", "2016-M11", monthly(40000, 2000))
    provisional = value(cast.orgs["guangzhou"], "2016-M11", "A02", Basis.PROVISIONAL)
    assert provisional.value == Decimal("5") and provisional.attainment == Attainment.NOT_MET
    assert provisional.gap == Decimal("45")  # 45 points short of "> 50 %"
    assert value(cast.orgs["guangzhou"], "2016-M11", "A02").value is None  # nothing accepted yet
    # Returned to the city: it leaves the provisional figures too.
    reporting.return_submission(
        actor=cast.users["province-gd"], submission=sent, reason="请核实。", expected_version=sent.version
    )
    assert value(cast.orgs["guangzhou"], "2016-M11", "A02", Basis.PROVISIONAL).value is None
    assert aggregate(cast.orgs["guangdong"], "2016-M11", "A02", Basis.PROVISIONAL).value is None


def snapshot() -> dict[str, set[tuple[Any, ...]]]:
    return {
        "values": set(
            IndicatorValue.objects.values_list(
                "period_id", "city_id", "indicator_id", "basis", "value", "missing_reason", "previous_value",
                "attainment", "gap",
            )
        ),
        "parts": {
            (*row[:-1], tuple(sorted(row[-1].items())))
            for row in IndicatorValue.objects.values_list("period_id", "city_id", "indicator_id", "basis", "parts")
        },
        "sums": set(
            AggregatePart.objects.exclude(cities=0).values_list(
                "period_id", "scope_id", "indicator_id", "basis", "item_code", "total", "cities"
            )
        ),
        "aggregates": set(
            AggregateValue.objects.values_list(
                "period_id", "scope_id", "indicator_id", "basis", "value", "cities_included", "met", "not_met",
                "no_value",
            )
        ),
    }  # fmt: skip


def test_incremental_updates_equal_a_full_rebuild(cast: Cast, cycle: ReportingCycle) -> None:
    """Accept, return, unlock and correct in an order that exercises the running sums; then rebuild everything
    from scratch: every value, part, sum and aggregate is the same."""
    accept(cast, "hangzhou", "2016-M10", monthly(10000, 6000, lte=11000))
    accept(cast, "hangzhou", "2016-M11", monthly(10100, 6200))
    accept(cast, "guangzhou", "2016-M11", monthly(40000, 18000))
    send(cast, "jiaxing", "2016-M11", monthly(1000, 900))
    accept(cast, "jiaxing", "2016-M10", monthly(990, 880))  # an earlier period after a later one: prev() moves
    accept(cast, "guangzhou", "2016-M09", monthly(39000, 17000))  # the period before M10, where 广州 is absent
    # Unlock an accepted submission and correct one figure.
    accepted = slot(cast, "guangzhou", "2016-M11")
    unlock = reporting.request_unlock(
        actor=cast.users["city-gz"], submission=accepted, items=["FBB_20M_USERS"], reason="运营商更正了数据。"
    )
    reporting.decide_unlock(actor=cast.users["analyst"], unlock=unlock, grant=True)
    assert value(cast.orgs["guangzhou"], "2016-M11", "A02").value is None  # left the accepted figures
    accept(cast, "guangzhou", "2016-M11", {"FBB_20M_USERS": "22000"})
    assert value(cast.orgs["guangzhou"], "2016-M11", "A02").value == Decimal("55")

    # A draft 嘉兴 is still typing is in no figure — for the incremental update and the rebuild alike.
    draft = slot(cast, "jiaxing", "2016-M09")
    with in_time(draft):
        reporting.save_draft(actor=cast.users["city-jx"], submission=draft, raw=monthly(950, 800), explanations={},
                             base_version=0)  # fmt: skip

    incremental = snapshot()
    assert incremental["aggregates"] and incremental["sums"]
    services.rebuild()
    rebuilt = snapshot()
    for key in incremental:
        assert incremental[key] == rebuilt[key], key


def test_previous_period_and_rising_targets(cast: Cast, cycle: ReportingCycle) -> None:
    accept(cast, "hangzhou", "2016-M10", monthly(10000, 6000, lte=11000))
    accept(cast, "hangzhou", "2016-M11", monthly(10100, 6200, lte=11500))
    a05 = value(cast.orgs["hangzhou"], "2016-M11", "A05")  # 4G share, target: rising
    assert a05.previous_value == Decimal("55") and a05.value == Decimal("57.5")
    assert a05.attainment == Attainment.MET


# --- methods --------------------------------------------------------------------------------------


def d(month: int, day: int = 28) -> datetime.date:
    return datetime.date(2016, month, day)


def test_progress_assessment_categories() -> None:
    end = datetime.date(2016, 12, 31)
    # 40 → 45 over the first half: the pace needed to reach 60 by the year end is about twice that.
    slow = methods.assess_progress([(d(1, 1), 40.0), (d(7, 1), 45.0)], 60, ">=", end)
    assert slow is not None and slow.status == methods.LIMITED and 0 < (slow.ratio or 0) < 0.6
    fast = methods.assess_progress([(d(1, 1), 40.0), (d(7, 1), 50.0)], 60, ">=", end)
    assert fast is not None and fast.status == methods.ON_TRACK
    middle = methods.assess_progress([(d(1, 1), 40.0), (d(7, 1), 46.5)], 60, ">=", end)
    assert middle is not None and middle.status == methods.ACCELERATE
    worse = methods.assess_progress([(d(1, 1), 40.0), (d(7, 1), 38.0)], 60, ">=", end)
    assert worse is not None and worse.status == methods.DETERIORATING and (worse.ratio or 0) < 0
    met = methods.assess_progress([(d(1, 1), 40.0), (d(7, 1), 61.0)], 60, ">=", end)
    assert met is not None and met.status == methods.ON_TRACK and met.ratio is None
    assert methods.assess_progress([(d(1, 1), 40.0)], 60, ">=", end) is None


def test_anticipated_value_is_a_time_weighted_line() -> None:
    # On a straight line every weighting gives the line itself.
    line = [(d(1, 1), 10.0), (d(4, 1), 13.0), (d(7, 1), 16.0)]
    slope_per_day = 6.0 / (d(7, 1) - d(1, 1)).days
    anticipated = methods.anticipated_value(line, d(12, 31))
    assert anticipated == pytest.approx(10 + slope_per_day * (d(12, 31) - d(1, 1)).days, rel=1e-9)
    # Recent observations weigh more: a late jump pulls the line up more than an early one would.
    late = methods.anticipated_value([(d(1, 1), 10.0), (d(4, 1), 10.0), (d(7, 1), 16.0)], d(12, 31))
    early = methods.anticipated_value([(d(1, 1), 4.0), (d(4, 1), 10.0), (d(7, 1), 10.0)], d(12, 31))
    assert late is not None and early is not None and late > 20 > early


def test_outlier_methods() -> None:
    peers = {1: 50.0, 2: 52.0, 3: 49.0, 4: 51.0, 5: 50.5, 6: 48.0, 7: 95.0}
    flags = methods.outliers(peers, previous={1: 30.0, 2: 51.0})
    by_method = {(f.key, f.method) for f in flags}
    # median 50.5, MAD 1.0 → M = 0.6745 × 44.5 ≈ 30 for the 95
    assert (7, "modified_z") in by_method
    assert (1, "change") in by_method and (2, "change") not in by_method  # +66.7 % vs +2 %
    assert not any(key in {3, 4, 5, 6} for key, _ in by_method)
    # With few peers the z-score cannot exceed 3 (its maximum is (n − 1) ÷ √n); the modified z still flags.
    assert (7, "z") not in by_method
    many = {i: 50.0 + (i % 5) for i in range(40)} | {99: 500.0}
    assert any(f.key == 99 and f.method == "z" for f in methods.outliers(many))


# --- dashboards and downloads ---------------------------------------------------------------------


def test_dashboards_are_scoped(cast: Cast, cycle: ReportingCycle) -> None:
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200))
    accept(cast, "guangzhou", "2016-M11", monthly(40000, 2000))
    analyst = cast.client("analyst")
    page = analyst.get(reverse("analytics:dashboard"), {"indicator": "A02"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "杭州市" in html and "广州市" in html and 'data-testid="map"' in html
    # The province sees its own cities and nothing of another province.
    zj = cast.client("province-zj")
    html = zj.get(reverse("analytics:dashboard"), {"indicator": "A02"}).content.decode()
    assert "杭州市" in html and "广州市" not in html and 'data-testid="map"' not in html
    assert zj.get(reverse("analytics:dashboard"), {"scope": cast.orgs["guangdong"].pk}).status_code == 404
    assert zj.get(reverse("analytics:city", args=[cast.orgs["guangzhou"].pk])).status_code == 404
    cities_csv = zj.get(reverse("analytics:download", args=["cities"]), {"indicator": "A02"}).content.decode()
    assert "杭州市" in cities_csv and "广州市" not in cities_csv
    assert zj.get(reverse("analytics:download", args=["provinces"])).status_code == 404
    # A city is sent to its own page and cannot open another city's.
    hz = cast.client("city-hz")
    response = hz.get(reverse("analytics:dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("analytics:city", args=[cast.orgs["hangzhou"].pk])
    )
    assert hz.get(reverse("analytics:city", args=[cast.orgs["guangzhou"].pk])).status_code == 404
    assert hz.get(reverse("analytics:download", args=["cities"])).status_code == 403
    other = hz.get(reverse("analytics:download", args=["city"]), {"city": cast.orgs["guangzhou"].pk})
    assert other.status_code == 404
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor=cast.users["city-hz"]).exists()
    # Roles without monitoring duties have no dashboard.
    assert cast.client("expert").get(reverse("analytics:dashboard")).status_code == 403


def test_a_city_compares_itself_with_accepted_national_figures_only(cast: Cast, cycle: ReportingCycle) -> None:
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200))
    send(cast, "guangzhou", "2016-M11", monthly(40000, 2000))  # in review: not part of what 杭州 may see
    hz = cast.client("city-hz")
    url = reverse("analytics:city", args=[cast.orgs["hangzhou"].pk])
    rows = {r["indicator"].code: r for r in hz.get(url, {"basis": "provisional"}).context["rows"]}
    assert rows["A02"]["national"] == Decimal("62")  # 杭州's own accepted figure is the whole national picture
    analyst_rows = {
        r["indicator"].code: r for r in cast.client("analyst").get(url, {"basis": "provisional"}).context["rows"]
    }
    assert analyst_rows["A02"]["national"] == Decimal("16.4")  # (6200 + 2000) ÷ 50000
    # The trend chart's data: the city and the nation (accepted), without the province for a city user.
    trend = hz.get(
        reverse("analytics:download", args=["trend"]), {"city": str(cast.orgs["hangzhou"].pk), "indicator": "A02"}
    )
    lines = trend.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "报告期,杭州市（%）,全国（%）" and "2016年11月,62.0,62.0" in lines
    other = hz.get(reverse("analytics:download", args=["trend"]), {"city": cast.orgs["guangzhou"].pk})
    assert other.status_code == 404


def test_csv_has_the_figures_of_the_table(cast: Cast, cycle: ReportingCycle) -> None:
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200))
    accept(cast, "jiaxing", "2016-M11", monthly(3000, 1000))
    analyst = cast.client("analyst")
    page = analyst.get(reverse("analytics:dashboard"))
    row = next(r for r in page.context["rows"] if r.indicator.code == "A02")
    assert (row.met, row.not_met) == (1, 1) and row.share_percent == 50
    html = page.content.decode()
    assert "55.4%" in html  # (6200 + 1000) ÷ 13000 = 55.38…
    response = analyst.get(reverse("analytics:download", args=["attainment"]))
    assert response["Content-Type"].startswith("text/csv")
    data = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    a02 = next(line for line in data if line[0] == "A02")
    assert a02[5:10] == ["55.4", "1", "1", "0", "50.0"]
    assert AuditEvent.objects.filter(action=Action.REPORT_EXPORT, actor=cast.users["analyst"]).exists()


def test_cohort_filter_recomputes_the_aggregate_for_its_cities(cast: Cast, cycle: ReportingCycle) -> None:
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200))
    accept(cast, "guangzhou", "2016-M11", monthly(40000, 2000))
    only_hz = create_cohort(actor=None, name="试点批次", year=2016)
    add_cities_to_cohort(
        actor=None, cohort=only_hz, cities=[cast.orgs["hangzhou"]], joined_on=datetime.date(2016, 1, 1)
    )
    cycle.cohorts.add(only_hz)
    page = cast.client("analyst").get(reverse("analytics:dashboard"), {"cohort": str(only_hz.pk), "indicator": "A02"})
    row = next(r for r in page.context["rows"] if r.indicator.code == "A02")
    assert row.value == Decimal("62") and (row.met, row.not_met) == (1, 0)
    assert [c["city"].name for c in page.context["cities"]] == ["杭州市"]


# --- outliers -------------------------------------------------------------------------------------


def test_outlier_review_explained_or_queried(cast: Cast, cycle: ReportingCycle) -> None:
    accept(cast, "hangzhou", "2016-M10", monthly(10000, 6000, lte=11000))
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200, lte=11000, mobile=12000))  # 4G share 55 % → 91.7 %
    period = Period.objects.get(code="2016-M11")
    flags = find_outliers(period, Basis.PROVISIONAL)
    flagged = next(f for f in flags if f["indicator"].code == "A05")
    assert flagged["city"] == cast.orgs["hangzhou"] and flagged["flags"][0]["method"] == "change"

    analyst = cast.client("analyst")
    page = analyst.get(reverse("analytics:outliers"), {"period": period.pk, "cycle": cycle.pk})
    assert page.status_code == 200 and "A05" in page.content.decode()
    response = analyst.post(
        reverse("analytics:outlier_review"), {"value": flagged["value"].pk, "decision": "queried", "note": ""}
    )
    assert response.status_code == 302 and not OutlierReview.objects.exists()  # a note is required
    analyst.post(
        reverse("analytics:outlier_review"),
        {"value": flagged["value"].pk, "decision": "queried", "note": "移动用户数较上月减少 40%，请核实。"},
    )
    decided = OutlierReview.objects.get()
    assert decided.status == OutlierReview.Status.QUERIED and decided.reviewed_by == cast.users["analyst"]
    note = Notification.objects.get(user=cast.users["city-hz"], event_key=f"outlier:{decided.pk}")
    assert "A05" in note.title and "请核实" in note.body
    assert AuditEvent.objects.filter(action=Action.OUTLIER_REVIEW, object_id=str(decided.pk)).exists()
    # The city sees the query on its dashboard.
    city_page = cast.client("city-hz").get(reverse("analytics:city", args=[cast.orgs["hangzhou"].pk]))
    assert "移动用户数较上月减少 40%" in city_page.content.decode()
    # A second decision (another tab) does not overwrite the first.
    with pytest.raises(ValidationError, match="已由"):
        review(actor=cast.users["analyst"], value=flagged["value"], decision="explained", note="属实")
    assert OutlierReview.objects.get().status == OutlierReview.Status.QUERIED
    # Only the monitoring agency reviews outliers.
    assert cast.client("ministry").get(reverse("analytics:outliers")).status_code == 403
    post = cast.client("province-zj").post(reverse("analytics:outlier_review"), {"value": flagged["value"].pk})
    assert post.status_code == 403


# --- the monitoring analysis report ---------------------------------------------------------------


def poppler(tool: str, *args: str) -> str:
    """Run a poppler-utils tool (installed by .ci/run) the way a person would open the PDF."""
    executable = shutil.which(tool)
    assert executable, f"{tool} 未安装（apt-get install poppler-utils）"
    return subprocess.run([executable, *args], capture_output=True, text=True, check=True).stdout  # noqa: S603


def test_report_pdf_shows_chinese_and_excel_has_the_same_figures(
    cast: Cast, cycle: ReportingCycle, tmp_path: Path
) -> None:
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200))
    accept(cast, "jiaxing", "2016-M11", monthly(3000, 1000))
    period = Period.objects.get(code="2016-M11")
    analyst = cast.client("analyst")
    response = analyst.post(
        reverse("analytics:reports"),
        {"scope": services.national_scope().pk, "period": period.pk, "basis": "accepted"},
    )
    report = AnalysisReport.objects.get()
    assert response["Location"] == reverse("analytics:report", args=[report.pk])
    assert report.status == AnalysisReport.Status.DONE and report.progress == 100, report.error
    status = analyst.get(reverse("analytics:report", args=[report.pk]), headers={"HX-Request": "true"})
    assert 'data-status="done"' in status.content.decode()

    pdf = analyst.get(reverse("analytics:report_file", args=[report.pk, "pdf"]))
    assert pdf["Content-Type"] == "application/pdf"
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.content)
    fonts = poppler("pdffonts", str(path))
    assert "NotoSansCJK" in fonts.replace("-", "").replace(" ", "") and " yes " in fonts  # embedded
    text = poppler("pdftotext", "-layout", str(path), "-")
    assert "全国信息消费示范城市监测分析报告" in text and "各指标达标情况" in text and "异常值" in text
    a02 = next(line for line in text.splitlines() if line.strip().startswith("A02") and "%" in line)
    assert "55.4%" in a02 and "50.0%" in a02
    # Render the pages to images as a reader would see them: every page has ink on it.
    poppler("pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page"))
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    from PIL import Image

    for page_file in pages:
        with Image.open(page_file) as image:
            darkest, _lightest = image.convert("L").getextrema()
            assert isinstance(darkest, int) and darkest < 100, page_file.name

    xlsx = analyst.get(reverse("analytics:report_file", args=[report.pk, "xlsx"]))
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames[:3] == ["概况", "指标达标", "城市达标"] and "附录-异常值" in book.sheetnames
    rows = {row[0]: row for row in book["指标达标"].iter_rows(min_row=2, values_only=True)}
    assert rows["A02"][5:10] == ("55.4", 1, 1, 0, "50.0")
    assert AuditEvent.objects.filter(action=Action.REPORT_GENERATE, object_id=str(report.pk)).exists()


def test_reports_are_scoped_and_city_reports_work(cast: Cast, cycle: ReportingCycle) -> None:
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200))
    period = Period.objects.get(code="2016-M11")
    hz = cast.client("city-hz")
    page = hz.get(reverse("analytics:reports"))
    assert [s.pk for s in page.context["scopes"]] == [cast.orgs["hangzhou"].pk]
    # Asking for another city's report is refused without creating anything.
    hz.post(
        reverse("analytics:reports"), {"scope": cast.orgs["guangzhou"].pk, "period": period.pk, "basis": "accepted"}
    )
    assert not AnalysisReport.objects.exists()
    hz.post(reverse("analytics:reports"), {"scope": cast.orgs["hangzhou"].pk, "period": period.pk, "basis": "accepted"})
    report = AnalysisReport.objects.get()
    assert report.status == AnalysisReport.Status.DONE, report.error
    assert report.pdf and bytes(report.pdf).startswith(b"%PDF")
    # The province sees the report on its city; another province and its cities do not.
    assert cast.client("province-zj").get(reverse("analytics:report", args=[report.pk])).status_code == 200
    assert cast.client("province-gd").get(reverse("analytics:report_file", args=[report.pk, "pdf"])).status_code == 404
    assert cast.client("city-gz").get(reverse("analytics:report", args=[report.pk])).status_code == 404


@pytest.mark.django_db(transaction=True)  # the worker commits and closes its connection, as in production
def test_report_runs_in_the_database_worker(cast: Cast, cycle: ReportingCycle, settings: Any) -> None:
    """With the production backend the request only queues the report; `manage.py db_worker` generates it."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200))
    period = Period.objects.get(code="2016-M11")
    report = reports.request_report(
        actor=cast.users["analyst"], scope=cast.orgs["zhejiang"], period=period, basis=Basis.ACCEPTED
    )
    assert report.status == AnalysisReport.Status.QUEUED
    # Asking again while it waits gives the same report, not a second one.
    again = reports.request_report(
        actor=cast.users["analyst"], scope=cast.orgs["zhejiang"], period=period, basis=Basis.ACCEPTED
    )
    assert again.pk == report.pk
    page = cast.client("analyst").get(reverse("analytics:report", args=[report.pk]))
    assert 'hx-trigger="every 2s"' in page.content.decode()
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    report.refresh_from_db()
    assert report.status == AnalysisReport.Status.DONE and report.xlsx, report.error


def test_a_failing_report_says_so(cast: Cast, cycle: ReportingCycle, monkeypatch: pytest.MonkeyPatch) -> None:
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200))

    def broken(_content: Any) -> bytes:
        raise OSError("磁盘已满")

    monkeypatch.setattr(reports, "render_pdf", broken)
    report = reports.request_report(
        actor=cast.users["analyst"], scope=cast.orgs["hangzhou"], period=Period.objects.get(code="2016-M11"),
        basis=Basis.ACCEPTED,
    )  # fmt: skip
    report.refresh_from_db()
    assert report.status == AnalysisReport.Status.FAILED and "磁盘已满" in report.error
    page = cast.client("analyst").get(reverse("analytics:report", args=[report.pk])).content.decode()
    assert "报告生成失败" in page
    assert cast.client("analyst").get(reverse("analytics:report_file", args=[report.pk, "pdf"])).status_code == 404


def test_csv_cells_cannot_become_formulas() -> None:
    from infocity.analytics.views import _safe

    assert _safe("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _safe("@SUM(A1)") == "'@SUM(A1)"
    assert _safe("-12.5") == "-12.5" and _safe(None) == ""
    assert reports._cell("+cmd") == "'+cmd" and reports._cell("-3") == "-3"


def test_no_value_when_nothing_reported(cast: Cast, cycle: ReportingCycle) -> None:
    """A city that has entered nothing for a period is not in that period's figures at all."""
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200))
    assert not IndicatorValue.objects.filter(city=cast.orgs["guangzhou"]).exists()
    assert Submission.objects.filter(city=cast.orgs["guangzhou"], status=Status.DRAFT).exists()


def test_hostile_query_strings_get_answers_not_errors(cast: Cast, cycle: ReportingCycle) -> None:
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200))
    hz = str(cast.orgs["hangzhou"].pk)
    for username in ("analyst", "province-zj", "city-hz"):
        client = cast.client(username)
        for url, params in (
            ("/analytics/", {"cohort": "²"}), ("/analytics/", {"scope": "²"}), ("/analytics/", {"period": "٣"}),
            (f"/analytics/cities/{hz}/", {"cohort": "²", "indicator": "<script>"}),
            ("/analytics/download/city.csv", {"city": "²"}), ("/analytics/download/trend.csv", {"city": "9" * 30}),
        ):  # fmt: skip
            assert client.get(url, params).status_code in {200, 302, 403, 404}, (username, url, params)
        assert client.post("/analytics/reports/", {"period": "²", "scope": "x", "basis": "?"}).status_code in {200, 302}
    assert cast.client("analyst").post("/analytics/outliers/review/", {"value": "²"}).status_code == 404


def test_province_reviewers_compare_with_accepted_national_figures(cast: Cast, cycle: ReportingCycle) -> None:
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200))
    send(cast, "guangzhou", "2016-M11", monthly(40000, 2000))  # another province's data in review
    url = reverse("analytics:city", args=[cast.orgs["hangzhou"].pk])
    rows = {
        r["indicator"].code: r for r in cast.client("province-zj").get(url, {"basis": "provisional"}).context["rows"]
    }
    assert rows["A02"]["national"] == Decimal("62")


def test_a_result_too_large_to_store_is_no_value_with_its_reason(cast: Cast, cycle: ReportingCycle) -> None:
    accept(cast, "hangzhou", "2016-M11", monthly(10000, 6200))
    period = Period.objects.get(code="2016-M11")
    huge = services._in_range(Fraction(10**20))
    assert huge is not None and not huge and "超出" in huge.reason  # type: ignore[union-attr]
    assert services._decimal(Fraction(10**20)) is None
    assert services.recompute(cast.orgs["hangzhou"], period, force=True) > 0
