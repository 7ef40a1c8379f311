"""Writing progress reports and typical applications. Every change locks the report's submission, checks the
same rules as monitoring data (the city's own users, drafts only, the period open, parts locked after
acceptance unless unlocked), keeps a version through the reporting workflow and writes an audit event, all in one
transaction. Approving, sending, returning and accepting are the reporting services themselves."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse

from infocity.accounts.models import Role, User
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.bulk.models import Blob
from infocity.frameworks.models import Frequency
from infocity.organisations.models import OrganisationKind
from infocity.privacy import mask_email, mask_name, mask_phone
from infocity.reporting import clock
from infocity.reporting import services as reporting
from infocity.reporting.models import Status, Submission, SubmissionVersion
from infocity.reporting.scoping import submissions_visible_to
from infocity.reporting.services import WorkflowError, clean_text

from . import attachments, richtext
from .content import ATTACHMENTS, ReportContent, is_full_year, sections_of
from .models import Attachment, ReportSection, TypicalApplication
from .sections import AREA_CODES, SECTIONS

V = SubmissionVersion.Action
SECTION_KEYS = {s.key for s in SECTIONS}
FILE_URL_PREFIX = "/progress/files/"
ALLOWED_FILES = attachments.ALLOWED_DESCRIPTION


def blockers(submission: Submission) -> list[str]:
    """What stops the city approving the report, as the workflow will say it."""
    return ReportContent().blockers(submission)


def is_report(submission: Submission) -> bool:
    return submission.form.frequency == Frequency.PROGRESS


def reports_visible_to(user: User) -> Any:
    return submissions_visible_to(user).filter(form__frequency=Frequency.PROGRESS)


def _locked(submission: Submission) -> Submission:
    return (
        Submission.objects.select_for_update(of=("self",))
        .select_related("period__cycle__edition", "form", "city")
        .get(pk=submission.pk)
    )


def _open_draft(locked: Submission) -> None:
    if locked.status != Status.DRAFT:
        raise WorkflowError(f"该报告当前状态为“{locked.get_status_display()}”，不能修改。")
    reporting.check_open(locked)


def _file_url(attachment: Attachment) -> str:
    return reverse("progress:file", args=[attachment.pk])


# --- sections ---------------------------------------------------------------------------------------------------


@dataclass
class ReportSaveResult:
    submission: Submission
    written: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # sections someone else changed meanwhile: not overwritten


def save_report(
    *,
    actor: User,
    submission: Submission,
    sections: Mapping[str, str],
    base_version: int,
    request: HttpRequest | None = None,
) -> ReportSaveResult:
    """Save the sections the city wrote (暂存). Pasted HTML is sanitised and pasted images become attachments.
    A section someone else changed since ``base_version`` is not overwritten: it is reported as a conflict and the
    user's text is kept as a version of its own, as for monitoring data."""
    with transaction.atomic():
        locked = _locked(submission)
        if not reporting.city_member(actor, locked):
            raise PermissionDenied("只有本市的填报员和负责人可以填写本市的进展报告。")
        _open_draft(locked)
        if base_version > locked.version or base_version < 0:
            raise WorkflowError("页面版本无效，请刷新页面后重试。")
        base = reporting.state_at(locked, base_version)[0]
        current = sections_of(locked)
        result = ReportSaveResult(submission=locked)
        posted: dict[str, str] = {}
        for key, raw in sections.items():
            if key not in SECTION_KEYS:
                continue
            try:
                html = richtext.sanitize(raw)
                html = richtext.extract_data_images(html, _image_store(actor, locked))
            except ValueError as error:
                title = next(s.title_zh for s in SECTIONS if s.key == key)
                raise WorkflowError(f"“{title}”：{error}") from None
            posted[key] = _own_images(html, locked)
        for key, html in posted.items():
            if html == current[key] or html == base.get(key, ""):
                continue  # unchanged, or unchanged by this user (someone else's newer text stays)
            if not locked.item_editable(key):
                raise WorkflowError("该部分已受理锁定，不能修改；如需更正，请申请解锁。")
            if current[key] != base.get(key, "") and html != current[key]:
                result.conflicts.append(key)
                continue
            ReportSection.objects.update_or_create(
                submission=locked, key=key, defaults={"html": html, "updated_at": clock.now(), "updated_by": actor}
            )
            result.written.append(key)
        if result.conflicts:
            reporting.new_version(locked, V.CONFLICT, actor, applied=False, values=posted, explanations={},
                                  comment="与他人的修改冲突，未覆盖：" + "、".join(result.conflicts))  # fmt: skip
        if result.written:
            reporting.new_version(locked, V.SAVE, actor)
        if result.written or result.conflicts:
            record(Action.SUBMISSION_SAVE, actor=actor, request=request, target=locked,
                   detail={"sections": result.written, "conflicts": result.conflicts})  # fmt: skip
        return result


