"""Reporting: the calendar, expected submissions, data entry and validation, every workflow transition
(allowed and forbidden), concurrency, unlocking, extensions, notifications and completeness."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from infocity.accounts.models import User
from infocity.audit.models import Action, AuditEvent
from infocity.frameworks.loading import EDITION_2016, load_edition_file
from infocity.frameworks.models import DataItem, Edition
from infocity.organisations.models import Cohort
from infocity.organisations.services import add_cities_to_cohort
from infocity.reporting import clock, services
from infocity.reporting.models import Notification, ReportingCycle, Status, Submission, UnlockRequest
from infocity.reporting.stats import completeness
from infocity.reporting.validation import ParseError, parse_value

from .conftest import Cast

MONTHLY = {"FBB_USERS": "10,000", "FBB_20M_USERS": "6200", "FTTH_USERS": "7660", "MOBILE_USERS": "20000",
           "LTE_USERS": "12000"}  # fmt: skip


@pytest.fixture
def cycle(cast: Cast, settings: Any) -> ReportingCycle:
    settings.REPORTING_TODAY = "2016-12-05"
    edition = load_edition_file(EDITION_2016)
    return services.create_cycle(
        actor=cast.users["ministry"],
        name="2016 年度监测",
        year=2016,
        edition=edition,
        cohorts=Cohort.objects.all(),
        forms=edition.forms.all(),
    )


def slot(cast: Cast, city: str, code: str, form: str = "M") -> Submission:
    return Submission.objects.get(city=cast.orgs[city], period__code=code, form__code=form)


def fresh(submission: Submission) -> Submission:
    return Submission.objects.get(pk=submission.pk)


def fill(cast: Cast, submission: Submission, values: dict[str, str] | None = None, user: str = "city-hz") -> Any:
    return services.save_draft(
        actor=cast.users[user],
        submission=submission,
        raw=values or MONTHLY,
        explanations={},
        base_version=fresh(submission).version,
    )


def send(cast: Cast, submission: Submission) -> Submission:
    """City approval and submission to the province (the approver's one button)."""
    approved = services.approve_city(
        actor=cast.users["city-hz-approver"], submission=submission, expected_version=fresh(submission).version
    )
    return services.submit(actor=cast.users["city-hz-approver"], submission=approved, expected_version=approved.version)


# --- calendar and expected submissions ------------------------------------------------------------


def test_standard_calendar(cycle: ReportingCycle) -> None:
    periods = {p.code: p for p in cycle.periods.all()}
    assert len(periods) == 12 + 4 + 2 + 1 + 2  # … and the two progress reports
    assert (periods["2016-M11"].opens_on, periods["2016-M11"].due_on, periods["2016-M11"].expires_on) == (
        datetime.date(2016, 12, 1), datetime.date(2016, 12, 10), datetime.date(2016, 12, 25))  # fmt: skip
    assert periods["2016-H1"].due_on == datetime.date(2016, 8, 5)  # guide 三(三): early August
    assert periods["2016-A"].due_on == datetime.date(2016, 11, 30)  # with the full-year progress report
    assert periods["2016-Q4"].opens_on == datetime.date(2017, 1, 1)
    assert periods["2016-R1"].due_on == datetime.date(2016, 8, 5)  # H1 progress report
    assert periods["2016-R2"].due_on == datetime.date(2016, 11, 30)  # full-year report with typical applications


def test_expected_submissions_start_when_the_city_joined(cast: Cast, cycle: ReportingCycle) -> None:
    hangzhou = set(
        Submission.objects.filter(city=cast.orgs["hangzhou"], form__code="M").values_list("period__code", flat=True)
    )
    jiaxing = set(
        Submission.objects.filter(city=cast.orgs["jiaxing"], form__code="M").values_list("period__code", flat=True)
    )
    # 杭州 joined the pilot on 1 July: June's data (opening 1 July) onwards; 嘉兴 joined on 1 October.
    assert hangzhou == {f"2016-M{m:02d}" for m in range(6, 13)}
    assert jiaxing == {f"2016-M{m:02d}" for m in range(9, 13)}


def test_joining_mid_year_is_not_retroactive(cast: Cast, cycle: ReportingCycle) -> None:
    from infocity.organisations.models import Division, OrganisationKind
    from infocity.organisations.services import create_organisation

    wenzhou = create_organisation(
        actor=None, kind=OrganisationKind.CITY, name="温州市", parent=cast.orgs["zhejiang"],
        division=Division.objects.get(code="330300"),
    )  # fmt: skip
    full = Cohort.objects.get(name="2016 全面监测")
    add_cities_to_cohort(actor=None, cohort=full, cities=[wenzhou], joined_on=datetime.date(2016, 11, 15))
    codes = set(Submission.objects.filter(city=wenzhou).values_list("period__code", flat=True))
    assert codes == {"2016-M11", "2016-M12", "2016-Q4", "2016-H2"}  # not the annual form that opened on 1 November


# --- values and validation ------------------------------------------------------------------------


def test_chinese_number_formats() -> None:
    item = DataItem(code="X", name_zh="测试项", value_type=DataItem.Type.DECIMAL, unit="亿元")
    assert parse_value(item, "1,234.5") == Fraction("1234.5")
    assert parse_value(item, "1234.5") == Fraction("1234.5")
    assert parse_value(item, "１，２３４．５") == Fraction("1234.5")
    assert parse_value(item, " ") is None
    percent = DataItem(code="P", name_zh="占比", value_type=DataItem.Type.PERCENT, unit="%")
    assert parse_value(percent, "62.5%") == Fraction("62.5")
    integer = DataItem(code="I", name_zh="户数", value_type=DataItem.Type.INTEGER, unit="户")
    with pytest.raises(ParseError, match="须为整数"):
        parse_value(integer, "12.5")
    with pytest.raises(ParseError, match="不是百分比"):
        parse_value(item, "50%")
    with pytest.raises(ParseError, match="不是有效的数字"):
        parse_value(item, "1,23,4")
    boolean = DataItem(code="B", name_zh="是否发布", value_type=DataItem.Type.BOOLEAN)
    assert parse_value(boolean, "是") is True and parse_value(boolean, "否") is False


def test_save_reports_errors_in_chinese_and_keeps_what_was_typed(cast: Cast, cycle: ReportingCycle) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    result = fill(cast, submission, {**MONTHLY, "FBB_20M_USERS": "12,000", "FTTH_USERS": "abc", "LTE_USERS": "-5"})
    texts = [m.text for m in result.check.errors]
    assert "20M以上宽带用户数（12,000）不能超过固定宽带用户数（10,000）。" in texts
    assert "光纤接入（FTTH/O）用户数须填写数字，“abc”不是有效的数字。" in texts
    assert "4G用户数不能为负数（填写的是 -5）。" in texts
    values, _ = services.current_values(fresh(submission))
    assert values["FTTH_USERS"] == "abc"  # the draft keeps it, to be corrected
    assert values["FBB_USERS"] == "10000"


def test_change_beyond_30_percent_needs_an_explanation(cast: Cast, cycle: ReportingCycle) -> None:
    october = slot(cast, "hangzhou", "2016-M10")
    with clock.at(clock.now().replace(month=11, day=5)):
        fill(cast, october)
    november = slot(cast, "hangzhou", "2016-M11")
    result = fill(cast, november, {**MONTHLY, "LTE_USERS": "18000"})
    [warning] = result.check.warnings
    assert warning.code == "LTE_USERS"
    assert (
        warning.text == "4G用户数较上期（2016年10月）（12,000）变化 +50.0%，超过 ±30%，请核实；如数据无误，请填写说明。"
    )
    with pytest.raises(services.WorkflowError, match="需要说明"):
        send(cast, november)
    services.save_draft(
        actor=cast.users["city-hz"], submission=november, raw={}, explanations={"LTE_USERS": "新增校园 4G 套餐用户。"},
        base_version=fresh(november).version,
    )  # fmt: skip
    assert send(cast, november).status == Status.SUBMITTED


def test_errors_block_city_approval(cast: Cast, cycle: ReportingCycle) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission, {**MONTHLY, "FBB_20M_USERS": "12000"})
    with pytest.raises(services.WorkflowError, match="不能超过"):
        send(cast, submission)
    assert fresh(submission).status == Status.DRAFT
    with pytest.raises(services.WorkflowError, match="还没有填写"):
        services.approve_city(
            actor=cast.users["city-hz-approver"], submission=slot(cast, "hangzhou", "2016-A", "A"), expected_version=0
        )


