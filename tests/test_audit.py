"""The audit log is append-only and only the audit administrator reads it."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from infocity.audit.models import Action, AuditEvent, Outcome
from infocity.audit.services import client_ip, record

from .conftest import PASSWORD, Cast


def test_events_cannot_be_changed_or_deleted_through_the_orm(cast: Cast) -> None:
    event = record(Action.LOGOUT, actor=cast.users["city-hz"])
    event.outcome = Outcome.FAILURE
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(outcome=Outcome.FAILURE)
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).outcome == Outcome.SUCCESS


def test_auditor_filters_the_log(cast: Cast) -> None:
    client = cast.client("auditor")
    record(Action.LOGIN_FAILURE, username="intruder", outcome=Outcome.FAILURE, detail={"reason": "unknown_user"})
    response = client.get(reverse("audit:event_list"), {"action": Action.LOGIN_FAILURE})
    events = list(response.context["page"])
    assert [e.actor_username for e in events] == ["intruder"]

    for username in ("city-hz", "city-hz-approver", "city-gz"):
        Client().post("/accounts/login/", {"username": username, "password": PASSWORD})
    response = client.get(reverse("audit:event_list"), {"username": "city-h"})
    assert {e.actor_username for e in response.context["page"]} == {"city-hz", "city-hz-approver"}

    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = client.get(reverse("audit:event_list"), {"start": tomorrow})
    assert list(response.context["page"]) == []


def test_bad_filter_input_is_explained(cast: Cast) -> None:
    response = cast.client("auditor").get(
        reverse("audit:event_list"), {"start": "2016-12-31", "end": "2016-01-01", "ip": "not-an-ip"}
    )
    assert response.status_code == 200
    assert "起始日期不能晚于截止日期" in response.content.decode()


def test_client_ip_behind_a_proxy(settings: Any) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1, 10.0.0.7")
    settings.USE_X_FORWARDED_FOR = False
    assert client_ip(request) == "127.0.0.1"
    settings.USE_X_FORWARDED_FOR = True
    assert client_ip(request) == "10.0.0.7"


def test_auditor_exports_the_filtered_log_and_the_export_is_audited(cast: Cast) -> None:
    import csv
    import io

    from infocity.audit.integrity import digest_of

    record(Action.LOGIN_FAILURE, username="=cmd|' /C calc'!A0", outcome=Outcome.FAILURE, detail={"reason": "测试"})
    record(Action.LOGOUT, actor=cast.users["city-hz"])
    client = cast.client("auditor")
    response = client.get(reverse("audit:event_export"), {"action": Action.LOGIN_FAILURE})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment")
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert text.startswith("\ufeff编号,时间,用户名")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 2  # the header and the one matching event
    event = AuditEvent.objects.filter(action=Action.LOGIN_FAILURE).get()
    assert rows[1][0] == str(event.pk)
    assert rows[1][2] == "'=cmd|' /C calc'!A0"  # a spreadsheet will not run it
    assert rows[1][6] == "login.failure" and '"reason": "测试"' in rows[1][11]
    assert rows[1][12] == event.digest == digest_of(event)  # the copy can be checked against the key later
    export = AuditEvent.objects.filter(action=Action.AUDIT_EXPORT).get()
    assert export.actor == cast.users["auditor"] and export.detail == {"action": "login.failure"}
    # Bad filters are refused with a reason, and nothing is exported.
    bad = client.get(reverse("audit:event_export"), {"start": "2016-12-31", "end": "2016-01-01"})
    assert bad.status_code == 400 and "筛选条件有误" in bad.content.decode()
    assert AuditEvent.objects.filter(action=Action.AUDIT_EXPORT).count() == 1


def test_only_the_auditor_reads_or_exports_the_log(cast: Cast) -> None:
    for username in ("sysadmin", "secadmin", "ministry", "analyst", "city-hz"):
        client = cast.client(username)
        assert client.get(reverse("audit:event_list")).status_code == 403, username
        assert client.get(reverse("audit:event_export")).status_code == 403, username
    assert not AuditEvent.objects.filter(action=Action.AUDIT_EXPORT).exists()
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED).count() >= 10
