"""The bulk API: upload a file to import (checked like an upload on the page, large files by the task worker),
follow its status, apply it; request an export of data values and download it when built. Every import and export
belongs to the account that started it; another account's answers 404."""

from __future__ import annotations

from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse
from ninja import Field, File, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.params import functions as param

from infocity.accounts.models import User
from infocity.reporting import services as reporting
from infocity.scoping import get_visible_or_404
from infocity.tokens.auth import read_auth, write_auth
from infocity.tokens.errors import ApiError, errors

from . import exports, services
from .models import Export, Import

router = Router(tags=["批量导入导出 Bulk"])
MAX_ID = 2_147_483_647
SHOWN = 100


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class ProblemOut(Schema):
    sheet: str | None
    row: int | None
    column: int | None
    item: str | None
    message: str


class ChangeOut(Schema):
    label: str
    item: str
    name: str
    old: str | None
    new: str | None
    explanation: str


class ImportOut(Schema):
    """An import: ``queued``/``checking`` → ``checked`` (dry run passed) or ``rejected`` (problems listed);
    after apply ``applying`` → ``applied``, or ``failed`` with the reason (nothing written)."""

    id: int
    filename: str
    sha256: str
    status: str
    status_display: str
    progress: int = Field(..., description="0–100")
    stage: str
    rows: int
    submission_count: int
    change_count: int
    error_count: int
    errors: list[ProblemOut] = Field(..., description=f"前 {SHOWN} 个问题")
    changes: list[ChangeOut] = Field(..., description=f"前 {SHOWN} 项修改（检查通过时）")
    failure: str
    status_url: str
    apply_url: str


def _import(upload: Import) -> dict[str, Any]:
    changes = list(services.planned_changes(upload, SHOWN)) if upload.status != Import.Status.REJECTED else []
    return {
        "id": upload.pk, "filename": upload.filename, "sha256": upload.sha256, "status": upload.status,
        "status_display": upload.get_status_display(), "progress": upload.progress, "stage": upload.stage,
        "rows": upload.rows, "submission_count": upload.submission_count, "change_count": upload.change_count,
        "error_count": upload.error_count, "errors": upload.errors[:SHOWN], "changes": changes,
        "failure": upload.failure, "status_url": reverse("api:bulk_import", args=[upload.pk]),
        "apply_url": reverse("api:bulk_import_apply", args=[upload.pk]),
    }  # fmt: skip


@router.post(
    "/imports",
    response={202: ImportOut, **errors(401, 403, 413, 422)},
    auth=write_auth,
    summary="上传文件导入（先检查）",
)
def start_import(request: HttpRequest, file: File[UploadedFile]) -> Status[dict[str, Any]]:
    """A template (.xlsx/.xls/.ods) or CSV, as on the page: the answer is the import being checked. Poll its
    ``status_url`` until ``checked`` (then call ``apply_url``) or ``rejected`` (the problems are listed)."""
    from django.conf import settings

    if file.size and file.size > settings.BULK_UPLOAD_MAX_BYTES:
        raise ApiError(413, "too_large", "文件过大，请拆分后分别上传。")
    try:
        upload = services.check_upload(actor=_user(request), filename=file.name or "upload", file=file,
                                       request=request)  # fmt: skip
    except PermissionDenied as refused:
        raise ApiError(403, "forbidden", str(refused)) from None
    return Status(202, _import(upload))


def _mine(request: HttpRequest, import_id: int) -> Import:
    return services.expire_stalled(
        get_visible_or_404(request.user, Import.objects.filter(uploaded_by=_user(request)), import_id)
    )