# --- the workflow ---------------------------------------------------------------------------------


def test_the_whole_path_with_a_return_and_locked_values(cast: Cast, cycle: ReportingCycle) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission)
    sent = send(cast, submission)
    assert sent.status == Status.SUBMITTED and sent.on_time
    assert Notification.objects.filter(user=cast.users["province-zj"], title__contains="等待您审核").exists()

    returned = services.return_submission(
        actor=cast.users["province-zj"], submission=sent, reason="请核实光纤用户数。",
        item_comments={"FTTH_USERS": "与运营商月报不一致", "NOT_AN_ITEM": "x"}, expected_version=sent.version,
    )  # fmt: skip
    assert returned.status == Status.DRAFT and returned.returned
    last = returned.versions.latest("number")
    assert last.comment == "请核实光纤用户数。" and last.item_comments == {"FTTH_USERS": "与运营商月报不一致"}
    assert Notification.objects.filter(user=cast.users["city-hz"], title__contains="被退回").count() == 1

    fill(cast, returned, {"FTTH_USERS": "7700"})
    sent = send(cast, returned)
    approved = services.approve_province(
        actor=cast.users["province-zj"], submission=sent, expected_version=sent.version
    )
    accepted = services.accept(actor=cast.users["analyst"], submission=approved, expected_version=approved.version)
    assert accepted.status == Status.ACCEPTED and accepted.accepted_at is not None
    with pytest.raises(services.WorkflowError, match="不能修改"):
        fill(cast, accepted, {"FBB_USERS": "1"})
    actions = list(accepted.versions.values_list("action", flat=True))
    assert actions == ["save", "approve_city", "submit", "return", "save", "approve_city", "submit",
                       "approve_province", "accept"]  # fmt: skip
    audited = set(AuditEvent.objects.filter(object_id=str(accepted.pk)).values_list("action", flat=True))
    assert {Action.SUBMISSION_SAVE, Action.SUBMISSION_RETURN, Action.SUBMISSION_ACCEPT} <= audited


