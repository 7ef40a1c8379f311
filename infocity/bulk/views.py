"""批量导入导出: the Excel template, the upload with its dry run, applying it, the marked copy, and exports."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from infocity.accounts.models import Role, User
from infocity.accounts.permissions import role_required
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.frameworks.models import Frequency
from infocity.organisations.models import OrganisationKind
from infocity.organisations.scoping import organisations_visible_to
from infocity.reporting import services as reporting
from infocity.reporting.models import Period, Status
from infocity.reporting.scoping import cycles_visible_to, submissions_visible_to
from infocity.scoping import get_visible_or_404, parse_id

from . import exports, services, workbooks
from .models import Export, Import

ROLES = (Role.MINISTRY, Role.ANALYST, Role.PROVINCE_REVIEWER, Role.CITY_REPORTER, Role.CITY_APPROVER)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@role_required(*ROLES)
def index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    periods = (  # progress reports are written on their own pages, not in spreadsheets
        Period.objects.filter(cycle__in=cycles_visible_to(user))
        .exclude(frequency=Frequency.PROGRESS)
        .select_related("cycle")
        .order_by("-ends_on")
    )
    places = organisations_visible_to(user).filter(kind__in=[OrganisationKind.PROVINCE, OrganisationKind.CITY])
    return render(request, "bulk/index.html", {
        "periods": periods, "places": places.order_by("path"), "can_import": user.role in services.IMPORT_ROLES,
        "imports": Import.objects.filter(uploaded_by=user)[:20],
        "exports": Export.objects.filter(requested_by=user)[:10], "statuses": Status.choices,
    })  # fmt: skip


def _int(value: str) -> int:
    return parse_id(value)


@role_required(*ROLES)
def template(request: HttpRequest) -> HttpResponse:
    """填报模板 for one city × form × period, or a province × form × period (all its cities)."""
    user = _user(request)
    period = get_visible_or_404(user, Period.objects.filter(cycle__in=cycles_visible_to(user)),
                                _int(request.GET.get("period", "")))  # fmt: skip
    place = get_visible_or_404(user, organisations_visible_to(user), _int(request.GET.get("place", "")))
    form_code = request.GET.get("form", "")
    submissions = list(
        submissions_visible_to(user)
        .filter(period=period, form__code=form_code, city__path__startswith=place.path)
        .exclude(form__frequency=Frequency.PROGRESS)
        .select_related("period__cycle__edition", "form", "city")
        .order_by("city__division_id")
    )
    if not submissions:
        raise Http404
    with transaction.atomic():
        record(Action.REPORT_EXPORT, request=request, detail={"report": "bulk-template", "period": period.code,
                                                              "form": form_code, "place": place.code})  # fmt: skip
    response = HttpResponse(workbooks.template(submissions), content_type=XLSX)
    name = f"填报模板-{place.name}-{period.code}-{form_code}.xlsx"
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    return response


IMPORTERS = tuple(services.IMPORT_ROLES)


@role_required(*IMPORTERS)
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    file = request.FILES.get("file")
    if file is None:
        messages.error(request, _("请选择要上传的文件。"))
        return redirect("bulk:index")
    if file.size and file.size > settings.BULK_UPLOAD_MAX_BYTES:
        messages.error(request, _("文件过大，请拆分后分别上传。"))
        return redirect("bulk:index")
    checked = services.check_upload(actor=_user(request), filename=file.name or "upload", file=file, request=request)
    return redirect("bulk:import", pk=checked.pk)


def _mine(request: HttpRequest, pk: int) -> Import:
    return services.expire_stalled(
        get_visible_or_404(request.user, Import.objects.filter(uploaded_by=_user(request)), pk)
    )


@role_required(*IMPORTERS)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    checked = _mine(request, pk)
    template = "bulk/_import_status.html" if request.headers.get("HX-Request") else "bulk/import.html"
    return render(request, template, {"upload": checked, "changes": list(services.planned_changes(checked))})


_APPLYING = gettext_lazy(
    "文件正在后台导入，请等待进度完成，不必再次点击。如 %(m)d 分钟内没有任何进展，导入会标记为中断，届时可重新导入。"
)


@role_required(*IMPORTERS)
@require_POST
def apply(request: HttpRequest, pk: int) -> HttpResponse:
    checked = _mine(request, pk)
    try:
        done = services.apply_import(actor=_user(request), upload=checked, request=request)
    except (services.ImportError_, reporting.WorkflowError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        if done.status == Import.Status.APPLIED:
            messages.success(request, _("已导入 %(n)s 项修改。") % {"n": done.change_count})
        elif done.status == Import.Status.APPLYING:
            messages.info(request, _APPLYING % {"m": settings.BULK_STALLED_MINUTES})
    return redirect("bulk:import", pk=checked.pk)


@role_required(*IMPORTERS)
def marked(request: HttpRequest, pk: int) -> HttpResponse:
    checked = _mine(request, pk)
    if not checked.errors or not checked.kind:
        raise Http404
    content = workbooks.marked(checked.file.read(), checked.kind, checked.errors)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, f"错误标注-{checked.pk}.xlsx") or "attachment"
    return response


@role_required(*ROLES)
def export(request: HttpRequest) -> HttpResponseBase:
    """All visible data values matching the filters: CSV streamed row by row; Excel written in the request when
    small, else built by the task worker (the export page shows its progress)."""
    user = _user(request)
    filters = exports.clean_filters(request.GET)
    values = exports.values_for(user, filters)
    fmt = request.GET.get("format", "csv")
    if fmt == "xlsx":
        total = values.count()
        if total > settings.BULK_EXPORT_INLINE_ROWS:
            job = exports.request_export(actor=user, filters=filters, fmt="xlsx", request=request)
            return redirect("bulk:export_detail", pk=job.pk)
        exports.audit_export(user, filters, "xlsx", request)
        with tempfile.NamedTemporaryFile(suffix=".xlsx", dir=settings.BULK_TEMP_DIR) as handle:
            exports.write_xlsx(values, handle.name, total)
            built = Path(handle.name).open("rb")  # noqa: SIM115 — FileResponse closes it; POSIX keeps it readable
        return FileResponse(built, as_attachment=True, filename="填报数据.xlsx")
    exports.audit_export(user, filters, "csv", request)
    streamed = StreamingHttpResponse(exports.csv_lines(values), content_type="text/csv; charset=utf-8")
    streamed["Content-Disposition"] = content_disposition_header(True, "填报数据.csv") or "attachment"
    return streamed


def _my_export(request: HttpRequest, pk: int) -> Export:
    return get_visible_or_404(request.user, Export.objects.filter(requested_by=_user(request)), pk)


@role_required(*ROLES)
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _my_export(request, pk)
    template = "bulk/_export_status.html" if request.headers.get("HX-Request") else "bulk/export.html"
    return render(request, template, {"job": job})


@role_required(*ROLES)
def export_file(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    job = _my_export(request, pk)
    if job.status != Export.Status.DONE or job.file is None:
        raise Http404
    types = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX}
    response = StreamingHttpResponse(job.file.chunks(), content_type=types[job.format])
    response["Content-Disposition"] = content_disposition_header(True, job.filename) or "attachment"
    response["Content-Length"] = str(job.file.size)
    return response
