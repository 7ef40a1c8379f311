"""The authorisation matrix (``tests/authz_matrix.py``) against the platform: every page of the URLconf and every
operation of the OpenAPI description is in the matrix, and each answers every role — and an anonymous visitor — as
the matrix says.

A small world is built once for the module (the 2016 cycle with 杭州's submissions in every workflow state, a
progress report with an enterprise's application, released data, an evaluation scheme and round, board posts). One
test per role (and one for anonymous visitors) requests every entry as that role's account — second factor passed —
and lists every disagreement with the matrix in one message; each request runs in a savepoint rolled back afterwards,
so no request sees what another did. Samples are real objects where that is cheap (the user's own organisation,
杭州's submissions, the full-year report …), so an allowed role gets a real page; where a sample is deliberately
absent (``MISSING``) an allowed role must get 404 — proof that the role check came first and the lookup ran — while
a denied role still gets 403. Every 403 must be in the audit log as ACCESS_DENIED with the user and the address.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Max
from django.http.response import HttpResponseBase
from django.test import Client, override_settings
from django.urls import get_resolver, reverse

from infocity.accounts.models import Role, User
from infocity.analytics.models import IndicatorValue
from infocity.audit.models import Action, AuditEvent
from infocity.bulk import exports
from infocity.evaluation import services as evaluation
from infocity.evaluation.models import ReviewRound, Scheme
from infocity.frameworks.loading import EDITION_2016, load_edition_file
from infocity.frameworks.models import Edition
from infocity.organisations.models import Cohort
from infocity.portal import board, opendata
from infocity.portal.models import BoardPost
from infocity.portal.services import publish_release
from infocity.progress import services as progress
from infocity.progress.models import TypicalApplication
from infocity.reporting import services as reporting
from infocity.reporting.models import ReportingCycle, Submission, UnlockRequest
from infocity.tokens.models import ApiToken
from infocity.tokens.services import issue_token

from . import authz_matrix as matrix
from .authz_matrix import Rule
from .conftest import Cast, build_cast, signed_in
from .test_analytics import accept, add_people, in_time, monthly, send, slot
from .test_url_walk import walk

LOGIN = "/accounts/login/?next="
SECOND_FACTOR = "/accounts/second-factor/"
VALUES_2016 = opendata.values_identifier(2016, "2016")  # the open dataset of the released 2016 values
MISSING = 2_000_000_000  # an identifier no object has: an allowed role must get 404 for it
ANONYMOUS = "anonymous"
# The account that plays each role: 杭州's people, 浙江's reviewer, and the cast's expert, enterprise and 三员.
PLAYERS = {
    Role.MINISTRY: "ministry",
    Role.ANALYST: "analyst",
    Role.PROVINCE_REVIEWER: "province-zj",
    Role.CITY_REPORTER: "city-hz",
    Role.CITY_APPROVER: "city-hz-approver",
    Role.EXPERT: "expert",
    Role.ENTERPRISE: "enterprise",
    Role.SYSADMIN: "sysadmin",
    Role.SECADMIN: "secadmin",
    Role.AUDITOR: "auditor",
}
TOKEN_ROLES = matrix.REPORTING  # the roles a token can be issued to (README: "API tokens")


# --- what is there: the URLconf and the OpenAPI description ---------------------------------------------------


def _key(name: str, route: str) -> str:
    """The URL name; an unnamed pattern is known by its namespace and pattern (e.g. the API's catch-all)."""
    if name.rsplit(":", 1)[-1] == "None":
        return name.removesuffix("None") + route.rsplit("/", 1)[-1]
    return name


ROUTES = {_key(name, route): route for name, route, _view in walk(get_resolver())}


def _openapi_path(route: str) -> str:
    """``api/v1/editions/<code>`` → ``/api/v1/editions/{code}`` (the URLconf's route as the description writes it)."""
    out = "/" + route
    while "<" in out:
        start, end = out.index("<"), out.index(">")
        out = out[:start] + "{" + out[start + 1 : end].split(":")[-1] + "}" + out[end + 1 :]
    return out


def _described_operations(spec: dict[str, Any]) -> set[str]:
    return {f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops}


def _spec(client: Client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def test_every_page_is_in_the_matrix(db: None) -> None:
    spec = _spec(Client())
    described = set(spec["paths"])
    # API routes that serve an operation are listed as operations; the rest of the API's routes as pages.
    pages = {key for key, route in ROUTES.items() if not (key.startswith("api:") and _openapi_path(route) in described)}
    missing = sorted(pages - set(matrix.PAGES))
    stale = sorted(set(matrix.PAGES) - pages)
    assert not missing, (
        f"页面 {missing} 不在权限矩阵中：请在 tests/authz_matrix.py 的 PAGES 中加入，并决定哪些角色可以使用"
        " (add each to PAGES and decide who may use it)."
    )
    assert not stale, f"权限矩阵中的 {stale} 已不存在：请从 tests/authz_matrix.py 中删除 (remove them)."
    assert set(matrix.SECOND_METHODS) <= set(matrix.PAGES)


def test_every_api_operation_is_in_the_matrix(db: None) -> None:
    operations = _described_operations(_spec(Client()))
    missing = sorted(operations - set(matrix.OPERATIONS))
    stale = sorted(set(matrix.OPERATIONS) - operations)
    assert not missing, (
        f"接口操作 {missing} 不在权限矩阵中：请在 tests/authz_matrix.py 的 OPERATIONS 中加入，并决定哪些角色可以使用"
        " (add each to OPERATIONS and decide who may use it)."
    )
    assert not stale, f"权限矩阵中的接口操作 {stale} 已不存在：请从 tests/authz_matrix.py 中删除 (remove them)."


def test_the_matrix_names_only_real_roles() -> None:
    rules = [*matrix.PAGES.values(), *matrix.SECOND_METHODS.values(), *matrix.OPERATIONS.values()]
    rules += matrix.ACTIONS.values()
    for rule in rules:
        assert rule.method in {"GET", "POST"}
        if isinstance(rule.who, str):
            assert rule.who in {matrix.PUBLIC, matrix.SIGNED_IN}
        else:
            assert rule.who and rule.who <= set(Role.values), rule
    assert set(PLAYERS) == set(Role), "every role needs an account that plays it"


def test_the_three_administrators_stay_apart_in_the_matrix() -> None:
    """三员分立 (等保 level 3), so that no new row quietly gives one administrator another's duty: the audit
    administrator alone reads the audit log and nothing else; roles are the security administrator's alone; the
    other account changes the system administrator's alone; none of the three reaches reporting data or the API."""
    admins = {matrix.SYSADMIN, matrix.SECADMIN, matrix.AUDITOR}
    rows = {**matrix.PAGES, **{f"{key} POST": rule for key, rule in matrix.SECOND_METHODS.items()}}
    for key, rule in rows.items():
        who = rule.who
        if isinstance(who, str):
            continue
        if key.startswith("audit:"):
            assert who == {matrix.AUDITOR}, key
            continue
        assert matrix.AUDITOR not in who, key
        changes_accounts = key.startswith("accounts:user_") and key not in {
            "accounts:user_list",
            "accounts:user_detail",
        }
        if key == "accounts:user_role":
            assert who == {matrix.SECADMIN}, key
        elif changes_accounts:
            assert who == {matrix.SYSADMIN}, key
        elif who & admins:
            assert key.split(":")[0] in {"accounts", "organisations"}, f"{key} gives an administrator other work"
    for key, rule in [*matrix.OPERATIONS.items(), *matrix.ACTIONS.items()]:
        assert isinstance(rule.who, str) or not rule.who & admins, key


# --- the world the requests run in ----------------------------------------------------------------------------


@dataclass
class World:
    cast: Cast
    cycle: ReportingCycle
    edition: Edition
    draft: Submission  # 杭州 2016-M11, filled, a draft
    sent: Submission  # 杭州 2016-M09, sent to the province
    approved: Submission  # 杭州 2016-M08, approved by the province
    accepted: Submission  # 杭州 2016-M10, accepted by the agency
    unlock: UnlockRequest  # 杭州 asks to correct one item of 2016-M10
    report: Submission  # 杭州's full-year progress report (2016-R2), a draft
    application: TypicalApplication  # a typical application of that report, entered by 杭州's enterprise
    scheme: Scheme
    round: ReviewRound
    posts: dict[int, BoardPost] = field(default_factory=dict)  # organisation → its published board post


APPLICATION = {
    "title": "杭州市智慧社区服务平台", "area": "C", "organisation": "电信杭州分公司", "organisation_kind": "enterprise",
    "description": "<p>覆盖全市 300 个社区的线上服务平台。</p>", "investment": "1250", "users_served": "320000",
    "results": "<p>日均服务 1.2 万人次。</p>", "contact_name": "张某某", "contact_phone": "0571-5555-0101",
    "contact_email": "zhang@example.cn",
}  # fmt: skip


def _post_data(title: str) -> dict[str, str]:
    return {
        "title": title, "area": "C", "contact_name": "张三丰", "contact_phone": "13812345678",
        "contact_email": "zhangsan@example.cn",
        "description": "本市拟建设覆盖全市社区的智慧社区服务平台，整合养老、家政、物业和政务服务，预算约 800 万元。",
    }  # fmt: skip


def build_world() -> World:
    cast = build_cast()
    add_people(cast)  # 嘉兴's and 广州's people, so the cohorts' cities can report
    edition = load_edition_file(EDITION_2016)
    cycle = reporting.create_cycle(
        actor=cast.users["ministry"], name="2016 年度监测", year=2016, edition=edition,
        cohorts=Cohort.objects.all(), forms=edition.forms.all(),
    )  # fmt: skip
    accepted = accept(cast, "hangzhou", "2016-M10", monthly(10000, 6000))
    approved = send(cast, "hangzhou", "2016-M08", monthly(9800, 5600))
    approved = reporting.approve_province(
        actor=cast.users["province-zj"], submission=approved, expected_version=approved.version
    )
    sent = send(cast, "hangzhou", "2016-M09", monthly(9900, 5800))
    draft = slot(cast, "hangzhou", "2016-M11")
    reporting.save_draft(
        actor=cast.users["city-hz"], submission=draft, raw=monthly(10100, 6200), explanations={},
        base_version=draft.version,
    )  # fmt: skip
    unlock = reporting.request_unlock(
        actor=cast.users["city-hz"], submission=accepted, items=["FBB_USERS"], reason="统计口径有误，需要更正。"
    )
    report = slot(cast, "hangzhou", "2016-R2", "P")
    with in_time(report):
        # Entered by 杭州's enterprise through its city, so both the enterprise and the city have it.
        application = progress.save_application(actor=cast.users["enterprise"], submission=report, data=APPLICATION)
    world = World(
        cast=cast, cycle=cycle, edition=edition, draft=Submission.objects.get(pk=draft.pk), sent=sent,
        approved=approved, accepted=accepted, unlock=unlock, report=Submission.objects.get(pk=report.pk),
        application=application, scheme=evaluation.create_scheme(actor=cast.users["analyst"], cycle=cycle),
        round=evaluation.create_round(actor=cast.users["analyst"], cycle=cycle),
    )  # fmt: skip
    # The ministry releases the accepted data as of 2016-M10: the public side and open data have something to show.
    publish_release(actor=cast.users["ministry"], period=accepted.period)
    for username, title in (("city-hz", "智慧社区服务平台建设需求"), ("enterprise", "智慧社区服务平台解决方案")):
        user = cast.users[username]
        posted = board.save_post(actor=user, data=_post_data(title))
        world.posts[user.organisation_id] = board.moderate(actor=cast.users["analyst"], post=posted, approve=True)
    return world


# The calendar on 5 December 2016 (as the demonstration); the public API's rate limit off, since this module's
# requests would count against it; fast password hashing and background tasks inside the request, as conftest.py
# sets for each test (the world is built before any test's settings apply).
WORLD_SETTINGS = {
    "REPORTING_TODAY": "2016-12-05",
    "PUBLIC_API_RATE": "",
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
    "TASKS": {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}},
}


@pytest.fixture(scope="module")
def _module_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """The world is built once for the module (it takes a few seconds) in a transaction rolled back when the module
    ends; each test runs in a savepoint inside it (pytest-django's ``db``), so nothing a test does outlives it."""
    with django_db_blocker.unblock(), override_settings(**WORLD_SETTINGS), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture
def world(_module_world: World, db: None) -> World:
    """The module's world, for a test in its own savepoint (``db``: without it a test would write into the world)."""
    return _module_world


def _token(world: World, user: User) -> str:
    """A write token of the account. A role without API duties cannot be issued one: it gets a token issued to a city
    reporter (``city-gz``) and moved onto its account, as if the account had kept its token through a change of role
    — which the API must refuse."""
    if user.role in TOKEN_ROLES:
        return issue_token(actor=user, user=user, scope="write", name="权限矩阵")[1]
    token, plaintext = issue_token(actor=None, user=world.cast.users["city-gz"], scope="write", name="旧令牌")
    ApiToken.objects.filter(pk=token.pk).update(user=user)
    return plaintext


# --- samples: what fills each URL ------------------------------------------------------------------------------


@dataclass
class Sample:
    kwargs: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)  # the form posted (empty unless a POST needs its subject)
    absent: bool = False  # the object does not exist (or is not the user's): an allowed role gets 404

    @classmethod
    def missing(cls, **kwargs: Any) -> Sample:
        return cls({name: MISSING if value is None else value for name, value in kwargs.items()}, absent=True)


