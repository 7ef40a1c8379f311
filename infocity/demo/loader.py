"""Demonstration data (演示数据): a realistic cast of organisations, cohorts and accounts.

Everything goes through the apps' service functions, so the demo data is created exactly as an
administrator would create it, with audit events. City names and division codes are real; people,
phone numbers and (in later issues) figures are synthetic and labelled 演示数据 on every page.
"""

from __future__ import annotations

import csv
import datetime
import random
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.db import transaction

from infocity.accounts.models import SECOND_FACTOR_ROLES, Role, User
from infocity.accounts.second_factor import enrol_demo
from infocity.accounts.services import create_account
from infocity.analytics import services as analytics
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.frameworks.loading import EDITION_2016, load_edition_file
from infocity.organisations.models import Division, Organisation, OrganisationKind
from infocity.organisations.services import add_cities_to_cohort, create_cohort, create_organisation

from .models import DemoDataset
from .monitoring import load_monitoring_demo
from .portal import load_portal_demo

DEMO_PASSWORD = "Demo@2016"  # noqa: S105 — the documented demonstration password
DATA = Path(__file__).resolve().parent / "data"
K = OrganisationKind

PILOT_JOINED = datetime.date(2016, 7, 1)
FULL_SCOPE_JOINED = datetime.date(2016, 10, 1)

EXPERTS = [
    # (username, institution, province code of the institution)
    ("expert1", "信息消费研究院（演示）", "110000"),
    ("expert2", "浙江省信息化发展研究中心（演示）", "330000"),
    ("expert3", "广东省电子信息产业研究院（演示）", "440000"),
    ("expert4", "四川省软件与信息服务研究所（演示）", "510000"),
    ("expert5", "湖北省信息经济研究中心（演示）", "420000"),
]

