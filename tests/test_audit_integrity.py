"""The audit log is tamper-evident: a row edited, deleted or slipped in directly in the database is found by
`manage.py verify_audit`; only events past the retention period can be purged, and the rest still verifies."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from infocity.audit import integrity
from infocity.audit.models import Action, AuditCheckpoint, AuditEvent, AuditSeal, Outcome
from infocity.audit.services import record, record_many

from .conftest import Cast


def verify_command() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def sql(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def events(cast: Cast, n: int = 5) -> list[AuditEvent]:
    return [record(Action.LOGOUT, actor=cast.users["city-hz"], detail={"n": i, "名": "杭州"}) for i in range(n)]


def test_every_event_carries_a_digest_and_the_chain_verifies(cast: Cast) -> None:
    written = events(cast)
    record_many(Action.SUBMISSION_SAVE, actor=cast.users["city-hz"], targets=[cast.orgs["hangzhou"]] * 2,
                details=[{"a": 1}, {"b": 2.5}])  # fmt: skip
    for event in AuditEvent.objects.all():
        assert len(event.digest) == 64 and event.digest == integrity.digest_of(event)
    assert integrity.seal() == AuditEvent.objects.count()
    assert integrity.seal() == 0  # nothing new
    report = integrity.verify()
    assert report.ok and report.unsealed == 0 and report.sealed == report.events
    assert "校验通过" in verify_command()
    # Events written later are sealed by the next pass and the chain continues.
    record(Action.LOGOUT, actor=cast.users["city-hz"])
    assert integrity.verify().unsealed == 1
    assert "校验通过" in verify_command() and integrity.verify().unsealed == 0
    first = AuditSeal.objects.get(event=written[0])
    previous = AuditSeal.objects.filter(pk__lt=first.pk).order_by("-pk").first()
    assert first.chain == integrity.link(previous.chain if previous else integrity.GENESIS, written[0].digest)


def test_a_row_edited_in_the_database_is_detected(cast: Cast) -> None:
    written = events(cast)
    integrity.seal()
    target = written[2]
    sql("UPDATE audit_auditevent SET outcome = %s, object_repr = %s WHERE id = %s",
        [Outcome.FAILURE, "改过的", target.pk])  # fmt: skip
    with pytest.raises(CommandError, match=f"内容被改动的事件（编号）：{target.pk}"):
        verify_command()
    # An edit that also recomputes an unkeyed hash does not help: the digest is keyed.
    report = integrity.verify()
    assert report.altered == [target.pk] and not report.broken


def test_an_edit_before_sealing_is_detected_too(cast: Cast) -> None:
    written = events(cast, 2)
    sql("UPDATE audit_auditevent SET detail = %s WHERE id = %s", ['{"n": 99}', written[1].pk])
    assert integrity.verify().altered == [written[1].pk]


def test_a_deleted_event_breaks_the_chain(cast: Cast) -> None:
    written = events(cast)
    integrity.seal()
    middle = written[2]
    # The seal protects its event, so a deletion must remove both; the chain no longer continues after it.
    sql("DELETE FROM audit_auditseal WHERE event_id = %s", [middle.pk])
    sql("DELETE FROM audit_auditevent WHERE id = %s", [middle.pk])
    report = integrity.verify()
    assert report.broken == [written[3].seal.pk] and not report.altered
    with pytest.raises(CommandError, match="哈希链断开处"):
        verify_command()


def test_a_forged_event_inserted_in_the_database_is_detected(cast: Cast) -> None:
    events(cast, 2)
    integrity.seal()
    sql("INSERT INTO audit_auditevent (occurred_at, actor_username, action, object_type, object_id, object_repr, "
        "outcome, detail, digest) VALUES (%s, %s, %s, '', '', '', %s, %s, %s)",
        [timezone.now(), "ghost", Action.LOGIN_SUCCESS, Outcome.SUCCESS, "{}", "0" * 64])  # fmt: skip
    report = integrity.verify()
    assert len(report.altered) == 1 and report.unsealed == 1


@pytest.mark.django_db
def test_only_events_past_the_retention_period_are_purged(settings: Any) -> None:
    """Events are appended in time order, so those past the retention period lead the chain."""
    old = timezone.now() - datetime.timedelta(days=400)
    for i in range(3):
        AuditEvent(occurred_at=old + datetime.timedelta(minutes=i), action=Action.LOGOUT, actor_username="old").save()
    young = [record(Action.LOGOUT, username=f"young{i}") for i in range(2)]
    total = AuditEvent.objects.count()
    # Younger than 180 days: refused, whatever the setting says.
    settings.AUDIT_RETENTION_DAYS = 30
    with pytest.raises(CommandError, match="至少保留 180 天"):
        call_command("purge_audit", "--before", (timezone.localdate() - datetime.timedelta(days=100)).isoformat())
    assert AuditEvent.objects.count() == total
    out = io.StringIO()
    call_command(
        "purge_audit", "--before", (timezone.localdate() - datetime.timedelta(days=200)).isoformat(), stdout=out
    )
    assert "已清理 3 条" in out.getvalue()
    assert not AuditEvent.objects.filter(actor_username="old").exists()
    assert set(AuditEvent.objects.filter(action=Action.LOGOUT).values_list("pk", flat=True)) == {e.pk for e in young}
    assert AuditEvent.objects.count() == total - 3 + 1  # the purge is audited
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.purged == 3
    assert AuditEvent.objects.filter(action=Action.AUDIT_PURGE, detail__purged=3).exists()
    # What remains still verifies from the checkpoint, with the purge itself sealed after it.
    assert "校验通过" in verify_command()
    assert AuditSeal.objects.count() == AuditEvent.objects.count()


def test_chain_rows_are_append_only_too(cast: Cast) -> None:
    events(cast, 1)
    integrity.seal()
    with pytest.raises(PermissionError):
        AuditSeal.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditSeal.objects.update(chain="x")