@pytest.mark.parametrize(
    ("username", "step"),
    [
        ("city-hz", "approve_city"),  # the reporter cannot sign off for the city
        ("city-gz", "save"),  # another city
        ("province-zj", "save"),  # the province does not type the city's figures
        ("city-hz-approver", "approve_province"),  # a city cannot approve for its province
        ("province-gd", "approve_province"),  # another province
        ("province-zj", "accept"),  # only the agency accepts
        ("ministry", "accept"),
    ],
)
def test_forbidden_transitions(cast: Cast, cycle: ReportingCycle, username: str, step: str) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission)
    if step in {"approve_province", "accept"}:
        submission = send(cast, submission)
    if step == "accept":
        submission = services.approve_province(
            actor=cast.users["province-zj"], submission=submission, expected_version=submission.version
        )
    actor = cast.users[username]
    before = fresh(submission)
    with pytest.raises(PermissionDenied):
        if step == "save":
            services.save_draft(
                actor=actor, submission=submission, raw=MONTHLY, explanations={}, base_version=before.version
            )
        else:
            getattr(services, step)(actor=actor, submission=submission, expected_version=before.version)
    after = fresh(submission)
    assert (after.status, after.version) == (before.status, before.version)


def test_other_tenants_submissions_answer_404(cast: Cast, cycle: ReportingCycle) -> None:
    guangzhou = slot(cast, "guangzhou", "2016-M11")
    for username in ("city-hz", "province-zj", "expert"):
        response = cast.client(username).get(reverse("reporting:submission", args=[guangzhou.pk]))
        assert response.status_code in (404, 403), username
    assert cast.client("province-zj").get(reverse("reporting:submission", args=[guangzhou.pk])).status_code == 404
    response = cast.client("province-zj").post(
        reverse("reporting:act", args=[guangzhou.pk]), {"action": "approve_province", "expected_version": 0}
    )
    assert response.status_code == 404
    assert cast.client("province-gd").get(reverse("reporting:submission", args=[guangzhou.pk])).status_code == 200
    assert cast.client("analyst").get(reverse("reporting:submission", args=[guangzhou.pk])).status_code == 200


def test_return_needs_a_reason(cast: Cast, cycle: ReportingCycle) -> None:
    submission = send(cast, (fill(cast, slot(cast, "hangzhou", "2016-M11")), slot(cast, "hangzhou", "2016-M11"))[1])
    with pytest.raises(services.WorkflowError, match="必须填写退回原因"):
        services.return_submission(
            actor=cast.users["province-zj"], submission=submission, reason="  ", expected_version=submission.version
        )
    assert fresh(submission).status == Status.SUBMITTED


def test_a_double_click_acts_once(cast: Cast, cycle: ReportingCycle) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission)
    sent = send(cast, submission)
    shown_at = sent.version
    services.approve_province(actor=cast.users["province-zj"], submission=sent, expected_version=shown_at)
    with pytest.raises(services.AlreadyDone):
        services.approve_province(actor=cast.users["province-zj"], submission=sent, expected_version=shown_at)
    assert fresh(sent).versions.filter(action="approve_province").count() == 1
    # Through the page, the second click is a friendly no-op.
    client = cast.client("province-zj")
    response = client.post(
        reverse("reporting:act", args=[sent.pk]), {"action": "approve_province", "expected_version": shown_at},
        follow=True,
    )  # fmt: skip
    assert "无需重复提交" in response.content.decode()


def test_concurrent_edits_keep_both_versions(cast: Cast, cycle: ReportingCycle) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission)
    base = fresh(submission).version
    # Two people opened the page at the same version; the first saves FTTH and FBB.
    first = services.save_draft(
        actor=cast.users["city-hz"], submission=submission, raw={**MONTHLY, "FTTH_USERS": "7700", "FBB_USERS": "10100"},
        explanations={}, base_version=base,
    )  # fmt: skip
    assert first.applied == ["FBB_USERS", "FTTH_USERS"]
    # The second changes FTTH too (conflict) and LTE (no conflict).
    second = services.save_draft(
        actor=cast.users["city-hz-approver"], submission=submission,
        raw={**MONTHLY, "FTTH_USERS": "7800", "LTE_USERS": "12100"}, explanations={}, base_version=base,
    )  # fmt: skip
    assert [(c.code, c.theirs, c.yours) for c in second.conflicts] == [("FTTH_USERS", "7700", "7800")]
    assert second.applied == ["LTE_USERS"]
    values, _ = services.current_values(fresh(submission))
    assert (values["FTTH_USERS"], values["FBB_USERS"], values["LTE_USERS"]) == ("7700", "10100", "12100")
    kept = fresh(submission).versions.get(action="conflict")
    assert not kept.applied and kept.values["FTTH_USERS"] == "7800"


