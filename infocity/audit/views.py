from __future__ import annotations

import datetime
import ipaddress

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from infocity.accounts.models import Role
from infocity.accounts.permissions import role_required

from .forms import AuditFilterForm
from .models import AuditEvent


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@role_required(Role.AUDITOR)
def event_list(request: HttpRequest) -> HttpResponse:
    """审计日志: only the audit administrator reads it (三员分立)."""
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
