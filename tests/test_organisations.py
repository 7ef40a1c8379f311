"""The organisation tree on real GB/T 2260 codes, and cohorts."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from infocity.audit.models import Action, AuditEvent
from infocity.organisations.divisions import read_divisions
from infocity.organisations.models import Cohort, Division, Organisation, OrganisationKind
from infocity.organisations.services import add_cities_to_cohort, create_organisation

from .conftest import Cast

K = OrganisationKind


def test_shipped_division_list_is_complete(db: None) -> None:
    provinces = Division.objects.filter(level=Division.Level.PROVINCE)
    assert provinces.count() == 31
    assert Division.objects.filter(level=Division.Level.PREFECTURE).count() == 333
    assert Division.objects.get(code="330100").name == "杭州市"
    assert Division.objects.get(code="330100").parent_id == "330000"
    assert Division.objects.get(code="540000").name == "西藏自治区"
    assert set(Division.objects.filter(separately_planned=True).values_list("name", flat=True)) == {
        "大连市",
        "宁波市",
        "厦门市",
        "青岛市",
        "深圳市",
    }
    assert all(len(code) == 6 and code.isdigit() for code in Division.objects.values_list("code", flat=True))
    # Statistical placeholders are not cities.
    assert not Division.objects.filter(name__in=["市辖区", "县", "省直辖县级行政区划"]).exists()


def test_load_divisions_is_idempotent_and_updates_names(db: None, tmp_path: object) -> None:
    call_command("load_divisions")
    assert Division.objects.count() == len(read_divisions())
    Division.objects.filter(code="330100").update(name="旧名")
    call_command("load_divisions")
    assert Division.objects.get(code="330100").name == "杭州市"


def test_materialised_path_gives_the_subtree(cast: Cast) -> None:
    zhejiang = cast.orgs["zhejiang"]
    subtree = Organisation.objects.filter(path__startswith=zhejiang.path)
    assert {o.name for o in subtree} == {"浙江省", "杭州市", "嘉兴市", "电信杭州分公司"}
    assert cast.orgs["hangzhou"].province() == zhejiang
    assert cast.orgs["ningbo"].province() == cast.orgs["ningbo-plan"]
    assert cast.orgs["hangzhou"].depth == 2


def test_city_must_lie_in_its_province(cast: Cast) -> None:
    with pytest.raises(ValidationError, match="不属于 浙江省"):
        create_organisation(
            actor=None,
            kind=K.CITY,
            name="广州市",
            parent=cast.orgs["zhejiang"],
            division=Division.objects.get(code="440600"),
        )


def test_separately_planned_city_sits_under_its_own_department(cast: Cast) -> None:
    with pytest.raises(ValidationError, match="计划单列市"):
        create_organisation(
            actor=None,
            kind=K.CITY,
            name="深圳市",
            parent=cast.orgs["guangdong"],
            division=Division.objects.get(code="440300"),
        )


def test_municipality_is_its_own_city(cast: Cast) -> None:
    shanghai = create_organisation(
        actor=None,
        kind=K.PROVINCE,
        name="上海市",
        parent=cast.orgs["ministry"],
        division=Division.objects.get(code="310000"),
    )
    city = create_organisation(
        actor=None, kind=K.CITY, name="上海市", parent=shanghai, division=Division.objects.get(code="310000")
    )
    assert city.province() == shanghai


def test_one_city_per_place(cast: Cast) -> None:
    with pytest.raises(ValidationError, match="已有示范城市"):
        create_organisation(
            actor=None,
            kind=K.CITY,
            name="杭州市",
            parent=cast.orgs["zhejiang"],
            division=Division.objects.get(code="330100"),
        )


def test_kinds_fit_the_tree(cast: Cast) -> None:
    with pytest.raises(ValidationError, match="不能设在"):
        create_organisation(actor=None, kind=K.CITY, name="x", parent=cast.orgs["ministry"])
    with pytest.raises(ValidationError, match="只能有一个部委根机构"):
        create_organisation(actor=None, kind=K.MINISTRY, name="又一个部委")
    with pytest.raises(ValidationError, match="省级行政区划或计划单列市"):
        create_organisation(
            actor=None,
            kind=K.PROVINCE,
            name="x",
            parent=cast.orgs["ministry"],
            division=Division.objects.get(code="330400"),
        )


def test_creation_is_audited(cast: Cast) -> None:
    event = AuditEvent.objects.filter(action=Action.ORGANISATION_CREATE, object_id=str(cast.orgs["hangzhou"].pk))
    assert event.get().detail == {"kind": "city"}


def test_adding_cities_to_a_cohort_is_idempotent_and_dated(cast: Cast) -> None:
    cohort = Cohort.objects.get(name="2016 试运行监测")
    added = add_cities_to_cohort(
        actor=None,
        cohort=cohort,
        cities=[cast.orgs["hangzhou"], cast.orgs["jiaxing"]],
        joined_on=datetime.date(2016, 9, 1),
    )
    assert added == [cast.orgs["jiaxing"]]
    joined = dict(cohort.memberships.values_list("city__name", "joined_on"))
    assert joined["杭州市"] == datetime.date(2016, 7, 1)
    assert joined["嘉兴市"] == datetime.date(2016, 9, 1)


def test_only_cities_join_cohorts(cast: Cast) -> None:
    cohort = Cohort.objects.get(name="2016 试运行监测")
    with pytest.raises(ValidationError, match="不是示范城市"):
        add_cities_to_cohort(
            actor=None, cohort=cohort, cities=[cast.orgs["zhejiang"]], joined_on=datetime.date(2016, 9, 1)
        )