def test_unlock_reopens_only_the_named_items(cast: Cast, cycle: ReportingCycle) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission)
    sent = send(cast, submission)
    approved = services.approve_province(
        actor=cast.users["province-zj"], submission=sent, expected_version=sent.version
    )
    accepted = services.accept(actor=cast.users["analyst"], submission=approved, expected_version=approved.version)
    with pytest.raises(services.WorkflowError, match="请填写解锁理由"):
        services.request_unlock(actor=cast.users["city-hz"], submission=accepted, items=["FTTH_USERS"], reason="")
    unlock = services.request_unlock(
        actor=cast.users["city-hz"], submission=accepted, items=["FTTH_USERS", "BOGUS"], reason="运营商更正了数据"
    )
    assert unlock.items == ["FTTH_USERS"]
    assert Notification.objects.filter(user=cast.users["analyst"], event_key=f"unlock-request:{unlock.pk}").exists()
    with pytest.raises(services.AlreadyDone):
        services.request_unlock(actor=cast.users["city-hz"], submission=accepted, items=["FBB_USERS"], reason="再来")
    services.decide_unlock(actor=cast.users["analyst"], unlock=unlock, grant=True, note="同意")
    reopened = fresh(submission)
    assert reopened.status == Status.DRAFT and reopened.unlocked_items == ["FTTH_USERS"]
    result = fill(cast, reopened, {**MONTHLY, "FTTH_USERS": "7800", "FBB_USERS": "99999"})
    assert result.applied == ["FTTH_USERS"] and result.locked == ["FBB_USERS"]
    values, _ = services.current_values(fresh(submission))
    assert values["FBB_USERS"] == "10000"


def test_refusing_an_unlock_needs_a_reason(cast: Cast, cycle: ReportingCycle) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission)
    sent = send(cast, submission)
    approved = services.approve_province(
        actor=cast.users["province-zj"], submission=sent, expected_version=sent.version
    )
    accepted = services.accept(actor=cast.users["analyst"], submission=approved, expected_version=approved.version)
    unlock = services.request_unlock(actor=cast.users["city-hz"], submission=accepted, items=["FTTH_USERS"], reason="x")
    with pytest.raises(services.WorkflowError, match="拒绝解锁时请填写理由"):
        services.decide_unlock(actor=cast.users["analyst"], unlock=unlock, grant=False)
    services.decide_unlock(actor=cast.users["analyst"], unlock=unlock, grant=False, note="数据已与运营商核对无误")
    assert UnlockRequest.objects.get(pk=unlock.pk).status == UnlockRequest.Decision.REFUSED
    assert fresh(submission).status == Status.ACCEPTED


def test_late_expired_and_extended(cast: Cast, cycle: ReportingCycle, settings: Any) -> None:
    october = slot(cast, "hangzhou", "2016-M10")  # due 10 November, closed 25 November
    assert october.is_late() and october.needs_extension()
    with pytest.raises(services.WorkflowError, match="已于 2016-11-25 关闭"):
        fill(cast, october)
    with pytest.raises(PermissionDenied):
        services.grant_extension(
            actor=cast.users["province-gd"], submission=october, until=datetime.date(2016, 12, 20), reason="x",
            expected_version=october.version,
        )  # fmt: skip
    services.grant_extension(
        actor=cast.users["province-zj"], submission=october, until=datetime.date(2016, 12, 20), reason="系统故障",
        expected_version=october.version,
    )  # fmt: skip
    # A double click grants nothing twice; an open submission needs no extension.
    with pytest.raises(services.AlreadyDone):
        services.grant_extension(
            actor=cast.users["province-zj"], submission=october, until=datetime.date(2016, 12, 20), reason="系统故障",
            expected_version=october.version,
        )  # fmt: skip
    november = slot(cast, "hangzhou", "2016-M11")
    with pytest.raises(services.WorkflowError, match="无需延期"):
        services.grant_extension(
            actor=cast.users["analyst"], submission=november, until=datetime.date(2016, 12, 20), reason="x",
            expected_version=november.version,
        )  # fmt: skip
    fill(cast, october)
    sent = send(cast, october)
    assert not sent.on_time  # first sent after the due date: late (迟报)


