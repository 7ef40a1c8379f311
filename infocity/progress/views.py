"""Pages of the progress reports: the list (the province's and analyst's queue of reports), a report with its
sections, attainment table, attachments and typical applications, the application form, files, and the PDF and
Word exports. Workflow buttons post to the reporting workflow's own action view."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infocity.accounts.models import Role, User
from infocity.accounts.permissions import role_required
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.reporting import clock
from infocity.reporting.forms import ExtensionForm
from infocity.reporting.models import Status, Submission, SubmissionVersion, UnlockRequest
from infocity.reporting.views import _can
from infocity.scoping import get_visible_or_404, parse_id

from . import exports, services
from .content import is_full_year, sections_of
from .models import TypicalApplication
from .sections import AREAS, SECTIONS

READERS = (Role.MINISTRY, Role.ANALYST, Role.PROVINCE_REVIEWER, Role.CITY_REPORTER, Role.CITY_APPROVER)
CITY = (Role.CITY_REPORTER, Role.CITY_APPROVER)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
APPLICATION_WRITERS = (Role.CITY_REPORTER, Role.CITY_APPROVER, Role.ENTERPRISE)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _report(request: HttpRequest, pk: int) -> Any:
    return get_visible_or_404(request.user, services.reports_visible_to(_user(request)), pk)


def _errors(request: HttpRequest, error: ValidationError | PermissionDenied) -> None:
    for message in getattr(error, "messages", [str(error)]):
        messages.error(request, message)


@role_required(*READERS, Role.ENTERPRISE)
def report_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.role == Role.ENTERPRISE:
        reports = services.enterprise_reports(user).order_by("-period__ends_on")
        mine = services.applications_visible_to(user).select_related("submission__period", "submission__city")
        return render(request, "progress/enterprise.html", {"reports": reports, "applications": mine})
    reports = services.reports_visible_to(user)
    period = request.GET.get("period", "")
    status = request.GET.get("status", "")
    if period in {"R1", "R2"}:
        reports = reports.filter(period__code__endswith=period)
    if status in Status.values:
        reports = reports.filter(status=status)
    reports = reports.order_by("-period__ends_on", "city__division_id")
    page = Paginator(reports, 50).get_page(request.GET.get("page"))
    return render(request, "progress/list.html", {
        "page": page, "period": period, "status": status, "statuses": Status.choices, "today": clock.today(),
    })  # fmt: skip


def _latest_comments(submission: Any) -> dict[str, str]:
    """The comments of the return the city is answering (shown at each section and application)."""
    if not (submission.returned and submission.status == Status.DRAFT):
        return {}
    version = submission.versions.filter(action=SubmissionVersion.Action.RETURN).order_by("-number").first()
    return dict(version.item_comments) if version else {}


@role_required(*READERS)
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _report(request, pk)
    user = _user(request)
    can = _can(user, submission)
    comments = _latest_comments(submission)
    stored = sections_of(submission)
    sections = [
        {"section": s, "html": stored[s.key], "comment": comments.get(s.key, ""),
         "editable": can["edit"] and submission.item_editable(s.key)}
        for s in SECTIONS
    ]  # fmt: skip
    applications = []
    if is_full_year(submission):
        for app in submission.applications.select_related("entered_by_organisation"):
            applications.append({
                "app": app, "contact": services.contact_for(user, app), "comment": comments.get(app.code, ""),
                "files": [a for a in app.attachments.all() if a.removed_at is None and not a.inline],
            })  # fmt: skip
    files = submission.attachments.filter(removed_at__isnull=True, inline=False, application__isnull=True)
    header, rows, note = exports.attainment(submission)
    today = clock.today()
    return render(request, "progress/report.html", {
        "submission": submission, "sections": sections, "applications": applications, "files": files,
        "attainment_header": header, "attainment_rows": rows, "attainment_note": note, "can": can,
        "full_year": is_full_year(submission), "blockers": len(services.blockers(submission)) if can["edit"] else 0,
        "blocker_list": services.blockers(submission) if can["edit"] else [],
        "state": submission.period.state(today), "late": submission.is_late(today),
        "needs_extension": submission.needs_extension(today), "today": today,
        "pending_unlock": submission.unlock_requests.filter(status=UnlockRequest.Decision.PENDING).first(),
        "rows": [{"item": {"code": s.key, "name": s.title_zh}} for s in SECTIONS]
        + [{"item": {"code": a["app"].code, "name": a["app"].title}} for a in applications],
        "areas": {a.code: a.name_zh for a in AREAS}, "upload_help": services.ALLOWED_FILES,
        "extension_form": ExtensionForm(),
        "attachments_editable": can["edit"] and services.attachments_editable(submission),
    })  # fmt: skip


@role_required(*CITY)
@require_POST
def report_save(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _report(request, pk)
    sections = {
        key.removeprefix("section-"): str(value) for key, value in request.POST.items() if key.startswith("section-")
    }
    try:
        base = int(request.POST.get("base_version", ""))
    except ValueError:
        messages.error(request, _("缺少页面版本，请刷新页面后重试。"))
        return redirect("progress:report", pk=pk)
    try:
        result = services.save_report(
            actor=_user(request), submission=submission, sections=sections, base_version=base, request=request
        )
    except (ValidationError, PermissionDenied) as error:
        _errors(request, error)
    else:
        titles = {s.key: s.title_zh for s in SECTIONS}
        if result.conflicts:
            names = "、".join(titles[k] for k in result.conflicts)
            message = _(
                "以下部分在您编辑期间已被他人修改，您的修改未覆盖他人的内容（已保留在版本记录中），请核对后重新编辑：%(names)s"
            )
            messages.warning(request, message % {"names": names})
        if result.written:
            messages.success(
                request, _("已保存：%(names)s。") % {"names": "、".join(titles[k] for k in result.written)}
            )
        elif not result.conflicts:
            messages.info(request, _("内容没有变化。"))
    return redirect("progress:report", pk=pk)


@role_required(*APPLICATION_WRITERS)
@require_POST
def attachment_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    application = None
    if user.role == Role.ENTERPRISE:
        application = get_visible_or_404(
            user, services.applications_visible_to(user), parse_id(request.POST.get("application"))
        )
        submission = application.submission
    else:
        submission = _report(request, pk)
        if request.POST.get("application"):
            application = get_visible_or_404(
                user,
                TypicalApplication.objects.filter(submission=submission),
                parse_id(request.POST.get("application")),
            )
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("请选择要上传的文件。"))
    else:
        try:
            services.add_attachment(actor=user, submission=submission, filename=upload.name or "附件", file=upload,
                                    application=application, request=request)  # fmt: skip
        except (ValidationError, PermissionDenied) as error:
            _errors(request, error)
        else:
            messages.success(request, _("附件已上传。"))
    if application is not None:
        return redirect("progress:application", pk=application.pk)
    return redirect("progress:report", pk=submission.pk)


@role_required(*APPLICATION_WRITERS)
@require_POST
def attachment_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    attachment = get_visible_or_404(user, services.attachments_visible_to(user), pk)
    try:
        services.remove_attachment(actor=user, attachment=attachment, request=request)
    except (ValidationError, PermissionDenied) as error:
        _errors(request, error)
    else:
        messages.success(request, _("附件已删除。"))
    if attachment.application_id:
        return redirect("progress:application", pk=attachment.application_id)
    return redirect("progress:report", pk=attachment.submission_id)


@role_required(*READERS, Role.ENTERPRISE, Role.EXPERT)
def file(request: HttpRequest, pk: int) -> HttpResponseBase:
    """An attachment, to whoever may see its report. Images open in the page; everything else downloads."""
    user = _user(request)
    attachment = get_visible_or_404(user, services.attachments_visible_to(user), pk)
    if not attachment.inline:
        record(Action.ATTACHMENT_DOWNLOAD, actor=user, request=request, target=attachment.submission,
               detail={"file": attachment.filename, "sha256": attachment.sha256})  # fmt: skip
    response = StreamingHttpResponse(attachment.blob.chunks(), content_type=attachment.mime)
    response["Content-Length"] = str(attachment.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    header = content_disposition_header(not attachment.is_image, attachment.filename)  # images open in the page
    if header:
        response["Content-Disposition"] = header
    return response


# --- typical applications ---------------------------------------------------------------------------------------


def _application_for(request: HttpRequest, pk: int) -> TypicalApplication:
    found: TypicalApplication = get_visible_or_404(
        request.user,
        services.applications_visible_to(_user(request)).select_related("submission__period", "submission__city"),
        pk,
    )
    return found


def _report_for_new_application(request: HttpRequest, pk: int) -> Any:
    user = _user(request)
    if user.role == Role.ENTERPRISE:
        return get_visible_or_404(user, services.enterprise_reports(user), pk)
    return _report(request, pk)


@role_required(*APPLICATION_WRITERS)
def application_new(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _report_for_new_application(request, pk)
    return _application_form(request, submission, None)


@role_required(*READERS, Role.ENTERPRISE)
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application_for(request, pk)
    if request.method == "POST" and _user(request).role not in APPLICATION_WRITERS:
        raise PermissionDenied
    return _application_form(request, application.submission, application)


def _application_form(request: HttpRequest, submission: Any, application: TypicalApplication | None) -> HttpResponse:
    user = _user(request)
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    if request.method == "POST":
        data = request.POST.dict()
        try:
            version = int(data["version"]) if application is not None else None
        except (KeyError, ValueError):
            version = -1
        try:
            saved = services.save_application(actor=user, submission=submission, data=data, application=application,
                                              expected_version=version, request=request)  # fmt: skip
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                errors = {name: [str(m) for e in errs for m in e.messages] for name, errs in error.error_dict.items()}
                messages.error(request, _("请按提示修改后再保存。"))
            else:
                _errors(request, error)
        except PermissionDenied as error:
            _errors(request, error)
        else:
            messages.success(request, _("典型应用已保存。"))
            return redirect("progress:application", pk=saved.pk)
    elif application is not None:
        data = {
            "title": application.title, "area": application.area, "organisation": application.organisation,
            "organisation_kind": application.organisation_kind, "description": application.description,
            "investment": "" if application.investment is None else application.investment,
            "users_served": "" if application.users_served is None else application.users_served,
            "results": application.results,
        }  # fmt: skip
        if services.may_see_contact(user, application):  # masked details are never put into inputs (they'd be saved)
            data |= {"contact_name": application.contact_name, "contact_phone": application.contact_phone,
                     "contact_email": application.contact_email}  # fmt: skip
    writable = services.may_write_application(user, submission, application)
    return render(request, "progress/application.html", {
        "submission": submission, "application": application, "data": data, "errors": errors, "writable": writable,
        "areas": AREAS, "kinds": TypicalApplication.OrganisationKind.choices,
        "contact": services.contact_for(user, application) if application else None,
        "files": [a for a in application.attachments.all() if a.removed_at is None and not a.inline]
        if application
        else [],
        "contact_masked": application is not None and not services.may_see_contact(user, application),
        "upload_help": services.ALLOWED_FILES,
        "may_endorse": application is not None and not application.endorsed and _can(user, submission)["edit"]
        if user.role != Role.ENTERPRISE else False,
    })  # fmt: skip


@role_required(*CITY)
@require_POST
def application_endorse(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application_for(request, pk)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        messages.error(request, _("缺少页面版本，请刷新页面后重试。"))
        return redirect("progress:application", pk=pk)
    try:
        services.endorse_application(actor=_user(request), application=application, expected_version=version,
                                     request=request)  # fmt: skip
    except (ValidationError, PermissionDenied) as error:
        _errors(request, error)
    else:
        messages.success(request, _("已确认该典型应用。"))
    return redirect("progress:report", pk=application.submission_id)


@role_required(*APPLICATION_WRITERS)
@require_POST
def application_delete(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application_for(request, pk)
    submission_id = application.submission_id
    try:
        services.delete_application(actor=_user(request), application=application, request=request)
    except (ValidationError, PermissionDenied) as error:
        _errors(request, error)
        return redirect("progress:application", pk=pk)
    messages.success(request, _("典型应用已删除。"))
    if _user(request).role == Role.ENTERPRISE:
        return redirect("progress:list")
    return redirect("progress:report", pk=submission_id)


# --- exports ----------------------------------------------------------------------------------------------------


@role_required(*READERS)
def report_pdf(request: HttpRequest, pk: int) -> HttpResponseBase:
    submission = _report(request, pk)
    data = exports.render_pdf(submission, _user(request))
    _record_export(request, submission, "pdf")
    return _download(data, exports.filename(submission, "pdf"), "application/pdf")


@role_required(*READERS)
def report_docx(request: HttpRequest, pk: int) -> HttpResponseBase:
    submission = _report(request, pk)
    data = exports.render_word(submission, _user(request))
    _record_export(request, submission, "docx")
    return _download(data, exports.filename(submission, "docx"), DOCX)


@transaction.atomic
def _record_export(request: HttpRequest, submission: Submission, fmt: str) -> None:
    """The export is audited; when it carries contact persons in full (the reader may see them), that download of
    personal data is audited as such, with how many contacts it holds."""
    user = _user(request)
    record(Action.REPORT_EXPORT, actor=user, request=request, target=submission, detail={"format": fmt})
    applications = TypicalApplication.objects.filter(submission=submission).select_related("submission")
    shown = sum(1 for app in applications if app.contact_name and services.may_see_contact(user, app))
    if shown:
        detail = {"format": fmt, "contacts": shown}
        record(Action.PERSONAL_DATA_EXPORT, actor=user, request=request, target=submission, detail=detail)


def _download(data: bytes, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response