_IMAGE = re.compile(r'<img\b[^>]*\bsrc="/progress/files/(\d+)/"[^>]*>')


def _own_images(html: str, submission: Submission, application: TypicalApplication | None = None) -> str:
    """Images only from the report's own files (or the application's): a link to another city's file is dropped,
    so it can never travel in this report's pages or exports."""
    ids = {int(n) for n in _IMAGE.findall(html)}
    if not ids:
        return html
    own = Attachment.objects.filter(submission=submission, pk__in=ids, is_image=True)
    if application is not None:
        own = own.filter(application=application)
    kept = set(own.values_list("pk", flat=True))
    return _IMAGE.sub(lambda m: m.group(0) if int(m.group(1)) in kept else "", html)


def _image_store(actor: User, submission: Submission, application: TypicalApplication | None = None) -> Any:
    def store(data: bytes, mime: str) -> str:
        with tempfile.NamedTemporaryFile(dir=settings.BULK_TEMP_DIR) as handle:
            handle.write(data)
            handle.flush()
            attachment = _store_file(actor, submission, handle.name, "粘贴的图片", inline=True, application=application)
        if not attachment.is_image:
            raise ValueError("粘贴的内容不是图片。")
        return _file_url(attachment)

    return store


# --- attachments ------------------------------------------------------------------------------------------------


def _store_file(
    actor: User,
    submission: Submission,
    path: str,
    filename: str,
    *,
    inline: bool = False,
    application: TypicalApplication | None = None,
) -> Attachment:
    try:
        checked = attachments.inspect(path, filename, settings.PROGRESS_ATTACHMENT_MAX_BYTES)
    except attachments.AttachmentRefused as refused:
        raise WorkflowError(str(refused)) from None
    with Path(path).open("rb") as handle:
        blob = Blob.store(checked.filename, handle)
    return Attachment.objects.create(
        submission=submission, application=application, blob=blob, filename=checked.filename, kind=checked.kind,
        mime=checked.mime, size=checked.size, sha256=checked.sha256, is_image=checked.is_image, inline=inline,
        uploaded_by=actor, uploaded_at=clock.now(),
    )  # fmt: skip


def add_attachment(
    *,
    actor: User,
    submission: Submission,
    filename: str,
    file: Any,
    application: TypicalApplication | None = None,
    request: HttpRequest | None = None,
) -> Attachment:
    """Attach a file (PDF, image, Office document) to a draft report or to one of its applications. Its type
    is read from its content; anything unsafe or unknown is refused with the reason and nothing is stored."""
    with transaction.atomic():
        locked = _locked(submission)
        if application is not None:
            _may_write_application(actor, locked, application)
        elif not reporting.city_member(actor, locked):
            raise PermissionDenied("只有本市的填报员和负责人可以上传附件。")
        _open_draft(locked)
        _attachments_editable(locked, application)
        with tempfile.NamedTemporaryFile(dir=settings.BULK_TEMP_DIR) as handle:
            size = 0
            chunks = file.chunks() if hasattr(file, "chunks") else iter(lambda: file.read(1048576), b"")
            for chunk in chunks:
                size += len(chunk)
                if size > settings.PROGRESS_ATTACHMENT_MAX_BYTES:
                    limit = settings.PROGRESS_ATTACHMENT_MAX_BYTES / 1048576
                    raise WorkflowError(f"附件过大，上限为 {limit:.0f} MB。请压缩或拆分后上传。")
                handle.write(chunk)
            handle.flush()
            attachment = _store_file(actor, locked, handle.name, filename, application=application)
        reporting.new_version(locked, V.SAVE, actor, comment=f"上传附件：{attachment.filename}")
        record(Action.ATTACHMENT_ADD, actor=actor, request=request, target=locked,
               detail={"file": attachment.filename, "sha256": attachment.sha256, "size": attachment.size})  # fmt: skip
        return attachment