Builder = Callable[[World, User | None], Sample]


def _pk(obj: Any) -> Builder:
    return lambda world, user: Sample({"pk": obj(world).pk})


def _own_organisation(world: World, user: User | None) -> Sample:
    return Sample({"pk": user.organisation_id if user else world.cast.orgs["hangzhou"].pk})


def _own_post(world: World, user: User | None) -> Sample:
    post = world.posts.get(user.organisation_id) if user else None
    return Sample({"pk": post.pk}) if post else Sample.missing(pk=None)


def _own_export(world: World, user: User | None) -> Sample:
    if user is None:
        return Sample.missing(pk=None)
    return Sample({"pk": exports.request_export(actor=user, filters={}, fmt="csv").pk})


def _own_token(world: World, user: User | None) -> Sample:
    token = ApiToken.objects.filter(user=user).first() if user else None
    return Sample({"pk": token.pk}) if token else Sample.missing(pk=None)


def _edition(**extra: Any) -> Builder:
    return lambda world, user: Sample({"pk": world.edition.pk, **extra})


def _area(world: World, user: User | None) -> Sample:
    return Sample({"pk": world.edition.pk, "kind": "area", "part_pk": world.edition.areas.order_by("pk")[0].pk})


def _absent(**extra: Any) -> Builder:
    return lambda world, user: Sample.missing(pk=None, **extra)


