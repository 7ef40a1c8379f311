"""Pages of reporting: work queues, cycles and their calendar, data entry and review, history, unlock requests,
completeness and timeliness, notifications."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infocity.accounts.models import Role, User
from infocity.accounts.permissions import role_required
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.scoping import get_visible_or_404, parse_id

from . import clock, content, services
from .forms import CycleForm, ExtensionForm, PeriodDatesForm, SubmissionFilterForm
from .models import Notification, Period, ReportingCycle, Status, Submission, SubmissionVersion, UnlockRequest
from .scoping import (
    cycles_visible_to,
    get_cycle_for,
    get_submission_for,
    submissions_visible_to,
    unlock_requests_visible_to,
)
from .stats import completeness, queue_for

PLACE_AND_NATIONAL = (Role.MINISTRY, Role.ANALYST, Role.PROVINCE_REVIEWER, Role.CITY_REPORTER, Role.CITY_APPROVER)
REVIEWERS = (Role.MINISTRY, Role.ANALYST, Role.PROVINCE_REVIEWER)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# --- queues and lists -----------------------------------------------------------------------------


@role_required(*PLACE_AND_NATIONAL)
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "reporting/queue.html", {"queue": queue_for(_user(request)), "today": clock.today()})


@role_required(*PLACE_AND_NATIONAL)
def submission_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    submissions = submissions_visible_to(user)
    filters = SubmissionFilterForm(request.GET or None, user=user)
    if filters.is_valid():
        submissions = filters.apply(submissions)
    page = Paginator(submissions, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reporting/submission_list.html",
        {"page": page, "filters": filters, "query": query.urlencode(), "today": clock.today()},
    )


# --- cycles ---------------------------------------------------------------------------------------


@role_required(*PLACE_AND_NATIONAL)
def cycle_list(request: HttpRequest) -> HttpResponse:
    # Counted in a subquery: the place roles' scoping joins periods already, which would skew a plain Count.
    periods = Period.objects.filter(cycle=OuterRef("pk")).values("cycle").annotate(n=Count("id")).values("n")
    cycles = cycles_visible_to(request.user).select_related("edition").annotate(period_count=Subquery(periods))
    return render(
        request, "reporting/cycle_list.html", {"cycles": cycles, "can_edit": _user(request).role == Role.MINISTRY}
    )


@role_required(*PLACE_AND_NATIONAL)
def cycle_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cycle = get_cycle_for(request.user, pk)
    visible = submissions_visible_to(request.user).filter(period__cycle=cycle)
    counts = {
        (row["period_id"], row["status"]): row["n"]
        for row in visible.values("period_id", "status").annotate(n=Count("id"))
    }
    today = clock.today()
    periods = [
        (
            period,
            period.state(today),
            sum(n for (pid, _s), n in counts.items() if pid == period.pk),
            counts.get((period.pk, Status.ACCEPTED), 0),
        )
        for period in cycle.periods.all()
    ]
    total, _provinces = completeness(visible, today)
    return render(
        request,
        "reporting/cycle_detail.html",
        {
            "cycle": cycle,
            "periods": periods,
            "total": total,
            "today": today,
            "can_edit": _user(request).role == Role.MINISTRY,
        },
    )


@role_required(Role.MINISTRY)
def cycle_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    cycle = get_cycle_for(request.user, pk) if pk else None
    form = CycleForm(request.POST or None, instance=cycle)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if cycle is None:
                cycle = services.create_cycle(
                    actor=_user(request),
                    name=data["name"],
                    year=data["year"],
                    edition=data["edition"],
                    cohorts=data["cohorts"],
                    forms=data["forms"],
                    description=data["description"],
                    request=request,
                )
                messages.success(request, _("填报周期已创建，已按标准日历生成报告期，可逐一调整日期。"))
            else:
                services.update_cycle(
                    actor=_user(request),
                    cycle=cycle,
                    name=data["name"],
                    description=data["description"],
                    cohorts=data["cohorts"],
                    forms=data["forms"],
                    expected_version=data["version"] or 0,
                    request=request,
                )
                messages.success(request, _("填报周期已保存。"))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("reporting:cycle", pk=cycle.pk)
    return render(request, "reporting/cycle_form.html", {"form": form, "cycle": cycle})


@role_required(Role.MINISTRY)
def period_edit(request: HttpRequest, pk: int) -> HttpResponse:
    period = get_visible_or_404(request.user, Period.objects.filter(cycle__in=cycles_visible_to(request.user)), pk)
    form = PeriodDatesForm(request.POST or None, instance=period)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_period_dates(
                actor=_user(request),
                period=period,
                opens_on=form.cleaned_data["opens_on"],
                due_on=form.cleaned_data["due_on"],
                expires_on=form.cleaned_data["expires_on"],
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("%(period)s的日期已保存。") % {"period": period.label})
            return redirect("reporting:cycle", pk=period.cycle_id)
    return render(request, "reporting/period_form.html", {"form": form, "period": period})


# --- one submission -------------------------------------------------------------------------------


def _can(user: User, submission: Submission) -> dict[str, bool]:
    """What this user may do with this submission now (the services check again)."""
    role = user.role
    own_city = role in services.CITY_ROLES and user.organisation_id == submission.city_id
    province = role == Role.PROVINCE_REVIEWER and submission.city.path.startswith(user.organisation.path)
    analyst = role == Role.ANALYST
    status = submission.status
    today = clock.today()
    open_for_city = submission.period.opens_on <= today and not submission.needs_extension(today)
    return {
        "edit": own_city and status == Status.DRAFT and open_for_city,
        "approve_city": role == Role.CITY_APPROVER and own_city and status == Status.DRAFT and open_for_city,
        "submit": own_city and status == Status.CITY_APPROVED and open_for_city,
        "return_city": role == Role.CITY_APPROVER and own_city and status in {Status.DRAFT, Status.CITY_APPROVED},
        "approve_province": province and status == Status.SUBMITTED,
        "return_province": province and status == Status.SUBMITTED,
        "accept": analyst and status == Status.PROVINCE_APPROVED,
        "return_analyst": analyst and status == Status.PROVINCE_APPROVED,
        "request_unlock": own_city and status == Status.ACCEPTED,
        "extend": (province or analyst) and submission.needs_extension(today),
    }


def _rows(
    submission: Submission,
    check: Any,
    previous: services.PreviousPeriod | None,
    values: tuple[Any, Any] | None = None,
    fragment: bool = False,
) -> list[dict[str, Any]]:
    """One row per item, grouped by area, with the value, the previous value, messages and comments. ``values``:
    the submission's current values and explanations when the caller has read them already. ``fragment``: for an
    htmx answer that swaps in messages and explanation boxes only — the reviewer's comments, which it does not
    show, are not read (the previous period's values come with ``previous``, read once by the check)."""
    items = services.form_items(submission)
    current, explanations = values if values is not None else services.current_values(submission)
    previous_values: dict[str, Any] = {}
    comments: dict[str, str] = {}
    if not fragment:
        previous_values = previous.values if previous else {}
        last_return = submission.versions.filter(action=SubmissionVersion.Action.RETURN).order_by("-number").first()
        comments = last_return.item_comments if last_return and submission.status == Status.DRAFT else {}
    rows = []
    for item in items:
        item_messages = check.for_item(item.code) if check else []
        rows.append(
            {
                "item": item,
                "value": current.get(item.code) or "",
                "shown": services.format_for(item, current.get(item.code)),
                "previous": services.format_for(item, previous_values.get(item.code))
                if item.code in previous_values
                else "",
                "explanation": explanations.get(item.code, ""),
                "messages": item_messages,
                "needs_explanation": any(m.severity == "warning" for m in item_messages),
                "comment": comments.get(item.code, ""),
                "editable": submission.item_editable(item.code),
            }
        )
    return rows


def _grouped(rows: list[dict[str, Any]]) -> list[tuple[Any, list[dict[str, Any]]]]:
    groups: list[tuple[Any, list[dict[str, Any]]]] = []
    for row in rows:
        area = row["item"].area
        if not groups or groups[-1][0] != area:
            groups.append((area, []))
        groups[-1][1].append(row)
    return groups


def _submission_context(
    request: HttpRequest,
    submission: Submission,
    checked: tuple[Any, services.PreviousPeriod | None] | None = None,
    values: tuple[dict[str, str | None], dict[str, str]] | None = None,
    fragment: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """The entry page's context. ``checked``: the check of the current values (and the previous period it compared
    with), and ``values``: the current values and explanations, when the caller has them already — the autosave's
    service reads and checks the values it saved — so they are not read and checked again. ``fragment``: see
    ``_rows``."""
    if values is None:
        values = services.current_values(submission)
    check, previous = checked if checked is not None else services.check_submission(submission, values[0])
    rows = _rows(submission, check, previous, values, fragment)
    today = clock.today()
    _, explanations = values
    can = _can(_user(request), submission)
    # Shown beside the unlock request form only, which an accepted submission of the user's own city offers.
    pending = submission.unlock_requests.filter(status=UnlockRequest.Decision.PENDING)
    pending_unlock = pending.first() if can["request_unlock"] else None
    return {
        "submission": submission,
        "groups": _grouped(rows),
        "rows": rows,
        "check": check,
        "previous": previous,
        "blockers": len(check.errors) + len(check.unexplained(explanations)),
        "can": can,
        "state": submission.period.state(today),
        "late": submission.is_late(today),
        "needs_extension": submission.needs_extension(today),
        "today": today,
        "pending_unlock": pending_unlock,
        "extension_form": ExtensionForm(),
        **extra,
    }


@role_required(*PLACE_AND_NATIONAL)
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    submission = get_submission_for(request.user, pk)
    if content.handler_for(submission) is not None:  # a progress report has its own page
        return redirect("progress:report", pk=submission.pk)
    return render(request, "reporting/submission.html", _submission_context(request, submission))


def _posted_values(request: HttpRequest, submission: Submission) -> tuple[dict[str, str], dict[str, str]]:
    codes = [item.code for item in services.form_items(submission)]
    raw = {code: request.POST[f"value-{code}"] for code in codes if f"value-{code}" in request.POST}
    explanations = {code: request.POST[f"explain-{code}"] for code in codes if f"explain-{code}" in request.POST}
    return raw, explanations


@role_required(Role.CITY_REPORTER, Role.CITY_APPROVER)
@require_POST
def submission_save(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the draft: from the autosave (htmx, answers with the save status and each item's messages) or
    from the 保存 button (answers with the whole page)."""
    submission = get_submission_for(request.user, pk)
    if content.handler_for(submission) is not None:  # a progress report saves on its own page
        return redirect("progress:report", pk=submission.pk)
    raw, explanations = _posted_values(request, submission)
    try:
        base = int(request.POST.get("base_version", ""))
    except ValueError:
        return HttpResponseBadRequest(_("缺少页面版本，请刷新页面后重试。"))
    try:
        result = services.save_draft(
            actor=_user(request), submission=submission, raw=raw, explanations=explanations, base_version=base,
            request=request,
        )  # fmt: skip
    except ValidationError as error:
        if request.headers.get("HX-Request"):
            return render(request, "reporting/_save_response.html", {"error": " ".join(error.messages)})
        messages.error(request, " ".join(error.messages))
        return redirect("reporting:submission", pk=submission.pk)
    # The service's locked copy is the submission as saved (with its period, cycle and edition).
    submission = result.submission
    checked = (result.check, result.previous) if result.check is not None else None
    fragment = bool(request.headers.get("HX-Request"))
    context = _submission_context(
        request, submission, checked, result.values, fragment, result=result, saved_at=timezone.localtime()
    )
    _mark_reveals(request, context["rows"])
    if request.headers.get("HX-Request"):
        return render(request, "reporting/_save_response.html", context)
    if result.conflicts:
        messages.warning(request, _("部分填报项已被他人修改，您的这些修改未覆盖他人的数值，请查看下方提示。"))
    elif result.applied:
        messages.success(request, _("已保存。"))
    return render(request, "reporting/submission.html", context)


@role_required(Role.CITY_REPORTER, Role.CITY_APPROVER)
@require_POST
def submission_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Inline validation as the user types (nothing is saved): each item's messages, swapped in by htmx."""
    submission = get_submission_for(request.user, pk)
    if content.handler_for(submission) is not None:
        return redirect("progress:report", pk=submission.pk)
    raw, explanations = _posted_values(request, submission)
    current, stored_explanations = services.current_values(submission)
    merged = {code: value or "" for code, value in current.items()} | raw
    check, previous = services.check_submission(submission, merged)
    rows = _rows(submission, check, previous, (current, stored_explanations), fragment=True)
    for row in rows:
        row["explanation"] = explanations.get(row["item"].code, row["explanation"])
    _mark_reveals(request, rows)
    return render(request, "reporting/_item_messages.html", {"rows": rows, "submission": submission})


def _mark_reveals(request: HttpRequest, rows: list[dict[str, Any]]) -> None:
    """Explanation boxes to show now: needed by a warning and not yet visible in the user's page (a hidden box
    is disabled, so it is absent from the post). Visible ones are left alone, so typing in them is never
    interrupted."""
    for row in rows:
        code = row["item"].code
        row["reveal"] = row["needs_explanation"] and row["editable"] and f"explain-{code}" not in request.POST


ACTIONS = {
    "approve_city": services.approve_city,
    "submit": services.submit,
    "approve_province": services.approve_province,
    "accept": services.accept,
}


@role_required(*PLACE_AND_NATIONAL)
@require_POST
def submission_act(request: HttpRequest, pk: int) -> HttpResponse:
    """Workflow buttons. Each names the version it was shown at, so a double click acts once."""
    submission = get_submission_for(request.user, pk)
    action = request.POST.get("action", "")
    actor = _user(request)
    try:
        version = int(request.POST.get("expected_version", ""))
    except ValueError:
        return HttpResponseBadRequest(_("缺少页面版本，请刷新页面后重试。"))
    done = {
        "approve_city": _("本市审核通过。"),
        "submit": _("已报送省级。"),
        "approve_and_submit": _("本市审核通过，已报送省级。"),
        "approve_province": _("省级审核通过，已提交监测机构。"),
        "accept": _("已受理，数据已锁定。"),
        "return": _("已退回，并已通知相关人员。"),
        "request_unlock": _("解锁申请已提交，等待监测机构处理。"),
        "extend": _("已批准延期。"),
    }
    if action not in done:
        return HttpResponseBadRequest(_("未知的操作。"))
    try:
        if action in ACTIONS:
            ACTIONS[action](actor=actor, submission=submission, expected_version=version, request=request)
        elif action == "approve_and_submit":
            with transaction.atomic():
                approved = services.approve_city(
                    actor=actor, submission=submission, expected_version=version, request=request
                )
                services.submit(actor=actor, submission=approved, expected_version=approved.version, request=request)
        elif action == "return":
            comments = {
                key.removeprefix("comment-"): str(value)
                for key, value in request.POST.items()
                if key.startswith("comment-") and str(value).strip()
            }
            services.return_submission(
                actor=actor,
                submission=submission,
                reason=request.POST.get("reason", ""),
                item_comments=comments,
                expected_version=version,
                request=request,
            )
        elif action == "request_unlock":
            services.request_unlock(
                actor=actor,
                submission=submission,
                items=request.POST.getlist("items"),
                reason=request.POST.get("reason", ""),
                request=request,
            )
        elif action == "extend":
            form = ExtensionForm(request.POST)
            if not form.is_valid():
                raise services.WorkflowError(" ".join(e for errors in form.errors.values() for e in errors))
            services.grant_extension(
                actor=actor,
                submission=submission,
                until=form.cleaned_data["until"],
                reason=form.cleaned_data["reason"],
                expected_version=version,
                request=request,
            )
    except services.AlreadyDone as already:
        messages.info(request, " ".join(already.messages))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, done[action])
    return redirect("reporting:submission", pk=submission.pk)


@role_required(*PLACE_AND_NATIONAL)
def submission_history(request: HttpRequest, pk: int) -> HttpResponse:
    """版本记录: every version, who made it and when, with what changed against the version before."""
    submission = get_submission_for(request.user, pk)
    items = {item.code: item for item in services.form_items(submission)}
    versions = list(submission.versions.select_related("actor").order_by("number"))
    entries = []
    state: dict[str, Any] = {}
    explained: dict[str, Any] = {}
    order = {code: n for n, code in enumerate(items)}

    handler = content.handler_for(submission)
    labels = handler.labels(submission) if handler else {}
    if handler is not None:
        order = {code: n for n, code in enumerate(labels)}

    def shown(code: str, value: Any) -> Any:
        if handler is not None:  # a progress report: its parts as short text
            return handler.summary(value)
        return services.format_for(items[code], value) if code in items else value

    def name(code: str) -> str:
        return items[code].name if code in items else labels.get(code, code)

    for version in versions:
        codes = sorted(set(state) | set(version.values), key=lambda c: order.get(c, len(order)))
        changes = [
            (name(code), shown(code, state.get(code)), shown(code, version.values.get(code)))
            for code in codes
            if state.get(code) != version.values.get(code)
        ]
        explanations = [
            (name(code), explained.get(code, ""), version.explanations.get(code, ""))
            for code in sorted(set(explained) | set(version.explanations), key=lambda c: order.get(c, len(order)))
            if explained.get(code, "") != version.explanations.get(code, "")
        ]
        comments = [(name(code), text) for code, text in version.item_comments.items()]
        entries.append({"version": version, "changes": changes, "explanations": explanations, "comments": comments})
        if version.applied:
            state = dict(version.values)
            explained = dict(version.explanations)
    entries.reverse()
    return render(request, "reporting/history.html", {"submission": submission, "entries": entries})


# --- unlock requests ------------------------------------------------------------------------------


@role_required(Role.ANALYST, Role.MINISTRY, Role.PROVINCE_REVIEWER, Role.CITY_REPORTER, Role.CITY_APPROVER)
def unlock_list(request: HttpRequest) -> HttpResponse:
    requests_ = unlock_requests_visible_to(request.user)
    status = request.GET.get("status", UnlockRequest.Decision.PENDING)
    if status in UnlockRequest.Decision.values:
        requests_ = requests_.filter(status=status)
    return render(
        request,
        "reporting/unlock_list.html",
        {"unlocks": requests_[:200], "status": status, "statuses": UnlockRequest.Decision.choices},
    )


@role_required(Role.ANALYST)
@require_POST
def unlock_decide(request: HttpRequest, pk: int) -> HttpResponse:
    unlock = get_visible_or_404(request.user, unlock_requests_visible_to(request.user), pk)
    grant = request.POST.get("decision") == "grant"
    try:
        services.decide_unlock(
            actor=_user(request), unlock=unlock, grant=grant, note=request.POST.get("note", ""), request=request
        )
    except services.AlreadyDone as already:
        messages.info(request, " ".join(already.messages))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("已同意解锁，只有申请的填报项重新开放。") if grant else _("已拒绝解锁申请。"))
    return redirect("reporting:unlocks")


# --- completeness and timeliness -------------------------------------------------------------------


def _completeness_scope(request: HttpRequest) -> tuple[Any, ReportingCycle | None, Period | None]:
    cycles = cycles_visible_to(request.user)
    cycle = None
    if request.GET.get("cycle", ""):
        cycle = get_cycle_for(request.user, parse_id(request.GET["cycle"]))
    elif cycles.exists():
        cycle = cycles.order_by("-year", "-pk").first()
    submissions = submissions_visible_to(request.user)
    period = None
    if cycle is not None:
        submissions = submissions.filter(period__cycle=cycle)
        if request.GET.get("period", ""):
            period = get_visible_or_404(request.user, cycle.periods.all(), parse_id(request.GET["period"]))
            submissions = submissions.filter(period=period)
    else:
        submissions = submissions.none()
    return submissions, cycle, period


@role_required(*REVIEWERS)
def completeness_view(request: HttpRequest) -> HttpResponse:
    submissions, cycle, period = _completeness_scope(request)
    today = clock.today()
    total, provinces = completeness(submissions, today)
    return render(
        request,
        "reporting/completeness.html",
        {
            "cycles": cycles_visible_to(request.user),
            "cycle": cycle,
            "period": period,
            "total": total,
            "provinces": provinces,
            "today": today,
            "query": request.GET.urlencode(),
        },
    )


def _safe_cell(value: Any) -> Any:
    """Spreadsheet formula injection guard: text starting with = + - @ is prefixed with a quote."""
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value


@role_required(*REVIEWERS)
def completeness_csv(request: HttpRequest) -> HttpResponse:
    submissions, cycle, period = _completeness_scope(request)
    today = clock.today()
    total, provinces = completeness(submissions, today)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"completeness-{cycle.year if cycle else 'none'}-{today:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response.write("\ufeff")  # so Excel opens the UTF-8 file with Chinese intact
    writer = csv.writer(response)
    writer.writerow(
        ["省级主管部门", "示范城市", "区划代码", "应报", "已受理", "按时报送", "逾期报送", "未报送", "完整率", "及时率"]
    )

    def row(province: str, tally: Any, label: str) -> list[Any]:
        cells = [province, label, tally.code, tally.expected, tally.accepted, tally.on_time, tally.late, tally.missing]
        cells += [rate(tally.completeness), rate(tally.timeliness)]
        return [_safe_cell(cell) for cell in cells]

    def rate(value: float | None) -> str:
        return "" if value is None else f"{value * 100:.1f}%"

    for province in provinces:
        for city in province.cities:
            writer.writerow(row(province.label, city, city.label))
        writer.writerow(row(province.label, province, "（小计）"))
    writer.writerow(row("合计", total, ""))
    with transaction.atomic():
        record(
            Action.REPORT_EXPORT,
            request=request,
            detail={
                "report": "completeness",
                "cycle": cycle.pk if cycle else None,
                "period": period.code if period else None,
            },
        )
    return response


# --- notifications --------------------------------------------------------------------------------


def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = Notification.objects.filter(user=_user(request))
    page = Paginator(notifications, 30).get_page(request.GET.get("page"))
    return render(request, "reporting/notifications.html", {"page": page})


@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    Notification.objects.filter(user=_user(request), read_at__isnull=True).update(read_at=timezone.now())
    return redirect("reporting:notifications")


def unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