def remove_attachment(*, actor: User, attachment: Attachment, request: HttpRequest | None = None) -> None:
    """Take an attachment off a draft report. The file itself is kept: earlier versions list it."""
    with transaction.atomic():
        locked = _locked(attachment.submission)
        if attachment.application is not None:
            _may_write_application(actor, locked, attachment.application)
        elif not reporting.city_member(actor, locked):
            raise PermissionDenied("只有本市的填报员和负责人可以删除附件。")
        _open_draft(locked)
        _attachments_editable(locked, attachment.application)
        fresh = Attachment.objects.select_for_update().get(pk=attachment.pk)
        if fresh.removed_at is not None:
            return
        fresh.removed_at, fresh.removed_by = clock.now(), actor
        fresh.save(update_fields=["removed_at", "removed_by"])
        reporting.new_version(locked, V.SAVE, actor, comment=f"删除附件：{fresh.filename}")
        record(Action.ATTACHMENT_REMOVE, actor=actor, request=request, target=locked,
               detail={"file": fresh.filename, "sha256": fresh.sha256})  # fmt: skip


def _attachments_editable(locked: Submission, application: TypicalApplication | None) -> None:
    """After acceptance the attachments are locked with the report: an unlock must name them (or the application)."""
    code = application.code if application is not None else ATTACHMENTS
    if not locked.item_editable(code):
        raise WorkflowError("附件已随报告受理锁定，不能修改；如需更正，请申请解锁“附件”或对应的典型应用。")


def attachments_editable(submission: Submission) -> bool:
    return submission.item_editable(ATTACHMENTS)


def attachments_visible_to(user: User) -> Any:
    """Attachments of the reports the user may see; an enterprise sees the files of its own applications."""
    if user.role == Role.ENTERPRISE:
        return Attachment.objects.filter(application__entered_by_organisation_id=user.organisation_id)
    if user.role == Role.EXPERT:
        # An expert reads the files of what they were assigned: a whole report, or one application.
        from infocity.evaluation.models import Assignment

        if not user.is_active:
            return Attachment.objects.none()
        # Current files only, and of a report only its own files and those of its endorsed applications.
        assigned = Assignment.objects.filter(expert=user)
        return Attachment.objects.filter(removed_at__isnull=True).filter(
            Q(
                submission_id__in=assigned.filter(submission__isnull=False).values("submission_id"),
                application__isnull=True,
            )
            | Q(
                submission_id__in=assigned.filter(submission__isnull=False).values("submission_id"),
                application__endorsed_at__isnull=False,
            )
            | Q(application_id__in=assigned.filter(application__isnull=False).values("application_id"))
        )
    return Attachment.objects.filter(submission__in=reports_visible_to(user))


# --- typical applications ---------------------------------------------------------------------------------------


def _enterprise_of_city(actor: User, submission: Submission) -> bool:
    org = actor.organisation
    return (
        actor.is_active
        and actor.role == Role.ENTERPRISE
        and org is not None
        and org.kind == OrganisationKind.ENTERPRISE
        and org.parent_id == submission.city_id
    )


def _may_write_application(actor: User, locked: Submission, application: TypicalApplication | None) -> None:
    if not is_full_year(locked):
        raise WorkflowError("典型应用随全年进展报告报送，请在全年进展报告中填写。")
    if reporting.city_member(actor, locked):
        return
    if _enterprise_of_city(actor, locked) and (
        application is None or application.entered_by_organisation_id == actor.organisation_id
    ):
        if application is not None and application.endorsed:
            raise WorkflowError("该典型应用已经本市确认，如需修改请联系本市填报员。")
        return
    raise PermissionDenied("只有本市的填报员、负责人和本市的企业可以填写本市的典型应用。")


def may_write_application(user: User, submission: Submission, application: TypicalApplication | None) -> bool:
    """Whether the form is offered for writing (the services check again when it is saved)."""
    if submission.status != Status.DRAFT or not is_full_year(submission):
        return False
    if application is not None and not submission.item_editable(application.code):
        return False
    if application is None and submission.ever_accepted:
        return False
    if submission.period.opens_on > clock.today() or submission.needs_extension(clock.today()):
        return False
    try:
        _may_write_application(user, submission, application)
    except (PermissionDenied, WorkflowError):
        return False
    return True