def _ask_for_contact(world: World, user: User | None) -> Sample:
    """From the user's own published post to the other side's (a city's need ↔ an enterprise's solution)."""
    own = world.posts.get(user.organisation_id) if user else None
    other = next(post for post in world.posts.values() if post != own)
    return Sample({"pk": other.pk}, data={"from_post": own.pk}) if own else Sample({"pk": other.pk}, absent=True)


USER = _pk(lambda world: world.cast.users["city-gz"])
DRAFT = _pk(lambda world: world.draft)
REPORT = _pk(lambda world: world.report)
APP = _pk(lambda world: world.application)
SCHEME = _pk(lambda world: world.scheme)
ROUND = _pk(lambda world: world.round)

SAMPLES: dict[str, Builder] = {
    "accounts:user_detail": USER,
    "accounts:user_edit": USER,
    "accounts:user_role": USER,
    "accounts:user_active": USER,
    "accounts:user_unlock": USER,
    "accounts:user_reset_password": USER,
    "accounts:user_reset_second_factor": USER,
    "accounts:user_end_sessions": USER,
    "organisations:detail": _own_organisation,
    "organisations:cohort_detail": _pk(lambda world: Cohort.objects.get(name="2016 试运行监测")),
    "frameworks:detail": _edition(),
    "frameworks:details": _edition(),
    "frameworks:publish": _edition(),
    "frameworks:retire": _edition(),
    "frameworks:copy": _edition(),
    "frameworks:check_formula": _edition(),
    "frameworks:export": _edition(fmt="json"),
    "frameworks:part_create": _edition(kind="area"),
    "frameworks:part_edit": _area,
    "frameworks:part_delete": _area,
    "dictionary:edition": lambda world, user: Sample({"edition_code": "2016"}),
    "dictionary:indicator": lambda world, user: Sample({"edition_code": "2016", "code": "A02"}),
    "reporting:submission": DRAFT,
    "reporting:save": DRAFT,
    "reporting:check": DRAFT,
    "reporting:act": DRAFT,
    "reporting:history": DRAFT,
    "reporting:cycle": _pk(lambda world: world.cycle),
    "reporting:cycle_edit": _pk(lambda world: world.cycle),
    "reporting:period_edit": _pk(lambda world: world.draft.period),
    "reporting:unlock_decide": _pk(lambda world: world.unlock),
    "analytics:city": _pk(lambda world: world.cast.orgs["hangzhou"]),
    "analytics:download": lambda world, user: Sample(
        {"table": "city"}, {"city": world.cast.orgs["hangzhou"].pk, "period": world.accepted.period_id}
    ),
    "analytics:outlier_review": lambda world, user: Sample(
        data={"value": IndicatorValue.objects.filter(city=world.accepted.city, period=world.accepted.period)[0].pk}
    ),
    "analytics:report": _absent(),
    "analytics:report_file": _absent(kind="pdf"),
    "tokens:revoke": _own_token,
    "bulk:template": lambda world, user: Sample(
        query={"period": world.draft.period_id, "place": world.cast.orgs["hangzhou"].pk, "form": "M"}
    ),
    "bulk:import": _absent(),
    "bulk:apply": _absent(),
    "bulk:marked": _absent(),
    "bulk:export_detail": _own_export,
    "bulk:export_file": _absent(),
    "progress:report": REPORT,
    "progress:save": REPORT,
    "progress:attachment_add": lambda world, user: Sample(
        {"pk": world.report.pk}, data={"application": world.application.pk}
    ),
    "progress:application_new": REPORT,
    # Drawing the PDF takes a second or more; its export is tested in test_progress.py, the role check is proved here.
    "progress:pdf": _absent(),
    "progress:docx": REPORT,
    "progress:attachment_remove": _absent(),
    "progress:file": _absent(),
    "progress:application": APP,
    "progress:application_endorse": APP,
    "progress:application_delete": APP,
    "evaluation:scheme": SCHEME,
    "evaluation:scheme_save": SCHEME,
    "evaluation:scheme_action": SCHEME,
    "evaluation:round": ROUND,
    "evaluation:round_action": ROUND,
    "evaluation:review": _absent(),
    "evaluation:review_save": _absent(),
    "evaluation:run_create": lambda world, user: Sample(data={"scheme": world.scheme.pk}),
    "evaluation:run": _absent(),
    "evaluation:run_action": _absent(),
    "evaluation:run_city": lambda world, user: Sample.missing(pk=None, city=world.cast.orgs["hangzhou"].pk),
    "evaluation:certificate": _absent(),
    "results:year": lambda world, user: Sample({"year": 2016}, absent=True),  # no evaluation results published
    "portal:city": lambda world, user: Sample({"code": "330100"}),
    "portal:release_publish": lambda world, user: Sample(data={"period": world.accepted.period_id}),
    "portal:release_withdraw": _absent(),
    "showcase:item": _absent(),
    "showcase:photo": _absent(),
    "showcase:publish": APP,
    "showcase:publish_solution": _absent(),
    "showcase:withdraw": _absent(),
    "board:detail": lambda world, user: Sample({"pk": world.posts[world.cast.orgs["hangzhou"].pk].pk}),
    "board:request_contact": _ask_for_contact,
    "board:post": _own_post,
    "board:edit": _own_post,
    "board:close": _own_post,
    "board:decide": _absent(),
    "board:withdraw": _absent(),
    "board:review": lambda world, user: Sample({"pk": world.posts[world.cast.orgs["hangzhou"].pk].pk}),
    "board:moderate": lambda world, user: Sample({"pk": world.posts[world.cast.orgs["hangzhou"].pk].pk}),
    "opendata:dataset": lambda world, user: Sample({"identifier": VALUES_2016}),
    "opendata:csv": lambda world, user: Sample({"identifier": VALUES_2016}),
    "opendata:json": lambda world, user: Sample({"identifier": VALUES_2016}),
    "opendata:sdmx": lambda world, user: Sample({"identifier": VALUES_2016}),
    "api:api-root": lambda world, user: Sample(absent=True),
    "api:^(?P<rest>.*)$": lambda world, user: Sample({"rest": "no-such-operation"}, absent=True),
}


