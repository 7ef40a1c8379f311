"""批量导入导出: the Excel template, the upload with its dry run, applying it, the marked copy, and exports."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infocity.accounts.models import Role, User
from infocity.accounts.permissions import role_required
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.organisations.models import OrganisationKind
from infocity.organisations.scoping import organisations_visible_to
from infocity.reporting import services as reporting
from infocity.reporting.models import DataValue, Period
from infocity.reporting.scoping import cycles_visible_to, submissions_visible_to
from infocity.scoping import get_visible_or_404, parse_id

from . import services, workbooks
from .models import Import

ROLES = (Role.MINISTRY, Role.ANALYST, Role.PROVINCE_REVIEWER, Role.CITY_REPORTER, Role.CITY_APPROVER)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@role_required(*ROLES)
def index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    periods = Period.objects.filter(cycle__in=cycles_visible_to(user)).select_related("cycle").order_by("-ends_on")
    places = organisations_visible_to(user).filter(kind__in=[OrganisationKind.PROVINCE, OrganisationKind.CITY])
    return render(request, "bulk/index.html", {
        "periods": periods, "places": places.order_by("path"), "can_import": user.role in services.IMPORT_ROLES,
        "imports": Import.objects.filter(uploaded_by=user)[:20],
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


@role_required(Role.CITY_REPORTER, Role.CITY_APPROVER)
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    file = request.FILES.get("file")
    if file is None:
        messages.error(request, _("请选择要上传的文件。"))
        return redirect("bulk:index")
    if file.size and file.size > settings.BULK_UPLOAD_MAX_BYTES:
        messages.error(request, _("文件过大，请拆分后分别上传。"))
        return redirect("bulk:index")
    checked = services.check_upload(actor=_user(request), filename=file.name or "upload", data=file.read(),
                                    request=request)  # fmt: skip
    return redirect("bulk:import", pk=checked.pk)


def _mine(request: HttpRequest, pk: int) -> Import:
    return get_visible_or_404(request.user, Import.objects.filter(uploaded_by=_user(request)), pk)


@role_required(Role.CITY_REPORTER, Role.CITY_APPROVER)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    checked = _mine(request, pk)
    return render(request, "bulk/import.html", {"upload": checked})


@role_required(Role.CITY_REPORTER, Role.CITY_APPROVER)
@require_POST
def apply(request: HttpRequest, pk: int) -> HttpResponse:
    checked = _mine(request, pk)
    try:
        services.apply_import(actor=_user(request), upload=checked, request=request)
    except (services.ImportError_, reporting.WorkflowError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("已导入 %(n)s 项修改。") % {"n": checked.change_count})
    return redirect("bulk:import", pk=checked.pk)


@role_required(Role.CITY_REPORTER, Role.CITY_APPROVER)
def marked(request: HttpRequest, pk: int) -> HttpResponse:
    checked = _mine(request, pk)
    if not checked.errors or not checked.kind:
        raise Http404
    content = workbooks.marked(bytes(checked.content), checked.kind, checked.errors)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, f"错误标注-{checked.pk}.xlsx") or "attachment"
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe(value: Any) -> Any:
    text = "" if value is None else str(value)
    if text[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


@role_required(*ROLES)
def export(request: HttpRequest) -> StreamingHttpResponse:
    """All visible data values matching the filters, as CSV streamed row by row (no size limit in memory)."""
    user = _user(request)
    values = DataValue.objects.filter(submission__in=submissions_visible_to(user)).select_related(
        "submission__city", "submission__period", "submission__form", "item"
    )
    for field, lookup in (("cycle", "submission__period__cycle_id"), ("period", "submission__period__code"),
                          ("form", "submission__form__code"), ("city", "submission__city__division_id"),
                          ("status", "submission__status")):  # fmt: skip
        if request.GET.get(field):
            values = values.filter(**{lookup: request.GET[field]})
    with transaction.atomic():
        record(Action.REPORT_EXPORT, request=request, detail={"report": "data-values", **request.GET.dict()})
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        header = ["区划代码", "城市", "报告期", "填报表", "状态", "填报项代码", "填报项", "单位", "数值", "说明"]
        yield "\ufeff" + writer.writerow(header)  # fmt: skip
        for dv in values.order_by(
            "submission__period__ends_on", "submission__city__division_id", "item__order"
        ).iterator(chunk_size=2000):
            s = dv.submission
            value = reporting.canonical(dv.item, reporting.stored_value(dv))
            yield writer.writerow([_safe(x) for x in (s.city.code, s.city.name, s.period.code, s.form.code,
                                                     s.get_status_display(), dv.item.code, dv.item.name_zh,
                                                     dv.item.unit, value, dv.explanation)])  # fmt: skip

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, "填报数据.csv") or "attachment"
    return response
