"""Tamper evidence for the audit log (GB/T 22239-2019 level 3: 审计记录应受到保护，避免受到未预期的删除、修改或覆盖).

Two layers:

- **Each event's digest** — HMAC-SHA256 of its fields under the audit key (``AUDIT_HMAC_KEY``, by default derived
  from ``SECRET_KEY``; neither is in the database), written with the event. Someone who can edit the database but
  does not hold the key cannot change a field and produce a matching digest.
- **The chain** — ``seal()`` appends an :class:`AuditSeal` for every event not yet sealed, in one locked pass:
  ``chain = SHA-256(previous chain ‖ digest)``. Deleting, inserting or reordering sealed events breaks the chain
  from that point on. Sealing runs after the events' transactions committed (``manage.py seal_audit`` every minute
  from cron or a systemd timer, and at the start of ``verify_audit``), so no request ever waits on the chain.

``verify()`` recomputes both and names every event that was altered, every break in the chain and every seal whose
event is gone. ``purge()`` removes events past the retention period (at least 180 days) from the front of the chain
only, leaving a checkpoint from which the rest still verifies.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from .models import AuditCheckpoint, AuditEvent, AuditSeal

GENESIS = "0" * 64
MINIMUM_RETENTION_DAYS = 180
BATCH = 2000
LOCK_ID = 0x1A0D17  # the PostgreSQL advisory lock that makes sealing one pass at a time


def _key() -> bytes:
    explicit = getattr(settings, "AUDIT_HMAC_KEY", "")
    if explicit:
        return str(explicit).encode()
    return hashlib.sha256(b"infocity-audit:" + settings.SECRET_KEY.encode()).digest()


def key_fingerprint(purpose: bytes) -> str:
    """A short fingerprint of the audit key for ``purpose`` (e.g. a backup's manifest): it tells whether two
    configurations use the same key without revealing it."""
    return hmac.new(_key(), purpose, hashlib.sha256).hexdigest()[:16]


def canonical(event: AuditEvent) -> bytes:
    """The event's fields as one canonical byte string (the same before and after a round trip through either
    database)."""
    occurred = event.occurred_at.astimezone(datetime.UTC).isoformat(timespec="microseconds")
    fields = [
        occurred, event.actor_id, event.actor_username, event.organisation_id, str(event.ip_address or ""),
        event.action, event.object_type, event.object_id, event.object_repr, event.outcome, event.detail or {},
    ]  # fmt: skip
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def digest_of(event: AuditEvent) -> str:
    return hmac.new(_key(), canonical(event), hashlib.sha256).hexdigest()


def link(previous: str, digest: str) -> str:
    return hashlib.sha256(f"{previous}{digest}".encode()).hexdigest()


def _lock() -> None:
    """One sealing or purging pass at a time (SQLite's write transactions are serialised anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_ID])


def _head() -> str:
    last: str | None = AuditSeal.objects.order_by("-pk").values_list("chain", flat=True).first()
    if last is not None:
        return last
    checkpoint: str | None = AuditCheckpoint.objects.order_by("-pk").values_list("chain", flat=True).first()
    return checkpoint or GENESIS


def seal() -> int:
    """Append the chain over every committed event not sealed yet (in event order); returns how many."""
    sealed = 0
    while True:
        with transaction.atomic():
            _lock()
            events = list(AuditEvent.objects.filter(seal__isnull=True).order_by("pk").only("pk", "digest")[:BATCH])
            if not events:
                return sealed
            chain = _head()
            rows = []
            for event in events:
                chain = link(chain, event.digest)
                rows.append(AuditSeal(event_id=event.pk, chain=chain))
            AuditSeal.objects.bulk_create(rows)
            sealed += len(rows)


@dataclass
class Report:
    events: int = 0
    sealed: int = 0
    unsealed: int = 0
    altered: list[int] = field(default_factory=list)  # events whose fields no longer match their digest
    broken: list[int] = field(default_factory=list)  # seals where the chain does not continue
    missing: list[int] = field(default_factory=list)  # seals whose event is gone
    head: str = GENESIS

    @property
    def ok(self) -> bool:
        return not (self.altered or self.broken or self.missing)


def verify() -> Report:
    """Recompute every event's digest and walk the chain from the last checkpoint."""
    report = Report()
    checkpoint = AuditCheckpoint.objects.order_by("-pk").first()
    chain = checkpoint.chain if checkpoint else GENESIS
    start = checkpoint.last_seal_id if checkpoint else 0
    seals = AuditSeal.objects.filter(pk__gt=start).order_by("pk").values_list("pk", "event_id", "chain")
    digests: dict[int, str] = {}
    for event in AuditEvent.objects.order_by("pk").iterator(chunk_size=BATCH):
        report.events += 1
        if not hmac.compare_digest(event.digest, digest_of(event)):
            report.altered.append(event.pk)
        digests[event.pk] = event.digest
    for seal_id, event_id, stored in seals.iterator(chunk_size=BATCH):
        report.sealed += 1
        if event_id not in digests:
            report.missing.append(seal_id)
            chain = stored
            continue
        expected = link(chain, digests.pop(event_id))
        if not hmac.compare_digest(expected, stored):
            report.broken.append(seal_id)
        chain = stored
    # Events without a seal: committed after the last sealing pass (or left out by someone who dropped seals).
    report.unsealed = AuditEvent.objects.filter(seal__isnull=True).count()
    report.head = chain
    return report


def purge(before: datetime.datetime) -> AuditCheckpoint | None:
    """Remove events older than ``before`` from the front of the chain (never one younger than the minimum
    retention), leaving a checkpoint. Returns ``None`` when nothing was old enough."""
    retention = max(int(getattr(settings, "AUDIT_RETENTION_DAYS", MINIMUM_RETENTION_DAYS)), MINIMUM_RETENTION_DAYS)
    limit = timezone.now() - datetime.timedelta(days=retention)
    if before > limit:
        raise ValueError(
            f"审计日志至少保留 {retention} 天：只能清理 {timezone.localtime(limit):%Y-%m-%d %H:%M} 之前的记录。"
        )
    seal()
    with transaction.atomic():
        _lock()
        # The leading run of seals whose events are all older than the cut-off.
        first_young = (
            AuditSeal.objects.filter(event__occurred_at__gte=before).order_by("pk").values_list("pk", flat=True).first()
        )
        old = AuditSeal.objects.all() if first_young is None else AuditSeal.objects.filter(pk__lt=first_young)
        last = old.order_by("-pk").first()
        if last is None:
            return None
        event_ids = list(old.values_list("event_id", flat=True))
        checkpoint = AuditCheckpoint.objects.create(
            last_seal_id=last.pk, chain=last.chain, purged=len(event_ids), before=before
        )
        # Past the append-only guards on purpose: this is the one sanctioned deletion.
        models.QuerySet.delete(old)
        models.QuerySet.delete(AuditEvent.objects.filter(pk__in=event_ids))
    return checkpoint


def describe(report: Report) -> dict[str, Any]:
    return {
        "events": report.events, "sealed": report.sealed, "unsealed": report.unsealed,
        "altered": report.altered[:50], "broken": report.broken[:50], "missing": report.missing[:50],
        "head": report.head, "ok": report.ok,
    }  # fmt: skip