def test_every_page_with_parameters_has_a_sample() -> None:
    needing = {key for key, route in ROUTES.items() if "<" in route or "(?P" in route}
    needing &= set(matrix.PAGES)
    missing = sorted(needing - set(SAMPLES))
    assert not missing, f"给 {missing} 在 SAMPLES 中提供示例对象 (give them a sample)."


def _page_url(key: str, sample: Sample) -> str:
    if key == "api:^(?P<rest>.*)$":
        url = "/api/v1/" + str(sample.kwargs["rest"])
    else:
        url = reverse(key, kwargs=sample.kwargs or None)
    if sample.query:
        url += "?" + urlencode(sample.query)
    return url


# --- requests and their outcomes -------------------------------------------------------------------------------

# A request: it builds its sample and sends itself (inside the savepoint), answering the response and whether the
# sample was deliberately absent.
Send = Callable[[], tuple[HttpResponseBase, bool]]


@dataclass
class Request:
    entry: str
    rule: Rule
    send: Send
    is_api: bool = False


def _outcome(response: HttpResponseBase) -> str:
    status = response.status_code
    if status in {301, 302, 303, 307, 308}:
        location = response["Location"]
        if location.startswith(LOGIN):
            return "login"
        asked = response.wsgi_request.path  # type: ignore[attr-defined]
        if location.startswith(SECOND_FACTOR) and not asked.startswith(SECOND_FACTOR):
            return "second factor"  # a page withheld until the second factor is passed
    return str(status)