ENTERPRISES = [
    # (username, name, city division code, unified social credit code — synthetic)
    ("enterprise1", "中国电信股份有限公司杭州分公司（演示）", "330100", "91330100MA2DEMO01X"),
    ("enterprise2", "广州智慧城市科技有限公司（演示）", "440100", "91440100MA5DEMO02Y"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华飞玲建国志红海燕鹏宇晨欣怡浩然思远子涵文博嘉雯俊杰"


class DemoRefused(Exception):
    """The database already holds data that is not demonstration data."""


@dataclass
class Cast:
    """What was created, for the summary and for tests."""

    provinces: dict[str, Organisation] = field(default_factory=dict)
    cities: dict[str, Organisation] = field(default_factory=dict)
    users: list[User] = field(default_factory=list)


def _person(rng: random.Random) -> tuple[str, str]:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
    phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    return name, phone


def _read_cities() -> list[dict[str, str]]:
    with (DATA / "cities.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@transaction.atomic
def load_demo(seed: int = 2016, *, monitoring: bool = True) -> Cast:
    """Load the demonstration cast; ``monitoring=False`` leaves out the 2015–2016 monitoring data (for tests
    that need only organisations and accounts)."""
    if DemoDataset.objects.exists():
        raise DemoRefused("演示数据已经载入，无需重复载入。")
    if Organisation.objects.exists() or User.objects.exists():
        raise DemoRefused("数据库中已有非演示数据（机构或账号），为避免混淆，不载入演示数据。")

    rng = random.Random(seed)  # noqa: S311 — synthetic names, not secrets
    password_hash = make_password(DEMO_PASSWORD)  # one hash for all demo accounts keeps loading fast
    cast = Cast()

    def account(username: str, organisation: Organisation, role: str, name: str | None = None) -> User:
        full_name, phone = _person(rng)
        user = create_account(
            actor=None,
            username=username,
            full_name=name or full_name,
            organisation=organisation,
            role=role,
            email=f"{username}@demo.invalid",
            phone=phone,
            password="",
            password_hash=password_hash,
            must_change_password=False,
        )
        if role in SECOND_FACTOR_ROLES:  # enrolled with the secret documented in the README
            enrol_demo(user)
        cast.users.append(user)
        return user

    ministry = create_organisation(
        actor=None, kind=K.MINISTRY, name="工业和信息化部", department="信息化和软件服务业司"
    )
    agency = create_organisation(
        actor=None, kind=K.AGENCY, name="信息消费监测分析中心（第三方监测机构，演示）", parent=ministry
    )
    operator = create_organisation(actor=None, kind=K.OPERATOR, name="平台运营中心（演示）", parent=ministry)

    account("sysadmin", operator, Role.SYSADMIN)
    account("secadmin", operator, Role.SECADMIN)
    account("auditor", operator, Role.AUDITOR)
    account("ministry", ministry, Role.MINISTRY)
    account("analyst", agency, Role.ANALYST)

    rows = _read_cities()
    divisions = Division.objects.in_bulk([r["code"] for r in rows])
    for row in rows:
        division = divisions[row["code"]]
        if division.separately_planned:
            province_division = division
            province_name = f"{division.name}（计划单列市）"
            province_department = row["department"]
        else:
            province_division = division if division.is_municipality else division.parent  # type: ignore[assignment]
            assert province_division is not None
            province_name = province_division.name
            province_department = f"{province_division.name}经济和信息化委员会"
        province = cast.provinces.get(province_division.code)
        if province is None:
            province = create_organisation(
                actor=None,
                kind=K.PROVINCE,
                name=province_name,
                parent=ministry,
                division=province_division,
                department=province_department,
            )
            cast.provinces[province_division.code] = province
            account(f"province-{province_division.code}", province, Role.PROVINCE_REVIEWER)
        city = create_organisation(
            actor=None,
            kind=K.CITY,
            name=division.name,
            parent=province,
            division=division,
            department=row["department"],
        )
        cast.cities[division.code] = city
        account(f"city-{division.code}", city, Role.CITY_REPORTER)
        account(f"city-{division.code}-approver", city, Role.CITY_APPROVER)

    for username, institution, province_code in EXPERTS:
        org = create_organisation(
            actor=None,
            kind=K.INSTITUTION,
            name=institution,
            parent=ministry,
            division=Division.objects.get(code=province_code),
        )
        account(username, org, Role.EXPERT)

    for username, name, city_code, credit_code in ENTERPRISES:
        org = create_organisation(
            actor=None, kind=K.ENTERPRISE, name=name, parent=cast.cities[city_code], credit_code=credit_code
        )
        account(username, org, Role.ENTERPRISE)

    pilot = create_cohort(
        actor=None,
        name="2016 试运行监测",
        year=2016,
        description="2016 年 7 月底监测试运行平台上线时首批参加监测的示范城市。",
    )
    full = create_cohort(
        actor=None,
        name="2016 全面监测",
        year=2016,
        description="年底前扩大监测范围后的全部示范城市。",
    )
    pilot_cities = [cast.cities[r["code"]] for r in rows if r["pilot"] == "1"]
    other_cities = [cast.cities[r["code"]] for r in rows if r["pilot"] != "1"]
    add_cities_to_cohort(actor=None, cohort=pilot, cities=pilot_cities, joined_on=PILOT_JOINED)
    add_cities_to_cohort(actor=None, cohort=full, cities=pilot_cities, joined_on=PILOT_JOINED)
    add_cities_to_cohort(actor=None, cohort=full, cities=other_cities, joined_on=FULL_SCOPE_JOINED)

    edition = load_edition_file(EDITION_2016)
    monitoring_summary: dict[str, object] = {}
    if monitoring:
        # A bulk load: indicator values are computed once at the end rather than after every transition.
        with analytics.deferred():
            monitoring_summary = load_monitoring_demo(edition, full, pilot, seed)
        monitoring_summary["indicator_values"] = analytics.rebuild()
        monitoring_summary["portal"] = load_portal_demo()

    summary = {
        "framework": edition.code,
        "monitoring": monitoring_summary,
        "provinces": len(cast.provinces),
        "cities": len(cast.cities),
        "accounts": len(cast.users),
        "cohorts": {pilot.name: len(pilot_cities), full.name: len(rows)},
    }
    dataset = DemoDataset.objects.create(seed=seed, summary=summary)
    record(Action.DEMO_LOAD, target=dataset, detail=summary)
    return cast
