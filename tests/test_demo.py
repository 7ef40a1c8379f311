"""The demonstration data loaded by `make run`: real places, two cohorts, the documented accounts."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from infocity.accounts.models import Role, User
from infocity.demo.loader import DEMO_PASSWORD, DemoRefused, load_demo
from infocity.demo.models import DemoDataset
from infocity.organisations.models import Cohort, Organisation, OrganisationKind


@pytest.fixture
def demo(db: None) -> None:
    load_demo()


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
        load_demo()
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
        client = Client()
        client.force_login(User.objects.get(username=username))
        for url in ("/", reverse("organisations:list"), "/no-such-page/"):
            html = client.get(url).content.decode()
            assert 'data-testid="demo-banner"' in html, (username, url)


def test_no_banner_without_demo_data(db: None) -> None:
    assert "demo-banner" not in Client().get("/accounts/login/").content.decode()