def _allowed(rule: Rule, role: str) -> bool:
    if rule.who == matrix.PUBLIC:
        return True
    if role == ANONYMOUS:
        return False
    return rule.who == matrix.SIGNED_IN or role in rule.who


def _check(request: Request, role: str, response: HttpResponseBase, absent: bool, audited: bool) -> str | None:
    """What is wrong with the answer, or None."""
    got = _outcome(response)
    if _allowed(request.rule, role):
        if got in {"login", "second factor", "401", "403"} or response.status_code >= 500:
            return f"应可使用 (allowed), got {got}"
        if absent and got != "404":
            return f"示例对象不存在，应为 404 (absent sample), got {got}"
        if not absent and got == "404":
            return "应可使用 (allowed), got 404"
        return None
    if request.is_api:
        expected = "401" if role == ANONYMOUS or role not in TOKEN_ROLES else "403"
        if got != expected:
            return f"应拒绝 (denied) with {expected}, got {got}"
        return None if expected == "401" or audited else "拒绝未记入审计日志 (403 without an ACCESS_DENIED audit event)"
    if role == ANONYMOUS:
        return None if got == "login" else f"应转到登录页 (login redirect), got {got}"
    if got != "403":
        return f"应拒绝 (denied) with 403, got {got}"
    return None if audited else "拒绝未记入审计日志 (403 without an ACCESS_DENIED audit event)"