def applications_visible_to(user: User) -> Any:
    if user.role == Role.ENTERPRISE:
        return TypicalApplication.objects.filter(entered_by_organisation_id=user.organisation_id)
    return TypicalApplication.objects.filter(submission__in=reports_visible_to(user))


def enterprise_reports(user: User) -> Any:
    """The full-year reports of an enterprise's city, to which it may add applications."""
    if user.role != Role.ENTERPRISE or user.organisation is None or user.organisation.parent_id is None:
        return Submission.objects.none()
    return Submission.objects.filter(
        city_id=user.organisation.parent_id, form__frequency=Frequency.PROGRESS, period__code__endswith="R2"
    ).select_related("period", "period__cycle", "form", "city")


def _clean_application(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    title = clean_text(data.get("title"), 100)
    if not title:
        errors["title"] = "请填写应用名称。"
    area = str(data.get("area") or "")
    if area not in AREA_CODES:
        errors["area"] = "请选择示范领域。"
    organisation = clean_text(data.get("organisation"), 100)
    if not organisation:
        errors["organisation"] = "请填写建设运营单位。"
    kind = str(data.get("organisation_kind") or "")
    if kind not in TypicalApplication.OrganisationKind.values:
        errors["organisation_kind"] = "请选择单位类型。"
    investment: Decimal | None = None
    text = clean_text(str(data.get("investment") or ""), 30).replace(",", "").replace("，", "")
    if text:
        try:
            investment = Decimal(text)
            if not investment.is_finite() or investment < 0 or investment >= Decimal("1e12"):
                raise InvalidOperation
            investment = investment.quantize(Decimal("0.01"))
        except InvalidOperation:
            errors["investment"] = "投资额应为不小于 0 的数字（单位：万元），例如 1200 或 85.5。"
    users: int | None = None
    text = clean_text(str(data.get("users_served") or ""), 30).replace(",", "").replace("，", "")
    if text:
        if text.isascii() and text.isdecimal() and len(text) <= 12:
            users = int(text)
        else:
            errors["users_served"] = "服务用户数应为不小于 0 的整数，例如 120000。"
    phone = clean_text(data.get("contact_phone"), 30)
    if phone and not all(c in "0123456789+-() 转" for c in phone):
        errors["contact_phone"] = "联系电话只能包含数字、空格和 + - ( )，例如 0571-8700-1234。"
    email = clean_text(data.get("contact_email"), 100)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["contact_email"] = "电子邮箱格式不正确，例如 name@example.cn。"
    rich: dict[str, str] = {}
    for name, label in (("description", "应用简介"), ("results", "取得成效")):
        try:
            rich[name] = richtext.sanitize(str(data.get(name) or ""))
        except ValueError as error:
            errors[name] = f"{label}：{error}"
    if errors:
        raise ValidationError(errors)
    return {
        "title": title, "area": area, "organisation": organisation, "organisation_kind": kind,
        "investment": investment, "users_served": users, "contact_name": clean_text(data.get("contact_name"), 50),
        "contact_phone": phone, "contact_email": email, **rich,
    }  # fmt: skip


def save_application(
    *,
    actor: User,
    submission: Submission,
    data: Mapping[str, Any],
    application: TypicalApplication | None = None,
    expected_version: int | None = None,
    request: HttpRequest | None = None,
) -> TypicalApplication:
    """Add or change a typical application of a draft full-year report. The city's own entries count as endorsed;
    an enterprise's entry waits for the city to endorse it (and a change by the enterprise asks again)."""
    fields = _clean_application(data)
    with transaction.atomic():
        locked = _locked(submission)
        current = None
        if application is not None:
            current = TypicalApplication.objects.select_for_update().get(pk=application.pk, submission=locked)
            if expected_version is not None and current.version != expected_version:
                raise WorkflowError("该典型应用在您打开页面后已被他人修改，请刷新页面查看后再修改。")
        _may_write_application(actor, locked, current)
        _open_draft(locked)
        if current is not None and not locked.item_editable(current.code):
            raise WorkflowError("该典型应用已受理锁定，不能修改；如需更正，请申请解锁。")
        if current is None and locked.ever_accepted:
            raise WorkflowError("该报告已受理，不能再添加典型应用。")
        by_city = reporting.city_member(actor, locked)
        if current is None:
            current = TypicalApplication(
                submission=locked, entered_by=actor, entered_by_organisation_id=actor.organisation_id, **fields
            )
        else:
            if not may_see_contact(actor, current):  # the form showed them masked: left empty, they are kept
                shown = contact_for(actor, current)
                for name in ("name", "phone", "email"):
                    if fields[f"contact_{name}"] in {"", shown[name]}:
                        fields[f"contact_{name}"] = getattr(current, f"contact_{name}")
            for name, value in fields.items():
                setattr(current, name, value)
            current.version += 1
        current.endorsed_at, current.endorsed_by = (clock.now(), actor) if by_city else (None, None)
        current.save()
        try:  # images pasted into its text become its attachments, checked like any other
            for name in ("description", "results"):
                html = richtext.extract_data_images(getattr(current, name), _image_store(actor, locked, current))
                setattr(current, name, _own_images(html, locked, current))
        except ValueError as error:
            raise WorkflowError(str(error)) from None
        current.save(update_fields=["description", "results"])
        reporting.new_version(locked, V.SAVE, actor, comment=f"典型应用：{current.title}")
        record(Action.APPLICATION_SAVE, actor=actor, request=request, target=locked,
               detail={"application": current.pk, "title": current.title})  # fmt: skip
        return current


def endorse_application(
    *,
    actor: User,
    application: TypicalApplication,
    expected_version: int | None = None,
    request: HttpRequest | None = None,
) -> TypicalApplication:
    """The city confirms an application an enterprise entered (本市确认)."""
    with transaction.atomic():
        locked = _locked(application.submission)
        if not reporting.city_member(actor, locked):
            raise PermissionDenied("只有本市的填报员和负责人可以确认典型应用。")
        _open_draft(locked)
        current = TypicalApplication.objects.select_for_update().get(pk=application.pk)
        if expected_version is not None and current.version != expected_version:
            raise WorkflowError("该典型应用在您打开页面后已被企业修改，请查看修改后的内容再确认。")
        if current.endorsed:
            return current
        current.endorsed_at, current.endorsed_by = clock.now(), actor
        current.save(update_fields=["endorsed_at", "endorsed_by"])
        reporting.new_version(locked, V.SAVE, actor, comment=f"确认典型应用：{current.title}")
        record(Action.APPLICATION_ENDORSE, actor=actor, request=request, target=locked,
               detail={"application": current.pk, "title": current.title})  # fmt: skip
        return current


def delete_application(*, actor: User, application: TypicalApplication, request: HttpRequest | None = None) -> None:
    """Take an application off a draft report (earlier versions keep what it was)."""
    with transaction.atomic():
        locked = _locked(application.submission)
        current = TypicalApplication.objects.select_for_update().get(pk=application.pk)
        _may_write_application(actor, locked, current)
        _open_draft(locked)
        if locked.ever_accepted:
            raise WorkflowError("该报告已受理，典型应用不能删除。")
        title = current.title
        files = Attachment.objects.filter(application=current)
        files.filter(removed_at__isnull=True).update(removed_at=clock.now(), removed_by=actor)
        files.update(application=None)  # the files stay (earlier versions list them), taken off the report
        current.delete()
        reporting.new_version(locked, V.SAVE, actor, comment=f"删除典型应用：{title}")
        record(Action.APPLICATION_DELETE, actor=actor, request=request, target=locked, detail={"title": title})


# --- personal data ----------------------------------------------------------------------------------------------


def may_see_contact(user: User, application: TypicalApplication) -> bool:
    """The contact person's details are personal data: shown to whoever entered them, the city's own users and
    the reviewers (the province and the monitoring agency); masked for everyone else."""
    submission = application.submission
    if application.entered_by_id == user.pk:
        return True
    if user.role == Role.ANALYST and user.is_active:
        return True
    return reporting.city_member(user, submission) or reporting.province_of(user, submission)


def contact_for(user: User, application: TypicalApplication) -> dict[str, str]:
    name, phone, email = application.contact_name, application.contact_phone, application.contact_email
    if may_see_contact(user, application):
        return {"name": name, "phone": phone, "email": email, "masked": ""}
    return {"name": mask_name(name), "phone": mask_phone(phone), "email": mask_email(email), "masked": "1"}