def test_reminders_are_sent_once(cast: Cast, cycle: ReportingCycle, settings: Any, mailoutbox: list[Any]) -> None:
    settings.REPORTING_TODAY = "2016-12-08"  # November's monthly data is due on the 10th
    User.objects.filter(username__in=["city-hz", "province-zj"]).update(email="someone@example.cn")
    call_command("send_reminders", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    due_soon = Notification.objects.filter(user=cast.users["city-hz"], event_key__startswith="due-soon:")
    assert due_soon.count() == 1
    overdue = Notification.objects.filter(user=cast.users["province-zj"], event_key__startswith="overdue:")
    assert overdue.exists()  # e.g. 杭州's October data
    emails = len(mailoutbox)
    # (e-mail addresses are encrypted at rest: the recipients are picked in Python)
    recipients = [u.pk for u in User.objects.exclude(email="") if u.email == "someone@example.cn"]
    assert emails == Notification.objects.filter(user__in=recipients).count() > 0
    assert mailoutbox[0].subject.startswith("[信息消费示范城市监测平台]")
    call_command("send_reminders", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    assert Notification.objects.filter(user=cast.users["city-hz"], event_key__startswith="due-soon:").count() == 1
    assert len(mailoutbox) == emails


def test_completeness_and_timeliness(cast: Cast, cycle: ReportingCycle) -> None:
    # 杭州's September data (due 10 October): sent on time and accepted.
    september = slot(cast, "hangzhou", "2016-M09")
    with clock.at(clock.now().replace(year=2016, month=10, day=8)):
        fill(cast, september)
        sent = send(cast, september)
        approved = services.approve_province(
            actor=cast.users["province-zj"], submission=sent, expected_version=sent.version
        )
        services.accept(actor=cast.users["analyst"], submission=approved, expected_version=approved.version)
    total, provinces = completeness(Submission.objects.filter(period__cycle=cycle, period__code="2016-M09"))
    # Due in September's period: 杭州, 嘉兴, 广州, 宁波 (宁波 and 嘉兴 joined on 1 October; September opened then).
    assert total.expected == 4 and total.accepted == 1 and total.on_time == 1
    zhejiang = next(p for p in provinces if p.label == "浙江省")
    assert [(c.label, c.accepted, c.expected) for c in zhejiang.cities] == [("杭州市", 1, 1), ("嘉兴市", 0, 1)]
    # Provinces see their own cities only; the CSV says the same and is audited.
    response = cast.client("province-zj").get(reverse("reporting:completeness"), {"cycle": cycle.pk})
    assert [p.label for p in response.context["provinces"]] == ["浙江省"]
    csv_text = cast.client("analyst").get(reverse("reporting:completeness_csv"), {"cycle": cycle.pk}).content.decode()
    assert csv_text.startswith("\ufeff省级主管部门,示范城市")
    assert "杭州市" in csv_text and "广州市" in csv_text
    assert AuditEvent.objects.filter(action=Action.REPORT_EXPORT).count() == 1
    assert cast.client("city-hz").get(reverse("reporting:completeness")).status_code == 403


def test_history_shows_every_version_with_the_changes(cast: Cast, cycle: ReportingCycle) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission)
    fill(cast, submission, {"FTTH_USERS": "7,700"})
    response = cast.client("city-hz").get(reverse("reporting:history", args=[submission.pk]))
    entries = response.context["entries"]
    assert [e["version"].number for e in entries] == [2, 1]
    [(name, before, after)] = entries[0]["changes"]
    assert (name, before, after) == ("光纤接入（FTTH/O）用户数", "7,660", "7,700")


def test_autosave_page_flow(cast: Cast, cycle: ReportingCycle) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    client = cast.client("city-hz")
    url = reverse("reporting:save", args=[submission.pk])
    data = {f"value-{k}": v for k, v in MONTHLY.items()} | {"base_version": "0"}
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "已自动保存" in html and 'id="base-version"' in html and 'hx-swap-oob="true"' in html
    response = client.post(
        reverse("reporting:check", args=[submission.pk]), {"value-FBB_20M_USERS": "99999"}, HTTP_HX_REQUEST="true"
    )
    assert "不能超过固定宽带用户数" in response.content.decode()
    assert fresh(submission).version == 1  # checking saves nothing


def test_work_queues(cast: Cast, cycle: ReportingCycle) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission)
    send(cast, submission)
    home = cast.client("province-zj").get("/")
    sections = {key: entries for key, _, entries in home.context["queue"].sections}
    assert submission.pk in [s.pk for s in sections["to_review"]]
    city_home = cast.client("city-hz").get("/")
    city_sections = {key: entries for key, _, entries in city_home.context["queue"].sections}
    assert any(s.period.code == "2016-M10" for s in city_sections["overdue"])


def test_cycles_only_on_published_editions(cast: Cast, cycle: ReportingCycle) -> None:
    from infocity.frameworks.services import copy_edition

    draft = copy_edition(actor=cast.users["ministry"], source=cycle.edition, code="2017", year=2017, name_zh="x")
    with pytest.raises(Exception, match="已发布"):
        services.create_cycle(
            actor=cast.users["ministry"], name="2017", year=2017, edition=draft, cohorts=[], forms=draft.forms.all()
        )
    assert Edition.objects.filter(code="2017").exists()


def test_stored_numbers_are_exact(cast: Cast, cycle: ReportingCycle) -> None:
    annual = slot(cast, "hangzhou", "2016-A", "A")
    with clock.at(clock.now().replace(month=11, day=20)):
        raw = {"SMART_HW_OUTPUT": "312.55", "OPEN_CATALOGUE_PUBLISHED": "是"}
        services.save_draft(actor=cast.users["city-hz"], submission=annual, raw=raw, explanations={}, base_version=0)
    stored = {dv.item.code: dv.number for dv in fresh(annual).values.select_related("item")}
    assert stored == {"SMART_HW_OUTPUT": Decimal("312.55"), "OPEN_CATALOGUE_PUBLISHED": Decimal(1)}


