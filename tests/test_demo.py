"""The demonstration data loaded by `make run`: real places, two cohorts, the documented accounts."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from infocity.accounts.models import Role, User
from infocity.demo.loader import DEMO_PASSWORD, DemoRefused, load_demo
from infocity.demo.models import DemoDataset
from infocity.organisations.models import Cohort, Organisation, OrganisationKind
from infocity.reporting.models import DataValue, ReportingCycle, Status, Submission

from .conftest import signed_in


@pytest.fixture
def demo(db: None) -> None:
    load_demo(monitoring=False)


def test_cities_and_provinces(demo: None) -> None:
    cities = Organisation.objects.filter(kind=OrganisationKind.CITY)
    assert 28 <= cities.count() <= 35
    provinces = {c.division.code[:2] for c in cities.select_related("division")}  # type: ignore[union-attr]
    assert len(provinces) >= 10
    # Every city's code is a real division code and the city sits under its province's department.
    for city in cities.select_related("division", "parent__division"):
        assert city.division is not None and city.parent is not None and city.parent.division is not None
        assert city.name == city.division.name
        assert city.parent.division.code in {city.division.code, city.division.parent_id}


def test_cohorts(demo: None) -> None:
    pilot = Cohort.objects.get(name="2016 试运行监测")
    full = Cohort.objects.get(name="2016 全面监测")
    assert pilot.memberships.count() == 12
    assert full.memberships.count() == Organisation.objects.filter(kind=OrganisationKind.CITY).count()
    assert set(pilot.memberships.values_list("city", flat=True)) <= set(full.memberships.values_list("city", flat=True))


def test_documented_accounts_exist_and_log_in(demo: None) -> None:
    fixed = {
        "sysadmin": Role.SYSADMIN,
        "secadmin": Role.SECADMIN,
        "auditor": Role.AUDITOR,
        "ministry": Role.MINISTRY,
        "analyst": Role.ANALYST,
        **{f"expert{i}": Role.EXPERT for i in range(1, 6)},
    }
    for username, role in fixed.items():
        assert User.objects.get(username=username).role == role
    for city in Organisation.objects.filter(kind=OrganisationKind.CITY):
        assert User.objects.get(username=f"city-{city.code}").role == Role.CITY_REPORTER
        assert User.objects.get(username=f"city-{city.code}-approver").role == Role.CITY_APPROVER
    for province in Organisation.objects.filter(kind=OrganisationKind.PROVINCE):
        assert User.objects.get(username=f"province-{province.code}").role == Role.PROVINCE_REVIEWER
    client = Client()
    response = client.post("/accounts/login/", {"username": "city-330100", "password": DEMO_PASSWORD})
    assert response["Location"] == "/"
    assert "杭州市" in client.get("/").content.decode()


def test_loading_twice_changes_nothing(demo: None) -> None:
    before = User.objects.count()
    with pytest.raises(DemoRefused):
        load_demo(monitoring=False)
    call_command("load_demo")  # the command reports and returns
    assert User.objects.count() == before
    assert DemoDataset.objects.count() == 1


def test_refuses_a_database_with_real_data(db: None) -> None:
    from infocity.organisations.services import create_organisation

    create_organisation(actor=None, kind=OrganisationKind.MINISTRY, name="工业和信息化部")
    with pytest.raises(DemoRefused, match="非演示数据"):
        load_demo()
    assert not DemoDataset.objects.exists()


def test_every_page_says_demo_data(demo: None) -> None:
    anon = Client()
    assert "演示数据" in anon.get("/accounts/login/").content.decode()
    for username in ("ministry", "city-330100", "auditor", "sysadmin", "province-330000"):
        client = signed_in(User.objects.get(username=username))
        for url in ("/", reverse("organisations:list"), "/no-such-page/"):
            html = client.get(url).content.decode()
            assert 'data-testid="demo-banner"' in html, (username, url)


def test_no_banner_without_demo_data(db: None) -> None:
    assert "demo-banner" not in Client().get("/accounts/login/").content.decode()


def test_monitoring_data_shows_every_state(db: None, settings: Any) -> None:
    """The 2016 cycle on the demo day: accepted, waiting for a province or the agency, returned, late, missing;
    2015 accepted for comparison; the planted implausible values are in place and explained."""
    settings.REPORTING_TODAY = "2016-12-05"
    load_demo()
    cycle = ReportingCycle.objects.get(year=2016)
    submissions = Submission.objects.filter(period__cycle=cycle)
    states = set(submissions.values_list("status", flat=True))
    assert states == {Status.DRAFT, Status.SUBMITTED, Status.PROVINCE_APPROVED, Status.ACCEPTED}
    assert submissions.filter(returned=True).exists()
    due = submissions.filter(period__due_on__lt=datetime.date(2016, 12, 5))
    assert due.filter(first_submitted_at__isnull=True).exists()  # missing
    assert any(not s.on_time for s in due.filter(first_submitted_at__isnull=False))  # late
    accepted_2015 = Submission.objects.filter(period__cycle__year=2015)
    assert accepted_2015.exists() and not accepted_2015.exclude(status=Status.ACCEPTED).exists()
    planted = DataValue.objects.get(
        submission__city__division_id="440100", submission__period__code="2016-H1", item__code="MAKER_SPACES"
    )
    assert "口径" in planted.explanation
    # Every demo role lands on a work queue with real items.
    for username in ("city-330100", "city-330100-approver", "province-440000", "analyst"):
        client = signed_in(User.objects.get(username=username))
        assert client.get("/").context["queue"].total > 0, username
