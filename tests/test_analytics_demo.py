"""The analytics on the demonstration data of `make run` (loaded once for this module): the acceptance figures for
A01 and A02 agree in the dashboard table, the map, the CSV download and the PDF report; the planted implausible
values are flagged; recomputing any city and period incrementally leaves the rebuilt figures unchanged."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse

from infocity.accounts.models import User
from infocity.analytics import services
from infocity.analytics.models import AnalysisReport, Basis
from infocity.analytics.outliers import find_outliers
from infocity.demo.loader import load_demo
from infocity.organisations.models import Organisation
from infocity.reporting.models import Period, Submission

from .conftest import signed_in
from .test_analytics import snapshot

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """The full demonstration data once for the module, rolled back afterwards."""
    with (
        django_db_blocker.unblock(),
        override_settings(REPORTING_TODAY="2016-12-05", TASKS=IMMEDIATE),
        transaction.atomic(),
    ):
        load_demo()
        yield
        transaction.set_rollback(True)


@pytest.fixture
def analyst(demo: None, db: None, settings: Any) -> Client:
    settings.REPORTING_TODAY = "2016-12-05"
    return signed_in(User.objects.get(username="analyst"))


def cells(html: str, code: str) -> list[str]:
    row = re.search(rf'<tr data-indicator="{code}".*?</tr>', html, re.S)
    assert row, code
    return [re.sub(r"<[^>]+>|\s+", "", cell) for cell in re.findall(r"<td.*?</td>", row.group(0), re.S)]


def test_acceptance_a01_a02_agree_in_table_map_csv_and_pdf(analyst: Client, tmp_path: Path) -> None:
    page = analyst.get(reverse("analytics:dashboard"), {"indicator": "A02"})
    html = page.content.decode()
    a01, a02 = cells(html, "A01"), cells(html, "A02")
    # code, name, target, aggregate, met, not met, no value, share met
    assert a02[2].startswith("＞50%") and a01[2].startswith("＝100%")
    assert a02[3].endswith("%") and a01[3].endswith("%")
    assert int(a02[4]) > 0 and int(a01[4]) > 0
    # The map shades provinces by the share of their cities meeting A02's target, with every city as a point.
    option = page.context["map_chart"]
    shaded = option["series"][0]["data"]
    points = option["series"][1]["data"]
    assert shaded and points and all(0 <= p["value"] <= 100 for p in shaded)
    assert len(points) == len(page.context["cities"]) - sum(1 for c in page.context["cities"] if not c["centre"])

    data = list(
        csv.reader(
            io.StringIO(analyst.get(reverse("analytics:download", args=["attainment"])).content.decode("utf-8-sig"))
        )
    )
    by_code = {line[0]: line for line in data[1:]}
    for code, shown in (("A01", a01), ("A02", a02)):
        line = by_code[code]
        assert f"{line[5]}%" == shown[3] and line[6:9] == shown[4:7] and f"{line[9]}%" == shown[7], code

    period = page.context["selection"].period
    analyst.post(
        reverse("analytics:reports"), {"scope": services.national_scope().pk, "period": period.pk, "basis": "accepted"}
    )
    report = AnalysisReport.objects.latest("pk")
    assert report.status == AnalysisReport.Status.DONE, report.error
    path = tmp_path / "report.pdf"
    path.write_bytes(bytes(report.pdf or b""))
    pdftotext = shutil.which("pdftotext")
    assert pdftotext
    text = subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout  # noqa: S603
    for code, shown in (("A01", a01), ("A02", a02)):
        printed = next(x for x in text.splitlines() if x.strip().startswith(code) and shown[3] in x)
        numbers = printed.split()[-4:]  # met, not met, no value, share
        assert numbers == [*shown[4:7], shown[7]], (code, printed)


def test_the_planted_implausible_values_are_flagged(demo: None, db: None) -> None:
    planted = {("440100", "2016-H1", "F01"), ("510100", "2016-M09", "A05"), ("350500", "2016-Q3", "E04")}
    found = set()
    for _city, period_code, _code in planted:
        for flag in find_outliers(Period.objects.get(code=period_code), Basis.PROVISIONAL):
            found.add((flag["city"].division_id, period_code, flag["indicator"].code))
    assert planted <= found


def test_incremental_recompute_leaves_the_rebuilt_figures_unchanged(demo: None, db: None) -> None:
    before = snapshot()
    pairs = (
        Submission.objects.filter(period__cycle__year=2016, values__isnull=False)
        .values_list("city_id", "period_id")
        .distinct()
        .order_by("city_id", "period_id")
    )
    sample = list(pairs)[::17][:12]
    assert len(sample) >= 8
    for city_id, period_id in sample:
        # Forced: unchanged values would otherwise be left as they are, and the incremental path not exercised.
        services.recompute(Organisation.objects.get(pk=city_id), Period.objects.get(pk=period_id), force=True)
    after = snapshot()
    for key in before:
        assert before[key] == after[key], key


def test_a_city_page_assesses_progress_toward_the_year_end(analyst: Client) -> None:
    city = Organisation.objects.get(division_id="330100")
    rows = {r["indicator"].code: r for r in analyst.get(reverse("analytics:city", args=[city.pk])).context["rows"]}
    a01 = rows["A01"]  # quarterly, 2016 Q1–Q3 in the demo, target = 100 %
    assert a01["progress"] is not None and a01["progress"].label in {"进展顺利", "需要加快", "进展有限", "出现倒退"}
    assert a01["progress"].anticipated is not None


# The same demonstration data carries the cities' progress reports (issue: progress reports and applications).


def test_demo_progress_reports_stand_in_several_states_and_reach_the_queues(analyst: Client) -> None:
    from infocity.progress.models import TypicalApplication
    from infocity.reporting.stats import queue_for

    reports = Submission.objects.filter(form__code="P")
    h1_states = set(reports.filter(period__code="2016-R1").values_list("status", flat=True))
    year_states = set(reports.filter(period__code="2016-R2").values_list("status", flat=True))
    assert {"accepted", "submitted"} <= h1_states and len(h1_states) >= 3
    assert {"draft", "submitted", "province_approved", "accepted"} <= year_states
    assert reports.filter(period__code="2016-R1", returned=True, status="draft").exists()
    sent = reports.filter(period__code="2016-R2").exclude(status="draft")
    for report in sent:
        count = TypicalApplication.objects.filter(submission=report).count()
        assert 2 <= count <= 3, (report, count)
        assert not TypicalApplication.objects.filter(submission=report, endorsed_at__isnull=True).exists()
    assert "演示数据" in reports.exclude(report_sections=None).first().report_sections.first().html  # type: ignore[union-attr]
    # The province's and the analyst's queues list them; so does the progress report page.
    to_accept = {key: items for key, _label, items in queue_for(User.objects.get(username="analyst")).sections}
    assert any(s.form.code == "P" for s in to_accept["to_accept"])
    waiting = list(reports.filter(status="submitted"))
    reviewer = User.objects.get(role="province_reviewer", organisation=waiting[0].city.parent)
    queued = {key: items for key, _label, items in queue_for(reviewer).sections}["to_review"]
    assert any(s.pk == waiting[0].pk for s in queued)
    page = analyst.get("/progress/?period=R2&status=province_approved").content.decode()
    assert page.count('href="/progress/reports/') == reports.filter(period__code="2016-R2",
                                                                   status="province_approved").count()  # fmt: skip
    detail = analyst.get(f"/progress/reports/{sent.first().pk}/").content.decode()  # type: ignore[union-attr]
    assert "典型应用" in detail and "指标达标情况" in detail