def _page_requests(world: World, user: User | None, session: Client | None) -> list[Request]:
    def sender(key: str, rule: Rule) -> Send:
        def send() -> tuple[HttpResponseBase, bool]:
            builder = SAMPLES.get(key)
            sample = builder(world, user) if builder else Sample()
            client = Client(raise_request_exception=False)
            if session is not None:  # a copy: a request that signs out must not sign out the next one
                name = django_settings.SESSION_COOKIE_NAME
                client.cookies = SimpleCookie({name: session.cookies[name].value})
            url = _page_url(key, sample)
            response = client.post(url, sample.data) if rule.method == "POST" else client.get(url)
            return response, sample.absent

        return send

    rows = [*matrix.PAGES.items(), *matrix.SECOND_METHODS.items()]
    return [Request(f"{rule.method} {key}", rule, sender(key, rule)) for key, rule in rows]


def _api_requests(world: World, user: User | None, token: str | None) -> list[Request]:
    draft = world.draft

    def client() -> Client:
        return Client(raise_request_exception=False, headers={"Authorization": f"Bearer {token}"} if token else None)

    def get(url: str, absent: bool = False) -> Send:
        return lambda: (client().get(url), absent)

    def post(url: str, body: Any, absent: bool = False) -> Send:
        return lambda: (client().post(url, json.dumps(body), content_type="application/json"), absent)

    def own_export() -> tuple[HttpResponseBase, bool]:
        pk = exports.request_export(actor=user, filters={}, fmt="csv").pk if user else MISSING
        return client().get(f"/api/v1/exports/{pk}"), user is None

    def upload() -> tuple[HttpResponseBase, bool]:
        rows = f"city,period,form,item,value\n{world.cast.orgs['hangzhou'].code},2016-M11,M,FBB_USERS,10100\n"
        file = SimpleUploadedFile("杭州.csv", rows.encode(), content_type="text/csv")
        return client().post("/api/v1/imports", {"file": file}), False

    dataset = f"/api/v1/public/datasets/{VALUES_2016}"
    value = {"submission": draft.pk, "item": "FBB_USERS", "value": "10100"}
    sends: dict[str, Send] = {
        "GET /api/v1/editions": get("/api/v1/editions"),
        "GET /api/v1/editions/{code}": get("/api/v1/editions/2016"),
        "GET /api/v1/editions/{code}/indicators": get("/api/v1/editions/2016/indicators"),
        "GET /api/v1/editions/{code}/indicators/{indicator}": get("/api/v1/editions/2016/indicators/A02"),
        "GET /api/v1/editions/{code}/data-items": get("/api/v1/editions/2016/data-items"),
        "GET /api/v1/public/datasets": get("/api/v1/public/datasets"),
        "GET /api/v1/public/datasets/{identifier}": get(dataset),
        "GET /api/v1/public/datasets/{identifier}/rows": get(f"{dataset}/rows"),
        "GET /api/v1/public/indicator-values": get("/api/v1/public/indicator-values"),
        "GET /api/v1/public/evaluation-results": get("/api/v1/public/evaluation-results"),
        "GET /api/v1/public/awards": get("/api/v1/public/awards"),
        "GET /api/v1/organisations": get("/api/v1/organisations"),
        "GET /api/v1/cycles": get("/api/v1/cycles"),
        "GET /api/v1/periods": get("/api/v1/periods"),
        "GET /api/v1/submissions": get("/api/v1/submissions"),
        "GET /api/v1/submissions/{submission_id}": get(f"/api/v1/submissions/{draft.pk}"),
        "GET /api/v1/values": get("/api/v1/values"),
        "POST /api/v1/values": post("/api/v1/values", {"values": [value]}),
        "POST /api/v1/imports": upload,
        "GET /api/v1/imports/{import_id}": get(f"/api/v1/imports/{MISSING}", absent=True),
        "POST /api/v1/imports/{import_id}/apply": post(f"/api/v1/imports/{MISSING}/apply", {}, absent=True),
        "POST /api/v1/exports": post("/api/v1/exports", {}),
        "GET /api/v1/exports/{export_id}": own_export,
        "GET /api/v1/exports/{export_id}/file": get(f"/api/v1/exports/{MISSING}/file", absent=True),
    }
    requests = [Request(key, matrix.OPERATIONS[key], send, is_api=True) for key, send in sends.items()]
    act = "POST /api/v1/submissions/{submission_id}/{action}"
    assert set(matrix.OPERATIONS) == {*sends, act}, "every operation needs a request here"
    targets = {"approve-city": draft, "submit": draft, "approve": world.sent, "return": world.sent}
    targets["accept"] = world.approved
    for action, rule in matrix.ACTIONS.items():
        target = targets[action]
        body = {"expected_version": target.version, "reason": "请核实统计口径。"}
        requests.append(
            Request(f"{act} ({action})", rule, post(f"/api/v1/submissions/{target.pk}/{action}", body), True)
        )
    return requests