@router.get(
    "/imports/{import_id}",
    response={200: ImportOut, **errors(401, 404, 422)},
    auth=read_auth,
    summary="导入状态",
    url_name="bulk_import",
)
def import_status(request: HttpRequest, import_id: int = param.Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    return _import(_mine(request, import_id))


@router.post(
    "/imports/{import_id}/apply",
    response={202: ImportOut, **errors(401, 403, 404, 409, 422)},
    auth=write_auth,
    summary="确认导入",
    url_name="bulk_import_apply",
)
def apply_import(request: HttpRequest, import_id: int = param.Path(..., ge=1, le=MAX_ID)) -> Status[dict[str, Any]]:
    """Apply exactly what was checked, all or nothing (large imports in the background: poll ``status_url``).
    Applying again is harmless; if a submission changed since the check, nothing is written (409)."""
    upload = _mine(request, import_id)
    try:
        done = services.apply_import(actor=_user(request), upload=upload, request=request)
    except (services.ImportError_, reporting.WorkflowError) as refused:
        raise ApiError(409, "not_applied", " ".join(getattr(refused, "messages", [str(refused)]))) from None
    return Status(202, _import(done))


class ExportIn(Schema):
    format: Literal["csv", "xlsx"] = "csv"
    cycle: int | None = Field(None, ge=1, le=MAX_ID)
    period: str = Field("", max_length=40, examples=["2016-M11"])
    form: str = Field("", max_length=40, examples=["M"])
    city: str = Field("", max_length=40, examples=["330100"])
    status: str = Field("", max_length=40, examples=["accepted"])


class ExportOut(Schema):
    id: int
    format: str
    filters: dict[str, str]
    status: str
    status_display: str
    progress: int
    rows: int
    failure: str
    status_url: str
    file_url: str | None


def _export(job: Export) -> dict[str, Any]:
    done = job.status == Export.Status.DONE
    return {
        "id": job.pk, "format": job.format, "filters": job.filters, "status": job.status,
        "status_display": job.get_status_display(), "progress": job.progress, "rows": job.rows,
        "failure": job.failure, "status_url": reverse("api:bulk_export", args=[job.pk]),
        "file_url": reverse("api:bulk_export_file", args=[job.pk]) if done else None,
    }  # fmt: skip


@router.post("/exports", response={202: ExportOut, **errors(401, 422)}, auth=read_auth, summary="导出填报数据")
def start_export(request: HttpRequest, body: ExportIn) -> Status[dict[str, Any]]:
    """Built by the task worker from the data values the token's account may see; poll ``status_url`` and
    download ``file_url`` when ``done``. Text cells that could run as formulas are neutralised."""
    filters = exports.clean_filters(body.dict())
    job = exports.request_export(actor=_user(request), filters=filters, fmt=body.format, request=request)
    return Status(202, _export(job))


def _my_export(request: HttpRequest, export_id: int) -> Export:
    return get_visible_or_404(request.user, Export.objects.filter(requested_by=_user(request)), export_id)


@router.get(
    "/exports/{export_id}",
    response={200: ExportOut, **errors(401, 404, 422)},
    auth=read_auth,
    summary="导出状态",
    url_name="bulk_export",
)
def export_status(request: HttpRequest, export_id: int = param.Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    return _export(_my_export(request, export_id))


@router.get(
    "/exports/{export_id}/file",
    response={200: None, **errors(401, 404, 409, 422)},
    auth=read_auth,
    summary="下载导出文件",
    url_name="bulk_export_file",
    openapi_extra={
        "responses": {
            200: {
                "description": "CSV (UTF-8 with BOM) or Excel",
                "content": {"text/csv": {"schema": {"type": "string"}},
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                                {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)  # fmt: skip
def export_file(request: HttpRequest, export_id: int = param.Path(..., ge=1, le=MAX_ID)) -> StreamingHttpResponse:
    from django.utils.http import content_disposition_header

    job = _my_export(request, export_id)
    if job.status != Export.Status.DONE or job.file is None:
        raise ApiError(409, "not_ready", "导出尚未完成，请稍后再试（查看 status_url 的进度）。")
    types = {"csv": "text/csv; charset=utf-8", "xlsx": exports.XLSX}
    response = StreamingHttpResponse(job.file.chunks(), content_type=types[job.format])
    response["Content-Disposition"] = content_disposition_header(True, job.filename) or "attachment"
    response["Content-Length"] = str(job.file.size)
    return response
