from __future__ import annotations

import csv
import datetime
import ipaddress
import json
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from infocity.accounts.models import Role
from infocity.accounts.permissions import role_required
from infocity.bulk.exports import Echo, safe

from .forms import AuditFilterForm
from .models import Action, AuditEvent
from .services import record


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _filtered(request: HttpRequest) -> tuple[QuerySet[AuditEvent], AuditFilterForm]:
    """The events matching the filter form in the query string (all events when it is empty or invalid)."""
    events = AuditEvent.objects.select_related("organisation")
    filters = AuditFilterForm(request.GET or None)
    if filters.is_valid():
        data = filters.cleaned_data
        if data["start"]:
            events = events.filter(occurred_at__gte=_day_start(data["start"]))
        if data["end"]:
            events = events.filter(occurred_at__lt=_day_start(data["end"] + datetime.timedelta(days=1)))
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["outcome"]:
            events = events.filter(outcome=data["outcome"])
        if data["username"]:
            events = events.filter(actor_username__icontains=data["username"])
        if data["ip"]:
            events = events.filter(ip_address=data["ip"]) if _is_ip(data["ip"]) else events.none()
    return events, filters


@role_required(Role.AUDITOR)
def event_list(request: HttpRequest) -> HttpResponse:
    """审计日志: only the audit administrator reads it (三员分立)."""
    events, filters = _filtered(request)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/event_list.html", {"page": page, "filters": filters, "query": query.urlencode()})


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


EXPORT_HEADER = [
    "编号",
    "时间",
    "用户名",
    "机构",
    "IP 地址",
    "操作",
    "操作代码",
    "对象类型",
    "对象编号",
    "对象",
    "结果",
    "详情",
    "摘要",
]


@role_required(Role.AUDITOR)
def event_export(request: HttpRequest) -> HttpResponseBase:
    """The filtered audit log as CSV (UTF-8 with BOM for Excel), streamed; each row keeps its HMAC digest so a copy
    can be checked against the platform later. The export itself is an audit event."""
    events, filters = _filtered(request)
    if request.GET and not filters.is_valid():
        return HttpResponseBadRequest(_("筛选条件有误，请返回审计日志页面修改后再导出。"))
    with transaction.atomic():
        record(
            Action.AUDIT_EXPORT,
            request=request,
            detail={
                key: str(value) for key, value in (filters.cleaned_data if filters.is_bound else {}).items() if value
            },
        )
    tz = timezone.get_current_timezone()

    def lines() -> Iterator[str]:
        writer = csv.writer(Echo())
        yield "\ufeff" + writer.writerow(EXPORT_HEADER)
        for e in events.order_by("id").iterator(chunk_size=2000):
            row = [e.pk, e.occurred_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), e.actor_username,
                   e.organisation.name if e.organisation else "", e.ip_address or "", e.get_action_display(),
                   e.action, e.object_type, e.object_id, e.object_repr, e.get_outcome_display(),
                   json.dumps(e.detail, ensure_ascii=False) if e.detail else "", e.digest]  # fmt: skip
            yield writer.writerow([safe(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = f"audit-log-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    return response