def test_ministry_creates_and_edits_a_cycle_in_the_pages(cast: Cast, settings: Any) -> None:
    settings.REPORTING_TODAY = "2017-01-05"
    edition = load_edition_file(EDITION_2016)
    client = cast.client("ministry")
    full = Cohort.objects.get(name="2016 全面监测")
    monthly = edition.forms.get(code="M")
    response = client.post(
        reverse("reporting:cycle_create"),
        {"name": "2017 年度监测", "year": 2017, "edition": edition.pk, "cohorts": [full.pk], "forms": [monthly.pk],
         "description": ""},
    )  # fmt: skip
    cycle = ReportingCycle.objects.get(name="2017 年度监测")
    assert response["Location"] == reverse("reporting:cycle", args=[cycle.pk])
    assert cycle.periods.count() == 12
    # Cities of the cohort joined in 2016, so they owe every 2017 month.
    assert Submission.objects.filter(period__cycle=cycle).count() == 12 * full.memberships.count()
    period = cycle.periods.get(code="2017-M01")
    response = client.post(
        reverse("reporting:period_edit", args=[period.pk]),
        {"opens_on": "2017-02-01", "due_on": "2017-02-15", "expires_on": "2017-02-10"},
    )
    assert "开始填报 ≤ 报送期限 ≤ 关闭日期" in response.content.decode()
    client.post(
        reverse("reporting:period_edit", args=[period.pk]),
        {"opens_on": "2017-02-01", "due_on": "2017-02-15", "expires_on": "2017-02-28"},
    )
    period.refresh_from_db()
    assert period.due_on == datetime.date(2017, 2, 15)
    assert AuditEvent.objects.filter(action=Action.CYCLE_UPDATE, object_id=str(cycle.pk)).exists()
    # Only the ministry edits cycles; provinces see them read-only.
    assert cast.client("analyst").get(reverse("reporting:cycle_create")).status_code == 403
    assert cast.client("province-zj").get(reverse("reporting:cycle", args=[cycle.pk])).status_code == 200
    assert cast.client("province-zj").get(reverse("reporting:period_edit", args=[period.pk])).status_code == 403


# --- from the review of the workflow ---------------------------------------------------------------


def changed_meanwhile(cast: Cast, raw: dict[str, str], explanations: dict[str, str]) -> tuple[Submission, int]:
    """A conflict's set-up: a filled draft, and the version a page showed before the city's reporter saved ``raw``
    and ``explanations`` over it."""
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission)
    base = fresh(submission).version
    services.save_draft(
        actor=cast.users["city-hz"], submission=submission, raw=raw, explanations=explanations, base_version=base
    )
    return submission, base


def test_after_a_conflict_the_field_shows_the_other_value_so_autosave_cannot_overwrite_it(
    cast: Cast, cycle: ReportingCycle
) -> None:
    submission, base = changed_meanwhile(cast, {"FTTH_USERS": "7700"}, {})
    data = {f"value-{k}": v for k, v in MONTHLY.items()} | {"value-FTTH_USERS": "7800", "base_version": str(base)}
    response = cast.client("city-hz-approver").post(
        reverse("reporting:save", args=[submission.pk]), data, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert 'data-testid="conflicts"' in html
    # The input is swapped back to the value the other person saved; "改用我的数值" posts the user's explicitly.
    assert 'id="value-FTTH_USERS"' in html and 'value="7700"' in html and "改用我的数值" in html
    values, _ = services.current_values(fresh(submission))
    assert values["FTTH_USERS"] == "7700"


def test_an_autosave_reads_the_state_again_under_the_lock(cast: Cast, cycle: ReportingCycle) -> None:
    """The autosave locks the row and reads its state again, so a copy read before the approver sent the
    submission on saves nothing."""
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission)
    stale = fresh(submission)
    send(cast, fresh(submission))
    with pytest.raises(services.WorkflowError, match="不能修改"):
        services.save_draft(
            actor=cast.users["city-hz"], submission=stale, raw={"LTE_USERS": "1"}, explanations={},
            base_version=stale.version,
        )  # fmt: skip
    assert services.current_values(fresh(submission))[0]["LTE_USERS"] == "12000"
    assert fresh(submission).status == Status.SUBMITTED


def test_the_entry_page_shows_the_previous_period(cast: Cast, cycle: ReportingCycle) -> None:
    """The 上期 column and the line naming its period come from the previous period with values (read once, with
    the check that compares with it)."""
    october, november = slot(cast, "hangzhou", "2016-M10"), slot(cast, "hangzhou", "2016-M11")
    with clock.at(clock.now().replace(month=11, day=5)):
        fill(cast, october)
    html = cast.client("city-hz").get(reverse("reporting:submission", args=[november.pk])).content.decode()
    assert "“上期”一列为 2016年10月 的数值。" in html
    row = html[html.index('id="row-FBB_USERS"') :]
    assert "10,000" in row[: row.index("</tr>")]
    # Unfilled October: no previous period, and no line naming one.
    html = (
        cast.client("city-gz")
        .get(reverse("reporting:submission", args=[slot(cast, "guangzhou", "2016-M11").pk]))
        .content.decode()
    )
    assert "“上期”一列为" not in html