def _isolated(send: Send, user: User | None) -> tuple[HttpResponseBase, bool, bool]:
    """Send the request in a savepoint that is rolled back afterwards: the response, whether its sample was absent,
    and whether it wrote an ACCESS_DENIED audit event naming the user and the address asked for."""
    with transaction.atomic():
        before = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).aggregate(last=Max("pk"))["last"] or 0
        response, absent = send()
        path = response.wsgi_request.path  # type: ignore[attr-defined]
        audited = AuditEvent.objects.filter(
            action=Action.ACCESS_DENIED, pk__gt=before, actor=user, detail__path=path
        ).exists()
        transaction.set_rollback(True)
    return response, absent, audited


ROLES = [*Role.values, ANONYMOUS]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_matrix_says(role: str, world: World) -> None:
    user = None if role == ANONYMOUS else world.cast.users[PLAYERS[Role(role)]]
    session = signed_in(user) if user is not None else None
    token = _token(world, user) if user is not None else None
    problems: list[str] = []
    for request in [*_page_requests(world, user, session), *_api_requests(world, user, token)]:
        response, absent, audited = _isolated(request.send, user)
        problem = _check(request, role, response, absent, audited)
        if problem:
            problems.append(f"  {request.entry}: {problem}")
    assert not problems, f"角色 {role} 与权限矩阵不符 (role {role} disagrees with the matrix):\n" + "\n".join(problems)


def test_the_api_ignores_a_browser_session(world: World) -> None:
    """The API authenticates by bearer token only: to it a signed-in browser session is anonymous (the API is exempt
    from CSRF checks, so a session must not be enough)."""
    for username in ("ministry", "city-hz"):
        response = signed_in(world.cast.users[username]).get("/api/v1/submissions")
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


def test_a_denied_page_is_audited_with_who_what_and_where(world: World) -> None:
    """失败的授权须记入审计日志 (issue #10 item 3): the refused account, its organisation, the client address, the
    address asked for and the outcome — here the system administrator trying the audit log (三员分立)."""
    cast = world.cast
    response = signed_in(cast.users["sysadmin"]).get("/audit/", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 403
    event = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).latest("pk")
    assert event.actor == cast.users["sysadmin"] and event.organisation == cast.orgs["operator"]
    assert event.outcome == "denied" and event.ip_address == "10.1.2.3"
    assert event.detail["path"] == "/audit/" and event.detail["method"] == "GET"
