"""A small realistic cast, built once per test through the service functions (STYLE.md):
the ministry, the monitoring agency, the platform operator, two provinces (浙江, 广东) plus the
计划单列市 宁波, three demonstration cities (杭州, 嘉兴, 广州) plus 宁波, one expert and one enterprise,
and one account per role."""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from infocity.accounts.models import Role, User
from infocity.accounts.services import create_account
from infocity.organisations.divisions import sync_divisions
from infocity.organisations.models import Division, Organisation, OrganisationKind
from infocity.organisations.services import add_cities_to_cohort, create_cohort, create_organisation

PASSWORD = "Test@2016pass"
K = OrganisationKind


@dataclass
class Cast:
    orgs: dict[str, Organisation] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def client(self, username: str) -> Client:
        return signed_in(self.users[username])


def signed_in(user: User) -> Client:
    """A client logged in as ``user`` as after a full login: with the second factor passed where the role needs
    one (the login itself, with its codes, has its own tests)."""
    from infocity.accounts.second_factor import signed_in_client

    client: Client = signed_in_client(user)
    return client


@pytest.fixture(autouse=True)
def _chinese_first() -> None:
    """Each test starts in the default language: a request in English (the test client runs in the test's thread)
    leaves English active for whatever runs next."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Background tasks run inside the test (the database worker has its own test).
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def build_cast() -> Cast:
    cast = Cast()
    # Transactional (browser) tests flush the tables the migrations filled; put the reference data back.
    if not Division.objects.exists():
        sync_divisions(Division)
    div = Division.objects.in_bulk()

    def org(key: str, kind: str, name: str, parent: str | None = None, code: str | None = None) -> Organisation:
        cast.orgs[key] = create_organisation(
            actor=None,
            kind=kind,
            name=name,
            parent=cast.orgs[parent] if parent else None,
            division=div[code] if code else None,
        )
        return cast.orgs[key]

    org("ministry", K.MINISTRY, "工业和信息化部")
    org("agency", K.AGENCY, "监测机构", "ministry")
    org("operator", K.OPERATOR, "平台运营中心", "ministry")
    org("zhejiang", K.PROVINCE, "浙江省", "ministry", "330000")
    org("guangdong", K.PROVINCE, "广东省", "ministry", "440000")
    org("ningbo-plan", K.PROVINCE, "宁波市（计划单列市）", "ministry", "330200")
    org("hangzhou", K.CITY, "杭州市", "zhejiang", "330100")
    org("jiaxing", K.CITY, "嘉兴市", "zhejiang", "330400")
    org("guangzhou", K.CITY, "广州市", "guangdong", "440100")
    org("ningbo", K.CITY, "宁波市", "ningbo-plan", "330200")
    org("institute", K.INSTITUTION, "研究院", "ministry", "110000")
    org("telecom", K.ENTERPRISE, "电信杭州分公司", "hangzhou")

    def user(username: str, org_key: str, role: str) -> None:
        cast.users[username] = create_account(
            actor=None,
            username=username,
            full_name=username,
            organisation=cast.orgs[org_key],
            role=role,
            password=PASSWORD,
            must_change_password=False,
        )

    user("sysadmin", "operator", Role.SYSADMIN)
    user("secadmin", "operator", Role.SECADMIN)
    user("auditor", "operator", Role.AUDITOR)
    user("ministry", "ministry", Role.MINISTRY)
    user("analyst", "agency", Role.ANALYST)
    user("province-zj", "zhejiang", Role.PROVINCE_REVIEWER)
    user("province-gd", "guangdong", Role.PROVINCE_REVIEWER)
    user("city-hz", "hangzhou", Role.CITY_REPORTER)
    user("city-hz-approver", "hangzhou", Role.CITY_APPROVER)
    user("city-gz", "guangzhou", Role.CITY_REPORTER)
    user("expert", "institute", Role.EXPERT)
    user("enterprise", "telecom", Role.ENTERPRISE)

    pilot = create_cohort(actor=None, name="2016 试运行监测", year=2016)
    add_cities_to_cohort(
        actor=None,
        cohort=pilot,
        cities=[cast.orgs["hangzhou"], cast.orgs["guangzhou"]],
        joined_on=datetime.date(2016, 7, 1),
    )
    full = create_cohort(actor=None, name="2016 全面监测", year=2016)
    add_cities_to_cohort(
        actor=None,
        cohort=full,
        cities=[cast.orgs[k] for k in ("hangzhou", "jiaxing", "guangzhou", "ningbo")],
        joined_on=datetime.date(2016, 10, 1),
    )
    return cast


@pytest.fixture
def cast(db: None) -> Cast:
    return build_cast()


@pytest.fixture
def anon() -> Client:
    return Client()


@pytest.fixture(scope="session", autouse=True)
def _allow_sync_db_in_browser_threads() -> Iterator[None]:
    # Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run inside one
    # unless told the calls are genuinely synchronous (they are: the test waits for each step).
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    yield