def test_a_typed_value_costs_few_queries(cast: Cast, cycle: ReportingCycle) -> None:
    """Deadline day: every typed value costs an autosave and a live check. The user is read with its organisation
    and whether it enrolled a second factor in one query; the submission with its period, cycle, edition, form and
    city in one; the autosave then locks the row alone and reads the stored values once."""
    draft = slot(cast, "hangzhou", "2016-M11")
    client = cast.client("city-hz")
    values = {f"value-{code}": value for code, value in MONTHLY.items()}
    client.post(reverse("reporting:save", args=[draft.pk]), {"base_version": 0, **values}, HTTP_HX_REQUEST="true")
    typed = values | {"value-LTE_USERS": "12100"}
    with CaptureQueriesContext(connection) as saved:
        response = client.post(
            reverse("reporting:save", args=[draft.pk]),
            {"base_version": fresh(draft).version, **typed},
            HTTP_HX_REQUEST="true",
        )
    assert "已自动保存" in response.content.decode()
    with CaptureQueriesContext(connection) as checked:
        response = client.post(reverse("reporting:check", args=[draft.pk]), typed, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="msg-LTE_USERS"' in response.content.decode()
    for queries, most in ((saved, 12), (checked, 5)):
        statements = [
            q["sql"] for q in queries.captured_queries if q["sql"].split()[0] in {"SELECT", "INSERT", "UPDATE"}
        ]
        assert len(statements) <= most, "\n".join(statements)
        assert sum('FROM "accounts_user"' in sql for sql in statements) == 1
        assert not [sql for sql in statements if sql.startswith('SELECT "otp_totp_totpdevice"')]
        assert not [sql for sql in statements if sql.startswith('SELECT "organisations_organisation"')]
        assert not [sql for sql in statements if sql.startswith('SELECT "frameworks_edition"')]
    assert services.current_values(fresh(draft))[0]["LTE_USERS"] == "12100"


def test_explanations_conflict_like_values(cast: Cast, cycle: ReportingCycle) -> None:
    submission, base = changed_meanwhile(cast, {}, {"LTE_USERS": "甲的说明"})
    result = services.save_draft(
        actor=cast.users["city-hz-approver"], submission=submission, raw={}, explanations={"LTE_USERS": "乙的说明"},
        base_version=base,
    )  # fmt: skip
    [conflict] = result.conflicts
    assert conflict.explanation and (conflict.theirs, conflict.yours) == ("甲的说明", "乙的说明")
    assert fresh(submission).versions.get(action="conflict").explanations["LTE_USERS"] == "乙的说明"


def test_after_an_explanation_conflict_the_box_shows_the_other_text_so_autosave_cannot_overwrite_it(
    cast: Cast, cycle: ReportingCycle
) -> None:
    submission, base = changed_meanwhile(cast, {}, {"LTE_USERS": "甲的说明"})
    client = cast.client("city-hz-approver")
    data = {f"value-{k}": v for k, v in MONTHLY.items()} | {"explain-LTE_USERS": "乙的说明", "base_version": str(base)}
    html = client.post(reverse("reporting:save", args=[submission.pk]), data, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="conflicts"' in html
    box = html[html.index('id="explain-wrap-LTE_USERS"') :]
    assert 'hx-swap-oob="true"' in box[:200] and "甲的说明</textarea>" in box
    # What the page then posts with the next change keeps the other person's explanation.
    after = re.search(r'id="base-version" value="(\d+)"', html)
    assert after is not None
    data |= {"explain-LTE_USERS": "甲的说明", "value-FTTH_USERS": "7700", "base_version": after.group(1)}
    client.post(reverse("reporting:save", args=[submission.pk]), data, HTTP_HX_REQUEST="true")
    values, explanations = services.current_values(fresh(submission))
    assert explanations["LTE_USERS"] == "甲的说明" and values["FTTH_USERS"] == "7700"


def test_unlock_after_the_closing_date_lets_the_city_correct_only_the_named_items(
    cast: Cast, cycle: ReportingCycle
) -> None:
    october = slot(cast, "hangzhou", "2016-M10")
    with clock.at(clock.now().replace(month=11, day=5)):
        fill(cast, october)
        sent = send(cast, october)
        approved = services.approve_province(
            actor=cast.users["province-zj"], submission=sent, expected_version=sent.version
        )
        accepted = services.accept(actor=cast.users["analyst"], submission=approved, expected_version=approved.version)
    # Today (5 December) October is closed; the unlock still lets the city correct FTTH.
    unlock = services.request_unlock(actor=cast.users["city-hz"], submission=accepted, items=["FTTH_USERS"], reason="x")
    services.decide_unlock(actor=cast.users["analyst"], unlock=unlock, grant=True)
    reopened = fresh(october)
    assert not reopened.needs_extension() and not reopened.is_late()
    result = services.save_draft(
        actor=cast.users["city-hz"], submission=reopened, raw={"FTTH_USERS": "7800"},
        explanations={"FBB_USERS": "改写已锁定项的说明"}, base_version=reopened.version,
    )  # fmt: skip
    assert result.applied == ["FTTH_USERS"] and result.locked == ["FBB_USERS"]
    assert "FBB_USERS" not in services.current_values(fresh(october))[1]


def test_sent_after_midnight_beijing_time_is_late(cast: Cast, cycle: ReportingCycle) -> None:
    october = slot(cast, "hangzhou", "2016-M10")  # due 10 November
    with clock.at(clock.now().replace(month=11, day=5)):
        fill(cast, october)
    with clock.at(clock.now().replace(month=11, day=11, hour=7, minute=30)):
        sent = send(cast, october)
    assert not sent.on_time


def test_hostile_numbers_get_messages_not_errors(cast: Cast, cycle: ReportingCycle) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    client = cast.client("city-hz")
    for hostile in ("1e999999999999999999", "NaN", "Infinity", "99999999999999.999999", "1" * 600, "12\x0034"):
        response = client.post(
            reverse("reporting:save", args=[submission.pk]),
            {"value-FBB_USERS": hostile, "base_version": str(fresh(submission).version)},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200, hostile
    values, _ = services.current_values(fresh(submission))
    assert "\x00" not in (values["FBB_USERS"] or "")
    versions = fresh(submission).version
    # Saving the same long invalid text again writes nothing new.
    client.post(
        reverse("reporting:save", args=[submission.pk]),
        {"value-FBB_USERS": "12\x0034", "base_version": str(versions)},
        HTTP_HX_REQUEST="true",
    )
    assert fresh(submission).version == versions


def test_a_line_break_in_a_reason_does_not_block_e_mail(
    cast: Cast, cycle: ReportingCycle, mailoutbox: list[Any]
) -> None:
    User.objects.filter(username="city-hz").update(email="hz@example.cn")
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission)
    sent = send(cast, submission)
    services.return_submission(
        actor=cast.users["province-zj"],
        submission=sent,
        reason="请核实：\n1. 光纤\n2. 4G",
        expected_version=sent.version,
    )
    call_command("send_reminders", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    assert any("请核实： 1. 光纤 2. 4G" in mail.subject for mail in mailoutbox)


def test_removing_a_form_drops_only_untouched_submissions(cast: Cast, cycle: ReportingCycle) -> None:
    touched = slot(cast, "hangzhou", "2016-M11")
    fill(cast, touched)
    services.update_cycle(
        actor=cast.users["ministry"], cycle=cycle, name=cycle.name, description="", cohorts=cycle.cohorts.all(),
        forms=cycle.forms.exclude(code="H"), expected_version=cycle.version,
    )  # fmt: skip
    assert not Submission.objects.filter(period__cycle=cycle, form__code="H").exists()
    with pytest.raises(Exception, match="不能从周期中移除"):
        services.update_cycle(
            actor=cast.users["ministry"], cycle=cycle, name=cycle.name, description="", cohorts=cycle.cohorts.all(),
            forms=cycle.forms.exclude(code="M"), expected_version=fresh_cycle(cycle).version,
        )  # fmt: skip
    assert Submission.objects.filter(pk=touched.pk).exists()


def fresh_cycle(cycle: ReportingCycle) -> ReportingCycle:
    return ReportingCycle.objects.get(pk=cycle.pk)


def test_a_double_click_on_approve_and_send_is_a_friendly_no_op(cast: Cast, cycle: ReportingCycle) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission)
    shown_at = fresh(submission).version
    client = cast.client("city-hz-approver")
    url = reverse("reporting:act", args=[submission.pk])
    client.post(url, {"action": "approve_and_submit", "expected_version": shown_at})
    response = client.post(url, {"action": "approve_and_submit", "expected_version": shown_at}, follow=True)
    assert "无需重复提交" in response.content.decode()
    assert fresh(submission).versions.filter(action="submit").count() == 1


def test_queues_tell_returns_apart(cast: Cast, cycle: ReportingCycle) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission)
    services.return_submission(
        actor=cast.users["city-hz-approver"], submission=submission, reason="自查有误",
        expected_version=fresh(submission).version,
    )  # fmt: skip
    analyst = {key: entries for key, _, entries in cast.client("analyst").get("/").context["queue"].sections}
    assert submission.pk not in [s.pk for s in analyst["returned"]]
    city = {key: entries for key, _, entries in cast.client("city-hz").get("/").context["queue"].sections}
    assert submission.pk in [s.pk for s in city["returned"]]


def test_the_menu_counts_unread_notifications_and_an_autosave_does_not_ask(cast: Cast, cycle: ReportingCycle) -> None:
    submission = slot(cast, "hangzhou", "2016-M11")
    fill(cast, submission)
    send(cast, submission)
    province = cast.client("province-zj")
    unread = Notification.objects.filter(user=cast.users["province-zj"], read_at__isnull=True).count()
    assert unread >= 1
    html = province.get("/").content.decode()
    assert f'<span class="badge text-bg-warning">{unread}</span>' in html
    # An autosave answers a fragment without the menu: neither the badge's count nor the demo banner is queried.
    draft = slot(cast, "guangzhou", "2016-M11")
    client = cast.client("city-gz")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            reverse("reporting:save", args=[draft.pk]),
            {"base_version": draft.version, "value-FBB_USERS": "10,000"},
            headers={"HX-Request": "true"},
        )
    assert "已自动保存" in response.content.decode()
    asked = " ".join(query["sql"] for query in queries.captured_queries)
    assert "reporting_notification" not in asked and "demo_demodataset" not in asked
